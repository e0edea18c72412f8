"""The same CloudWatch datapoints through every client and protocol on this machine:

* Debian's boto3 1.26 (awsQuery), in this process;
* the newest boto3 (the pyenv interpreter's botocore 1.43: awsJson 1.0, the first protocol it
  supports in the model's list) and the same botocore driven over smithy-rpc-v2-cbor by a copy
  of the model whose `protocols` list only CBOR, both run by this file as a script in that
  interpreter (it has no pytest), every response checked there by the conformance checker;
* the AWS CLI v2 (Debian's /usr/bin/aws 2.9: awsQuery), through the recording proxy, which
  checks every response against the model.

For each: GetMetricStatistics (algorithm and instance metrics), GetMetricData, ListMetrics and
one refused call; every client must read exactly the datapoints Debian's boto3 reads.

Run: /usr/bin/python3 -m pytest -q -p boto3_plugin tests/e2e/test_cloudwatch_clients.py
As the driver: <pyenv python3> tests/e2e/test_cloudwatch_clients.py URL json|cbor CALLS_JSON
"""

import copy
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "strict"))

NS = "/aws/sagemaker/TrainingJobs"
MODEL = HERE.parents[1] / "server" / "services" / "cloudwatch" / "model" / \
    "cloudwatch-service-2.json"
AWS = "/usr/bin/aws"
CBOR = "smithy-rpc-v2-cbor"


def plain(value):
    """A response as JSON: datetimes as epoch seconds, ResponseMetadata dropped."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


# ------------------------------------------------------------------------ the driver (pyenv)
def cbor_session(tmp):
    """A botocore session whose loader reads sagemock's CloudWatch model with its protocols
    pinned to smithy-rpc-v2-cbor (botocore picks awsJson 1.0 from the real list)."""
    import botocore.session
    m = json.loads(MODEL.read_text())
    m["metadata"]["protocols"] = [CBOR]
    m["metadata"]["protocol"] = CBOR
    d = Path(tmp) / "cloudwatch" / "2010-08-01"
    d.mkdir(parents=True)
    (d / "service-2.json").write_text(json.dumps(m))
    paginators = MODEL.with_name("cloudwatch-paginators-1.json")
    if paginators.exists():
        shutil.copy(paginators, d / "paginators-1.json")
    bs = botocore.session.get_session()
    bs.get_component("data_loader").search_paths.insert(0, str(tmp))
    return bs


def drive(url, protocol, calls):
    """Run `calls` ([{"op": "get_metric_statistics", "args": {...}}, ...]) with botocore, in
    `protocol`; every response goes through the conformance checker. Prints one JSON object:
    the protocol botocore used, the results in order ({"ok": response} or {"error": {...}}),
    every header set seen on the wire, and the checker's violations."""
    import botocore
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from conformance import CHECKER

    tmp = tempfile.mkdtemp()
    try:
        bs = cbor_session(tmp) if protocol == "cbor" else botocore.session.get_session()
        c = bs.create_client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                             aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                             config=Config(retries={"total_max_attempts": 1}))
        CHECKER.attach(c)
        wire = []

        def seen(request, **kwargs):
            def get(name):
                v = request.headers.get(name)
                return v.decode() if isinstance(v, bytes) else (v or "")
            wire.append({"url": request.url, "content-type": get("Content-Type"),
                         "target": get("X-Amz-Target"), "smithy-protocol": get("smithy-protocol")})

        c.meta.events.register("before-send", seen)
        results = []
        for call in calls:
            try:
                results.append({"ok": plain(getattr(c, call["op"])(**call["args"]))})
            except ClientError as e:
                err = e.response["Error"]
                results.append({"error": {"Code": err.get("Code"), "Type": err.get("Type"),
                                          "Message": err.get("Message"),
                                          "status": e.response["ResponseMetadata"]
                                          ["HTTPStatusCode"]}})
        print(json.dumps({
            "botocore": botocore.__version__,
            "protocol": getattr(c.meta.service_model, "resolved_protocol", None)
            or c.meta.service_model.protocol,
            "results": results, "wire": wire,
            "violations": [str(v) for v in CHECKER.take()]}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    drive(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    sys.exit(0)

# ------------------------------------------------------------------------- the tests (Debian)
import pytest  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from awsclients import METRIC_ACC, METRIC_LOSS, SCENARIO_TAG, client  # noqa: E402
from helpers import IMAGE, job_request, unique_name  # noqa: E402


def latest_python():
    """The pyenv interpreter with botocore >= 1.37 (smithy-rpc-v2-cbor), or None."""
    for p in (os.environ.get("SAGEMOCK_PYTHON_LATEST"),
              os.path.expanduser("~/.pyenv/shims/python3"),
              shutil.which("python3", path=os.path.expanduser("~/.pyenv/shims"))):
        if not p or not os.path.exists(p):
            continue
        r = subprocess.run([p, "-c", "import botocore; print(botocore.__version__)"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            v = tuple(int(x) for x in r.stdout.strip().split(".")[:2])
            if v >= (1, 37):
                return p
    return None


LATEST = latest_python()


@pytest.fixture(scope="module")
def job(server, sm):
    """A finished job on a paused clock: 2 x ml.g5.xlarge (GPU metrics too), 3 epochs."""
    server.pause_at_whole_second()
    name = unique_name("cw-clients")
    sm.create_training_job(**job_request(
        name, AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                      "MetricDefinitions": [METRIC_LOSS, METRIC_ACC]},
        ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 2,
                        "VolumeSizeInGB": 30},
        HyperParameters={"epochs": "3"}, Tags=[{"Key": SCENARIO_TAG, "Value": "success"}]))
    server.advance(30)
    d = sm.describe_training_job(TrainingJobName=name)
    yield {"name": name, "start": int(d["CreationTime"].timestamp()) - 60,
           "end": int(d["TrainingEndTime"].timestamp()) + 60,
           "final": {m["MetricName"]: m["Value"] for m in d["FinalMetricDataList"]}}
    server.set_rate(1)


def calls_for(job):
    dims = [{"Name": "TrainingJobName", "Value": job["name"]}]
    host = [{"Name": "Host", "Value": f"{job['name']}/algo-2"}]
    window = {"StartTime": job["start"], "EndTime": job["end"]}
    return [
        {"op": "get_metric_statistics",
         "args": {"Namespace": NS, "MetricName": METRIC_LOSS["Name"], "Dimensions": dims,
                  "Period": 1, "Statistics": ["Average", "SampleCount", "Maximum"], **window}},
        {"op": "get_metric_statistics",
         "args": {"Namespace": NS, "MetricName": "GPUUtilization", "Dimensions": host,
                  "Period": 60, "ExtendedStatistics": ["p50", "p99.9"], **window}},
        {"op": "get_metric_data",
         "args": {"MetricDataQueries": [
             {"Id": "acc", "Label": "accuracy",
              "MetricStat": {"Metric": {"Namespace": NS, "MetricName": METRIC_ACC["Name"],
                                        "Dimensions": dims}, "Period": 1, "Stat": "Minimum"}},
             {"Id": "cpu", "MetricStat": {"Metric": {"Namespace": NS,
                                                     "MetricName": "CPUUtilization",
                                                     "Dimensions": host},
                                          "Period": 60, "Stat": "Average"}}],
             "ScanBy": "TimestampAscending", **window}},
        {"op": "list_metrics", "args": {"Namespace": NS, "Dimensions": dims}},
        {"op": "get_metric_statistics",
         "args": {"Namespace": NS, "MetricName": "x", "Period": 7, "Statistics": ["Sum"],
                  **window}},
    ]


def boto3_1_26(server, calls):
    """The calls with this interpreter's boto3 (Debian's 1.26: awsQuery)."""
    c = client(server, "cloudwatch")
    out = []
    for call in calls:
        args = dict(call["args"])
        for k in ("StartTime", "EndTime"):
            if k in args:
                args[k] = datetime.datetime.fromtimestamp(args[k], datetime.timezone.utc)
        try:
            out.append({"ok": plain(getattr(c, call["op"])(**args))})
        except ClientError as e:
            err = e.response["Error"]
            out.append({"error": {"Code": err.get("Code"), "Type": err.get("Type"),
                                  "Message": err.get("Message"),
                                  "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}})
    return out


def normalized(results):
    """What every client must agree on: datapoints sorted by time, metrics sorted."""
    out = []
    for r in results:
        r = copy.deepcopy(r)
        ok = r.get("ok")
        if ok and "Datapoints" in ok:
            ok["Datapoints"].sort(key=lambda p: p["Timestamp"])
        if ok and "Metrics" in ok:
            ok["Metrics"].sort(key=lambda m: m["MetricName"])
            for m in ok["Metrics"]:
                m["Dimensions"].sort(key=lambda d: d["Name"])
        if ok is not None:
            ok.pop("Messages", None)  # an empty list, which old clients drop
        out.append(r)
    return out


def test_boto3_1_26_reads_the_log_series_in_awsquery(server, job):
    res = boto3_1_26(server, calls_for(job))
    loss = sorted(res[0]["ok"]["Datapoints"], key=lambda p: p["Timestamp"])
    assert len(loss) >= 2 and loss[-1]["Average"] == job["final"][METRIC_LOSS["Name"]]
    assert res[1]["ok"]["Datapoints"] and all(
        set(p["ExtendedStatistics"]) == {"p50", "p99.9"} for p in res[1]["ok"]["Datapoints"])
    acc, cpu = res[2]["ok"]["MetricDataResults"]
    assert acc["Label"] == "accuracy" and acc["Values"][-1] == job["final"][METRIC_ACC["Name"]]
    assert cpu["Values"] and acc["StatusCode"] == cpu["StatusCode"] == "Complete"
    assert len(res[3]["ok"]["Metrics"]) == 2
    assert res[4]["error"]["Code"] == "InvalidParameterValue"


@pytest.mark.skipif(LATEST is None, reason="no pyenv python3 with botocore >= 1.37")
@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_the_newest_botocore_reads_the_same_datapoints(server, job, protocol):
    calls = calls_for(job)
    want = normalized(boto3_1_26(server, calls))
    p = subprocess.run([LATEST, __file__, server.url, protocol, json.dumps(calls)],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items()
                            if not k.startswith(("AWS_", "PYTHON"))} |
                       {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                        "NO_PROXY": "127.0.0.1,localhost"})
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["violations"] == [], out["violations"]
    if protocol == "json":
        assert out["protocol"] == "json"
        assert all(w["target"].startswith("GraniteServiceVersion20100801.") and
                   w["content-type"] == "application/x-amz-json-1.0" for w in out["wire"])
    else:
        assert out["protocol"] == CBOR
        assert all("/service/GraniteServiceVersion20100801/operation/" in w["url"] and
                   w["smithy-protocol"] == "rpc-v2-cbor" and
                   w["content-type"] == "application/cbor" for w in out["wire"]), out["wire"]
    got = normalized(out["results"])
    # botocore >= 1.3x names a query-compatible error by its awsQuery code, as 1.26 does
    assert got == want


# --------------------------------------------------------------------------- the AWS CLI v2
def cli_version():
    try:
        out = subprocess.run([AWS, "--version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    text = out.stdout + out.stderr
    if not text.startswith("aws-cli/"):
        return None
    return tuple(int(x) for x in text.split()[0].split("/")[1].split(".")[:2])


CLI = cli_version()


@pytest.mark.skipif(CLI is None or CLI[0] != 2, reason=f"AWS CLI v2 not found at {AWS}")
def test_the_aws_cli_v2_reads_the_same_datapoints(server, job, tmp_path):
    from recproxy import RecordingProxy

    proxy = RecordingProxy(server.url, client=f"aws-cli/{'.'.join(map(str, CLI))}").start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "",
           "NO_PROXY": "127.0.0.1,localhost"}

    def aws(*args, rc=0):
        cmd = [AWS, "cloudwatch", *args, "--endpoint-url", proxy.url, "--output", "json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == rc, f"{cmd}: {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        return json.loads(p.stdout) if p.stdout.strip() else p.stderr

    try:
        iso = {k: datetime.datetime.fromtimestamp(job[k], datetime.timezone.utc).isoformat()
               for k in ("start", "end")}
        want = normalized(boto3_1_26(server, calls_for(job)))
        got = aws("get-metric-statistics", "--namespace", NS, "--metric-name",
                  METRIC_LOSS["Name"], "--dimensions", f"Name=TrainingJobName,Value={job['name']}",
                  "--start-time", iso["start"], "--end-time", iso["end"], "--period", "1",
                  "--statistics", "Average", "SampleCount", "Maximum")
        got["Datapoints"] = [dict(p, Timestamp=datetime.datetime.fromisoformat(
            p["Timestamp"]).timestamp()) for p in got["Datapoints"]]
        assert normalized([{"ok": got}]) == want[:1]
        listed = aws("list-metrics", "--namespace", NS, "--dimensions",
                     f"Name=TrainingJobName,Value={job['name']}")
        assert normalized([{"ok": listed}]) == want[3:4]
        data = aws("get-metric-data", "--start-time", iso["start"], "--end-time", iso["end"],
                   "--scan-by", "TimestampAscending", "--metric-data-queries",
                   json.dumps(calls_for(job)[2]["args"]["MetricDataQueries"]))
        assert [x["Values"] for x in data["MetricDataResults"]] == \
            [x["Values"] for x in want[2]["ok"]["MetricDataResults"]]
        err = aws("get-metric-statistics", "--namespace", NS, "--metric-name", "x",
                  "--start-time", iso["start"], "--end-time", iso["end"], "--period", "7",
                  "--statistics", "Sum", rc=254)
        assert "(InvalidParameterValue)" in err, err
        problems = proxy.take()
        assert problems == [], problems
    finally:
        proxy.stop()


# ------------------------------------------------------------------------------- --auth sigv4
@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    import conftest
    from helpers import ACCESS_KEY, SECRET_KEY
    d = tmp_path_factory.mktemp("cloudwatch_sigv4")
    (d / "credentials").write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    srv = conftest._start(d / "srv", args=("--auth", "sigv4", "--credentials",
                                           str(d / "credentials")))
    yield srv
    conftest._stop_and_check(srv)


@pytest.mark.parametrize("protocol", ["query", "json", "cbor"])
def test_signed_calls_pass_and_a_bad_signature_is_refused_in_each_protocol(strict, protocol):
    """Signed with the signing name "monitoring" (the CBOR path is part of the signature)."""
    calls = [{"op": "list_metrics", "args": {}}]
    if protocol == "query":
        c = client(strict, "cloudwatch")
        assert c.list_metrics()["Metrics"] == []
        bad = client(strict, "cloudwatch", secret="wrong")
        with pytest.raises(ClientError) as e:
            bad.list_metrics()
        assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        return
    if LATEST is None:
        pytest.skip("no pyenv python3 with botocore >= 1.37")
    p = subprocess.run([LATEST, __file__, strict.url, protocol, json.dumps(calls)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["results"] == [{"ok": {"Metrics": []}}] and out["violations"] == [], out
