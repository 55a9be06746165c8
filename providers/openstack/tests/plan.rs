//! `enos deploy --dry-run`: the requests a deploy would make, from the scenario alone (no
//! credentials are read: the provider's environment is empty, and it does not matter).

use enos_provider::{Provider, ProvisionPlan};

use crate::support::{SCENARIO, provider, scenario};

/// The plan as `enos deploy --dry-run` prints it.
fn shown(plan: &ProvisionPlan) -> String {
    let mut out = format!("the {} provider would:\n", plan.provider);
    for (i, action) in plan.actions.iter().enumerate() {
        out.push_str(&format!("{:>3}. {} — {}\n", i + 1, action.what, action.why));
        if let Some(body) = &action.body {
            for line in body.lines() {
                out.push_str(&format!("       {line}\n"));
            }
        }
    }
    out
}

#[test]
fn the_plan_of_a_made_network() {
    let plan = provider(Default::default())
        .plan(&scenario(SCENARIO))
        .unwrap();
    assert_eq!(
        plan.actions
            .iter()
            .filter(|a| a.what == "POST {compute}/servers")
            .count(),
        4
    );
    insta::assert_snapshot!("plan-made-network", shown(&plan));
}

#[test]
fn the_plan_of_a_lease_an_existing_network_and_a_keypair() {
    let text = "\
name: chi
provider:
  openstack:
    cloud: chameleon
    image: CC-Ubuntu22.04
    user: cc
    flavour: baremetal
    key_name: laptop
    security_groups: [default, web]
    network: {name: sharednet1}
    lease: {create: {start: now, end: +4h}}
    sites: {uc: {availability_zone: nova}}
sites:
  uc: {roles: {server: 1, client: 1}}
";
    let plan = provider(Default::default()).plan(&scenario(text)).unwrap();
    let text = shown(&plan);
    assert_eq!(
        text.matches("POST {network}").count(),
        1,
        "nothing is made on Neutron but the floating IP: {text}"
    );
    insta::assert_snapshot!("plan-lease", text);
}
