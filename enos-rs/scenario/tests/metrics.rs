//! The `metrics:` section's model: defaults, models per role, the choices read back from the
//! state's JSON.

use std::time::Duration;

use enos_energy::model::PowerModel;
use enos_scenario::Scenario;
use enos_scenario::metrics::{DEFAULT_MODEL, EnergyChoice};

const SITES: &str = "name: q\nsites:\n  paris: {roles: {server: 1, client: 1}}\n";

fn parse(metrics: &str) -> Scenario {
    let text = format!("{SITES}{metrics}");
    enos_scenario::parse(&text, "t.yaml", crate::KINDS).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_absent_section_collects_nothing_and_an_empty_one_takes_every_default() {
    assert_eq!(parse("").metrics, None);
    let m = parse("metrics:\n").metrics.expect("the section");
    assert_eq!(m.period, Duration::from_secs(1));
    assert!(m.system);
    assert_eq!(m.energy.source, EnergyChoice::Auto);
    assert_eq!(m.energy.model, DEFAULT_MODEL);
    assert_eq!(
        m.energy.kwollect.metrics,
        [
            "wattmetre_power_watt",
            "bmc_node_power_watt",
            "pdu_outlet_power_watt"
        ]
    );
}

#[test]
fn models_are_linear_fan_or_tables_and_roles_override_the_default() {
    let m = parse(
        "metrics:\n  period: 100ms\n  system: false\n  energy:\n    source: model\n    \
         model: {idle_w: 60, max_w: 180}\n    roles:\n      \
         server: {idle_w: 90, max_w: 250, r: 1.4}\n      \
         client: {table: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}\n    \
         kwollect: {url: 'http://localhost:8080/stable/', metrics: [bmc_node_power_watt]}\n",
    )
    .metrics
    .expect("the section");
    assert_eq!(m.period, Duration::from_millis(100));
    assert!(!m.system);
    assert_eq!(m.energy.source, EnergyChoice::Model);
    assert_eq!(
        m.energy.model_of("nobody"),
        &PowerModel::Linear {
            idle_w: 60.0,
            max_w: 180.0
        }
    );
    assert_eq!(
        m.energy.model_of("server"),
        &PowerModel::Fan {
            idle_w: 90.0,
            max_w: 250.0,
            r: 1.4
        }
    );
    assert_eq!(m.energy.model_of("client").watts(0.55), 15.5);
    assert_eq!(m.energy.kwollect.url, "http://localhost:8080/stable");
    assert_eq!(m.energy.kwollect.metrics, ["bmc_node_power_watt"]);
}

#[test]
fn the_section_survives_the_states_json() {
    let s = parse("metrics:\n  period: 250ms\n  energy: {source: rapl}\n");
    let text = serde_json::to_string(&s).unwrap();
    let back: Scenario = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    // A state written before the section existed reads as no metrics.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("metrics");
    let old: Scenario = serde_json::from_value(value).unwrap();
    assert_eq!(old.metrics, None);
}
