//! What every part of the conversion shares: the file for messages, the warnings so far, and
//! typed reads of nodes that fail with located errors.

use crate::report::{ImportError, ImportWarning, Pos};
use crate::yaml::{Entry, Node, Value};

/// The conversion of one reservation: its file and source, for messages, and its warnings.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub source: &'a str,
    pub warnings: Vec<ImportWarning>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(file: &'a str, source: &'a str) -> Self {
        Self {
            file,
            source,
            warnings: Vec::new(),
        }
    }

    /// An error at `at`, about the key `path`.
    pub(crate) fn error(&self, at: Pos, path: &str, message: impl Into<String>) -> ImportError {
        crate::report::error_at(self.file, self.source, at, path, message)
    }

    /// A warning about the setting at `path`, which starts at `at`.
    pub(crate) fn warn(&mut self, at: Pos, path: &str, message: impl Into<String>) {
        self.warnings.push(ImportWarning {
            file: self.file.to_owned(),
            line: at.line,
            column: at.column,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// A warning about the key `entry` of the mapping at `parent`, shown at the key.
    pub(crate) fn warn_key(&mut self, parent: &str, entry: &Entry, message: impl Into<String>) {
        self.warn(entry.key_at, &join(parent, &entry.key), message);
    }

    /// The entries of `node`, a mapping; `expected` says what it should hold.
    pub(crate) fn map<'n>(
        &self,
        node: &'n Node,
        path: &str,
        expected: &str,
    ) -> Result<&'n [Entry], ImportError> {
        match &node.value {
            Value::Map(entries) => Ok(entries),
            _ => Err(self.error(
                node.at,
                path,
                format!("expected {expected}, found {}", node.describe()),
            )),
        }
    }

    /// The items of `node`, a list; `expected` says what it should hold.
    pub(crate) fn list<'n>(
        &self,
        node: &'n Node,
        path: &str,
        expected: &str,
    ) -> Result<&'n [Node], ImportError> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.error(
                node.at,
                path,
                format!("expected {expected}, found {}", node.describe()),
            )),
        }
    }

    /// The text of `node`, a scalar (numbers and booleans as written); `expected` says what it
    /// should be.
    pub(crate) fn text(
        &self,
        node: &Node,
        path: &str,
        expected: &str,
    ) -> Result<String, ImportError> {
        match &node.value {
            Value::Scalar { text, .. } if !text.trim().is_empty() => Ok(text.clone()),
            _ => Err(self.error(
                node.at,
                path,
                format!("expected {expected}, found {}", node.describe()),
            )),
        }
    }

    /// `node` as a whole number of hosts (0 allowed: the caller says what it makes of it).
    pub(crate) fn count(&self, node: &Node, path: &str) -> Result<u64, ImportError> {
        node.whole_number().ok_or_else(|| {
            self.error(
                node.at,
                path,
                format!(
                    "expected a number of hosts such as 1, found {}",
                    node.describe()
                ),
            )
        })
    }

    /// `node` as a boolean (`true`, `false`, and PyYAML's `yes`, `no`, `on`, `off`).
    pub(crate) fn boolean(&self, node: &Node, path: &str) -> Result<bool, ImportError> {
        node.boolean().ok_or_else(|| {
            self.error(
                node.at,
                path,
                format!("expected true or false, found {}", node.describe()),
            )
        })
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The entry `key` of `entries`, if written.
pub(crate) fn find<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}
