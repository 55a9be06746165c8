//! What an import reports: the error that stops it and the warnings that do not, each located
//! in the reservation file.

use std::fmt;

/// A position in the reservation: line and column, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the file.
    pub(crate) const START: Pos = Pos { line: 1, column: 1 };
}

/// Why a reservation could not be imported: where (file, line, column, key path) and what was
/// expected.
///
/// `Display` writes it as `enos validate` writes scenario errors, with the line and a caret:
///
/// ```text
/// error: reservation.yaml:3:9: provider.type: unknown EnOS provider type 'g6k', expected one of …
///   |
/// 3 |   type: g6k
///   |         ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The reservation file, as given.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
    /// The key path in the reservation, e.g. `topology.grp1.paravance.control` (empty for the
    /// file as a whole).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    snippet: String,
}

impl ImportError {
    /// An error at `at` in `source`, with a snippet of that line.
    pub(crate) fn at(
        file: &str,
        source: &str,
        at: Pos,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            path: path.to_owned(),
            message: message.into(),
            snippet: snippet(source, at),
        }
    }

    /// An error about the file as a whole (too large, empty), shown at its start without a
    /// snippet.
    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: 1,
            column: 1,
            path: String::new(),
            message: message.into(),
            snippet: String::new(),
        }
    }

    /// The reservation's line with a caret under the column (empty for errors about the whole
    /// file).
    pub fn snippet(&self) -> &str {
        &self.snippet
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// A setting of the reservation that the scenario does not carry as it was, and why: it has no
/// enos-rs equivalent (it is left out), or it was approximated (the message says how).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    /// The reservation file, as given.
    pub file: String,
    /// Line of the setting, from 1.
    pub line: usize,
    /// Column of the setting (in characters), from 1.
    pub column: usize,
    /// The key path of the setting in the reservation, e.g. `registry`, `provider.gateway`,
    /// `network_constraints.except`.
    pub path: String,
    /// Why it has no equivalent, or what was made of it.
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning: {}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.path, self.message
        )
    }
}

/// The line `at.line` of `source` with a caret under `at.column`, as scenario errors show it.
fn snippet(source: &str, at: Pos) -> String {
    enos_scenario::source_snippet(source, at.line, at.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caret_is_under_the_column() {
        let s = snippet("a: 1\nbb: [x, y]\n", Pos { line: 2, column: 6 });
        assert_eq!(s, "  |\n2 | bb: [x, y]\n  |      ^");
    }
}
