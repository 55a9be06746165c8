//! A log-linear histogram of fixed size (HdrHistogram's layout, two significant digits).
//!
//! Values below 128 have a bucket each; above, every power of two is cut into 64 buckets, so a
//! value is known within 1/64 (1.6 %) of itself. 3,776 counters cover all of `u64`: 30 KiB,
//! whatever the number of values recorded.

/// Buckets of width 1 below this value.
const LINEAR: u64 = 128;
/// Buckets per power of two above [`LINEAR`].
const PER_OCTAVE: u64 = 64;
/// Enough buckets for `u64::MAX`.
const BUCKETS: usize = ((64 - 7) * PER_OCTAVE + LINEAR) as usize;

/// Counts of values (nanoseconds here) by bucket, with the exact maximum.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }
}

fn index(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let msb = 63 - u64::from(value.leading_zeros());
    let shift = msb - 6;
    // value >> shift lies in 64..128.
    (shift * PER_OCTAVE + (value >> shift)) as usize
}

/// The highest value that falls in bucket `index`.
fn highest(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let shift = index / PER_OCTAVE - 1;
    let sub = index % PER_OCTAVE + PER_OCTAVE;
    ((sub + 1) << shift).wrapping_sub(1).max(sub << shift)
}

impl Histogram {
    /// Counts one value.
    pub fn record(&mut self, value: u64) {
        self.counts[index(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded, exactly (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at or below which `q` (0 to 1) of the values lie, by excess (the highest value
    /// of its bucket, never above the maximum); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_precise() {
        let mut previous = 0;
        for value in (0..100_000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let i = index(value);
            assert!(i < BUCKETS);
            assert!(i >= previous, "index goes down at {value}");
            assert!(highest(i) >= value, "{value} above its bucket");
            assert!(highest(i) - value <= value / 64, "{value}: bucket too wide");
            previous = i;
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(ms * 1_000_000);
        }
        let within = |got: u64, want: u64| got >= want && got - want <= want / 64;
        assert!(within(h.quantile(0.5), 500_000_000), "{}", h.quantile(0.5));
        assert!(
            within(h.quantile(0.99), 990_000_000),
            "{}",
            h.quantile(0.99)
        );
        assert_eq!(h.quantile(1.0), 1_000_000_000);
        assert_eq!(h.max(), 1_000_000_000);
        assert_eq!(h.count(), 1000);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}
