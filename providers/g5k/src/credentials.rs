//! Grid'5000 credentials for the REST API, as [`enos_kwollect::Credentials`] finds them (the
//! environment, then python-grid5000's file): the password is sent as HTTP basic auth and shown
//! nowhere.

use std::fmt;
use std::path::Path;

use enos_kwollect::{Credentials, CredentialsOrigin};
use enos_provider::ProviderError;

/// A Grid'5000 login and password. `Debug` shows the login and where it came from, never the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct G5kCredentials {
    login: Credentials,
}

impl fmt::Debug for G5kCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("G5kCredentials")
            .field("username", &self.login.username())
            .field("password", &"<redacted>")
            .field("origin", self.login.origin())
            .finish()
    }
}

impl G5kCredentials {
    /// Credentials given by the program (tests, or a program with its own store).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login: Credentials::new(username, password),
        }
    }

    /// The Grid'5000 login.
    pub fn username(&self) -> &str {
        self.login.username()
    }

    /// Where the credentials came from, for messages.
    pub fn origin(&self) -> &CredentialsOrigin {
        self.login.origin()
    }

    /// The password, for the HTTP layer only.
    pub(crate) fn password(&self) -> &str {
        self.login.password()
    }

    /// The credentials in the python-grid5000 file `path` (`username` and `password`); `None`
    /// when it holds none (as inside Grid'5000).
    pub fn from_file(path: &Path) -> Result<Option<Self>, ProviderError> {
        let file = enos_kwollect::PythonGrid5000Config::load(path)
            .map_err(|e| ProviderError::new(e.to_string()))?;
        Ok(file.credentials.map(|login| Self { login }))
    }

    /// The credentials of this machine's user, where [`Credentials::discover`] finds them:
    /// `G5K_USERNAME` and `G5K_PASSWORD`, else `~/.python-grid5000.yaml`; `None` when there
    /// are none (fine inside Grid'5000).
    pub fn discover() -> Result<Option<Self>, ProviderError> {
        let found = Credentials::discover().map_err(|e| ProviderError::new(e.to_string()))?;
        Ok(found.map(|login| Self { login }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_login_not_the_password() {
        let credentials = G5kCredentials::new("jdoe", "s3cr3t-Pa55");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("jdoe") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert_eq!(credentials.password(), "s3cr3t-Pa55");
    }
}
