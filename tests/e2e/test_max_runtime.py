"""StoppingCondition.MaxRuntimeInSeconds, measured from TrainingStartTime (3 s into the default
plan): when it runs out while InProgress the job goes Stopping (2 s), then Stopped with
SecondaryStatus MaxRuntimeExceeded."""

import pytest

from helpers import MSG_STOPPING, describe_raw, job_request, ms, unique_name


def create(server, sm, max_runtime):
    name = unique_name("maxrt")
    sm.create_training_job(**job_request(name, StoppingCondition={"MaxRuntimeInSeconds": max_runtime}))
    c = ms(describe_raw(sm, name)["CreationTime"])
    return name, c


@pytest.mark.parametrize("max_runtime,phase", [(1, "Downloading"), (4, "Training"), (6, "Uploading")])
def test_max_runtime_exceeded_stops_the_job(server, sm, paused, max_runtime, phase):
    name, c = create(server, sm, max_runtime)
    limit = 3 + max_runtime  # seconds after creation
    server.advance(limit - 1)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("InProgress", phase), \
        "MaxRuntimeInSeconds counts from TrainingStartTime (creation + 3 s), not from CreationTime"

    server.advance(2)  # limit + 1: inside the 2 s Stopping window
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Stopping")
    tr = d["SecondaryStatusTransitions"]
    assert [t["Status"] for t in tr][-2:] == [phase, "Stopping"]
    assert ms(tr[-2]["EndTime"]) == ms(tr[-1]["StartTime"]) == c + limit * 1000
    assert tr[-1]["StatusMessage"] == MSG_STOPPING
    assert "TrainingEndTime" not in d

    server.advance(2)  # limit + 3: Stopped
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    tr = d["SecondaryStatusTransitions"]
    assert [t["Status"] for t in tr][-3:] == [phase, "Stopping", "MaxRuntimeExceeded"]
    assert ms(tr[-2]["EndTime"]) == ms(tr[-1]["StartTime"]) == ms(tr[-1]["EndTime"]) == c + (limit + 2) * 1000
    assert ms(d["TrainingStartTime"]) == c + 3000
    assert ms(d["TrainingEndTime"]) == c + (limit + 2) * 1000
    assert ms(d["LastModifiedTime"]) == c + (limit + 2) * 1000
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": max_runtime}
    for a, b in zip(tr, tr[1:]):
        assert ms(a["EndTime"]) == ms(b["StartTime"])


def test_a_long_enough_max_runtime_lets_the_job_complete(server, sm, paused):
    name, c = create(server, sm, 60)
    server.advance(11)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Completed", "Completed")
    server.advance(120)  # long past the limit: a finished job stays Completed
    assert describe_raw(sm, name)["SecondaryStatus"] == "Completed"


def test_max_runtime_is_measured_from_training_start_not_creation(server, sm, paused):
    """MaxRuntime 2: creation+2 is still inside Starting, and the job must not stop there."""
    name, c = create(server, sm, 2)
    server.advance(4)  # TrainingStartTime (3) + 2 = 5 > 4
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("InProgress", "Downloading"), \
        "MaxRuntimeInSeconds counts from TrainingStartTime (creation + 3 s), not from CreationTime"
    server.advance(2)  # 6: exceeded at 5
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Stopping"


def test_a_user_stop_before_the_limit_ends_as_plain_stopped(server, sm, paused):
    name, c = create(server, sm, 4)
    server.advance(5)
    sm.stop_training_job(TrainingJobName=name)
    server.advance(10)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "MaxRuntimeExceeded" not in [t["Status"] for t in d["SecondaryStatusTransitions"]]


def test_waiter_treats_max_runtime_exceeded_as_stopped(server, sm, paused):
    name, c = create(server, sm, 1)
    server.advance(10)
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    d = sm.describe_training_job(TrainingJobName=name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
