//! SARIF 2.1.0 for code scanning: the rule catalogue in `tool.driver.rules`, one result per
//! finding with its physical location and a fingerprint that survives moving code
//! (`partialFingerprints`), under one category (`automationDetails.id`).

use serde_json::json;

use super::fingerprint::fingerprints;
use crate::finding::Rule;
use crate::finding::{Finding, Severity};

/// The category code scanning files the results under (`automationDetails.id`, ending in `/`):
/// upload the full tree's report under it, so absent alerts mean fixed ones.
const CATEGORY: &str = "fnops/validate/";

/// The document around the results (`results` empty).
pub fn document(results: Vec<serde_json::Value>) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.id(),
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.summary()},
                "help": {"text": r.help()},
                "defaultConfiguration": {"level": level(r.severity())},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "fnops",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/fnops/fnops",
                "rules": rules,
            }},
            "automationDetails": {"id": CATEGORY},
            "results": results,
        }],
    })
}

/// One result.
pub fn result(f: &Finding, fingerprint: String) -> serde_json::Value {
    let mut text = f.message.clone();
    if let Some(hint) = &f.hint {
        text.push_str(&format!(" (hint: {hint})"));
    }
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": f.file},
                "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
            }
        }],
        // Rule, object and file: stable when the object moves.
        "partialFingerprints": {"fnopsFinding/v1": fingerprint},
    });
    if let (Some(obj), Some(map)) = (&f.object, result.as_object_mut()) {
        map.insert("properties".into(), json!({"object": obj}));
    }
    if let Some(index) = Rule::ALL.iter().position(|r| *r == f.rule)
        && let Some(map) = result.as_object_mut()
    {
        map.insert("ruleIndex".into(), json!(index));
    }
    result
}

pub fn render(findings: &[Finding]) -> String {
    let results = findings.iter().zip(fingerprints(findings)).map(|(f, fp)| result(f, fp)).collect();
    let mut text = serde_json::to_string_pretty(&document(results)).unwrap_or_default();
    text.push('\n');
    text
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
