//! What the types cannot say: names Kubernetes accepts, a source inside the project, no literal
//! secrets, and the limits of the `course` runtime.

use std::path::Path;

use super::load::{FunctionSource, shown};
use super::model::{Flavor, Project, Trigger};
use crate::finding::{Finding, Sources};
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

    fn error(&mut self, rule: &'static str, path: &str, message: String, hint: Option<&str>) {
        let mut f = Finding::error(rule, self.sources, self.at(path), message);
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
        cx.error(
            "invalid-value",
            "name",
            format!("`name` `{}` {why}", p.name),
            Some("use lowercase letters, digits and `-`, at most 63 characters"),
        );
    }
    if let Some(ns) = &p.namespace
        && let Err(why) = k8s_names::dns1123_label(ns)
    {
        cx.error("invalid-value", "namespace", format!("`namespace` `{ns}` {why}"), None);
    }
    for (key, value) in &p.labels {
        if let Err(why) = k8s_names::qualified_name(key) {
            cx.error("invalid-value", &format!("labels.{key}"), format!("label key `{key}` {why}"), None);
        }
        if let Err(why) = k8s_names::label_value(value) {
            cx.error("invalid-value", &format!("labels.{key}"), format!("label value `{value}` {why}"), None);
        }
    }
    for key in p.annotations.keys() {
        if let Err(why) = k8s_names::qualified_name(key) {
            cx.error(
                "invalid-value",
                &format!("annotations.{key}"),
                format!("annotation key `{key}` {why}"),
                None,
            );
        }
    }
    if p.redis.password.is_some() {
        cx.error(
            "literal-password",
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
            cx.error("invalid-value", path, format!("`{path}` must not be empty"), None);
        }
    }
    if let Some(argo) = &p.argocd
        && argo.repo_url.trim().is_empty()
    {
        cx.error("invalid-value", "argocd.repoURL", "`argocd.repoURL` must not be empty".into(), None);
    }
    check_handler(&mut cx, p);
    if p.runtime.flavor == Flavor::Course {
        check_course(&mut cx, p);
    }
    if let Some(sample) = &p.function.input_sample
        && let Err((rule, message)) = inside_root(root, dir, sample)
    {
        cx.error(rule, "function.inputSample", message, None);
    }
    let source = resolve_source(&mut cx, p, root, dir)?;
    if matches!(source, FunctionSource::Dir { .. }) && !p.function.handler.contains('.') {
        cx.error(
            "invalid-value",
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
        cx.error(
            "invalid-value",
            "function.handler",
            format!("`{handler}` is not a Python function name or dotted path"),
            Some("write `handler` or `package.module.function`"),
        );
    }
}

fn check_course(cx: &mut Ctx<'_>, p: &Project) {
    let course = "the `course` runtime";
    if p.trigger.is_some_and(|t| t != Trigger::Poll) {
        cx.error(
            "invalid-value",
            "trigger",
            format!("{course} only polls"),
            Some("remove `trigger` or use `runtime.flavor: fnops`"),
        );
    }
    if p.period.0.subsec_millis() != 0 {
        cx.error(
            "invalid-value",
            "period",
            format!("{course} reads `INTERVAL` as whole seconds, got {}", p.period),
            None,
        );
    }
    if p.function.handler != "handler" {
        cx.error(
            "invalid-value",
            "function.handler",
            format!("{course} always calls `handler`"),
            Some("use `runtime.flavor: fnops` for another entry point"),
        );
    }
    if p.redis.password_secret.is_some() {
        cx.error(
            "invalid-value",
            "redis.passwordSecret",
            format!("{course} cannot authenticate to Redis"),
            Some("use `runtime.flavor: fnops`"),
        );
    }
    if p.redis.tls.is_some() {
        cx.error(
            "invalid-value",
            "redis.tls",
            format!("{course} cannot connect to Redis with TLS"),
            Some("use `runtime.flavor: fnops`"),
        );
    }
    if p.runtime.handler_timeout.is_some() {
        cx.error("invalid-value", "runtime.handlerTimeout", format!("{course} has no handler timeout"), None);
    }
    if p.redis.input_key.is_empty() {
        cx.error("invalid-value", "redis.inputKey", format!("{course} needs an input key"), None);
    }
}

/// Resolve `relative` under the project directory, refusing anything that lands outside the
/// canonical root (`..`, absolute paths, symlinks pointing out).
fn inside_root(
    root: &Path,
    dir: &Path,
    relative: &str,
) -> Result<std::path::PathBuf, (&'static str, String)> {
    let rel = Path::new(relative);
    if rel.is_absolute() {
        return Err((
            "source-outside-root",
            format!("`{relative}` is absolute; paths are relative to the project file"),
        ));
    }
    let joined = dir.join(rel);
    let canonical = joined.canonicalize().map_err(|_| {
        if rel.components().any(|c| matches!(c, std::path::Component::ParentDir))
            && !root.join(rel).starts_with(root)
        {
            ("source-outside-root", format!("`{relative}` is outside the project directory"))
        } else {
            ("source-missing", format!("`{}` does not exist", shown(&joined)))
        }
    })?;
    if !canonical.starts_with(root) {
        return Err(("source-outside-root", format!("`{relative}` resolves outside the project directory")));
    }
    Ok(canonical)
}

fn resolve_source(cx: &mut Ctx<'_>, p: &Project, root: &Path, dir: &Path) -> Option<FunctionSource> {
    let path = match inside_root(root, dir, &p.function.source) {
        Ok(path) => path,
        Err((rule, message)) => {
            let hint = (rule == "source-outside-root")
                .then_some("keep the function's code inside the directory of `fnops.yaml`");
            cx.error(rule, "function.source", message, hint);
            return None;
        }
    };
    if path.is_dir() {
        if p.runtime.flavor == Flavor::Course {
            cx.error(
                "invalid-value",
                "function.source",
                "the `course` runtime loads a single `.py` file, not a package".into(),
                None,
            );
            return None;
        }
        return Some(FunctionSource::Dir { path });
    }
    if path.extension().is_none_or(|e| e != "py") {
        cx.error(
            "invalid-value",
            "function.source",
            format!("`{}` is neither a `.py` file nor a directory", p.function.source),
            None,
        );
        return None;
    }
    match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(FunctionSource::File { path, text }),
            Err(_) => {
                cx.error(
                    "invalid-value",
                    "function.source",
                    format!("`{}` is not UTF-8 text", p.function.source),
                    Some("ConfigMap data must be UTF-8; save the file as UTF-8"),
                );
                None
            }
        },
        Err(e) => {
            cx.error(
                "source-missing",
                "function.source",
                format!("cannot read `{}`: {e}", p.function.source),
                None,
            );
            None
        }
    }
}
