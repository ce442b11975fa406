# Counts its successful calls in context.env; the input's "cmd" makes it misbehave.
import math
import os
import time


def handler(input, context):
    n = context.env.get("n", 0) + 1
    context.env["n"] = n
    cmd = input.get("cmd")
    print("call %d seq %s" % (n, input.get("seq")))
    if cmd == "hang":
        time.sleep(600)
    if cmd == "hang_once" and not os.path.exists(input["marker"]):
        open(input["marker"], "w").close()
        time.sleep(600)
    if cmd == "exit":
        os._exit(3)
    if cmd == "raise":
        raise ValueError("boom")
    if cmd == "nan":
        return {"n": n, "x": math.nan}
    if cmd == "set":
        return {"n": n, "s": {1, 2}}
    if cmd == "none":
        return None
    if cmd == "sleep":
        time.sleep(float(input.get("seconds", 1)))
    return {"n": n, "seq": input.get("seq")}
