//! Successful fetches: parsing, chunking, job queries, basic auth.

use std::time::Duration;

use base64::Engine as _;
use enos_kwollect::{BMC_POWER, Client, Config, Credentials, Query, WATTMETRE_POWER};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::fake_kwollect::{FakeKwollect, Reply, serve_dataset, test_ca_file};

fn at(text: &str) -> Timestamp {
    text.parse().expect("valid timestamp")
}

fn client(fake: &FakeKwollect, adjust: impl FnOnce(&mut Config)) -> Client {
    let mut config = Config {
        base_url: fake.base_url(),
        backoff: Duration::from_millis(1),
        ..Config::default()
    };
    adjust(&mut config);
    Client::new(config).expect("valid config")
}

const MIXED_BODY: &str = r#"[
  {"timestamp": "2025-04-18T18:55:33+02:00", "device_id": "ecotype-7",
   "metric_id": "bmc_node_power_watt", "value": 98, "labels": {}},
  {"timestamp": "2025-04-18T18:55:33.754+02:00", "device_id": "ecotype-7",
   "metric_id": "wattmetre_power_watt", "value": 131.7,
   "labels": {"_device_orig": ["wattmetre1-port6"]}},
  {"timestamp": "2025-04-18T18:55:33.754307+02:00", "device_id": "ecotype-6",
   "metric_id": "wattmetre_power_watt", "value": 120,
   "labels": {"_device_orig": "wattmetre1-port5"}},
  {"timestamp": "2025-04-18T16:55:33.754307123Z", "device_id": "ecotype-6",
   "metric_id": "bmc_node_power_watt", "value": 1.5e2, "labels": {}},
  {"timestamp": "2025-04-18T16:55:32.5Z", "device_id": "ecotype-6",
   "metric_id": "bmc_node_power_watt", "value": 149.25}
]"#;

#[tokio::test]
async fn parses_every_timestamp_precision_value_and_label_shape() {
    let fake = FakeKwollect::start(|_| Reply::new(200, MIXED_BODY)).await;
    let query = Query::window(
        "nantes",
        ["ecotype-6", "ecotype-7"],
        [WATTMETRE_POWER, BMC_POWER],
        at("2025-04-18T16:50:00Z"),
        at("2025-04-18T17:00:00Z"),
    );
    let points = client(&fake, |_| ()).points(&query).await.expect("points");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/stable/sites/nantes/metrics");
    assert_eq!(request.param("nodes"), Some("ecotype-6,ecotype-7"));
    assert_eq!(
        request.param("metrics"),
        Some("wattmetre_power_watt,bmc_node_power_watt")
    );
    assert_eq!(request.param("start_time"), Some("1744995000"));
    assert_eq!(request.param("end_time"), Some("1744995600"));
    assert_eq!(request.param("job_id"), None);
    assert_eq!(
        request.authorization, None,
        "no credentials, no Authorization header"
    );

    let second = at("2025-04-18T16:55:33Z");
    let plus = |nanos: i64| {
        second
            .checked_add(SignedDuration::from_nanos(nanos))
            .expect("in range")
    };
    let seen: Vec<(Timestamp, &str, &str, f64)> = points
        .iter()
        .map(|point| {
            (
                point.time,
                point.node.as_str(),
                point.metric.as_str(),
                point.value,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (plus(-500_000_000), "ecotype-6", BMC_POWER, 149.25),
            (second, "ecotype-7", BMC_POWER, 98.0),
            (plus(754_000_000), "ecotype-7", WATTMETRE_POWER, 131.7),
            (plus(754_307_000), "ecotype-6", WATTMETRE_POWER, 120.0),
            (plus(754_307_123), "ecotype-6", BMC_POWER, 150.0),
        ]
    );
    assert_eq!(
        points[2].labels["_device_orig"],
        json!(["wattmetre1-port6"])
    );
    assert_eq!(points[3].labels["_device_orig"], json!("wattmetre1-port5"));
    assert!(points[0].labels.is_empty(), "missing labels read as none");

    let serialised = serde_json::to_value(&points[2]).expect("serialisable");
    assert_eq!(serialised["node"], "ecotype-7");
    assert_eq!(serialised["value"], 131.7);
}

/// Three nodes with a point every 30 minutes from 12:00 to 15:00 UTC, both included.
fn half_hourly_dataset() -> Vec<serde_json::Value> {
    let start = at("2025-04-18T12:00:00Z");
    let mut points = Vec::new();
    for step in 0..=6 {
        let time = start
            .checked_add(SignedDuration::from_mins(30 * step))
            .expect("in range");
        for (index, node) in ["taurus-1", "taurus-3", "taurus-7"].into_iter().enumerate() {
            points.push(json!({
                "timestamp": time.to_string(), "device_id": node, "metric_id": WATTMETRE_POWER,
                "value": 100 + 10 * index as i64 + step, "labels": {},
            }));
        }
    }
    points
}

#[tokio::test]
async fn chunks_by_hour_and_by_nodes_without_duplicating_boundaries() {
    let fake = FakeKwollect::start(serve_dataset(half_hourly_dataset())).await;
    let client = client(&fake, |config| {
        config.time_chunk = Duration::from_secs(3600);
        config.nodes_per_request = 2;
    });
    let query = Query::window(
        "lyon",
        ["taurus-1", "taurus-3", "taurus-7"],
        [WATTMETRE_POWER],
        at("2025-04-18T12:00:00Z"),
        at("2025-04-18T15:00:00Z"),
    );
    let points = client.points(&query).await.expect("points");

    let requests: Vec<(String, String, String)> = fake
        .requests()
        .iter()
        .map(|request| {
            let param = |name| request.param(name).expect("parameter").to_string();
            (param("nodes"), param("start_time"), param("end_time"))
        })
        .collect();
    let expected_requests: Vec<(String, String, String)> = [
        ("taurus-1,taurus-3", "1744977600", "1744981200"),
        ("taurus-7", "1744977600", "1744981200"),
        ("taurus-1,taurus-3", "1744981200", "1744984800"),
        ("taurus-7", "1744981200", "1744984800"),
        ("taurus-1,taurus-3", "1744984800", "1744988400"),
        ("taurus-7", "1744984800", "1744988400"),
    ]
    .into_iter()
    .map(|(nodes, start, end)| (nodes.to_string(), start.to_string(), end.to_string()))
    .collect();
    assert_eq!(requests, expected_requests);

    // The fake server includes both ends, as Kwollect may: boundary points come twice, kept once.
    assert_eq!(points.len(), 7 * 3, "{points:#?}");
    for pair in points.windows(2) {
        assert!(
            (pair[0].time, &pair[0].node) < (pair[1].time, &pair[1].node),
            "sorted and unique: {pair:?}"
        );
    }
    assert_eq!(
        points.first().map(|point| point.time),
        Some(at("2025-04-18T12:00:00Z"))
    );
    assert_eq!(
        points.last().map(|point| (point.time, point.node.as_str())),
        Some((at("2025-04-18T15:00:00Z"), "taurus-7"))
    );
}

#[tokio::test]
async fn sub_second_windows_are_widened_then_trimmed() {
    let start = at("2025-04-18T12:00:00Z");
    let dataset: Vec<serde_json::Value> = (0..=12)
        .map(|second| {
            let time = start
                .checked_add(SignedDuration::from_secs(second))
                .expect("in range");
            json!({"timestamp": time.to_string(), "device_id": "taurus-1",
                   "metric_id": WATTMETRE_POWER, "value": second, "labels": {}})
        })
        .collect();
    let fake = FakeKwollect::start(serve_dataset(dataset)).await;
    let window_start = start
        .checked_add(SignedDuration::from_millis(500))
        .expect("in range");
    let window_end = start
        .checked_add(SignedDuration::from_millis(10_500))
        .expect("in range");
    let query = Query::window(
        "lyon",
        ["taurus-1"],
        [WATTMETRE_POWER],
        window_start,
        window_end,
    );
    let points = client(&fake, |_| ()).points(&query).await.expect("points");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].param("start_time"), Some("1744977600"));
    assert_eq!(requests[0].param("end_time"), Some("1744977611"));
    let values: Vec<f64> = points.iter().map(|point| point.value).collect();
    assert_eq!(values, (1..=10).map(f64::from).collect::<Vec<_>>());
}

#[tokio::test]
async fn job_queries_send_the_job_id_once() {
    let fake = FakeKwollect::start(|_| Reply::new(200, MIXED_BODY)).await;
    let query = Query::job("nantes", 1_304_978, [BMC_POWER]);
    let points = client(&fake, |config| config.time_chunk = Duration::from_secs(1))
        .points(&query)
        .await
        .expect("points");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].param("job_id"), Some("1304978"));
    assert_eq!(requests[0].param("metrics"), Some("bmc_node_power_watt"));
    for name in ["nodes", "start_time", "end_time"] {
        assert_eq!(requests[0].param(name), None, "{name}");
    }
    assert_eq!(
        points.len(),
        5,
        "job queries keep every point Kwollect returns"
    );
}

#[tokio::test]
async fn sends_basic_auth_when_credentials_are_set() {
    let fake = FakeKwollect::start(|_| Reply::new(200, "[]")).await;
    let client = client(&fake, |config| {
        config.credentials = Some(Credentials::new("alice", "s3cr3t-Pa55"))
    });
    let query = Query::window(
        "lyon",
        ["taurus-1"],
        [WATTMETRE_POWER],
        at("2025-04-18T12:00:00Z"),
        at("2025-04-18T12:01:00Z"),
    );
    let points = client.points(&query).await.expect("points");
    assert!(points.is_empty());
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cr3t-Pa55")
    );
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some(expected.as_str())
    );
    let shown = format!("{client:?}");
    assert!(
        shown.contains("alice") && !shown.contains("s3cr3t"),
        "{shown}"
    );
}

#[tokio::test]
async fn https_with_an_extra_trust_anchor() {
    let fake = FakeKwollect::start_tls(|_| Reply::new(200, MIXED_BODY)).await;
    assert!(fake.base_url().starts_with("https://127.0.0.1:"));
    let query = Query::window(
        "nantes",
        ["ecotype-6", "ecotype-7"],
        [WATTMETRE_POWER, BMC_POWER],
        at("2025-04-18T16:50:00Z"),
        at("2025-04-18T17:00:00Z"),
    );

    let trusting = client(&fake, |config| config.extra_ca_file = Some(test_ca_file()));
    let points = trusting
        .points(&query)
        .await
        .expect("the test CA is trusted");
    assert_eq!(points.len(), 5);

    // The webpki roots alone do not know the test CA: the handshake fails, on every attempt.
    let error = client(&fake, |config| config.max_attempts = 2)
        .points(&query)
        .await
        .expect_err("unknown issuer");
    assert!(
        matches!(
            error,
            enos_kwollect::KwollectError::Unavailable { attempts: 2, .. }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "only the trusting client got through"
    );
}

#[tokio::test]
async fn extra_ca_file_must_hold_certificates() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    for path in [empty, dir.path().join("missing.pem")] {
        let config = Config {
            extra_ca_file: Some(path.clone()),
            ..Config::default()
        };
        let error = Client::new(config).expect_err("no usable certificate");
        assert!(
            matches!(error, enos_kwollect::KwollectError::Setup { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }
}
