//! A manifest stream from arbitrary bytes through every rule, schemas included.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static SCHEMAS: OnceLock<fnops::validate::SchemaSet> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| fnops::validate::SchemaSet::new("1.37".into(), Vec::new()));
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = fnops::finding::Sources::default();
    let id = sources.add("fuzz.yaml", text);
    let Ok(docs) = fnops::yaml::parse_stream(sources.text(id), id, fnops::yaml::Schema::Kubernetes11) else {
        return;
    };
    let docs: Vec<fnops::validate::Doc<'_>> = docs.iter().map(|node| fnops::validate::Doc { node }).collect();
    let opts = fnops::validate::Options { schemas: Some(schemas), ..Default::default() };
    let _ = fnops::validate::validate(&docs, &sources, &opts);
});
