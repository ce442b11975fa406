//! `fnops invoke`: run the project's handler locally, without Redis, through the runtime's own
//! Python worker (the `fnops-worker` crate, which `fnops-runtime` runs too: one implementation).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fnops_worker::{InitConfig, Reply, Request, Spawn, Worker};

use super::{CommandError, write_stdout};
use crate::cli::InvokeArgs;
use crate::project::model::Flavor;
use crate::project::{FunctionSource, load};
use crate::validate::python::{COURSE_SAMPLE, InputKeys, Libraries, ModuleSource, analyze_program};

/// `context.env` that grew on each of this many calls, at least doubling over them, to more
/// than [`GROWTH_MIN_BYTES`], is reported: a window that fills up stops; this does not.
const GROWTH_WARNING: usize = 5;
const GROWTH_MIN_BYTES: u64 = 64 * 1024;

/// The inputs: one file, a JSON-lines series, or the course's metrics sample.
fn inputs(args: &InvokeArgs) -> Result<Vec<String>, String> {
    let read = |p: &PathBuf| fs_err::read_to_string(p).map_err(|e| e.to_string());
    Ok(match (&args.input, &args.series) {
        (Some(file), _) => vec![read(file)?],
        (None, Some(series)) => {
            read(series)?.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
        }
        (None, None) => vec![COURSE_SAMPLE.to_owned()],
    })
}

fn init_config(source: &FunctionSource, handler: &str) -> InitConfig {
    let (module_path, sys_path) = match source {
        FunctionSource::File { path, .. } => (
            (!handler.contains('.') || handler.starts_with("usermodule."))
                .then(|| path.display().to_string()),
            vec![path.parent().map(|p| p.display().to_string()).unwrap_or_default()],
        ),
        // A package is imported from its parent directory: `pkg.module.function`.
        FunctionSource::Dir { path } => {
            (None, vec![path.parent().map(|p| p.display().to_string()).unwrap_or_default()])
        }
    };
    InitConfig {
        module_path,
        sys_path,
        handler: handler.to_owned(),
        host: "localhost".into(),
        port: 6379,
        input_key: "metrics".into(),
        output_key: Some("output".into()),
        allow_nan: false,
        state_json: false,
        zip_path: None,
        max_payload: 64 << 20,
    }
}

pub(crate) fn run(args: &InvokeArgs) -> Result<(), CommandError> {
    let loaded = match load(&args.project_dir, args.env.as_deref()) {
        Ok(l) => l,
        Err(e) => return Err(CommandError::fatal(e)),
    };
    if let Some(f) = loaded.findings.first() {
        return Err(CommandError::fatal(format_args!("{}:{}:{}: {}", f.file, f.line, f.column, f.message)));
    }
    let Some(env) = loaded.envs.first() else {
        return Err(CommandError::fatal("the project has no environment to invoke"));
    };
    let inputs = match inputs(args) {
        Ok(i) => i,
        Err(e) => return Err(CommandError::fatal(e)),
    };
    let (expect_file, compare) = match (&args.expect, &args.expect_json) {
        (Some(p), _) => (Some(p), Compare::Bytes),
        (None, Some(p)) => (Some(p), Compare::Json),
        (None, None) => (None, Compare::Bytes),
    };
    let expected = match expect_file {
        Some(p) => match fs_err::read_to_string(p) {
            Ok(t) => Some(t.lines().map(str::to_owned).collect::<Vec<_>>()),
            Err(e) => return Err(CommandError::fatal(e)),
        },
        None => None,
    };
    // The checks `fnops validate` makes of the code, against the inputs of this run.
    for warning in handler_checks(&env.source, &env.project.function.handler, &inputs) {
        eprintln!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Err(CommandError::fatal(e)),
    };
    let mut init = init_config(&env.source, &env.project.function.handler);
    // As the rendered Deployment runs it: the course flavour writes NaN as the course runtime
    // did; the fnops flavour is strict unless `runtime.strictJson: false`.
    init.allow_nan = env.project.runtime.flavor == Flavor::Course || !env.project.runtime.strict_json;
    let expected = expected.as_deref().map(|e| (e, compare));
    runtime.block_on(invoke(&init, &inputs, expected, &args.python))
}

/// How `--expect` compares outputs.
#[derive(Clone, Copy)]
enum Compare {
    /// The exact bytes the runtime would write.
    Bytes,
    /// JSON values (`--expect-json`).
    Json,
}

/// `input-key-unknown` and `handler-import` on the project's own Python files, located in
/// them, the keys checked against this run's inputs.
fn handler_checks(source: &FunctionSource, handler: &str, inputs: &[String]) -> Vec<String> {
    let mut union = serde_json::Map::new();
    for input in inputs {
        if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(input) {
            union.extend(doc);
        }
    }
    let Some(keys) = InputKeys::from_json(&serde_json::Value::Object(union), "the inputs of this run") else {
        return Vec::new();
    };
    // (path shown, dotted module name, is a package, text)
    let mut files: Vec<(String, String, bool, String)> = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_default();
    let shown = |p: &std::path::Path| crate::paths::relative_to(p, &cwd);
    let (entry_module, function) = match source {
        FunctionSource::File { path, text } => {
            files.push((shown(path), "usermodule".into(), false, text.clone()));
            let function = handler.strip_prefix("usermodule.").unwrap_or(handler);
            (Some(0), function.rsplit('.').next().unwrap_or(function).to_owned())
        }
        FunctionSource::Dir { path } => {
            let base = path.parent().unwrap_or(path);
            for entry in walkdir::WalkDir::new(path).sort_by_file_name().into_iter().flatten() {
                let p = entry.path();
                if p.extension().is_none_or(|e| e != "py") || !entry.file_type().is_file() {
                    continue;
                }
                let Ok(text) = crate::files::read(p, Some(base), 1 << 20)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                else {
                    continue;
                };
                let rel = p.strip_prefix(base).unwrap_or(p).with_extension("");
                let mut dotted: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                let package = dotted.last().is_some_and(|l| l == "__init__");
                if package {
                    dotted.pop();
                }
                files.push((shown(p), dotted.join("."), package, text));
            }
            let (module, function) = handler.rsplit_once('.').unwrap_or(("", handler));
            (files.iter().position(|f| f.1 == module), function.to_owned())
        }
    };
    let modules: Vec<ModuleSource<'_>> = files
        .iter()
        .map(|(_, name, package, text)| ModuleSource { name: name.clone(), package: *package, text })
        .collect();
    let analysis = analyze_program(&modules, entry_module.map(|m| (m, function.as_str())));
    let mut out = Vec::new();
    for read in analysis.keys.iter().filter(|r| !keys.knows(r)) {
        let hint = keys.closest(&read.key).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
        out.push(format!(
            "warning[input-key-unknown]: {}:{}:{}: the handler reads `{}`, which the inputs of this run never hold{hint}",
            files[read.module].0, read.at.line, read.at.col, read.key
        ));
    }
    let (requirements, elsewhere) = (Default::default(), Default::default());
    let libraries = Libraries { requirements: &requirements, elsewhere: &elsewhere };
    for missing in libraries.unresolved(&analysis.imports) {
        let import = missing.import;
        out.push(format!(
            "warning[handler-import]: {}:{}:{}: `{}` cannot be imported in the runtime image: {}",
            files[import.module].0, import.at.line, import.at.col, import.written, missing.why
        ));
    }
    out
}

async fn invoke(
    init: &InitConfig,
    inputs: &[String],
    expected: Option<(&[String], Compare)>,
    python: &str,
) -> Result<(), CommandError> {
    let timeout = Duration::from_secs(600);
    // The handler's prints, on stderr beside the report.
    let spawn = Spawn::new(python, std::sync::Arc::new(|line: String| eprintln!("  | {line}")));
    let mut worker = match Worker::start(&spawn, init, timeout).await {
        Ok(w) => w,
        Err(e) => return Err(CommandError::fatal(format_args!("cannot load the handler: {e}"))),
    };
    let (mut failures, mut warned) = (0usize, false);
    let mut sizes: Vec<u64> = Vec::new();
    let mut report = String::new();
    for (i, input) in inputs.iter().enumerate() {
        let started = Instant::now();
        let result = worker.request(Request::Call(input.as_bytes()), timeout).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let (line, output) = match result {
            Err(e) => {
                failures += 1;
                (format!("call {}: worker failed: {e}", i + 1), None)
            }
            Ok(Reply::Failed(failed)) => {
                failures += 1;
                let detail = failed.traceback.map(|t| format!("\n{}", t.trim_end())).unwrap_or_default();
                let kind = format!("{:?}", failed.kind).to_lowercase();
                (format!("call {}: {kind} error: {}{detail}", i + 1, failed.error), None)
            }
            Ok(Reply::Called(called)) if !called.truthy => (
                format!("call {}: the result is falsy: nothing would be written", i + 1),
                Some(b"null".to_vec()),
            ),
            Ok(Reply::Called(called)) => {
                (String::from_utf8_lossy(&called.output).into_owned(), Some(called.output))
            }
            Ok(other) => {
                failures += 1;
                (format!("call {}: unexpected reply {other:?}", i + 1), None)
            }
        };
        let size = match worker.request(Request::EnvSize, timeout).await {
            Ok(Reply::EnvSize(bytes)) => Some(bytes),
            _ => None,
        };
        let size_text = size.map_or_else(|| "not picklable".to_owned(), |b| format!("{b} B"));
        report.push_str(&format!("{line}\n  # {ms:.2} ms, context.env {size_text}\n"));
        if let Some(now) = size {
            sizes.push(now);
            let recent = &sizes[sizes.len().saturating_sub(GROWTH_WARNING + 1)..];
            let growing = recent.len() == GROWTH_WARNING + 1 && recent.windows(2).all(|w| w[1] > w[0]);
            if growing && now >= 2 * recent[0] && now > GROWTH_MIN_BYTES && !warned {
                warned = true;
                report.push_str(&format!(
                    "  # warning: context.env grew on each of the last {GROWTH_WARNING} calls, from {} B to {now} B: state that grows forever ends in an OOM kill\n",
                    recent[0]
                ));
            }
        }
        if let Some((lines, compare)) = expected
            && let Some(exp) = lines.get(i)
        {
            let got = output.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let same = match compare {
                Compare::Bytes => got == exp.as_str(),
                Compare::Json => same_json(&got, exp),
            };
            if !same {
                failures += 1;
                let how = match compare {
                    Compare::Bytes => " (byte for byte; `--expect-json` compares values)",
                    Compare::Json => "",
                };
                report.push_str(&format!("  # expected{how}: {exp}\n"));
            }
        }
    }
    worker.kill().await;
    write_stdout(&report)?;
    eprintln!("{} calls, {failures} failed", inputs.len());
    if failures > 0 { Err(CommandError::invalid(None)) } else { Ok(()) }
}

/// Outputs compare as JSON values (so key order and spacing do not matter).
fn same_json(got: &str, expected: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(got),
        serde_json::from_str::<serde_json::Value>(expected),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => got.trim() == expected.trim(),
    }
}
