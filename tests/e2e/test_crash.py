"""Crash safety and concurrency.

* Kill test: 32 writer threads (CreateTrainingJob with two tags, StopTrainingJob, AddTags of
  two tags) against a file database; the server gets SIGKILL in the middle of the load and is
  started again on the same file. Every write that had been answered 200 must be there
  (jobs with their tags, stopped jobs Stopping or Stopped, added tags), nothing may be
  half-written (a job without its creation tags, half of an AddTags), and the database must
  pass PRAGMA integrity_check. The rounds accumulate on one database, so later rounds also
  check the earlier ones. SAGEMOCK_CRASH_ROUNDS (default 3) and SAGEMOCK_CRASH_LOAD_S
  (seconds of load before the kill, default 1.5) make it longer.
* Soak: 64 clients mixing every operation for SAGEMOCK_SOAK_S seconds (default 10; a minute
  by hand): no 5xx, every request answered within 10 s (no deadlock), no job lost or listed
  twice, the server's memory (VmRSS) flat, and a clean exit on SIGTERM (an ASan build exits
  non-zero when LeakSanitizer finds a leak).
"""

import http.client
import json
import os
import random
import signal
import sqlite3
import threading
import time

from conftest import _start, _stop_and_check
from helpers import JSON_CT, Server, arn_for, job_request

WRITERS = 32
CLIENTS = 64
TIMEOUT_S = 10.0


class Conn:
    """One keep-alive connection of a client thread; raw awsJson calls, unsigned."""

    def __init__(self, url, timeout=TIMEOUT_S):
        host, port = url.split("//")[1].split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.c = None

    def call(self, op, body):
        """(status, parsed body). Raises OSError/HTTPException when there is no answer."""
        if self.c is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.c.request("POST", "/", body=json.dumps(body),
                           headers={"Content-Type": JSON_CT, "X-Amz-Target": f"SageMaker.{op}"})
            resp = self.c.getresponse()
            raw = resp.read()
        except BaseException:
            self.close()
            raise
        return resp.status, (json.loads(raw) if raw else None)

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def all_jobs(url, prefix):
    """{name: status} of every job whose name contains prefix (every page)."""
    c, out, token = Conn(url), {}, None
    while True:
        body = {"NameContains": prefix, "MaxResults": 100}
        if token:
            body["NextToken"] = token
        status, page = c.call("ListTrainingJobs", body)
        assert status == 200, page
        for s in page["TrainingJobSummaries"]:
            assert s["TrainingJobName"] not in out, f"listed twice: {s['TrainingJobName']}"
            out[s["TrainingJobName"]] = s["TrainingJobStatus"]
        token = page.get("NextToken")
        if not token:
            c.close()
            return out


def tags_of(conns, names, url):
    """{name: {key: value}} through ListTags, on a few parallel connections."""
    names = list(names)
    out, lock, errors = {}, threading.Lock(), []

    def work(chunk):
        c = Conn(url)
        try:
            for n in chunk:
                status, body = c.call("ListTags", {"ResourceArn": arn_for(n)})
                got = {t["Key"]: t["Value"] for t in body["Tags"]} if status == 200 else None
                with lock:
                    out[n] = got
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=work, args=(names[i::conns],)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    return out


def integrity(db):
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


# ------------------------------------------------------------------------------ kill test
class Ledger:
    """What the server acknowledged with 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = {}  # name -> creation tags
        self.stopped = set()
        self.added = {}  # name -> {key: value} of acknowledged AddTags
        self.writes = 0
        self.problems = []

    def ack(self, kind, name, tags=None):
        with self.lock:
            self.writes += 1
            if kind == "create":
                self.created[name] = dict(tags)
            elif kind == "stop":
                self.stopped.add(name)
            else:
                self.added.setdefault(name, {}).update(tags)


def writer(url, round_no, w, ledger, stop_event):
    c, mine, rnd = Conn(url, timeout=5), [], random.Random(round_no * 1000 + w)
    i = 0
    while not stop_event.is_set():
        try:
            r = rnd.random()
            if not mine or r < 0.5:
                name = f"kill-r{round_no}-w{w}-{i}"
                tags = {"writer": str(w), "seq": str(i)}
                i += 1
                req = job_request(name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
                status, _ = c.call("CreateTrainingJob", req)
                if status == 200:
                    ledger.ack("create", name, tags)
                    mine.append(name)
            elif r < 0.7:
                name = rnd.choice(mine)
                status, body = c.call("StopTrainingJob", {"TrainingJobName": name})
                if status == 200:
                    ledger.ack("stop", name)
            else:
                name = rnd.choice(mine)
                k = rnd.randrange(1000)
                tags = {f"x{k}a": str(k), f"x{k}b": str(k)}
                status, _ = c.call("AddTags", {"ResourceArn": arn_for(name), "Tags": [
                    {"Key": key, "Value": v} for key, v in tags.items()]})
                if status == 200:
                    ledger.ack("add", name, tags)
            if status not in (200, 400):
                with ledger.lock:
                    ledger.problems.append(f"{status} for {name}")
        except (OSError, http.client.HTTPException):
            if stop_event.is_set():
                break
            time.sleep(0.01)  # killed: keep trying until told to stop
    c.close()


def verify(url, ledger):
    jobs = all_jobs(url, "kill-")
    missing = sorted(set(ledger.created) - set(jobs))
    assert not missing, f"{len(missing)} acknowledged jobs lost, e.g. {missing[:5]}"
    tags = tags_of(4, jobs, url)
    for name, status in jobs.items():
        t = tags[name]
        assert t is not None, f"{name} is listed but ListTags does not find it"
        w, seq = name.split("-w")[1].split("-")
        assert t.get("writer") == w and t.get("seq") == seq, \
            f"{name}: creation tags half-written: {t}"
        pairs = {k[:-1] for k in t if k.startswith("x")}
        for p in pairs:
            assert f"{p}a" in t and f"{p}b" in t, f"{name}: half an AddTags: {t}"
    for name in ledger.stopped:
        assert jobs[name] in ("Stopping", "Stopped"), f"{name} was stopped, now {jobs[name]}"
    for name, added in ledger.added.items():
        for k, v in added.items():
            assert tags[name].get(k) == v, f"{name}: acknowledged tag {k} lost: {tags[name]}"
    return len(jobs)


def test_sigkill_under_load_loses_no_acknowledged_write(tmp_path):
    rounds = int(os.environ.get("SAGEMOCK_CRASH_ROUNDS", "3"))
    load_s = float(os.environ.get("SAGEMOCK_CRASH_LOAD_S", "1.5"))
    db = str(tmp_path / "crash.db")
    ledger = Ledger()
    srv = None
    try:
        for round_no in range(rounds):
            srv = Server(tmp_path / f"round{round_no}", db=db)
            srv.start()
            if round_no:
                verify(srv.url, ledger)  # what the last kill left, read by a new process
            stop_event = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv.url, round_no, w, ledger,
                                                             stop_event), daemon=True)
                       for w in range(WRITERS)]
            for t in threads:
                t.start()
            time.sleep(load_s)
            before_kill = ledger.writes
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait(timeout=10)
            srv.proc = None
            stop_event.set()
            for t in threads:
                t.join(timeout=10)
            assert before_kill > 0, "no write was acknowledged before the kill"
            assert not ledger.problems, ledger.problems[:10]
            integrity(db)
        srv = Server(tmp_path / "final", db=db)
        srv.start()
        n = verify(srv.url, ledger)
        print(f"kill test: {rounds} SIGKILLs, {ledger.writes} acknowledged writes checked "
              f"({len(ledger.created)} creates, {len(ledger.stopped)} stops, "
              f"{sum(len(v) for v in ledger.added.values())} added tags), {n} jobs")
        rc = srv.stop()
        assert rc == 0, srv.stderr_text()
        srv = None
        integrity(db)
    finally:
        if srv is not None and srv.proc is not None:
            srv.proc.kill()


# ------------------------------------------------------------------------------ soak
def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


ALLOWED_4XX = {"ValidationException", "ResourceInUse", "ResourceNotFound",
               "ResourceLimitExceeded"}


class Soak:
    def __init__(self, url):
        self.url = url
        self.lock = threading.Lock()
        self.live = set()  # acknowledged creates minus acknowledged deletes
        self.deleted = set()
        self.calls = 0
        self.by_op = {}
        self.problems = []

    def note(self, op, status, body, seconds):
        with self.lock:
            self.calls += 1
            self.by_op[op] = self.by_op.get(op, 0) + 1
            code = body.get("__type") if isinstance(body, dict) else None
            if status >= 500 or (status >= 400 and code not in ALLOWED_4XX):
                self.problems.append(f"{op}: {status} {body}")
            if seconds > TIMEOUT_S / 2:
                self.problems.append(f"{op}: took {seconds:.1f} s")


def client(soak, k, deadline):
    c, rnd, mine, i = Conn(soak.url), random.Random(k), [], 0
    ops = ["create", "describe", "list", "stop", "update", "delete", "add", "listtags", "deltags"]
    while time.monotonic() < deadline:
        op = rnd.choice(ops) if mine else "create"
        name = rnd.choice(mine) if mine else None
        if op == "create":
            name = f"soak-c{k}-{i}"
            i += 1
            keep = {"KeepAlivePeriodInSeconds": 60} if i % 4 == 0 else {}
            call = ("CreateTrainingJob", job_request(
                name, Tags=[{"Key": "client", "Value": str(k)}],
                ResourceConfig=dict({"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                     "VolumeSizeInGB": 30}, **keep)))
        elif op == "describe":
            call = ("DescribeTrainingJob", {"TrainingJobName": name})
        elif op == "list":
            call = ("ListTrainingJobs", rnd.choice([
                {}, {"MaxResults": 100, "SortBy": "Name"}, {"StatusEquals": "InProgress"},
                {"NameContains": f"soak-c{k}-", "SortBy": "Status", "SortOrder": "Ascending"}]))
        elif op == "stop":
            call = ("StopTrainingJob", {"TrainingJobName": name})
        elif op == "update":
            call = ("UpdateTrainingJob", rnd.choice([
                {"TrainingJobName": name, "ProfilerConfig": {"ProfilingIntervalInMilliseconds": 500}},
                {"TrainingJobName": name, "ResourceConfig": {"KeepAlivePeriodInSeconds": 0}}]))
        elif op == "delete":
            call = ("DeleteTrainingJob", {"TrainingJobName": name})
        elif op == "add":
            call = ("AddTags", {"ResourceArn": arn_for(name),
                                "Tags": [{"Key": f"t{rnd.randrange(5)}", "Value": "v"}]})
        elif op == "listtags":
            call = ("ListTags", {"ResourceArn": arn_for(name)})
        else:
            call = ("DeleteTags", {"ResourceArn": arn_for(name), "TagKeys": ["t1", "t2"]})
        t0 = time.monotonic()
        try:
            status, body = c.call(*call)
        except (OSError, http.client.HTTPException) as e:
            with soak.lock:
                soak.problems.append(f"{call[0]}: no answer within {TIMEOUT_S} s ({e!r})")
            continue
        soak.note(call[0], status, body, time.monotonic() - t0)
        if status == 200 and op == "create":
            mine.append(name)
            with soak.lock:
                soak.live.add(name)
        elif status == 200 and op == "delete":
            mine.remove(name)
            with soak.lock:
                soak.live.discard(name)
                soak.deleted.add(name)
    c.close()


def test_64_clients_mixing_every_operation(tmp_path, monkeypatch):
    seconds = float(os.environ.get("SAGEMOCK_SOAK_S", "10"))
    # An ASan build keeps freed memory in quarantine (256 MB by default): cap it so that VmRSS
    # measures the server, not the quarantine filling up.
    monkeypatch.setenv("ASAN_OPTIONS", ":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS", "detect_leaks=1"), "quarantine_size_mb=16"])))
    srv = _start(tmp_path / "soak", args=("--clock-rate", "20"))
    try:
        soak = Soak(srv.url)
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=client, args=(soak, k, deadline), daemon=True)
                   for k in range(CLIENTS)]
        for t in threads:
            t.start()
        samples = []
        while any(t.is_alive() for t in threads):
            samples.append(rss_kb(srv.proc.pid))
            time.sleep(0.25)
        for t in threads:
            t.join(timeout=TIMEOUT_S * 2)
        assert not soak.problems, f"{len(soak.problems)} problems: {soak.problems[:10]}"
        assert set(soak.by_op) == {"CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs",
                                   "StopTrainingJob", "UpdateTrainingJob", "DeleteTrainingJob",
                                   "AddTags", "ListTags", "DeleteTags"}, soak.by_op
        jobs = all_jobs(srv.url, "soak-")  # fails on a job listed twice
        lost = soak.live - set(jobs)
        assert not lost, f"{len(lost)} jobs lost, e.g. {sorted(lost)[:5]}"
        back = soak.deleted & set(jobs)
        assert not back, f"deleted jobs listed: {sorted(back)[:5]}"
        unknown = set(jobs) - soak.live
        assert not unknown, f"jobs nobody created (or deleted ones): {sorted(unknown)[:5]}"
        # Memory: after the first quarter (caches and pools warm), VmRSS grows by at most
        # 48 MiB (the jobs themselves are a few MiB of SQLite pages).
        warm = samples[len(samples) // 4:]
        growth_mb = (max(warm) - warm[0]) / 1024
        print(f"soak: {soak.calls} calls in {seconds:.0f} s by {CLIENTS} clients, "
              f"{len(jobs)} jobs; VmRSS {warm[0] // 1024} -> {max(warm) // 1024} MiB")
        assert growth_mb < 48, f"VmRSS grew {growth_mb:.0f} MiB: {samples[::4]}"
    finally:
        _stop_and_check(srv)  # SIGTERM; exit 0 (an ASan build fails here on a leak)
