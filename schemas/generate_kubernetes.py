"""Regenerate schemas/kubernetes.json.gz from the `kubernetes-validate` wheel on PyPI.

    python3 schemas/generate_kubernetes.py [--wheel PATH] [--first 1.29]

The wheel ships strict JSON Schemas (unknown fields rejected) for each Kubernetes version as
data (Apache-2.0). For every version from --first to the newest it holds, this keeps the
top-level schema of every object kind and the shared `$defs`, drops `description` annotations
(not needed to validate), stores every distinct schema once across versions, and writes one
gzip file with a fixed timestamp, so the same wheel always gives the same bytes.
"""
import argparse
import glob
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def strip_descriptions(node):
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel")
    parser.add_argument("--first", default="1.29")
    parser.add_argument("--out", default=os.path.join(HERE, "kubernetes.json.gz"))
    args = parser.parse_args()
    wheel = args.wheel
    tmp = tempfile.mkdtemp()
    if not wheel:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "kubernetes-validate"], check=True)
        wheel = glob.glob(os.path.join(tmp, "kubernetes_validate-*.whl"))[0]
    source = os.path.basename(wheel)
    first = tuple(int(p) for p in args.first.split("."))

    pool, index = [], {}

    def intern(schema):
        text = json.dumps(strip_descriptions(schema), sort_keys=True, separators=(",", ":"))
        if text not in index:
            index[text] = len(pool)
            pool.append(text)
        return index[text]

    versions = {}
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        dirs = sorted({m.group(1) for n in names for m in [re.search(r"kubernetes-json-schema/(v\d+\.\d+)\.\d+-local-strict/", n)] if m},
                      key=lambda v: tuple(int(p) for p in v[1:].split(".")))
        for vdir in dirs:
            version = vdir[1:]
            if tuple(int(p) for p in version.split(".")) < first:
                continue
            prefix = next(n for n in names if f"/{vdir}." in n and "-local-strict/" in n).rsplit("/", 1)[0] + "/"
            defs = json.loads(z.read(prefix + "_definitions.json"))["$defs"]
            kinds = {}
            for name in names:
                if not name.startswith(prefix) or name.endswith(("_definitions.json", "all.json")):
                    continue
                schema = json.loads(z.read(name))
                props = schema.get("properties", {})
                kind = props.get("kind", {}).get("enum")
                api = props.get("apiVersion", {}).get("enum")
                if kind and api:
                    kinds[f"{api[0]}/{kind[0]}"] = intern(schema)
            versions[version] = {"defs": {n: intern(s) for n, s in sorted(defs.items())}, "kinds": dict(sorted(kinds.items()))}

    # Line-oriented so a reader parses only what it uses: a header, one index line per version
    # (kind and definition names to pool line numbers), then one compact schema per line.
    header = json.dumps({"source": source, "versions": list(versions), "format": 2}, separators=(",", ":"))
    index_lines = [json.dumps(versions[v], sort_keys=True, separators=(",", ":")) for v in versions]
    assert all("\n" not in text for text in pool)
    bundle = "\n".join([header] + index_lines + pool) + "\n"
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(bundle.encode())
    with open(args.out, "wb") as f:
        f.write(buf.getvalue())
    print("%s: %d versions (%s), %d distinct schemas, %d bytes raw, %d bytes gzip" % (
        args.out, len(versions), ", ".join(versions), len(pool), len(bundle), len(buf.getvalue())))


if __name__ == "__main__":
    main()
