"""FinalMetricDataList and Debugger/profiler rule evaluation statuses (issue 3):

* one FinalMetricDataList entry per MetricDefinition once the job has ended after training,
  with the scenario's "metrics" values, else deterministic defaults; Timestamps are whole
  seconds before TrainingEndTime (spec §3.3);
* DebugRuleEvaluationStatuses / ProfilerRuleEvaluationStatuses for configured rules: InProgress
  while the job runs, Stopping while it stops; for 5 s after the job's end still InProgress
  (Completed) or Stopping (Failed, Stopped), then the scenario's "ruleResults" (NoIssuesFound
  by default) for a Completed job and Stopped for any other end; RuleEvaluationJobArn named as
  the service names rule evaluation jobs.
"""

import re

import pytest

import scenario_plans as P
from helpers import describe_raw, job_request, ms, unique_name

RULE_IMAGE = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
METRICS = [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
           {"Name": "validation:accuracy", "Regex": "acc=([0-9.]+)"},
           {"Name": "epoch-time", "Regex": "epoch=([0-9.]+)"}]

SCENARIOS = {"scenarios": [
    {"name": "metrics-good", "extends": "success",
     "metrics": {"validation:accuracy": 0.97, "train:loss": 0.031}},
    {"name": "metrics-failed", "extends": "algorithm-error", "metrics": {"train:loss": 9.5}},
    {"name": "rules-mixed", "extends": "success",
     "ruleResults": {"LossNotDecreasing": "IssuesFound", "Overfit": "Error"}},
    {"name": "rules-mixed-long", "extends": "rules-mixed",
     "steps": [{"status": "Starting", "durationSeconds": 3,
                "messages": [{"atSeconds": 0, "text": "Starting the training job"}]},
               {"status": "Training", "durationSeconds": 600,
                "messages": [{"atSeconds": 0, "text": "Training in progress."}]}]},
]}


@pytest.fixture(scope="module", autouse=True)
def user_scenarios(server):
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", SCENARIOS)
    assert status == 200, raw
    assert body["scenarios"] == 4


def with_metrics(name, scenario, metrics=METRICS, **kw):
    alg = {"TrainingImage": job_request("x")["AlgorithmSpecification"]["TrainingImage"],
           "TrainingInputMode": "File"}
    if metrics is not None:
        alg["MetricDefinitions"] = metrics
    return job_request(name, AlgorithmSpecification=alg,
                       Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}], **kw)


def final_metrics(sm, name):
    return describe_raw(sm, name).get("FinalMetricDataList")


def test_no_final_metrics_while_the_job_runs(server, sm, paused):
    name = unique_name("fm-run")
    sm.create_training_job(**with_metrics(name, "success"))
    at = 0
    for t in P.change_points(P.PLANS["success"]["changes"]):
        server.advance(t - 0.001 - at if t else 0)
        at = t - 0.001 if t else 0
        d = describe_raw(sm, name)
        if d["TrainingJobStatus"] == "InProgress":
            assert "FinalMetricDataList" not in d, f"+{at}s"
    server.advance(0.001)
    assert len(final_metrics(sm, name)) == 3


def test_final_metrics_follow_the_metric_definitions_with_deterministic_defaults(
        server, sm, paused):
    name = unique_name("fm-default")
    sm.create_training_job(**with_metrics(name, "success"))
    server.advance(30)
    d = describe_raw(sm, name)
    fm = d["FinalMetricDataList"]
    assert [m["MetricName"] for m in fm] == [m["Name"] for m in METRICS]
    for m in fm:
        assert 0.05 <= m["Value"] < 1.05
        assert m["Timestamp"] == int(m["Timestamp"]), "whole seconds"
        assert ms(d["TrainingStartTime"]) <= ms(m["Timestamp"]) < ms(d["TrainingEndTime"])
    assert len({m["Value"] for m in fm}) == 3
    # the same job name and metric read the same value: delete the job and run it again
    r = server.raw("DeleteTrainingJob", {"TrainingJobName": name})
    assert r.status == 200, r
    sm.create_training_job(**with_metrics(name, "success"))
    server.advance(30)
    assert [m["Value"] for m in final_metrics(sm, name)] == [m["Value"] for m in fm]
    assert final_metrics(sm, name) == final_metrics(sm, name)
    # boto3 parses them
    parsed = sm.describe_training_job(TrainingJobName=name)["FinalMetricDataList"]
    assert [m["MetricName"] for m in parsed] == [m["Name"] for m in METRICS]


def test_final_metrics_take_the_scenario_values(server, sm, paused):
    name = unique_name("fm-scenario")
    sm.create_training_job(**with_metrics(name, "metrics-good"))
    server.advance(30)
    fm = {m["MetricName"]: m["Value"] for m in final_metrics(sm, name)}
    assert fm["validation:accuracy"] == 0.97
    assert fm["train:loss"] == 0.031
    assert 0.05 <= fm["epoch-time"] < 1.05


def test_a_failed_job_that_trained_reports_its_metrics(server, sm, paused):
    name = unique_name("fm-failed")
    sm.create_training_job(**with_metrics(name, "metrics-failed"))
    server.advance(30)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    fm = {m["MetricName"]: m for m in d["FinalMetricDataList"]}
    assert fm["train:loss"]["Value"] == 9.5
    assert ms(fm["train:loss"]["Timestamp"]) < ms(d["TrainingEndTime"])


@pytest.mark.parametrize("scenario, metrics", [("capacity-error", METRICS), ("success", None),
                                               ("success", [])])
def test_no_final_metrics_without_training_or_definitions(server, sm, paused, scenario, metrics):
    name = unique_name("fm-none")
    sm.create_training_job(**with_metrics(name, scenario, metrics=metrics))
    server.advance(30)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] in ("Completed", "Failed")
    assert "FinalMetricDataList" not in d


# ------------------------------------------------------------------------------ rules
def rules_request(name, scenario, **kw):
    debug = [{"RuleConfigurationName": n, "RuleEvaluatorImage": RULE_IMAGE}
             for n in ("LossNotDecreasing", "Overfit", "VanishingGradient")]
    profiler = [{"RuleConfigurationName": "ProfilerReport", "RuleEvaluatorImage": RULE_IMAGE}]
    return job_request(name, DebugRuleConfigurations=debug, ProfilerRuleConfigurations=profiler,
                       ProfilerConfig={"S3OutputPath": "s3://sagemock-bucket/profiler/"},
                       Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}], **kw)


def rule_statuses(d):
    return {r["RuleConfigurationName"]: r["RuleEvaluationStatus"]
            for r in d.get("DebugRuleEvaluationStatuses", []) +
            d.get("ProfilerRuleEvaluationStatuses", [])}


ARN_RE = re.compile(r"arn:aws:sagemaker:us-east-1:123456789012:processing-job/[a-z0-9-]{1,63}")


def test_rules_are_in_progress_while_the_job_runs_then_take_the_scenario_results(
        server, sm, paused):
    name = unique_name("rules")
    sm.create_training_job(**rules_request(name, "rules-mixed"))
    d = describe_raw(sm, name)
    assert d["ProfilingStatus"] == "Enabled"
    assert rule_statuses(d) == {"LossNotDecreasing": "InProgress", "Overfit": "InProgress",
                                "VanishingGradient": "InProgress", "ProfilerReport": "InProgress"}
    arns = set()
    for r in d["DebugRuleEvaluationStatuses"] + d["ProfilerRuleEvaluationStatuses"]:
        assert ARN_RE.fullmatch(r["RuleEvaluationJobArn"]), r
        assert "StatusDetails" not in r
        arns.add(r["RuleEvaluationJobArn"])
    assert len(arns) == 4
    server.advance(6)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"InProgress"}
    server.advance(4)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Completed"
    # a real ProfilerReport can still read InProgress when the job reads Completed: the
    # evaluations go on for 5 s after the job's end
    assert set(rule_statuses(d).values()) == {"InProgress"}
    server.advance(4.999)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"InProgress"}
    server.advance(0.001)
    d = describe_raw(sm, name)
    assert rule_statuses(d) == {"LossNotDecreasing": "IssuesFound", "Overfit": "Error",
                                "VanishingGradient": "NoIssuesFound",
                                "ProfilerReport": "NoIssuesFound"}
    issues = next(r for r in d["DebugRuleEvaluationStatuses"]
                  if r["RuleConfigurationName"] == "LossNotDecreasing")
    assert issues["StatusDetails"].startswith("RuleEvaluationConditionMet")
    for r in d["DebugRuleEvaluationStatuses"] + d["ProfilerRuleEvaluationStatuses"]:
        assert ms(r["LastModifiedTime"]) == ms(d["TrainingEndTime"]) + 5000
        assert r["RuleEvaluationJobArn"] in arns


def test_rules_default_to_no_issues_found(server, sm, paused):
    name = unique_name("rules-default")
    sm.create_training_job(**rules_request(name, "success"))
    server.advance(20)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"NoIssuesFound"}


def test_rules_of_a_stopped_job_go_stopping_then_stopped(server, sm, paused):
    name = unique_name("rules-stop")
    sm.create_training_job(**rules_request(name, "rules-mixed-long"))
    server.advance(100)
    sm.stop_training_job(TrainingJobName=name)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"Stopping"}
    server.advance(2)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Stopped"
    assert set(rule_statuses(d).values()) == {"Stopping"}
    server.advance(5)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"Stopped"}


def test_rules_of_a_failed_job_show_stopping_then_stopped(server, sm, paused):
    name = unique_name("rules-failed")
    sm.create_training_job(**rules_request(name, "algorithm-error"))
    server.advance(7)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    assert set(rule_statuses(d).values()) == {"Stopping"}  # as a real ProfilerReport after a failure
    server.advance(5)
    assert set(rule_statuses(describe_raw(sm, name)).values()) == {"Stopped"}


def test_rule_evaluation_job_arn_cuts_the_job_name_and_keeps_the_lower_cased_rule_name(sm):
    name = "finetune-distilbert-base-cased-" + unique_name("2022")
    rules = [{"RuleConfigurationName": "ProfilerReport-1645210204", "RuleEvaluatorImage": RULE_IMAGE},
             {"RuleConfigurationName": "A_Rule.Name-" + "x" * 60, "RuleEvaluatorImage": RULE_IMAGE}]
    sm.create_training_job(**job_request(name, ProfilerRuleConfigurations=rules))
    a, b = describe_raw(sm, name)["ProfilerRuleEvaluationStatuses"]
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/"
    # the real one: finetune-distilbert-base-c-profilerreport-1645210204-dfdabd65
    assert re.fullmatch(re.escape(prefix) + r"finetune-distilbert-base-c-profilerreport-1645210204-"
                        r"[0-9a-f]{8}", a["RuleEvaluationJobArn"]), a
    job = b["RuleEvaluationJobArn"][len(prefix):]
    assert len(job) == 63 and job.startswith("finetune-distilbert-base-c-a-rule-name-xxx"), job
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job), job


def test_no_rule_statuses_without_rules_and_profiling_disabled(server, sm, paused):
    name = unique_name("rules-none")
    sm.create_training_job(**job_request(name))
    server.advance(20)
    d = describe_raw(sm, name)
    assert "DebugRuleEvaluationStatuses" not in d
    assert "ProfilerRuleEvaluationStatuses" not in d
    assert d["ProfilingStatus"] == "Disabled"


def test_final_metric_timestamps_come_before_training_end_of_a_failed_job(server, sm, paused):
    server.pause_at_whole_second()
    name = unique_name("fm-whole")
    sm.create_training_job(**with_metrics(name, "algorithm-error"))
    server.advance(30)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    for m in d["FinalMetricDataList"]:
        assert ms(m["Timestamp"]) < ms(d["TrainingEndTime"])
