//! Failures: refused credentials, refused requests, retries, malformed bodies, bad queries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use enos_kwollect::{Client, Config, KwollectError, PythonGrid5000Config, Query, WATTMETRE_POWER};
use jiff::Timestamp;

use crate::fake_kwollect::{FakeKwollect, Reply};

const PASSWORD: &str = "s3cr3t-Pa55";

fn at(text: &str) -> Timestamp {
    text.parse().expect("valid timestamp")
}

fn one_minute() -> Query {
    Query::window(
        "lyon",
        ["taurus-1"],
        [WATTMETRE_POWER],
        at("2025-04-18T12:00:00Z"),
        at("2025-04-18T12:01:00Z"),
    )
}

fn config(base_url: String) -> Config {
    Config {
        base_url,
        backoff: Duration::from_millis(1),
        timeout: Duration::from_secs(10),
        ..Config::default()
    }
}

/// Neither the password nor the encoded header may show in an error.
fn assert_no_secret(error: &KwollectError) {
    let shown = format!("{error} | {error:?}");
    let header = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(&header),
        "{shown}"
    );
}

#[tokio::test]
async fn refused_credentials_name_their_file_not_the_password() {
    let fake = FakeKwollect::start(|_| Reply::new(401, "Unauthorized")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(".python-grid5000.yaml");
    std::fs::write(&path, format!("username: alice\npassword: {PASSWORD}\n"))
        .expect("write the file");
    let file = PythonGrid5000Config::load(&path).expect("valid file");
    let client = Client::new(Config {
        credentials: file.credentials,
        ..config(fake.base_url())
    })
    .expect("client");

    let error = client.points(&one_minute()).await.expect_err("401");
    assert!(
        matches!(error, KwollectError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("refused"), "{message}");
    assert!(message.contains("/stable/sites/lyon/metrics"), "{message}");
    assert_no_secret(&error);
    assert_eq!(fake.requests().len(), 1, "a refusal is not retried");
    assert!(fake.requests()[0].authorization.is_some());
}

#[tokio::test]
async fn refusal_without_credentials_says_how_to_give_them() {
    let fake = FakeKwollect::start(|_| Reply::new(403, "Forbidden")).await;
    let client = Client::new(config(fake.base_url())).expect("client");
    let error = client.points(&one_minute()).await.expect_err("403");
    let message = error.to_string();
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(
        message.contains("G5K_USERNAME") && message.contains(".python-grid5000.yaml"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_request_shows_kwollects_explanation() {
    let explanation = r#"{"code":400,"message":"Too many values requested, reduce the time range or the number of nodes"}"#;
    let fake = FakeKwollect::start(move |_| Reply::new(400, explanation)).await;
    let client = Client::new(config(fake.base_url())).expect("client");
    let error = client.points(&one_minute()).await.expect_err("400");
    assert!(
        matches!(error, KwollectError::Rejected { status: 400, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Too many values requested, reduce the time range"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn long_error_bodies_are_cut() {
    let fake = FakeKwollect::start(|_| Reply::new(422, "x".repeat(5000))).await;
    let client = Client::new(config(fake.base_url())).expect("client");
    let error = client.points(&one_minute()).await.expect_err("422");
    let KwollectError::Rejected { body, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(body.chars().count(), 301, "300 characters and an ellipsis");
}

#[tokio::test]
async fn server_error_is_retried() {
    let served = AtomicUsize::new(0);
    let fake = FakeKwollect::start(move |_| match served.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::new(500, "Internal Server Error"),
        _ => Reply::new(
            200,
            r#"[{"timestamp": "2025-04-18T14:00:30+02:00", "device_id": "taurus-1",
                 "metric_id": "wattmetre_power_watt", "value": 101.5, "labels": {}}]"#,
        ),
    })
    .await;
    let client = Client::new(config(fake.base_url())).expect("client");
    let points = client
        .points(&one_minute())
        .await
        .expect("the retry succeeds");
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].value, 101.5);
}

#[tokio::test]
async fn persistent_unavailability_gives_up_after_max_attempts() {
    let fake = FakeKwollect::start(|_| Reply::new(503, "Service Unavailable: maintenance")).await;
    let client = Client::new(Config {
        max_attempts: 4,
        ..config(fake.base_url())
    })
    .expect("client");
    let error = client.points(&one_minute()).await.expect_err("503");
    assert!(
        matches!(error, KwollectError::Unavailable { attempts: 4, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("4 attempt(s)")
            && message.contains("503")
            && message.contains("maintenance"),
        "{message}"
    );
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base_url = format!("http://{}/stable", listener.local_addr().expect("address"));
    drop(listener);
    let client = Client::new(Config {
        max_attempts: 2,
        ..config(base_url)
    })
    .expect("client");
    let error = client
        .points(&one_minute())
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, KwollectError::Unavailable { attempts: 2, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_naming_the_url() {
    let cases = [
        ("[{\"timestamp\": ", "EOF"),
        (r#"{"message": "not a list"}"#, "expected a sequence"),
        (
            r#"[{"timestamp": "2025-04-18 18:55:33", "device_id": "taurus-1", "metric_id": "m", "value": 1}]"#,
            "offset",
        ),
        (
            r#"[{"timestamp": "2025-04-18T18:55:33Z", "device_id": "taurus-1", "metric_id": "m", "value": "high"}]"#,
            "expected f64",
        ),
        ("<html>Proxy error</html>", "<html>Proxy error</html>"),
    ];
    for (body, hint) in cases {
        let fake = FakeKwollect::start(move |_| Reply::new(200, body)).await;
        let client = Client::new(config(fake.base_url())).expect("client");
        let error = client
            .points(&one_minute())
            .await
            .expect_err("malformed body");
        assert!(matches!(error, KwollectError::Decode { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{}/sites/lyon/metrics?", fake.base_url())),
            "{message}"
        );
        assert!(message.contains(hint), "{hint} not in: {message}");
        assert_eq!(fake.requests().len(), 1, "a malformed body is not retried");
    }
}

#[tokio::test]
async fn invalid_queries_send_nothing() {
    let fake = FakeKwollect::start(|_| Reply::new(200, "[]")).await;
    let client = Client::new(config(fake.base_url())).expect("client");
    let start = at("2025-04-18T12:00:00Z");
    let no_nodes: [&str; 0] = [];
    let queries = [
        Query::window(
            "lyon",
            no_nodes,
            [WATTMETRE_POWER],
            start,
            at("2025-04-18T13:00:00Z"),
        ),
        Query::window("lyon", ["taurus-1"], [WATTMETRE_POWER], start, start),
        Query::window(
            "../lyon",
            ["taurus-1"],
            [WATTMETRE_POWER],
            start,
            at("2025-04-18T13:00:00Z"),
        ),
        Query::window(
            "lyon",
            ["taurus-1,taurus-2"],
            [WATTMETRE_POWER],
            start,
            at("2025-04-18T13:00:00Z"),
        ),
        Query::window(
            "lyon",
            ["taurus-1.lyon.grid5000.fr"],
            [WATTMETRE_POWER],
            start,
            at("2025-04-18T13:00:00Z"),
        ),
    ];
    for query in &queries {
        let error = client.points(query).await.expect_err("invalid query");
        assert!(
            matches!(error, KwollectError::InvalidQuery { .. }),
            "{error:?}"
        );
    }
    assert!(fake.requests().is_empty());
}
