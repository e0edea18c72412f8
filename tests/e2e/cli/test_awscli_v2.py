"""sagemock driven by the real AWS CLI v2 (Debian's /usr/bin/aws, aws-cli 2.9.19).

Every training-job operation that this CLI has goes through `aws sagemaker ... --endpoint-url`,
with JSON output parsed and checked. The CLI talks to sagemock through a recording proxy
(tests/e2e/strict/recproxy.py): every response it receives is decoded by the strict decoder and
checked by the conformance checker, and any problem fails the test that caused it.

Set-up work that is not about the CLI (creating a dozen jobs to list) uses boto3, which is
fast; each CLI call costs about a second of start-up, so the calls are few and each checks a lot.
Shorthand options and the validation message are covered by tests/cli/smoke.sh already.

Run: /usr/bin/python3 -m pytest -q tests/e2e/cli    (SAGEMOCK_BIN overrides build/sagemock)
"""

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "strict"))

from helpers import ROLE_ARN, arn_for, job_request, unique_name  # noqa: E402
from recproxy import RecordingProxy  # noqa: E402

AWS = os.environ.get("SAGEMOCK_AWS_CLI", "/usr/bin/aws")
VERSION_RE = re.compile(r"aws-cli/(\d+)\.(\d+)\.(\d+)")


def _cli_version():
    if not (os.path.isfile(AWS) and os.access(AWS, os.X_OK)):
        return None
    out = subprocess.run([AWS, "--version"], capture_output=True, text=True, timeout=60)
    m = VERSION_RE.search(out.stdout + out.stderr)
    return tuple(int(x) for x in m.groups()) if m else None


CLI_VERSION = _cli_version()
pytestmark = pytest.mark.skipif(CLI_VERSION is None or CLI_VERSION[0] != 2,
                                reason=f"AWS CLI v2 not found at {AWS}")


# ------------------------------------------------------------------------------ fixtures
class Cli:
    """Runs `aws sagemaker ...` against the proxy, isolated from the user's AWS configuration."""

    def __init__(self, url, workdir):
        self.url = url
        empty_config = workdir / "config"
        empty_creds = workdir / "credentials"
        empty_config.write_text("")
        empty_creds.write_text("")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("http_proxy", "https_proxy",
                                                        "HTTP_PROXY", "HTTPS_PROXY")}
        env.update({
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(empty_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty_creds), "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true", "TZ": "UTC",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        self.env = env
        self.calls = 0

    def run(self, *args, rc=0, timeout=60):
        """`aws sagemaker ARGS --endpoint-url URL --output json`; asserts the exit status `rc`
        (None: any) and returns (exit status, parsed stdout or None, stderr)."""
        cmd = [AWS, "sagemaker", *args, "--endpoint-url", self.url, "--output", "json"]
        self.calls += 1
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        shown = " ".join(a if len(a) < 80 else a[:77] + "..." for a in cmd)
        if rc is not None:
            assert p.returncode == rc, (f"{shown}\nexit {p.returncode}, expected {rc}\n"
                                        f"stdout: {p.stdout[:2000]}\nstderr: {p.stderr[:2000]}")
        out = None
        if p.stdout.strip():
            try:
                out = json.loads(p.stdout)
            except ValueError:
                pytest.fail(f"{shown}: stdout is not JSON: {p.stdout[:2000]}", pytrace=False)
        return p.returncode, out, p.stderr


@pytest.fixture(scope="module")
def proxy(server):
    p = RecordingProxy(server.url, client=f"aws-cli/{'.'.join(map(str, CLI_VERSION or ()))}")
    p.start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def cli(proxy, tmp_path_factory):
    return Cli(proxy.url, tmp_path_factory.mktemp("awscli"))


@pytest.fixture(autouse=True)
def strict_guard(request):
    """Fail the test if a response the CLI received does not decode strictly."""
    yield
    if "proxy" not in request.fixturenames:
        return
    problems = request.getfixturevalue("proxy").take()
    if problems:
        pytest.fail(f"{len(problems)} response(s) the AWS CLI received broke the model:\n" +
                    "\n".join(f"  - {p}" for p in problems[:50]), pytrace=False)


@pytest.fixture
def paused(server):
    server.pause()
    yield server
    server.set_rate(1)


def raw_of(proxy, operation):
    """The parsed body of the last `operation` response that went through the proxy."""
    for rec in reversed(proxy.records):
        if rec["operation"] == operation:
            return json.loads(rec["body"]) if rec["body"] else {}
    raise AssertionError(f"no {operation} response went through the proxy")


def iso_ms(text):
    """A timestamp as the CLI v2 prints it (ISO 8601) -> integer epoch milliseconds."""
    dt = datetime.datetime.fromisoformat(text)
    assert dt.tzinfo is not None, f"{text!r} has no offset"
    return round(dt.timestamp() * 1000)


def _cli_model():
    """The sagemaker model bundled with the CLI (its botocore fork), or None."""
    try:
        import awscli  # Debian's awscli v2 is a Python package of /usr/bin/python3
    except ImportError:
        return None
    path = Path(awscli.__file__).parent / "botocore/data/sagemaker/2017-07-24/service-2.json"
    return json.loads(path.read_text()) if path.is_file() else None


CLI_MODEL = _cli_model()
DROPPED = set()  # members the CLI did not print because its model predates them


def assert_same_instants(printed, raw, operation):
    """Every timestamp the CLI printed is the epoch number on the wire (to the millisecond);
    every other member is the same value. Members the wire has and the CLI did not print must
    be unknown to the CLI's own (older) model: it drops those silently."""
    shapes = CLI_MODEL["shapes"] if CLI_MODEL else None
    start = CLI_MODEL["operations"][operation]["output"]["shape"] if CLI_MODEL else None

    def walk(p, r, shape, path):
        sh = shapes.get(shape, {}) if shapes and shape else {}
        if isinstance(r, dict):
            assert isinstance(p, dict) and set(p) <= set(r), (path, p, r)
            for k in r:
                if k not in p:
                    if sh.get("type") == "structure":
                        assert k not in sh.get("members", {}), \
                            f"{path}.{k}: the CLI's model has it, yet it was not printed"
                    DROPPED.add(f"{operation}{path}.{k}")
                    continue
                if sh.get("type") == "structure":
                    sub = sh.get("members", {}).get(k, {}).get("shape")
                else:
                    sub = sh.get("value", {}).get("shape")
                walk(p[k], r[k], sub, f"{path}.{k}")
        elif isinstance(r, list):
            assert isinstance(p, list) and len(p) == len(r), (path, p, r)
            for i, (a, b) in enumerate(zip(p, r)):
                walk(a, b, sh.get("member", {}).get("shape"), f"{path}[{i}]")
        elif isinstance(r, float) or (path.endswith("Time") and isinstance(r, int)):
            assert isinstance(p, str), f"{path}: {p!r} (wire {r!r})"
            assert iso_ms(p) == round(r * 1000), f"{path}: printed {p}, wire {r}"
        else:
            assert p == r, f"{path}: printed {p!r}, wire {r!r}"

    walk(printed, raw, start, "")


def rich_job(name):
    return job_request(
        name,
        HyperParameters={"eta": "0.1", "num_round": "10"},
        Environment={"MODE": "test"},
        Tags=[{"Key": "team", "Value": "ml"}],
    )


# ------------------------------------------------------------------------------ create/describe
def test_create_then_describe_prints_every_field_and_exact_times(cli, proxy, paused):
    start = int(paused.now()) + 5 + 0.25  # a fractional creation time: milliseconds must survive
    paused.set_clock(start)
    name = unique_name("cli-create")
    _, out, _ = cli.run("create-training-job", "--cli-input-json", json.dumps(rich_job(name)))
    assert out == {"TrainingJobArn": arn_for(name)}

    paused.advance(4)  # Downloading
    _, d, _ = cli.run("describe-training-job", "--training-job-name", name)
    raw = raw_of(proxy, "DescribeTrainingJob")
    assert_same_instants(d, raw, "DescribeTrainingJob")  # every number parsed, to the ms
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("InProgress", "Downloading")
    assert d["TrainingJobName"] == name and d["TrainingJobArn"] == arn_for(name)
    assert iso_ms(d["CreationTime"]) == round(start * 1000)
    assert d["CreationTime"].endswith(".250000+00:00"), d["CreationTime"]
    assert iso_ms(d["TrainingStartTime"]) == round((start + 3) * 1000)
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Downloading"]
    assert all(t["StatusMessage"] for t in d["SecondaryStatusTransitions"])
    assert d["HyperParameters"] == {"eta": "0.1", "num_round": "10"}
    assert d["Environment"] == {"MODE": "test"}
    assert d["ResourceConfig"]["InstanceCount"] == 1
    assert d["RoleArn"] == ROLE_ARN
    assert "Tags" not in d and "TrainingEndTime" not in d


def test_create_with_a_taken_name_exits_254_with_resource_in_use(cli, sm):
    name = unique_name("cli-dup")
    sm.create_training_job(**job_request(name))
    rc, out, err = cli.run("create-training-job", "--cli-input-json",
                           json.dumps(job_request(name)), rc=254)
    assert out is None
    assert "An error occurred (ResourceInUse) when calling the CreateTrainingJob operation" in err
    assert f"({arn_for(name)})" in err, err


def test_describe_of_a_missing_job_exits_254_with_validation_exception(cli):
    rc, out, err = cli.run("describe-training-job", "--training-job-name",
                           unique_name("cli-missing"), rc=254)
    assert out is None
    assert err.strip().endswith(
        "An error occurred (ValidationException) when calling the DescribeTrainingJob "
        "operation: Requested resource not found."), err


# ------------------------------------------------------------------------------ list
@pytest.fixture(scope="module")
def twelve_jobs(server, sm):
    """A clean server with 12 jobs created one simulated second apart: at the end the 7 oldest
    are Completed and the 5 newest InProgress. Returns (names newest first, first creation)."""
    server.reset()
    server.pause()
    t0 = int(server.now()) + 5
    server.set_clock(t0)
    tag = f"l{os.getpid() % 10000}"
    names = []
    for i in range(12):
        name = f"cli-list-{tag}-{i:02d}" if i % 2 else f"cli-other-{tag}-{i:02d}"
        sm.create_training_job(**job_request(name))
        names.append(name)
        server.advance(1)
    server.set_clock(t0 + 16)  # jobs created at t0 .. t0+6 have completed (10 s plan)
    yield list(reversed(names)), t0, tag
    server.set_rate(1)


def names_of(out):
    return [s["TrainingJobName"] for s in out["TrainingJobSummaries"]]


def test_list_max_items_and_starting_token_walk_every_job_once(cli, proxy, twelve_jobs):
    names, _, _ = twelve_jobs
    before = proxy.counts["ListTrainingJobs"]
    _, first, _ = cli.run("list-training-jobs", "--max-items", "5", "--page-size", "3")
    assert names_of(first) == names[:5]  # newest first
    assert first.get("NextToken"), first
    _, rest, _ = cli.run("list-training-jobs", "--starting-token", first["NextToken"],
                         "--max-items", "100", "--page-size", "3")
    assert names_of(rest) == names[5:]
    assert "NextToken" not in rest
    # 5 items at 3 a page: 2 requests; then the rest from the middle of page 2: 3 requests.
    assert proxy.counts["ListTrainingJobs"] - before == 5
    raw = raw_of(proxy, "ListTrainingJobs")
    assert "NextToken" not in raw and len(raw["TrainingJobSummaries"]) == 3


def test_list_without_arguments_follows_next_token(cli, proxy, twelve_jobs):
    names, t0, _ = twelve_jobs
    before = proxy.counts["ListTrainingJobs"]
    _, out, _ = cli.run("list-training-jobs")
    assert names_of(out) == names
    assert proxy.counts["ListTrainingJobs"] - before == 2  # default page of 10, then 2
    by_name = {s["TrainingJobName"]: s for s in out["TrainingJobSummaries"]}
    for i, name in enumerate(reversed(names)):
        s = by_name[name]
        assert iso_ms(s["CreationTime"]) == (t0 + i) * 1000
        if i <= 6:
            assert s["TrainingJobStatus"] == "Completed"
            assert iso_ms(s["TrainingEndTime"]) == (t0 + i + 10) * 1000
        else:
            assert s["TrainingJobStatus"] == "InProgress" and "TrainingEndTime" not in s


def test_list_filters_status_name_time_and_sort(cli, twelve_jobs):
    names, t0, tag = twelve_jobs
    oldest_first = list(reversed(names))
    # Filters apply after paging (pages of 4 here): the CLI's paginator must still see them all.
    _, out, _ = cli.run("list-training-jobs", "--status-equals", "Completed", "--page-size", "4")
    assert names_of(out) == names[5:]
    _, out, _ = cli.run("list-training-jobs", "--name-contains", f"CLI-LIST-{tag.upper()}",
                        "--sort-by", "Name", "--sort-order", "Ascending")
    assert names_of(out) == sorted(n for n in names if n.startswith("cli-list-"))
    _, out, _ = cli.run("list-training-jobs", "--creation-time-after", str(t0 + 5),
                        "--status-equals", "InProgress", "--sort-by", "CreationTime",
                        "--sort-order", "Ascending")
    assert names_of(out) == oldest_first[7:]


# ------------------------------------------------------------------------------ stop, wait
def test_stop_then_wait_then_stop_again(cli, proxy, sm, paused):
    name = unique_name("cli-stop")
    sm.create_training_job(**job_request(name))
    paused.advance(5)  # Training
    _, out, _ = cli.run("stop-training-job", "--training-job-name", name)
    assert out is None  # StopTrainingJob has no output
    assert raw_of(proxy, "StopTrainingJob") == {}
    paused.advance(2.5)  # Stopping lasts 2 s
    t = time.monotonic()
    cli.run("wait", "training-job-completed-or-stopped", "--training-job-name", name)
    assert time.monotonic() - t < 30, "the first poll of the waiter should have succeeded"
    d = raw_of(proxy, "DescribeTrainingJob")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [x["Status"] for x in d["SecondaryStatusTransitions"]] == \
        ["Starting", "Downloading", "Training", "Stopping", "Stopped"]
    _, _, err = cli.run("stop-training-job", "--training-job-name", name, rc=254)
    assert ("An error occurred (ValidationException) when calling the StopTrainingJob operation: "
            "The request was rejected because the training job is in status Stopped.") in err, err


def test_wait_returns_at_once_for_a_completed_job(cli, proxy, sm, paused):
    # The CLI waiter polls every 120 s (not configurable), but its first poll is immediate.
    name = unique_name("cli-wait")
    sm.create_training_job(**job_request(name))
    paused.advance(11)
    t = time.monotonic()
    _, out, _ = cli.run("wait", "training-job-completed-or-stopped", "--training-job-name", name)
    assert out is None and time.monotonic() - t < 30
    d = raw_of(proxy, "DescribeTrainingJob")
    assert d["TrainingJobName"] == name and d["TrainingJobStatus"] == "Completed"
    assert d["TrainingTimeInSeconds"] == d["BillableTimeInSeconds"] == 7


def test_wait_on_a_missing_job_fails_at_once(cli):
    t = time.monotonic()
    rc, _, err = cli.run("wait", "training-job-completed-or-stopped", "--training-job-name",
                         unique_name("cli-nowait"), rc=255)
    assert time.monotonic() - t < 30
    assert "Waiter TrainingJobCompletedOrStopped failed" in err, err
    assert "ValidationException" in err, err


# ------------------------------------------------------------------------------ update
def test_update_profiler_while_in_progress_and_the_empty_update(cli, proxy, sm, paused):
    name = unique_name("cli-upd")
    sm.create_training_job(**job_request(name))
    _, out, _ = cli.run("update-training-job", "--training-job-name", name, "--profiler-config",
                        "ProfilingIntervalInMilliseconds=500,S3OutputPath=s3://bucket/prof")
    assert out == {"TrainingJobArn": arn_for(name)}
    d = sm.describe_training_job(TrainingJobName=name)
    assert d["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 500
    assert d["ProfilingStatus"] == "Enabled"
    _, _, err = cli.run("update-training-job", "--training-job-name", name, rc=254)
    assert ("An error occurred (ValidationException) when calling the UpdateTrainingJob "
            "operation: Invalid UpdateTrainingJobRequest, the request cannot be empty") in err, err


def test_update_warm_pool_keep_alive_after_completion(cli, proxy, sm, paused):
    name = unique_name("cli-wp")
    sm.create_training_job(**job_request(name, ResourceConfig={
        "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30,
        "KeepAlivePeriodInSeconds": 60}))
    paused.advance(11)
    _, out, _ = cli.run("update-training-job", "--training-job-name", name,
                        "--resource-config", "KeepAlivePeriodInSeconds=120")
    assert out == {"TrainingJobArn": arn_for(name)}
    _, d, _ = cli.run("describe-training-job", "--training-job-name", name)
    assert_same_instants(d, raw_of(proxy, "DescribeTrainingJob"), "DescribeTrainingJob")
    assert d["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 120
    assert d["WarmPoolStatus"]["Status"] == "Available"


# ------------------------------------------------------------------------------ tags
def test_add_list_delete_tags(cli, proxy, sm):
    name = unique_name("cli-tags")
    sm.create_training_job(**job_request(name, Tags=[{"Key": "team", "Value": "ml"}]))
    arn = arn_for(name)
    _, out, _ = cli.run("add-tags", "--resource-arn", arn,
                        "--tags", "Key=env,Value=ci", "Key=owner,Value=me")
    assert out == {"Tags": [{"Key": "env", "Value": "ci"}, {"Key": "owner", "Value": "me"}]}
    _, out, _ = cli.run("list-tags", "--resource-arn", arn)
    assert out == {"Tags": [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "ci"},
                            {"Key": "owner", "Value": "me"}]}
    _, out, _ = cli.run("delete-tags", "--resource-arn", arn, "--tag-keys", "env")
    assert out is None or out == {}
    assert raw_of(proxy, "DeleteTags") == {}
    _, out, _ = cli.run("list-tags", "--resource-arn", arn, "--max-items", "1")
    assert out["Tags"] == [{"Key": "team", "Value": "ml"}] and out.get("NextToken"), out


# ------------------------------------------------------------------------------ delete
def test_delete_training_job_if_this_cli_has_it(cli, sm, paused):
    name = unique_name("cli-del")
    sm.create_training_job(**job_request(name))
    paused.advance(11)
    rc, out, err = cli.run("delete-training-job", "--training-job-name", name, rc=None)
    if rc == 252 and "Invalid choice" in err:
        pytest.skip(f"aws-cli {'.'.join(map(str, CLI_VERSION))} has no delete-training-job "
                    f"(its model predates DeleteTrainingJob)")
    assert rc == 0, err
    cli.run("describe-training-job", "--training-job-name", name, rc=254)


def test_endpoint_from_the_environment_if_this_cli_supports_it(server, tmp_path, proxy):
    if CLI_VERSION < (2, 13, 0):
        pytest.skip(f"aws-cli {'.'.join(map(str, CLI_VERSION))} predates "
                    f"AWS_ENDPOINT_URL_<SERVICE> (added in 2.13.0)")
    c = Cli(proxy.url, tmp_path)
    env = dict(c.env, AWS_ENDPOINT_URL_SAGEMAKER=proxy.url)
    p = subprocess.run([AWS, "sagemaker", "list-training-jobs", "--output", "json"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "TrainingJobSummaries" in json.loads(p.stdout)


# ------------------------------------------------------------------------------ wiring
def test_every_operation_went_through_the_strict_decoder(proxy, cli):
    """Wiring: the CLI really talked through the recording proxy, for every operation it has."""
    expected = {"CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs",
                "StopTrainingJob", "UpdateTrainingJob", "AddTags", "ListTags", "DeleteTags"}
    missing = expected - {op for op, n in proxy.counts.items() if n}
    assert not missing, f"no response of {sorted(missing)} was decoded; saw {dict(proxy.counts)}"
    assert len(proxy.records) >= cli.calls
