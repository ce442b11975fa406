# Records every sequence number it handled successfully in context.env; misbehaves on demand.
import os


def handler(input, context):
    cmd = input.get("cmd")
    if cmd == "raise":
        raise RuntimeError("asked to fail")
    if cmd == "exit":
        os._exit(9)
    seen = context.env.setdefault("seen", [])
    seen.append(input["seq"])
    print("handled %d" % input["seq"])
    return {"seq": input["seq"], "seen": seen}
