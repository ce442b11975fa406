#!/usr/bin/env bash
# Seed the fuzz corpora from the test fixtures.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/project_loader corpus/manifest_validate corpus/zip_reader corpus/runtime_config
for f in ../tests/cases/*/fnops.yaml ../fnops.yaml; do cp "$f" "corpus/project_loader/$(echo "$f" | tr / _)"; done
for f in ../tests/fixtures/rules/*/*.yaml ../tests/fixtures/valid/*.yaml; do
  [ "$(stat -c %s "$f")" -lt 100000 ] && cp "$f" "corpus/manifest_validate/$(echo "$f" | tr / _)"
done
python3 - <<'PY'
import io, zipfile
for name, entries in {"ok": {"pkg/__init__.py": "", "pkg/main.py": "x = 1\n"}, "climb": {"../evil.py": "x"}}.items():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, t in entries.items():
            z.writestr(n, t)
    open(f"corpus/zip_reader/{name}.zip", "wb").write(buf.getvalue())
open("corpus/runtime_config/basic", "w").write("localhost\n6379\n\nmetrics\n5\n\nchange\nhandler\n60\n8080\ntext\nfalse\n\n")
PY
