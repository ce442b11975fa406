//! The environment the rendered Deployment gives its container (literal `env`, `envFrom` and
//! `configMapKeyRef` ConfigMaps of the same render), adapted to the laptop: Redis is the dev one,
//! the code is the project's own file (or a ZIP of its package), the HTTP port is a free
//! loopback one. `tests/runtime_contract.rs` checks the same mapping against the runtime's
//! settings parser.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::render::RenderedFile;
use crate::yaml::Node;

/// What `fnops dev` starts the runtime with, and what it needs to know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEnv {
    pub vars: BTreeMap<String, String>,
    pub input_key: String,
    pub output_key: Option<String>,
    pub period: Duration,
}

/// Settings the dev loop owns: the cluster's values of these mean nothing on a laptop.
const REPLACED: &[&str] = &[
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_URL",
    "REDIS_USERNAME",
    "REDIS_PASSWORD",
    "REDIS_TLS",
    "REDIS_TLS_CA_FILE",
    "REDIS_TLS_CERT_FILE",
    "REDIS_TLS_KEY_FILE",
    "PYFILE_PATH",
    "ZIP_PATH",
    "ZIP_URL",
    "METRICS_PORT",
    "METRICS_ADDR",
    "NEW_REQUERIMENTS",
];

fn configmap_data<'a>(files: &'a [RenderedFile], env: &str, name: &str) -> Option<&'a Node> {
    files
        .iter()
        .filter(|f| f.env == env)
        .map(|f| &f.object)
        .find(|o| {
            o.get("kind").and_then(Node::as_str) == Some("ConfigMap")
                && o.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str) == Some(name)
        })?
        .get("data")
}

/// The runtime's environment for environment `env` of a render. `code` is the file the runtime
/// loads (the project's module, or the ZIP of its package).
pub fn runtime_env(
    files: &[RenderedFile],
    env: &str,
    code: (&Path, bool),
    redis_url: &str,
    metrics_port: u16,
) -> Result<RuntimeEnv, String> {
    let deployment = files
        .iter()
        .filter(|f| f.env == env)
        .map(|f| &f.object)
        .find(|o| o.get("kind").and_then(Node::as_str) == Some("Deployment"))
        .ok_or_else(|| format!("the render of `{env}` holds no Deployment"))?;
    let container = deployment
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(|c| match &c.value {
            crate::yaml::Value::Seq(items) => items.first(),
            _ => None,
        })
        .ok_or_else(|| "the Deployment has no container".to_owned())?;
    let mut vars = BTreeMap::new();
    let items = |n: Option<&Node>| match n.map(|n| &n.value) {
        Some(crate::yaml::Value::Seq(items)) => items.clone(),
        _ => Vec::new(),
    };
    for from in items(container.get("envFrom")) {
        let Some(name) = from.get("configMapRef").and_then(|r| r.get("name")).and_then(Node::as_str) else {
            continue;
        };
        if let Some(crate::yaml::Value::Map(entries)) = configmap_data(files, env, name).map(|d| &d.value) {
            for (k, v) in entries {
                if let Some(v) = v.as_str() {
                    vars.insert(k.name.clone(), v.to_owned());
                }
            }
        }
    }
    for var in items(container.get("env")) {
        let Some(name) = var.get("name").and_then(Node::as_str) else { continue };
        if let Some(value) = var.get("value").and_then(Node::as_str) {
            vars.insert(name.to_owned(), value.to_owned());
        } else if let Some(r) = var.get("valueFrom").and_then(|v| v.get("configMapKeyRef")) {
            let (Some(cm), Some(key)) =
                (r.get("name").and_then(Node::as_str), r.get("key").and_then(Node::as_str))
            else {
                continue;
            };
            if let Some(value) =
                configmap_data(files, env, cm).and_then(|d| d.get(key)).and_then(Node::as_str)
            {
                vars.insert(name.to_owned(), value.to_owned());
            }
        }
        // Secrets stay in the cluster: the dev Redis needs no password.
    }
    let input_key = vars.get("REDIS_INPUT_KEY").cloned().unwrap_or_else(|| "metrics".into());
    let output_key = vars.get("REDIS_OUTPUT_KEY").cloned();
    let period = vars
        .get("MONITORING_PERIOD")
        .or_else(|| vars.get("INTERVAL"))
        .and_then(|p| p.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite() && *p >= 0.0)
        .map_or(Duration::from_secs(5), Duration::from_secs_f64);
    for key in REPLACED {
        vars.remove(*key);
    }
    vars.insert("REDIS_URL".into(), redis_url.to_owned());
    let (path, zip) = code;
    vars.insert(if zip { "ZIP_PATH" } else { "PYFILE_PATH" }.into(), path.display().to_string());
    vars.insert("METRICS_PORT".into(), metrics_port.to_string());
    vars.insert("METRICS_ADDR".into(), "127.0.0.1".into());
    vars.insert("LOG_FORMAT".into(), "text".into());
    Ok(RuntimeEnv { vars, input_key, output_key, period })
}
