//! Post-mortem analysis of an enos-rs experiment: everything its directory holds becomes tidy
//! tables (Parquet, with the schemas of docs/data.md), per-point statistics, figures and one
//! report. This is the only crate that depends on polars; it reads the records as files,
//! without SSH, tokio or providers.
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
//! * `pairs.parquet` and `pairs.csv`: the same per (source `site`, `destination_site`) pair,
//!   with the RTT asked and measured between the two sites (`asked_rtt_ms`,
//!   `measured_rtt_ms`: medians over the WAN validation's host pairs) and `p50_minus_rtt_ms`;
//! * `energy.parquet` and `energy.csv`: per host and source, the joules over the samples and
//!   the mean watts;
//! * `energy_sites.parquet` and `energy_sites.csv`: the same added up per site and source;
//! * `energy_per_request.parquet` and `energy_per_request.csv`: per point and energy source,
//!   the joules all hosts drew over the point's span, the share of the span their samples
//!   cover (`coverage`) and the joules per request (see [`RequestEnergy`]);
//! * `figures/*.svg`: latency CDFs per site pair, latency against RTT, and time series of
//!   latency, throughput, CPU and power with the timeline events (in `analysis/figures/`);
//! * `report.html`: all of it on one self-contained page that opens offline: the scenario, the
//!   testbed, the WAN asked and measured, the tables and every figure, inlined;
//! * `analysis.json`: the version of these tables, their row counts, the report and the
//!   figures.
//!
//! [`compare`] tells a regression from noise between two runs or two sets of runs.
#![warn(missing_docs)]

pub mod compare;
mod energy;
mod figures;
mod inputs;
mod report;
pub mod sweep;
mod tables;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use energy::{RequestEnergy, SiteEnergy};
use enos_core::layout::{ANALYSIS_FIGURES, ANALYSIS_RECORD, ANALYSIS_REPORT};
pub use figures::{CDF_POINTS, MAX_BUCKETS, MAX_LINES};
pub use tables::{EnergyRow, PairSummary, PointSummary};

/// The version of the tables' schemas (docs/data.md). 2: `pairs` gained `asked_rtt_ms`,
/// `measured_rtt_ms` and `p50_minus_rtt_ms`; `energy_sites` and `energy_per_request` are new.
/// 3: `requests` gained `operation` (a Rally iteration's scenario), and `summary` and `pairs`
/// are per operation too, with `mean_ms`.
pub const TABLES_VERSION: u32 = 3;

/// How a workload's statistics are named: the workload, or `workload/operation` where it does
/// several things (Rally's scenarios, one task each).
pub fn workload_label(workload: &str, operation: &str) -> String {
    if operation.is_empty() {
        workload.to_owned()
    } else {
        format!("{workload}/{operation}")
    }
}
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
    /// The report, relative to the experiment's directory (`analysis/report.html`).
    #[serde(default)]
    pub report: String,
    /// The figures drawn, relative to the experiment's directory
    /// (`analysis/figures/<name>.svg`).
    #[serde(default)]
    pub figures: Vec<String>,
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
    /// The same per (source site, destination site) pair, with the RTT between the sites.
    pub pairs: Vec<PairSummary>,
    /// Energy per host and source.
    pub energy: Vec<EnergyRow>,
    /// Energy per site and source.
    pub energy_sites: Vec<SiteEnergy>,
    /// Energy per request of each point, per source.
    pub energy_per_request: Vec<RequestEnergy>,
    /// The report (`<experiment>/analysis/report.html`).
    pub report: PathBuf,
    /// The figures (`<experiment>/analysis/figures/<name>.svg`).
    pub figures: Vec<PathBuf>,
}

/// Analyses the experiment in `dir` (an experiment's results directory).
pub fn analyze(dir: &Path) -> Result<Analysis, AnalysisError> {
    let mut inputs = inputs::read(dir)?;
    let out = dir.join(ANALYSIS_DIR);
    std::fs::create_dir_all(&out)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", out.display())))?;
    let written = tables::write_all(&mut inputs, &out)?;
    let figures = figures::draw(&inputs, &written.requests, &written.samples, &written.pairs)?;
    let figures_dir = dir.join(ANALYSIS_FIGURES);
    let figure_files = figures::write(&figures.drawn, &figures_dir)?;
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
        report: ANALYSIS_REPORT.to_owned(),
        figures: figure_files
            .iter()
            .map(|f| format!("{ANALYSIS_FIGURES}/{f}"))
            .collect(),
    };
    let html = report::html(&report::Report {
        inputs: &inputs,
        record: &record,
        summary: &written.summary,
        pairs: &written.pairs,
        energy: &written.energy,
        energy_sites: &written.energy_sites,
        energy_per_request: &written.energy_per_request,
        figures: &figures,
    });
    let report = dir.join(ANALYSIS_REPORT);
    enos_core::fsutil::write_atomic(&report, html.as_bytes())
        .map_err(|e| AnalysisError::new(format!("cannot write {ANALYSIS_REPORT}: {e}")))?;
    let text = serde_json::to_vec_pretty(&record).map_err(|e| AnalysisError::new(e.to_string()))?;
    enos_core::fsutil::write_atomic(&dir.join(ANALYSIS_RECORD), &text)
        .map_err(|e| AnalysisError::new(format!("cannot write {ANALYSIS_RECORD}: {e}")))?;
    Ok(Analysis {
        dir: out,
        record,
        summary: written.summary,
        pairs: written.pairs,
        energy: written.energy,
        energy_sites: written.energy_sites,
        energy_per_request: written.energy_per_request,
        report,
        figures: figure_files.iter().map(|f| figures_dir.join(f)).collect(),
    })
}
