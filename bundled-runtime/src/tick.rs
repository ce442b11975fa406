//! One tick's outcomes and the whole error policy, apart from the I/O that feeds them, so the
//! decisions (skip, call, write, retry, replace the worker) are testable without Redis or
//! Python. The loops ask [`on_error`] what to do about every failure, including whether a call
//! is retried.

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Redis could not be reached (an outage).
    RedisDown(String),
    /// Redis refused reading the input (e.g. the key holds a list).
    ReadRefused(String),
    /// Redis refused writing the output (out of memory, a read-only replica). The output is
    /// kept and written again at the next tick.
    WriteRefused(String),
    /// The input is not JSON, or bigger than `MAX_INPUT_BYTES`.
    BadInput(String),
    /// The handler raised.
    Handler { error: String, traceback: String },
    /// The result could not be serialised as JSON, or is too big.
    Output(String),
    /// The handler ran past `HANDLER_TIMEOUT`.
    Timeout,
    /// The worker process died (crash, `os._exit`, OOM kill).
    WorkerExited,
    /// The worker's answer does not fit the protocol (a forked child answered too, a reply
    /// over the size cap).
    Protocol(String),
    /// No worker could be started (the code on disk no longer imports).
    WorkerUnavailable(String),
}

impl Failure {
    pub fn label(&self) -> &'static str {
        match self {
            Failure::RedisDown(_) => "redis_down",
            Failure::ReadRefused(_) | Failure::WriteRefused(_) => "redis_error",
            Failure::BadInput(_) => "bad_input",
            Failure::Handler { .. } => "handler_error",
            Failure::Output(_) => "bad_output",
            Failure::Timeout => "timeout",
            Failure::WorkerExited => "worker_exited",
            Failure::Protocol(_) => "protocol_error",
            Failure::WorkerUnavailable(_) => "worker_unavailable",
        }
    }
}

/// Why a worker is replaced: one label per cause on the restarts metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestartReason {
    /// It died, during a call or between calls.
    Exited,
    /// A call ran past `HANDLER_TIMEOUT`.
    Timeout,
    /// It broke the protocol.
    Protocol,
    /// The code changed on disk.
    Reload,
}

impl RestartReason {
    pub fn label(self) -> &'static str {
        match self {
            RestartReason::Exited => "exited",
            RestartReason::Timeout => "timeout",
            RestartReason::Protocol => "protocol",
            RestartReason::Reload => "reload",
        }
    }
}

/// What to do about a failure.
#[derive(Debug, PartialEq, Eq)]
pub enum Policy {
    /// Log and go on with the next tick; the worker and its state are fine.
    Continue,
    /// The worker is gone, stuck or confused: drop it; a new one (with `context.env` from the
    /// snapshot) answers the next call.
    Replace(RestartReason),
    /// As `Replace`, and call again with the same input at once: a worker killed from outside
    /// loses nothing. Only on a first attempt: an input that kills the worker twice is given up.
    Retry(RestartReason),
}

/// The error policy. `attempt` counts the calls already made with this input in this tick.
pub fn on_error(failure: &Failure, attempt: u32) -> Policy {
    match failure {
        Failure::WorkerExited if attempt == 0 => Policy::Retry(RestartReason::Exited),
        Failure::WorkerExited => Policy::Replace(RestartReason::Exited),
        // The reply was someone else's (a forked child): this input's own may never come.
        Failure::Protocol(_) if attempt == 0 => Policy::Retry(RestartReason::Protocol),
        Failure::Protocol(_) => Policy::Replace(RestartReason::Protocol),
        // A hung input hangs again: no retry.
        Failure::Timeout => Policy::Replace(RestartReason::Timeout),
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

/// Remembers the last value seen, by hash: logs once per distinct value, not once per tick.
#[derive(Default)]
pub struct OncePerValue {
    last: Option<u64>,
}

impl OncePerValue {
    pub fn first_time(&mut self, value: &[u8]) -> bool {
        let digest = digest(value);
        let new = self.last != Some(digest);
        self.last = Some(digest);
        new
    }
}

/// A short, stable digest of bytes (not for security: to recognise a value seen before).
pub fn digest(value: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
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
    fn a_dead_worker_is_retried_once_then_replaced() {
        assert_eq!(on_error(&Failure::WorkerExited, 0), Policy::Retry(RestartReason::Exited));
        assert_eq!(on_error(&Failure::WorkerExited, 1), Policy::Replace(RestartReason::Exited));
        assert_eq!(on_error(&Failure::Protocol("x".into()), 0), Policy::Retry(RestartReason::Protocol));
        assert_eq!(on_error(&Failure::Timeout, 0), Policy::Replace(RestartReason::Timeout));
    }

    #[test]
    fn failures_of_the_handler_or_redis_keep_the_worker() {
        for f in [
            Failure::Handler { error: "x".into(), traceback: String::new() },
            Failure::RedisDown("x".into()),
            Failure::WriteRefused("x".into()),
            Failure::BadInput("x".into()),
            Failure::Output("x".into()),
        ] {
            assert_eq!(on_error(&f, 0), Policy::Continue, "{f:?}");
        }
    }

    #[test]
    fn malformed_inputs_are_logged_once_per_value() {
        let mut once = OncePerValue::default();
        assert!(once.first_time(b"{"));
        assert!(!once.first_time(b"{"));
        assert!(once.first_time(b"["));
    }
}
