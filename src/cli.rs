//! Command-line types only (clap derive). Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// Parse the process arguments (exits 2 on a usage error, as clap does).
pub fn parse() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Validate(args), Some(("validate", sub))) = (&mut cli.command, matches.subcommand()) {
        let formats: Vec<usize> = sub.indices_of("format").map(Iterator::collect).unwrap_or_default();
        let outputs: Vec<usize> = sub.indices_of("output").map(Iterator::collect).unwrap_or_default();
        args.reports = pair_reports(&args.format, &formats, &args.output, &outputs);
    }
    cli
}

/// Each `--output` belongs to the nearest `--format` before it; an output with no format
/// before it is kept with `Text` so the command can refuse it.
fn pair_reports(
    formats: &[crate::report::Format],
    format_at: &[usize],
    outputs: &[PathBuf],
    output_at: &[usize],
) -> Vec<(crate::report::Format, Option<PathBuf>)> {
    let mut reports: Vec<(crate::report::Format, Option<PathBuf>)> =
        formats.iter().map(|f| (*f, None)).collect();
    for (path, at) in outputs.iter().zip(output_at) {
        match format_at.iter().rposition(|f| f < at) {
            Some(i) if reports[i].1.is_none() => reports[i].1 = Some(path.clone()),
            _ => reports.push((crate::report::Format::Text, Some(path.clone()))),
        }
    }
    reports
}

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
    /// Validate Kubernetes YAML (files, directories, `-` for stdin) and fnops projects
    Validate(ValidateArgs),
    /// ArgoCD Config Management Plugin: `generate` (run by ArgoCD) and `plugin` (install)
    Argocd {
        #[command(subcommand)]
        command: ArgocdCommand,
    },
    /// Create a working project (fnops.yaml, the metrics handler, an environment, pre-commit)
    Init(InitArgs),
    /// Run the project's handler locally (no Redis) through the runtime's Python worker
    Invoke(InvokeArgs),
    /// The objects a change deploys: the project rendered at a Git revision against the working
    /// tree, object by object (for reviews, in plugin mode too)
    Diff(DiffArgs),
    /// Run the function locally as its Deployment would, against a private Redis, fed from a
    /// series or a sample, reloading on save, with its live dashboard (needs fnops-runtime)
    Dev(DevArgs),
    /// Sample a live input key into a series (one JSON document per line, each distinct value
    /// once) that `invoke --series` and `dev --series` replay (needs fnops-runtime)
    Record(RecordArgs),
    /// What a validation rule checks, why, and how to fix it; all rules without an argument
    Explain {
        /// A rule id, e.g. `subpath-key`
        rule: Option<String>,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema (draft-07) of `fnops.yaml` (the source of
    /// `schemas/fnops.schema.json`)
    Schema {
        /// The schema of an environment overlay instead: nothing required (the source of
        /// `schemas/fnops.overlay.schema.json`)
        #[arg(long)]
        overlay: bool,
    },
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Directory holding `fnops.yaml`
    #[arg(default_value = ".")]
    pub project_dir: PathBuf,
    /// Environment whose project settings to use; default: the first
    #[arg(long)]
    pub env: Option<String>,
    /// One input document (JSON); default: the course's metrics sample
    #[arg(long, conflicts_with = "series")]
    pub input: Option<PathBuf>,
    /// A series of inputs, one JSON document per line, called in order with one `context`
    #[arg(long)]
    pub series: Option<PathBuf>,
    /// Expected outputs, one per line, byte for byte as the runtime writes them (`null` for
    /// nothing written); exit 1 on a mismatch
    #[arg(long, conflicts_with = "expect_json")]
    pub expect: Option<PathBuf>,
    /// Expected outputs compared as JSON values (key order and spacing do not matter)
    #[arg(long, value_name = "FILE")]
    pub expect_json: Option<PathBuf>,
    /// Python interpreter for the worker
    #[arg(long, default_value = "python3", env = "PYTHON")]
    pub python: String,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Directory holding `fnops.yaml`
    #[arg(default_value = ".")]
    pub project_dir: PathBuf,
    /// Environment whose settings to run; default: the first
    #[arg(long, env = "FNOPS_ENV")]
    pub env: Option<String>,
    /// A Redis to use instead of a private `redis-server` (`redis://host:port/db`)
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Feed these inputs (one JSON document per line) into the input key, one per period
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["input", "no_feed"])]
    pub series: Option<PathBuf>,
    /// Feed this one input once; default: `function.inputSample`, else the course's sample
    #[arg(long, value_name = "FILE", conflicts_with = "no_feed")]
    pub input: Option<PathBuf>,
    /// Leave the input key alone (a real metrics source writes it)
    #[arg(long)]
    pub no_feed: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The Redis to read (`redis://host:port/db`); only `GET` is sent
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// The key to sample
    #[arg(long, default_value = "metrics")]
    pub key: String,
    /// Stop after this long (`30s`, `10m`)
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Stop after this many distinct values
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// How often to read the key
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub every: String,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Directory holding `fnops.yaml`, inside a Git repository
    #[arg(default_value = ".")]
    pub project_dir: PathBuf,
    /// The revision to compare with (read from Git, nothing is checked out), e.g. `origin/main`
    #[arg(long, default_value = "HEAD")]
    pub base: String,
    /// Only this environment; default: all of them
    #[arg(long, env = "FNOPS_ENV")]
    pub env: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when objects differ
    #[arg(long)]
    pub exit_code: bool,
}

/// Output formats of `fnops diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A summary line and a unified diff per object
    Text,
    /// A table and a collapsed diff per object, for a pull-request comment or a job summary
    Markdown,
    /// GitHub Actions notices, one per object
    Github,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the project (created when missing); existing files are never overwritten
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ArgocdCommand {
    /// Render the project in the current directory and print its objects (the plugin's
    /// generate command). Environment: `ARGOCD_ENV_FNOPS_ENV`, else the `env` parameter in
    /// `ARGOCD_APP_PARAMETERS`, else the project's only one; `ARGOCD_APP_NAMESPACE` is the default
    /// namespace; `KUBE_VERSION` picks the schemas. On error: nothing on stdout, one line on stderr.
    Generate,
    /// What an operator installs, in the shape of each install path: the ConfigMap
    /// (`kubectl apply -f -`), a Kustomize component (ConfigMap and argocd-repo-server sidecar
    /// patch) or values for the argo-helm chart. The plugin is `fnops-v1` (the version stays
    /// across releases); Applications find it by discovery (`fnops.yaml`) without naming it.
    Plugin {
        /// What to write
        #[arg(long, value_enum, default_value_t = PluginFormat::Configmap)]
        format: PluginFormat,
        /// The directory `--format kustomize` writes
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print only `plugin.yaml` itself (what the CLI image bakes in at
        /// `/home/argocd/cmp-server/config/plugin.yaml`); same as `--format config`
        #[arg(long, conflicts_with_all = ["format", "out"])]
        config: bool,
    },
}

/// Shapes of `fnops argocd plugin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PluginFormat {
    /// The ConfigMap holding `plugin.yaml` (argocd namespace), to `kubectl apply`
    Configmap,
    /// A Kustomize component (`--out DIR`): the ConfigMap and the argocd-repo-server sidecar patch
    Kustomize,
    /// Values for the argo-helm `argo-cd` chart (`configs.cmp.plugins`, `repoServer.extraContainers`)
    HelmValues,
    /// `plugin.yaml` alone
    Config,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files and directories to check (`.yaml`, `.yml`, `.json`); `-` reads stdin. A directory
    /// holding `fnops.yaml` is checked as a project (project file, environments, render).
    pub paths: Vec<PathBuf>,
    /// Output format; repeat it to write several reports in one run
    #[arg(long, value_enum)]
    pub format: Vec<crate::report::Format>,
    /// Write the report of the `--format` just before it to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Each report with its file (`None`: stdout), filled by [`parse`] from argument positions.
    #[arg(skip)]
    pub reports: Vec<(crate::report::Format, Option<PathBuf>)>,
    /// Kubernetes version to check for (`1.31`), or an upgrade (`1.31..1.34`: what breaks on
    /// the way); default: the newest bundled
    #[arg(long, env = "KUBE_VERSION")]
    pub kube_version: Option<String>,
    /// Extra JSON Schemas (CRDs): `<kind>_<version>.json`, `<kind>-<group>-<version>.json` or
    /// `<group>/<kind>_<version>.json` (the CRDs-catalog layout)
    #[arg(long, value_name = "DIR")]
    pub schema_dir: Vec<PathBuf>,
    /// A ConfigMap that exists outside the checked files (repeatable)
    #[arg(long, value_name = "NAME")]
    pub external: Vec<String>,
    /// Skip a rule everywhere (repeatable); per object, use the annotation `fnops.io/ignore`
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// A JSON document shaped like the handler's input, for `input-key-unknown`; default:
    /// the course's metrics document (a project's `function.inputSample` wins for its render)
    #[arg(long, value_name = "FILE")]
    pub input_sample: Option<PathBuf>,
    /// Check only the manifest files changed since this Git revision (e.g. the pull request's
    /// base), with their directories as context; PATHs, if given, narrow the search
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
    /// Check only the files given, without the other manifests of their directories as context
    #[arg(long)]
    pub no_context: bool,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub strict_warnings: bool,
    /// List the files skipped as not manifests (Helm charts, kustomizations, other tools' files)
    #[arg(long, short)]
    pub verbose: bool,
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
    /// Kubernetes version of the schemas the render is checked against; default: the newest
    #[arg(long, env = "KUBE_VERSION")]
    pub kube_version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Format::{Github, Junit, Sarif, Text};

    #[test]
    fn outputs_attach_to_the_format_before_them() {
        let p = |s: &str| PathBuf::from(s);
        // --format github --format sarif --output a.sarif
        assert_eq!(
            pair_reports(&[Github, Sarif], &[2, 4], &[p("a.sarif")], &[6]),
            vec![(Github, None), (Sarif, Some(p("a.sarif")))]
        );
        // --format sarif --output a --format junit --output b --format github
        assert_eq!(
            pair_reports(&[Sarif, Junit, Github], &[2, 6, 10], &[p("a"), p("b")], &[4, 8]),
            vec![(Sarif, Some(p("a"))), (Junit, Some(p("b"))), (Github, None)]
        );
        // an --output before any --format is kept apart, to be refused
        assert_eq!(pair_reports(&[Text], &[4], &[p("x")], &[2]).len(), 2);
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
