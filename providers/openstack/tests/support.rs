//! What the tests share: scenarios, an experiment in a temporary results root, the provider
//! configured against the fake cloud, a reporter and a log capture that keep what they saw,
//! and the check that no secret was written anywhere.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use enos_core::{Experiment, Reporter, TaskId};
use enos_provider_openstack::{OpenStackConfig, OpenStackKind, OpenStackProvider};
use enos_scenario::Scenario;

use crate::fake::{self, FakeCloud};

/// Two sites, three roles' worth of flavours, four hosts.
pub const SCENARIO: &str = "\
name: cloudy
provider:
  openstack:
    image: debian-12
    user: debian
    flavour: m1.small
    flavours: {control: m1.large}
sites:
  paris: {roles: {control: 1, compute: 2}}
  lyon: {roles: {compute: 1}}
";

pub fn scenario(text: &str) -> Scenario {
    enos_scenario::parse(text, "s.yaml", &[&OpenStackKind]).unwrap_or_else(|e| panic!("{e}"))
}

/// The provider against the fake, reading `env`, polling without waiting.
pub fn provider(env: BTreeMap<String, String>) -> OpenStackProvider {
    OpenStackProvider::new(OpenStackConfig {
        environment: Some(env),
        clouds_yaml_dirs: Vec::new(),
        poll_interval: Duration::from_millis(1),
        server_timeout: Duration::from_secs(20),
        lease_timeout: Duration::from_secs(20),
        delete_timeout: Duration::from_secs(20),
        max_attempts: 3,
        backoff: Duration::from_millis(1),
        request_timeout: Duration::from_secs(10),
    })
}

/// A new experiment of `text` under `root`.
pub fn experiment(root: &Path, text: &str) -> Experiment {
    let (experiment, _) =
        Experiment::open_for_deploy(root, &scenario(text), text, "openstack").unwrap();
    experiment
}

/// Keeps notes and tasks.
#[derive(Default)]
pub struct Recorder {
    pub notes: Mutex<Vec<String>>,
    pub items: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        let mut all = self.notes();
        all.extend(self.items.lock().unwrap().iter().cloned());
        all.join("\n")
    }
}

impl Reporter for Recorder {
    fn start(&self, title: &str, total: u64) -> TaskId {
        self.items
            .lock()
            .unwrap()
            .push(format!("start {title} {total}"));
        TaskId(1)
    }
    fn advance(&self, _task: TaskId, item: &str, ok: bool) {
        self.items.lock().unwrap().push(format!("{item} {ok}"));
    }
    fn finish(&self, _task: TaskId) {}
    fn note(&self, text: &str) {
        self.notes.lock().unwrap().push(text.to_owned());
    }
}

/// Everything logged (every level) while the guard lives, on this thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secrets of the fake: its password, its application credential's secret and every
/// token it gave.
pub fn secrets(cloud: &FakeCloud) -> Vec<String> {
    let mut secrets = vec![fake::PASSWORD.to_owned(), fake::APP_CRED_SECRET.to_owned()];
    let world = cloud.world();
    for request in &world.requests {
        if let Some(token) = &request.token
            && !secrets.contains(token)
        {
            secrets.push(token.clone());
        }
    }
    secrets
}

/// Fails when a secret is in a file under `dir`, in the logs or in `more` (notes, errors).
pub fn assert_no_secret(cloud: &FakeCloud, dir: &Path, logs: &Logs, more: &str) {
    let secrets = secrets(cloud);
    assert!(secrets.len() > 2, "the fake gave tokens");
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("state.json")), "{files:?}");
    let logged = logs.text();
    assert!(!logged.is_empty(), "something was logged");
    for secret in &secrets {
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(secret.as_str()),
                "a secret is in {}",
                file.display()
            );
        }
        assert!(!logged.contains(secret.as_str()), "a secret was logged");
        assert!(
            !more.contains(secret.as_str()),
            "a secret was shown: {more}"
        );
    }
}
