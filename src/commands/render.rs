//! `fnops render`: load → render → validate ([`crate::pipeline`]) → write (or `--check`,
//! `--stdout`).

use std::collections::BTreeSet;
use std::path::Path;

use super::{CommandError, plural, write_stdout};
use crate::cli::RenderArgs;
use crate::paths::relative_to;
use crate::pipeline::{self, Built, PipelineError};
use crate::render::RenderedFile;
use crate::report::render_text;
use crate::validate::SchemaSet;
use crate::write::{self, Scope};

pub(crate) fn run(args: &RenderArgs) -> Result<(), CommandError> {
    let version = crate::validate::schema::resolve_version(args.kube_version.as_deref())
        .map_err(|e| CommandError::fatal(format_args!("`--kube-version`: {e}")))?;
    for note in &version.notes {
        eprintln!("warning: {note}");
    }
    let schemas = SchemaSet::new(version.bundled);
    let request = pipeline::Request {
        project_dir: &args.project_dir,
        env: args.env.as_deref(),
        out: args.out.as_deref(),
        templates: args.templates.as_deref(),
        schemas: &schemas,
        default_namespace: None,
    };
    let built = pipeline::build(&request).map_err(report_pipeline_error)?;
    let Built { files, sources, findings, envs, out, notes } = &built;
    for note in notes {
        eprintln!("warning: {note}");
    }
    if !findings.is_empty() {
        eprint!("{}", render_text(findings, sources));
    }
    if built.has_errors() {
        return Err(CommandError::invalid(
            "the rendered objects are invalid; nothing was written".to_owned(),
        ));
    }

    let out_display = relative_to(out, Path::new("."));
    if args.stdout {
        return write_stdout(&stream(files, &out_display));
    }
    let scope = match &args.env {
        Some(env) => Scope::Envs(BTreeSet::from([env.clone()])),
        None => Scope::All,
    };
    if args.check {
        let diffs = write::diff(out, files, &scope).map_err(CommandError::fatal)?;
        if diffs.is_empty() {
            eprintln!("`{out_display}` is up to date ({} files)", files.len());
            return Ok(());
        }
        write_stdout(&write::unified(&diffs, &out_display))?;
        return Err(CommandError::invalid(format!(
            "`{out_display}` is out of date ({} files differ): run `fnops render`",
            diffs.len()
        )));
    }
    let summary = write::write(out, files, &scope).map_err(CommandError::fatal)?;
    eprintln!(
        "rendered {} into `{out_display}`: {} written, {} removed, {} unchanged",
        plural(*envs, "environment"),
        summary.written,
        summary.removed,
        summary.unchanged
    );
    Ok(())
}

/// Report a failed build as the CLI does: findings as text, then the exit code.
pub(crate) fn report_pipeline_error(e: PipelineError) -> CommandError {
    match e {
        PipelineError::Invalid { sources, findings } => {
            eprint!("{}", render_text(&findings, &sources));
            CommandError::invalid(None)
        }
        e @ PipelineError::Render(_) => CommandError::invalid(e.to_string()),
        e => CommandError::fatal(e),
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
