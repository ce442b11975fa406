//! `fnops render` driven as users drive it: the real binary, real files, exit codes asserted.

mod common;

use clap::CommandFactory as _;
use common::{example_project, fnops, fnops_env, repo, snapshot_tree};

#[test]
fn cli_definition_is_consistent() {
    fnops::cli::Cli::command().debug_assert();
}

#[test]
fn exit_codes_follow_the_contract() {
    let tmp = example_project();
    let dir = tmp.path();
    assert_eq!(fnops(dir, &["--version"]).code, 0);
    let help = fnops(dir, &["render", "--help"]);
    assert_eq!(help.code, 0);
    let usage = fnops(dir, &["render", "--no-such-flag"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    let missing = fnops(dir, &["render", "nowhere"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no `fnops.yaml` in `nowhere`"), "{}", missing.stderr);
    let unknown_env = fnops(dir, &["render", "--env", "staging"]);
    assert_eq!(unknown_env.code, 2);
    assert!(unknown_env.stderr.contains("available: dev, prod"), "{}", unknown_env.stderr);
    assert_eq!(fnops(dir, &["render"]).code, 0);
    std::fs::write(dir.join("environments/dev.yaml"), "replicas: lots\n").expect("write");
    let invalid = fnops(dir, &["render"]);
    assert_eq!(invalid.code, 1, "{}", invalid.stderr);
    assert!(invalid.stderr.contains("environments/dev.yaml:1:11"), "{}", invalid.stderr);
}

#[test]
fn render_then_check_round_trip() {
    let tmp = example_project();
    let dir = tmp.path();
    let first = fnops(dir, &["render"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("10 written"), "{}", first.stderr);
    let again = fnops(dir, &["render"]);
    assert!(again.stderr.contains("0 written, 0 removed, 10 unchanged"), "{}", again.stderr);
    assert_eq!(fnops(dir, &["render", "--check"]).code, 0);

    // A hand edit makes the tree stale: --check shows a unified diff and exits 1.
    let cm = dir.join("deploy/dev/configmap-outputkey.yaml");
    let text = std::fs::read_to_string(&cm).expect("read");
    std::fs::write(&cm, text.replace("demo-dev-proj3-output", "edited-by-hand")).expect("write");
    let check = fnops(dir, &["render", "--check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("--- a/deploy/dev/configmap-outputkey.yaml"), "{}", check.stdout);
    assert!(check.stdout.contains("-  REDIS_OUTPUT_KEY: edited-by-hand"), "{}", check.stdout);
    assert!(check.stdout.contains("+  REDIS_OUTPUT_KEY: demo-dev-proj3-output"), "{}", check.stdout);
    assert!(check.stderr.contains("run `fnops render`"), "{}", check.stderr);

    // A source change is stale too, and re-rendering fixes both.
    std::fs::write(dir.join("functions/metrics.py"), "def handler(i, c):\n    return {}\n").expect("write");
    let stale = fnops(dir, &["render", "--check"]);
    assert_eq!(stale.code, 1);
    assert!(stale.stdout.contains("+    def handler(i, c):"), "{}", stale.stdout);
    assert_eq!(fnops(dir, &["render"]).code, 0);
    assert_eq!(fnops(dir, &["render", "--check"]).code, 0);
}

#[test]
fn rendering_is_deterministic() {
    let a = example_project();
    let b = example_project();
    assert_eq!(fnops(a.path(), &["render"]).code, 0);
    assert_eq!(fnops(b.path(), &["render", "--out", "deploy"]).code, 0);
    let (ta, tb) = (snapshot_tree(&a.path().join("deploy")), snapshot_tree(&b.path().join("deploy")));
    assert_eq!(ta.len(), 10);
    assert_eq!(ta, tb);
    // Rendering again in place changes no byte.
    assert_eq!(fnops(a.path(), &["render"]).code, 0);
    assert_eq!(snapshot_tree(&a.path().join("deploy")), ta);
}

#[test]
fn a_failing_render_leaves_the_previous_tree_intact() {
    let tmp = example_project();
    let dir = tmp.path();
    assert_eq!(fnops(dir, &["render"]).code, 0);
    let before = snapshot_tree(&dir.join("deploy"));

    // An invalid project writes nothing.
    std::fs::write(dir.join("functions/metrics.py"), "def handler(i, c):\n    return {'changed': 1}\n")
        .expect("write");
    std::fs::write(dir.join("environments/prod.yaml"), "redis: {port: 99999}\n").expect("write");
    assert_eq!(fnops(dir, &["render"]).code, 1);
    assert_eq!(snapshot_tree(&dir.join("deploy")), before);

    // A write failing half-way through staging changes nothing and leaves no staging behind.
    std::fs::write(dir.join("environments/prod.yaml"), "namespace: demo\n").expect("write");
    let failed = fnops_env(dir, &["render"], &[("FNOPS_FAULT_WRITE", "3")]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(failed.stderr.contains("injected fault"), "{}", failed.stderr);
    assert_eq!(snapshot_tree(&dir.join("deploy")), before);

    // Killed between two directory swaps: every directory is wholly old or wholly new.
    let killed = fnops_env(dir, &["render"], &[("FNOPS_FAULT_ABORT", "1")]);
    assert_ne!(killed.code, 0);
    let after = snapshot_tree(&dir.join("deploy"));
    for sub in ["argocd/", "dev/", "prod/"] {
        let old: Vec<_> = before.iter().filter(|(p, _)| p.starts_with(sub)).collect();
        let now: Vec<_> = after.iter().filter(|(p, _)| p.starts_with(sub) && !p.starts_with('.')).collect();
        let fresh = fnops(dir, &["render", "--stdout"]);
        let whole_new = now.iter().all(|(_, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            fresh.stdout.contains(text.split_once('\n').map_or("", |(_, body)| body))
        });
        assert!(now == old || whole_new, "{sub} is a mix of old and new files");
    }
    // The next render repairs the tree and removes the dead run's staging directory.
    assert_eq!(fnops(dir, &["render"]).code, 0);
    assert_eq!(fnops(dir, &["render", "--check"]).code, 0);
    assert!(snapshot_tree(&dir.join("deploy")).iter().all(|(p, _)| !p.starts_with(".fnops-staging")));
}

#[test]
fn only_owned_files_are_replaced_or_removed() {
    let tmp = example_project();
    let dir = tmp.path();
    assert_eq!(fnops(dir, &["render"]).code, 0);
    // A file the user keeps in the app directory, and one fnops owned but no longer renders.
    std::fs::write(dir.join("deploy/dev/sealed-secret.yaml"), "kind: SealedSecret\n").expect("write");
    std::fs::write(dir.join("deploy/notes.md"), "mine\n").expect("write");
    std::fs::write(
        dir.join("deploy/dev/configmap-old.yaml"),
        "# Generated by fnops from fnops.yaml (environment `dev`): old\nkind: ConfigMap\n",
    )
    .expect("write");
    let out = fnops(dir, &["render"]);
    assert!(out.stderr.contains("1 removed"), "{}", out.stderr);
    assert!(!dir.join("deploy/dev/configmap-old.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/dev/sealed-secret.yaml")).expect("kept"),
        "kind: SealedSecret\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("deploy/notes.md")).expect("kept"), "mine\n");

    // `--env dev` leaves the other environment's files alone, even stale ones.
    std::fs::write(
        dir.join("deploy/prod/configmap-pyfile.yaml"),
        "# Generated by fnops from fnops.yaml (environment `prod`)\n",
    )
    .expect("write");
    assert_eq!(fnops(dir, &["render", "--env", "dev"]).code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/prod/configmap-pyfile.yaml")).expect("read"),
        "# Generated by fnops from fnops.yaml (environment `prod`)\n"
    );
    assert_eq!(fnops(dir, &["render", "--env", "dev", "--check"]).code, 0);
    assert_eq!(fnops(dir, &["render", "--check"]).code, 1);

    // A removed environment's directory goes away with its files.
    std::fs::remove_file(dir.join("environments/prod.yaml")).expect("rm");
    assert_eq!(fnops(dir, &["render"]).code, 0);
    assert!(!dir.join("deploy/prod").exists());
    assert!(!dir.join("deploy/argocd/serverless-redis-prod.yaml").exists());
}

#[test]
fn the_output_directory_is_never_the_project_or_a_parent() {
    let tmp = example_project();
    for out in [".", "..", "../.."] {
        let res = fnops(tmp.path(), &["render", "--out", out]);
        assert_eq!(res.code, 2, "{out}: {}", res.stderr);
        assert!(res.stderr.contains("must not be the project directory"), "{}", res.stderr);
    }
}

#[test]
fn every_file_is_one_object_and_applications_point_at_their_directory() {
    let project = example_project();
    let repo_dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(repo_dir.path().join(".git")).expect("git dir");
    let nested = repo_dir.path().join("apps/metrics");
    common::copy_tree(project.path(), &nested);
    std::fs::remove_dir_all(nested.join(".git")).expect("rm");
    assert_eq!(fnops(&nested, &["render"]).code, 0);
    for (path, bytes) in snapshot_tree(&nested.join("deploy")) {
        let text = String::from_utf8(bytes).expect("utf-8");
        let docs = fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Kubernetes11).expect("parses");
        assert_eq!(docs.len(), 1, "{path}");
        for field in ["apiVersion", "kind"] {
            assert!(docs[0].get(field).and_then(fnops::yaml::Node::as_str).is_some(), "{path}: {field}");
        }
        assert!(docs[0].get("metadata").and_then(|m| m.get("name")).is_some(), "{path}");
        assert!(!path.ends_with("kustomization.yaml") && !path.ends_with("Chart.yaml"));
    }
    // source.path is relative to the repository root, not to the project.
    let app = std::fs::read_to_string(nested.join("deploy/argocd/serverless-redis-dev.yaml")).expect("app");
    assert!(app.contains("path: apps/metrics/deploy/dev\n"), "{app}");
}

#[test]
fn committed_example_trees_are_up_to_date() {
    for dir in [".", "examples/course"] {
        let res = fnops(&repo(), &["render", dir, "--check"]);
        assert_eq!(res.code, 0, "{dir}: run `cargo run -- render {dir}`\n{}{}", res.stdout, res.stderr);
    }
}

#[test]
fn overlay_schema_is_up_to_date_and_requires_nothing() {
    let committed =
        std::fs::read_to_string(repo().join("schemas/fnops.overlay.schema.json")).unwrap_or_default();
    let generated = fnops(&repo(), &["schema", "--overlay"]);
    assert_eq!(generated.code, 0);
    assert!(
        committed == generated.stdout,
        "schemas/fnops.overlay.schema.json is stale: regenerate it with `cargo run -- schema --overlay > schemas/fnops.overlay.schema.json`"
    );
    // As an editor checks them (draft-07, as yaml-language-server reads it): every overlay is
    // valid against the overlay schema, and would not be against the project's.
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas").join(name)).expect("schema"))
            .expect("JSON")
    };
    let (full, overlay) = (load("fnops.schema.json"), load("fnops.overlay.schema.json"));
    for schema in [&full, &overlay] {
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    }
    let draft7 = |s: &serde_json::Value| jsonschema::draft7::new(s).expect("compiles as draft-07");
    let (full, overlay) = (draft7(&full), draft7(&overlay));
    let yaml = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).expect("read");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/fnops.overlay.schema.json\n"),
            "{}",
            path.display()
        );
        fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Core12).expect("YAML")[0].to_json()
    };
    for entry in std::fs::read_dir(repo().join("environments")).expect("environments") {
        let value = yaml(&entry.expect("entry").path());
        assert!(overlay.is_valid(&value), "{value}");
        assert!(!full.is_valid(&value), "the project schema requires fields an overlay leaves out");
    }
    let typo = serde_json::json!({"redis": {"hots": "x"}});
    assert!(!overlay.is_valid(&typo), "unknown fields stay errors in overlays");
    let project = fnops::yaml::parse_stream(
        &std::fs::read_to_string(repo().join("fnops.yaml")).expect("read"),
        0,
        fnops::yaml::Schema::Core12,
    )
    .expect("YAML")[0]
        .to_json();
    assert!(full.is_valid(&project));
}

#[test]
fn project_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(repo().join("schemas/fnops.schema.json")).unwrap_or_default();
    let generated = fnops(&repo(), &["schema"]);
    assert_eq!(generated.code, 0);
    assert!(
        committed == generated.stdout,
        "schemas/fnops.schema.json is stale: regenerate it with `cargo run -- schema > schemas/fnops.schema.json`"
    );
}

#[test]
fn kubectl_kustomize_accepts_the_rendered_tree() {
    let Ok(probe) = std::process::Command::new("kubectl").arg("version").arg("--client").output() else {
        eprintln!("kubectl not installed: skipped");
        return;
    };
    assert!(probe.status.success());
    let tmp = example_project();
    assert_eq!(fnops(tmp.path(), &["render"]).code, 0);
    for env in ["dev", "prod"] {
        let kdir = tempfile::tempdir().expect("tempdir");
        let mut resources = String::from("resources:\n");
        for (path, bytes) in snapshot_tree(&tmp.path().join("deploy").join(env)) {
            std::fs::write(kdir.path().join(&path), bytes).expect("copy");
            resources.push_str(&format!("  - {path}\n"));
        }
        std::fs::write(kdir.path().join("kustomization.yaml"), resources).expect("write");
        let out = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(kdir.path())
            .output()
            .expect("kubectl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.matches("\nkind: ").count() + usize::from(text.starts_with("kind: ")), 4, "{text}");
        assert!(text.contains("fnops.io/config-checksum"));
    }
}

#[test]
fn templates_with_unknown_variables_fail_and_project_ignores_apply() {
    let tmp = example_project();
    let dir = tmp.path();
    let templates = dir.join("my-templates");
    std::fs::create_dir(&templates).expect("mkdir");
    std::fs::write(
        templates.join("configmap-outputkey.yaml.j2"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outputkey\ndata:\n  REDIS_OUTPUT_KEY: {{ redis.outptKey | tojson }}\n",
    )
    .expect("write");
    let out = fnops(dir, &["render", "--stdout", "--templates", "my-templates"]);
    assert_eq!(out.code, 1, "strict undefined: a typo is an error, not an empty string\n{}", out.stdout);
    assert!(
        out.stderr.contains("configmap-outputkey.yaml.j2") && out.stderr.contains("undefined"),
        "{}",
        out.stderr
    );

    // A project-level `ignore` suppresses a rule for the project's objects.
    let text = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    std::fs::write(
        dir.join("fnops.yaml"),
        text.replace("handler: handler", "handler: handler\n  inputSample: sample.json"),
    )
    .expect("write");
    std::fs::write(dir.join("sample.json"), "{\"only\": 1}").expect("write");
    let warned = fnops(dir, &["render", "--stdout"]);
    assert_eq!(warned.code, 0);
    assert!(warned.stderr.contains("warning[input-key-unknown]"), "{}", warned.stderr);
    let text = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    std::fs::write(dir.join("fnops.yaml"), format!("{text}ignore: [input-key-unknown]\n")).expect("write");
    let quiet = fnops(dir, &["render", "--stdout"]);
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stderr.contains("input-key-unknown"), "{}", quiet.stderr);
}

/// The Argo CD options: the finalizer (on by default, `argocd.finalizer: false` drops it), the
/// `manifest-generate-paths` annotation, `syncPolicy.retry`, and `argocd.applicationSet: true`
/// (one ApplicationSet over `environments/*.yaml` instead of one Application each), every
/// variant validated against the bundled Argo CD schemas.
#[test]
fn argocd_options_render_valid_applications_and_application_sets() {
    let project = common::example_project();
    let dir = project.path();
    let out = fnops(dir, &["render", "--stdout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("kind: Application\n").count(), 2);
    assert_eq!(out.stdout.matches("    - resources-finalizer.argocd.argoproj.io\n").count(), 2);
    assert_eq!(out.stdout.matches("argocd.argoproj.io/manifest-generate-paths: .\n").count(), 2);
    assert!(!out.stdout.contains("retry:"));

    let base = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    std::fs::write(
        dir.join("fnops.yaml"),
        format!("{base}  finalizer: false\n  syncPolicy:\n    retry: {{limit: 3, backoffDuration: 10s}}\n"),
    )
    .expect("write");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("resources-finalizer"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("    retry:\n      limit: 3\n      backoff:\n        duration: 10s\n        factor: 2\n        maxDuration: 3m\n").count(), 2, "{}", out.stdout);

    std::fs::write(dir.join("fnops.yaml"), format!("{base}  applicationSet: true\n")).expect("write");
    assert_eq!(fnops(dir, &["render"]).code, 0);
    let argocd: Vec<String> = std::fs::read_dir(dir.join("deploy/argocd"))
        .expect("argocd")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(argocd, ["serverless-redis.yaml"], "one ApplicationSet, no Applications");
    let set = std::fs::read_to_string(dir.join("deploy/argocd/serverless-redis.yaml")).expect("read");
    let doc =
        fnops::yaml::parse_stream(&set, 0, fnops::yaml::Schema::Kubernetes11).expect("YAML")[0].to_json();
    assert_eq!(doc["kind"], "ApplicationSet");
    assert_eq!(doc["spec"]["generators"][0]["git"]["files"][0]["path"], "environments/*.yaml");
    assert_eq!(
        doc["spec"]["template"]["spec"]["source"]["path"],
        "deploy/{{ trimSuffix \".yaml\" .path.filename }}"
    );
    // The defaults are the project's, not an overlay's: prod's `targetRevision` comes from its file.
    let revision = doc["spec"]["template"]["spec"]["source"]["targetRevision"].as_str().unwrap_or("");
    assert_eq!(revision, "{{ dig \"argocd\" \"targetRevision\" \"HEAD\" . }}");
    let check = fnops(dir, &["validate", "deploy", "--strict-warnings", "--format", "json"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    // A typo in the template is caught by the ApplicationSet schema.
    std::fs::write(
        dir.join("bad.yaml"),
        set.replace("    spec:\n      project:", "    spec:\n      projetc:"),
    )
    .expect("write");
    let bad = fnops(dir, &["validate", "bad.yaml", "--format", "json"]);
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(bad.stdout.contains("projetc"), "{}", bad.stdout);
}

/// `dashboard:` renders a Service for the runtime's page and an Argo CD link to it; a NodePort
/// outside the default range is refused with its position.
#[test]
fn the_dashboard_gets_a_service_and_an_argocd_link() {
    let project = common::example_project();
    let dir = project.path();
    let base = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    std::fs::write(
        dir.join("fnops.yaml"),
        format!("{base}dashboard: {{service: NodePort, nodePort: 30080}}\n"),
    )
    .expect("write");
    let out = fnops(dir, &["render", "--stdout", "--env", "dev"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = fnops::yaml::parse_stream(&out.stdout, 0, fnops::yaml::Schema::Kubernetes11).expect("YAML");
    let docs: Vec<serde_json::Value> = docs.iter().map(|d| d.to_json()).collect();
    let service = docs.iter().find(|d| d["kind"] == "Service").expect("a Service");
    assert_eq!(service["metadata"]["name"], "serverless-redis-dashboard");
    assert_eq!(service["spec"]["type"], "NodePort");
    assert_eq!(service["spec"]["ports"][0]["nodePort"], 30080);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");
    let app = docs.iter().find(|d| d["kind"] == "Application").expect("an Application");
    assert_eq!(
        app["metadata"]["annotations"]["link.argocd.argoproj.io/dashboard"],
        "http://serverless-redis-dashboard.demo-dev.svc.cluster.local:8080/"
    );
    assert_eq!(fnops(dir, &["render"]).code, 0);
    let check = fnops(dir, &["validate", "deploy", "--strict-warnings"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    std::fs::write(
        dir.join("fnops.yaml"),
        format!("{base}dashboard: {{service: NodePort, nodePort: 8080}}\n"),
    )
    .expect("write");
    let bad = fnops(dir, &["render", "--stdout"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("`dashboard.nodePort` 8080 is outside") && bad.stderr.contains("fnops.yaml:"),
        "{}",
        bad.stderr
    );
}
