//! `fnops validate`: manifest trees and projects, all findings in one run, in any format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{CommandError, write_stdout};
use crate::cli::ValidateArgs;
use crate::finding::{Finding, Rule, Severity, Sources};
use crate::manifest::{self, Target};
use crate::paths;
use crate::pipeline::{self, PipelineError};
use crate::project::PROJECT_FILE;
use crate::report::{self, Format};
use crate::validate::python::InputKeys;
use crate::validate::{Doc, Options, SchemaSet, validate, validate_streamed};
use crate::yaml::Loc;

/// From this much manifest text on, parsed objects are not all kept: see
/// [`validate_streamed`]. `FNOPS_STREAM_FROM_BYTES` overrides it (tests set 0).
const STREAM_FROM_BYTES: usize = 32 << 20;

fn stream_from_bytes() -> usize {
    std::env::var("FNOPS_STREAM_FROM_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(STREAM_FROM_BYTES)
}

/// Everything one run checks, gathered before anything is reported.
#[derive(Default)]
struct Gathered {
    sources: Sources,
    findings: Vec<Finding>,
    /// Every file checked (JUnit reports passes too).
    files: Vec<String>,
    objects: usize,
    /// Every object checked (file, `kind/namespace/name`), when a JUnit report is asked for.
    listed: Vec<(String, String)>,
}

pub(crate) fn run(args: &ValidateArgs) -> Result<(), CommandError> {
    let mut reports = args.reports.clone();
    if reports.is_empty() {
        reports = args.format.iter().map(|f| (*f, None)).collect();
    }
    let explicit_reports = reports.len();
    if explicit_reports > args.format.len().max(1) || (args.format.is_empty() && !args.output.is_empty()) {
        return Err(CommandError::fatal("each `--output` needs a `--format` before it"));
    }
    if reports.is_empty() {
        reports.push((Format::Text, None));
    }
    let version = crate::validate::schema::resolve_version(args.kube_version.as_deref())
        .map_err(|e| CommandError::fatal(format_args!("`--kube-version`: {e}")))?;
    for note in &version.notes {
        eprintln!("warning: {note}");
    }
    let schemas = SchemaSet::open(version.bundled, &args.schema_dir).map_err(CommandError::fatal)?;
    let paths: Vec<PathBuf> = match &args.changed_since {
        Some(rev) => changed_files(rev, &args.paths).map_err(CommandError::fatal)?,
        None if args.paths.is_empty() => vec![PathBuf::from(".")],
        None => args.paths.clone(),
    };

    let mut run = Gathered::default();
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
            check_project(&path, &schemas, &mut run)?;
        } else {
            manifest_paths.push(path);
        }
    }
    let walked = manifest::expand(&manifest_paths).map_err(CommandError::fatal)?;
    if args.verbose {
        for (path, why) in &walked.skipped {
            eprintln!("skipped {}", manifest::describe_skip(path, why));
        }
    }
    for (path, why) in &walked.refused {
        let id = run.sources.add(path.clone(), String::new());
        run.findings.push(Finding::new(
            Rule::FileRefused,
            &run.sources,
            Loc { file: id, line: 1, col: 1, len: 1 },
            why.clone(),
        ));
    }
    // Files named one by one (pre-commit, a pull request's changes) bring their directories'
    // other manifests as context, so references resolve.
    let explicit: Vec<Target> = if args.no_context {
        Vec::new()
    } else {
        let named: BTreeSet<&Path> =
            manifest_paths.iter().filter(|p| !p.is_dir()).map(PathBuf::as_path).collect();
        walked.targets.iter().filter(|t| named.contains(t.path.as_path())).cloned().collect()
    };
    let context = manifest::siblings(&explicit).map_err(CommandError::fatal)?;
    let context_names: BTreeSet<String> = context.iter().map(|t| paths::display(&t.path)).collect();
    let all: Vec<Target> = walked.targets.iter().chain(context.iter()).cloned().collect();
    let read = manifest::read_all(&all, &mut run.sources).map_err(CommandError::fatal)?;
    run.files.extend(walked.targets.iter().map(|t| paths::display(&t.path)));
    run.findings.extend(read.findings);
    let input_keys = match &args.input_sample {
        Some(path) => Some(InputKeys::read(path).map_err(CommandError::fatal)?),
        None => None,
    };
    let opts = Options {
        schemas: Some(&schemas),
        externals: &args.external,
        ignore: &args.ignore,
        input_keys: input_keys.as_ref(),
        target: version.target,
    };
    let list_objects = reports.iter().any(|(f, _)| *f == Format::Junit);
    let bytes: usize = read.ids.iter().map(|&id| run.sources.text(id).len()).sum();
    if bytes >= stream_from_bytes() {
        // Too big to hold parsed: index, then check file by file (each file parsed twice).
        let (found, objects, listed) = validate_streamed(
            &read.ids,
            &run.sources,
            &opts,
            |id| manifest::parse_file(id, &run.sources),
            list_objects,
        );
        run.findings.extend(found);
        run.objects += objects;
        run.listed.extend(listed.into_iter().map(|(file, id)| (run.sources.display(file), id)));
    } else {
        let (nodes, syntax) = manifest::parse_all(&read.ids, &run.sources);
        run.findings.extend(syntax);
        let docs: Vec<Doc<'_>> = nodes.iter().map(|node| Doc { node }).collect();
        run.findings.extend(validate(&docs, &run.sources, &opts));
        run.objects += docs.len();
        if list_objects {
            run.listed.extend(docs.iter().map(|d| (run.sources.display(d.node.loc.file), d.id())));
        }
    }
    if let Some(broken) = schemas.broken() {
        return Err(CommandError::fatal(broken));
    }
    let Gathered { sources, mut findings, files, objects, mut listed } = run;
    listed.retain(|(file, _)| !context_names.contains(file));
    findings.retain(|f| !args.ignore.iter().any(|r| r == f.rule.id()));
    // Context files report only what the given files can have broken in them: references to
    // the ConfigMaps the given files hold.
    if !context_names.is_empty() {
        let named = named_configmaps(&explicit, &sources);
        findings.retain(|f| {
            !context_names.contains(&f.file) || f.refers_to.as_ref().is_some_and(|cm| named.contains(cm))
        });
    }
    crate::finding::sort_dedup(&mut findings);

    let checked = report::Checked { files, objects: listed };
    for (format, output) in &reports {
        let text = report::render(*format, &findings, &sources, &checked);
        match output {
            Some(path) => fs_err::write(path, text).map_err(CommandError::fatal)?,
            None => write_stdout(&text)?,
        }
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    let files = checked.files;
    let with_context =
        if context.is_empty() { String::new() } else { format!(" (with {} for context)", context.len()) };
    let skipped = walked.skipped_summary().map(|s| format!("; skipped {s}")).unwrap_or_default();
    eprintln!(
        "checked {objects} documents in {} files{with_context} against Kubernetes {}: {errors} errors, {warnings} warnings{skipped}",
        files.len(),
        schemas.version()
    );
    if errors > 0 || (args.strict_warnings && warnings > 0) {
        Err(CommandError::invalid(None))
    } else {
        Ok(())
    }
}

/// The names of the ConfigMaps the named files hold.
fn named_configmaps(named: &[Target], sources: &Sources) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for target in named {
        let Some(id) = sources.id_of(&paths::display(&target.path)) else { continue };
        let Ok(nodes) = manifest::parse_file(id, sources) else { continue };
        for node in &nodes {
            let doc = Doc { node };
            if doc.kind() == Some("ConfigMap")
                && let Some(name) = doc.name()
            {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// A project: its file, its environments and the render, in memory. The rendered objects and
/// the project's own files count as checked.
fn check_project(path: &Path, schemas: &SchemaSet, run: &mut Gathered) -> Result<(), CommandError> {
    let request = pipeline::Request {
        project_dir: path,
        env: None,
        out: None,
        templates: None,
        schemas,
        default_namespace: None,
    };
    match pipeline::build(&request) {
        Ok(built) => {
            for note in &built.notes {
                eprintln!("warning: {note}");
            }
            run.sources.extend(&built.sources);
            run.files.extend(built.sources.names().filter(|n| !n.is_empty()).map(str::to_owned));
            run.objects += built.files.len();
            run.listed.extend(
                built
                    .files
                    .iter()
                    .map(|f| (built.sources.display(f.object.loc.file), Doc { node: &f.object }.id())),
            );
            run.findings.extend(built.findings);
            Ok(())
        }
        Err(PipelineError::Invalid { sources, findings }) => {
            run.sources.extend(&sources);
            run.files.extend(sources.names().map(str::to_owned));
            run.findings.extend(findings);
            Ok(())
        }
        Err(e @ PipelineError::Render(_)) => Err(CommandError::invalid(e.to_string())),
        Err(e) => Err(CommandError::fatal(e)),
    }
}

/// Manifest files added, copied, modified or renamed since `rev` (deleted ones cannot be
/// checked, but their referrers are, through the directory context), under `within` if given.
fn changed_files(rev: &str, within: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    // A revision is never an option: `--changed-since=--output=x` must not reach git as one.
    let rev = crate::git::revision(rev).map_err(|e| format!("`--changed-since`: {e}"))?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let git = |args: &[&str]| crate::git::run(&cwd, args).map_err(|e| e.to_string());
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?.trim());
    let listed = git(&["diff", "--name-only", "--diff-filter=ACMRT", "-z", "--end-of-options", rev, "--"])?;
    let within: Vec<PathBuf> = within.iter().map(|p| paths::absolute(p)).collect();
    let mut files = Vec::new();
    for name in listed.split('\0').filter(|n| !n.is_empty()) {
        let abs = top.join(name);
        let is_manifest =
            abs.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if !is_manifest || !abs.is_file() || !(within.is_empty() || within.iter().any(|w| abs.starts_with(w)))
        {
            continue;
        }
        files.push(abs.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(abs));
    }
    Ok(files)
}
