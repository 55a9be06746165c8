//! Records streamed while something runs (a bench, a collector): JSON Lines appended to a file,
//! flushed at least every second, so that a crash loses at most the last second and nothing is
//! kept whole in memory.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::Error;

/// How often buffered records reach the file, at the longest.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// An append-only stream of JSON Lines records. Cloning gives another handle on the same file.
#[derive(Clone)]
pub struct RecordStream {
    inner: Arc<Mutex<BufWriter<File>>>,
    path: PathBuf,
    ticker: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RecordStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("path", &self.path)
            .finish()
    }
}

impl RecordStream {
    /// Opens `path` for appending (creating it and its directory), and starts flushing it every
    /// [`FLUSH_EVERY`] on the current tokio runtime.
    pub fn open(path: &Path) -> Result<RecordStream, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::new(format!("cannot open {}: {e}", path.display())))?;
        let inner = Arc::new(Mutex::new(BufWriter::with_capacity(64 * 1024, file)));
        let weak = Arc::downgrade(&inner);
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let mut writer = inner.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = writer.flush() {
                    tracing::warn!("cannot flush records: {e}");
                }
            }
        });
        Ok(RecordStream {
            inner,
            path: path.to_owned(),
            ticker: Arc::new(ticker),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line.
    pub fn push(&self, record: &impl Serialize) -> Result<(), Error> {
        let mut line = serde_json::to_vec(record).map_err(|e| Error::new(e.to_string()))?;
        line.push(b'\n');
        let mut writer = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        writer
            .write_all(&line)
            .map_err(|e| Error::new(format!("cannot write {}: {e}", self.path.display())))
    }

    /// Writes what is buffered and syncs the file: the records so far are on disk.
    pub fn close(&self) -> Result<(), Error> {
        let mut writer = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        writer
            .flush()
            .and_then(|()| writer.get_ref().sync_data())
            .map_err(|e| Error::new(format!("cannot write {}: {e}", self.path.display())))
    }
}

impl Drop for RecordStream {
    fn drop(&mut self) {
        // The last handle stops the ticker and flushes.
        if Arc::strong_count(&self.ticker) == 1 {
            self.ticker.abort();
            let _ = self.close();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn records_reach_the_file_within_a_second_without_being_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench/run/records.jsonl");
        let stream = RecordStream::open(&path).unwrap();
        for i in 0..3 {
            stream.push(&serde_json::json!({"i": i})).unwrap();
        }
        // Not flushed yet: a small buffer waits for the ticker.
        tokio::time::sleep(FLUSH_EVERY + Duration::from_millis(300)).await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
        // A second handle appends to the same file; dropping the last one flushes.
        let other = stream.clone();
        drop(stream);
        other.push(&serde_json::json!({"i": 3})).unwrap();
        drop(other);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4);
    }
}
