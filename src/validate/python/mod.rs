//! Python checks without a Python interpreter (CI images and the ArgoCD sidecar may have none):
//! Ruff's parser gives CPython-grade syntax errors with positions, and the AST shows whether
//! the entry point exists, can take `(input, context)`, which input keys it reads (in the entry
//! point and in the helpers it hands its input to, in the same module or another module of the
//! code), and what it imports.
//!
//! The unit is a [`Program`]: every module the runtime can import from the code it is given
//! (the keys of a ConfigMap, or the files of a ZIP), by the dotted name Python gives it.

mod imports;
mod input;

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{Expr, InterpolatedStringElement, ModModule, Stmt, StmtFunctionDef};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextSize};

pub use imports::{Import, Libraries, Unresolved};
pub use input::{COURSE_SAMPLE, InputKeys};

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
/// an f-string such as `f"cpu_percent-{i}"`; in module `module` of the program.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyRead {
    pub key: String,
    pub prefix: bool,
    pub at: PyPos,
    pub module: usize,
}

/// One module of the code: its dotted name (`usermodule`, `calc`, `pkg.calc`, `pkg` for
/// `pkg/__init__.py`) and its text.
pub struct ModuleSource<'a> {
    pub name: String,
    /// An `__init__.py`: relative imports start from the module itself.
    pub package: bool,
    pub text: &'a str,
}

#[derive(Debug, Default)]
pub struct Analysis {
    /// `(module, position, message)`.
    pub syntax_errors: Vec<(usize, PyPos, String)>,
    /// `None` when no entry point was asked for, or its module is not in the program.
    pub entry: Option<Entry>,
    pub keys: Vec<KeyRead>,
    /// Every import statement, resolved or not against the program's own modules.
    pub imports: Vec<Import>,
}

impl Analysis {
    /// The first syntax error, for callers that check one module.
    pub fn syntax_error(&self) -> Option<&(usize, PyPos, String)> {
        self.syntax_errors.first()
    }
}

pub(crate) struct Lines(Vec<usize>);

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

/// A parsed module of a program.
struct Parsed1<'a> {
    source: &'a ModuleSource<'a>,
    parsed: Parsed<ModModule>,
    lines: Lines,
}

impl Parsed1<'_> {
    fn body(&self) -> &[Stmt] {
        &self.parsed.syntax().body
    }

    fn pos(&self, offset: TextSize) -> PyPos {
        self.lines.pos(self.source.text, offset)
    }
}

/// Every module of one code bundle, parsed.
struct Program<'a> {
    modules: Vec<Option<Parsed1<'a>>>,
    by_name: HashMap<&'a str, usize>,
}

impl<'a> Program<'a> {
    fn module(&self, i: usize) -> Option<&Parsed1<'a>> {
        self.modules.get(i).and_then(Option::as_ref)
    }

    /// The package relative imports of module `i` start from, climbing `level - 1` more;
    /// `None` when the module is top-level (no known parent package).
    fn base_package(&self, i: usize, level: u32) -> Option<String> {
        let source = self.modules.get(i)?.as_ref()?.source;
        let mut parts: Vec<&str> = source.name.split('.').collect();
        if !source.package {
            parts.pop();
        }
        for _ in 1..level {
            parts.pop()?;
        }
        (!parts.is_empty()).then(|| parts.join("."))
    }

    /// What a name bound at the top of module `i` refers to, when it is a module of the
    /// program or a function of one.
    fn binding(&self, i: usize, name: &str) -> Option<Binding> {
        let module = self.module(i)?;
        let mut found = None;
        for stmt in module.body() {
            match stmt {
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let dotted = alias.name.as_str();
                        match &alias.asname {
                            Some(asname) if asname.as_str() == name => {
                                found = self.by_name.get(dotted).map(|&m| Binding::Module(m));
                            }
                            None if dotted.split('.').next() == Some(name) => {
                                found = self.by_name.get(name).map(|&m| Binding::Module(m));
                            }
                            _ => {}
                        }
                    }
                }
                Stmt::ImportFrom(from) => {
                    let Some(target) =
                        self.import_target(i, from.level, from.module.as_ref().map(|m| m.as_str()))
                    else {
                        continue;
                    };
                    for alias in &from.names {
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                        if bound != name {
                            continue;
                        }
                        let sub = format!("{target}.{}", alias.name.as_str());
                        found = match self.by_name.get(sub.as_str()) {
                            Some(&m) => Some(Binding::Module(m)),
                            None => self
                                .by_name
                                .get(target.as_str())
                                .map(|&m| Binding::Function(m, alias.name.to_string())),
                        };
                    }
                }
                Stmt::FunctionDef(def) if def.name.as_str() == name => {
                    found = Some(Binding::Function(i, name.into()))
                }
                _ => {}
            }
        }
        found
    }

    /// The dotted module a `from` import names (relative ones resolved from module `i`).
    fn import_target(&self, i: usize, level: u32, module: Option<&str>) -> Option<String> {
        if level == 0 {
            return module.map(str::to_owned);
        }
        let base = self.base_package(i, level)?;
        Some(match module {
            Some(m) => format!("{base}.{m}"),
            None => base,
        })
    }
}

enum Binding {
    Module(usize),
    Function(usize, String),
}

/// Analyse a single module (imported as `usermodule`); `entry` is the function to look for
/// (`None` skips the entry checks).
pub fn analyze(source: &str, entry: Option<&str>) -> Analysis {
    let module = ModuleSource { name: "usermodule".into(), package: false, text: source };
    analyze_program(std::slice::from_ref(&module), entry.map(|e| (0, e)))
}

/// Analyse every module of a program; `entry` is `(module, function)`.
pub fn analyze_program(sources: &[ModuleSource<'_>], entry: Option<(usize, &str)>) -> Analysis {
    let mut analysis = Analysis::default();
    let mut modules = Vec::with_capacity(sources.len());
    for (i, source) in sources.iter().enumerate() {
        let lines = Lines::new(source.text);
        match ruff_python_parser::parse_module(source.text) {
            Ok(parsed) => modules.push(Some(Parsed1 { source, parsed, lines })),
            Err(e) => {
                let at = lines.pos(source.text, e.location.start());
                analysis.syntax_errors.push((i, at, e.error.to_string()));
                modules.push(None);
            }
        }
    }
    let by_name = sources.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let program = Program { modules, by_name };
    for i in 0..sources.len() {
        if let Some(module) = program.module(i) {
            imports::collect(&program, i, module, &mut analysis.imports);
        }
    }
    if let Some((m, name)) = entry
        && let Some(module) = program.module(m)
    {
        analysis.entry = Some(check_entry(&program, m, module, name, &mut analysis.keys));
    }
    analysis
}

fn check_entry(
    program: &Program<'_>,
    m: usize,
    module: &Parsed1<'_>,
    name: &str,
    keys: &mut Vec<KeyRead>,
) -> Entry {
    match find_def(module.body(), name) {
        Found::Function(def) => {
            let p = &def.parameters;
            let positional: Vec<_> = p.posonlyargs.iter().chain(p.args.iter()).collect();
            let required = positional.iter().filter(|a| a.default.is_none()).count();
            let at = module.pos(def.name.range().start());
            if !positional.is_empty() {
                follow_input(program, m, def, 0, keys);
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
        Found::Nothing => Entry::Missing { defined: top_level_functions(module.body()) },
    }
}

/// How deep helpers that receive the input are followed.
const MAX_HELPER_DEPTH: usize = 8;

/// Record the key reads on positional parameter `param` of `def` (in module `m`), then on the
/// parameters of the helpers it passes that parameter to.
fn follow_input(
    program: &Program<'_>,
    m: usize,
    def: &StmtFunctionDef,
    param: usize,
    keys: &mut Vec<KeyRead>,
) {
    let mut seen: HashSet<(usize, String, usize)> = HashSet::new();
    let mut work = vec![(m, def.name.to_string(), param, 0usize)];
    while let Some((m, name, param, depth)) = work.pop() {
        if depth > MAX_HELPER_DEPTH || !seen.insert((m, name.clone(), param)) {
            continue;
        }
        let Some(module) = program.module(m) else { continue };
        let Found::Function(def) = find_def(module.body(), &name) else { continue };
        let p = &def.parameters;
        let Some(parameter) = p.posonlyargs.iter().chain(p.args.iter()).nth(param) else { continue };
        let mut reads = KeyReads {
            param: parameter.parameter.name.as_str(),
            module,
            index: m,
            found: keys,
            calls: Vec::new(),
        };
        for stmt in &def.body {
            reads.visit_stmt(stmt);
        }
        for call in reads.calls {
            let target = match &call.callee {
                Callee::Name(f) => match program.binding(m, f) {
                    Some(Binding::Function(tm, tf)) => Some((tm, tf)),
                    _ => None,
                },
                Callee::Attr(object, f) => match program.binding(m, object) {
                    Some(Binding::Module(tm)) => Some((tm, f.clone())),
                    _ => None,
                },
            };
            let Some((tm, tf)) = target else { continue };
            let index = match call.arg {
                Arg::Positional(i) => Some(i),
                Arg::Keyword(kw) => program.module(tm).and_then(|t| match find_def(t.body(), &tf) {
                    Found::Function(d) => d
                        .parameters
                        .posonlyargs
                        .iter()
                        .chain(d.parameters.args.iter())
                        .position(|a| a.parameter.name.as_str() == kw),
                    _ => None,
                }),
            };
            if let Some(index) = index {
                work.push((tm, tf, index, depth + 1));
            }
        }
    }
}

enum Found<'a> {
    Function(&'a StmtFunctionDef),
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

/// A call that hands the input on: `helper(input)`, `calc.mean(data=input)`.
struct Call {
    callee: Callee,
    arg: Arg,
}

enum Callee {
    Name(String),
    Attr(String, String),
}

enum Arg {
    Positional(usize),
    Keyword(String),
}

struct KeyReads<'a, 'f> {
    param: &'a str,
    module: &'a Parsed1<'a>,
    index: usize,
    found: &'f mut Vec<KeyRead>,
    calls: Vec<Call>,
}

impl KeyReads<'_, '_> {
    fn is_param(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n) if n.id.as_str() == self.param)
    }

    fn record(&mut self, key_expr: &Expr) {
        let at = self.module.pos(key_expr.range().start());
        let module = self.index;
        match key_expr {
            Expr::StringLiteral(s) => {
                self.found.push(KeyRead { key: s.value.to_str().to_owned(), prefix: false, at, module })
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
                    self.found.push(KeyRead { key: prefix, prefix: true, at, module });
                }
            }
            _ => {}
        }
    }

    fn note_call(&mut self, call: &ruff_python_ast::ExprCall) {
        let callee = match call.func.as_ref() {
            Expr::Name(n) => Callee::Name(n.id.to_string()),
            Expr::Attribute(a) => match a.value.as_ref() {
                Expr::Name(object) => Callee::Attr(object.id.to_string(), a.attr.to_string()),
                _ => return,
            },
            _ => return,
        };
        let positional = call.arguments.args.iter().position(|a| self.is_param(a)).map(Arg::Positional);
        let keyword = || {
            call.arguments
                .keywords
                .iter()
                .find(|k| self.is_param(&k.value))
                .and_then(|k| k.arg.as_ref())
                .map(|name| Arg::Keyword(name.to_string()))
        };
        if let Some(arg) = positional.or_else(keyword) {
            self.calls.push(Call { callee, arg });
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
                } else {
                    self.note_call(c);
                }
            }
            _ => {}
        }
        walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_positions() {
        let a = analyze("def handler(input, context)\n    return 1\n", Some("handler"));
        let (_, at, message) = a.syntax_error().expect("error");
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

    fn keys_of(a: &Analysis) -> Vec<(&str, bool, u32, usize)> {
        a.keys.iter().map(|k| (k.key.as_str(), k.prefix, k.at.line, k.module)).collect()
    }

    #[test]
    fn key_reads_on_the_first_parameter() {
        let src = "def handler(data, context):\n    a = data['x']\n    b = data.get(\"y\", 0)\n    c = [data[f'cpu_percent-{i}'] for i in range(4)]\n    d = context.env.get('z')\n";
        let a = analyze(src, Some("handler"));
        assert_eq!(keys_of(&a), vec![("x", false, 2, 0), ("y", false, 3, 0), ("cpu_percent-", true, 4, 0)]);
    }

    #[test]
    fn key_reads_in_helpers_of_the_same_module_and_of_other_modules() {
        let main = "from . import calc\nfrom .util import mem\n\ndef net(d):\n    return d['net_x']\n\ndef handler(input, context):\n    return net(input), calc.cpu(0, input), mem(m=input)\n";
        let calc = "def cpu(n, metrics):\n    return metrics['cpu_y']\n";
        let util = "def mem(m):\n    return m.get('mem_z')\n";
        let modules = [
            ModuleSource { name: "pkg.main".into(), package: false, text: main },
            ModuleSource { name: "pkg.calc".into(), package: false, text: calc },
            ModuleSource { name: "pkg.util".into(), package: false, text: util },
        ];
        let a = analyze_program(&modules, Some((0, "handler")));
        let mut got = keys_of(&a);
        got.sort();
        assert_eq!(got, vec![("cpu_y", false, 2, 1), ("mem_z", false, 2, 2), ("net_x", false, 5, 0)]);
    }

    #[test]
    fn recursive_helpers_end() {
        let src = "def f(d):\n    return g(d) + d['a']\n\ndef g(d):\n    return f(d)\n\ndef handler(i, c):\n    return f(i)\n";
        let a = analyze(src, Some("handler"));
        assert_eq!(keys_of(&a), vec![("a", false, 2, 0)]);
    }
}
