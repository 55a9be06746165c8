//! Quantities of the network section: one-way delays, rates and loss rates, written as in tc.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A one-way delay, e.g. `25ms`, `1.5ms`, `250us`, `1s`. Zero is allowed, negative is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Delay(pub Duration);

/// A rate in bits per second, e.g. `100mbit`, `1gbit`; `kbps`/`mbps`/`gbps` are bytes per second,
/// as in tc. Always greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

/// A loss rate as a percentage from 0 to 100, e.g. `0.5%`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct LossRate(f64);

impl LossRate {
    /// The loss rate of `percent` percent, if it lies between 0 and 100.
    pub fn from_percent(percent: f64) -> Option<Self> {
        (0.0..=100.0)
            .contains(&percent)
            .then_some(LossRate(percent))
    }

    /// The loss rate as a percentage (0 to 100).
    pub fn percent(self) -> f64 {
        self.0
    }

    /// The loss rate as a fraction (0 to 1).
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

/// Says which unit was meant when `unit` is a known one in the wrong case (`Mbit`, `MS`).
fn unknown_unit(unit: &str, known: &[&str]) -> String {
    let lower = unit.to_ascii_lowercase();
    if known.contains(&lower.as_str()) {
        format!("unknown unit '{unit}': units are lowercase, write '{lower}'")
    } else {
        format!(
            "unknown unit '{unit}', expected one of {}",
            known.join(", ")
        )
    }
}

/// Splits `text` into a non-negative decimal number (`25`, `1.5`) and the unit right after it.
fn number_and_unit(text: &str) -> Result<(f64, &str), String> {
    if text.starts_with('-') {
        return Err("must not be negative".to_owned());
    }
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    if number.is_empty() {
        return Err("must start with a number".to_owned());
    }
    let well_formed = match number.split_once('.') {
        None => true,
        Some((whole, fraction)) => {
            !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.')
        }
    };
    if !well_formed {
        return Err(format!("'{number}' is not a number such as 25 or 1.5"));
    }
    if unit.starts_with(char::is_whitespace) {
        return Err("no space may separate the number from its unit".to_owned());
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{number}' is not a number"))?;
    Ok((value, unit))
}

impl FromStr for Delay {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (value, unit) = number_and_unit(text)?;
        let micros = match unit {
            "us" => value,
            "ms" => value * 1e3,
            "s" => value * 1e6,
            "" => return Err("a unit is required: us, ms or s (e.g. 25ms)".to_owned()),
            other => return Err(unknown_unit(other, &["us", "ms", "s"])),
        };
        if micros > 3600e6 {
            return Err("must be at most one hour (3600s)".to_owned());
        }
        Ok(Delay(Duration::from_nanos((micros * 1e3).round() as u64)))
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos.is_multiple_of(1_000_000) {
            write!(f, "{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            write!(f, "{}us", nanos / 1_000)
        } else {
            write!(f, "{}us", nanos as f64 / 1e3)
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (value, unit) = number_and_unit(text)?;
        const UNITS: [&str; 9] = [
            "bit", "kbit", "mbit", "gbit", "tbit", "bps", "kbps", "mbps", "gbps",
        ];
        let bits_per_second = match unit {
            "bit" => value,
            "kbit" => value * 1e3,
            "mbit" => value * 1e6,
            "gbit" => value * 1e9,
            "tbit" => value * 1e12,
            "bps" => value * 8.0,
            "kbps" => value * 8e3,
            "mbps" => value * 8e6,
            "gbps" => value * 8e9,
            "" => {
                return Err(
                    "a unit is required: bit, kbit, mbit, gbit, tbit (bits per second) or bps, \
                     kbps, mbps, gbps (bytes per second)"
                        .to_owned(),
                );
            }
            other => return Err(unknown_unit(other, &UNITS)),
        };
        if bits_per_second == 0.0 {
            return Err("must be greater than zero".to_owned());
        }
        if bits_per_second < 1.0 {
            return Err("must be at least 1bit".to_owned());
        }
        if bits_per_second > 1e15 {
            return Err("must be at most 1000tbit".to_owned());
        }
        Ok(Rate(bits_per_second.round() as u64))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, scale) in [
            ("gbit", 1_000_000_000),
            ("mbit", 1_000_000),
            ("kbit", 1_000),
        ] {
            if b >= scale && b.is_multiple_of(scale) {
                return write!(f, "{}{unit}", b / scale);
            }
        }
        write!(f, "{b}bit")
    }
}

impl FromStr for LossRate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (value, unit) = number_and_unit(text)?;
        match unit {
            "%" => {}
            "" => return Err("a '%' is required (e.g. 1%)".to_owned()),
            other => {
                return Err(format!(
                    "unknown unit {}, expected a percentage such as 1%",
                    crate::check::quote(other)
                ));
            }
        }
        if value > 100.0 {
            return Err("must be at most 100%".to_owned());
        }
        Ok(LossRate(value))
    }
}

impl fmt::Display for LossRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A length of time written with a unit (`ms`, `s`, `m` or `h`), in milliseconds; `example`
/// shows the form in the message when the unit is missing.
fn time_millis(text: &str, example: &str) -> Result<f64, String> {
    let (value, unit) = number_and_unit(text)?;
    match unit {
        "ms" => Ok(value),
        "s" => Ok(value * 1e3),
        "m" => Ok(value * 60e3),
        "h" => Ok(value * 3600e3),
        "" => Err(format!(
            "a unit is required: ms, s, m or h (e.g. {example})"
        )),
        other => Err(unknown_unit(other, &["ms", "s", "m", "h"])),
    }
}

/// How long a deploy step may take on one host, e.g. `90s`, `10m`, `1h`, `500ms`; from 1ms to
/// one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout(pub Duration);

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let millis = time_millis(text, "90s")?;
        if millis < 1.0 {
            return Err("must be at least 1ms".to_owned());
        }
        if millis > 86_400e3 {
            return Err("must be at most one day (24h)".to_owned());
        }
        Ok(Timeout(Duration::from_millis(millis.round() as u64)))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        for (unit, scale) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if millis >= scale && millis.is_multiple_of(scale) {
                return write!(f, "{}{unit}", millis / scale);
            }
        }
        write!(f, "{millis}ms")
    }
}

/// A length of time in a benchmark (a workload's duration or warm-up, when an event happens),
/// e.g. `30s`, `2m`, `500ms`, `1h`; from zero to one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let millis = time_millis(text, "30s")?;
        if millis > 86_400e3 {
            return Err("must be at most one day (24h)".to_owned());
        }
        Ok(Span(Duration::from_millis(millis.round() as u64)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Timeout(self.0), f)
    }
}

macro_rules! string_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_serde!(Delay);
string_serde!(Rate);
string_serde!(LossRate);
string_serde!(Timeout);
string_serde!(Span);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        for (text, canonical) in [
            ("0s", "0ms"),
            ("30s", "30s"),
            ("1.5s", "1500ms"),
            ("2m", "2m"),
        ] {
            let s: Span = text.parse().unwrap();
            assert_eq!(s.to_string(), canonical);
            assert_eq!(canonical.parse::<Span>().unwrap(), s);
        }
        for bad in ["30", "30S", "-1s", "25h", "1 s"] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
    }

    #[test]
    fn timeouts() {
        let t = |text: &str| text.parse::<Timeout>().map(|t| t.0);
        assert_eq!(t("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(t("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(t("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(t("250ms"), Ok(Duration::from_millis(250)));
        assert!(t("0s").unwrap_err().contains("at least 1ms"));
        assert!(t("25h").unwrap_err().contains("at most one day"));
        assert!(t("10").unwrap_err().contains("a unit is required"));
        assert!(t("10M").unwrap_err().contains("write 'm'"));
        for text in ["90s", "10m", "2h", "250ms", "1500ms"] {
            assert_eq!(text.parse::<Timeout>().unwrap().to_string(), text);
        }
        assert_eq!("120s".parse::<Timeout>().unwrap().to_string(), "2m");
    }

    #[test]
    fn delays() {
        assert_eq!(
            "25ms".parse::<Delay>().unwrap().0,
            Duration::from_millis(25)
        );
        assert_eq!(
            "1.5ms".parse::<Delay>().unwrap().0,
            Duration::from_micros(1500)
        );
        assert_eq!("250us".parse::<Delay>().unwrap().to_string(), "250us");
        assert_eq!("1s".parse::<Delay>().unwrap().to_string(), "1000ms");
        assert_eq!("0ms".parse::<Delay>().unwrap(), Delay::default());
        assert!("-5ms".parse::<Delay>().unwrap_err().contains("negative"));
        assert!(
            "10".parse::<Delay>()
                .unwrap_err()
                .contains("unit is required")
        );
        assert!("10MS".parse::<Delay>().unwrap_err().contains("write 'ms'"));
        assert!(
            "10parsecs"
                .parse::<Delay>()
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!("10 ms".parse::<Delay>().unwrap_err().contains("no space"));
        assert!(".5ms".parse::<Delay>().is_err());
        assert!("5.ms".parse::<Delay>().is_err());
    }

    #[test]
    fn rates() {
        assert_eq!("100mbit".parse::<Rate>().unwrap(), Rate(100_000_000));
        assert_eq!("1mbps".parse::<Rate>().unwrap(), Rate(8_000_000));
        assert_eq!(Rate(10_000_000_000).to_string(), "10gbit");
        assert!(
            "0mbit"
                .parse::<Rate>()
                .unwrap_err()
                .contains("greater than zero")
        );
        assert!("fast".parse::<Rate>().is_err());
        assert!(
            "1Gbit"
                .parse::<Rate>()
                .unwrap_err()
                .contains("write 'gbit'")
        );
        assert!(
            "0.5bit"
                .parse::<Rate>()
                .unwrap_err()
                .contains("at least 1bit")
        );
    }

    #[test]
    fn losses() {
        assert_eq!("0.5%".parse::<LossRate>().unwrap().percent(), 0.5);
        assert_eq!("100%".parse::<LossRate>().unwrap().fraction(), 1.0);
        assert!(
            "150%"
                .parse::<LossRate>()
                .unwrap_err()
                .contains("at most 100%")
        );
        assert!("5".parse::<LossRate>().unwrap_err().contains("'%'"));
        assert_eq!(
            LossRate::from_percent(2.5).map(|l| l.to_string()),
            Some("2.5%".into())
        );
        assert_eq!(LossRate::from_percent(101.0), None);
    }
}
