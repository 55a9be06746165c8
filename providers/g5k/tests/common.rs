//! What the provider's tests share: scenarios, a provider configured for the fake API, a
//! recording reporter, captured logs, and the check that no secret reached a file.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use enos_core::{Experiment, Reporter, TaskId};
use enos_provider_g5k::{G5kConfig, G5kCredentials, G5kKind, G5kProvider, PollBackoff};
use enos_scenario::{ProviderKind, Scenario};

use crate::fake_g5k::{FakeG5k, USER};

/// The password the tests give, looked for everywhere afterwards.
pub const SECRET: &str = "s3cr3t-Pa55-w0rd";

pub const KINDS: &[&dyn ProviderKind] = &[&G5kKind];

/// Two scenario sites: paris on rennes/paravance (1 server, 2 clients), lyon on nancy/gros (1
/// client), the site of gros from the built-in table.
pub const TWO_SITES: &str = "\
name: g5k-test
provider:
  g5k:
    walltime: \"01:00:00\"
    sites:
      paris: {site: rennes, cluster: paravance}
      lyon: {cluster: gros}
sites:
  paris: {roles: {server: 1, client: 2}}
  lyon: {roles: {client: 1}}
";

pub fn parse(text: &str) -> Scenario {
    enos_scenario::parse(text, "g5k.yaml", KINDS).unwrap_or_else(|e| panic!("{e}"))
}

/// The scenario `TWO_SITES` with `options` added under `provider.g5k`.
pub fn two_sites_with(options: &str) -> String {
    TWO_SITES.replace(
        "    walltime: \"01:00:00\"\n",
        &format!("    walltime: \"01:00:00\"\n{options}"),
    )
}

/// A configuration for `fake`: outside Grid'5000, the test credentials, fast polling.
pub fn config(fake: &FakeG5k) -> G5kConfig {
    G5kConfig {
        api_url: fake.base_url(),
        credentials: Some(G5kCredentials::new(USER, SECRET)),
        inside_grid5000: Some(false),
        poll: PollBackoff {
            first: Duration::from_millis(1),
            step: Duration::from_millis(1),
            max: Duration::from_millis(5),
        },
        request_attempts: 3,
        retry_backoff: Duration::from_millis(1),
        request_timeout: Duration::from_secs(10),
        extra_ca_file: None,
        access_identity: Some("/home/jdoe/.ssh/id_ed25519".into()),
        ..G5kConfig::default()
    }
}

pub fn provider(fake: &FakeG5k) -> G5kProvider {
    G5kProvider::new(config(fake))
}

/// A new experiment of `text` under `root`.
pub fn experiment(root: &Path, text: &str) -> Experiment {
    let scenario = parse(text);
    Experiment::open_for_deploy(root, &scenario, text, "g5k")
        .expect("an experiment")
        .0
}

/// A reporter that keeps what it is told.
#[derive(Default)]
pub struct Recorder {
    pub notes: Mutex<Vec<String>>,
    pub items: Mutex<Vec<(String, bool)>>,
}

impl Recorder {
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("notes").clone()
    }

    /// Every note, one a line.
    pub fn text(&self) -> String {
        self.notes().join("\n")
    }
}

impl Reporter for Recorder {
    fn start(&self, _title: &str, _total: u64) -> TaskId {
        TaskId(1)
    }
    fn advance(&self, _task: TaskId, item: &str, ok: bool) {
        self.items
            .lock()
            .expect("items")
            .push((item.to_owned(), ok));
    }
    fn finish(&self, _task: TaskId) {}
    fn note(&self, text: &str) {
        self.notes.lock().expect("notes").push(text.to_owned());
    }
}

/// What `tracing` wrote.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// The logs of every test of this binary, from the first call on: one subscriber for the
    /// whole process, at the TRACE level (reqwest's and hyper's events included).
    pub fn global() -> Logs {
        static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            logs
        })
        .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

/// The forms the secret could take: itself, and the basic auth header's value.
fn secret_forms() -> [String; 2] {
    [
        SECRET.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{SECRET}")),
    ]
}

/// Fails when `text` holds the secret.
pub fn assert_no_secret_in(what: &str, text: &str) {
    for form in secret_forms() {
        assert!(!text.contains(&form), "{what} holds the secret: {text}");
    }
}

/// Fails when any file under `dir` holds the secret.
pub fn assert_no_secret_under(dir: &Path) {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files += 1;
                let bytes = std::fs::read(&path).expect("readable file");
                assert_no_secret_in(
                    &path.display().to_string(),
                    &String::from_utf8_lossy(&bytes),
                );
            }
        }
    }
    assert!(files > 0, "no file under {}", dir.display());
}
