//! How the tests of enos-rs say that they cannot run on this machine.
//!
//! A test that needs something first asks for it, and returns at once when told no:
//!
//! ```ignore
//! if !enos_testkit::require_root("my_test") || !enos_testkit::require_program("my_test", "fping") {
//!     return;
//! }
//! ```
//!
//! What is missing decides what happens:
//!
//! - **root, a program or a file that `.ci/run` installs**: under CI (the `CI` environment
//!   variable set, as `.ci/run` and CI services do) the test fails, naming what is missing;
//!   elsewhere it is skipped.
//! - **a kernel feature this machine does not have** (netem, powercap): the test is skipped,
//!   under CI too, with its reason ([`skip_for_kernel_feature`]).
//!
//! A skip is never silent: it is written to standard error as `skipped: <test>: <reason>`, and,
//! because the test harness hides what passing tests print, appended as one line
//! `<test>: <reason>` to the file named by [`SKIP_LOG_VAR`] when it is set. `.ci/run` sets it,
//! prints every skip and counts them apart from the passed tests.
#![warn(missing_docs)]
#![allow(clippy::print_stderr)]

pub mod browser;

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The environment variable naming the file that skips are appended to.
pub const SKIP_LOG_VAR: &str = "ENOS_TEST_SKIP_LOG";
/// The environment variable that says the tests run under CI, where everything must run.
pub const CI_VAR: &str = "CI";

/// What to do when a test cannot run here: fail (under CI) or skip, and where skips are
/// recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipPolicy {
    /// Whether the tests run under CI: a missing program, file or root fails the test.
    pub under_ci: bool,
    /// The file each skip is appended to, one line `<test>: <reason>`.
    pub skip_log: Option<PathBuf>,
}

impl SkipPolicy {
    /// The policy the process's environment asks for: under CI when [`CI_VAR`] is set to
    /// anything but nothing, `0` or `false`; skips recorded in [`SKIP_LOG_VAR`]'s file.
    pub fn from_env() -> SkipPolicy {
        SkipPolicy::from_values(
            std::env::var_os(CI_VAR).as_deref(),
            std::env::var_os(SKIP_LOG_VAR).as_deref(),
        )
    }

    /// The policy for the values of [`CI_VAR`] and [`SKIP_LOG_VAR`] (`None` when unset).
    pub fn from_values(ci: Option<&OsStr>, skip_log: Option<&OsStr>) -> SkipPolicy {
        SkipPolicy {
            under_ci: ci.is_some_and(|value| {
                !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
            }),
            skip_log: skip_log
                .filter(|value| !value.is_empty())
                .map(PathBuf::from),
        }
    }

    /// Whether `test` may run, given that it needs `need` (`root`, `the program fping`) and
    /// whether this machine has it. When it has not: fails under CI, records a skip otherwise.
    pub fn require(&self, test: &str, need: &str, present: bool) -> bool {
        if present {
            return true;
        }
        assert!(
            !self.under_ci,
            "{test}: CI must run every test, but this machine lacks {need}"
        );
        self.record_skip(test, &format!("needs {need}"));
        false
    }

    /// Whether `test` may run: it needs to run as root.
    pub fn require_root(&self, test: &str) -> bool {
        self.require(test, "root", rustix::process::geteuid().is_root())
    }

    /// Whether `test` may run: it needs `program` on the `PATH`.
    pub fn require_program(&self, test: &str, program: &str) -> bool {
        let need = format!("the program {program}");
        self.require(test, &need, program_on_path(program))
    }

    /// Whether `test` may run: it needs the file (or device) `path`; `what` says what provides
    /// it (`openssh-server`).
    pub fn require_file(&self, test: &str, path: &Path, what: &str) -> bool {
        let need = format!("{} ({what})", path.display());
        self.require(test, &need, path.exists())
    }

    /// Records that `test` does not run because this machine's kernel lacks `feature`; `reason`
    /// says what the test would have proven. A skip, also under CI.
    pub fn skip_for_kernel_feature(&self, test: &str, feature: &str, reason: &str) {
        self.record_skip(test, &format!("the kernel has no {feature}: {reason}"));
    }

    /// Writes the skip to standard error and appends it to the skip log.
    fn record_skip(&self, test: &str, reason: &str) {
        let line = format!("{test}: {reason}");
        eprintln!("skipped: {line}");
        if let Some(path) = &self.skip_log {
            // One write of one short line: concurrent test processes do not interleave.
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
            if let Err(e) = written {
                panic!("{test}: cannot record the skip in {}: {e}", path.display());
            }
        }
    }
}

/// Whether an executable file `program` is in a directory of the `PATH`.
pub fn program_on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// [`SkipPolicy::require_root`] with the process's policy.
pub fn require_root(test: &str) -> bool {
    SkipPolicy::from_env().require_root(test)
}

/// [`SkipPolicy::require_program`] with the process's policy.
pub fn require_program(test: &str, program: &str) -> bool {
    SkipPolicy::from_env().require_program(test, program)
}

/// [`SkipPolicy::require_file`] with the process's policy.
pub fn require_file(test: &str, path: &Path, what: &str) -> bool {
    SkipPolicy::from_env().require_file(test, path, what)
}

/// [`SkipPolicy::skip_for_kernel_feature`] with the process's policy.
pub fn skip_for_kernel_feature(test: &str, feature: &str, reason: &str) {
    SkipPolicy::from_env().skip_for_kernel_feature(test, feature, reason)
}
