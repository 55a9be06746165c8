//! The daemon: control socket, live rule change through it, stop.

use std::os::unix::fs::PermissionsExt;
use std::sync::mpsc;
use std::time::Duration;

use enos_emulator::{EmulatorError, PairRule, Request, Response, request, serve};

use crate::common::{Echo, Testbed, assert_adds, can_run, path_round_trip, probe, rule};

const MS: Duration = Duration::from_millis(1);

#[test]
fn daemon_changes_rules_live_and_stops_on_request() {
    if !can_run("daemon_changes_rules_live_and_stops_on_request") {
        return;
    }
    let testbed = Testbed::new(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("emulator.sock");
    let fast = PairRule {
        delay: 2 * MS,
        ..rule(0, 1)
    };
    let config = testbed.config(vec![
        fast,
        PairRule {
            src: 1,
            dst: 0,
            ..fast
        },
    ]);
    let (ready_tx, ready_rx) = mpsc::channel();
    let daemon = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            serve(config, &socket, move || ready_tx.send(()).expect("ready"))
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the daemon is ready");
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    testbed.configure_devices();

    let echo = Echo::start(&testbed, 1);
    let before = probe(&testbed, 0, &echo, 50, 5 * MS, 50 * MS);
    let slow = PairRule {
        delay: 15 * MS,
        ..fast
    };
    let answer = request(
        &socket,
        &Request::SetRules(vec![
            slow,
            PairRule {
                src: 1,
                dst: 0,
                ..slow
            },
        ]),
    )
    .expect("set_rules");
    assert_eq!(answer, Response::Ok(None));
    let after = probe(&testbed, 0, &echo, 50, 5 * MS, 100 * MS);
    println!("daemon before: {}", before.summary());
    println!("daemon after:  {}", after.summary());

    let Response::Ok(Some(stats)) = request(&socket, &Request::Stats).expect("stats") else {
        panic!("stats answered without counters");
    };
    assert_eq!(stats.pair(0, 1).forwarded, 100);
    assert_eq!(stats.pair(1, 0).forwarded, 100);

    // No rule left: what remains is the path's own round trip, which the rules added to.
    let answer = request(&socket, &Request::SetRules(Vec::new())).expect("set_rules");
    assert_eq!(answer, Response::Ok(None));
    let path = path_round_trip(&testbed, 0, &echo);
    assert!(path < 2 * MS, "the path alone takes {path:?}");
    assert_adds(
        &before,
        path,
        4 * MS,
        "2 ms each way, from the configuration",
    );
    assert_adds(
        &after,
        path,
        30 * MS,
        "15 ms each way, set through the socket",
    );

    let refused = request(&socket, &Request::SetRules(vec![rule(0, 7)]));
    assert!(
        matches!(refused, Err(EmulatorError::Refused(ref why)) if why.contains("endpoints")),
        "{refused:?}"
    );

    // A malformed line is answered with an error, and the connection stays usable.
    {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        stream
            .write_all(b"{\"reboot\":true}\n{\"stats\":null}\n")
            .expect("write");
        let mut lines = BufReader::new(&stream).lines();
        let first = lines.next().expect("an answer").expect("read");
        assert!(first.starts_with("{\"error\":"), "{first}");
        let second = lines.next().expect("an answer").expect("read");
        assert!(second.starts_with("{\"ok\":{"), "{second}");
    }

    assert_eq!(
        request(&socket, &Request::Stop).expect("stop"),
        Response::Ok(None)
    );
    daemon
        .join()
        .expect("daemon thread")
        .expect("the daemon ends cleanly");
    assert!(!socket.exists(), "the socket file is removed");
    assert!(
        !testbed.has_device(0) && !testbed.has_device(1),
        "the TUN devices are gone"
    );
    drop(echo);
}

#[test]
fn daemon_stops_on_sigterm() {
    if !can_run("daemon_stops_on_sigterm") {
        return;
    }
    // The testbed also keeps other daemons of this binary from running meanwhile: the signal
    // is for the whole process.
    let testbed = Testbed::new(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("emulator.sock");
    let config = testbed.config(Vec::new());
    let (ready_tx, ready_rx) = mpsc::channel();
    let daemon = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            serve(config, &socket, move || ready_tx.send(()).expect("ready"))
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the daemon is ready");
    assert!(testbed.has_device(0));
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::TERM)
        .expect("send SIGTERM");
    daemon
        .join()
        .expect("daemon thread")
        .expect("the daemon ends cleanly");
    assert!(!socket.exists(), "the socket file is removed");
    assert!(!testbed.has_device(0), "the TUN device is gone");
}

#[test]
fn daemon_refuses_a_bad_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("emulator.sock");
    let config = enos_emulator::EmulatorConfig::new(Vec::new());
    let result = serve(config, &socket, || panic!("not ready"));
    assert!(
        matches!(result, Err(EmulatorError::Config(_))),
        "{result:?}"
    );
    assert!(!socket.exists());
}

#[test]
fn missing_namespace_is_an_error() {
    let config = enos_emulator::EmulatorConfig::new(vec![enos_emulator::Endpoint {
        netns: "/run/netns/enos-emulator-no-such-namespace".into(),
        device: "wan0".into(),
        addresses: vec![std::net::Ipv4Addr::new(10, 77, 0, 1)],
    }]);
    let error = enos_emulator::Emulator::start(config).expect_err("no namespace");
    assert!(matches!(error, EmulatorError::Netns { .. }), "{error}");
}
