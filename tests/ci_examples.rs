//! The CI examples run as their hosts run them: each `fnops` command of
//! `examples/ci/github-workflow.yml` and `examples/ci/gitlab-ci.yml`, in a Git repository holding
//! the bundled example, with the host's variables filled in.

mod common;

use common::{copy_tree, example_project, fnops, git, repo};

fn commands(example: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("examples/ci").join(example)).expect("example");
    let doc = fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Core12).expect("the example is YAML");
    let mut found = Vec::new();
    collect(&doc[0].to_json(), &mut found);
    found
        .iter()
        .filter(|c| c.trim_start().starts_with("fnops "))
        .map(|c| {
            c.replace("\"origin/${{ github.base_ref }}\"", "HEAD~1")
                .split_whitespace()
                .skip(1)
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// Every `run:` and `script:` string of a workflow.
fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("run", serde_json::Value::String(s)) => out.push(s.replace('\n', " ")),
                    ("script", serde_json::Value::Array(lines)) => {
                        out.extend(lines.iter().filter_map(|l| l.as_str().map(str::to_owned)));
                    }
                    _ => collect(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

#[test]
fn the_ci_examples_commands_work_on_a_real_repository() {
    let project = example_project();
    let dir = project.path();
    std::fs::remove_dir(dir.join(".git")).expect("rm");
    assert_eq!(fnops(dir, &["render"]).code, 0);
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    copy_tree(&repo().join("tests/fixtures/rules/image-latest"), &dir.join("deploy/extra"));
    std::fs::remove_file(dir.join("deploy/extra/pass.yaml")).expect("rm");
    std::fs::remove_file(dir.join("deploy/extra/expected.txt")).expect("rm");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "change"]);

    let github = commands("github-workflow.yml");
    assert!(github.len() >= 3, "{github:?}");
    for args in &github {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = fnops(dir, &args);
        assert_eq!(out.code, 0, "fnops {args:?}\n{}{}", out.stdout, out.stderr);
        if args.contains(&"github") {
            assert!(
                out.stdout.contains("::warning file=deploy/extra/fail.yaml,line=13,col=18"),
                "{}",
                out.stdout
            );
        }
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fnops.sarif")).expect("sarif written"))
            .expect("json");
    assert_eq!(sarif["version"], "2.1.0");

    for args in commands("gitlab-ci.yml") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = fnops(dir, &args);
        assert_eq!(out.code, 0, "fnops {args:?}\n{}{}", out.stdout, out.stderr);
    }
    let junit = std::fs::read_to_string(dir.join("fnops-junit.xml")).expect("junit written");
    roxmltree::Document::parse(&junit).expect("junit is XML");
}
