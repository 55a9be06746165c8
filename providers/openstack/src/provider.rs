//! The OpenStack provider at run time: deploy makes (or finds again) the lease, the network,
//! subnet and router, the security group, the keypair and one Nova server per host, waits for
//! them, and puts one floating IP on the first host, through which the others are reached;
//! destroy removes what it made. Every id is saved in the experiment's state right after its
//! creation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use enos_core::{
    Become, Experiment, Host, HostKeySource, Jump, Reporter, SiteNetwork, SshAccess, Testbed,
};
use enos_provider::{PlannedAction, Provider, ProviderError, ProvisionPlan, keys};
use enos_scenario::{HostPlan, Scenario};
use indexmap::IndexMap;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::text;
use crate::check::{OpenStackKind, parse_cidr};
use crate::client::{Cloud, Service, Settings};
use crate::credentials::{Credentials, default_search_dirs};
use crate::model::{Lease, LeaseRequest, NetworkChoice, OpenStackOptions, options};
use crate::state::{FloatingIp, Made, OpenStackState};
use crate::times;

/// The metadata key that marks a server as the experiment's.
const EXPERIMENT_METADATA: &str = "enos_experiment";

/// How the provider runs: what the scenario does not say.
#[derive(Clone)]
pub struct OpenStackConfig {
    /// Where the `OS_*` variables are read from; `None`: this process's environment, read
    /// when credentials are needed.
    pub environment: Option<BTreeMap<String, String>>,
    /// The directories searched for clouds.yaml (and secure.yaml), in order; by default the
    /// working directory, `~/.config/openstack` and `/etc/openstack`.
    pub clouds_yaml_dirs: Vec<PathBuf>,
    /// The wait between two looks at servers, leases and deletions: 5 s by default.
    pub poll_interval: Duration,
    /// How long servers may take to become ACTIVE: 30 minutes by default (bare-metal hosts
    /// take 10 to 20).
    pub server_timeout: Duration,
    /// How long a lease may take to become ACTIVE after its start: 15 minutes by default.
    pub lease_timeout: Duration,
    /// How long deleted servers may take to disappear: 10 minutes by default.
    pub delete_timeout: Duration,
    /// Attempts per request before a server error or a transport failure is reported: 5 by
    /// default.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one (up to 30 s):
    /// 2 s by default.
    pub backoff: Duration,
    /// Time limit of one request: 60 s by default.
    pub request_timeout: Duration,
}

impl Default for OpenStackConfig {
    fn default() -> Self {
        Self {
            environment: None,
            clouds_yaml_dirs: default_search_dirs(),
            poll_interval: Duration::from_secs(5),
            server_timeout: Duration::from_secs(30 * 60),
            lease_timeout: Duration::from_secs(15 * 60),
            delete_timeout: Duration::from_secs(10 * 60),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for OpenStackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The environment holds secrets: only how many variables it has is shown.
        let environment = self
            .environment
            .as_ref()
            .map(|env| format!("{} variables", env.len()));
        f.debug_struct("OpenStackConfig")
            .field("environment", &environment)
            .field("clouds_yaml_dirs", &self.clouds_yaml_dirs)
            .field("poll_interval", &self.poll_interval)
            .field("server_timeout", &self.server_timeout)
            .field("lease_timeout", &self.lease_timeout)
            .field("delete_timeout", &self.delete_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// The OpenStack provider.
#[derive(Debug, Clone, Default)]
pub struct OpenStackProvider {
    config: OpenStackConfig,
}

impl OpenStackProvider {
    /// A provider running with `config`.
    pub fn new(config: OpenStackConfig) -> Self {
        Self { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &OpenStackConfig {
        &self.config
    }

    /// The credentials the options lead to.
    pub fn credentials(&self, options: &OpenStackOptions) -> Result<Credentials, ProviderError> {
        let process;
        let env = match &self.config.environment {
            Some(env) => env,
            None => {
                process = std::env::vars().collect::<BTreeMap<_, _>>();
                &process
            }
        };
        Credentials::discover(
            options.cloud.as_deref(),
            options.region.as_deref(),
            env,
            &self.config.clouds_yaml_dirs,
        )
        .map_err(|e| {
            ProviderError::new(e).with_hint(
                "the openstack provider reads an openrc file's OS_* variables, or the clouds.yaml \
                 entry named by `cloud:` or OS_CLOUD",
            )
        })
    }

    fn cloud(&self, options: &OpenStackOptions) -> Result<Cloud, ProviderError> {
        let credentials = self.credentials(options)?;
        Ok(Cloud::new(
            credentials,
            Settings {
                max_attempts: self.config.max_attempts,
                backoff: self.config.backoff,
                request_timeout: self.config.request_timeout,
            },
        )?)
    }
}

enos_provider::provider_kind_from!(OpenStackProvider, OpenStackKind);

fn options_of(scenario: &Scenario) -> Result<OpenStackOptions, ProviderError> {
    options(&scenario.provider.options).map_err(ProviderError::new)
}

/// The name of what is made for the scenario: `enos-<scenario>`.
fn resource_name(scenario: &Scenario) -> String {
    format!("enos-{}", scenario.name)
}

/// The description put on what is made.
fn description(scenario: &Scenario) -> String {
    format!("made by enos for the experiment {}", scenario.name)
}

/// The directory of the experiment's SSH control sockets: short (socket paths are), private,
/// and the same for every command on the experiment.
fn control_dir(experiment_dir: &Path) -> PathBuf {
    enos_provider::control_dir_in(&enos_provider::runtime_dir(), 'o', experiment_dir)
}

/// A server's body for `POST /servers`.
struct ServerSpec<'a> {
    host: &'a HostPlan,
    scenario: &'a str,
    image: &'a str,
    flavour: &'a str,
    network: &'a str,
    security_groups: &'a [String],
    key_name: &'a str,
    availability_zone: Option<&'a str>,
    user_data: Option<&'a str>,
    reservation: Option<&'a str>,
}

impl ServerSpec<'_> {
    fn body(&self) -> Value {
        let mut server = json!({
            "name": self.host.name,
            "imageRef": self.image,
            "flavorRef": self.flavour,
            "networks": [{"uuid": self.network}],
            "key_name": self.key_name,
            "security_groups": self
                .security_groups
                .iter()
                .map(|g| json!({"name": g}))
                .collect::<Vec<_>>(),
            "metadata": {EXPERIMENT_METADATA: self.scenario, "enos_host": self.host.name},
        });
        if let Some(zone) = self.availability_zone {
            server["availability_zone"] = json!(zone);
        }
        if let Some(user_data) = self.user_data {
            server["user_data"] = json!(user_data);
        }
        let mut body = json!({"server": server});
        if let Some(reservation) = self.reservation {
            body["os:scheduler_hints"] = json!({"reservation": reservation});
        }
        body
    }
}

/// The cloud-init data that puts the experiment's key on the image's user, when the servers
/// get a keypair of the user's.
fn user_data(public_key: &str) -> String {
    let text = format!("#cloud-config\nssh_authorized_keys:\n  - {public_key}\n");
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The lease's body for `POST /leases`.
fn lease_body(name: &str, start: &str, end: &str, hosts: usize, request: &LeaseRequest) -> Value {
    json!({
        "name": name,
        "start_date": start,
        "end_date": end,
        "reservations": [{
            "resource_type": "physical:host",
            "min": hosts,
            "max": hosts,
            "hypervisor_properties": "",
            "resource_properties": request.resource_properties.clone().unwrap_or_default(),
        }],
        "events": [],
    })
}

/// The rules of the experiment's security group: SSH and ping from anywhere, everything
/// between its members.
fn security_group_rules(group: &str) -> Vec<Value> {
    vec![
        json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}}),
        json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "ethertype": "IPv4", "protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"}}),
        json!({"security_group_rule": {"security_group_id": group, "direction": "ingress", "ethertype": "IPv4", "remote_group_id": group}}),
    ]
}

/// The public key in `path` as `<type> <base64>`.
fn read_public_key(path: &Path) -> Result<String, ProviderError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProviderError::new(format!("cannot read {}: {e}", path.display())))?;
    Ok(key_core(&text))
}

/// `<type> <base64>` of a public key line (no comment).
fn key_core(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The servers' network, as found or made.
struct Net {
    id: String,
    name: String,
    cidr: String,
    gateway: IpAddr,
}

/// The Neutron things made for the experiment, each in its slot of the state.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Network,
    Subnet,
    Router,
    SecurityGroup,
}

impl Slot {
    fn path(self) -> &'static str {
        match self {
            Slot::Network => "/networks",
            Slot::Subnet => "/subnets",
            Slot::Router => "/routers",
            Slot::SecurityGroup => "/security-groups",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Slot::Network => "network",
            Slot::Subnet => "subnet",
            Slot::Router => "router",
            Slot::SecurityGroup => "security_group",
        }
    }

    fn list_key(self) -> &'static str {
        match self {
            Slot::Network => "networks",
            Slot::Subnet => "subnets",
            Slot::Router => "routers",
            Slot::SecurityGroup => "security_groups",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Slot::Network => "network",
            Slot::Subnet => "subnet",
            Slot::Router => "router",
            Slot::SecurityGroup => "security group",
        }
    }

    fn of(self, state: &mut OpenStackState) -> &mut Option<Made> {
        match self {
            Slot::Network => &mut state.network,
            Slot::Subnet => &mut state.subnet,
            Slot::Router => &mut state.router,
            Slot::SecurityGroup => &mut state.security_group,
        }
    }
}

/// One deploy or destroy: the cloud, the experiment and what is recorded.
struct Run<'a> {
    cloud: Cloud,
    experiment: &'a mut Experiment,
    state: OpenStackState,
    options: OpenStackOptions,
    scenario: Scenario,
    reporter: &'a dyn Reporter,
    config: &'a OpenStackConfig,
}

impl Run<'_> {
    fn save(&mut self) -> Result<(), ProviderError> {
        self.state.save(self.experiment)
    }

    fn name(&self) -> String {
        resource_name(&self.scenario)
    }

    /// Filters that keep lists to the project's own things (an admin sees every project's).
    fn project_filter(&self) -> Vec<(&'static str, String)> {
        self.cloud
            .project_id()
            .map(|p| vec![("project_id", p.to_owned())])
            .unwrap_or_default()
    }

    /// The lease: none, the reservation given, or one made through Blazar and waited for.
    async fn lease(&mut self) -> Result<(), ProviderError> {
        let request = match self.options.lease.clone() {
            None => {
                self.state.reservation = None;
                return Ok(());
            }
            Some(Lease::Reservation(id)) => {
                self.state.reservation = Some(id);
                return self.save();
            }
            Some(Lease::Create(request)) => request,
        };
        let name = self.name();
        let mut lease = None;
        if let Some(made) = self.state.lease.clone() {
            lease = self
                .cloud
                .get(
                    Service::Reservation,
                    &format!("/leases/{}", made.id),
                    "lease",
                )
                .await?;
            if lease.is_none() {
                self.state.lease = None;
                self.state.reservation = None;
                self.save()?;
            }
        } else {
            // Made by a deploy that stopped before recording it?
            let leases = self
                .cloud
                .list(Service::Reservation, "/leases", "leases", &[])
                .await?;
            if let Some(found) = leases.into_iter().find(|l| text(l, "name") == name) {
                self.state.lease = Some(Made {
                    id: text(&found, "id").to_owned(),
                    name: name.clone(),
                    created: true,
                });
                self.save()?;
                lease = Some(found);
            }
        }
        let hosts = self.scenario.hosts().len();
        let mut lease = match lease {
            Some(lease) => lease,
            None => {
                let (start, end, _) =
                    times::window(&request, jiff::Timestamp::now()).map_err(ProviderError::new)?;
                let body = lease_body(&name, &start, &end, hosts, &request);
                let made = self
                    .cloud
                    .send_json(
                        Service::Reservation,
                        Method::POST,
                        "/leases",
                        &body,
                        "lease",
                    )
                    .await
                    .map_err(|e| e.context(format!("creating the Blazar lease {name}")))?;
                let id = text(&made, "id").to_owned();
                if id.is_empty() {
                    return Err(ProviderError::new(format!(
                        "Blazar made the lease {name} but gave no id"
                    )));
                }
                self.state.lease = Some(Made {
                    id: id.clone(),
                    name: name.clone(),
                    created: true,
                });
                self.save()?;
                self.reporter.note(&format!(
                    "made the Blazar lease {name} ({id}) of {hosts} host{} from {start} to {end} \
                     (UTC)",
                    if hosts == 1 { "" } else { "s" }
                ));
                made
            }
        };
        let id = text(&lease, "id").to_owned();
        let start = lease_start(&lease).unwrap_or_else(jiff::Timestamp::now);
        let deadline = Instant::now()
            + start
                .duration_since(jiff::Timestamp::now())
                .try_into()
                .unwrap_or(Duration::ZERO)
            + self.config.lease_timeout;
        let mut noted = false;
        loop {
            match text(&lease, "status") {
                "ACTIVE" => break,
                "ERROR" | "TERMINATED" | "TERMINATING" | "DELETING" => {
                    return Err(ProviderError::new(format!(
                        "the Blazar lease {name} ({id}) is {}{}",
                        text(&lease, "status"),
                        lease_problem(&lease)
                    ))
                    .with_hint("destroy the experiment, then deploy again (a new lease is made)"));
                }
                status => {
                    if Instant::now() >= deadline {
                        return Err(ProviderError::new(format!(
                            "the Blazar lease {name} ({id}) is still {status} {} after its start",
                            humanize(self.config.lease_timeout)
                        )));
                    }
                    if !noted {
                        self.reporter.note(&format!(
                            "waiting for the Blazar lease {name} to start ({status})"
                        ));
                        noted = true;
                    }
                }
            }
            tokio::time::sleep(self.config.poll_interval).await;
            lease = self
                .cloud
                .get(Service::Reservation, &format!("/leases/{id}"), "lease")
                .await?
                .ok_or_else(|| {
                    ProviderError::new(format!("the Blazar lease {name} ({id}) disappeared"))
                })?;
        }
        let reservation = lease["reservations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| text(r, "resource_type") == "physical:host")
            .map(|r| text(r, "id").to_owned())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "the Blazar lease {name} ({id}) has no host reservation"
                ))
            })?;
        self.state.reservation = Some(reservation);
        self.save()
    }

    /// The image's id.
    async fn image(&mut self) -> Result<String, ProviderError> {
        let wanted = self.options.image.clone();
        let found = self
            .cloud
            .list(Service::Image, "/images", "images", &[("name", &wanted)])
            .await?;
        match found.as_slice() {
            [one] => return Ok(text(one, "id").to_owned()),
            [] => {}
            many => {
                let ids: Vec<&str> = many.iter().map(|i| text(i, "id")).collect();
                return Err(ProviderError::new(format!(
                    "{} images are named {wanted} ({}): give the one to boot by its id in \
                     `provider.openstack.image`",
                    many.len(),
                    ids.join(", ")
                )));
            }
        }
        match self
            .cloud
            .get(Service::Image, &format!("/images/{wanted}"), "")
            .await
        {
            Ok(Some(image)) if !text(&image, "id").is_empty() => Ok(text(&image, "id").to_owned()),
            Ok(_) | Err(_) => Err(ProviderError::new(format!(
                "the cloud has no image named {wanted} (nor of that id)"
            ))
            .with_hint("`openstack image list` shows the images the project sees")),
        }
    }

    /// The ids of the flavours the roles use, by the text the options give.
    async fn flavours(&mut self) -> Result<HashMap<String, String>, ProviderError> {
        let mut wanted: Vec<String> = Vec::new();
        for host in self.scenario.hosts() {
            if let Some(f) = self.options.flavour_of(&host.role)
                && !wanted.iter().any(|w| w == f)
            {
                wanted.push(f.to_owned());
            }
        }
        let listed = self
            .cloud
            .list(Service::Compute, "/flavors", "flavors", &[])
            .await?;
        let mut ids = HashMap::new();
        for flavour in wanted {
            let by_name: Vec<&Value> = listed
                .iter()
                .filter(|f| text(f, "name") == flavour || text(f, "id") == flavour)
                .collect();
            let id = match by_name.as_slice() {
                [one] => text(one, "id").to_owned(),
                _ => match self
                    .cloud
                    .get(Service::Compute, &format!("/flavors/{flavour}"), "flavor")
                    .await
                {
                    Ok(Some(f)) if !text(&f, "id").is_empty() => text(&f, "id").to_owned(),
                    _ => {
                        let names: Vec<&str> = listed.iter().map(|f| text(f, "name")).collect();
                        return Err(ProviderError::new(format!(
                            "the cloud has no flavour {flavour} (it has {})",
                            names.join(", ")
                        )));
                    }
                },
            };
            ids.insert(flavour, id);
        }
        Ok(ids)
    }

    /// The external network's id: the one named, or the first external one.
    async fn external_network(&mut self) -> Result<String, ProviderError> {
        let external = self
            .cloud
            .list(
                Service::Network,
                "/networks",
                "networks",
                &[("router:external", "true")],
            )
            .await?;
        let names: Vec<&str> = external.iter().map(|n| text(n, "name")).collect();
        let chosen = match &self.options.external_network {
            Some(wanted) => external
                .iter()
                .find(|n| text(n, "name") == wanted || text(n, "id") == wanted)
                .ok_or_else(|| {
                    ProviderError::new(format!(
                        "the cloud has no external network {wanted} (its external networks: {})",
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?,
            None => external.first().ok_or_else(|| {
                ProviderError::new(
                    "the cloud lists no external network: the floating IP comes from one",
                )
                .with_hint("name one with `provider.openstack.external_network`")
            })?,
        };
        Ok(text(chosen, "id").to_owned())
    }

    /// The Neutron thing of `slot`: the one recorded, else the one of the experiment's name
    /// found on the cloud (made by a deploy that stopped before recording it), else a new
    /// one made with `body`. Whether it was made now.
    async fn ensure(
        &mut self,
        slot: Slot,
        filters: &[(&'static str, String)],
        body: Value,
    ) -> Result<(Value, bool), ProviderError> {
        let name = self.name();
        if let Some(made) = slot.of(&mut self.state).clone() {
            let path = format!("{}/{}", slot.path(), made.id);
            if let Some(found) = self.cloud.get(Service::Network, &path, slot.key()).await? {
                return Ok((found, false));
            }
            *slot.of(&mut self.state) = None;
            self.save()?;
        }
        let mut query: Vec<(&str, String)> = vec![("name", name.clone())];
        query.extend(filters.iter().cloned());
        query.extend(self.project_filter());
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let found = self
            .cloud
            .list(Service::Network, slot.path(), slot.list_key(), &query)
            .await?;
        if let Some(existing) = found.into_iter().next() {
            *slot.of(&mut self.state) = Some(Made {
                id: text(&existing, "id").to_owned(),
                name,
                created: true,
            });
            self.save()?;
            return Ok((existing, false));
        }
        let made = self
            .cloud
            .send_json(
                Service::Network,
                Method::POST,
                slot.path(),
                &json!({slot.key(): body}),
                slot.key(),
            )
            .await
            .map_err(|e| e.context(format!("creating the {} {name}", slot.what())))?;
        let id = text(&made, "id").to_owned();
        *slot.of(&mut self.state) = Some(Made {
            id: id.clone(),
            name: name.clone(),
            created: true,
        });
        self.save()?;
        tracing::info!(what = slot.what(), %name, %id, "openstack: made");
        Ok((made, true))
    }

    /// The servers' network: the one named, or a network, subnet and router made for the
    /// experiment.
    async fn network(&mut self, external: &str) -> Result<Net, ProviderError> {
        let name = self.name();
        let description = description(&self.scenario);
        let (cidr, dns) = match self.options.network.clone() {
            NetworkChoice::Existing { name: wanted } => {
                return self.existing_network(&wanted).await;
            }
            NetworkChoice::Create {
                cidr,
                dns_nameservers,
            } => (cidr, dns_nameservers),
        };
        let (network, made) = self
            .ensure(
                Slot::Network,
                &[],
                json!({"name": name, "admin_state_up": true, "description": description}),
            )
            .await?;
        let network_id = text(&network, "id").to_owned();
        let mut subnet_body = json!({
            "name": name,
            "network_id": network_id,
            "ip_version": 4,
            "cidr": cidr,
            "description": description,
        });
        if !dns.is_empty() {
            subnet_body["dns_nameservers"] = json!(dns);
        }
        let (subnet, _) = self
            .ensure(
                Slot::Subnet,
                &[("network_id", network_id.clone())],
                subnet_body,
            )
            .await?;
        let subnet_id = text(&subnet, "id").to_owned();
        let (router, _) = self
            .ensure(
                Slot::Router,
                &[],
                json!({
                    "name": name,
                    "description": description,
                    "external_gateway_info": {"network_id": external},
                }),
            )
            .await?;
        let router_id = text(&router, "id").to_owned();
        if !self.state.router_interface {
            let ports = self
                .cloud
                .list(
                    Service::Network,
                    "/ports",
                    "ports",
                    &[("device_id", &router_id), ("network_id", &network_id)],
                )
                .await?;
            if ports.is_empty() {
                self.cloud
                    .send_json(
                        Service::Network,
                        Method::PUT,
                        &format!("/routers/{router_id}/add_router_interface"),
                        &json!({"subnet_id": subnet_id}),
                        "",
                    )
                    .await
                    .map_err(|e| {
                        e.context(format!(
                            "adding the router {name}'s interface on its subnet"
                        ))
                    })?;
            }
            self.state.router_interface = true;
            self.save()?;
        }
        if made {
            self.reporter.note(&format!(
                "made the network {name} ({cidr}) and its router to the external network"
            ));
        }
        Ok(Net {
            id: network_id,
            name,
            gateway: gateway_of(&subnet, &cidr),
            cidr,
        })
    }

    /// An existing network, used as it is.
    async fn existing_network(&mut self, wanted: &str) -> Result<Net, ProviderError> {
        let found = self
            .cloud
            .list(
                Service::Network,
                "/networks",
                "networks",
                &[("name", wanted)],
            )
            .await?;
        let network = match found.as_slice() {
            [one] => one.clone(),
            [] => self
                .cloud
                .get(Service::Network, &format!("/networks/{wanted}"), "network")
                .await?
                .ok_or_else(|| {
                    ProviderError::new(format!("the cloud has no network named {wanted}"))
                })?,
            many => {
                return Err(ProviderError::new(format!(
                    "{} networks are named {wanted}: give the one to use by its id",
                    many.len()
                )));
            }
        };
        let id = text(&network, "id").to_owned();
        let name = text(&network, "name").to_owned();
        self.state.network = Some(Made {
            id: id.clone(),
            name: name.clone(),
            created: false,
        });
        self.save()?;
        let subnets = self
            .cloud
            .list(
                Service::Network,
                "/subnets",
                "subnets",
                &[("network_id", &id)],
            )
            .await?;
        let subnet = subnets
            .iter()
            .find(|s| s["ip_version"].as_u64() == Some(4))
            .ok_or_else(|| ProviderError::new(format!("the network {name} has no IPv4 subnet")))?;
        let cidr = text(subnet, "cidr").to_owned();
        Ok(Net {
            id,
            name,
            gateway: gateway_of(subnet, &cidr),
            cidr,
        })
    }

    /// The security groups of the servers: those the options name, or the experiment's own.
    async fn security_groups(&mut self) -> Result<Vec<String>, ProviderError> {
        if let Some(groups) = &self.options.security_groups {
            return Ok(groups.clone());
        }
        let name = self.name();
        let description = description(&self.scenario);
        let (group, made) = self
            .ensure(
                Slot::SecurityGroup,
                &[],
                json!({"name": name, "description": description}),
            )
            .await?;
        let id = text(&group, "id").to_owned();
        if made {
            self.state.security_group_rules = false;
        }
        if !self.state.security_group_rules {
            for rule in security_group_rules(&id) {
                match self
                    .cloud
                    .send_json(
                        Service::Network,
                        Method::POST,
                        "/security-group-rules",
                        &rule,
                        "",
                    )
                    .await
                {
                    Ok(_) => {}
                    // The rule is there already.
                    Err(e) if e.status == Some(409) => {}
                    Err(e) => {
                        return Err(e
                            .context(format!("adding a rule to the security group {name}"))
                            .into());
                    }
                }
            }
            self.state.security_group_rules = true;
            self.save()?;
        }
        Ok(vec![id])
    }

    /// The keypair's name: the user's, or one made from the experiment's key.
    async fn keypair(&mut self, public_key: &str) -> Result<String, ProviderError> {
        if let Some(key_name) = self.options.key_name.clone() {
            let found = self
                .cloud
                .get(
                    Service::Compute,
                    &format!("/os-keypairs/{key_name}"),
                    "keypair",
                )
                .await?;
            if found.is_none() {
                return Err(ProviderError::new(format!(
                    "the cloud has no keypair {key_name} (`key_name`) for this user"
                ))
                .with_hint("`openstack keypair list` shows them; without `key_name` one is made"));
            }
            return Ok(key_name);
        }
        let name = self.name();
        let found = self
            .cloud
            .get(Service::Compute, &format!("/os-keypairs/{name}"), "keypair")
            .await?;
        if let Some(found) = found {
            if key_core(text(&found, "public_key")) == public_key {
                if self.state.keypair.is_none() {
                    self.state.keypair = Some(Made {
                        id: name.clone(),
                        name: name.clone(),
                        created: true,
                    });
                    self.save()?;
                }
                return Ok(name);
            }
            if self.state.keypair.as_ref().is_some_and(|k| k.created) {
                // Ours, with a key the experiment no longer has: replaced.
                self.cloud
                    .delete(Service::Compute, &format!("/os-keypairs/{name}"))
                    .await?;
            } else {
                return Err(ProviderError::new(format!(
                    "the keypair {name} exists with another key (another experiment named {}?)",
                    self.scenario.name
                ))
                .with_hint(format!(
                    "destroy that experiment, or delete the keypair (`openstack keypair delete \
                     {name}`)"
                )));
            }
        }
        self.cloud
            .send_json(
                Service::Compute,
                Method::POST,
                "/os-keypairs",
                &json!({"keypair": {"name": name, "public_key": public_key}}),
                "keypair",
            )
            .await
            .map_err(|e| e.context(format!("creating the keypair {name}")))?;
        self.state.keypair = Some(Made {
            id: name.clone(),
            name: name.clone(),
            created: true,
        });
        self.save()?;
        Ok(name)
    }

    /// Deletes the servers `ids` and waits until they are gone.
    async fn delete_servers(&mut self, ids: &[String]) -> Result<(), ProviderError> {
        for id in ids {
            self.cloud
                .delete(Service::Compute, &format!("/servers/{id}"))
                .await
                .map_err(|e| e.context(format!("deleting the server {id}")))?;
        }
        let deadline = Instant::now() + self.config.delete_timeout;
        let mut left: Vec<String> = ids.to_vec();
        loop {
            let mut still = Vec::new();
            for id in left {
                if let Some(server) = self
                    .cloud
                    .get(Service::Compute, &format!("/servers/{id}"), "server")
                    .await?
                    && text(&server, "status") != "DELETED"
                {
                    still.push(id);
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ProviderError::new(format!(
                    "the server{} {} still exist{} {} after being deleted",
                    if still.len() == 1 { "" } else { "s" },
                    still.join(", "),
                    if still.len() == 1 { "s" } else { "" },
                    humanize(self.config.delete_timeout)
                )));
            }
            left = still;
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// One server per host: those recorded (a server in ERROR is replaced), those of the
    /// experiment found by name, and new ones.
    async fn servers(
        &mut self,
        image: &str,
        flavours: &HashMap<String, String>,
        net: &Net,
        security_groups: &[String],
        key_name: &str,
        user_data: Option<&str>,
    ) -> Result<(), ProviderError> {
        let hosts = self.scenario.hosts();
        let task = self.reporter.start("creating servers", hosts.len() as u64);
        let result = async {
            for host in &hosts {
                if let Some(id) = self.state.servers.get(&host.name).cloned() {
                    let server = self
                        .cloud
                        .get(Service::Compute, &format!("/servers/{id}"), "server")
                        .await?;
                    match server.as_ref().map(|s| text(s, "status")) {
                        Some("ERROR") => {
                            self.reporter.note(&format!(
                                "the server {} is in ERROR: it is replaced",
                                host.name
                            ));
                            self.delete_servers(std::slice::from_ref(&id)).await?;
                        }
                        Some("DELETED" | "SOFT_DELETED") | None => {}
                        Some(_) => {
                            self.reporter.advance(task, &host.name, true);
                            continue;
                        }
                    }
                    self.state.servers.shift_remove(&host.name);
                    self.save()?;
                } else if let Some(id) = self.find_server(host).await? {
                    self.state.servers.insert(host.name.clone(), id);
                    self.save()?;
                    self.reporter.advance(task, &host.name, true);
                    continue;
                }
                let flavour = self
                    .options
                    .flavour_of(&host.role)
                    .and_then(|f| flavours.get(f))
                    .ok_or_else(|| {
                        ProviderError::new(format!("the role {} has no flavour", host.role))
                    })?;
                let spec = ServerSpec {
                    host,
                    scenario: &self.scenario.name,
                    image,
                    flavour,
                    network: &net.id,
                    security_groups,
                    key_name,
                    availability_zone: self.options.availability_zone(&host.site),
                    user_data,
                    reservation: self.state.reservation.as_deref(),
                };
                let server = self
                    .cloud
                    .send_json(
                        Service::Compute,
                        Method::POST,
                        "/servers",
                        &spec.body(),
                        "server",
                    )
                    .await
                    .map_err(|e| e.context(format!("creating the server {}", host.name)))?;
                let id = text(&server, "id").to_owned();
                if id.is_empty() {
                    return Err(ProviderError::new(format!(
                        "Nova made the server {} but gave no id",
                        host.name
                    )));
                }
                self.state.servers.insert(host.name.clone(), id);
                self.save()?;
                self.reporter.advance(task, &host.name, true);
            }
            // Servers of hosts the scenario no longer has stay recorded, for destroy.
            Ok(())
        }
        .await;
        self.reporter.finish(task);
        result
    }

    /// A server of this experiment named like `host`, made by a deploy that stopped before
    /// recording it (a server in ERROR is deleted instead).
    async fn find_server(&mut self, host: &HostPlan) -> Result<Option<String>, ProviderError> {
        let pattern = format!("^{}$", host.name);
        let found = self
            .cloud
            .list(
                Service::Compute,
                "/servers/detail",
                "servers",
                &[("name", &pattern)],
            )
            .await?;
        let ours: Vec<&Value> = found
            .iter()
            .filter(|s| {
                text(s, "name") == host.name
                    && s["metadata"][EXPERIMENT_METADATA].as_str() == Some(&self.scenario.name)
            })
            .collect();
        let Some(server) = ours.first() else {
            return Ok(None);
        };
        let id = text(server, "id").to_owned();
        if text(server, "status") == "ERROR" {
            self.delete_servers(std::slice::from_ref(&id)).await?;
            return Ok(None);
        }
        Ok(Some(id))
    }

    /// Waits until every server is ACTIVE with an address on `net`; the addresses by host.
    async fn wait_active(&mut self, net: &Net) -> Result<IndexMap<String, IpAddr>, ProviderError> {
        let hosts = self.scenario.hosts();
        let task = self.reporter.start("starting servers", hosts.len() as u64);
        let deadline = Instant::now() + self.config.server_timeout;
        let mut addresses: IndexMap<String, IpAddr> = IndexMap::new();
        let result = loop {
            let mut waiting: Vec<String> = Vec::new();
            let mut failed = None;
            for host in &hosts {
                if addresses.contains_key(&host.name) {
                    continue;
                }
                let Some(id) = self.state.servers.get(&host.name).cloned() else {
                    failed = Some(ProviderError::new(format!(
                        "no server is recorded for {}",
                        host.name
                    )));
                    break;
                };
                let server = match self
                    .cloud
                    .get(Service::Compute, &format!("/servers/{id}"), "server")
                    .await
                {
                    Ok(Some(server)) => server,
                    Ok(None) => {
                        failed = Some(ProviderError::new(format!(
                            "the server {} ({id}) disappeared while starting",
                            host.name
                        )));
                        break;
                    }
                    Err(e) => {
                        failed = Some(e.into());
                        break;
                    }
                };
                let status = text(&server, "status");
                if status == "ERROR" {
                    let fault = server["fault"]["message"]
                        .as_str()
                        .unwrap_or("Nova gives no fault message");
                    self.reporter.advance(task, &host.name, false);
                    failed = Some(
                        ProviderError::new(format!(
                            "the server {} ({id}) ended in ERROR: {fault}",
                            host.name
                        ))
                        .with_hint(
                            "`enos deploy` again replaces it; `enos destroy` removes what was made",
                        ),
                    );
                    break;
                }
                match (status, fixed_address(&server, &net.name)) {
                    ("ACTIVE", Some(address)) => {
                        addresses.insert(host.name.clone(), address);
                        self.reporter.advance(task, &host.name, true);
                    }
                    _ => waiting.push(format!("{} ({status})", host.name)),
                }
            }
            if let Some(error) = failed {
                break Err(error);
            }
            if waiting.is_empty() {
                break Ok(addresses);
            }
            if Instant::now() >= deadline {
                break Err(ProviderError::new(format!(
                    "servers not ACTIVE {} after their creation: {}",
                    humanize(self.config.server_timeout),
                    waiting.join(", ")
                )));
            }
            tokio::time::sleep(self.config.poll_interval).await;
        };
        self.reporter.finish(task);
        result
    }

    /// The gateway host's floating IP: the one recorded, else one already on its port, else a
    /// free one of the project's, else a new one.
    async fn floating_ip(
        &mut self,
        gateway: &HostPlan,
        external: &str,
        net: &Net,
    ) -> Result<String, ProviderError> {
        let server_id = self
            .state
            .servers
            .get(&gateway.name)
            .cloned()
            .ok_or_else(|| ProviderError::new("the gateway host has no server"))?;
        let ports = self
            .cloud
            .list(
                Service::Network,
                "/ports",
                "ports",
                &[("device_id", &server_id), ("network_id", &net.id)],
            )
            .await?;
        let port = ports
            .first()
            .map(|p| text(p, "id").to_owned())
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "the server {} has no port on the network {}",
                    gateway.name, net.name
                ))
            })?;
        let associate = |fip: &str| {
            (
                format!("/floatingips/{fip}"),
                json!({"floatingip": {"port_id": port}}),
            )
        };
        if let Some(recorded) = self.state.floating_ip.clone() {
            match self
                .cloud
                .get(
                    Service::Network,
                    &format!("/floatingips/{}", recorded.id),
                    "floatingip",
                )
                .await?
            {
                Some(found) => {
                    if text(&found, "port_id") != port {
                        let (path, body) = associate(&recorded.id);
                        self.cloud
                            .send_json(Service::Network, Method::PUT, &path, &body, "floatingip")
                            .await?;
                    }
                    return Ok(recorded.address);
                }
                None => {
                    self.state.floating_ip = None;
                    self.save()?;
                }
            }
        }
        let mut query: Vec<(&str, String)> = vec![("floating_network_id", external.to_owned())];
        query.extend(self.project_filter());
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let listed = self
            .cloud
            .list(Service::Network, "/floatingips", "floatingips", &query)
            .await?;
        let ours = description(&self.scenario);
        let (fip, created) =
            if let Some(on_port) = listed.iter().find(|f| text(f, "port_id") == port) {
                (on_port.clone(), text(on_port, "description") == ours)
            } else if let Some(free) = listed.iter().find(|f| f["port_id"].is_null()) {
                let (path, body) = associate(text(free, "id"));
                let fip = self
                    .cloud
                    .send_json(Service::Network, Method::PUT, &path, &body, "floatingip")
                    .await
                    .map_err(|e| e.context("putting a free floating IP on the gateway host"))?;
                (fip, false)
            } else {
                let fip = self
                    .cloud
                    .send_json(
                        Service::Network,
                        Method::POST,
                        "/floatingips",
                        &json!({"floatingip": {
                            "floating_network_id": external,
                            "port_id": port,
                            "description": ours,
                        }}),
                        "floatingip",
                    )
                    .await
                    .map_err(|e| e.context("creating the floating IP of the gateway host"))?;
                (fip, true)
            };
        let address = text(&fip, "floating_ip_address").to_owned();
        self.state.floating_ip = Some(FloatingIp {
            id: text(&fip, "id").to_owned(),
            address: address.clone(),
            created,
        });
        self.save()?;
        self.reporter.note(&format!(
            "{} floating IP {address} on {}: the other hosts are reached through it",
            if created { "a new" } else { "the free" },
            gateway.name
        ));
        Ok(address)
    }

    /// Deletes the Neutron thing of `slot` when it was made here, waiting while it is still in
    /// use (a 409 as ports go away).
    async fn remove(&mut self, slot: Slot) -> Result<(), ProviderError> {
        let Some(made) = slot.of(&mut self.state).clone() else {
            return Ok(());
        };
        if made.created {
            let path = format!("{}/{}", slot.path(), made.id);
            self.delete_when_free(
                Service::Network,
                &path,
                &format!("{} {}", slot.what(), made.name),
            )
            .await?;
            self.reporter
                .note(&format!("deleted the {} {}", slot.what(), made.name));
        }
        *slot.of(&mut self.state) = None;
        self.save()
    }

    /// `DELETE path`, again while the API answers 409 (still in use), until the delete timeout.
    async fn delete_when_free(
        &mut self,
        service: Service,
        path: &str,
        what: &str,
    ) -> Result<(), ProviderError> {
        let deadline = Instant::now() + self.config.delete_timeout;
        loop {
            match self.cloud.delete(service, path).await {
                Ok(_) => return Ok(()),
                Err(e) if e.status == Some(409) && Instant::now() < deadline => {
                    tokio::time::sleep(self.config.poll_interval).await;
                }
                Err(e) => return Err(e.context(format!("deleting the {what}")).into()),
            }
        }
    }

    /// Removes everything recorded that was made here, saving after each removal.
    async fn destroy(&mut self) -> Result<(), ProviderError> {
        let servers: Vec<String> = self.state.servers.values().cloned().collect();
        if !servers.is_empty() {
            let task = self
                .reporter
                .start("deleting servers", servers.len() as u64);
            let deleted = self.delete_servers(&servers).await;
            for name in self.state.servers.keys() {
                self.reporter.advance(task, name, deleted.is_ok());
            }
            self.reporter.finish(task);
            deleted?;
            self.state.servers.clear();
            self.state.gateway = None;
            self.save()?;
        }
        if let Some(fip) = self.state.floating_ip.clone() {
            if fip.created {
                self.cloud
                    .delete(Service::Network, &format!("/floatingips/{}", fip.id))
                    .await
                    .map_err(|e| e.context(format!("deleting the floating IP {}", fip.address)))?;
                self.reporter
                    .note(&format!("deleted the floating IP {}", fip.address));
            }
            self.state.floating_ip = None;
            self.save()?;
        }
        // The router's interface, also when a deploy added it and stopped before recording it.
        if let (Some(router), Some(subnet)) = (self.state.router.clone(), self.state.subnet.clone())
            && router.created
        {
            match self
                .cloud
                .send_json(
                    Service::Network,
                    Method::PUT,
                    &format!("/routers/{}/remove_router_interface", router.id),
                    &json!({"subnet_id": subnet.id}),
                    "",
                )
                .await
            {
                Ok(_) => {}
                // Not there (any more): Neutron says 404.
                Err(e) if e.not_found() => {}
                Err(e) => {
                    return Err(e
                        .context(format!("removing the router {}'s interface", router.name))
                        .into());
                }
            }
        }
        if self.state.router_interface {
            self.state.router_interface = false;
            self.save()?;
        }
        for slot in [
            Slot::Router,
            Slot::Subnet,
            Slot::Network,
            Slot::SecurityGroup,
        ] {
            self.remove(slot).await?;
        }
        self.state.security_group_rules = false;
        if let Some(keypair) = self.state.keypair.clone() {
            if keypair.created {
                self.cloud
                    .delete(Service::Compute, &format!("/os-keypairs/{}", keypair.name))
                    .await
                    .map_err(|e| e.context(format!("deleting the keypair {}", keypair.name)))?;
                self.reporter
                    .note(&format!("deleted the keypair {}", keypair.name));
            }
            self.state.keypair = None;
            self.save()?;
        }
        if let Some(lease) = self.state.lease.clone() {
            if lease.created {
                self.delete_when_free(
                    Service::Reservation,
                    &format!("/leases/{}", lease.id),
                    &format!("Blazar lease {}", lease.name),
                )
                .await?;
                self.reporter
                    .note(&format!("deleted the Blazar lease {}", lease.name));
            }
            self.state.lease = None;
            self.state.reservation = None;
            self.save()?;
        }
        Ok(())
    }
}

/// When a lease starts, from Blazar's `start_date` (`2017-12-26T12:00:00.000000`, UTC).
fn lease_start(lease: &Value) -> Option<jiff::Timestamp> {
    let text = text(lease, "start_date");
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// What a lease in trouble says: its degraded flag, its reservations' statuses.
fn lease_problem(lease: &Value) -> String {
    let mut parts = Vec::new();
    if lease["degraded"].as_bool() == Some(true) {
        parts.push("degraded".to_owned());
    }
    for r in lease["reservations"].as_array().into_iter().flatten() {
        if r["missing_resources"].as_bool() == Some(true) {
            parts.push("hosts missing".to_owned());
        }
        if text(r, "status") == "error" {
            parts.push(format!("reservation {} in error", text(r, "id")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// A subnet's gateway, or the first address of `cidr` when it has none.
fn gateway_of(subnet: &Value, cidr: &str) -> IpAddr {
    text(subnet, "gateway_ip")
        .parse::<IpAddr>()
        .ok()
        .or_else(|| {
            parse_cidr(cidr)
                .ok()
                .map(|(network, _)| IpAddr::V4(Ipv4Addr::from(u32::from(network) + 1)))
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A server's fixed IPv4 address on the network `network` (any network's when it has none
/// there).
fn fixed_address(server: &Value, network: &str) -> Option<IpAddr> {
    let fixed = |entries: &Value| -> Option<IpAddr> {
        entries.as_array()?.iter().find_map(|a| {
            let fixed = a["OS-EXT-IPS:type"].as_str().is_none_or(|t| t == "fixed");
            let v4 = a["version"].as_u64().is_none_or(|v| v == 4);
            if fixed && v4 {
                text(a, "addr")
                    .parse::<IpAddr>()
                    .ok()
                    .filter(IpAddr::is_ipv4)
            } else {
                None
            }
        })
    };
    let addresses = &server["addresses"];
    fixed(&addresses[network]).or_else(|| {
        addresses
            .as_object()
            .and_then(|all| all.values().find_map(fixed))
    })
}

/// A duration in words: `30 minutes`, `45 seconds`.
fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 120 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[async_trait::async_trait]
impl Provider for OpenStackProvider {
    async fn check(&self) -> Result<(), ProviderError> {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("ssh").is_file()));
        if found {
            Ok(())
        } else {
            Err(
                ProviderError::new("the openstack provider needs OpenSSH's client (ssh)")
                    .with_hint("on Debian or Ubuntu: apt-get install openssh-client"),
            )
        }
    }

    fn plan(&self, scenario: &Scenario) -> Result<ProvisionPlan, ProviderError> {
        plan(scenario)
    }

    async fn extend(
        &self,
        experiment: &mut Experiment,
        by: Duration,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let state = OpenStackState::of(experiment)?;
        let lease = match (&state.lease, &state.reservation) {
            (Some(lease), _) if lease.created => lease.clone(),
            (_, Some(reservation)) => {
                return Err(ProviderError::new(format!(
                    "the reservation {reservation} is not the experiment's own: extend its lease \
                     in Blazar (`openstack reservation lease update --prolong-for …`)"
                )));
            }
            _ => {
                return Err(ProviderError::new(
                    "the experiment's servers have no lease: there is nothing to extend",
                ));
            }
        };
        let options = options_of(&experiment.state().scenario)?;
        let mut cloud = self.cloud(&options)?;
        let found = cloud
            .get(
                Service::Reservation,
                &format!("/leases/{}", lease.id),
                "lease",
            )
            .await?
            .ok_or_else(|| ProviderError::new(format!("the lease {} is gone", lease.name)))?;
        let end = lease_end(&found).ok_or_else(|| {
            ProviderError::new(format!("the lease {} has no end date", lease.name))
        })?;
        let by =
            jiff::SignedDuration::try_from(by).map_err(|e| ProviderError::new(e.to_string()))?;
        let new_end = end
            .checked_add(by)
            .map_err(|e| ProviderError::new(e.to_string()))?;
        let new_end = times::format_date(new_end);
        cloud
            .send_json(
                Service::Reservation,
                Method::PUT,
                &format!("/leases/{}", lease.id),
                &json!({"end_date": new_end}),
                "lease",
            )
            .await
            .map_err(|e| e.context(format!("extending the lease {}", lease.name)))?;
        reporter.note(&format!(
            "the lease {} now ends at {new_end} (UTC)",
            lease.name
        ));
        Ok(())
    }

    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError> {
        let scenario = experiment.state().scenario.clone();
        let options = options_of(&scenario)?;
        let hosts = scenario.hosts();
        let Some(gateway) = hosts.first().cloned() else {
            return Err(ProviderError::new("the scenario has no host"));
        };
        let mut cloud = self.cloud(&options)?;
        cloud.authenticate().await?;
        let mut state = OpenStackState::of(experiment)?;
        state.cloud = cloud.credentials().source.to_string();
        state.auth_url = cloud.credentials().auth_url.clone();
        state.region = cloud.credentials().region.clone();
        state.project_id = cloud.project_id().map(str::to_owned);
        state.save(experiment)?;

        // The experiment's key: on the servers through the keypair, or through cloud-init.
        let ssh_dir = experiment.subdir(enos_core::layout::SSH_DIR)?;
        let identity = ssh_dir.join(keys::CLIENT_KEY);
        if !identity.exists() {
            keys::generate(&identity, &format!("enos-{}", scenario.name))?;
        }
        let public_key = read_public_key(&ssh_dir.join(format!("{}.pub", keys::CLIENT_KEY)))?;

        if matches!(options.lease, Some(Lease::Create(_)))
            && !cloud.has(Service::Reservation).await?
        {
            return Err(ProviderError::new(
                "`lease` needs Blazar, and the cloud's catalogue has no `reservation` service",
            ));
        }
        let mut run = Run {
            cloud,
            experiment,
            state,
            options,
            scenario,
            reporter,
            config: &self.config,
        };
        run.lease().await?;
        let image = run.image().await?;
        let flavours = run.flavours().await?;
        let external = run.external_network().await?;
        let net = run.network(&external).await?;
        let groups = run.security_groups().await?;
        let key_name = run.keypair(&public_key).await?;
        let user_data = run
            .options
            .key_name
            .is_some()
            .then(|| user_data(&public_key));
        run.servers(
            &image,
            &flavours,
            &net,
            &groups,
            &key_name,
            user_data.as_deref(),
        )
        .await?;
        let addresses = run.wait_active(&net).await?;
        run.state.gateway = Some(gateway.name.clone());
        run.save()?;
        let floating = run.floating_ip(&gateway, &external, &net).await?;
        let floating_ip: IpAddr = floating.parse().map_err(|_| {
            ProviderError::new(format!("the floating IP {floating} is not an IP address"))
        })?;

        let user = run.options.user.clone();
        let become_root = (user != "root").then_some(Become::Sudo);
        let mut testbed_hosts = Vec::with_capacity(hosts.len());
        for (i, plan) in hosts.iter().enumerate() {
            let address = addresses.get(&plan.name).copied().ok_or_else(|| {
                ProviderError::new(format!("the server {} has no address", plan.name))
            })?;
            let mut host = Host::new(&plan.name, &plan.site, &plan.role, address);
            host.user = user.clone();
            host.become_root = become_root;
            host.host_key = HostKeySource::LearnOnFirstContact;
            if i == 0 {
                host.ssh_host = Some(floating_ip.to_string());
            } else {
                host.jump = Some(Jump {
                    address: floating_ip.to_string(),
                    port: 22,
                    user: user.clone(),
                    identity: None,
                    host_key: HostKeySource::LearnOnFirstContact,
                });
            }
            testbed_hosts.push(host);
        }
        let networks = run
            .scenario
            .sites
            .iter()
            .map(|site| SiteNetwork {
                site: site.name.clone(),
                cidr: net.cidr.clone(),
                gateway: net.gateway,
            })
            .collect();
        let dir = run.experiment.dir().to_owned();
        let control = control_dir(&dir);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&control)
            .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", control.display())))?;
        Ok(Testbed {
            hosts: testbed_hosts,
            networks,
            ssh: SshAccess::in_experiment(&dir, identity, control),
        })
    }

    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let state = OpenStackState::of(experiment)?;
        let control = control_dir(experiment.dir());
        if control.exists() {
            let _ = std::fs::remove_dir_all(&control);
        }
        if !state.holds_anything() {
            experiment.state_mut().provider_state = Value::Null;
            experiment.save()?;
            return Ok(());
        }
        let scenario = experiment.state().scenario.clone();
        let options = options_of(&scenario)?;
        let cloud = self.cloud(&options).map_err(|e| {
            let what = e.message.clone();
            ProviderError::new(format!(
                "{what}; the experiment has things on the cloud ({}) that only its credentials \
                 can remove",
                state.cloud
            ))
        })?;
        let mut run = Run {
            cloud,
            experiment,
            state,
            options,
            scenario,
            reporter,
            config: &self.config,
        };
        run.destroy().await?;
        run.experiment.state_mut().provider_state = Value::Null;
        run.experiment.save()?;
        Ok(())
    }

    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)> {
        let mut rows = vec![("provider".to_owned(), "openstack".to_owned())];
        let Ok(state) = OpenStackState::of(experiment) else {
            return rows;
        };
        let options = options_of(&experiment.state().scenario).ok();
        let cloud = if state.cloud.is_empty() {
            match options.as_ref().and_then(|o| o.cloud.clone()) {
                Some(cloud) => format!("the clouds.yaml entry `{cloud}`"),
                None => "the OS_* environment (or OS_CLOUD)".to_owned(),
            }
        } else {
            format!("{} ({})", state.auth_url, state.cloud)
        };
        rows.push(("cloud".to_owned(), cloud));
        rows.push((
            "region".to_owned(),
            state
                .region
                .clone()
                .or_else(|| options.as_ref().and_then(|o| o.region.clone()))
                .unwrap_or_else(|| "the catalogue's first".to_owned()),
        ));
        if let (Some(gateway), Some(fip)) = (&state.gateway, &state.floating_ip) {
            rows.push((
                "gateway".to_owned(),
                format!("{gateway} at {} (the other hosts through it)", fip.address),
            ));
        }
        let mut made = Vec::new();
        if !state.servers.is_empty() {
            made.push(format!(
                "{} server{}",
                state.servers.len(),
                if state.servers.len() == 1 { "" } else { "s" }
            ));
        }
        for (what, slot) in [
            ("network", &state.network),
            ("subnet", &state.subnet),
            ("router", &state.router),
            ("security group", &state.security_group),
            ("keypair", &state.keypair),
            ("lease", &state.lease),
        ] {
            if let Some(m) = slot {
                made.push(format!(
                    "{what} {}{}",
                    m.name,
                    if m.created { "" } else { " (existing)" }
                ));
            }
        }
        if let Some(fip) = &state.floating_ip {
            made.push(format!(
                "floating IP {}{}",
                fip.address,
                if fip.created { "" } else { " (reused)" }
            ));
        }
        rows.push((
            "on the cloud".to_owned(),
            if made.is_empty() {
                "nothing".to_owned()
            } else {
                made.join(", ")
            },
        ));
        if let Some(reservation) = &state.reservation {
            rows.push(("reservation".to_owned(), reservation.clone()));
        }
        rows
    }
}

/// When a lease ends, from Blazar's `end_date`.
fn lease_end(lease: &Value) -> Option<jiff::Timestamp> {
    let civil: jiff::civil::DateTime = text(lease, "end_date").parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// What a deploy of `scenario` would ask of the cloud, in order, from the scenario alone:
/// endpoints are the catalogue's (`{compute}`, `{network}`…), ids not known yet are `<…>`.
pub fn plan(scenario: &Scenario) -> Result<ProvisionPlan, ProviderError> {
    let options = options_of(scenario)?;
    let name = resource_name(scenario);
    let desc = description(scenario);
    let hosts = scenario.hosts();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let mut actions = Vec::new();
    let source = match &options.cloud {
        Some(cloud) => format!("the clouds.yaml entry `{cloud}`"),
        None => "OS_CLOUD's clouds.yaml entry, else the OS_* environment".to_owned(),
    };
    actions.push(PlannedAction::new(
        "POST {identity}/v3/auth/tokens",
        format!("a Keystone token and the catalogue, with the credentials of {source}"),
    ));
    let mut reservation = None;
    match &options.lease {
        None => {}
        Some(Lease::Reservation(id)) => reservation = Some(id.clone()),
        Some(Lease::Create(request)) => {
            let end = if request.end.trim_start().starts_with('+') {
                format!("<the start {}, UTC>", request.end.trim())
            } else {
                request.end.clone()
            };
            actions.push(
                PlannedAction::new(
                    "POST {reservation}/v1/leases",
                    format!(
                        "a Blazar lease of {} host{}",
                        hosts.len(),
                        if hosts.len() == 1 { "" } else { "s" }
                    ),
                )
                .with_body(pretty(&lease_body(
                    &name,
                    &request.start,
                    &end,
                    hosts.len(),
                    request,
                ))),
            );
            actions.push(PlannedAction::new(
                "GET {reservation}/v1/leases/<lease>",
                "until the lease is ACTIVE (its host reservation is the servers' scheduler hint)",
            ));
            reservation = Some("<the lease's host reservation>".to_owned());
        }
    }
    actions.push(PlannedAction::new(
        format!("GET {{image}}/v2/images?name={}", options.image),
        "the image's id",
    ));
    let mut flavours: Vec<&str> = Vec::new();
    for host in &hosts {
        if let Some(f) = options.flavour_of(&host.role)
            && !flavours.contains(&f)
        {
            flavours.push(f);
        }
    }
    actions.push(PlannedAction::new(
        "GET {compute}/flavors",
        format!("the ids of the flavours {}", flavours.join(", ")),
    ));
    actions.push(PlannedAction::new(
        "GET {network}/v2.0/networks?router:external=true",
        match &options.external_network {
            Some(external) => format!("the external network {external}"),
            None => "the first external network".to_owned(),
        },
    ));
    let network_ref;
    let network_name;
    match &options.network {
        NetworkChoice::Existing { name: existing } => {
            network_ref = format!("<id of network {existing}>");
            network_name = existing.clone();
            actions.push(PlannedAction::new(
                format!("GET {{network}}/v2.0/networks?name={existing}"),
                "the existing network, used as it is",
            ));
            actions.push(PlannedAction::new(
                "GET {network}/v2.0/subnets?network_id=<network>",
                "its IPv4 subnet",
            ));
        }
        NetworkChoice::Create {
            cidr,
            dns_nameservers,
        } => {
            network_ref = "<network>".to_owned();
            network_name = name.clone();
            actions.push(
                PlannedAction::new(
                    "POST {network}/v2.0/networks",
                    "the experiment's network (unless one of its name is there)",
                )
                .with_body(pretty(&json!({"network": {"name": name, "admin_state_up": true, "description": desc}}))),
            );
            let mut subnet = json!({"name": name, "network_id": "<network>", "ip_version": 4, "cidr": cidr, "description": desc});
            if !dns_nameservers.is_empty() {
                subnet["dns_nameservers"] = json!(dns_nameservers);
            }
            actions.push(
                PlannedAction::new("POST {network}/v2.0/subnets", format!("its subnet {cidr}"))
                    .with_body(pretty(&json!({"subnet": subnet}))),
            );
            actions.push(
                PlannedAction::new(
                    "POST {network}/v2.0/routers",
                    "a router to the external network",
                )
                .with_body(pretty(&json!({"router": {"name": name, "description": desc, "external_gateway_info": {"network_id": "<external network>"}}}))),
            );
            actions.push(
                PlannedAction::new(
                    "PUT {network}/v2.0/routers/<router>/add_router_interface",
                    "the router's interface on the subnet",
                )
                .with_body(pretty(&json!({"subnet_id": "<subnet>"}))),
            );
        }
    }
    let groups: Vec<String> = match &options.security_groups {
        Some(groups) => groups.clone(),
        None => {
            actions.push(
                PlannedAction::new(
                    "POST {network}/v2.0/security-groups",
                    "the experiment's security group",
                )
                .with_body(pretty(
                    &json!({"security_group": {"name": name, "description": desc}}),
                )),
            );
            for (rule, why) in security_group_rules("<security group>").iter().zip([
                "SSH from anywhere",
                "ping from anywhere",
                "everything between the experiment's servers",
            ]) {
                actions.push(
                    PlannedAction::new("POST {network}/v2.0/security-group-rules", why)
                        .with_body(pretty(rule)),
                );
            }
            vec!["<security group>".to_owned()]
        }
    };
    let key_name = match &options.key_name {
        Some(key_name) => {
            actions.push(PlannedAction::new(
                format!("GET {{compute}}/os-keypairs/{key_name}"),
                "your keypair (the experiment's key goes through cloud-init)",
            ));
            key_name.clone()
        }
        None => {
            actions.push(
                PlannedAction::new(
                    "POST {compute}/os-keypairs",
                    "a keypair of the experiment's key (ssh/id_ecdsa)",
                )
                .with_body(pretty(&json!({"keypair": {"name": name, "public_key": "<the experiment's public key>"}}))),
            );
            name.clone()
        }
    };
    let image = format!("<id of image {}>", options.image);
    let user_data = options
        .key_name
        .as_ref()
        .map(|_| "<cloud-config with the experiment's public key>".to_owned());
    for host in &hosts {
        let flavour = format!(
            "<id of flavour {}>",
            options.flavour_of(&host.role).unwrap_or("?")
        );
        let spec = ServerSpec {
            host,
            scenario: &scenario.name,
            image: &image,
            flavour: &flavour,
            network: &network_ref,
            security_groups: &groups,
            key_name: &key_name,
            availability_zone: options.availability_zone(&host.site),
            user_data: user_data.as_deref(),
            reservation: reservation.as_deref(),
        };
        actions.push(
            PlannedAction::new(
                "POST {compute}/servers",
                format!("the server of {}", host.name),
            )
            .with_body(pretty(&spec.body())),
        );
    }
    actions.push(PlannedAction::new(
        "GET {compute}/servers/<server>",
        format!(
            "each server until it is ACTIVE with an address on {network_name} (ERROR fails the \
             deploy)"
        ),
    ));
    let gateway = hosts.first().map_or("?", |h| h.name.as_str());
    actions.push(PlannedAction::new(
        format!("GET {{network}}/v2.0/ports?device_id=<server of {gateway}>"),
        format!("the port of the gateway host {gateway}"),
    ));
    actions.push(
        PlannedAction::new(
            "POST {network}/v2.0/floatingips",
            format!(
                "a floating IP on {gateway}, unless the project has a free one (then PUT \
                 {{network}}/v2.0/floatingips/<id>); the other hosts are reached through it"
            ),
        )
        .with_body(pretty(&json!({"floatingip": {"floating_network_id": "<external network>", "port_id": "<port>", "description": desc}}))),
    );
    Ok(ProvisionPlan {
        provider: "openstack".to_owned(),
        actions,
    })
}

use std::os::unix::fs::DirBuilderExt as _;
