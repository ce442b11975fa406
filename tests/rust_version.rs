//! Each crate's `rust-version` is what its dependency tree really needs: the newest
//! `rust-version` any of its normal or build dependencies declares (all platforms), and never
//! below edition 2024's 1.85. Too low and `cargo install` fails with a confusing error on an
//! older toolchain; too high and it refuses toolchains that would work.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// `1.85` and `1.85.0` are the same version.
fn version(v: &str) -> [u64; 3] {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    [parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0)]
}

#[test]
fn rust_version_is_what_the_dependencies_need() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let packages: HashMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap_or(""), p))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or(""), n))
        .collect();
    let mut checked = Vec::new();
    for member in meta["workspace_members"].as_array().expect("members") {
        let member = member.as_str().expect("id");
        let (mut seen, mut stack) = (BTreeSet::new(), vec![member]);
        let mut needed = (version("1.85"), "edition 2024".to_owned());
        while let Some(id) = stack.pop() {
            for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
                let runtime_dep = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build");
                let pkg = dep["pkg"].as_str().expect("pkg");
                if runtime_dep && seen.insert(pkg) {
                    stack.push(pkg);
                    if let Some(v) = packages[pkg]["rust_version"].as_str()
                        && version(v) > needed.0
                    {
                        needed = (version(v), packages[pkg]["name"].as_str().unwrap_or("?").to_owned());
                    }
                }
            }
        }
        let package = packages[member];
        let name = package["name"].as_str().expect("name");
        let declared =
            package["rust_version"].as_str().unwrap_or_else(|| panic!("{name} declares no rust-version"));
        assert_eq!(
            version(declared),
            needed.0,
            "{name}: rust-version {declared}, but its tree needs {:?} (from {})",
            needed.0,
            needed.1
        );
        checked.push(name.to_owned());
    }
    assert_eq!(checked.len(), 3, "{checked:?}");
}
