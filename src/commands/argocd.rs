//! `fnops argocd generate` (the Config Management Plugin's generate command) and
//! `fnops argocd plugin` (what an operator installs).
//!
//! Generate runs with cwd = the Application's source path. Stdout carries the Kubernetes
//! objects and nothing else; on any error it stays empty (an empty stream would make ArgoCD
//! prune the app) and stderr gets one short line naming the file and line.

use std::path::Path;

use super::{CommandError, ExitStatus, write_stdout};
use crate::cli::{ArgocdCommand, PluginFormat};
use crate::finding::Severity;
use crate::pipeline::{self, PipelineError};
use crate::project::{DEFAULT_ENV, load};
use crate::validate::SchemaSet;

pub(crate) fn run(command: &ArgocdCommand) -> Result<(), CommandError> {
    match command {
        ArgocdCommand::Generate => generate(),
        ArgocdCommand::Plugin { config: true, .. } => plugin(PluginFormat::Config, None),
        ArgocdCommand::Plugin { config: false, format, out } => plugin(*format, out.as_deref()),
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

/// The plugin's version, part of its name (`fnops-v1`): stable across fnops releases, so
/// Applications that name the plugin keep working after an upgrade. It changes only when the
/// plugin's interface (its parameters, its environment) does.
pub(crate) const PLUGIN_VERSION: &str = "v1";

/// The `spec` of the ConfigManagementPlugin, unindented.
fn plugin_spec() -> String {
    format!(
        r#"version: {PLUGIN_VERSION}
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

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| if l.is_empty() { "\n".to_owned() } else { format!("{pad}{l}\n") }).collect()
}

/// The plugin's `plugin.yaml`: what argocd-cmp-server reads.
pub(crate) fn plugin_config() -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: fnops\nspec:\n{}",
        indent(&plugin_spec(), 2)
    )
}

/// The sidecar container, unindented: the CLI image running argocd-cmp-server, with
/// `plugin.yaml` from `config_volume` (key `config_key`).
fn sidecar(config_volume: &str, config_key: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"- name: fnops
  image: ghcr.io/fnops/fnops:{version}
  command: [/var/run/argocd/argocd-cmp-server]
  securityContext:
    runAsNonRoot: true
    runAsUser: 999
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: [ALL]
  # A render takes milliseconds and a few MiB.
  resources:
    requests: {{cpu: 10m, memory: 32Mi}}
    limits: {{cpu: 500m, memory: 256Mi}}
  volumeMounts:
    - name: var-files
      mountPath: /var/run/argocd
    - name: plugins
      mountPath: /home/argocd/cmp-server/plugins
    - name: {config_volume}
      mountPath: /home/argocd/cmp-server/config/plugin.yaml
      subPath: {config_key}
    - name: fnops-tmp
      mountPath: /tmp
"#
    )
}

/// The ConfigMap holding `plugin.yaml`, for `kubectl apply` and the kustomize component.
pub(crate) fn plugin_configmap() -> String {
    format!(
        "# fnops's Config Management Plugin (`plugin.yaml`), mounted into the sidecar.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fnops-cmp-plugin\n  namespace: argocd\ndata:\n  plugin.yaml: |\n{}",
        indent(&plugin_config(), 4)
    )
}

/// A strategic-merge patch of argocd-repo-server adding the sidecar.
fn repo_server_patch() -> String {
    format!(
        "# The fnops sidecar of argocd-repo-server (a strategic merge patch).\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n  template:\n    spec:\n      containers:\n{}      volumes:\n        - name: fnops-cmp-plugin\n          configMap:\n            name: fnops-cmp-plugin\n        - name: fnops-tmp\n          emptyDir: {{}}\n",
        indent(&sidecar("fnops-cmp-plugin", "plugin.yaml"), 8)
    )
}

/// A Kustomize component: add it to an Argo CD installation's kustomization with
/// `components: [path/to/it]`.
fn component() -> &'static str {
    "# fnops for an Argo CD installed with Kustomize: add this directory to the installation's\n# kustomization as `components: [<this directory>]`.\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - fnops-cmp-plugin.yaml\npatches:\n  - path: fnops-repo-server-patch.yaml\n"
}

/// Values for the argo-helm `argo-cd` chart: the chart writes `configs.cmp.plugins` into its
/// `argocd-cmp-cm` ConfigMap (one key `<name>.yaml` per plugin) and adds
/// `repoServer.extraContainers` and `repoServer.volumes` to argocd-repo-server.
pub(crate) fn helm_values() -> String {
    format!(
        "# fnops for an Argo CD installed with the argo-helm chart:\n#   helm upgrade --install argocd argo/argo-cd -n argocd -f fnops-values.yaml\nconfigs:\n  cmp:\n    create: true\n    plugins:\n      fnops:\n{}repoServer:\n  extraContainers:\n{}  volumes:\n    - name: argocd-cmp-cm\n      configMap:\n        name: argocd-cmp-cm\n    - name: fnops-tmp\n      emptyDir: {{}}\n",
        indent(&plugin_spec(), 8),
        indent(&sidecar("argocd-cmp-cm", "fnops.yaml"), 4)
    )
}

/// The files of `--format kustomize`: (name, text).
pub(crate) fn kustomize_files() -> Vec<(&'static str, String)> {
    vec![
        ("kustomization.yaml", component().to_owned()),
        ("fnops-cmp-plugin.yaml", plugin_configmap()),
        ("fnops-repo-server-patch.yaml", repo_server_patch()),
    ]
}

/// `fnops argocd plugin`: what each install path applies as is.
fn plugin(format: PluginFormat, out: Option<&Path>) -> Result<(), CommandError> {
    match (format, out) {
        (PluginFormat::Config, None) => write_stdout(&plugin_config()),
        (PluginFormat::Configmap, None) => write_stdout(&plugin_configmap()),
        (PluginFormat::HelmValues, None) => write_stdout(&helm_values()),
        (PluginFormat::Kustomize, Some(dir)) => {
            let files = kustomize_files();
            crate::write::write_files(dir, &files).map_err(CommandError::fatal)?;
            eprintln!(
                "wrote a Kustomize component to `{}`: add it to the Argo CD installation's kustomization as `components: [{}]`",
                crate::paths::display(dir),
                crate::paths::display(dir)
            );
            Ok(())
        }
        (PluginFormat::Kustomize, None) => {
            Err(CommandError::fatal("`--format kustomize` writes a directory: give it `--out DIR`"))
        }
        (_, Some(_)) => {
            Err(CommandError::fatal("`--out` goes with `--format kustomize`; the other formats print"))
        }
    }
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
