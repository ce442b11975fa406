//! SUPERVISION: the worker's life. Start one (with `context.env` restored), replace it when the
//! error policy says so (with jittered backoff while starts keep failing, interrupted by a stop),
//! swap in new code on hot reload with the live state carried over, and stop it gracefully.
//!
//! The loops reach the worker through [`Calls`] and start it through [`Spawner`], so their unit
//! tests run over a stand-in; in production both are the Python worker of `fnops-worker`.

use std::time::{Duration, Instant};

use fnops_worker::{CallId, InitConfig, Reply, Request, Spawn, Worker, WorkerError};
use tokio::sync::watch;

use super::report::Reporter;
use crate::backoff::Backoff;
use crate::code::{self, Fingerprint, Prepared};
use crate::config::Settings;
use crate::state::{Restore, StateKeeper};
use crate::tick::RestartReason;

/// Requests other than handler calls (restore, take state) get this long.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker gets to exit after its input is closed, before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A running worker, as the loops use it.
// The loops run on a current-thread runtime: their futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Calls {
    /// Queue a request (never waits); its reply comes from `receive_by` with the id, in order.
    fn send(&mut self, request: Request<'_>) -> CallId;
    /// The reply to `id` by `deadline`; safe to drop while waiting.
    async fn receive_by(
        &mut self,
        id: CallId,
        deadline: tokio::time::Instant,
        allowed: Duration,
    ) -> Result<Reply, WorkerError>;
    fn has_exited(&mut self) -> bool;
    /// Close its input, wait up to `grace`, then kill it.
    async fn shutdown(self, grace: Duration);

    /// One request and its reply within `timeout`.
    async fn request(&mut self, request: Request<'_>, timeout: Duration) -> Result<Reply, WorkerError> {
        let id = self.send(request);
        self.receive_by(id, tokio::time::Instant::now() + timeout, timeout).await
    }
}

/// Starts workers.
// The loops run on a current-thread runtime: their futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Spawner {
    type Worker: Calls;
    async fn spawn(&self, init: &InitConfig) -> Result<Self::Worker, WorkerError>;
}

impl Calls for Worker {
    fn send(&mut self, request: Request<'_>) -> CallId {
        Worker::send(self, request)
    }

    async fn receive_by(
        &mut self,
        id: CallId,
        deadline: tokio::time::Instant,
        allowed: Duration,
    ) -> Result<Reply, WorkerError> {
        Worker::receive_by(self, id, deadline, allowed).await
    }

    fn has_exited(&mut self) -> bool {
        Worker::has_exited(self)
    }

    async fn shutdown(self, grace: Duration) {
        Worker::shutdown(self, grace).await;
    }
}

/// The production spawner: `python3` running the embedded worker script.
pub struct Python {
    pub spawn: Spawn,
    /// Importing the user's module (numpy, pandas...) may take this long.
    pub import_timeout: Duration,
}

impl Spawner for Python {
    type Worker = Worker;

    async fn spawn(&self, init: &InitConfig) -> Result<Worker, WorkerError> {
        Worker::start(&self.spawn, init, self.import_timeout).await
    }
}

pub struct Supervisor<P: Spawner> {
    spawner: P,
    worker: Option<P::Worker>,
    code: Prepared,
    fingerprint: Option<Fingerprint>,
    /// Why the worker slot is empty: counted on the restarts metric when it is filled again.
    vacated: Option<RestartReason>,
    backoff: Backoff,
    last_start: Option<Instant>,
    last_reload_check: Instant,
    shutdown: watch::Receiver<bool>,
}

impl<P: Spawner> Supervisor<P> {
    /// A supervisor whose first worker is already running.
    pub fn new(
        spawner: P,
        worker: P::Worker,
        code: Prepared,
        settings: &Settings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Supervisor {
            spawner,
            worker: Some(worker),
            code,
            fingerprint: code::watched_path(settings).and_then(code::fingerprint),
            vacated: None,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
            last_start: Some(Instant::now()),
            last_reload_check: Instant::now(),
            shutdown,
        }
    }

    /// The live worker, if there is one (without starting one).
    pub fn current(&mut self) -> Option<&mut P::Worker> {
        self.worker.as_mut()
    }

    /// The live worker, starting one when there is none: with backoff when the last start was
    /// recent, and `None` when it cannot start or a stop arrives during the backoff.
    pub async fn ensure(
        &mut self,
        state: &StateKeeper,
        report: &mut Reporter,
        tick: u64,
    ) -> Option<&mut P::Worker> {
        // A worker killed from outside while idle is replaced before the call, so the input is
        // not lost to it.
        if self.worker.as_mut().is_some_and(Calls::has_exited) {
            tracing::error!(tick, "the worker exited between calls: replacing it");
            self.vacate(RestartReason::Exited, report).await;
        }
        if self.worker.is_none() {
            if self.last_start.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
                let delay = self.backoff.next_delay();
                if *self.shutdown.borrow() {
                    return None;
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = self.shutdown.changed() => return None,
                }
            } else {
                self.backoff.reset();
            }
            self.last_start = Some(Instant::now());
            match self.start_with(&self.code.init, state.restore()).await {
                Ok(worker) => {
                    self.worker = Some(worker);
                    report.shared.set_worker_ready(true);
                    if let Some(reason) = self.vacated.take() {
                        let from_json = matches!(state.restore(), Some(Restore::Json(_)));
                        report.restarted(tick, reason, state.snapshot_tick(), from_json);
                    }
                }
                Err(e) => {
                    tracing::error!(tick, "cannot start the worker: {e}");
                    return None;
                }
            }
        }
        self.worker.as_mut()
    }

    async fn start_with(
        &self,
        init: &InitConfig,
        restore: Option<Restore<'_>>,
    ) -> Result<P::Worker, WorkerError> {
        let mut worker = self.spawner.spawn(init).await?;
        let request = match restore {
            None => return Ok(worker),
            Some(Restore::Pickle(blob)) => Request::RestorePickle(blob),
            Some(Restore::Json(json)) => Request::RestoreJson(json),
        };
        match worker.request(request, CONTROL_TIMEOUT).await? {
            Reply::Done => {}
            Reply::Failed(f) => tracing::warn!("cannot restore context.env: {}", f.error),
            other => tracing::warn!("cannot restore context.env: unexpected reply {other:?}"),
        }
        Ok(worker)
    }

    /// Restore `STATE_KEY`'s JSON into the live worker.
    pub async fn restore_json(&mut self, json: &[u8]) -> Result<(), String> {
        let Some(worker) = self.worker.as_mut() else { return Err("no worker".into()) };
        match worker.request(Request::RestoreJson(json), CONTROL_TIMEOUT).await {
            Ok(Reply::Done) => Ok(()),
            Ok(Reply::Failed(f)) => Err(f.error),
            Ok(other) => Err(format!("unexpected reply {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Replace the worker (it is dead, stuck or confused) now, so `/readyz` and the next call
    /// find a new one; with backoff when starts keep failing.
    pub async fn replace(
        &mut self,
        reason: RestartReason,
        state: &StateKeeper,
        report: &mut Reporter,
        tick: u64,
    ) {
        self.vacate(reason, report).await;
        let _ = self.ensure(state, report, tick).await;
    }

    /// A call succeeded: the worker is healthy, so the next crash starts a fresh backoff.
    pub fn healthy(&mut self) {
        self.backoff.reset();
    }

    /// Drop the worker; the next call starts another.
    pub async fn vacate(&mut self, reason: RestartReason, report: &mut Reporter) {
        report.shared.set_worker_ready(false);
        if let Some(worker) = self.worker.take() {
            worker.shutdown(Duration::ZERO).await;
        }
        self.vacated = Some(reason);
    }

    /// Stop the worker at the end of the run: input closed, then a grace period.
    pub async fn stop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.shutdown(STOP_GRACE).await;
        }
    }

    /// Whether the code on disk is due to be looked at (once a second).
    pub fn reload_due(&self, settings: &Settings) -> bool {
        settings.reload && self.last_reload_check.elapsed() >= Duration::from_secs(1)
    }

    /// Hot reload: when the mounted code changed, import it in a new worker and swap it in,
    /// with the old worker's live `context.env`. A change that does not load keeps the old
    /// worker. The log says exactly what state the new version starts from.
    pub async fn reload_if_changed(
        &mut self,
        settings: &Settings,
        state: &StateKeeper,
        report: &mut Reporter,
        tick: u64,
    ) {
        if !self.reload_due(settings) {
            return;
        }
        self.last_reload_check = Instant::now();
        let current = code::watched_path(settings).and_then(code::fingerprint);
        if current.is_none() || current == self.fingerprint {
            return;
        }
        self.fingerprint = current;
        let prepared = match code::prepare_off_thread(settings).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(
                    tick,
                    "the code changed but cannot be read: {e}; keeping the running version"
                );
                return;
            }
        };
        // The live state, not the last snapshot (which may be older, or off).
        let live = match self.worker.as_mut() {
            Some(worker) => match worker.request(Request::TakeState, CONTROL_TIMEOUT).await {
                Ok(Reply::State(blob)) => Ok(blob),
                Ok(Reply::Failed(f)) => Err(f.error),
                Ok(other) => Err(format!("unexpected reply {other:?}")),
                Err(e) => Err(e.to_string()),
            },
            None => Err("no worker was running".into()),
        };
        let (restore, carried) = match &live {
            Ok(blob) => (Some(Restore::Pickle(blob)), "context.env carried over".to_owned()),
            Err(why) => match (state.restore(), state.snapshot_tick()) {
                (Some(r @ Restore::Pickle(_)), Some(at)) => (
                    Some(r),
                    format!(
                        "the live context.env could not be carried over ({why}): it starts from the snapshot of tick {at}"
                    ),
                ),
                (Some(r @ Restore::Json(_)), _) => (
                    Some(r),
                    format!(
                        "the live context.env could not be carried over ({why}): it starts from `STATE_KEY`"
                    ),
                ),
                _ => {
                    (None, format!("the live context.env could not be carried over ({why}): it starts empty"))
                }
            },
        };
        match self.start_with(&prepared.init, restore).await {
            Ok(worker) => {
                if let Some(old) = self.worker.replace(worker) {
                    old.shutdown(STOP_GRACE).await;
                }
                self.code = prepared;
                report.shared.restart(RestartReason::Reload);
                report.shared.set_worker_ready(true);
                tracing::info!(tick, "the code changed: new version loaded; {carried}");
            }
            Err(e) => {
                tracing::error!(tick, "the code changed but does not load: {e}; keeping the running version")
            }
        }
    }
}

/// The spawner shared by the runtime: its worker logs go to the log, its frames are capped by
/// the settings.
pub fn python_spawner(settings: &Settings, extra_env: Vec<(String, String)>) -> Python {
    let mut spawn = Spawn::new(settings.python.clone(), fnops_worker::tracing_sink());
    spawn.env = extra_env;
    spawn.max_frame = settings.max_frame();
    Python { spawn, import_timeout: Duration::from_secs(120) }
}
