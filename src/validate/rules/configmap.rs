//! `configmap-key` and `configmap-size`.

use crate::finding::Rule;
use crate::k8s_names;
use crate::validate::{Checker, Doc};
use crate::yaml::Value;

/// The API server's limit on a ConfigMap's data.
pub const CONFIGMAP_MAX_BYTES: usize = 1_048_576;

/// The length of base64 text once decoded (whitespace ignored), without decoding it.
fn decoded_len(b64: &str) -> usize {
    let digits = b64.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let padding = b64.trim_end().bytes().rev().take_while(|&b| b == b'=').count().min(2);
    (digits / 4) * 3
        + match digits % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        }
        - if digits % 4 == 0 { padding } else { 0 }
}

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
                // The API server sums the values (binaryData decoded), not the keys.
                Value::Str(s) if field == "binaryData" => size += decoded_len(s),
                Value::Str(s) => size += s.len(),
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
            format!("ConfigMap values are {size} bytes, over the 1 MiB ({CONFIGMAP_MAX_BYTES} bytes) limit"),
            Some("split the code into a package or shrink it".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    #[test]
    fn decoded_length_without_decoding() {
        for n in 0..40 {
            let bytes = vec![7u8; n];
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            assert_eq!(super::decoded_len(&text), n, "{text}");
            let wrapped: String =
                text.as_bytes().chunks(8).map(|c| format!("{}\n", String::from_utf8_lossy(c))).collect();
            assert_eq!(super::decoded_len(&wrapped), n, "{wrapped}");
        }
    }
}
