#!/usr/bin/env bash
# The sagemock benchmark: one command (tests/bench/README.md).
#   tests/bench/run.sh           full run, writes docs/BENCHMARKS.md (several minutes)
#   tests/bench/run.sh --short   CI run: seconds, no thresholds; non-zero when broken
# Needs wrk (Debian package wrk), cmake, a C compiler, pkg-config and libmicrohttpd's headers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec /usr/bin/python3 "$here/bench.py" "$@"
