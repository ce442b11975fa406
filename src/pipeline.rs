//! One project through the stages, in memory: LOAD → RENDER → VALIDATE. Nothing is written
//! and nothing printed here: `render` writes the result, `validate` reports it, `argocd generate`
//! prints it.

use std::path::{Path, PathBuf};

use crate::finding::{Finding, Severity, Sources};
use crate::paths;
use crate::project::{LoadError, load};
use crate::render::{Placement, RenderError, RenderedFile, load_templates, render};
use crate::validate::{Doc, Options, SchemaSet, validate};
use crate::write::{self, WriteError};

/// What to build.
pub struct Request<'a> {
    pub project_dir: &'a Path,
    /// One environment, or all of them.
    pub env: Option<&'a str>,
    /// The output directory; default `deploy/` beside `fnops.yaml`.
    pub out: Option<&'a Path>,
    pub templates: Option<&'a Path>,
    pub schemas: &'a SchemaSet,
    /// The namespace of objects of a project that sets none (the plugin's
    /// `ARGOCD_APP_NAMESPACE`).
    pub default_namespace: Option<&'a str>,
}

/// A project rendered in memory and validated.
pub struct Built {
    pub files: Vec<RenderedFile>,
    pub sources: Sources,
    /// Every finding of the project file and of the rendered objects, sorted.
    pub findings: Vec<Finding>,
    pub envs: usize,
    pub out: PathBuf,
    /// Things the user should know that are not findings (printed as warnings).
    pub notes: Vec<String>,
}

impl Built {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The project file or an overlay is invalid: the findings say where.
    #[error("the project is invalid")]
    Invalid { sources: Sources, findings: Vec<Finding> },
    /// A template failed, or produced YAML that does not parse.
    #[error(transparent)]
    Render(RenderError),
    /// The project or the templates could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Templates(RenderError),
    /// The output directory cannot be used.
    #[error(transparent)]
    Out(#[from] WriteError),
    /// `function.inputSample` cannot be used.
    #[error("{0}")]
    Sample(String),
}

impl PipelineError {
    /// Whether the failure is in the input (exit 1) rather than I/O or usage (exit 2).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, PipelineError::Invalid { .. } | PipelineError::Render(_))
    }
}

/// Load, render and validate a project.
pub fn build(req: &Request<'_>) -> Result<Built, PipelineError> {
    let mut loaded = load(req.project_dir, req.env)?;
    if loaded.findings.iter().any(|f| f.severity == Severity::Error) {
        return Err(PipelineError::Invalid { sources: loaded.sources, findings: loaded.findings });
    }
    if let Some(ns) = req.default_namespace {
        for env in &mut loaded.envs {
            env.project.namespace.get_or_insert_with(|| ns.to_owned());
        }
    }
    let templates = load_templates(req.templates).map_err(PipelineError::Templates)?;
    let out: PathBuf = req.out.map(Path::to_path_buf).unwrap_or_else(|| req.project_dir.join("deploy"));
    write::check_out_dir(&out, &loaded.root)?;
    let out_abs = paths::absolute(&out);
    let (repo_path, in_repo) = paths::repo_relative(&out_abs, &loaded.root);
    let (project_file, _) =
        paths::repo_relative(&loaded.root.join(crate::project::PROJECT_FILE), &loaded.root);
    let mut notes = Vec::new();
    if !in_repo && loaded.envs.iter().any(|e| e.project.argocd.is_some()) {
        notes.push(format!(
            "no Git repository above `{}`: the Applications' `source.path` is relative to the project directory",
            paths::display(req.project_dir)
        ));
    }
    let placement = Placement { repo_path, project_file, out: out_abs };
    let mut sources = loaded.sources.clone();
    let files = render(&loaded, &templates, &placement, &mut sources).map_err(PipelineError::Render)?;
    let mut findings = loaded.findings.clone();
    // The project's own input sample (paths were checked by the loader), else the course's.
    let sample = loaded
        .envs
        .iter()
        .find_map(|e| e.project.function.input_sample.as_ref())
        .map(|rel| crate::validate::python::InputKeys::read(&req.project_dir.join(rel)));
    let input_keys = match sample {
        Some(Ok(keys)) => Some(keys),
        Some(Err(e)) => return Err(PipelineError::Sample(e)),
        None => None,
    };
    for (env, ignore) in loaded.envs.iter().map(|e| (e.env.as_str(), &e.project.ignore)) {
        let (apps, objects): (Vec<&RenderedFile>, Vec<&RenderedFile>) =
            files.iter().filter(|f| f.env == env).partition(|f| f.path.starts_with("argocd/"));
        let docs: Vec<Doc<'_>> = objects.iter().map(|f| Doc { node: &f.object }).collect();
        let opts = Options {
            schemas: Some(req.schemas),
            input_keys: input_keys.as_ref(),
            ignore,
            ..Options::default()
        };
        findings.extend(validate(&docs, &sources, &opts));
        // The Applications: against the bundled Argo CD schemas, apart from the environment's
        // objects (they are not part of the synced set).
        let app_docs: Vec<Doc<'_>> = apps.iter().map(|f| Doc { node: &f.object }).collect();
        findings.extend(validate(
            &app_docs,
            &sources,
            &Options { schemas: Some(req.schemas), ignore, ..Options::default() },
        ));
    }
    crate::finding::sort_dedup(&mut findings);
    Ok(Built { files, sources, findings, envs: loaded.envs.len(), out, notes })
}
