# Replaces context.env with a new dict every call, alternating assignment and set_env().
def handler(input, context):
    total = context.env.get("total", 0.0) + input["cpu_percent-2"]
    calls = context.env.get("calls", 0) + 1
    if calls % 2:
        context.env = {"total": total, "calls": calls}
    else:
        context.set_env({"total": total, "calls": calls})
    return {"ts": input["timestamp"], "mean": total / calls}
