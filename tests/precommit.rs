//! The hooks in `.pre-commit-hooks.yaml`, run by real `pre-commit` in a temporary git repository
//! that uses them: a clean commit passes, a stale tree and an invalid manifest each fail the
//! commit with the expected message. Two ways in:
//! - the `language: python` hooks (the recommended default): pre-commit builds the hook
//!   environment with `pip install .` of this repository's root (a shim depending on the `fnops`
//!   wheel), here from the locally built wheel with no package index and no `cargo` on PATH;
//! - the `-system` hooks (`language: unsupported`), with this build's `fnops` on PATH.
//!
//! `pre-commit` comes from PyPI (`scripts/test` installs it and sets `FNOPS_REQUIRE_PRECOMMIT=1`,
//! so CI cannot skip these tests); elsewhere they are skipped when it is missing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{example_project, path_without_cargo, repo, wheels};

fn sh(dir: &Path, program: &str, args: &[&str], env: &[(&str, String)]) -> (i32, String) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("PRE_COMMIT_HOME", dir.join(".pre-commit-home"))
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn precommit_available() -> bool {
    if Command::new("pre-commit").arg("--version").output().is_err() {
        assert!(std::env::var_os("FNOPS_REQUIRE_PRECOMMIT").is_none(), "pre-commit is required here");
        eprintln!("pre-commit not installed: skipped");
        return false;
    }
    true
}

/// A hooks repository: this repository's hook file and root `pyproject.toml` (what pre-commit
/// installs for python hooks) at a commit of their own. Returns it and the commit.
fn hooks_repo(env: &[(&str, String)]) -> (tempfile::TempDir, String) {
    let hooks = tempfile::tempdir().expect("tmp");
    for file in [".pre-commit-hooks.yaml", "pyproject.toml"] {
        std::fs::copy(repo().join(file), hooks.path().join(file)).expect("copy");
    }
    for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "hooks"]] {
        assert_eq!(sh(hooks.path(), "git", args, env).0, 0);
    }
    let (_, rev) = sh(hooks.path(), "git", &["rev-parse", "HEAD"], env);
    (hooks, rev.trim().to_owned())
}

/// Commit a clean repository (passes), a stale tree (fails with the diff), then an invalid
/// manifest (fails with the finding), using the hooks `ids`; `fnops` is the binary that renders
/// the tree between the steps.
fn hooks_guard_commits(ids: &[&str], env: &[(&str, String)], fnops: &str) {
    let (hooks, rev) = hooks_repo(env);
    let project = example_project();
    let dir = project.path();
    std::fs::remove_dir(dir.join(".git")).expect("rm placeholder");
    let hook_lines: String = ids.iter().map(|id| format!("      - id: {id}\n")).collect();
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n{hook_lines}", hooks.path().display()),
    )
    .expect("config");
    assert_eq!(sh(dir, "git", &["init", "-q"], env).0, 0);
    assert_eq!(sh(dir, fnops, &["render"], env).0, 0);
    let (code, out) = sh(dir, "pre-commit", &["install"], env);
    assert_eq!(code, 0, "{out}");

    // A clean repository commits (the first commit also builds the hook environment).
    sh(dir, "git", &["add", "-A"], env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "clean"], env);
    assert_eq!(code, 0, "a clean repository passes:\n{out}");

    // A project change without re-rendering: the tree is stale.
    let env_file = dir.join("environments/dev.yaml");
    let text = std::fs::read_to_string(&env_file).expect("read");
    std::fs::write(&env_file, text.replace("demo-dev-proj3-output", "changed-output")).expect("write");
    sh(dir, "git", &["add", "-A"], env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "stale"], env);
    assert_ne!(code, 0, "a stale tree must fail the commit:\n{out}");
    assert!(out.contains("is out of date") && out.contains("+  REDIS_OUTPUT_KEY: changed-output"), "{out}");
    assert_eq!(sh(dir, fnops, &["render"], env).0, 0);
    sh(dir, "git", &["add", "-A"], env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "re-rendered"], env);
    assert_eq!(code, 0, "{out}");

    // A hand-written manifest that Kubernetes would refuse.
    std::fs::write(
        dir.join("deploy/dev/flags.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  enabled: yes\n",
    )
    .expect("write");
    sh(dir, "git", &["add", "-A"], env);
    let (code, out) = sh(dir, "git", &["commit", "-m", "invalid"], env);
    assert_ne!(code, 0, "an invalid manifest must fail the commit:\n{out}");
    assert!(out.contains("error[configmap-key]") && out.contains("deploy/dev/flags.yaml:6:12"), "{out}");
}

#[test]
fn python_hooks_install_the_wheel_and_guard_commits() {
    if !precommit_available() {
        return;
    }
    let Some(wheels) = wheels("the python pre-commit hooks") else { return };
    let path = path_without_cargo();
    assert!(
        !path.split(':').any(|d| Path::new(d).join("cargo").exists()),
        "the hook environment must be built without cargo"
    );
    // The hook environment's `fnops` renders between the steps too: the one from the wheel,
    // installed by pre-commit. Until then, an `fnops` from the same wheel in a venv of our own.
    let tools = tempfile::tempdir().expect("tmp");
    let venv = tools.path().join("venv");
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).env("PATH", &path).status();
    assert!(ok.is_ok_and(|s| s.success()), "venv");
    let links = format!("{} {}", wheels.display(), wheels.join("deps").display());
    let env = vec![
        ("PATH", path.clone()),
        ("PIP_NO_INDEX", "1".to_owned()),
        ("PIP_FIND_LINKS", links),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1".to_owned()),
    ];
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "fnops"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("pip");
    assert!(pip.status.success(), "{}", String::from_utf8_lossy(&pip.stderr));
    let fnops = venv.join("bin/fnops");
    hooks_guard_commits(&["fnops-render-check", "fnops-validate"], &env, fnops.to_str().expect("utf-8"));
}

#[test]
fn system_hooks_use_the_installed_fnops() {
    if !precommit_available() {
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fnops")).parent().expect("bin dir").to_path_buf();
    let path_env = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    hooks_guard_commits(
        &["fnops-render-check-system", "fnops-validate-system"],
        &[("PATH", path_env)],
        "fnops",
    );
}
