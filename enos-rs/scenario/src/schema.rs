//! The JSON Schema of scenario files, for editors (completion and checks as you type).

use serde_json::{Value, json};

/// The JSON Schema (draft 2020-12) of the scenario format.
pub fn json_schema() -> Value {
    let name = json!({"type": "string", "pattern": "^[a-z]([a-z0-9]|-(?!-))*[a-z0-9]?$"});
    let delay = json!({"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(us|ms|s)$", "examples": ["0ms", "25ms", "250us"]});
    let rate = json!({"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?([kmgt]?bit|[kmg]?bps)$", "examples": ["100mbit", "1gbit"]});
    let loss = json!({"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?%$", "examples": ["0%", "1%", "0.5%"]});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "enos-rs scenario",
        "description": "One experiment: sites, roles and host counts, and the WAN between sites.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "sites"],
        "properties": {
            "name": {"description": "The experiment's name: lowercase letters, digits and dashes, at most 32 characters.", "maxLength": 32, "type": "string", "pattern": name["pattern"]},
            "provider": {
                "description": "Which testbed provides the hosts (default: local).",
                "oneOf": [
                    {"const": "local"},
                    {"type": "object", "properties": {"local": {"type": ["object", "null"], "additionalProperties": false}}, "additionalProperties": false, "minProperties": 1, "maxProperties": 1}
                ]
            },
            "sites": {
                "description": "Sites (EnOS groups), in order; each has roles with a number of hosts.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"maxLength": 16, "pattern": name["pattern"]},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["roles"],
                    "properties": {
                        "roles": {
                            "type": "object",
                            "minProperties": 1,
                            "propertyNames": {"maxLength": 16, "pattern": name["pattern"]},
                            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 4096}
                        }
                    }
                }
            },
            "network": {
                "description": "WAN constraints with EnOS semantics; values are one-way.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "default_delay": delay,
                    "default_rate": rate,
                    "default_loss": loss,
                    "constraints": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["src", "dst"],
                            "properties": {
                                "src": {"type": "string", "description": "Source site."},
                                "dst": {"type": "string", "description": "Destination site."},
                                "delay": delay, "rate": rate, "loss": loss,
                                "symmetric": {"type": "boolean", "default": false}
                            }
                        }
                    }
                }
            }
        }
    })
}
