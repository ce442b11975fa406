"""A reference loop with the course runtime's semantics, for compatibility tests and benchmarks.

Written from the runtime contract (shared/reference/runtime-contract.md), not from its code:
one context object reused for every call, `handler(data, context)` with two positional
arguments, `json.dumps` with default separators, output written only when truthy, then
`context.last_execution = datetime.now()` whenever input was present.

Modes:
  --series FILE.jsonl   offline: one input per line, prints one line per input: the JSON that
                        would be written, `null` when nothing is written, `ERROR` on an exception.
  --redis HOST:PORT     the real loop against Redis (needs the `redis` package): GET the input
                        key, call, SET the output key, sleep INTERVAL; `--ticks N` stops after N.
"""
import argparse
import datetime
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time


class Context:
    def __init__(self, host, port, input_key, output_key, module_path):
        self.host = host
        self.port = port
        self.input_key = input_key
        self.output_key = output_key
        self.function_getmtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(module_path))) if module_path else ""
        self.last_execution = None
        self.env = {}

    def set_env(self, new_env):
        self.env = new_env


def load_handler(module_path, handler, paths):
    for p in reversed(paths):
        sys.path.insert(0, p)
    if module_path:
        sys.path.insert(0, os.path.dirname(os.path.abspath(module_path)))
        loader = importlib.machinery.SourceFileLoader("usermodule", module_path)
        spec = importlib.util.spec_from_loader("usermodule", loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules["usermodule"] = module
        loader.exec_module(module)
    if "." in handler:
        module_name, _, name = handler.rpartition(".")
        module = importlib.import_module(module_name)
        return getattr(module, name)
    return getattr(module, handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module")
    parser.add_argument("--handler", default="handler")
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--series")
    parser.add_argument("--redis")
    parser.add_argument("--input-key", default="metrics")
    parser.add_argument("--output-key", default="out")
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--ticks", type=int, default=0)
    args = parser.parse_args()
    # Results go to the real stdout; the handler's own prints go to stderr, as in a pod log.
    results = sys.stdout
    sys.stdout = sys.stderr
    handler = load_handler(args.module, args.handler, args.path)
    host, _, port = (args.redis or "localhost:6379").partition(":")
    context = Context(host, int(port or 6379), args.input_key, args.output_key, args.module)

    if args.series:
        with open(args.series) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    result = handler(json.loads(line), context)
                    results.write((json.dumps(result) if result else "null") + "\n")
                except Exception:
                    results.write("ERROR\n")
                context.last_execution = datetime.datetime.now()
        return

    import redis  # the course image ships redis-py

    r = redis.Redis(host=host, port=int(port or 6379))
    ticks = 0
    while not args.ticks or ticks < args.ticks:
        ticks += 1
        raw = r.get(args.input_key)
        if raw:
            try:
                result = handler(json.loads(raw), context)
                if result and args.output_key:
                    r.set(args.output_key, json.dumps(result))
            except Exception:
                pass
            context.last_execution = datetime.datetime.now()
        if args.interval:
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
