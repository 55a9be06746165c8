//! fping: round-trip times and losses from one host towards many, `-C N` probes each.
//!
//! [`command`] is the shell command run on a host; [`parse`] reads what it printed.

use thiserror::Error;

/// The results of one `fping -C` run: each target as fping printed it, with one entry per probe,
/// the round-trip time in milliseconds or `None` for a lost probe.
pub type FpingResults = Vec<(String, Vec<Option<f64>>)>;

/// Why the output of `fping -C N -q` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FpingError {
    /// Not one line of the output gave the probes of a target.
    #[error("fping printed no result line (expected lines such as '198.18.1.3 : 10.12 - 10.11')")]
    NoResult,
    /// A probe of a result line is neither a round-trip time nor `-`.
    #[error("line {line}: '{value}' is neither a round-trip time in ms nor '-' (a lost probe)")]
    BadValue {
        /// The line's number, from 1.
        line: usize,
        /// The value as printed.
        value: String,
    },
    /// A line is neither a result line nor a message fping prints along the way (an ICMP error,
    /// a duplicate reply), e.g. a name that does not resolve or a permission problem.
    #[error("line {line}: fping said: {text}")]
    Unexpected {
        /// The line's number, from 1.
        line: usize,
        /// The line, trimmed.
        text: String,
    },
}

/// Reads the output (stderr) of `fping -C N -q`: one `(target, probes)` per result line.
///
/// A result line is `TARGET : V1 V2 …` where each value is a round-trip time in milliseconds or
/// `-` for a lost probe; spaces may be repeated (fping pads the target names) and the target is
/// kept as printed (an address or a name). ICMP error lines (`ICMP Host Unreachable from … for
/// ICMP Echo sent to …`), duplicate replies and blank lines are skipped. Any other line is an
/// error, as is an output without a single result line.
pub fn parse(output: &str) -> Result<FpingResults, FpingError> {
    let mut results = Vec::new();
    for (index, raw) in output.lines().enumerate() {
        let line = index + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with("ICMP ") {
            continue;
        }
        let mut tokens = text.split_whitespace();
        let (Some(target), Some(":")) = (tokens.next(), tokens.next()) else {
            return Err(FpingError::Unexpected {
                line,
                text: text.to_owned(),
            });
        };
        let values: Vec<&str> = tokens.collect();
        if values.first() == Some(&"duplicate") {
            continue;
        }
        let probes = values
            .iter()
            .map(|value| parse_probe(value).ok_or_else(|| bad_value(line, value)))
            .collect::<Result<Vec<_>, _>>()?;
        results.push((target.to_owned(), probes));
    }
    if results.is_empty() {
        return Err(FpingError::NoResult);
    }
    Ok(results)
}

/// One probe of a result line: `Some(None)` for `-`, `Some(Some(ms))` for a time, `None` if the
/// value is neither.
fn parse_probe(value: &str) -> Option<Option<f64>> {
    if value == "-" {
        return Some(None);
    }
    let ms: f64 = value.parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then_some(Some(ms))
}

fn bad_value(line: usize, value: &str) -> FpingError {
    FpingError::BadValue {
        line,
        value: value.to_owned(),
    }
}

/// The command that probes `targets` from a host: `probes` echo requests each, one every
/// `interval_ms` milliseconds; its output (stderr folded into stdout) is what [`parse`] reads.
/// It exits 127 with a message when fping is not installed, and 0 otherwise (fping's own exit
/// status says that some target lost probes, which the parsed results already tell).
pub fn command(targets: &[String], probes: u64, interval_ms: u64) -> String {
    format!(
        "command -v fping >/dev/null || {{ echo 'fping is not installed' >&2; exit 127; }}; \
         fping -C {probes} -q -p {interval_ms} -i 1 -t {timeout} {} 2>&1; true",
        targets.join(" "),
        timeout = 1000.max(interval_ms * 2),
    )
}
