//! The wheels as a user gets them: `scripts/build-wheels` builds them with maturin, and here they
//! are installed into a fresh venv whose `PATH` has no `cargo`, with no package index. The
//! installed `fnops` renders and validates the bundled example; `fnops-runtime` starts.

mod common;

use std::path::Path;

use common::{example_project, path_without_cargo, run_clean, wheels};

#[test]
fn the_wheels_install_and_run_without_a_rust_toolchain() {
    let Some(wheels) = wheels("the wheel test") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let venv = tmp.path().join("venv");
    let path = path_without_cargo();
    let python = which("python3", &path).expect("python3 on PATH");
    let made =
        run_clean(tmp.path(), &python, &["-m", "venv", venv.to_str().expect("utf-8")], &[("PATH", &path)]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let bin = venv.join("bin");
    let venv_path = format!("{}:{path}", bin.display());
    assert!(which("cargo", &venv_path).is_none(), "no cargo may be reachable: {venv_path}");

    let wheels = wheels.to_str().expect("utf-8");
    let pip = run_clean(
        tmp.path(),
        &bin.join("pip"),
        &["install", "--no-index", "--find-links", wheels, "fnops", "fnops-runtime"],
        &[("PATH", &venv_path)],
    );
    assert_eq!(pip.code, 0, "pip install from the wheels:\n{}{}", pip.stdout, pip.stderr);

    let env = [("PATH", venv_path.as_str())];
    let fnops = bin.join("fnops");
    let version = run_clean(tmp.path(), &fnops, &["--version"], &env);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert_eq!(version.stdout.trim(), format!("fnops {}", env!("CARGO_PKG_VERSION")));

    let project = example_project();
    let dir = project.path();
    let render = run_clean(dir, &fnops, &["render"], &env);
    assert_eq!(render.code, 0, "{}", render.stderr);
    assert!(dir.join("deploy/dev/deployment-serverless-redis.yaml").is_file());
    let check = run_clean(dir, &fnops, &["render", "--check"], &env);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let validate = run_clean(dir, &fnops, &["validate", "deploy"], &env);
    assert_eq!(validate.code, 0, "{}{}", validate.stdout, validate.stderr);
    assert!(validate.stderr.contains("0 errors"), "{}", validate.stderr);

    let runtime = bin.join("fnops-runtime");
    let version = run_clean(tmp.path(), &runtime, &["--version"], &env);
    assert_eq!(version.stdout.trim(), format!("fnops-runtime {}", env!("CARGO_PKG_VERSION")));
    // Configured by the environment: without a module it refuses to start, naming the setting.
    let refused =
        run_clean(tmp.path(), &runtime, &[], &[("PATH", &venv_path), ("PYFILE_PATH", "/nonexistent.py")]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("`PYFILE_PATH`"), "{}", refused.stderr);
}

/// The first `name` on `path`.
fn which(name: &str, path: &str) -> Option<std::path::PathBuf> {
    path.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

/// The images the release workflow pushes are the ones the rendered Deployment and the plugin's
/// sidecar name, and the shim the python hooks install pins the same version.
#[test]
fn released_names_match_what_fnops_prints() {
    let version = env!("CARGO_PKG_VERSION");
    let workflow =
        std::fs::read_to_string(common::repo().join(".github/workflows/release.yml")).expect("workflow");
    for image in ["ghcr.io/fnops/fnops", "ghcr.io/fnops/fnops-runtime"] {
        assert!(
            workflow.contains(&format!("-t \"{image}:${{VERSION}}\"")),
            "release.yml pushes {image}:<version>"
        );
    }
    let project = example_project();
    let render = common::fnops(project.path(), &["render", "--stdout"]);
    assert!(
        render.stdout.contains(&format!("image: ghcr.io/fnops/fnops-runtime:{version}\n")),
        "{}",
        render.stdout
    );
    let plugin = common::fnops(project.path(), &["argocd", "plugin", "--format", "helm-values"]);
    assert!(plugin.stdout.contains(&format!("image: ghcr.io/fnops/fnops:{version}\n")), "{}", plugin.stdout);
    let shim = std::fs::read_to_string(common::repo().join("pyproject.toml")).expect("shim");
    assert!(
        shim.contains(&format!("version = \"{version}\"")) && shim.contains(&format!("\"fnops=={version}\"")),
        "{shim}"
    );
}
