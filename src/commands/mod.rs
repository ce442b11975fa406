//! Commands: wire the stages together. Each command returns `Ok(())` or a [`CommandError`] that
//! carries its exit code and its message; [`run`] prints the message and maps the code.

mod argocd;
mod dev;
mod diff;
mod explain;
mod init;
mod invoke;
mod render;
mod validate;

use std::io::Write as _;

use crate::cli::{Cli, Command};
use crate::project::Project;

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

/// Why a command did not succeed: its exit code, and what to say (`error: ...` on stderr).
#[derive(Debug)]
pub(crate) struct CommandError {
    pub status: ExitStatus,
    pub message: Option<String>,
}

impl CommandError {
    /// The input is invalid (exit 1); the findings were reported, `message` closes the report.
    pub fn invalid(message: impl Into<Option<String>>) -> Self {
        CommandError { status: ExitStatus::Failure, message: message.into() }
    }

    /// Usage, I/O, configuration or internal failure (exit 2).
    pub fn fatal(message: impl std::fmt::Display) -> Self {
        CommandError { status: ExitStatus::Error, message: Some(message.to_string()) }
    }

    /// The reader closed stdout (`fnops ... | head`): nothing more to say, exit 0.
    fn closed_pipe() -> Self {
        CommandError { status: ExitStatus::Success, message: None }
    }

    /// Already said (a command that prints its own one-line errors): just the code.
    pub fn silent(status: ExitStatus) -> Self {
        CommandError { status, message: None }
    }
}

pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Render(args) => render::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Argocd { command } => argocd::run(&command),
        Command::Init(args) => init::run(&args),
        Command::Invoke(args) => invoke::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Dev(args) => dev::run(&args),
        Command::Record(args) => dev::record(&args),
        Command::Explain { rule } => explain::run(rule.as_deref()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "fnops", &mut out);
            write_stdout(&String::from_utf8_lossy(&out))
        }
        Command::Schema { overlay: false } => write_stdout(&project_schema()),
        Command::Schema { overlay: true } => write_stdout(&overlay_schema()),
    };
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => {
            if let Some(message) = &e.message {
                eprintln!("error: {message}");
            }
            e.status.into()
        }
    }
}

/// The JSON Schema of the project file, as committed in `schemas/fnops.schema.json`: draft-07,
/// the newest draft yaml-language-server (the editors' YAML support) reads.
pub fn project_schema() -> String {
    pretty(&project_schema_value())
}

fn project_schema_value() -> serde_json::Value {
    let schema =
        schemars::generate::SchemaSettings::draft07().into_generator().into_root_schema_for::<Project>();
    serde_json::to_value(&schema).unwrap_or_default()
}

/// The schema of an overlay (`environments/<env>.yaml`), as committed in
/// `schemas/fnops.overlay.schema.json`: the project file's, with nothing required at any depth
/// (an overlay sets only what differs), everything else (types, unknown fields) as strict.
pub fn overlay_schema() -> String {
    let mut schema = project_schema_value();
    drop_required(&mut schema);
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("title".into(), "fnops environment overlay".into());
        obj.insert(
            "description".into(),
            "An environment's overlay (`environments/<env>.yaml`), merged over `fnops.yaml`: any field of the project file, none required.".into(),
        );
    }
    pretty(&schema)
}

fn drop_required(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            // `required` is a keyword only where it lists names; a property may be named so.
            if map.get("required").is_some_and(serde_json::Value::is_array) {
                map.remove("required");
            }
            map.values_mut().for_each(drop_required);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_required),
        _ => {}
    }
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Write to stdout. A closed pipe (`fnops ... | head`) ends the command quietly with 0; any
/// other write error (a full disk, `/dev/full`) is an error, so truncated output never passes
/// for complete.
pub(crate) fn write_stdout(text: &str) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CommandError::closed_pipe()),
        Err(e) => Err(CommandError::fatal(format_args!("cannot write to stdout: {e}"))),
    }
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}
