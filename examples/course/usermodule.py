"""Derived host metrics for the course dashboard.

Reads the psutil document the collector writes to Redis every ~5 s and returns:
- percent-network-egress: share of eth0 bytes that were sent, in percent;
- percent-memory-caching: share of memory used by buffers and page cache, in percent;
- avg-util-cpu<i>-60sec: mean utilisation of CPU <i> over the last 12 samples (~60 s),
  kept in context.env between calls.
"""

WINDOW = 12


def _percent(part, whole):
    return part / whole * 100.0 if whole else 0.0


def handler(input: dict, context) -> dict:
    sent = input["net_io_counters_eth0-bytes_sent"]
    received = input["net_io_counters_eth0-bytes_recv"]
    memory = input["virtual_memory-total"]
    caching = input["virtual_memory-buffers"] + input["virtual_memory-cached"]

    result = {
        "percent-network-egress": _percent(sent, sent + received),
        "percent-memory-caching": _percent(caching, memory),
    }

    history = context.env.setdefault("cpu_history", {})
    cpus = sorted(int(key.split("-", 1)[1]) for key in input if key.startswith("cpu_percent-"))
    for cpu in cpus:
        window = history.setdefault(str(cpu), [])
        window.append(float(input[f"cpu_percent-{cpu}"]))
        del window[:-WINDOW]
        result[f"avg-util-cpu{cpu}-60sec"] = sum(window) / len(window)
    return result
