//! Arbitrary input never panics: mutated fixtures, random bytes and YAML punctuation are
//! either imported or refused with a located error.

use crate::common::{fixture, tests_dir, try_parse};

/// Characters that matter to YAML, and some that do not belong in it.
const SPICE: [&str; 24] = [
    ":", "-", "[", "]", "{", "}", "'", "\"", "&a", "*a", "!", "\t", "\n", "#", " ", "|", ">", "%",
    "@", "`", "\0", "é", "<<: ", "?",
];

/// One random change to `text`.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.usize(..=chars.len());
    let mut out: String;
    match rng.u8(..6) {
        0 => {
            // Delete a run of characters.
            let end = (at + rng.usize(1..8)).min(chars.len());
            out = chars[..at].iter().chain(&chars[end..]).collect();
        }
        1 => {
            // Insert YAML punctuation.
            out = chars[..at].iter().collect();
            out.push_str(SPICE[rng.usize(..SPICE.len())]);
            out.extend(&chars[at..]);
        }
        2 => {
            // Duplicate a line.
            let lines: Vec<&str> = text.lines().collect();
            let i = rng.usize(..lines.len().max(1));
            let mut lines = lines.clone();
            if let Some(line) = lines.get(i).copied() {
                lines.insert(i, line);
            }
            out = lines.join("\n");
        }
        3 => {
            // Swap two lines.
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.len() > 1 {
                let (a, b) = (rng.usize(..lines.len()), rng.usize(..lines.len()));
                lines.swap(a, b);
            }
            out = lines.join("\n");
        }
        4 => {
            // Cut the file short.
            out = chars[..at].iter().collect();
        }
        _ => {
            // Replace a word by a number, a null or a list.
            out = chars[..at].iter().collect();
            out.push_str(["0", "~", "[]", "{}", "-1", "1e9", "yes"][rng.usize(..7)]);
            let skip = chars[at..]
                .iter()
                .position(|c| !c.is_alphanumeric())
                .unwrap_or(chars.len() - at);
            out.extend(&chars[at + skip..]);
        }
    }
    out
}

#[test]
fn mutated_reservations_never_panic() {
    let mut names: Vec<String> = ["fixtures", "invalid"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(tests_dir().join(dir))
                .unwrap()
                .map(move |e| format!("{dir}/{}", e.unwrap().file_name().into_string().unwrap()))
        })
        .collect();
    names.sort();
    let mut rng = fastrand::Rng::with_seed(0x454e_4f53);
    let (mut imported, mut refused, mut parsed) = (0, 0, 0);
    for name in &names {
        let (dir, file) = name.split_once('/').unwrap();
        let original = fixture(dir, file);
        for _ in 0..150 {
            let mut text = original.clone();
            for _ in 0..rng.usize(1..4) {
                text = mutate(&mut rng, &text);
            }
            match enos_import::convert(&text, "mutated.yaml") {
                Ok(out) => {
                    imported += 1;
                    assert!(out.scenario.starts_with("# Imported by `enos import`"));
                    // What is imported parses, but for what the static provider checks in
                    // the hosts' values, carried over as written (addresses, key files), and
                    // what follows from a host it refuses (its site is then unknown).
                    match try_parse(&out.scenario, &tests_dir().join("mutated.yaml")) {
                        Ok(_) => parsed += 1,
                        Err(e) => assert!(
                            e.diagnostics()
                                .iter()
                                .any(|d| d.path.starts_with("provider.static.hosts[")),
                            "{e}\n---\n{text}\n---\n{}",
                            out.scenario
                        ),
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    assert!(e.to_string().starts_with("error: mutated.yaml:"), "{e}");
                }
            }
        }
    }
    println!("{imported} imported ({parsed} parse), {refused} refused");
    assert!(
        imported > 100 && refused > 100,
        "{imported} imported, {refused} refused"
    );
    assert!(parsed > 100, "{parsed} parse");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..2000 {
        let len = rng.usize(..200);
        let text: String = (0..len)
            .map(|_| {
                if rng.bool() {
                    char::from(rng.u8(0x09..0x7f))
                } else {
                    SPICE[rng.usize(..SPICE.len())]
                        .chars()
                        .next()
                        .unwrap_or(' ')
                }
            })
            .collect();
        let _ = enos_import::convert(&text, "random.yaml");
        let _ = enos_import::convert(
            &format!("provider: g5k\nresources:\n  {text}"),
            "random.yaml",
        );
    }
}
