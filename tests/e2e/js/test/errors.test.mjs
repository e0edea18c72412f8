// Errors as the JavaScript SDK surfaces them: modeled codes become typed classes
// (ResourceInUse, ResourceNotFound), the rest a SageMakerServiceException with the code as its
// name; always $fault "client", HTTP 400, one attempt (not retried), a request id.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CreateTrainingJobCommand,
  DeleteTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  ResourceInUse,
  ResourceNotFound,
  SageMakerServiceException,
  StopTrainingJobCommand,
  UpdateTrainingJobCommand,
} from "@aws-sdk/client-sagemaker";

import { arnFor, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Run `promise`, expect a rejection, check what every service error shares; return it. */
async function serviceError(promise) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof SageMakerServiceException, `${err?.name}: ${err?.message}`);
  assert.equal(err.$fault, "client");
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.equal(err.$metadata.attempts, 1, "a 400 must not be retried");
  assert.match(err.$metadata.requestId, UUID);
  return err;
}

test("a taken name: ResourceInUse is the typed class, naming the existing ARN", async () => {
  const client = sm.client();
  const name = uniqueName("js-dup");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  const err = await serviceError(client.send(new CreateTrainingJobCommand(jobInput(name))));
  assert.ok(err instanceof ResourceInUse);
  assert.equal(err.name, "ResourceInUse");
  assert.ok(err.message.includes(`(${arnFor(name)})`), err.message);
  assert.equal(err.Message ?? err.message, err.message);
});

test("describe of a missing job: ValidationException 'Requested resource not found.' (not ResourceNotFound)", async () => {
  const client = sm.client();
  const err = await serviceError(
    client.send(new DescribeTrainingJobCommand({ TrainingJobName: uniqueName("js-missing") })));
  assert.equal(err.name, "ValidationException");
  assert.equal(err.message, "Requested resource not found.");
  assert.ok(!(err instanceof ResourceNotFound));
});

test("stop and update of a missing job: ValidationException", async () => {
  const client = sm.client();
  const name = uniqueName("js-missing");
  for (const cmd of [new StopTrainingJobCommand({ TrainingJobName: name }),
    new UpdateTrainingJobCommand({ TrainingJobName: name, ProfilerConfig: { ProfilingIntervalInMilliseconds: 500 } })]) {
    const err = await serviceError(client.send(cmd));
    assert.equal(err.name, "ValidationException");
    assert.equal(err.message, "Requested resource not found.");
  }
});

test("delete of a missing job: the typed ResourceNotFound", async () => {
  const client = sm.client();
  const err = await serviceError(
    client.send(new DeleteTrainingJobCommand({ TrainingJobName: uniqueName("js-missing") })));
  assert.ok(err instanceof ResourceNotFound);
  assert.equal(err.message, "Requested resource not found.");
});

test("constraints the JS SDK does not check client-side come back as Coral messages", async () => {
  const client = sm.client();
  let err = await serviceError(client.send(new CreateTrainingJobCommand(jobInput("bad_name"))));
  assert.equal(err.name, "ValidationException");
  assert.equal(err.message,
    "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: " +
    "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
  err = await serviceError(client.send(new ListTagsCommand({ ResourceArn: arnFor("x"), MaxResults: 10 })));
  assert.equal(err.message,
    "1 validation error detected: Value '10' at 'maxResults' failed to satisfy constraint: " +
    "Member must have value greater than or equal to 50");
  err = await serviceError(client.send(new CreateTrainingJobCommand(
    jobInput(uniqueName("js-tags"), { Tags: [{ Key: "aws:x", Value: "y" }] }))));
  assert.match(err.message, /^Tag keys starting with 'aws:' are reserved/);
});

test("state errors: stop of a Completed job, the empty update", async () => {
  const client = sm.client();
  await sm.pause();
  const name = uniqueName("js-state");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  let err = await serviceError(client.send(new UpdateTrainingJobCommand({ TrainingJobName: name })));
  assert.equal(err.message, "Invalid UpdateTrainingJobRequest, the request cannot be empty");
  await sm.advance(11);
  err = await serviceError(client.send(new StopTrainingJobCommand({ TrainingJobName: name })));
  assert.equal(err.name, "ValidationException");
  assert.equal(err.message, "The request was rejected because the training job is in status Completed.");
  await sm.setRate(1);
});
