//! Build a position-keeping tree from a YAML event stream, within budgets a hostile file cannot
//! exceed: nesting depth, and what aliases may expand to, counted in nodes and in bytes.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::node::{Key, Loc, Node, Value, YamlError};
use super::scalar::{Schema, resolve_plain};
use crate::finding::Rule;

/// Nesting deeper than this is refused: no real manifest comes close, and a recursive consumer
/// must never overflow its stack.
pub const MAX_DEPTH: usize = 128;
/// Nodes aliases may expand to in one stream, in total ("billion laughs" defence).
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Bytes aliases may expand to in one stream, in total: a few aliases of one big anchor are as
/// much of a bomb as many aliases of small ones.
pub const MAX_ALIAS_BYTES: usize = 16 << 20;
/// Maps with more keys than this find duplicates through a set instead of a scan.
const SCAN_KEYS: usize = 16;

fn loc_of(span: &Span, file: u32) -> Loc {
    let len = if span.end.line() == span.start.line() {
        span.end.col().saturating_sub(span.start.col())
    } else {
        1
    };
    Loc { file, line: span.start.line() as u32, col: span.start.col() as u32 + 1, len: len.max(1) as u32 }
}

enum Frame {
    Seq {
        node: Node,
        anchor: usize,
    },
    Map {
        node: Node,
        anchor: usize,
        pending_key: Option<Key>,
        merges: Vec<Node>,
        keys: Option<HashSet<String>>,
    },
}

/// An anchored node, with what one alias of it costs.
struct Anchored {
    node: Node,
    nodes: usize,
    bytes: usize,
}

/// What an alias of `node` expands to: nodes, and bytes of keys and scalars (with a small cost
/// per node, so that empty ones count too).
fn weight(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Seq(items) => items.iter().map(weight).fold((1, 8), |a, b| (a.0 + b.0, a.1 + b.1)),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let (n, b) = weight(v);
                (n, b + k.name.len())
            })
            .fold((1, 8), |a, b| (a.0 + b.0, a.1 + b.1)),
        Value::Str(s) => (1, 8 + s.len()),
        _ => (1, 8),
    }
}

fn syntax(message: impl Into<String>, loc: Loc) -> YamlError {
    YamlError { rule: Rule::YamlSyntax, message: message.into(), loc }
}

/// Parse a stream of YAML documents. Empty and comment-only documents are left out.
pub fn parse_stream(text: &str, file: u32, schema: Schema) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    parse_part(text, file, schema, &mut Part::default(), |doc| docs.push(doc))?;
    Ok(docs)
}

/// Where a part of a stream sits in it, when a big stream is parsed a run of whole documents at
/// a time: the lines before it (its locations are the stream's), and what is left of the alias
/// budget. A part parsed on its own starts with the whole budget; [`Part::spend`] adds up what
/// the parts of one stream spent, against the stream's budget.
pub struct Part {
    pub lines_before: u32,
    nodes_left: usize,
    bytes_left: usize,
}

impl Default for Part {
    fn default() -> Self {
        Part { lines_before: 0, nodes_left: MAX_ALIAS_NODES, bytes_left: MAX_ALIAS_BYTES }
    }
}

impl Part {
    /// Take what `other` spent of its (full) alias budget out of this one; false when that is
    /// more than is left.
    pub fn spend(&mut self, other: &Part) -> bool {
        let nodes = MAX_ALIAS_NODES - other.nodes_left;
        let bytes = MAX_ALIAS_BYTES - other.bytes_left;
        if nodes > self.nodes_left || bytes > self.bytes_left {
            return false;
        }
        self.nodes_left -= nodes;
        self.bytes_left -= bytes;
        true
    }
}

/// Parse a stream, or one part of it (whole documents, `part.lines_before` lines into it),
/// handing each document to `each` as soon as it ends, so that a caller can drop it before the
/// next is built. An error ends the stream: what was handed out before it belongs to a file that
/// is refused.
pub fn parse_part(
    text: &str,
    file: u32,
    schema: Schema,
    part: &mut Part,
    mut each: impl FnMut(Node),
) -> Result<(), YamlError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Anchored> = HashMap::new();
    let (nodes_left, bytes_left) = (&mut part.nodes_left, &mut part.bytes_left);
    let before = part.lines_before;
    let mut doc_root: Option<Node> = None;

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let line = e.marker().line() as u32 + before;
            let loc = Loc { file, line, col: e.marker().col() as u32 + 1, len: 1 };
            syntax(e.info(), loc)
        })?;
        let mut loc = loc_of(&span, file);
        loc.line += before;
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                if let Some(root) = doc_root.take()
                    && root.value != Value::Null
                {
                    each(root);
                }
                None
            }
            Event::Alias(id) => {
                let target = anchors.get(&id).ok_or_else(|| syntax("alias to an unknown anchor", loc))?;
                if target.nodes > *nodes_left {
                    return Err(syntax(
                        format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes (refused as an alias bomb)"
                        ),
                        loc,
                    ));
                }
                if target.bytes > *bytes_left {
                    return Err(syntax(
                        format!(
                            "aliases expand to more than {MAX_ALIAS_BYTES} bytes (refused as an alias bomb)"
                        ),
                        loc,
                    ));
                }
                *nodes_left -= target.nodes;
                *bytes_left -= target.bytes;
                Some((Node { value: target.node.value.clone(), loc }, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = match (style, tag.as_ref().map(|t| t.suffix.as_str())) {
                    (_, Some("str")) => Value::Str(text.into_owned()),
                    (ScalarStyle::Plain, _) | (_, Some("int" | "float" | "bool" | "null")) => {
                        resolve_plain(&text, schema)
                    }
                    _ => Value::Str(text.into_owned()),
                };
                Some((Node { value, loc }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                check_depth(&stack, loc)?;
                stack.push(Frame::Seq { node: Node { value: Value::Seq(Vec::new()), loc }, anchor });
                None
            }
            Event::MappingStart(anchor, _) => {
                check_depth(&stack, loc)?;
                stack.push(Frame::Map {
                    node: Node { value: Value::Map(Vec::new()), loc },
                    anchor,
                    pending_key: None,
                    merges: Vec::new(),
                    keys: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { node, anchor }) => Some((node, anchor)),
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { mut node, anchor, merges, keys, .. }) => {
                    apply_merges(&mut node, merges, keys)?;
                    Some((node, anchor))
                }
                _ => unreachable!("the parser balances mapping events"),
            },
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                let (nodes, bytes) = weight(&node);
                anchors.insert(anchor, Anchored { node: node.clone(), nodes, bytes });
            }
            attach(&mut stack, &mut doc_root, node)?;
        }
    }
    if let Some(root) = doc_root.take()
        && root.value != Value::Null
    {
        each(root);
    }
    Ok(())
}

fn check_depth(stack: &[Frame], loc: Loc) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(syntax(format!("nesting deeper than {MAX_DEPTH} levels is refused"), loc));
    }
    Ok(())
}

/// Put a finished node where it belongs: a sequence item, a mapping key or value, or the root.
fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { node: parent, .. }) => {
            if let Value::Seq(items) = &mut parent.value {
                items.push(node);
            }
        }
        Some(Frame::Map { node: parent, pending_key, merges, keys, .. }) => match pending_key.take() {
            None => {
                let name = match node.value {
                    Value::Str(s) => s,
                    Value::Null => "null".to_owned(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(syntax("complex mapping keys are not supported", node.loc));
                    }
                };
                *pending_key = Some(Key { name, loc: node.loc });
            }
            Some(key) => {
                if key.name == "<<" {
                    if !is_mergeable(&node) {
                        return Err(syntax(
                            "the merge key `<<` takes a mapping or a list of mappings (an alias such as `*base`)",
                            key.loc,
                        ));
                    }
                    merges.push(node);
                    return Ok(());
                }
                let Value::Map(entries) = &mut parent.value else { unreachable!() };
                let duplicate = match keys {
                    Some(set) => !set.insert(key.name.clone()),
                    None => {
                        let found = entries.iter().any(|(k, _)| k.name == key.name);
                        if !found && entries.len() >= SCAN_KEYS {
                            let mut set: HashSet<String> =
                                entries.iter().map(|(k, _)| k.name.clone()).collect();
                            set.insert(key.name.clone());
                            *keys = Some(set);
                        }
                        found
                    }
                };
                if duplicate {
                    let first =
                        entries.iter().find(|(k, _)| k.name == key.name).map_or(0, |(k, _)| k.loc.line);
                    return Err(YamlError {
                        rule: Rule::YamlDuplicateKey,
                        message: format!("duplicate key `{}` (first set on line {first})", key.name),
                        loc: key.loc,
                    });
                }
                entries.push((key, node));
            }
        },
    }
    Ok(())
}

fn is_mergeable(node: &Node) -> bool {
    match &node.value {
        Value::Map(_) => true,
        Value::Seq(items) => items.iter().all(|i| matches!(i.value, Value::Map(_))),
        _ => false,
    }
}

/// YAML merge keys (`<<: *base`): keys written in the mapping win over merged ones, and earlier
/// merged maps over later ones.
fn apply_merges(node: &mut Node, merges: Vec<Node>, keys: Option<HashSet<String>>) -> Result<(), YamlError> {
    if merges.is_empty() {
        return Ok(());
    }
    let Value::Map(entries) = &mut node.value else { return Ok(()) };
    let mut present: HashSet<String> =
        keys.unwrap_or_else(|| entries.iter().map(|(k, _)| k.name.clone()).collect());
    for merge in merges {
        let sources = match merge.value {
            Value::Map(m) => vec![m],
            Value::Seq(items) => items
                .into_iter()
                .filter_map(|n| match n.value {
                    Value::Map(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for source in sources {
            for (k, v) in source {
                if present.insert(k.name.clone()) {
                    entries.push((k, v));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_stream(text, 0, Schema::Core12).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn positions_are_one_based_and_point_at_values() {
        let doc = one("a: 1\nb:\n  c: hello\n");
        let c = doc.get("b").and_then(|b| b.get("c")).expect("b.c");
        assert_eq!((c.loc.line, c.loc.col, c.loc.len), (3, 6, 5));
        assert_eq!(doc.key_loc("b").map(|l| (l.line, l.col)), Some((2, 1)));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_stream("a: 1\nb: 2\na: 3\n", 0, Schema::Core12).unwrap_err();
        assert_eq!(err.rule, Rule::YamlDuplicateKey);
        assert_eq!((err.loc.line, err.loc.col), (3, 1));
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn streams_skip_empty_documents_and_accept_bom_and_crlf() {
        let docs =
            parse_stream("\u{FEFF}---\n# only a comment\n---\r\na: b\r\n---\nc: d\n", 0, Schema::Core12)
                .expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("a").and_then(Node::as_str), Some("b"));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_stream(&text, 0, Schema::Core12).unwrap_err();
        assert!(err.message.contains("alias"), "{}", err.message);
    }

    /// One 50 KB anchor aliased 2,000 times is 68 KB of text and 100 MB of tree: the byte
    /// budget refuses it although it holds few nodes.
    #[test]
    fn a_big_anchor_aliased_many_times_is_refused_by_its_bytes() {
        let mut text = format!("a: &big \"{}\"\nlist:\n", "x".repeat(50_000));
        for _ in 0..2_000 {
            text.push_str("  - *big\n");
        }
        assert!(text.len() < 70_000);
        let err = parse_stream(&text, 0, Schema::Kubernetes11).unwrap_err();
        assert!(err.message.contains("bytes (refused as an alias bomb)"), "{}", err.message);
        // A few aliases of it are fine.
        let few = format!("a: &big \"{}\"\nb: *big\nc: *big\n", "x".repeat(50_000));
        assert!(parse_stream(&few, 0, Schema::Kubernetes11).is_ok());
    }

    /// 200,000 distinct keys: duplicates are found through a set, so this is linear (it took
    /// minutes when every key was compared with all the others).
    #[test]
    fn many_keys_parse_in_linear_time_and_duplicates_are_still_found() {
        let mut text = String::with_capacity(4 << 20);
        for i in 0..200_000 {
            text.push_str(&format!("k{i}: v\n"));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let big = text.clone();
        std::thread::spawn(move || {
            let _ = tx.send(parse_stream(&big, 0, Schema::Kubernetes11).map(|d| d.len()));
        });
        // A generous bound that only a quadratic scan exceeds (it needs 2e10 comparisons).
        let parsed = rx.recv_timeout(std::time::Duration::from_secs(120)).expect("finishes");
        assert_eq!(parsed, Ok(1));
        text.push_str("k123456: again\n");
        let err = parse_stream(&text, 0, Schema::Kubernetes11).unwrap_err();
        assert_eq!(err.rule, Rule::YamlDuplicateKey);
        assert!(err.message.contains("first set on line 123457"), "{}", err.message);
    }

    #[test]
    fn a_merge_key_needs_a_mapping() {
        let err = parse_stream("a:\n  <<: 5\n  b: 1\n", 0, Schema::Kubernetes11).unwrap_err();
        assert!(err.message.contains("merge key `<<` takes a mapping"), "{}", err.message);
        assert_eq!((err.loc.line, err.loc.col), (2, 3));
        assert!(parse_stream("x: &x {a: 1}\ny: {<<: [*x], b: 2}\n", 0, Schema::Kubernetes11).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 5);
        let err = parse_stream(&text, 0, Schema::Core12).unwrap_err();
        assert_eq!(err.rule, Rule::YamlSyntax);
    }

    #[test]
    fn merge_keys_fill_missing_entries() {
        let doc = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = doc.get("m").expect("m");
        assert_eq!(m.get("x").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(m.get("y").map(|n| &n.value), Some(&Value::Int(3)));
    }
}
