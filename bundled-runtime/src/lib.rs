//! fnops-runtime: runs a user's Python `handler(input, context)` against Redis, as a drop-in
//! replacement for the course runtime.
//!
//! Data path, one module per stage: [`config`] (environment → settings) → [`source`] (Redis
//! `GET`) → [`runner`] (schedule, triggers) → [`worker`] (the persistent Python process) →
//! [`source`] again (`SET`). [`tick`] holds the decisions and the error policy without I/O;
//! [`code`] finds and unpacks the user's code; [`http`] and [`metrics`] make it observable.

pub mod backoff;
pub mod code;
pub mod config;
pub mod dashboard;
pub mod http;
pub mod metrics;
pub mod runner;
pub mod source;
pub mod state;
pub mod tick;
pub mod tools;
/// The Python worker, shared with the `fnops` CLI (`fnops invoke`).
pub use fnops_worker as worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Settings;

/// Read the environment, run until SIGTERM; the process exit code (0 clean stop, 1 bad
/// configuration or code that does not load).
pub fn main_entry() -> u8 {
    // Configured by the environment (as the course runtime and a pod are); the only arguments
    // are the conventional ones, so an installed wheel can be checked with `--version`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = tools::run(&args) {
        return code;
    }
    match args.first().map(String::as_str) {
        None => {}
        Some("--version" | "-V") => {
            println!("fnops-runtime {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Some("--help" | "-h") => {
            println!("{HELP}");
            return 0;
        }
        Some(other) => {
            eprintln!(
                "fnops-runtime: error: unexpected argument `{other}`: the runtime is configured by environment variables (see --help)"
            );
            return 2;
        }
    }
    let settings = match Settings::from_env(|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fnops-runtime: error: {e}");
            return 1;
        }
    };
    init_logging(settings.log_json);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fnops-runtime: error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(run(settings))
}

const HELP: &str = "fnops-runtime: runs a Python handler(input, context) against Redis

Usage: fnops-runtime [--version | --help]
       fnops-runtime record|feed|watch [--redis URL] [--key KEY] [--every D] [--for D]
                     [--count N] [--series FILE | --input FILE]
         (the Redis side of `fnops record` and `fnops dev`)

Configured by environment variables, as ConfigMap `runtime-config` sets them: REDIS_HOST,
REDIS_PORT (or REDIS_URL), REDIS_INPUT_KEY, REDIS_OUTPUT_KEY, MONITORING_PERIOD, TRIGGER,
HANDLER_FUNCTION, PYFILE_PATH or ZIP_PATH, METRICS_PORT and more: see
https://github.com/fnops/fnops/blob/main/docs/runtime.md

Exit codes: 0 stopped by SIGTERM or SIGINT; 1 bad configuration or code that does not load;
2 bad arguments";

fn init_logging(json: bool) {
    let level = match std::env::var("LOG_LEVEL").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let builder =
        tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_max_level(level);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// The host to show in the dashboard's URL: a wildcard address is reachable as localhost.
fn shown_host(addr: &str) -> &str {
    match addr {
        "0.0.0.0" | "::" | "[::]" => "localhost",
        other => other,
    }
}

async fn run(settings: Settings) -> u8 {
    let extra_env = install_requirements(&settings).await;
    let stall_after = settings.period * 2 + settings.handler_timeout + Duration::from_secs(60);
    let dashboard = settings.dashboard && settings.metrics_port != 0;
    let shared = Arc::new(metrics::Shared::new(stall_after, dashboard));
    if let Some(board) = &shared.board {
        let board = board.clone();
        tokio::spawn(async move { board.push_forever().await });
    }
    if settings.metrics_port != 0 {
        let addr = format!("{}:{}", settings.metrics_addr, settings.metrics_port);
        match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => {
                let port = listener.local_addr().map_or(settings.metrics_port, |a| a.port());
                if dashboard {
                    tracing::info!(
                        "serving /healthz, /readyz and /metrics on {addr}; the dashboard is at http://{}:{port}/",
                        shown_host(&settings.metrics_addr)
                    );
                } else {
                    tracing::info!("serving /healthz, /readyz and /metrics on {addr}");
                }
                tokio::spawn(http::serve(listener, shared.clone()));
            }
            Err(e) => {
                tracing::error!("`METRICS_PORT`: cannot listen on {addr}: {e}");
                return 1;
            }
        }
    }
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop requested: finishing the tick in flight");
        let _ = tx.send(true);
    });
    let runner = match runner::Runner::start(settings, shared, extra_env, rx).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return 1;
        }
    };
    runner.run().await;
    0
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

/// `NEW_REQUERIMENTS` (sic, as the course image): pip-install that file before the worker
/// starts, into `/tmp` so a read-only root filesystem works. Returns the worker's extra env.
async fn install_requirements(settings: &Settings) -> Vec<(String, String)> {
    let Some(file) = settings.requirements.as_ref().filter(|f| f.is_file()) else { return Vec::new() };
    let target = std::env::temp_dir().join("fnops-site-packages");
    tracing::info!("installing `{}` (NEW_REQUERIMENTS)", file.display());
    let status = tokio::process::Command::new(&settings.python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
        ])
        .arg(&target)
        .arg("-r")
        .arg(file)
        .status()
        .await;
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => tracing::error!("pip failed ({s}); starting without those packages"),
        Err(e) => tracing::error!("cannot run pip: {e}; starting without those packages"),
    }
    let mut path = target.display().to_string();
    if let Ok(existing) = std::env::var("PYTHONPATH") {
        path = format!("{path}:{existing}");
    }
    vec![("PYTHONPATH".into(), path)]
}
