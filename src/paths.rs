//! Paths as users read them, and where a path really is. One place for what findings, headers
//! and Applications print, so every stage names a file the same way.

use std::path::{Component, Path, PathBuf};

/// A path as given, with `/` separators and no leading `./`; `<stdin>` for `-`.
pub fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "<stdin>".into();
    }
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// `path` relative to `base` when inside it, with `/` separators (`.` for `base` itself).
pub fn relative_to(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() { ".".into() } else { s }
}

/// An absolute path with `.` and `..` removed, without following links.
pub fn lexical(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// An absolute, link-resolved path for `path`, even when its tail does not exist yet.
pub fn absolute(path: &Path) -> PathBuf {
    let abs = lexical(path);
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
            _ => return abs,
        }
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The Git repository root above `abs` (the nearest directory holding `.git`).
pub fn repo_root(abs: &Path) -> Option<PathBuf> {
    abs.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

/// Where a rendered path sits, as an Application's `source.path` names it: relative to the Git
/// repository root, or, outside a repository, to the project directory `project` (so the same
/// project renders the same bytes wherever fnops is started). The flag says whether a
/// repository was found.
pub fn repo_relative(abs: &Path, project: &Path) -> (String, bool) {
    match repo_root(abs) {
        Some(root) => (relative_to(abs, &root), true),
        None => (relative_to(abs, project), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_relative() {
        assert_eq!(display(Path::new("./a/b.yaml")), "a/b.yaml");
        assert_eq!(display(Path::new("-")), "<stdin>");
        assert_eq!(relative_to(Path::new("/r/deploy/dev"), Path::new("/r")), "deploy/dev");
        assert_eq!(relative_to(Path::new("/r"), Path::new("/r")), ".");
        assert_eq!(lexical(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
    }
}
