#!/usr/bin/env python3
"""The key end-to-end checks of the new services with the machine's newest boto3 (the pyenv
`python3` on PATH, boto3 1.43; the e2e_boto3 suite runs Debian's 1.26). A plain script, since
that interpreter has no pytest: it starts the real binary, runs every check, and ends with
"N passed, N failed" (exit status 1 when any failed).

Every response of every client is checked by the conformance checker (../conformance.py)
against the model of its service; a check whose responses broke a model fails.

    SAGEMOCK_BIN=build/sagemock python3 tests/e2e/latest/check_boto3_latest.py [-k SUBSTRING] [-v]

Checks include one client that only AWS_ENDPOINT_URL sends to sagemock (no endpoint_url), and
one that forces the CBOR-free awsJson 1.1 path by building the clients from the models sagemock
embeds with their protocols pinned to ["json"].
"""

import copy
import json
import os
import re
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# Keep the clients away from the developer's AWS configuration and any proxy.
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
for _k in list(os.environ):
    if _k.startswith("AWS_ENDPOINT_URL") or _k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                                                  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        del os.environ[_k]

import boto3  # noqa: E402
import botocore  # noqa: E402
import botocore.endpoint  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from awsclients import (GROUP, METRIC_ACC, METRIC_LOSS, all_events, client,  # noqa: E402
                        create_job, messages, series, streams_of)
from conformance import CHECKER, SERVICES_DIR  # noqa: E402
from helpers import ACCESS_KEY, ACCOUNT, SECRET_KEY, Server, ms, unique_name  # noqa: E402

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def err(exc):
    e = exc.response["Error"]
    return e.get("Code"), e.get("Message"), exc.response["ResponseMetadata"]["HTTPStatusCode"]


def raises(fn):
    try:
        fn()
    except ClientError as e:
        return err(e)
    raise AssertionError("no ClientError")


class Ctx:
    def __init__(self, srv):
        self.srv = srv
        self.sm = srv.client()
        self.logs = client(srv, "logs")
        self.sts = client(srv, "sts")
        self.iam = client(srv, "iam")


# ------------------------------------------------------------------------------ checks
@check
def versions(c):
    v = tuple(int(x) for x in boto3.__version__.split(".")[:2])
    assert v >= (1, 43), f"this script is for boto3 >= 1.43, got {boto3.__version__}"
    for svc in ("sagemaker", "logs"):
        m = botocore.session.get_session().get_service_model(svc)
        assert getattr(m, "resolved_protocol", m.protocol) == "json", (svc, m.metadata)


@check
def aws_endpoint_url_alone_reaches_sagemock(c):
    """boto3 >= 1.31 reads AWS_ENDPOINT_URL: no endpoint_url argument anywhere."""
    os.environ["AWS_ENDPOINT_URL"] = c.srv.url
    try:
        session = boto3.session.Session(aws_access_key_id=ACCESS_KEY,
                                        aws_secret_access_key=SECRET_KEY,
                                        region_name="us-east-1")
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        clients = {s: CHECKER.attach(session.client(s, config=cfg))
                   for s in ("sagemaker", "logs", "sts", "iam")}
        for s, cl in clients.items():
            assert cl.meta.endpoint_url == c.srv.url, (s, cl.meta.endpoint_url)
        assert clients["sts"].get_caller_identity()["Account"] == ACCOUNT
        assert clients["iam"].get_role(RoleName="EnvRole")["Role"]["Arn"] == \
            f"arn:aws:iam::{ACCOUNT}:role/EnvRole"
        clients["sagemaker"].list_training_jobs(MaxResults=1)
        clients["logs"].describe_log_groups()
    finally:
        del os.environ["AWS_ENDPOINT_URL"]
    _, j, _ = c.srv.admin("GET", "/_sagemock/requests?limit=4")
    got = [(e.get("service"), e["operation"], e["status"]) for e in j["requests"]][::-1]
    assert got == [("sts", "GetCallerIdentity", 200), ("iam", "GetRole", 200),
                   ("sagemaker", "ListTrainingJobs", 200), ("logs", "DescribeLogGroups", 200)], got


def pinned_json_session(tmp):
    """A botocore session whose loader reads sagemock's own logs and SageMaker models, with
    their protocols pinned to awsJson only (no smithy-rpc-v2-cbor, whatever a newer model
    lists first)."""
    for svc, version, model in (
            ("logs", "2014-03-28", SERVICES_DIR / "logs" / "model" / "logs-service-2.json"),
            ("sagemaker", "2017-07-24",
             SERVICES_DIR / "sagemaker" / "model" / "sagemaker-training-service-2.json")):
        m = json.loads(model.read_text())
        m["metadata"]["protocol"] = "json"
        m["metadata"]["protocols"] = ["json"]
        d = Path(tmp) / svc / version
        d.mkdir(parents=True, exist_ok=True)
        (d / "service-2.json").write_text(json.dumps(m))
        for extra in model.parent.glob("*-paginators-1.json"):
            (d / "paginators-1.json").write_text(extra.read_text())
    bs = botocore.session.get_session()
    bs.get_component("data_loader").search_paths.insert(0, str(tmp))
    return boto3.session.Session(botocore_session=bs)


@check
def cbor_free_json_path(c):
    with tempfile.TemporaryDirectory() as tmp:
        session = pinned_json_session(tmp)
        seen = []

        def record(request, **kwargs):
            seen.append((request.method, request.url, dict(request.headers)))

        logs = client(c.srv, "logs", session=session)
        sm = client(c.srv, "sagemaker", session=session)
        for cl in (logs, sm):
            assert getattr(cl.meta.service_model, "resolved_protocol", "json") == "json"
            assert cl.meta.service_model.protocol == "json"
            cl.meta.events.register("before-send", record)
        name = create_job(sm, unique_name("b143-json"), metrics=[METRIC_LOSS])
        c.srv.advance(30)
        (stream,) = [s["logStreamName"] for s in streams_of(logs, name)]
        assert all_events(logs, stream)[0]
        assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Completed"
        assert seen
        for method, url, headers in seen:
            assert method == "POST" and url.rstrip("/") == c.srv.url, url
            ct = headers.get("Content-Type")
            ct = ct.decode() if isinstance(ct, bytes) else ct
            assert ct == "application/x-amz-json-1.1", headers
            target = headers.get("X-Amz-Target")
            target = target.decode() if isinstance(target, bytes) else target
            assert target.split(".")[0] in ("Logs_20140328", "SageMaker"), target
            assert "smithy-protocol" not in {k.lower() for k in headers}, headers


@check
def log_streams_and_the_metric_story(c):
    c.srv.pause()
    name = create_job(c.sm, unique_name("b143-logs"), instances=2,
                      metrics=[METRIC_LOSS, METRIC_ACC], hyperparameters={"epochs": "4"})
    c.srv.advance(2.9)
    assert streams_of(c.logs, name) == []
    c.srv.advance(0.1)
    d = c.sm.describe_training_job(TrainingJobName=name)
    epoch = int(d["TrainingStartTime"].timestamp())
    names = [s["logStreamName"] for s in streams_of(c.logs, name)]
    assert names == [f"{name}/algo-1-{epoch}", f"{name}/algo-2-{epoch}"], names
    # never ahead of the clock; earlier reads are prefixes
    before = all_events(c.logs, names[0])[0]
    c.srv.advance(4)
    now = ms(c.srv.now())
    mid = all_events(c.logs, names[0])[0]
    assert mid[:len(before)] == before and all(e["ingestionTime"] <= now for e in mid)
    c.srv.advance(30)
    final = {m["MetricName"]: m["Value"]
             for m in c.sm.describe_training_job(TrainingJobName=name)["FinalMetricDataList"]}
    for stream in names:
        events = all_events(c.logs, stream)[0]
        assert events[:len(mid)] == mid or stream != names[0]
        for md in (METRIC_LOSS, METRIC_ACC):
            pts = series(events, md["Regex"])
            assert len(pts) == 4 and pts[-1][1] == final[md["Name"]], (md, pts, final)
    # FilterLogEvents interleaves the two streams by timestamp, and pages
    got, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        r = c.logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=f"{name}/",
                                     limit=5, **kw)
        got += r["events"]
        token = r.get("nextToken")
        if not token:
            break
    ts = [e["timestamp"] for e in got]
    assert ts == sorted(ts) and {e["logStreamName"] for e in got} == set(names)
    q = c.logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=f"{name}/",
                                 filterPattern='?"Epoch 4/4" ?SUCCESS')["events"]
    assert len(q) == 4, messages(q)
    # GetLogEvents paging at the end returns the same forward token
    r = c.logs.get_log_events(logGroupName=GROUP, logStreamName=names[0], startFromHead=True,
                              limit=3)
    assert len(r["events"]) == 3
    _, end = all_events(c.logs, names[0])
    r = c.logs.get_log_events(logGroupName=GROUP, logStreamName=names[0], nextToken=end)
    assert r["events"] == [] and r["nextForwardToken"] == end
    # the group ARN as logGroupIdentifier (this model does not require logGroupName)
    (g,) = c.logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
    assert g["logGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}"
    r = c.logs.describe_log_streams(logGroupIdentifier=g["logGroupArn"],
                                    logStreamNamePrefix=f"{name}/")
    assert [s["logStreamName"] for s in r["logStreams"]] == names
    r = c.logs.get_log_events(logGroupIdentifier=g["logGroupArn"], logStreamName=names[1],
                              startFromHead=True, limit=2)
    assert len(r["events"]) == 2
    c.srv.set_rate(1)


@check
def failed_and_stopped_jobs_tell_their_story(c):
    c.srv.pause()
    failed = create_job(c.sm, unique_name("b143-fail"), "algorithm-error")
    c.srv.advance(30)
    reason = c.sm.describe_training_job(TrainingJobName=failed)["FailureReason"]
    (stream,) = [s["logStreamName"] for s in streams_of(c.logs, failed)]
    msgs = messages(all_events(c.logs, stream)[0])
    lines = reason[len("AlgorithmError: "):].split("\n")
    assert msgs[-1 - len(lines):-1] == lines and "Reporting training FAILURE" in msgs[-1], msgs
    assert "Traceback (most recent call last):" in msgs
    stopped = create_job(c.sm, unique_name("b143-stop"))
    c.srv.advance(6.5)
    c.sm.stop_training_job(TrainingJobName=stopped)
    c.srv.advance(30)
    (stream,) = [s["logStreamName"] for s in streams_of(c.logs, stopped)]
    msgs = messages(all_events(c.logs, stream)[0])
    assert "Received SIGTERM: stopping the training job" in msgs, msgs
    assert not any("SUCCESS" in m for m in msgs)
    c.srv.set_rate(1)


@check
def failed_job_metric_agrees_with_the_log(c):
    c.srv.pause()
    name = create_job(c.sm, unique_name("b143-fail-metric"), "algorithm-error",
                      metrics=[METRIC_LOSS])
    c.srv.advance(30)
    (fm,) = c.sm.describe_training_job(TrainingJobName=name)["FinalMetricDataList"]
    (stream,) = [s["logStreamName"] for s in streams_of(c.logs, name)]
    pts = series(all_events(c.logs, stream)[0], METRIC_LOSS["Regex"])
    c.srv.set_rate(1)
    assert pts and pts[-1][1] == fm["Value"], f"log ends {pts[-1:]}, Describe says {fm}"


@check
def logs_errors(c):
    assert raises(lambda: c.logs.describe_log_streams(logGroupName="/aws/lambda/x")) == \
        ("ResourceNotFoundException", "The specified log group does not exist.", 400)
    assert raises(lambda: c.logs.get_log_events(logGroupName=GROUP,
                                                logStreamName="none/algo-1-1")) == \
        ("ResourceNotFoundException", "The specified log stream does not exist.", 400)
    assert raises(lambda: c.logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="x", orderBy="LastEventTime")) == \
        ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.",
         400)


@check
def logs_are_per_region(c):
    c.srv.pause()
    name = create_job(c.sm, unique_name("b143-region"))
    c.srv.advance(30)
    eu = client(c.srv, "logs", region="eu-west-1")
    assert streams_of(c.logs, name) and streams_of(eu, name) == []
    c.srv.set_rate(1)


@check
def sts_and_iam(c):
    r = c.sts.get_caller_identity()
    assert (r["Account"], r["Arn"]) == (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/sagemock")
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", r["UserId"]), r["UserId"]
    role = c.iam.get_role(RoleName="SageMakerRole")["Role"]
    assert (role["Arn"], role["Path"]) == (f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole", "/")
    assert role["CreateDate"].tzinfo is not None
    assert c.iam.get_role(RoleName="SageMakerRole")["Role"] == role
    status, _, raw = c.srv.admin("POST", "/_sagemock/fixtures",
                                 {"iam": {"missingRoles": ["missing-*"]}})
    assert status == 200, raw
    assert raises(lambda: c.iam.get_role(RoleName="missing-x")) == \
        ("NoSuchEntity", "The role with name missing-x cannot be found.", 404)


@check
def iam_validation_error_code(c):
    iam = client(c.srv, "iam", parameter_validation=False)
    code, message, status = raises(lambda: iam.get_role(RoleName="bad name!"))
    assert status == 400 and "'roleName'" in message, (code, message, status)
    assert code == "ValidationError", f"IAM calls it ValidationError, got {code}"


@check
def unserved_calls(c):
    code, message, status = raises(lambda: c.logs.put_log_events(
        logGroupName=GROUP, logStreamName="s", logEvents=[{"timestamp": 1, "message": "m"}]))
    assert (code, status) == ("UnknownOperationException", 400) and \
        "CloudWatch Logs" in message and "PutLogEvents" in message, message
    code, message, status = raises(lambda: c.sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/R", RoleSessionName="session"))
    assert (code, status) == ("InvalidAction", 400) and "AssumeRole" in message, message
    code, message, status = raises(lambda: client(c.srv, "ssm").get_parameter(Name="x"))
    assert code == "UnknownOperationException" and "AmazonSSM" in message, message
    s3 = client(c.srv, "s3", s3={"addressing_style": "path"})
    for call in (lambda: s3.list_buckets(), lambda: s3.get_object(Bucket="b", Key="k")):
        code, message, status = raises(call)
        assert (code, status) == ("NotImplemented", 501) and "AWS_ENDPOINT_URL_S3" in message, \
            (code, message, status)


@check
def logs_fault_is_retried(c):
    slept = []
    saved = botocore.endpoint.time
    botocore.endpoint.time = types.SimpleNamespace(sleep=slept.append)
    c.srv.admin("DELETE", "/_sagemock/faults")
    try:
        status, _, raw = c.srv.admin("POST", "/_sagemock/faults", {
            "service": "logs", "operation": "DescribeLogGroups", "error": "ThrottlingException",
            "count": 1})
        assert status == 200, raw
        retrying = client(c.srv, "logs", retries={"mode": "standard", "total_max_attempts": 3})
        r = retrying.describe_log_groups()
        assert r["ResponseMetadata"]["RetryAttempts"] == 1 and len(slept) == 1, r
    finally:
        botocore.endpoint.time = saved
        c.srv.admin("DELETE", "/_sagemock/faults")


# ------------------------------------------------------------------------------ runner
def main(argv):
    pick = argv[argv.index("-k") + 1] if "-k" in argv else None
    verbose = "-v" in argv
    print(f"boto3 {boto3.__version__} / botocore {botocore.__version__} / "
          f"Python {sys.version.split()[0]}")
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="sagemock-b143-") as work:
        srv = Server(work)
        try:
            srv.start()
        except Exception as e:  # noqa: BLE001
            print(f"FAIL - server start: {e}")
            print("0 passed, 1 failed")
            return 1
        ctx = Ctx(srv)
        try:
            for fn in CHECKS:
                if pick and pick not in fn.__name__:
                    continue
                CHECKER.take()
                t0 = time.monotonic()
                problem = None
                try:
                    fn(ctx)
                except Exception as e:  # noqa: BLE001
                    problem = (traceback.format_exc() if verbose else
                               f"{type(e).__name__}: {e}")
                finally:
                    if srv.running:
                        srv.set_rate(1)
                violations = CHECKER.take()
                if violations and not problem:
                    problem = "responses broke the service model:\n" + "\n".join(
                        f"  - {v}" for v in violations[:30])
                dt = time.monotonic() - t0
                if problem:
                    failed += 1
                    print(f"FAIL - {fn.__name__} ({dt:.2f}s)\n       " +
                          str(problem).replace("\n", "\n       ")[:3000])
                else:
                    passed += 1
                    print(f"ok   - {fn.__name__} ({dt:.2f}s)")
        finally:
            rc = srv.stop()
            if rc != 0:
                failed += 1
                print(f"FAIL - server exit status on SIGTERM: {rc}\n{srv.stderr_text(3000)}")
    print(f"conformance checker: {CHECKER.summary()}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
