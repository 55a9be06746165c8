//! The providers from the command line, without their testbeds: each one's example scenario
//! validates, and its dry run says what it would reserve or create — with no credentials at
//! hand, no network, and nothing written (each remote provider's crate tests its deploy and
//! destroy against a fake of its API); EnOS reservations import to scenarios that validate.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{enos, enos_bin, repo_root, text};

/// `enos args…` in a copy of the repository's scenarios, with no credentials of any testbed in
/// the environment and a home directory of its own (no `~/.python-grid5000.yaml`, no
/// `clouds.yaml`).
fn enos_without_credentials(cwd: &Path, home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(enos_bin());
    command.args(args).current_dir(cwd).env("HOME", home);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("G5K_") || name.starts_with("OS_") {
            command.env_remove(&name);
        }
    }
    command.output().unwrap()
}

/// Each provider's example: the file, the provider, and lines its dry run must show.
const EXAMPLES: &[(&str, &str, &[&str])] = &[
    (
        "quickstart.yaml",
        "local",
        &[
            "create the network namespace enos-<prefix>-fabric",
            "start sshd in each of the 6 hosts",
        ],
    ),
    (
        "static.yaml",
        "static",
        &["reach 3 hosts — nothing is reserved"],
    ),
    (
        "g5k.yaml",
        "g5k",
        &[
            "POST https://api.grid5000.fr/stable/sites/rennes/jobs — the OAR job of paris",
            "\"resources\": \"{cluster='paravance'}/nodes=3,walltime=02:00:00\"",
            "POST https://api.grid5000.fr/stable/sites/nancy/deployments — kadeploy debian12-min",
            "through access.grid5000.fr",
        ],
    ),
    (
        "vagrant.yaml",
        "vagrant",
        &[
            "write vagrant/Vagrantfile",
            "config.vm.define 'paris-server-1' do |machine|",
            "run vagrant up",
        ],
    ),
    (
        "openstack-cloud.yaml",
        "openstack",
        &[
            "POST {identity}/v3/auth/tokens",
            "POST {compute}/servers — the server of lyon-client-2",
            "POST {network}/v2.0/floatingips — a floating IP on paris-server-1",
        ],
    ),
];

#[test]
fn each_provider_validates_and_dry_runs_its_example_without_credentials() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let scenarios = work.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    for (file, provider, shown) in EXAMPLES {
        std::fs::copy(root.join("scenarios").join(file), scenarios.join(file)).unwrap();
        let path = format!("scenarios/{file}");
        let out = enos_without_credentials(work.path(), home.path(), &["validate", &path]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));

        let out =
            enos_without_credentials(work.path(), home.path(), &["deploy", "--dry-run", &path]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert!(
            stdout.starts_with(&format!("the {provider} provider would:\n  1. ")),
            "{stdout}"
        );
        for line in *shown {
            assert!(stdout.contains(line), "{file}: no `{line}` in\n{stdout}");
        }
        assert!(
            stdout.contains("nothing was provisioned"),
            "{file}: {stdout}"
        );
    }
    // A dry run writes nothing: no results, nothing beside the scenarios.
    let mut left: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["scenarios"]);
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

/// EnOS's tutorial reservation: Grid'5000, two groups, 50 ms between them.
const TUTORIAL: &str = "enos-rs/import/tests/fixtures/tutorial-topo.yaml";

#[test]
fn the_enos_tutorial_reservation_imports_to_a_scenario_that_validates_and_dry_runs() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let reservation = root.join(TUTORIAL);
    let reservation = reservation.to_str().unwrap();

    // On standard output: the scenario; the warnings on standard error.
    let out = enos(work.path(), &["import", reservation]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let scenario = text(&out.stdout);
    assert!(
        scenario.starts_with("# Imported by `enos import`"),
        "{scenario}"
    );
    for line in [
        "  g5k:\n",
        "      grp1: {cluster: paravance}\n",
        "    roles: {control: 1, network: 1}\n",
        "    roles: {compute: 1}\n",
        "    - {src: grp1, dst: grp2, delay: 50ms, rate: 1gbit, loss: 0%, symmetric: true}\n",
    ] {
        assert!(scenario.contains(line), "no {line:?} in\n{scenario}");
    }
    let warnings = text(&out.stderr);
    assert!(
        warnings.lines().all(|l| l.starts_with("warning: ")) && warnings.contains(": registry: "),
        "{warnings}"
    );

    // Into a file, which is then validated; a second import does not overwrite it.
    let out = enos(work.path(), &["import", reservation, "-o", "scenario.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "imported {reservation} into scenario.yaml (2 warnings above)\n\
             ok: scenario.yaml: experiment 'enos', 2 sites, 3 hosts\n"
        )
    );
    assert_eq!(
        std::fs::read_to_string(work.path().join("scenario.yaml")).unwrap(),
        scenario
    );
    let out = enos(work.path(), &["import", reservation, "-o", "scenario.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error: scenario.yaml exists: nothing was written\nhint: "),
        "{}",
        text(&out.stderr)
    );
    let out = enos(
        work.path(),
        &["import", reservation, "-o", "scenario.yaml", "--force"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // What `enos deploy` would reserve for it: one job on rennes, where paravance is.
    let home = tempfile::tempdir().unwrap();
    let out = enos_without_credentials(
        work.path(),
        home.path(),
        &["deploy", "--dry-run", "scenario.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("POST https://api.grid5000.fr/stable/sites/rennes/jobs"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn enos_reservations_for_vagrant_and_static_hosts_import_to_scenarios_that_validate() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    for (fixture, provider) in [
        ("vagrant-basic.yaml", "vagrant"),
        ("vagrant-topology.yaml", "vagrant"),
        ("static-all-in-one.yaml", "static"),
        ("g5k-clusters.yaml", "g5k"),
        ("chameleonkvm.yaml", "openstack"),
    ] {
        let reservation = root.join("enos-rs/import/tests/fixtures").join(fixture);
        let output = format!("{fixture}.scenario.yaml");
        let out = enos(
            work.path(),
            &["import", reservation.to_str().unwrap(), "-o", &output],
        );
        assert!(out.status.success(), "{fixture}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(&format!("ok: {output}: experiment '")),
            "{fixture}: {}",
            text(&out.stdout)
        );
        let written = std::fs::read_to_string(work.path().join(&output)).unwrap();
        assert!(
            written.contains(&format!("provider:\n  {provider}:")),
            "{fixture}: {written}"
        );
    }
}

#[test]
fn a_bad_reservation_is_refused_at_its_line_and_column_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("reservation.yaml"),
        "provider:\n  type: g6k\nresources:\n  paravance: {compute: 1}\n",
    )
    .unwrap();
    let out = enos(
        work.path(),
        &["import", "reservation.yaml", "-o", "scenario.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: reservation.yaml:2:9: provider.type: "),
        "{err}"
    );
    assert!(err.contains("\n2 |   type: g6k\n"), "{err}");
    assert!(!work.path().join("scenario.yaml").exists());
}
