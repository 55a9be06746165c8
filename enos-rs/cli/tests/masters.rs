//! One fleet of SSH masters per command: `enos deploy` connects each host once, and every
//! phase (the proof that hosts answer, the WAN's shaping and measurement, facts, deploy steps)
//! shares that connection; later commands reuse it through its control socket.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::{Workspace, assert_success, can_use_namespaces, enos_bin, text};

const SCENARIO: &str = "\
name: masters
sites:
  a: {roles: {x: 2}}
  b: {roles: {y: 1}}
network:
  default_delay: 1ms
deploy:
  - name: a file on every host
    run: touch /tmp/enos-masters-step
    creates: /tmp/enos-masters-step
";

/// Runs `enos args…` with an `ssh` first on its PATH that logs each of its command lines.
fn enos_counting(ws: &Workspace, log: &std::path::Path, args: &[&str]) -> std::process::Output {
    let bin = ws.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec /usr/bin/ssh \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(enos_bin())
        .args(args)
        .current_dir(ws.path())
        .env("PATH", path)
        .output()
        .unwrap()
}

/// Host alias → how many masters (`ssh … -M …`) the log shows for it.
fn masters(log: &std::path::Path) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.contains(&"-M")
            && let Some(host) = words.last()
        {
            *count.entry((*host).to_owned()).or_insert(0) += 1;
        }
    }
    count
}

#[test]
fn a_deploy_opens_one_master_per_host_and_later_commands_open_none() {
    if !can_use_namespaces("a_deploy_opens_one_master_per_host_and_later_commands_open_none") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(SCENARIO);
    let log = ws.path().join("ssh.log");
    let out = enos_counting(&ws, &log, &["deploy", "scenario.yaml", "--no-validate"]);
    assert_success(&out, "enos deploy");
    assert!(
        text(&out.stdout).contains("deploy steps: 1 step"),
        "{}",
        text(&out.stdout)
    );
    let after_deploy = masters(&log);
    let expected: BTreeMap<String, usize> = ["a-x-1", "a-x-2", "b-y-1"]
        .into_iter()
        .map(|h| (h.to_owned(), 1))
        .collect();
    assert_eq!(
        after_deploy,
        expected,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );

    // A second deploy shapes, measures, gathers facts and checks the step again: the masters
    // of the first are still there and nothing opens another.
    let out = enos_counting(&ws, &log, &["deploy", "scenario.yaml"]);
    assert_success(&out, "enos deploy again");
    let out = enos_counting(&ws, &log, &["exec", "--", "true"]);
    assert_success(&out, "enos exec");
    assert_eq!(masters(&log), expected);
    let out = ws.enos(&["destroy"]);
    assert_success(&out, "enos destroy");
}
