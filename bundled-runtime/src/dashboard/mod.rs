//! The live dashboard on the HTTP port: what the handler writes, as time series (the last hour,
//! in a bounded ring), the latest value of every field, ticks, failures and the last traceback,
//! pushed to the page as server-sent events. Everything the page needs is in the binary
//! (`page.html`: no script, style or font from elsewhere, and its CSP forbids any).
//!
//! It shows only what the output key and the metrics already show: outputs (never inputs),
//! counters, and the handler's last traceback (which the log shows too). `DASHBOARD=false`
//! turns it off: nothing is recorded and the routes are 404.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

/// The page (HTML, CSS and JavaScript in one file).
pub const PAGE: &str = include_str!("page.html");

/// How far back the series go.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// At most one sample per this interval is kept (a fast handler keeps its latest of each
/// second), so an hour is at most [`MAX_SAMPLES`] samples whatever the period.
const RESOLUTION_MS: u64 = 1000;
pub const MAX_SAMPLES: usize = 3600;
/// Numeric fields followed as series; others still show among the latest values.
pub const MAX_FIELDS: usize = 64;
/// An output bigger than this keeps only its numbers as "latest".
const MAX_LATEST_BYTES: usize = 64 * 1024;
/// The traceback shown is cut at this length.
const MAX_TRACEBACK_BYTES: usize = 16 * 1024;
/// Pages listening at once; more get 503 (the health probes always keep a connection).
pub const MAX_CLIENTS: usize = 16;
/// Updates go out at most this often, however fast the handler ticks.
pub const PUSH_EVERY: Duration = Duration::from_millis(250);

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// One point in time: `(field index, value)` for each numeric field the output held.
struct Sample {
    t: u64,
    values: Vec<(u16, f64)>,
}

#[derive(Default)]
struct History {
    fields: Vec<String>,
    samples: VecDeque<Sample>,
    latest: Option<Value>,
    ticks: u64,
    written: u64,
    failures: u64,
    last_write_ms: Option<u64>,
    last_error: Option<Value>,
}

/// The dashboard's state, shared by the loop (which records) and the HTTP server.
pub struct Board {
    history: Mutex<History>,
    updates: broadcast::Sender<Bytes>,
    dirty: AtomicBool,
    pub clients: AtomicUsize,
}

impl Default for Board {
    fn default() -> Self {
        Board::new()
    }
}

/// The numeric fields of an output: top-level numbers, and those of objects one level down as
/// `parent.child`.
fn numbers(output: &Value) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    let Value::Object(map) = output else { return found };
    for (k, v) in map {
        match v {
            Value::Number(n) => found.extend(n.as_f64().map(|f| (k.clone(), f))),
            Value::Object(inner) => {
                for (k2, v2) in inner {
                    if let Some(f) = v2.as_f64() {
                        found.push((format!("{k}.{k2}"), f));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

impl Board {
    pub fn new() -> Board {
        let (updates, _) = broadcast::channel(16);
        Board {
            history: Mutex::new(History::default()),
            updates,
            dirty: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut History) -> T) -> T {
        let mut h = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = f(&mut h);
        self.dirty.store(true, Ordering::Relaxed);
        out
    }

    /// Tick `tick` called the handler (the runtime's own tick numbers, as its log gives them).
    pub fn tick(&self, tick: u64, failed: bool) {
        self.with(|h| {
            h.ticks = h.ticks.max(tick);
            h.failures += u64::from(failed);
        });
    }

    /// The handler's error (the latest is shown).
    pub fn error(&self, tick: u64, error: &str, traceback: &str) {
        let mut traceback = traceback.to_owned();
        if traceback.len() > MAX_TRACEBACK_BYTES {
            let mut cut = MAX_TRACEBACK_BYTES;
            while !traceback.is_char_boundary(cut) {
                cut -= 1;
            }
            traceback.truncate(cut);
        }
        self.with(|h| {
            h.last_error = Some(json!({"tick": tick, "error": error, "traceback": traceback, "t": now_ms()}))
        });
    }

    /// An output was written to the output key.
    pub fn output(&self, bytes: &[u8]) {
        self.output_at(now_ms(), bytes);
    }

    fn output_at(&self, t: u64, bytes: &[u8]) {
        // NaN and Infinity (the course's JSON) are not JSON: read them as null.
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(_) => {
                let text = String::from_utf8_lossy(bytes)
                    .replace("-Infinity", "null")
                    .replace("Infinity", "null")
                    .replace("NaN", "null");
                serde_json::from_str(&text).unwrap_or(Value::Null)
            }
        };
        let found = numbers(&value);
        self.with(|h| {
            h.written += 1;
            h.last_write_ms = Some(t);
            let mut values = Vec::with_capacity(found.len());
            for (name, v) in found {
                let index = match h.fields.iter().position(|f| *f == name) {
                    Some(i) => i,
                    None if h.fields.len() < MAX_FIELDS => {
                        h.fields.push(name);
                        h.fields.len() - 1
                    }
                    None => continue,
                };
                values.push((index as u16, v));
            }
            h.latest = Some(if bytes.len() <= MAX_LATEST_BYTES {
                value
            } else {
                Value::Object(values.iter().map(|(i, v)| (h.fields[*i as usize].clone(), json!(v))).collect())
            });
            // One sample per second: a faster handler replaces the second's sample.
            match h.samples.back_mut() {
                Some(last) if t.saturating_sub(last.t) < RESOLUTION_MS => {
                    *last = Sample { t: last.t, values }
                }
                _ => h.samples.push_back(Sample { t, values }),
            }
            let oldest = t.saturating_sub(WINDOW.as_millis() as u64);
            while h.samples.front().is_some_and(|s| s.t < oldest) || h.samples.len() > MAX_SAMPLES {
                h.samples.pop_front();
            }
        });
    }

    fn counters(h: &History) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("ticks".into(), json!(h.ticks));
        m.insert("written".into(), json!(h.written));
        m.insert("failures".into(), json!(h.failures));
        m.insert("lastWrite".into(), json!(h.last_write_ms));
        m.insert("lastError".into(), h.last_error.clone().unwrap_or(Value::Null));
        m.insert("latest".into(), h.latest.clone().unwrap_or(Value::Null));
        m.insert("fields".into(), json!(h.fields));
        m.insert("now".into(), json!(now_ms()));
        m
    }

    fn sample_json(s: &Sample) -> Value {
        json!([s.t, s.values.iter().map(|(i, v)| json!([i, v])).collect::<Vec<_>>()])
    }

    /// Everything, for a page that just loaded.
    pub fn snapshot(&self) -> String {
        let h = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut m = Board::counters(&h);
        m.insert("samples".into(), Value::Array(h.samples.iter().map(Board::sample_json).collect()));
        m.insert("windowSeconds".into(), json!(WINDOW.as_secs()));
        Value::Object(m).to_string()
    }

    /// What changed since the last push, as one server-sent event; `None` when nothing did.
    fn update(&self) -> Option<Bytes> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return None;
        }
        let h = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut m = Board::counters(&h);
        m.insert("sample".into(), h.samples.back().map_or(Value::Null, Board::sample_json));
        Some(Bytes::from(format!("event: update\ndata: {}\n\n", Value::Object(m))))
    }

    /// A receiver of the pushed updates.
    pub fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.updates.subscribe()
    }

    /// Push updates to the pages, at most every [`PUSH_EVERY`], while any listens.
    pub async fn push_forever(&self) {
        let mut every = tokio::time::interval(PUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            if self.updates.receiver_count() > 0
                && let Some(event) = self.update()
            {
                let _ = self.updates.send(event);
            }
        }
    }

    /// Bytes the history holds, roughly (for the measurements in docs/BENCHMARKS.md).
    pub fn approximate_bytes(&self) -> usize {
        let h = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let samples: usize =
            h.samples.iter().map(|s| std::mem::size_of::<Sample>() + s.values.capacity() * 16).sum();
        samples + h.fields.iter().map(|f| f.capacity() + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_become_series_of_their_numeric_fields() {
        let board = Board::new();
        board.output(br#"{"a": 1, "b": "x", "c": {"d": 2.5}, "e": NaN}"#);
        let snap: Value = serde_json::from_str(&board.snapshot()).expect("JSON");
        assert_eq!(snap["fields"], json!(["a", "c.d"]));
        assert_eq!(snap["samples"][0][1], json!([[0, 1.0], [1, 2.5]]));
        assert_eq!(snap["latest"]["b"], "x");
        assert_eq!(snap["latest"]["e"], Value::Null, "NaN is shown as no value");
        assert_eq!(snap["written"], 1);
    }

    #[test]
    fn the_history_is_bounded() {
        let board = Board::new();
        for i in 0..(MAX_FIELDS + 10) {
            board.output(format!("{{\"f{i}\": {i}}}").as_bytes());
        }
        let h = board.history.lock().expect("lock");
        assert_eq!(h.fields.len(), MAX_FIELDS);
        assert_eq!(h.samples.len(), 1, "a second's outputs share one sample");
    }

    /// An hour of the course's output (20 numeric fields, one sample a second: the most the
    /// ring keeps) costs about 1.2 MB; the figure is in docs/BENCHMARKS.md.
    #[test]
    fn an_hour_of_history_is_bounded_in_bytes() {
        let board = Board::new();
        let fields: Vec<String> = (0..20).map(|i| format!("\"avg-util-cpu{i}-60sec\": {}.5", i)).collect();
        let output = format!("{{{}}}", fields.join(", "));
        for second in 0..(2 * 3600u64) {
            board.output_at(1_000_000 + second * 1000, output.as_bytes());
        }
        let bytes = board.approximate_bytes();
        eprintln!(
            "an hour of 20 fields at 1 s: {} samples, about {bytes} bytes",
            board.history.lock().expect("lock").samples.len()
        );
        assert_eq!(board.history.lock().expect("lock").samples.len(), MAX_SAMPLES);
        assert!(bytes < 2 << 20, "{bytes}");
    }

    #[test]
    fn updates_are_sent_only_when_something_changed() {
        let board = Board::new();
        assert!(board.update().is_none());
        board.tick(1, false);
        let event = board.update().expect("an update");
        assert!(event.starts_with(b"event: update\ndata: {"));
        assert!(board.update().is_none());
    }
}
