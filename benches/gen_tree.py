"""Generate a manifest tree for the validation benchmark: N objects in the course's shapes
(half Deployments, half ConfigMaps holding the handler), 100 objects per multi-document file,
about 1 % of them invalid (a string `replicas`, an unknown field, a bad label value).

    python3 benches/gen_tree.py N OUT_DIR [--split]

`--split` writes the same objects one per file, for peers that read a single document per
file (check-jsonschema).
"""
import os
import sys

HANDLER = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "functions", "metrics.py")).read()
PYFILE = "\n".join("    " + line if line else "" for line in HANDLER.splitlines())


def configmap(i):
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


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    per_file = 1 if "--split" in sys.argv[3:] else 100
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
    for start in range(0, len(docs), 100):
        with open(os.path.join(out, "objects-%06d.yaml" % (start // 100)), "w") as f:
            f.write("---\n".join(docs[start:start + 100]))


if __name__ == "__main__":
    main()
