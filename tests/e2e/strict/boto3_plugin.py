"""pytest plugin: the strict decoder on every response of the boto3 suite.

The boto3 suite already hands every raw response it receives (boto3 clients made through
helpers.Server, and helpers.raw_call) to conformance.CHECKER. This plugin wraps that one entry
point so that each of those responses is also decoded by strict_decoder.py; a body that would
not decode is recorded as a conformance violation ("strict decoder: ..."), so the suite's
autouse guard (tests/e2e/conftest.py) fails the test that received it, naming operation, path
and problem. Bodies checked with record=False (the checker's own tests) are left alone.

Load it with `-p boto3_plugin` and tests/e2e/strict on PYTHONPATH:
    PYTHONPATH=tests/e2e/strict /usr/bin/python3 -m pytest -q -p boto3_plugin tests/e2e
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (_HERE, os.path.dirname(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import conformance  # noqa: E402
from strict_decoder import decoder  # noqa: E402

_STATE = {"decoded": 0, "problems": 0}


def pytest_configure(config):
    checker = conformance.CHECKER
    if getattr(checker, "_strict_wrapped", False):
        return
    original = checker.check_response
    dec = decoder()

    def check_response(operation, status, headers, body_bytes, record=True):
        out, parsed = original(operation, status, headers, body_bytes, record=record)
        if record:
            _, errs = dec.decode_response(operation, status, body_bytes or b"")
            _STATE["decoded"] += 1
            _STATE["problems"] += len(errs)
            checker._record([conformance.Violation(operation, e.path,
                                                   f"strict decoder: {e.problem}") for e in errs])
        return out, parsed

    checker.check_response = check_response
    checker._strict_wrapped = True


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"sagemock strict decoder (boto3 run): {_STATE['decoded']} responses decoded, "
        f"{_STATE['problems']} problems (each fails its test, unless the test made it on purpose "
        f"and took it, as the checker's own tests do)")
