//! WORKER: one persistent `python3` process that imports the user's code once and answers
//! calls. The script is embedded in the binary. The host talks to it over the worker's original
//! stdin/stdout, which the script moves to private descriptors before user code runs; the
//! user's `print()` and logging arrive on stderr and go to the runtime's log.

pub mod protocol;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

pub use protocol::Reply;

const SCRIPT: &str = include_str!("worker.py");

/// What the worker needs to import the code and build the context.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InitConfig {
    /// Imported as `usermodule` when set.
    pub module_path: Option<String>,
    /// Prepended to `sys.path`.
    pub sys_path: Vec<String>,
    pub handler: String,
    pub host: String,
    pub port: u16,
    pub input_key: String,
    pub output_key: Option<String>,
    pub allow_nan: bool,
    pub state_json: bool,
    /// For `function_getmtime` when the code is a ZIP.
    pub zip_path: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start `{python}`: {source}")]
    Spawn { python: String, source: std::io::Error },
    /// The worker process went away (crash, `os._exit`, OOM kill).
    #[error("the worker exited")]
    Exited,
    #[error("the handler did not return within {0:?}")]
    Timeout(Duration),
    /// Importing the code or finding the handler failed.
    #[error("{0}")]
    Config(String),
}

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Forwards the worker's stderr to the log; drained when the worker stops.
    forwarder: tokio::task::JoinHandle<()>,
    pub mtime: String,
}

impl Worker {
    /// Start a worker and import the code; `Config` when the import or the lookup fails.
    pub async fn start(
        python: &str,
        extra_env: &[(String, String)],
        init: &InitConfig,
        timeout: Duration,
    ) -> Result<Worker, WorkerError> {
        let mut cmd = Command::new(python);
        cmd.arg("-u")
            .arg("-c")
            .arg(SCRIPT)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.spawn().map_err(|source| WorkerError::Spawn { python: python.to_owned(), source })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(WorkerError::Exited);
        };
        let forwarder = tokio::spawn(forward_output(stderr));
        let mut worker = Worker { child, stdin, stdout, forwarder, mtime: String::new() };
        let header = serde_json::json!({"op": "init", "config": init});
        let (reply, _) = worker.request(&header, &[], timeout).await?;
        if !reply.ok {
            let detail = reply.traceback.as_deref().and_then(last_line).map(str::to_owned);
            return Err(WorkerError::Config(
                detail.or(reply.error).unwrap_or_else(|| "import failed".into()),
            ));
        }
        worker.mtime = reply.mtime.unwrap_or_default();
        Ok(worker)
    }

    /// Call the handler with one input (the hot path: the header is a constant).
    pub async fn call(
        &mut self,
        input: &[u8],
        timeout: Duration,
    ) -> Result<(Reply, Vec<Vec<u8>>), WorkerError> {
        let frame = protocol::encode_call(input);
        self.exchange(&frame, timeout).await
    }

    /// The two ends of the protocol, to send the next call while the current one runs.
    pub fn pipes(&mut self) -> (&mut ChildStdin, &mut ChildStdout) {
        (&mut self.stdin, &mut self.stdout)
    }

    /// One request, one reply, within `timeout`. On timeout or EOF the worker is unusable.
    pub async fn request(
        &mut self,
        header: &serde_json::Value,
        payloads: &[&[u8]],
        timeout: Duration,
    ) -> Result<(Reply, Vec<Vec<u8>>), WorkerError> {
        let frame = protocol::encode(header, payloads);
        self.exchange(&frame, timeout).await
    }

    async fn exchange(
        &mut self,
        frame: &[u8],
        timeout: Duration,
    ) -> Result<(Reply, Vec<Vec<u8>>), WorkerError> {
        within(timeout, async {
            send(&mut self.stdin, frame).await?;
            protocol::read_reply(&mut self.stdout).await
        })
        .await
    }

    /// Kill the process, reap it, and log what it printed last (within a second).
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.forwarder).await;
    }

    /// Whether the process has exited (killed from outside while idle, for instance).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

/// Send one frame (the worker reads it when it is done with the call in progress).
pub async fn send(stdin: &mut ChildStdin, frame: &[u8]) -> std::io::Result<()> {
    stdin.write_all(frame).await?;
    stdin.flush().await
}

/// The next reply, within `timeout`. On timeout or EOF the worker is unusable.
pub async fn receive(
    stdout: &mut ChildStdout,
    timeout: Duration,
) -> Result<(Reply, Vec<Vec<u8>>), WorkerError> {
    within(timeout, protocol::read_reply(stdout)).await
}

/// Protocol I/O within `timeout`: past it the worker is stuck, and an I/O error means it went
/// away.
pub async fn within<T>(
    timeout: Duration,
    io: impl Future<Output = std::io::Result<T>>,
) -> Result<T, WorkerError> {
    match tokio::time::timeout(timeout, io).await {
        Err(_) => Err(WorkerError::Timeout(timeout)),
        Ok(Err(_)) => Err(WorkerError::Exited),
        Ok(Ok(value)) => Ok(value),
    }
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim)
}

/// The worker's stderr (the user's prints and logs) into the runtime's log, line by line.
async fn forward_output(stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "handler", "{line}");
    }
}
