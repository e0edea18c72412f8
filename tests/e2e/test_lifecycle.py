"""The default lifecycle: Starting (0-3 s, three messages in place) -> Downloading (3-5) ->
Training (5-8, two messages) -> Uploading (8-10) -> Completed (10), in simulated seconds."""

import time

from helpers import (DEFAULT_PLAN, FINAL_MESSAGES, PHASES, describe_raw, job_request, ms,
                     unique_name)

# Offsets at which something visible changes (LastModifiedTime = the latest one passed).
CHANGE_POINTS = [0, 1, 2, 3, 5, 8, 10]


def phase_index(sec):
    idx = 0
    for i, (_, start) in enumerate(PHASES):
        if sec >= start:
            idx = i
    return idx


def assert_completed_history(d, name, s3_output="s3://sagemock-bucket/output/"):
    """Every relation of a job that ran the default plan to Completed."""
    assert d["TrainingJobName"] == name
    assert d["TrainingJobStatus"] == "Completed"
    assert d["SecondaryStatus"] == "Completed"
    tr = d["SecondaryStatusTransitions"]
    assert [t["Status"] for t in tr] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert [t["StatusMessage"] for t in tr] == [FINAL_MESSAGES[t["Status"]] for t in tr]
    c = ms(d["CreationTime"])
    assert ms(tr[0]["StartTime"]) == c
    for a, b in zip(tr, tr[1:]):
        assert "EndTime" in a, a
        assert ms(a["EndTime"]) == ms(b["StartTime"]), (a, b)
    assert ms(tr[-1]["EndTime"]) == ms(tr[-1]["StartTime"]), "terminal entry: EndTime == StartTime"
    assert [ms(t["StartTime"]) - c for t in tr] == [0, 3000, 5000, 8000, 10000]
    assert ms(d["TrainingStartTime"]) == ms(tr[0]["EndTime"]) == ms(tr[1]["StartTime"]) == c + 3000
    assert ms(d["TrainingEndTime"]) == ms(tr[3]["EndTime"]) == ms(tr[4]["StartTime"]) == c + 10000
    assert d["TrainingTimeInSeconds"] == 7
    assert d["BillableTimeInSeconds"] == 7
    assert ms(d["LastModifiedTime"]) == c + 10000
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == \
        f"{s3_output.rstrip('/')}/{name}/output/model.tar.gz"
    assert "FailureReason" not in d


def test_waiter_sees_a_job_through_to_completed_with_every_time_relation(make_server):
    srv = make_server("--clock-rate", "10")  # the 10 s plan takes 1 s of real time
    sm = srv.client()
    name = unique_name("waiter")
    sm.create_training_job(**job_request(name))
    t0 = time.monotonic()
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert time.monotonic() - t0 < 15
    d = describe_raw(sm, name)
    assert_completed_history(d, name)
    # the boto3-parsed view agrees (datetimes)
    parsed = sm.describe_training_job(TrainingJobName=name)
    assert parsed["TrainingJobStatus"] == "Completed"
    assert abs((parsed["TrainingEndTime"] - parsed["TrainingStartTime"]).total_seconds() - 7) < 0.002


def test_job_read_long_after_completion_shows_the_plan_times_not_the_read_time(server, sm, paused):
    name = unique_name("late")
    sm.create_training_job(**job_request(name))
    server.advance(3600)
    d = describe_raw(sm, name)
    assert_completed_history(d, name)


def test_creation_time_is_the_simulated_now(server, sm, paused):
    now = server.now()
    name = unique_name("ctime")
    sm.create_training_job(**job_request(name))
    d = describe_raw(sm, name)
    assert ms(d["CreationTime"]) == ms(now)
    assert ms(d["SecondaryStatusTransitions"][0]["StartTime"]) == ms(now)


def test_paused_clock_advanced_second_by_second_walks_the_default_plan(server, sm, paused):
    name = unique_name("steps")
    req = job_request(name)
    sm.create_training_job(**req)
    d0 = describe_raw(sm, name)
    c = ms(d0["CreationTime"])
    seen_messages = []
    for sec in range(0, 13):
        d = describe_raw(sm, name)
        where = f"at t={sec}s"
        primary, secondary, message = DEFAULT_PLAN[min(sec, 10)]
        assert d["TrainingJobStatus"] == primary, where
        assert d["SecondaryStatus"] == secondary, where
        tr = d["SecondaryStatusTransitions"]
        idx = phase_index(sec)
        # one entry per phase reached: message changes happen in place, never as new entries
        assert [t["Status"] for t in tr] == [p for p, _ in PHASES[:idx + 1]], where
        assert tr[-1]["StatusMessage"] == message, where
        for i, t in enumerate(tr):
            assert ms(t["StartTime"]) == c + PHASES[i][1] * 1000, where
            if i < idx:
                assert ms(t["EndTime"]) == c + PHASES[i + 1][1] * 1000, where
                assert t["StatusMessage"] == FINAL_MESSAGES[t["Status"]], where
        if primary == "InProgress":
            assert "EndTime" not in tr[-1], f"{where}: the current entry has no EndTime"
        else:
            assert ms(tr[-1]["EndTime"]) == ms(tr[-1]["StartTime"]), where
        last_change = max(p for p in CHANGE_POINTS if p <= sec)
        assert ms(d["LastModifiedTime"]) == c + last_change * 1000, where
        # field presence per phase
        if sec < 3:
            assert "TrainingStartTime" not in d, where
        else:
            assert ms(d["TrainingStartTime"]) == c + 3000, where
        if primary == "InProgress":
            for k in ("TrainingEndTime", "TrainingTimeInSeconds", "BillableTimeInSeconds"):
                assert k not in d, f"{where}: {k} present while InProgress"
        else:
            assert ms(d["TrainingEndTime"]) == c + 10000, where
            assert d["TrainingTimeInSeconds"] == d["BillableTimeInSeconds"] == 7, where
        assert d["ModelArtifacts"]["S3ModelArtifacts"] == \
            f"s3://sagemock-bucket/output/{name}/output/model.tar.gz", where
        assert "FailureReason" not in d, where
        assert ms(d["CreationTime"]) == c, where
        if not seen_messages or seen_messages[-1] != (tr[-1]["Status"], message):
            seen_messages.append((tr[-1]["Status"], message))
        server.advance(1)
    # what a poller (the SageMaker Python SDK) prints, one line per change of the last message
    assert seen_messages == [
        ("Starting", "Starting the training job"),
        ("Starting", "Launching requested ML instances"),
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading the training image"),
        ("Training", "Training image download completed. Training in progress."),
        ("Uploading", "Uploading generated training model"),
        ("Completed", "Training job completed"),
    ]
    assert_completed_history(describe_raw(sm, name), name)


def test_starting_message_changes_in_place_in_the_single_starting_entry(server, sm, paused):
    name = unique_name("inplace")
    sm.create_training_job(**job_request(name))
    msgs = []
    for _ in range(3):
        tr = describe_raw(sm, name)["SecondaryStatusTransitions"]
        assert len(tr) == 1 and tr[0]["Status"] == "Starting"
        assert "EndTime" not in tr[0]
        msgs.append(tr[0]["StatusMessage"])
        server.advance(1)
    assert msgs == ["Starting the training job", "Launching requested ML instances",
                    "Preparing the instances for training"]


def test_jobs_created_at_different_times_progress_independently(server, sm, paused):
    a, b = unique_name("indep-a"), unique_name("indep-b")
    sm.create_training_job(**job_request(a))
    server.advance(6)
    sm.create_training_job(**job_request(b))
    da, db = describe_raw(sm, a), describe_raw(sm, b)
    assert (da["SecondaryStatus"], db["SecondaryStatus"]) == ("Training", "Starting")
    server.advance(4)
    da, db = describe_raw(sm, a), describe_raw(sm, b)
    assert (da["TrainingJobStatus"], db["SecondaryStatus"]) == ("Completed", "Downloading")
    server.advance(6)
    assert describe_raw(sm, b)["TrainingJobStatus"] == "Completed"
    assert_completed_history(describe_raw(sm, a), a)
    assert_completed_history(describe_raw(sm, b), b)


def test_clock_rate_one_moves_a_job_in_real_time(server, sm):
    """At the default rate a job leaves its first message within ~1.5 s of real time."""
    server.set_rate(1)
    name = unique_name("realtime")
    sm.create_training_job(**job_request(name))
    d = describe_raw(sm, name)
    assert d["SecondaryStatusTransitions"][0]["StatusMessage"] == "Starting the training job"
    time.sleep(1.2)
    d = describe_raw(sm, name)
    assert d["SecondaryStatusTransitions"][0]["StatusMessage"] == "Launching requested ML instances"
