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

#[test]
fn plugin_manifests_parse_and_name_the_generate_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_fnops")).args(["argocd", "plugin"]).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Kubernetes11).expect("YAML");
    assert_eq!(docs.len(), 2);
    let plugin_yaml = docs[0]
        .get("data")
        .and_then(|d| d.get("plugin.yaml"))
        .and_then(fnops::yaml::Node::as_str)
        .expect("plugin.yaml");
    let plugin = fnops::yaml::parse_stream(plugin_yaml, 0, fnops::yaml::Schema::Kubernetes11)
        .expect("plugin.yaml parses");
    let plugin = plugin[0].to_json();
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["spec"]["discover"]["fileName"], "fnops.yaml");
    assert_eq!(plugin["spec"]["generate"]["command"], serde_json::json!(["fnops", "argocd", "generate"]));
    let sidecar = docs[1].to_json();
    let container = &sidecar["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(container["securityContext"]["runAsUser"], 999);
}
