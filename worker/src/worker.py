# fnops worker: imports the user's module once and answers the host's requests.
#
# Protocol (host <-> worker), on the worker's original stdin/stdout, which this script moves to
# private descriptors before any user code runs: fd 0 and fd 1 then point at /dev/null and
# stderr, so print(), input() and logging never touch the protocol.
#   frame = u32 big-endian header length, header (JSON object), then the payloads whose lengths
#           the header lists in "lens", back to back.
# Requests carry "op" and "id": init, call, restore_pickle, restore_json, take_state, env_size,
# ping. Each gets exactly one reply, {"id": <same>, "reply": ready|called|done|state|env_size|
# failed, ...}. A process forked by the handler never answers: its copy of the protocol is
# closed at fork and it exits when it gets back here.
import datetime
import importlib
import importlib.machinery
import importlib.util
import json
import os
import pickle
import struct
import sys
import time
import traceback

_proto_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
_proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)
os.dup2(2, 1)
sys.stdin = open(os.devnull, "r")
sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)

_PID = os.getpid()
_SELF = os.path.abspath(globals().get("__file__", "<string>"))


def _detach_child():
    """In a process forked by the handler: the protocol belongs to the parent alone, so the
    child's copies of its descriptors now lead to /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for f in (_proto_in, _proto_out):
        try:
            os.dup2(null, f.fileno())
        except OSError:
            pass
    os.close(null)


os.register_at_fork(after_in_child=_detach_child)

SNAPSHOT_MAX_BYTES = 16 * 1024 * 1024
SNAPSHOT_MAX_SECONDS = 0.005


def _read_exact(n):
    data = _proto_in.read(n)  # a buffered reader returns n bytes unless the stream ended
    if len(data) != n:
        raise EOFError
    return data


_HEADERS = {}  # the host repeats the same few headers: parse each once


_CALL_HEAD = b'{"id":'
_CALL_TAIL = b'],"op":"call"}'


def _read_frame():
    (size,) = struct.unpack(">I", _read_exact(4))
    raw = _read_exact(size)
    # The call header, on every tick's path, differs from call to call only in its id and the
    # input's length (protocol.rs writes exactly `{"id":N,"lens":[L],"op":"call"}`): read both
    # without a JSON parse. Anything else goes through json.loads.
    if raw.startswith(_CALL_HEAD) and raw.endswith(_CALL_TAIL):
        call_id, sep, size = raw[6:-14].partition(b',"lens":[')
        if sep and call_id.isdigit() and size.isdigit():
            return {"op": "call", "id": int(call_id)}, [_read_exact(int(size))]
    header = _HEADERS.get(raw)
    if header is None:
        header = json.loads(raw)
        if header.get("op") != "call" and len(_HEADERS) < 64 and len(raw) < 256:
            _HEADERS[raw] = header
    payloads = [_read_exact(n) for n in header.get("lens", ())]
    return header, payloads


def _send(header, *payloads):
    header["lens"] = [len(p) for p in payloads]
    _send_raw(json.dumps(header).encode(), payloads)


def _send_raw(raw, payloads):
    _proto_out.write(struct.pack(">I", len(raw)) + raw + b"".join(payloads))


def _send_called(call_id, truthy, output, snapshot):
    """The common reply, formatted by hand: it is on every tick's path."""
    t = b"true" if truthy else b"false"
    if snapshot is None:
        raw = b'{"id":%d,"reply":"called","truthy":%s,"lens":[%d]}' % (call_id, t, len(output))
        _send_raw(raw, (output,))
    else:
        raw = b'{"id":%d,"reply":"called","truthy":%s,"snapshot":true,"lens":[%d,%d]}' % (
            call_id, t, len(output), len(snapshot))
        _send_raw(raw, (output, snapshot))


def _user_traceback(exc):
    """The traceback of `exc` with this script's frames and the import machinery left out, so it
    starts at the user's code and names the user's files."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if os.path.abspath(name) != _SELF and not name.startswith("<frozen importlib"):
            frames.append(tb)
        tb = tb.tb_next
    # Rebuild the chain from the kept frames (a traceback's tb_next is writable).
    for a, b in zip(frames, frames[1:]):
        a.tb_next = b
    if frames:
        frames[-1].tb_next = None
    kept = frames[0] if frames else None
    return "".join(traceback.format_exception(type(exc), exc, kept))


class Context:
    """The object handlers receive as their second argument, as the course runtime built it."""

    def __init__(self, host, port, input_key, output_key, function_getmtime):
        self.host = host
        self.port = port
        self.input_key = input_key
        self.output_key = output_key
        self.function_getmtime = function_getmtime
        self.last_execution = None
        self.env = {}

    def confirm_execution(self):
        self.last_execution = datetime.datetime.now()

    def set_env(self, new_env):
        self.env = new_env

    @staticmethod
    def help():
        print(
            "context attributes: host (str), port (int), input_key (str), output_key (str or None), "
            "function_getmtime (str), last_execution (None or datetime), env (dict kept between calls); "
            "methods: confirm_execution(), set_env(new_env), help()"
        )


class Worker:
    def __init__(self):
        self.handler = None
        self.context = None
        self.allow_nan = False
        self.max_payload = 1 << 30
        self.snapshot_every = 1
        self.calls_since_snapshot = 0
        self.snapshot_off_reason = None
        self.state_json = False
        self.snapshot_off_reported = False

    def init(self, cfg):
        for path in reversed(cfg.get("sys_path", [])):
            if path not in sys.path:
                sys.path.insert(0, path)
        module_path = cfg.get("module_path")
        handler_name = cfg["handler"]
        mtime_source = module_path or cfg.get("zip_path")
        mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(mtime_source))) if mtime_source else ""
        module = None
        if module_path:
            loader = importlib.machinery.SourceFileLoader("usermodule", module_path)
            spec = importlib.util.spec_from_loader("usermodule", loader)
            module = importlib.util.module_from_spec(spec)
            sys.modules["usermodule"] = module
            loader.exec_module(module)
        if "." in handler_name:
            module_name, _, function_name = handler_name.rpartition(".")
            module = sys.modules["usermodule"] if module_name == "usermodule" else importlib.import_module(module_name)
        else:
            function_name = handler_name
        handler = getattr(module, function_name, None)
        if not callable(handler):
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
            raise LookupError("`%s` is not a function of module `%s`; it defines: %s" % (function_name, module.__name__, ", ".join(names) or "no functions"))
        self.handler = handler
        self.allow_nan = bool(cfg.get("allow_nan"))
        self.max_payload = int(cfg.get("max_payload") or self.max_payload)
        # One strict encoder for every call (json.dumps with a non-default argument builds a new
        # one each time); the separators are json.dumps' defaults, ", " and ": ".
        self.strict = json.JSONEncoder(allow_nan=False).encode
        self.state_json = bool(cfg.get("state_json"))
        self.context = Context(cfg["host"], cfg["port"], cfg["input_key"], cfg.get("output_key"), mtime)
        return mtime

    def encode(self, result):
        """(bytes, non_finite): strict JSON when it can be; NaN and Infinity as json.dumps
        writes them when allowed, flagged so the host can say so."""
        try:
            return self.strict(result).encode(), False
        except ValueError:
            if not self.allow_nan:
                raise
            return json.dumps(result).encode(), True

    def call(self, raw):
        ctx = self.context
        try:
            data = json.loads(raw)
        except Exception as exc:  # the course runtime logged and went on
            ctx.confirm_execution()
            return {"reply": "failed", "kind": "input", "error": "input is not JSON: %s" % exc}, []
        try:
            result = self.handler(data, ctx)
        except BaseException as exc:  # SystemExit from a handler is a failed call, not an exit
            if os.getpid() != _PID:
                os._exit(0)
            if isinstance(exc, KeyboardInterrupt):
                raise
            ctx.confirm_execution()
            return {"reply": "failed", "kind": "handler", "error": "%s: %s" % (type(exc).__name__, exc), "traceback": _user_traceback(exc)}, []
        if os.getpid() != _PID:  # a child the handler forked came back: it never answers
            os._exit(0)
        ctx.confirm_execution()
        reply = {"reply": "called", "truthy": bool(result)}
        payloads = [b""]
        if result:
            try:
                payloads[0], non_finite = self.encode(result)
            except (TypeError, ValueError) as exc:
                return {"reply": "failed", "kind": "output", "error": "the result is not JSON: %s" % exc}, []
            if non_finite:
                reply["non_finite"] = True
            if len(payloads[0]) > self.max_payload:
                return {"reply": "failed", "kind": "output", "error": "the result is %d bytes of JSON, over the %d-byte cap" % (len(payloads[0]), self.max_payload)}, []
        snapshot = self._snapshot()
        if snapshot is not None:
            reply["snapshot"] = True
            payloads.append(snapshot)
        if self.snapshot_off_reason and not self.snapshot_off_reported:
            self.snapshot_off_reported = True
            reply["snapshot_off"] = self.snapshot_off_reason
        if self.state_json:
            try:
                state = json.dumps(ctx.env).encode()
                if len(state) > self.max_payload:
                    reply["state_error"] = "context.env is %d bytes of JSON, over the %d-byte cap" % (len(state), self.max_payload)
                else:
                    payloads.append(state)
                    reply["state"] = True
            except (TypeError, ValueError) as exc:
                reply["state_error"] = "context.env is not JSON: %s" % exc
        return reply, payloads

    def _snapshot(self):
        """Pickle context.env when it is cheap; back off when it is big or slow."""
        if self.snapshot_off_reason:
            return None
        self.calls_since_snapshot += 1
        if self.calls_since_snapshot < self.snapshot_every:
            return None
        self.calls_since_snapshot = 0
        started = time.perf_counter()
        try:
            blob = pickle.dumps(self.context.env, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            self.snapshot_off_reason = "context.env cannot be pickled (%s: %s)" % (type(exc).__name__, exc)
            return None
        if len(blob) > self.max_payload:
            self.snapshot_every = min(self.snapshot_every * 2, 1024)
            return None
        cost = time.perf_counter() - started
        if len(blob) > SNAPSHOT_MAX_BYTES or cost > SNAPSHOT_MAX_SECONDS:
            self.snapshot_every = min(self.snapshot_every * 2, 1024)
        elif self.snapshot_every > 1:
            self.snapshot_every //= 2
        return blob

    def take_state(self):
        """context.env pickled now, whatever the snapshot schedule (hot reload)."""
        try:
            blob = pickle.dumps(self.context.env, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return {"reply": "failed", "kind": "state", "error": "context.env cannot be pickled (%s: %s)" % (type(exc).__name__, exc)}, []
        if len(blob) > self.max_payload:
            return {"reply": "failed", "kind": "state", "error": "context.env is %d bytes pickled, over the %d-byte cap" % (len(blob), self.max_payload)}, []
        return {"reply": "state"}, [blob]


def main():
    worker = Worker()
    while True:
        try:
            header, payloads = _read_frame()
        except EOFError:
            return
        op = header.get("op")
        call_id = header.get("id", 0)
        try:
            if op == "call":
                reply, out = worker.call(payloads[0])
                if len(reply) == 2 and reply["reply"] == "called":
                    _send_called(call_id, reply["truthy"], out[0], None)
                elif len(reply) == 3 and reply.get("snapshot") is True:
                    _send_called(call_id, reply["truthy"], out[0], out[1])
                else:
                    reply["id"] = call_id
                    _send(reply, *out)
            elif op == "init":
                mtime = worker.init(header["config"])
                _send({"id": call_id, "reply": "ready", "mtime": mtime})
            elif op == "restore_pickle":
                worker.context.env = pickle.loads(payloads[0])
                _send({"id": call_id, "reply": "done"})
            elif op == "restore_json":
                state = json.loads(payloads[0])
                if not isinstance(state, dict):
                    _send({"id": call_id, "reply": "failed", "kind": "state", "error": "it holds a JSON %s, not an object" % type(state).__name__})
                else:
                    worker.context.env = state
                    _send({"id": call_id, "reply": "done"})
            elif op == "take_state":
                reply, out = worker.take_state()
                reply["id"] = call_id
                _send(reply, *out)
            elif op == "env_size":
                try:
                    size = len(pickle.dumps(worker.context.env, protocol=pickle.HIGHEST_PROTOCOL))
                    _send({"id": call_id, "reply": "env_size", "bytes": size})
                except Exception as exc:
                    _send({"id": call_id, "reply": "failed", "kind": "state", "error": "context.env cannot be pickled (%s: %s)" % (type(exc).__name__, exc)})
            elif op == "ping":
                _send({"id": call_id, "reply": "done"})
            else:
                _send({"id": call_id, "reply": "failed", "kind": "internal", "error": "unknown request %r" % op})
        except BaseException as exc:
            if os.getpid() != _PID:
                os._exit(0)
            if isinstance(exc, KeyboardInterrupt):
                raise
            kind = "config" if op == "init" else ("state" if str(op).startswith("restore") else "internal")
            _send({"id": call_id, "reply": "failed", "kind": kind, "error": "%s: %s" % (type(exc).__name__, exc), "traceback": _user_traceback(exc)})


main()
