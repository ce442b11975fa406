//! VALIDATE: check Kubernetes objects the way the API server and the runtime would, with a
//! file:line:col for every finding. Works on parsed documents whatever produced them: the
//! render stage's output, or YAML files from disk. Objects are checked in parallel; rules that
//! follow references see the whole validated set.

mod prune;
pub mod python;
pub mod registry;
mod rules;
pub mod schema;

use rayon::prelude::*;

use crate::finding::{Finding, Rule, Sources};
use crate::yaml::{Loc, Node, Value};

pub use schema::SchemaSet;

/// Annotation listing rules to skip for one object: `fnops.io/ignore: rule-a,rule-b`.
pub const IGNORE_ANNOTATION: &str = "fnops.io/ignore";

/// One Kubernetes object.
#[derive(Clone, Copy, Debug)]
pub struct Doc<'a> {
    pub node: &'a Node,
}

impl<'a> Doc<'a> {
    pub fn kind(&self) -> Option<&'a str> {
        self.node.get("kind").and_then(Node::as_str)
    }

    pub fn api_version(&self) -> Option<&'a str> {
        self.node.get("apiVersion").and_then(Node::as_str)
    }

    pub fn name(&self) -> Option<&'a str> {
        self.meta().and_then(|m| m.get("name")).and_then(Node::as_str)
    }

    pub fn namespace(&self) -> Option<&'a str> {
        self.meta().and_then(|m| m.get("namespace")).and_then(Node::as_str)
    }

    pub fn meta(&self) -> Option<&'a Node> {
        self.node.get("metadata")
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta().and_then(|m| m.get("annotations")).and_then(|a| a.get(key)).and_then(Node::as_str)
    }

    /// `kind/namespace/name`, or `kind/name` without a namespace.
    pub fn id(&self) -> String {
        let kind = self.kind().unwrap_or("?");
        let name = self.name().unwrap_or("?");
        match self.namespace() {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        }
    }
}

/// What rules that follow references need to know of the whole validated set: the keys of
/// every ConfigMap and the runtime's `HANDLER_FUNCTION`. Built once so that those rules stay
/// linear, and owned, so that a large tree can be indexed file by file and its parsed objects
/// dropped (see [`validate_streamed`]).
#[derive(Default)]
pub struct Set {
    configmaps: std::collections::HashMap<String, Vec<ConfigMapKeys>>,
    /// `HANDLER_FUNCTION` from the first ConfigMap of the set that has one.
    pub handler_function: Option<String>,
}

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

impl Set {
    pub fn new(docs: &[Doc<'_>]) -> Set {
        let mut set = Set::default();
        for doc in docs {
            set.add(doc);
        }
        set
    }

    /// Index one object (only ConfigMaps matter).
    pub fn add(&mut self, doc: &Doc<'_>) {
        if doc.kind() != Some("ConfigMap") {
            return;
        }
        if let Some(name) = doc.name() {
            let keys = ["data", "binaryData"]
                .iter()
                .filter_map(|f| doc.node.get(f))
                .flat_map(|d| match &d.value {
                    crate::yaml::Value::Map(entries) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
                    _ => Vec::new(),
                })
                .collect();
            let namespace = doc.namespace().map(str::to_owned);
            self.configmaps.entry(name.to_owned()).or_default().push(ConfigMapKeys { namespace, keys });
        }
        if self.handler_function.is_none() {
            self.handler_function = doc
                .node
                .get("data")
                .and_then(|d| d.get("HANDLER_FUNCTION"))
                .and_then(Node::as_str)
                .map(str::to_owned);
        }
    }

    /// Add the index of objects that come after this set's.
    pub fn append(&mut self, later: Set) {
        for (name, mut found) in later.configmaps {
            self.configmaps.entry(name).or_default().append(&mut found);
        }
        if self.handler_function.is_none() {
            self.handler_function = later.handler_function;
        }
    }

    /// A ConfigMap by name and namespace. An object without a namespace lands in the
    /// Application's destination namespace, so it matches any namespace.
    pub fn configmap(&self, ns: Option<&str>, name: &str) -> Option<&ConfigMapKeys> {
        self.configmaps.get(name)?.iter().find(|c| match (ns, c.namespace.as_deref()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
    }
}

/// What a validation run knows beyond the objects.
#[derive(Default)]
pub struct Options<'a> {
    /// Schemas for the `schema` and `unknown-kind` rules; `None` skips both.
    pub schemas: Option<&'a SchemaSet>,
    /// ConfigMaps that live outside the validated set (`--external`).
    pub externals: &'a [String],
    /// Rules suppressed everywhere (`--ignore`).
    pub ignore: &'a [String],
    /// The keys the input holds (`function.inputSample`, `--input-sample`); default: the
    /// course's metrics document.
    pub input_keys: Option<&'a python::InputKeys>,
}

/// Collects one object's findings.
pub struct Checker<'s> {
    sources: &'s Sources,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    /// A finding of `rule` about `doc` at `loc`, with the rule's severity.
    fn report(&mut self, rule: Rule, doc: &Doc<'_>, loc: Loc, message: String, hint: Option<String>) {
        let mut f = Finding::new(rule, self.sources, loc, message).with_object(Some(doc.id()));
        f.hint = hint;
        self.findings.push(f);
    }
}

/// Below this many objects (or files), work stays on the calling thread.
pub const PARALLEL_FROM: usize = 64;

/// Validate a set of objects (one Application's worth, or one tree).
pub fn validate(docs: &[Doc<'_>], sources: &Sources, opts: &Options<'_>) -> Vec<Finding> {
    let set = Set::new(docs);
    let check = |doc: &Doc<'_>| check_doc(doc, &set, sources, opts);
    // A render checks a handful of objects: starting the thread pool would cost more than it
    // saves.
    let mut findings: Vec<Finding> = if docs.len() < PARALLEL_FROM {
        docs.iter().flat_map(check).collect()
    } else {
        docs.par_iter().flat_map_iter(check).collect()
    };
    finish(&mut findings, opts);
    findings
}

/// Validate the files `ids` of `sources` without keeping their parsed objects, for trees too
/// big to hold parsed at once. A first pass parses each file and keeps only its part of the
/// [`Set`] index; a second parses it again, checks it, and drops it. Memory then holds the
/// source texts (for snippets), the index and the findings, at the price of a second parse.
/// The findings are those of [`validate`] plus the files' syntax errors (a test compares the
/// two). Returns them with the number of objects.
pub fn validate_streamed(
    ids: &[u32],
    sources: &Sources,
    opts: &Options<'_>,
    parse: impl Fn(u32) -> Result<Vec<Node>, crate::yaml::YamlError> + Sync,
) -> (Vec<Finding>, usize) {
    let index = |&id: &u32| {
        parse(id).map(|nodes| {
            let docs: Vec<Doc<'_>> = nodes.iter().map(|node| Doc { node }).collect();
            Set::new(&docs)
        })
    };
    let parts: Vec<Result<Set, crate::yaml::YamlError>> = ids.par_iter().map(index).collect();
    let mut set = Set::default();
    let mut findings = Vec::new();
    let mut parsed = Vec::with_capacity(ids.len());
    for (&id, part) in ids.iter().zip(parts) {
        match part {
            Ok(part) => {
                set.append(part);
                parsed.push(id);
            }
            Err(e) => findings.push(Finding::new(e.rule, sources, e.loc, e.message)),
        }
    }
    let check = |&id: &u32| {
        let nodes = parse(id).unwrap_or_default();
        let found: Vec<Finding> =
            nodes.iter().flat_map(|node| check_doc(&Doc { node }, &set, sources, opts)).collect();
        (nodes.len(), found)
    };
    let checked: Vec<(usize, Vec<Finding>)> = parsed.par_iter().map(check).collect();
    let mut objects = 0;
    for (count, mut found) in checked {
        objects += count;
        findings.append(&mut found);
    }
    finish(&mut findings, opts);
    (findings, objects)
}

/// Drop the rules suppressed for the run, then sort and deduplicate.
fn finish(findings: &mut Vec<Finding>, opts: &Options<'_>) {
    findings.retain(|f| !opts.ignore.iter().any(|r| r == f.rule.id()));
    crate::finding::sort_dedup(findings);
}

/// Every rule on one object, less what its `fnops.io/ignore` annotation suppresses.
fn check_doc(doc: &Doc<'_>, set: &Set, sources: &Sources, opts: &Options<'_>) -> Vec<Finding> {
    let mut cx = Checker { sources, findings: Vec::new() };
    if rules::meta::is_manifest(&mut cx, doc) {
        rules::meta::check(&mut cx, doc);
        rules::configmap::check(&mut cx, doc);
        rules::workload::check(&mut cx, doc, set, opts.externals);
        rules::hygiene::check(&mut cx, doc);
        rules::python::check(&mut cx, doc, set, opts.input_keys);
        if let Some(schemas) = opts.schemas {
            rules::schema::check(&mut cx, doc, schemas);
        }
        let ignored: Vec<&str> = doc
            .annotation(IGNORE_ANNOTATION)
            .map(|a| a.split(',').map(str::trim).collect())
            .unwrap_or_default();
        cx.findings.retain(|f| !ignored.contains(&f.rule.id()));
    }
    cx.findings
}

/// The JSON value of a node, for rules that need whole subtrees.
pub(crate) fn is_true(node: Option<&Node>) -> bool {
    matches!(node.map(|n| &n.value), Some(Value::Bool(true)))
}
