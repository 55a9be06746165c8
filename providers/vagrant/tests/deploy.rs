//! Deploy and destroy against a stand-in `vagrant` (see `common.rs`): the calls made and where,
//! the testbed read from `vagrant ssh-config`, failures of `up` and `destroy`, the reuse of VMs
//! already up, and the provider's state.

use std::path::Path;
use std::time::Duration;

use enos_core::{Experiment, HostKeySource, NullReporter, Testbed};
use enos_provider::Provider;
use enos_provider_vagrant::{VagrantConfig, VagrantProvider};
use serde_json::Value;

use crate::common::{FakeVagrant, Recorder, libvirt_ssh_config, parse, virtualbox_ssh_config};

const MACHINES: [&str; 3] = ["paris-server-1", "paris-client-1", "lyon-client-1"];

fn scenario_text(backend: &str) -> String {
    format!(
        "name: vms\nprovider:\n  vagrant:\n    backend: {backend}\n    flavours: {{server: \
         medium}}\nsites:\n  paris: {{roles: {{server: 1, client: 1}}}}\n  lyon: {{roles: \
         {{client: 1}}}}\n"
    )
}

/// Runs the fake, its control directories under `root`.
fn config(fake: &FakeVagrant, root: &tempfile::TempDir) -> VagrantConfig {
    VagrantConfig {
        program: fake.program(),
        up_timeout: Duration::from_secs(60),
        runtime_dir: Some(root.path().join("run")),
        ..VagrantConfig::default()
    }
}

struct Bench {
    root: tempfile::TempDir,
    fake: FakeVagrant,
    provider: VagrantProvider,
    experiment: Experiment,
}

impl Bench {
    fn new(backend: &str) -> Bench {
        let root = tempfile::tempdir().unwrap();
        let text = scenario_text(backend);
        let scenario = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let (experiment, _) =
            Experiment::open_for_deploy(root.path(), &scenario, &text, "vagrant").unwrap();
        let fake = FakeVagrant::new(&MACHINES);
        let vagrant_dir = experiment.dir().join("vagrant");
        let ssh_config = match backend {
            "virtualbox" => virtualbox_ssh_config(&vagrant_dir, &MACHINES),
            _ => libvirt_ssh_config(&vagrant_dir, &MACHINES),
        };
        fake.set("ssh-config", &ssh_config);
        let provider = VagrantProvider::new(config(&fake, &root));
        Bench {
            root,
            fake,
            provider,
            experiment,
        }
    }

    fn vagrant_dir(&self) -> std::path::PathBuf {
        self.experiment.dir().join("vagrant")
    }

    /// The provider's state as saved on disk.
    fn saved_provider_state(&self) -> Value {
        let text = std::fs::read_to_string(self.experiment.dir().join("state.json")).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        state["provider_state"].clone()
    }
}

/// Every call ran in the experiment's `vagrant/` directory, with `VAGRANT_CWD` set to it.
fn assert_ran_in(fake: &FakeVagrant, dir: &Path) {
    let dir = dir.display().to_string();
    for (args, cwd, pwd) in fake.calls() {
        assert_eq!(cwd, dir, "VAGRANT_CWD of {args}");
        assert_eq!(pwd, dir, "working directory of {args}");
    }
}

/// What would betray the private key at `path`: its PEM armour, its private scalar in hex and
/// in base64 at each of the three alignments.
fn secret_forms(path: &Path) -> Vec<String> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap();
    let key = ssh_key::PrivateKey::from_openssh(&text).unwrap();
    let Some(ssh_key::private::EcdsaKeypair::NistP256 { private, .. }) = key.key_data().ecdsa()
    else {
        panic!("an ECDSA P-256 key");
    };
    let scalar = private.as_slice();
    let mut forms = vec![
        "PRIVATE KEY".to_owned(),
        scalar.iter().map(|b| format!("{b:02x}")).collect(),
    ];
    for skip in 0..3 {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&scalar[skip..]);
        forms.push(encoded[4..28].to_owned());
    }
    forms
}

fn hosts(testbed: &Testbed) -> Vec<String> {
    testbed
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{} {} {} {} {}@{}:{}",
                h.name,
                h.site,
                h.role,
                h.address,
                h.user,
                h.ssh_target(),
                h.port
            )
        })
        .collect()
}

#[tokio::test]
async fn deploy_brings_the_vms_up_and_reads_how_to_reach_them() {
    let mut b = Bench::new("libvirt");
    let recorder = Recorder::default();
    let testbed = b
        .provider
        .deploy(&mut b.experiment, &recorder)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}", e.hint));
    assert_eq!(
        b.fake.commands(),
        ["plugin list", "up --provider=libvirt", "ssh-config"]
    );
    assert_ran_in(&b.fake, &b.vagrant_dir());
    assert_eq!(
        hosts(&testbed),
        [
            "paris-server-1 paris server 192.168.56.10 root@192.168.121.100:22",
            "paris-client-1 paris client 192.168.56.11 root@192.168.121.101:22",
            "lyon-client-1 lyon client 192.168.57.10 root@192.168.121.102:22",
        ]
    );
    let key = b.experiment.dir().join("ssh/id_ecdsa");
    assert_eq!(testbed.ssh.identity, key);
    assert_eq!(testbed.ssh.config, b.experiment.dir().join("ssh_config"));
    assert_eq!(
        testbed.ssh.control_dir,
        b.provider.control_dir(b.experiment.dir())
    );
    assert!(testbed.ssh.control_dir.is_dir());
    assert!(
        testbed
            .ssh
            .control_dir
            .starts_with(b.root.path().join("run"))
    );
    for host in &testbed.hosts {
        assert_eq!(host.identity, None);
        assert_eq!(host.interface, None);
        assert_eq!(host.jump, None);
        assert_eq!(host.become_root, None);
        assert_eq!(host.host_key, HostKeySource::LearnOnFirstContact);
    }
    let networks: Vec<_> = testbed
        .networks
        .iter()
        .map(|n| format!("{} {} {}", n.site, n.cidr, n.gateway))
        .collect();
    assert_eq!(
        networks,
        [
            "paris 192.168.56.0/24 192.168.56.1",
            "lyon 192.168.57.0/24 192.168.56.1"
        ]
    );
    // The Vagrantfile lets root in with the experiment's key, and is the plan's.
    let vagrantfile = std::fs::read_to_string(b.vagrant_dir().join("Vagrantfile")).unwrap();
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    assert!(vagrantfile.contains(&format!("args: ['{}']", public.trim())));
    let plan = b.provider.plan(&b.experiment.state().scenario).unwrap();
    let planned = plan.actions[1].body.clone().unwrap();
    assert_eq!(
        planned.replace(
            "<the public key of the experiment: ssh/id_ecdsa.pub, made by deploy>",
            public.trim()
        ),
        vagrantfile
    );
    assert!(vagrantfile.contains("lv.cpus = 2\n      lv.memory = 2048"));
    // The state says where the VMs are, saved.
    assert_eq!(
        b.saved_provider_state(),
        serde_json::json!({
            "dir": b.vagrant_dir(),
            "backend": "libvirt",
            "machines": MACHINES,
            "up": true,
        })
    );
    // Progress per VM, from Vagrant's lines.
    let events = recorder.events();
    assert_eq!(
        events,
        [
            "start starting 3 VMs (vagrant up) (3)",
            "advance paris-server-1 true",
            "advance paris-client-1 true",
            "advance lyon-client-1 true",
            "finish"
        ]
    );
    // What Vagrant printed is kept.
    let log = std::fs::read_to_string(b.experiment.dir().join("logs/vagrant.log")).unwrap();
    assert!(log.contains("$ vagrant up --provider=libvirt\n"), "{log}");
    assert!(log.contains("==> lyon-client-1: Machine booted and ready!"));
    // The private key reaches no argument, environment, file of Vagrant's, state or note.
    let everything = format!(
        "{:?}{}{vagrantfile}{log}{:?}{}",
        b.fake.calls(),
        b.fake.environments(),
        events,
        b.saved_provider_state()
    );
    for secret in secret_forms(&key) {
        assert!(!everything.contains(&secret), "the private key leaked");
    }
}

#[tokio::test]
async fn virtualbox_vms_are_reached_through_forwarded_ports_without_a_plugin() {
    let mut b = Bench::new("virtualbox");
    b.fake.set("plugins", "No plugins installed.\n");
    let testbed = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.fake.commands(),
        ["up --provider=virtualbox", "ssh-config"]
    );
    assert_ran_in(&b.fake, &b.vagrant_dir());
    assert_eq!(
        hosts(&testbed),
        [
            "paris-server-1 paris server 192.168.56.10 root@127.0.0.1:2222",
            "paris-client-1 paris client 192.168.56.11 root@127.0.0.1:2200",
            "lyon-client-1 lyon client 192.168.57.10 root@127.0.0.1:2201",
        ]
    );
    let vagrantfile = std::fs::read_to_string(b.vagrant_dir().join("Vagrantfile")).unwrap();
    assert!(vagrantfile.contains("vb.cpus = 2\n      vb.memory = 2048"));
    assert!(!vagrantfile.contains("libvirt"));
}

#[tokio::test]
async fn a_failed_up_is_a_clear_error_and_destroy_still_runs() {
    let mut b = Bench::new("libvirt");
    let mut stderr: Vec<String> = (1..=30).map(|i| format!("noise line {i}")).collect();
    stderr.push("Error while creating domain: Error saving the server: Call to virDomainDefineXML failed: internal error".into());
    b.fake.set("up.fail", &stderr.join("\n"));
    let error = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert!(
        error.message.starts_with(
            "`vagrant up --provider=libvirt` failed (exit status 1); it ended with:\n  noise \
             line 17\n"
        ),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .ends_with("virDomainDefineXML failed: internal error")
    );
    assert!(!error.message.contains("noise line 16\n"));
    let hint = error.hint.unwrap();
    assert!(
        hint.contains("logs/vagrant.log") && hint.contains("enos destroy"),
        "{hint}"
    );
    assert_eq!(b.fake.commands(), ["plugin list", "up --provider=libvirt"]);
    // The machines were recorded before `up`: a later command destroys them.
    let dir = b.experiment.dir().to_owned();
    assert_eq!(b.saved_provider_state()["up"], false);
    assert_eq!(
        b.saved_provider_state()["machines"],
        serde_json::json!(MACHINES)
    );
    drop(b.experiment);
    let mut reopened = Experiment::open(&dir).unwrap();
    assert!(dir.join("vagrant/.vagrant/machines/lyon-client-1").is_dir());
    b.provider
        .destroy(&mut reopened, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.fake.commands(),
        ["plugin list", "up --provider=libvirt", "destroy -f"]
    );
    assert_eq!(reopened.state().provider_state, Value::Null);
    assert!(!dir.join("vagrant/.vagrant").exists());
}

#[tokio::test]
async fn destroy_removes_the_vms_and_leaves_nothing_in_the_state() {
    let mut b = Bench::new("libvirt");
    b.provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    b.fake.forget_calls();
    let control = b.provider.control_dir(b.experiment.dir());
    assert!(control.is_dir());
    let recorder = Recorder::default();
    b.provider
        .destroy(&mut b.experiment, &recorder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.fake.commands(), ["destroy -f"]);
    assert_ran_in(&b.fake, &b.vagrant_dir());
    assert_eq!(b.experiment.state().provider_state, Value::Null);
    assert_eq!(b.saved_provider_state(), Value::Null);
    assert!(!b.vagrant_dir().join(".vagrant").exists());
    assert!(!control.exists());
    // The Vagrantfile stays with the results, as a record.
    assert!(b.vagrant_dir().join("Vagrantfile").is_file());
    assert_eq!(
        recorder.events(),
        ["start destroying 3 VMs (vagrant destroy -f) (3)", "finish"]
    );
    // A second destroy has nothing to do.
    b.fake.forget_calls();
    let recorder = Recorder::default();
    b.provider
        .destroy(&mut b.experiment, &recorder)
        .await
        .unwrap();
    assert!(b.fake.commands().is_empty());
    assert_eq!(
        recorder.events(),
        ["note no VMs were made: nothing for vagrant to destroy"]
    );
}

#[tokio::test]
async fn a_failed_destroy_keeps_the_state_for_another_try() {
    let mut b = Bench::new("libvirt");
    b.provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    b.fake
        .set("destroy.fail", "Call to virDomainUndefine failed: busy");
    let error = b
        .provider
        .destroy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "`vagrant destroy -f` failed (exit status 1); it ended with:\n  Call to \
         virDomainUndefine failed: busy"
    );
    assert_eq!(b.saved_provider_state()["up"], true);
    assert!(b.vagrant_dir().join(".vagrant").is_dir());
    b.fake.unset("destroy.fail");
    b.provider
        .destroy(&mut b.experiment, &NullReporter)
        .await
        .unwrap();
    assert_eq!(b.saved_provider_state(), Value::Null);
}

#[tokio::test]
async fn a_second_deploy_reuses_the_vms_that_are_up() {
    let mut b = Bench::new("libvirt");
    let first = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let running: String = MACHINES
        .iter()
        .map(|m| {
            format!(
                "1700000000,{m},metadata,provider,libvirt\n1700000000,{m},provider-name,libvirt\n\
                 1700000000,{m},state,running\n1700000000,{m},state-human-short,running\n"
            )
        })
        .collect();
    b.fake.set("status", &running);
    b.fake.forget_calls();
    let recorder = Recorder::default();
    let second = b
        .provider
        .deploy(&mut b.experiment, &recorder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.fake.commands(),
        ["status --machine-readable", "ssh-config"]
    );
    assert_eq!(second, first);
    assert_eq!(recorder.events(), ["note the 3 VMs are up already: reused"]);
    // A VM that is not running makes `vagrant up` run again.
    b.fake.set(
        "status",
        &running.replace("lyon-client-1,state,running", "lyon-client-1,state,shutoff"),
    );
    b.fake.forget_calls();
    b.provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.fake.commands(),
        [
            "status --machine-readable",
            "plugin list",
            "up --provider=libvirt",
            "ssh-config"
        ]
    );
}

#[tokio::test]
async fn the_libvirt_backend_without_its_plugin_stops_before_up() {
    let mut b = Bench::new("libvirt");
    b.fake.set("plugins", "No plugins installed.\n");
    let error = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "the libvirt backend needs the vagrant-libvirt plugin, which `vagrant plugin list` does \
         not list"
    );
    let hint = error.hint.unwrap();
    assert!(
        hint.contains("apt-get install vagrant-libvirt") && hint.contains("backend: virtualbox"),
        "{hint}"
    );
    assert_eq!(b.fake.commands(), ["plugin list"]);
}

#[tokio::test]
async fn a_vm_missing_from_ssh_config_is_named() {
    let mut b = Bench::new("libvirt");
    let dir = b.vagrant_dir();
    b.fake.set(
        "ssh-config",
        &libvirt_ssh_config(&dir, &["paris-server-1", "paris-client-1"]),
    );
    let error = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "`vagrant ssh-config` says nothing of the VM lyon-client-1"
    );
}

#[tokio::test]
async fn an_up_that_hangs_is_stopped_at_its_timeout() {
    let mut b = Bench::new("virtualbox");
    b.fake.set("up.hang", "");
    let provider = VagrantProvider::new(VagrantConfig {
        up_timeout: Duration::from_millis(300),
        stop_grace: Duration::from_millis(200),
        ..config(&b.fake, &b.root)
    });
    let error = provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "`vagrant up --provider=virtualbox` did not finish within 300ms and was stopped"
    );
    assert!(error.hint.unwrap().contains("logs/vagrant.log"));
    assert_eq!(b.saved_provider_state()["up"], false);
}

#[tokio::test]
async fn check_finds_vagrant_or_says_how_to_install_it() {
    let fake = FakeVagrant::new(&[]);
    let provider = VagrantProvider::new(VagrantConfig {
        program: fake.program(),
        ..VagrantConfig::default()
    });
    provider.check().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fake.commands(), ["--version"]);
    let missing = VagrantProvider::new(VagrantConfig {
        program: fake.dir.path().join("no-vagrant"),
        ..VagrantConfig::default()
    });
    let error = missing.check().await.unwrap_err();
    assert!(
        error
            .message
            .starts_with("the vagrant provider needs Vagrant, and ")
            && error.message.ends_with("no-vagrant is not found"),
        "{}",
        error.message
    );
    assert!(error.hint.unwrap().contains("apt-get install vagrant"));
    let not_in_path = VagrantProvider::new(VagrantConfig {
        program: "enos-test-no-such-vagrant".into(),
        ..VagrantConfig::default()
    });
    let error = not_in_path.check().await.unwrap_err();
    assert!(
        error.message.ends_with("is not found in PATH"),
        "{}",
        error.message
    );
}

#[test]
fn describe_says_backend_box_and_vms() {
    let b = Bench::new("virtualbox");
    let rows = b.provider.describe(&b.experiment);
    let rows: Vec<String> = rows.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
    assert_eq!(
        rows,
        [
            "provider: vagrant",
            "backend: virtualbox",
            "box: generic/debian12",
            "VMs: 3 VMs on 2 sites, subnet 192.168.56.0/21"
        ]
    );
}

#[tokio::test]
async fn the_backend_of_vms_already_made_cannot_change() {
    let mut b = Bench::new("libvirt");
    b.provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    b.experiment.state_mut().scenario.provider.options["backend"] = "virtualbox".into();
    b.fake.forget_calls();
    let error = b
        .provider
        .deploy(&mut b.experiment, &NullReporter)
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "the experiment's VMs were made on libvirt, the scenario now asks for virtualbox"
    );
    assert!(b.fake.commands().is_empty());
    let vagrantfile = std::fs::read_to_string(b.vagrant_dir().join("Vagrantfile")).unwrap();
    assert!(vagrantfile.contains(":libvirt"));
}
