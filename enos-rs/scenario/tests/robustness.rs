//! No input makes the parser panic or hang: mutations of valid scenarios, alias bombs, deep nesting.

use std::path::Path;
use std::time::{Duration, Instant};

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// A small deterministic generator (xorshift), so failures reproduce.
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
    let inserts: [&[u8]; 12] = [
        b":", b"[", b"{", b"&a ", b"*a", b"\t", b"\0", b"- ", b"---\n", b"\"", b"!!map ", b"\xff",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut cases = 0;
    for seed in seeds() {
        for _ in 0..1500 {
            let mut bytes = seed.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes[i] ^= 1 << rng.below(8);
                    }
                    1 => bytes.truncate(at),
                    2 => {
                        let insert = inserts[rng.below(inserts.len())];
                        bytes.splice(
                            at.min(bytes.len())..at.min(bytes.len()),
                            insert.iter().copied(),
                        );
                    }
                    _ if !bytes.is_empty() => {
                        let end = (at + rng.below(8)).min(bytes.len());
                        bytes.drain(at.min(end)..end);
                    }
                    _ => {}
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            // Either outcome is fine; a panic fails the test.
            let _ = enos_scenario::parse(&text, "mutant.yaml");
            cases += 1;
        }
    }
    assert!(cases >= 3000);
}

#[test]
fn an_alias_bomb_is_rejected_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    text.push_str("name: bomb\nsites: {p: {roles: {x: 1}}}\n");
    let start = Instant::now();
    assert!(enos_scenario::parse(&text, "bomb.yaml").is_err());
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn deep_nesting_is_rejected_without_overflow() {
    let text = format!(
        "name: deep\nsites: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let error = enos_scenario::parse(&text, "deep.yaml").unwrap_err();
    assert!(
        error.to_string().starts_with("error: deep.yaml:"),
        "{error}"
    );
}
