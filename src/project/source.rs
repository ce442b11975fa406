//! Where the function's code is: `function.source` (and `function.inputSample`) resolved inside
//! the project root, and read within limits. A path that leaves the root (`..`, an absolute
//! path, a link pointing out) is refused, as are special files and files bigger than a
//! ConfigMap could ever hold.

use std::path::{Component, Path, PathBuf};

use super::model::{Flavor, Project};
use crate::files;
use crate::finding::Rule;
use crate::paths::display;

/// The largest `.py` module read: a ConfigMap holds at most 1 MiB.
pub const MAX_MODULE_BYTES: u64 = 1 << 20;

/// Where the function's code is, resolved inside the project root.
#[derive(Clone, Debug)]
pub enum FunctionSource {
    /// A single module; its text becomes ConfigMap `pyfile`.
    File { path: PathBuf, text: String },
    /// A package directory, zipped at render time.
    Dir { path: PathBuf },
}

/// Why a path of the project file cannot be used: the rule, the message, a hint.
#[derive(Debug)]
pub struct Problem {
    pub rule: Rule,
    pub message: String,
    pub hint: Option<&'static str>,
}

fn problem(rule: Rule, message: String) -> Problem {
    Problem { rule, message, hint: None }
}

/// Resolve `relative` under the project directory, refusing anything that lands outside the
/// canonical root (`..`, absolute paths, links pointing out).
pub fn inside_root(root: &Path, dir: &Path, relative: &str) -> Result<PathBuf, Problem> {
    let rel = Path::new(relative);
    if rel.is_absolute() {
        return Err(problem(
            Rule::SourceOutsideRoot,
            format!("`{relative}` is absolute; paths are relative to the project file"),
        ));
    }
    let joined = dir.join(rel);
    let canonical = joined.canonicalize().map_err(|_| {
        if rel.components().any(|c| matches!(c, Component::ParentDir)) && !root.join(rel).starts_with(root) {
            problem(Rule::SourceOutsideRoot, format!("`{relative}` is outside the project directory"))
        } else {
            problem(Rule::SourceMissing, format!("`{}` does not exist", display(&joined)))
        }
    })?;
    if !canonical.starts_with(root) {
        return Err(problem(
            Rule::SourceOutsideRoot,
            format!("`{relative}` resolves outside the project directory"),
        ));
    }
    Ok(canonical)
}

/// The function's code: a package directory, or a `.py` file read as UTF-8 text.
pub fn resolve(p: &Project, root: &Path, dir: &Path) -> Result<FunctionSource, Problem> {
    let path = inside_root(root, dir, &p.function.source).map_err(|mut e| {
        if e.rule == Rule::SourceOutsideRoot {
            e.hint = Some("keep the function's code inside the directory of `fnops.yaml`");
        }
        e
    })?;
    if path.is_dir() {
        if p.runtime.flavor == Flavor::Course {
            return Err(problem(
                Rule::InvalidValue,
                "the `course` runtime loads a single `.py` file, not a package".into(),
            ));
        }
        return Ok(FunctionSource::Dir { path });
    }
    if path.extension().is_none_or(|e| e != "py") {
        return Err(problem(
            Rule::InvalidValue,
            format!("`{}` is neither a `.py` file nor a directory", p.function.source),
        ));
    }
    let bytes = files::read(&dir.join(&p.function.source), Some(root), MAX_MODULE_BYTES).map_err(|e| {
        let rule = if matches!(e, files::FileError::Missing { .. }) {
            Rule::SourceMissing
        } else {
            Rule::InvalidValue
        };
        problem(rule, format!("`function.source`: {e}"))
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(FunctionSource::File { path, text }),
        Err(_) => Err(Problem {
            rule: Rule::InvalidValue,
            message: format!("`{}` is not UTF-8 text", p.function.source),
            hint: Some("ConfigMap data must be UTF-8; save the file as UTF-8"),
        }),
    }
}
