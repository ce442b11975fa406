//! `python-syntax`, `handler-missing`, `handler-signature`, `handler-import` (errors) and
//! `input-key-unknown` (a warning) on the code a runtime loads from a ConfigMap: the `pyfile`
//! key and keys named `*.py` (one program: they can import each other), and the modules of a
//! ZIP in `binaryData` (known by its content, whatever its key). The entry point is the one the
//! workloads mounting the ConfigMap configure (`HANDLER_FUNCTION`).
//!
//! Python positions are mapped back to the YAML: into a literal block line by line, into a
//! double-quoted scalar (what `kubectl create configmap -o yaml` and `fnops render` write)
//! through its escapes, else onto the value itself.

use std::io::Read as _;

use base64::Engine as _;

use crate::finding::{Rule, Sources};
use crate::validate::python::{Analysis, Entry, InputKeys, Libraries, ModuleSource, PyPos, analyze_program};
use crate::validate::{Checker, Doc, Set};
use crate::yaml::{Loc, Node, Value};

/// How a string value sits in the YAML source.
enum Layout {
    /// A literal or folded block: Python line N is YAML line `first + N - 1`, shifted by `indent`.
    Block { first: u32, indent: u32 },
    /// A double-quoted scalar: the YAML position of every character of the decoded value, and
    /// where each decoded line starts.
    Quoted { at: Vec<(u32, u32)>, line_starts: Vec<usize> },
    /// Anything else: everything maps to the value's own position.
    Inline,
}

fn layout(sources: &Sources, key: Loc, value: &Node) -> Layout {
    let line = sources.line(key.file, key.line).unwrap_or("");
    let after_key: String = line.chars().skip((key.col + key.len).saturating_sub(1) as usize).collect();
    let indicator = after_key.trim_start_matches([':', ' ', '\t']);
    if indicator.starts_with('"') {
        return quoted(sources, value).unwrap_or(Layout::Inline);
    }
    if !(indicator.starts_with('|') || indicator.starts_with('>')) {
        return Layout::Inline;
    }
    // Block content starts on the line after the indicator; its indentation is that of the
    // first non-blank content line.
    let indent = (key.line + 1..)
        .map_while(|n| sources.line(key.file, n))
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
    Layout::Block { first: key.line + 1, indent: indent as u32 }
}

/// The layout of a double-quoted scalar, when decoding its source gives back its value.
fn quoted(sources: &Sources, value: &Node) -> Option<Layout> {
    let text = sources.text(value.loc.file);
    let line_start = sources.line_start(value.loc.file, value.loc.line)?;
    let line = &text[line_start..];
    let offset: usize = line.chars().take(value.loc.col.saturating_sub(1) as usize).map(char::len_utf8).sum();
    let (decoded, at) = decode_double_quoted(&line[offset..], value.loc.line, value.loc.col)?;
    if Some(decoded.as_str()) != value.as_str() {
        return None;
    }
    let line_starts = std::iter::once(0)
        .chain(decoded.chars().enumerate().filter(|(_, c)| *c == '\n').map(|(i, _)| i + 1))
        .collect();
    Some(Layout::Quoted { at, line_starts })
}

/// Decode a YAML double-quoted scalar starting at its opening quote (at `line`, `col`): the
/// value, and the source position of each of its characters. `None` for anything unexpected.
fn decode_double_quoted(src: &str, mut line: u32, mut col: u32) -> Option<(String, Vec<(u32, u32)>)> {
    let mut chars = src.chars().peekable();
    if chars.next()? != '"' {
        return None;
    }
    col += 1;
    let mut out = String::new();
    let mut at = Vec::new();
    // Raw spaces and tabs at the end of `out`: a line fold trims them.
    let mut raw_tail = 0usize;
    loop {
        let c = chars.next()?;
        match c {
            '"' => return Some((out, at)),
            '\\' => {
                let here = (line, col);
                let e = chars.next()?;
                col += 2;
                let decoded = match e {
                    'n' => '\n',
                    't' | '\t' => '\t',
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    ' ' => ' ',
                    '0' => '\0',
                    'a' => '\x07',
                    'b' => '\x08',
                    'e' => '\x1b',
                    'f' => '\x0c',
                    'r' => '\r',
                    'v' => '\x0b',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..n).map(|_| chars.next()).collect::<Option<_>>()?;
                        col += n;
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                    }
                    '\n' | '\r' => {
                        // An escaped line break: nothing, and the next line's indentation goes.
                        if e == '\r' && chars.peek() == Some(&'\n') {
                            chars.next();
                        }
                        line += 1;
                        col = 1;
                        while matches!(chars.peek(), Some(' ' | '\t')) {
                            chars.next();
                            col += 1;
                        }
                        raw_tail = 0;
                        continue;
                    }
                    _ => return None,
                };
                out.push(decoded);
                at.push(here);
                raw_tail = 0;
            }
            '\n' | '\r' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                for _ in 0..raw_tail {
                    out.pop();
                    at.pop();
                }
                raw_tail = 0;
                let fold_at = (line, col);
                line += 1;
                col = 1;
                // Following empty lines each give a line break; none gives a space.
                let mut breaks = 0;
                loop {
                    while matches!(chars.peek(), Some(' ' | '\t')) {
                        chars.next();
                        col += 1;
                    }
                    match chars.peek() {
                        Some('\n') => {
                            chars.next();
                            breaks += 1;
                            line += 1;
                            col = 1;
                        }
                        Some('\r') => {
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if breaks == 0 {
                    out.push(' ');
                    at.push(fold_at);
                }
                for _ in 0..breaks {
                    out.push('\n');
                    at.push(fold_at);
                }
            }
            _ => {
                out.push(c);
                at.push((line, col));
                col += 1;
                raw_tail = if c == ' ' || c == '\t' { raw_tail + 1 } else { 0 };
            }
        }
    }
}

fn map(layout: &Layout, value: &Node, at: PyPos) -> Loc {
    match layout {
        Layout::Block { first, indent } => {
            Loc { file: value.loc.file, line: first + at.line - 1, col: indent + at.col, len: 1 }
        }
        Layout::Quoted { at: positions, line_starts } => {
            let index = line_starts
                .get(at.line.saturating_sub(1) as usize)
                .map(|s| s + at.col.saturating_sub(1) as usize);
            match index.and_then(|i| positions.get(i)) {
                Some(&(line, col)) => Loc { file: value.loc.file, line, col, len: 1 },
                None => value.loc,
            }
        }
        Layout::Inline => value.loc,
    }
}

/// One module of a ConfigMap's `data`: its key, the key's position, the value.
struct DataModule<'a> {
    key: &'a str,
    key_loc: Loc,
    value: &'a Node,
}

/// The dotted name Python gives a key's module: the `pyfile` is imported as `usermodule`.
fn module_name(key: &str) -> String {
    if key == "pyfile" { "usermodule".to_owned() } else { key.trim_end_matches(".py").to_owned() }
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set, keys: Option<&InputKeys>) {
    if doc.kind() != Some("ConfigMap") {
        return;
    }
    let keys = keys.unwrap_or_else(|| InputKeys::course());
    let name = doc.name().unwrap_or("");
    let handler = set.handler_for(doc.namespace(), name);
    let handler = handler.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let libraries = set
        .runtime_libraries_known(doc.namespace(), name)
        .then_some(Libraries { requirements: &set.requirements, elsewhere: &set.python_modules });
    let cx_keys = Context { keys, libraries: libraries.as_ref() };
    if let Some(Value::Map(entries)) = doc.node.get("data").map(|d| &d.value) {
        let modules: Vec<DataModule<'_>> = entries
            .iter()
            .filter(|(key, value)| {
                (key.name == "pyfile" || key.name.ends_with(".py")) && value.as_str().is_some()
            })
            .map(|(key, value)| DataModule { key: &key.name, key_loc: key.loc, value })
            .collect();
        if !modules.is_empty() {
            check_data(cx, doc, &modules, handler, &cx_keys);
        }
    }
    if let Some(Value::Map(entries)) = doc.node.get("binaryData").map(|d| &d.value) {
        for (key, value) in entries {
            let b64 = value.as_str().unwrap_or_default();
            if key.name.ends_with(".zip") || looks_like_zip(b64) {
                check_zip(cx, doc, (&key.name, key.loc), b64, handler, &cx_keys);
            }
        }
    }
}

/// What the checks of one ConfigMap's code compare against.
struct Context<'a> {
    keys: &'a InputKeys,
    /// `None` when the runtime image is a custom one (its libraries are unknown).
    libraries: Option<&'a Libraries<'a>>,
}

/// The entry point: `(module, function)` of a `HANDLER_FUNCTION` (`handler` in the pyfile by
/// default; bare or `usermodule.x` is in the pyfile, `calc.x` in module `calc`).
fn entry_of(handler: Option<&str>) -> (String, String) {
    match handler {
        None => ("usermodule".into(), "handler".into()),
        Some(h) => match h.rsplit_once('.') {
            None => ("usermodule".into(), h.into()),
            Some((module, function)) => (module.into(), function.into()),
        },
    }
}

fn check_data(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    modules: &[DataModule<'_>],
    handler: Option<&str>,
    ctx: &Context<'_>,
) {
    let sources: Vec<ModuleSource<'_>> = modules
        .iter()
        .map(|m| ModuleSource {
            name: module_name(m.key),
            package: false,
            text: m.value.as_str().unwrap_or(""),
        })
        .collect();
    let (entry_module, entry_fn) = entry_of(handler);
    // The pyfile, or the one module of a ConfigMap mounted as `/opt/usermodule.py` by subPath.
    let entry_index = sources
        .iter()
        .position(|s| s.name == entry_module)
        .or_else(|| (entry_module == "usermodule" && sources.len() == 1).then_some(0));
    let analysis = analyze_program(&sources, entry_index.map(|i| (i, entry_fn.as_str())));
    let layouts: Vec<Layout> = modules.iter().map(|m| layout(cx.sources, m.key_loc, m.value)).collect();
    let place = |module: usize, at: PyPos| map(&layouts[module], modules[module].value, at);
    for (module, at, message) in &analysis.syntax_errors {
        cx.report(
            Rule::PythonSyntax,
            doc,
            place(*module, *at),
            format!(
                "`{}` is not valid Python: {message} (Python line {}, column {})",
                modules[*module].key, at.line, at.col
            ),
            Some("the runtime would fail to import the module and the pod would crash-loop".into()),
        );
    }
    if let Some(entry) = entry_index {
        let key = modules[entry].key;
        match &analysis.entry {
            Some(Entry::Missing { defined }) => {
                let defines = if defined.is_empty() { "no functions".to_owned() } else { defined.join(", ") };
                cx.report(
                    Rule::HandlerMissing,
                    doc,
                    modules[entry].value.loc,
                    format!("`{key}` defines no top-level `{entry_fn}` (it defines: {defines})"),
                    Some(format!("define `def {entry_fn}(input, context):` or set `HANDLER_FUNCTION`")),
                );
            }
            Some(Entry::BadSignature { at, why }) => cx.report(
                Rule::HandlerSignature,
                doc,
                place(entry, *at),
                format!("`{entry_fn}` cannot be called as `{entry_fn}(input, context)`: {why}"),
                Some(format!("define it as `def {entry_fn}(input, context):`")),
            ),
            Some(Entry::Ok) | None => {}
        }
    }
    report_keys(cx, doc, &analysis, ctx.keys, |read| {
        let helper = if Some(read.module) == entry_index {
            String::new()
        } else {
            format!(" (in `{}`)", modules[read.module].key)
        };
        (place(read.module, read.at), helper)
    });
    if let Some(libraries) = ctx.libraries {
        for missing in libraries.unresolved(&analysis.imports) {
            let import = missing.import;
            let key = modules[import.module].key;
            cx.report(
                Rule::HandlerImport,
                doc,
                place(import.module, import.at),
                format!("`{key}` imports `{}`, which the runtime cannot find: {}", import.written, missing.why),
                Some(
                    "add the module as a key of this ConfigMap (or ship a package ZIP), or declare its package in a `requirements.txt` key"
                        .into(),
                ),
            );
        }
    }
}

fn report_keys(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    analysis: &Analysis,
    keys: &InputKeys,
    place: impl Fn(&crate::validate::python::KeyRead) -> (Loc, String),
) {
    for read in analysis.keys.iter().filter(|r| !keys.knows(r)) {
        let what = if read.prefix { "keys starting with" } else { "key" };
        let hint = match keys.closest(&read.key) {
            Some(close) => format!("did you mean `{close}`? (keys from {})", keys.origin),
            None => format!(
                "the keys come from {}; declare a sample with `function.inputSample` or `--input-sample`",
                keys.origin
            ),
        };
        let (loc, helper) = place(read);
        cx.report(
            Rule::InputKeyUnknown,
            doc,
            loc,
            format!("the handler reads {what} `{}`{helper}, which the input never holds", read.key),
            Some(hint),
        );
    }
}

/// Upper bounds on what is read out of a ZIP in a ConfigMap (it is at most 1 MiB anyway).
const ZIP_MAX_ENTRIES: usize = 2_000;
const ZIP_MAX_PY_BYTES: u64 = 4 * 1024 * 1024;
/// Python parsed out of one ZIP, in all: a 1 MiB ConfigMap can hold a ZIP that expands to
/// hundreds of MiB, and parsing all of it would take minutes. Past this the rest is not checked
/// (the runtime refuses such archives anyway: see its ratio and size caps).
const ZIP_MAX_TOTAL_PY_BYTES: u64 = 8 * 1024 * 1024;

/// Whether base64 text starts with a ZIP's local file header (`PK\x03\x04`), decoding only
/// the first bytes.
fn looks_like_zip(b64: &str) -> bool {
    let head: String = b64.trim_start().chars().take(8).collect();
    base64::engine::general_purpose::STANDARD.decode(head).is_ok_and(|b| b.starts_with(b"PK\x03\x04"))
}

/// The modules of a ZIP: `(path, dotted name, is a package, text)`.
fn zip_modules(bytes: Vec<u8>) -> Option<Vec<(String, String, bool, String)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let mut budget = ZIP_MAX_TOTAL_PY_BYTES;
    let mut modules = Vec::new();
    for i in 0..archive.len().min(ZIP_MAX_ENTRIES) {
        let Ok(entry) = archive.by_index(i) else { continue };
        let path = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let Some(stem) = path.strip_suffix(".py") else { continue };
        if entry.size() > ZIP_MAX_PY_BYTES {
            continue;
        }
        if entry.size() > budget {
            break;
        }
        let mut text = String::new();
        if entry.take(budget.min(ZIP_MAX_PY_BYTES)).read_to_string(&mut text).is_err() {
            continue;
        }
        budget = budget.saturating_sub(text.len() as u64);
        let stem = stem.trim_start_matches("./");
        let (dotted, package) = match stem.strip_suffix("/__init__") {
            Some(pkg) => (pkg.replace('/', "."), true),
            None if stem == "__init__" => continue,
            None => (stem.replace('/', "."), false),
        };
        modules.push((path, dotted, package, text));
    }
    Some(modules)
}

fn check_zip(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    (key, loc): (&str, Loc),
    b64: &str,
    handler: Option<&str>,
    ctx: &Context<'_>,
) {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        cx.report(Rule::ConfigmapKey, doc, loc, format!("`binaryData.{key}` is not base64"), None);
        return;
    };
    let Some(modules) = zip_modules(bytes) else {
        cx.report(Rule::PythonSyntax, doc, loc, format!("`binaryData.{key}` is not a ZIP"), None);
        return;
    };
    let sources: Vec<ModuleSource<'_>> = modules
        .iter()
        .map(|(_, dotted, package, text)| ModuleSource { name: dotted.clone(), package: *package, text })
        .collect();
    // Code from a ZIP needs `package.module.function`; without one, only syntax and imports.
    let entry = handler.and_then(|h| h.rsplit_once('.'));
    let entry_index = entry.and_then(|(module, _)| sources.iter().position(|s| s.name == module));
    let analysis = analyze_program(&sources, entry.zip(entry_index).map(|((_, f), i)| (i, f)));
    let path = |module: usize| modules[module].0.as_str();
    for (module, at, message) in &analysis.syntax_errors {
        cx.report(
            Rule::PythonSyntax,
            doc,
            loc,
            format!(
                "`{}` in `{key}` is not valid Python: {message} (line {}, column {})",
                path(*module),
                at.line,
                at.col
            ),
            None,
        );
    }
    match (entry, entry_index, &analysis.entry) {
        (Some((module, _)), None, _) => cx.report(
            Rule::HandlerMissing,
            doc,
            loc,
            format!("`HANDLER_FUNCTION` names module `{module}`, which the ZIP `{key}` does not hold"),
            Some("point `HANDLER_FUNCTION` at `package.module.function` of a module in the ZIP".into()),
        ),
        (Some((_, function)), Some(i), Some(Entry::Missing { defined })) => {
            let defines = if defined.is_empty() { "no functions".to_owned() } else { defined.join(", ") };
            cx.report(
                Rule::HandlerMissing,
                doc,
                loc,
                format!("`{}` in `{key}` defines no top-level `{function}` (it defines: {defines})", path(i)),
                None,
            );
        }
        (Some((_, function)), Some(i), Some(Entry::BadSignature { at, why })) => cx.report(
            Rule::HandlerSignature,
            doc,
            loc,
            format!(
                "`{function}` in `{}` (line {}) cannot be called as `{function}(input, context)`: {why}",
                path(i),
                at.line
            ),
            None,
        ),
        _ => {}
    }
    report_keys(cx, doc, &analysis, ctx.keys, |read| {
        (loc, format!(" (in `{}` line {})", path(read.module), read.at.line))
    });
    if let Some(libraries) = ctx.libraries {
        for missing in libraries.unresolved(&analysis.imports) {
            let import = missing.import;
            cx.report(
                Rule::HandlerImport,
                doc,
                loc,
                format!(
                    "`{}` in `{key}` imports `{}` (line {}), which the runtime cannot find: {}",
                    path(import.module),
                    import.written,
                    import.at.line,
                    missing.why
                ),
                Some("add the module to the ZIP, or declare its package in a `requirements.txt` key".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_double_quoted;

    #[test]
    fn double_quoted_scalars_decode_with_positions() {
        let (text, at) = decode_double_quoted("\"a\\nb\\tc\"", 3, 10).expect("decodes");
        assert_eq!(text, "a\nb\tc");
        assert_eq!(at, vec![(3, 11), (3, 12), (3, 14), (3, 15), (3, 17)]);
        // kubectl's long strings: escaped line breaks, `\ ` for leading spaces.
        let (text, at) =
            decode_double_quoted("\"def h(i, c):\\n\\\n  \\    return i\\n\"", 5, 3).expect("decodes");
        assert_eq!(text, "def h(i, c):\n    return i\n");
        assert_eq!(at[13], (6, 3), "the escaped space starts line 6");
        // A raw line break folds to a space; an empty line gives a line break.
        let (text, _) = decode_double_quoted("\"a  \n   b\n\n c\"", 1, 1).expect("decodes");
        assert_eq!(text, "a b\nc");
        assert!(decode_double_quoted("\"unterminated", 1, 1).is_none());
    }
}
