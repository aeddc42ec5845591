//! Every wait loop is bounded by the operation's timeout, so the agent gives up with a reason
//! before Pacemaker kills it without one.

use std::time::{Duration, Instant};

/// The instant by which the current action must have finished, with a safety margin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    start: Instant,
    at: Instant,
}

impl Deadline {
    /// A deadline for an operation timeout of `timeout`, keeping back a margin of a tenth
    /// (at least 200 ms, at most 5 s) to report a reason and clean up.
    pub fn for_timeout(timeout: Duration) -> Deadline {
        let margin = (timeout / 10).clamp(Duration::from_millis(200), Duration::from_secs(5));
        let usable = timeout.saturating_sub(margin).max(timeout / 2);
        let start = Instant::now();
        Deadline { start, at: start + usable }
    }

    /// A deadline `d` from now, without margin (tests, sub-steps).
    pub fn after(d: Duration) -> Deadline {
        let start = Instant::now();
        Deadline { start, at: start + d }
    }

    /// Time left; zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Time since the action began.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// A deadline that ends at the earlier of this one and `d` from now.
    pub fn sub(&self, d: Duration) -> Deadline {
        let now = Instant::now();
        Deadline { start: now, at: self.at.min(now + d) }
    }

    /// Sleep `d`, or less if the deadline comes first.
    pub fn sleep(&self, d: Duration) {
        std::thread::sleep(d.min(self.remaining()));
    }

    /// Poll `cond` every `every` until it returns `Some` or the deadline passes.
    pub fn wait_for<T>(&self, every: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
        loop {
            if let Some(v) = cond() {
                return Some(v);
            }
            if self.expired() {
                return None;
            }
            self.sleep(every);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_margin() {
        let d = Deadline::for_timeout(Duration::from_secs(20));
        assert!(d.remaining() <= Duration::from_secs(18));
        assert!(d.remaining() > Duration::from_secs(17));
        let tiny = Deadline::for_timeout(Duration::from_millis(100));
        assert!(tiny.remaining() <= Duration::from_millis(50));
    }

    #[test]
    fn wait_for_gives_up() {
        let d = Deadline::after(Duration::from_millis(30));
        let mut calls = 0;
        let got: Option<()> = d.wait_for(Duration::from_millis(5), || {
            calls += 1;
            None
        });
        assert!(got.is_none() && d.expired() && calls >= 2);
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(d.wait_for(Duration::from_millis(1), || Some(3)), Some(3));
    }

    #[test]
    fn sub_deadline_never_extends() {
        let d = Deadline::after(Duration::from_millis(10));
        assert!(d.sub(Duration::from_secs(10)).remaining() <= Duration::from_millis(10));
    }
}
