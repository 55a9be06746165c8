//! The support code of enos-rs's HTTP API clients (Kwollect, the Grid'5000 REST API,
//! OpenStack), written once:
//!
//! - [`tls_config`]: the rustls client configuration they hand to reqwest (ring, TLS 1.2 and
//!   1.3, the webpki roots plus the certificates of an optional extra CA file);
//! - [`excerpt`]: the start of a response body on one line, for error messages;
//! - [`error_chain`]: an error and its sources on one line;
//! - [`status_text`]: an HTTP status as `404 Not Found`;
//! - [`Backoff`]: the waits between the attempts of a retried request.
//!
//! The crate knows nothing of the APIs themselves: which statuses are worth another attempt,
//! and what an error says, stay with each client.

#![warn(missing_docs)]

mod backoff;
mod text;
mod tls;

pub use backoff::Backoff;
pub use text::{EMPTY_BODY, error_chain, excerpt, status_text};
pub use tls::{BadCertificates, TlsError, tls_config};
