//! The keys an input document holds, for `input-key-unknown`: from the project's sample, or
//! the course's metrics document.

use std::collections::BTreeSet;

use super::KeyRead;

/// The course's metrics document: a real 16-CPU sample the collector wrote (the default input of
/// `fnops invoke`, and the keys `input-key-unknown` checks against without a sample of the
/// project's own).
pub const COURSE_SAMPLE: &str = include_str!("course-metrics.json");

/// The keys an input document holds, for `input-key-unknown`.
pub struct InputKeys {
    exact: BTreeSet<String>,
    /// `cpu_percent-` for `cpu_percent-0` ... `cpu_percent-15`: any index is accepted.
    numbered: BTreeSet<String>,
    /// Where the keys came from, for messages.
    pub origin: String,
}

impl InputKeys {
    /// The keys of a sample input document (a JSON object) in `path`.
    pub fn read(path: &std::path::Path) -> Result<InputKeys, String> {
        let shown = crate::paths::display(path);
        let bytes = crate::files::read(path, None, 16 << 20).map_err(|e| e.to_string())?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("`{shown}` is not JSON: {e}"))?;
        InputKeys::from_json(&value, format!("`{shown}`"))
            .ok_or_else(|| format!("`{shown}` is not a JSON object"))
    }

    pub fn from_json(value: &serde_json::Value, origin: impl Into<String>) -> Option<InputKeys> {
        let obj = value.as_object()?;
        let exact: BTreeSet<String> = obj.keys().cloned().collect();
        let numbered = exact
            .iter()
            .filter_map(|k| {
                let stem = k.trim_end_matches(|c: char| c.is_ascii_digit());
                (stem.len() < k.len() && stem.ends_with('-')).then(|| stem.to_owned())
            })
            .collect();
        Some(InputKeys { exact, numbered, origin: origin.into() })
    }

    /// The course's metrics document (a real 16-CPU sample).
    pub fn course() -> &'static InputKeys {
        static KEYS: std::sync::OnceLock<InputKeys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let sample: serde_json::Value = serde_json::from_str(COURSE_SAMPLE).unwrap_or_default();
            InputKeys::from_json(&sample, "the course's metrics document").unwrap_or(InputKeys {
                exact: BTreeSet::new(),
                numbered: BTreeSet::new(),
                origin: String::new(),
            })
        })
    }

    pub fn knows(&self, read: &KeyRead) -> bool {
        if read.prefix {
            return self.exact.iter().any(|k| k.starts_with(&read.key))
                || self
                    .numbered
                    .iter()
                    .any(|n| n.starts_with(&read.key) || read.key.starts_with(n.as_str()));
        }
        self.exact.contains(&read.key)
            || self.numbered.iter().any(|n| {
                read.key
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            })
    }

    /// The closest known key, as a hint.
    pub fn closest(&self, key: &str) -> Option<&str> {
        self.exact
            .iter()
            .map(|k| (strsim::jaro_winkler(key, k), k))
            .filter(|(s, _)| *s > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::python::PyPos;

    #[test]
    fn the_bundled_sample_is_the_course_fixture() {
        let fixture = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/metrics/course-2023-16cpu.json"
        ));
        assert_eq!(fixture.as_deref().ok(), Some(COURSE_SAMPLE));
    }

    #[test]
    fn the_handout_typo_is_unknown_to_the_course_keys() {
        let keys = InputKeys::course();
        let read =
            |k: &str, prefix| KeyRead { key: k.into(), prefix, at: PyPos { line: 1, col: 1 }, module: 0 };
        assert!(keys.knows(&read("net_io_counters_eth0-bytes_sent", false)));
        assert!(!keys.knows(&read("net_io_counters_eth0-bytes_sent1", false)));
        assert!(keys.knows(&read("cpu_percent-31", false)));
        assert!(keys.knows(&read("cpu_percent-", true)));
        assert_eq!(keys.closest("net_io_counters_eth0-bytes_sent1"), Some("net_io_counters_eth0-bytes_sent"));
    }
}
