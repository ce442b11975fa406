//! The CI examples run as their hosts run them: each `fnops` command of
//! `examples/ci/github-workflow.yml` and `examples/ci/gitlab-ci.yml`, in a Git repository holding
//! the bundled example, with the host's variables filled in.

mod common;

use common::{copy_tree, example_project, fnops, git, repo};

/// A command of an example: fnops's arguments, and the file its stdout goes to (`> f`, `| tee f`).
struct Step {
    args: Vec<String>,
    stdout_to: Option<String>,
}

fn commands(example: &str) -> Vec<Step> {
    let text = std::fs::read_to_string(repo().join("examples/ci").join(example)).expect("example");
    let doc = fnops::yaml::parse_stream(&text, 0, fnops::yaml::Schema::Core12).expect("the example is YAML");
    let mut found = Vec::new();
    collect(&doc[0].to_json(), &mut found);
    let mut steps = Vec::new();
    for script in &found {
        // Shell lines: `a; b`, `if ...; then fnops ...; fi`.
        for part in script.split(['\n', ';']).map(str::trim) {
            let part = part.strip_prefix("then ").unwrap_or(part);
            if !part.starts_with("fnops ") {
                continue;
            }
            let part = part
                .replace("\"origin/${{ github.base_ref }}\"", "HEAD~1")
                .replace("\"$CI_MERGE_REQUEST_DIFF_BASE_SHA\"", "HEAD~1");
            let (command, stdout_to) = match part.split_once(" > ").or_else(|| part.split_once(" | tee ")) {
                Some((c, to)) => (c.to_owned(), Some(to.trim().to_owned())),
                None => (part.clone(), None),
            };
            assert!(
                !command.contains('$') && !command.contains('|'),
                "a shell construct the test does not know: {command}"
            );
            steps.push(Step {
                args: command.split_whitespace().skip(1).map(str::to_owned).collect(),
                stdout_to,
            });
        }
    }
    steps
}

/// Every `run:` and `script:` string of a workflow.
fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("run", serde_json::Value::String(s)) => out.push(s.clone()),
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

fn run_all(dir: &std::path::Path, example: &str) -> Vec<(Vec<String>, String)> {
    let steps = commands(example);
    assert!(steps.len() >= 3, "{example}: {:?}", steps.iter().map(|s| &s.args).collect::<Vec<_>>());
    let mut outputs = Vec::new();
    for step in steps {
        let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
        let out = fnops(dir, &args);
        assert_eq!(out.code, 0, "{example}: fnops {args:?}\n{}{}", out.stdout, out.stderr);
        if let Some(to) = &step.stdout_to {
            std::fs::write(dir.join(to), &out.stdout).expect("write");
        }
        outputs.push((step.args.clone(), out.stdout));
    }
    outputs
}

fn schema_check(schema: &str, doc: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(schema)).expect("schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let errors: Vec<String> =
        validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}");
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
    // The pull request: a manifest with a warning, the workflow itself and a pre-commit
    // configuration (neither is a manifest), and a code change (the diff shows its objects).
    copy_tree(&repo().join("tests/fixtures/rules/image-latest"), &dir.join("deploy/extra"));
    std::fs::remove_file(dir.join("deploy/extra/pass.yaml")).expect("rm");
    std::fs::remove_file(dir.join("deploy/extra/expected.txt")).expect("rm");
    std::fs::create_dir_all(dir.join(".github/workflows")).expect("mkdir");
    std::fs::copy(repo().join("examples/ci/github-workflow.yml"), dir.join(".github/workflows/fnops.yml"))
        .expect("copy");
    std::fs::write(dir.join(".pre-commit-config.yaml"), "repos: []\n").expect("write");
    let code = std::fs::read_to_string(dir.join("functions/metrics.py")).expect("code");
    std::fs::write(dir.join("functions/metrics.py"), format!("# reviewed\n{code}")).expect("write");
    assert_eq!(fnops(dir, &["render"]).code, 0);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "change"]);

    let github = run_all(dir, "github-workflow.yml");
    let annotations = github
        .iter()
        .find(|(args, _)| args.contains(&"--changed-since".to_owned()))
        .expect("annotation step");
    assert!(
        annotations.1.contains("::warning file=deploy/extra/fail.yaml,line=13,col=18"),
        "{}",
        annotations.1
    );
    assert!(!annotations.1.contains(".github") && !annotations.1.contains("pre-commit"), "{}", annotations.1);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fnops.sarif")).expect("sarif written"))
            .expect("json");
    schema_check("tests/fixtures/sarif/sarif-schema-2.1.0.json", &sarif);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/extra/fail.yaml"
    ));
    assert!(results.iter().all(|r| r["partialFingerprints"].is_object()));
    let diff = std::fs::read_to_string(dir.join("fnops-diff.md")).expect("diff written");
    assert!(diff.starts_with("### fnops diff") && diff.contains("ConfigMap/demo-dev/pyfile"), "{diff}");

    run_all(dir, "gitlab-ci.yml");
    let junit = std::fs::read_to_string(dir.join("fnops-junit.xml")).expect("junit written");
    let xml = roxmltree::Document::parse(&junit).expect("junit is XML");
    let cases: Vec<_> = xml.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert!(
        cases.iter().all(|c| c.attribute("file").is_some()
            && c.children().filter(|n| n.has_tag_name("failure")).count() <= 1)
    );
    assert!(cases.iter().any(|c| c.attribute("name") == Some("Deployment/fn image-latest")), "{junit}");
    let quality: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("gl-code-quality.json")).expect("code quality written"),
    )
    .expect("json");
    schema_check("tests/fixtures/gitlab/codequality.schema.json", &quality);
    assert!(
        quality
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["location"]["path"] == "deploy/extra/fail.yaml"))
    );
    assert!(
        std::fs::read_to_string(dir.join("fnops-diff.md"))
            .expect("diff")
            .contains("ConfigMap/demo-dev/pyfile")
    );
}
