//! Grid'5000 credentials: where they come from, and a `Debug` that never shows the password.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::KwollectError;

/// Environment variable holding the Grid'5000 login.
pub const USERNAME_VAR: &str = "G5K_USERNAME";
/// Environment variable holding the Grid'5000 password.
pub const PASSWORD_VAR: &str = "G5K_PASSWORD";
/// python-grid5000's configuration file, looked for in the home directory.
pub const PYTHON_GRID5000_FILE: &str = ".python-grid5000.yaml";

/// A Grid'5000 login and password, sent as HTTP basic auth (needed outside Grid'5000 only).
///
/// `Debug` shows the login and where it came from, never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
    origin: CredentialsOrigin,
}

/// Where a [`Credentials`] came from, named in errors so a refused login can be fixed at its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsOrigin {
    /// The [`USERNAME_VAR`] and [`PASSWORD_VAR`] environment variables.
    Environment,
    /// A python-grid5000 YAML file.
    File(PathBuf),
    /// Given by the program through [`Credentials::new`].
    Given,
}

impl fmt::Display for CredentialsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => write!(
                f,
                "the environment variables {USERNAME_VAR} and {PASSWORD_VAR}"
            ),
            Self::File(path) => write!(f, "the file {}", path.display()),
            Self::Given => f.write_str("the program's configuration"),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("origin", &self.origin)
            .finish()
    }
}

impl Credentials {
    /// Credentials given by the program.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            origin: CredentialsOrigin::Given,
        }
    }

    /// The Grid'5000 login.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Where these credentials came from.
    pub fn origin(&self) -> &CredentialsOrigin {
        &self.origin
    }

    /// The password, for an HTTP client's basic auth only: never log or store it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Credentials from [`USERNAME_VAR`] and [`PASSWORD_VAR`], when both are set and not empty.
    pub fn from_env() -> Option<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let username = lookup(USERNAME_VAR).filter(|value| !value.is_empty());
        let password = lookup(PASSWORD_VAR).filter(|value| !value.is_empty());
        match (username, password) {
            (Some(username), Some(password)) => Some(Self {
                username,
                password,
                origin: CredentialsOrigin::Environment,
            }),
            (None, None) => None,
            _ => {
                tracing::warn!(
                    "only one of {USERNAME_VAR} and {PASSWORD_VAR} is set; ignoring both"
                );
                None
            }
        }
    }

    /// Credentials from the environment, else from `~/.python-grid5000.yaml` when it exists and
    /// holds a login; `None` when neither has any (fine from inside Grid'5000).
    pub fn discover() -> Result<Option<Self>, KwollectError> {
        if let Some(credentials) = Self::from_env() {
            return Ok(Some(credentials));
        }
        match PythonGrid5000Config::default_path() {
            Some(path) if path.exists() => Ok(PythonGrid5000Config::load(&path)?.credentials),
            _ => Ok(None),
        }
    }
}

/// The content of python-grid5000's `~/.python-grid5000.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct PythonGrid5000Config {
    /// `username` and `password`, when the file has them (it need not inside Grid'5000).
    pub credentials: Option<Credentials>,
    /// `uri`, the API root as written in the file (python-grid5000 defaults to
    /// `https://api.grid5000.fr/`); Kwollect's base URL is that root plus the API version.
    pub uri: Option<String>,
    /// `verify_ssl`: a switch or the path of a CA bundle (see [`crate::Config::extra_ca_file`]).
    pub verify_ssl: Option<VerifySsl>,
}

/// python-grid5000's `verify_ssl` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifySsl {
    /// `true` or `false`.
    Enabled(bool),
    /// A PEM bundle of trust anchors.
    CaFile(PathBuf),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVerifySsl {
    Enabled(bool),
    CaFile(PathBuf),
}

#[derive(Deserialize, Default)]
struct RawFile {
    // serde-saphyr reads any scalar as its text for a `String`, so `password: 007` stays "007".
    username: Option<String>,
    password: Option<String>,
    uri: Option<String>,
    verify_ssl: Option<RawVerifySsl>,
}

impl PythonGrid5000Config {
    /// `$HOME/.python-grid5000.yaml`, when `HOME` is set.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(|home| PathBuf::from(home).join(PYTHON_GRID5000_FILE))
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, KwollectError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| KwollectError::CredentialsFile {
                path: path.to_path_buf(),
                reason: error.to_string(),
            })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a python-grid5000 file; `path` names it in errors and in the
    /// credentials' origin. Errors give the line, never the content, which may hold a password.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KwollectError> {
        let file_error = |reason: String| KwollectError::CredentialsFile {
            path: path.to_path_buf(),
            reason,
        };
        let raw: Option<RawFile> = serde_saphyr::from_str(text).map_err(|error| {
            let place = error
                .location()
                .map(|at| format!(" near line {}, column {}", at.line(), at.column()))
                .unwrap_or_default();
            file_error(format!(
                "not a YAML mapping of username, password, uri and verify_ssl{place} \
                 (content not shown, it may hold a password)"
            ))
        })?;
        let raw = raw.unwrap_or_default();
        let credentials = match (raw.username, raw.password) {
            (Some(username), Some(password)) => Some(Credentials {
                username,
                password,
                origin: CredentialsOrigin::File(path.to_path_buf()),
            }),
            (None, None) => None,
            (Some(_), None) => return Err(file_error("has `username` but no `password`".into())),
            (None, Some(_)) => return Err(file_error("has `password` but no `username`".into())),
        };
        let verify_ssl = raw.verify_ssl.map(|setting| match setting {
            RawVerifySsl::Enabled(flag) => VerifySsl::Enabled(flag),
            RawVerifySsl::CaFile(path) => VerifySsl::CaFile(path),
        });
        Ok(Self {
            credentials,
            uri: raw.uri,
            verify_ssl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Pa55";

    #[test]
    fn debug_redacts_the_password() {
        let credentials = Credentials::new("alice", SECRET);
        let shown = format!("{credentials:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn environment_needs_both_variables() {
        let both = |name: &str| match name {
            USERNAME_VAR => Some("alice".to_string()),
            PASSWORD_VAR => Some(SECRET.to_string()),
            _ => None,
        };
        let credentials = Credentials::from_lookup(both).expect("both variables are set");
        assert_eq!(credentials.username(), "alice");
        assert_eq!(credentials.password(), SECRET);
        assert_eq!(credentials.origin(), &CredentialsOrigin::Environment);
        let only_login = |name: &str| (name == USERNAME_VAR).then(|| "alice".to_string());
        assert_eq!(Credentials::from_lookup(only_login), None);
        let empty = |_: &str| Some(String::new());
        assert_eq!(Credentials::from_lookup(empty), None);
    }

    #[test]
    fn reads_a_python_grid5000_file() {
        let path = Path::new("/home/alice/.python-grid5000.yaml");
        let text = "# comment\nusername: alice\npassword: \"s3cr3t: Pa55\"\nuri: https://api.example.org/\nverify_ssl: /etc/ssl/certs/ca-certificates.crt\n";
        let config = PythonGrid5000Config::parse(text, path).expect("valid file");
        let credentials = config.credentials.expect("the file has a login");
        assert_eq!(credentials.username(), "alice");
        assert_eq!(credentials.password(), "s3cr3t: Pa55");
        assert_eq!(
            credentials.origin(),
            &CredentialsOrigin::File(path.to_path_buf())
        );
        assert_eq!(config.uri.as_deref(), Some("https://api.example.org/"));
        assert_eq!(
            config.verify_ssl,
            Some(VerifySsl::CaFile(PathBuf::from(
                "/etc/ssl/certs/ca-certificates.crt"
            )))
        );
    }

    #[test]
    fn numeric_password_and_boolean_verify_ssl() {
        let path = Path::new("p.yaml");
        let config = PythonGrid5000Config::parse(
            "username: 1234\npassword: 007.50\nverify_ssl: false\n",
            path,
        )
        .expect("valid file");
        let credentials = config.credentials.expect("login");
        assert_eq!(
            (credentials.username(), credentials.password()),
            ("1234", "007.50")
        );
        assert_eq!(config.verify_ssl, Some(VerifySsl::Enabled(false)));
    }

    #[test]
    fn inside_grid5000_files_have_no_login() {
        let path = Path::new("p.yaml");
        let config = PythonGrid5000Config::parse("verify_ssl: /etc/ssl/certs/ca.crt\n", path)
            .expect("valid");
        assert_eq!(config.credentials, None);
        let empty = PythonGrid5000Config::parse("", path).expect("an empty file is valid");
        assert_eq!(empty.credentials, None);
    }

    #[test]
    fn file_errors_name_the_file_but_not_the_password() {
        let path = Path::new("/home/alice/.python-grid5000.yaml");
        let broken = format!("username: alice\npassword: [{SECRET}\n");
        let error = PythonGrid5000Config::parse(&broken, path).expect_err("unclosed list");
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("/home/alice/.python-grid5000.yaml"),
            "{shown}"
        );
        assert!(!shown.contains(SECRET), "{shown}");

        let half = PythonGrid5000Config::parse("username: alice\n", path).expect_err("no password");
        assert!(half.to_string().contains("no `password`"), "{half}");
    }
}
