//! Every rule fnops reports: id, default severity, what it checks and how to fix it. Used by
//! SARIF (`tool.driver.rules`) and `fnops explain`.

use crate::finding::Severity;

pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub help: &'static str,
}

const fn rule(id: &'static str, severity: Severity, summary: &'static str, help: &'static str) -> Rule {
    Rule { id, severity, summary, help }
}

use Severity::{Error as E, Warning as W};

pub const RULES: &[Rule] = &[
    rule(
        "yaml-syntax",
        E,
        "The file is not valid YAML (or not UTF-8).",
        "Fix the syntax at the position shown; ArgoCD refuses the whole file.",
    ),
    rule(
        "yaml-duplicate-key",
        E,
        "A mapping sets the same key twice.",
        "Keep one: Kubernetes silently uses the last, which hides mistakes.",
    ),
    rule(
        "not-a-manifest",
        E,
        "A YAML document has no `apiVersion`, `kind` or `metadata.name`.",
        "Every document in a manifest tree must be a Kubernetes object, or ArgoCD fails the sync; move other YAML out of the app path.",
    ),
    rule(
        "schema",
        E,
        "The object does not match the strict JSON Schema of its kind for the chosen Kubernetes version.",
        "Fix the field named in the message; unknown fields are typos or fields of another version (`--kube-version`).",
    ),
    rule(
        "unknown-kind",
        W,
        "No schema is known for this `apiVersion` and `kind`.",
        "For a CRD, add its JSON Schema with `--schema-dir`; otherwise check the spelling of `apiVersion` and `kind`.",
    ),
    rule(
        "name-dns1123",
        E,
        "A name or label breaks the API server's naming rules.",
        "Object names: lowercase alphanumerics, `-` and `.`, up to 253; container names and label values: up to 63.",
    ),
    rule(
        "configmap-key",
        E,
        "A ConfigMap key has invalid characters, repeats across `data` and `binaryData`, or holds a non-string.",
        "Keys: `[-._a-zA-Z0-9]+`; quote values such as `yes`, `on` or `012`, which Kubernetes reads as non-strings.",
    ),
    rule(
        "configmap-size",
        E,
        "A ConfigMap is over 1 MiB.",
        "Split it or shrink it; the API server refuses it.",
    ),
    rule(
        "selector-mismatch",
        E,
        "A workload's selector does not match its pod template's labels.",
        "Make `spec.selector.matchLabels` a subset of `spec.template.metadata.labels`.",
    ),
    rule(
        "duplicate-env",
        E,
        "A container sets the same environment variable twice.",
        "Keep one; only the last one counts.",
    ),
    rule(
        "mount-missing-volume",
        E,
        "A volume mount names no volume of the pod.",
        "Add the volume or fix the mount's `name`.",
    ),
    rule(
        "ref-missing-configmap",
        E,
        "A reference names a ConfigMap that is not in the validated set.",
        "Add it, mark the reference `optional: true`, or declare it with `--external NAME`.",
    ),
    rule(
        "ref-missing-key",
        E,
        "A reference names a key the ConfigMap does not have.",
        "Fix the key or add it to the ConfigMap.",
    ),
    rule(
        "subpath-key",
        E,
        "A `subPath` into a ConfigMap volume names no key of it.",
        "The pod would get an empty directory instead of the file; use one of the ConfigMap's keys.",
    ),
    rule(
        "secret-literal",
        E,
        "An environment variable that looks like a secret has a literal value.",
        "Move the value to a Secret and use `valueFrom.secretKeyRef`.",
    ),
    rule(
        "python-syntax",
        E,
        "The Python code a runtime loads from a ConfigMap does not parse.",
        "Fix the code at the line shown (it is mapped into the YAML); the runtime would fail to import it and crash-loop.",
    ),
    rule(
        "handler-missing",
        E,
        "The module defines no top-level entry point (`handler`, or the configured `HANDLER_FUNCTION`).",
        "Define `def handler(input, context):` at module level, or point `HANDLER_FUNCTION` at the function you have.",
    ),
    rule(
        "handler-signature",
        E,
        "The entry point cannot be called as `handler(input, context)`.",
        "Take exactly two positional parameters; give any others defaults.",
    ),
    rule(
        "input-key-unknown",
        W,
        "The handler reads an input key the input never holds.",
        "Fix the key (the course handout misspelled `net_io_counters_eth0-bytes_sent1`); declare your input with `function.inputSample` or `--input-sample`.",
    ),
    rule(
        "image-latest",
        W,
        "An image has no tag or uses `:latest`.",
        "Pin a version tag or a digest so every sync runs the same code.",
    ),
    rule(
        "server-fields",
        W,
        "Fields the API server writes (`uid`, `resourceVersion`, `status`, ...) are committed.",
        "Remove them; they make every sync a diff.",
    ),
    rule(
        "subpath-no-rollout",
        W,
        "A ConfigMap is mounted by `subPath` and no checksum annotation rolls the pod.",
        "A `subPath` mount never refreshes: add a hash of the ConfigMap to the pod template's annotations.",
    ),
    rule(
        "last-applied-size",
        W,
        "The object is too big for client-side apply.",
        "Annotate it with `argocd.argoproj.io/sync-options: ServerSideApply=true`.",
    ),
    rule(
        "resources-missing",
        W,
        "A container sets no resource requests or limits.",
        "Set cpu and memory requests and limits.",
    ),
    rule(
        "security-context",
        W,
        "A container is not hardened.",
        "Set `runAsNonRoot: true`, `readOnlyRootFilesystem: true` and `allowPrivilegeEscalation: false`.",
    ),
    rule(
        "probe-missing",
        W,
        "A long-running container has no liveness or readiness probe.",
        "Add probes, or suppress the rule with the annotation `fnops.io/ignore: probe-missing` when the image has no endpoint.",
    ),
    rule(
        "unknown-field",
        E,
        "The project file has a field fnops does not know.",
        "Fix the spelling (the hint names the closest field) or remove it.",
    ),
    rule("missing-field", E, "The project file lacks a required field.", "Add it."),
    rule(
        "invalid-value",
        E,
        "A project-file value has the wrong type or is out of range.",
        "Use a value of the type the message names.",
    ),
    rule(
        "literal-password",
        E,
        "The project file holds a literal password.",
        "Reference a Secret with `redis.passwordSecret`.",
    ),
    rule(
        "source-outside-root",
        E,
        "A path in the project file leaves the project directory.",
        "Keep the function's code inside the directory of `fnops.yaml`.",
    ),
    rule(
        "source-missing",
        E,
        "A path in the project file does not exist.",
        "Fix the path; it is relative to `fnops.yaml`.",
    ),
];

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
