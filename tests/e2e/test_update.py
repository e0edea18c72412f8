"""UpdateTrainingJob beyond the warm pool (test_warm_pool.py): the profiler configuration, with
the defaults the service fills in, and RemoteDebugConfig, which the model allows only while
SecondaryStatus is Downloading or Training."""

import scenario_plans as P
from helpers import describe_raw, job_request, unique_name

RULE_IMAGE = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
PROFILER = {"S3OutputPath": "s3://sagemock-bucket/profiler/"}
RULE = {"RuleConfigurationName": "ProfilerReport-1645210204", "RuleEvaluatorImage": RULE_IMAGE}


# ------------------------------------------------------------------------------ profiler
def test_create_fills_the_profiler_defaults_of_the_service(sm):
    """Real describes of SDK-made jobs that sent only S3OutputPath show
    ProfilingIntervalInMilliseconds 500, and VolumeSizeInGB 0 in each profiler rule."""
    name = unique_name("prof-defaults")
    sm.create_training_job(**job_request(name, ProfilerConfig=dict(PROFILER),
                                         ProfilerRuleConfigurations=[dict(RULE)]))
    d = describe_raw(sm, name)
    assert d["ProfilerConfig"] == dict(PROFILER, ProfilingIntervalInMilliseconds=500)
    assert d["ProfilerRuleConfigurations"] == [dict(RULE, VolumeSizeInGB=0)]
    assert d["ProfilingStatus"] == "Enabled"


def test_values_sent_are_kept_and_a_disabled_profiler_gets_no_interval(sm):
    name = unique_name("prof-kept")
    sm.create_training_job(**job_request(
        name, ProfilerConfig=dict(PROFILER, ProfilingIntervalInMilliseconds=1000),
        ProfilerRuleConfigurations=[dict(RULE, VolumeSizeInGB=5)]))
    d = describe_raw(sm, name)
    assert d["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 1000
    assert d["ProfilerRuleConfigurations"][0]["VolumeSizeInGB"] == 5
    name = unique_name("prof-off")
    sm.create_training_job(**job_request(name, ProfilerConfig={"DisableProfiler": True}))
    assert describe_raw(sm, name)["ProfilerConfig"] == {"DisableProfiler": True}


def test_update_fills_the_same_defaults(server, sm, paused):
    name = unique_name("prof-update")
    sm.create_training_job(**job_request(name))
    sm.update_training_job(TrainingJobName=name, ProfilerConfig=dict(PROFILER),
                           ProfilerRuleConfigurations=[dict(RULE)])
    d = describe_raw(sm, name)
    assert d["ProfilerConfig"] == dict(PROFILER, ProfilingIntervalInMilliseconds=500)
    assert d["ProfilerRuleConfigurations"] == [dict(RULE, VolumeSizeInGB=0)]


# ------------------------------------------------------------------------------ remote debug
def update_remote_debug(server, name, enable):
    return server.raw("UpdateTrainingJob", {"TrainingJobName": name,
                                            "RemoteDebugConfig": {"EnableRemoteDebug": enable}})


def test_remote_debug_can_be_updated_only_while_downloading_or_training(server, sm, paused):
    name = unique_name("remote-debug")
    sm.create_training_job(**job_request(name))
    prev = 0
    for at, secondary, ok in [(0, "Starting", False), (3, "Downloading", True),
                              (5, "Training", True), (8, "Uploading", False),
                              (10, "Completed", False)]:
        if at > prev:
            server.advance(at - prev)
        prev = at
        d = describe_raw(sm, name)
        assert d["SecondaryStatus"] == secondary
        r = update_remote_debug(server, name, at == 3)
        if ok:
            assert r.status == 200, r
            assert describe_raw(sm, name)["RemoteDebugConfig"] == {"EnableRemoteDebug": at == 3}
        else:
            assert (r.status, r.error_code) == (400, "ValidationException"), r
            assert "Downloading or Training" in r.message and secondary in r.message, r.message
    # a refused update changed nothing: the last accepted value stands
    assert describe_raw(sm, name)["RemoteDebugConfig"] == {"EnableRemoteDebug": False}


def test_remote_debug_of_a_failed_or_stopping_job_is_refused(server, sm, paused):
    failed = unique_name("remote-debug-failed")
    sm.create_training_job(**job_request(failed, Tags=[
        {"Key": P.SCENARIO_TAG, "Value": "algorithm-error"}]))
    server.advance(60)
    assert describe_raw(sm, failed)["TrainingJobStatus"] == "Failed"
    r = update_remote_debug(server, failed, True)
    assert (r.status, r.error_code) == (400, "ValidationException"), r
    assert "RemoteDebugConfig" not in describe_raw(sm, failed)

    stopping = unique_name("remote-debug-stopping")
    sm.create_training_job(**job_request(stopping))
    server.advance(6)
    sm.stop_training_job(TrainingJobName=stopping)
    d = describe_raw(sm, stopping)
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Training")
    r = update_remote_debug(server, stopping, True)
    assert (r.status, r.error_code) == (400, "ValidationException"), r
