//! The scenario written: its shape, in the key order of docs/scenario.md and of each provider's
//! options, serialized by serde-saphyr with small mappings in flow style
//! (`roles: {control: 1, network: 1}`).

use indexmap::IndexMap;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_saphyr::{FlowMap, FlowSeq};

use crate::yaml::{Node, Value};

/// A scenario.
#[derive(Debug, Serialize)]
pub(crate) struct ScenarioOut {
    pub name: String,
    pub provider: ProviderOut,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub sites: IndexMap<String, SiteOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkOut>,
}

/// One site: its roles and how many hosts each.
#[derive(Debug, Serialize)]
pub(crate) struct SiteOut {
    pub roles: FlowMap<IndexMap<String, u64>>,
}

/// `provider: {NAME: {options}}`.
#[derive(Debug)]
pub(crate) enum ProviderOut {
    G5k(G5kOut),
    Vagrant(VagrantOut),
    Static(StaticOut),
    Openstack(OpenstackOut),
}

impl ProviderOut {
    /// The enos-rs provider's name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ProviderOut::G5k(_) => "g5k",
            ProviderOut::Vagrant(_) => "vagrant",
            ProviderOut::Static(_) => "static",
            ProviderOut::Openstack(_) => "openstack",
        }
    }
}

impl Serialize for ProviderOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            ProviderOut::G5k(options) => map.serialize_entry(self.name(), options)?,
            ProviderOut::Vagrant(options) => map.serialize_entry(self.name(), options)?,
            ProviderOut::Static(options) => map.serialize_entry(self.name(), options)?,
            ProviderOut::Openstack(options) => map.serialize_entry(self.name(), options)?,
        }
        map.end()
    }
}

/// The g5k provider's options.
#[derive(Debug, Default, Serialize)]
pub(crate) struct G5kOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walltime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_name: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub sites: IndexMap<String, FlowMap<ClusterOut>>,
}

/// The cluster of a g5k site.
#[derive(Debug, Serialize)]
pub(crate) struct ClusterOut {
    pub cluster: String,
}

/// The vagrant provider's options.
#[derive(Debug, Default, Serialize)]
pub(crate) struct VagrantOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub vm_box: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavour: Option<String>,
    #[serde(
        skip_serializing_if = "IndexMap::is_empty",
        serialize_with = "flow_map"
    )]
    pub flavours: IndexMap<String, String>,
}

/// The static provider's options.
#[derive(Debug, Default, Serialize)]
pub(crate) struct StaticOut {
    pub hosts: Vec<FlowMap<HostOut>>,
}

/// A host of the static provider.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HostOut {
    pub address: String,
    pub site: String,
    pub roles: FlowSeq<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jump: Option<JumpOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// A host to go through.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JumpOut {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// The openstack provider's options.
#[derive(Debug, Default, Serialize)]
pub(crate) struct OpenstackOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavour: Option<String>,
    #[serde(
        skip_serializing_if = "IndexMap::is_empty",
        serialize_with = "flow_map"
    )]
    pub flavours: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<FlowMap<NetworkNameOut>>,
}

/// `network: {name}` of the openstack provider.
#[derive(Debug, Serialize)]
pub(crate) struct NetworkNameOut {
    pub name: String,
}

/// The `network:` section.
#[derive(Debug, Default, Serialize)]
pub(crate) struct NetworkOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_loss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<FlowSeq<Vec<String>>>,
    #[serde(rename = "except", skip_serializing_if = "Option::is_none")]
    pub except: Option<FlowSeq<Vec<String>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<FlowMap<ConstraintOut>>,
}

/// One constraint.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConstraintOut {
    pub src: String,
    pub dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub symmetric: bool,
}

/// Writes a mapping in flow style.
fn flow_map<S: Serializer>(
    map: &IndexMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    FlowMap(map).serialize(serializer)
}

/// The commented suggestion of a deploy step: the `openstack` stack on the imported roles.
#[derive(Debug, Serialize)]
pub(crate) struct DeployOut {
    pub deploy: Vec<StackStepOut>,
}

/// `- stack: openstack` with its variables.
#[derive(Debug, Serialize)]
pub(crate) struct StackStepOut {
    pub stack: &'static str,
    pub vars: IndexMap<&'static str, VarOut>,
}

/// A variable of the suggested stack step: a role, or EnOS's `kolla:` values as written.
#[derive(Debug)]
pub(crate) enum VarOut {
    Role(String),
    Yaml(Node),
}

impl Serialize for VarOut {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            VarOut::Role(role) => serializer.serialize_str(role),
            VarOut::Yaml(node) => YamlOut(node).serialize(serializer),
        }
    }
}

/// A node of the reservation written back: plain numbers and `true`/`false` as such, other
/// scalars as strings.
struct YamlOut<'a>(&'a Node);

impl Serialize for YamlOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            Value::Null => serializer.serialize_unit(),
            Value::Scalar { text, plain: true } if text == "true" || text == "false" => {
                serializer.serialize_bool(text == "true")
            }
            Value::Scalar { plain: true, .. } if self.0.whole_number().is_some() => {
                serializer.serialize_u64(self.0.whole_number().unwrap_or_default())
            }
            Value::Scalar { text, .. } => serializer.serialize_str(text),
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for entry in entries {
                    map.serialize_entry(&entry.key, &YamlOut(&entry.node))?;
                }
                map.end()
            }
            Value::Seq(items) => serializer.collect_seq(items.iter().map(YamlOut)),
        }
    }
}

/// `value` as YAML text; `None` if serde-saphyr refuses it (it has no reason to).
pub(crate) fn to_yaml<T: Serialize>(value: &T) -> Option<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.compact_list_indent = false;
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options).ok()
}

/// Every line of `text` commented out with `# `.
pub(crate) fn commented(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {line}\n")
            }
        })
        .collect()
}
