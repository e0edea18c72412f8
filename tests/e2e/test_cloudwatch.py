"""CloudWatch metrics of training jobs (namespace /aws/sagemaker/TrainingJobs) with Debian's
boto3 1.26, which speaks awsQuery to CloudWatch, and raw requests in all three protocols the
service lists (smithy-rpc-v2-cbor, awsJson 1.0, awsQuery). Every response is checked against
the CloudWatch model by the conformance checker (CBOR bodies read with python3-cbor2).

The newest boto3 (JSON, and CBOR through a model pinned to smithy-rpc-v2-cbor) and the AWS CLI
v2 read the same datapoints in test_cloudwatch_clients.py; the JavaScript SDK in
js/test/cloudwatch.test.mjs; the SageMaker Python SDK's TrainingJobAnalytics in
tests/pysdk/test_sdk.py.

Run: /usr/bin/python3 -m pytest -q -p boto3_plugin tests/e2e/test_cloudwatch.py
"""

import datetime
import http.client
import urllib.parse

import cbor2
import pytest
from botocore.exceptions import ClientError

from awsclients import (METRIC_ACC, METRIC_LOSS, SCENARIO_TAG, all_events, client, create_job,
                        raw_json, raw_query, series, streams_of)
from conformance import CHECKER
from helpers import IMAGE, job_request, unique_name

NS = "/aws/sagemaker/TrainingJobs"
TARGET = "GraniteServiceVersion20100801"
VERSION = "2010-08-01"
CBOR_CT = "application/cbor"
# A plan with room between epochs: Downloading 62 s, Training 10 minutes (5 epochs: 2 minutes
# apart), Uploading 10 s.
SCENARIO = {"name": "cw-ten-minutes",
            "steps": [{"status": s, "durationSeconds": d, "messages": [{"atSeconds": 0, "text": s}]}
                      for s, d in (("Starting", 3), ("Downloading", 62), ("Training", 600),
                                   ("Uploading", 10))]}
INSTANCE_METRICS = ["CPUUtilization", "DiskUtilization", "MemoryUtilization"]
GPU_METRICS = ["GPUMemoryUtilization", "GPUUtilization"]


def job_dim(name):
    return [{"Name": "TrainingJobName", "Value": name}]


def host_dim(name, n=1):
    return [{"Name": "Host", "Value": f"{name}/algo-{n}"}]


def epoch(t):
    return t.timestamp() if isinstance(t, datetime.datetime) else t


class Jobs:
    pass


def make_job(sm, prefix, scenario, instance_type="ml.m5.large", instances=1, metrics=(),
             epochs=4):
    name = unique_name(prefix)
    sm.create_training_job(**job_request(
        name, AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                      "MetricDefinitions": list(metrics)},
        ResourceConfig={"InstanceType": instance_type, "InstanceCount": instances,
                        "VolumeSizeInGB": 30},
        HyperParameters={"epochs": str(epochs)},
        Tags=[{"Key": SCENARIO_TAG, "Value": scenario}]))
    return name


@pytest.fixture(scope="module")
def cw(server):
    return client(server, "cloudwatch")


@pytest.fixture(scope="module")
def logs(server):
    return client(server, "logs")


@pytest.fixture(scope="module")
def jobs(server, sm):
    """Three finished jobs on a paused clock: `long` (2 x ml.m5.xlarge, 5 epochs over ten
    minutes), `gpu` (1 x ml.p3.8xlarge, same plan) and `short` (the default ten-second plan, 4
    epochs). The clock stays paused until the module ends."""
    server._admin_ok("POST", "/_sagemock/fixtures", {"scenarios": [SCENARIO]})
    t0 = server.pause_at_whole_second()
    j = Jobs()
    j.t0 = t0
    j.long = make_job(sm, "cw-long", SCENARIO["name"], "ml.m5.xlarge", 2,
                      [METRIC_LOSS, METRIC_ACC], epochs=5)
    j.gpu = make_job(sm, "cw-gpu", SCENARIO["name"], "ml.p3.8xlarge", 1, [METRIC_LOSS], epochs=3)
    j.short = make_job(sm, "cw-short", "success", metrics=[METRIC_LOSS, METRIC_ACC], epochs=4)
    server.advance(700)
    j.now = server.now()
    j.desc = {n: sm.describe_training_job(TrainingJobName=n) for n in (j.long, j.gpu, j.short)}
    assert all(d["TrainingJobStatus"] == "Completed" for d in j.desc.values())
    j.start = t0 - 60
    j.end = j.now + 60
    yield j
    server.set_rate(1)


def log_series(logs, name, regex, host=1):
    stream = next(s["logStreamName"] for s in streams_of(logs, name)
                  if f"/algo-{host}-" in s["logStreamName"])
    events, _ = all_events(logs, stream)
    return [(ts // 1000 * 1000, v) for ts, v in series(events, regex)]


def final_value(desc, metric):
    return next(m["Value"] for m in desc["FinalMetricDataList"] if m["MetricName"] == metric)


def gms(cw, name, metric, jobs, period=1, dims=None, **kw):
    kw.setdefault("Statistics", ["SampleCount", "Average", "Sum", "Minimum", "Maximum"])
    r = cw.get_metric_statistics(Namespace=NS, MetricName=metric,
                                 Dimensions=dims if dims is not None else job_dim(name),
                                 StartTime=jobs.start, EndTime=jobs.end, Period=period, **kw)
    assert r["Label"] == metric
    return sorted(r["Datapoints"], key=lambda d: d["Timestamp"])


# ------------------------------------------------------------------------ algorithm metrics
@pytest.mark.parametrize("metric", [METRIC_LOSS, METRIC_ACC])
def test_algorithm_metrics_are_the_series_the_log_prints(cw, logs, jobs, metric):
    want = log_series(logs, jobs.long, metric["Regex"])
    assert len(want) == 5, want
    points = gms(cw, jobs.long, metric["Name"], jobs)
    assert [(round(epoch(p["Timestamp"]) * 1000), p["Average"]) for p in points] == want
    assert all(p["SampleCount"] == 1 and p["Unit"] == "None" for p in points)
    assert all(p["Minimum"] == p["Maximum"] == p["Sum"] == p["Average"] for p in points)
    # the last value is Describe's FinalMetricDataList value, at its time
    final = next(m for m in jobs.desc[jobs.long]["FinalMetricDataList"]
                 if m["MetricName"] == metric["Name"])
    assert points[-1]["Average"] == final["Value"]
    assert points[-1]["Timestamp"] == final["Timestamp"]


def test_a_period_aggregates_the_epochs_it_holds(cw, logs, jobs):
    raw = [v for _, v in log_series(logs, jobs.short, METRIC_LOSS["Regex"])]
    assert len(raw) == 4
    (p,) = gms(cw, jobs.short, METRIC_LOSS["Name"], jobs, period=3600)
    assert p["SampleCount"] == 4
    assert p["Sum"] == pytest.approx(sum(raw))
    assert p["Average"] == pytest.approx(sum(raw) / 4)
    assert (p["Minimum"], p["Maximum"]) == (min(raw), max(raw))
    # the period starts at StartTime rounded down to the minute
    assert epoch(p["Timestamp"]) == jobs.start // 60 * 60


def test_percentiles_are_nearest_rank_over_the_period(cw, logs, jobs):
    raw = sorted(v for _, v in log_series(logs, jobs.long, METRIC_LOSS["Regex"]))
    (p,) = gms_ext(cw, jobs.long, METRIC_LOSS["Name"], jobs, ["p0.0", "p50", "p90", "p100"])
    assert p["ExtendedStatistics"] == {"p0.0": raw[0], "p50": raw[2], "p90": raw[4],
                                       "p100": raw[4]}
    assert "Average" not in p and p["Unit"] == "None"


def gms_ext(cw, name, metric, jobs, ext, period=3600):
    r = cw.get_metric_statistics(Namespace=NS, MetricName=metric, Dimensions=job_dim(name),
                                 StartTime=jobs.start, EndTime=jobs.end, Period=period,
                                 ExtendedStatistics=ext)
    return r["Datapoints"]


def test_time_window_unit_dimensions_and_namespace_select_the_data(cw, logs, jobs):
    want = log_series(logs, jobs.long, METRIC_LOSS["Regex"])
    t2, t4 = want[1][0] / 1000, want[3][0] / 1000
    r = cw.get_metric_statistics(Namespace=NS, MetricName=METRIC_LOSS["Name"],
                                 Dimensions=job_dim(jobs.long), StartTime=t2, EndTime=t4,
                                 Period=1, Statistics=["Average"])
    # start inclusive (rounded down to the period: 1 s), end exclusive
    assert sorted(epoch(p["Timestamp"]) for p in r["Datapoints"]) == [t2, want[2][0] / 1000]
    for kw in ({"Unit": "Percent"}, {"Dimensions": []},
               {"Dimensions": job_dim(jobs.long) + host_dim(jobs.long)},
               {"Dimensions": job_dim("no-such-job")}, {"Namespace": "AWS/EC2"},
               {"MetricName": "CPUUtilization"}):
        args = dict(Namespace=NS, MetricName=METRIC_LOSS["Name"], Dimensions=job_dim(jobs.long),
                    StartTime=jobs.start, EndTime=jobs.end, Period=60, Statistics=["Average"])
        args.update(kw)
        assert cw.get_metric_statistics(**args)["Datapoints"] == [], kw
    args["Unit"] = "None"
    args.update(MetricName=METRIC_LOSS["Name"], Namespace=NS)
    assert cw.get_metric_statistics(**args)["Datapoints"]


def test_nothing_later_than_now_while_the_job_trains(server, sm, cw, logs, jobs):
    name = make_job(sm, "cw-running", SCENARIO["name"], metrics=[METRIC_LOSS], epochs=5)
    try:
        server.advance(65 + 250)  # 250 s into training: epochs 1 and 2 printed
        now = server.now()
        lines = log_series(logs, name, METRIC_LOSS["Regex"])
        points = cw.get_metric_statistics(
            Namespace=NS, MetricName=METRIC_LOSS["Name"], Dimensions=job_dim(name),
            StartTime=now - 600, EndTime=now + 600, Period=1,
            Statistics=["Average"])["Datapoints"]
        assert len(lines) == 2 and len(points) == 2
        assert all(epoch(p["Timestamp"]) <= now for p in points)
        cpu = cw.get_metric_statistics(Namespace=NS, MetricName="CPUUtilization",
                                       Dimensions=host_dim(name), StartTime=now - 3600,
                                       EndTime=now + 3600, Period=60,
                                       Statistics=["Maximum"])["Datapoints"]
        assert len(cpu) == 6 and all(epoch(p["Timestamp"]) <= now for p in cpu)  # 0:03 .. 5:03
        server.advance(60)
        later = cw.get_metric_statistics(Namespace=NS, MetricName="CPUUtilization",
                                         Dimensions=host_dim(name), StartTime=now - 3600,
                                         EndTime=now + 3600, Period=60,
                                         Statistics=["Maximum"])["Datapoints"]
        assert len(later) == 7
        assert sorted(later, key=lambda p: p["Timestamp"])[:6] == \
            sorted(cpu, key=lambda p: p["Timestamp"])
    finally:
        server.advance(400)


# ------------------------------------------------------------------------- instance metrics
def test_instance_metrics_per_host_each_minute_while_it_runs(cw, jobs):
    d = jobs.desc[jobs.long]
    run_start = epoch(d["SecondaryStatusTransitions"][1]["StartTime"])  # Downloading
    run_end = epoch(d["SecondaryStatusTransitions"][3]["EndTime"])  # Uploading
    for host in (1, 2):
        for metric in INSTANCE_METRICS:
            # Period 1 shows each datapoint at its own time
            points = sorted(cw.get_metric_statistics(
                Namespace=NS, MetricName=metric, Dimensions=host_dim(jobs.long, host),
                StartTime=run_start - 5, EndTime=run_end + 5, Period=1,
                Statistics=["SampleCount", "Average"])["Datapoints"],
                key=lambda p: p["Timestamp"])
            times = [epoch(p["Timestamp"]) for p in points]
            assert times == [run_start + 60 * k for k in range(len(times))]
            assert times[-1] < run_end <= times[-1] + 60
            assert all(p["SampleCount"] == 1 and p["Unit"] == "Percent" for p in points)
            top = 400 if metric == "CPUUtilization" else 100  # 4 vCPUs: the sum of the cores
            assert all(0 <= p["Average"] <= top for p in points), (metric, points)
        cpu = [p["Average"] for p in gms(cw, jobs.long, "CPUUtilization", jobs, period=60,
                                          dims=host_dim(jobs.long, host))]
        # light while downloading (0:03, 1:03), busy training (2:03 .. 11:03)
        assert len(cpu) == 12 and min(cpu[2:]) > 200 > max(cpu[:2])
    # no GPU metrics on an m5; a p3.8xlarge has four GPUs: up to 400 %
    assert gms(cw, jobs.long, "GPUUtilization", jobs, period=60,
               dims=host_dim(jobs.long)) == []
    gpu = gms(cw, jobs.gpu, "GPUUtilization", jobs, period=60, dims=host_dim(jobs.gpu))
    assert max(p["Average"] for p in gpu) > 250 and all(p["Average"] <= 400 for p in gpu)
    # the same request, the same values
    assert gms(cw, jobs.gpu, "GPUUtilization", jobs, period=60, dims=host_dim(jobs.gpu)) == gpu


# --------------------------------------------------------------------------- GetMetricData
def stat_query(qid, name, metric, stat="Average", period=1, dims=None, **kw):
    return {"Id": qid, "MetricStat": {
        "Metric": {"Namespace": NS, "MetricName": metric,
                   "Dimensions": dims if dims is not None else job_dim(name)},
        "Period": period, "Stat": stat}, **kw}


def test_get_metric_data_returns_each_query_in_scan_order(cw, logs, jobs):
    want = log_series(logs, jobs.long, METRIC_LOSS["Regex"])
    qs = [stat_query("loss", jobs.long, METRIC_LOSS["Name"]),
          stat_query("acc", jobs.long, METRIC_ACC["Name"], Label="accuracy", ReturnData=False),
          stat_query("p99", jobs.long, METRIC_LOSS["Name"], stat="p99", period=3600,
                     Label="p99 <&> 'loss'"),
          stat_query("cpu", jobs.long, "CPUUtilization", period=60, dims=host_dim(jobs.long, 2))]
    r = cw.get_metric_data(MetricDataQueries=qs, StartTime=jobs.start, EndTime=jobs.end)
    res = {x["Id"]: x for x in r["MetricDataResults"]}
    assert list(res) == ["loss", "p99", "cpu"]  # ReturnData=false left out
    assert "NextToken" not in r and r["Messages"] == []
    loss = res["loss"]
    assert loss["Label"] == METRIC_LOSS["Name"] and loss["StatusCode"] == "Complete"
    # TimestampDescending by default
    assert [(round(epoch(t) * 1000), v) for t, v in zip(loss["Timestamps"], loss["Values"])] == \
        want[::-1]
    assert res["p99"]["Label"] == "p99 <&> 'loss'"
    assert res["p99"]["Values"] == [max(v for _, v in want)]
    asc = cw.get_metric_data(MetricDataQueries=qs[:1], StartTime=jobs.start, EndTime=jobs.end,
                             ScanBy="TimestampAscending")["MetricDataResults"][0]
    assert asc["Values"] == [v for _, v in want]


def test_get_metric_data_pages_with_max_datapoints(cw, jobs):
    qs = [stat_query("loss", jobs.long, METRIC_LOSS["Name"]),
          stat_query("acc", jobs.long, METRIC_ACC["Name"])]
    whole = cw.get_metric_data(MetricDataQueries=qs, StartTime=jobs.start, EndTime=jobs.end)
    got = {"loss": [], "acc": []}
    token, pages = None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        r = cw.get_metric_data(MetricDataQueries=qs, StartTime=jobs.start, EndTime=jobs.end,
                               MaxDatapoints=3, **kw)
        pages += 1
        assert sum(len(x["Values"]) for x in r["MetricDataResults"]) <= 3
        for x in r["MetricDataResults"]:
            got[x["Id"]] += x["Values"]
        token = r.get("NextToken")
        if not token:
            break
        assert any(x["StatusCode"] == "PartialData" for x in r["MetricDataResults"])
    assert pages == 4  # 10 datapoints, 3 a page
    assert got == {x["Id"]: x["Values"] for x in whole["MetricDataResults"]}
    # a token only goes with the query it came from
    r = cw.get_metric_data(MetricDataQueries=qs, StartTime=jobs.start, EndTime=jobs.end,
                           MaxDatapoints=3)
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(MetricDataQueries=qs[:1], StartTime=jobs.start, EndTime=jobs.end,
                           MaxDatapoints=3, NextToken=r["NextToken"])
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"


@pytest.mark.parametrize("queries, code, text", [
    ([{"Id": "e1", "Expression": "SUM(METRICS())"}], "InvalidParameterValue", "metric math"),
    ([{"Id": "Upper", "MetricStat": None}], "InvalidParameterValue", "Id"),
    ([{"Id": "m1"}], "InvalidParameterCombination", "Exactly one of MetricStat and Expression"),
    (["q", "q"], "InvalidParameterValue", "not unique"),
    (["stat:avg"], "InvalidParameterValue", "Stat"),
    (["period:7"], "InvalidParameterValue", "Period"),
])
def test_get_metric_data_refusals(cw, jobs, queries, code, text):
    qs = []
    for q in queries:
        if q == "q":
            qs.append(stat_query("q", jobs.long, "x"))
        elif isinstance(q, str) and q.startswith("stat:"):
            qs.append(stat_query("s", jobs.long, "x", stat=q[5:]))
        elif isinstance(q, str) and q.startswith("period:"):
            qs.append(stat_query("p", jobs.long, "x", period=int(q[7:])))
        elif q.get("MetricStat", 1) is None:
            qs.append(dict(stat_query("x", jobs.long, "x"), Id=q["Id"]))
        else:
            qs.append(q)
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(MetricDataQueries=qs, StartTime=jobs.start, EndTime=jobs.end)
    err = e.value.response["Error"]
    assert (err["Code"], err["Type"]) == (code, "Sender"), err
    assert text in err["Message"], err
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ----------------------------------------------------------------------------- ListMetrics
def list_all(cw, **kw):
    out, token = [], None
    while True:
        r = cw.list_metrics(**kw, **({"NextToken": token} if token else {}))
        out += r["Metrics"]
        token = r.get("NextToken")
        if not token:
            return out


def key(m):
    (d,) = m["Dimensions"]
    return (m["MetricName"], d["Name"], d["Value"])


def test_list_metrics_filters_by_name_and_dimensions(cw, jobs):
    mine = list_all(cw, Dimensions=job_dim(jobs.long))
    assert sorted(map(key, mine)) == [(METRIC_LOSS["Name"], "TrainingJobName", jobs.long),
                                      (METRIC_ACC["Name"], "TrainingJobName", jobs.long)]
    assert all(m["Namespace"] == NS for m in mine)
    hosts = list_all(cw, Dimensions=host_dim(jobs.long, 2))
    assert sorted(map(key, hosts)) == [(m, "Host", f"{jobs.long}/algo-2")
                                       for m in INSTANCE_METRICS]
    gpu = list_all(cw, Dimensions=host_dim(jobs.gpu))
    assert sorted(k[0] for k in map(key, gpu)) == sorted(INSTANCE_METRICS + GPU_METRICS)
    every_host = list_all(cw, Namespace=NS, MetricName="CPUUtilization",
                          Dimensions=[{"Name": "Host"}])
    assert {f"{jobs.long}/algo-1", f"{jobs.long}/algo-2", f"{jobs.gpu}/algo-1",
            f"{jobs.short}/algo-1"} <= {key(m)[2] for m in every_host}
    assert list_all(cw, Namespace="AWS/EC2") == []
    assert list_all(cw, Dimensions=job_dim(jobs.long), OwningAccount="210987654321") == []
    r = cw.list_metrics(Dimensions=job_dim(jobs.long), IncludeLinkedAccounts=True)
    assert r["OwningAccounts"] == ["123456789012"] * len(r["Metrics"])
    assert list_all(cw, Dimensions=job_dim(jobs.long), RecentlyActive="PT3H")
    assert list_all(cw, Dimensions=job_dim("no-such-job")) == []


def test_list_metrics_pages_500_at_a_time_and_forgets_metrics_after_two_weeks(make_server):
    srv = make_server()
    sm = srv.client()
    cw2 = client(srv, "cloudwatch")
    srv.pause()
    for i in range(64):  # 64 jobs x (2 algorithm + 6 instance metrics) = 512 metrics
        create_job(sm, f"cw-page-{i:02d}", instances=2, metrics=[METRIC_LOSS, METRIC_ACC])
    srv.advance(30)
    first = cw2.list_metrics(Namespace=NS)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cw2.list_metrics(Namespace=NS, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 12 and "NextToken" not in second
    keys = [key(m) for m in first["Metrics"] + second["Metrics"]]
    assert len(set(keys)) == 512 and keys == sorted(keys)
    with pytest.raises(ClientError) as e:  # a token for other filters
        cw2.list_metrics(Namespace=NS, MetricName="CPUUtilization", NextToken=first["NextToken"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert cw2.list_metrics(RecentlyActive="PT3H")["Metrics"]
    srv.advance(4 * 3600)
    assert cw2.list_metrics(RecentlyActive="PT3H")["Metrics"] == []
    assert len(list_all(cw2)) == 512
    srv.advance(15 * 86400)
    assert list_all(cw2) == []


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("change, code, text", [
    ({"Period": 7}, "InvalidParameterValue", "Period"),
    ({"Statistics": None}, "MissingParameter", "Statistics and ExtendedStatistics"),
    ({"ExtendedStatistics": ["p99"]}, "InvalidParameterCombination", "Statistics"),
    ({"Statistics": None, "ExtendedStatistics": ["p101"]}, "InvalidParameterValue", "p101"),
    ({"EndTime": "start"}, "InvalidParameterValue", "StartTime"),
    ({"Period": 1, "EndTime": "+1441"}, "InvalidParameterCombination",
     "You have requested up to 1441 datapoints, which exceeds the limit of 1440"),
])
def test_get_metric_statistics_refusals(cw, jobs, change, code, text):
    args = dict(Namespace=NS, MetricName="CPUUtilization", Dimensions=host_dim(jobs.long),
                StartTime=jobs.t0 // 60 * 60, EndTime=jobs.t0 + 3600, Period=60,
                Statistics=["Average"])
    for k, v in change.items():
        if v is None:
            args.pop(k)
        elif v == "start":
            args[k] = args["StartTime"]
        elif isinstance(v, str) and v.startswith("+"):
            args[k] = jobs.t0 // 60 * 60 + int(v[1:])
        else:
            args[k] = v
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(**args)
    err = e.value.response["Error"]
    assert (err["Code"], err["Type"]) == (code, "Sender"), err
    assert text in err["Message"], err


def test_model_constraints_answer_invalid_parameter_value(server):
    # Period min 1 (the model's constraint), checked before the handler, in awsQuery
    r = raw_query(server, "GetMetricStatistics",
                  {"Namespace": NS, "MetricName": "m", "StartTime": "2024-01-01T00:00:00Z",
                   "EndTime": "2024-01-01T01:00:00Z", "Period": "0",
                   "Statistics.member.1": "Sum"},
                  version=VERSION, signing_name="monitoring")
    assert (r.status, r.code) == (400, "InvalidParameterValue"), r
    assert "period" in r.message and "greater than or equal to 1" in r.message, r.message


# ------------------------------------------------------------------------------- protocols
def cbor_call(server, op, body, headers=None, method="POST", path=None, raw_body=None):
    """A smithy-rpc-v2-cbor request by hand (unsigned); the response is checked by the
    conformance checker. Returns (status, headers, decoded body or None, raw body)."""
    data = raw_body if raw_body is not None else cbor2.dumps(
        body, datetime_as_timestamp=True, timezone=datetime.timezone.utc)
    hdrs = {"Content-Type": CBOR_CT, "Accept": CBOR_CT, "smithy-protocol": "rpc-v2-cbor",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/"
                             "monitoring/aws4_request, SignedHeaders=host, Signature=x"}
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    path = path or f"/service/{TARGET}/operation/{op}"
    u = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        rbody = resp.read()
        status, rheaders = resp.status, resp.headers
    finally:
        conn.close()
    CHECKER.check_raw(hdrs, data, status, rheaders, rbody, path=path)
    try:
        decoded = cbor2.loads(rbody) if rbody else None
    except Exception:
        decoded = None
    return status, rheaders, decoded, rbody


def test_the_three_protocols_give_the_same_datapoints(server, cw, jobs):
    t0 = datetime.datetime.fromtimestamp(jobs.start, datetime.timezone.utc)
    t1 = datetime.datetime.fromtimestamp(jobs.end, datetime.timezone.utc)
    args = {"Namespace": NS, "MetricName": METRIC_ACC["Name"], "Dimensions": job_dim(jobs.long),
            "Period": 1, "Statistics": ["Average", "Maximum"]}
    # awsQuery: Debian's boto3
    q = cw.get_metric_statistics(StartTime=t0, EndTime=t1, **args)["Datapoints"]
    want = sorted((epoch(p["Timestamp"]), p["Average"], p["Maximum"]) for p in q)
    assert len(want) == 5
    # smithy-rpc-v2-cbor: timestamps as tag 1 both ways
    status, headers, body, _ = cbor_call(server, "GetMetricStatistics",
                                         dict(args, StartTime=t0, EndTime=t1))
    assert status == 200 and headers["smithy-protocol"] == "rpc-v2-cbor", body
    assert headers["Content-Type"] == CBOR_CT
    assert all(isinstance(p["Timestamp"], datetime.datetime) for p in body["Datapoints"])
    assert sorted((p["Timestamp"].timestamp(), p["Average"], p["Maximum"])
                  for p in body["Datapoints"]) == want
    # awsJson 1.0: epoch seconds
    r = raw_json(server, f"{TARGET}.GetMetricStatistics",
                 dict(args, StartTime=jobs.start, EndTime=jobs.end), signing_name="monitoring",
                 headers={"Content-Type": "application/x-amz-json-1.0"})
    assert r.status == 200 and r.headers["Content-Type"] == "application/x-amz-json-1.0", r
    assert sorted((p["Timestamp"], p["Average"], p["Maximum"])
                  for p in r.json["Datapoints"]) == want
    assert r.violations == []


def test_errors_carry_the_query_code_in_every_protocol(server, jobs):
    bad = {"Namespace": NS, "MetricName": "m", "StartTime": jobs.start, "EndTime": jobs.end,
           "Period": 7, "Statistics": ["Sum"]}
    status, headers, body, _ = cbor_call(server, "GetMetricStatistics", bad)
    assert status == 400
    assert body["__type"] == "com.amazonaws.cloudwatch#InvalidParameterValueException"
    assert "Period" in body["message"]
    assert headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    r = raw_json(server, f"{TARGET}.GetMetricStatistics", bad, signing_name="monitoring",
                 headers={"Content-Type": "application/x-amz-json-1.0"})
    assert r.status == 400
    assert r.json["__type"] == "com.amazonaws.cloudwatch#InvalidParameterValueException"
    assert r.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    r = raw_query(server, "GetMetricStatistics",
                  {"Namespace": NS, "MetricName": "m", "StartTime": str(jobs.start),
                   "EndTime": str(jobs.end), "Period": "7", "Statistics.member.1": "Sum"},
                  version=VERSION, signing_name="monitoring")
    assert (r.status, r.code, r.parsed["Type"]) == (400, "InvalidParameterValue", "Sender"), r
    assert r.xml.tag == "{http://monitoring.amazonaws.com/doc/2010-08-01/}ErrorResponse"
    # a modeled error of another shape name: InvalidNextToken
    status, headers, body, _ = cbor_call(server, "GetMetricData", {
        "MetricDataQueries": [stat_query("m", jobs.long, "x")], "StartTime": jobs.start,
        "EndTime": jobs.end, "NextToken": "forged"})
    assert (status, body["__type"]) == (400, "com.amazonaws.cloudwatch#InvalidNextToken")
    assert headers["x-amzn-query-error"] == "InvalidNextToken;Sender"


def test_xml_replies_escape_every_text(server, jobs):
    r = raw_query(server, "GetMetricData", {
        "MetricDataQueries.member.1.Id": "m",
        "MetricDataQueries.member.1.Label": "<b>&\"'</b>",
        "MetricDataQueries.member.1.MetricStat.Metric.Namespace": NS,
        "MetricDataQueries.member.1.MetricStat.Metric.MetricName": METRIC_LOSS["Name"],
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name":
            "TrainingJobName",
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": jobs.long,
        "MetricDataQueries.member.1.MetricStat.Period": "60",
        "MetricDataQueries.member.1.MetricStat.Stat": "Maximum",
        "StartTime": str(jobs.start), "EndTime": str(jobs.end)},
        version=VERSION, signing_name="monitoring")
    assert r.status == 200 and r.violations == [], r
    assert b"&lt;b&gt;&amp;&quot;&apos;&lt;/b&gt;" in r.body
    assert r.parsed["MetricDataResults"][0]["Label"] == "<b>&\"'</b>"
    assert len(r.parsed["MetricDataResults"][0]["Values"]) >= 1


def test_cbor_requests_that_are_not_well_formed(server):
    # not CBOR at all, a truncated map, an array: SerializationException, in CBOR
    for raw in (b"{\"json\": 1}", cbor2.dumps({"Namespace": NS})[:-2], cbor2.dumps([1, 2])):
        status, headers, body, _ = cbor_call(server, "ListMetrics", None, raw_body=raw)
        assert status == 400 and body["__type"] == "SerializationException", (raw, body)
        assert headers["Content-Type"] == CBOR_CT
    # a value of the wrong type for its shape
    status, _, body, _ = cbor_call(server, "ListMetrics", {"Namespace": 5})
    assert (status, body["__type"]) == (400, "SerializationException"), body
    # an empty body is an empty input
    status, _, body, _ = cbor_call(server, "ListMetrics", None, raw_body=b"")
    assert status == 200 and "Metrics" in body
    # an unknown operation, an unknown service
    status, _, body, _ = cbor_call(server, "PutMetricData", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException"), body
    status, _, body, _ = cbor_call(server, "X", {}, path="/service/NoSuchService/operation/X")
    assert (status, body["__type"]) == (400, "UnknownOperationException"), body
    # another media type or method: Coral's bare 404; no smithy-protocol: not CBOR (REST)
    status, _, _, _ = cbor_call(server, "ListMetrics", {}, headers={"Content-Type": "text/plain"})
    assert status == 404
    status, _, _, _ = cbor_call(server, "ListMetrics", {}, method="PUT")
    assert status == 404
    status, _, _, _ = cbor_call(server, "ListMetrics", {}, headers={"smithy-protocol": None})
    assert status == 501


def test_the_journal_names_the_service_operation_and_job(server, cw, jobs):
    cw.get_metric_statistics(Namespace=NS, MetricName="CPUUtilization",
                             Dimensions=host_dim(jobs.long, 2), StartTime=jobs.start,
                             EndTime=jobs.end, Period=60, Statistics=["Average"])
    cbor_call(server, "GetMetricStatistics", {
        "Namespace": NS, "MetricName": METRIC_LOSS["Name"], "Dimensions": job_dim(jobs.long),
        "StartTime": jobs.start, "EndTime": jobs.end, "Period": 60, "Statistics": ["Sum"]})
    _, body, _ = server.admin("GET", "/_sagemock/requests?service=cloudwatch&limit=2")
    newest, before = body["requests"]
    assert (newest["operation"], newest.get("trainingJobName")) == \
        ("GetMetricStatistics", jobs.long), newest
    assert (before["operation"], before.get("trainingJobName")) == \
        ("GetMetricStatistics", f"{jobs.long}/algo-2"), before


def test_a_fault_for_one_job_throttles_its_metrics_once(server, cw, jobs):
    server._admin_ok("POST", "/_sagemock/faults",
                     {"service": "cloudwatch", "operation": "GetMetricStatistics",
                      "jobName": jobs.gpu, "error": "ThrottlingException", "count": 1})
    args = dict(Namespace=NS, MetricName=METRIC_LOSS["Name"], Dimensions=job_dim(jobs.gpu),
                StartTime=jobs.start, EndTime=jobs.end, Period=60, Statistics=["Sum"])
    try:
        with pytest.raises(ClientError) as e:
            cw.get_metric_statistics(**args)
        assert e.value.response["Error"]["Code"] == "ThrottlingException"
        assert cw.get_metric_statistics(**args)["Datapoints"]
    finally:
        server.admin("DELETE", "/_sagemock/faults")


# ------------------------------------------------------------- the checker's CBOR reading
def cbor_headers(**extra):
    import email.message
    h = email.message.Message()
    base = {"x-amzn-RequestId": str(__import__("uuid").uuid4()),
            "Date": "Fri, 04 Dec 2026 20:00:00 GMT", "Content-Type": CBOR_CT,
            "smithy-protocol": "rpc-v2-cbor"}
    base.update(extra)
    for k, v in base.items():
        if v is not None:
            h[k] = v
    return h


def test_the_checker_flags_cbor_that_breaks_the_model():
    from conformance import ConformanceChecker
    fresh = ConformanceChecker()

    def problems(status, headers, body):
        out, _ = fresh.check_service_response("cloudwatch", "GetMetricStatistics", status,
                                              headers, body, record=False,
                                              protocol="smithy-rpc-v2-cbor")
        return [str(v) for v in out]

    ts = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc)
    good = cbor2.dumps({"Label": "m", "Datapoints": [{"Timestamp": ts, "Average": 1.5}]},
                       datetime_as_timestamp=True)
    assert problems(200, cbor_headers(), good) == []
    untagged = cbor2.dumps({"Datapoints": [{"Timestamp": 1796342400}]})
    assert any("tag 1" in p for p in problems(200, cbor_headers(), untagged))
    assert any("smithy-protocol" in p
               for p in problems(200, cbor_headers(**{"smithy-protocol": None}), good))
    assert any("not a member" in p or "member not in" in p for p in problems(
        200, cbor_headers(), cbor2.dumps({"Nope": 1})))
    assert any("not CBOR" in p for p in problems(200, cbor_headers(), b"\x1c"))
    err = cbor2.dumps({"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
                       "message": "m"})
    assert problems(400, cbor_headers(**{"x-amzn-query-error": "InvalidParameterValue;Sender"}),
                    err) == []
    assert any("x-amzn-query-error" in p for p in problems(400, cbor_headers(), err))
    # the code from the header is checked against the model: InvalidParameterValue is a 400
    assert any("HTTP 400" in p for p in problems(
        500, cbor_headers(**{"x-amzn-query-error": "InvalidParameterValue;Receiver"}), err))
