//! The terminal side of progress reporting: indicatif bars, hidden when stderr is not a terminal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use enos_core::{Reporter, TaskId};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A [`Reporter`] that draws one progress bar per task on stderr, and keeps how long each task
/// took (see [`TerminalReporter::phases`]).
pub struct TerminalReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<u64, ProgressBar>>,
    phases: Mutex<Vec<Phase>>,
    quiet: bool,
}

/// One task as it ran: what, how many items, and how long, in the order tasks started.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Phase {
    /// The task's title, e.g. `starting hosts`.
    pub title: String,
    /// Its number of items (hosts, keys, …).
    pub items: u64,
    /// The items done when it ended.
    pub done: u64,
    /// Seconds from its start to its end (to now, if it has not ended).
    pub seconds: f64,
    #[serde(skip)]
    started: Instant,
    #[serde(skip)]
    ended: bool,
}

impl TerminalReporter {
    /// A reporter; `quiet` hides bars and notes.
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            phases: Mutex::new(Vec::new()),
            quiet,
        }
    }
}

impl TerminalReporter {
    /// Every task started so far, with its duration: where the time of a command went.
    pub fn phases(&self) -> Vec<Phase> {
        let mut phases = self
            .phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for phase in phases.iter_mut().filter(|p| !p.ended) {
            phase.seconds = phase.started.elapsed().as_secs_f64();
        }
        phases
    }

    fn with_phase(&self, task: TaskId, f: impl FnOnce(&mut Phase)) {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(phase) = usize::try_from(task.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| phases.get_mut(i))
        {
            f(phase);
        }
    }
}

impl Reporter for TerminalReporter {
    fn start(&self, title: &str, total: u64) -> TaskId {
        let bar = self.multi.add(ProgressBar::new(total));
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg:24} [{bar:30}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(title.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        phases.push(Phase {
            title: title.to_owned(),
            items: total,
            done: 0,
            seconds: 0.0,
            started: Instant::now(),
            ended: false,
        });
        let id = phases.len() as u64;
        drop(phases);
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, bar);
        TaskId(id)
    }

    fn advance(&self, task: TaskId, _item: &str, _ok: bool) {
        self.with_phase(task, |phase| phase.done += 1);
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&task.0)
        {
            bar.inc(1);
        }
    }

    fn finish(&self, task: TaskId) {
        self.with_phase(task, |phase| {
            if !phase.ended {
                phase.ended = true;
                phase.seconds = phase.started.elapsed().as_secs_f64();
            }
        });
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&task.0)
        {
            bar.finish_and_clear();
        }
    }

    fn note(&self, text: &str) {
        if self.quiet {
            return;
        }
        if self.multi.is_hidden() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{text}");
            }
        } else {
            let _ = self.multi.println(text);
        }
    }
}
