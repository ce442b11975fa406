//! The template set: embedded in the binary (it works from any directory), optionally
//! overridden file by file with `--templates DIR`.

use std::collections::BTreeSet;
use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::RenderError;

const EMBEDDED: &[(&str, &str)] = &[
    ("_argocd-sync-policy.yaml.j2", include_str!("../../templates/_argocd-sync-policy.yaml.j2")),
    ("argocd-application.yaml.j2", include_str!("../../templates/argocd-application.yaml.j2")),
    ("argocd-applicationset.yaml.j2", include_str!("../../templates/argocd-applicationset.yaml.j2")),
    ("configmap-outputkey.yaml.j2", include_str!("../../templates/configmap-outputkey.yaml.j2")),
    ("configmap-pyfile.yaml.j2", include_str!("../../templates/configmap-pyfile.yaml.j2")),
    ("configmap-runtime-config.yaml.j2", include_str!("../../templates/configmap-runtime-config.yaml.j2")),
    ("deployment.yaml.j2", include_str!("../../templates/deployment.yaml.j2")),
    ("service-dashboard.yaml.j2", include_str!("../../templates/service-dashboard.yaml.j2")),
];

/// Template instructions one render may run.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// Compiled templates. Names starting with `argocd-` render into `argocd/` (the Application
/// once per environment, or the ApplicationSet once); names starting with `_` are partials
/// that others include; the others render the environment's objects.
pub struct TemplateSet {
    env: Environment<'static>,
    names: Vec<String>,
    late: BTreeSet<String>,
}

/// The embedded templates, with the `.j2` files of `override_dir` replacing or adding to them.
pub fn load_templates(override_dir: Option<&Path>) -> Result<TemplateSet, RenderError> {
    let mut sources: Vec<(String, String)> =
        EMBEDDED.iter().map(|(n, s)| ((*n).to_owned(), (*s).to_owned())).collect();
    if let Some(dir) = override_dir {
        let io = |source| RenderError::Io { path: dir.display().to_string(), source };
        let mut entries: Vec<_> = fs_err::read_dir(dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".j2") {
                continue;
            }
            let text = fs_err::read_to_string(entry.path())
                .map_err(|source| RenderError::Io { path: entry.path().display().to_string(), source })?;
            sources.retain(|(n, _)| *n != name);
            sources.push((name, text));
        }
    }
    sources.sort();

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_debug(true);
    // A template (`--templates` is user code) cannot loop forever: a render of the embedded
    // templates takes a few thousand instructions of fuel.
    env.set_fuel(Some(TEMPLATE_FUEL));
    // The builtin `tojson` turns an undefined value into `null` even in strict mode: a typo
    // in a template would render silently. This one refuses it.
    env.add_filter("tojson", strict_tojson);
    let mut names = Vec::new();
    let mut late = BTreeSet::new();
    for (name, text) in sources {
        env.add_template_owned(name.clone(), text).map_err(|e| template_error(&name, &e))?;
        let tmpl = env.get_template(&name).map_err(|e| template_error(&name, &e))?;
        if tmpl.undeclared_variables(false).contains("config_checksum") {
            late.insert(name.clone());
        }
        names.push(name);
    }
    Ok(TemplateSet { env, names, late })
}

fn strict_tojson(value: minijinja::Value) -> Result<minijinja::Value, minijinja::Error> {
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            "`tojson` of an undefined value (a misspelled variable or field?)",
        ));
    }
    let json = serde_json::to_string(&value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))?;
    Ok(minijinja::Value::from_safe_string(json))
}

fn template_error(name: &str, e: &minijinja::Error) -> RenderError {
    let mut message = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    if let Some(line) = e.line() {
        message = format!("{message} (line {line})");
    }
    RenderError::Template { name: name.to_owned(), message, line: e.line() }
}

impl TemplateSet {
    /// The templates that render objects (partials left out).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str).filter(|n| !n.starts_with('_'))
    }

    /// Whether the template uses `config_checksum` and so renders after the ConfigMaps.
    pub fn needs_checksum(&self, name: &str) -> bool {
        self.late.contains(name)
    }

    pub fn render(
        &self,
        name: &str,
        ctx: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, RenderError> {
        let tmpl = self.env.get_template(name).map_err(|e| template_error(name, &e))?;
        tmpl.render(ctx).map_err(|e| template_error(name, &e))
    }
}
