//! Kwollect's points, their energy by the trapezoid rule, and Grid'5000 host names.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Dedicated wattmeters: node-level power, one value a second (20 ms in full-monitoring mode).
pub const WATTMETRE_POWER: &str = "wattmetre_power_watt";
/// The node's BMC: about one value every 5 s, highly averaged.
pub const BMC_POWER: &str = "bmc_node_power_watt";
/// The node's PDU outlet, published when the node has a single PDU.
pub const PDU_OUTLET_POWER: &str = "pdu_outlet_power_watt";

/// One measurement, as Kwollect gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// When it was measured.
    pub time: Timestamp,
    /// The node (Kwollect's `device_id`), e.g. `taurus-7`.
    pub node: String,
    /// The metric (Kwollect's `metric_id`), e.g. [`WATTMETRE_POWER`].
    pub metric: String,
    /// The value (watts for power metrics).
    pub value: f64,
    /// Kwollect's labels, e.g. `_device_orig` (a string or a list).
    pub labels: serde_json::Map<String, serde_json::Value>,
}

/// The wire shape of a point.
#[derive(Deserialize)]
pub(crate) struct WirePoint {
    timestamp: Timestamp,
    device_id: String,
    metric_id: String,
    value: f64,
    #[serde(default)]
    labels: serde_json::Map<String, serde_json::Value>,
}

impl From<WirePoint> for Point {
    fn from(wire: WirePoint) -> Self {
        Self {
            time: wire.timestamp,
            node: wire.device_id,
            metric: wire.metric_id,
            value: wire.value,
            labels: wire.labels,
        }
    }
}

/// The energy of one (node, metric) series over the points given.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Energy {
    /// The node.
    pub node: String,
    /// The power metric it was computed from.
    pub metric: String,
    /// Joules between `first` and `last`, by the trapezoid rule.
    pub joules: f64,
    /// How many points the series has.
    pub samples: usize,
    /// The first point's time.
    pub first: Timestamp,
    /// The last point's time.
    pub last: Timestamp,
    /// `joules` over the seconds from `first` to `last`; the mean of the values when they are
    /// all at one instant.
    pub mean_watts: f64,
    /// The longest time between two successive points, in seconds: the trapezoid rule bridges
    /// gaps linearly, so a gap much longer than the metric's period means missing data.
    pub largest_gap_seconds: f64,
}

/// Integrates each (node, metric) series of `points` (in any order) by the trapezoid rule,
/// `E = Σ ½(P_i + P_{i+1})·(t_{i+1} − t_i)`. Values are taken as watts, so only power metrics
/// give joules. Results are sorted by node then metric.
pub fn energy(points: &[Point]) -> Vec<Energy> {
    let mut series: BTreeMap<(&str, &str), Vec<&Point>> = BTreeMap::new();
    for point in points {
        series
            .entry((&point.node, &point.metric))
            .or_default()
            .push(point);
    }
    let mut energies = Vec::with_capacity(series.len());
    for ((node, metric), mut samples) in series {
        samples.sort_by_key(|point| point.time);
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            continue;
        };
        let mut joules = 0.0;
        let mut largest_gap_seconds: f64 = 0.0;
        for pair in samples.windows(2) {
            let seconds = pair[1].time.duration_since(pair[0].time).as_secs_f64();
            largest_gap_seconds = largest_gap_seconds.max(seconds);
            joules += 0.5 * (pair[0].value + pair[1].value) * seconds;
        }
        let span_seconds = last.time.duration_since(first.time).as_secs_f64();
        let mean_watts = if span_seconds > 0.0 {
            joules / span_seconds
        } else {
            samples.iter().map(|point| point.value).sum::<f64>() / samples.len() as f64
        };
        energies.push(Energy {
            node: node.to_string(),
            metric: metric.to_string(),
            joules,
            samples: samples.len(),
            first: first.time,
            last: last.time,
            mean_watts,
            largest_gap_seconds,
        });
    }
    energies
}

/// A Grid'5000 node as Kwollect names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeAddress {
    /// The site, e.g. `lyon`.
    pub site: String,
    /// The node's short name, e.g. `taurus-7`.
    pub node: String,
}

/// The site and node of a Grid'5000 host name: `taurus-7.lyon.grid5000.fr` and
/// `taurus-7-kavlan-4.lyon.grid5000.fr` both give site `lyon`, node `taurus-7`. `None` for
/// any other name (IP addresses, other domains, bare names).
pub fn node_address(host: &str) -> Option<NodeAddress> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let [node, site, "grid5000", "fr"] = labels.as_slice() else {
        return None;
    };
    let node = match node.rsplit_once("-kavlan-") {
        Some((base, vlan)) if !vlan.is_empty() && vlan.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => node,
    };
    let is_name = |text: &str| {
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    (is_name(node) && is_name(site)).then(|| NodeAddress {
        site: site.to_string(),
        node: node.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(node: &str, metric: &str, time: &str, value: f64) -> Point {
        Point {
            time: time.parse().expect("valid timestamp"),
            node: node.into(),
            metric: metric.into(),
            value,
            labels: serde_json::Map::new(),
        }
    }

    #[test]
    fn trapezoid_energy_per_series() {
        let points = vec![
            // Out of order on purpose; 100 W → 200 W over 2 s, then 200 W for 3 s: 300 + 600 J.
            point("taurus-7", WATTMETRE_POWER, "2025-01-01T00:00:05Z", 200.0),
            point("taurus-7", WATTMETRE_POWER, "2025-01-01T00:00:00Z", 100.0),
            point("taurus-7", WATTMETRE_POWER, "2025-01-01T00:00:02Z", 200.0),
            // Another node, one sample only: no energy, mean is the value.
            point("taurus-1", WATTMETRE_POWER, "2025-01-01T00:00:00Z", 90.0),
            // Another metric on the same node, with a +02:00 offset and 500 ms steps.
            point("taurus-7", BMC_POWER, "2025-01-01T02:00:00.5+02:00", 10.0),
            point("taurus-7", BMC_POWER, "2025-01-01T02:00:01+02:00", 30.0),
        ];
        let energies = energy(&points);
        assert_eq!(energies.len(), 3);

        assert_eq!(
            (energies[0].node.as_str(), energies[0].metric.as_str()),
            ("taurus-1", WATTMETRE_POWER)
        );
        assert_eq!(energies[0].joules, 0.0);
        assert_eq!(energies[0].samples, 1);
        assert_eq!(energies[0].mean_watts, 90.0);

        assert_eq!(
            (energies[1].node.as_str(), energies[1].metric.as_str()),
            ("taurus-7", BMC_POWER)
        );
        assert!(
            (energies[1].joules - 10.0).abs() < 1e-9,
            "{:?}",
            energies[1]
        );
        assert!((energies[1].mean_watts - 20.0).abs() < 1e-9);

        let wattmetre = &energies[2];
        assert_eq!(
            (wattmetre.node.as_str(), wattmetre.metric.as_str()),
            ("taurus-7", WATTMETRE_POWER)
        );
        assert!((wattmetre.joules - 900.0).abs() < 1e-9, "{wattmetre:?}");
        assert_eq!(wattmetre.samples, 3);
        assert_eq!(
            wattmetre.first,
            "2025-01-01T00:00:00Z".parse::<Timestamp>().expect("valid")
        );
        assert_eq!(
            wattmetre.last,
            "2025-01-01T00:00:05Z".parse::<Timestamp>().expect("valid")
        );
        assert!((wattmetre.mean_watts - 180.0).abs() < 1e-9);
        assert!((wattmetre.largest_gap_seconds - 3.0).abs() < 1e-9);
    }

    #[test]
    fn no_points_no_energy() {
        assert!(energy(&[]).is_empty());
    }

    #[test]
    fn host_names() {
        let lyon_taurus_7 = Some(NodeAddress {
            site: "lyon".into(),
            node: "taurus-7".into(),
        });
        assert_eq!(node_address("taurus-7.lyon.grid5000.fr"), lyon_taurus_7);
        assert_eq!(
            node_address("taurus-7-kavlan-4.lyon.grid5000.fr"),
            lyon_taurus_7
        );
        assert_eq!(node_address("Taurus-7.Lyon.grid5000.fr."), lyon_taurus_7);
        assert_eq!(node_address("taurus-7"), None);
        assert_eq!(node_address("taurus-7.lyon.example.org"), None);
        assert_eq!(node_address("172.16.48.7"), None);
        assert_eq!(node_address("lyon.grid5000.fr"), None);
        assert_eq!(node_address("a.b.lyon.grid5000.fr"), None);
        assert_eq!(node_address("-kavlan-4.lyon.grid5000.fr"), None);
    }
}
