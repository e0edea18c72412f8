"""Injected API faults and what boto3's retry modes do with them (spec §1.6, issue 3).

botocore legacy mode makes 5 attempts and retries a 400 ThrottlingException and any 500/503;
standard mode makes 3 and retries the same. A fault answering N times makes the call succeed
when N is below the number of attempts, and surfaces the error when it is not.

Retry back-off sleeps are recorded, not slept (botocore.endpoint's `time` is replaced for the
test), so these tests take no real time. The boto3 clients here are not attached to the
conformance checker, which counts every 5xx as a server failure.
"""

import json
import time
import types

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import ACCESS_KEY, SECRET_KEY, arn_for, job_request, unique_name

ATTEMPTS = {"legacy": 5, "standard": 3}
STATUS = {"ThrottlingException": 400, "InternalFailure": 500, "ServiceUnavailable": 503}
MESSAGE = {
    "ThrottlingException": "Rate exceeded",
    "InternalFailure": ("The request processing has failed because of an unknown error, "
                        "exception or failure."),
    "ServiceUnavailable": "The service is unavailable. Please try again later.",
}


@pytest.fixture
def sleeps(monkeypatch):
    """Record botocore's retry back-off instead of sleeping it."""
    slept = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=slept.append))
    return slept


SESSION = boto3.session.Session()  # one session: its loader caches the service model


def client(server, mode=None):
    retries = {"mode": mode} if mode else {"mode": "standard", "total_max_attempts": 1}
    return SESSION.client(
        "sagemaker", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(retries=retries, connect_timeout=5, read_timeout=70))


def add_faults(server, *faults):
    status, body, raw = server.admin("POST", "/_sagemock/faults", {"faults": list(faults)})
    assert status == 200, raw
    return body["faults"]


def faults(server):
    status, body, _ = server.admin("GET", "/_sagemock/faults")
    assert status == 200
    return body["faults"]


@pytest.fixture
def clean(server):
    server.admin("DELETE", "/_sagemock/faults")
    yield server
    server.admin("DELETE", "/_sagemock/faults")


@pytest.fixture(scope="module")
def job(server, sm):
    name = unique_name("faulty")
    sm.create_training_job(**job_request(name))
    return name


@pytest.mark.parametrize("mode", ["legacy", "standard"])
@pytest.mark.parametrize("error", ["ThrottlingException", "InternalFailure"])
@pytest.mark.parametrize("extra", [-1, 0])
def test_boto3_retries_through_fewer_faults_than_attempts_and_surfaces_the_rest(
        clean, job, sleeps, mode, error, extra):
    """count = attempts - 1: the last attempt succeeds; count = attempts: the error surfaces."""
    n = ATTEMPTS[mode] + extra
    add_faults(clean, {"operation": "DescribeTrainingJob", "error": error, "count": n})
    c = client(clean, mode)
    if extra < 0:
        out = c.describe_training_job(TrainingJobName=job)
        assert out["TrainingJobName"] == job
        assert out["ResponseMetadata"]["RetryAttempts"] == n
    else:
        with pytest.raises(ClientError) as e:
            c.describe_training_job(TrainingJobName=job)
        r = e.value.response
        assert r["Error"]["Code"] == error
        assert r["Error"]["Message"] == MESSAGE[error]
        assert r["ResponseMetadata"]["HTTPStatusCode"] == STATUS[error]
        assert r["ResponseMetadata"]["RetryAttempts"] == n - 1
        assert r["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert len(sleeps) == (n if extra < 0 else n - 1)
    (f,) = faults(clean)
    assert (f["hits"], f["count"]) == (n, 0)


@pytest.mark.parametrize("mode", ["legacy", "standard"])
def test_service_unavailable_is_retried_too(clean, job, sleeps, mode):
    add_faults(clean, {"operation": "DescribeTrainingJob", "error": "ServiceUnavailable",
                       "count": 2})
    out = client(clean, mode).describe_training_job(TrainingJobName=job)
    assert out["ResponseMetadata"]["RetryAttempts"] == 2


def test_fault_responses_on_the_wire(clean, job):
    add_faults(clean, *[{"operation": "DescribeTrainingJob", "error": e, "count": 1}
                        for e in STATUS])
    for error, status in STATUS.items():
        r = clean.raw("DescribeTrainingJob", {"TrainingJobName": job}, check=False)
        assert (r.status, r.error_code, r.message) == (status, error, MESSAGE[error])
        assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
        assert r.headers.get("x-amzn-RequestId")
    r = clean.raw("DescribeTrainingJob", {"TrainingJobName": job})
    assert r.status == 200


def test_a_throttled_create_creates_nothing_and_the_retry_creates_it_once(clean, sm, sleeps):
    add_faults(clean, {"operation": "CreateTrainingJob", "error": "ThrottlingException",
                       "count": 2})
    name = unique_name("created-once")
    c = client(clean, "standard")
    out = c.create_training_job(**job_request(name))
    assert out["ResponseMetadata"]["RetryAttempts"] == 2
    status, body, _ = clean.admin("GET", "/_sagemock/jobs")
    assert [j["name"] for j in body["jobs"]].count(name) == 1


def test_faults_come_before_validation(clean):
    add_faults(clean, {"operation": "CreateTrainingJob", "error": "ThrottlingException",
                       "count": 1})
    r = clean.raw("CreateTrainingJob", {"TrainingJobName": "not valid!"}, check=False)
    assert (r.status, r.error_code) == (400, "ThrottlingException")
    r = clean.raw("CreateTrainingJob", {"TrainingJobName": "not valid!"})
    assert (r.status, r.error_code) == (400, "ValidationException")


def test_job_name_glob_selects_the_jobs(clean, sm):
    flaky, steady = unique_name("flaky"), unique_name("steady")
    for n in (flaky, steady):
        sm.create_training_job(**job_request(n))
    add_faults(clean, {"operation": "*", "jobName": "flaky-*", "error": "InternalFailure"})
    c = client(clean)
    assert c.describe_training_job(TrainingJobName=steady)["TrainingJobName"] == steady
    with pytest.raises(ClientError) as e:
        c.describe_training_job(TrainingJobName=flaky)
    assert e.value.response["Error"]["Code"] == "InternalFailure"
    # the name of a ResourceArn counts too
    with pytest.raises(ClientError):
        c.list_tags(ResourceArn=arn_for(flaky))
    c.list_tags(ResourceArn=arn_for(steady))
    # and an operation without a job name never matches a jobName fault
    c.list_training_jobs()
    (f,) = faults(clean)
    assert f["hits"] == 2 and "count" not in f


def test_operation_star_matches_every_operation(clean, job):
    add_faults(clean, {"operation": "*", "error": "ThrottlingException", "count": 3})
    c = client(clean)
    for call in (lambda: c.list_training_jobs(),
                 lambda: c.describe_training_job(TrainingJobName=job),
                 lambda: c.list_tags(ResourceArn=arn_for(job))):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ThrottlingException"
    c.list_training_jobs()


def test_latency(clean, job):
    add_faults(clean, {"operation": "DescribeTrainingJob", "latencyMs": 500})
    c = client(clean)
    t0 = time.monotonic()
    c.describe_training_job(TrainingJobName=job)
    assert time.monotonic() - t0 >= 0.5
    t0 = time.monotonic()
    c.list_training_jobs()  # another operation: no latency
    assert time.monotonic() - t0 < 0.5
    (f,) = faults(clean)
    assert f["latencyMs"] == 500 and "error" not in f


def test_latency_and_error_together(clean, job):
    add_faults(clean, {"operation": "DescribeTrainingJob", "latencyMs": 200,
                       "error": "ThrottlingException", "count": 1})
    c = client(clean)
    t0 = time.monotonic()
    with pytest.raises(ClientError):
        c.describe_training_job(TrainingJobName=job)
    assert time.monotonic() - t0 >= 0.2
    t0 = time.monotonic()
    c.describe_training_job(TrainingJobName=job)  # count spent; the latency stays
    assert time.monotonic() - t0 >= 0.2


def test_probability_fires_some_of_the_time_and_repeats_after_a_clear(clean, job):
    fault = {"operation": "DescribeTrainingJob", "error": "ThrottlingException",
             "probability": 0.5}

    def pattern():
        add_faults(clean, fault)
        out = "".join("T" if clean.raw("DescribeTrainingJob", {"TrainingJobName": job},
                                       check=False).status == 400 else "."
                      for _ in range(40))
        (f,) = faults(clean)
        assert f["hits"] == out.count("T")
        clean.admin("DELETE", "/_sagemock/faults")
        return out

    first = pattern()
    assert 8 <= first.count("T") <= 32, first
    assert pattern() == first  # DELETE re-seeds the generator: a run is repeatable


def test_probability_with_a_count_stops_after_count_hits(clean, job):
    add_faults(clean, {"operation": "DescribeTrainingJob", "error": "InternalFailure",
                       "probability": 0.5, "count": 3})
    statuses = [clean.raw("DescribeTrainingJob", {"TrainingJobName": job}, check=False).status
                for _ in range(60)]
    assert statuses.count(500) == 3
    (f,) = faults(clean)
    assert (f["hits"], f["count"]) == (3, 0)


def test_first_matching_error_fault_answers(clean, job):
    add_faults(clean,
               {"operation": "DescribeTrainingJob", "error": "InternalFailure", "count": 1},
               {"operation": "*", "error": "ThrottlingException", "count": 1})
    codes = [clean.raw("DescribeTrainingJob", {"TrainingJobName": job}, check=False).error_code
             or None for _ in range(3)]
    assert codes == ["InternalFailure", "ThrottlingException", None]


def test_admin_faults_list_add_and_clear(clean):
    one = {"operation": "ListTags", "error": "ServiceUnavailable", "count": 2}
    status, body, raw = clean.admin("POST", "/_sagemock/faults", one)
    assert status == 200, raw
    (f,) = body["faults"]
    assert f == dict(one, service="sagemaker", id=f["id"], probability=1, latencyMs=0, hits=0)
    more = add_faults(clean, {"operation": "StopTrainingJob", "latencyMs": 5})
    assert [x["operation"] for x in more] == ["ListTags", "StopTrainingJob"]
    assert more[1]["id"] > more[0]["id"]
    status, body, _ = clean.admin("DELETE", "/_sagemock/faults")
    assert status == 200 and body == {"faults": []}


@pytest.mark.parametrize("body, reason", [
    ({"operation": "Nope", "error": "ThrottlingException"}, "not an operation sagemock serves"),
    ({"operation": "*", "error": "ThrottlingException", "count": 1.5}, "whole number"),
    ({"faults": [{"operation": "*", "latencyMs": 1}, {"operation": "*", "probability": 0.5}]},
     "faults[1]."),
    ({"faults": {}}, "must be an array"),
    ([1], "the body must be a fault object"),
])
def test_a_bad_fault_is_refused_and_adds_nothing(clean, body, reason):
    add_faults(clean, {"operation": "ListTags", "latencyMs": 1})
    before = faults(clean)
    status, out, raw = clean.admin("POST", "/_sagemock/faults", body)
    assert status == 400, raw
    assert reason in out["error"]
    assert faults(clean) == before


def test_faults_from_a_fixture_file_load_at_start_and_come_back_on_reset(tmp_path, make_server,
                                                                           sleeps):
    f = tmp_path / "faults.json"
    f.write_text(json.dumps({"faults": [
        {"operation": "ListTrainingJobs", "error": "ThrottlingException", "count": 2}]}))
    srv = make_server("--fixtures", str(f))
    c = client(srv, "legacy")
    assert c.list_training_jobs()["ResponseMetadata"]["RetryAttempts"] == 2
    assert faults(srv)[0]["count"] == 0
    add_faults(srv, {"operation": "DescribeTrainingJob", "error": "InternalFailure"})
    assert srv.reset() == {"status": "ok"}
    (back,) = faults(srv)  # the run-time fault is gone, the start-up one is whole again
    assert (back["operation"], back["count"], back["hits"]) == ("ListTrainingJobs", 2, 0)
    assert c.list_training_jobs()["ResponseMetadata"]["RetryAttempts"] == 2


def test_faults_in_a_posted_fixture_document(clean, sleeps):
    status, body, raw = clean.admin("POST", "/_sagemock/fixtures", {"faults": [
        {"operation": "ListTrainingJobs", "error": "InternalFailure", "count": 1}]})
    assert status == 200 and body["faults"] == 1, raw
    out = client(clean, "standard").list_training_jobs()
    assert out["ResponseMetadata"]["RetryAttempts"] == 1
