//! `fnops render`: load → render → validate → write (or `--check`, `--stdout`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{ExitStatus, fail, plural, print_stdout, repo_relative};
use crate::cli::RenderArgs;
use crate::finding::{Finding, Severity, Sources, display_path};
use crate::project::load;
use crate::render::{Placement, RenderedFile, load_templates, render};
use crate::report::render_text;
use crate::tree::{self, Scope};
use crate::validate::{Doc, Options, SchemaSet, validate};

/// A project rendered in memory and validated.
pub(crate) struct Built {
    pub files: Vec<RenderedFile>,
    pub sources: Sources,
    pub findings: Vec<Finding>,
    pub envs: usize,
    pub out: PathBuf,
}

/// Load, render and validate a project without writing anything. `Err` carries the exit
/// status of a failure that was already reported on stderr.
pub(crate) fn build_project(
    project_dir: &Path,
    env: Option<&str>,
    out: Option<&Path>,
    templates: Option<&Path>,
    schemas: &SchemaSet,
    default_namespace: Option<&str>,
) -> Result<Built, (ExitStatus, Sources, Vec<Finding>)> {
    let mut loaded = match load(project_dir, env) {
        Ok(loaded) => loaded,
        Err(e) => return Err((fail(e), Sources::default(), Vec::new())),
    };
    let mut sources = loaded.sources.clone();
    if loaded.findings.iter().any(|f| f.severity == Severity::Error) {
        return Err((ExitStatus::Failure, sources, loaded.findings));
    }
    // The plugin's `ARGOCD_APP_NAMESPACE`: objects of a project without a namespace go there.
    if let Some(ns) = default_namespace {
        for env in &mut loaded.envs {
            env.project.namespace.get_or_insert_with(|| ns.to_owned());
        }
    }
    let templates = match load_templates(templates) {
        Ok(t) => t,
        Err(e) => return Err((fail(e), sources, Vec::new())),
    };
    let out: PathBuf = out.map(Path::to_path_buf).unwrap_or_else(|| project_dir.join("deploy"));
    if let Err(e) = tree::check_out_dir(&out, &loaded.root) {
        return Err((fail(e), sources, Vec::new()));
    }
    let out_abs = tree::absolute(&out);
    let placement = Placement {
        repo_path: repo_relative(&out_abs),
        project_file: repo_relative(&loaded.root.join(crate::project::PROJECT_FILE)),
        out: out_abs,
    };
    let files = match render(&loaded, &templates, &placement, &mut sources) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Err((ExitStatus::Failure, sources, Vec::new()));
        }
    };
    let mut findings = loaded.findings.clone();
    // The project's own input sample (paths were checked by the loader), else the course's.
    let sample = loaded
        .envs
        .iter()
        .find_map(|e| e.project.function.input_sample.as_ref())
        .map(|rel| super::read_input_sample(&project_dir.join(rel)));
    let input_keys = match sample {
        Some(Ok(keys)) => Some(keys),
        Some(Err(e)) => return Err((fail(e), sources, Vec::new())),
        None => None,
    };
    for (env, ignore) in loaded.envs.iter().map(|e| (e.env.as_str(), &e.project.ignore)) {
        let (apps, objects): (Vec<&RenderedFile>, Vec<&RenderedFile>) =
            files.iter().filter(|f| f.env == env).partition(|f| f.path.starts_with("argocd/"));
        let docs: Vec<Doc<'_>> = objects.iter().map(|f| Doc { node: &f.object }).collect();
        let opts =
            Options { schemas: Some(schemas), input_keys: input_keys.as_ref(), ignore, ..Options::default() };
        findings.extend(validate(&docs, &sources, &opts));
        // The Applications are ArgoCD CRDs: checked for the rules that apply to any object.
        let app_docs: Vec<Doc<'_>> = apps.iter().map(|f| Doc { node: &f.object }).collect();
        findings.extend(validate(&app_docs, &sources, &Options { ignore, ..Options::default() }));
    }
    crate::finding::sort_dedup(&mut findings);
    Ok(Built { files, sources, findings, envs: loaded.envs.len(), out })
}

pub(crate) fn run(args: &RenderArgs) -> ExitStatus {
    let version = match crate::validate::schema::resolve_version(args.kube_version.as_deref()) {
        Ok(v) => v,
        Err(e) => return fail(format_args!("`--kube-version`: {e}")),
    };
    let schemas = SchemaSet::new(version, Vec::new());
    let built = match build_project(
        &args.project_dir,
        args.env.as_deref(),
        args.out.as_deref(),
        args.templates.as_deref(),
        &schemas,
        None,
    ) {
        Ok(built) => built,
        Err((status, sources, findings)) => {
            if !findings.is_empty() {
                eprint!("{}", render_text(&findings, &sources));
            }
            return status;
        }
    };
    let Built { files, sources, findings, envs, out } = built;
    if !findings.is_empty() {
        eprint!("{}", render_text(&findings, &sources));
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        eprintln!("error: the rendered objects are invalid; nothing was written");
        return ExitStatus::Failure;
    }

    let out_display = display_path(&out, Path::new("."));
    if args.stdout {
        print_stdout(&stream(&files, &out_display));
        return ExitStatus::Success;
    }
    let scope = match &args.env {
        Some(env) => Scope::Envs(BTreeSet::from([env.clone()])),
        None => Scope::All,
    };
    if args.check {
        return match tree::diff(&out, &files, &scope) {
            Ok(diffs) if diffs.is_empty() => {
                eprintln!("`{out_display}` is up to date ({} files)", files.len());
                ExitStatus::Success
            }
            Ok(diffs) => {
                print_stdout(&tree::unified(&diffs, &out_display));
                eprintln!(
                    "error: `{out_display}` is out of date ({} files differ): run `fnops render`",
                    diffs.len()
                );
                ExitStatus::Failure
            }
            Err(e) => fail(e),
        };
    }
    match tree::write(&out, &files, &scope) {
        Ok(summary) => {
            eprintln!(
                "rendered {} into `{out_display}`: {} written, {} removed, {} unchanged",
                plural(envs, "environment"),
                summary.written,
                summary.removed,
                summary.unchanged
            );
            ExitStatus::Success
        }
        Err(e) => fail(e),
    }
}

/// All rendered objects as one YAML stream, each preceded by the file it would be written to.
pub(crate) fn stream(files: &[RenderedFile], out_display: &str) -> String {
    let mut text = String::new();
    for f in files {
        text.push_str(&format!("---\n# Source: {out_display}/{}\n{}", f.path, f.body()));
    }
    text
}
