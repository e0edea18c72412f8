#!/usr/bin/python3
"""The sagemock benchmark (issue 14): sagemock against this stack's ceiling, and against moto,
with wrk.

Run it through tests/bench/run.sh; tests/bench/README.md says what it does and how to read it.

  run.sh            the full run (~13 minutes plus the build): stores of 1k, 10k and 100k
                    jobs, Describe of finished and of in-progress jobs, List, the new
                    services' hot reads (a 1,000-line GetLogEvents, GetMetricStatistics, a
                    tuning job of 100 children), moto beside them, in three interleaved rounds
                    of 5 s per case; Create 10 s per case; seeding, warm-pool seeding, reset,
                    start-up, memory, the clock jump; writes the table and the targets of
                    issue 14 to docs/BENCHMARKS.md
  run.sh --short    the CI run (under a minute plus the build): the same cases on small stores,
                    1 s each, no thresholds; exits 0 when the harness and the server work,
                    non-zero when either is broken

Only the standard library; wrk (Debian package `wrk`), cmake and a C compiler are needed;
moto's `moto_server`, where it is on PATH.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED_PREFIX = "seed-"
# Seed jobs are seed-0000000 .. seed-<N-1>, as describe.lua expects.
CHUNK = 10000  # seed jobs per fixture document, when not timing one whole document

# The targets of issue 14.
T_DESCRIBE64 = 0.50  # Describe @64 connections, of the ceiling, finished and in-progress jobs
T_DESCRIBE1 = 0.60  # Describe @1
T_LIST64 = 0.20  # List (100 per page, filtered) @64
T_CREATE_RPS = 5000  # Create @64, every acknowledged job durable
T_SERVICES = 0.25  # GetLogEvents, GetMetricStatistics, DescribeHyperParameterTuningJob @64
T_ADVANCE_S = 1.0  # the List after the clock passed 100k running jobs
T_SEED_S = 3.0  # 100k jobs from one fixture document
T_LINEAR = 2.0  # warm-pool seeding: per-job time of the larger case within 2x of the smaller
T_RESET_S = 3.0  # POST /_sagemock/reset with 100k start-up seeds
T_STARTUP_MS = 50.0
T_RSS_MB = 32.0
T_JOBS = 100000  # the store size the targets name

_children = []  # every process this harness started, stopped on exit


class Broken(Exception):
    """The harness or the server does not work (as opposed to a missed target)."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- processes --------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv, logpath):
    out = open(logpath, "ab")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()
    _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=60):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in _children:
        _children.remove(p)
    return p.returncode


def stop_all():
    for p in list(_children):
        stop(p, signal.SIGKILL, 10)


def health_ok(port):
    """One GET /_sagemock/health over a fresh socket; True on a 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /_sagemock/health HTTP/1.0\r\nHost: bench\r\n\r\n")
            return s.recv(64)[9:12] == b"200"
    except OSError:
        return False


def wait_healthy(p, port, t0, limit_s=30.0):
    """Polls the health check; the seconds from t0 (before the process started) to the first
    200."""
    while time.perf_counter() - t0 < limit_s:
        if health_ok(port):
            return time.perf_counter() - t0
        if p.poll() is not None:
            raise Broken(f"the server exited with {p.returncode} before answering its health check")
        time.sleep(0.0005)
    raise Broken(f"the server did not answer its health check within {limit_s:.0f} s")


# The headers of an AWS SDK's awsJson request (as common.lua sends them): a SigV4
# Authorization header whose signature nobody checks; its scope names region and service.
def aws_headers(target, content_type="application/x-amz-json-1.1", service="sagemaker"):
    return {"Content-Type": content_type, "X-Amz-Target": target, "X-Amz-Date": "20240101T000000Z",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/us-east-1/"
                             f"{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                             f"x-amz-target, Signature={'0' * 64}"}


class Http:
    """A kept-alive HTTP client of one server on 127.0.0.1."""

    port = None
    conn = None
    last_bytes = 0  # the size of the last response body

    def alive(self):
        return True

    def call(self, method, path, body=None, headers=None, timeout=600):
        """One request on a kept-alive connection: (status, parsed JSON or text, seconds)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=data, headers=headers or {})
                resp = self.conn.getresponse()
                raw = resp.read()
                dt = time.perf_counter() - t0
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed (idle timeout): once more, anew.
                self.conn.close()
                self.conn = None
                if attempt or not self.alive():
                    raise
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                raise
        self.last_bytes = len(raw)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return resp.status, parsed, dt

    def api(self, operation, body):
        return self.rpc("SageMaker." + operation, body)

    def rpc(self, target, body, content_type="application/x-amz-json-1.1", service="sagemaker"):
        return self.call("POST", "/", body, aws_headers(target, content_type, service))

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


class Server(Http):
    """A sagemock process on a file database."""

    def __init__(self, bench, db, tag, extra=(), health_limit=30.0):
        self.port = free_port()
        self.logpath = os.path.join(bench.work, f"server-{tag}.log")
        argv = [bench.bin, "--port", str(self.port), "--db", db, *extra]
        t0 = time.perf_counter()
        self.p = spawn(argv, self.logpath)
        self.startup_s = wait_healthy(self.p, self.port, t0, health_limit)

    def alive(self):
        return self.p.poll() is None

    def memory(self):
        fields = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    fields[k] = int(v.split()[0]) / 1024.0  # kB -> MB
        return fields

    def now(self):
        st, c, _ = self.call("GET", "/_sagemock/clock")
        if st != 200:
            raise Broken(f"GET /_sagemock/clock answered {st}: {c}")
        return c["now"]

    def admin_post(self, path, body, timeout=600):
        st, out, dt = self.call("POST", path, body, {"Content-Type": "application/json"},
                                timeout=timeout)
        if st != 200:
            raise Broken(f"POST {path} answered {st}: {str(out)[:500]}")
        return out, dt

    def stop(self, sig=signal.SIGTERM):
        self.close()
        rc = stop(self.p, sig)
        if sig == signal.SIGTERM and rc != 0:
            raise Broken(f"the server exited with {rc} on SIGTERM (log: {self.logpath})")
        return rc


class Moto(Http):
    """moto's server (`moto_server -p PORT`), in memory, for the side-by-side rows. Started
    early (it takes seconds to import), waited for by ready()."""

    def __init__(self, bench, exe):
        self.port = free_port()
        self.logpath = os.path.join(bench.work, "moto.log")
        self.p = spawn([exe, "-p", str(self.port)], self.logpath)
        self.t0 = time.perf_counter()
        self.version = "?"

    def ready(self):
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.p.poll() is not None or time.perf_counter() - self.t0 > 60:
                    raise Broken(f"moto_server did not start (log: {self.logpath})")
                time.sleep(0.05)
        try:  # the interpreter running moto_server knows its version
            py = os.readlink(f"/proc/{self.p.pid}/exe")
            self.version = subprocess.run([py, "-c", "import moto; print(moto.__version__)"],
                                          capture_output=True, text=True,
                                          timeout=60).stdout.strip() or "?"
        except (OSError, subprocess.SubprocessError):
            pass

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        self.close()
        stop(self.p, signal.SIGTERM, 10)


# ---- fixtures ---------------------------------------------------------------------------


def request_template():
    with open(os.path.join(HERE, "request.json")) as f:
        return f.read().strip()


def seed_name(i):
    return f"{SEED_PREFIX}{i:07d}"


# One scenario of our own: a stop that takes ten days, so that Stopping jobs stay Stopping.
SLOW_STOP = {"name": "bench-slow-stop", "extends": "long-running", "stopDelaySeconds": 864000,
             "description": "benchmark: long-running, whose stop takes ten days"}


def mixed_seed(i, n, template):
    """Seed job i of n, in every status: 40% Completed, 15% Failed, 15% Stopped (a third of them
    MaxRuntimeExceeded), 20% InProgress (Training), 5% Stopping, 5% InProgress and moving
    (Starting, due for a change within seconds). Creation times are spread over hours."""
    req = json.loads(template.replace("@NAME@", seed_name(i)))
    age = float(n - i)  # newer names are newer jobs
    k = i % 20
    if k < 8:
        return {"request": req, "scenario": "success", "createdSecondsAgo": 3600 + age}
    if k < 10:
        return {"request": req, "scenario": "algorithm-error", "createdSecondsAgo": 3600 + age}
    if k < 11:
        return {"request": req, "scenario": "capacity-error", "createdSecondsAgo": 3600 + age}
    if k < 13:
        return {"request": req, "scenario": "success", "createdSecondsAgo": 3600 + age,
                "stoppedAfterSeconds": 5}
    if k < 14:
        req["StoppingCondition"]["MaxRuntimeInSeconds"] = 600
        return {"request": req, "scenario": "max-runtime", "createdSecondsAgo": 3600 + age}
    if k < 18:
        return {"request": req, "scenario": "long-running", "createdSecondsAgo": 60 + i % 3600}
    if k < 19:
        return {"request": req, "scenario": "bench-slow-stop", "createdSecondsAgo": 120 + i % 3600,
                "stoppedAfterSeconds": 60}
    return {"request": req, "scenario": "long-running", "createdSecondsAgo": 0}


# Which seeds are which, by i % MIX (mixed_seed above): describe.lua takes MIX and the
# residues of a kind; bench.py checks a sample of each kind's statuses before timing.
MIX = 20
KINDS = {
    "finished": (tuple(range(14)), {"Completed", "Failed", "Stopped"}),
    "in progress": ((14, 15, 16, 17, 19), {"InProgress"}),  # 18 (Stopping) is neither
}


def kind_indexes(kind, n, count, rng):
    """count random seed indexes of the kind in a store of n."""
    residues = KINDS[kind][0]
    out = []
    while len(out) < count:
        i = rng.randrange(0, (n - 1) // MIX + 1) * MIX + rng.choice(residues)
        if i < n:
            out.append(i)
    return out


def running_seed(i, n, template):
    """Seed job i of n for the clock test: long-running (12 h of Training), InProgress."""
    req = json.loads(template.replace("@NAME@", seed_name(i)))
    return {"request": req, "scenario": "long-running", "createdSecondsAgo": float(i % 3600)}


def fixture_document(first, end, n, make, template):
    """The fixture document of seed jobs first..end-1 (of n)."""
    doc = {"description": f"sagemock benchmark: seed jobs {first} to {end - 1} of {n}",
           "scenarios": [SLOW_STOP],
           "jobs": [make(i, n, template) for i in range(first, end)]}
    return json.dumps(doc, separators=(",", ":")).encode()


# The services store: a job whose log stream has 1,000 lines, a job whose metric has an hour of
# points a minute apart, a tuning job of 100 children. Its jobs run a one-hour scenario.
HOUR = {"name": "bench-hour", "description": "benchmark: an hour of Training",
        "steps": [{"status": st, "durationSeconds": d, "messages": [{"atSeconds": 0, "text": st}]}
                  for st, d in (("Starting", 3), ("Downloading", 57), ("Training", 3600),
                                ("Uploading", 10))]}
LOG_JOB, LOG_EPOCHS, LOG_LINES = "bench-log", 496, 1000  # 2 lines an epoch and 8 others
METRIC_JOB, METRIC_EPOCHS = "bench-metrics", 60  # one point a minute
TUNING_JOB, TUNING_CHILDREN = "bench-hpo", 100
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TARGET_LOGS = "Logs_20140328"
TARGET_CW = "GraniteServiceVersion20100801"
JSON10, JSON11 = "application/x-amz-json-1.0", "application/x-amz-json-1.1"


def services_document(template):
    jobs = []
    for name, epochs in ((LOG_JOB, LOG_EPOCHS), (METRIC_JOB, METRIC_EPOCHS)):
        req = json.loads(template.replace("@NAME@", name))
        req["HyperParameters"]["epochs"] = str(epochs)
        jobs.append({"request": req, "scenario": HOUR["name"], "createdSecondsAgo": 7200})
    return {"description": "sagemock benchmark: the services' hot reads",
            "scenarios": [HOUR], "jobs": jobs}


def tuning_request(template):
    base = json.loads(template.replace("@NAME@", "x"))
    objective = base["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"]
    return {
        "HyperParameterTuningJobName": TUNING_JOB,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": objective},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": TUNING_CHILDREN,
                               "MaxParallelTrainingJobs": 10},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.0001",
                                               "MaxValue": "0.1",
                                               "ScalingType": "Logarithmic"}],
                "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1",
                                            "MaxValue": "8"}]}},
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "10", "batch_size": "64"},
            **{k: base[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig",
                                    "OutputDataConfig", "ResourceConfig",
                                    "StoppingCondition")}},
    }


def pool_seed(template, name, instance_type, ago=None):
    """A seed job that keeps a warm pool (an hour), created `ago` seconds ago."""
    req = json.loads(template.replace("@NAME@", name))
    req["ResourceConfig"]["InstanceType"] = instance_type
    req["ResourceConfig"]["KeepAlivePeriodInSeconds"] = 3600
    seed = {"request": req, "scenario": "success"}
    if ago is not None:
        seed["createdSecondsAgo"] = ago
    return seed


def fresh_db(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


# ---- the harness ------------------------------------------------------------------------


def parse_wrk(out):
    m = re.search(r"^BENCH_RESULT (\{.*\})$", out, re.M)
    if not m:
        raise Broken("wrk printed no BENCH_RESULT line:\n" + out[-2000:])
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
    r["p50_ms"] = r["p50_us"] / 1000.0
    r["p99_ms"] = r["p99_us"] / 1000.0
    r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


class Bench:
    def __init__(self, args):
        self.args = args
        self.short = args.short
        self.work = os.path.abspath(args.workdir or f"/tmp/sagemock-bench-{os.getpid()}")
        self.duration = args.duration or (1 if self.short else 5)
        self.rounds = args.rounds or (1 if self.short else 3)
        self.create_duration = args.duration or (1 if self.short else 10)
        self.moto_duration = args.duration or (1 if self.short else 3)
        self.moto_create_duration = args.duration or (1 if self.short else 5)
        self.warmup = 0 if self.short else 2
        self.sizes = args.sizes or ([200, 2000] if self.short else [1000, 10000, T_JOBS])
        self.advance_n = args.advance_jobs or (500 if self.short else T_JOBS)
        self.reset_n = args.reset_jobs or (max(self.sizes) if self.short else T_JOBS)
        self.warm = args.warm_pools or ([(700, 500), (3500, 2500)] if self.short else
                                        [(3500, 2500), (35000, 25000)])
        self.moto_n = args.moto_jobs or min(self.sizes[0], 1000)
        self.conns = [1, 64]
        self.raw = []  # one per wrk run
        self.rows = []  # one per case (the median of its rounds)
        self.problems = []  # what is broken (non-zero exit)
        self.bin = args.bin
        self.ceiling = args.ceiling
        self.run_id = f"b{random.randrange(16**6):06x}"
        self.seed_limit = args.seed_limit
        self.moto_note = None  # why moto is not measured
        self.moto_version = None
        self.svc = {}  # the services' checked responses
        self.mem = {}
        self.first = {}
        self.seed_runs = []
        self.adv = self.reset_res = None
        self.warm_res = []

    # -- building

    def build(self):
        os.makedirs(self.work, exist_ok=True)
        jobs = str(os.cpu_count() or 2)
        if not self.bin:
            bdir = os.path.join(self.work, "build")
            log(f"bench: building a release sagemock in {bdir}")
            run([
                "cmake", "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
                "-DSAGEMOCK_TESTS=OFF", "-DSAGEMOCK_SANITIZE=OFF"
            ])
            run(["cmake", "--build", bdir, "-j", jobs, "--target", "sagemock"])
            self.bin = os.path.join(bdir, "sagemock")
        if not self.ceiling:
            self.ceiling = os.path.join(self.work, "sagemock_ceiling")
            log("bench: building the ceiling server")
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmicrohttpd"],
                                   check=True, capture_output=True, text=True).stdout.split()
            run([
                os.environ.get("CC", "cc"), "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                os.path.join(HERE, "ceiling.c"), "-o", self.ceiling, *flags, "-lpthread"
            ])
        for b in (self.bin, self.ceiling):
            if not os.access(b, os.X_OK):
                raise Broken(f"{b} is not an executable")

    # -- wrk

    def wrk(self, port, script, conns, args=(), duration=None):
        d = duration or self.duration
        argv = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{d}s",
                "--timeout", "5s", "-s", os.path.join(HERE, script),
                f"http://127.0.0.1:{port}/"]
        if args:
            argv += ["--", *map(str, args)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=d + 60)
        if p.returncode != 0:
            raise Broken(f"wrk failed ({p.returncode}): {p.stderr.strip()[-500:]}")
        return parse_wrk(p.stdout)

    def check_case(self, name, r, server_alive):
        problems = []
        if not server_alive:
            problems.append("the server died")
        if r["requests"] == 0:
            problems.append("no request completed")
        if r["status"]:
            problems.append(f"{r['status']} non-2xx responses")
        if r["connect"]:
            problems.append(f"{r['connect']} connect errors")
        tolerance = max(5, r["requests"] // 100)
        if r["socket_errors"] - r["connect"] > tolerance:
            problems.append(f"{r['socket_errors']} socket errors (read {r['read']}, write "
                            f"{r['write']}, timeout {r['timeout']}) beyond {tolerance}")
        for p in problems:
            self.problems.append(f"{name}: {p}")
        return not problems

    def case(self, target, size, op, conns, port, script, args, alive, duration=None,
             ceil="Describe", body_bytes=None):
        """One wrk run. ceil: the ceiling this row is compared with (the one answering a body
        of this operation's size; Describe for Describe, List and Create). body_bytes: the size
        of the one response a fixed request gets (checked before timing); wrk's bytes read per
        response must then be at least that (no short or error bodies under load) and less
        than twice that plus headers."""
        name = f"{target} {size} {op} @{conns}"
        r = self.wrk(port, script, conns, args, duration)
        ok = self.check_case(name, r, alive())
        if ok and body_bytes and r["requests"]:
            per = r["bytes"] / r["requests"]
            if not body_bytes <= per < 2 * body_bytes + 2048:
                self.problems.append(f"{name}: {per:,.0f} bytes read per response, the checked "
                                     f"response has a {body_bytes:,}-byte body")
                ok = False
        row = dict(target=target, size=size, op=op, conns=conns, ok=ok, ceil=ceil, **r)
        self.raw.append(row)
        log(f"bench: {name:<56} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:7.3f} ms  "
            f"p99 {r['p99_ms']:7.3f} ms{'' if ok else '  BROKEN'}")
        return row

    def aggregate(self):
        """One row per case: the median over the rounds (req/s, p50, p99) and the spread of
        req/s ((max - min) / median); the ceilings first, then sagemock's stores (each with its
        Describe, List and Create), then moto, each in the order first measured."""
        keys = []
        for r in self.raw:
            k = (r["target"], r["size"], r["op"], r["conns"])
            if k not in keys:
                keys.append(k)
        groups = []
        for k in keys:
            if k[:2] not in groups:
                groups.append(k[:2])
        rank = {"ceiling": 0, "sagemock": 1, "moto": 2}
        keys.sort(key=lambda k: (rank.get(k[0], 3), groups.index(k[:2])))
        rows = []
        for k in keys:
            rs = [r for r in self.raw if (r["target"], r["size"], r["op"], r["conns"]) == k]
            v = [r["rps"] for r in rs]
            row = dict(rs[-1])
            row.update(rps=statistics.median(v), p50_ms=statistics.median(r["p50_ms"] for r in rs),
                       p99_ms=statistics.median(r["p99_ms"] for r in rs), runs=len(rs),
                       spread=(max(v) - min(v)) / statistics.median(v) if len(v) > 1 and
                       statistics.median(v) else 0.0,
                       ok=all(r["ok"] for r in rs))
            rows.append(row)
        self.rows = rows

    # -- the ceilings

    def describe_body_size(self, db):
        s = Server(self, db, "probe")
        try:
            sizes = []
            for i in range(0, min(self.sizes[0], 200)):
                st, body, _ = s.api("DescribeTrainingJob", {"TrainingJobName": seed_name(i)})
                if st != 200:
                    raise Broken(f"DescribeTrainingJob {seed_name(i)} answered {st}: {body}")
                sizes.append(len(json.dumps(body, separators=(",", ":"))))
        finally:
            s.stop()
        return int(statistics.median(sizes))

    def start_ceiling(self, body_size, tag):
        port = free_port()
        p = spawn([self.ceiling, "--port", str(port), "--body-size", str(body_size)],
                  os.path.join(self.work, f"ceiling-{tag}.log"))
        t0 = time.perf_counter()
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                if p.poll() is not None or time.perf_counter() - t0 > 10:
                    raise Broken("the ceiling server did not start")
                time.sleep(0.001)

    # -- stores

    def seed(self, db, n, make, clock_rate, whole=False):
        """A new database of n seed jobs, loaded by POST /_sagemock/fixtures. whole: in one
        document, timed (the POST alone; None when it did not end within --seed-limit, and the
        store is then seeded in parts); else in documents of CHUNK jobs."""
        fresh_db(db)
        dt = None
        if whole:
            dt = self.seed_docs(db, n, make, clock_rate, n, self.seed_limit)
            if dt is None:
                log(f"bench: seeding {n} jobs in one document did not end within "
                    f"{self.seed_limit} s; seeding in documents of {CHUNK}")
                fresh_db(db)
        if dt is None:
            self.seed_docs(db, n, make, clock_rate, CHUNK, None)
        return dt

    def seed_docs(self, db, n, make, clock_rate, per_doc, limit):
        template = request_template()
        s = Server(self, db, f"seed-{n}", ["--clock-rate", str(clock_rate), "--max-body",
                                           str(max(per_doc * 2000 + 65536, 6291456))])
        dt = 0.0  # the POSTs alone, not the making of the documents
        try:
            for first in range(0, n, per_doc):
                doc = fixture_document(first, min(n, first + per_doc), n, make, template)
                t0 = time.perf_counter()
                try:
                    st, summary, _ = s.call("POST", "/_sagemock/fixtures", doc,
                                            {"Content-Type": "application/json"},
                                            timeout=limit or 3600)
                except (socket.timeout, TimeoutError):
                    s.stop(signal.SIGKILL)
                    return None
                dt += time.perf_counter() - t0
                if st != 200 or summary.get("jobs") != min(n - first, per_doc):
                    raise Broken(f"seeding jobs {first}.. answered {st}: {str(summary)[:500]}")
        finally:
            if s.alive():
                s.stop()
        log(f"bench: seeded {n} jobs in {dt:.2f} s"
            f"{' (one document)' if per_doc >= n else f' (documents of {per_doc})'}")
        return dt

    def first_describes(self, s, n, db):
        """Before the rounds: Describe every job of the store once, in turn, from 4 client
        threads, as a test suite's first pass over its jobs would. A job's first Describe
        renders its body and stores its view; the rounds then measure the Describe of jobs
        described before, and this pass is reported on its own (its client is this Python
        process, so its rate is a floor). Every job must then have a stored view."""
        lock, nxt, failures = threading.Lock(), [0], []
        headers = aws_headers("SageMaker.DescribeTrainingJob")

        def worker():
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            try:
                while True:
                    with lock:
                        i = nxt[0]
                        nxt[0] += 1
                    if i >= n:
                        return
                    body = json.dumps({"TrainingJobName": seed_name(i)})
                    c.request("POST", "/", body, headers)
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        failures.append((seed_name(i), r.status))
                        return
            except OSError as e:
                failures.append(("connection", str(e)))
            finally:
                c.close()

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.perf_counter() - t0
        if failures:
            raise Broken(f"first Describe of each job on {n:,}: {failures[:3]}")
        time.sleep(0.2)  # the views writer stores its batches within milliseconds
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            views = con.execute("SELECT COUNT(*) FROM job_views").fetchone()[0]
        finally:
            con.close()
        res = {"jobs": n, "s": dt, "rps": n / dt, "views": views}
        log(f"bench: first Describe of each of {n:,} jobs: {dt:.2f} s ({n / dt:,.0f} req/s); "
            f"{views:,} views stored")
        if views < n * 0.9:  # in-progress jobs that changed since may have dropped theirs
            self.problems.append(f"after the first Describe of each of {n:,} jobs only "
                                 f"{views:,} have a stored view")
        return res

    def check_kinds(self, s, n):
        """Before timing: a sample of each kind's seeds has the kind's statuses."""
        rng = random.Random(n)
        for kind, (_, want) in KINDS.items():
            seen = {}
            for i in kind_indexes(kind, n, 40, rng):
                st, d, _ = s.api("DescribeTrainingJob", {"TrainingJobName": seed_name(i)})
                if st != 200:
                    raise Broken(f"DescribeTrainingJob {seed_name(i)} answered {st}: {d}")
                seen[d.get("TrainingJobStatus")] = seen.get(d.get("TrainingJobStatus"), 0) + 1
            if not set(seen) <= want:
                raise Broken(f"the {n:,}-job store's {kind} seeds are {seen}, not only "
                             f"{sorted(want)}: describe.lua would time the wrong jobs")

    def count_jobs(self, db, prefix=None):
        c = sqlite3.connect(db, timeout=30)
        try:
            if prefix is None:
                return c.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            return c.execute("SELECT COUNT(*) FROM jobs WHERE name LIKE ?",
                             (prefix + "-%",)).fetchone()[0]
        finally:
            c.close()

    def creates(self, n, db, s):
        """Create @1 and @64 on the store of n jobs (server s), then its memory, then kill -9
        and the durability check."""
        label = f"{n:,}"
        created = {}
        for c in self.conns:
            prefix = f"{self.run_id}-{n}-c{c}"
            created[prefix] = self.case("sagemock", label, "Create", c, s.port, "create.lua",
                                        (prefix, ), s.alive, self.create_duration)
        mem = s.memory() if s.alive() else {}
        # Durability: kill -9, then every acknowledged job must be in the database.
        s.stop(signal.SIGKILL)
        for prefix, row in created.items():
            acked = row["requests"] - row["status"]
            have = self.count_jobs(db, prefix)
            row["durable"] = have >= acked
            row["stored"] = have
            if not row["durable"]:
                self.problems.append(f"{label} Create @{row['conns']}: {acked} acknowledged, "
                                     f"{have} in the database after kill -9")
        return mem

    def exec_baseline(self, runs):
        """Milliseconds to run `sagemock --version` (exec and dynamic linking, no work)."""
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([self.bin, "--version"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            times.append((time.perf_counter() - t0) * 1000)
        return times

    def startup(self, db, runs):
        times = []
        for i in range(runs):
            s = Server(self, db, "startup")
            times.append(s.startup_s)
            s.stop()
        return times

    # -- the services store

    def services(self):
        """A server (paused clock) holding the services' cases: a job whose log stream has
        1,000 lines, a job with an hour of metric points, a tuning job of 100 children. Each
        response is checked once here; returns (server, [case spec]) where a spec has the
        operation's label, its ceiling's name, call.lua's arguments and the body size."""
        template = request_template()
        db = fresh_db(os.path.join(self.work, "services.db"))
        s = Server(self, db, "services", ["--clock-rate", "0"])
        specs = []
        try:
            summary, _ = s.admin_post("/_sagemock/fixtures", services_document(template))
            if summary.get("jobs") != 2:
                raise Broken(f"the services' fixture loaded {summary}")
            st, out, _ = s.api("CreateHyperParameterTuningJob", tuning_request(template))
            if st != 200:
                raise Broken(f"CreateHyperParameterTuningJob answered {st}: {out}")
            s.admin_post("/_sagemock/clock", {"advance": 3600})

            def spec(op, ceil, target, ctype, service, body, bytes_):
                path = os.path.join(self.work, f"body-{ceil}.json")
                with open(path, "w") as f:
                    json.dump(body, f, separators=(",", ":"))
                specs.append(dict(op=op, ceil=ceil, script="call.lua",
                                  args=(target, ctype, service, path), bytes=bytes_))

            # (a) GetLogEvents: the whole 1,000-line stream in one response.
            st, out, _ = s.rpc(f"{TARGET_LOGS}.DescribeLogStreams",
                               {"logGroupName": LOG_GROUP, "logStreamNamePrefix": LOG_JOB + "/"},
                               service="logs")
            streams = [x["logStreamName"] for x in out.get("logStreams", [])] \
                if st == 200 and isinstance(out, dict) else []
            if len(streams) != 1 or not streams[0].startswith(LOG_JOB + "/algo-1-"):
                raise Broken(f"DescribeLogStreams of {LOG_JOB} answered {st}: {str(out)[:500]}")
            body = {"logGroupName": LOG_GROUP, "logStreamName": streams[0], "startFromHead": True,
                    "limit": 10000}
            st, out, _ = s.rpc(f"{TARGET_LOGS}.GetLogEvents", body, service="logs")
            events = out.get("events", []) if st == 200 and isinstance(out, dict) else []
            if not LOG_LINES * 0.95 <= len(events) <= LOG_LINES * 1.05 or \
                    not all(e.get("message") for e in events):
                raise Broken(f"GetLogEvents of {streams[0]} answered {st} with {len(events)} "
                             f"events, not about {LOG_LINES}: {str(out)[:300]}")
            self.svc["logs"] = dict(events=len(events), bytes=s.last_bytes, stream=streams[0])
            spec(f"GetLogEvents ({len(events):,} events)", "GetLogEvents",
                 f"{TARGET_LOGS}.GetLogEvents", JSON11, "logs", body, s.last_bytes)

            # (b) GetMetricStatistics: an hour of train:loss, a minute a period (awsJson 1.0).
            st, d, _ = s.api("DescribeTrainingJob", {"TrainingJobName": METRIC_JOB})
            if st != 200 or d.get("TrainingJobStatus") != "Completed":
                raise Broken(f"DescribeTrainingJob {METRIC_JOB} answered {st}: {str(d)[:300]}")
            metric = d["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"]
            body = {"Namespace": LOG_GROUP, "MetricName": metric,
                    "Dimensions": [{"Name": "TrainingJobName", "Value": METRIC_JOB}],
                    "StartTime": int(d["CreationTime"]) // 60 * 60,
                    "EndTime": int(d["TrainingEndTime"]) // 60 * 60 + 120,
                    "Period": 60, "Statistics": ["Average", "Maximum"]}
            st, out, _ = s.rpc(f"{TARGET_CW}.GetMetricStatistics", body, JSON10, "monitoring")
            points = out.get("Datapoints", []) if st == 200 and isinstance(out, dict) else []
            if not METRIC_EPOCHS - 5 <= len(points) <= METRIC_EPOCHS + 5 or \
                    not all("Average" in p and "Maximum" in p for p in points):
                raise Broken(f"GetMetricStatistics of {metric} on {METRIC_JOB} answered {st} "
                             f"with {len(points)} datapoints, not about {METRIC_EPOCHS}: "
                             f"{str(out)[:300]}")
            self.svc["metrics"] = dict(points=len(points), bytes=s.last_bytes, metric=metric)
            spec(f"GetMetricStatistics ({len(points)} points)", "GetMetricStatistics",
                 f"{TARGET_CW}.GetMetricStatistics", JSON10, "monitoring", body, s.last_bytes)

            # (c) DescribeHyperParameterTuningJob of a finished tuning job of 100 children.
            kids, token = 0, None
            while True:
                req = {"HyperParameterTuningJobName": TUNING_JOB, "MaxResults": 100}
                if token:
                    req["NextToken"] = token
                st, page, _ = s.api("ListTrainingJobsForHyperParameterTuningJob", req)
                if st != 200:
                    raise Broken(f"ListTrainingJobsForHyperParameterTuningJob answered {st}: "
                                 f"{str(page)[:300]}")
                kids += len(page.get("TrainingJobSummaries", []))
                token = page.get("NextToken")
                if not token:
                    break
            body = {"HyperParameterTuningJobName": TUNING_JOB}
            st, d, _ = s.api("DescribeHyperParameterTuningJob", body)
            counters = d.get("TrainingJobStatusCounters", {}) if st == 200 else {}
            if kids != TUNING_CHILDREN or d.get("HyperParameterTuningJobStatus") != "Completed" \
                    or counters.get("Completed") != TUNING_CHILDREN or "BestTrainingJob" not in d:
                raise Broken(f"the tuning job has {kids} children listed; its Describe answered "
                             f"{st}: {str(d)[:300]}")
            self.svc["tuning"] = dict(children=kids, bytes=s.last_bytes)
            spec(f"DescribeHyperParameterTuningJob ({kids} children)",
                 "DescribeHyperParameterTuningJob", "SageMaker.DescribeHyperParameterTuningJob",
                 JSON11, "sagemaker", body, s.last_bytes)
            self.svc["jobs"] = self.count_jobs(db)
        except BaseException:
            s.stop(signal.SIGKILL)
            raise
        log(f"bench: services store: {self.svc}")
        return s, specs

    # -- moto

    def spawn_moto(self):
        """moto_server on a free port, starting (None, with self.moto_note saying why, when it
        is not measured)."""
        if self.args.no_moto:
            self.moto_note = "moto: not measured (--no-moto)"
            return None
        exe = self.args.moto or shutil.which("moto_server")
        if not exe:
            self.moto_note = "moto: not measured: `moto_server` is not on PATH"
            log(f"bench: {self.moto_note}")
            return None
        return Moto(self, exe)

    def seed_moto(self, m):
        """Waits for moto, then creates moto_n jobs through its API and checks them."""
        m.ready()
        self.moto_version = m.version
        template = request_template()
        t0 = time.perf_counter()
        for i in range(self.moto_n):
            st, out, _ = m.call("POST", "/", template.replace("@NAME@", seed_name(i)).encode(),
                                aws_headers("SageMaker.CreateTrainingJob"))
            if st != 200:
                raise Broken(f"moto's CreateTrainingJob {seed_name(i)} answered {st}: "
                             f"{str(out)[:300]}")
        self.moto_seed_s = time.perf_counter() - t0
        name = seed_name(self.moto_n - 1)
        st, d, _ = m.api("DescribeTrainingJob", {"TrainingJobName": name})
        st2, page, _ = m.api("ListTrainingJobs", {"MaxResults": 100})
        if st != 200 or d.get("TrainingJobName") != name or st2 != 200 or \
                len(page.get("TrainingJobSummaries", [])) != min(100, self.moto_n):
            raise Broken(f"moto's Describe answered {st}: {str(d)[:200]}; its List {st2}: "
                         f"{str(page)[:200]}")
        self.moto_status = d.get("TrainingJobStatus")
        log(f"bench: moto {m.version}: {self.moto_n} jobs created in {self.moto_seed_s:.1f} s")

    # -- one-off measures

    def advance(self, db, n):
        """Seeds n InProgress jobs with the clock paused, advances it a day, times the next
        ListTrainingJobs, then checks that every job shows its new state."""
        seed_s = self.seed(db, n, running_seed, 0)
        s = Server(self, db, "advance", ["--clock-rate", "0"])
        res = {"jobs": n, "seed_s": seed_s}
        try:
            st, jobs, _ = s.call("GET", "/_sagemock/jobs?limit=10000")
            before = {j["status"] for j in jobs.get("jobs", [])} if st == 200 else {"?"}
            if before != {"InProgress"}:
                raise Broken(f"before the advance the jobs are {sorted(before)}, not InProgress")
            st, body, _ = s.call("POST", "/_sagemock/clock", {"advance": 86400})
            if st != 200:
                raise Broken(f"POST /_sagemock/clock answered {st}: {body}")
            st, page, dt = s.api("ListTrainingJobs", {"MaxResults": 100})
            if st != 200:
                raise Broken(f"ListTrainingJobs after the advance answered {st}: {page}")
            res["list_s"] = dt
            # Every job, page by page: all Completed now.
            statuses, token, pages = {}, None, 0
            t0 = time.perf_counter()
            while True:
                for j in page["TrainingJobSummaries"]:
                    statuses[j["TrainingJobStatus"]] = statuses.get(j["TrainingJobStatus"], 0) + 1
                token = page.get("NextToken")
                pages += 1
                if not token:
                    break
                st, page, _ = s.api("ListTrainingJobs", {"MaxResults": 100, "NextToken": token})
                if st != 200:
                    raise Broken(f"ListTrainingJobs page {pages} answered {st}: {page}")
            res["verify_s"] = time.perf_counter() - t0
            res["pages"] = pages
            res["statuses"] = statuses
            st, d, _ = s.api("DescribeTrainingJob", {"TrainingJobName": seed_name(n // 2)})
            res["describe"] = (d.get("TrainingJobStatus"), d.get("SecondaryStatus")) \
                if st == 200 else (st, d)
            res["all_new"] = statuses == {"Completed": n} and res["describe"] == ("Completed",
                                                                                  "Completed")
            if not res["all_new"]:
                self.problems.append(f"after the clock advance: {statuses}, a Describe says "
                                     f"{res['describe']}")
            s.stop()
        finally:
            if s.alive():
                s.stop(signal.SIGKILL)
        log(f"bench: clock advanced past {n} running jobs: next List {res['list_s'] * 1000:.0f} ms,"
            f" states {res['statuses']}")
        return res

    def warm_pools(self, existing, new):
        """Seeds `existing` jobs that keep warm pools (Available, created over the last 50
        minutes), then times one document of `new` jobs that keep pools: all but 5 of another
        instance type, 5 that match and so take the 5 pools whose keep-alive ends first."""
        template = request_template()
        db = fresh_db(os.path.join(self.work, f"warm-{existing}.db"))
        s = Server(self, db, f"warm-{existing}",
                   ["--max-body", str(max(existing, new) * 2000 + 65536)])
        takers = 5
        try:
            doc = {"jobs": [pool_seed(template, f"wp-pool-{i:07d}", "ml.m5.large",
                                      round(100 + 3000.0 * i / existing, 3))
                            for i in range(existing)]}
            out, _ = s.admin_post("/_sagemock/fixtures", doc)
            if out.get("jobs") != existing:
                raise Broken(f"seeding {existing} pools loaded {out}")
            doc = {"jobs": [pool_seed(template, f"wp-other-{i:07d}", "ml.c5.xlarge")
                            for i in range(new - takers)] +
                           [pool_seed(template, f"wp-taker-{i}", "ml.m5.large")
                            for i in range(takers)]}
            out, dt = s.admin_post("/_sagemock/fixtures", doc)
            if out.get("jobs") != new:
                raise Broken(f"seeding {new} jobs over {existing} pools loaded {out}")
            # The takers took the oldest pools; the others kept theirs.
            for i, want in ((existing - 1, "Reused"), (existing - takers, "Reused"),
                            (0, "Available")):
                st, d, _ = s.api("DescribeTrainingJob", {"TrainingJobName": f"wp-pool-{i:07d}"})
                wp = d.get("WarmPoolStatus", {}) if st == 200 else {}
                taker = wp.get("ReusedByJob", "").startswith("wp-taker-")
                if wp.get("Status") != want or (want == "Reused" and not taker):
                    raise Broken(f"after seeding {new} jobs over {existing} pools, wp-pool-{i:07d}"
                                 f" answered {st} with WarmPoolStatus {wp}, not {want}")
            s.stop()
        finally:
            if s.alive():
                s.stop(signal.SIGKILL)
        log(f"bench: {new} jobs seeded over {existing} warm pools in {dt:.2f} s "
            f"({dt / new * 1e6:.0f} µs a job)")
        return {"existing": existing, "new": new, "s": dt, "per_job_us": dt / new * 1e6}

    def reset_test(self, n):
        """A server started on an empty database with --fixtures naming a folder of documents
        of n seeds in all (CHUNK a document: a start-up fixture file may not exceed 64 MiB,
        100,000 seeds are 88 MB): a job created through the API, then POST /_sagemock/reset,
        timed; then the n seeds are there again and the created job is gone."""
        template = request_template()
        path = os.path.join(self.work, f"reset-fixtures-{n}")
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        docs = 0
        for first in range(0, n, CHUNK):
            with open(os.path.join(path, f"{first // CHUNK:04d}.json"), "wb") as f:
                f.write(fixture_document(first, min(n, first + CHUNK), n, mixed_seed, template))
            docs += 1
        db = fresh_db(os.path.join(self.work, "reset.db"))
        s = Server(self, db, "reset", ["--fixtures", path], health_limit=max(60, self.seed_limit))
        res = {"jobs": n, "start_s": s.startup_s, "docs": docs}
        try:
            have = self.count_jobs(db)
            if have != n:
                raise Broken(f"started with {n} seeds in --fixtures, the store holds {have} jobs")
            probe = "bench-reset-probe"
            st, out, _ = s.api("CreateTrainingJob", json.loads(template.replace("@NAME@", probe)))
            if st != 200:
                raise Broken(f"CreateTrainingJob {probe} answered {st}: {out}")
            out, dt = s.admin_post("/_sagemock/reset", b"", timeout=max(600, self.seed_limit))
            res["reset_s"] = dt
            have = self.count_jobs(db)
            st, out, _ = s.api("DescribeTrainingJob", {"TrainingJobName": probe})
            st2, d, _ = s.api("DescribeTrainingJob", {"TrainingJobName": seed_name(n - 1)})
            if have != n or st != 400 or st2 != 200 or \
                    d.get("TrainingJobStatus") not in ("InProgress", "Completed", "Failed",
                                                       "Stopped", "Stopping"):
                raise Broken(f"after the reset: {have} jobs (want {n}), {probe} answered {st}, "
                             f"{seed_name(n - 1)} answered {st2}: {str(d)[:200]}")
            s.stop()
        finally:
            if s.alive():
                s.stop(signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)
        log(f"bench: start-up with {n} seeds in --fixtures {res['start_s']:.2f} s; reset "
            f"{res['reset_s']:.2f} s")
        return res

    # -- the run

    def run(self):
        t_start = time.time()
        self.build()
        self.machine = machine()
        moto = self.spawn_moto()
        if moto:  # its start imports for seconds, busy: the timed seeding must not share that
            moto.ready()
        try:
            self.measure(t_start, moto)
        finally:
            if moto:
                moto.stop()

    def measure(self, t_start, moto):
        dbs = {}
        self.seed_s = {}
        for n in self.sizes:
            dbs[n] = os.path.join(self.work, f"store-{n}.db")
            self.seed_s[n] = self.seed(dbs[n], n, mixed_seed, 1, whole=True)
        # The largest seeding twice more, into databases of their own: the median of three.
        big = max(self.sizes)
        again = [self.seed_s[big]]
        for k in range(0 if self.short else 2):
            path = os.path.join(self.work, f"seed-again-{k}.db")
            again.append(self.seed(path, big, mixed_seed, 1, whole=True))
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        if None not in again:
            self.seed_runs = again
            self.seed_s[big] = statistics.median(again)
        starts = 1 if self.short else 7
        self.startup_ms = [t * 1000 for t in self.startup(dbs[big], starts)]
        self.exec_ms = self.exec_baseline(starts)
        self.body_size = self.describe_body_size(dbs[self.sizes[0]])
        log(f"bench: a Describe body is {self.body_size} bytes; the ceiling answers as much")

        # Every server runs at once (idle ones cost nothing); the rounds interleave them, so
        # that a noisy neighbour hits the ceilings, each store, the services and moto alike.
        servers, ceilings, svc = {}, {}, None
        try:
            for n in self.sizes:
                servers[n] = Server(self, dbs[n], f"store-{n}")
                self.check_kinds(servers[n], n)
                self.first[n] = self.first_describes(servers[n], n, dbs[n])
            svc, specs = self.services()
            svc_label = f"{self.svc['jobs']:,}"

            def dargs(n, kind=None):
                if kind is None:
                    return (SEED_PREFIX, n)
                return (SEED_PREFIX, n, MIX, ",".join(map(str, KINDS[kind][0])))

            # One ceiling per body size: Describe's (for Describe, List and Create), and each
            # service operation's own, sent the same requests as the rows it stands for.
            cspecs = [dict(ceil="Describe", script="describe.lua",
                           args=dargs(self.sizes[0], "finished"), bytes=self.body_size)]
            cspecs += specs
            self.ceiling_specs = cspecs
            for c in cspecs:
                c["label"] = f"fixed {c['bytes']:,}-byte body ({c['ceil']})"
                c["proc"], c["port"] = self.start_ceiling(c["bytes"], c["ceil"])
                ceilings[c["ceil"]] = c
            if moto:
                self.seed_moto(moto)
            if self.warmup:
                for c in cspecs:
                    self.wrk(c["port"], c["script"], 64, c["args"], self.warmup)
                for n, s in servers.items():
                    self.wrk(s.port, "describe.lua", 64, dargs(n), self.warmup)
                    self.wrk(s.port, "list.lua", 64, (), self.warmup)
                for sp in specs:
                    self.wrk(svc.port, sp["script"], 64, sp["args"], self.warmup)
            for rnd in range(self.rounds):
                log(f"bench: round {rnd + 1} of {self.rounds}")
                for c in cspecs:
                    alive = (lambda p: lambda: p.poll() is None)(c["proc"])
                    for k in self.conns:
                        self.case("ceiling", "—", c["label"], k, c["port"], c["script"],
                                  c["args"], alive, ceil=c["ceil"], body_bytes=c["bytes"])
                for n, s in servers.items():
                    for kind in KINDS:
                        for k in self.conns:
                            self.case("sagemock", f"{n:,}", f"Describe ({kind})", k, s.port,
                                      "describe.lua", dargs(n, kind), s.alive)
                    for k in self.conns:
                        self.case("sagemock", f"{n:,}", "List", k, s.port, "list.lua", (),
                                  s.alive)
                for sp in specs:
                    for k in self.conns:
                        self.case("sagemock", svc_label, sp["op"], k, svc.port, sp["script"],
                                  sp["args"], svc.alive, ceil=sp["ceil"], body_bytes=sp["bytes"])
                if moto:
                    for k in self.conns:
                        self.case("moto", f"{self.moto_n:,}", "Describe (finished)", k,
                                  moto.port, "describe.lua", dargs(self.moto_n), moto.alive,
                                  self.moto_duration)
                    for k in self.conns:
                        self.case("moto", f"{self.moto_n:,}", "List", k, moto.port, "list.lua",
                                  (), moto.alive, self.moto_duration)
            if moto:
                for k in self.conns:
                    self.case("moto", f"{self.moto_n:,}", "Create", k, moto.port, "create.lua",
                              (f"{self.run_id}-moto-c{k}", ), moto.alive,
                              self.moto_create_duration)
                moto.stop()
            for c in cspecs:
                stop(c["proc"])
            svc.stop()
            for n, s in servers.items():
                self.mem[n] = self.creates(n, dbs[n], s)
        finally:
            for c in ceilings.values():
                stop(c["proc"])
            for s in [*servers.values(), svc]:
                if s and s.alive():
                    s.stop(signal.SIGKILL)
        self.aggregate()
        self.adv = self.advance(os.path.join(self.work, "advance.db"), self.advance_n)
        self.warm_res = [self.warm_pools(m, k) for m, k in self.warm]
        self.reset_res = self.reset_test(self.reset_n)
        self.elapsed = time.time() - t_start

    # -- the report

    def rps(self, target, size, op, conns):
        for r in self.rows:
            if (r["target"], r["size"], r["op"], r["conns"]) == (target, size, op, conns):
                return r
        return None

    def ceiling_rps(self, conns, ceil="Describe"):
        v = [r["rps"] for r in self.rows
             if r["target"] == "ceiling" and r["conns"] == conns and r["ceil"] == ceil]
        return statistics.mean(v) if v else float("nan")

    def ratio(self, r):
        return r["rps"] / self.ceiling_rps(r["conns"], r["ceil"]) if r else float("nan")

    def table(self):
        lines = ["| Server | Jobs | Operation | Conns | Requests/s | Spread | p50 ms | p99 ms | "
                 "vs ceiling |",
                 "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            flag = "" if r["ok"] else " ⚠ broken"
            spread = f"±{r['spread'] / 2:.0%}" if r["runs"] > 1 else "—"
            lines.append(f"| {r['target']} | {r['size']} | {r['op']} | {r['conns']} | "
                         f"{r['rps']:,.0f} | {spread} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
                         f"{self.ratio(r):.1%}{flag} |")
        return "\n".join(lines)

    def moto_ratios(self):
        """[(label, sagemock ÷ moto)] on the store of the same size (else the smallest)."""
        size = f"{self.moto_n:,}" if self.moto_n in self.sizes else f"{self.sizes[0]:,}"
        out = []
        for op in ("Describe (finished)", "List", "Create"):
            for c in self.conns:
                a = self.rps("sagemock", size, op, c)
                b = self.rps("moto", f"{self.moto_n:,}", op, c)
                if a and b and b["rps"]:
                    out.append((f"{op.split(' ')[0]} @{c}", a["rps"] / b["rps"]))
        return size, out

    def moto_line(self):
        if self.moto_note:
            return self.moto_note + "."
        size, ratios = self.moto_ratios()
        return (f"sagemock ÷ moto (moto {self.moto_version}, `moto_server`, in memory, "
                f"{self.moto_n:,} jobs created through its API, all {self.moto_status}; "
                f"sagemock's {size}-job store, finished jobs): "
                + ", ".join(f"{k} {v:,.0f}×" for k, v in ratios) + ".")

    def extras(self):
        big = max(self.sizes)
        mem = self.mem.get(big, {})
        st = self.startup_ms
        adv = self.adv
        lines = [
            "| Measure | Value |",
            "|---|---|",
            f"| Start-up to the first healthy response, {big:,}-job database "
            f"({len(st)} starts) | median {statistics.median(st):.1f} ms "
            f"(min {min(st):.1f}, max {max(st):.1f}) |",
            f"| … of which starting the process: `sagemock --version` (exec, dynamic linking) | "
            f"median {statistics.median(self.exec_ms):.1f} ms (min {min(self.exec_ms):.1f}) |",
            f"| RSS after the load on the {big:,}-job store (VmRSS / VmHWM) | "
            f"{mem.get('VmRSS', float('nan')):.1f} MB / {mem.get('VmHWM', float('nan')):.1f} MB |",
        ]
        for n in self.sizes:
            v = self.seed_s[n]
            runs = self.seed_runs if n == big and len(self.seed_runs) > 1 else []
            lines.append(f"| Seeding {n:,} jobs from one fixture document (POST "
                         f"/_sagemock/fixtures, the request alone) | "
                         + (f"{v:.2f} s" if v is not None else
                            f"**did not end within {self.seed_limit} s**")
                         + (f" (median of {len(runs)}: "
                            + ", ".join(f"{x:.2f}" for x in runs) + " s)" if runs else "")
                         + " |")
        for n in self.sizes:
            f = self.first.get(n)
            if f:
                lines.append(f"| First Describe of each of the {n:,} jobs, in turn, before the "
                             f"rounds (each renders its body and stores its view; 4 Python "
                             f"client threads) | {f['s']:.2f} s: {f['rps']:,.0f} req/s; "
                             f"{f['views']:,} views stored |")
        for w in self.warm_res:
            lines.append(f"| Seeding {w['new']:,} jobs that keep warm pools (5 of them taking "
                         f"one) into a store of {w['existing']:,} Available pools | "
                         f"{w['s']:.2f} s: {w['per_job_us']:.0f} µs a job |")
        r = self.reset_res
        lines += [
            f"| Start-up with {r['jobs']:,} seeds in `--fixtures` (a folder of {r['docs']} "
            f"document{'s' if r['docs'] != 1 else ''}; empty database; the seeds load before the first healthy response) | "
            f"{r['start_s']:.2f} s |",
            f"| `POST /_sagemock/reset` with those {r['jobs']:,} start-up seeds (then all "
            f"{r['jobs']:,} there again, a job created before gone) | {r['reset_s']:.2f} s |",
            f"| Clock advanced past {adv['jobs']:,} running jobs → next ListTrainingJobs "
            f"(100 per page) | {adv['list_s'] * 1000:.0f} ms |",
            f"| … then every job shows its new state (all {adv['pages']:,} pages listed) | "
            f"{'yes' if adv['all_new'] else 'NO'}: {adv['statuses']} |",
            f"| Size of a Describe response (the Describe ceiling's body) | {self.body_size} "
            f"bytes |",
            f"| Services store ({self.svc['jobs']:,} jobs, paused clock): GetLogEvents of "
            f"`{self.svc['logs']['stream']}` (startFromHead, limit 10,000) | "
            f"{self.svc['logs']['events']:,} events, {self.svc['logs']['bytes']:,} bytes |",
            f"| … GetMetricStatistics (awsJson 1.0) of `{self.svc['metrics']['metric']}`, "
            f"dimension TrainingJobName, an hour, Period 60, Average and Maximum | "
            f"{self.svc['metrics']['points']} datapoints, {self.svc['metrics']['bytes']:,} "
            f"bytes |",
            f"| … DescribeHyperParameterTuningJob of a Completed Random tuning job | "
            f"{self.svc['tuning']['children']} children listed, "
            f"{self.svc['tuning']['bytes']:,} bytes |",
        ]
        if not self.moto_note:
            lines.append(f"| moto {self.moto_version}: {self.moto_n:,} CreateTrainingJob "
                         f"through its API, one connection | {self.moto_seed_s:.1f} s |")
        for n in self.sizes:
            for c in self.conns:
                r = self.rps("sagemock", f"{n:,}", "Create", c)
                if r and "durable" in r:
                    lines.append(f"| Create @{c} on {n:,}: acknowledged vs in the database "
                                 f"after kill -9 | {r['requests'] - r['status']:,} / "
                                 f"{r['stored']:,} ({'durable' if r['durable'] else 'LOST'}) |")
        return "\n".join(lines)

    def targets(self):
        """[(target, met: True, False or None (not measured), figure)]."""
        out = []
        sizes = [f"{n:,}" for n in self.sizes]
        big = sizes[-1]
        nan = float("nan")

        def each(op, c, fmt="{:.0%}"):
            v = [(s, self.ratio(self.rps("sagemock", s, op, c))) for s in sizes]
            return all(x >= 0 for _, x in v) and v, ", ".join(f"{s}: {fmt.format(x)}"
                                                               for s, x in v)

        for c, t in ((64, T_DESCRIBE64), (1, T_DESCRIBE1)):
            for kind in KINDS:
                v, fig = each(f"Describe ({kind})", c)
                jobs = "finished jobs" if kind == "finished" else f"jobs {kind}"
                out.append((f"Describe @{c} ≥ {t:.0%} of the ceiling, {jobs}",
                            bool(v) and min(x for _, x in v) >= t, fig))
        v, fig = each("List", 64, "{:.1%}")
        out.append((f"List (100/page, filtered) @64 ≥ {T_LIST64:.0%} of the ceiling",
                    bool(v) and min(x for _, x in v) >= T_LIST64, fig))
        cr = [(s, (self.rps("sagemock", s, "Create", 64) or {}).get("rps", nan)) for s in sizes]
        durable = all(r.get("durable", False) for r in self.rows
                      if r["op"] == "Create" and r["target"] == "sagemock")
        out.append((f"Create @64 ≥ {T_CREATE_RPS:,}/s, every acknowledged job there after "
                    f"kill -9",
                    min(v for _, v in cr) >= T_CREATE_RPS and durable,
                    ", ".join(f"{s}: {v:,.0f}/s" for s, v in cr) +
                    ("; all durable" if durable else "; NOT all durable")))
        svc = f"{self.svc['jobs']:,}"
        for r in self.rows:
            if r["target"] == "sagemock" and r["size"] == svc and r["conns"] == 64:
                r1 = self.rps("sagemock", svc, r["op"], 1)
                out.append((f"{r['op']} @64 ≥ {T_SERVICES:.0%} of the ceiling",
                            self.ratio(r) >= T_SERVICES,
                            f"@64 {self.ratio(r):.1%}, @1 {self.ratio(r1):.1%} (ceiling: the "
                            f"same {self.ceiling_bytes(r['ceil']):,}-byte body)"))
        a = self.adv
        out.append((f"Clock past {a['jobs']:,} running jobs: next List < {T_ADVANCE_S:g} s, "
                    f"every job in its new state", a["list_s"] < T_ADVANCE_S and a["all_new"],
                    f"{a['list_s'] * 1000:.0f} ms; {'all' if a['all_new'] else 'NOT all'} "
                    f"Completed"))
        v = self.seed_s[max(self.sizes)]
        out.append((f"Seeding {big} jobs from one document < {T_SEED_S:g} s",
                    v is not None and v < T_SEED_S,
                    f"{v:.2f} s" if v is not None else f"did not end in {self.seed_limit} s"))
        if len(self.warm_res) >= 2:
            w0, w1 = self.warm_res[0], self.warm_res[-1]
            grow = w1["per_job_us"] / w0["per_job_us"]
            out.append((f"Warm-pool seeding linear (per job, {w1['new']:,} into {w1['existing']:,}"
                        f" within {T_LINEAR:g}× of {w0['new']:,} into {w0['existing']:,})",
                        grow <= T_LINEAR,
                        f"{w0['per_job_us']:.0f} → {w1['per_job_us']:.0f} µs a job "
                        f"({grow:.2f}×)"))
        r = self.reset_res
        out.append((f"Reset with {r['jobs']:,} seeds < {T_RESET_S:g} s", r["reset_s"] < T_RESET_S,
                    f"{r['reset_s']:.2f} s"))
        med = statistics.median(self.startup_ms)
        out.append((f"Start-up < {T_STARTUP_MS:g} ms ({big}-job store)", med < T_STARTUP_MS,
                    f"median {med:.1f} ms"))
        rss = self.mem.get(max(self.sizes), {}).get("VmRSS", nan)
        out.append((f"RSS < {T_RSS_MB:g} MB after the load ({big}-job store)", rss < T_RSS_MB,
                    f"VmRSS {rss:.1f} MB"))
        if self.moto_note:
            out.append(("moto side by side", None, self.moto_note))
        else:
            _, ratios = self.moto_ratios()
            out.append((f"moto side by side (moto {self.moto_version})", None,
                        "sagemock ÷ moto: " + ", ".join(f"{k} {v:,.0f}×" for k, v in ratios)))
        return out

    def ceiling_bytes(self, ceil):
        return self.body_size if ceil == "Describe" else \
            next(c for c in self.ceiling_specs if c["ceil"] == ceil)["bytes"]

    def report(self):
        m = self.machine
        head = (f"Run {m['date']} on {m['cpu']}, {m['nproc']} cores, {m['mem']} RAM "
                f"({m['os']}; load average {m['load']} at the start); commit {m['commit']}; "
                f"{'sagemock built from the tree' if not self.args.bin else 'sagemock: ' + self.args.bin}"
                f"; sagemock, moto and wrk on the same cores. Describe, List and the services: "
                f"{self.rounds} interleaved round(s) of {self.duration} s per case (moto "
                f"{self.moto_duration} s), the median shown, Spread = half the range of the "
                f"rounds' req/s; Create: one run of {self.create_duration} s (moto "
                f"{self.moto_create_duration} s). vs ceiling: of the ceiling answering a body of "
                f"the same size (Describe's for Describe, List and Create); {m['versions']}.")
        parts = [head, "", self.table(), "", self.moto_line(), "", self.extras(), ""]
        if self.short:
            parts += ["Short run: small stores and sizes, 1 s per case; the targets are not "
                      "checked (the names give the sizes measured).", ""]
        parts += ["| Target (issue 14) | Met | Measured |", "|---|---|---|"]
        parts += [f"| {t} | {'yes' if ok else '—' if ok is None else '**no**'} | {fig} |"
                  for t, ok, fig in self.targets()]
        return "\n".join(parts)


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "?"
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"

    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    wrk = ver(["dpkg-query", "-W", "-f=${Version}", "wrk"])
    versions = (f"libmicrohttpd {ver(['pkg-config', '--modversion', 'libmicrohttpd'])}, "
                f"SQLite {ver(['pkg-config', '--modversion', 'sqlite3'])}, wrk {wrk}")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "nproc": os.cpu_count(), "mem": f"{kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}", "commit": commit,
        "versions": versions,
        "load": " ".join(open("/proc/loadavg").read().split()[:3]),
    }


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise Broken(f"{' '.join(argv[:3])}… failed:\n{(p.stdout + p.stderr)[-3000:]}")


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_doc(path, text):
    block = f"{BEGIN}\n{text}\n{END}"
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n## Latest run\n\n" + block + "\n"
    else:
        new = ("# Benchmarks\n\nThe full run of `tests/bench/run.sh` (see tests/bench/README.md).\n"
               "\n## Latest run\n\n" + block + "\n")
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description="sagemock benchmark (tests/bench/README.md)")
    ap.add_argument("--short", action="store_true",
                    help="the CI run: small stores, 1 s per case, no thresholds")
    ap.add_argument("--bin", help="a sagemock binary to use instead of building one")
    ap.add_argument("--ceiling", help="a ceiling server binary to use instead of building one")
    ap.add_argument("--workdir", help="where builds, databases and logs go "
                    "(default /tmp/sagemock-bench-PID, removed after a run that works)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--duration", type=int,
                    help="seconds per wrk run (default 5 for Describe, List and the services, "
                    "3 for moto's; 10 for Create, 5 for moto's; --short 1)")
    ap.add_argument("--rounds", type=int,
                    help="rounds of the Describe, List and services cases, interleaved (default "
                    "3; --short 1); the table shows the median")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    help="store sizes, comma-separated (default 1000,10000,100000)")
    ap.add_argument("--advance-jobs", type=int, help="running jobs of the clock test (100000)")
    ap.add_argument("--reset-jobs", type=int,
                    help="start-up seeds of the reset test (100000; --short the largest store)")
    ap.add_argument("--warm-pools", type=lambda s: [tuple(int(x) for x in p.split(":"))
                                                    for p in s.split(",")],
                    help="warm-pool seeding cases EXISTING:NEW,... (default "
                    "3500:2500,35000:25000; --short 700:500,3500:2500)")
    ap.add_argument("--moto", help="the moto_server to run (default: moto_server on PATH)")
    ap.add_argument("--no-moto", action="store_true", help="do not run moto beside sagemock")
    ap.add_argument("--moto-jobs", type=int,
                    help="jobs created in moto before timing it (default: the smallest store, "
                    "at most 1000)")
    ap.add_argument("--seed-limit", type=int, default=300,
                    help="seconds a one-document seed may take before the store is seeded in "
                    "parts (default 300)")
    ap.add_argument("--out", help="the Markdown file the full run writes "
                    "(default docs/BENCHMARKS.md; --short writes none unless given)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        log("bench: wrk is not installed (Debian package wrk: apt-get install wrk)")
        return 2
    out = args.out or (None if args.short else os.path.join(ROOT, "docs", "BENCHMARKS.md"))

    def on_signal(sig, frame):
        stop_all()
        sys.exit(130)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    b = Bench(args)
    try:
        b.run()
    except Broken as e:
        b.problems.append(str(e))
    except (OSError, subprocess.SubprocessError, http.client.HTTPException, ValueError,
            KeyError, TypeError, AttributeError, StopIteration) as e:
        b.problems.append(f"{type(e).__name__}: {e}")
    finally:
        stop_all()
    if b.problems:
        for p in b.problems:
            log(f"bench: BROKEN: {p}")
        log(f"bench: logs and databases kept in {b.work}")
        return 1
    text = b.report()
    print(text)
    if out:
        write_doc(out, text)
        log(f"bench: wrote {out}")
    if not args.keep and not args.workdir:
        shutil.rmtree(b.work, ignore_errors=True)
    log(f"bench: done in {b.elapsed:.0f} s; targets"
        + (" (short run: indicative only, not checked):" if b.short else ":"))
    for t, ok, fig in b.targets():
        log(f"  {'met   ' if ok else '      ' if ok is None else 'MISSED'} {t}: {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
