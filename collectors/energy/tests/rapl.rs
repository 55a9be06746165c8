//! RAPL: wraps told apart between readings, and zones read from a made-up powercap tree.

use std::path::Path;
use std::time::Duration;

use enos_energy::rapl::{Counter, delta_uj, zones};

/// A typical modulus: 2^32 units of 61 µJ.
const RANGE: u64 = 262_143_328_850;

#[test]
fn a_counter_that_does_not_wrap_adds_its_differences() {
    let mut c = Counter::new(RANGE);
    for reading in [1_000, 5_000_000, 12_000_000, 12_000_000] {
        c.update(reading);
    }
    assert_eq!(c.total_joules(), 11.999);
    assert_eq!(c.wraps(), 0);
}

#[test]
fn one_wrap_between_two_readings_counts_the_way_round() {
    assert_eq!(delta_uj(RANGE - 10, 5, RANGE), (16, true));
    assert_eq!(delta_uj(RANGE, 0, RANGE), (1, true));
    assert_eq!(delta_uj(7, 7, RANGE), (0, false));
    let mut c = Counter::new(RANGE);
    c.update(RANGE - 2_000_000);
    let step = c.update(3_000_000);
    assert!(step.wrapped);
    assert_eq!(step.delta_uj, 5_000_001);
    assert_eq!(c.wraps(), 1);
}

#[test]
fn wraps_again_and_again_add_up_over_a_long_series() {
    // A small modulus, 100 W, a reading every 0.3 s: the counter wraps every 1 s, never more
    // than once between two readings; 100 s give 10 kJ whatever the wraps.
    let range: u64 = 100_000_000; // 100 J
    let mut c = Counter::new(range);
    let mut true_uj: u64 = 0;
    let mut wraps = 0;
    let mut last = 0;
    c.update(0);
    for _ in 0..333 {
        true_uj += 30_000_000; // 30 J per 0.3 s
        let reading = true_uj % (range + 1);
        if reading < last {
            wraps += 1;
        }
        last = reading;
        c.update(reading);
    }
    assert!(wraps >= 90, "{wraps} wraps");
    assert_eq!(c.wraps(), wraps);
    assert_eq!(c.total_joules(), true_uj as f64 / 1e6);
}

#[test]
fn a_zone_says_how_often_it_must_be_read() {
    let dir = tempfile::tempdir().unwrap();
    zone(dir.path(), "intel-rapl:0", "package-0", 42, RANGE);
    let zones = zones(dir.path()).unwrap();
    // 262 kJ at 100 W: a wrap every 2621 s, read at least every 1310 s.
    let period = zones[0].max_period(100.0);
    assert!((period.as_secs_f64() - 1310.7).abs() < 0.1, "{period:?}");
    assert_eq!(zones[0].max_period(0.0), Duration::MAX);
}

fn zone(root: &Path, id: &str, name: &str, energy: u64, range: u64) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).expect("the test's powercap tree is written");
    std::fs::write(dir.join("name"), format!("{name}\n"))
        .expect("the test's powercap tree is written");
    std::fs::write(dir.join("energy_uj"), format!("{energy}\n"))
        .expect("the test's powercap tree is written");
    std::fs::write(dir.join("max_energy_range_uj"), format!("{range}\n"))
        .expect("the test's powercap tree is written");
}

#[test]
fn zones_are_read_from_a_powercap_tree_and_none_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    zone(dir.path(), "intel-rapl:0", "package-0", 1_000, RANGE);
    zone(dir.path(), "intel-rapl:0:0", "core", 400, RANGE);
    zone(dir.path(), "intel-rapl:0:1", "dram", 90, 65_532_610_987);
    zone(dir.path(), "intel-rapl-mmio:0", "package-0", 1_000, RANGE);
    std::fs::create_dir_all(dir.path().join("dtpm")).unwrap();
    let found = zones(dir.path()).unwrap();
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|z| (z.id.as_str(), z.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("intel-rapl:0", "package-0"),
            ("intel-rapl:0:0", "core"),
            ("intel-rapl:0:1", "dram")
        ]
    );
    assert_eq!(found[2].max_energy_range_uj, 65_532_610_987);
    assert_eq!(found[1].read_uj().unwrap(), 400);

    // This machine's kernel has no powercap: no zone, and no error.
    assert!(zones(&dir.path().join("absent")).unwrap().is_empty());

    // A counter that is not a number is an error naming the file.
    std::fs::write(dir.path().join("intel-rapl:0/energy_uj"), "n/a\n").unwrap();
    let error = found[0].read_uj().unwrap_err().to_string();
    assert!(
        error.contains("intel-rapl:0/energy_uj") && error.contains("'n/a'"),
        "{error}"
    );
}
