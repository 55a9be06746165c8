//! Failed requests are records, never the end of a run.

use std::time::Duration;

use enos_loadgen::{Config, ErrorKind, Load, run};

use crate::common::{Server, closed_port, ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_recorded() {
    let url = format!("http://{}/", closed_port());
    let config = Config::new(&url, Load::Rate(50.0), Duration::from_secs(1));
    let summary = run(&config, std::io::sink()).await.unwrap();
    assert_eq!(summary.count, 50, "{summary:?}");
    assert_eq!(summary.errors, 50);
    assert_eq!(summary.responses, 0);
    assert_eq!(summary.error_kinds.get(&ErrorKind::Refused), Some(&50));

    let config = Config {
        requests: Some(20),
        duration: None,
        ..Config::new(&url, Load::Closed { connections: 2 }, Duration::ZERO)
    };
    let summary = run(&config, std::io::sink()).await.unwrap();
    assert_eq!(summary.count, 20, "{summary:?}");
    assert_eq!(summary.error_kinds.get(&ErrorKind::Refused), Some(&20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_timeout_are_recorded_and_the_rest_go_on() {
    let origin = std::time::Instant::now();
    // Stalls for the first 600 ms, far beyond the 200 ms timeout.
    let server = Server::start(Some((origin, origin + ms(600)))).await;
    let mut config = Config::new(&server.url, Load::Rate(20.0), Duration::from_secs(2));
    config.timeout = ms(200);
    let summary = run(&config, std::io::sink()).await.unwrap();
    assert_eq!(summary.count, 40, "{summary:?}");
    let timeouts = summary.error_kinds.get(&ErrorKind::Timeout).copied();
    assert!(
        timeouts.is_some_and(|n| (8..=13).contains(&n)),
        "{summary:?}"
    );
    assert_eq!(summary.responses + summary.errors, 40);
}

#[tokio::test]
async fn a_run_it_cannot_make_is_refused_before_it_starts() {
    let bad = [
        Config::new("https://example.org/", Load::Rate(1.0), ms(100)),
        Config::new("http://127.0.0.1/", Load::Rate(0.0), ms(100)),
        Config::new(
            "http://127.0.0.1/",
            Load::Closed { connections: 0 },
            ms(100),
        ),
        Config {
            duration: None,
            ..Config::new("http://127.0.0.1/", Load::Rate(1.0), ms(100))
        },
    ];
    for config in bad {
        assert!(run(&config, std::io::sink()).await.is_err(), "{config:?}");
    }
}
