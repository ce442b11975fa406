//! `schema` (errors) and `unknown-kind` (a warning): the object against its kind's JSON Schema.

use crate::finding::Rule;
use crate::validate::schema::SchemaSet;
use crate::validate::{Checker, Doc};
use crate::yaml::{Loc, Node, Value};

/// The node at a JSON-pointer-like path, or the deepest one that exists.
fn locate(root: &Node, path: &[String], key: Option<&str>) -> Loc {
    let mut node = root;
    for seg in path {
        let next = match &node.value {
            Value::Map(_) => node.get(seg),
            Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return node.loc,
        }
    }
    key.and_then(|k| node.key_loc(k)).unwrap_or(node.loc)
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, schemas: &SchemaSet) {
    let (Some(api_version), Some(kind)) = (doc.api_version(), doc.kind()) else { return };
    match schemas.check(api_version, kind, &doc.node.to_json()) {
        None => {
            let loc = doc.node.get("kind").map_or(doc.node.loc, |k| k.loc);
            cx.report(
                Rule::UnknownKind,
                doc,
                loc,
                format!("no schema for `{kind}` in `{api_version}` (Kubernetes {})", schemas.version()),
                Some("for a CRD, add its JSON Schema with `--schema-dir`; otherwise check `apiVersion` and `kind`".into()),
            );
        }
        Some(found) => {
            for v in found {
                let loc = locate(doc.node, &v.path, v.key.as_deref());
                cx.report(Rule::Schema, doc, loc, v.message, None);
            }
        }
    }
}
