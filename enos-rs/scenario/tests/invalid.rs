//! Every kind of bad scenario is rejected with file:line:column, the key path and what was
//! expected. Each kind is a small file in `tests/invalid/` (the file name is the kind) and its
//! whole message is a snapshot in `tests/snapshots/`: a change to a message, its location or its
//! snippet is a visible diff that fails the test.

use std::path::{Path, PathBuf};

/// The kinds of bad scenario, one fixture each. Adding a fixture means adding it here.
const KINDS: &[&str] = &[
    // The file itself.
    "empty-file",
    "only-comments",
    "empty-document",
    "several-documents",
    "non-mapping-document",
    "not-utf8",
    "nul-byte",
    // YAML syntax and structure.
    "yaml-syntax",
    "bad-indentation",
    "tab-indentation",
    "unknown-anchor",
    "alias-bomb",
    "nesting-too-deep",
    "duplicate-top-level-key",
    "duplicate-site",
    "duplicate-role",
    // Keys.
    "unknown-top-level-key",
    "key-in-wrong-case",
    "unknown-nested-key",
    "unknown-constraint-key",
    "metrics-errors",
    "sweep-errors",
    "sweep-bad-point",
    "missing-name",
    "name-without-value",
    "missing-sites",
    "no-sites",
    "site-without-value",
    "site-without-roles",
    // Types.
    "wrong-type-count",
    "wrong-type-list-for-map",
    "wrong-type-map-for-list",
    "wrong-type-list-for-string",
    "wrong-type-symmetric",
    "yes-for-boolean",
    // Names.
    "bad-name-uppercase",
    "bad-name-too-long",
    "bad-name-leading-digit",
    "bad-name-trailing-dash",
    "bad-site-name",
    "site-name-too-long",
    "bad-role-name",
    "colliding-host-names",
    "site-and-role-share-a-name",
    // Host counts.
    "zero-hosts",
    "negative-hosts",
    "hosts-not-whole",
    "too-many-hosts-in-one-role",
    "too-many-hosts",
    // Provider.
    "unknown-provider",
    "provider-not-built",
    "several-providers",
    // The local provider's options and limits: in enos-provider-local's tests.
    // Quantities.
    "malformed-delay",
    "delay-unknown-unit",
    "negative-delay",
    "delay-without-value",
    "missing-unit",
    "unit-in-wrong-case",
    "malformed-rate",
    "zero-rate",
    "rate-below-one-bit",
    "malformed-loss",
    "loss-over-100",
    "loss-without-percent",
    // Constraints.
    "unknown-site-src",
    "unknown-site-dst",
    "missing-constraint-src",
    "unknown-group",
    "malformed-range",
    "range-beyond-hosts",
    "ambiguous-name",
    "jitter-over-delay",
    // The deploy section.
    "bad-variable-name",
    "step-without-kind",
    "step-with-two-kinds",
    "step-unknown-key",
    "step-option-of-another-kind",
    "step-unknown-role",
    "step-bad-host-range",
    "step-bad-template-syntax",
    "step-missing-template-file",
    "step-mode-as-number",
    "step-relative-dest",
    "step-two-readiness-checks",
    "step-watch-unknown-step",
    "step-fetch-outside-results",
    "step-bad-failure-policy",
    "step-timeout-without-unit",
    "step-when-with-braces",
    "step-bad-service-name",
    "step-hostile-owner",
    "step-hostile-ready-address",
    "step-ready-port-out-of-range",
    // Stacks and their variables.
    "stack-unknown",
    "stack-unknown-variable",
    "stack-missing-variable",
    "stack-variable-wrong-type",
    "stack-variable-not-a-role",
    "stack-variable-bad-choice",
    "stack-with-step-options",
    // The bench section.
    "bench-unknown-type",
    "bench-rate-and-connections",
    "bench-empty-list",
    "bench-unknown-site-in-from",
    "bench-event-beyond-duration",
    "bench-duplicate-workload",
    "bench-bad-duration",
    "bench-too-many-points",
    "bench-file-errors",
    "bench-bad-events",
    "bench-arguments-of-another-type",
    "bench-bad-wan",
    "bench-bad-steps",
];

/// The fixture of `kind`, relative to the crate (tests run from there), so that messages hold
/// the path as given and nothing of the machine.
fn fixture(kind: &str) -> PathBuf {
    Path::new("tests/invalid").join(format!("{kind}.yaml"))
}

#[test]
fn the_fixtures_are_the_listed_kinds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    listed.sort();
    listed.dedup();
    assert_eq!(listed.len(), KINDS.len(), "a kind is listed twice");
    assert_eq!(on_disk, listed);
    assert!(KINDS.len() >= 20);
}

#[test]
fn every_kind_of_bad_scenario_is_rejected_with_a_located_message() {
    for kind in KINDS {
        let path = fixture(kind);
        let file = path.display().to_string();
        let error = enos_scenario::load(&path, crate::KINDS).expect_err(kind);
        for d in error.diagnostics() {
            assert!(d.line >= 1 && d.column >= 1, "{kind}: {d:?}");
            // Errors of a file the scenario names are located in it, next to the fixture.
            assert!(
                d.file == file || d.file.starts_with(&format!("tests/invalid/{kind}/")),
                "{kind}: {}",
                d.file
            );
            assert!(!d.snippet().is_empty(), "{kind}: no snippet");
        }
        let rendered = error.to_string();
        let first = &error.diagnostics()[0];
        assert!(
            rendered.starts_with(&format!("error: {file}:{}:{}: ", first.line, first.column)),
            "{kind}: {rendered}"
        );
        insta::assert_snapshot!(*kind, rendered);
    }
}

#[test]
fn the_documented_example_message() {
    let text =
        "name: quickstart\nprovider: local\nsites:\n  paris:\n    roles: {server: 0, client: 1}\n";
    let error = enos_scenario::parse(text, "quickstart.yaml", crate::KINDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "error: quickstart.yaml:5:21: sites.paris.roles.server: expected at least 1 host, found 0\n  \
         |\n5 |     roles: {server: 0, client: 1}\n  |                     ^"
    );
    let d = &error.diagnostics()[0];
    assert_eq!(
        (d.file.as_str(), d.line, d.column, d.path.as_str()),
        ("quickstart.yaml", 5, 21, "sites.paris.roles.server")
    );
    assert_eq!(d.message, "expected at least 1 host, found 0");
}

#[test]
fn semantic_errors_are_all_reported_at_once() {
    let text = "name: Bad\nsites:\n  paris: {roles: {server: 0}}\n  Nantes: {roles: {}}\n\
                network:\n  default_rate: 0mbit\n  constraints:\n    - {src: lyon, dst: paris}\n";
    let error = enos_scenario::parse(text, "s.yaml", crate::KINDS).unwrap_err();
    let places: Vec<_> = error
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            (1, 7, "name"),
            (3, 27, "sites.paris.roles.server"),
            (4, 3, "sites.Nantes"),
            (4, 19, "sites.Nantes.roles"),
            (6, 17, "network.default_rate"),
            (8, 13, "network.constraints[0].src"),
        ]
    );
    // Display separates diagnostics by a blank line.
    assert_eq!(error.to_string().matches("\n\nerror: ").count(), 5);
}

#[test]
fn load_names_the_path_as_given() {
    let error =
        enos_scenario::load(Path::new("tests/invalid/zero-hosts.yaml"), crate::KINDS).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "error: tests/invalid/zero-hosts.yaml:4:21: sites.paris.roles.server: expected at \
             least 1 host, found 0\n"
        ),
        "{error}"
    );
    let missing = enos_scenario::load(Path::new("no-such-file.yaml"), crate::KINDS).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("error: no-such-file.yaml:1:1: cannot read the file: "),
        "{missing}"
    );
}

#[test]
fn a_file_over_a_mebibyte_is_refused_before_parsing() {
    let mut text = String::from("name: big\nsites: {paris: {roles: {server: 1}}}\n");
    while text.len() <= enos_scenario::MAX_FILE_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let error = enos_scenario::parse(&text, "big.yaml", crate::KINDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "error: big.yaml:1:1: the file is larger than 1024 KiB; a scenario is far smaller"
    );
}
