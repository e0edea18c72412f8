"""Hardening, second round (issue 13): what an outside attack found, kept as tests against the
real binary. One section per finding:

 1. the region comes only from the verified credential scope; a repeated or malformed
    Credential is refused, with --auth sigv4 and with --auth none (X-Amz-Target need not be
    signed, as on AWS)
 2. invalid UTF-8 is refused on the way in (SerializationException for awsJson, the service's
    validation code for awsQuery, fixtures with line:column) and never reaches the journal, a
    log line or a reply
 3. "\\u0000" inside a JSON string is refused instead of cutting the string
 5. the admin API answers only to the server's own Host, and takes no state change from a web
    page of another origin (unless --admin-hosts says otherwise)
 6. admin bodies honour --max-body: 413, nothing loaded
 9. the simulated clock stops at 9999-12-31T23:59:59Z; set and advance past it are refused
10. control characters are escaped in text and JSON log lines
 and: text after the JSON body is refused (SerializationException).

Findings 4, 7 and 8 (latency, table caps, warm-pool seeding and a busy store) take longer and
live in test_hardening_load.py.

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_hardening.py   (SAGEMOCK_BIN overrides)
"""

import http.client
import json
import socket
import time
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from helpers import (ACCESS_KEY, JSON_CT, SECRET_KEY, job_request, raw_call, sign_headers,
                     unique_name)

CREDENTIALS = f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"


@pytest.fixture
def strict(make_server, tmp_path):
    p = tmp_path / "credentials"
    p.write_text(CREDENTIALS)
    return make_server("--auth", "sigv4", "--credentials", str(p))


def raw_http(srv, method, path, headers=(), body=b"", chunks=None, timeout=15.0):
    """One request over a plain socket, bytes as given (headers may hold any bytes). chunks: a
    list of byte strings sent with Transfer-Encoding: chunked. Returns (status, headers, body)."""
    head = f"{method} {path} HTTP/1.1\r\n".encode()
    names = {h[0].lower() if isinstance(h[0], str) else h[0].decode().lower() for h in headers}
    if "host" not in names:
        head += f"Host: 127.0.0.1:{srv.port}\r\n".encode()
    for k, v in headers:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        head += k + b": " + v + b"\r\n"
    if chunks is not None:
        head += b"Transfer-Encoding: chunked\r\n"
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    else:
        head += b"Content-Length: %d\r\n" % len(body)
        payload = body
    head += b"Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(head)
        try:
            s.sendall(payload)
        except OSError:
            pass  # answered (413) before the body was read
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding") == "chunked":
        body, rest = b"", rest
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            body += rest[:n]
            rest = rest[n + 2:]
        rest = body
    return status, hdrs, rest


def journal(srv, **query):
    """GET /_sagemock/requests as the README reads it: json.load(urlopen(...)), strict UTF-8."""
    q = urllib.parse.urlencode(query)
    with urllib.request.urlopen(f"{srv.url}/_sagemock/requests?{q}", timeout=10) as resp:
        return json.load(resp)


def regions_of_jobs(srv):
    status, body, _ = srv.admin("GET", "/_sagemock/jobs")
    assert status == 200
    return {(j["region"], j["name"]) for j in body["jobs"]}


def err(resp):
    return resp.error_code, resp.status


# ------------------------------------------------------------------ 1. region from the scope
def with_extra_credential(headers, extra):
    """The signed headers with one more Credential= part put before the real one (the
    Authorization header itself is not signed, so the signature stays valid)."""
    h = dict(headers)
    algo, _, rest = h["Authorization"].partition(" ")
    h["Authorization"] = f"{algo} Credential={extra}, {rest}"
    return h


def post_signed(srv, target, body, region, tamper=None, sign_target=True):
    data = json.dumps(body).encode()
    hdrs = {"Content-Type": JSON_CT}
    if sign_target:
        hdrs["X-Amz-Target"] = f"SageMaker.{target}"
    hdrs = sign_headers(f"{srv.url}/", data, hdrs, region)
    if not sign_target:
        hdrs["X-Amz-Target"] = f"SageMaker.{target}"
    if tamper:
        hdrs = tamper(hdrs)
    return raw_call(srv.url, None, data, sign=False, headers=hdrs, content_type=None,
                    check=False)


def test_a_second_credential_cannot_choose_the_region_under_sigv4(strict):
    """Before: the region came from the first Credential= (unverified), the signature from the
    last: this created a job in eu-west-1 with a us-east-1 signature."""
    name = unique_name("reg")
    forged = "AKIDEXAMPLE/20200101/eu-west-1/sagemaker/aws4_request"
    resp = post_signed(strict, "CreateTrainingJob", job_request(name), "us-east-1",
                       tamper=lambda h: with_extra_credential(h, forged))
    assert err(resp) == ("IncompleteSignatureException", 400), resp
    assert "more than one 'Credential'" in resp.message
    assert ("eu-west-1", name) not in regions_of_jobs(strict)
    assert ("us-east-1", name) not in regions_of_jobs(strict)
    # Signed for one region, the job lands in that region and nowhere else.
    ok = post_signed(strict, "CreateTrainingJob", job_request(name), "ap-south-1")
    assert ok.status == 200, ok
    assert ("ap-south-1", name) in regions_of_jobs(strict)


@pytest.mark.parametrize("part", ["SignedHeaders=host", "Signature=" + "0" * 64])
def test_any_repeated_part_is_refused(strict, part):
    def tamper(h):
        h = dict(h)
        h["Authorization"] += ", " + part
        return h
    resp = post_signed(strict, "ListTrainingJobs", {}, "us-east-1", tamper=tamper)
    assert err(resp) == ("IncompleteSignatureException", 400), resp


def test_auth_none_takes_the_region_of_a_well_formed_credential_only(server):
    """--auth none verifies nothing, yet a repeated or malformed Credential is refused as
    --auth sigv4 refuses it, instead of picking a region out of it."""
    name = unique_name("none")
    good = f"AWS4-HMAC-SHA256 Credential=AKID/20200101/eu-north-1/sagemaker/aws4_request, " \
           f"SignedHeaders=host, Signature={'0' * 64}"
    resp = raw_call(server.url, "CreateTrainingJob", job_request(name), sign=False,
                    headers={"Authorization": good})
    assert resp.status == 200, resp
    assert ("eu-north-1", name) in regions_of_jobs(server)

    cases = [
        # a second Credential, the one the old code read first
        ("AWS4-HMAC-SHA256 Credential=AKID/20200101/eu-west-1/sagemaker/aws4_request, "
         "Credential=AKID/20200101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, "
         "Signature=x", "IncompleteSignatureException", "more than one 'Credential'"),
        ("AWS4-HMAC-SHA256 Credential=AKID/eu-west-1/sagemaker/aws4_request, SignedHeaders=host, "
         "Signature=x", "IncompleteSignatureException", "exactly 5 slash-delimited"),
        ("AWS4-HMAC-SHA256 Credential=AKID /20200101/eu-west-1/sagemaker/aws4_request, "
         "SignedHeaders=host, Signature=x", "IncompleteSignatureException",
         "not a valid key=value pair"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20200101/EU_WEST/sagemaker/aws4_request, "
         "SignedHeaders=host, Signature=x", "InvalidSignatureException",
         "Credential should be scoped to a valid region, not 'EU_WEST'"),
    ]
    for auth, code, text in cases:
        other = unique_name("none")
        resp = raw_call(server.url, "CreateTrainingJob", job_request(other), sign=False,
                        headers={"Authorization": auth})
        assert err(resp) == (code, 400), (auth, resp)
        assert text in resp.message, (auth, resp.message)
        assert not [j for j in regions_of_jobs(server) if j[1] == other]


def test_x_amz_target_need_not_be_signed_as_on_aws(strict):
    """AWS requires only 'host' among the signed headers (spec §6.3 step 6); Coral services take
    unsigned x-amz-* headers (only S3 refuses them), and tools such as awscurl sign only host
    and x-amz-date. sagemock follows AWS."""
    resp = post_signed(strict, "ListTrainingJobs", {}, "us-east-1", sign_target=False)
    assert resp.status == 200, resp
    assert "x-amz-target" not in resp.headers.get("x-amzn-RequestId", "")


# ------------------------------------------------------------------ 2. UTF-8 in, UTF-8 out
def test_invalid_utf8_in_a_json_body_is_a_serialization_exception(server):
    body = b'{"TrainingJobName":"bad-\xff-name"}'
    resp = raw_call(server.url, "DescribeTrainingJob", body, check=False)
    assert err(resp) == ("SerializationException", 400), resp
    assert "not valid UTF-8 (byte 0xff at offset 24)" in resp.message
    resp.body.decode("utf-8")  # the reply itself is UTF-8
    # The journal stays JSON that the README's json.load(urlopen(...)) reads.
    entries = journal(server, operation="DescribeTrainingJob")["requests"]
    assert entries[0]["status"] == 400
    assert "\ufffd" in entries[0]["body"] and entries[0]["bodyNotUtf8"] is True


def test_an_unsigned_invalid_body_under_sigv4_leaves_the_journal_readable(strict):
    resp = raw_call(strict.url, "CreateTrainingJob", b'{"TrainingJobName":"\xfe\xff"}',
                    sign=False, check=False)
    assert err(resp) == ("SerializationException", 400), resp
    assert journal(strict)["requests"][0]["bodyNotUtf8"] is True


def test_invalid_utf8_in_an_awsquery_form_is_the_services_validation_error(server):
    """IAM and STS speak awsQuery: a %-escaped byte that is not UTF-8 is their ValidationError,
    in XML."""
    for body in (b"Action=GetRole&Version=2010-05-08&RoleName=a%FFb",
                 b"Action=GetRole&Version=2010-05-08&RoleName=a\xffb"):
        s, h, out = raw_http(server, "POST", "/", [("Content-Type",
                                                    "application/x-www-form-urlencoded")], body)
        text = out.decode("utf-8")
        assert s == 400, text
        assert "<Code>ValidationError</Code>" in text and "not valid UTF-8" in text, text


def test_bytes_that_are_not_utf8_in_a_header_never_reach_a_reply_or_the_journal(server):
    s, h, out = raw_http(server, "POST", "/", [("Content-Type", JSON_CT),
                                               ("X-Amz-Target", b"Sage\xffMaker.Describe")],
                         b"{}")
    assert s == 400
    json.loads(out.decode("utf-8"))  # strict: raises on a byte that is not UTF-8
    journal(server)  # likewise


def test_a_fixture_with_invalid_utf8_is_refused_with_its_position(server, sm):
    doc = (b'{"scenarios": [{"name": "bad-utf8", "extends": "algorithm-error",\n'
           b'  "failure": {"reason": "AlgorithmError: \xff"}}]}')
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", doc)
    assert status == 400, raw
    assert body["error"].startswith("request body:2:42: the document is not valid UTF-8"), body
    # Nothing loaded, and every admin document stays parseable.
    names = [s["name"] for s in server.admin("GET", "/_sagemock/scenarios")[1]["scenarios"]]
    assert "bad-utf8" not in names
    with urllib.request.urlopen(f"{server.url}/_sagemock/scenarios", timeout=10) as r:
        json.load(r)
    for doc in (b'{"jobName":"\xff","operation":"*","error":"InternalFailure"}',
                b'{"advance":1, "x":"\xc3\x28"}'):
        status, body, raw = server.admin("POST", "/_sagemock/faults" if b"jobName" in doc
                                         else "/_sagemock/clock", doc)
        assert status == 400 and "not valid UTF-8" in body["error"], raw
    assert server.admin("GET", "/_sagemock/faults")[1]["faults"] == []


# ------------------------------------------------------------------ 3. \u0000
def test_a_nul_escape_does_not_cut_a_name(server, sm):
    """Before: "bj-ok\\u0000evil" acted on job bj-ok."""
    name = unique_name("bj-ok")
    sm.create_training_job(**job_request(name))
    resp = raw_call(server.url, "DescribeTrainingJob",
                    '{"TrainingJobName":"%s\\u0000evil"}' % name)
    assert err(resp) == ("SerializationException", 400), resp
    assert "\\u0000" in resp.message
    resp = raw_call(server.url, "StopTrainingJob", '{"TrainingJobName":"%s\\u0000x"}' % name)
    assert err(resp) == ("SerializationException", 400), resp
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"


def test_nul_escapes_in_hyperparameters_and_tags_are_refused(server, sm):
    name = unique_name("nul")
    body = json.dumps(job_request(name, HyperParameters={"a": "x"})).replace(
        '"a": "x"', '"a\\u0000b": "x\\u0000y"')
    resp = raw_call(server.url, "CreateTrainingJob", body)
    assert err(resp) == ("SerializationException", 400), resp
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName=name)
    sm.create_training_job(**job_request(name))
    arn = sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    body = ('{"ResourceArn":"%s","Tags":[{"Key":"a\\u0000x","Value":"1"},'
            '{"Key":"a\\u0000y","Value":"2"}]}' % arn)
    resp = raw_call(server.url, "AddTags", body)
    assert err(resp) == ("SerializationException", 400), resp
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    # An escaped backslash before u0000 is text, not a NUL.
    other = unique_name("nul")
    body = json.dumps(job_request(other, HyperParameters={"a": "x"})).replace(
        '"a": "x"', '"a\\\\u0000b": "x"')
    ok = raw_call(server.url, "CreateTrainingJob", body)
    assert ok.status == 200, ok
    hp = sm.describe_training_job(TrainingJobName=other)["HyperParameters"]
    assert hp == {"a\\u0000b": "x"}, hp


def test_text_after_the_json_body_is_refused(server):
    resp = raw_call(server.url, "DescribeTrainingJob", '{"TrainingJobName":"x"} garbage')
    assert err(resp) == ("SerializationException", 400), resp
    ok = raw_call(server.url, "ListTrainingJobs", '{} \r\n\t ')
    assert ok.status == 200, ok


# ------------------------------------------------------------------ 5. admin API and other sites
def admin_with(srv, method, path, body=None, **headers):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_foreign_host_cannot_read_or_drive_the_admin_api(server):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 reaches the
    server with Host: evil.example. Before: 200 and the journal."""
    for method, path, body in (("GET", "/_sagemock/requests", None),
                               ("GET", "/_sagemock/ui", None),
                               ("POST", "/_sagemock/clock", {"advance": 31536000}),
                               ("DELETE", "/_sagemock/faults", None)):
        status, raw = admin_with(server, method, path, body, Host=f"evil.example:{server.port}")
        assert status == 403, (method, path, raw)
        assert b"--admin-hosts" in raw
    # The server's own names and addresses are fine; health answers any Host.
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "LOCALHOST.",
                 f"app.localhost:{server.port}", f"127.1.2.3:{server.port}",
                 f"[::1]:{server.port}"):
        status, raw = admin_with(server, "GET", "/_sagemock/clock", Host=host)
        assert status == 200, (host, raw)
    assert admin_with(server, "GET", "/_sagemock/health", Host="sagemock")[0] == 200


def test_a_page_of_another_origin_cannot_change_state(server):
    """A no-cors fetch from another origin carries Origin: before, it advanced the clock a year
    and added a '*' InternalFailure fault."""
    before = server.now()
    for path, body in (("/_sagemock/clock", {"advance": 31536000}),
                       ("/_sagemock/faults", {"service": "*", "operation": "*",
                                              "error": "InternalFailure"}),
                       ("/_sagemock/reset", None)):
        for origin in ("http://evil.example", "null", f"http://localhost:{server.port + 1}"):
            status, raw = admin_with(server, "POST", path, body, Origin=origin)
            assert status == 403, (path, origin, raw)
    assert server.now() - before < 60
    assert server.admin("GET", "/_sagemock/faults")[1]["faults"] == []
    # The dashboard's own fetches (same origin) and reads from anywhere still work.
    status, _ = admin_with(server, "POST", "/_sagemock/clock", {"advance": 1},
                           Origin=f"http://127.0.0.1:{server.port}")
    assert status == 200
    assert admin_with(server, "GET", "/_sagemock/clock", Origin="http://evil.example")[0] == 200


def test_admin_hosts_allows_other_names_and_origins(make_server):
    srv = make_server("--admin-hosts", "sagemock,dash.internal")
    assert admin_with(srv, "GET", "/_sagemock/clock", Host=f"sagemock:{srv.port}")[0] == 200
    assert admin_with(srv, "GET", "/_sagemock/clock", Host="evil.example")[0] == 403
    assert admin_with(srv, "POST", "/_sagemock/clock", {"advance": 1},
                      Origin="https://dash.internal:8443")[0] == 200
    assert admin_with(srv, "POST", "/_sagemock/clock", {"advance": 1},
                      Origin="http://evil.example")[0] == 403
    anyone = make_server("--admin-hosts", "*")
    assert admin_with(anyone, "POST", "/_sagemock/clock", {"advance": 1}, Host="evil.example",
                      Origin="http://evil.example")[0] == 200


# ------------------------------------------------------------------ 6. --max-body on admin
def test_admin_bodies_over_max_body_are_413_and_load_nothing(make_server):
    srv = make_server("--max-body", "1024")
    doc = json.dumps({"scenarios": [{"name": "too-big", "extends": "success"}]}).encode()
    # Chunked: the first chunk alone is a valid document; before, it was loaded (200).
    status, _, out = raw_http(srv, "POST", "/_sagemock/fixtures",
                              [("Content-Type", "application/json")],
                              chunks=[doc, b" " * 1000, b" " * 1000])
    assert status == 413, out
    assert b"--max-body" in out
    names = [s["name"] for s in srv.admin("GET", "/_sagemock/scenarios")[1]["scenarios"]]
    assert "too-big" not in names
    # Announced by Content-Length: 413 at once (before: 400).
    status, _, out = raw_http(srv, "POST", "/_sagemock/faults",
                              [("Content-Type", "application/json")], b" " * 2000)
    assert status == 413, out
    # Under the limit, as before.
    assert srv.admin("POST", "/_sagemock/fixtures", doc)[0] == 200


# ------------------------------------------------------------------ 9. the clock's last second
LAST = 253402300799  # 9999-12-31T23:59:59Z


def test_the_clock_stops_at_the_last_second_clients_can_parse(server, sm):
    """Before: advances of 2^50 ms were allowed again and again until int64 overflowed (200,
    the clock stuck, the bad value saved); one advance of 10,000 years made boto3's
    list_training_jobs fail with 'year 12027 is out of range'."""
    server.reset()
    name = unique_name("late")
    sm.create_training_job(**job_request(name))
    for body in ({"advance": 10000 * 365.25 * 86400}, {"advance": 2 ** 50 / 1000},
                 {"set": LAST + 1}, {"set": 1e300}):
        status, out, raw = server.admin("POST", "/_sagemock/clock", body)
        assert status == 400, (body, raw)
        assert "9999-12-31T23:59:59Z" in out["error"], out
    assert server.now() < 4102444800  # still this century
    # Up to the last second is fine, and every client can still read the times.
    server.set_clock(LAST - 1)
    sm.list_training_jobs()
    sm.describe_training_job(TrainingJobName=name)
    status, out, _ = server.admin("POST", "/_sagemock/clock", {"advance": 2})
    assert status == 400 and "9999-12-31T23:59:59Z" in out["error"]
    # A fast clock runs into the end and stays there.
    server.set_rate(1000000)
    time.sleep(0.3)
    assert server.now() == LAST
    sm.list_training_jobs()
    server.set_rate(1)


# ------------------------------------------------------------------ 10. log injection
def test_control_characters_are_escaped_in_text_log_lines(make_server):
    srv = make_server()
    name = "x\nFORGED 2026-01-01T00:00:00.000Z info req=0 SageMaker.Stop status=200\x1b[31m"
    resp = raw_call(srv.url, "DescribeTrainingJob", {"TrainingJobName": name})
    assert resp.status == 400
    text = srv.stderr_text()
    lines = [line for line in text.splitlines() if "FORGED" in line]
    assert len(lines) == 1 and lines[0].split(" ")[2].startswith("req="), lines
    assert "\x1b" not in text and "\\x1b[31m" in lines[0] and "\\nFORGED" in lines[0]


def test_json_log_lines_stay_valid_json_of_valid_utf8(make_server):
    srv = make_server("--log-format", "json")
    raw_call(srv.url, "DescribeTrainingJob", {"TrainingJobName": "a\nb\x1b[2J\u0085c"})
    raw_http(srv, "POST", "/", [("Content-Type", JSON_CT), ("X-Amz-Target", b"Sage\xffMaker.X\x1b")],
             b"{}")
    raw = srv.stderr_path.read_bytes()
    for line in raw.decode("utf-8").splitlines():  # strict UTF-8
        rec = json.loads(line)
        assert "\x1b" not in line and "\u0085" not in line, line
        assert rec["level"]
    assert b'"job":"a\\nb\\u001b[2J\\u0085c"' in raw
