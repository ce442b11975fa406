//! `fnops dev` (see [`crate::dev`]) and `fnops record`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::CommandError;
use crate::cli::{DevArgs, RecordArgs};
use crate::dev::{self, Child, PrivateRedis, RuntimeEnv};
use crate::paths;
use crate::pipeline;
use crate::project::{FunctionSource, load};
use crate::validate::SchemaSet;

/// How often the project's files are looked at for a change.
const POLL: Duration = Duration::from_millis(250);

/// `[HH:MM:SS]` (UTC), for the terminal.
fn clock() -> String {
    let s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("[{:02}:{:02}:{:02}]", s / 3600, s / 60 % 60, s % 60)
}

fn on_stop() -> Result<Arc<AtomicBool>, CommandError> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, flag.clone()).map_err(CommandError::fatal)?;
    }
    Ok(flag)
}

/// What one render gives the dev loop.
struct Rendered {
    env_name: String,
    runtime: RuntimeEnv,
    source: FunctionSource,
    sample: Option<PathBuf>,
}

fn render(args: &DevArgs, scratch: &Path, redis_url: &str, port: u16) -> Result<Rendered, String> {
    let loaded = load(&args.project_dir, args.env.as_deref()).map_err(|e| e.to_string())?;
    if let Some(f) = loaded.findings.iter().find(|f| f.severity == crate::finding::Severity::Error) {
        return Err(format!("{}:{}:{}: {}", f.file, f.line, f.column, f.message));
    }
    let env = loaded.envs.first().ok_or("the project has no environment")?;
    let version = crate::validate::schema::resolve_version(None)?;
    let schemas = SchemaSet::new(version.bundled);
    let request = pipeline::Request {
        project_dir: &args.project_dir,
        env: Some(&env.env),
        out: None,
        templates: None,
        schemas: &schemas,
        default_namespace: None,
    };
    let built = pipeline::build(&request).map_err(|e| e.to_string())?;
    let code = match &env.source {
        FunctionSource::File { path, .. } => (path.clone(), false),
        FunctionSource::Dir { path } => (package(path, &loaded.root, scratch)?, true),
    };
    let runtime = dev::runtime_env(&built.files, &env.env, (&code.0, code.1), redis_url, port)?;
    let sample = env.project.function.input_sample.as_ref().map(|s| args.project_dir.join(s));
    Ok(Rendered { env_name: env.env.clone(), runtime, source: env.source.clone(), sample })
}

/// Zip a package directory as the render does, into the scratch directory (written whole, then
/// renamed: the runtime reloads on the new file and never reads half of one).
fn package(dir: &Path, root: &Path, scratch: &Path) -> Result<PathBuf, String> {
    let bytes = crate::render::package::zip_dir(dir, root).map_err(|e| e.to_string())?;
    let target = scratch.join("function.zip");
    let partial = scratch.join("function.zip.partial");
    fs_err::write(&partial, bytes).map_err(|e| e.to_string())?;
    fs_err::rename(&partial, &target).map_err(|e| e.to_string())?;
    Ok(target)
}

/// The modification times of what a change to should reload: the project file, the overlays,
/// the sample, and a package's files (its ZIP is rebuilt).
fn fingerprint(project_dir: &Path, source: &FunctionSource) -> BTreeMap<PathBuf, (SystemTime, u64)> {
    let mut seen = BTreeMap::new();
    let mut add = |p: &Path| {
        if let Ok(m) = p.metadata() {
            seen.insert(p.to_path_buf(), (m.modified().unwrap_or(UNIX_EPOCH), m.len()));
        }
    };
    add(&project_dir.join(crate::project::PROJECT_FILE));
    if let Ok(entries) = fs_err::read_dir(project_dir.join("environments")) {
        for entry in entries.flatten() {
            add(&entry.path());
        }
    }
    if let FunctionSource::Dir { path } = source {
        for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
            if entry.file_type().is_file() {
                add(entry.path());
            }
        }
    }
    seen
}

/// Forward a child's lines into the channel, tagged.
fn lines(
    tag: &'static str,
    stream: impl std::io::Read + Send + 'static,
    to: mpsc::Sender<(&'static str, String)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if to.send((tag, line)).is_err() {
                break;
            }
        }
    });
}

/// The running function: the runtime, its feed and its watch.
struct Running {
    runtime: Child,
    feed: Option<Child>,
    watch: Option<Child>,
}

fn start(
    runtime_bin: &Path,
    rendered: &Rendered,
    feed: Option<(&str, PathBuf)>,
    redis_url: &str,
    events: &mpsc::Sender<(&'static str, String)>,
) -> Result<Running, String> {
    let mut command = Command::new(runtime_bin);
    for key in rendered.runtime.vars.keys() {
        command.env_remove(key);
    }
    command.envs(&rendered.runtime.vars).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut runtime = Child::spawn("fnops-runtime", &mut command)?;
    if let Some(stderr) = runtime.process.stderr.take() {
        lines("runtime", stderr, events.clone());
    }
    let period = format!("{}ms", rendered.runtime.period.as_millis().max(1));
    let feed = match feed {
        None => None,
        Some((flag, file)) => {
            let mut command = Command::new(runtime_bin);
            command
                .args([
                    "feed",
                    "--redis",
                    redis_url,
                    "--key",
                    &rendered.runtime.input_key,
                    "--period",
                    &period,
                    flag,
                ])
                .arg(file)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = Child::spawn("fnops-runtime feed", &mut command)?;
            if let Some(out) = child.process.stdout.take() {
                lines("feed", out, events.clone());
            }
            if let Some(err) = child.process.stderr.take() {
                lines("feed-error", err, events.clone());
            }
            Some(child)
        }
    };
    let watch = match &rendered.runtime.output_key {
        None => None,
        Some(key) => {
            let every = format!("{}ms", (rendered.runtime.period.as_millis() / 2).clamp(50, 1000));
            let mut command = Command::new(runtime_bin);
            command
                .args(["watch", "--redis", redis_url, "--key", key, "--every", &every])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut child = Child::spawn("fnops-runtime watch", &mut command)?;
            if let Some(out) = child.process.stdout.take() {
                lines("output", out, events.clone());
            }
            Some(child)
        }
    };
    Ok(Running { runtime, feed, watch })
}

/// The message of a runtime log record, without its time, level and module.
fn message(line: &str) -> &str {
    let rest = line.split_once(char::is_whitespace).map_or(line, |(_, r)| r.trim_start());
    let rest = rest.split_once(char::is_whitespace).map_or(rest, |(_, r)| r.trim_start());
    match rest.split_once(": ") {
        Some((target, message)) if target.starts_with("fnops_runtime") => message,
        _ => rest,
    }
}

/// Whether a runtime log line starts a record (`2026-12-01T09:00:00.123Z  INFO ...`), and at
/// what level.
fn level(line: &str) -> Option<&str> {
    let starts_with_time =
        line.len() > 20 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit) && line.as_bytes()[4] == b'-';
    if !starts_with_time {
        return None;
    }
    ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
        .into_iter()
        .find(|l| line.split_whitespace().nth(1) == Some(*l))
}

pub(crate) fn run(args: &DevArgs) -> Result<(), CommandError> {
    let stop = on_stop()?;
    let runtime_bin = dev::find_runtime().map_err(CommandError::fatal)?;
    let scratch = tempfile::Builder::new().prefix("fnops-dev-").tempdir().map_err(CommandError::fatal)?;
    let redis = match &args.redis {
        Some(_) => None,
        None => Some(PrivateRedis::start(scratch.path()).map_err(CommandError::fatal)?),
    };
    let redis_url = match (&args.redis, &redis) {
        (Some(url), _) => url.clone(),
        (None, Some(r)) => r.url(),
        (None, None) => unreachable!("a private Redis was started"),
    };
    let port = dev::free_port().map_err(CommandError::fatal)?;
    let mut rendered = render(args, scratch.path(), &redis_url, port).map_err(CommandError::invalid)?;

    // The input: a series, one document, the project's sample, the course's sample; or none.
    let (feed, what) = if args.no_feed {
        (None, "left to you (`--no-feed`)".to_owned())
    } else if let Some(series) = &args.series {
        let n = fs_err::read_to_string(series)
            .map_err(CommandError::fatal)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        let every = rendered.runtime.period.as_secs_f64();
        (
            Some(("--series", series.clone())),
            format!("{} ({n} inputs, one every {every} s)", paths::display(series)),
        )
    } else {
        let file = match args.input.clone().or_else(|| rendered.sample.clone()) {
            Some(f) => f,
            None => {
                let f = scratch.path().join("course-metrics.json");
                fs_err::write(&f, crate::validate::python::COURSE_SAMPLE).map_err(CommandError::fatal)?;
                f
            }
        };
        let shown = if file.starts_with(scratch.path()) {
            "the course's metrics sample".to_owned()
        } else {
            paths::display(&file)
        };
        (Some(("--input", file)), format!("{shown}, once"))
    };

    println!("fnops dev: environment `{}` of `{}`", rendered.env_name, paths::display(&args.project_dir));
    match &redis {
        Some(_) => println!("  redis      {redis_url} (private: stopped on exit)"),
        None => println!("  redis      {redis_url}"),
    }
    println!("  input      `{}` ← {what}", rendered.runtime.input_key);
    match &rendered.runtime.output_key {
        Some(key) => println!("  output     `{key}`"),
        None => println!("  output     none: the project sets no output key"),
    }
    println!("  dashboard  http://127.0.0.1:{port}/");
    println!("  save a file to reload; Ctrl-C stops everything");

    let (tx, rx) = mpsc::channel();
    let mut running = Some(
        start(&runtime_bin, &rendered, feed.as_ref().map(|(f, p)| (*f, p.clone())), &redis_url, &tx)
            .map_err(CommandError::fatal)?,
    );
    let mut seen = fingerprint(&args.project_dir, &rendered.source);
    let mut last_output: Option<serde_json::Value> = None;
    let mut fed = String::new();
    let mut in_record = false;
    let mut exited_reported = false;
    while !stop.load(Ordering::Relaxed) {
        while let Ok((tag, line)) = rx.recv_timeout(POLL / 5) {
            match tag {
                "output" => {
                    let value: serde_json::Value =
                        serde_json::from_str(&line).unwrap_or(serde_json::Value::String(line.clone()));
                    let change = dev::describe_change(last_output.as_ref(), &value, 4);
                    let bytes = line.len();
                    println!("{} output   ({bytes} B{fed}) {change}", clock());
                    last_output = Some(value);
                }
                "feed" => {
                    if let Some(count) = line.strip_prefix("fed ") {
                        fed = format!(", input {count}");
                    }
                }
                "feed-error" => println!("{} feed     {line}", clock()),
                _ => {
                    // The runtime's log: warnings, errors (with their tracebacks) and reloads.
                    match level(&line) {
                        Some(l @ ("ERROR" | "WARN")) => {
                            in_record = true;
                            println!("{} runtime  {l} {}", clock(), message(&line));
                        }
                        Some(_) => {
                            in_record = false;
                            if line.contains("new version loaded") || line.contains("worker ready") {
                                println!("{} runtime  {}", clock(), message(&line));
                            }
                        }
                        None if in_record => println!("           {line}"),
                        None => {}
                    }
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(r) = running.as_mut()
            && let Some(status) = r.runtime.exited()
            && !exited_reported
        {
            println!("{} the runtime exited ({status}): fix the project and save, it starts again", clock());
            exited_reported = true;
        }
        let now = fingerprint(&args.project_dir, &rendered.source);
        if now == seen {
            continue;
        }
        seen = now;
        match render(args, scratch.path(), &redis_url, port) {
            Err(why) => println!("{} project  {why} (the running version stays)", clock()),
            Ok(next) => {
                let settings_changed = next.runtime != rendered.runtime;
                let dead = running.as_mut().is_none_or(|r| r.runtime.exited().is_some());
                if settings_changed || dead {
                    println!(
                        "{} project  {}: restarting the runtime",
                        clock(),
                        if dead { "changed" } else { "settings changed" }
                    );
                    // Stop the old processes before the new ones take the port.
                    drop(running.take());
                    rendered = next;
                    running = Some(
                        start(
                            &runtime_bin,
                            &rendered,
                            feed.as_ref().map(|(f, p)| (*f, p.clone())),
                            &redis_url,
                            &tx,
                        )
                        .map_err(CommandError::fatal)?,
                    );
                    exited_reported = false;
                } else {
                    // A package's ZIP was rebuilt: the runtime reloads it by itself.
                    rendered = next;
                }
            }
        }
    }
    println!("{} stopping", clock());
    if let Some(r) = running.take() {
        let Running { runtime, feed, watch } = r;
        drop(watch);
        drop(feed);
        drop(runtime);
    }
    drop(redis);
    let scratch_path = scratch.path().to_path_buf();
    scratch.close().map_err(CommandError::fatal)?;
    println!(
        "stopped: the runtime, its feed and watch, and the private redis; `{}` is removed",
        scratch_path.display()
    );
    Ok(())
}

/// `fnops record`: the runtime's `record` tool (it has the Redis client) with these options;
/// Ctrl-C stops it after the last complete line.
pub(crate) fn record(args: &RecordArgs) -> Result<(), CommandError> {
    let runtime_bin = dev::find_runtime().map_err(CommandError::fatal)?;
    let stop = on_stop()?;
    let mut command = Command::new(runtime_bin);
    command.args(["record", "--redis", &args.redis, "--key", &args.key, "--every", &args.every]);
    if let Some(d) = &args.duration {
        command.args(["--for", d]);
    }
    if let Some(n) = args.count {
        command.args(["--count", &n.to_string()]);
    }
    let mut child =
        command.spawn().map_err(|e| CommandError::fatal(format_args!("cannot start fnops-runtime: {e}")))?;
    let status = child.wait().map_err(CommandError::fatal)?;
    let _ = stop;
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(CommandError::silent(super::ExitStatus::Error)),
        _ => Err(CommandError::silent(super::ExitStatus::Failure)),
    }
}
