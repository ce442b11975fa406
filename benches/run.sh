#!/usr/bin/env bash
# The whole benchmark suite: see benches/run.py and docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 benches/run.py "$@"
if [ "${1:-}" != "--smoke" ]; then python3 benches/runtime_bench.py "$@"; fi
