"""STS GetCallerIdentity and IAM GetRole (awsQuery, XML replies) with the real boto3 clients:
the two calls the SageMaker Python SDK makes besides SageMaker itself (its default bucket and
telemetry need the account; a role given by name is resolved to its ARN).

Every response is checked by the conformance checker: the XML is read by the operation's output
shape in server/services/{sts,iam}/model (element names, types, required members, patterns),
errors must be <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>, with the
model's status for modeled errors (IAM NoSuchEntity: 404).

Run: SAGEMOCK_BIN=build/sagemock PYTHONPATH=tests/e2e/strict \
     /usr/bin/python3 -m pytest -q -p boto3_plugin tests/e2e/test_sts_iam.py
"""

import datetime
import json
import re

import pytest
from botocore.exceptions import ClientError

from awsclients import IAM_VERSION, STS_VERSION, client, raw_query
from helpers import ACCOUNT, arn_for, error_of, job_request, unique_name

USER_ID_RE = re.compile(r"AIDA[A-Z2-7]{17}")
ROLE_ID_RE = re.compile(r"AROA[A-Z2-7]{17}")
MISSING = {"iam": {"missingRoles": ["missing-*", "Exact.Role"]}}


@pytest.fixture(scope="module")
def sts(server):
    return client(server, "sts")


@pytest.fixture(scope="module")
def iam(server):
    return client(server, "iam")


# ------------------------------------------------------------------------------ STS
def test_get_caller_identity_names_the_configured_account(sts):
    r = sts.get_caller_identity()
    assert r["Account"] == ACCOUNT == "123456789012"
    assert r["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/sagemock"
    assert USER_ID_RE.fullmatch(r["UserId"]), r["UserId"]
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    # stable: the same on every call and in every region
    again = client(sts.meta.endpoint_url, "sts", region="eu-central-1").get_caller_identity()
    assert {k: again[k] for k in ("Account", "Arn", "UserId")} == \
        {k: r[k] for k in ("Account", "Arn", "UserId")}


def test_get_caller_identity_xml_is_the_query_shape(server):
    r = raw_query(server, "GetCallerIdentity", version=STS_VERSION)
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/xml")
    root = r.xml
    ns = "{https://sts.amazonaws.com/doc/2011-06-15/}"
    assert root.tag == f"{ns}GetCallerIdentityResponse"
    result = root.find(f"{ns}GetCallerIdentityResult")
    assert {c.tag[len(ns):]: c.text for c in result} == {
        "UserId": r.parsed["UserId"], "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/sagemock"}
    assert root.find(f"{ns}ResponseMetadata/{ns}RequestId").text == r.headers["x-amzn-RequestId"]


def test_account_id_flag_changes_the_identity_and_every_arn(make_server):
    srv = make_server("--account-id", "210987654321")
    r = client(srv, "sts").get_caller_identity()
    assert (r["Account"], r["Arn"]) == ("210987654321", "arn:aws:iam::210987654321:user/sagemock")
    assert USER_ID_RE.fullmatch(r["UserId"])
    role = client(srv, "iam").get_role(RoleName="Trainer")["Role"]
    assert role["Arn"] == "arn:aws:iam::210987654321:role/Trainer"
    name = unique_name("acct")
    created = srv.client().create_training_job(**job_request(name))
    assert created["TrainingJobArn"] == arn_for(name, account="210987654321")


def test_different_accounts_have_different_user_ids(make_server, sts):
    other = client(make_server("--account-id", "210987654321"), "sts").get_caller_identity()
    assert other["UserId"] != sts.get_caller_identity()["UserId"]


# ------------------------------------------------------------------------------ IAM
def test_get_role_resolves_any_name_to_a_role_of_the_account(iam):
    r = iam.get_role(RoleName="SageMakerRole")
    role = r["Role"]
    assert role["RoleName"] == "SageMakerRole"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
    assert role["Path"] == "/"
    assert ROLE_ID_RE.fullmatch(role["RoleId"]), role["RoleId"]
    assert isinstance(role["CreateDate"], datetime.datetime)
    assert role["CreateDate"].tzinfo is not None
    assert datetime.datetime(2010, 1, 1, tzinfo=datetime.timezone.utc) < role["CreateDate"] < \
        datetime.datetime.now(datetime.timezone.utc)
    # boto3 decodes the URL-encoded trust policy: SageMaker may assume the role
    doc = role["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert doc["Statement"][0]["Action"] == "sts:AssumeRole"
    assert 3600 <= role["MaxSessionDuration"] <= 43200


def test_get_role_is_stable_across_calls_and_servers(iam, make_server):
    names = ["SageMakerRole", "a", "role.with+odd=chars,@-_", "X" * 64]
    first = {n: iam.get_role(RoleName=n)["Role"] for n in names}
    again = {n: iam.get_role(RoleName=n)["Role"] for n in names}
    other = client(make_server(), "iam")
    third = {n: other.get_role(RoleName=n)["Role"] for n in names}
    for n in names:
        for k in ("RoleId", "CreateDate", "Arn", "Path"):
            assert first[n][k] == again[n][k] == third[n][k], (n, k)
    assert len({r["RoleId"] for r in first.values()}) == len(names)
    assert first["X" * 64]["Arn"].endswith(":role/" + "X" * 64)


def test_the_role_exists_waiter_returns_at_once(iam):
    iam.get_waiter("role_exists").wait(RoleName="SageMakerRole",
                                       WaiterConfig={"Delay": 1, "MaxAttempts": 1})


def assert_no_such_entity(exc_info, name):
    assert error_of(exc_info) == ("NoSuchEntity", f"The role with name {name} cannot be found.",
                                  404)
    assert exc_info.value.response["Error"]["Type"] == "Sender"


def test_missing_roles_from_a_fixture_file_answer_no_such_entity(make_server, tmp_path):
    f = tmp_path / "iam.json"
    f.write_text(json.dumps(MISSING))
    srv = make_server("--fixtures", str(f))
    iam = client(srv, "iam")
    for name in ("missing-x", "missing-", "Exact.Role"):
        with pytest.raises(ClientError) as e:
            iam.get_role(RoleName=name)
        assert_no_such_entity(e, name)
    for name in ("present", "Missing-x", "exact.role", "Exact.Roles", "xmissing-x"):
        assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    # the raw reply: 404, the query error shape
    r = raw_query(srv, "GetRole", {"RoleName": "missing-raw"}, version=IAM_VERSION,
                  signing_name="iam")
    assert r.status == 404, r
    ns = "{https://iam.amazonaws.com/doc/2010-05-08/}"
    assert r.xml.tag == f"{ns}ErrorResponse"
    assert [c.tag[len(ns):] for c in r.xml.find(f"{ns}Error")] == ["Type", "Code", "Message"]
    assert (r.parsed["Type"], r.code, r.message) == \
        ("Sender", "NoSuchEntity", "The role with name missing-raw cannot be found.")
    # start-up fixtures survive a reset
    srv.reset()
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="missing-after-reset")
    assert_no_such_entity(e, "missing-after-reset")


def test_missing_roles_loaded_at_run_time_until_reset(make_server):
    srv = make_server()
    iam = client(srv, "iam")
    assert iam.get_role(RoleName="missing-x")["Role"]["RoleName"] == "missing-x"
    status, body, raw = srv.admin("POST", "/_sagemock/fixtures", MISSING)
    assert status == 200, raw
    assert body["missingRoles"] == 2
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="missing-x")
    assert_no_such_entity(e, "missing-x")
    # the waiter sees a missing role as not (yet) existing
    from botocore.exceptions import WaiterError
    with pytest.raises(WaiterError):
        iam.get_waiter("role_exists").wait(RoleName="missing-x",
                                           WaiterConfig={"Delay": 0, "MaxAttempts": 2})
    srv.reset()
    assert iam.get_role(RoleName="missing-x")["Role"]["RoleName"] == "missing-x"


@pytest.mark.parametrize("doc, needle", [
    ({"iam": {"missingRoles": "missing-*"}}, "iam.missingRoles"),
    ({"iam": {"missingRoles": [""]}}, "iam.missingRoles[0]"),
    ({"iam": {"roles": []}}, "iam.roles"),
    ({"iam": ["missing-*"]}, "iam"),
])
def test_bad_iam_fixtures_are_refused_with_their_path(server, doc, needle):
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", doc)
    assert status == 400, raw
    assert needle in raw.decode(), raw


def test_a_bad_role_name_is_a_validation_error_in_the_query_shape(server):
    """Real IAM (and STS) call it ValidationError, in an <ErrorResponse> (Type Sender, 400)."""
    iam = client(server, "iam", parameter_validation=False)
    for bad, constraint in [("bad name!", "regular expression pattern"),
                            ("x" * 65, "length less than or equal to 64"),
                            ("", "length greater than or equal to 1")]:
        with pytest.raises(ClientError) as e:
            iam.get_role(RoleName=bad)
        code, message, status = error_of(e)
        assert status == 400 and e.value.response["Error"]["Type"] == "Sender", e.value.response
        assert "'roleName'" in message and constraint in message, message
        assert code == "ValidationError", f"{bad!r}: {code} {message}"
    # no RoleName at all
    r = raw_query(server, "GetRole", {}, version=IAM_VERSION, signing_name="iam")
    assert r.status == 400 and r.parsed["Type"] == "Sender", r
    assert "roleName" in r.message and "null" in r.message, r
    assert r.code == "ValidationError", r


# ------------------------------------------------------------------------------ routing
def test_query_calls_route_by_signing_scope_or_version(server):
    # unsigned: the Version decides
    r = raw_query(server, "GetCallerIdentity", version=STS_VERSION, sign=False)
    assert r.status == 200 and r.parsed["Account"] == ACCOUNT, r
    r = raw_query(server, "GetRole", {"RoleName": "R"}, version=IAM_VERSION, sign=False)
    assert r.status == 200 and r.parsed["Role"]["RoleName"] == "R", r
    # signed for iam, but GetCallerIdentity is an STS action: InvalidAction from IAM
    r = raw_query(server, "GetCallerIdentity", version=STS_VERSION, signing_name="iam")
    assert (r.status, r.code) == (400, "InvalidAction"), r
    assert "IAM" in r.message and "GetCallerIdentity" in r.message, r


def test_the_journal_records_query_calls_with_their_service(server, sts, iam):
    sts.get_caller_identity()
    iam.get_role(RoleName="JournalRole")
    _, j, _ = server.admin("GET", "/_sagemock/requests?limit=2")
    got = [(e.get("service"), e["operation"], e["status"]) for e in j["requests"]]
    assert got == [("iam", "GetRole", 200), ("sts", "GetCallerIdentity", 200)], got
    # IAM is global: a client of any region sees the same role (ARNs without a region)
    eu = client(server, "iam", region="eu-west-1").get_role(RoleName="R")["Role"]
    us = iam.get_role(RoleName="R")["Role"]
    assert eu["Arn"] == us["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/R"
    assert eu["RoleId"] == us["RoleId"]


def test_a_fault_on_sts_is_retried_by_boto3(server, monkeypatch):
    import types

    import botocore.endpoint
    slept = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=slept.append))
    server.admin("DELETE", "/_sagemock/faults")
    status, _, raw = server.admin("POST", "/_sagemock/faults", {
        "service": "sts", "operation": "GetCallerIdentity", "error": "ThrottlingException",
        "count": 1})
    assert status == 200, raw
    try:
        # the throttled reply is an awsQuery error too
        r = raw_query(server, "GetCallerIdentity", version=STS_VERSION)
        assert (r.status, r.code, r.parsed["Type"]) == (400, "ThrottlingException", "Sender"), r
        assert r.xml.tag.endswith("ErrorResponse")
        server.admin("POST", "/_sagemock/faults", {
            "service": "sts", "operation": "GetCallerIdentity", "error": "ThrottlingException",
            "count": 1})
        retrying = client(server, "sts", retries={"mode": "standard", "total_max_attempts": 3})
        r = retrying.get_caller_identity()
        assert r["Account"] == ACCOUNT and r["ResponseMetadata"]["RetryAttempts"] == 1
        assert len(slept) == 1
    finally:
        server.admin("DELETE", "/_sagemock/faults")
