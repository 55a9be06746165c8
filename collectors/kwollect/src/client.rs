//! The HTTP client: chunked queries, retries, and error mapping.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use enos_http::{Backoff, BadCertificates, error_chain, excerpt};
use jiff::{SignedDuration, Timestamp};
use reqwest::Url;

use crate::KwollectError;
use crate::credentials::Credentials;
use crate::point::{Point, WirePoint};

/// Grid'5000's API, where Kwollect lives under `sites/{site}/metrics`.
pub const DEFAULT_BASE_URL: &str = "https://api.grid5000.fr/stable";
/// How much of an error body is shown.
const BODY_EXCERPT_CHARS: usize = 300;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How to reach Kwollect and how to split large queries.
#[derive(Clone)]
pub struct Config {
    /// The API root, [`DEFAULT_BASE_URL`] by default; credentials go in `credentials`, not here.
    pub base_url: String,
    /// HTTP basic credentials, needed outside Grid'5000 only (see [`Credentials::discover`]).
    pub credentials: Option<Credentials>,
    /// Time limit of one request, body included: 120 s by default.
    pub timeout: Duration,
    /// Attempts per request, the first included, before server errors (5xx, 429) and transport
    /// failures are reported: 3 by default, at least 1.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one (up to 60 s):
    /// 2 s by default.
    pub backoff: Duration,
    /// The longest time window of one request: 1 hour by default, i.e. 3,600 points per node and
    /// metric at the wattmeters' 1 s period. Lower it for the 20 ms full-monitoring mode, which
    /// gives 50 times more points.
    pub time_chunk: Duration,
    /// The most nodes named in one request: 16 by default.
    pub nodes_per_request: usize,
    /// A PEM bundle of extra trust anchors, added to the webpki roots (python-grid5000's
    /// `verify_ssl` path, for a TLS proxy with its own CA).
    pub extra_ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            credentials: None,
            timeout: Duration::from_secs(120),
            max_attempts: 3,
            backoff: Duration::from_secs(2),
            time_chunk: Duration::from_secs(3600),
            nodes_per_request: 16,
            extra_ca_file: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base_url = Url::parse(&self.base_url)
            .map(|url| without_userinfo(&url))
            .unwrap_or_else(|_| "<not a URL>".to_string());
        f.debug_struct("Config")
            .field("base_url", &base_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("time_chunk", &self.time_chunk)
            .field("nodes_per_request", &self.nodes_per_request)
            .field("extra_ca_file", &self.extra_ca_file)
            .finish()
    }
}

/// What to fetch from one site.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The Grid'5000 site, e.g. `lyon`.
    pub site: String,
    /// Metrics to fetch, e.g. [`crate::WATTMETRE_POWER`]; empty fetches every metric.
    pub metrics: Vec<String>,
    /// Which nodes and when.
    pub scope: Scope,
}

/// Which nodes and time a [`Query`] covers.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// These nodes (short names, e.g. `taurus-7`) from `start` to `end`, both included.
    Window {
        /// Short node names.
        nodes: Vec<String>,
        /// Start of the window.
        start: Timestamp,
        /// End of the window.
        end: Timestamp,
    },
    /// The nodes and duration of an OAR job, resolved by Kwollect; sent as one request.
    Job {
        /// The OAR job id.
        job_id: u64,
    },
}

impl Query {
    /// Points of `metrics` on `nodes` of `site` from `start` to `end`.
    pub fn window(
        site: impl Into<String>,
        nodes: impl IntoIterator<Item = impl Into<String>>,
        metrics: impl IntoIterator<Item = impl Into<String>>,
        start: Timestamp,
        end: Timestamp,
    ) -> Self {
        Self {
            site: site.into(),
            metrics: metrics.into_iter().map(Into::into).collect(),
            scope: Scope::Window {
                nodes: nodes.into_iter().map(Into::into).collect(),
                start,
                end,
            },
        }
    }

    /// Points of `metrics` on the nodes of OAR job `job_id` of `site`, over the job's lifetime.
    pub fn job(
        site: impl Into<String>,
        job_id: u64,
        metrics: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            site: site.into(),
            metrics: metrics.into_iter().map(Into::into).collect(),
            scope: Scope::Job { job_id },
        }
    }
}

/// A Kwollect client; cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: Config,
    base_url: Url,
}

/// One request of a chunked query, and which of its points to keep.
struct Chunk {
    url: Url,
    /// Points before this are dropped.
    keep_from: Option<Timestamp>,
    /// Points at or after this (after it, if `keep_end_inclusive`) are dropped.
    keep_until: Option<Timestamp>,
    keep_end_inclusive: bool,
}

impl Chunk {
    fn keeps(&self, time: Timestamp) -> bool {
        let after_start = self.keep_from.is_none_or(|from| time >= from);
        let before_end = self.keep_until.is_none_or(|until| {
            if self.keep_end_inclusive {
                time <= until
            } else {
                time < until
            }
        });
        after_start && before_end
    }
}

/// Why one attempt failed.
enum AttemptFailure {
    /// Worth another attempt.
    Transient(String),
    /// Final.
    Fatal(KwollectError),
}

impl Client {
    /// A client for `config`, with TLS from rustls (ring) and the webpki roots.
    pub fn new(config: Config) -> Result<Self, KwollectError> {
        let setup = |reason: String| KwollectError::Setup { reason };
        if config.max_attempts == 0 {
            return Err(setup("max_attempts must be at least 1".into()));
        }
        if config.nodes_per_request == 0 {
            return Err(setup("nodes_per_request must be at least 1".into()));
        }
        if config.time_chunk.is_zero() {
            return Err(setup("time_chunk must not be zero".into()));
        }
        let base_url = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|error| setup(format!("base_url is not a URL: {error}")))?;
        if !base_url.username().is_empty() || base_url.password().is_some() {
            return Err(setup(
                "base_url holds credentials; put them in Config::credentials instead".into(),
            ));
        }
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            return Err(setup(format!("base_url {base_url} is not an http(s) URL")));
        }
        // The extra CA file is written for this client: a certificate it cannot use is an error.
        let tls = enos_http::tls_config(config.extra_ca_file.as_deref(), BadCertificates::Refuse)
            .map_err(|error| setup(error.describe("extra_ca_file")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(config.timeout)
            .user_agent(concat!("enos-kwollect/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                setup(format!(
                    "cannot build the HTTP client: {}",
                    error_chain(&error)
                ))
            })?;
        Ok(Self {
            http,
            config,
            base_url,
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every point of `query`, fetched in chunks of at most [`Config::time_chunk`] and
    /// [`Config::nodes_per_request`] nodes, one request after the other. Points are sorted by
    /// (time, node, metric); a window's points are those within [start, end], each once even when
    /// Kwollect returns a point on a chunk boundary to both chunks.
    pub async fn points(&self, query: &Query) -> Result<Vec<Point>, KwollectError> {
        let chunks = self.chunks(query)?;
        let mut points = Vec::new();
        for chunk in &chunks {
            let fetched = self.fetch(&chunk.url).await?;
            points.extend(fetched.into_iter().filter(|point| chunk.keeps(point.time)));
        }
        points.sort_by(|a, b| (a.time, &a.node, &a.metric).cmp(&(b.time, &b.node, &b.metric)));
        tracing::debug!(site = %query.site, requests = chunks.len(), points = points.len(), "fetched Kwollect points");
        Ok(points)
    }

    fn chunks(&self, query: &Query) -> Result<Vec<Chunk>, KwollectError> {
        let invalid = |reason: String| KwollectError::InvalidQuery { reason };
        let is_name = |text: &str| {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !is_name(&query.site) || query.site.contains('.') {
            return Err(invalid(format!(
                "`{}` is not a Grid'5000 site name",
                query.site
            )));
        }
        if let Some(metric) = query.metrics.iter().find(|metric| !is_name(metric)) {
            return Err(invalid(format!("`{metric}` is not a metric name")));
        }
        let mut endpoint = self.base_url.clone();
        endpoint.set_path(&format!(
            "{}/sites/{}/metrics",
            self.base_url.path().trim_end_matches('/'),
            query.site
        ));
        let with_params = |params: &[(&str, String)]| {
            let mut url = endpoint.clone();
            {
                let mut pairs = url.query_pairs_mut();
                for (name, value) in params {
                    pairs.append_pair(name, value);
                }
                if !query.metrics.is_empty() {
                    pairs.append_pair("metrics", &query.metrics.join(","));
                }
            }
            url
        };

        let (nodes, start, end) = match &query.scope {
            Scope::Job { job_id } => {
                let url = with_params(&[("job_id", job_id.to_string())]);
                return Ok(vec![Chunk {
                    url,
                    keep_from: None,
                    keep_until: None,
                    keep_end_inclusive: true,
                }]);
            }
            Scope::Window { nodes, start, end } => (nodes, *start, *end),
        };
        if nodes.is_empty() {
            return Err(invalid(
                "no nodes given; name the nodes, or query a job with Query::job".into(),
            ));
        }
        if let Some(node) = nodes
            .iter()
            .find(|node| !is_name(node) || node.contains('.'))
        {
            return Err(invalid(format!(
                "`{node}` is not a short node name like `taurus-7`"
            )));
        }
        if start >= end {
            return Err(invalid(format!(
                "the window starts ({start}) at or after it ends ({end})"
            )));
        }
        let step = SignedDuration::try_from(self.config.time_chunk)
            .map_err(|_| invalid("time_chunk is too long".into()))?;

        let mut chunks = Vec::new();
        let mut chunk_start = start;
        while chunk_start < end {
            let chunk_end = chunk_start
                .checked_add(step)
                .map_or(end, |next| next.min(end));
            let last = chunk_end == end;
            for group in nodes.chunks(self.config.nodes_per_request) {
                // Whole seconds widen the window; the client trims what lies outside it.
                let url = with_params(&[
                    ("nodes", group.join(",")),
                    ("start_time", floor_second(chunk_start).to_string()),
                    ("end_time", ceil_second(chunk_end).to_string()),
                ]);
                chunks.push(Chunk {
                    url,
                    keep_from: Some(chunk_start),
                    keep_until: Some(chunk_end),
                    keep_end_inclusive: last,
                });
            }
            chunk_start = chunk_end;
        }
        Ok(chunks)
    }

    /// One request, retried on server and transport failures.
    async fn fetch(&self, url: &Url) -> Result<Vec<Point>, KwollectError> {
        let shown = without_userinfo(url);
        let mut delays = Backoff::new(
            self.config.max_attempts,
            self.config.backoff,
            2,
            MAX_BACKOFF,
        );
        let mut attempts = 0;
        loop {
            attempts += 1;
            tracing::debug!(url = %shown, attempt = attempts, "querying Kwollect");
            let failure = match self.attempt(url, &shown).await {
                Ok(body) => return decode(&shown, &body),
                Err(AttemptFailure::Fatal(error)) => return Err(error),
                Err(AttemptFailure::Transient(failure)) => failure,
            };
            let Some(delay) = delays.next() else {
                return Err(KwollectError::Unavailable {
                    url: shown,
                    attempts,
                    last_failure: failure,
                });
            };
            tracing::warn!(url = %shown, attempt = attempts, %failure, "Kwollect request failed; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, url: &Url, shown: &str) -> Result<Vec<u8>, AttemptFailure> {
        let mut request = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(credentials) = &self.config.credentials {
            request = request.basic_auth(credentials.username(), Some(credentials.password()));
        }
        let transport =
            |error: reqwest::Error| AttemptFailure::Transient(error_chain(&error.without_url()));
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        match status.as_u16() {
            200..=299 => Ok(body.to_vec()),
            401 | 403 => Err(AttemptFailure::Fatal(KwollectError::Unauthorized {
                url: shown.to_string(),
                status: status.as_u16(),
                credentials: self
                    .config
                    .credentials
                    .as_ref()
                    .map(|credentials| credentials.origin().clone()),
            })),
            429 | 500..=599 => Err(AttemptFailure::Transient(format!(
                "HTTP {status}: {}",
                excerpt(&body, BODY_EXCERPT_CHARS)
            ))),
            _ => Err(AttemptFailure::Fatal(KwollectError::Rejected {
                url: shown.to_string(),
                status: status.as_u16(),
                body: excerpt(&body, BODY_EXCERPT_CHARS),
            })),
        }
    }
}

fn decode(url: &str, body: &[u8]) -> Result<Vec<Point>, KwollectError> {
    match serde_json::from_slice::<Vec<WirePoint>>(body) {
        Ok(points) => Ok(points.into_iter().map(Point::from).collect()),
        Err(error) => Err(KwollectError::Decode {
            url: url.to_string(),
            reason: format!(
                "{error} (expected [{{\"timestamp\", \"device_id\", \"metric_id\", \"value\", \"labels\"}}, …]); \
                 the body starts with: {}",
                excerpt(body, BODY_EXCERPT_CHARS)
            ),
        }),
    }
}

fn floor_second(time: Timestamp) -> i64 {
    time.as_second() - i64::from(time.subsec_nanosecond() < 0)
}

fn ceil_second(time: Timestamp) -> i64 {
    time.as_second() + i64::from(time.subsec_nanosecond() > 0)
}

/// The URL as text without user or password.
fn without_userinfo(url: &Url) -> String {
    let mut shown = url.clone();
    // Both fail only for URLs that cannot have credentials anyway.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_outwards() {
        let exact: Timestamp = "2021-03-21T10:35:00Z".parse().expect("valid");
        let later: Timestamp = "2021-03-21T10:35:00.25Z".parse().expect("valid");
        assert_eq!(floor_second(exact), exact.as_second());
        assert_eq!(ceil_second(exact), exact.as_second());
        assert_eq!(floor_second(later), exact.as_second());
        assert_eq!(ceil_second(later), exact.as_second() + 1);
        let before_epoch: Timestamp = "1969-12-31T23:59:59.5Z".parse().expect("valid");
        assert_eq!(floor_second(before_epoch), -1);
        assert_eq!(ceil_second(before_epoch), 0);
    }

    #[test]
    fn setup_refuses_bad_configs() {
        let bad = [
            Config {
                max_attempts: 0,
                ..Config::default()
            },
            Config {
                nodes_per_request: 0,
                ..Config::default()
            },
            Config {
                time_chunk: Duration::ZERO,
                ..Config::default()
            },
            Config {
                base_url: "not a url".into(),
                ..Config::default()
            },
            Config {
                base_url: "https://alice:s3cr3t@api.grid5000.fr/stable".into(),
                ..Config::default()
            },
        ];
        for config in bad {
            let error = Client::new(config).expect_err("invalid config");
            assert!(matches!(error, KwollectError::Setup { .. }), "{error:?}");
            assert!(
                !format!("{error} {error:?}").contains("s3cr3t"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn config_debug_hides_url_credentials() {
        let config = Config {
            base_url: "https://alice:s3cr3t@api.grid5000.fr/stable".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("api.grid5000.fr"), "{shown}");
    }

    #[test]
    fn default_client_builds_with_rustls() {
        Client::new(Config::default()).expect("the default configuration is valid");
    }
}
