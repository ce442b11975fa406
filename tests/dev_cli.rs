//! `fnops dev` and `fnops record` with the real pieces: `redis-server`, `fnops-runtime` and
//! `python3`; once through a real terminal (tmux): start, save a change to the handler, see the
//! reload and the new output, Ctrl-C, and nothing left behind.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::repo;

const LONG: Duration = Duration::from_secs(30);

/// `fnops-runtime` beside the `fnops` under test (built here when the workspace was not).
fn runtime_built() {
    let fnops = PathBuf::from(env!("CARGO_BIN_EXE_fnops"));
    let runtime = fnops.with_file_name("fnops-runtime");
    if !runtime.is_file() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "fnops-runtime", "--quiet"])
            .current_dir(repo())
            .status()
            .expect("cargo");
        assert!(status.success());
    }
}

/// A project that computes from the course's sample, every 0.2 s.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("fnops.yaml"),
        "name: devtest\nfunction: {source: handler.py}\nredis: {host: r, outputKey: out}\nperiod: 0.2s\ntrigger: poll\n",
    )
    .expect("write");
    std::fs::write(tmp.path().join("handler.py"), "def handler(input, context):\n    n = context.env.get('n', 0) + 1\n    context.env['n'] = n\n    return {'n': n, 'version': 1}\n").expect("write");
    tmp
}

struct Dev {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Dev {
    fn start(dir: &Path, args: &[&str]) -> Dev {
        runtime_built();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fnops"))
            .arg("dev")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fnops dev");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("out")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("err")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Dev { child, lines, seen: Vec::new() }
    }

    fn wait_for(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LONG;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(line.clone());
                if ok(&line) {
                    return line;
                }
            }
        }
        panic!("no {what} within {LONG:?}:\n{}", self.seen.join("\n"));
    }

    fn interrupt(&mut self) -> i32 {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "fnops dev did not stop:\n{}", self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn port_of(line: &str) -> u16 {
    line.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {line}"))
}

#[test]
fn dev_runs_reloads_on_save_and_leaves_nothing_behind() {
    let project = project();
    let mut dev = Dev::start(project.path(), &[]);
    let redis_line = dev.wait_for("the redis line", |l| l.trim_start().starts_with("redis "));
    let redis_port = port_of(redis_line.split_whitespace().nth(1).expect("url"));
    let dashboard = dev.wait_for("the dashboard URL", |l| l.contains("dashboard  http://127.0.0.1:"));
    let dashboard_port = port_of(&dashboard);
    dev.wait_for("an output", |l| l.contains(" output ") && l.contains("\"version\":1"));
    dev.wait_for("a change", |l| l.contains(" output ") && l.contains("n: "));

    // The dashboard is up.
    let page = std::net::TcpStream::connect(("127.0.0.1", dashboard_port));
    assert!(page.is_ok(), "the dashboard listens");

    // Save a change: the runtime loads it, the output shows it.
    std::fs::write(project.path().join("handler.py"), "def handler(input, context):\n    n = context.env.get('n', 0) + 1\n    context.env['n'] = n\n    return {'n': n, 'version': 2}\n").expect("write");
    dev.wait_for("the reload", |l| l.contains("new version loaded"));
    dev.wait_for("the new output", |l| l.contains(" output ") && l.contains("version: 1 → 2"));

    // A handler that raises: shown once, with its traceback, in the user's file.
    std::fs::write(
        project.path().join("handler.py"),
        "def handler(input, context):\n    raise ValueError('boom')\n",
    )
    .expect("write");
    dev.wait_for("the error", |l| l.contains("ERROR") && l.contains("ValueError: boom"));
    dev.wait_for("the traceback", |l| l.contains("handler.py\", line 2"));

    assert_eq!(dev.interrupt(), 0, "{}", dev.seen.join("\n"));
    let log = dev.seen.join("\n");
    let stopped = dev.seen.iter().find(|l| l.starts_with("stopped:")).unwrap_or_else(|| panic!("{log}"));
    let scratch = stopped.split('`').nth(1).expect("the scratch directory");
    assert!(!Path::new(scratch).exists(), "{scratch} is removed");
    assert!(std::net::TcpStream::connect(("127.0.0.1", redis_port)).is_err(), "the private redis is stopped");
    assert!(std::net::TcpStream::connect(("127.0.0.1", dashboard_port)).is_err(), "the runtime is stopped");
    assert!(log.matches("Traceback").count() <= 1, "the error in full once:\n{log}");
}

#[test]
fn dev_says_what_to_do_without_redis_server_or_runtime() {
    runtime_built();
    let project = project();
    let out = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["dev"])
        .current_dir(project.path())
        .env("PATH", "/nonexistent")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("redis-server") && stderr.contains("--redis redis://"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["dev"])
        .current_dir(project.path())
        .env("FNOPS_RUNTIME", "/nonexistent/fnops-runtime")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FNOPS_RUNTIME"));
}

/// Through a terminal, as a person uses it: tmux runs `fnops dev`, keys are typed into it.
#[test]
fn dev_in_a_real_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("FNOPS_REQUIRE_BROWSER").is_none(), "tmux is required here");
        eprintln!("skipping: no tmux");
        return;
    }
    runtime_built();
    let project = project();
    let session = format!("fnops-dev-test-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").args(["-L", &session]).args(args).output().expect("tmux");
    let command = format!("{} dev; echo EXITED $?; sleep 30", env!("CARGO_BIN_EXE_fnops"));
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        "-s",
        &session,
        "-c",
        project.path().to_str().expect("utf-8"),
        &command,
    ]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let screen = || {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session, "-S", "-200"]).stdout)
            .into_owned()
    };
    let wait = |what: &str, ok: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + LONG;
        loop {
            let text = screen();
            if ok(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {what} on the screen:\n{text}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait("an output", &|s| s.contains("\"version\":1"));
    std::fs::write(
        project.path().join("handler.py"),
        "def handler(input, context):\n    return {'version': 3}\n",
    )
    .expect("write");
    wait("the reload and the new output", &|s| {
        s.contains("new version loaded") && s.contains("version: 1 → 3")
    });
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let end = wait("the stop", &|s| s.contains("EXITED"));
    let _ = tmux(&["kill-server"]);
    assert!(end.contains("stopped: the runtime") && end.contains("EXITED 0"), "{end}");
}

#[test]
fn record_samples_each_distinct_value_once_without_writing() {
    runtime_built();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let scratch = tempfile::tempdir().expect("tmp");
    let mut redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(scratch.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let cli = |args: &[&str]| {
        Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).output().expect("redis-cli")
    };
    let deadline = Instant::now() + LONG;
    while cli(&["ping"]).stdout != b"PONG\n" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    cli(&["set", "metrics", "{\"a\": 1}"]);
    let writer = std::thread::spawn(move || {
        for v in ["{\"a\": 1}", "{\"a\": 2}", "{\"a\": 2}", "{\n  \"a\": 3\n}"] {
            std::thread::sleep(Duration::from_millis(400));
            Command::new("redis-cli")
                .args(["-p", &port.to_string(), "set", "metrics", v])
                .output()
                .expect("redis-cli");
        }
    });
    let out = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["record", "--redis", &format!("redis://127.0.0.1:{port}/"), "--count", "3", "--every", "50ms"])
        .output()
        .expect("fnops record");
    writer.join().expect("writer");
    let _ = redis.kill();
    let _ = redis.wait();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"a\": 1}\n{\"a\": 2}\n{\"a\":3}\n",
        "each distinct value once, one per line"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("recorded 3 distinct values of `metrics`"));
}
