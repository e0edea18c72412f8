/*
 * cloudwatch.h: what the CloudWatch service (service.c) offers beside its operations: a job's
 * metric series at the simulated now, for the dashboard (GET /_sagemock/jobs/metrics).
 */
#ifndef SM_CLOUDWATCH_H
#define SM_CLOUDWATCH_H

#include "store.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* Every metric of `job` (loaded whole) that has datapoints at now_ms:
 * {"namespace": "/aws/sagemaker/TrainingJobs", "metrics": [{"name", "unit", "dimension":
 * {"name", "value"}, "kind": "algorithm"|"instance", "points": [[epoch ms, value], ...]}]},
 * algorithm metrics first (in MetricDefinitions order), then each host's instance metrics.
 * NULL when out of memory or the stored job is damaged. */
cJSON *cw_job_metrics_json(const store_job *job, int64_t now_ms);

#endif
