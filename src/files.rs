//! Reading the files a user points fnops at, safely.
//!
//! A repository is not trusted input: a pull request can commit a symbolic link to
//! `/proc/self/environ`, `/dev/zero` or `.git/config`, or a FIFO. So every read of a project or
//! manifest file goes through [`read`], which:
//! - follows a symbolic link only when its target stays inside the root it was found under (the
//!   project or repository), and names the link and the target when it refuses;
//! - reads regular files only (never a device, a FIFO, a socket, or anything under `/proc`,
//!   `/sys` or `/dev`);
//! - reads at most a cap of bytes, and says so when the file is bigger.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::paths::display;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("`{path}` does not exist")]
    Missing { path: String },
    #[error("`{path}` is a link to `{target}`, outside `{root}`: not followed")]
    LinkOutside { path: String, target: String, root: String },
    #[error("`{path}` is a link to `{target}`, a hidden path (`{hidden}`): not followed")]
    LinkHidden { path: String, target: String, hidden: String },
    #[error("`{path}` is {what}, not a regular file: not read")]
    Special { path: String, what: &'static str },
    #[error("`{path}` is {size} bytes, over the {cap}-byte limit")]
    TooLarge { path: String, size: u64, cap: u64 },
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
}

impl FileError {
    /// The path named in the error.
    pub fn path(&self) -> &str {
        match self {
            FileError::Missing { path }
            | FileError::LinkOutside { path, .. }
            | FileError::LinkHidden { path, .. }
            | FileError::Special { path, .. }
            | FileError::TooLarge { path, .. }
            | FileError::Io { path, .. } => path,
        }
    }
}

/// What a file-system entry is, in words.
fn kind_of(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Pseudo file systems: their "regular files" are views of the kernel and processes.
fn is_pseudo(path: &Path) -> bool {
    ["/proc", "/sys", "/dev"].iter().any(|p| path.starts_with(p))
}

/// Where `path` leads, checked: the canonical path of a regular file (or, with `allow_dir`, a
/// directory) that stays inside `root` when `path` goes through a link. `root` is canonical.
pub fn resolve(path: &Path, root: Option<&Path>, allow_dir: bool) -> Result<PathBuf, FileError> {
    let shown = display(path);
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m.file_type().is_symlink(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::Missing { path: shown }),
        Err(source) => return Err(FileError::Io { path: shown, source }),
    };
    let canonical = match path.canonicalize() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling link.
            let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(match root {
                Some(r) => FileError::LinkOutside { path: shown, target, root: display(r) },
                None => FileError::Missing { path: shown },
            });
        }
        Err(source) => return Err(FileError::Io { path: shown, source }),
    };
    // Whether a link was followed on the way (the path itself or a directory above it, below
    // the root): the canonical path then differs from the path as written.
    let lexical = crate::paths::lexical(path);
    let through_link = link
        || match root {
            Some(root) => {
                lexical.strip_prefix(root).map_or(lexical != canonical, |rel| root.join(rel) != canonical)
            }
            None => false,
        };
    if through_link && let Some(root) = root {
        let target = std::fs::read_link(path)
            .map_or_else(|_| canonical.display().to_string(), |t| t.display().to_string());
        if !canonical.starts_with(root) {
            return Err(FileError::LinkOutside { path: shown, target, root: display(root) });
        }
        let inside = canonical.strip_prefix(root).unwrap_or(&canonical);
        if let Some(hidden) = inside.components().find(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
            return Err(FileError::LinkHidden {
                path: shown,
                target,
                hidden: hidden.as_os_str().to_string_lossy().into_owned(),
            });
        }
    }
    let meta =
        std::fs::metadata(&canonical).map_err(|source| FileError::Io { path: shown.clone(), source })?;
    let ft = meta.file_type();
    if is_pseudo(&canonical) && !ft.is_dir() {
        let what = if ft.is_file() { "a kernel pseudo-file" } else { kind_of(&ft) };
        return Err(FileError::Special { path: shown, what });
    }
    if !(ft.is_file() || (allow_dir && ft.is_dir())) {
        return Err(FileError::Special { path: shown, what: kind_of(&ft) });
    }
    Ok(canonical)
}

/// Read `path` under the rules above, at most `cap` bytes.
pub fn read(path: &Path, root: Option<&Path>, cap: u64) -> Result<Vec<u8>, FileError> {
    let canonical = resolve(path, root, false)?;
    let shown = display(path);
    let io = |source: std::io::Error| FileError::Io { path: shown.clone(), source };
    let file = fs_err::File::open(&canonical).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > cap {
        return Err(FileError::TooLarge { path: shown, size, cap });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The size can change between the check and the read: never read past the cap.
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge { path: shown, size: bytes.len() as u64, cap });
    }
    Ok(bytes)
}

/// Read a stream (stdin) of at most `cap` bytes; more is an error, never a silent cut.
pub fn read_stream(reader: impl std::io::Read, name: &str, cap: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    reader
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io { path: name.to_owned(), source })?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge { path: name.to_owned(), size: bytes.len() as u64, cap });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_out_of_the_root_and_special_files_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().canonicalize().expect("canonical");
        std::fs::write(root.join("ok.yaml"), "a: 1\n").expect("write");
        std::os::unix::fs::symlink("/proc/self/environ", root.join("env.yaml")).expect("link");
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.yaml")).expect("link");
        std::os::unix::fs::symlink(root.join("ok.yaml"), root.join("inside.yaml")).expect("link");
        std::fs::create_dir(root.join(".git")).expect("mkdir");
        std::fs::write(root.join(".git/config"), "[http] extraheader = secret\n").expect("write");
        std::os::unix::fs::symlink(root.join(".git/config"), root.join("cfg.yaml")).expect("link");
        assert_eq!(read(&root.join("ok.yaml"), Some(&root), 100).expect("reads"), b"a: 1\n");
        assert_eq!(read(&root.join("inside.yaml"), Some(&root), 100).expect("a link inside"), b"a: 1\n");
        let err = read(&root.join("env.yaml"), Some(&root), 100).expect_err("outside");
        assert!(matches!(err, FileError::LinkOutside { .. }), "{err}");
        assert!(err.to_string().contains("/proc/self/environ"), "{err}");
        assert!(matches!(read(&root.join("cfg.yaml"), Some(&root), 100), Err(FileError::LinkHidden { .. })));
        // With no root, the target must still be a regular file of a real file system.
        assert!(matches!(read(&root.join("zero.yaml"), None, 100), Err(FileError::Special { .. })));
        assert!(matches!(
            read(Path::new("/dev/zero"), None, 100),
            Err(FileError::Special { what: "a character device", .. })
        ));
        assert!(matches!(
            read(Path::new("/proc/self/environ"), None, 1 << 20),
            Err(FileError::Special { .. })
        ));
    }

    #[test]
    fn sizes_are_capped() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("big");
        std::fs::write(&path, vec![b'x'; 2000]).expect("write");
        assert!(matches!(read(&path, None, 1000), Err(FileError::TooLarge { size: 2000, cap: 1000, .. })));
        assert!(matches!(read_stream(&[b'x'; 2000][..], "<stdin>", 1000), Err(FileError::TooLarge { .. })));
        assert_eq!(read_stream(&b"abc"[..], "<stdin>", 3).expect("fits").len(), 3);
    }
}
