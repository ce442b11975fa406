//! Hostile input: fnops runs on pull requests from anyone and on any repository an Application
//! points at. Whatever the bytes, it answers with findings or a clear error: never a panic, a
//! stack overflow, unbounded memory, or a read outside the project. These property tests are
//! the `cargo test` form of the fuzz targets (see docs/SECURITY.md).

mod common;

use common::{example_project, fnops};
use proptest::prelude::*;

/// YAML-ish text: the tokens that make parsers and validators take unusual paths.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("apiVersion: v1\n".to_owned()),
        Just("kind: ConfigMap\n".to_owned()),
        Just("kind: Deployment\napiVersion: apps/v1\n".to_owned()),
        Just("metadata:\n  name: a\n".to_owned()),
        Just("data:\n  pyfile: |\n    def handler(i, c):\n      return {\n".to_owned()),
        Just(
            "spec: {template: {spec: {containers: [{name: c, volumeMounts: [{name: x, subPath: y}]}]}}}\n"
                .to_owned()
        ),
        Just("---\n".to_owned()),
        Just("&a [*a]\n".to_owned()),
        Just("- *undefined\n".to_owned()),
        Just("<<: {x: 1}\n".to_owned()),
        Just("? [complex]\n: key\n".to_owned()),
        Just("\"unterminated\n".to_owned()),
        Just("\t\r\n\u{feff}\u{0}".to_owned()),
        Just("binaryData: {f.zip: UEsDBBQAAAAIAA==}\n".to_owned()),
        "[a-z{}\\[\\]:,&*!|>'\"#% -]{0,20}\n",
    ];
    prop::collection::vec(token, 0..12).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_manifest_validator_never_panics(text in yamlish()) {
        let mut sources = fnops::finding::Sources::default();
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("m.yaml");
        std::fs::write(&file, &text).expect("write");
        let loaded = fnops::manifest::load(&[file], &mut sources).expect("readable");
        let docs: Vec<fnops::validate::Doc<'_>> = loaded.docs.iter().map(|node| fnops::validate::Doc { node }).collect();
        let schemas = fnops::validate::SchemaSet::new("1.37".into());
        let opts = fnops::validate::Options { schemas: Some(&schemas), ..Default::default() };
        let findings = fnops::validate::validate(&docs, &sources, &opts);
        for f in findings.iter().chain(loaded.findings.iter()) {
            prop_assert!(f.line >= 1 && f.column >= 1, "{f:?}");
        }
    }

    #[test]
    fn the_project_loader_never_panics(text in yamlish(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let tmp = tempfile::tempdir().expect("tmp");
        for content in [text.into_bytes(), bytes] {
            std::fs::write(tmp.path().join("fnops.yaml"), &content).expect("write");
            let loaded = fnops::project::load(tmp.path(), None);
            prop_assert!(loaded.is_ok());
        }
    }

    #[test]
    fn any_bytes_give_findings_not_crashes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut sources = fnops::finding::Sources::default();
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("m.yaml");
        std::fs::write(&file, &bytes).expect("write");
        prop_assert!(fnops::manifest::load(&[file], &mut sources).is_ok());
    }
}

fn validate_text(text: &[u8]) -> common::Output {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("m.yaml"), text).expect("write");
    let out = fnops(tmp.path(), &["validate", "m.yaml", "--format", "json"]);
    std::mem::forget(tmp);
    out
}

#[test]
fn yaml_bombs_deep_nesting_and_bad_bytes_are_clear_errors() {
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (laughs.into_bytes(), "alias bomb"),
        // The parser's own limit (flow collections) or ours (block nesting), whichever is first.
        ("[".repeat(100_000).into_bytes(), "recursion limit exceeded"),
        (
            (0..2_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>().into_bytes(),
            "nesting deeper than",
        ),
        (
            {
                let mut v = b"kind: ConfigMap\nmetadata: {name: a}\ndata: {a: \"".to_vec();
                v.extend([0xff, 0xfe]);
                v.extend(b"\"}\n");
                v
            },
            "not valid UTF-8",
        ),
        (b"kind: ConfigMap\nmetadata: {name: \"a\x00b\"}\n".to_vec(), "yaml-syntax"),
    ];
    for (text, expected) in cases {
        let out = validate_text(&text);
        assert_eq!(out.code, 1, "{expected}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(expected), "{expected}: {}", out.stdout);
    }
}

#[test]
fn huge_scalars_and_many_documents_are_handled() {
    // One 8 MiB scalar and 20,000 tiny documents: checked, not refused, no crash.
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  blob: \"{}\"\n",
        "x".repeat(8 << 20)
    );
    let out = validate_text(big.as_bytes());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("configmap-size"), "{}", &out.stdout[..out.stdout.len().min(2000)]);
    let many: String = (0..20_000)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"))
        .collect();
    let out = validate_text(many.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("checked 20000 documents"), "{}", out.stderr);
}

#[test]
fn paths_never_leave_the_project() {
    let project = example_project();
    let dir = project.path();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(outside.path().join("secret.py"), "def handler(i, c):\n    return {}\n").expect("write");
    std::os::unix::fs::symlink(outside.path().join("secret.py"), dir.join("functions/link.py"))
        .expect("symlink");
    let text = std::fs::read_to_string(dir.join("fnops.yaml")).expect("read");
    std::fs::write(dir.join("fnops.yaml"), text.replace("functions/metrics.py", "functions/link.py"))
        .expect("write");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("error[source-outside-root]") && out.stderr.contains("resolves outside"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("secret"), "nothing of the outside file is rendered");

    std::fs::write(dir.join("fnops.yaml"), text.replace("functions/metrics.py", "/etc/hostname"))
        .expect("write");
    let out = fnops(dir, &["render", "--stdout"]);
    assert!(out.stderr.contains("is absolute"), "{}", out.stderr);

    // A package directory with a link out of the project is refused too.
    std::fs::write(
        dir.join("fnops.yaml"),
        text.replace("functions/metrics.py", "functions/pkg")
            .replace("handler: handler", "handler: pkg.main.handler"),
    )
    .expect("write");
    std::fs::create_dir(dir.join("functions/pkg")).expect("mkdir");
    std::fs::write(dir.join("functions/pkg/main.py"), "def handler(i, c):\n    return {}\n").expect("write");
    std::os::unix::fs::symlink(outside.path().join("secret.py"), dir.join("functions/pkg/leak.py"))
        .expect("symlink");
    let out = fnops(dir, &["render", "--stdout"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("leak.py") && out.stderr.contains("not followed"), "{}", out.stderr);
}
