//! OUTCOMES: every tick's outcome into the metrics and into log lines a person can read.
//!
//! Nothing repeats without need: an outage is logged when it starts and when it ends; a bad
//! input once per distinct value; a refusal once per distinct error; a handler error in full
//! (with the user's traceback) once, then one line per tick pointing back at it, and a summary
//! when it changes or stops; the one-time warnings once per process.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::Shared;
use crate::tick::{Failure, OncePerValue, Outcome, RestartReason, digest};

/// Messages logged once per process, by key.
#[derive(Default)]
pub struct LogOnce(BTreeSet<&'static str>);

impl LogOnce {
    /// True the first time `key` is seen.
    pub fn first(&mut self, key: &'static str) -> bool {
        self.0.insert(key)
    }
}

/// A handler error seen on consecutive failing ticks.
struct Repeated {
    digest: u64,
    error: String,
    first_tick: u64,
    last_tick: u64,
    count: u64,
}

pub struct Reporter {
    pub shared: Arc<Shared>,
    pub once: LogOnce,
    bad_inputs: OncePerValue,
    refusals: OncePerValue,
    redis_down_since: Option<Instant>,
    repeated: Option<Repeated>,
}

impl Reporter {
    pub fn new(shared: Arc<Shared>) -> Reporter {
        Reporter {
            shared,
            once: LogOnce::default(),
            bad_inputs: OncePerValue::default(),
            refusals: OncePerValue::default(),
            redis_down_since: None,
            repeated: None,
        }
    }

    /// Count a tick's outcome and log what a person needs to know about it.
    pub fn outcome(&mut self, tick: u64, outcome: &Outcome, handler_timeout: std::time::Duration) {
        self.shared.outcome(outcome);
        if let Some(board) = &self.shared.board
            && !matches!(outcome, Outcome::Empty | Outcome::Unchanged)
        {
            board.tick(tick, matches!(outcome, Outcome::Failed(_)));
        }
        if !matches!(outcome, Outcome::Failed(Failure::Handler { .. })) {
            self.end_repeat(matches!(outcome, Outcome::Written | Outcome::NotWritten));
        }
        match outcome {
            Outcome::Failed(Failure::Handler { error, traceback }) => {
                self.handler_error(tick, error, traceback)
            }
            Outcome::Failed(Failure::Output(error)) => {
                tracing::error!(
                    tick,
                    "{error}; the output keeps its last value (JSON_ALLOW_NAN=true writes NaN as the course runtime did)"
                );
            }
            Outcome::Failed(Failure::Timeout) => {
                tracing::error!(
                    tick,
                    "the handler ran past HANDLER_TIMEOUT ({handler_timeout:?}): the worker is replaced"
                );
            }
            Outcome::Failed(Failure::WorkerExited) => {
                tracing::error!(
                    tick,
                    "the worker died during the call, and again with a new worker: the input is given up"
                );
            }
            Outcome::Failed(Failure::Protocol(error)) => {
                tracing::error!(
                    tick,
                    "{error}: the worker is replaced (a process the handler forked may be writing to it)"
                );
            }
            Outcome::Failed(Failure::ReadRefused(error) | Failure::WriteRefused(error)) => {
                if self.refusals.first_time(error.as_bytes()) {
                    tracing::error!(tick, "{error}; logged once until the error changes");
                }
            }
            Outcome::Failed(Failure::BadInput(error)) => {
                if self.bad_inputs.first_time(error.as_bytes()) {
                    tracing::error!(tick, "{error}; the handler is not called until the input changes");
                }
            }
            Outcome::Failed(Failure::WorkerUnavailable(error)) => tracing::error!(tick, "{error}"),
            // Logged where it happens, once per outage.
            Outcome::Failed(Failure::RedisDown(_)) | Outcome::Empty | Outcome::Unchanged => {}
            Outcome::Written | Outcome::NotWritten => tracing::debug!(tick, outcome = outcome.label()),
        }
        self.shared.beat();
    }

    /// A handler error: in full the first time, then one line that points back at it.
    fn handler_error(&mut self, tick: u64, error: &str, traceback: &str) {
        if let Some(board) = &self.shared.board {
            board.error(tick, error, traceback);
        }
        let digest = digest(format!("{error}\0{traceback}").as_bytes());
        if let Some(r) = self.repeated.as_mut().filter(|r| r.digest == digest) {
            r.count += 1;
            r.last_tick = tick;
            tracing::error!(tick, "handler raised the same error as tick {} ({})", r.first_tick, r.error);
            return;
        }
        self.end_repeat(false);
        tracing::error!(
            tick,
            "handler raised {error}; the output keeps its last value\n{}",
            traceback.trim_end()
        );
        self.repeated =
            Some(Repeated { digest, error: error.to_owned(), first_tick: tick, last_tick: tick, count: 1 });
    }

    /// The repeated error stopped (or changed): say how often it happened.
    fn end_repeat(&mut self, recovered: bool) {
        if let Some(r) = self.repeated.take().filter(|r| r.count > 1) {
            let then = if recovered { "; the handler succeeds again" } else { "" };
            tracing::info!(
                "the error of tick {} ({}) happened on {} ticks in a row, the last at tick {}{then}",
                r.first_tick,
                r.error,
                r.count,
                r.last_tick
            );
        }
    }

    /// Redis could not be reached: logged when the outage starts.
    pub fn redis_down(&mut self, tick: u64, message: &str) {
        self.shared.redis_error();
        self.shared.set_redis_ok(false);
        if self.redis_down_since.is_none() {
            tracing::error!(tick, "redis is unreachable ({message}); retrying every tick until it is back");
            self.redis_down_since = Some(Instant::now());
        }
    }

    /// Redis answered: an outage, if any, is over.
    pub fn redis_up(&mut self, tick: u64) {
        self.shared.set_redis_ok(true);
        if let Some(since) = self.redis_down_since.take() {
            tracing::info!(tick, "redis is back after {:.1}s", since.elapsed().as_secs_f64());
        }
    }

    /// A Redis command was refused (the server answered).
    pub fn redis_refused(&mut self) {
        self.shared.redis_error();
        self.shared.set_redis_ok(true);
    }

    /// A new worker took the place of one that was dropped for `reason`.
    pub fn restarted(&mut self, tick: u64, reason: RestartReason, restored: Option<u64>, from_json: bool) {
        self.shared.restart(reason);
        let state = match (restored, from_json) {
            (Some(at), _) => format!("restored from the last snapshot, taken at tick {at}"),
            (None, true) => "restored from `STATE_KEY`".to_owned(),
            (None, false) => "empty (no snapshot yet)".to_owned(),
        };
        tracing::info!(tick, "worker restarted; context.env {state} (the old worker: {})", reason.label());
    }

    /// The end of the run: close what is open.
    pub fn finish(&mut self) {
        self.end_repeat(false);
    }
}
