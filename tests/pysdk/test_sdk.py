"""The real SageMaker Python SDK (v2.257.6) against sagemock, as a user runs it.

The only configuration is the environment a user sets (AWS_ENDPOINT_URL, dummy credentials, a
region) and the SDK's telemetry opt-out. Each test drives the SDK's own code paths: fit() with
its default log tailing (CloudWatch Logs), a role given by name (IAM GetRole), the caller
identity (STS), logs_for_job, Estimator.attach(...).logs(), and the errors a failing job raises.
"""

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.exceptions import UnexpectedStatusException

from conftest import TELEMETRY_OPT_OUT

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:1"
LOSS = {"Name": "train:loss", "Regex": r"train:loss=([0-9\.]+)"}
ACC = {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9\.]+)"}


def estimator(session, role="SageMakerRole", scenario=None, **kw):
    tags = [{"Key": "sagemock:scenario", "Value": scenario}] if scenario else None
    return Estimator(image_uri=IMAGE, role=role, instance_count=kw.pop("instance_count", 1),
                     instance_type="ml.m5.xlarge", output_path="s3://my-bucket/output",
                     sagemaker_session=session, hyperparameters={"epochs": "4"},
                     metric_definitions=[LOSS, ACC], tags=tags, **kw)


def journal(server, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    with urllib.request.urlopen(f"{server.url}/_sagemock/requests?limit=1000&{qs}") as r:
        return json.load(r)["requests"]


def series(text, regex):
    return [float(m) for m in re.findall(regex, text)]


def test_fit_with_default_logs_prints_the_jobs_log_and_completes(session, sdk_env, capsys):
    est = estimator(session)
    started = time.monotonic()
    est.fit({"train": "s3://my-bucket/train"})  # logs="All", wait=True: the SDK's default
    wall = time.monotonic() - started
    out = capsys.readouterr().out
    name = est.latest_training_job.name
    desc = session.sagemaker_client.describe_training_job(TrainingJobName=name)
    assert desc["TrainingJobStatus"] == "Completed"
    # The status lines and then the container's log, as on AWS.
    assert "Completed - Training job completed" in out
    assert "Downloading input data for channel train from s3://my-bucket/train" in out
    assert "Epoch 4/4" in out and "Reporting training SUCCESS" in out
    # The regex of each metric definition, applied to the printed log, gives a series whose last
    # value is Describe's FinalMetricDataList value.
    final = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    for md in (LOSS, ACC):
        values = series(out, md["Regex"])
        assert len(values) == 4, (md, values)
        assert values[-1] == final[md["Name"]]
    assert f"Training seconds: {desc['TrainingTimeInSeconds']}" in out
    # The role name went to IAM, and fit made no call sagemock does not serve.
    calls = journal(sdk_env)
    assert any(c.get("service") == "iam" and c["operation"] == "GetRole" for c in calls)
    assert desc["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert all(c["status"] == 200 for c in calls), [c for c in calls if c["status"] != 200]
    print(f"\nfit() with default logs, clock rate 100: {wall:.2f} s of wall time")


def test_a_failing_job_raises_and_its_printed_log_shows_the_error(session, capsys):
    est = estimator(session, role="arn:aws:iam::123456789012:role/SageMakerRole",
                    scenario="algorithm-error")
    with pytest.raises(UnexpectedStatusException) as e:
        est.fit({"train": "s3://my-bucket/train"})
    out = capsys.readouterr().out
    desc = est.latest_training_job.describe()
    assert desc["TrainingJobStatus"] == "Failed"
    assert "Failed" in str(e.value) and "AlgorithmError" in str(e.value)
    assert "Traceback (most recent call last):" in out
    reason = desc["FailureReason"]
    assert reason.startswith("AlgorithmError: ")
    # The traceback ends with the reason's text (the exception the script raised).
    assert reason[len("AlgorithmError: "):].splitlines()[0] in out
    assert "Reporting training FAILURE" in out


def test_logs_for_job_and_attach_logs_print_a_finished_jobs_log(session, capsys):
    est = estimator(session, instance_count=2)
    est.fit({"train": "s3://my-bucket/train"}, logs="None")
    name = est.latest_training_job.name
    capsys.readouterr()
    session.logs_for_job(name)
    out = capsys.readouterr().out
    assert out.count("Reporting training SUCCESS") == 2  # one stream per instance
    assert "host algo-1 of 2" in out and "host algo-2 of 2" in out
    attached = Estimator.attach(name, sagemaker_session=session)
    attached.logs()
    again = capsys.readouterr().out
    assert again.count("Reporting training SUCCESS") == 2
    assert series(again, LOSS["Regex"]) == series(out, LOSS["Regex"])


def test_a_stopped_job_shows_sigterm_in_its_log(session, sdk_env, capsys):
    est = estimator(session, scenario="long-running")
    est.fit({"train": "s3://my-bucket/train"}, wait=False)
    name = est.latest_training_job.name
    client = session.sagemaker_client
    for _ in range(200):  # until its container runs
        if client.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training":
            break
        time.sleep(0.05)
    client.stop_training_job(TrainingJobName=name)
    session.wait_for_job(name, poll=1)
    capsys.readouterr()
    session.logs_for_job(name)
    out = capsys.readouterr().out
    assert "Received SIGTERM" in out


def test_training_job_analytics_reads_the_logs_metric_series_from_cloudwatch(session, sdk_env,
                                                                            capsys):
    # Ten simulated minutes of training: the 4 epochs are 150 s apart, so each falls in its own
    # 60-second period (TrainingJobAnalytics' default), as on AWS where epochs are minutes apart.
    steps = [{"status": s, "durationSeconds": d, "messages": [{"atSeconds": 0, "text": s}]}
             for s, d in (("Starting", 3), ("Downloading", 2), ("Training", 600),
                          ("Uploading", 2))]
    status, _, raw = sdk_env.admin("POST", "/_sagemock/fixtures",
                                   {"scenarios": [{"name": "analytics", "steps": steps}]})
    assert status == 200, raw
    est = estimator(session, scenario="analytics")
    est.fit({"train": "s3://my-bucket/train"}, logs="None")
    name = est.latest_training_job.name
    desc = session.sagemaker_client.describe_training_job(TrainingJobName=name)
    final = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    capsys.readouterr()
    session.logs_for_job(name)
    printed = capsys.readouterr().out

    from sagemaker.analytics import TrainingJobAnalytics

    df = TrainingJobAnalytics(name, metric_names=[LOSS["Name"], ACC["Name"]],
                              sagemaker_session=session).dataframe()
    assert list(df.columns) == ["timestamp", "metric_name", "value"]
    for md in (LOSS, ACC):
        rows = df[df["metric_name"] == md["Name"]]
        # the series the log prints, ending at FinalMetricDataList's value
        assert list(rows["value"]) == series(printed, md["Regex"]), (md, rows)
        assert len(rows) == 4 and rows["value"].iloc[-1] == final[md["Name"]]
        t = list(rows["timestamp"])  # seconds from the first period, one period per epoch
        assert t[0] == 0 and all(b - a >= 60 and b % 60 == 0 for a, b in zip(t, t[1:])), t
    # without metric_names the SDK asks for every MetricDefinitions name
    every = TrainingJobAnalytics(name, sagemaker_session=session).dataframe()
    assert set(every["metric_name"]) == {LOSS["Name"], ACC["Name"]}
    # the instance metrics are per host (dimension Host), beside them in the namespace
    listed = session.boto_session.client("cloudwatch").list_metrics(
        Namespace="/aws/sagemaker/TrainingJobs",
        Dimensions=[{"Name": "Host", "Value": f"{name}/algo-1"}])["Metrics"]
    assert {m["MetricName"] for m in listed} == {"CPUUtilization", "MemoryUtilization",
                                                 "DiskUtilization"}


def test_a_role_name_a_fixture_declares_missing_is_no_such_entity(session, sdk_env):
    status, body, raw = sdk_env.admin("POST", "/_sagemock/fixtures",
                                      {"iam": {"missingRoles": ["Missing*"]}})
    assert status == 200, raw
    with pytest.raises(ClientError) as e:
        estimator(session, role="MissingRole").fit({"train": "s3://my-bucket/train"})
    err = e.value.response["Error"]
    assert (err["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("NoSuchEntity", 404)
    assert err["Message"] == "The role with name MissingRole cannot be found."


def test_the_caller_identity_is_the_configured_account(sdk_env):
    # boto3 honours AWS_ENDPOINT_URL for STS. (The SDK's own Session.account_id() does not: it
    # passes the regional AWS endpoint explicitly; the README says how to avoid needing it.)
    import boto3

    ident = boto3.client("sts").get_caller_identity()
    assert ident["Account"] == "123456789012"
    assert ident["Arn"] == "arn:aws:iam::123456789012:user/sagemock"


def test_default_bucket_without_an_s3_emulator_says_how_to_pair_one(sdk_env):
    import boto3

    session = sagemaker.Session(boto_session=boto3.Session(), default_bucket="my-bucket",
                                sagemaker_config=TELEMETRY_OPT_OUT)
    with pytest.raises(ClientError) as e:
        session.default_bucket()
    err = e.value.response["Error"]
    assert err["Code"] == "NotImplemented", err
    assert "AWS_ENDPOINT_URL_S3" in err["Message"]


def test_default_bucket_with_moto_as_the_s3_emulator(sdk_env, monkeypatch, tmp_path):
    moto = shutil.which("moto_server")
    if not moto:
        pytest.skip("moto_server is not installed: the S3 pairing is shown with it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "moto.log", "wb"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
        import boto3

        session = sagemaker.Session(boto_session=boto3.Session(), default_bucket="my-bucket",
                                    sagemaker_config=TELEMETRY_OPT_OUT)
        assert session.default_bucket() == "my-bucket"  # created in moto
        est = Estimator(image_uri=IMAGE, role="SageMakerRole", instance_count=1,
                        instance_type="ml.m5.xlarge", sagemaker_session=session)
        est.fit({"train": "s3://my-bucket/train"}, logs="None")  # output under the bucket
        desc = est.latest_training_job.describe()
        assert desc["OutputDataConfig"]["S3OutputPath"] == "s3://my-bucket/"
        assert desc["TrainingJobStatus"] == "Completed"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sdk_version_is_the_vendored_one():
    assert sagemaker.__version__ == "2.257.6"


def test_the_readmes_python_sdk_example_runs_as_written(sdk_env, capsys):
    # The block a user pastes from README.md's "The SageMaker Python SDK" section, unchanged.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### The SageMaker Python SDK"):]
    code = section[section.index("```python\n") + len("```python\n"):]
    code = code[:code.index("```\n")]
    exec(compile(code, "README.md (The SageMaker Python SDK)", "exec"), {})
    out = capsys.readouterr().out
    assert out.count("Reporting training SUCCESS") == 3  # fit, logs_for_job, attach().logs()
    assert "failed as expected: Error for Training job" in out
    assert "Traceback (most recent call last):" in out
