//! `enos compare A B`: per workload and point, how B's latency differs from A's, and whether
//! that is a regression, an improvement or noise.
//!
//! * Two single runs: the requests' latencies of each point are compared with a rank test
//!   (Mann–Whitney U, normal approximation with the tie correction): significant when
//!   p < [`ALPHA`], the effect (the probability that a request of B is slower than one of A,
//!   minus the reverse) is at least [`MIN_EFFECT`] in size, and the medians differ by more than
//!   the threshold.
//! * Sets of runs: rustc-perf's rule. A point's median latency varies from run to run; the
//!   baseline's relative differences between its own runs give the noise, and a change is
//!   significant beyond Q3 + 3·IQR of them (and beyond the threshold).
//!
//! Higher latency is worse. Errors are compared as rates, beside.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// The p-value below which a rank test's difference is not chance.
pub const ALPHA: f64 = 0.01;
/// The smallest effect size that counts: below, the distributions overlap almost fully.
pub const MIN_EFFECT: f64 = 0.1;

/// What a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly slower.
    Regression,
    /// Significantly faster.
    Improvement,
    /// Within what chance and the runs' own variation explain.
    Noise,
}

/// The comparison of one point of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The workload, or `workload/operation` ([`crate::workload_label`]).
    pub workload: String,
    /// The point's labels (JSON).
    pub params: String,
    /// Median latency of A, in ms (the mean of its runs' medians for a set).
    pub a_median_ms: f64,
    /// Median latency of B, in ms.
    pub b_median_ms: f64,
    /// `b / a − 1`.
    pub change: f64,
    /// The rank test's two-sided p-value (single runs).
    pub p_value: Option<f64>,
    /// P(B slower) − P(A slower) over pairs of requests (single runs), in [−1, 1].
    pub effect: Option<f64>,
    /// The noise threshold from the baseline's run-to-run variation (sets).
    pub noise_threshold: Option<f64>,
    /// Error rates of A and B.
    pub a_error_rate: f64,
    /// Error rate of B.
    pub b_error_rate: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// One run's latencies and errors per (workload, point params), warm-up left out; a workload
/// that does several things (Rally's scenarios) counts once per operation, as
/// `workload/operation` ([`crate::workload_label`]).
#[derive(Debug, Clone, Default)]
pub struct RunSamples {
    /// `(workload, params)` → (latencies in ms, errors, count).
    pub points: BTreeMap<(String, String), (Vec<f64>, u64, u64)>,
}

/// Reads the requests of an analysed experiment (`analysis/requests.parquet`), analysing it
/// first when it was not.
pub fn read_run(dir: &Path) -> Result<RunSamples, AnalysisError> {
    let file = dir.join(crate::ANALYSIS_DIR).join("requests.parquet");
    if !file.exists() {
        crate::analyze(dir)?;
    }
    let opened = std::fs::File::open(&file)
        .map_err(|e| AnalysisError::new(format!("cannot read {}: {e}", file.display())))?;
    let df = ParquetReader::new(opened).finish()?;
    let df = df.lazy().filter(col("warmup").not()).collect()?;
    let workloads = crate::tables::workload_labels(&df)?;
    let params = df.column("params")?.str()?.clone();
    let latency = df.column("latency_ms")?.f64()?.clone();
    let ok = df.column("ok")?.bool()?.clone();
    let mut run = RunSamples::default();
    for (i, workload) in workloads.into_iter().enumerate() {
        let key = (workload, params.get(i).unwrap_or_default().to_owned());
        let entry = run.points.entry(key).or_default();
        entry.2 += 1;
        if ok.get(i) != Some(true) {
            entry.1 += 1;
        }
        if let Some(l) = latency.get(i) {
            entry.0.push(l);
        }
    }
    Ok(run)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Linear-interpolated quantile of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = q * (sorted.len() - 1) as f64;
    let low = at.floor() as usize;
    let high = at.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (at - low as f64)
}

/// The complementary error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let r = poly * (-z * z).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Mann–Whitney U of `a` against `b`: the two-sided p-value (normal approximation, tie and
/// continuity corrections) and the effect P(b > a) − P(b < a).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, false))
        .chain(b.iter().map(|&v| (v, true)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_b = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_b += rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    // U of b: pairs where b is greater (ties count one half).
    let u_b = rank_b - n2f * (n2f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let variance = n1f * n2f / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)).max(1.0));
    let effect = 2.0 * u_b / (n1f * n2f) - 1.0;
    if variance <= 0.0 {
        return Some((1.0, effect));
    }
    let diff = u_b - mean;
    let corrected = (diff.abs() - 0.5).max(0.0);
    let z = corrected / variance.sqrt();
    let p = erfc(z / std::f64::consts::SQRT_2).min(1.0);
    Some((p, effect))
}

fn verdict_of(change: f64, significant: bool) -> Verdict {
    match (significant, change > 0.0) {
        (false, _) => Verdict::Noise,
        (true, true) => Verdict::Regression,
        (true, false) => Verdict::Improvement,
    }
}

fn error_rate(errors: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        errors as f64 / count as f64
    }
}

/// Compares runs `a` with runs `b` (one each: the rank test; more: rustc-perf's rule);
/// `threshold` is the smallest relative change of the median that may count (0.05: 5 %).
pub fn compare(a: &[RunSamples], b: &[RunSamples], threshold: f64) -> Vec<Comparison> {
    let mut keys: Vec<&(String, String)> = a.iter().flat_map(|r| r.points.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let gather = |runs: &[RunSamples]| -> Vec<(Vec<f64>, u64, u64)> {
            runs.iter()
                .filter_map(|r| r.points.get(key).cloned())
                .collect()
        };
        let (ra, rb) = (gather(a), gather(b));
        if ra.is_empty() || rb.is_empty() {
            continue;
        }
        let medians = |runs: &[(Vec<f64>, u64, u64)]| -> Vec<f64> {
            runs.iter()
                .filter_map(|(l, _, _)| median(&mut l.clone()))
                .collect()
        };
        let (ma, mb) = (medians(&ra), medians(&rb));
        if ma.is_empty() || mb.is_empty() {
            continue;
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (a_median, b_median) = (mean(&ma), mean(&mb));
        let change = if a_median > 0.0 {
            b_median / a_median - 1.0
        } else {
            0.0
        };
        let totals = |runs: &[(Vec<f64>, u64, u64)]| {
            runs.iter()
                .fold((0, 0), |(e, c), (_, re, rc)| (e + re, c + rc))
        };
        let ((ea, ca), (eb, cb)) = (totals(&ra), totals(&rb));
        let mut comparison = Comparison {
            workload: key.0.clone(),
            params: key.1.clone(),
            a_median_ms: a_median,
            b_median_ms: b_median,
            change,
            p_value: None,
            effect: None,
            noise_threshold: None,
            a_error_rate: error_rate(ea, ca),
            b_error_rate: error_rate(eb, cb),
            verdict: Verdict::Noise,
        };
        if ra.len() == 1 && rb.len() == 1 {
            if let Some((p, effect)) = mann_whitney(&ra[0].0, &rb[0].0) {
                comparison.p_value = Some(p);
                comparison.effect = Some(effect);
                let significant =
                    p < ALPHA && effect.abs() >= MIN_EFFECT && change.abs() > threshold;
                comparison.verdict = verdict_of(change, significant);
            }
        } else {
            // The baseline's own run-to-run variation: every pair of its runs.
            let mut diffs: Vec<f64> = Vec::new();
            for i in 0..ma.len() {
                for j in 0..ma.len() {
                    if i != j && ma[j] > 0.0 {
                        diffs.push((ma[i] / ma[j] - 1.0).abs());
                    }
                }
            }
            diffs.sort_by(f64::total_cmp);
            let noise = if diffs.is_empty() {
                0.0
            } else {
                let (q1, q3) = (quantile(&diffs, 0.25), quantile(&diffs, 0.75));
                q3 + 3.0 * (q3 - q1)
            };
            comparison.noise_threshold = Some(noise);
            let significant = change.abs() > noise.max(threshold);
            comparison.verdict = verdict_of(change, significant);
        }
        out.push(comparison);
    }
    out
}

/// The comparisons as JUnit XML: one test case per point, a failure per regression.
pub fn junit(comparisons: &[Comparison]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = comparisons
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"enos compare\" tests=\"{}\" failures=\"{failures}\">\n",
        comparisons.len()
    );
    for c in comparisons {
        let name = escape(&format!("{} {}", c.workload, c.params));
        xml.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{name}\">",
            escape(&c.workload)
        ));
        if c.verdict == Verdict::Regression {
            xml.push_str(&format!(
                "<failure message=\"median latency {:.3} ms → {:.3} ms ({:+.1} %)\"/>",
                c.a_median_ms,
                c.b_median_ms,
                c.change * 100.0
            ));
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("</testsuite>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(key: &str, latencies: Vec<f64>) -> RunSamples {
        let mut r = RunSamples::default();
        let n = latencies.len() as u64;
        r.points
            .insert((key.to_owned(), "{}".to_owned()), (latencies, 0, n));
        r
    }

    /// Deterministic jitter in [0, 1).
    fn jitter(i: usize, seed: u64) -> f64 {
        let x = (i as u64)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(seed);
        ((x >> 33) % 1000) as f64 / 1000.0
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-6);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-6);
    }

    #[test]
    fn a_shifted_distribution_is_a_regression_and_the_same_one_is_noise() {
        let a: Vec<f64> = (0..500).map(|i| 20.0 + jitter(i, 1)).collect();
        let same: Vec<f64> = (0..500).map(|i| 20.0 + jitter(i, 2)).collect();
        let slower: Vec<f64> = (0..500).map(|i| 30.0 + jitter(i, 3)).collect();
        let c = compare(&[run("ping", a.clone())], &[run("ping", slower)], 0.05);
        assert_eq!(c[0].verdict, Verdict::Regression, "{c:?}");
        assert!(c[0].p_value.unwrap() < 1e-10);
        assert!(c[0].effect.unwrap() > 0.99);
        let c = compare(&[run("ping", a.clone())], &[run("ping", same)], 0.05);
        assert_eq!(c[0].verdict, Verdict::Noise, "{c:?}");
        let faster: Vec<f64> = (0..500).map(|i| 10.0 + jitter(i, 4)).collect();
        let c = compare(&[run("ping", a)], &[run("ping", faster)], 0.05);
        assert_eq!(c[0].verdict, Verdict::Improvement, "{c:?}");
        assert!(junit(&c).contains("failures=\"0\""));
    }

    #[test]
    fn mann_whitney_agrees_with_a_small_exact_case() {
        // a < b everywhere: U_b = n1·n2, effect 1; scipy's mannwhitneyu (asymptotic, with
        // continuity) gives p = 0.0122 for these.
        let (p, effect) =
            mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!((effect - 1.0).abs() < 1e-12);
        assert!((p - 0.0122).abs() < 5e-4, "{p}");
        // Identical samples: no difference at all.
        let (p, effect) = mann_whitney(&[1.0, 1.0, 2.0], &[1.0, 1.0, 2.0]).unwrap();
        assert!(p > 0.9 && effect.abs() < 1e-12, "{p} {effect}");
    }

    #[test]
    fn sets_use_the_baselines_own_variation() {
        let runs = |medians: &[f64]| -> Vec<RunSamples> {
            medians
                .iter()
                .map(|&m| run("http", vec![m - 1.0, m, m + 1.0]))
                .collect()
        };
        let base = runs(&[10.0, 10.4, 9.8, 10.1]);
        // 3 % slower: within the baseline's noise (and the 5 % threshold).
        let c = compare(&base, &runs(&[10.3, 10.4]), 0.01);
        assert_eq!(c[0].verdict, Verdict::Noise, "{c:?}");
        assert!(c[0].noise_threshold.unwrap() > 0.03);
        // Twice as slow: a regression whatever the noise.
        let c = compare(&base, &runs(&[20.0, 21.0]), 0.05);
        assert_eq!(c[0].verdict, Verdict::Regression, "{c:?}");
        let xml = junit(&c);
        assert!(
            xml.contains("failures=\"1\"") && xml.contains("<failure message="),
            "{xml}"
        );
    }
}
