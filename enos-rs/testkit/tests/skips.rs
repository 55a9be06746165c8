//! The skip mechanism itself: a failure under CI, a recorded skip elsewhere, kernel features
//! skipped in both.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use enos_testkit::SkipPolicy;

const MISSING: &str = "enos-testkit-no-such-program";

fn policy(under_ci: bool, log: &Path) -> SkipPolicy {
    SkipPolicy {
        under_ci,
        skip_log: Some(log.to_owned()),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn under_ci_a_missing_program_fails_the_test_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    let ci = policy(true, &log);
    let outcome = std::panic::catch_unwind(|| ci.require_program("some_test", MISSING));
    let message = panic_message(outcome.unwrap_err());
    assert_eq!(
        message,
        format!("some_test: CI must run every test, but this machine lacks the program {MISSING}")
    );
    let missing = Path::new("/no/such/sshd");
    let outcome = std::panic::catch_unwind(|| ci.require_file("t", missing, "openssh-server"));
    assert!(panic_message(outcome.unwrap_err()).ends_with("lacks /no/such/sshd (openssh-server)"));
    assert!(!log.exists(), "a failure is not a skip");
}

#[test]
fn elsewhere_a_missing_program_is_a_recorded_skip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    let here = policy(false, &log);
    assert!(!here.require_program("first_test", MISSING));
    assert!(!here.require("second_test", "root", false));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("first_test: needs the program {MISSING}\nsecond_test: needs root\n")
    );
}

#[test]
fn what_is_present_runs_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    for under_ci in [true, false] {
        let policy = policy(under_ci, &log);
        assert!(policy.require_program("t", "sh"));
        assert!(policy.require_file("t", Path::new("/"), "the root"));
        assert!(policy.require("t", "something", true));
    }
    assert!(!log.exists());
}

#[test]
fn a_missing_kernel_feature_is_a_skip_also_under_ci() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    policy(true, &log).skip_for_kernel_feature("tc_test", "netem", "tc cannot delay packets");
    policy(false, &log).skip_for_kernel_feature("energy_test", "powercap", "no RAPL counters");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "tc_test: the kernel has no netem: tc cannot delay packets\n\
         energy_test: the kernel has no powercap: no RAPL counters\n"
    );
}

#[test]
fn the_environment_says_whether_tests_run_under_ci_and_where_skips_go() {
    let os = |s: &'static str| Some(std::ffi::OsStr::new(s));
    for (value, under_ci) in [
        (None, false),
        (os(""), false),
        (os("0"), false),
        (os("false"), false),
        (os("FALSE"), false),
        (os("true"), true),
        (os("1"), true),
        (os("yes"), true),
    ] {
        assert_eq!(
            SkipPolicy::from_values(value, None),
            SkipPolicy {
                under_ci,
                skip_log: None
            },
            "CI={value:?}"
        );
    }
    assert_eq!(SkipPolicy::from_values(None, os("")).skip_log, None);
    assert_eq!(
        SkipPolicy::from_values(None, os("/tmp/skips")).skip_log,
        Some("/tmp/skips".into())
    );
}
