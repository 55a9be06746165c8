//! The daemon around the emulator: a unix control socket speaking line-delimited JSON.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::{Emulator, EmulatorConfig, EmulatorError, Endpoint, PairRule, Stats};

/// Longest request line the daemon reads: [`crate::MAX_RULES`] rules of about 100 bytes of
/// JSON each, and the endpoints.
const MAX_LINE: u64 = 128 * 1024 * 1024;
/// Longest answer line the client reads: the counters of a million pairs of endpoints.
const MAX_ANSWER: u64 = 512 * 1024 * 1024;
/// How long [`request`] waits for the daemon.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A request on the control socket, one JSON object per line.
///
/// On the wire: `{"set_rules":[...]}`, `{"reconfigure":{"endpoints":[...],"rules":[...]}}`,
/// `{"stats":null}`, `{"stop":null}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Replace every rule (see [`Emulator::set_rules`]); answered `{"ok":null}`.
    SetRules(Vec<PairRule>),
    /// Replace the endpoints and every rule at once, on the same devices (see
    /// [`Emulator::reconfigure`]); answered `{"ok":null}`. `rules` may be left out (none).
    Reconfigure {
        /// The new endpoints; rules refer to them by index.
        endpoints: Vec<Endpoint>,
        /// The new rules.
        #[serde(default)]
        rules: Vec<PairRule>,
    },
    /// Read the counters; answered `{"ok":{...}}` with [`Stats`].
    Stats,
    /// Stop the emulator, remove its devices and its socket; answered `{"ok":null}` once done.
    Stop,
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        #[derive(Serialize)]
        struct Reconfigure<'a> {
            endpoints: &'a [Endpoint],
            rules: &'a [PairRule],
        }
        match self {
            Request::SetRules(rules) => map.serialize_entry("set_rules", rules)?,
            Request::Reconfigure { endpoints, rules } => {
                map.serialize_entry("reconfigure", &Reconfigure { endpoints, rules })?;
            }
            Request::Stats => map.serialize_entry("stats", &())?,
            Request::Stop => map.serialize_entry("stop", &())?,
        }
        map.end()
    }
}

/// An answer on the control socket, one JSON object per line.
///
/// On the wire: `{"ok":null}`, `{"ok":{...stats...}}` or `{"error":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The request was carried out; counters for a stats request.
    Ok(Option<Stats>),
    /// The request was refused, and why.
    Error(String),
}

type Slot = Arc<Mutex<Option<Emulator>>>;

fn socket_error(path: &Path) -> impl Fn(io::Error) -> EmulatorError + '_ {
    move |source| EmulatorError::Socket {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs the emulator as a daemon until a stop request, SIGTERM or SIGINT.
///
/// Starts the emulator, binds the unix socket `socket` (mode 0600; a stale socket file left
/// by a dead daemon is replaced, a live one is an error), calls `ready`, then answers
/// line-delimited JSON [`Request`]s with [`Response`]s, each connection on its own thread.
/// On return, the emulator is stopped (its devices are gone) and the socket file removed.
///
/// SIGTERM and SIGINT are caught while it runs; after it returns they are ignored by the
/// process, which is expected to exit.
pub fn serve(
    config: EmulatorConfig,
    socket: &Path,
    ready: impl FnOnce(),
) -> Result<(), EmulatorError> {
    let emulator = Emulator::start(config)?;
    let listener = bind(socket)?;
    let slot: Slot = Arc::new(Mutex::new(Some(emulator)));
    let result = run_daemon(&slot, &listener, socket, ready);
    if let Some(emulator) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
        emulator.stop();
    }
    remove_socket(socket);
    result
}

fn run_daemon(
    slot: &Slot,
    listener: &UnixListener,
    socket: &Path,
    ready: impl FnOnce(),
) -> Result<(), EmulatorError> {
    let thread_error = |errno: rustix::io::Errno| EmulatorError::Thread(errno.into());
    let stop_event: Arc<OwnedFd> =
        Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map_err(thread_error)?);
    let signals = SignalPipe::new()?;
    ready();
    tracing::info!(socket = %socket.display(), "WAN emulator serving");
    loop {
        let mut fds = [
            PollFd::new(listener, PollFlags::IN),
            PollFd::new(&signals.read, PollFlags::IN),
            PollFd::new(&*stop_event, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => return Err(thread_error(errno)),
        }
        if !fds[1].revents().is_empty() {
            tracing::info!("signal received, stopping");
            return Ok(());
        }
        if !fds[2].revents().is_empty() {
            return Ok(());
        }
        if !fds[0].revents().is_empty() {
            accept_all(listener, slot, socket, &stop_event);
        }
    }
}

fn accept_all(listener: &UnixListener, slot: &Slot, socket: &Path, stop_event: &Arc<OwnedFd>) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let slot = Arc::clone(slot);
                let stop_event = Arc::clone(stop_event);
                let socket = socket.to_path_buf();
                let spawned = std::thread::Builder::new()
                    .name("enos-emu-ctl".into())
                    .spawn(move || serve_client(stream, &slot, &socket, &stop_event));
                if let Err(error) = spawned {
                    tracing::warn!(%error, "cannot serve a control connection");
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(%error, "cannot accept a control connection");
                return;
            }
        }
    }
}

/// Binds the control socket, replacing a stale one, with mode 0600.
fn bind(socket: &Path) -> Result<UnixListener, EmulatorError> {
    let error = socket_error(socket);
    match std::fs::symlink_metadata(socket) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if UnixStream::connect(socket).is_ok() {
                return Err(error(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another emulator is serving this socket",
                )));
            }
            std::fs::remove_file(socket).map_err(&error)?;
        }
        Ok(_) => {
            return Err(error(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            )));
        }
        Err(not_found) if not_found.kind() == io::ErrorKind::NotFound => {}
        Err(other) => return Err(error(other)),
    }
    let listener = UnixListener::bind(socket).map_err(&error)?;
    let restrict = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| listener.set_nonblocking(true));
    if let Err(source) = restrict {
        remove_socket(socket);
        return Err(error(source));
    }
    Ok(listener)
}

fn remove_socket(socket: &Path) {
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            tracing::warn!(socket = %socket.display(), %error, "cannot remove the control socket")
        }
    }
}

/// Answers the requests of one connection until it closes or asks to stop.
fn serve_client(stream: UnixStream, slot: &Slot, socket: &Path, stop_event: &OwnedFd) {
    if let Err(error) = stream.set_nonblocking(false) {
        tracing::warn!(%error, "cannot serve a control connection");
        return;
    }
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(error) => {
            tracing::warn!(%error, "cannot serve a control connection");
            return;
        }
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE).read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "control connection failed");
                return;
            }
        }
        if !line.ends_with('\n') && line.len() as u64 >= MAX_LINE {
            let _ = reply(
                &mut writer,
                &Response::Error("request line too long".into()),
            );
            return;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (response, stopped) = match serde_json::from_str::<Request>(&line) {
            Ok(request) => handle(request, slot, socket),
            Err(error) => (
                Response::Error(format!("malformed request: {error}")),
                false,
            ),
        };
        let answered = reply(&mut writer, &response);
        if stopped {
            if let Err(errno) = rustix::io::write(stop_event, &1u64.to_ne_bytes()) {
                tracing::error!(%errno, "cannot tell the daemon to stop");
            }
            return;
        }
        if let Err(error) = answered {
            tracing::debug!(%error, "cannot answer on the control connection");
            return;
        }
    }
}

fn reply(writer: &mut UnixStream, response: &Response) -> io::Result<()> {
    let mut text = serde_json::to_string(response).map_err(io::Error::other)?;
    text.push('\n');
    writer.write_all(text.as_bytes())
}

/// Carries out one request; the flag tells whether the daemon must stop.
fn handle(request: Request, slot: &Slot, socket: &Path) -> (Response, bool) {
    let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
    match request {
        Request::Stop => {
            if let Some(emulator) = guard.take() {
                drop(guard);
                emulator.stop();
                remove_socket(socket);
            }
            (Response::Ok(None), true)
        }
        Request::SetRules(rules) => match guard.as_ref() {
            None => (Response::Error("the emulator is stopping".into()), false),
            Some(emulator) => match emulator.set_rules(&rules) {
                Ok(()) => (Response::Ok(None), false),
                Err(error) => (Response::Error(error.to_string()), false),
            },
        },
        Request::Reconfigure { endpoints, rules } => match guard.as_ref() {
            None => (Response::Error("the emulator is stopping".into()), false),
            Some(emulator) => match emulator.reconfigure(&endpoints, &rules) {
                Ok(()) => (Response::Ok(None), false),
                Err(error) => (Response::Error(error.to_string()), false),
            },
        },
        Request::Stats => match guard.as_ref() {
            None => (Response::Error("the emulator is stopping".into()), false),
            Some(emulator) => (Response::Ok(Some(emulator.stats())), false),
        },
    }
}

/// SIGTERM and SIGINT write to a socket pair while it lives.
struct SignalPipe {
    read: UnixStream,
    ids: Vec<signal_hook::SigId>,
}

impl SignalPipe {
    fn new() -> Result<Self, EmulatorError> {
        let (read, write) = UnixStream::pair().map_err(EmulatorError::Thread)?;
        read.set_nonblocking(true).map_err(EmulatorError::Thread)?;
        let mut pipe = Self {
            read,
            ids: Vec::new(),
        };
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            let write = write.try_clone().map_err(EmulatorError::Thread)?;
            let id = signal_hook::low_level::pipe::register(signal, write)
                .map_err(EmulatorError::Thread)?;
            pipe.ids.push(id);
        }
        Ok(pipe)
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Sends one request to the daemon listening on `socket` and returns its answer.
///
/// An `{"error":...}` answer becomes [`EmulatorError::Refused`]; a successful answer is
/// `Response::Ok`, with the counters for [`Request::Stats`].
pub fn request(socket: &Path, req: &Request) -> Result<Response, EmulatorError> {
    let error = socket_error(socket);
    let stream = UnixStream::connect(socket).map_err(&error)?;
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(&error)?;
    let mut text =
        serde_json::to_string(req).map_err(|e| EmulatorError::Protocol(e.to_string()))?;
    text.push('\n');
    (&stream).write_all(text.as_bytes()).map_err(&error)?;
    let mut line = String::new();
    BufReader::new(&stream)
        .take(MAX_ANSWER)
        .read_line(&mut line)
        .map_err(&error)?;
    if line.is_empty() {
        return Err(error(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the emulator closed the connection without answering",
        )));
    }
    match serde_json::from_str::<Response>(&line) {
        Ok(Response::Error(message)) => Err(EmulatorError::Refused(message)),
        Ok(response) => Ok(response),
        Err(e) => Err(EmulatorError::Protocol(format!("bad answer: {e}"))),
    }
}

/// Asks the daemon listening on `socket` to replace its endpoints and rules at once (see
/// [`Request::Reconfigure`]); an error when it refuses, having changed nothing.
pub fn reconfigure(
    socket: &Path,
    endpoints: Vec<Endpoint>,
    rules: Vec<PairRule>,
) -> Result<(), EmulatorError> {
    match request(socket, &Request::Reconfigure { endpoints, rules })? {
        Response::Ok(None) => Ok(()),
        other => Err(EmulatorError::Protocol(format!(
            "unexpected answer to a reconfiguration: {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_format() {
        let rule = PairRule {
            src: 0,
            dst: 1,
            delay: Duration::from_millis(1),
            ..PairRule::default()
        };
        let cases = [
            (
                Request::SetRules(vec![rule]),
                r#"{"set_rules":[{"src":0,"dst":1,"delay_ns":1000000,"jitter_ns":0,"rate_bps":0,"loss":0.0}]}"#,
            ),
            (Request::Stats, r#"{"stats":null}"#),
            (Request::Stop, r#"{"stop":null}"#),
            (
                Request::Reconfigure {
                    endpoints: vec![Endpoint {
                        netns: "/run/netns/fabric".into(),
                        device: "wan0".into(),
                        addresses: vec![std::net::Ipv4Addr::new(10, 0, 0, 1)],
                    }],
                    rules: vec![rule],
                },
                r#"{"reconfigure":{"endpoints":[{"netns":"/run/netns/fabric","device":"wan0","addresses":["10.0.0.1"]}],"rules":[{"src":0,"dst":1,"delay_ns":1000000,"jitter_ns":0,"rate_bps":0,"loss":0.0}]}}"#,
            ),
        ];
        for (request, text) in cases {
            assert_eq!(serde_json::to_string(&request).expect("serializes"), text);
            assert_eq!(
                serde_json::from_str::<Request>(text).expect("parses"),
                request
            );
        }
        assert_eq!(
            serde_json::from_str::<Request>(r#""stats""#).expect("bare name"),
            Request::Stats
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"reconfigure":{"endpoints":[]}}"#)
                .expect("rules left out"),
            Request::Reconfigure {
                endpoints: Vec::new(),
                rules: Vec::new()
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"reboot":null}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"set_rules":3}"#).is_err());
    }

    #[test]
    fn response_wire_format() {
        assert_eq!(
            serde_json::to_string(&Response::Ok(None)).expect("serializes"),
            r#"{"ok":null}"#
        );
        assert_eq!(
            serde_json::to_string(&Response::Error("no".into())).expect("serializes"),
            r#"{"error":"no"}"#
        );
        let stats = Response::Ok(Some(Stats::default()));
        let text = serde_json::to_string(&stats).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Response>(&text).expect("parses"),
            stats
        );
    }

    #[test]
    fn bind_refuses_a_file_in_the_way_and_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctl.sock");
        std::fs::write(&path, "not a socket").expect("write");
        assert!(bind(&path).is_err());
        std::fs::remove_file(&path).expect("remove");

        let first = bind(&path).expect("binds");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(bind(&path).is_err(), "a live socket is kept");
        drop(first);
        let second = bind(&path).expect("a stale socket is replaced");
        drop(second);
        remove_socket(&path);
        assert!(!path.exists());
    }

    #[test]
    fn request_without_daemon_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error =
            request(&dir.path().join("none.sock"), &Request::Stats).expect_err("nobody listens");
        assert!(matches!(error, EmulatorError::Socket { .. }), "{error}");
    }
}
