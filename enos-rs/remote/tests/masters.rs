//! Master connections: reuse across fleets, stale sockets, reconnection, close_all.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use enos_core::NullReporter;
use enos_remote::{Fleet, MAX_CONTROL_DIR_LEN, RemoteConfig, RemoteError};

use crate::common::{Sshd, control_dir, ssh_processes, targets, wait_until};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_second_connect_reuses_the_masters() {
    let Some(sshd) = Sshd::start("a_second_connect_reuses_the_masters") else {
        return;
    };
    let control = control_dir();
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "beta"]),
        &NullReporter,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    let socket = control.path().join("alpha.sock");
    assert_eq!(fleet.control_socket("alpha"), Some(socket.as_path()));
    let inode = fs::metadata(&socket).unwrap().ino();
    let masters = ssh_processes(control.path());
    assert_eq!(masters.len(), 2, "one master per host");
    let connections = sshd.connections();
    assert_eq!(connections, 2);
    drop(fleet);

    // As a later `enos` command would.
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "beta"]),
        &NullReporter,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        fs::metadata(&socket).unwrap().ino(),
        inode,
        "same control socket"
    );
    assert_eq!(ssh_processes(control.path()), masters, "no new master");
    assert_eq!(sshd.connections(), connections, "no new connection to sshd");
    let results = fleet.run("echo reused", TIMEOUT, &NullReporter).await;
    assert!(results.iter().all(|r| {
        r.outcome
            .as_ref()
            .is_ok_and(|o| o.stdout_text() == "reused\n")
    }));
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn a_stale_socket_is_replaced() {
    let Some(sshd) = Sshd::start("a_stale_socket_is_replaced") else {
        return;
    };
    let control = control_dir();
    // A socket nobody listens on, as a master that died leaves behind.
    let socket = control.path().join("alpha.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    let results = fleet.run("echo fresh", TIMEOUT, &NullReporter).await;
    assert_eq!(
        results[0].outcome.as_ref().unwrap().stdout_text(),
        "fresh\n"
    );
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn a_master_that_died_is_replaced_on_the_next_command() {
    let Some(sshd) = Sshd::start("a_master_that_died_is_replaced_on_the_next_command") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;
    let masters = ssh_processes(control.path());
    assert_eq!(masters.len(), 1);
    let pid = rustix::process::Pid::from_raw(masters[0] as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
    wait_until("the master is gone", || {
        ssh_processes(control.path()).is_empty()
    })
    .await;

    let results = fleet.run("echo back", TIMEOUT, &NullReporter).await;
    assert_eq!(results[0].outcome.as_ref().unwrap().stdout_text(), "back\n");
    let now = ssh_processes(control.path());
    assert_eq!(now.len(), 1);
    assert_ne!(now, masters);
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn close_all_leaves_no_master_behind() {
    let Some(sshd) = Sshd::start("close_all_leaves_no_master_behind") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "beta", "gamma"]),
        &NullReporter,
    )
    .await;
    // Also a master opened by a plain `ssh`, as the provider's configuration makes them.
    let status = Command::new("ssh")
        .arg("-F")
        .arg(&sshd.ssh_config)
        .args([
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPersist=300",
            "-f",
            "-N",
            "-o",
        ])
        .arg(format!("ControlPath={}/cm-%C", control.path().display()))
        .arg("alpha")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(ssh_processes(control.path()).len(), 4);
    // A session still running does not keep its master alive.
    let busy = fleet.clone();
    let running = tokio::spawn(async move { busy.run("sleep 60", TIMEOUT, &NullReporter).await });
    wait_until("the commands have started", || {
        sshd.remote_processes("sleep 60") >= 3
    })
    .await;

    enos_remote::close_all(control.path()).await.unwrap();
    assert!(
        ssh_processes(control.path()).is_empty(),
        "{:?}",
        ssh_processes(control.path())
    );
    assert!(!control.path().exists());
    wait_until("sshd sees no connection", || sshd.connections() == 0).await;
    let results = running.await.unwrap();
    assert!(
        results
            .iter()
            .all(|r| r.outcome.is_err() || !r.outcome.as_ref().unwrap().success())
    );
    // The fleet connects again when used after all.
    let again = fleet.run("echo again", TIMEOUT, &NullReporter).await;
    assert!(again.iter().all(|r| {
        r.outcome
            .as_ref()
            .is_ok_and(|o| o.stdout_text() == "again\n")
    }));
    assert_eq!(ssh_processes(control.path()).len(), 3);
    enos_remote::close_all(control.path()).await.unwrap();
    assert!(ssh_processes(control.path()).is_empty());
    // Again, on a directory that is gone: nothing to do.
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn control_directories_at_the_length_limit() {
    let Some(sshd) = Sshd::start("control_directories_at_the_length_limit") else {
        return;
    };
    let parent = control_dir();
    let base = parent.path().to_str().unwrap().len() + 1;
    let exact = parent.path().join("c".repeat(MAX_CONTROL_DIR_LEN - base));
    assert_eq!(exact.as_os_str().len(), MAX_CONTROL_DIR_LEN);
    let (fleet, failures) =
        Fleet::connect(sshd.config(&exact), targets(&["alpha"]), &NullReporter).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(fleet.run("true", TIMEOUT, &NullReporter).await[0].is_ok());
    enos_remote::close_all(&exact).await.unwrap();

    let long = parent
        .path()
        .join("c".repeat(MAX_CONTROL_DIR_LEN + 1 - base));
    let (fleet, failures) = Fleet::connect(
        sshd.config(&long),
        targets(&["alpha", "beta"]),
        &NullReporter,
    )
    .await;
    assert_eq!(failures.len(), 2);
    for failure in &failures {
        assert!(matches!(failure.error, RemoteError::ControlDir { .. }));
        assert!(
            failure.outcome_error().contains("too long"),
            "{}",
            failure.outcome_error()
        );
    }
    assert!(!long.exists());
    assert!(
        fleet
            .run("true", TIMEOUT, &NullReporter)
            .await
            .iter()
            .all(|r| !r.is_ok())
    );
}

#[tokio::test]
async fn a_bad_configuration_fails_each_host_clearly() {
    let Some(_sshd) = Sshd::start("a_bad_configuration_fails_each_host_clearly") else {
        return;
    };
    let control = control_dir();
    let config = RemoteConfig::new(control.path().join("no-such-config"), control.path());
    let (_, failures) = Fleet::connect(config, targets(&["alpha"]), &NullReporter).await;
    assert_eq!(failures.len(), 1);
    assert!(
        matches!(failures[0].error, RemoteError::Connect { .. }),
        "{}",
        failures[0].error
    );
    assert!(
        failures[0].error.to_string().contains("no-such-config"),
        "{}",
        failures[0].error
    );
    enos_remote::close_all(control.path()).await.unwrap();
}
