//! The waits between the attempts of a retried request.

use std::time::Duration;

/// The waits between the attempts of a request: for `attempts` attempts (the first included),
/// `attempts - 1` waits. The first wait is `initial` as given; each later one is the previous
/// times `factor` (saturating), at most `cap`. The cap bounds the growth only: an `initial`
/// above it is kept for the first wait (pass `initial.min(cap)` to bound every wait).
///
/// A retry loop takes the next wait after each failed attempt and gives up when there is none:
///
/// ```text
/// let mut waits = Backoff::new(attempts, initial, 2, cap);
/// loop {
///     match attempt().await { … worth another attempt => {} … }
///     let Some(wait) = waits.next() else { return Err(gave up) };
///     tokio::time::sleep(wait).await;
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Waits still to give.
    left: u32,
    /// The next wait.
    next: Duration,
    factor: u32,
    cap: Duration,
}

impl Backoff {
    /// The waits of `attempts` attempts (0 counts as 1: no wait), starting at `initial` and
    /// multiplied by `factor` after each wait, up to `cap`.
    pub fn new(attempts: u32, initial: Duration, factor: u32, cap: Duration) -> Self {
        Self {
            left: attempts.saturating_sub(1),
            next: initial,
            factor,
            cap,
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let wait = self.next;
        self.next = wait.saturating_mul(self.factor).min(self.cap);
        Some(wait)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.left).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Backoff {}

impl std::iter::FusedIterator for Backoff {}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn waits_grow_up_to_the_cap() {
        let waits: Vec<Duration> = Backoff::new(7, secs(2), 2, secs(60)).collect();
        assert_eq!(
            waits,
            [secs(2), secs(4), secs(8), secs(16), secs(32), secs(60)]
        );
        assert_eq!(Backoff::new(4, secs(1), 3, secs(60)).len(), 3);
        let waits: Vec<Duration> = Backoff::new(4, secs(1), 3, secs(60)).collect();
        assert_eq!(waits, [secs(1), secs(3), secs(9)]);
    }

    #[test]
    fn one_attempt_has_no_wait() {
        assert_eq!(Backoff::new(1, secs(2), 2, secs(60)).next(), None);
        assert_eq!(Backoff::new(0, secs(2), 2, secs(60)).next(), None);
        let mut waits = Backoff::new(2, secs(2), 2, secs(60));
        assert_eq!(waits.next(), Some(secs(2)));
        assert_eq!(waits.next(), None);
        assert_eq!(waits.next(), None);
    }

    #[test]
    fn the_cap_bounds_growth_not_the_first_wait() {
        let waits: Vec<Duration> = Backoff::new(4, secs(100), 2, secs(60)).collect();
        assert_eq!(waits, [secs(100), secs(60), secs(60)]);
        let waits: Vec<Duration> = Backoff::new(4, secs(100).min(secs(30)), 2, secs(30)).collect();
        assert_eq!(waits, [secs(30), secs(30), secs(30)]);
    }

    #[test]
    fn zero_and_huge_waits_do_not_overflow() {
        assert!(Backoff::new(5, Duration::ZERO, 2, secs(60)).all(|wait| wait.is_zero()));
        let waits: Vec<Duration> = Backoff::new(4, Duration::MAX, 2, Duration::MAX).collect();
        assert_eq!(waits, [Duration::MAX; 3]);
        let waits: Vec<Duration> = Backoff::new(4, secs(5), 1, secs(60)).collect();
        assert_eq!(waits, [secs(5); 3]);
    }
}
