//! `fnops diff`: the objects a change makes, not the inputs it edits. The project is rendered as
//! it is at a Git revision (read from the object store into a scratch directory: no checkout)
//! and as it is in the working tree, both in memory; the difference is printed object by object.
//! In plugin mode this is the only place a reviewer sees what a pull request deploys.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{CommandError, write_stdout};
use crate::cli::{DiffArgs, DiffFormat};
use crate::git;
use crate::paths;
use crate::pipeline::{self, PipelineError};
use crate::render::RenderedFile;
use crate::validate::{Doc, SchemaSet};

/// One object on either side: its environment, its path in the tree, its text, its id.
struct Object {
    env: String,
    path: String,
    id: String,
    text: String,
}

enum Change<'a> {
    Added(&'a Object),
    Removed(&'a Object),
    Changed { old: &'a Object, new: &'a Object },
}

fn objects(files: &[RenderedFile], env: Option<&str>) -> BTreeMap<(String, String), Object> {
    files
        .iter()
        .filter(|f| env.is_none_or(|e| f.env == e))
        .map(|f| {
            let object = Object {
                env: f.env.clone(),
                path: f.path.clone(),
                id: Doc { node: &f.object }.id(),
                text: f.text.clone(),
            };
            ((f.env.clone(), f.path.clone()), object)
        })
        .collect()
}

/// Render a project directory; `Ok(None)` when there is no project there.
fn render(dir: &Path, env: Option<&str>, schemas: &SchemaSet) -> Result<Option<Vec<RenderedFile>>, String> {
    if !dir.join(crate::project::PROJECT_FILE).is_file() {
        return Ok(None);
    }
    let request = pipeline::Request {
        project_dir: dir,
        env,
        out: None,
        templates: None,
        schemas,
        default_namespace: None,
    };
    match pipeline::build(&request) {
        Ok(built) => Ok(Some(built.files)),
        Err(PipelineError::Invalid { findings, .. }) => {
            let first =
                findings.first().map(|f| format!("{}:{}: {}", f.file, f.line, f.message)).unwrap_or_default();
            Err(format!("the project is invalid ({first})"))
        }
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn run(args: &DiffArgs) -> Result<(), CommandError> {
    let rev = git::revision(&args.base).map_err(|e| CommandError::fatal(format_args!("`--base`: {e}")))?;
    let project = paths::absolute(&args.project_dir);
    let top = git::toplevel(&project).map_err(CommandError::fatal)?;
    let top = top.canonicalize().unwrap_or(top);
    let project = project.canonicalize().unwrap_or(project);
    let rel = project
        .strip_prefix(&top)
        .map_err(|_| CommandError::fatal("the project is outside its Git repository"))?;
    let rel = paths::display(rel);
    let rel = if rel.is_empty() { ".".to_owned() } else { rel };
    let version = crate::validate::schema::resolve_version(None).map_err(CommandError::fatal)?;
    let schemas = SchemaSet::new(version.bundled);

    // The base: the project's directory at `rev`, under a scratch root that is a repository
    // root too, so the Applications' `source.path` comes out the same as in the working tree.
    let scratch = tempfile::tempdir().map_err(CommandError::fatal)?;
    fs_err::create_dir(scratch.path().join(".git")).map_err(CommandError::fatal)?;
    let written = git::materialize(&top, rev, &rel, scratch.path()).map_err(CommandError::fatal)?;
    let base_dir = scratch.path().join(&rel);
    let env = args.env.as_deref();
    let mut notes = Vec::new();
    let base = if written == 0 {
        notes.push(format!("`{rel}` does not exist at `{rev}`: every object is new"));
        Vec::new()
    } else {
        match render(&base_dir, env, &schemas) {
            Ok(files) => files.unwrap_or_default(),
            Err(why) => {
                notes.push(format!(
                    "the project at `{rev}` does not render ({why}): every object is shown as new"
                ));
                Vec::new()
            }
        }
    };
    let head = match render(&project, env, &schemas) {
        Ok(Some(files)) => files,
        Ok(None) => {
            return Err(CommandError::fatal(format_args!(
                "no `fnops.yaml` in `{}`",
                paths::display(&args.project_dir)
            )));
        }
        Err(why) => {
            return Err(CommandError::invalid(format!("the working tree's project does not render: {why}")));
        }
    };
    for note in &notes {
        eprintln!("warning: {note}");
    }
    let old = objects(&base, env);
    let new = objects(&head, env);
    let mut changes = Vec::new();
    for (key, o) in &old {
        match new.get(key) {
            None => changes.push(Change::Removed(o)),
            Some(n) if n.text != o.text => changes.push(Change::Changed { old: o, new: n }),
            Some(_) => {}
        }
    }
    for (key, n) in &new {
        if !old.contains_key(key) {
            changes.push(Change::Added(n));
        }
    }
    changes.sort_by(|a, b| key_of(a).cmp(&key_of(b)));
    let out = &project_out(&rel);
    let text = match args.format {
        DiffFormat::Text => text(&changes, rev, out),
        DiffFormat::Markdown => markdown(&changes, rev, out),
        DiffFormat::Github => github(
            &changes,
            rev,
            &format!(
                "{}{}",
                if rel == "." { String::new() } else { format!("{rel}/") },
                crate::project::PROJECT_FILE
            ),
        ),
    };
    write_stdout(&text)?;
    if args.exit_code && !changes.is_empty() {
        Err(CommandError::silent(super::ExitStatus::Failure))
    } else {
        Ok(())
    }
}

/// Where the rendered tree would be, as paths in the diff show it.
fn project_out(rel: &str) -> String {
    if rel == "." { "deploy".to_owned() } else { format!("{rel}/deploy") }
}

fn key_of<'a>(c: &Change<'a>) -> (&'a str, &'a str) {
    let o = match c {
        Change::Added(o) | Change::Removed(o) | Change::Changed { new: o, .. } => o,
    };
    (o.env.as_str(), o.path.as_str())
}

fn counts(old: &str, new: &str) -> (usize, usize) {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

fn unified(old: &str, new: &str, path: &str, rev: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path} ({rev})"), &format!("b/{path} (working tree)"))
        .to_string()
}

fn summary(changes: &[Change<'_>]) -> String {
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for c in changes {
        match c {
            Change::Added(_) => added += 1,
            Change::Removed(_) => removed += 1,
            Change::Changed { .. } => changed += 1,
        }
    }
    format!("{changed} changed, {added} added, {removed} removed")
}

fn describe(c: &Change<'_>) -> (String, String, String) {
    match c {
        Change::Added(o) => (o.env.clone(), o.id.clone(), format!("added (+{})", o.text.lines().count())),
        Change::Removed(o) => (o.env.clone(), o.id.clone(), format!("removed (−{})", o.text.lines().count())),
        Change::Changed { old, new } => {
            let (a, r) = counts(&old.text, &new.text);
            (new.env.clone(), new.id.clone(), format!("changed (+{a} −{r})"))
        }
    }
}

fn patch(c: &Change<'_>, rev: &str, out: &str) -> String {
    match c {
        Change::Added(o) => unified("", &o.text, &format!("{out}/{}", o.path), rev),
        Change::Removed(o) => unified(&o.text, "", &format!("{out}/{}", o.path), rev),
        Change::Changed { old, new } => unified(&old.text, &new.text, &format!("{out}/{}", new.path), rev),
    }
}

fn text(changes: &[Change<'_>], rev: &str, out: &str) -> String {
    if changes.is_empty() {
        return format!("no object changes since `{rev}`\n");
    }
    let mut s = String::new();
    for c in changes {
        let (env, id, what) = describe(c);
        let _ = writeln!(s, "{env}: {id} {what}");
        s.push_str(&patch(c, rev, out));
        s.push('\n');
    }
    let _ = writeln!(s, "objects since `{rev}`: {}", summary(changes));
    s
}

fn markdown(changes: &[Change<'_>], rev: &str, out: &str) -> String {
    let mut s = format!("### fnops diff: the objects this change deploys, against `{rev}`\n\n");
    if changes.is_empty() {
        s.push_str("No object changes.\n");
        return s;
    }
    s.push_str("| environment | object | change |\n|---|---|---|\n");
    for c in changes {
        let (env, id, what) = describe(c);
        let _ = writeln!(s, "| {env} | `{id}` | {what} |");
    }
    let _ = writeln!(s, "\n{}\n", summary(changes));
    for c in changes {
        let (env, id, what) = describe(c);
        let body = patch(c, rev, out);
        // A fence longer than any backtick run in the diff.
        let longest = body.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = writeln!(
            s,
            "<details><summary>{env}: <code>{id}</code> {what}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n"
        );
    }
    s
}

fn github(changes: &[Change<'_>], rev: &str, project_file: &str) -> String {
    let escape = |v: &str| v.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let mut s = String::new();
    for c in changes {
        let (env, id, what) = describe(c);
        let _ = writeln!(
            s,
            "::notice file={project_file},line=1,title=fnops diff::{}",
            escape(&format!("{env}: {id} {what} since {rev}"))
        );
    }
    s
}
