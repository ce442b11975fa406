//! REPORT: turn findings into what a person or a machine reads. Only this stage and `main`
//! write to the terminal.

mod fingerprint;
mod github;
mod gitlab;
mod junit;
mod sarif;
pub mod stream;
pub mod text;

pub use text::render_text;

use crate::finding::{Finding, Sources};

/// Output formats of `fnops validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics with a source snippet and a caret (default)
    Text,
    /// A JSON array of findings (rule, severity, file, line, column, object, message, hint)
    Json,
    /// SARIF 2.1.0, for code scanning
    Sarif,
    /// JUnit XML (GitLab, Jenkins): one test case per object and rule, one per clean object
    Junit,
    /// GitHub Actions workflow commands (annotations on the lines)
    Github,
    /// GitLab Code Quality (Code Climate JSON, for `artifacts:reports:codequality`)
    Gitlab,
}

/// What a run checked, for reports that list passes too (JUnit).
#[derive(Debug, Default)]
pub struct Checked {
    /// Every file checked.
    pub files: Vec<String>,
    /// Every object checked: its file and its `kind/namespace/name`.
    pub objects: Vec<(String, String)>,
}

/// Render findings in `format`.
pub fn render(format: Format, findings: &[Finding], sources: &Sources, checked: &Checked) -> String {
    match format {
        Format::Text => render_text(findings, sources),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(findings).unwrap_or_else(|_| "[]".into());
            text.push('\n');
            text
        }
        Format::Sarif => sarif::render(findings),
        Format::Junit => junit::render(findings, checked),
        Format::Github => github::render(findings),
        Format::Gitlab => gitlab::render(findings),
    }
}
