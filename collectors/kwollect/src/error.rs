//! What can go wrong talking to Kwollect, each case saying what to do about it.

use std::path::PathBuf;

use crate::credentials::CredentialsOrigin;

/// An error of the Kwollect client. URLs in it never carry credentials, and no variant holds a
/// password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KwollectError {
    /// The query cannot be sent as it is (no nodes, empty window, a malformed site name…).
    #[error("invalid Kwollect query: {reason}")]
    InvalidQuery {
        /// What is wrong with it.
        reason: String,
    },

    /// The client could not be built from its [`crate::Config`].
    #[error("cannot set up the Kwollect client: {reason}")]
    Setup {
        /// What is wrong with the configuration.
        reason: String,
    },

    /// A python-grid5000 credentials file could not be read.
    #[error("cannot read Grid'5000 credentials from {}: {reason}", path.display())]
    CredentialsFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used (never its content).
        reason: String,
    },

    /// Grid'5000 answered 401 or 403.
    #[error("{url}: Grid'5000 answered HTTP {status}: {}", refusal_hint(credentials.as_ref()))]
    Unauthorized {
        /// The request, without credentials.
        url: String,
        /// 401 or 403.
        status: u16,
        /// Where the refused credentials came from, `None` if none were sent.
        credentials: Option<CredentialsOrigin>,
    },

    /// Kwollect refused the request (a 4xx other than 401/403), e.g. because it asks for too
    /// much data at once.
    #[error("{url}: Kwollect refused the request with HTTP {status}: {body}")]
    Rejected {
        /// The request, without credentials.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body, where Kwollect explains.
        body: String,
    },

    /// Server errors or transport failures on every attempt.
    #[error(
        "{url}: Kwollect could not be reached after {attempts} attempt(s); last failure: {last_failure}"
    )]
    Unavailable {
        /// The request, without credentials.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's failure.
        last_failure: String,
    },

    /// The response was not Kwollect's JSON array of points.
    #[error("{url}: the response is not Kwollect's JSON array of points: {reason}")]
    Decode {
        /// The request, without credentials.
        url: String,
        /// What was wrong, with the start of the body.
        reason: String,
    },
}

fn refusal_hint(credentials: Option<&CredentialsOrigin>) -> String {
    match credentials {
        Some(origin) => format!(
            "the credentials from {origin} were refused; check the login and password there"
        ),
        None => format!(
            "no credentials were sent; outside Grid'5000 set {} and {} or write `username` and \
             `password` in ~/{}",
            crate::credentials::USERNAME_VAR,
            crate::credentials::PASSWORD_VAR,
            crate::credentials::PYTHON_GRID5000_FILE,
        ),
    }
}
