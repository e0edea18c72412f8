"""A file database survives a restart (SIGTERM, then start again on the same --db)."""

import pytest
from botocore.exceptions import ClientError

from helpers import describe_raw, error_of, job_request, ms, unique_name


def all_jobs(sm):
    return sm.get_paginator("list_training_jobs").paginate().build_full_result()["TrainingJobSummaries"]


def test_jobs_tags_and_histories_survive_a_restart(make_server, tmp_path):
    db = str(tmp_path / "persist.db")
    srv = make_server(db=db)
    sm = srv.client()
    srv.pause()
    names = {k: unique_name(f"persist-{k}") for k in ("done", "stopped", "maxrt", "running", "west")}
    sm.create_training_job(**job_request(names["done"], Tags=[{"Key": "a", "Value": "1"},
                                                              {"Key": "b", "Value": "2"}]))
    sm.create_training_job(**job_request(names["stopped"]))
    sm.create_training_job(**job_request(names["maxrt"], StoppingCondition={"MaxRuntimeInSeconds": 2}))
    srv.advance(4)
    sm.stop_training_job(TrainingJobName=names["stopped"])
    srv.advance(8)  # 12 s: done Completed, stopped Stopped, maxrt Stopped/MaxRuntimeExceeded
    sm.create_training_job(**job_request(names["running"]))
    west = srv.client(region="us-west-2")
    west.create_training_job(**job_request(names["west"]))
    srv.advance(4)  # running: Downloading
    before = {k: describe_raw(west if k == "west" else sm, n) for k, n in names.items()}
    assert before["done"]["TrainingJobStatus"] == "Completed"
    assert before["stopped"]["TrainingJobStatus"] == "Stopped"
    assert before["maxrt"]["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert before["running"]["SecondaryStatus"] == "Downloading"
    list_before = all_jobs(sm)
    tags_before = sm.list_tags(ResourceArn=before["done"]["TrainingJobArn"])["Tags"]

    srv.restart()  # SIGTERM (exit status 0 asserted) and start again on the same file
    sm = srv.client()
    west = srv.client(region="us-west-2")

    for k in ("done", "stopped", "maxrt"):
        assert describe_raw(sm, names[k]) == before[k], f"{k} changed across the restart"
    running = describe_raw(sm, names["running"])
    assert running["CreationTime"] == before["running"]["CreationTime"]
    n = len(before["running"]["SecondaryStatusTransitions"])
    old_tr = before["running"]["SecondaryStatusTransitions"]
    new_tr = running["SecondaryStatusTransitions"]
    assert [t["Status"] for t in new_tr[:n]] == [t["Status"] for t in old_tr]
    assert [t["StartTime"] for t in new_tr[:n]] == [t["StartTime"] for t in old_tr]
    assert describe_raw(west, names["west"])["TrainingJobArn"] == before["west"]["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=before["done"]["TrainingJobArn"])["Tags"] == tags_before
    terminal_names = {names[k] for k in ("done", "stopped", "maxrt")}
    after = all_jobs(sm)
    assert [s["TrainingJobName"] for s in after] == [s["TrainingJobName"] for s in list_before]
    assert [s for s in after if s["TrainingJobName"] in terminal_names] == \
        [s for s in list_before if s["TrainingJobName"] in terminal_names]
    # the names are still taken
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_training_job(**job_request(names["done"]))
    # and the job still running goes on to complete
    srv.pause()
    srv.advance(30)
    assert describe_raw(sm, names["running"])["TrainingJobStatus"] == "Completed"


def test_paused_clock_survives_a_restart(make_server, tmp_path):
    """DESIGN: the clock's state is persisted in the store."""
    srv = make_server(db=str(tmp_path / "clock.db"))
    srv.pause()
    srv.advance(1000)
    now = srv.now()
    srv.restart()
    c = srv.clock()
    assert c["rate"] == 0
    assert ms(c["now"]) == ms(now)


def test_a_second_start_on_a_fresh_db_is_empty(make_server, tmp_path):
    srv = make_server(db=str(tmp_path / "a.db"))
    sm = srv.client()
    sm.create_training_job(**job_request(unique_name("only-a")))
    other = make_server(db=str(tmp_path / "b.db"))
    assert other.client().list_training_jobs()["TrainingJobSummaries"] == []


def test_memory_database_starts_empty_and_works(make_server):
    srv = make_server(db=":memory:")
    sm = srv.client()
    name = unique_name("mem")
    sm.create_training_job(**job_request(name))
    assert describe_raw(sm, name)["TrainingJobStatus"] == "InProgress"
    srv.restart()
    with pytest.raises(ClientError) as e:
        srv.client().describe_training_job(TrainingJobName=name)
    assert error_of(e)[0] == "ValidationException"
