#!/usr/bin/env bash
# tests/docker/run.sh: build docker/Dockerfile and prove the image works, for real.
#
#   tests/docker/run.sh     with a Docker engine; else with podman through docker/podman.sh, as
#                           root or with passwordless sudo. From nothing that installs podman
#                           from Debian and bootstraps a Debian base (about a minute), then
#                           builds; later runs take well under a minute.
#
# Needs nothing outside the repository. Exit status 77 (ctest SKIP_RETURN_CODE) with the reason
# when this machine can do neither: no Docker engine, and podman is not possible (not root and
# no passwordless sudo, no apt-get, no bookworm mirror, podman cannot start a container).
#
# 1. Builds the image: `docker build` when `docker info` answers, else `docker/podman.sh build`.
#    The image: at most 20 MB; its config (non-root user, exec-form ENTRYPOINT, EXPOSE,
#    HEALTHCHECK, the SAGEMOCK_* defaults).
# 2. Container A, the image's defaults only (`run -p`): healthy; the server is PID 1 and not
#    root (the host's /proc, else `docker top`); its files (`export`): no shell, no package
#    manager, no compiler, no program but sagemock, /data owned by 10001, and `exec sh`
#    fails; its HEALTHCHECK passes; JSON logs; SIGTERM stop.
# 3. Container B, configured by environment with host mounts (SAGEMOCK_CLOCK_RATE=5, a database
#    on a /data volume, tests/docker/fixtures at /fixtures): time from `run` to the first
#    healthy answer; the boto3 smoke (tests/docker/smoke.py: waiter -> Completed, failure
#    scenario by tag, the mounted fixture); SIGTERM stop: exit 0 in under 2 s, the database
#    intact. Container C on the same volume still has B's job, and with
#    SAGEMOCK_DEFAULT_SCENARIO=algorithm-error an untagged job ends Failed.
# 4. Prints the image size, its files and the times; the last line is "N passed, N failed";
#    exit status 1 on any failure. Every container it started is removed, whatever happens,
#    and on the podman path podman's changes to the host network are undone.
#
# Environment: SAGEMOCK_DOCKER_ENGINE=docker|podman forces the engine; SAGEMOCK_DOCKERFILE
# builds another Dockerfile (the build context stays the repository); NO_CACHE=1 builds
# without the layer cache; SAGEMOCK_PODMAN_ROOT and BASE_REFRESH go to docker/podman.sh.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))"
PY=/usr/bin/python3
PODMAN="$REPO/docker/podman.sh"
DOCKERFILE=${SAGEMOCK_DOCKERFILE:-$REPO/docker/Dockerfile}
STOP_LIMIT_S=2
SIZE_LIMIT=20000000 # bytes, as `docker images`/`podman images` count MB
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

PASSED=0
FAILED=0
SKIPPED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -c 3000 | sed 's/^/       /'; }
summary() {
    [ "$SKIPPED" -gt 0 ] && echo "($SKIPPED skipped)"
    echo "$PASSED passed, $FAILED failed"
}
# skip_all REASON: this machine cannot build or run the image at all (ctest: SKIP_RETURN_CODE 77).
skip_all() {
    echo "skip - the container suite: $1"
    summary
    exit 77
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sagemock-docker.XXXXXX")"
CIDS=()
CLI=()
NET_SAVED=0
cleanup() {
    local c
    trap '' PIPE # a closed stdout (run.sh | head) must not stop the cleanup half-way
    for c in "${CIDS[@]}"; do "${CLI[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
    # rootful podman's host network changes, undone once no container is left in its store
    [ "$NET_SAVED" = 1 ] && "$PODMAN" net-restore >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_healthy PORT TIMEOUT: prints the epoch time of the first 200 from /_sagemock/health.
wait_healthy() {
    "$PY" - "http://127.0.0.1:$1/_sagemock/health" "$2" <<'PY'
import sys, time, urllib.request
url, end = sys.argv[1], time.time() + float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
while time.time() < end:
    try:
        with opener.open(url, timeout=1) as r:
            if r.status == 200:
                print(f"{time.time():.6f}")
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.005)
sys.exit(1)
PY
}

# run_smoke ARGS...: tests/docker/smoke.py, its checks counted as ours.
run_smoke() {
    local out rc p f s
    out="$("$PY" "$HERE/smoke.py" "$@" 2>&1)"
    rc=$?
    printf '%s\n' "$out" | sed '$d'
    read -r p f s < <(printf '%s\n' "$out" | tail -n1 |
        sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p')
    if [ -z "${p:-}" ]; then
        fail "smoke.py $*" "exit $rc without its summary line: $(printf '%s\n' "$out" | tail -n 20)"
        return
    fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    SKIPPED=$((SKIPPED + s))
    [ "$rc" = 0 ] || [ "$f" -gt 0 ] || fail "smoke.py $*" "exit $rc"
}

# server_times CID LOGS: "STARTED READY TERM FINISHED", epoch seconds ("-" when unknown), from
# the engine's StartedAt/FinishedAt and the server's JSON log times (one host clock).
server_times() {
    local started finished
    started=$("${CLI[@]}" inspect -f '{{.State.StartedAt}}' "$1" 2>/dev/null)
    finished=$("${CLI[@]}" inspect -f '{{.State.FinishedAt}}' "$1" 2>/dev/null)
    "$PY" - "$started" "$finished" "$2" <<'PY' || echo "- - - -"
import json, re, sys
from datetime import datetime
def ts(s):  # RFC 3339 with up to 9 fractional digits, 'Z' or an offset (or Go's " +0000 UTC")
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?", s.strip())
    if not m or m.group(1).startswith("0001"):
        return None
    tz = (m.group(4) or "Z").replace("Z", "+00:00")
    if ":" not in tz: tz = tz[:3] + ":" + tz[3:]
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{tz}").timestamp() + float("0." + (m.group(3) or "0"))
ready = term = None
for line in sys.argv[3].splitlines():
    try:
        j = json.loads(line) if line.startswith("{") else {}
    except ValueError:
        continue
    msg = j.get("message", "")
    if ready is None and " ready: " in msg: ready = ts(j["time"])
    if "SIGTERM received" in msg: term = ts(j["time"])
print(" ".join("-" if v is None else f"{v:.6f}" for v in (ts(sys.argv[1]), ready, term, ts(sys.argv[2]))))
PY
}

# stop_check CID LABEL: SIGTERM through `stop` (SIGKILL only after 5 s). Passes when the exit
# code is 0, the server logged the SIGTERM, and the process ended under STOP_LIMIT_S after
# `stop` was called (the engine's FinishedAt; the stop command itself also tears down the
# network and may take longer on a loaded machine: it is reported, not judged).
STOP_TIMES=()
stop_check() {
    local cid=$1 label=$2 t0 t1 dt code logs started ready term finished exit_s detail
    t0=$(now)
    "${CLI[@]}" stop -t 5 "$cid" >/dev/null 2>"$WORK/stop.err"
    t1=$(now)
    dt=$(secs "$t0" "$t1")
    code=$("${CLI[@]}" inspect -f '{{.State.ExitCode}}' "$cid" 2>/dev/null)
    logs=$("${CLI[@]}" logs "$cid" 2>&1)
    read -r started ready term finished < <(server_times "$cid" "$logs")
    exit_s=$dt
    [ "$finished" != - ] && exit_s=$(secs "$t0" "$finished")
    detail="exited ${exit_s} s after 'stop'"
    [ "$term" != - ] && [ "$finished" != - ] &&
        detail+=" ($(awk -v a="$term" -v b="$finished" 'BEGIN {printf "%.0f", 1000 * (b - a)}') ms after logging SIGTERM)"
    detail+="; the stop command took ${dt} s"
    READY_MS=-
    [ "$started" != - ] && [ "$ready" != - ] &&
        READY_MS=$(awk -v a="$started" -v b="$ready" 'BEGIN {printf "%.0f", 1000 * (b - a)}') &&
        detail+="; it had been ready ${READY_MS} ms after the container started"
    STOP_TIMES+=("$label: exit ${exit_s}s after stop (stop command ${dt}s)")
    if [ "$code" = 0 ] && lt "$exit_s" "$STOP_LIMIT_S" && grep -q 'SIGTERM received' <<<"$logs"; then
        pass "$label: SIGTERM -> exit 0; $detail"
    else
        fail "$label: SIGTERM -> exit 0 in under ${STOP_LIMIT_S} s" \
            "exit code '${code}'; $detail; $(cat "$WORK/stop.err"); last log lines:
$(tail -n 5 <<<"$logs")"
    fi
}

# ------------------------------------------------------------------ 1. engine and build
echo "# sagemock container test: repo $REPO"
ENGINE=${SAGEMOCK_DOCKER_ENGINE:-}
if [ -z "$ENGINE" ]; then
    if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
        ENGINE=docker
    else
        ENGINE=podman
    fi
fi
if [ "$ENGINE" = podman ] && [ "$(id -u)" != 0 ]; then
    # rootful podman: run this whole script as root
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        rm -rf "$WORK"
        exec sudo -n env SAGEMOCK_DOCKER_ENGINE=podman SAGEMOCK_DOCKERFILE="$DOCKERFILE" \
            NO_CACHE="${NO_CACHE:-0}" SAGEMOCK_PODMAN_ROOT="${SAGEMOCK_PODMAN_ROOT:-}" \
            BASE_REFRESH="${BASE_REFRESH:-0}" "$0" "$@"
    fi
    skip_all "no Docker engine answers 'docker info', and podman (docker/podman.sh) needs root: no passwordless sudo"
fi
[ -n "${SAGEMOCK_PODMAN_ROOT:-}" ] || unset SAGEMOCK_PODMAN_ROOT
PA=$(free_port) PB=$(free_port) PC=$(free_port)
IMAGE=sagemock:docker-test
BUILD_FLAGS=(-f "$DOCKERFILE" -t "$IMAGE")
[ "${NO_CACHE:-0}" = 1 ] && BUILD_FLAGS+=(--no-cache)
case "$ENGINE" in
docker)
    CLI=(docker)
    echo "# engine: docker ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    BUILD_T0=$(now)
    if docker build "${BUILD_FLAGS[@]}" "$REPO" >"$WORK/build.log" 2>&1; then
        pass "docker build -f docker/Dockerfile ($(secs "$BUILD_T0" "$(now)") s)"
    else
        fail "docker build -f docker/Dockerfile" "$(tail -n 30 "$WORK/build.log")"
        summary
        exit 1
    fi
    ;;
podman)
    CLI=("$PODMAN")
    echo "# engine: podman through docker/podman.sh (no Docker engine answers 'docker info')"
    T0=$(now)
    "$PODMAN" setup >"$WORK/setup.log" 2>&1
    rc=$?
    [ "$rc" = 3 ] && skip_all "no Docker engine answers 'docker info', and $(grep 'not possible' "$WORK/setup.log" | tail -n 1 | sed 's/^docker\/podman.sh: //')"
    if [ "$rc" != 0 ]; then
        fail "docker/podman.sh setup" "exit $rc: $(tail -n 30 "$WORK/setup.log")"
        summary
        exit 1
    fi
    echo "# podman ready in $(secs "$T0" "$(now)") s (packages, configuration, a debian:bookworm-slim base); $("$PODMAN" --version 2>/dev/null)"
    BUILD_T0=$(now)
    if "$PODMAN" build "${BUILD_FLAGS[@]}" >"$WORK/build.log" 2>&1; then
        pass "docker/podman.sh build -f docker/Dockerfile ($(secs "$BUILD_T0" "$(now)") s)"
    else
        fail "docker/podman.sh build -f docker/Dockerfile" "$(tail -n 30 "$WORK/build.log")"
        summary
        exit 1
    fi
    "$PODMAN" net-save && NET_SAVED=1
    ;;
*)
    fail "SAGEMOCK_DOCKER_ENGINE=$ENGINE" "expected docker or podman"
    summary
    exit 1
    ;;
esac
A=$("${CLI[@]}" run -d -p "127.0.0.1:$PA:9080" "$IMAGE" 2>"$WORK/run.err") || A=""
if [ -z "$A" ]; then
    fail "run -p 127.0.0.1:$PA:9080 $IMAGE" "$(cat "$WORK/run.err")"
    summary
    exit 1
fi
CIDS+=("$A")

# ------------------------------------------------------------------ the image
SIZE=$("${CLI[@]}" image inspect -f '{{.Size}}' "$IMAGE")
SIZE_MB=$(awk -v s="$SIZE" 'BEGIN {printf "%.1f", s / 1e6}')
if [ "$SIZE" -le "$SIZE_LIMIT" ] 2>/dev/null; then
    pass "image size ${SIZE_MB} MB (at most $((SIZE_LIMIT / 1000000)) MB)"
else
    fail "image size at most $((SIZE_LIMIT / 1000000)) MB" "${SIZE_MB} MB ($SIZE bytes)"
fi
CONFIG=$("${CLI[@]}" image inspect -f '{{json .Config}}' "$IMAGE")
HEALTH=$("${CLI[@]}" image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE" 2>/dev/null)
if PROBLEMS=$("$PY" - "$CONFIG" "${HEALTH:-null}" 2>&1 <<'PY'
import json, sys
c = json.loads(sys.argv[1])
env = dict(e.split("=", 1) for e in c.get("Env") or [])
problems = []
if c.get("User") in (None, "", "0", "root", "0:0"): problems.append(f"User {c.get('User')!r}")
if c.get("Entrypoint") != ["/usr/local/bin/sagemock"]: problems.append(f"Entrypoint {c.get('Entrypoint')}")
if c.get("Cmd"): problems.append(f"Cmd {c.get('Cmd')}")
if "9080/tcp" not in (c.get("ExposedPorts") or {}): problems.append("9080/tcp not exposed")
hc = (json.loads(sys.argv[2]) or c.get("Healthcheck") or {}).get("Test") or []
if hc != ["CMD", "/usr/local/bin/sagemock", "healthcheck"]: problems.append(f"Healthcheck {hc}")
for k, v in {"SAGEMOCK_HOST": "0.0.0.0", "SAGEMOCK_PORT": "9080", "SAGEMOCK_DB": ":memory:",
             "SAGEMOCK_FIXTURES": "/fixtures"}.items():
    if env.get(k) != v: problems.append(f"{k}={env.get(k)!r}")
print("; ".join(problems))
sys.exit(1 if problems else 0)
PY
); then
    pass "image config: non-root user, exec-form ENTRYPOINT, EXPOSE 9080, HEALTHCHECK (exec form), container defaults"
else
    fail "image config" "$PROBLEMS"
fi
FIXTURES_ENV=$("$PY" -c 'import json,sys; print(next((e for e in json.loads(sys.argv[1]).get("Env") or [] if e.startswith("SAGEMOCK_FIXTURES=")), "SAGEMOCK_FIXTURES unset"))' "$CONFIG")
echo "# image default: $FIXTURES_ENV"

# ------------------------------------------------------------------ 2. container A: defaults
if wait_healthy "$PA" 20 >/dev/null; then
    pass "container A (image defaults, -p 127.0.0.1:$PA:9080): healthy"
else
    fail "container A: healthy" "$("${CLI[@]}" logs "$A" 2>&1 | tail -n 20)"
fi
# PID 1 and its user, from the host: the engine's State.Pid is the server's process on the
# host, whose NSpid line ends with its PID inside the container. An engine on another machine
# (a remote DOCKER_HOST): `docker top`, where the server must be the one process.
HPID=$("${CLI[@]}" inspect -f '{{.State.Pid}}' "$A" 2>/dev/null)
if [ -n "$HPID" ] && [ "$HPID" != 0 ] && [ -r "/proc/$HPID/status" ] &&
    [ "$(tr '\0' ' ' <"/proc/$HPID/cmdline" 2>/dev/null)" != "" ] &&
    grep -q "^NSpid:" "/proc/$HPID/status"; then
    CMDLINE=$(tr '\0' ' ' <"/proc/$HPID/cmdline")
    NSPID=$(awk '/^NSpid:/ {print $NF}' "/proc/$HPID/status")
    UIDS=$(awk '/^Uid:/ {print $2 "/" $3}' "/proc/$HPID/status")
    GIDS=$(awk '/^Gid:/ {print $2 "/" $3}' "/proc/$HPID/status")
    WHERE="host /proc/$HPID"
else
    TOP=$("${CLI[@]}" top "$A" -o pid,uid,gid,args 2>&1 | sed 1d)
    CMDLINE=$(awk '{$1 = $2 = $3 = ""; sub(/^ +/, ""); print}' <<<"$TOP")
    NSPID=none
    [ "$(grep -c . <<<"$TOP")" = 1 ] && NSPID=1 # the only process is the first one
    UIDS=$(awk '{print $2 "/" $2}' <<<"$TOP")
    GIDS=$(awk '{print $3 "/" $3}' <<<"$TOP")
    WHERE="top"
fi
case "$NSPID:$CMDLINE" in
"1:/usr/local/bin/sagemock"*) pass "PID 1 is the server itself: $CMDLINE($WHERE)" ;;
*) fail "PID 1 is the server" "PID $NSPID in the container runs: $CMDLINE($WHERE)" ;;
esac
case "$UIDS" in
10001/10001) pass "runs as uid 10001, gid ${GIDS%%/*}, not root ($WHERE)" ;;
*) fail "runs as uid 10001, not root" "uid (real/effective) $UIDS, gid $GIDS ($WHERE)" ;;
esac

# No shell: exec'ing one fails, whatever the engine says about it.
if SH=$("${CLI[@]}" exec "$A" sh -c 'echo a shell' 2>&1); then
    fail "no shell in the image: exec sh fails" "it ran: $SH"
else
    pass "no shell in the image: exec sh fails ($(grep -o 'executable file not found[^:]*\|no such file[^:]*' <<<"$SH" | head -n 1))"
fi
# The image's files, from `export` of container A (minus what the engine adds: /dev, /proc,
# /sys, /run, /etc/hosts, ...): no shell, no package manager, no compiler, no program but the
# server; /data belongs to uid 10001. The list goes into the report.
if "${CLI[@]}" export "$A" >"$WORK/rootfs.tar" 2>"$WORK/export.err"; then
    FILECHECK=$("$PY" - "$WORK/rootfs.tar" "$WORK/files.txt" <<'PY'
import os, stat, sys, tarfile
ENGINE = {".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"}
ENGINE_DIRS = ("dev", "proc", "sys", "run")
SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox", "toybox"}
PKG = {"apt", "apt-get", "apt-cache", "aptitude", "dpkg", "dpkg-deb", "apk", "yum", "dnf",
       "microdnf", "rpm", "zypper", "pacman", "pip", "pip3", "npm", "gem"}
PKG_DIRS = ("var/lib/dpkg", "var/lib/apt", "etc/apt", "lib/apk", "var/lib/rpm")
CC = {"gcc", "cc", "c99", "clang", "cpp", "ld", "as", "make", "cmake", "tcc"}
files, checks = [], {}
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        n = m.name.lstrip("./").rstrip("/")
        if not n or n in ENGINE or n.split("/")[0] in ENGINE_DIRS:
            continue
        files.append((n, m))
def bad(label, found):
    checks[label] = sorted(found)
names = {n: m for n, m in files}
bad("no shell", [n for n in names if os.path.basename(n) in SHELLS])
bad("no package manager", [n for n in names if os.path.basename(n) in PKG or n.startswith(PKG_DIRS)])
bad("no compiler or build tool", [n for n in names if os.path.basename(n) in CC])
programs = [n for n, m in files if m.isfile() and m.mode & 0o111 and ".so" not in os.path.basename(n)]
bad("no program but /usr/local/bin/sagemock", [p for p in programs if p != "usr/local/bin/sagemock"])
data = names.get("data")
bad("/data is a folder of uid 10001", [] if data is not None and data.isdir() and data.uid == 10001
    else [f"data: {'missing' if data is None else f'uid {data.uid}'}"])
total = sum(m.size for _, m in files if m.isfile())
with open(sys.argv[2], "w") as out:
    for n, m in sorted(files):
        kind = "d" if m.isdir() else "l" if m.issym() else "-"
        size = f"{m.size:>9}" if m.isfile() else " " * 9
        out.write(f"{kind}{stat.filemode(m.mode)[1:]} {m.uid:>5}:{m.gid:<5} {size}  /{n}"
                  + (f" -> {m.linkname}" if m.issym() else "") + "\n")
    out.write(f"{sum(1 for _, m in files if m.isfile())} files, {total / 1e6:.1f} MB\n")
for label, found in checks.items():
    print(("ok" if not found else "FAIL") + "\t" + label + "\t" + ", ".join(found))
PY
)
    while IFS=$'\t' read -r st label found; do
        case "$st" in
        ok) pass "image files (export): $label" ;;
        *) fail "image files (export): $label" "$found" ;;
        esac
    done <<<"$FILECHECK"
    [ -n "$FILECHECK" ] || fail "image files (export)" "the listing script failed"
else
    fail "export container A (the image's files)" "$(cat "$WORK/export.err")"
fi
# The image's HEALTHCHECK: podman without systemd does not schedule it, so run it once;
# Docker runs it itself (interval 2 s).
if [ "$ENGINE" = podman ]; then
    if HC=$("${CLI[@]}" healthcheck run "$A" 2>&1); then
        pass "HEALTHCHECK (sagemock healthcheck) passes: ${HC:-healthy}"
    else
        fail "HEALTHCHECK (sagemock healthcheck) passes" "$HC"
    fi
else
    HS=""
    for _ in $(seq 1 60); do
        HS=$(docker inspect -f '{{.State.Health.Status}}' "$A" 2>&1)
        [ "$HS" = healthy ] && break
        sleep 0.25
    done
    if [ "$HS" = healthy ]; then pass "HEALTHCHECK: Docker reports healthy"; else fail "HEALTHCHECK: Docker reports healthy" "status: $HS"; fi
fi
LOGS=$("${CLI[@]}" logs "$A" 2>&1)
if grep -q '^sagemock: listening on http://0.0.0.0:9080$' <<<"$LOGS" &&
    grep -v '^sagemock: listening' <<<"$LOGS" | grep . | "$PY" -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
sys.exit(0 if lines and all("level" in l for l in lines) else 1)'; then
    pass "listens on 0.0.0.0:9080, logs JSON lines (SAGEMOCK_LOG_FORMAT=json)"
else
    fail "listens on 0.0.0.0:9080, logs JSON lines" "$(head -n 5 <<<"$LOGS")"
fi
stop_check "$A" "container A"

# ------------------------------------------------------------------ 3. container B: env + mounts
mkdir -p "$WORK/data"
chmod 0777 "$WORK/data" # the image's user (uid 10001) writes the database there
T0=$(now)
B=$("${CLI[@]}" run -d -p "127.0.0.1:$PB:9080" \
    -e SAGEMOCK_CLOCK_RATE=5 -e SAGEMOCK_DB=/data/sagemock.db \
    -v "$WORK/data:/data" -v "$HERE/fixtures:/fixtures:ro" "$IMAGE" 2>"$WORK/run.err") || B=""
T_RUN=$(now)
if [ -z "$B" ]; then
    fail "container B: run" "$(cat "$WORK/run.err")"
    summary
    exit 1
fi
CIDS+=("$B")
if T_OK=$(wait_healthy "$PB" 20); then
    HEALTHY_S=$(secs "$T0" "$T_OK")
    RUN_S=$(secs "$T0" "$T_RUN")
    pass "container B (SAGEMOCK_CLOCK_RATE=5, SAGEMOCK_DB=/data/sagemock.db, /fixtures mounted): healthy ${HEALTHY_S} s after 'run' (the run command itself: ${RUN_S} s)"
else
    HEALTHY_S=none
    fail "container B: healthy within 20 s" "$("${CLI[@]}" logs "$B" 2>&1 | tail -n 20)"
fi
if [ "$HEALTHY_S" != none ]; then
    run_smoke --endpoint "http://127.0.0.1:$PB" --expect-clock-rate 5 --expect-fixture docker-smoke
    PERSIST=docker-persist-$$
    run_smoke --endpoint "http://127.0.0.1:$PB" --create-only "$PERSIST"
fi
stop_check "$B" "container B"
B_READY_MS=$READY_MS
if INTEGRITY=$("$PY" - "$WORK/data/sagemock.db" <<'PY' 2>&1
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?immutable=1", uri=True)
r = db.execute("PRAGMA integrity_check").fetchone()[0]
print(r)
sys.exit(0 if r == "ok" else 1)
PY
); then
    pass "the database on the /data volume is intact after the stop (integrity_check: $INTEGRITY)"
else
    fail "the database on the /data volume is intact after the stop" "$INTEGRITY; $(ls -la "$WORK/data")"
fi

# ------------------------------------------------------------------ container C: same volume
if [ "$HEALTHY_S" != none ]; then
    C=$("${CLI[@]}" run -d -p "127.0.0.1:$PC:9080" -e SAGEMOCK_DB=/data/sagemock.db \
        -e SAGEMOCK_DEFAULT_SCENARIO=algorithm-error -e SAGEMOCK_CLOCK_RATE=5 \
        -v "$WORK/data:/data" "$IMAGE" 2>"$WORK/run.err") || C=""
    if [ -n "$C" ]; then
        CIDS+=("$C")
        if wait_healthy "$PC" 20 >/dev/null; then
            run_smoke --endpoint "http://127.0.0.1:$PC" --expect-job "$PERSIST" \
                --expect-default-failure "AlgorithmError:"
        else
            fail "container C (same /data volume): healthy" "$("${CLI[@]}" logs "$C" 2>&1 | tail -n 20)"
        fi
        stop_check "$C" "container C"
    else
        fail "container C: run" "$(cat "$WORK/run.err")"
    fi
fi

# ------------------------------------------------------------------ 4. report
echo "# engine:          $ENGINE"
echo "# image size:      ${SIZE_MB} MB ($SIZE bytes, FROM scratch); its files:"
[ -s "$WORK/files.txt" ] && sed 's/^/#   /' "$WORK/files.txt"
echo "# time to healthy: ${HEALTHY_S} s from 'run' to the first 200 from /_sagemock/health (container B; the server was ready ${B_READY_MS} ms after its container started)"
printf '# stop (SIGTERM):  %s\n' "${STOP_TIMES[@]}"
summary
[ "$FAILED" = 0 ]
