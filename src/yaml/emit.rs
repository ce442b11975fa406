//! The one way fnops writes YAML: block style, keys in the order given, strings quoted only
//! when a YAML 1.1 or 1.2 reader could take them for something else, multi-line text as literal
//! blocks when that keeps every byte, double-quoted with escapes otherwise.

use std::fmt::Write as _;

use super::node::{Node, Value};
use super::scalar::needs_quotes;

/// Emit one document (without the `---` separator), ending in a newline.
pub fn emit_document(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => emit_map(&mut out, entries, 0),
        Value::Seq(items) if !items.is_empty() => emit_seq(&mut out, items, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn emit_map(out: &mut String, entries: &[(super::Key, Node)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first key of a map inside a sequence item sits after the `- ` already written.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&scalar_str(&key.name));
        out.push(':');
        emit_value(out, &value.value, indent);
    }
}

fn emit_seq(out: &mut String, items: &[Node], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str("- ");
        match &item.value {
            Value::Map(entries) if !entries.is_empty() => emit_map(out, entries, indent + 2),
            Value::Seq(inner) if !inner.is_empty() => emit_seq(out, inner, indent + 2),
            other => {
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

/// The part after `key:`: a nested block, a literal block, or ` scalar`.
fn emit_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            emit_map(out, entries, indent + 2);
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push('\n');
            emit_seq(out, items, indent + 2);
        }
        Value::Str(s) if literal_block_fits(s) => emit_literal(out, s, indent + 2),
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => ".nan".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Value::Float(f) => format!("{f:?}"),
        Value::Str(s) => scalar_str(s),
        Value::Seq(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

fn scalar_str(s: &str) -> String {
    if needs_quotes(s) { double_quoted(s) } else { s.to_owned() }
}

/// Characters YAML allows unescaped in any scalar (c-printable), minus the ones YAML 1.1 reads
/// as line breaks and the byte-order mark.
fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// A YAML double-quoted scalar that reads back as exactly `s`.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Whether a literal block (`|`) can carry `s` byte for byte.
fn literal_block_fits(s: &str) -> bool {
    s.contains('\n')
        && s.chars().all(printable)
        && !s.lines().next().is_some_and(|l| l.starts_with(' ') || l.starts_with('\t') || l.is_empty())
        // A last line of only blanks, without a newline after it, would be eaten by chomping.
        && !s.rsplit('\n').next().is_some_and(|l| !l.is_empty() && l.trim_matches([' ', '\t']).is_empty())
        && !s.split('\n').any(|l| !l.is_empty() && l.trim_matches([' ', '\t']).is_empty())
}

fn emit_literal(out: &mut String, s: &str, indent: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let _ = writeln!(out, " |{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Schema, parse_stream};

    fn roundtrip(s: &str) -> String {
        let doc = format!("data:\n  k: {}\n", "x");
        let mut node = parse_stream(&doc, 0, Schema::Core12).unwrap().remove(0);
        if let Value::Map(entries) = &mut node.value
            && let Value::Map(inner) = &mut entries[0].1.value
        {
            inner[0].1.value = Value::Str(s.to_owned());
        }
        let text = emit_document(&node);
        for schema in [Schema::Core12, Schema::Kubernetes11] {
            let back = parse_stream(&text, 0, schema).unwrap_or_else(|e| panic!("{e} in\n{text}"));
            let got = back[0].get("data").and_then(|d| d.get("k")).and_then(Node::as_str);
            assert_eq!(got, Some(s), "schema {schema:?}, emitted:\n{text}");
        }
        text
    }

    #[test]
    fn awkward_strings_survive() {
        for s in [
            "def handler(i, c):\n    return {}\n",
            "no newline at end\nsecond",
            "many newlines\n\n\n",
            "\tleading tab\nx\n",
            "trailing spaces   \nx\n",
            "blank line with spaces\n   \nx\n",
            "crlf\r\nline\r\n",
            "{{ jinja }}\n---\n...\n",
            "quote \" and \\ backslash\n",
            "unicode é ✓ 😀\n",
            "yes",
            "012",
            "",
            " ",
            "\u{FEFF}bom",
            "nel\u{85}x",
            "\u{7F}\u{1}",
        ] {
            roundtrip(s);
        }
    }

    #[test]
    fn handler_source_is_a_literal_block() {
        let text = roundtrip("def handler(i, c):\n    return {}\n");
        assert!(text.contains("k: |\n    def handler"), "{text}");
    }
}
