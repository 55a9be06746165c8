//! The one error type of the lifecycle: a message for the person running enos and, when there
//! is something to do about it, a hint.

use enos_provider::ProviderError;

/// A failure of a lifecycle operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The message, already formatted (it may span several lines).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether `message` is already a complete diagnostic (scenario errors carry their own
    /// `error:` prefix and snippet).
    pub preformatted: bool,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            preformatted: false,
        }
    }

    /// Adds a hint (replacing one there was).
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<enos_core::StateError> for Error {
    fn from(e: enos_core::StateError) -> Self {
        Error::new(e.to_string())
    }
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Self {
        Error {
            message: e.message,
            hint: e.hint,
            preformatted: false,
        }
    }
}

impl From<enos_scenario::ScenarioError> for Error {
    fn from(e: enos_scenario::ScenarioError) -> Self {
        Error {
            message: e.to_string(),
            hint: None,
            preformatted: true,
        }
    }
}

/// `"s"` unless `n` is one: `host{}`.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
