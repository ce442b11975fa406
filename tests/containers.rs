//! The images, built from the shipped Dockerfiles with podman and run for real.
//!
//! - The runtime image runs the bundled example as the rendered Deployment would: its
//!   environment from the rendered ConfigMaps, the code ConfigMap laid out as files and mounted
//!   read-only at the rendered mount path (`subPath` too, for the course flavour), a read-only
//!   root, the rendered UID, `/tmp` as tmpfs, against a real redis-server on loopback. The
//!   output matches a direct run byte for byte, `/readyz` answers, and a stop exits 0.
//! - The CLI image runs `fnops argocd generate` as argocd-cmp-server would: UID 999, the
//!   repository mounted read-only, the documented environment, no network.
//!
//! The images are built from the wheels (`scripts/build-wheels`) on a base image made from
//! Debian's packages (`scripts/build-base-image`: no registry is reachable here). These tests are
//! skipped only where podman is absent and `FNOPS_REQUIRE_CONTAINERS` is unset; when podman is
//! here and the inputs are not, the scripts make them.

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{copy_tree, fnops, repo, wheel_of};
use fnops::yaml::{Schema, parse_stream};
use serde_json::Value;

const RUNTIME_IMAGE: &str = "localhost/fnops-runtime:test";
const CLI_IMAGE: &str = "localhost/fnops:test";

fn podman_available() -> bool {
    let found = Command::new("podman").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("FNOPS_REQUIRE_CONTAINERS").is_none(),
            "podman is required here (scripts/install-test-deps installs it)"
        );
        eprintln!("podman not installed: skipped");
    }
    found
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman").args(args).env("CONTAINERS_CONF", containers_conf()).output().expect("podman runs")
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {}:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn containers_conf() -> PathBuf {
    std::env::var_os("CONTAINERS_CONF").map_or_else(|| repo().join("scripts/containers.conf"), PathBuf::from)
}

/// The wheels and the base image, made by the scripts when they are not given.
struct Inputs {
    wheels: PathBuf,
    base: String,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let script = |name: &str| {
            let status = Command::new(repo().join("scripts").join(name))
                .env("CONTAINERS_CONF", containers_conf())
                .status()
                .expect("script runs");
            assert!(status.success(), "scripts/{name} failed");
        };
        let wheels = match std::env::var_os("FNOPS_WHEELS") {
            Some(dir) => PathBuf::from(dir),
            None => {
                script("build-wheels");
                repo().join("target/wheels")
            }
        };
        let base =
            std::env::var("FNOPS_BASE_IMAGE").unwrap_or_else(|_| "localhost/fnops-base:bookworm".into());
        if !podman(&["image", "exists", &base]).status.success() {
            script("build-base-image");
        }
        Inputs { wheels, base }
    })
}

/// Host files the image build needs: the CA bundle and the pip configuration, so that pip and
/// apt inside the build reach the same package mirror as the host.
fn build_mounts() -> Vec<String> {
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf"]
        .iter()
        .filter(|p| Path::new(p).is_file())
        .flat_map(|p| ["-v".to_owned(), format!("{p}:{p}:ro")])
        .collect()
}

fn build(dockerfile: &Path, context: &Path, tag: &str, build_args: &[String]) {
    let mut args: Vec<String> = vec!["build".into(), "--network".into(), "host".into(), "--quiet".into()];
    args.extend(build_mounts());
    for arg in build_args {
        args.extend(["--build-arg".to_owned(), arg.clone()]);
    }
    args.extend(["-f".into(), dockerfile.display().to_string(), "-t".into(), tag.into()]);
    args.push(context.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    podman_ok(&args);
}

/// The runtime image, built once per test run from `bundled-runtime/Dockerfile`.
fn runtime_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let inputs = inputs();
        let context = tempfile::tempdir().expect("tmp");
        let dist = context.path().join("dist");
        std::fs::create_dir(&dist).expect("mkdir");
        let wheel = wheel_of(&inputs.wheels, "fnops_runtime");
        std::fs::copy(&wheel, dist.join(wheel.file_name().expect("name"))).expect("copy");
        build(
            &repo().join("bundled-runtime/Dockerfile"),
            context.path(),
            RUNTIME_IMAGE,
            &[format!("PYTHON_IMAGE={}", inputs.base)],
        );
    });
    RUNTIME_IMAGE
}

/// The CLI image, built once from the root `Dockerfile` with the binary out of the fnops wheel.
fn cli_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let inputs = inputs();
        let context = tempfile::tempdir().expect("tmp");
        let bin_dir = context.path().join("dist/linux-amd64");
        std::fs::create_dir_all(&bin_dir).expect("mkdir");
        let wheel = std::fs::File::open(wheel_of(&inputs.wheels, "fnops")).expect("wheel");
        let mut archive = zip::ZipArchive::new(wheel).expect("a wheel is a ZIP");
        let name = archive
            .file_names()
            .filter_map(Result::ok)
            .find(|n| n.ends_with(".data/scripts/fnops"))
            .expect("the wheel carries the binary")
            .into_owned();
        let mut binary = Vec::new();
        archive.by_name(&name).expect("entry").read_to_end(&mut binary).expect("read");
        let target = bin_dir.join("fnops");
        std::fs::write(&target, binary).expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        build(
            &repo().join("Dockerfile"),
            context.path(),
            CLI_IMAGE,
            &[format!("BASE_IMAGE={}", inputs.base), "TARGETARCH=amd64".into()],
        );
    });
    CLI_IMAGE
}

/// A redis-server on a free loopback port, stopped on drop.
struct Redis {
    port: u16,
    child: std::process::Child,
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/install-test-deps installs it)");
        let redis = Redis { port, child };
        wait_until(Duration::from_secs(10), "redis-server", || {
            redis.cli(&["PING"]).as_deref() == Some("PONG")
        });
        redis
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned())
    }

    fn set(&self, key: &str, value: &str) {
        let mut child = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-x", "SET", key])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-cli");
        child.stdin.take().expect("stdin").write_all(value.as_bytes()).expect("write");
        assert!(child.wait().expect("wait").success());
    }

    fn get(&self, key: &str) -> Option<String> {
        self.cli(&["--no-raw", "EXISTS", key]).filter(|n| n.ends_with('1'))?;
        self.cli(&["GET", key])
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_until(timeout: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A copy of the bundled example with one more environment, `ctest`, pointing at `redis` and
/// running `image`, in the `fnops` or the `course` flavour.
fn project_for(redis: &Redis, image: &str, metrics_port: u16, course: bool) -> tempfile::TempDir {
    let project = common::example_project();
    let flavor = if course { "  flavor: course\ntrigger: poll\n" } else { "" };
    std::fs::write(
        project.path().join("environments/ctest.yaml"),
        format!(
            "namespace: ctest\nredis:\n  host: 127.0.0.1\n  port: {}\n  outputKey: ctest-output\nperiod: 1s\nruntime:\n  image: {image}\n  metricsPort: {metrics_port}\n{flavor}",
            redis.port
        ),
    )
    .expect("overlay");
    project
}

/// The objects of `fnops render --env ctest --stdout` in `project`.
fn render_ctest(project: &Path) -> Vec<Value> {
    let out = fnops(project, &["render", "--env", "ctest", "--stdout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    parse_stream(&out.stdout, 0, Schema::Kubernetes11).expect("YAML").iter().map(|n| n.to_json()).collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} rendered"))
}

/// `podman run` arguments for the first container of a rendered Deployment, as a kubelet would
/// start it: environment from the ConfigMaps, ConfigMap volumes as read-only files under
/// `files`, emptyDirs as tmpfs, the pod's user and read-only root.
fn pod_run_args(objects: &[Value], deployment: &Value, files: &Path) -> Vec<String> {
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let cm = object(objects, "ConfigMap", from["configMapRef"]["name"].as_str().expect("name"));
        for (k, v) in cm["data"].as_object().expect("data") {
            env.insert(k.clone(), v.as_str().expect("string").to_owned());
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().expect("name").to_owned();
        let value = match (&var["value"], &var["valueFrom"]["configMapKeyRef"]) {
            (Value::String(v), _) => v.clone(),
            (_, r) if r.is_object() => {
                object(objects, "ConfigMap", r["name"].as_str().expect("name"))["data"]
                    [r["key"].as_str().expect("key")]
                .as_str()
                .expect("referenced key")
                .to_owned()
            }
            other => panic!("env {name}: {other:?} is not handled here"),
        };
        env.insert(name, value);
    }
    let mut args: Vec<String> = Vec::new();
    for (k, v) in &env {
        args.extend(["-e".into(), format!("{k}={v}")]);
    }
    let security = &pod["securityContext"];
    if let Some(uid) = security["runAsUser"].as_u64() {
        let gid = security["runAsGroup"].as_u64().unwrap_or(uid);
        args.extend(["--user".into(), format!("{uid}:{gid}")]);
    }
    if container["securityContext"]["readOnlyRootFilesystem"] == true {
        args.push("--read-only".into());
    }
    let volumes = pod["volumes"].as_array().expect("volumes");
    for mount in container["volumeMounts"].as_array().expect("mounts") {
        let name = mount["name"].as_str().expect("name");
        let target = mount["mountPath"].as_str().expect("mountPath");
        let volume = volumes.iter().find(|v| v["name"] == name).expect("the mount's volume");
        if volume["emptyDir"].is_object() {
            args.extend(["--tmpfs".into(), format!("{target}:rw,mode=1777")]);
            continue;
        }
        let cm_ref = &volume["configMap"];
        assert!(cm_ref.is_object(), "volume {name}: only ConfigMaps and emptyDirs here");
        let cm = object(objects, "ConfigMap", cm_ref["name"].as_str().expect("name"));
        let dir = files.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let pairs: Vec<(String, String)> = match cm_ref["items"].as_array() {
            Some(items) => items
                .iter()
                .map(|i| {
                    (i["key"].as_str().expect("key").to_owned(), i["path"].as_str().expect("path").to_owned())
                })
                .collect(),
            None => cm["data"].as_object().expect("data").keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        for (key, path) in pairs {
            let file = dir.join(&path);
            std::fs::write(&file, cm["data"][&key].as_str().expect("text data")).expect("write");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let source = match mount["subPath"].as_str() {
            Some(sub) => dir.join(sub),
            None => dir,
        };
        let ro = if mount["readOnly"] == true || mount["subPath"].is_string() { ":ro" } else { "" };
        args.extend(["-v".into(), format!("{}:{target}{ro}", source.display())]);
    }
    args.push(container["image"].as_str().expect("image").to_owned());
    args
}

/// What a direct run of the handler writes for `input`: `fnops invoke` prints each output as
/// the runtime would write it, first line of each call.
fn direct_output(project: &Path, input: &Path) -> String {
    let out = fnops(project, &["invoke", "--env", "ctest", "--input", input.to_str().expect("utf-8")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.stdout.lines().next().expect("one output").to_owned()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

/// Run the example in the runtime image as its rendered Deployment would run, in one flavour.
fn runtime_runs_the_rendered_deployment(course: bool) {
    if !podman_available() {
        return;
    }
    let image = runtime_image();
    let redis = Redis::start();
    let metrics_port = free_port();
    let project = project_for(&redis, image, metrics_port, course);
    let objects = render_ctest(project.path());
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").expect("a Deployment");
    let files = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(files.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let name = format!("fnops-test-{}", std::process::id() ^ u32::from(metrics_port));
    let mut args: Vec<String> =
        ["run", "-d", "--name", &name, "--network", "host"].map(String::from).to_vec();
    if course {
        // In a pod the runtime has its own network namespace; on the host network the course
        // contract's default port (8080) could be taken, so the test gives it a free one.
        args.extend(["-e".into(), format!("METRICS_PORT={metrics_port}")]);
    }
    args.extend(pod_run_args(&objects, deployment, files.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    podman_ok(&args);
    let logs = || {
        let out = podman(&["logs", &name]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let cleanup = Cleanup(name.clone());

    let sample = repo().join("tests/fixtures/metrics/course-2023-16cpu.json");
    let input = std::fs::read_to_string(&sample).expect("sample");
    redis.set("metrics", &input);
    let start = Instant::now();
    let mut written = None;
    while start.elapsed() < Duration::from_secs(60) && written.is_none() {
        written = redis.get("ctest-output");
        std::thread::sleep(Duration::from_millis(200));
    }
    let written = written.unwrap_or_else(|| panic!("no output within 60 s; container log:\n{}", logs()));
    assert_eq!(written, direct_output(project.path(), &sample), "byte for byte as a direct run");

    let ready = http_get(metrics_port, "/readyz");
    assert_eq!(ready.as_ref().map(|r| r.0), Some(200), "/readyz: {ready:?}\n{}", logs());
    // A stop is SIGTERM to PID 1 (tini), forwarded to the runtime, which finishes and exits 0.
    podman_ok(&["stop", "-t", "20", &name]);
    let code = podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
    assert_eq!(code.trim(), "0", "exit code after SIGTERM; log:\n{}", logs());
    let log = logs();
    assert!(log.contains("stop requested"), "{log}");
    drop(cleanup);
}

/// Removes a container however the test ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", &self.0]);
    }
}

#[test]
fn the_runtime_image_runs_the_rendered_deployment() {
    runtime_runs_the_rendered_deployment(false);
}

#[test]
fn the_runtime_image_runs_the_course_flavour_with_its_subpath_mount() {
    runtime_runs_the_rendered_deployment(true);
}

#[test]
fn the_cli_image_runs_as_the_argocd_plugin_sidecar() {
    if !podman_available() {
        return;
    }
    let image = cli_image();
    // A repository as the repo-server checks it out, readable by the plugin's user.
    let checkout = tempfile::tempdir().expect("tmp");
    let app = checkout.path().join("apps/metrics");
    std::fs::create_dir_all(&app).expect("mkdir");
    let project = common::example_project();
    copy_tree(project.path(), &app);
    for entry in walkdir::WalkDir::new(checkout.path()) {
        let entry = entry.expect("walk");
        let mode = if entry.file_type().is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let mount = format!("{}:/repo:ro", checkout.path().display());
    let out = podman(&[
        "run",
        "--rm",
        "--read-only",
        "--user",
        "999:999",
        "--network",
        "none",
        "--tmpfs",
        "/tmp",
        "-v",
        &mount,
        "-w",
        "/repo/apps/metrics",
        "-e",
        "ARGOCD_APP_NAME=metrics-dev",
        "-e",
        "ARGOCD_APP_NAMESPACE=team-a",
        "-e",
        "ARGOCD_APP_SOURCE_PATH=apps/metrics",
        "-e",
        "ARGOCD_APP_REVISION=0123abc",
        "-e",
        "ARGOCD_ENV_FNOPS_ENV=dev",
        "-e",
        "KUBE_VERSION=v1.34.1",
        image,
        "argocd",
        "generate",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let objects: Vec<Value> = parse_stream(&stdout, 0, Schema::Kubernetes11)
        .expect("a YAML stream")
        .iter()
        .map(|n| n.to_json())
        .collect();
    let kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!("{}/{}", o["kind"].as_str().unwrap_or(""), o["metadata"]["name"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap/outputkey",
            "ConfigMap/pyfile",
            "ConfigMap/runtime-config",
            "Deployment/serverless-redis"
        ],
        "{stdout}"
    );

    // The plugin configuration baked into the image is the one the binary prints.
    let baked = podman_ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        image,
        "/home/argocd/cmp-server/config/plugin.yaml",
    ]);
    let printed = fnops(&repo(), &["argocd", "plugin", "--config"]);
    assert_eq!(baked, printed.stdout);
    let user = podman_ok(&["run", "--rm", "--entrypoint", "id", image, "-u"]);
    assert_eq!(user.trim(), "999");
}

/// Zombies in the runtime's container: the handler's subprocesses leave orphans, reparented to
/// PID 1. Under tini (the image's entry point) they are reaped; with the runtime itself as PID 1
/// they would pile up (the same image run without tini shows it).
#[test]
fn orphans_are_reaped_in_the_runtime_image() {
    if !podman_available() {
        return;
    }
    let image = runtime_image();
    let redis = Redis::start();
    redis.set("metrics", "{\"cmd\": \"orphans\"}");
    let handler = repo().join("bundled-runtime/tests/handlers/hostile.py");
    let zombies_after = |entrypoint: Option<&str>| -> usize {
        let name = format!("fnops-zombies-{}-{}", std::process::id(), entrypoint.is_some());
        let _cleanup = Cleanup(name.clone());
        let mount = format!("{}:/opt/usermodule.py:ro", handler.display());
        let port = format!("REDIS_PORT={}", redis.port);
        let mut args: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-v",
            &mount,
            "-e",
            "REDIS_HOST=127.0.0.1",
            "-e",
            &port,
            "-e",
            "REDIS_OUTPUT_KEY=zombies-out",
            "-e",
            "MONITORING_PERIOD=0.05",
            "-e",
            "TRIGGER=poll",
            "-e",
            "METRICS_PORT=0",
        ];
        if let Some(e) = entrypoint {
            args.extend(["--entrypoint", e]);
        }
        args.push(image);
        podman_ok(&args);
        std::thread::sleep(Duration::from_secs(6));
        let count = podman_ok(&[
            "exec",
            &name,
            "python3",
            "-c",
            "import os\nn=0\nfor p in os.listdir('/proc'):\n  if p.isdigit():\n    try: n += open('/proc/%s/stat' % p).read().rsplit(')', 1)[1].split()[0] == 'Z'\n    except OSError: pass\nprint(n)",
        ]);
        count.trim().parse().expect("a count")
    };
    let with_tini = zombies_after(None);
    let without = zombies_after(Some("/opt/fnops/bin/fnops-runtime"));
    assert!(without > 20, "the test makes orphans: {without} zombies without an init");
    assert!(with_tini <= 2, "{with_tini} zombies under tini");
}
