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
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<(String, String)>,
}

impl Sources {
    /// Register a file under the name reports should show; returns its index for `Loc::file`.
    pub fn add(&mut self, display: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.push((display.into(), text.into()));
        (self.files.len() - 1) as u32
    }

    pub fn display(&self, file: u32) -> String {
        self.files.get(file as usize).map(|(d, _)| d.clone()).unwrap_or_default()
    }

    pub fn text(&self, file: u32) -> &str {
        self.files.get(file as usize).map_or("", |(_, t)| t.as_str())
    }

    /// Add every file of `other` (findings name files, so snippets keep working).
    pub fn extend(&mut self, other: &Sources) {
        self.files.extend(other.files.iter().cloned());
    }

    /// The display names of every file, in the order added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(d, _)| d.as_str())
    }

    /// The text of a file by its display name.
    pub fn text_of(&self, display: &str) -> Option<&str> {
        self.files.iter().find(|(d, _)| d == display).map(|(_, t)| t.as_str())
    }
}
