//! The one diagnostic type every stage produces and every report format consumes.

pub use crate::validate::registry::Rule;
use crate::yaml::Loc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found in a source file, with the place to fix it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What it is about; serialised as the rule's stable id (`unknown-field`, ...).
    pub rule: Rule,
    pub severity: Severity,
    /// The file as the user named it (relative to where fnops was pointed).
    pub file: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip)]
    pub len: u32,
    /// `kind/namespace/name` of the Kubernetes object, when the finding is about one.
    pub object: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// The ConfigMap a reference finding is about: a run over named files keeps findings in
    /// their context files only when they are about the named files' ConfigMaps.
    #[serde(skip)]
    pub refers_to: Option<String>,
    /// The source line the finding points at, captured when the file's text is dropped before
    /// the report is written (a streamed run); reports otherwise read it from the sources.
    #[serde(skip)]
    pub snippet: Option<String>,
}

impl Finding {
    /// A finding of `rule`, with the rule's severity.
    pub fn new(rule: Rule, sources: &Sources, loc: Loc, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity(),
            file: sources.display(loc.file),
            line: loc.line,
            column: loc.col,
            len: loc.len,
            object: None,
            message: message.into(),
            hint: None,
            refers_to: None,
            snippet: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn with_object(mut self, object: Option<String>) -> Self {
        self.object = object;
        self
    }

    /// Order for reports: by file, then position, then rule.
    pub fn sort_key(&self) -> (&str, u32, u32, &str) {
        (&self.file, self.line, self.column, self.rule.id())
    }
}

/// Sort findings by file and position and drop exact repeats (the same base-file mistake seen
/// through several environments is one finding).
pub fn sort_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()).then_with(|| a.message.cmp(&b.message)));
    findings.dedup();
}

/// The texts findings point into, so reports can show snippets. `Loc::file` indexes this list.
/// Line starts are computed once per file, on first use, so finding a line is a binary search
/// however big the file (a 1,000-document file with a finding on every object stays linear).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// File index by display name, built on first lookup (reports know files by name).
    by_name: std::sync::OnceLock<std::collections::HashMap<String, u32>>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    display: String,
    text: String,
    /// Lines of the file before `text`, when it holds one part of a big file.
    lines_before: u32,
    /// Byte offset of the start of each line.
    lines: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    fn line_starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect()
        })
    }
}

impl Sources {
    /// Register a file under the name reports should show; returns its index for `Loc::file`.
    pub fn add(&mut self, display: impl Into<String>, text: impl Into<String>) -> u32 {
        self.add_part(display, text, 0)
    }

    /// Register one part of a big file: `text` starts after its first `lines_before` lines, and
    /// lines are numbered as in the whole file.
    pub fn add_part(
        &mut self,
        display: impl Into<String>,
        text: impl Into<String>,
        lines_before: u32,
    ) -> u32 {
        self.files.push(SourceFile {
            display: display.into(),
            text: text.into(),
            lines_before,
            lines: Default::default(),
        });
        self.by_name = Default::default();
        (self.files.len() - 1) as u32
    }

    /// The lines of file `file` before its text (0 unless it is a part of a big file).
    pub fn lines_before(&self, file: u32) -> u32 {
        self.files.get(file as usize).map_or(0, |f| f.lines_before)
    }

    pub fn display(&self, file: u32) -> String {
        self.files.get(file as usize).map(|f| f.display.clone()).unwrap_or_default()
    }

    pub fn text(&self, file: u32) -> &str {
        self.files.get(file as usize).map_or("", |f| f.text.as_str())
    }

    /// Add every file of `other` (findings name files, so snippets keep working).
    pub fn extend(&mut self, other: &Sources) {
        self.files.extend(other.files.iter().cloned());
        self.by_name = Default::default();
    }

    /// The display names of every file, in the order added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.display.as_str())
    }

    /// The index of a file by its display name (the first one registered under it).
    pub fn id_of(&self, display: &str) -> Option<u32> {
        let index = self.by_name.get_or_init(|| {
            let mut map = std::collections::HashMap::with_capacity(self.files.len());
            for (i, f) in self.files.iter().enumerate() {
                map.entry(f.display.clone()).or_insert(i as u32);
            }
            map
        });
        index.get(display).copied()
    }

    /// The text of a file by its display name.
    pub fn text_of(&self, display: &str) -> Option<&str> {
        self.id_of(display).map(|id| self.text(id))
    }

    /// Byte offset where 1-based `line` of `file` starts.
    pub fn line_start(&self, file: u32, line: u32) -> Option<usize> {
        let f = self.files.get(file as usize)?;
        f.line_starts().get(line.checked_sub(1 + f.lines_before)? as usize).copied()
    }

    /// 1-based `line` of `file`, without its line break.
    pub fn line(&self, file: u32, line: u32) -> Option<&str> {
        let start = self.line_start(file, line)?;
        let text = self.text(file);
        let rest = &text[start..];
        Some(rest.split('\n').next().unwrap_or("").trim_end_matches('\r'))
    }
}
