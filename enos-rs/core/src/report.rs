//! Progress reporting: the seam between library code and whatever shows progress to a person.
//!
//! Libraries never write to the terminal. They call a [`Reporter`]; the `enos` binary implements it
//! with progress bars, tests implement it with a recorder or use [`NullReporter`].

/// Identifies one task started with [`Reporter::start`], so that its progress can be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(pub u64);

/// Receives progress from long-running library operations.
///
/// A task is a step with a known number of items (hosts, files, …). Implementations must be cheap
/// and must not block: they are called from async tasks.
pub trait Reporter: Send + Sync {
    /// A task titled `title` with `total` items starts.
    fn start(&self, title: &str, total: u64) -> TaskId;
    /// One item of `task` (named `item`, e.g. a host) is done, successfully or not.
    fn advance(&self, task: TaskId, item: &str, ok: bool);
    /// `task` has ended.
    fn finish(&self, task: TaskId);
    /// A one-line note for the person running the command (shown above progress bars).
    fn note(&self, text: &str);
}

/// A [`Reporter`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn start(&self, _title: &str, _total: u64) -> TaskId {
        TaskId(0)
    }
    fn advance(&self, _task: TaskId, _item: &str, _ok: bool) {}
    fn finish(&self, _task: TaskId) {}
    fn note(&self, _text: &str) {}
}
