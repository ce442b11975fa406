//! Which YAML and JSON files of a tree are Kubernetes manifests, as Argo CD decides when it picks
//! a source type and as a user means "validate my repository":
//! - a directory with `Chart.yaml` is a Helm chart (templates, values): not manifests;
//! - a directory with `kustomization.yaml` (`.yml`, `Kustomization`) is a Kustomize base or
//!   overlay: its files are kustomize's input, and the patches it lists (wherever they are) are
//!   not whole objects;
//! - well-known files of other tools (Compose, CI systems, package managers, documentation
//!   sites...) and hidden files are not manifests, and an fnops project's own files are checked
//!   as a project.
//!
//! Everything else is a manifest: a YAML file there that holds no object stays `not-a-manifest`
//! (an Argo CD directory app fails on it). Charts and kustomizations are not rendered.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::yaml::{Node, Schema, Value, parse_stream};

/// Why a file is not checked as a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Part of the Helm chart in this directory.
    HelmChart(PathBuf),
    /// Part of the kustomization in this directory.
    Kustomization(PathBuf),
    /// A patch (or transformer configuration) the kustomization in this directory lists.
    KustomizePatch(PathBuf),
    /// A well-known file of another tool: what it is.
    Other(&'static str),
}

/// Known file names of other tools: (name, or `prefix*suffix` pattern; what it is).
const KNOWN: &[(&str, &str)] = &[
    ("docker-compose*.yml", "a Compose file"),
    ("docker-compose*.yaml", "a Compose file"),
    ("compose.yml", "a Compose file"),
    ("compose.yaml", "a Compose file"),
    ("compose.*.yml", "a Compose file"),
    ("compose.*.yaml", "a Compose file"),
    ("*.gitlab-ci.yml", "a GitLab CI configuration"),
    ("gitlab-ci.yml", "a GitLab CI configuration"),
    ("azure-pipelines*.yml", "an Azure Pipelines configuration"),
    ("bitbucket-pipelines.yml", "a Bitbucket Pipelines configuration"),
    ("appveyor.yml", "an AppVeyor configuration"),
    ("cloudbuild*.yaml", "a Cloud Build configuration"),
    ("buildspec*.yml", "an AWS CodeBuild configuration"),
    ("Jenkinsfile.yaml", "a Jenkins configuration"),
    ("action.yml", "a GitHub Action definition"),
    ("action.yaml", "a GitHub Action definition"),
    ("codecov.yml", "a Codecov configuration"),
    ("mkdocs*.yml", "an MkDocs configuration"),
    ("mkdocs*.yaml", "an MkDocs configuration"),
    ("skaffold*.yaml", "a Skaffold configuration"),
    ("helmfile*.yaml", "a Helmfile"),
    ("Taskfile*.yml", "a Taskfile"),
    ("Taskfile*.yaml", "a Taskfile"),
    ("renovate.json", "a Renovate configuration"),
    ("package.json", "an npm package manifest"),
    ("package-lock.json", "an npm lockfile"),
    ("pnpm-lock.yaml", "a pnpm lockfile"),
    ("pnpm-workspace.yaml", "a pnpm workspace"),
    ("tsconfig*.json", "a TypeScript configuration"),
    ("jsconfig*.json", "a JavaScript configuration"),
    ("composer.json", "a Composer manifest"),
    ("devcontainer.json", "a dev container definition"),
    ("environment.yml", "a Conda environment"),
    ("environment.yaml", "a Conda environment"),
    ("serverless.yml", "a Serverless Framework configuration"),
    ("serverless.yaml", "a Serverless Framework configuration"),
    ("dvc.yaml", "a DVC pipeline"),
    ("openapi*.yaml", "an OpenAPI document"),
    ("openapi*.json", "an OpenAPI document"),
    ("swagger*.yaml", "an OpenAPI document"),
    ("swagger*.json", "an OpenAPI document"),
    ("catalog-info.yaml", "a Backstage catalog entry"),
    ("values*.yaml", "Helm values"),
    ("values*.yml", "Helm values"),
    ("fnops.yaml", "an fnops project file (checked with its project: `fnops validate DIR`)"),
];

/// Directories never walked (besides hidden ones): installed dependencies.
pub const IGNORED_DIRS: &[&str] = &["node_modules", "__pycache__", "venv"];

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
        }
    }
}

/// What a well-known file of another tool is, by its name.
pub fn known_non_manifest(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(pattern, _)| matches(pattern, name)).map(|(_, what)| *what)
}

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Remove `.` and `a/..` from a path without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Classifies the files of one run, caching what it learns of each directory.
#[derive(Default)]
pub struct Classifier {
    dirs: HashMap<PathBuf, DirKind>,
    /// Files kustomizations list as patches, normalised, with the kustomization's directory.
    patches: HashMap<PathBuf, PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DirKind {
    Plain,
    Chart,
    Kustomization,
}

impl Classifier {
    fn kind(&mut self, dir: &Path) -> DirKind {
        if let Some(kind) = self.dirs.get(dir) {
            return *kind;
        }
        let kind = if dir.join("Chart.yaml").is_file() {
            DirKind::Chart
        } else if let Some(file) = KUSTOMIZATION_FILES.iter().map(|f| dir.join(f)).find(|p| p.is_file()) {
            self.learn_patches(dir, &file);
            DirKind::Kustomization
        } else {
            DirKind::Plain
        };
        self.dirs.insert(dir.to_path_buf(), kind);
        kind
    }

    /// Record the files a kustomization lists that are not whole objects.
    fn learn_patches(&mut self, dir: &Path, file: &Path) {
        let Ok(text) =
            crate::files::read(file, None, 1 << 20).map(|b| String::from_utf8_lossy(&b).into_owned())
        else {
            return;
        };
        let Ok(docs) = parse_stream(&text, 0, Schema::Core12) else { return };
        let mut listed: Vec<String> = Vec::new();
        let strings = |node: Option<&Node>| -> Vec<String> {
            match node.map(|n| &n.value) {
                Some(Value::Seq(items)) => {
                    items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
                }
                _ => Vec::new(),
            }
        };
        let paths = |node: Option<&Node>| -> Vec<String> {
            match node.map(|n| &n.value) {
                Some(Value::Seq(items)) => items
                    .iter()
                    .filter_map(|i| i.get("path").and_then(Node::as_str).map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            }
        };
        for doc in &docs {
            // Inline patches are YAML text, not paths.
            listed
                .extend(strings(doc.get("patchesStrategicMerge")).into_iter().filter(|s| !s.contains('\n')));
            for field in ["patches", "patchesJson6902", "replacements"] {
                listed.extend(paths(doc.get(field)));
            }
            for field in ["configurations", "crds", "generators", "transformers", "validators"] {
                listed.extend(strings(doc.get(field)));
            }
            if let Some(openapi) = doc.get("openapi").and_then(|o| o.get("path")).and_then(Node::as_str) {
                listed.push(openapi.to_owned());
            }
        }
        for item in listed {
            self.patches.insert(normalize(&dir.join(item.trim())), dir.to_path_buf());
        }
    }

    /// Whether a walked directory is a Helm chart (its whole subtree is then left out).
    pub fn is_chart(&mut self, dir: &Path) -> bool {
        self.kind(dir) == DirKind::Chart
    }

    /// Why a manifest-looking file is not a manifest, if it is not. `root` bounds the search for
    /// an enclosing chart.
    pub fn classify(&mut self, path: &Path, root: Option<&Path>) -> Option<Skip> {
        let name = path.file_name()?.to_str()?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A chart's files at any depth (templates/, charts/, crds/), up to the root.
        if self.kind(&dir) == DirKind::Chart {
            return Some(Skip::HelmChart(dir));
        }
        if let Ok(canonical) = dir.canonicalize() {
            let cwd = std::env::current_dir().ok();
            for d in canonical.ancestors().skip(1) {
                if root.is_some_and(|r| !d.starts_with(r)) {
                    break;
                }
                if self.kind(d) == DirKind::Chart {
                    let shown = cwd.as_deref().and_then(|c| d.strip_prefix(c).ok()).unwrap_or(d);
                    return Some(Skip::HelmChart(shown.to_path_buf()));
                }
            }
        }
        if self.kind(&dir) == DirKind::Kustomization {
            return Some(Skip::Kustomization(dir));
        }
        if let Some(owner) = self.patches.get(&normalize(path)) {
            return Some(Skip::KustomizePatch(owner.clone()));
        }
        if let Some(what) = known_non_manifest(name) {
            return Some(Skip::Other(what));
        }
        // Walks never enter hidden directories; named ones (`--changed-since` lists
        // `.github/workflows/ci.yml` and `.pre-commit-config.yaml`) are tools' configuration too.
        if path
            .components()
            .any(|c| matches!(c, Component::Normal(n) if n.to_string_lossy().starts_with('.')))
        {
            return Some(Skip::Other("a hidden file (tools keep their configuration there)"));
        }
        // An fnops project's environments.
        if dir.file_name().is_some_and(|n| n == "environments")
            && dir.parent().is_some_and(|p| p.join(crate::project::PROJECT_FILE).is_file())
        {
            return Some(Skip::Other("an fnops environment file (checked with its project)"));
        }
        None
    }

    /// Files listed as patches that an earlier classification could not know of yet (the
    /// kustomization was seen after them).
    pub fn patch_owner(&self, path: &Path) -> Option<&PathBuf> {
        self.patches.get(&normalize(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_files_by_name() {
        for (name, expected) in [
            ("docker-compose.yml", true),
            ("docker-compose.prod.yaml", true),
            ("compose.override.yml", true),
            ("mkdocs.yml", true),
            ("package.json", true),
            ("tsconfig.build.json", true),
            ("values-prod.yaml", true),
            ("deployment.yaml", false),
            ("compose-deployment.yaml", false),
            ("service.json", false),
        ] {
            assert_eq!(known_non_manifest(name).is_some(), expected, "{name}");
        }
    }

    #[test]
    fn paths_normalise_lexically() {
        assert_eq!(normalize(Path::new("a/b/../patches/./p.yaml")), PathBuf::from("a/patches/p.yaml"));
        assert_eq!(normalize(Path::new("../x.yaml")), PathBuf::from("../x.yaml"));
    }
}
