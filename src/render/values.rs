//! The values templates see: the project with every default resolved, in template-friendly
//! shape (names as Kubernetes spells them, strings where Kubernetes wants strings).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::RenderError;
use super::package::zip_dir;
use crate::project::model::{Flavor, PullPolicy, Trigger};
use crate::project::{EnvProject, FunctionSource};

/// Image of the bundled runtime, tagged with this fnops version (never `:latest`).
pub const RUNTIME_IMAGE: &str = concat!("ghcr.io/fnops/fnops-runtime:", env!("CARGO_PKG_VERSION"));
/// The course's image.
pub const COURSE_IMAGE: &str = "lucasmsp/serverless:redis";
/// Where the fnops flavour mounts the code directory.
const CODE_DIR: &str = "/opt/function";

pub fn context(env: &EnvProject, root: &Path, source_path: &str) -> Result<Map<String, Value>, RenderError> {
    let p = &env.project;
    let course = p.runtime.flavor == Flavor::Course;

    let mut labels: BTreeMap<String, String> = p.labels.clone();
    labels.insert("app".into(), p.name.clone());
    labels.insert("app.kubernetes.io/name".into(), p.name.clone());
    labels.insert("app.kubernetes.io/managed-by".into(), "fnops".into());

    let code = match &env.source {
        FunctionSource::File { text, .. } => json!({
            "kind": "file", "key": "pyfile", "file": "usermodule.py", "text": text, "mountPath": CODE_DIR,
        }),
        FunctionSource::Dir { path } => {
            let bytes = zip_dir(path, root)?;
            json!({
                "kind": "zip", "key": "function.zip", "file": "function.zip", "mountPath": CODE_DIR,
                "zip": base64::engine::general_purpose::STANDARD.encode(bytes),
            })
        }
    };

    let image = p
        .runtime
        .image
        .clone()
        .unwrap_or_else(|| if course { COURSE_IMAGE } else { RUNTIME_IMAGE }.to_owned());
    let pull = p.runtime.image_pull_policy.unwrap_or(if course {
        PullPolicy::Always
    } else {
        PullPolicy::IfNotPresent
    });
    let trigger = p.trigger.unwrap_or(if course { Trigger::Poll } else { Trigger::Change });

    let mut resources = Map::new();
    let resolved = p.resources.resolved();
    for (name, list) in [("requests", &resolved.requests), ("limits", &resolved.limits)] {
        let mut m = Map::new();
        if let Some(cpu) = &list.cpu {
            m.insert("cpu".into(), json!(cpu.0));
        }
        if let Some(memory) = &list.memory {
            m.insert("memory".into(), json!(memory.0));
        }
        if !m.is_empty() {
            resources.insert(name.into(), Value::Object(m));
        }
    }

    let dashboard = p.dashboard.as_ref().filter(|_| !course).map(|d| {
        let service = format!("{}-dashboard", p.name);
        // Inside the cluster, unless the project says where people open it.
        let url = d.url.clone().unwrap_or_else(|| match &p.namespace {
            Some(ns) => format!("http://{service}.{ns}.svc.cluster.local:{}/", p.runtime.metrics_port),
            None => format!("http://{service}:{}/", p.runtime.metrics_port),
        });
        json!({"name": service, "type": d.service, "nodePort": d.node_port, "url": url})
    });
    let argocd =
        p.argocd.as_ref().map(|a| serde_json::to_value(a).unwrap_or(Value::Null)).unwrap_or(Value::Null);
    let ctx = json!({
        "env": env.env,
        "name": p.name,
        "namespace": p.namespace,
        "labels": labels,
        "selector": {"app": p.name},
        "annotations": p.annotations,
        "flavor": if course { "course" } else { "fnops" },
        "image": image,
        "imagePullPolicy": serde_json::to_value(pull).unwrap_or(Value::Null),
        "replicas": p.replicas,
        "resources": resources,
        "security": {"hardened": p.security_context.hardened, "runAsUser": p.security_context.run_as_user},
        "redis": {
            "host": p.redis.host,
            "port": p.redis.port,
            "inputKey": p.redis.input_key,
            "outputKey": p.redis.output_key,
            "passwordSecret": p.redis.password_secret,
            "tls": p.redis.tls,
        },
        "period": p.period.seconds_text(),
        "trigger": trigger.as_str(),
        "handler": p.function.handler,
        "handlerTimeout": p.runtime.handler_timeout.map(|t| t.seconds_text()),
        "metricsPort": p.runtime.metrics_port,
        "strictJson": p.runtime.strict_json,
        "dashboard": dashboard,
        "code": code,
        "argocd": argocd,
        "sourcePath": source_path,
    });
    match ctx {
        Value::Object(map) => Ok(map),
        _ => unreachable!("json! of an object literal is an object"),
    }
}
