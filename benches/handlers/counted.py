"""Benchmark wrapper: the handler named by FNOPS_BENCH_HANDLER (a .py path), plus a tick count
kept in a module global (not in context.env, so the state a runtime snapshots is unchanged)."""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location("bench_target", os.environ["FNOPS_BENCH_HANDLER"])
_target = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_target)
TICKS = 0


def handler(input, context):
    global TICKS
    TICKS += 1
    result = _target.handler(input, context)
    result["bench-tick"] = TICKS
    return result
