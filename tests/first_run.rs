//! First run: `fnops init` then `fnops render`; `fnops explain`; `fnops completions`.

mod common;

use common::{fnops, repo};

#[test]
fn init_scaffolds_a_project_that_renders_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tmp");
    let init = fnops(tmp.path(), &["init", "my function"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let dir = tmp.path().join("my function");
    let project = std::fs::read_to_string(dir.join("fnops.yaml")).expect("fnops.yaml");
    assert!(project.starts_with("# yaml-language-server: $schema=.fnops/fnops.schema.json\n"));
    assert!(project.contains("name: my-function\n"), "{project}");
    for file in [
        "functions/metrics.py",
        "environments/dev.yaml",
        ".pre-commit-config.yaml",
        "README.md",
        ".fnops/fnops.schema.json",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let render = fnops(&dir, &["render"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    assert!(dir.join("deploy/dev/deployment-my-function.yaml").is_file());
    let validate = fnops(&dir, &["validate", ".", "deploy"]);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);

    std::fs::write(dir.join("README.md"), "mine\n").expect("write");
    let again = fnops(tmp.path(), &["init", "my function"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("refusing to overwrite"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).expect("read"), "mine\n");
}

#[test]
fn every_rule_is_explained() {
    let mut ids: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/rules"))
        .expect("rules")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    ids.extend(
        [
            "unknown-field",
            "missing-field",
            "invalid-value",
            "literal-password",
            "source-outside-root",
            "source-missing",
        ]
        .map(String::from),
    );
    for id in ids {
        let out = fnops(&repo(), &["explain", &id]);
        assert_eq!(out.code, 0, "{id}: {}", out.stderr);
        assert!(out.stdout.starts_with(&format!("{id} (")), "{}", out.stdout);
        assert!(out.stdout.contains("Fix: "));
    }
    let unknown = fnops(&repo(), &["explain", "subpath-keys"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("did you mean `subpath-key`?"), "{}", unknown.stderr);
    let all = fnops(&repo(), &["explain"]);
    assert!(all.stdout.lines().count() >= 30, "{}", all.stdout);
}

#[test]
fn completions_for_common_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let out = fnops(&repo(), &["completions", shell]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("validate") && out.stdout.contains("render"), "{shell}");
    }
}
