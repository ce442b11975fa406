//! Manifest trees as Kubernetes reads them: files and directories walked for `.yaml`, `.yml` and
//! `.json`, or stdin; multi-document streams with CRLF, a BOM, leading `---` and comment-only
//! documents; YAML 1.1 scalars; every node with its position.
//!
//! Files that are not manifests (Helm charts, kustomizations, other tools' files) are skipped
//! and listed: see [`classify`].
//!
//! Each path given is read under a root (the Git repository holding it, else its directory): a
//! link is followed only when it stays inside, and special files are never read (see
//! [`crate::files`]). In a walked directory, such an entry, or a directory that cannot be read,
//! is reported and the walk goes on.

pub mod classify;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::files::{self, FileError};
use crate::finding::{Finding, Rule, Sources};
use crate::paths;
use crate::yaml::{Loc, Node, Part, Schema, YamlError, parse_part, parse_stream};

/// Largest manifest file read (a ConfigMap is at most 1 MiB; this leaves room for big lists).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The documents of every file, each file registered in `sources`.
pub struct Loaded {
    pub docs: Vec<Node>,
    pub findings: Vec<Finding>,
    pub files: usize,
}

fn is_manifest_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// One file to read, and the root its links may not leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub root: Option<PathBuf>,
}

impl Target {
    fn stdin() -> Target {
        Target { path: PathBuf::from("-"), root: None }
    }
}

/// What a walk found: the files, and what it refused or could not read (as findings).
#[derive(Debug, Default)]
pub struct Walked {
    pub targets: Vec<Target>,
    /// (path, why) of walked entries that were not read.
    pub refused: Vec<(String, String)>,
    /// (path, why) of files (and charts, by directory) that are not manifests.
    pub skipped: Vec<(String, classify::Skip)>,
}

impl Walked {
    /// "1 Helm chart, 2 kustomizations, 3 files that are not manifests", or `None`.
    pub fn skipped_summary(&self) -> Option<String> {
        use classify::Skip;
        let mut charts = std::collections::BTreeSet::new();
        let mut kustomizations = std::collections::BTreeSet::new();
        let mut others = 0;
        for (_, why) in &self.skipped {
            match why {
                Skip::HelmChart(dir) => {
                    charts.insert(dir.clone());
                }
                Skip::Kustomization(dir) => {
                    kustomizations.insert(dir.clone());
                }
                Skip::KustomizePatch(_) | Skip::Other(_) => others += 1,
            }
        }
        let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let parts: Vec<String> = [
            (charts.len(), "Helm chart", "Helm charts"),
            (kustomizations.len(), "kustomization", "kustomizations"),
            (others, "file that is not a manifest", "files that are not manifests"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| count(n, one, many))
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// How a skipped entry is listed by `--verbose`.
pub fn describe_skip(path: &str, why: &classify::Skip) -> String {
    use classify::Skip;
    match why {
        Skip::HelmChart(dir) if paths::display(dir) == path => {
            format!("`{path}`: a Helm chart (not rendered)")
        }
        Skip::HelmChart(dir) => format!("`{path}`: part of the Helm chart `{}`", paths::display(dir)),
        Skip::Kustomization(dir) => {
            format!("`{path}`: part of the kustomization in `{}` (not rendered)", paths::display(dir))
        }
        Skip::KustomizePatch(dir) => {
            format!("`{path}`: a patch the kustomization in `{}` lists", paths::display(dir))
        }
        Skip::Other(what) => format!("`{path}`: {what}"),
    }
}

/// The root of a path given on the command line: the Git repository above it, else its own
/// directory (a file's parent, or the directory itself), canonical.
pub fn root_of(path: &Path) -> Option<PathBuf> {
    let lexical = paths::lexical(path);
    let base = if lexical.is_dir() { lexical.clone() } else { lexical.parent().map(Path::to_path_buf)? };
    let root = paths::repo_root(&base).unwrap_or(base);
    root.canonicalize().ok()
}

/// Expand paths: files as given (refused with an error when they cannot be read), directories
/// walked (sorted, hidden entries skipped; refused entries reported); files that are not
/// manifests are set aside in [`Walked::skipped`], named ones too (pre-commit passes every
/// changed YAML file).
pub fn expand(paths: &[PathBuf]) -> Result<Walked, ManifestError> {
    let mut walked = Walked::default();
    let mut classifier = classify::Classifier::default();
    for path in paths {
        if path.as_os_str() == "-" {
            walked.targets.push(Target::stdin());
            continue;
        }
        let root = root_of(path);
        let resolved = files::resolve(path, root.as_deref(), true)?;
        if !resolved.is_dir() {
            match classifier.classify(path, root.as_deref()) {
                Some(why) => walked.skipped.push((paths::display(path), why)),
                None => walked.targets.push(Target { path: path.clone(), root }),
            }
            continue;
        }
        walk(path, root, &mut walked, &mut classifier);
    }
    // Patches listed by a kustomization seen after them.
    let (patches, targets): (Vec<Target>, Vec<Target>) =
        walked.targets.drain(..).partition(|t| classifier.patch_owner(&t.path).is_some());
    walked.targets = targets;
    for t in patches {
        if let Some(owner) = classifier.patch_owner(&t.path) {
            walked.skipped.push((paths::display(&t.path), classify::Skip::KustomizePatch(owner.clone())));
        }
    }
    Ok(walked)
}

fn walk(dir: &Path, root: Option<PathBuf>, walked: &mut Walked, classifier: &mut classify::Classifier) {
    let mut walker = walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 0
            || !(name.starts_with('.')
                || (e.file_type().is_dir() && classify::IGNORED_DIRS.contains(&name.as_ref())))
    });
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let at = e.path().map_or_else(|| paths::display(dir), paths::display);
                let why = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                walked.refused.push((at.clone(), format!("cannot read `{at}`: {why}")));
                continue;
            }
        };
        let path = entry.path();
        if entry.file_type().is_dir() {
            if classifier.is_chart(path) {
                walked.skipped.push((paths::display(path), classify::Skip::HelmChart(path.to_path_buf())));
                walker.skip_current_dir();
            }
            continue;
        }
        if !is_manifest_file(path) && path.file_name().is_none_or(|n| n != "Kustomization") {
            continue;
        }
        if let Some(why) = classifier.classify(path, root.as_deref()) {
            walked.skipped.push((paths::display(path), why));
            continue;
        }
        let ft = entry.file_type();
        if ft.is_file() {
            walked.targets.push(Target { path: path.to_path_buf(), root: root.clone() });
        } else if ft.is_symlink() || !ft.is_dir() {
            // A link is followed when it stays inside the root; anything else is reported.
            match files::resolve(path, root.as_deref(), false) {
                Ok(_) => walked.targets.push(Target { path: path.to_path_buf(), root: root.clone() }),
                Err(e) => walked.refused.push((paths::display(path), e.to_string())),
            }
        }
    }
}

/// The other manifest files in the directories of the given files (not recursive): the
/// context that lets references from and to the given files resolve.
pub fn siblings(given: &[Target]) -> Result<Vec<Target>, ManifestError> {
    let mut dirs: Vec<(PathBuf, Option<PathBuf>)> = given
        .iter()
        .filter(|t| t.path.as_os_str() != "-")
        .map(|t| {
            let dir = t
                .path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (dir, t.root.clone())
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let given_canonical: Vec<PathBuf> = given.iter().filter_map(|t| t.path.canonicalize().ok()).collect();
    let mut classifier = classify::Classifier::default();
    let mut found = Vec::new();
    for (dir, root) in dirs {
        let entries = fs_err::read_dir(&dir)
            .map_err(|e| ManifestError::Io { path: paths::display(&dir), source: e })?;
        let mut names: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || !is_manifest_file(&path) || given.iter().any(|g| g.path == path) {
                continue;
            }
            if classifier.classify(&path, root.as_deref()).is_some() {
                continue;
            }
            // Context is best effort: what cannot be read safely is left out.
            let Ok(canonical) = files::resolve(&path, root.as_deref(), false) else { continue };
            if !given_canonical.contains(&canonical) {
                found.push(Target { path, root: root.clone() });
            }
        }
    }
    Ok(found)
}

/// Standard input when a command has already read it (to see how big it is).
static STDIN: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(None);

/// Hand stdin's bytes, already read, to the reading of target `-`.
pub fn stdin_was_read(bytes: Vec<u8>) {
    *STDIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes);
}

fn read(target: &Target) -> Result<Vec<u8>, FileError> {
    if target.path.as_os_str() == "-" {
        if let Some(bytes) = STDIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            return Ok(bytes);
        }
        return files::read_stream(std::io::stdin().lock(), "<stdin>", MAX_FILE_BYTES);
    }
    files::read(&target.path, target.root.as_deref(), MAX_FILE_BYTES)
}

/// Read and parse `files` (in parallel); syntax errors become findings.
pub fn load(files: &[PathBuf], sources: &mut Sources) -> Result<Loaded, ManifestError> {
    let targets: Vec<Target> = files
        .iter()
        .map(|p| Target { path: p.clone(), root: (p.as_os_str() != "-").then(|| root_of(p)).flatten() })
        .collect();
    let read = read_all(&targets, sources)?;
    let (docs, mut findings) = parse_all(&read.ids, sources);
    let mut all = read.findings;
    all.append(&mut findings);
    Ok(Loaded { docs, findings: all, files: read.ids.len() })
}

/// The files read into `sources`, not parsed yet.
pub struct Read {
    /// Source ids of the files that are text, in the order given.
    pub ids: Vec<u32>,
    /// Files that are not UTF-8.
    pub findings: Vec<Finding>,
}

/// Register a file that is not UTF-8 under `name` (its valid prefix, for the snippet) and the
/// position of its first bad byte.
pub fn register_not_utf8(sources: &mut Sources, name: String, e: std::string::FromUtf8Error) -> (u32, Loc) {
    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
    let prefix = String::from_utf8_lossy(valid).into_owned();
    let line = prefix.matches('\n').count() as u32 + 1;
    let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    let id = sources.add(name, prefix);
    (id, Loc { file: id, line, col, len: 1 })
}

/// Read `files` (in parallel when there are many) into `sources`.
pub fn read_all(files: &[Target], sources: &mut Sources) -> Result<Read, ManifestError> {
    let small = files.len() < crate::validate::PARALLEL_FROM;
    let read_one = |t: &Target| read(t).map(|bytes| (paths::display(&t.path), bytes));
    let texts: Vec<Result<(String, Vec<u8>), FileError>> =
        if small { files.iter().map(read_one).collect() } else { files.par_iter().map(read_one).collect() };
    let mut ids = Vec::with_capacity(texts.len());
    let mut findings = Vec::new();
    for text in texts {
        let (name, bytes) = text?;
        match String::from_utf8(bytes) {
            Ok(text) => ids.push(sources.add(name, text)),
            Err(e) => {
                // Report the first bad byte where it is; the file is not parsed.
                let (_, loc) = register_not_utf8(sources, name, e);
                findings.push(Finding::new(Rule::YamlSyntax, sources, loc, "the file is not valid UTF-8"));
            }
        }
    }
    Ok(Read { ids, findings })
}

/// Parse the files `ids` of `sources` (in parallel when there are many); syntax errors become
/// findings.
pub fn parse_all(ids: &[u32], sources: &Sources) -> (Vec<Node>, Vec<Finding>) {
    let progress = Progress::start("parsing", ids.len());
    let parse = |&id: &u32| {
        let result = parse_file(id, sources);
        progress.tick();
        result
    };
    let parsed: Vec<Result<Vec<Node>, YamlError>> = if ids.len() < crate::validate::PARALLEL_FROM {
        ids.iter().map(parse).collect()
    } else {
        ids.par_iter().map(parse).collect()
    };
    progress.finish();
    let mut docs = Vec::new();
    let mut findings = Vec::new();
    for result in parsed {
        match result {
            Ok(d) => docs.extend(d),
            Err(e) => findings.push(Finding::new(e.rule, sources, e.loc, e.message)),
        }
    }
    (docs, findings)
}

/// The documents of one file, as Kubernetes reads them.
pub fn parse_file(id: u32, sources: &Sources) -> Result<Vec<Node>, YamlError> {
    parse_stream(sources.text(id), id, Schema::Kubernetes11)
}

/// The documents of one part of a file as Kubernetes reads them, one at a time (see
/// [`parse_part`]); `part` carries what the file's earlier parts used of its budgets.
pub fn parse_file_part(
    id: u32,
    sources: &Sources,
    part: &mut Part,
    each: impl FnMut(Node),
) -> Result<(), YamlError> {
    part.lines_before = sources.lines_before(id);
    parse_part(sources.text(id), id, Schema::Kubernetes11, part, each)
}

/// A progress line on stderr for long runs, only when stderr is a terminal (never in pipes or
/// CI logs). Workers tick an atomic counter; one thread redraws every 100 ms.
pub struct Progress {
    done: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    drawer: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Shown for at least this many items.
    const MIN_ITEMS: usize = 500;

    pub fn start(what: &'static str, total: usize) -> Progress {
        use std::io::IsTerminal as _;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        if total < Self::MIN_ITEMS || !std::io::stderr().is_terminal() {
            return Progress { done, stop: None, drawer: None };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let counter = done.clone();
        let drawer = std::thread::spawn(move || {
            loop {
                let n = counter.load(std::sync::atomic::Ordering::Relaxed);
                let width = 30;
                let filled = n * width / total.max(1);
                eprint!(
                    "\r{what} [{}{}] {n}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled.min(width))
                );
                if rx.recv_timeout(std::time::Duration::from_millis(100)).is_ok() {
                    eprint!("\r\x1b[2K");
                    return;
                }
            }
        });
        Progress { done, stop: Some(tx), drawer: Some(drawer) }
    }

    pub fn tick(&self) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn finish(mut self) {
        if let (Some(stop), Some(drawer)) = (self.stop.take(), self.drawer.take()) {
            let _ = stop.send(());
            let _ = drawer.join();
        }
    }
}
