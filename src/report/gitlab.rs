//! GitLab Code Quality: the Code Climate subset GitLab reads from
//! `artifacts:reports:codequality` (a JSON array of issues with `description`, `check_name`,
//! `fingerprint`, `severity` and `location.path` / `location.lines.begin`), so merge requests show
//! findings on their lines.

use serde_json::json;

use super::fingerprint::fingerprints;
use crate::finding::{Finding, Severity};

/// One Code Quality issue.
pub fn issue(f: &Finding, fingerprint: String) -> serde_json::Value {
    let mut description = f.message.clone();
    if let Some(object) = &f.object {
        description.push_str(&format!(" ({object})"));
    }
    json!({
        "type": "issue",
        "description": description,
        "check_name": f.rule.id(),
        "categories": ["Bug Risk"],
        "fingerprint": fingerprint,
        // GitLab's scale: info, minor, major, critical, blocker.
        "severity": match f.severity { Severity::Error => "major", Severity::Warning => "minor" },
        "location": {"path": f.file, "lines": {"begin": f.line.max(1)}},
        "content": {"body": f.hint.clone().unwrap_or_else(|| f.rule.help().to_owned())},
    })
}

pub fn render(findings: &[Finding]) -> String {
    let issues: Vec<serde_json::Value> =
        findings.iter().zip(fingerprints(findings)).map(|(f, fingerprint)| issue(f, fingerprint)).collect();
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
