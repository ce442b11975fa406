//! JUnit XML: a test suite per rule run, a test case per file, a failure per error finding.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

pub fn render(findings: &[Finding], files: &[String]) -> String {
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = files.iter().map(|f| (f.as_str(), Vec::new())).collect();
    for f in findings {
        by_file.entry(f.file.as_str()).or_default().push(f);
    }
    let failures = by_file.values().filter(|fs| fs.iter().any(|f| f.severity == Severity::Error)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"fnops validate\" tests=\"{}\" failures=\"{failures}\">",
        by_file.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"fnops validate\" tests=\"{}\" failures=\"{failures}\">",
        by_file.len()
    );
    for (file, fs) in &by_file {
        let _ = write!(out, "    <testcase classname=\"fnops\" name=\"{}\"", xml(file));
        let errors: Vec<&&Finding> = fs.iter().filter(|f| f.severity == Severity::Error).collect();
        let warnings: Vec<&&Finding> = fs.iter().filter(|f| f.severity == Severity::Warning).collect();
        if errors.is_empty() && warnings.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        for f in &errors {
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}:{}:{}: {}</failure>",
                f.rule,
                xml(&f.message),
                xml(&f.file),
                f.line,
                f.column,
                xml(&f.message)
            );
        }
        if !warnings.is_empty() {
            out.push_str("      <system-out>");
            for f in &warnings {
                let _ = writeln!(
                    out,
                    "warning[{}] {}:{}:{}: {}",
                    f.rule,
                    xml(&f.file),
                    f.line,
                    f.column,
                    xml(&f.message)
                );
            }
            out.push_str("</system-out>\n");
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
