//! The bodies the provider sends: one OAR job per Grid'5000 site, kadeploy deployments and
//! walltime changes. Built from the scenario alone, so that `plan` shows exactly what `deploy`
//! sends.

use std::time::Duration;

use enos_scenario::Scenario;
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::options::G5kOptions;

/// The command of the jobs: they only hold the nodes, until their walltime ends or they are
/// deleted.
pub const JOB_COMMAND: &str = "sleep 31536000";

/// What one OAR job reserves: the nodes of every scenario site mapped to a Grid'5000 site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SiteJob {
    /// The Grid'5000 site.
    pub site: String,
    /// Nodes per cluster, in the order the scenario first names them.
    pub clusters: IndexMap<String, u32>,
    /// The scenario sites served, in scenario order.
    pub members: Vec<String>,
}

impl SiteJob {
    /// The nodes asked for, over every cluster.
    pub(crate) fn nodes(&self) -> u32 {
        self.clusters.values().sum()
    }
}

/// The jobs a deploy submits: one per Grid'5000 site, in the order of the scenario's sites.
/// `g5k_site` gives each scenario site's Grid'5000 site.
pub(crate) fn site_jobs(
    scenario: &Scenario,
    options: &G5kOptions,
    g5k_site: impl Fn(&str) -> String,
) -> Vec<SiteJob> {
    let mut jobs: Vec<SiteJob> = Vec::new();
    for site in &scenario.sites {
        let Some(mapping) = options.sites.get(&site.name) else {
            continue;
        };
        let g5k = g5k_site(&site.name);
        let hosts: u32 = site.roles.iter().map(|r| r.count).sum();
        let at = match jobs.iter().position(|j| j.site == g5k) {
            Some(at) => at,
            None => {
                jobs.push(SiteJob {
                    site: g5k,
                    clusters: IndexMap::new(),
                    members: Vec::new(),
                });
                jobs.len() - 1
            }
        };
        let job = &mut jobs[at];
        *job.clusters.entry(mapping.cluster.clone()).or_insert(0) += hosts;
        job.members.push(site.name.clone());
    }
    jobs
}

/// The OAR resources of `job`: `{cluster='paravance'}/nodes=3+{type='kavlan'}/vlan=1,walltime=02:00:00`.
pub(crate) fn resources(job: &SiteJob, options: &G5kOptions) -> String {
    let mut criteria: Vec<String> = job
        .clusters
        .iter()
        .map(|(cluster, nodes)| format!("{{cluster='{cluster}'}}/nodes={nodes}"))
        .collect();
    if let Some(vlan) = options.vlan {
        criteria.push(format!("{{type='{}'}}/vlan=1", vlan.name()));
    }
    format!("{},walltime={}", criteria.join("+"), options.walltime)
}

/// The body of `POST /sites/{site}/jobs` for `job`.
pub(crate) fn job_body(job: &SiteJob, options: &G5kOptions, job_name: &str) -> Value {
    let mut types = vec!["deploy".to_owned()];
    if let Some(monitor) = &options.monitor {
        types.push(format!("monitor={monitor}"));
    }
    let mut body = json!({
        "name": job_name,
        "resources": resources(job, options),
        "types": types,
        "command": JOB_COMMAND,
        "queue": options.queue.name(),
    });
    if let (Some(reservation), Some(map)) = (&options.reservation, body.as_object_mut()) {
        map.insert("reservation".into(), json!(reservation));
    }
    body
}

/// The body of `POST /sites/{site}/deployments`: `nodes` get `options.env_name` with
/// `public_key` for root, in `vlan` when there is one.
pub(crate) fn deployment_body(
    nodes: &[String],
    options: &G5kOptions,
    public_key: &str,
    vlan: Option<&str>,
) -> Value {
    let mut body = json!({
        "nodes": nodes,
        "environment": options.env_name,
        "key": public_key,
    });
    if let (Some(vlan), Some(map)) = (vlan, body.as_object_mut()) {
        map.insert("vlan".into(), json!(vlan));
    }
    body
}

/// The body of `POST /sites/{site}/jobs/{uid}/walltime`: `by` more, in whole minutes (rounded
/// up), applied whole or not at all.
pub(crate) fn walltime_body(by: Duration) -> Value {
    json!({
        "walltime": walltime_increase(by),
        "force": false,
        "delay_next_jobs": false,
        "whole": true,
    })
}

/// `+HH:MM`, `by` rounded up to the minute.
pub(crate) fn walltime_increase(by: Duration) -> String {
    let minutes = by.as_nanos().div_ceil(60_000_000_000);
    format!("+{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increases_round_up_to_the_minute() {
        assert_eq!(walltime_increase(Duration::from_secs(3600)), "+01:00");
        assert_eq!(walltime_increase(Duration::from_secs(5401)), "+01:31");
        assert_eq!(walltime_increase(Duration::from_millis(500)), "+00:01");
        assert_eq!(
            walltime_increase(Duration::from_secs(100 * 3600)),
            "+100:00"
        );
    }
}
