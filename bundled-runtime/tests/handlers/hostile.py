# Counts its calls like counting.py, and misbehaves in the ways a real handler (or a library it
# calls) can hurt the host: bytes that are not UTF-8 on stderr, a print with no newline, a fork
# whose child lives on, a result too big, orphaned processes.
import os
import subprocess
import sys
import time


def handler(input, context):
    n = context.env.get("n", 0) + 1
    context.env["n"] = n
    cmd = input.get("cmd")
    if cmd == "badbyte":
        sys.stderr.buffer.write(b"\xff\xfe not utf-8\n")
        sys.stderr.flush()
    if cmd == "longline":
        sys.stdout.write("x" * (int(input.get("mib", 8)) << 20))
        sys.stdout.flush()
    if cmd == "fork":
        if os.fork() == 0:
            time.sleep(float(input.get("child_seconds", 1)))
    if cmd == "bigout":
        return {"n": n, "seq": input.get("seq"), "pad": "x" * (int(input.get("mib", 4)) << 20)}
    if cmd == "orphans":
        # The shell exits at once; its `sleep` is reparented to PID 1 and exits soon after.
        subprocess.Popen(["sh", "-c", "sleep 0.05 &"]).wait()
    if cmd == "blob":
        context.env["blob"] = "b" * (int(input.get("mib", 20)) << 20)
    if cmd == "unpicklable":
        context.env["f"] = lambda: None
    if cmd == "exit":
        os._exit(3)
    print("call %d seq %s" % (n, input.get("seq")))
    return {"n": n, "seq": input.get("seq")}
