//! Human diagnostics in the rustc/ruff shape: header, `-->` location, the source line with a
//! caret under the offending value, and a `hint:` when a fix is known. Plain text (no colour
//! codes), so it reads the same in a terminal, a CI log or a snapshot.

use std::fmt::Write as _;

use crate::finding::{Finding, Severity, Sources};

/// Render all findings followed by a one-line summary.
pub fn render_text(findings: &[Finding], sources: &Sources) -> String {
    let mut out = String::new();
    for f in findings {
        render_one(&mut out, f, sources);
        out.push('\n');
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    if !findings.is_empty() {
        let _ = writeln!(out, "{}, {}", plural(errors, "error"), plural(warnings, "warning"));
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

fn render_one(out: &mut String, f: &Finding, sources: &Sources) {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{level}[{}]: {}", f.rule, f.message);
    let number = f.line.to_string();
    let gutter = " ".repeat(number.len() + 1);
    let _ = writeln!(out, "{gutter}--> {}:{}:{}", f.file, f.line, f.column);
    if let Some(line) =
        sources.text_of(&f.file).and_then(|t| t.lines().nth(f.line.saturating_sub(1) as usize))
    {
        let line = line.trim_end_matches('\r');
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, " {number} | {line}");
        let lead: String = line
            .chars()
            .take(f.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(f.len.clamp(1, 80) as usize);
        let _ = writeln!(out, "{gutter} | {lead}{carets}");
    }
    if let Some(obj) = &f.object {
        let _ = writeln!(out, "{gutter} = object: {obj}");
    }
    if let Some(hint) = &f.hint {
        let _ = writeln!(out, "{gutter} = hint: {hint}");
    }
}
