//! The terminal side of progress reporting: indicatif bars, hidden when stderr is not a terminal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use enos_experiment::{Reporter, TaskId};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A [`Reporter`] that draws one progress bar per task on stderr.
pub struct TerminalReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<u64, ProgressBar>>,
    next: AtomicU64,
    quiet: bool,
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
            next: AtomicU64::new(1),
            quiet,
        }
    }

    fn bar(&self, task: TaskId) -> Option<ProgressBar> {
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&task.0)
            .cloned()
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
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, bar);
        TaskId(id)
    }

    fn advance(&self, task: TaskId, _item: &str, _ok: bool) {
        if let Some(bar) = self.bar(task) {
            bar.inc(1);
        }
    }

    fn finish(&self, task: TaskId) {
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
            eprintln!("{text}");
        } else {
            let _ = self.multi.println(text);
        }
    }
}
