//! Where the credentials come from: an openrc file's `OS_*` environment, or an entry of
//! clouds.yaml (searched where openstacksdk searches, with its secure.yaml beside). Keystone v3
//! only: a password, or an application credential. Secrets are kept in [`Secret`], which never
//! shows its text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// A password, an application credential's secret or a token: its `Debug` shows nothing of it,
/// and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A domain, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    /// `{"name": …}`.
    Name(String),
    /// `{"id": …}`.
    Id(String),
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// A user's password, scoped to a project.
    Password {
        /// The user's name (with its domain) or id.
        user: Named,
        /// The password.
        password: Secret,
        /// The project's name (with its domain) or id.
        project: Named,
    },
    /// An application credential (already scoped to its project).
    ApplicationCredential {
        /// Its id.
        id: String,
        /// Its secret.
        secret: Secret,
    },
}

/// A user or a project: by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// By id.
    Id(String),
    /// By name, within a domain.
    Name {
        /// The name.
        name: String,
        /// Its domain.
        domain: Domain,
    },
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Named::Id(id) => write!(f, "id {id}"),
            Named::Name { name, domain } => match domain {
                Domain::Name(d) => write!(f, "{name} (domain {d})"),
                Domain::Id(d) => write!(f, "{name} (domain id {d})"),
            },
        }
    }
}

/// Where the credentials were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The `OS_*` variables of the environment (an openrc file).
    Environment,
    /// An entry of a clouds.yaml file.
    CloudsYaml {
        /// The entry.
        cloud: String,
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Environment => f.write_str("the OS_* environment variables"),
            Source::CloudsYaml { cloud, path } => {
                write!(f, "the clouds.yaml entry `{cloud}` of {}", path.display())
            }
        }
    }
}

/// Credentials for a Keystone v3 cloud, with the endpoints to pick from its catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Keystone's URL as given (e.g. `https://keystone.example.org:5000/v3`).
    pub auth_url: String,
    /// How to authenticate.
    pub method: Method,
    /// The region whose endpoints are used, if one is named.
    pub region: Option<String>,
    /// The endpoints' interface: `public` (default), `internal` or `admin`.
    pub interface: String,
    /// A PEM bundle of extra trust anchors (`OS_CACERT`, `cacert`).
    pub ca_file: Option<PathBuf>,
    /// Where they were found.
    pub source: Source,
}

impl Credentials {
    /// Who authenticates, for messages: `user demo (domain Default) in project demo (domain
    /// Default)`, or `application credential 1b2c…`. Never a secret.
    pub fn who(&self) -> String {
        match &self.method {
            Method::Password { user, project, .. } => {
                format!("user {user} in project {project}")
            }
            Method::ApplicationCredential { id, .. } => format!("application credential {id}"),
        }
    }

    /// The secrets these credentials hold (to check that none was written anywhere).
    pub fn secrets(&self) -> Vec<&Secret> {
        match &self.method {
            Method::Password { password, .. } => vec![password],
            Method::ApplicationCredential { secret, .. } => vec![secret],
        }
    }

    /// Finds the credentials: the clouds.yaml entry `cloud` when it is given, else the entry
    /// `OS_CLOUD` names, else the `OS_*` variables of `env`. clouds.yaml is the first of
    /// `OS_CLIENT_CONFIG_FILE` and `clouds.yaml`/`clouds.yml` in `search_dirs` that exists;
    /// `secure.yaml` beside the same directories adds to it. `region` (the scenario's) beats
    /// the one found.
    pub fn discover(
        cloud: Option<&str>,
        region: Option<&str>,
        env: &BTreeMap<String, String>,
        search_dirs: &[PathBuf],
    ) -> Result<Credentials, String> {
        let named = cloud
            .map(str::to_owned)
            .or_else(|| env.get("OS_CLOUD").filter(|c| !c.is_empty()).cloned());
        let mut credentials = match named {
            Some(cloud) => from_clouds_yaml(&cloud, env, search_dirs)?,
            None => from_environment(env)?,
        };
        if let Some(region) = region {
            credentials.region = Some(region.to_owned());
        }
        Ok(credentials)
    }
}

/// A variable of `env`, when set and not empty.
fn var<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The `OS_*` variables of an openrc file.
fn from_environment(env: &BTreeMap<String, String>) -> Result<Credentials, String> {
    let get = |name: &str| var(env, name).map(str::to_owned);
    let fields = Fields {
        auth_type: get("OS_AUTH_TYPE"),
        auth_url: get("OS_AUTH_URL"),
        username: get("OS_USERNAME"),
        user_id: get("OS_USER_ID"),
        password: get("OS_PASSWORD").map(Secret::new),
        project_name: get("OS_PROJECT_NAME").or_else(|| get("OS_TENANT_NAME")),
        project_id: get("OS_PROJECT_ID").or_else(|| get("OS_TENANT_ID")),
        user_domain_name: get("OS_USER_DOMAIN_NAME"),
        user_domain_id: get("OS_USER_DOMAIN_ID"),
        project_domain_name: get("OS_PROJECT_DOMAIN_NAME"),
        project_domain_id: get("OS_PROJECT_DOMAIN_ID"),
        domain_name: get("OS_DOMAIN_NAME"),
        domain_id: get("OS_DOMAIN_ID"),
        application_credential_id: get("OS_APPLICATION_CREDENTIAL_ID"),
        application_credential_secret: get("OS_APPLICATION_CREDENTIAL_SECRET").map(Secret::new),
        region: get("OS_REGION_NAME"),
        interface: get("OS_INTERFACE").or_else(|| get("OS_ENDPOINT_TYPE")),
        ca_file: get("OS_CACERT").map(PathBuf::from),
        identity_api_version: get("OS_IDENTITY_API_VERSION"),
        insecure: get("OS_INSECURE").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True")),
        names: Names::Environment,
    };
    if fields.auth_url.is_none() {
        return Err(
            "no OpenStack credentials: OS_AUTH_URL is not set (source your project's openrc \
             file, or name a clouds.yaml entry with `cloud:` in the scenario or OS_CLOUD)"
                .to_owned(),
        );
    }
    fields.into_credentials(Source::Environment)
}

/// An entry of clouds.yaml.
fn from_clouds_yaml(
    cloud: &str,
    env: &BTreeMap<String, String>,
    search_dirs: &[PathBuf],
) -> Result<Credentials, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(file) = var(env, "OS_CLIENT_CONFIG_FILE") {
        files.push(PathBuf::from(file));
    }
    for dir in search_dirs {
        for name in ["clouds.yaml", "clouds.yml"] {
            files.push(dir.join(name));
        }
    }
    let Some(path) = files.iter().find(|p| p.is_file()) else {
        let looked: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "the scenario uses the clouds.yaml entry `{cloud}`, but there is no clouds.yaml \
             (looked for {})",
            looked.join(", ")
        ));
    };
    let clouds = read_yaml(path)?;
    let entry = clouds
        .get("clouds")
        .and_then(|c| c.get(cloud))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            let names: Vec<String> = clouds
                .get("clouds")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            format!(
                "{} has no entry `{cloud}` under `clouds` (it has: {})",
                path.display(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        })?;
    let mut entry = normalize(entry);
    let mut secure_files: Vec<PathBuf> = Vec::new();
    if let Some(file) = var(env, "OS_CLIENT_SECURE_FILE") {
        secure_files.push(PathBuf::from(file));
    }
    for dir in search_dirs {
        for name in ["secure.yaml", "secure.yml"] {
            secure_files.push(dir.join(name));
        }
    }
    if let Some(secure_path) = secure_files.iter().find(|p| p.is_file()) {
        let secure = read_yaml(secure_path)?;
        if let Some(extra) = secure
            .get("clouds")
            .and_then(|c| c.get(cloud))
            .and_then(Value::as_object)
        {
            merge(&mut entry, &normalize(extra));
        }
    }
    let auth = entry
        .get("auth")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let text = |map: &Map<String, Value>, key: &str| -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let fields = Fields {
        auth_type: text(&entry, "auth_type"),
        auth_url: text(&auth, "auth_url"),
        username: text(&auth, "username"),
        user_id: text(&auth, "user_id"),
        password: text(&auth, "password").map(Secret::new),
        project_name: text(&auth, "project_name").or_else(|| text(&auth, "tenant_name")),
        project_id: text(&auth, "project_id").or_else(|| text(&auth, "tenant_id")),
        user_domain_name: text(&auth, "user_domain_name"),
        user_domain_id: text(&auth, "user_domain_id"),
        project_domain_name: text(&auth, "project_domain_name"),
        project_domain_id: text(&auth, "project_domain_id"),
        domain_name: text(&auth, "domain_name"),
        domain_id: text(&auth, "domain_id"),
        application_credential_id: text(&auth, "application_credential_id"),
        application_credential_secret: text(&auth, "application_credential_secret")
            .map(Secret::new),
        region: text(&entry, "region_name"),
        interface: text(&entry, "interface").or_else(|| text(&entry, "endpoint_type")),
        ca_file: text(&entry, "cacert").map(|file| {
            let file = PathBuf::from(file);
            match path.parent() {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file,
            }
        }),
        identity_api_version: text(&entry, "identity_api_version"),
        insecure: matches!(entry.get("verify"), Some(Value::Bool(false)))
            || matches!(entry.get("insecure"), Some(Value::Bool(true))),
        names: Names::CloudsYaml,
    };
    if fields.auth_url.is_none() {
        return Err(format!(
            "the clouds.yaml entry `{cloud}` of {} has no `auth.auth_url`",
            path.display()
        ));
    }
    fields.into_credentials(Source::CloudsYaml {
        cloud: cloud.to_owned(),
        path: path.clone(),
    })
}

/// A YAML (or JSON) file as a value.
fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // The parser's messages may quote the file, which holds secrets: only the place is kept.
    serde_saphyr::from_str::<Value>(&text).map_err(|e| {
        let place = e
            .to_string()
            .lines()
            .next()
            .and_then(|line| line.find(" at line ").map(|at| line[at..].to_owned()))
            .unwrap_or_default();
        format!("{} is not valid YAML{place}", path.display())
    })
}

/// The keys of `map` (and of its mappings) with `-` read as `_`, as openstacksdk reads them.
fn normalize(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(normalize(inner)),
                other => other.clone(),
            };
            (k.replace('-', "_"), v)
        })
        .collect()
}

/// Adds `extra` into `base`, mappings merged key by key.
fn merge(base: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (key, value) in extra {
        match (base.get_mut(key), value) {
            (Some(Value::Object(inner)), Value::Object(more)) => merge(inner, more),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// How fields are called where they came from, for messages.
#[derive(Debug, Clone, Copy, Default)]
enum Names {
    #[default]
    Environment,
    CloudsYaml,
}

impl Names {
    fn of(self, env: &'static str, yaml: &'static str) -> &'static str {
        match self {
            Names::Environment => env,
            Names::CloudsYaml => yaml,
        }
    }
}

/// The fields both sources give.
#[derive(Default)]
struct Fields {
    auth_type: Option<String>,
    auth_url: Option<String>,
    username: Option<String>,
    user_id: Option<String>,
    password: Option<Secret>,
    project_name: Option<String>,
    project_id: Option<String>,
    user_domain_name: Option<String>,
    user_domain_id: Option<String>,
    project_domain_name: Option<String>,
    project_domain_id: Option<String>,
    domain_name: Option<String>,
    domain_id: Option<String>,
    application_credential_id: Option<String>,
    application_credential_secret: Option<Secret>,
    region: Option<String>,
    interface: Option<String>,
    ca_file: Option<PathBuf>,
    identity_api_version: Option<String>,
    insecure: bool,
    names: Names,
}

impl Fields {
    fn into_credentials(self, source: Source) -> Result<Credentials, String> {
        let n = self.names;
        let from = source.to_string();
        let auth_url = self.auth_url.clone().unwrap_or_default();
        if let Some(version) = &self.identity_api_version
            && !version.starts_with('3')
        {
            return Err(format!(
                "{from} ask for Keystone v{version}: only Keystone v3 is supported"
            ));
        }
        if self.insecure {
            return Err(format!(
                "{from} turn TLS verification off: this provider always verifies; give the \
                 cloud's CA with {} instead",
                n.of("OS_CACERT", "`cacert`")
            ));
        }
        let auth_type = self
            .auth_type
            .clone()
            .unwrap_or_else(|| {
                if self.application_credential_id.is_some() {
                    "v3applicationcredential".to_owned()
                } else {
                    "password".to_owned()
                }
            })
            .replace('-', "_");
        let method = match auth_type.as_str() {
            "password" | "v3password" => self.password_method(&from)?,
            "v3applicationcredential" | "application_credential" => {
                let id = self.application_credential_id.clone().ok_or_else(|| {
                    format!(
                        "{from} ask for an application credential without its id ({})",
                        n.of(
                            "OS_APPLICATION_CREDENTIAL_ID",
                            "`auth.application_credential_id`"
                        )
                    )
                })?;
                let secret = self.application_credential_secret.clone().ok_or_else(|| {
                    format!(
                        "{from} give no application credential secret ({})",
                        n.of(
                            "OS_APPLICATION_CREDENTIAL_SECRET",
                            "`auth.application_credential_secret`"
                        )
                    )
                })?;
                Method::ApplicationCredential { id, secret }
            }
            other => {
                return Err(format!(
                    "{from} ask for the auth type `{other}`: this provider knows `password` and \
                     `v3applicationcredential` (make an application credential for the CLI)"
                ));
            }
        };
        let interface = self
            .interface
            .map(|i| i.trim_end_matches("URL").to_owned())
            .unwrap_or_else(|| "public".to_owned());
        if !matches!(interface.as_str(), "public" | "internal" | "admin") {
            return Err(format!(
                "{from} ask for the interface `{interface}`: expected public, internal or admin"
            ));
        }
        Ok(Credentials {
            auth_url,
            method,
            region: self.region,
            interface,
            ca_file: self.ca_file,
            source,
        })
    }

    fn password_method(&self, from: &str) -> Result<Method, String> {
        let n = self.names;
        // As python-openstackclient does: a name without a domain is in the default domain.
        let default_domain = || {
            self.domain_id
                .clone()
                .map(Domain::Id)
                .or_else(|| self.domain_name.clone().map(Domain::Name))
                .unwrap_or_else(|| Domain::Id("default".to_owned()))
        };
        let user = match (&self.user_id, &self.username) {
            (Some(id), _) => Named::Id(id.clone()),
            (None, Some(name)) => Named::Name {
                name: name.clone(),
                domain: self
                    .user_domain_id
                    .clone()
                    .map(Domain::Id)
                    .or_else(|| self.user_domain_name.clone().map(Domain::Name))
                    .unwrap_or_else(default_domain),
            },
            (None, None) => {
                return Err(format!(
                    "{from} name no user ({})",
                    n.of(
                        "OS_USERNAME or OS_USER_ID",
                        "`auth.username` or `auth.user_id`"
                    )
                ));
            }
        };
        let project = match (&self.project_id, &self.project_name) {
            (Some(id), _) => Named::Id(id.clone()),
            (None, Some(name)) => Named::Name {
                name: name.clone(),
                domain: self
                    .project_domain_id
                    .clone()
                    .map(Domain::Id)
                    .or_else(|| self.project_domain_name.clone().map(Domain::Name))
                    .unwrap_or_else(default_domain),
            },
            (None, None) => {
                return Err(format!(
                    "{from} name no project ({}): servers are made in a project",
                    n.of(
                        "OS_PROJECT_NAME or OS_PROJECT_ID",
                        "`auth.project_name` or `auth.project_id`"
                    )
                ));
            }
        };
        let password = self.password.clone().ok_or_else(|| {
            format!(
                "{from} give no password ({})",
                n.of("OS_PASSWORD", "`auth.password`")
            )
        })?;
        Ok(Method::Password {
            user,
            password,
            project,
        })
    }
}

/// Where clouds.yaml is looked for by default: the working directory,
/// `~/.config/openstack` and `/etc/openstack` (openstacksdk's order).
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".config").join("openstack"));
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_openrc_environment_gives_password_credentials() {
        let found = Credentials::discover(
            None,
            None,
            &env(&[
                ("OS_AUTH_URL", "https://keystone.example.org:5000/v3"),
                ("OS_USERNAME", "demo"),
                ("OS_PASSWORD", "hunter2"),
                ("OS_PROJECT_NAME", "lab"),
                ("OS_USER_DOMAIN_NAME", "Default"),
                ("OS_REGION_NAME", "RegionOne"),
                ("OS_INTERFACE", "publicURL"),
            ]),
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.interface, "public");
        assert_eq!(found.region.as_deref(), Some("RegionOne"));
        assert_eq!(
            found.who(),
            "user demo (domain Default) in project lab (domain id default)"
        );
        assert!(!format!("{found:?}").contains("hunter2"));
    }

    #[test]
    fn missing_pieces_are_named() {
        let error = Credentials::discover(None, None, &env(&[]), &[]).unwrap_err();
        assert!(error.contains("OS_AUTH_URL is not set"), "{error}");
        let error = Credentials::discover(
            None,
            None,
            &env(&[("OS_AUTH_URL", "http://k/v3"), ("OS_USERNAME", "demo")]),
            &[],
        )
        .unwrap_err();
        assert!(error.contains("name no project"), "{error}");
        let error = Credentials::discover(
            None,
            None,
            &env(&[
                ("OS_AUTH_URL", "http://k/v3"),
                ("OS_AUTH_TYPE", "v3oidcpassword"),
            ]),
            &[],
        )
        .unwrap_err();
        assert!(error.contains("`v3oidcpassword`"), "{error}");
    }

    #[test]
    fn clouds_yaml_entries_merge_secure_yaml() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("clouds.yaml"),
            "clouds:\n  lab:\n    auth:\n      auth_url: http://k:5000/v3\n      \
             application_credential_id: abc\n    auth_type: v3applicationcredential\n    \
             region_name: R2\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("secure.yaml"),
            "clouds:\n  lab:\n    auth:\n      application_credential_secret: s3cret\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let found =
            Credentials::discover(Some("lab"), Some("R1"), &env(&[]), &[dir.path().to_owned()])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            found.method,
            Method::ApplicationCredential {
                id: "abc".into(),
                secret: Secret::new("s3cret")
            }
        );
        assert_eq!(found.region.as_deref(), Some("R1"));
        let error = Credentials::discover(Some("other"), None, &env(&[]), &[dir.path().to_owned()])
            .unwrap_err();
        assert!(
            error.contains("has no entry `other`") && error.contains("lab"),
            "{error}"
        );
    }
}
