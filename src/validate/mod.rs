//! VALIDATE: check Kubernetes objects the way the API server and the runtime would, with a
//! file:line:col for every finding. Works on parsed documents ([`Doc`]) whatever produced them:
//! the render stage's output, or YAML files from disk.

mod rules;

use crate::finding::{Finding, Sources};
use crate::yaml::{Loc, Node};

/// One Kubernetes object and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Doc<'a> {
    pub node: &'a Node,
}

impl<'a> Doc<'a> {
    pub fn kind(&self) -> Option<&'a str> {
        self.node.get("kind").and_then(Node::as_str)
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

/// Findings for a set of objects validated together (references resolve within the set).
pub struct Checker<'s> {
    sources: &'s Sources,
    findings: Vec<Finding>,
}

impl<'s> Checker<'s> {
    fn error(&mut self, rule: &'static str, doc: &Doc<'_>, loc: Loc, message: String, hint: Option<String>) {
        let mut f = Finding::error(rule, self.sources, loc, message).with_object(Some(doc.id()));
        f.hint = hint;
        self.findings.push(f);
    }

    fn warning(
        &mut self,
        rule: &'static str,
        doc: &Doc<'_>,
        loc: Loc,
        message: String,
        hint: Option<String>,
    ) {
        let mut f = Finding::warning(rule, self.sources, loc, message).with_object(Some(doc.id()));
        f.hint = hint;
        self.findings.push(f);
    }
}

/// Validate objects that form one application (one environment, or one directory).
pub fn validate(docs: &[Doc<'_>], sources: &Sources) -> Vec<Finding> {
    let mut checker = Checker { sources, findings: Vec::new() };
    for doc in docs {
        if !rules::meta::is_manifest(&mut checker, doc) {
            continue;
        }
        rules::meta::check(&mut checker, doc);
        rules::configmap::check(&mut checker, doc);
        rules::workload::check(&mut checker, doc, docs);
    }
    let mut findings = checker.findings;
    crate::finding::sort_dedup(&mut findings);
    findings
}
