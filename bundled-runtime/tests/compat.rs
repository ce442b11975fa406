//! Handlers written for the course runtime run unchanged: for each style users write, the
//! values written to Redis equal, byte for byte, what a reference loop with the original
//! semantics (`benches/reference_runtime.py`) produces for the same series of inputs.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{RedisServer, Runtime, base_env, fixtures, handlers_dir, standard_handler, wait_until};

fn series() -> Vec<String> {
    std::fs::read_to_string(fixtures().join("series-8cpu-36.jsonl"))
        .expect("series fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn timestamp(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).expect("json");
    v["timestamp"].as_str().expect("timestamp").to_owned()
}

/// Outputs of the reference loop, one line per input.
fn reference(args: &[&str]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference_runtime.py");
    let series = fixtures().join("series-8cpu-36.jsonl");
    let out =
        Command::new("python3").arg(script).args(args).arg("--series").arg(series).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").lines().map(str::to_owned).collect()
}

/// Feed the series through the runtime (each sample once, `TRIGGER=change`) and collect what
/// it writes after each sample. Handlers echo the sample's timestamp as `ts`.
fn through_runtime(redis: &RedisServer, env: Vec<(&'static str, String)>) -> (Vec<String>, String) {
    let mut full = env;
    full.push(("TRIGGER", "change".into()));
    let rt = Runtime::start(&full);
    rt.wait_log("worker ready", Duration::from_secs(20));
    let mut outputs = Vec::new();
    for line in series() {
        let ts = timestamp(&line);
        redis.set("metrics", &line);
        wait_until(Duration::from_secs(10), &format!("the output for {ts}"), || {
            redis.get("out").is_some_and(|o| o.contains(&format!("\"ts\": \"{ts}\"")))
        });
        outputs.push(redis.get("out").expect("output"));
    }
    (outputs, rt.log())
}

fn compare_with_reference(module: &str) -> String {
    compare_with_reference_at(module, "0.05")
}

fn compare_with_reference_at(module: &str, period: &str) -> String {
    let redis = RedisServer::start();
    let path = handlers_dir().join(module);
    let mut env = base_env(&redis, &path);
    env.push(("MONITORING_PERIOD", period.into()));
    let (ours, log) = through_runtime(&redis, env);
    let address = format!("127.0.0.1:{}", redis.port);
    let expected = reference(&["--module", path.to_str().expect("utf-8"), "--redis", &address]);
    assert_eq!(ours, expected, "{module}: runtime and reference differ\nlog:\n{log}");
    log
}

#[test]
fn sliding_window_in_env() {
    compare_with_reference("window_env.py");
}

/// Period 0 takes the pipelined path (the worker computes while Redis writes and reads).
#[test]
fn sliding_window_in_env_at_period_zero() {
    compare_with_reference_at("window_env.py", "0");
}

#[test]
fn datetimes_in_env() {
    compare_with_reference("datetimes.py");
}

#[test]
fn reassigning_context_env() {
    compare_with_reference("reassign.py");
}

#[test]
fn last_execution_and_function_getmtime() {
    compare_with_reference("lastexec.py");
}

#[test]
fn printing_goes_to_the_log_not_the_protocol() {
    let log = compare_with_reference("printing.py");
    assert_eq!(log.matches("module imported").count(), 1, "top-level code runs once:\n{log}");
    assert!(log.contains("handling 2025-12-04 22:00:05.123456"), "{log}");
    assert!(log.contains("logged 2025-12-04 22:00:05.123456"), "{log}");
}

#[test]
fn zip_package_with_relative_imports() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tmp");
    let zip_path = dir.path().join("function.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
    for name in ["__init__.py", "calc.py", "main.py"] {
        zip.start_file(format!("mypkg/{name}"), zip::write::SimpleFileOptions::default()).expect("start");
        zip.write_all(&std::fs::read(handlers_dir().join("pkgsrc/mypkg").join(name)).expect("read"))
            .expect("write");
    }
    zip.finish().expect("finish");
    let redis = RedisServer::start();
    let mut env: Vec<(&'static str, String)> =
        base_env(&redis, Path::new("/unused")).into_iter().filter(|(k, _)| *k != "PYFILE_PATH").collect();
    env.push(("ZIP_PATH", zip_path.display().to_string()));
    env.push(("HANDLER_FUNCTION", "mypkg.main.handler".into()));
    let (ours, log) = through_runtime(&redis, env);
    let pkg = handlers_dir().join("pkgsrc");
    let expected = reference(&["--path", pkg.to_str().expect("utf-8"), "--handler", "mypkg.main.handler"]);
    assert_eq!(ours, expected, "log:\n{log}");
}

/// The standard metrics handler over the 36-sample series: each output equals the values
/// computed here, independently, from the inputs.
#[test]
fn standard_metrics_handler_over_a_series() {
    let redis = RedisServer::start();
    let mut env = base_env(&redis, &standard_handler());
    env.push(("TRIGGER", "change".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", Duration::from_secs(20));
    let mut windows: Vec<Vec<f64>> = Vec::new();
    for line in series() {
        let input: serde_json::Value = serde_json::from_str(&line).expect("json");
        let n = |k: &str| input[k].as_f64().unwrap_or_else(|| panic!("{k}"));
        let mut expected = serde_json::Map::new();
        let (sent, recv) = (n("net_io_counters_eth0-bytes_sent"), n("net_io_counters_eth0-bytes_recv"));
        expected.insert("percent-network-egress".into(), (sent / (sent + recv) * 100.0).into());
        let caching =
            (n("virtual_memory-buffers") + n("virtual_memory-cached")) / n("virtual_memory-total") * 100.0;
        expected.insert("percent-memory-caching".into(), caching.into());
        let cpus =
            input.as_object().expect("object").keys().filter(|k| k.starts_with("cpu_percent-")).count();
        windows.resize(cpus, Vec::new());
        for (i, window) in windows.iter_mut().enumerate() {
            window.push(n(&format!("cpu_percent-{i}")));
            if window.len() > 12 {
                window.remove(0);
            }
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            expected.insert(format!("avg-util-cpu{i}-60sec"), mean.into());
        }
        redis.set("metrics", &line);
        let matches = |out: &str| {
            let got: serde_json::Value = serde_json::from_str(out).expect("output is JSON");
            expected.iter().all(|(k, v)| {
                got[k].as_f64().zip(v.as_f64()).is_some_and(|(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
            }) && got.as_object().is_some_and(|o| o.len() == expected.len())
        };
        wait_until(Duration::from_secs(10), "the expected metrics", || {
            redis.get("out").is_some_and(|o| matches(&o))
        });
    }
    assert_eq!(windows.len(), 8);
}
