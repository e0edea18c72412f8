"""StopTrainingJob: TrainingJobStatus Stopping at once (the step in progress keeps its entry for a
second), SecondaryStatus Stopping a second later, Stopped two simulated seconds after the stop;
only InProgress jobs can be stopped."""

import pytest
from botocore.exceptions import ClientError, WaiterError

from conformance import CHECKER
from helpers import (FINAL_MESSAGES, MSG_STOPPED, MSG_STOPPING, PHASES, describe_raw, error_of,
                     job_request, ms, unique_name)

# (phase, second at which to stop, message the phase shows at that second)
STOP_POINTS = [
    ("Starting", 0, "Starting the training job"),
    ("Starting", 1, "Launching requested ML instances"),
    ("Downloading", 4, "Downloading the training image"),
    ("Training", 6, "Training image download completed. Training in progress."),
    ("Uploading", 9, "Uploading generated training model"),
]


def create_and_advance(server, sm, seconds, prefix="stop"):
    name = unique_name(prefix)
    sm.create_training_job(**job_request(name))
    c = ms(describe_raw(sm, name)["CreationTime"])
    if seconds:
        server.advance(seconds)
    return name, c


@pytest.mark.parametrize("phase,at,message", STOP_POINTS,
                         ids=[f"{p}-at-{s}s" for p, s, _ in STOP_POINTS])
def test_stop_during_each_phase_goes_stopping_then_stopped(server, sm, paused, phase, at, message):
    """Right after the stop TrainingJobStatus is Stopping while SecondaryStatus still names the
    step in progress (a real Describe, spec §2.4); the step's entry ends and Stopping begins a
    second later (half the stop delay), Stopped two seconds after the stop."""
    name, c = create_and_advance(server, sm, at)
    before = describe_raw(sm, name)
    assert before["SecondaryStatus"] == phase
    assert sm.stop_training_job(TrainingJobName=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s = c + at * 1000  # the stop time

    phases_before = [p for p, start in PHASES if start <= at][:-1]  # finished before the stop

    def check_history(tr, stopping, stopped):
        statuses = [t["Status"] for t in tr]
        expected = phases_before + [phase] + (["Stopping"] if stopping else []) + \
            (["Stopped"] if stopped else [])
        assert statuses == expected
        for i, p in enumerate(phases_before):
            assert tr[i]["StatusMessage"] == FINAL_MESSAGES[p]
        cur = tr[len(phases_before)]
        assert cur["StatusMessage"] == message, "the message current at the stop is kept"
        for a, b in zip(tr, tr[1:]):
            assert ms(a["EndTime"]) == ms(b["StartTime"])
        if not stopping:
            assert "EndTime" not in cur, "the step stays open while the stop is acknowledged"
            return
        assert ms(cur["EndTime"]) == s + 1000, "the step ends when Stopping begins"
        stopping_entry = tr[len(phases_before) + 1]
        assert ms(stopping_entry["StartTime"]) == s + 1000
        assert stopping_entry["StatusMessage"] == MSG_STOPPING
        if stopped:
            assert ms(stopping_entry["EndTime"]) == s + 2000
            last = tr[-1]
            assert ms(last["StartTime"]) == ms(last["EndTime"]) == s + 2000
            assert last["StatusMessage"] == MSG_STOPPED
        else:
            assert "EndTime" not in stopping_entry

    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", phase)
    check_history(d["SecondaryStatusTransitions"], stopping=False, stopped=False)
    assert ms(d["LastModifiedTime"]) == s
    assert "TrainingEndTime" not in d
    if at < 3:
        assert "TrainingStartTime" not in d
    else:
        assert ms(d["TrainingStartTime"]) == c + 3000

    server.advance(0.999)  # the step does not move on while the job stops
    assert describe_raw(sm, name)["SecondaryStatusTransitions"] == d["SecondaryStatusTransitions"]

    server.advance(0.001)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Stopping")
    check_history(d["SecondaryStatusTransitions"], stopping=True, stopped=False)
    assert ms(d["LastModifiedTime"]) == s + 1000

    server.advance(1)
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped")
    check_history(d["SecondaryStatusTransitions"], stopping=True, stopped=True)
    assert ms(d["LastModifiedTime"]) == s + 2000
    assert ms(d["TrainingEndTime"]) == s + 2000
    if at < 3:
        assert "TrainingStartTime" not in d
    else:
        assert ms(d["TrainingStartTime"]) == c + 3000
    assert "FailureReason" not in d

    # nothing moves afterwards
    server.advance(60)
    assert describe_raw(sm, name) == d


def test_list_shows_stopping_with_the_step_in_progress_right_after_the_stop(server, sm, paused):
    name, _ = create_and_advance(server, sm, 6, prefix="stoplist")
    sm.stop_training_job(TrainingJobName=name)
    sm.list_training_jobs(NameContains=name, StatusEquals="Stopping", MaxResults=100)
    (s,) = [x for x in CHECKER.raw_body(sm)["TrainingJobSummaries"]
            if x["TrainingJobName"] == name]
    assert (s["TrainingJobStatus"], s["SecondaryStatus"]) == ("Stopping", "Training")


def test_stop_of_a_completed_job_is_rejected_with_its_status(server, sm, paused):
    name, _ = create_and_advance(server, sm, 10)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Completed"
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException",
                           "The request was rejected because the training job is in status Completed.",
                           400)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Completed"


def test_stop_of_a_stopping_job_is_rejected(server, sm, paused):
    name, _ = create_and_advance(server, sm, 4)
    sm.stop_training_job(TrainingJobName=name)
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException",
                           "The request was rejected because the training job is in status Stopping.",
                           400)
    # the second stop did not restart the 2 s countdown
    server.advance(2)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Stopped"


def test_stop_of_a_stopped_job_is_rejected(server, sm, paused):
    name, _ = create_and_advance(server, sm, 1)
    sm.stop_training_job(TrainingJobName=name)
    server.advance(2)
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException",
                           "The request was rejected because the training job is in status Stopped.",
                           400)


def test_stop_of_an_unknown_job_is_not_found(sm):
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName=unique_name("ghost"))
    assert error_of(e) == ("ValidationException", "Requested resource not found.", 400)


def test_waiter_returns_once_the_stopped_job_is_stopped(server, sm, paused):
    name, _ = create_and_advance(server, sm, 6)
    sm.stop_training_job(TrainingJobName=name)
    server.advance(2)
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped"


def test_waiter_polls_through_stopping_to_stopped_in_real_time(make_server):
    srv = make_server("--clock-rate", "4")  # Stopping lasts 0.5 s of real time
    sm = srv.client()
    name = unique_name("stopwait")
    sm.create_training_job(**job_request(name))
    sm.stop_training_job(TrainingJobName=name)
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopping"
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    d = describe_raw(sm, name)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped")


def test_waiter_fails_fast_on_an_unknown_job(sm):
    """The waiter's ValidationException failure acceptor: not-found must be that code."""
    with pytest.raises(WaiterError) as e:
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=unique_name("nowait"), WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    assert "ValidationException" in str(e.value) or "Requested resource not found" in str(e.value)
    assert e.value.last_response["Error"]["Code"] == "ValidationException"
