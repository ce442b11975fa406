//! Golden files: every case under `tests/cases/` and every environment of the shipped examples
//! is rendered by the real binary and compared with its insta snapshot. `err_*` cases snapshot
//! the diagnostics (and must exit 1), the others the rendered YAML stream (and must exit 0).

mod common;

use common::{fnops, repo};

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/cases"))
        .expect("cases dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("fnops.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn golden_cases() {
    let dir = repo().join("tests/cases");
    let names = cases();
    assert!(names.len() >= 10, "cases: {names:?}");
    for name in names {
        let out = fnops(&dir, &["render", &name, "--stdout"]);
        let (expected_code, body) = if name.starts_with("err_") { (1, out.stderr) } else { (0, out.stdout) };
        assert_eq!(out.code, expected_code, "case {name}:\n{body}");
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("case", body);
        });
    }
}

#[test]
fn golden_examples() {
    for (dir, envs) in [(".", &["dev", "prod"][..]), ("examples/course", &["default"][..])] {
        for env in envs {
            let out = fnops(&repo(), &["render", dir, "--env", env, "--stdout"]);
            assert_eq!(out.code, 0, "{dir} {env}: {}", out.stderr);
            let suffix = format!("{}-{env}", if dir == "." { "root" } else { "course" });
            insta::with_settings!({ snapshot_suffix => suffix, prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!("example", out.stdout);
            });
        }
    }
}
