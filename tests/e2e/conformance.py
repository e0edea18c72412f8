"""Response conformance checker for the sagemock end-to-end tests.

Every raw response that a test receives (through a boto3 client made by the fixtures or attached
with ``CHECKER.attach``, through the raw-HTTP helpers, or through the recording proxy of the JS
and CLI suites) is checked against the service model that sagemock itself embeds for that
service, ``server/services/<service>/model/<service>-service-2.json`` (SageMaker, CloudWatch
Logs, STS, IAM; every folder found there is loaded):

* awsJson services (SageMaker, CloudWatch Logs), successful responses: the body is a JSON object
  matching the operation's output shape, at every depth: required members present, no ``null``,
  no member the model lacks, JSON types right (timestamps are JSON numbers of epoch seconds,
  never strings; Logs' epoch-millisecond times are ``long`` shapes, integers), enum values
  valid, string lengths and patterns (ARNs...) and number ranges inside the model's bounds;
* awsJson error responses: the body is a JSON object whose ``__type`` and ``message`` are
  strings, and a modeled error with an HTTP status in the model has that status;
* awsQuery services (STS, IAM), successful responses: the XML is
  ``<OpResponse xmlns="<the model's xmlNamespace>"><OpResult>...</OpResult><ResponseMetadata>
  <RequestId>`` (the result element named by the model's resultWrapper); the result is read
  *by the output shape*: every element must be a member (by its locationName), lists are
  ``<member>`` elements, scalars parse as their type (integers, ``true``/``false``, ISO 8601
  timestamps); the value read is then checked by the same walk as JSON bodies (required
  members, enums, lengths, patterns, ranges);
* awsQuery error responses: ``<ErrorResponse xmlns=...><Error><Type>Sender|Receiver</Type>
  <Code/><Message/></Error><RequestId/></ErrorResponse>``, Type agreeing with the status
  (Receiver for 5xx) and a modeled error's status (IAM NoSuchEntity: 404) respected;
* requests for services sagemock does not serve: the error is in the shape of the client's
  protocol (awsJson: ``__type``/``message``; awsQuery: ``ErrorResponse``; REST-XML, as S3:
  ``<Error><Code/><Message/><RequestId/></Error>``); a success is a violation;
* smithy-rpc-v2-cbor (CloudWatch, which also speaks awsJson 1.0 and awsQuery: such a service is
  checked in the protocol the request used): ``smithy-protocol: rpc-v2-cbor`` and
  ``application/cbor`` on every response; the body is one CBOR map read *by the output shape*
  (timestamps must be CBOR tag 1 over epoch seconds, integers CBOR integers, doubles any
  number), then checked by the same walk as JSON bodies; errors are maps with ``__type`` and
  ``message`` strings. For an ``awsQueryCompatible`` service, awsJson and CBOR errors carry
  ``x-amzn-query-error: <Code>;Sender|Receiver``, whose code is the one checked against the
  model's error shapes (needs python3-cbor2, else botocore's own CBOR reader when it has one);
* every response: ``x-amzn-RequestId`` is a UUID, ``Date`` is an HTTP date, ``Content-Type`` is
  the protocol's (``application/x-amz-json-1.1``, ``text/xml``; ``application/xml`` for
  REST-XML errors) whenever there is a body; an XML ``RequestId`` equals the header.

Violations are collected (operation, path, problem); the autouse fixture in conftest.py fails the
test that made the call. ``check_*`` methods also return the list, so the checker can be tested
on hand-made bodies (tests/e2e/test_conformance.py, test_conformance_services.py).

Entry points: ``check_response(operation, ...)`` is the SageMaker one (the strict decoder of
tests/e2e/strict/boto3_plugin.py wraps it, so SageMaker responses are also decoded strictly);
``check_service_response(service, operation, ...)`` takes any service (SageMaker responses go
through ``check_response``); ``route(headers, body, path)`` finds the service and operation
of a raw request (X-Amz-Target, a form body's Action/Version and the SigV4 scope, or the
``/service/<prefix>/operation/<Op>`` path of a CBOR request), as sagemock does.
"""

import base64
import collections
import datetime
import email.utils
import json
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES_DIR = REPO / "server" / "services"
MODEL_PATH = SERVICES_DIR / "sagemaker" / "model" / "sagemaker-training-service-2.json"

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
QUERY_CONTENT_TYPE = "text/xml"
REST_XML_CONTENT_TYPE = "application/xml"
CBOR_CONTENT_TYPE = "application/cbor"
CBOR = "smithy-rpc-v2-cbor"
CBOR_PATH_RE = re.compile(r"(?:^|.*/)service/([^/]+)/operation/([^/?]+)(?:\?.*)?$")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The ISO 8601 form AWS query services print (botocore reads more, AWS writes this).
ISO8601_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z")
CREDENTIAL_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

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


def _local(tag):
    """An ElementTree tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _namespace(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


class ServiceModel:
    """One service's model as sagemock embeds it, with what routing and checking need."""

    def __init__(self, service_id, path):
        self.id = service_id
        self.path = Path(path)
        with open(path, encoding="utf-8") as f:
            self.model = json.load(f)
        self.metadata = self.model["metadata"]
        self.shapes = self.model["shapes"]
        self.operations = self.model["operations"]
        self.protocol = self.metadata.get("protocol")  # "json", "query", "smithy-rpc-v2-cbor"
        # every protocol the service speaks (CloudWatch: CBOR, awsJson 1.0 and awsQuery)
        self.protocols = list(self.metadata.get("protocols") or [self.protocol])
        self.query_compatible = "awsQueryCompatible" in self.metadata
        self.target_prefix = self.metadata.get("targetPrefix")
        self.api_version = self.metadata.get("apiVersion")
        self.xmlns = self.metadata.get("xmlNamespace")
        self.signing_name = self.metadata.get("signingName") or self.metadata.get("endpointPrefix")
        self.title = self.metadata.get("serviceId")
        self.content_type = (f"application/x-amz-json-{self.metadata.get('jsonVersion', '1.1')}"
                             if "json" in self.protocols else QUERY_CONTENT_TYPE)
        # modeled errors: code -> (shape name, HTTP status or None, sender fault or None)
        self.errors = {}
        for name, shape in self.shapes.items():
            if shape.get("exception"):
                err = shape.get("error", {})
                self.errors[err.get("code", name)] = (name, err.get("httpStatusCode"),
                                                      err.get("senderFault"))

    def __repr__(self):
        return f"<ServiceModel {self.id} ({self.protocol}) {len(self.operations)} operations>"


def load_services(sagemaker_model_path=MODEL_PATH):
    """Every service model under server/services (folder name = service id)."""
    services = {"sagemaker": ServiceModel("sagemaker", sagemaker_model_path)}
    for path in sorted(SERVICES_DIR.glob("*/model/*-service-2.json")):
        sid = path.parts[-3]
        if sid not in services:
            services[sid] = ServiceModel(sid, path)
    return services


class ConformanceChecker:
    def __init__(self, model_path=MODEL_PATH):
        self.services = load_services(model_path)
        sm = self.services["sagemaker"]
        # The SageMaker model, as before (tests read CHECKER.shapes[...]).
        self.model = sm.model
        self.shapes = sm.shapes
        self.operations = sm.operations
        self._patterns = {}
        self._lock = threading.Lock()
        self.violations = []
        self.checked = 0  # responses checked (lets a test prove the hook ran)
        self.checked_by = collections.Counter()  # service id (or "unserved") -> responses
        self.last_body = {}  # id(client) -> parsed body of its last response

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

    def _count(self, service_id):
        with self._lock:
            self.checked += 1
            self.checked_by[service_id] += 1

    def service(self, service):
        """A ServiceModel from a ServiceModel, a service id ("logs") or None (SageMaker)."""
        if service is None:
            return self.services["sagemaker"]
        if isinstance(service, ServiceModel):
            return service
        return self.services.get(service)

    # ---------------------------------------------------------------- routing
    def service_by_target(self, target):
        """(ServiceModel or None, operation) of an X-Amz-Target value."""
        if not target or "." not in target:
            return None, None
        prefix, op = target.rsplit(".", 1)
        for svc in self.services.values():
            if svc.target_prefix == prefix:
                return svc, op
        return None, op

    def route(self, headers, body=b"", path=None):
        """(ServiceModel or None, operation or None, protocol) of a raw request, the way
        sagemock routes it: X-Amz-Target (awsJson); a form body's Action, for the service of the
        SigV4 scope when it speaks awsQuery, else the one of its Version (awsQuery); a
        `/service/<prefix>/operation/<Op>` path with `smithy-protocol: rpc-v2-cbor`
        (smithy-rpc-v2-cbor: without the path, the service and operation stay unknown and only
        the envelope is checked); else a REST request ("rest-xml": S3 and friends)."""
        target = headers.get("X-Amz-Target")
        if target:
            svc, op = self.service_by_target(target)
            return svc, op, "json"
        if (headers.get("smithy-protocol") or "").strip().lower() == "rpc-v2-cbor":
            m = CBOR_PATH_RE.match(path or "")
            if not m:
                return None, None, CBOR
            svc, op = self.service_by_target(f"{m.group(1)}.{m.group(2)}")
            return svc, op, CBOR
        ct = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ct == FORM_CONTENT_TYPE:
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            form = dict(urllib.parse.parse_qsl(body or "", keep_blank_values=True))
            action, version = form.get("Action"), form.get("Version")
            svc = None
            m = CREDENTIAL_SCOPE_RE.search(headers.get("Authorization") or "")
            if m:
                svc = next((s for s in self.services.values()
                            if s.signing_name == m.group(2) and "query" in s.protocols), None)
            if svc is None:
                svc = next((s for s in self.services.values()
                            if "query" in s.protocols and s.api_version == version), None)
            return svc, action, "query"
        return None, None, "rest-xml"

    # ---------------------------------------------------------------- patterns
    def _pattern(self, svc, shape_name):
        """Compiled model pattern of a string shape, or None when Python's re cannot express it
        (\\p{L} and friends are Java-only); those are skipped."""
        key = (svc.id, shape_name)
        if key not in self._patterns:
            pat = svc.shapes[shape_name].get("pattern")
            compiled = None
            if pat is not None:
                try:
                    compiled = re.compile(pat)
                except re.error:
                    compiled = None
            self._patterns[key] = compiled
        return self._patterns[key]

    # ---------------------------------------------------------------- value walk
    def check_value(self, shape_name, value, path, out, operation=None, service=None):
        svc = self.service(service)
        shape = svc.shapes[shape_name]
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
                self.check_value(members[k]["shape"], v, sub, out, operation, svc)
        elif t == "list":
            if not isinstance(value, list):
                bad(f"expected a JSON array ({shape_name}), got {type(value).__name__}")
                return
            if "min" in shape and len(value) < shape["min"]:
                bad(f"list has {len(value)} elements, model min {shape['min']}")
            if "max" in shape and len(value) > shape["max"]:
                bad(f"list has {len(value)} elements, model max {shape['max']}")
            for i, item in enumerate(value):
                self.check_value(shape["member"]["shape"], item, f"{path}[{i}]", out, operation,
                                 svc)
        elif t == "map":
            if not isinstance(value, dict):
                bad(f"expected a JSON object (map {shape_name}), got {type(value).__name__}")
                return
            if "max" in shape and len(value) > shape["max"]:
                bad(f"map has {len(value)} entries, model max {shape['max']}")
            for k, v in value.items():
                self.check_value(shape["key"]["shape"], k, f"{path}{{key {k!r}}}", out, operation,
                                 svc)
                self.check_value(shape["value"]["shape"], v, f"{path}[{k!r}]", out, operation, svc)
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
            pat = self._pattern(svc, shape_name)
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
        else:  # pragma: no cover - the trimmed models have no other types
            bad(f"model type {t!r} unknown to the checker")

    # ---------------------------------------------------------------- JSON bodies
    def check_output(self, operation, body, service=None):
        """Check a parsed successful body against the operation's output shape."""
        svc = self.service(service)
        out = []
        op = svc.operations.get(operation)
        if op is None:
            out.append(Violation(operation, "", f"operation is not in the {svc.id} model but "
                                                "succeeded"))
            return out
        if not isinstance(body, dict):
            out.append(Violation(operation, "", f"body must be a JSON object, got {type(body).__name__}"))
            return out
        if "output" not in op:
            for k in body:
                out.append(Violation(operation, k, "operation has no output, member not allowed"))
            return out
        self.check_value(op["output"]["shape"], body, "", out, operation, svc)
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

    def check_error_status(self, operation, status, code, service=None):
        """A modeled error whose model gives an HTTP status must come with it (IAM
        NoSuchEntity: 404); its fault side must agree with the status class."""
        svc = self.service(service)
        out = []
        if svc is None or not code or code not in svc.errors:
            return out
        _, http_status, sender = svc.errors[code]
        if http_status is not None and status != http_status:
            out.append(Violation(operation, "<status>", f"{code} is HTTP {http_status} in the "
                                                        f"{svc.id} model, got {status}"))
        return out

    def check_headers(self, operation, status, headers, body_bytes,
                      content_type=JSON_CONTENT_TYPE):
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
        if body_bytes and content_type:
            ct = get("Content-Type") or ""
            if ct.split(";")[0].strip().lower() != content_type:
                out.append(Violation(operation, "<header Content-Type>", f"{ct!r} != {content_type}"))
        return out

    def _json_response(self, svc, operation, status, headers, body_bytes):
        """An awsJson response of a served service (svc) or of none (svc None)."""
        out = self.check_headers(operation, status, headers, body_bytes,
                                 svc.content_type if svc else JSON_CONTENT_TYPE)
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
                if isinstance(parsed, dict) and isinstance(parsed.get("__type"), str):
                    code = self._query_error_code(svc, operation, status, headers, out)
                    out.extend(self.check_error_status(
                        operation, status, code or parsed["__type"].split("#")[-1], svc))
            if status >= 500:
                out.append(Violation(operation, "", f"HTTP {status}: the server failed"))
        elif svc is None:
            out.append(Violation(operation, "", f"HTTP {status} for a service sagemock does not "
                                                "serve"))
        elif parsed is not None:
            out.extend(self.check_output(operation, parsed, svc))
        elif operation in svc.operations and "output" in svc.operations[operation]:
            out.append(Violation(operation, "", "empty body but the operation has an output shape"))
        return out, parsed

    def check_response(self, operation, status, headers, body_bytes, record=True):
        """Check one raw SageMaker response. Returns (violations, parsed body or None)."""
        out, parsed = self._json_response(self.services["sagemaker"], operation, status,
                                          headers, body_bytes)
        self._count("sagemaker")
        if record:
            self._record(out)
        return out, parsed

    # ---------------------------------------------------------------- awsQuery (XML)
    def xml_value(self, svc, shape_name, elem, path, out, operation):
        """The value of an XML element read by its shape, as the JSON walk wants it (dicts,
        lists, str, int, float, bool, epoch-second numbers); elements the shape does not have
        and scalars that do not parse are violations. Returns None for unreadable values."""
        shape = svc.shapes[shape_name]
        t = shape["type"]

        def bad(problem):
            out.append(Violation(operation, path, problem))

        if t == "structure":
            members = shape.get("members", {})
            by_wire = {}
            for name, ref in members.items():
                target = svc.shapes[ref["shape"]]
                flat = ref.get("flattened") or target.get("flattened")
                wire = ref.get("locationName")
                if wire is None and flat and target["type"] == "list":
                    wire = target["member"].get("locationName", name)
                by_wire[wire or name] = (name, ref, flat and target["type"] == "list")
            value = {}
            for child in elem:
                wire = _local(child.tag)
                sub = f"{path}.{wire}" if path else wire
                if wire not in by_wire:
                    out.append(Violation(operation, sub,
                                         f"element <{wire}> is not a member of the model's "
                                         f"{shape_name}"))
                    continue
                name, ref, flat_list = by_wire[wire]
                if flat_list:
                    item = self.xml_value(svc, svc.shapes[ref["shape"]]["member"]["shape"], child,
                                          f"{sub}[{len(value.get(name, []))}]", out, operation)
                    value.setdefault(name, []).append(item)
                    continue
                if name in value:
                    out.append(Violation(operation, sub, f"element <{wire}> appears twice"))
                    continue
                value[name] = self.xml_value(svc, ref["shape"], child, sub, out, operation)
            if (elem.text or "").strip():
                bad(f"text {elem.text.strip()[:60]!r} inside structure {shape_name}")
            # a scalar that did not parse is reported once (not again as null)
            return {k: v for k, v in value.items() if v is not None}
        if t == "list":
            member = shape["member"]
            wire = member.get("locationName", "member")
            items = []
            for i, child in enumerate(elem):
                if _local(child.tag) != wire:
                    out.append(Violation(operation, f"{path}[{i}]",
                                         f"list element <{_local(child.tag)}>, expected <{wire}>"))
                    continue
                items.append(self.xml_value(svc, member["shape"], child, f"{path}[{i}]", out,
                                            operation))
            return items
        if t == "map":
            kname = shape["key"].get("locationName", "key")
            vname = shape["value"].get("locationName", "value")
            value = {}
            for i, entry in enumerate(elem):
                if _local(entry.tag) != "entry":
                    out.append(Violation(operation, f"{path}[{i}]",
                                         f"map element <{_local(entry.tag)}>, expected <entry>"))
                    continue
                parts = {_local(c.tag): c for c in entry}
                if set(parts) != {kname, vname}:
                    out.append(Violation(operation, f"{path}[{i}]",
                                         f"map entry holds {sorted(parts)}, expected "
                                         f"{kname} and {vname}"))
                    continue
                k = parts[kname].text or ""
                value[k] = self.xml_value(svc, shape["value"]["shape"], parts[vname],
                                          f"{path}[{k!r}]", out, operation)
            return value
        # scalars
        if len(elem):
            bad(f"scalar {shape_name} holds elements {[_local(c.tag) for c in elem][:5]}")
            return None
        text = elem.text or ""
        if t in ("string", "blob"):
            return text
        if t in ("integer", "long"):
            if not re.fullmatch(r"-?\d+", text):
                bad(f"{text!r} is not an integer ({shape_name})")
                return None
            return int(text)
        if t in ("float", "double"):
            try:
                return float(text)
            except ValueError:
                bad(f"{text!r} is not a number ({shape_name})")
                return None
        if t == "boolean":
            if text not in ("true", "false"):
                bad(f"{text!r} is not true or false ({shape_name})")
                return None
            return text == "true"
        if t == "timestamp":
            m = ISO8601_RE.fullmatch(text)
            if not m:
                bad(f"timestamp {text!r} is not ISO 8601 (YYYY-MM-DDThh:mm:ss[.fff]Z)")
                return None
            try:
                dt = datetime.datetime(*map(int, m.groups()[:6]), tzinfo=datetime.timezone.utc)
            except ValueError as e:
                bad(f"timestamp {text!r} is not a valid date ({e})")
                return None
            frac = float(m.group(7)) if m.group(7) else 0.0
            return dt.timestamp() + frac
        bad(f"model type {t!r} unknown to the checker")  # pragma: no cover
        return None

    def _parse_xml(self, operation, body_bytes, out):
        try:
            return ET.fromstring(body_bytes)
        except ET.ParseError as e:
            out.append(Violation(operation, "", f"body is not well-formed XML ({e}): "
                                                f"{body_bytes[:200]!r}"))
            return None

    def _query_error(self, svc, operation, status, headers, root, out):
        """<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>."""
        if _local(root.tag) != "ErrorResponse":
            out.append(Violation(operation, "", f"error root is <{_local(root.tag)}>, expected "
                                                "<ErrorResponse>"))
            return None
        if svc is not None and svc.xmlns and _namespace(root.tag) != svc.xmlns:
            out.append(Violation(operation, "<ErrorResponse xmlns>",
                                 f"{_namespace(root.tag)!r} != {svc.xmlns!r}"))
        names = [_local(c.tag) for c in root]
        if names != ["Error", "RequestId"]:
            out.append(Violation(operation, "ErrorResponse",
                                 f"children {names}, expected ['Error', 'RequestId']"))
        err = next((c for c in root if _local(c.tag) == "Error"), None)
        parsed = {}
        if err is not None:
            parts = {_local(c.tag): (c.text or "") for c in err}
            extra = set(parts) - {"Type", "Code", "Message"}
            if extra:
                out.append(Violation(operation, "Error", f"unexpected elements {sorted(extra)}"))
            for need in ("Type", "Code", "Message"):
                if need not in parts:
                    out.append(Violation(operation, f"Error.{need}", "missing"))
            if "Type" in parts and parts["Type"] not in ("Sender", "Receiver"):
                out.append(Violation(operation, "Error.Type",
                                     f"{parts['Type']!r} is neither Sender nor Receiver"))
            elif "Type" in parts and (parts["Type"] == "Receiver") != (status >= 500):
                out.append(Violation(operation, "Error.Type",
                                     f"{parts['Type']} with HTTP {status}"))
            if "Code" in parts and not parts["Code"]:
                out.append(Violation(operation, "Error.Code", "empty"))
            parsed = parts
            out.extend(self.check_error_status(operation, status, parts.get("Code"), svc)
                       if svc is not None else [])
        rid = next((c.text for c in root if _local(c.tag) == "RequestId"), None)
        hdr = (headers.get("x-amzn-RequestId") or "").strip()
        if rid is not None and hdr and rid != hdr:
            out.append(Violation(operation, "RequestId", f"{rid!r} != header {hdr!r}"))
        return parsed

    def _query_success(self, svc, operation, headers, root, out):
        op = svc.operations.get(operation)
        if op is None:
            out.append(Violation(operation, "", f"operation is not in the {svc.id} model but "
                                                "succeeded"))
            return None
        if _local(root.tag) != f"{operation}Response":
            out.append(Violation(operation, "", f"root is <{_local(root.tag)}>, expected "
                                                f"<{operation}Response>"))
        if svc.xmlns and _namespace(root.tag) != svc.xmlns:
            out.append(Violation(operation, f"<{operation}Response xmlns>",
                                 f"{_namespace(root.tag)!r} != {svc.xmlns!r}"))
        output = op.get("output")
        wrapper = output.get("resultWrapper") if output else None
        expected = ([wrapper] if wrapper else []) + ["ResponseMetadata"]
        names = [_local(c.tag) for c in root]
        if names != expected:
            out.append(Violation(operation, f"{operation}Response",
                                 f"children {names}, expected {expected}"))
        meta = next((c for c in root if _local(c.tag) == "ResponseMetadata"), None)
        rid = None
        if meta is not None:
            rid = next((c.text for c in meta if _local(c.tag) == "RequestId"), None)
        if not rid or not UUID_RE.fullmatch(rid):
            out.append(Violation(operation, "ResponseMetadata.RequestId", f"not a UUID: {rid!r}"))
        hdr = (headers.get("x-amzn-RequestId") or "").strip()
        if rid and hdr and rid != hdr:
            out.append(Violation(operation, "ResponseMetadata.RequestId",
                                 f"{rid!r} != header {hdr!r}"))
        if not output:
            return {}
        result = next((c for c in root if _local(c.tag) == wrapper), None) if wrapper else root
        if result is None:
            out.append(Violation(operation, wrapper, "missing"))
            return None
        if not wrapper:  # the output's members are the root's children (besides metadata)
            result = ET.Element("x")
            result.extend(c for c in root if _local(c.tag) != "ResponseMetadata")
        value = self.xml_value(svc, output["shape"], result, "", out, operation)
        if value is not None:
            self.check_value(output["shape"], value, "", out, operation, svc)
        return value

    def _query_response(self, svc, operation, status, headers, body_bytes):
        out = self.check_headers(operation, status, headers, body_bytes, QUERY_CONTENT_TYPE)
        parsed = None
        if not body_bytes:
            out.append(Violation(operation, "", f"HTTP {status} with an empty body (awsQuery "
                                                "always answers XML)"))
            return out, None
        root = self._parse_xml(operation, body_bytes, out)
        if root is None:
            return out, None
        if status >= 300:
            parsed = self._query_error(svc, operation, status, headers, root, out)
            if status >= 500:
                out.append(Violation(operation, "", f"HTTP {status}: the server failed"))
        elif svc is None:
            out.append(Violation(operation, "", f"HTTP {status} for a service sagemock does not "
                                                "serve"))
        else:
            parsed = self._query_success(svc, operation, headers, root, out)
        return out, parsed

    # ---------------------------------------------------------------- smithy-rpc-v2-cbor
    def _query_error_code(self, svc, operation, status, headers, out):
        """The awsQuery code of an awsJson / CBOR error of an awsQueryCompatible service, from
        `x-amzn-query-error: <Code>;Sender|Receiver` (required there); None otherwise."""
        if svc is None or not svc.query_compatible:
            return None
        value = headers.get("x-amzn-query-error")
        if not value:
            out.append(Violation(operation, "<header x-amzn-query-error>",
                                 f"missing on an error of the awsQueryCompatible {svc.id}"))
            return None
        code, _, fault = value.partition(";")
        if not code or fault not in ("Sender", "Receiver") or (fault == "Receiver") != (
                status >= 500):
            out.append(Violation(operation, "<header x-amzn-query-error>",
                                 f"{value!r} is not <Code>;Sender|Receiver for HTTP {status}"))
        return code or None

    @staticmethod
    def cbor_loads(body_bytes):
        """Decode one CBOR data item (tag 1 becomes a datetime), with python3-cbor2, else with
        botocore's own reader (botocore >= 1.37). Raises ValueError when it is not CBOR."""
        try:
            import cbor2
        except ImportError:
            cbor2 = None
        if cbor2 is not None:
            try:
                return cbor2.loads(body_bytes)
            except Exception as e:  # cbor2's errors, and Python's on bad UTF-8
                raise ValueError(str(e)) from e
        try:
            from botocore.parsers import RpcV2CBORParser
        except ImportError as e:
            raise ValueError("no CBOR reader: install python3-cbor2") from e
        p = RpcV2CBORParser()
        stream = p.get_peekable_stream_from_bytes(body_bytes)
        try:
            value = p.parse_data_item(stream)
        except Exception as e:
            raise ValueError(str(e)) from e
        if stream.read(1):
            raise ValueError("bytes after the first data item")
        return value

    def cbor_value(self, svc, shape_name, value, path, out, operation):
        """A decoded CBOR value read by its shape into what the JSON walk wants (timestamps as
        epoch seconds, which must have come as tag 1)."""
        shape = svc.shapes[shape_name]
        t = shape["type"]
        if t == "structure" and isinstance(value, dict):
            members = shape.get("members", {})
            return {k: (self.cbor_value(svc, members[k]["shape"], v, f"{path}.{k}" if path else k,
                                        out, operation) if k in members else v)
                    for k, v in value.items()}
        if t == "list" and isinstance(value, list):
            return [self.cbor_value(svc, shape["member"]["shape"], v, f"{path}[{i}]", out,
                                    operation) for i, v in enumerate(value)]
        if t == "map" and isinstance(value, dict):
            return {k: self.cbor_value(svc, shape["value"]["shape"], v, f"{path}[{k!r}]", out,
                                       operation) for k, v in value.items()}
        if t == "timestamp":
            if isinstance(value, datetime.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=datetime.timezone.utc)
                return value.timestamp()
            out.append(Violation(operation, path, f"timestamp must be CBOR tag 1 over epoch "
                                                  f"seconds, got {type(value).__name__} "
                                                  f"{value!r}"))
            return None
        if t == "blob" and isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode()
        if t in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def _cbor_response(self, svc, operation, status, headers, body_bytes):
        out = self.check_headers(operation, status, headers, body_bytes, CBOR_CONTENT_TYPE)
        proto = headers.get("smithy-protocol")
        if (proto or "").strip().lower() != "rpc-v2-cbor":
            out.append(Violation(operation, "<header smithy-protocol>",
                                 f"{proto!r}, expected 'rpc-v2-cbor'"))
        parsed = None
        if body_bytes:
            try:
                parsed = self.cbor_loads(body_bytes)
            except ValueError as e:
                out.append(Violation(operation, "", f"body is not CBOR ({e}): {body_bytes[:80]!r}"))
                return out, None
        if status >= 300:
            if not isinstance(parsed, dict):
                out.append(Violation(operation, "", f"error {status} body is not a CBOR map: "
                                                    f"{parsed!r}"))
            else:
                out.extend(self.check_error_body(operation, parsed))
                if isinstance(parsed.get("__type"), str):
                    code = self._query_error_code(svc, operation, status, headers, out)
                    out.extend(self.check_error_status(
                        operation, status, code or parsed["__type"].split("#")[-1], svc))
            if status >= 500:
                out.append(Violation(operation, "", f"HTTP {status}: the server failed"))
            return out, parsed
        if svc is None or operation is None:
            if svc is None and operation is not None:
                out.append(Violation(operation, "", f"HTTP {status} for a service sagemock does "
                                                    "not serve"))
            return out, parsed
        op = svc.operations.get(operation)
        if op is None:
            out.append(Violation(operation, "", f"operation is not in the {svc.id} model but "
                                                "succeeded"))
            return out, parsed
        if not isinstance(parsed, dict):
            out.append(Violation(operation, "", f"body must be a CBOR map, got {parsed!r}"))
            return out, None
        if "output" in op:
            value = self.cbor_value(svc, op["output"]["shape"], parsed, "", out, operation)
            out.extend(self.check_output(operation, value, svc))
            parsed = value
        elif parsed:
            out.append(Violation(operation, "", "operation has no output, the map must be empty"))
        return out, parsed

    # ---------------------------------------------------------------- REST-XML (unserved)
    def _rest_xml_response(self, operation, status, headers, body_bytes):
        """A REST call (S3...) sagemock does not serve: an <Error> document the client reads."""
        out = self.check_headers(operation, status, headers, body_bytes, REST_XML_CONTENT_TYPE)
        if status < 300:
            out.append(Violation(operation, "", f"HTTP {status} for a REST request sagemock "
                                                "does not serve"))
            return out, None
        if not body_bytes:
            # HEAD requests carry no body: the status is all a client sees
            return out, None
        root = self._parse_xml(operation, body_bytes, out)
        if root is None:
            return out, None
        if _local(root.tag) != "Error":
            out.append(Violation(operation, "", f"root is <{_local(root.tag)}>, expected <Error>"))
            return out, None
        parts = {_local(c.tag): (c.text or "") for c in root}
        for need in ("Code", "Message", "RequestId"):
            if need not in parts:
                out.append(Violation(operation, f"Error.{need}", "missing"))
        if "Code" in parts and not parts["Code"]:
            out.append(Violation(operation, "Error.Code", "empty"))
        hdr = (headers.get("x-amzn-RequestId") or "").strip()
        if parts.get("RequestId") and hdr and parts["RequestId"] != hdr:
            out.append(Violation(operation, "Error.RequestId",
                                 f"{parts['RequestId']!r} != header {hdr!r}"))
        return out, parts

    # ---------------------------------------------------------------- any service
    def check_service_response(self, service, operation, status, headers, body_bytes,
                               record=True, protocol=None):
        """Check one raw response of `service` (a ServiceModel, a service id, or None for a
        service sagemock does not serve, whose `protocol` - "json", "query",
        "smithy-rpc-v2-cbor" or "rest-xml" - then says which error shape is due). A service that
        speaks several protocols (CloudWatch) is checked in `protocol` when it is one of them. SageMaker goes through check_response (and so
        through the strict decoder when the boto3 plugin is loaded).
        Returns (violations, parsed body or None)."""
        svc = service if isinstance(service, ServiceModel) else \
            self.services.get(service) if service else None
        if svc is not None and svc.id == "sagemaker":
            return self.check_response(operation, status, headers, body_bytes, record=record)
        if svc is not None:
            proto = protocol if protocol in svc.protocols else svc.protocol
        else:
            proto = protocol or "json"
        if proto == CBOR:
            out, parsed = self._cbor_response(svc, operation, status, headers, body_bytes)
        elif proto == "query":
            out, parsed = self._query_response(svc, operation, status, headers, body_bytes)
        elif proto == "json":
            out, parsed = self._json_response(svc, operation, status, headers, body_bytes)
        else:
            out, parsed = self._rest_xml_response(operation, status, headers, body_bytes)
        if svc is None:
            tag = f"(unserved {proto})"
            out = [Violation(f"{tag} {operation or ''}".strip(), v.path, v.problem) for v in out]
        self._count(svc.id if svc is not None else "unserved")
        if record:
            self._record(out)
        return out, parsed

    def check_raw(self, request_headers, request_body, status, headers, body_bytes,
                  record=True, path=None):
        """Check the response to a raw request, routing it as sagemock does (route())."""
        svc, op, proto = self.route(request_headers, request_body, path)
        return self.check_service_response(svc, op, status, headers, body_bytes, record=record,
                                           protocol=proto)

    # ---------------------------------------------------------------- boto3 wiring
    def attach(self, client):
        """Check every response this boto3 client receives (after retries, errors included),
        by the model of the client's service (or the error shape of its protocol when sagemock
        does not serve the service)."""
        key = id(client)
        sm = client.meta.service_model
        name = sm.service_name
        proto = getattr(sm, "resolved_protocol", None) or sm.protocol
        served = self.services.get(name)

        def after_call(http_response, parsed, model, **kwargs):
            if http_response is None:
                return
            if served is not None and served.id == "sagemaker":
                _, body = self.check_response(model.name, http_response.status_code,
                                              http_response.headers, http_response.content)
            else:
                _, body = self.check_service_response(
                    served, model.name, http_response.status_code, http_response.headers,
                    http_response.content, protocol=proto)
            self.last_body[key] = body

        client.meta.events.register(f"after-call.{sm.service_id.hyphenize()}", after_call,
                                    unique_id=f"sagemock-conformance-{key}")
        client._sagemock_checked = True
        return client

    def raw_body(self, client):
        """The parsed body of the last response `client` received (members the old botocore
        model does not know, like OutputDataConfig.CompressionType, are only visible here; for
        awsQuery, the XML read by the output shape)."""
        return self.last_body.get(id(client))

    def summary(self):
        by = ", ".join(f"{k} {v}" for k, v in sorted(self.checked_by.items()))
        return f"{self.checked} responses checked ({by})"


CHECKER = ConformanceChecker()
