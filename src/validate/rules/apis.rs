//! `api-removed` (error) and `api-deprecated` (warning): an `apiVersion` of a built-in kind that
//! the target Kubernetes no longer serves, or will stop serving.
//!
//! Two sources: the removals before the bundled schemas begin, from the Kubernetes Deprecated
//! API Migration Guide (kubernetes.io/docs/reference/using-api/deprecation-guide), and the
//! removals the bundled schemas show themselves (a kind present in one release and gone in the
//! next). The API server refuses a removed API; schema checkers only see an unknown kind.

use crate::finding::Rule;
use crate::validate::schema::{Target, removal_in_bundles};
use crate::validate::{Checker, Doc};

/// (apiVersion, kinds, removed in, replacement), from the migration guide.
/// A removal: apiVersion, the kinds it served, the release that removed it, the replacement.
type Removal = (&'static str, &'static [&'static str], (u32, u32), Option<&'static str>);

const REMOVED: &[Removal] = &[
    ("extensions/v1beta1", &["DaemonSet", "Deployment", "ReplicaSet"], (1, 16), Some("apps/v1")),
    ("apps/v1beta1", &["Deployment", "StatefulSet", "ReplicaSet"], (1, 16), Some("apps/v1")),
    ("apps/v1beta2", &["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet"], (1, 16), Some("apps/v1")),
    ("extensions/v1beta1", &["NetworkPolicy"], (1, 16), Some("networking.k8s.io/v1")),
    ("extensions/v1beta1", &["PodSecurityPolicy"], (1, 16), Some("policy/v1beta1")),
    (
        "admissionregistration.k8s.io/v1beta1",
        &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
        (1, 22),
        Some("admissionregistration.k8s.io/v1"),
    ),
    ("apiextensions.k8s.io/v1beta1", &["CustomResourceDefinition"], (1, 22), Some("apiextensions.k8s.io/v1")),
    ("apiregistration.k8s.io/v1beta1", &["APIService"], (1, 22), Some("apiregistration.k8s.io/v1")),
    ("authentication.k8s.io/v1beta1", &["TokenReview"], (1, 22), Some("authentication.k8s.io/v1")),
    (
        "authorization.k8s.io/v1beta1",
        &["SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview"],
        (1, 22),
        Some("authorization.k8s.io/v1"),
    ),
    ("certificates.k8s.io/v1beta1", &["CertificateSigningRequest"], (1, 22), Some("certificates.k8s.io/v1")),
    ("coordination.k8s.io/v1beta1", &["Lease"], (1, 22), Some("coordination.k8s.io/v1")),
    ("extensions/v1beta1", &["Ingress"], (1, 22), Some("networking.k8s.io/v1")),
    ("networking.k8s.io/v1beta1", &["Ingress", "IngressClass"], (1, 22), Some("networking.k8s.io/v1")),
    (
        "rbac.authorization.k8s.io/v1beta1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
        (1, 22),
        Some("rbac.authorization.k8s.io/v1"),
    ),
    ("scheduling.k8s.io/v1beta1", &["PriorityClass"], (1, 22), Some("scheduling.k8s.io/v1")),
    (
        "storage.k8s.io/v1beta1",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
        (1, 22),
        Some("storage.k8s.io/v1"),
    ),
    ("batch/v1beta1", &["CronJob"], (1, 25), Some("batch/v1")),
    ("discovery.k8s.io/v1beta1", &["EndpointSlice"], (1, 25), Some("discovery.k8s.io/v1")),
    ("events.k8s.io/v1beta1", &["Event"], (1, 25), Some("events.k8s.io/v1")),
    ("autoscaling/v2beta1", &["HorizontalPodAutoscaler"], (1, 25), Some("autoscaling/v2")),
    ("policy/v1beta1", &["PodDisruptionBudget"], (1, 25), Some("policy/v1")),
    ("policy/v1beta1", &["PodSecurityPolicy"], (1, 25), None),
    ("node.k8s.io/v1beta1", &["RuntimeClass"], (1, 25), Some("node.k8s.io/v1")),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &["FlowSchema", "PriorityLevelConfiguration"],
        (1, 26),
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    ("autoscaling/v2beta2", &["HorizontalPodAutoscaler"], (1, 26), Some("autoscaling/v2")),
    ("storage.k8s.io/v1beta1", &["CSIStorageCapacity"], (1, 27), Some("storage.k8s.io/v1")),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        &["FlowSchema", "PriorityLevelConfiguration"],
        (1, 29),
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
];

fn guide(api_version: &str, kind: &str) -> Option<((u32, u32), Option<String>)> {
    REMOVED
        .iter()
        .find(|(v, kinds, _, _)| *v == api_version && kinds.contains(&kind))
        .map(|(_, _, removed, replacement)| (*removed, replacement.map(str::to_owned)))
}

/// What the tables know of an object's `apiVersion`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Not a removed or deprecated built-in API.
    Unlisted,
    /// Still served by the target, removed later: a built-in kind even without a schema.
    Deprecated,
    /// No longer served: the schema checks are left out, the object cannot be created at all.
    Removed,
}

/// Check the object's `apiVersion` against the target.
pub fn check(cx: &mut Checker<'_>, doc: &Doc<'_>, target: &Target) -> Served {
    let (Some(api_version), Some(kind)) = (doc.api_version(), doc.kind()) else { return Served::Unlisted };
    let Some((removed, replacement)) =
        guide(api_version, kind).or_else(|| removal_in_bundles(api_version, kind))
    else {
        return Served::Unlisted;
    };
    let loc = doc.node.get("apiVersion").map_or(doc.node.loc, |n| n.loc);
    let instead = match &replacement {
        Some(r) => format!("use `apiVersion: {r}`"),
        None => "it has no replacement".to_owned(),
    };
    if target.to >= removed {
        let on_the_way = if target.is_upgrade() && target.from < removed {
            format!(
                ", on the way from {}.{} to {}.{}",
                target.from.0, target.from.1, target.to.0, target.to.1
            )
        } else {
            String::new()
        };
        cx.report(
            Rule::ApiRemoved,
            doc,
            loc,
            format!("`{api_version}` {kind} was removed in Kubernetes {}.{}{on_the_way}: the API server refuses it", removed.0, removed.1),
            Some(instead),
        );
        return Served::Removed;
    }
    cx.report(
        Rule::ApiDeprecated,
        doc,
        loc,
        format!(
            "`{api_version}` {kind} is deprecated: Kubernetes {}.{} serves it, {}.{} removes it",
            target.to.0, target.to.1, removed.0, removed.1
        ),
        Some(instead),
    );
    Served::Deprecated
}
