//! WORKER: one persistent `python3` process that imports the user's code once and answers the
//! host's requests, shared by `fnops-runtime` (the pod) and `fnops invoke` (a local run).
//!
//! The worker script is embedded in the binary and written to a private temporary directory, so
//! `ps` and tracebacks name a file. The host talks to it over the worker's original stdin and
//! stdout, which the script moves to private descriptors before user code runs; the user's
//! `print()` and logging arrive on stderr, read as bytes (lossily decoded, lines capped) and
//! handed to a [`LogSink`]. Requests and replies are typed ([`protocol`]); each reply names the
//! request it answers, and one that does not match is refused.

mod log;
pub mod protocol;
mod script;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use protocol::{CallId, Called, FailKind, Failed, FrameError, Reply, Request};

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
    /// Write NaN and Infinity as `json.dumps` does (the course runtime), instead of failing.
    pub allow_nan: bool,
    pub state_json: bool,
    /// For `function_getmtime` when the code is a ZIP.
    pub zip_path: Option<String>,
    /// No output, snapshot or state bigger than this is sent (the worker says why instead).
    pub max_payload: usize,
}

/// Where the worker's output lines go (the user's `print()` and logging), one call per line.
pub type LogSink = Arc<dyn Fn(String) + Send + Sync>;

/// The sink of the runtime: each line a log event with target `handler`.
pub fn tracing_sink() -> LogSink {
    Arc::new(|line: String| tracing::info!(target: "handler", "{line}"))
}

/// How to start a worker.
#[derive(Clone)]
pub struct Spawn {
    /// The interpreter.
    pub python: String,
    /// Extra environment for the worker (`PYTHONPATH` of installed requirements).
    pub env: Vec<(String, String)>,
    pub log: LogSink,
    /// Upper bound on one reply from the worker, header and payloads.
    pub max_frame: usize,
    /// Lines of the worker's output longer than this are cut (and say so).
    pub max_line: usize,
}

impl Spawn {
    /// Defaults for `python`: 64 MiB frames, 16 KiB lines, logs to `log`.
    pub fn new(python: impl Into<String>, log: LogSink) -> Spawn {
        Spawn { python: python.into(), env: Vec::new(), log, max_frame: 64 << 20, max_line: 16 << 10 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot start `{python}`: {source}")]
    Spawn { python: String, source: std::io::Error },
    /// The worker process went away (crash, `os._exit`, OOM kill).
    #[error("the worker exited")]
    Exited,
    #[error("the worker did not answer within {0:?}")]
    Timeout(Duration),
    /// Importing the code or finding the handler failed.
    #[error("{}", .0.error)]
    Config(Failed),
    /// A reply to another request: something else wrote on the protocol (a forked child).
    #[error("the worker answered request {got} when request {expected} was due")]
    Desync { expected: CallId, got: CallId },
    #[error(transparent)]
    Frame(FrameError),
    /// A reply of the wrong kind for the request.
    #[error("the worker answered `{op}` with {reply:?}")]
    Unexpected { op: &'static str, reply: Box<Reply> },
}

impl WorkerError {
    /// Whether the worker can still be used after this error (only a failed import leaves
    /// nothing to use; every other error means the process is gone, stuck or confused).
    pub fn worker_is_unusable(&self) -> bool {
        !matches!(self, WorkerError::Config(_))
    }
}

/// One worker process.
pub struct Worker {
    child: Child,
    /// Frames to the worker's stdin, written by a task of their own so a send never waits for
    /// the worker to read (it may be busy writing a reply the host is not reading yet).
    frames: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Replies read from the worker's stdout by a task of their own, so waiting for one can be
    /// dropped and resumed (a `select!` that also waits for Redis) without losing bytes.
    replies: mpsc::UnboundedReceiver<Result<(CallId, Reply), FrameError>>,
    next_id: CallId,
    /// Forwards the worker's stderr to the log; drained when the worker stops.
    forwarder: tokio::task::JoinHandle<()>,
    /// The script's file, kept while the worker runs.
    _script: Option<Arc<script::ScriptFile>>,
    /// `context.function_getmtime`.
    pub mtime: String,
}

impl Worker {
    /// Start a worker and import the code: `Config` when the import or the lookup fails.
    pub async fn start(spawn: &Spawn, init: &InitConfig, timeout: Duration) -> Result<Worker, WorkerError> {
        let script = script::ScriptFile::get();
        let mut cmd = Command::new(&spawn.python);
        cmd.arg("-u");
        match &script {
            Some(file) => cmd.arg(file.path()),
            None => cmd.arg("-c").arg(script::SOURCE),
        };
        cmd.env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &spawn.env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.spawn().map_err(|source| WorkerError::Spawn { python: spawn.python.clone(), source })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(WorkerError::Exited);
        };
        let forwarder = tokio::spawn(log::forward(stderr, spawn.max_line, spawn.log.clone()));
        let (frames, mut pending) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(frame) = pending.recv().await {
                if stdin.write_all(&frame).await.is_err() {
                    break;
                }
            }
            // Dropping stdin closes the worker's input: it exits at end of file.
        });
        let (answers, replies) = mpsc::unbounded_channel();
        let max_frame = spawn.max_frame;
        tokio::spawn(async move {
            let mut stdout = BufReader::with_capacity(1 << 16, stdout);
            loop {
                let reply = protocol::read_reply(&mut stdout, max_frame).await;
                let failed = reply.is_err();
                if answers.send(reply).is_err() || failed {
                    // A frame that cannot be read leaves the stream out of step: stop reading.
                    break;
                }
            }
        });
        let mut worker = Worker {
            child,
            frames: Some(frames),
            replies,
            next_id: 1,
            forwarder,
            _script: script,
            mtime: String::new(),
        };
        match worker.request(Request::Init(init), timeout).await? {
            Reply::Ready { mtime } => worker.mtime = mtime,
            Reply::Failed(failed) => {
                worker.kill().await;
                return Err(WorkerError::Config(failed));
            }
            other => return Err(WorkerError::Unexpected { op: "init", reply: Box::new(other) }),
        }
        Ok(worker)
    }

    /// Queue a request; its reply comes from [`Worker::receive`] with the returned id, in the
    /// order sent. Never waits.
    pub fn send(&mut self, request: Request<'_>) -> CallId {
        let id = self.next_id;
        self.next_id += 1;
        if let Some(frames) = &self.frames {
            // A closed channel means the writer saw the worker go: `receive` reports it.
            let _ = frames.send(request.encode(id));
        }
        id
    }

    /// The reply to request `id`, by `deadline` (`Timeout` past it, with `allowed`, the time
    /// the caller gave). Safe to drop while it waits: a later call gets the same reply. After
    /// any error the worker is unusable.
    pub async fn receive_by(
        &mut self,
        id: CallId,
        deadline: Instant,
        allowed: Duration,
    ) -> Result<Reply, WorkerError> {
        let (got, reply) = match tokio::time::timeout_at(deadline, self.replies.recv()).await {
            Err(_) => return Err(WorkerError::Timeout(allowed)),
            Ok(None | Some(Err(FrameError::Io(_)))) => return Err(WorkerError::Exited),
            Ok(Some(Err(e))) => return Err(WorkerError::Frame(e)),
            Ok(Some(Ok(answer))) => answer,
        };
        if got != id {
            return Err(WorkerError::Desync { expected: id, got });
        }
        Ok(reply)
    }

    /// The reply to request `id`, within `timeout`.
    pub async fn receive(&mut self, id: CallId, timeout: Duration) -> Result<Reply, WorkerError> {
        self.receive_by(id, Instant::now() + timeout, timeout).await
    }

    /// One request and its reply.
    pub async fn request(&mut self, request: Request<'_>, timeout: Duration) -> Result<Reply, WorkerError> {
        let id = self.send(request);
        self.receive(id, timeout).await
    }

    /// Stop the worker: close its input and give it `grace` to exit, then kill it. Its last
    /// output lines reach the log either way.
    pub async fn shutdown(mut self, grace: Duration) {
        self.frames = None;
        if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.forwarder).await;
    }

    /// Kill the process, reap it, and log what it printed last (within a second).
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.forwarder).await;
    }

    /// Whether the process has exited (killed from outside while idle, for instance).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
