//! `python-syntax`, `handler-missing`, `handler-signature` (errors) and `input-key-unknown`
//! (a warning) on the code a runtime loads from a ConfigMap: the `pyfile` key, keys named
//! `*.py`, and `.py` files inside a ZIP in `binaryData`. Python positions are mapped back to the
//! YAML: into a literal block line by line, or onto a quoted one-line value.

use std::io::Read as _;

use base64::Engine as _;

use crate::finding::{Rule, Sources};
use crate::validate::python::{Entry, InputKeys, PyPos, analyze};
use crate::validate::{Checker, Doc, Set};
use crate::yaml::{Loc, Node, Value};

/// How a string value sits in the YAML source.
enum Layout {
    /// A literal or folded block: Python line N is YAML line `first + N - 1`, shifted by `indent`.
    Block { first: u32, indent: u32 },
    /// A quoted scalar: everything maps to the value's own position.
    Inline,
}

fn layout(sources: &Sources, key: Loc) -> Layout {
    let text = sources.text(key.file);
    let line = text.lines().nth(key.line.saturating_sub(1) as usize).unwrap_or("");
    let after_key: String = line.chars().skip((key.col + key.len).saturating_sub(1) as usize).collect();
    let indicator = after_key.trim_start_matches([':', ' ', '\t']);
    if !(indicator.starts_with('|') || indicator.starts_with('>')) {
        return Layout::Inline;
    }
    // Block content starts on the line after the indicator; its indentation is that of the
    // first non-blank content line.
    let indent = text
        .lines()
        .skip(key.line as usize)
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
    Layout::Block { first: key.line + 1, indent: indent as u32 }
}

fn map(layout: &Layout, value: &Node, at: PyPos) -> Loc {
    match layout {
        Layout::Block { first, indent } => {
            Loc { file: value.loc.file, line: first + at.line - 1, col: indent + at.col, len: 1 }
        }
        Layout::Inline => value.loc,
    }
}

/// The entry point the runtime will call for a pyfile: `HANDLER_FUNCTION` from a ConfigMap of
/// the set (bare, or `usermodule.x`), else `handler`. `None` when it lives in another module.
fn entry_name(set: &Set) -> Option<String> {
    match set.handler_function.as_deref().map(str::trim) {
        None | Some("") => Some("handler".into()),
        Some(h) if !h.contains('.') => Some(h.to_owned()),
        Some(h) => h.strip_prefix("usermodule.").map(str::to_owned),
    }
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set, keys: Option<&InputKeys>) {
    if doc.kind() != Some("ConfigMap") {
        return;
    }
    let keys = keys.unwrap_or_else(|| InputKeys::course());
    if let Some(Value::Map(entries)) = doc.node.get("data").map(|d| &d.value) {
        for (key, value) in entries {
            let Some(source) = value.as_str() else { continue };
            if key.name == "pyfile" || key.name.ends_with(".py") {
                check_module(cx, doc, (&key.name, key.loc), value, source, entry_name(set).as_deref(), keys);
            }
        }
    }
    if let Some(Value::Map(entries)) = doc.node.get("binaryData").map(|d| &d.value) {
        for (key, value) in entries {
            // A ZIP is known by its content, whatever its key (`zipped-module`, `code`...).
            let b64 = value.as_str().unwrap_or_default();
            if key.name.ends_with(".zip") || looks_like_zip(b64) {
                check_zip(cx, doc, &key.name, key.loc, b64);
            }
        }
    }
}

fn check_module(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    (key, key_loc): (&str, Loc),
    value: &Node,
    source: &str,
    entry: Option<&str>,
    keys: &InputKeys,
) {
    let layout = layout(cx.sources, key_loc);
    let analysis = analyze(source, entry);
    if let Some((at, message)) = analysis.syntax_error {
        let loc = map(&layout, value, at);
        cx.report(
            Rule::PythonSyntax,
            doc,
            loc,
            format!("`{key}` is not valid Python: {message} (Python line {}, column {})", at.line, at.col),
            Some("the runtime would fail to import the module and the pod would crash-loop".into()),
        );
        return;
    }
    let entry_name = entry.unwrap_or("handler");
    match analysis.entry {
        Some(Entry::Missing { defined }) => {
            let defines = if defined.is_empty() { "no functions".to_owned() } else { defined.join(", ") };
            cx.report(
                Rule::HandlerMissing,
                doc,
                value.loc,
                format!("`{key}` defines no top-level `{entry_name}` (it defines: {defines})"),
                Some(format!("define `def {entry_name}(input, context):` or set `HANDLER_FUNCTION`")),
            );
        }
        Some(Entry::BadSignature { at, why }) => cx.report(
            Rule::HandlerSignature,
            doc,
            map(&layout, value, at),
            format!("`{entry_name}` cannot be called as `{entry_name}(input, context)`: {why}"),
            Some(format!("define it as `def {entry_name}(input, context):`")),
        ),
        Some(Entry::Ok) | None => {}
    }
    for read in analysis.keys.iter().filter(|r| !keys.knows(r)) {
        let what = if read.prefix { "keys starting with" } else { "key" };
        let hint = match keys.closest(&read.key) {
            Some(close) => format!("did you mean `{close}`? (keys from {})", keys.origin),
            None => format!(
                "the keys come from {}; declare a sample with `function.inputSample` or `--input-sample`",
                keys.origin
            ),
        };
        cx.report(
            Rule::InputKeyUnknown,
            doc,
            map(&layout, value, read.at),
            format!("the handler reads {what} `{}`, which the input never holds", read.key),
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

fn check_zip(cx: &mut Checker<'_>, doc: &Doc<'_>, key: &str, loc: Loc, b64: &str) {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        cx.report(Rule::ConfigmapKey, doc, loc, format!("`binaryData.{key}` is not base64"), None);
        return;
    };
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        cx.report(Rule::PythonSyntax, doc, loc, format!("`binaryData.{key}` is not a ZIP"), None);
        return;
    };
    let mut budget = ZIP_MAX_TOTAL_PY_BYTES;
    for i in 0..archive.len().min(ZIP_MAX_ENTRIES) {
        let Ok(entry) = archive.by_index(i) else { continue };
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        if !name.ends_with(".py") || entry.size() > ZIP_MAX_PY_BYTES {
            continue;
        }
        if entry.size() > budget {
            break;
        }
        let mut source = String::new();
        if entry.take(budget.min(ZIP_MAX_PY_BYTES)).read_to_string(&mut source).is_err() {
            continue;
        }
        budget = budget.saturating_sub(source.len() as u64);
        if let Some((at, message)) = analyze(&source, None).syntax_error {
            cx.report(
                Rule::PythonSyntax,
                doc,
                loc,
                format!(
                    "`{name}` in `{key}` is not valid Python: {message} (line {}, column {})",
                    at.line, at.col
                ),
                None,
            );
        }
    }
}
