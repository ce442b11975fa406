//! Nothing lost under repeated faults: Redis restarted, the worker killed from outside and
//! crashing itself, the handler raising, all in one run. Every good input gets its output, and
//! `context.env` ends up holding exactly the successful calls, in order. Bounded: about 120
//! inputs, well under a minute.

mod common;

use std::time::Duration;

use common::{RedisServer, Runtime, base_env, handlers_dir};

/// Wait for `ok`, failing with the runtime's log.
fn wait_for(rt: &Runtime, what: &str, mut ok: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < LONG {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = rt.log();
    let tail: Vec<&str> = log.lines().filter(|l| !l.contains("handled")).collect();
    panic!(
        "timed out waiting for {what}; log without `handled` lines:\n{}",
        tail[tail.len().saturating_sub(30)..].join("\n")
    );
}

const LONG: Duration = Duration::from_secs(20);

fn output(redis: &RedisServer) -> serde_json::Value {
    redis.get("out").and_then(|o| serde_json::from_str(&o).ok()).unwrap_or_default()
}

/// PIDs of the worker processes (children of the runtime).
fn workers(runtime_pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{runtime_pid}/task/{runtime_pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn repeated_faults_lose_no_output_and_no_state() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let mut env = base_env(&redis, &handlers_dir().join("ledger.py"));
    env.push(("TRIGGER", "change".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    let mut good = Vec::new();
    for seq in 1..=120u32 {
        if seq % 25 == 0 {
            // Redis goes away and comes back empty.
            redis.stop();
            std::thread::sleep(Duration::from_millis(150));
            redis = RedisServer::start_on(port, &[]);
        }
        if seq % 17 == 0 {
            // The worker is killed from outside (OOM killer, node pressure).
            for pid in workers(rt.pid()) {
                let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        let cmd = match seq % 11 {
            3 => "raise",
            7 => "exit",
            _ => "",
        };
        redis.set("metrics", &format!("{{\"seq\": {seq}, \"cmd\": \"{cmd}\"}}"));
        if cmd.is_empty() {
            good.push(seq);
            wait_for(&rt, &format!("the output of seq {seq}"), || output(&redis)["seq"] == seq);
        } else {
            let marker = if cmd == "raise" { "asked to fail" } else { "the worker died" };
            let before = rt.log().matches(marker).count();
            wait_for(&rt, &format!("seq {seq} ({cmd}) handled"), || {
                rt.log().matches(marker).count() > before
            });
        }
    }
    let seen: Vec<u32> = output(&redis)["seen"]
        .as_array()
        .expect("seen")
        .iter()
        .filter_map(|v| v.as_u64().map(|n| n as u32))
        .collect();
    assert_eq!(seen, good, "context.env holds every successful call exactly once, in order\n{}", rt.log());
    let log = rt.log();
    assert!(log.matches("redis is back").count() >= 4, "{log}");
    assert!(log.contains("restored from the last snapshot"), "{log}");
}

/// `TRIGGER=change` at period 0 with inputs arriving faster than calls, so that inputs are
/// queued ahead, and the worker killed once on the way: every sample the handler sees, it sees
/// once and in order, and the last one is handled.
#[test]
fn change_at_period_zero_sees_each_sample_once_in_order_across_a_kill() {
    let redis = RedisServer::start();
    let mut env = base_env(&redis, &handlers_dir().join("ledger.py"));
    env.retain(|(k, _)| *k != "MONITORING_PERIOD");
    env.push(("MONITORING_PERIOD", "0".into()));
    env.push(("TRIGGER", "change".into()));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    for seq in 1..=40u32 {
        redis.set("metrics", &format!("{{\"seq\": {seq}, \"sleep\": 0.03}}"));
        if seq == 20 {
            for pid in workers(rt.pid()) {
                let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for(&rt, "the output of seq 40", || output(&redis)["seq"] == 40);
    let seen: Vec<u64> = output(&redis)["seen"]
        .as_array()
        .expect("seen")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "each sample once, in order: {seen:?}");
    assert!(seen.len() >= 5, "samples were handled: {seen:?}");
    assert!(rt.log().contains("restored from the last snapshot"), "{}", rt.log());
}
