"""CloudWatch Logs (awsJson 1.1, Logs_20140328.*) as a training job's user reads it, with the real
boto3 logs client: the log group /aws/sagemaker/TrainingJobs, one stream per instance named
"<job>/algo-<n>-<epoch seconds>", events that never run ahead of the simulated clock and that
tell the job's story (metric lines that end at Describe's FinalMetricDataList, the traceback of
an AlgorithmError, the SIGTERM of a stop), and the service's paging, filtering and errors.

Every response is checked against server/services/logs/model/logs-service-2.json by the
conformance checker (conftest.py fails a test that received a bad one).

Run: SAGEMOCK_BIN=build/sagemock PYTHONPATH=tests/e2e/strict \
     /usr/bin/python3 -m pytest -q -p boto3_plugin tests/e2e/test_logs.py
"""

import pytest
from botocore.exceptions import ClientError

from awsclients import (GROUP, METRIC_ACC, METRIC_LOSS, all_events, client, create_job,
                        messages, raw_json, series, streams_of)
from helpers import describe_raw, error_of, ms, unique_name

SCENARIOS = {"scenarios": [
    {"name": "logs-metrics", "extends": "success",
     "metrics": {"train:loss": 0.0421, "validation:accuracy": 0.9375}},
    {"name": "logs-metrics-failed", "extends": "algorithm-error", "metrics": {"train:loss": 9.5}},
    {"name": "logs-long", "extends": "success",
     "steps": [{"status": "Starting", "durationSeconds": 3,
                "messages": [{"atSeconds": 0, "text": "Starting the training job"}]},
               {"status": "Downloading", "durationSeconds": 2,
                "messages": [{"atSeconds": 0, "text": "Downloading input data"}]},
               {"status": "Training", "durationSeconds": 100,
                "messages": [{"atSeconds": 0, "text": "Training in progress."}]},
               {"status": "Uploading", "durationSeconds": 2,
                "messages": [{"atSeconds": 0, "text": "Uploading generated training model"}]}]},
]}


@pytest.fixture(scope="module", autouse=True)
def user_scenarios(server):
    status, body, raw = server.admin("POST", "/_sagemock/fixtures", SCENARIOS)
    assert status == 200, raw
    assert body["scenarios"] == len(SCENARIOS["scenarios"])


@pytest.fixture(scope="module")
def logs(server):
    return client(server, "logs")


@pytest.fixture(scope="module")
def finished(server, sm, logs):
    """Jobs that ran to their end, made once for the read-only tests: a two-instance success
    with two metrics and 5 epochs, and a one-instance algorithm-error."""
    server.pause()
    ok = create_job(sm, unique_name("logs-ok"), "logs-metrics", instances=2,
                    metrics=[METRIC_LOSS, METRIC_ACC], hyperparameters={"epochs": "5"})
    failed = create_job(sm, unique_name("logs-fail"), "algorithm-error", metrics=[METRIC_LOSS])
    server.advance(60)
    server.set_rate(1)
    return {"ok": ok, "failed": failed,
            "ok_streams": [s["logStreamName"] for s in streams_of(logs, ok)],
            "failed_streams": [s["logStreamName"] for s in streams_of(logs, failed)]}


def error(exc_info):
    return error_of(exc_info)


# ------------------------------------------------------------------------------ streams
def test_streams_one_per_instance_appear_when_the_job_reaches_downloading(server, sm, logs,
                                                                        paused):
    name = create_job(sm, unique_name("logs-appear"), instances=2)
    server.advance(2.999)  # still Starting: no container has started
    assert describe_raw(sm, name)["SecondaryStatus"] == "Starting"
    assert streams_of(logs, name) == []
    server.advance(0.001)  # Downloading starts: the containers start
    d = describe_raw(sm, name)
    assert d["SecondaryStatus"] == "Downloading"
    start_ms = ms(d["SecondaryStatusTransitions"][1]["StartTime"])
    streams = streams_of(logs, name)
    epoch = start_ms // 1000
    assert [s["logStreamName"] for s in streams] == [f"{name}/algo-1-{epoch}",
                                                     f"{name}/algo-2-{epoch}"]
    for s in streams:
        assert s["creationTime"] == start_ms
        assert s["arn"] == ("arn:aws:logs:us-east-1:123456789012:log-group:"
                            f"{GROUP}:log-stream:{s['logStreamName']}")
        # nothing ingested yet: no event times
        assert "firstEventTimestamp" not in s and "lastEventTimestamp" not in s, s
    server.advance(1)
    for s in streams_of(logs, name):
        assert s["firstEventTimestamp"] == start_ms
        assert start_ms <= s["lastEventTimestamp"] <= s["lastIngestionTime"] <= ms(server.now())


def test_a_job_that_never_starts_a_container_has_no_stream(server, sm, logs, paused):
    name = create_job(sm, unique_name("logs-cap"), "capacity-error")
    server.advance(60)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Failed"
    assert streams_of(logs, name) == []


def test_no_event_is_later_than_now_and_earlier_reads_are_prefixes(server, sm, logs, paused):
    name = create_job(sm, unique_name("logs-prefix"), metrics=[METRIC_LOSS])
    seen = {}
    steps = [3, 0.5, 0.5, 1, 0.7, 0.3, 0.25, 0.25, 0.5, 1, 1, 1, 1, 5]
    for step in steps:
        server.advance(step)
        now = ms(server.now())
        for s in streams_of(logs, name):
            sname = s["logStreamName"]
            events, _ = all_events(logs, sname)
            for e in events:
                assert e["timestamp"] <= e["ingestionTime"] <= now, (e, now)
            ts = [e["timestamp"] for e in events]
            assert ts == sorted(ts)
            ing = [e["ingestionTime"] for e in events]
            assert ing == sorted(ing), "ingestion times never decrease"
            before = seen.get(sname, [])
            assert events[:len(before)] == before, f"the log at an earlier now is a prefix ({sname})"
            seen[sname] = events
    assert len(seen) == 1
    final = list(seen.values())[0]
    assert "Reporting training SUCCESS" in final[-1]["message"]


# ------------------------------------------------------------------------------ the story
def test_metric_regex_over_the_log_ends_at_the_final_metric_value(sm, logs, finished):
    d = describe_raw(sm, finished["ok"])
    assert d["TrainingJobStatus"] == "Completed"
    final = {m["MetricName"]: m for m in d["FinalMetricDataList"]}
    assert final["train:loss"]["Value"] == 0.0421 and final["validation:accuracy"]["Value"] == 0.9375
    assert len(finished["ok_streams"]) == 2
    per_stream = []
    for stream in finished["ok_streams"]:
        events, _ = all_events(logs, stream)
        msgs = messages(events)
        assert [m for m in msgs if m.startswith("Epoch ")] == [f"Epoch {k}/5" for k in range(1, 6)]
        got = {}
        for md in (METRIC_LOSS, METRIC_ACC):
            points = series(events, md["Regex"])
            assert len(points) == 5, (md, points)  # one value per epoch
            ts, value = points[-1]
            assert value == final[md["Name"]]["Value"], (md["Name"], points)
            # the last value is printed at the FinalMetricDataList timestamp
            assert ts == ms(final[md["Name"]]["Timestamp"]), (ts, final[md["Name"]])
            got[md["Name"]] = [v for _, v in points]
        per_stream.append(got)
        assert any("Training complete." == m for m in msgs)
        assert "Reporting training SUCCESS" in msgs[-1]
    assert per_stream[0] == per_stream[1], "every host prints the same values"


def test_the_default_metric_value_also_agrees_with_describe(server, sm, logs, paused):
    name = create_job(sm, unique_name("logs-default-metric"), metrics=[METRIC_LOSS])
    server.advance(30)
    value = describe_raw(sm, name)["FinalMetricDataList"][0]["Value"]
    (stream,) = [s["logStreamName"] for s in streams_of(logs, name)]
    points = series(all_events(logs, stream)[0], METRIC_LOSS["Regex"])
    assert len(points) == 10  # no epochs hyperparameter: 10
    assert points[-1][1] == value


def test_a_failed_job_reports_the_last_metric_value_its_log_printed(server, sm, logs, paused):
    """SageMaker reads FinalMetricDataList off the log: for a job that failed in Training, the
    last value the regex finds in the log is the value Describe reports."""
    name = create_job(sm, unique_name("logs-fail-metric"), "logs-metrics-failed",
                      metrics=[METRIC_LOSS])
    server.advance(30)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    (fm,) = d["FinalMetricDataList"]
    (stream,) = [s["logStreamName"] for s in streams_of(logs, name)]
    points = series(all_events(logs, stream)[0], METRIC_LOSS["Regex"])
    assert points, "the job trained: its log has metric lines"
    assert points[-1][1] == fm["Value"], (
        f"log's last train:loss {points[-1]} != FinalMetricDataList {fm}")


def test_the_algorithm_error_log_ends_with_a_traceback_holding_the_failure_reason(
        sm, logs, finished):
    d = describe_raw(sm, finished["failed"])
    assert d["TrainingJobStatus"] == "Failed"
    reason = d["FailureReason"]
    assert reason.startswith("AlgorithmError: ")
    reason_lines = reason[len("AlgorithmError: "):].split("\n")
    (stream,) = finished["failed_streams"]
    msgs = messages(all_events(logs, stream)[0])
    tb = max(i for i, m in enumerate(msgs) if m == "Traceback (most recent call last):")
    tail = msgs[tb:]
    # the frames, then the reason (one event per line), then the toolkit's report
    assert tail[-1].endswith("sagemaker-training-toolkit ERROR    Reporting training FAILURE")
    assert tail[-1 - len(reason_lines):-1] == reason_lines, tail
    assert all(m.startswith("  File ") or m.startswith("    ") for m in
               tail[1:-1 - len(reason_lines)]), tail
    assert not any("Training complete." == m or "SUCCESS" in m for m in msgs)


def test_a_stopped_job_shows_sigterm_and_no_success(server, sm, logs, paused):
    name = create_job(sm, unique_name("logs-stop"), "logs-long", metrics=[METRIC_LOSS])
    server.advance(30)  # 25 s into a 100 s Training
    sm.stop_training_job(TrainingJobName=name)
    # the container gets SIGTERM when the Stopping entry begins, half the 2 s stop delay after
    # the call (right after it, SecondaryStatus still says Training)
    stop_ms = ms(server.now()) + 1000
    server.advance(30)
    d = describe_raw(sm, name)
    assert d["TrainingJobStatus"] == "Stopped"
    (stream,) = [s["logStreamName"] for s in streams_of(logs, name)]
    events, _ = all_events(logs, stream)
    msgs = messages(events)
    sig = [e for e in events if e["message"] == "Received SIGTERM: stopping the training job"]
    assert len(sig) == 1, msgs
    assert sig[0]["timestamp"] == stop_ms
    assert all(e["timestamp"] <= stop_ms for e in events), "nothing printed after the stop"
    assert "Training complete." not in msgs
    assert not any("Reporting training SUCCESS" in m for m in msgs)
    epochs = [m for m in msgs if m.startswith("Epoch ")]
    assert 0 < len(epochs) < 10, "only the epochs before the stop"


# ------------------------------------------------------------------------------ DescribeLogStreams
def test_describe_log_streams_orders_and_pages(server, sm, logs, paused):
    a = create_job(sm, unique_name("logs-order-a"), instances=3)
    server.advance(4)
    b = create_job(sm, unique_name("logs-order-b"))
    server.advance(4)
    names_a = [s["logStreamName"] for s in streams_of(logs, a)]
    assert len(names_a) == 3 and names_a == sorted(names_a)
    assert [n.rsplit("-", 1)[0] for n in names_a] == [f"{a}/algo-{i}" for i in (1, 2, 3)]
    # descending
    r = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{a}/",
                                  orderBy="LogStreamName", descending=True)
    assert [s["logStreamName"] for s in r["logStreams"]] == names_a[::-1]
    # limit + nextToken, both directions
    for desc in (False, True):
        got, token, pages = [], None, 0
        while True:
            args = dict(logGroupName=GROUP, logStreamNamePrefix=f"{a}/", limit=1,
                        descending=desc)
            if token:
                args["nextToken"] = token
            r = logs.describe_log_streams(**args)
            pages += 1
            got += [s["logStreamName"] for s in r["logStreams"]]
            token = r.get("nextToken")
            if not token:
                break
        assert got == (names_a[::-1] if desc else names_a)
        assert pages in (3, 4)
    # the boto3 paginator
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=GROUP, logStreamNamePrefix=f"{a}/", PaginationConfig={"PageSize": 2})
    assert [s["logStreamName"] for p in pages for s in p["logStreams"]] == names_a
    # LastEventTime over the whole group (no prefix allowed): ordered by lastEventTimestamp
    for desc in (False, True):
        listed, token = [], None
        while True:
            args = dict(logGroupName=GROUP, orderBy="LastEventTime", descending=desc, limit=7)
            if token:
                args["nextToken"] = token
            r = logs.describe_log_streams(**args)
            listed += r["logStreams"]
            token = r.get("nextToken")
            if not token:
                break
        names = [s["logStreamName"] for s in listed]
        assert len(names) == len(set(names)), "no stream twice across pages"
        assert set(names_a) <= set(names)
        assert any(n.startswith(f"{b}/") for n in names)
        times = [s.get("lastEventTimestamp", -1) for s in listed]
        assert times == sorted(times, reverse=desc), times


def test_last_event_time_with_a_prefix_is_refused(logs):
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="x",
                                  orderBy="LastEventTime")
    assert error(e) == ("InvalidParameterException",
                        "Cannot order by LastEventTime with a logStreamNamePrefix.", 400)


# ------------------------------------------------------------------------------ GetLogEvents
def test_get_log_events_pages_forward_and_backward(logs, finished):
    stream = finished["ok_streams"][0]
    events, end_token = all_events(logs, stream)
    assert len(events) > 12
    # from the head, 5 at a time
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True, limit=5)
    got = list(r["events"])
    assert got == events[:5]
    while True:
        token = r["nextForwardToken"]
        r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken=token,
                                limit=5)
        if not r["events"]:
            assert r["nextForwardToken"] == token, "at the end the same forward token comes back"
            break
        got += r["events"]
    assert got == events
    # from the tail (the default), 4 at a time, backward
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=4)
    assert r["events"] == events[-4:]
    back = list(r["events"])
    while True:
        token = r["nextBackwardToken"]
        r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken=token,
                                limit=4)
        if not r["events"]:
            assert r["nextBackwardToken"] == token, "at the head the same backward token"
            break
        back = r["events"] + back
    assert back == events
    # startFromHead=False and no limit: the whole stream (it is small)
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=False)
    assert r["events"] == events


def test_get_log_events_time_window_is_start_inclusive_end_exclusive(logs, finished):
    stream = finished["ok_streams"][1]
    events, _ = all_events(logs, stream)
    times = sorted({e["timestamp"] for e in events})
    lo, hi = times[2], times[-3]
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True,
                            startTime=lo, endTime=hi)
    assert r["events"] == [e for e in events if lo <= e["timestamp"] < hi]
    assert r["events"][0]["timestamp"] == lo
    assert all(e["timestamp"] != hi for e in r["events"])
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startTime=hi)
    assert r["events"] == [e for e in events if e["timestamp"] >= hi]


def test_the_end_token_picks_up_events_written_after_the_clock_moves(server, sm, logs, paused):
    name = create_job(sm, unique_name("logs-follow"), metrics=[METRIC_LOSS])
    server.advance(6.2)  # Training: some epochs printed
    (stream,) = [s["logStreamName"] for s in streams_of(logs, name)]
    first, token = all_events(logs, stream)
    server.advance(20)
    r = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken=token)
    later, _ = all_events(logs, stream)
    assert r["events"] and first + r["events"] == later[:len(first) + len(r["events"])]


# ------------------------------------------------------------------------------ FilterLogEvents
def filter_all(logs, **kw):
    out, token = [], None
    while True:
        args = dict(logGroupName=GROUP, **kw)
        if token:
            args["nextToken"] = token
        r = logs.filter_log_events(**args)
        out += r["events"]
        token = r.get("nextToken")
        if not token:
            return out, r


def test_filter_log_events_interleaves_the_streams_by_timestamp(logs, finished):
    job = finished["ok"]
    per_stream = {s: all_events(logs, s)[0] for s in finished["ok_streams"]}
    got, last = filter_all(logs, logStreamNamePrefix=f"{job}/")
    assert {x["logStreamName"] for x in last["searchedLogStreams"]} == set(per_stream)
    ts = [e["timestamp"] for e in got]
    assert ts == sorted(ts)
    for s, events in per_stream.items():
        mine = [{k: e[k] for k in ("timestamp", "message", "ingestionTime")}
                for e in got if e["logStreamName"] == s]
        assert mine == events, s
    merged = sorted(((e["timestamp"], s, i, e["message"]) for s, evs in per_stream.items()
                     for i, e in enumerate(evs)))
    assert [(e["timestamp"], e["logStreamName"], e["message"]) for e in got] == \
        [(t, s, m) for t, s, _, m in merged]
    assert len({e["eventId"] for e in got}) == len(got)
    # the same through limit + nextToken, and through the boto3 paginator
    paged, _ = filter_all(logs, logStreamNamePrefix=f"{job}/", limit=7)
    assert paged == got
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=GROUP, logStreamNamePrefix=f"{job}/", PaginationConfig={"PageSize": 9})
    assert [e for p in pages for e in p["events"]] == got


def test_filter_patterns_terms_phrases_alternatives_and_exclusions(logs, finished):
    job = finished["ok"]
    everything, _ = filter_all(logs, logStreamNamePrefix=f"{job}/")
    msgs = [e["message"] for e in everything]

    def run(pattern):
        got, _ = filter_all(logs, logStreamNamePrefix=f"{job}/", filterPattern=pattern)
        return [e["message"] for e in got]

    assert run("Epoch") == [m for m in msgs if "Epoch" in m] and run("Epoch")
    assert run("Epoch 3/5") == [m for m in msgs if "Epoch" in m and "3/5" in m]
    assert len(run("Epoch 3/5")) == 2  # one per host
    assert run('"Training complete."') == ["Training complete."] * 2
    assert run('"complete. Training"') == []
    alt = run("?SUCCESS ?Uploading")
    assert alt == [m for m in msgs if "SUCCESS" in m or "Uploading" in m] and len(alt) == 4
    excl = run("sagemaker-training-toolkit -Hyperparameters -SUCCESS")
    assert excl == [m for m in msgs if "sagemaker-training-toolkit" in m and
                    "Hyperparameters" not in m and "SUCCESS" not in m]
    assert excl and not any("Hyperparameters" in m for m in excl)
    assert run("") == msgs
    assert run("train:loss=") == [m for m in msgs if "train:loss=" in m]
    assert run("nothing-prints-this") == []


def test_filter_log_events_by_stream_names_and_prefix(logs, finished):
    s1, s2 = finished["ok_streams"]
    got, last = filter_all(logs, logStreamNames=[s2])
    assert {e["logStreamName"] for e in got} == {s2}
    assert [x["logStreamName"] for x in last["searchedLogStreams"]] == [s2]
    assert [e["message"] for e in got] == messages(all_events(logs, s2)[0])
    both, _ = filter_all(logs, logStreamNames=[s1, s2], filterPattern="Epoch")
    assert len(both) == 10
    got, _ = filter_all(logs, logStreamNamePrefix=s1)
    assert {e["logStreamName"] for e in got} == {s1}
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=GROUP, logStreamNames=[s1], logStreamNamePrefix="x")
    assert error(e)[0] == "InvalidParameterException" and error(e)[2] == 400
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=GROUP, logStreamNames=[s1, f"{s1}0"])
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.",
                        400)


def test_filter_log_events_time_window(logs, finished):
    job = finished["ok"]
    everything, _ = filter_all(logs, logStreamNamePrefix=f"{job}/")
    times = sorted({e["timestamp"] for e in everything})
    lo, hi = times[1], times[-2]
    got, _ = filter_all(logs, logStreamNamePrefix=f"{job}/", startTime=lo, endTime=hi)
    assert got == [e for e in everything if lo <= e["timestamp"] < hi]


# ------------------------------------------------------------------------------ errors
def test_another_group_and_a_missing_stream_are_not_found(logs, finished):
    stream = finished["ok_streams"][0]
    for call in (lambda g: logs.describe_log_streams(logGroupName=g),
                 lambda g: logs.get_log_events(logGroupName=g, logStreamName=stream),
                 lambda g: logs.filter_log_events(logGroupName=g)):
        for group in ("/aws/lambda/fn", "/aws/sagemaker/TrainingJobs2", "/aws/sagemaker/Endpoints"):
            with pytest.raises(ClientError) as e:
                call(group)
            assert error(e) == ("ResourceNotFoundException",
                                "The specified log group does not exist.", 400)
    job, rest = stream.split("/", 1)
    for missing in (f"{job}/algo-9-{rest.rsplit('-', 1)[1]}", f"{job}/algo-1-1", "no-such-job/x",
                    "no-slash", f"{stream}x"):
        with pytest.raises(ClientError) as e:
            logs.get_log_events(logGroupName=GROUP, logStreamName=missing)
        assert error(e) == ("ResourceNotFoundException",
                            "The specified log stream does not exist.", 400), missing


def test_group_name_and_identifier_are_exclusive_and_one_is_needed(server, logs):
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=GROUP, logGroupIdentifier=GROUP)
    assert error(e)[0] == "InvalidParameterException"
    r = raw_json(server, "DescribeLogStreams", {})
    assert r.status == 400 and r.code == "InvalidParameterException", r


def test_model_validation_errors_are_invalid_parameter_exception(server):
    """CloudWatch Logs answers a request that breaks its model with InvalidParameterException
    ("1 validation error detected: ..."), not SageMaker's ValidationException."""
    logs = client(server, "logs", parameter_validation=False)
    for call, member in [
            (lambda: logs.describe_log_streams(logGroupName=GROUP, limit=51), "'limit'"),
            (lambda: logs.get_log_events(logGroupName=GROUP, logStreamName="a:b"),
             "'logStreamName'"),
            (lambda: logs.filter_log_events(logGroupName=GROUP, limit=0), "'limit'")]:
        with pytest.raises(ClientError) as e:
            call()
        code, message, status = error(e)
        assert message.startswith("1 validation error detected: ") and member in message, message
        assert (code, status) == ("InvalidParameterException", 400), (code, message)


def test_bad_tokens_are_refused(logs, finished):
    stream = finished["ok_streams"][0]
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken="f/123")
    assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=GROUP, nextToken="garbage")
    assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=GROUP, nextToken="garbage")
    assert error(e)[0] == "InvalidParameterException"


def test_json_filter_patterns_are_refused_with_a_reason(logs, finished):
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName=GROUP, filterPattern='{ $.level = "ERROR" }')
    code, message, status = error(e)
    assert (code, status) == ("InvalidParameterException", 400)
    assert "pattern" in message


# ------------------------------------------------------------------------------ groups
def test_describe_log_groups_lists_the_group_from_the_first_stream_on(make_server):
    srv = make_server("--clock-rate", "0")
    logs, sm = client(srv, "logs"), srv.client()
    assert logs.describe_log_groups()["logGroups"] == []
    name = create_job(sm, unique_name("logs-group"))
    assert logs.describe_log_groups()["logGroups"] == [], "no stream yet: no group"
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName="/aws/other")
    assert error(e)[0] == "ResourceNotFoundException"
    srv.advance(3)
    (g,) = logs.describe_log_groups()["logGroups"]
    start = ms(describe_raw(sm, name)["TrainingStartTime"])
    assert g["logGroupName"] == GROUP
    assert g["creationTime"] == start
    assert g["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:*"
    raw = raw_json(srv, "DescribeLogGroups", {}).json["logGroups"][0]
    assert raw["logGroupArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
    for kw, found in [({"logGroupNamePrefix": "/aws/sagemaker/"}, True),
                      ({"logGroupNamePrefix": GROUP}, True),
                      ({"logGroupNamePrefix": "/aws/lambda"}, False),
                      ({"logGroupNamePattern": "TrainingJobs"}, True),
                      ({"logGroupNamePattern": "sagemaker/Train"}, True),
                      ({"logGroupNamePattern": "Endpoints"}, False)]:
        groups = logs.describe_log_groups(**kw)["logGroups"]
        assert [x["logGroupName"] for x in groups] == ([GROUP] if found else []), kw
    with pytest.raises(ClientError) as e:
        logs.describe_log_groups(logGroupNamePrefix="/aws", logGroupNamePattern="Training")
    assert error(e)[0] == "InvalidParameterException"
    # the paginator sees it once
    pages = logs.get_paginator("describe_log_groups").paginate()
    assert [x["logGroupName"] for p in pages for x in p["logGroups"]] == [GROUP]


def test_the_group_arn_works_as_log_group_identifier(server, finished):
    # botocore 1.29's logs model still marks logGroupName required; the service (and the
    # model sagemock embeds) takes either
    logs = client(server, "logs", parameter_validation=False)
    job, stream = finished["ok"], finished["ok_streams"][0]
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
    for ident in (arn, GROUP):
        r = logs.describe_log_streams(logGroupIdentifier=ident, logStreamNamePrefix=f"{job}/")
        assert [s["logStreamName"] for s in r["logStreams"]] == finished["ok_streams"], ident
        r = logs.get_log_events(logGroupIdentifier=ident, logStreamName=stream,
                                startFromHead=True, limit=3)
        assert len(r["events"]) == 3
        r = logs.filter_log_events(logGroupIdentifier=ident, logStreamNames=[stream],
                                   filterPattern="Epoch")
        assert len(r["events"]) == 5
    # DescribeLogGroups' "arn" ends ":*": the model's pattern for logGroupIdentifier has no '*'
    # (CloudWatch Logs reports model validation as InvalidParameterException)
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupIdentifier=f"{arn}:*")
    assert "at 'logGroupIdentifier' failed to satisfy constraint" in error(e)[1]
    assert error(e)[0::2] == ("InvalidParameterException", 400), error(e)
    for other in (arn.replace("us-east-1", "eu-west-1"),
                  arn.replace("123456789012", "210987654321"),
                  f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn"):
        with pytest.raises(ClientError) as e:
            logs.describe_log_streams(logGroupIdentifier=other)
        assert error(e) == ("ResourceNotFoundException",
                            "The specified log group does not exist.", 400), other


# ------------------------------------------------------------------------------ regions
def test_jobs_and_logs_are_per_region(server, sm, logs, paused):
    eu_sm, eu_logs = server.client(region="eu-west-1"), client(server, "logs", "eu-west-1")
    us = create_job(sm, unique_name("logs-us"))
    eu = create_job(eu_sm, unique_name("logs-eu"))
    server.advance(30)
    (us_stream,) = [s["logStreamName"] for s in streams_of(logs, us)]
    (eu_stream,) = [s["logStreamName"] for s in streams_of(eu_logs, eu)]
    assert streams_of(eu_logs, us) == [] and streams_of(logs, eu) == []
    for lg, other in ((eu_logs, us_stream), (logs, eu_stream)):
        with pytest.raises(ClientError) as e:
            lg.get_log_events(logGroupName=GROUP, logStreamName=other)
        assert error(e)[:2] == ("ResourceNotFoundException",
                                "The specified log stream does not exist.")
        got = lg.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=other.split("/")[0])
        assert got["events"] == []
    with pytest.raises(ClientError) as e:
        eu_sm.describe_training_job(TrainingJobName=us)
    assert error(e)[0] == "ValidationException"
    (s,) = streams_of(eu_logs, eu)
    assert s["arn"].startswith("arn:aws:logs:eu-west-1:123456789012:log-group:")
    (g,) = eu_logs.describe_log_groups()["logGroups"]
    assert g["arn"].startswith("arn:aws:logs:eu-west-1:")
    assert all_events(eu_logs, eu_stream)[0]


# ------------------------------------------------------------------------------ faults, journal
def test_a_logs_fault_throttles_get_log_events_once_and_the_retry_succeeds(
        server, logs, finished, monkeypatch):
    import types

    import botocore.endpoint
    slept = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=slept.append))
    server.admin("DELETE", "/_sagemock/faults")
    stream = finished["ok_streams"][0]
    status, body, raw = server.admin("POST", "/_sagemock/faults", {
        "service": "logs", "operation": "GetLogEvents", "error": "ThrottlingException",
        "count": 1})
    assert status == 200, raw
    try:
        # a SageMaker call and another logs operation are not affected
        server.client().list_training_jobs(MaxResults=1)
        logs.describe_log_streams(logGroupName=GROUP, limit=1)
        retrying = client(server, "logs", retries={"mode": "standard", "total_max_attempts": 3})
        r = retrying.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=2,
                                    startFromHead=True)
        assert len(r["events"]) == 2
        assert r["ResponseMetadata"]["RetryAttempts"] == 1
        assert len(slept) == 1
        # the fault is used up: a client without retries succeeds
        logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=1)
        _, j, _ = server.admin("GET", "/_sagemock/requests?service=logs&operation=GetLogEvents")
        codes = [(x["status"], x.get("errorCode")) for x in j["requests"][:3]]
        assert codes == [(200, None), (200, None), (400, "ThrottlingException")], codes
    finally:
        server.admin("DELETE", "/_sagemock/faults")


def test_the_journal_records_logs_calls_with_their_service(server, logs, finished):
    stream = finished["ok_streams"][0]
    logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=1)
    _, j, _ = server.admin("GET", "/_sagemock/requests?service=logs&limit=5")
    e = j["requests"][0]
    assert (e["service"], e["operation"], e["status"], e["region"]) == \
        ("logs", "GetLogEvents", 200, "us-east-1")
    _, j, _ = server.admin("GET", "/_sagemock/requests?service=sagemaker&operation=GetLogEvents")
    assert j["requests"] == []
