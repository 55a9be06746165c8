//! A sweep's points side by side: each point's per-workload statistics (its
//! `analysis/summary.parquet`) with the point's swept values as leading columns, in one table
//! (`points.parquet` and `points.csv` in the sweep's directory).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::AnalysisError;
use crate::tables::{write_csv, write_parquet};

/// One workload point of one sweep point, for the terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The sweep point's number, from 1.
    pub sweep_point: u32,
    /// The swept keys and their values at that point.
    pub params: Vec<(String, String)>,
    /// The workload, or `workload/operation` ([`crate::workload_label`]).
    pub workload: String,
    /// The workload's own point (its parameter matrix).
    pub point: u32,
    /// Requests (or probes, or iterations).
    pub count: u64,
    /// Those that failed, over `count`.
    pub error_rate: f64,
    /// Requests per second.
    pub throughput_per_s: Option<f64>,
    /// Median latency, in ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, in ms.
    pub p99_ms: Option<f64>,
}

/// A sweep point: its swept values (key, value as shown) and its experiment's directory.
pub type SweepInput = (Vec<(String, String)>, PathBuf);

/// Puts the statistics of `points` (in order, numbered from 1) side by side into
/// `out/points.parquet` and `out/points.csv`; gives the rows.
pub fn side_by_side(points: &[SweepInput], out: &Path) -> Result<Vec<SweepRow>, AnalysisError> {
    let mut table: Option<DataFrame> = None;
    for (number, (params, dir)) in (1u32..).zip(points) {
        let path = dir.join(crate::ANALYSIS_DIR).join("summary.parquet");
        let file = std::fs::File::open(&path)
            .map_err(|e| AnalysisError::new(format!("cannot open {}: {e}", path.display())))?;
        let summary = ParquetReader::new(file).finish()?;
        let height = summary.height();
        let mut columns = vec![Column::new("sweep_point".into(), vec![number; height])];
        for (key, value) in params {
            columns.push(Column::new(
                key.as_str().into(),
                vec![value.as_str(); height],
            ));
        }
        columns.extend(summary.columns().iter().cloned());
        let frame = DataFrame::new_infer_height(columns)?;
        table = Some(match table {
            None => frame,
            Some(mut all) => {
                all.vstack_mut(&frame)?;
                all
            }
        });
    }
    let Some(mut table) = table else {
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(out)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", out.display())))?;
    write_parquet(&mut table, &out.join("points.parquet"))?;
    write_csv(&mut table, &out.join("points.csv"))?;
    rows(&table, points)
}

fn rows(table: &DataFrame, points: &[SweepInput]) -> Result<Vec<SweepRow>, AnalysisError> {
    let sweep_point = table.column("sweep_point")?.u32()?;
    let workloads = crate::tables::workload_labels(table)?;
    let point = table.column("point")?.u32()?;
    let count = table.column("count")?.u64()?;
    let error_rate = table.column("error_rate")?.f64()?;
    let throughput = table.column("throughput_per_s")?.f64()?;
    let p50 = table.column("p50_ms")?.f64()?;
    let p99 = table.column("p99_ms")?.f64()?;
    let mut out = Vec::with_capacity(table.height());
    for (i, workload) in workloads.into_iter().enumerate() {
        let number = sweep_point.get(i).unwrap_or_default();
        let params = usize::try_from(number)
            .ok()
            .and_then(|n| points.get(n.checked_sub(1)?))
            .map(|(params, _)| params.clone())
            .unwrap_or_default();
        out.push(SweepRow {
            sweep_point: number,
            params,
            workload,
            point: point.get(i).unwrap_or_default(),
            count: count.get(i).unwrap_or_default(),
            error_rate: error_rate.get(i).unwrap_or_default(),
            throughput_per_s: throughput.get(i),
            p50_ms: p50.get(i),
            p99_ms: p99.get(i),
        });
    }
    Ok(out)
}
