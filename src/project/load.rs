//! Reading the project file and its environment overlays into typed projects.

use std::path::{Path, PathBuf};

use serde_path_to_error::Segment;

use super::checks::check_project;
use super::merge::merge;
use super::model::Project;
pub use super::source::FunctionSource;
use crate::files;
use crate::finding::{Finding, Rule, Sources};
use crate::paths::display as shown;
use crate::yaml::{Loc, Node, PathSeg, Schema, Value, parse_stream};

/// The largest project file or overlay read (a real one is a few hundred bytes).
pub const MAX_PROJECT_FILE_BYTES: u64 = 1 << 20;
/// Environment names that would collide with the tree's own directories.
const RESERVED_ENVS: &[&str] = &["argocd"];

/// The project file's name in a project directory.
pub const PROJECT_FILE: &str = "fnops.yaml";
/// Environment name used when the project has no `environments/` overlays.
pub const DEFAULT_ENV: &str = "default";

/// Failures that stop loading before any finding can be made (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no `{PROJECT_FILE}` in `{0}`")]
    NoProject(String),
    #[error("cannot read `{path}`: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("no environment `{name}` (available: {available})")]
    UnknownEnv { name: String, available: String },
    #[error(transparent)]
    File(#[from] files::FileError),
}

/// One environment's fully merged and checked project.
#[derive(Clone, Debug)]
pub struct EnvProject {
    pub env: String,
    pub project: Project,
    pub source: FunctionSource,
}

/// Everything the load stage hands on: valid environments, findings about invalid ones, and
/// the texts those findings point into.
#[derive(Debug)]
pub struct Loaded {
    /// Canonical project directory.
    pub root: PathBuf,
    /// The project directory as the user named it (for display).
    pub dir: PathBuf,
    pub sources: Sources,
    pub findings: Vec<Finding>,
    pub envs: Vec<EnvProject>,
    /// `fnops.yaml` alone, without an overlay, when it is a complete project by itself: what
    /// is common to the environments (the ApplicationSet's defaults).
    pub base: Option<Project>,
}

/// Load the project in `dir`, for one environment or for all of them.
pub fn load(dir: &Path, only_env: Option<&str>) -> Result<Loaded, LoadError> {
    let file = dir.join(PROJECT_FILE);
    if !file.is_file() {
        return Err(LoadError::NoProject(shown(dir)));
    }
    let root = dir.canonicalize().map_err(|source| LoadError::Io { path: shown(dir), source })?;
    let mut sources = Sources::default();
    let mut findings = Vec::new();
    let base = read_yaml(&file, &root, &mut sources, &mut findings)?;

    let overlays = environment_files(dir, &root, &mut sources, &mut findings)?;
    if let Some(name) = only_env
        && !(overlays.iter().any(|(n, _)| n == name) || (overlays.is_empty() && name == DEFAULT_ENV))
    {
        let mut names: Vec<&str> = overlays.iter().map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            names.push(DEFAULT_ENV);
        }
        return Err(LoadError::UnknownEnv { name: name.to_owned(), available: names.join(", ") });
    }

    let mut envs = Vec::new();
    let Some(base) = base else {
        return Ok(Loaded { root, dir: dir.to_path_buf(), sources, findings, envs, base: None });
    };
    let selected: Vec<(String, Option<PathBuf>)> = if overlays.is_empty() {
        vec![(DEFAULT_ENV.to_owned(), None)]
    } else {
        overlays
            .into_iter()
            .filter(|(n, _)| only_env.is_none_or(|e| e == n))
            .map(|(n, p)| (n, Some(p)))
            .collect()
    };
    for (env, overlay) in selected {
        let merged = match overlay {
            None => base.clone(),
            Some(path) => match read_yaml(&path, &root, &mut sources, &mut findings)? {
                Some(over) => merge(base.clone(), over),
                None => continue,
            },
        };
        match type_project(&merged, &sources) {
            Ok(project) => {
                let before = findings.len();
                let source = check_project(&project, &merged, &root, dir, &mut sources, &mut findings);
                if let (Some(source), true) = (source, findings.len() == before) {
                    envs.push(EnvProject { env, project, source });
                }
            }
            Err(finding) => findings.push(*finding),
        }
    }
    crate::finding::sort_dedup(&mut findings);
    let base = type_project(&base, &sources).ok();
    Ok(Loaded { root, dir: dir.to_path_buf(), sources, findings, envs, base })
}

/// `environments/*.yaml` (and `.yml`) by name. A name must be a DNS label (it becomes a
/// directory of the tree and part of Application names) and not one the tree uses itself; a
/// file with another name is a finding, and its environment is left out.
fn environment_files(
    dir: &Path,
    root: &Path,
    sources: &mut Sources,
    findings: &mut Vec<Finding>,
) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let env_dir = dir.join("environments");
    if !env_dir.is_dir() {
        return Ok(Vec::new());
    }
    files::resolve(&env_dir, Some(root), true)?;
    let entries =
        fs_err::read_dir(&env_dir).map_err(|e| LoadError::Io { path: shown(&env_dir), source: e })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io { path: shown(&env_dir), source })?;
        let path = entry.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        if !is_yaml || path.is_dir() {
            continue;
        }
        let refused = match crate::k8s_names::dns1123_label(&stem) {
            Err(why) => Some(format!("environment name `{stem}` {why}")),
            Ok(()) if RESERVED_ENVS.contains(&stem.as_str()) => Some(format!(
                "environment name `{stem}` is reserved: the tree writes Applications into `<out>/{stem}/`"
            )),
            Ok(()) => None,
        };
        if let Some(message) = refused {
            let id = sources.add(shown(&path), String::new());
            findings.push(
                Finding::new(Rule::InvalidValue, sources, Loc { file: id, line: 1, col: 1, len: 1 }, message)
                    .with_hint("name environment files `<name>.yaml` with lowercase letters, digits and `-`"),
            );
            continue;
        }
        found.push((stem, path));
    }
    found.sort();
    Ok(found)
}

/// Read and parse one YAML file of the project; a parse error (or bytes that are not UTF-8)
/// becomes a finding and `None`. Links may not leave `root`; the size is capped.
fn read_yaml(
    path: &Path,
    root: &Path,
    sources: &mut Sources,
    findings: &mut Vec<Finding>,
) -> Result<Option<Node>, LoadError> {
    let bytes = files::read(path, Some(root), MAX_PROJECT_FILE_BYTES)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let (_, loc) = crate::manifest::register_not_utf8(sources, shown(path), e);
            findings.push(Finding::new(Rule::YamlSyntax, sources, loc, "the file is not valid UTF-8"));
            return Ok(None);
        }
    };
    let id = sources.add(shown(path), text);
    match parse_stream(sources.text(id), id, Schema::Core12) {
        Ok(docs) if docs.len() > 1 => {
            let loc = docs[1].loc;
            findings.push(Finding::new(
                Rule::YamlSyntax,
                sources,
                loc,
                "the project file must hold one YAML document",
            ));
            Ok(None)
        }
        Ok(mut docs) => Ok(Some(docs.pop().unwrap_or(Node {
            value: Value::Map(Vec::new()),
            loc: Loc { file: id, line: 1, col: 1, len: 1 },
        }))),
        Err(e) => {
            findings.push(Finding::new(e.rule, sources, e.loc, e.message));
            Ok(None)
        }
    }
}

/// Deserialize the merged tree; a serde error becomes a finding at the offending node.
fn type_project(merged: &Node, sources: &Sources) -> Result<Project, Box<Finding>> {
    let err = match serde_path_to_error::deserialize::<_, Project>(merged.to_json()) {
        Ok(project) => return Ok(project),
        Err(err) => err,
    };
    Err(Box::new(type_error(merged, sources, &err)))
}

/// The finding for a serde error: at the offending node, in the house style.
fn type_error(
    merged: &Node,
    sources: &Sources,
    err: &serde_path_to_error::Error<serde_json::Error>,
) -> Finding {
    let segments: Vec<String> = err
        .path()
        .iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    let path: Vec<PathSeg<'_>> =
        segments.iter().map(|s| s.parse::<usize>().map_or(PathSeg::Key(s), PathSeg::Index)).collect();
    let dotted = segments.join(".");
    let message = err.inner().to_string();
    let (node, _) = merged.lookup(&path);
    let quoted = backticked(&message);

    if message.starts_with("unknown field ") {
        let field = quoted.first().cloned().unwrap_or_default();
        let parent = &path[..path.len().saturating_sub(1)];
        let (parent_node, _) = merged.lookup(parent);
        let loc = parent_node.key_loc(&field).unwrap_or(node.loc);
        let within = if parent.is_empty() {
            "the project file".to_owned()
        } else {
            format!("`{}`", segments[..segments.len() - 1].join("."))
        };
        let expected = &quoted[1..];
        let finding =
            Finding::new(Rule::UnknownField, sources, loc, format!("unknown field `{field}` in {within}"));
        return match did_you_mean(&field, expected) {
            Some(best) => finding.with_hint(format!("did you mean `{best}`?")),
            None if !expected.is_empty() => finding.with_hint(format!(
                "expected one of {}",
                expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
            )),
            None => finding,
        };
    }
    if message.starts_with("missing field ") {
        let field = quoted.first().cloned().unwrap_or_default();
        let loc = match path.split_last() {
            Some((PathSeg::Key(k), parent)) => merged.lookup(parent).0.key_loc(k).unwrap_or(node.loc),
            _ => node.loc,
        };
        let full = if dotted.is_empty() { field.clone() } else { format!("{dotted}.{field}") };
        return Finding::new(Rule::MissingField, sources, loc, format!("missing required field `{full}`"))
            .with_hint(format!("add `{field}:` here"));
    }
    if message.starts_with("unknown variant ") {
        let variant = quoted.first().cloned().unwrap_or_default();
        let expected = &quoted[1..];
        let finding =
            Finding::new(Rule::InvalidValue, sources, node.loc, format!("`{dotted}` cannot be `{variant}`"));
        return match did_you_mean(&variant, expected) {
            Some(best) => finding.with_hint(format!("did you mean `{best}`?")),
            None => finding.with_hint(format!(
                "expected one of {}",
                expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
            )),
        };
    }
    let message = message.replace("invalid type: ", "expected ").replace(", expected", ", got");
    let message = swap_got_expected(&message);
    Finding::new(Rule::InvalidValue, sources, node.loc, format!("`{dotted}`: {message}"))
}

/// serde says "invalid type: string \"x\", expected u16"; we say "expected u16, got string `x`".
fn swap_got_expected(message: &str) -> String {
    match message.strip_prefix("expected ").and_then(|m| m.split_once(", got ")) {
        Some((got, expected)) => format!("expected {}, got {}", plain_type(expected), got.replace('"', "`")),
        None => message.to_owned(),
    }
}

/// Rust type names as a user reads them.
fn plain_type(expected: &str) -> &str {
    match expected {
        "u16" => "an integer from 0 to 65535",
        "u32" | "u64" => "a whole number, 0 or more",
        "i64" | "i32" => "a whole number",
        "a string" => "a string",
        other => other,
    }
}

fn backticked(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The closest expected name, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean(given: &str, expected: &[String]) -> Option<String> {
    expected
        .iter()
        .map(|e| (strsim::jaro_winkler(&given.to_lowercase(), &e.to_lowercase()), e))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, e)| e.clone())
}
