"""Run `fnops validate` on the repositories gen_repos.py wrote and compare with what each should
report: exit code, false alarms, misses, and the hardening warnings (counted, not judged).

    python3 benches/check_repos.py FNOPS_BINARY REPOS_DIR
"""
import collections
import json
import os
import subprocess
import sys

HARDENING = {"image-latest", "probe-missing", "resources-missing", "security-context", "subpath-no-rollout"}
binary, repos = sys.argv[1], sys.argv[2]
totals = collections.Counter()
for name in sorted(os.listdir(repos)):
    root = os.path.join(repos, name)
    if not os.path.isdir(root):
        continue
    expected = collections.Counter(json.load(open(root + ".expected.json")))
    run = subprocess.run([binary, "validate", ".", "--format", "json"], cwd=root, capture_output=True, text=True)
    try:
        findings = json.loads(run.stdout)
    except json.JSONDecodeError:
        findings = []
    got = collections.Counter(f"{f['rule']} {f['file']}" for f in findings if f["rule"] not in HARDENING)
    hardening = sum(1 for f in findings if f["rule"] in HARDENING)
    false_alarms = got - expected
    misses = expected - got
    want_exit = 1 if any(k.split()[0] not in {"input-key-unknown", "volume-removed", "deprecated-annotation", "nodeport-range", "service-selector", "api-deprecated", "generate-name"} for k in expected) else 0
    totals.update(trees=1, exit_ok=int(run.returncode == want_exit), false_alarms=sum(false_alarms.values()),
                  misses=sum(misses.values()), found=sum((got & expected).values()), hardening=hardening,
                  expected=sum(expected.values()))
    summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
    flag = "" if run.returncode == want_exit and not false_alarms and not misses else "  <--"
    print(f"{name:14} exit {run.returncode} (want {want_exit}) found {sum((got & expected).values())}/{sum(expected.values())} false {dict(false_alarms)} missed {dict(misses)} hardening {hardening}{flag}")
    if "-v" in sys.argv:
        print("   ", summary)
print(dict(totals))
