// Hyperparameter tuning jobs through the JavaScript SDK: every operation, its paginators, tags
// on a tuning job's ARN, and the errors (each response decoded strictly by the proxy).

import assert from "node:assert/strict";
import { before, test } from "node:test";

import {
  AddTagsCommand,
  CreateHyperParameterTuningJobCommand,
  DeleteHyperParameterTuningJobCommand,
  DeleteTagsCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  ListHyperParameterTuningJobsCommand,
  ListTagsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  StopHyperParameterTuningJobCommand,
  paginateListHyperParameterTuningJobs,
  paginateListTrainingJobsForHyperParameterTuningJob,
} from "@aws-sdk/client-sagemaker";

import { IMAGE, ROLE_ARN, useSagemock } from "../lib/harness.mjs";

const sm = useSagemock();
const METRIC = "validation:accuracy";

before(async () => {
  await sm.ready();
  await sm.pause();
});

let n = 0;
function tuningInput(name, over = {}) {
  n += 1;
  return {
    HyperParameterTuningJobName: name,
    HyperParameterTuningJobConfig: {
      Strategy: "Random",
      HyperParameterTuningJobObjective: { Type: "Maximize", MetricName: METRIC },
      ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
      ParameterRanges: {
        ContinuousParameterRanges: [{ Name: "lr", MinValue: "0.001", MaxValue: "0.1", ScalingType: "Logarithmic" }],
        CategoricalParameterRanges: [{ Name: "optimizer", Values: ["sgd", "adam"] }],
      },
      ...(over.config || {}),
    },
    TrainingJobDefinition: {
      StaticHyperParameters: { epochs: "3" },
      AlgorithmSpecification: {
        TrainingImage: IMAGE, TrainingInputMode: "File",
        MetricDefinitions: [{ Name: METRIC, Regex: "validation:accuracy=([0-9\\.]+)" }],
      },
      RoleArn: ROLE_ARN,
      OutputDataConfig: { S3OutputPath: "s3://bucket/output/" },
      ResourceConfig: { InstanceType: "ml.m5.xlarge", InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    },
    ...(over.top || {}),
  };
}

test("a tuning job: create, its children, describe at every stage, best job, delete", async () => {
  const client = sm.client();
  const name = "js-tuning-1";
  const created = await client.send(new CreateHyperParameterTuningJobCommand(
    tuningInput(name, { top: { Tags: [{ Key: "team", Value: "js" }] } })));
  assert.equal(created.HyperParameterTuningJobArn,
    `arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/${name}`);

  let d = await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
  assert.equal(d.HyperParameterTuningJobStatus, "InProgress");
  assert.ok(d.CreationTime instanceof Date);
  assert.deepEqual(d.TrainingJobStatusCounters, {
    Completed: 0, InProgress: 2, RetryableError: 0, NonRetryableError: 0, Stopped: 0,
  });
  assert.equal(d.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType, "Off");
  assert.equal(d.TrainingJobDefinition.StaticHyperParameters._tuning_objective_metric, METRIC);

  await sm.advance(25);
  d = await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
  assert.equal(d.HyperParameterTuningJobStatus, "Completed");
  assert.ok(d.HyperParameterTuningEndTime instanceof Date);
  assert.deepEqual(d.ObjectiveStatusCounters, { Succeeded: 4, Pending: 0, Failed: 0 });
  assert.equal(d.ConsumedResources.RuntimeInSeconds, 20);
  assert.equal(typeof d.TuningJobCompletionDetails.NumberOfTrainingJobsObjectiveNotImproving, "number");

  const kids = [];
  for await (const page of paginateListTrainingJobsForHyperParameterTuningJob(
    { client, pageSize: 3 }, { HyperParameterTuningJobName: name, SortBy: "FinalObjectiveMetricValue", SortOrder: "Descending" })) {
    kids.push(...page.TrainingJobSummaries);
  }
  assert.equal(kids.length, 4);
  assert.equal(kids[0].TrainingJobName, d.BestTrainingJob.TrainingJobName);
  for (const k of kids) {
    assert.match(k.TrainingJobName, new RegExp(`^${name}-00[1-4]-[0-9a-f]{8}$`));
    assert.ok(k.TrainingStartTime instanceof Date && k.TrainingEndTime instanceof Date);
    assert.equal(k.ObjectiveStatus, "Succeeded");
  }
  const values = kids.map((k) => k.FinalHyperParameterTuningJobObjectiveMetric.Value);
  assert.deepEqual(values, [...values].sort((a, b) => b - a));

  const child = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: kids[0].TrainingJobName }));
  assert.equal(child.TuningJobArn, created.HyperParameterTuningJobArn);
  assert.equal(child.HyperParameters.lr, kids[0].TunedHyperParameters.lr);

  // Tags on the tuning job's ARN.
  const arn = created.HyperParameterTuningJobArn;
  await client.send(new AddTagsCommand({ ResourceArn: arn, Tags: [{ Key: "env", Value: "ci" }] }));
  await client.send(new DeleteTagsCommand({ ResourceArn: arn, TagKeys: ["team"] }));
  const tags = await client.send(new ListTagsCommand({ ResourceArn: arn }));
  assert.deepEqual(tags.Tags, [{ Key: "env", Value: "ci" }]);

  await client.send(new DeleteHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
  await assert.rejects(client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })), {
    name: "ResourceNotFound",
    message: `Amazon SageMaker can't find a tuning job with name ${name}`,
  });
  // The training jobs stay.
  const still = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: kids[0].TrainingJobName }));
  assert.equal(still.TrainingJobStatus, "Completed");
});

test("stop, list with filters and the paginator", async () => {
  const client = sm.client();
  for (const name of ["js-list-b", "js-list-a"]) {
    await client.send(new CreateHyperParameterTuningJobCommand(tuningInput(name)));
  }
  await client.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: "js-list-b" }));
  await assert.rejects(client.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: "js-list-b" })), {
    name: "ValidationException",
    message: "The request was rejected because the hyperparameter tuning job is in status Stopping.",
  });
  const stopping = await client.send(new ListHyperParameterTuningJobsCommand({ StatusEquals: "Stopping" }));
  assert.deepEqual(stopping.HyperParameterTuningJobSummaries.map((s) => s.HyperParameterTuningJobName), ["js-list-b"]);
  const names = [];
  for await (const page of paginateListHyperParameterTuningJobs({ client, pageSize: 1 }, { NameContains: "js-list" })) {
    names.push(...page.HyperParameterTuningJobSummaries.map((s) => s.HyperParameterTuningJobName));
  }
  assert.deepEqual(names, ["js-list-a", "js-list-b"]);
  await sm.advance(3);
  const d = await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: "js-list-b" }));
  assert.equal(d.HyperParameterTuningJobStatus, "Stopped");
  assert.equal(d.TrainingJobStatusCounters.Stopped, 2);
  const kids = await client.send(new ListTrainingJobsForHyperParameterTuningJobCommand({
    HyperParameterTuningJobName: "js-list-b", StatusEquals: "Stopped",
  }));
  assert.equal(kids.TrainingJobSummaries.length, 2);
});

test("errors: validation, names in use, unknown tuning jobs", async () => {
  const client = sm.client();
  await assert.rejects(client.send(new CreateHyperParameterTuningJobCommand(
    tuningInput("js-bad", { config: { Strategy: "Grid" } }))), {
    name: "ValidationException",
    message: "The Grid strategy supports only categorical parameters: lr is in ContinuousParameterRanges.",
  });
  const noMetric = tuningInput("js-bad");
  noMetric.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions = [];
  await assert.rejects(client.send(new CreateHyperParameterTuningJobCommand(noMetric)), {
    name: "ValidationException",
    message: "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric definitions.",
  });
  await client.send(new CreateHyperParameterTuningJobCommand(tuningInput("js-taken")));
  await assert.rejects(client.send(new CreateHyperParameterTuningJobCommand(tuningInput("JS-TAKEN"))), (err) => {
    assert.equal(err.name, "ResourceInUse");
    assert.equal(err.$metadata.httpStatusCode, 400);
    return true;
  });
  for (const Command of [DescribeHyperParameterTuningJobCommand, StopHyperParameterTuningJobCommand,
    DeleteHyperParameterTuningJobCommand, ListTrainingJobsForHyperParameterTuningJobCommand]) {
    await assert.rejects(client.send(new Command({ HyperParameterTuningJobName: "js-none" })), {
      name: "ResourceNotFound",
      message: "Amazon SageMaker can't find a tuning job with name js-none",
    });
  }
  await assert.rejects(client.send(new DeleteHyperParameterTuningJobCommand({ HyperParameterTuningJobName: "js-taken" })),
    { name: "ValidationException" });
  await assert.rejects(client.send(new ListHyperParameterTuningJobsCommand({ NextToken: "forged" })), {
    name: "ValidationException",
    message: "Invalid NextToken.",
  });
});
