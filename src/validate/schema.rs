//! Rule `schema`: each object against the strict JSON Schema of its kind, for one Kubernetes
//! version, from the bundle in `schemas/kubernetes.json.gz` (see `schemas/README.md`), which
//! `build.rs` decompresses into the binary. Only the lines a run uses are parsed; each kind's
//! validator is compiled once and shared by all threads.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Registry, Validator};
use serde::Deserialize;
use serde_json::Value;

static BUNDLE: &str = include_str!(concat!(env!("OUT_DIR"), "/kubernetes.json"));
/// Byte ranges of the bundle's lines, computed by `build.rs`.
static BUNDLE_LINES: &[(usize, usize)] = include!(concat!(env!("OUT_DIR"), "/kubernetes_lines.rs"));
/// Where the bundle's `$ref`s point: `/api/_definitions.json#/$defs/...` resolves against it.
const BASE: &str = "https://kubernetes.schemas.fnops.invalid/api/";

/// The bundle: a header line, one index line per version, one schema per line (see
/// `schemas/generate_kubernetes.py`). Only the lines a run uses are parsed.
struct Bundle {
    text: &'static str,
    /// Byte ranges of the lines.
    lines: &'static [(usize, usize)],
    versions: Vec<String>,
    indexes: Vec<OnceLock<Option<BundleVersion>>>,
}

#[derive(Deserialize)]
struct Header {
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct BundleVersion {
    defs: BTreeMap<String, usize>,
    kinds: BTreeMap<String, usize>,
}

impl Bundle {
    fn line(&self, n: usize) -> &str {
        self.lines.get(n).map_or("", |&(start, end)| &self.text[start..end])
    }

    /// Schema `index` of the pool, parsed.
    fn schema(&self, index: usize) -> Option<Value> {
        serde_json::from_str(self.line(1 + self.versions.len() + index)).ok()
    }

    fn version(&self, version: &str) -> Option<&BundleVersion> {
        let i = self.versions.iter().position(|v| v == version)?;
        self.indexes[i].get_or_init(|| serde_json::from_str(self.line(1 + i)).ok()).as_ref()
    }
}

fn bundle() -> &'static Bundle {
    static CELL: OnceLock<Bundle> = OnceLock::new();
    CELL.get_or_init(|| {
        let (text, lines) = (BUNDLE, BUNDLE_LINES);
        let header: Header =
            serde_json::from_str(&text[lines[0].0..lines[0].1]).expect("the bundle header is JSON");
        let indexes = header.versions.iter().map(|_| OnceLock::new()).collect();
        Bundle { text, lines, versions: header.versions, indexes }
    })
}

/// Bundled Kubernetes versions, oldest first (`1.29` ... `1.37`).
pub fn bundled_versions() -> Vec<&'static str> {
    bundle().versions.iter().map(String::as_str).collect()
}

/// A Kubernetes version as `(major, minor)`: `1.31`, `v1.31.2`, `1.31+`.
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().trim_start_matches('v').split(['.', '-', '+']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The Kubernetes versions the objects are for: one version, or an upgrade from `from` to `to`
/// (`--kube-version 1.31..1.34`), which reports what breaks on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub from: (u32, u32),
    pub to: (u32, u32),
}

impl Target {
    /// The newest bundled version.
    pub fn newest() -> Target {
        let v = bundled_versions().last().and_then(|v| parse_version(v)).unwrap_or((1, 0));
        Target { from: v, to: v }
    }

    pub fn is_upgrade(&self) -> bool {
        self.from != self.to
    }
}

/// The schemas to validate against, and the versions the user targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The bundled version used (the bundle nearest the target, or the upgrade's end).
    pub bundled: String,
    /// The versions asked for (`None`: the newest bundled).
    pub target: Option<Target>,
    /// What the user should know (the target is outside the bundled range).
    pub notes: Vec<String>,
}

/// The bundled version to validate against: the newest one not newer than `requested`
/// (`1.31`, `v1.31.2`), or the newest of all when nothing is requested. A target older than the
/// oldest bundle (a course cluster on 1.28, as ArgoCD's `KUBE_VERSION` says) uses the oldest,
/// with a note; one newer than the newest uses the newest, with a note.
pub fn resolve_version(requested: Option<&str>) -> Result<Resolved, String> {
    let versions = bundled_versions();
    let newest = versions.last().copied().unwrap_or_default();
    let Some(req) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Resolved { bundled: newest.to_owned(), target: None, notes: Vec::new() });
    };
    let bad =
        || format!("`{req}` is not a Kubernetes version such as `1.31`, or a range such as `1.31..1.34`");
    let (from, want) = match req.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse_version(a).ok_or_else(bad)?, parse_version(b).ok_or_else(bad)?);
            if a > b {
                return Err(format!("`{req}`: the range goes backwards"));
            }
            (a, b)
        }
        None => {
            let v = parse_version(req).ok_or_else(bad)?;
            (v, v)
        }
    };
    let oldest = versions[0];
    let mut notes = Vec::new();
    let bundled = match versions.iter().rev().find(|v| parse_version(v).is_some_and(|have| have <= want)) {
        Some(v) => (*v).to_owned(),
        None => {
            notes.push(format!(
                "Kubernetes {}.{} is older than the bundled schemas ({oldest} to {newest}): validating against {oldest}",
                want.0, want.1
            ));
            oldest.to_owned()
        }
    };
    if parse_version(newest).is_some_and(|n| want > n) {
        notes.push(format!(
            "Kubernetes {}.{} is newer than the bundled schemas ({oldest} to {newest}): validating against {newest}",
            want.0, want.1
        ));
    }
    Ok(Resolved { bundled, target: Some(Target { from, to: want }), notes })
}

/// The release that removed an API, and its replacement `apiVersion`.
pub type Removed = ((u32, u32), Option<String>);

/// When the bundled schemas stop serving a kind at an `apiVersion`: the first bundled release
/// without it (after one with it), and the `apiVersion` of the same group that serves the kind
/// in that release (stable before beta before alpha). Every object asks, so the common answer
/// (served everywhere, or nowhere) costs a substring search per release index, not a parse of
/// them all; the index of the removing release is parsed only for a removal.
pub fn removal_in_bundles(api_version: &str, kind: &str) -> Option<Removed> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Removed>>>> = OnceLock::new();
    let key = format!("{api_version}/{kind}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
        return found.clone();
    }
    let found = find_removal(&key, kind);
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, found.clone());
    found
}

fn find_removal(key: &str, kind: &str) -> Option<Removed> {
    if kind.ends_with("List") {
        return None;
    }
    let bundle = bundle();
    // Index lines map `group/version/Kind` keys to schemas; `$defs` names never contain `/`.
    let needle = format!("\"{key}\":");
    let present: Vec<bool> =
        (0..bundle.versions.len()).map(|i| bundle.line(1 + i).contains(&needle)).collect();
    let gone = present.windows(2).position(|w| w[0] && !w[1])? + 1;
    let removed_in = parse_version(&bundle.versions[gone])?;
    let group = key.rsplitn(3, '/').nth(2).unwrap_or("");
    let rank = |v: &str| {
        let version = v.rsplit('/').next().unwrap_or(v);
        (!version.contains("alpha"), !version.contains("beta"), version.to_owned())
    };
    let replacement = bundle.version(&bundle.versions[gone]).and_then(|next| {
        next.kinds
            .keys()
            .filter_map(|k| k.rsplit_once('/'))
            .filter(|(gv, k)| *k == kind && gv.rsplit_once('/').map_or("", |(g, _)| g) == group)
            .map(|(gv, _)| gv)
            .max_by_key(|gv| rank(gv))
            .map(str::to_owned)
    });
    Some((removed_in, replacement))
}

/// Outcome of looking up a kind's schema.
pub enum Lookup {
    Found(Arc<Validator>),
    /// No bundled or extra schema: a CRD or a typo in `kind`/`apiVersion`.
    Unknown,
}

/// A kind's validator, compiled at most once even when threads ask for it together.
type Slot = Arc<OnceLock<Option<Arc<Validator>>>>;

/// Objects of one kind checked with a schema pruned to their shape before the full schema is
/// compiled once for the rest (see `prune.rs`): a render checks a handful of objects, a big
/// tree thousands.
const PRUNED_PER_KIND: usize = 16;

/// Compiled validators for one Kubernetes version, plus schemas from `--schema-dir` and the
/// bundled Argo CD schemas.
pub struct SchemaSet {
    version: String,
    extra: ExtraSchemas,
    registry: OnceLock<Option<Registry<'static>>>,
    cache: Mutex<HashMap<String, Slot>>,
    /// Objects of each kind checked so far (decides pruned or full).
    seen: Mutex<HashMap<String, usize>>,
    /// Parsed `$defs`, shared by the pruning of every object.
    defs: Mutex<HashMap<String, Arc<Value>>>,
    /// Parsed top-level schemas of kinds, for pruning.
    kind_schemas: Mutex<HashMap<String, Arc<Value>>>,
    /// A `--schema-dir` schema that could not be read or compiled: a usage error.
    broken: Mutex<Option<String>>,
    /// Validators of pruned schemas, by the pruned schema's text.
    pruned: Mutex<HashMap<String, Arc<Validator>>>,
}

/// The Argo CD kinds fnops writes (Application, ApplicationSet, AppProject), hand-written from
/// the Argo CD documentation (see `schemas/README.md`).
const ARGOCD: &[(&str, &str)] = &[
    ("argoproj.io/application_v1alpha1", include_str!("../../schemas/argocd/application_v1alpha1.json")),
    (
        "argoproj.io/applicationset_v1alpha1",
        include_str!("../../schemas/argocd/applicationset_v1alpha1.json"),
    ),
    ("argoproj.io/appproject_v1alpha1", include_str!("../../schemas/argocd/appproject_v1alpha1.json")),
];

/// Schema files of `--schema-dir`s, indexed by name when the set is opened.
#[derive(Default)]
struct ExtraSchemas {
    /// `<group>/<kind>_<version>` (the CRDs-catalog layout) and, for files at the top of a
    /// directory, `<kind>_<version>` and `<kind>-<group prefix>-<version>` (kubeconform's).
    files: HashMap<String, PathBuf>,
}

impl ExtraSchemas {
    fn scan(dirs: &[PathBuf]) -> Result<ExtraSchemas, String> {
        let mut files = HashMap::new();
        for dir in dirs {
            let shown = crate::paths::display(dir);
            let entries = fs_err::read_dir(dir).map_err(|e| format!("`--schema-dir {shown}`: {e}"))?;
            let mut subdirs = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| format!("`--schema-dir {shown}`: {e}"))?;
                let path = entry.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                    continue;
                };
                if path.is_dir() && !name.starts_with('.') {
                    subdirs.push((name, path));
                } else if let Some(stem) = name.strip_suffix(".json") {
                    // The first directory given wins.
                    files.entry(stem.to_lowercase()).or_insert(path);
                }
            }
            for (group, sub) in subdirs {
                let Ok(entries) = fs_err::read_dir(&sub) else { continue };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if let Some(stem) =
                        path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".json"))
                    {
                        files.entry(format!("{group}/{}", stem.to_lowercase())).or_insert(path);
                    }
                }
            }
        }
        Ok(ExtraSchemas { files })
    }

    /// The file for a kind, most specific name first.
    fn find(&self, api_version: &str, kind: &str) -> Option<&PathBuf> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let group_short = group.split('.').next().unwrap_or(group);
        let kind = kind.to_lowercase();
        [
            format!("{group}/{kind}_{version}"),
            format!("{kind}_{version}"),
            format!("{kind}-{group_short}-{version}"),
        ]
        .iter()
        .find_map(|k| self.files.get(k))
    }
}

impl SchemaSet {
    /// The bundled schemas of `version` only.
    pub fn new(version: String) -> SchemaSet {
        SchemaSet::with(version, ExtraSchemas::default())
    }

    /// The bundled schemas of `version`, and those of `--schema-dir`s: a directory that cannot
    /// be listed is an error.
    pub fn open(version: String, extra_dirs: &[PathBuf]) -> Result<SchemaSet, String> {
        Ok(SchemaSet::with(version, ExtraSchemas::scan(extra_dirs)?))
    }

    fn with(version: String, extra: ExtraSchemas) -> SchemaSet {
        SchemaSet {
            version,
            extra,
            registry: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            defs: Mutex::new(HashMap::new()),
            kind_schemas: Mutex::new(HashMap::new()),
            broken: Mutex::new(None),
            pruned: Mutex::new(HashMap::new()),
        }
    }

    /// The first `--schema-dir` schema that could not be read or compiled, if any: the run
    /// must end as a usage error (exit 2), not with `unknown-kind`.
    pub fn broken(&self) -> Option<String> {
        self.broken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn fail(&self, message: String) {
        self.broken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(message);
    }

    /// Check one object: `None` when its kind has no schema. The first objects of a kind get a
    /// schema pruned to their shape; after that the full schema, compiled once, is used.
    pub fn check(&self, api_version: &str, kind: &str, instance: &Value) -> Option<Vec<Violation>> {
        let key = format!("{api_version}/{kind}");
        let nth = {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if nth <= PRUNED_PER_KIND
            && self.extra_schema(api_version, kind).is_none()
            && let Some(result) = self.check_pruned(&key, instance)
        {
            return result;
        }
        self.check_full(api_version, kind, instance)
    }

    /// Check with the full schema only (what `check` does after the first objects of a kind).
    pub fn check_full(&self, api_version: &str, kind: &str, instance: &Value) -> Option<Vec<Violation>> {
        match self.lookup(api_version, kind) {
            Lookup::Found(validator) => Some(violations(&validator, instance)),
            Lookup::Unknown => None,
        }
    }

    /// `Some(None)`: no such kind; `None`: pruning did not apply (fall back to the full schema).
    fn check_pruned(&self, key: &str, instance: &Value) -> Option<Option<Vec<Violation>>> {
        let bundle = bundle();
        let version = bundle.version(&self.version)?;
        let Some(&index) = version.kinds.get(key) else { return Some(None) };
        let schema = {
            let mut kinds = self.kind_schemas.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match kinds.get(key) {
                Some(found) => found.clone(),
                None => {
                    let parsed = Arc::new(bundle.schema(index)?);
                    kinds.insert(key.to_owned(), parsed.clone());
                    parsed
                }
            }
        };
        let resolve = |reference: &str| -> Option<Arc<Value>> {
            let name = reference.rsplit_once("#/$defs/")?.1;
            let mut defs = self.defs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(found) = defs.get(name) {
                return Some(found.clone());
            }
            let parsed: Arc<Value> = Arc::new(bundle.schema(*version.defs.get(name)?)?);
            defs.insert(name.to_owned(), parsed.clone());
            Some(parsed)
        };
        let pruned = super::prune::prune(&schema, instance, &resolve);
        // Objects of one shape (a render's environments, a tree's many ConfigMaps) prune to the
        // same schema: compile it once.
        let text = serde_json::to_string(&pruned).ok()?;
        let cached =
            self.pruned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&text).cloned();
        let validator = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(jsonschema::options().build(&pruned).ok()?);
                self.pruned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(text, v.clone());
                v
            }
        };
        Some(Some(violations(&validator, instance)))
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The validator of `apiVersion`/`kind`, compiled on first use.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Lookup {
        let key = format!("{api_version}/{kind}");
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.entry(key.clone()).or_default().clone()
        };
        match cell.get_or_init(|| self.compile(api_version, kind, &key)) {
            Some(v) => Lookup::Found(v.clone()),
            None => Lookup::Unknown,
        }
    }

    fn compile(&self, api_version: &str, kind: &str, key: &str) -> Option<Arc<Validator>> {
        if let Some(path) = self.extra.find(api_version, kind) {
            let shown = crate::paths::display(path);
            let schema = match fs_err::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| {
                serde_json::from_str::<Value>(&t).map_err(|e| format!("`{shown}` is not JSON: {e}"))
            }) {
                Ok(schema) => schema,
                Err(e) => {
                    self.fail(format!("`--schema-dir`: {e}"));
                    return None;
                }
            };
            return match jsonschema::options().build(&schema) {
                Ok(v) => Some(Arc::new(v)),
                Err(e) => {
                    self.fail(format!("`--schema-dir`: `{shown}` is not a usable JSON Schema: {e}"));
                    None
                }
            };
        }
        if let Some((_, text)) = self.argocd(api_version, kind) {
            let schema: Value = serde_json::from_str(text).ok()?;
            return jsonschema::options().build(&schema).ok().map(Arc::new);
        }
        let bundle = bundle();
        let version = bundle.version(&self.version)?;
        let index = *version.kinds.get(key)?;
        let mut schema: Value = bundle.schema(index)?;
        if let Some(obj) = schema.as_object_mut() {
            obj.insert("$id".into(), Value::String(format!("{BASE}{}.json", key.replace('/', "-"))));
        }
        let registry = self.registry.get_or_init(|| registry_for(bundle, version)).as_ref()?;
        jsonschema::options().with_registry(registry).build(&schema).ok().map(Arc::new)
    }

    /// A bundled Argo CD schema.
    fn argocd(&self, api_version: &str, kind: &str) -> Option<&'static (&'static str, &'static str)> {
        let (group, version) = api_version.rsplit_once('/')?;
        let key = format!("{group}/{}_{version}", kind.to_lowercase());
        ARGOCD.iter().find(|(k, _)| *k == key)
    }

    /// Whether a kind's schema comes from elsewhere than the Kubernetes bundle (no pruning).
    fn extra_schema(&self, api_version: &str, kind: &str) -> Option<()> {
        (self.extra.find(api_version, kind).is_some() || self.argocd(api_version, kind).is_some())
            .then_some(())
    }
}

fn registry_for(bundle: &Bundle, version: &BundleVersion) -> Option<Registry<'static>> {
    let mut defs = serde_json::Map::new();
    for (name, &index) in &version.defs {
        defs.insert(name.clone(), bundle.schema(index)?);
    }
    let doc = serde_json::json!({ "$defs": Value::Object(defs) });
    Registry::new().add(format!("{BASE}_definitions.json"), doc).ok()?.prepare().ok()
}

/// One schema violation: where (JSON pointer segments) and what, in the house style.
pub struct Violation {
    pub path: Vec<String>,
    /// A key to point at instead of the value (an unknown field).
    pub key: Option<String>,
    pub message: String,
}

pub fn violations(validator: &Validator, instance: &Value) -> Vec<Violation> {
    validator
        .iter_errors(instance)
        .flat_map(|e| {
            let path: Vec<String> = e
                .instance_path()
                .as_str()
                .split('/')
                .skip(1)
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            let at = if path.is_empty() { "the object".to_owned() } else { format!("`{}`", path.join(".")) };
            match e.kind() {
                // One finding per unknown field: a mapping with two typos shows both.
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|field| Violation {
                        path: path.clone(),
                        key: Some(field.clone()),
                        message: format!("unknown field `{field}` in {at}"),
                    })
                    .collect::<Vec<_>>(),
                ValidationErrorKind::Required { property } => vec![Violation {
                    message: format!("missing required field `{}` in {at}", property.as_str().unwrap_or("?")),
                    path,
                    key: None,
                }],
                _ => vec![Violation {
                    message: format!("{at}: {}", lowercase_first(&e.to_string())),
                    path,
                    key: None,
                }],
            }
        })
        .collect()
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_to_the_newest_not_newer() {
        let versions = bundled_versions();
        assert!(versions.len() >= 9 && versions[0] == "1.29", "{versions:?}");
        let bundled = |v: &str| resolve_version(Some(v)).map(|r| r.bundled);
        assert_eq!(bundled("v1.31.4").as_deref(), Ok("1.31"));
        assert_eq!(bundled("1.99").as_deref(), Ok(*versions.last().unwrap_or(&"")));
        let old = resolve_version(Some("1.28")).expect("the oldest bundle, with a note");
        assert_eq!((old.bundled.as_str(), old.target), ("1.29", Some(Target { from: (1, 28), to: (1, 28) })));
        let upgrade = resolve_version(Some("1.31..1.34")).expect("a range");
        assert_eq!(upgrade.bundled, "1.34");
        assert!(upgrade.target.is_some_and(|t| t.is_upgrade()));
        assert!(resolve_version(Some("1.34..1.31")).is_err());
        assert_eq!(old.notes.len(), 1, "{:?}", old.notes);
        assert!(resolve_version(Some("1.31")).expect("bundled").notes.is_empty());
        assert!(resolve_version(Some("soon")).is_err());
    }

    #[test]
    fn strict_schemas_reject_unknown_fields_and_wrong_types() {
        let set = SchemaSet::new(resolve_version(None).expect("newest").bundled);
        let Lookup::Found(v) = set.lookup("apps/v1", "Deployment") else { panic!("Deployment is bundled") };
        let ok = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        assert!(violations(&v, &ok).is_empty());
        let mut bad = ok.clone();
        bad["spec"]["replica"] = 1.into();
        bad["spec"]["selecter"] = 1.into();
        bad["spec"]["template"]["spec"]["containers"][0]["image"] = 5.into();
        let found = violations(&v, &bad);
        assert_eq!(found.len(), 3, "{:?}", found.iter().map(|f| &f.message).collect::<Vec<_>>());
        assert!(found.iter().any(|f| f.key.as_deref() == Some("replica")));
        assert!(
            found.iter().any(|f| f.key.as_deref() == Some("selecter")),
            "every unknown field of a mapping"
        );
        assert!(
            matches!(set.lookup("argoproj.io/v1alpha1", "Application"), Lookup::Found(_)),
            "Argo CD is bundled"
        );
        assert!(matches!(set.lookup("argoproj.io/v1alpha1", "Rollout"), Lookup::Unknown));
    }
}
