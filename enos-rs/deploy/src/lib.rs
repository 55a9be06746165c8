//! The deploy engine of enos-rs: the `deploy:` section of a scenario applied to the hosts of a
//! testbed over SSH.
//!
//! A deploy runs in three stages:
//!
//! 1. **Facts** ([`facts`]): one command per host says what it is (system, CPUs, memory,
//!    interfaces); templates see them as `host.facts`.
//! 2. **Plan** ([`plan::plan`]): every step is rendered for every host with minijinja (strict
//!    about undefined values), file contents included, before anything runs: a template error
//!    stops the deploy while nothing has changed. A copied file or directory is read once and
//!    its bytes shared by every host ([`plan::Content`]); templates are each host's own. The
//!    same planner renders a scenario on a made-up testbed ([`example_testbed`]) for
//!    `enos validate` and golden tests.
//! 3. **Run** ([`run::execute`]): steps run in order; each runs on its hosts in parallel, one
//!    shell script per host ([`script`]) that first checks whether its work already holds (file
//!    hashes, installed packages, `creates`/`unless`, a running service with the same
//!    definition) and says whether it changed anything; a large file goes only to the hosts
//!    that lack it ([`script::check_first`]). Once a step has ended on every host,
//!    its failure policy decides whether the deploy goes on. Every host's output is logged and
//!    the report is saved after every step.
//!
//! Hosts whose login is not root run every step under `sudo -n` ([`script::Script::become_root`]).
//! On hosts enos does not own, [`stop_services`] undoes what a deploy left running.
//!
//! The engine talks to hosts only through [`enos_remote`] and to people only through
//! [`enos_core::Reporter`].
#![warn(missing_docs)]

pub mod context;
pub mod facts;
pub mod plan;
pub mod report;
pub mod run;
pub mod script;
pub mod secrets;
pub mod undo;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use enos_core::{Reporter, Testbed};
use enos_remote::Fleet;
use enos_scenario::Scenario;

pub use context::{HostView, SiteView, TestbedView};
pub use facts::{Facts, FactsError};
pub use plan::{DeployPlan, PlanError, plan};
pub use report::{DeployReport, Outcome, Status};
pub use run::{RunDirs, execute};
pub use secrets::SecretStore;
pub use undo::stop_services;

/// How long a host gets to report its facts.
const FACTS_TIMEOUT: Duration = Duration::from_secs(60);

/// The testbed as templates see it, from a provisioned testbed and each host's facts. A host
/// without facts is an error naming it: templates never see made-up facts.
pub fn testbed_view(
    experiment: &str,
    results_dir: &std::path::Path,
    testbed: &Testbed,
    facts: &[(String, Facts)],
) -> Result<TestbedView, FactsError> {
    let mut hosts = Vec::with_capacity(testbed.hosts.len());
    let mut without = Vec::new();
    for h in &testbed.hosts {
        let Some((_, facts)) = facts.iter().find(|(name, _)| *name == h.name) else {
            without.push((h.name.clone(), "no facts were gathered".to_owned()));
            continue;
        };
        hosts.push(HostView {
            name: h.name.clone(),
            site: h.site.clone(),
            role: h.role.clone(),
            address: h.address,
            user: h.user.clone(),
            interface: h
                .interface
                .clone()
                .unwrap_or_else(|| facts.interface_of(h.address).unwrap_or_default().to_owned()),
            facts: facts.clone(),
            become_root: h.become_root,
        });
    }
    if !without.is_empty() {
        return Err(FactsError { hosts: without });
    }
    let sites = testbed
        .networks
        .iter()
        .map(|n| SiteView {
            name: n.site.clone(),
            cidr: n.cidr.clone(),
            gateway: n.gateway,
            hosts: hosts
                .iter()
                .filter(|h| h.site == n.site)
                .map(|h| h.name.clone())
                .collect(),
        })
        .collect();
    Ok(TestbedView {
        experiment: experiment.to_owned(),
        results_dir: results_dir.display().to_string(),
        ssh_identity: testbed.ssh.identity.display().to_string(),
        known_hosts: testbed.ssh.known_hosts.display().to_string(),
        example: false,
        hosts,
        sites,
    })
}

/// A made-up testbed for `scenario`: site `i` is `10.<i+1>.0.0/16` with its gateway at `.0.1`,
/// hosts get `.0.2` onwards, and every host has [`Facts::example`]. Plans rendered on it show
/// what a deploy would do, and catch template errors before anything is provisioned.
pub fn example_testbed(scenario: &Scenario, results_dir: &str) -> TestbedView {
    let mut hosts = Vec::new();
    let mut sites = Vec::new();
    for (i, site) in scenario.sites.iter().enumerate() {
        let second = u8::try_from(i + 1).unwrap_or(u8::MAX);
        let mut names = Vec::new();
        for (n, plan) in scenario
            .hosts()
            .into_iter()
            .filter(|h| h.site == site.name)
            .enumerate()
        {
            let n = u16::try_from(n + 2).unwrap_or(u16::MAX);
            let address = IpAddr::V4(Ipv4Addr::new(10, second, (n >> 8) as u8, (n & 0xff) as u8));
            names.push(plan.name.clone());
            hosts.push(HostView {
                facts: Facts::example(&plan.name, address),
                name: plan.name,
                site: plan.site,
                role: plan.role,
                address,
                user: "root".to_owned(),
                interface: "eth0".to_owned(),
                become_root: None,
            });
        }
        sites.push(SiteView {
            name: site.name.clone(),
            cidr: format!("10.{second}.0.0/16"),
            gateway: IpAddr::V4(Ipv4Addr::new(10, second, 0, 1)),
            hosts: names,
        });
    }
    TestbedView {
        experiment: scenario.name.clone(),
        results_dir: results_dir.to_owned(),
        ssh_identity: format!("{results_dir}/ssh/id_ecdsa"),
        known_hosts: format!("{results_dir}/ssh/known_hosts"),
        example: true,
        hosts,
        sites,
    }
}

/// Asks every host of `fleet` for its facts. A host that does not answer, whose command fails
/// or whose output is not facts fails the whole: the error names every such host and why.
pub async fn gather_facts(
    fleet: &Fleet,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, Facts)>, FactsError> {
    let mut facts = Vec::new();
    let mut failed = Vec::new();
    for result in fleet.run(facts::GATHER, FACTS_TIMEOUT, reporter).await {
        match result.outcome {
            Ok(output) if output.success() => match facts::parse(&output.stdout_text()) {
                Ok(parsed) => facts.push((result.host, parsed)),
                Err(why) => failed.push((result.host, why)),
            },
            Ok(output) => failed.push((
                result.host,
                format!("{}: {}", output.exit, output.stderr_text().trim()),
            )),
            Err(e) => failed.push((result.host, e.reason())),
        }
    }
    if failed.is_empty() {
        Ok(facts)
    } else {
        Err(FactsError { hosts: failed })
    }
}
