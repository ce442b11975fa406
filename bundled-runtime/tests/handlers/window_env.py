# A sliding window of the last 3 CPU-0 samples in context.env (mutated in place).
def handler(input, context):
    window = context.env.setdefault("w", [])
    window.append(input["cpu_percent-0"])
    del window[:-3]
    return {"ts": input["timestamp"], "avg": sum(window) / len(window), "len": len(window)}
