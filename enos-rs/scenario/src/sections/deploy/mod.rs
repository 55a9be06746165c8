//! The `deploy:` section: steps applied to the hosts, and stacks (reusable bundles of steps with
//! variables). The model is what the deploy engine works from; its text fields are minijinja
//! templates rendered per host.

mod check;
mod model;
mod stack;
mod steps;

pub use model::*;
pub(crate) use steps::RawStep;
pub use steps::{
    check_account, check_owner, check_results_path, is_template, tcp_target, template_error,
};
