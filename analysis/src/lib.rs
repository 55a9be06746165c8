//! Post-mortem analysis of an enos-rs experiment: everything its directory holds becomes tidy
//! tables (Parquet, with the schemas of docs/data.md) and per-point statistics. This is the only
//! crate that depends on polars; it reads the records as files, without SSH, tokio or providers.
//!
//! [`analyze`] reads the bench runs' records, the agents' samples that `enos backup` brought
//! home, Kwollect's series and the latest WAN validation, and writes into `analysis/`:
//!
//! * `requests.parquet`: one row per request, probe or iteration (`run`, `workload`, `kind`,
//!   `point`, `repeat`, `params`, `host`, `site`, `destination`, `destination_site`,
//!   `intended_start`, `start` (UTC,
//!   nanoseconds), `latency_ms`, `ok`, `error`, `warmup`);
//! * `samples.parquet`: one row per value (`time`, `host`, `site`, `role`, `metric`, `value`,
//!   `unit`, `source`);
//! * `events.parquet`: the workloads' timeline events (`run`, `workload`, `point`, `repeat`,
//!   `time`, `kind`, `detail`, `at_ms`, `error`);
//! * `wan.parquet`: per measured host pair, asked against measured RTT and loss;
//! * `summary.parquet` and `summary.csv`: per run, workload, kind and point (warm-up left out):
//!   `count`, `errors`, `error_rate`, `throughput_per_s`, latency `p50_ms`, `p90_ms`, `p99_ms`,
//!   `p99_9_ms`, `max_ms`;
//! * `pairs.parquet` and `pairs.csv`: the same per (source `site`, `destination_site`) pair;
//! * `energy.parquet` and `energy.csv`: per host and source, the joules over the samples and
//!   the mean watts;
//! * `analysis.json`: the version of these tables and their row counts.
//!
//! [`compare`] tells a regression from noise between two runs or two sets of runs.
#![warn(missing_docs)]

pub mod compare;
mod inputs;
mod tables;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use tables::{EnergyRow, PointSummary};

/// The version of the tables' schemas (docs/data.md).
pub const TABLES_VERSION: u32 = 1;
pub use enos_core::layout::ANALYSIS_DIR;

/// Why an analysis failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AnalysisError {
    /// What went wrong.
    pub message: String,
}

impl AnalysisError {
    pub(crate) fn new(message: impl Into<String>) -> AnalysisError {
        AnalysisError {
            message: message.into(),
        }
    }
}

impl From<polars::error::PolarsError> for AnalysisError {
    fn from(e: polars::error::PolarsError) -> Self {
        AnalysisError::new(format!("polars: {e}"))
    }
}

/// A table written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFile {
    /// Its name (`requests`, …).
    pub name: String,
    /// Its file, relative to the experiment's directory.
    pub file: String,
    /// Its rows.
    pub rows: usize,
}

/// `analysis/analysis.json` (a record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRecord {
    /// The tables' version.
    pub v: u32,
    /// When the analysis ran.
    pub created: String,
    /// The tables.
    pub tables: Vec<TableFile>,
    /// Records skipped: of an unknown version, or that do not parse.
    pub skipped_records: u64,
}

/// What [`analyze`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The analysis directory.
    pub dir: PathBuf,
    /// Its record.
    pub record: AnalysisRecord,
    /// Per-point statistics.
    pub summary: Vec<PointSummary>,
    /// The same per (source site, destination site) pair.
    pub pairs: Vec<PointSummary>,
    /// Energy per host and source.
    pub energy: Vec<EnergyRow>,
}

/// Analyses the experiment in `dir` (an experiment's results directory).
pub fn analyze(dir: &Path) -> Result<Analysis, AnalysisError> {
    let inputs = inputs::read(dir)?;
    let out = dir.join(ANALYSIS_DIR);
    std::fs::create_dir_all(&out)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", out.display())))?;
    let written = tables::write_all(&inputs, &out)?;
    let record = AnalysisRecord {
        v: TABLES_VERSION,
        created: jiff::Timestamp::now().to_string(),
        tables: written
            .tables
            .iter()
            .map(|(name, rows)| TableFile {
                name: (*name).to_owned(),
                file: format!("{ANALYSIS_DIR}/{name}.parquet"),
                rows: *rows,
            })
            .collect(),
        skipped_records: inputs.skipped,
    };
    let text = serde_json::to_vec_pretty(&record).map_err(|e| AnalysisError::new(e.to_string()))?;
    enos_core::fsutil::write_atomic(&out.join("analysis.json"), &text)
        .map_err(|e| AnalysisError::new(format!("cannot write analysis.json: {e}")))?;
    Ok(Analysis {
        dir: out,
        record,
        summary: written.summary,
        pairs: written.pairs,
        energy: written.energy,
    })
}
