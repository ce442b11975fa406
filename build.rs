//! Decompress the bundled Kubernetes schemas once, at build time. The repository keeps them
//! gzipped (`schemas/kubernetes.json.gz`, 120 KB); the binary embeds the plain text, so a run
//! reads only the lines it needs instead of inflating 1.3 MB on every start.

use std::io::Read as _;
use std::path::PathBuf;

fn main() {
    let source = "schemas/kubernetes.json.gz";
    println!("cargo::rerun-if-changed={source}");
    let compressed = std::fs::read(source).unwrap_or_else(|e| panic!("reading {source}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{source} is not gzipped UTF-8: {e}"));
    // The byte range of every line, so that a run finds a schema without scanning the text.
    let mut lines = String::from("&[");
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            lines.push_str(&format!("({start}, {i}),"));
            start = i + 1;
        }
    }
    lines.push(']');
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, contents) in [("kubernetes.json", text), ("kubernetes_lines.rs", lines)] {
        let out = dir.join(name);
        std::fs::write(&out, contents).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    }
}
