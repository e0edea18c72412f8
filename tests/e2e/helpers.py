"""Shared helpers of the sagemock end-to-end tests: starting the real binary, the admin API,
raw (optionally SigV4-signed) awsJson calls, request builders and time arithmetic.

Run with the Debian interpreter: /usr/bin/python3 -m pytest -q tests/e2e
"""

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conformance import CHECKER

REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "x"
ACCOUNT = "123456789012"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"
JSON_CT = "application/x-amz-json-1.1"

LISTEN_RE = re.compile(r"sagemock: listening on (http://127\.0\.0\.1:(\d+))")

# Messages of the default plan (the contract).
MSG_STARTING = "Starting the training job"
MSG_LAUNCHING = "Launching requested ML instances"
MSG_PREPARING = "Preparing the instances for training"
MSG_DOWNLOADING = "Downloading the training image"
MSG_TRAINING = "Training image download completed. Training in progress."
MSG_UPLOADING = "Uploading generated training model"
MSG_COMPLETED = "Training job completed"
MSG_STOPPING = "Stopping the training job"
MSG_STOPPED = "Training job stopped"

# (second offset from CreationTime) -> (TrainingJobStatus, SecondaryStatus, current message)
DEFAULT_PLAN = {
    0: ("InProgress", "Starting", MSG_STARTING),
    1: ("InProgress", "Starting", MSG_LAUNCHING),
    2: ("InProgress", "Starting", MSG_PREPARING),
    3: ("InProgress", "Downloading", MSG_DOWNLOADING),
    4: ("InProgress", "Downloading", MSG_DOWNLOADING),
    5: ("InProgress", "Training", MSG_TRAINING),
    6: ("InProgress", "Training", MSG_TRAINING),
    7: ("InProgress", "Training", MSG_TRAINING),
    8: ("InProgress", "Uploading", MSG_UPLOADING),
    9: ("InProgress", "Uploading", MSG_UPLOADING),
    10: ("Completed", "Completed", MSG_COMPLETED),
}
# Phase start offsets in the default plan.
PHASES = [("Starting", 0), ("Downloading", 3), ("Training", 5), ("Uploading", 8), ("Completed", 10)]
FINAL_MESSAGES = {
    "Starting": MSG_PREPARING,
    "Downloading": MSG_DOWNLOADING,
    "Training": MSG_TRAINING,
    "Uploading": MSG_UPLOADING,
    "Completed": MSG_COMPLETED,
}


def ms(t):
    """Epoch seconds (JSON number with millisecond precision) -> integer milliseconds."""
    return int(round(t * 1000))


# ------------------------------------------------------------------------------------ binary
def sagemock_binary():
    return os.environ.get("SAGEMOCK_BIN") or str(REPO / "build" / "sagemock")


class ServerStartError(RuntimeError):
    pass


class Server:
    """One sagemock process on an ephemeral port."""

    def __init__(self, workdir, db=None, args=(), name="sagemock"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = db if db is not None else str(self.workdir / "sm.db")
        self.args = list(args)
        self.name = name
        self.proc = None
        self.url = None
        self.port = None
        self.stdout_lines = []
        self.stderr_path = None
        self.returncode = None
        self._session = boto3.session.Session()
        self._starts = 0

    # ------------------------------------------------------------------ process
    def start(self, timeout=10.0):
        binary = sagemock_binary()
        if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            raise ServerStartError(
                f"sagemock binary not found or not executable: {binary} "
                f"(build it with cmake, or set SAGEMOCK_BIN)")
        self._starts += 1
        self.stderr_path = self.workdir / f"{self.name}.stderr.{self._starts}.log"
        cmd = [binary, "--port", "0", "--db", self.db] + self.args
        self.cmd = cmd
        stderr_f = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=stderr_f)
        stderr_f.close()
        self.returncode = None
        self.stdout_lines = []
        lines = queue.Queue()

        def drain(pipe):
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace")
                self.stdout_lines.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail_start(f"no 'sagemock: listening on ...' line within {timeout:.0f} s")
            try:
                line = lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                self._fail_start(f"exited with status {self.proc.returncode} before listening")
            m = LISTEN_RE.search(line)
            if m:
                url, port = m.group(1), int(m.group(2))
        self.url, self.port = url, port
        # Wait for the health endpoint.
        last = None
        while time.monotonic() < deadline:
            try:
                status, body, _ = self.admin("GET", "/_sagemock/health", timeout=1.0)
                if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
                    return self
                last = f"HTTP {status} {body!r}"
            except OSError as e:
                last = repr(e)
            if self.proc.poll() is not None:
                self._fail_start(f"exited with status {self.proc.returncode} after listening")
            time.sleep(0.05)
        self._fail_start(f"/_sagemock/health not ok within {timeout:.0f} s (last: {last})")

    def _fail_start(self, why):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        raise ServerStartError(
            f"sagemock did not start: {why}\ncommand: {' '.join(self.cmd)}\n"
            f"stdout:\n{''.join(self.stdout_lines)}\nstderr:\n{self.stderr_text()}")

    def stderr_text(self, tail=8000):
        try:
            return self.stderr_path.read_text(errors="replace")[-tail:]
        except (OSError, AttributeError):
            return ""

    def stop(self, timeout=10.0):
        """SIGTERM the server and return its exit status (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                self.returncode = None
                self.proc = None
                return None
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def restart(self):
        rc = self.stop()
        assert rc == 0, f"sagemock exited with {rc} on SIGTERM; stderr:\n{self.stderr_text()}"
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ clients
    def client(self, region="us-east-1", **config):
        """A real boto3 SageMaker client pointed at this server; every response it receives is
        checked by the conformance checker."""
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                     connect_timeout=5, read_timeout=30, **config)
        c = self._session.client(
            "sagemaker", endpoint_url=self.url, region_name=region,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, config=cfg)
        return CHECKER.attach(c)

    def raw(self, target, body=None, **kw):
        return raw_call(self.url, target, body, **kw)

    # ------------------------------------------------------------------ admin API
    def admin(self, method, path, body=None, timeout=10.0):
        """Call the admin API. Returns (status, parsed JSON or None, raw bytes)."""
        u = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            data = None
            headers = {}
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                if isinstance(data, str):
                    data = data.encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return resp.status, parsed, raw

    def _admin_ok(self, method, path, body=None):
        status, parsed, raw = self.admin(method, path, body)
        assert status == 200, f"{method} {path} {body!r} -> {status} {raw[:500]!r}"
        return parsed

    def clock(self):
        return self._admin_ok("GET", "/_sagemock/clock")

    def now(self):
        return self.clock()["now"]

    def advance(self, seconds):
        return self._admin_ok("POST", "/_sagemock/clock", {"advance": seconds})

    def set_clock(self, epoch_seconds):
        return self._admin_ok("POST", "/_sagemock/clock", {"set": epoch_seconds})

    def set_rate(self, rate):
        return self._admin_ok("POST", "/_sagemock/clock", {"rate": rate})

    def pause(self):
        return self.set_rate(0)

    def pause_at_whole_second(self, ahead=5):
        """Pause the clock and set it forward to a whole second, so that the CreationTime of a
        job created now is integral (boto3 sends time filters as whole seconds)."""
        self.pause()
        t = int(self.now()) + ahead
        self.set_clock(t)
        return t

    def reset(self):
        return self._admin_ok("POST", "/_sagemock/reset")

    def health(self):
        return self._admin_ok("GET", "/_sagemock/health")


# ------------------------------------------------------------------------------------ raw calls
class RawResponse:
    def __init__(self, status, headers, body, parsed, violations):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = parsed
        self.violations = violations

    @property
    def error_code(self):
        return (self.json or {}).get("__type", "").split("#")[-1] if isinstance(self.json, dict) else None

    @property
    def message(self):
        if not isinstance(self.json, dict):
            return None
        return self.json.get("message", self.json.get("Message"))

    def __repr__(self):
        return f"<RawResponse {self.status} {self.body[:300]!r}>"


def sign_headers(url, data, headers, region, service="sagemaker"):
    req = AWSRequest(method="POST", url=url, data=data, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region).add_auth(req)
    return dict(req.headers.items())


def raw_call(base_url, target, body=None, region="us-east-1", sign=True, headers=None,
             content_type=JSON_CT, check=True, conn=None, timeout=15.0):
    """POST an awsJson1.1 request by hand.

    target: an operation name ("DescribeTrainingJob" -> "SageMaker.DescribeTrainingJob") or a
    full X-Amz-Target value containing a dot; None sends no X-Amz-Target.
    body: dict/list (JSON-encoded), str or bytes (sent as is), None -> "{}".
    sign: add a SigV4 Authorization for `region` (the server takes the region from it).
    check: run the conformance checker on the response (violations fail the test).
    conn: an open http.client.HTTPConnection to reuse (keep-alive tests).
    """
    if body is None:
        data = b"{}"
    elif isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = bytes(body)
    hdrs = {}
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    op = None
    if target is not None:
        full = target if "." in target else f"SageMaker.{target}"
        hdrs["X-Amz-Target"] = full
        op = full.split(".", 1)[1] if full.startswith("SageMaker.") else None
    if headers:
        hdrs.update(headers)
    u = urllib.parse.urlsplit(base_url)
    if sign:
        hdrs = sign_headers(f"{base_url.rstrip('/')}/", data, hdrs, region)
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        status, rheaders = resp.status, resp.headers
    finally:
        if own:
            conn.close()
    violations = []
    parsed = None
    if check:
        violations, parsed = CHECKER.check_response(op, status, rheaders, raw)
    else:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
    return RawResponse(status, rheaders, raw, parsed, violations)


# ------------------------------------------------------------------------------------ requests
def job_request(name, **overrides):
    """A minimal valid CreateTrainingJob request (as boto3 keyword arguments)."""
    req = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": "s3://sagemock-bucket/data/train/",
                "S3DataDistributionType": "FullyReplicated"}},
        }],
        "OutputDataConfig": {"S3OutputPath": "s3://sagemock-bucket/output/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    for k, v in overrides.items():
        if v is None:
            req.pop(k, None)
        else:
            req[k] = v
    return req


_counter = [0]


def unique_name(prefix="job"):
    """A unique, valid training-job name (lower case, so the ARN reads the same)."""
    _counter[0] += 1
    return f"{prefix}-{os.getpid() % 100000}-{int(time.time() * 1000) % 10**8}-{_counter[0]}"


def arn_for(name, region="us-east-1", account=ACCOUNT, lower=True):
    return f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower() if lower else name}"


def describe_raw(client, name):
    """DescribeTrainingJob through boto3; returns the raw JSON body (exact numbers, and members
    newer than the installed botocore model)."""
    client.describe_training_job(TrainingJobName=name)
    return CHECKER.raw_body(client)


def error_of(exc_info):
    """(code, message, http status) of a botocore ClientError."""
    err = exc_info.value.response["Error"]
    return err.get("Code"), err.get("Message"), \
        exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]
