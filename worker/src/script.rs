//! The worker script as a file: written once into a private temporary directory (mode 0700)
//! and shared by the workers of this process, so `ps` shows `python3 -u .../fnops_worker.py`
//! instead of 10 KB of source. The directory goes away with the last worker that uses it. When
//! no temporary directory can be written, the script is passed with `-c` instead.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// The script, embedded in the binary.
pub const SOURCE: &str = include_str!("worker.py");

pub struct ScriptFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl ScriptFile {
    /// The script file of this process, written on first use.
    pub fn get() -> Option<Arc<ScriptFile>> {
        static CURRENT: Mutex<Weak<ScriptFile>> = Mutex::new(Weak::new());
        let mut current = CURRENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(file) = current.upgrade() {
            return Some(file);
        }
        let dir = tempfile::Builder::new().prefix("fnops-worker-").tempdir().ok()?;
        let path = dir.path().join("fnops_worker.py");
        std::fs::write(&path, SOURCE).ok()?;
        let file = Arc::new(ScriptFile { _dir: dir, path });
        *current = Arc::downgrade(&file);
        Some(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
