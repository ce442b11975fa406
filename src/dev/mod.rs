//! The function author's local loop, `fnops dev`: the project runs as its rendered Deployment
//! would run it (the same environment, from the same render), on the project's own files,
//! against a private `redis-server` (or a given Redis), fed from a series or a sample, with
//! each output shown as it changes and the runtime's live dashboard one click away.
//!
//! The processes: `redis-server` (unless `--redis`), `fnops-runtime` (the function),
//! `fnops-runtime feed` (the input key) and `fnops-runtime watch` (the output key): the CLI links
//! no Redis client, the runtime has one. Each runs in its own process group, so Ctrl-C reaches
//! only `fnops dev`, which stops them in order and removes its scratch directory.

mod env;
mod processes;

pub use env::{RuntimeEnv, runtime_env};
pub use processes::{Child, PrivateRedis, find_runtime, free_port, terminate};

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What changed between two outputs, for the terminal: `field: old → new`, at most `limit`
/// fields (then a count); all fields for the first output.
pub fn describe_change(
    previous: Option<&serde_json::Value>,
    now: &serde_json::Value,
    limit: usize,
) -> String {
    let (Some(serde_json::Value::Object(old)), serde_json::Value::Object(new)) = (previous, now) else {
        let mut shown = now.to_string();
        if shown.len() > 200 {
            shown.truncate(shown.char_indices().nth(200).map_or(shown.len(), |(i, _)| i));
            shown.push('…');
        }
        return shown;
    };
    let changed: BTreeMap<&String, (&serde_json::Value, Option<&serde_json::Value>)> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, v)| (k, (v, old.get(k)))).collect();
    let gone: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    if changed.is_empty() && gone.is_empty() {
        return "unchanged".into();
    }
    let mut out = String::new();
    for (i, (k, (v, was))) in changed.iter().enumerate() {
        if i == limit {
            let _ = write!(out, " (+{} more)", changed.len() - limit);
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        match was {
            Some(w) => {
                let _ = write!(out, "{k}: {} → {}", short(w), short(v));
            }
            None => {
                let _ = write!(out, "{k}: {}", short(v));
            }
        }
    }
    if !gone.is_empty() {
        let _ = write!(
            out,
            "{}gone: {}",
            if out.is_empty() { "" } else { "; " },
            gone.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    out
}

fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                let text = format!("{f:.4}");
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            _ => n.to_string(),
        },
        serde_json::Value::String(s) if s.len() <= 40 => format!("{s:?}"),
        other => {
            let mut s = other.to_string();
            if s.len() > 40 {
                s.truncate(s.char_indices().nth(40).map_or(s.len(), |(i, _)| i));
                s.push('…');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_read_as_old_to_new() {
        let a = json!({"cpu": 1.5, "mem": 40, "name": "x"});
        let b = json!({"cpu": 2.25, "mem": 40, "new": true});
        assert_eq!(describe_change(None, &a, 10), "{\"cpu\":1.5,\"mem\":40,\"name\":\"x\"}");
        assert_eq!(describe_change(Some(&a), &b, 10), "cpu: 1.5 → 2.25, new: true; gone: name");
        assert_eq!(describe_change(Some(&b), &b, 10), "unchanged");
        let many = json!({"a": 1, "b": 2, "c": 3});
        assert_eq!(describe_change(Some(&json!({})), &many, 2), "a: 1, b: 2 (+1 more)");
    }
}
