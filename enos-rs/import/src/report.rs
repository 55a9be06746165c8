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
/// expected — a located diagnostic as scenario errors are, and written as `enos validate`
/// writes them, with the line and a caret:
///
/// ```text
/// error: reservation.yaml:3:9: provider.type: unknown EnOS provider type 'g6k', expected one of …
///   |
/// 3 |   type: g6k
///   |         ^
/// ```
pub type ImportError = enos_scenario::Diagnostic;

/// An import error at `at` in `source`, with a snippet of that line.
pub(crate) fn error_at(
    file: &str,
    source: &str,
    at: Pos,
    path: &str,
    message: impl Into<String>,
) -> ImportError {
    ImportError::located(file, source, at.line, at.column, path, message)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caret_is_under_the_column() {
        let e = error_at(
            "r.yaml",
            "a: 1\nbb: [x, y]\n",
            Pos { line: 2, column: 6 },
            "bb",
            "no",
        );
        assert_eq!(e.snippet(), "  |\n2 | bb: [x, y]\n  |      ^");
    }
}
