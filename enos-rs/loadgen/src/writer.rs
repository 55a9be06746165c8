//! The records' writer: its own thread, one line per record, a flush at least every second, the
//! summary computed as records pass (fixed-size histograms, nothing else kept).

use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::histogram::Histogram;
use crate::{FORMAT_VERSION, Percentiles, Record, Summary};

/// The longest a written record waits in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The `start` line.
#[derive(Debug, Serialize)]
pub(crate) struct Start {
    pub version: u32,
    pub start_unix_ns: u64,
    pub url: String,
    pub mode: &'static str,
    pub steps: Vec<StepLine>,
    pub connections: usize,
    pub warmup_s: f64,
    pub duration_s: Option<f64>,
    pub requests: Option<u64>,
    pub timeout_s: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct StepLine {
    pub rate: f64,
    pub duration_s: f64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Start(&'a Start),
    Request(&'a Record),
    Summary(&'a Summary),
}

fn line(out: &mut impl Write, line: &Line<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// Writes every record `records` brings until it closes, then the summary. On a write error,
/// raises `failed` (the requests stop) and returns the error.
pub(crate) fn write<W: Write>(
    records: Receiver<Record>,
    sink: W,
    start: &Start,
    failed: &Arc<AtomicBool>,
) -> io::Result<Summary> {
    let result = write_all(records, sink, start);
    if result.is_err() {
        failed.store(true, Ordering::SeqCst);
    }
    result
}

fn write_all<W: Write>(records: Receiver<Record>, sink: W, start: &Start) -> io::Result<Summary> {
    let mut out = BufWriter::with_capacity(64 << 10, sink);
    line(&mut out, &Line::Start(start))?;
    out.flush()?;
    let mut summary = Summary {
        version: FORMAT_VERSION,
        ..Summary::default()
    };
    let mut latency = Histogram::default();
    let mut lateness = Histogram::default();
    let (mut first, mut last) = (u64::MAX, 0);
    let mut flushed = Instant::now();
    let mut dirty = false;
    loop {
        let wait = FLUSH_EVERY.saturating_sub(flushed.elapsed());
        match records.recv_timeout(wait) {
            Ok(record) => {
                line(&mut out, &Line::Request(&record))?;
                dirty = true;
                if record.warmup {
                    summary.warmup_count += 1;
                } else {
                    summary.count += 1;
                    summary.bytes += record.bytes;
                    first = first.min(record.intended_ns);
                    last = last.max(record.intended_ns.saturating_add(record.latency_ns));
                    lateness.record(record.sent_ns.saturating_sub(record.intended_ns));
                    if let Some(status) = record.status {
                        summary.responses += 1;
                        *summary.statuses.entry(status).or_default() += 1;
                        latency.record(record.latency_ns);
                    }
                    if let Some(kind) = record.error {
                        summary.errors += 1;
                        *summary.error_kinds.entry(kind).or_default() += 1;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if flushed.elapsed() >= FLUSH_EVERY {
            if dirty {
                out.flush()?;
                dirty = false;
            }
            flushed = Instant::now();
        }
    }
    summary.span_ns = last.saturating_sub(first);
    summary.latency_ns = percentiles(&latency);
    summary.lateness_ns = percentiles(&lateness);
    line(&mut out, &Line::Summary(&summary))?;
    out.flush()?;
    Ok(summary)
}

fn percentiles(h: &Histogram) -> Percentiles {
    Percentiles {
        p50: h.quantile(0.5),
        p90: h.quantile(0.9),
        p99: h.quantile(0.99),
        p99_9: h.quantile(0.999),
        max: h.max(),
    }
}
