// AddTags / ListTags / DeleteTags on a training job's ARN, through the JavaScript SDK.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AddTagsCommand,
  CreateTrainingJobCommand,
  DeleteTagsCommand,
  ListTagsCommand,
  paginateListTags,
} from "@aws-sdk/client-sagemaker";

import { arnFor, jobInput, uniqueName, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();

test("tags: creation tags, added tags in first-insertion order, deleted tags", async () => {
  const client = sm.client();
  const name = uniqueName("js-tags");
  await client.send(new CreateTrainingJobCommand(jobInput(name, { Tags: [{ Key: "team", Value: "ml" }] })));
  const arn = arnFor(name);

  const added = await client.send(new AddTagsCommand({
    ResourceArn: arn, Tags: [{ Key: "env", Value: "ci" }, { Key: "owner", Value: "me" }],
  }));
  assert.deepEqual(added.Tags, [{ Key: "env", Value: "ci" }, { Key: "owner", Value: "me" }]);

  // overwrite keeps the first position
  await client.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: "team", Value: "research" }] }));
  let listed = await client.send(new ListTagsCommand({ ResourceArn: arn }));
  assert.deepEqual(listed.Tags, [
    { Key: "team", Value: "research" }, { Key: "env", Value: "ci" }, { Key: "owner", Value: "me" },
  ]);
  assert.equal(listed.NextToken, undefined);

  const deleted = await client.send(new DeleteTagsCommand({ ResourceArn: arn, TagKeys: ["env", "absent"] }));
  assert.deepEqual(Object.keys(deleted), ["$metadata"]);
  assert.equal(deleted.$metadata.httpStatusCode, 200);
  listed = await client.send(new ListTagsCommand({ ResourceArn: arn }));
  assert.deepEqual(listed.Tags.map((t) => t.Key), ["team", "owner"]);
});

test("paginateListTags: 50 tags (the per-resource limit) in one page; the 51st is refused", async () => {
  const client = sm.client();
  const name = uniqueName("js-manytags");
  await client.send(new CreateTrainingJobCommand(jobInput(name)));
  const arn = arnFor(name);
  const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(3, "0")}`);
  for (let i = 0; i < keys.length; i += 25) {
    await client.send(new AddTagsCommand({
      ResourceArn: arn, Tags: keys.slice(i, i + 25).map((k) => ({ Key: k, Value: k.toUpperCase() })),
    }));
  }
  const pages = [];
  for await (const page of paginateListTags({ client, pageSize: 50 }, { ResourceArn: arn })) pages.push(page);
  assert.deepEqual(pages.map((p) => p.Tags.length), [50]);
  assert.deepEqual(pages[0].Tags.map((t) => t.Key), keys);
  await assert.rejects(client.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: "one-more", Value: "" }] })),
    (err) => {
      assert.ok(err.message.endsWith("would have 51 tags; a resource can have at most 50."), err.message);
      return true;
    });
});

test("tags of a missing job: ValidationException", async () => {
  const client = sm.client();
  await assert.rejects(client.send(new ListTagsCommand({ ResourceArn: arnFor(uniqueName("js-none")) })), {
    name: "ValidationException",
    message: "Resource does not exist",
  });
});
