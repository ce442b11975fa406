//! Commands: wire the stages together and map outcomes to exit codes.

mod argocd;
mod explain;
mod init;
mod invoke;
mod render;
mod validate;

use std::io::Write as _;
use std::path::Path;

use crate::cli::{Cli, Command};
use crate::finding::display_path;
use crate::project::Project;

pub(crate) use render::build_project;
pub(crate) use validate::read_input_sample;

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
        Command::Render(args) => render::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Argocd { command } => argocd::run(&command),
        Command::Init(args) => init::run(&args),
        Command::Invoke(args) => invoke::run(&args),
        Command::Explain { rule } => explain::run(rule.as_deref()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "fnops", &mut out);
            print_stdout(&String::from_utf8_lossy(&out));
            ExitStatus::Success
        }
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
pub(crate) fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub(crate) fn fail(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("error: {message}");
    ExitStatus::Error
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// An absolute path relative to the Git repository root (found by walking up to `.git`);
/// relative to the current directory when there is no repository.
pub(crate) fn repo_relative(abs: &Path) -> String {
    let mut dir = Some(abs);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return display_path(abs, d);
        }
        dir = d.parent();
    }
    let cwd = std::env::current_dir().map(|c| crate::tree::absolute(&c)).unwrap_or_default();
    display_path(abs, &cwd)
}
