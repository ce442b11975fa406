//! The runtime's input handling before Python: settings from arbitrary environment values, and
//! the host side of the worker protocol on arbitrary reply bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const VARS: &[&str] = &[
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_URL",
    "REDIS_INPUT_KEY",
    "MONITORING_PERIOD",
    "INTERVAL",
    "TRIGGER",
    "HANDLER_FUNCTION",
    "HANDLER_TIMEOUT",
    "METRICS_PORT",
    "LOG_FORMAT",
    "JSON_ALLOW_NAN",
    "ZIP_URL",
    "ZIP_SHA256",
    // Not the TLS file settings: a fuzzer must not read arbitrary paths (`/dev/stdin`).
    "REDIS_TLS",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\n').collect();
    let get = |name: &str| {
        let i = VARS.iter().position(|v| *v == name)?;
        values.get(i).map(|v| (*v).to_owned())
    };
    let _ = fnops_runtime::config::Settings::from_env(get);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let mut reader: &[u8] = data;
    let _ = rt.block_on(fnops_runtime::worker::protocol::read_reply(&mut reader, 1 << 20));
});
