//! The per-pair traffic model: loss, queue limit, serialization at a rate, delay, jitter,
//! order. Pure arithmetic on nanosecond timestamps, so that it can be tested without a clock.

use crate::config::PairRule;

/// A [`PairRule`] in the units the model works with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// Constant delay, in nanoseconds.
    pub delay_ns: u64,
    /// Half-width of the uniform jitter, in nanoseconds.
    pub jitter_ns: u64,
    /// Rate in bits per second; 0 is unlimited.
    pub rate_bps: u64,
    /// Loss probability, 0..=1.
    pub loss: f64,
}

impl From<&PairRule> for Shape {
    fn from(rule: &PairRule) -> Self {
        Self {
            delay_ns: u64::try_from(rule.delay.as_nanos()).unwrap_or(u64::MAX),
            jitter_ns: u64::try_from(rule.jitter.as_nanos()).unwrap_or(u64::MAX),
            rate_bps: rule.rate_bps,
            loss: if rule.loss.is_finite() {
                rule.loss.clamp(0.0, 1.0)
            } else {
                0.0
            },
        }
    }
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver the packet at this time (nanoseconds on the emulator's clock).
    Release(u64),
    /// Dropped at random.
    Lost,
    /// Dropped because too many packets already wait in the pair.
    QueueFull,
}

/// The state the model keeps for one ordered pair of hosts (source and destination
/// addresses): the rate paces each pair of hosts on its own, as netem does on each host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PairState {
    /// When the emulated link finishes sending the last accepted packet.
    busy_until: u64,
    /// Release time of the last accepted packet: later packets never leave before it.
    last_release: u64,
}

/// Time to serialize `len` bytes at `rate_bps`, rounded up, in nanoseconds.
pub(crate) fn transmission_ns(len: usize, rate_bps: u64) -> u64 {
    if rate_bps == 0 {
        return 0;
    }
    let bits = (len as u128) * 8 * 1_000_000_000;
    u64::try_from(bits.div_ceil(u128::from(rate_bps))).unwrap_or(u64::MAX)
}

impl PairState {
    /// Tells whether the state is back to its default as far as packets read from `now` on
    /// are concerned: the link is free and nothing accepted is released later. Such a state,
    /// when no packet of the pair waits any more, can be forgotten without changing anything.
    pub(crate) fn is_settled(&self, now: u64) -> bool {
        self.busy_until <= now && self.last_release <= now
    }

    /// Release time of the last accepted packet.
    pub(crate) fn last_release(&self) -> u64 {
        self.last_release
    }

    /// Decides the fate of a packet of `len` bytes read at `now`, while `waiting` packets
    /// of the pair are not yet released.
    ///
    /// Without a shape the packet leaves at once, unless an earlier packet of the pair is
    /// still waiting, in which case it leaves right after it.
    pub(crate) fn admit(
        &mut self,
        shape: Option<&Shape>,
        now: u64,
        len: usize,
        waiting: usize,
        queue_limit: usize,
        rng: &mut fastrand::Rng,
    ) -> Verdict {
        let Some(shape) = shape else {
            let release = now.max(self.last_release);
            self.last_release = release;
            return Verdict::Release(release);
        };
        // As netem: random loss first, then the queue limit.
        if shape.loss >= 1.0 || (shape.loss > 0.0 && rng.f64() < shape.loss) {
            return Verdict::Lost;
        }
        if waiting >= queue_limit {
            return Verdict::QueueFull;
        }
        let mut departure = now;
        if shape.rate_bps > 0 {
            departure = now
                .max(self.busy_until)
                .saturating_add(transmission_ns(len, shape.rate_bps));
            self.busy_until = departure;
        }
        let mut release = departure.saturating_add(shape.delay_ns);
        if shape.jitter_ns > 0 {
            let span = shape.jitter_ns.saturating_mul(2);
            let offset = rng.u64(0..=span);
            release = release
                .saturating_add(offset)
                .saturating_sub(shape.jitter_ns);
            release = release.max(now);
        }
        release = release.max(self.last_release);
        self.last_release = release;
        Verdict::Release(release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn shape(delay_ms: u64, jitter_ms: u64, rate_bps: u64, loss: f64) -> Shape {
        Shape {
            delay_ns: delay_ms * MS,
            jitter_ns: jitter_ms * MS,
            rate_bps,
            loss,
        }
    }

    #[test]
    fn transmission_time() {
        assert_eq!(transmission_ns(1500, 0), 0);
        // 1500 bytes at 12 Mbit/s: 1 ms.
        assert_eq!(transmission_ns(1500, 12_000_000), MS);
        // Rounded up.
        assert_eq!(transmission_ns(1, 3), 2_666_666_667);
        assert_eq!(transmission_ns(usize::MAX, 1), u64::MAX);
    }

    #[test]
    fn no_shape_forwards_now_but_keeps_order() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut state = PairState::default();
        assert_eq!(
            state.admit(None, 10, 100, 0, 10, &mut rng),
            Verdict::Release(10)
        );
        let delayed = shape(5, 0, 0, 0.0);
        assert_eq!(
            state.admit(Some(&delayed), 20, 100, 0, 10, &mut rng),
            Verdict::Release(20 + 5 * MS)
        );
        // The rule is gone, a packet still waits: the next one follows it.
        assert_eq!(
            state.admit(None, 30, 100, 1, 10, &mut rng),
            Verdict::Release(20 + 5 * MS)
        );
    }

    #[test]
    fn rate_serializes_packets() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut state = PairState::default();
        let link = shape(10, 0, 12_000_000, 0.0);
        // Three back-to-back packets of 1 ms each, then the delay.
        for k in 1..=3 {
            assert_eq!(
                state.admit(Some(&link), 0, 1500, 0, 10, &mut rng),
                Verdict::Release(k * MS + 10 * MS)
            );
        }
        // After an idle time the link is free again.
        assert_eq!(
            state.admit(Some(&link), 100 * MS, 1500, 0, 10, &mut rng),
            Verdict::Release(111 * MS)
        );
    }

    #[test]
    fn queue_limit_drops_at_the_tail_without_advancing_the_link() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut state = PairState::default();
        let link = shape(0, 0, 12_000_000, 0.0);
        assert_eq!(
            state.admit(Some(&link), 0, 1500, 2, 2, &mut rng),
            Verdict::QueueFull
        );
        assert_eq!(
            state.admit(Some(&link), 0, 1500, 1, 2, &mut rng),
            Verdict::Release(MS)
        );
    }

    #[test]
    fn loss_is_a_fraction_and_seeded() {
        let lossy = shape(0, 0, 0, 0.1);
        let count = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut state = PairState::default();
            (0..100_000)
                .filter(|_| state.admit(Some(&lossy), 0, 100, 0, 10, &mut rng) == Verdict::Lost)
                .count()
        };
        let lost = count(7);
        assert_eq!(lost, count(7), "same seed, same losses");
        assert!((9_500..=10_500).contains(&lost), "{lost} lost of 100000");

        let mut rng = fastrand::Rng::with_seed(1);
        let mut state = PairState::default();
        let cut = shape(0, 0, 0, 1.0);
        assert!((0..1000).all(|_| state.admit(Some(&cut), 0, 1, 0, 10, &mut rng) == Verdict::Lost));
    }

    #[test]
    fn jitter_stays_in_range_and_never_reorders() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut state = PairState::default();
        let wobbly = shape(25, 2, 0, 0.0);
        let mut previous = 0;
        let mut spread = (u64::MAX, 0);
        for k in 0..10_000u64 {
            // One packet every 10 ms: wider apart than the jitter, so never held back.
            let now = k * 10 * MS;
            let Verdict::Release(release) = state.admit(Some(&wobbly), now, 100, 0, 10, &mut rng)
            else {
                panic!("no loss configured");
            };
            assert!(release >= previous, "reordered");
            previous = release;
            let delay = release - now;
            assert!((23 * MS..=27 * MS).contains(&delay), "{delay}");
            spread = (spread.0.min(delay), spread.1.max(delay));
        }
        assert!(spread.0 < 23 * MS + MS / 10 && spread.1 > 27 * MS - MS / 10);

        // Packets closer than the jitter are held back, never reordered.
        let mut state = PairState::default();
        let mut previous = 0;
        for k in 0..10_000u64 {
            let Verdict::Release(release) =
                state.admit(Some(&wobbly), k * 1000, 100, 0, 10, &mut rng)
            else {
                panic!("no loss configured");
            };
            assert!(release >= previous, "reordered");
            previous = release;
        }
    }

    #[test]
    fn a_settled_state_acts_as_a_new_one() {
        let link = shape(2, 1, 12_000_000, 0.0);
        let mut used = PairState::default();
        let mut rng = fastrand::Rng::with_seed(9);
        let Verdict::Release(release) = used.admit(Some(&link), 0, 1500, 0, 10, &mut rng) else {
            panic!("no loss configured");
        };
        assert!(!used.is_settled(release - 1));
        assert!(used.is_settled(release));
        for now in [release, release + 7 * MS] {
            let mut a = fastrand::Rng::with_seed(now);
            let mut b = fastrand::Rng::with_seed(now);
            let mut fresh = PairState::default();
            let mut old = used;
            for k in 0..5 {
                assert_eq!(
                    old.admit(Some(&link), now + k, 1500, 0, 10, &mut a),
                    fresh.admit(Some(&link), now + k, 1500, 0, 10, &mut b)
                );
            }
        }
    }

    #[test]
    fn jitter_larger_than_delay_is_clamped_to_now() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut state = PairState::default();
        let wobbly = shape(1, 5, 0, 0.0);
        for k in 0..1000u64 {
            let now = k * 100 * MS;
            let Verdict::Release(release) = state.admit(Some(&wobbly), now, 100, 0, 10, &mut rng)
            else {
                panic!("no loss configured");
            };
            assert!(release >= now);
        }
    }
}
