//! Build a position-keeping tree from a YAML event stream.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::scalar::{Schema, resolve_plain};

/// Nesting deeper than this is refused: no real manifest comes close, and a recursive consumer
/// must never overflow its stack.
pub const MAX_DEPTH: usize = 128;
/// Nodes an alias may expand to in one stream, in total ("billion laughs" defence).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A position in a source file: 1-based line and column (in characters), and which file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// Index of the file in the caller's list of sources.
    pub file: u32,
    pub line: u32,
    pub col: u32,
    /// Length of the token in characters on its first line (at least 1), for carets.
    pub len: u32,
}

/// A mapping key: always text, with its own position (errors about a field point at the key).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

/// A node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// Why a stream could not be read, and where.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Stable rule id: `yaml-syntax` or `yaml-duplicate-key`.
    pub rule: &'static str,
    pub message: String,
    pub loc: Loc,
}

impl Node {
    /// The value at `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Count of nodes in this subtree (used for the alias budget).
    fn weight(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::weight).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|(_, v)| v.weight()).sum::<usize>(),
            _ => 1,
        }
    }

    /// Convert to JSON (for typed deserialisation and JSON Schema checks).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                J::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }

    /// Follow a path of map keys and sequence indexes; returns the deepest node reached and
    /// whether the whole path was found.
    pub fn lookup<'a>(&'a self, path: &[PathSeg<'_>]) -> (&'a Node, bool) {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(_)) => node.get(k),
                (PathSeg::Index(i), Value::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }

    /// The key node of `key` in this mapping (to point at a field name).
    pub fn key_loc(&self, key: &str) -> Option<Loc> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k.loc),
            _ => None,
        }
    }
}

/// One step of a path into a tree.
#[derive(Clone, Copy, Debug)]
pub enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

fn loc_of(span: &Span, file: u32) -> Loc {
    let len = if span.end.line() == span.start.line() {
        span.end.col().saturating_sub(span.start.col())
    } else {
        1
    };
    Loc { file, line: span.start.line() as u32, col: span.start.col() as u32 + 1, len: len.max(1) as u32 }
}

enum Frame {
    Seq { node: Node, anchor: usize },
    Map { node: Node, anchor: usize, pending_key: Option<Key>, merges: Vec<Node> },
}

/// Parse a stream of YAML documents. Empty and comment-only documents are left out.
pub fn parse_stream(text: &str, file: u32, schema: Schema) -> Result<Vec<Node>, YamlError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = MAX_ALIAS_NODES;
    let mut doc_root: Option<Node> = None;

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| YamlError {
            rule: "yaml-syntax",
            message: e.info().to_owned(),
            loc: Loc { file, line: e.marker().line() as u32, col: e.marker().col() as u32 + 1, len: 1 },
        })?;
        let loc = loc_of(&span, file);
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
                    docs.push(root);
                }
                None
            }
            Event::Alias(id) => {
                let target = anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    rule: "yaml-syntax",
                    message: "alias to an unknown anchor".into(),
                    loc,
                })?;
                let weight = target.weight();
                if weight > alias_budget {
                    return Err(YamlError {
                        rule: "yaml-syntax",
                        message: format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes (refused as an alias bomb)"
                        ),
                        loc,
                    });
                }
                alias_budget -= weight;
                Some((Node { value: target.value, loc }, 0))
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
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { node, anchor }) => Some((node, anchor)),
                _ => unreachable!("the parser balances sequence events"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map { mut node, anchor, merges, .. }) => {
                    apply_merges(&mut node, merges);
                    Some((node, anchor))
                }
                _ => unreachable!("the parser balances mapping events"),
            },
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            attach(&mut stack, &mut doc_root, node)?;
        }
    }
    if let Some(root) = doc_root.take()
        && root.value != Value::Null
    {
        docs.push(root);
    }
    Ok(docs)
}

fn check_depth(stack: &[Frame], loc: Loc) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(YamlError {
            rule: "yaml-syntax",
            message: format!("nesting deeper than {MAX_DEPTH} levels is refused"),
            loc,
        });
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
        Some(Frame::Map { node: parent, pending_key, merges, .. }) => match pending_key.take() {
            None => {
                let name = match node.value {
                    Value::Str(s) => s,
                    Value::Null => "null".to_owned(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(YamlError {
                            rule: "yaml-syntax",
                            message: "complex mapping keys are not supported".into(),
                            loc: node.loc,
                        });
                    }
                };
                *pending_key = Some(Key { name, loc: node.loc });
            }
            Some(key) => {
                if key.name == "<<" {
                    merges.push(node);
                    return Ok(());
                }
                let Value::Map(entries) = &mut parent.value else { unreachable!() };
                if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                    return Err(YamlError {
                        rule: "yaml-duplicate-key",
                        message: format!(
                            "duplicate key `{}` (first set on line {})",
                            key.name, first.loc.line
                        ),
                        loc: key.loc,
                    });
                }
                entries.push((key, node));
            }
        },
    }
    Ok(())
}

/// YAML merge keys (`<<: *base`): keys written in the mapping win over merged ones.
fn apply_merges(node: &mut Node, merges: Vec<Node>) {
    let Value::Map(entries) = &mut node.value else { return };
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
                if !entries.iter().any(|(e, _)| e.name == k.name) {
                    entries.push((k, v));
                }
            }
        }
    }
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
        assert_eq!(err.rule, "yaml-duplicate-key");
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

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 5);
        let err = parse_stream(&text, 0, Schema::Core12).unwrap_err();
        assert_eq!(err.rule, "yaml-syntax");
    }

    #[test]
    fn merge_keys_fill_missing_entries() {
        let doc = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = doc.get("m").expect("m");
        assert_eq!(m.get("x").map(|n| &n.value), Some(&Value::Int(1)));
        assert_eq!(m.get("y").map(|n| &n.value), Some(&Value::Int(3)));
    }
}
