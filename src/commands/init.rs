//! `fnops init`: a working project in one command. Refuses to overwrite anything.

use std::path::{Path, PathBuf};

use super::{CommandError, overlay_schema, project_schema};
use crate::cli::InitArgs;

const HANDLER: &str = include_str!("../../functions/metrics.py");

/// A DNS-1123 label from a directory name (`My Function` → `my-function`).
fn dns_name(dir: &Path) -> String {
    let raw = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
        .to_lowercase();
    let mut name: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    name = name.trim_matches('-').chars().take(50).collect::<String>().trim_matches('-').to_owned();
    if name.is_empty() { "serverless-redis".into() } else { name }
}

fn files(name: &str) -> Vec<(PathBuf, String)> {
    let version = env!("CARGO_PKG_VERSION");
    vec![
        (
            "fnops.yaml".into(),
            format!(
                r#"# yaml-language-server: $schema=.fnops/fnops.schema.json
# The project file of `{name}`: every field is in the schema above (your editor completes them).
name: {name}
function:
  source: functions/metrics.py
  handler: handler
redis:
  host: redis
  inputKey: metrics
  outputKey: {name}-output
period: 5s
trigger: change
# Add the Git repository ArgoCD syncs from to render one Application per environment:
# argocd:
#   repoURL: https://github.com/you/your-repo.git
#   project: default
"#
            ),
        ),
        (
            "environments/dev.yaml".into(),
            format!(
                "# yaml-language-server: $schema=../.fnops/fnops.overlay.schema.json\n# Overlay for `dev`, merged over ../fnops.yaml.\nnamespace: {name}-dev\n"
            ),
        ),
        ("functions/metrics.py".into(), HANDLER.to_owned()),
        (".fnops/fnops.schema.json".into(), project_schema()),
        (".fnops/fnops.overlay.schema.json".into(), overlay_schema()),
        (
            ".pre-commit-config.yaml".into(),
            format!(
                "# Checks the rendered tree and the manifests on every commit (https://pre-commit.com).\n# The hooks install the prebuilt fnops wheel: nothing to compile, nothing else to install.\nrepos:\n  - repo: https://github.com/fnops/fnops\n    rev: v{version}\n    hooks:\n      - id: fnops-render-check\n      - id: fnops-validate\n"
            ),
        ),
        (
            "README.md".into(),
            format!(
                "# {name}\n\n## Deploying with fnops\n\nThe function is `functions/metrics.py`; `fnops.yaml` says how it runs and\n`environments/` holds one overlay per environment.\n\n```sh\nfnops render             # writes deploy/<env>/ (commit it; ArgoCD syncs it)\nfnops render --check     # in CI: fails when deploy/ is stale\nfnops validate deploy    # checks the manifests\npre-commit install       # runs both on every commit\n```\n"
            ),
        ),
    ]
}

pub(crate) fn run(args: &InitArgs) -> Result<(), CommandError> {
    let dir = &args.dir;
    fs_err::create_dir_all(dir).map_err(CommandError::fatal)?;
    let planned = files(&dns_name(dir));
    let existing: Vec<String> = planned
        .iter()
        .filter(|(p, _)| dir.join(p).exists())
        .map(|(p, _)| format!("`{}`", p.display()))
        .collect();
    if !existing.is_empty() {
        return Err(CommandError::fatal(format_args!(
            "refusing to overwrite {} in `{}`; nothing was written",
            existing.join(", "),
            dir.display()
        )));
    }
    for (rel, text) in &planned {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(CommandError::fatal)?;
        }
        fs_err::write(&path, text).map_err(CommandError::fatal)?;
    }
    eprintln!("created a fnops project in `{}`; next: `fnops render {}`", dir.display(), dir.display());
    Ok(())
}
