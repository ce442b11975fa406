//! Package directories become one deterministic ZIP: entries sorted by path, a fixed timestamp
//! and mode, caches and hidden files left out, so the same sources give the same bytes.

use std::io::{Cursor, Write as _};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Why a package could not be zipped.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
    /// A link out of the project, into a hidden path (`.git/config`), or a special file.
    #[error("package file {0}")]
    Refused(crate::files::FileError),
    #[error(
        "the package is over {MAX_PACKAGE_BYTES} bytes before compression: a ConfigMap holds at most 1 MiB"
    )]
    TooLarge,
    #[error("cannot write the ZIP: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Upper bounds on what is read into a package (it must fit a 1 MiB ConfigMap compressed).
const MAX_FILE_BYTES: u64 = 8 << 20;
const MAX_PACKAGE_BYTES: u64 = 32 << 20;

fn skipped(name: &str) -> bool {
    name.starts_with('.') || name == "__pycache__" || name.ends_with(".pyc") || name.ends_with(".pyo")
}

/// Zip `dir` (inside `root`) with entries under the directory's own name, so that
/// `<dir name>.module.function` imports after extraction.
pub fn zip_dir(dir: &Path, root: &Path) -> Result<Vec<u8>, PackageError> {
    let top = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut total = 0u64;
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !skipped(&e.file_name().to_string_lossy()));
    for entry in walker {
        let entry = entry.map_err(|e| PackageError::Io {
            path: e.path().map(|p| p.display().to_string()).unwrap_or_default(),
            source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk failed")),
        })?;
        let path = entry.path();
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let name = if rel.as_os_str().is_empty() {
            continue;
        } else {
            format!("{top}/{}", rel.to_string_lossy().replace('\\', "/"))
        };
        if entry.path_is_symlink() {
            // Followed only when the target stays in the project and out of hidden paths.
            let target = crate::files::resolve(path, Some(root), true).map_err(PackageError::Refused)?;
            if target.is_dir() {
                // A link to a directory inside the project: its files are zipped where they are.
                continue;
            }
        } else if entry.file_type().is_dir() {
            continue;
        }
        let bytes = crate::files::read(path, Some(root), MAX_FILE_BYTES).map_err(PackageError::Refused)?;
        total += bytes.len() as u64;
        if total > MAX_PACKAGE_BYTES {
            return Err(PackageError::TooLarge);
        }
        zip.start_file(name, options)?;
        zip.write_all(&bytes)
            .map_err(|source| PackageError::Io { path: path.display().to_string(), source })?;
    }
    Ok(zip.finish()?.into_inner())
}
