//! What `/metrics`, `/healthz` and `/readyz` report, shared between the loop and the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `fnops_invocations_total{outcome}`: one of [`crate::tick::Outcome::label`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// `fnops_worker_restarts_total{reason}`: one of [`crate::tick::RestartReason::label`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RestartLabels {
    reason: &'static str,
}

pub struct Shared {
    registry: Registry,
    invocations: Family<OutcomeLabels, Counter>,
    duration: Histogram,
    restarts: Family<RestartLabels, Counter>,
    redis_errors: Counter,
    last_success: Gauge<f64, AtomicU64>,
    /// Unix milliseconds of the loop's last step (liveness).
    heartbeat_ms: AtomicU64,
    worker_ready: AtomicBool,
    redis_ok: AtomicBool,
    /// How long the loop may be silent before `/healthz` fails.
    stall_after: Duration,
    /// The dashboard, unless `DASHBOARD=false`.
    pub board: Option<Arc<crate::dashboard::Board>>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Shared {
    pub fn new(stall_after: Duration, dashboard: bool) -> Shared {
        let mut registry = Registry::default();
        let invocations = Family::<OutcomeLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let restarts = Family::<RestartLabels, Counter>::default();
        let redis_errors = Counter::default();
        let last_success = Gauge::<f64, AtomicU64>::default();
        registry.register("fnops_invocations", "Ticks by outcome", invocations.clone());
        registry.register("fnops_invocation_duration_seconds", "Handler call duration", duration.clone());
        registry.register("fnops_worker_restarts", "Python worker restarts by reason", restarts.clone());
        registry.register("fnops_redis_errors", "Failed Redis commands", redis_errors.clone());
        registry.register(
            "fnops_last_success_timestamp_seconds",
            "Unix time of the last successful handler call",
            last_success.clone(),
        );
        Shared {
            registry,
            invocations,
            duration,
            restarts,
            redis_errors,
            last_success,
            heartbeat_ms: AtomicU64::new(now_ms()),
            worker_ready: AtomicBool::new(false),
            redis_ok: AtomicBool::new(false),
            stall_after,
            board: dashboard.then(|| Arc::new(crate::dashboard::Board::new())),
        }
    }

    pub fn outcome(&self, outcome: &crate::tick::Outcome) {
        self.invocations.get_or_create(&OutcomeLabels { outcome: outcome.label() }).inc();
    }

    pub fn call_duration(&self, seconds: f64) {
        self.duration.observe(seconds);
    }

    pub fn success(&self) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        self.last_success.set(now);
    }

    pub fn restart(&self, reason: crate::tick::RestartReason) {
        self.restarts.get_or_create(&RestartLabels { reason: reason.label() }).inc();
    }

    pub fn redis_error(&self) {
        self.redis_errors.inc();
    }

    pub fn beat(&self) {
        self.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn set_worker_ready(&self, ready: bool) {
        self.worker_ready.store(ready, Ordering::Relaxed);
    }

    pub fn set_redis_ok(&self, ok: bool) {
        self.redis_ok.store(ok, Ordering::Relaxed);
    }

    pub fn live(&self) -> bool {
        now_ms().saturating_sub(self.heartbeat_ms.load(Ordering::Relaxed))
            <= self.stall_after.as_millis() as u64
    }

    /// `(ready, reason)`: the worker has imported the code and Redis answered last time.
    pub fn ready(&self) -> (bool, &'static str) {
        match (self.worker_ready.load(Ordering::Relaxed), self.redis_ok.load(Ordering::Relaxed)) {
            (true, true) => (true, "ready"),
            (false, _) => (false, "the worker has not imported the code"),
            (true, false) => (false, "redis is not reachable"),
        }
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = encode(&mut text, &self.registry);
        text
    }
}
