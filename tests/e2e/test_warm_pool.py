"""Warm pools (ResourceConfig.KeepAlivePeriodInSeconds), spec §3.2.8 and issue 3:

InUse while the job runs; after Completed, Available with ResourceRetainedBillableTimeInSeconds
growing, Terminated when the keep-alive expires or UpdateTrainingJob sets it to 0, Reused (with
ReusedByJob) when a matching job starts while it is Available; Terminated, with nothing
retained, when a job Fails or is Stopped; WarmPoolStatusEquals filters ListTrainingJobs, whose
summaries carry the same WarmPoolStatus as Describe.

Each test uses its own VolumeSizeInGB, so that pools left Available by other tests of the module
never match its jobs.
"""

import itertools

import pytest
from botocore.exceptions import ClientError

import scenario_plans as P
from helpers import describe_raw, error_of, job_request, ms, unique_name

_volume = itertools.count(101)


def resources(volume, keep_alive=None, instance_type="ml.m5.large", count=1):
    rc = {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": volume}
    if keep_alive is not None:
        rc["KeepAlivePeriodInSeconds"] = keep_alive
    return rc


def create(sm, prefix, volume, keep_alive=60, scenario="success", **kw):
    name = unique_name(prefix)
    tags = [{"Key": P.SCENARIO_TAG, "Value": scenario}]
    sm.create_training_job(**job_request(name, ResourceConfig=resources(volume, keep_alive, **kw),
                                         Tags=tags))
    return name


def pool(sm, name):
    return describe_raw(sm, name).get("WarmPoolStatus")


def test_in_use_then_available_growing_then_terminated_at_expiry(server, sm, paused):
    vol = next(_volume)
    name = create(sm, "wp-expiry", vol, keep_alive=60)
    assert pool(sm, name) == {"Status": "InUse"}
    at = 0
    for t in P.change_points(P.PLANS["success"]["changes"])[1:-1]:  # every InProgress point
        server.advance(t - at)
        at = t
        assert pool(sm, name) == {"Status": "InUse"}, f"+{t}s"
    server.advance(10 - at)  # Completed at +10
    assert pool(sm, name) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}
    server.advance(1.5)
    assert pool(sm, name) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 1}
    server.advance(28.5)
    assert pool(sm, name) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 30}
    server.advance(29.999)
    assert pool(sm, name) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 59}
    server.advance(0.001)  # end + KeepAlivePeriodInSeconds
    assert pool(sm, name) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 60}
    server.advance(3600)
    assert pool(sm, name) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 60}
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Completed"
    assert ms(d["LastModifiedTime"]) == ms(d["TrainingEndTime"])


def test_update_keep_alive_zero_terminates_an_available_pool(server, sm, paused):
    name = create(sm, "wp-zero", next(_volume), keep_alive=600)
    server.advance(10 + 42.5)
    assert pool(sm, name)["Status"] == "Available"
    sm.update_training_job(TrainingJobName=name, ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    assert pool(sm, name) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 42}
    d = describe_raw(sm, name)
    assert d["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 0
    server.advance(1000)
    assert pool(sm, name) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 42}
    with pytest.raises(ClientError) as e:
        sm.update_training_job(TrainingJobName=name,
                               ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    assert error_of(e)[0] == "ValidationException"


def test_update_keep_alive_restarts_the_period_from_the_update(server, sm, paused):
    name = create(sm, "wp-extend", next(_volume), keep_alive=30)
    server.advance(10 + 20)
    sm.update_training_job(TrainingJobName=name, ResourceConfig={"KeepAlivePeriodInSeconds": 100})
    server.advance(99.999)
    assert pool(sm, name)["Status"] == "Available"
    server.advance(0.001)
    assert pool(sm, name) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 120}


def test_keep_alive_cannot_be_updated_before_the_job_completes(server, sm, paused):
    name = create(sm, "wp-early", next(_volume), keep_alive=60)
    with pytest.raises(ClientError) as e:
        sm.update_training_job(TrainingJobName=name,
                               ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    code, message, http = error_of(e)
    assert (code, http) == ("ValidationException", 400)
    assert "InProgress" in message


def test_a_matching_job_reuses_an_available_pool(server, sm, paused):
    vol = next(_volume)
    first = create(sm, "wp-first", vol, keep_alive=300)
    server.advance(10 + 25)
    assert pool(sm, first)["Status"] == "Available"
    second = create(sm, "wp-second", vol, keep_alive=300)
    assert pool(sm, first) == {"Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 25,
                               "ReusedByJob": second}
    assert pool(sm, second) == {"Status": "InUse"}
    server.advance(10)
    assert pool(sm, second) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}
    server.advance(1000)
    assert pool(sm, first) == {"Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 25,
                               "ReusedByJob": second}
    assert pool(sm, second)["Status"] == "Terminated"
    # the boto3 view of the member (botocore 1.29 knows ReusedByJob)
    parsed = sm.describe_training_job(TrainingJobName=first)["WarmPoolStatus"]
    assert parsed["ReusedByJob"] == second


@pytest.mark.parametrize("change", ["instance type", "instance count", "no keep-alive", "role"])
def test_a_job_that_does_not_match_leaves_the_pool_available(server, sm, paused, change):
    vol = next(_volume)
    first = create(sm, "wp-keep", vol, keep_alive=300)
    server.advance(11)
    name = unique_name("wp-other")
    rc = resources(vol, 300)
    req = job_request(name, ResourceConfig=rc)
    if change == "instance type":
        rc["InstanceType"] = "ml.m5.xlarge"
    elif change == "instance count":
        rc["InstanceCount"] = 2
    elif change == "no keep-alive":
        del rc["KeepAlivePeriodInSeconds"]
    else:
        req["RoleArn"] = "arn:aws:iam::123456789012:role/OtherRole"
    sm.create_training_job(**req)
    assert pool(sm, first) == {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 1}


def test_a_terminated_pool_is_not_reused(server, sm, paused):
    vol = next(_volume)
    first = create(sm, "wp-gone", vol, keep_alive=5)
    server.advance(20)
    assert pool(sm, first)["Status"] == "Terminated"
    second = create(sm, "wp-late", vol, keep_alive=5)
    assert pool(sm, first) == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 5}
    assert pool(sm, second) == {"Status": "InUse"}


@pytest.mark.parametrize("scenario, stop", [("algorithm-error", False), ("capacity-error", False),
                                            ("long-running", True), ("max-runtime", False)])
def test_failed_and_stopped_jobs_end_with_a_terminated_pool(server, sm, paused, scenario, stop):
    """A controller built against the service: "the warm pool will be terminated automatically
    if the training job has not completed successfully" (spec §2.5)."""
    name = unique_name("wp-none")
    sm.create_training_job(**job_request(
        name, ResourceConfig=resources(next(_volume), 120),
        StoppingCondition={"MaxRuntimeInSeconds": 20},
        Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}]))
    assert pool(sm, name) == {"Status": "InUse"}
    server.advance(6)
    if stop:
        sm.stop_training_job(TrainingJobName=name)
        assert pool(sm, name) == {"Status": "InUse"}
    server.advance(100)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] in ("Failed", "Stopped")
    terminated = {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 0}
    assert d["WarmPoolStatus"] == terminated
    summary = next(s for s in sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
                   if s["TrainingJobName"] == name)
    assert summary["WarmPoolStatus"] == terminated


def test_a_job_without_keep_alive_has_no_warm_pool_status(server, sm, paused):
    name = create(sm, "wp-nokeep", next(_volume), keep_alive=None)
    assert pool(sm, name) is None
    server.advance(20)
    assert pool(sm, name) is None
    with pytest.raises(ClientError) as e:
        sm.update_training_job(TrainingJobName=name,
                               ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    assert error_of(e)[0] == "ValidationException"


def test_delete_is_refused_while_the_pool_is_available(server, sm, paused):
    name = create(sm, "wp-del", next(_volume), keep_alive=60)
    server.advance(15)
    # DeleteTrainingJob is newer than botocore 1.29: sent raw, signed like a newer SDK.
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": name})
    assert (r.status, r.error_code) == (400, "ResourceInUse"), r
    sm.update_training_job(TrainingJobName=name, ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": name})
    assert r.status == 200, r


def listed(sm, prefix, **filters):
    names = {}
    for page in sm.get_paginator("list_training_jobs").paginate(NameContains=prefix, **filters,
                                                                 PaginationConfig={"PageSize": 3}):
        for s in page["TrainingJobSummaries"]:
            names[s["TrainingJobName"]] = s.get("WarmPoolStatus", {}).get("Status")
    return names


def test_warm_pool_status_equals_filters_list_training_jobs(server, sm, paused):
    prefix = unique_name("wpl")
    vol, vol2 = next(_volume), next(_volume)

    def make(suffix, volume, keep=60, scenario="success"):
        name = f"{prefix}-{suffix}"
        sm.create_training_job(**job_request(
            name, ResourceConfig=resources(volume, keep),
            Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}]))
        return name

    terminated = make("term", vol2, keep=5)
    server.advance(30)
    reused = make("reused", vol)
    server.advance(15)
    available = make("avail", vol)  # takes over `reused`'s pool...
    server.advance(15)
    # ...and is Available itself now; a fresh one is InUse
    in_use = make("inuse", vol2)
    failed = make("failed", next(_volume), scenario="algorithm-error")
    plain = make("plain", vol, keep=None)
    server.advance(1)
    everything = listed(sm, prefix)
    assert everything == {terminated: "Terminated", reused: "Reused", available: "Available",
                          in_use: "InUse", failed: "InUse", plain: None}
    assert listed(sm, prefix, WarmPoolStatusEquals="Terminated") == {terminated: "Terminated"}
    assert listed(sm, prefix, WarmPoolStatusEquals="Reused") == {reused: "Reused"}
    assert listed(sm, prefix, WarmPoolStatusEquals="Available") == {available: "Available"}
    assert listed(sm, prefix, WarmPoolStatusEquals="InUse") == {in_use: "InUse",
                                                                failed: "InUse"}
    server.advance(100)
    assert listed(sm, prefix, WarmPoolStatusEquals="InUse") == {}
    assert set(listed(sm, prefix, WarmPoolStatusEquals="Terminated")) == {terminated, available,
                                                                          in_use, failed}
    assert listed(sm, prefix, WarmPoolStatusEquals="Reused") == {reused: "Reused"}
    assert listed(sm, prefix, WarmPoolStatusEquals="Available") == {}


def test_list_summaries_carry_the_warm_pool_status_of_describe(server, sm, paused):
    """Retained time and ReusedByJob in ListTrainingJobs summaries, as Describe shows them."""
    vol = next(_volume)
    first = create(sm, "wps-first", vol, keep_alive=60)
    server.advance(10 + 7.5)  # Available for 7.5 s
    second = create(sm, "wps-second", vol, keep_alive=60)  # takes the pool over
    server.advance(12.25)  # second: Completed 2.25 s ago
    plain = create(sm, "wps-plain", next(_volume), keep_alive=None)

    def summary(name):
        pages = sm.get_paginator("list_training_jobs").paginate(NameContains=name)
        return next(s for p in pages for s in p["TrainingJobSummaries"]
                    if s["TrainingJobName"] == name)

    assert summary(first)["WarmPoolStatus"] == pool(sm, first) == {
        "Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 7, "ReusedByJob": second}
    assert summary(second)["WarmPoolStatus"] == pool(sm, second) == {
        "Status": "Available", "ResourceRetainedBillableTimeInSeconds": 2}
    assert "WarmPoolStatus" not in summary(plain)
    server.advance(100)
    assert summary(second)["WarmPoolStatus"] == pool(sm, second) == {
        "Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 60}
