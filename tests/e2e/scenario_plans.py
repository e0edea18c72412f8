"""The verified timelines of sagemock's built-in scenarios, and checkers for a job's history.

A timeline is the list of visible changes of a job, as (offset in seconds from CreationTime,
SecondaryStatus, StatusMessage): a new SecondaryStatusTransitions entry when the status differs
from the previous one, else the current entry's message changing in place. The primary status
(TrainingJobStatus) follows from the secondary one.

PLANS holds, for each built-in scenario (and the request variants that change its path), the
CreateTrainingJob overrides, the timeline, and the final TrainingTimeInSeconds,
BillableTimeInSeconds and FailureReason. test_scenarios.py walks every plan on a paused clock;
test_fixtures.py checks seed jobs against them; test_docs_fixtures.py checks that
docs/FIXTURES.md shows exactly these lists.
"""

import math

from helpers import (MSG_COMPLETED, MSG_DOWNLOADING, MSG_LAUNCHING, MSG_PREPARING, MSG_STARTING,
                     MSG_STOPPED, MSG_STOPPING, MSG_TRAINING, MSG_UPLOADING, ms)

SCENARIO_TAG = "sagemock:scenario"

MSG_FAILED = "Training job failed"
MSG_PENDING = "Waiting for compute capacity"
MSG_INSUFFICIENT = "Insufficient capacity error from EC2 while launching instances, retrying!"
MSG_INTERRUPTED = "Training job interrupted: spot capacity was reclaimed"
MSG_RESTARTING = "Restarting the training job"
MSG_MAX_RUNTIME = "Training job runtime exceeded MaxRuntimeInSeconds provided"
MSG_MAX_WAIT = "Training job wait time exceeded MaxWaitTimeInSeconds provided"

REASON_ALGORITHM = ("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "
                    "\"ValueError: could not convert string to float: 'n/a'\"\nCommand "
                    "\"/usr/local/bin/python3.9 train.py --epochs 10\", exit code: 1")
REASON_CLIENT = ("ClientError: Data download failed:Failed to download data. 403 Forbidden (403): "
                 "Forbidden")
REASON_CAPACITY = ("CapacityError: Unable to provision requested ML compute capacity. Please retry "
                   "using a different ML instance type.")
REASON_INTERNAL = "InternalServerError: We encountered an internal error. Please try again."

BUILTIN_SCENARIOS = ["success", "algorithm-error", "client-error", "capacity-error",
                     "internal-error", "internal-error-once", "max-runtime", "spot-interrupted",
                     "spot-max-wait", "pending-capacity", "long-running"]

TRAINING_PHASE = {"Downloading", "DownloadingTrainingImage", "Training", "Uploading"}
TERMINAL = {"Completed", "Failed", "Stopped"}
PRIMARY = {"Completed": "Completed", "Failed": "Failed", "Stopping": "Stopping",
           "Stopped": "Stopped", "MaxRuntimeExceeded": "Stopped",
           "MaxWaitTimeExceeded": "Stopped"}


def primary_of(secondary):
    return PRIMARY.get(secondary, "InProgress")


def run(t0, until=None, training=3):
    """The InProgress changes of one pass over the default steps, from t0, cut before `until`."""
    full = [(t0, "Starting", MSG_STARTING), (t0 + 1, "Starting", MSG_LAUNCHING),
            (t0 + 2, "Starting", MSG_PREPARING), (t0 + 3, "Downloading", MSG_DOWNLOADING),
            (t0 + 5, "Training", MSG_TRAINING),
            (t0 + 5 + training, "Uploading", MSG_UPLOADING)]
    return [c for c in full if until is None or c[0] < until]


def _retries(n):
    """internal-error with MaximumRetryAttempts n: n+1 attempts of 8.5 s, each failing at 6.5."""
    out = []
    for k in range(n + 1):
        t0 = k * 8.5
        out += run(t0, t0 + 6.5)
        if k < n:
            out.append((t0 + 6.5, "Restarting", MSG_RESTARTING))
    return out + [(n * 8.5 + 6.5, "Failed", MSG_FAILED)]


def _spot_max_wait_60():
    out = []
    for t0 in (0, 17, 34, 51):
        out += run(t0, t0 + 7) + [(t0 + 7, "Interrupted", MSG_INTERRUPTED)]
    return out + [(60, "Stopping", MSG_STOPPING), (62, "MaxWaitTimeExceeded", MSG_MAX_WAIT)]


SPOT_60 = {"EnableManagedSpotTraining": True,
           "StoppingCondition": {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 60}}
SPOT_LONG = {"EnableManagedSpotTraining": True,
             "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}}

# key -> scenario, request overrides, timeline, final values. The first plan of each scenario
# is the one docs/FIXTURES.md shows under that scenario's name.
PLANS = {
    "success": dict(
        scenario="success", request={},
        changes=run(0) + [(10, "Completed", MSG_COMPLETED)],
        training=7, billable=7, reason=None),
    "algorithm-error": dict(
        scenario="algorithm-error", request={},
        changes=run(0, 7) + [(7, "Failed", MSG_FAILED)],
        training=4, billable=4, reason=REASON_ALGORITHM),
    "client-error": dict(
        scenario="client-error", request={},
        changes=run(0, 4) + [(4, "Failed", MSG_FAILED)],
        training=1, billable=1, reason=REASON_CLIENT),
    "capacity-error": dict(
        scenario="capacity-error", request={},
        changes=[(0, "Starting", MSG_STARTING), (1, "Starting", MSG_LAUNCHING),
                 (2, "Starting", MSG_INSUFFICIENT), (2.5, "Failed", MSG_FAILED)],
        training=None, billable=None, reason=REASON_CAPACITY),
    "internal-error": dict(
        scenario="internal-error", request={},
        changes=_retries(0), training=4, billable=4, reason=REASON_INTERNAL),
    "internal-error/retry-2": dict(
        scenario="internal-error", request={"RetryStrategy": {"MaximumRetryAttempts": 2}},
        changes=_retries(2), training=21, billable=21, reason=REASON_INTERNAL),
    "internal-error-once": dict(
        scenario="internal-error-once", request={"RetryStrategy": {"MaximumRetryAttempts": 1}},
        changes=run(0, 6.5) + [(6.5, "Restarting", MSG_RESTARTING)] + run(8.5)
        + [(18.5, "Completed", MSG_COMPLETED)],
        training=16, billable=16, reason=None),
    "internal-error-once/no-retry": dict(
        scenario="internal-error-once", request={},
        changes=_retries(0), training=4, billable=4, reason=REASON_INTERNAL),
    "max-runtime": dict(
        scenario="max-runtime", request={"StoppingCondition": {"MaxRuntimeInSeconds": 60}},
        changes=run(0)[:5] + [(63, "Stopping", MSG_STOPPING),
                              (65, "MaxRuntimeExceeded", MSG_MAX_RUNTIME)],
        training=62, billable=62, reason=None),
    "spot-interrupted": dict(
        scenario="spot-interrupted", request=SPOT_LONG,
        changes=run(0, 7) + [(7, "Interrupted", MSG_INTERRUPTED)] + run(10)
        + [(20, "Completed", MSG_COMPLETED)],
        training=17, billable=4, reason=None),
    "spot-max-wait": dict(
        scenario="spot-max-wait", request=SPOT_60,
        changes=_spot_max_wait_60(), training=59, billable=5, reason=None),
    "pending-capacity": dict(
        scenario="pending-capacity", request={},
        changes=[(0, "Pending", MSG_PENDING)] + run(5) + [(15, "Completed", MSG_COMPLETED)],
        training=7, billable=7, reason=None),
    "long-running": dict(
        scenario="long-running", request={"StoppingCondition": {"MaxRuntimeInSeconds": 86400}},
        changes=run(0, training=43200) + [(43207, "Completed", MSG_COMPLETED)],
        training=43204, billable=43204, reason=None),
}

SPOT_SAVINGS = {"spot-interrupted": 70, "spot-max-wait": 70}


# ------------------------------------------------------------------------------ timelines
def with_stop(changes, stop_at, delay=2):
    """The timeline of a job stopped (StopTrainingJob) at offset stop_at while InProgress:
    TrainingJobStatus turns Stopping at once, written (stop_at, None, None), while the step in
    progress keeps its entry (spec §2.4); the Stopping entry begins half the stop delay later,
    Stopped the stop delay after the stop."""
    kept = [c for c in changes if c[0] <= stop_at]
    assert kept and primary_of(kept[-1][1]) == "InProgress", "the stop must fall while InProgress"
    return kept + [(stop_at, None, None), (stop_at + delay / 2, "Stopping", MSG_STOPPING),
                   (stop_at + delay, "Stopped", MSG_STOPPED)]


def status_at(changes, t):
    """(TrainingJobStatus, SecondaryStatus) at offset t."""
    seen = visible(changes, t)
    secondary = [c[1] for c in seen if c[1] is not None][-1]
    stopping = any(c[1] is None for c in seen) and primary_of(secondary) == "InProgress"
    return ("Stopping" if stopping else primary_of(secondary)), secondary


def visible(changes, t):
    """The changes visible at offset t."""
    return [c for c in changes if c[0] <= t + 1e-9]


def entries(changes, t=None):
    """Expected SecondaryStatusTransitions at offset t (default: the end), as dicts of
    Status, StartTime (offset), EndTime (offset or None), StatusMessage."""
    out = []
    for at, status, msg in (changes if t is None else visible(changes, t)):
        if status is None:  # TrainingJobStatus alone changes (a stop): the entry stays
            continue
        if out and out[-1]["Status"] == status and out[-1]["EndTime"] is None:
            out[-1]["StatusMessage"] = msg
            continue
        if out:
            out[-1]["EndTime"] = at
        out.append({"Status": status, "StartTime": at, "EndTime": None, "StatusMessage": msg})
    if out and primary_of(out[-1]["Status"]) in TERMINAL:
        out[-1]["EndTime"] = out[-1]["StartTime"]
    return out


def change_points(changes):
    return sorted({c[0] for c in changes})


def final_times(changes, spot_savings=None):
    """(TrainingTimeInSeconds, BillableTimeInSeconds) of an ended timeline, or (None, None)."""
    es = entries(changes)
    start = next((e["StartTime"] for e in es if e["Status"] in TRAINING_PHASE), None)
    if start is None:
        return None, None
    end = es[-1]["StartTime"]
    training = max(1, -(-round((end - start) * 1000) // 1000))
    if spot_savings is None:
        return training, training
    billed_ms = sum(round((e["EndTime"] - e["StartTime"]) * 1000)
                    for e in es if e["Status"] in TRAINING_PHASE)
    billable_ms = -(-billed_ms * (100 - spot_savings) // 100)
    billable = max(1, -(-billable_ms // 1000))
    return training, billable


# ------------------------------------------------------------------------------ checkers
def offsets_of(d):
    """The transitions of a raw Describe body with times as millisecond offsets from
    CreationTime (EndTime None when absent)."""
    c = ms(d["CreationTime"])
    return [{"Status": t["Status"], "StartTime": ms(t["StartTime"]) - c,
             "EndTime": ms(t["EndTime"]) - c if "EndTime" in t else None,
             "StatusMessage": t["StatusMessage"]} for t in d["SecondaryStatusTransitions"]]


def in_ms(es):
    return [dict(e, StartTime=round(e["StartTime"] * 1000),
                 EndTime=None if e["EndTime"] is None else round(e["EndTime"] * 1000)) for e in es]


def check_fields(d):
    """The field-presence rules of spec §3.4 and the timing relations of §3.3, read from the
    Describe body alone. Returns the list of problems (empty when consistent)."""
    p = []
    tr = d.get("SecondaryStatusTransitions") or []
    if not tr:
        return ["SecondaryStatusTransitions is empty"]
    status, secondary = d["TrainingJobStatus"], d["SecondaryStatus"]
    if secondary != tr[-1]["Status"]:
        p.append(f"SecondaryStatus {secondary} != last transition {tr[-1]['Status']}")
    if primary_of(secondary) != status and not (status == "Stopping"
                                                and primary_of(secondary) == "InProgress"):
        # (right after StopTrainingJob, Stopping goes with the step in progress)
        p.append(f"TrainingJobStatus {status} does not go with SecondaryStatus {secondary}")
    c = ms(d["CreationTime"])
    if ms(tr[0]["StartTime"]) != c:
        p.append("the first transition does not start at CreationTime")
    for a, b in zip(tr, tr[1:]):
        if "EndTime" not in a or ms(a["EndTime"]) != ms(b["StartTime"]):
            p.append(f"{a['Status']} does not end when {b['Status']} starts")
    for t in tr:
        if not t.get("StatusMessage"):
            p.append(f"{t['Status']} has no StatusMessage")
    ended = status in TERMINAL
    if ended != ("EndTime" in tr[-1]):
        p.append(f"the last entry has {'no ' if ended else ''}EndTime in status {status}")
    started = next((t for t in tr if t["Status"] in TRAINING_PHASE), None)
    if started is None:
        if "TrainingStartTime" in d:
            p.append("TrainingStartTime present before any training-phase entry")
    elif "TrainingStartTime" not in d:
        p.append("TrainingStartTime absent after a training-phase entry began")
    elif ms(d["TrainingStartTime"]) != ms(started["StartTime"]):
        p.append("TrainingStartTime is not the start of the first training-phase entry")
    if ms(d["LastModifiedTime"]) < ms(tr[-1]["StartTime"]):
        p.append("LastModifiedTime before the last transition")
    if ended:
        end = ms(tr[-1]["StartTime"])
        if ms(tr[-1]["EndTime"]) != end:
            p.append("terminal entry: EndTime != StartTime")
        if "TrainingEndTime" not in d or ms(d["TrainingEndTime"]) != end:
            p.append("TrainingEndTime absent or not the terminal entry's time")
        if ms(d["LastModifiedTime"]) != end:
            p.append("LastModifiedTime != TrainingEndTime")
        has_times = "TrainingTimeInSeconds" in d, "BillableTimeInSeconds" in d
        if has_times != (started is not None, started is not None):
            p.append(f"Training/BillableTimeInSeconds presence {has_times} but training "
                     f"{'started' if started else 'never started'}")
        if started is not None and all(has_times):
            want = max(1, math.ceil((end - ms(d["TrainingStartTime"])) / 1000))
            if d["TrainingTimeInSeconds"] != want:
                p.append(f"TrainingTimeInSeconds {d['TrainingTimeInSeconds']} != {want}")
            if d.get("EnableManagedSpotTraining"):
                if not 1 <= d["BillableTimeInSeconds"] <= d["TrainingTimeInSeconds"]:
                    p.append("spot: BillableTimeInSeconds not in [1, TrainingTimeInSeconds]")
            elif d["BillableTimeInSeconds"] != d["TrainingTimeInSeconds"]:
                p.append("on-demand: BillableTimeInSeconds != TrainingTimeInSeconds")
    else:
        for f in ("TrainingEndTime", "TrainingTimeInSeconds", "BillableTimeInSeconds"):
            if f in d:
                p.append(f"{f} present while {status}")
    if (status == "Failed") != ("FailureReason" in d):
        p.append(f"FailureReason {'absent' if status == 'Failed' else 'present'} while {status}")
    return p


def check_history(d, changes, spot_savings=None):
    """Problems of an ended job's Describe body against its expected timeline."""
    p = check_fields(d)
    want = in_ms(entries(changes))
    got = offsets_of(d)
    if got != want:
        p.append(f"transitions differ:\n  got  {got}\n  want {want}")
    last = changes[-1]
    if d["TrainingJobStatus"] != primary_of(last[1]) or d["SecondaryStatus"] != last[1]:
        p.append(f"status {d['TrainingJobStatus']}/{d['SecondaryStatus']} != "
                 f"{primary_of(last[1])}/{last[1]}")
    training, billable = final_times(changes, spot_savings)
    if d.get("TrainingTimeInSeconds") != training or d.get("BillableTimeInSeconds") != billable:
        p.append(f"times {d.get('TrainingTimeInSeconds')}/{d.get('BillableTimeInSeconds')} != "
                 f"{training}/{billable}")
    return p
