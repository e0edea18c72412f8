#!/usr/bin/env bash
# docker/podman.sh: build and run the sagemock image with podman where no Docker engine runs
# and no container registry answers (Debian 12, as root; through `sudo -n` otherwise).
#
#   docker/podman.sh build [podman build flags]     build docker/Dockerfile as sagemock:latest
#   docker/podman.sh run --rm -p 127.0.0.1:9080:9080 sagemock
#   docker/podman.sh images | ps | logs | ...       any other command: podman itself, with the
#                                                   private configuration (see below)
#   docker/podman.sh setup                          only prepare (what `build` does first)
#   docker/podman.sh net-save | net-restore         remember the host's network state before
#                                                   running containers; undo podman's changes
#                                                   once none is left (setup and build do this
#                                                   themselves for their RUN steps)
#
# What setup does (each step once; later runs take a second):
#  1. installs podman, runc, netavark, aardvark-dns, iptables and debootstrap from Debian;
#  2. writes a private configuration in $SAGEMOCK_PODMAN_ROOT (default /tmp/sagemock-podman):
#     its own image store; explicit ulimits, because podman's default nofile (1048576) can be
#     above the hard limit, and then every container fails with "setrlimit RLIMIT_NOFILE:
#     Operation not permitted"; the runc runtime, because crun 1.8 refuses hybrid cgroups;
#     cgroupfs and a file event log, so no systemd is needed;
#  3. makes the build stage's base, debian:bookworm-slim, without a registry: debootstrap
#     --variant=minbase from the Debian mirror apt already uses, imported under that name
#     (about a minute; BASE_REFRESH=1 makes it again);
#  4. starts one container from it: proof that podman can run containers on this machine.
# `build` then runs podman build --pull=never --format docker (the OCI format would drop the
# HEALTHCHECK) on the repository with docker/Dockerfile, unless -f/--file or -t/--tag say
# otherwise. The build stage's apt-get reaches the same Debian mirror.
#
# Exit status 3, the reason on stderr, when this machine cannot do it: not root and no
# passwordless sudo, no apt-get, the packages do not install, no bookworm mirror in apt's
# sources, or podman cannot start a container here. tests/docker/run.sh reports that as a skip.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ROOT=${SAGEMOCK_PODMAN_ROOT:-/tmp/sagemock-podman}
BASE=docker.io/library/debian:bookworm-slim
PACKAGES=(podman runc netavark aardvark-dns iptables debootstrap debian-archive-keyring)

unsupported() {
    echo "docker/podman.sh: not possible on this machine: $*" >&2
    exit 3
}
say() { echo "docker/podman.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n env SAGEMOCK_PODMAN_ROOT="$ROOT" BASE_REFRESH="${BASE_REFRESH:-0}" \
            "${BASH_SOURCE[0]}" "$@"
    fi
    unsupported "rootful podman needs root, and there is no passwordless sudo"
fi
case "$ROOT" in /*) ;; *) echo "SAGEMOCK_PODMAN_ROOT must be an absolute path" >&2; exit 2 ;; esac

export CONTAINERS_CONF="$ROOT/conf/containers.conf"
export CONTAINERS_STORAGE_CONF="$ROOT/conf/storage.conf"
export TMPDIR="$ROOT/tmp"

write_config() {
    local nofile nproc
    mkdir -p "$ROOT/conf" "$ROOT/tmp" "$ROOT/run"
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=1048576
    nproc=$(ulimit -Hu)
    { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
    cat >"$ROOT/conf/storage.conf.new" <<EOF
[storage]
driver = "${STORAGE_DRIVER:-overlay}"
runroot = "$ROOT/run/storage"
graphroot = "$ROOT/storage"
EOF
    cat >"$ROOT/conf/containers.conf.new" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$ROOT/run/events.log"
tmp_dir = "$ROOT/run/libpod"
image_copy_tmp_dir = "$ROOT/tmp"
[network]
network_config_dir = "$ROOT/run/networks"
EOF
    mv "$ROOT/conf/storage.conf.new" "$ROOT/conf/storage.conf"
    mv "$ROOT/conf/containers.conf.new" "$ROOT/conf/containers.conf"
}

install_packages() {
    local missing=() p
    command -v dpkg-query >/dev/null ||
        unsupported "not a Debian system: podman and debootstrap come from Debian's packages here"
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || unsupported "${missing[*]} missing, and no apt-get"
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
        unsupported "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        unsupported "apt-get install ${missing[*]} failed"
}

# debian:bookworm-slim from the Debian mirror apt uses (read from apt at run time).
make_base() {
    local sources mirror rootfs t0
    if [ "${BASE_REFRESH:-0}" != 1 ] && podman image exists "$BASE"; then return 0; fi
    sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' |
        awk '$3 == "deb" && $2 ~ /^bookworm(-updates|-security)?$/ {print $1, $2}' | sort -u)
    mirror=$(awk '$2 == "bookworm" {print $1; exit}' <<<"$sources")
    [ -n "$mirror" ] || unsupported "no Debian bookworm mirror in apt's sources (apt-get indextargets)"
    rootfs="$ROOT/base-rootfs"
    rm -rf "$rootfs"
    t0=$(date +%s)
    say "debootstrap --variant=minbase bookworm from $mirror (log: $ROOT/debootstrap.log)"
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$ROOT/debootstrap.log" 2>&1; then
        tail -n 20 "$ROOT/debootstrap.log" >&2
        rm -rf "$rootfs"
        unsupported "debootstrap from $mirror failed"
    fi
    # The same sources as the host (main, -updates, -security); no package lists or caches.
    awk '{printf "deb %s %s main\n", $1, $2}' <<<"$sources" >"$rootfs/etc/apt/sources.list"
    find "$rootfs/var/cache/apt/archives" "$rootfs/var/lib/apt/lists" -maxdepth 1 -type f \
        ! -name lock -delete
    rm -f "$rootfs/var/cache/apt/"*.bin
    # What the official image sets up for apt in containers: no caches kept, no translations.
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    echo 'force-unsafe-io' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    tar -C "$rootfs" -c . | podman import -q --change 'CMD ["bash"]' - "$BASE" >/dev/null
    podman tag "$BASE" docker.io/library/debian:bookworm localhost/debian:bookworm-slim
    rm -rf "$rootfs"
    say "base image $BASE made in $(($(date +%s) - t0)) s"
}

# -------------------------------------------------------------- host network state (rootful)
# Rootful podman's bridge networking changes the host: iptables NETAVARK chains, ip_forward,
# /run/containers/networks, /var/lib/containers/cache. net-save records what existed before;
# net-restore undoes the rest, but only once no container is left in this store.
net_save() {
    local f="$ROOT/run/net-before" state
    mkdir -p "$ROOT/run"
    # first the state (any podman command creates /run/containers/networks), then the decision
    state=$(
        echo "FWD=$(cat /proc/sys/net/ipv4/ip_forward)"
        if iptables -t nat -S NETAVARK-HOSTPORT-DNAT >/dev/null 2>&1; then echo FW=1; else echo FW=0; fi
        if [ -e /run/containers/networks ]; then echo IPAM=1; else echo IPAM=0; fi
        if [ -e /var/lib/containers ]; then echo CACHE=1; else echo CACHE=0; fi
        echo "NFT='$(nft list tables 2>/dev/null | tr '\n' ',' || true)'"
    )
    [ -s "$f" ] && [ -n "$(podman ps -aq 2>/dev/null)" ] && return 0 # an earlier save still holds
    printf '%s\n' "$state" >"$f"
}
net_restore() {
    local f="$ROOT/run/net-before" t c rule FWD FW IPAM CACHE NFT
    set +e # best effort, and never the reason for an exit status (it also runs as an EXIT trap)
    [ -s "$f" ] || return 0
    [ -z "$(podman ps -aq 2>/dev/null)" ] || return 0
    # conmon's cleanup of a container just removed (`podman container cleanup`, on the network
    # too) runs after `rm` returns: wait until no process of this store is left, for 5 s at most.
    local quiet=0 _
    for _ in $(seq 1 50); do
        if pgrep -f -- "$ROOT/storage" >/dev/null; then quiet=0; else quiet=$((quiet + 1)); fi
        [ "$quiet" -ge 3 ] && break
        sleep 0.1
    done
    # shellcheck disable=SC1090
    . "$f"
    if [ "$FW" = 0 ]; then
        for t in nat filter; do
            iptables -t "$t" -S 2>/dev/null |
                awk '/^-A (PREROUTING|INPUT|OUTPUT|FORWARD|POSTROUTING) .*-j NETAVARK/ {sub(/^-A/, "-D"); print}' |
                while read -r rule; do eval "iptables -t $t $rule" || true; done
            for c in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N NETAVARK/ {print $2}'); do iptables -t "$t" -F "$c" || true; done
            for c in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N NETAVARK/ {print $2}'); do iptables -t "$t" -X "$c" || true; done
        done
        for t in nat filter; do # tables iptables-nft made for netavark, now empty
            case ",$NFT," in *",table ip $t,"*) continue ;; esac
            if nft list table ip "$t" >/dev/null 2>&1 &&
                [ -z "$(nft list table ip "$t" | grep -vE '^[[:space:]]*(table|chain|type|policy|\}|$)')" ]; then
                nft delete table ip "$t" || true
            fi
        done
    fi
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$FWD" ] || echo "$FWD" >/proc/sys/net/ipv4/ip_forward
    if [ "$IPAM" = 0 ]; then rm -rf /run/containers/networks; rmdir /run/containers 2>/dev/null || true; fi
    if [ "$CACHE" = 0 ]; then rm -rf /var/lib/containers/cache; rmdir /var/lib/containers 2>/dev/null || true; fi
    rm -f "$f"
}

setup() {
    command -v flock >/dev/null || unsupported "no flock (util-linux)"
    mkdir -p "$ROOT"
    exec 9>"$ROOT/lock"
    flock 9 # one setup or build at a time in this store
    install_packages
    write_config
    net_save # builds change the host network too (their RUN steps): undone at the end
    trap net_restore EXIT
    make_base
    local out
    out=$(podman run --rm --pull=never --network=none "$BASE" true 2>&1) ||
        unsupported "podman cannot start a container here: $out"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
help | -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    ;;
setup)
    setup # (its EXIT trap undoes the host network changes)
    ;;
build)
    setup
    args=(--pull=never --format docker)
    file="$REPO/docker/Dockerfile" have_file=0 have_tag=0 stage_args=()
    prev=""
    for a in "$@"; do
        case "$prev" in -f | --file) file=$a ;; esac
        case "$a" in
        -f | --file) have_file=1 ;;
        --file=*) have_file=1 file=${a#--file=} ;;
        -t | --tag | --tag=*) have_tag=1 ;;
        --no-cache) stage_args+=(--no-cache) ;;
        esac
        prev=$a
    done
    [ "$have_file" = 1 ] || args+=(-f "$file")
    [ "$have_tag" = 1 ] || args+=(-t sagemock:latest)
    # The build stage under a name of its own, so that pruning what earlier builds left behind
    # keeps its layers (the apt-get step) as the cache of the next build.
    if grep -qiE '^FROM[[:space:]].*[[:space:]]AS[[:space:]]+build[[:space:]]*$' "$file"; then
        podman build --pull=never --format docker --target build -t localhost/sagemock-build:cache \
            -f "$file" "${stage_args[@]}" "$REPO"
    fi
    podman build "${args[@]}" "$@" "$REPO"
    podman image prune -f >/dev/null
    ;;
net-save)
    net_save
    ;;
net-restore)
    net_restore
    ;;
podman)
    [ -s "$CONTAINERS_CONF" ] || write_config
    exec podman "$@"
    ;;
*)
    command -v podman >/dev/null || { echo "docker/podman.sh: no podman yet: run docker/podman.sh setup" >&2; exit 1; }
    [ -s "$CONTAINERS_CONF" ] || write_config
    exec podman "$cmd" "$@"
    ;;
esac
