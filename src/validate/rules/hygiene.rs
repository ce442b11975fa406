//! Warnings about what works today but will hurt: `server-fields`, `subpath-no-rollout`,
//! `last-applied-size`, `resources-missing`, `security-context`, `probe-missing`.

use super::workload::{containers, items, pod_spec, pod_template};
use crate::finding::Rule;
use crate::validate::{Checker, Doc, is_true};
use crate::yaml::{Node, Value};

/// The annotation `kubectl apply` writes is limited to this many bytes.
pub const LAST_APPLIED_MAX: usize = 262_144;

const SERVER_FIELDS: &[&str] = &["uid", "resourceVersion", "managedFields", "selfLink", "generation"];

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    server_fields(cx, doc);
    last_applied_size(cx, doc);
    let Some(spec) = pod_spec(doc) else { return };
    subpath_rollout(cx, doc, spec);
    for container in containers(spec) {
        container_hygiene(cx, doc, spec, container);
    }
}

fn server_fields(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    let hint =
        || Some("remove it: the API server sets it, and a committed copy makes every sync a diff".into());
    if let Some(meta) = doc.meta() {
        for field in SERVER_FIELDS {
            if let Some(loc) = meta.key_loc(field) {
                cx.report(
                    Rule::ServerFields,
                    doc,
                    loc,
                    format!("`metadata.{field}` is set by the server"),
                    hint(),
                );
            }
        }
        if let (Some(loc), Some(value)) = (meta.key_loc("creationTimestamp"), meta.get("creationTimestamp"))
            && value.value != Value::Null
        {
            cx.report(
                Rule::ServerFields,
                doc,
                loc,
                "`metadata.creationTimestamp` is set by the server".into(),
                hint(),
            );
        }
    }
    if let Some(loc) = doc.node.key_loc("status") {
        cx.report(
            Rule::ServerFields,
            doc,
            loc,
            "`status` is written by controllers, not committed".into(),
            hint(),
        );
    }
}

fn last_applied_size(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    let server_side = doc
        .annotation("argocd.argoproj.io/sync-options")
        .is_some_and(|o| o.split(',').any(|x| x.trim() == "ServerSideApply=true"));
    if server_side {
        return;
    }
    // The bound is exact unless a map repeats a key; only an object over the limit by it pays
    // for building its JSON, to name its exact size.
    if doc.node.json_len_bound() <= LAST_APPLIED_MAX {
        return;
    }
    let size = serde_json::to_string(&doc.node.to_json()).map_or(0, |s| s.len());
    if size > LAST_APPLIED_MAX {
        cx.report(
            Rule::LastAppliedSize,
            doc,
            doc.node.loc,
            format!("the object is {size} bytes: client-side apply cannot store it in `last-applied-configuration` ({LAST_APPLIED_MAX} bytes)"),
            Some("annotate it with `argocd.argoproj.io/sync-options: ServerSideApply=true`".into()),
        );
    }
}

/// A ConfigMap mounted by `subPath` is never refreshed: without a checksum annotation on the
/// pod template, a code change never reaches the pod.
fn subpath_rollout(cx: &mut Checker<'_>, doc: &Doc<'_>, spec: &Node) {
    let configmap_volumes: Vec<&str> = items(spec.get("volumes"))
        .iter()
        .filter(|v| v.get("configMap").is_some())
        .filter_map(|v| v.get("name").and_then(Node::as_str))
        .collect();
    let has_checksum = pod_template(doc)
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("annotations"))
        .is_some_and(|a| match &a.value {
            Value::Map(entries) => entries.iter().any(|(k, _)| k.name.contains("checksum")),
            _ => false,
        });
    if has_checksum || pod_template(doc).is_none() {
        return;
    }
    for container in containers(spec) {
        for mount in items(container.get("volumeMounts")) {
            let by_subpath = mount.get("subPath").is_some();
            let name = mount.get("name").and_then(Node::as_str).unwrap_or_default();
            if by_subpath && configmap_volumes.contains(&name) {
                let loc = mount.get("subPath").map_or(mount.loc, |n| n.loc);
                cx.report(
                    Rule::SubpathNoRollout,
                    doc,
                    loc,
                    format!("ConfigMap volume `{name}` is mounted by `subPath`, which is never refreshed, and no checksum annotation rolls the pod"),
                    Some("add an annotation with a hash of the ConfigMap to the pod template (`fnops render` adds `fnops.io/config-checksum`)".into()),
                );
            }
        }
    }
}

fn container_hygiene(cx: &mut Checker<'_>, doc: &Doc<'_>, spec: &Node, container: &Node) {
    let name = container.get("name").and_then(Node::as_str).unwrap_or("?");
    let at = container.get("name").map_or(container.loc, |n| n.loc);
    let resources = container.get("resources");
    let missing: Vec<&str> = [("requests", "requests"), ("limits", "limits")]
        .into_iter()
        .filter(|(field, _)| {
            let list = resources.and_then(|r| r.get(field));
            !(list.and_then(|l| l.get("cpu")).is_some() || list.and_then(|l| l.get("memory")).is_some())
        })
        .map(|(_, label)| label)
        .collect();
    if !missing.is_empty() {
        cx.report(
            Rule::ResourcesMissing,
            doc,
            at,
            format!("container `{name}` sets no resource {}", missing.join(" or ")),
            Some("set `resources.requests` and `resources.limits` (cpu, memory) so the scheduler and the OOM killer know its size".into()),
        );
    }
    let pod_sc = spec.get("securityContext");
    let sc = container.get("securityContext");
    let mut weak = Vec::new();
    if !(is_true(sc.and_then(|s| s.get("runAsNonRoot")))
        || is_true(pod_sc.and_then(|s| s.get("runAsNonRoot"))))
    {
        weak.push("`runAsNonRoot: true`");
    }
    if !is_true(sc.and_then(|s| s.get("readOnlyRootFilesystem"))) {
        weak.push("`readOnlyRootFilesystem: true`");
    }
    if !matches!(
        sc.and_then(|s| s.get("allowPrivilegeEscalation")).map(|n| &n.value),
        Some(Value::Bool(false))
    ) {
        weak.push("`allowPrivilegeEscalation: false`");
    }
    if !weak.is_empty() {
        cx.report(
            Rule::SecurityContext,
            doc,
            at,
            format!("container `{name}` lacks {}", weak.join(", ")),
            Some("harden the container's `securityContext` (fnops renders all three by default)".into()),
        );
    }
    if matches!(
        doc.kind(),
        Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController")
    ) {
        let probes: Vec<&str> =
            ["livenessProbe", "readinessProbe"].into_iter().filter(|p| container.get(p).is_none()).collect();
        if !probes.is_empty() {
            cx.report(
                Rule::ProbeMissing,
                doc,
                at,
                format!("container `{name}` has no {}", probes.join(" or ")),
                Some("without probes a stuck process is never restarted and traffic reaches pods that are not ready".into()),
            );
        }
    }
}
