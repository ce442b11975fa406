//! In-process micro benchmarks of the hot paths, with divan: `cargo bench --bench micro`.
//! The whole-process comparisons against peers are in `benches/run.py`; these show where the
//! time inside one process goes. Inputs are the bundled example and its committed tree.

use std::path::{Path, PathBuf};

use divan::{Bencher, black_box};
use fnops::project::load;
use fnops::render::{Placement, load_templates, render};
use fnops::validate::schema::SchemaSet;
use fnops::validate::{Doc, Options, validate};
use fnops::yaml::{Schema, parse_stream};

fn main() {
    divan::main();
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed(name: &str) -> String {
    std::fs::read_to_string(root().join("deploy/dev").join(name)).expect("committed tree")
}

/// The committed Deployment and pyfile ConfigMap, repeated: a 100-document stream as
/// `fnops validate` reads from a rendered tree.
fn stream_of_100() -> String {
    let pair = format!(
        "{}\n---\n{}",
        committed("deployment-serverless-redis.yaml"),
        committed("configmap-pyfile.yaml")
    );
    vec![pair; 50].join("\n---\n")
}

/// YAML with positions (our event-based tree), per 100 documents.
#[divan::bench]
fn yaml_parse_100_documents(bencher: Bencher) {
    let text = stream_of_100();
    bencher.counter(divan::counter::BytesCount::of_str(&text)).bench(|| {
        let docs = parse_stream(black_box(&text), 0, Schema::Kubernetes11).expect("valid YAML");
        assert_eq!(docs.len(), 100);
        docs
    });
}

fn deployment_json() -> serde_json::Value {
    let text = committed("deployment-serverless-redis.yaml");
    let docs = parse_stream(&text, 0, Schema::Kubernetes11).expect("valid YAML");
    docs[0].to_json()
}

/// One Deployment against the full strict 1.37 schema, compiled once beforehand (the path of
/// every object after the first few of a kind).
#[divan::bench]
fn schema_check_deployment_compiled(bencher: Bencher) {
    let schemas = SchemaSet::new("1.37".into());
    let object = deployment_json();
    let warm = schemas.check_full("apps/v1", "Deployment", &object).expect("Deployment has a schema");
    assert!(warm.is_empty(), "the committed Deployment is valid");
    bencher.bench(|| schemas.check_full("apps/v1", "Deployment", black_box(&object)));
}

/// The first Deployment of a run: schema pruned to the object's shape, compiled for it (what
/// `fnops render` pays once per kind).
#[divan::bench]
fn schema_check_deployment_first_of_run(bencher: Bencher) {
    let object = deployment_json();
    bencher.with_inputs(|| SchemaSet::new("1.37".into())).bench_values(|schemas| {
        schemas.check("apps/v1", "Deployment", black_box(&object)).expect("Deployment has a schema")
    });
}

/// Load the bundled example (`fnops.yaml` and its overlays) and render every environment,
/// without validation or writing.
#[divan::bench]
fn render_bundled_example(bencher: Bencher) {
    let dir = root();
    let templates = load_templates(None).expect("embedded templates");
    bencher.bench(|| {
        let mut loaded = load(black_box(&dir), None).expect("the example loads");
        let placement = Placement {
            out: dir.join("deploy"),
            repo_path: "deploy".into(),
            project_file: "fnops.yaml".into(),
        };
        let mut sources = std::mem::take(&mut loaded.sources);
        render(&loaded, &templates, &placement, &mut sources).expect("renders")
    });
}

/// Every rule (schemas included) on the rendered objects of the bundled example.
#[divan::bench]
fn validate_bundled_example(bencher: Bencher) {
    let dir: &Path = &root();
    let templates = load_templates(None).expect("embedded templates");
    let mut loaded = load(dir, None).expect("the example loads");
    let placement =
        Placement { out: dir.join("deploy"), repo_path: "deploy".into(), project_file: "fnops.yaml".into() };
    let mut sources = std::mem::take(&mut loaded.sources);
    let files = render(&loaded, &templates, &placement, &mut sources).expect("renders");
    let docs: Vec<Doc<'_>> = files.iter().map(|f| Doc { node: &f.object }).collect();
    let schemas = SchemaSet::new("1.37".into());
    bencher.bench(|| {
        let opts = Options { schemas: Some(&schemas), ..Options::default() };
        validate(black_box(&docs), &sources, &opts)
    });
}

/// The text report of 100,000 findings over 100 files (the size of the 100k-object tree's
/// warnings): grouping and writing, with snippets already captured as a streamed run has them.
#[divan::bench]
fn text_report_100000_findings(bencher: Bencher) {
    use fnops::finding::{Finding, Rule, Severity, Sources};
    let rules = [Rule::ConfigmapKey, Rule::NameDns1123, Rule::FieldRange, Rule::Quantity];
    let findings: Vec<Finding> = (0..100_000u32)
        .map(|i| {
            let rule = rules[i as usize % rules.len()];
            Finding {
                rule,
                severity: if i % 100 == 0 { Severity::Error } else { Severity::Warning },
                file: format!("tree/part-{:03}.yaml", i / 1000),
                line: 1 + (i % 1000) * 40,
                column: 7,
                len: 12,
                object: Some(format!("Deployment/default/fn-{i}")),
                message: format!("container `fn-{i}` has a value `{}` out of range", i % 7),
                hint: Some("see `fnops explain`".into()),
                refers_to: None,
                snippet: Some(format!("        value: fn-{i}")),
            }
        })
        .collect();
    let sources = Sources::default();
    bencher.bench(|| fnops::report::render_text(black_box(&findings), &sources).len());
}
