"""Seed jobs of one fixture document are validated once per distinct request (issue 14): a seed
equal to an earlier valid one but for its TrainingJobName is checked on its name alone. The
answers must be those of a full validation: a copy with an invalid name, or differing from a
valid seed anywhere else, is refused with the message CreateTrainingJob gives for the same
request, at the seed's own path, and the document loads nothing.
"""

import copy
import json

import pytest

from helpers import job_request


def message_of_create(server, req):
    r = server.raw("CreateTrainingJob", req)
    assert r.status == 400 and r.error_code == "ValidationException", r
    return r.message


def load(server, seeds):
    text = json.dumps({"jobs": [{"request": s} for s in seeds]}, indent=1)
    return server.admin("POST", "/_sagemock/fixtures", text)


@pytest.mark.parametrize("case", ["bad-name", "long-name", "other-member", "type-of-other"])
def test_a_copy_of_a_valid_seed_is_refused_as_a_full_validation_refuses_it(server, case):
    base = job_request(f"seedcopy-{case}-0", Tags=[{"Key": "team", "Value": "a"}])
    seeds = [copy.deepcopy(base) for _ in range(4)]
    for i, s in enumerate(seeds):
        s["TrainingJobName"] = f"seedcopy-{case}-{i}"
    bad = seeds[3]
    if case == "bad-name":
        bad["TrainingJobName"] = "bad_name!"
    elif case == "long-name":
        bad["TrainingJobName"] = "n" * 64
    elif case == "other-member":
        bad["ResourceConfig"]["VolumeSizeInGB"] = -1
    else:
        bad["ResourceConfig"]["InstanceCount"] = "one"
    status, body, raw = load(server, seeds)
    assert status == 400, raw
    err = body["error"] if isinstance(body, dict) and "error" in body else raw.decode()
    assert "jobs[3].request: " in err, err
    if case == "type-of-other":
        assert "SerializationException" in err, err
    else:
        assert f"jobs[3].request: ValidationException: {message_of_create(server, bad)}" in err
    # Nothing of the document was loaded.
    for s in seeds[:3]:
        assert server.raw("DescribeTrainingJob",
                          {"TrainingJobName": s["TrainingJobName"]}).status == 400


def test_copies_of_valid_seeds_load_every_one(server):
    seeds = []
    for i in range(50):
        s = job_request(f"seedcopy-ok-{i}")
        if i % 7 == 3:
            s["ResourceConfig"]["VolumeSizeInGB"] = 50 + i  # a few distinct requests between
        seeds.append(s)
    status, body, raw = load(server, seeds)
    assert status == 200 and body["jobs"] == 50, raw
    for s in seeds:
        d = server.raw("DescribeTrainingJob", {"TrainingJobName": s["TrainingJobName"]})
        assert d.status == 200
        assert d.json["ResourceConfig"]["VolumeSizeInGB"] == s["ResourceConfig"]["VolumeSizeInGB"]
