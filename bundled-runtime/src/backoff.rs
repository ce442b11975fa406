//! Jittered exponential backoff that resets after a healthy period (kube-runtime's habit).

use std::time::{Duration, Instant};

pub struct Backoff {
    base: Duration,
    max: Duration,
    current: Duration,
    last_failure: Option<Instant>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max, current: base, last_failure: None }
    }

    /// The next delay: doubles up to `max`, with ±25 % jitter. A failure after a minute of
    /// health starts again from `base`.
    pub fn next_delay(&mut self) -> Duration {
        let now = Instant::now();
        if self.last_failure.is_some_and(|t| now.duration_since(t) > Duration::from_secs(60)) {
            self.current = self.base;
        }
        self.last_failure = Some(now);
        let delay = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter = 0.75 + fastrand::f64() * 0.5;
        delay.mul_f64(jitter)
    }

    pub fn reset(&mut self) {
        self.current = self.base;
        self.last_failure = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(75) && delays[0] <= Duration::from_millis(125));
        assert!(delays[7] <= Duration::from_millis(1250) && delays[7] >= Duration::from_millis(750));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(125));
    }
}
