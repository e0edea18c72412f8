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


def test_reset_empties_every_job_table_and_leaves_no_dangling_row(make_server):
    """POST /_sagemock/reset empties the jobs' tables whole (store/clear.c): afterwards no job,
    tag or request of a job is left, the names can be created again, and the database passes
    PRAGMA foreign_key_check and integrity_check."""
    import sqlite3

    srv = make_server()
    seeds = [job_request(f"reset-{i}", Tags=[{"Key": "k", "Value": str(i)}]) for i in range(300)]
    status, body, raw = load(srv, seeds)
    assert status == 200 and body["jobs"] == 300, raw
    assert srv.raw("CreateTrainingJob", job_request("reset-api")).status == 200
    status, _, raw = srv.admin("POST", "/_sagemock/reset")
    assert status == 200, raw
    listed = srv.raw("ListTrainingJobs", {"MaxResults": 100})
    assert listed.status == 200 and listed.json["TrainingJobSummaries"] == []
    for name in ("reset-0", "reset-299", "reset-api"):
        assert srv.raw("DescribeTrainingJob", {"TrainingJobName": name}).status == 400
        assert srv.raw("CreateTrainingJob", job_request(name)).status == 200
    srv.stop()
    db = sqlite3.connect(srv.db)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3
        assert db.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 0
        for (table,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"):
            refs = db.execute(f'SELECT "table" FROM pragma_foreign_key_list(\'{table}\')')
            if any(r[0] == "jobs" for r in refs):  # every table of a job's rows: 3 jobs' worth
                n = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                assert n <= 3, f"{table} keeps {n} rows of jobs that were reset"
    finally:
        db.close()
