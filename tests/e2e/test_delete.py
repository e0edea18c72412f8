"""DeleteTrainingJob (newest model only; botocore 1.29.27 lacks it, so it is sent raw, signed with
SigV4 like a newer SDK would): only terminal jobs can be deleted; the name is then free again."""

import pytest
from botocore.exceptions import ClientError

from helpers import describe_raw, error_of, job_request, unique_name


def delete(server, name, region="us-east-1"):
    return server.raw("DeleteTrainingJob", {"TrainingJobName": name}, region=region)


def make_job(server, sm, advance=0, stop=False, tags=None):
    name = unique_name("del")
    kw = {"Tags": tags} if tags else {}
    arn = sm.create_training_job(**job_request(name, **kw))["TrainingJobArn"]
    if stop:
        sm.stop_training_job(TrainingJobName=name)
    if advance:
        server.advance(advance)
    return name, arn


def assert_gone(sm, name):
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException", "Requested resource not found.", 400)


def test_delete_of_a_completed_job(server, sm, paused):
    name, _ = make_job(server, sm, advance=11)
    r = delete(server, name)
    assert r.status == 200, r
    assert r.json in (None, {}), r
    assert_gone(sm, name)


def test_delete_of_a_stopped_job(server, sm, paused):
    name, _ = make_job(server, sm, advance=3, stop=True)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Stopped"
    assert delete(server, name).status == 200
    assert_gone(sm, name)


@pytest.mark.parametrize("advance", [0, 4, 9])
def test_delete_of_an_in_progress_job_is_resource_in_use(server, sm, paused, advance):
    name, _ = make_job(server, sm, advance=advance)
    r = delete(server, name)
    assert (r.status, r.error_code) == (400, "ResourceInUse"), r
    assert "InProgress" in r.message
    assert describe_raw(sm, name)["TrainingJobStatus"] == "InProgress"


def test_delete_of_a_stopping_job_is_resource_in_use(server, sm, paused):
    name, _ = make_job(server, sm, advance=1, stop=True)
    r = delete(server, name)
    assert (r.status, r.error_code) == (400, "ResourceInUse"), r
    assert "Stopping" in r.message
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Stopping"


def test_delete_of_an_unknown_job_is_resource_not_found(server):
    r = delete(server, unique_name("ghost"))
    assert (r.status, r.error_code, r.message) == (400, "ResourceNotFound", "Requested resource not found.")


def test_delete_twice_is_resource_not_found_the_second_time(server, sm, paused):
    name, _ = make_job(server, sm, advance=11)
    assert delete(server, name).status == 200
    r = delete(server, name)
    assert (r.status, r.error_code, r.message) == (400, "ResourceNotFound", "Requested resource not found.")


def test_a_deleted_name_can_be_reused_by_a_fresh_job(server, sm, paused):
    name, arn = make_job(server, sm, advance=11, tags=[{"Key": "old", "Value": "1"}])
    old = describe_raw(sm, name)
    assert delete(server, name).status == 200
    server.advance(5)
    arn2 = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn2 == arn
    new = describe_raw(sm, name)
    assert new["TrainingJobStatus"] == "InProgress"
    assert new["SecondaryStatus"] == "Starting"
    assert new["CreationTime"] > old["CreationTime"]
    assert len(new["SecondaryStatusTransitions"]) == 1
    assert sm.list_tags(ResourceArn=arn2)["Tags"] == [], "the old job's tags went with it"


def test_a_deleted_job_leaves_the_list(server, sm, paused):
    name, _ = make_job(server, sm, advance=11)
    listed = sm.get_paginator("list_training_jobs").paginate(NameContains=name).build_full_result()
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == [name]
    assert delete(server, name).status == 200
    listed = sm.get_paginator("list_training_jobs").paginate(NameContains=name).build_full_result()
    assert listed["TrainingJobSummaries"] == []


def test_delete_is_partitioned_by_region(server, sm, paused):
    name, _ = make_job(server, sm, advance=11)
    r = delete(server, name, region="eu-central-1")
    assert (r.status, r.error_code) == (400, "ResourceNotFound"), r
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Completed"


def test_delete_without_a_name_is_a_validation_error(server):
    r = server.raw("DeleteTrainingJob", {})
    assert (r.status, r.error_code) == (400, "ValidationException")
    assert r.message == ("1 validation error detected: Value null at 'trainingJobName' failed to "
                         "satisfy constraint: Member must not be null")
