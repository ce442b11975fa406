"""Generate a manifest tree for the validation benchmark: N objects in the course's shapes
(half Deployments, half ConfigMaps holding the handler), 100 objects per multi-document file,
about 1 % of them invalid (a string `replicas`, an unknown field, a bad label value).

    python3 benches/gen_tree.py N OUT_DIR [--split | --per-file K | --stream] [--zip]

`--split` writes the same objects one per file, for peers that read a single document per
file (check-jsonschema); `--per-file K` writes K documents per file (default 100; real
repositories have 1,000-document files too); `--stream` writes one file, `stream.yaml`, to feed
on stdin. `--zip` ships each function's code as a ZIP package in `binaryData` (with a helper
module) instead of a `pyfile`.
"""
import base64
import io
import zipfile
import os
import sys

HANDLER = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "functions", "metrics.py")).read()
PYFILE = "\n".join("    " + line if line else "" for line in HANDLER.splitlines())


def zipped(i):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("fn/__init__.py", "")
        z.writestr("fn/main.py", "from . import calc\n\n\ndef handler(input, context):\n    return calc.run(input, context)\n")
        z.writestr("fn/calc.py", HANDLER.replace("def handler(", "def run("))
    data = base64.b64encode(buf.getvalue()).decode()
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: pyfile-{i}
  namespace: team-{i % 50}
binaryData:
  function.zip: {data}
"""


def configmap(i):
    if ZIP:
        return zipped(i)
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: pyfile-{i}
  namespace: team-{i % 50}
data:
  pyfile: |
{PYFILE}
"""


def deployment(i):
    bad = i % 100 == 7
    replicas = '"1"' if bad and i % 3 == 0 else "1"
    extra = "  replica: 1\n" if bad and i % 3 == 1 else ""
    label = "-bad-" if bad and i % 3 == 2 else f"fn-{i}"
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: fn-{i}
  namespace: team-{i % 50}
  labels: {{app: {label}}}
spec:
  replicas: {replicas}
{extra}  selector:
    matchLabels: {{app: {label}}}
  template:
    metadata:
      labels: {{app: {label}}}
      annotations: {{checksum/config: "{i:064x}"}}
    spec:
      containers:
        - name: runtime
          image: lucasmsp/serverless:redis
          imagePullPolicy: Always
          resources: {{requests: {{cpu: 100m, memory: 300Mi}}, limits: {{memory: 512Mi}}}}
          env:
            - {{name: REDIS_HOST, value: redis}}
            - {{name: REDIS_PORT, value: "6379"}}
            - {{name: REDIS_INPUT_KEY, value: metrics}}
          volumeMounts:
            - {{name: pyfile, mountPath: /opt/usermodule.py, subPath: pyfile}}
      volumes:
        - name: pyfile
          configMap: {{name: pyfile-{i}}}
"""


ZIP = "--zip" in sys.argv[3:]


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    flags = sys.argv[3:]
    per_file = 100
    if "--split" in flags:
        per_file = 1
    if "--per-file" in flags:
        per_file = int(flags[flags.index("--per-file") + 1])
    if "--stream" in flags:
        per_file = n
    os.makedirs(out, exist_ok=True)
    docs = []
    for i in range(n // 2):
        docs.append(configmap(i))
        docs.append(deployment(i))
    if per_file == 1:
        for i, doc in enumerate(docs):
            with open(os.path.join(out, "object-%06d.yaml" % i), "w") as f:
                f.write(doc)
        return
    if "--stream" in flags:
        with open(os.path.join(out, "stream.yaml"), "w") as f:
            f.write("---\n".join(docs))
        return
    for start in range(0, len(docs), per_file):
        with open(os.path.join(out, "objects-%06d.yaml" % (start // per_file)), "w") as f:
            f.write("---\n".join(docs[start:start + per_file]))


if __name__ == "__main__":
    main()
