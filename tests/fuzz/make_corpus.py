"""Regenerate the fuzzing seed corpus (tests/fuzz/corpus/) and dictionary (sagemock.dict).

The corpus is what boto3 really sends: every call below goes through a real boto3 client to a
real sagemock (SAGEMOCK_BIN, else build/sagemock), and a `before-send` hook records each
request as the fuzz target reads it: `X-Amz-Target`, a tab and the Authorization header for a
few of them, a newline, then the body byte for byte. Client-side parameter validation is off,
so invalid values reach the wire as a careless client would send them.

The dictionary holds the operation targets, every member name and enum value of the embedded
service model, and a few JSON tokens.

    /usr/bin/python3 tests/fuzz/make_corpus.py        (rewrites both; review the diff)
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from helpers import ACCESS_KEY, IMAGE, ROLE_ARN, SECRET_KEY, Server, arn_for, job_request  # noqa: E402

MODEL = REPO / "server" / "services" / "sagemaker" / "model" / "sagemaker-training-service-2.json"


def full_request(name):
    """Every CreateTrainingJob member the model knows, with plausible values."""
    return {
        "TrainingJobName": name,
        "HyperParameters": {"eta": "0.2", "max_depth": "5", "sagemaker_program": '"train.py"'},
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE, "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:rmse", "Regex": r".*train-rmse:([0-9\.]+).*"}],
            "EnableSageMakerMetricsTimeSeries": True,
            "ContainerEntrypoint": ["python3"], "ContainerArguments": ["train.py", "--x"],
            "TrainingImageConfig": {"TrainingRepositoryAccessMode": "Vpc"}},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {"ChannelName": "train",
             "DataSource": {"S3DataSource": {
                 "S3DataType": "S3Prefix", "S3Uri": "s3://b/train/",
                 "S3DataDistributionType": "FullyReplicated",
                 "AttributeNames": ["a"], "InstanceGroupNames": ["g1"]}},
             "ContentType": "text/csv", "CompressionType": "Gzip",
             "RecordWrapperType": "RecordIO", "InputMode": "Pipe", "ShuffleConfig": {"Seed": 42}},
            {"ChannelName": "fs",
             "DataSource": {"FileSystemDataSource": {
                 "FileSystemId": "fs-12345678", "FileSystemAccessMode": "ro",
                 "FileSystemType": "EFS", "DirectoryPath": "/fs/data"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://b/out", "KmsKeyId": "key-1",
                             "CompressionType": "NONE"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2,
                           "VolumeSizeInGB": 50, "VolumeKmsKeyId": "vol-key-1",
                           "KeepAlivePeriodInSeconds": 300},
        "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"],
                      "Subnets": ["subnet-0123456789abcdef0"]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 9000,
                              "MaxPendingTimeInSeconds": 7200},
        "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "sagemock:scenario", "Value": "success"}],
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": "s3://b/ckpt/", "LocalPath": "/opt/ml/checkpoints/"},
        "DebugHookConfig": {"S3OutputPath": "s3://b/debug/", "LocalPath": "/opt/ml/debug",
                            "HookParameters": {"save_interval": "10"},
                            "CollectionConfigurations": [{"CollectionName": "losses",
                                                          "CollectionParameters": {"a": "b"}}]},
        "DebugRuleConfigurations": [{"RuleConfigurationName": "loss", "RuleEvaluatorImage": IMAGE,
                                     "RuleParameters": {"rule_to_invoke": "LossNotDecreasing"},
                                     "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 10}],
        "TensorBoardOutputConfig": {"S3OutputPath": "s3://b/tb/", "LocalPath": "/opt/ml/tb"},
        "ExperimentConfig": {"ExperimentName": "exp-1", "TrialName": "trial-1",
                             "TrialComponentDisplayName": "c"},
        "ProfilerConfig": {"S3OutputPath": "s3://b/prof/", "ProfilingIntervalInMilliseconds": 500,
                           "ProfilingParameters": {"DataloaderProfilingConfig": "{}"},
                           "DisableProfiler": False},
        "ProfilerRuleConfigurations": [{"RuleConfigurationName": "prof",
                                        "RuleEvaluatorImage": IMAGE,
                                        "RuleParameters": {"rule_to_invoke": "ProfilerReport"}}],
        "Environment": {"MY_VAR": "value"},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
        "RemoteDebugConfig": {"EnableRemoteDebug": True},
        "InfraCheckConfig": {"EnableInfraCheck": True},
        "SessionChainingConfig": {"EnableSessionTagChaining": True},
    }


def calls(server):
    """(operation, kwargs) pairs; names match the seed jobs of fuzz_request.c."""
    arn = arn_for("fuzz-job")
    groups = job_request("fuzz-groups", ResourceConfig={"VolumeSizeInGB": 30, "InstanceGroups": [
        {"InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": "g1"},
        {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2, "InstanceGroupName": "g2"}]})
    algo = job_request("fuzz-algo", AlgorithmSpecification={
        "AlgorithmName": "arn:aws:sagemaker:us-east-1:123456789012:algorithm/my-algo",
        "TrainingInputMode": "FastFile"})
    return [
        ("create_training_job", job_request("fuzz-job", Tags=[{"Key": "team", "Value": "fuzz"}])),
        ("create_training_job", full_request("fuzz-full")),
        ("create_training_job", groups),
        ("create_training_job", algo),
        ("create_training_job", job_request("fuzz-fail", Tags=[
            {"Key": "sagemock:scenario", "Value": "algorithm-error"}])),
        ("create_training_job", job_request("fuzz-spot2", EnableManagedSpotTraining=True,
                                            StoppingCondition={"MaxRuntimeInSeconds": 60,
                                                               "MaxWaitTimeInSeconds": 120},
                                            Tags=[{"Key": "sagemock:scenario",
                                                   "Value": "spot-interrupted"}])),
        ("create_training_job", job_request("fuzz-nope", Tags=[
            {"Key": "sagemock:scenario", "Value": "no-such-scenario"}])),
        # the same pool as the seed job fuzz-warm: reuses it once that one has completed
        ("create_training_job", job_request("fuzz-warm2", ResourceConfig={
            "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30,
            "KeepAlivePeriodInSeconds": 600})),
        ("create_training_job", job_request("fuzz-bad", ResourceConfig={
            "InstanceType": "ml.nope", "InstanceCount": 0, "VolumeSizeInGB": 0},
            RoleArn="not-an-arn", StoppingCondition={"MaxRuntimeInSeconds": -1})),
        ("create_training_job", job_request("fuzz-job")),  # taken name
        ("describe_training_job", {"TrainingJobName": "fuzz-job"}),
        ("describe_training_job", {"TrainingJobName": "FUZZ-JOB"}),
        ("describe_training_job", {"TrainingJobName": "no-such-job"}),
        ("describe_training_job", {"TrainingJobName": "bad name!"}),
        ("list_training_jobs", {}),
        ("list_training_jobs", {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}),
        ("list_training_jobs", {"MaxResults": 100, "SortBy": "Status", "SortOrder": "Descending",
                                "StatusEquals": "InProgress", "NameContains": "fuzz",
                                "CreationTimeAfter": 1_600_000_000,
                                "CreationTimeBefore": 4_000_000_000,
                                "LastModifiedTimeAfter": 1_600_000_000,
                                "LastModifiedTimeBefore": 4_000_000_000,
                                "WarmPoolStatusEquals": "Available",
                                "TrainingPlanArnEquals":
                                    "arn:aws:sagemaker:us-east-1:123456789012:training-plan/p"}),
        ("list_training_jobs", {"MaxResults": 1, "SortBy": "CreationTime"}),
        ("list_training_jobs", {"NextToken": "bm90LWEtdG9rZW4="}),
        ("list_training_jobs", {"MaxResults": 1000, "NameContains": "a%b_c"}),
        ("stop_training_job", {"TrainingJobName": "fuzz-job"}),
        ("stop_training_job", {"TrainingJobName": "fuzz-spot"}),
        ("update_training_job", {"TrainingJobName": "fuzz-warm",
                                 "ResourceConfig": {"KeepAlivePeriodInSeconds": 0}}),
        ("update_training_job", {"TrainingJobName": "fuzz-full",
                                 "ProfilerConfig": {"ProfilingIntervalInMilliseconds": 1000,
                                                    "DisableProfiler": True},
                                 "ProfilerRuleConfigurations": [{
                                     "RuleConfigurationName": "p2", "RuleEvaluatorImage": IMAGE}],
                                 "RemoteDebugConfig": {"EnableRemoteDebug": False}}),
        ("update_training_job", {"TrainingJobName": "fuzz-job"}),
        ("update_training_job", {"TrainingJobName": "fuzz-warm",
                                 "ResourceConfig": {"KeepAlivePeriodInSeconds": 1200}}),
        ("add_tags", {"ResourceArn": arn, "Tags": [{"Key": "k1", "Value": "v1"},
                                                   {"Key": "k_2", "Value": "v_2"}]}),
        ("add_tags", {"ResourceArn": arn, "Tags": [{"Key": "k3", "Value": "v%_2"}]}),
        ("add_tags", {"ResourceArn": arn, "Tags": [{"Key": "aws:x", "Value": "y"}]}),
        ("add_tags", {"ResourceArn": arn_for("no-such-job"), "Tags": [{"Key": "a", "Value": "b"}]}),
        ("list_tags", {"ResourceArn": arn}),
        ("list_tags", {"ResourceArn": arn, "MaxResults": 50}),
        ("list_tags", {"ResourceArn": arn, "MaxResults": 1}),
        ("list_tags", {"ResourceArn": arn, "NextToken": "x"}),
        ("delete_tags", {"ResourceArn": arn, "TagKeys": ["k1", "missing"]}),
        ("delete_training_job", {"TrainingJobName": "fuzz-fail"}),
        ("delete_training_job", {"TrainingJobName": "fuzz-job"}),
    ]


def prune(value, shape):
    """`value` without the members this botocore does not know (newer than its model)."""
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: prune(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list" and isinstance(value, list):
        return [prune(v, shape.member) for v in value]
    return value


def record(server, out):
    """Run every call through boto3, then add the calls whose members are newer than this
    botocore by hand (their JSON as is). Appends (name, bytes) as the fuzz target reads them."""
    captured = []

    def before_send(request, **_):
        target = request.headers.get("X-Amz-Target")
        target = target.decode() if isinstance(target, bytes) else target
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else bytes(body)
        head = target
        if len(captured) % 5 == 0:  # a few carry the Authorization (region from its scope)
            auth = request.headers.get("Authorization")
            head += "\t" + (auth.decode() if isinstance(auth, bytes) else auth)
        captured.append(head.encode() + b"\n" + body)

    client = server._session.client(
        "sagemaker", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    client.meta.events.register("before-send", before_send)
    server.pause()
    for op, kwargs in calls(server):
        api = "".join(w.capitalize() for w in op.split("_"))
        if op not in client.meta.method_to_api_mapping:  # an operation newer than botocore
            captured.append(f"SageMaker.{api}\n{json.dumps(kwargs)}".encode())
            continue
        model = client.meta.service_model.operation_model(api)
        pruned = prune(kwargs, model.input_shape)
        if pruned != kwargs:
            captured.append(f"SageMaker.{api}\n{json.dumps(kwargs)}".encode())
        try:
            getattr(client, op)(**pruned)
        except ClientError:
            pass
        server.advance(3)
    for data in captured:
        op = data.split(b"\n", 1)[0].split(b"\t")[0].decode().split(".")[-1]
        out.append((f"{op}-{hashlib.sha1(data).hexdigest()[:12]}", data))


def extra():
    """Seeds for the other heads fuzz_request.c knows (not recorded from boto3): awsQuery forms,
    smithy-rpc-v2-cbor bodies and admin API calls, with Host and Origin headers after tabs."""
    import cbor2

    ns = "%2Faws%2Fsagemaker%2FTrainingJobs"
    seeds = [
        b"@query\nAction=GetCallerIdentity&Version=2011-06-15",
        b"@query\nAction=GetRole&Version=2010-05-08&RoleName=SageMakerRole",
        b"@query\tAWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/iam/aws4_request, "
        b"SignedHeaders=host, Signature=0\nAction=GetRole&Version=2010-05-08&RoleName=a%FFb",
        b"@query\nAction=ListMetrics&Version=2010-08-01&Namespace=" + ns.encode(),
        b"@query\nAction=GetMetricStatistics&Version=2010-08-01&Namespace=" + ns.encode() +
        b"&MetricName=train%3Aloss&Dimensions.member.1.Name=Host"
        b"&Dimensions.member.1.Value=fuzz-job%2Falgo-1&StartTime=2024-01-01T00%3A00%3A00Z"
        b"&EndTime=2030-01-01T00%3A00%3A00Z&Period=60&Statistics.member.1=Average",
        b"@cbor /service/GraniteServiceVersion20100801/operation/ListMetrics\n" +
        cbor2.dumps({"Namespace": "/aws/sagemaker/TrainingJobs"}),
        b"@cbor /service/GraniteServiceVersion20100801/operation/GetMetricData\n" +
        cbor2.dumps({"StartTime": cbor2.CBORTag(1, 1704067200), "EndTime": 1893456000,
                     "MetricDataQueries": [{"Id": "q1", "MetricStat": {
                         "Metric": {"Namespace": "/aws/sagemaker/TrainingJobs",
                                    "MetricName": "train:loss",
                                    "Dimensions": [{"Name": "Host",
                                                    "Value": "fuzz-job/algo-1"}]},
                         "Period": 60, "Stat": "Average"}}]}),
        b"GraniteServiceVersion20100801.ListMetrics\n{}",
        b"GET /_sagemock/requests?limit=5&status=4",
        b"GET /_sagemock/clock\t\tevil.example:9080",
        b"POST /_sagemock/clock\t\t127.0.0.1:9080\thttp://evil.example\n{\"advance\":1}",
        b"POST /_sagemock/clock\n{\"advance\":60,\"rate\":2}",
        b"POST /_sagemock/clock\n{\"set\":253402300799}",
        b"POST /_sagemock/faults\n{\"faults\":[{\"operation\":\"*\",\"jobName\":\"fuzz-*\","
        b"\"error\":\"ThrottlingException\",\"count\":2,\"latencyMs\":5}]}",
        b"DELETE /_sagemock/faults",
        b"GET /_sagemock/jobs?limit=10",
        b"GET /_sagemock/jobs/describe?name=fuzz-warm",
        b"GET /_sagemock/jobs/logs?name=fuzz-spot&region=us-east-1",
        b"GET /_sagemock/scenarios",
        b"POST /_sagemock/fixtures\n" + json.dumps({
            "scenarios": [{"name": "fz", "extends": "algorithm-error",
                           "failure": {"reason": "AlgorithmError: fuzz"}}],
            "rules": [{"match": {"name": "fz-*"}, "scenario": "fz"}],
            "jobs": [{"request": {"TrainingJobName": "fz-1", "AlgorithmSpecification": {
                "TrainingImage": IMAGE, "TrainingInputMode": "File"}, "RoleArn": ROLE_ARN,
                "OutputDataConfig": {"S3OutputPath": "s3://b/o/"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                   "VolumeSizeInGB": 30, "KeepAlivePeriodInSeconds": 60}},
                "createdSecondsAgo": 30}],
            "faults": [{"service": "logs", "operation": "GetLogEvents", "latencyMs": 1}],
            "iam": {"missingRoles": ["gone-*"]}}).encode(),
        b"POST /_sagemock/reset",
    ]
    def kind(seed):
        head = seed.split(b"\n", 1)[0]
        if b" /_sagemock" in head:
            return "admin"
        if head.startswith(b"@"):
            return head[1:].split(b" ")[0].split(b"\t")[0].decode()
        return head.split(b".")[-1].decode()

    return [(f"{kind(seed)}-{hashlib.sha1(seed).hexdigest()[:12]}", seed) for seed in seeds]


def dictionary():
    model = json.loads(MODEL.read_text())
    words = {f"SageMaker.{op}" for op in model["operations"]}
    for shape in model["shapes"].values():
        words.update(shape.get("members", {}))
        words.update(shape.get("enum", []))
    lines = [f'"{w}"' for w in sorted(words) if w.isprintable() and '"' not in w and "\\" not in w]
    lines += ['"{"', '"}"', '"[]"', '"{}"', '":"', '","', '"true"', '"false"', '"null"',
              '"1e308"', '"-0"', '"\\\\u0000"', '"\\\\ud800"', '"arn:aws:sagemaker:us-east-1:'
              '123456789012:training-job/fuzz-job"', '"fuzz-job"', '"fuzz-warm"', '"fuzz-spot"',
              '"sagemock:scenario"', '"s3://"',
              '"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-west-2/sagemaker/aws4_request"',
              '"@query"', '"@cbor /service/GraniteServiceVersion20100801/operation/"',
              '"Action="', '"&Version="', '".member.1"', '"%FF"', '"%00"',
              '"GET /_sagemock/"', '"POST /_sagemock/"', '"DELETE /_sagemock/"',
              '"fixtures"', '"faults"', '"clock"', '"requests"', '"jobs/describe?name="',
              '"\\"advance\\""', '"\\"set\\""', '"\\"rate\\""', '"\\"latencyMs\\""',
              '"http://evil.example"', '"localhost"']
    return "# libFuzzer dictionary for fuzz_request (made by make_corpus.py)\n" + "\n".join(lines) + "\n"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(tmp, db=":memory:", args=["--log-level", "error"])
        server.start()
        try:
            out = []
            record(server, out)
            out += extra()
        finally:
            server.stop()
    corpus = HERE / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir()
    for name, data in out:
        (corpus / name).write_bytes(data)
    (HERE / "sagemock.dict").write_text(dictionary())
    print(f"make_corpus: {len(out)} requests in {corpus}, dictionary in {HERE / 'sagemock.dict'}")


if __name__ == "__main__":
    main()
