#!/usr/bin/env bash
# run.sh: build the libFuzzer target tests/fuzz/fuzz_request.c with clang (ASan + UBSan),
# replay the kept crashers (tests/fuzz/crashers/: each must now run clean), then fuzz for N
# seconds from the seed corpus (tests/fuzz/corpus/, read only; new inputs go to the build).
#
#   tests/fuzz/run.sh [SECONDS] [libFuzzer flags...]     default 60 seconds
#
# Environment: SAGEMOCK_FUZZ_BUILD (build folder, default /tmp/sagemock-fuzz-build),
# SAGEMOCK_FUZZ_JOBS (parallel fuzzing processes, default 1), SAGEMOCK_FUZZ_RECOVER (UBSan
# checks that only report instead of stopping, e.g. "float-cast-overflow" to fuzz past a known
# finding; each site is reported once, look for "runtime error" in the output). Needs clang and
# libclang-rt-14-dev (Debian). Exits non-zero when the fuzzer found something: the input is
# left in $SAGEMOCK_FUZZ_BUILD/artifacts/ (copy it to tests/fuzz/crashers/ to keep it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${SAGEMOCK_FUZZ_BUILD:-/tmp/sagemock-fuzz-build}
jobs=${SAGEMOCK_FUZZ_JOBS:-1}
cc=${CC_FUZZ:-clang}
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
[ -n "${SAGEMOCK_FUZZ_RECOVER:-}" ] && san="$san -fsanitize-recover=$SAGEMOCK_FUZZ_RECOVER"
flags="-O1 -g $san"
# The core library, instrumented for coverage (fuzzer-no-link), through the project's CMake.
# Warnings stay warnings here (a wrapper appends -Wno-error): the gcc build owns -Werror, and
# clang warns about a few things gcc does not.
mkdir -p "$build"
printf '#!/bin/sh\nexec %s "$@" -Wno-error\n' "$(command -v "$cc")" >"$build/cc"
chmod +x "$build/cc"
cmake -S "$repo" -B "$build/core" -DCMAKE_C_COMPILER="$build/cc" -DCMAKE_BUILD_TYPE=Debug \
    -DSAGEMOCK_TESTS=OFF -DCMAKE_C_FLAGS="$flags -fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build/core" --target sagemock_core -j "$(nproc)" >/dev/null
pkgs="libmicrohttpd libcjson sqlite3 libpcre2-8 libcrypto libcbor"
# The include folders of the layout (CMakeLists.txt's target_include_directories).
incs=()
for d in "$repo"/server/core "$repo"/server/engine "$repo"/server/admin "$repo"/store \
         "$repo"/server/services/*/; do
    incs+=(-I"${d%/}")
done
# shellcheck disable=SC2046,SC2086
"$cc" $flags -fsanitize=fuzzer -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L \
    -D_DEFAULT_SOURCE "${incs[@]}" $(pkg-config --cflags $pkgs) \
    "$here/fuzz_request.c" "$build/core/libsagemock_core.a" $(pkg-config --libs $pkgs) \
    -lpthread -lm -o "$build/fuzz_request"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
halt=1
[ -n "${SAGEMOCK_FUZZ_RECOVER:-}" ] && halt=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=$halt}

# Known crashers first: each must now run clean.
shopt -s nullglob
crashers=("$here"/crashers/*)
if [ ${#crashers[@]} -gt 0 ]; then
    echo "run.sh: replaying ${#crashers[@]} kept crasher(s)"
    "$build/fuzz_request" "${crashers[@]}"
fi

mkdir -p "$build/corpus" "$build/artifacts"
echo "run.sh: fuzzing for $seconds s ($jobs process(es)); new inputs in $build/corpus"
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
"$build/fuzz_request" -max_total_time="$seconds" -dict="$here/sagemock.dict" \
    -max_len=16384 -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/" "${parallel[@]}" "$@" "$build/corpus" "$here/corpus"
