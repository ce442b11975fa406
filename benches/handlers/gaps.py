"""Benchmark wrapper: the handler named by FNOPS_BENCH_HANDLER, timing from inside the worker
the gap between the end of one call and the start of the next. At period 0 with one call queued
ahead, that gap is what the host and the protocol add to a tick beyond the handler itself (the
worker reads the next request, the previous reply is written). Percentiles over the last calls
go into the output; module globals, so context.env is unchanged."""
import importlib.util
import os
import time

_spec = importlib.util.spec_from_file_location("bench_target", os.environ["FNOPS_BENCH_HANDLER"])
_target = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_target)
_clock = time.perf_counter_ns
_GAPS = []
_LAST_END = None
WINDOW = 20000


def handler(input, context):
    global _LAST_END
    start = _clock()
    if _LAST_END is not None:
        _GAPS.append(start - _LAST_END)
        if len(_GAPS) > WINDOW:
            del _GAPS[: len(_GAPS) - WINDOW]
    result = _target.handler(input, context)
    if len(_GAPS) >= 1000:
        ordered = sorted(_GAPS)
        result["bench-gaps"] = {
            "n": len(ordered),
            "p50": ordered[len(ordered) // 2] / 1000,
            "p99": ordered[int(len(ordered) * 0.99)] / 1000,
            "p999": ordered[int(len(ordered) * 0.999)] / 1000,
        }
    _LAST_END = _clock()
    return result
