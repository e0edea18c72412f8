#!/usr/bin/env bash
# Smoke test of sagemock with the real AWS CLI v2 (Debian /usr/bin/aws).
#
#   tests/cli/smoke.sh            (SAGEMOCK_BIN overrides <repo>/build/sagemock)
#
# Starts the binary on a free port with a throw-away database, drives it with
# `aws sagemaker ...`, stops it with SIGTERM. Exits non-zero if any check fails; the last line
# is "N passed, N failed".
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="${SAGEMOCK_BIN:-$REPO/build/sagemock}"
AWS=/usr/bin/aws
PY=/usr/bin/python3

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '       %s\n' "$2" | head -c 2000; }
summary() { echo "$PASSED passed, $FAILED failed"; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sagemock-cli.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=x
export AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_PAGER=""
export AWS_EC2_METADATA_DISABLED=true
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN

if [ ! -x "$BIN" ]; then
    fail "sagemock binary at $BIN" "not found or not executable (build it, or set SAGEMOCK_BIN)"
    summary
    exit 1
fi
if [ ! -x "$AWS" ]; then
    fail "AWS CLI at $AWS" "not installed"
    summary
    exit 1
fi

# ------------------------------------------------------------------ start the server
"$BIN" --port 0 --db "$WORK/sm.db" >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
    URL="$(sed -n 's/^sagemock: listening on \(http:\/\/127\.0\.0\.1:[0-9][0-9]*\).*$/\1/p' "$WORK/stdout" | head -n1)"
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$URL" ]; then
    fail "server starts and prints its URL" "stdout: $(cat "$WORK/stdout") stderr: $(tail -c 1500 "$WORK/stderr")"
    summary
    exit 1
fi
pass "server listens on $URL"

# admin METHOD PATH [JSON] -> prints the response body; exit status 0 on HTTP 200
admin() {
    "$PY" - "$URL" "$1" "$2" "${3:-}" <<'EOF'
import sys, urllib.request, urllib.error
url, method, path, body = sys.argv[1:5]
req = urllib.request.Request(url + path, method=method,
                             data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"} if body else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode())
    sys.exit(1)
EOF
}

# jget JSON EXPR -> evaluates a Python expression on the parsed JSON `d`
jget() {
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

sm() { "$AWS" sagemaker --endpoint-url "$URL" --output json "$@"; }

if [ "$(jget "$(admin GET /_sagemock/health)" 'd["status"]')" = "ok" ]; then
    pass "health"
else
    fail "health"
fi

admin POST /_sagemock/clock '{"rate": 0}' >/dev/null && pass "pause the clock" || fail "pause the clock"

job_json() {
    cat <<EOF
{
  "TrainingJobName": "$1",
  "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1", "TrainingInputMode": "File"},
  "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
  "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/", "S3DataDistributionType": "FullyReplicated"}}}],
  "OutputDataConfig": {"S3OutputPath": "s3://bucket/output/"},
  "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
  "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
  "Tags": [{"Key": "team", "Value": "ml"}]
}
EOF
}

JOB="Cli-Smoke-$$"
JOB_LOWER="$(echo "$JOB" | tr 'A-Z' 'a-z')"
ARN_EXPECTED="arn:aws:sagemaker:us-east-1:123456789012:training-job/$JOB_LOWER"

# ------------------------------------------------------------------ create
if OUT="$(sm create-training-job --cli-input-json "$(job_json "$JOB")" 2>"$WORK/err")"; then
    if [ "$(jget "$OUT" 'd["TrainingJobArn"]')" = "$ARN_EXPECTED" ]; then
        pass "create-training-job returns the lower-cased ARN"
    else
        fail "create-training-job returns the lower-cased ARN" "$OUT"
    fi
else
    fail "create-training-job" "$(cat "$WORK/err")"
fi

# the same with plain options rather than JSON input
JOB2="cli-opts-$$"
if sm create-training-job --training-job-name "$JOB2" \
    --algorithm-specification TrainingImage=img:1,TrainingInputMode=File \
    --role-arn arn:aws:iam::123456789012:role/SageMakerRole \
    --output-data-config S3OutputPath=s3://bucket/output \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=10 \
    --stopping-condition MaxRuntimeInSeconds=600 >"$WORK/out" 2>"$WORK/err"; then
    pass "create-training-job with shorthand options"
else
    fail "create-training-job with shorthand options" "$(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ describe (InProgress)
if OUT="$(sm describe-training-job --training-job-name "$JOB" 2>"$WORK/err")"; then
    ST="$(jget "$OUT" 'd["TrainingJobStatus"] + "/" + d["SecondaryStatus"] + "/" + d["SecondaryStatusTransitions"][-1]["StatusMessage"]')"
    if [ "$ST" = "InProgress/Starting/Starting the training job" ]; then
        pass "describe-training-job: InProgress/Starting"
    else
        fail "describe-training-job: InProgress/Starting" "$ST"
    fi
    if [ "$(jget "$OUT" '"Tags" not in d and d["ModelArtifacts"]["S3ModelArtifacts"]')" = "s3://bucket/output/$JOB/output/model.tar.gz" ]; then
        pass "describe-training-job: model artifacts path, no Tags"
    else
        fail "describe-training-job: model artifacts path, no Tags" "$OUT"
    fi
else
    fail "describe-training-job" "$(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ list
if OUT="$(sm list-training-jobs 2>"$WORK/err")"; then
    if [ "$(jget "$OUT" 'sorted(s["TrainingJobName"] for s in d["TrainingJobSummaries"]) == sorted(["'"$JOB"'", "'"$JOB2"'"])')" = "True" ]; then
        pass "list-training-jobs lists both jobs"
    else
        fail "list-training-jobs lists both jobs" "$OUT"
    fi
else
    fail "list-training-jobs" "$(cat "$WORK/err")"
fi
if OUT="$(sm list-training-jobs --name-contains CLI-SMOKE --status-equals InProgress 2>"$WORK/err")" &&
    [ "$(jget "$OUT" '[s["TrainingJobName"] for s in d["TrainingJobSummaries"]]')" = "['$JOB']" ]; then
    pass "list-training-jobs --name-contains (case-insensitive) --status-equals"
else
    fail "list-training-jobs --name-contains --status-equals" "${OUT:-} $(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ tags
if OUT="$(sm list-tags --resource-arn "$ARN_EXPECTED" 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["Tags"]')" = "[{'Key': 'team', 'Value': 'ml'}]" ]; then
    pass "list-tags shows the tags given at creation"
else
    fail "list-tags" "${OUT:-} $(cat "$WORK/err")"
fi
if sm add-tags --resource-arn "$ARN_EXPECTED" --tags Key=env,Value=ci >/dev/null 2>"$WORK/err" &&
    OUT="$(sm list-tags --resource-arn "$ARN_EXPECTED" 2>>"$WORK/err")" &&
    [ "$(jget "$OUT" '[t["Key"] for t in d["Tags"]]')" = "['team', 'env']" ]; then
    pass "add-tags then list-tags"
else
    fail "add-tags then list-tags" "${OUT:-} $(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ wait (already Completed)
# The CLI waiter polls every 120 s and cannot be told otherwise: its first poll is immediate,
# so advance the simulated clock past the 10 s plan before waiting.
admin POST /_sagemock/clock '{"advance": 11}' >/dev/null || fail "advance the clock"
START=$(date +%s)
if timeout 60 "$AWS" sagemaker --endpoint-url "$URL" wait training-job-completed-or-stopped \
    --training-job-name "$JOB" 2>"$WORK/err"; then
    if [ $(( $(date +%s) - START )) -lt 30 ]; then
        pass "wait training-job-completed-or-stopped returns at once for a Completed job"
    else
        fail "wait returned, but slowly"
    fi
else
    fail "wait training-job-completed-or-stopped" "$(cat "$WORK/err")"
fi
if OUT="$(sm describe-training-job --training-job-name "$JOB" 2>"$WORK/err")"; then
    CHECK='d["TrainingJobStatus"] == "Completed" and d["SecondaryStatus"] == "Completed" and [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting","Downloading","Training","Uploading","Completed"] and d["TrainingTimeInSeconds"] == 7 and d["BillableTimeInSeconds"] == 7'
    if [ "$(jget "$OUT" "$CHECK")" = "True" ]; then
        pass "describe-training-job: Completed with the full history"
    else
        fail "describe-training-job: Completed with the full history" "$OUT"
    fi
    # CLI v2 prints timestamps as ISO 8601 (it parsed the epoch numbers)
    if [ "$(jget "$OUT" '__import__("datetime").datetime.fromisoformat(d["CreationTime"]).year >= 2024')" = "True" ]; then
        pass "timestamps parse (CLI prints ISO 8601)"
    else
        fail "timestamps parse" "$(jget "$OUT" 'd["CreationTime"]')"
    fi
else
    fail "describe-training-job after wait" "$(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ stop + wait with a fast clock
JOB3="cli-stop-$$"
sm create-training-job --cli-input-json "$(job_json "$JOB3")" >/dev/null 2>"$WORK/err" || fail "create $JOB3" "$(cat "$WORK/err")"
if sm stop-training-job --training-job-name "$JOB3" 2>"$WORK/err" >/dev/null &&
    OUT="$(sm describe-training-job --training-job-name "$JOB3" 2>>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["TrainingJobStatus"] + "/" + d["SecondaryStatus"]')" = "Stopping/Starting" ]; then
    pass "stop-training-job: Stopping at once, the step in progress still shown"
else
    fail "stop-training-job" "${OUT:-} $(cat "$WORK/err")"
fi
admin POST /_sagemock/clock '{"rate": 100}' >/dev/null || fail "set rate 100"
sleep 0.3  # 30 simulated seconds: Stopped
if timeout 60 "$AWS" sagemaker --endpoint-url "$URL" wait training-job-completed-or-stopped \
    --training-job-name "$JOB3" 2>"$WORK/err" &&
    OUT="$(sm describe-training-job --training-job-name "$JOB3" 2>>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["TrainingJobStatus"] + "/" + d["SecondaryStatus"]')" = "Stopped/Stopped" ]; then
    pass "wait on a stopped job (clock rate 100)"
else
    fail "wait on a stopped job (clock rate 100)" "${OUT:-} $(cat "$WORK/err")"
fi
admin POST /_sagemock/clock '{"rate": 0}' >/dev/null

if sm stop-training-job --training-job-name "$JOB" >/dev/null 2>"$WORK/err"; then
    fail "stop of a Completed job is refused"
elif grep -q "ValidationException" "$WORK/err" &&
    grep -qF "The request was rejected because the training job is in status Completed." "$WORK/err"; then
    pass "stop of a Completed job is refused with its status"
else
    fail "stop of a Completed job is refused with its status" "$(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ errors
sm describe-training-job --training-job-name "no-such-job-$$" >/dev/null 2>"$WORK/err"
RC=$?
if [ $RC -ne 0 ] && grep -q "ValidationException" "$WORK/err" &&
    grep -qF "Requested resource not found." "$WORK/err"; then
    pass "describe of a missing job exits $RC with ValidationException"
else
    fail "describe of a missing job" "rc=$RC $(cat "$WORK/err")"
fi

timeout 60 "$AWS" sagemaker --endpoint-url "$URL" wait training-job-completed-or-stopped \
    --training-job-name "no-such-job-$$" >/dev/null 2>"$WORK/err"
RC=$?
if [ $RC -ne 0 ] && [ $RC -ne 124 ] && grep -q "ValidationException\|failed" "$WORK/err"; then
    pass "wait on a missing job fails at once (rc $RC)"
else
    fail "wait on a missing job fails at once" "rc=$RC $(cat "$WORK/err")"
fi

sm create-training-job --cli-input-json "$(job_json "$JOB")" >/dev/null 2>"$WORK/err"
RC=$?
if [ $RC -ne 0 ] && grep -q "ResourceInUse" "$WORK/err" && grep -qF "($ARN_EXPECTED)" "$WORK/err"; then
    pass "create with a taken name: ResourceInUse naming the existing ARN"
else
    fail "create with a taken name" "rc=$RC $(cat "$WORK/err")"
fi

sm create-training-job --cli-input-json "$(job_json bad_name)" >/dev/null 2>"$WORK/err"
RC=$?
if [ $RC -ne 0 ] && grep -qF "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" "$WORK/err"; then
    pass "invalid name: the Coral validation message"
else
    fail "invalid name" "rc=$RC $(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ CloudWatch Logs, STS, IAM
# The same endpoint serves the log group /aws/sagemaker/TrainingJobs, STS and IAM.
GROUP=/aws/sagemaker/TrainingJobs
awsx() { svc="$1"; shift; "$AWS" "$svc" --endpoint-url "$URL" --output json "$@"; }

# $JOB ran to Completed above: one stream, algo-1, named after its first container start
if OUT="$(awsx logs describe-log-streams --log-group-name "$GROUP" --log-stream-name-prefix "$JOB/" 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'len(d["logStreams"]) == 1 and __import__("re").fullmatch(r"'"$JOB"'/algo-1-\d{10}", d["logStreams"][0]["logStreamName"]) is not None')" = "True" ]; then
    pass "logs describe-log-streams: one stream <job>/algo-1-<epoch seconds>"
    STREAM="$(jget "$OUT" 'd["logStreams"][0]["logStreamName"]')"
else
    fail "logs describe-log-streams" "${OUT:-} $(cat "$WORK/err")"
    STREAM="$JOB/algo-1-0"
fi
if OUT="$(awsx logs get-log-events --log-group-name "$GROUP" --log-stream-name "$STREAM" --start-from-head 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["events"][0]["message"] == "Downloading input data for channel train from s3://bucket/train/" and d["events"][-1]["message"].endswith("Reporting training SUCCESS") and d["nextForwardToken"].startswith("f/")')" = "True" ]; then
    pass "logs get-log-events --start-from-head: the job's story, download to SUCCESS"
else
    fail "logs get-log-events" "${OUT:-} $(cat "$WORK/err")"
fi
if OUT="$(awsx logs get-log-events --log-group-name "$GROUP" --log-stream-name "$STREAM" --limit 2 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'len(d["events"]) == 2 and d["events"][-1]["message"].endswith("Reporting training SUCCESS")')" = "True" ]; then
    pass "logs get-log-events --limit 2: the newest two events"
else
    fail "logs get-log-events --limit 2" "${OUT:-} $(cat "$WORK/err")"
fi

# a job with a metric: the regex over filter-log-events ends at Describe's FinalMetricDataList
JOB4="cli-logs-$$"
JOB4_JSON="$(job_json "$JOB4" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d["AlgorithmSpecification"]["MetricDefinitions"]=[{"Name":"train:loss","Regex":"train:loss=([0-9\\.]+)"}]; d["HyperParameters"]={"epochs":"3"}; d["ResourceConfig"]["InstanceCount"]=2; print(json.dumps(d))')"
if sm create-training-job --cli-input-json "$JOB4_JSON" >/dev/null 2>"$WORK/err" &&
    admin POST /_sagemock/clock '{"advance": 30}' >/dev/null &&
    FLT="$(awsx logs filter-log-events --log-group-name "$GROUP" --log-stream-name-prefix "$JOB4/" --filter-pattern "train:loss=" 2>>"$WORK/err")" &&
    DSC="$(sm describe-training-job --training-job-name "$JOB4" 2>>"$WORK/err")"; then
    FINAL="$(jget "$DSC" 'd["FinalMetricDataList"][0]["Value"]')"
    CHECK='[float(e["message"].split("=")[1]) for e in d["events"]]'
    VALUES="$(jget "$FLT" "$CHECK")"
    if [ "$(jget "$FLT" 'len(d["events"]) == 6 and len({e["logStreamName"] for e in d["events"]}) == 2 and [e["timestamp"] for e in d["events"]] == sorted(e["timestamp"] for e in d["events"])')" = "True" ] &&
        [ "$(jget "$FLT" "$CHECK"'[-1] == '"$FINAL")" = "True" ]; then
        pass "logs filter-log-events: 3 epochs x 2 hosts, interleaved; last train:loss = FinalMetricDataList ($FINAL)"
    else
        fail "logs filter-log-events: metric series" "values=$VALUES final=$FINAL $FLT"
    fi
else
    fail "logs filter-log-events" "$(cat "$WORK/err")"
fi
if OUT="$(awsx logs describe-log-streams --log-group-name /aws/other 2>&1 >/dev/null)"; then
    fail "logs: another group is not found" "succeeded"
elif echo "$OUT" | grep -q "ResourceNotFoundException" && echo "$OUT" | grep -qF "The specified log group does not exist."; then
    pass "logs: another group is ResourceNotFoundException"
else
    fail "logs: another group is not found" "$OUT"
fi
if OUT="$(awsx logs put-log-events --log-group-name "$GROUP" --log-stream-name s --log-events timestamp=1,message=m 2>&1 >/dev/null)"; then
    fail "logs put-log-events is not served" "succeeded"
elif echo "$OUT" | grep -q "UnknownOperationException" && echo "$OUT" | grep -q "CloudWatch Logs" && echo "$OUT" | grep -q "PutLogEvents"; then
    pass "logs put-log-events: UnknownOperationException naming CloudWatch Logs and PutLogEvents"
else
    fail "logs put-log-events is not served" "$OUT"
fi

if OUT="$(awsx sts get-caller-identity 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["Account"] == "123456789012" and d["Arn"] == "arn:aws:iam::123456789012:user/sagemock" and d["UserId"].startswith("AIDA")')" = "True" ]; then
    pass "sts get-caller-identity: account 123456789012, user/sagemock"
else
    fail "sts get-caller-identity" "${OUT:-} $(cat "$WORK/err")"
fi
if OUT="$(awsx iam get-role --role-name SageMakerRole 2>"$WORK/err")" &&
    [ "$(jget "$OUT" 'd["Role"]["Arn"] == "arn:aws:iam::123456789012:role/SageMakerRole" and d["Role"]["Path"] == "/" and d["Role"]["RoleId"].startswith("AROA") and __import__("datetime").datetime.fromisoformat(d["Role"]["CreateDate"]).year >= 2010')" = "True" ]; then
    pass "iam get-role: the role's ARN, path, id and creation date"
else
    fail "iam get-role" "${OUT:-} $(cat "$WORK/err")"
fi
admin POST /_sagemock/fixtures '{"iam": {"missingRoles": ["missing-*"]}}' >/dev/null || fail "load a missing-role fixture"
awsx iam get-role --role-name missing-x >/dev/null 2>"$WORK/err"
RC=$?
if [ $RC -ne 0 ] && grep -q "NoSuchEntity" "$WORK/err" && grep -qF "The role with name missing-x cannot be found." "$WORK/err"; then
    pass "iam get-role of a missing role: NoSuchEntity (rc $RC)"
else
    fail "iam get-role of a missing role" "rc=$RC $(cat "$WORK/err")"
fi

# ------------------------------------------------------------------ stop the server
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
RC=$?
SERVER_PID=""
if [ $RC -eq 0 ]; then
    pass "SIGTERM: clean exit 0"
else
    fail "SIGTERM: clean exit 0" "rc=$RC stderr: $(tail -c 1500 "$WORK/stderr")"
fi

summary
[ "$FAILED" -eq 0 ]
