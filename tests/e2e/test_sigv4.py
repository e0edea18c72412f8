"""SigV4 verification (--auth sigv4, spec §6) and the admin token (--admin-token), end to end.

The real clients sign and sagemock checks: boto3 with and without a session token, the AWS CLI
v2 (/usr/bin/aws), and the JavaScript SDK v3 when tests/e2e/js/node_modules is installed (else
those tests are skipped, saying so). Refusals come back as AWS sends them: status 400 and the
exact code and text; the InvalidSignatureException message carries the canonical request and
string to sign that botocore itself computed. Expiry is measured on the wall clock, never the
simulated one. The default (--auth none) still takes unsigned requests, and the admin API is
open unless --admin-token is given (health always is).

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_sigv4.py   (SAGEMOCK_BIN overrides the binary)
"""

import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conformance import CHECKER
from helpers import (ACCESS_KEY, JSON_CT, REPO, SECRET_KEY, arn_for, error_of, job_request,
                     raw_call, sagemock_binary, unique_name)

SESSION_KEY = "ASIASESSIONKEY"
SESSION_SECRET = "session/secret+key"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//session+token="
ADMIN_TOKEN = "admin-token-5f3a"
AWS_CLI = os.environ.get("SAGEMOCK_AWS_CLI", "/usr/bin/aws")
JS_DIR = REPO / "tests" / "e2e" / "js"
NODE = shutil.which("node")

MISSING = "Request is missing Authentication Token"
BAD_KEY = "The security token included in the request is invalid."
BAD_TOKEN = "The security token included in the request is invalid"

CREDENTIALS_FILE = f"""# keys sagemock accepts (AWS shared-credentials format)
[default]
aws_access_key_id = {ACCESS_KEY}
aws_secret_access_key = {SECRET_KEY}
region = us-east-1

[session]
aws_access_key_id = {SESSION_KEY}
aws_secret_access_key = {SESSION_SECRET}
aws_session_token = {SESSION_TOKEN}
"""


@pytest.fixture
def creds_file(tmp_path):
    p = tmp_path / "credentials"
    p.write_text(CREDENTIALS_FILE)
    return p


@pytest.fixture
def strict(make_server, creds_file):
    """A server with --auth sigv4 and the keys of CREDENTIALS_FILE, debug logging on."""
    return make_server("--auth", "sigv4", "--credentials", str(creds_file), "--log-level", "debug")


def client(srv, key=ACCESS_KEY, secret=SECRET_KEY, token=None, region="us-east-1"):
    c = boto3.session.Session().client(
        "sagemaker", endpoint_url=srv.url, region_name=region, aws_access_key_id=key,
        aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    return CHECKER.attach(c)


def sign(url, body, target="ListTrainingJobs", key=ACCESS_KEY, secret=SECRET_KEY, token=None,
         region="us-east-1", service="sagemaker", when=None, extra=None):
    """Sign a request with botocore's own SigV4Auth at time `when` (default now).
    Returns (headers, botocore's canonical request, botocore's string to sign)."""
    req = AWSRequest(method="POST", url=url.rstrip("/") + "/", data=body,
                     headers={"X-Amz-Target": f"SageMaker.{target}", "Content-Type": JSON_CT,
                              **(extra or {})})
    auth = SigV4Auth(Credentials(key, secret, token), service, region)
    when = when or datetime.datetime.now(datetime.timezone.utc)
    req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(req)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    auth._inject_signature_to_request(req, auth.signature(sts, req))
    return dict(req.headers.items()), creq, sts


def post(srv, body, headers, target="ListTrainingJobs"):
    """POST exactly these bytes and headers (no signing by the helper)."""
    return raw_call(srv.url, target, body, sign=False, headers=headers, content_type=None)


def assert_refused(resp, code, message=None):
    assert resp.status == 400, resp
    assert resp.error_code == code, resp
    assert resp.headers.get("x-amzn-ErrorType") == code
    if message is not None:
        assert resp.message == message, resp


# ------------------------------------------------------------------------------ --auth none
def test_default_accepts_unsigned_and_wrongly_signed_requests(server):
    r = raw_call(server.url, "ListTrainingJobs", {}, sign=False)
    assert r.status == 200, r
    r = raw_call(server.url, "ListTrainingJobs", {}, sign=False, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=nobody/20000101/xx/sagemaker/aws4_request,"
                         " SignedHeaders=host, Signature=00"})
    assert r.status == 200, r
    c = client(server, key="anything", secret="goes")
    assert "TrainingJobSummaries" in c.list_training_jobs()


# ------------------------------------------------------------------------------ accepted
def test_boto3_signed_requests_are_served(strict):
    sm = client(strict)
    name = unique_name("sig")
    arn = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn == arn_for(name)
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobName"] == name
    assert name in [j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_the_verified_scope_region_is_the_job_region(strict):
    sm = client(strict, region="eu-west-1")
    name = unique_name("sig")
    arn = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn == arn_for(name, region="eu-west-1")


def test_boto3_with_a_session_token(strict):
    good = client(strict, key=SESSION_KEY, secret=SESSION_SECRET, token=SESSION_TOKEN)
    assert "TrainingJobSummaries" in good.list_training_jobs()
    for token in ("another-token", None):
        with pytest.raises(ClientError) as e:
            client(strict, key=SESSION_KEY, secret=SESSION_SECRET,
                   token=token).list_training_jobs()
        assert error_of(e) == ("UnrecognizedClientException", BAD_TOKEN, 400)
    # A long-term key (issued without a token) does not take one either.
    with pytest.raises(ClientError) as e:
        client(strict, token="unexpected").list_training_jobs()
    assert error_of(e) == ("UnrecognizedClientException", BAD_TOKEN, 400)


def test_expiry_is_measured_on_the_wall_clock_not_the_simulated_one(strict):
    strict.pause()
    strict.set_clock(strict.now() + 3 * 86400)  # the simulated clock is three days ahead
    sm = client(strict)
    assert "TrainingJobSummaries" in sm.list_training_jobs()
    name = unique_name("wall")
    sm.create_training_job(**job_request(name))
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"


# ------------------------------------------------------------------------------ refused
def test_no_authorization_is_missing_authentication_token(strict):
    assert_refused(raw_call(strict.url, "ListTrainingJobs", {}, sign=False),
                   "MissingAuthenticationTokenException", MISSING)
    assert_refused(raw_call(strict.url, "ListTrainingJobs", {}, sign=False,
                            headers={"Authorization": "Bearer abc"}),
                   "MissingAuthenticationTokenException", MISSING)


def test_gate_order_target_and_json_come_first_validation_after(strict):
    # Unknown target and bad JSON are answered before authentication (Coral's order)...
    r = raw_call(strict.url, "SageMaker.NoSuchOperation", {}, sign=False)
    assert r.status == 400 and r.error_code == "UnknownOperationException", r
    r = raw_call(strict.url, "ListTrainingJobs", b"{not json", sign=False)
    assert r.status == 400 and r.error_code == "SerializationException", r
    # ... validation only after it: an unsigned invalid request is an auth error.
    assert_refused(raw_call(strict.url, "DescribeTrainingJob", {"TrainingJobName": "bad_name"},
                            sign=False), "MissingAuthenticationTokenException", MISSING)


def test_wrong_secret_shows_botocores_canonical_request(strict):
    body = b'{"MaxResults": 5}'
    headers, creq, sts = sign(strict.url, body, secret="not-the-secret")
    r = post(strict, body, headers)
    assert_refused(r, "InvalidSignatureException")
    assert r.message == (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        f"details.\n\nThe Canonical String for this request should have been\n'{creq}'\n\n"
        f"The String-to-Sign should have been\n'{sts}'\n")
    # The same through boto3.
    with pytest.raises(ClientError) as e:
        client(strict, secret="wrong").list_training_jobs()
    code, msg, status = error_of(e)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert f"host:127.0.0.1:{strict.port}\n" in msg


def test_a_body_changed_after_signing_is_refused(strict):
    headers, _, _ = sign(strict.url, b'{"MaxResults": 5}')
    assert_refused(post(strict, b'{"MaxResults": 6}', headers), "InvalidSignatureException")
    # As the JS SDK does: x-amz-content-sha256 signed; it must be the hash of the body sent.
    sha = {"X-Amz-Content-SHA256": hashlib.sha256(b'{"MaxResults": 5}').hexdigest()}
    headers, creq, _ = sign(strict.url, b'{"MaxResults": 5}', extra=sha)
    assert "x-amz-content-sha256" in creq
    assert post(strict, b'{"MaxResults": 5}', headers).status == 200
    assert_refused(post(strict, b'{"MaxResults": 6}', headers), "InvalidSignatureException",
                   "The provided 'x-amz-content-sha256' header does not match what was "
                   "computed.")


def test_unknown_access_key_is_unrecognized_client(strict):
    with pytest.raises(ClientError) as e:
        client(strict, key="AKIDUNKNOWN").list_training_jobs()
    assert error_of(e) == ("UnrecognizedClientException", BAD_KEY, 400)


def _fmt(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def test_signature_expired_outside_fifteen_minutes(strict):
    body = b"{}"
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    headers, _, _ = sign(strict.url, body, when=when)
    r = post(strict, body, headers)
    assert_refused(r, "InvalidSignatureException")
    m = re.fullmatch(r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
                     r"\((\d{8}T\d{6}Z) - 15 min\.\)", r.message)
    assert m, r.message
    assert m.group(1) == _fmt(when)
    now = datetime.datetime.strptime(m.group(3), "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert abs((now - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60
    assert m.group(2) == _fmt(now - datetime.timedelta(minutes=15))
    # Ten minutes old is still good; twenty minutes ahead is not yet.
    headers, _, _ = sign(strict.url, body, when=when + datetime.timedelta(minutes=10))
    assert post(strict, body, headers).status == 200
    headers, _, _ = sign(strict.url, body, when=when + datetime.timedelta(minutes=40))
    r = post(strict, body, headers)
    assert_refused(r, "InvalidSignatureException")
    assert r.message.startswith("Signature not yet current: "), r.message


def test_incomplete_authorization_headers(strict):
    headers, _, _ = sign(strict.url, b"{}")
    auth = headers["Authorization"]
    no_sig = auth.split(", Signature=")[0]
    assert_refused(post(strict, b"{}", dict(headers, Authorization=no_sig)),
                   "IncompleteSignatureException",
                   f"Authorization header requires 'Signature' parameter. Authorization={no_sig}")
    del headers["X-Amz-Date"]
    assert_refused(post(strict, b"{}", headers), "IncompleteSignatureException",
                   "Authorization header requires existence of either a 'X-Amz-Date' or a "
                   f"'Date' header. Authorization={auth}")
    headers["X-Amz-Date"] = "2026-11-27T05:53:00Z"
    assert_refused(post(strict, b"{}", headers), "IncompleteSignatureException",
                   "Date must be in ISO-8601 'basic format'. Got '2026-11-27T05:53:00Z'. See "
                   "http://en.wikipedia.org/wiki/ISO_8601")


def test_scope_must_name_a_valid_region_and_sagemaker(strict):
    headers, _, _ = sign(strict.url, b"{}", region="US-EAST-1")
    assert_refused(post(strict, b"{}", headers), "InvalidSignatureException",
                   "Credential should be scoped to a valid region, not 'US-EAST-1'. ")
    headers, _, _ = sign(strict.url, b"{}", service="dynamodb")
    assert_refused(post(strict, b"{}", headers), "InvalidSignatureException",
                   "Credential should be scoped to correct service: 'sagemaker'. ")


def test_secrets_are_never_logged(strict):
    client(strict).list_training_jobs()
    client(strict, key=SESSION_KEY, secret=SESSION_SECRET, token=SESSION_TOKEN).list_training_jobs()
    with pytest.raises(ClientError):
        client(strict, secret="wrong-secret-value").list_training_jobs()
    with pytest.raises(ClientError):
        client(strict, key=SESSION_KEY, secret=SESSION_SECRET, token="wrong-token-value") \
            .list_training_jobs()
    log = strict.stderr_text(tail=10**7)
    assert "InvalidSignatureException" in log and "UnrecognizedClientException" in log
    for secret in (SESSION_SECRET, SESSION_TOKEN, "wrong-secret-value",
                   "wrong-token-value", "AWS4-HMAC-SHA256", "Signature="):
        assert secret not in log, f"{secret!r} appears in the server log"


# ------------------------------------------------------------------------------ start-up
def _run_binary(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMOCK_")}
    e.update(env or {})
    return subprocess.run([sagemock_binary(), "--port", "0", "--db", ":memory:", *args],
                          capture_output=True, text=True, env=e, timeout=20)


def test_sigv4_without_credentials_does_not_start(tmp_path):
    p = _run_binary("--auth", "sigv4")
    assert p.returncode == 2
    assert "needs at least one access key" in p.stderr
    bad = tmp_path / "bad"
    bad.write_text("[x]\naws_access_key_id = A\n[y]\naws_secret_access_key = TOPSECRET\n")
    p = _run_binary("--auth", "sigv4", "--credentials", str(bad))
    assert p.returncode == 2
    assert "has no aws_secret_access_key" in p.stderr and "TOPSECRET" not in p.stderr
    p = _run_binary("--auth", "sigv4", "--credentials", str(tmp_path / "missing"))
    assert p.returncode == 2 and "cannot open" in p.stderr
    p = _run_binary("--auth", "maybe")
    assert p.returncode == 2 and "expected none or sigv4" in p.stderr


def test_credentials_from_the_environment(make_server, monkeypatch):
    monkeypatch.setenv("SAGEMOCK_AUTH", "sigv4")
    monkeypatch.setenv("SAGEMOCK_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("SAGEMOCK_SECRET_ACCESS_KEY", "env-secret")
    srv = make_server()
    assert "TrainingJobSummaries" in client(srv, key="AKIDFROMENV",
                                            secret="env-secret").list_training_jobs()
    with pytest.raises(ClientError) as e:
        client(srv).list_training_jobs()
    assert error_of(e)[0] == "UnrecognizedClientException"


# ------------------------------------------------------------------------------ AWS CLI v2
def _cli_v2():
    if not (os.path.isfile(AWS_CLI) and os.access(AWS_CLI, os.X_OK)):
        return False
    out = subprocess.run([AWS_CLI, "--version"], capture_output=True, text=True, timeout=60)
    return (out.stdout + out.stderr).startswith("aws-cli/2.")


needs_cli = pytest.mark.skipif(not _cli_v2(), reason=f"AWS CLI v2 not found at {AWS_CLI}")


def aws(srv, tmp_path, *args, key=ACCESS_KEY, secret=SECRET_KEY, token=None):
    (tmp_path / "empty").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "empty"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "empty"), "AWS_PAGER": "",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"})
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return subprocess.run([AWS_CLI, "sagemaker", *args, "--endpoint-url", srv.url,
                           "--output", "json"], capture_output=True, text=True, env=env,
                          timeout=120)


@needs_cli
def test_aws_cli_v2_signs_and_is_verified(strict, tmp_path):
    name = unique_name("cli")
    client(strict).create_training_job(**job_request(name))
    p = aws(strict, tmp_path, "describe-training-job", "--training-job-name", name)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["TrainingJobName"] == name
    p = aws(strict, tmp_path, "list-training-jobs", key=SESSION_KEY, secret=SESSION_SECRET,
            token=SESSION_TOKEN)
    assert p.returncode == 0, p.stderr
    assert name in [j["TrainingJobName"] for j in json.loads(p.stdout)["TrainingJobSummaries"]]
    p = aws(strict, tmp_path, "list-training-jobs", secret="wrong")
    assert p.returncode != 0
    assert "(InvalidSignatureException)" in p.stderr, p.stderr


# ------------------------------------------------------------------------------ JS SDK v3
JS_SCRIPT = r"""
import { createRequire } from "node:module";
const require = createRequire(process.env.JS_PACKAGE);
const { SageMakerClient, ListTrainingJobsCommand, DescribeTrainingJobCommand } =
  require("@aws-sdk/client-sagemaker");
const out = {};
async function attempt(label, credentials, command) {
  const c = new SageMakerClient({ endpoint: process.env.URL, region: "us-west-2", credentials,
                                  maxAttempts: 1 });
  try {
    const r = await c.send(command);
    out[label] = { ok: true, result: r };
  } catch (e) {
    out[label] = { ok: false, name: e.name, message: e.message };
  }
}
const good = { accessKeyId: process.env.KEY, secretAccessKey: process.env.SECRET };
const session = { accessKeyId: process.env.SKEY, secretAccessKey: process.env.SSECRET,
                  sessionToken: process.env.STOKEN };
await attempt("list", good, new ListTrainingJobsCommand({ MaxResults: 5 }));
await attempt("describe", good, new DescribeTrainingJobCommand({ TrainingJobName: process.env.JOB }));
await attempt("session", session, new ListTrainingJobsCommand({}));
await attempt("wrong", { ...good, secretAccessKey: "wrong" }, new ListTrainingJobsCommand({}));
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(not (NODE and (JS_DIR / "node_modules" / "@aws-sdk" / "client-sagemaker")
                         .is_dir()),
                    reason="the JS SDK v3 is not installed (npm ci in tests/e2e/js) or no node")
def test_js_sdk_v3_signs_and_is_verified(strict, tmp_path):
    name = unique_name("js")
    client(strict, region="us-west-2").create_training_job(**job_request(name))
    script = tmp_path / "sigv4.mjs"
    script.write_text(JS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"JS_PACKAGE": str(JS_DIR / "package.json"), "URL": strict.url,
                "KEY": ACCESS_KEY, "SECRET": SECRET_KEY, "SKEY": SESSION_KEY,
                "SSECRET": SESSION_SECRET, "STOKEN": SESSION_TOKEN, "JOB": name,
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true"})
    p = subprocess.run([NODE, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["list"]["ok"], out["list"]
    assert out["describe"]["ok"] and out["describe"]["result"]["TrainingJobName"] == name, out
    assert out["session"]["ok"], out["session"]
    assert not out["wrong"]["ok"] and out["wrong"]["name"] == "InvalidSignatureException", out
    assert "x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent" in \
        out["wrong"]["message"]


# ------------------------------------------------------------------------------ admin token
def _admin(srv, method, path, headers=None, body=None):
    u = urllib.parse.urlsplit(srv.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        h = dict(headers or {})
        if data is not None:
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    return resp.status, json.loads(raw) if raw else None


def test_admin_api_is_open_without_a_token(server):
    assert _admin(server, "GET", "/_sagemock/clock")[0] == 200


def test_admin_token_guards_every_admin_endpoint_but_health(make_server):
    srv = make_server("--admin-token", ADMIN_TOKEN)
    assert _admin(srv, "GET", "/_sagemock/health") == (200, {"status": "ok",
                                                           "version": srv.health()["version"]})
    for method, path, body in (("GET", "/_sagemock/clock", None),
                               ("POST", "/_sagemock/clock", {"rate": 0}),
                               ("POST", "/_sagemock/reset", None),
                               ("GET", "/_sagemock/jobs", None),
                               ("GET", "/_sagemock/no-such-endpoint", None)):
        status, out = _admin(srv, method, path, body=body)
        assert status == 401 and "token" in out["error"], (method, path, status, out)
        assert ADMIN_TOKEN not in json.dumps(out)
        status, out = _admin(srv, method, path, {"Authorization": "Bearer wrong"}, body)
        assert status == 401, (method, path, status, out)
    assert _admin(srv, "GET", "/_sagemock/clock",
                  {"Authorization": f"Bearer {ADMIN_TOKEN}"})[0] == 200
    assert _admin(srv, "POST", "/_sagemock/clock", {"X-Sagemock-Admin-Token": ADMIN_TOKEN},
                  {"rate": 1})[0] == 200
    # The SageMaker API is not affected by the admin token.
    assert raw_call(srv.url, "ListTrainingJobs", {}).status == 200
    # `sagemock healthcheck` needs no token.
    p = subprocess.run([sagemock_binary(), "healthcheck", "--port", str(srv.port)],
                       capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, SAGEMOCK_ADMIN_TOKEN=ADMIN_TOKEN))
    assert p.returncode == 0, p.stderr
    assert ADMIN_TOKEN not in srv.stderr_text(tail=10**7)
