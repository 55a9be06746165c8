//! A client of Grid'5000's Kwollect metrics API, for enos-rs's energy collector.
//!
//! Kwollect serves the measured power of Grid'5000 nodes — dedicated wattmeters
//! ([`WATTMETRE_POWER`], 1 s), BMCs ([`BMC_POWER`], ~5 s, averaged) and PDUs
//! ([`PDU_OUTLET_POWER`]) — at `GET {base}/sites/{site}/metrics?nodes=…&metrics=…&start_time=…&end_time=…`.
//! [`Client::points`] fetches a [`Query`] in chunks of time and nodes (Kwollect refuses
//! requests that are too large), retries server and transport failures, and returns the
//! [`Point`]s sorted by time; [`energy`] integrates them into joules per node and metric.
//!
//! Times are sent as whole Unix seconds, widened to cover the window (offset-less ISO times
//! would be read in Kwollect's local time); points outside the window are dropped.
//!
//! Outside Grid'5000 the API needs HTTP basic [`Credentials`], from the environment or from
//! python-grid5000's `~/.python-grid5000.yaml` ([`Credentials::discover`]); inside, none.
//! Passwords never appear in errors, `Debug` output or logs.
#![warn(missing_docs)]

mod client;
mod credentials;
mod error;
mod point;

pub use client::{Client, Config, DEFAULT_BASE_URL, Query, Scope};
pub use credentials::{
    Credentials, CredentialsOrigin, PASSWORD_VAR, PYTHON_GRID5000_FILE, PythonGrid5000Config,
    USERNAME_VAR, VerifySsl,
};
pub use error::KwollectError;
pub use point::{
    BMC_POWER, Energy, NodeAddress, PDU_OUTLET_POWER, Point, WATTMETRE_POWER, energy, node_address,
};
