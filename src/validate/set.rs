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
    namespaces: Namespaces,
    configmaps: HashMap<Box<str>, Found<ConfigMapKeys>>,
    /// Workloads by the ConfigMaps they mount as volumes.
    mounted_by: HashMap<Box<str>, Found<u32>>,
    workloads: Vec<Workload>,
    /// `data.HANDLER_FUNCTION` of ConfigMaps that have one, by name.
    handler_values: HashMap<Box<str>, Found<(Ns, Box<str>)>>,
    /// The labels of every pod template, with its namespace.
    pod_labels: Vec<(Ns, Labels)>,
    /// Module names of the packages `requirements.txt` keys declare.
    pub requirements: BTreeSet<String>,
    /// Python modules ConfigMaps carry as `<module>.py` keys.
    pub python_modules: BTreeSet<String>,
    /// Built on first use, once the set is complete (see [`Lookups`]).
    lookups: std::sync::OnceLock<Lookups>,
}

/// What queries of the whole set need, built once so that each query stays cheap: a Service's
/// selector and a ConfigMap no workload mounts would otherwise scan every pod template or every
/// `HANDLER_FUNCTION`, once per object (quadratic on a big tree).
#[derive(Default)]
struct Lookups {
    /// (hash of a label's key and value, pod template), sorted by hash.
    by_label: Vec<(u64, u32)>,
    /// Namespaces with pod templates (0: a template without one).
    pod_namespaces: std::collections::HashSet<Ns>,
    /// Per namespace, the `HANDLER_FUNCTION` of the ConfigMap first by name (0: without one).
    first_handler: HashMap<Ns, (Box<str>, Box<str>)>,
}

fn label_hash(key: &str, value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (key, value).hash(&mut h);
    h.finish()
}

// A 100,000-object tree keeps one entry per object here for the whole run, so entries are
// compact: namespaces stored once, a name's first entry held inline, keys in one string.

/// A namespace of the set: 0 for none, else 1 + its index in [`Namespaces`].
type Ns = u32;

/// Every namespace the set has seen, each stored once.
#[derive(Default)]
struct Namespaces {
    ids: HashMap<Box<str>, Ns>,
    names: Vec<Box<str>>,
}

impl Namespaces {
    fn id(&mut self, ns: Option<&str>) -> Ns {
        let Some(ns) = ns else { return 0 };
        if let Some(&id) = self.ids.get(ns) {
            return id;
        }
        self.names.push(ns.into());
        let id = self.names.len() as Ns;
        self.ids.insert(ns.into(), id);
        id
    }

    fn name(&self, id: Ns) -> Option<&str> {
        id.checked_sub(1).map(|i| &*self.names[i as usize])
    }
}

/// What one name maps to: nearly always one entry, held inline; the others after it.
struct Found<T> {
    first: T,
    /// Boxed: empty for nearly every name, and 8 bytes instead of a `Vec`'s 24 then.
    #[allow(clippy::box_collection, reason = "the box keeps the common empty case at 8 bytes")]
    more: Option<Box<Vec<T>>>,
}

impl<T> Found<T> {
    fn new(first: T) -> Self {
        Found { first, more: None }
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.first).chain(self.more.iter().flat_map(|more| more.iter()))
    }

    fn push(&mut self, value: T) {
        self.more.get_or_insert_default().push(value);
    }

    fn into_iter(self) -> impl Iterator<Item = T> {
        std::iter::once(self.first).chain(self.more.into_iter().flat_map(|more| *more))
    }
}

/// Add `value` under `name`, after what is there.
fn push<T>(map: &mut HashMap<Box<str>, Found<T>>, name: &str, value: T) {
    match map.get_mut(name) {
        Some(found) => found.push(value),
        None => {
            map.insert(name.into(), Found::new(value));
        }
    }
}

/// Add what `name` maps to in a later set, after what is there.
fn merge<T>(map: &mut HashMap<Box<str>, Found<T>>, name: Box<str>, later: Found<T>, f: impl Fn(T) -> T) {
    let later = Found {
        first: f(later.first),
        more: later.more.map(|more| Box::new(more.into_iter().map(&f).collect())),
    };
    match map.entry(name) {
        std::collections::hash_map::Entry::Occupied(mut there) => {
            for value in later.into_iter() {
                there.get_mut().push(value);
            }
        }
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(later);
        }
    }
}

/// One pod template's labels, compact: a large tree keeps one of these per workload.
type Labels = Box<[(Box<str>, Box<str>)]>;

/// The keys (`data` and `binaryData`) of one ConfigMap.
pub struct ConfigMapKeys {
    namespace: Ns,
    /// Each key followed by a NUL.
    keys: Box<str>,
}

impl ConfigMapKeys {
    pub fn has(&self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.split_terminator('\0')
    }
}

/// Where a workload's `HANDLER_FUNCTION` comes from.
struct Workload {
    namespace: Ns,
    /// A literal `env` value.
    literal: Option<Box<str>>,
    /// ConfigMaps of `envFrom` (a `runtime-config`).
    from: Box<[Box<str>]>,
    /// Whether one of its containers runs an image whose Python libraries are known.
    known_image: bool,
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
    /// Whether an entry of namespace `entry` matches a lookup from namespace `ns` (see
    /// [`same_ns`]).
    fn in_ns(&self, ns: Option<&str>, entry: Ns) -> bool {
        same_ns(ns, self.namespaces.name(entry))
    }

    pub fn new(docs: &[Doc<'_>]) -> Set {
        let mut set = Set::default();
        for doc in docs {
            set.add(doc);
        }
        set
    }

    /// Index one object.
    pub fn add(&mut self, doc: &Doc<'_>) {
        self.lookups.take();
        let ns = self.namespaces.id(doc.namespace());
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
            self.pod_labels.push((ns, labels));
        }
        if let Some(pod) = pod_spec(doc) {
            self.add_workload(pod, ns);
        }
        if doc.kind() != Some("ConfigMap") {
            return;
        }
        let Some(name) = doc.name() else { return };
        let mut keys = String::new();
        for field in ["data", "binaryData"] {
            if let Some(Value::Map(entries)) = doc.node.get(field).map(|d| &d.value) {
                for (key, _) in entries {
                    keys.push_str(&key.name);
                    keys.push('\0');
                }
            }
        }
        push(&mut self.configmaps, name, ConfigMapKeys { namespace: ns, keys: keys.into() });
        let data = doc.node.get("data");
        if let Some(handler) = data.and_then(|d| d.get("HANDLER_FUNCTION")).and_then(Node::as_str) {
            push(&mut self.handler_values, name, (ns, handler.trim().into()));
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

    fn add_workload(&mut self, pod: &Node, namespace: Ns) {
        let mut literal = None;
        let mut from: Vec<Box<str>> = Vec::new();
        let mut known_image = false;
        for container in containers(pod) {
            if let Some(image) = container.get("image").and_then(Node::as_str) {
                known_image |= known_runtime_image(image);
            }
            for var in items(container.get("env")) {
                if var.get("name").and_then(Node::as_str) == Some("HANDLER_FUNCTION") {
                    if let Some(v) = var.get("value").and_then(Node::as_str) {
                        literal = Some(v.trim().into());
                    }
                    if let Some(cm) = var
                        .get("valueFrom")
                        .and_then(|v| v.get("configMapKeyRef"))
                        .and_then(|r| r.get("name"))
                        .and_then(Node::as_str)
                    {
                        from.push(cm.into());
                    }
                }
            }
            for source in items(container.get("envFrom")) {
                if let Some(cm) =
                    source.get("configMapRef").and_then(|r| r.get("name")).and_then(Node::as_str)
                {
                    from.push(cm.into());
                }
            }
        }
        let index = self.workloads.len() as u32;
        self.workloads.push(Workload { namespace, literal, from: from.into(), known_image });
        for volume in items(pod.get("volumes")) {
            if let Some(cm) = volume.get("configMap").and_then(|c| c.get("name")).and_then(Node::as_str) {
                push(&mut self.mounted_by, cm, index);
            }
        }
    }

    /// Add the index of objects that come after this set's.
    pub fn append(&mut self, later: Set) {
        self.lookups.take();
        let nothing_yet = self.namespaces.names.is_empty()
            && self.workloads.is_empty()
            && self.configmaps.is_empty()
            && self.mounted_by.is_empty()
            && self.handler_values.is_empty()
            && self.pod_labels.is_empty();
        if nothing_yet {
            // Nothing here yet (the first file of a run): take `later` as it is, without
            // holding two copies of it while one is moved into the other.
            let (requirements, modules) =
                (std::mem::take(&mut self.requirements), std::mem::take(&mut self.python_modules));
            *self = later;
            self.requirements.extend(requirements);
            self.python_modules.extend(modules);
            return;
        }
        let ns: Vec<Ns> = std::iter::once(0)
            .chain(later.namespaces.names.iter().map(|n| self.namespaces.id(Some(n))))
            .collect();
        let ns = |id: Ns| ns[id as usize];
        for (name, found) in later.configmaps {
            merge(&mut self.configmaps, name, found, |cm| ConfigMapKeys {
                namespace: ns(cm.namespace),
                ..cm
            });
        }
        let offset = self.workloads.len() as u32;
        self.workloads
            .extend(later.workloads.into_iter().map(|w| Workload { namespace: ns(w.namespace), ..w }));
        for (name, users) in later.mounted_by {
            merge(&mut self.mounted_by, name, users, |user| user + offset);
        }
        for (name, values) in later.handler_values {
            merge(&mut self.handler_values, name, values, |(value_ns, handler)| (ns(value_ns), handler));
        }
        self.pod_labels.extend(later.pod_labels.into_iter().map(|(pod_ns, labels)| (ns(pod_ns), labels)));
        self.requirements.extend(later.requirements);
        self.python_modules.extend(later.python_modules);
    }

    /// A ConfigMap by name and namespace.
    pub fn configmap(&self, ns: Option<&str>, name: &str) -> Option<&ConfigMapKeys> {
        self.configmaps.get(name)?.iter().find(|c| self.in_ns(ns, c.namespace))
    }

    /// The `HANDLER_FUNCTION` the workloads mounting ConfigMap `name` give their runtime: the
    /// first found, from a literal env value or a ConfigMap of their environment; `None` when
    /// none sets one (the runtime's default, `handler`). For a ConfigMap no workload of the
    /// set mounts, any `HANDLER_FUNCTION` of its namespace.
    pub fn handler_for(&self, ns: Option<&str>, name: &str) -> Option<String> {
        let Some(users) = self.mounted_by.get(name) else {
            // Mounted by nothing here (its Deployment lives elsewhere): any `HANDLER_FUNCTION`
            // of the namespace is the best guess.
            // The first by ConfigMap name, so the guess is the same from run to run.
            let first = &self.lookups().first_handler;
            let candidates: Vec<&(Box<str>, Box<str>)> = match ns {
                None => first.values().collect(),
                Some(ns) => [self.namespaces.ids.get(ns).copied(), Some(0)]
                    .into_iter()
                    .flatten()
                    .filter_map(|id| first.get(&id))
                    .collect(),
            };
            return candidates.into_iter().min().map(|(_, h)| h.to_string());
        };
        users.iter().map(|&i| &self.workloads[i as usize]).filter(|w| self.in_ns(ns, w.namespace)).find_map(
            |w| {
                w.literal.as_deref().map(str::to_owned).or_else(|| {
                    let w_ns = self.namespaces.name(w.namespace);
                    w.from.iter().find_map(|cm| {
                        self.handler_values
                            .get(cm)?
                            .iter()
                            .find(|(cm_ns, _)| self.in_ns(w_ns, *cm_ns))
                            .map(|(_, h)| h.to_string())
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
            .map(|&i| &self.workloads[i as usize])
            .filter(|w| self.in_ns(ns, w.namespace))
            .peekable();
        users.peek().is_none() || users.any(|w| w.known_image)
    }

    /// Whether any pod template in namespace `ns` carries every label of `selector`; `None`
    /// when the set holds no pod templates there (nothing to judge by).
    pub fn selects_a_pod(&self, ns: Option<&str>, selector: &BTreeMap<String, String>) -> Option<bool> {
        let lookups = self.lookups();
        let pods_here = match ns {
            None => !self.pod_labels.is_empty(),
            Some(ns) => {
                lookups.pod_namespaces.contains(&0)
                    || self.namespaces.ids.get(ns).is_some_and(|id| lookups.pod_namespaces.contains(id))
            }
        };
        if !pods_here {
            return None;
        }
        let matches = |pod: usize| {
            let (pod_ns, labels) = &self.pod_labels[pod];
            self.in_ns(ns, *pod_ns)
                && selector.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| **lk == **k && **lv == **v))
        };
        // Only the templates carrying the selector's rarest label can match.
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                let hash = label_hash(k, v);
                let start = lookups.by_label.partition_point(|(h, _)| *h < hash);
                let end = lookups.by_label.partition_point(|(h, _)| *h <= hash);
                &lookups.by_label[start..end]
            })
            .min_by_key(|pods| pods.len());
        Some(match rarest {
            Some(pods) => pods.iter().any(|&(_, pod)| matches(pod as usize)),
            None => (0..self.pod_labels.len()).any(matches),
        })
    }

    fn lookups(&self) -> &Lookups {
        self.lookups.get_or_init(|| {
            let mut lookups = Lookups::default();
            for (i, (ns, labels)) in self.pod_labels.iter().enumerate() {
                lookups.pod_namespaces.insert(*ns);
                lookups.by_label.extend(labels.iter().map(|(k, v)| (label_hash(k, v), i as u32)));
            }
            lookups.by_label.sort_unstable();
            for (name, found) in &self.handler_values {
                for (ns, handler) in found.iter() {
                    let entry = (name.clone(), handler.clone());
                    match lookups.first_handler.get_mut(ns) {
                        Some(first) if *first <= entry => {}
                        Some(first) => *first = entry,
                        None => {
                            lookups.first_handler.insert(*ns, entry);
                        }
                    }
                }
            }
            lookups
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(yaml: &str) -> Set {
        let nodes = crate::yaml::parse_stream(yaml, 0, crate::yaml::Schema::Kubernetes11).expect("parses");
        let docs: Vec<Doc<'_>> = nodes.iter().map(|node| Doc { node }).collect();
        Set::new(&docs)
    }

    fn selector(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const PODS: &str = "\
kind: Deployment
metadata: {name: a, namespace: team-a}
spec: {template: {metadata: {labels: {app: a, part-of: course}}, spec: {containers: [{name: c}]}}}
---
kind: Deployment
metadata: {name: b, namespace: team-b}
spec: {template: {metadata: {labels: {app: b, part-of: course}}, spec: {containers: [{name: c}]}}}
---
kind: Pod
metadata: {name: loose, labels: {app: loose, part-of: course}}
spec: {containers: [{name: c}]}
";

    #[test]
    fn selectors_are_answered_by_namespace_and_every_label() {
        let set = set_of(PODS);
        assert_eq!(set.selects_a_pod(Some("team-a"), &selector(&[("app", "a")])), Some(true));
        // The template with these labels is in another namespace.
        assert_eq!(set.selects_a_pod(Some("team-a"), &selector(&[("app", "b")])), Some(false));
        // A template without a namespace lands anywhere.
        assert_eq!(set.selects_a_pod(Some("team-a"), &selector(&[("app", "loose")])), Some(true));
        assert_eq!(set.selects_a_pod(Some("elsewhere"), &selector(&[("app", "loose")])), Some(true));
        // The common label alone matches; with a label no template has, nothing does.
        assert_eq!(set.selects_a_pod(Some("team-b"), &selector(&[("part-of", "course")])), Some(true));
        assert_eq!(set.selects_a_pod(None, &selector(&[("part-of", "course"), ("app", "c")])), Some(false));
        assert_eq!(set.selects_a_pod(None, &selector(&[("part-of", "course"), ("app", "b")])), Some(true));
        // No template at all: nothing to judge by.
        let empty = set_of("kind: ConfigMap\nmetadata: {name: x}\n");
        assert_eq!(empty.selects_a_pod(None, &selector(&[("app", "a")])), None);
    }

    #[test]
    fn a_configmap_no_workload_mounts_takes_the_first_handler_of_its_namespace_by_name() {
        let set = set_of(
            "\
kind: ConfigMap
metadata: {name: zz-config, namespace: team-a}
data: {HANDLER_FUNCTION: late}
---
kind: ConfigMap
metadata: {name: aa-config, namespace: team-a}
data: {HANDLER_FUNCTION: early}
---
kind: ConfigMap
metadata: {name: mm-config}
data: {HANDLER_FUNCTION: anywhere}
---
kind: ConfigMap
metadata: {name: bb-config, namespace: team-b}
data: {HANDLER_FUNCTION: other}
",
        );
        assert_eq!(set.handler_for(Some("team-a"), "pyfile").as_deref(), Some("early"));
        // Only the ConfigMap without a namespace is in team-c's reach.
        assert_eq!(set.handler_for(Some("team-c"), "pyfile").as_deref(), Some("anywhere"));
        assert_eq!(set.handler_for(None, "pyfile").as_deref(), Some("early"));
        assert_eq!(set.handler_for(Some("team-b"), "pyfile").as_deref(), Some("other"));
    }
}
