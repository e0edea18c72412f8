"""The AWS CLI v2 (Debian's /usr/bin/aws) on the services besides SageMaker: `aws logs`,
`aws sts`, `aws iam` against the same endpoint, through the recording proxy, which checks every
response against its own service model (tests/e2e/strict/recproxy.py, conformance.py). Jobs are
made with boto3 (fast); each CLI call costs about a second, so the calls are few.

Run: /usr/bin/python3 -m pytest -q tests/e2e/cli    (SAGEMOCK_BIN overrides build/sagemock)
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "strict"))

from awsclients import GROUP, METRIC_LOSS, create_job, series  # noqa: E402
from helpers import unique_name  # noqa: E402
from recproxy import RecordingProxy  # noqa: E402
from test_awscli_v2 import AWS, CLI_VERSION, Cli  # noqa: E402

pytestmark = pytest.mark.skipif(CLI_VERSION is None or CLI_VERSION[0] != 2,
                                reason=f"AWS CLI v2 not found at {AWS}")


class ServiceCli(Cli):
    def aws(self, service, *args, rc=0):
        cmd = [AWS, service, *args, "--endpoint-url", self.url, "--output", "json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=60)
        if rc is not None:
            assert p.returncode == rc, (f"{' '.join(cmd)}\nexit {p.returncode}, expected {rc}\n"
                                        f"stdout: {p.stdout[:2000]}\nstderr: {p.stderr[:2000]}")
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


@pytest.fixture(scope="module")
def proxy(server):
    p = RecordingProxy(server.url, client=f"aws-cli/{'.'.join(map(str, CLI_VERSION or ()))}")
    p.start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def cli(proxy, tmp_path_factory):
    return ServiceCli(proxy.url, tmp_path_factory.mktemp("awscli-services"))


@pytest.fixture(autouse=True)
def model_guard(request):
    yield
    if "proxy" not in request.fixturenames:
        return
    problems = request.getfixturevalue("proxy").take()
    if problems:
        pytest.fail(f"{len(problems)} response(s) the AWS CLI received broke the model:\n" +
                    "\n".join(f"  - {p}" for p in problems[:50]), pytrace=False)


def test_aws_logs_reads_a_jobs_streams_and_events(server, cli, proxy):
    server.pause()
    try:
        sm = server.client()
        name = create_job(sm, unique_name("cli-logs"), instances=2, metrics=[METRIC_LOSS],
                          hyperparameters={"epochs": "3"})
        server.advance(30)
        final = sm.describe_training_job(TrainingJobName=name)["FinalMetricDataList"][0]["Value"]
    finally:
        server.set_rate(1)
    _, out, _ = cli.aws("logs", "describe-log-streams", "--log-group-name", GROUP,
                        "--log-stream-name-prefix", f"{name}/")
    streams = [s["logStreamName"] for s in out["logStreams"]]
    assert len(streams) == 2 and all(re.fullmatch(rf"{name}/algo-[12]-\d{{10}}", s)
                                     for s in streams), streams
    _, out, _ = cli.aws("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name",
                        streams[0], "--start-from-head")
    msgs = [e["message"] for e in out["events"]]
    assert msgs[0].startswith("Downloading input data for channel train")
    assert msgs[-1].endswith("Reporting training SUCCESS")
    assert series(out["events"], METRIC_LOSS["Regex"])[-1][1] == final
    # the CLI pages FilterLogEvents itself
    _, out, _ = cli.aws("logs", "filter-log-events", "--log-group-name", GROUP,
                        "--log-stream-name-prefix", f"{name}/", "--filter-pattern", "Epoch",
                        "--page-size", "2")
    assert sorted(e["message"] for e in out["events"]) == sorted(
        [f"Epoch {k}/3" for k in (1, 2, 3)] * 2)
    assert {e["logStreamName"] for e in out["events"]} == set(streams)
    report = proxy.report()["operations"]
    assert report.get("logs:FilterLogEvents", 0) >= 3, report  # 6 events, pages of 2


def test_aws_sts_and_iam(cli, server):
    _, out, _ = cli.aws("sts", "get-caller-identity")
    assert (out["Account"], out["Arn"]) == ("123456789012",
                                            "arn:aws:iam::123456789012:user/sagemock")
    _, out, _ = cli.aws("iam", "get-role", "--role-name", "SageMakerRole")
    assert out["Role"]["Arn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    status, _, raw = server.admin("POST", "/_sagemock/fixtures",
                                  {"iam": {"missingRoles": ["cli-missing-*"]}})
    assert status == 200, raw
    rc, _, err = cli.aws("iam", "get-role", "--role-name", "cli-missing-x", rc=None)
    assert rc != 0 and "NoSuchEntity" in err
    assert "The role with name cli-missing-x cannot be found." in err


def test_aws_logs_put_log_events_is_not_served(cli):
    rc, _, err = cli.aws("logs", "put-log-events", "--log-group-name", GROUP, "--log-stream-name",
                         "s", "--log-events", "timestamp=1,message=m", rc=None)
    assert rc != 0 and "UnknownOperationException" in err and "PutLogEvents" in err, err
