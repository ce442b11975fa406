//! `fnops validate`: manifest trees and projects, all findings in one run, in any format.

use std::path::PathBuf;

use super::{ExitStatus, build_project, fail, print_stdout};
use crate::cli::ValidateArgs;
use crate::finding::{Finding, Severity, Sources};
use crate::manifest;
use crate::project::PROJECT_FILE;
use crate::report::{self, Format};
use crate::validate::{Doc, Options, SchemaSet, validate, validate_streamed};

/// From this much manifest text on, parsed objects are not all kept: see
/// [`validate_streamed`]. `FNOPS_STREAM_FROM_BYTES` overrides it (tests set 0).
const STREAM_FROM_BYTES: usize = 32 << 20;

fn stream_from_bytes() -> usize {
    std::env::var("FNOPS_STREAM_FROM_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(STREAM_FROM_BYTES)
}

pub(crate) fn run(args: &ValidateArgs) -> ExitStatus {
    let mut reports = args.reports.clone();
    if reports.is_empty() {
        reports = args.format.iter().map(|f| (*f, None)).collect();
    }
    if reports.len() > args.format.len().max(1) || (args.format.is_empty() && !args.output.is_empty()) {
        return fail("each `--output` needs a `--format` before it");
    }
    let version = match crate::validate::schema::resolve_version(args.kube_version.as_deref()) {
        Ok(v) => v,
        Err(e) => return fail(format_args!("`--kube-version`: {e}")),
    };
    let schemas = SchemaSet::new(version, args.schema_dir.clone());
    let paths: Vec<PathBuf> = match &args.changed_since {
        Some(rev) => match changed_files(rev, &args.paths) {
            Ok(files) => files,
            Err(e) => return fail(e),
        },
        None if args.paths.is_empty() => vec![PathBuf::from(".")],
        None => args.paths.clone(),
    };

    let mut sources = Sources::default();
    let mut findings: Vec<Finding> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut manifest_paths = Vec::new();
    for path in paths {
        // `fnops.yaml` itself (as pre-commit passes it) means its project.
        let path = match path.file_name() {
            Some(name) if name == PROJECT_FILE && path.is_file() => path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
            _ => path,
        };
        if path.is_dir() && path.join(PROJECT_FILE).is_file() {
            // A project: its file, its environments and the render, in memory.
            match build_project(&path, None, None, None, &schemas, None) {
                Ok(built) => {
                    sources.extend(&built.sources);
                    files.extend(built.files.iter().map(|f| f.path.clone()));
                    findings.extend(built.findings);
                }
                Err((ExitStatus::Error, ..)) => return ExitStatus::Error,
                Err((_, project_sources, project_findings)) => {
                    sources.extend(&project_sources);
                    findings.extend(project_findings);
                }
            }
        } else {
            manifest_paths.push(path);
        }
    }
    let expanded = match manifest::expand(&manifest_paths) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    // Files named one by one (pre-commit, a pull request's changes) bring their directories'
    // other manifests as context, so references resolve.
    let explicit: Vec<PathBuf> = if args.no_context {
        Vec::new()
    } else {
        manifest_paths.iter().filter(|p| !p.is_dir()).cloned().collect()
    };
    let context = match manifest::siblings(&explicit) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let context_names: std::collections::BTreeSet<String> =
        context.iter().map(|p| manifest::display(p)).collect();
    let all: Vec<PathBuf> = expanded.iter().chain(context.iter()).cloned().collect();
    let read = match manifest::read_all(&all, &mut sources) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    files.extend(
        expanded
            .iter()
            .map(|p| if p.as_os_str() == "-" { "<stdin>".into() } else { p.display().to_string() }),
    );
    findings.extend(read.findings);
    let input_keys = match &args.input_sample {
        Some(path) => match read_input_sample(path) {
            Ok(keys) => Some(keys),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let opts = Options {
        schemas: Some(&schemas),
        externals: &args.external,
        ignore: &args.ignore,
        input_keys: input_keys.as_ref(),
    };
    let bytes: usize = read.ids.iter().map(|&id| sources.text(id).len()).sum();
    let objects = if bytes >= stream_from_bytes() {
        // Too big to hold parsed: index, then check file by file (each file parsed twice).
        let (found, objects) =
            validate_streamed(&read.ids, &sources, &opts, |id| manifest::parse_file(id, &sources));
        findings.extend(found);
        objects
    } else {
        let (nodes, syntax) = manifest::parse_all(&read.ids, &sources);
        findings.extend(syntax);
        let docs: Vec<Doc<'_>> = nodes.iter().map(|node| Doc { node }).collect();
        findings.extend(validate(&docs, &sources, &opts));
        docs.len()
    };
    findings.retain(|f| !args.ignore.iter().any(|r| r == f.rule));
    // Context files report only what the given files can have broken in them: references.
    findings.retain(|f| {
        !context_names.contains(&f.file)
            || matches!(f.rule, "ref-missing-configmap" | "ref-missing-key" | "subpath-key")
    });
    crate::finding::sort_dedup(&mut findings);

    if reports.is_empty() {
        reports.push((Format::Text, None));
    }
    for (format, output) in &reports {
        let text = report::render(*format, &findings, &sources, &files);
        match output {
            Some(path) => {
                if let Err(e) = std::fs::write(path, text) {
                    return fail(format_args!("cannot write `{}`: {e}", path.display()));
                }
            }
            None => print_stdout(&text),
        }
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    let with_context =
        if context.is_empty() { String::new() } else { format!(" (with {} for context)", context.len()) };
    eprintln!(
        "checked {} documents in {} files{with_context} against Kubernetes {}: {errors} errors, {warnings} warnings",
        objects,
        read.ids.len() - context.len(),
        schemas.version()
    );
    if errors > 0 || (args.strict_warnings && warnings > 0) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

/// The keys of a sample input document (a JSON object).
pub(crate) fn read_input_sample(
    path: &std::path::Path,
) -> Result<crate::validate::python::InputKeys, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))?;
    crate::validate::python::InputKeys::from_json(&value, format!("`{}`", path.display()))
        .ok_or_else(|| format!("`{}` is not a JSON object", path.display()))
}

/// Manifest files added, copied, modified or renamed since `rev` (deleted ones cannot be
/// checked, but their referrers are, through the directory context), under `within` if given.
fn changed_files(rev: &str, within: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| format!("`--changed-since` needs git: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?.trim());
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let listed = git(&["diff", "--name-only", "--diff-filter=ACMRT", "-z", rev, "--"])?;
    let within: Vec<PathBuf> = within.iter().map(|p| crate::tree::absolute(p)).collect();
    let mut files = Vec::new();
    for name in listed.split('\0').filter(|n| !n.is_empty()) {
        let abs = top.join(name);
        let is_manifest =
            abs.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if !is_manifest || !abs.is_file() || !(within.is_empty() || within.iter().any(|w| abs.starts_with(w)))
        {
            continue;
        }
        files.push(abs.strip_prefix(&cwd).map(std::path::Path::to_path_buf).unwrap_or(abs));
    }
    Ok(files)
}
