//! The OpenStack provider's options as an experiment's state keeps them: checked, with their
//! defaults filled in (the private network's CIDR), in the shape the scenario writes them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The private network made when the scenario names none.
pub const DEFAULT_CIDR: &str = "10.87.0.0/24";

/// The OpenStack provider's options (`provider: {openstack: {…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenStackOptions {
    /// The clouds.yaml entry holding the credentials; `None`: `OS_CLOUD`, else the `OS_*`
    /// environment (an openrc file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    /// The image every server boots (a name or an id).
    pub image: String,
    /// The flavour of every role without its own in `flavours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavour: Option<String>,
    /// The flavour of each role that has one of its own.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub flavours: IndexMap<String, String>,
    /// The image's login user (`debian`, `ubuntu`, `cc` on Chameleon…); commands that need
    /// root run through `sudo -n` unless it is `root`.
    pub user: String,
    /// The external network of the router's gateway and the floating IP (a name or an id);
    /// `None`: the first external network the cloud lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_network: Option<String>,
    /// The network the servers sit on.
    pub network: NetworkChoice,
    /// Security groups to put every server in, used as they are; `None`: one is made for the
    /// experiment (SSH from anywhere, everything between its servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// A keypair of the user's to put on the servers as well; the experiment's own key is then
    /// given through cloud-init. `None`: a keypair is made from the experiment's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The region whose endpoints are used; `None`: `OS_REGION_NAME` or the clouds.yaml
    /// entry's `region_name`, else the first endpoint of each service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A Blazar reservation (Chameleon) to boot the servers in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Per scenario site: where its servers go.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sites: IndexMap<String, SiteOptions>,
}

impl OpenStackOptions {
    /// The flavour of `role`: its own, else the default one.
    pub fn flavour_of(&self, role: &str) -> Option<&str> {
        self.flavours
            .get(role)
            .or(self.flavour.as_ref())
            .map(String::as_str)
    }

    /// The availability zone of `site`'s servers, when one is given.
    pub fn availability_zone(&self, site: &str) -> Option<&str> {
        self.sites
            .get(site)
            .and_then(|s| s.availability_zone.as_deref())
    }
}

/// The network the servers sit on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NetworkChoice {
    /// A network, subnet and router made for the experiment (named `enos-<scenario>`).
    Create {
        /// The subnet, e.g. `10.87.0.0/24`.
        cidr: String,
        /// The subnet's DNS servers; empty: the cloud's default.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dns_nameservers: Vec<String>,
    },
    /// An existing network, used as it is (it must reach an external network through a router
    /// for the floating IP to work).
    Existing {
        /// Its name or id.
        name: String,
    },
}

/// A Blazar lease for the servers (Chameleon's reservable hosts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Lease {
    /// An existing reservation's id, passed to Nova as the `reservation` scheduler hint.
    Reservation(String),
    /// A lease made through Blazar for the experiment (one host per server) and deleted on
    /// destroy.
    Create(LeaseRequest),
}

/// The lease to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// `now`, or a UTC time `YYYY-MM-DD HH:MM`.
    pub start: String,
    /// A UTC time `YYYY-MM-DD HH:MM`, or a length after the start such as `+4h`, `+90m`,
    /// `+1d`.
    pub end: String,
    /// Blazar's `resource_properties` filter on the hosts, e.g.
    /// `["==", "$node_type", "compute_skylake"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_properties: Option<String>,
}

/// Where one site's servers go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteOptions {
    /// The Nova availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// The OpenStack provider's options as an experiment's state holds them
/// (`scenario.provider.options`, checked when the scenario was read).
pub fn options(value: &Value) -> Result<OpenStackOptions, String> {
    serde_json::from_value(value.clone())
        .map_err(|e| format!("the openstack provider's options: {e}"))
}
