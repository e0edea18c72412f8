"""Stored views (store/views.c): DescribeTrainingJob serves the body it rendered before while
nothing in it can have changed, and never a body that is out of date.

Each step describes a job, waits for the views writer to store the rendering (it batches every
few milliseconds), and describes again: the second answer comes from the stored view and must
equal the first; then the clock moves or the job changes, and the next answer must show it.
"""

import time

import scenario_plans as P
from helpers import describe_raw, job_request, unique_name

WRITER_S = 0.05  # the writer stores a batch within a few milliseconds


def settled(sm, name):
    """Describe twice, the second time from the stored view: both bodies, which must agree."""
    first = describe_raw(sm, name)
    time.sleep(WRITER_S)
    second = describe_raw(sm, name)
    assert second == first
    return second


def create(sm, name, scenario="success", **kw):
    sm.create_training_job(**job_request(name, Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}],
                                         **kw))


def test_every_status_change_shows_through_the_stored_view(server, sm, paused):
    name = unique_name("views-steps")
    create(sm, name)
    prev, at = None, 0
    for t in sorted(set(P.change_points(P.PLANS["success"]["changes"]))):
        server.advance(t - at)
        at = t
        d = settled(sm, name)
        assert d != prev, f"+{t}s: the body did not change"  # each change point shows
        server.advance(0.001)  # just after the change: still the same body
        at += 0.001
        assert describe_raw(sm, name) == d
        prev = d
    assert (prev["TrainingJobStatus"], prev["SecondaryStatus"]) == ("Completed", "Completed")


def test_a_warm_pool_counts_its_seconds_through_the_stored_view(server, sm, paused):
    name = unique_name("views-pool")
    create(sm, name, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                     "VolumeSizeInGB": 977, "KeepAlivePeriodInSeconds": 60})
    server.advance(10)  # Completed at +10
    assert settled(sm, name)["WarmPoolStatus"] == {
        "Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}
    server.advance(0.999)
    assert settled(sm, name)["WarmPoolStatus"]["ResourceRetainedBillableTimeInSeconds"] == 0
    server.advance(0.001)
    assert settled(sm, name)["WarmPoolStatus"]["ResourceRetainedBillableTimeInSeconds"] == 1
    sm.update_training_job(TrainingJobName=name, ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    assert settled(sm, name)["WarmPoolStatus"]["Status"] == "Terminated"


def test_rule_evaluations_end_through_the_stored_view(server, sm, paused):
    name = unique_name("views-rules")
    rule = [{"RuleConfigurationName": "LossNotDecreasing",
             "RuleEvaluatorImage": "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"}]
    create(sm, name, DebugRuleConfigurations=rule)
    server.advance(10)
    d = settled(sm, name)
    assert d["TrainingJobStatus"] == "Completed"
    assert d["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "InProgress"
    server.advance(5)  # the evaluations end 5 s after the job
    assert (settled(sm, name)["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"]
            == "NoIssuesFound")


def test_a_stop_shows_at_once(server, sm, paused):
    name = unique_name("views-stop")
    create(sm, name)
    server.advance(3)
    assert settled(sm, name)["TrainingJobStatus"] == "InProgress"
    sm.stop_training_job(TrainingJobName=name)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Stopping"


def test_a_job_deleted_and_created_again_shows_its_new_request(server, sm, paused):
    name = unique_name("views-again")
    create(sm, name, HyperParameters={"epochs": "1"})
    server.advance(10)
    assert settled(sm, name)["HyperParameters"] == {"epochs": "1"}
    assert server.raw("DeleteTrainingJob", {"TrainingJobName": name}).status == 200
    create(sm, name, HyperParameters={"epochs": "2"})  # same name, same (paused) time
    assert describe_raw(sm, name)["HyperParameters"] == {"epochs": "2"}
    time.sleep(WRITER_S)
    server.advance(10)
    assert settled(sm, name)["HyperParameters"] == {"epochs": "2"}
