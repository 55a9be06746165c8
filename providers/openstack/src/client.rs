//! The HTTP side: a Keystone v3 token (from the `X-Subject-Token` header) and the endpoints of
//! its catalogue, requests with that token, retries of server errors and transport failures
//! with a growing wait, one new token on a 401 (an expired token), and errors that show what
//! the API said (Nova's `{"badRequest": {"message": …}}`, Neutron's `{"NeutronError":
//! {"message": …}}`, Keystone's `{"error": {"message": …}}`, Blazar's `{"error_message": …}`).
//!
//! Nothing secret is logged or put in an error: the password and the token travel in the
//! request only.

use std::fmt;
use std::time::Duration;

use enos_http::{Backoff, BadCertificates, error_chain, excerpt, status_text};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::credentials::{Credentials, Domain, Method as AuthMethod, Named, Secret};

/// How much of a body that is not JSON an error shows.
const BODY_EXCERPT_CHARS: usize = 300;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How requests are made and retried.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Attempts per request (the first included) before a server error or a transport
    /// failure is reported.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one.
    pub backoff: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
}

/// An OpenStack service, found in the catalogue by its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Nova.
    Compute,
    /// Neutron.
    Network,
    /// Glance.
    Image,
    /// Blazar.
    Reservation,
}

impl Service {
    fn catalog_type(self) -> &'static str {
        match self {
            Service::Compute => "compute",
            Service::Network => "network",
            Service::Image => "image",
            Service::Reservation => "reservation",
        }
    }

    /// The API version the paths are relative to, added to an endpoint that lacks it.
    fn version(self) -> Option<&'static str> {
        match self {
            Service::Compute => None,
            Service::Network => Some("/v2.0"),
            Service::Image => Some("/v2"),
            Service::Reservation => Some("/v1"),
        }
    }
}

/// A failed request.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// The status the API answered with, when it answered with a client error.
    pub status: Option<u16>,
    /// What failed, with what the API said.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl ApiError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            status: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Whether the API answered 404.
    pub fn not_found(&self) -> bool {
        self.status == Some(404)
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error with `context` before its message (`creating server paris-a-1: …`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ApiError> for enos_provider::ProviderError {
    fn from(e: ApiError) -> Self {
        let error = enos_provider::ProviderError::new(e.message);
        match e.hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }
}

/// A token and the catalogue it came with.
struct Session {
    token: Secret,
    project_id: Option<String>,
    catalog: Vec<Value>,
}

/// A client of one cloud, authenticated on first use.
pub(crate) struct Cloud {
    http: reqwest::Client,
    credentials: Credentials,
    settings: Settings,
    session: Option<Session>,
}

impl fmt::Debug for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cloud")
            .field("auth_url", &self.credentials.auth_url)
            .field("source", &self.credentials.source)
            .finish_non_exhaustive()
    }
}

/// What an answer holds.
struct Answer {
    status: StatusCode,
    token: Option<String>,
    body: Vec<u8>,
}

impl Cloud {
    /// A client for `credentials`; nothing is asked of the cloud yet.
    pub fn new(credentials: Credentials, settings: Settings) -> Result<Self, ApiError> {
        // The cloud's CA bundle is the user's: a certificate it cannot use is an error.
        let tls = enos_http::tls_config(credentials.ca_file.as_deref(), BadCertificates::Refuse)
            .map_err(|e| ApiError::new(e.describe("the CA bundle")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(settings.request_timeout)
            .user_agent(concat!(
                "enos-provider-openstack/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| {
                ApiError::new(format!("cannot build the HTTP client: {}", error_chain(&e)))
            })?;
        Ok(Self {
            http,
            credentials,
            settings: Settings {
                max_attempts: settings.max_attempts.max(1),
                ..settings
            },
            session: None,
        })
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The project the token is scoped to, once authenticated.
    pub fn project_id(&self) -> Option<&str> {
        self.session.as_ref().and_then(|s| s.project_id.as_deref())
    }

    /// Authenticates now (rather than at the first request).
    pub async fn authenticate(&mut self) -> Result<(), ApiError> {
        if self.session.is_none() {
            self.session = Some(self.new_session().await?);
        }
        Ok(())
    }

    /// Whether the catalogue has `service`.
    pub async fn has(&mut self, service: Service) -> Result<bool, ApiError> {
        self.authenticate().await?;
        Ok(self.endpoint(service).is_ok())
    }

    /// `method` on `path` of `service` (with `query` and a JSON `body`), retried on server
    /// errors and transport failures, with a new token after a 401. The answer's JSON, `null`
    /// when it has no body.
    pub async fn call(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut renewed = false;
        let mut delays = self.delays();
        let mut attempt: u32 = 1;
        loop {
            self.authenticate().await?;
            let base = self.endpoint(service)?;
            let token = match &self.session {
                Some(session) => session.token.clone(),
                None => return Err(ApiError::new("no token")),
            };
            let url = format!("{base}{path}");
            let shown = format!("{method} {url}");
            let retry = match self
                .send(method.clone(), &url, Some(&token), query, body)
                .await
            {
                Err(transport) => transport,
                Ok(answer) if answer.status.is_success() => {
                    tracing::debug!(request = %shown, status = answer.status.as_u16(), "openstack");
                    return parse_body(&answer.body)
                        .map_err(|e| ApiError::new(format!("{shown}: {e}")));
                }
                Ok(answer) => {
                    let status = answer.status;
                    tracing::debug!(request = %shown, status = status.as_u16(), "openstack");
                    let said = api_message(&answer.body);
                    if status == StatusCode::UNAUTHORIZED {
                        if !renewed {
                            // An expired or revoked token: one new token, then the same request.
                            renewed = true;
                            self.session = None;
                            continue;
                        }
                        return Err(ApiError::new(format!(
                            "{shown}: {}: {said} (even with a new token of {} from {})",
                            status_text(status),
                            self.credentials.who(),
                            self.credentials.source
                        ))
                        .with_hint(
                            "check that the credentials still hold and give a role in the \
                             project",
                        ));
                    }
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        format!("{}: {said}", status_text(status))
                    } else {
                        return Err(ApiError {
                            status: Some(status.as_u16()),
                            message: format!("{shown}: {}: {said}", status_text(status)),
                            hint: None,
                        });
                    }
                }
            };
            let Some(delay) = delays.next() else {
                return Err(ApiError::new(format!(
                    "{shown}: {retry} (after {attempt} attempt{})",
                    if attempt == 1 { "" } else { "s" }
                )));
            };
            tracing::debug!(request = %shown, attempt, error = %retry, "openstack: retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// The waits between the attempts of a request: [`Settings::backoff`], doubled after each,
    /// every one at most [`MAX_BACKOFF`].
    fn delays(&self) -> Backoff {
        Backoff::new(
            self.settings.max_attempts,
            self.settings.backoff.min(MAX_BACKOFF),
            2,
            MAX_BACKOFF,
        )
    }

    /// One request; a transport failure is its text.
    async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&Secret>,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut request = self
            .http
            .request(method, url)
            .header("Accept", "application/json");
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token.expose());
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status();
        let token = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| error_chain(&e))?
            .to_vec();
        Ok(Answer {
            status,
            token,
            body,
        })
    }

    /// A new token from Keystone, retried like any request.
    async fn new_session(&self) -> Result<Session, ApiError> {
        let url = tokens_url(&self.credentials.auth_url)?;
        let shown = format!("POST {url}");
        let body = auth_body(&self.credentials);
        let mut delays = self.delays();
        let mut attempt: u32 = 1;
        loop {
            let retry = match self.send(Method::POST, &url, None, &[], Some(&body)).await {
                Err(transport) => transport,
                Ok(answer) if answer.status.is_success() => {
                    tracing::debug!(request = %shown, status = answer.status.as_u16(), "openstack: authenticated");
                    let token = answer.token.ok_or_else(|| {
                        ApiError::new(format!(
                            "{shown}: Keystone gave no X-Subject-Token header (is {} Keystone v3?)",
                            self.credentials.auth_url
                        ))
                    })?;
                    let reply = parse_body(&answer.body)
                        .map_err(|e| ApiError::new(format!("{shown}: {e}")))?;
                    let catalog = reply["token"]["catalog"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    return Ok(Session {
                        token: Secret::new(token),
                        project_id: reply["token"]["project"]["id"].as_str().map(str::to_owned),
                        catalog,
                    });
                }
                Ok(answer) => {
                    let status = answer.status;
                    tracing::debug!(request = %shown, status = status.as_u16(), "openstack: authentication");
                    let said = api_message(&answer.body);
                    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                        return Err(ApiError::new(format!(
                            "Keystone ({}) refused {} from {}: {}: {said}",
                            self.credentials.auth_url,
                            self.credentials.who(),
                            self.credentials.source,
                            status_text(status),
                        ))
                        .with_hint(format!(
                            "check the {} in {} (and that it is not expired)",
                            match self.credentials.method {
                                AuthMethod::Password { .. } => "user, password and project",
                                AuthMethod::ApplicationCredential { .. } =>
                                    "application credential's id and secret",
                            },
                            self.credentials.source
                        )));
                    }
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        format!("{}: {said}", status_text(status))
                    } else {
                        return Err(ApiError::new(format!(
                            "{shown}: {}: {said}",
                            status_text(status)
                        )));
                    }
                }
            };
            let Some(delay) = delays.next() else {
                return Err(ApiError::new(format!(
                    "cannot authenticate with Keystone: {shown}: {retry} (after {attempt} attempt{})",
                    if attempt == 1 { "" } else { "s" }
                )));
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// The base URL of `service`: from the catalogue, by type, interface and region, with the
    /// API version its paths are relative to.
    fn endpoint(&self, service: Service) -> Result<String, ApiError> {
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| ApiError::new("not authenticated"))?;
        let kind = service.catalog_type();
        let interface = self.credentials.interface.as_str();
        let region = self.credentials.region.as_deref();
        let mut regions_seen: Vec<String> = Vec::new();
        for entry in &session.catalog {
            if entry["type"].as_str() != Some(kind) {
                continue;
            }
            for endpoint in entry["endpoints"].as_array().into_iter().flatten() {
                if endpoint["interface"].as_str() != Some(interface) {
                    continue;
                }
                let endpoint_region = endpoint["region_id"]
                    .as_str()
                    .or_else(|| endpoint["region"].as_str());
                if let Some(wanted) = region
                    && endpoint_region != Some(wanted)
                {
                    if let Some(r) = endpoint_region {
                        regions_seen.push(r.to_owned());
                    }
                    continue;
                }
                if let Some(url) = endpoint["url"].as_str() {
                    let mut url = url.trim_end_matches('/').to_owned();
                    if let Some(version) = service.version()
                        && !url.ends_with(version)
                    {
                        url.push_str(version);
                    }
                    return Ok(url);
                }
            }
        }
        let mut message = format!(
            "the cloud's catalogue has no {interface} `{kind}` endpoint{}",
            region.map_or(String::new(), |r| format!(" in region {r}"))
        );
        if !regions_seen.is_empty() {
            regions_seen.dedup();
            message.push_str(&format!(" (it has one in {})", regions_seen.join(", ")));
        }
        let error = ApiError::new(message);
        Err(match service {
            Service::Reservation => error.with_hint(
                "`lease` needs Blazar (the `reservation` service), which Chameleon's bare-metal \
                 sites have",
            ),
            _ => error.with_hint("check the region (OS_REGION_NAME, `region`) and the interface"),
        })
    }
}

/// Keystone's token URL for `auth_url` (`…/v3` or the bare Keystone URL).
fn tokens_url(auth_url: &str) -> Result<String, ApiError> {
    let base = auth_url.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ApiError::new(format!(
            "the auth URL {auth_url} is not an http(s) URL"
        )));
    }
    if base.ends_with("/v2.0") {
        return Err(ApiError::new(format!(
            "the auth URL {auth_url} is Keystone v2.0: only v3 is supported"
        ))
        .with_hint("replace /v2.0 with /v3"));
    }
    Ok(if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    })
}

/// The body of `POST /v3/auth/tokens`.
fn auth_body(credentials: &Credentials) -> Value {
    let domain = |d: &Domain| match d {
        Domain::Name(name) => json!({"name": name}),
        Domain::Id(id) => json!({"id": id}),
    };
    let named = |n: &Named| match n {
        Named::Id(id) => json!({"id": id}),
        Named::Name { name, domain: d } => json!({"name": name, "domain": domain(d)}),
    };
    match &credentials.method {
        AuthMethod::Password {
            user,
            password,
            project,
        } => {
            let mut user = named(user);
            user["password"] = json!(password.expose());
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": named(project)},
            }})
        }
        AuthMethod::ApplicationCredential { id, secret } => json!({"auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret.expose()},
            },
        }}),
    }
}

/// A body as JSON; `null` when empty.
fn parse_body(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "the answer is not JSON ({e}); it starts with: {}",
            excerpt(body, BODY_EXCERPT_CHARS)
        )
    })
}

/// What an error body says: the `message` of OpenStack's error shapes, else an excerpt.
pub(crate) fn api_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return if String::from_utf8_lossy(body).trim().is_empty() {
            "(no message)".to_owned()
        } else {
            excerpt(body, BODY_EXCERPT_CHARS)
        };
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(m) = text(&value["error_message"])
        .or_else(|| text(&value["message"]))
        .or_else(|| text(&value["faultstring"]))
    {
        return m;
    }
    if let Value::Object(map) = &value {
        // `{"badRequest": {"message": …}}`, `{"NeutronError": {"message": …}}`,
        // `{"error": {"message": …}}`.
        for inner in map.values() {
            if let Some(m) = text(&inner["message"]) {
                return m;
            }
        }
        if let Some(m) = text(&value["title"]) {
            return m;
        }
    }
    excerpt(body, BODY_EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_say_their_message() {
        for (body, said) in [
            (
                r#"{"badRequest": {"message": "Invalid flavorRef provided.", "code": 400}}"#,
                "Invalid flavorRef provided.",
            ),
            (
                r#"{"NeutronError": {"type": "X", "message": "Quota exceeded", "detail": ""}}"#,
                "Quota exceeded",
            ),
            (
                r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#,
                "The request you have made requires authentication.",
            ),
            (
                r#"{"error_code": 400, "error_message": "Not enough hosts available", "error_name": "NotEnoughHostsAvailable"}"#,
                "Not enough hosts available",
            ),
            (
                "<html>\n<body>Bad   Gateway</body></html>",
                "<html> <body>Bad Gateway</body></html>",
            ),
            ("", "(no message)"),
        ] {
            assert_eq!(api_message(body.as_bytes()), said);
        }
    }

    #[test]
    fn token_urls_are_keystone_v3() {
        assert_eq!(
            tokens_url("https://k.example.org:5000/v3/").ok(),
            Some("https://k.example.org:5000/v3/auth/tokens".to_owned())
        );
        assert_eq!(
            tokens_url("https://k.example.org/identity").ok(),
            Some("https://k.example.org/identity/v3/auth/tokens".to_owned())
        );
        assert!(tokens_url("https://k.example.org:5000/v2.0").is_err());
        assert!(tokens_url("k.example.org").is_err());
    }
}
