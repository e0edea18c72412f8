"""Fixtures of the SageMaker Python SDK suite (run through tests/pysdk/run.sh).

* ``server``: one sagemock per module at clock rate 100 (the default scenario, about ten
  simulated seconds, takes a tenth of a second), stopped with SIGTERM; exit status 0.
* ``sdk_env``: the environment a user sets, and nothing else: ``AWS_ENDPOINT_URL`` pointing at
  the server, dummy credentials, a region. Every boto3 client the SDK makes (sagemaker, logs,
  sts, iam, sagemaker-metrics) goes to sagemock through it.
* ``session``: a ``sagemaker.Session`` with the telemetry opt-out; every response any of its
  clients receives is checked against the service's model by the conformance checker.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_SAGEMAKER"):
    os.environ.pop(var, None)
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from conformance import CHECKER  # noqa: E402
from helpers import Server, ServerStartError  # noqa: E402

TELEMETRY_OPT_OUT = {"SchemaVersion": "1.0",
                     "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    srv = Server(tmp_path_factory.mktemp(request.module.__name__), args=("--clock-rate", "100"))
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    rc = srv.stop()
    assert rc == 0, f"sagemock exited with {rc}\n{srv.stderr_text()}"


@pytest.fixture
def sdk_env(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return server


@pytest.fixture
def session(sdk_env):
    import boto3
    import sagemaker

    boto_session = boto3.Session()
    make_client = boto_session.client

    def checked_client(*args, **kwargs):  # every client the SDK makes from this session
        return CHECKER.attach(make_client(*args, **kwargs))

    boto_session.client = checked_client
    return sagemaker.Session(boto_session=boto_session, sagemaker_config=TELEMETRY_OPT_OUT)


@pytest.fixture(autouse=True)
def conformance_guard():
    yield
    violations = CHECKER.take()
    if violations:
        pytest.fail(f"{len(violations)} response(s) broke their service model:\n" +
                    "\n".join(f"  - {v}" for v in violations[:50]), pytrace=False)
