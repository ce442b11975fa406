//! Regression tests for the defects of the second reliability round: each drives the real
//! binary against a real redis-server, with a handler (`handlers/hostile.py`) that hurts the host
//! the way real handlers and their libraries can. Each test failed before its fix.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{RedisServer, Runtime, base_env, free_port, handlers_dir, wait_until};

const LONG: Duration = Duration::from_secs(20);

fn hostile() -> PathBuf {
    handlers_dir().join("hostile.py")
}

fn send(redis: &RedisServer, seq: u32, cmd: &str, extra: &str) {
    redis.set("metrics", &format!("{{\"seq\": {seq}, \"cmd\": \"{cmd}\"{extra}}}"));
}

fn output(redis: &RedisServer) -> serde_json::Value {
    redis.get("out").map(|o| serde_json::from_str(&o).expect("output is JSON")).unwrap_or_default()
}

fn wait_seq(redis: &RedisServer, seq: u32) -> i64 {
    wait_until(LONG, &format!("the output of seq {seq}"), || output(redis)["seq"] == seq);
    output(redis)["n"].as_i64().expect("n")
}

fn env(redis: &RedisServer, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = base_env(redis, &hostile());
    env.push(("TRIGGER", "change".into()));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

fn start(redis: &RedisServer, extra: &[(&'static str, &str)]) -> Runtime {
    let rt = Runtime::start(&env(redis, extra));
    rt.wait_log("worker ready", LONG);
    rt
}

fn http_get(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// One byte that is not UTF-8 on stderr used to stop the host reading the log pipe: later
/// prints blocked or raised, and the output froze.
#[test]
fn a_byte_that_is_not_utf8_on_stderr_costs_nothing() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[]);
    send(&redis, 1, "badbyte", "");
    assert_eq!(wait_seq(&redis, 1), 1);
    for seq in 2..=4 {
        send(&redis, seq, "", "");
        assert_eq!(wait_seq(&redis, seq), i64::from(seq));
    }
    rt.wait_log("call 4 seq 4", LONG);
    assert!(rt.log().contains("\u{fffd}\u{fffd} not utf-8"), "decoded lossily:\n{}", rt.log());
}

/// A print of 8 MiB without a newline is cut at the line cap; the host does not grow.
#[test]
fn a_line_without_newline_is_capped() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[]);
    send(&redis, 1, "", "");
    wait_seq(&redis, 1);
    let before = rt.rss();
    send(&redis, 2, "longline", ", \"mib\": 64");
    assert_eq!(wait_seq(&redis, 2), 2);
    rt.wait_log("line cut:", LONG);
    send(&redis, 3, "", "");
    assert_eq!(wait_seq(&redis, 3), 3);
    let grew = rt.rss().saturating_sub(before);
    assert!(grew < 16 << 20, "the host grew by {grew} bytes for a 64 MiB line");
}

/// A handler that forks, with a child that lives on and returns from the handler too: every
/// later output must still answer its own input.
#[test]
fn a_forked_child_never_answers_for_the_worker() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[]);
    send(&redis, 1, "fork", ", \"child_seconds\": 0.3");
    assert_eq!(wait_seq(&redis, 1), 1);
    for seq in 2..=6 {
        std::thread::sleep(Duration::from_millis(150));
        send(&redis, seq, "", "");
        wait_seq(&redis, seq);
        assert_eq!(output(&redis)["seq"], seq, "the output of seq {seq} is its own:\n{}", rt.log());
    }
}

/// A result bigger than the reply cap (derived from `MAX_INPUT_BYTES`) fails that tick with a
/// clear line; the worker and the loop go on.
#[test]
fn a_result_over_the_cap_fails_its_tick_with_a_clear_error() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[("MAX_INPUT_BYTES", "1048576")]);
    send(&redis, 1, "bigout", ", \"mib\": 8");
    rt.wait_log("over the 1048576-byte cap", LONG);
    send(&redis, 2, "", "");
    assert_eq!(wait_seq(&redis, 2), 2, "the state of the failed call is kept");
    assert!(rt.rss() < 64 << 20, "the host never held the big result: {} bytes", rt.rss());
}

/// An input over `MAX_INPUT_BYTES` is not read whole: the tick fails once with a clear line.
#[test]
fn an_input_over_the_cap_is_not_read() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[("MAX_INPUT_BYTES", "1048576")]);
    let big = format!("{{\"seq\": 1, \"pad\": \"{}\"}}", "x".repeat(4 << 20));
    redis.set("metrics", &big);
    rt.wait_log("is over 1048576 bytes (`MAX_INPUT_BYTES`)", LONG);
    send(&redis, 2, "", "");
    assert_eq!(wait_seq(&redis, 2), 1, "the big input never reached the handler");
    assert_eq!(rt.log().matches("MAX_INPUT_BYTES").count(), 1, "logged once:\n{}", rt.log());
}

/// With `TRIGGER=change`, a refused output write (a server out of memory) used to lose the
/// output until the input changed. It is written once the server accepts writes again.
#[test]
fn a_refused_output_write_is_retried_without_a_new_input() {
    let redis = RedisServer::start();
    let rt = start(&redis, &[]);
    send(&redis, 1, "", "");
    wait_seq(&redis, 1);
    // The next input and a memory limit the server is already over, in one transaction: the
    // runtime reads the input fine and its output write is refused.
    let input = "{\"seq\": 2, \"cmd\": \"\"}";
    let () = redis::pipe()
        .atomic()
        .cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .ignore()
        .cmd("SET")
        .arg("metrics")
        .arg(input)
        .ignore()
        .cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .ignore()
        .query(&mut redis.conn())
        .expect("transaction");
    rt.wait_log("redis refused writing `out`", LONG);
    assert!(!rt.log().contains("reading `metrics`"), "the refusal names the write:\n{}", rt.log());
    assert_eq!(output(&redis)["seq"], 1, "not written yet");
    let () =
        redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("0").query(&mut redis.conn()).expect("CONFIG");
    assert_eq!(wait_seq(&redis, 2), 2, "written without a new input");
}

/// A password with `@`, `:` and `/`, percent-encoded in `REDIS_URL` as URLs require.
#[test]
fn percent_encoded_credentials_reach_auth_decoded() {
    let password = "p@ss:w/rd";
    let redis = RedisServer::start_with_password(password);
    let url = format!("redis://:p%40ss%3Aw%2Frd@127.0.0.1:{}/", redis.port);
    let rt = start(&redis, &[("REDIS_URL", &url)]);
    send(&redis, 1, "", "");
    assert_eq!(wait_seq(&redis, 1), 1, "{}", rt.log());
    assert!(!rt.log().contains("p%40ss") && !rt.log().contains(password), "credentials are never logged");
}

/// Out of file descriptors, `accept` fails at once, every time: the loop used to spin a core.
#[test]
fn the_http_accept_loop_backs_off_when_out_of_descriptors() {
    let redis = RedisServer::start();
    let port = free_port();
    let port_text = port.to_string();
    let rt = Runtime::start_under(
        &["prlimit", "--nofile=48:48", "--"],
        &env(&redis, &[("METRICS_PORT", &port_text)]),
    );
    rt.wait_log("worker ready", LONG);
    // Hold connections until the runtime has no descriptor left to accept one.
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            held.push(s);
        }
    }
    rt.wait_log("cannot accept connections", LONG);
    let before = rt.cpu();
    std::thread::sleep(Duration::from_secs(2));
    let used = rt.cpu() - before;
    assert!(used < Duration::from_millis(500), "{used:?} of CPU in 2 s while accept fails");
    drop(held);
}

/// Idle connections (a slowloris) hold at most the connection cap, and only until the header
/// timeout: the descriptors the worker needs stay free, and `/healthz` answers again.
#[test]
fn idle_connections_cannot_starve_the_worker_of_descriptors() {
    let redis = RedisServer::start();
    let port = free_port();
    let port_text = port.to_string();
    let rt = Runtime::start_under(
        &["prlimit", "--nofile=256:256", "--"],
        &env(&redis, &[("METRICS_PORT", &port_text)]),
    );
    rt.wait_log("worker ready", LONG);
    send(&redis, 1, "", "");
    wait_seq(&redis, 1);
    let held: Vec<TcpStream> =
        (0..400).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    // The worker dies; its replacement needs new pipes.
    send(&redis, 2, "exit", "");
    rt.wait_log("worker restarted", LONG);
    send(&redis, 3, "", "");
    // The `exit` call's count died with its worker: the new one continues from the snapshot.
    assert_eq!(wait_seq(&redis, 3), 2, "{}", rt.log());
    let start = Instant::now();
    wait_until(Duration::from_secs(15), "/healthz", || {
        http_get(port, "/healthz", Duration::from_secs(1)) == Some(200)
    });
    assert!(start.elapsed() < Duration::from_secs(12), "idle connections are dropped at the header timeout");
    drop(held);
}

/// The download of `ZIP_URL` runs off the async thread: `/healthz` answers while it is slow.
#[test]
fn a_slow_zip_download_does_not_stall_healthz() {
    // A server on loopback that dribbles a response for 4 s.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let zip_port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            for _ in 0..40 {
                std::thread::sleep(Duration::from_millis(100));
                let _ = s.write_all(b"x");
            }
        }
    });
    let redis = RedisServer::start();
    let port = free_port();
    let port_text = port.to_string();
    let url = format!("http://127.0.0.1:{zip_port}/code.zip");
    let rt = Runtime::start(&env(
        &redis,
        &[
            ("METRICS_PORT", &port_text),
            ("ZIP_URL", &url),
            ("ZIP_ALLOW_HTTP", "true"),
            ("ZIP_ALLOW_UNPINNED", "true"),
            ("HANDLER_FUNCTION", "pkg.main.handler"),
        ],
    ));
    wait_until(LONG, "the HTTP port", || http_get(port, "/healthz", Duration::from_millis(300)).is_some());
    let start = Instant::now();
    let answered = http_get(port, "/healthz", Duration::from_secs(3));
    assert_eq!(answered, Some(200), "{}", rt.log());
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "answered in {:?} during the download",
        start.elapsed()
    );
}

/// `STATE_KEY` holding JSON that is not an object (anyone on a shared Redis can write it) is
/// refused at load with one line; the handler still runs.
#[test]
fn a_state_key_holding_a_list_is_not_restored() {
    let redis = RedisServer::start();
    redis.set("state", "[1, 2, 3]");
    let rt = start(&redis, &[("STATE_KEY", "state")]);
    send(&redis, 1, "", "");
    assert_eq!(wait_seq(&redis, 1), 1, "{}", rt.log());
    assert_eq!(rt.log().matches("holds JSON an array, not an object").count(), 1, "{}", rt.log());
}

fn touch_module(dir: &std::path::Path) {
    let path = dir.join("hostile.py");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("\n# changed\n");
    std::fs::write(&path, text).expect("write");
}

fn own_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(hostile(), dir.path().join("hostile.py")).expect("copy");
    dir
}

/// Hot reload hands the new worker the live `context.env`, not the last snapshot: with a big
/// state, snapshots become rare and a reload used to take the count back.
#[test]
fn hot_reload_carries_the_live_state_over() {
    let redis = RedisServer::start();
    let code = own_copy();
    let mut vars = env(&redis, &[]);
    vars.retain(|(k, _)| *k != "PYFILE_PATH");
    vars.push(("PYFILE_PATH", code.path().join("hostile.py").display().to_string()));
    let rt = Runtime::start(&vars);
    rt.wait_log("worker ready", LONG);
    send(&redis, 1, "blob", ", \"mib\": 24");
    wait_seq(&redis, 1);
    let mut n = 0;
    for seq in 2..=9 {
        send(&redis, seq, "", "");
        n = wait_seq(&redis, seq);
    }
    touch_module(code.path());
    rt.wait_log("new version loaded", LONG);
    send(&redis, 10, "", "");
    assert_eq!(wait_seq(&redis, 10), n + 1, "the count goes on from the live state:\n{}", rt.log());
    assert!(rt.log().contains("context.env carried over"), "{}", rt.log());
}

/// When the live state cannot be pickled, the log says what the new version starts from.
#[test]
fn hot_reload_says_truthfully_what_was_carried() {
    let redis = RedisServer::start();
    let code = own_copy();
    let mut vars = env(&redis, &[]);
    vars.retain(|(k, _)| *k != "PYFILE_PATH");
    vars.push(("PYFILE_PATH", code.path().join("hostile.py").display().to_string()));
    let rt = Runtime::start(&vars);
    rt.wait_log("worker ready", LONG);
    send(&redis, 1, "unpicklable", "");
    wait_seq(&redis, 1);
    touch_module(code.path());
    rt.wait_log("new version loaded", LONG);
    let log = rt.log();
    assert!(log.contains("could not be carried over") && log.contains("cannot be pickled"), "{log}");
    assert!(!log.contains("context.env carried over"), "{log}");
}

/// A worker that dies on every call makes the restart backoff grow; SIGTERM still stops the
/// runtime at once instead of waiting it out.
#[test]
fn sigterm_during_the_restart_backoff_is_prompt() {
    let redis = RedisServer::start();
    let mut rt = start(&redis, &[("TRIGGER", "poll")]);
    send(&redis, 1, "exit", "");
    wait_until(LONG, "several restarts", || rt.log().matches("worker restarted").count() >= 6);
    rt.signal("TERM");
    let start = Instant::now();
    assert_eq!(rt.wait_exit(LONG), Some(0), "{}", rt.log());
    assert!(start.elapsed() < Duration::from_secs(3), "stopped {:?} after SIGTERM", start.elapsed());
}
