"""fixtures/sagemock-fixtures.schema.json (JSON Schema draft 2020-12) describes every fixture
document the server accepts: the built-in scenarios, the examples in fixtures/examples, the seed
folder of the tests and the documents the tests load; and it refuses the structural mistakes the
server refuses. Then the examples themselves: each loads, alone and all together at start, and
does what its description says.

Needs python3-jsonschema (Debian) for the schema checks; they are skipped without it.
"""

import json
from pathlib import Path

import pytest

import scenario_plans as P
from helpers import IMAGE, REPO, describe_raw, job_request

SCHEMA_PATH = REPO / "fixtures" / "sagemock-fixtures.schema.json"
EXAMPLES = sorted((REPO / "fixtures" / "examples").glob("*.json"))
BUILTIN = REPO / "fixtures" / "builtin-scenarios.json"
SEEDS = sorted((Path(__file__).resolve().parent / "data" / "seed50").glob("*.json"))

# Bad documents of test_bad_fixtures.py that a schema can recognise (the others need the
# registry: unknown or duplicate names, a point beyond its step, a built-in redefined).
SCHEMA_CATCHES = [
    "not-an-object", "unknown-top-level-field", "section-not-an-array", "rule-missing-scenario",
    "rule-unknown-field", "rule-match-unknown-field", "rule-match-not-a-glob",
    "rule-without-match", "seed-bad-name", "seed-missing-role", "seed-spot-without-max-wait",
    "seed-unknown-field", "seed-negative-age", "seed-bad-region", "seed-without-request",
    "scenario-without-name", "scenario-bad-name", "scenario-unknown-field",
    "scenario-without-steps", "scenario-bad-step-status", "scenario-message-not-at-zero",
    "scenario-bad-metric", "scenario-bad-rule-result", "fault-unknown-operation",
    "fault-unknown-error", "fault-unknown-field", "fault-zero-count",
    "fault-probability-above-one", "fault-latency-too-long", "fault-nothing-to-do",
    "fault-count-without-error", "fault-missing-operation",
]


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, document):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


@pytest.mark.parametrize("path", [BUILTIN] + EXAMPLES + SEEDS,
                         ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_documents_validate(validator, path):
    doc = json.loads(path.read_text())
    assert errors(validator, doc) == []
    assert (path.parent / doc["$schema"]).resolve() == SCHEMA_PATH


def test_documents_of_the_tests_validate(validator):
    from test_bad_fixtures import BASELINE
    from test_fixtures import CUSTOM, STARTUP
    from test_metrics_rules import SCENARIOS
    for doc in (BASELINE, STARTUP, {"scenarios": [CUSTOM]}, SCENARIOS):
        assert errors(validator, doc) == []


@pytest.mark.parametrize("case", SCHEMA_CATCHES)
def test_the_schema_refuses_what_the_server_refuses(validator, case):
    from test_bad_fixtures import CASES
    assert errors(validator, json.loads(CASES[case][0])), case


def test_every_builtin_scenario_has_an_example():
    assert sorted(p.stem for p in EXAMPLES) == sorted(P.BUILTIN_SCENARIOS + ["faults"])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_loads_at_run_time(server, path):
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", path.read_bytes())
    assert status == 200, raw
    doc = json.loads(path.read_text())
    assert body == {"scenarios": len(doc.get("scenarios", [])), "rules": len(doc.get("rules", [])),
                    "jobs": len(doc.get("jobs", [])), "jobsAlreadyPresent": 0,
                    "faults": len(doc.get("faults", []))}


def test_the_examples_folder_does_what_it_says(make_server, tmp_path):
    srv = make_server("--fixtures", str(REPO / "fixtures" / "examples"), "--clock-rate", "0")
    sm = srv.client()

    def state(name):
        d = describe_raw(sm, name)
        assert P.check_fields(d) == []
        return d

    d = state("example-completed-warm")
    assert d["TrainingJobStatus"] == "Completed"
    assert d["WarmPoolStatus"] == {"Status": "Available",
                                   "ResourceRetainedBillableTimeInSeconds": 3590}
    assert state("example-failed-yesterday")["FailureReason"].startswith("AlgorithmError: ")
    d = state("example-retried-and-failed")
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]].count("Restarting") == 2
    assert state("example-timed-out")["SecondaryStatus"] == "MaxRuntimeExceeded"
    d = state("example-spot-done")
    assert d["TrainingJobStatus"] == "Completed"
    assert d["BillableTimeInSeconds"] < d["TrainingTimeInSeconds"]
    assert state("example-spot-gave-up")["SecondaryStatus"] == "MaxWaitTimeExceeded"
    assert state("example-still-training")["SecondaryStatus"] == "Training"

    def create(name, **kw):
        sm.create_training_job(**job_request(name, **kw))

    create("flaky-etl", RetryStrategy={"MaximumRetryAttempts": 1})
    create("very-flaky-etl", RetryStrategy={"MaximumRetryAttempts": 2})
    create("big-model", ResourceConfig={"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1,
                                        "VolumeSizeInGB": 30})
    create("nightly-1", Tags=[{"Key": "pipeline", "Value": "nightly"}],
           AlgorithmSpecification={
               "TrainingImage": IMAGE, "TrainingInputMode": "File",
               "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": "acc=(.*)"}]})
    create("oom-1", HyperParameters={"batch_size": "4096"})
    create("private-1", Tags=[{"Key": "network", "Value": "private-a"}])
    create("queued-1", ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 1,
                                       "VolumeSizeInGB": 30},
           Tags=[{"Key": "team", "Value": "research"}])
    srv.advance(5000)
    assert state("flaky-etl")["TrainingJobStatus"] == "Completed"
    d = state("very-flaky-etl")
    assert d["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]].count("Restarting") == 2
    assert state("big-model")["FailureReason"] == P.REASON_CAPACITY
    d = state("nightly-1")
    assert d["FinalMetricDataList"][0]["Value"] == 0.94
    assert state("oom-1")["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError:\n"
                                                      "ExitCode 137")
    assert "S3 VPC endpoint" in state("private-1")["FailureReason"]
    d = state("queued-1")
    assert d["SecondaryStatusTransitions"][0]["Status"] == "Pending"
    assert d["SecondaryStatusTransitions"][0]["EndTime"] - d["CreationTime"] == 600
    # faults.json: the first three DescribeTrainingJob calls for retry-* are throttled
    create("retry-1")
    codes = [srv.raw("DescribeTrainingJob", {"TrainingJobName": "retry-1"}).error_code or None
             for _ in range(4)]
    assert codes == ["ThrottlingException"] * 3 + [None]
