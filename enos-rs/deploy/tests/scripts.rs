//! The scripts that carry out a host's part of a step, run here with `sh`: each does its work
//! once, says so, and finds nothing to do the second time.

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use enos_deploy::plan::{Check, Content, HostAction};
use enos_deploy::script::{
    CHECK_ABOVE, CheckFirst, Said, check_first, lacks_content, script, stop_script,
};
use indexmap::IndexMap;

use crate::common::{free_port, run, run_with_env};
use enos_testkit::require_root;

fn put(dest: &str, content: &str, mode: &str) -> HostAction {
    HostAction::Put {
        dest: dest.to_owned(),
        content: Content::new(content.to_owned()),
        mode: mode.to_owned(),
        owner: None,
        group: None,
    }
}

#[test]
fn a_file_is_written_once_and_rewritten_when_its_content_or_mode_changes() {
    if !require_root("a_file_is_written_once_and_rewritten_when_its_content_or_mode_changes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("etc/app/app.conf");
    let dest_text = dest.display().to_string();
    let first = run(&script(&put(&dest_text, "a=1\n", "0640"), false, 10));
    assert_eq!(
        (first.code, first.said),
        (0, Some(Said::Changed)),
        "{first:?}"
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a=1\n");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    let again = run(&script(&put(&dest_text, "a=1\n", "0640"), false, 10));
    assert_eq!(again.said, Some(Said::Unchanged), "{again:?}");

    let mode_only = run(&script(&put(&dest_text, "a=1\n", "0600"), false, 10));
    assert_eq!(mode_only.said, Some(Said::Changed));
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let content = run(&script(&put(&dest_text, "a=2\n", "0600"), false, 10));
    assert_eq!(content.said, Some(Said::Changed));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a=2\n");
    // Nothing but the file itself is left in its directory.
    let names: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("app.conf")]);
}

#[test]
fn an_upload_cut_short_is_refused_and_the_file_left_as_it_was() {
    if !require_root("an_upload_cut_short_is_refused_and_the_file_left_as_it_was") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.conf");
    std::fs::write(&dest, "old\n").unwrap();
    let mut cut = script(
        &put(&dest.display().to_string(), "new content\n", "0644"),
        false,
        10,
    );
    // The connection drops before the content's end: its last part is cut in half.
    let last = cut.input.pop().unwrap();
    cut.input.push(last.slice(..last.len() / 2));
    let ran = run(&cut);
    assert_ne!(ran.code, 0, "{ran:?}");
    assert!(ran.stderr.contains("incomplete upload"), "{ran:?}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("app.conf")]);
}

#[test]
fn steps_run_with_the_login_s_umask_and_new_directories_get_the_usual_modes() {
    let dir = tempfile::tempdir().unwrap();
    let umask = |command: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let outside = umask("umask");
    let inside = run(&script(&command("umask", None, None), false, 10));
    assert_eq!(inside.stdout.trim(), outside, "{inside:?}");
    if !require_root("steps_run_with_the_login_s_umask (a file in a new directory)") {
        return;
    }
    // A file's new parent directories are as `mkdir -p` makes them for the login (0755 under
    // umask 022): a web server reading /var/www/<new>/index.html must be able to.
    let dest = dir.path().join("www/site/index.html");
    let ran = run(&script(
        &put(&dest.display().to_string(), "hi", "0644"),
        false,
        10,
    ));
    assert_eq!(ran.said, Some(Said::Changed), "{ran:?}");
    let made = umask("mkdir -p d && stat -c %a d && rmdir d");
    let mode = std::fs::metadata(dest.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(format!("{mode:o}"), made);
}

#[test]
fn a_file_to_an_unknown_owner_fails_and_leaves_nothing() {
    if !require_root("a_file_to_an_unknown_owner_fails_and_leaves_nothing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.conf");
    let action = HostAction::Put {
        dest: dest.display().to_string(),
        content: Content::new("x\n"),
        mode: "0644".into(),
        owner: Some("no-such-user-enos".into()),
        group: None,
    };
    let ran = run(&script(&action, false, 10));
    assert_ne!(ran.code, 0);
    assert_eq!(ran.said, None);
    assert!(ran.stderr.contains("no-such-user-enos"), "{ran:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn a_directory_is_unpacked_once() {
    if !require_root("a_directory_is_unpacked_once") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("sub")).unwrap();
    std::fs::write(src.path().join("a.txt"), "alpha").unwrap();
    std::fs::write(src.path().join("sub/b.txt"), "beta").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let scenario = format!(
        "name: t\nsites: {{s: {{roles: {{r: 1}}}}}}\ndeploy:\n  - copy: {{src: {}, dest: {}}}\n",
        src.path().display(),
        target.display()
    );
    let scenario = enos_scenario::parse(
        &scenario,
        "t.yaml",
        &[&enos_scenario::UncheckedKind("local")],
    )
    .unwrap();
    let testbed = enos_deploy::example_testbed(&scenario, "/results");
    let plan = enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        std::sync::Arc::new(enos_deploy::SecretStore::placeholders()),
    )
    .unwrap();
    let enos_deploy::plan::Work::Do(action) = &plan.steps[0].tasks[0].work else {
        panic!("the host copies");
    };
    assert!(matches!(action, HostAction::PutDir { .. }), "{action:?}");
    let first = run(&script(action, false, 10));
    assert_eq!(first.said, Some(Said::Changed), "{first:?}");
    assert_eq!(
        std::fs::read_to_string(target.join("sub/b.txt")).unwrap(),
        "beta"
    );
    assert_eq!(run(&script(action, false, 10)).said, Some(Said::Unchanged));
    std::fs::write(target.join("a.txt"), "changed on the host").unwrap();
    assert_eq!(run(&script(action, false, 10)).said, Some(Said::Changed));
    assert_eq!(
        std::fs::read_to_string(target.join("a.txt")).unwrap(),
        "alpha"
    );
}

/// What a host answers a check: `None` when it lacks the content, otherwise what it did.
fn checked(check: &enos_deploy::script::Script) -> Option<Said> {
    let ran = run(check);
    assert_eq!(ran.code, 0, "{ran:?}");
    if lacks_content(ran.stdout.as_bytes()) {
        assert_eq!(ran.said, None, "{ran:?}");
        None
    } else {
        assert!(ran.said.is_some(), "{ran:?}");
        ran.said
    }
}

#[test]
fn a_large_file_is_first_checked_and_sent_only_to_a_host_that_lacks_it() {
    if !require_root("a_large_file_is_first_checked_and_sent_only_to_a_host_that_lacks_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("srv/big.bin");
    let bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let content = Content::new(bytes.clone());
    let file = |mode: &str| HostAction::Put {
        dest: dest.display().to_string(),
        content: content.clone(),
        mode: mode.to_owned(),
        owner: None,
        group: None,
    };
    let CheckFirst { check, send } = check_first(&file("0644")).expect("a large file");
    // The check carries the file's digest, not the file.
    assert!(check.input_len() < CHECK_ABOVE, "{}", check.input_len());
    assert!(send.input_len() > bytes.len());

    // The host lacks it: the check says so, and changes nothing.
    assert_eq!(checked(&check), None);
    assert!(!dest.exists());
    // The content, sent, is written.
    let sent = run(&send);
    assert_eq!((sent.code, sent.said), (0, Some(Said::Changed)), "{sent:?}");
    assert!(std::fs::read(&dest).unwrap() == bytes);
    // The host has it: the check ends the step there, the content is not sent.
    assert_eq!(checked(&check), Some(Said::Unchanged));
    // A new mode: the check sets it, still without the content.
    let CheckFirst {
        check: check_0600,
        send: send_0600,
    } = check_first(&file("0600")).unwrap();
    assert_eq!(checked(&check_0600), Some(Said::Changed));
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(checked(&check_0600), Some(Said::Unchanged));
    // Changed on the host: lacking again, until sent again.
    std::fs::write(&dest, "edited on the host").unwrap();
    assert_eq!(checked(&check_0600), None);
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap(),
        "edited on the host"
    );
    assert_eq!(run(&send_0600).said, Some(Said::Changed));
    assert!(std::fs::read(&dest).unwrap() == bytes);
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(checked(&check_0600), Some(Said::Unchanged));
    // The step's single script follows the same rules.
    assert_eq!(
        run(&script(&file("0600"), false, 10)).said,
        Some(Said::Unchanged)
    );
    // Nothing but the file is left in its directory.
    assert_eq!(
        std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
        1
    );

    // Small files go at once, as do steps without content.
    assert_eq!(check_first(&put("/etc/small", "a=1\n", "0644")), None);
    assert_eq!(check_first(&command("true", None, None)), None);
}

#[test]
fn a_large_directory_is_first_checked_and_unpacked_only_where_a_file_differs() {
    if !require_root("a_large_directory_is_first_checked_and_unpacked_only_where_a_file_differs") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("sub")).unwrap();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(src.path().join("sub/big.bin"), &bytes).unwrap();
    std::fs::write(src.path().join("a.txt"), "alpha").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let scenario = format!(
        "name: t\nsites: {{s: {{roles: {{r: 1}}}}}}\ndeploy:\n  - copy: {{src: {}, dest: {}}}\n",
        src.path().display(),
        target.display()
    );
    let scenario = enos_scenario::parse(
        &scenario,
        "t.yaml",
        &[&enos_scenario::UncheckedKind("local")],
    )
    .unwrap();
    let testbed = enos_deploy::example_testbed(&scenario, "/results");
    let plan = enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        std::sync::Arc::new(enos_deploy::SecretStore::placeholders()),
    )
    .unwrap();
    let enos_deploy::plan::Work::Do(action) = &plan.steps[0].tasks[0].work else {
        panic!("the host copies");
    };
    let CheckFirst { check, send } = check_first(action).expect("a large archive");
    assert!(check.input_len() < CHECK_ABOVE, "{}", check.input_len());
    assert!(send.input_len() > bytes.len());
    assert_eq!(checked(&check), None);
    assert!(!target.exists());
    assert_eq!(run(&send).said, Some(Said::Changed));
    assert!(std::fs::read(target.join("sub/big.bin")).unwrap() == bytes);
    assert_eq!(checked(&check), Some(Said::Unchanged));
    std::fs::write(target.join("a.txt"), "changed on the host").unwrap();
    assert_eq!(checked(&check), None);
    assert_eq!(run(&send).said, Some(Said::Changed));
    assert_eq!(
        std::fs::read_to_string(target.join("a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(run(&script(action, false, 10)).said, Some(Said::Unchanged));
}

fn command(command: &str, creates: Option<&str>, unless: Option<&str>) -> HostAction {
    HostAction::Run {
        command: command.to_owned(),
        creates: creates.map(str::to_owned),
        unless: unless.map(str::to_owned),
        chdir: None,
        env: IndexMap::new(),
    }
}

#[test]
fn commands_run_unless_their_guards_say_the_work_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("done");
    let m = marker.display().to_string();
    let counter = dir.path().join("count");
    let c = counter.display().to_string();
    let creates = command(&format!("echo x >> {c}; touch {m}"), Some(&m), None);
    assert_eq!(run(&script(&creates, false, 10)).said, Some(Said::Changed));
    assert_eq!(
        run(&script(&creates, false, 10)).said,
        Some(Said::Unchanged)
    );
    let unless = command(
        &format!("echo y >> {c}"),
        None,
        Some(&format!("grep -q y {c}")),
    );
    assert_eq!(run(&script(&unless, false, 10)).said, Some(Said::Changed));
    assert_eq!(run(&script(&unless, false, 10)).said, Some(Said::Unchanged));
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "x\ny\n");

    // A failing command: its exit code and output, and no status line.
    let failing = command("echo partial; echo broken >&2; exit 7", None, None);
    let ran = run(&script(&failing, false, 10));
    assert_eq!((ran.code, ran.said), (7, None));
    assert_eq!(
        (ran.stdout.as_str(), ran.stderr.as_str()),
        ("partial\n", "broken\n")
    );

    // Quoting survives: the command, its directory and its environment.
    let mut env = IndexMap::new();
    env.insert("GREETING".to_owned(), "it's $HOME \"quoted\"".to_owned());
    let quoted = HostAction::Run {
        command: "printf '%s|%s' \"$GREETING\" \"$(pwd)\"".to_owned(),
        creates: None,
        unless: None,
        chdir: Some(dir.path().display().to_string()),
        env,
    };
    let ran = run(&script(&quoted, false, 10));
    assert_eq!(
        ran.stdout,
        format!("it's $HOME \"quoted\"|{}", dir.path().display())
    );
}

fn service(name: &str, command: &str, ready: Option<Check>, definition: &str) -> HostAction {
    HostAction::Service {
        name: name.to_owned(),
        command: command.to_owned(),
        chdir: None,
        env: IndexMap::new(),
        user: None,
        ready,
        definition: definition.to_owned(),
    }
}

fn pid_of(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/run/enos/services/{name}.pid")).ok()?;
    text.trim().parse().ok()
}

fn stop(name: &str) {
    if let Some(pid) = pid_of(name) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
    }
    let _ = std::fs::remove_file(format!("/run/enos/services/{name}.pid"));
    let _ = std::fs::remove_file(format!("/run/enos/services/{name}.definition"));
    let _ = std::fs::remove_file(format!("/var/log/enos/{name}.log"));
}

/// Stops the named services when the test ends, also when it fails.
struct Services(Vec<String>);

impl Drop for Services {
    fn drop(&mut self) {
        for name in &self.0 {
            stop(name);
        }
        // The directories go too when no other service uses them (remove_dir fails otherwise).
        let _ = std::fs::remove_dir("/run/enos/services");
        let _ = std::fs::remove_dir("/var/log/enos");
    }
}

#[test]
fn a_service_starts_once_waits_until_ready_and_restarts_when_its_definition_changes() {
    if !require_root(
        "a_service_starts_once_waits_until_ready_and_restarts_when_its_definition_changes",
    ) {
        return;
    }
    let name = format!("enos-test-web-{}", std::process::id());
    let _guard = Services(vec![name.clone()]);
    let port = free_port();
    let web = |definition: &str| {
        service(
            &name,
            &format!("exec python3 -m http.server --bind 127.0.0.1 {port}"),
            Some(Check::Http {
                url: format!("http://127.0.0.1:{port}/"),
                status: 200,
            }),
            definition,
        )
    };
    let first = run(&script(&web("d1"), false, 30));
    assert_eq!(
        (first.code, first.said),
        (0, Some(Said::Changed)),
        "{first:?}"
    );
    let pid = pid_of(&name).unwrap();
    // It answers right away: the step waited for it.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    let again = run(&script(&web("d1"), false, 30));
    assert_eq!(again.said, Some(Said::Unchanged), "{again:?}");
    assert_eq!(pid_of(&name), Some(pid));

    let watched = run(&script(&web("d1"), true, 30));
    assert_eq!(watched.said, Some(Said::Changed), "{watched:?}");
    let restarted = pid_of(&name).unwrap();
    assert_ne!(restarted, pid);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid));

    let redefined = run(&script(&web("d2"), false, 30));
    assert_eq!(redefined.said, Some(Said::Changed));
    assert_ne!(pid_of(&name), Some(restarted));
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.split(") ")
                .nth(1)
                .is_some_and(|rest| rest.starts_with('Z'))
        })
        .unwrap_or(true)
}

#[test]
fn a_service_that_never_becomes_ready_fails_after_its_timeout_with_its_log() {
    if !require_root("a_service_that_never_becomes_ready_fails_after_its_timeout_with_its_log") {
        return;
    }
    let name = format!("enos-test-never-{}", std::process::id());
    let _guard = Services(vec![name.clone()]);
    let port = free_port();
    let never = service(
        &name,
        "echo starting up; exec sleep 600",
        Some(Check::Tcp {
            address: "127.0.0.1".into(),
            port,
        }),
        "d",
    );
    let started = Instant::now();
    let ran = run(&script(&never, false, 2));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!((ran.code, ran.said), (1, None), "{ran:?}");
    assert!(ran.stderr.contains("not ready after 2s"), "{ran:?}");
    assert!(
        ran.stderr.contains("starting up"),
        "the end of its log: {ran:?}"
    );

    let crashing = service(&format!("{name}-crash"), "echo oops >&2; exit 3", None, "d");
    let _guard2 = Services(vec![format!("{name}-crash")]);
    let ran = run(&script(&crashing, false, 5));
    assert_eq!(ran.code, 1, "{ran:?}");
    assert!(
        ran.stderr.contains("exited") && ran.stderr.contains("oops"),
        "{ran:?}"
    );
}

#[test]
fn a_wait_succeeds_once_its_check_does() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag");
    let check = HostAction::Wait(Check::Command(format!("test -e {}", flag.display())));
    let ran = run(&script(&check, false, 1));
    assert_eq!(ran.code, 1);
    assert!(ran.stderr.contains("not ready after 1s"), "{ran:?}");
    std::fs::write(&flag, "").unwrap();
    assert_eq!(run(&script(&check, false, 1)).said, Some(Said::Unchanged));
}

#[test]
fn installed_packages_are_left_alone() {
    if !enos_testkit::require_program("installed_packages_are_left_alone", "dpkg-query") {
        return;
    }
    // dpkg and coreutils are installed on every Debian system: nothing to do, apt untouched.
    let ran = run(&script(
        &HostAction::Packages(vec!["dpkg".into(), "coreutils".into()]),
        false,
        10,
    ));
    assert_eq!((ran.code, ran.said), (0, Some(Said::Unchanged)), "{ran:?}");
    assert_eq!(ran.stdout, "");
}

#[test]
fn hostile_owners_and_tcp_addresses_are_never_run_as_code() {
    if !require_root("hostile_owners_and_tcp_addresses") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let m = marker.display().to_string();
    // The file holds the content already, so that its owner is what the script compares.
    let dest = dir.path().join("app.conf");
    std::fs::write(&dest, "x\n").unwrap();
    for owner in [
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("root\"; touch {m}; echo \""),
        format!("root; touch {m}"),
    ] {
        for (owner, group) in [(Some(owner.clone()), None), (None, Some(owner.clone()))] {
            let action = HostAction::Put {
                dest: dest.display().to_string(),
                content: Content::new("x\n"),
                mode: "0644".into(),
                owner,
                group,
            };
            let ran = run(&script(&action, false, 10));
            assert_ne!(ran.code, 0, "{ran:?}");
            assert!(!marker.exists(), "{action:?} ran code: {ran:?}");
        }
    }
    let wait = HostAction::Wait(Check::Tcp {
        address: format!("$(touch {m})"),
        port: 80,
    });
    let ran = run(&script(&wait, false, 1));
    assert_eq!(ran.code, 1, "{ran:?}");
    assert!(!marker.exists(), "the tcp check ran code: {ran:?}");
}

/// The command lines of this machine's processes that hold `needle`, read every few
/// milliseconds until `stop` is set.
fn command_lines_holding(
    needle: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
                let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
                if line.contains(needle) {
                    found.insert(line);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    found
}

#[test]
fn no_value_of_a_step_shows_on_a_command_line() {
    let secret = format!("enos-secret-{}", std::process::id());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut env = IndexMap::new();
    env.insert("TOKEN".to_owned(), format!("{secret}-env"));
    let steps = [
        HostAction::Run {
            command: format!(
                "sleep 0.5; echo \"$TOKEN {secret}-run\" > {}",
                out.display()
            ),
            creates: None,
            unless: Some(format!("sleep 0.3; test {secret}-unless = x")),
            chdir: Some(dir.path().display().to_string()),
            env,
        },
        HostAction::Wait(Check::Command(format!("sleep 0.3; test -n {secret}-ready"))),
        put(
            &dir.path().join("key").display().to_string(),
            &format!("{secret}-content"),
            "0600",
        ),
    ];
    let mut steps = steps.to_vec();
    // Services need root (their files are in /run/enos): one whose command and environment
    // hold the secret, alive for as long as the command line is watched.
    let as_root = require_root("no_value_of_a_step_shows_on_a_command_line (its service)");
    let name = format!("enos-test-quiet-{}", std::process::id());
    let _guard = Services(vec![name.clone()]);
    if as_root {
        let mut env = IndexMap::new();
        env.insert("TOKEN".to_owned(), format!("{secret}-service-env"));
        steps.push(HostAction::Service {
            name: name.clone(),
            command: format!("sleep 0.5; : {secret}-service; exec sleep 30"),
            chdir: None,
            env,
            user: None,
            ready: None,
            definition: "d".into(),
        });
    }
    let (codes, shown) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| command_lines_holding(&secret, &stop));
        let codes: Vec<i32> = steps
            .iter()
            .map(|step| run(&script(step, false, 10)).code)
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (codes, watcher.join().unwrap())
    });
    // Every step ran (and so had its values at hand), yet no command line showed one.
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{secret}-env {secret}-run\n")
    );
    assert_eq!(codes[..2], [0, 0]);
    if as_root {
        assert_eq!(codes[2..], [0, 0]);
    }
    assert_eq!(shown, std::collections::BTreeSet::new());
}

#[test]
fn a_fetch_says_the_mode_of_the_file_before_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-openrc");
    std::fs::write(&file, "export OS_PASSWORD=x\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let fetch = HostAction::Fetch {
        src: file.display().to_string(),
        dest: "openrc".into(),
    };
    let ran = run(&script(&fetch, false, 10));
    assert_eq!(ran.code, 0, "{ran:?}");
    assert_eq!(
        enos_deploy::script::fetched(ran.stdout.as_bytes()),
        Some((0o640, &b"export OS_PASSWORD=x\n"[..]))
    );
}

#[test]
fn a_step_through_sudo_gets_its_script_and_input_on_standard_input() {
    if !require_root("a_step_through_sudo_gets_its_script_and_input_on_standard_input") {
        return;
    }
    // A stand-in for sudo that says how it was called, refuses to ask for a password, and
    // runs the command.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = dir.path().join("sudo-calls");
    let sudo = bin.join("sudo");
    std::fs::write(
        &sudo,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\n\
             [ \"$1\" = -n ] || {{ echo 'sudo: a password is required' >&2; exit 1; }}\n\
             shift\nexec \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let secret = format!("enos-secret-{}", std::process::id());
    let dest = dir.path().join("etc/app.conf");
    let step = put(&dest.display().to_string(), &format!("{secret}\n"), "0600");
    let root = script(&step, false, 10).become_root(Some(enos_core::Become::Sudo));
    let ran = run_with_env(&root, &[("PATH", path)]);
    assert_eq!((ran.code, ran.said), (0, Some(Said::Changed)), "{ran:?}");
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap(),
        format!("{secret}\n")
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(calls.starts_with("-n sh -c "), "{calls}");
    assert!(!calls.contains(&secret), "{calls}");
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid)
}

#[test]
fn stopping_services_kills_their_process_groups_once_and_spares_strangers() {
    if !require_root("stopping_services_kills_their_process_groups_once_and_spares_strangers") {
        return;
    }
    let name = format!("enos-test-stop-{}", std::process::id());
    let stubborn = format!("{name}-stubborn");
    let stranger = format!("{name}-stranger");
    let never = format!("{name}-never");
    let _guard = Services(vec![name.clone(), stubborn.clone(), stranger.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let child_pid = dir.path().join("child.pid");
    // A service with a child of its own, and one that ignores SIGTERM.
    let started = run(&script(
        &service(
            &name,
            &format!(
                "sleep 300 & echo $! > {}; exec sleep 300",
                child_pid.display()
            ),
            None,
            "d",
        ),
        false,
        10,
    ));
    assert_eq!(started.code, 0, "{started:?}");
    let started = run(&script(
        &service(
            &stubborn,
            "trap '' TERM; while :; do sleep 1; done",
            None,
            "d",
        ),
        false,
        10,
    ));
    assert_eq!(started.code, 0, "{started:?}");
    let leader = pid_of(&name).unwrap();
    let child: u32 = std::fs::read_to_string(&child_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stubborn_pid = pid_of(&stubborn).unwrap();
    // A pid file naming a process that is not a service's (its pid was reused): spared.
    let mut other = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    std::fs::write(
        format!("/run/enos/services/{stranger}.pid"),
        format!("{}\n", other.id()),
    )
    .unwrap();

    let names = vec![name.clone(), stubborn.clone(), stranger.clone(), never];
    let started_at = Instant::now();
    let stopped = run(&stop_script(&names));
    assert_eq!(
        (stopped.code, stopped.said),
        (0, Some(Said::Changed)),
        "{stopped:?}"
    );
    assert!(
        stopped
            .stdout
            .contains(&format!("stopping {name} (pid {leader})")),
        "{stopped:?}"
    );
    for pid in [leader, child, stubborn_pid] {
        assert!(gone(pid), "pid {pid} still runs");
    }
    // SIGKILL came after the grace period, for the one that ignored SIGTERM.
    assert!(
        started_at.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started_at.elapsed()
    );
    assert!(other.try_wait().unwrap().is_none(), "a stranger was killed");
    for n in [&name, &stubborn, &stranger] {
        assert!(pid_of(n).is_none(), "{n}: pid file left");
        assert!(!std::path::Path::new(&format!("/run/enos/services/{n}.definition")).exists());
    }
    // The logs stay.
    assert!(std::path::Path::new(&format!("/var/log/enos/{name}.log")).exists());

    let again = run(&stop_script(&names));
    assert_eq!(
        (again.code, again.said),
        (0, Some(Said::Unchanged)),
        "{again:?}"
    );
    other.kill().unwrap();
    other.wait().unwrap();
}

#[test]
fn a_restarted_service_takes_its_children_with_it() {
    if !require_root("a_restarted_service_takes_its_children_with_it") {
        return;
    }
    let name = format!("enos-test-restart-{}", std::process::id());
    let _guard = Services(vec![name.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let child_pid = dir.path().join("child.pid");
    let with_child = service(
        &name,
        &format!(
            "sleep 300 & echo $! > {}; exec sleep 300",
            child_pid.display()
        ),
        None,
        "d",
    );
    assert_eq!(run(&script(&with_child, false, 10)).code, 0);
    let child: u32 = std::fs::read_to_string(&child_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let restarted = run(&script(&with_child, true, 10));
    assert_eq!(restarted.said, Some(Said::Changed), "{restarted:?}");
    assert!(gone(child), "the first start's child {child} still runs");
}
