"""Fixture documents: seed jobs, user-defined scenarios, rules and the choice of a job's
scenario, loading (--fixtures, SAGEMOCK_FIXTURES, POST /_sagemock/fixtures), reset and restart.

The seed folder tests/e2e/data/seed50 (written by data/make_seed50.py) holds 50 jobs whose
whole history is over at load time, in every end state, and 3 still running. The server loads
it at start with its clock paused, so every seed reads exactly `createdSecondsAgo` old.
"""

import json
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import scenario_plans as P
from helpers import Server, describe_raw, error_of, job_request, ms, unique_name

DATA = Path(__file__).resolve().parent / "data"
SEED_DIR = DATA / "seed50"


def tagged(name, scenario, **kw):
    return job_request(name, Tags=[{"Key": P.SCENARIO_TAG, "Value": scenario}], **kw)


def admin_ok(srv, method, path, body=None):
    status, out, raw = srv.admin(method, path, body)
    assert status == 200, raw
    return out


def load(srv, document):
    return admin_ok(srv, "POST", "/_sagemock/fixtures", document)


def scenario_of(srv, name):
    return next(j["scenario"] for j in admin_ok(srv, "GET", "/_sagemock/jobs")["jobs"]
                if j["name"] == name)


# ------------------------------------------------------------------------------ the 50 seeds
def seeds():
    """Every seed job of the folder with its expected timeline: (seed, plan key, changes)."""
    out = []
    for f in sorted(SEED_DIR.glob("*.json")):
        for job in json.loads(f.read_text()).get("jobs", []):
            m = re.match(r"expect: (\S+)(?: stop@([0-9.]+))?", job["description"])
            key, stop = m.group(1), m.group(2)
            changes = P.PLANS[key]["changes"]
            if stop:
                changes = P.with_stop(changes, float(stop))
            out.append((job, key, changes))
    return out


SEEDS = seeds()
ENDED = [s for s in SEEDS if s[0]["request"]["TrainingJobName"].startswith("seed-")
         and not s[0]["request"]["TrainingJobName"].startswith("seed-running-")]


def seed_name(s):
    return s[0]["request"]["TrainingJobName"]


def region_of(s):
    return s[0].get("region", "us-east-1")


def expected_status(s):
    job, _, changes = s
    return P.status_at(changes, job["createdSecondsAgo"])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("seeded"), db=None,
                 args=["--fixtures", str(SEED_DIR), "--clock-rate", "0"], name="seeded")
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.stderr_text()


def test_the_seed_folder_holds_fifty_ended_jobs_in_every_end_state():
    assert len(ENDED) == 50
    states = {expected_status(s) for s in ENDED}
    assert states >= {("Completed", "Completed"), ("Failed", "Failed"), ("Stopped", "Stopped"),
                      ("Stopped", "MaxRuntimeExceeded"), ("Stopped", "MaxWaitTimeExceeded")}
    assert all(p in P.TERMINAL for p, _ in states)
    running = {expected_status(s) for s in SEEDS if s not in ENDED}
    assert running == {("InProgress", "Training"), ("InProgress", "Pending"),
                       ("Stopping", "Stopping")}


def test_the_seed_folder_is_loaded_in_name_order_and_logged(seeded):
    log = seeded.stderr_text(tail=200000)
    loaded = re.findall(r"fixtures (\S+) loaded: (\{.*\})", log)
    assert [Path(p).name for p, _ in loaded] == ["00-rules.json", "10-ended.json",
                                                 "20-in-flight.json"]
    assert json.loads(loaded[1][1]) == {"scenarios": 0, "rules": 0, "jobs": 50,
                                        "jobsAlreadyPresent": 0, "faults": 0}


@pytest.mark.parametrize("s", SEEDS, ids=seed_name)
def test_each_seed_shows_its_whole_consistent_history(seeded, s):
    job, key, changes = s
    name, ago = seed_name(s), job["createdSecondsAgo"]
    sm = seeded.client(region=region_of(s))
    d = describe_raw(sm, name)
    assert ms(d["CreationTime"]) == ms(seeded.now()) - ago * 1000
    assert P.offsets_of(d) == P.in_ms(P.entries(changes, ago))
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == expected_status(s)
    assert P.check_fields(d) == []
    if d["TrainingJobStatus"] in P.TERMINAL:
        spot = 70 if d["EnableManagedSpotTraining"] else None
        assert P.check_history(d, changes, spot) == []
        assert d.get("FailureReason") == (P.PLANS[key]["reason"]
                                          if d["TrainingJobStatus"] == "Failed" else None)
    keep = job["request"]["ResourceConfig"].get("KeepAlivePeriodInSeconds")
    if keep and d["TrainingJobStatus"] == "Completed":
        end = ago - changes[-1][0]  # seconds since the job ended
        want = {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": int(end)} \
            if end < keep else {"Status": "Terminated",
                                "ResourceRetainedBillableTimeInSeconds": keep}
        assert d["WarmPoolStatus"] == want
    else:
        assert "WarmPoolStatus" not in d
    assert d.get("HyperParameters") == job["request"].get("HyperParameters")
    if "Tags" in job["request"]:
        tags = sm.list_tags(ResourceArn=d["TrainingJobArn"])["Tags"]
        assert tags == job["request"]["Tags"]


def test_seeds_get_their_scenario_from_the_field_the_tag_a_rule_or_the_default(seeded):
    rows = {j["name"]: j for j in admin_ok(seeded, "GET", "/_sagemock/jobs")["jobs"]}
    for s in SEEDS:
        assert rows[seed_name(s)]["scenario"] == P.PLANS[s[1]]["scenario"], seed_name(s)
        assert rows[seed_name(s)]["region"] == region_of(s)
    assert {n for n, j in rows.items() if j["scenario"] == "client-error"} == \
        {f"seed-byrule-client-0{i}" for i in (1, 2, 3)}


def names(pages):
    return [s["TrainingJobName"] for p in pages for s in p["TrainingJobSummaries"]]


def listed(sm, page_size=100, **filters):
    pages = sm.get_paginator("list_training_jobs").paginate(
        **filters, PaginationConfig={"PageSize": page_size})
    return names(pages)


def east():
    return [s for s in SEEDS if region_of(s) == "us-east-1"]


@pytest.mark.parametrize("status", ["InProgress", "Completed", "Failed", "Stopping", "Stopped"])
def test_list_status_equals(seeded, status):
    sm = seeded.client()
    want = {seed_name(s) for s in east() if expected_status(s)[0] == status}
    assert want
    got = listed(sm, StatusEquals=status)
    assert sorted(got) == sorted(want)
    got7 = listed(sm, page_size=7, StatusEquals=status)
    assert sorted(got7) == sorted(want)


def test_list_every_seed_newest_first_in_pages(seeded):
    sm = seeded.client()
    by_age = [seed_name(s) for s in sorted(east(), key=lambda s: s[0]["createdSecondsAgo"])]
    assert listed(sm) == by_age
    assert listed(sm, page_size=7) == by_age
    assert listed(sm, SortBy="Name", SortOrder="Ascending") == sorted(by_age)
    assert listed(sm, SortBy="CreationTime", SortOrder="Ascending") == by_age[::-1]


def test_list_summaries_agree_with_describe(seeded):
    sm = seeded.client()
    for page in sm.get_paginator("list_training_jobs").paginate():
        for summary in page["TrainingJobSummaries"]:
            d = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            for k in ("TrainingJobArn", "CreationTime", "LastModifiedTime", "TrainingJobStatus"):
                assert summary[k] == d[k], (summary["TrainingJobName"], k)
            assert summary.get("TrainingEndTime") == d.get("TrainingEndTime")
            assert summary.get("WarmPoolStatus", {}).get("Status") == \
                d.get("WarmPoolStatus", {}).get("Status")


def test_list_name_time_and_warm_pool_filters(seeded):
    sm = seeded.client()
    now = seeded.now()
    assert sorted(listed(sm, NameContains="byrule")) == [f"seed-byrule-client-0{i}"
                                                         for i in (1, 2, 3)]
    assert sorted(listed(sm, NameContains="BYRULE")) == sorted(listed(sm, NameContains="byrule"))
    cut = int(now) - 100000
    older = {seed_name(s) for s in east() if now - s[0]["createdSecondsAgo"] < cut}
    newer = {seed_name(s) for s in east() if now - s[0]["createdSecondsAgo"] > cut}
    assert older and newer and len(older) + len(newer) == len(east())
    assert set(listed(sm, CreationTimeBefore=cut)) == older
    assert set(listed(sm, CreationTimeAfter=cut)) == newer
    assert set(listed(sm, CreationTimeAfter=cut, StatusEquals="Failed")) == \
        {n for n in newer if expected_status(next(s for s in SEEDS if seed_name(s) == n))[0]
         == "Failed"}
    assert sorted(listed(sm, WarmPoolStatusEquals="Available")) == ["seed-ok-warm-01",
                                                                    "seed-ok-warm-02"]
    assert sorted(listed(sm, WarmPoolStatusEquals="Terminated")) == ["seed-ok-cold-01",
                                                                     "seed-ok-cold-02"]
    assert listed(sm, WarmPoolStatusEquals="InUse") == []


def test_seeds_of_another_region_are_listed_there_only(seeded):
    west = seeded.client(region="us-west-2")
    assert sorted(listed(west)) == ["seed-ok-west-01", "seed-ok-west-02"]
    assert "seed-ok-west-01" not in listed(seeded.client())
    with pytest.raises(ClientError):
        seeded.client().describe_training_job(TrainingJobName="seed-ok-west-01")


def test_seeds_still_running_move_on_with_the_clock(seeded):
    """Last test on the seeded server: it moves the clock."""
    sm = seeded.client()
    before = {seed_name(s): describe_raw(sm, seed_name(s)) for s in ENDED[:10]
              if region_of(s) == "us-east-1"}
    seeded.advance(20)
    assert describe_raw(sm, "seed-running-stopping")["SecondaryStatus"] == "Stopped"
    assert describe_raw(sm, "seed-running-pending")["TrainingJobStatus"] == "Completed"
    assert describe_raw(sm, "seed-running-training")["SecondaryStatus"] == "Training"
    for name, d in before.items():
        after = describe_raw(sm, name)
        if "WarmPoolStatus" in d:  # an Available pool keeps counting
            d.pop("WarmPoolStatus")
            after.pop("WarmPoolStatus")
        assert after == d


# ------------------------------------------------------------------------------ restart, reset
def test_seeds_are_not_duplicated_on_restart_with_a_file_database(make_server, tmp_path):
    db = str(tmp_path / "seeded.db")
    srv = make_server("--fixtures", str(SEED_DIR), db=db)
    sm = srv.client()
    first = describe_raw(sm, "seed-alg-01")
    count = len(admin_ok(srv, "GET", "/_sagemock/jobs")["jobs"])
    assert count == 53
    srv.advance(5000)
    srv.restart()
    assert len(admin_ok(srv, "GET", "/_sagemock/jobs")["jobs"]) == count
    assert describe_raw(srv.client(), "seed-alg-01") == first  # left as it was
    log = srv.stderr_text(tail=200000)
    assert re.search(r'10-ended\.json loaded: \{[^}]*"jobs":0,"jobsAlreadyPresent":50', log)


STARTUP = {
    "scenarios": [{"name": "startup-fail", "extends": "algorithm-error",
                   "failure": {"reason": "AlgorithmError: from the start-up fixture"}}],
    "rules": [{"match": {"name": "rule-*"}, "scenario": "startup-fail"}],
    "jobs": [{"request": job_request("startup-seed"), "scenario": "client-error",
              "createdSecondsAgo": 600},
             {"request": job_request("startup-seed-stopped"), "createdSecondsAgo": 300,
              "stoppedAfterSeconds": 6}],
    "faults": [{"operation": "DeleteTags", "error": "ThrottlingException", "count": 4}],
}


def test_reset_restores_the_seeded_state(make_server, tmp_path):
    f = tmp_path / "startup.json"
    f.write_text(json.dumps(STARTUP))
    srv = make_server("--fixtures", str(f), "--clock-rate", "0")
    sm = srv.client()
    initial = admin_ok(srv, "GET", "/_sagemock/scenarios")
    # run-time changes of every kind
    sm.create_training_job(**job_request("runtime-job"))
    load(srv, {"scenarios": [{"name": "runtime-scenario", "extends": "success"}],
               "rules": [{"match": {"name": "late-*"}, "scenario": "runtime-scenario"}],
               "jobs": [{"request": job_request("runtime-seed")}],
               "faults": [{"operation": "ListTags", "error": "InternalFailure"}]})
    admin_ok(srv, "POST", "/_sagemock/faults", {"operation": "StopTrainingJob", "latencyMs": 5})
    assert srv.raw("DeleteTrainingJob", {"TrainingJobName": "startup-seed"}).status == 200
    srv.raw("DeleteTags", {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:"
                           "training-job/startup-seed-stopped", "TagKeys": ["x"]}, check=False)
    srv.advance(1000)
    srv.set_rate(1)

    assert srv.reset() == {"status": "ok"}
    now = srv.now()
    jobs = {j["name"]: j for j in admin_ok(srv, "GET", "/_sagemock/jobs")["jobs"]}
    assert set(jobs) == {"startup-seed", "startup-seed-stopped"}
    d = describe_raw(sm, "startup-seed")
    assert ms(d["CreationTime"]) == ms(now) - 600 * 1000  # seeded again, relative to now
    assert P.check_history(d, P.PLANS["client-error"]["changes"]) == []
    d = describe_raw(sm, "startup-seed-stopped")
    assert P.check_history(d, P.with_stop(P.PLANS["success"]["changes"], 6)) == []
    assert admin_ok(srv, "GET", "/_sagemock/scenarios") == initial
    (fault,) = admin_ok(srv, "GET", "/_sagemock/faults")["faults"]
    assert (fault["operation"], fault["count"], fault["hits"]) == ("DeleteTags", 4, 0)
    assert srv.clock()["paused"] is True  # the start-up rate is back
    # the start-up rule still applies, the run-time one does not
    sm.create_training_job(**job_request("rule-after-reset"))
    sm.create_training_job(**job_request("late-after-reset"))
    assert scenario_of(srv, "rule-after-reset") == "startup-fail"
    assert scenario_of(srv, "late-after-reset") == "success"
    # the names of the run-time jobs are free again
    sm.create_training_job(**job_request("runtime-job"))


# ------------------------------------------------------------------------------ choice
def test_rules_match_on_name_instance_type_hyperparameters_and_tags(server, sm, paused):
    load(server, {"rules": [
        {"match": {"name": "nm-*-flaky"}, "scenario": "internal-error"},
        {"match": {"instanceType": "ml.p4d.*"}, "scenario": "capacity-error"},
        {"match": {"hyperParameters": {"fx-mode": "diverge*"}}, "scenario": "algorithm-error"},
        {"match": {"tags": {"fx-data": "missing"}}, "scenario": "client-error"},
        {"match": {"name": "all-*", "instanceType": "ml.g5.*",
                   "hyperParameters": {"fx-epochs": "1?"}, "tags": {"fx-team": "*"}},
         "scenario": "pending-capacity"},
    ]})
    cases = [
        (job_request("nm-1-flaky"), "internal-error"),
        (job_request("nm-1-steady"), "success"),
        (job_request(unique_name("it"), ResourceConfig={
            "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}),
         "capacity-error"),
        (job_request(unique_name("hp"), HyperParameters={"fx-mode": "divergent", "x": "1"}),
         "algorithm-error"),
        (job_request(unique_name("hp"), HyperParameters={"fx-mode": "stable"}), "success"),
        (job_request(unique_name("tg"), Tags=[{"Key": "fx-data", "Value": "missing"}]),
         "client-error"),
        (job_request(unique_name("tg"), Tags=[{"Key": "fx-data", "Value": "present"}]),
         "success"),
        (job_request("all-1", ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 1,
                                              "VolumeSizeInGB": 30},
                     HyperParameters={"fx-epochs": "12"}, Tags=[{"Key": "fx-team", "Value": "a"}]),
         "pending-capacity"),
        (job_request("all-2", ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 1,
                                              "VolumeSizeInGB": 30},
                     HyperParameters={"fx-epochs": "120"}, Tags=[{"Key": "fx-team", "Value": "a"}]),
         "success"),  # one condition fails: no match
    ]
    for req, want in cases:
        sm.create_training_job(**req)
        assert scenario_of(server, req["TrainingJobName"]) == want, req["TrainingJobName"]
    server.advance(60)
    d = describe_raw(sm, "nm-1-flaky")
    assert d["FailureReason"] == P.REASON_INTERNAL


def test_first_matching_rule_wins_in_load_order_and_the_tag_beats_every_rule(server, sm, paused):
    load(server, {"rules": [{"match": {"name": "ord-*"}, "scenario": "client-error"}]})
    load(server, {"rules": [{"match": {"name": "ord-x*"}, "scenario": "algorithm-error"},
                            {"match": {"name": "ord-y*"}, "scenario": "algorithm-error"}]})
    sm.create_training_job(**job_request("ord-x1"))
    sm.create_training_job(**tagged("ord-x2", "capacity-error"))
    sm.create_training_job(**job_request("ordinary"))
    assert scenario_of(server, "ord-x1") == "client-error"
    assert scenario_of(server, "ord-x2") == "capacity-error"
    assert scenario_of(server, "ordinary") == "success"
    rules = admin_ok(server, "GET", "/_sagemock/scenarios")["rules"]
    names = [r["match"].get("name") for r in rules]
    assert names.index("ord-*") < names.index("ord-x*") < names.index("ord-y*")


def test_default_scenario_flag_is_the_last_choice(make_server, tmp_path):
    f = tmp_path / "rules.json"
    f.write_text(json.dumps({"rules": [{"match": {"name": "ruled-*"},
                                        "scenario": "client-error"}]}))
    srv = make_server("--fixtures", str(f), "--default-scenario", "algorithm-error")
    sm = srv.client()
    assert admin_ok(srv, "GET", "/_sagemock/scenarios")["defaultScenario"] == "algorithm-error"
    sm.create_training_job(**job_request("plain-1"))
    sm.create_training_job(**job_request("ruled-1"))
    sm.create_training_job(**tagged("tagged-1", "success"))
    assert [scenario_of(srv, n) for n in ("plain-1", "ruled-1", "tagged-1")] == \
        ["algorithm-error", "client-error", "success"]


def test_default_scenario_from_the_environment_may_be_a_user_scenario(make_server, tmp_path,
                                                                        monkeypatch):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"scenarios": [{"name": "team-default",
                                            "extends": "pending-capacity"}]}))
    monkeypatch.setenv("SAGEMOCK_DEFAULT_SCENARIO", "team-default")
    monkeypatch.setenv("SAGEMOCK_FIXTURES", str(f))
    srv = make_server("--clock-rate", "0")
    srv.client().create_training_job(**job_request("env-default"))
    assert scenario_of(srv, "env-default") == "team-default"
    d = describe_raw(srv.client(), "env-default")
    assert d["SecondaryStatus"] == "Pending"


# ------------------------------------------------------------------------------ user scenarios
CUSTOM = {
    "name": "custom-flow",
    "description": "A scenario written from scratch.",
    "steps": [
        {"status": "Pending", "durationSeconds": 1.5,
         "messages": [{"atSeconds": 0, "text": "Queued behind other jobs"}]},
        {"status": "Starting", "durationSeconds": 2,
         "messages": [{"atSeconds": 0, "text": "Starting the training job"},
                      {"atSeconds": 0.5, "text": "Launching requested ML instances"}]},
        {"status": "Training", "durationSeconds": 30,
         "messages": [{"atSeconds": 0, "text": "Epoch 1/3"}, {"atSeconds": 10, "text": "Epoch 2/3"},
                      {"atSeconds": 20, "text": "Epoch 3/3"}]},
        {"status": "Uploading", "durationSeconds": 4,
         "messages": [{"atSeconds": 0, "text": "Uploading generated training model"}]},
    ],
    "stopDelaySeconds": 7,
    "failure": {"stepIndex": 2, "afterSeconds": 25,
                "reason": "AlgorithmError: CUDA out of memory", "retryable": True,
                "failingAttempts": 1, "restartDelaySeconds": 3},
}
CUSTOM_FIRST = [(0, "Pending", "Queued behind other jobs"),
                (1.5, "Starting", "Starting the training job"),
                (2, "Starting", "Launching requested ML instances"),
                (3.5, "Training", "Epoch 1/3"), (13.5, "Training", "Epoch 2/3"),
                (23.5, "Training", "Epoch 3/3")]


def second_attempt(t0):
    return [(t0, "Starting", "Starting the training job"),
            (t0 + 0.5, "Starting", "Launching requested ML instances"),
            (t0 + 2, "Training", "Epoch 1/3"), (t0 + 12, "Training", "Epoch 2/3"),
            (t0 + 22, "Training", "Epoch 3/3"),
            (t0 + 32, "Uploading", "Uploading generated training model")]


def test_a_user_scenario_written_from_scratch(server, sm, paused):
    summary = load(server, {"scenarios": [CUSTOM]})
    assert summary == {"scenarios": 1, "rules": 0, "jobs": 0, "jobsAlreadyPresent": 0,
                       "faults": 0}
    listed_sc = next(s for s in admin_ok(server, "GET", "/_sagemock/scenarios")["scenarios"]
                     if s["name"] == "custom-flow")
    assert listed_sc["builtin"] is False
    assert listed_sc["steps"] == CUSTOM["steps"]
    # no RetryStrategy: the first attempt fails
    sm.create_training_job(**tagged("custom-noretry", "custom-flow"))
    # with one: it fails once (Restarting for 3 s), then completes (Pending is not repeated)
    sm.create_training_job(**tagged("custom-retry", "custom-flow",
                                    RetryStrategy={"MaximumRetryAttempts": 1}))
    server.advance(120)
    d = describe_raw(sm, "custom-noretry")
    assert P.check_history(d, CUSTOM_FIRST + [(28.5, "Failed", P.MSG_FAILED)]) == []
    assert d["FailureReason"] == "AlgorithmError: CUDA out of memory"
    d = describe_raw(sm, "custom-retry")
    want = CUSTOM_FIRST + [(28.5, "Restarting", P.MSG_RESTARTING)] + second_attempt(31.5) + \
        [(67.5, "Completed", P.MSG_COMPLETED)]
    assert P.check_history(d, want) == []
    # stopDelaySeconds: Stopping lasts 7 s
    sm.create_training_job(**tagged("custom-stop", "custom-flow"))
    server.advance(5)
    sm.stop_training_job(TrainingJobName="custom-stop")
    server.advance(6.999)
    assert describe_raw(sm, "custom-stop")["TrainingJobStatus"] == "Stopping"
    server.advance(0.001)
    d = describe_raw(sm, "custom-stop")
    assert P.check_history(d, P.with_stop(CUSTOM_FIRST + [(28.5, "Failed", P.MSG_FAILED)], 5,
                                          delay=7)) == []


def test_extends_merges_failure_member_by_member(server, sm, paused):
    load(server, {"scenarios": [{"name": "my-alg", "extends": "algorithm-error",
                                 "failure": {"reason": "AlgorithmError: Exit Code: 137"}}]})
    sm.create_training_job(**tagged("ext-alg", "my-alg"))
    server.advance(60)
    d = describe_raw(sm, "ext-alg")
    assert P.check_history(d, P.PLANS["algorithm-error"]["changes"]) == []
    assert d["FailureReason"] == "AlgorithmError: Exit Code: 137"
    sc = next(s for s in admin_ok(server, "GET", "/_sagemock/scenarios")["scenarios"]
              if s["name"] == "my-alg")
    assert sc["failure"] == {"stepIndex": 2, "afterSeconds": 2,
                             "reason": "AlgorithmError: Exit Code: 137"}
    assert "description" not in sc  # not inherited


def test_extends_chains_across_and_within_documents(server, sm, paused):
    load(server, {"scenarios": [
        {"name": "chain-a", "extends": "spot-interrupted", "spot": {"interruptions": 2}},
        {"name": "chain-b", "extends": "chain-a", "spot": {"savingsPercent": 90}}]})
    load(server, {"scenarios": [{"name": "chain-c", "extends": "chain-b",
                                 "metrics": {"loss": 0.5}}]})
    sm.create_training_job(**tagged("chain-job", "chain-c", **P.SPOT_LONG))
    server.advance(600)
    d = describe_raw(sm, "chain-job")
    want = P.run(0, 7) + [(7, "Interrupted", P.MSG_INTERRUPTED)] + P.run(10, 17) + \
        [(17, "Interrupted", P.MSG_INTERRUPTED)] + P.run(20) + [(30, "Completed", P.MSG_COMPLETED)]
    assert P.check_history(d, want, spot_savings=90) == []
    assert (d["TrainingTimeInSeconds"], d["BillableTimeInSeconds"]) == (27, 2)


def test_a_redefined_user_scenario_applies_to_new_jobs_only(server, sm, paused):
    load(server, {"scenarios": [{"name": "moving", "extends": "success"}]})
    sm.create_training_job(**tagged("moving-1", "moving"))
    load(server, {"scenarios": [{"name": "moving", "extends": "client-error"}]})
    sm.create_training_job(**tagged("moving-2", "moving"))
    server.advance(60)
    assert describe_raw(sm, "moving-1")["TrainingJobStatus"] == "Completed"
    assert describe_raw(sm, "moving-2")["TrainingJobStatus"] == "Failed"


def test_posted_seed_jobs_are_created_relative_to_now_once(server, sm, paused):
    doc = {"jobs": [{"request": job_request("posted-seed"), "scenario": "max-runtime",
                     "createdSecondsAgo": 7200}]}
    assert load(server, doc) == {"scenarios": 0, "rules": 0, "jobs": 1, "jobsAlreadyPresent": 0,
                                 "faults": 0}
    d = describe_raw(sm, "posted-seed")
    assert ms(d["CreationTime"]) == ms(server.now()) - 7200 * 1000
    assert d["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert load(server, doc)["jobsAlreadyPresent"] == 1


def test_a_seed_may_use_the_scenarios_and_rules_of_its_own_document(server, sm, paused):
    summary = load(server, {
        "scenarios": [{"name": "doc-local", "extends": "client-error",
                       "failure": {"reason": "ClientError: Data download failed:doc-local"}}],
        "rules": [{"match": {"name": "same-doc-*"}, "scenario": "doc-local"}],
        "jobs": [{"request": job_request("same-doc-1"), "createdSecondsAgo": 60},
                 {"request": job_request("other-doc-1"), "scenario": "doc-local",
                  "createdSecondsAgo": 60}]})
    assert summary["jobs"] == 2
    for name in ("same-doc-1", "other-doc-1"):
        assert scenario_of(server, name) == "doc-local"
        d = describe_raw(sm, name)
        assert d["FailureReason"] == "ClientError: Data download failed:doc-local"
        assert P.check_history(d, P.PLANS["client-error"]["changes"]) == []


# ------------------------------------------------------------------------------ loading
def test_fixtures_flags_files_and_folders(make_server, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(
        {"scenarios": [{"name": "order", "extends": "algorithm-error"}]}))
    (folder / "a.json").write_text(json.dumps(
        {"scenarios": [{"name": "order", "extends": "client-error"}],
         "rules": [{"match": {"name": "folder-*"}, "scenario": "order"}]}))
    (folder / "notes.txt").write_text("not JSON, not loaded")
    (folder / ".hidden.json").write_text("{ not loaded either")
    single = tmp_path / "single.json"
    single.write_text(json.dumps({"jobs": [{"request": job_request("single-seed")}]}))
    srv = make_server("--fixtures", str(folder), "--fixtures", str(single), "--clock-rate", "0")
    sm = srv.client()
    assert describe_raw(sm, "single-seed")["TrainingJobStatus"] == "InProgress"
    sm.create_training_job(**job_request("folder-1"))
    srv.advance(60)
    # b.json comes after a.json: its "order" replaced a.json's
    assert describe_raw(sm, "folder-1")["FailureReason"] == P.REASON_ALGORITHM


def test_sagemock_fixtures_is_colon_separated_and_a_flag_replaces_it(make_server, tmp_path,
                                                                      monkeypatch):
    one, two, three = (tmp_path / f"{n}.json" for n in ("one", "two", "three"))
    for f in (one, two, three):
        f.write_text(json.dumps({"jobs": [{"request": job_request(f"env-{f.stem}")}]}))
    monkeypatch.setenv("SAGEMOCK_FIXTURES", f"{one}:{two}")
    srv = make_server()
    assert sorted(j["name"] for j in admin_ok(srv, "GET", "/_sagemock/jobs")["jobs"]) == \
        ["env-one", "env-two"]
    srv2 = make_server("--fixtures", str(three))
    assert [j["name"] for j in admin_ok(srv2, "GET", "/_sagemock/jobs")["jobs"]] == ["env-three"]


def test_an_unknown_tag_scenario_names_the_way_out(server, sm, paused):
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**tagged(unique_name("bad"), "custom-flw"))
    code, message, _ = error_of(e)
    assert code == "ValidationException"
    assert "GET /_sagemock/scenarios" in message
