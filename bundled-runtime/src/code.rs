//! CODE: where the user's module comes from (a pyfile or a ZIP), how a ZIP is unpacked safely,
//! and how a change of the mounted code is noticed (hot reload).
//!
//! ZIPs are extracted, not zip-imported, so packages with relative imports and data files work.
//! Every entry is checked before anything is written: no absolute paths, no `..`, no links,
//! no duplicates, and caps on the number of entries, the total size and the compression ratio.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::config::{CodeSource, Settings};
use crate::worker::InitConfig;

pub const MAX_ENTRIES: usize = 10_000;
pub const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
pub const MAX_RATIO: u64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("`{path}` is not a usable ZIP: {reason}")]
    BadZip { path: String, reason: String },
    #[error("`ZIP_URL`: {0}")]
    Download(String),
}

/// The code as the worker should load it. Holds the extraction directory alive.
pub struct Prepared {
    pub init: InitConfig,
    _extracted: Option<tempfile::TempDir>,
}

impl Prepared {
    /// Code that needs no extraction directory (a pyfile, or a test's stand-in).
    pub fn from_init(init: InitConfig) -> Prepared {
        Prepared { init, _extracted: None }
    }
}

/// [`prepare`] off the async thread: a `ZIP_URL` download and a ZIP extraction can take a
/// while, and `/healthz` and `/metrics` must answer meanwhile.
pub async fn prepare_off_thread(settings: &Settings) -> Result<Prepared, CodeError> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || prepare(&settings))
        .await
        .unwrap_or_else(|e| Err(CodeError::Download(format!("preparing the code failed: {e}"))))
}

/// Identity of the watched file: changes when the kubelet swaps a ConfigMap mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64, Option<SystemTime>, u64);

pub fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some(Fingerprint(m.len(), m.modified().ok(), m.ino()))
}

/// The file whose change triggers a reload (a downloaded ZIP is fetched once, at start).
pub fn watched_path(settings: &Settings) -> Option<&Path> {
    match &settings.code {
        CodeSource::Pyfile(p) | CodeSource::Zip(p) => Some(p),
        CodeSource::Url { .. } => None,
    }
}

/// Download a ZIP: at most `max_bytes`, checked against the sha256 pin before use.
fn download(url: &str, sha256: Option<&str>, max_bytes: u64, into: &Path) -> Result<PathBuf, CodeError> {
    use sha2::{Digest, Sha256};
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(60))).build().into();
    let mut response =
        agent.get(url).call().map_err(|e| CodeError::Download(format!("cannot fetch the ZIP: {e}")))?;
    let bytes = response.body_mut().with_config().limit(max_bytes).read_to_vec().map_err(|e| {
        CodeError::Download(format!("cannot read the ZIP (at most {max_bytes} bytes, `ZIP_MAX_BYTES`): {e}"))
    })?;
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if let Some(pin) = sha256
        && pin != digest
    {
        return Err(CodeError::Download(format!(
            "the download's sha256 is {digest}, which does not match `ZIP_SHA256` {pin}; refusing to run it"
        )));
    }
    let path = into.join("download.zip");
    std::fs::write(&path, &bytes)
        .map_err(|source| CodeError::Io { path: path.display().to_string(), source })?;
    Ok(path)
}

pub fn prepare(settings: &Settings) -> Result<Prepared, CodeError> {
    let mut init = InitConfig {
        module_path: None,
        sys_path: Vec::new(),
        handler: settings.handler.clone(),
        host: settings.redis.host.clone(),
        port: settings.redis.port,
        input_key: settings.input_key.clone(),
        output_key: settings.output_key.clone(),
        allow_nan: settings.allow_nan,
        state_json: settings.state_key.is_some(),
        zip_path: None,
        max_payload: settings.max_payload(),
    };
    let module_part = settings.handler.rsplit_once('.').map(|(m, _)| m);
    let mut extracted = None;
    match &settings.code {
        CodeSource::Pyfile(path) => {
            let dir = path.parent().map(|d| d.display().to_string()).unwrap_or_else(|| ".".into());
            init.sys_path.push(dir);
            // A bare handler (or `usermodule.x`) lives in the pyfile; a dotted one is imported
            // from the pyfile's directory.
            if module_part.is_none_or(|m| m == "usermodule") {
                init.module_path = Some(path.display().to_string());
            }
        }
        CodeSource::Zip(_) | CodeSource::Url { .. } => {
            let dir = tempfile::Builder::new()
                .prefix("fnops-code-")
                .tempdir()
                .map_err(|source| CodeError::Io { path: "a temporary directory".into(), source })?;
            let path = match &settings.code {
                CodeSource::Url { url, sha256, max_bytes } => {
                    let download_dir = dir.path().join(".download");
                    std::fs::create_dir(&download_dir).map_err(|source| CodeError::Io {
                        path: download_dir.display().to_string(),
                        source,
                    })?;
                    download(url, sha256.as_deref(), *max_bytes, &download_dir)?
                }
                CodeSource::Zip(path) | CodeSource::Pyfile(path) => path.clone(),
            };
            let extract_to = dir.path().join("code");
            std::fs::create_dir(&extract_to)
                .map_err(|source| CodeError::Io { path: extract_to.display().to_string(), source })?;
            extract_zip(&path, &extract_to)?;
            init.sys_path.push(extract_to.display().to_string());
            init.zip_path = Some(path.display().to_string());
            if let Some(pyfile) = &settings.pyfile
                && let Some(parent) = pyfile.parent()
            {
                init.sys_path.push(parent.display().to_string());
            }
            extracted = Some(dir);
        }
    }
    Ok(Prepared { init, _extracted: extracted })
}

/// Extract `zip` into `dest` after checking every entry; nothing is written when one fails.
pub fn extract_zip(zip: &Path, dest: &Path) -> Result<(), CodeError> {
    let shown = zip.display().to_string();
    let bad = |reason: String| CodeError::BadZip { path: shown.clone(), reason };
    let file = std::fs::File::open(zip).map_err(|source| CodeError::Io { path: shown.clone(), source })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(bad(format!("{} entries, at most {MAX_ENTRIES} are allowed", archive.len())));
    }
    let mut plan: Vec<(usize, PathBuf, bool)> = Vec::with_capacity(archive.len());
    let mut seen = HashSet::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = entry.name().map_err(|e| bad(e.to_string()))?.into_owned();
        let path = Path::new(&name);
        if name.starts_with('/') || name.starts_with('\\') || path.is_absolute() || name.contains(':') {
            return Err(bad(format!("entry `{name}` has an absolute path")));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir))
            || name.split(['/', '\\']).any(|p| p == "..")
        {
            return Err(bad(format!("entry `{name}` climbs out with `..`")));
        }
        if entry.is_symlink() {
            return Err(bad(format!("entry `{name}` is a link")));
        }
        if name.contains('\0') {
            return Err(bad(format!("entry `{name:?}` holds a NUL byte")));
        }
        let normal = name.trim_end_matches('/').to_owned();
        if !seen.insert(normal) {
            return Err(bad(format!("entry `{name}` appears twice")));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_TOTAL_BYTES {
            return Err(bad(format!("it expands to more than {MAX_TOTAL_BYTES} bytes")));
        }
        if entry.size() > 1024 * 1024 && entry.size() / entry.compressed_size().max(1) > MAX_RATIO {
            return Err(bad(format!("entry `{name}` is compressed more than {MAX_RATIO}:1 (a ZIP bomb?)")));
        }
        let Some(enclosed) = entry.enclosed_name() else {
            return Err(bad(format!("entry `{name}` has an unsafe path")));
        };
        plan.push((i, enclosed, entry.is_dir()));
    }
    let mut written = 0u64;
    for (i, rel, is_dir) in plan {
        let target = dest.join(&rel);
        let io = |source| CodeError::Io { path: target.display().to_string(), source };
        if is_dir {
            std::fs::create_dir_all(&target).map_err(io)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        // Declared sizes can lie: never read more than what is left of the cap.
        let mut limited = entry.take(MAX_TOTAL_BYTES - written + 1);
        let mut out = std::fs::File::create(&target).map_err(io)?;
        let n = std::io::copy(&mut limited, &mut out).map_err(io)?;
        written += n;
        if written > MAX_TOTAL_BYTES {
            return Err(bad(format!("it expands to more than {MAX_TOTAL_BYTES} bytes")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use zip::write::SimpleFileOptions;

    use super::*;

    fn make_zip(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp");
        let mut zip = zip::ZipWriter::new(file.reopen().expect("reopen"));
        for (name, data) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).expect("start");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish");
        file
    }

    #[test]
    fn packages_extract() {
        let z = make_zip(&[("pkg/__init__.py", b""), ("pkg/main.py", b"x = 1\n")]);
        let dest = tempfile::tempdir().expect("dir");
        extract_zip(z.path(), dest.path()).expect("extracts");
        assert_eq!(std::fs::read(dest.path().join("pkg/main.py")).expect("read"), b"x = 1\n");
    }

    #[test]
    fn hostile_entries_are_refused_before_anything_is_written() {
        for (name, why) in [("../evil.py", "`..`"), ("/etc/evil", "absolute"), ("a/../../b", "`..`")] {
            let z = make_zip(&[("ok.py", b"fine"), (name, b"bad")]);
            let dest = tempfile::tempdir().expect("dir");
            let err = extract_zip(z.path(), dest.path()).expect_err(name).to_string();
            assert!(err.contains(why), "{name}: {err}");
            assert!(!dest.path().join("ok.py").exists(), "nothing may be written");
        }
    }

    #[test]
    fn zip_bombs_are_refused() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let z = make_zip(&[("bomb.bin", &zeros)]);
        let dest = tempfile::tempdir().expect("dir");
        let err = extract_zip(z.path(), dest.path()).expect_err("bomb").to_string();
        assert!(err.contains("ZIP bomb"), "{err}");
    }
}

#[cfg(test)]
mod hostile {
    use std::io::Write as _;

    use super::*;

    /// Random bytes as a ZIP: refused or extracted, never a panic, never a write outside `dest`.
    #[test]
    fn arbitrary_bytes_never_escape() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let valid = {
            let file = tempfile::NamedTempFile::new().expect("temp");
            let mut zip = zip::ZipWriter::new(file.reopen().expect("reopen"));
            zip.start_file("pkg/a.py", zip::write::SimpleFileOptions::default()).expect("start");
            zip.write_all(b"x = 1\n").expect("write");
            zip.finish().expect("finish");
            std::fs::read(file.path()).expect("read")
        };
        for round in 0..300 {
            let mut bytes = valid.clone();
            for _ in 0..(1 + round % 8) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            let file = tempfile::NamedTempFile::new().expect("temp");
            std::fs::write(file.path(), &bytes).expect("write");
            let parent = tempfile::tempdir().expect("dir");
            let dest = parent.path().join("dest");
            std::fs::create_dir(&dest).expect("mkdir");
            let _ = extract_zip(file.path(), &dest);
            for entry in walkdir::WalkDir::new(parent.path()).min_depth(1) {
                let entry = entry.expect("walk");
                assert!(entry.path().starts_with(&dest), "{} escaped", entry.path().display());
            }
        }
    }

    #[test]
    fn duplicate_entries_are_refused() {
        let file = tempfile::NamedTempFile::new().expect("temp");
        let mut zip = zip::ZipWriter::new(file.reopen().expect("reopen"));
        zip.start_file("pkg/a.py", zip::write::SimpleFileOptions::default()).expect("start");
        zip.write_all(b"x = 1\n").expect("write");
        zip.add_directory("pkg/a.py/", zip::write::SimpleFileOptions::default()).expect("dir");
        zip.finish().expect("finish");
        let dest = tempfile::tempdir().expect("dir");
        let err = extract_zip(file.path(), dest.path()).expect_err("duplicate").to_string();
        assert!(err.contains("appears twice"), "{err}");
    }
}
