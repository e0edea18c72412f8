"""Every error of the contract, with its exact code, HTTP status and text, through boto3
(ClientError.response["Error"]) and, where boto3 would refuse the request client-side, raw HTTP."""

import pytest
from botocore.exceptions import ClientError

from conformance import CHECKER
from helpers import arn_for, error_of, job_request, unique_name

NOT_FOUND = ("ValidationException", "Requested resource not found.", 400)
# As the service prints it: the 2022 model's string, anchors included (real messages of 2018 and
# 2023); the newest model writes it without the "^".
NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"



def raw_error(resp):
    assert resp.status == 400, resp
    return resp.error_code, resp.message, resp.status


# ------------------------------------------------------------------------ not found
def test_describe_of_an_unknown_job_is_a_validation_exception(sm):
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=unique_name("nope"))
    assert error_of(e) == NOT_FOUND
    assert not isinstance(e.value, sm.exceptions.ResourceNotFound)


def test_describe_of_an_unknown_job_raw_body(server):
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": unique_name("nope")})
    assert raw_error(r) == NOT_FOUND
    assert r.json["__type"].split("#")[-1] == "ValidationException"


def test_stop_of_an_unknown_job_is_a_validation_exception(sm):
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName=unique_name("nope"))
    assert error_of(e) == NOT_FOUND


def test_update_of_an_unknown_job_is_a_validation_exception(sm):
    with pytest.raises(ClientError) as e:
        sm.update_training_job(TrainingJobName=unique_name("nope"),
                               ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    assert error_of(e) == NOT_FOUND


# ------------------------------------------------------------------------ state errors
def test_create_with_a_taken_name_is_resource_in_use_naming_the_existing_arn(sm):
    name = unique_name("dup")
    arn = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    with pytest.raises(sm.exceptions.ResourceInUse) as e:
        sm.create_training_job(**job_request(name))
    assert error_of(e) == (
        "ResourceInUse",
        "Training job names must be unique within an AWS account and region, and a training job "
        f"with this name already exists ({arn})",
        400)
    assert arn == arn_for(name)


def test_create_with_a_taken_name_after_the_job_ended_is_still_refused(server, sm, paused):
    name = unique_name("dup-done")
    sm.create_training_job(**job_request(name))
    server.advance(30)
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_training_job(**job_request(name))


def test_empty_update_is_refused(sm):
    name = unique_name("upd")
    sm.create_training_job(**job_request(name))
    with pytest.raises(ClientError) as e:
        sm.update_training_job(TrainingJobName=name)
    assert error_of(e) == ("ValidationException",
                           "Invalid UpdateTrainingJobRequest, the request cannot be empty", 400)


@pytest.mark.parametrize("op", ["add_tags", "list_tags", "delete_tags"])
def test_tag_operations_on_an_unknown_arn_say_resource_does_not_exist(sm, op):
    arn = arn_for(unique_name("notags"))
    kwargs = {"ResourceArn": arn}
    if op == "add_tags":
        kwargs["Tags"] = [{"Key": "k", "Value": "v"}]
    elif op == "delete_tags":
        kwargs["TagKeys"] = ["k"]
    with pytest.raises(ClientError) as e:
        getattr(sm, op)(**kwargs)
    assert error_of(e) == ("ValidationException", "Resource does not exist", 400)


def test_invalid_list_next_token_is_refused(sm):
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs(NextToken="this-is-not-a-token")
    assert error_of(e) == ("ValidationException", "Invalid NextToken.", 400)


# ------------------------------------------------------------------------ constraint failures
def test_name_failing_the_pattern(sm):
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**job_request("bad_name"))
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}",
        400)


def test_name_failing_the_pattern_on_describe(sm):
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName="bad_name")
    assert error_of(e)[0] == "ValidationException"
    assert error_of(e)[1] == (
        "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}")


def test_a_64_character_name_gives_two_errors(sm):
    name = "a" * 64
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**job_request(name))
    assert error_of(e) == (
        "ValidationException",
        "2 validation errors detected: "
        f"Value '{name}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: {NAME_PATTERN}; "
        f"Value '{name}' at 'trainingJobName' failed to satisfy constraint: Member must have "
        "length less than or equal to 63",
        400)


def test_a_63_character_name_is_fine(sm):
    name = ("x" + unique_name("max").replace("-", "0") + "z" * 63)[:63]
    assert len(name) == 63
    sm.create_training_job(**job_request(name))


def test_missing_required_member_raw(server):
    req = job_request(unique_name("norole"))
    del req["RoleArn"]
    r = server.raw("CreateTrainingJob", req)
    assert raw_error(r) == (
        "ValidationException",
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
        "Member must not be null",
        400)


def test_describe_without_a_name_raw(server):
    r = server.raw("DescribeTrainingJob", {})
    assert raw_error(r) == (
        "ValidationException",
        "1 validation error detected: Value null at 'trainingJobName' failed to satisfy "
        "constraint: Member must not be null",
        400)


def test_empty_name_breaks_pattern_and_min_length_raw(server):
    r = server.raw("DescribeTrainingJob", {"TrainingJobName": ""})
    code, message, status = raw_error(r)
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    items = set(message[len("2 validation errors detected: "):].split("; "))
    assert items == {
        "Value '' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
        f"expression pattern: {NAME_PATTERN}",
        "Value '' at 'trainingJobName' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1",
    }


def test_unknown_instance_type_lists_the_enum(sm):
    req = job_request(unique_name("enum"))
    req["ResourceConfig"]["InstanceType"] = "ml.t9.medium"
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    code, message, status = error_of(e)
    assert (code, status) == ("ValidationException", 400)
    prefix = ("1 validation error detected: Value 'ml.t9.medium' at 'resourceConfig.instanceType' "
              "failed to satisfy constraint: Member must satisfy enum value set: [")
    assert message.startswith(prefix), message
    assert message.endswith("]"), message
    listed = set(message[len(prefix):-1].split(", "))
    assert listed == set(CHECKER.shapes["TrainingInstanceType"]["enum"])


def test_list_element_paths_use_coral_member_syntax(sm):
    req = job_request(unique_name("tagpath"),
                      Tags=[{"Key": "ok", "Value": "v"}, {"Key": "k" * 129, "Value": "v"}])
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert error_of(e) == (
        "ValidationException",
        f"1 validation error detected: Value '{'k' * 129}' at 'tags.2.member.key' failed to "
        "satisfy constraint: Member must have length less than or equal to 128",
        400)


def test_patterns_are_printed_with_their_anchors_as_the_service_prints_them(server):
    """Role ARN, S3 URI and tag patterns as in the 2022 model and the service's messages; a
    pattern the model never anchored (ChannelName) prints as written."""
    req = job_request(unique_name("anchors"), RoleArn="arn:aws:iam::12:role/x" + "y" * 20,
                      Tags=[{"Key": "k!", "Value": "v"}])
    req["OutputDataConfig"]["S3OutputPath"] = "ftp://bucket/out"
    r = server.raw("CreateTrainingJob", req)
    assert r.error_code == "ValidationException", r
    items = r.message.split(": ", 1)[1].split("; ")
    assert sorted(items) == sorted([
        f"Value '{req['RoleArn']}' at 'roleArn' failed to satisfy constraint: Member must satisfy "
        r"regular expression pattern: ^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$",
        "Value 'ftp://bucket/out' at 'outputDataConfig.s3OutputPath' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$",
        "Value 'k!' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy "
        r"regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
    ]), r.message


def test_tuning_job_names_print_their_anchored_pattern_too(server):
    r = server.raw("DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "bad_name"})
    assert (r.status, r.error_code) == (400, "ValidationException"), r
    assert r.message == (
        "1 validation error detected: Value 'bad_name' at 'hyperParameterTuningJobName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")


def test_nested_list_paths_reach_the_channel_fields(sm):
    req = job_request(unique_name("chan"))
    req["InputDataConfig"][0]["ChannelName"] = "bad channel!"
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value 'bad channel!' at 'inputDataConfig.1.member.channelName' "
        "failed to satisfy constraint: Member must satisfy regular expression pattern: "
        r"[A-Za-z0-9\.\-_]+",
        400)


def test_max_results_above_100_is_refused(sm):
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs(MaxResults=101)
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
        400)


def test_max_results_zero_is_refused_raw(server):
    r = server.raw("ListTrainingJobs", {"MaxResults": 0})
    assert raw_error(r) == (
        "ValidationException",
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
        400)


def test_list_tags_max_results_below_50_is_refused_raw(server, sm):
    name = unique_name("tagmax")
    arn = sm.create_training_job(**job_request(name))["TrainingJobArn"]
    r = server.raw("ListTags", {"ResourceArn": arn, "MaxResults": 10})
    assert raw_error(r) == (
        "ValidationException",
        "1 validation error detected: Value '10' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 50",
        400)


def test_name_contains_with_a_bad_character_is_refused(sm):
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs(NameContains="bad_x")
    code, message, status = error_of(e)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value 'bad_x' at 'nameContains' failed "
                              "to satisfy constraint: Member must satisfy regular expression pattern: ")


def test_unknown_status_filter_is_refused(sm):
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs(StatusEquals="Running")
    code, message, _ = error_of(e)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'Running' at 'statusEquals' "
                              "failed to satisfy constraint: Member must satisfy enum value set: [")


# ------------------------------------------------------------------------ cross-field rules
def test_spot_without_max_wait_is_refused(sm):
    req = job_request(unique_name("spot-nowait"), EnableManagedSpotTraining=True,
                      StoppingCondition={"MaxRuntimeInSeconds": 3600})
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert error_of(e)[0] == "ValidationException"
    assert error_of(e)[2] == 400


def test_spot_with_max_wait_below_max_runtime_is_refused(sm):
    req = job_request(unique_name("spot-short"), EnableManagedSpotTraining=True,
                      StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 100})
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert error_of(e)[0] == "ValidationException"


def test_max_wait_without_spot_is_refused_with_the_real_text(sm):
    req = job_request(unique_name("nospot-wait"),
                      StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200})
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert error_of(e) == ("ValidationException",
                           "Invalid MaxWaitTimeInSeconds. It is only supported when "
                           "EnableManagedSpotTraining is set to true", 400)


def test_a_refused_create_leaves_no_job_behind(sm):
    name = unique_name("refused")
    req = job_request(name, EnableManagedSpotTraining=True,
                      StoppingCondition={"MaxRuntimeInSeconds": 3600})
    with pytest.raises(ClientError):
        sm.create_training_job(**req)
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=name)
    assert error_of(e) == NOT_FOUND
    sm.create_training_job(**job_request(name))  # the name is free
