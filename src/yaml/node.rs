//! The tree every stage reads: nodes that keep their source position, mapping keys as text
//! with their own position, and the error a stream can fail with.

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
    /// `yaml-syntax` or `yaml-duplicate-key`.
    pub rule: crate::finding::Rule,
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

    /// At least the length of `serde_json::to_string(&self.to_json())`, and exactly it when no
    /// map repeats a key (a repeated key keeps one entry in JSON): computed without building
    /// either, so a size check costs a walk of the tree.
    pub fn json_len_bound(&self) -> usize {
        match &self.value {
            Value::Null => 4,
            Value::Bool(b) => {
                if *b {
                    4
                } else {
                    5
                }
            }
            Value::Int(i) => {
                let digits = i.unsigned_abs().checked_ilog10().map_or(1, |d| d as usize + 1);
                digits + usize::from(*i < 0)
            }
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => n.to_string().len(),
                None => 4,
            },
            Value::Str(s) => json_str_len(s),
            Value::Seq(items) => {
                2 + items.len().saturating_sub(1) + items.iter().map(Node::json_len_bound).sum::<usize>()
            }
            Value::Map(entries) => {
                2 + entries.len().saturating_sub(1)
                    + entries
                        .iter()
                        .map(|(k, v)| json_str_len(&k.name) + 1 + v.json_len_bound())
                        .sum::<usize>()
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

/// The length of `s` as a JSON string, escaped as serde_json escapes it.
fn json_str_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod json_len_tests {
    #[test]
    fn the_json_length_is_the_serialised_length() {
        let text = "a: \"quote \\\\ back\\tslash\\u0001 \\n é ✓\"\nb: [1, -20, 0, 3.25, -1.5e300, .nan, .inf, true, false, null, ~]\nc:\n  d: {e: [], f: {}}\n  \"g\\u007f\": 12345678901234\n  h: -9223372036854775808\n  i: |\n    line\n    \ttab\n";
        let docs = crate::yaml::parse_stream(text, 0, crate::yaml::Schema::Kubernetes11).expect("parses");
        for doc in &docs {
            let json = serde_json::to_string(&doc.to_json()).expect("serialises");
            assert_eq!(doc.json_len_bound(), json.len(), "{json}");
        }
    }
}
