//! JUnit XML as GitLab and Jenkins read it: one test case per (object, rule) with findings, named
//! `<object> <rule>`, with a `file` attribute (GitLab links cases to files by it) and at most one
//! `<failure>` (for errors; the Ant schema allows one, GitLab reads one); warnings pass, their
//! text in `<system-out>`. Every clean object is a passing case of its own, and findings about a
//! file rather than an object (syntax errors) are cases of the file. `tests` and `failures`
//! count test cases.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Checked;
use crate::finding::{Finding, Severity};

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || *c >= ' ')
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A test case: file, the object (or `-` for the file itself), the rule (`None`: a clean object).
type Case<'a> = (&'a str, &'a str, Option<&'static str>);

fn line(f: &Finding) -> String {
    let mut text = format!("{}:{}:{}: {}", f.file, f.line, f.column, f.message);
    if let Some(hint) = &f.hint {
        text.push_str(&format!(" (hint: {hint})"));
    }
    text
}

pub fn render(findings: &[Finding], checked: &Checked) -> String {
    let mut cases: BTreeMap<Case<'_>, Vec<&Finding>> = BTreeMap::new();
    let mut with_findings: BTreeSet<(&str, &str)> = BTreeSet::new();
    for f in findings {
        let object = f.object.as_deref().unwrap_or("-");
        with_findings.insert((f.file.as_str(), object));
        cases.entry((f.file.as_str(), object, Some(f.rule.id()))).or_default().push(f);
    }
    for (file, object) in &checked.objects {
        if !with_findings.contains(&(file.as_str(), object.as_str())) {
            cases.entry((file.as_str(), object.as_str(), None)).or_default();
        }
    }
    // A file with neither objects nor findings (empty, comments only) passes as itself.
    let files_with_cases: BTreeSet<&str> = cases.keys().map(|(file, _, _)| *file).collect();
    for file in &checked.files {
        if !files_with_cases.contains(file.as_str()) {
            cases.entry((file.as_str(), "-", None)).or_default();
        }
    }
    let failures = cases.values().filter(|fs| fs.iter().any(|f| f.severity == Severity::Error)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = cases.len();
    let _ = writeln!(
        out,
        "<testsuites name=\"fnops validate\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"fnops validate\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">"
    );
    for ((file, object, rule), fs) in &cases {
        let name = match (rule, *object) {
            (Some(rule), "-") => format!("{file} {rule}"),
            (Some(rule), object) => format!("{object} {rule}"),
            (None, "-") => (*file).to_owned(),
            (None, object) => object.to_owned(),
        };
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"",
            xml(file),
            xml(&name),
            xml(file)
        );
        if let Some(first) = fs.first() {
            let _ = write!(out, " line=\"{}\"", first.line);
        }
        if fs.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let errors: Vec<&&Finding> = fs.iter().filter(|f| f.severity == Severity::Error).collect();
        if let Some(first) = errors.first() {
            let more =
                if errors.len() > 1 { format!(" (and {} more)", errors.len() - 1) } else { String::new() };
            let body: Vec<String> = errors.iter().map(|f| xml(&line(f))).collect();
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}{more}\">{}</failure>",
                first.rule,
                xml(&first.message),
                body.join("\n")
            );
        }
        let warnings: Vec<String> = fs
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("warning: {}", xml(&line(f))))
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(out, "      <system-out>{}</system-out>", warnings.join("\n"));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
