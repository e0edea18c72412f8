/*
 * training_log.h: a stored training job's CloudWatch log at the simulated now: the job's
 * request, scenario and events turned into the engine's input (engine/joblog.h), so that the
 * log agrees with Describe (the same timeline, the same FinalMetricDataList values and times).
 */
#ifndef SM_TRAINING_LOG_H
#define SM_TRAINING_LOG_H

#include "joblog.h"
#include "store.h"

#include <stdint.h>

/* Bring every training job of the store up to the simulated now before reading them from
 * another service (CloudWatch Logs, CloudWatch): a tuning job's children that fell due are
 * created or stopped (tuning_advance_due), as SageMaker's own reads do. 0 or a negative code. */
int training_jobs_up_to_date(int64_t now_ms);

/* The log of `job` (loaded whole: request, scenario and events) at now_ms into out (free with
 * jl_free). 0, SM_ENOMEM, or SM_EINVAL when the stored job is damaged. */
int training_log(const store_job *job, int64_t now_ms, jl_log *out);

/* The same log, borrowed: cut at now_ms from the whole log of this version of the job, which
 * this thread keeps (built once per version; see training_log.c). out's events and texts belong
 * to the cache: valid until this thread's next training_log_shared() or training_last_metrics()
 * call; never jl_free() it. *gen (when not NULL) names the whole log out was cut from, unique in
 * this thread: data derived from it may be cached under that name. 0, SM_ENOMEM or SM_EINVAL. */
int training_log_shared(const store_job *job, int64_t now_ms, jl_log *out, uint64_t *gen);

/* The time the job's first stream appears (its first container start), or -1 when the job has
 * none yet at now_ms. Cheaper than training_log. */
int64_t training_log_start(const store_job *job, int64_t now_ms);

/* The last value each of the job's MetricDefinitions regexes captures in its log (host algo-1)
 * and when: what FinalMetricDataList shows for a job cut short (failed, stopped), whose last
 * printed values are not the scenario's final ones. For each of the first `max` definitions,
 * in order: found[i] (0 when the log never printed it), value[i], at_ms[i] (the line's time,
 * whole seconds). Returns the number of definitions, or a negative code. Uses this thread's
 * cache of whole logs (ends what an earlier training_log_shared() lent). */
int training_last_metrics(const store_job *job, int max, int *found, double *value, int64_t *at_ms);

/* FinalMetricDataList's timestamp for view v: the last whole second before training last
 * stopped, or -1 when the job has not ended after training. Shared with Describe. */
int64_t training_final_metric_ms(const lc_view *v);

#endif
