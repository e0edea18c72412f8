// CloudWatch metrics of training jobs through the AWS SDK for JavaScript v3
// (@aws-sdk/client-cloudwatch 3.967.0, like the other clients). Out of the box that release
// speaks awsJson 1.0 (AwsJson1_0Protocol, awsQueryCompatible); the same client is also driven
// over smithy-rpc-v2-cbor (AwsSmithyRpcV2CborProtocol) and awsQuery (AwsQueryProtocol) by its
// `protocol` option. Every protocol must read the same datapoints: the values the job's log
// prints, ending at Describe's FinalMetricDataList value. The recording proxy checks every
// response against the CloudWatch model (CBOR included) and fails the test that received one
// that breaks it (harness.mjs, useSagemock).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  CloudWatchClient,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  InvalidParameterValueException,
  ListMetricsCommand,
  paginateGetMetricData,
} from "@aws-sdk/client-cloudwatch";
import { AwsQueryProtocol, AwsSmithyRpcV2CborProtocol } from "@aws-sdk/core/protocols";
import { CreateTrainingJobCommand, DescribeTrainingJobCommand } from "@aws-sdk/client-sagemaker";

import { CREDENTIALS, REGION, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const NS = "/aws/sagemaker/TrainingJobs";
const LOSS = { Name: "train:loss", Regex: "train:loss=([0-9\\.]+)" };
const ACC = { Name: "validation:accuracy", Regex: "validation:accuracy=([0-9\\.]+)" };

const sm = useSagemock();
const PROTOCOLS = {
  json: undefined, // the client's own default
  cbor: AwsSmithyRpcV2CborProtocol,
  query: AwsQueryProtocol,
};
const clients = {};
let smc, job, desc, wire;

before(async () => {
  await sm.ready();
  smc = sm.client({ maxAttempts: 1 });
  wire = [];
  for (const [name, protocol] of Object.entries(PROTOCOLS)) {
    const c = new CloudWatchClient({ endpoint: sm.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1, ...(protocol ? { protocol } : {}) });
    c.middlewareStack.add((next) => async (args) => {
      wire.push({ client: name, path: args.request.path, headers: { ...args.request.headers } });
      return next(args);
    }, { step: "finalizeRequest", name: "sagemockWire" });
    clients[name] = c;
  }
  await sm.pause();
  job = uniqueName("js-cw");
  const input = jobInput(job, {
    Tags: [{ Key: "sagemock:scenario", Value: "success" }],
    ResourceConfig: { InstanceType: "ml.g5.xlarge", InstanceCount: 2, VolumeSizeInGB: 30 },
    HyperParameters: { epochs: "3" },
  });
  input.AlgorithmSpecification.MetricDefinitions = [LOSS, ACC];
  await smc.send(new CreateTrainingJobCommand(input));
  await sm.advance(30);
  desc = await smc.send(new DescribeTrainingJobCommand({ TrainingJobName: job }));
  assert.equal(desc.TrainingJobStatus, "Completed");
});

const window = () => ({
  StartTime: new Date(desc.CreationTime.getTime() - 60000),
  EndTime: new Date(desc.TrainingEndTime.getTime() + 60000),
});
const byTime = (a, b) => a.Timestamp - b.Timestamp;

async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("no error");
}

describe("CloudWatch metrics in every protocol", () => {
  test("the client speaks awsJson 1.0 by default, CBOR and awsQuery when told", async () => {
    wire.length = 0;
    for (const c of Object.values(clients)) await c.send(new ListMetricsCommand({ Namespace: NS, Dimensions: [{ Name: "TrainingJobName", Value: job }] }));
    const by = Object.fromEntries(wire.map((w) => [w.client, w]));
    assert.equal(by.json.headers["x-amz-target"], "GraniteServiceVersion20100801.ListMetrics");
    assert.equal(by.json.headers["content-type"], "application/x-amz-json-1.0");
    assert.equal(by.cbor.path, "/service/GraniteServiceVersion20100801/operation/ListMetrics");
    assert.equal(by.cbor.headers["smithy-protocol"], "rpc-v2-cbor");
    assert.equal(by.cbor.headers["content-type"], "application/cbor");
    assert.match(by.query.headers["content-type"], /^application\/x-www-form-urlencoded/);
  });

  test("GetMetricStatistics: the log's series, the same in every protocol", async () => {
    const final = Object.fromEntries(desc.FinalMetricDataList.map((m) => [m.MetricName, m.Value]));
    const seen = {};
    for (const [name, c] of Object.entries(clients)) {
      const r = await c.send(new GetMetricStatisticsCommand({
        Namespace: NS, MetricName: LOSS.Name, Dimensions: [{ Name: "TrainingJobName", Value: job }],
        Period: 1, Statistics: ["Average", "SampleCount", "Maximum"], ...window(),
      }));
      assert.equal(r.Label, LOSS.Name);
      const points = r.Datapoints.sort(byTime);
      assert.ok(points.length >= 2, JSON.stringify(points));
      assert.equal(points.at(-1).Average, final[LOSS.Name]);
      assert.ok(points.every((p) => p.Timestamp instanceof Date && p.Unit === "None"));
      seen[name] = points.map((p) => [p.Timestamp.getTime(), p.Average, p.SampleCount, p.Maximum]);
    }
    assert.deepEqual(seen.cbor, seen.json);
    assert.deepEqual(seen.query, seen.json);
  });

  test("GetMetricStatistics: GPU instance metrics with percentiles per host", async () => {
    const seen = {};
    for (const [name, c] of Object.entries(clients)) {
      const r = await c.send(new GetMetricStatisticsCommand({
        Namespace: NS, MetricName: "GPUUtilization", Dimensions: [{ Name: "Host", Value: `${job}/algo-2` }],
        Period: 60, ExtendedStatistics: ["p50", "p99.9"], ...window(),
      }));
      assert.ok(r.Datapoints.length >= 1);
      assert.ok(r.Datapoints.every((p) => p.Unit === "Percent" && p.ExtendedStatistics.p50 <= 100));
      seen[name] = r.Datapoints.sort(byTime).map((p) => [p.Timestamp.getTime(), p.ExtendedStatistics]);
    }
    assert.deepEqual(seen.cbor, seen.json);
    assert.deepEqual(seen.query, seen.json);
  });

  test("GetMetricData: queries, labels, scan order and paging", async () => {
    const queries = [
      { Id: "loss", MetricStat: { Metric: { Namespace: NS, MetricName: LOSS.Name, Dimensions: [{ Name: "TrainingJobName", Value: job }] }, Period: 1, Stat: "Average" } },
      { Id: "acc", Label: "accuracy", MetricStat: { Metric: { Namespace: NS, MetricName: ACC.Name, Dimensions: [{ Name: "TrainingJobName", Value: job }] }, Period: 1, Stat: "Maximum" } },
      { Id: "hidden", ReturnData: false, MetricStat: { Metric: { Namespace: NS, MetricName: "CPUUtilization", Dimensions: [{ Name: "Host", Value: `${job}/algo-1` }] }, Period: 60, Stat: "Average" } },
    ];
    const seen = {};
    for (const [name, c] of Object.entries(clients)) {
      const whole = await c.send(new GetMetricDataCommand({ MetricDataQueries: queries, ScanBy: "TimestampAscending", ...window() }));
      assert.deepEqual(whole.MetricDataResults.map((x) => [x.Id, x.Label, x.StatusCode]), [["loss", LOSS.Name, "Complete"], ["acc", "accuracy", "Complete"]]);
      const paged = { loss: [], acc: [] };
      let pages = 0;
      for await (const page of paginateGetMetricData({ client: c }, { MetricDataQueries: queries, ScanBy: "TimestampAscending", MaxDatapoints: 2, ...window() })) {
        pages++;
        for (const x of page.MetricDataResults) paged[x.Id].push(...x.Values);
      }
      assert.ok(pages >= 2);
      assert.deepEqual(paged, Object.fromEntries(whole.MetricDataResults.map((x) => [x.Id, x.Values])));
      seen[name] = whole.MetricDataResults.map((x) => [x.Timestamps.map((t) => t.getTime()), x.Values]);
    }
    assert.deepEqual(seen.cbor, seen.json);
    assert.deepEqual(seen.query, seen.json);
  });

  test("ListMetrics: the job's algorithm and instance metrics", async () => {
    for (const c of Object.values(clients)) {
      const algo = await c.send(new ListMetricsCommand({ Namespace: NS, Dimensions: [{ Name: "TrainingJobName", Value: job }] }));
      assert.deepEqual(algo.Metrics.map((m) => m.MetricName).sort(), [LOSS.Name, ACC.Name].sort());
      const host = await c.send(new ListMetricsCommand({ Dimensions: [{ Name: "Host", Value: `${job}/algo-1` }] }));
      assert.deepEqual(host.Metrics.map((m) => m.MetricName).sort(),
        ["CPUUtilization", "DiskUtilization", "GPUMemoryUtilization", "GPUUtilization", "MemoryUtilization"]);
    }
  });

  test("errors are the modeled exceptions, with the awsQuery code", async () => {
    for (const [name, c] of Object.entries(clients)) {
      const e = await rejects(c.send(new GetMetricStatisticsCommand({
        Namespace: NS, MetricName: "x", Period: 7, Statistics: ["Sum"], ...window(),
      })));
      assert.ok(e instanceof InvalidParameterValueException, `${name}: ${e.name} ${e.message}`);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.match(e.message, /Period/);
      assert.equal(e.Error?.Code ?? e.Code, "InvalidParameterValue", name);
    }
  });
});
