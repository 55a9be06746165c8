//! One HTTP/1.1 keep-alive connection and one request on it, with errors sorted into kinds.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{Error, ErrorKind};

/// Where requests go: `http://host[:port]/path?query`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Url(format!("{url}: {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// URLs are supported"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Self {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

/// An open connection, ready for its next request.
pub(crate) struct Connection(SendRequest<Empty<Bytes>>);

/// How one request ended.
pub(crate) struct Outcome {
    /// The status code, when a response came whole.
    pub status: Option<u16>,
    /// Why no whole response came.
    pub error: Option<ErrorKind>,
    /// Bytes of response body received.
    pub bytes: u64,
    /// The connection, when it can take another request.
    pub connection: Option<Connection>,
}

impl Outcome {
    fn failed(kind: ErrorKind, bytes: u64) -> Self {
        Self {
            status: None,
            error: Some(kind),
            bytes,
            connection: None,
        }
    }
}

/// Sends one GET on `connection` (or on a new one when it is `None` or closed), waits for the
/// whole body, all within `timeout`.
pub(crate) async fn request(
    target: &Target,
    connection: Option<Connection>,
    timeout: Duration,
) -> Outcome {
    let mut bytes = 0;
    let work = exchange(target, connection, &mut bytes);
    match tokio::time::timeout(timeout, work).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed(ErrorKind::Timeout, bytes),
    }
}

async fn exchange(target: &Target, connection: Option<Connection>, bytes: &mut u64) -> Outcome {
    let mut sender = match connection {
        Some(Connection(sender)) if !sender.is_closed() => sender,
        _ => match connect(target).await {
            Ok(sender) => sender,
            Err(kind) => return Outcome::failed(kind, 0),
        },
    };
    if let Err(e) = sender.ready().await {
        return Outcome::failed(kind_of_hyper(&e), 0);
    }
    let request = Request::get(target.path.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .body(Empty::new());
    let request = match request {
        Ok(request) => request,
        Err(_) => return Outcome::failed(ErrorKind::Other, 0),
    };
    let response = match sender.send_request(request).await {
        Ok(response) => response,
        Err(e) => return Outcome::failed(kind_of_hyper(&e), 0),
    };
    let status = response.status().as_u16();
    let keep = !response
        .headers()
        .get(hyper::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    *bytes += data.len() as u64;
                }
            }
            Err(e) => return Outcome::failed(kind_of_hyper(&e), *bytes),
        }
    }
    Outcome {
        status: Some(status),
        error: None,
        bytes: *bytes,
        connection: keep.then_some(Connection(sender)),
    }
}

async fn connect(target: &Target) -> Result<SendRequest<Empty<Bytes>>, ErrorKind> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| match kind_of_io(&e) {
            ErrorKind::Other => ErrorKind::Connect,
            kind => kind,
        })?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| kind_of_hyper(&e))?;
    tokio::spawn(connection);
    Ok(sender)
}

fn kind_of_io(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

fn kind_of_hyper(e: &hyper::Error) -> ErrorKind {
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return kind_of_io(io);
        }
        source = cause.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}
