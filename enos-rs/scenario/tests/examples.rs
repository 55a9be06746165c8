//! The example scenarios under `scenarios/` are valid, and the quickstart says what the README says.

use std::path::Path;

use enos_scenario::{Delay, LossRate, ProviderSpec, Rate};

#[test]
fn every_example_scenario_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            enos_scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 2);
}

#[test]
fn quickstart_is_the_documented_three_sites() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.yaml");
    let s = enos_scenario::load(&path).unwrap();
    assert_eq!(s.name, "quickstart");
    assert_eq!(s.provider, ProviderSpec::Local(Default::default()));
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            "paris-server-1",
            "paris-client-1",
            "nantes-server-1",
            "nantes-client-1",
            "rennes-client-1",
            "rennes-client-2"
        ]
    );
    assert_eq!(s.network.default_delay, "2ms".parse::<Delay>().unwrap());
    assert_eq!(s.network.default_rate, Rate(1_000_000_000));
    let c = &s.network.constraints[0];
    assert_eq!(
        (c.src.as_str(), c.dst.as_str(), c.symmetric),
        ("paris", "rennes", true)
    );
    assert_eq!(c.rate, Some(Rate(100_000_000)));
    assert_eq!(c.loss.map(LossRate::percent), Some(1.0));
}

#[test]
fn scenarios_round_trip_through_json() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.yaml");
    let s = enos_scenario::load(&path).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: enos_scenario::Scenario = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn provider_forms_and_defaults() {
    let long = enos_scenario::parse(
        "name: q\nprovider: {local: {}}\nsites: {a: {roles: {x: 1}}}\n",
        "p.yaml",
    )
    .unwrap();
    let short = enos_scenario::parse("name: q\nsites: {a: {roles: {x: 1}}}\n", "p.yaml").unwrap();
    assert_eq!(long, short);
    assert_eq!(short.network.default_rate, Rate(10_000_000_000));
    assert_eq!(short.network.default_delay, Delay::default());
}

#[test]
fn the_schema_lists_the_top_level_keys() {
    let schema = enos_scenario::json_schema();
    let keys: Vec<_> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys.len(), 4);
    for key in ["name", "provider", "sites", "network"] {
        assert!(keys.contains(&key.to_owned()));
    }
    assert_eq!(schema["additionalProperties"], false);
}
