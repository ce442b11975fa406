//! `fnops validate` driven like CI drives it: the real binary on fixture trees.

mod common;

use std::collections::BTreeSet;

use common::{fnops, fnops_env, repo};

fn findings(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("JSON report: {e}\n{json}"))
}

fn summary(f: &serde_json::Value) -> String {
    format!(
        "{} {} {}:{}",
        f["rule"].as_str().unwrap_or(""),
        f["severity"].as_str().unwrap_or(""),
        f["line"],
        f["column"]
    )
}

/// One directory per rule: `fail.yaml` yields exactly `expected.txt` (rule, severity, line,
/// column) including the directory's rule; `pass.yaml`, a near miss, yields nothing. An `args`
/// file adds options to both runs.
#[test]
fn every_rule_has_a_failing_case_and_a_passing_near_miss() {
    let dir = repo().join("tests/fixtures/rules");
    let mut rules = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("rules dir") {
        let case = entry.expect("entry").path();
        let rule = case.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        // `args`, when present, holds options both runs take (`--kube-version 1.24`).
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let run = |file: &str| {
            let path = case.join(file);
            let mut args =
                vec!["validate", path.to_str().expect("utf-8"), "--format", "json", "--no-context"];
            args.extend(extra.split_whitespace());
            fnops(&repo(), &args)
        };
        let fail = run("fail.yaml");
        let got: BTreeSet<String> = findings(&fail.stdout).iter().map(summary).collect();
        let expected: BTreeSet<String> = std::fs::read_to_string(case.join("expected.txt"))
            .expect("expected.txt")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        assert_eq!(got, expected, "{rule}: fail.yaml");
        assert!(got.iter().any(|g| g.starts_with(&format!("{rule} "))), "{rule}: the rule itself must fire");
        let is_error = expected.iter().any(|e| e.contains(" error "));
        assert_eq!(fail.code, if is_error { 1 } else { 0 }, "{rule}: exit code\n{}", fail.stderr);
        let pass = run("pass.yaml");
        assert_eq!(
            findings(&pass.stdout),
            Vec::<serde_json::Value>::new(),
            "{rule}: pass.yaml must be clean"
        );
        assert_eq!(pass.code, 0);
        rules.push(rule);
    }
    assert!(rules.len() >= 22, "{rules:?}");
}

/// One registry: every rule of a manifest has its fixture pair (the test above runs them),
/// `fnops explain` describes it, and SARIF lists it. Rules about the project file are covered by
/// the golden `err_*` cases, and `file-refused` (about a file, not a document: a link or a
/// special file) by tests/reliability_cli.rs.
#[test]
fn every_rule_has_its_fixtures_its_explanation_and_its_sarif_entry() {
    let explain = fnops(&repo(), &["explain"]);
    let sarif = report("sarif");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF");
    let listed: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    for rule in fnops::finding::Rule::ALL {
        let id = rule.id();
        assert!(
            explain.stdout.lines().any(|l| l.starts_with(&format!("{id} "))),
            "`fnops explain` lists {id}"
        );
        assert_eq!(fnops(&repo(), &["explain", id]).code, 0, "`fnops explain {id}`");
        assert!(listed.contains(&id), "SARIF lists {id}");
        if rule.is_project_rule() || *rule == fnops::finding::Rule::FileRefused {
            continue;
        }
        let case = repo().join("tests/fixtures/rules").join(id);
        for file in ["fail.yaml", "pass.yaml", "expected.txt"] {
            assert!(case.join(file).is_file(), "{id} has its fixture {file}");
        }
    }
    assert_eq!(listed.len(), fnops::finding::Rule::ALL.len());
}

#[test]
fn realistic_valid_trees_have_no_errors() {
    let out = fnops(
        &repo(),
        &["validate", "tests/fixtures/valid", "examples/course/handwritten", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let errors: Vec<_> = findings(&out.stdout).into_iter().filter(|f| f["severity"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(out.stderr.contains("checked 12 documents in 6 files"), "{}", out.stderr);
}

/// Kubernetes reads `yes` as a boolean (YAML 1.1); a YAML 1.2 reader would see a string.
#[test]
fn yaml_11_booleans_are_caught_where_a_yaml_12_reader_would_pass() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: yes\n  b: 012\n  c: 0o17\n";
    let as_12 = fnops::yaml::parse_stream(text, 0, fnops::yaml::Schema::Core12).expect("parses");
    assert_eq!(as_12[0].to_json()["data"], serde_json::json!({"a": "yes", "b": 12, "c": 15}));
    let as_k8s = fnops::yaml::parse_stream(text, 0, fnops::yaml::Schema::Kubernetes11).expect("parses");
    assert_eq!(as_k8s[0].to_json()["data"], serde_json::json!({"a": true, "b": 10, "c": 15}));
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("cm.yaml"), text).expect("write");
    let out = fnops(tmp.path(), &["validate", "cm.yaml", "--format", "json"]);
    assert_eq!(out.code, 1);
    let got: Vec<String> =
        findings(&out.stdout).iter().filter(|f| f["rule"] == "configmap-key").map(summary).collect();
    assert_eq!(got, vec!["configmap-key error 6:6", "configmap-key error 7:6", "configmap-key error 8:6"]);
}

#[test]
fn exit_codes_stdin_suppression_and_externals() {
    let dir = repo().join("tests/fixtures/rules");
    let warn_only = dir.join("image-latest/fail.yaml");
    let warn_only = warn_only.to_str().expect("utf-8");
    assert_eq!(fnops(&repo(), &["validate", warn_only]).code, 0);
    assert_eq!(fnops(&repo(), &["validate", warn_only, "--strict-warnings"]).code, 1);
    assert_eq!(fnops(&repo(), &["validate", "no/such/dir"]).code, 2);
    // A target older than the bundled schemas uses the oldest, with one warning (ArgoCD sets
    // `KUBE_VERSION` from a course cluster on 1.28); one that is no version is a usage error.
    let old = fnops(&repo(), &["validate", "--kube-version", "1.28", warn_only]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert_eq!(
        old.stderr.matches("warning: Kubernetes 1.28 is older than the bundled schemas").count(),
        1,
        "{}",
        old.stderr
    );
    assert_eq!(fnops(&repo(), &["validate", "--kube-version", "soon", warn_only]).code, 2);

    let stdin_out = std::process::Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["validate", "-", "--format", "json"])
        .stdin(std::fs::File::open(dir.join("secret-literal/fail.yaml")).expect("open"))
        .output()
        .expect("runs");
    let json = String::from_utf8_lossy(&stdin_out.stdout);
    assert_eq!(stdin_out.status.code(), Some(1));
    assert!(
        findings(&json).iter().any(|f| f["file"] == "<stdin>" && f["rule"] == "secret-literal"),
        "{json}"
    );

    let missing = dir.join("ref-missing-configmap/fail.yaml");
    let missing = missing.to_str().expect("utf-8");
    assert_eq!(fnops(&repo(), &["validate", missing]).code, 1);
    assert_eq!(fnops(&repo(), &["validate", missing, "--external", "runtime-config"]).code, 0);
    assert_eq!(fnops(&repo(), &["validate", missing, "--ignore", "ref-missing-configmap"]).code, 0);

    // Per-object suppression by annotation.
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(dir.join("secret-literal/fail.yaml")).expect("read");
    let suppressed = text.replace("image-latest'", "image-latest,secret-literal'").replace(
        "fnops.io/ignore: probe-missing,resources-missing,security-context,image-latest",
        "fnops.io/ignore: probe-missing,resources-missing,security-context,image-latest,secret-literal",
    );
    std::fs::write(tmp.path().join("d.yaml"), suppressed).expect("write");
    assert_eq!(fnops(tmp.path(), &["validate", "d.yaml"]).code, 0);
}

#[test]
fn several_formats_in_one_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = repo().join("tests/fixtures/rules/secret-literal/fail.yaml");
    let sarif = tmp.path().join("out.sarif");
    let junit = tmp.path().join("out.xml");
    let out = fnops(
        &repo(),
        &[
            "validate",
            case.to_str().expect("utf-8"),
            "--format",
            "sarif",
            "--output",
            sarif.to_str().expect("utf-8"),
            "--format",
            "junit",
            "--output",
            junit.to_str().expect("utf-8"),
            "--format",
            "github",
        ],
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.starts_with("::error file="), "{}", out.stdout);
    assert!(std::fs::read_to_string(&sarif).expect("sarif").contains("\"version\": \"2.1.0\""));
    assert!(std::fs::read_to_string(&junit).expect("junit").starts_with("<?xml"));
}

fn report(format: &str) -> String {
    let out = fnops(
        &repo(),
        &[
            "validate",
            "tests/fixtures/rules/secret-literal/fail.yaml",
            "tests/fixtures/rules/configmap-key/fail.yaml",
            "tests/fixtures/rules/image-latest/fail.yaml",
            "--format",
            format,
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    out.stdout
}

#[test]
fn golden_reports() {
    for format in ["text", "json", "github", "junit", "sarif"] {
        let body = report(format).replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::with_settings!({ snapshot_suffix => format, prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("report", body);
        });
    }
}

#[test]
fn sarif_output_is_valid_sarif_210() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let sarif: serde_json::Value = serde_json::from_str(&report("sarif")).expect("SARIF is JSON");
    let errors: Vec<String> =
        validator.iter_errors(&sarif).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    // The check itself can fail: a result without a message is rejected.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0].as_object_mut().expect("object").remove("message");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn junit_output_parses_as_xml() {
    let xml = report("junit");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 3);
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("failure")).count(), 2);
}

#[test]
fn projects_validate_as_projects() {
    let ok = fnops(&repo(), &["validate", "."]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let bad = fnops(&repo(), &["validate", "tests/cases/err_unknown_field", "--format", "json"]);
    assert_eq!(bad.code, 1);
    assert!(findings(&bad.stdout).iter().any(|f| f["rule"] == "unknown-field" && f["line"] == 5));
}

#[test]
fn the_rendered_examples_validate_clean_at_every_bundled_version() {
    for version in fnops::validate::schema::bundled_versions() {
        for tree in ["deploy/dev", "deploy/prod", "examples/course/deploy/default"] {
            let out = fnops(&repo(), &["validate", tree, "--kube-version", version, "--format", "json"]);
            assert_eq!(out.code, 0, "{tree} at {version}: {}", out.stdout);
            assert!(out.stderr.contains(&format!("Kubernetes {version}")), "{}", out.stderr);
        }
    }
    let env = fnops_env(&repo(), &["validate", "deploy/dev"], &[("KUBE_VERSION", "v1.31.4")]);
    assert!(env.stderr.contains("Kubernetes 1.31"), "{}", env.stderr);
}

/// Files named one by one bring their directory's other manifests as context: references
/// resolve, and a change that breaks a reference elsewhere is reported there.
#[test]
fn single_files_are_checked_with_their_directory_as_context() {
    let tmp = tempfile::tempdir().expect("tmp");
    common::copy_tree(&repo().join("deploy/dev"), tmp.path());
    let alone = fnops(tmp.path(), &["validate", "deployment-serverless-redis.yaml", "--format", "json"]);
    assert_eq!(alone.code, 0, "{}", alone.stdout);
    assert!(alone.stderr.contains("(with 3 for context)"), "{}", alone.stderr);
    // The ConfigMap loses the key the Deployment reads: the Deployment's reference breaks.
    let cm = tmp.path().join("configmap-outputkey.yaml");
    let text = std::fs::read_to_string(&cm).expect("read");
    std::fs::write(&cm, text.replace("REDIS_OUTPUT_KEY:", "OUTPUT_KEY:")).expect("write");
    let changed = fnops(tmp.path(), &["validate", "configmap-outputkey.yaml", "--format", "json"]);
    assert_eq!(changed.code, 1, "{}", changed.stdout);
    let got: Vec<String> =
        findings(&changed.stdout).iter().map(|f| format!("{} {}", f["rule"], f["file"])).collect();
    assert_eq!(got, vec!["\"ref-missing-key\" \"deployment-serverless-redis.yaml\""]);
}

#[test]
fn changed_since_checks_what_a_pull_request_touched() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let git = |args: &[&str]| common::git(dir, args);
    common::copy_tree(&repo().join("deploy"), &dir.join("deploy"));
    std::fs::write(dir.join("notes.yaml"), "not: a manifest\n").expect("write");
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    // The pull request renames a key in one ConfigMap: the Deployment beside it now breaks.
    let cm = dir.join("deploy/dev/configmap-outputkey.yaml");
    let text = std::fs::read_to_string(&cm).expect("read");
    std::fs::write(&cm, text.replace("REDIS_OUTPUT_KEY:", "OUTPUT_KEY:")).expect("write");
    git(&["commit", "-q", "-am", "change"]);
    let out = fnops(dir, &["validate", "--changed-since", "HEAD~1", "--format", "json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let got: Vec<String> =
        findings(&out.stdout).iter().map(|f| format!("{} {}", f["rule"], f["file"])).collect();
    assert_eq!(got, vec!["\"ref-missing-key\" \"deploy/dev/deployment-serverless-redis.yaml\""]);
    assert!(out.stderr.contains("checked") && out.stderr.contains("in 1 files"), "{}", out.stderr);
    // Nothing changed since HEAD: nothing to check, success.
    let none = fnops(dir, &["validate", "--changed-since", "HEAD"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
}

/// The schema pruned to an object's shape finds exactly what the full schema finds: every
/// object of the fixtures, the examples and deliberately broken variants of them.
#[test]
fn pruned_and_full_schemas_agree() {
    use fnops::validate::SchemaSet;
    let mut objects: Vec<serde_json::Value> = Vec::new();
    for dir in ["tests/fixtures/rules", "tests/fixtures/valid", "deploy", "examples/course"] {
        for entry in walkdir::WalkDir::new(repo().join(dir)) {
            let entry = entry.expect("walk");
            if entry.path().extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(entry.path()).expect("read");
                if let Ok(docs) = fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Kubernetes11) {
                    objects.extend(docs.iter().map(fnops::yaml::Node::to_json));
                }
            }
        }
    }
    let broken: Vec<serde_json::Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .flat_map(|o| {
            let mut a = o.clone();
            a["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes".into();
            a["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = serde_json::json!({"x": 1});
            let mut b = o.clone();
            b["spec"]["template"]["spec"]["volumes"] = serde_json::json!([{"name": "v", "configMap": {"name": "c", "defaultMode": "0644", "itemz": []}}]);
            b["spec"]["strategy"] = serde_json::json!({"type": "Recreate", "rollingUpdate": {"maxSurge": true}});
            let mut c = o.clone();
            c["spec"]["template"]["spec"]["containers"][0]["env"] = serde_json::json!([{"name": "A", "valueFrom": {"configMapKeyRef": {"key": 5}}}, {"value": "no name"}]);
            [a, b, c]
        })
        .collect();
    objects.extend(broken);
    assert!(objects.len() > 60, "{}", objects.len());
    let (mut compared, mut with_errors) = (0, 0);
    for object in &objects {
        let (Some(api), Some(kind)) = (object["apiVersion"].as_str(), object["kind"].as_str()) else {
            continue;
        };
        let messages = |found: Option<Vec<fnops::validate::schema::Violation>>| {
            let mut m: Vec<String> = found
                .unwrap_or_default()
                .into_iter()
                .map(|v| format!("{:?} {}", v.path, v.message))
                .collect();
            m.sort();
            m
        };
        let pruned = messages(SchemaSet::new("1.37".into()).check(api, kind, object));
        let full = messages(SchemaSet::new("1.37".into()).check_full(api, kind, object));
        assert_eq!(pruned, full, "{api}/{kind}: {object}");
        compared += 1;
        with_errors += usize::from(!full.is_empty());
    }
    assert!(compared > 60 && with_errors >= 20, "compared {compared}, {with_errors} with errors");
}

#[test]
fn schema_dir_adds_crd_schemas() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("w.yaml"),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 0\n  colour: red\n",
    )
    .expect("write");
    let without = fnops(tmp.path(), &["validate", "w.yaml", "--format", "json"]);
    assert_eq!(without.code, 0);
    assert!(findings(&without.stdout).iter().any(|f| f["rule"] == "unknown-kind"));
    let crds = repo().join("tests/fixtures/crds");
    let with = fnops(
        tmp.path(),
        &["validate", "w.yaml", "--format", "json", "--schema-dir", crds.to_str().expect("utf-8")],
    );
    assert_eq!(with.code, 1, "{}", with.stdout);
    let got: BTreeSet<String> = findings(&with.stdout).iter().map(summary).collect();
    assert_eq!(got, BTreeSet::from(["schema error 6:9".to_owned(), "schema error 7:3".to_owned()]));

    // The CRDs-catalog layout: `<group>/<kind>_<version>.json`.
    let catalog = tmp.path().join("catalog");
    std::fs::create_dir_all(catalog.join("example.com")).expect("mkdir");
    std::fs::copy(crds.join("widget_v1.json"), catalog.join("example.com/widget_v1.json")).expect("copy");
    let from_catalog =
        fnops(tmp.path(), &["validate", "w.yaml", "--format", "json", "--schema-dir", "catalog"]);
    assert_eq!(from_catalog.code, 1, "{}", from_catalog.stderr);
    assert_eq!(findings(&from_catalog.stdout).iter().map(summary).collect::<BTreeSet<_>>(), got);

    // A schema that cannot be used is a usage error naming the file, not `unknown-kind`.
    for (broken, why) in [("{ not json", "is not JSON"), (r#"{"type": 12}"#, "is not a usable JSON Schema")] {
        std::fs::write(catalog.join("example.com/widget_v1.json"), broken).expect("write");
        let out = fnops(tmp.path(), &["validate", "w.yaml", "--schema-dir", "catalog"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("widget_v1.json") && out.stderr.contains(why), "{}", out.stderr);
    }
    let missing = fnops(tmp.path(), &["validate", "w.yaml", "--schema-dir", "no-such-dir"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("no-such-dir"), "{}", missing.stderr);
}

/// fnops's own Argo CD objects validate against the bundled Argo CD schemas: no `unknown-kind`,
/// so `--strict-warnings` passes on a fresh render; a typo in an Application is caught.
#[test]
fn argocd_kinds_have_bundled_schemas() {
    let own = fnops(&repo(), &["validate", "deploy/argocd", "--strict-warnings", "--format", "json"]);
    assert_eq!(own.code, 0, "{}{}", own.stdout, own.stderr);
    let tmp = tempfile::tempdir().expect("tmp");
    let app = std::fs::read_to_string(repo().join("deploy/argocd/serverless-redis-dev.yaml")).expect("app");
    let typo = app.replacen("  destination:", "  destinaton:", 1);
    assert_ne!(app, typo);
    std::fs::write(tmp.path().join("app.yaml"), typo).expect("write");
    let out = fnops(tmp.path(), &["validate", "app.yaml", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let messages: Vec<String> =
        findings(&out.stdout).iter().map(|f| f["message"].as_str().unwrap_or("").to_owned()).collect();
    assert!(messages.iter().any(|m| m.contains("destinaton")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("destination")),
        "the required field is missing too: {messages:?}"
    );
}

/// Big trees are validated file by file (an index pass, then a check pass that streams the
/// reports) instead of parsed all at once, and big files a run of documents at a time.
/// Forcing that path on the fixtures must not change a byte of the report or the summary, with
/// files whole or cut at every document (line numbers, messages that name lines, snippets,
/// Python locations, files broken in a later document, directives, alias budgets).
#[test]
fn streamed_validation_reports_exactly_what_in_memory_validation_does() {
    let streamed_envs: [&[(&str, &str)]; 2] = [
        &[("FNOPS_STREAM_FROM_BYTES", "0")],
        &[("FNOPS_STREAM_FROM_BYTES", "0"), ("FNOPS_STREAM_PART_BYTES", "1")],
    ];
    for dir in ["tests/fixtures", "deploy", "examples"] {
        for env in streamed_envs {
            for format in ["text", "sarif", "junit", "gitlab", "github"] {
                let args = ["validate", dir, "--format", format];
                let whole = fnops(&repo(), &args);
                let streamed = fnops_env(&repo(), &args, env);
                assert_eq!(
                    (whole.code, &whole.stderr),
                    (streamed.code, &streamed.stderr),
                    "{dir} {format} {env:?}"
                );
                assert!(
                    whole.stdout == streamed.stdout,
                    "{dir} {format} {env:?}: the streamed report differs"
                );
            }
        }
        let args = ["validate", dir, "--format", "json"];
        let whole = fnops(&repo(), &args);
        for env in streamed_envs {
            let streamed = fnops_env(&repo(), &args, env);
            assert_eq!((whole.code, &whole.stderr), (streamed.code, &streamed.stderr), "{dir} {env:?}");
            assert_eq!(whole.stdout, streamed.stdout, "{dir} {env:?}");
        }
        if dir == "tests/fixtures" {
            let rules: BTreeSet<String> = findings(&whole.stdout)
                .iter()
                .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
                .collect();
            // Cross-object rules included: they are the ones the index serves.
            for rule in ["ref-missing-key", "subpath-key", "handler-missing", "yaml-syntax", "schema"] {
                assert!(rules.contains(rule), "{rule} not exercised: {rules:?}");
            }
        }
    }
}

/// A big stream on stdin is checked a run of documents at a time too: read once, spooled to a
/// temporary file for the second pass. Its reports are byte for byte those of the in-memory run.
#[test]
fn a_streamed_stdin_reports_exactly_what_in_memory_validation_does() {
    // Every rule's failing fixture that parses, as one stream: many rules, one file.
    let rules = repo().join("tests/fixtures/rules");
    let mut stream = String::new();
    let mut names: Vec<_> =
        std::fs::read_dir(&rules).expect("fixtures").flatten().map(|e| e.path()).collect();
    names.sort();
    for dir in names {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with("yaml-") || name == "not-a-manifest" {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("fail.yaml")) {
            stream.push_str("---\n");
            stream.push_str(&text);
            if !text.ends_with('\n') {
                stream.push('\n');
            }
        }
    }
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("stream.yaml");
    std::fs::write(&file, &stream).expect("write");
    let run = |format: &str, env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fnops"))
            .args(["validate", "-", "--format", format])
            .envs(env.iter().copied())
            .stdin(std::fs::File::open(&file).expect("open"))
            .output()
            .expect("fnops runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let whole = run("json", &[]);
    let rules_found: BTreeSet<String> =
        findings(&whole.1).iter().map(|f| f["rule"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(rules_found.len() >= 20, "the stream exercises few rules: {rules_found:?}");
    assert!(whole.2.contains("in 1 files"), "{}", whole.2);
    for format in ["json", "text", "sarif"] {
        let whole = run(format, &[]);
        for env in [
            &[("FNOPS_STREAM_FROM_BYTES", "0")][..],
            &[("FNOPS_STREAM_FROM_BYTES", "0"), ("FNOPS_STREAM_PART_BYTES", "1")],
        ] {
            let streamed = run(format, env);
            assert_eq!(whole, streamed, "{format} {env:?}");
        }
    }
}
