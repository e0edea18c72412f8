"""Clients and raw calls for every service sagemock serves (SageMaker, CloudWatch Logs, STS,
IAM) and some it does not (S3, SSM), for the end-to-end tests; plus the log helpers the logs
tests share. Every client made here and every raw call is checked by the conformance checker
against the model of its service (conformance.py), like helpers.Server.client().

Works with Debian's boto3 1.26 (the e2e_boto3 suite) and the pyenv boto3 1.43
(tests/e2e/latest/check_boto3_latest.py).
"""

import http.client
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conformance import CHECKER
from helpers import ACCESS_KEY, IMAGE, SECRET_KEY, job_request

GROUP = "/aws/sagemaker/TrainingJobs"
LOGS_TARGET = "Logs_20140328"
STS_VERSION = "2011-06-15"
IAM_VERSION = "2010-05-08"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"
SCENARIO_TAG = "sagemock:scenario"

SESSION = boto3.session.Session()  # one session: its loader caches the service models


def url_of(server):
    return server if isinstance(server, str) else server.url


def client(server, service, region="us-east-1", retries=None, key=ACCESS_KEY, secret=SECRET_KEY,
           token=None, session=None, **config):
    """A real boto3 client of `service` pointed at the server; every response it receives is
    checked by the conformance checker (by the model of its service, or the error shape of its
    protocol when sagemock does not serve it)."""
    cfg = Config(retries=retries or {"total_max_attempts": 1, "mode": "standard"},
                 connect_timeout=5, read_timeout=30, **config)
    c = (session or SESSION).client(service, endpoint_url=url_of(server), region_name=region,
                                    aws_access_key_id=key, aws_secret_access_key=secret,
                                    aws_session_token=token, config=cfg)
    return CHECKER.attach(c)


# ------------------------------------------------------------------------------ raw calls
class Raw:
    """A raw response: status, headers, body, and the body read by the checker (`parsed`:
    JSON, or the XML read by the output shape / the error's Type, Code and Message)."""

    def __init__(self, status, headers, body, parsed, violations):
        self.status = status
        self.headers = headers
        self.body = body
        self.parsed = parsed
        self.violations = violations

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def xml(self):
        try:
            return ET.fromstring(self.body)
        except ET.ParseError:
            return None

    @property
    def code(self):
        p = self.parsed if isinstance(self.parsed, dict) else {}
        if "__type" in p:
            return p["__type"].split("#")[-1]
        return p.get("Code")

    @property
    def message(self):
        p = self.parsed if isinstance(self.parsed, dict) else {}
        return p.get("message", p.get("Message"))

    def __repr__(self):
        return f"<Raw {self.status} {self.body[:400]!r}>"


def _send(base_url, method, path, data, headers, region, sign, signing_name, check,
          timeout=15.0):
    if sign:
        req = AWSRequest(method=method, url=f"{base_url.rstrip('/')}{path}", data=data,
                         headers=headers)
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), signing_name, region).add_auth(req)
        headers = dict(req.headers.items())
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        status, rheaders = resp.status, resp.headers
    finally:
        conn.close()
    violations, parsed = [], None
    if check:
        violations, parsed = CHECKER.check_raw(headers, data, status, rheaders, body)
    return Raw(status, rheaders, body, parsed, violations)


def raw_json(server, target, body=None, region="us-east-1", sign=True, signing_name="logs",
             headers=None, check=True):
    """POST an awsJson 1.1 request: target is a full X-Amz-Target ("Logs_20140328.GetLogEvents")
    or a CloudWatch Logs operation name."""
    full = target if "." in target else f"{LOGS_TARGET}.{target}"
    data = json.dumps(body if body is not None else {}).encode()
    hdrs = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": full}
    hdrs.update(headers or {})
    return _send(url_of(server), "POST", "/", data, hdrs, region, sign, signing_name, check)


def raw_query(server, action, params=None, version=STS_VERSION, region="us-east-1", sign=True,
              signing_name="sts", headers=None, check=True):
    """POST an awsQuery form (Action, Version and params, in order) and read the XML reply."""
    pairs = [("Action", action)] if action is not None else []
    if version is not None:
        pairs.append(("Version", version))
    pairs += list((params or {}).items())
    data = urllib.parse.urlencode(pairs).encode()
    hdrs = {"Content-Type": FORM_CT}
    hdrs.update(headers or {})
    return _send(url_of(server), "POST", "/", data, hdrs, region, sign, signing_name, check)


def raw_rest(server, method, path, region="us-east-1", sign=True, check=True):
    """A REST request (as S3 sends them): sagemock serves none."""
    return _send(url_of(server), method, path, None, {}, region, sign, "s3", check)


# ------------------------------------------------------------------------------ jobs
METRIC_LOSS = {"Name": "train:loss", "Regex": "train:loss=([0-9\\.]+)"}
METRIC_ACC = {"Name": "validation:accuracy", "Regex": "validation:accuracy=([0-9\\.]+)"}


def create_job(sm, name, scenario="success", instances=1, metrics=None, hyperparameters=None,
               **overrides):
    alg = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    if metrics:
        alg["MetricDefinitions"] = metrics
    req = job_request(name, AlgorithmSpecification=alg,
                      ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": instances,
                                      "VolumeSizeInGB": 30},
                      Tags=[{"Key": SCENARIO_TAG, "Value": scenario}], **overrides)
    if hyperparameters is not None:
        req["HyperParameters"] = hyperparameters
    sm.create_training_job(**req)
    return name


# ------------------------------------------------------------------------------ logs
def streams_of(logs, job, **kw):
    """Every stream of `job` (DescribeLogStreams with the prefix "<job>/", all pages)."""
    out, token = [], None
    while True:
        args = dict(logGroupName=GROUP, logStreamNamePrefix=f"{job}/", **kw)
        if token:
            args["nextToken"] = token
        r = logs.describe_log_streams(**args)
        out += r["logStreams"]
        token = r.get("nextToken")
        if not token:
            return out


def all_events(logs, stream, **kw):
    """Every event of a stream, from its head, following nextForwardToken until the same token
    comes back (the end of the stream). Returns (events, the last forward token)."""
    events = []
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True, **kw)
    for _ in range(10000):
        events += r["events"]
        token = r["nextForwardToken"]
        r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken=token, **kw)
        if r["nextForwardToken"] == token:
            assert r["events"] == [], "events came with the end-of-stream token"
            return events, token
    raise AssertionError("GetLogEvents paging did not end")


def messages(events):
    return [e["message"] for e in events]


def series(events, regex):
    """The values a SageMaker MetricDefinitions regex yields over the events, in order
    (re.search, group 1, as SageMaker parses training logs)."""
    rx = re.compile(regex)
    out = []
    for e in events:
        m = rx.search(e["message"])
        if m:
            out.append((e["timestamp"], float(m.group(1))))
    return out
