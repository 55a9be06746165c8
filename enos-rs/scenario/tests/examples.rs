//! The example scenarios under `scenarios/` are valid, the quickstart is the documented one, and
//! the JSON Schema describes the format.

use std::path::{Path, PathBuf};

use enos_scenario::{Delay, LossRate, ProviderSection, Rate, Scenario};

/// Examples of providers other than `local`: their options are checked by the provider's crate,
/// which parses them in its tests (and `enos validate` parses every example, in the CLI's).
const OTHER_PROVIDERS: [&str; 4] = [
    "static.yaml",
    "g5k.yaml",
    "vagrant.yaml",
    "openstack-cloud.yaml",
];

/// The examples of the local provider.
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| OTHER_PROVIDERS.contains(&n.to_string_lossy().as_ref()))
        })
        .collect();
    paths.sort();
    paths
}

fn example(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    enos_scenario::load(&path, crate::KINDS).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_scenario_parses_and_round_trips_through_json() {
    let paths = examples();
    assert!(paths.len() >= 3, "{paths:?}");
    for path in paths {
        let s = enos_scenario::load(&path, crate::KINDS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Some(s.name.as_str()),
            path.file_stem().and_then(|n| n.to_str()),
            "an example is named after its file"
        );
        let json = serde_json::to_string(&s).unwrap();
        let back: Scenario = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s, "{}", path.display());
    }
}

#[test]
fn quickstart_is_the_documented_three_sites() {
    let s = example("quickstart.yaml");
    assert_eq!(s.name, "quickstart");
    assert_eq!(
        s.provider,
        ProviderSection::new("local", serde_json::json!({}))
    );
    let sites: Vec<_> = s.sites.iter().map(|site| site.name.as_str()).collect();
    assert_eq!(sites, ["paris", "nantes", "rennes"]);
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
    assert_eq!(s.network.default_loss.percent(), 0.0);
    assert_eq!(s.network.constraints.len(), 1);
    let c = &s.network.constraints[0];
    assert_eq!(
        (c.src.text.as_str(), c.dst.text.as_str(), c.symmetric),
        ("paris", "rennes", true)
    );
    assert_eq!(c.delay, Some("25ms".parse().unwrap()));
    assert_eq!(c.rate, Some(Rate(100_000_000)));
    assert_eq!(c.loss.map(LossRate::percent), Some(1.0));
}

#[test]
fn the_openstack_wan_example_runs_five_delays_to_its_computes() {
    let s = example("openstack-wan.yaml");
    let c = &s.network.constraints[0];
    assert_eq!(
        (c.src.text.as_str(), c.dst.text.as_str()),
        ("control", "edge")
    );
    assert_eq!(s.bench.points(), 5);
    assert!(s.hosts().len() <= 16);
}

#[test]
fn the_schema_is_an_object_listing_the_top_level_keys() {
    let schema = enos_scenario::json_schema(crate::KINDS);
    assert!(schema.is_object());
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    // `sites:` may be left out when the provider's options define the hosts.
    assert_eq!(schema["required"], serde_json::json!(["name"]));
    let mut keys: Vec<_> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bench", "deploy", "metrics", "name", "network", "provider", "sites", "sweep", "vars"
        ]
    );
    let bench = &schema["properties"]["bench"]["anyOf"][2]["properties"];
    let workload = &bench["workloads"]["items"]["properties"];
    for key in [
        "name", "type", "from", "targets", "args", "duration", "events",
    ] {
        assert!(workload.get(key).is_some(), "{key}");
    }
    let step = &schema["properties"]["deploy"]["items"]["properties"];
    for key in [
        "packages", "template", "copy", "run", "service", "wait", "fetch", "stack",
    ] {
        assert!(step.get(key).is_some(), "{key}");
    }
    let network = &schema["properties"]["network"]["properties"];
    let mut network_keys: Vec<_> = network.as_object().unwrap().keys().cloned().collect();
    network_keys.sort();
    assert_eq!(
        network_keys,
        [
            "constraints",
            "default_delay",
            "default_jitter",
            "default_loss",
            "default_rate",
            "except",
            "groups"
        ]
    );
    let constraint = &network["constraints"]["items"]["properties"];
    for key in ["src", "dst", "delay", "jitter", "rate", "loss", "symmetric"] {
        assert!(constraint.get(key).is_some(), "{key}");
    }
    // It survives a trip through text, as `enos schema` prints it.
    let text = serde_json::to_string_pretty(&schema).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        schema
    );
}

#[test]
fn a_sweep_gives_one_valid_scenario_per_point_differing_only_in_the_swept_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/wan-sweep.yaml");
    let file = path.display().to_string();
    let source = std::fs::read_to_string(&path).unwrap();
    let (base, points) = enos_scenario::sweep_points(&source, &file, crate::KINDS).unwrap();
    assert_eq!(base.sweep.as_ref().map(|s| s.len()), Some(3));
    assert_eq!(points.len(), 3);
    for (n, (point, delay)) in points.iter().zip(["5ms", "20ms", "40ms"]).enumerate() {
        assert_eq!(point.number, n + 1);
        assert_eq!(
            point.params.get("network.default_delay"),
            Some(&serde_json::json!(delay))
        );
        let scenario = enos_scenario::parse(&point.source, &file, crate::KINDS)
            .unwrap_or_else(|e| panic!("{e}\n{}", point.source));
        assert_eq!(scenario.sweep, None);
        assert_eq!(
            scenario.network.default_delay,
            delay.parse::<Delay>().unwrap()
        );
        let mut expected = base.clone();
        expected.sweep = None;
        expected.network.default_delay = scenario.network.default_delay;
        // The same scenario but for the swept key (and where its lines are in the point's text).
        assert_eq!(
            without_locations(serde_json::to_value(&scenario).unwrap()),
            without_locations(serde_json::to_value(&expected).unwrap()),
            "point {}",
            point.number
        );
    }
    // A scenario without `sweep:` has no points.
    let plain = std::fs::read_to_string(path.with_file_name("quickstart.yaml")).unwrap();
    let (_, none) = enos_scenario::sweep_points(&plain, "quickstart.yaml", crate::KINDS).unwrap();
    assert!(none.is_empty());
}

fn without_locations(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| k != "at")
            .map(|(k, v)| (k, without_locations(v)))
            .collect(),
        serde_json::Value::Array(list) => list.into_iter().map(without_locations).collect(),
        other => other,
    }
}
