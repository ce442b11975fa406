//! The hooks in `.pre-commit-hooks.yaml`, run by real `pre-commit` in a temporary git repository
//! that uses them (the `system` variants, with this build's `fnops` on PATH): a clean commit
//! passes, a stale tree and an invalid manifest each fail the commit with the expected message.
//!
//! `pre-commit` comes from PyPI (`.ci/run` installs it and sets `FNOPS_REQUIRE_PRECOMMIT=1`, so
//! CI cannot skip this test); elsewhere the test is skipped when it is missing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{example_project, repo};

fn sh(dir: &Path, program: &str, args: &[&str], path_env: &str) -> (i32, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path_env)
        .env("PRE_COMMIT_HOME", dir.join(".pre-commit-home"))
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn hooks_fail_stale_trees_and_invalid_manifests() {
    if Command::new("pre-commit").arg("--version").output().is_err() {
        assert!(std::env::var_os("FNOPS_REQUIRE_PRECOMMIT").is_none(), "pre-commit is required here");
        eprintln!("pre-commit not installed: skipped");
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fnops")).parent().expect("bin dir").to_path_buf();
    let path_env = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    // The hooks repository: this repository's hook file at a commit of its own.
    let hooks_repo = tempfile::tempdir().expect("tmp");
    std::fs::copy(repo().join(".pre-commit-hooks.yaml"), hooks_repo.path().join(".pre-commit-hooks.yaml"))
        .expect("copy");
    for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "hooks"]] {
        assert_eq!(sh(hooks_repo.path(), "git", args, &path_env).0, 0);
    }
    let (_, rev) = sh(hooks_repo.path(), "git", &["rev-parse", "HEAD"], &path_env);

    let project = example_project();
    let dir = project.path();
    std::fs::remove_dir(dir.join(".git")).expect("rm placeholder");
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: fnops-render-check-system\n      - id: fnops-validate-system\n",
            hooks_repo.path().display(),
            rev.trim()
        ),
    )
    .expect("config");
    assert_eq!(sh(dir, "git", &["init", "-q"], &path_env).0, 0);
    assert_eq!(sh(dir, "fnops", &["render"], &path_env).0, 0);
    let (code, out) = sh(dir, "pre-commit", &["install"], &path_env);
    assert_eq!(code, 0, "{out}");

    // A clean repository commits.
    sh(dir, "git", &["add", "-A"], &path_env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "clean"], &path_env);
    assert_eq!(code, 0, "a clean repository passes:\n{out}");

    // A project change without re-rendering: the tree is stale.
    let env_file = dir.join("environments/dev.yaml");
    let text = std::fs::read_to_string(&env_file).expect("read");
    std::fs::write(&env_file, text.replace("demo-dev-proj3-output", "changed-output")).expect("write");
    sh(dir, "git", &["add", "-A"], &path_env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "stale"], &path_env);
    assert_ne!(code, 0, "a stale tree must fail the commit:\n{out}");
    assert!(out.contains("is out of date") && out.contains("+  REDIS_OUTPUT_KEY: changed-output"), "{out}");
    assert_eq!(sh(dir, "fnops", &["render"], &path_env).0, 0);
    sh(dir, "git", &["add", "-A"], &path_env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "re-rendered"], &path_env);
    assert_eq!(code, 0, "{out}");

    // A hand-written manifest that Kubernetes would refuse.
    std::fs::write(
        dir.join("deploy/dev/flags.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  enabled: yes\n",
    )
    .expect("write");
    sh(dir, "git", &["add", "-A"], &path_env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "invalid"], &path_env);
    assert_ne!(code, 0, "an invalid manifest must fail the commit:\n{out}");
    assert!(out.contains("error[configmap-key]") && out.contains("deploy/dev/flags.yaml:6:12"), "{out}");
}
