//! Python checks without a Python interpreter (CI images and the ArgoCD sidecar may have none):
//! Ruff's parser gives CPython-grade syntax errors with positions, and the AST shows whether
//! the entry point exists, can take `(input, context)`, and which input keys it reads.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{Expr, InterpolatedStringElement, Stmt};
use ruff_text_size::{Ranged, TextSize};

/// A position in the Python source: 1-based line and column (characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PyPos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    /// Defined and callable with two positional arguments.
    Ok,
    /// Not defined at module top level; the functions that are.
    Missing { defined: Vec<String> },
    /// Defined, but `handler(input, context)` would raise `TypeError`.
    BadSignature { at: PyPos, why: String },
}

/// A key the handler reads from its input: `input["k"]`, `input.get("k")`, or a prefix from
/// an f-string such as `f"cpu_percent-{i}"`.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyRead {
    pub key: String,
    pub prefix: bool,
    pub at: PyPos,
}

#[derive(Debug)]
pub struct Analysis {
    pub syntax_error: Option<(PyPos, String)>,
    pub entry: Option<Entry>,
    pub keys: Vec<KeyRead>,
}

struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        Lines(std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect())
    }

    fn pos(&self, text: &str, offset: TextSize) -> PyPos {
        let offset = usize::from(offset).min(text.len());
        let line = self.0.partition_point(|&start| start <= offset).max(1);
        let start = self.0[line - 1];
        let col = text.get(start..offset).map_or(0, |s| s.chars().count());
        PyPos { line: line as u32, col: col as u32 + 1 }
    }
}

/// Analyse a module; `entry` is the function to look for (`None` skips the entry checks).
pub fn analyze(source: &str, entry: Option<&str>) -> Analysis {
    let lines = Lines::new(source);
    let parsed = match ruff_python_parser::parse_module(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            let at = lines.pos(source, e.location.start());
            return Analysis { syntax_error: Some((at, e.error.to_string())), entry: None, keys: Vec::new() };
        }
    };
    let body = &parsed.syntax().body;
    let mut keys = Vec::new();
    let entry = entry.map(|name| match find_def(body, name) {
        Found::Function(def) => {
            let p = &def.parameters;
            let positional: Vec<_> = p.posonlyargs.iter().chain(p.args.iter()).collect();
            let required = positional.iter().filter(|a| a.default.is_none()).count();
            let at = lines.pos(source, def.name.range().start());
            if let Some(first) = positional.first() {
                let mut reads = KeyReads {
                    param: first.parameter.name.as_str(),
                    source,
                    lines: &lines,
                    found: &mut keys,
                };
                for stmt in &def.body {
                    reads.visit_stmt(stmt);
                }
            }
            if required > 2 {
                Entry::BadSignature { at, why: format!("it requires {required} positional arguments") }
            } else if positional.len() < 2 && p.vararg.is_none() {
                Entry::BadSignature { at, why: format!("it takes {} positional arguments", positional.len()) }
            } else if let Some(kw) = p.kwonlyargs.iter().find(|k| k.default.is_none()) {
                Entry::BadSignature {
                    at,
                    why: format!("it requires the keyword argument `{}`", kw.parameter.name),
                }
            } else {
                Entry::Ok
            }
        }
        Found::Other => Entry::Ok,
        Found::Nothing => Entry::Missing { defined: top_level_functions(body) },
    });
    Analysis { syntax_error: None, entry, keys }
}

enum Found<'a> {
    Function(&'a ruff_python_ast::StmtFunctionDef),
    /// Bound some other way (assignment, import): callable as far as we can tell.
    Other,
    Nothing,
}

/// The last top-level binding of `name`, looking into top-level `if`/`try` blocks.
fn find_def<'a>(body: &'a [Stmt], name: &str) -> Found<'a> {
    let mut found = Found::Nothing;
    for stmt in body {
        match stmt {
            Stmt::FunctionDef(def) if def.name.as_str() == name => found = Found::Function(def),
            Stmt::Assign(a)
                if a.targets.iter().any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)) =>
            {
                found = Found::Other;
            }
            Stmt::ImportFrom(i)
                if i.names.iter().any(|a| a.asname.as_ref().unwrap_or(&a.name).as_str() == name) =>
            {
                found = Found::Other;
            }
            Stmt::Import(i)
                if i.names.iter().any(|a| a.asname.as_ref().unwrap_or(&a.name).as_str() == name) =>
            {
                found = Found::Other;
            }
            Stmt::If(s) => {
                for block in
                    std::iter::once(&s.body[..]).chain(s.elif_else_clauses.iter().map(|c| &c.body[..]))
                {
                    if let f @ (Found::Function(_) | Found::Other) = find_def(block, name) {
                        found = f;
                    }
                }
            }
            Stmt::Try(s) => {
                for block in [&s.body[..], &s.orelse[..], &s.finalbody[..]] {
                    if let f @ (Found::Function(_) | Found::Other) = find_def(block, name) {
                        found = f;
                    }
                }
            }
            _ => {}
        }
    }
    found
}

fn top_level_functions(body: &[Stmt]) -> Vec<String> {
    body.iter()
        .filter_map(|s| match s {
            Stmt::FunctionDef(def) if !def.name.as_str().starts_with('_') => Some(def.name.to_string()),
            _ => None,
        })
        .collect()
}

struct KeyReads<'a, 'f> {
    param: &'a str,
    source: &'a str,
    lines: &'a Lines,
    found: &'f mut Vec<KeyRead>,
}

impl KeyReads<'_, '_> {
    fn is_param(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n) if n.id.as_str() == self.param)
    }

    fn record(&mut self, key_expr: &Expr) {
        let at = self.lines.pos(self.source, key_expr.range().start());
        match key_expr {
            Expr::StringLiteral(s) => {
                self.found.push(KeyRead { key: s.value.to_str().to_owned(), prefix: false, at })
            }
            Expr::FString(f) => {
                let mut prefix = String::new();
                'parts: for part in f.value.iter() {
                    match part {
                        ruff_python_ast::FStringPart::Literal(l) => prefix.push_str(&l.value),
                        ruff_python_ast::FStringPart::FString(fs) => {
                            for element in fs.elements.iter() {
                                match element {
                                    InterpolatedStringElement::Literal(l) => prefix.push_str(&l.value),
                                    InterpolatedStringElement::Interpolation(_) => break 'parts,
                                }
                            }
                        }
                    }
                }
                if !prefix.is_empty() {
                    self.found.push(KeyRead { key: prefix, prefix: true, at });
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for KeyReads<'_, '_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Subscript(s) if self.is_param(&s.value) => self.record(&s.slice),
            Expr::Call(c) => {
                if let Expr::Attribute(a) = c.func.as_ref()
                    && self.is_param(&a.value)
                    && matches!(a.attr.as_str(), "get" | "pop" | "setdefault")
                    && let Some(first) = c.arguments.args.first()
                {
                    self.record(first);
                }
            }
            _ => {}
        }
        walk_expr(self, expr);
    }
}

/// The course's metrics document: a real 16-CPU sample the collector wrote (the default input of
/// `fnops invoke`, and the keys `input-key-unknown` checks against without a sample of the
/// project's own).
pub const COURSE_SAMPLE: &str = include_str!("course-metrics.json");

/// The keys an input document holds, for `input-key-unknown`.
pub struct InputKeys {
    exact: BTreeSet<String>,
    /// `cpu_percent-` for `cpu_percent-0` ... `cpu_percent-15`: any index is accepted.
    numbered: BTreeSet<String>,
    /// Where the keys came from, for messages.
    pub origin: String,
}

impl InputKeys {
    /// The keys of a sample input document (a JSON object) in `path`.
    pub fn read(path: &std::path::Path) -> Result<InputKeys, String> {
        let shown = crate::paths::display(path);
        let bytes = crate::files::read(path, None, 16 << 20).map_err(|e| e.to_string())?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("`{shown}` is not JSON: {e}"))?;
        InputKeys::from_json(&value, format!("`{shown}`"))
            .ok_or_else(|| format!("`{shown}` is not a JSON object"))
    }

    pub fn from_json(value: &serde_json::Value, origin: impl Into<String>) -> Option<InputKeys> {
        let obj = value.as_object()?;
        let exact: BTreeSet<String> = obj.keys().cloned().collect();
        let numbered = exact
            .iter()
            .filter_map(|k| {
                let stem = k.trim_end_matches(|c: char| c.is_ascii_digit());
                (stem.len() < k.len() && stem.ends_with('-')).then(|| stem.to_owned())
            })
            .collect();
        Some(InputKeys { exact, numbered, origin: origin.into() })
    }

    /// The course's metrics document (a real 16-CPU sample).
    pub fn course() -> &'static InputKeys {
        static KEYS: std::sync::OnceLock<InputKeys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let sample: serde_json::Value = serde_json::from_str(COURSE_SAMPLE).unwrap_or_default();
            InputKeys::from_json(&sample, "the course's metrics document").unwrap_or(InputKeys {
                exact: BTreeSet::new(),
                numbered: BTreeSet::new(),
                origin: String::new(),
            })
        })
    }

    pub fn knows(&self, read: &KeyRead) -> bool {
        if read.prefix {
            return self.exact.iter().any(|k| k.starts_with(&read.key))
                || self
                    .numbered
                    .iter()
                    .any(|n| n.starts_with(&read.key) || read.key.starts_with(n.as_str()));
        }
        self.exact.contains(&read.key)
            || self.numbered.iter().any(|n| {
                read.key
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            })
    }

    /// The closest known key, as a hint.
    pub fn closest(&self, key: &str) -> Option<&str> {
        self.exact
            .iter()
            .map(|k| (strsim::jaro_winkler(key, k), k))
            .filter(|(s, _)| *s > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_positions() {
        let a = analyze("def handler(input, context)\n    return 1\n", Some("handler"));
        let (at, message) = a.syntax_error.expect("error");
        assert_eq!(at.line, 1);
        assert!(message.to_lowercase().contains("expected"), "{message}");
    }

    #[test]
    fn entry_points() {
        let ok = |src: &str| analyze(src, Some("handler")).entry;
        assert_eq!(ok("def handler(i, c):\n    pass\n"), Some(Entry::Ok));
        assert_eq!(ok("def handler(i, c, d=1, *, e=2):\n    pass\n"), Some(Entry::Ok));
        assert_eq!(ok("def handler(*args):\n    pass\n"), Some(Entry::Ok));
        assert_eq!(ok("from lib import handler\n"), Some(Entry::Ok));
        assert_eq!(ok("try:\n    def handler(i, c): pass\nexcept Exception:\n    pass\n"), Some(Entry::Ok));
        assert!(matches!(ok("def handler(i):\n    pass\n"), Some(Entry::BadSignature { .. })));
        assert!(matches!(ok("def handler(i, c, d):\n    pass\n"), Some(Entry::BadSignature { .. })));
        assert!(matches!(ok("def handler(i, c, *, k):\n    pass\n"), Some(Entry::BadSignature { .. })));
        assert_eq!(ok("def main(i, c):\n    pass\n"), Some(Entry::Missing { defined: vec!["main".into()] }));
    }

    #[test]
    fn key_reads_on_the_first_parameter() {
        let src = "def handler(data, context):\n    a = data['x']\n    b = data.get(\"y\", 0)\n    c = [data[f'cpu_percent-{i}'] for i in range(4)]\n    d = context.env.get('z')\n";
        let a = analyze(src, Some("handler"));
        let keys: Vec<(&str, bool, u32)> =
            a.keys.iter().map(|k| (k.key.as_str(), k.prefix, k.at.line)).collect();
        assert_eq!(keys, vec![("x", false, 2), ("y", false, 3), ("cpu_percent-", true, 4)]);
    }

    #[test]
    fn the_bundled_sample_is_the_course_fixture() {
        let fixture = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/metrics/course-2023-16cpu.json"
        ));
        assert_eq!(fixture.as_deref().ok(), Some(COURSE_SAMPLE));
    }

    #[test]
    fn the_handout_typo_is_unknown_to_the_course_keys() {
        let keys = InputKeys::course();
        let read = |k: &str, prefix| KeyRead { key: k.into(), prefix, at: PyPos { line: 1, col: 1 } };
        assert!(keys.knows(&read("net_io_counters_eth0-bytes_sent", false)));
        assert!(!keys.knows(&read("net_io_counters_eth0-bytes_sent1", false)));
        assert!(keys.knows(&read("cpu_percent-31", false)));
        assert!(keys.knows(&read("cpu_percent-", true)));
        assert_eq!(keys.closest("net_io_counters_eth0-bytes_sent1"), Some("net_io_counters_eth0-bytes_sent"));
    }
}
