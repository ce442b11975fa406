//! Services: `nodeport-range` (a warning: a dry run accepts it, a real create fails on most
//! clusters) and `service-selector` (a selector no pod template of the set carries).

use std::collections::BTreeMap;

use super::workload::items;
use crate::finding::Rule;
use crate::validate::{Checker, Doc, Set};
use crate::yaml::{Node, Value};

/// The API server's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set) {
    if doc.kind() != Some("Service") {
        return;
    }
    let Some(spec) = doc.node.get("spec") else { return };
    for port in items(spec.get("ports")) {
        if let Some(n) = port.get("nodePort")
            && let Value::Int(p) = n.value
            && (0..=65535).contains(&p)
            && p != 0
            && !NODE_PORTS.contains(&p)
        {
            cx.report(
                Rule::NodeportRange,
                doc,
                n.loc,
                format!("`nodePort` {p} is outside the default range 30000 to 32767"),
                Some(
                    "pick one in the range, or leave it out; only a cluster with a wider range accepts it"
                        .into(),
                ),
            );
        }
    }
    let Some(selector) = spec.get("selector") else { return };
    let Value::Map(entries) = &selector.value else { return };
    let wanted: BTreeMap<String, String> =
        entries.iter().filter_map(|(k, v)| Some((k.name.clone(), v.as_str()?.to_owned()))).collect();
    if wanted.is_empty() || spec.get("type").and_then(Node::as_str) == Some("ExternalName") {
        return;
    }
    if set.selects_a_pod(doc.namespace(), &wanted) == Some(false) {
        let shown = wanted.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
        cx.report(
            Rule::ServiceSelector,
            doc,
            selector.loc,
            format!("the selector `{{{shown}}}` matches no pod template of the checked files"),
            Some("the Service would have no endpoints: check its selector against the pods' labels".into()),
        );
    }
}
