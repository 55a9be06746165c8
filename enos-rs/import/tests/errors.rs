//! Reservations that cannot be imported: each error names the file, line, column and key, and
//! shows the line. The messages of `invalid/` are snapshotted, one per file (named after it).

use crate::common::{fixture, tests_dir};

/// The error of importing `tests/invalid/<name>`, which must fail.
fn error_of(name: &str) -> enos_import::ImportError {
    match enos_import::convert(&fixture("invalid", name), name) {
        Ok(imported) => panic!("{name} imports:\n{}", imported.scenario),
        Err(e) => e,
    }
}

#[test]
fn every_invalid_reservation_is_refused_with_a_located_message() {
    let mut names: Vec<String> = std::fs::read_dir(tests_dir().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "{names:?}");
    for name in names {
        let error = error_of(&name);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("error: {name}:{}:{}: ", error.line, error.column)),
            "{text}"
        );
        let stem = name.trim_end_matches(".yaml");
        insta::assert_snapshot!(stem, text);
    }
}

#[test]
fn errors_name_the_line_column_and_key() {
    let e = error_of("unknown-provider-type.yaml");
    assert_eq!((e.line, e.column, e.path.as_str()), (2, 9, "provider.type"));
    assert!(e.message.contains("'g6k'"), "{}", e.message);
    let e = error_of("not-a-mapping.yaml");
    assert_eq!((e.line, e.column, e.path.as_str()), (1, 1, ""));
    assert!(e.message.contains("found a list"), "{}", e.message);
    let e = error_of("count-not-a-number.yaml");
    assert_eq!(
        (e.line, e.column, e.path.as_str()),
        (4, 14, "resources.paravance.control")
    );
    assert_eq!(e.snippet(), "  |\n4 |     control: two\n  |              ^");
    let e = error_of("unknown-group.yaml");
    assert_eq!(
        (e.line, e.path.as_str()),
        (9, "network_constraints.constraints[0].dst")
    );
    let e = error_of("duplicate-key.yaml");
    assert_eq!((e.line, e.column, e.path.as_str()), (3, 1, "provider"));
}

#[test]
fn hostile_files_are_refused_quickly() {
    // A billion laughs.
    let mut bomb = String::from("provider: g5k\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(", ")
        ));
    }
    let e = enos_import::convert(&bomb, "bomb.yaml").unwrap_err();
    assert!(e.message.contains("more than 100000 values"), "{e}");
    // Deep nesting.
    let deep = format!(
        "provider: g5k\nresources: {}{}\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    let e = enos_import::convert(&deep, "deep.yaml").unwrap_err();
    assert!(e.message.contains("levels deep"), "{e}");
    // Too large.
    let large = format!("provider: g5k\n{}", "# padding\n".repeat(200_000));
    let e = enos_import::convert(&large, "large.yaml").unwrap_err();
    assert_eq!((e.line, e.column, e.path.as_str()), (1, 1, ""));
    assert!(e.message.contains("larger than 1024 KiB"), "{e}");
    // A huge range of groups.
    let range = "provider: g5k\ntopology:\n  g[1-99999999]: {paravance: {compute: 1}}\n";
    let e = enos_import::convert(range, "range.yaml").unwrap_err();
    assert_eq!(e.path, "topology.g[1-99999999]");
    // More sites than a scenario may hold hosts.
    let range = "provider: g5k\ntopology:\n  g[1-3000]: {paravance: {compute: 1}}\n  \
                 h[1-3000]: {paravance: {compute: 1}}\n";
    let e = enos_import::convert(range, "range.yaml").unwrap_err();
    assert!(e.message.contains("more than 4096 sites"), "{e}");
    // A constraint over renamed groups spreads over every pair of them, within bounds.
    let spread = "provider: g5k\ntopology:\n  G[1-40]: {paravance: {compute: 1}}\n\
                  network_constraints:\n  default_delay: 1ms\n  default_rate: 1gbit\n  \
                  constraints: [{src: 'G[1-40]', dst: 'G[1-40]', delay: 5ms}]\n";
    let e = enos_import::convert(spread, "spread.yaml").unwrap_err();
    assert_eq!(e.path, "network_constraints.constraints[0]");
    assert!(e.message.contains("1600 pairs"), "{e}");
    let fine = spread.replace("40", "30");
    let imported = enos_import::convert(&fine, "spread.yaml").unwrap();
    assert_eq!(imported.scenario.matches("- {src: g").count(), 900);
}
