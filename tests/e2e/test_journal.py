"""The request journal: GET /_sagemock/requests (issue 8).

Every SageMaker API call is recorded (wall and simulated time, operation, job name, region, HTTP
status, error code, latency, request id, the body cut at 4096 bytes) in a ring of
--journal-size entries, newest first, filtered by operation, job, status (a code, or 4 / 5 for
a class) and since (epoch seconds), with a limit (default 100). Reset clears it; admin calls
are not recorded; headers never are, so no Authorization header, signature, session token or
secret ever is, even with --auth sigv4.

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_journal.py   (SAGEMOCK_BIN overrides the binary)
"""

import json
import time
import urllib.parse
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance import CHECKER
from helpers import job_request, ms, raw_call, unique_name

BODY_MAX = 4096


def journal(srv, **filters):
    """GET /_sagemock/requests with these filters; the whole answer."""
    q = urllib.parse.urlencode(filters)
    status, out, raw = srv.admin("GET", "/_sagemock/requests" + (f"?{q}" if q else ""))
    assert status == 200, raw
    return out


def entries(srv, **filters):
    return journal(srv, **filters)["requests"]


@pytest.fixture
def fresh(server):
    """The module server, reset (empty journal), its clock paused on a whole second."""
    server.reset()
    server.pause_at_whole_second()
    yield server
    server.set_rate(1)


def request_id(resp_or_error):
    meta = resp_or_error.response if isinstance(resp_or_error, ClientError) else resp_or_error
    return meta["ResponseMetadata"]["RequestId"]


# ------------------------------------------------------------------------------ recording
def test_every_call_is_recorded_newest_first_with_its_fields(fresh, sm):
    name = unique_name("jr")
    t_wall = time.time()
    created = sm.create_training_job(**job_request(name))
    described = sm.describe_training_job(TrainingJobName=name)
    with pytest.raises(ClientError) as missing:
        sm.describe_training_job(TrainingJobName=name + "-missing")
    stopped = sm.stop_training_job(TrainingJobName=name)
    sim_now = fresh.now()

    out = journal(fresh)
    got = out["requests"]
    assert [e["operation"] for e in got] == ["StopTrainingJob", "DescribeTrainingJob",
                                             "DescribeTrainingJob", "CreateTrainingJob"]
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 4
    assert out["capacity"] == 1000 and out["total"] >= 4
    assert [e["trainingJobName"] for e in got] == [name, name + "-missing", name, name]
    assert [e["status"] for e in got] == [200, 400, 200, 200]
    assert [e.get("errorCode") for e in got] == [None, "ValidationException", None, None]
    assert [e["requestId"] for e in got] == [request_id(stopped), request_id(missing.value),
                                             request_id(described), request_id(created)]
    for e in got:
        assert e["region"] == "us-east-1"
        assert ms(e["simulatedTime"]) == ms(sim_now), "the clock is paused: one simulated time"
        assert t_wall - 1 <= e["time"] <= time.time() + 1, "wall time, not simulated"
        assert isinstance(e["latencyMs"], (int, float)) and 0 <= e["latencyMs"] < 10_000
        assert "bodyTruncated" not in e
    # The body is what the SDK sent.
    assert json.loads(got[0]["body"]) == {"TrainingJobName": name}
    sent = json.loads(got[3]["body"])
    assert sent["TrainingJobName"] == name
    assert sent["ResourceConfig"] == job_request(name)["ResourceConfig"]


def test_the_simulated_time_is_the_request_time_on_the_clock(fresh, sm):
    t0 = fresh.now()
    sm.list_training_jobs()
    fresh.advance(3600)
    sm.list_training_jobs()
    new, old = entries(fresh)
    assert ms(old["simulatedTime"]) == ms(t0)
    assert ms(new["simulatedTime"]) == ms(t0) + 3_600_000
    assert abs(new["time"] - old["time"]) < 5, "the wall clock did not jump"
    assert "trainingJobName" not in new, "ListTrainingJobs names no job"


def test_the_region_is_the_clients(fresh):
    west = fresh.client(region="us-west-2")
    west.list_training_jobs()
    raw_call(fresh.url, "ListTrainingJobs", {}, sign=False)  # unsigned: the --region default
    unsigned, signed = entries(fresh)
    assert signed["region"] == "us-west-2"
    assert unsigned["region"] == "us-east-1"


def test_refused_and_unknown_calls_are_recorded_too(fresh):
    raw_call(fresh.url, "DescribeTrainingJob", "{not json", check=False)
    raw_call(fresh.url, "NoSuchOperation", {}, check=False)
    raw_call(fresh.url, "CreateTrainingJob", {"TrainingJobName": "x"})  # fails validation
    create, unknown, bad_json = entries(fresh)
    assert (bad_json["operation"], bad_json["status"], bad_json["errorCode"]) == \
        ("DescribeTrainingJob", 400, "SerializationException")
    assert bad_json["body"] == "{not json"
    assert (unknown["service"], unknown["operation"], unknown["status"], unknown["errorCode"]) \
        == ("sagemaker", "SageMaker.NoSuchOperation", 400, "UnknownOperationException")
    assert (create["operation"], create["status"], create["errorCode"]) == \
        ("CreateTrainingJob", 400, "ValidationException")


def test_admin_calls_are_not_recorded(fresh):
    for path in ("/_sagemock/clock", "/_sagemock/jobs", "/_sagemock/requests",
                 "/_sagemock/scenarios", "/_sagemock/ui"):
        fresh.admin("GET", path)
    fresh.advance(1)
    assert entries(fresh) == []


# ------------------------------------------------------------------------------ filters
@pytest.fixture
def mixed(fresh, sm):
    """A journal of known calls: two jobs, a refused stop, a throttled describe, a 500."""
    a, b = unique_name("fa"), unique_name("fb")
    sm.create_training_job(**job_request(a))
    sm.create_training_job(**job_request(b))
    sm.describe_training_job(TrainingJobName=a)
    fresh.advance(60)  # both Completed
    with pytest.raises(ClientError):
        sm.stop_training_job(TrainingJobName=a)
    fresh.admin("POST", "/_sagemock/faults",
                {"faults": [{"operation": "DescribeTrainingJob", "jobName": b,
                             "error": "ThrottlingException", "count": 1},
                            {"operation": "ListTrainingJobs", "error": "InternalFailure",
                             "count": 1}]})
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName=b)
    # An injected 500 by hand: the conformance checker counts every 5xx of a client as a failure.
    assert raw_call(fresh.url, "ListTrainingJobs", {}, check=False).status == 500
    sm.describe_training_job(TrainingJobName=b)
    yield fresh, a, b
    fresh.admin("DELETE", "/_sagemock/faults")


def ops(es):
    return [(e["operation"], e.get("trainingJobName"), e["status"]) for e in es]


def test_filter_by_operation(mixed):
    srv, a, b = mixed
    assert ops(entries(srv, operation="DescribeTrainingJob")) == [
        ("DescribeTrainingJob", b, 200), ("DescribeTrainingJob", b, 400),
        ("DescribeTrainingJob", a, 200)]
    assert ops(entries(srv, operation="StopTrainingJob")) == [("StopTrainingJob", a, 400)]
    assert entries(srv, operation="DeleteTrainingJob") == []
    assert entries(srv, operation="describetrainingjob") == [], "names are exact"


def test_filter_by_job(mixed):
    srv, a, b = mixed
    assert ops(entries(srv, job=a)) == [("StopTrainingJob", a, 400),
                                        ("DescribeTrainingJob", a, 200),
                                        ("CreateTrainingJob", a, 200)]
    assert len(entries(srv, job=b)) == 3
    assert entries(srv, job=a[:-1]) == [], "an exact name, not a prefix"


def test_filter_by_status_code_and_class(mixed):
    srv, a, b = mixed
    assert ops(entries(srv, status=500)) == [("ListTrainingJobs", None, 500)]
    assert entries(srv, status=500)[0]["errorCode"] == "InternalFailure"
    four = entries(srv, status=4)
    assert ops(four) == [("DescribeTrainingJob", b, 400), ("StopTrainingJob", a, 400)]
    assert [e["errorCode"] for e in four] == ["ThrottlingException", "ValidationException"]
    assert ops(entries(srv, status=400)) == ops(four)
    assert len(entries(srv, status=5)) == 1
    assert len(entries(srv, status=200)) == 4
    assert entries(srv, status=404) == []


def test_filters_combine(mixed):
    srv, a, b = mixed
    assert ops(entries(srv, operation="DescribeTrainingJob", job=b, status=4)) == [
        ("DescribeTrainingJob", b, 400)]
    assert entries(srv, operation="StopTrainingJob", status=200) == []


def test_filter_since_takes_wall_seconds(fresh, sm):
    sm.list_training_jobs()
    time.sleep(0.3)
    cut = time.time()
    time.sleep(0.3)
    fresh.advance(10_000)  # the simulated clock does not matter to `since`
    sm.list_training_jobs()
    recent = entries(fresh, since=f"{cut:.3f}")
    assert len(recent) == 1 and recent[0]["time"] >= cut
    assert len(entries(fresh, since=0)) == 2
    assert entries(fresh, since=f"{time.time() + 60:.3f}") == []


def test_limit_and_its_default(fresh):
    for i in range(105):
        raw_call(fresh.url, "DescribeTrainingJob", {"TrainingJobName": f"lim-{i}"}, check=False)
    assert len(entries(fresh)) == 100, "default limit"
    two = entries(fresh, limit=2)
    assert [e["trainingJobName"] for e in two] == ["lim-104", "lim-103"], "the newest"
    assert len(entries(fresh, limit=1000)) == 105
    # The limit counts matching entries, not scanned ones.
    assert [e["trainingJobName"] for e in entries(fresh, job="lim-3", limit=1)] == ["lim-3"]


@pytest.mark.parametrize("query", ["status=abc", "status=3", "status=600", "status=", "since=-1",
                                   "since=soon", "limit=0", "limit=100001", "limit=ten"])
def test_bad_filter_values_are_refused(server, query):
    status, out, raw = server.admin("GET", f"/_sagemock/requests?{query}")
    assert status == 400, raw
    assert isinstance(out.get("error"), str) and out["error"]


# ------------------------------------------------------------------------------ bounds, reset
def test_a_small_ring_keeps_the_newest_calls(make_server):
    srv = make_server("--journal-size", "5")
    for i in range(8):
        raw_call(srv.url, "DescribeTrainingJob", {"TrainingJobName": f"ring-{i}"}, check=False)
    out = journal(srv, limit=100)
    assert out["capacity"] == 5
    assert out["total"] == 8
    assert [e["trainingJobName"] for e in out["requests"]] == [f"ring-{i}" for i in (7, 6, 5, 4, 3)]
    assert [e["seq"] for e in out["requests"]] == [8, 7, 6, 5, 4]
    # Filters see only what the ring still holds.
    assert entries(srv, job="ring-0") == []
    assert len(entries(srv, job="ring-3")) == 1


def test_journal_size_zero_records_nothing(make_server):
    srv = make_server("--journal-size", "0")
    raw_call(srv.url, "ListTrainingJobs", {})
    out = journal(srv)
    assert out["requests"] == [] and out["capacity"] == 0


def test_reset_clears_the_journal(fresh, sm):
    sm.list_training_jobs()
    sm.list_training_jobs()
    assert len(entries(fresh)) == 2
    fresh.reset()
    assert entries(fresh) == []
    sm.list_training_jobs()
    after = entries(fresh)
    assert len(after) == 1 and after[0]["operation"] == "ListTrainingJobs"


# ------------------------------------------------------------------------------ no secrets
KEY = "AKIAJOURNALTESTKEY"
SECRET = "journal/secret+Key/Q7"
SESSION_KEY = "ASIAJOURNALSESSION"
SESSION_SECRET = "journal/session+secret/Zx9"
SESSION_TOKEN = "FwoGZXIvYXdzJOURNAL//token+value="
CREDENTIALS = f"""[default]
aws_access_key_id = {KEY}
aws_secret_access_key = {SECRET}

[session]
aws_access_key_id = {SESSION_KEY}
aws_secret_access_key = {SESSION_SECRET}
aws_session_token = {SESSION_TOKEN}
"""


def sigv4_client(srv, key, secret, token=None):
    c = boto3.session.Session().client(
        "sagemaker", endpoint_url=srv.url, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    return CHECKER.attach(c)


def test_no_authorization_signature_token_or_secret_is_ever_stored(make_server, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(CREDENTIALS)
    srv = make_server("--auth", "sigv4", "--credentials", str(creds))
    name = unique_name("sec")
    ok = sigv4_client(srv, KEY, SECRET)
    ok.create_training_job(**job_request(name))
    ok.describe_training_job(TrainingJobName=name)
    with_token = sigv4_client(srv, SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
    with_token.describe_training_job(TrainingJobName=name)
    with pytest.raises(ClientError) as wrong:  # a wrong secret: refused, and still recorded
        sigv4_client(srv, KEY, "not-the-secret").describe_training_job(TrainingJobName=name)
    assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
    # Unsigned, with credentials-looking headers of every kind.
    raw_call(srv.url, "ListTrainingJobs", {}, sign=False, check=False, headers={
        "Authorization": "Bearer bearer-secret-value", "X-Amz-Security-Token": SESSION_TOKEN,
        "X-Sagemock-Admin-Token": "admin-secret-value", "Cookie": "session=cookie-secret"})

    status, out, raw = srv.admin("GET", "/_sagemock/requests?limit=100")
    assert status == 200
    got = out["requests"]
    assert [e["operation"] for e in got] == ["ListTrainingJobs", "DescribeTrainingJob",
                                             "DescribeTrainingJob", "DescribeTrainingJob",
                                             "CreateTrainingJob"]
    assert [e["status"] for e in got] == [400, 400, 200, 200, 200]
    assert [e.get("errorCode") for e in got[:2]] == ["MissingAuthenticationTokenException",
                                                     "InvalidSignatureException"]
    text = raw.decode()
    for secret in (SECRET, SESSION_SECRET, SESSION_TOKEN,
                   "not-the-secret", "bearer-secret-value", "admin-secret-value",
                   "cookie-secret", "AWS4-HMAC-SHA256", "Signature=", "Credential=",
                   "SignedHeaders", "X-Amz-Date", "Authorization", "Bearer"):
        assert secret not in text, f"{secret!r} is in the journal"
    assert KEY not in text and SESSION_KEY not in text, "not even the access key ids"
    # Only the listed members, whatever the call.
    allowed = {"seq", "time", "simulatedTime", "service", "operation", "trainingJobName", "region",
               "status", "errorCode", "latencyMs", "requestId", "body", "bodyTruncated"}
    for e in got:
        assert set(e) <= allowed, set(e) - allowed


# ------------------------------------------------------------------------------ bodies
def padded_body(size):
    """A valid DescribeTrainingJob body of exactly `size` bytes (JSON whitespace padding)."""
    head, tail = '{"TrainingJobName": "pad"', "}"
    body = head + " " * (size - len(head) - len(tail)) + tail
    assert len(body.encode()) == size
    return body


def test_a_body_up_to_the_limit_is_kept_whole(fresh):
    raw_call(fresh.url, "DescribeTrainingJob", padded_body(BODY_MAX), check=False)
    (e,) = entries(fresh)
    assert e["body"] == padded_body(BODY_MAX)
    assert "bodyTruncated" not in e


def test_a_longer_body_is_cut_at_the_limit_and_marked(fresh):
    raw_call(fresh.url, "DescribeTrainingJob", padded_body(BODY_MAX + 1), check=False)
    (e,) = entries(fresh)
    assert e["body"] == padded_body(BODY_MAX + 1)[:BODY_MAX]
    assert e["bodyTruncated"] is True


def test_a_large_create_is_recorded_cut(fresh, sm):
    name = unique_name("big")
    hp = {f"param_{i:02d}": "v" * 200 for i in range(40)}  # ~9 KB of HyperParameters
    sm.create_training_job(**job_request(name, HyperParameters=hp))
    (e,) = entries(fresh)
    assert e["status"] == 200 and e["trainingJobName"] == name
    assert len(e["body"].encode()) == BODY_MAX
    assert e["bodyTruncated"] is True
    assert sm.describe_training_job(TrainingJobName=name)["HyperParameters"] == hp, \
        "the journal cuts its copy only"


def test_a_cut_inside_a_utf8_character_keeps_the_answer_valid(fresh):
    body = '{"TrainingJobName": "utf", "x": "' + "é" * 3000 + '"}'
    raw_call(fresh.url, "DescribeTrainingJob", body, check=False)
    status, _, raw = fresh.admin("GET", "/_sagemock/requests")
    out = json.loads(raw.decode("utf-8"))  # strict: a broken sequence raises
    (e,) = out["requests"]
    assert e["bodyTruncated"] is True
    assert body.startswith(e["body"]) and len(e["body"].encode()) <= BODY_MAX


# ------------------------------------------------------------------------------ the README example
def test_readme_example_stop_called_once(fresh, sm):
    """The README's assertion: "my code called StopTrainingJob once for job X"."""
    base = fresh.url

    def journal_calls(**filters):
        q = urllib.parse.urlencode(filters)
        with urllib.request.urlopen(f"{base}/_sagemock/requests?{q}") as r:
            return json.load(r)["requests"]

    name = unique_name("cancel")
    sm.create_training_job(**job_request(name))
    sm.stop_training_job(TrainingJobName=name)  # the code under test
    sm.describe_training_job(TrainingJobName=name)

    stops = journal_calls(operation="StopTrainingJob", job=name)
    assert len(stops) == 1
    assert stops[0]["status"] == 200
