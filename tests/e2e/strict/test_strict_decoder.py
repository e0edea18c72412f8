"""The strict decoder and the recording proxy themselves: they must catch bad bodies (so they
cannot pass silently), accept good ones, and the proxy must be transparent.

Run: /usr/bin/python3 -m pytest -q tests/e2e/strict
"""

import copy
import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import conformance  # noqa: E402
from helpers import job_request, raw_call, unique_name  # noqa: E402
from recproxy import RecordingProxy  # noqa: E402
from strict_decoder import MODEL_PATH, StrictDecoder, decoder  # noqa: E402

GOOD_DESCRIBE = {
    "TrainingJobName": "good-job",
    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/good-job",
    "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/good-job/output/model.tar.gz"},
    "TrainingJobStatus": "Completed",
    "SecondaryStatus": "Completed",
    "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "HyperParameters": {"eta": "0.1"},
    "OutputDataConfig": {"S3OutputPath": "s3://b/out/", "KmsKeyId": "", "CompressionType": "GZIP"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "CreationTime": 1747419050.603,
    "TrainingStartTime": 1.747419053603E9,  # Java double notation, as Coral services write it
    "TrainingEndTime": 1747419060,
    "LastModifiedTime": 1747419060.5,
    "SecondaryStatusTransitions": [
        {"Status": "Starting", "StartTime": 1747419050.603, "EndTime": 1747419053.603,
         "StatusMessage": "Preparing the instances for training"},
        {"Status": "Completed", "StartTime": 1747419060, "EndTime": 1747419060,
         "StatusMessage": "Training job completed"}],
    "FinalMetricDataList": [{"MetricName": "loss", "Value": 0.25, "Timestamp": 1747419059}],
    "EnableNetworkIsolation": False,
    "TrainingTimeInSeconds": 7,
    "BillableTimeInSeconds": 7,
    "ProfilingStatus": "Disabled",
}

ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/"
GOOD_LIST = {"TrainingJobSummaries": [
    {"TrainingJobName": "a", "TrainingJobArn": ARN + "a", "CreationTime": 1747419050.603,
     "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting"},
    {"TrainingJobName": "b", "TrainingJobArn": ARN + "b", "CreationTime": 1747419040,
     "TrainingEndTime": 1747419050, "TrainingJobStatus": "Completed"}],
    "NextToken": "abc"}


@pytest.fixture(scope="module")
def dec():
    return StrictDecoder()


def enc(body):
    return json.dumps(body).encode()


def with_change(body, path, value=..., delete=False):
    """A deep copy of body with the member at path ("A.B[0].C") set to value or deleted."""
    out = copy.deepcopy(body)
    parts = []
    for part in path.replace("]", "").split("."):
        name, *idx = part.split("[")
        parts.append(name)
        parts.extend(int(i) for i in idx)
    cur = out
    for p in parts[:-1]:
        cur = cur[p]
    if delete:
        del cur[parts[-1]]
    else:
        cur[parts[-1]] = value
    return out


# ------------------------------------------------------------------------------ good bodies
def test_a_good_describe_decodes_into_typed_values(dec):
    value, errs = dec.decode_response("DescribeTrainingJob", 200, enc(GOOD_DESCRIBE))
    assert errs == []
    assert value["CreationTime"].isoformat(timespec="milliseconds") == \
        "2025-05-16T18:10:50.603+00:00"
    assert value["TrainingStartTime"].timestamp() == pytest.approx(1747419053.603)
    assert value["ResourceConfig"]["InstanceCount"] == 1
    assert value["FinalMetricDataList"][0]["Value"] == 0.25


@pytest.mark.parametrize("operation,body", [
    ("ListTrainingJobs", enc(GOOD_LIST)),
    ("ListTrainingJobs", enc({"TrainingJobSummaries": [], "NextToken": "t"})),
    ("StopTrainingJob", b""),
    ("StopTrainingJob", b"{}"),
    ("DeleteTrainingJob", b"{}"),
    ("DeleteTags", b"{}"),
    ("AddTags", enc({"Tags": [{"Key": "k", "Value": ""}]})),
    ("ListTags", enc({"Tags": []})),
    ("CreateTrainingJob", enc({"TrainingJobArn": ARN + "x"})),
])
def test_good_bodies_of_every_operation_decode(dec, operation, body):
    assert dec.decode_response(operation, 200, body)[1] == []


def test_good_error_bodies_decode(dec):
    value, errs = dec.decode_response(
        "DescribeTrainingJob", 400,
        enc({"__type": "ValidationException", "message": "Requested resource not found."}))
    assert errs == [] and value == ("ValidationException", "Requested resource not found.")
    value, errs = dec.decode_response(
        "CreateTrainingJob", 400,
        enc({"__type": "com.amazon.coral.service#ResourceInUse", "message": "m", "Message": "m"}))
    assert errs == [] and value[0] == "ResourceInUse"


# ------------------------------------------------------------------------------ bad bodies
D = GOOD_DESCRIBE
BAD = [
    # (id, operation, status, body bytes, expected path, expected words in the problem)
    ("missing-top-required", "DescribeTrainingJob", 200,
     enc(with_change(D, "TrainingJobStatus", delete=True)), "",
     "required member 'TrainingJobStatus'"),
    ("missing-nested-required", "DescribeTrainingJob", 200,
     enc(with_change(D, "AlgorithmSpecification.TrainingInputMode", delete=True)),
     "AlgorithmSpecification", "required member 'TrainingInputMode'"),
    ("missing-required-in-list", "DescribeTrainingJob", 200,
     enc(with_change(D, "SecondaryStatusTransitions[1].StartTime", delete=True)),
     "SecondaryStatusTransitions[1]", "required member 'StartTime'"),
    ("missing-required-in-summary", "ListTrainingJobs", 200,
     enc(with_change(GOOD_LIST, "TrainingJobSummaries[1].CreationTime", delete=True)),
     "TrainingJobSummaries[1]", "required member 'CreationTime'"),
    ("missing-list-member", "ListTrainingJobs", 200, enc({"NextToken": "x"}), "",
     "required member 'TrainingJobSummaries'"),
    ("null-optional", "DescribeTrainingJob", 200,
     enc(with_change(D, "LastModifiedTime", None)), "LastModifiedTime", "null"),
    ("null-in-list", "DescribeTrainingJob", 200,
     enc(with_change(D, "SecondaryStatusTransitions[0]", None)),
     "SecondaryStatusTransitions[0]", "null"),
    ("null-map-value", "DescribeTrainingJob", 200,
     enc(with_change(D, "HyperParameters.eta", None)), "HyperParameters['eta']", "null"),
    ("iso-timestamp", "DescribeTrainingJob", 200,
     enc(with_change(D, "CreationTime", "2025-05-16T18:10:50.603Z")), "CreationTime",
     "must be a number of epoch seconds"),
    ("numeric-string-timestamp", "DescribeTrainingJob", 200,
     enc(with_change(D, "SecondaryStatusTransitions[0].EndTime", "1747419053.603")),
     "SecondaryStatusTransitions[0].EndTime", "must be a number"),
    ("milliseconds-timestamp", "DescribeTrainingJob", 200,
     enc(with_change(D, "TrainingEndTime", 1747419060000)), "TrainingEndTime", "milliseconds"),
    ("integer-as-string", "DescribeTrainingJob", 200,
     enc(with_change(D, "ResourceConfig.InstanceCount", "1")), "ResourceConfig.InstanceCount",
     "expected an integer literal"),
    ("integer-with-fraction", "DescribeTrainingJob", 200,
     enc(with_change(D, "TrainingTimeInSeconds", 7.5)), "TrainingTimeInSeconds", "integer literal"),
    ("integer-as-30.0", "DescribeTrainingJob", 200,
     enc(D).replace(b'"VolumeSizeInGB": 30', b'"VolumeSizeInGB": 30.0'),
     "ResourceConfig.VolumeSizeInGB", "number 30.0"),
    ("negative-natural", "DescribeTrainingJob", 200,
     enc(with_change(D, "BillableTimeInSeconds", -1)), "BillableTimeInSeconds", "negative"),
    ("int32-overflow", "DescribeTrainingJob", 200,
     enc(with_change(D, "ResourceConfig.InstanceCount", 2**31)), "ResourceConfig.InstanceCount",
     "32-bit"),
    ("float-as-string", "DescribeTrainingJob", 200,
     enc(with_change(D, "FinalMetricDataList[0].Value", "0.25")), "FinalMetricDataList[0].Value",
     "expected a number"),
    ("boolean-as-string", "DescribeTrainingJob", 200,
     enc(with_change(D, "EnableNetworkIsolation", "false")), "EnableNetworkIsolation",
     "true or false"),
    ("boolean-as-number", "DescribeTrainingJob", 200,
     enc(with_change(D, "EnableNetworkIsolation", 0)), "EnableNetworkIsolation", "true or false"),
    ("string-as-number", "DescribeTrainingJob", 200,
     enc(with_change(D, "RoleArn", 123)), "RoleArn", "expected a string"),
    ("enum-top", "DescribeTrainingJob", 200,
     enc(with_change(D, "TrainingJobStatus", "Running")), "TrainingJobStatus", "enum"),
    ("enum-nested", "DescribeTrainingJob", 200,
     enc(with_change(D, "SecondaryStatusTransitions[0].Status", "Launching")),
     "SecondaryStatusTransitions[0].Status", "enum SecondaryStatus"),
    ("enum-case", "ListTrainingJobs", 200,
     enc(with_change(GOOD_LIST, "TrainingJobSummaries[0].TrainingJobStatus", "inprogress")),
     "TrainingJobSummaries[0].TrainingJobStatus", "enum"),
    ("unknown-top-member", "DescribeTrainingJob", 200,
     enc(with_change(D, "Tags", [])), "Tags", "not in the model"),
    ("unknown-nested-member", "DescribeTrainingJob", 200,
     enc(with_change(D, "ResourceConfig.Gpus", 1)), "ResourceConfig.Gpus", "not in the model"),
    ("object-for-list", "DescribeTrainingJob", 200,
     enc(with_change(D, "SecondaryStatusTransitions", {})), "SecondaryStatusTransitions", "array"),
    ("duplicate-key", "CreateTrainingJob", 200,
     b'{"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",'
     b' "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/y"}',
     "", "more than once"),
    ("nan", "DescribeTrainingJob", 200,
     enc(D).replace(b'"TrainingTimeInSeconds": 7', b'"TrainingTimeInSeconds": NaN'), "",
     "not strict JSON"),
    ("not-json", "DescribeTrainingJob", 200, b"<html>oops</html>", "", "not strict JSON"),
    ("array-at-top", "ListTags", 200, b"[]", "", "must be an object"),
    ("empty-describe", "DescribeTrainingJob", 200, b"", "", "empty body"),
    ("member-on-no-output", "StopTrainingJob", 200, b'{"TrainingJobArn": "x"}', "TrainingJobArn",
     "no output"),
    ("unknown-operation-success", None, 200, b"{}", "", "not in the model"),
    ("error-no-type", "DescribeTrainingJob", 400, enc({"message": "m"}), "__type",
     "non-empty string"),
    ("error-null-message", "DescribeTrainingJob", 400, enc({"__type": "ValidationException",
                                                            "message": None}), "message", "string"),
    ("error-no-message", "CreateTrainingJob", 400, enc({"__type": "ResourceInUse"}), "message",
     "no message"),
    ("error-extra-member", "DescribeTrainingJob", 400,
     enc({"__type": "ValidationException", "message": "m", "detail": "x"}), "detail",
     "error shape"),
    ("error-empty", "DescribeTrainingJob", 400, b"", "", "without a body"),
    ("server-error", "DescribeTrainingJob", 500,
     enc({"__type": "InternalFailure", "message": "boom"}), "", "server failed"),
    ("201", "DescribeTrainingJob", 201, enc(D), "", "successes are 200"),
]


@pytest.mark.parametrize("operation,status,body,path,words", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_bodies_are_caught_naming_operation_path_problem(dec, operation, status, body, path,
                                                             words):
    _, errs = dec.decode_response(operation, status, body)
    assert errs, f"the decoder accepted a bad body: {body[:300]!r}"
    hits = [e for e in errs if e.path == path and words in e.problem]
    assert hits, f"expected path {path!r} with {words!r}; got {errs}"
    assert all(e.operation == operation for e in errs)
    assert str(hits[0]).startswith(f"{operation or '?'}: {path or '$'}: ")


def test_each_bad_body_has_exactly_its_one_problem(dec):
    """Each bad body above differs from a good one in one place: exactly one problem each
    (no noise that could hide a real failure)."""
    for case_id, op, status, body, path, words in BAD:
        if case_id in ("nan", "not-json", "array-at-top", "empty-describe", "error-empty",
                       "server-error", "201", "unknown-operation-success", "missing-list-member",
                       "error-no-type"):
            continue
        errs = dec.decode_response(op, status, body)[1]
        assert len(errs) == 1, (case_id, errs)


# ------------------------------------------------------------------------------ the proxy
class _FakeUpstream:
    """A server that answers every POST with a fixed (status, body)."""

    def __init__(self, status, body):
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", "29c8779d-820c-4298-8cba-7cd6d528942c")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

        self.status, self.body = status, body
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_proxy_catches_a_bad_body_on_the_wire(tmp_path):
    bad = with_change(D, "CreationTime", "2025-05-16T18:10:50.603Z")
    del bad["SecondaryStatus"]
    up = _FakeUpstream(200, enc(bad))
    rec = tmp_path / "rec.jsonl"
    proxy = RecordingProxy(up.url, client="test", record_path=str(rec)).start()
    try:
        r = raw_call(proxy.url, "DescribeTrainingJob", {"TrainingJobName": "x"}, check=False)
        assert r.status == 200 and r.body == enc(bad)
        problems = proxy.take()
    finally:
        proxy.stop()
        up.close()
    assert "strict: DescribeTrainingJob: CreationTime: timestamp must be a number of epoch " \
           "seconds, got string \"2025-05-16T18:10:50.603Z\"" in problems, problems
    assert "strict: DescribeTrainingJob: $: required member 'SecondaryStatus' of " \
           "DescribeTrainingJobResponse is missing" in problems, problems
    assert any(p.startswith("conformance: DescribeTrainingJob: CreationTime") for p in problems)
    assert proxy.take() == []  # taken once
    # The recording replays through the command-line checker, which fails.
    p = subprocess.run([sys.executable, str(HERE / "strict_decoder.py"), str(rec)],
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "DescribeTrainingJob: CreationTime: timestamp must be a number" in p.stdout
    assert "1 responses, 2 problems" in p.stdout


def test_the_proxy_is_transparent_and_records_only_sagemaker_calls(server, tmp_path):
    proxy = RecordingProxy(server.url, client="test", record_path=str(tmp_path / "r.jsonl")).start()
    try:
        name = unique_name("strict-proxy")
        direct = raw_call(server.url, "CreateTrainingJob", job_request(name))
        via = raw_call(proxy.url, "DescribeTrainingJob", {"TrainingJobName": name})
        again = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name})
        missing = raw_call(proxy.url, "DescribeTrainingJob", {"TrainingJobName": name + "-no"})
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        conn.request("GET", "/_sagemock/health")
        health = conn.getresponse()
        health_body = health.read()
        conn.close()
        problems = proxy.take()
        report = proxy.report()
    finally:
        proxy.stop()
    assert direct.status == 200 and via.status == 200 and missing.status == 400
    assert json.loads(health_body)["status"] == "ok"
    server_paused = server.clock()["paused"]
    if server_paused:  # with a paused clock the two describes are the same bytes
        assert via.body == again.body
    assert via.json["TrainingJobName"] == name
    for h in ("x-amzn-RequestId", "Date", "Content-Type"):
        assert via.headers.get(h), h
    assert missing.message == "Requested resource not found."
    assert problems == []
    assert report["operations"] == {"DescribeTrainingJob": 2}
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [json.loads(x)["status"] for x in lines] == [200, 400]


def test_a_live_job_decodes_strictly_at_every_phase(server):
    """A live job at every phase decodes strictly (a direct smoke check of the server)."""
    server.pause()
    try:
        name = unique_name("strict-live")
        dec = decoder()
        r = raw_call(server.url, "CreateTrainingJob",
                     job_request(name, Tags=[{"Key": "a", "Value": "b"}]))
        assert dec.decode_response("CreateTrainingJob", r.status, r.body)[1] == []
        for _ in range(12):
            r = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name})
            assert dec.decode_response("DescribeTrainingJob", r.status, r.body)[1] == [], r.body
            server.advance(1)
        r = raw_call(server.url, "ListTrainingJobs", {"MaxResults": 100})
        assert dec.decode_response("ListTrainingJobs", r.status, r.body)[1] == []
    finally:
        server.set_rate(1)


def test_the_boto3_plugin_routes_the_suite_through_the_decoder():
    """When the boto3 suite runs with `-p boto3_plugin`, the shared checker also decodes
    strictly, and a bad body is charged to the test."""
    if not getattr(conformance.CHECKER, "_strict_wrapped", False):
        pytest.skip("run with -p boto3_plugin (PYTHONPATH=tests/e2e/strict) to check the wiring")
    headers = {"x-amzn-RequestId": "29c8779d-820c-4298-8cba-7cd6d528942c",
               "Date": "Thu, 27 Nov 2026 05:53:00 GMT",
               "Content-Type": "application/x-amz-json-1.1"}
    body = enc(D).replace(b'"VolumeSizeInGB": 30', b'"VolumeSizeInGB": 30.0')
    conformance.CHECKER.check_response("DescribeTrainingJob", 200, headers, body)
    found = [str(v) for v in conformance.CHECKER.take()]  # taken: the guard stays quiet
    assert any("strict decoder: expected an integer literal" in v and
               "ResourceConfig.VolumeSizeInGB" in v for v in found), found


def test_the_decoder_reads_the_newest_model():
    model = json.loads(MODEL_PATH.read_text())
    assert "DeleteTrainingJob" in model["operations"]
    assert "TrainingPlanArnEquals" in model["shapes"]["ListTrainingJobsRequest"]["members"]
