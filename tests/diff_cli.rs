//! `fnops diff` on a real Git repository: commits that change the code, a setting and an
//! overlay, each compared with its parent; the working tree against `HEAD`; a project that did
//! not exist at the base. The index and the working tree are never touched.

mod common;

use common::{example_project, fnops, git};

fn commit(dir: &std::path::Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

fn edit(dir: &std::path::Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{rel} holds {from}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

/// `env: id change` lines of the text format.
fn changed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| {
            l.contains(": ")
                && (l.contains(" changed (") || l.contains(" added (") || l.contains(" removed ("))
        })
        .map(|l| l.split(" (").next().unwrap_or(l).to_owned())
        .collect()
}

#[test]
fn diff_shows_the_objects_each_kind_of_change_deploys() {
    let project = example_project();
    let dir = project.path();
    std::fs::remove_dir(dir.join(".git")).expect("rm");
    git(dir, &["init", "-q"]);
    commit(dir, "base");

    let none = fnops(dir, &["diff"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert_eq!(none.stdout, "no object changes since `HEAD`\n");

    // Code: both environments' pyfile, and the Deployments' checksum annotation.
    edit(dir, "functions/metrics.py", "def handler(", "# a comment\ndef handler(");
    let working = fnops(dir, &["diff"]);
    assert_eq!(working.code, 0, "{}", working.stderr);
    assert_eq!(
        changed(&working.stdout),
        vec![
            "dev: ConfigMap/demo-dev/pyfile changed",
            "dev: Deployment/demo-dev/serverless-redis changed",
            "prod: ConfigMap/demo/pyfile changed",
            "prod: Deployment/demo/serverless-redis changed",
        ],
        "{}",
        working.stdout
    );
    assert!(
        working.stdout.contains("+    # a comment") || working.stdout.contains("+  pyfile:"),
        "{}",
        working.stdout
    );
    assert!(working.stdout.contains("--- a/deploy/dev/"), "{}", working.stdout);
    commit(dir, "code");
    let code = fnops(dir, &["diff", "--base", "HEAD~1", "--exit-code"]);
    assert_eq!(code.code, 1, "--exit-code with differences");
    assert_eq!(changed(&code.stdout).len(), 4);

    // A setting of fnops.yaml: the period, in both environments' runtime-config (and the
    // Deployments' checksum of it, which rolls the pods).
    edit(dir, "fnops.yaml", "period: 5s", "period: 10s");
    commit(dir, "setting");
    let setting = fnops(dir, &["diff", "--base", "HEAD~1"]);
    assert_eq!(
        changed(&setting.stdout),
        vec![
            "dev: ConfigMap/demo-dev/runtime-config changed",
            "dev: Deployment/demo-dev/serverless-redis changed",
            "prod: ConfigMap/demo/runtime-config changed",
            "prod: Deployment/demo/serverless-redis changed",
        ],
        "{}",
        setting.stdout
    );

    // An overlay: prod only, and `--env` narrows.
    edit(dir, "environments/prod.yaml", "memory: 1Gi", "memory: 2Gi");
    commit(dir, "overlay");
    let overlay = fnops(dir, &["diff", "--base", "HEAD~1"]);
    assert_eq!(
        changed(&overlay.stdout),
        vec!["prod: Deployment/demo/serverless-redis changed"],
        "{}",
        overlay.stdout
    );
    assert!(
        overlay.stdout.contains("-              memory: 1Gi") || overlay.stdout.contains("memory: 1Gi"),
        "{}",
        overlay.stdout
    );
    let dev_only = fnops(dir, &["diff", "--base", "HEAD~1", "--env", "dev"]);
    assert_eq!(dev_only.stdout, "no object changes since `HEAD~1`\n");

    // Markdown for a pull-request comment, GitHub notices for annotations.
    let markdown = fnops(dir, &["diff", "--base", "HEAD~3", "--format", "markdown"]);
    assert_eq!(markdown.code, 0);
    assert!(markdown.stdout.starts_with("### fnops diff"), "{}", markdown.stdout);
    assert!(
        markdown.stdout.contains("| prod | `Deployment/demo/serverless-redis` | changed (+"),
        "{}",
        markdown.stdout
    );
    assert_eq!(markdown.stdout.matches("<details>").count(), markdown.stdout.matches("</details>").count());
    assert!(markdown.stdout.contains("```diff"), "{}", markdown.stdout);
    let notices = fnops(dir, &["diff", "--base", "HEAD~3", "--format", "github"]);
    assert!(
        notices.stdout.lines().all(|l| l.starts_with("::notice file=fnops.yaml,line=1,title=fnops diff::")),
        "{}",
        notices.stdout
    );
    assert_eq!(notices.stdout.lines().count(), 6, "{}", notices.stdout);

    // Nothing of the repository moved: no checkout, no index change.
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir)
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&status.stdout), "");

    // A project added in this change: every object is new, with a warning.
    let sub = dir.join("second");
    for part in ["functions", "environments"] {
        common::copy_tree(&dir.join(part), &sub.join(part));
    }
    std::fs::copy(dir.join("fnops.yaml"), sub.join("fnops.yaml")).expect("copy");
    let added = fnops(&sub, &["diff"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(added.stderr.contains("does not exist at `HEAD`"), "{}", added.stderr);
    assert!(changed(&added.stdout).iter().all(|l| l.ends_with(" added")), "{}", added.stdout);
    assert!(!changed(&added.stdout).is_empty());

    let bad = fnops(dir, &["diff", "--base", "--exit-code"]);
    assert_eq!(bad.code, 2, "a revision is never an option: {}", bad.stderr);
    let unknown = fnops(dir, &["diff", "--base", "no-such-branch"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("no-such-branch"), "{}", unknown.stderr);
}
