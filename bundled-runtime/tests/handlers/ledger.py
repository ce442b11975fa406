# Records every sequence number it handled successfully in context.env; misbehaves on demand.
import os
import time


def handler(input, context):
    cmd = input.get("cmd")
    if cmd == "raise":
        raise RuntimeError("asked to fail")
    if cmd == "exit":
        os._exit(9)
    if input.get("sleep"):
        time.sleep(float(input["sleep"]))
    seen = context.env.setdefault("seen", [])
    seen.append(input["seq"])
    print("handled %d" % input["seq"])
    return {"seq": input["seq"], "seen": seen}
