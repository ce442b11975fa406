//! What rules that follow references need to know of the whole validated set, indexed once so
//! that those rules stay linear, and owned, so that a large tree can be indexed file by file and
//! its parsed objects dropped (see [`super::index_files`]):
//! - the keys of every ConfigMap (references, `subPath`s);
//! - which workload mounts which ConfigMap, and the `HANDLER_FUNCTION` that workload's
//!   environment gives it, so each handler is checked with its own entry point;
//! - the labels of every pod template (Service selectors);
//! - the packages declared in `requirements.txt` keys, the Python modules ConfigMaps carry and
//!   the images that load them (handler imports).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Doc;
use super::rules::workload::{containers, items, pod_spec, pod_template};
use crate::yaml::{Node, Value};

#[derive(Default)]
pub struct Set {
    configmaps: HashMap<String, Vec<ConfigMapKeys>>,
    /// Workloads by the ConfigMaps they mount as volumes.
    mounted_by: HashMap<String, Vec<usize>>,
    workloads: Vec<Workload>,
    /// `data.HANDLER_FUNCTION` of ConfigMaps that have one, by name.
    handler_values: HashMap<String, Vec<(Option<String>, String)>>,
    /// The labels of every pod template, with its namespace.
    pod_labels: Vec<(Option<Box<str>>, Labels)>,
    /// Module names of the packages `requirements.txt` keys declare.
    pub requirements: BTreeSet<String>,
    /// Python modules ConfigMaps carry as `<module>.py` keys.
    pub python_modules: BTreeSet<String>,
}

/// One pod template's labels, compact: a large tree keeps one of these per workload.
type Labels = Box<[(Box<str>, Box<str>)]>;

/// The keys (`data` and `binaryData`) of one ConfigMap.
pub struct ConfigMapKeys {
    namespace: Option<String>,
    keys: Vec<String>,
}

impl ConfigMapKeys {
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

/// Where a workload's `HANDLER_FUNCTION` comes from.
struct Workload {
    namespace: Option<String>,
    /// A literal `env` value.
    literal: Option<String>,
    /// ConfigMaps of `envFrom` (a `runtime-config`).
    from: Vec<String>,
    /// The images of its containers.
    images: Vec<String>,
}

/// Whether an image is one whose Python libraries are known: the course's, or fnops-runtime.
fn known_runtime_image(image: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    let name = match name.rsplit_once(':') {
        Some((n, tag)) if !tag.contains('/') => n,
        _ => name,
    };
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    name == "lucasmsp/serverless" || name.ends_with("/fnops-runtime") || name == "fnops-runtime"
}

/// Two namespaces match when equal, or when either is unset (an object without a namespace
/// lands in the Application's destination namespace).
fn same_ns(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// The module a distribution name installs (`python-dateutil` → `dateutil`).
fn module_of(distribution: &str) -> String {
    let name = distribution.to_lowercase().replace('-', "_");
    match name.as_str() {
        "python_dateutil" => "dateutil".into(),
        "pyyaml" => "yaml".into(),
        "scikit_learn" => "sklearn".into(),
        "beautifulsoup4" => "bs4".into(),
        "pillow" => "PIL".into(),
        "opencv_python" | "opencv_python_headless" => "cv2".into(),
        "protobuf" => "google".into(),
        _ => name,
    }
}

impl Set {
    pub fn new(docs: &[Doc<'_>]) -> Set {
        let mut set = Set::default();
        for doc in docs {
            set.add(doc);
        }
        set
    }

    /// Index one object.
    pub fn add(&mut self, doc: &Doc<'_>) {
        let ns = doc.namespace().map(str::to_owned);
        // The labels of a pod template (or of a bare Pod), kept compact: a tree holds one pod
        // per workload, and a map per pod was most of the index.
        let labels_node = match pod_template(doc) {
            Some(template) => Some(template.get("metadata").and_then(|m| m.get("labels"))),
            None if doc.kind() == Some("Pod") => Some(doc.meta().and_then(|m| m.get("labels"))),
            None => None,
        };
        if let Some(labels) = labels_node {
            let labels: Labels = match labels.map(|l| &l.value) {
                Some(Value::Map(entries)) => entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.name.as_str().into(), v.as_str()?.into())))
                    .collect(),
                _ => Box::default(),
            };
            self.pod_labels.push((ns.as_deref().map(Into::into), labels));
        }
        if let Some(pod) = pod_spec(doc) {
            self.add_workload(pod, ns.clone());
        }
        if doc.kind() != Some("ConfigMap") {
            return;
        }
        let Some(name) = doc.name() else { return };
        let keys = ["data", "binaryData"]
            .iter()
            .filter_map(|f| doc.node.get(f))
            .flat_map(|d| match &d.value {
                Value::Map(entries) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
                _ => Vec::new(),
            })
            .collect();
        self.configmaps
            .entry(name.to_owned())
            .or_default()
            .push(ConfigMapKeys { namespace: ns.clone(), keys });
        let data = doc.node.get("data");
        if let Some(handler) = data.and_then(|d| d.get("HANDLER_FUNCTION")).and_then(Node::as_str) {
            self.handler_values.entry(name.to_owned()).or_default().push((ns, handler.trim().to_owned()));
        }
        if let Some(Value::Map(entries)) = data.map(|d| &d.value) {
            for (key, value) in entries {
                if let Some(module) = key.name.strip_suffix(".py") {
                    self.python_modules.insert(module.to_owned());
                }
                if key.name.ends_with("requirements.txt")
                    && let Some(text) = value.as_str()
                {
                    for line in text.lines() {
                        let line = line.split('#').next().unwrap_or("").trim();
                        let name: String = line
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                            .collect();
                        if !name.is_empty() {
                            self.requirements.insert(module_of(&name));
                        }
                    }
                }
            }
        }
    }

    fn add_workload(&mut self, pod: &Node, namespace: Option<String>) {
        let mut literal = None;
        let mut from = Vec::new();
        let mut images = Vec::new();
        for container in containers(pod) {
            if let Some(image) = container.get("image").and_then(Node::as_str) {
                images.push(image.to_owned());
            }
            for var in items(container.get("env")) {
                if var.get("name").and_then(Node::as_str) == Some("HANDLER_FUNCTION") {
                    if let Some(v) = var.get("value").and_then(Node::as_str) {
                        literal = Some(v.trim().to_owned());
                    }
                    if let Some(cm) = var
                        .get("valueFrom")
                        .and_then(|v| v.get("configMapKeyRef"))
                        .and_then(|r| r.get("name"))
                        .and_then(Node::as_str)
                    {
                        from.push(cm.to_owned());
                    }
                }
            }
            for source in items(container.get("envFrom")) {
                if let Some(cm) =
                    source.get("configMapRef").and_then(|r| r.get("name")).and_then(Node::as_str)
                {
                    from.push(cm.to_owned());
                }
            }
        }
        let index = self.workloads.len();
        self.workloads.push(Workload { namespace, literal, from, images });
        for volume in items(pod.get("volumes")) {
            if let Some(cm) = volume.get("configMap").and_then(|c| c.get("name")).and_then(Node::as_str) {
                self.mounted_by.entry(cm.to_owned()).or_default().push(index);
            }
        }
    }

    /// Add the index of objects that come after this set's.
    pub fn append(&mut self, later: Set) {
        for (name, mut found) in later.configmaps {
            self.configmaps.entry(name).or_default().append(&mut found);
        }
        let offset = self.workloads.len();
        self.workloads.extend(later.workloads);
        for (name, users) in later.mounted_by {
            self.mounted_by.entry(name).or_default().extend(users.into_iter().map(|i| i + offset));
        }
        for (name, mut values) in later.handler_values {
            self.handler_values.entry(name).or_default().append(&mut values);
        }
        self.pod_labels.extend(later.pod_labels);
        self.requirements.extend(later.requirements);
        self.python_modules.extend(later.python_modules);
    }

    /// A ConfigMap by name and namespace.
    pub fn configmap(&self, ns: Option<&str>, name: &str) -> Option<&ConfigMapKeys> {
        self.configmaps.get(name)?.iter().find(|c| same_ns(ns, c.namespace.as_deref()))
    }

    /// The `HANDLER_FUNCTION` the workloads mounting ConfigMap `name` give their runtime: the
    /// first found, from a literal env value or a ConfigMap of their environment; `None` when
    /// none sets one (the runtime's default, `handler`). For a ConfigMap no workload of the
    /// set mounts, any `HANDLER_FUNCTION` of its namespace.
    pub fn handler_for(&self, ns: Option<&str>, name: &str) -> Option<String> {
        let Some(users) = self.mounted_by.get(name) else {
            // Mounted by nothing here (its Deployment lives elsewhere): any `HANDLER_FUNCTION`
            // of the namespace is the best guess.
            return self
                .handler_values
                .values()
                .flatten()
                .find(|(cm_ns, _)| same_ns(ns, cm_ns.as_deref()))
                .map(|(_, h)| h.clone());
        };
        users.iter().map(|&i| &self.workloads[i]).filter(|w| same_ns(ns, w.namespace.as_deref())).find_map(
            |w| {
                w.literal.clone().or_else(|| {
                    w.from.iter().find_map(|cm| {
                        self.handler_values
                            .get(cm)?
                            .iter()
                            .find(|(cm_ns, _)| same_ns(w.namespace.as_deref(), cm_ns.as_deref()))
                            .map(|(_, h)| h.clone())
                    })
                })
            },
        )
    }

    /// Whether the Python libraries of the runtime that loads ConfigMap `name` are known: a
    /// workload mounting it runs the course image or fnops-runtime, or none of the set mounts
    /// it (the usual runtime is assumed). A custom image may carry any library.
    pub fn runtime_libraries_known(&self, ns: Option<&str>, name: &str) -> bool {
        let Some(users) = self.mounted_by.get(name) else { return true };
        let mut users = users
            .iter()
            .map(|&i| &self.workloads[i])
            .filter(|w| same_ns(ns, w.namespace.as_deref()))
            .peekable();
        users.peek().is_none() || users.any(|w| w.images.iter().any(|i| known_runtime_image(i)))
    }

    /// Whether any pod template in namespace `ns` carries every label of `selector`; `None`
    /// when the set holds no pod templates there (nothing to judge by).
    pub fn selects_a_pod(&self, ns: Option<&str>, selector: &BTreeMap<String, String>) -> Option<bool> {
        let mut candidates =
            self.pod_labels.iter().filter(|(pod_ns, _)| same_ns(ns, pod_ns.as_deref())).peekable();
        candidates.peek()?;
        Some(candidates.any(|(_, labels)| {
            selector.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| **lk == **k && **lv == **v))
        }))
    }
}
