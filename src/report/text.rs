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

/// A group of like findings: the first ones in full (up to [`SHOWN_IN_FULL`] + 1), how many
/// there are, and in how many files.
struct Group {
    shown: Vec<Finding>,
    count: usize,
    files: std::collections::HashSet<String>,
}

/// The text report, built finding by finding (a streamed run feeds it file by file; it keeps
/// the groups, not every finding).
#[derive(Default)]
pub struct TextReport {
    groups: Vec<Group>,
    index: std::collections::HashMap<(crate::finding::Rule, String), usize>,
    per_rule: std::collections::BTreeMap<(Severity, &'static str), usize>,
    errors: usize,
    total: usize,
}

impl TextReport {
    pub fn push(&mut self, f: &Finding) {
        self.total += 1;
        self.errors += usize::from(f.severity == Severity::Error);
        *self.per_rule.entry((f.severity, f.rule.id())).or_default() += 1;
        let next = self.groups.len();
        let slot = *self.index.entry(likeness(f)).or_insert(next);
        if slot == next {
            self.groups.push(Group { shown: Vec::new(), count: 0, files: Default::default() });
        }
        let group = &mut self.groups[slot];
        group.count += 1;
        if group.shown.len() <= SHOWN_IN_FULL {
            group.shown.push(f.clone());
        }
        if group.count > 1 && !group.files.contains(&f.file) {
            group.files.insert(f.file.clone());
        }
    }

    /// The report; snippets come from each finding's own, else from `sources`.
    pub fn finish(self, sources: &Sources) -> String {
        let mut out = String::new();
        for group in &self.groups {
            if group.count <= SHOWN_IN_FULL {
                for f in &group.shown {
                    render_one(&mut out, f, sources);
                    out.push('\n');
                }
                continue;
            }
            render_one(&mut out, &group.shown[0], sources);
            let _ = writeln!(
                out,
                "   = and {} more like this in {} (`--format json` lists every one)",
                thousands(group.count - 1),
                plural(group.files.len(), "file")
            );
            out.push('\n');
        }
        if self.total > 0 {
            if self.per_rule.len() > 1 {
                let width = self.per_rule.keys().map(|(_, id)| id.len()).max().unwrap_or(0);
                for ((severity, id), n) in &self.per_rule {
                    let word = if *severity == Severity::Error { "error" } else { "warning" };
                    let _ = writeln!(out, "{id:<width$}  {}", plural_str(&thousands(*n), *n, word));
                }
            }
            let _ = writeln!(
                out,
                "{}, {}",
                plural(self.errors, "error"),
                plural(self.total - self.errors, "warning")
            );
        }
        out
    }
}

/// Render all findings (like ones grouped), then a summary per rule and in all.
pub fn render_text(findings: &[Finding], sources: &Sources) -> String {
    let mut report = TextReport::default();
    for f in findings {
        report.push(f);
    }
    report.finish(sources)
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
    let line =
        f.snippet.as_deref().or_else(|| sources.id_of(&f.file).and_then(|id| sources.line(id, f.line)));
    if let Some(line) = line {
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
