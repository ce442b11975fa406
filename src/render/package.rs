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
    #[error("`{0}` is a link that leaves the project directory")]
    LinkOutside(String),
    #[error("cannot write the ZIP: {0}")]
    Zip(#[from] zip::result::ZipError),
}

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
            let target =
                path.canonicalize().map_err(|source| PackageError::Io { path: name.clone(), source })?;
            if !target.starts_with(root) {
                return Err(PackageError::LinkOutside(name));
            }
            if target.is_dir() {
                // A link to a directory inside the project: its files are zipped where they are.
                continue;
            }
        } else if entry.file_type().is_dir() {
            continue;
        }
        let bytes = std::fs::read(path).map_err(|source| PackageError::Io { path: name.clone(), source })?;
        zip.start_file(name, options)?;
        zip.write_all(&bytes)
            .map_err(|source| PackageError::Io { path: path.display().to_string(), source })?;
    }
    Ok(zip.finish()?.into_inner())
}
