/*
 * describe.h: the DescribeTrainingJob body and the ListTrainingJobs summary of a job.
 *
 * The body is the stored request's members plus the values the service computes, emitted in
 * the order of the model's DescribeTrainingJobResponse shape; members that shape lacks (Tags,
 * SessionChainingConfig...) are never emitted, and absent optionals are omitted, never null.
 */
#ifndef SM_DESCRIBE_H
#define SM_DESCRIBE_H

#include "store.h"
#include "lifecycle.h"
#include "strbuf.h"

#include <cjson/cJSON.h>

/* Build the Describe body; NULL on allocation failure or a damaged stored request. reused_by
 * names the job that took the warm pool over ("" or NULL when none). Caller owns the result. */
cJSON *describe_job(const store_job *job, const lc_view *v, const char *reused_by);
/* The same, and the simulated time until which the body stays as it is (-1: for ever): the
 * body of v->at_ms is the body of every time in [v->at_ms, *until_ms). */
cJSON *describe_job_until(const store_job *job, const lc_view *v, const char *reused_by,
                          int64_t *until_ms);

/* One TrainingJobSummary from the materialised columns, appended to b as JSON text (a page
 * of 100 is written directly rather than built as a tree); WarmPoolStatus from view v when
 * given (with ResourceRetainedBillableTimeInSeconds and ReusedByJob, as in Describe), else
 * its Status alone from the column. */
void describe_summary_text(strbuf *b, const store_job *job, const lc_view *v,
                           const char *reused_by);

/* The summary of job in state st, materialised with it (store_state.summary): malloc'd, or
 * NULL when its WarmPoolStatus carries times only a view gives (Available, Reused,
 * Terminated) or on allocation failure. */
char *describe_summary_of(const store_job *job, const store_state *st);

/* The S3 URI of the job's model artifacts, from its OutputDataConfig. */
void describe_artifacts_uri(const cJSON *request, const char *name, char *out, size_t outlen);

#endif
