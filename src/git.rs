//! What fnops asks of Git: the repository around a path, the files changed since a revision,
//! and a directory as it was at a revision, read from the object store (no checkout: the
//! working tree and the index are never touched).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Largest file read out of a revision, and largest total: a project directory holds a few
/// small files.
const MAX_FILE_BYTES: u64 = 16 << 20;
const MAX_TOTAL_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("this needs git: {0}")]
    Missing(std::io::Error),
    #[error("`git {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("`{0}` is not a revision")]
    NotARevision(String),
    #[error("reading `{rev}:{path}` from Git: {why}")]
    Read { rev: String, path: String, why: String },
}

/// Run git in `cwd` and return its stdout.
pub fn run(cwd: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = Command::new("git").args(args).current_dir(cwd).output().map_err(GitError::Missing)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A revision as the user wrote it, refused when it could be read as an option.
pub fn revision(rev: &str) -> Result<&str, GitError> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(GitError::NotARevision(rev.to_owned()));
    }
    Ok(rev)
}

/// The top of the working tree holding `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, GitError> {
    Ok(PathBuf::from(run(dir, &["rev-parse", "--show-toplevel"])?.trim()))
}

/// Write the files under `subdir` (relative to the repository top `top`) as they are at `rev`
/// into `dest/subdir`. Links and submodules are left out (fnops does not follow links out of a
/// project anyway). Returns how many files were written; 0 when `subdir` did not exist at `rev`.
pub fn materialize(top: &Path, rev: &str, subdir: &str, dest: &Path) -> Result<usize, GitError> {
    let rev = revision(rev)?;
    // The commit must exist, whatever the directory.
    run(top, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")])
        .map_err(|_| GitError::NotARevision(rev.to_owned()))?;
    let spec = if subdir.is_empty() || subdir == "." { String::from(".") } else { subdir.to_owned() };
    let listing = run(top, &["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev, "--", &spec])?;
    let mut blobs = Vec::new();
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else { continue };
        let mut parts = meta.split(' ');
        let (Some(mode), Some(kind), Some(oid)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        // Regular files only: 100644 and 100755 (120000 is a link, 160000 a submodule).
        if kind == "blob" && (mode == "100644" || mode == "100755") {
            blobs.push((oid.to_owned(), path.to_owned()));
        }
    }
    if blobs.is_empty() {
        return Ok(0);
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(top)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(GitError::Missing)?;
    let ids: String = blobs.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    let mut stdin = child.stdin.take().ok_or_else(|| read_error(rev, subdir, "no stdin"))?;
    let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()));
    let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| read_error(rev, subdir, "no stdout"))?);
    let mut total = 0u64;
    for (oid, path) in &blobs {
        let mut header = String::new();
        stdout.read_line(&mut header).map_err(|e| read_error(rev, path, e))?;
        let size: u64 = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| read_error(rev, path, format!("unexpected `{}` for {oid}", header.trim())))?;
        total += size;
        if size > MAX_FILE_BYTES || total > MAX_TOTAL_BYTES {
            let _ = child.kill();
            return Err(read_error(rev, path, "too big"));
        }
        let mut bytes = vec![0; size as usize];
        stdout.read_exact(&mut bytes).map_err(|e| read_error(rev, path, e))?;
        let mut newline = [0u8; 1];
        stdout.read_exact(&mut newline).map_err(|e| read_error(rev, path, e))?;
        // `ls-tree` paths are relative to the top and never climb (`..` is not a Git path).
        let target = dest.join(path);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent).map_err(|e| read_error(rev, path, e))?;
        }
        fs_err::write(&target, bytes).map_err(|e| read_error(rev, path, e))?;
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(blobs.len())
}

fn read_error(rev: &str, path: &str, why: impl std::fmt::Display) -> GitError {
    GitError::Read { rev: rev.to_owned(), path: path.to_owned(), why: why.to_string() }
}
