//! `fnops argocd generate` driven as argocd-cmp-server drives it: a copy of the repository in a
//! temp dir, cwd = the app path, only the documented variables set, stdout parsed as a stream.

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_tree, example_project, repo};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn generate(app_path: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fnops"));
    cmd.args(["argocd", "generate"])
        .current_dir(app_path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn objects(stream: &str) -> Vec<(String, String, Option<String>)> {
    fnops::yaml::parse_stream(stream, 0, fnops::yaml::Schema::Kubernetes11)
        .expect("stdout is a YAML stream")
        .iter()
        .map(|d| {
            let j = d.to_json();
            (
                j["kind"].as_str().unwrap_or_default().to_owned(),
                j["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                j["metadata"]["namespace"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn environment_from_plugin_env_or_parameters() {
    let project = example_project();
    let by_env = generate(project.path(), &[("ARGOCD_ENV_FNOPS_ENV", "prod"), ("KUBE_VERSION", "1.31")]);
    assert_eq!(by_env.code, 0, "{}", by_env.stderr);
    let objs = objects(&by_env.stdout);
    assert_eq!(objs.len(), 4, "only the environment's objects, no Applications: {objs:?}");
    assert!(objs.iter().all(|(_, _, ns)| ns.as_deref() == Some("demo")));
    let params = r#"[{"name":"env","string":"dev"}]"#;
    let by_param = generate(project.path(), &[("ARGOCD_APP_PARAMETERS", params)]);
    assert_eq!(by_param.code, 0, "{}", by_param.stderr);
    assert!(objects(&by_param.stdout).iter().all(|(_, _, ns)| ns.as_deref() == Some("demo-dev")));
    // Announced defaults are not sent: null or unset parameters fall back to the project. With
    // several environments and none chosen, the plugin's configuration is incomplete (exit 2).
    for env in [&[("ARGOCD_APP_PARAMETERS", "null")][..], &[][..]] {
        let run = generate(project.path(), env);
        assert_eq!(run.code, 2);
        assert!(run.stdout.is_empty(), "nothing on stdout on error");
        assert!(run.stderr.contains("several environments (dev, prod)"), "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "one short line: {}", run.stderr);
    }
}

#[test]
fn a_project_with_one_environment_needs_no_parameter_and_takes_the_app_namespace() {
    let repo_copy = tempfile::tempdir().expect("tmp");
    copy_tree(&repo().join("tests/cases/ok_minimal"), &repo_copy.path().join("apps/fn"));
    let run = generate(&repo_copy.path().join("apps/fn"), &[("ARGOCD_APP_NAMESPACE", "team-x")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let objs = objects(&run.stdout);
    assert!(objs.iter().any(|(k, n, _)| k == "Deployment" && n == "serverless-redis"), "{objs:?}");
    assert!(objs.iter().all(|(_, _, ns)| ns.as_deref() == Some("team-x")), "{objs:?}");
}

#[test]
fn errors_print_nothing_on_stdout_and_one_line_with_the_location() {
    let repo_copy = tempfile::tempdir().expect("tmp");
    copy_tree(&repo().join("tests/cases/err_unknown_field"), repo_copy.path());
    let run = generate(repo_copy.path(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.trim(), "fnops: fnops.yaml:5:3: unknown field `outptKey` in `redis`");

    let project = example_project();
    std::fs::write(project.path().join("functions/metrics.py"), "def handler(input):\n    return {}\n")
        .expect("write");
    let run = generate(project.path(), &[("ARGOCD_ENV_FNOPS_ENV", "dev")]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("configmap-pyfile.yaml") && run.stderr.contains("handler-signature"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);

    // A configuration error (parameters that are not JSON) is exit 2, as for every command.
    let bad = generate(project.path(), &[("ARGOCD_APP_PARAMETERS", "{oops")]);
    assert_eq!((bad.code, bad.stdout.as_str()), (2, ""));
}

fn yaml(text: &str) -> Vec<serde_json::Value> {
    fnops::yaml::parse_stream(text, 0, fnops::yaml::Schema::Kubernetes11)
        .expect("YAML")
        .iter()
        .map(|d| d.to_json())
        .collect()
}

fn fnops_out(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fnops")).args(args).output().expect("runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The plugin's `plugin.yaml`: a stable name (`fnops-v1`), discovery by `fnops.yaml`.
fn check_plugin(plugin: &serde_json::Value) {
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "fnops");
    assert_eq!(
        plugin["spec"]["version"], "v1",
        "not the crate version: an upgrade must not rename the plugin"
    );
    assert_eq!(plugin["spec"]["discover"]["fileName"], "fnops.yaml");
    assert_eq!(plugin["spec"]["generate"]["command"], serde_json::json!(["fnops", "argocd", "generate"]));
}

fn check_sidecar(container: &serde_json::Value, config_volume: &str, key: &str) {
    assert_eq!(container["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(container["securityContext"]["runAsUser"], 999);
    assert!(
        container["resources"]["requests"]["memory"].is_string()
            && container["resources"]["limits"]["memory"].is_string()
    );
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml"))
        .expect("plugin.yaml mount");
    assert_eq!((mount["name"].as_str(), mount["subPath"].as_str()), (Some(config_volume), Some(key)));
}

#[test]
fn the_configmap_applies_alone_and_holds_the_plugin() {
    let docs = yaml(&fnops_out(&["argocd", "plugin"]));
    assert_eq!(docs.len(), 1, "one object: `kubectl apply -f` of it works");
    assert_eq!(
        (docs[0]["kind"].as_str(), docs[0]["metadata"]["namespace"].as_str()),
        (Some("ConfigMap"), Some("argocd"))
    );
    check_plugin(&yaml(docs[0]["data"]["plugin.yaml"].as_str().expect("plugin.yaml"))[0]);
    check_plugin(&yaml(&fnops_out(&["argocd", "plugin", "--config"]))[0]);
}

/// The Kustomize component builds with kustomize into an installation (a stand-in
/// argocd-repo-server as Argo CD's install.yaml has it), and the result validates.
#[test]
fn the_kustomize_component_builds_into_an_installation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["argocd", "plugin", "--format", "kustomize", "--out"])
        .arg(tmp.path().join("fnops"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::create_dir(tmp.path().join("argocd")).expect("mkdir");
    std::fs::write(
        tmp.path().join("argocd/install.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}\n  template:\n    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}\n    spec:\n      containers:\n        - name: argocd-repo-server\n          image: quay.io/argoproj/argocd:v3.2.0\n          volumeMounts:\n            - {name: var-files, mountPath: /var/run/argocd}\n            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}\n      volumes:\n        - {name: var-files, emptyDir: {}}\n        - {name: plugins, emptyDir: {}}\n",
    )
    .expect("write");
    std::fs::write(
        tmp.path().join("argocd/kustomization.yaml"),
        "namespace: argocd\nresources:\n  - install.yaml\ncomponents:\n  - ../fnops\n",
    )
    .expect("write");
    // kustomize itself (scripts/install-test-deps installs it from npm), else kubectl's.
    let built =
        Command::new("kustomize").args(["build", "argocd"]).current_dir(tmp.path()).output().or_else(|_| {
            Command::new("kubectl").args(["kustomize", "argocd"]).current_dir(tmp.path()).output()
        });
    let Ok(built) = built else {
        assert!(std::env::var_os("FNOPS_REQUIRE_CONSUMERS").is_none(), "kustomize is required here");
        eprintln!("skipping: neither kustomize nor kubectl");
        return;
    };
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let text = String::from_utf8_lossy(&built.stdout).into_owned();
    let docs = yaml(&text);
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2, "the repo-server and the sidecar: {text}");
    check_sidecar(
        containers.iter().find(|c| c["name"] == "fnops").expect("the sidecar"),
        "fnops-cmp-plugin",
        "plugin.yaml",
    );
    let mut volumes: Vec<&str> = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    volumes.sort_unstable();
    assert_eq!(volumes, ["fnops-cmp-plugin", "fnops-tmp", "plugins", "var-files"]);
    let configmap = docs.iter().find(|d| d["kind"] == "ConfigMap").expect("ConfigMap");
    check_plugin(&yaml(configmap["data"]["plugin.yaml"].as_str().expect("plugin.yaml"))[0]);
    // What kustomize built is valid Kubernetes (the sidecar carries resources, so no warning
    // about it either).
    std::fs::write(tmp.path().join("built.yaml"), &text).expect("write");
    let check = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args([
            "validate",
            "built.yaml",
            "--format",
            "json",
            "--ignore",
            "probe-missing",
            "--ignore",
            "security-context",
            "--ignore",
            "resources-missing",
        ])
        .current_dir(tmp.path())
        .output()
        .expect("runs");
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&check.stdout).expect("JSON");
    assert!(findings.iter().all(|f| f["severity"] != "error"), "{findings:#?}");
    let sidecar_warnings: Vec<&serde_json::Value> =
        findings.iter().filter(|f| f["message"].as_str().is_some_and(|m| m.contains("`fnops`"))).collect();
    assert!(sidecar_warnings.is_empty(), "{sidecar_warnings:#?}");
}

/// The argo-helm values: the chart turns `configs.cmp.plugins.<name>` into key `<name>.yaml` of
/// `argocd-cmp-cm` (a ConfigManagementPlugin named `<name>` with that spec) and appends
/// `repoServer.extraContainers` and `repoServer.volumes`.
#[test]
fn the_helm_values_carry_the_plugin_and_the_sidecar() {
    let values = &yaml(&fnops_out(&["argocd", "plugin", "--format", "helm-values"]))[0];
    assert_eq!(values["configs"]["cmp"]["create"], true);
    let spec = &values["configs"]["cmp"]["plugins"]["fnops"];
    let as_the_chart_writes_it = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin",
        "metadata": {"name": "fnops"}, "spec": spec,
    });
    check_plugin(&as_the_chart_writes_it);
    assert_eq!(
        as_the_chart_writes_it,
        yaml(&fnops_out(&["argocd", "plugin", "--config"]))[0],
        "the same plugin either way"
    );
    check_sidecar(&values["repoServer"]["extraContainers"][0], "argocd-cmp-cm", "fnops.yaml");
    let volumes: Vec<&str> = values["repoServer"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(volumes, ["argocd-cmp-cm", "fnops-tmp"]);
}
