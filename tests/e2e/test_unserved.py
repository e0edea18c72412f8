"""What sagemock does with calls it does not serve: an operation of a served service
(CloudWatch Logs PutLogEvents, STS AssumeRole), a service it does not serve (SSM's awsJson,
SQS's awsQuery, S3's REST), each answered in its protocol's error shape so the real client
shows the code and a message naming the service and the operation (or, for REST, the endpoint
variable to set); the request journal keeps them. Also: which endpoint boto3 1.26 uses when
only AWS_ENDPOINT_URL is set (it does not read the variable).

Every response is checked by the conformance checker (the error shape of the client's
protocol; a success for an unserved call is a violation).
"""

import pytest
from botocore.exceptions import ClientError

from awsclients import IAM_VERSION, STS_VERSION, client, raw_json, raw_query, raw_rest
from helpers import error_of


def journal(server, n):
    _, j, _ = server.admin("GET", f"/_sagemock/requests?limit={n}")
    return j["requests"]


def test_an_unserved_logs_operation_names_cloudwatch_logs_and_the_operation(server):
    logs = client(server, "logs")
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="s",
                            logEvents=[{"timestamp": 1700000000000, "message": "hello"}])
    code, message, status = error_of(e)
    assert (code, status) == ("UnknownOperationException", 400)
    assert "CloudWatch Logs" in message and "PutLogEvents" in message, message
    r = raw_json(server, "Logs_20140328.CreateLogGroup", {"logGroupName": "g"})
    assert (r.status, r.code) == (400, "UnknownOperationException"), r
    assert "CloudWatch Logs" in r.message and "CreateLogGroup" in r.message
    (entry, put) = journal(server, 2)
    assert (entry.get("service"), entry["operation"], entry["status"], entry["errorCode"]) == \
        ("logs", "Logs_20140328.CreateLogGroup", 400, "UnknownOperationException")
    assert (put.get("service"), put["operation"]) == ("logs", "Logs_20140328.PutLogEvents")


def test_an_unserved_json_service_names_its_target(server):
    ssm = client(server, "ssm")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/sagemaker/x")
    code, message, status = error_of(e)
    assert (code, status) == ("UnknownOperationException", 400)
    assert "AmazonSSM" in message and "GetParameter" in message, message
    (entry,) = journal(server, 1)
    assert entry["operation"] == "AmazonSSM.GetParameter"
    assert (entry["status"], entry["errorCode"]) == (400, "UnknownOperationException")
    assert "service" not in entry, "no service was routed"


def test_an_unserved_sts_action_is_invalid_action_in_xml(server):
    sts = client(server, "sts")
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
                        RoleSessionName="session")
    code, message, status = error_of(e)
    assert (code, status) == ("InvalidAction", 400)
    assert e.value.response["Error"]["Type"] == "Sender"
    assert "STS" in message and "AssumeRole" in message, message
    r = raw_query(server, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/R",
                                         "RoleSessionName": "s"}, version=STS_VERSION)
    assert r.status == 400 and r.headers["Content-Type"].startswith("text/xml"), r
    assert r.xml.tag == "{https://sts.amazonaws.com/doc/2011-06-15/}ErrorResponse"
    assert (r.parsed["Type"], r.code) == ("Sender", "InvalidAction")
    (entry,) = journal(server, 1)
    assert (entry.get("service"), entry["operation"], entry["status"], entry["errorCode"]) == \
        ("sts", "AssumeRole", 400, "InvalidAction")
    # IAM likewise
    r = raw_query(server, "ListRoles", {}, version=IAM_VERSION, signing_name="iam")
    assert (r.status, r.code) == (400, "InvalidAction"), r
    assert "IAM" in r.message and "ListRoles" in r.message


def test_an_unserved_query_service_and_a_missing_action(server):
    r = raw_query(server, "ListQueues", {}, version="2012-11-05", signing_name="sqs")
    assert (r.status, r.code) == (400, "InvalidAction"), r
    assert "ListQueues" in r.message and "2012-11-05" in r.message, r
    (entry,) = journal(server, 1)
    assert entry["operation"] == "ListQueues" and "service" not in entry
    r = raw_query(server, None, {}, version=STS_VERSION)
    assert r.status == 400 and r.code == "MissingAction", r


@pytest.mark.parametrize("call, path", [
    (lambda s3: s3.list_buckets(), "GET /"),
    (lambda s3: s3.get_object(Bucket="sagemock-bucket", Key="data/train/part-0.csv"),
     "GET /sagemock-bucket/data/train/part-0.csv"),
    (lambda s3: s3.put_object(Bucket="sagemock-bucket", Key="model.tar.gz", Body=b"x"),
     "PUT /sagemock-bucket/model.tar.gz"),
])
def test_s3_calls_say_not_implemented_and_where_to_point_them(server, call, path):
    s3 = client(server, "s3", s3={"addressing_style": "path"})
    with pytest.raises(ClientError) as e:
        call(s3)
    code, message, status = error_of(e)
    assert (code, status) == ("NotImplemented", 501)
    assert "AWS_ENDPOINT_URL_S3" in message, message
    (entry,) = journal(server, 1)
    assert entry["operation"] == path and entry["status"] == 501, entry
    assert entry["errorCode"] == "NotImplemented"


def test_a_rest_error_is_an_xml_error_document(server):
    r = raw_rest(server, "GET", "/some-bucket?list-type=2")
    assert r.status == 501, r
    assert r.headers["Content-Type"].startswith("application/xml")
    assert r.xml.tag == "Error"
    assert [c.tag for c in r.xml] == ["Code", "Message", "RequestId"]
    assert r.parsed["RequestId"] == r.headers["x-amzn-RequestId"]


def test_boto3_1_26_ignores_aws_endpoint_url(server, monkeypatch):
    """AWS_ENDPOINT_URL arrived in botocore 1.31: with Debian's boto3 1.26 only endpoint_url
    (or AWS_ENDPOINT_URL_<SERVICE> in newer botocore) reaches sagemock. Checked without a call."""
    import boto3
    import botocore
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                                    region_name="us-east-1")
    urls = {s: session.client(s).meta.endpoint_url for s in ("sagemaker", "logs", "sts", "iam")}
    version = tuple(int(x) for x in botocore.__version__.split(".")[:2])
    if version >= (1, 31):
        assert set(urls.values()) == {server.url}, urls
    else:
        assert server.url not in urls.values(), urls
        assert urls["logs"] == "https://logs.us-east-1.amazonaws.com"
