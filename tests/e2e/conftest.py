"""Fixtures of the sagemock end-to-end suite.

* ``server``: one sagemock per test module (file database in a temp dir, clock rate 1), stopped
  with SIGTERM at the end of the module; its exit status must be 0.
* ``make_server``: a factory for servers with extra flags (``make_server("--clock-rate", "10")``),
  stopped (and their exit status asserted) at the end of the test.
* ``sm``: a boto3 SageMaker client (us-east-1) on ``server``; ``server.client(region=...)`` makes
  more. Every boto3 client made through a Server, and every ``raw_call``, is checked by the
  conformance checker; any violation fails the test that made the call (at teardown).
* ``paused``: pauses ``server``'s clock for the test (and sets rate 1 back afterwards).

Run: /usr/bin/python3 -m pytest -q tests/e2e    (SAGEMOCK_BIN overrides build/sagemock)
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

# Keep the clients away from the developer's AWS configuration and any proxy.
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_DEFAULT_PROFILE", None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from conformance import CHECKER  # noqa: E402
from helpers import Server, ServerStartError  # noqa: E402


def _start(workdir, args=(), db=None, name="sagemock"):
    srv = Server(workdir, db=db, args=args, name=name)
    problem = None
    try:
        srv.start()
    except ServerStartError as e:
        problem = str(e)
    if problem:  # outside the except block: no chained traceback, just the server's output
        pytest.fail(problem, pytrace=False)
    return srv


def _stop_and_check(srv):
    if srv.proc is None:
        return
    rc = srv.stop()
    assert rc == 0, (f"sagemock ({' '.join(srv.cmd)}) exited with {rc} on SIGTERM "
                     f"(None: did not exit within 10 s)\nstderr:\n{srv.stderr_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    srv = _start(tmp_path_factory.mktemp(request.module.__name__.replace(".", "_")))
    yield srv
    _stop_and_check(srv)


@pytest.fixture
def make_server(tmp_path):
    started = []
    counter = [0]

    def make(*args, db=None):
        counter[0] += 1
        srv = _start(tmp_path / f"srv{counter[0]}", args=args, db=db, name=f"sagemock{counter[0]}")
        started.append(srv)
        return srv

    yield make
    for srv in started:
        _stop_and_check(srv)


@pytest.fixture(scope="module")
def sm(server):
    return server.client()


@pytest.fixture
def paused(server):
    """Pause the module server's clock; restore rate 1 afterwards."""
    server.pause()
    yield server
    if server.running:
        server.set_rate(1)


@pytest.fixture
def checker():
    return CHECKER


@pytest.fixture(autouse=True)
def conformance_guard():
    """Fail the test if any response it received broke the service model."""
    # Violations recorded before this point come from module-fixture set-up: they are charged to
    # the first test that uses the fixture rather than dropped.
    yield CHECKER
    violations = CHECKER.take()
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        pytest.fail(f"{len(violations)} response(s) broke the service model:\n{lines}{more}",
                    pytrace=False)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"sagemock conformance checker: {CHECKER.summary()} against the models in "
        f"{os.path.relpath(str(__import__('conformance').SERVICES_DIR))}/*/model")
