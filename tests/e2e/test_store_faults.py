"""Store fault injection: every statement a request runs is made to fail in turn, and the
server answers InternalFailure (500) cleanly, leaves nothing half-written, and keeps serving.

Uses a binary built with -DSAGEMOCK_FAULT_HOOKS (store/conn.c, "Fault injection"): the
SAGEMOCK_STORE_FAULT_FILE it reads holds "GEN N MODE"; a new GEN arms the Nth store_stmt()
call from then on to fail, at prepare (store_stmt returns NULL) or at step (the statement's
step fails). SAGEMOCK_FAULTS_BIN names such a binary; otherwise the test builds one (ASan +
UBSan, like ./dev test) with CMake in $SAGEMOCK_FAULTS_BUILD (default: a folder in the temp
dir, kept between runs), unless the binary under test (SAGEMOCK_BIN) has the hook compiled in.
SAGEMOCK_FAULTS_SANITIZE=0 builds it without sanitizers.

For each operation and each mode, N = 1, 2, ... until the request no longer reaches the Nth
statement (it then succeeds, and its effect is checked): a fresh subject is prepared with the
fault disarmed, its observable state (DescribeTrainingJob, ListTags, ListTrainingJobs) taken,
the fault armed, the request sent; the answer must be a well-formed awsJson InternalFailure
with status 500, the state must be exactly as before, and both workers must still serve reads
and writes. At the end the server must stop cleanly on SIGTERM (an ASan build exits non-zero
on a leak) and the database pass PRAGMA integrity_check and foreign_key_check.
"""

import itertools
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conformance import CHECKER
from helpers import (REPO, Server, ServerStartError, arn_for, job_request, raw_call,
                     sagemock_binary)

MAX_STATEMENTS = 40  # more than any operation runs; the loop fails past it
INTERNAL = ("The request processing has failed because of an unknown error, exception or "
            "failure.")
FIRED_RE = re.compile(r"sagemock: store fault injected: call (\d+) \((.*)\) at (\w+)")


# ------------------------------------------------------------------------------ the binary
HOOK_MARK = b"sagemock: store fault injected"


def has_hooks(path):
    try:
        with open(path, "rb") as f:
            return HOOK_MARK in f.read()
    except OSError:
        return False


def build_fault_binary():
    """SAGEMOCK_FAULTS_BIN; else the binary under test when it was built with the hooks (as
    ./dev test builds it); else a build of our own."""
    given = os.environ.get("SAGEMOCK_FAULTS_BIN")
    if given:
        return given
    if has_hooks(sagemock_binary()):
        return sagemock_binary()
    build = Path(os.environ.get("SAGEMOCK_FAULTS_BUILD") or
                 Path(tempfile.gettempdir()) / f"sagemock-faults-build-{os.getuid()}")
    sanitize = "OFF" if os.environ.get("SAGEMOCK_FAULTS_SANITIZE") == "0" else "ON"
    configure = ["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Debug",
                 f"-DSAGEMOCK_SANITIZE={sanitize}", "-DSAGEMOCK_TESTS=OFF",
                 "-DSAGEMOCK_FAULT_HOOKS=ON", "-DCMAKE_C_FLAGS=-DSAGEMOCK_FAULT_HOOKS"]
    steps = [configure, ["cmake", "--build", str(build), "--target", "sagemock", "-j",
                         str(os.cpu_count() or 2)]]
    for cmd in steps:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            pytest.fail(f"building the fault-injection binary failed: {' '.join(cmd)}\n"
                        f"{p.stdout[-4000:]}", pytrace=False)
    return str(build / "sagemock")


@pytest.fixture(scope="module")
def fault_bin():
    return build_fault_binary()


class FaultServer:
    """A sagemock with the fault hook, a paused clock and two workers."""

    def __init__(self, binary, workdir, monkeypatch):
        self.workdir = Path(workdir)
        self.fault_file = self.workdir / "fault"
        self.gen = itertools.count(1)
        self.arm(0)
        monkeypatch.setenv("SAGEMOCK_BIN", binary)
        monkeypatch.setenv("SAGEMOCK_STORE_FAULT_FILE", str(self.fault_file))
        monkeypatch.setenv("ASAN_OPTIONS", os.environ.get(
            "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"))
        self.srv = Server(self.workdir, args=["--clock-rate", "0", "--threads", "2"])
        try:
            self.srv.start()
        except ServerStartError as e:
            pytest.fail(str(e), pytrace=False)
        self.url = self.srv.url
        self.seen = 0  # fault lines already read from stderr
        if not self._probe_hook():
            pytest.fail(f"{binary} was not built with -DSAGEMOCK_FAULT_HOOKS", pytrace=False)
        self.probe = fresh("probe")
        self.ok("CreateTrainingJob", job_request(self.probe))

    def arm(self, n, mode="prepare"):
        tmp = self.fault_file.with_suffix(".tmp")
        tmp.write_text(f"{next(self.gen)} {n} {mode}\n")
        tmp.replace(self.fault_file)  # never a half-written file

    def fired(self):
        """Fault lines logged since the last call: [(call, sql, mode)]."""
        lines = FIRED_RE.findall(self.srv.stderr_path.read_text(errors="replace"))
        new, self.seen = lines[self.seen:], len(lines)
        return new

    def _probe_hook(self):
        self.arm(1)
        raw_call(self.url, "ListTrainingJobs", {}, check=False)
        self.arm(0)
        return bool(self.fired())

    def ok(self, op, body):
        r = raw_call(self.url, op, body)
        assert r.status == 200, (op, body, r)
        return r.json

    def advance(self, seconds):
        status, _, raw = self.srv.admin("POST", "/_sagemock/clock", {"advance": seconds})
        assert status == 200, raw

    def stop_and_check(self):
        rc = self.srv.stop()
        assert rc == 0, (f"the fault-injection server exited with {rc} on SIGTERM (an ASan "
                         f"build exits non-zero on a leak)\n{self.srv.stderr_text()}")
        db = sqlite3.connect(self.srv.db)
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
            orphans = db.execute("SELECT COUNT(*) FROM tags WHERE job_id NOT IN "
                                 "(SELECT id FROM jobs)").fetchone()[0]
            assert orphans == 0, f"{orphans} tags of no job"
        finally:
            db.close()


@pytest.fixture
def faulty(fault_bin, tmp_path, monkeypatch):
    fs = FaultServer(fault_bin, tmp_path, monkeypatch)
    yield fs
    if fs.srv.proc is not None:
        fs.arm(0)
        fs.stop_and_check()


# ------------------------------------------------------------------------------ observation
_names = itertools.count(1)


def fresh(prefix):
    return f"{prefix}-{os.getpid() % 10000}-{next(_names)}"


def observe(fs, name):
    """Everything a client can see of job `name` (the clock is paused: nothing moves)."""
    d = raw_call(fs.url, "DescribeTrainingJob", {"TrainingJobName": name})
    t = raw_call(fs.url, "ListTags", {"ResourceArn": arn_for(name)})
    listed = raw_call(fs.url, "ListTrainingJobs", {"NameContains": name, "MaxResults": 100})
    assert listed.status == 200, listed
    return {
        "describe": (d.status, d.json),
        "tags": (t.status, t.json),
        "listed": [s for s in listed.json["TrainingJobSummaries"]
                   if s["TrainingJobName"] == name],
    }


def create(fs, name, **kw):
    fs.ok("CreateTrainingJob", job_request(name, **kw))


def assert_internal_failure(op, r, where):
    assert r.status == 500, f"{where}: expected InternalFailure, got {r}"
    assert r.json == {"__type": "InternalFailure", "message": INTERNAL}, (where, r.body)
    assert r.headers.get("Content-Type") == "application/x-amz-json-1.1", where
    assert r.headers.get("x-amzn-RequestId"), where
    assert r.headers.get("x-amzn-ErrorType") == "InternalFailure", where
    violations, _ = CHECKER.check_response(op, r.status, r.headers, r.body, record=False)
    assert [v for v in violations if "the server failed" not in str(v)] == [], where


def assert_still_serving(fs):
    """Writes work promptly on two new connections (each worker's), and reads."""
    t0 = time.monotonic()
    for i in range(2):
        r = raw_call(fs.url, "AddTags", {"ResourceArn": arn_for(fs.probe),
                                         "Tags": [{"Key": f"p{i}", "Value": "v"}]}, timeout=5)
        assert r.status == 200, f"after a fault, a write fails: {r}"
    r = raw_call(fs.url, "DescribeTrainingJob", {"TrainingJobName": fs.probe}, timeout=5)
    assert r.status == 200, f"after a fault, a read fails: {r}"
    assert time.monotonic() - t0 < 3, "after a fault, requests are slow (a lock held?)"


# ------------------------------------------------------------------------------ the cases
# Each case: prepare(fs) -> (subject job names, op, body) with the fault disarmed; then
# check_done(fs, names, before) verifies the effect of a successful request, and
# check_failed (default: the subjects look exactly as before) the state after a failed one.

def prep_create(fs):
    name = fresh("fc")
    return [name], "CreateTrainingJob", job_request(name, Tags=[
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}])


def done_create(fs, names, before):
    after = observe(fs, names[0])
    assert after["describe"][0] == 200
    assert after["tags"][1]["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                                        {"Key": "c", "Value": "3"}]


WARM = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30,
        "KeepAlivePeriodInSeconds": 600}


def prep_create_reusing_pool(fs):
    old, new = fresh("fw-old"), fresh("fw-new")
    create(fs, old, ResourceConfig=WARM, RoleArn=f"arn:aws:iam::123456789012:role/{old}")
    fs.advance(30)  # old completes; its pool is Available
    d = fs.ok("DescribeTrainingJob", {"TrainingJobName": old})
    assert d["WarmPoolStatus"]["Status"] == "Available", d["WarmPoolStatus"]
    return [new, old], "CreateTrainingJob", job_request(
        new, ResourceConfig=WARM, RoleArn=f"arn:aws:iam::123456789012:role/{old}",
        Tags=[{"Key": "k", "Value": "v"}])


def done_create_reusing_pool(fs, names, before):
    new, old = names
    d = fs.ok("DescribeTrainingJob", {"TrainingJobName": old})
    assert d["WarmPoolStatus"]["Status"] == "Reused", d["WarmPoolStatus"]
    assert d["WarmPoolStatus"].get("ReusedByJob") == new


def prep_describe(fs):
    name = fresh("fd")
    create(fs, name)
    return [name], "DescribeTrainingJob", {"TrainingJobName": name}


LISTED = []  # the job of the ListTrainingJobs case: observing it would list it (and so
# bring it up to date) before the request under test


def prep_list(fs):
    name = fresh("fl")
    create(fs, name)
    fs.advance(4)  # due: the list brings the stored state up to date first
    LISTED[:] = [name]
    return [], "ListTrainingJobs", {"NameContains": name, "MaxResults": 100}


def done_list(fs, names, before):
    """Failed or not, the next list shows the state at the simulated now."""
    listed = observe(fs, LISTED[0])["listed"]
    assert [s["SecondaryStatus"] for s in listed] == ["Downloading"], listed


def prep_stop(fs):
    name = fresh("fs")
    create(fs, name)
    return [name], "StopTrainingJob", {"TrainingJobName": name}


def done_stop(fs, names, before):
    d = fs.ok("DescribeTrainingJob", {"TrainingJobName": names[0]})
    assert d["TrainingJobStatus"] == "Stopping", d["TrainingJobStatus"]


def prep_update(fs):
    name = fresh("fu")
    create(fs, name)
    return [name], "UpdateTrainingJob", {
        "TrainingJobName": name,
        "ProfilerConfig": {"S3OutputPath": "s3://b/prof/", "ProfilingIntervalInMilliseconds": 1000}}


def done_update(fs, names, before):
    d = fs.ok("DescribeTrainingJob", {"TrainingJobName": names[0]})
    assert d["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 1000, d.get("ProfilerConfig")


def prep_delete(fs):
    name = fresh("fx")
    create(fs, name, Tags=[{"Key": "a", "Value": "1"}])
    fs.advance(30)
    return [name], "DeleteTrainingJob", {"TrainingJobName": name}


def done_delete(fs, names, before):
    after = observe(fs, names[0])
    assert after["describe"][0] == 400 and after["listed"] == []
    assert after["tags"][1]["message"] == "Resource does not exist"


def prep_add_tags(fs):
    name = fresh("fa")
    create(fs, name, Tags=[{"Key": "a", "Value": "1"}])
    return [name], "AddTags", {"ResourceArn": arn_for(name), "Tags": [
        {"Key": "a", "Value": "changed"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}]}


def done_add_tags(fs, names, before):
    assert observe(fs, names[0])["tags"][1]["Tags"] == [
        {"Key": "a", "Value": "changed"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}]


def prep_list_tags(fs):
    name = fresh("ft")
    create(fs, name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    return [name], "ListTags", {"ResourceArn": arn_for(name)}


def prep_delete_tags(fs):
    name = fresh("fg")
    create(fs, name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                           {"Key": "c", "Value": "3"}])
    return [name], "DeleteTags", {"ResourceArn": arn_for(name), "TagKeys": ["a", "c"]}


def done_delete_tags(fs, names, before):
    assert observe(fs, names[0])["tags"][1]["Tags"] == [{"Key": "b", "Value": "2"}]


def unchanged(fs, names, before):
    assert [observe(fs, n) for n in names] == before


CASES = {
    "CreateTrainingJob": (prep_create, done_create),
    "CreateTrainingJob reusing a warm pool": (prep_create_reusing_pool, done_create_reusing_pool),
    "DescribeTrainingJob": (prep_describe, unchanged),
    "ListTrainingJobs bringing due jobs up to date": (prep_list, done_list, done_list),
    "StopTrainingJob": (prep_stop, done_stop),
    "UpdateTrainingJob": (prep_update, done_update),
    "DeleteTrainingJob": (prep_delete, done_delete),
    "AddTags": (prep_add_tags, done_add_tags),
    "ListTags": (prep_list_tags, unchanged),
    "DeleteTags": (prep_delete_tags, done_delete_tags),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_failing_statement_is_an_internal_failure_with_nothing_half_written(faulty, case):
    prepare, check_done, check_failed = (CASES[case] + (unchanged,))[:3]
    for n in range(1, MAX_STATEMENTS + 1):
        for mode in ("prepare", "step"):
            names, op, body = prepare(faulty)
            before = [observe(faulty, name) for name in names]
            faulty.fired()
            faulty.arm(n, mode)
            r = raw_call(faulty.url, op, body, check=False, timeout=15)
            faulty.arm(0)
            fired = faulty.fired()
            if not fired:
                assert r.status == 200, f"{case}: no fault fired, yet {r}"
                CHECKER.check_response(op, r.status, r.headers, r.body)
                check_done(faulty, names, before)
                assert n > 1, f"{case} ran no statement"
                print(f"{case}: {n - 1} statements, each failed at prepare and at step")
                break
            (_, sql, _), = fired
            where = f"{case}: statement {n} ({sql[:60]}) failing at {mode}"
            assert_internal_failure(op, r, where)
            try:
                check_failed(faulty, names, before)
            except AssertionError as e:
                raise AssertionError(f"{where}: half-written: {e}") from None
            assert_still_serving(faulty)
        else:
            continue
        break
    else:
        pytest.fail(f"{case}: still failing after {MAX_STATEMENTS} statements")


# ------------------------------------------------------------------------------ start-up
def start_with_fault_at(binary, workdir, db, n, mode, monkeypatch):
    """(server or None, fault lines of start-up, exit status when it did not start, stderr)."""
    monkeypatch.setenv("SAGEMOCK_STORE_FAIL_AT", str(n))
    monkeypatch.setenv("SAGEMOCK_STORE_FAIL_MODE", mode)
    monkeypatch.setenv("SAGEMOCK_BIN", binary)
    monkeypatch.delenv("SAGEMOCK_STORE_FAULT_FILE", raising=False)
    srv = Server(workdir, db=db, args=["--clock-rate", "0"], name=f"start-{n}-{mode}")
    try:
        srv.start()
    except ServerStartError as e:
        rc = srv.proc.returncode if srv.proc is not None else None
        return None, FIRED_RE.findall(srv.stderr_text()), rc, f"{e}"
    finally:
        for var in ("SAGEMOCK_STORE_FAIL_AT", "SAGEMOCK_STORE_FAIL_MODE"):
            monkeypatch.delenv(var)
    # the health check touches no store: every fault line so far is start-up's
    return srv, FIRED_RE.findall(srv.stderr_text()), None, ""


def seed_database(binary, workdir, db, monkeypatch, jobs=1):
    monkeypatch.setenv("SAGEMOCK_BIN", binary)
    monkeypatch.delenv("SAGEMOCK_STORE_FAULT_FILE", raising=False)
    seed = Server(workdir, db=db, args=["--clock-rate", "0"])
    seed.start()
    for i in range(jobs):
        assert raw_call(seed.url, "CreateTrainingJob", job_request(f"startup-{i}")).status == 200
    token = raw_call(seed.url, "ListTrainingJobs", {"MaxResults": 1}).json.get("NextToken")
    assert seed.stop() == 0
    return token


def test_a_failing_statement_at_start_up_stops_it_cleanly_or_is_survived(fault_bin, tmp_path,
                                                                         monkeypatch):
    """On an existing database, the Nth start-up statement fails: the process either refuses to
    start (status 1 or 2, its reason on stderr; no crash, no leak) or starts and serves."""
    db = str(tmp_path / "existing.db")
    seed_database(fault_bin, tmp_path / "seed", db, monkeypatch)
    refused = started = 0
    for n in range(1, MAX_STATEMENTS + 1):
        fired_any = False
        for mode in ("prepare", "step"):
            srv, fired, rc, text = start_with_fault_at(fault_bin, tmp_path / f"s{n}{mode}", db,
                                                       n, mode, monkeypatch)
            fired_any |= bool(fired)
            if srv is None:
                assert fired, f"start-up failed without an injected fault:\n{text}"
                assert rc in (1, 2), f"fault {n} at {mode}: exit status {rc}\n{text}"
                assert "Sanitizer" not in text, text
                refused += 1
                continue
            r = raw_call(srv.url, "DescribeTrainingJob", {"TrainingJobName": "startup-0"},
                         check=False)  # without a start-up fault, the fault hits this call
            if fired:
                assert r.status == 200, (n, mode, r)
                started += 1
            rc = srv.stop()
            assert rc == 0, f"exit {rc} after start-up fault {n} at {mode}:\n{srv.stderr_text()}"
        if not fired_any:
            break  # start-up runs fewer than n statements
    else:
        pytest.fail(f"start-up still failing after {MAX_STATEMENTS} statements")
    assert refused and started
    db_conn = sqlite3.connect(db)
    try:
        assert db_conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db_conn.close()


# ------------------------------------------------------------------------------ known bugs
def test_a_failing_rollback_does_not_wedge_the_store(faulty):
    """StopTrainingJob of a job that does not exist: BEGIN, the lookup, then ROLLBACK (3rd)."""
    faulty.arm(3, "prepare")
    r = raw_call(faulty.url, "StopTrainingJob", {"TrainingJobName": "no-such-job"})
    faulty.arm(0)
    (_, sql, _), = faulty.fired()
    assert sql == "ROLLBACK"
    assert r.status == 400 and r.error_code == "ValidationException", r
    try:
        assert_still_serving(faulty)
    finally:
        CHECKER.take()  # the 500s of the wedged store are the point, not conformance noise


def test_a_failing_secret_read_at_start_up_keeps_the_token_secret(fault_bin, tmp_path,
                                                                  monkeypatch):
    """Either the process refuses to start, or NextTokens from before still work."""
    db = str(tmp_path / "secret.db")
    token = seed_database(fault_bin, tmp_path / "first", db, monkeypatch, jobs=3)
    # Start-up statements: clock get (1), clock put (2), secret get (3).
    srv, fired, rc, text = start_with_fault_at(fault_bin, tmp_path / "second", db, 3, "step",
                                               monkeypatch)
    if srv is None:  # refusing to start is fine: the stored secret is intact
        assert fired and fired[0][1].startswith("SELECT value FROM meta") and rc == 1, text
        return
    try:
        assert fired and fired[0][1].startswith("SELECT value FROM meta"), fired
        r = raw_call(srv.url, "ListTrainingJobs", {"MaxResults": 1, "NextToken": token})
        assert r.status == 200, r
    finally:
        assert srv.stop() == 0
