"""Every kind of bad fixture document is refused whole, with its source, line, column, JSON path
and reason (issue 3):

* at start (`--fixtures FILE`): the server exits non-zero, prints
  `fixtures refused: FILE:LINE:COL: PATH: REASON` on stderr and never listens;
* at run time (`POST /_sagemock/fixtures`): 400 `{"error": "request body:LINE:COL: PATH: REASON"}`
  and nothing changes: the same jobs, scenarios, rules and faults (with their counts).

Each bad document also carries valid scenarios, rules, seed jobs and faults, so that a
document applied in part would show. LINE:COL must point at the offending value (or, for a
member that is missing, at the object that lacks it).
"""

import json
import os
import re
import select
import subprocess
import time

import pytest

from helpers import Server, job_request, sagemock_binary

R = job_request
STEP = {"status": "Starting", "durationSeconds": 2, "messages": [{"atSeconds": 0, "text": "Go"}]}


def doc(**sections):
    """A document whose first section holds the bad element, plus valid extras everywhere."""
    extras = {
        "scenarios": [{"name": "partial-scenario", "extends": "success"}],
        "rules": [{"match": {"name": "partial-*"}, "scenario": "partial-scenario"}],
        "jobs": [{"request": R("partial-seed"), "createdSecondsAgo": 60}],
        "faults": [{"operation": "ListTrainingJobs", "error": "InternalFailure", "count": 1}],
    }
    for k, v in extras.items():
        sections[k] = sections.get(k, []) + v
    return json.dumps(sections, indent=2)


# id -> (document text, JSON path in the message (None: none), reason (a substring),
#        what the text at LINE:COL starts with)
CASES = {
    "invalid-json": ('{\n  "scenarios": [\n    {"name": "x", "steps": []},\n  ]\n}\n',
                     None, "not valid JSON", "]"),
    "not-an-object": ('[\n  {"rules": []}\n]\n', None, "a fixture document is a JSON object", "["),
    "unknown-top-level-field": (doc(scenario=[]), "scenario",
                                "unknown field (expected $schema, description, scenarios, rules, "
                                "jobs, faults, iam)", "[]"),
    "section-not-an-array": (json.dumps({"jobs": {"request": {}}}, indent=2), "jobs",
                             "must be an array", "{"),
    "rule-unknown-scenario": (doc(rules=[{"match": {"name": "a-*"}, "scenario": "sucess"}]),
                              "rules[0].scenario", "no scenario named 'sucess'", '"sucess"'),
    "rule-missing-scenario": (doc(rules=[{"match": {"name": "a-*"}}]), "rules[0]",
                              "missing \"scenario\"", "{"),
    "rule-unknown-field": (doc(rules=[{"match": {}, "scenario": "success", "priority": 1}]),
                           "rules[0].priority",
                           "unknown field (expected match, scenario, description)", "1"),
    "rule-match-unknown-field": (doc(rules=[{"match": {"jobName": "a-*"}, "scenario": "success"}]),
                                 "rules[0].match.jobName",
                                 "unknown field (expected name, instanceType, hyperParameters, "
                                 "tags)", '"a-*"'),
    "rule-match-not-a-glob": (doc(rules=[{"match": {"hyperParameters": {"epochs": 10}},
                                          "scenario": "success"}]),
                              "rules[0].match.hyperParameters.epochs", "must be a string", "10"),
    "rule-without-match": (doc(rules=[{"scenario": "success"}]), "rules[0]",
                           "a rule needs a \"match\" object", "{"),
    "seed-unknown-scenario": (doc(jobs=[{"request": R("bad-seed-1"), "scenario": "nope"}]),
                              "jobs[0].scenario", "no scenario named 'nope'", '"nope"'),
    "seed-unknown-scenario-tag": (doc(jobs=[{"request": R("bad-seed-2", Tags=[
        {"Key": "sagemock:scenario", "Value": "nope"}])}]), "jobs[0].request",
        "The tag sagemock:scenario names the scenario 'nope', which sagemock does not know", "{"),
    "extends-unknown-scenario": (doc(scenarios=[{"name": "mine", "extends": "nope"}]),
                                 "scenarios[0].extends", "no scenario named 'nope'", '"nope"'),
    "seed-bad-name": (doc(jobs=[{"request": R("bad_seed!")}]), "jobs[0].request",
                      "ValidationException: 1 validation error detected: Value 'bad_seed!' at "
                      "'trainingJobName' failed to satisfy constraint", "{"),
    "seed-missing-role": (doc(jobs=[{"request": R("bad-seed-3", RoleArn=None)}]),
                          "jobs[0].request",
                          "ValidationException: 1 validation error detected: Value null at "
                          "'roleArn' failed to satisfy constraint: Member must not be null", "{"),
    "seed-spot-without-max-wait": (doc(jobs=[{"request": R("bad-seed-4",
                                                           EnableManagedSpotTraining=True)}]),
                                   "jobs[0].request",
                                   "ValidationException: StoppingCondition.MaxWaitTimeInSeconds "
                                   "must be specified when EnableManagedSpotTraining is true.",
                                   "{"),
    "seed-max-wait-below-max-runtime": (doc(jobs=[{"request": R(
        "bad-seed-10", EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 60})}]),
        "jobs[0].request", "ValidationException: StoppingCondition.MaxWaitTimeInSeconds (60) "
        "must be greater than or equal to", "{"),
    "seed-unknown-field": (doc(jobs=[{"request": R("bad-seed-6"), "createdAgo": 5}]),
                           "jobs[0].createdAgo", "unknown field (expected request, scenario, "
                           "region, createdSecondsAgo, stoppedAfterSeconds, description)", "5"),
    "seed-stop-in-the-future": (doc(jobs=[{"request": R("bad-seed-7"), "createdSecondsAgo": 10,
                                           "stoppedAfterSeconds": 60}]),
                                "jobs[0].stoppedAfterSeconds",
                                "the stop must not be in the future", "60"),
    "seed-negative-age": (doc(jobs=[{"request": R("bad-seed-8"), "createdSecondsAgo": -5}]),
                          "jobs[0].createdSecondsAgo", "must be a number of seconds >= 0", "-5"),
    "seed-bad-region": (doc(jobs=[{"request": R("bad-seed-9"), "region": "US_WEST"}]),
                        "jobs[0].region", "must be a region name", '"US_WEST"'),
    "seed-without-request": (doc(jobs=[{"scenario": "success"}]), "jobs[0]",
                             "a seed job needs a \"request\"", "{"),
    "redefine-builtin-scenario": (doc(scenarios=[{"name": "algorithm-error",
                                                  "extends": "algorithm-error",
                                                  "failure": {"reason": "AlgorithmError: mine"}}]),
                                  "scenarios[0]",
                                  "'algorithm-error' is a built-in scenario and cannot be "
                                  "redefined", "{"),
    "scenario-defined-twice": (doc(scenarios=[{"name": "twice", "extends": "success"},
                                              {"name": "twice", "extends": "success"}]),
                               "scenarios[1]", "scenario 'twice' is defined twice", "{"),
    "scenario-without-name": (doc(scenarios=[{"extends": "success"}]), "scenarios[0]",
                              "a scenario needs a \"name\"", "{"),
    "scenario-bad-name": (doc(scenarios=[{"name": "my scenario", "extends": "success"}]),
                          "scenarios[0].name", "must be a string of 1 to 63 characters",
                          '"my scenario"'),
    "scenario-unknown-field": (doc(scenarios=[{"name": "x1", "extends": "success",
                                               "retries": 3}]),
                               "scenarios[0].retries", "unknown field", "3"),
    "scenario-without-steps": (doc(scenarios=[{"name": "x2"}]), "scenarios[0].steps",
                               "is required", "{"),
    "scenario-bad-step-status": (doc(scenarios=[{"name": "x3",
                                                 "steps": [dict(STEP, status="Interrupted")]}]),
                                 "scenarios[0].steps[0].status", "must be a step status",
                                 '"Interrupted"'),
    "scenario-message-not-at-zero": (doc(scenarios=[{"name": "x4", "steps": [dict(
        STEP, messages=[{"atSeconds": 1, "text": "Go"}])]}]),
        "scenarios[0].steps[0].messages[0].atSeconds", "must be 0", "1"),
    "scenario-failure-step-out-of-range": (doc(scenarios=[{"name": "x5", "extends": "success",
                                                           "failure": {"stepIndex": 9,
                                                                       "afterSeconds": 1,
                                                                       "reason": "x"}}]),
                                           "scenarios[0].failure.stepIndex",
                                           "must be an index into steps", "9"),
    "scenario-failure-after-the-step": (doc(scenarios=[{"name": "x6", "extends": "success",
                                                        "failure": {"stepIndex": 1,
                                                                    "afterSeconds": 2,
                                                                    "reason": "x"}}]),
                                        "scenarios[0].failure.afterSeconds",
                                        "must be less than steps[1].durationSeconds", "2"),
    "scenario-spot-missing-fields": (doc(scenarios=[{"name": "x7", "extends": "success",
                                                     "spot": {"interruptions": 2}}]),
                                     "scenarios[0].spot.interruptStepIndex",
                                     "is required when interruptions is not 0", "{"),
    "scenario-bad-metric": (doc(scenarios=[{"name": "x8", "extends": "success",
                                            "metrics": {"loss": "low"}}]),
                            "scenarios[0].metrics.loss", "must be a number", '"low"'),
    "scenario-bad-rule-result": (doc(scenarios=[{"name": "x9", "extends": "success",
                                                 "ruleResults": {"Overfit": "Maybe"}}]),
                                 "scenarios[0].ruleResults.Overfit",
                                 "must be NoIssuesFound, IssuesFound or Error", '"Maybe"'),
    "fault-unknown-operation": (doc(faults=[{"operation": "CreateModel",
                                             "error": "ThrottlingException"}]),
                                "faults[0]", "operation: 'CreateModel' is not an operation "
                                "sagemock serves", "{"),
    "fault-unknown-error": (doc(faults=[{"operation": "*", "error": "AccessDenied"}]),
                            "faults[0]", "error: must be ThrottlingException, InternalFailure or "
                            "ServiceUnavailable", "{"),
    "fault-unknown-field": (doc(faults=[{"operation": "*", "error": "ThrottlingException",
                                         "times": 2}]),
                            "faults[0]", "times: unknown field", "{"),
    "fault-zero-count": (doc(faults=[{"operation": "*", "error": "ThrottlingException",
                                      "count": 0}]),
                         "faults[0]", "count: must be a whole number >= 1", "{"),
    "fault-probability-above-one": (doc(faults=[{"operation": "*", "error": "InternalFailure",
                                                 "probability": 1.5}]),
                                    "faults[0]", "probability: must be a number in (0, 1]", "{"),
    "fault-latency-too-long": (doc(faults=[{"operation": "*", "latencyMs": 120000}]),
                               "faults[0]", "latencyMs: must be a number from 0 to 60000", "{"),
    "fault-nothing-to-do": (doc(faults=[{"operation": "*"}]), "faults[0]",
                            "a fault needs an error, a latencyMs, or both", "{"),
    "fault-count-without-error": (doc(faults=[{"operation": "*", "latencyMs": 10, "count": 2}]),
                                  "faults[0]", "count and probability go with an error", "{"),
    "fault-missing-operation": (doc(faults=[{"error": "InternalFailure"}]), "faults[0]",
                                "operation: required", "{"),
}

DUPLICATE_SEEDS = doc(jobs=[{"request": R("dup-seed")}, {"request": R("dup-seed")}])
TRAILING_GARBAGE = '{"rules": []}\n}\n'


def check_message(message, source, text, path, reason, token):
    """`source:LINE:COL: PATH: REASON`, LINE:COL pointing at `token` in `text`."""
    prefix = re.escape(source) + r":(\d+):(\d+): "
    if path is not None:
        prefix += re.escape(path) + ": "
    m = re.match(prefix, message)
    assert m, f"{message!r} does not start with {source}:LINE:COL: {path}: "
    assert reason in message[m.end():], f"{reason!r} not in {message!r}"
    line, col = int(m.group(1)), int(m.group(2))
    lines = text.split("\n")
    assert 1 <= line <= len(lines), message
    assert lines[line - 1][col - 1:].startswith(token), \
        f"{message!r}: line {line} col {col} is {lines[line - 1][col - 1:col + 30]!r}, " \
        f"expected {token!r}"


# ------------------------------------------------------------------------------ at start
def start_refused(workdir, *args, env=None, timeout=15):
    """Run sagemock with args; return (exit status, stdout, stderr). A server that starts
    listening is stopped, and its status is None."""
    db = os.path.join(workdir, "refused.db")
    proc = subprocess.Popen([sagemock_binary(), "--port", "0", "--db", db, *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + timeout
    out = b""
    while time.monotonic() < deadline:
        if not select.select([proc.stdout], [], [], deadline - time.monotonic())[0]:
            break  # neither a line nor an exit in time
        line = proc.stdout.readline()
        out += line
        if b"listening on" in line or not line:
            break
    if b"listening on" not in out:
        try:
            rest, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            return proc.returncode, (out + rest).decode(), err.decode()
        except subprocess.TimeoutExpired:
            pass
    proc.kill()  # it started (or hangs): stop it
    rest, err = proc.communicate(timeout=10)
    return None, (out + rest).decode(), err.decode()


# At start, one case of every kind of issue 3 (the same loader then serves POST, where every
# case of CASES is checked).
AT_START = ["invalid-json", "not-an-object", "unknown-top-level-field", "rule-unknown-scenario",
            "seed-unknown-scenario", "extends-unknown-scenario", "seed-unknown-scenario-tag",
            "seed-bad-name", "seed-missing-role", "seed-spot-without-max-wait",
            "rule-unknown-field", "rule-match-unknown-field", "redefine-builtin-scenario",
            "scenario-failure-after-the-step", "seed-stop-in-the-future", "fault-unknown-error",
            "fault-unknown-field", "fault-zero-count"]


@pytest.mark.parametrize("case", AT_START)
def test_bad_fixture_refused_at_start(tmp_path, case):
    text, path, reason, token = CASES[case]
    f = tmp_path / f"{case}.json"
    f.write_text(text)
    rc, out, err = start_refused(str(tmp_path), "--fixtures", str(f))
    assert rc is not None, f"the server started with a bad fixture:\n{err}"
    assert rc != 0
    assert "listening" not in out
    lines = [ln for ln in err.splitlines() if "fixtures refused: " in ln]
    assert len(lines) == 1, err
    check_message(lines[0].split("fixtures refused: ", 1)[1], str(f), text, path, reason, token)


def test_a_bad_file_in_a_folder_is_named_and_stops_the_start(tmp_path):
    folder = tmp_path / "fx"
    folder.mkdir()
    (folder / "a-good.json").write_text(json.dumps({"rules": []}))
    text, path, reason, token = CASES["rule-unknown-scenario"]
    (folder / "b-bad.json").write_text(text)
    rc, out, err = start_refused(str(tmp_path), "--fixtures", str(folder))
    assert rc not in (None, 0)
    msg = err.split("fixtures refused: ", 1)[1].splitlines()[0]
    assert "b-bad.json:" in msg and "a-good.json" not in msg
    check_message(msg, msg.split(":", 1)[0], text, path, reason, token)


def test_the_second_fixtures_flag_and_the_environment_list_are_checked_too(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"rules": []}))
    bad = tmp_path / "bad.json"
    bad.write_text(CASES["extends-unknown-scenario"][0])
    rc, _, err = start_refused(str(tmp_path), "--fixtures", str(good), "--fixtures", str(bad))
    assert rc not in (None, 0) and f"{bad}:" in err
    env = dict(os.environ, SAGEMOCK_FIXTURES=f"{good}:{bad}")
    rc, _, err = start_refused(str(tmp_path), env=env)
    assert rc not in (None, 0) and f"{bad}:" in err


def test_a_missing_fixture_path_and_an_unknown_default_scenario_stop_the_start(tmp_path):
    rc, _, err = start_refused(str(tmp_path), "--fixtures", str(tmp_path / "nope.json"))
    assert rc not in (None, 0) and "nope.json" in err
    rc, _, err = start_refused(str(tmp_path), "--default-scenario", "nope")
    assert rc not in (None, 0) and "the default scenario 'nope'" in err


def test_a_refused_document_writes_no_seed_job_into_the_database(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(CASES["fault-unknown-error"][0])  # valid seed job "partial-seed", bad fault
    rc, _, _ = start_refused(str(tmp_path), "--fixtures", str(f))
    assert rc not in (None, 0)
    srv = Server(tmp_path / "after", db=str(tmp_path / "refused.db")).start()
    try:
        status, body, _ = srv.admin("GET", "/_sagemock/jobs")
        assert status == 200 and body["jobs"] == []
    finally:
        srv.stop()


def test_a_refused_start_leaves_the_database_as_it_was(tmp_path):
    folder = tmp_path / "fx"
    folder.mkdir()
    (folder / "a-good.json").write_text(json.dumps({"jobs": [{"request": R("early-seed")}]}))
    (folder / "b-bad.json").write_text(CASES["rule-unknown-scenario"][0])
    rc, _, _ = start_refused(str(tmp_path), "--fixtures", str(folder))
    assert rc not in (None, 0)
    srv = Server(tmp_path / "after", db=str(tmp_path / "refused.db")).start()
    try:
        status, body, _ = srv.admin("GET", "/_sagemock/jobs")
        assert status == 200
        assert [j["name"] for j in body["jobs"]] == []
    finally:
        srv.stop()


def test_duplicate_seed_names_refused_at_start_with_the_name(tmp_path):
    f = tmp_path / "dup.json"
    f.write_text(DUPLICATE_SEEDS)
    rc, _, err = start_refused(str(tmp_path), "--fixtures", str(f))
    assert rc not in (None, 0)
    msg = err.split("fixtures refused: ", 1)[1].splitlines()[0]
    check_message(msg, str(f), DUPLICATE_SEEDS, "jobs[1].request.TrainingJobName",
                  "job 'dup-seed' is seeded twice in this document", '"dup-seed"')


def test_trailing_garbage_is_invalid_json_at_start(tmp_path):
    f = tmp_path / "trailing.json"
    f.write_text(TRAILING_GARBAGE)
    rc, _, err = start_refused(str(tmp_path), "--fixtures", str(f))
    assert rc not in (None, 0), "the server started"
    assert f"{f}:2:1: not valid JSON" in err


# ------------------------------------------------------------------------------ at run time
BASELINE = {
    "scenarios": [{"name": "baseline-slow", "extends": "success",
                   "failure": {"stepIndex": 2, "afterSeconds": 1, "reason": "AlgorithmError: b"}}],
    "rules": [{"match": {"name": "baseline-*"}, "scenario": "baseline-slow"}],
    "jobs": [{"request": R("baseline-seed"), "createdSecondsAgo": 3600}],
    "faults": [{"operation": "DeleteTags", "jobName": "never-*", "error": "ThrottlingException",
                "count": 3}],
}


@pytest.fixture(scope="module")
def loaded(server):
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", BASELINE)
    assert status == 200, raw
    return server


def snapshot(srv, sm):
    state = {}
    for path in ("/_sagemock/scenarios", "/_sagemock/faults", "/_sagemock/jobs"):
        status, body, raw = srv.admin("GET", path)
        assert status == 200, raw
        state[path] = body
    state["ListTrainingJobs"] = [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in
                                 sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]]
    return state


@pytest.mark.parametrize("case", list(CASES))
def test_bad_fixture_refused_at_run_time_and_nothing_changes(loaded, sm, paused, case):
    text, path, reason, token = CASES[case]
    before = snapshot(loaded, sm)
    status, body, raw = loaded.admin("POST", "/_sagemock/fixtures", text)
    assert status == 400, raw
    assert set(body) == {"error"}
    check_message(body["error"], "request body", text, path, reason, token)
    assert snapshot(loaded, sm) == before


def test_an_empty_body_is_refused(loaded, sm, paused):
    before = snapshot(loaded, sm)
    status, body, _ = loaded.admin("POST", "/_sagemock/fixtures", b"")
    assert status == 400 and "fixture document" in body["error"]
    assert snapshot(loaded, sm) == before


def test_the_baseline_is_what_a_valid_document_adds(loaded, sm, paused):
    state = snapshot(loaded, sm)
    names = [s["name"] for s in state["/_sagemock/scenarios"]["scenarios"]]
    assert "baseline-slow" in names and "partial-scenario" not in names
    assert {"match": {"name": "baseline-*"}, "scenario": "baseline-slow"} in \
        state["/_sagemock/scenarios"]["rules"]
    jobs = [j["name"] for j in state["/_sagemock/jobs"]["jobs"]]
    assert "baseline-seed" in jobs and "partial-seed" not in jobs
    faults = state["/_sagemock/faults"]["faults"]
    assert [(f["operation"], f["count"]) for f in faults] == [("DeleteTags", 3)]


def test_trailing_garbage_is_invalid_json_at_run_time(loaded, sm, paused):
    status, body, raw = loaded.admin("POST", "/_sagemock/fixtures", TRAILING_GARBAGE)
    assert status == 400, raw
    assert body["error"].startswith("request body:2:1: not valid JSON")


def test_duplicate_seed_names_refused_at_run_time(tmp_path):
    # Its own server: with ASan the bug kills the process.
    srv = Server(tmp_path / "dup", db=":memory:").start()
    try:
        status, body, raw = srv.admin("POST", "/_sagemock/fixtures", DUPLICATE_SEEDS)
        assert status == 400, raw
        check_message(body["error"], "request body", DUPLICATE_SEEDS,
                      "jobs[1].request.TrainingJobName",
                      "job 'dup-seed' is seeded twice in this document", '"dup-seed"')
        status, body, _ = srv.admin("GET", "/_sagemock/jobs")
        assert body["jobs"] == []
    finally:
        srv.stop()
