//! One tick's logic and its error policy, apart from the I/O that feeds it, so the decisions
//! (skip, call, write, restart) are testable without Redis or Python.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::config::Trigger;

/// How a tick ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No input (nil or empty value): nothing to do, as the course runtime.
    Empty,
    /// `change`/`notify`: the input is the one the handler saw last.
    Unchanged,
    /// The handler ran and its result was written.
    Written,
    /// The handler ran; its result was falsy or there is no output key, so nothing is written.
    NotWritten,
    Failed(Failure),
}

impl Outcome {
    /// Label for the invocations metric.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Empty => "skipped_empty",
            Outcome::Unchanged => "skipped_unchanged",
            Outcome::Written => "written",
            Outcome::NotWritten => "not_written",
            Outcome::Failed(f) => f.label(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Redis could not be reached (an outage).
    RedisDown(String),
    /// Redis answered with an error, e.g. the input key holds a list.
    RedisRefused(String),
    /// The input is not JSON.
    BadInput(String),
    /// The handler raised.
    Handler { error: String, traceback: String },
    /// The result could not be serialised as JSON.
    Output(String),
    /// The handler ran past `HANDLER_TIMEOUT`.
    Timeout,
    /// The worker process died (crash, `os._exit`, OOM kill).
    WorkerExited,
    /// No worker could be started (the code on disk no longer imports).
    WorkerUnavailable(String),
}

impl Failure {
    pub fn label(&self) -> &'static str {
        match self {
            Failure::RedisDown(_) => "redis_down",
            Failure::RedisRefused(_) => "redis_error",
            Failure::BadInput(_) => "bad_input",
            Failure::Handler { .. } => "handler_error",
            Failure::Output(_) => "bad_output",
            Failure::Timeout => "timeout",
            Failure::WorkerExited => "worker_exited",
            Failure::WorkerUnavailable(_) => "worker_unavailable",
        }
    }
}

/// What to do about a failure.
#[derive(Debug, PartialEq, Eq)]
pub enum Policy {
    /// Log and go on with the next tick; the worker and its state are fine.
    Continue,
    /// The worker is gone or stuck: replace it and restore `context.env` from the snapshot.
    RestartWorker,
}

pub fn on_error(failure: &Failure) -> Policy {
    match failure {
        Failure::Timeout | Failure::WorkerExited => Policy::RestartWorker,
        _ => Policy::Continue,
    }
}

/// Decides whether an input is new for the handler (`change` and `notify` triggers).
#[derive(Default)]
pub struct ChangeFilter {
    last: Option<Vec<u8>>,
}

impl ChangeFilter {
    /// Whether to call the handler with `input`; remembers it when so.
    pub fn admit(&mut self, trigger: Trigger, input: &[u8]) -> bool {
        if trigger == Trigger::Poll {
            return true;
        }
        if self.last.as_deref() == Some(input) {
            return false;
        }
        self.last = Some(input.to_vec());
        true
    }
}

/// Logs a malformed input once per distinct value, not once per tick.
#[derive(Default)]
pub struct OncePerValue {
    last: Option<u64>,
}

impl OncePerValue {
    pub fn first_time(&mut self, value: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        value.hash(&mut h);
        let digest = h.finish();
        let new = self.last != Some(digest);
        self.last = Some(digest);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_always_calls_change_only_on_new_values() {
        let mut f = ChangeFilter::default();
        assert!(f.admit(Trigger::Poll, b"a") && f.admit(Trigger::Poll, b"a"));
        let mut f = ChangeFilter::default();
        assert!(f.admit(Trigger::Change, b"a"));
        assert!(!f.admit(Trigger::Change, b"a"));
        assert!(f.admit(Trigger::Change, b"b"));
        assert!(f.admit(Trigger::Notify, b"a"));
    }

    #[test]
    fn only_dead_or_stuck_workers_are_restarted() {
        assert_eq!(on_error(&Failure::Timeout), Policy::RestartWorker);
        assert_eq!(on_error(&Failure::WorkerExited), Policy::RestartWorker);
        assert_eq!(
            on_error(&Failure::Handler { error: "x".into(), traceback: String::new() }),
            Policy::Continue
        );
        assert_eq!(on_error(&Failure::RedisDown("x".into())), Policy::Continue);
    }

    #[test]
    fn malformed_inputs_are_logged_once_per_value() {
        let mut once = OncePerValue::default();
        assert!(once.first_time(b"{"));
        assert!(!once.first_time(b"{"));
        assert!(once.first_time(b"["));
    }
}
