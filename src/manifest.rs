//! Manifest trees as Kubernetes reads them: files and directories walked for `.yaml`, `.yml` and
//! `.json`, or stdin; multi-document streams with CRLF, a BOM, leading `---` and comment-only
//! documents; YAML 1.1 scalars; every node with its position.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::finding::{Finding, Sources};
use crate::yaml::{Loc, Node, Schema, YamlError, parse_stream};

/// Largest manifest file read (a ConfigMap is at most 1 MiB; this leaves room for big lists).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("`{0}` does not exist")]
    Missing(String),
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

/// Expand paths: files as given, directories walked (sorted, hidden entries skipped).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
        } else if path.is_dir() {
            let walker = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
            for entry in walker {
                let entry = entry.map_err(|e| ManifestError::Io {
                    path: path.display().to_string(),
                    source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk failed")),
                })?;
                if entry.file_type().is_file() && is_manifest_file(entry.path()) {
                    files.push(entry.into_path());
                }
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(ManifestError::Missing(path.display().to_string()));
        }
    }
    Ok(files)
}

/// The other manifest files in the directories of the given files (not recursive): the
/// context that lets references from and to the given files resolve.
pub fn siblings(given: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let given_set: std::collections::BTreeSet<&PathBuf> = given.iter().collect();
    let mut dirs: Vec<PathBuf> = given
        .iter()
        .filter(|p| p.as_os_str() != "-" && p.is_file())
        .map(|p| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut found = Vec::new();
    for dir in dirs {
        let entries = std::fs::read_dir(&dir)
            .map_err(|source| ManifestError::Io { path: dir.display().to_string(), source })?;
        let mut names: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let is_given = given_set.contains(&path) || given_set.iter().any(|g| same_file(g, &path));
            let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if path.is_file() && is_manifest_file(&path) && !is_given && !hidden {
                found.push(path);
            }
        }
    }
    Ok(found)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn read(path: &Path) -> Result<Vec<u8>, ManifestError> {
    let io = |source| ManifestError::Io { path: path.display().to_string(), source };
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin(), MAX_FILE_BYTES), &mut buf)
            .map_err(io)?;
        return Ok(buf);
    }
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(io(std::io::Error::other(format!(
            "{len} bytes is over the {MAX_FILE_BYTES}-byte limit"
        ))));
    }
    std::fs::read(path).map_err(io)
}

/// A path as findings name it: as given, `/` separators, no leading `./`; `<stdin>` for `-`.
pub fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "<stdin>".into();
    }
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// Read and parse `files` (in parallel); syntax errors become findings.
pub fn load(files: &[PathBuf], sources: &mut Sources) -> Result<Loaded, ManifestError> {
    let read = read_all(files, sources)?;
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

/// Read `files` (in parallel when there are many) into `sources`.
pub fn read_all(files: &[PathBuf], sources: &mut Sources) -> Result<Read, ManifestError> {
    let small = files.len() < crate::validate::PARALLEL_FROM;
    let read_one = |p: &PathBuf| read(p).map(|bytes| (display(p), bytes));
    let texts: Vec<Result<(String, Vec<u8>), ManifestError>> =
        if small { files.iter().map(read_one).collect() } else { files.par_iter().map(read_one).collect() };
    let mut ids = Vec::with_capacity(texts.len());
    let mut findings = Vec::new();
    for text in texts {
        let (name, bytes) = text?;
        match String::from_utf8(bytes) {
            Ok(text) => ids.push(sources.add(name, text)),
            Err(e) => {
                // Report the first bad byte where it is; the file is not parsed.
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let prefix = String::from_utf8_lossy(valid).into_owned();
                let line = prefix.matches('\n').count() as u32 + 1;
                let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
                let id = sources.add(name, prefix);
                findings.push(Finding::error(
                    "yaml-syntax",
                    sources,
                    Loc { file: id, line, col, len: 1 },
                    "the file is not valid UTF-8",
                ));
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
            Err(e) => findings.push(Finding::error(e.rule, sources, e.loc, e.message)),
        }
    }
    (docs, findings)
}

/// The documents of one file, as Kubernetes reads them.
pub fn parse_file(id: u32, sources: &Sources) -> Result<Vec<Node>, YamlError> {
    parse_stream(sources.text(id), id, Schema::Kubernetes11)
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
