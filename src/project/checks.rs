//! What the types cannot say: names Kubernetes accepts, no literal secrets, the limits of the
//! `course` runtime, and where the function's code is (through [`super::source`]).

use std::path::Path;

use super::model::{Flavor, Project, ServiceType, Trigger};
use super::source::{self, FunctionSource};
use crate::finding::{Finding, Rule, Sources};
use crate::k8s_names;
use crate::yaml::{Loc, Node, PathSeg};

struct Ctx<'a> {
    tree: &'a Node,
    sources: &'a Sources,
    findings: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    /// Position of the value at a dotted path, or of the nearest parent that exists.
    fn at(&self, path: &str) -> Loc {
        let segs: Vec<PathSeg<'_>> = path.split('.').map(PathSeg::Key).collect();
        self.tree.lookup(&segs).0.loc
    }

    fn report(&mut self, rule: Rule, path: &str, message: String, hint: Option<&str>) {
        let mut f = Finding::new(rule, self.sources, self.at(path), message);
        if let Some(h) = hint {
            f = f.with_hint(h);
        }
        self.findings.push(f);
    }
}

/// Check one merged project. Returns the resolved function source when it could be read.
pub fn check_project(
    p: &Project,
    tree: &Node,
    root: &Path,
    dir: &Path,
    sources: &mut Sources,
    findings: &mut Vec<Finding>,
) -> Option<FunctionSource> {
    let mut cx = Ctx { tree, sources, findings };
    if let Err(why) = k8s_names::dns1123_label(&p.name) {
        cx.report(
            Rule::InvalidValue,
            "name",
            format!("`name` `{}` {why}", p.name),
            Some("use lowercase letters, digits and `-`, at most 63 characters"),
        );
    }
    if let Some(ns) = &p.namespace
        && let Err(why) = k8s_names::dns1123_label(ns)
    {
        cx.report(Rule::InvalidValue, "namespace", format!("`namespace` `{ns}` {why}"), None);
    }
    for (key, value) in &p.labels {
        if let Err(why) = k8s_names::qualified_name(key) {
            cx.report(Rule::InvalidValue, &format!("labels.{key}"), format!("label key `{key}` {why}"), None);
        }
        if let Err(why) = k8s_names::label_value(value) {
            cx.report(
                Rule::InvalidValue,
                &format!("labels.{key}"),
                format!("label value `{value}` {why}"),
                None,
            );
        }
    }
    for key in p.annotations.keys() {
        if let Err(why) = k8s_names::qualified_name(key) {
            cx.report(
                Rule::InvalidValue,
                &format!("annotations.{key}"),
                format!("annotation key `{key}` {why}"),
                None,
            );
        }
    }
    if p.redis.password.is_some() {
        cx.report(
            Rule::LiteralPassword,
            "redis.password",
            "a literal Redis password is refused: it would be committed to Git".into(),
            Some("store it in a Secret and reference it with `passwordSecret: {name: ..., key: ...}`"),
        );
    }
    for (path, value) in [
        ("redis.host", &p.redis.host),
        ("redis.outputKey", &p.redis.output_key),
        ("redis.inputKey", &p.redis.input_key),
    ] {
        if value.trim().is_empty() {
            cx.report(Rule::InvalidValue, path, format!("`{path}` must not be empty"), None);
        }
    }
    if let Some(argo) = &p.argocd
        && argo.repo_url.trim().is_empty()
    {
        cx.report(Rule::InvalidValue, "argocd.repoURL", "`argocd.repoURL` must not be empty".into(), None);
    }
    if let Some(dashboard) = &p.dashboard {
        if p.runtime.flavor == Flavor::Course {
            cx.report(
                Rule::InvalidValue,
                "dashboard",
                "the dashboard is served by fnops-runtime: the `course` flavour has none".into(),
                Some("remove `dashboard`, or use the `fnops` flavour"),
            );
        }
        match (dashboard.service, dashboard.node_port) {
            (ServiceType::NodePort, Some(port)) if !(30000..=32767).contains(&port) => cx.report(
                Rule::InvalidValue,
                "dashboard.nodePort",
                format!("`dashboard.nodePort` {port} is outside the default NodePort range 30000 to 32767"),
                Some("pick a port in the range, or leave it out to get one"),
            ),
            (ServiceType::ClusterIP, Some(_)) => cx.report(
                Rule::InvalidValue,
                "dashboard.nodePort",
                "`dashboard.nodePort` needs `service: NodePort`".into(),
                None,
            ),
            _ => {}
        }
    }
    if p.runtime.handler_timeout.is_some_and(|t| t.0.is_zero()) {
        cx.report(
            Rule::InvalidValue,
            "runtime.handlerTimeout",
            "`runtime.handlerTimeout` must be more than 0".into(),
            Some("give the handler at least `1s`; leave it out for the runtime's 60 s"),
        );
    }
    check_handler(&mut cx, p);
    if p.runtime.flavor == Flavor::Course {
        check_course(&mut cx, p);
    }
    if let Some(sample) = &p.function.input_sample
        && let Err(problem) = source::inside_root(root, dir, sample)
    {
        cx.report(problem.rule, "function.inputSample", problem.message, None);
    }
    let source = match source::resolve(p, root, dir) {
        Ok(source) => source,
        Err(problem) => {
            cx.report(problem.rule, "function.source", problem.message, problem.hint);
            return None;
        }
    };
    if matches!(source, FunctionSource::Dir { .. }) && !p.function.handler.contains('.') {
        cx.report(
            Rule::InvalidValue,
            "function.handler",
            format!("a package source needs a dotted handler, got `{}`", p.function.handler),
            Some("name the module and the function, e.g. `mypkg.main.handler`"),
        );
    }
    Some(source)
}

fn check_handler(cx: &mut Ctx<'_>, p: &Project) {
    let handler = &p.function.handler;
    let valid = handler.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    });
    if !valid {
        cx.report(
            Rule::InvalidValue,
            "function.handler",
            format!("`{handler}` is not a Python function name or dotted path"),
            Some("write `handler` or `package.module.function`"),
        );
    }
}

fn check_course(cx: &mut Ctx<'_>, p: &Project) {
    let course = "the `course` runtime";
    if p.trigger.is_some_and(|t| t != Trigger::Poll) {
        cx.report(
            Rule::InvalidValue,
            "trigger",
            format!("{course} only polls"),
            Some("remove `trigger` or use `runtime.flavor: fnops`"),
        );
    }
    if p.period.0.subsec_millis() != 0 {
        cx.report(
            Rule::InvalidValue,
            "period",
            format!("{course} reads `INTERVAL` as whole seconds, got {}", p.period),
            None,
        );
    }
    if p.function.handler != "handler" {
        cx.report(
            Rule::InvalidValue,
            "function.handler",
            format!("{course} always calls `handler`"),
            Some("use `runtime.flavor: fnops` for another entry point"),
        );
    }
    if p.redis.password_secret.is_some() {
        cx.report(
            Rule::InvalidValue,
            "redis.passwordSecret",
            format!("{course} cannot authenticate to Redis"),
            Some("use `runtime.flavor: fnops`"),
        );
    }
    if p.redis.tls.is_some() {
        cx.report(
            Rule::InvalidValue,
            "redis.tls",
            format!("{course} cannot connect to Redis with TLS"),
            Some("use `runtime.flavor: fnops`"),
        );
    }
    if p.runtime.handler_timeout.is_some() {
        cx.report(
            Rule::InvalidValue,
            "runtime.handlerTimeout",
            format!("{course} has no handler timeout"),
            None,
        );
    }
    if p.redis.input_key.is_empty() {
        cx.report(Rule::InvalidValue, "redis.inputKey", format!("{course} needs an input key"), None);
    }
}
