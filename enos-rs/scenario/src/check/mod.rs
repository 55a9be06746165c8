//! The machinery every section's checks share: reading a file (size cap, UTF-8), the checks
//! before deserializing (YAML syntax and structure), serde's errors turned into located
//! diagnostics, and the [`Checker`] that collects every semantic error of a file with its line,
//! column and key path.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::deploy::Location;
use crate::source::{Diagnostic, Position, Root, SourceMap};
use crate::{MAX_FILE_BYTES, ScenarioError};

/// Reads the text of the file at `path`: at most [`MAX_FILE_BYTES`], UTF-8 (see
/// [`crate::read_file`]).
pub(crate) fn read_file(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(ScenarioError::one(Diagnostic::whole_file(
            &file,
            format!("cannot read the file: {e}"),
        )));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(&file));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let shown = String::from_utf8_lossy(bytes);
        let valid = String::from_utf8_lossy(bytes.get(..at).unwrap_or(&[]));
        ScenarioError::one(Diagnostic::new(
            &file,
            &shown,
            Position::of_offset(&valid, valid.len()),
            "",
            format!(
                "the file is not UTF-8 text: byte 0x{:02x} here is not valid UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            ),
        ))
    })
}

pub(crate) fn too_large(file: &str) -> ScenarioError {
    ScenarioError::one(Diagnostic::whole_file(
        file,
        format!(
            "the file is larger than {} KiB; a scenario is far smaller",
            MAX_FILE_BYTES / 1024
        ),
    ))
}

pub(crate) fn saphyr_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // `yes`, `on`, `no`, `off` are strings, as in YAML 1.2 and for JSON Schema tools.
        strict_booleans: true,
    }
}

/// The checks before deserializing: size, NUL bytes, YAML syntax and structure, a mapping at
/// the root (`expected` says which). Returns the source map and where the root mapping starts.
pub(crate) fn read_source(
    source: &str,
    file_name: &str,
    expected: &str,
) -> Result<(SourceMap, Position), ScenarioError> {
    read_document(source, file_name, expected, false)
}

/// [`read_source`], where the root may also be a list when `list_ok`.
pub(crate) fn read_document(
    source: &str,
    file_name: &str,
    expected: &str,
    list_ok: bool,
) -> Result<(SourceMap, Position), ScenarioError> {
    let whole = |at: Position, message: &str| {
        ScenarioError::one(Diagnostic::new(file_name, source, at, "", message))
    };
    if source.len() > MAX_FILE_BYTES {
        return Err(too_large(file_name));
    }
    if let Some(offset) = source.find('\0') {
        return Err(whole(
            Position::of_offset(source, offset),
            "the file contains a NUL byte; a scenario is text",
        ));
    }
    let map = SourceMap::build(source);
    if let Some(problem) = &map.problem {
        return Err(ScenarioError::one(Diagnostic::new(
            file_name,
            source,
            problem.at,
            &problem.path,
            &problem.message,
        )));
    }
    let root = match map.root {
        Root::Mapping(at) => at,
        Root::Other("list", at) if list_ok => at,
        Root::Nothing if source.trim().is_empty() => {
            return Err(whole(
                Position::START,
                &format!("the file is empty: expected {expected}"),
            ));
        }
        Root::Nothing => {
            return Err(whole(
                Position::START,
                &format!("the file holds only comments: expected {expected}"),
            ));
        }
        Root::Null(at) => {
            return Err(whole(
                at,
                &format!("the document is empty: expected {expected}"),
            ));
        }
        Root::Other(kind, at) => {
            return Err(whole(at, &format!("expected {expected}, found a {kind}")));
        }
    };
    Ok((map, root))
}

/// Turns serde-saphyr's error into a located diagnostic with a key path.
pub(crate) fn serde_error(
    error: &serde_saphyr::Error,
    map: &SourceMap,
    file: &str,
    source: &str,
) -> ScenarioError {
    let at = error
        .location()
        .filter(|l| l.line() > 0)
        .map_or(Position::START, |l| Position {
            line: usize::try_from(l.line()).unwrap_or(usize::MAX),
            column: usize::try_from(l.column()).unwrap_or(usize::MAX).max(1),
        });
    let raw = error.without_snippet().to_string();
    let mut message = raw.lines().next().unwrap_or("").trim().to_owned();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let message = reword(&message, map.found_at(at));
    ScenarioError::one(Diagnostic::new(file, source, at, &map.path_at(at), message))
}

/// Makes serde's messages speak of keys, values and lists rather than fields, structs and
/// sequences, and say what was found when serde does not.
fn reword(message: &str, found: Option<&str>) -> String {
    let message = message.trim_start_matches("error: ");
    let found = found.map(|f| format!(", found {f}")).unwrap_or_default();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected
            .trim()
            .trim_start_matches("one of ")
            .split(", ")
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>();
        return match expected.as_slice() {
            [] => format!("unknown key {key}"),
            [one] => format!("unknown key {key}, expected {one}"),
            many => format!("unknown key {key}, expected one of {}", many.join(", ")),
        };
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let rest = rest.trim_start_matches(':').trim();
        let key = rest
            .split([',', ' '])
            .next()
            .unwrap_or(rest)
            .trim_matches('`');
        return format!("duplicate key `{key}`: each key may appear once in a mapping");
    }
    if message.starts_with("invalid boolean") {
        return format!("expected true or false{found}");
    }
    match message {
        "expected mapping start" => {
            return format!("wrong type: expected a mapping (key: value pairs){found}");
        }
        "expected sequence start" => return format!("wrong type: expected a list{found}"),
        "expected string scalar" => return format!("wrong type: expected a string{found}"),
        _ => {}
    }
    if message.starts_with("budget breached") || message == "recursion limit exceeded" {
        return format!("the file is too large or too deeply nested for a scenario ({message})");
    }
    message
        .replace("invalid type: ", "wrong type: found ")
        .replace("struct RawSite", "a site (a mapping with `roles`)")
        .replace("struct RawNetwork", "the network section (a mapping)")
        .replace(
            "struct RawConstraint",
            "a constraint (a mapping with src, dst, …)",
        )
        .replace("struct RawScenario", "a scenario (a mapping)")
        .replace("a sequence", "a list")
        .replace("sequence", "list")
        .replace("field", "key")
}

/// `text` in quotes for a message, cut after 40 characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("'{}…'", text.chars().take(40).collect::<String>())
    } else {
        format!("'{text}'")
    }
}

/// Checks an experiment, site or role name; says what is wrong with it.
pub(crate) fn check_name(text: &str, max: usize) -> Result<(), String> {
    let shown = quote(text);
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "{shown} may only hold lowercase letters, digits and dashes"
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{shown} must start with a lowercase letter"));
    }
    if text.ends_with('-') {
        return Err(format!("{shown} must not end with a dash"));
    }
    if text.contains("--") {
        return Err(format!("{shown} must not hold two dashes in a row"));
    }
    if text.len() > max {
        return Err(format!(
            "{shown} is {} characters long, at most {max} are allowed",
            text.len()
        ));
    }
    Ok(())
}

/// What a loosely typed value is, for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) => quote(s),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

/// The semantic checks: they collect every error of the file.
pub(crate) struct Checker<'a> {
    pub(crate) file: &'a str,
    pub(crate) source: &'a str,
    pub(crate) map: &'a SourceMap,
    /// Where the root mapping starts: missing keys are reported there.
    pub(crate) root: Position,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// A checker of the file `file`, whose text is `source`, its map `map` and its root mapping
    /// at `root`.
    pub(crate) fn new(
        file: &'a str,
        source: &'a str,
        map: &'a SourceMap,
        root: Position,
    ) -> Checker<'a> {
        Checker {
            file,
            source,
            map,
            root,
            diagnostics: Vec::new(),
        }
    }

    /// An error at `at` (the root when `None`).
    pub(crate) fn error_at(
        &mut self,
        at: Option<Position>,
        path: &str,
        message: impl Into<String>,
    ) {
        let at = at.unwrap_or(self.root);
        self.diagnostics
            .push(Diagnostic::new(self.file, self.source, at, path, message));
    }

    /// An error about a key (shown at the key).
    pub(crate) fn key_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.key_at(path), path, message);
    }

    /// An error about a value (shown at the value).
    pub(crate) fn value_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.value_at(path), path, message);
    }

    /// A required key is absent (shown where its mapping starts) or present without a value.
    pub(crate) fn missing(&mut self, path: &str, parent: &str, what: &str, example: &str) {
        if self.map.has(path) {
            self.value_error(
                path,
                format!("expected {what} (e.g. `{example}`), found nothing"),
            );
        } else {
            let at = if parent.is_empty() {
                Some(self.root)
            } else {
                self.map.value_at(parent)
            };
            let key = path.rsplit('.').next().unwrap_or(path);
            self.error_at(
                at,
                path,
                format!("missing key `{key}`: {what} (e.g. `{example}`)"),
            );
        }
    }

    /// The directory of the file being checked, absolute: where the relative file names it
    /// holds resolve.
    pub(crate) fn dir(&self) -> PathBuf {
        let dir = Path::new(self.file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        std::path::absolute(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        })
        .unwrap_or(dir)
    }

    /// The location of the key at `path`, for the model.
    pub(crate) fn location(&self, path: &str) -> Location {
        let at = self.map.key_at(path).unwrap_or(self.root);
        Location {
            file: self.file.to_owned(),
            line: at.line,
            column: at.column,
            path: path.to_owned(),
        }
    }

    /// A delay, rate or loss: a string such as `25ms`, parsed by `T`'s `FromStr`.
    pub(crate) fn quantity<T: std::str::FromStr<Err = String>>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        what: &str,
        example: &str,
    ) -> Option<T> {
        let Some(value) = value else {
            if self.map.has(path) {
                self.value_error(
                    path,
                    format!("expected a {what} such as {example}, found nothing"),
                );
            }
            return None;
        };
        match value {
            Value::String(text) => match text.parse() {
                Ok(v) => Some(v),
                Err(why) => {
                    self.value_error(path, format!("bad {what} {}: {why}", quote(text)));
                    None
                }
            },
            Value::Number(n) => {
                // A bare number: the same message as for the string, i.e. the unit is missing.
                let why = n
                    .to_string()
                    .parse::<T>()
                    .err()
                    .unwrap_or_else(|| format!("a unit is required (e.g. {example})"));
                self.value_error(path, format!("bad {what} '{n}': {why}"));
                None
            }
            other => {
                self.value_error(
                    path,
                    format!(
                        "expected a {what} such as {example}, found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }
}
