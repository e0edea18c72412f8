"""Hyperparameter tuning jobs end to end (boto3): the six operations, tags on tuning-job ARNs, the
children as real training jobs, strategies, early stopping, completion criteria, failures, stop,
warm start, several definitions, and every error.

The module server's clock is paused: each test moves it with POST /_sagemock/clock, so every
status below is exact. The default scenario takes 10 s (Training from 5 s to 8 s, epochs
evenly inside it); a child of a tuning job created at C is therefore Completed at C + 10 s.
Every response is checked against the merged model by the conformance checker (conftest.py);
members newer than Debian's botocore 1.29 are read from the raw body.
"""

import copy
import json
import re

import pytest
from botocore.exceptions import ClientError

from conformance import CHECKER
from helpers import IMAGE, ROLE_ARN, error_of

METRIC = "validation:accuracy"
METRIC_DEF = {"Name": METRIC, "Regex": r"validation:accuracy=([0-9\.]+)"}
LOSS_DEF = {"Name": "train:loss", "Regex": r"train:loss=([0-9\.]+)"}

_n = [0]


def name(prefix="tj"):
    _n[0] += 1
    return f"{prefix}{_n[0]}"


def definition(**over):
    d = {
        "StaticHyperParameters": {"epochs": "4"},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "MetricDefinitions": [METRIC_DEF, LOSS_DEF]},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/",
            "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                           "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    for k, v in over.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


RANGES = {
    "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1",
                                   "ScalingType": "Logarithmic"}],
    "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "8"}],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
}


def tuning_request(job, strategy="Bayesian", max_jobs=6, parallel=2, ranges=None, **over):
    config = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": METRIC},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs,
                           "MaxParallelTrainingJobs": parallel},
        "ParameterRanges": copy.deepcopy(ranges if ranges is not None else RANGES),
    }
    config.update(over.pop("config", {}))
    if max_jobs is None:
        del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    req = {"HyperParameterTuningJobName": job, "HyperParameterTuningJobConfig": config,
           "TrainingJobDefinition": over.pop("training", definition())}
    req.update(over)
    return {k: v for k, v in req.items() if v is not None}


@pytest.fixture(scope="module", autouse=True)
def paused_clock(server):
    server.pause_at_whole_second()
    yield
    if server.running:
        server.set_rate(1)


def children(sm, job, **kw):
    out, token = [], None
    while True:
        args = dict(HyperParameterTuningJobName=job, MaxResults=100, **kw)
        if token:
            args["NextToken"] = token
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(**args)
        out += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return out


def describe_raw(sm, job):
    sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    return CHECKER.raw_body(sm)


def timeline_row(sm, job):
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    kids = sorted(children(sm, job), key=lambda c: c["TrainingJobName"])
    return d, kids


# ------------------------------------------------------------------------------ the lifecycle
def test_a_tuning_job_runs_its_children_on_the_clock_and_picks_the_best(server, sm):
    job = name("timeline")
    t0 = server.now()
    arn = sm.create_hyper_parameter_tuning_job(**tuning_request(job))[
        "HyperParameterTuningJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{job}"
    print(f"\ntuning job {job} (Bayesian, MaxNumberOfTrainingJobs 6, MaxParallel 2)")
    for step in range(0, 36, 5):
        d, kids = timeline_row(sm, job)
        running = [c for c in kids if c["TrainingJobStatus"] == "InProgress"]
        assert len(running) <= 2
        assert d["TrainingJobStatusCounters"]["InProgress"] == len(running)
        best = d.get("BestTrainingJob", {}).get("TrainingJobName", "-")
        print(f"t+{server.now() - t0:4.0f}s {d['HyperParameterTuningJobStatus']:<10} best={best}")
        for c in kids:
            value = c.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
            print(f"    {c['TrainingJobName']:<28} {c['TrainingJobStatus']:<10} "
                  f"{c['ObjectiveStatus']:<9} {'' if value is None else value:<9} "
                  f"{json.dumps(c['TunedHyperParameters'], sort_keys=True)}")
        server.advance(5)
    d, kids = timeline_row(sm, job)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert len(kids) == 6
    assert d["TrainingJobStatusCounters"] == {"Completed": 6, "InProgress": 0,
                                              "RetryableError": 0, "NonRetryableError": 0,
                                              "Stopped": 0}
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 6, "Pending": 0, "Failed": 0}
    # Children: <tuning job>-<NNN>-<8 hex>, launched two at a time every 10 s.
    created = sorted(c["CreationTime"].timestamp() - t0 for c in kids)
    assert created == [0, 0, 10, 10, 20, 20]
    for i, c in enumerate(kids):
        assert re.fullmatch(rf"{job}-{i + 1:03d}-[0-9a-f]{{8}}", c["TrainingJobName"])
        assert c["TuningJobName"] == job
    values = {c["TrainingJobName"]: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
              for c in kids}
    best = d["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values.values())
    assert values[best["TrainingJobName"]] == max(values.values())
    assert d["HyperParameterTuningEndTime"].timestamp() - t0 == 30
    raw = describe_raw(sm, job)
    assert raw["ConsumedResources"] == {"RuntimeInSeconds": 30}
    assert "NumberOfTrainingJobsObjectiveNotImproving" in raw["TuningJobCompletionDetails"]
    # The best child is a real training job: its Describe, its metrics, its log agree.
    child = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert child["TuningJobArn"] == arn
    assert child["HyperParameters"] == {"epochs": "4", "_tuning_objective_metric": METRIC,
                                        **best["TunedHyperParameters"]}
    final = {m["MetricName"]: m["Value"] for m in child["FinalMetricDataList"]}
    assert final[METRIC] == values[best["TrainingJobName"]]
    listed = sm.list_training_jobs(NameContains=job, MaxResults=100)["TrainingJobSummaries"]
    assert sorted(j["TrainingJobName"] for j in listed
                  if j["TrainingJobName"].startswith(f"{job}-")) == sorted(values)


def test_describe_shows_the_defaults_the_service_fills_in(server, sm):
    job = name()
    req = tuning_request(job, ranges={"IntegerParameterRanges": [
        {"Name": "layers", "MinValue": "1", "MaxValue": "8"}]})
    sm.create_hyper_parameter_tuning_job(**req)
    d = describe_raw(sm, job)
    conf = d["HyperParameterTuningJobConfig"]
    assert conf["TrainingJobEarlyStoppingType"] == "Off"
    assert conf["ParameterRanges"]["ContinuousParameterRanges"] == []
    assert conf["ParameterRanges"]["CategoricalParameterRanges"] == []
    static = d["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static == {"epochs": "4", "_tuning_objective_metric": METRIC}
    assert d["HyperParameterTuningJobStatus"] == "InProgress"
    assert "HyperParameterTuningEndTime" not in d and "BestTrainingJob" not in d


def test_a_read_never_shows_a_state_older_than_the_clock(server, sm):
    job = name()
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=4, parallel=1))
    server.advance(35)  # nobody reads the tuning job meanwhile
    listed = [j for j in sm.list_training_jobs(NameContains=job)["TrainingJobSummaries"]
              if j["TrainingJobName"].startswith(f"{job}-")]
    assert len(listed) == 4  # the fourth child was created at +30 s
    assert sorted(j["TrainingJobStatus"] for j in listed) == \
        ["Completed", "Completed", "Completed", "InProgress"]


def test_a_child_stopped_by_hand_frees_its_slot_at_once(server, sm):
    job = name()
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=3, parallel=1))
    server.advance(6)
    first = children(sm, job)[0]["TrainingJobName"]
    sm.stop_training_job(TrainingJobName=first)
    server.advance(2)  # Stopped at +8 s: the next child starts then, not at +10 s
    kids = sorted(children(sm, job), key=lambda c: c["TrainingJobName"])
    assert [c["TrainingJobStatus"] for c in kids] == ["Stopped", "InProgress"]
    assert kids[1]["CreationTime"] == kids[0]["TrainingEndTime"]
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["TrainingJobStatusCounters"]["Stopped"] == 1


# ------------------------------------------------------------------------------ strategies
def test_grid_runs_every_combination_once(server, sm):
    job = name()
    ranges = {"CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]},
                                             {"Name": "act", "Values": ["relu", "tanh", "gelu"]}]}
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, strategy="Grid", max_jobs=None,
                                                          parallel=3, ranges=ranges))
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    server.advance(25)
    kids = children(sm, job)
    combos = sorted((c["TunedHyperParameters"]["optimizer"], c["TunedHyperParameters"]["act"])
                    for c in kids)
    assert combos == sorted((o, a) for o in ("sgd", "adam") for a in ("relu", "tanh", "gelu"))
    assert sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)[
        "HyperParameterTuningJobStatus"] == "Completed"


def test_random_points_stay_inside_their_ranges_and_scales(server, sm):
    job = name()
    ranges = {"ContinuousParameterRanges": [
        {"Name": "lr", "MinValue": "0.00001", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999",
         "ScalingType": "ReverseLogarithmic"}],
        "IntegerParameterRanges": [{"Name": "batch", "MinValue": "16", "MaxValue": "512",
                                    "ScalingType": "Linear"}]}
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, strategy="Random", max_jobs=20,
                                                          parallel=20, ranges=ranges))
    kids = children(sm, job)
    assert len(kids) == 20
    lrs = [float(c["TunedHyperParameters"]["lr"]) for c in kids]
    assert all(1e-5 <= x <= 1 for x in lrs)
    assert sum(x < 1e-3 for x in lrs) >= 5  # log scale: two of the five decades
    for c in kids:
        assert 0.9 <= float(c["TunedHyperParameters"]["momentum"]) <= 0.999
        b = c["TunedHyperParameters"]["batch"]
        assert b.isdigit() and 16 <= int(b) <= 512
    assert len({json.dumps(c["TunedHyperParameters"], sort_keys=True) for c in kids}) == 20
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)


def test_hyperband_stops_every_child_at_max_resource(server, sm):
    job = name()
    req = tuning_request(job, strategy="Hyperband", max_jobs=3, parallel=3,
                         training=definition(StaticHyperParameters={"epochs": "9"}),
                         config={"StrategyConfig": {"HyperbandStrategyConfig": {
                             "MinResource": 1, "MaxResource": 3}}})
    sm.create_hyper_parameter_tuning_job(**req)
    server.advance(30)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Stopped"] == 3
    assert d["ObjectiveStatusCounters"]["Succeeded"] == 3


def test_early_stopping_auto_stops_weak_children(server, sm):
    job = name()
    req = tuning_request(job, strategy="Random", max_jobs=12, parallel=6,
                         config={"TrainingJobEarlyStoppingType": "Auto"},
                         training=definition(StaticHyperParameters={"epochs": "10"}))
    sm.create_hyper_parameter_tuning_job(**req)
    server.advance(60)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    kids = children(sm, job)
    stopped = [c for c in kids if c["TrainingJobStatus"] == "Stopped"]
    assert stopped and d["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    completed = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in kids
                 if c["TrainingJobStatus"] == "Completed"]
    for c in stopped:  # a stopped child's objective is the last value its log printed
        value = c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        assert value < max(completed)
        desc = sm.describe_training_job(TrainingJobName=c["TrainingJobName"])
        assert desc["SecondaryStatus"] == "Stopped"


# ------------------------------------------------------------------------------ criteria, failures
def test_target_objective_value_completes_early(server, sm):
    job = name()
    req = tuning_request(job, max_jobs=20, parallel=2,
                         config={"TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.1}})
    sm.create_hyper_parameter_tuning_job(**req)
    server.advance(15)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert len(children(sm, job)) == 2


def test_best_objective_not_improving_completes(server, sm):
    job = name()
    req = tuning_request(job, max_jobs=30, parallel=1, config={"TuningJobCompletionCriteria": {
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}})
    r = server.raw("CreateHyperParameterTuningJob", req)
    assert r.status == 200, r
    server.advance(400)
    r = server.raw("DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": job})
    assert r.json["HyperParameterTuningJobStatus"] == "Completed"
    assert r.json["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3
    assert r.json["ObjectiveStatusCounters"]["Succeeded"] < 30


def test_max_runtime_ends_the_tuning_job(server, sm):
    job = name()
    req = tuning_request(job, max_jobs=50, parallel=1)
    req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 125
    assert server.raw("CreateHyperParameterTuningJob", req).status == 200  # newer than botocore 1.29
    server.advance(200)
    d = server.raw("DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": job}).json
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 12
    assert d["TrainingJobStatusCounters"]["Stopped"] == 1  # the 13th, stopped at 125 s
    assert d["HyperParameterTuningEndTime"] - d["CreationTime"] == 127  # its stop takes 2 s


def test_the_tuning_job_fails_when_its_children_fail(server, sm):
    job = name()
    req = tuning_request(job, max_jobs=10, parallel=2,
                         Tags=[{"Key": "sagemock:scenario", "Value": "algorithm-error"}])
    sm.create_hyper_parameter_tuning_job(**req)
    server.advance(60)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Failed"
    assert d["FailureReason"] == ("No training job succeeded after 6 attempts. Please take a look "
                                  "at the training job failures to get more details.")
    assert d["TrainingJobStatusCounters"]["NonRetryableError"] == 6
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 6}
    kid = children(sm, job)[0]
    assert kid["FailureReason"].startswith("AlgorithmError")
    assert kid["ObjectiveStatus"] == "Failed"
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in kid


def test_a_fixture_rule_fails_a_fraction_of_the_children(server, sm):
    job = name("frac")
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", {"rules": [
        {"match": {"name": f"{job}-00[24]-*"}, "scenario": "internal-error"}]})
    assert status == 200, raw
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=5, parallel=5))
    server.advance(40)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 3
    assert d["TrainingJobStatusCounters"]["RetryableError"] == 2
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 2}


# ------------------------------------------------------------------------------ stop and delete
def test_stop_stops_the_running_children_then_the_job(server, sm):
    job = name()
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=6, parallel=3))
    server.advance(4)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Stopping"
    assert {c["TrainingJobStatus"] for c in children(sm, job)} == {"Stopping"}
    with pytest.raises(ClientError) as e:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert error_of(e)[:2] == ("ValidationException", "The request was rejected because the "
                               "hyperparameter tuning job is in status Stopping.")
    server.advance(3)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    assert d["TrainingJobStatusCounters"]["Stopped"] == 3
    server.advance(30)
    assert len(children(sm, job)) == 3  # nothing launched after the stop


def test_delete_keeps_the_training_jobs(server, sm):
    job = name()
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=1, parallel=1))
    # DeleteHyperParameterTuningJob is newer than Debian's botocore 1.29: a raw call.
    r = server.raw("DeleteHyperParameterTuningJob", {"HyperParameterTuningJobName": job})
    assert (r.status, r.error_code) == (400, "ValidationException")
    assert "InProgress" in r.message
    server.advance(10)
    kid = children(sm, job)[0]["TrainingJobName"]
    r = server.raw("DeleteHyperParameterTuningJob", {"HyperParameterTuningJobName": job})
    assert r.status == 200 and r.json in ({}, None), r
    with pytest.raises(ClientError) as e:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert error_of(e) == ("ResourceNotFound",
                           f"Amazon SageMaker can't find a tuning job with name {job}", 400)
    assert sm.describe_training_job(TrainingJobName=kid)["TrainingJobStatus"] == "Completed"
    # The name is free again.
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=1, parallel=1))


@pytest.mark.parametrize("op", ["DescribeHyperParameterTuningJob",
                                "StopHyperParameterTuningJob",
                                "DeleteHyperParameterTuningJob",
                                "ListTrainingJobsForHyperParameterTuningJob"])
def test_an_unknown_tuning_job_is_resource_not_found(server, op):
    r = server.raw(op, {"HyperParameterTuningJobName": "no-such-tuning-job"})
    assert (r.status, r.error_code, r.message) == (
        400, "ResourceNotFound",
        "Amazon SageMaker can't find a tuning job with name no-such-tuning-job")


# ------------------------------------------------------------------------------ lists
def test_list_tuning_jobs_filters_sorts_and_pages(make_server):
    server = make_server("--clock-rate", "0")  # a server of its own: only these three
    sm = server.client()
    server.pause_at_whole_second()
    names = ["lb", "la", "lc"]
    for n in names:
        sm.create_hyper_parameter_tuning_job(**tuning_request(n, max_jobs=1, parallel=1))
        server.advance(1)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="lc")
    page = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in page] == ["la", "lb", "lc"]  # Name, Asc.
    s = page[0]
    assert s["Strategy"] == "Bayesian"
    assert s["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1}
    assert s["TrainingJobStatusCounters"]["InProgress"] == 1
    desc = sm.list_hyper_parameter_tuning_jobs(SortBy="CreationTime", SortOrder="Descending")
    assert [s["HyperParameterTuningJobName"] for s in
            desc["HyperParameterTuningJobSummaries"]] == ["lc", "la", "lb"]
    stopping = sm.list_hyper_parameter_tuning_jobs(StatusEquals="Stopping")
    assert [s["HyperParameterTuningJobName"] for s in
            stopping["HyperParameterTuningJobSummaries"]] == ["lc"]
    assert [s["HyperParameterTuningJobName"] for s in sm.list_hyper_parameter_tuning_jobs(
        NameContains="A")["HyperParameterTuningJobSummaries"]] == ["la"]
    first = sm.list_hyper_parameter_tuning_jobs(MaxResults=2)
    assert len(first["HyperParameterTuningJobSummaries"]) == 2 and first["NextToken"]
    rest = sm.list_hyper_parameter_tuning_jobs(MaxResults=2, NextToken=first["NextToken"])
    assert [s["HyperParameterTuningJobName"] for s in
            rest["HyperParameterTuningJobSummaries"]] == ["lc"]
    assert "NextToken" not in rest
    pages = sm.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
        PaginationConfig={"PageSize": 1})
    assert [s["HyperParameterTuningJobName"] for p in pages
            for s in p["HyperParameterTuningJobSummaries"]] == ["la", "lb", "lc"]
    with pytest.raises(ClientError) as e:
        sm.list_hyper_parameter_tuning_jobs(NextToken="forged")
    assert error_of(e)[:2] == ("ValidationException", "Invalid NextToken.")


def test_list_children_sorts_by_objective_filters_and_pages(server, sm):
    job = name()
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=5, parallel=2))
    server.advance(20)  # four ended, one running
    by_value = children(sm, job, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    assert len(by_value) == 4  # the running one has no objective yet
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in by_value]
    assert values == sorted(values, reverse=True)
    best = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)[
        "BestTrainingJob"]
    assert by_value[0]["TrainingJobName"] == best["TrainingJobName"]
    running = children(sm, job, StatusEquals="InProgress")
    assert len(running) == 1 and running[0]["ObjectiveStatus"] == "Pending"
    page = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=job,
                                                                 MaxResults=2)
    assert [c["TrainingJobName"] for c in page["TrainingJobSummaries"]] == \
        sorted(c["TrainingJobName"] for c in children(sm, job))[:2]
    nxt = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job, MaxResults=2, NextToken=page["NextToken"])
    assert len(nxt["TrainingJobSummaries"]) == 2


# ------------------------------------------------------------------------------ tags
def test_tags_on_tuning_job_arns_and_on_its_children(server, sm):
    job = name()
    arn = sm.create_hyper_parameter_tuning_job(**tuning_request(
        job, max_jobs=1, parallel=1, Tags=[{"Key": "team", "Value": "vision"}]))[
        "HyperParameterTuningJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "vision"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    kid = children(sm, job)[0]
    # "Tags that you specify for the tuning job are also added to all training jobs that the
    # tuning job launches."
    assert sm.list_tags(ResourceArn=kid["TrainingJobArn"])["Tags"] == \
        [{"Key": "team", "Value": "vision"}]
    missing = arn.replace(job, "nope")
    for call in (lambda: sm.list_tags(ResourceArn=missing),
                 lambda: sm.add_tags(ResourceArn=missing, Tags=[{"Key": "a", "Value": "b"}]),
                 lambda: sm.delete_tags(ResourceArn=missing, TagKeys=["a"])):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[:2] == ("ValidationException", "Resource does not exist")
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "b"}])
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error_of(e)[0] == "ResourceLimitExceeded"


# ------------------------------------------------------------------------------ definitions, warm start
def test_several_training_job_definitions_take_turns(server, sm):
    job = name()
    objective = {"Type": "Maximize", "MetricName": METRIC}
    defs = [dict(definition(), DefinitionName="xgb", TuningObjective=objective,
                 HyperParameterRanges={"IntegerParameterRanges": [
                     {"Name": "depth", "MinValue": "2", "MaxValue": "9"}]}),
            dict(definition(AlgorithmSpecification={
                "TrainingImage": IMAGE.replace("xgboost", "linear"), "TrainingInputMode": "File",
                "MetricDefinitions": [METRIC_DEF]}), DefinitionName="linear",
                TuningObjective=objective,
                HyperParameterRanges={"ContinuousParameterRanges": [
                    {"Name": "l1", "MinValue": "0.0", "MaxValue": "1.0"}]})]
    req = tuning_request(job, max_jobs=4, parallel=4, training=None, TrainingJobDefinitions=defs)
    del req["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    del req["HyperParameterTuningJobConfig"]["ParameterRanges"]
    sm.create_hyper_parameter_tuning_job(**req)
    kids = sorted(children(sm, job), key=lambda c: c["TrainingJobName"])
    assert [c["TrainingJobDefinitionName"] for c in kids] == ["xgb", "linear", "xgb", "linear"]
    assert set(kids[0]["TunedHyperParameters"]) == {"depth"}
    assert set(kids[1]["TunedHyperParameters"]) == {"l1"}
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert [x["DefinitionName"] for x in d["TrainingJobDefinitions"]] == ["xgb", "linear"]
    assert d["TrainingJobDefinitions"][1]["StaticHyperParameters"]["_tuning_objective_metric"] \
        == METRIC
    image = sm.describe_training_job(TrainingJobName=kids[1]["TrainingJobName"])[
        "AlgorithmSpecification"]["TrainingImage"]
    assert "linear" in image


def test_warm_start_from_a_finished_parent(server, sm):
    parent = name("parent")
    sm.create_hyper_parameter_tuning_job(**tuning_request(parent, max_jobs=3, parallel=3))
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
            "WarmStartType": "IdenticalDataAndAlgorithm"}
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**tuning_request(name(), WarmStartConfig=warm))
    assert "must be Completed or Stopped" in error_of(e)[1]
    server.advance(10)
    parent_best = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=parent)["BestTrainingJob"]
    job = name("warm")
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=2, parallel=2,
                                                          WarmStartConfig=warm))
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    assert d["WarmStartConfig"] == warm
    assert d["OverallBestTrainingJob"]["TrainingJobName"] == parent_best["TrainingJobName"]
    server.advance(10)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    mine = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    theirs = parent_best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert d["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] \
        == max(mine, theirs)
    other = dict(warm, ParentHyperParameterTuningJobs=[{"HyperParameterTuningJobName": "none"}])
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**tuning_request(name(), WarmStartConfig=other))
    assert error_of(e)[:2] == ("ValidationException",
                               "The parent hyperparameter tuning job none does not exist.")
    loss = tuning_request(name(), WarmStartConfig=dict(warm, WarmStartType="TransferLearning"))
    loss["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] = {
        "Type": "Minimize", "MetricName": "train:loss"}
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**loss)
    assert "must be the same as that of its parent" in error_of(e)[1]


# ------------------------------------------------------------------------------ the objective surface
def test_a_scenario_objective_shapes_the_response_surface(server, sm):
    job = name("surf")
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", {"scenarios": [{
        "name": "tuned", "steps": [{"status": "Training", "durationSeconds": 10,
                                    "messages": [{"atSeconds": 0, "text": "Training"}]}],
        "objective": {"metric": METRIC, "best": 0.99, "worst": 0.1, "width": 0.2,
                      "optimum": {"layers": 7, "optimizer": "adam"}}}]})
    assert status == 200, raw
    ranges = {"CategoricalParameterRanges": [{"Name": "layers", "Values": ["1", "3", "5", "7"]},
                                             {"Name": "optimizer", "Values": ["sgd", "adam"]}]}
    sm.create_hyper_parameter_tuning_job(**tuning_request(
        job, strategy="Grid", max_jobs=None, parallel=16, ranges=ranges,
        Tags=[{"Key": "sagemock:scenario", "Value": "tuned"}]))
    server.advance(11)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    best = d["BestTrainingJob"]
    assert best["TunedHyperParameters"] == {"layers": "7", "optimizer": "adam"}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.99
    worst = min(c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                for c in children(sm, job))
    assert 0.1 < worst < 0.5
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", {"scenarios": [{
        "name": "bad", "steps": [{"status": "Training", "durationSeconds": 1,
                                  "messages": [{"atSeconds": 0, "text": "x"}]}],
        "objective": {"peak": 1}}]})
    assert status == 400 and b"objective.peak: unknown field" in raw


# ------------------------------------------------------------------------------ validation
BAD = [
    ("both definitions", lambda r: r.update(TrainingJobDefinitions=[definition()]),
     "ValidationException", "Exactly one of TrainingJobDefinition and TrainingJobDefinitions"),
    ("no definition", lambda r: r.pop("TrainingJobDefinition"),
     "ValidationException", "Exactly one of TrainingJobDefinition and TrainingJobDefinitions"),
    ("no objective", lambda r: r["HyperParameterTuningJobConfig"].pop(
        "HyperParameterTuningJobObjective"), "ValidationException",
     "HyperParameterTuningJobObjective must be specified"),
    ("metric not defined", lambda r: r["HyperParameterTuningJobConfig"][
        "HyperParameterTuningJobObjective"].update(MetricName="f1"), "ValidationException",
     "A metric is required for this hyperparameter tuning job objective. Provide a metric in the "
     "metric definitions."),
    ("same name twice", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "IntegerParameterRanges"].append({"Name": "lr", "MinValue": "1", "MaxValue": "2"}),
     "ValidationException", "The hyperparameter lr is specified more than once"),
    ("static and tuned", lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(
        layers="3"), "ValidationException", "cannot be both static"),
    ("min not below max", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "IntegerParameterRanges"][0].update(MinValue="8"), "ValidationException",
     "MinValue (8) must be less than MaxValue (8)"),
    ("integer not integral", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "IntegerParameterRanges"][0].update(MinValue="1.5"), "ValidationException",
     "MinValue '1.5' is not an integer"),
    ("log from zero", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "ContinuousParameterRanges"][0].update(MinValue="0"), "ValidationException",
     "Logarithmic scaling works only for ranges that have only values greater than 0"),
    ("reverse log integer", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "IntegerParameterRanges"][0].update(ScalingType="ReverseLogarithmic"),
     "ValidationException", "ReverseLogarithmic scaling is supported only for Continuous"),
    ("reverse log to one", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "ContinuousParameterRanges"][0].update(ScalingType="ReverseLogarithmic", MaxValue="1"),
     "ValidationException", "entirely within 0 <= x < 1.0"),
    ("duplicate category", lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "CategoricalParameterRanges"][0].update(Values=["sgd", "sgd"]), "ValidationException",
     "the value 'sgd' is listed more than once"),
    ("grid of numbers", lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Grid"),
     "ValidationException", "The Grid strategy supports only categorical parameters"),
    ("hyperband with auto", lambda r: r["HyperParameterTuningJobConfig"].update(
        Strategy="Hyperband", TrainingJobEarlyStoppingType="Auto"), "ValidationException",
     "TrainingJobEarlyStoppingType must be Off when Strategy is Hyperband"),
    ("strategy config", lambda r: r["HyperParameterTuningJobConfig"].update(
        StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 3}}), "ValidationException",
     "can be specified only when Strategy is Hyperband"),
    ("hyperband without epochs", lambda r: (r["HyperParameterTuningJobConfig"].update(
        Strategy="Hyperband"), r["TrainingJobDefinition"].update(StaticHyperParameters={})),
     "ValidationException", "HyperbandStrategyConfig.MaxResource must be specified"),
    ("too few combinations", lambda r: r["HyperParameterTuningJobConfig"].update(
        ParameterRanges={"CategoricalParameterRanges": [{"Name": "o", "Values": ["a", "b"]}]}),
     "ValidationException", "You don't have enough combinations of hyperparameter ranges. The "
     "total number of hyperparameter combinations for the provided ranges [2.0] must be equal or "
     "greater than the value of MaxNumberOfJobs, [6]. Provide additional ranges."),
    ("no max jobs", lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].pop(
        "MaxNumberOfTrainingJobs"), "ValidationException",
     "MaxNumberOfTrainingJobs must be specified unless Strategy is Grid"),
    ("too many jobs", lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
        MaxNumberOfTrainingJobs=501), "ResourceLimitExceeded", "exceeds the limit of 500"),
    ("too parallel", lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
        MaxParallelTrainingJobs=101), "ResourceLimitExceeded", "exceeds the limit of 100"),
    ("too many hyperparameters", lambda r: r["TrainingJobDefinition"].update(
        StaticHyperParameters={f"h{i}": "1" for i in range(97)}), "ValidationException",
     "make 101 hyperparameters; a training job can have at most 100"),
    ("reserved tag", lambda r: r.update(Tags=[{"Key": "aws:x", "Value": "y"}]),
     "ValidationException", "Tag keys starting with 'aws:' are reserved"),
    ("unknown scenario", lambda r: r.update(Tags=[{"Key": "sagemock:scenario", "Value": "nope"}]),
     "ValidationException", "names the scenario 'nope', which sagemock does not know"),
    ("no resources", lambda r: r["TrainingJobDefinition"].pop("ResourceConfig"),
     "ValidationException", "exactly one of ResourceConfig and HyperParameterTuningResourceConfig"),
    ("training rules", lambda r: r["TrainingJobDefinition"].update(EnableManagedSpotTraining=True),
     "ValidationException", "MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining"),
    ("model: name", lambda r: r.update(HyperParameterTuningJobName="x" * 33),
     "ValidationException", "Value 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' at "
     "'hyperParameterTuningJobName' failed to satisfy constraint: Member must have length less "
     "than or equal to 32"),
    ("model: parallel", lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
        MaxParallelTrainingJobs=0), "ValidationException", "Member must have value greater than or "
     "equal to 1"),
]


@pytest.mark.parametrize("what,mutate,code,text", BAD, ids=[b[0] for b in BAD])
def test_invalid_requests_are_refused(server, what, mutate, code, text):
    req = tuning_request(name("bad"))
    mutate(req)
    r = server.raw("CreateHyperParameterTuningJob", req)
    assert r.status == 400, r
    assert (r.error_code, text in (r.message or "")) == (code, True), r.message


def test_a_taken_name_is_resource_in_use_whatever_its_case(server, sm):
    job = name("taken")
    arn = sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=1, parallel=1))[
        "HyperParameterTuningJobArn"]
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**tuning_request(job.upper(), max_jobs=1,
                                                              parallel=1))
    code, message, status = error_of(e)
    assert (code, status) == ("ResourceInUse", 400)
    assert message.endswith(f"already exists ({arn})")


# ------------------------------------------------------------------------------ admin, restart, reset
def test_the_dashboard_endpoint_shows_each_tuning_job_with_its_children(server, sm):
    job = name("dash")
    sm.create_hyper_parameter_tuning_job(**tuning_request(job, max_jobs=3, parallel=2))
    server.advance(12)
    status, body, raw = server.admin("GET", "/_sagemock/tuning-jobs?limit=1000")
    assert status == 200, raw
    t = next(x for x in body["tuningJobs"] if x["name"] == job)
    assert (t["status"], t["strategy"], t["metric"], t["maxJobs"], t["maxParallel"]) == \
        ("InProgress", "Bayesian", METRIC, 3, 2)
    assert t["counters"]["Completed"] == 2 and t["counters"]["InProgress"] == 1
    assert [c["TrainingJobName"] for c in t["children"]] == \
        sorted(c["TrainingJobName"] for c in children(sm, job))
    assert t["best"] == sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job)["BestTrainingJob"]["TrainingJobName"]
    # The admin job list shows the children too (it advances tuning jobs first).
    status, body, raw = server.admin("GET", "/_sagemock/jobs")
    assert sum(j["name"].startswith(f"{job}-") for j in body["jobs"]) == 3
    status, body, raw = server.admin("GET", "/_sagemock/tuning-jobs?limit=0")
    assert status == 400


def test_tuning_jobs_and_their_children_survive_a_restart(make_server, tmp_path):
    srv = make_server("--clock-rate", "0", db=str(tmp_path / "restart.db"))
    sm = srv.client()
    sm.create_hyper_parameter_tuning_job(**tuning_request("survivor", max_jobs=4, parallel=2))
    srv.advance(5)
    srv.restart()
    srv.advance(20)  # the clock goes on from where it was; children 3 and 4 are launched
    sm = srv.client()
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="survivor")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert len(children(sm, "survivor")) == 4


def test_reset_removes_the_tuning_jobs(make_server):
    srv = make_server("--clock-rate", "0")
    sm = srv.client()
    sm.create_hyper_parameter_tuning_job(**tuning_request("gone", max_jobs=1, parallel=1))
    srv.reset()
    assert sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []
