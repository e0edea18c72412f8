/*
 * store.h: the SQLite store of sagemock: jobs, their tags, the clock and a few settings.
 *
 * The store knows neither cJSON nor libmicrohttpd: it exchanges C structs and JSON text that
 * it never parses. Every thread gets its own connection (opened on first use, never shared);
 * statements are prepared once per connection and reset after use. Every mutating operation
 * of the API runs inside one store_begin() ... store_commit() (BEGIN IMMEDIATE) transaction.
 *
 * Ownership: strings inside a store_job filled by a store_* call are malloc'd and owned by the
 * struct; store_job_clear() frees them. Times are int64 milliseconds of simulated time.
 */
#ifndef SM_STORE_H
#define SM_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_REGION_MAX 32
#define STORE_NAME_MAX 64
#define STORE_ARN_MAX 256
#define STORE_STATUS_MAX 32

typedef struct store_job {
    int64_t id;
    char region[STORE_REGION_MAX];
    char name[STORE_NAME_MAX];
    char arn[STORE_ARN_MAX];
    int64_t created_ms;
    char scenario_name[64];
    /* Engine inputs (see server/lifecycle.h lc_params). */
    int64_t max_runtime_s, max_wait_s, keep_alive_s;
    int spot, max_retry;
    /* ResourceConfig.TrainingPlanArn (malloc'd, NULL when none): ListTrainingJobs shows and
     * filters on it (TrainingPlanArnEquals). */
    char *training_plan_arn;
    char *request;  /* the normalised CreateTrainingJob request, JSON text */
    char *scenario; /* the scenario as it was at creation, JSON text */
    char *events;   /* the events received, JSON text */
    int64_t rev;    /* revision: random at creation, + 1 at each change of events or request */
    /* Materialised state at the last evaluation (what ListTrainingJobs sorts and filters on). */
    char status[STORE_STATUS_MAX];
    char secondary[STORE_STATUS_MAX];
    char warm_pool[STORE_STATUS_MAX]; /* "" when none */
    int64_t last_modified_ms;
    int64_t end_ms;         /* -1 when none */
    int64_t next_change_ms; /* -1 when the job will not change again */
    /* Its TrainingJobSummary as JSON text, materialised with the state (malloc'd); NULL when
     * the state alone does not make it (ListTrainingJobs renders those). */
    char *summary;
} store_job;

/* The materialised columns alone, for updates. */
typedef struct store_state {
    const char *status, *secondary, *warm_pool; /* warm_pool "" or NULL when none */
    int64_t last_modified_ms, end_ms, next_change_ms;
    const char *summary; /* the TrainingJobSummary of this state, JSON text; NULL: none */
} store_state;

/* A callback over jobs; returns non-zero to stop. */
typedef int (*store_job_fn)(store_job *job, void *arg);

/* Open (creating and migrating) the database at `path` (":memory:" for an in-process database
 * shared by every thread). Call once at start-up, before any other store_* call. */
int store_open(const char *path);
/* Close every connection of every thread. Call once at shutdown, after the workers stopped. */
void store_close(void);
const char *store_errmsg(void); /* the last SQLite error of this thread's connection */
/* Whether this thread's last store call failed because another connection held the write
 * lock past the busy timeout (SQLITE_BUSY): a temporary condition, not a broken store. */
int store_last_busy(void);

int store_begin(void); /* BEGIN IMMEDIATE on this thread's connection */
int store_commit(void);
void store_rollback(void);
/* fn(arg) in a transaction of its own: committed when it returns >= 0 (its result, or
 * SM_ESTORE when the COMMIT fails), rolled back otherwise. */
int store_in_tx(int (*fn)(int64_t), int64_t arg);

/* Insert a job (id is set). SM_EEXIST when (region, name) is taken: existing_arn then holds the
 * taken job's ARN. */
int store_job_insert(store_job *job, char existing_arn[STORE_ARN_MAX]);
int store_job_get(const char *region, const char *name, store_job *out); /* SM_ENOTFOUND */
int store_job_get_by_arn(const char *arn, store_job *out);               /* SM_ENOTFOUND */
/* Rewrite events, state and (when request is non-NULL) the stored request of job id: what the
 * job shows changes, so its revision goes up and its stored views are dropped. */
int store_job_update(int64_t id, const char *events, const char *request, const store_state *st);
/* Rewrite the materialised state of job id alone (what its events already made it). */
int store_job_set_state(int64_t id, const store_state *st);
int store_job_delete(int64_t id);
void store_job_clear(store_job *job);

/* Jobs whose next_change_ms <= now: store_due_any is a cheap indexed probe; store_due_each
 * calls fn for each due job (with request NULL) and stops when fn returns non-zero. */
int store_due_any(int64_t now_ms);
int store_due_each(int64_t now_ms, store_job_fn fn, void *arg);

/* Jobs of `region` whose materialised warm-pool status is `status` (other than job
 * `exclude_id`), oldest end first, loaded whole; fn returns non-zero to stop. Returns the
 * number visited or a negative code. */
int store_each_warm_pool(const char *region, const char *status, int64_t exclude_id,
                         store_job_fn fn, void *arg);

/* ListTrainingJobs paging: sort keys and order, a keyset position after which to continue. */
typedef enum { STORE_SORT_CREATION = 0, STORE_SORT_NAME = 1, STORE_SORT_STATUS = 2 } store_sort;
typedef struct store_cursor {
    int valid;                /* 0: from the start */
    char key[STORE_NAME_MAX]; /* name or status of the last row (for those sorts) */
    int64_t created_ms;
    int64_t id;
} store_cursor;
/* Calls fn for up to `limit` jobs of `region` in order after `after` (request/scenario/events
 * not loaded). Returns the number of rows visited, or a negative code. */
int store_list(const char *region, store_sort sort, int descending, const store_cursor *after,
               int limit, store_job_fn fn, void *arg);

/* Up to `limit` jobs of every region, newest first (request/scenario/events not loaded). */
int store_all(int limit, store_job_fn fn, void *arg);

/* Tags of a job, in insertion order. */
int store_tag_put(int64_t job_id, const char *key, const char *value);
int store_tag_delete(int64_t job_id, const char *key);
/* Calls fn for up to `limit` tags whose position is > after_pos; returns rows visited. */
int store_tag_each(int64_t job_id, int64_t after_pos, int limit,
                   int (*fn)(int64_t pos, const char *key, const char *value, void *arg),
                   void *arg);

/* Settings kept with the data (clock anchors, the NextToken secret...). */
int store_meta_get(const char *key, char *out, size_t outlen); /* SM_ENOTFOUND */
int store_meta_put(const char *key, const char *value);

/* ---- views (views.c) ----------------------------------------------------------------------
 * The body a job showed when last rendered, kept so that the next read at a time the body
 * has not changed serves it as is. A view of job id at revision rev holds from from_ms until
 * until_ms (-1: for ever); store_job_update drops a job's views.
 *
 * store_view_get: SM_OK with *body (malloc'd) when job (region, name) has a view valid at
 * now_ms; SM_ENOTFOUND when it has none (or the job does not exist).
 * store_view_put: keep a view; it is queued and stored shortly after by a writer thread, if
 * the job is still at revision rev then (or dropped when the queue is full).
 * store_views_epoch: serve only the views rendered by build `build` (another one may render
 * other bytes): those of an earlier build are never read again (nor deleted at start-up).
 * store_views_flush: wait until every view queued so far has been stored (or dropped).
 * store_views_stop: store what is queued and stop the writer (store_close calls it). */
int store_view_get(const char *region, const char *name, int64_t now_ms, char **body);
void store_view_put(int64_t job_id, int64_t rev, int64_t from_ms, int64_t until_ms,
                    const char *body);
int store_views_epoch(const char *build);
void store_views_flush(void);
void store_views_stop(void);

/* Remove every job and tag. */
int store_reset(void);

/* Number of jobs (all regions). */
int64_t store_job_count(void);

/* ---- hyperparameter tuning jobs (tuning.c) ------------------------------------------------
 * A row holds the tuning engine's inputs (the normalised request, the warm start parents'
 * results, the stop request) and the materialised state ListHyperParameterTuningJobs reads;
 * its children are the training jobs it launched, in launch order. */
typedef struct store_tuning {
    int64_t id;
    char region[STORE_REGION_MAX];
    char name[STORE_NAME_MAX];
    char arn[STORE_ARN_MAX];
    int64_t created_ms;
    char strategy[STORE_STATUS_MAX];
    char *request; /* the normalised CreateHyperParameterTuningJob request (no Tags), JSON */
    char *extra;   /* what the job took from its warm start parents, JSON */
    char *events;  /* the stop request, JSON */
    char *summary; /* materialised counters, JSON */
    char status[STORE_STATUS_MAX];
    int64_t last_modified_ms;
    int64_t end_ms;         /* -1 when none */
    int64_t next_change_ms; /* -1 when it will not change again */
} store_tuning;

typedef struct store_tuning_child {
    int idx; /* launch order, from 0 */
    char name[STORE_NAME_MAX];
    int64_t created_ms;
    char definition[72]; /* TrainingJobDefinitions[].DefinitionName, "" for one definition */
    char *tuned;         /* the tuned hyperparameters, JSON */
    char *outcome;       /* cached outcome (NULL when none) and the child's events it was */
    char *outcome_key;   /* computed from */
} store_tuning_child;

typedef int (*store_tuning_fn)(store_tuning *t, void *arg);

/* SM_EEXIST when (region, name) is taken (case-insensitively): existing_arn holds its ARN. */
int store_tuning_insert(store_tuning *t, char existing_arn[STORE_ARN_MAX]);
int store_tuning_get(const char *region, const char *name, store_tuning *out); /* SM_ENOTFOUND */
int store_tuning_get_by_arn(const char *arn, store_tuning *out);               /* SM_ENOTFOUND */
int store_tuning_update(int64_t id, const char *events, const char *summary, const char *status,
                        int64_t last_modified_ms, int64_t end_ms, int64_t next_change_ms);
int store_tuning_delete(int64_t id); /* its children rows and tags too; never training jobs */
void store_tuning_clear(store_tuning *t);
/* Tuning jobs whose next_change_ms <= now: a cheap probe, and each of them (loaded whole, in
 * due order; fn may write to the store and returns non-zero to stop). */
int store_tuning_due_any(int64_t now_ms);
int store_tuning_due_each(int64_t now_ms, store_tuning_fn fn, void *arg);
/* Up to `limit` tuning jobs of `region` (oldest first), or of every region (region NULL,
 * newest first), loaded whole. Returns the number visited or a negative code. */
int store_tuning_each(const char *region, int limit, store_tuning_fn fn, void *arg);
int store_tuning_child_insert(int64_t tuning_id, const store_tuning_child *c);
/* Each child in launch order (its strings are freed after fn returns); fn returns non-zero to
 * stop (a negative value is returned as is). Returns the number visited. */
int store_tuning_children(int64_t tuning_id, int (*fn)(store_tuning_child *c, void *arg),
                          void *arg);
int store_tuning_child_cache(int64_t tuning_id, int idx, const char *outcome, const char *key);
int store_tuning_tag_put(int64_t tuning_id, const char *key, const char *value);
int store_tuning_tag_delete(int64_t tuning_id, const char *key);
int store_tuning_tag_each(int64_t tuning_id, int64_t after_pos, int limit,
                          int (*fn)(int64_t pos, const char *key, const char *value, void *arg),
                          void *arg);
/* Make tuning job `arn` due at now (a child of it changed), unless it is due earlier or will
 * not change again. */
int store_tuning_touch(const char *arn, int64_t now_ms);
/* Remove every tuning job (with its children rows and tags). */
int store_tuning_reset(void);

/* What this thread's connection has seen of the store: every commit of another connection
 * changes data_version, every row this connection writes changes changes. Two equal stamps
 * mean the store holds the same data, so what was read from it at the first may be served at
 * the second (tuning_view.c). db tells connections apart. */
typedef struct store_stamp {
    const void *db;
    uint64_t data_version;
    int64_t changes;
} store_stamp;
/* The stamp, read inside the read transaction that finds tuning job (region, name): SM_OK,
 * SM_ENOTFOUND when there is no such tuning job, or a negative code. */
int store_tuning_stamp(const char *region, const char *name, store_stamp *out);

#endif
