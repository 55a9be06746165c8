//! Where things are in a scenario file: a map from key paths (`sites.paris.roles.server`,
//! `network.constraints[0].delay`) to lines and columns, built from the YAML parser's events.
//!
//! The walk also catches what must be refused before deserializing: syntax errors (with the
//! path of the mapping or list they occur in), several documents, nesting deeper than any
//! scenario needs, and aliases that expand into huge documents.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

/// The deepest nesting a scenario file may use; the format itself needs five levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most nodes a scenario may hold once aliases are expanded.
pub(crate) const MAX_NODES: u64 = 100_000;
/// The longest snippet line shown; longer lines are cut around the caret.
const SNIPPET_WIDTH: usize = 100;

/// A position in the source: line and column, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The start of the file.
    pub(crate) const START: Position = Position { line: 1, column: 1 };

    /// The position of the character at byte `offset` of `source`.
    pub(crate) fn of_offset(source: &str, offset: usize) -> Position {
        let before = source.get(..offset).unwrap_or(source);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
        }
    }
}

/// One key (or list item) of the document and where its key and value start.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    key: Option<Position>,
    value: Option<Position>,
    /// What the value is, as told in messages: `'two'`, `a list`, `a mapping`.
    found: Option<String>,
}

/// What a node is, as far as the walk cares.
#[derive(Clone, Copy)]
enum Shape<'a> {
    Scalar(&'a str),
    Mapping,
    Sequence,
    Alias,
}

impl Shape<'_> {
    fn describe(self) -> String {
        match self {
            Shape::Scalar("") => "nothing".to_owned(),
            Shape::Scalar(text) if text.chars().count() > 40 => {
                format!("'{}…'", text.chars().take(40).collect::<String>())
            }
            Shape::Scalar(text) => format!("'{text}'"),
            Shape::Mapping => "a mapping".to_owned(),
            Shape::Sequence => "a list".to_owned(),
            Shape::Alias => "an alias".to_owned(),
        }
    }
}

/// What the document's root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// No document at all: an empty file, or only comments.
    Nothing,
    /// An empty document (`---` alone, `~`, `null`).
    Null(Position),
    /// A mapping, as a scenario must be.
    Mapping(Position),
    /// Something else: a list or a scalar.
    Other(&'static str, Position),
}

/// Something the walk refuses: a syntax error, a second document, too deep, too big.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub at: Position,
    pub path: String,
    pub message: String,
}

/// The shape of the document as the parser saw it.
#[derive(Debug)]
pub(crate) struct SourceMap {
    entries: Vec<Entry>,
    by_path: HashMap<String, usize>,
    /// What the document's root is.
    pub root: Root,
    /// The first problem met, which ends the walk.
    pub problem: Option<Problem>,
}

enum Kind {
    Mapping { key: Option<(String, usize)> },
    Sequence { index: usize },
}

struct Frame {
    path: String,
    kind: Kind,
    /// The anchor defined on this collection (0 when none) and the node count at its start.
    anchor: usize,
    nodes_at_start: u64,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The first segment of a path (`provider` for `provider[0][0]…`), for problems deep inside.
fn top(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

fn is_null(text: &str, style: ScalarStyle) -> bool {
    style == ScalarStyle::Plain && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

impl SourceMap {
    /// Walks the events of `source`, stopping at the first problem.
    pub(crate) fn build(source: &str) -> SourceMap {
        let mut map = SourceMap {
            entries: Vec::new(),
            by_path: HashMap::new(),
            root: Root::Nothing,
            problem: None,
        };
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0usize;
        let mut nodes = 0u64;
        let mut anchor_sizes: HashMap<usize, u64> = HashMap::new();
        let options = granit_parser::options! {
            flow_nesting_limit: MAX_DEPTH,
            block_nesting_limit: MAX_DEPTH + 1,
        };
        let mut parser = Parser::new_from_str_with_options(source, options);
        while let Some(next) = parser.next_event() {
            let (event, span) = match next {
                Ok(pair) => pair,
                Err(e) => {
                    let mark = e.marker();
                    let at = Position {
                        line: mark.line().max(1),
                        column: mark.col() + 1,
                    };
                    let path = context(&stack);
                    map.problem = Some(syntax_problem(source, at, path, &e.info()));
                    break;
                }
            };
            let at = Position {
                line: span.start.line().max(1),
                column: span.start.col() + 1,
            };
            match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        map.problem = Some(Problem {
                            at,
                            path: String::new(),
                            message: "a scenario file holds one YAML document, but another one \
                                      starts here"
                                .to_owned(),
                        });
                        break;
                    }
                }
                Event::Scalar(text, style, anchor, _) => {
                    nodes += 1;
                    if anchor != 0 {
                        anchor_sizes.insert(anchor, 1);
                    }
                    if stack.is_empty() {
                        map.root = if is_null(&text, style) {
                            Root::Null(at)
                        } else {
                            Root::Other("scalar", at)
                        };
                    } else {
                        map.node(&mut stack, at, Shape::Scalar(&text));
                    }
                }
                Event::Alias(anchor) => {
                    nodes += anchor_sizes.get(&anchor).copied().unwrap_or(1);
                    let path = map.node(&mut stack, at, Shape::Alias);
                    if nodes > MAX_NODES {
                        map.problem = Some(Problem {
                            at,
                            path,
                            message: format!(
                                "aliases expand this file to more than {MAX_NODES} values; a \
                                 scenario needs far fewer"
                            ),
                        });
                        break;
                    }
                }
                Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                    nodes += 1;
                    let mapping = matches!(event, Event::MappingStart(..));
                    if stack.is_empty() {
                        map.root = if mapping {
                            Root::Mapping(at)
                        } else {
                            Root::Other("list", at)
                        };
                    }
                    let shape = if mapping {
                        Shape::Mapping
                    } else {
                        Shape::Sequence
                    };
                    let path = map.node(&mut stack, at, shape);
                    if stack.len() >= MAX_DEPTH {
                        map.problem = Some(too_deep(at, &path));
                        break;
                    }
                    stack.push(Frame {
                        path,
                        kind: if mapping {
                            Kind::Mapping { key: None }
                        } else {
                            Kind::Sequence { index: 0 }
                        },
                        anchor,
                        nodes_at_start: nodes,
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(frame) = stack.pop()
                        && frame.anchor != 0
                    {
                        anchor_sizes.insert(frame.anchor, nodes - frame.nodes_at_start + 1);
                    }
                }
                _ => {}
            }
            if nodes > MAX_NODES && map.problem.is_none() {
                map.problem = Some(Problem {
                    at,
                    path: top(&context(&stack)).to_owned(),
                    message: format!(
                        "the file holds more than {MAX_NODES} values; a scenario needs far fewer"
                    ),
                });
                break;
            }
        }
        map
    }

    /// Records a node at `at` (a key if the enclosing mapping expects one, else a value) and
    /// returns its path.
    fn node(&mut self, stack: &mut [Frame], at: Position, shape: Shape<'_>) -> String {
        let Some(frame) = stack.last_mut() else {
            return String::new();
        };
        match &mut frame.kind {
            Kind::Sequence { index } => {
                let here = format!("{}[{index}]", frame.path);
                *index += 1;
                let entry = self.record(&here, None, Some(at));
                if let Some(e) = self.entries.get_mut(entry) {
                    e.found = Some(shape.describe());
                }
                here
            }
            Kind::Mapping { key } => match key.take() {
                None => {
                    // A key; complex keys (lists, mappings) are shown as `?`.
                    let name = match shape {
                        Shape::Scalar(text) => text,
                        _ => "?",
                    };
                    let here = join(&frame.path, name);
                    let entry = self.record(&here, Some(at), None);
                    *key = Some((name.to_owned(), entry));
                    here
                }
                Some((name, entry)) => {
                    if let Some(e) = self.entries.get_mut(entry) {
                        e.value = Some(at);
                        e.found = Some(shape.describe());
                    }
                    join(&frame.path, &name)
                }
            },
        }
    }

    fn record(&mut self, path: &str, key: Option<Position>, value: Option<Position>) -> usize {
        let index = self.entries.len();
        self.entries.push(Entry {
            path: path.to_owned(),
            key,
            value,
            found: None,
        });
        // The first occurrence wins: a duplicate key is reported by the deserializer.
        self.by_path.entry(path.to_owned()).or_insert(index);
        index
    }

    fn entry(&self, path: &str) -> Option<&Entry> {
        self.by_path.get(path).and_then(|&i| self.entries.get(i))
    }

    /// Whether the key at `path` is written in the file.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.entry(path).is_some()
    }

    /// Where the value at `path` starts (or its key, when it has no value).
    pub(crate) fn value_at(&self, path: &str) -> Option<Position> {
        self.entry(path).and_then(|e| e.value.or(e.key))
    }

    /// Where the key at `path` starts (or its value, for list items).
    pub(crate) fn key_at(&self, path: &str) -> Option<Position> {
        self.entry(path).and_then(|e| e.key.or(e.value))
    }

    /// What the value starting at `at` is (`'two'`, `a list`), if a value starts there.
    pub(crate) fn found_at(&self, at: Position) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.value == Some(at))
            .and_then(|e| e.found.as_deref())
    }

    /// The path of the node starting at `at`, or else of the last one starting before it.
    pub(crate) fn path_at(&self, at: Position) -> String {
        let mut best: Option<(&Entry, Position)> = None;
        for entry in &self.entries {
            for p in [entry.key, entry.value].into_iter().flatten() {
                if p <= at && best.is_none_or(|(_, b)| p >= b) {
                    best = Some((entry, p));
                }
            }
        }
        best.map(|(e, _)| e.path.clone()).unwrap_or_default()
    }
}

fn too_deep(at: Position, path: &str) -> Problem {
    Problem {
        at,
        path: top(path).to_owned(),
        message: format!("nested more than {MAX_DEPTH} levels deep; a scenario needs a handful"),
    }
}

/// A syntax error of the YAML parser, with hints where its message is obscure.
fn syntax_problem(source: &str, at: Position, path: String, info: &str) -> Problem {
    if info.contains("recursion limit") || info.contains("nesting limit") {
        return too_deep(at, &path);
    }
    let line = source.lines().nth(at.line.saturating_sub(1)).unwrap_or("");
    let tab = line
        .chars()
        .take_while(|c| c.is_whitespace())
        .position(|c| c == '\t');
    if let Some(tab) = tab {
        return Problem {
            at: Position {
                line: at.line,
                column: tab + 1,
            },
            path,
            message: "this line is indented with a tab; YAML is indented with spaces".to_owned(),
        };
    }
    let message = if info.contains("unknown anchor") {
        "this alias refers to no anchor defined before it (`*name` needs an earlier `&name`)"
            .to_owned()
    } else if info.contains("did not find expected key") {
        format!("{info}; is this line indented like the keys beside it?")
    } else {
        info.to_owned()
    };
    Problem { at, path, message }
}

/// The path of the innermost open mapping or list (and of its pending key): where a syntax
/// error happened.
fn context(stack: &[Frame]) -> String {
    match stack.last() {
        None => String::new(),
        Some(frame) => match &frame.kind {
            Kind::Mapping {
                key: Some((name, _)),
            } => join(&frame.path, name),
            _ => frame.path.clone(),
        },
    }
}

/// One problem in a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
    /// The key path, e.g. `sites.paris.roles.server` (empty for the whole document).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    snippet: String,
}

impl Diagnostic {
    /// A diagnostic at `at` in `source`, with a snippet of that line and a caret.
    pub(crate) fn new(
        file: &str,
        source: &str,
        at: Position,
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

    /// A diagnostic at `line` and `column` (both from 1, the column in characters) of
    /// `source`, named `file`, about the key at `path`: for other files than scenarios that
    /// enos reads and reports on the same way (EnOS reservations).
    pub fn located(
        file: &str,
        source: &str,
        line: usize,
        column: usize,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(file, source, Position { line, column }, path, message)
    }

    /// A diagnostic about the file as a whole, with no snippet (e.g. it cannot be read).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: 1,
            column: 1,
            path: String::new(),
            message: message.into(),
            snippet: String::new(),
        }
    }

    /// The source line with a caret under the column, as shown after the message.
    pub fn snippet(&self) -> &str {
        &self.snippet
    }
}

/// The line `line` of `source` with a caret under `column` (both from 1, the column in
/// characters), as every located message of enos shows it: long lines are cut around the
/// caret, tabs are kept (so the caret lines up) and other control characters are shown as `�`.
pub fn source_snippet(source: &str, line: usize, column: usize) -> String {
    snippet(source, Position { line, column })
}

/// [`source_snippet`] at `at`.
fn snippet(source: &str, at: Position) -> String {
    let text = source.lines().nth(at.line.saturating_sub(1)).unwrap_or("");
    let chars: Vec<char> = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let caret = at.column.saturating_sub(1).min(chars.len());
    let (start, end) = if chars.len() <= SNIPPET_WIDTH {
        (0, chars.len())
    } else {
        let start = caret
            .saturating_sub(SNIPPET_WIDTH / 2)
            .min(chars.len() - SNIPPET_WIDTH);
        (start, start + SNIPPET_WIDTH)
    };
    let mut shown = String::new();
    let mut pad = String::new();
    if start > 0 {
        shown.push('…');
        pad.push(' ');
    }
    for (i, &c) in chars.iter().enumerate().take(end).skip(start) {
        shown.push(c);
        if i < caret {
            pad.push(if c == '\t' { '\t' } else { ' ' });
        }
    }
    if end < chars.len() {
        shown.push('…');
    }
    let number = at.line.to_string();
    let gutter = " ".repeat(number.len());
    let shown = shown.trim_end();
    format!("{gutter} |\n{number} | {shown}\n{gutter} | {pad}^")
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_positions() {
        let map = SourceMap::build("a:\n  b: [1, {c: 2}]\n");
        assert_eq!(map.root, Root::Mapping(Position::START));
        assert_eq!(map.key_at("a.b"), Some(Position { line: 2, column: 3 }));
        assert_eq!(map.value_at("a.b"), Some(Position { line: 2, column: 6 }));
        assert_eq!(
            map.value_at("a.b[1].c"),
            Some(Position {
                line: 2,
                column: 14
            })
        );
        assert_eq!(map.path_at(Position { line: 2, column: 8 }), "a.b[0]");
        assert!(map.problem.is_none());
    }

    #[test]
    fn syntax_errors_name_the_open_collection() {
        let map = SourceMap::build("a:\n  b:\n    c: 1\n   d: 2\n");
        let problem = map.problem.expect("a syntax error");
        // `d` is less indented than `c` but more than `b`: it can only belong to `a`.
        assert_eq!(problem.path, "a");
        assert_eq!(problem.at.line, 4);
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let s = snippet(
            &line,
            Position {
                line: 1,
                column: 301,
            },
        );
        let lines: Vec<&str> = s.lines().collect();
        let caret = lines[2].find('^').expect("a caret");
        assert_eq!(lines[1][..].chars().nth(caret), Some('X'));
        assert!(lines[1].chars().count() < 120);
    }

    #[test]
    fn tabs_keep_the_caret_aligned() {
        let s = snippet("\tx: 1", Position { line: 1, column: 2 });
        assert!(s.ends_with("  | \t^"), "{s:?}");
    }
}
