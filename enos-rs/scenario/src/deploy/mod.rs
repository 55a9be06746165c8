//! The `deploy:` section: steps applied to the hosts, and stacks (reusable bundles of steps with
//! variables). The model is what the deploy engine works from; its text fields are minijinja
//! templates rendered per host.

mod check;
mod model;
mod stack;

pub(crate) use check::RawStep;
pub use check::{check_results_path, is_template, template_error};
pub use model::*;
