//! The child processes of `fnops dev`: found, started in their own process groups, stopped with
//! SIGTERM (then SIGKILL after a grace period), and never left running.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A child that is stopped when dropped.
pub struct Child {
    pub name: &'static str,
    pub process: std::process::Child,
}

impl Child {
    /// Start `command` in its own process group (Ctrl-C in the terminal reaches only fnops).
    pub fn spawn(name: &'static str, command: &mut Command) -> Result<Child, String> {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
        let process = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Child { name, process })
    }

    /// `Some(status)` once it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.try_wait().ok().flatten()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        terminate(&mut self.process, Duration::from_secs(5));
    }
}

/// SIGTERM, then SIGKILL when it has not exited within `grace`; reaped either way.
pub fn terminate(process: &mut std::process::Child, grace: Duration) {
    if process.try_wait().ok().flatten().is_some() {
        return;
    }
    if let Some(pid) = rustix::process::Pid::from_raw(process.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if process.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = process.kill();
    let _ = process.wait();
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `fnops-runtime`: `FNOPS_RUNTIME`, beside this `fnops`, or on PATH (where its wheel installs it).
pub fn find_runtime() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("FNOPS_RUNTIME").map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("`FNOPS_RUNTIME` names `{}`, which is not a file", path.display()))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("fnops-runtime")))
        .filter(|p| p.is_file());
    beside.or_else(|| on_path("fnops-runtime")).ok_or_else(|| {
        "this runs the function with fnops-runtime, which is not installed: `pip install fnops-runtime`, or put the binary beside `fnops` or on PATH (in this repository: `cargo build -p fnops-runtime`)".to_owned()
    })
}

/// A `redis-server` of our own: loopback only, on a free port, persisting nothing, its files in
/// a scratch directory.
pub struct PrivateRedis {
    pub port: u16,
    _child: Child,
}

impl PrivateRedis {
    pub fn start(scratch: &Path) -> Result<PrivateRedis, String> {
        let Some(server) = on_path("redis-server") else {
            return Err(
                "this starts a private Redis with `redis-server`, which is not installed: install it (`apt install redis-server`, `brew install redis`), or point fnops at a running Redis with `--redis redis://host:port`".into(),
            );
        };
        let port = free_port()?;
        let mut command = Command::new(server);
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(scratch)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = Child::spawn("redis-server", &mut command)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.exited() {
                return Err(format!("redis-server exited at start ({status})"));
            }
            if Instant::now() > deadline {
                return Err("redis-server did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(PrivateRedis { port, _child: child })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}
