//! Fingerprints that survive moving code: what a finding is about (rule, object, file) and its
//! rank among the findings about the same thing, not its line. GitLab Code Quality and SARIF
//! consumers match findings across runs by them, so a moved object keeps its findings.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::finding::Finding;

/// Fingerprints handed out one finding at a time; the ranks are per file, so a streamed run
/// forgets a file's once it moves on.
#[derive(Default)]
pub struct Fingerprints {
    file: String,
    seen: HashMap<(&'static str, String), usize>,
}

impl Fingerprints {
    pub fn next(&mut self, f: &Finding) -> String {
        if self.file != f.file {
            self.file.clone_from(&f.file);
            self.seen.clear();
        }
        let object = f.object.as_deref().unwrap_or("");
        let rank = self.seen.entry((f.rule.id(), object.to_owned())).or_default();
        *rank += 1;
        let mut hash = Sha256::new();
        for part in [f.rule.id(), object, f.file.as_str(), &rank.to_string()] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// One fingerprint per finding, in order: 32 hex digits, distinct within a report (findings
/// come sorted by file).
pub fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut prints = Fingerprints::default();
    findings.iter().map(|f| prints.next(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Rule, Sources};
    use crate::yaml::Loc;

    fn at(line: u32, object: &str) -> Finding {
        let mut sources = Sources::default();
        let id = sources.add("deploy/app.yaml", "");
        Finding::new(
            Rule::ProbeMissing,
            &sources,
            Loc { file: id, line, col: 3, len: 1 },
            format!("line {line}"),
        )
        .with_object(Some(object.into()))
    }

    #[test]
    fn moving_code_keeps_fingerprints_and_repeats_stay_distinct() {
        let before = fingerprints(&[at(10, "Deployment/a"), at(20, "Deployment/b")]);
        let after = fingerprints(&[at(14, "Deployment/a"), at(31, "Deployment/b")]);
        assert_eq!(before, after);
        assert_ne!(before[0], before[1]);
        let twice = fingerprints(&[at(10, "Deployment/a"), at(12, "Deployment/a")]);
        assert_ne!(twice[0], twice[1]);
        assert_eq!(before[0].len(), 32);
    }
}
