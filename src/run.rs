//! Commands: wire the stages together and map outcomes to exit codes.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, RenderArgs};
use crate::finding::{Severity, display_path};
use crate::project::{Project, load};
use crate::render::{Placement, RenderedFile, load_templates, render};
use crate::report::render_text;
use crate::tree::{self, Scope};
use crate::validate::{Doc, validate};

/// The exit-code contract: 0 clean, 1 problems found, 2 usage, I/O or internal failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Error = 2,
}

impl From<ExitStatus> for u8 {
    fn from(s: ExitStatus) -> u8 {
        s as u8
    }
}

pub fn run(cli: Cli) -> u8 {
    let status = match cli.command {
        Command::Render(args) => render_command(&args),
        Command::Schema => {
            print_stdout(&project_schema());
            ExitStatus::Success
        }
    };
    status.into()
}

/// The JSON Schema of the project file, as committed in `schemas/fnops.schema.json`.
pub fn project_schema() -> String {
    let schema = schemars::schema_for!(Project);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Write to stdout; a closed pipe (`fnops ... | head`) is not an error.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn fail(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("error: {message}");
    ExitStatus::Error
}

fn render_command(args: &RenderArgs) -> ExitStatus {
    let loaded = match load(&args.project_dir, args.env.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => return fail(e),
    };
    let mut sources = loaded.sources.clone();
    if loaded.findings.iter().any(|f| f.severity == Severity::Error) {
        eprint!("{}", render_text(&loaded.findings, &sources));
        return ExitStatus::Failure;
    }
    let templates = match load_templates(args.templates.as_deref()) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let out: PathBuf = args.out.clone().unwrap_or_else(|| args.project_dir.join("deploy"));
    if let Err(e) = tree::check_out_dir(&out, &loaded.root) {
        return fail(e);
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
            return ExitStatus::Failure;
        }
    };

    let mut findings = loaded.findings.clone();
    for env in loaded.envs.iter().map(|e| e.env.as_str()) {
        let docs: Vec<Doc<'_>> =
            files.iter().filter(|f| f.env == env).map(|f| Doc { node: &f.object }).collect();
        findings.extend(validate(&docs, &sources));
    }
    crate::finding::sort_dedup(&mut findings);
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
                plural(loaded.envs.len(), "environment"),
                summary.written,
                summary.removed,
                summary.unchanged
            );
            ExitStatus::Success
        }
        Err(e) => fail(e),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// All rendered objects as one YAML stream, each preceded by the file it would be written to.
fn stream(files: &[RenderedFile], out_display: &str) -> String {
    let mut text = String::new();
    for f in files {
        let body = f.text.split_once('\n').map_or(f.text.as_str(), |(_, rest)| rest);
        text.push_str(&format!("---\n# Source: {out_display}/{}\n{body}", f.path));
    }
    text
}

/// An absolute path relative to the Git repository root (found by walking up to `.git`);
/// relative to the current directory when there is no repository.
fn repo_relative(abs: &Path) -> String {
    let mut dir = Some(abs);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return display_path(abs, d);
        }
        dir = d.parent();
    }
    let cwd = std::env::current_dir().map(|c| tree::absolute(&c)).unwrap_or_default();
    display_path(abs, &cwd)
}
