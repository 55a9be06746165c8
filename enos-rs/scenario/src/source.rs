//! Where things are in a scenario file: a map from key paths (`sites.paris.roles.server`,
//! `network.constraints[0].delay`) to lines and columns, built from the YAML parser's events.

use serde_saphyr::granit_parser::{Event, Parser};

/// A position in the source: line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

/// One key or value of the document.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    key: Option<Position>,
    value: Option<Position>,
}

/// The shape of the document as the parser saw it.
#[derive(Debug, Default)]
pub struct SourceMap {
    entries: Vec<Entry>,
    /// How many YAML documents the file holds, with where the second one starts.
    pub documents: usize,
    /// Where the second document starts, if there is one.
    pub second_document: Option<Position>,
    /// What the (first) document's root is: `mapping`, `sequence`, `scalar`, or empty.
    pub root_kind: Option<&'static str>,
    /// Where the root starts.
    pub root: Option<Position>,
}

enum Frame {
    Mapping { path: String, key: Option<String> },
    Sequence { path: String, index: usize },
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl SourceMap {
    /// Builds the map of `source`; a syntax error simply ends the walk (serde reports it).
    pub fn build(source: &str) -> SourceMap {
        let mut map = SourceMap::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(source);
        let mut events = 0usize;
        while let Some(Ok((event, span))) = parser.next_event() {
            events += 1;
            if events > 200_000 {
                break;
            }
            let at = Position {
                line: span.start.line(),
                column: span.start.col() + 1,
            };
            match event {
                Event::DocumentStart(..) => {
                    map.documents += 1;
                    if map.documents == 2 {
                        map.second_document = Some(at);
                    }
                }
                Event::Scalar(text, ..) => {
                    if map.documents == 1 && stack.is_empty() && map.root_kind.is_none() {
                        map.root_kind = Some(if text.is_empty() { "empty" } else { "scalar" });
                        map.root = Some(at);
                    }
                    map.value(&mut stack, at, Some(text.as_ref()));
                }
                Event::Alias(_) => {
                    map.value(&mut stack, at, None);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let mapping = matches!(event, Event::MappingStart(..));
                    if map.documents == 1 && stack.is_empty() && map.root_kind.is_none() {
                        map.root_kind = Some(if mapping { "mapping" } else { "sequence" });
                        map.root = Some(at);
                    }
                    let path = map.value(&mut stack, at, None);
                    stack.push(if mapping {
                        Frame::Mapping { path, key: None }
                    } else {
                        Frame::Sequence { path, index: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        map
    }

    /// Records a node at `at`: a key if the enclosing mapping expects one, else a value. Returns
    /// the node's path.
    fn value(&mut self, stack: &mut [Frame], at: Position, scalar: Option<&str>) -> String {
        if self.documents > 1 {
            return String::new();
        }
        match stack.last_mut() {
            None => String::new(),
            Some(Frame::Sequence { path, index }) => {
                let here = format!("{path}[{index}]");
                *index += 1;
                self.entries.push(Entry {
                    path: here.clone(),
                    key: None,
                    value: Some(at),
                });
                here
            }
            Some(Frame::Mapping { path, key }) => match key.take() {
                None => {
                    let name = scalar.unwrap_or("?").to_owned();
                    let here = join(path, &name);
                    self.entries.push(Entry {
                        path: here,
                        key: Some(at),
                        value: None,
                    });
                    *key = Some(name);
                    String::new()
                }
                Some(name) => {
                    let here = join(path, &name);
                    if let Some(entry) = self.entries.iter_mut().rev().find(|e| e.path == here) {
                        entry.value = Some(at);
                    }
                    here
                }
            },
        }
    }

    /// Where the value at `path` starts (or its key, when it has no value).
    pub fn value_at(&self, path: &str) -> Option<Position> {
        self.entries
            .iter()
            .find(|e| e.path == path)
            .and_then(|e| e.value.or(e.key))
    }

    /// Where the key at `path` starts.
    pub fn key_at(&self, path: &str) -> Option<Position> {
        self.entries
            .iter()
            .find(|e| e.path == path)
            .and_then(|e| e.key.or(e.value))
    }

    /// The path of the innermost node at or before `at`: the key or value starting exactly there,
    /// or the last one that starts before it.
    pub fn path_at(&self, at: Position) -> String {
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

/// One problem in a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// The key path, e.g. `sites.paris.roles.server` (empty for the whole document).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    snippet: String,
}

impl Diagnostic {
    /// A diagnostic at `at` in `source`.
    pub fn new(
        file: &str,
        source: &str,
        at: Position,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        let line_text = source.lines().nth(at.line.saturating_sub(1)).unwrap_or("");
        let width = at.line.to_string().len();
        let caret = " ".repeat(at.column.saturating_sub(1).min(line_text.chars().count()));
        let snippet = format!(
            "{pad} |\n{line} | {line_text}\n{pad} | {caret}^",
            pad = " ".repeat(width),
            line = at.line,
        );
        Self {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            path: path.to_owned(),
            message: message.into(),
            snippet,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error: {}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}\n{}", self.message, self.snippet)
    }
}
