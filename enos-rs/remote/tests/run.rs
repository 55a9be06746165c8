//! Running commands: exit codes, output, unreachable hosts, timeouts.

use std::time::Duration;

use enos_core::NullReporter;
use enos_remote::{Exit, Fleet, RemoteError};

use crate::common::{Recorder, Sshd, control_dir, targets};

/// Exits 0 on alpha (printing `one`), 3 on beta (printing `two` on stderr), 7 elsewhere.
const BY_HOST: &str = "set -- $SSH_CONNECTION; case $3 in \
    127.0.0.1) echo one;; 127.0.0.2) echo two >&2; exit 3;; *) exit 7;; esac";

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn mixed_exit_codes_come_back_in_target_order() {
    let Some(sshd) = Sshd::start("mixed_exit_codes_come_back_in_target_order") else {
        return;
    };
    let control = control_dir();
    let recorder = Recorder::default();
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["gamma", "alpha", "beta"]),
        &recorder,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    let results = fleet.run(BY_HOST, TIMEOUT, &recorder).await;

    let hosts: Vec<&str> = results.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["gamma", "alpha", "beta"]);
    let gamma = results[0].outcome.as_ref().unwrap();
    let alpha = results[1].outcome.as_ref().unwrap();
    let beta = results[2].outcome.as_ref().unwrap();
    assert_eq!(gamma.exit, Exit::Code(7));
    assert_eq!(
        (alpha.exit, alpha.stdout_text().as_ref(), alpha.stderr.len()),
        (Exit::Code(0), "one\n", 0)
    );
    assert_eq!(
        (beta.exit, beta.stdout.len(), beta.stderr_text().as_ref()),
        (Exit::Code(3), 0, "two\n")
    );
    assert!(alpha.success() && !beta.success());

    // One task per operation, one step per host.
    let events = recorder.events();
    assert_eq!(events.first().map(String::as_str), Some("start connect 3"));
    assert_eq!(events.iter().filter(|e| e.starts_with("start")).count(), 2);
    assert!(events.contains(&"start run 3".to_owned()), "{events:?}");
    assert!(
        events.contains(&"advance alpha true".to_owned()),
        "{events:?}"
    );
    assert!(
        events.contains(&"advance beta false".to_owned()),
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| e.starts_with("advance")).count(),
        6
    );
    assert_eq!(events.iter().filter(|e| *e == "finish").count(), 2);
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn unreachable_and_untrusted_hosts_do_not_hide_the_others() {
    let Some(sshd) = Sshd::start("unreachable_and_untrusted_hosts_do_not_hide_the_others") else {
        return;
    };
    let control = control_dir();
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "dead", "stranger", "beta"]),
        &NullReporter,
    )
    .await;

    assert_eq!(
        failures.iter().map(|f| f.host.as_str()).collect::<Vec<_>>(),
        ["dead", "stranger"]
    );
    let dead = &failures[0].error;
    assert!(matches!(dead, RemoteError::Unreachable { .. }), "{dead}");
    assert!(dead.to_string().contains("Connection refused"), "{dead}");
    assert!(dead.to_string().starts_with("host 'dead': "), "{dead}");
    let stranger = &failures[1].error;
    assert!(
        matches!(stranger, RemoteError::Connect { .. }),
        "{stranger}"
    );
    assert!(
        stranger
            .to_string()
            .contains("Host key verification failed"),
        "{stranger}"
    );
    assert_eq!(fleet.failures().count(), 2);

    let results = fleet.run("echo ok", TIMEOUT, &NullReporter).await;
    assert_eq!(results.len(), 4);
    for (result, reachable) in results.iter().zip([true, false, false, true]) {
        match (&result.outcome, reachable) {
            (Ok(output), true) => assert_eq!(output.stdout_text(), "ok\n"),
            (Err(e), false) => assert!(e.is_connection_failure(), "{e}"),
            (outcome, _) => panic!("{}: unexpected {outcome:?}", result.host),
        }
    }
    // The error is the one connecting gave.
    assert_eq!(results[1].outcome.as_ref().unwrap_err(), dead);
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn a_timeout_only_hits_the_slow_host() {
    let Some(sshd) = Sshd::start("a_timeout_only_hits_the_slow_host") else {
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
    let slow_on_alpha =
        "set -- $SSH_CONNECTION; if [ $3 = 127.0.0.1 ]; then sleep 30; fi; echo done";
    let results = fleet
        .run(slow_on_alpha, Duration::from_secs(2), &NullReporter)
        .await;
    match &results[0].outcome {
        Err(RemoteError::Timeout {
            host,
            operation,
            after,
        }) => {
            assert_eq!(
                (host.as_str(), *operation, *after),
                ("alpha", "run", Duration::from_secs(2))
            );
        }
        other => panic!("alpha: expected a timeout, got {other:?}"),
    }
    assert_eq!(results[1].outcome.as_ref().unwrap().stdout_text(), "done\n");
    // The fleet is still usable on the host that timed out.
    let again = fleet.run("echo again", TIMEOUT, &NullReporter).await;
    assert!(again.iter().all(|r| {
        r.outcome
            .as_ref()
            .is_ok_and(|o| o.stdout_text() == "again\n")
    }));
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn large_stdout_and_stderr_stay_apart() {
    let Some(sshd) = Sshd::start("large_stdout_and_stderr_stay_apart") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;
    // stderr first: a reader that waited for stdout's end first would block the command.
    let command = "head -c 2000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o; printf end";
    let results = fleet.run(command, TIMEOUT, &NullReporter).await;
    let output = results[0].outcome.as_ref().unwrap();
    assert_eq!(output.exit, Exit::Code(0));
    assert_eq!(output.stdout.len(), 3_000_003);
    assert!(output.stdout[..3_000_000].iter().all(|b| *b == b'o'));
    assert!(output.stdout.ends_with(b"end"));
    assert_eq!(output.stderr.len(), 2_000_000);
    assert!(output.stderr.iter().all(|b| *b == b'e'));
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn command_not_found_and_signals_are_exits_not_errors() {
    let Some(sshd) = Sshd::start("command_not_found_and_signals_are_exits_not_errors") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;

    let results = fleet
        .run("echo before; no-such-command-enos", TIMEOUT, &NullReporter)
        .await;
    let output = results[0].outcome.as_ref().unwrap();
    assert_eq!(output.exit, Exit::Code(127));
    assert_eq!(output.stdout_text(), "before\n");
    assert!(
        output.stderr_text().contains("not found"),
        "{}",
        output.stderr_text()
    );

    let results = fleet.run("kill -9 $$", TIMEOUT, &NullReporter).await;
    assert_eq!(results[0].outcome.as_ref().unwrap().exit, Exit::Signal);

    // The login shell runs the line: variables, pipes, several commands.
    let results = fleet
        .run(
            "echo $HOME | tr a-z A-Z; ls / >/dev/null && echo listed",
            TIMEOUT,
            &NullReporter,
        )
        .await;
    let output = results[0].outcome.as_ref().unwrap();
    assert!(
        output.stdout_text().ends_with("\nlisted\n"),
        "{}",
        output.stdout_text()
    );
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn many_targets_share_masters_and_respect_parallelism() {
    let Some(sshd) = Sshd::start("many_targets_share_masters_and_respect_parallelism") else {
        return;
    };
    let control = control_dir();
    let mut config = sshd.config(control.path());
    config.parallelism = 4;
    // 24 targets on 3 aliases: processes take turns on each alias's master.
    let many: Vec<enos_remote::Target> = (0..24)
        .map(|i| enos_remote::Target {
            alias: ["alpha", "beta", "gamma"][i % 3].to_owned(),
            ..enos_remote::Target::new(format!("h{i:02}"))
        })
        .collect();
    let (fleet, failures) = Fleet::connect(config, many, &NullReporter).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(crate::common::ssh_processes(control.path()).len(), 3);
    let results = fleet.run("echo hi", TIMEOUT, &NullReporter).await;
    let names: Vec<String> = (0..24).map(|i| format!("h{i:02}")).collect();
    assert_eq!(
        results.iter().map(|r| r.host.clone()).collect::<Vec<_>>(),
        names
    );
    assert!(
        results
            .iter()
            .all(|r| r.outcome.as_ref().is_ok_and(|o| o.stdout_text() == "hi\n"))
    );

    let some = fleet.subset(&["h05", "h01", "nope"]);
    assert_eq!(some.hosts().collect::<Vec<_>>(), ["h01", "h05"]);
    assert_eq!(some.run("true", TIMEOUT, &NullReporter).await.len(), 2);
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn each_host_gets_its_own_command_and_input() {
    let Some(sshd) = Sshd::start("each_host_gets_its_own_command_and_input") else {
        return;
    };
    let control = control_dir();
    let recorder = Recorder::default();
    let (fleet, failures) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "beta", "gamma"]),
        &NullReporter,
    )
    .await;
    assert!(failures.is_empty(), "{failures:?}");
    // 1 MiB through alpha (more than any pipe buffer: input and output must flow together), in
    // two parts written one after the other, nothing to beta, gamma left out.
    let big: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let big_input = enos_remote::Bytes::from(big.clone());
    let commands = vec![
        enos_remote::HostCommand {
            host: "alpha".into(),
            command: "cat; echo done >&2".into(),
            input: vec![big_input.slice(..1000), big_input.slice(1000..)],
        },
        enos_remote::HostCommand {
            host: "beta".into(),
            command: "wc -c".into(),
            input: Vec::new(),
        },
    ];
    let results = fleet
        .run_commands("step 1", commands, TIMEOUT, &recorder)
        .await;
    let hosts: Vec<&str> = results.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["alpha", "beta"]);
    let alpha = results[0].outcome.as_ref().unwrap();
    assert_eq!((alpha.exit, alpha.stdout.len()), (Exit::Code(0), big.len()));
    assert!(alpha.stdout == big, "the input comes back unchanged");
    assert_eq!(alpha.stderr_text(), "done\n");
    let beta = results[1].outcome.as_ref().unwrap();
    assert_eq!(beta.stdout_text().trim(), "0");
    assert!(recorder.events().contains(&"start step 1 2".to_owned()));
    enos_remote::close_all(control.path()).await.unwrap();
}
