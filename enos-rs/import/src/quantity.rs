//! EnOS delays, rates and losses written as enos-rs writes them.
//!
//! EnOS hands them to tc as written, so they are tc's spellings: `25ms`, `10msec`, `1Gbit`,
//! `0.1%`, and a loss may be a bare number (`default_loss: 0`, which tc reads as a
//! percentage). enos-rs wants lowercase units right after the number, and a `%` on losses; the
//! value is then checked by enos-rs's own parser so that the scenario written is one it reads.

use std::str::FromStr;

use enos_scenario::{Delay, LossRate, Rate};

use crate::yaml::{Node, Value};

/// Which quantity a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantity {
    Delay,
    Rate,
    Loss,
}

impl Quantity {
    fn example(self) -> &'static str {
        match self {
            Quantity::Delay => "a delay such as 25ms",
            Quantity::Rate => "a rate such as 100mbit",
            Quantity::Loss => "a loss such as 0.1%",
        }
    }
}

/// The value of `node` as enos-rs writes it; `None` for a loss written as nothing (EnOSlib
/// then sets no loss). The error says what was expected.
pub(crate) fn convert(node: &Node, kind: Quantity) -> Result<Option<String>, String> {
    let text = match &node.value {
        Value::Null if kind == Quantity::Loss => return Ok(None),
        Value::Scalar { text, .. } => text.trim(),
        _ => {
            return Err(format!(
                "expected {}, found {}",
                kind.example(),
                node.describe()
            ));
        }
    };
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let unit = unit.trim_start().to_ascii_lowercase();
    let zero = !number.is_empty() && number.chars().all(|c| c == '0' || c == '.');
    let unit = match (kind, unit.as_str()) {
        (Quantity::Delay, "ms" | "msec" | "msecs") => "ms",
        (Quantity::Delay, "us" | "usec" | "usecs") => "us",
        (Quantity::Delay, "s" | "sec" | "secs") => "s",
        (Quantity::Delay, "") if zero => "ms",
        (Quantity::Delay, "") => {
            return Err(format!(
                "{}: a delay needs its unit (ms, us or s), e.g. 25ms",
                crate::yaml::quote(text)
            ));
        }
        (Quantity::Rate, "") => {
            return Err(format!(
                "{}: a rate needs its unit (kbit, mbit, gbit…), e.g. 100mbit",
                crate::yaml::quote(text)
            ));
        }
        (Quantity::Rate, unit) => unit,
        (Quantity::Loss, "%" | "") => "%",
        (_, unit) => unit,
    };
    let written = format!("{number}{unit}");
    let checked = match kind {
        Quantity::Delay => Delay::from_str(&written).map(|_| ()),
        Quantity::Rate => Rate::from_str(&written).map(|_| ()),
        Quantity::Loss => LossRate::from_str(&written).map(|_| ()),
    };
    match checked {
        Ok(()) => Ok(Some(written)),
        Err(why) => Err(format!(
            "expected {}, found {}: {why}",
            kind.example(),
            node.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Pos;

    fn scalar(text: &str, plain: bool) -> Node {
        Node {
            at: Pos::START,
            value: Value::Scalar {
                text: text.to_owned(),
                plain,
            },
        }
    }

    fn ok(text: &str, kind: Quantity) -> String {
        convert(&scalar(text, true), kind).unwrap().unwrap()
    }

    #[test]
    fn tc_spellings_become_enos_rs_ones() {
        assert_eq!(ok("25ms", Quantity::Delay), "25ms");
        assert_eq!(ok("10 msec", Quantity::Delay), "10ms");
        assert_eq!(ok("1.5MS", Quantity::Delay), "1.5ms");
        assert_eq!(ok("0", Quantity::Delay), "0ms");
        assert_eq!(ok("1Gbit", Quantity::Rate), "1gbit");
        assert_eq!(ok("100mbit", Quantity::Rate), "100mbit");
        assert_eq!(ok("0", Quantity::Loss), "0%");
        assert_eq!(ok("0.1%", Quantity::Loss), "0.1%");
        assert_eq!(ok("0.1 %", Quantity::Loss), "0.1%");
        let null = Node {
            at: Pos::START,
            value: Value::Null,
        };
        assert_eq!(convert(&null, Quantity::Loss).unwrap(), None);
    }

    #[test]
    fn what_enos_rs_cannot_read_is_refused() {
        let err = |text: &str, kind| convert(&scalar(text, true), kind).unwrap_err();
        assert!(err("25", Quantity::Delay).contains("needs its unit"));
        assert!(err("100", Quantity::Rate).contains("needs its unit"));
        assert!(err("2h", Quantity::Delay).contains("unknown unit"));
        assert!(err("150%", Quantity::Loss).contains("at most 100%"));
        assert!(err("0mbit", Quantity::Rate).contains("greater than zero"));
        assert!(err("fast", Quantity::Rate).contains("expected a rate"));
        assert!(err("-5ms", Quantity::Delay).contains("expected a delay"));
    }
}
