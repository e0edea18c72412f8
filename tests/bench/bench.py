#!/usr/bin/python3
"""The sagemock benchmark (issue 6): sagemock against this stack's ceiling, with wrk.

Run it through tests/bench/run.sh; tests/bench/README.md says what it does and how to read it.

  run.sh            the full run (~10 minutes): stores of 1k, 10k and 100k jobs, three
                    interleaved rounds of 5 s per Describe/List case, 10 s per Create case;
                    writes the table to docs/BENCHMARKS.md
  run.sh --short    the CI run (seconds): small stores, 1 s per case, no thresholds; exits 0
                    when the harness and the server work, non-zero when either is broken

Only the standard library; wrk (Debian package `wrk`), cmake and a C compiler are needed.
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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEED_PREFIX = "seed-"
CHUNK = 10000  # seed jobs per fixture document, when not timing one whole document  # seed jobs are seed-0000000 .. seed-<N-1>, as describe.lua expects

# The targets of issue 6.
T_DESCRIBE_CEILING = 0.50
T_FLAT = 0.20
T_LIST_CEILING = 0.10
T_CREATE_RPS = 5000
T_DESCRIBE_P99_MS = 1.0
T_STARTUP_MS = 50.0
T_RSS_MB = 32.0
T_ADVANCE_S = 2.0

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


class Server:
    """A sagemock process on a file database."""

    def __init__(self, bench, db, tag, extra=()):
        self.port = free_port()
        self.logpath = os.path.join(bench.work, f"server-{tag}.log")
        argv = [bench.bin, "--port", str(self.port), "--db", db, *extra]
        t0 = time.perf_counter()
        self.p = spawn(argv, self.logpath)
        self.startup_s = wait_healthy(self.p, self.port, t0)
        self.conn = None

    def alive(self):
        return self.p.poll() is None

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
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return resp.status, parsed, dt

    def api(self, operation, body):
        return self.call("POST", "/", body, {"Content-Type": "application/x-amz-json-1.1",
                                             "X-Amz-Target": "SageMaker." + operation})

    def memory(self):
        fields = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    fields[k] = int(v.split()[0]) / 1024.0  # kB -> MB
        return fields

    def stop(self, sig=signal.SIGTERM):
        if self.conn:
            self.conn.close()
            self.conn = None
        rc = stop(self.p, sig)
        if sig == signal.SIGTERM and rc != 0:
            raise Broken(f"the server exited with {rc} on SIGTERM (log: {self.logpath})")
        return rc


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
        self.warmup = 0 if self.short else 2
        self.sizes = args.sizes or ([200, 2000] if self.short else [1000, 10000, 100000])
        self.advance_n = args.advance_jobs or (500 if self.short else 100000)
        self.conns = [1, 64]
        self.raw = []  # one per wrk run
        self.rows = []  # one per case (the median of its rounds)
        self.problems = []  # what is broken (non-zero exit)
        self.bin = args.bin
        self.ceiling = args.ceiling
        self.run_id = f"b{random.randrange(16**6):06x}"
        self.seed_limit = args.seed_limit

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

    def case(self, target, size, op, conns, port, script, args, alive, duration=None):
        name = f"{target} {size} {op} @{conns}"
        r = self.wrk(port, script, conns, args, duration)
        ok = self.check_case(name, r, alive())
        row = dict(target=target, size=size, op=op, conns=conns, ok=ok, **r)
        self.raw.append(row)
        log(f"bench: {name:<32} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:7.3f} ms  "
            f"p99 {r['p99_ms']:7.3f} ms{'' if ok else '  BROKEN'}")
        return row

    def aggregate(self):
        """One row per case: the median over the rounds (req/s, p50, p99) and the spread of
        req/s ((max - min) / median), in the order first measured."""
        keys = []
        for r in self.raw:
            k = (r["target"], r["size"], r["op"], r["conns"])
            if k not in keys:
                keys.append(k)
        rows = []
        for k in keys:
            rs = [r for r in self.raw if (r["target"], r["size"], r["op"], r["conns"]) == k]
            v = [r["rps"] for r in rs]
            row = dict(rs[-1])
            row.update(rps=statistics.median(v), p50_ms=statistics.median(r["p50_ms"] for r in rs),
                       p99_ms=statistics.median(r["p99_ms"] for r in rs), runs=len(rs),
                       spread=(max(v) - min(v)) / statistics.median(v) if len(v) > 1 else 0.0,
                       ok=all(r["ok"] for r in rs))
            rows.append(row)
        self.rows = rows

    # -- the ceiling

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

    def start_ceiling(self):
        port = free_port()
        p = spawn([self.ceiling, "--port", str(port), "--body-size", str(self.body_size)],
                  os.path.join(self.work, "ceiling.log"))
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
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        dt = None
        if whole:
            dt = self.seed_docs(db, n, make, clock_rate, n, self.seed_limit)
            if dt is None:
                log(f"bench: seeding {n} jobs in one document did not end within "
                    f"{self.seed_limit} s; seeding in documents of {CHUNK}")
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.remove(db + suffix)
        if dt is None:
            self.seed_docs(db, n, make, clock_rate, CHUNK, None)
        return dt

    def seed_docs(self, db, n, make, clock_rate, per_doc, limit):
        template = request_template()
        s = Server(self, db, f"seed-{n}", ["--clock-rate", str(clock_rate), "--max-body",
                                           str(max(per_doc * 2000 + 65536, 6291456))])
        t0 = time.perf_counter()
        try:
            for first in range(0, n, per_doc):
                doc = fixture_document(first, min(n, first + per_doc), n, make, template)
                try:
                    st, summary, _ = s.call("POST", "/_sagemock/fixtures", doc,
                                            {"Content-Type": "application/json"},
                                            timeout=limit or 3600)
                except (socket.timeout, TimeoutError):
                    s.stop(signal.SIGKILL)
                    return None
                if st != 200 or summary.get("jobs") != min(n - first, per_doc):
                    raise Broken(f"seeding jobs {first}.. answered {st}: {str(summary)[:500]}")
            dt = time.perf_counter() - t0
        finally:
            if s.alive():
                s.stop()
        log(f"bench: seeded {n} jobs in {dt:.2f} s"
            f"{' (one document)' if per_doc >= n else f' (documents of {per_doc})'}")
        return dt

    def count_created(self, db, prefix):
        c = sqlite3.connect(db, timeout=30)
        try:
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
            have = self.count_created(db, prefix)
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

    # -- the run

    def run(self):
        t_start = time.time()
        self.build()
        self.machine = machine()
        dbs = {}
        self.seed_s = {}
        for n in self.sizes:
            dbs[n] = os.path.join(self.work, f"store-{n}.db")
            self.seed_s[n] = self.seed(dbs[n], n, mixed_seed, 1, whole=True)
        big = max(self.sizes)
        starts = 1 if self.short else 7
        self.startup_ms = [t * 1000 for t in self.startup(dbs[big], starts)]
        self.exec_ms = self.exec_baseline(starts)
        self.body_size = self.describe_body_size(dbs[self.sizes[0]])
        log(f"bench: a Describe body is {self.body_size} bytes; the ceiling answers as much")

        # Every server runs at once (idle ones cost nothing); the rounds interleave them, so
        # that a noisy neighbour hits the ceiling and each store alike.
        ceiling, cport = self.start_ceiling()
        servers = {}
        try:
            for n in self.sizes:
                servers[n] = Server(self, dbs[n], f"store-{n}")
            ceiling_alive = lambda: ceiling.poll() is None  # noqa: E731
            describe_args = lambda n: (SEED_PREFIX, n)  # noqa: E731
            if self.warmup:
                self.wrk(cport, "describe.lua", 64, describe_args(self.sizes[0]), self.warmup)
                for n, s in servers.items():
                    self.wrk(s.port, "describe.lua", 64, describe_args(n), self.warmup)
                    self.wrk(s.port, "list.lua", 64, (), self.warmup)
            for rnd in range(self.rounds):
                log(f"bench: round {rnd + 1} of {self.rounds}")
                for c in self.conns:
                    self.case("ceiling", "—", "Describe", c, cport, "describe.lua",
                              describe_args(self.sizes[0]), ceiling_alive)
                for n, s in servers.items():
                    for c in self.conns:
                        self.case("sagemock", f"{n:,}", "Describe", c, s.port, "describe.lua",
                                  describe_args(n), s.alive)
                    for c in self.conns:
                        self.case("sagemock", f"{n:,}", "List", c, s.port, "list.lua", (),
                                  s.alive)
            self.mem = {}
            for n, s in servers.items():
                self.mem[n] = self.creates(n, dbs[n], s)
        finally:
            stop(ceiling)
            for s in servers.values():
                if s.alive():
                    s.stop(signal.SIGKILL)
        self.aggregate()
        self.adv = self.advance(os.path.join(self.work, "advance.db"), self.advance_n)
        self.elapsed = time.time() - t_start

    # -- the report

    def rps(self, target, size, op, conns):
        for r in self.rows:
            if (r["target"], r["size"], r["op"], r["conns"]) == (target, size, op, conns):
                return r
        return None

    def ceiling_rps(self, conns):
        v = [r["rps"] for r in self.rows if r["target"] == "ceiling" and r["conns"] == conns]
        return statistics.mean(v) if v else float("nan")

    def table(self):
        lines = ["| Server | Jobs | Operation | Conns | Requests/s | Spread | p50 ms | p99 ms | "
                 "vs ceiling |",
                 "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            ratio = r["rps"] / self.ceiling_rps(r["conns"])
            flag = "" if r["ok"] else " ⚠ broken"
            spread = f"±{r['spread'] / 2:.0%}" if r["runs"] > 1 else "—"
            lines.append(f"| {r['target']} | {r['size']} | {r['op']} | {r['conns']} | "
                         f"{r['rps']:,.0f} | {spread} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
                         f"{ratio:.1%}{flag} |")
        return "\n".join(lines)

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
            lines.append(f"| Seeding {n:,} jobs from one fixture document (POST "
                         f"/_sagemock/fixtures) | "
                         + (f"{v:.2f} s |" if v is not None else
                            f"**did not end within {self.seed_limit} s** |"))
        lines += [
            f"| Clock advanced past {adv['jobs']:,} running jobs → next ListTrainingJobs "
            f"(100 per page) | {adv['list_s'] * 1000:.0f} ms |",
            f"| … then every job shows its new state (all {adv['pages']:,} pages listed) | "
            f"{'yes' if adv['all_new'] else 'NO'}: {adv['statuses']} |",
            f"| Size of a Describe response (the ceiling's body) | {self.body_size} bytes |",
        ]
        for n in self.sizes:
            for c in self.conns:
                r = self.rps("sagemock", f"{n:,}", "Create", c)
                if r and "durable" in r:
                    lines.append(f"| Create @{c} on {n:,}: acknowledged vs in the database "
                                 f"after kill -9 | {r['requests'] - r['status']:,} / "
                                 f"{r['stored']:,} ({'durable' if r['durable'] else 'LOST'}) |")
        return "\n".join(lines)

    def targets(self):
        """[(target, met, figure)] for the full run."""
        out = []
        sizes = [f"{n:,}" for n in self.sizes]
        small, big = sizes[0], sizes[-1]

        def get(size, op, c):
            r = self.rps("sagemock", size, op, c)
            return r["rps"] if r else float("nan")

        ratios = [(s, get(s, "Describe", 64) / self.ceiling_rps(64)) for s in sizes]
        worst = min(ratios, key=lambda x: x[1])
        out.append(("Describe @64 ≥ 50% of the ceiling", worst[1] >= T_DESCRIBE_CEILING,
                    ", ".join(f"{s}: {v:.0%}" for s, v in ratios)))
        for op in ("Describe", "List"):
            f = [(c, get(big, op, c) / get(small, op, c)) for c in self.conns]
            out.append((f"{op} at {big} within 20% of {small}",
                        all(v >= 1 - T_FLAT for _, v in f),
                        ", ".join(f"@{c}: {v:.0%} of {small}" for c, v in f)))
        ratios = [(s, get(s, "List", 64) / self.ceiling_rps(64)) for s in sizes]
        out.append(("List (100/page, filtered) @64 ≥ 10% of the ceiling",
                    min(v for _, v in ratios) >= T_LIST_CEILING,
                    ", ".join(f"{s}: {v:.1%}" for s, v in ratios)))
        cr = [(s, get(s, "Create", 64)) for s in sizes]
        durable = all(r.get("durable", False) for r in self.rows if r["op"] == "Create")
        out.append(("Create @64 ≥ 5,000/s, every one durable",
                    min(v for _, v in cr) >= T_CREATE_RPS and durable,
                    ", ".join(f"{s}: {v:,.0f}/s" for s, v in cr) +
                    ("; all durable after kill -9" if durable else "; NOT all durable")))
        p99 = [(s, self.rps("sagemock", s, "Describe", 1)["p99_ms"]) for s in sizes]
        out.append(("Describe p99 @1 < 1 ms", max(v for _, v in p99) < T_DESCRIBE_P99_MS,
                    ", ".join(f"{s}: {v:.3f} ms" for s, v in p99)))
        med = statistics.median(self.startup_ms)
        out.append((f"Start-up < 50 ms ({big} jobs)", med < T_STARTUP_MS, f"median {med:.1f} ms"))
        rss = self.mem.get(max(self.sizes), {}).get("VmRSS", float("nan"))
        out.append((f"RSS < 32 MB after the load ({big} jobs)", rss < T_RSS_MB,
                    f"VmRSS {rss:.1f} MB"))
        a = self.adv
        out.append((f"Clock past {a['jobs']:,} running jobs: next List < 2 s, all new states",
                    a["list_s"] < T_ADVANCE_S and a["all_new"],
                    f"{a['list_s'] * 1000:.0f} ms; {'all' if a['all_new'] else 'NOT all'} "
                    f"Completed"))
        return out

    def report(self):
        m = self.machine
        head = (f"Run {m['date']} on {m['cpu']}, {m['nproc']} cores, {m['mem']} RAM "
                f"({m['os']}; load average {m['load']} at the start); commit {m['commit']}; "
                f"{'sagemock built from the tree' if not self.args.bin else 'sagemock: ' + self.args.bin}"
                f"; sagemock and wrk on the same cores. Describe and List: {self.rounds} "
                f"interleaved round(s) of {self.duration} s per case, the median shown, "
                f"Spread = half the range of the rounds' req/s; Create: one run of "
                f"{self.create_duration} s; {m['versions']}.")
        parts = [head, "", self.table(), "", self.extras()]
        if not self.short:
            parts += ["", "| Target (issue 6) | Met | Measured |", "|---|---|---|"]
            parts += [f"| {t} | {'yes' if ok else '**no**'} | {fig} |"
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
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 5 for Describe and List, 10 for Create; "
                    "--short 1)")
    ap.add_argument("--rounds", type=int,
                    help="rounds of the Describe and List cases, interleaved (default 3; "
                    "--short 1); the table shows the median")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    help="store sizes, comma-separated (default 1000,10000,100000)")
    ap.add_argument("--advance-jobs", type=int, help="running jobs of the clock test (100000)")
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
            KeyError, TypeError) as e:
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
    log(f"bench: done in {b.elapsed:.0f} s" + ("" if b.short else "; targets:"))
    if not b.short:
        for t, ok, fig in b.targets():
            log(f"  {'met   ' if ok else 'MISSED'} {t}: {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
