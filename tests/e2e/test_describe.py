"""DescribeTrainingJob echoes the CreateTrainingJob request (not its Tags) plus the values the
service fills in; CreateTrainingJob answers with the ARN."""

import copy

import pytest

from helpers import ACCOUNT, IMAGE, ROLE_ARN, arn_for, describe_raw, job_request, unique_name


def full_request(name):
    return {
        "TrainingJobName": name,
        "HyperParameters": {"eta": "0.2", "max_depth": "5", "objective": "reg:squarederror",
                            "sagemaker_program": '"train.py"'},
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:rmse", "Regex": r".*train-rmse:([0-9\.]+).*"}],
        },
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {"ChannelName": "train",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri": "s3://sagemock-bucket/train/",
                                             "S3DataDistributionType": "FullyReplicated"}},
             "ContentType": "text/csv"},
            {"ChannelName": "validation",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri": "s3://sagemock-bucket/validation/",
                                             "S3DataDistributionType": "ShardedByS3Key"}},
             "CompressionType": "Gzip", "RecordWrapperType": "RecordIO", "InputMode": "Pipe",
             "ShuffleConfig": {"Seed": 42}},
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://sagemock-bucket/out",
                             "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50,
                           "VolumeKmsKeyId": "vol-key-1"},
        "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"],
                      "Subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
        "Tags": [{"Key": "team", "Value": "ml"}],
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "CheckpointConfig": {"S3Uri": "s3://sagemock-bucket/checkpoints/", "LocalPath": "/opt/ml/checkpoints/"},
        "TensorBoardOutputConfig": {"S3OutputPath": "s3://sagemock-bucket/tb/", "LocalPath": "/opt/ml/output/tensorboard"},
        "ExperimentConfig": {"ExperimentName": "exp-1", "TrialName": "trial-1"},
        "Environment": {"MY_VAR": "value", "OTHER_VAR": "1"},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
    }


def subset(expected, actual, path=""):
    """Every member of `expected` is in `actual` with the same value (recursively for objects)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{path}.{k} missing"
            subset(v, actual[k], f"{path}.{k}")
    else:
        assert expected == actual, f"{path}: {expected!r} != {actual!r}"


def test_create_returns_the_lower_cased_arn_of_the_job(sm):
    name = "Mixed-Case-" + unique_name("Arn")
    out = sm.create_training_job(**job_request(name))
    assert out["TrainingJobArn"] == arn_for(name)
    assert out["TrainingJobArn"].endswith("training-job/" + name.lower())
    d = describe_raw(sm, name)
    assert d["TrainingJobName"] == name, "the name keeps its case"
    assert d["TrainingJobArn"] == out["TrainingJobArn"]


def test_describe_echoes_every_request_member_with_filled_defaults(sm):
    name = unique_name("echo")
    req = full_request(name)
    sm.create_training_job(**copy.deepcopy(req))
    d = describe_raw(sm, name)
    assert "Tags" not in d
    assert d["TrainingJobName"] == name
    assert d["TrainingJobArn"] == arn_for(name)
    assert d["HyperParameters"] == req["HyperParameters"]
    assert d["AlgorithmSpecification"] == dict(req["AlgorithmSpecification"],
                                               EnableSageMakerMetricsTimeSeries=False)
    assert d["RoleArn"] == ROLE_ARN
    ch0, ch1 = req["InputDataConfig"]
    assert d["InputDataConfig"] == [
        dict(ch0, CompressionType="None", RecordWrapperType="None"),
        ch1,
    ]
    assert d["OutputDataConfig"] == dict(req["OutputDataConfig"], CompressionType="GZIP")
    assert d["ResourceConfig"] == req["ResourceConfig"]
    assert d["VpcConfig"] == req["VpcConfig"]
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert d["EnableNetworkIsolation"] is True
    assert d["EnableInterContainerTrafficEncryption"] is True
    assert d["EnableManagedSpotTraining"] is False
    subset(req["CheckpointConfig"], d["CheckpointConfig"], "CheckpointConfig")
    subset(req["TensorBoardOutputConfig"], d["TensorBoardOutputConfig"], "TensorBoardOutputConfig")
    subset(req["ExperimentConfig"], d["ExperimentConfig"], "ExperimentConfig")
    assert d["Environment"] == req["Environment"]
    assert d["RetryStrategy"] == req["RetryStrategy"]
    assert d["ProfilingStatus"] == "Disabled"
    assert d["ModelArtifacts"] == {"S3ModelArtifacts": f"s3://sagemock-bucket/out/{name}/output/model.tar.gz"}


def test_minimal_request_gets_every_documented_default(sm):
    name = unique_name("defaults")
    req = job_request(name, StoppingCondition={})
    sm.create_training_job(**req)
    d = describe_raw(sm, name)
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert d["InputDataConfig"][0]["CompressionType"] == "None"
    assert d["InputDataConfig"][0]["RecordWrapperType"] == "None"
    assert d["OutputDataConfig"] == {"S3OutputPath": "s3://sagemock-bucket/output/",
                                     "KmsKeyId": "", "CompressionType": "GZIP"}
    assert d["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    for k in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
              "EnableManagedSpotTraining"):
        assert d[k] is False, k
    assert d["ProfilingStatus"] == "Disabled"
    assert "HyperParameters" not in d or d["HyperParameters"] == {}
    assert "TrainingStartTime" not in d
    assert d["TrainingJobStatus"] == "InProgress"
    assert d["SecondaryStatus"] == "Starting"


def test_metrics_time_series_flag_sent_true_is_echoed(sm):
    name = unique_name("metrics")
    req = job_request(name)
    req["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = True
    sm.create_training_job(**req)
    assert describe_raw(sm, name)["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is True


@pytest.mark.parametrize("profiler,status", [
    ({"S3OutputPath": "s3://sagemock-bucket/profiler/"}, "Enabled"),
    ({"S3OutputPath": "s3://sagemock-bucket/profiler/", "ProfilingIntervalInMilliseconds": 500},
     "Enabled"),
    ({"DisableProfiler": True}, "Disabled"),
])
def test_profiling_status_follows_profiler_config(sm, profiler, status):
    name = unique_name("prof")
    sm.create_training_job(**job_request(name, ProfilerConfig=profiler))
    d = describe_raw(sm, name)
    assert d["ProfilingStatus"] == status
    subset(profiler, d["ProfilerConfig"], "ProfilerConfig")


@pytest.mark.parametrize("s3_output", ["s3://sagemock-bucket/output", "s3://sagemock-bucket/output/",
                                       "s3://sagemock-bucket"])
def test_model_artifacts_path_is_output_path_slash_name(sm, s3_output):
    name = unique_name("artifacts")
    sm.create_training_job(**job_request(name, OutputDataConfig={"S3OutputPath": s3_output}))
    d = describe_raw(sm, name)
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == \
        f"{s3_output.rstrip('/')}/{name}/output/model.tar.gz"


def test_managed_spot_with_max_wait_is_accepted_and_echoed(sm):
    name = unique_name("spot")
    sm.create_training_job(**job_request(
        name, EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}))
    d = describe_raw(sm, name)
    assert d["EnableManagedSpotTraining"] is True
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}


def test_arn_uses_the_configured_account_and_the_client_region(make_server):
    srv = make_server("--account-id", "111122223333", "--region", "eu-west-1")
    name = unique_name("acct")
    arn = srv.client(region="ap-southeast-2").create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:ap-southeast-2:111122223333:training-job/{name}"
    assert ACCOUNT not in arn


def test_arn_case_preserve_keeps_the_name_as_given(make_server):
    srv = make_server("--arn-case", "preserve")
    sm = srv.client()
    name = "Preserve-" + unique_name("Case")
    arn = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    assert arn == arn_for(name, lower=False)
    assert describe_raw(sm, name)["TrainingJobArn"] == arn
