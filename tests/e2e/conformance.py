"""Response conformance checker for the sagemock end-to-end tests.

Every raw response that a test receives (through a boto3 client made by the fixtures, or through
the raw-HTTP helper) is checked against the service model that sagemock itself embeds,
``server/services/sagemaker/model/sagemaker-training-service-2.json``:

* successful responses: the body is a JSON object matching the operation's output shape, at
  every depth: required members present, no ``null``, no member the model lacks, JSON types
  right (timestamps are JSON numbers of epoch seconds, never strings), enum values valid,
  string lengths and patterns (ARNs...) and number ranges inside the model's bounds;
* error responses: the body is a JSON object whose ``__type`` and ``message`` are strings;
* every response: ``x-amzn-RequestId`` is a UUID, ``Date`` is an HTTP date, ``Content-Type`` is
  ``application/x-amz-json-1.1`` (whenever there is a body).

Violations are collected (operation, path, problem); the autouse fixture in conftest.py fails the
test that made the call. ``check_*`` methods also return the list, so the checker can be tested
on hand-made bodies (tests/e2e/test_conformance.py).
"""

import email.utils
import json
import re
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODEL_PATH = REPO / "server" / "services" / "sagemaker" / "model" / "sagemaker-training-service-2.json"

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Epoch seconds between 1973 and 5138: catches milliseconds sent as seconds (1.7e12) and zeros.
MIN_EPOCH_SECONDS = 1e8
MAX_EPOCH_SECONDS = 1e11


class Violation:
    __slots__ = ("operation", "path", "problem")

    def __init__(self, operation, path, problem):
        self.operation = operation
        self.path = path
        self.problem = problem

    def __repr__(self):
        return f"{self.operation or '?'}: {self.path or '$'}: {self.problem}"

    __str__ = __repr__


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class ConformanceChecker:
    def __init__(self, model_path=MODEL_PATH):
        with open(model_path, encoding="utf-8") as f:
            self.model = json.load(f)
        self.shapes = self.model["shapes"]
        self.operations = self.model["operations"]
        self._patterns = {}
        self._lock = threading.Lock()
        self.violations = []
        self.checked = 0  # responses checked (lets a test prove the hook ran)
        self.last_body = {}  # id(client) -> parsed JSON body of its last response

    # ---------------------------------------------------------------- bookkeeping
    def take(self):
        """Return and clear the violations collected so far."""
        with self._lock:
            v, self.violations = self.violations, []
        return v

    def _record(self, problems):
        if problems:
            with self._lock:
                self.violations.extend(problems)

    # ---------------------------------------------------------------- patterns
    def _pattern(self, shape_name):
        """Compiled model pattern of a string shape, or None when Python's re cannot express it
        (\\p{L} and friends are Java-only); those are skipped."""
        if shape_name not in self._patterns:
            pat = self.shapes[shape_name].get("pattern")
            compiled = None
            if pat is not None:
                try:
                    compiled = re.compile(pat)
                except re.error:
                    compiled = None
            self._patterns[shape_name] = compiled
        return self._patterns[shape_name]

    # ---------------------------------------------------------------- value walk
    def check_value(self, shape_name, value, path, out, operation=None):
        shape = self.shapes[shape_name]
        t = shape["type"]

        def bad(problem):
            out.append(Violation(operation, path, problem))

        if value is None:
            bad("null value (absent optionals must be omitted)")
            return
        if t == "structure":
            if not isinstance(value, dict):
                bad(f"expected a JSON object ({shape_name}), got {type(value).__name__}")
                return
            members = shape.get("members", {})
            for req in shape.get("required", []):
                if req not in value:
                    bad(f"required member {req!r} of {shape_name} is missing")
            for k, v in value.items():
                sub = f"{path}.{k}" if path else k
                if k not in members:
                    out.append(Violation(operation, sub, f"member not in the model's {shape_name}"))
                    continue
                self.check_value(members[k]["shape"], v, sub, out, operation)
        elif t == "list":
            if not isinstance(value, list):
                bad(f"expected a JSON array ({shape_name}), got {type(value).__name__}")
                return
            if "min" in shape and len(value) < shape["min"]:
                bad(f"list has {len(value)} elements, model min {shape['min']}")
            if "max" in shape and len(value) > shape["max"]:
                bad(f"list has {len(value)} elements, model max {shape['max']}")
            for i, item in enumerate(value):
                self.check_value(shape["member"]["shape"], item, f"{path}[{i}]", out, operation)
        elif t == "map":
            if not isinstance(value, dict):
                bad(f"expected a JSON object (map {shape_name}), got {type(value).__name__}")
                return
            if "max" in shape and len(value) > shape["max"]:
                bad(f"map has {len(value)} entries, model max {shape['max']}")
            for k, v in value.items():
                self.check_value(shape["key"]["shape"], k, f"{path}{{key {k!r}}}", out, operation)
                self.check_value(shape["value"]["shape"], v, f"{path}[{k!r}]", out, operation)
        elif t == "string":
            if not isinstance(value, str):
                bad(f"expected a string ({shape_name}), got {type(value).__name__} {value!r}")
                return
            if "enum" in shape and value not in shape["enum"]:
                bad(f"{value!r} is not a value of enum {shape_name}")
            if "min" in shape and len(value) < shape["min"]:
                bad(f"string length {len(value)} < model min {shape['min']} ({shape_name})")
            if "max" in shape and len(value) > shape["max"]:
                bad(f"string length {len(value)} > model max {shape['max']} ({shape_name})")
            pat = self._pattern(shape_name)
            if pat is not None and pat.fullmatch(value) is None:
                bad(f"{value!r} does not match the pattern of {shape_name}: {shape['pattern']}")
        elif t in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                bad(f"expected an integer ({shape_name}), got {type(value).__name__} {value!r}")
                return
            if "min" in shape and value < shape["min"]:
                bad(f"{value} < model min {shape['min']} ({shape_name})")
            if "max" in shape and value > shape["max"]:
                bad(f"{value} > model max {shape['max']} ({shape_name})")
        elif t in ("float", "double"):
            if not _is_number(value):
                bad(f"expected a number ({shape_name}), got {type(value).__name__} {value!r}")
                return
            if "min" in shape and value < shape["min"]:
                bad(f"{value} < model min {shape['min']} ({shape_name})")
            if "max" in shape and value > shape["max"]:
                bad(f"{value} > model max {shape['max']} ({shape_name})")
        elif t == "boolean":
            if not isinstance(value, bool):
                bad(f"expected a JSON boolean ({shape_name}), got {type(value).__name__} {value!r}")
        elif t == "timestamp":
            if not _is_number(value):
                bad(f"timestamp must be a JSON number of epoch seconds, got "
                    f"{type(value).__name__} {value!r}")
                return
            if not (MIN_EPOCH_SECONDS < value < MAX_EPOCH_SECONDS):
                bad(f"timestamp {value!r} is not plausible epoch seconds (milliseconds?)")
        elif t == "blob":
            if not isinstance(value, str):
                bad(f"expected a base64 string ({shape_name}), got {type(value).__name__}")
        else:  # pragma: no cover - the trimmed model has no other types
            bad(f"model type {t!r} unknown to the checker")

    # ---------------------------------------------------------------- bodies
    def check_output(self, operation, body):
        """Check a parsed successful body against the operation's output shape."""
        out = []
        op = self.operations.get(operation)
        if op is None:
            out.append(Violation(operation, "", "operation is not in the model but succeeded"))
            return out
        if not isinstance(body, dict):
            out.append(Violation(operation, "", f"body must be a JSON object, got {type(body).__name__}"))
            return out
        if "output" not in op:
            for k in body:
                out.append(Violation(operation, k, "operation has no output, member not allowed"))
            return out
        self.check_value(op["output"]["shape"], body, "", out, operation)
        return out

    def check_error_body(self, operation, body):
        out = []
        if not isinstance(body, dict):
            out.append(Violation(operation, "", f"error body must be a JSON object, got {type(body).__name__}"))
            return out
        t = body.get("__type")
        if not isinstance(t, str) or not t:
            out.append(Violation(operation, "__type", f"error __type must be a non-empty string, got {t!r}"))
        if "message" not in body and "Message" not in body:
            out.append(Violation(operation, "message", "error body has no message"))
        for k, v in body.items():
            if v is None:
                out.append(Violation(operation, k, "null value in error body"))
            elif k in ("message", "Message") and not isinstance(v, str):
                out.append(Violation(operation, k, f"error message must be a string, got {v!r}"))
        return out

    def check_headers(self, operation, status, headers, body_bytes):
        out = []

        def get(name):
            # http.client's HTTPMessage and botocore's HeadersDict are both case-insensitive.
            return headers.get(name)

        rid = get("x-amzn-RequestId")
        if not rid:
            out.append(Violation(operation, "<header x-amzn-RequestId>", "missing"))
        elif not UUID_RE.fullmatch(rid.strip()):
            out.append(Violation(operation, "<header x-amzn-RequestId>", f"not a UUID: {rid!r}"))
        date = get("Date")
        if not date:
            out.append(Violation(operation, "<header Date>", "missing"))
        elif email.utils.parsedate_tz(date) is None:
            out.append(Violation(operation, "<header Date>", f"not an HTTP date: {date!r}"))
        if body_bytes:
            ct = get("Content-Type") or ""
            if ct.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
                out.append(Violation(operation, "<header Content-Type>", f"{ct!r} != {JSON_CONTENT_TYPE}"))
        return out

    def check_response(self, operation, status, headers, body_bytes, record=True):
        """Check one raw response. Returns (violations, parsed body or None)."""
        out = self.check_headers(operation, status, headers, body_bytes)
        parsed = None
        if body_bytes:
            try:
                parsed = json.loads(body_bytes)
            except ValueError as e:
                out.append(Violation(operation, "", f"body is not JSON ({e}): {body_bytes[:200]!r}"))
        if status >= 300:
            if parsed is None and not out:
                out.append(Violation(operation, "", f"error response {status} has no JSON body"))
            elif parsed is not None:
                out.extend(self.check_error_body(operation, parsed))
            if status >= 500:
                out.append(Violation(operation, "", f"HTTP {status}: the server failed"))
        elif parsed is not None:
            out.extend(self.check_output(operation, parsed))
        elif operation in self.operations and "output" in self.operations[operation]:
            out.append(Violation(operation, "", "empty body but the operation has an output shape"))
        with self._lock:
            self.checked += 1
        if record:
            self._record(out)
        return out, parsed

    # ---------------------------------------------------------------- boto3 wiring
    def attach(self, client):
        """Check every response this boto3 client receives (after retries, errors included)."""
        key = id(client)

        def after_call(http_response, parsed, model, **kwargs):
            if http_response is None:
                return
            _, body = self.check_response(model.name, http_response.status_code,
                                          http_response.headers, http_response.content)
            self.last_body[key] = body

        client.meta.events.register("after-call.sagemaker", after_call,
                                    unique_id=f"sagemock-conformance-{key}")
        client._sagemock_checked = True
        return client

    def raw_body(self, client):
        """The parsed JSON body of the last response `client` received (members the old botocore
        model does not know, like OutputDataConfig.CompressionType, are only visible here)."""
        return self.last_body.get(id(client))


CHECKER = ConformanceChecker()
