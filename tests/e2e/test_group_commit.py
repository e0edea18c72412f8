"""Group commit of CreateTrainingJob (server/core/group.c, issue 14): creates that arrive while a
commit is in progress are written by one transaction and answered after its COMMIT. For
clients nothing changes: each concurrent request gets the answer it would get alone, in some
order of the requests.

* Many threads create at once, every name tried by three of them (mixed case: names are unique
  ignoring case), with requests refused before the write mixed in: each name is created exactly
  once (that answer's ARN), every other try answered ResourceInUse naming that ARN; every
  acknowledged job is there with its creation tags; the refused requests left nothing.
* Warm pools taken over by concurrent creates: each Available pool is taken over by one new job
  at most, and every new job that found one took a different one (as one after the other).
* A crash right after the answers: every acknowledged job is in the database when the server
  starts again (kill -9 during the load).
"""

import os
import signal
import threading
import time

from conftest import _start, _stop_and_check
from helpers import arn_for, job_request, raw_call, unique_name

THREADS = 24


def run_threads(n, work):
    """Start n threads on work(i) behind a barrier, so their requests overlap; their results."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def body(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:5]
    return results


def create_raw(url, req):
    r = raw_call(url, "CreateTrainingJob", req)
    return r.status, r.json


def test_concurrent_creates_each_get_their_own_answer(server):
    names = [unique_name("gc") for _ in range(60)]
    per_thread = 15
    refused = []  # (thread, k) of requests refused before the write

    def work(i):
        out = []
        for k in range(per_thread):
            if k % 5 == 4:
                # Refused by the cross-field rules (no write): MaxWait without spot.
                name = f"{names[(i + k) % len(names)]}-x"
                req = job_request(name, StoppingCondition={"MaxRuntimeInSeconds": 60,
                                                           "MaxWaitTimeInSeconds": 120})
                refused.append(name)
            else:
                # Each name is tried by three threads, with three spellings of it.
                base = names[(i * per_thread + k) % len(names)]
                name = [base, base.upper(), base.capitalize()][i % 3]
                req = job_request(name, Tags=[{"Key": "owner", "Value": f"t{i}"},
                                              {"Key": "k", "Value": str(k)}])
            out.append((name, req["Tags"] if "Tags" in req else None,
                        *create_raw(server.url, req)))
        return out

    results = [r for rs in run_threads(THREADS, work) for r in rs]
    created = {}
    for name, tags, status, body in results:
        if name in refused:
            assert status == 400 and body["__type"] == "ValidationException", (name, body)
            continue
        key = name.lower()
        if status == 200:
            assert key not in created, f"{name} created twice"
            assert body["TrainingJobArn"] == arn_for(name)
            created[key] = (name, tags)
    tried = {name.lower() for name, _, _, _ in results if name not in refused}
    assert set(created) == tried  # every name tried was created once
    for name, tags, status, body in results:
        if name in refused or status == 200:
            continue
        assert status == 400 and body["__type"] == "ResourceInUse", (name, status, body)
        winner = created[name.lower()][0]
        assert body["message"] == (
            "Training job names must be unique within an AWS account and region, and a "
            f"training job with this name already exists ({arn_for(winner)})")

    # Every acknowledged job is there, with the tags of the request that created it.
    for name, tags in created.values():
        d = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name})
        assert d.status == 200 and d.json["TrainingJobName"] == name
        t = raw_call(server.url, "ListTags", {"ResourceArn": arn_for(name)})
        assert t.status == 200 and t.json["Tags"] == tags
    for name in set(refused):
        d = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name})
        assert d.status == 400 and d.json["__type"] == "ValidationException"


def test_concurrent_creates_take_over_each_warm_pool_once(server):
    server.pause()
    try:
        rc = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 777,
              "KeepAlivePeriodInSeconds": 600}
        tags = [{"Key": "sagemock:scenario", "Value": "success"}]
        pools = [unique_name("gc-pool") for _ in range(6)]
        for name in pools:
            assert create_raw(server.url, job_request(name, ResourceConfig=rc, Tags=tags))[0] == 200
        server.advance(60)  # every pool Completed and Available
        for name in pools:
            d = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": name}).json
            assert d["WarmPoolStatus"]["Status"] == "Available"

        takers = [unique_name("gc-take") for _ in range(10)]
        results = run_threads(len(takers), lambda i: create_raw(
            server.url, job_request(takers[i], ResourceConfig=rc, Tags=tags)))
        assert all(status == 200 for status, _ in results), results
        reused_by = {}
        for name in pools:
            wp = raw_call(server.url, "DescribeTrainingJob",
                          {"TrainingJobName": name}).json["WarmPoolStatus"]
            assert wp["Status"] == "Reused", (name, wp)
            reused_by[name] = wp["ReusedByJob"]
        # Six pools, ten takers: six distinct takers, one pool each.
        assert len(set(reused_by.values())) == len(pools)
        assert set(reused_by.values()) <= set(takers)
    finally:
        server.set_rate(1)


def test_every_acknowledged_create_survives_kill(tmp_path):
    srv = _start(tmp_path / "crash")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(i):
        k = 0
        while not stop.is_set():
            name = f"gc-kill-{i}-{k}"
            k += 1
            try:
                status, _ = create_raw(srv.url, job_request(name))
            except OSError:
                return
            if status == 200:
                with lock:
                    acked.append(name)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(acked) >= 300, f"only {len(acked)} creates answered 200 in 60 s"
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    srv.start()  # the same database
    try:
        missing = [n for n in acked if raw_call(srv.url, "DescribeTrainingJob",
                                                {"TrainingJobName": n}).status != 200]
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged jobs lost: {missing[:5]}"
    finally:
        _stop_and_check(srv)
