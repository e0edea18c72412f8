// paginateListTrainingJobs over 250 jobs (created one simulated second apart, clock paused):
// every page size, the default order (newest first), sorting, and filters, which the service
// applies after paging (short or empty pages with a NextToken, which the paginator must follow).

import assert from "node:assert/strict";
import { before, test } from "node:test";

import {
  CreateTrainingJobCommand,
  ListTrainingJobsCommand,
  paginateListTrainingJobs,
} from "@aws-sdk/client-sagemaker";

import { assertDates, jobInput, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();
const N = 250;
const names = []; // oldest first
let t0;

const nameOf = (i) => (i % 10 === 0 ? `pg-special-${String(i).padStart(3, "0")}` : `pg-job-${String(i).padStart(3, "0")}`);

before(async () => {
  await sm.ready();
  const client = sm.client();
  await sm.pause();
  t0 = Math.floor(await sm.now()) + 5;
  await sm.setClock(t0);
  for (let i = 0; i < N; i++) {
    await client.send(new CreateTrainingJobCommand(jobInput(nameOf(i))));
    names.push(nameOf(i));
    await sm.advance(1);
  }
  // now = t0 + 250: jobs created at or before t0 + 240 have completed (10 s plan)
});

async function walk(input, paginatorConfig = {}) {
  const client = sm.client();
  const pages = [];
  for await (const page of paginateListTrainingJobs({ client, ...paginatorConfig }, input)) {
    pages.push(page);
  }
  return { pages, names: pages.flatMap((p) => p.TrainingJobSummaries.map((s) => s.TrainingJobName)) };
}

const listCalls = async () => (await sm.proxy.report()).operations.ListTrainingJobs ?? 0;

test("pages of 100: three pages, every job once, newest first, Dates strictly decreasing", async () => {
  const before = await listCalls();
  const { pages, names: got } = await walk({}, { pageSize: 100 });
  assert.deepEqual(pages.map((p) => p.TrainingJobSummaries.length), [100, 100, 50]);
  assert.deepEqual(got, [...names].reverse());
  assert.equal(new Set(got).size, N);
  assert.equal(pages.at(-1).NextToken, undefined);
  assert.equal((await listCalls()) - before, 3);
  const summaries = pages.flatMap((p) => p.TrainingJobSummaries);
  assertDates(summaries);
  for (let k = 1; k < summaries.length; k++) {
    assert.ok(summaries[k - 1].CreationTime > summaries[k].CreationTime);
  }
  const oldest = summaries.at(-1);
  assert.equal(oldest.CreationTime.getTime(), t0 * 1000);
  assert.equal(oldest.TrainingJobStatus, "Completed");
  assert.equal(oldest.TrainingEndTime.getTime(), (t0 + 10) * 1000);
  assert.equal(summaries[0].TrainingJobStatus, "InProgress");
  assert.equal(summaries[0].TrainingEndTime, undefined);
});

test("the default page (10 jobs): exactly 25 requests", async () => {
  const before = await listCalls();
  const { pages, names: got } = await walk({});
  assert.equal(got.length, N);
  assert.ok(pages.every((p) => p.TrainingJobSummaries.length <= 10));
  // 250 is a multiple of 10: the 25th page ends the walk (no NextToken to an empty 26th)
  assert.equal((await listCalls()) - before, 25);
  assert.equal(pages.length, 25);
});

test("NameContains applies after paging: empty pages carry a NextToken and the paginator follows", async () => {
  const { pages, names: got } = await walk({ NameContains: "SPECIAL" }, { pageSize: 7 });
  const expected = names.filter((n) => n.includes("special")).reverse();
  assert.deepEqual(got, expected);
  assert.equal(pages.length, Math.ceil(N / 7));
  const empty = pages.filter((p) => p.TrainingJobSummaries.length === 0);
  assert.ok(empty.length > 0, "expected some empty pages");
  assert.ok(empty.every((p) => p.NextToken), "an empty page in the middle must carry a NextToken");
});

test("SortBy Name Ascending over pages of 33", async () => {
  const { names: got } = await walk({ SortBy: "Name", SortOrder: "Ascending" }, { pageSize: 33 });
  assert.deepEqual(got, [...names].sort());
});

test("StatusEquals InProgress and a fractional CreationTimeAfter (JS sends fractions)", async () => {
  const { names: inProgress } = await walk({ StatusEquals: "InProgress" }, { pageSize: 50 });
  assert.deepEqual(inProgress, names.slice(241).reverse());
  const { names: after } = await walk(
    { CreationTimeAfter: new Date((t0 + 239.5) * 1000), SortOrder: "Ascending", SortBy: "CreationTime" },
    { pageSize: 100 });
  assert.deepEqual(after, names.slice(240));
  const { names: before } = await walk({ CreationTimeBefore: new Date((t0 + 2.5) * 1000) }, { pageSize: 100 });
  assert.deepEqual(before, names.slice(0, 3).reverse());
});

test("a single ListTrainingJobs call with MaxResults 5 returns an opaque NextToken", async () => {
  const client = sm.client();
  const page = await client.send(new ListTrainingJobsCommand({ MaxResults: 5 }));
  assert.equal(page.TrainingJobSummaries.length, 5);
  assert.equal(typeof page.NextToken, "string");
  const next = await client.send(new ListTrainingJobsCommand({ MaxResults: 5, NextToken: page.NextToken }));
  assert.deepEqual(next.TrainingJobSummaries.map((s) => s.TrainingJobName), [...names].reverse().slice(5, 10));
});
