//! Command-line types only (clap derive). Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "Exit codes:\n  0  success (the tree is up to date, the project is valid)\n  1  the project or the rendered output is invalid, or `--check` found a stale tree\n  2  usage, I/O or internal error";

/// Render serverless Python functions into validated, ArgoCD-ready Kubernetes trees.
#[derive(Debug, Parser)]
#[command(name = "fnops", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the project into `<out>/<env>/` (objects) and `<out>/argocd/` (Applications)
    Render(RenderArgs),
    /// Print the JSON Schema of `fnops.yaml` (the source of `schemas/fnops.schema.json`)
    Schema,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory holding `fnops.yaml`
    #[arg(default_value = ".")]
    pub project_dir: PathBuf,
    /// Render only this environment (`environments/<ENV>.yaml`); default: all of them
    #[arg(long, env = "FNOPS_ENV")]
    pub env: Option<String>,
    /// Output directory; default: `deploy/` beside `fnops.yaml`
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not write: exit 1 with a unified diff when the tree on disk differs
    #[arg(long, conflicts_with = "stdout")]
    pub check: bool,
    /// Do not write: print the objects as one YAML stream
    #[arg(long)]
    pub stdout: bool,
    /// Directory of `.j2` templates replacing the embedded ones of the same name
    #[arg(long)]
    pub templates: Option<PathBuf>,
}
