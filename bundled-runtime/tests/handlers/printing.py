# Top-level code runs once: prints, logging configuration, sys.path edits.
import logging
import sys

print("module imported")
logging.basicConfig(level=logging.INFO)
sys.path.append("/nonexistent-but-harmless")
LOG = logging.getLogger("printing")


def handler(input, context):
    print("handling", input["timestamp"])
    LOG.info("logged %s", input["timestamp"])
    return {"ts": input["timestamp"], "host": context.host, "port": context.port,
            "input_key": context.input_key, "output_key": context.output_key}
