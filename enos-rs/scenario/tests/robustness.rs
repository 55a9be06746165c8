//! No input makes the parser panic or hang: thousands of mutations of the valid scenarios,
//! alias bombs, deep nesting and huge documents all come back as `Ok` or `Err`, quickly.

use std::path::Path;
use std::time::{Duration, Instant};

/// What a rejection of a hostile input may take at most (debug build, busy machine).
const QUICK: Duration = Duration::from_secs(5);

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_scenarios_never_panic() {
    let inserts: [&[u8]; 16] = [
        b":", b"[", b"{", b"]", b"}", b"&a ", b"*a", b"\t", b"\0", b"- ", b"---\n", b"\"", b"'",
        b"!!map ", b"\xff", b"\n  ",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut cases = 0;
    let mut accepted = 0;
    for seed in seeds() {
        for _ in 0..1500 {
            let mut bytes = seed.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() + 1).min(bytes.len());
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes[i] ^= 1 << rng.below(8);
                    }
                    1 => bytes.truncate(at),
                    2 => {
                        let insert = inserts[rng.below(inserts.len())];
                        bytes.splice(at..at, insert.iter().copied());
                    }
                    _ => {
                        let end = (at + rng.below(8)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            // Either outcome is fine; a panic fails the test. Errors must be located.
            match enos_scenario::parse(&text, "mutant.yaml", crate::KINDS) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    let d = &e.diagnostics()[0];
                    assert!(d.line >= 1 && d.column >= 1, "{e}");
                    assert!(e.to_string().starts_with("error: mutant.yaml:"), "{e}");
                }
            }
            cases += 1;
        }
    }
    assert!(cases >= 4000, "{cases} cases");
    // The mutations are not all fatal: some still parse, so the loop reaches validation too.
    assert!(accepted > 0);
}

/// A billion laughs: 10^9 values once the aliases are expanded, under a key that is kept.
fn alias_bomb(under: &str) -> String {
    let mut text = format!("name: bomb\nsites: {{p: {{roles: {{x: 1}}}}}}\n{under}\n");
    text.push_str("  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_rejected_quickly() {
    for under in ["deploy:", "provider:\n local:"] {
        let text = alias_bomb(under);
        let start = Instant::now();
        let error = enos_scenario::parse(&text, "bomb.yaml", crate::KINDS).unwrap_err();
        assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
        let message = &error.diagnostics()[0].message;
        assert!(
            message.starts_with("aliases expand this file to more than 100000 values"),
            "{error}"
        );
    }
}

#[test]
fn ten_thousand_levels_of_nesting_are_rejected_quickly() {
    let flow = format!(
        "name: deep\nsites: {{p: {{roles: {{x: 1}}}}}}\nprovider: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let flow_maps = format!(
        "name: deep\nsites: {{p: {{roles: {{x: 1}}}}}}\ndeploy: {}x{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let block = format!(
        "name: deep\nsites: {{p: {{roles: {{x: 1}}}}}}\ndeploy:\n  {}x\n",
        "- ".repeat(10_000)
    );
    for text in [flow, flow_maps, block] {
        let start = Instant::now();
        let error = enos_scenario::parse(&text, "deep.yaml", crate::KINDS).unwrap_err();
        assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
        let d = &error.diagnostics()[0];
        assert!([3, 4].contains(&d.line), "{error}");
        assert!(["provider", "deploy"].contains(&d.path.as_str()), "{error}");
        assert_eq!(
            d.message,
            "nested more than 64 levels deep; a scenario needs a handful"
        );
        // The snippet is cut around the caret rather than printing 20 000 characters.
        assert!(d.snippet().len() < 400, "{}", d.snippet().len());
    }
}

#[test]
fn a_document_with_too_many_values_is_rejected_quickly() {
    let items = vec!["x"; 150_000].join(", ");
    let text = format!("name: wide\nsites: {{p: {{roles: {{x: 1}}}}}}\ndeploy: [{items}]\n");
    let start = Instant::now();
    let error = enos_scenario::parse(&text, "wide.yaml", crate::KINDS).unwrap_err();
    assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
    assert_eq!(error.diagnostics()[0].path, "deploy", "{error}");
    assert!(
        error.diagnostics()[0]
            .message
            .starts_with("the file holds more than 100000 values"),
        "{error}"
    );
}
