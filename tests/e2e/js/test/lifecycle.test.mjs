// A job's life through @aws-sdk/client-sagemaker: create, describe (timestamps as Dates, to the
// millisecond), the waiter (clock sped up, and clock advanced), update, stop, delete.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CreateTrainingJobCommand,
  DeleteTrainingJobCommand,
  DescribeTrainingJobCommand,
  ResourceInUse,
  StopTrainingJobCommand,
  UpdateTrainingJobCommand,
  waitUntilTrainingJobCompletedOrStopped,
} from "@aws-sdk/client-sagemaker";

import { arnFor, assertDates, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

test("create answers the lower-cased ARN; describe while Starting gives Dates to the millisecond", async () => {
  const client = sm.client();
  await sm.pause();
  const t = Math.floor(await sm.now()) + 5;
  await sm.setClock(t + 0.123);
  const name = uniqueName("JS-Create");
  const created = await client.send(new CreateTrainingJobCommand(jobInput(name, {
    HyperParameters: { eta: "0.1" },
    Tags: [{ Key: "team", Value: "ml" }],
  })));
  assert.equal(created.TrainingJobArn, arnFor(name));
  assert.equal(created.$metadata.httpStatusCode, 200);
  assert.match(created.$metadata.requestId, UUID);

  const d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d.TrainingJobName, name);
  assert.equal(d.TrainingJobStatus, "InProgress");
  assert.equal(d.SecondaryStatus, "Starting");
  assert.ok(d.CreationTime instanceof Date);
  assert.equal(d.CreationTime.getTime(), t * 1000 + 123);
  assert.equal(d.CreationTime.toISOString().slice(-5), ".123Z");
  assert.equal(d.LastModifiedTime.getTime(), t * 1000 + 123);
  assert.equal(d.SecondaryStatusTransitions.length, 1);
  assert.equal(d.SecondaryStatusTransitions[0].StartTime.getTime(), t * 1000 + 123);
  assert.equal(d.SecondaryStatusTransitions[0].StatusMessage, "Starting the training job");
  assert.equal(d.TrainingStartTime, undefined);
  assert.equal(d.Tags, undefined);
  assert.deepEqual(d.HyperParameters, { eta: "0.1" });
  assert.equal(d.ResourceConfig.InstanceCount, 1);
  assert.equal(d.OutputDataConfig.CompressionType, "GZIP"); // a member newer than old botocore
  assert.equal(d.InputDataConfig[0].CompressionType, "None");
  assert.equal(assertDates(d), 3);

  await sm.advance(4.5); // Downloading, with a fractional clock
  const d2 = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d2.SecondaryStatus, "Downloading");
  assert.equal(d2.TrainingStartTime.getTime(), (t + 3) * 1000 + 123);
  assert.equal(d2.SecondaryStatusTransitions[0].EndTime.getTime(), d2.TrainingStartTime.getTime());
  assertDates(d2);
  await sm.setRate(1);
});

test("waitUntilTrainingJobCompletedOrStopped with the clock sped up (rate 20)", async () => {
  const client = sm.client();
  await sm.setRate(20); // the 10 s plan takes half a second
  const name = uniqueName("js-wait-rate");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  const t0 = Date.now();
  const result = await waitUntilTrainingJobCompletedOrStopped(
    { client, minDelay: 1, maxDelay: 2, maxWaitTime: 30 }, { TrainingJobName: name });
  assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
  assert.equal(result.state, "SUCCESS");
  assert.equal(result.reason.TrainingJobStatus, "Completed");
  await sm.pause();
  const d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.deepEqual(d.SecondaryStatusTransitions.map((x) => x.Status),
    ["Starting", "Downloading", "Training", "Uploading", "Completed"]);
  assert.ok(d.SecondaryStatusTransitions.every((x) => x.StatusMessage));
  assert.equal(d.TrainingTimeInSeconds, 7);
  assert.equal(d.BillableTimeInSeconds, 7);
  assert.equal(d.TrainingEndTime.getTime() - d.TrainingStartTime.getTime(), 7000);
  assert.equal(d.TrainingEndTime.getTime() - d.CreationTime.getTime(), 10000);
  assert.equal(d.ModelArtifacts.S3ModelArtifacts, `s3://sagemock-bucket/output/${name}/output/model.tar.gz`);
  assertDates(d);
  await sm.setRate(1);
});

test("waitUntilTrainingJobCompletedOrStopped with the clock advanced: the first poll succeeds", async () => {
  const client = sm.client();
  await sm.pause();
  const name = uniqueName("js-wait-adv");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  await sm.advance(11);
  const before = (await sm.proxy.report()).operations.DescribeTrainingJob ?? 0;
  const t0 = Date.now();
  const result = await waitUntilTrainingJobCompletedOrStopped(
    { client, minDelay: 1, maxWaitTime: 30 }, { TrainingJobName: name });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(result.state, "SUCCESS");
  assert.equal(result.reason.TrainingJobStatus, "Completed");
  assert.equal((await sm.proxy.report()).operations.DescribeTrainingJob - before, 1);
  await sm.setRate(1);
});

test("the waiter fails at once for a missing job (ValidationException is a failure acceptor)", async () => {
  const client = sm.client();
  const t0 = Date.now();
  await assert.rejects(
    waitUntilTrainingJobCompletedOrStopped({ client, minDelay: 1, maxWaitTime: 30 },
      { TrainingJobName: uniqueName("js-nowait") }),
    (err) => {
      const result = JSON.parse(err.message);
      assert.equal(result.state, "FAILURE");
      assert.equal(result.reason.name, "ValidationException");
      assert.equal(result.reason.message, "Requested resource not found.");
      return true;
    });
  assert.ok(Date.now() - t0 < 5000);
});

test("update the profiler while InProgress", async () => {
  const client = sm.client();
  await sm.pause();
  const name = uniqueName("js-update");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  const out = await client.send(new UpdateTrainingJobCommand({
    TrainingJobName: name,
    ProfilerConfig: { ProfilingIntervalInMilliseconds: 500, S3OutputPath: "s3://bucket/prof" },
  }));
  assert.equal(out.TrainingJobArn, arnFor(name));
  const d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d.ProfilerConfig.ProfilingIntervalInMilliseconds, 500);
  assert.equal(d.ProfilingStatus, "Enabled");
  await sm.setRate(1);
});

test("stop: Stopping at once (the step in progress still shown), Stopped 2 s later; a second stop is refused", async () => {
  const client = sm.client();
  await sm.pause();
  const name = uniqueName("js-stop");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  await sm.advance(5); // Training
  const out = await client.send(new StopTrainingJobCommand({ TrainingJobName: name }));
  assert.deepEqual(Object.keys(out), ["$metadata"]);
  assert.equal(out.$metadata.httpStatusCode, 200);
  let d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d.TrainingJobStatus, "Stopping");
  assert.equal(d.SecondaryStatus, "Training"); // the step in progress, for a second (spec §2.4)
  await sm.advance(1);
  d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d.SecondaryStatus, "Stopping");
  await sm.advance(1.5);
  const result = await waitUntilTrainingJobCompletedOrStopped(
    { client, minDelay: 1, maxWaitTime: 30 }, { TrainingJobName: name });
  assert.equal(result.reason.TrainingJobStatus, "Stopped");
  d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.deepEqual(d.SecondaryStatusTransitions.map((x) => x.Status),
    ["Starting", "Downloading", "Training", "Stopping", "Stopped"]);
  assert.ok(d.TrainingEndTime instanceof Date);
  await assert.rejects(client.send(new StopTrainingJobCommand({ TrainingJobName: name })), {
    name: "ValidationException",
    message: "The request was rejected because the training job is in status Stopped.",
  });
  await sm.setRate(1);
});

test("delete: refused while InProgress (typed ResourceInUse), then gone, then the name is free", async () => {
  const client = sm.client();
  await sm.pause();
  const name = uniqueName("js-delete");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  await assert.rejects(client.send(new DeleteTrainingJobCommand({ TrainingJobName: name })), (err) => {
    assert.ok(err instanceof ResourceInUse, `${err.name}: ${err.message}`);
    assert.equal(err.$fault, "client");
    return true;
  });
  await sm.advance(11);
  const out = await client.send(new DeleteTrainingJobCommand({ TrainingJobName: name }));
  assert.deepEqual(Object.keys(out), ["$metadata"]);
  await assert.rejects(client.send(new DescribeTrainingJobCommand({ TrainingJobName: name })), {
    name: "ValidationException",
    message: "Requested resource not found.",
  });
  const again = await client.send(new CreateTrainingJobCommand(jobInput(name)));
  assert.equal(again.TrainingJobArn, arnFor(name));
  await sm.setRate(1);
});
