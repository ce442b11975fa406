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
        ".fnops/fnops.overlay.schema.json",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let overlay = std::fs::read_to_string(dir.join("environments/dev.yaml")).expect("overlay");
    assert!(
        overlay.starts_with("# yaml-language-server: $schema=../.fnops/fnops.overlay.schema.json\n"),
        "{overlay}"
    );
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

/// A project whose handler is `source`, in a temp dir.
fn project_with(source: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("fnops.yaml"),
        "function: {source: h.py}\nredis: {host: r, outputKey: o}\n",
    )
    .expect("write");
    std::fs::write(tmp.path().join("h.py"), source).expect("write");
    tmp
}

#[test]
fn invoke_runs_the_handler_through_the_worker_and_compares_outputs() {
    let series = repo().join("tests/fixtures/metrics/series-8cpu-36.jsonl");
    let series = series.to_str().expect("utf-8");
    // Expected values come from the reference loop with the course runtime's semantics.
    let reference = std::process::Command::new("python3")
        .arg(repo().join("benches/reference_runtime.py"))
        .args(["--module", repo().join("functions/metrics.py").to_str().expect("utf-8"), "--series", series])
        .output()
        .expect("python3");
    let tmp = tempfile::tempdir().expect("tmp");
    let expect = tmp.path().join("expected.jsonl");
    std::fs::write(&expect, &reference.stdout).expect("write");
    let out = fnops(&repo(), &["invoke", "--series", series, "--expect", expect.to_str().expect("utf-8")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("36 calls, 0 failed"), "{}", out.stderr);
    assert!(!out.stdout.contains("warning"), "a filling window is not a leak:\n{}", out.stdout);

    let mut lines: Vec<String> =
        String::from_utf8_lossy(&reference.stdout).lines().map(str::to_owned).collect();
    lines[3] = "{\"percent-network-egress\": 0}".into();
    std::fs::write(&expect, lines.join("\n")).expect("write");
    let mismatch =
        fnops(&repo(), &["invoke", "--series", series, "--expect", expect.to_str().expect("utf-8")]);
    assert_eq!(mismatch.code, 1);
    assert!(
        mismatch.stdout.contains(
            "# expected (byte for byte; `--expect-json` compares values): {\"percent-network-egress\": 0}"
        ),
        "{}",
        mismatch.stdout
    );

    // Bytes, not values: the same outputs with other spacing fail `--expect`, pass `--expect-json`.
    let respaced: String = String::from_utf8_lossy(&reference.stdout)
        .lines()
        .map(|l| {
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(l).expect("JSON")).expect("JSON")
                + "\n"
        })
        .collect();
    std::fs::write(&expect, respaced).expect("write");
    let bytes = fnops(&repo(), &["invoke", "--series", series, "--expect", expect.to_str().expect("utf-8")]);
    assert_eq!(bytes.code, 1, "the runtime writes `, ` and `: ` as json.dumps does");
    let values =
        fnops(&repo(), &["invoke", "--series", series, "--expect-json", expect.to_str().expect("utf-8")]);
    assert_eq!(values.code, 0, "{}{}", values.stdout, values.stderr);
}

/// `invoke` makes the handler checks of `fnops validate`, in the project's own files: the
/// handout's misspelled key, against the inputs of the run.
#[test]
fn invoke_warns_about_keys_the_inputs_never_hold() {
    let project = project_with(
        "def handler(input, context):\n    sent = input['net_io_counters_eth0-bytes_sent1']\n    return {'sent': sent}\n",
    );
    let out = fnops(project.path(), &["invoke"]);
    assert!(
        out.stderr.contains(
            "warning[input-key-unknown]: h.py:2:18: the handler reads `net_io_counters_eth0-bytes_sent1`"
        ) && out.stderr.contains("did you mean `net_io_counters_eth0-bytes_sent`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn invoke_flags_exceptions_falsy_results_non_json_and_growing_state() {
    let project = project_with(
        "import math\n\ndef handler(input, context):\n    n = context.env.get('n', 0) + 1\n    context.env['n'] = n\n    context.env['blob'] = context.env.get('blob', 'x' * 40000) * 2\n    if n == 2:\n        raise KeyError('net_io_counters_eth0-bytes_sent1')\n    if n == 3:\n        return None\n    if n == 4:\n        return {'x': math.nan}\n    return {'n': n}\n",
    );
    let series = project.path().join("series.jsonl");
    std::fs::write(&series, "{}\n".repeat(9)).expect("write");
    let out = fnops(project.path(), &["invoke", "--series", "series.jsonl"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("call 2: handler error: KeyError: 'net_io_counters_eth0-bytes_sent1'"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("call 3: the result is falsy"), "{}", out.stdout);
    assert!(out.stdout.contains("call 4: output error: the result is not JSON"), "{}", out.stdout);
    assert!(out.stdout.contains("warning: context.env grew on each of the last 5 calls"), "{}", out.stdout);
    assert!(out.stderr.contains("9 calls, 2 failed"), "{}", out.stderr);
}
