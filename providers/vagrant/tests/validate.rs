//! The real `vagrant validate` accepts the Vagrantfiles enos writes, for both backends.
//!
//! What Vagrant needs for that, found with Vagrant 2.3.4 (Debian 12):
//! - `vagrant validate` loads the active provider, and fails when it is not usable here: with
//!   neither VirtualBox nor the vagrant-libvirt plugin, "No usable default provider could be
//!   found"; with `VAGRANT_DEFAULT_PROVIDER=libvirt` and no plugin, "The provider 'libvirt'
//!   could not be found".
//! - `vagrant validate --ignore-provider` (`-p`) makes every provider look usable and skips the
//!   provider's own settings, but still checks the VM's (box, hostname, networks, provisioners,
//!   synced folders); the libvirt block is read as an unknown provider's and not checked. This
//!   is the check that runs everywhere.
//! - With the vagrant-libvirt plugin (Debian's `vagrant-libvirt`), plain `vagrant validate`
//!   with `VAGRANT_DEFAULT_PROVIDER=libvirt` checks the libvirt settings too, no libvirt daemon
//!   needed; `VAGRANT_NO_PLUGINS=1` hides the plugin.
//! - VirtualBox's provider is usable when `VBoxManage --version` answers: a stand-in printing a
//!   version makes plain `vagrant validate` check the VirtualBox settings.
//!
//! Without `vagrant` these tests say so and pass, unless `CI=true`, where they fail.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Output;

use enos_provider::keys;
use enos_provider_vagrant::{layout, options, render};

use crate::common::{install_executable, parse};

/// The real `vagrant`, or `None` (after saying why) when this machine has none.
fn real_vagrant() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("vagrant"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: `vagrant` must be installed (apt-get install vagrant) for this test"
        );
        println!("skipped: no `vagrant` in PATH (apt-get install vagrant)");
    }
    found
}

/// A directory with the Vagrantfile of the example scenario on `backend`, and a Vagrant home.
struct Checked {
    vagrant: PathBuf,
    dir: tempfile::TempDir,
    text: String,
}

impl Checked {
    fn new(vagrant: PathBuf, backend: &str) -> Checked {
        let source = std::fs::read_to_string("../../scenarios/vagrant.yaml")
            .unwrap()
            .replace("backend: libvirt ", &format!("backend: {backend} "));
        let scenario = parse(&source).unwrap_or_else(|e| panic!("{e}"));
        let options = options(&scenario.provider.options).unwrap();
        let layout = layout(&scenario, &options).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ecdsa");
        keys::generate(&key, "enos-vagrant").unwrap();
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let text = render(&scenario.name, &layout, &options, &public).unwrap();
        std::fs::create_dir(dir.path().join("vagrant")).unwrap();
        let checked = Checked { vagrant, dir, text };
        checked.write(&checked.text);
        checked
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("vagrant")
    }

    fn write(&self, text: &str) {
        std::fs::write(self.project().join("Vagrantfile"), text).unwrap();
    }

    /// `vagrant <args>` in the project, with its own Vagrant home and `env` added.
    fn run(&self, args: &[&str], env: &[(&str, OsString)]) -> Output {
        let mut command = std::process::Command::new(&self.vagrant);
        command
            .args(args)
            .current_dir(self.project())
            .env("VAGRANT_CWD", self.project())
            .env("VAGRANT_HOME", self.dir.path().join("home"))
            .env("VAGRANT_CHECKPOINT_DISABLE", "1")
            .env("VAGRANT_NO_COLOR", "1")
            .env_remove("VAGRANT_DEFAULT_PROVIDER")
            .env_remove("VAGRANT_NO_PLUGINS");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_valid(output: &Output, what: &str) {
    let all = text(output);
    assert!(output.status.success(), "{what}: {all}");
    assert!(
        all.contains("Vagrantfile validated successfully."),
        "{what}: {all}"
    );
}

fn assert_invalid(output: &Output, expected: &str, what: &str) {
    let all = text(output);
    assert!(!output.status.success(), "{what} should fail: {all}");
    assert!(all.contains(expected), "{what}: {all}");
}

/// The Vagrantfile with one line added after the first line holding `after`.
fn with_line_after(text: &str, after: &str, line: &str) -> String {
    let at = text.find(after).unwrap();
    let end = at + text[at..].find('\n').unwrap() + 1;
    format!("{}{line}\n{}", &text[..end], &text[end..])
}

#[test]
fn vagrant_validates_the_libvirt_vagrantfile() {
    let Some(vagrant) = real_vagrant() else {
        return;
    };
    let checked = Checked::new(vagrant, "libvirt");
    assert!(
        checked
            .text
            .contains("machine.vm.provider :libvirt do |lv|")
    );
    let no_plugins = [("VAGRANT_NO_PLUGINS", OsString::from("1"))];
    // Without the plugin, only --ignore-provider validates.
    assert_valid(
        &checked.run(&["validate", "--ignore-provider"], &no_plugins),
        "validate -p without plugins",
    );
    let libvirt_default = ("VAGRANT_DEFAULT_PROVIDER", OsString::from("libvirt"));
    assert_invalid(
        &checked.run(
            &["validate"],
            &[no_plugins[0].clone(), libvirt_default.clone()],
        ),
        "The provider 'libvirt' could not be found",
        "validate without the plugin",
    );
    // --ignore-provider still checks the VMs themselves.
    let bad_hostname = checked.text.replacen(
        "machine.vm.hostname = 'paris-server-1'",
        "machine.vm.hostname = 'paris_server 1'",
        1,
    );
    checked.write(&bad_hostname);
    assert_invalid(
        &checked.run(&["validate", "--ignore-provider"], &no_plugins),
        "should only contain letters, numbers,",
        "a bad hostname",
    );
    checked.write(&checked.text);
    // With the plugin, the libvirt settings are checked too.
    let plugins = checked.run(&["plugin", "list"], &[]);
    if !text(&plugins).contains("vagrant-libvirt") {
        println!(
            "vagrant-libvirt is not installed: the libvirt settings were not checked \
             (apt-get install vagrant-libvirt)"
        );
        return;
    }
    assert_valid(
        &checked.run(&["validate"], std::slice::from_ref(&libvirt_default)),
        "validate with vagrant-libvirt",
    );
    checked.write(&with_line_after(
        &checked.text,
        "lv.nested = true",
        "      lv.no_such_setting = 1",
    ));
    assert_invalid(
        &checked.run(&["validate"], &[libvirt_default]),
        "no_such_setting",
        "an unknown libvirt setting",
    );
}

#[test]
fn vagrant_validates_the_virtualbox_vagrantfile() {
    let Some(vagrant) = real_vagrant() else {
        return;
    };
    let checked = Checked::new(vagrant, "virtualbox");
    assert!(
        checked
            .text
            .contains("machine.vm.provider :virtualbox do |vb|")
    );
    assert_valid(
        &checked.run(&["validate", "--ignore-provider"], &[]),
        "validate -p",
    );
    // A VBoxManage that answers `--version` makes the VirtualBox provider usable, so its own
    // settings are checked.
    let stub = checked.dir.path().join("bin");
    std::fs::create_dir(&stub).unwrap();
    install_executable(
        "#!/bin/sh\n[ \"$1\" = --version ] && echo 7.0.6r155176\nexit 0\n",
        &stub.join("VBoxManage"),
    );
    let path = std::env::join_paths(std::iter::once(stub).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let env = [
        ("PATH", path),
        ("VAGRANT_DEFAULT_PROVIDER", OsString::from("virtualbox")),
    ];
    assert_valid(
        &checked.run(&["validate"], &env),
        "validate with VirtualBox",
    );
    checked.write(&with_line_after(
        &checked.text,
        "vb.memory =",
        "      vb.no_such_setting = 1",
    ));
    assert_invalid(
        &checked.run(&["validate"], &env),
        "The following settings shouldn't exist: no_such_setting",
        "an unknown VirtualBox setting",
    );
}
