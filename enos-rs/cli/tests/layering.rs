//! The crate graph, checked: `cargo metadata` against the layers docs/ARCHITECTURE.md draws.
//!
//! Every normal dependency between workspace crates goes to a lower layer; the binary reaches
//! the lifecycle through the experiment library and providers through their crates' entry
//! points; the core does not know the WAN; only the analysis crate may use polars.

use std::collections::BTreeMap;

use serde_json::Value;

/// The layer of each workspace crate: a crate may depend on crates of lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("enos-testkit", 0),
    ("enos-stacks", 0),
    ("enos-http", 0),
    ("enos-probes", 0),
    ("enos-emulator", 0),
    ("enos-egress", 0),
    ("enos-loadgen", 0),
    ("enos-energy", 0),
    ("enos-system", 0),
    ("enos-kwollect", 1),
    ("enos-agent", 1),
    ("enos-scenario", 1),
    ("enos-core", 2),
    ("enos-wan", 2),
    ("enos-import", 2),
    ("enos-inventory", 3),
    ("enos-remote", 3),
    ("enos-provider", 3),
    ("enos-deploy", 4),
    ("enos-experiment", 5),
    ("enos-provider-local", 5),
    ("enos-provider-static", 5),
    ("enos-provider-g5k", 5),
    ("enos-provider-vagrant", 5),
    ("enos-provider-openstack", 5),
    ("enos-analysis", 5),
    ("enos-cli", 6),
];

/// What the binary may depend on among the workspace crates: the library, the providers, and
/// the analysis (which reads results, and runs nothing).
fn binary_may_use(name: &str) -> bool {
    name == "enos-experiment" || name == "enos-analysis" || name.starts_with("enos-provider-")
}

/// `name → [(dependency, kind)]` for every workspace crate.
fn workspace_graph() -> BTreeMap<String, Vec<(String, Option<String>)>> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let mut graph = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("a name").to_owned();
        let dependencies = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().expect("a name").to_owned(),
                    d["kind"].as_str().map(str::to_owned),
                )
            })
            .collect();
        graph.insert(name, dependencies);
    }
    graph
}

fn layer(name: &str) -> Option<u32> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

#[test]
fn every_crate_depends_downwards_only() {
    let graph = workspace_graph();
    let mut wrong = Vec::new();
    for (name, dependencies) in &graph {
        let Some(own) = layer(name) else {
            wrong.push(format!(
                "{name} has no layer: give it one in LAYERS and in docs/ARCHITECTURE.md"
            ));
            continue;
        };
        for (dependency, kind) in dependencies {
            if kind.is_some() || !graph.contains_key(dependency) {
                continue; // dev and build dependencies, and crates from outside
            }
            match layer(dependency) {
                Some(theirs) if theirs < own => {}
                _ => wrong.push(format!("{name} (layer {own}) depends on {dependency}")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_binary_reaches_the_lifecycle_only_through_the_library() {
    let graph = workspace_graph();
    let cli = graph.get("enos-cli").expect("the binary's crate");
    let internals: Vec<&str> = cli
        .iter()
        .filter(|(d, kind)| kind.is_none() && graph.contains_key(d) && !binary_may_use(d))
        .map(|(d, _)| d.as_str())
        .collect();
    assert!(
        internals.is_empty(),
        "enos-cli depends on {internals:?}: it should call enos-experiment and register providers"
    );
}

#[test]
fn the_core_does_not_know_the_wan_and_only_analysis_uses_polars() {
    let graph = workspace_graph();
    let uses = |name: &str, dependency: &str| {
        graph[name]
            .iter()
            .any(|(d, kind)| d == dependency && kind.is_none())
    };
    assert!(
        !uses("enos-core", "enos-wan"),
        "enos-core depends on enos-wan"
    );
    let polars: Vec<&String> = graph
        .keys()
        .filter(|name| *name != "enos-analysis" && uses(name, "polars"))
        .collect();
    assert!(polars.is_empty(), "{polars:?} depend on polars");
}

#[test]
fn the_architecture_document_names_every_crate() {
    let graph = workspace_graph();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("the document");
    let missing: Vec<&String> = graph
        .keys()
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md does not name {missing:?}"
    );
}
