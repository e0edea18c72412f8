#!/usr/bin/env bash
# The real SageMaker Python SDK against the real binary (tests/pysdk/test_sdk.py).
#
#   tests/pysdk/run.sh        (SAGEMOCK_BIN overrides <repo>/build/sagemock)
#
# The SDK is not part of sagemock: it lives in ../shared/vendor/sagemaker-python-sdk, made
# importable by ../shared/tools/pysdk-env (Debian packages, plus the machine's boto3 1.43).
# Where ../shared or a botocore >= 1.42 is absent the suite says so and is skipped (exit 77,
# which ctest reports as skipped); no other suite needs it.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ENV_TOOL="$REPO/../shared/tools/pysdk-env"
if [ ! -x "$ENV_TOOL" ] && [ ! -f "$ENV_TOOL" ]; then
    echo "SKIPPED: the SageMaker Python SDK suite needs ../shared (tools/pysdk-env and" \
         "vendor/sagemaker-python-sdk), which is absent beside this checkout ($REPO/../shared)."
    exit 77
fi
if ! env_lines="$(bash "$ENV_TOOL" 2>"${TMPDIR:-/tmp}/sagemock-pysdk-env.log")"; then
    echo "SKIPPED: ../shared/tools/pysdk-env could not prepare the SDK:"
    tail -3 "${TMPDIR:-/tmp}/sagemock-pysdk-env.log"
    exit 77
fi
eval "$env_lines"
cd "$HERE" && exec "$PYSDK_PY" -m pytest -q -p no:cacheprovider "$HERE" "$@"
