"""Writes tests/e2e/data/seed50/: 50 seed jobs in every end state (and 3 still running), loaded
at start by test_fixtures.py (`--fixtures tests/e2e/data/seed50`).

Each seed's "description" starts with "expect: <plan>" (a key of scenario_plans.PLANS), then
optionally " stop@<seconds>" (stoppedAfterSeconds): the test checks the job's whole history
against that plan. Run again after changing it:  /usr/bin/python3 tests/e2e/data/make_seed50.py
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from helpers import job_request  # noqa: E402
from scenario_plans import PLANS, SPOT_60, SPOT_LONG  # noqa: E402

INSTANCES = ["ml.m5.large", "ml.c5.xlarge", "ml.p3.2xlarge", "ml.g4dn.xlarge"]

# (name stem, plan key, count, how the scenario is chosen, extra request members, stop, ago)
GROUPS = [
    ("ok", "success", 4, "default", {}, None, None),
    ("ok-warm", "success", 2, "field", {"keep": 3600}, None, [100, 200]),
    ("ok-cold", "success", 2, "field", {"keep": 600}, None, [7200, 9100]),
    ("ok-west", "success", 2, "field", {"region": "us-west-2"}, None, None),
    ("pending", "pending-capacity", 3, "field", {}, None, None),
    ("spot", "spot-interrupted", 3, "field", SPOT_LONG, None, None),
    ("once", "internal-error-once", 3, "tag", {}, None, None),
    ("long", "long-running", 1, "field", {}, None, [50000]),
    ("alg", "algorithm-error", 4, "field", {}, None, None),
    ("byrule-client", "client-error", 3, "rule", {}, None, None),
    ("cap", "capacity-error", 3, "tag", {}, None, None),
    ("ierr", "internal-error", 2, "field", {}, None, None),
    ("ierr-retry", "internal-error/retry-2", 3, "field", {}, None, None),
    ("once-noretry", "internal-error-once/no-retry", 2, "field", {}, None, None),
    ("stop-train", "success", 3, "default", {}, 6.5, None),
    ("stop-start", "success", 2, "field", {}, 1.5, None),
    ("stop-long", "long-running", 2, "field", {}, 7200.5, [9000, 86000]),
    ("mrt", "max-runtime", 3, "field", {}, None, None),
    ("spotwait", "spot-max-wait", 3, "field", SPOT_60, None, None),
]


def seed(stem, i, key, how, extra, stop, ago):
    plan = PLANS[key]
    name = f"seed-{stem}-{i + 1:02d}"
    extra = dict(extra)
    keep = extra.pop("keep", None)
    region = extra.pop("region", None)
    req = job_request(name, **dict(plan["request"], **extra))
    req["ResourceConfig"]["InstanceType"] = INSTANCES[i % len(INSTANCES)]
    if keep:
        req["ResourceConfig"]["KeepAlivePeriodInSeconds"] = keep
    req["HyperParameters"] = {"epochs": str(10 + i), "learning_rate": "0.01"}
    if how == "tag":
        req["Tags"] = [{"Key": "sagemock:scenario", "Value": plan["scenario"]},
                       {"Key": "team", "Value": "fixtures"}]
    job = {"description": f"expect: {key}" + (f" stop@{stop:g}" if stop is not None else ""),
           "request": req}
    if how == "field":
        job["scenario"] = plan["scenario"]
    if region:
        job["region"] = region
    job["createdSecondsAgo"] = ago
    if stop is not None:
        job["stoppedAfterSeconds"] = stop
    return job


def main():
    jobs = []
    n = 0
    for stem, key, count, how, extra, stop, agos in GROUPS:
        for i in range(count):
            end = PLANS[key]["changes"][-1][0] if stop is None else stop + 2
            ago = agos[i] if agos else int(end) + 600 + 3607 * n
            jobs.append(seed(stem, i, key, how, extra, stop, ago))
            n += 1
    assert len(jobs) == 50
    out = os.path.join(HERE, "seed50")
    os.makedirs(out, exist_ok=True)
    docs = {
        "00-rules.json": {
            "$schema": "../../../../fixtures/sagemock-fixtures.schema.json",
            "description": "Seed jobs named seed-byrule-* get their scenario from this rule.",
            "rules": [{"match": {"name": "seed-byrule-*"}, "scenario": "client-error"}]},
        "10-ended.json": {
            "$schema": "../../../../fixtures/sagemock-fixtures.schema.json",
            "description": "50 seed jobs whose whole history is over at load time: every end "
                           "state (Completed, Failed, Stopped, MaxRuntimeExceeded, "
                           "MaxWaitTimeExceeded), warm pools Available and Terminated, two in "
                           "us-west-2.",
            "jobs": jobs},
        "20-in-flight.json": {
            "$schema": "../../../../fixtures/sagemock-fixtures.schema.json",
            "description": "Three seed jobs still running at load time.",
            "jobs": [
                {"description": "expect: long-running (InProgress, Training)",
                 "request": job_request("seed-running-training",
                                        StoppingCondition={"MaxRuntimeInSeconds": 86400}),
                 "scenario": "long-running", "createdSecondsAgo": 3600},
                {"description": "expect: pending-capacity (InProgress, Pending)",
                 "request": job_request("seed-running-pending"),
                 "scenario": "pending-capacity", "createdSecondsAgo": 2},
                {"description": "expect: long-running stop@999 (Stopping)",
                 "request": job_request("seed-running-stopping",
                                        StoppingCondition={"MaxRuntimeInSeconds": 86400}),
                 "scenario": "long-running", "createdSecondsAgo": 1000,
                 "stoppedAfterSeconds": 999}]},
    }
    for fname, doc in docs.items():
        with open(os.path.join(out, fname), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
