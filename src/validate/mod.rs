//! VALIDATE: check Kubernetes objects the way the API server and the runtime would, with a
//! file:line:col for every finding. Works on parsed documents whatever produced them: the
//! render stage's output, or YAML files from disk. Objects are checked in parallel; rules that
//! follow references see the whole validated set.

pub mod catalogue;
mod prune;
pub mod python;
mod rules;
pub mod schema;

use rayon::prelude::*;

use crate::finding::{Finding, Sources};
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

/// The validated set, indexed once so that rules following references stay linear.
pub struct Set<'a> {
    configmaps: std::collections::HashMap<&'a str, Vec<Doc<'a>>>,
    /// `HANDLER_FUNCTION` from a ConfigMap of the set, if any.
    pub handler_function: Option<&'a str>,
}

impl<'a> Set<'a> {
    fn new(docs: &[Doc<'a>]) -> Set<'a> {
        let mut configmaps: std::collections::HashMap<&'a str, Vec<Doc<'a>>> =
            std::collections::HashMap::new();
        let mut handler_function = None;
        for doc in docs.iter().filter(|d| d.kind() == Some("ConfigMap")) {
            if let Some(name) = doc.name() {
                configmaps.entry(name).or_default().push(*doc);
            }
            if handler_function.is_none() {
                handler_function =
                    doc.node.get("data").and_then(|d| d.get("HANDLER_FUNCTION")).and_then(Node::as_str);
            }
        }
        Set { configmaps, handler_function }
    }

    /// A ConfigMap by name and namespace. An object without a namespace lands in the
    /// Application's destination namespace, so it matches any namespace.
    pub fn configmap(&self, ns: Option<&str>, name: &str) -> Option<Doc<'a>> {
        self.configmaps
            .get(name)?
            .iter()
            .find(|d| match (ns, d.namespace()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .copied()
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
    fn push(&mut self, f: Finding, doc: &Doc<'_>, hint: Option<String>) {
        let mut f = f.with_object(Some(doc.id()));
        f.hint = hint;
        self.findings.push(f);
    }

    fn error(&mut self, rule: &'static str, doc: &Doc<'_>, loc: Loc, message: String, hint: Option<String>) {
        let f = Finding::error(rule, self.sources, loc, message);
        self.push(f, doc, hint);
    }

    fn warning(
        &mut self,
        rule: &'static str,
        doc: &Doc<'_>,
        loc: Loc,
        message: String,
        hint: Option<String>,
    ) {
        let f = Finding::warning(rule, self.sources, loc, message);
        self.push(f, doc, hint);
    }
}

/// Below this many objects (or files), work stays on the calling thread.
pub const PARALLEL_FROM: usize = 64;

/// Validate a set of objects (one Application's worth, or one tree).
pub fn validate(docs: &[Doc<'_>], sources: &Sources, opts: &Options<'_>) -> Vec<Finding> {
    let set = Set::new(docs);
    let check = |doc: &Doc<'_>| {
        let mut cx = Checker { sources, findings: Vec::new() };
        if rules::meta::is_manifest(&mut cx, doc) {
            rules::meta::check(&mut cx, doc);
            rules::configmap::check(&mut cx, doc);
            rules::workload::check(&mut cx, doc, &set, opts.externals);
            rules::hygiene::check(&mut cx, doc);
            rules::python::check(&mut cx, doc, &set, opts.input_keys);
            if let Some(schemas) = opts.schemas {
                rules::schema::check(&mut cx, doc, schemas);
            }
            let ignored: Vec<&str> = doc
                .annotation(IGNORE_ANNOTATION)
                .map(|a| a.split(',').map(str::trim).collect())
                .unwrap_or_default();
            cx.findings.retain(|f| !ignored.contains(&f.rule));
        }
        cx.findings
    };
    // A render checks a handful of objects: starting the thread pool would cost more than it
    // saves.
    let mut findings: Vec<Finding> = if docs.len() < PARALLEL_FROM {
        docs.iter().flat_map(check).collect()
    } else {
        docs.par_iter().flat_map_iter(check).collect()
    };
    findings.retain(|f| !opts.ignore.iter().any(|r| r == f.rule));
    crate::finding::sort_dedup(&mut findings);
    findings
}

/// The JSON value of a node, for rules that need whole subtrees.
pub(crate) fn is_true(node: Option<&Node>) -> bool {
    matches!(node.map(|n| &n.value), Some(Value::Bool(true)))
}
