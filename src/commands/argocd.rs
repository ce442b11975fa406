//! `fnops argocd generate` (the Config Management Plugin's generate command) and
//! `fnops argocd plugin` (what an operator installs).
//!
//! Generate runs with cwd = the Application's source path. Stdout carries the Kubernetes
//! objects and nothing else; on any error it stays empty (an empty stream would make ArgoCD
//! prune the app) and stderr gets one short line naming the file and line.

use std::path::Path;

use super::{CommandError, ExitStatus, write_stdout};
use crate::cli::ArgocdCommand;
use crate::finding::Severity;
use crate::pipeline::{self, PipelineError};
use crate::project::{DEFAULT_ENV, load};
use crate::validate::SchemaSet;

pub(crate) fn run(command: &ArgocdCommand) -> Result<(), CommandError> {
    match command {
        ArgocdCommand::Generate => generate(),
        ArgocdCommand::Plugin { config: false } => write_stdout(&plugin_manifests()),
        ArgocdCommand::Plugin { config: true } => write_stdout(&plugin_config()),
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

/// One short line on stderr, which ArgoCD shows in its UI; stdout stays empty (an empty stream
/// would make ArgoCD prune the app). `status`: 1 for an invalid project or render, 2 for
/// configuration, I/O and internal errors.
fn one_line(status: ExitStatus, message: impl std::fmt::Display) -> CommandError {
    eprintln!("fnops: {message}");
    CommandError::silent(status)
}

/// A finding of the project file, as one line.
fn at(f: &crate::finding::Finding) -> String {
    format!("{}:{}:{}: {}", f.file, f.line, f.column, f.message)
}

/// A finding of a rendered object, as one line with its rule.
fn located(f: &crate::finding::Finding) -> String {
    format!("{} ({})", at(f), f.rule)
}

fn generate() -> Result<(), CommandError> {
    let var = |k: &str| std::env::var(k).ok();
    let dir = Path::new(".");
    let env = requested_env(&var).map_err(|e| one_line(ExitStatus::Error, e))?;
    let env = match env {
        Some(env) => env,
        // The project's default: its only environment (or the base when it has none).
        None => match load(dir, None) {
            Ok(loaded) if loaded.envs.len() == 1 => loaded.envs[0].env.clone(),
            Ok(loaded) if loaded.envs.is_empty() && loaded.findings.is_empty() => DEFAULT_ENV.to_owned(),
            Ok(loaded) if !loaded.findings.is_empty() => {
                return Err(one_line(ExitStatus::Failure, at(&loaded.findings[0])));
            }
            Ok(loaded) => {
                let names: Vec<&str> = loaded.envs.iter().map(|e| e.env.as_str()).collect();
                return Err(one_line(
                    ExitStatus::Error,
                    format_args!(
                        "the project has several environments ({}): set the plugin env `FNOPS_ENV` or the `env` parameter",
                        names.join(", ")
                    ),
                ));
            }
            Err(e) => return Err(one_line(ExitStatus::Error, e)),
        },
    };
    let version = crate::validate::schema::resolve_version(var("KUBE_VERSION").as_deref())
        .map_err(|e| one_line(ExitStatus::Error, format_args!("`KUBE_VERSION`: {e}")))?;
    for note in &version.notes {
        eprintln!("fnops: warning: {note}");
    }
    let schemas = SchemaSet::new(version.bundled);
    let namespace = var("ARGOCD_APP_NAMESPACE").filter(|n| !n.trim().is_empty());
    let request = pipeline::Request {
        project_dir: dir,
        env: Some(&env),
        out: None,
        templates: None,
        schemas: &schemas,
        default_namespace: namespace.as_deref(),
    };
    let built = match pipeline::build(&request) {
        Ok(built) => built,
        Err(PipelineError::Invalid { findings, .. }) => {
            let first = findings.iter().find(|f| f.severity == Severity::Error).map(at);
            return Err(one_line(
                ExitStatus::Failure,
                first.unwrap_or_else(|| "the project is invalid".into()),
            ));
        }
        Err(e @ PipelineError::Render(_)) => return Err(one_line(ExitStatus::Failure, e)),
        Err(e) => return Err(one_line(ExitStatus::Error, e)),
    };
    if let Some(f) = built.findings.iter().find(|f| f.severity == Severity::Error) {
        return Err(one_line(ExitStatus::Failure, located(f)));
    }
    for f in &built.findings {
        eprintln!("fnops: warning: {}", located(f));
    }
    let objects: Vec<&crate::render::RenderedFile> =
        built.files.iter().filter(|f| f.env == env && !f.path.starts_with("argocd/")).collect();
    if objects.is_empty() {
        return Err(one_line(
            ExitStatus::Failure,
            "the render produced no objects; refusing to print an empty stream",
        ));
    }
    let mut stream = String::new();
    for f in objects {
        stream.push_str("---\n");
        stream.push_str(f.body());
    }
    write_stdout(&stream).map_err(|e| match e.message {
        Some(m) => one_line(ExitStatus::Error, m),
        None => e,
    })
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
