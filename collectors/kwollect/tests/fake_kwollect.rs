//! A fake Kwollect: hyper on 127.0.0.1:0 (plain or TLS), answering through a closure and
//! recording requests.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A request as the fake server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    /// Decoded query parameters.
    pub params: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// What the fake server answers.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

type Respond = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct FakeKwollect {
    addr: SocketAddr,
    scheme: &'static str,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl FakeKwollect {
    pub async fn start(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        Self::serve(respond, None).await
    }

    /// Serves HTTPS as `localhost`/127.0.0.1, with a certificate signed by [`test_ca_file`].
    pub async fn start_tls(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let tls = tls_dir();
        let certificates = CertificateDer::pem_file_iter(tls.join("localhost-cert.pem"))
            .expect("test certificate")
            .collect::<Result<Vec<_>, _>>()
            .expect("test certificate");
        let key = PrivateKeyDer::from_pem_file(tls.join("localhost-key.pem")).expect("test key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .expect("test certificate and key");
        Self::serve(respond, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn serve(
        respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        tls: Option<TlsAcceptor>,
    ) -> Self {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Respond> = Arc::new(respond);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let respond = respond.clone();
                let recorded = recorded.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    match tls {
                        None => serve_connection(stream, respond, recorded).await,
                        // A failed handshake is the client's business (it reports it).
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, respond, recorded).await;
                            }
                        }
                    }
                });
            }
        });
        Self {
            addr,
            scheme,
            requests,
            task,
        }
    }

    /// The base URL to give the client (the API root, like `https://api.grid5000.fr/stable`).
    pub fn base_url(&self) -> String {
        format!("{}://{}/stable", self.scheme, self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for FakeKwollect {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The directory of the test CA, and of the certificate and key it signed for `localhost`.
fn tls_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls")
}

/// The PEM file of the CA that signed [`FakeKwollect::start_tls`]'s certificate.
pub fn test_ca_file() -> std::path::PathBuf {
    tls_dir().join("test-ca.pem")
}

async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    respond: Arc<Respond>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let reply = answer(&request, &*respond, &recorded);
        async move { Ok::<_, Infallible>(reply) }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn answer(
    request: &Request<Incoming>,
    respond: &Respond,
    recorded: &Mutex<Vec<Recorded>>,
) -> Response<Full<Bytes>> {
    let url = reqwest::Url::parse(&format!("http://fake{}", request.uri())).expect("request URI");
    let seen = Recorded {
        path: url.path().to_string(),
        params: url
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect(),
        authorization: request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|value| value.to_str().expect("ASCII header").to_string()),
    };
    let reply = respond(&seen);
    recorded.lock().expect("requests lock").push(seen);
    Response::builder()
        .status(StatusCode::from_u16(reply.status).expect("valid status"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(reply.body)))
        .expect("valid response")
}

/// Answers like Kwollect over `points` (wire-format objects): those of the requested nodes and
/// metrics whose timestamp lies in [start_time, end_time] (Unix seconds, both included).
pub fn serve_dataset(points: Vec<Value>) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |request| {
        let list = |name: &str| {
            request
                .param(name)
                .map(|value| value.split(',').map(str::to_string).collect::<Vec<_>>())
        };
        let second = |name: &str| {
            let value = request
                .param(name)
                .expect("time parameter")
                .parse::<i64>()
                .expect("Unix seconds");
            Timestamp::from_second(value).expect("valid time")
        };
        let (nodes, metrics) = (list("nodes").expect("nodes parameter"), list("metrics"));
        let (start, end) = (second("start_time"), second("end_time"));
        let selected: Vec<&Value> = points
            .iter()
            .filter(|point| {
                let time: Timestamp = point["timestamp"]
                    .as_str()
                    .expect("timestamp")
                    .parse()
                    .expect("valid timestamp");
                let field = |name: &str| point[name].as_str().expect("string field").to_string();
                nodes.contains(&field("device_id"))
                    && metrics
                        .as_ref()
                        .is_none_or(|metrics| metrics.contains(&field("metric_id")))
                    && start <= time
                    && time <= end
            })
            .collect();
        Reply::new(200, serde_json::to_string(&selected).expect("serialisable"))
    }
}
