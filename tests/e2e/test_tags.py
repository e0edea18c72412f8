"""AddTags / ListTags / DeleteTags on training jobs, and tags given at creation."""

import pytest
from botocore.exceptions import ClientError

from helpers import arn_for, describe_raw, error_of, job_request, unique_name


def tags_of(sm, arn):
    return sm.list_tags(ResourceArn=arn, MaxResults=50)["Tags"]


@pytest.fixture
def job(sm):
    name = unique_name("tags")
    arn = sm.create_training_job(**job_request(
        name, Tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}]))["TrainingJobArn"]
    return name, arn


def test_tags_given_at_creation_are_listed_in_order(sm, job):
    _, arn = job
    assert tags_of(sm, arn) == [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}]


def test_a_job_created_without_tags_lists_none(sm):
    arn = sm.create_training_job(**job_request(unique_name("notags")))["TrainingJobArn"]
    out = sm.list_tags(ResourceArn=arn)
    assert out["Tags"] == []
    assert "NextToken" not in out


def test_add_tags_returns_the_tags_passed_and_appends_them(sm, job):
    _, arn = job
    new = [{"Key": "owner", "Value": "alice"}, {"Key": "cost-center", "Value": "42"}]
    out = sm.add_tags(ResourceArn=arn, Tags=new)
    assert out["Tags"] == new
    assert tags_of(sm, arn) == [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}] + new


def test_add_tags_overwrites_by_key(sm, job):
    _, arn = job
    out = sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "data"}])
    assert out["Tags"] == [{"Key": "team", "Value": "data"}]
    got = tags_of(sm, arn)
    assert {t["Key"]: t["Value"] for t in got} == {"team": "data", "env": "test"}
    assert len(got) == 2, "a key appears once"


def test_delete_tags_removes_only_the_given_keys(sm, job):
    _, arn = job
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}])
    out = sm.delete_tags(ResourceArn=arn, TagKeys=["env", "owner"])
    assert set(out) == {"ResponseMetadata"}
    assert tags_of(sm, arn) == [{"Key": "team", "Value": "ml"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert tags_of(sm, arn) == []


def test_tag_values_may_be_empty_and_use_the_allowed_punctuation(sm, job):
    _, arn = job
    tags = [{"Key": "empty", "Value": ""}, {"Key": "a.b:c/d=e+f-g@h_i", "Value": "x y.z:/=+-@_"}]
    sm.add_tags(ResourceArn=arn, Tags=tags)
    got = {t["Key"]: t["Value"] for t in tags_of(sm, arn)}
    assert got["empty"] == ""
    assert got["a.b:c/d=e+f-g@h_i"] == "x y.z:/=+-@_"


def test_describe_has_no_tags(sm, job):
    name, _ = job
    assert "Tags" not in describe_raw(sm, name)


def test_list_tags_paginator(sm, job):
    _, arn = job
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(20)])
    result = sm.get_paginator("list_tags").paginate(ResourceArn=arn).build_full_result()
    assert [t["Key"] for t in result["Tags"]] == ["team", "env"] + [f"k{i:02d}" for i in range(20)]


def test_tags_are_found_by_the_lower_cased_arn_of_a_mixed_case_name(sm):
    name = "Tagged-" + unique_name("Mixed")
    arn = sm.create_training_job(**job_request(name, Tags=[{"Key": "k", "Value": "v"}]))["TrainingJobArn"]
    assert arn == arn_for(name)
    assert tags_of(sm, arn) == [{"Key": "k", "Value": "v"}]


def test_tags_are_per_job(sm, job):
    _, arn = job
    other = sm.create_training_job(**job_request(unique_name("other"),
                                                 Tags=[{"Key": "x", "Value": "1"}]))["TrainingJobArn"]
    sm.add_tags(ResourceArn=other, Tags=[{"Key": "team", "Value": "other"}])
    assert tags_of(sm, arn) == [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}]


def test_tag_calls_on_an_unknown_job_arn_fail(sm):
    arn = arn_for(unique_name("ghost"))
    with pytest.raises(ClientError) as e:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert error_of(e) == ("ValidationException", "Resource does not exist", 400)
    with pytest.raises(ClientError) as e:
        sm.list_tags(ResourceArn=arn)
    assert error_of(e) == ("ValidationException", "Resource does not exist", 400)
    with pytest.raises(ClientError) as e:
        sm.delete_tags(ResourceArn=arn, TagKeys=["k"])
    assert error_of(e) == ("ValidationException", "Resource does not exist", 400)


def test_tags_of_a_job_in_another_region_are_not_visible(server, sm):
    west = server.client(region="us-west-2")
    name = unique_name("tagwest")
    arn = west.create_training_job(**job_request(name, Tags=[{"Key": "k", "Value": "v"}]))["TrainingJobArn"]
    assert ":us-west-2:" in arn
    assert tags_of(west, arn) == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as e:
        sm.list_tags(ResourceArn=arn)
    assert error_of(e)[0] == "ValidationException"
