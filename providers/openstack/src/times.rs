//! The times of a Blazar lease: `now`, UTC dates as Blazar writes them (`YYYY-MM-DD HH:MM`),
//! and lengths after the start (`+4h`).

use jiff::{SignedDuration, Timestamp, civil::DateTime, tz::TimeZone};

use crate::model::LeaseRequest;

/// Blazar's date format (UTC).
const BLAZAR_DATE: &str = "%Y-%m-%d %H:%M";

/// The longest lease this provider asks for: a year.
const MAX_LEASE_HOURS: i64 = 366 * 24;

/// A UTC time written `YYYY-MM-DD HH:MM`.
pub(crate) fn parse_date(text: &str) -> Result<Timestamp, String> {
    let civil = DateTime::strptime(BLAZAR_DATE, text.trim()).map_err(|_| {
        format!("'{text}' is not a UTC time `YYYY-MM-DD HH:MM` (e.g. `2026-05-01 09:00`)")
    })?;
    civil
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| format!("'{text}': {e}"))
}

/// A length after the start: `+` then numbers with units `m`, `h` or `d` (`+4h`, `+1d12h`,
/// `+90m`), more than zero and at most a year.
pub(crate) fn parse_after(text: &str) -> Result<SignedDuration, String> {
    let bad = || {
        format!(
            "'{text}' is not a length after the start: expected `+` then numbers with `m`, `h` \
             or `d` (e.g. `+4h`, `+1d12h`, `+90m`)"
        )
    };
    let rest = text.trim().strip_prefix('+').ok_or_else(bad)?;
    let mut minutes: i64 = 0;
    let mut digits = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'm' => 1,
            'h' => 60,
            'd' => 24 * 60,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        minutes = n
            .checked_mul(unit)
            .and_then(|m| minutes.checked_add(m))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || rest.is_empty() {
        return Err(bad());
    }
    if minutes == 0 {
        return Err(format!(
            "'{text}': the lease must last more than zero minutes"
        ));
    }
    if minutes > MAX_LEASE_HOURS * 60 {
        return Err(format!("'{text}': a lease of more than a year is refused"));
    }
    Ok(SignedDuration::from_mins(minutes))
}

/// Checks a lease's start and end as written; the error names the key (`start` or `end`).
pub(crate) fn check_window(start: &str, end: &str) -> Result<(), (&'static str, String)> {
    let start_time = if start.trim() == "now" {
        None
    } else {
        Some(parse_date(start).map_err(|e| ("start", e))?)
    };
    if end.trim_start().starts_with('+') {
        parse_after(end).map_err(|e| ("end", e))?;
    } else {
        let end_time = parse_date(end).map_err(|e| ("end", e))?;
        if let Some(start_time) = start_time
            && end_time <= start_time
        {
            return Err(("end", format!("'{end}' is not after the start ('{start}')")));
        }
    }
    Ok(())
}

/// The lease's start and end as Blazar takes them (`now` or a UTC date), and the start as a
/// time, for a lease asked for at `now`.
pub(crate) fn window(
    request: &LeaseRequest,
    now: Timestamp,
) -> Result<(String, String, Timestamp), String> {
    let (start_text, start) = if request.start.trim() == "now" {
        ("now".to_owned(), now)
    } else {
        let start = parse_date(&request.start)?;
        (format_date(start), start)
    };
    let end = if request.end.trim_start().starts_with('+') {
        start
            .checked_add(parse_after(&request.end)?)
            .map_err(|e| format!("the lease's end: {e}"))?
    } else {
        parse_date(&request.end)?
    };
    if end <= start {
        return Err(format!(
            "the lease would end ({}) before it starts ({})",
            format_date(end),
            format_date(start)
        ));
    }
    Ok((start_text, format_date(end), start))
}

/// `time` as Blazar writes dates, in UTC.
pub(crate) fn format_date(time: Timestamp) -> String {
    time.to_zoned(TimeZone::UTC)
        .strftime(BLAZAR_DATE)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_after_the_start() {
        assert_eq!(parse_after("+4h"), Ok(SignedDuration::from_hours(4)));
        assert_eq!(parse_after("+1d12h"), Ok(SignedDuration::from_hours(36)));
        assert_eq!(parse_after("+90m"), Ok(SignedDuration::from_mins(90)));
        for bad in [
            "4h",
            "+",
            "+4",
            "+4x",
            "+h",
            "+0m",
            "+400d",
            "+99999999999999999d",
        ] {
            assert!(parse_after(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_resolve_against_now() {
        let now = parse_date("2026-05-01 09:00").unwrap_or_else(|e| panic!("{e}"));
        let request = LeaseRequest {
            start: "now".into(),
            end: "+4h".into(),
            resource_properties: None,
        };
        assert_eq!(
            window(&request, now),
            Ok(("now".into(), "2026-05-01 13:00".into(), now))
        );
        let request = LeaseRequest {
            start: "2026-06-01 10:00".into(),
            end: "+1d".into(),
            resource_properties: None,
        };
        let (start, end, _) = window(&request, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (start.as_str(), end.as_str()),
            ("2026-06-01 10:00", "2026-06-02 10:00")
        );
        assert!(check_window("2026-06-01 10:00", "2026-06-01 09:00").is_err());
        assert!(check_window("tomorrow", "+1h").is_err());
        assert_eq!(check_window("now", "2026-06-01 09:00"), Ok(()));
    }
}
