/*
 * lifecycle.h: the training-job lifecycle engine, a pure function.
 *
 * A job's observable state at simulated time t is a pure function of its plan (the scenario
 * expanded with the job's request parameters at creation time), the events it received
 * (StopTrainingJob, UpdateTrainingJob) and t. Nothing here reads a clock, touches the store,
 * allocates, or knows JSON or HTTP: inputs in, result out.
 *
 * Times are int64 milliseconds since the Unix epoch (simulated time). -1 means "absent".
 * Strings inside a view are borrowed from the plan (or from static tables) and live as long
 * as the plan does.
 */
#ifndef SM_LIFECYCLE_H
#define SM_LIFECYCLE_H

#include <stdint.h>

/* Primary status (TrainingJobStatus). */
typedef enum lc_primary {
    LC_IN_PROGRESS = 0,
    LC_COMPLETED,
    LC_FAILED,
    LC_STOPPING,
    LC_STOPPED,
    LC_DELETING,
    LC_PRIMARY_COUNT
} lc_primary;

/* Secondary status (SecondaryStatus), every value of the newest model. */
typedef enum lc_secondary {
    LC_S_STARTING = 0,
    LC_S_LAUNCHING_ML_INSTANCES,
    LC_S_PREPARING_TRAINING_STACK,
    LC_S_DOWNLOADING,
    LC_S_DOWNLOADING_TRAINING_IMAGE,
    LC_S_TRAINING,
    LC_S_UPLOADING,
    LC_S_STOPPING,
    LC_S_STOPPED,
    LC_S_MAX_RUNTIME_EXCEEDED,
    LC_S_COMPLETED,
    LC_S_FAILED,
    LC_S_INTERRUPTED,
    LC_S_MAX_WAIT_TIME_EXCEEDED,
    LC_S_UPDATING,
    LC_S_RESTARTING,
    LC_S_PENDING,
    LC_SECONDARY_COUNT
} lc_secondary;

/* Warm-pool status (WarmPoolStatus.Status); LC_WP_NONE when the job has no warm pool. */
typedef enum lc_warm_pool {
    LC_WP_NONE = -1,
    LC_WP_AVAILABLE = 0,
    LC_WP_TERMINATED,
    LC_WP_REUSED,
    LC_WP_IN_USE,
    LC_WP_COUNT
} lc_warm_pool;

const char *lc_primary_name(lc_primary p);     /* "InProgress", ... */
const char *lc_secondary_name(lc_secondary s); /* "Starting", ... */
const char *lc_warm_pool_name(lc_warm_pool w); /* "Available", ... NULL for NONE */
int lc_primary_from_name(const char *name);    /* -1 when unknown */
int lc_secondary_from_name(const char *name);  /* -1 when unknown */
int lc_warm_pool_from_name(const char *name);  /* -1 when unknown */
/* Whether a scenario step may hold status s (the InProgress statuses the engine does not
 * enter by itself: not Interrupted, Restarting, Stopping or a final one). */
int lc_is_step_status(lc_secondary s);

/* The parameters of the job's CreateTrainingJob request that the engine needs. */
typedef struct lc_params {
    int64_t created_ms;     /* CreationTime */
    int64_t max_runtime_s;  /* StoppingCondition.MaxRuntimeInSeconds (86400 when omitted) */
    int64_t max_wait_s;     /* StoppingCondition.MaxWaitTimeInSeconds, -1 when absent */
    int spot;               /* EnableManagedSpotTraining */
    int max_retry_attempts; /* RetryStrategy.MaximumRetryAttempts, 0 without a RetryStrategy */
    int64_t keep_alive_s;   /* ResourceConfig.KeepAlivePeriodInSeconds, 0 when absent */
} lc_params;

/* Events a job receives after creation. */
typedef enum lc_event_kind {
    LC_EV_STOP = 1,       /* StopTrainingJob accepted at at_ms */
    LC_EV_KEEP_ALIVE = 2, /* UpdateTrainingJob set KeepAlivePeriodInSeconds to value at at_ms */
    LC_EV_WARM_REUSED = 3 /* a matching new job took the Available warm pool over at at_ms */
} lc_event_kind;

typedef struct lc_event {
    lc_event_kind kind;
    int64_t at_ms;
    int64_t value;
} lc_event;

#define LC_MAX_STEPS 16                    /* InProgress steps in one attempt of a scenario */
#define LC_MAX_MESSAGES 4                  /* status messages within one step */
#define LC_MAX_MARKS 4096                  /* marks in an expanded plan */
#define LC_MAX_TRANSITIONS 2048            /* SecondaryStatusTransitions entries in a view */
#define LC_TEXT_MAX 1024                   /* FailureReason max length (model) + NUL */
#define LC_MAX_DURATION_MS 1000000000000LL /* bound on every duration of a scenario (~31 years) */

/* One status message within a step: shown from at_ms (offset from the step's start). */
typedef struct lc_message {
    int64_t at_ms;
    char text[256];
} lc_message;

/* One InProgress step of an attempt: a secondary status held for duration_ms. */
typedef struct lc_step {
    lc_secondary status;
    int64_t duration_ms;
    int nmsg;
    lc_message msg[LC_MAX_MESSAGES]; /* msg[0].at_ms == 0; increasing */
} lc_step;

/*
 * A scenario: a named plan template. The built-in "success" scenario is lc_scenario_success();
 * fixtures (a later issue) build others from data. See lifecycle.c for every field's meaning.
 */
typedef struct lc_scenario {
    char name[64];
    int nsteps;
    lc_step steps[LC_MAX_STEPS]; /* the steps of one successful attempt, in order */
    int64_t stop_delay_ms;       /* time spent in Stopping before Stopped */
    /* Failure: the attempt fails fail_after_ms into step fail_step (-1: it does not fail). */
    int fail_step;
    int64_t fail_after_ms;
    char failure_reason[LC_TEXT_MAX];
    int retryable;        /* the failure is retried under a RetryStrategy (InternalServerError) */
    int failing_attempts; /* how many attempts fail: -1 every attempt, N the first N */
    int64_t restart_delay_ms; /* time in Restarting before Starting again */
    /* Spot interruptions (EnableManagedSpotTraining only). */
    int interruptions;  /* how many times the job is interrupted; -1 until MaxWaitTime passes */
    int interrupt_step; /* step index during which each interruption happens */
    int64_t interrupt_after_ms;
    int64_t interrupted_ms; /* time spent Interrupted before Starting again */
    int spot_savings_pct;   /* Billable = ceil(billed step time * (100 - pct) / 100) for spot */
} lc_scenario;

/* The default scenario: Starting (3 messages) -> Downloading -> Training -> Uploading -> Completed.
 */
const lc_scenario *lc_scenario_success(void);

/* A mark of an expanded plan: at at_ms something becomes visible. */
typedef enum lc_mark_kind {
    LC_MARK_ENTER = 1,   /* a new SecondaryStatusTransitions entry begins (status, message) */
    LC_MARK_MESSAGE = 2, /* the current entry's StatusMessage changes in place */
    LC_MARK_END = 3,     /* terminal entry (Completed, Failed): EndTime == StartTime */
    LC_MARK_PRIMARY = 4  /* only TrainingJobStatus changes (a stop): the entry stays as it is */
} lc_mark_kind;

typedef struct lc_mark {
    int64_t at_ms;
    lc_mark_kind kind;
    lc_primary primary;
    lc_secondary status;
    int billed;          /* time from this mark to the next counts as billable compute */
    const char *message; /* borrowed from the plan's scenario or a static table */
} lc_mark;

/* An expanded plan: the scenario as it was at creation plus the request parameters.
 * Its marks point into its own copy of the scenario: a plan is not relocatable, so build it
 * where it is used (do not copy it by value). */
typedef struct lc_plan {
    lc_params params;
    lc_scenario scenario;
    int nmarks;
    lc_mark marks[LC_MAX_MARKS];
} lc_plan;

/* Expand `sc` with `p` into `out` (the plan ignores events: they are applied by lc_eval).
 * Returns 0, or SM_EINVAL when the scenario is malformed. */
int lc_plan_build(const lc_scenario *sc, const lc_params *p, lc_plan *out);

typedef struct lc_transition {
    lc_secondary status;
    int64_t start_ms;
    int64_t end_ms; /* -1 while this entry is the current one */
    const char *message;
} lc_transition;

/* What a job looks like at time t. */
typedef struct lc_view {
    lc_primary primary;
    lc_secondary secondary;
    int ntrans;
    lc_transition trans[LC_MAX_TRANSITIONS];
    int64_t training_start_ms; /* -1 absent */
    int64_t training_end_ms;   /* -1 absent */
    int64_t training_time_s;   /* -1 absent */
    int64_t billable_time_s;   /* -1 absent */
    int64_t last_modified_ms;
    const char *failure_reason;   /* NULL absent */
    lc_warm_pool warm_pool;       /* LC_WP_NONE absent */
    int64_t warm_pool_retained_s; /* ResourceRetainedBillableTimeInSeconds, -1 absent */
    int64_t next_change_ms;       /* next time the view changes, -1 never */
    int64_t at_ms;                /* the time it was evaluated at (never before CreationTime) */
} lc_view;

/* Evaluate the plan with its events (sorted by at_ms) at time t. Pure. */
void lc_eval(const lc_plan *plan, const lc_event *ev, int nev, int64_t t, lc_view *out);

#endif
