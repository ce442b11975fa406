# Stores (datetime, value) tuples in context.env: not JSON, must survive anyway.
import datetime


def handler(input, context):
    stamp = datetime.datetime.strptime(input["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    history = context.env.get("history", [])
    history.append((stamp, input["cpu_percent-1"]))
    history = [(t, v) for t, v in history if (stamp - t).total_seconds() <= 12]
    context.env["history"] = history
    span = (history[-1][0] - history[0][0]).total_seconds()
    return {"ts": input["timestamp"], "count": len(history), "span": span}
