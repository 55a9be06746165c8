//! The daemon streams its records: a reader sees them within about a second.

use std::time::{Duration, Instant};

use enos_loadgen::daemon;

use crate::common::{Server, read};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_flushed_while_the_run_goes_on() {
    let server = Server::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let args: Vec<std::ffi::OsString> = [
        "--url",
        &server.url,
        "--rate",
        "100",
        "--duration",
        "3s",
        "--warmup",
        "200ms",
        "--out",
        path.to_str().unwrap(),
    ]
    .iter()
    .map(Into::into)
    .collect();
    let started = Instant::now();
    let generator = std::thread::spawn(move || daemon::main(args));

    tokio::time::sleep(Duration::from_millis(1800)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let midway = read(&path);
    assert!(midway.summary.is_none(), "finished already");
    assert_eq!(midway.start["mode"], "open");
    assert!(midway.start["start_unix_ns"].as_u64().unwrap() > 0);
    // At least what was due a second (the flush interval, and some slack) before.
    let due = 100.0 * (elapsed - 1.2);
    assert!(
        midway.requests.len() as f64 >= due,
        "{} records {elapsed:.2} s into the run",
        midway.requests.len()
    );

    let finished = tokio::task::spawn_blocking(move || generator.join().unwrap())
        .await
        .unwrap();
    assert_eq!(finished, Ok(()));
    let records = read(&path);
    let summary = records.summary.expect("a summary line");
    assert_eq!(records.requests.len(), 320);
    assert_eq!(records.requests.iter().filter(|r| r.warmup).count(), 20);
    assert_eq!(summary.count, 300);
    assert_eq!(summary.warmup_count, 20);
    assert_eq!(summary.responses, 300);
}
