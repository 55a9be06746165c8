//! Sweeps: a scenario with a `sweep:` section is run once per point (see
//! [`enos_scenario::sweep`]), each point a whole `enos run` — its own experiment, destroyed at
//! its end — registered in the ledger with its values and the sweep's id. Run again, a sweep
//! skips the points the ledger says have results (complete or partial) and resumes at the first
//! point not done: one killed, interrupted or failed is run again.
//!
//! The sweep's record (`sweeps/<id>/sweep.json` under the results root) lists every point with
//! its run; once the points have run, the caller's `side_by_side` puts their statistics side
//! by side in the same directory.

use std::path::{Path, PathBuf};

use enos_core::{Reporter, layout};
pub use enos_scenario::sweep::{SweepParameter, SweepPoint, value_text};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::deploy::DeployRequest;
use crate::ledger::{self, LedgerStatus, SweepRef};
use crate::registry::Providers;
use crate::run::{RunOutcome, RunRequest};

/// The version of [`SweepRecord`].
pub const SWEEP_VERSION: u32 = 1;

/// A scenario's sweep, ready to run.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// Its id: `<name>-<the first 12 digits of the scenario's SHA-256>`; the same file gives
    /// the same id, which is how a sweep run again finds its points done.
    pub id: String,
    /// The experiment's name.
    pub name: String,
    /// The swept keys and their values.
    pub parameters: Vec<SweepParameter>,
    /// Its points, in order.
    pub points: Vec<SweepPoint>,
    /// The SHA-256 of the sweeping scenario.
    pub sha256: String,
}

/// The sweep of the scenario `file`, or none when it has no `sweep:` section.
pub fn plan(providers: &Providers, file: &Path) -> Result<Option<SweepPlan>, Error> {
    let source = enos_scenario::read_file(file)?;
    let name = file.display().to_string();
    let (scenario, points) = enos_scenario::sweep_points(&source, &name, &providers.kinds())?;
    let Some(sweep) = scenario.sweep else {
        return Ok(None);
    };
    // Each point must also fit its provider.
    for point in &points {
        crate::scenario::load_text(providers, file, point.source.clone())?;
    }
    let sha256 = ledger::sha256_hex(source.as_bytes());
    Ok(Some(SweepPlan {
        id: format!("{}-{}", scenario.name, sha256.get(..12).unwrap_or(&sha256)),
        name: scenario.name,
        parameters: sweep.parameters,
        points,
        sha256,
    }))
}

/// What became of one point.
#[derive(Debug)]
pub enum PointRun {
    /// An earlier run of the sweep has its results: it was not run again.
    Done {
        /// That run's id.
        run: String,
        /// How it ended.
        status: LedgerStatus,
    },
    /// It ran now.
    Ran(Box<RunOutcome>),
    /// It was not run: the sweep was interrupted before it.
    NotRun,
}

/// One point in the sweep's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    /// Its number, from 1.
    pub number: usize,
    /// Its values.
    pub params: IndexMap<String, Value>,
    /// The run that has its results (or the last that tried), if any.
    pub run: Option<String>,
    /// How that run ended.
    pub status: Option<LedgerStatus>,
    /// That run's experiment, relative to the results root.
    pub experiment: Option<String>,
}

/// `sweeps/<id>/sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// [`SWEEP_VERSION`].
    pub v: u32,
    /// The sweep's id.
    pub id: String,
    /// The experiment's name.
    pub name: String,
    /// The sweeping scenario file, absolute.
    pub scenario: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The swept keys and their values.
    pub parameters: Vec<SweepParameter>,
    /// Every point.
    pub points: Vec<PointRecord>,
    /// When the record was last written.
    pub updated: jiff::Timestamp,
}

/// What [`sweep`] did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The sweep's directory (`sweeps/<id>` under the results root).
    pub dir: PathBuf,
    /// Its record, as last written.
    pub record: SweepRecord,
    /// Each point, with what became of it.
    pub points: Vec<(SweepPoint, PointRun)>,
    /// The points side by side: what `side_by_side` said, or why it failed (none when a point
    /// lacks results).
    pub side_by_side: Option<Result<String, String>>,
}

impl SweepOutcome {
    /// Whether every point has results.
    pub fn complete(&self) -> bool {
        self.record
            .points
            .iter()
            .all(|p| p.status.is_some_and(LedgerStatus::has_results))
    }
}

/// What a sweep asks for.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The scenario file.
    pub file: PathBuf,
    /// The results root.
    pub results: PathBuf,
    /// Measure the WAN of each point after shaping it.
    pub validate: bool,
    /// The `enos` program the hosts run the load generator and the agents with.
    pub program: PathBuf,
}

/// The points of a sweep, each with its values and its experiment's directory, for
/// `side_by_side`.
pub type SweepPoints = [(IndexMap<String, Value>, PathBuf)];

/// Runs the points of `plan` not done yet, in order; `analyze` analyses each point's
/// experiment, `side_by_side` writes the points' statistics side by side into the sweep's
/// directory, `on_point` hears of each point as it is settled. `stop` turning true (SIGINT)
/// interrupts the point running and leaves the next ones.
#[allow(clippy::too_many_arguments)]
pub async fn sweep(
    providers: &Providers,
    request: &SweepRequest,
    plan: &SweepPlan,
    reporter: &dyn Reporter,
    stop: tokio::sync::watch::Receiver<bool>,
    analyze: &dyn Fn(&Path) -> Result<String, String>,
    side_by_side: &dyn Fn(&SweepPoints, &Path) -> Result<String, String>,
    on_point: &dyn Fn(&SweepPoint, &PointRun),
) -> Result<SweepOutcome, Error> {
    let root = &request.results;
    let dir = root.join(layout::SWEEPS_DIR).join(&plan.id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    let file = std::path::absolute(&request.file).unwrap_or_else(|_| request.file.clone());
    let mut record = SweepRecord {
        v: SWEEP_VERSION,
        id: plan.id.clone(),
        name: plan.name.clone(),
        scenario: file.display().to_string(),
        sha256: plan.sha256.clone(),
        parameters: plan.parameters.clone(),
        points: plan
            .points
            .iter()
            .map(|p| PointRecord {
                number: p.number,
                params: p.params.clone(),
                run: None,
                status: None,
                experiment: None,
            })
            .collect(),
        updated: jiff::Timestamp::now(),
    };
    let (entries, _) = ledger::list(root)?;
    let mut points = Vec::new();
    for (index, point) in plan.points.iter().enumerate() {
        let mut point_record = record.points.get(index).cloned().ok_or_else(|| {
            Error::new(format!(
                "sweep {}: point {} has no record",
                plan.id, point.number
            ))
        })?;
        let done = entries.iter().rev().find(|e| {
            e.sweep
                .as_ref()
                .is_some_and(|s| s.id == plan.id && s.point == point.number)
                && e.shown_status().has_results()
        });
        let outcome = if let Some(entry) = done {
            point_record.run = Some(entry.id.clone());
            point_record.status = Some(entry.status);
            point_record.experiment = entry.experiment.clone();
            PointRun::Done {
                run: entry.id.clone(),
                status: entry.status,
            }
        } else if *stop.borrow() {
            PointRun::NotRun
        } else {
            let run_request = RunRequest {
                deploy: DeployRequest {
                    file: request.file.clone(),
                    results: root.clone(),
                    validate: request.validate,
                    source: Some(point.source.clone()),
                },
                program: request.program.clone(),
                keep: false,
                params: point.params.clone(),
                sweep: Some(SweepRef {
                    id: plan.id.clone(),
                    point: point.number,
                    points: plan.points.len(),
                }),
                rerun_of: None,
            };
            let mut rx = stop.clone();
            let stopped = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let outcome =
                crate::run::run(providers, &run_request, reporter, stopped, analyze).await;
            if let Some(entry) = &outcome.ledger {
                point_record.run = Some(entry.id.clone());
                point_record.status = Some(entry.status);
                point_record.experiment = entry.experiment.clone();
            }
            PointRun::Ran(Box::new(outcome))
        };
        on_point(point, &outcome);
        points.push((point.clone(), outcome));
        if let Some(slot) = record.points.get_mut(index) {
            *slot = point_record;
        }
        record.updated = jiff::Timestamp::now();
        crate::records::write_json(&dir.join(layout::SWEEP_RECORD), &record)?;
    }
    let mut outcome = SweepOutcome {
        dir,
        record,
        points,
        side_by_side: None,
    };
    if outcome.complete() {
        let inputs: Vec<(IndexMap<String, Value>, PathBuf)> = outcome
            .record
            .points
            .iter()
            .filter_map(|p| Some((p.params.clone(), root.join(p.experiment.as_ref()?))))
            .collect();
        outcome.side_by_side = Some(side_by_side(&inputs, &outcome.dir));
    }
    Ok(outcome)
}
