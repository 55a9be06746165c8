//! The example scenarios that deploy real services on the local provider: etcd across three
//! sites, Keystone on three sites.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::{Workspace, assert_success, can_use_namespaces, repo_root, text, traces_of};

/// A workspace holding the example scenario `name` (from `scenarios/`).
fn example(name: &str) -> Workspace {
    let source = std::fs::read_to_string(repo_root().join("scenarios").join(name)).unwrap();
    Workspace::new(&source)
}

/// Deploys the workspace's scenario; fails the test with the output unless it succeeds.
fn deploy(ws: &Workspace) -> String {
    let out = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&out, "enos deploy");
    text(&out.stdout)
}

/// What the step called `name` did, from its line of a deploy's output (`3 changed`).
fn step_counts<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| {
            let (_, rest) = l.trim_start().split_once(' ')?;
            rest.strip_prefix(name)?.strip_prefix("  ").map(str::trim)
        })
        .unwrap_or_else(|| panic!("no step {name} in:\n{out}"))
}

/// The totals line of a deploy's output.
fn totals(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("deploy steps: "))
        .unwrap_or_else(|| panic!("no totals in:\n{out}"))
}

#[test]
fn etcd_three_sites_is_healthy_on_every_member_and_a_second_deploy_changes_nothing() {
    if !can_use_namespaces(
        "etcd_three_sites_is_healthy_on_every_member_and_a_second_deploy_changes_nothing",
    ) {
        return;
    }
    let _loading = crate::common::loading();
    let ws = example("etcd-3sites.yaml");
    let first = deploy(&ws);
    assert!(totals(&first).contains(" 0 failed"), "{first}");

    // `etcdctl endpoint health` on every member, against its own address; every member sees
    // the three.
    let health = ws.enos(&[
        "exec",
        "--roles",
        "etcd",
        "--",
        "export ETCDCTL_API=3; a=$(hostname -i | cut -d' ' -f1); \
         etcdctl --endpoints=http://$a:2379 endpoint health 2>&1 && \
         etcdctl --endpoints=http://$a:2379 member list | wc -l",
    ]);
    assert_success(&health, "etcdctl endpoint health on every member");
    let out = text(&health.stdout);
    assert_eq!(
        out.matches(" is healthy: successfully committed proposal")
            .count(),
        3,
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| *l == "3").count(), 3, "{out}");
    assert!(out.contains("3 hosts: 3 ok, 0 failed"), "{out}");

    let second = deploy(&ws);
    assert!(
        totals(&second).contains(": 0 changed, 14 unchanged, 0 skipped, 0 failed"),
        "{second}"
    );
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

/// Issues a token with `openstack token issue` against every site's Keystone from the client,
/// then validates the last site's token at the first site (they share the database, or its
/// replicas, and the Fernet keys; the first site's Keystone is next to the database, so the
/// check stays quick even when the database is far from the others); prints one line per
/// check.
const TOKENS: &str = r#"set -e
for site in paris nantes rennes; do
  . /root/admin-openrc $site
  token=$(openstack token issue -f value -c id)
  echo "token issued by $site"
done
. /root/admin-openrc paris
python3 -c '
import os, sys, urllib.request
t = sys.argv[1]
r = urllib.request.urlopen(urllib.request.Request(os.environ["OS_AUTH_URL"] + "/auth/tokens?nocatalog",
    headers={"X-Auth-Token": t, "X-Subject-Token": t}))
print("token of rennes valid at paris", r.status)' "$token"
"#;

/// Every command line of every process of the machine (host namespaces included: their
/// processes are in this machine's `/proc`), read every 50 ms until it is dropped; each
/// distinct one is kept.
struct CommandLines {
    stop: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<BTreeSet<String>>>,
}

impl CommandLines {
    fn watch() -> CommandLines {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let watcher = std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !stopping.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let name = entry.file_name();
                    if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                        continue;
                    }
                    if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
                        seen.insert(String::from_utf8_lossy(&bytes).replace('\0', " "));
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        });
        CommandLines {
            stop,
            watcher: Some(watcher),
        }
    }

    /// Stops watching; every command line seen.
    fn seen(mut self) -> BTreeSet<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.watcher.take().unwrap().join().unwrap()
    }
}

impl Drop for CommandLines {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The values of the experiment's `secrets.json`.
fn secrets_of(ws: &Workspace) -> Vec<String> {
    let text = std::fs::read_to_string(ws.env_dir().join("secrets.json")).unwrap();
    let secrets: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    assert!(!secrets.is_empty());
    secrets.into_values().collect()
}

/// The files under `dir` (symbolic links not followed) that a user other than their owner can
/// read and that hold one of `secrets`.
fn readable_files_holding(dir: &Path, secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.path().symlink_metadata().unwrap();
        if meta.is_dir() {
            found.extend(readable_files_holding(&entry.path(), secrets));
        } else if meta.is_file() && meta.permissions().mode() & 0o044 != 0 {
            let content =
                String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            if secrets.iter().any(|s| content.contains(s.as_str())) {
                found.push(format!(
                    "{} ({:o})",
                    entry.path().display(),
                    meta.permissions().mode()
                ));
            }
        }
    }
    found
}

/// Deploys Keystone with `database` on the three sites of the example, checks tokens, a second
/// deploy and the teardown. During the first deploy, no command line of the machine shows a
/// secret; afterwards, no file of the results that others can read holds one.
fn keystone_three_sites(database: &str) {
    let source = std::fs::read_to_string(repo_root().join("scenarios/keystone-3sites.yaml"))
        .unwrap()
        .replace("database: shared", &format!("database: {database}"));
    assert!(source.contains(&format!("database: {database}")));
    let ws = Workspace::new(&source);
    let command_lines = CommandLines::watch();
    let first = deploy(&ws);
    let seen = command_lines.seen();
    assert!(totals(&first).contains(" 0 failed"), "{first}");
    let secrets = secrets_of(&ws);
    let showing: Vec<&String> = seen
        .iter()
        .filter(|line| secrets.iter().any(|s| line.contains(s.as_str())))
        .collect();
    assert!(
        showing.is_empty(),
        "command lines showing a secret: {showing:#?}"
    );
    let results = ws.path().join("enos-results");
    assert_eq!(
        readable_files_holding(&results, &secrets),
        Vec::<String>::new()
    );
    for dir in [ws.env_dir(), ws.env_dir().parent().unwrap().to_owned()] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }

    let tokens = ws.enos(&["exec", "--roles", "client", "--", TOKENS]);
    assert_success(&tokens, "openstack token issue against every site");
    let out = text(&tokens.stdout);
    for site in ["paris", "nantes", "rennes"] {
        assert!(out.contains(&format!("token issued by {site}")), "{out}");
    }
    assert!(out.contains("token of rennes valid at paris 200"), "{out}");
    // Every site has its own region and endpoints, and its admin-openrc in the results.
    for site in ["paris", "nantes", "rennes"] {
        let openrc = ws.env_dir().join(format!("keystone/{site}/admin-openrc"));
        let mode = std::fs::metadata(&openrc).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", openrc.display());
        let openrc = std::fs::read_to_string(&openrc).unwrap();
        assert!(openrc.contains(&format!("site=${{1:-{site}}}")), "{openrc}");
    }
    if database == "galera" {
        let size = ws.enos(&[
            "exec",
            "--roles",
            "keystone",
            "--",
            "mariadb -Nse \"SHOW STATUS LIKE 'wsrep_cluster_size'\"",
        ]);
        assert_success(&size, "the Galera cluster's size");
        let size = text(&size.stdout);
        assert_eq!(size.matches("wsrep_cluster_size\t3").count(), 3, "{size}");
    }

    let second = deploy(&ws);
    let totals = totals(&second);
    assert!(
        totals.contains(": 0 changed, ") && totals.contains(" 0 failed"),
        "{second}"
    );
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn keystone_three_sites_sharing_one_database_issue_and_accept_each_others_tokens() {
    if !can_use_namespaces(
        "keystone_three_sites_sharing_one_database_issue_and_accept_each_others_tokens",
    ) {
        return;
    }
    let _loading = crate::common::loading();
    keystone_three_sites("shared");
}

#[test]
fn keystone_three_sites_on_galera_issue_and_accept_each_others_tokens() {
    if !can_use_namespaces("keystone_three_sites_on_galera_issue_and_accept_each_others_tokens") {
        return;
    }
    let _loading = crate::common::loading();
    keystone_three_sites("galera");
}

/// Copies the directory `from` into `to`, recursively.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_example_of_the_deploy_docs_serves_and_restarts_what_watches_a_changed_template() {
    if !can_use_namespaces(
        "the_example_of_the_deploy_docs_serves_and_restarts_what_watches_a_changed_template",
    ) {
        return;
    }
    let _loading = crate::common::loading();
    let ws = example("web-app.yaml");
    copy_dir(
        &repo_root().join("scenarios/web-app"),
        &ws.path().join("web-app"),
    );
    let first = deploy(&ws);
    assert!(totals(&first).contains(" 0 failed"), "{first}");

    // Every web host serves the copied site and its greeting; the template names the db host.
    let get = "for h in $(getent hosts | awk '/-web-/ {print $1}'); do \
               curl -s http://$h:8080/hello.txt; curl -s http://$h:8080/index.html | grep -c '<title>web-app'; \
               done; cat /etc/app/app.conf 2>/dev/null | grep -c '^etcd = http://' || true";
    let served = ws.enos(&["exec", "--roles", "db", "--", get]);
    assert_success(&served, "fetching the pages");
    let out = text(&served.stdout);
    for host in ["paris-web-1", "paris-web-2", "nantes-web-1"] {
        assert!(
            out.contains(&format!("hello from enos on {host}\n1\n")),
            "{out}"
        );
    }
    let config = std::fs::read_to_string(ws.env_dir().join("configs/nantes-web-1.conf")).unwrap();
    assert!(
        config.starts_with("# Written by enos-rs for nantes-web-1 (nantes).\n"),
        "{config}"
    );
    assert!(
        config.contains("peers = paris-web-1 paris-web-2 nantes-web-1\n"),
        "{config}"
    );

    let second = deploy(&ws);
    assert!(totals(&second).contains(": 0 changed, "), "{second}");

    // A changed template is rewritten, the service watching it restarts, nothing else changes.
    let template = ws.path().join("web-app/app.conf.j2");
    let text_now = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, format!("{text_now}workers = 4\n")).unwrap();
    let third = deploy(&ws);
    assert_eq!(step_counts(&third, "app config"), "3 changed", "{third}");
    assert_eq!(step_counts(&third, "app"), "3 changed", "{third}");
    assert_eq!(step_counts(&third, "configs"), "3 changed", "{third}");
    assert_eq!(step_counts(&third, "greeting"), "3 unchanged", "{third}");
    assert!(totals(&third).contains(": 9 changed, "), "{third}");
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn nginx_serves_a_page_naming_each_host() {
    if !can_use_namespaces("nginx_serves_a_page_naming_each_host") {
        return;
    }
    let _loading = crate::common::loading();
    let ws = Workspace::new(
        "name: nginx-pages\nsites:\n  paris: {roles: {web: 1, client: 1}}\n  nantes: {roles: {web: 1}}\n\
         deploy:\n  - stack: nginx\n    vars: {role: web, port: 8080}\n",
    );
    let first = deploy(&ws);
    assert!(totals(&first).contains(" 0 failed"), "{first}");
    let get = ws.enos(&[
        "exec",
        "--roles",
        "client",
        "--",
        "for h in paris-web-1 nantes-web-1; do python3 -c \"import urllib.request as u; \
         print(u.urlopen('http://$h:8080/').read().decode())\"; done",
    ]);
    assert_success(&get, "fetching the pages");
    let out = text(&get.stdout);
    for host in ["paris-web-1", "nantes-web-1"] {
        assert!(out.contains(&format!("<title>{host}</title>")), "{out}");
    }
    assert!(
        out.contains("nantes-web-1: role web, site nantes, address 198.18."),
        "{out}"
    );
    let second = deploy(&ws);
    assert!(totals(&second).contains(": 0 changed, "), "{second}");
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}
