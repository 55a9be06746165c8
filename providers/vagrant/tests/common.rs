//! What the tests share: scenarios read with the vagrant provider's kind, a recording reporter,
//! and a stand-in `vagrant` that records its calls and answers from files beside it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use enos_core::{Reporter, TaskId};
use enos_provider_vagrant::VagrantKind;
use enos_scenario::{ProviderKind, Scenario, ScenarioError, UncheckedKind};

pub const KINDS: &[&dyn ProviderKind] = &[&UncheckedKind("local"), &VagrantKind];

pub fn load(path: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::load(Path::new(path), KINDS)
}

pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::parse(text, "s.yaml", KINDS)
}

/// Each diagnostic as `file:line:column: path: message`.
pub fn located(error: &ScenarioError) -> Vec<String> {
    error
        .diagnostics()
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}: {}: {}",
                d.file, d.line, d.column, d.path, d.message
            )
        })
        .collect()
}

/// A reporter that keeps what it is told.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl Reporter for Recorder {
    fn start(&self, title: &str, total: u64) -> TaskId {
        self.events
            .lock()
            .unwrap()
            .push(format!("start {title} ({total})"));
        TaskId(1)
    }
    fn advance(&self, _: TaskId, item: &str, ok: bool) {
        self.events
            .lock()
            .unwrap()
            .push(format!("advance {item} {ok}"));
    }
    fn finish(&self, _: TaskId) {
        self.events.lock().unwrap().push("finish".to_owned());
    }
    fn note(&self, text: &str) {
        self.events.lock().unwrap().push(format!("note {text}"));
    }
}

/// The stand-in `vagrant`: it appends `<args>\t<VAGRANT_CWD>\t<working directory>` to
/// `calls`, its environment to `env`, and answers each command from the files beside it
/// (`plugins`, `status`, `ssh-config`; `up.fail` or `destroy.fail` make that command print the
/// file on standard error and fail; `up.hang` makes `up` wait). `up` prints Vagrant's line for
/// each machine in `machines` and makes its machine directory, as Vagrant does.
const FAKE: &str = r#"#!/bin/sh
here=$(dirname "$0")
printf '%s\t%s\t%s\n' "$*" "${VAGRANT_CWD-}" "$(pwd)" >> "$here/calls"
env >> "$here/env"
case "$1" in
  --version) echo "Vagrant 2.3.4" ;;
  plugin) cat "$here/plugins" ;;
  up)
    echo "Bringing machines up with '${2#--provider=}' provider..."
    if [ -f "$here/up.hang" ]; then sleep 30; fi
    for m in $(cat "$here/machines" 2>/dev/null); do
      mkdir -p "$VAGRANT_CWD/.vagrant/machines/$m"
      echo "==> $m: Machine booted and ready!"
    done
    if [ -f "$here/up.fail" ]; then cat "$here/up.fail" >&2; exit 1; fi ;;
  status) cat "$here/status" ;;
  ssh-config) cat "$here/ssh-config" ;;
  destroy)
    if [ -f "$here/destroy.fail" ]; then cat "$here/destroy.fail" >&2; exit 1; fi
    echo "==> all: Removing domain..." ;;
  *) echo "the fake vagrant does not know: $*" >&2; exit 3 ;;
esac
"#;

/// A stand-in `vagrant` in its own directory.
pub struct FakeVagrant {
    pub dir: tempfile::TempDir,
}

/// Installs `text` as the executable `path` through another process (`install`), so that no
/// thread of this test process holds it open for writing while another starts a program: a
/// file open for writing cannot be run (ETXTBSY).
pub fn install_executable(text: &str, path: &Path) {
    let source = path.with_extension("src");
    std::fs::write(&source, text).unwrap();
    let status = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&source)
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

impl FakeVagrant {
    /// A fake whose `plugin list` shows vagrant-libvirt and which knows `machines`.
    pub fn new(machines: &[&str]) -> FakeVagrant {
        let dir = tempfile::tempdir().unwrap();
        install_executable(FAKE, &dir.path().join("vagrant"));
        let fake = FakeVagrant { dir };
        fake.set("plugins", "vagrant-libvirt (0.11.2, system)\n");
        fake.set("machines", &machines.join("\n"));
        fake
    }

    pub fn program(&self) -> PathBuf {
        self.dir.path().join("vagrant")
    }

    /// Writes the answer file `name`.
    pub fn set(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    pub fn unset(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(name));
    }

    /// The calls so far, each as (arguments, VAGRANT_CWD, working directory).
    pub fn calls(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let mut parts = line.splitn(3, '\t');
                let mut next = || parts.next().unwrap_or_default().to_owned();
                (next(), next(), next())
            })
            .collect()
    }

    /// The arguments of the calls so far.
    pub fn commands(&self) -> Vec<String> {
        self.calls().into_iter().map(|(args, _, _)| args).collect()
    }

    /// The environments of the calls so far.
    pub fn environments(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("env")).unwrap_or_default()
    }

    pub fn forget_calls(&self) {
        self.unset("calls");
    }
}

/// `vagrant ssh-config` of libvirt machines: each on the management network, port 22.
pub fn libvirt_ssh_config(dir: &Path, machines: &[&str]) -> String {
    machines
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "Host {m}\n  HostName 192.168.121.{}\n  User vagrant\n  Port 22\n  \
                 UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  \
                 PasswordAuthentication no\n\n  IdentityFile {}/.vagrant/machines/{m}/libvirt/private_key\n  \
                 IdentitiesOnly yes\n  LogLevel FATAL\n\n",
                100 + i,
                dir.display()
            )
        })
        .collect()
}

/// `vagrant ssh-config` of VirtualBox machines: 127.0.0.1, ports 2222, then 2200 on.
pub fn virtualbox_ssh_config(dir: &Path, machines: &[&str]) -> String {
    machines
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let port = if i == 0 { 2222 } else { 2199 + i };
            format!(
                "Host {m}\n  HostName 127.0.0.1\n  User vagrant\n  Port {port}\n  \
                 UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  \
                 PasswordAuthentication no\n\n  IdentityFile \"{}/.vagrant/machines/{m}/virtualbox/private_key\"\n  \
                 IdentitiesOnly yes\n  LogLevel FATAL\n\n",
                dir.display()
            )
        })
        .collect()
}
