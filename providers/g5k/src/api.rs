//! The HTTP client of Grid'5000's REST API: basic auth outside Grid'5000, retries of server and
//! transport failures with backoff, errors that say what to do, and the shapes of the answers
//! the provider reads.

use std::fmt;
use std::time::Duration;

use enos_http::{Backoff, BadCertificates, EMPTY_BODY, error_chain, excerpt};
use enos_kwollect::CredentialsOrigin;
use indexmap::IndexMap;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::credentials::G5kCredentials;

/// How much of an error body is shown.
const BODY_EXCERPT_CHARS: usize = 300;
/// The longest wait between two attempts of a request.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);
/// The OAR states of a job that is not over, as the API filters them.
pub(crate) const ACTIVE_STATES: &str = "waiting,launching,running";

/// What can go wrong talking to the API. URLs never carry credentials, and no variant holds a
/// password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The client could not be built.
    #[error("cannot set up the Grid'5000 API client: {0}")]
    Setup(String),
    /// 401 or 403.
    #[error("{method} {url}: Grid'5000 answered HTTP {status}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Unauthorized {
        /// The request's method.
        method: Method,
        /// The request, without credentials.
        url: String,
        /// 401 or 403.
        status: u16,
        /// What the API said, when it said something short.
        message: Option<String>,
        /// Where the refused credentials came from; `None` when none were sent.
        origin: Option<CredentialsOrigin>,
    },
    /// Another 4xx: the API refused the request and says why.
    #[error("{method} {url}: Grid'5000 refused the request with HTTP {status}: {message}")]
    Rejected {
        /// The request's method.
        method: Method,
        /// The request, without credentials.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body's `message` (or `error`), else the start of the body.
        message: String,
    },
    /// Server errors or transport failures on every attempt.
    #[error(
        "{method} {url}: the Grid'5000 API could not be reached after {attempts} attempt(s); last failure: {last_failure}"
    )]
    Unavailable {
        /// The request's method.
        method: Method,
        /// The request, without credentials.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        last_failure: String,
    },
    /// The answer was not what the API documents.
    #[error("{method} {url}: unexpected answer: {reason}")]
    Decode {
        /// The request's method.
        method: Method,
        /// The request, without credentials.
        url: String,
        /// What was wrong, with the start of the body.
        reason: String,
    },
}

impl ApiError {
    /// The HTTP status of a refusal.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { status, .. } | ApiError::Rejected { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// What the API said in a refusal.
    pub(crate) fn message(&self) -> &str {
        match self {
            ApiError::Rejected { message, .. } => message,
            ApiError::Unauthorized {
                message: Some(message),
                ..
            } => message,
            _ => "",
        }
    }

    /// What to do about it, when there is something to say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            ApiError::Unauthorized {
                origin: Some(origin),
                status,
                ..
            } => Some(format!(
                "check the Grid'5000 login and password in {origin}: they were {}",
                if *status == 401 {
                    "refused (HTTP 401)"
                } else {
                    "not allowed to do this (HTTP 403)"
                }
            )),
            ApiError::Unauthorized { origin: None, .. } => Some(format!(
                "no credentials were sent; outside Grid'5000 set {} and {} or write `username` \
                 and `password` in ~/{}",
                enos_kwollect::USERNAME_VAR,
                enos_kwollect::PASSWORD_VAR,
                enos_kwollect::PYTHON_GRID5000_FILE
            )),
            ApiError::Unavailable { .. } => Some(
                "Grid'5000's API may be down or in maintenance: see \
                 https://www.grid5000.fr/status/ and run the command again"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

impl From<ApiError> for enos_provider::ProviderError {
    fn from(e: ApiError) -> Self {
        let hint = e.hint();
        let error = enos_provider::ProviderError::new(e.to_string());
        match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }
}

/// How the client talks to the API.
#[derive(Clone)]
pub(crate) struct ApiSettings {
    /// The base URL, e.g. `https://api.grid5000.fr/stable`.
    pub base_url: String,
    /// Basic auth, outside Grid'5000.
    pub credentials: Option<G5kCredentials>,
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one.
    pub backoff: Duration,
    /// The time limit of one request.
    pub timeout: Duration,
    /// A PEM bundle of trust anchors added to the webpki roots (Grid'5000's own CA, inside).
    pub extra_ca_file: Option<std::path::PathBuf>,
}

/// A client of the API; cheap to clone.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: Url,
    credentials: Option<G5kCredentials>,
    attempts: u32,
    backoff: Duration,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Why one attempt failed.
enum Failure {
    /// Worth another attempt.
    Transient(String),
    /// Final.
    Fatal(ApiError),
}

impl Api {
    /// A client for `settings`, with TLS from rustls (ring) and the webpki roots.
    pub(crate) fn new(settings: ApiSettings) -> Result<Api, ApiError> {
        let base = Url::parse(settings.base_url.trim_end_matches('/'))
            .map_err(|e| ApiError::Setup(format!("the API URL is not a URL: {e}")))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ApiError::Setup(
                "the API URL holds credentials; give them apart".to_owned(),
            ));
        }
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ApiError::Setup(format!("{base} is not an http(s) URL")));
        }
        // The CA file may be a system bundle, with certificates webpki refuses: those are skipped.
        let tls = enos_http::tls_config(settings.extra_ca_file.as_deref(), BadCertificates::Skip)
            .map_err(|e| ApiError::Setup(e.describe("the CA file")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(settings.timeout)
            .user_agent(concat!("enos-provider-g5k/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ApiError::Setup(format!("cannot build the HTTP client: {}", error_chain(&e)))
            })?;
        Ok(Api {
            http,
            base,
            credentials: settings.credentials,
            attempts: settings.attempts.max(1),
            backoff: settings.backoff,
        })
    }

    /// The URL of `path` (`/sites/rennes/jobs`) with `query`.
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    /// `GET path?query`, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let url = self.url(path, query);
        let body = self.retried(Method::GET, &url, None).await?;
        decode(Method::GET, &url, &body)
    }

    /// `POST path` with the JSON `body`, retried on server and transport failures, decoded.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, ApiError> {
        let url = self.url(path, &[]);
        let answer = self.retried(Method::POST, &url, Some(body)).await?;
        decode(Method::POST, &url, &answer)
    }

    /// `POST path` with `body`, without decoding the answer (202 with any body).
    pub(crate) async fn post_accepted(&self, path: &str, body: &Value) -> Result<(), ApiError> {
        let url = self.url(path, &[]);
        self.retried(Method::POST, &url, Some(body)).await.map(drop)
    }

    /// `POST path` once; a server or transport failure is given back as `Ok(Err(failure))`
    /// for the caller to check what the failed attempt did before trying again.
    pub(crate) async fn post_once<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Result<T, String>, ApiError> {
        let url = self.url(path, &[]);
        match self.attempt(Method::POST, &url, Some(body)).await {
            Ok(answer) => decode(Method::POST, &url, &answer).map(Ok),
            Err(Failure::Fatal(e)) => Err(e),
            Err(Failure::Transient(failure)) => Ok(Err(failure)),
        }
    }

    /// `DELETE path`.
    pub(crate) async fn delete(&self, path: &str) -> Result<(), ApiError> {
        let url = self.url(path, &[]);
        self.retried(Method::DELETE, &url, None).await.map(drop)
    }

    /// The error of a request to `path` that failed `attempts` times, the last with `failure`.
    pub(crate) fn unavailable(
        &self,
        method: Method,
        path: &str,
        attempts: u32,
        failure: String,
    ) -> ApiError {
        ApiError::Unavailable {
            method,
            url: self.url(path, &[]).to_string(),
            attempts,
            last_failure: failure,
        }
    }

    /// The waits between the attempts of a request: one fewer than its attempts, the first
    /// [`ApiSettings::backoff`], doubled after each (up to a minute).
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.attempts, self.backoff, 2, MAX_RETRY_BACKOFF)
    }

    /// One request, retried on server and transport failures.
    async fn retried(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let mut delays = self.backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self.attempt(method.clone(), url, body).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(failure)) => failure,
            };
            let Some(delay) = delays.next() else {
                return Err(ApiError::Unavailable {
                    method,
                    url: url.to_string(),
                    attempts,
                    last_failure: failure,
                });
            };
            tracing::warn!(%method, %url, attempt = attempts, %failure, "Grid'5000 API request failed; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, Failure> {
        tracing::debug!(%method, %url, "Grid'5000 API request");
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(credentials) = &self.credentials {
            request = request.basic_auth(credentials.username(), Some(credentials.password()));
        }
        let transport = |e: reqwest::Error| Failure::Transient(error_chain(&e.without_url()));
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let answer = response.bytes().await.map_err(transport)?;
        match status {
            200..=299 => Ok(answer.to_vec()),
            401 | 403 => Err(Failure::Fatal(ApiError::Unauthorized {
                method,
                url: url.to_string(),
                status,
                message: short_message(&answer),
                origin: self.credentials.as_ref().map(|c| c.origin().clone()),
            })),
            429 | 500..=599 => Err(Failure::Transient(format!(
                "HTTP {status}: {}",
                message_of(&answer)
            ))),
            _ => Err(Failure::Fatal(ApiError::Rejected {
                method,
                url: url.to_string(),
                status,
                message: message_of(&answer),
            })),
        }
    }
}

fn decode<T: DeserializeOwned>(method: Method, url: &Url, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode {
        method,
        url: url.to_string(),
        reason: format!(
            "{e}; the body starts with: {}",
            excerpt(body, BODY_EXCERPT_CHARS)
        ),
    })
}

/// What an error body says: its JSON `message` or `error`, else its start as text.
fn message_of(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for key in ["message", "error", "title"] {
            if let Some(Value::String(text)) = map.get(key) {
                return excerpt(text.as_bytes(), BODY_EXCERPT_CHARS);
            }
        }
    }
    excerpt(body, BODY_EXCERPT_CHARS)
}

/// The message of a refusal, unless the body is empty or a web page.
fn short_message(body: &[u8]) -> Option<String> {
    let text = message_of(body);
    (text != EMPTY_BODY && !text.starts_with('<')).then_some(text)
}

/// A collection: `{"total", "offset", "items": [...], "links": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Collection<T> {
    /// The items.
    pub items: Vec<T>,
}

/// An item with a `uid` (a site, a cluster).
#[derive(Debug, Deserialize)]
pub(crate) struct Named {
    /// Its uid.
    pub uid: String,
}

/// An OAR job as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Job {
    /// The job's id.
    #[serde(deserialize_with = "number_or_text")]
    pub uid: u64,
    /// The lower-cased OAR state.
    #[serde(default)]
    pub state: String,
    /// Its nodes' FQDNs, once it runs.
    #[serde(default)]
    pub assigned_nodes: Vec<String>,
    /// Its resources by type (`vlans`, `subnets`, `cores`…).
    #[serde(default)]
    pub resources_by_type: ResourcesByType,
    /// OAR's predicted start (Unix seconds), 0 or absent when unknown.
    #[serde(default)]
    pub scheduled_at: Option<i64>,
    /// OAR's last word on the job.
    #[serde(default)]
    pub message: Option<String>,
}

/// A job's resources by type.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ResourcesByType {
    /// The VLAN ids (numbers in the schema, strings in the wild).
    #[serde(default)]
    pub vlans: Vec<Value>,
}

impl ResourcesByType {
    /// The first VLAN id, as text.
    pub(crate) fn vlan(&self) -> Option<String> {
        self.vlans.first().and_then(|v| match v {
            Value::String(text) => Some(text.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }
}

/// A kadeploy deployment as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Deployment {
    /// Its id (`D-…`).
    pub uid: String,
    /// `waiting`, `processing`, `terminated`, `error` or `canceled`.
    #[serde(default)]
    pub status: String,
    /// Per node, once terminated.
    #[serde(default)]
    pub result: Option<IndexMap<String, NodeResult>>,
}

/// How a node's deployment went.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NodeResult {
    /// `OK` or `KO`.
    #[serde(default)]
    pub state: String,
}

/// A node of the reference API.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Node {
    /// Its uid (`paravance-4`).
    pub uid: String,
    /// Its network adapters.
    #[serde(default)]
    pub network_adapters: Vec<Adapter>,
}

/// A network adapter of a node.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Adapter {
    /// Its IPv4 address on the production network.
    #[serde(default)]
    pub ip: Option<String>,
    /// Whether it is configured at boot (the node's main interface).
    #[serde(default)]
    pub mounted: Option<bool>,
    /// Whether it is a management interface (BMC).
    #[serde(default)]
    pub management: Option<bool>,
}

impl Node {
    /// The IPv4 address of its main interface: mounted, not for management.
    pub(crate) fn main_address(&self) -> Option<std::net::Ipv4Addr> {
        self.network_adapters
            .iter()
            .filter(|a| a.mounted == Some(true) && a.management != Some(true))
            .find_map(|a| a.ip.as_deref().and_then(|ip| ip.parse().ok()))
    }
}

fn number_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a job id"))),
        Value::String(text) => text
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a job id"))),
        other => Err(serde::de::Error::custom(format!("{other} is not a job id"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            message_of(br#"{"code": 400, "message": "Invalid walltime", "title": "Bad"}"#),
            "Invalid walltime"
        );
        assert_eq!(
            message_of(b"  This job was\n already killed "),
            "This job was already killed"
        );
        assert_eq!(message_of(b""), "(empty body)");
        assert_eq!(short_message(b"<html>401</html>"), None);
    }

    #[test]
    fn jobs_read_with_numbers_or_text() {
        let job: Job = serde_json::from_str(
            r#"{"uid": "42", "state": "running", "resources_by_type": {"vlans": [4]},
                "scheduled_at": null}"#,
        )
        .unwrap();
        assert_eq!(
            (job.uid, job.resources_by_type.vlan()),
            (42, Some("4".into()))
        );
        let node: Node = serde_json::from_str(
            r#"{"uid": "gros-1", "network_adapters": [
                {"ip": "172.17.66.1", "mounted": false, "management": true},
                {"ip": "172.16.66.129", "mounted": false, "management": false},
                {"ip": "172.16.66.1", "mounted": true, "management": false}]}"#,
        )
        .unwrap();
        assert_eq!(node.main_address(), Some("172.16.66.1".parse().unwrap()));
    }
}
