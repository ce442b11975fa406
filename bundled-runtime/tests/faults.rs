//! The runtime never dies on a bad tick and keeps the state it can keep. Each test drives the
//! real binary against a real redis-server with a counting handler that misbehaves on demand.

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use common::{RedisServer, Runtime, base_env, free_port, handlers_dir, wait_until};

const LONG: Duration = Duration::from_secs(15);

fn counting() -> std::path::PathBuf {
    handlers_dir().join("counting.py")
}

fn send(redis: &RedisServer, seq: u32, cmd: &str) {
    redis.set("metrics", &format!("{{\"seq\": {seq}, \"cmd\": \"{cmd}\"}}"));
}

fn output(redis: &RedisServer) -> serde_json::Value {
    redis.get("out").map(|o| serde_json::from_str(&o).expect("output is JSON")).unwrap_or_default()
}

/// Wait for the output of input `seq` and return the handler's count `n`.
fn wait_seq(redis: &RedisServer, seq: u32) -> i64 {
    wait_until(LONG, &format!("the output of seq {seq}"), || output(redis)["seq"] == seq);
    output(redis)["n"].as_i64().expect("n")
}

fn start(redis: &RedisServer, module: &Path, extra: &[(&'static str, &str)]) -> Runtime {
    let mut env = base_env(redis, module);
    env.push(("TRIGGER", "change".into()));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    rt
}

#[test]
fn a_raising_handler_keeps_the_last_output_and_the_loop_goes_on() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[]);
    send(&redis, 1, "");
    assert_eq!(wait_seq(&redis, 1), 1);
    send(&redis, 2, "raise");
    rt.wait_log("handler raised ValueError: boom", LONG);
    assert!(rt.log().contains("Traceback"), "{}", rt.log());
    assert_eq!(output(&redis)["seq"], 1, "the previous output stays");
    send(&redis, 3, "");
    assert_eq!(
        wait_seq(&redis, 3),
        3,
        "state mutated before the exception is kept, as in the course runtime"
    );
}

#[test]
fn nan_is_written_as_the_course_did_by_default_and_refused_in_strict_mode() {
    // Strict JSON (`JSON_ALLOW_NAN=false`, what the fnops flavour renders): the tick fails.
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[("JSON_ALLOW_NAN", "false")]);
    send(&redis, 1, "");
    wait_seq(&redis, 1);
    send(&redis, 2, "nan");
    rt.wait_log("the result is not JSON: Out of range float values", LONG);
    send(&redis, 3, "set");
    rt.wait_log("Object of type set is not JSON serializable", LONG);
    assert_eq!(output(&redis)["seq"], 1);
    drop(rt);

    // The default is the course runtime's: written, with one warning.
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[]);
    send(&redis, 1, "nan");
    wait_until(LONG, "NaN written as the course runtime wrote it", || {
        redis.get("out").as_deref() == Some("{\"n\": 1, \"x\": NaN}")
    });
    rt.wait_log("the output holds NaN or Infinity", LONG);
    // A set is not JSON in either mode.
    send(&redis, 2, "set");
    rt.wait_log("Object of type set is not JSON serializable", LONG);
}

#[test]
fn a_falsy_result_is_not_written() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[]);
    send(&redis, 1, "");
    wait_seq(&redis, 1);
    send(&redis, 2, "none");
    rt.wait_log("call 2 seq 2", LONG);
    send(&redis, 3, "");
    // seq 3 sees n = 3: the `none` call ran (and counted) but wrote nothing.
    assert_eq!(wait_seq(&redis, 3), 3);
}

#[test]
fn a_hanging_handler_is_killed_and_the_state_restored() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[("HANDLER_TIMEOUT", "1")]);
    send(&redis, 1, "");
    assert_eq!(wait_seq(&redis, 1), 1);
    send(&redis, 2, "hang");
    rt.wait_log("ran past HANDLER_TIMEOUT", LONG);
    rt.wait_log("context.env restored from the last snapshot", LONG);
    send(&redis, 3, "");
    assert_eq!(wait_seq(&redis, 3), 2, "the snapshot after the last successful call holds n = 1");
}

#[test]
fn a_worker_that_exits_is_respawned_with_its_state() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[]);
    for seq in 1..=3 {
        send(&redis, seq, "");
        wait_seq(&redis, seq);
    }
    send(&redis, 4, "exit");
    rt.wait_log("the worker died during the call", LONG);
    send(&redis, 5, "");
    assert_eq!(wait_seq(&redis, 5), 4);
    assert!(rt.log().contains("restored from the last snapshot"), "{}", rt.log());
}

#[test]
fn redis_restarted_mid_run_is_survived() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let rt = start(&redis, &counting(), &[]);
    send(&redis, 1, "");
    assert_eq!(wait_seq(&redis, 1), 1);
    redis.stop();
    rt.wait_log("redis is unreachable", LONG);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rt.log().matches("redis is unreachable").count(), 1, "one log line per outage:\n{}", rt.log());
    let redis = RedisServer::start_on(port, &[]);
    send(&redis, 2, "");
    assert_eq!(wait_seq(&redis, 2), 2, "context.env lives in the worker, not in Redis");
    rt.wait_log("redis is back after", LONG);
}

#[test]
fn redis_down_at_start_is_waited_for() {
    let port = free_port();
    let mut env = base_env(&RedisServer::start(), &counting());
    env.retain(|(k, _)| *k != "REDIS_PORT");
    env.push(("REDIS_PORT", port.to_string()));
    env.push(("TRIGGER", "change".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("redis is unreachable", LONG);
    let redis = RedisServer::start_on(port, &[]);
    send(&redis, 1, "");
    assert_eq!(wait_seq(&redis, 1), 1);
}

#[test]
fn malformed_and_missing_inputs() {
    let redis = RedisServer::start();
    let mut env = base_env(&redis, &counting());
    env.push(("TRIGGER", "poll".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(redis.get("out"), None, "no input, no call, no output");
    redis.set("metrics", "{not json");
    rt.wait_log("input is not JSON", LONG);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rt.log().matches("input is not JSON").count(), 1, "logged once per value:\n{}", rt.log());
    let () = redis::cmd("DEL").arg("metrics").query(&mut redis.conn()).expect("DEL");
    let () = redis::cmd("RPUSH")
        .arg("metrics")
        .arg("x")
        .query::<i64>(&mut redis.conn())
        .map(|_| ())
        .expect("RPUSH");
    rt.wait_log("WRONGTYPE", LONG);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rt.log().matches("WRONGTYPE").count(), 1, "{}", rt.log());
    let () = redis::cmd("DEL").arg("metrics").query(&mut redis.conn()).expect("DEL");
    send(&redis, 1, "");
    wait_seq(&redis, 1);
}

#[test]
fn sigterm_finishes_the_tick_in_flight_and_exits_zero() {
    let redis = RedisServer::start();
    let mut rt = start(&redis, &counting(), &[]);
    redis.set("metrics", "{\"seq\": 1, \"cmd\": \"sleep\", \"seconds\": 1.5}");
    std::thread::sleep(Duration::from_millis(500));
    rt.signal("TERM");
    assert_eq!(rt.wait_exit(LONG), Some(0), "{}", rt.log());
    assert_eq!(output(&redis)["seq"], 1, "the tick in flight wrote its output");
}

#[test]
fn sigterm_at_period_zero_writes_the_last_output() {
    let redis = RedisServer::start();
    let mut rt = start(&redis, &counting(), &[("MONITORING_PERIOD", "0"), ("TRIGGER", "poll")]);
    send(&redis, 1, "");
    wait_until(LONG, "some calls", || output(&redis)["n"].as_i64().unwrap_or(0) > 100);
    rt.signal("TERM");
    assert_eq!(rt.wait_exit(LONG), Some(0), "{}", rt.log());
    let last = output(&redis)["n"].as_i64().expect("n");
    let calls = rt.log().lines().filter(|l| l.contains("call ")).count() as i64;
    assert_eq!(last, calls, "the output of the last call is written before exit");
}

/// At period 0 the next call waits in the worker's pipe while the current one runs. Killing the
/// worker there loses that call, but never a count: `n` (kept in `context.env`) only grows.
#[test]
fn a_worker_killed_at_period_zero_with_a_call_queued_keeps_its_state() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[("MONITORING_PERIOD", "0"), ("TRIGGER", "poll")]);
    send(&redis, 1, "");
    wait_until(LONG, "some calls", || output(&redis)["n"].as_i64().unwrap_or(0) > 50);
    let workers =
        |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut seen = Vec::new();
    for _ in 0..4 {
        for worker in workers(rt.pid()).split_whitespace() {
            let _ = std::process::Command::new("kill").args(["-9", worker]).status();
        }
        let until = std::time::Instant::now() + Duration::from_millis(400);
        while std::time::Instant::now() < until {
            seen.push(output(&redis)["n"].as_i64().expect("n"));
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the count went back: {seen:?}");
    assert!(seen.last() > seen.first(), "calls went on after the kills: {seen:?}");
    let log = rt.log();
    assert!(log.matches("restored from the last snapshot").count() >= 4, "{log}");
}

/// At period 0 the input is sent ahead into a worker that hangs. After the timeout that input
/// goes to the new worker, which runs it with the state of the last successful call.
#[test]
fn a_call_queued_behind_a_hanging_one_goes_to_the_next_worker() {
    let redis = RedisServer::start();
    let rt = start(
        &redis,
        &counting(),
        &[("MONITORING_PERIOD", "0"), ("TRIGGER", "poll"), ("HANDLER_TIMEOUT", "1")],
    );
    send(&redis, 1, "");
    // Many calls first, so that a lost state (counting again from 1) shows as a drop.
    wait_until(LONG, "many calls", || output(&redis)["n"].as_i64().unwrap_or(0) > 2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("hung");
    redis.set("metrics", &serde_json::json!({"seq": 2, "cmd": "hang_once", "marker": marker}).to_string());
    let mut seen = Vec::new();
    let start = std::time::Instant::now();
    while output(&redis)["seq"] != 2 && start.elapsed() < LONG {
        seen.push(output(&redis)["n"].as_i64().expect("n"));
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..50 {
        seen.push(output(&redis)["n"].as_i64().expect("n"));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(output(&redis)["seq"], 2, "the queued input ran on the new worker");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the count went back: {seen:?}");
    let log = rt.log();
    assert!(log.contains("worker restarted; context.env restored from the last snapshot"), "{log}");
    assert_eq!(log.matches("ran past HANDLER_TIMEOUT").count(), 1, "one hang only:\n{log}");
}

#[test]
fn hot_reload_swaps_good_code_and_keeps_the_old_on_broken_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let module = dir.path().join("usermodule.py");
    let version = |v: &str| {
        format!(
            "def handler(input, context):\n    context.env['n'] = context.env.get('n', 0) + 1\n    return {{'v': '{v}', 'n': context.env['n'], 'seq': input['seq']}}\n"
        )
    };
    std::fs::write(&module, version("A")).expect("write");
    let redis = RedisServer::start();
    let rt = start(&redis, &module, &[]);
    send(&redis, 1, "");
    wait_seq(&redis, 1);
    assert_eq!(output(&redis)["v"], "A");
    std::fs::write(&module, version("BB")).expect("write");
    rt.wait_log("new version loaded", LONG);
    send(&redis, 2, "");
    assert_eq!(wait_seq(&redis, 2), 2, "context.env carried over");
    assert_eq!(output(&redis)["v"], "BB");
    std::fs::write(&module, "def handler(input, context:\n    broken\n").expect("write");
    rt.wait_log("does not load", LONG);
    send(&redis, 3, "");
    assert_eq!(wait_seq(&redis, 3), 3);
    assert_eq!(output(&redis)["v"], "BB", "the old worker keeps running");
}

#[test]
fn state_key_carries_context_env_across_restarts() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[("STATE_KEY", "fn-state")]);
    for seq in 1..=2 {
        send(&redis, seq, "");
        wait_seq(&redis, seq);
    }
    wait_until(LONG, "the state saved", || redis.get("fn-state").as_deref() == Some("{\"n\": 2}"));
    drop(rt);
    // A new pod's first tick would call the handler on the input already there: remove it.
    let () = redis::cmd("DEL").arg("metrics").query::<i64>(&mut redis.conn()).map(|_| ()).expect("DEL");
    let rt = start(&redis, &counting(), &[("STATE_KEY", "fn-state")]);
    send(&redis, 3, "");
    assert_eq!(wait_seq(&redis, 3), 3, "{}", rt.log());
}

#[test]
fn notify_reacts_within_milliseconds_and_falls_back_to_polling() {
    let redis = RedisServer::start_with(&["--notify-keyspace-events", "K$"]);
    let rt = start(&redis, &counting(), &[("TRIGGER", "notify"), ("MONITORING_PERIOD", "30")]);
    rt.wait_log("listening to keyspace notifications", LONG);
    std::thread::sleep(Duration::from_millis(300));
    send(&redis, 1, "");
    let started = std::time::Instant::now();
    wait_until(Duration::from_secs(5), "a notified call (the poll period is 30 s)", || {
        output(&redis)["seq"] == 1
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(rt);

    let quiet = RedisServer::start();
    let rt = start(&quiet, &counting(), &[("TRIGGER", "notify"), ("MONITORING_PERIOD", "0.05")]);
    rt.wait_log("polling every period instead", LONG);
    send(&quiet, 1, "");
    wait_seq(&quiet, 1);
}

#[test]
fn configuration_errors_exit_1_with_one_clear_line() {
    let redis = RedisServer::start();
    let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (
            vec![("PYFILE_PATH", "/nonexistent/usermodule.py".into())],
            "`PYFILE_PATH`: no user module at `/nonexistent/usermodule.py`",
        ),
        (
            vec![("MONITORING_PERIOD", "soon".into())],
            "`MONITORING_PERIOD`: `soon` is not a number of seconds",
        ),
        (
            vec![("HANDLER_FUNCTION", "nope".into())],
            "`nope` is not a function of module `usermodule`; it defines: handler",
        ),
    ];
    for (overrides, expected) in cases {
        let mut env = base_env(&redis, &counting());
        env.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
        env.extend(overrides);
        let mut rt = Runtime::start(&env);
        assert_eq!(rt.wait_exit(LONG), Some(1), "{expected}: {}", rt.log());
        assert!(rt.log().contains(expected), "expected `{expected}` in:\n{}", rt.log());
    }
    let dir = tempfile::tempdir().expect("tmp");
    let broken = dir.path().join("usermodule.py");
    std::fs::write(&broken, "def handler(input, context)\n    return 1\n").expect("write");
    let mut rt = Runtime::start(&base_env(&redis, &broken));
    assert_eq!(rt.wait_exit(LONG), Some(1));
    assert!(rt.log().contains("SyntaxError"), "{}", rt.log());
}

#[test]
fn hostile_zips_are_refused_at_start() {
    use zip::write::SimpleFileOptions;
    let dir = tempfile::tempdir().expect("tmp");
    let make = |name: &str, entries: &[(&str, Vec<u8>)]| {
        let path = dir.path().join(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
        for (entry, data) in entries {
            zip.start_file(*entry, SimpleFileOptions::default()).expect("start");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish");
        path
    };
    let climbing = make("climb.zip", &[("pkg/__init__.py", Vec::new()), ("../../evil.py", b"x".to_vec())]);
    let bomb = make("bomb.zip", &[("pkg/big.bin", vec![0u8; 16 * 1024 * 1024])]);
    let redis = RedisServer::start();
    for (zip, expected) in [(climbing, "climbs out"), (bomb, "ZIP bomb")] {
        let mut env: Vec<(&'static str, String)> =
            base_env(&redis, &counting()).into_iter().filter(|(k, _)| *k != "PYFILE_PATH").collect();
        env.push(("ZIP_PATH", zip.display().to_string()));
        env.push(("HANDLER_FUNCTION", "pkg.main.handler".into()));
        let mut rt = Runtime::start(&env);
        assert_eq!(rt.wait_exit(LONG), Some(1), "{}", rt.log());
        assert!(rt.log().contains(expected), "{}", rt.log());
    }
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[test]
fn health_readiness_and_metrics_endpoints() {
    let redis = RedisServer::start_with_password("not-to-be-logged");
    let port = free_port();
    let port_text = port.to_string();
    let rt = start(
        &redis,
        &counting(),
        &[
            ("METRICS_PORT", &port_text),
            ("METRICS_ADDR", "127.0.0.1"),
            ("REDIS_PASSWORD", "not-to-be-logged"),
        ],
    );
    send(&redis, 1, "");
    wait_seq(&redis, 1);
    send(&redis, 2, "raise");
    wait_until(LONG, "the failed tick counted", || {
        http_get(port, "/metrics").1.contains("outcome=\"handler_error\"")
    });
    assert_eq!(http_get(port, "/healthz").0, 200);
    let (status, body) = http_get(port, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, metrics) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    for needle in [
        "fnops_invocations_total{outcome=\"written\"} 1",
        "fnops_invocation_duration_seconds_count",
        "fnops_last_success_timestamp_seconds",
        "fnops_redis_errors_total",
    ] {
        assert!(metrics.contains(needle), "`{needle}` missing:\n{metrics}");
    }
    for text in [&metrics, &body, &rt.log()] {
        assert!(!text.contains("not-to-be-logged"), "the password leaked:\n{text}");
    }
    assert_eq!(http_get(port, "/nope").0, 404);
}

/// A static file server on a loopback port (python's http.server), stopped on drop.
struct FileServer {
    port: u16,
    child: std::process::Child,
}

impl FileServer {
    fn serve(dir: &Path) -> FileServer {
        let port = free_port();
        let child = std::process::Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        wait_until(LONG, "the file server", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        FileServer { port, child }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn zip_url_is_pinned_capped_and_https_only() {
    use sha2::Digest as _;
    use zip::write::SimpleFileOptions;
    let dir = tempfile::tempdir().expect("tmp");
    let zip_path = dir.path().join("fn.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
    for name in ["__init__.py", "calc.py", "main.py"] {
        zip.start_file(format!("mypkg/{name}"), SimpleFileOptions::default()).expect("start");
        zip.write_all(&std::fs::read(handlers_dir().join("pkgsrc/mypkg").join(name)).expect("read"))
            .expect("write");
    }
    zip.finish().expect("finish");
    let digest: String = sha2::Sha256::digest(std::fs::read(&zip_path).expect("read"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let server = FileServer::serve(dir.path());
    let url = format!("http://127.0.0.1:{}/fn.zip", server.port);
    let redis = RedisServer::start();
    let run = |extra: &[(&'static str, String)]| {
        let mut env: Vec<(&'static str, String)> =
            base_env(&redis, &counting()).into_iter().filter(|(k, _)| *k != "PYFILE_PATH").collect();
        env.push(("ZIP_URL", url.clone()));
        env.push(("HANDLER_FUNCTION", "mypkg.main.handler".into()));
        env.extend(extra.iter().cloned());
        Runtime::start(&env)
    };
    let refusals: [(Vec<(&'static str, String)>, &str); 4] = [
        (vec![("ZIP_SHA256", digest.clone())], "plain http is refused"),
        (vec![("ZIP_ALLOW_HTTP", "true".into())], "`ZIP_SHA256`: is required"),
        (
            vec![("ZIP_ALLOW_HTTP", "true".into()), ("ZIP_SHA256", "0".repeat(64))],
            "does not match `ZIP_SHA256`",
        ),
        (
            vec![
                ("ZIP_ALLOW_HTTP", "true".into()),
                ("ZIP_SHA256", digest.clone()),
                ("ZIP_MAX_BYTES", "100".into()),
            ],
            "at most 100 bytes",
        ),
    ];
    for (extra, expected) in refusals {
        let mut rt = run(&extra);
        assert_eq!(rt.wait_exit(LONG), Some(1), "{expected}: {}", rt.log());
        assert!(rt.log().contains(expected), "expected `{expected}`:\n{}", rt.log());
    }
    let rt = run(&[("ZIP_ALLOW_HTTP", "true".into()), ("ZIP_SHA256", digest)]);
    rt.wait_log("worker ready", LONG);
    redis.set(
        "metrics",
        &std::fs::read_to_string(common::fixtures().join("course-2023-16cpu.json")).expect("fixture"),
    );
    wait_until(LONG, "the package's output", || redis.get("out").is_some_and(|o| o.contains("mean_cpu")));
}

#[test]
fn huge_and_deeply_nested_inputs_fail_one_tick_each() {
    let redis = RedisServer::start();
    let rt = start(&redis, &counting(), &[]);
    send(&redis, 1, "");
    wait_seq(&redis, 1);
    // 100,000 levels of nesting: Python's recursion limit, caught as an input error.
    redis.set("metrics", &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    rt.wait_log("input is not JSON", LONG);
    // A 16 MiB document is handled, and the loop goes on.
    let big = format!("{{\"seq\": 2, \"cmd\": \"\", \"pad\": \"{}\"}}", "x".repeat(16 << 20));
    redis.set("metrics", &big);
    assert_eq!(wait_seq(&redis, 2), 2);
    // Not UTF-8: one failed tick with a clear line.
    let () = redis::cmd("SET")
        .arg("metrics")
        .arg(&[0xff_u8, 0xfe, 0x00][..])
        .query(&mut redis.conn())
        .expect("SET");
    wait_until(LONG, "the bad bytes reported", || rt.log().matches("input is not JSON").count() >= 2);
    send(&redis, 3, "");
    assert_eq!(wait_seq(&redis, 3), 3);
}

/// An error that repeats is logged in full once, then as one line pointing back at it, and
/// summed up when it stops; the traceback names the handler's file and line, never the worker.
#[test]
fn a_repeating_error_is_logged_once_then_pointed_at_and_summed_up() {
    let redis = RedisServer::start();
    let mut env = base_env(&redis, &counting());
    env.push(("TRIGGER", "poll".into()));
    env.push(("MONITORING_PERIOD", "0.05".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    send(&redis, 1, "raise");
    rt.wait_log("handler raised the same error as tick", LONG);
    wait_until(LONG, "ten more ticks of the same error", || {
        rt.log().matches("the same error as tick").count() >= 10
    });
    send(&redis, 2, "");
    rt.wait_log("ticks in a row", LONG);
    let log = rt.log();
    assert_eq!(log.matches("Traceback").count(), 1, "one traceback for the whole run of errors:\n{log}");
    assert!(log.contains("counting.py\", line"), "the handler's own file and line:\n{log}");
    assert!(!log.contains("<string>") && !log.contains("worker.py"), "no frame of the worker:\n{log}");
    assert!(log.contains("; the handler succeeds again"), "{log}");
    let lines = log.lines().filter(|l| l.contains("handler raised")).count();
    let ticks = log.matches("the same error as tick").count() + 1;
    assert_eq!(lines, ticks, "one line per tick");
}
