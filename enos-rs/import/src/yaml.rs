//! A reservation file read into a tree of located YAML nodes.
//!
//! EnOS reads reservations with PyYAML and types values as its code needs them, so the tree
//! keeps scalars as text (with whether they were written plain) and the conversion types each
//! one where it is used, with its position for messages. Aliases are expanded (EnOS's static
//! reservations share hosts through anchors), merge keys (`<<`) are applied, and what a
//! reservation never needs is refused: several documents, duplicate keys, complex keys, deep
//! nesting and alias bombs.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

use crate::report::Pos;

/// The deepest nesting read; a reservation needs five levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most nodes a reservation may hold once aliases are expanded.
pub(crate) const MAX_NODES: u64 = 100_000;

/// A YAML node and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub at: Pos,
    pub value: Value,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// An empty value, `~` or `null` written plain.
    Null,
    /// Any other scalar, as text; `plain` when written without quotes (so `yes` or `12` may be
    /// read as a boolean or a number).
    Scalar { text: String, plain: bool },
    /// A mapping, its keys in file order.
    Map(Vec<Entry>),
    /// A list.
    Seq(Vec<Node>),
}

/// One key of a mapping.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_at: Pos,
    pub node: Node,
}

impl Node {
    /// What the node is, for messages: `'two'`, `12`, `a list`, `a mapping`, `nothing`.
    pub(crate) fn describe(&self) -> String {
        match &self.value {
            Value::Null => "nothing".to_owned(),
            Value::Scalar { text, plain: true } if is_number(text) => text.clone(),
            Value::Scalar { text, .. } => quote(text),
            Value::Map(_) => "a mapping".to_owned(),
            Value::Seq(_) => "a list".to_owned(),
        }
    }

    /// The scalar's text, if the node is a scalar.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The entries, if the node is a mapping.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The node as a boolean, as PyYAML (YAML 1.1) reads plain scalars: `true`, `yes`, `on`
    /// and their capitalised forms, and the opposites.
    pub(crate) fn boolean(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y"
                | "Y" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
                | "N" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The node as a whole number written plain (`3`, `+3`), if it is one.
    pub(crate) fn whole_number(&self) -> Option<u64> {
        match &self.value {
            Value::Scalar { text, plain: true } => {
                let digits = text.strip_prefix('+').unwrap_or(text).replace('_', "");
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    digits.parse().ok()
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// Whether `text` reads as a decimal number: an optional sign, digits, an optional fraction.
fn is_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    !(whole.is_empty() && fraction.is_empty())
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit())
}

/// `text` in quotes for a message, cut after 40 characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("'{}…'", text.chars().take(40).collect::<String>())
    } else {
        format!("'{text}'")
    }
}

/// Why a file could not be read as a tree: where, the key path of the innermost collection,
/// and what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub at: Pos,
    pub path: String,
    pub message: String,
}

/// A collection being read.
struct Frame {
    at: Pos,
    path: String,
    anchor: usize,
    nodes_at_start: u64,
    kind: FrameKind,
}

enum FrameKind {
    Map {
        entries: Vec<Entry>,
        /// Entries brought in by merge keys: they yield to the mapping's own keys.
        merged: Vec<Entry>,
        key: Option<(String, Pos)>,
    },
    Seq {
        items: Vec<Node>,
    },
}

impl Frame {
    /// The path of the next node in this collection (its key when one is pending).
    fn child_path(&self) -> String {
        match &self.kind {
            FrameKind::Map {
                key: Some((k, _)), ..
            } => join(&self.path, k),
            FrameKind::Map { .. } => self.path.clone(),
            FrameKind::Seq { items } => format!("{}[{}]", self.path, items.len()),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn pos(marker: &granit_parser::Marker) -> Pos {
    Pos {
        line: marker.line().max(1),
        column: marker.col() + 1,
    }
}

/// Reads `source` as one YAML document. `Ok(None)` when it holds no document at all (empty, or
/// only comments).
pub(crate) fn parse(source: &str) -> Result<Option<Node>, Problem> {
    let options = granit_parser::options! {
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH + 1,
    };
    let mut parser = Parser::new_from_str_with_options(source, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, u64)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut nodes = 0u64;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(e) => {
                let at = pos(e.marker());
                let path = here(&stack);
                return Err(syntax_problem(source, at, path, &e.info()));
            }
        };
        let at = pos(&span.start);
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Problem {
                        at,
                        path: String::new(),
                        message: "a reservation file holds one YAML document, but another one \
                                  starts here"
                            .to_owned(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                let tagged_str = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let plain = style == ScalarStyle::Plain && !tagged_str;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                let node = Node { at, value };
                if anchor != 0 {
                    anchors.insert(anchor, (node.clone(), 1));
                }
                attach(&mut stack, &mut root, node)?;
            }
            Event::Alias(anchor) => {
                let Some((node, size)) = anchors.get(&anchor) else {
                    return Err(Problem {
                        at,
                        path: here(&stack),
                        message: "this alias refers to no anchor defined before it".to_owned(),
                    });
                };
                nodes += size;
                if nodes > MAX_NODES {
                    return Err(too_big(at, here(&stack)));
                }
                // Shown where it is used; what is inside stays where it is written.
                let mut node = node.clone();
                node.at = at;
                attach(&mut stack, &mut root, node)?;
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                nodes += 1;
                let path = here(&stack);
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(at, path));
                }
                let kind = if matches!(event, Event::MappingStart(..)) {
                    FrameKind::Map {
                        entries: Vec::new(),
                        merged: Vec::new(),
                        key: None,
                    }
                } else {
                    FrameKind::Seq { items: Vec::new() }
                };
                stack.push(Frame {
                    at,
                    path,
                    anchor,
                    nodes_at_start: nodes,
                    kind,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = stack.pop() else {
                    continue;
                };
                let value = match frame.kind {
                    FrameKind::Map {
                        mut entries,
                        merged,
                        ..
                    } => {
                        for entry in merged {
                            if !entries.iter().any(|e| e.key == entry.key) {
                                entries.push(entry);
                            }
                        }
                        Value::Map(entries)
                    }
                    FrameKind::Seq { items } => Value::Seq(items),
                };
                let node = Node {
                    at: frame.at,
                    value,
                };
                if frame.anchor != 0 {
                    let size = nodes - frame.nodes_at_start + 1;
                    anchors.insert(frame.anchor, (node.clone(), size));
                }
                attach(&mut stack, &mut root, node)?;
            }
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(too_big(at, here(&stack)));
        }
    }
    Ok(root)
}

/// The path of the next node: where a problem is.
fn here(stack: &[Frame]) -> String {
    stack.last().map(Frame::child_path).unwrap_or_default()
}

/// Puts a finished node where it belongs: the root, a list item, a key or a key's value.
fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Result<(), Problem> {
    let Some(frame) = stack.last_mut() else {
        *root = Some(node);
        return Ok(());
    };
    let path = frame.child_path();
    match &mut frame.kind {
        FrameKind::Seq { items } => items.push(node),
        FrameKind::Map {
            entries,
            merged,
            key,
        } => match key.take() {
            None => {
                let name = match node.value {
                    Value::Scalar { text, .. } => text,
                    Value::Null => String::new(),
                    Value::Map(_) | Value::Seq(_) => {
                        return Err(Problem {
                            at: node.at,
                            path,
                            message: "a key must be a name, not a list or a mapping".to_owned(),
                        });
                    }
                };
                if name != "<<" && entries.iter().any(|e| e.key == name) {
                    return Err(Problem {
                        at: node.at,
                        path: join(&frame.path, &name),
                        message: format!("the key {} is given twice in this mapping", quote(&name)),
                    });
                }
                *key = Some((name, node.at));
            }
            Some((name, _)) if name == "<<" => merge(merged, node, path)?,
            Some((name, key_at)) => entries.push(Entry {
                key: name,
                key_at,
                node,
            }),
        },
    }
    Ok(())
}

/// A merge key's value: a mapping, or a list of mappings (the first ones win).
fn merge(merged: &mut Vec<Entry>, node: Node, path: String) -> Result<(), Problem> {
    let maps = match node.value {
        Value::Map(entries) => vec![entries],
        Value::Seq(items) => {
            let mut maps = Vec::new();
            for item in items {
                match item.value {
                    Value::Map(entries) => maps.push(entries),
                    _ => return Err(merge_problem(item.at, path)),
                }
            }
            maps
        }
        _ => return Err(merge_problem(node.at, path)),
    };
    for entry in maps.into_iter().flatten() {
        if !merged.iter().any(|e| e.key == entry.key) {
            merged.push(entry);
        }
    }
    Ok(())
}

fn merge_problem(at: Pos, path: String) -> Problem {
    Problem {
        at,
        path,
        message: "a merge key `<<` takes a mapping (`<<: *defaults`) or a list of them".to_owned(),
    }
}

fn too_deep(at: Pos, path: String) -> Problem {
    Problem {
        at,
        path,
        message: format!("nested more than {MAX_DEPTH} levels deep; a reservation needs a handful"),
    }
}

fn too_big(at: Pos, path: String) -> Problem {
    Problem {
        at,
        path,
        message: format!(
            "the file holds more than {MAX_NODES} values once its aliases are expanded; a \
             reservation needs far fewer"
        ),
    }
}

/// A syntax error of the YAML parser, with hints where its message is obscure.
fn syntax_problem(source: &str, at: Pos, path: String, info: &str) -> Problem {
    if info.contains("recursion limit") || info.contains("nesting limit") {
        return too_deep(at, path);
    }
    let line = source.lines().nth(at.line.saturating_sub(1)).unwrap_or("");
    let tab = line
        .chars()
        .take_while(|c| c.is_whitespace())
        .position(|c| c == '\t');
    if let Some(tab) = tab {
        return Problem {
            at: Pos {
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
    } else if info.is_empty() {
        "this is not valid YAML".to_owned()
    } else {
        format!("invalid YAML: {info}")
    };
    Problem { at, path, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(source: &str) -> Node {
        parse(source).unwrap().unwrap()
    }

    #[test]
    fn keys_keep_their_order_and_positions() {
        let node = root("b: 1\na:\n  c: [x, 'y']\n");
        let entries = node.entries().unwrap();
        assert_eq!(entries[0].key, "b");
        assert_eq!(entries[1].key, "a");
        assert_eq!(entries[1].key_at, Pos { line: 2, column: 1 });
        let c = &entries[1].node.entries().unwrap()[0];
        assert_eq!(c.node.at, Pos { line: 3, column: 6 });
        let Value::Seq(items) = &c.node.value else {
            panic!("a list")
        };
        assert!(matches!(
            &items[1].value,
            Value::Scalar { plain: false, .. }
        ));
    }

    #[test]
    fn aliases_are_expanded_and_merge_keys_yield_to_own_keys() {
        let node = root("d: &d {x: 1, y: 2}\ne: {<<: *d, y: 3}\nf: *d\n");
        let entries = node.entries().unwrap();
        let e = entries[1].node.entries().unwrap();
        let keys: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.key.as_str(), e.node.text().unwrap()))
            .collect();
        assert_eq!(keys, [("y", "3"), ("x", "1")]);
        assert_eq!(entries[2].node.entries().unwrap().len(), 2);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let problem = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(problem.at, Pos { line: 3, column: 1 });
        assert_eq!(problem.path, "a");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut source = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            source.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, \
                 *a{p}]\n"
            ));
        }
        let problem = parse(&source).unwrap_err();
        assert!(problem.message.contains("more than"), "{}", problem.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let source = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let problem = parse(&source).unwrap_err();
        assert!(
            problem.message.contains("levels deep"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn booleans_and_numbers_are_read_as_pyyaml_does() {
        let node = root("a: yes\nb: 'yes'\nc: 12\nd: '12'\ne: 0.5\n");
        let e = node.entries().unwrap();
        assert_eq!(e[0].node.boolean(), Some(true));
        assert_eq!(e[1].node.boolean(), None);
        assert_eq!(e[2].node.whole_number(), Some(12));
        assert_eq!(e[3].node.whole_number(), None);
        assert_eq!(e[4].node.describe(), "0.5");
        assert_eq!(e[1].node.describe(), "'yes'");
    }
}
