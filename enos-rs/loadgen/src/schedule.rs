//! The open loop's schedule: the intended send time of every request, computed from the start of
//! the run (request `j` of a step at rate `r` that starts at `s` is intended at `s + j / r`), so
//! that a late request never shifts the ones after it.

use std::time::Duration;

use crate::Step;

/// One request of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slot {
    /// Its intended send time, from the start of the run.
    pub offset: Duration,
    /// Whether it falls in the warm-up.
    pub warmup: bool,
}

/// The intended send times, in order: the warm-up at the first step's rate, then the steps,
/// until the measured part lasts `duration` or holds `requests` requests.
pub(crate) struct Schedule {
    /// `(rate, length, warmup)` of each phase.
    phases: Vec<(f64, Duration, bool)>,
    phase: usize,
    /// Where the current phase starts.
    phase_start: Duration,
    /// The index of the next request in the current phase.
    next: u64,
    /// Where the measured part ends (from the start of the run).
    end: Option<Duration>,
    /// Measured requests left to schedule.
    left: Option<u64>,
}

impl Schedule {
    pub(crate) fn new(
        steps: &[Step],
        warmup: Duration,
        duration: Option<Duration>,
        requests: Option<u64>,
    ) -> Self {
        let mut phases = Vec::with_capacity(steps.len() + 1);
        if let Some(first) = steps.first()
            && !warmup.is_zero()
        {
            phases.push((first.rate, warmup, true));
        }
        phases.extend(steps.iter().map(|s| (s.rate, s.duration, false)));
        Self {
            phases,
            phase: 0,
            phase_start: Duration::ZERO,
            next: 0,
            end: duration.map(|d| warmup.saturating_add(d)),
            left: requests,
        }
    }
}

impl Iterator for Schedule {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        loop {
            let &(rate, length, warmup) = self.phases.get(self.phase)?;
            let at = Duration::from_secs_f64(self.next as f64 / rate);
            if rate <= 0.0 || at >= length {
                self.phase += 1;
                self.phase_start = self.phase_start.saturating_add(length);
                self.next = 0;
                continue;
            }
            let offset = self.phase_start + at;
            if !warmup {
                if self.end.is_some_and(|end| offset >= end) || self.left == Some(0) {
                    return None;
                }
                if let Some(left) = &mut self.left {
                    *left -= 1;
                }
            }
            self.next += 1;
            return Some(Slot { offset, warmup });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, secs: u64) -> Step {
        Step {
            rate,
            duration: Duration::from_secs(secs),
        }
    }

    #[test]
    fn steps_follow_each_other_after_the_warmup() {
        let slots: Vec<Slot> = Schedule::new(
            &[step(2.0, 2), step(4.0, 1)],
            Duration::from_secs(1),
            None,
            None,
        )
        .collect();
        let offsets: Vec<f64> = slots.iter().map(|s| s.offset.as_secs_f64()).collect();
        assert_eq!(
            offsets,
            [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.25, 3.5, 3.75]
        );
        assert_eq!(slots.iter().filter(|s| s.warmup).count(), 2);
    }

    #[test]
    fn duration_and_count_stop_the_measured_part() {
        let forever = [step(10.0, u64::MAX / 4)];
        let by_time = Schedule::new(&forever, Duration::ZERO, Some(Duration::from_secs(3)), None);
        assert_eq!(by_time.count(), 30);
        let by_count = Schedule::new(&forever, Duration::from_secs(1), None, Some(7));
        assert_eq!(by_count.filter(|s| !s.warmup).count(), 7);
    }
}
