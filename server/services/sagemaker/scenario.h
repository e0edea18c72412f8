/*
 * scenario.h: the JSON form of a lifecycle scenario (lc_scenario), both ways.
 *
 * This is the user-facing format of scenarios in fixture files, so it is meant to be read and
 * written by hand. Times are seconds (fractional allowed, millisecond resolution: finer
 * fractions are rounded to the nearest millisecond); statuses are SageMaker's names.
 *
 *   {
 *     "name": "flaky",                      required, 1-63 chars of [A-Za-z0-9._-]
 *     "steps": [                            required, 1-16 InProgress steps, in order
 *       {"status": "Starting",              Pending, Starting, Downloading, Training, Uploading,
 *                                           Updating (or the legacy LaunchingMLInstances,
 *                                           PreparingTrainingStack, DownloadingTrainingImage)
 *        "durationSeconds": 3,              > 0
 *        "messages": [                      1-4; the first at 0, then increasing, each shown
 *          {"atSeconds": 0, "text": "Starting the training job"},   until the next one
 *          {"atSeconds": 1, "text": "Launching requested ML instances"}]},
 *       ...],
 *     "stopDelaySeconds": 2,                optional (2): time in Stopping before Stopped
 *     "failure": {                          optional: each failing attempt fails here
 *       "stepIndex": 2,                     required: index into steps
 *       "afterSeconds": 1,                  required: < that step's durationSeconds
 *       "reason": "InternalServerError: We encountered an internal error. Please try again.",
 *       "retryable": true,                  optional (false): RetryStrategy retries it
 *       "failingAttempts": 1,               optional (-1): -1 every attempt, N the first N
 *       "restartDelaySeconds": 2},          optional (2): time in Restarting
 *     "spot": {                             optional; used by EnableManagedSpotTraining only
 *       "savingsPercent": 50,               optional (50): Billable = billed time * (100-p)%
 *       "interruptions": 1,                 optional (0): -1 until MaxWaitTimeInSeconds
 *       "interruptStepIndex": 2,            the three below: required when interruptions != 0,
 *       "interruptAfterSeconds": 1,         refused when it is 0
 *       "interruptedSeconds": 2}
 *   }
 *
 * Parsing refuses unknown and duplicate fields and every malformed value, with the JSON path
 * in the message. scn_to_json writes every field except the optional objects that hold their
 * defaults ("failure" when fail_step < 0; "spot" when there are no interruptions and the
 * savings are 50%), so both round trips are exact for every scenario scn_from_json returns
 * (canonical form: unused fields of an absent "failure" / "spot" are zero, with fail_step and
 * failing_attempts -1, and unused array slots and string tails are zero).
 */
#ifndef SM_SCENARIO_H
#define SM_SCENARIO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "joblog.h"
#include "lifecycle.h"

#define SCN_DEFAULT_STOP_DELAY_MS 2000
#define SCN_DEFAULT_RESTART_DELAY_MS 2000
#define SCN_DEFAULT_SAVINGS_PCT 50

/* Render `sc` as a new cJSON object; the caller owns *out (cJSON_Delete). Returns 0,
 * SM_EINVAL when `sc` cannot be rendered (counts or indexes out of range, an unknown status,
 * a string without its NUL), or SM_ENOMEM. It does not check the scenario's finer rules
 * (lc_plan_build and scn_from_json do). */
int scn_to_json(const lc_scenario *sc, cJSON **out);

/* Parse `in` (borrowed) into *out. Returns 0, or SM_EINVAL with a reason in err (may be NULL
 * when errlen is 0), "path: reason", e.g. "steps[2].durationSeconds: must be a number of
 * seconds from 0.001 to 1000000000". *out is unspecified after an error. Every scenario it
 * returns is accepted by lc_plan_build. */
int scn_from_json(const cJSON *in, lc_scenario *out, char *err, size_t errlen);

/*
 * What a scenario says beyond the lifecycle, for Describe to show (lifecycle.c never reads
 * it): "description" (text), "metrics" (FinalMetricDataList values by metric name; metrics
 * not listed get deterministic values), "ruleResults" (the final RuleEvaluationStatus of
 * Debugger and profiler rules by RuleConfigurationName: NoIssuesFound (default), IssuesFound
 * or Error), "logLines" (lines the containers print at "start", each "epoch", the "end" of
 * training or a "failure": [{"at": ..., "text": ...}], see engine/joblog.h for placeholders).
 * scn_from_json validates these fields too, and "objective", the response surface of a tuning
 * job's objective metric for the children that run this scenario (tuning_job.h,
 * tuning_objective_from_json; docs/FIXTURES.md).
 */
#define SCN_MAX_METRICS 40
#define SCN_MAX_RULES 40
#define SCN_MAX_LOG_LINES 16 /* JL_MAX_TEMPLATES */
typedef struct scn_extras {
    char description[512];
    int nmetrics;
    char metric_name[SCN_MAX_METRICS][256];
    double metric_value[SCN_MAX_METRICS];
    int nrules;
    char rule_name[SCN_MAX_RULES][257];
    const char *rule_result[SCN_MAX_RULES];
    int nlog_lines;
    int log_when[SCN_MAX_LOG_LINES]; /* jl_when */
    char log_text[SCN_MAX_LOG_LINES][512];
} scn_extras;

int scn_extras_from_json(const cJSON *in, scn_extras *out, char *err, size_t errlen);
/* The final result of rule `rule` ("NoIssuesFound" unless the scenario says otherwise). */
const char *scn_extras_rule_result(const scn_extras *x, const char *rule);
/* 1 with *value set when the scenario gives a value for `metric`, else 0. */
int scn_extras_metric(const scn_extras *x, const char *metric, double *value);

#endif
