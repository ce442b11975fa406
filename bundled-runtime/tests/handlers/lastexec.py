# Reads last_execution and function_getmtime (their types, not their values, are compared).
import datetime
import time


def handler(input, context):
    last = context.last_execution
    mtime = context.function_getmtime
    time.strptime(mtime, "%Y-%m-%d %H:%M:%S")
    context.env["calls"] = context.env.get("calls", 0) + 1
    return {
        "ts": input["timestamp"],
        "last_type": type(last).__name__,
        "is_datetime_after_first": context.env["calls"] == 1 or isinstance(last, datetime.datetime),
        "mtime_type": type(mtime).__name__,
    }
