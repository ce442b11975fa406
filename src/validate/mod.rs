//! VALIDATE: check Kubernetes objects the way the API server and the runtime would, with a
//! file:line:col for every finding. Works on parsed documents whatever produced them: the
//! render stage's output, or YAML files from disk. Objects are checked in parallel; rules that
//! follow references see the whole validated set.

mod prune;
pub mod python;
pub mod registry;
mod rules;
pub mod schema;
mod set;
mod streamed;

use rayon::prelude::*;

use crate::finding::{Finding, Rule, Sources};
use crate::yaml::{Loc, Node, Value};

pub use schema::SchemaSet;
pub use set::{ConfigMapKeys, Set};
pub use streamed::{FileChecked, FileSource, Index, PART_BYTES, check_files, index_files};

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
    /// The Kubernetes version the objects are for (`--kube-version`; default the newest
    /// bundled): removed APIs and volume types are judged against it.
    pub target: Option<schema::Target>,
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

    /// [`Checker::report`] for a finding about a reference to ConfigMap `configmap`.
    fn report_ref(
        &mut self,
        rule: Rule,
        doc: &Doc<'_>,
        loc: Loc,
        message: String,
        hint: Option<String>,
        configmap: &str,
    ) {
        self.report(rule, doc, loc, message, hint);
        if let Some(last) = self.findings.last_mut() {
            last.refers_to = Some(configmap.to_owned());
        }
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

/// Drop the rules suppressed for the run, then sort and deduplicate.
fn finish(findings: &mut Vec<Finding>, opts: &Options<'_>) {
    findings.retain(|f| !opts.ignore.iter().any(|r| r == f.rule.id()));
    crate::finding::sort_dedup(findings);
}

/// Every rule on one object, less what its `fnops.io/ignore` annotation suppresses.
fn check_doc(doc: &Doc<'_>, set: &Set, sources: &Sources, opts: &Options<'_>) -> Vec<Finding> {
    let mut cx = Checker { sources, findings: Vec::new() };
    if rules::meta::is_manifest(&mut cx, doc) {
        let target = opts.target.clone().unwrap_or_else(schema::Target::newest);
        rules::meta::check(&mut cx, doc);
        rules::configmap::check(&mut cx, doc);
        rules::workload::check(&mut cx, doc, set, opts.externals);
        rules::apiserver::check(&mut cx, doc, target.to);
        rules::service::check(&mut cx, doc, set);
        rules::hygiene::check(&mut cx, doc);
        rules::python::check(&mut cx, doc, set, opts.input_keys);
        let served = rules::apis::check(&mut cx, doc, &target);
        if let Some(schemas) = opts.schemas
            && served != rules::apis::Served::Removed
        {
            let before = cx.findings.len();
            rules::schema::check(&mut cx, doc, schemas);
            // A deprecated built-in API is no CRD, whatever the bundled schemas hold.
            if served == rules::apis::Served::Deprecated {
                let mut i = 0;
                cx.findings.retain(|f| {
                    i += 1;
                    i <= before || f.rule != Rule::UnknownKind
                });
            }
        }
        one_cause_one_finding(&mut cx.findings);
        let ignored: Vec<&str> = doc
            .annotation(IGNORE_ANNOTATION)
            .map(|a| a.split(',').map(str::trim).collect())
            .unwrap_or_default();
        cx.findings.retain(|f| !ignored.contains(&f.rule.id()));
    }
    cx.findings
}

/// A `schema` finding at the place a more specific rule already reports is the same cause
/// (`data: {x: yes}` is both a type error and a `configmap-key` error): keep the specific one.
fn one_cause_one_finding(findings: &mut Vec<Finding>) {
    let specific: std::collections::HashSet<(&str, u32, u32)> = findings
        .iter()
        .filter(|f| f.rule != Rule::Schema && f.severity == crate::finding::Severity::Error)
        .map(|f| (f.file.as_str(), f.line, f.column))
        .collect();
    let drop: std::collections::HashSet<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.rule == Rule::Schema && specific.contains(&(f.file.as_str(), f.line, f.column)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

/// The JSON value of a node, for rules that need whole subtrees.
pub(crate) fn is_true(node: Option<&Node>) -> bool {
    matches!(node.map(|n| &n.value), Some(Value::Bool(true)))
}
