"""Store faults in the tuning operations (the fault-injection binary of test_store_faults.py):
every statement a tuning operation runs (creating the tuning job and its first children,
advancing a tuning job that fell due, stopping one) fails in turn, at prepare and at step; the
reply is InternalFailure and nothing is half-written: the tuning job and its children are
exactly as before, and the next call does the work.
"""

import itertools

import pytest

from helpers import raw_call
from test_store_faults import (MAX_STATEMENTS, assert_internal_failure,  # noqa: F401 (fixtures)
                               assert_still_serving, fault_bin, faulty)
from test_tuning import tuning_request

MAX_TUNING_STATEMENTS = 4 * MAX_STATEMENTS
_names = itertools.count(1)


def observe(fs, job):
    """What a client sees of tuning job `job` and its children (the clock is paused)."""
    d = raw_call(fs.url, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": job})
    kids = raw_call(fs.url, "ListTrainingJobs", {"NameContains": job, "MaxResults": 100})
    assert kids.status == 200, kids
    view = d.json if d.status == 200 else {"error": d.error_code}
    return view, sorted((k["TrainingJobName"], k["TrainingJobStatus"])
                        for k in kids.json["TrainingJobSummaries"]
                        if k["TrainingJobName"].startswith(f"{job}-"))


def each_statement(fs, what, prepare, call, check_done, check_failed=None):
    for n in range(1, MAX_TUNING_STATEMENTS + 1):
        for mode in ("prepare", "step"):
            job = prepare()
            before = observe(fs, job) if check_failed is None else None
            fs.fired()
            fs.arm(n, mode)
            r = call(job)
            fs.arm(0)
            fired = fs.fired()
            if not fired:
                assert r.status == 200, f"{what}: no fault fired, yet {r}"
                check_done(job, before)
                print(f"{what}: {n - 1} statements, each failed at prepare and at step")
                return
            (_, sql, _), = fired
            where = f"{what}: statement {n} ({sql[:60]}) failing at {mode}"
            assert_internal_failure(call.op, r, where)
            if check_failed is None:
                assert observe(fs, job) == before, f"{where}: half-written"
            else:
                check_failed(job, where)
            assert_still_serving(fs)
    pytest.fail(f"{what}: still failing after {MAX_TUNING_STATEMENTS} statements")


def op(name, body_of, fs):
    def call(job):
        return raw_call(fs.url, name, body_of(job), check=False, timeout=15)
    call.op = name
    return call


def test_create_fails_whole_or_not_at_all(faulty):
    def prepare():
        return f"fc{next(_names)}"

    def done(job, before):
        view, kids = observe(faulty, job)
        assert view["HyperParameterTuningJobStatus"] == "InProgress"
        assert len(kids) == 2

    each_statement(faulty, "CreateHyperParameterTuningJob", prepare,
                   op("CreateHyperParameterTuningJob",
                      lambda job: tuning_request(job, max_jobs=4, parallel=2), faulty), done)


def test_advancing_a_due_tuning_job_fails_whole_or_not_at_all(faulty):
    def prepare():
        job = f"fa{next(_names)}"
        assert raw_call(faulty.url, "CreateHyperParameterTuningJob",
                        tuning_request(job, max_jobs=4, parallel=2)).status == 200
        faulty.advance(10)  # the first two end, two more are due: nobody has looked yet
        return job

    def done(job, before, where="done"):
        view, kids = observe(faulty, job)
        assert len(kids) == 4, (where, kids)
        assert view["TrainingJobStatusCounters"] == {
            "Completed": 2, "InProgress": 2, "RetryableError": 0, "NonRetryableError": 0,
            "Stopped": 0}, (where, view)
        assert sorted(s for _, s in kids) == ["Completed", "Completed", "InProgress",
                                              "InProgress"], where

    # Every read advances a due tuning job, so there is no "before" to compare with: after the
    # failure, the next read must find exactly what one clean advance makes.
    each_statement(faulty, "DescribeHyperParameterTuningJob (advancing)", prepare,
                   op("DescribeHyperParameterTuningJob",
                      lambda job: {"HyperParameterTuningJobName": job}, faulty), done,
                   check_failed=lambda job, where: done(job, None, where))


def test_stop_fails_whole_or_not_at_all(faulty):
    def prepare():
        job = f"fs{next(_names)}"
        assert raw_call(faulty.url, "CreateHyperParameterTuningJob",
                        tuning_request(job, max_jobs=4, parallel=2)).status == 200
        return job

    def done(job, before):
        view, kids = observe(faulty, job)
        assert view["HyperParameterTuningJobStatus"] == "Stopping"
        assert {s for _, s in kids} == {"Stopping"}

    each_statement(faulty, "StopHyperParameterTuningJob", prepare,
                   op("StopHyperParameterTuningJob",
                      lambda job: {"HyperParameterTuningJobName": job}, faulty), done)
