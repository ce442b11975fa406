//! `fnops validate` on whole repositories, shaped like the real ones it was run on: Helm charts,
//! kustomizations, Compose and CI files beside the manifests; removed APIs; every workload kind;
//! runs over named files; grouped text output.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{fnops, git};

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn findings(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("JSON report: {e}\n{json}"))
}

/// `rule file:line` of every finding.
fn located(json: &str) -> BTreeSet<String> {
    findings(json)
        .iter()
        .map(|f| {
            format!("{} {}:{}", f["rule"].as_str().unwrap_or(""), f["file"].as_str().unwrap_or(""), f["line"])
        })
        .collect()
}

fn rules(json: &str) -> BTreeSet<String> {
    findings(json).iter().map(|f| f["rule"].as_str().unwrap_or("").to_owned()).collect()
}

const IGNORE_HARDENING: &str = "fnops.io/ignore: probe-missing,resources-missing,security-context";

fn deployment(name: &str, extra_env: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    {IGNORE_HARDENING}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n{extra_env}"
    )
}

/// A repository as they come: an app's manifests, a Helm chart, a Kustomize base and overlay
/// with a patch outside both, Compose, docs and CI files.
fn repository(dir: &Path) {
    write(dir, "manifests/app.yaml", &deployment("web", ""));
    write(dir, "docker-compose.yml", "services:\n  web:\n    image: nginx:1.27\n    ports: ['8080:80']\n");
    write(dir, "mkdocs.yml", "site_name: docs\nnav:\n  - Home: index.md\n");
    write(dir, ".gitlab-ci.yml", "test:\n  script: [make test]\n");
    write(dir, ".github/workflows/ci.yml", "on: push\njobs: {}\n");
    write(dir, "charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
    write(dir, "charts/web/values.yaml", "replicaCount: 1\nimage: {repository: nginx}\n");
    write(
        dir,
        "charts/web/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n",
    );
    write(dir, "k8s/base/kustomization.yaml", "resources:\n  - deployment.yaml\n");
    write(dir, "k8s/base/deployment.yaml", &deployment("api", ""));
    write(
        dir,
        "k8s/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\npatches:\n  - path: replicas.yaml\n  - path: ../../patches/resources.yaml\n",
    );
    write(
        dir,
        "k8s/overlays/prod/replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 3\n",
    );
    write(
        dir,
        "k8s/patches/resources.yaml",
        "- op: add\n  path: /spec/template/spec/containers/0/resources\n  value: {}\n",
    );
}

#[test]
fn charts_kustomizations_and_other_tools_files_are_skipped_and_said_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    repository(dir);
    git(dir, &["init", "-q"]);
    let out = fnops(dir, &["validate", ".", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(findings(&out.stdout), Vec::<serde_json::Value>::new());
    assert!(
        out.stderr.contains("checked 1 documents in 1 files")
            && out.stderr.contains("skipped 1 Helm chart, 2 kustomizations, 3 files that are not manifests"),
        "{}",
        out.stderr
    );
    let verbose = fnops(dir, &["validate", ".", "--verbose"]);
    for line in [
        "skipped `charts/web`: a Helm chart (not rendered)",
        "skipped `docker-compose.yml`: a Compose file",
        "skipped `mkdocs.yml`: an MkDocs configuration",
        "skipped `k8s/overlays/prod/replicas.yaml`: part of the kustomization in `k8s/overlays/prod`",
        "skipped `k8s/patches/resources.yaml`: a patch the kustomization in `k8s/overlays/prod` lists",
    ] {
        assert!(verbose.stderr.contains(line), "{line}\n{}", verbose.stderr);
    }

    // A YAML file that holds no object, in a plain manifest directory, stays an error, walked
    // or named.
    write(dir, "manifests/notes.yaml", "todo:\n  - add a probe\n");
    let walked = fnops(dir, &["validate", ".", "--format", "json"]);
    assert_eq!(walked.code, 1);
    assert_eq!(located(&walked.stdout), BTreeSet::from(["not-a-manifest manifests/notes.yaml:1".to_owned()]));
    let named = fnops(dir, &["validate", "manifests/notes.yaml", "--format", "json"]);
    assert_eq!(named.code, 1, "{}", named.stderr);

    // Named files of other tools (pre-commit passes every changed YAML file) are skipped too.
    let compose = fnops(
        dir,
        &[
            "validate",
            "docker-compose.yml",
            "charts/web/templates/deployment.yaml",
            ".github/workflows/ci.yml",
            ".gitlab-ci.yml",
        ],
    );
    assert_eq!(compose.code, 0, "{}", compose.stderr);
    assert!(
        compose.stderr.contains("skipped 1 Helm chart, 3 files that are not manifests"),
        "{}",
        compose.stderr
    );

    // A pull request that touches them and a manifest: only the manifest is checked.
    git(dir, &["add", "-A"]);
    git(dir, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"]);
    write(dir, ".github/workflows/ci.yml", "on: [push, pull_request]\njobs: {}\n");
    write(dir, "docker-compose.yml", "services: {}\n");
    write(
        dir,
        "manifests/app.yaml",
        &deployment(
            "web",
            "          env:\n            - {name: A, value: a}\n            - {name: A, value: b}\n",
        ),
    );
    let changed = fnops(dir, &["validate", "--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    assert_eq!(rules(&changed.stdout), BTreeSet::from(["duplicate-env".to_owned()]), "{}", changed.stdout);
}

#[test]
fn removed_apis_are_errors_and_deprecated_ones_warnings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "old.yaml",
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 1\n---\napiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 3\n---\napiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  template:\n    spec:\n      containers: [{name: agent, image: agent:1}]\n",
    );
    let out = fnops(dir, &["validate", "old.yaml", "--format", "json"]);
    assert_eq!(out.code, 1);
    let found = findings(&out.stdout);
    let removed: Vec<&serde_json::Value> = found.iter().filter(|f| f["rule"] == "api-removed").collect();
    assert_eq!(removed.len(), 3, "{found:#?}");
    assert!(found.iter().all(|f| f["rule"] != "unknown-kind"), "{found:#?}");
    let messages: Vec<&str> = removed.iter().filter_map(|f| f["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("removed in Kubernetes 1.25")), "{messages:?}");
    let hints: Vec<&str> = removed.iter().filter_map(|f| f["hint"].as_str()).collect();
    for replacement in ["policy/v1", "autoscaling/v2", "apps/v1"] {
        assert!(hints.iter().any(|h| h.contains(&format!("`apiVersion: {replacement}`"))), "{hints:?}");
    }

    // What the bundled schemas show themselves: a kind served in 1.31 and gone by 1.34.
    write(
        dir,
        "flow.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: fs\nspec:\n  priorityLevelConfiguration: {name: global-default}\n",
    );
    let at_131 = fnops(dir, &["validate", "flow.yaml", "--kube-version", "1.31", "--format", "json"]);
    assert_eq!(at_131.code, 0, "{}", at_131.stdout);
    assert_eq!(rules(&at_131.stdout), BTreeSet::from(["api-deprecated".to_owned()]));
    let upgrade = fnops(dir, &["validate", "flow.yaml", "--kube-version", "1.31..1.34", "--format", "json"]);
    assert_eq!(upgrade.code, 1, "{}", upgrade.stdout);
    let message = findings(&upgrade.stdout)[0]["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("on the way from 1.31 to 1.34"), "{message}");

    // An older cluster than the bundles: the oldest bundle, one warning, no failure.
    let old = fnops(dir, &["validate", "flow.yaml", "--kube-version", "1.28"]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert_eq!(old.stderr.matches("warning: Kubernetes 1.28 is older").count(), 1, "{}", old.stderr);
}

#[test]
fn every_kind_with_a_pod_template_gets_every_workload_rule() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "rc.yaml",
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: db\nspec:\n  replicas: 1\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      containers:\n        - name: db\n          image: postgres:16\n          env:\n            - name: POSTGRES_PASSWORD\n              value: hunter2\n",
    );
    write(
        dir,
        "sts.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: cache\nspec:\n  serviceName: cache\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      containers:\n        - name: cache\n          image: redis:7\n          volumeMounts:\n            - {name: data, mountPath: /data}\n  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources: {requests: {storage: 1Gi}}\n",
    );
    write(
        dir,
        "hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n  annotations:\n    argocd.argoproj.io/hook: PreSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: migrate, image: 'migrate:1'}]\n",
    );
    write(
        dir,
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1cache\nspec:\n  selector: {app: cache}\n  ports: [{port: 6379}]\n",
    );
    let out = fnops(
        dir,
        &[
            "validate",
            ".",
            "--format",
            "json",
            "--ignore",
            "probe-missing",
            "--ignore",
            "resources-missing",
            "--ignore",
            "security-context",
        ],
    );
    let got = located(&out.stdout);
    assert!(got.contains("secret-literal rc.yaml:15"), "the ReplicationController's pod is checked: {got:?}");
    assert!(
        !rules(&out.stdout).contains("mount-missing-volume"),
        "volumeClaimTemplates are volumes: {got:?}"
    );
    assert!(!rules(&out.stdout).contains("not-a-manifest"), "generateName is a name: {got:?}");
    assert!(got.contains("name-dns1123 svc.yaml:4"), "Service names are DNS-1035 labels: {got:?}");
    assert_eq!(out.code, 1);
}

/// A run over named files (pre-commit, a pull request's files) reports what is in those files,
/// and the references they break in their directory; not what else is wrong there.
#[test]
fn named_files_fail_only_for_their_own_findings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(dir, "deploy/app.yaml", &deployment("web", ""));
    // Unrelated, broken: an error the named file has nothing to do with.
    write(
        dir,
        "deploy/other.yaml",
        &deployment("api", "          envFrom:\n            - configMapRef: {name: nowhere}\n"),
    );
    write(
        dir,
        "deploy/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  LEVEL: info\n",
    );
    write(
        dir,
        "deploy/worker.yaml",
        &deployment(
            "worker",
            "          env:\n            - name: LEVEL\n              valueFrom:\n                configMapKeyRef: {name: settings, key: LEVEL}\n",
        ),
    );
    let own = fnops(dir, &["validate", "deploy/app.yaml", "--format", "json"]);
    assert_eq!(own.code, 0, "{}", own.stdout);
    assert_eq!(findings(&own.stdout), Vec::<serde_json::Value>::new());

    // Renaming the key in the named ConfigMap breaks the worker, in another file: reported.
    write(
        dir,
        "deploy/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  LOG_LEVEL: info\n",
    );
    let broke = fnops(dir, &["validate", "deploy/config.yaml", "--format", "json"]);
    assert_eq!(broke.code, 1, "{}", broke.stdout);
    assert_eq!(located(&broke.stdout), BTreeSet::from(["ref-missing-key deploy/worker.yaml:18".to_owned()]));
}

/// The Python checks follow each workload's own settings, read keys in helpers, see imports,
/// and locate what they find inside a double-quoted `pyfile`.
#[test]
fn handler_checks_follow_their_workload() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mounting = |name: &str, cm: &str, handler: Option<&str>| {
        let env = handler
            .map(|h| {
                format!("          env:\n            - name: HANDLER_FUNCTION\n              value: {h}\n")
            })
            .unwrap_or_default();
        format!(
            "{}          volumeMounts:\n            - {{name: code, mountPath: /opt/usermodule.py, subPath: pyfile}}\n      volumes:\n        - name: code\n          configMap: {{name: {cm}}}\n",
            deployment(name, &env).replace("image: nginx:1.27", "image: lucasmsp/serverless:redis")
        )
    };
    // Function `main` in one, the default `handler` in the other: each checked with its own.
    write(dir, "a/deploy.yaml", &mounting("a", "code-a", Some("main")));
    write(
        dir,
        "a/code.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: code-a\ndata:\n  pyfile: |\n    def main(input, context):\n        return {'x': input['cpu_percent-0']}\n",
    );
    // The form `kubectl create configmap -o yaml` writes, with a misspelled key on its line 3.
    write(dir, "b/deploy.yaml", &mounting("b", "code-b", None));
    write(
        dir,
        "b/code.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: code-b\ndata:\n  pyfile: \"import json\\n\\ndef handler(input, context):\\n\\\n    \\  return {'x': helper(input)}\\n\\ndef helper(d):\\n  return d['net_io_counters_eth0-bytes_sent1']\\n\"\n",
    );
    let out = fnops(dir, &["validate", ".", "--format", "json", "--ignore", "subpath-no-rollout"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let found = findings(&out.stdout);
    assert_eq!(
        located(&out.stdout),
        BTreeSet::from(["input-key-unknown b/code.yaml:7".to_owned()]),
        "{found:#?}"
    );
    assert_eq!(found[0]["column"], 66, "at the key inside the quoted string, past its escapes");

    // A sibling module the ConfigMap does not carry.
    write(
        dir,
        "a/code.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: code-a\ndata:\n  pyfile: |\n    from helpers import mean\n    def main(input, context):\n        return {'x': mean(input)}\n",
    );
    let missing = fnops(dir, &["validate", "a", "--format", "json"]);
    assert_eq!(missing.code, 1);
    let imports: Vec<serde_json::Value> =
        findings(&missing.stdout).into_iter().filter(|f| f["rule"] == "handler-import").collect();
    assert_eq!(imports.len(), 1, "{imports:#?}");
    assert_eq!((imports[0]["line"].as_u64(), imports[0]["column"].as_u64()), (Some(7), Some(5)));
    let message = imports[0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("`helpers`")
            && message.contains("standard library")
            && message.contains("requirements.txt"),
        "{message}"
    );
    // ... unless the image is a custom one, whose libraries fnops cannot know.
    let custom = mounting("a", "code-a", Some("main"))
        .replace("lucasmsp/serverless:redis", "ghcr.io/someone/runtime:2");
    write(dir, "a/deploy.yaml", &custom);
    let out = fnops(dir, &["validate", "a", "--format", "json"]);
    assert!(!rules(&out.stdout).contains("handler-import"), "{}", out.stdout);
}

#[test]
fn text_output_groups_like_findings_and_sums_up_per_rule() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    for i in 0..40 {
        write(
            dir,
            &format!("apps/app{i:02}.yaml"),
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n    metadata: {{labels: {{app: a{i}}}}}\n    spec:\n      containers:\n        - name: c{i}\n          image: nginx:1.27\n"
            ),
        );
    }
    let text = fnops(dir, &["validate", "."]);
    assert_eq!(text.code, 0);
    assert_eq!(text.stdout.matches("warning[probe-missing]").count(), 1, "{}", text.stdout);
    assert!(text.stdout.contains("and 39 more like this in 39 files"), "{}", text.stdout);
    assert!(text.stdout.contains("probe-missing      40 warnings"), "{}", text.stdout);
    let json = fnops(dir, &["validate", ".", "--format", "json"]);
    assert_eq!(
        findings(&json.stdout).iter().filter(|f| f["rule"] == "probe-missing").count(),
        40,
        "JSON lists every one"
    );
}
