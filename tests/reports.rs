//! The machine-readable reports as their consumers read them: JUnit through `junitparser` (the
//! parser Python CI tooling uses; GitLab and Jenkins read the same shape) and the Ant rules
//! (one failure per case, counts of cases), GitLab Code Quality against a schema of GitLab's
//! documented fields, SARIF fingerprints and category.
//!
//! `junitparser` comes from PyPI (`scripts/install-test-deps`); under `FNOPS_REQUIRE_CONSUMERS`
//! (scripts/test sets it) a missing one fails instead of skipping that part.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::fnops;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n          env:\n            - {name: DB_PASSWORD, value: hunter2}\n            - {name: API_TOKEN, value: abc}\n";
const CLEAN: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  LEVEL: info\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  A: b\n";

/// A tree with an object with two errors of one rule and warnings, two clean objects, and a file
/// that does not parse.
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "deploy/app.yaml", DEPLOYMENT);
    write(tmp.path(), "deploy/config.yaml", CLEAN);
    write(tmp.path(), "deploy/broken.yaml", "a: [1, 2\n");
    tmp
}

fn junitparser_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import junitparser"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("FNOPS_REQUIRE_CONSUMERS").is_none(), "junitparser is required here");
        eprintln!("skipping the junitparser check: `pip install junitparser`");
    }
    ok
}

#[test]
fn junit_has_one_case_per_object_and_rule_with_one_failure() {
    let tmp = tree();
    for path in [".", "./deploy", "deploy"] {
        let out = fnops(tmp.path(), &["validate", path, "--format", "junit"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let doc = roxmltree::Document::parse(&out.stdout).expect("well-formed XML");
        let cases: Vec<roxmltree::Node<'_, '_>> =
            doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        let names: Vec<String> = cases
            .iter()
            .map(|c| {
                format!(
                    "{} | {}",
                    c.attribute("file").unwrap_or("NO FILE"),
                    c.attribute("name").unwrap_or("")
                )
            })
            .collect();
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{path}: no case twice: {names:#?}");
        for case in &cases {
            assert!(case.attribute("file").is_some_and(|f| !f.starts_with("./")), "{path}: {names:?}");
            let failures = case.children().filter(|n| n.has_tag_name("failure")).count();
            assert!(failures <= 1, "{path}: at most one failure per case");
        }
        let failed = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count();
        let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).expect("suite");
        assert_eq!(suite.attribute("tests"), Some(cases.len().to_string().as_str()));
        assert_eq!(suite.attribute("failures"), Some(failed.to_string().as_str()));
        for expected in [
            "deploy/app.yaml | Deployment/web secret-literal",
            "deploy/app.yaml | Deployment/web probe-missing",
            "deploy/config.yaml | ConfigMap/settings",
            "deploy/config.yaml | ConfigMap/other",
            "deploy/broken.yaml | deploy/broken.yaml yaml-syntax",
        ] {
            assert!(names.iter().any(|n| n == expected), "{path}: {expected} in {names:#?}");
        }
        let secret = cases
            .iter()
            .find(|c| c.attribute("name") == Some("Deployment/web secret-literal"))
            .expect("case");
        let failure = secret.children().find(|n| n.has_tag_name("failure")).expect("failure");
        assert!(
            failure.attribute("message").is_some_and(|m| m.contains("(and 1 more)")),
            "both errors in one failure"
        );
        assert_eq!(failure.text().map(|t| t.lines().count()), Some(2), "each error on its line");
        assert_eq!(failed, 2, "{path}: secret-literal and yaml-syntax");
    }

    if !junitparser_available() {
        return;
    }
    let out = fnops(tmp.path(), &["validate", ".", "--format", "junit", "--output", "report.xml"]);
    assert_eq!(out.code, 1);
    let script = r#"
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
cases = failures = 0
for suite in xml:
    for case in suite:
        cases += 1
        results = list(case.result)
        assert len(results) <= 1, (case.name, results)
        failures += sum(isinstance(r, Failure) for r in results)
    assert suite.tests == sum(1 for _ in suite), (suite.tests, suite.failures)
    assert suite.failures == failures, (suite.failures, failures)
print(cases, failures)
"#;
    let parsed = std::process::Command::new("python3")
        .args(["-c", script, "report.xml"])
        .current_dir(tmp.path())
        .output()
        .expect("python3");
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let counts = String::from_utf8_lossy(&parsed.stdout);
    assert!(counts.trim().ends_with(" 2"), "{counts}");
}

#[test]
fn gitlab_code_quality_matches_gitlabs_fields_and_fingerprints_survive_moves() {
    let tmp = tree();
    let out = fnops(tmp.path(), &["validate", "deploy", "--format", "gitlab"]);
    assert_eq!(out.code, 1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/gitlab/codequality.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let errors: Vec<String> =
        validator.iter_errors(&report).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let broken = serde_json::json!([{"description": "x", "check_name": "y", "fingerprint": "z", "severity": "error", "location": {"path": "a", "lines": {"begin": 1}}}]);
    assert!(!validator.is_valid(&broken), "the schema can fail: GitLab has no severity `error`");

    let issues = report.as_array().expect("array");
    let fingerprints: BTreeSet<&str> = issues.iter().filter_map(|i| i["fingerprint"].as_str()).collect();
    assert_eq!(fingerprints.len(), issues.len(), "distinct fingerprints (GitLab keeps one per fingerprint)");
    assert!(issues.iter().any(|i| i["check_name"] == "secret-literal" && i["severity"] == "major"));
    assert!(issues.iter().any(|i| i["check_name"] == "probe-missing" && i["severity"] == "minor"));

    // Moving the object down the file changes lines, not fingerprints.
    write(tmp.path(), "deploy/app.yaml", &format!("# moved\n\n\n{DEPLOYMENT}"));
    let moved = fnops(tmp.path(), &["validate", "deploy", "--format", "gitlab"]);
    let moved: serde_json::Value = serde_json::from_str(&moved.stdout).expect("JSON");
    let after: BTreeSet<&str> =
        moved.as_array().expect("array").iter().filter_map(|i| i["fingerprint"].as_str()).collect();
    assert_eq!(after, fingerprints);
    let line = |r: &serde_json::Value| {
        r.as_array()
            .and_then(|a| a.iter().find(|i| i["check_name"] == "secret-literal"))
            .and_then(|i| i["location"]["lines"]["begin"].as_u64())
    };
    assert_eq!(line(&moved), line(&report).map(|l| l + 3));
}

#[test]
fn sarif_results_carry_fingerprints_and_one_category() {
    let tmp = tree();
    let out = fnops(tmp.path(), &["validate", "deploy", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF");
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "fnops/validate/");
    let results = run["results"].as_array().expect("results");
    let fingerprints: BTreeSet<&str> =
        results.iter().filter_map(|r| r["partialFingerprints"]["fnopsFinding/v1"].as_str()).collect();
    assert_eq!(fingerprints.len(), results.len());
}
