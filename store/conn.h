/*
 * conn.h: internal to store/: this thread's connection and its prepared statements.
 *
 * Every SQL text the store runs is a row of the statement table in conn.c; store_stmt()
 * returns it prepared (once per connection, SQLITE_PREPARE_PERSISTENT) and reset, with its
 * bindings cleared. Client input only ever reaches SQL through bindings.
 */
#ifndef SM_STORE_CONN_H
#define SM_STORE_CONN_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef enum store_sql {
    SQL_BEGIN,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_JOB_INSERT,
    SQL_JOB_REQUEST_PUT,
    SQL_SCENARIO_ID,
    SQL_SCENARIO_ADD,
    SQL_JOB_ARN_BY_NAME,
    SQL_JOB_GET,
    SQL_JOB_GET_BY_ARN,
    SQL_JOB_UPDATE,
    SQL_JOB_SET_STATE,
    SQL_VIEW_DROP,
    SQL_VIEW_GET,
    SQL_JOB_DELETE,
    SQL_DUE_ANY,
    SQL_DUE_EACH,
    SQL_LIST_FIRST,                      /* 6 rows: sort * 2 + descending */
    SQL_LIST_AFTER = SQL_LIST_FIRST + 6, /* 6 rows likewise */
    SQL_TAG_PUT = SQL_LIST_AFTER + 6,
    SQL_TAG_DELETE,
    SQL_TAG_EACH,
    SQL_META_GET,
    SQL_META_PUT,
    SQL_RESET_TAGS,
    SQL_RESET_VIEWS,
    SQL_RESET_REQUESTS,
    SQL_RESET_JOBS,
    SQL_RESET_SCENARIOS,
    SQL_JOB_COUNT,
    SQL_WARM_POOL_EACH,
    SQL_ALL_JOBS,
    /* Hyperparameter tuning jobs (tuning.c). */
    SQL_TUNING_INSERT,
    SQL_TUNING_ARN_BY_NAME,
    SQL_TUNING_GET,
    SQL_TUNING_GET_BY_ARN,
    SQL_TUNING_GET_BY_ID,
    SQL_TUNING_UPDATE,
    SQL_TUNING_DELETE,
    SQL_TUNING_DUE_ANY,
    SQL_TUNING_DUE_IDS,
    SQL_TUNING_REGION_IDS,
    SQL_TUNING_ALL_IDS,
    SQL_TUNING_CHILD_INSERT,
    SQL_TUNING_CHILDREN,
    SQL_TUNING_CHILD_CACHE,
    SQL_TUNING_TAG_PUT,
    SQL_TUNING_TAG_DELETE,
    SQL_TUNING_TAG_EACH,
    SQL_TUNING_RESET,
    SQL_TUNING_TOUCH,
    SQL__COUNT
} store_sql;

/* This thread's connection (opened on first use), or NULL when it cannot be opened. */
sqlite3 *store_db(void);
/* A prepared, reset statement of this thread's connection, or NULL. */
sqlite3_stmt *store_stmt(store_sql which);
/* Run a statement that returns no rows; 0 or SM_ESTORE. Resets it. */
int store_exec_stmt(sqlite3_stmt *st);
/* Step a statement to its first row: SM_OK with the row there (the caller reads it, then
 * resets); SM_ENOTFOUND or SM_ESTORE with the statement reset. */
int store_step_row(sqlite3_stmt *st);

/* Bindings by parameter name (":name"); a name the statement lacks is skipped. Text is bound
 * SQLITE_STATIC: it must outlive the step. Return SQLite's code. */
int store_bind_text(sqlite3_stmt *st, const char *name, const char *v);
int store_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
/* Column `col` as text: copied into dst (cut to n - 1 bytes, NUL-terminated), or malloc'd
 * (NULL for SQL NULL or out of memory). */
void store_copy_col(char *dst, size_t n, sqlite3_stmt *st, int col);
char *store_dup_col(sqlite3_stmt *st, int col);

/*
 * Due probes. Reads ask, before anything else, whether a job (or a tuning job) is due: the
 * earliest next_change_ms of the table, which changes only when a transaction ends. A floor
 * keeps it (no row is due before `at`; 0 when unknown), so that the probe skips its query
 * while now is before it; the end of every transaction (store_commit, store_rollback) forgets
 * every floor, under a generation count, so that a probe that read the table before a commit
 * never keeps what it read after it.
 *
 * store_floor_probe runs `which` (the first next_change_ms in order, no parameters) when the
 * floor does not answer: 1 when a row is due at now_ms, 0 when none, SM_ESTORE.
 */
typedef struct store_floor {
    pthread_mutex_t lock;
    _Atomic int64_t at;
    uint64_t gen;
} store_floor;
extern store_floor store_jobs_floor, store_tuning_floor;
int store_floor_probe(store_floor *f, store_sql which, int64_t now_ms);

/* Tags of an owner, through its statements (meta.c): training jobs' SQL_TAG_*, tuning jobs'
 * SQL_TUNING_TAG_*; each binds the owner's id as :owner. */
int store_tags_put(store_sql which, int64_t owner, const char *key, const char *value);
int store_tags_delete(store_sql which, int64_t owner, const char *key);
int store_tags_each(store_sql which, int64_t owner, int64_t after_pos, int limit,
                    int (*fn)(int64_t pos, const char *key, const char *value, void *arg),
                    void *arg);

/* Whether (region, name) is taken, by `which` (the ARN of the row of that name, compared
 * case-insensitively): SM_OK when free, SM_EEXIST with its ARN in existing_arn
 * (STORE_ARN_MAX bytes), SM_ESTORE. */
int store_name_taken(store_sql which, const char *region, const char *name, char *existing_arn);

#endif
