//! `fnops argocd generate` (the Config Management Plugin's generate command) and
//! `fnops argocd plugin` (what an operator installs).
//!
//! Generate runs with cwd = the Application's source path. Stdout carries the Kubernetes
//! objects and nothing else; on any error it stays empty (an empty stream would make ArgoCD
//! prune the app) and stderr gets one short line naming the file and line.

use std::path::Path;

use super::{ExitStatus, build_project, print_stdout};
use crate::cli::ArgocdCommand;
use crate::finding::Severity;
use crate::project::{DEFAULT_ENV, load};
use crate::validate::SchemaSet;

pub(crate) fn run(command: &ArgocdCommand) -> ExitStatus {
    match command {
        ArgocdCommand::Generate => generate(),
        ArgocdCommand::Plugin { config: false } => {
            print_stdout(&plugin_manifests());
            ExitStatus::Success
        }
        ArgocdCommand::Plugin { config: true } => {
            print_stdout(&plugin_config());
            ExitStatus::Success
        }
    }
}

/// The environment: `ARGOCD_ENV_FNOPS_ENV`, else an `env` parameter, else the only one.
fn requested_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    if let Some(env) = var("ARGOCD_ENV_FNOPS_ENV").filter(|e| !e.trim().is_empty()) {
        return Ok(Some(env.trim().to_owned()));
    }
    let Some(raw) = var("ARGOCD_APP_PARAMETERS").filter(|p| !p.trim().is_empty() && p.trim() != "null")
    else {
        return Ok(None);
    };
    let params: serde_json::Value =
        serde_json::from_str(&raw).map_err(|e| format!("`ARGOCD_APP_PARAMETERS` is not JSON: {e}"))?;
    Ok(params
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "env")
        .and_then(|p| p["string"].as_str())
        .map(str::to_owned))
}

fn one_line_error(message: impl std::fmt::Display) -> ExitStatus {
    eprintln!("fnops: {message}");
    ExitStatus::Failure
}

fn generate() -> ExitStatus {
    let var = |k: &str| std::env::var(k).ok();
    let dir = Path::new(".");
    let env = match requested_env(&var) {
        Ok(env) => env,
        Err(e) => return one_line_error(e),
    };
    let env = match env {
        Some(env) => env,
        // The project's default: its only environment (or the base when it has none).
        None => match load(dir, None) {
            Ok(loaded) if loaded.envs.len() == 1 => loaded.envs[0].env.clone(),
            Ok(loaded) if loaded.envs.is_empty() && loaded.findings.is_empty() => DEFAULT_ENV.to_owned(),
            Ok(loaded) if !loaded.findings.is_empty() => {
                let f = &loaded.findings[0];
                return one_line_error(format_args!("{}:{}:{}: {}", f.file, f.line, f.column, f.message));
            }
            Ok(loaded) => {
                let names: Vec<&str> = loaded.envs.iter().map(|e| e.env.as_str()).collect();
                return one_line_error(format_args!(
                    "the project has several environments ({}): set the plugin env `FNOPS_ENV` or the `env` parameter",
                    names.join(", ")
                ));
            }
            Err(e) => return one_line_error(e),
        },
    };
    let version = match crate::validate::schema::resolve_version(var("KUBE_VERSION").as_deref()) {
        Ok(v) => v,
        Err(e) => return one_line_error(format_args!("`KUBE_VERSION`: {e}")),
    };
    let schemas = SchemaSet::new(version, Vec::new());
    let namespace = var("ARGOCD_APP_NAMESPACE").filter(|n| !n.trim().is_empty());
    let built = match build_project(dir, Some(&env), None, None, &schemas, namespace.as_deref()) {
        Ok(built) => built,
        Err((_, _, findings)) => {
            return match findings.iter().find(|f| f.severity == Severity::Error) {
                Some(f) => one_line_error(format_args!("{}:{}:{}: {}", f.file, f.line, f.column, f.message)),
                None => ExitStatus::Failure,
            };
        }
    };
    if let Some(f) = built.findings.iter().find(|f| f.severity == Severity::Error) {
        return one_line_error(format_args!(
            "{}:{}:{}: {} ({})",
            f.file, f.line, f.column, f.message, f.rule
        ));
    }
    for f in &built.findings {
        eprintln!("fnops: warning: {}:{}:{}: {} ({})", f.file, f.line, f.column, f.message, f.rule);
    }
    let objects: Vec<&crate::render::RenderedFile> =
        built.files.iter().filter(|f| f.env == env && !f.path.starts_with("argocd/")).collect();
    if objects.is_empty() {
        return one_line_error("the render produced no objects; refusing to print an empty stream");
    }
    let mut stream = String::new();
    for f in objects {
        stream.push_str("---\n");
        stream.push_str(f.body());
    }
    print_stdout(&stream);
    ExitStatus::Success
}

/// The plugin's `plugin.yaml`: what argocd-cmp-server reads.
pub(crate) fn plugin_config() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: ConfigManagementPlugin
metadata:
  name: fnops
spec:
  version: v{version}
  discover:
    fileName: fnops.yaml
  generate:
    command: [fnops, argocd, generate]
  parameters:
    static:
      - name: env
        title: Environment (environments/<env>.yaml)
        tooltip: Default, the project's only environment
        string: ""
  preserveFileMode: false
"#
    )
}

/// `plugin.yaml` (in a ConfigMap) and the argocd-repo-server sidecar patch.
pub(crate) fn plugin_manifests() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let config: String = plugin_config().lines().map(|l| format!("    {l}\n")).collect();
    format!(
        r#"# plugin.yaml: mount it at /home/argocd/cmp-server/config/plugin.yaml in the sidecar
# (from the ConfigMap below, with subPath), or bake it into an image.
apiVersion: v1
kind: ConfigMap
metadata:
  name: fnops-cmp-plugin
  namespace: argocd
data:
  plugin.yaml: |
{config}---
# Patch for the argocd-repo-server Deployment: the plugin sidecar. Apply it with
#   kubectl -n argocd patch deployment argocd-repo-server --patch-file fnops-sidecar.yaml
spec:
  template:
    spec:
      containers:
        - name: fnops
          image: ghcr.io/fnops/fnops:{version}
          command: [/var/run/argocd/argocd-cmp-server]
          securityContext:
            runAsNonRoot: true
            runAsUser: 999
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: var-files
              mountPath: /var/run/argocd
            - name: plugins
              mountPath: /home/argocd/cmp-server/plugins
            - name: fnops-cmp-plugin
              mountPath: /home/argocd/cmp-server/config/plugin.yaml
              subPath: plugin.yaml
            - name: fnops-tmp
              mountPath: /tmp
      volumes:
        - name: fnops-cmp-plugin
          configMap:
            name: fnops-cmp-plugin
        - name: fnops-tmp
          emptyDir: {{}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_sources_in_order() {
        let vars = |pairs: &'static [(&str, &str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(requested_env(&vars(&[("ARGOCD_ENV_FNOPS_ENV", "prod")])), Ok(Some("prod".into())));
        let params = r#"[{"name":"env","string":"dev"},{"name":"other","string":"x"}]"#;
        assert_eq!(
            requested_env(&move |k: &str| (k == "ARGOCD_APP_PARAMETERS").then(|| params.to_owned())),
            Ok(Some("dev".into()))
        );
        assert_eq!(requested_env(&vars(&[("ARGOCD_APP_PARAMETERS", "null")])), Ok(None));
        assert_eq!(requested_env(&vars(&[])), Ok(None));
        assert!(requested_env(&vars(&[("ARGOCD_APP_PARAMETERS", "{not json")])).is_err());
    }
}
