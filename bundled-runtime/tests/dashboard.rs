//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
//! playwright-core from npm) loads the page from the runtime running against a real
//! redis-server, sees the output, sees a new input's output arrive live (server-sent events),
//! sees a handler error, and at 375 px wide fits the screen; the screenshot is kept in
//! `target/dashboard-375.png`.
//!
//! scripts/install-test-deps installs chromium and playwright-core (into
//! `target/test-tools/node_modules`, or `FNOPS_NODE_MODULES`); under `FNOPS_REQUIRE_BROWSER`
//! (scripts/test sets it) their absence fails the test instead of skipping it.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{RedisServer, Runtime, base_env, free_port, handlers_dir};

const LONG: Duration = Duration::from_secs(20);

fn node_modules() -> Option<PathBuf> {
    let dir = std::env::var_os("FNOPS_NODE_MODULES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/node_modules")
    });
    let found = dir.join("playwright-core").is_dir() && std::path::Path::new("/usr/bin/chromium").exists();
    if !found {
        assert!(
            std::env::var_os("FNOPS_REQUIRE_BROWSER").is_none(),
            "chromium and playwright-core are required here"
        );
        eprintln!("skipping: no chromium or playwright-core (scripts/install-test-deps)");
    }
    found.then_some(dir)
}

fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(LONG)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("request");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stream, &mut text).expect("response");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

fn runtime(redis: &RedisServer, extra: &[(&'static str, &str)]) -> (Runtime, u16) {
    let port = free_port();
    let mut env = base_env(redis, &handlers_dir().join("counting.py"));
    env.push(("TRIGGER", "change".into()));
    env.push(("METRICS_PORT", port.to_string()));
    env.push(("METRICS_ADDR", "127.0.0.1".into()));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let rt = Runtime::start(&env);
    rt.wait_log("worker ready", LONG);
    (rt, port)
}

#[test]
fn the_page_is_self_contained_and_off_with_dashboard_false() {
    let redis = RedisServer::start();
    let (rt, port) = runtime(&redis, &[]);
    assert!(rt.log().contains(&format!("the dashboard is at http://127.0.0.1:{port}/")), "{}", rt.log());
    let (head, page) = get(port, "/");
    assert!(
        head.starts_with("HTTP/1.1 200")
            && head.to_lowercase().contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    for outside in ["http://", "https://", "//cdn", "src=\""] {
        assert!(!page.contains(outside), "the page loads nothing from elsewhere: {outside}");
    }
    eprintln!("page weight: {} bytes", page.len());
    assert!(page.len() < 32 * 1024, "{}", page.len());
    redis.set("metrics", "{\"seq\": 1}");
    common::wait_until(LONG, "an output", || redis.get("out").is_some());
    let (_, state) = get(port, "/dashboard/state");
    let state: serde_json::Value = serde_json::from_str(&state).expect("JSON");
    assert_eq!(state["latest"]["seq"], 1);
    assert!(state["fields"].as_array().is_some_and(|f| f.contains(&"n".into())), "{state}");
    assert!(!state.to_string().contains("metrics"), "no input key or input value: {state}");
    drop(rt);

    let (_rt, port) = runtime(&redis, &[("DASHBOARD", "false")]);
    assert!(get(port, "/").0.starts_with("HTTP/1.1 404"));
    assert!(get(port, "/dashboard/state").0.starts_with("HTTP/1.1 404"));
    assert!(get(port, "/healthz").0.starts_with("HTTP/1.1 200"));
}

#[test]
fn the_dashboard_shows_outputs_live_in_a_real_browser() {
    let Some(modules) = node_modules() else { return };
    let redis = RedisServer::start();
    let (_rt, port) = runtime(&redis, &[]);
    redis.set("metrics", "{\"seq\": 41}");
    common::wait_until(LONG, "the first output", || redis.get("out").is_some_and(|o| o.contains("41")));
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-375.png");
    let _ = std::fs::remove_file(&shot);
    let mut browser = Command::new("node")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.mjs"))
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg("seq")
        .arg(&shot)
        .env("FNOPS_NODE_MODULES", &modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let mut stdin = browser.stdin.take().expect("stdin");
    let mut lines = BufReader::new(browser.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line from the browser").expect("read");
    assert_eq!(next(), "READY 41", "the page shows the output");

    redis.set("metrics", "{\"seq\": 42}");
    writeln!(stdin, "WAIT-UPDATE").expect("write");
    assert_eq!(next(), "UPDATED 42", "the new output arrives without a reload");

    redis.set("metrics", "{\"seq\": 43, \"cmd\": \"raise\"}");
    writeln!(stdin, "WAIT-ERROR").expect("write");
    let error = next();
    assert!(error.starts_with("ERROR tick ") && error.contains("ValueError: boom"), "{error}");

    writeln!(stdin, "SHOT").expect("write");
    let shot_line = next();
    let parts: Vec<&str> = shot_line.split_whitespace().collect();
    assert_eq!(parts.first(), Some(&"SHOT"), "{shot_line}");
    assert_eq!(parts[1], "375", "nothing wider than a 375 px screen: {shot_line}");
    assert!(
        parts[2].parse::<u32>().is_ok_and(|charts| charts >= 2),
        "a chart per numeric field: {shot_line}"
    );
    assert_eq!(parts[3], "0", "no request left the page");
    drop(stdin);
    assert!(browser.wait().expect("wait").success());

    // A real PNG, 375 px wide, as tall as the page.
    let png = std::fs::read(&shot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    assert_eq!(width, 375);
    assert!(height >= 600, "{height}");
    eprintln!("screenshot: {} ({width}x{height})", shot.display());
}
