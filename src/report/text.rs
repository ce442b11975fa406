//! Human diagnostics in the rustc/ruff shape: header, `-->` location, the source line with a
//! caret under the offending value, and a `hint:` when a fix is known. Plain text (no colour
//! codes), so it reads the same in a terminal, a CI log or a snapshot.

use std::fmt::Write as _;

use crate::finding::{Finding, Severity, Sources};

/// A group of like findings is shown in full up to this size; a bigger one shows its first
/// finding and a count ("and 4,999 more like this in 50 files"). JSON, SARIF and JUnit list
/// every finding.
const SHOWN_IN_FULL: usize = 3;

/// What makes findings "like" each other: the rule, and the message with its quoted names
/// masked (`container `fn` has no livenessProbe` is like `container `api` has ...`).
fn likeness(f: &Finding) -> (crate::finding::Rule, String) {
    let mut masked = String::with_capacity(f.message.len());
    for (i, part) in f.message.split('`').enumerate() {
        if i % 2 == 1 {
            masked.push_str("`…`");
        } else {
            masked.push_str(part);
        }
    }
    (f.rule, masked)
}

/// Render all findings (like ones grouped), then a summary per rule and in all.
pub fn render_text(findings: &[Finding], sources: &Sources) -> String {
    let mut out = String::new();
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut index: std::collections::HashMap<(crate::finding::Rule, String), usize> =
        std::collections::HashMap::new();
    for f in findings {
        let slot = *index.entry(likeness(f)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(f);
    }
    for group in &groups {
        if group.len() <= SHOWN_IN_FULL {
            for f in group {
                render_one(&mut out, f, sources);
                out.push('\n');
            }
            continue;
        }
        render_one(&mut out, group[0], sources);
        let files: std::collections::BTreeSet<&str> = group[1..].iter().map(|f| f.file.as_str()).collect();
        let _ = writeln!(
            out,
            "   = and {} more like this in {} (`--format json` lists every one)",
            thousands(group.len() - 1),
            plural(files.len(), "file")
        );
        out.push('\n');
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    if !findings.is_empty() {
        let mut per_rule: std::collections::BTreeMap<(Severity, &str), usize> =
            std::collections::BTreeMap::new();
        for f in findings {
            *per_rule.entry((f.severity, f.rule.id())).or_default() += 1;
        }
        if per_rule.len() > 1 {
            let width = per_rule.keys().map(|(_, id)| id.len()).max().unwrap_or(0);
            for ((severity, id), n) in &per_rule {
                let word = if *severity == Severity::Error { "error" } else { "warning" };
                let _ = writeln!(out, "{id:<width$}  {}", plural_str(&thousands(*n), *n, word));
            }
        }
        let _ = writeln!(out, "{}, {}", plural(errors, "error"), plural(warnings, "warning"));
    }
    out
}

/// `4999` as `4,999`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural_str(shown: &str, n: usize, word: &str) -> String {
    if n == 1 { format!("{shown} {word}") } else { format!("{shown} {word}s") }
}

fn plural(n: usize, word: &str) -> String {
    plural_str(&thousands(n), n, word)
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
    if let Some(line) = sources.id_of(&f.file).and_then(|id| sources.line(id, f.line)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Rule;
    use crate::yaml::Loc;

    fn finding(rule: Rule, file: &str, line: u32, message: &str) -> Finding {
        let mut sources = Sources::default();
        let id = sources.add(file, "");
        Finding::new(rule, &sources, Loc { file: id, line, col: 1, len: 1 }, message)
    }

    #[test]
    fn like_findings_are_grouped_and_counted() {
        let mut findings: Vec<Finding> = (0..5000)
            .map(|i| {
                finding(
                    Rule::ProbeMissing,
                    &format!("f{}.yaml", i / 100),
                    i % 100 + 1,
                    &format!("container `c{i}` has no livenessProbe"),
                )
            })
            .collect();
        findings.push(finding(Rule::RefMissingKey, "a.yaml", 3, "ConfigMap `x` has no key `y`"));
        findings.push(finding(Rule::RefMissingKey, "a.yaml", 4, "ConfigMap `x` has no key `z`"));
        let text = render_text(&findings, &Sources::default());
        assert_eq!(text.matches("warning[probe-missing]").count(), 1, "{text}");
        assert!(text.contains("and 4,999 more like this in 50 files"), "{text}");
        assert_eq!(text.matches("error[ref-missing-key]").count(), 2, "small groups in full");
        assert!(text.contains("probe-missing    5,000 warnings"), "{text}");
        assert!(text.contains("ref-missing-key  2 errors"), "{text}");
        assert!(text.ends_with("2 errors, 5,000 warnings\n"), "{text}");
    }

    #[test]
    fn numbers_get_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
