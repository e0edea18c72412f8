"""The conformance checker on the services besides SageMaker: it must catch bad CloudWatch Logs
bodies, bad awsQuery XML (STS, IAM), bad error shapes of unserved calls, and route raw requests
as sagemock does, so that it cannot pass silently. No server needed (a boto3 before-send hook
plays the server for the wiring tests)."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from awsclients import client
from conformance import CHECKER, ConformanceChecker

RID = "29c8779d-820c-4298-8cba-7cd6d528942c"
JSON_H = {"x-amzn-RequestId": RID, "Date": "Thu, 27 Nov 2026 05:53:00 GMT",
          "Content-Type": "application/x-amz-json-1.1"}
XML_H = dict(JSON_H, **{"Content-Type": "text/xml"})
REST_H = dict(JSON_H, **{"Content-Type": "application/xml"})

GOOD_EVENTS = {"events": [{"timestamp": 1796416768270, "message": "Epoch 1/5",
                           "ingestionTime": 1796416768918}],
               "nextForwardToken": "f/" + "0" * 55 + "1", "nextBackwardToken": "b/" + "0" * 56}
GOOD_STREAMS = {"logStreams": [{"logStreamName": "job/algo-1-1796416768",
                                "creationTime": 1796416768270,
                                "arn": "arn:aws:logs:us-east-1:123456789012:log-group:x",
                                "storedBytes": 0}]}

STS_OK = (f'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
          f'<GetCallerIdentityResult><UserId>AIDAJIGSDFPDK5FBDLKMX</UserId>'
          f'<Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/sagemock</Arn>'
          f'</GetCallerIdentityResult><ResponseMetadata><RequestId>{RID}</RequestId>'
          f'</ResponseMetadata></GetCallerIdentityResponse>')
IAM_OK = (f'<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult>'
          f'<Role><Path>/</Path><RoleName>R</RoleName><RoleId>AROAHCAZ6XMQ2OYLCQUIZ</RoleId>'
          f'<Arn>arn:aws:iam::123456789012:role/R</Arn><CreateDate>2024-12-19T02:46:45Z'
          f'</CreateDate><MaxSessionDuration>3600</MaxSessionDuration><RoleLastUsed/></Role>'
          f'</GetRoleResult><ResponseMetadata><RequestId>{RID}</RequestId></ResponseMetadata>'
          f'</GetRoleResponse>')
IAM_404 = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
           f'<Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be '
           f'found.</Message></Error><RequestId>{RID}</RequestId></ErrorResponse>')
REST_501 = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
            f'<Message>no</Message><RequestId>{RID}</RequestId></Error>')


@pytest.fixture
def fresh():
    return ConformanceChecker()


def problems(fresh, service, op, status, headers, body, protocol=None):
    out, _ = fresh.check_service_response(service, op, status, headers,
                                          body.encode() if isinstance(body, str) else body,
                                          record=False, protocol=protocol)
    return [str(v) for v in out]


def test_every_service_model_is_loaded(fresh):
    assert {"sagemaker", "logs", "sts", "iam"} <= set(fresh.services)
    assert fresh.services["logs"].target_prefix == "Logs_20140328"
    assert fresh.services["sts"].protocol == "query"
    assert fresh.services["iam"].errors["NoSuchEntity"][1] == 404


# ------------------------------------------------------------------------------ logs (JSON)
def test_good_logs_bodies_pass(fresh):
    assert problems(fresh, "logs", "GetLogEvents", 200, JSON_H, json.dumps(GOOD_EVENTS)) == []
    assert problems(fresh, "logs", "DescribeLogStreams", 200, JSON_H,
                    json.dumps(GOOD_STREAMS)) == []


@pytest.mark.parametrize("mutate, needle", [
    (lambda b: b["events"][0].update(timestamp="1796416768270"), "expected an integer"),
    (lambda b: b["events"][0].update(timestamp=1796416768.27), "expected an integer"),
    (lambda b: b["events"][0].update(message=None), "null"),
    (lambda b: b["events"][0].update(logStreamName="x"), "member not in the model"),
    (lambda b: b.update(nextForwardToken=5), "expected a string"),
    (lambda b: b.update(events={}), "expected a JSON array"),
])
def test_bad_get_log_events_bodies_are_caught(fresh, mutate, needle):
    body = json.loads(json.dumps(GOOD_EVENTS))
    mutate(body)
    found = problems(fresh, "logs", "GetLogEvents", 200, JSON_H, json.dumps(body))
    assert any(needle in p for p in found), found
    assert all(p.startswith("GetLogEvents") for p in found)


def test_logs_checks_use_the_logs_model_not_sagemakers(fresh):
    found = problems(fresh, "logs", "DescribeTrainingJob", 200, JSON_H, "{}")
    assert any("not in the logs model" in p for p in found), found
    found = problems(fresh, "logs", "GetLogEvents", 200,
                     dict(JSON_H, **{"Content-Type": "application/json"}), json.dumps(GOOD_EVENTS))
    assert any("Content-Type" in p for p in found), found
    assert problems(fresh, "logs", "GetLogEvents", 400, JSON_H,
                    '{"__type": "ResourceNotFoundException", "message": "x"}') == []
    assert problems(fresh, "logs", "GetLogEvents", 400, JSON_H, '{"__type": "X"}')


# ------------------------------------------------------------------------------ awsQuery
def test_good_query_bodies_pass(fresh):
    assert problems(fresh, "sts", "GetCallerIdentity", 200, XML_H, STS_OK) == []
    assert problems(fresh, "iam", "GetRole", 200, XML_H, IAM_OK) == []
    assert problems(fresh, "iam", "GetRole", 404, XML_H, IAM_404) == []


@pytest.mark.parametrize("old, new, needle", [
    ("<RoleName>R</RoleName>", "<RoleName>R</RoleName><Bogus>1</Bogus>", "<Bogus> is not a member"),
    ("<Arn>arn:aws:iam::123456789012:role/R</Arn>", "", "required member 'Arn'"),
    ("2024-12-19T02:46:45Z", "1734576405", "not ISO 8601"),
    ("2024-12-19T02:46:45Z", "2024-12-19 02:46:45", "not ISO 8601"),
    ("<MaxSessionDuration>3600", "<MaxSessionDuration>36.5", "not an integer"),
    ("<MaxSessionDuration>3600", "<MaxSessionDuration>60", "< model min 3600"),
    ("<Path>/</Path>", "<Path>nope</Path>", "does not match the pattern"),
    ("<RoleId>AROAHCAZ6XMQ2OYLCQUIZ</RoleId>", "<RoleId>short</RoleId>", "length 5 < model min"),
    ("GetRoleResult>", "GetRoleResultX>", "expected ['GetRoleResult', 'ResponseMetadata']"),
    (f"<ResponseMetadata><RequestId>{RID}</RequestId></ResponseMetadata>", "",
     "expected ['GetRoleResult', 'ResponseMetadata']"),
    (f"<RequestId>{RID}</RequestId>", "<RequestId>other</RequestId>", "not a UUID"),
    ("xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"", "", "xmlns"),
    ("<GetRoleResponse ", "<GetRolesResponse ", "root is <GetRolesResponse>"),
    ("</Role>", "</Rolex>", "not well-formed XML"),
])
def test_bad_iam_xml_is_caught(fresh, old, new, needle):
    body = IAM_OK.replace(old, new)
    if "GetRolesResponse" in new:
        body = body.replace("</GetRoleResponse>", "</GetRolesResponse>")
    assert body != IAM_OK
    found = problems(fresh, "iam", "GetRole", 200, XML_H, body)
    assert any(needle in p for p in found), found


def test_bad_query_errors_are_caught(fresh):
    assert any("HTTP 404" in p for p in problems(fresh, "iam", "GetRole", 400, XML_H, IAM_404))
    assert any("Receiver with HTTP 404" in p for p in problems(
        fresh, "iam", "GetRole", 404, XML_H, IAM_404.replace("Sender", "Receiver")))
    assert any("Error.Code" in p for p in problems(
        fresh, "iam", "GetRole", 404, XML_H, IAM_404.replace("<Code>NoSuchEntity</Code>", "")))
    assert any("expected <ErrorResponse>" in p for p in problems(
        fresh, "sts", "GetCallerIdentity", 400, XML_H, REST_501))
    assert any("not well-formed" in p for p in problems(
        fresh, "sts", "GetCallerIdentity", 400, XML_H, '{"__type": "X", "message": "m"}'))
    assert any("Content-Type" in p for p in problems(
        fresh, "sts", "GetCallerIdentity", 200, JSON_H, STS_OK))


# ------------------------------------------------------------------------------ unserved
def test_unserved_calls_need_their_protocols_error_shape(fresh):
    assert problems(fresh, None, None, 501, REST_H, REST_501, protocol="rest-xml") == []
    assert any("does not serve" in p for p in problems(fresh, None, None, 200, REST_H, "",
                                                        protocol="rest-xml"))
    assert any("expected <Error>" in p for p in problems(fresh, None, None, 501, REST_H, IAM_404,
                                                          protocol="rest-xml"))
    assert problems(fresh, None, "GetParameter", 400, JSON_H,
                    '{"__type": "UnknownOperationException", "message": "m"}', protocol="json") == []
    assert problems(fresh, None, "GetParameter", 200, JSON_H, "{}", protocol="json")


# ------------------------------------------------------------------------------ routing
@pytest.mark.parametrize("headers, body, want", [
    ({"X-Amz-Target": "Logs_20140328.GetLogEvents"}, b"{}", ("logs", "GetLogEvents", "json")),
    ({"X-Amz-Target": "SageMaker.ListTrainingJobs"}, b"{}",
     ("sagemaker", "ListTrainingJobs", "json")),
    ({"X-Amz-Target": "AmazonSSM.GetParameter"}, b"{}", (None, "GetParameter", "json")),
    ({"Content-Type": "application/x-www-form-urlencoded"},
     b"Action=GetCallerIdentity&Version=2011-06-15", ("sts", "GetCallerIdentity", "query")),
    ({"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
      "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/iam/aws4_request, "
                       "SignedHeaders=host, Signature=00"},
     b"Action=GetCallerIdentity&Version=2011-06-15", ("iam", "GetCallerIdentity", "query")),
    ({"Content-Type": "application/x-www-form-urlencoded"},
     b"Action=ListQueues&Version=2012-11-05", (None, "ListQueues", "query")),
    ({}, b"", (None, None, "rest-xml")),
])
def test_route_finds_the_service_as_sagemock_does(fresh, headers, body, want):
    svc, op, proto = fresh.route(headers, body)
    assert (svc.id if svc else None, op, proto) == want


# ------------------------------------------------------------------------------ wiring
class _Raw:
    def __init__(self, data):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


@pytest.mark.parametrize("service, call, headers, body, path", [
    ("sts", lambda c: c.get_caller_identity(), XML_H,
     STS_OK.replace("<Account>123456789012</Account>", "<Account>1</Account><Extra/>"), "Extra"),
    ("iam", lambda c: c.get_role(RoleName="R"), XML_H,
     IAM_OK.replace("2024-12-19T02:46:45Z", "2024-12-19T02:46:45.5+00:00"), "Role.CreateDate"),
    ("logs", lambda c: c.get_log_events(logGroupName="g", logStreamName="s"), JSON_H,
     json.dumps(dict(GOOD_EVENTS, bogus=1)), "bogus"),
])
def test_clients_of_every_service_are_checked(service, call, headers, body, path):
    c = client("http://127.0.0.1:9", service)

    def fake_send(request, **kwargs):
        return AWSResponse(request.url, 200, headers, _Raw(body.encode()))

    c.meta.events.register("before-send", fake_send)
    before = CHECKER.checked_by[service]
    try:
        call(c)
    except Exception:  # botocore may refuse the body itself; the check ran before
        pass
    found = CHECKER.take()  # taken here, so the guard does not fail this test
    assert CHECKER.checked_by[service] == before + 1
    assert any(v.path == path for v in found), found
