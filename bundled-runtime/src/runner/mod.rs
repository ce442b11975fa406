//! SCHEDULE: the loop that reads the input, asks the worker, and writes the result.
//!
//! - [`periodic`]: ticks on a fixed grid (period measured start to start, missed ticks skipped
//!   rather than burst), or on keyspace notifications; the first tick at start-up.
//! - [`pipelined`]: with the period at 0, the write of one output, the read of the next input
//!   and the handler call overlap, and the next input is queued in the worker ahead.
//! - [`supervisor`]: the worker's life (start, replace with backoff, hot reload, stop).
//! - [`report`]: outcomes into metrics and readable logs.
//! - [`crate::state`]: `context.env` snapshots and `STATE_KEY`; [`crate::tick`]: the outcomes
//!   and the whole error policy, [`crate::tick::on_error`].
//!
//! The loops are generic over the [`Source`] (Redis) and the [`Spawner`] (Python), so the unit
//! tests at the end of this module run them over stand-ins with a paused clock.

mod periodic;
mod pipelined;
pub mod report;
pub mod supervisor;

use std::sync::Arc;
use std::time::Instant;

use fnops_worker::{Called, FailKind, Failed, Reply, Request, WorkerError};
use tokio::sync::watch;

use self::report::Reporter;
use self::supervisor::{Calls, Spawner, Supervisor};
use crate::code::{self, Prepared};
use crate::config::{Settings, Trigger};
use crate::metrics::Shared;
use crate::source::{Redis, Source, SourceError};
use crate::state::{Loaded, StateKeeper};
use crate::tick::{ChangeFilter, Failure, Outcome, Policy, digest, on_error};

/// Why the runtime could not start (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Code(#[from] code::CodeError),
    #[error("cannot load the handler: {0}")]
    Worker(#[from] WorkerError),
    #[error("`REDIS_URL`: {0}")]
    Redis(#[from] redis::RedisError),
}

pub struct Runner<S: Source, P: Spawner> {
    settings: Settings,
    source: S,
    supervisor: Supervisor<P>,
    state: StateKeeper,
    report: Reporter,
    changes: ChangeFilter,
    /// An output not written yet (Redis down, or it refused the write): written first at the
    /// next tick, unless a newer output replaces it.
    pending: Option<Vec<u8>>,
    /// An input that killed two workers in a row: not retried again.
    poisoned: Option<u64>,
    /// Keyspace notifications for `TRIGGER=notify`.
    notifications: Option<tokio::sync::mpsc::Receiver<()>>,
    shutdown: watch::Receiver<bool>,
    tick: u64,
}

impl Runner<Redis, supervisor::Python> {
    /// The production runner: Redis from the settings, the Python worker with the user's code
    /// imported (the code is prepared off the async thread, so `/healthz` answers meanwhile).
    pub async fn start(
        settings: Settings,
        shared: Arc<Shared>,
        extra_env: Vec<(String, String)>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        let mut redis = Redis::connect(&settings.redis)?;
        let prepared = code::prepare_off_thread(&settings).await?;
        let spawner = supervisor::python_spawner(&settings, extra_env);
        let notifications = match settings.trigger {
            Trigger::Notify => notifications(&mut redis, &settings).await,
            _ => None,
        };
        let mut runner = Runner::with(settings, redis, spawner, prepared, shared, shutdown).await?;
        runner.notifications = notifications;
        Ok(runner)
    }
}

async fn notifications(redis: &mut Redis, settings: &Settings) -> Option<tokio::sync::mpsc::Receiver<()>> {
    match redis.notifications_enabled().await {
        Ok(true) => {
            tracing::info!(key = %settings.input_key, "listening to keyspace notifications");
            Some(redis.watch(&settings.input_key, db_of(&settings.redis.url)))
        }
        Ok(false) => {
            tracing::warn!(
                "keyspace notifications are off on the server (`notify-keyspace-events`): polling every period instead"
            );
            None
        }
        Err(e) => {
            tracing::warn!("cannot read `notify-keyspace-events` ({e}): polling every period instead");
            None
        }
    }
}

impl<S: Source, P: Spawner> Runner<S, P> {
    /// A runner over `source` whose first worker (of `spawner`, running `code`) is started now.
    pub async fn with(
        settings: Settings,
        source: S,
        spawner: P,
        code: Prepared,
        shared: Arc<Shared>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        let worker = spawner.spawn(&code.init).await?;
        tracing::info!(
            handler = %settings.handler,
            redis = %settings.redis.url,
            input_key = %settings.input_key,
            output_key = settings.output_key.as_deref().unwrap_or("(none)"),
            period = ?settings.period,
            trigger = ?settings.trigger,
            "worker ready"
        );
        shared.set_worker_ready(true);
        let supervisor = Supervisor::new(spawner, worker, code, &settings, shutdown.clone());
        Ok(Runner {
            state: StateKeeper::new(settings.state_key.clone()),
            report: Reporter::new(shared),
            changes: ChangeFilter::default(),
            pending: None,
            poisoned: None,
            notifications: None,
            shutdown,
            tick: 0,
            source,
            supervisor,
            settings,
        })
    }

    /// Run ticks until a stop is requested; the tick in flight always finishes, then the
    /// worker gets its input closed and a grace period.
    pub async fn run(mut self) {
        if self.settings.period.is_zero() {
            self.run_pipelined().await;
        } else {
            self.run_periodic().await;
        }
        tracing::info!(ticks = self.tick, "shutting down");
        self.report.finish();
        self.supervisor.stop().await;
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The input of this tick when the handler should see it; the tick's outcome otherwise.
    async fn admit(&mut self, fetched: Result<Option<Vec<u8>>, SourceError>) -> Result<Vec<u8>, Outcome> {
        if fetched.is_ok() && self.state.needs_load() {
            self.load_state().await;
        }
        screen(&mut self.report, &mut self.changes, &self.settings, self.tick, fetched)
    }

    /// `STATE_KEY`: the JSON state an earlier pod saved, restored once Redis answers.
    async fn load_state(&mut self) {
        match self.state.load(&mut self.source, self.settings.max_input).await {
            Loaded::Nothing => {}
            Loaded::NotYet(e) => tracing::warn!("cannot read `STATE_KEY` yet: {e}"),
            Loaded::Json(json) => match self.supervisor.restore_json(&json).await {
                Ok(()) => tracing::info!("context.env restored from `STATE_KEY`"),
                Err(e) => tracing::warn!("cannot restore `STATE_KEY`: {e}"),
            },
        }
    }

    /// Call the handler with `input` and apply the error policy. `Ok(Some(output))` when there
    /// is something to write.
    async fn call(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        let started = Instant::now();
        let result = self.call_once(input).await;
        self.conclude_call(input, result, started).await
    }

    /// Settle a call's result: a failure that asks for it replaces the worker, and a first one
    /// that allows it calls again on the new worker.
    async fn conclude_call(
        &mut self,
        input: &[u8],
        mut result: Result<Called, Failure>,
        mut started: Instant,
    ) -> Result<Option<Vec<u8>>, Failure> {
        let mut attempt = u32::from(self.poisoned == Some(digest(input)));
        loop {
            match self.settle(input, result, started, attempt).await {
                Settled::Done(done) => return done,
                Settled::Retry => {
                    attempt += 1;
                    started = Instant::now();
                    result = self.call_once(input).await;
                }
            }
        }
    }

    async fn call_once(&mut self, input: &[u8]) -> Result<Called, Failure> {
        let timeout = self.settings.handler_timeout;
        let Some(worker) = self.supervisor.ensure(&self.state, &mut self.report, self.tick).await else {
            return Err(Failure::WorkerUnavailable("no worker could be started".into()));
        };
        reply_to_call(worker.request(Request::Call(input), timeout).await)
    }

    /// What a call's result asks of the tick: keep the snapshot and the JSON state of a
    /// success; apply the error policy to a failure.
    async fn settle(
        &mut self,
        input: &[u8],
        result: Result<Called, Failure>,
        started: Instant,
        attempt: u32,
    ) -> Settled {
        let called = match result {
            Ok(called) => called,
            Err(failure) => {
                return match on_error(&failure, attempt) {
                    Policy::Continue => Settled::Done(Err(failure)),
                    Policy::Replace(reason) => {
                        if matches!(failure, Failure::WorkerExited) {
                            self.poisoned = Some(digest(input));
                        }
                        self.supervisor.replace(reason, &self.state, &mut self.report, self.tick).await;
                        Settled::Done(Err(failure))
                    }
                    Policy::Retry(reason) => {
                        tracing::error!(
                            tick = self.tick,
                            "{}: retrying the input once with a new worker",
                            retry_cause(&failure)
                        );
                        self.supervisor.replace(reason, &self.state, &mut self.report, self.tick).await;
                        Settled::Retry
                    }
                };
            }
        };
        self.poisoned = None;
        self.supervisor.healthy();
        self.report.shared.call_duration(started.elapsed().as_secs_f64());
        self.report.shared.success();
        if let Some(blob) = called.snapshot {
            self.state.keep_snapshot(blob, self.tick);
        }
        if let Some(why) = &called.snapshot_off
            && self.report.once.first("snapshot_off")
        {
            tracing::warn!("{why}: context.env will not survive a worker restart");
        }
        if let Some(state) = &called.state {
            self.state.save(&mut self.source, state, self.tick).await;
        } else if let Some(why) = &called.state_error
            && self.report.once.first("state_error")
        {
            tracing::warn!("{why}: `STATE_KEY` is not updated");
        }
        if called.non_finite && self.report.once.first("non_finite") {
            tracing::warn!(
                tick = self.tick,
                "the output holds NaN or Infinity, written as the course runtime wrote it; strict JSON readers refuse it (JSON_ALLOW_NAN=false makes such a tick fail instead)"
            );
        }
        Settled::Done(Ok(match (&self.settings.output_key, called.truthy) {
            (Some(_), true) => Some(called.output),
            _ => None,
        }))
    }

    /// Write an output; kept as pending when Redis is down or refuses it.
    async fn write_output(&mut self, output: Vec<u8>) -> Outcome {
        let Some(key) = self.settings.output_key.clone() else { return Outcome::NotWritten };
        match self.source.set(&key, &output).await {
            Ok(()) => {
                self.report.redis_up(self.tick);
                if let Some(board) = &self.report.shared.board {
                    board.output(&output);
                }
                Outcome::Written
            }
            Err(e) => {
                self.pending = Some(output);
                Outcome::Failed(self.redis_failure(e, &format!("writing `{key}`")))
            }
        }
    }

    /// Write the pending output, if any; a failure is reported as its own outcome.
    async fn flush(&mut self) {
        if let Some(output) = self.pending.take()
            && let outcome @ Outcome::Failed(_) = self.write_output(output).await
        {
            self.conclude(outcome);
        }
    }

    fn redis_failure(&mut self, e: SourceError, doing: &str) -> Failure {
        match e {
            SourceError::Down(msg) => {
                self.report.redis_down(self.tick, &msg);
                Failure::RedisDown(msg)
            }
            SourceError::Command(msg) => {
                self.report.redis_refused();
                let message = format!("redis refused {doing}: {msg}");
                if doing.starts_with("writing") {
                    Failure::WriteRefused(format!("{message}; the output is written again at the next tick"))
                } else {
                    Failure::ReadRefused(message)
                }
            }
        }
    }

    /// Report a tick's outcome.
    fn conclude(&mut self, outcome: Outcome) {
        self.report.outcome(self.tick, &outcome, self.settings.handler_timeout);
    }
}

enum Settled {
    Retry,
    Done(Result<Option<Vec<u8>>, Failure>),
}

/// The tick's input as far as the input itself decides: Redis errors, a value too big, nothing
/// there, or one the handler saw already.
fn screen(
    report: &mut Reporter,
    changes: &mut ChangeFilter,
    settings: &Settings,
    tick: u64,
    fetched: Result<Option<Vec<u8>>, SourceError>,
) -> Result<Vec<u8>, Outcome> {
    let input = match fetched {
        Ok(value) => {
            report.redis_up(tick);
            value
        }
        Err(SourceError::Down(msg)) => {
            report.redis_down(tick, &msg);
            return Err(Outcome::Failed(Failure::RedisDown(msg)));
        }
        Err(SourceError::Command(msg)) => {
            report.redis_refused();
            return Err(Outcome::Failed(Failure::ReadRefused(format!(
                "redis refused reading `{}`: {msg}",
                settings.input_key
            ))));
        }
    };
    let Some(input) = input.filter(|v| !v.is_empty()) else { return Err(Outcome::Empty) };
    if input.len() > settings.max_input {
        return Err(Outcome::Failed(Failure::BadInput(format!(
            "the input `{}` is over {} bytes (`MAX_INPUT_BYTES`): it is not read",
            settings.input_key, settings.max_input
        ))));
    }
    if !changes.admit(settings.trigger, &input) {
        return Err(Outcome::Unchanged);
    }
    Ok(input)
}

/// A call's reply as the tick sees it.
fn reply_to_call(reply: Result<Reply, WorkerError>) -> Result<Called, Failure> {
    match reply {
        Ok(Reply::Called(called)) => Ok(called),
        Ok(Reply::Failed(failed)) => Err(failure_of_call(failed)),
        Ok(other) => Err(Failure::Protocol(format!("the worker answered a call with {other:?}"))),
        Err(e) => Err(failure_of(e)),
    }
}

fn failure_of_call(f: Failed) -> Failure {
    match f.kind {
        FailKind::Input => Failure::BadInput(f.error),
        FailKind::Output => Failure::Output(f.error),
        FailKind::Handler | FailKind::Config | FailKind::State | FailKind::Internal => {
            Failure::Handler { error: f.error, traceback: f.traceback.unwrap_or_default() }
        }
    }
}

/// A call the worker did not answer as it should: stuck, gone or confused.
fn failure_of(e: WorkerError) -> Failure {
    match e {
        WorkerError::Timeout(_) => Failure::Timeout,
        WorkerError::Exited | WorkerError::Spawn { .. } => Failure::WorkerExited,
        WorkerError::Config(f) => Failure::WorkerUnavailable(f.error),
        e @ (WorkerError::Desync { .. } | WorkerError::Frame(_) | WorkerError::Unexpected { .. }) => {
            Failure::Protocol(e.to_string())
        }
    }
}

fn retry_cause(failure: &Failure) -> String {
    match failure {
        Failure::WorkerExited => "the worker died during the call".into(),
        other => format!("the worker's answer was not this call's ({})", other.label()),
    }
}

/// The database number of a `redis://host:port/N` URL (0 when absent).
fn db_of(url: &str) -> i64 {
    url.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
