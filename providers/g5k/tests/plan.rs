//! `plan`: what a deploy would send, from the scenario alone (no credentials, no network).

use enos_provider::Provider;
use enos_provider_g5k::{G5kConfig, G5kProvider};

use crate::common::{parse, two_sites_with};

fn provider() -> G5kProvider {
    // No credentials, and Grid'5000's API, which is not reachable from the tests: plan needs
    // neither.
    G5kProvider::new(G5kConfig {
        inside_grid5000: Some(false),
        credentials: None,
        ..G5kConfig::default()
    })
}

fn shown(plan: &enos_provider::ProvisionPlan) -> String {
    let mut text = format!("provider: {}\n", plan.provider);
    for action in &plan.actions {
        text.push_str(&format!("\n{}\n  why: {}\n", action.what, action.why));
        if let Some(body) = &action.body {
            for line in body.lines() {
                text.push_str(&format!("  | {line}\n"));
            }
        }
    }
    text
}

#[test]
fn the_plan_of_the_example_shows_each_request_and_its_body() {
    let scenario = enos_scenario::load(
        std::path::Path::new("../../scenarios/g5k.yaml"),
        crate::common::KINDS,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let plan = provider().plan(&scenario).unwrap();
    insta::assert_snapshot!("plan-example", shown(&plan));
    // The body planned is the body sent: valid JSON of the documented shape.
    let body: serde_json::Value = serde_json::from_str(
        plan.actions
            .iter()
            .find(|a| a.what.ends_with("/jobs"))
            .and_then(|a| a.body.as_deref())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        body["resources"],
        "{cluster='paravance'}/nodes=3,walltime=02:00:00"
    );
}

#[test]
fn the_plan_with_a_vlan_a_reservation_and_an_unknown_cluster() {
    let text = two_sites_with(
        "    vlan: kavlan\n    reservation: \"2027-01-15 19:00:00\"\n    queue: production\n    job_name: my-exp\n",
    )
    .replace("lyon: {cluster: gros}", "lyon: {cluster: brandnew}");
    let plan = provider().plan(&parse(&text)).unwrap();
    insta::assert_snapshot!("plan-vlan", shown(&plan));
}
