"""The conformance checker itself: it must catch bad bodies, so that it cannot pass silently.
These tests need no server (a boto3 before-send hook plays the server)."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from conformance import CHECKER, ConformanceChecker
from helpers import Server

GOOD_DESCRIBE = {
    "TrainingJobName": "good-job",
    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/good-job",
    "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/good-job/output/model.tar.gz"},
    "TrainingJobStatus": "InProgress",
    "SecondaryStatus": "Starting",
    "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File",
                               "EnableSageMakerMetricsTimeSeries": False},
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "OutputDataConfig": {"S3OutputPath": "s3://b/out/", "KmsKeyId": "", "CompressionType": "GZIP"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "CreationTime": 1747419050.603,
    "LastModifiedTime": 1747419050.603,
    "SecondaryStatusTransitions": [
        {"Status": "Starting", "StartTime": 1747419050.603, "StatusMessage": "Starting the training job"}],
    "EnableNetworkIsolation": False,
    "ProfilingStatus": "Disabled",
}


def mutated(path, value=None, delete=False):
    body = json.loads(json.dumps(GOOD_DESCRIBE))
    *parents, last = path
    node = body
    for p in parents:
        node = node[p]
    if delete:
        del node[last]
    else:
        node[last] = value
    return body


@pytest.fixture
def fresh():
    return ConformanceChecker()


def test_a_valid_describe_body_has_no_violation(fresh):
    assert fresh.check_output("DescribeTrainingJob", GOOD_DESCRIBE) == []


@pytest.mark.parametrize("path,value,delete,needle", [
    (["TrainingJobStatus"], None, False, "null"),
    (["ModelArtifacts", "S3ModelArtifacts"], None, False, "null"),
    (["CreationTime"], "2023-01-01T00:00:00Z", False, "timestamp must be a JSON number"),
    (["SecondaryStatusTransitions", 0, "StartTime"], "1747419050.603", False, "timestamp must be a JSON number"),
    (["CreationTime"], 1747419050603, False, "milliseconds"),
    (["TrainingJobArn"], None, True, "required member 'TrainingJobArn'"),
    (["ModelArtifacts", "S3ModelArtifacts"], None, True, "required member 'S3ModelArtifacts'"),
    (["SecondaryStatusTransitions", 0, "Status"], None, True, "required member 'Status'"),
    (["TrainingJobStatus"], "Running", False, "not a value of enum"),
    (["SecondaryStatus"], "Queued", False, "not a value of enum"),
    (["ProfilingStatus"], "On", False, "not a value of enum"),
    (["Tags"], [], False, "member not in the model"),
    (["AlgorithmSpecification", "Bogus"], 1, False, "member not in the model"),
    (["ResourceConfig", "InstanceCount"], "1", False, "expected an integer"),
    (["ResourceConfig", "InstanceCount"], True, False, "expected an integer"),
    (["EnableNetworkIsolation"], "false", False, "expected a JSON boolean"),
    (["TrainingJobArn"], "arn:aws:sagemaker:us-east-1:123:training-job/x", False, "does not match the pattern"),
    (["TrainingJobArn"], "training-job/good-job", False, "does not match the pattern"),
    (["TrainingJobName"], "x" * 64, False, "> model max 63"),
    (["TrainingTimeInSeconds"], 0, False, "< model min 1"),
    (["SecondaryStatusTransitions"], {"Status": "Starting"}, False, "expected a JSON array"),
    (["HyperParameters"], ["a"], False, "expected a JSON object"),
])
def test_checker_catches_a_bad_describe_body(fresh, path, value, delete, needle):
    problems = fresh.check_output("DescribeTrainingJob", mutated(path, value, delete))
    assert problems, f"no violation found for {path} = {value!r}"
    assert any(needle in v.problem for v in problems), problems
    # the report names the operation and the path
    assert all(v.operation == "DescribeTrainingJob" for v in problems)
    text = str(problems[0])
    assert "DescribeTrainingJob" in text


def test_checker_paths_name_the_place_of_the_problem(fresh):
    body = {"TrainingJobSummaries": [
        {"TrainingJobName": "a", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/a",
         "CreationTime": 1700000000.5, "TrainingJobStatus": "Completed"},
        {"TrainingJobName": "b", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/b",
         "CreationTime": "1700000000", "TrainingJobStatus": "Completed"},
    ]}
    problems = fresh.check_output("ListTrainingJobs", body)
    assert [v.path for v in problems] == ["TrainingJobSummaries[1].CreationTime"]


def test_checker_catches_bad_error_bodies(fresh):
    assert fresh.check_error_body("DescribeTrainingJob",
                                  {"__type": "ValidationException", "message": "x"}) == []
    assert fresh.check_error_body("DescribeTrainingJob", {"message": "no type"})
    assert fresh.check_error_body("DescribeTrainingJob", {"__type": "ValidationException"})
    assert fresh.check_error_body("DescribeTrainingJob", {"__type": "X", "message": None})
    assert fresh.check_error_body("DescribeTrainingJob", ["not", "an", "object"])


def test_checker_catches_bad_headers(fresh):
    good = {"x-amzn-RequestId": "29c8779d-820c-4298-8cba-7cd6d528942c",
            "Date": "Thu, 27 Nov 2026 05:53:00 GMT", "Content-Type": "application/x-amz-json-1.1"}
    assert fresh.check_headers("ListTrainingJobs", 200, good, b"{}") == []
    for k, v in [("x-amzn-RequestId", None), ("x-amzn-RequestId", "req-1"), ("Date", None),
                 ("Content-Type", "application/json")]:
        h = dict(good)
        if v is None:
            del h[k]
        else:
            h[k] = v
        assert fresh.check_headers("ListTrainingJobs", 200, h, b"{}"), (k, v)


def test_no_output_operations_accept_empty_body_or_empty_object(fresh):
    h = {"x-amzn-RequestId": "29c8779d-820c-4298-8cba-7cd6d528942c",
         "Date": "Thu, 27 Nov 2026 05:53:00 GMT", "Content-Type": "application/x-amz-json-1.1"}
    assert fresh.check_response("StopTrainingJob", 200, h, b"", record=False)[0] == []
    assert fresh.check_response("StopTrainingJob", 200, h, b"{}", record=False)[0] == []
    assert fresh.check_response("StopTrainingJob", 200, h, b'{"x": 1}', record=False)[0]
    assert fresh.check_response("DescribeTrainingJob", 200, h, b"", record=False)[0]
    assert fresh.check_response("DescribeTrainingJob", 200, h, b"not json", record=False)[0]


class _Raw:
    def __init__(self, data):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def test_boto3_clients_from_the_fixtures_are_checked(tmp_path):
    """Wiring: a client made the way the fixtures make them reports a bad body seen on the wire."""
    srv = Server(tmp_path)  # never started: before-send answers instead of the network
    srv.url = "http://127.0.0.1:9"
    client = srv.client()
    bad = dict(GOOD_DESCRIBE, CreationTime="2023-01-01T00:00:00Z", TrainingJobStatus=None)
    headers = {"x-amzn-RequestId": "29c8779d-820c-4298-8cba-7cd6d528942c",
               "Date": "Thu, 27 Nov 2026 05:53:00 GMT", "Content-Type": "application/x-amz-json-1.1"}

    def fake_send(request, **kwargs):
        return AWSResponse(request.url, 200, headers, _Raw(json.dumps(bad).encode()))

    client.meta.events.register("before-send.sagemaker", fake_send)
    before = CHECKER.checked
    client.describe_training_job(TrainingJobName="good-job")
    found = CHECKER.take()  # taken here, so the guard does not fail this test
    assert CHECKER.checked == before + 1
    paths = {v.path for v in found}
    assert {"CreationTime", "TrainingJobStatus"} <= paths, found
    assert all(v.operation == "DescribeTrainingJob" for v in found)
