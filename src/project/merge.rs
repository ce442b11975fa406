//! Overlay semantics: maps merge key by key, everything else (scalars, lists, null) replaces.

use crate::yaml::{Node, Value};

/// Merge `overlay` over `base`. Replaced values keep the overlay's positions, so errors about
/// them point at the overlay file.
pub fn merge(base: Node, overlay: Node) -> Node {
    match (base.value, overlay.value) {
        (Value::Map(mut entries), Value::Map(over)) => {
            for (key, value) in over {
                match entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some(slot) => {
                        let old = std::mem::replace(&mut slot.1, Node { value: Value::Null, loc: value.loc });
                        slot.1 = merge(old, value);
                        slot.0 = key;
                    }
                    None => entries.push((key, value)),
                }
            }
            Node { value: Value::Map(entries), loc: base.loc }
        }
        (_, value) => Node { value, loc: overlay.loc },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Schema, parse_stream};

    #[test]
    fn maps_merge_lists_and_scalars_replace() {
        let base = parse_stream("a: {x: 1, y: [1, 2]}\nb: keep\n", 0, Schema::Core12).unwrap().remove(0);
        let over = parse_stream("a:\n  y: [3]\n  z: new\n", 1, Schema::Core12).unwrap().remove(0);
        let merged = merge(base, over);
        let json = merged.to_json();
        assert_eq!(json, serde_json::json!({"a": {"x": 1, "y": [3], "z": "new"}, "b": "keep"}));
        let y = merged.get("a").and_then(|a| a.get("y")).unwrap();
        assert_eq!((y.loc.file, y.loc.line), (1, 2));
        let x = merged.get("a").and_then(|a| a.get("x")).unwrap();
        assert_eq!(x.loc.file, 0);
    }
}
