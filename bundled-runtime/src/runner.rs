//! SCHEDULE: the loop. Ticks start on a fixed grid (period measured start to start, no drift,
//! missed ticks skipped rather than burst), the first one at start-up. Each tick reads Redis,
//! asks the worker, writes the result, and applies the error policy of [`crate::tick`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::code::{self, Fingerprint, Prepared};
use crate::config::{Settings, Trigger};
use crate::metrics::Shared;
use crate::source::{Redis, SourceError};
use crate::tick::{ChangeFilter, Failure, OncePerValue, Outcome, Policy, on_error};
use crate::worker::{self, Reply, Worker, WorkerError, protocol};

/// Requests other than handler calls (restore, ping) get this long.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);
/// Importing the user's module (numpy, pandas...) may take this long.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Runner {
    settings: Settings,
    redis: Redis,
    worker: Option<Worker>,
    code: Prepared,
    fingerprint: Option<Fingerprint>,
    extra_env: Vec<(String, String)>,
    shared: Arc<Shared>,
    /// `context.env` pickled after the last successful call (host memory only).
    snapshot: Option<Vec<u8>>,
    changes: ChangeFilter,
    bad_inputs: OncePerValue,
    refusals: OncePerValue,
    redis_down_since: Option<Instant>,
    restart_backoff: Backoff,
    last_restart: Option<Instant>,
    state_loaded: bool,
    snapshot_off_logged: bool,
    state_error_logged: bool,
    last_reload_check: Instant,
    tick: u64,
}

/// The next tick's input, as far as the overlapped tick before it got with it.
enum Next {
    /// Read from Redis, not yet looked at.
    Fetched(Result<Option<Vec<u8>>, SourceError>),
    /// Admitted (non-empty, changed when that matters), to be sent to the worker.
    Admitted(Vec<u8>),
    /// Already in the worker's pipe: the worker is on it or about to be.
    Sent(Vec<u8>),
    /// Not for the handler (empty, unchanged, Redis failed): the tick's outcome.
    Rejected(Outcome),
}

/// What the worker's answer asks of the host.
enum Called {
    /// A truthy result to write to the output key.
    Output(Vec<u8>),
    /// A falsy result, or no output key.
    NothingToWrite,
    Failed(Failure),
}

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

impl Runner {
    pub async fn start(
        settings: Settings,
        shared: Arc<Shared>,
        extra_env: Vec<(String, String)>,
    ) -> Result<Runner, StartError> {
        let redis = Redis::connect(&settings.redis)?;
        let code = code::prepare(&settings)?;
        let worker = Worker::start(&settings.python, &extra_env, &code.init, IMPORT_TIMEOUT).await?;
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
        let fingerprint = code::watched_path(&settings).and_then(code::fingerprint);
        Ok(Runner {
            redis,
            worker: Some(worker),
            code,
            fingerprint,
            extra_env,
            shared,
            snapshot: None,
            changes: ChangeFilter::default(),
            bad_inputs: OncePerValue::default(),
            refusals: OncePerValue::default(),
            redis_down_since: None,
            restart_backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
            last_restart: None,
            state_loaded: false,
            snapshot_off_logged: false,
            state_error_logged: false,
            last_reload_check: Instant::now(),
            tick: 0,
            settings,
        })
    }

    /// Run ticks until `shutdown` turns true; the tick in flight always finishes.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let period = self.settings.period;
        let mut interval = tokio::time::interval(period.max(Duration::from_millis(1)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        if period.is_zero() {
            self.run_pipelined(&shutdown).await;
            return self.stop().await;
        }
        let mut notifications = match self.settings.trigger {
            Trigger::Notify => self.start_notifications().await,
            _ => None,
        };
        loop {
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = interval.tick() => {}
                Some(()) = async { match notifications.as_mut() { Some(rx) => rx.recv().await, None => None } } => {}
            }
            self.shared.beat();
            self.maybe_reload().await;
            self.tick += 1;
            let outcome = self.run_tick().await;
            self.conclude(outcome).await;
        }
        self.stop().await;
    }

    async fn stop(mut self) {
        tracing::info!(ticks = self.tick, "shutting down");
        if let Some(worker) = self.worker.take() {
            worker.kill().await;
        }
    }

    async fn start_notifications(&mut self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        match self.redis.notifications_enabled().await {
            Ok(true) => {
                tracing::info!(key = %self.settings.input_key, "listening to keyspace notifications");
                Some(self.redis.watch(&self.settings.input_key, db_of(&self.settings.redis.url)))
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

    async fn run_tick(&mut self) -> Outcome {
        let fetched = self.redis.get(&self.settings.input_key).await;
        let input = match self.admit(fetched).await {
            Ok(input) => input,
            Err(outcome) => return outcome,
        };
        match self.call(&input).await {
            Called::Output(output) => self.write_output(&output).await,
            Called::NothingToWrite => Outcome::NotWritten,
            Called::Failed(failure) => Outcome::Failed(failure),
        }
    }

    /// With the period at 0, ticks overlap. While the worker computes tick N, Redis writes the
    /// output of tick N-1 and reads the input of tick N+1 (one pipelined round trip on the
    /// multiplexed connection), and when that input arrives first it is sent to the worker at
    /// once, so the worker starts on it without waiting for the host. Each output is still
    /// written once, in order; at most one call waits in the worker's pipe.
    async fn run_pipelined(&mut self, shutdown: &watch::Receiver<bool>) {
        let mut next = Next::Fetched(self.redis.get(&self.settings.input_key).await);
        let mut pending: Option<Vec<u8>> = None;
        loop {
            let stopping = *shutdown.borrow();
            // A call already sent is a tick in flight: it finishes even on SIGTERM.
            if stopping && !matches!(next, Next::Sent(_)) {
                break;
            }
            self.shared.beat();
            if !matches!(next, Next::Sent(_)) {
                self.maybe_reload().await;
            }
            self.tick += 1;
            let (input, sent) = match next {
                Next::Sent(input) => (input, true),
                Next::Admitted(input) => (input, false),
                Next::Fetched(fetched) => match self.admit(fetched).await {
                    Ok(input) => (input, false),
                    Err(outcome) => {
                        next = self.skip(outcome, &mut pending).await;
                        continue;
                    }
                },
                Next::Rejected(outcome) => {
                    next = self.skip(outcome, &mut pending).await;
                    continue;
                }
            };
            // Sending ahead stops while a stop or a reload check is due, so those happen
            // between calls.
            let ahead = !stopping && !self.reload_due();
            let (called, unwritten, following) = self.step(input, sent, pending.take(), ahead).await;
            next = following;
            let outcome = match called {
                // A newer output supersedes one an outage kept from being written.
                Called::Output(output) => {
                    pending = Some(output);
                    Outcome::Written
                }
                Called::NothingToWrite => {
                    pending = unwritten.map(|(_, value)| value);
                    Outcome::NotWritten
                }
                Called::Failed(failure) => {
                    pending = unwritten.map(|(_, value)| value);
                    Outcome::Failed(failure)
                }
            };
            self.conclude(outcome).await;
        }
        self.flush(&mut pending).await;
    }

    /// A tick that does not call the handler: write what is pending, report, read again.
    async fn skip(&mut self, outcome: Outcome, pending: &mut Option<Vec<u8>>) -> Next {
        self.flush(pending).await;
        self.conclude(outcome).await;
        tokio::task::yield_now().await;
        Next::Fetched(self.redis.get(&self.settings.input_key).await)
    }

    /// One overlapped tick: the call of `input` (sent already when `sent`), and beside it the
    /// write of the previous output and the read of the next input, which is admitted and sent
    /// ahead when `ahead` allows and it arrives before the reply.
    async fn step(
        &mut self,
        input: Vec<u8>,
        sent: bool,
        write: Option<Vec<u8>>,
        ahead: bool,
    ) -> (Called, Option<(String, Vec<u8>)>, Next) {
        let mut io = self.redis.clone();
        let input_key = self.settings.input_key.clone();
        let write = self.settings.output_key.clone().zip(write);
        let io_work = async move { io.write_then_read(write, &input_key).await };
        tokio::pin!(io_work);
        let started = Instant::now();
        if !sent && self.ensure_worker().await.is_none() {
            let (unwritten, fetched) = io_work.await;
            let failure = Failure::WorkerUnavailable("no worker could be started".into());
            return (Called::Failed(failure), unwritten, Next::Fetched(fetched));
        }
        let Some(mut worker) = self.worker.take() else {
            // Sent to a worker that is gone: cannot happen, as only `step` takes it out.
            let (unwritten, fetched) = io_work.await;
            return (self.call(&input).await, unwritten, Next::Fetched(fetched));
        };
        let timeout = self.settings.handler_timeout;
        let (stdin, stdout) = worker.pipes();
        let mut first_send = Ok(());
        if !sent {
            let frame = protocol::encode_call(&input);
            first_send = worker::within(timeout, worker::send(stdin, &frame)).await;
        }
        let mut reply_done = None;
        let mut io_done = None;
        let mut ahead_input: Option<Vec<u8>> = None;
        let mut ahead_sent: Option<bool> = None;
        // Poll the reply, the Redis round trip and the send ahead together, so that a large
        // input sent ahead never blocks on a pipe the worker is writing its reply to.
        {
            let reply = async {
                first_send?;
                worker::receive(stdout, timeout).await
            };
            tokio::pin!(reply);
            let mut stdin = Some(stdin);
            let mut send_ahead: Option<std::pin::Pin<Box<dyn Future<Output = bool> + '_>>> = None;
            loop {
                tokio::select! {
                    r = &mut reply, if reply_done.is_none() => {
                        let failed = r.is_err();
                        reply_done = Some(r);
                        if failed {
                            break;
                        }
                    }
                    (unwritten, fetched) = &mut io_work, if io_done.is_none() => {
                        let early = ahead && reply_done.is_none() && self.state_loaded
                            && matches!(&fetched, Ok(Some(v)) if !v.is_empty());
                        if !early {
                            io_done = Some((unwritten, Next::Fetched(fetched)));
                        } else {
                            match self.admit(fetched).await {
                                Ok(next) => {
                                    let frame = protocol::encode_call(&next);
                                    if let Some(stdin) = stdin.take() {
                                        send_ahead = Some(Box::pin(async move {
                                            worker::send(stdin, &frame).await.is_ok()
                                        }));
                                    }
                                    ahead_input = Some(next);
                                    io_done = Some((unwritten, Next::Fetched(Ok(None))));
                                }
                                Err(outcome) => io_done = Some((unwritten, Next::Rejected(outcome))),
                            }
                        }
                    }
                    ok = async { match send_ahead.as_mut() {
                        Some(send) => send.await,
                        None => std::future::pending().await,
                    } }, if send_ahead.is_some() && ahead_sent.is_none() => {
                        ahead_sent = Some(ok);
                    }
                }
                let sending = send_ahead.is_some() && ahead_sent.is_none();
                if reply_done.is_some() && io_done.is_some() && !sending {
                    break;
                }
            }
        }
        self.worker = Some(worker);
        let result = reply_done.unwrap_or(Err(WorkerError::Exited)).map_err(failure_of);
        let worker_ok = result.is_ok();
        let (unwritten, next) = match io_done {
            Some(done) => done,
            None => {
                let (unwritten, fetched) = io_work.await;
                (unwritten, Next::Fetched(fetched))
            }
        };
        let next = match (ahead_input, next) {
            // Sent to a worker that is still there: its reply is the next tick's.
            (Some(input), _) if worker_ok && ahead_sent == Some(true) => Next::Sent(input),
            // Admitted, but the worker died or was stuck with it: send it to the next one.
            (Some(input), _) => Next::Admitted(input),
            (None, next) => next,
        };
        (self.settle(&input, result, started).await, unwritten, next)
    }

    async fn flush(&mut self, pending: &mut Option<Vec<u8>>) {
        if let Some(output) = pending.take()
            && let Outcome::Failed(failure) = self.write_output(&output).await
        {
            self.conclude(Outcome::Failed(failure)).await;
        }
    }

    /// Report a tick's outcome and apply the error policy.
    async fn conclude(&mut self, outcome: Outcome) {
        self.report(&outcome);
        if let Outcome::Failed(failure) = &outcome
            && on_error(failure) == Policy::RestartWorker
        {
            self.restart_worker(failure.label()).await;
        }
        self.shared.beat();
    }

    /// The input of this tick when the handler should see it; the tick's outcome otherwise.
    async fn admit(&mut self, fetched: Result<Option<Vec<u8>>, SourceError>) -> Result<Vec<u8>, Outcome> {
        let input = match fetched {
            Ok(value) => {
                self.redis_back();
                value
            }
            Err(e) => return Err(Outcome::Failed(self.redis_failure(e))),
        };
        if !self.state_loaded {
            self.load_state().await;
        }
        let Some(input) = input.filter(|v| !v.is_empty()) else { return Err(Outcome::Empty) };
        if !self.changes.admit(self.settings.trigger, &input) {
            return Err(Outcome::Unchanged);
        }
        Ok(input)
    }

    /// Ask the worker; keep the snapshot and the JSON state it returns.
    async fn call(&mut self, input: &[u8]) -> Called {
        let started = Instant::now();
        let result = self.call_worker(input).await;
        self.settle(input, result, started).await
    }

    /// One call on the live worker, started first if there is none.
    async fn call_worker(&mut self, input: &[u8]) -> Result<(Reply, Vec<Vec<u8>>), Failure> {
        let timeout = self.settings.handler_timeout;
        let Some(worker) = self.ensure_worker().await else {
            return Err(Failure::WorkerUnavailable("no worker could be started".into()));
        };
        worker.call(input, timeout).await.map_err(failure_of)
    }

    /// What a worker's answer asks of the tick. A worker that died during the call is replaced
    /// and the input retried once: that saves an input from an outside kill, and an input that
    /// kills the worker fails again.
    async fn settle(
        &mut self,
        input: &[u8],
        result: Result<(Reply, Vec<Vec<u8>>), Failure>,
        started: Instant,
    ) -> Called {
        let result = match result {
            Err(Failure::WorkerExited) => {
                tracing::error!(
                    tick = self.tick,
                    "the worker died during the call: retrying the input once with a new worker"
                );
                self.restart_worker("exited").await;
                self.call_worker(input).await
            }
            other => other,
        };
        let (reply, payloads) = match result {
            Ok(r) => r,
            Err(failure) => return Called::Failed(failure),
        };
        self.shared.call_duration(started.elapsed().as_secs_f64());
        if !reply.ok {
            let error = reply.error.unwrap_or_default();
            if reply.kind.as_deref() == Some("input") && self.bad_inputs.first_time(input) {
                tracing::error!(
                    tick = self.tick,
                    "{error}; the handler is not called until the input changes to valid JSON"
                );
            }
            return Called::Failed(match reply.kind.as_deref() {
                Some("input") => Failure::BadInput(error),
                Some("output") => Failure::Output(error),
                _ => Failure::Handler { error, traceback: reply.traceback.unwrap_or_default() },
            });
        }
        self.shared.success();
        // A call that succeeds proves the worker healthy: the next crash starts a fresh backoff.
        self.restart_backoff.reset();
        let mut parts = payloads.into_iter();
        let output = parts.next().unwrap_or_default();
        if reply.snapshot {
            self.snapshot = parts.next();
        }
        if let Some(why) = &reply.snapshot_off
            && !self.snapshot_off_logged
        {
            tracing::warn!("{why}: context.env will not survive a worker restart");
            self.snapshot_off_logged = true;
        }
        if reply.state {
            if let (Some(state), Some(key)) = (parts.next(), self.settings.state_key.clone())
                && let Err(e) = self.redis.set(&key, &state).await
            {
                tracing::warn!(tick = self.tick, "cannot save `STATE_KEY`: {e}");
            }
        } else if let Some(why) = &reply.state_error
            && !self.state_error_logged
        {
            tracing::warn!("{why}: `STATE_KEY` is not updated");
            self.state_error_logged = true;
        }
        match (&self.settings.output_key, reply.truthy) {
            (Some(_), true) => Called::Output(output),
            _ => Called::NothingToWrite,
        }
    }

    async fn write_output(&mut self, output: &[u8]) -> Outcome {
        let Some(key) = self.settings.output_key.clone() else { return Outcome::NotWritten };
        match self.redis.set(&key, output).await {
            Ok(()) => Outcome::Written,
            Err(e) => Outcome::Failed(self.redis_failure(e)),
        }
    }

    fn report(&mut self, outcome: &Outcome) {
        self.shared.outcome(outcome.label());
        let tick = self.tick;
        match outcome {
            Outcome::Failed(Failure::Handler { error, traceback }) => {
                tracing::error!(tick, "handler raised {error}; the output keeps its last value\n{traceback}");
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
                    "the handler ran past HANDLER_TIMEOUT ({:?}): restarting the worker",
                    self.settings.handler_timeout
                );
            }
            Outcome::Failed(Failure::WorkerExited) => {
                tracing::error!(tick, "the worker died during the call: restarting it")
            }
            Outcome::Failed(Failure::RedisRefused(error)) => {
                if self.refusals.first_time(error.as_bytes()) {
                    tracing::error!(tick, "{error}; logged once until the error changes");
                }
            }
            Outcome::Failed(Failure::WorkerUnavailable(error)) => tracing::error!(tick, "{error}"),
            // Logged where they happen, once per outage or per distinct bad value.
            Outcome::Failed(Failure::RedisDown(_) | Failure::BadInput(_))
            | Outcome::Empty
            | Outcome::Unchanged => {}
            Outcome::Written | Outcome::NotWritten => tracing::debug!(tick, outcome = outcome.label()),
        }
    }

    fn redis_failure(&mut self, e: SourceError) -> Failure {
        self.shared.redis_error();
        match e {
            SourceError::Down(msg) => {
                self.shared.set_redis_ok(false);
                if self.redis_down_since.is_none() {
                    tracing::error!(
                        tick = self.tick,
                        "redis is unreachable ({msg}); retrying every tick until it is back"
                    );
                    self.redis_down_since = Some(Instant::now());
                }
                Failure::RedisDown(msg)
            }
            SourceError::Command(msg) => {
                self.redis_back();
                Failure::RedisRefused(format!("reading `{}`: {msg}", self.settings.input_key))
            }
        }
    }

    fn redis_back(&mut self) {
        self.shared.set_redis_ok(true);
        if let Some(since) = self.redis_down_since.take() {
            tracing::info!(tick = self.tick, "redis is back after {:.1}s", since.elapsed().as_secs_f64());
        }
    }

    /// `STATE_KEY`: the JSON state saved by an earlier pod, loaded once Redis answers.
    async fn load_state(&mut self) {
        self.state_loaded = true;
        let Some(key) = self.settings.state_key.clone() else { return };
        let state = match self.redis.get(&key).await {
            Ok(Some(state)) if !state.is_empty() => state,
            Ok(_) => return,
            Err(e) => {
                self.state_loaded = false;
                tracing::warn!("cannot read `STATE_KEY` `{key}` yet: {e}");
                return;
            }
        };
        if let Some(worker) = self.worker.as_mut() {
            match worker.request(&serde_json::json!({"op": "restore_json"}), &[&state], CONTROL_TIMEOUT).await
            {
                Ok((reply, _)) if reply.ok => tracing::info!("context.env restored from `{key}`"),
                Ok((reply, _)) => {
                    tracing::warn!("`{key}` does not hold a JSON state: {}", reply.error.unwrap_or_default())
                }
                Err(e) => tracing::warn!("cannot restore `{key}`: {e}"),
            }
        }
    }

    /// The live worker, starting one (with backoff after a recent failure) when there is none.
    async fn ensure_worker(&mut self) -> Option<&mut Worker> {
        // A worker that died between calls (killed from outside) is replaced before the call,
        // so the input is not lost to it.
        let mut replaced = false;
        if self.worker.as_mut().is_some_and(Worker::has_exited) {
            tracing::error!(tick = self.tick, "the worker exited between calls: restarting it");
            self.shared.restart("exited_idle");
            self.shared.set_worker_ready(false);
            self.worker = None;
            replaced = true;
        }
        if self.worker.is_none() {
            if self.last_restart.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
                tokio::time::sleep(self.restart_backoff.next_delay()).await;
            } else {
                self.restart_backoff.reset();
            }
            self.last_restart = Some(Instant::now());
            match self.spawn_with_state(&self.code.init.clone()).await {
                Ok(worker) => {
                    self.worker = Some(worker);
                    self.shared.set_worker_ready(true);
                    if replaced {
                        self.announce_restart();
                    }
                }
                Err(e) => {
                    tracing::error!(tick = self.tick, "cannot start the worker: {e}");
                    return None;
                }
            }
        }
        self.worker.as_mut()
    }

    async fn spawn_with_state(&self, init: &crate::worker::InitConfig) -> Result<Worker, WorkerError> {
        let mut worker = Worker::start(&self.settings.python, &self.extra_env, init, IMPORT_TIMEOUT).await?;
        if let Some(snapshot) = &self.snapshot {
            let (reply, _) = worker
                .request(&serde_json::json!({"op": "restore_pickle"}), &[snapshot], CONTROL_TIMEOUT)
                .await?;
            if !reply.ok {
                tracing::warn!("cannot restore context.env: {}", reply.error.unwrap_or_default());
            }
        }
        Ok(worker)
    }

    async fn restart_worker(&mut self, reason: &str) {
        self.shared.restart(reason);
        self.shared.set_worker_ready(false);
        if let Some(worker) = self.worker.take() {
            worker.kill().await;
        }
        if self.ensure_worker().await.is_some() {
            self.announce_restart();
        }
    }

    fn announce_restart(&self) {
        let restored = if self.snapshot.is_some() {
            "restored from the last snapshot"
        } else {
            "empty (no snapshot yet)"
        };
        tracing::info!(tick = self.tick, "worker restarted; context.env {restored}");
    }

    /// Whether the code on disk is due to be looked at (once a second).
    fn reload_due(&self) -> bool {
        self.settings.reload && self.last_reload_check.elapsed() >= Duration::from_secs(1)
    }

    /// Hot reload: when the mounted code changed, import it in a new worker and swap it in
    /// with `context.env`; a broken change keeps the old worker.
    async fn maybe_reload(&mut self) {
        if !self.reload_due() {
            return;
        }
        self.last_reload_check = Instant::now();
        let current = code::watched_path(&self.settings).and_then(code::fingerprint);
        if current.is_none() || current == self.fingerprint {
            return;
        }
        self.fingerprint = current;
        let prepared = match code::prepare(&self.settings) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("the code changed but cannot be read: {e}; keeping the running version");
                return;
            }
        };
        match self.spawn_with_state(&prepared.init).await {
            Ok(worker) => {
                if let Some(old) = self.worker.replace(worker) {
                    old.kill().await;
                }
                self.code = prepared;
                self.shared.restart("reload");
                tracing::info!("the code changed: new version loaded, context.env carried over");
            }
            Err(e) => tracing::error!("the code changed but does not load: {e}; keeping the running version"),
        }
    }
}

/// A call the worker did not answer: stuck past the timeout, or gone.
fn failure_of(e: WorkerError) -> Failure {
    match e {
        WorkerError::Timeout(_) => Failure::Timeout,
        _ => Failure::WorkerExited,
    }
}

/// The database number of a `redis://host:port/N` URL (0 when absent).
fn db_of(url: &str) -> i64 {
    url.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}
