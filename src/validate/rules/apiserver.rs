//! What the API server's own validation refuses (`pkg/apis/core/validation`,
//! `pkg/apis/apps/validation`) and the schemas cannot say: case-sensitive enums, quantities,
//! requests above limits, ranges, duplicate names, `subPath`s, port names, strategy
//! conflicts, env names, Secret data; and what it warns about: removed volume types, duplicate
//! ports, deprecated annotations.

use std::collections::{BTreeMap, HashMap};

use super::workload::{containers, items, pod_spec, pod_template};
use crate::finding::Rule;
use crate::k8s_names;
use crate::validate::{Checker, Doc};
use crate::yaml::{Node, Value};

/// In-tree volume plugins removed from Kubernetes, and the release that removed them.
const REMOVED_VOLUMES: &[(&str, (u32, u32))] = &[
    ("scaleIO", (1, 22)),
    ("flocker", (1, 25)),
    ("quobyte", (1, 25)),
    ("storageos", (1, 25)),
    ("glusterfs", (1, 26)),
    ("cephfs", (1, 31)),
    ("rbd", (1, 31)),
];

/// Annotations the API server warns about, and what replaced them.
const DEPRECATED_ANNOTATIONS: &[(&str, &str)] = &[
    ("volume.beta.kubernetes.io/storage-class", "`spec.storageClassName`"),
    ("scheduler.alpha.kubernetes.io/critical-pod", "`spec.priorityClassName`"),
    ("seccomp.security.alpha.kubernetes.io/pod", "`securityContext.seccompProfile`"),
    ("container.apparmor.security.beta.kubernetes.io", "`securityContext.appArmorProfile`"),
];

fn enum_check(cx: &mut Checker<'_>, doc: &Doc<'_>, node: Option<&Node>, field: &str, allowed: &[&str]) {
    let Some(node) = node else { return };
    let Some(value) = node.as_str() else { return };
    if allowed.contains(&value) {
        return;
    }
    let close = allowed.iter().find(|a| a.eq_ignore_ascii_case(value));
    let hint = match close {
        Some(a) => format!("values are case-sensitive: write `{a}`"),
        None => format!("one of {}", allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")),
    };
    cx.report(Rule::EnumValue, doc, node.loc, format!("`{field}` cannot be `{value}`"), Some(hint));
}

pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, target: (u32, u32)) {
    match doc.kind() {
        Some("Service") => service(cx, doc),
        Some("Secret") => secret(cx, doc),
        Some("PersistentVolumeClaim") => claim(cx, doc, doc.node),
        _ => {}
    }
    annotations(cx, doc, doc.meta());
    if let Some(spec) = doc.node.get("spec") {
        replicas(cx, doc, spec);
        strategy(cx, doc, spec);
        for claim_template in items(spec.get("volumeClaimTemplates")) {
            claim(cx, doc, claim_template);
        }
    }
    if let Some(template) = pod_template(doc) {
        annotations(cx, doc, template.get("metadata"));
    }
    let Some(pod) = pod_spec(doc) else { return };
    pod_rules(cx, doc, pod, target);
}

fn replicas(cx: &mut Checker<'_>, doc: &Doc<'_>, spec: &Node) {
    if !matches!(doc.kind(), Some("Deployment" | "ReplicaSet" | "ReplicationController" | "StatefulSet")) {
        return;
    }
    if let Some(n) = spec.get("replicas")
        && let Value::Int(r) = n.value
        && r < 0
    {
        cx.report(
            Rule::FieldRange,
            doc,
            n.loc,
            format!("`spec.replicas` is {r}: it must be 0 or more"),
            None,
        );
    }
}

fn strategy(cx: &mut Checker<'_>, doc: &Doc<'_>, spec: &Node) {
    if doc.kind() != Some("Deployment") {
        return;
    }
    let Some(strategy) = spec.get("strategy") else { return };
    enum_check(cx, doc, strategy.get("type"), "spec.strategy.type", &["Recreate", "RollingUpdate"]);
    if strategy.get("type").and_then(Node::as_str) == Some("Recreate")
        && let Some(loc) = strategy.key_loc("rollingUpdate")
    {
        cx.report(
            Rule::StrategyConflict,
            doc,
            loc,
            "`spec.strategy.rollingUpdate` is set with `type: Recreate`".into(),
            Some("remove `rollingUpdate`, or use `type: RollingUpdate`".into()),
        );
    }
}

fn pod_rules(cx: &mut Checker<'_>, doc: &Doc<'_>, pod: &Node, target: (u32, u32)) {
    let restart_allowed: &[&str] = match doc.kind() {
        Some("Pod") => &["Always", "OnFailure", "Never"],
        Some("Job" | "CronJob") => &["OnFailure", "Never"],
        _ => &["Always"],
    };
    enum_check(cx, doc, pod.get("restartPolicy"), "restartPolicy", restart_allowed);
    enum_check(
        cx,
        doc,
        pod.get("dnsPolicy"),
        "dnsPolicy",
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    );
    // Container names and volume names are keys of their lists.
    let mut names: HashMap<&str, u32> = HashMap::new();
    for container in containers(pod) {
        if let Some(n) = container.get("name")
            && let Some(name) = n.as_str()
            && let Some(first) = names.insert(name, n.loc.line)
        {
            cx.report(
                Rule::DuplicateName,
                doc,
                n.loc,
                format!("container name `{name}` is used twice (first on line {first})"),
                None,
            );
        }
    }
    let mut volumes: HashMap<&str, u32> = HashMap::new();
    for volume in items(pod.get("volumes")) {
        if let Some(n) = volume.get("name")
            && let Some(name) = n.as_str()
            && let Some(first) = volumes.insert(name, n.loc.line)
        {
            cx.report(
                Rule::DuplicateName,
                doc,
                n.loc,
                format!("volume name `{name}` is used twice (first on line {first})"),
                None,
            );
        }
        for (plugin, removed) in REMOVED_VOLUMES {
            if let Some(loc) = volume.key_loc(plugin)
                && target >= *removed
            {
                cx.report(
                    Rule::VolumeRemoved,
                    doc,
                    loc,
                    format!(
                        "the in-tree `{plugin}` volume was removed in Kubernetes {}.{}: the pod never starts",
                        removed.0, removed.1
                    ),
                    Some("use the storage system's CSI driver".into()),
                );
            }
        }
        if let Some(limit) = volume.get("emptyDir").and_then(|e| e.get("sizeLimit")) {
            quantity(cx, doc, limit, "emptyDir.sizeLimit");
        }
    }
    let mut ports: Ports = HashMap::new();
    for container in containers(pod) {
        container_rules(cx, doc, container, &mut ports);
    }
}

fn container_rules(cx: &mut Checker<'_>, doc: &Doc<'_>, container: &Node, ports: &mut Ports) {
    enum_check(
        cx,
        doc,
        container.get("imagePullPolicy"),
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
    );
    enum_check(
        cx,
        doc,
        container.get("terminationMessagePolicy"),
        "terminationMessagePolicy",
        &["File", "FallbackToLogsOnError"],
    );
    for port in items(container.get("ports")) {
        enum_check(cx, doc, port.get("protocol"), "ports[].protocol", &["TCP", "UDP", "SCTP"]);
        if let Some((n, p, protocol, first)) =
            port_number(cx, doc, port, "containerPort", "`containerPort`", ports)
        {
            cx.report(
                Rule::DuplicatePort,
                doc,
                n.loc,
                format!("port {p}/{protocol} is declared twice in the pod (first on line {first})"),
                None,
            );
        }
        if let Some(n) = port.get("name")
            && let Some(name) = n.as_str()
            && let Err(why) = k8s_names::iana_service_name(name)
        {
            cx.report(Rule::PortName, doc, n.loc, format!("port name `{name}` {why}"), None);
        }
    }
    for var in items(container.get("env")) {
        if let Some(n) = var.get("name")
            && let Some(name) = n.as_str()
            && (name.is_empty() || name.contains('='))
        {
            cx.report(Rule::EnvName, doc, n.loc, format!("env name `{name}` is empty or holds `=`"), None);
        }
    }
    let mut paths: HashMap<&str, u32> = HashMap::new();
    for mount in items(container.get("volumeMounts")) {
        if let Some(n) = mount.get("mountPath")
            && let Some(path) = n.as_str()
            && let Some(first) = paths.insert(path.trim_end_matches('/'), n.loc.line)
        {
            cx.report(
                Rule::DuplicateName,
                doc,
                n.loc,
                format!("`mountPath` `{path}` is used twice in one container (first on line {first})"),
                None,
            );
        }
        for field in ["subPath", "subPathExpr"] {
            if let Some(n) = mount.get(field)
                && let Some(sub) = n.as_str()
                && (sub.starts_with('/') || sub.split('/').any(|part| part == ".."))
            {
                cx.report(
                    Rule::SubpathInvalid,
                    doc,
                    n.loc,
                    format!("`{field}: {sub}` must be a relative path without `..`"),
                    None,
                );
            }
        }
    }
    let Some(resources) = container.get("resources") else { return };
    let mut requested: BTreeMap<&str, (f64, &Node)> = BTreeMap::new();
    if let Some(Value::Map(entries)) = resources.get("requests").map(|r| &r.value) {
        for (k, v) in entries {
            if let Some(value) = quantity(cx, doc, v, &format!("resources.requests.{}", k.name)) {
                requested.insert(&k.name, (value, v));
            }
        }
    }
    if let Some(Value::Map(entries)) = resources.get("limits").map(|r| &r.value) {
        for (k, v) in entries {
            let Some(limit) = quantity(cx, doc, v, &format!("resources.limits.{}", k.name)) else { continue };
            if let Some((request, node)) = requested.get(k.name.as_str())
                && *request > limit
            {
                cx.report(
                    Rule::RequestsOverLimits,
                    doc,
                    node.loc,
                    format!(
                        "`resources.requests.{}` is above its limit (`{}` > `{}`)",
                        k.name,
                        text(node),
                        text(v)
                    ),
                    None,
                );
            }
        }
    }
}

/// Port numbers seen with their protocol, and the line each was first declared on.
type Ports = HashMap<(i64, String), u32>;

/// Port number `field` of `port` (a container's or a Service's): in range, else a finding
/// (`what` names it); recorded with its protocol in `seen`. Returns the node, number, protocol
/// and first line when that pair was declared before, for the caller's own finding.
fn port_number<'n>(
    cx: &mut Checker<'_>,
    doc: &Doc<'_>,
    port: &'n Node,
    field: &str,
    what: &str,
    seen: &mut Ports,
) -> Option<(&'n Node, i64, String, u32)> {
    let n = port.get(field)?;
    let Value::Int(p) = n.value else { return None };
    if !(1..=65535).contains(&p) {
        cx.report(Rule::FieldRange, doc, n.loc, format!("{what} {p} is outside 1 to 65535"), None);
    }
    let protocol = port.get("protocol").and_then(Node::as_str).unwrap_or("TCP").to_owned();
    let first = seen.insert((p, protocol.clone()), n.loc.line)?;
    Some((n, p, protocol, first))
}

fn text(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        _ => "?".into(),
    }
}

/// A quantity's value; a finding when it does not parse or is negative.
fn quantity(cx: &mut Checker<'_>, doc: &Doc<'_>, node: &Node, field: &str) -> Option<f64> {
    let parsed = match &node.value {
        Value::Str(s) => k8s_names::quantity(s),
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        _ => return None,
    };
    match parsed {
        Ok(v) if v < 0.0 => {
            cx.report(Rule::Quantity, doc, node.loc, format!("`{field}` is negative"), None);
            None
        }
        Ok(v) => Some(v),
        Err(why) => {
            cx.report(
                Rule::Quantity,
                doc,
                node.loc,
                format!("`{field}`: {why}"),
                Some("e.g. `100m`, `1`, `300Mi`, `2Gi`".into()),
            );
            None
        }
    }
}

fn service(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    let Some(spec) = doc.node.get("spec") else { return };
    enum_check(
        cx,
        doc,
        spec.get("type"),
        "spec.type",
        &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
    );
    enum_check(cx, doc, spec.get("sessionAffinity"), "spec.sessionAffinity", &["None", "ClientIP"]);
    enum_check(
        cx,
        doc,
        spec.get("externalTrafficPolicy"),
        "spec.externalTrafficPolicy",
        &["Cluster", "Local"],
    );
    enum_check(
        cx,
        doc,
        spec.get("internalTrafficPolicy"),
        "spec.internalTrafficPolicy",
        &["Cluster", "Local"],
    );
    let mut seen: Ports = HashMap::new();
    let mut names: HashMap<&str, u32> = HashMap::new();
    for port in items(spec.get("ports")) {
        enum_check(cx, doc, port.get("protocol"), "spec.ports[].protocol", &["TCP", "UDP", "SCTP"]);
        if let Some(n) = port.get("name")
            && let Some(name) = n.as_str()
        {
            if let Some(first) = names.insert(name, n.loc.line) {
                cx.report(
                    Rule::DuplicateName,
                    doc,
                    n.loc,
                    format!("Service port name `{name}` is used twice (first on line {first})"),
                    None,
                );
            }
            if let Err(why) = k8s_names::dns1123_label(name) {
                cx.report(Rule::NameDns1123, doc, n.loc, format!("Service port name `{name}` {why}"), None);
            }
        }
        if let Some((n, p, protocol, first)) = port_number(cx, doc, port, "port", "Service `port`", &mut seen)
        {
            cx.report(
                Rule::DuplicateName,
                doc,
                n.loc,
                format!("Service port {p}/{protocol} is declared twice (first on line {first})"),
                None,
            );
        }
        if let Some(n) = port.get("nodePort")
            && let Value::Int(p) = n.value
            && !(0..=65535).contains(&p)
        {
            cx.report(Rule::FieldRange, doc, n.loc, format!("`nodePort` {p} is outside 0 to 65535"), None);
        }
    }
}

fn secret(cx: &mut Checker<'_>, doc: &Doc<'_>) {
    use base64::Engine as _;
    let Some(Value::Map(entries)) = doc.node.get("data").map(|d| &d.value) else { return };
    for (key, value) in entries {
        let Some(text) = value.as_str() else { continue };
        if base64::engine::general_purpose::STANDARD.decode(text.trim()).is_err() {
            cx.report(
                Rule::SecretData,
                doc,
                value.loc,
                format!("`data.{}` is not base64", key.name),
                Some("encode it, or move the plain text to `stringData`".into()),
            );
        }
    }
}

fn claim(cx: &mut Checker<'_>, doc: &Doc<'_>, claim: &Node) {
    annotations(cx, doc, claim.get("metadata"));
    let Some(spec) = claim.get("spec") else { return };
    for mode in items(spec.get("accessModes")) {
        enum_check(
            cx,
            doc,
            Some(mode),
            "accessModes[]",
            &["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"],
        );
    }
    if let Some(Value::Map(entries)) = spec.get("resources").and_then(|r| r.get("requests")).map(|r| &r.value)
    {
        for (k, v) in entries {
            quantity(cx, doc, v, &format!("resources.requests.{}", k.name));
        }
    }
}

fn annotations(cx: &mut Checker<'_>, doc: &Doc<'_>, meta: Option<&Node>) {
    let Some(Value::Map(entries)) = meta.and_then(|m| m.get("annotations")).map(|a| &a.value) else { return };
    for (key, _) in entries {
        if let Some((name, instead)) = DEPRECATED_ANNOTATIONS
            .iter()
            .find(|(a, _)| key.name == *a || key.name.starts_with(&format!("{a}/")))
        {
            cx.report(
                Rule::DeprecatedAnnotation,
                doc,
                key.loc,
                format!("the annotation `{name}` is deprecated: the API server warns"),
                Some(format!("use {instead}")),
            );
        }
    }
}
