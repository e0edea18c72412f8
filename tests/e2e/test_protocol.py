"""The awsJson1.1 wire protocol: headers, unknown targets, serialization errors, the body cap,
keep-alive and the region partition."""

import http.client
import json
import socket
import time
import urllib.parse
import uuid

import pytest
from botocore.exceptions import ClientError

from helpers import JSON_CT, arn_for, describe_raw, error_of, job_request, raw_call, unique_name


def host_port(server):
    u = urllib.parse.urlsplit(server.url)
    return u.hostname, u.port


# ---------------------------------------------------------------------------------- headers
def assert_common_headers(r):
    rid = r.headers.get("x-amzn-RequestId")
    assert rid, r.headers
    uuid.UUID(rid)
    assert r.headers.get("Date")
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == JSON_CT
    return rid


def test_success_and_error_responses_carry_request_id_date_and_content_type(server, sm):
    name = unique_name("hdr")
    ok = server.raw("CreateTrainingJob", job_request(name))
    assert ok.status == 200, ok
    assert ok.json == {"TrainingJobArn": arn_for(name)}
    bad = server.raw("DescribeTrainingJob", {"TrainingJobName": unique_name("missing")})
    assert bad.status == 400
    ids = {assert_common_headers(ok), assert_common_headers(bad)}
    ids.add(assert_common_headers(server.raw("DescribeTrainingJob", {"TrainingJobName": name})))
    assert len(ids) == 3, "request ids are unique"
    assert int(ok.headers["Content-Length"]) == len(ok.body)


def test_boto3_sees_the_request_id(sm):
    out = sm.list_training_jobs(MaxResults=1)
    uuid.UUID(out["ResponseMetadata"]["RequestId"])
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=unique_name("missing"))
    uuid.UUID(e.value.response["ResponseMetadata"]["RequestId"])


def test_operations_without_output_answer_an_empty_body(server, sm, paused):
    """StopTrainingJob and DeleteTrainingJob have no output shape: "the service sends back an
    HTTP 200 response with an empty HTTP body" (API reference). DeleteTags has an empty output
    structure: {}. boto3 and the JS SDK accept both forms (spec §1.2)."""
    name = unique_name("stopbody")
    sm.create_training_job(**job_request(name, Tags=[{"Key": "k", "Value": "v"}]))
    r = server.raw("StopTrainingJob", {"TrainingJobName": name})
    assert (r.status, r.body) == (200, b""), r
    assert assert_common_headers(r) and r.headers["Content-Length"] == "0"
    server.advance(5)
    arn = arn_for(name)
    r = server.raw("DeleteTags", {"ResourceArn": arn, "TagKeys": ["k"]})
    assert (r.status, r.body) == (200, b"{}"), r
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": name})
    assert (r.status, r.body) == (200, b""), r
    # and boto3 reads an empty body as an empty result
    other = unique_name("stopbody")
    sm.create_training_job(**job_request(other))
    out = sm.stop_training_job(TrainingJobName=other)
    assert set(out) == {"ResponseMetadata"}


def test_timestamps_are_json_numbers(server, sm):
    name = unique_name("ts")
    sm.create_training_job(**job_request(name))
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": name})
    for k in ("CreationTime", "LastModifiedTime"):
        assert isinstance(r.json[k], (int, float)) and not isinstance(r.json[k], bool)
    assert b'"CreationTime":"' not in r.body.replace(b" ", b"")
    assert abs(r.json["CreationTime"] - server.now()) < 60


# ---------------------------------------------------------------------------------- errors
def test_modeled_errors_carry_message_and_Message(server, sm):
    """The SageMaker error shapes name their member "Message": botocore, the JS SDK and
    amazonka read "message" first, the Go SDK v2 only the modeled "Message" (spec §1.4); both
    hold the same text. Unmodeled codes carry "message" alone."""
    name = unique_name("dup")
    sm.create_training_job(**job_request(name))
    r = server.raw("CreateTrainingJob", job_request(name))
    assert (r.status, r.error_code) == (400, "ResourceInUse"), r
    assert r.json["message"] == r.json["Message"]
    assert r.json["message"].startswith("Training job names must be unique")
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": name})  # InProgress
    assert (r.status, r.error_code) == (400, "ResourceInUse"), r
    assert r.json["message"] == r.json["Message"]
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": unique_name("ghost")})
    assert (r.status, r.error_code) == (400, "ResourceNotFound"), r
    assert r.json == {"__type": "ResourceNotFound", "message": "Requested resource not found.",
                      "Message": "Requested resource not found."}
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": unique_name("ghost")})
    assert r.json == {"__type": "ValidationException", "message": "Requested resource not found."}
    # the typed exception of boto3 reads the same text
    with pytest.raises(sm.exceptions.ResourceInUse) as e:
        sm.create_training_job(**job_request(name))
    assert error_of(e)[1].startswith("Training job names must be unique")


def test_cloudwatch_logs_errors_keep_their_lower_case_message(server):
    r = raw_call(server.url, "Logs_20140328.GetLogEvents",
                 {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamName": "no/such"},
                 check=False)
    assert (r.status, r.error_code) == (400, "ResourceNotFoundException"), r
    assert set(r.json) == {"__type", "message"}


def test_unknown_target_is_unknown_operation(server):
    r = server.raw("ListModels", {})
    assert (r.status, r.error_code) == (400, "UnknownOperationException"), r


def test_unknown_target_prefix_is_unknown_operation(server):
    r = server.raw("Foo.DescribeTrainingJob", {"TrainingJobName": "x"})
    assert (r.status, r.error_code) == (400, "UnknownOperationException"), r


def test_boto3_operation_outside_the_emulated_set_is_unknown_operation(sm):
    with pytest.raises(ClientError) as e:
        sm.list_models()
    assert error_of(e)[:1] == ("UnknownOperationException",)
    assert error_of(e)[2] == 400


@pytest.mark.parametrize("body", [b"this is not json", b"{", b"{\"TrainingJobName\": }", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_a_serialization_exception(server, body):
    r = server.raw("DescribeTrainingJob", body)
    assert (r.status, r.error_code) == (400, "SerializationException"), r


@pytest.mark.parametrize("target,body", [
    ("ListTrainingJobs", {"MaxResults": "ten"}),
    ("ListTrainingJobs", {"SortBy": 5}),
    ("ListTrainingJobs", {"CreationTimeAfter": "yesterday"}),
    ("DescribeTrainingJob", {"TrainingJobName": ["a"]}),
    ("DescribeTrainingJob", []),
    ("CreateTrainingJob", {"TrainingJobName": "x", "EnableNetworkIsolation": "yes"}),
    ("CreateTrainingJob", {"TrainingJobName": "x", "Tags": {"Key": "k"}}),
])
def test_a_member_of_the_wrong_json_type_is_a_serialization_exception(server, target, body):
    r = server.raw(target, body)
    assert (r.status, r.error_code) == (400, "SerializationException"), r


def test_an_empty_body_on_list_is_accepted(server):
    r = server.raw("ListTrainingJobs", b"")
    assert r.status in (200, 400), r  # some SDKs send no body; never a 5xx
    r = server.raw("ListTrainingJobs", {})
    assert r.status == 200 and "TrainingJobSummaries" in r.json


def test_unsigned_requests_use_the_default_region(server):
    name = unique_name("unsigned")
    r = server.raw("CreateTrainingJob", job_request(name), sign=False)
    assert r.status == 200, r
    assert r.json["TrainingJobArn"] == arn_for(name, region="us-east-1")


def test_unsigned_requests_use_the_region_flag(make_server):
    srv = make_server("--region", "eu-west-1")
    name = unique_name("flagregion")
    r = srv.raw("CreateTrainingJob", job_request(name), sign=False)
    assert r.json["TrainingJobArn"] == arn_for(name, region="eu-west-1")
    # and a signed us-east-1 client does not see it
    with pytest.raises(ClientError):
        srv.client(region="us-east-1").describe_training_job(TrainingJobName=name)
    assert srv.client(region="eu-west-1").describe_training_job(TrainingJobName=name)


# ---------------------------------------------------------------------------------- size cap
def test_a_20_mb_body_is_refused_promptly(server):
    host, port = host_port(server)
    size = 20 * 1024 * 1024
    t0 = time.monotonic()
    s = socket.create_connection((host, port), timeout=10)
    try:
        head = (f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"X-Amz-Target: SageMaker.CreateTrainingJob\r\nContent-Type: {JSON_CT}\r\n"
                f"Content-Length: {size}\r\n\r\n").encode()
        s.sendall(head)
        chunk = b'{"TrainingJobName": "' + b"a" * (1024 * 1024)
        sent = 0
        s.settimeout(2)  # a server that stops reading must not make us hang
        try:
            while sent < size and time.monotonic() - t0 < 8:
                n = s.send(chunk[: min(len(chunk), size - sent)])
                sent += n
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the server may answer and close before reading it all
        s.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                more = s.recv(65536)
                if not more:
                    break
                data += more
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    assert data.startswith(b"HTTP/1."), f"no HTTP answer to a 20 MB body (got {data[:200]!r})"
    status = int(data.split(b" ", 2)[1])
    assert 400 <= status < 500, data[:300]
    assert elapsed < 10, f"took {elapsed:.1f} s"
    # and the server is still fine
    assert server.health()["status"] == "ok"


# ---------------------------------------------------------------------------------- keep-alive
def test_keep_alive_one_connection_serves_many_requests(server, sm):
    host, port = host_port(server)
    name = unique_name("keepalive")
    sm.create_training_job(**job_request(name))
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.connect()
        sock = conn.sock
        for i in range(20):
            target = "DescribeTrainingJob" if i % 2 == 0 else "ListTrainingJobs"
            body = {"TrainingJobName": name} if i % 2 == 0 else {"MaxResults": 1}
            r = raw_call(server.url, target, body, conn=conn)
            assert r.status == 200, r
            assert (r.headers.get("Connection") or "").lower() != "close"
            assert conn.sock is sock, f"connection was not kept alive (request {i})"
        # errors keep the connection too
        r = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": unique_name("x")}, conn=conn)
        assert r.status == 400
        r = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name}, conn=conn)
        assert r.status == 200 and conn.sock is sock
    finally:
        conn.close()


def test_keep_alive_with_a_requests_session(server, sm):
    import requests
    name = unique_name("reqs")
    sm.create_training_job(**job_request(name))
    connections = []
    with requests.Session() as s:
        for _ in range(5):
            resp = s.post(server.url + "/", data=json.dumps({"TrainingJobName": name}),
                          headers={"X-Amz-Target": "SageMaker.DescribeTrainingJob",
                                   "Content-Type": JSON_CT}, timeout=10)
            assert resp.status_code == 200
            assert resp.json()["TrainingJobName"] == name
            pool = s.get_adapter(server.url).poolmanager.connection_from_url(server.url)
            connections.append(pool.num_connections)
    assert connections[-1] == 1, f"requests opened {connections[-1]} connections for 5 calls"


def test_many_sequential_boto3_calls(sm):
    """boto3 reuses its pooled connection; 200 quick calls must all succeed."""
    for _ in range(200):
        sm.list_training_jobs(MaxResults=1)


# ---------------------------------------------------------------------------------- regions
def test_jobs_are_partitioned_by_the_signing_region(server, sm):
    west = server.client(region="us-west-2")
    name = unique_name("west")
    arn = west.create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn == arn_for(name, region="us-west-2")
    assert describe_raw(west, name)["TrainingJobArn"] == arn
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException", "Requested resource not found.", 400)
    east = sm.get_paginator("list_training_jobs").paginate(NameContains=name).build_full_result()
    assert east["TrainingJobSummaries"] == []
    west_list = west.get_paginator("list_training_jobs").paginate(NameContains=name).build_full_result()
    assert [s["TrainingJobArn"] for s in west_list["TrainingJobSummaries"]] == [arn]
    # the same name is free in the other region
    assert sm.create_training_job(**job_request(name))["TrainingJobArn"] == arn_for(name)


def test_signed_raw_calls_pick_the_region_from_the_credential_scope(server):
    name = unique_name("scope")
    r = server.raw("CreateTrainingJob", job_request(name), region="ap-northeast-1")
    assert r.json["TrainingJobArn"] == arn_for(name, region="ap-northeast-1")
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": name}, region="ap-northeast-1")
    assert r.status == 200
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": name}, region="us-east-1")
    assert (r.status, r.error_code) == (400, "ValidationException")
