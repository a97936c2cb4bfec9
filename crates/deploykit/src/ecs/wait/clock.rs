//! Time, injected: the wait asks a [`Clock`] what time it is and to sleep,
//! so tests run hours of polling instantly on a clock of their own, and
//! [`Schedule`] decides when to poll: every 2 s for the first 30 s (a
//! rollout that ends quickly is noticed quickly), then every `--interval`,
//! and never more than 20 DescribeServices calls in any 60 s (a poll makes
//! one call a cluster and ten services).

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

/// What the wait needs of time.
pub trait Clock {
    /// Time since the wait began.
    fn now(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock(Instant);

impl SystemClock {
    /// A clock whose time 0 is now.
    pub fn start() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Polls in quick succession at first.
pub const FAST: Duration = Duration::from_secs(2);
/// For this long.
pub const FAST_FOR: Duration = Duration::from_secs(30);
/// At most this many polls in any [`WINDOW`].
pub const MAX_PER_WINDOW: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(60);

/// When to poll next.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    /// DescribeServices calls a poll makes.
    calls: usize,
    /// The time of each recent call.
    recent: VecDeque<Duration>,
}

impl Schedule {
    pub fn new(interval: Duration) -> Self {
        Schedule {
            interval,
            calls: 1,
            recent: VecDeque::new(),
        }
    }

    /// Each poll makes `calls` DescribeServices calls (1 to 20).
    pub fn calls(mut self, calls: usize) -> Self {
        self.calls = calls.clamp(1, MAX_PER_WINDOW);
        self
    }

    /// Records a poll made at `at`.
    pub fn polled(&mut self, at: Duration) {
        for _ in 0..self.calls {
            self.recent.push_back(at);
        }
        while self.recent.len() > MAX_PER_WINDOW {
            self.recent.pop_front();
        }
    }

    /// The time of the next poll after one at `last`: the pace of the
    /// moment, held back so that no 60 s hold more than 20 calls.
    pub fn next(&self, last: Duration) -> Duration {
        let pace = if last < FAST_FOR { FAST } else { self.interval };
        let mut next = last.saturating_add(pace);
        let over = (self.recent.len() + self.calls).saturating_sub(MAX_PER_WINDOW);
        if over > 0
            && let Some(at) = self.recent.get(over - 1)
        {
            next = next.max(*at + WINDOW);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The poll times from 0 to `until` with `interval`.
    fn times(interval: u64, until: u64) -> Vec<u64> {
        let mut s = Schedule::new(Duration::from_secs(interval));
        let mut t = Duration::ZERO;
        let mut out = Vec::new();
        while t.as_secs() < until {
            out.push(t.as_secs());
            s.polled(t);
            t = s.next(t);
        }
        out
    }

    #[test]
    fn two_calls_a_poll_halve_the_polls_in_any_minute() {
        let mut s = Schedule::new(Duration::from_secs(3)).calls(2);
        let mut t = Duration::ZERO;
        let mut polls = Vec::new();
        while t < Duration::from_secs(300) {
            polls.push(t);
            s.polled(t);
            t = s.next(t);
        }
        for (i, start) in polls.iter().enumerate() {
            let in_window = polls[i..]
                .iter()
                .take_while(|p| **p < *start + WINDOW)
                .count();
            assert!(
                in_window * 2 <= MAX_PER_WINDOW,
                "{in_window} polls from {start:?}"
            );
        }
    }

    #[test]
    fn a_huge_interval_does_not_overflow() {
        let s = Schedule::new(Duration::MAX);
        assert_eq!(s.next(Duration::from_secs(60)), Duration::MAX);
    }

    #[test]
    fn every_two_seconds_for_thirty_then_the_interval() {
        let t = times(10, 61);
        assert_eq!(
            t,
            [
                0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 40, 50, 60
            ]
        );
    }

    #[test]
    fn no_minute_holds_more_than_twenty_polls_even_at_the_shortest_interval() {
        let t = times(3, 600);
        for start in 0..540 {
            let n = t.iter().filter(|&&x| x >= start && x < start + 60).count();
            assert!(n <= 20, "{n} polls in [{start}, {}): {t:?}", start + 60);
        }
    }
}
