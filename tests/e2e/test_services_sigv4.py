"""--auth sigv4 on the services besides SageMaker: signed CloudWatch Logs, STS and IAM calls
(each signed with its own signing name by the real boto3 clients) are accepted, unsigned or
wrongly signed ones are refused in the service's protocol, as AWS refuses them (STS and IAM:
403 MissingAuthenticationToken / SignatureDoesNotMatch / InvalidClientTokenId in XML).
"""

import pytest
from botocore.exceptions import ClientError

from awsclients import GROUP, IAM_VERSION, STS_VERSION, client, raw_json, raw_query
from helpers import ACCESS_KEY, SECRET_KEY, error_of

CREDENTIALS = f"""[default]
aws_access_key_id = {ACCESS_KEY}
aws_secret_access_key = {SECRET_KEY}
"""


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    import conftest
    d = tmp_path_factory.mktemp("services_sigv4")
    (d / "credentials").write_text(CREDENTIALS)
    srv = conftest._start(d / "srv", args=("--auth", "sigv4", "--credentials",
                                           str(d / "credentials")))
    yield srv
    conftest._stop_and_check(srv)


def test_signed_logs_sts_and_iam_calls_work(strict):
    assert client(strict, "sts").get_caller_identity()["Account"] == "123456789012"
    assert client(strict, "iam").get_role(RoleName="R")["Role"]["RoleName"] == "R"
    assert client(strict, "logs").describe_log_groups()["logGroups"] == []
    # IAM is global: a client configured for another region signs with it, and is accepted
    assert client(strict, "iam", region="eu-west-1").get_role(RoleName="R")["Role"]
    assert client(strict, "logs", region="ap-southeast-2").describe_log_groups() is not None


def test_unsigned_logs_call_is_refused(strict):
    r = raw_json(strict, "DescribeLogGroups", {}, sign=False)
    assert (r.status, r.code) == (400, "MissingAuthenticationTokenException"), r
    assert r.message == "Request is missing Authentication Token"


def test_wrong_secret_on_logs_is_refused(strict):
    logs = client(strict, "logs", secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=GROUP)
    assert error_of(e)[0] == "InvalidSignatureException"


@pytest.mark.parametrize("action, version, params", [
    ("GetCallerIdentity", STS_VERSION, {}),
    ("GetRole", IAM_VERSION, {"RoleName": "R"}),
])
def test_unsigned_query_calls_are_refused_as_aws_refuses_them(strict, action, version, params):
    r = raw_query(strict, action, params, version=version, sign=False)
    assert r.status in (400, 403) and r.parsed and r.parsed.get("Type") == "Sender", r
    assert "Authentication Token" in (r.message or ""), r
    # AWS: HTTP 403, code MissingAuthenticationToken (no "Exception" in the query protocols)
    assert (r.status, r.code) == (403, "MissingAuthenticationToken"), r


def test_wrong_keys_on_sts_and_iam_are_refused(strict):
    with pytest.raises(ClientError) as e:
        client(strict, "sts", secret="not-the-secret").get_caller_identity()
    code, _, status = error_of(e)
    assert e.value.response["Error"]["Type"] == "Sender"
    assert (code, status) == ("SignatureDoesNotMatch", 403), error_of(e)
    with pytest.raises(ClientError) as e:
        client(strict, "iam", key="AKIDUNKNOWN").get_role(RoleName="R")
    code, _, status = error_of(e)
    assert (code, status) == ("InvalidClientTokenId", 403), error_of(e)
