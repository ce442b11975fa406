//! `fnops validate`: manifest trees and projects, all findings in one run, in any format.

use std::collections::BTreeSet;
use std::io::Read as _;
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
use crate::validate::{Doc, Options, SchemaSet, validate};
use crate::yaml::Loc;

/// From this much manifest text on (about 7,000 course-shaped objects), parsed objects are not
/// all kept: see [`streamed`]. Keeping them saves the second parse (about 12 % of the CPU at
/// 10,000 objects) and costs 4× the memory (117 MiB against 26), so only small trees keep them.
/// `FNOPS_STREAM_FROM_BYTES` overrides it (tests set 0).
const STREAM_FROM_BYTES: usize = 8 << 20;

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
    // A big tree of files (not stdin, no project) is checked file by file: see `streamed`.
    let on_disk: u64 = all.iter().map(|t| fs_err::metadata(&t.path).map_or(0, |m| m.len())).sum();
    let stdin = all.iter().any(|t| t.path.as_os_str() == "-");
    let plain = run.files.is_empty() && run.findings.is_empty();
    // Standard input counts by what it holds: its start is read to see, and a big stream is
    // spooled to a temporary file as the index pass reads it (the check pass reads it again).
    let mut spool = None;
    let mut big = on_disk >= stream_from_bytes() as u64;
    if stdin && plain {
        let want = (stream_from_bytes() as u64).saturating_sub(on_disk);
        let mut head = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin().lock(), want), &mut head)
            .map_err(|e| CommandError::fatal(format!("<stdin>: {e}")))?;
        if head.len() as u64 >= want {
            big = true;
            spool = Some(StdinSpool::new(head).map_err(CommandError::fatal)?);
        } else {
            manifest::stdin_was_read(head);
        }
    }
    if plain && big && (!stdin || spool.is_some()) {
        let context_len = context.len();
        let plan = Plan {
            args,
            reports: &reports,
            walked: &walked,
            all,
            context_names,
            explicit,
            opts,
            schemas: &schemas,
            spool,
        };
        let (errors, warnings, objects, files) = streamed(plan)?;
        return conclude(
            args,
            Summary {
                errors,
                warnings,
                objects,
                files,
                context: context_len,
                walked: &walked,
                version: schemas.version(),
            },
        );
    }
    let read = manifest::read_all(&all, &mut run.sources).map_err(CommandError::fatal)?;
    run.files.extend(walked.targets.iter().map(|t| paths::display(&t.path)));
    run.findings.extend(read.findings);
    {
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
    let summary = Summary {
        errors,
        warnings,
        objects,
        files: checked.files.len(),
        context: context.len(),
        walked: &walked,
        version: schemas.version(),
    };
    conclude(args, summary)
}

/// What a run found, for the last line and the exit code.
struct Summary<'a> {
    errors: usize,
    warnings: usize,
    objects: usize,
    files: usize,
    context: usize,
    walked: &'a manifest::Walked,
    version: &'a str,
}

fn conclude(args: &ValidateArgs, s: Summary<'_>) -> Result<(), CommandError> {
    let with_context =
        if s.context == 0 { String::new() } else { format!(" (with {} for context)", s.context) };
    let skipped = s.walked.skipped_summary().map(|x| format!("; skipped {x}")).unwrap_or_default();
    eprintln!(
        "checked {} documents in {} files{with_context} against Kubernetes {}: {} errors, {} warnings{skipped}",
        s.objects, s.files, s.version, s.errors, s.warnings
    );
    if s.errors > 0 || (args.strict_warnings && s.warnings > 0) {
        Err(CommandError::invalid(None))
    } else {
        Ok(())
    }
}

/// How much of a file one part of a streamed run holds: `validate::PART_BYTES`, or
/// `FNOPS_STREAM_PART_BYTES` (tests set 1 to cut a file at every document).
fn part_bytes() -> usize {
    std::env::var("FNOPS_STREAM_PART_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(crate::validate::PART_BYTES)
}

/// Everything a streamed run needs.
struct Plan<'a> {
    args: &'a ValidateArgs,
    reports: &'a [(Format, Option<PathBuf>)],
    walked: &'a manifest::Walked,
    all: Vec<Target>,
    context_names: BTreeSet<String>,
    explicit: Vec<Target>,
    opts: Options<'a>,
    schemas: &'a SchemaSet,
    /// Standard input, when it is one of the files.
    spool: Option<StdinSpool>,
}

/// Standard input in a streamed run: read once, by the index pass, through a copy into a
/// temporary file (removed when the run ends), which the check pass reads. What was read to
/// see how big it is goes to the file first, so memory never holds it.
struct StdinSpool {
    copy: tempfile::NamedTempFile,
    /// The bytes read ahead, until the index pass has read them back.
    head: std::sync::Mutex<Option<u64>>,
}

impl StdinSpool {
    fn new(head: Vec<u8>) -> Result<StdinSpool, String> {
        let io = |e: std::io::Error| format!("a temporary file for <stdin>: {e}");
        let mut copy = tempfile::NamedTempFile::new().map_err(io)?;
        std::io::Write::write_all(&mut copy, &head).map_err(io)?;
        Ok(StdinSpool { copy, head: std::sync::Mutex::new(Some(head.len() as u64)) })
    }

    /// The first call reads what was read ahead, then the rest of stdin (copying it); later
    /// calls read the copy.
    fn open(&self) -> Result<Box<dyn std::io::BufRead + Send>, String> {
        let io = |e: std::io::Error| format!("<stdin>: {e}");
        let from_start = self.copy.reopen().map_err(io)?;
        let head = self.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let reader: Box<dyn std::io::Read + Send> = match head {
            Some(len) => {
                let mut copy = self.copy.reopen().map_err(io)?;
                std::io::Seek::seek(&mut copy, std::io::SeekFrom::End(0)).map_err(io)?;
                Box::new(from_start.take(len).chain(Tee { input: std::io::stdin(), copy }))
            }
            None => Box::new(from_start),
        };
        Ok(Box::new(std::io::BufReader::with_capacity(64 << 10, reader)))
    }
}

/// A reader that writes what it reads to `copy`.
struct Tee<R> {
    input: R,
    copy: std::fs::File,
}

impl<R: std::io::Read> std::io::Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        std::io::Write::write_all(&mut self.copy, &buf[..n])?;
        Ok(n)
    }
}

/// A big tree, file by file, in bounded memory: an index pass (each file read, parsed, indexed,
/// dropped), then a check pass (each file read again, checked, its findings handed to the report
/// writers with their snippets, dropped). Memory holds the index and a few files, not the tree;
/// the reports are the ones the in-memory run writes (a test compares them). Returns errors,
/// warnings, objects and files.
fn streamed(plan: Plan<'_>) -> Result<(usize, usize, usize, usize), CommandError> {
    let Plan { args, reports, walked, mut all, context_names, explicit, opts, schemas, spool } = plan;
    // Files in the order reports sort them, so file-by-file output is the sorted output.
    all.sort_by_cached_key(|t| paths::display(&t.path));
    all.dedup_by(|a, b| a.path == b.path);
    // Files are read a part at a time (see `validate::streamed`): no cap on a file's size, only
    // on a document's.
    let part_bytes = part_bytes();
    let open = |i: usize| -> Result<crate::validate::FileSource, String> {
        let t = &all[i];
        let reader: Box<dyn std::io::BufRead + Send> =
            match spool.as_ref().filter(|_| t.path.as_os_str() == "-") {
                Some(spool) => spool.open()?,
                None => {
                    let canonical = crate::files::resolve(&t.path, t.root.as_deref(), false)
                        .map_err(|e| e.to_string())?;
                    let file = fs_err::File::open(canonical).map_err(|e| e.to_string())?;
                    Box::new(std::io::BufReader::with_capacity(64 << 10, file))
                }
            };
        Ok(crate::validate::FileSource {
            display: paths::display(&t.path),
            reader,
            cap: manifest::MAX_FILE_BYTES,
            part_bytes,
        })
    };
    let index = crate::validate::index_files(all.len(), open).map_err(CommandError::fatal)?;
    let configmaps = &index.configmaps;
    let named: BTreeSet<String> = {
        let named_paths: BTreeSet<&Path> = explicit.iter().map(|t| t.path.as_path()).collect();
        all.iter()
            .zip(configmaps)
            .filter(|(t, _)| named_paths.contains(t.path.as_path()))
            .flat_map(|(_, c)| c.iter().cloned())
            .collect()
    };
    let mut out = report::stream::Streamed::open(reports).map_err(CommandError::fatal)?;
    // Refused entries of the walk are reported at their place in the order.
    let mut refused: Vec<(String, String)> = walked.refused.clone();
    refused.sort();
    let mut refused = refused.into_iter().peekable();
    let (mut errors, mut warnings, mut objects, mut files) = (0, 0, 0, 0);
    let mut tally = |findings: &[Finding]| {
        let e = findings.iter().filter(|f| f.severity == Severity::Error).count();
        errors += e;
        warnings += findings.len() - e;
    };
    let refused_finding = |path: &str, why: &str| {
        let mut sources = Sources::default();
        let id = sources.add(path.to_owned(), String::new());
        Finding::new(Rule::FileRefused, &sources, Loc { file: id, line: 1, col: 1, len: 1 }, why.to_owned())
    };
    let ignored = |f: &Finding| args.ignore.iter().any(|r| r == f.rule.id());
    crate::validate::check_files(all.len(), open, &index, &opts, |mut file| {
        while let Some((path, why)) = refused.next_if(|(p, _)| file.first && *p < file.display) {
            let found: Vec<Finding> =
                std::iter::once(refused_finding(&path, &why)).filter(|f| !ignored(f)).collect();
            tally(&found);
            out.file(&found, Vec::new())?;
        }
        objects += file.objects.len();
        let context = context_names.contains(&file.display);
        if context {
            file.findings.retain(|f| f.refers_to.as_ref().is_some_and(|cm| named.contains(cm)));
        } else if file.first {
            files += 1;
            out.checked_file(file.display.clone());
        }
        tally(&file.findings);
        let listed: Vec<(String, String)> = if context {
            Vec::new()
        } else {
            file.objects.into_iter().map(|id| (file.display.clone(), id)).collect()
        };
        out.file(&file.findings, listed)
    })
    .map_err(CommandError::fatal)?;
    for (path, why) in refused {
        let found: Vec<Finding> =
            std::iter::once(refused_finding(&path, &why)).filter(|f| !ignored(f)).collect();
        tally(&found);
        out.file(&found, Vec::new()).map_err(CommandError::fatal)?;
    }
    if let Some(broken) = schemas.broken() {
        return Err(CommandError::fatal(broken));
    }
    out.finish().map_err(CommandError::fatal)?;
    Ok((errors, warnings, objects, files))
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
