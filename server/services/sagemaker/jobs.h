/*
 * jobs.h: between the handlers and the store: a stored job becomes a plan and a view.
 *
 * A job row holds the engine's inputs (parameters, the scenario as JSON, the events as JSON);
 * jobs_eval() rebuilds the plan from them and evaluates it at a time. jobs_advance_due()
 * rewrites the materialised state of every job that fell due, so that reads that sort or
 * filter on it (ListTrainingJobs) never see a state older than the clock.
 */
#ifndef SM_JOBS_H
#define SM_JOBS_H

#include "store.h"
#include "lifecycle.h"

#define JOBS_MAX_EVENTS 64

/* The plan, events and view of one job; large, so allocated (jobs_ctx_new/free). */
typedef struct jobs_ctx {
    lc_plan plan;
    lc_event ev[JOBS_MAX_EVENTS];
    int nev;
    lc_view view;
    char reused_by[64];        /* the job that took the warm pool over, "" when none */
    const void *scenario_from; /* where plan.scenario was copied from (jobs.c), and when */
    uint64_t scenario_gen;
} jobs_ctx;

jobs_ctx *jobs_ctx_new(void);
void jobs_ctx_free(jobs_ctx *c);

/* Rebuild the plan and events of `job` into c, and evaluate at now_ms. 0 or SM_EINVAL (the
 * stored scenario or events do not parse: the row is damaged). */
int jobs_eval(const store_job *job, int64_t now_ms, jobs_ctx *c);

/* A time after which c's timeline (its plan with its events) no longer changes: the plan's last
 * mark, or a stop plus the stop delay. Evaluating there gives the job's whole history. */
int64_t jobs_settled_ms(const jobs_ctx *c);

/* Append an event and re-evaluate. SM_EINVAL when the event list is full. */
int jobs_add_event(jobs_ctx *c, lc_event_kind kind, int64_t at_ms, int64_t value, int64_t now_ms);

/* Record that job `by` took this job's Available warm pool over at at_ms. */
int jobs_add_reuse(jobs_ctx *c, int64_t at_ms, const char *by);

/* Persist c's events and state (and the request text when non-NULL) for job; inside the
 * caller's transaction. */
int jobs_save(const store_job *job, const jobs_ctx *c, const char *request);

/* The events as JSON text (malloc'd) for the store. */
char *jobs_events_json(const jobs_ctx *c);

/* The materialised columns for view v. */
void jobs_state(const lc_view *v, store_state *st);

/* Bring every due job's materialised state to now_ms. Runs its own transaction when
 * something is due. Returns the number of jobs rewritten, or a negative code. */
int jobs_advance_due(int64_t now_ms);
/* The same inside the caller's transaction. */
int jobs_advance_due_in_tx(int64_t now_ms);

/* The job's ARN for a region and name (lower-casing the name when configured). */
void jobs_arn(const char *region, const char *name, char *out, size_t outlen);

#endif
