//! `configmap-key` and `configmap-size`.

use crate::finding::Rule;
use crate::k8s_names;
use crate::validate::{Checker, Doc};
use crate::yaml::Value;

/// The API server's limit on a ConfigMap's data.
pub const CONFIGMAP_MAX_BYTES: usize = 1_048_576;

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    if doc.kind() != Some("ConfigMap") {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut size = 0usize;
    for field in ["data", "binaryData"] {
        let Some(node) = doc.node.get(field) else { continue };
        let Value::Map(entries) = &node.value else { continue };
        for (key, value) in entries {
            if let Err(why) = k8s_names::config_key(&key.name) {
                cx.report(
                    Rule::ConfigmapKey,
                    doc,
                    key.loc,
                    format!("ConfigMap key `{}` {why}", key.name),
                    None,
                );
            }
            if seen.contains(&key.name.as_str()) {
                cx.report(
                    Rule::ConfigmapKey,
                    doc,
                    key.loc,
                    format!("key `{}` is in both `data` and `binaryData`", key.name),
                    None,
                );
            }
            seen.push(&key.name);
            match &value.value {
                Value::Str(s) => size += key.name.len() + s.len(),
                Value::Null => {}
                _ => cx.report(
                    Rule::ConfigmapKey,
                    doc,
                    value.loc,
                    format!("`{field}.{}` must be a string", key.name),
                    Some(
                        "quote the value: Kubernetes reads `yes`, `on`, `012` and numbers as non-strings"
                            .into(),
                    ),
                ),
            }
        }
    }
    if size > CONFIGMAP_MAX_BYTES {
        cx.report(
            Rule::ConfigmapSize,
            doc,
            doc.node.loc,
            format!("ConfigMap data is {size} bytes, over the 1 MiB ({CONFIGMAP_MAX_BYTES} bytes) limit"),
            Some("split the code into a package or shrink it".into()),
        );
    }
}
