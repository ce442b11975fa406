# A package handler: relative import, called as mypkg.main.handler.
from . import calc


def handler(input, context):
    cpus = [v for k, v in sorted(input.items()) if k.startswith("cpu_percent-")]
    return {"ts": input["timestamp"], "mean_cpu": calc.mean(cpus)}
