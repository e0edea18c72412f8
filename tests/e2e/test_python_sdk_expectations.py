"""What the SageMaker Python SDK (v2 `Estimator.fit()`, and sagemaker-core `TrainingJob.wait`)
reads from DescribeTrainingJob, checked on every poll of real jobs (spec §3.6).

The SDK's wait loop (session.py `_train_done`, `logs_for_job`, `_check_job_status`, utils.py
`secondary_training_status_changed/_message`) does, on every DescribeTrainingJob:

* `desc["TrainingJobStatus"]`; `InProgress` and `Created` mean "still running";
* when the last transition's message changed, for every new transition
  `transition["StatusMessage"]` (KeyError if absent) and
  `desc["LastModifiedTime"].timetuple()` (needs a datetime whenever SecondaryStatusTransitions
  is non-empty), printed as "<%Y-%m-%d %H:%M:%S> <Status> - <StatusMessage>";
* `desc["ResourceConfig"]["InstanceCount"]`, or the sum of
  `desc["ResourceConfig"]["InstanceGroups"][*]["InstanceCount"]`;
* at the end `Completed` passes, `Stopped` warns, anything else raises; it prints
  "Training seconds: TrainingTimeInSeconds × count", "Billable seconds: ...", and for spot jobs
  the savings (1 − Billable/Training) × 100.

`SdkWatcher` below re-enacts those accesses (subscripts, not .get(), where the SDK uses
subscripts), polling one simulated second at a time so that every message is seen.
"""

import datetime
import time

import pytest

from helpers import MSG_STOPPED, MSG_STOPPING, job_request, unique_name

IN_PROGRESS = ("InProgress", "Created")
TERMINAL = ("Completed", "Failed", "Stopped")
KNOWN_STATUSES = IN_PROGRESS + TERMINAL + ("Stopping",)


class SdkWatcher:
    """The SDK's view of one job, poll by poll."""

    def __init__(self, sm, name):
        self.sm = sm
        self.name = name
        self.prev = None
        self.lines = []  # what the SDK would print
        self.descriptions = []
        self.instance_count = None

    def _count(self, desc):
        rc = desc["ResourceConfig"]
        if "InstanceGroups" in rc:
            return sum(g["InstanceCount"] for g in rc["InstanceGroups"])
        return rc["InstanceCount"]

    def poll(self):
        desc = self.sm.describe_training_job(TrainingJobName=self.name)
        self.descriptions.append(desc)
        status = desc["TrainingJobStatus"]
        assert status in KNOWN_STATUSES, status
        self.instance_count = self._count(desc)
        transitions = desc.get("SecondaryStatusTransitions")
        if transitions:
            prev_tr = (self.prev or {}).get("SecondaryStatusTransitions") or []
            last_message = prev_tr[-1]["StatusMessage"] if prev_tr else ""
            if transitions[-1]["StatusMessage"] != last_message:
                new = transitions[-1:] if len(transitions) == len(prev_tr) \
                    else transitions[len(prev_tr) - len(transitions):]
                stamp = desc["LastModifiedTime"]
                assert isinstance(stamp, datetime.datetime), stamp
                when = datetime.datetime.fromtimestamp(time.mktime(stamp.timetuple()),
                                                       datetime.timezone.utc)
                for t in new:
                    self.lines.append(
                        f"{when:%Y-%m-%d %H:%M:%S} {t['Status']} - {t['StatusMessage']}")
        self.prev = desc
        return status

    def finish(self):
        """The SDK's end of fit(): the status check and the printed seconds."""
        desc = self.descriptions[-1]
        status = desc["TrainingJobStatus"]
        if status not in ("Completed", "Stopped"):
            raise AssertionError(f"the SDK would raise UnexpectedStatusException: {status}")
        out = [f"Training seconds: {desc['TrainingTimeInSeconds'] * self.instance_count}",
               f"Billable seconds: {desc['BillableTimeInSeconds'] * self.instance_count}"]
        if desc.get("EnableManagedSpotTraining"):
            saving = (1 - desc["BillableTimeInSeconds"] / desc["TrainingTimeInSeconds"]) * 100
            out.append(f"Managed Spot Training savings: {saving:.1f}%")
        return out


def run_to_the_end(server, watcher, max_seconds=120):
    """Poll once per simulated second until the SDK's loop would stop at a terminal status."""
    for _ in range(max_seconds):
        status = watcher.poll()
        if status in TERMINAL:
            return status
        server.advance(1)
    raise AssertionError(f"{watcher.name} not terminal after {max_seconds} simulated seconds")


def assert_every_poll_feeds_the_sdk(watcher):
    """The invariants the SDK relies on, on every description it got."""
    last_modified = None
    for i, d in enumerate(watcher.descriptions):
        where = f"poll {i} ({d['TrainingJobStatus']}/{d['SecondaryStatus']})"
        tr = d["SecondaryStatusTransitions"]
        assert tr, f"{where}: no SecondaryStatusTransitions"
        for t in tr:
            assert isinstance(t.get("StatusMessage"), str) and t["StatusMessage"], \
                f"{where}: transition without a StatusMessage: {t}"
        assert isinstance(d.get("LastModifiedTime"), datetime.datetime), \
            f"{where}: LastModifiedTime missing while SecondaryStatusTransitions is non-empty"
        assert d["LastModifiedTime"] >= tr[-1]["StartTime"], where
        if last_modified is not None:
            assert d["LastModifiedTime"] >= last_modified, f"{where}: LastModifiedTime went back"
        last_modified = d["LastModifiedTime"]
        rc = d["ResourceConfig"]
        assert "InstanceCount" in rc or "InstanceGroups" in rc, where
        if d["TrainingJobStatus"] in TERMINAL and d["TrainingJobStatus"] != "Failed":
            for k in ("TrainingTimeInSeconds", "BillableTimeInSeconds", "TrainingEndTime"):
                assert k in d, f"{where}: {k} missing at the end"
            assert 1 <= d["BillableTimeInSeconds"] <= d["TrainingTimeInSeconds"], where


def test_fit_sees_every_message_in_order_and_prints_the_seconds(server, sm, paused):
    name = unique_name("sdk-fit")
    sm.create_training_job(**job_request(name, ResourceConfig={
        "InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30}))
    w = SdkWatcher(sm, name)
    assert run_to_the_end(server, w) == "Completed"
    assert_every_poll_feeds_the_sdk(w)
    assert [line.split(" ", 2)[2] for line in w.lines] == [
        "Starting - Starting the training job",
        "Starting - Launching requested ML instances",
        "Starting - Preparing the instances for training",
        "Downloading - Downloading the training image",
        "Training - Training image download completed. Training in progress.",
        "Uploading - Uploading generated training model",
        "Completed - Training job completed",
    ]
    # the time printed is LastModifiedTime: it moves with the job
    stamps = [line[:19] for line in w.lines]
    assert stamps == sorted(stamps) and len(set(stamps)) > 1
    assert w.instance_count == 2
    assert w.finish() == ["Training seconds: 14", "Billable seconds: 14"]


def test_a_coarse_poller_prints_every_transition_it_missed(server, sm, paused):
    """Polling every 5 s (wait_for_job's interval) the SDK prints the transitions it jumped
    over, each with its own (final) StatusMessage."""
    name = unique_name("sdk-coarse")
    sm.create_training_job(**job_request(name))
    w = SdkWatcher(sm, name)
    for _ in range(5):
        if w.poll() in TERMINAL:
            break
        server.advance(5)
    assert w.descriptions[-1]["TrainingJobStatus"] == "Completed"
    assert_every_poll_feeds_the_sdk(w)
    printed = [line.split(" ", 2)[2] for line in w.lines]
    assert printed[0] == "Starting - Starting the training job"
    assert printed[-1] == "Completed - Training job completed"
    assert [p.split(" - ")[0] for p in printed] == \
        ["Starting", "Downloading", "Training", "Uploading", "Completed"]


def test_a_stopped_job_ends_stopped_with_messages_and_seconds(server, sm, paused):
    name = unique_name("sdk-stop")
    sm.create_training_job(**job_request(name))
    w = SdkWatcher(sm, name)
    for _ in range(6):  # into Training
        w.poll()
        server.advance(1)
    sm.stop_training_job(TrainingJobName=name)
    assert w.poll() == "Stopping"
    # NB: the SDK v2's _train_done counts only InProgress/Created as running, so a poll that
    # lands on Stopping ends its wait and _check_job_status raises; that is the SDK's
    # behaviour against SageMaker too. sagemaker-core's TrainingJob.wait keeps polling.
    server.advance(1)
    assert run_to_the_end(server, w) == "Stopped"
    assert_every_poll_feeds_the_sdk(w)
    printed = [line.split(" ", 2)[2] for line in w.lines]
    assert printed[-2:] == [f"Stopping - {MSG_STOPPING}", f"Stopped - {MSG_STOPPED}"]
    d = w.descriptions[-1]
    assert d["SecondaryStatus"] == "Stopped"
    assert w.finish()[0].startswith("Training seconds: ")


def test_max_runtime_exceeded_is_terminal_for_the_sdk(server, sm, paused):
    name = unique_name("sdk-maxrt")
    sm.create_training_job(**job_request(name, StoppingCondition={"MaxRuntimeInSeconds": 4}))
    w = SdkWatcher(sm, name)
    assert run_to_the_end(server, w) == "Stopped"
    assert_every_poll_feeds_the_sdk(w)
    d = w.descriptions[-1]
    assert d["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert d["SecondaryStatusTransitions"][-1]["Status"] == "MaxRuntimeExceeded"
    w.finish()


def test_spot_job_savings_can_be_computed(server, sm, paused):
    name = unique_name("sdk-spot")
    sm.create_training_job(**job_request(
        name, EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}))
    w = SdkWatcher(sm, name)
    assert run_to_the_end(server, w) == "Completed"
    assert_every_poll_feeds_the_sdk(w)
    out = w.finish()
    assert out[2].startswith("Managed Spot Training savings: ")
    assert 0.0 <= float(out[2].split(": ")[1].rstrip("%")) < 100.0


def test_instance_groups_are_counted_like_the_sdk(server, sm, paused):
    name = unique_name("sdk-groups")
    req = job_request(name, ResourceConfig={"VolumeSizeInGB": 30, "InstanceGroups": [
        {"InstanceType": "ml.m5.large", "InstanceCount": 2, "InstanceGroupName": "a"},
        {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "InstanceGroupName": "b"}]})
    try:
        sm.create_training_job(**req)
    except sm.exceptions.ClientError as e:  # pragma: no cover - depends on server support
        pytest.skip(f"InstanceGroups not accepted: {e}")
    w = SdkWatcher(sm, name)
    assert run_to_the_end(server, w) == "Completed"
    assert_every_poll_feeds_the_sdk(w)
    assert w.instance_count == 3
    assert w.finish() == ["Training seconds: 21", "Billable seconds: 21"]


def test_sagemaker_core_wait_terminal_states(server, sm, paused):
    """sagemaker-core TrainingJob.wait: terminal on Completed/Failed/Stopped, never on a
    status it does not know; a job's statuses stay inside that vocabulary."""
    name = unique_name("sdk-core")
    sm.create_training_job(**job_request(name))
    seen = []
    for _ in range(30):
        st = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        seen.append(st)
        if st in TERMINAL:
            break
        server.advance(1)
    assert seen[-1] == "Completed" and set(seen[:-1]) == {"InProgress"}
    assert "failed" not in seen[-1].lower()
