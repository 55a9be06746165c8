//! The provider seam: a provider's name is looked up among the kinds the program registers, its
//! options are checked by its kind with located errors (in the scenario, or in a file the options
//! name), and a kind whose options define the hosts defines the sites.
//!
//! `demo` is a kind of this test: `provider: {demo: {hosts: {SITE: {ROLE: COUNT}}}}`, or
//! `hosts: FILE` holding that mapping; `fail: …` is always an error.

use std::path::Path;

use enos_scenario::{
    CheckedOptions, OptionsContext, ProviderKind, RoleCount, Scenario, ScenarioError, Site,
    UncheckedKind, describe,
};
use serde_json::{Value, json};

struct Demo;

impl ProviderKind for Demo {
    fn name(&self) -> &'static str {
        "demo"
    }

    fn options_schema(&self) -> Value {
        json!({"type": "object", "properties": {"hosts": {}}})
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        if ctx.is_written("provider.demo.fail") {
            ctx.value_error("provider.demo.fail", "this option always fails");
        }
        let sites = match options.get("hosts") {
            Some(Value::String(file)) => ctx
                .read_side_file(
                    "provider.demo.hosts",
                    file,
                    "a mapping of sites",
                    |value, ctx| sites(value, "", ctx),
                )
                .unwrap_or_default(),
            Some(value) => sites(value, "provider.demo.hosts.", ctx),
            None => {
                ctx.missing(
                    "provider.demo.hosts",
                    "provider.demo",
                    "the hosts",
                    "hosts: {paris: {web: 1}}",
                );
                Vec::new()
            }
        };
        CheckedOptions {
            options: options.clone(),
            sites: Some(sites),
        }
    }

    fn check_sites(&self, _: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        if sites.len() > 2 {
            ctx.key_error(
                &format!("sites.{}", sites[2].name),
                "the demo provider holds two sites",
            );
        }
    }
}

/// `{SITE: {ROLE: COUNT}}` at `base` (a key path prefix ending with a dot, or empty).
fn sites(value: &Value, base: &str, ctx: &mut OptionsContext<'_>) -> Vec<Site> {
    let mut sites = Vec::new();
    for (site, roles) in value.as_object().into_iter().flatten() {
        let mut counts = Vec::new();
        for (role, count) in roles.as_object().into_iter().flatten() {
            match count.as_u64() {
                Some(n) => counts.push(RoleCount {
                    role: role.clone(),
                    count: n as u32,
                    names: (1..=n).map(|i| format!("{site}{i}")).collect(),
                }),
                None => ctx.value_error(
                    &format!("{base}{site}.{role}"),
                    format!("expected a number of hosts, found {}", describe(count)),
                ),
            }
        }
        sites.push(Site {
            name: site.clone(),
            roles: counts,
        });
    }
    sites
}

const KINDS: &[&dyn ProviderKind] = &[&UncheckedKind("local"), &Demo];

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
fn a_provider_is_one_of_the_registered_kinds() {
    let sites = "sites: {a: {roles: {x: 1}}}\n";
    let error = parse(&format!("name: q\nprovider: aws\n{sites}")).unwrap_err();
    assert_eq!(
        located(&error),
        ["s.yaml:2:11: provider: unknown provider 'aws', expected one of local, demo"]
    );
    let error = parse(&format!("name: q\nprovider: {{g5k: {{}}}}\n{sites}")).unwrap_err();
    assert_eq!(
        located(&error),
        [
            "s.yaml:2:12: provider.g5k: provider 'g5k' is not built yet; this version has \
             `local` and `demo`"
        ]
    );
    let error = enos_scenario::parse(&format!("name: q\nprovider: aws\n{sites}"), "s.yaml", &[])
        .unwrap_err();
    assert_eq!(
        located(&error),
        ["s.yaml:2:11: provider: unknown provider 'aws'; this program has none"]
    );
    // The schema offers each kind, by name or with its options.
    let schema = enos_scenario::json_schema(KINDS);
    let choices = &schema["properties"]["provider"]["oneOf"];
    assert_eq!(choices[1], json!({"const": "demo"}));
    assert_eq!(
        choices[3]["properties"]["demo"],
        json!({"type": "object", "properties": {"hosts": {}}})
    );
}

#[test]
fn options_errors_are_located_in_the_scenario() {
    let error = parse("name: q\nprovider:\n  demo:\n    fail: 1\n    hosts: {paris: {web: two}}\n")
        .unwrap_err();
    assert_eq!(
        located(&error),
        [
            "s.yaml:4:11: provider.demo.fail: this option always fails",
            "s.yaml:5:26: provider.demo.hosts.paris.web: expected a number of hosts, found 'two'",
        ]
    );
    let error = parse("name: q\nprovider: {demo: {}}\n").unwrap_err();
    assert_eq!(
        located(&error),
        [
            "s.yaml:2:18: provider.demo.hosts: missing key `hosts`: the hosts (e.g. `hosts: \
             {paris: {web: 1}}`)"
        ]
    );
}

#[test]
fn the_sites_come_from_the_options_when_sites_is_left_out() {
    let s = parse("name: q\nprovider: {demo: {hosts: {paris: {web: 2}, lyon: {db: 1}}}}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let hosts: Vec<_> = s
        .hosts()
        .into_iter()
        .map(|h| (h.name, h.site, h.role, h.index))
        .collect();
    assert_eq!(
        hosts,
        [
            ("paris1".into(), "paris".into(), "web".into(), 1),
            ("paris2".into(), "paris".into(), "web".into(), 2),
            ("lyon1".into(), "lyon".into(), "db".into(), 1),
        ]
    );
    // Selectors know the hosts by their names.
    let s = parse(
        "name: q\nprovider: {demo: {hosts: {paris: {web: 2}, lyon: {db: 1}}}}\n\
         network: {constraints: [{src: paris2, dst: lyon, delay: 5ms}]}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.network.constraints[0].src.names.len(), 1);
    // The state keeps the names.
    let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    // The kind checks what it can hold once the sites are known.
    let error = parse("name: q\nprovider: {demo: {hosts: {a: {x: 1}, b: {x: 1}, c: {x: 1}}}}\n")
        .unwrap_err();
    assert_eq!(
        located(&error),
        ["s.yaml:1:1: sites.c: the demo provider holds two sites"]
    );
    // A provider whose options define no hosts still needs `sites:`.
    let error = parse("name: q\nprovider: local\n").unwrap_err();
    assert!(
        located(&error)[0].starts_with("s.yaml:1:1: sites: missing key `sites`"),
        "{error}"
    );
}

#[test]
fn sites_written_beside_the_options_must_agree_with_them() {
    let hosts = "provider: {demo: {hosts: {paris: {web: 2, db: 1}, lyon: {db: 1}}}}\n";
    let s = parse(&format!(
        "name: q\n{hosts}sites:\n  lyon: {{roles: {{db: 1}}}}\n  paris: {{roles: {{web: 2, db: 1}}}}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(names, ["lyon1", "paris1", "paris2", "paris1"]);
    let error = parse(&format!(
        "name: q\n{hosts}sites:\n  paris: {{roles: {{web: 3}}}}\n  rome: {{roles: {{db: 1}}}}\n"
    ))
    .unwrap_err();
    assert_eq!(
        located(&error),
        [
            "s.yaml:3:1: sites: `provider.demo` defines hosts of site 'lyon', which `sites:` \
             does not list",
            "s.yaml:4:11: sites.paris.roles: `provider.demo` defines 1 host of site 'paris' role \
             'db', which `sites:` does not list",
            "s.yaml:4:24: sites.paris.roles.web: `provider.demo` defines 2 hosts of site 'paris' \
             role 'web', `sites:` asks for 3",
            "s.yaml:5:3: sites.rome: `provider.demo` defines no host of site 'rome'",
        ]
    );
}

#[test]
fn a_file_the_options_name_is_read_next_to_the_scenario_with_its_errors_located_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.yaml");
    let hosts = dir.path().join("hosts.yaml");
    let shown = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(
        &scenario,
        "name: q\nprovider: {demo: {hosts: hosts.yaml}}\n",
    )
    .unwrap();

    std::fs::write(&hosts, "paris: {web: 2}\nlyon:\n  db: 1\n").unwrap();
    let s = enos_scenario::load(&scenario, KINDS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.hosts().len(), 3);

    std::fs::write(&hosts, "paris: {web: 2}\nlyon:\n  db: one\n").unwrap();
    let error = enos_scenario::load(&scenario, KINDS).unwrap_err();
    assert_eq!(
        located(&error),
        [format!(
            "{}:3:7: lyon.db: expected a number of hosts, found 'one'",
            shown("hosts.yaml")
        )]
    );
    assert!(
        error.to_string().contains("3 |   db: one\n  |       ^"),
        "{error}"
    );

    // A file that does not parse: an error at the value naming it, then its own.
    std::fs::write(&hosts, "paris: {web: 2\n").unwrap();
    let error = enos_scenario::load(&scenario, KINDS).unwrap_err();
    let all = located(&error);
    assert_eq!(
        all[0],
        format!(
            "{}:2:26: provider.demo.hosts: the file {} has errors (below)",
            shown("s.yaml"),
            shown("hosts.yaml")
        )
    );
    assert!(
        all[1].starts_with(&format!("{}:", shown("hosts.yaml"))),
        "{all:?}"
    );

    // A file that is not there: an error at the value naming it.
    std::fs::remove_file(&hosts).unwrap();
    let error = enos_scenario::load(&scenario, KINDS).unwrap_err();
    let all = located(&error);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].starts_with(&format!(
            "{}:2:26: provider.demo.hosts: cannot read 'hosts.yaml' (relative to the directory \
             of {}): ",
            shown("s.yaml"),
            shown("s.yaml")
        )),
        "{all:?}"
    );
    assert!(Path::new(&shown("s.yaml")).is_file());
}
