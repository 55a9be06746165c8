//! The experiment's `name:`.

use crate::MAX_NAME_LEN;
use crate::check::{Checker, check_name};

impl Checker<'_> {
    /// The experiment's name: required, a name of at most [`MAX_NAME_LEN`] characters.
    pub(crate) fn name(&mut self, raw: Option<String>) -> String {
        let Some(name) = raw else {
            self.missing("name", "", "the experiment's name", "name: quickstart");
            return String::new();
        };
        if let Err(why) = check_name(&name, MAX_NAME_LEN) {
            self.value_error("name", format!("bad experiment name: {why}"));
        }
        name
    }
}
