// The strict check of this suite can fail: a fake server (not sagemock) answers bad bodies
// through the same recording proxy the other files use, and the proxy reports each problem with
// operation, path and problem. It also records what the JavaScript SDK itself does with such
// bodies: it refuses a string timestamp, but accepts a missing required member, an unknown
// member or a null silently (which is why the strict decoder exists).

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";

import { DescribeTrainingJobCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";

import { CREDENTIALS, REGION, startProxy } from "../lib/harness.mjs";

const GOOD = {
  TrainingJobName: "good-job",
  TrainingJobArn: "arn:aws:sagemaker:us-east-1:123456789012:training-job/good-job",
  ModelArtifacts: { S3ModelArtifacts: "s3://b/out/good-job/output/model.tar.gz" },
  TrainingJobStatus: "InProgress",
  SecondaryStatus: "Starting",
  AlgorithmSpecification: { TrainingImage: "img", TrainingInputMode: "File" },
  ResourceConfig: { InstanceType: "ml.m5.large", InstanceCount: 1, VolumeSizeInGB: 30 },
  StoppingCondition: { MaxRuntimeInSeconds: 86400 },
  CreationTime: 1747419050.603,
  LastModifiedTime: 1747419050.603,
  SecondaryStatusTransitions: [
    { Status: "Starting", StartTime: 1747419050.603, StatusMessage: "Starting the training job" }],
};

let body = GOOD;
let fake;
let proxy;

before(async () => {
  fake = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const out = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
      res.writeHead(200, {
        "Content-Type": "application/x-amz-json-1.1",
        "x-amzn-RequestId": "29c8779d-820c-4298-8cba-7cd6d528942c",
        "Date": new Date().toUTCString(),
        "Content-Length": out.length,
      });
      res.end(out);
    });
  });
  await new Promise((r) => fake.listen(0, "127.0.0.1", r));
  proxy = await startProxy(`http://127.0.0.1:${fake.address().port}`, "strict-wiring");
});

after(async () => {
  await proxy.stop();
  await new Promise((r) => fake.close(r));
});

const describe = () =>
  new SageMakerClient({ endpoint: proxy.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 })
    .send(new DescribeTrainingJobCommand({ TrainingJobName: "good-job" }));

test("a good body passes: no problem reported", async () => {
  body = GOOD;
  const d = await describe();
  assert.equal(d.CreationTime.getTime(), 1747419050603);
  assert.deepEqual(await proxy.take(), []);
});

test("an ISO timestamp: the SDK refuses the response, the proxy names the path", async () => {
  body = { ...GOOD, CreationTime: "2025-05-16T18:10:50.603Z" };
  await assert.rejects(describe(), (err) => {
    assert.match(String(err.message), /real number|NaN|Deserialization|date|number/i);
    return true;
  });
  const problems = await proxy.take();
  assert.ok(problems.includes("strict: DescribeTrainingJob: CreationTime: timestamp must be a number of " +
    "epoch seconds, got string \"2025-05-16T18:10:50.603Z\""), problems.join("\n"));
});

test("a missing required member, an unknown member and a null: the SDK accepts them; the proxy does not", async () => {
  const bad = { ...GOOD, Extra: 1, LastModifiedTime: null };
  delete bad.SecondaryStatus;
  body = bad;
  const d = await describe(); // the SDK does not check
  assert.equal(d.SecondaryStatus, undefined);
  const problems = await proxy.take();
  for (const p of [
    "strict: DescribeTrainingJob: $: required member 'SecondaryStatus' of DescribeTrainingJobResponse is missing",
    "strict: DescribeTrainingJob: Extra: member not in the model's DescribeTrainingJobResponse",
    "strict: DescribeTrainingJob: LastModifiedTime: null where Timestamp (timestamp) is due; absent members must be omitted",
  ]) {
    assert.ok(problems.includes(p), `missing ${JSON.stringify(p)} in:\n${problems.join("\n")}`);
  }
});

test("an enum value the model lacks and a string where an integer is due", async () => {
  body = { ...GOOD, TrainingJobStatus: "Running", ResourceConfig: { ...GOOD.ResourceConfig, InstanceCount: "1" } };
  await describe().catch(() => {});
  const problems = await proxy.take();
  assert.ok(problems.some((p) => p.startsWith("strict: DescribeTrainingJob: TrainingJobStatus: 'Running' is not a value")),
    problems.join("\n"));
  assert.ok(problems.some((p) => p.startsWith("strict: DescribeTrainingJob: ResourceConfig.InstanceCount: expected an integer literal")),
    problems.join("\n"));
});
