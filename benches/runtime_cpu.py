"""Where a tick's CPU goes: runs fnops-runtime on the standard handler with the period at 0 for
3 s and prints ticks/s and the CPU time per tick of the host, the worker and redis-server (from
/proc). The profile behind the runtime section of docs/BENCHMARKS.md.

    cargo build --release -p fnops-runtime && python3 benches/runtime_cpu.py
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtime_bench as rb  # noqa: E402


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    server, port, r = rb.start_redis()
    r.set("metrics", rb.SAMPLE)
    env = rb.runtime_env(port, rb.COUNTED, FNOPS_BENCH_HANDLER=rb.STANDARD)
    runtime = subprocess.Popen([rb.RUNTIME], env=env, stderr=subprocess.DEVNULL)
    try:
        while not r.exists("out"):
            time.sleep(0.01)
        time.sleep(0.3)
        children = open("/proc/%d/task/%d/children" % (runtime.pid, runtime.pid)).read().split()
        pids = {"host": runtime.pid, "worker": int(children[0]), "redis-server": server.pid}
        c0 = {k: cpu_seconds(v) for k, v in pids.items()}
        n0, t0 = json.loads(r.get("out"))["bench-tick"], time.time()
        time.sleep(3)
        c1 = {k: cpu_seconds(v) for k, v in pids.items()}
        n1, t1 = json.loads(r.get("out"))["bench-tick"], time.time()
    finally:
        runtime.send_signal(signal.SIGTERM)
        runtime.wait(timeout=10)
        server.kill()
    ticks = n1 - n0
    print("ticks/s: %.0f" % (ticks / (t1 - t0)))
    for name in pids:
        used = c1[name] - c0[name]
        print("%-13s %3.0f%% of a CPU, %5.1f µs per tick" % (name, used / (t1 - t0) * 100, used / ticks * 1e6))


if __name__ == "__main__":
    main()
