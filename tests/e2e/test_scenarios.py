"""Built-in scenarios, chosen by the tag sagemock:scenario, walked on a paused clock.

For every plan in scenario_plans.PLANS: create the job, then advance the clock to just before and
exactly at each point where something visible changes, and check at each stop the primary and
secondary status, the whole SecondaryStatusTransitions list (statuses, messages, start and end
offsets), LastModifiedTime, and which time fields are present (spec §3.3-3.4); at the end,
FailureReason and Training/BillableTimeInSeconds. Then retries, spot billing and stops.
"""

import pytest
from botocore.exceptions import ClientError

import scenario_plans as P
from helpers import describe_raw, error_of, job_request, ms, unique_name


def tagged(scenario, name=None, **overrides):
    name = name or unique_name(scenario.replace(".", "-"))
    tags = overrides.pop("Tags", [])
    return job_request(name, Tags=tags + [{"Key": P.SCENARIO_TAG, "Value": scenario}], **overrides)


class Walker:
    """Moves a paused clock to offsets (seconds) from a job's CreationTime, exactly."""

    def __init__(self, server, sm, name):
        self.server, self.sm, self.name = server, sm, name
        self.d = describe_raw(sm, name)
        self.created = ms(self.d["CreationTime"])
        self.at = ms(server.now()) - self.created
        assert self.at == 0, "the clock must be paused when the job is created"

    def to(self, offset):
        target = round(offset * 1000)
        assert target >= self.at
        if target > self.at:
            self.server.advance((target - self.at) / 1000)
            self.at = target
        self.d = describe_raw(self.sm, self.name)
        return self.d


def check_at(d, changes, t):
    """Everything a Describe at offset t must show for the timeline `changes`."""
    seen = P.visible(changes, t)
    _, secondary, _ = seen[-1]
    where = f"at +{t:g}s"
    assert d["SecondaryStatus"] == secondary, where
    assert d["TrainingJobStatus"] == P.primary_of(secondary), where
    assert P.offsets_of(d) == P.in_ms(P.entries(changes, t)), where
    assert ms(d["LastModifiedTime"]) - ms(d["CreationTime"]) == round(seen[-1][0] * 1000), where
    assert P.check_fields(d) == [], where


@pytest.mark.parametrize("key", list(P.PLANS))
def test_builtin_scenario_walk(server, sm, paused, key):
    plan = P.PLANS[key]
    changes = plan["changes"]
    name = unique_name("walk")
    sm.create_training_job(**tagged(plan["scenario"], name, **plan["request"]))
    w = Walker(server, sm, name)
    check_at(w.d, changes, 0)
    for t in P.change_points(changes)[1:]:
        check_at(w.to(t - 0.001), changes, t - 0.001)
        check_at(w.to(t), changes, t)
    d = w.d
    spot = P.SPOT_SAVINGS.get(plan["scenario"]) if d.get("EnableManagedSpotTraining") else None
    assert P.check_history(d, changes, spot) == []
    assert d.get("TrainingTimeInSeconds") == plan["training"]
    assert d.get("BillableTimeInSeconds") == plan["billable"]
    assert d.get("FailureReason") == plan["reason"]
    # Nothing changes once the job has ended.
    server.advance(7200)
    assert describe_raw(sm, name) == d


def test_every_builtin_scenario_has_a_plan_and_is_listed(server):
    assert {p["scenario"] for p in P.PLANS.values()} == set(P.BUILTIN_SCENARIOS)
    status, body, _ = server.admin("GET", "/_sagemock/scenarios")
    assert status == 200
    builtin = [s["name"] for s in body["scenarios"] if s["builtin"]]
    assert builtin == P.BUILTIN_SCENARIOS
    assert body["defaultScenario"] == "success"
    for s in body["scenarios"]:
        assert s["steps"] and all(st["messages"][0]["atSeconds"] == 0 for st in s["steps"])


def test_plan_final_times_agree_with_the_timelines():
    for key, plan in P.PLANS.items():
        spot = P.SPOT_SAVINGS.get(plan["scenario"]) \
            if plan["request"].get("EnableManagedSpotTraining") else None
        assert P.final_times(plan["changes"], spot) == (plan["training"], plan["billable"]), key


def test_failure_reasons_have_the_service_prefixes():
    assert P.PLANS["algorithm-error"]["reason"].startswith("AlgorithmError: ")
    assert P.PLANS["client-error"]["reason"].startswith("ClientError: Data download failed:")
    assert P.PLANS["capacity-error"]["reason"] == (
        "CapacityError: Unable to provision requested ML compute capacity. Please retry using a "
        "different ML instance type.")
    assert P.PLANS["internal-error"]["reason"] == (
        "InternalServerError: We encountered an internal error. Please try again.")


def test_capacity_error_has_no_training_times(server, sm, paused):
    name = unique_name("cap")
    sm.create_training_job(**tagged("capacity-error", name))
    server.advance(60)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    for f in ("TrainingStartTime", "TrainingTimeInSeconds", "BillableTimeInSeconds"):
        assert f not in d
    assert "TrainingEndTime" in d
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Failed"]


# ------------------------------------------------------------------------------ choice
def test_the_scenario_stays_on_the_tags_and_the_admin_api_shows_it(server, sm, paused):
    name = unique_name("visible")
    sm.create_training_job(**tagged("client-error", name))
    arn = sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    tags = sm.list_tags(ResourceArn=arn)["Tags"]
    assert {"Key": P.SCENARIO_TAG, "Value": "client-error"} in tags
    status, body, _ = server.admin("GET", "/_sagemock/jobs")
    assert status == 200
    row = next(j for j in body["jobs"] if j["name"] == name)
    assert row["scenario"] == "client-error"
    assert row["arn"] == arn and row["region"] == "us-east-1"


def test_an_unknown_scenario_tag_is_refused_and_creates_nothing(server, sm, paused):
    name = unique_name("unknown")
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**tagged("no-such-scenario", name))
    code, message, http = error_of(e)
    assert (code, http) == ("ValidationException", 400)
    assert "no-such-scenario" in message and P.SCENARIO_TAG in message
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName=name)


# ------------------------------------------------------------------------------ retries
def statuses(d):
    return [t["Status"] for t in d["SecondaryStatusTransitions"]]


@pytest.mark.parametrize("retries", [None, 1, 2, 3])
def test_internal_error_runs_one_plus_maximum_retry_attempts_then_fails(server, sm, paused,
                                                                        retries):
    name = unique_name("retry")
    extra = {"RetryStrategy": {"MaximumRetryAttempts": retries}} if retries else {}
    sm.create_training_job(**tagged("internal-error", name, **extra))
    server.advance(3000)
    d = describe_raw(sm, name)
    n = retries or 0
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"] == P.REASON_INTERNAL
    assert statuses(d).count("Restarting") == n
    assert statuses(d).count("Training") == n + 1
    assert statuses(d).count("Starting") == n + 1
    assert statuses(d)[-2:] == ["Training", "Failed"]
    assert P.check_history(d, P._retries(n)) == []


@pytest.mark.parametrize("retries", [1, 3])
def test_internal_error_once_completes_with_a_retry_strategy(server, sm, paused, retries):
    name = unique_name("once")
    sm.create_training_job(**tagged("internal-error-once", name,
                                    RetryStrategy={"MaximumRetryAttempts": retries}))
    server.advance(3000)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Completed"
    assert "FailureReason" not in d
    assert statuses(d).count("Restarting") == 1
    assert P.check_history(d, P.PLANS["internal-error-once"]["changes"]) == []


def test_internal_error_once_fails_without_a_retry_strategy(server, sm, paused):
    name = unique_name("once-noretry")
    sm.create_training_job(**tagged("internal-error-once", name))
    server.advance(3000)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"] == P.REASON_INTERNAL
    assert "Restarting" not in statuses(d)


def test_retry_strategy_does_not_retry_an_algorithm_error(server, sm, paused):
    name = unique_name("alg-retry")
    sm.create_training_job(**tagged("algorithm-error", name,
                                    RetryStrategy={"MaximumRetryAttempts": 3}))
    server.advance(3000)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    assert "Restarting" not in statuses(d)
    assert P.check_history(d, P.PLANS["algorithm-error"]["changes"]) == []


# ------------------------------------------------------------------------------ spot
def test_spot_needs_max_wait_time(server, sm, paused):
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**tagged("spot-interrupted", EnableManagedSpotTraining=True,
                                        StoppingCondition={"MaxRuntimeInSeconds": 3600}))
    code, message, http = error_of(e)
    assert (code, http) == ("ValidationException", 400)
    assert "MaxWaitTimeInSeconds" in message


def test_spot_scenario_without_managed_spot_is_never_interrupted(server, sm, paused):
    name = unique_name("nospot")
    sm.create_training_job(**tagged("spot-interrupted", name))
    server.advance(600)
    d = describe_raw(sm, name)
    assert P.check_history(d, P.PLANS["success"]["changes"]) == []
    assert d["BillableTimeInSeconds"] == d["TrainingTimeInSeconds"] == 7


@pytest.mark.parametrize("scenario, training, billable", [
    ("spot-interrupted", 17, 4),   # 11 s of training-phase time billed at 30 %
    ("spot-max-wait", 59, 5),      # 16 s at 30 %
    ("success", 7, 4),             # no interruption, default savings 50 %
])
def test_spot_billable_time_is_below_training_time(server, sm, paused, scenario, training,
                                                   billable):
    name = unique_name("spot")
    sm.create_training_job(**tagged(scenario, name, **P.SPOT_60 if scenario == "spot-max-wait"
                                    else P.SPOT_LONG))
    server.advance(8000)
    d = describe_raw(sm, name)
    assert d["EnableManagedSpotTraining"] is True
    assert (d["TrainingTimeInSeconds"], d["BillableTimeInSeconds"]) == (training, billable)
    assert d["BillableTimeInSeconds"] < d["TrainingTimeInSeconds"]
    assert P.check_fields(d) == []


def test_spot_max_wait_ends_max_wait_time_exceeded_with_a_realistic_stopping_condition(
        server, sm, paused):
    # MaxWaitTimeInSeconds "is the amount of time spent waiting for Spot capacity plus the
    # amount of time the job can run" (API reference); issue 3: spot-max-wait is interrupted
    # until MaxWaitTimeInSeconds passes, then Stopping, then Stopped/MaxWaitTimeExceeded.
    name = unique_name("maxwait")
    sm.create_training_job(**tagged("spot-max-wait", name, **P.SPOT_LONG))
    server.advance(8000)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Stopped"
    assert d["SecondaryStatus"] == "MaxWaitTimeExceeded"
    tr = d["SecondaryStatusTransitions"]
    assert ms(tr[-2]["StartTime"]) - ms(d["CreationTime"]) == 7200 * 1000


# ------------------------------------------------------------------------------ stops
def test_long_running_job_stopped_after_an_hour(server, sm, paused):
    name = unique_name("stop-long")
    sm.create_training_job(**tagged("long-running", name,
                                    StoppingCondition={"MaxRuntimeInSeconds": 86400}))
    server.advance(3600)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("InProgress", "Training")
    sm.stop_training_job(TrainingJobName=name)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Training")
    assert P.check_fields(d) == []
    server.advance(1)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Stopping")
    assert P.check_fields(d) == []
    server.advance(1)
    d = describe_raw(sm, name)
    changes = P.with_stop(P.PLANS["long-running"]["changes"], 3600)
    assert P.check_history(d, changes) == []
    assert d["TrainingTimeInSeconds"] == 3599


def test_max_runtime_counts_from_training_start(server, sm, paused):
    # Measured from TrainingStartTime (+3 s, the end of Starting), not from CreationTime.
    name = unique_name("mrt")
    sm.create_training_job(**tagged("long-running", name,
                                    StoppingCondition={"MaxRuntimeInSeconds": 100}))
    server.advance(200)
    d = describe_raw(sm, name)
    assert d["SecondaryStatus"] == "MaxRuntimeExceeded"
    tr = d["SecondaryStatusTransitions"]
    assert [t["Status"] for t in tr] == ["Starting", "Downloading", "Training", "Stopping",
                                         "MaxRuntimeExceeded"]
    assert ms(tr[3]["StartTime"]) - ms(d["TrainingStartTime"]) == 100 * 1000
    assert P.check_fields(d) == []
