//! The egress proxy and the fabric's firewall, seen from a testbed host: the host reaches the
//! control machine only on the proxy's port, the proxy forwards only to package repositories,
//! and apt still installs through it.

use std::io::Write as _;
use std::net::TcpListener;

use crate::common::{Workspace, assert_success, can_use_namespaces, text, traces_of};

/// The root namespace's end of the management link (where the proxy listens).
fn management_root(ws: &Workspace) -> String {
    ws.state()["provider_state"]["plan"]["management_root"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `command` on every host with `enos exec`; returns its standard output.
fn exec(ws: &Workspace, command: &str) -> String {
    let out = ws.enos(&["exec", "--timeout", "120", "--", command]);
    assert_success(&out, command);
    text(&out.stdout)
}

/// The value of the `key=value` line that `out` holds.
fn value<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in:\n{out}"))
}

/// A TCP service of the root namespace bound to every address, answering every connection
/// with a small HTTP response; serves until the test process ends.
fn root_service() -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        }
    });
    port
}

/// A process this test started; killed when dropped, also when the test fails.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP service inside the experiment's fabric namespace, on every address of it; returns
/// once it answers from the root namespace (through the management link).
fn fabric_service(ws: &Workspace, port: u16) -> Started {
    let plan = &ws.state()["provider_state"]["plan"];
    let fabric = plan["fabric"].as_str().unwrap().to_owned();
    let fabric_address = plan["management_fabric"].as_str().unwrap().to_owned();
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", &fabric, "python3", "-m", "http.server"])
        .args(["--bind", "0.0.0.0", &port.to_string()])
        .current_dir("/tmp")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Started(child);
    let address = format!("{fabric_address}:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{address} never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    started
}

/// Destroys the workspace's experiment and checks that nothing of it is left.
fn destroy(ws: &Workspace) {
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn a_host_reaches_the_control_machine_only_through_the_proxy_port() {
    if !can_use_namespaces("a_host_reaches_the_control_machine_only_through_the_proxy_port") {
        return;
    }
    let _measuring = crate::common::measuring();
    let port = root_service();
    // `localhost:<port>` is on the allow-list: the name passes, the address it leads to does not.
    let ws = Workspace::new(&format!(
        "name: egress-fence\nprovider: {{local: {{egress_allow: [\"localhost:{port}\"]}}}}\n\
         sites:\n  paris: {{roles: {{client: 1}}}}\n  nice: {{roles: {{server: 1}}}}\n"
    ));
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let root = management_root(&ws);
    let proxy = format!("http://{root}:3142");
    let _fabric_service = fabric_service(&ws, 8080);
    let probes = format!(
        "cd /tmp; \
         printf 'tunnel_ssh=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_connect}}' -p -x {proxy} http://127.0.0.1:22/)\"; \
         printf 'tunnel_loopback=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_connect}}' -p -x {proxy} http://127.0.0.1:{port}/)\"; \
         printf 'direct=%s\\n' \"$(timeout 10 bash -c 'echo > /dev/tcp/{root}/{port}' 2>/dev/null && echo open || echo closed)\"; \
         printf 'proxied_root=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_code}}' -x {proxy} http://{root}:{port}/)\"; \
         printf 'proxied_localhost=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_code}}' -x {proxy} http://localhost:{port}/)\"; \
         printf 'localhost_message=%s\\n' \"$(curl -s -m 10 -x {proxy} http://localhost:{port}/)\"; \
         printf 'unlisted=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_code}}' -x {proxy} http://example.com/)\"; \
         printf 'message=%s\\n' \"$(curl -s -m 10 -x {proxy} http://example.com/)\"; \
         printf 'gateway=%s\\n' \"$(timeout 10 bash -c \"echo > /dev/tcp/$(ip route show default | cut -d' ' -f3)/8080\" 2>/dev/null && echo open || echo closed)\"; \
         printf 'other_site=%s\\n' \"$(timeout 10 bash -c 'echo > /dev/tcp/nice-server-1/22' 2>/dev/null && echo open || echo closed)\""
    );
    let out = ws.enos(&["exec", "--roles", "client", "--", &probes]);
    let out = text(&out.stdout);
    // `CONNECT 127.0.0.1:…` through the proxy: refused, never tunnelled to this machine's loopback.
    assert_eq!(value(&out, "tunnel_ssh"), "403", "{out}");
    assert_eq!(value(&out, "tunnel_loopback"), "403", "{out}");
    // A service of the root namespace on 0.0.0.0: not reachable at the management address ...
    assert_eq!(value(&out, "direct"), "closed", "{out}");
    // ... nor through the proxy, by address or by a name that leads to loopback.
    assert_eq!(value(&out, "proxied_root"), "403", "{out}");
    assert_eq!(value(&out, "proxied_localhost"), "403", "{out}");
    let message = value(&out, "localhost_message");
    assert!(
        message.starts_with(&format!("403 Forbidden: localhost:{port} leads to "))
            && message.ends_with(", a loopback address"),
        "{out}"
    );
    // A name that is no package repository of this machine's.
    assert_eq!(value(&out, "unlisted"), "403", "{out}");
    assert_eq!(
        value(&out, "message"),
        "403 Forbidden: example.com:80 is not on this proxy's allow-list",
        "{out}"
    );
    // A service of the fabric namespace itself does not answer a host; other sites do.
    assert_eq!(value(&out, "gateway"), "closed", "{out}");
    assert_eq!(value(&out, "other_site"), "open", "{out}");

    // The proxy logged every refusal with client, target and reason.
    let log = std::fs::read_to_string(ws.env_dir().join("logs/egress-proxy.log")).unwrap();
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("refused")).collect();
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("client=198.18.") && l.contains("to=127.0.0.1:22")),
        "{log}"
    );
    assert!(
        refusals.iter().any(
            |l| l.contains(&format!("to=localhost:{port}")) && l.contains("a loopback address")
        ),
        "{log}"
    );
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("to=example.com:80") && l.contains("allow-list")),
        "{log}"
    );
    // SSH from this machine (connections it opens) still works: `enos exec` above, and again.
    assert!(exec(&ws, "hostname").contains("2 hosts: 2 ok, 0 failed"));
    // The filter lives in the experiment's fabric namespace, never in the machine's own rules.
    let fabric = ws.state()["provider_state"]["plan"]["fabric"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_fabric = std::process::Command::new("ip")
        .args(["netns", "exec", &fabric, "nft", "list", "tables"])
        .output()
        .unwrap();
    assert_eq!(text(&in_fabric.stdout).trim(), "table inet enos");
    let in_root = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert!(
        !text(&in_root.stdout).contains("enos"),
        "{}",
        text(&in_root.stdout)
    );
    destroy(&ws);
}

#[test]
fn apt_installs_through_the_proxy() {
    if !can_use_namespaces("apt_installs_through_the_proxy") {
        return;
    }
    let _loading = crate::common::loading();
    let ws = Workspace::new("name: egress-apt\nsites:\n  paris: {roles: {client: 1}}\n");
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let proxy = format!("http://{}:3142", management_root(&ws));
    let out = exec(
        &ws,
        &format!(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hello \
             >/tmp/apt.log 2>&1 || tail -n 20 /tmp/apt.log; hello; \
             printf 'https=%s\\n' \"$(curl -s -o /dev/null -m 30 -I -w '%{{http_code}}' -x {proxy} \
             https://deb.debian.org/debian/dists/bookworm/InRelease)\""
        ),
    );
    assert!(out.contains("Hello, world!"), "{out}");
    assert_eq!(value(&out, "https"), "200", "{out}");
    destroy(&ws);
}

#[test]
fn the_scenario_allow_list_opens_more_repositories() {
    if !can_use_namespaces("the_scenario_allow_list_opens_more_repositories") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(
        "name: egress-allow\nprovider:\n  local:\n    egress_allow: [security.debian.org, \"*.example.org\"]\n\
         sites:\n  paris: {roles: {client: 1}}\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let proxy = format!("http://{}:3142", management_root(&ws));
    let out = exec(
        &ws,
        &format!(
            "printf 'listed=%s\\n' \"$(curl -s -o /dev/null -m 30 -I -w '%{{http_code}}' -x {proxy} \
             http://security.debian.org/debian-security/dists/bookworm-security/InRelease)\"; \
             printf 'unlisted=%s\\n' \"$(curl -s -o /dev/null -m 10 -w '%{{http_code}}' -x {proxy} \
             http://ftp.debian.org/)\""
        ),
    );
    assert_eq!(value(&out, "listed"), "200", "{out}");
    assert_eq!(value(&out, "unlisted"), "403", "{out}");

    // A second deploy of the same scenario keeps the proxy running as it is.
    let proxy_line = || {
        let info = text(&ws.enos(&["info"]).stdout);
        info.lines()
            .find(|l| l.starts_with("egress proxy"))
            .unwrap_or_else(|| panic!("no egress proxy in:\n{info}"))
            .to_owned()
    };
    let before = proxy_line();
    assert!(before.contains("(pid "), "{before}");
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "second enos deploy");
    assert_eq!(proxy_line(), before);

    // Another list is applied in place: the proxy is restarted with it.
    std::fs::write(
        ws.path().join("scenario.yaml"),
        "name: egress-allow\nprovider: {local: {egress_allow: [ftp.debian.org]}}\n\
         sites:\n  paris: {roles: {client: 1}}\n",
    )
    .unwrap();
    assert_success(
        &ws.enos(&["deploy", "scenario.yaml"]),
        "deploy of another list",
    );
    assert_ne!(proxy_line(), before);
    let out = exec(
        &ws,
        &format!(
            "printf 'unlisted=%s\\n' \"$(curl -s -o /dev/null -m 10 -I -w '%{{http_code}}' -x {proxy} \
             http://security.debian.org/debian-security/dists/bookworm-security/InRelease)\""
        ),
    );
    assert_eq!(value(&out, "unlisted"), "403", "{out}");
    destroy(&ws);
}
