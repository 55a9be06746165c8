//! The Grid'5000 provider's options: the example scenario, defaults, and errors located in the
//! scenario (insta snapshots of the messages). Fixtures are in `tests/fixtures/`, named
//! relative to the crate so that messages hold nothing of the machine.

use std::path::Path;

use enos_provider_g5k::{G5kKind, Queue, VlanKind, Walltime, options};
use enos_scenario::{Scenario, ScenarioError};
use serde_json::json;

use crate::common::KINDS;

fn load(path: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::load(Path::new(path), KINDS)
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::parse(text, "s.yaml", KINDS)
}

/// Each diagnostic as `file:line:column: path: message`.
fn located(error: &ScenarioError) -> Vec<String> {
    error
        .diagnostics()
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}: {}: {}",
                d.file, d.line, d.column, d.path, d.message
            )
        })
        .collect()
}

#[test]
fn the_example_scenario_reads_with_its_options() {
    let s = load("../../scenarios/g5k.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.provider.name, "g5k");
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.job_name(&s.name), "enos-g5k-two-sites");
    assert_eq!(o.walltime, Walltime(7200));
    assert_eq!(o.queue, Queue::Default);
    assert_eq!(o.env_name, "debian12-min");
    assert_eq!(o.deploy_retries, 3);
    assert_eq!(
        o.scheduled_at_limit.map(|t| t.to_string()).as_deref(),
        Some("10m")
    );
    assert_eq!(o.monitor.as_deref(), Some("wattmetre_power_watt"));
    assert_eq!(o.sites["paris"].site.as_deref(), Some("rennes"));
    assert_eq!(o.sites["paris"].min["client"], 1);
    // The site of gros comes from the built-in table.
    assert_eq!(o.sites["lyon"].site.as_deref(), Some("nancy"));
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            "paris-server-1",
            "paris-client-1",
            "paris-client-2",
            "lyon-client-1"
        ]
    );
    // The state keeps the options, and reads them back.
    let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn defaults_fill_what_is_not_written() {
    let s = parse(
        "name: q\nprovider: {g5k: {sites: {paris: {cluster: abacus12}}, vlan: kavlan-global, \
         queue: production, walltime: \"1:30\", reservation: \"2027-01-15 19:00\"}}\n\
         sites: {paris: {roles: {server: 1}}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.job_name("q"), "enos-q");
    assert_eq!(o.walltime.to_string(), "01:30:00");
    assert_eq!(o.queue, Queue::Production);
    assert_eq!(o.vlan, Some(VlanKind::KavlanGlobal));
    assert_eq!(o.reservation.as_deref(), Some("2027-01-15 19:00:00"));
    assert_eq!((o.env_name.as_str(), o.deploy_retries), ("debian12-min", 3));
    assert_eq!(o.sites["paris"].site.as_deref(), Some("rennes"));
    // A cluster the table does not know keeps no site: the API is asked at deploy.
    let s = parse(
        "name: q\nprovider: {g5k: {sites: {paris: {cluster: brandnew}}}}\n\
         sites: {paris: {roles: {server: 1}}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        options(&s.provider.options).unwrap().sites["paris"].site,
        None
    );
}

#[test]
fn errors_in_the_options_are_located_at_their_keys() {
    let error = load("tests/fixtures/bad-options.yaml").unwrap_err();
    insta::assert_snapshot!("bad-options", error.to_string());
}

#[test]
fn every_scenario_site_needs_a_cluster_and_min_names_its_roles() {
    let error = load("tests/fixtures/bad-sites.yaml").unwrap_err();
    insta::assert_snapshot!("bad-sites", error.to_string());
}

#[test]
fn the_sites_must_be_there() {
    for (provider, expected) in [
        (
            "g5k",
            "s.yaml:2:11: provider.g5k.sites: missing key `sites`: the Grid'5000 cluster of each \
             scenario site",
        ),
        (
            "{g5k: {walltime: \"01:00:00\"}}",
            "s.yaml:2:17: provider.g5k.sites: missing key `sites`: the Grid'5000 cluster of each \
             scenario site (e.g. `sites: {paris: {cluster: paravance}}`)",
        ),
        (
            "{g5k: {sites: {paris: {site: rennes}}}}",
            "s.yaml:2:33: provider.g5k.sites.paris.cluster: missing key `cluster`: the Grid'5000 \
             cluster the site's hosts come from (e.g. `cluster: paravance`)",
        ),
        (
            "{g5k: [rennes]}",
            "s.yaml:2:17: provider.g5k: expected the Grid'5000 provider's options (a mapping \
             with `sites`), found a list",
        ),
    ] {
        let error = parse(&format!(
            "name: q\nprovider: {provider}\nsites: {{paris: {{roles: {{server: 1}}}}}}\n"
        ))
        .unwrap_err();
        let all = located(&error);
        assert_eq!(all.len(), 1, "{provider}: {all:?}");
        assert!(all[0].starts_with(expected), "{provider}: {all:?}");
    }
}

#[test]
fn the_schema_describes_the_options() {
    let kinds: &[&dyn enos_scenario::ProviderKind] = &[&G5kKind];
    let schema = enos_scenario::json_schema(kinds);
    let text = schema.to_string();
    assert!(text.contains("\"g5k\""), "{text}");
    let fragment = enos_scenario::ProviderKind::options_schema(&G5kKind);
    assert_eq!(fragment["required"], json!(["sites"]));
    let mut keys: Vec<_> = fragment["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "api_url",
            "deploy_retries",
            "env_name",
            "job_name",
            "monitor",
            "queue",
            "reservation",
            "scheduled_at_limit",
            "sites",
            "vlan",
            "walltime"
        ]
    );
    let site = &fragment["properties"]["sites"]["additionalProperties"];
    assert_eq!(site["required"], json!(["cluster"]));
    assert_eq!(
        fragment["properties"]["vlan"]["enum"],
        json!(["kavlan", "kavlan-local", "kavlan-global"])
    );
}
