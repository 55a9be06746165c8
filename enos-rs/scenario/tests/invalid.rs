//! Every kind of bad scenario is rejected with file:line:column, the key path and what was
//! expected. The messages are snapshots (tests/snapshots/): a change to one is a visible diff.

use std::path::Path;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut all: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn every_invalid_fixture_is_rejected_with_a_located_message() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 20,
        "only {} kinds of bad scenario",
        fixtures.len()
    );
    for (kind, text) in fixtures {
        let file = format!("{kind}.yaml");
        let error = enos_scenario::parse(&text, &file).expect_err(&kind);
        let first = &error.diagnostics()[0];
        assert!(first.line >= 1 && first.column >= 1, "{kind}: {first:?}");
        let rendered = error.to_string();
        assert!(
            rendered.starts_with(&format!("error: {file}:{}:{}: ", first.line, first.column)),
            "{kind}: {rendered}"
        );
        insta::assert_snapshot!(kind.clone(), rendered);
    }
}

#[test]
fn load_names_the_path_as_given() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let error = enos_scenario::load(&dir.join("zero-hosts.yaml")).unwrap_err();
    assert!(
        error.to_string().contains(
            "zero-hosts.yaml:4:21: sites.paris.roles.server: expected at least 1 host, found 0"
        ),
        "{error}"
    );
    let missing = enos_scenario::load(&dir.join("no-such-file.yaml")).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("no-such-file.yaml:1:1: cannot read the file"),
        "{missing}"
    );
}

#[test]
fn semantic_errors_are_all_reported_at_once() {
    let text =
        "name: Bad\nsites:\n  paris: {roles: {server: 0}}\nnetwork:\n  default_rate: 0mbit\n";
    let error = enos_scenario::parse(text, "s.yaml").unwrap_err();
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
            (5, 17, "network.default_rate")
        ]
    );
}

#[test]
fn non_utf8_and_nul_bytes_are_located() {
    let dir = tempfile_path("bad-bytes.yaml");
    std::fs::write(&dir, b"name: q\nsites: {\xff}\n").unwrap();
    let error = enos_scenario::load(&dir).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(":2:9: the file is not UTF-8 text"),
        "{error}"
    );
    let error = enos_scenario::parse("name: q\0\n", "nul.yaml").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("error: nul.yaml:1:8: the file contains a NUL byte"),
        "{error}"
    );
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("enos-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
