//! Helpers shared by the integration tests: run the real binary, copy projects around.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `fnops` with `args` in `cwd`, with a clean environment for the variables it reads.
pub fn fnops(cwd: &Path, args: &[&str]) -> Output {
    fnops_env(cwd, args, &[])
}

pub fn fnops_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fnops"));
    cmd.args(args).current_dir(cwd).env_remove("FNOPS_ENV").env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("fnops runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copy a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("prefix");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh copy of the bundled example project (no rendered tree) in a temp dir with `.git`.
pub fn example_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = repo();
    std::fs::copy(root.join("fnops.yaml"), tmp.path().join("fnops.yaml")).expect("copy");
    copy_tree(&root.join("functions"), &tmp.path().join("functions"));
    copy_tree(&root.join("environments"), &tmp.path().join("environments"));
    std::fs::create_dir(tmp.path().join(".git")).expect("git dir");
    tmp
}

/// Every file below `dir`, relative path → bytes.
pub fn snapshot_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).expect("prefix").to_string_lossy().into_owned();
            files.push((rel, std::fs::read(entry.path()).expect("read")));
        }
    }
    files
}

/// Run git in `dir` with a fixed identity; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The wheels `scripts/build-wheels` made (`FNOPS_WHEELS`), or `None` to skip a test that
/// needs them; under `FNOPS_REQUIRE_PACKAGING` (scripts/test sets it) a missing wheel fails.
pub fn wheels(what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("FNOPS_WHEELS").map(PathBuf::from);
    let found = dir.filter(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.any(|f| is_wheel(&f))));
    if found.is_none() {
        assert!(
            std::env::var_os("FNOPS_REQUIRE_PACKAGING").is_none(),
            "{what} needs the wheels: run scripts/build-wheels and set FNOPS_WHEELS (scripts/test does both)"
        );
        eprintln!("{what}: no wheels (FNOPS_WHEELS): skipped");
    }
    found
}

fn is_wheel(entry: &std::io::Result<std::fs::DirEntry>) -> bool {
    entry.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".whl"))
}

/// The wheel of `package` (`fnops`, `fnops_runtime`) in `dir`.
pub fn wheel_of(dir: &Path, package: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("wheel dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(&format!("{package}-")) && name.ends_with(".whl")
        })
        .unwrap_or_else(|| panic!("no {package} wheel in {}", dir.display()))
}

/// `PATH` with every directory that holds a `cargo` (or `rustc`) left out: what a user who
/// installed fnops from a wheel has.
pub fn path_without_cargo() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let kept: Vec<&str> = path
        .split(':')
        .filter(|d| !d.is_empty() && !["cargo", "rustc"].iter().any(|b| Path::new(d).join(b).exists()))
        .collect();
    kept.join(":")
}

/// Run `program` with `args` in `cwd` and exactly `env` on top of a cleared environment;
/// (exit code, stdout, stderr).
pub fn run_clean(cwd: &Path, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(cwd).env_clear().env("HOME", cwd).env("LANG", "C.UTF-8");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
