//! `not-a-manifest`, `generate-name` and `name-dns1123` on object metadata.

use crate::finding::Rule;
use crate::k8s_names;
use crate::validate::{Checker, Doc};
use crate::yaml::{Node, Value};

/// Kinds whose names are DNS-1123 labels (no dots); others may be subdomains. Services need
/// DNS-1035 labels (a letter first).
const LABEL_NAMED: &[&str] = &["Namespace"];

/// Annotations of objects that a controller (Argo CD, Helm) creates as hooks, with
/// `generateName`.
const HOOK_ANNOTATIONS: &[&str] = &["argocd.argoproj.io/hook", "helm.sh/hook"];

/// `apiVersion`, `kind` and a name (`metadata.name`, or `generateName` for objects the API
/// server names, such as Argo CD hook Jobs) are what an object needs.
pub fn is_manifest(cx: &mut Checker<'_>, doc: &Doc<'_>) -> bool {
    let generate_name = doc.meta().and_then(|m| m.get("generateName")).and_then(Node::as_str).is_some();
    let missing: Vec<&str> = [
        ("apiVersion", doc.node.get("apiVersion").and_then(Node::as_str).is_some()),
        ("kind", doc.kind().is_some()),
        ("metadata.name", doc.name().is_some() || generate_name),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        if doc.name().is_none() && !HOOK_ANNOTATIONS.iter().any(|a| doc.annotation(a).is_some()) {
            let loc = doc.meta().and_then(|m| m.key_loc("generateName")).unwrap_or(doc.node.loc);
            cx.report(
                Rule::GenerateName,
                doc,
                loc,
                "the object has `generateName` and no `name`: plain `kubectl apply` refuses it".into(),
                Some("the API server, `kubectl create` and Argo CD accept it; give it a `name` for `kubectl apply`".into()),
            );
        }
        return true;
    }
    let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
    cx.report(
        Rule::NotAManifest,
        doc,
        doc.node.loc,
        format!("this document is not a Kubernetes object: no {list}"),
        Some(
            "every YAML document in a manifest tree must be a Kubernetes object; ArgoCD fails on others"
                .into(),
        ),
    );
    false
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    let Some(meta) = doc.meta() else { return };
    if let (Some(name_node), Some(kind)) = (meta.get("name"), doc.kind()) {
        let name = name_node.as_str().unwrap_or_default();
        let verdict = if kind == "Service" {
            k8s_names::dns1035_label(name)
        } else if LABEL_NAMED.contains(&kind) {
            k8s_names::dns1123_label(name)
        } else {
            k8s_names::dns1123_subdomain(name)
        };
        if let Err(why) = verdict {
            cx.report(Rule::NameDns1123, doc, name_node.loc, format!("{kind} name `{name}` {why}"), None);
        }
    }
    check_labels(cx, doc, meta);
    if let Some(spec) = doc.node.get("spec")
        && let Some(labels) = spec.get("template").and_then(|t| t.get("metadata"))
    {
        check_labels(cx, doc, labels);
    }
}

fn check_labels(cx: &mut Checker<'_>, doc: &Doc<'_>, meta: &Node) {
    let Some(Value::Map(labels)) = meta.get("labels").map(|l| &l.value) else { return };
    for (key, value) in labels {
        if let Err(why) = k8s_names::qualified_name(&key.name) {
            cx.report(Rule::NameDns1123, doc, key.loc, format!("label key `{}` {why}", key.name), None);
        }
        match &value.value {
            Value::Str(s) => {
                if let Err(why) = k8s_names::label_value(s) {
                    cx.report(Rule::NameDns1123, doc, value.loc, format!("label value `{s}` {why}"), None);
                }
            }
            _ => cx.report(
                Rule::NameDns1123,
                doc,
                value.loc,
                format!("label `{}` must be a string", key.name),
                Some("quote the value: Kubernetes reads `yes`, `1` and `true` as non-strings".into()),
            ),
        }
    }
}
