//! A kind's schema pruned to one object's shape. Compiling a whole Kubernetes schema (a
//! Deployment reaches PodSpec, every volume type, affinity...) costs tens of milliseconds; an
//! object touches a small part of it. Pruning keeps, under `properties`, only the keys the
//! object has (unknown keys still meet `additionalProperties: false`, absent required keys still
//! meet `required`), inlines `$ref`s only where the object has data, and merges the shapes of
//! all items of an array. The result validates that object exactly as the full schema would.

use serde_json::{Map, Value};

/// Refs are followed at most this deep (the object's own depth bounds it long before).
const MAX_DEPTH: usize = 64;

/// Resolve a `$ref` of the bundle (`/api/_definitions.json#/$defs/NAME`) to its schema, shared
/// (a definition is parsed once and never copied).
pub type Resolver<'a> = dyn Fn(&str) -> Option<std::sync::Arc<Value>> + 'a;

pub fn prune(schema: &Value, instance: &Value, resolve: &Resolver<'_>) -> Value {
    prune_at(schema, &[instance], resolve, 0)
}

/// `instances`: every value this schema applies to here (several for array items).
fn prune_at(schema: &Value, instances: &[&Value], resolve: &Resolver<'_>, depth: usize) -> Value {
    let Value::Object(obj) = schema else { return schema.clone() };
    if depth > MAX_DEPTH {
        return schema.clone();
    }
    let mut out = Map::new();
    let mut inlined = None;
    for (key, value) in obj {
        match key.as_str() {
            "$ref" => {
                let Some(target) = value.as_str().and_then(resolve) else {
                    out.insert(key.clone(), value.clone());
                    continue;
                };
                // `$ref` applies beside its siblings (2020-12): the target joins them in `allOf`.
                inlined = Some(prune_at(&target, instances, resolve, depth + 1));
            }
            "properties" => {
                let Value::Object(props) = value else { continue };
                let mut kept = Map::new();
                for (name, sub) in props {
                    let children: Vec<&Value> = instances.iter().filter_map(|i| i.get(name)).collect();
                    if !children.is_empty() {
                        kept.insert(name.clone(), prune_at(sub, &children, resolve, depth + 1));
                    }
                }
                out.insert(key.clone(), Value::Object(kept));
            }
            "items" if value.is_object() => {
                let elements: Vec<&Value> = instances.iter().filter_map(|i| i.as_array()).flatten().collect();
                out.insert(key.clone(), prune_over(value, &elements, resolve, depth + 1));
            }
            "additionalProperties" if value.is_object() => {
                let known: Vec<&str> = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let extra: Vec<&Value> = instances
                    .iter()
                    .filter_map(|i| i.as_object())
                    .flat_map(|o| o.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(_, v)| v))
                    .collect();
                out.insert(key.clone(), prune_over(value, &extra, resolve, depth + 1));
            }
            "oneOf" | "anyOf" | "allOf" => {
                let branches = value
                    .as_array()
                    .map(|b| b.iter().map(|s| prune_at(s, instances, resolve, depth + 1)).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Array(branches));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(target) = inlined {
        match out.get_mut("allOf").and_then(Value::as_array_mut) {
            Some(all) => all.push(target),
            None => {
                out.insert("allOf".into(), Value::Array(vec![target]));
            }
        }
    }
    Value::Object(out)
}

/// The subschema for `values` (array items, extra properties); with none, the empty schema,
/// which nothing can fail.
fn prune_over(schema: &Value, values: &[&Value], resolve: &Resolver<'_>, depth: usize) -> Value {
    if values.is_empty() { Value::Object(Map::new()) } else { prune_at(schema, values, resolve, depth) }
}
