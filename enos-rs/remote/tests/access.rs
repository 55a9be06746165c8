//! A testbed's own client files (written by `enos_core::ssh`): per-host keys, users and ports,
//! a jump host with options of its own, keys pinned, given in a user's file, or learnt on first
//! contact and refused when they change.

use std::fs;
use std::path::Path;
use std::time::Duration;

use enos_core::NullReporter;
use enos_core::ssh::{
    LearntHostKey, check_host_keys, fingerprint, learnt_host_keys, write_client_files,
};
use enos_core::{Host, HostKeySource, Jump, SiteNetwork, SshAccess, Testbed};
use enos_remote::{Fleet, RemoteError, Target};

use crate::common::{Sshd, control_dir};

const TIMEOUT: Duration = Duration::from_secs(60);

fn host(sshd: &Sshd, name: &str, address: &str, key_source: HostKeySource) -> Host {
    let mut host = Host::new(name, "s", "r", address.parse().unwrap());
    host.user = sshd.user.name.clone();
    host.port = sshd.port;
    host.identity = Some(sshd.dir().join("client_key"));
    host.host_key = key_source;
    host
}

fn public_key(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The address each host's sshd was reached at (from `$SSH_CONNECTION`), by host.
async fn server_addresses(fleet: &Fleet) -> Vec<(String, Result<String, RemoteError>)> {
    fleet
        .run("echo $SSH_CONNECTION", TIMEOUT, &NullReporter)
        .await
        .into_iter()
        .map(|r| {
            let address = r.outcome.map(|o| {
                o.stdout_text()
                    .split_whitespace()
                    .nth(2)
                    .unwrap_or_default()
                    .to_owned()
            });
            (r.host, address)
        })
        .collect()
}

#[tokio::test]
async fn client_files_reach_hosts_by_their_own_keys_through_a_jump_and_learn_keys_once() {
    let Some(sshd) = Sshd::start(
        "client_files_reach_hosts_by_their_own_keys_through_a_jump_and_learn_keys_once",
    ) else {
        return;
    };
    let experiment = tempfile::tempdir().unwrap();
    let control = control_dir();
    let jump_control = control.path().join("j");
    fs::create_dir(&jump_control).unwrap();
    let host_key = public_key(&sshd.dir().join("host_key.pub"));
    let users_file = experiment.path().join("users_known_hosts");
    fs::write(
        &users_file,
        format!("[127.0.0.2]:{} {host_key}\n", sshd.port),
    )
    .unwrap();

    let pinned = host(
        &sshd,
        "pinned",
        "127.0.0.1",
        HostKeySource::Pinned {
            key: host_key.clone(),
        },
    );
    let mut behind = host(
        &sshd,
        "behind",
        "127.0.0.2",
        HostKeySource::KnownHostsFile { path: users_file },
    );
    behind.jump = Some(Jump {
        address: "127.0.0.3".into(),
        port: sshd.port,
        user: sshd.user.name.clone(),
        identity: Some(sshd.dir().join("client_key")),
        host_key: HostKeySource::LearnOnFirstContact,
    });
    let learnt = host(
        &sshd,
        "learnt",
        "127.0.0.4",
        HostKeySource::LearnOnFirstContact,
    );
    let testbed = Testbed {
        hosts: vec![pinned, behind, learnt],
        networks: vec![SiteNetwork {
            site: "s".into(),
            cidr: "127.0.0.0/8".into(),
            gateway: "127.0.0.1".parse().unwrap(),
        }],
        // No experiment key: every host logs in with its own.
        ssh: SshAccess::in_experiment(
            experiment.path(),
            experiment.path().join("no-such-key"),
            jump_control.clone(),
        ),
    };
    write_client_files(&testbed).unwrap();
    let config = || {
        let mut config = sshd.config(control.path());
        config.ssh_config = testbed.ssh.config.clone();
        config
    };
    let targets = || testbed.hosts.iter().map(Target::from).collect::<Vec<_>>();

    let (fleet, failures) = Fleet::connect(config(), targets(), &NullReporter).await;
    assert!(failures.is_empty(), "{failures:?}\n{}", sshd.log());
    let reached = server_addresses(&fleet).await;
    let expected = [
        ("pinned", "127.0.0.1"),
        ("behind", "127.0.0.2"),
        ("learnt", "127.0.0.4"),
    ];
    for ((host, address), (name, want)) in reached.iter().zip(expected) {
        assert_eq!((host.as_str(), address.as_deref().ok()), (name, Some(want)));
    }
    // The jump host was used with the options of its own block: connection sharing too.
    let shared: Vec<_> = fs::read_dir(&jump_control)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("cm-"))
        .collect();
    assert_eq!(shared.len(), 1, "one shared connection to the jump host");

    // Both keys learnt at the first contact, under the names the fingerprints are read by.
    let real = fingerprint(&host_key).unwrap();
    let first = learnt_host_keys(&testbed).unwrap();
    assert_eq!(
        first,
        vec![
            LearntHostKey {
                host: format!("[127.0.0.3]:{}", sshd.port),
                fingerprint: real.clone()
            },
            LearntHostKey {
                host: "learnt".into(),
                fingerprint: real.clone()
            },
        ]
    );
    drop(fleet);
    enos_remote::close_all(control.path()).await.unwrap();
    fs::create_dir_all(&jump_control).unwrap();

    // Rewriting the files (a later deploy) keeps what was learnt.
    write_client_files(&testbed).unwrap();
    assert_eq!(learnt_host_keys(&testbed).unwrap(), first);

    // A host that offers another key than the one learnt is refused by OpenSSH.
    let other_key = public_key(&sshd.dir().join("client_key.pub"));
    let known = fs::read_to_string(&testbed.ssh.known_hosts).unwrap();
    let tampered = known.replace(
        &format!("learnt {host_key}"),
        &format!("learnt {other_key}"),
    );
    assert_ne!(known, tampered);
    fs::write(&testbed.ssh.known_hosts, &tampered).unwrap();
    let (fleet, failures) = Fleet::connect(config(), targets(), &NullReporter).await;
    let failed: Vec<&str> = failures.iter().map(|f| f.host.as_str()).collect();
    assert_eq!(failed, ["learnt"], "{failures:?}");
    let message = failures[0].error.to_string();
    assert!(
        matches!(failures[0].error, RemoteError::Connect { .. })
            && message.to_lowercase().contains("host key"),
        "{message}"
    );
    drop(fleet);
    enos_remote::close_all(control.path()).await.unwrap();
    fs::create_dir_all(&jump_control).unwrap();

    // known_hosts lost the key: OpenSSH learns the one offered again, and the fingerprint
    // recorded at the first contact tells it changed.
    let recorded = vec![LearntHostKey {
        host: "learnt".into(),
        fingerprint: fingerprint(&other_key).unwrap(),
    }];
    let without: String = tampered
        .lines()
        .filter(|l| !l.starts_with("learnt "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&testbed.ssh.known_hosts, without).unwrap();
    let (fleet, failures) = Fleet::connect(config(), targets(), &NullReporter).await;
    assert!(failures.is_empty(), "{failures:?}");
    let offered = learnt_host_keys(&testbed).unwrap();
    let refused = check_host_keys(&recorded, &offered).unwrap_err();
    assert_eq!(refused.changed.len(), 1);
    assert_eq!(refused.changed[0].host, "learnt");
    assert_eq!(refused.changed[0].offered, real);
    assert!(refused.to_string().contains("host learnt"), "{refused}");
    drop(fleet);
    enos_remote::close_all(control.path()).await.unwrap();
}
