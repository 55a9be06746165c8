//! The checks of the Grid'5000 provider's options, each error located at the key or value it is
//! about; the checks against the scenario's sites; the options' JSON Schema.

use enos_scenario::{
    CheckedOptions, MAX_PART_LEN, OptionsContext, ProviderKind, Site, Timeout, check_name,
    describe, quote,
};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::clusters;
use crate::options::{
    DEFAULT_DEPLOY_RETRIES, DEFAULT_ENV_NAME, DEFAULT_WALLTIME, G5kOptions, Queue, SiteMapping,
    VlanKind, Walltime, options as read_options,
};

const BASE: &str = "provider.g5k";
const OPTION_KEYS: [&str; 11] = [
    "job_name",
    "walltime",
    "queue",
    "reservation",
    "env_name",
    "deploy_retries",
    "scheduled_at_limit",
    "monitor",
    "vlan",
    "api_url",
    "sites",
];
const SITE_KEYS: [&str; 3] = ["site", "cluster", "min"];
/// The longest OAR job name taken.
const MAX_JOB_NAME_LEN: usize = 100;
/// The most further kadeploy attempts taken.
const MAX_DEPLOY_RETRIES: u64 = 10;
/// The longest cluster name taken.
const MAX_CLUSTER_LEN: usize = 32;

/// The Grid'5000 provider, as the scenario parser sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct G5kKind;

impl ProviderKind for G5kKind {
    fn name(&self) -> &'static str {
        "g5k"
    }

    fn options_schema(&self) -> Value {
        schema()
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        let mut checked = G5kOptions {
            job_name: None,
            walltime: DEFAULT_WALLTIME,
            queue: Queue::Default,
            reservation: None,
            env_name: DEFAULT_ENV_NAME.to_owned(),
            deploy_retries: DEFAULT_DEPLOY_RETRIES,
            scheduled_at_limit: None,
            monitor: None,
            vlan: None,
            api_url: None,
            sites: IndexMap::new(),
        };
        let Value::Object(map) = options else {
            ctx.value_error(
                BASE,
                format!(
                    "expected the Grid'5000 provider's options (a mapping with `sites`), found {}",
                    describe(options)
                ),
            );
            return CheckedOptions::kept(to_value(&checked));
        };
        for key in map.keys() {
            if !OPTION_KEYS.contains(&key.as_str()) {
                ctx.key_error(
                    &format!("{BASE}.{key}"),
                    format!(
                        "unknown key `{key}`, expected one of {}",
                        OPTION_KEYS.join(", ")
                    ),
                );
            }
        }
        let path = |key: &str| format!("{BASE}.{key}");
        if let Some(value) = map.get("job_name") {
            checked.job_name = job_name(ctx, &path("job_name"), value);
        }
        if let Some(value) = map.get("walltime")
            && let Some(walltime) = parsed::<Walltime>(
                ctx,
                &path("walltime"),
                value,
                "a walltime such as \"02:00:00\"",
            )
        {
            checked.walltime = walltime;
        }
        if let Some(value) = map.get("queue") {
            match value.as_str().and_then(Queue::from_name) {
                Some(queue) => checked.queue = queue,
                None => ctx.value_error(
                    &path("queue"),
                    format!(
                        "expected an OAR queue, one of {}, found {}",
                        Queue::NAMES.join(", "),
                        describe(value)
                    ),
                ),
            }
        }
        if let Some(value) = map.get("reservation") {
            checked.reservation = reservation(ctx, &path("reservation"), value);
        }
        if let Some(value) = map.get("env_name")
            && let Some(name) = env_name(ctx, &path("env_name"), value)
        {
            checked.env_name = name;
        }
        if let Some(value) = map.get("deploy_retries") {
            match value.as_u64() {
                Some(n) if n <= MAX_DEPLOY_RETRIES => {
                    checked.deploy_retries = u32::try_from(n).unwrap_or(DEFAULT_DEPLOY_RETRIES);
                }
                _ => ctx.value_error(
                    &path("deploy_retries"),
                    format!(
                        "expected a number of further kadeploy attempts from 0 to \
                         {MAX_DEPLOY_RETRIES}, found {}",
                        describe(value)
                    ),
                ),
            }
        }
        if let Some(value) = map.get("scheduled_at_limit") {
            checked.scheduled_at_limit = parsed::<Timeout>(
                ctx,
                &path("scheduled_at_limit"),
                value,
                "a time such as 10m",
            );
            if checked.scheduled_at_limit.is_some() && map.contains_key("reservation") {
                ctx.key_error(
                    &path("scheduled_at_limit"),
                    "`scheduled_at_limit` gives up on jobs that would start late, `reservation` \
                     asks for a later start: write one or the other",
                );
            }
        }
        if let Some(value) = map.get("monitor") {
            checked.monitor = monitor(ctx, &path("monitor"), value);
        }
        if let Some(value) = map.get("vlan") {
            match value.as_str().and_then(VlanKind::from_name) {
                Some(kind) => checked.vlan = Some(kind),
                None => ctx.value_error(
                    &path("vlan"),
                    format!(
                        "expected a kind of VLAN, one of {}, found {}",
                        VlanKind::NAMES.join(", "),
                        describe(value)
                    ),
                ),
            }
        }
        if let Some(value) = map.get("api_url") {
            checked.api_url = api_url(ctx, &path("api_url"), value);
        }
        match map.get("sites") {
            None => {
                let parent = if ctx.is_written(BASE) {
                    BASE
                } else {
                    "provider"
                };
                ctx.missing(
                    &path("sites"),
                    parent,
                    "the Grid'5000 cluster of each scenario site",
                    "sites: {paris: {cluster: paravance}}",
                );
            }
            Some(value) => checked.sites = sites(ctx, &path("sites"), value),
        }
        CheckedOptions::kept(to_value(&checked))
    }

    fn check_sites(&self, options: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        let Ok(options) = read_options(options) else {
            return;
        };
        let sites_path = format!("{BASE}.sites");
        if !ctx.is_written(&sites_path) {
            // Reported by check_options.
            return;
        }
        for site in sites {
            match options.sites.get(&site.name) {
                None => ctx.missing(
                    &format!("{sites_path}.{}", site.name),
                    &sites_path,
                    &format!(
                        "the Grid'5000 cluster of the scenario site {}",
                        quote(&site.name)
                    ),
                    &format!("{}: {{cluster: paravance}}", site.name),
                ),
                Some(mapping) => {
                    for (role, &min) in &mapping.min {
                        let min_path = format!("{sites_path}.{}.min.{role}", site.name);
                        match site.roles.iter().find(|r| &r.role == role) {
                            None => {
                                let roles: Vec<&str> =
                                    site.roles.iter().map(|r| r.role.as_str()).collect();
                                ctx.key_error(
                                    &min_path,
                                    format!(
                                        "the site {} has no role {}; its roles are {}",
                                        quote(&site.name),
                                        quote(role),
                                        roles.join(", ")
                                    ),
                                );
                            }
                            Some(count) if min > count.count => ctx.value_error(
                                &min_path,
                                format!(
                                    "`min` asks for at least {min} host{} of role {}, but `sites:` asks \
                                     for {} in all",
                                    if min == 1 { "" } else { "s" },
                                    quote(role),
                                    count.count
                                ),
                            ),
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        let names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
        for name in options.sites.keys() {
            if !names.contains(&name.as_str()) {
                ctx.key_error(
                    &format!("{sites_path}.{name}"),
                    format!(
                        "`sites:` has no site {}; its sites are {}",
                        quote(name),
                        names.join(", ")
                    ),
                );
            }
        }
    }
}

fn to_value(options: &G5kOptions) -> Value {
    serde_json::to_value(options).unwrap_or_else(|_| json!({}))
}

/// A text value at `path` read as `T`; `None` after an error (reported).
fn parsed<T: std::str::FromStr<Err = String>>(
    ctx: &mut OptionsContext<'_>,
    path: &str,
    value: &Value,
    what: &str,
) -> Option<T> {
    match value {
        Value::String(text) => match text.parse::<T>() {
            Ok(parsed) => Some(parsed),
            Err(why) => {
                ctx.value_error(path, why);
                None
            }
        },
        other => {
            ctx.value_error(path, format!("expected {what}, found {}", describe(other)));
            None
        }
    }
}

/// `job_name`: letters, digits, `-`, `_` and `.`.
fn job_name(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    let valid = |text: &str| {
        !text.is_empty()
            && text.len() <= MAX_JOB_NAME_LEN
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value {
        Value::String(text) if valid(text) => Some(text.clone()),
        other => {
            ctx.value_error(
                path,
                format!(
                    "expected an OAR job name (letters, digits, `-`, `_` and `.`, at most \
                     {MAX_JOB_NAME_LEN}), found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// `reservation`: `YYYY-MM-DD hh:mm:ss` (seconds optional), as OAR reads it.
fn reservation(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    let text = value.as_str().unwrap_or_default();
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = jiff::civil::DateTime::strptime(format, text) {
            return Some(at.strftime("%Y-%m-%d %H:%M:%S").to_string());
        }
    }
    ctx.value_error(
        path,
        format!(
            "expected a start date and time such as \"2027-01-15 19:00:00\" (Grid'5000's local \
             time), found {}",
            describe(value)
        ),
    );
    None
}

/// `env_name`: a kadeploy environment name (`debian12-min`, `name@user`) or an HTTP(S) URL.
fn env_name(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    let valid = |text: &str| {
        !text.is_empty()
            && text.len() <= 512
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@:/+%~".contains(c))
    };
    match value {
        Value::String(text) if valid(text) => Some(text.clone()),
        other => {
            ctx.value_error(
                path,
                format!(
                    "expected a kadeploy environment such as debian12-min, name@user or the URL \
                     of a description, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// `monitor`: the regular expression of the metrics Kwollect collects at high frequency.
fn monitor(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    match value {
        Value::String(text)
            if !text.is_empty()
                && text.len() <= 256
                && !text
                    .chars()
                    .any(|c| c.is_whitespace() || c == '\'' || c == '"') =>
        {
            Some(text.clone())
        }
        other => {
            ctx.value_error(
                path,
                format!(
                    "expected the metrics to monitor, a regular expression without spaces or \
                     quotes such as wattmetre_power_watt, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// `api_url`: an http(s) URL without credentials.
fn api_url(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    let problem = match value {
        Value::String(text) => match reqwest::Url::parse(text) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                Some(format!("{} is not an http(s) URL", quote(text)))
            }
            Ok(url) if !url.username().is_empty() || url.password().is_some() => Some(
                "the URL holds credentials; give them in G5K_USERNAME and G5K_PASSWORD or in \
                 ~/.python-grid5000.yaml instead"
                    .to_owned(),
            ),
            Ok(url) if url.query().is_some() || url.fragment().is_some() => {
                Some(format!("{} has a query or a fragment", quote(text)))
            }
            Ok(_) => None,
            Err(e) => Some(format!("{} is not a URL: {e}", quote(text))),
        },
        other => Some(format!(
            "expected the API's URL such as https://api.grid5000.fr/stable, found {}",
            describe(other)
        )),
    };
    match problem {
        None => value.as_str().map(|t| t.trim_end_matches('/').to_owned()),
        Some(problem) => {
            ctx.value_error(path, problem);
            None
        }
    }
}

/// `sites`: each scenario site's Grid'5000 site and cluster. An entry with errors is kept with an
/// empty cluster, so that its site is not reported missing too.
fn sites(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> IndexMap<String, SiteMapping> {
    let Value::Object(map) = value else {
        ctx.value_error(
            path,
            format!(
                "expected a mapping of each scenario site to its Grid'5000 cluster (e.g. \
                 `{{paris: {{cluster: paravance}}}}`), found {}",
                describe(value)
            ),
        );
        return IndexMap::new();
    };
    let mut sites = IndexMap::new();
    for (name, entry) in map {
        let entry_path = format!("{path}.{name}");
        let mapping = site_mapping(ctx, &entry_path, entry).unwrap_or(SiteMapping {
            site: None,
            cluster: String::new(),
            min: IndexMap::new(),
        });
        sites.insert(name.clone(), mapping);
    }
    sites
}

/// One scenario site's mapping at `path`; `None` after an error (reported).
fn site_mapping(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<SiteMapping> {
    let Value::Object(map) = value else {
        ctx.value_error(
            path,
            format!(
                "expected a mapping with `cluster` and optionally `site` and `min` (e.g. \
                 `{{site: rennes, cluster: paravance}}`), found {}",
                describe(value)
            ),
        );
        return None;
    };
    let mut ok = true;
    for key in map.keys() {
        if !SITE_KEYS.contains(&key.as_str()) {
            ctx.key_error(
                &format!("{path}.{key}"),
                format!(
                    "unknown key `{key}`, expected one of {}",
                    SITE_KEYS.join(", ")
                ),
            );
            ok = false;
        }
    }
    let cluster = match map.get("cluster") {
        None | Some(Value::Null) => {
            ctx.missing(
                &format!("{path}.cluster"),
                path,
                "the Grid'5000 cluster the site's hosts come from",
                "cluster: paravance",
            );
            None
        }
        Some(Value::String(text)) => match check_name(text, MAX_CLUSTER_LEN) {
            Ok(()) => Some(text.clone()),
            Err(why) => {
                ctx.value_error(
                    &format!("{path}.cluster"),
                    format!("bad cluster name: {why}"),
                );
                None
            }
        },
        Some(other) => {
            ctx.value_error(
                &format!("{path}.cluster"),
                format!(
                    "expected a cluster name such as paravance, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let site = match map.get("site") {
        None => Some(
            cluster
                .as_deref()
                .and_then(clusters::site_of)
                .map(str::to_owned),
        ),
        Some(Value::String(text)) if clusters::is_site(text) => {
            let known = cluster.as_deref().and_then(clusters::site_of);
            match (known, &cluster) {
                (Some(known), Some(cluster)) if known != text => {
                    ctx.value_error(
                        &format!("{path}.site"),
                        format!(
                            "the cluster {} is in {known}, not in {text}",
                            quote(cluster)
                        ),
                    );
                    None
                }
                _ => Some(Some(text.clone())),
            }
        }
        Some(other) => {
            ctx.value_error(
                &format!("{path}.site"),
                format!(
                    "expected a Grid'5000 site, one of {}, found {}",
                    clusters::SITES.join(", "),
                    describe(other)
                ),
            );
            None
        }
    };
    let min = match map.get("min") {
        None => Some(IndexMap::new()),
        Some(value) => min(ctx, &format!("{path}.min"), value),
    };
    let mapping = SiteMapping {
        site: site?,
        cluster: cluster?,
        min: min?,
    };
    ok.then_some(mapping)
}

/// `min`: role → the fewest hosts accepted.
fn min(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<IndexMap<String, u32>> {
    let Value::Object(map) = value else {
        ctx.value_error(
            path,
            format!(
                "expected the fewest hosts accepted per role (e.g. `{{compute: 2}}`), found {}",
                describe(value)
            ),
        );
        return None;
    };
    let mut min = IndexMap::new();
    let mut ok = true;
    for (role, count) in map {
        let role_path = format!("{path}.{role}");
        if let Err(why) = check_name(role, MAX_PART_LEN) {
            ctx.key_error(&role_path, format!("bad role name: {why}"));
            ok = false;
            continue;
        }
        match count.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => {
                min.insert(role.clone(), n);
            }
            None => {
                ctx.value_error(
                    &role_path,
                    format!(
                        "expected the fewest hosts of role {} accepted (0 or more), found {}",
                        quote(role),
                        describe(count)
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(min)
}

/// The JSON Schema of `provider.g5k`.
fn schema() -> Value {
    let name_pattern = "^[a-z](-?[a-z0-9])*$";
    let mapping = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["cluster"],
        "properties": {
            "site": {
                "enum": clusters::SITES,
                "description": "The Grid'5000 site (default: from the built-in table of clusters, else the reference API at deploy).",
            },
            "cluster": {
                "type": "string",
                "pattern": name_pattern,
                "maxLength": MAX_CLUSTER_LEN,
                "description": "The Grid'5000 cluster the site's hosts come from, e.g. paravance.",
            },
            "min": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
                "description": "Per role, the fewest hosts accepted when some fail (default: all asked).",
            },
        },
    });
    let mut properties = Map::new();
    properties.insert(
        "job_name".into(),
        json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]+$", "maxLength": MAX_JOB_NAME_LEN,
               "description": "The OAR job name (default: enos-<scenario name>)."}),
    );
    properties.insert(
        "walltime".into(),
        json!({"type": "string", "pattern": "^[0-9]+:[0-5][0-9](:[0-5][0-9])?$", "default": DEFAULT_WALLTIME.to_string(),
               "description": "How long the jobs last, HH:MM:SS."}),
    );
    properties.insert(
        "queue".into(),
        json!({"enum": Queue::NAMES, "default": "default", "description": "The OAR queue."}),
    );
    properties.insert(
        "reservation".into(),
        json!({"type": "string", "description": "Start the jobs later: \"YYYY-MM-DD hh:mm:ss\", Grid'5000's local time."}),
    );
    properties.insert(
        "env_name".into(),
        json!({"type": "string", "default": DEFAULT_ENV_NAME, "description": "The kadeploy environment installed on the nodes."}),
    );
    properties.insert(
        "deploy_retries".into(),
        json!({"type": "integer", "minimum": 0, "maximum": MAX_DEPLOY_RETRIES, "default": DEFAULT_DEPLOY_RETRIES,
               "description": "Further kadeploy attempts for the nodes that failed."}),
    );
    properties.insert(
        "scheduled_at_limit".into(),
        json!({"type": "string", "description": "Give up (deleting the job) when OAR predicts a start later than this from now, e.g. 10m."}),
    );
    properties.insert(
        "monitor".into(),
        json!({"type": "string", "description": "Metrics Kwollect collects at high frequency (job type monitor=<regex>)."}),
    );
    properties.insert(
        "vlan".into(),
        json!({"enum": VlanKind::NAMES, "description": "Reserve a VLAN on each Grid'5000 site and deploy the nodes in it."}),
    );
    properties.insert(
        "api_url".into(),
        json!({"type": "string", "format": "uri", "description": "The API's base URL (default: https://api.grid5000.fr/stable)."}),
    );
    properties.insert(
        "sites".into(),
        json!({"type": "object", "additionalProperties": mapping,
               "description": "Per scenario site: its Grid'5000 site and cluster."}),
    );
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["sites"],
        "description": "Options of the Grid'5000 provider: OAR jobs, kadeploy and kavlan through the Grid'5000 REST API.",
        "properties": properties,
    })
}
