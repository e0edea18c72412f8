// CloudWatch Logs, STS and IAM through the AWS SDK for JavaScript v3 (client-cloudwatch-logs,
// client-sts, client-iam at the same version as client-sagemaker), on the same sagemock endpoint
// as SageMaker. The recording proxy routes these responses by service and checks them against
// their models (server/services/<service>/model); a response that breaks its model fails the
// test that received it (harness.mjs, useSagemock).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  paginateFilterLogEvents,
} from "@aws-sdk/client-cloudwatch-logs";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  StopTrainingJobCommand,
} from "@aws-sdk/client-sagemaker";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

import { ACCOUNT, CREDENTIALS, REGION, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const GROUP = "/aws/sagemaker/TrainingJobs";
const LOSS = { Name: "train:loss", Regex: "train:loss=([0-9\\.]+)" };

const sm = useSagemock();
const opts = (region = REGION) => ({ endpoint: sm.url, region, credentials: CREDENTIALS, maxAttempts: 1 });
let smc, logs, sts, iam;

before(async () => {
  await sm.ready();
  smc = sm.client({ maxAttempts: 1 });
  logs = new CloudWatchLogsClient(opts());
  sts = new STSClient(opts());
  iam = new IAMClient(opts());
  await sm.pause();
});

async function createJob(prefix, { scenario = "success", instances = 1, epochs } = {}) {
  const name = uniqueName(prefix);
  const input = jobInput(name, {
    Tags: [{ Key: "sagemock:scenario", Value: scenario }],
    ResourceConfig: { InstanceType: "ml.m5.large", InstanceCount: instances, VolumeSizeInGB: 30 },
  });
  input.AlgorithmSpecification.MetricDefinitions = [LOSS];
  if (epochs) input.HyperParameters = { epochs: String(epochs) };
  await smc.send(new CreateTrainingJobCommand(input));
  return name;
}

async function streamsOf(name, client = logs) {
  const r = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: `${name}/` }));
  return r.logStreams.map((s) => s.logStreamName);
}

/** Every event of a stream from its head, paging until the same forward token comes back. */
async function allEvents(stream) {
  let r = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true, limit: 4 }));
  const events = [...r.events];
  for (let i = 0; i < 1000; i++) {
    const token = r.nextForwardToken;
    r = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, nextToken: token, limit: 4 }));
    if (r.nextForwardToken === token) {
      assert.deepEqual(r.events, []);
      return events;
    }
    events.push(...r.events);
  }
  throw new Error("GetLogEvents paging did not end");
}

async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("no error");
}

describe("CloudWatch Logs", () => {
  test("one stream per instance, a log that ends at Describe's FinalMetricDataList", async () => {
    const name = await createJob("js-logs", { instances: 2, epochs: 3 });
    await sm.advance(2.9);
    assert.deepEqual(await streamsOf(name), []);
    await sm.advance(27.1);
    const d = await smc.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    assert.equal(d.TrainingJobStatus, "Completed");
    const epoch = Math.floor(d.TrainingStartTime.getTime() / 1000);
    const streams = await streamsOf(name);
    assert.deepEqual(streams, [`${name}/algo-1-${epoch}`, `${name}/algo-2-${epoch}`]);
    const now = Math.round((await sm.now()) * 1000);
    const final = d.FinalMetricDataList[0];
    for (const s of streams) {
      const events = await allEvents(s);
      assert.ok(events.every((e) => e.timestamp <= e.ingestionTime && e.ingestionTime <= now));
      const values = events.map((e) => new RegExp(LOSS.Regex).exec(e.message)).filter(Boolean).map((m) => Number(m[1]));
      assert.equal(values.length, 3);
      assert.equal(values.at(-1), final.Value);
      assert.match(events.at(-1).message, /Reporting training SUCCESS$/);
    }
  });

  test("FilterLogEvents interleaves the streams, filters and pages", async () => {
    const name = await createJob("js-filter", { instances: 2, epochs: 2 });
    await sm.advance(30);
    const all = [];
    for await (const page of paginateFilterLogEvents({ client: logs, pageSize: 3 }, { logGroupName: GROUP, logStreamNamePrefix: `${name}/` })) {
      all.push(...page.events);
    }
    const ts = all.map((e) => e.timestamp);
    assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
    assert.equal(new Set(all.map((e) => e.logStreamName)).size, 2);
    const r = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: `${name}/`, filterPattern: '?"Epoch 2/2" ?SUCCESS' }));
    assert.equal(r.events.length, 4, JSON.stringify(r.events));
  });

  test("a failed job's traceback and a stopped job's SIGTERM", async () => {
    const failed = await createJob("js-fail", { scenario: "algorithm-error" });
    const stopped = await createJob("js-stop");
    await sm.advance(6.5);
    await smc.send(new StopTrainingJobCommand({ TrainingJobName: stopped }));
    await sm.advance(30);
    const d = await smc.send(new DescribeTrainingJobCommand({ TrainingJobName: failed }));
    const lines = d.FailureReason.slice("AlgorithmError: ".length).split("\n");
    const msgs = (await allEvents((await streamsOf(failed))[0])).map((e) => e.message);
    assert.deepEqual(msgs.slice(-1 - lines.length, -1), lines);
    assert.ok(msgs.includes("Traceback (most recent call last):"));
    const stoppedMsgs = (await allEvents((await streamsOf(stopped))[0])).map((e) => e.message);
    assert.ok(stoppedMsgs.includes("Received SIGTERM: stopping the training job"), stoppedMsgs.join("\n"));
  });

  test("errors: another group, a missing stream, LastEventTime with a prefix", async () => {
    let e = await rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: "/aws/lambda/fn" })));
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.message, "The specified log group does not exist.");
    assert.equal(e.$metadata.httpStatusCode, 400);
    e = await rejects(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: "nope/algo-1-1" })));
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.message, "The specified log stream does not exist.");
    e = await rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: "x", orderBy: "LastEventTime" })));
    assert.equal(e.name, "InvalidParameterException");
    assert.equal(e.message, "Cannot order by LastEventTime with a logStreamNamePrefix.");
  });

  test("the group, its ARN as logGroupIdentifier, and regions", async () => {
    const name = await createJob("js-arn");
    await sm.advance(30);
    const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/aws/sagemaker/" }));
    assert.equal(logGroups.length, 1);
    assert.equal(logGroups[0].logGroupArn, `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}`);
    const r = await logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: logGroups[0].logGroupArn, logStreamNamePrefix: `${name}/` }));
    assert.equal(r.logStreams.length, 1);
    const eu = new CloudWatchLogsClient(opts("eu-west-1"));
    assert.deepEqual(await streamsOf(name, eu), []);
  });

  test("PutLogEvents is not served, and says so", async () => {
    const e = await rejects(logs.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: "s", logEvents: [{ timestamp: 1, message: "m" }] })));
    assert.equal(e.name, "UnknownOperationException");
    assert.match(e.message, /CloudWatch Logs/);
    assert.match(e.message, /PutLogEvents/);
  });
});

describe("STS and IAM", () => {
  test("GetCallerIdentity", async () => {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(r.Account, ACCOUNT);
    assert.equal(r.Arn, `arn:aws:iam::${ACCOUNT}:user/sagemock`);
    assert.match(r.UserId, /^AIDA[A-Z2-7]{17}$/);
  });

  test("GetRole, and a role a fixture declares missing", async () => {
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: "SageMakerRole" }));
    assert.equal(Role.Arn, `arn:aws:iam::${ACCOUNT}:role/SageMakerRole`);
    assert.equal(Role.Path, "/");
    assert.ok(Role.CreateDate instanceof Date && !Number.isNaN(Role.CreateDate.getTime()));
    const again = await iam.send(new GetRoleCommand({ RoleName: "SageMakerRole" }));
    assert.equal(again.Role.RoleId, Role.RoleId);
    assert.equal(again.Role.CreateDate.getTime(), Role.CreateDate.getTime());
    await sm.admin("POST", "/_sagemock/fixtures", { iam: { missingRoles: ["js-missing-*"] } });
    const e = await rejects(iam.send(new GetRoleCommand({ RoleName: "js-missing-x" })));
    assert.equal(e.name, "NoSuchEntityException");
    assert.equal(e.message, "The role with name js-missing-x cannot be found.");
    assert.equal(e.$metadata.httpStatusCode, 404);
  });

  test("AssumeRole is not served: InvalidAction", async () => {
    const e = await rejects(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/R`, RoleSessionName: "session" })));
    assert.equal(e.name, "InvalidAction");
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, /AssumeRole/);
  });
});

test("the proxy checked every service's responses against its model", async () => {
  const report = await sm.proxy.report();
  for (const op of ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams", "sts:GetCallerIdentity", "iam:GetRole", "sts:AssumeRole"]) {
    assert.ok(report.operations[op] > 0, `${op} not seen: ${JSON.stringify(report.operations)}`);
  }
  assert.ok(report.otherResponses > 0);
});
