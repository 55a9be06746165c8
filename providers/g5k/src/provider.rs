//! The Grid'5000 provider at run time: OAR jobs, kadeploy, the hosts it gives back, and how
//! they are released or extended.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use enos_core::{Experiment, Host, HostKeySource, Jump, Reporter, SshAccess, Testbed};
use enos_provider::{PlannedAction, Provider, ProviderError, ProvisionPlan};
use enos_scenario::{ProviderKind, Scenario};
use indexmap::IndexMap;
use reqwest::Method;
use serde_json::Value;

use crate::allot::{Allotment, Demand, allot};
use crate::api::{ACTIVE_STATES, Api, ApiError, ApiSettings, Collection, Deployment, Job, Named};
use crate::check::G5kKind;
use crate::clusters;
use crate::credentials::G5kCredentials;
use crate::options::{DEFAULT_API_URL, G5kOptions, VlanKind, options};
use crate::request::{SiteJob, deployment_body, job_body, resources, site_jobs, walltime_body};
use crate::state::{DeploymentRecord, G5kState, JobRecord};

/// Grid'5000's SSH gateway, the way in from outside.
pub const ACCESS_HOST: &str = "access.grid5000.fr";
/// The CA bundle python-grid5000 trusts by default: inside Grid'5000 it holds Grid'5000's own
/// CA, which signs the internal API's certificate.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The domain of Grid'5000's hosts.
const DOMAIN: &str = "grid5000.fr";

/// How the waits between two looks at a job or a deployment grow: `first`, then `step` more
/// each time, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBackoff {
    /// The first wait.
    pub first: Duration,
    /// Added to each further wait.
    pub step: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for PollBackoff {
    /// 5 s, 10 s, … up to 60 s (EnOSlib waits 5 s more each time up to 45 s).
    fn default() -> Self {
        PollBackoff {
            first: Duration::from_secs(5),
            step: Duration::from_secs(5),
            max: Duration::from_secs(60),
        }
    }
}

impl PollBackoff {
    /// Every wait `n` waits after the first (from 0).
    fn wait(&self, n: u32) -> Duration {
        self.step
            .saturating_mul(n)
            .saturating_add(self.first)
            .min(self.max)
    }
}

/// How names of hosts are turned into addresses when the reference API gives none (the nodes'
/// names in a VLAN).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NameResolution {
    /// This machine's resolver (DNS): Grid'5000's names resolve inside Grid'5000.
    #[default]
    System,
    /// A fixed table (tests).
    Fixed(BTreeMap<String, IpAddr>),
}

impl NameResolution {
    async fn resolve(&self, name: &str) -> Option<IpAddr> {
        match self {
            NameResolution::Fixed(table) => table.get(name).copied(),
            NameResolution::System => {
                let found: Vec<IpAddr> = tokio::net::lookup_host((name, 22))
                    .await
                    .ok()?
                    .map(|a| a.ip())
                    .collect();
                found
                    .iter()
                    .find(|a| a.is_ipv4())
                    .or(found.first())
                    .copied()
            }
        }
    }
}

/// What the Grid'5000 provider takes from the program rather than from the scenario.
#[derive(Debug, Clone)]
pub struct G5kConfig {
    /// The API's base URL when the scenario gives no `api_url`: [`DEFAULT_API_URL`].
    pub api_url: String,
    /// The credentials to use; `None`: found in `G5K_USERNAME`/`G5K_PASSWORD`, else
    /// `~/.python-grid5000.yaml`. Not used inside Grid'5000.
    pub credentials: Option<G5kCredentials>,
    /// Whether enos runs inside Grid'5000 (no credentials, no jump host); `None`: when this
    /// machine's host name ends in `.grid5000.fr`.
    pub inside_grid5000: Option<bool>,
    /// The Grid'5000 login (job filters, the jump host's user); `None`: the credentials', else
    /// `$USER`.
    pub username: Option<String>,
    /// The waits between two looks at a job or a deployment.
    pub poll: PollBackoff,
    /// Attempts per request, the first included, before server errors (5xx, 429) and transport
    /// failures are reported: 5 by default.
    pub request_attempts: u32,
    /// The wait after a request's first failed attempt, doubled after each further one (up to
    /// 60 s): 2 s by default.
    pub retry_backoff: Duration,
    /// The time limit of one request: 60 s by default.
    pub request_timeout: Duration,
    /// A PEM bundle of trust anchors added to the webpki roots, when it exists:
    /// [`SYSTEM_CA_FILE`] by default.
    pub extra_ca_file: Option<PathBuf>,
    /// The SSH gateway from outside Grid'5000: [`ACCESS_HOST`].
    pub access_host: String,
    /// The private key the gateway knows (the user's Grid'5000 key); `None`: the first of
    /// `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa` that exists.
    pub access_identity: Option<PathBuf>,
    /// How the nodes' names in a VLAN become addresses.
    pub resolution: NameResolution,
}

impl Default for G5kConfig {
    fn default() -> Self {
        G5kConfig {
            api_url: DEFAULT_API_URL.to_owned(),
            credentials: None,
            inside_grid5000: None,
            username: None,
            poll: PollBackoff::default(),
            request_attempts: 5,
            retry_backoff: Duration::from_secs(2),
            request_timeout: Duration::from_secs(60),
            extra_ca_file: Some(PathBuf::from(SYSTEM_CA_FILE)),
            access_host: ACCESS_HOST.to_owned(),
            access_identity: None,
            resolution: NameResolution::System,
        }
    }
}

/// The Grid'5000 provider: one OAR job per Grid'5000 site, kadeploy on its nodes, hosts reached
/// as root (through the SSH gateway from outside).
#[derive(Debug, Clone, Default)]
pub struct G5kProvider {
    config: G5kConfig,
}

impl G5kProvider {
    /// A provider with `config`.
    pub fn new(config: G5kConfig) -> Self {
        G5kProvider { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &G5kConfig {
        &self.config
    }
}

enos_provider::provider_kind_from!(G5kProvider, G5kKind);

/// The options of the scenario `scenario`.
fn options_of(scenario: &Scenario) -> Result<G5kOptions, ProviderError> {
    options(&scenario.provider.options).map_err(ProviderError::new)
}

/// Whether an OAR state is final.
fn is_over(state: &str) -> bool {
    matches!(state, "error" | "terminated")
}

/// Whether this machine is a Grid'5000 frontend or node.
fn host_in_grid5000() -> bool {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().to_ascii_lowercase();
    name.trim_end_matches('.').ends_with(&format!(".{DOMAIN}"))
}

/// The key of this machine's user that the SSH gateway knows: the first of `~/.ssh/id_ed25519`,
/// `id_ecdsa` and `id_rsa` that exists.
fn default_access_identity() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let dir = home.join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| dir.join("id_ed25519"))
}

/// The directory of the experiment's SSH control sockets: short (socket paths are), private,
/// and the same for every command on the experiment.
pub fn control_dir(experiment_dir: &Path) -> PathBuf {
    enos_provider::control_dir_in(&enos_provider::runtime_dir(), 'g', experiment_dir)
}

/// `n` and a noun, plural when `n` is not 1.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// What the API, the credentials and the login are for one command.
struct Session {
    api: Api,
    inside: bool,
    username: Option<String>,
}

impl Session {
    /// The query that finds the active jobs named `name`.
    fn jobs_named<'a>(&'a self, name: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut query = vec![("name", name), ("state", ACTIVE_STATES)];
        if let Some(user) = &self.username {
            query.push(("user", user.as_str()));
        }
        query
    }
}

impl G5kProvider {
    /// Whether enos runs inside Grid'5000.
    fn inside(&self) -> bool {
        self.config.inside_grid5000.unwrap_or_else(host_in_grid5000)
    }

    /// The credentials outside Grid'5000 (an error when there are none), none inside.
    fn credentials(&self, inside: bool) -> Result<Option<G5kCredentials>, ProviderError> {
        if inside {
            return Ok(None);
        }
        if let Some(credentials) = &self.config.credentials {
            return Ok(Some(credentials.clone()));
        }
        match G5kCredentials::discover()? {
            Some(credentials) => Ok(Some(credentials)),
            None => Err(ProviderError::new(
                "no Grid'5000 credentials: outside Grid'5000 the API needs your login and password",
            )
            .with_hint(format!(
                "set {} and {}, or write `username` and `password` in ~/{} (mode 0600)",
                enos_kwollect::USERNAME_VAR,
                enos_kwollect::PASSWORD_VAR,
                enos_kwollect::PYTHON_GRID5000_FILE
            ))),
        }
    }

    /// The API the experiment works with: the one its jobs were submitted to, else the
    /// scenario's, else the configuration's.
    fn api_url(&self, options: &G5kOptions, record: &G5kState) -> String {
        if !record.api_url.is_empty() && !record.jobs.is_empty() {
            return record.api_url.clone();
        }
        options
            .api_url
            .clone()
            .unwrap_or_else(|| self.config.api_url.trim_end_matches('/').to_owned())
    }

    fn session(&self, api_url: &str) -> Result<Session, ProviderError> {
        let inside = self.inside();
        let credentials = self.credentials(inside)?;
        let username = self
            .config
            .username
            .clone()
            .or_else(|| credentials.as_ref().map(|c| c.username().to_owned()))
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()));
        let extra_ca_file = self
            .config
            .extra_ca_file
            .clone()
            .filter(|path| path.is_file());
        let api = Api::new(ApiSettings {
            base_url: api_url.to_owned(),
            credentials,
            attempts: self.config.request_attempts,
            backoff: self.config.retry_backoff,
            timeout: self.config.request_timeout,
            extra_ca_file,
        })
        .map_err(ProviderError::from)?;
        Ok(Session {
            api,
            inside,
            username,
        })
    }

    /// The experiment's public key, made on the first deploy.
    fn client_key(&self, experiment: &Experiment) -> Result<String, ProviderError> {
        let dir = experiment.subdir(enos_core::layout::SSH_DIR)?;
        let private = dir.join(enos_provider::keys::CLIENT_KEY);
        let public = dir.join(format!("{}.pub", enos_provider::keys::CLIENT_KEY));
        if !private.is_file() || !public.is_file() {
            enos_provider::keys::generate(&private, &format!("enos-{}", experiment.state().name))?;
        }
        let key = std::fs::read_to_string(&public)
            .map_err(|e| ProviderError::new(format!("cannot read {}: {e}", public.display())))?;
        Ok(key.trim().to_owned())
    }

    /// Deletes a job; a job that is gone or already killed counts as deleted.
    async fn delete_job(&self, site: &str, uid: u64, session: &Session) -> Result<(), ApiError> {
        match session
            .api
            .delete(&format!("/sites/{site}/jobs/{uid}"))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e)
                if !matches!(e, ApiError::Unauthorized { .. })
                    && e.message().contains("already killed") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// One deploy at work: the provider, the scenario's options, the API session, the record being
/// kept, and where it is saved and progress reported.
struct Deploying<'a> {
    provider: &'a G5kProvider,
    options: &'a G5kOptions,
    session: &'a Session,
    record: G5kState,
    experiment: &'a mut Experiment,
    reporter: &'a dyn Reporter,
}

impl Deploying<'_> {
    /// Records the state in the experiment and saves it.
    fn save(&mut self) -> Result<(), ProviderError> {
        self.record
            .save(self.experiment)
            .map_err(ProviderError::from)
    }

    /// Finds each scenario site's Grid'5000 site: as written, from the built-in table, from the
    /// record, or from the reference API.
    async fn resolve_sites(&mut self, scenario: &Scenario) -> Result<(), ProviderError> {
        let mut catalogue: Option<Vec<(String, Vec<String>)>> = None;
        for site in &scenario.sites {
            let Some(mapping) = self.options.sites.get(&site.name) else {
                return Err(ProviderError::new(format!(
                    "the scenario site '{}' has no cluster under provider.g5k.sites",
                    site.name
                )));
            };
            if let Some(g5k) = &mapping.site {
                self.record.sites.insert(site.name.clone(), g5k.clone());
                continue;
            }
            if self.record.sites.contains_key(&site.name) {
                continue;
            }
            if catalogue.is_none() {
                catalogue = Some(self.catalogue().await?);
            }
            let found = catalogue.iter().flatten().find_map(|(g5k, clusters)| {
                clusters.contains(&mapping.cluster).then(|| g5k.clone())
            });
            let Some(g5k) = found else {
                return Err(ProviderError::new(format!(
                    "no Grid'5000 site has a cluster '{}' (provider.g5k.sites.{}.cluster)",
                    mapping.cluster, site.name
                ))
                .with_hint("see the clusters at https://www.grid5000.fr/w/Hardware"));
            };
            self.reporter.note(&format!(
                "the cluster {} is in {g5k} (from the reference API)",
                mapping.cluster
            ));
            self.record.sites.insert(site.name.clone(), g5k);
        }
        self.save()?;
        Ok(())
    }

    /// Every site with its clusters, from the reference API.
    async fn catalogue(&self) -> Result<Vec<(String, Vec<String>)>, ApiError> {
        let sites: Collection<Named> = self.session.api.get("/sites", &[]).await?;
        let mut catalogue = Vec::new();
        for site in sites.items {
            let clusters: Collection<Named> = self
                .session
                .api
                .get(&format!("/sites/{}/clusters", site.uid), &[])
                .await?;
            catalogue.push((
                site.uid,
                clusters.items.into_iter().map(|c| c.uid).collect(),
            ));
        }
        Ok(catalogue)
    }

    /// Makes sure `job`'s site has an active OAR job: the recorded one, else the active one
    /// named `name`, else a new one.
    async fn ensure_job(&mut self, job: &SiteJob, name: &str) -> Result<(), ProviderError> {
        let site = &job.site;
        if let Some(recorded) = self.record.job_mut(site) {
            let uid = recorded.uid;
            let path = format!("/sites/{site}/jobs/{uid}");
            let state = match self.session.api.get::<Job>(&path, &[]).await {
                Ok(found) => found.state,
                Err(e) if e.status() == Some(404) => "gone".to_owned(),
                Err(e) => return Err(e.into()),
            };
            if !is_over(&state) && state != "gone" {
                recorded.state = state.clone();
                self.reporter
                    .note(&format!("reusing the OAR job {uid} on {site} ({state})"));
                self.save()?;
                return Ok(());
            }
            self.reporter.note(&format!(
                "the OAR job {uid} on {site} is {state}: submitting another"
            ));
            self.record.jobs.retain(|j| j.uid != uid || j.site != *site);
            self.save()?;
        }
        let jobs_path = format!("/sites/{site}/jobs");
        let found: Collection<Job> = self
            .session
            .api
            .get(&jobs_path, &self.session.jobs_named(name))
            .await?;
        let reused = match found.items.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => {
                let uids: Vec<String> = many.iter().map(|j| j.uid.to_string()).collect();
                return Err(ProviderError::new(format!(
                    "{} active OAR jobs are named '{name}' on {site} ({}): which one is this \
                     experiment's is unclear",
                    many.len(),
                    uids.join(", ")
                ))
                .with_hint(format!(
                    "delete the extra ones (oardel on the {site} frontend), or give this \
                     experiment another provider.g5k.job_name"
                )));
            }
        };
        let (found, submitted) = match reused {
            Some(found) => (found, false),
            None => (self.submit(job, name).await?, true),
        };
        self.record.jobs.push(JobRecord {
            site: site.clone(),
            uid: found.uid,
            name: name.to_owned(),
            walltime: self.options.walltime,
            state: found.state.clone(),
            nodes: Vec::new(),
            vlan: None,
            environment: None,
            deployed: Vec::new(),
            failed: Vec::new(),
            deployments: Vec::new(),
        });
        self.save()?;
        if submitted {
            self.reporter.note(&format!(
                "submitted the OAR job {} on {site}: {}",
                found.uid,
                resources(job, self.options)
            ));
        } else {
            self.reporter.note(&format!(
                "reusing the active OAR job {} named '{name}' on {site} ({})",
                found.uid, found.state
            ));
        }
        Ok(())
    }

    /// Submits `job`. A submission that failed on the server's side or on the way may have
    /// created the job: before submitting again, the jobs named `name` are listed.
    async fn submit(&self, job: &SiteJob, name: &str) -> Result<Job, ProviderError> {
        let path = format!("/sites/{}/jobs", job.site);
        let body = job_body(job, self.options, name);
        let mut delays = self.session.api.backoff();
        let mut tries = 0;
        loop {
            tries += 1;
            let failure = match self.session.api.post_once::<Job>(&path, &body).await? {
                Ok(created) => return Ok(created),
                Err(failure) => failure,
            };
            let Some(delay) = delays.next() else {
                return Err(self
                    .session
                    .api
                    .unavailable(Method::POST, &path, tries, failure)
                    .into());
            };
            tracing::warn!(site = %job.site, attempt = tries, %failure, "submitting the OAR job failed; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            let found: Collection<Job> = self
                .session
                .api
                .get(&path, &self.session.jobs_named(name))
                .await?;
            if let Some(created) = found.items.into_iter().next() {
                return Ok(created);
            }
        }
    }

    /// Waits until every job runs; records their nodes and VLANs.
    async fn wait_running(&mut self) -> Result<(), ProviderError> {
        let mut pending: Vec<(String, u64)> = self
            .record
            .jobs
            .iter()
            .map(|j| (j.site.clone(), j.uid))
            .collect();
        let task = self
            .reporter
            .start("waiting for the OAR jobs to run", pending.len() as u64);
        let outcome = self.poll_jobs(&mut pending, task).await;
        self.reporter.finish(task);
        outcome
    }

    async fn poll_jobs(
        &mut self,
        pending: &mut Vec<(String, u64)>,
        task: enos_core::TaskId,
    ) -> Result<(), ProviderError> {
        let mut round = 0;
        let mut announced: BTreeSet<u64> = BTreeSet::new();
        loop {
            let mut waiting = Vec::new();
            for (site, uid) in pending.drain(..) {
                let path = format!("/sites/{site}/jobs/{uid}");
                let job: Job = self.session.api.get(&path, &[]).await?;
                if let Some(recorded) = self.record.job_mut(&site) {
                    recorded.state = job.state.clone();
                    if job.state == "running" {
                        let mut nodes = job.assigned_nodes.clone();
                        nodes.sort_by_key(|n| {
                            (
                                clusters::cluster_of_node(n).to_owned(),
                                clusters::node_number(n),
                            )
                        });
                        recorded.nodes = nodes;
                        recorded.vlan = job.resources_by_type.vlan();
                    }
                }
                self.save()?;
                match job.state.as_str() {
                    "running" => self
                        .reporter
                        .advance(task, &format!("job {uid} on {site}"), true),
                    state if is_over(state) => {
                        self.reporter
                            .advance(task, &format!("job {uid} on {site}"), false);
                        return Err(ProviderError::new(format!(
                            "the OAR job {uid} on {site} ended ({state}) before running{}",
                            job.message
                                .as_deref()
                                .filter(|m| !m.is_empty())
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        ))
                        .with_hint(format!(
                            "oarstat -fj {uid} on the {site} frontend tells why; `enos destroy` \
                             releases the experiment's other jobs, `enos deploy` submits a new one"
                        )));
                    }
                    state => {
                        let predicted = job.scheduled_at.filter(|&at| at > 0);
                        if let (Some(limit), Some(at)) =
                            (self.options.scheduled_at_limit, predicted)
                        {
                            let now = jiff::Timestamp::now().as_second();
                            let limit_secs = i64::try_from(limit.0.as_secs()).unwrap_or(i64::MAX);
                            if at > now.saturating_add(limit_secs) {
                                return Err(self.give_up_late(&site, uid, at, limit).await);
                            }
                        }
                        if let Some(at) = predicted
                            && announced.insert(uid)
                        {
                            let when = jiff::Timestamp::from_second(at)
                                .map(|t| t.to_string())
                                .unwrap_or_else(|_| at.to_string());
                            self.reporter.note(&format!(
                                "the OAR job {uid} on {site} is {state}; OAR predicts it starts at {when}"
                            ));
                        }
                        waiting.push((site, uid));
                    }
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            *pending = waiting;
            tokio::time::sleep(self.provider.config.poll.wait(round)).await;
            round = round.saturating_add(1);
        }
    }

    /// Deletes the job `uid` that OAR predicts starts at `at`, after `limit`; the error to give.
    async fn give_up_late(
        &mut self,
        site: &str,
        uid: u64,
        at: i64,
        limit: enos_scenario::Timeout,
    ) -> ProviderError {
        let when = jiff::Timestamp::from_second(at)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| at.to_string());
        let deleted = match self.provider.delete_job(site, uid, self.session).await {
            Ok(()) => {
                self.record.jobs.retain(|j| j.uid != uid || j.site != site);
                if let Err(e) = self.save() {
                    return e;
                }
                self.reporter
                    .note(&format!("deleted the OAR job {uid} on {site}"));
                "deleted it".to_owned()
            }
            Err(e) => format!("deleting it failed ({e}); `enos destroy` tries again"),
        };
        ProviderError::new(format!(
            "OAR predicts the job {uid} on {site} starts at {when}, later than \
             scheduled_at_limit ({limit}) from now: {deleted}"
        ))
        .with_hint(
            "the nodes are busy: try later, another cluster, or a later start with \
             provider.g5k.reservation; `enos destroy` releases the experiment's other jobs",
        )
    }

    /// Installs the environment on every node of every job that does not have it yet, trying
    /// the nodes that fail again up to `deploy_retries` times.
    async fn kadeploy(&mut self, public_key: &str) -> Result<(), ProviderError> {
        let env = &self.options.env_name;
        let mut todo: IndexMap<String, Vec<String>> = IndexMap::new();
        for job in &mut self.record.jobs {
            if job.environment.as_deref() != Some(env.as_str()) {
                job.deployed.clear();
            }
            job.failed.clear();
            let nodes: Vec<String> = job
                .nodes
                .iter()
                .filter(|n| !job.deployed.contains(n))
                .cloned()
                .collect();
            if !nodes.is_empty() {
                todo.insert(job.site.clone(), nodes);
            }
        }
        self.save()?;
        if todo.is_empty() {
            return Ok(());
        }
        let total: usize = todo.values().map(Vec::len).sum();
        let task = self
            .reporter
            .start(&format!("kadeploy {env}"), total as u64);
        let outcome = self.kadeploy_rounds(todo, public_key, task).await;
        self.reporter.finish(task);
        outcome
    }

    async fn kadeploy_rounds(
        &mut self,
        mut todo: IndexMap<String, Vec<String>>,
        public_key: &str,
        task: enos_core::TaskId,
    ) -> Result<(), ProviderError> {
        let attempts = self.options.deploy_retries.saturating_add(1);
        for attempt in 1..=attempts {
            // Submit one deployment per site, each recorded before the next.
            let mut running: Vec<(String, String)> = Vec::new();
            for (site, nodes) in &todo {
                let vlan = self.record.job_mut(site).and_then(|j| j.vlan.clone());
                let body = deployment_body(nodes, self.options, public_key, vlan.as_deref());
                let created: Deployment = self
                    .session
                    .api
                    .post(&format!("/sites/{site}/deployments"), &body)
                    .await?;
                if let Some(job) = self.record.job_mut(site) {
                    job.environment = Some(self.options.env_name.clone());
                    job.deployments.push(DeploymentRecord {
                        uid: created.uid.clone(),
                        nodes: nodes.clone(),
                        status: created.status.clone(),
                    });
                }
                self.save()?;
                running.push((site.clone(), created.uid));
            }
            // Wait for them all.
            let mut failed: IndexMap<String, Vec<String>> = IndexMap::new();
            let mut round = 0;
            while !running.is_empty() {
                let mut left = Vec::new();
                for (site, uid) in running.drain(..) {
                    let deployment: Deployment = self
                        .session
                        .api
                        .get(&format!("/sites/{site}/deployments/{uid}"), &[])
                        .await?;
                    let nodes = todo.get(&site).cloned().unwrap_or_default();
                    let (ok, ko): (Vec<String>, Vec<String>) = match deployment.status.as_str() {
                        "terminated" => {
                            let result = deployment.result.clone().unwrap_or_default();
                            nodes
                                .iter()
                                .cloned()
                                .partition(|n| result.get(n).is_some_and(|r| r.state == "OK"))
                        }
                        "error" | "canceled" => (Vec::new(), nodes.clone()),
                        _ => {
                            left.push((site, uid));
                            continue;
                        }
                    };
                    if let Some(job) = self.record.job_mut(&site) {
                        if let Some(d) = job.deployments.iter_mut().find(|d| d.uid == uid) {
                            d.status = deployment.status.clone();
                        }
                        for node in &ok {
                            self.reporter.advance(task, node, true);
                            job.deployed.push(node.clone());
                        }
                    }
                    if deployment.status != "terminated" {
                        self.reporter.note(&format!(
                            "the kadeploy deployment {uid} on {site} ended in {}",
                            deployment.status
                        ));
                    }
                    if !ko.is_empty() {
                        failed.insert(site, ko);
                    }
                }
                self.save()?;
                if !left.is_empty() {
                    tokio::time::sleep(self.provider.config.poll.wait(round)).await;
                    round = round.saturating_add(1);
                }
                running = left;
            }
            if failed.is_empty() {
                return Ok(());
            }
            let ko: Vec<&str> = failed.values().flatten().map(String::as_str).collect();
            if attempt < attempts {
                self.reporter.note(&format!(
                    "kadeploy failed on {}: {}; trying them again (attempt {} of {attempts})",
                    count(ko.len(), "node"),
                    ko.join(", "),
                    attempt + 1
                ));
                todo = failed;
            } else {
                self.reporter.note(&format!(
                    "kadeploy failed on {} after {}: {}",
                    count(ko.len(), "node"),
                    count(attempts as usize, "attempt"),
                    ko.join(", ")
                ));
                for (site, nodes) in failed {
                    for node in &nodes {
                        self.reporter.advance(task, node, false);
                    }
                    if let Some(job) = self.record.job_mut(&site) {
                        job.failed = nodes;
                    }
                }
                self.save()?;
            }
        }
        Ok(())
    }

    /// The scenario's hosts given the usable nodes.
    fn allotment(&self, scenario: &Scenario) -> Allotment {
        let mut pools: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for job in &self.record.jobs {
            for node in job.nodes.iter().filter(|n| job.deployed.contains(n)) {
                pools
                    .entry((job.site.clone(), clusters::cluster_of_node(node).to_owned()))
                    .or_default()
                    .push(node.clone());
            }
        }
        let mut demands = Vec::new();
        for site in &scenario.sites {
            let Some(mapping) = self.options.sites.get(&site.name) else {
                continue;
            };
            let g5k = self
                .record
                .sites
                .get(&site.name)
                .cloned()
                .unwrap_or_default();
            for role in &site.roles {
                demands.push(Demand {
                    site: site.name.clone(),
                    role: role.role.clone(),
                    count: role.count,
                    min: mapping.min.get(&role.role).copied().unwrap_or(role.count),
                    pool: (g5k.clone(), mapping.cluster.clone()),
                });
            }
        }
        allot(&demands, &pools)
    }

    /// What went wrong with the nodes, for messages: the nodes kadeploy failed on, and the
    /// clusters OAR gave fewer nodes of than asked.
    fn node_troubles(&self, jobs: &[SiteJob]) -> Vec<String> {
        let mut troubles = Vec::new();
        for job in jobs {
            let Some(recorded) = self.record.jobs.iter().find(|j| j.site == job.site) else {
                continue;
            };
            for (cluster, &asked) in &job.clusters {
                let given = recorded
                    .nodes
                    .iter()
                    .filter(|n| clusters::cluster_of_node(n) == cluster)
                    .count();
                if given < asked as usize {
                    troubles.push(format!(
                        "OAR gave {given} of the {asked} {cluster} nodes asked (job {})",
                        recorded.uid
                    ));
                }
            }
            if !recorded.failed.is_empty() {
                troubles.push(format!("kadeploy failed on {}", recorded.failed.join(", ")));
            }
        }
        troubles
    }

    /// The testbed of `allotment`.
    async fn testbed(&self, allotment: &Allotment) -> Result<Testbed, ProviderError> {
        // Production addresses from the reference API, one request per cluster.
        let mut addresses: BTreeMap<String, IpAddr> = BTreeMap::new();
        if self.options.vlan.is_none() {
            let mut clusters_seen: BTreeSet<(String, String)> = BTreeSet::new();
            for kept in &allotment.kept {
                let g5k = self
                    .record
                    .sites
                    .get(&kept.site)
                    .cloned()
                    .unwrap_or_default();
                let cluster = clusters::cluster_of_node(&kept.node).to_owned();
                if !clusters_seen.insert((g5k.clone(), cluster.clone())) {
                    continue;
                }
                let nodes: Collection<crate::api::Node> = self
                    .session
                    .api
                    .get(&format!("/sites/{g5k}/clusters/{cluster}/nodes"), &[])
                    .await?;
                for node in nodes.items {
                    if let Some(ip) = node.main_address() {
                        addresses.insert(format!("{}.{g5k}.{DOMAIN}", node.uid), IpAddr::V4(ip));
                    }
                }
            }
        }
        let access_identity = self
            .provider
            .config
            .access_identity
            .clone()
            .unwrap_or_else(default_access_identity);
        let mut hosts = Vec::with_capacity(allotment.kept.len());
        for kept in &allotment.kept {
            let g5k = self
                .record
                .sites
                .get(&kept.site)
                .cloned()
                .unwrap_or_default();
            let vlan = self
                .record
                .jobs
                .iter()
                .find(|j| j.site == g5k)
                .and_then(|j| j.vlan.clone());
            let uid = kept.node.split('.').next().unwrap_or(&kept.node);
            let (ssh_name, address) = match (self.options.vlan, &vlan) {
                (Some(_), Some(id)) => {
                    let name = format!("{uid}-kavlan-{id}.{g5k}.{DOMAIN}");
                    let address = self.provider.config.resolution.resolve(&name).await;
                    (name, address)
                }
                (Some(_), None) => {
                    return Err(ProviderError::new(format!(
                        "the OAR job on {g5k} runs but holds no VLAN"
                    )));
                }
                (None, _) => {
                    let address = match addresses.get(&kept.node) {
                        Some(address) => Some(*address),
                        None => self.provider.config.resolution.resolve(&kept.node).await,
                    };
                    (kept.node.clone(), address)
                }
            };
            let Some(address) = address else {
                return Err(ProviderError::new(format!(
                    "no address for {ssh_name} (the host {}): the reference API has none and \
                     it does not resolve here",
                    kept.name
                ))
                .with_hint("Grid'5000's names resolve inside Grid'5000: run enos on a frontend"));
            };
            let mut host = Host::new(&kept.name, &kept.site, &kept.role, address);
            host.ssh_host = Some(ssh_name);
            host.host_key = HostKeySource::LearnOnFirstContact;
            host.jump = match (self.session.inside, self.options.vlan, &vlan) {
                (true, Some(VlanKind::KavlanLocal), Some(id)) => Some(Jump {
                    address: format!("kavlan-{id}.{g5k}.{DOMAIN}"),
                    port: 22,
                    user: self
                        .session
                        .username
                        .clone()
                        .unwrap_or_else(|| "root".to_owned()),
                    identity: Some(access_identity.clone()),
                    host_key: HostKeySource::LearnOnFirstContact,
                }),
                (true, _, _) => None,
                (false, _, _) => Some(Jump {
                    address: self.provider.config.access_host.clone(),
                    port: 22,
                    user: self.session.username.clone().unwrap_or_default(),
                    identity: Some(access_identity.clone()),
                    host_key: HostKeySource::LearnOnFirstContact,
                }),
            };
            hosts.push(host);
        }
        let dir = self.experiment.dir();
        let ssh = SshAccess::in_experiment(
            dir,
            dir.join(enos_core::layout::SSH_DIR)
                .join(enos_provider::keys::CLIENT_KEY),
            control_dir(dir),
        );
        Ok(Testbed {
            hosts,
            networks: Vec::new(),
            ssh,
        })
    }
}

#[async_trait::async_trait]
impl Provider for G5kProvider {
    async fn check(&self) -> Result<(), ProviderError> {
        let ssh = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("ssh").is_file()));
        if !ssh {
            return Err(
                ProviderError::new("the Grid'5000 provider needs OpenSSH's client (ssh)")
                    .with_hint("on Debian or Ubuntu: apt-get install openssh-client"),
            );
        }
        self.credentials(self.inside()).map(drop)
    }

    fn plan(&self, scenario: &Scenario) -> Result<ProvisionPlan, ProviderError> {
        let options = options_of(scenario)?;
        let api = options
            .api_url
            .clone()
            .unwrap_or_else(|| self.config.api_url.trim_end_matches('/').to_owned());
        let mut actions = Vec::new();
        let unknown: Vec<&str> = options
            .sites
            .values()
            .filter(|m| m.site.is_none())
            .map(|m| m.cluster.as_str())
            .collect();
        if !unknown.is_empty() {
            actions.push(PlannedAction::new(
                format!("GET {api}/sites, then GET {api}/sites/<site>/clusters"),
                format!(
                    "find the site of {} (not in the built-in table)",
                    unknown.join(", ")
                ),
            ));
        }
        let site_of = |name: &str| match options.sites.get(name) {
            Some(m) => m
                .site
                .clone()
                .unwrap_or_else(|| format!("<site of {}>", m.cluster)),
            None => "<unknown>".to_owned(),
        };
        let jobs = site_jobs(scenario, &options, site_of);
        let job_name = options.job_name(&scenario.name);
        for job in &jobs {
            actions.push(PlannedAction::new(
                format!(
                    "GET {api}/sites/{}/jobs?name={job_name}&state={ACTIVE_STATES}&user=<login>",
                    job.site
                ),
                "reuse the experiment's recorded job, or the active job of that name, rather \
                 than submit another",
            ));
            let body = serde_json::to_string_pretty(&job_body(job, &options, &job_name))
                .unwrap_or_default();
            let clusters: Vec<String> = job
                .clusters
                .iter()
                .map(|(cluster, n)| format!("{} of {cluster}", count(*n as usize, "node")))
                .collect();
            actions.push(
                PlannedAction::new(
                    format!("POST {api}/sites/{}/jobs", job.site),
                    format!(
                        "the OAR job of {} ({}{})",
                        job.members.join(" and "),
                        clusters.join(", "),
                        options
                            .vlan
                            .map(|v| format!(", a {} VLAN", v.name()))
                            .unwrap_or_default()
                    ),
                )
                .with_body(body),
            );
        }
        for job in &jobs {
            actions.push(PlannedAction::new(
                format!("GET {api}/sites/{}/jobs/<job id>", job.site),
                match options.scheduled_at_limit {
                    Some(limit) => format!(
                        "wait until the job runs; delete it if OAR predicts a start later than \
                         {limit} from now"
                    ),
                    None => "wait until the job runs".to_owned(),
                },
            ));
        }
        for job in &jobs {
            let mut body = serde_json::json!({
                "nodes": ["<the job's nodes>"],
                "environment": options.env_name,
                "key": format!("<the experiment's public key, {}/{}.pub>", enos_core::layout::SSH_DIR, enos_provider::keys::CLIENT_KEY),
            });
            if let (Some(_), Some(map)) = (options.vlan, body.as_object_mut()) {
                map.insert("vlan".into(), Value::from("<the job's VLAN id>"));
            }
            actions.push(
                PlannedAction::new(
                    format!("POST {api}/sites/{}/deployments", job.site),
                    format!(
                        "kadeploy {} on the job's {}, as root with the experiment's key; nodes \
                         that fail are tried again up to {} times",
                        options.env_name,
                        count(job.nodes() as usize, "node"),
                        options.deploy_retries
                    ),
                )
                .with_body(serde_json::to_string_pretty(&body).unwrap_or_default()),
            );
        }
        for job in &jobs {
            match options.vlan {
                None => {
                    for cluster in job.clusters.keys() {
                        actions.push(PlannedAction::new(
                            format!("GET {api}/sites/{}/clusters/{cluster}/nodes", job.site),
                            "the nodes' IPv4 addresses (reference API)",
                        ));
                    }
                }
                Some(kind) => actions.push(PlannedAction::new(
                    format!(
                        "reach the nodes as <node>-kavlan-<VLAN id>.{}.{DOMAIN}",
                        job.site
                    ),
                    format!("{}: the nodes are in the job's VLAN", kind.name()),
                )),
            }
        }
        let through = if self.inside() {
            "directly (inside Grid'5000)".to_owned()
        } else {
            format!(
                "through {} as your Grid'5000 login",
                self.config.access_host
            )
        };
        actions.push(PlannedAction::new(
            format!(
                "reach {} as root {through}",
                count(scenario.hosts().len(), "host")
            ),
            "hosts are named <site>-<role>-<n>; at least `min` per role when nodes fail",
        ));
        Ok(ProvisionPlan {
            provider: self.name().to_owned(),
            actions,
        })
    }

    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError> {
        let scenario = experiment.state().scenario.clone();
        let options = options_of(&scenario)?;
        let mut record = G5kState::of(experiment);
        let api_url = self.api_url(&options, &record);
        record.api_url = api_url.clone();
        let session = self.session(&api_url)?;
        if options.vlan.is_some()
            && !session.inside
            && self.config.resolution == NameResolution::System
        {
            return Err(ProviderError::new(
                "provider.g5k.vlan needs enos to run inside Grid'5000: the nodes' names in a \
                 VLAN resolve only there",
            )
            .with_hint("run enos on a Grid'5000 frontend, or leave `vlan` out"));
        }
        if options.vlan == Some(VlanKind::KavlanLocal) && !session.inside {
            return Err(ProviderError::new(
                "a kavlan-local VLAN is reached through its site's kavlan gateway, which needs \
                 enos to run inside Grid'5000",
            )
            .with_hint("run enos on a Grid'5000 frontend, or use `vlan: kavlan`"));
        }
        let public_key = self.client_key(experiment)?;
        let mut work = Deploying {
            provider: self,
            options: &options,
            session: &session,
            record,
            experiment,
            reporter,
        };
        work.resolve_sites(&scenario).await?;
        let jobs = {
            let sites = &work.record.sites;
            site_jobs(&scenario, &options, |s| {
                sites.get(s).cloned().unwrap_or_default()
            })
        };
        let job_name = options.job_name(&scenario.name);
        for job in &jobs {
            work.ensure_job(job, &job_name).await?;
        }
        work.wait_running().await?;
        work.kadeploy(&public_key).await?;
        let allotment = work.allotment(&scenario);
        let troubles = work.node_troubles(&jobs);
        if !allotment.short.is_empty() {
            let short: Vec<String> = allotment
                .short
                .iter()
                .map(|s| {
                    format!(
                        "{} needs at least {} of role {}, {} usable",
                        s.site,
                        count(s.min as usize, "host"),
                        s.role,
                        s.got
                    )
                })
                .collect();
            let uids: Vec<String> = work
                .record
                .jobs
                .iter()
                .map(|j| format!("{} on {}", j.uid, j.site))
                .collect();
            return Err(ProviderError::new(format!(
                "too few usable nodes: {} ({})",
                short.join("; "),
                troubles.join("; ")
            ))
            .with_hint(format!(
                "the OAR jobs ({}) are kept: `enos deploy` tries the failed nodes again, \
                 `enos destroy` deletes the jobs; provider.g5k.sites.<site>.min.<role> lets the \
                 experiment go on with fewer hosts",
                uids.join(", ")
            )));
        }
        if !allotment.missing.is_empty() {
            reporter.note(&format!(
                "going on with {} of the {} hosts asked ({}): missing {}",
                allotment.kept.len(),
                allotment.kept.len() + allotment.missing.len(),
                troubles.join("; "),
                allotment.missing.join(", ")
            ));
        }
        let testbed = work.testbed(&allotment).await?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&testbed.ssh.control_dir)
            .map_err(|e| {
                ProviderError::new(format!(
                    "cannot create {}: {e}",
                    testbed.ssh.control_dir.display()
                ))
            })?;
        Ok(testbed)
    }

    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let mut record = G5kState::of(experiment);
        if !record.jobs.is_empty() {
            let api_url = if record.api_url.is_empty() {
                let options = options_of(&experiment.state().scenario.clone())?;
                self.api_url(&options, &record)
            } else {
                record.api_url.clone()
            };
            let session = self.session(&api_url)?;
            let task = reporter.start("deleting the OAR jobs", record.jobs.len() as u64);
            let mut failures: Vec<ApiError> = Vec::new();
            for job in record.jobs.clone() {
                match self.delete_job(&job.site, job.uid, &session).await {
                    Ok(()) => {
                        record
                            .jobs
                            .retain(|j| j.uid != job.uid || j.site != job.site);
                        record.save(experiment)?;
                        reporter.advance(task, &format!("job {} on {}", job.uid, job.site), true);
                        reporter.note(&format!("deleted the OAR job {} on {}", job.uid, job.site));
                    }
                    Err(e @ ApiError::Unauthorized { .. }) => {
                        reporter.finish(task);
                        return Err(e.into());
                    }
                    Err(e) => {
                        reporter.advance(task, &format!("job {} on {}", job.uid, job.site), false);
                        failures.push(e);
                    }
                }
            }
            reporter.finish(task);
            if let Some(first) = failures.into_iter().next() {
                let left: Vec<String> = record
                    .jobs
                    .iter()
                    .map(|j| format!("{} on {}", j.uid, j.site))
                    .collect();
                let hint = first.hint();
                let error = ProviderError::new(format!(
                    "cannot delete the OAR job{} {}: {first}",
                    if left.len() == 1 { "" } else { "s" },
                    left.join(", ")
                ));
                return Err(error.with_hint(hint.unwrap_or_else(|| {
                    "they stay recorded: `enos destroy` tries again".to_owned()
                })));
            }
        }
        experiment.state_mut().provider_state = Value::Null;
        experiment.save()?;
        let dir = control_dir(experiment.dir());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| ProviderError::new(format!("cannot remove {}: {e}", dir.display())))?;
        }
        Ok(())
    }

    async fn extend(
        &self,
        experiment: &mut Experiment,
        by: Duration,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let mut record = G5kState::of(experiment);
        if record.jobs.is_empty() {
            return Err(ProviderError::new(
                "the experiment has no OAR job: there is nothing to extend",
            )
            .with_hint("`enos deploy` submits the jobs"));
        }
        let options = options_of(&experiment.state().scenario.clone())?;
        let api_url = self.api_url(&options, &record);
        let session = self.session(&api_url)?;
        let body = walltime_body(by);
        let added = by.as_nanos().div_ceil(60_000_000_000) as u64 * 60;
        for at in 0..record.jobs.len() {
            let (site, uid) = (record.jobs[at].site.clone(), record.jobs[at].uid);
            session
                .api
                .post_accepted(&format!("/sites/{site}/jobs/{uid}/walltime"), &body)
                .await?;
            let job = &mut record.jobs[at];
            job.walltime = job.walltime.plus_seconds(added);
            record.save(experiment)?;
            reporter.note(&format!(
                "asked OAR to extend the job {uid} on {site} by {} (walltime {} if granted)",
                body["walltime"].as_str().unwrap_or_default(),
                record.jobs[at].walltime
            ));
        }
        Ok(())
    }

    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)> {
        let mut rows = vec![("provider".to_owned(), "g5k".to_owned())];
        let record = G5kState::of(experiment);
        if record.jobs.is_empty() {
            rows.push(("OAR jobs".to_owned(), "none".to_owned()));
            return rows;
        }
        let jobs: Vec<String> = record
            .jobs
            .iter()
            .map(|j| format!("{} on {} ({})", j.uid, j.site, j.state))
            .collect();
        rows.push(("OAR jobs".to_owned(), jobs.join(", ")));
        let walltimes: BTreeSet<String> =
            record.jobs.iter().map(|j| j.walltime.to_string()).collect();
        rows.push((
            "walltime".to_owned(),
            walltimes.into_iter().collect::<Vec<_>>().join(", "),
        ));
        let sites: Vec<String> = record
            .sites
            .iter()
            .map(|(site, g5k)| format!("{site} on {g5k}"))
            .collect();
        rows.push(("sites".to_owned(), sites.join(", ")));
        let deployed: usize = record.jobs.iter().map(|j| j.deployed.len()).sum();
        let failed: usize = record.jobs.iter().map(|j| j.failed.len()).sum();
        if let Some(env) = record.jobs.iter().find_map(|j| j.environment.clone()) {
            rows.push((
                "kadeploy".to_owned(),
                format!(
                    "{env} on {}{}",
                    count(deployed, "node"),
                    if failed > 0 {
                        format!(", failed on {failed}")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        if let Some(vlan) = record.jobs.iter().find_map(|j| j.vlan.clone()) {
            rows.push(("VLAN".to_owned(), vlan));
        }
        rows.push(("API".to_owned(), record.api_url));
        rows
    }
}
