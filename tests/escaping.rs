//! Any handler source survives rendering: the `pyfile` value parsed back from the rendered YAML
//! (with YAML 1.2 and with Kubernetes' YAML 1.1 rules) equals the source file byte for byte.

use fnops::render::{Placement, load_templates, render};
use fnops::yaml::{Node, Schema, parse_stream};
use proptest::prelude::*;

fn rendered_pyfile(source: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("fnops.yaml"),
        "function: {source: h.py}\nredis: {host: r, outputKey: o}\n",
    )
    .expect("write");
    std::fs::write(tmp.path().join("h.py"), source).expect("write");
    let loaded = fnops::project::load(tmp.path(), None).expect("loads");
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    let templates = load_templates(None).expect("templates");
    let placement = Placement {
        out: tmp.path().join("deploy"),
        repo_path: "deploy".into(),
        project_file: "fnops.yaml".into(),
    };
    let mut sources = loaded.sources.clone();
    let files = render(&loaded, &templates, &placement, &mut sources).expect("renders");
    let cm = files.iter().find(|f| f.path.ends_with("configmap-pyfile.yaml")).expect("pyfile ConfigMap");
    let mut back = None;
    for schema in [Schema::Core12, Schema::Kubernetes11] {
        let docs = parse_stream(&cm.text, 0, schema).expect("rendered YAML parses");
        let value = docs[0]
            .get("data")
            .and_then(|d| d.get("pyfile"))
            .and_then(Node::as_str)
            .expect("pyfile key")
            .to_owned();
        if let Some(previous) = &back {
            assert_eq!(previous, &value);
        }
        back = Some(value);
    }
    back.unwrap_or_default()
}

#[test]
fn awkward_sources_survive() {
    for source in [
        "def handler(i, c):\n    return {}\n",
        "no trailing newline",
        "crlf\r\nlines\r\n",
        "tabs\tand trailing spaces   \n\n\n",
        "{{ not_a_variable }} {% raw %}\n---\n...\n",
        "\"quotes\" 'single' \\backslash\\\n",
        "  leading spaces\n",
        "\n\nleading newlines\n",
        "unicode: é ✓ 😀 \u{2028} \u{85} \u{feff}\n",
        "",
    ] {
        assert_eq!(rendered_pyfile(source), source, "{source:?}");
    }
}

fn awkward_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::char::range(' ', '~'),
        1 => prop::sample::select(vec!['\n', '\r', '\t', '"', '\\', '{', '}', '%', '#', ':', '-', '|', '>', '\u{0}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}', 'é', '😀']),
        1 => any::<char>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn any_source_round_trips(chars in prop::collection::vec(awkward_char(), 0..200)) {
        let source: String = chars.into_iter().collect();
        prop_assert_eq!(rendered_pyfile(&source), source);
    }
}
