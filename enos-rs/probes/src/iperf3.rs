//! iperf3: the throughput from one host to another, one server and one client run.
//!
//! [`server_command`] starts a one-shot server in the background on the receiving host,
//! [`client_command`] measures from the sending host, and [`parse`] reads the client's JSON.

use thiserror::Error;

/// The TCP port the server listens on.
pub const PORT: u16 = 5201;

/// Why the output of `iperf3 -J` gave no throughput.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Iperf3Error {
    /// The output is not JSON.
    #[error("iperf3's output is not JSON: {0}")]
    NotJson(String),
    /// iperf3 reported an error (the `error` key), e.g. it could not connect.
    #[error("iperf3 failed: {0}")]
    Failed(String),
    /// The JSON has no `end.sum_received.bits_per_second` number.
    #[error("iperf3's JSON has no end.sum_received.bits_per_second")]
    MissingThroughput,
    /// The throughput is negative or not a finite number.
    #[error("iperf3 reported an invalid throughput: {0}")]
    InvalidThroughput(f64),
}

/// Reads the output of `iperf3 -c ADDR -t T -J`: the received throughput in bits per second.
///
/// The throughput is `end.sum_received.bits_per_second`. An output with an `error` key is a failed
/// measurement, whatever else it holds.
pub fn parse(json: &str) -> Result<f64, Iperf3Error> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| Iperf3Error::NotJson(e.to_string()))?;
    if let Some(error) = value.get("error") {
        let message = match error {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        return Err(Iperf3Error::Failed(message));
    }
    let bits_per_second = value
        .pointer("/end/sum_received/bits_per_second")
        .and_then(serde_json::Value::as_f64)
        .ok_or(Iperf3Error::MissingThroughput)?;
    if !bits_per_second.is_finite() || bits_per_second < 0.0 {
        return Err(Iperf3Error::InvalidThroughput(bits_per_second));
    }
    Ok(bits_per_second)
}

/// Starts a one-shot iperf3 server as a daemon on [`PORT`] and gives it a moment to listen. It
/// needs no privilege (the login of a host may not be root) and exits after one test.
pub fn server_command() -> String {
    format!("iperf3 -s -1 -D -p {PORT} >/dev/null && sleep 0.2")
}

/// Measures towards `address` for `seconds` (the first second left out) and prints JSON.
pub fn client_command(address: &str, seconds: u64) -> String {
    format!("iperf3 -c {address} -p {PORT} -t {seconds} -O 1 -J")
}
