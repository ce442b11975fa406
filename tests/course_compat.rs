//! The `course` flavour renders what students wrote by hand (the course's contract), plus only
//! additive fields. Both sides are parsed; every field of the hand-written manifests must be in
//! the render with the same value. Lists of named items (containers, env, volumes, mounts) are
//! matched by `name`, so extra items (like `INTERVAL`) are additions, not changes.

mod common;

use common::{fnops, repo};
use serde_json::Value;

fn subset(hand: &Value, ours: &Value, path: &str, problems: &mut Vec<String>) {
    match (hand, ours) {
        (Value::Object(h), Value::Object(o)) => {
            for (k, hv) in h {
                match o.get(k) {
                    Some(ov) => subset(hv, ov, &format!("{path}.{k}"), problems),
                    None => problems.push(format!("{path}.{k} is missing")),
                }
            }
        }
        (Value::Array(h), Value::Array(o)) if h.iter().all(|i| i.get("name").is_some()) => {
            for item in h {
                let name = &item["name"];
                match o.iter().find(|x| &x["name"] == name) {
                    Some(found) => subset(item, found, &format!("{path}[{name}]"), problems),
                    None => problems.push(format!("{path}[{name}] is missing")),
                }
            }
        }
        (Value::Array(h), Value::Array(o)) if h.len() == o.len() => {
            for (i, (hv, ov)) in h.iter().zip(o).enumerate() {
                subset(hv, ov, &format!("{path}[{i}]"), problems);
            }
        }
        _ if hand == ours => {}
        _ => problems.push(format!("{path}: hand-written {hand}, rendered {ours}")),
    }
}

fn objects(text: &str) -> Vec<Value> {
    fnops::yaml::parse_stream(text, 0, fnops::yaml::Schema::Kubernetes11)
        .expect("parses")
        .iter()
        .map(fnops::yaml::Node::to_json)
        .collect()
}

#[test]
fn course_flavour_equals_the_handwritten_manifests_plus_additions() {
    let hand = objects(
        &std::fs::read_to_string(repo().join("examples/course/handwritten/manifests.yaml")).expect("read"),
    );
    let out = fnops(&repo(), &["render", "examples/course", "--stdout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ours = objects(&out.stdout);
    assert_eq!(hand.len(), 3);
    let mut problems = Vec::new();
    for h in &hand {
        let id = (&h["kind"], &h["metadata"]["name"]);
        let found = ours.iter().find(|o| (&o["kind"], &o["metadata"]["name"]) == id);
        match found {
            Some(o) => subset(h, o, &format!("{}/{}", id.0, id.1), &mut problems),
            None => problems.push(format!("{}/{} is not rendered", id.0, id.1)),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // No runtime-config for the course image, and the module is mounted by subPath.
    assert!(!ours.iter().any(|o| o["metadata"]["name"] == "runtime-config"));
    assert!(out.stdout.contains("subPath: pyfile"));
}

#[test]
fn the_comparison_catches_a_difference() {
    let hand = objects("kind: X\nspec:\n  env:\n  - name: A\n    value: \"1\"\n");
    let ours = objects("kind: X\nspec:\n  env:\n  - name: A\n    value: \"2\"\n  - name: B\n");
    let mut problems = Vec::new();
    subset(&hand[0], &ours[0], "x", &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
}
