//! Pod-level rules: `selector-mismatch`, `duplicate-env`, `mount-missing-volume`,
//! `ref-missing-configmap`, `ref-missing-key`, `subpath-key`, `secret-literal`, and container
//! names under `name-dns1123`.

use crate::finding::Rule;
use crate::k8s_names;
use crate::validate::{Checker, Doc, Set};
use crate::yaml::{Loc, Node, Value};

const SECRET_WORDS: &[&str] =
    &["PASSWORD", "PASSWD", "TOKEN", "SECRET", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL"];

/// The items of a sequence node (none for anything else).
pub fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

fn str_at<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::as_str)
}

fn is_optional(node: &Node) -> bool {
    crate::validate::is_true(node.get("optional"))
}

/// The pod template of a workload (`None` for a bare Pod or another kind). Every kind that
/// carries one gets every workload rule.
pub fn pod_template<'a>(doc: &Doc<'a>) -> Option<&'a Node> {
    let spec = doc.node.get("spec")?;
    match doc.kind()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            spec.get("template")
        }
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template"),
        _ => None,
    }
}

/// The pod spec of a workload, wherever its kind keeps it.
pub fn pod_spec<'a>(doc: &Doc<'a>) -> Option<&'a Node> {
    match doc.kind()? {
        "Pod" => doc.node.get("spec"),
        _ => pod_template(doc)?.get("spec"),
    }
}

/// Init containers and containers.
pub fn containers(spec: &Node) -> impl Iterator<Item = &Node> {
    ["initContainers", "containers"].into_iter().flat_map(move |f| items(spec.get(f)).iter())
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set, externals: &[String]) {
    check_selector(cx, doc);
    let Some(spec) = pod_spec(doc) else { return };
    let volumes = items(spec.get("volumes"));
    for volume in volumes {
        if let Some(cm) = volume.get("configMap") {
            check_configmap_ref(cx, doc, set, cm, externals);
            if let Some(name) = str_at(cm, "name") {
                for item in items(cm.get("items")) {
                    if let Some(key_node) = item.get("key") {
                        check_key_ref(cx, doc, set, name, key_node, is_optional(cm));
                    }
                }
            }
        }
    }
    let claims = claim_templates(doc);
    for container in containers(spec) {
        check_container(cx, doc, set, container, volumes, claims, externals);
    }
}

fn check_selector(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    let rc = doc.kind() == Some("ReplicationController");
    if !(rc || matches!(doc.kind(), Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"))) {
        return;
    }
    let Some(spec) = doc.node.get("spec") else { return };
    let labels = spec.get("template").and_then(|t| t.get("metadata")).and_then(|m| m.get("labels"));
    // A ReplicationController's selector is a plain map, defaulted from the template's labels;
    // with neither, the API server refuses it.
    let selector =
        if rc { spec.get("selector") } else { spec.get("selector").and_then(|s| s.get("matchLabels")) };
    if rc && selector.is_none() && labels.is_none_or(|l| !matches!(&l.value, Value::Map(m) if !m.is_empty()))
    {
        cx.report(
            Rule::SelectorMismatch,
            doc,
            spec.key_loc("template").unwrap_or(spec.loc),
            "the ReplicationController has neither a selector nor pod template labels".into(),
            Some("add labels to `spec.template.metadata.labels` (the selector defaults to them)".into()),
        );
        return;
    }
    let Some(Value::Map(selector)) = selector.map(|m| &m.value) else { return };
    let field = "spec.template.metadata.labels";
    for (key, value) in selector {
        let actual = labels.and_then(|l| l.get(&key.name));
        if actual.map(|a| &a.value) != Some(&value.value) {
            let shown = value.as_str().unwrap_or("?");
            cx.report(
                Rule::SelectorMismatch,
                doc,
                key.loc,
                format!("selector `{}: {shown}` matches no label of the pod template", key.name),
                Some(format!("add `{}: {shown}` to `{field}`", key.name)),
            );
        }
    }
}

/// The volumes a container of the pod may mount: the pod's, and a StatefulSet's
/// `volumeClaimTemplates` (one claim per replica, named like the template).
fn claim_templates<'a>(doc: &Doc<'a>) -> &'a [Node] {
    match doc.kind() {
        Some("StatefulSet") => items(doc.node.get("spec").and_then(|s| s.get("volumeClaimTemplates"))),
        _ => &[],
    }
}

fn check_container(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    set: &Set,
    container: &Node,
    volumes: &[Node],
    claims: &[Node],
    externals: &[String],
) {
    if let Some(name) = container.get("name")
        && let Err(why) = k8s_names::dns1123_label(name.as_str().unwrap_or_default())
    {
        cx.report(
            Rule::NameDns1123,
            doc,
            name.loc,
            format!("container name `{}` {why}", name.as_str().unwrap_or_default()),
            None,
        );
    }
    if let Some(image) = container.get("image") {
        let text = image.as_str().unwrap_or_default();
        let last = text.rsplit('/').next().unwrap_or(text);
        if !text.contains('@') && (!last.contains(':') || last.ends_with(":latest")) {
            cx.report(
                Rule::ImageLatest,
                doc,
                image.loc,
                format!("image `{text}` is not pinned: `:latest` or no tag pulls whatever is newest"),
                Some("use a version tag or a digest so every sync runs the same code".into()),
            );
        }
    }
    let mut seen: Vec<(&str, Loc)> = Vec::new();
    for var in items(container.get("env")) {
        let Some(name_node) = var.get("name") else { continue };
        let name = name_node.as_str().unwrap_or_default();
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            cx.report(
                Rule::DuplicateEnv,
                doc,
                name_node.loc,
                format!("env `{name}` is set twice (first on line {})", first.line),
                None,
            );
        }
        seen.push((name, name_node.loc));
        if let Some(value) = var.get("value") {
            let upper = name.to_uppercase();
            if value.as_str().is_some_and(|v| !v.is_empty()) && SECRET_WORDS.iter().any(|w| upper.contains(w))
            {
                cx.report(
                    Rule::SecretLiteral,
                    doc,
                    value.loc,
                    format!("env `{name}` holds a literal secret"),
                    Some("move it to a Secret and use `valueFrom.secretKeyRef`".into()),
                );
            }
        }
        if let Some(key_ref) = var.get("valueFrom").and_then(|v| v.get("configMapKeyRef"))
            && let (Some(cm), Some(key_node)) = (str_at(key_ref, "name"), key_ref.get("key"))
            && check_configmap_ref(cx, doc, set, key_ref, externals)
        {
            check_key_ref(cx, doc, set, cm, key_node, is_optional(key_ref));
        }
    }
    for source in items(container.get("envFrom")) {
        if let Some(cm_ref) = source.get("configMapRef") {
            check_configmap_ref(cx, doc, set, cm_ref, externals);
        }
    }
    for mount in items(container.get("volumeMounts")) {
        let Some(name_node) = mount.get("name") else { continue };
        let name = name_node.as_str().unwrap_or_default();
        let claimed = claims
            .iter()
            .any(|c| c.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str) == Some(name));
        let Some(volume) = volumes.iter().find(|v| str_at(v, "name") == Some(name)) else {
            if claimed {
                continue;
            }
            cx.report(
                Rule::MountMissingVolume,
                doc,
                name_node.loc,
                format!("volume mount `{name}` names no volume of the pod"),
                None,
            );
            continue;
        };
        if let (Some(sub), Some(cm)) = (mount.get("subPath"), volume.get("configMap")) {
            check_subpath(cx, doc, set, sub, cm);
        }
    }
}

/// `subPath` into a ConfigMap volume must name a file the volume holds.
fn check_subpath(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set, sub: &Node, cm: &Node) {
    let sub_path = sub.as_str().unwrap_or_default();
    let file_names: Vec<&str> = match cm.get("items") {
        Some(_) => items(cm.get("items")).iter().filter_map(|i| str_at(i, "path")).collect(),
        None => {
            let Some(found) = str_at(cm, "name").and_then(|n| set.configmap(doc.namespace(), n)) else {
                return;
            };
            found.keys().collect()
        }
    };
    if !file_names.contains(&sub_path) {
        cx.report_ref(
            Rule::SubpathKey,
            doc,
            sub.loc,
            format!(
                "`subPath: {sub_path}` names no key of ConfigMap `{}`",
                str_at(cm, "name").unwrap_or("?")
            ),
            Some(
                "the pod would get an empty directory instead of the file; use one of the ConfigMap's keys"
                    .into(),
            ),
            str_at(cm, "name").unwrap_or(""),
        );
    }
}

/// A reference by name to a ConfigMap: true when it resolves (or is optional).
fn check_configmap_ref(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    set: &Set,
    holder: &Node,
    externals: &[String],
) -> bool {
    let Some(name_node) = holder.get("name") else { return false };
    let name = name_node.as_str().unwrap_or_default();
    if externals.iter().any(|e| e == name) {
        return false;
    }
    if is_optional(holder) || set.configmap(doc.namespace(), name).is_some() {
        return true;
    }
    cx.report_ref(
        Rule::RefMissingConfigmap,
        doc,
        name_node.loc,
        format!("ConfigMap `{name}` is not in the validated set"),
        Some("add it, mark the reference `optional: true`, or declare it with `--external`".into()),
        name,
    );
    false
}

fn check_key_ref(cx: &mut Checker<'_>, doc: &Doc<'_>, set: &Set, cm: &str, key_node: &Node, optional: bool) {
    let key = key_node.as_str().unwrap_or_default();
    let Some(found) = set.configmap(doc.namespace(), cm) else { return };
    if !optional && !found.has(key) {
        cx.report_ref(
            Rule::RefMissingKey,
            doc,
            key_node.loc,
            format!("ConfigMap `{cm}` has no key `{key}`"),
            None,
            cm,
        );
    }
}
