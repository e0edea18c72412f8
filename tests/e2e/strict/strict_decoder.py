"""A strict decoder of sagemock's responses, as strict as amazonka's generated decoders (and a
little stricter): it decodes a raw response body against the newest service model
(server/services/sagemaker/model/sagemaker-training-service-2.json) into typed Python values, and every way the
body could break a strict typed client is a DecodeError naming the operation, the path and the
problem.

This is deliberately a second, independent implementation next to tests/e2e/conformance.py:
conformance.py checks the model's *constraints* (lengths, patterns, ranges, headers); this file
checks *decodability*, the way a code-generated client with non-optional fields does it:

* the body is strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, an object at the top;
* every required member of every structure is present, at every depth (amazonka `.:>`);
* no `null` anywhere (absent optionals are omitted; a null list/map element kills a decoder);
* numbers where numbers are due: integers are integer literals within Int32 (`integer`) or Int64
  (`long`) and never negative where the model's minimum is >= 0 (amazonka `Natural`);
  float/double are numbers; timestamps are numbers of epoch seconds (integer, decimal or
  `1.7E9` notation), never strings, and plausibly seconds (not milliseconds);
* booleans are JSON booleans, strings are JSON strings, enum values are values of the model's
  enum (map keys too);
* no member the model does not have;
* operations without an output answer an empty body or `{}`;
* error responses: status >= 400, a JSON object with a non-empty string `__type` (or `code`) and
  a string `message`/`Message`, nothing null; a modeled error's members are checked against its
  shape.

Used by: tests/e2e/strict/recproxy.py (JS and CLI runs, through a recording proxy),
tests/e2e/strict/boto3_plugin.py (the boto3 suite, in-process), tests/e2e/strict/test_*.py.
Command line: `python3 strict_decoder.py RECORDING.jsonl...` decodes recorded responses and
exits 1 if any fails.
"""

import base64
import datetime
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MODEL_PATH = REPO / "server" / "services" / "sagemaker" / "model" / "sagemaker-training-service-2.json"

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Epoch seconds between 1973 and 5138: catches milliseconds sent as seconds and zeros.
EPOCH_MIN, EPOCH_MAX = 1e8, 1e11
ERROR_EXTRA_MEMBERS = ("__type", "code", "message", "Message")


class DecodeError:
    __slots__ = ("operation", "path", "problem")

    def __init__(self, operation, path, problem):
        self.operation = operation
        self.path = path
        self.problem = problem

    def __str__(self):
        return f"{self.operation or '?'}: {self.path or '$'}: {self.problem}"

    __repr__ = __str__

    def as_dict(self):
        return {"operation": self.operation, "path": self.path, "problem": self.problem}


class _Float(float):
    """A JSON number written with a fraction or an exponent (keeps its literal)."""

    literal = ""


def _parse_float(text):
    f = _Float(text)
    f.literal = text
    return f


class _Obj(dict):
    """A JSON object that remembers the keys it saw more than once."""

    duplicates = ()


def _pairs(pairs):
    obj = _Obj()
    dups = []
    for k, v in pairs:
        if k in obj:
            dups.append(k)
        obj[k] = v
    obj.duplicates = tuple(dups)
    return obj


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_strict_json(body):
    """bytes/str -> Python value; raises ValueError with the reason when it is not strict JSON."""
    if isinstance(body, (bytes, bytearray)):
        if body[:3] == b"\xef\xbb\xbf":
            raise ValueError("body starts with a UTF-8 byte order mark")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"body is not UTF-8 ({e})") from None
    else:
        text = body
    return json.loads(text, object_pairs_hook=_pairs, parse_float=_parse_float,
                      parse_constant=_reject_constant)


def _kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {json.dumps(v)}"
    if isinstance(v, _Float):
        return f"number {v.literal}"
    if isinstance(v, int):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {json.dumps(v)[:80]}"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


class StrictDecoder:
    def __init__(self, model_path=MODEL_PATH):
        with open(model_path, encoding="utf-8") as f:
            model = json.load(f)
        self.shapes = model["shapes"]
        self.operations = model["operations"]
        self.decoded = 0  # responses decoded (successes and errors)

    # ------------------------------------------------------------------ values
    def _value(self, shape_name, v, path, errs, op):
        shape = self.shapes[shape_name]
        t = shape["type"]

        def bad(problem):
            errs.append(DecodeError(op, path, problem))

        if v is None:
            bad(f"null where {shape_name} ({t}) is due; absent members must be omitted")
            return None
        if t == "structure":
            if not isinstance(v, dict):
                bad(f"expected an object ({shape_name}), got {_kind(v)}")
                return None
            for k in getattr(v, "duplicates", ()):
                bad(f"member {k!r} appears more than once")
            members = shape.get("members", {})
            out = {}
            for req in shape.get("required", []):
                if req not in v:
                    bad(f"required member {req!r} of {shape_name} is missing")
            for k, sub in v.items():
                p = f"{path}.{k}" if path else k
                if k not in members:
                    errs.append(DecodeError(op, p, f"member not in the model's {shape_name}"))
                    continue
                out[k] = self._value(members[k]["shape"], sub, p, errs, op)
            return out
        if t == "list":
            if not isinstance(v, list):
                bad(f"expected an array ({shape_name}), got {_kind(v)}")
                return None
            return [self._value(shape["member"]["shape"], item, f"{path}[{i}]", errs, op)
                    for i, item in enumerate(v)]
        if t == "map":
            if not isinstance(v, dict):
                bad(f"expected an object (map {shape_name}), got {_kind(v)}")
                return None
            for k in getattr(v, "duplicates", ()):
                bad(f"map key {k!r} appears more than once")
            out = {}
            for k, sub in v.items():
                self._value(shape["key"]["shape"], k, f"{path}{{key {k!r}}}", errs, op)
                out[k] = self._value(shape["value"]["shape"], sub, f"{path}[{k!r}]", errs, op)
            return out
        if t == "string":
            if not isinstance(v, str):
                bad(f"expected a string ({shape_name}), got {_kind(v)}")
                return None
            if "enum" in shape and v not in shape["enum"]:
                bad(f"{v!r} is not a value of the enum {shape_name}")
            return v
        if t in ("integer", "long"):
            if isinstance(v, bool) or not isinstance(v, int) or isinstance(v, _Float):
                bad(f"expected an integer literal ({shape_name}), got {_kind(v)}")
                return None
            lo, hi = INT32 if t == "integer" else INT64
            if not lo <= v <= hi:
                bad(f"{v} does not fit a {'32' if t == 'integer' else '64'}-bit {t} ({shape_name})")
            if shape.get("min", -1) >= 0 and v < 0:
                bad(f"{v} is negative where the model's minimum is {shape['min']} "
                    f"(a Natural for amazonka) ({shape_name})")
            return v
        if t in ("float", "double"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                bad(f"expected a number ({shape_name}), got {_kind(v)}")
                return None
            return float(v)
        if t == "boolean":
            if not isinstance(v, bool):
                bad(f"expected true or false ({shape_name}), got {_kind(v)}")
                return None
            return v
        if t == "timestamp":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                bad(f"timestamp must be a number of epoch seconds, got {_kind(v)}")
                return None
            if not math.isfinite(v) or not EPOCH_MIN < v < EPOCH_MAX:
                bad(f"timestamp {_kind(v)} is not plausible epoch seconds (milliseconds?)")
                return None
            return datetime.datetime.fromtimestamp(float(v), tz=datetime.timezone.utc)
        if t == "blob":
            if not isinstance(v, str):
                bad(f"expected a base64 string ({shape_name}), got {_kind(v)}")
                return None
            return v
        bad(f"model type {t!r} unknown to the decoder")
        return None

    # ------------------------------------------------------------------ responses
    def _parse(self, operation, body, errs):
        try:
            return parse_strict_json(body), True
        except ValueError as e:
            start = bytes(body[:120]) if isinstance(body, (bytes, bytearray)) else body[:120]
            errs.append(DecodeError(operation, "", f"body is not strict JSON: {e}; "
                                                   f"it starts {start!r}"))
            return None, False

    def decode_output(self, operation, body):
        """Decode a successful (2xx) body. Returns (value, [DecodeError])."""
        errs = []
        op = self.operations.get(operation)
        if op is None:
            errs.append(DecodeError(operation, "", "operation is not in the model but succeeded"))
            return None, errs
        if not body or not body.strip():
            if "output" in op:
                errs.append(DecodeError(operation, "", f"empty body; the output shape "
                                                       f"{op['output']['shape']} is due"))
            return {}, errs
        parsed, ok = self._parse(operation, body, errs)
        if not ok:
            return None, errs
        if not isinstance(parsed, dict):
            errs.append(DecodeError(operation, "", f"body must be an object, got {_kind(parsed)}"))
            return None, errs
        if "output" not in op:
            for k in parsed:
                errs.append(DecodeError(operation, k,
                                        "the operation has no output; member not allowed"))
            return {}, errs
        return self._value(op["output"]["shape"], parsed, "", errs, operation), errs

    def decode_error(self, operation, body):
        """Decode an error body. Returns ((code, message), [DecodeError])."""
        errs = []
        if not body:
            errs.append(DecodeError(operation, "", "error response without a body"))
            return None, errs
        parsed, ok = self._parse(operation, body, errs)
        if not ok:
            return None, errs
        if not isinstance(parsed, dict):
            errs.append(DecodeError(operation, "",
                                    f"error body must be an object, got {_kind(parsed)}"))
            return None, errs
        for k in parsed.duplicates:
            errs.append(DecodeError(operation, k, "member appears more than once"))
        raw_code = parsed.get("__type", parsed.get("code"))
        if not isinstance(raw_code, str) or not raw_code.split("#")[-1]:
            errs.append(DecodeError(operation, "__type", f"error code must be a non-empty string, "
                                                         f"got {_kind(raw_code)}"))
            code = None
        else:
            code = raw_code.split("#")[-1].split(":")[0]
        msg_key = "message" if "message" in parsed else "Message" if "Message" in parsed else None
        message = None
        if msg_key is None:
            errs.append(DecodeError(operation, "message", "error body has no message"))
        elif not isinstance(parsed[msg_key], str):
            errs.append(DecodeError(operation, msg_key, f"message must be a string, got "
                                                        f"{_kind(parsed[msg_key])}"))
        else:
            message = parsed[msg_key]
        shape = self.shapes.get(code) if code else None
        members = shape.get("members", {}) if shape and shape.get("exception") else {}
        for k, v in parsed.items():
            if k == msg_key:
                continue  # checked above
            if v is None:
                errs.append(DecodeError(operation, k, "null in an error body"))
            elif k in members:
                self._value(members[k]["shape"], v, k, errs, operation)
            elif k not in ERROR_EXTRA_MEMBERS:
                errs.append(DecodeError(operation, k, f"member not in the error shape "
                                                      f"{code or '?'} (nor __type/message)"))
        return (code, message), errs

    def decode_response(self, operation, status, body):
        """Decode one raw response by its status. Returns (value, [DecodeError])."""
        self.decoded += 1
        if 200 <= status < 300:
            if status != 200:
                return None, [DecodeError(operation, "",
                                          f"HTTP {status}: awsJson successes are 200")]
            return self.decode_output(operation, body)
        if status < 400:
            return None, [DecodeError(operation, "",
                                      f"HTTP {status}: neither a success nor an error")]
        value, errs = self.decode_error(operation, body)
        if status >= 500:
            errs.append(DecodeError(operation, "", f"HTTP {status}: the server failed"))
        return value, errs


DECODER = None


def decoder():
    """The shared decoder (the model is read once per process)."""
    global DECODER
    if DECODER is None:
        DECODER = StrictDecoder()
    return DECODER


def check_recordings(paths, out=sys.stdout):
    """Decode every record of JSONL recordings made by recproxy.py; returns the error count."""
    dec = decoder()
    n = bad = 0
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                n += 1
                _, errs = dec.decode_response(rec["operation"], rec["status"],
                                              base64.b64decode(rec["body_b64"]))
                for e in errs:
                    bad += 1
                    print(f"{p}: {rec.get('client', '?')}: {e}", file=out)
    print(f"strict decoder: {n} responses, {bad} problems", file=out)
    return bad


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} RECORDING.jsonl...", file=sys.stderr)
        sys.exit(2)
    sys.exit(1 if check_recordings(sys.argv[1:]) else 0)
