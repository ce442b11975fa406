//! Every rule fnops reports, in one registry: id, default severity, what it checks and how to
//! fix it. Findings carry a [`Rule`], so an emitter cannot misspell an id; `fnops explain`, the
//! SARIF `tool.driver.rules` and the fixture test all walk [`Rule::ALL`].

use crate::finding::Severity;

macro_rules! rules {
    ($( $variant:ident = $id:literal, $severity:ident, $summary:literal, $help:literal; )*) => {
        /// A rule: what a finding is about.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $( #[doc = $summary] $variant, )*
        }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$( Rule::$variant, )*];

            /// The stable id (`subpath-key`), as reports and `fnops.io/ignore` name it.
            pub fn id(self) -> &'static str {
                match self { $( Rule::$variant => $id, )* }
            }

            pub fn severity(self) -> Severity {
                match self { $( Rule::$variant => Severity::$severity, )* }
            }

            /// What it checks, in one sentence.
            pub fn summary(self) -> &'static str {
                match self { $( Rule::$variant => $summary, )* }
            }

            /// Why it matters and how to fix it.
            pub fn help(self) -> &'static str {
                match self { $( Rule::$variant => $help, )* }
            }
        }
    };
}

rules! {
    YamlSyntax = "yaml-syntax", Error,
        "The file is not valid YAML (or not UTF-8).",
        "Fix the syntax at the position shown; ArgoCD refuses the whole file.";
    YamlDuplicateKey = "yaml-duplicate-key", Error,
        "A mapping sets the same key twice.",
        "Keep one: Kubernetes silently uses the last, which hides mistakes.";
    NotAManifest = "not-a-manifest", Error,
        "A YAML document has no `apiVersion`, `kind` or `metadata.name`.",
        "Every document in a manifest tree must be a Kubernetes object, or ArgoCD fails the sync; move other YAML out of the app path.";
    FileRefused = "file-refused", Error,
        "A file of a walked tree was not read: a link that leaves the repository, a special file, or a directory that cannot be read.",
        "Remove the link or the special file, or point fnops at the manifest directories only; a link is followed when its target stays inside the repository.";
    Schema = "schema", Error,
        "The object does not match the strict JSON Schema of its kind for the chosen Kubernetes version.",
        "Fix the field named in the message; unknown fields are typos or fields of another version (`--kube-version`).";
    UnknownKind = "unknown-kind", Warning,
        "No schema is known for this `apiVersion` and `kind`.",
        "For a CRD, add its JSON Schema with `--schema-dir`; otherwise check the spelling of `apiVersion` and `kind`.";
    NameDns1123 = "name-dns1123", Error,
        "A name or label breaks the API server's naming rules.",
        "Object names: lowercase alphanumerics, `-` and `.`, up to 253; container names and label values: up to 63.";
    ConfigmapKey = "configmap-key", Error,
        "A ConfigMap key has invalid characters, repeats across `data` and `binaryData`, or holds a non-string.",
        "Keys: `[-._a-zA-Z0-9]+`; quote values such as `yes`, `on` or `012`, which Kubernetes reads as non-strings.";
    ConfigmapSize = "configmap-size", Error,
        "A ConfigMap is over 1 MiB.",
        "Split it or shrink it; the API server refuses it.";
    SelectorMismatch = "selector-mismatch", Error,
        "A workload's selector does not match its pod template's labels.",
        "Make `spec.selector.matchLabels` a subset of `spec.template.metadata.labels`.";
    DuplicateEnv = "duplicate-env", Error,
        "A container sets the same environment variable twice.",
        "Keep one; only the last one counts.";
    MountMissingVolume = "mount-missing-volume", Error,
        "A volume mount names no volume of the pod.",
        "Add the volume or fix the mount's `name`.";
    RefMissingConfigmap = "ref-missing-configmap", Error,
        "A reference names a ConfigMap that is not in the validated set.",
        "Add it, mark the reference `optional: true`, or declare it with `--external NAME`.";
    RefMissingKey = "ref-missing-key", Error,
        "A reference names a key the ConfigMap does not have.",
        "Fix the key or add it to the ConfigMap.";
    SubpathKey = "subpath-key", Error,
        "A `subPath` into a ConfigMap volume names no key of it.",
        "The pod would get an empty directory instead of the file; use one of the ConfigMap's keys.";
    SecretLiteral = "secret-literal", Error,
        "An environment variable that looks like a secret has a literal value.",
        "Move the value to a Secret and use `valueFrom.secretKeyRef`.";
    PythonSyntax = "python-syntax", Error,
        "The Python code a runtime loads from a ConfigMap does not parse.",
        "Fix the code at the line shown (it is mapped into the YAML); the runtime would fail to import it and crash-loop.";
    HandlerMissing = "handler-missing", Error,
        "The module defines no top-level entry point (`handler`, or the configured `HANDLER_FUNCTION`).",
        "Define `def handler(input, context):` at module level, or point `HANDLER_FUNCTION` at the function you have.";
    HandlerSignature = "handler-signature", Error,
        "The entry point cannot be called as `handler(input, context)`.",
        "Take exactly two positional parameters; give any others defaults.";
    InputKeyUnknown = "input-key-unknown", Warning,
        "The handler reads an input key the input never holds.",
        "Fix the key (the course handout misspelled `net_io_counters_eth0-bytes_sent1`); declare your input with `function.inputSample` or `--input-sample`.";
    ImageLatest = "image-latest", Warning,
        "An image has no tag or uses `:latest`.",
        "Pin a version tag or a digest so every sync runs the same code.";
    ServerFields = "server-fields", Warning,
        "Fields the API server writes (`uid`, `resourceVersion`, `status`, ...) are committed.",
        "Remove them; they make every sync a diff.";
    SubpathNoRollout = "subpath-no-rollout", Warning,
        "A ConfigMap is mounted by `subPath` and no checksum annotation rolls the pod.",
        "A `subPath` mount never refreshes: add a hash of the ConfigMap to the pod template's annotations.";
    LastAppliedSize = "last-applied-size", Warning,
        "The object is too big for client-side apply.",
        "Annotate it with `argocd.argoproj.io/sync-options: ServerSideApply=true`.";
    ResourcesMissing = "resources-missing", Warning,
        "A container sets no resource requests or limits.",
        "Set cpu and memory requests and limits.";
    SecurityContext = "security-context", Warning,
        "A container is not hardened.",
        "Set `runAsNonRoot: true`, `readOnlyRootFilesystem: true` and `allowPrivilegeEscalation: false`.";
    ProbeMissing = "probe-missing", Warning,
        "A long-running container has no liveness or readiness probe.",
        "Add probes, or suppress the rule with the annotation `fnops.io/ignore: probe-missing` when the image has no endpoint.";
    ApiRemoved = "api-removed", Error,
        "The `apiVersion` of a built-in kind is no longer served by the target Kubernetes version.",
        "Move the object to the replacement `apiVersion` the message names (see the Kubernetes deprecated API migration guide); `--kube-version A..B` lists what breaks on an upgrade.";
    ApiDeprecated = "api-deprecated", Warning,
        "The `apiVersion` is still served by the target version, and removed in a later release.",
        "Move to the replacement `apiVersion` before the upgrade that removes it.";
    EnumValue = "enum-value", Error,
        "A field holds a value its kind does not accept (the API server's enums are case-sensitive: `TCP`, `Always`).",
        "Use one of the values the message lists, spelled exactly.";
    Quantity = "quantity", Error,
        "A resource quantity does not parse (`300MiB`, `1.5.0`), or is negative.",
        "Write quantities as Kubernetes does: `100m`, `1`, `300Mi`, `2Gi`, `1e3`.";
    RequestsOverLimits = "requests-over-limits", Error,
        "A container requests more of a resource than its limit.",
        "Raise the limit or lower the request; the API server refuses a request above the limit.";
    FieldRange = "field-range", Error,
        "A number is outside the range the API server accepts (negative `replicas`, a port outside 1 to 65535).",
        "Use a value in the range the message gives.";
    DuplicateName = "duplicate-name", Error,
        "Two entries of a list that the API server keys by name or value repeat (containers, volumes, mount paths, Service ports).",
        "Give each entry its own name (or path, or port); the API server refuses the object.";
    SubpathInvalid = "subpath-invalid", Error,
        "A `subPath` is absolute or climbs out with `..`.",
        "Use a relative path inside the volume.";
    PortName = "port-name", Error,
        "A port name is not an IANA service name: at most 15 lowercase letters, digits and `-`, with a letter.",
        "Shorten or respell it (`metrics`, `http-alt`); probes and Services refer to ports by these names.";
    StrategyConflict = "strategy-conflict", Error,
        "A Deployment's `Recreate` strategy has `rollingUpdate` settings.",
        "Remove `strategy.rollingUpdate`, or use `type: RollingUpdate`.";
    EnvName = "env-name", Error,
        "An environment variable name is empty or holds `=`.",
        "Name variables with printable characters other than `=`.";
    SecretData = "secret-data", Error,
        "A value of a Secret's `data` is not base64.",
        "Encode it (`base64 -w0`), or put the plain text under `stringData`.";
    VolumeRemoved = "volume-removed", Warning,
        "An in-tree volume type that no longer works on the target version (the pod never starts).",
        "Move to the CSI driver of that storage system.";
    DuplicatePort = "duplicate-port", Warning,
        "Two ports of a pod have the same number and protocol.",
        "Remove one; the API server warns and only one can be used.";
    DeprecatedAnnotation = "deprecated-annotation", Warning,
        "An annotation the API server warns about (`volume.beta.kubernetes.io/storage-class`).",
        "Use the field that replaced it (`spec.storageClassName`).";
    NodeportRange = "nodeport-range", Warning,
        "A `nodePort` is outside the default range 30000 to 32767.",
        "Pick a port in the range (or leave it out to get one); a cluster with another range accepts it, most refuse the create.";
    ServiceSelector = "service-selector", Warning,
        "A Service's selector matches no pod template in the checked set.",
        "Fix the selector or the pod labels; the Service would have no endpoints.";
    GenerateName = "generate-name", Warning,
        "An object has `generateName` and no `name`: the API server and `kubectl create` accept it, plain `kubectl apply` refuses it.",
        "Fine for Argo CD hooks and Jobs created by a controller; give it a `name` for `kubectl apply`.";
    HandlerImport = "handler-import", Error,
        "The handler imports a module that exists nowhere the runtime looks: not in its code, the standard library, the runtime image's libraries or the declared requirements.",
        "Add the module to the ConfigMap (a package ZIP for several files), or declare it in `requirements.txt`; it would fail at import in the pod.";
    UnknownField = "unknown-field", Error,
        "The project file has a field fnops does not know.",
        "Fix the spelling (the hint names the closest field) or remove it.";
    MissingField = "missing-field", Error,
        "The project file lacks a required field.",
        "Add it.";
    InvalidValue = "invalid-value", Error,
        "A project-file value has the wrong type or is out of range.",
        "Use a value of the type the message names.";
    LiteralPassword = "literal-password", Error,
        "The project file holds a literal password.",
        "Reference a Secret with `redis.passwordSecret`.";
    SourceOutsideRoot = "source-outside-root", Error,
        "A path in the project file leaves the project directory.",
        "Keep the function's code inside the directory of `fnops.yaml`.";
    SourceMissing = "source-missing", Error,
        "A path in the project file does not exist.",
        "Fix the path; it is relative to `fnops.yaml`.";
}

impl Rule {
    /// The rule with this id.
    pub fn find(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// Rules about the project file itself (not about Kubernetes objects): they have no
    /// manifest fixture pair.
    pub fn is_project_rule(self) -> bool {
        matches!(
            self,
            Rule::UnknownField
                | Rule::MissingField
                | Rule::InvalidValue
                | Rule::LiteralPassword
                | Rule::SourceOutsideRoot
                | Rule::SourceMissing
        )
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
