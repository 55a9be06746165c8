//! Names: EnOS group ranges (`grp[2-4]`) and EnOS names made into enos-rs names (lowercase
//! letters, digits and single dashes, starting with a letter, of bounded length).

use enos_scenario::check_name;

/// The most names a range may expand to: more sites than any scenario may hold hosts.
pub(crate) const MAX_RANGE: u64 = enos_scenario::MAX_HOSTS;

/// Splits an EnOS range `name[first-last]` into its parts, or `None` when `text` is not one.
pub(crate) fn range_parts(text: &str) -> Option<(&str, u64, u64)> {
    let inner = text.strip_suffix(']')?;
    let (base, bounds) = inner.rsplit_once('[')?;
    let (first, last) = bounds.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if base.is_empty() || !digits(first) || !digits(last) {
        return None;
    }
    // Bounds too large for a number are kept as the largest one: the range is then too long.
    let bound = |s: &str| s.parse().unwrap_or(u64::MAX);
    Some((base, bound(first), bound(last)))
}

/// The names of an EnOS group key, as EnOS expands them: `grp[2-4]` is `grp2`, `grp3` and
/// `grp4`; any other text is itself. Errors say what is wrong with a range.
pub(crate) fn expand(text: &str) -> Result<Vec<String>, String> {
    let Some((base, first, last)) = range_parts(text) else {
        return Ok(vec![text.to_owned()]);
    };
    if last < first {
        return Err(format!(
            "the range [{first}-{last}] is empty: its end comes before its start"
        ));
    }
    if last - first >= MAX_RANGE {
        return Err(format!(
            "the range [{first}-{last}] names more than {MAX_RANGE} groups"
        ));
    }
    Ok((first..=last).map(|n| format!("{base}{n}")).collect())
}

/// What kind of name, for the words of a made-up name and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    Experiment,
    Site,
    Role,
}

impl NameKind {
    fn max(self) -> usize {
        match self {
            NameKind::Experiment => enos_scenario::MAX_NAME_LEN,
            NameKind::Site | NameKind::Role => enos_scenario::MAX_PART_LEN,
        }
    }

    fn word(self) -> &'static str {
        match self {
            NameKind::Experiment => "experiment",
            NameKind::Site => "site",
            NameKind::Role => "role",
        }
    }
}

/// `text` as an enos-rs name of `kind`: lowercased, every other character than a letter or a
/// digit made a dash, dashes collapsed and trimmed, the kind's word put first when it does not
/// start with a letter, cut to the longest name allowed. `text` itself when it already is one.
pub(crate) fn enos_name(text: &str, kind: NameKind) -> String {
    if check_name(text, kind.max()).is_ok() {
        return text.to_owned();
    }
    let mut name = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_end_matches('-').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = if name.is_empty() {
            kind.word().to_owned()
        } else {
            format!("{}-{name}", kind.word())
        };
    }
    name.truncate(kind.max());
    name.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_as_enos_does() {
        assert_eq!(expand("grp[2-4]").unwrap(), ["grp2", "grp3", "grp4"]);
        assert_eq!(expand("grp1").unwrap(), ["grp1"]);
        assert_eq!(expand("grp[1-x]").unwrap(), ["grp[1-x]"]);
        assert!(expand("grp[4-2]").is_err());
        assert!(
            expand("grp[1-99999999999999999999]")
                .unwrap_err()
                .contains("range")
        );
        assert!(expand("grp[0-18446744073709551615]").is_err());
    }

    #[test]
    fn names_are_made_valid() {
        assert_eq!(enos_name("grp1", NameKind::Site), "grp1");
        assert_eq!(enos_name("default_group", NameKind::Site), "default-group");
        assert_eq!(
            enos_name("Nova__Conductor", NameKind::Role),
            "nova-conductor"
        );
        assert_eq!(enos_name("1st", NameKind::Site), "site-1st");
        assert_eq!(enos_name("___", NameKind::Role), "role");
        assert_eq!(enos_name("m1.medium", NameKind::Site), "m1-medium");
        let long = enos_name("a-very-long-group-name-indeed", NameKind::Site);
        assert_eq!(long, "a-very-long-grou");
        assert!(check_name(&enos_name("abcdefghijklmno-x", NameKind::Site), 16).is_ok());
        assert!(check_name(&enos_name("é", NameKind::Experiment), 32).is_ok());
    }
}
