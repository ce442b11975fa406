//! What a handler's code imports, and whether the runtime can find it: in the code itself, the
//! standard library, the libraries of the runtime image, or the declared requirements.
//!
//! Imports that cannot fail the module are left alone: inside `try:` blocks that catch
//! `ImportError` (or anything broader), under `if TYPE_CHECKING:`, and under
//! `if __name__ == "__main__":` (the runtime imports the module under another name).

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use ruff_python_ast::visitor::{Visitor, walk_stmt};
use ruff_python_ast::{ExceptHandler, Expr, Stmt};
use ruff_text_size::Ranged;

use super::{Parsed1, Program, PyPos};

/// One `import` or `from ... import` statement (a name of `import a, b` each).
#[derive(Debug)]
pub struct Import {
    /// The importing module (index into the program).
    pub module: usize,
    /// As written: `numpy`, `pkg.sub`, `.calc`, `..`.
    pub written: String,
    pub at: PyPos,
    /// Cannot fail the import of the module (see the module docs).
    pub guarded: bool,
    pub resolution: Resolution,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A module of the code itself.
    Local,
    /// Not in the code: top-level name to look for elsewhere.
    Absolute(String),
    /// A relative import in a top-level module: Python raises `ImportError` ("no known parent
    /// package").
    NoParentPackage,
    /// A relative import of a module the package does not hold.
    MissingInPackage(String),
}

/// An import the runtime would not find, and why.
pub struct Unresolved<'a> {
    pub import: &'a Import,
    pub why: String,
}

/// The standard library's top-level modules.
fn stdlib() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        include_str!("stdlib.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// The top-level modules the runtime images ship beyond the standard library: the course image
/// had pandas and redis; fnops-runtime pins numpy, pandas and redis (bundled-runtime/Dockerfile);
/// `dateutil`, `pytz`, `tzdata` and `six` come with pandas.
pub const IMAGE_LIBRARIES: &[&str] = &["numpy", "pandas", "redis", "dateutil", "pytz", "tzdata", "six"];

/// Where imports are looked for beyond the code itself.
pub struct Libraries<'a> {
    /// The modules of `requirements.txt` keys in the checked set.
    pub requirements: &'a BTreeSet<String>,
    /// Python modules that other ConfigMaps of the set carry (they may be mounted too).
    pub elsewhere: &'a BTreeSet<String>,
}

impl Libraries<'_> {
    /// The imports of an analysis the runtime would not find, guarded ones left out.
    pub fn unresolved<'i>(&self, imports: &'i [Import]) -> Vec<Unresolved<'i>> {
        imports
            .iter()
            .filter(|i| !i.guarded)
            .filter_map(|import| {
                let why = match &import.resolution {
                    Resolution::Local => return None,
                    Resolution::Absolute(top) => {
                        if stdlib().contains(top.as_str())
                            || IMAGE_LIBRARIES.contains(&top.as_str())
                            || self.requirements.contains(top)
                            || self.elsewhere.contains(top)
                        {
                            return None;
                        }
                        format!(
                            "module `{top}` is not in the code, the standard library, the image's libraries ({}) or a `requirements.txt`",
                            IMAGE_LIBRARIES.join(", ")
                        )
                    }
                    Resolution::NoParentPackage => {
                        "a relative import in a top-level module fails (no known parent package)".to_owned()
                    }
                    Resolution::MissingInPackage(target) => format!("the package holds no module `{target}`"),
                };
                Some(Unresolved { import, why })
            })
            .collect()
    }
}

/// Record every import of module `i`.
pub(super) fn collect(program: &Program<'_>, i: usize, module: &Parsed1<'_>, out: &mut Vec<Import>) {
    let mut collector = Collector { program, index: i, module, guarded: 0, out };
    for stmt in module.body() {
        collector.visit_stmt(stmt);
    }
}

struct Collector<'p, 'a, 'o> {
    program: &'p Program<'a>,
    index: usize,
    module: &'p Parsed1<'a>,
    guarded: u32,
    out: &'o mut Vec<Import>,
}

impl Collector<'_, '_, '_> {
    /// Whether a dotted name (or a package of it) is a module of the program.
    fn local(&self, dotted: &str) -> bool {
        let top = dotted.split('.').next().unwrap_or(dotted);
        [dotted, top].iter().any(|n| self.program.by_name.contains_key(n))
            || self.program.by_name.keys().any(|m| m.starts_with(&format!("{top}.")))
    }

    fn has_module_or_package(&self, dotted: &str) -> bool {
        self.program.by_name.contains_key(dotted)
            || self.program.by_name.keys().any(|m| m.starts_with(&format!("{dotted}.")))
    }

    fn push(&mut self, written: String, at: ruff_text_size::TextSize, resolution: Resolution) {
        let at = self.module.pos(at);
        self.out.push(Import { module: self.index, written, at, guarded: self.guarded > 0, resolution });
    }

    fn absolute(&self, dotted: &str) -> Resolution {
        if self.local(dotted) {
            Resolution::Local
        } else {
            Resolution::Absolute(dotted.split('.').next().unwrap_or(dotted).to_owned())
        }
    }
}

/// Whether an `except` clause catches a failed import.
fn catches_import_error(handler: &ExceptHandler) -> bool {
    let ExceptHandler::ExceptHandler(h) = handler;
    let Some(kind) = &h.type_ else { return true };
    let names: Vec<&Expr> = match kind.as_ref() {
        Expr::Tuple(t) => t.elts.iter().collect(),
        other => vec![other],
    };
    names.iter().any(|e| {
        let name = match e {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        matches!(name, "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException")
    })
}

/// `TYPE_CHECKING`, `typing.TYPE_CHECKING` or `__name__ == "__main__"`: a block the runtime
/// never runs on import.
fn never_runs_on_import(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.as_str() == "TYPE_CHECKING",
        Expr::Compare(c) => {
            let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
            let is_main = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "__main__");
            c.comparators.len() == 1
                && ((is_name(&c.left) && is_main(&c.comparators[0]))
                    || (is_main(&c.left) && is_name(&c.comparators[0])))
        }
        _ => false,
    }
}

impl<'s> Visitor<'s> for Collector<'_, '_, '_> {
    fn visit_stmt(&mut self, stmt: &'s Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.as_str();
                    let resolution = self.absolute(dotted);
                    self.push(dotted.to_owned(), alias.range().start(), resolution);
                }
            }
            Stmt::ImportFrom(from) => {
                let module = from.module.as_ref().map(|m| m.as_str());
                let written = format!("{}{}", ".".repeat(from.level as usize), module.unwrap_or(""));
                let resolution = if from.level == 0 {
                    self.absolute(module.unwrap_or(""))
                } else {
                    match self.program.import_target(self.index, from.level, module) {
                        None => Resolution::NoParentPackage,
                        Some(target) if module.is_some() => {
                            if self.has_module_or_package(&target) {
                                Resolution::Local
                            } else {
                                Resolution::MissingInPackage(target)
                            }
                        }
                        // `from . import a, b`: each a submodule, or a name the package defines.
                        Some(base) => {
                            let init = self.program.by_name.contains_key(base.as_str());
                            let missing = from
                                .names
                                .iter()
                                .map(|a| format!("{base}.{}", a.name.as_str()))
                                .find(|sub| !init && !self.has_module_or_package(sub));
                            match missing {
                                Some(sub) => Resolution::MissingInPackage(sub),
                                None => Resolution::Local,
                            }
                        }
                    }
                };
                self.push(written, from.range().start(), resolution);
            }
            Stmt::Try(t) => {
                let guards = t.handlers.iter().any(catches_import_error);
                self.guarded += u32::from(guards);
                for s in &t.body {
                    self.visit_stmt(s);
                }
                self.guarded -= u32::from(guards);
                for handler in &t.handlers {
                    let ExceptHandler::ExceptHandler(h) = handler;
                    for s in &h.body {
                        self.visit_stmt(s);
                    }
                }
                for s in t.orelse.iter().chain(t.finalbody.iter()) {
                    self.visit_stmt(s);
                }
            }
            Stmt::If(s) if never_runs_on_import(&s.test) => {
                self.guarded += 1;
                for inner in &s.body {
                    self.visit_stmt(inner);
                }
                self.guarded -= 1;
                for clause in &s.elif_else_clauses {
                    for inner in &clause.body {
                        self.visit_stmt(inner);
                    }
                }
            }
            _ => walk_stmt(self, stmt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ModuleSource, analyze, analyze_program};
    use super::*;

    fn unresolved(modules: &[ModuleSource<'_>]) -> Vec<(String, u32, String)> {
        let a = analyze_program(modules, None);
        let empty = BTreeSet::new();
        let libs = Libraries { requirements: &empty, elsewhere: &empty };
        libs.unresolved(&a.imports)
            .iter()
            .map(|u| (u.import.written.clone(), u.import.at.line, u.why.clone()))
            .collect()
    }

    fn one(text: &str) -> Vec<(String, u32)> {
        unresolved(&[ModuleSource { name: "usermodule".into(), package: false, text }])
            .into_iter()
            .map(|(w, l, _)| (w, l))
            .collect()
    }

    #[test]
    fn the_standard_library_and_the_image_libraries_resolve() {
        assert_eq!(
            one(
                "import json, os.path\nfrom datetime import datetime\nimport numpy as np\nimport pandas\nfrom __future__ import annotations\n"
            ),
            vec![]
        );
    }

    #[test]
    fn a_sibling_file_the_configmap_does_not_carry_does_not() {
        assert_eq!(
            one("import json\nfrom helpers import mean\n\ndef handler(i, c):\n    import stats\n"),
            vec![("helpers".into(), 2), ("stats".into(), 5)]
        );
    }

    #[test]
    fn guarded_imports_are_left_alone() {
        let src = "try:\n    import ujson as json\nexcept ImportError:\n    import json\ntry:\n    import orjson\nexcept (ValueError, ModuleNotFoundError):\n    pass\nif TYPE_CHECKING:\n    import mypy_extensions\nif __name__ == '__main__':\n    import pytest\ntry:\n    import simplejson\nexcept ValueError:\n    pass\n";
        assert_eq!(one(src), vec![("simplejson".into(), 14)]);
    }

    #[test]
    fn relative_imports_resolve_in_their_package() {
        let modules = [
            ModuleSource { name: "pkg".into(), package: true, text: "" },
            ModuleSource {
                name: "pkg.main".into(),
                package: false,
                text: "from . import calc\nfrom .calc import f\nfrom .missing import g\nfrom .. import up\nimport pkg.calc\n",
            },
            ModuleSource { name: "pkg.calc".into(), package: false, text: "def f(): pass\n" },
        ];
        let got = unresolved(&modules);
        let got: Vec<(String, u32)> = got.into_iter().map(|(w, l, _)| (w, l)).collect();
        assert_eq!(got, vec![(".missing".into(), 3), ("..".into(), 4)]);
    }

    #[test]
    fn a_relative_import_in_a_single_file_fails() {
        let a = analyze("from . import calc\n", None);
        assert_eq!(a.imports[0].resolution, Resolution::NoParentPackage);
    }
}
