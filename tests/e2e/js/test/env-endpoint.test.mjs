// The same basic flow with the endpoint taken from the environment
// (AWS_ENDPOINT_URL_SAGEMAKER, then the global AWS_ENDPOINT_URL) instead of `endpoint`.
// The proxy's counters prove the requests reached sagemock and not AWS.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import {
  AddTagsCommand,
  CreateTrainingJobCommand,
  DeleteTagsCommand,
  DeleteTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  ListTrainingJobsCommand,
  ResourceInUse,
  SageMakerClient,
  StopTrainingJobCommand,
  waitUntilTrainingJobCompletedOrStopped,
} from "@aws-sdk/client-sagemaker";

import { CREDENTIALS, REGION, arnFor, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();
const envClient = () => new SageMakerClient({ region: REGION, credentials: CREDENTIALS });

after(() => {
  delete process.env.AWS_ENDPOINT_URL_SAGEMAKER;
  delete process.env.AWS_ENDPOINT_URL;
});

test("AWS_ENDPOINT_URL_SAGEMAKER: create, describe, list, wait, tags, stop, delete", async () => {
  process.env.AWS_ENDPOINT_URL_SAGEMAKER = sm.url;
  const client = envClient();
  const before = (await sm.proxy.report()).responses;
  await sm.pause();

  const name = uniqueName("js-env");
  const created = await client.send(new CreateTrainingJobCommand(jobInput(name)));
  assert.equal(created.TrainingJobArn, arnFor(name));
  let d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  assert.equal(d.TrainingJobStatus, "InProgress");
  assert.ok(d.CreationTime instanceof Date);
  const listed = await client.send(new ListTrainingJobsCommand({ NameContains: name }));
  assert.deepEqual(listed.TrainingJobSummaries.map((s) => s.TrainingJobName), [name]);

  await assert.rejects(client.send(new CreateTrainingJobCommand(jobInput(name))), ResourceInUse);

  await client.send(new AddTagsCommand({ ResourceArn: arnFor(name), Tags: [{ Key: "k", Value: "v" }] }));
  assert.deepEqual((await client.send(new ListTagsCommand({ ResourceArn: arnFor(name) }))).Tags,
    [{ Key: "k", Value: "v" }]);
  await client.send(new DeleteTagsCommand({ ResourceArn: arnFor(name), TagKeys: ["k"] }));

  await sm.advance(11);
  const waited = await waitUntilTrainingJobCompletedOrStopped(
    { client, minDelay: 1, maxWaitTime: 30 }, { TrainingJobName: name });
  assert.equal(waited.reason.TrainingJobStatus, "Completed");

  const other = uniqueName("js-env-stop");
  await client.send(new CreateTrainingJobCommand(jobInput(other)));
  await client.send(new StopTrainingJobCommand({ TrainingJobName: other }));
  d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: other }));
  assert.equal(d.TrainingJobStatus, "Stopping");

  await client.send(new DeleteTrainingJobCommand({ TrainingJobName: name }));
  await assert.rejects(client.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
    { name: "ValidationException", message: "Requested resource not found." });

  const seen = (await sm.proxy.report()).responses - before;
  assert.equal(seen, 13, "every call (13) went through sagemock's proxy");
  await sm.setRate(1);
});

test("the global AWS_ENDPOINT_URL works too", async () => {
  delete process.env.AWS_ENDPOINT_URL_SAGEMAKER;
  process.env.AWS_ENDPOINT_URL = sm.url;
  const before = (await sm.proxy.report()).operations.ListTrainingJobs ?? 0;
  const out = await envClient().send(new ListTrainingJobsCommand({}));
  assert.ok(Array.isArray(out.TrainingJobSummaries));
  assert.equal((await sm.proxy.report()).operations.ListTrainingJobs - before, 1);
});
