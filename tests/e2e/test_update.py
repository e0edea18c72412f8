"""UpdateTrainingJob beyond the warm pool (test_warm_pool.py): the profiler configuration, with
the defaults the service fills in."""

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
