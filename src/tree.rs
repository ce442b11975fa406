//! WRITE: put rendered files on disk without ever leaving a half-written tree, and compare a
//! tree on disk with a render (`--check`).
//!
//! Ownership: fnops owns exactly the files whose first line is [`HEADER`]; it never touches any
//! other file. Each output directory (`<out>/<env>/`, `<out>/argocd/`) is staged complete in a
//! private directory beside it (files fnops does not own are hard-linked in, or copied), then
//! swapped in with one atomic `renameat2(RENAME_EXCHANGE)`. A failure while staging changes
//! nothing; a kill at any moment leaves every directory either wholly old or wholly new.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::render::{HEADER, RenderedFile};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot {action} `{path}`: {source}")]
    Io { action: &'static str, path: String, source: io::Error },
    #[error(
        "refusing to write into `{0}`: the output directory must not be the project directory or one of its parents"
    )]
    OutIsRoot(String),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.display().to_string();
    move |source| WriteError::Io { action, path, source }
}

/// Which owned files a render replaces: all of them, or only those of some environments
/// (`--env`). Files of other environments are kept as they are.
#[derive(Clone, Debug)]
pub enum Scope {
    All,
    Envs(BTreeSet<String>),
}

/// A file fnops wrote earlier, found on disk.
struct Owned {
    rel: String,
    env: Option<String>,
}

/// The environment named in an owned file's header, or `None` when the file is not ours.
fn owner_env(path: &Path) -> Option<Option<String>> {
    let mut head = [0u8; 512];
    let n = {
        use std::io::Read as _;
        let mut f = fs::File::open(path).ok()?;
        f.read(&mut head).ok()?
    };
    let text = String::from_utf8_lossy(&head[..n]);
    let first = text.lines().next()?;
    if !first.starts_with(HEADER) {
        return None;
    }
    Some(first.split("(environment `").nth(1).and_then(|r| r.split('`').next()).map(str::to_owned))
}

impl Scope {
    fn covers(&self, owned: &Owned) -> bool {
        match (self, &owned.env) {
            (Scope::All, _) => true,
            (Scope::Envs(envs), Some(env)) => envs.contains(env),
            (Scope::Envs(_), None) => false,
        }
    }
}

/// Owned files under `out`, two levels deep (`<dir>/<file>`), as fnops writes them.
fn owned_files(out: &Path) -> Result<Vec<Owned>, WriteError> {
    let mut found = Vec::new();
    if !out.is_dir() {
        return Ok(found);
    }
    for entry in walkdir::WalkDir::new(out).min_depth(2).max_depth(2).sort_by_file_name() {
        let entry = entry.map_err(|e| WriteError::Io {
            action: "read",
            path: out.display().to_string(),
            source: e.into_io_error().unwrap_or_else(|| io::Error::other("walk failed")),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(env) = owner_env(entry.path()) {
            let rel =
                entry.path().strip_prefix(out).unwrap_or(entry.path()).to_string_lossy().replace('\\', "/");
            found.push(Owned { rel, env });
        }
    }
    Ok(found)
}

/// Refuse an output directory that is the project root or contains it.
pub fn check_out_dir(out: &Path, project_root: &Path) -> Result<(), WriteError> {
    let out_abs = absolute(out);
    if project_root.starts_with(&out_abs) {
        return Err(WriteError::OutIsRoot(out.display().to_string()));
    }
    Ok(())
}

/// An absolute, symlink-resolved path for `p`, even when its tail does not exist yet.
pub fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut existing = abs.as_path();
    let mut tail = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut result = canonical;
            for part in tail.iter().rev() {
                result.push(part);
            }
            return normalize(&result);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                existing = parent;
            }
            _ => return normalize(&abs),
        }
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// One file that differs between disk and render.
#[derive(Debug, PartialEq, Eq)]
pub struct FileDiff {
    pub rel: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Compare the tree on disk with a render, within `scope`.
pub fn diff(out: &Path, files: &[RenderedFile], scope: &Scope) -> Result<Vec<FileDiff>, WriteError> {
    let mut diffs = Vec::new();
    let rendered: BTreeMap<&str, &str> = files.iter().map(|f| (f.path.as_str(), f.text.as_str())).collect();
    for f in files {
        let path = out.join(&f.path);
        let old = match fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        if old.as_deref() != Some(f.text.as_str()) {
            diffs.push(FileDiff { rel: f.path.clone(), old, new: Some(f.text.clone()) });
        }
    }
    for owned in owned_files(out)? {
        if scope.covers(&owned) && !rendered.contains_key(owned.rel.as_str()) {
            let path = out.join(&owned.rel);
            let old = fs::read_to_string(&path).map_err(io_err("read", &path))?;
            diffs.push(FileDiff { rel: owned.rel, old: Some(old), new: None });
        }
    }
    diffs.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(diffs)
}

/// A unified diff of all differences, `a/` being the disk and `b/` the render.
pub fn unified(diffs: &[FileDiff], out_display: &str) -> String {
    let mut text = String::new();
    for d in diffs {
        let name = format!("{out_display}/{}", d.rel);
        let old = d.old.as_deref().unwrap_or("");
        let new = d.new.as_deref().unwrap_or("");
        let a = if d.old.is_some() { format!("a/{name}") } else { "/dev/null".into() };
        let b = if d.new.is_some() { format!("b/{name}") } else { "/dev/null".into() };
        let udiff = similar::TextDiff::from_lines(old, new);
        text.push_str(&udiff.unified_diff().context_radius(3).header(&a, &b).to_string());
    }
    text
}

/// Test hooks that make a write fail or die at a chosen step, so the tests can prove a broken
/// render never leaves a half-written tree: `FNOPS_FAULT_WRITE=N` fails the N-th staged file
/// write (from 0), `FNOPS_FAULT_ABORT=N` kills the process before the N-th directory swap.
struct Faults {
    fail_write_at: Option<usize>,
    abort_before_swap: Option<usize>,
}

impl Faults {
    fn from_env() -> Self {
        let read = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        Faults { fail_write_at: read("FNOPS_FAULT_WRITE"), abort_before_swap: read("FNOPS_FAULT_ABORT") }
    }
}

/// What a write changed.
#[derive(Debug, Default)]
pub struct WriteSummary {
    pub written: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// Write `files` under `out`, replacing and removing owned files within `scope`.
pub fn write(out: &Path, files: &[RenderedFile], scope: &Scope) -> Result<WriteSummary, WriteError> {
    let changes = diff(out, files, scope)?;
    let mut summary = WriteSummary {
        written: changes.iter().filter(|d| d.new.is_some()).count(),
        removed: changes.iter().filter(|d| d.new.is_none()).count(),
        unchanged: files.len() - changes.iter().filter(|d| d.new.is_some()).count(),
    };
    if changes.is_empty() {
        return Ok(summary);
    }
    fs::create_dir_all(out).map_err(io_err("create", out))?;
    remove_leftover_staging(out);
    let top = |rel: &str| rel.split('/').next().unwrap_or_default().to_owned();
    let dirs: BTreeSet<String> = changes.iter().map(|d| top(&d.rel)).collect();
    let stale: BTreeSet<&str> = changes.iter().filter(|d| d.new.is_none()).map(|d| d.rel.as_str()).collect();

    // Stage every touched directory completely before swapping any of them.
    let staging = tempfile::Builder::new()
        .prefix(".fnops-staging-")
        .tempdir_in(out)
        .map_err(io_err("create a staging directory in", out))?;
    for dir in &dirs {
        let staged = staging.path().join(dir);
        fs::create_dir_all(&staged).map_err(io_err("create", &staged))?;
        let current = out.join(dir);
        if current.is_dir() {
            carry_over(&current, &staged, dir, files, &stale)?;
        }
    }
    let faults = Faults::from_env();
    for (i, f) in files.iter().filter(|f| dirs.contains(&top(&f.path))).enumerate() {
        let target = staging.path().join(&f.path);
        if faults.fail_write_at == Some(i) {
            return Err(io_err("write", &target)(io::Error::other("injected fault (FNOPS_FAULT_WRITE)")));
        }
        fs::write(&target, &f.text).map_err(io_err("write", &target))?;
    }
    for (i, dir) in dirs.iter().enumerate() {
        if faults.abort_before_swap == Some(i) {
            std::process::abort();
        }
        swap_in(&staging.path().join(dir), &out.join(dir))?;
    }
    summary.unchanged = summary.unchanged.min(files.len());
    Ok(summary)
}

/// Staging directories of an earlier run that was killed: ours by name, never user files.
fn remove_leftover_staging(out: &Path) {
    let Ok(entries) = fs::read_dir(out) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".fnops-staging-") {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Link into `staged` every entry of `current` that the new render does not replace.
fn carry_over(
    current: &Path,
    staged: &Path,
    dir: &str,
    files: &[RenderedFile],
    stale: &BTreeSet<&str>,
) -> Result<(), WriteError> {
    let replaced: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for entry in walkdir::WalkDir::new(current).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| WriteError::Io {
            action: "read",
            path: current.display().to_string(),
            source: e.into_io_error().unwrap_or_else(|| io::Error::other("walk failed")),
        })?;
        let rel_in_dir = entry.path().strip_prefix(current).unwrap_or(entry.path());
        let rel = format!("{dir}/{}", rel_in_dir.to_string_lossy().replace('\\', "/"));
        if replaced.contains(rel.as_str()) || stale.contains(rel.as_str()) {
            continue;
        }
        let target = staged.join(rel_in_dir);
        let ft = entry.file_type();
        if ft.is_dir() {
            fs::create_dir_all(&target).map_err(io_err("create", &target))?;
        } else if ft.is_symlink() {
            let link = fs::read_link(entry.path()).map_err(io_err("read", entry.path()))?;
            std::os::unix::fs::symlink(&link, &target).map_err(io_err("link", &target))?;
        } else if fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target).map_err(io_err("copy", entry.path()))?;
        }
    }
    Ok(())
}

/// Atomically replace `target` by `staged` (exchange when `target` exists), then drop the old
/// one. An emptied directory is removed.
fn swap_in(staged: &Path, target: &Path) -> Result<(), WriteError> {
    let empty = fs::read_dir(staged).map_err(io_err("read", staged))?.next().is_none();
    if !target.exists() {
        if !empty {
            fs::rename(staged, target).map_err(io_err("move into place", target))?;
        }
        return Ok(());
    }
    let exchanged = rustix::fs::renameat_with(
        rustix::fs::CWD,
        staged,
        rustix::fs::CWD,
        target,
        rustix::fs::RenameFlags::EXCHANGE,
    );
    if exchanged.is_err() {
        // No RENAME_EXCHANGE on this filesystem: move the old tree aside, then the new in.
        let aside = staged.with_extension("old");
        fs::rename(target, &aside).map_err(io_err("move aside", target))?;
        fs::rename(staged, target).map_err(io_err("move into place", target))?;
        fs::rename(&aside, staged).map_err(io_err("clean up", &aside))?;
    }
    fs::remove_dir_all(staged).map_err(io_err("remove", staged))?;
    if empty {
        fs::remove_dir(target).map_err(io_err("remove", target))?;
    }
    Ok(())
}
