//! `fnops-runtime record | feed | watch`: the Redis side of `fnops record` and `fnops dev`, here
//! because the runtime links the Redis client and the CLI links no network stack.
//!
//! - `record`: sample a key (read-only) and print each distinct value once, one JSON document
//!   per line (the series format `fnops invoke --series` and `fnops dev --series` replay).
//! - `feed`: set a key to each line of a series, one per period, or to one document once.
//! - `watch`: print each new value of a key, one per line.
//!
//! Each stops at Ctrl-C or SIGTERM, exit 0; a bad argument is exit 2, a Redis error exit 1.

use std::time::{Duration, Instant};

use redis::AsyncCommands as _;

/// The options all three take.
struct Options {
    redis: String,
    key: String,
    every: Duration,
    stop_after: Option<Duration>,
    count: Option<usize>,
    series: Option<String>,
    input: Option<String>,
}

fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration (`500ms`, `5s`, `10m`)"))?;
    if !value.is_finite() || value < 0.0 || value * scale > 1e7 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        redis: "redis://127.0.0.1:6379/".into(),
        key: "metrics".into(),
        every: Duration::from_secs(1),
        stop_after: None,
        count: None,
        series: None,
        input: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--redis" => o.redis = value()?,
            "--key" => o.key = value()?,
            "--every" | "--period" => o.every = duration(&value()?)?,
            "--for" => o.stop_after = Some(duration(&value()?)?),
            "--count" => o.count = Some(value()?.parse().map_err(|_| format!("`{flag}` takes a number"))?),
            "--series" => o.series = Some(value()?),
            "--input" => o.input = Some(value()?),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if o.every.is_zero() {
        o.every = Duration::from_millis(1);
    }
    Ok(o)
}

/// One line of the series format: the value itself when it is one line, else compacted.
fn one_line(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    if !text.contains('\n') {
        return text.into_owned();
    }
    serde_json::from_str::<serde_json::Value>(&text)
        .map_or_else(|_| text.replace('\n', " "), |v| v.to_string())
}

async fn connect(url: &str) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| format!("`--redis`: {e}"))?;
    tokio::time::timeout(Duration::from_secs(10), client.get_multiplexed_async_connection())
        .await
        .map_err(|_| "redis did not answer within 10 s".to_owned())?
        .map_err(|e| format!("cannot reach redis: {e}"))
}

async fn stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

async fn record(o: Options) -> Result<(), String> {
    let mut conn = connect(&o.redis).await?;
    let started = Instant::now();
    let mut last: Option<Vec<u8>> = None;
    let mut recorded = 0usize;
    let mut every = tokio::time::interval(o.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stop = stopped();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = every.tick() => {}
        }
        if o.stop_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let value: Option<Vec<u8>> = conn.get(&o.key).await.map_err(|e| format!("GET `{}`: {e}", o.key))?;
        let Some(value) = value.filter(|v| !v.is_empty()) else { continue };
        if last.as_deref() == Some(value.as_slice()) {
            continue;
        }
        println!("{}", one_line(&value));
        last = Some(value);
        recorded += 1;
        if o.count.is_some_and(|n| recorded >= n) {
            break;
        }
    }
    eprintln!(
        "recorded {recorded} distinct values of `{}` in {:.1} s",
        o.key,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn feed(o: Options) -> Result<(), String> {
    let inputs: Vec<String> = match (&o.series, &o.input) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| format!("`{path}`: {e}"))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        (None, Some(path)) => vec![std::fs::read_to_string(path).map_err(|e| format!("`{path}`: {e}"))?],
        (None, None) => return Err("`feed` needs `--series FILE` or `--input FILE`".into()),
    };
    let mut conn = connect(&o.redis).await?;
    let mut every = tokio::time::interval(o.every);
    let stop = stopped();
    tokio::pin!(stop);
    for (i, input) in inputs.iter().enumerate() {
        tokio::select! {
            () = &mut stop => return Ok(()),
            _ = every.tick() => {}
        }
        let () = conn.set(&o.key, input.as_bytes()).await.map_err(|e| format!("SET `{}`: {e}", o.key))?;
        println!("fed {}/{}", i + 1, inputs.len());
    }
    Ok(())
}

async fn watch(o: Options) -> Result<(), String> {
    let mut conn = connect(&o.redis).await?;
    let mut last: Option<Vec<u8>> = None;
    let mut every = tokio::time::interval(o.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stop = stopped();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            _ = every.tick() => {}
        }
        // A watch outlives Redis restarts: an error is reported and the next tick retries.
        match conn.get::<_, Option<Vec<u8>>>(&o.key).await {
            Ok(Some(value)) if last.as_deref() != Some(value.as_slice()) => {
                println!("{}", one_line(&value));
                last = Some(value);
            }
            Ok(_) => {}
            Err(e) => eprintln!("watch: GET `{}`: {e}", o.key),
        }
    }
}

/// Run a tool; `None` when `args[0]` is not one.
pub fn run(args: &[String]) -> Option<u8> {
    let tool = args.first()?.as_str();
    if !matches!(tool, "record" | "feed" | "watch") {
        return None;
    }
    let options = match parse(&args[1..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fnops-runtime {tool}: error: {e}");
            return Some(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fnops-runtime {tool}: error: {e}");
            return Some(1);
        }
    };
    let result = runtime.block_on(async {
        match tool {
            "record" => record(options).await,
            "feed" => feed(options).await,
            _ => watch(options).await,
        }
    });
    Some(match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fnops-runtime {tool}: error: {e}");
            1
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_options() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert!(duration("soon").is_err());
        let o = parse(&["--key".into(), "k".into(), "--count".into(), "3".into()]).expect("valid");
        assert_eq!((o.key.as_str(), o.count), ("k", Some(3)));
        assert!(parse(&["--nope".into()]).is_err());
    }

    #[test]
    fn values_become_one_line() {
        assert_eq!(one_line(b"{\"a\": 1}"), "{\"a\": 1}", "a line as it is, byte for byte");
        assert_eq!(one_line(b"{\n  \"a\": 1\n}"), "{\"a\":1}");
    }
}
