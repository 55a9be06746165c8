//! The JSON Schema of scenario files, for editors (completion and checks as you type).
//!
//! It describes the file format, not the serde shape of [`crate::Scenario`]: in a file, sites
//! and roles are mappings, quantities are strings with units and the provider is a name or a
//! one-key mapping. So it is written out here rather than derived from the model types. It
//! checks what a schema can (keys, types, name patterns, units, host counts); `enos validate`
//! checks the rest (zero rates, loss over 100%, unknown sites, colliding host names).

use serde_json::{Value, json};

use crate::provider::{DEFAULT_PROVIDER, ProviderKind};

/// A name: lowercase letters, digits and single dashes, starting with a letter, not ending
/// with a dash.
const NAME: &str = "^[a-z](-?[a-z0-9])*$";
const NUMBER: &str = "[0-9]+(\\.[0-9]+)?";
/// The JSON Schema (draft 2020-12) of the scenario format, with the options of the provider
/// kinds `kinds` under `provider`.
pub fn json_schema(kinds: &[&dyn ProviderKind]) -> Value {
    let part_name = |what: &str| {
        json!({
            "type": "string",
            "pattern": NAME,
            "maxLength": crate::MAX_PART_LEN,
            "description": format!(
                "A {what} name: lowercase letters, digits and dashes, starting with a letter, at \
                 most {} characters.",
                crate::MAX_PART_LEN
            ),
        })
    };
    let selector = json!({
        "type": "string",
        "description": "A site, a role or a host (paris, server, paris-server-1), or an EnOS \
                        range of them (paris-server-[1-3]).",
        "pattern": "^[a-z0-9-]+(\\[[0-9]+-[0-9]+\\])?$",
    });
    let delay = json!({
        "type": "string",
        "pattern": format!("^{NUMBER}(us|ms|s)$"),
        "description": "A one-way delay with its unit: us, ms or s. Zero is allowed.",
        "examples": ["0ms", "25ms", "1.5ms", "250us"],
    });
    let rate = json!({
        "type": "string",
        "pattern": format!("^{NUMBER}(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps)$"),
        "description": "A rate: bit, kbit, mbit, gbit, tbit are bits per second; bps, kbps, \
                        mbps, gbps are bytes per second, as in tc. Greater than zero.",
        "examples": ["100mbit", "1gbit", "10gbit"],
    });
    let loss = json!({
        "type": "string",
        "pattern": format!("^{NUMBER}%$"),
        "description": "A loss rate in percent, from 0% to 100%.",
        "examples": ["0%", "1%", "0.5%"],
    });
    let deploy = deploy_schema(&selector);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "enos-rs scenario",
        "description": "One experiment: sites, their roles and host counts, the WAN between \
                        sites, and what to deploy on the hosts.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": NAME,
                "maxLength": crate::MAX_NAME_LEN,
                "description": format!(
                    "The experiment's name: lowercase letters, digits and dashes, starting with \
                     a letter, at most {} characters. It is used in host names and paths.",
                    crate::MAX_NAME_LEN
                ),
            },
            "provider": provider_schema(kinds),
            "sites": {
                "description": "The sites (EnOS groups), in order; each has roles with a number \
                                of hosts. Hosts are named {site}-{role}-{n}. Required, unless \
                                the provider's options define the hosts (`static`).",
                "type": "object",
                "minProperties": 1,
                "propertyNames": part_name("site"),
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["roles"],
                    "properties": {
                        "roles": {
                            "description": "Role name -> number of hosts, in order.",
                            "type": "object",
                            "minProperties": 1,
                            "propertyNames": part_name("role"),
                            "additionalProperties": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": crate::MAX_HOSTS,
                            }
                        }
                    }
                }
            },
            "network": {
                "description": "WAN emulation with EnOS network_constraints semantics; values \
                                are one-way.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "default_delay": {"default": "0ms", "allOf": [delay.clone()]},
                    "default_jitter": {"default": "0ms", "allOf": [delay.clone()]},
                    "default_rate": {"default": "10gbit", "allOf": [rate.clone()]},
                    "default_loss": {"default": "0%", "allOf": [loss.clone()]},
                    "groups": {
                        "type": ["array", "null"],
                        "description": "The hosts between which the defaults apply (default: \
                                        every host): sites, roles, hosts or ranges.",
                        "items": selector.clone(),
                    },
                    "except": {
                        "type": ["array", "null"],
                        "description": "Hosts the defaults do not apply to.",
                        "items": selector.clone(),
                    },
                    "constraints": {
                        "type": ["array", "null"],
                        "description": "Constraints between sets of hosts; where several set \
                                        the same direction, the last one wins.",
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["src", "dst"],
                            "properties": {
                                "src": selector.clone(),
                                "dst": selector,
                                "delay": delay.clone(),
                                "jitter": delay,
                                "rate": rate,
                                "loss": loss,
                                "symmetric": {
                                    "type": "boolean",
                                    "default": false,
                                    "description": "Also apply the constraint from dst to src \
                                                    (`symetric`, EnOS's spelling, is read too).",
                                },
                                "symetric": {"type": "boolean"}
                            }
                        }
                    }
                }
            },
            "vars": {
                "description": "The scenario's variables, `vars.<name>` in the templates of its \
                                steps.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
            },
            "deploy": deploy,
            "bench": crate::bench::json_schema(&selector),
            "metrics": crate::metrics::json_schema(),
            "sweep": {
                "description": "Keys of the scenario (paths as messages write them: \
                                `network.constraints[0].delay`) whose values vary from run to \
                                run: `enos run` runs every combination, resuming where it stopped.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "array", "minItems": 1},
            },
        }
    })
}

/// The `provider:` section: one of `kinds`, by name or as a one-key mapping of its options.
fn provider_schema(kinds: &[&dyn ProviderKind]) -> Value {
    let names: Vec<String> = kinds.iter().map(|k| format!("`{}`", k.name())).collect();
    let mut choices: Vec<Value> = kinds.iter().map(|k| json!({"const": k.name()})).collect();
    choices.extend(kinds.iter().map(|k| {
        json!({
            "type": "object",
            "required": [k.name()],
            "additionalProperties": false,
            "properties": {k.name(): k.options_schema()},
        })
    }));
    json!({
        "description": format!(
            "The testbed that provides the hosts: {} (`{DEFAULT_PROVIDER}` when absent), by \
             name or as `{{name: {{options}}}}`.",
            names.join(", ")
        ),
        "default": DEFAULT_PROVIDER,
        "oneOf": choices,
    })
}

/// The `deploy:` section: a list of steps, each doing one thing (see docs/deploy.md).
fn deploy_schema(selector: &Value) -> Value {
    let text = json!({"type": "string", "description": "A minijinja template, rendered per host."});
    let names = |what: &str| {
        json!({
            "type": "array",
            "items": {"type": "string"},
            "description": format!("Only the hosts of these {what}."),
        })
    };
    let file = |extra: Value| {
        let mut properties = json!({
            "dest": {"type": "string", "description": "The absolute path on the host."},
            "mode": {
                "type": "string",
                "pattern": "^[0-7]{3,4}$",
                "description": "Permission bits in octal, quoted (\"0644\").",
            },
            "owner": {"type": "string"},
            "group": {"type": "string"},
        });
        if let (Some(p), Some(e)) = (properties.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        json!({"type": "object", "additionalProperties": false, "required": ["dest"], "properties": properties})
    };
    let ready = json!({
        "type": "object",
        "additionalProperties": false,
        "description": "One check: a TCP port, an HTTP status, or a command that succeeds.",
        "properties": {
            "tcp": {"type": ["integer", "string"], "description": "A port of the host's address, or address:port."},
            "http": {"type": "string", "description": "A URL to GET."},
            "status": {"type": "integer", "default": 200},
            "command": {"type": "string"},
        }
    });
    let env = json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}});
    let kinds = [
        "packages", "template", "copy", "run", "service", "wait", "fetch", "stack",
    ];
    json!({
        "description": "What to install and run on the hosts, in order: steps and stacks.",
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "additionalProperties": false,
            "anyOf": kinds.iter().map(|k| json!({"required": [k]})).collect::<Vec<_>>(),
            "properties": {
                "name": {"type": "string", "description": "The step's name, for reports and `watch`."},
                "packages": {"type": "array", "items": text.clone(), "description": "Distribution packages (apt), `name` or `name=version`."},
                "template": file(json!({"src": {"type": "string"}, "content": text.clone()})),
                "copy": file(json!({"src": {"type": "string", "description": "A file or directory next to the scenario."}})),
                "run": {"type": "string", "description": "A command line, run by sh."},
                "creates": {"type": "string", "description": "`run` is skipped when this path exists."},
                "unless": {"type": "string", "description": "`run` is skipped when this command succeeds."},
                "chdir": {"type": "string"},
                "env": env.clone(),
                "service": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "command"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9_-][a-z0-9_.-]*$"},
                        "command": {"type": "string", "description": "Runs in the foreground."},
                        "ready": ready.clone(),
                        "chdir": {"type": "string"},
                        "env": env,
                        "user": {"type": "string"},
                        "watch": {"type": "array", "items": {"type": "string"}, "description": "Earlier steps whose changes restart the service."},
                    }
                },
                "wait": ready,
                "fetch": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["src"],
                    "properties": {"src": {"type": "string"}, "dest": {"type": "string", "description": "Relative to the results directory."}},
                },
                "stack": {"type": "string", "description": "A built-in stack (keystone, etcd, nginx, k3s, openstack) or the directory of one."},
                "vars": {"type": "object", "description": "The stack's variables."},
                "roles": names("roles"),
                "sites": names("sites"),
                "hosts": {"type": "array", "items": selector.clone(), "description": "Only these hosts."},
                "when": {"type": ["string", "boolean"], "description": "An expression evaluated per host, without {{ }}."},
                "run_once": {"type": "boolean", "default": false},
                "throttle": {"type": "integer", "minimum": 1},
                "on_failure": {
                    "default": "fail",
                    "oneOf": [
                        {"enum": ["fail", "continue"]},
                        {"type": "object", "additionalProperties": false, "required": ["min"], "properties": {"min": {"type": "integer", "minimum": 1}}}
                    ]
                },
                "timeout": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$", "examples": ["90s", "10m"]},
            }
        }
    })
}
