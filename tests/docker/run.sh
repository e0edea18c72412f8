#!/usr/bin/env bash
# tests/docker/run.sh: build docker/Dockerfile and prove the image works, for real.
#
#   tests/docker/run.sh     with a Docker engine; else as root or with passwordless sudo (the
#                           podman path). From nothing it installs podman, bootstraps a Debian
#                           base and builds (3-4 minutes); then well under a minute.
#
# 1. Builds the image: `docker build` when `docker info` answers, else with podman through
#    <repo>/../shared/tools/container-check (KEEP_CONTAINER=1, REUSE_BASE=1 unless set), which
#    also runs it once and waits for GET /_sagemock/health. Neither available: a failure.
# 2. Container A, the image's defaults only (`docker run -p`): healthy; the server is PID 1,
#    not root; no compiler in the image; its HEALTHCHECK passes; JSON logs; SIGTERM stop.
# 3. Container B, configured by environment with host mounts (SAGEMOCK_CLOCK_RATE=5, a database
#    on a /data volume, tests/docker/fixtures at /fixtures): time from `run` to the first
#    healthy answer; the boto3 smoke (tests/docker/smoke.py: waiter -> Completed, failure
#    scenario by tag, the mounted fixture); SIGTERM stop: exit 0 in under 2 s, the database
#    intact. Container C on the same volume still has B's job, and with
#    SAGEMOCK_DEFAULT_SCENARIO=algorithm-error an untagged job ends Failed.
# 4. Prints the image size and the times; the last line is "N passed, N failed"; exit status 1
#    on any failure. Every container it started is removed, whatever happens.
#
# Environment: SAGEMOCK_DOCKER_ENGINE=docker|podman forces the engine; CTR_ROOT, REUSE_BASE,
# NO_CACHE are passed to container-check; SAGEMOCK_CONTAINER_CHECK overrides its path;
# SAGEMOCK_DOCKERFILE builds another Dockerfile (the build context stays the repository).
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))"
PY=/usr/bin/python3
CTR_ROOT=${CTR_ROOT:-/tmp/sagemock-ctr}
CONTAINER_CHECK=${SAGEMOCK_CONTAINER_CHECK:-$REPO/../shared/tools/container-check}
DOCKERFILE=${SAGEMOCK_DOCKERFILE:-$REPO/docker/Dockerfile}
STOP_LIMIT_S=2
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
    [ "$NET_SAVED" = 1 ] && net_state_restore
    rm -rf "$WORK"
}

# With KEEP_CONTAINER=1, container-check leaves the host changes of rootful podman networking
# in place (it undoes them only when it removes its own container). Same bookkeeping here:
# remember what existed before, undo the rest once no container is left in the store.
net_state_before() {
    FWD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
    NFT_TABLES_BEFORE=$(nft list tables 2>/dev/null || true)
    NETAVARK_FW_BEFORE=0
    iptables -t nat -S NETAVARK-HOSTPORT-DNAT >/dev/null 2>&1 && NETAVARK_FW_BEFORE=1
    IPAM_BEFORE=0
    [ -e /run/containers/networks ] && IPAM_BEFORE=1
    BLOBCACHE_BEFORE=0
    [ -e /var/lib/containers ] && BLOBCACHE_BEFORE=1
    NET_SAVED=1
}
net_state_restore() {
    local t c rule
    [ -z "$("${CLI[@]}" ps -aq 2>/dev/null)" ] || return 0
    if [ "$NETAVARK_FW_BEFORE" = 0 ]; then
        for t in nat filter; do
            iptables -t "$t" -S 2>/dev/null |
                awk '/^-A (PREROUTING|INPUT|OUTPUT|FORWARD|POSTROUTING) .*-j NETAVARK/ {sub(/^-A/, "-D"); print}' |
                while read -r rule; do eval "iptables -t $t $rule" || true; done
            for c in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N NETAVARK/ {print $2}'); do iptables -t "$t" -F "$c" || true; done
            for c in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N NETAVARK/ {print $2}'); do iptables -t "$t" -X "$c" || true; done
        done
        for t in nat filter; do
            if ! grep -qx "table ip $t" <<<"$NFT_TABLES_BEFORE" && nft list table ip "$t" >/dev/null 2>&1 &&
                [ -z "$(nft list table ip "$t" | grep -vE '^[[:space:]]*(table|chain|type|policy|\}|$)')" ]; then
                nft delete table ip "$t" || true
            fi
        done
    fi
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$FWD_BEFORE" ] || echo "$FWD_BEFORE" >/proc/sys/net/ipv4/ip_forward
    if [ "$IPAM_BEFORE" = 0 ]; then rm -rf /run/containers/networks; rmdir /run/containers 2>/dev/null || true; fi
    if [ "$BLOBCACHE_BEFORE" = 0 ]; then rm -rf /var/lib/containers/cache; rmdir /var/lib/containers 2>/dev/null || true; fi
    return 0
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
    # container-check and rootful podman need root: run this whole script as root.
    if sudo -n true 2>/dev/null; then
        rm -rf "$WORK"
        exec sudo -n env SAGEMOCK_DOCKER_ENGINE=podman CTR_ROOT="$CTR_ROOT" \
            SAGEMOCK_CONTAINER_CHECK="$CONTAINER_CHECK" REUSE_BASE="${REUSE_BASE:-1}" \
            NO_CACHE="${NO_CACHE:-0}" SAGEMOCK_DOCKERFILE="$DOCKERFILE" "$0" "$@"
    fi
    fail "container engine" "no Docker engine answers 'docker info', and container-check needs root (no passwordless sudo)"
    summary
    exit 1
fi
PA=$(free_port) PB=$(free_port) PC=$(free_port)
BUILD_T0=$(now)
case "$ENGINE" in
docker)
    CLI=(docker)
    IMAGE=sagemock:docker-test
    echo "# engine: docker ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    if docker build -f "$DOCKERFILE" -t "$IMAGE" "$REPO" >"$WORK/build.log" 2>&1; then
        pass "docker build -f docker/Dockerfile ($(secs "$BUILD_T0" "$(now)") s)"
    else
        fail "docker build -f docker/Dockerfile" "$(tail -n 30 "$WORK/build.log")"
        summary
        exit 1
    fi
    A=$(docker run -d -p "127.0.0.1:$PA:9080" "$IMAGE" 2>"$WORK/run.err") || A=""
    if [ -z "$A" ]; then
        fail "docker run -p 127.0.0.1:$PA:9080" "$(cat "$WORK/run.err")"
        summary
        exit 1
    fi
    CIDS+=("$A")
    ;;
podman)
    if [ ! -x "$CONTAINER_CHECK" ]; then
        fail "container engine" "no Docker engine answers 'docker info', and $CONTAINER_CHECK is absent"
        summary
        exit 1
    fi
    CLI=(env CONTAINERS_CONF="$CTR_ROOT/conf/containers.conf"
        CONTAINERS_STORAGE_CONF="$CTR_ROOT/conf/storage.conf" TMPDIR="$CTR_ROOT/run/tmp" podman)
    echo "# engine: podman through $CONTAINER_CHECK (log: container-check.log on failure)"
    rm -f "$CTR_ROOT/run/app.cid"
    net_state_before
    if env CTR_ROOT="$CTR_ROOT" DOCKERFILE="$DOCKERFILE" \
        URL_PATH=/_sagemock/health EXPECT_STATUS=200 KEEP_CONTAINER=1 \
        REUSE_BASE="${REUSE_BASE:-1}" NO_CACHE="${NO_CACHE:-0}" \
        "$CONTAINER_CHECK" "$REPO" 9080 "$PA" >"$WORK/container-check.log" 2>&1; then
        A=$(cat "$CTR_ROOT/run/app.cid")
        CIDS+=("$A")
        pass "container-check: built docker/Dockerfile, ran it, /_sagemock/health 200 ($(secs "$BUILD_T0" "$(now)") s)"
        sed -n '/^=== timings/,$p' "$WORK/container-check.log" | sed 's/^/#   /'
    else
        A=$(cat "$CTR_ROOT/run/app.cid" 2>/dev/null)
        [ -n "$A" ] && CIDS+=("$A")
        fail "container-check: build and run docker/Dockerfile" "$(tail -n 40 "$WORK/container-check.log")"
        summary
        exit 1
    fi
    # the image this container runs, by id (container-check's tag may be reused by others)
    IMAGE=$("${CLI[@]}" inspect -f '{{.Image}}' "$A")
    ;;
*)
    fail "SAGEMOCK_DOCKER_ENGINE=$ENGINE" "expected docker or podman"
    summary
    exit 1
    ;;
esac

# ------------------------------------------------------------------ the image
SIZE=$("${CLI[@]}" image inspect -f '{{.Size}}' "$IMAGE")
BASE_SIZE=$("${CLI[@]}" image inspect -f '{{.Size}}' debian:bookworm-slim 2>/dev/null || echo 0)
SIZE_MB=$(awk -v s="$SIZE" 'BEGIN {printf "%.1f", s / 1e6}')
ADDED_MB=$(awk -v s="$SIZE" -v b="$BASE_SIZE" 'BEGIN {printf "%.1f", (s - b) / 1e6}')
BASE_MB=$(awk -v b="$BASE_SIZE" 'BEGIN {printf "%.1f", b / 1e6}')
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
if hc[:1] != ["CMD"] or "healthcheck" not in hc: problems.append(f"Healthcheck {hc}")
for k, v in {"SAGEMOCK_HOST": "0.0.0.0", "SAGEMOCK_PORT": "9080", "SAGEMOCK_DB": ":memory:",
             "SAGEMOCK_FIXTURES": "/fixtures"}.items():
    if env.get(k) != v: problems.append(f"{k}={env.get(k)!r}")
print("; ".join(problems))
sys.exit(1 if problems else 0)
PY
); then
    pass "image config: non-root user, exec-form ENTRYPOINT, EXPOSE 9080, HEALTHCHECK, container defaults"
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
PID1=$("${CLI[@]}" exec "$A" cat /proc/1/cmdline 2>&1 | tr '\0' ' ')
case "$PID1" in
"/usr/local/bin/sagemock "*) pass "PID 1 is the server itself: $PID1" ;;
*) fail "PID 1 is the server" "PID 1 runs: $PID1" ;;
esac
ID=$("${CLI[@]}" exec "$A" id 2>&1)
case "$ID" in
uid=0*) fail "runs as a non-root user" "$ID" ;;
uid=*) pass "runs as a non-root user: $ID" ;;
*) fail "runs as a non-root user" "$ID" ;;
esac
CC=$("${CLI[@]}" exec "$A" sh -c 'for c in gcc cc c99 clang cmake make; do command -v $c; done; true' 2>&1)
if [ -z "$CC" ]; then pass "no compiler or build tool in the runtime image"; else fail "no compiler in the runtime image" "$CC"; fi
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
echo "# image size:      ${SIZE_MB} MB (base debian:bookworm-slim here: ${BASE_MB} MB; sagemock adds ${ADDED_MB} MB)"
echo "# time to healthy: ${HEALTHY_S} s from 'run' to the first 200 from /_sagemock/health (container B; the server was ready ${B_READY_MS} ms after its container started)"
printf '# stop (SIGTERM):  %s\n' "${STOP_TIMES[@]}"
summary
[ "$FAILED" = 0 ]
