//! Validation: the statistics of a pair, what a pair asks for, each
//! tolerance rule at its boundary, partitions, the CSV and JSON reports and the site table; the
//! probe plan and its sample on large testbeds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use enos_scenario::{DEFAULT_RATE, Delay, LossRate, Rate};
use enos_wan::validate::{
    PairProbes, PairRate, SAMPLE_THRESHOLD, Tolerance, UnknownTarget, ValidationReport, Verdict,
    asked, asked_in, pair_probes, probe_plan, rtt_stats, sample_summary, site_table, to_csv,
    validate, validate_plan,
};
use enos_wan::{LinkShape, WanHost, WanMatrix, resolve};

/// Hosts `(name, site)` with addresses 10.0.0.1, 10.0.0.2, … in order.
fn hosts(list: &[(&str, &str)]) -> Vec<WanHost> {
    list.iter()
        .zip(1u8..)
        .map(|((name, site), i)| WanHost {
            name: (*name).to_owned(),
            site: (*site).to_owned(),
            role: "node".to_owned(),
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect()
}

/// A shape of one-way `delay`, `loss` percent and `rate` (`None`: unlimited).
fn shape(delay: &str, loss: f64, rate: Option<&str>) -> LinkShape {
    LinkShape {
        delay: delay.parse::<Delay>().unwrap_or_else(|e| panic!("{e}")),
        jitter: Delay::default(),
        rate: rate.map_or(DEFAULT_RATE, |r| {
            r.parse::<Rate>().unwrap_or_else(|e| panic!("{e}"))
        }),
        loss: LossRate::from_percent(loss).unwrap_or_else(|| panic!("bad loss {loss}")),
    }
}

/// A matrix of the directions `(src, dst, shape)`, `hosts` giving the addresses.
fn matrix(hosts: &[WanHost], directions: &[(&str, &str, LinkShape)]) -> WanMatrix {
    WanMatrix::from_pairs(hosts, directions.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

fn probes(src: &str, dst: &str, rtts: &[Option<f64>]) -> PairProbes {
    PairProbes {
        src: src.to_owned(),
        dst: dst.to_owned(),
        rtts: rtts.to_vec(),
    }
}

/// `n` probes of `ms` each.
fn steady(src: &str, dst: &str, ms: f64, n: usize) -> PairProbes {
    probes(src, dst, &vec![Some(ms); n])
}

/// `n` probes of which the first `lost` are lost and the others take `ms`.
fn lossy(src: &str, dst: &str, ms: f64, n: usize, lost: usize) -> PairProbes {
    let rtts: Vec<Option<f64>> = (0..n).map(|i| (i >= lost).then_some(ms)).collect();
    probes(src, dst, &rtts)
}

fn rate(src: &str, dst: &str, bits_per_second: f64) -> PairRate {
    PairRate {
        src: src.to_owned(),
        dst: dst.to_owned(),
        bits_per_second,
    }
}

/// Validates the two hosts `a` and `b` (one site) with default tolerance.
fn two_hosts(
    directions: &[(&str, &str, LinkShape)],
    rtts: &[PairProbes],
    rates: &[PairRate],
) -> ValidationReport {
    let hosts = hosts(&[("a", "s"), ("b", "s")]);
    let m = matrix(&hosts, directions);
    validate(&hosts, &m, rtts, rates, &Tolerance::default())
}

fn verdict(report: &ValidationReport, src: &str, dst: &str) -> Verdict {
    row(report, src, dst).verdict
}

fn row<'r>(
    report: &'r ValidationReport,
    src: &str,
    dst: &str,
) -> &'r enos_wan::validate::PairReport {
    report
        .rows
        .iter()
        .find(|r| r.src == src && r.dst == dst)
        .unwrap_or_else(|| panic!("no row {src} -> {dst}"))
}

// --- fping ---------------------------------------------------------------------------------------

#[test]
fn fping_targets_are_matched_with_hosts_by_name_or_address() {
    let hosts = hosts(&[("a", "s"), ("b", "s"), ("c", "t")]);
    let results = enos_probes::fping::parse("10.0.0.2 : 1.0 -\nc        : 2.0 2.1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let pairs = pair_probes("a", &hosts, results).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pairs,
        vec![
            probes("a", "b", &[Some(1.0), None]),
            probes("a", "c", &[Some(2.0), Some(2.1)]),
        ]
    );
    let unknown = enos_probes::fping::parse("10.0.0.7 : 1.0\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pair_probes("a", &hosts, unknown),
        Err(UnknownTarget {
            src: "a".to_owned(),
            target: "10.0.0.7".to_owned()
        })
    );
}

// --- statistics ----------------------------------------------------------------------------------

#[test]
fn median_of_odd_and_even_counts_ignores_lost_probes() {
    let odd = rtt_stats(&[Some(3.0), Some(1.0), Some(2.0)]);
    assert_eq!(odd.median_ms, Some(2.0));
    let even = rtt_stats(&[Some(4.0), None, Some(1.0), Some(3.0), Some(2.0)]);
    assert_eq!(even.median_ms, Some(2.5));
    assert_eq!(even.probes, 5);
    assert_eq!(even.loss_percent, 20.0);
}

#[test]
fn p99_is_the_nearest_rank() {
    // 1..=100: rank ⌈0.99 × 100⌉ = 99.
    let hundred: Vec<Option<f64>> = (1..=100).rev().map(|i| Some(f64::from(i))).collect();
    assert_eq!(rtt_stats(&hundred).p99_ms, Some(99.0));
    // 1..=200: rank ⌈0.99 × 200⌉ = 198.
    let two_hundred: Vec<Option<f64>> = (1..=200).map(|i| Some(f64::from(i))).collect();
    assert_eq!(rtt_stats(&two_hundred).p99_ms, Some(198.0));
    // 1..=10: rank ⌈9.9⌉ = 10, the largest.
    let ten: Vec<Option<f64>> = (1..=10).map(|i| Some(f64::from(i))).collect();
    let stats = rtt_stats(&ten);
    assert_eq!(stats.p99_ms, Some(10.0));
    assert_eq!(stats.median_ms, Some(5.5));
    assert_eq!(rtt_stats(&[Some(7.0)]).p99_ms, Some(7.0));
}

#[test]
fn a_pair_with_every_probe_lost_or_none_sent_has_no_rtt() {
    let lost = rtt_stats(&[None, None, None]);
    assert_eq!((lost.median_ms, lost.p99_ms), (None, None));
    assert_eq!((lost.loss_percent, lost.probes), (100.0, 3));
    let none = rtt_stats(&[]);
    assert_eq!(
        (none.median_ms, none.loss_percent, none.probes),
        (None, 0.0, 0)
    );
    // Values that are no time at all count as lost.
    let odd = rtt_stats(&[Some(f64::NAN), Some(-1.0), Some(2.0), Some(f64::INFINITY)]);
    assert_eq!((odd.median_ms, odd.loss_percent), (Some(2.0), 75.0));
}

// --- what is asked -------------------------------------------------------------------------------

#[test]
fn asked_rtt_sums_both_directions_of_an_asymmetric_matrix() {
    let hosts = hosts(&[("a", "s"), ("b", "s")]);
    let m = matrix(
        &hosts,
        &[
            ("a", "b", shape("10ms", 10.0, Some("100mbit"))),
            ("b", "a", shape("30ms", 20.0, Some("20mbit"))),
        ],
    );
    let ab = asked(&m, "a", "b");
    let ba = asked(&m, "b", "a");
    assert_eq!((ab.rtt_ms, ba.rtt_ms), (40.0, 40.0));
    // 1 − 0.9 × 0.8 = 28%, whichever way the probes go.
    assert!((ab.loss_percent - 28.0).abs() < 1e-9);
    assert!((ba.loss_percent - 28.0).abs() < 1e-9);
    // The rate is the one of the direction the data goes.
    assert_eq!(
        (ab.rate_bps, ba.rate_bps),
        (Some(100_000_000), Some(20_000_000))
    );
}

#[test]
fn a_direction_missing_from_the_matrix_adds_nothing() {
    let hosts = hosts(&[("a", "s"), ("b", "s")]);
    let m = matrix(&hosts, &[("a", "b", shape("10ms", 10.0, None))]);
    let ab = asked(&m, "a", "b");
    let ba = asked(&m, "b", "a");
    assert_eq!((ab.rtt_ms, ba.rtt_ms), (10.0, 10.0));
    assert!((ab.loss_percent - 10.0).abs() < 1e-9);
    // Unlimited (10gbit) and missing directions ask for no rate.
    assert_eq!((ab.rate_bps, ba.rate_bps), (None, None));
}

#[test]
fn validation_of_an_asymmetric_matrix_expects_the_sum_in_both_directions() {
    let directions = [
        ("a", "b", shape("5ms", 0.0, None)),
        ("b", "a", shape("15ms", 0.0, None)),
    ];
    let good = two_hosts(
        &directions,
        &[steady("a", "b", 20.1, 10), steady("b", "a", 19.9, 10)],
        &[],
    );
    assert!(good.passed(), "{good:#?}");
    // Measuring one direction's delay twice, as a symmetric matrix would, fails.
    let bad = two_hosts(
        &directions,
        &[steady("a", "b", 10.0, 10), steady("b", "a", 30.0, 10)],
        &[],
    );
    assert_eq!(bad.failed, 2);
    assert_eq!(
        row(&bad, "a", "b").reasons,
        vec!["rtt 10.00 ms, asked 20.00 ± 1.00".to_owned()]
    );
}

// --- tolerance rules at their boundary -----------------------------------------------------------

#[test]
fn default_tolerance() {
    assert_eq!(
        Tolerance::default(),
        Tolerance {
            rtt_abs_ms: 0.5,
            rtt_rel: 0.05,
            loss_points: 2.0,
            rate_rel: 0.10
        }
    );
}

#[test]
fn rtt_within_the_absolute_bound_for_small_delays() {
    // Asked 4 ms: 5% is 0.2 ms, the 0.5 ms floor wins.
    let directions = [
        ("a", "b", shape("2ms", 0.0, None)),
        ("b", "a", shape("2ms", 0.0, None)),
    ];
    let check = |ms: f64| {
        let r = two_hosts(&directions, &[steady("a", "b", ms, 5)], &[]);
        verdict(&r, "a", "b")
    };
    assert_eq!(check(4.5), Verdict::Pass);
    assert_eq!(check(3.5), Verdict::Pass);
    assert_eq!(check(4.51), Verdict::Fail);
    assert_eq!(check(3.49), Verdict::Fail);
}

#[test]
fn rtt_within_the_relative_bound_for_large_delays() {
    // Asked 40 ms: 5% is 2 ms, above the 0.5 ms floor.
    let directions = [
        ("a", "b", shape("20ms", 0.0, None)),
        ("b", "a", shape("20ms", 0.0, None)),
    ];
    let check = |ms: f64| {
        let r = two_hosts(&directions, &[steady("a", "b", ms, 5)], &[]);
        verdict(&r, "a", "b")
    };
    assert_eq!(check(42.0), Verdict::Pass);
    assert_eq!(check(38.0), Verdict::Pass);
    assert_eq!(check(42.01), Verdict::Fail);
    assert_eq!(check(37.99), Verdict::Fail);
    let r = two_hosts(&directions, &[steady("a", "b", 42.4, 5)], &[]);
    assert_eq!(
        row(&r, "a", "b").reasons,
        vec!["rtt 42.40 ms, asked 40.00 ± 2.00".to_owned()]
    );
}

#[test]
fn rtt_judges_the_median_not_the_tail() {
    let directions = [("a", "b", shape("10ms", 0.0, None))];
    let mut rtts = vec![Some(10.0); 9];
    rtts.push(Some(80.0));
    let r = two_hosts(&directions, &[probes("a", "b", &rtts)], &[]);
    assert_eq!(verdict(&r, "a", "b"), Verdict::Pass);
    assert_eq!(row(&r, "a", "b").p99_ms, Some(80.0));
}

#[test]
fn loss_within_the_points_of_tolerance() {
    // Asked 10% one way: over 10 000 probes the sampling error is small, so within 2 points
    // means 8% to 12%.
    let directions = [("a", "b", shape("1ms", 10.0, None))];
    let check = |lost: usize| {
        let r = two_hosts(&directions, &[lossy("a", "b", 1.0, 10_000, lost)], &[]);
        verdict(&r, "a", "b")
    };
    assert_eq!(check(1200), Verdict::Pass);
    assert_eq!(check(800), Verdict::Pass);
    assert_eq!(check(1201), Verdict::Fail);
    assert_eq!(check(799), Verdict::Fail);
    let r = two_hosts(&directions, &[lossy("a", "b", 1.0, 10_000, 1300)], &[]);
    assert_eq!(
        row(&r, "a", "b").reasons,
        vec!["loss 13.00%, asked 10.00 ± 2.00".to_owned()]
    );
}

#[test]
fn few_probes_widen_the_loss_bound_to_their_sampling_error() {
    // 2% asked over 20 probes: 5 standard deviations are 15.65 points.
    let directions = [("a", "b", shape("1ms", 2.0, None))];
    let check = |lost: usize| {
        let r = two_hosts(&directions, &[lossy("a", "b", 1.0, 20, lost)], &[]);
        verdict(&r, "a", "b")
    };
    assert_eq!(check(3), Verdict::Pass);
    assert_eq!(check(4), Verdict::Fail);
    let bound = enos_wan::validate::Tolerance::default().loss_bound(2.0, 20);
    assert!((bound - 15.652).abs() < 0.001, "{bound}");
    // Nothing asked, nothing allowed beyond the points.
    assert_eq!(
        enos_wan::validate::Tolerance::default().loss_bound(0.0, 20),
        2.0
    );
}

#[test]
fn rate_within_its_relative_tolerance() {
    let directions = [("a", "b", shape("1ms", 0.0, Some("100mbit")))];
    let check = |bps: f64| {
        let r = two_hosts(
            &directions,
            &[steady("a", "b", 1.0, 5)],
            &[rate("a", "b", bps)],
        );
        verdict(&r, "a", "b")
    };
    assert_eq!(check(90e6), Verdict::Pass);
    assert_eq!(check(110e6), Verdict::Pass);
    assert_eq!(check(89.99e6), Verdict::Fail);
    assert_eq!(check(110.01e6), Verdict::Fail);
    let r = two_hosts(
        &directions,
        &[steady("a", "b", 1.0, 5)],
        &[rate("a", "b", 80e6)],
    );
    let ab = row(&r, "a", "b");
    assert_eq!(ab.asked_rate_bps, Some(100_000_000));
    assert_eq!(ab.rate_bps, Some(80e6));
    assert_eq!(
        ab.reasons,
        vec!["rate 80.00 Mbit/s, asked 100.00 ± 10.00 Mbit/s".to_owned()]
    );
}

#[test]
fn rate_is_judged_only_when_limited_and_measured() {
    let directions = [("a", "b", shape("1ms", 0.0, Some("100mbit")))];
    // Limited but not measured: nothing to judge.
    let r = two_hosts(&directions, &[steady("a", "b", 1.0, 5)], &[]);
    let ab = row(&r, "a", "b");
    assert_eq!((ab.asked_rate_bps, ab.rate_bps), (None, None));
    assert_eq!(ab.verdict, Verdict::Pass);
    // Measured the other way, which is not limited: reported, not judged.
    let r = two_hosts(
        &directions,
        &[steady("a", "b", 1.0, 5), steady("b", "a", 1.0, 5)],
        &[rate("b", "a", 3e9)],
    );
    let ba = row(&r, "b", "a");
    assert_eq!((ba.asked_rate_bps, ba.rate_bps), (None, Some(3e9)));
    assert_eq!(ba.verdict, Verdict::Pass);
}

#[test]
fn custom_tolerance_is_used_and_reported() {
    let hosts = hosts(&[("a", "s"), ("b", "s")]);
    let m = matrix(&hosts, &[("a", "b", shape("10ms", 0.0, None))]);
    let tol = Tolerance {
        rtt_abs_ms: 3.0,
        ..Tolerance::default()
    };
    let rtts = [steady("a", "b", 12.9, 5), steady("b", "a", 10.0, 5)];
    let r = validate(&hosts, &m, &rtts, &[], &tol);
    assert!(r.passed());
    assert_eq!(r.tolerance, tol);
    let strict = validate(&hosts, &m, &rtts, &[], &Tolerance::default());
    assert_eq!(verdict(&strict, "a", "b"), Verdict::Fail);
}

// --- partitions and missing measurements ---------------------------------------------------------

#[test]
fn a_partition_passes_when_every_probe_is_lost() {
    let directions = [("a", "b", shape("10ms", 100.0, None))];
    let r = two_hosts(
        &directions,
        &[probes("a", "b", &[None; 10]), probes("b", "a", &[None; 10])],
        &[],
    );
    assert!(r.passed(), "{r:#?}");
    let ab = row(&r, "a", "b");
    assert_eq!(ab.asked_loss_percent, 100.0);
    assert_eq!(
        (ab.median_ms, ab.p99_ms, ab.loss_percent),
        (None, None, 100.0)
    );
    // Both directions of the pair lose every probe, whichever side sends them.
    assert_eq!(row(&r, "b", "a").asked_loss_percent, 100.0);
}

#[test]
fn a_partition_that_lets_probes_through_fails() {
    let directions = [("a", "b", shape("10ms", 100.0, None))];
    let r = two_hosts(&directions, &[lossy("a", "b", 10.0, 10, 5)], &[]);
    assert_eq!(verdict(&r, "a", "b"), Verdict::Fail);
    assert_eq!(
        row(&r, "a", "b").reasons,
        vec!["loss 50.00%, asked 100.00 ± 2.00".to_owned()]
    );
}

#[test]
fn every_probe_lost_without_a_partition_fails() {
    // 99% asked is within 2 points of 100% measured, but only a partition may lose everything.
    let directions = [("a", "b", shape("10ms", 99.0, None))];
    let r = two_hosts(&directions, &[probes("a", "b", &[None; 20])], &[]);
    assert_eq!(
        row(&r, "a", "b").reasons,
        vec!["every probe lost (20 sent), asked loss 99.00%".to_owned()]
    );
    let r = two_hosts(&[], &[probes("a", "b", &[None; 4])], &[]);
    assert_eq!(verdict(&r, "a", "b"), Verdict::Fail);
}

#[test]
fn a_pair_not_measured_fails_strangers_and_bad_throughputs_are_ignored() {
    let r = two_hosts(
        &[],
        &[steady("a", "b", 0.1, 3), steady("a", "z", 0.1, 3)],
        &[
            rate("z", "a", 1e6),
            rate("a", "b", 5e6),
            rate("a", "b", f64::NAN),
            rate("a", "b", -1.0),
        ],
    );
    // The last throughput that is one counts.
    assert_eq!(row(&r, "a", "b").rate_bps, Some(5e6));
    assert_eq!(r.pairs, 2);
    assert_eq!(r.failed, 1);
    assert_eq!(verdict(&r, "a", "b"), Verdict::Pass);
    let ba = row(&r, "b", "a");
    assert_eq!(ba.probes, 0);
    assert_eq!(ba.reasons, vec!["no probe sent".to_owned()]);
}

#[test]
fn probes_of_a_pair_given_twice_are_put_together() {
    let r = two_hosts(
        &[],
        &[
            steady("a", "b", 0.1, 3),
            probes("a", "b", &[None, Some(0.3)]),
        ],
        &[],
    );
    let ab = row(&r, "a", "b");
    assert_eq!((ab.probes, ab.loss_percent), (5, 20.0));
}

// --- the report ----------------------------------------------------------------------------------

/// Three sites: paris (two hosts), rennes, nantes. One-way delays: paris ↔ rennes 5 ms,
/// paris ↔ nantes 10 ms, rennes → nantes 20 ms and nantes → rennes 25 ms (asked RTT 45 ms), none
/// inside paris. rennes-1 → nantes-1 measures 48.6 ms: outside 45 ± 2.25.
fn three_sites() -> ValidationReport {
    let (hosts, m, rtts) = three_sites_measured();
    validate(&hosts, &m, &rtts, &[], &Tolerance::default())
}

/// Four hosts in three sites, their matrix and a measurement where one pair (rennes-1 →
/// nantes-1) is outside tolerance.
fn three_sites_measured() -> (Vec<WanHost>, WanMatrix, Vec<PairProbes>) {
    let hosts = hosts(&[
        ("paris-1", "paris"),
        ("paris-2", "paris"),
        ("rennes-1", "rennes"),
        ("nantes-1", "nantes"),
    ]);
    let pr = shape("5ms", 0.0, None);
    let pn = shape("10ms", 0.0, None);
    let m = matrix(
        &hosts,
        &[
            ("paris-1", "rennes-1", pr),
            ("paris-1", "nantes-1", pn),
            ("paris-2", "rennes-1", pr),
            ("paris-2", "nantes-1", pn),
            ("rennes-1", "paris-1", pr),
            ("rennes-1", "paris-2", pr),
            ("rennes-1", "nantes-1", shape("20ms", 0.0, None)),
            ("nantes-1", "paris-1", pn),
            ("nantes-1", "paris-2", pn),
            ("nantes-1", "rennes-1", shape("25ms", 0.0, None)),
        ],
    );
    let measured = [
        ("paris-1", "paris-2", 0.061),
        ("paris-1", "rennes-1", 10.21),
        ("paris-1", "nantes-1", 20.05),
        ("paris-2", "paris-1", 0.058),
        ("paris-2", "rennes-1", 10.09),
        ("paris-2", "nantes-1", 20.31),
        ("rennes-1", "paris-1", 10.12),
        ("rennes-1", "paris-2", 10.4),
        ("rennes-1", "nantes-1", 48.6),
        ("nantes-1", "paris-1", 20.2),
        ("nantes-1", "paris-2", 19.87),
        ("nantes-1", "rennes-1", 45.3),
    ];
    let rtts: Vec<PairProbes> = measured
        .iter()
        .map(|(src, dst, ms)| steady(src, dst, *ms, 20))
        .collect();
    (hosts, m, rtts)
}

/// The three sites' first measurement, then the pairs outside tolerance measured again at
/// `again_ms`.
fn three_sites_measured_twice(again_ms: f64) -> ValidationReport {
    let (hosts, m, rtts) = three_sites_measured();
    let plan = probe_plan(&hosts, &m, SAMPLE_THRESHOLD);
    let mut first = validate_plan(&hosts, &m, &plan, &rtts, &[], &Tolerance::default());
    let position = |name: &str| hosts.iter().position(|h| h.name == name).unwrap();
    let failed: Vec<(usize, usize)> = first
        .failed_pairs()
        .map(|(src, dst)| (position(src), position(dst)))
        .collect();
    assert_eq!(failed, [(2, 3)]);
    let only = plan.only(failed);
    assert_eq!(only.pairs().collect::<Vec<_>>(), [(2, 3)]);
    assert_eq!((only.measured_pairs, only.total_pairs), (1, 12));
    let again = [steady("rennes-1", "nantes-1", again_ms, 20)];
    let second = validate_plan(&hosts, &m, &only, &again, &[], &Tolerance::default());
    assert_eq!(second.rows.len(), 1);
    first.merge_remeasured(second);
    first
}

#[test]
fn a_pair_that_passes_when_measured_again_no_longer_fails_and_says_so() {
    let r = three_sites_measured_twice(45.4);
    assert_eq!((r.pairs, r.failed, r.remeasured), (12, 0, 1));
    assert!(r.passed());
    let again = row(&r, "rennes-1", "nantes-1");
    assert!(again.remeasured);
    assert_eq!(again.median_ms, Some(45.4));
    assert_eq!(again.first_median_ms, Some(48.6));
    assert_eq!(again.verdict, Verdict::Pass);
    assert!(again.reasons.is_empty());
    let others: Vec<&str> = r
        .rows
        .iter()
        .filter(|r| r.remeasured || r.first_median_ms.is_some())
        .map(|r| r.src.as_str())
        .collect();
    assert_eq!(others, ["rennes-1"]);
    assert!(
        site_table(&r)
            .ends_with("12 pairs, 0 outside tolerance (1 outside at first, measured again)\n"),
        "{}",
        site_table(&r)
    );
    let csv = to_csv(&r);
    let remeasured: Vec<&str> = csv.lines().filter(|l| l.ends_with(",true")).collect();
    assert_eq!(remeasured.len(), 1, "{csv}");
    assert!(remeasured[0].starts_with("rennes-1,nantes-1,"), "{csv}");
}

#[test]
fn a_pair_outside_tolerance_twice_fails_with_the_second_measurement() {
    let r = three_sites_measured_twice(49.9);
    assert_eq!((r.pairs, r.failed, r.remeasured), (12, 1, 1));
    let again = row(&r, "rennes-1", "nantes-1");
    assert_eq!(again.verdict, Verdict::Fail);
    assert_eq!(again.first_median_ms, Some(48.6));
    assert_eq!(again.reasons, ["rtt 49.90 ms, asked 45.00 ± 2.25"]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["remeasured"], 1);
    assert_eq!(json["rows"][8]["remeasured"], true);
    assert_eq!(json["rows"][8]["first_median_ms"], 48.6);
    assert_eq!(json["rows"][0]["remeasured"], false);
    assert!(json["rows"][0].get("first_median_ms").is_none());
}

#[test]
fn a_version_2_report_reads_as_measured_once() {
    let mut json = serde_json::to_value(three_sites()).unwrap();
    json["version"] = 2.into();
    json.as_object_mut().unwrap().remove("remeasured");
    for row in json["rows"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("remeasured");
    }
    let back: ValidationReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.remeasured, 0);
    assert!(back.rows.iter().all(|r| !r.remeasured));
}

#[test]
fn a_plan_of_only_some_pairs_leaves_out_those_it_does_not_have() {
    let hosts = hosts(&[("a", "s"), ("b", "s"), ("c", "t")]);
    let plan = probe_plan(&hosts, &WanMatrix::default(), SAMPLE_THRESHOLD);
    let only = plan.only([(0, 2), (1, 1), (5, 0), (2, 7), (0, 2)]);
    assert_eq!(only.pairs().collect::<Vec<_>>(), [(0, 2)]);
    assert_eq!(only.targets.len(), 3);
    assert_eq!(
        (only.measured_pairs, only.total_pairs, only.sampled),
        (1, 6, false)
    );
}

#[test]
fn rows_follow_host_order_and_count_failures() {
    let r = three_sites();
    assert_eq!(r.version, 3);
    assert_eq!((r.pairs, r.failed), (12, 1));
    assert!(!r.sampled);
    assert_eq!((r.pairs_total, r.pairs_measured), (12, 12));
    assert!(!r.passed());
    let order: Vec<(&str, &str)> = r
        .rows
        .iter()
        .map(|row| (row.src.as_str(), row.dst.as_str()))
        .collect();
    assert_eq!(
        &order[..4],
        &[
            ("paris-1", "paris-2"),
            ("paris-1", "rennes-1"),
            ("paris-1", "nantes-1"),
            ("paris-2", "paris-1"),
        ]
    );
    let failed = row(&r, "rennes-1", "nantes-1");
    assert_eq!(
        (failed.src_site.as_str(), failed.dst_site.as_str()),
        ("rennes", "nantes")
    );
    assert_eq!(
        failed.reasons,
        vec!["rtt 48.60 ms, asked 45.00 ± 2.25".to_owned()]
    );
}

#[test]
fn csv_has_a_header_and_one_row_per_pair_with_three_decimals() {
    let directions = [
        ("a", "b", shape("10ms", 0.0, Some("100mbit"))),
        ("b", "a", shape("10ms", 0.0, None)),
    ];
    let r = two_hosts(
        &directions,
        &[
            probes("a", "b", &[Some(20.1), Some(20.3), None, Some(20.2)]),
            probes("b", "a", &[Some(30.0), Some(30.5)]),
        ],
        &[rate("a", "b", 80e6)],
    );
    assert_eq!(
        to_csv(&r),
        "src,dst,src_site,dst_site,asked_rtt_ms,median_ms,p99_ms,asked_loss_percent,\
         loss_percent,probes,asked_rate_bps,rate_bps,verdict,reasons,sampled,remeasured\n\
         a,b,s,s,20.000,20.200,20.300,0.000,25.000,4,100000000,80000000.000,fail,\
         \"loss 25.00%, asked 0.00 ± 2.00; rate 80.00 Mbit/s, asked 100.00 ± 10.00 Mbit/s\",false,\
         false\n\
         b,a,s,s,20.000,30.250,30.500,0.000,0.000,2,,,fail,\"rtt 30.25 ms, asked 20.00 ± 1.00\",\
         false,false\n"
    );
}

#[test]
fn csv_quotes_fields_that_need_it() {
    let hosts = hosts(&[("a,1", "s\"x"), ("b", "s")]);
    let r = validate(
        &hosts,
        &WanMatrix::default(),
        &[steady("a,1", "b", 0.1, 1), steady("b", "a,1", 0.1, 1)],
        &[],
        &Tolerance::default(),
    );
    let csv = to_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        "\"a,1\",b,\"s\"\"x\",s,0.000,0.100,0.100,0.000,0.000,1,,,pass,,false,false"
    );
}

#[test]
fn json_carries_a_version_and_reads_back() {
    let r = three_sites();
    let json = serde_json::to_string_pretty(&r).unwrap_or_else(|e| panic!("{e}"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value["version"], 3);
    assert_eq!(value["remeasured"], 0);
    assert_eq!(value["pairs"], 12);
    assert_eq!(value["sampled"], false);
    assert_eq!(value["pairs_total"], 12);
    assert_eq!(value["pairs_measured"], 12);
    assert_eq!(value["failed"], 1);
    assert_eq!(value["tolerance"]["rtt_rel"], 0.05);
    assert_eq!(value["rows"][8]["verdict"], "fail");
    assert_eq!(value["rows"][0]["verdict"], "pass");
    assert_eq!(value["rows"][0]["asked_rate_bps"], serde_json::Value::Null);
    let back: ValidationReport = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, r);
}

/// Asserts the snapshot `validate__NAME`, the same file whether this module runs inside the
/// `runner` binary or as a test target of its own.
fn snapshot(name: &str, text: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("validate__{name}"), text));
}

#[test]
fn site_table_of_three_sites_with_one_failing_pair() {
    snapshot("site_table_three_sites", site_table(&three_sites()));
}

#[test]
fn site_table_marks_partitions_and_lonely_sites() {
    let hosts = hosts(&[("a", "left"), ("b", "right")]);
    let m = matrix(
        &hosts,
        &[
            ("a", "b", shape("1ms", 100.0, None)),
            ("b", "a", shape("1ms", 0.0, None)),
        ],
    );
    let r = validate(
        &hosts,
        &m,
        &[probes("a", "b", &[None; 5])],
        &[],
        &Tolerance::default(),
    );
    snapshot("site_table_partition", site_table(&r));
}

#[test]
fn site_table_of_no_pair_is_the_summary_alone() {
    let hosts = hosts(&[("a", "s")]);
    let r = validate(
        &hosts,
        &WanMatrix::default(),
        &[],
        &[],
        &Tolerance::default(),
    );
    assert_eq!(site_table(&r), "0 pairs, 0 outside tolerance\n");
}

// --- the probe plan and its sample ---------------------------------------------------------------

#[test]
fn a_small_testbed_measures_every_ordered_pair() {
    let hosts = hosts(&[("a", "s"), ("b", "s"), ("c", "t")]);
    let plan = probe_plan(&hosts, &WanMatrix::default(), SAMPLE_THRESHOLD);
    assert!(!plan.sampled);
    assert_eq!(plan.targets, vec![vec![1, 2], vec![0, 2], vec![0, 1]]);
    assert_eq!((plan.total_pairs, plan.measured_pairs), (6, 6));
    // 50 hosts are 2,450 ordered pairs: all measured; 51 are 2,550: a sample.
    let fifty: Vec<WanHost> = (0..51)
        .map(|i| WanHost {
            name: format!("h{i}"),
            site: format!("s{}", i % 3),
            role: "node".to_owned(),
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 1, i as u8 + 1)),
        })
        .collect();
    let full = probe_plan(&fifty[..50], &WanMatrix::default(), SAMPLE_THRESHOLD);
    assert!(!full.sampled);
    assert_eq!(full.measured_pairs, 2450);
    let sample = probe_plan(&fifty, &WanMatrix::default(), SAMPLE_THRESHOLD);
    assert!(sample.sampled);
    assert_eq!(sample.total_pairs, 2550);
    // 3 sites: 9 ordered site pairs, 4 pairs each.
    assert_eq!(sample.measured_pairs, 36);
}

/// 1000 hosts, 100 on each of the sites s0 to s9, and the matrix of `network` over them: a 1 ms
/// default, then between each two sites si and sj (i < j) a symmetric (i + j) × 10 ms, then the
/// extra `constraints` lines.
fn thousand(constraints: &str) -> (Vec<WanHost>, WanMatrix) {
    let sites: String = (0..10)
        .map(|i| format!("  s{i}: {{roles: {{node: 100}}}}\n"))
        .collect();
    let mut network = String::from("  default_delay: 1ms\n  constraints:\n");
    for i in 0..10 {
        for j in i + 1..10 {
            network.push_str(&format!(
                "    - {{src: s{i}, dst: s{j}, delay: {}ms, symmetric: true}}\n",
                (i + j) * 10
            ));
        }
    }
    network.push_str(constraints);
    let text = format!("name: big\nsites:\n{sites}network:\n{network}");
    let s = enos_scenario::parse(&text, "t.yaml", &[&enos_scenario::UncheckedKind("local")])
        .unwrap_or_else(|e| panic!("{e}"));
    let hosts: Vec<WanHost> = s
        .hosts()
        .into_iter()
        .enumerate()
        .map(|(i, h)| WanHost {
            name: h.name,
            site: h.site,
            role: h.role,
            address: IpAddr::V4(Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 1) as u8)),
        })
        .collect();
    let m = resolve(&s.network, &hosts);
    (hosts, m)
}

/// The measured pairs of a plan per (source site, destination site).
fn per_site_pair(
    hosts: &[WanHost],
    plan: &enos_wan::validate::ProbePlan,
) -> BTreeMap<(String, String), Vec<(usize, usize)>> {
    let mut by: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    for (a, b) in plan.pairs() {
        by.entry((hosts[a].site.clone(), hosts[b].site.clone()))
            .or_default()
            .push((a, b));
    }
    by
}

#[test]
fn a_thousand_hosts_measure_four_pairs_per_site_pair_both_ways() {
    let (hosts, m) = thousand("");
    let plan = probe_plan(&hosts, &m, SAMPLE_THRESHOLD);
    assert!(plan.sampled);
    assert_eq!(plan.total_pairs, 999_000);
    assert_eq!(plan.measured_pairs, 400);
    assert_eq!(plan.pairs().count(), 400);
    let by = per_site_pair(&hosts, &plan);
    // Every one of the 100 site pairs, the 10 inside a site included, has 4 pairs.
    assert_eq!(by.len(), 100);
    assert!(by.values().all(|pairs| pairs.len() == 4), "{by:?}");
    // Each pair measured both ways, never a host to itself.
    let all: BTreeSet<(usize, usize)> = plan.pairs().collect();
    assert!(all.iter().all(|&(a, b)| a != b && all.contains(&(b, a))));
    // Spread over hosts: most of the 400 pairs have a source of their own.
    let sources: BTreeSet<usize> = all.iter().map(|&(a, _)| a).collect();
    assert!(sources.len() >= 150, "{} sources", sources.len());
    // Deterministic.
    assert_eq!(probe_plan(&hosts, &m, SAMPLE_THRESHOLD), plan);
    // Under a high enough limit, every pair.
    let full = probe_plan(&hosts[..100], &m, SAMPLE_THRESHOLD * 4);
    assert_eq!((full.sampled, full.measured_pairs), (false, 9900));
}

#[test]
fn a_sample_covers_the_classes_that_split_a_site() {
    // s3-node-7 alone is 99 ms towards s5: its own class in s3.
    let (hosts, m) = thousand("    - {src: s3-node-7, dst: s5, delay: 99ms}\n");
    let plan = probe_plan(&hosts, &m, SAMPLE_THRESHOLD);
    let by = per_site_pair(&hosts, &plan);
    let lone = hosts.iter().position(|h| h.name == "s3-node-7").unwrap();
    let s3_s5 = &by[&("s3".to_owned(), "s5".to_owned())];
    assert!(s3_s5.iter().any(|&(a, _)| a == lone), "{s3_s5:?}");
    assert!(s3_s5.iter().any(|&(a, _)| a != lone), "{s3_s5:?}");
    // Inside s3, the lone host towards the others, and the others among themselves.
    let s3 = &by[&("s3".to_owned(), "s3".to_owned())];
    assert!(s3.iter().any(|&(a, _)| a == lone), "{s3:?}");
    assert!(s3.iter().any(|&(a, b)| a != lone && b != lone), "{s3:?}");
    // Bounded all the same.
    assert!(by.values().all(|pairs| (1..=16).contains(&pairs.len())));
    assert!(plan.measured_pairs <= 16 * 100);
    // And what is asked of the lone host's pairs is its own.
    let index = m.index();
    let asked = asked_in(&index, "s3-node-7", "s5-node-1");
    assert_eq!(asked.rtt_ms, 99.0 + 80.0);
}

#[test]
fn a_plan_takes_extra_pairs() {
    let hosts = hosts(&[("a", "s"), ("b", "s"), ("c", "t")]);
    let mut plan = probe_plan(&hosts, &WanMatrix::default(), 2);
    assert!(plan.sampled);
    let before = plan.measured_pairs;
    let had = plan.targets[0].contains(&2);
    assert_eq!(plan.add_pair(0, 2), !had);
    assert!(!plan.add_pair(0, 2));
    assert!(!plan.add_pair(1, 1));
    assert!(!plan.add_pair(1, 7));
    assert_eq!(plan.measured_pairs, before + usize::from(!had));
    assert!(plan.targets[0].windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_sampled_report_says_so_everywhere() {
    let (hosts, m) = thousand("");
    let plan = probe_plan(&hosts, &m, SAMPLE_THRESHOLD);
    let index = m.index();
    // Every planned pair measures as asked, plus probes of pairs not planned (ignored).
    let mut rtts: Vec<PairProbes> = plan
        .pairs()
        .map(|(a, b)| {
            let ms = asked_in(&index, &hosts[a].name, &hosts[b].name).rtt_ms;
            steady(&hosts[a].name, &hosts[b].name, ms, 5)
        })
        .collect();
    let all: BTreeSet<(usize, usize)> = plan.pairs().collect();
    let stranger = (0..hosts.len())
        .flat_map(|a| (0..hosts.len()).map(move |b| (a, b)))
        .find(|&(a, b)| a != b && !all.contains(&(a, b)))
        .unwrap();
    rtts.push(steady(
        &hosts[stranger.0].name,
        &hosts[stranger.1].name,
        99.0,
        5,
    ));
    let r = validate_plan(&hosts, &m, &plan, &rtts, &[], &Tolerance::default());
    assert!(
        r.passed(),
        "{:?}",
        r.rows.iter().find(|r| r.verdict == Verdict::Fail)
    );
    assert!(r.sampled);
    assert_eq!(
        (r.pairs, r.pairs_measured, r.pairs_total),
        (400, 400, 999_000)
    );
    assert_eq!(
        sample_summary(&r).as_deref(),
        Some("measured a sample: 400 of 999,000 ordered pairs (up to 4 per site pair)")
    );
    let table = site_table(&r);
    assert!(
        table.ends_with(
            "measured a sample: 400 of 999,000 ordered pairs (up to 4 per site pair)\n\
             400 pairs, 0 outside tolerance\n"
        ),
        "{table}"
    );
    let csv = to_csv(&r);
    assert!(csv.lines().skip(1).all(|l| l.ends_with(",true,false")));
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["sampled"], true);
    assert_eq!(json["pairs_total"], 999_000);
    assert_eq!(json["pairs_measured"], 400);
    // `validate` samples the same way on its own.
    assert_eq!(validate(&hosts, &m, &rtts, &[], &Tolerance::default()), r);
    // A planned pair without probes fails.
    let r = validate_plan(&hosts, &m, &plan, &rtts[1..], &[], &Tolerance::default());
    assert_eq!(r.failed, 1);
    assert_eq!(r.rows[0].reasons, vec!["no probe sent".to_owned()]);
}

#[test]
fn a_full_report_has_no_sample_line() {
    assert_eq!(sample_summary(&three_sites()), None);
}
