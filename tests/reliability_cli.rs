//! Regression tests for the CLI defects of the second reliability round: a repository is not
//! trusted input (links to `/proc/self/environ`, `/dev/zero` or `.git/config` committed in a pull
//! request), renders run concurrently, runs are killed, disks fill up. Each test failed before
//! its fix.

mod common;

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{example_project, fnops, fnops_env, repo, snapshot_tree};

const CANARY: &str = "FNOPS_TEST_CANARY_7f3a";

/// A symbolic link in the output tree, where `render --check` reads: the diff must never show
/// what it points at (here the process environment, with a secret in it).
#[test]
fn a_link_in_the_tree_is_refused_and_never_read() {
    let project = example_project();
    let dir = project.path();
    assert_eq!(fnops(dir, &["render"]).code, 0);
    let target = dir.join("deploy/dev/configmap-outputkey.yaml");
    std::fs::remove_file(&target).expect("rm");
    symlink("/proc/self/environ", &target).expect("link");
    for args in [&["render", "--check"][..], &["render"]] {
        let out = fnops_env(dir, args, &[(CANARY, "secret-value")]);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
            "the environment leaked:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stderr.contains("configmap-outputkey.yaml` is a symbolic link"), "{}", out.stderr);
    }
    // A link to a device is refused the same way, without reading it.
    std::fs::remove_file(&target).expect("rm");
    symlink("/dev/zero", &target).expect("link");
    let started = Instant::now();
    let out = fnops(dir, &["render", "--check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A committed `deploy/dev` link to another directory: that directory's files were hard-linked
/// into the tree; a committed `deploy` link made fnops write outside the repository.
#[test]
fn links_as_output_directories_are_refused() {
    let project = example_project();
    let dir = project.path();
    let elsewhere = tempfile::tempdir().expect("tmp");
    std::fs::write(elsewhere.path().join("private.yaml"), "secret: 1\n").expect("write");
    std::fs::create_dir(dir.join("deploy")).expect("mkdir");
    symlink(elsewhere.path(), dir.join("deploy/dev")).expect("link");
    let out = fnops(dir, &["render"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("deploy/dev` is a symbolic link"), "{}", out.stderr);
    assert_eq!(snapshot_tree(elsewhere.path()).len(), 1, "nothing written through the link");

    std::fs::remove_file(dir.join("deploy/dev")).expect("rm");
    std::fs::remove_dir(dir.join("deploy")).expect("rm");
    symlink(elsewhere.path(), dir.join("deploy")).expect("link");
    let out = fnops(dir, &["render"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("`deploy` is a symbolic link"), "{}", out.stderr);
    assert_eq!(snapshot_tree(elsewhere.path()).len(), 1, "nothing written outside the repository");
}

/// A manifest named on the command line that links outside the repository is not read: its
/// target never shows in a snippet.
#[test]
fn validate_never_prints_what_a_link_out_of_the_repository_points_at() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(tmp.path().join(".git")).expect("repo");
    let secret = tempfile::NamedTempFile::new().expect("secret");
    std::fs::write(secret.path(), format!("{CANARY}: [unclosed\n")).expect("write");
    symlink(secret.path(), tmp.path().join("link.yaml")).expect("link");
    let out = fnops(tmp.path(), &["validate", "link.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stdout.contains(CANARY) && !out.stderr.contains(CANARY), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("`link.yaml` is a link to"), "{}", out.stderr);
    // Special files are refused by what they are, not as missing.
    let out = fnops(tmp.path(), &["validate", "/dev/zero"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`/dev/zero` is a character device, not a regular file"), "{}", out.stderr);
}

/// In a walked directory, a link that stays inside the repository is followed (it used to be
/// skipped silently); one that leaves it is reported, and the walk goes on.
#[test]
fn walked_links_are_followed_inside_the_repository_and_reported_outside() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(tmp.path().join(".git")).expect("repo");
    std::fs::create_dir_all(tmp.path().join("shared")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("deploy")).expect("mkdir");
    std::fs::copy(
        repo().join("tests/fixtures/rules/configmap-key/fail.yaml"),
        tmp.path().join("shared/cm.yaml"),
    )
    .expect("copy");
    symlink(tmp.path().join("shared/cm.yaml"), tmp.path().join("deploy/inside.yaml")).expect("link");
    symlink("/etc/hostname", tmp.path().join("deploy/outside.yaml")).expect("link");
    let out = fnops(tmp.path(), &["validate", "deploy", "--format", "json"]);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("json");
    let at = |rule: &str, file: &str| findings.iter().any(|f| f["rule"] == rule && f["file"] == file);
    assert!(at("configmap-key", "deploy/inside.yaml"), "the link inside is followed: {findings:#?}");
    assert!(at("file-refused", "deploy/outside.yaml"), "the link outside is reported: {findings:#?}");
}

/// A package file linking to `.git/config` (with the checkout's credentials) was zipped into
/// a ConfigMap.
#[test]
fn a_package_link_into_a_hidden_path_is_refused() {
    let project = tempfile::tempdir().expect("tmp");
    let dir = project.path();
    common::copy_tree(&repo().join("tests/cases/ok_package"), dir);
    std::fs::create_dir_all(dir.join(".git")).expect("repo");
    std::fs::write(dir.join(".git/config"), format!("[http]\n  extraheader = {CANARY}\n")).expect("write");
    symlink(dir.join(".git/config"), dir.join("src/mypkg/settings.txt")).expect("link");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains(CANARY));
    assert!(out.stderr.contains("hidden path (`.git`)"), "{}", out.stderr);
}

/// An environment named `..` hard-linked the whole project into `deploy/`; one named `argocd`
/// wrote into the Applications' directory unvalidated; `a` and `` a`b `` shared files.
#[test]
fn environment_names_must_be_dns_labels_and_not_reserved() {
    for bad in ["...yaml", "argocd.yaml", "a`b.yaml", "Prod.yaml"] {
        let project = example_project();
        let dir = project.path();
        std::fs::write(dir.join("environments").join(bad), "namespace: x\n").expect("write");
        let out = fnops(dir, &["render"]);
        assert_eq!(out.code, 1, "{bad}: {}", out.stderr);
        assert!(
            out.stderr.contains("error[invalid-value]") && out.stderr.contains("environment name"),
            "{bad}: {}",
            out.stderr
        );
        assert!(!dir.join("deploy").exists(), "{bad}: nothing written");
    }
}

/// Renders into one output directory at once (two hooks, an editor and a terminal) used to fail
/// or leave a directory lost or partial; they take turns now. Two versions of the project
/// render alternately into one `--out`, so every render has something to swap.
#[test]
fn concurrent_renders_into_one_tree_all_succeed() {
    let (a, b) = (example_project(), example_project());
    let overlay = b.path().join("environments/dev.yaml");
    let text = std::fs::read_to_string(&overlay).expect("read");
    std::fs::write(&overlay, text.replace("demo-dev-proj3-output", "other-output")).expect("write");
    let out_dir = tempfile::tempdir().expect("out");
    let out = out_dir.path().join("deploy");
    let out_arg = out.to_str().expect("utf-8").to_owned();
    assert_eq!(fnops(a.path(), &["render", "--out", &out_arg]).code, 0);
    let expected: Vec<String> = snapshot_tree(&out).into_iter().map(|(n, _)| n).collect();
    for round in 0..8 {
        let children: Vec<_> = (0..10)
            .map(|i| {
                let project = if i % 2 == 0 { a.path() } else { b.path() };
                Command::new(env!("CARGO_BIN_EXE_fnops"))
                    .args(["render", "--out", &out_arg])
                    .current_dir(project)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let done = child.wait_with_output().expect("wait");
            assert!(done.status.success(), "round {round}: {}", String::from_utf8_lossy(&done.stderr));
        }
        let names: Vec<String> = snapshot_tree(&out).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, expected, "round {round}: every file, nothing else");
    }
}

/// Where `RENAME_EXCHANGE` is missing, the swap is two renames; a kill between them used to lose
/// the files of the old directory that fnops does not own. The next run puts them back.
#[test]
fn a_kill_in_the_middle_of_the_fallback_swap_loses_nothing() {
    let project = example_project();
    let dir = project.path();
    assert_eq!(fnops(dir, &["render"]).code, 0);
    std::fs::write(dir.join("deploy/dev/notes.md"), "hand-written\n").expect("write");
    let overlay = dir.join("environments/dev.yaml");
    let text = std::fs::read_to_string(&overlay).expect("read");
    std::fs::write(&overlay, text.replace("demo-dev-proj3-output", "other-output")).expect("write");
    let killed =
        fnops_env(dir, &["render"], &[("FNOPS_FAULT_NO_EXCHANGE", "1"), ("FNOPS_FAULT_ABORT_MOVED", "0")]);
    assert_ne!(killed.code, 0, "the fault kills the render");
    assert!(!dir.join("deploy/dev").exists(), "killed with the old directory moved aside");
    let again = fnops_env(dir, &["render"], &[("FNOPS_FAULT_NO_EXCHANGE", "1")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/dev/notes.md")).ok().as_deref(),
        Some("hand-written\n")
    );
    assert!(
        std::fs::read_to_string(dir.join("deploy/dev/configmap-outputkey.yaml"))
            .expect("rendered")
            .contains("other-output")
    );
    assert!(fnops::write::staging_dirs(&dir.join("deploy")).is_empty(), "no staging left");
}

/// Leftover staging directories are removed even when the tree is up to date, and only ours:
/// a user directory of a similar name is kept.
#[test]
fn only_our_leftover_staging_directories_are_removed() {
    let project = example_project();
    let dir = project.path();
    assert_eq!(fnops(dir, &["render"]).code, 0);
    let ours = dir.join("deploy/.fnops-staging-left");
    std::fs::create_dir_all(ours.join("dev")).expect("mkdir");
    std::fs::write(ours.join(".fnops-staging"), "12345").expect("marker");
    let theirs = dir.join("deploy/.fnops-staging-mine");
    std::fs::create_dir_all(&theirs).expect("mkdir");
    std::fs::write(theirs.join("keep.txt"), "mine\n").expect("write");
    let out = fnops(dir, &["render"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("0 written"), "up to date: {}", out.stderr);
    assert!(!ours.exists(), "our leftover is gone");
    assert!(theirs.join("keep.txt").is_file(), "a user directory is never touched");
}

/// A hand-written file with the name of a rendered one used to be overwritten without a word.
#[test]
fn a_hand_written_file_with_a_rendered_name_is_not_overwritten() {
    let project = example_project();
    let dir = project.path();
    std::fs::create_dir_all(dir.join("deploy/dev")).expect("mkdir");
    let mine = dir.join("deploy/dev/configmap-outputkey.yaml");
    std::fs::write(&mine, "# my own notes\n").expect("write");
    let out = fnops(dir, &["render"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("was not written by fnops"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&mine).expect("kept"), "# my own notes\n");
}

/// Output to a full disk (`/dev/full`) is an error, not a silent truncation; a closed pipe is
/// not.
#[test]
fn write_errors_on_stdout_exit_2_and_a_closed_pipe_exits_0() {
    let project = example_project();
    let dir = project.path();
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let cases: [&[&str]; 3] = [&["render", "--stdout"], &["validate", "--format", "json"], &["schema"]];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_fnops"))
            .args(args)
            .current_dir(dir)
            .stdout(full())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to stdout"), "{args:?}");
    }
    let generate = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["argocd", "generate"])
        .current_dir(dir)
        .env("ARGOCD_ENV_FNOPS_ENV", "dev")
        .stdout(full())
        .output()
        .expect("runs");
    assert_eq!(generate.status.code(), Some(2), "{}", String::from_utf8_lossy(&generate.stderr));
    // A reader that stops early: exit 0.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["render", "--stdout"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// Feed `docs` documents of `each` bytes of data to `fnops validate -`; its exit code and stderr.
fn validate_stdin_stream(docs: usize, each: usize) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fnops"))
        .args(["validate", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let value = "x".repeat(each);
        for i in 0..docs {
            let doc = format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: {value}\n"
            );
            if stdin.write_all(doc.as_bytes()).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `fnops validate -` cut stdin at 64 MiB and said "0 errors". A big stream is now read a run of
/// documents at a time, so all of it is checked: none of it is cut.
#[test]
fn a_stream_over_64_mib_on_stdin_is_checked_whole() {
    let (code, stderr) = validate_stdin_stream(70, 1 << 20);
    // Each ConfigMap holds 1 MiB of data: a warning each (at the size the API server allows).
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("checked 70 documents in 1 files"), "{stderr}");
    assert!(stderr.contains("0 errors, 70 warnings"), "{stderr}");
}

/// One document over the 64 MiB a part may hold is refused, never cut.
#[test]
fn a_document_over_64_mib_on_stdin_is_refused() {
    let (code, stderr) = validate_stdin_stream(1, 65 << 20);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("<stdin>: a document over 64 MiB (refused)"), "{stderr}");
}

/// Bytes that are not UTF-8 in `fnops.yaml` were replaced silently.
#[test]
fn a_project_file_that_is_not_utf8_is_an_error_at_its_byte() {
    let project = example_project();
    let dir = project.path();
    let mut bytes = std::fs::read(dir.join("fnops.yaml")).expect("read");
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(dir.join("fnops.yaml"), bytes).expect("write");
    let out = fnops(dir, &["render"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error[yaml-syntax]: the file is not valid UTF-8"), "{}", out.stderr);
}

/// A revision that is an option never reaches git as one.
#[test]
fn changed_since_refuses_an_option_for_a_revision() {
    let project = example_project();
    let dir = project.path();
    std::fs::remove_dir(dir.join(".git")).expect("rm");
    common::git(dir, &["init", "-q"]);
    let out = fnops(dir, &["validate", "--changed-since=--output=owned.txt"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!dir.join("owned.txt").exists());
}

/// A template that loops (a `--templates` override is user code) runs out of fuel.
#[test]
fn a_looping_template_runs_out_of_fuel() {
    let project = example_project();
    let dir = project.path();
    let templates = dir.join("tpl");
    std::fs::create_dir(&templates).expect("mkdir");
    std::fs::write(
        templates.join("configmap-outputkey.yaml.j2"),
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    )
    .expect("write");
    let started = Instant::now();
    let out = fnops(dir, &["render", "--stdout", "--templates", "tpl"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("fuel"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// `fnops validate .` on a project counted nothing.
#[test]
fn validating_a_project_counts_its_documents_and_files() {
    let project = example_project();
    let out = fnops(project.path(), &["validate", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("checked 10 documents in"), "{}", out.stderr);
    assert!(!out.stderr.contains("in 0 files"), "{}", out.stderr);
}

/// A 50 MB handler used to be read whole before any error.
#[test]
fn project_files_have_a_size_cap() {
    let project = example_project();
    let dir = project.path();
    let handler = dir.join("functions/metrics.py");
    let file = std::fs::OpenOptions::new().append(true).open(&handler).expect("open");
    file.set_len(50 << 20).expect("grow");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("over the 1048576-byte limit"), "{}", out.stderr);
}

/// An alias bomb in the project file: refused by its expanded size, quickly.
#[test]
fn an_alias_bomb_in_the_project_file_is_refused() {
    let project = example_project();
    let dir = project.path();
    let mut text = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    text.push_str(&format!("annotations:\n  x: &big \"{}\"\n", "x".repeat(400_000)));
    text.push_str("labels:\n");
    for i in 0..60 {
        text.push_str(&format!("  l{i}: *big\n"));
    }
    std::fs::write(dir.join("fnops.yaml"), text).expect("write");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("bytes (refused as an alias bomb)"), "{}", out.stderr);
}

/// A directory that cannot be read no longer aborts a walk, and is named itself.
#[test]
fn an_unreadable_directory_is_reported_and_the_walk_goes_on() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(root.join("tree/locked")).expect("mkdir");
    std::fs::copy(repo().join("tests/fixtures/rules/configmap-key/fail.yaml"), root.join("tree/cm.yaml"))
        .expect("copy");
    std::fs::set_permissions(root.join("tree"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(root.join("tree/cm.yaml"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    std::fs::set_permissions(root.join("tree/locked"), std::fs::Permissions::from_mode(0o000))
        .expect("chmod");
    // Root reads everything: run as `nobody` when the test runs as root.
    let binary = env!("CARGO_BIN_EXE_fnops");
    let mut cmd = if unsafe_is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", binary]);
        c
    } else {
        Command::new(binary)
    };
    let out = cmd.args(["validate", "tree", "--format", "json"]).current_dir(root).output().expect("runs");
    std::fs::set_permissions(root.join("tree/locked"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod back");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        findings.iter().any(|f| f["rule"] == "file-refused" && f["file"] == "tree/locked"),
        "{findings:#?}"
    );
    assert!(findings.iter().any(|f| f["rule"] == "configmap-key"), "the rest is checked: {findings:#?}");
}

fn unsafe_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `<<: 5` passed, where kubectl refuses a merge of something that is not a mapping.
#[test]
fn a_merge_key_of_a_scalar_is_a_syntax_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  <<: 5\n",
    )
    .expect("write");
    let out = fnops(tmp.path(), &["validate", "cm.yaml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("error[yaml-syntax]") && out.stdout.contains("merge key"), "{}", out.stdout);
}

/// A ZIP inside the documented limits with 2,000 entries of Python (here 64 KiB each, 128 MiB
/// in all from a few hundred KiB of ConfigMap) took minutes to check; the check now stops at a
/// budget of parsed Python.
#[test]
fn a_zip_of_many_big_modules_is_checked_within_a_budget() {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let module = "x = 1\n".repeat(11_000);
    for i in 0..2000 {
        zip.start_file(format!("pkg/m{i}.py"), zip::write::SimpleFileOptions::default()).expect("entry");
        zip.write_all(module.as_bytes()).expect("write");
    }
    let bytes = zip.finish().expect("zip").into_inner();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("cm.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: code\nbinaryData:\n  zipped-module: {b64}\n"
        ),
    )
    .expect("write");
    let started = Instant::now();
    let out = fnops(tmp.path(), &["validate", "cm.yaml", "--format", "json"]);
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let _ = Path::new(".");
}
