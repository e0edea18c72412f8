/*
 * jobs.c: the jobs table: insert, fetch, update of the materialised state, delete, the due
 * probe that keeps the materialised state current, and keyset paging for ListTrainingJobs.
 *
 * It never interprets the JSON text it stores. A fetched job's strings belong to the caller's
 * store_job (store_job_clear frees them).
 */
#include "conn.h"
#include "store.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>

/* Reads the LIST_COLS columns (0..19) into j; with_text also reads request, scenario, events. */
static int row_to_job(sqlite3_stmt *st, store_job *j, int with_text)
{
    /* every member is set below (no memset of the ~700-byte struct for each row of a List) */
    j->training_plan_arn = j->request = j->scenario = j->events = j->summary = NULL;
    j->id = sqlite3_column_int64(st, 0);
    store_copy_col(j->region, sizeof j->region, st, 1);
    store_copy_col(j->name, sizeof j->name, st, 2);
    store_copy_col(j->arn, sizeof j->arn, st, 3);
    j->created_ms = sqlite3_column_int64(st, 4);
    store_copy_col(j->scenario_name, sizeof j->scenario_name, st, 5);
    j->max_runtime_s = sqlite3_column_int64(st, 6);
    j->max_wait_s = sqlite3_column_int64(st, 7);
    j->keep_alive_s = sqlite3_column_int64(st, 8);
    j->spot = sqlite3_column_int(st, 9);
    j->max_retry = sqlite3_column_int(st, 10);
    store_copy_col(j->status, sizeof j->status, st, 11);
    store_copy_col(j->secondary, sizeof j->secondary, st, 12);
    store_copy_col(j->warm_pool, sizeof j->warm_pool, st, 13);
    j->last_modified_ms = sqlite3_column_int64(st, 14);
    j->end_ms = sqlite3_column_int64(st, 15);
    j->next_change_ms = sqlite3_column_int64(st, 16);
    if (sqlite3_column_type(st, 17) != SQLITE_NULL &&
        !(j->training_plan_arn = store_dup_col(st, 17)))
        return SM_ENOMEM;
    j->rev = sqlite3_column_int64(st, 18);
    if (sqlite3_column_type(st, 19) != SQLITE_NULL && !(j->summary = store_dup_col(st, 19))) {
        store_job_clear(j);
        return SM_ENOMEM;
    }
    if (!with_text) return SM_OK;
    if (sqlite3_column_type(st, 20) != SQLITE_NULL && !(j->request = store_dup_col(st, 20))) {
        store_job_clear(j);
        return SM_ENOMEM;
    }
    if (!(j->scenario = store_dup_col(st, 21)) || !(j->events = store_dup_col(st, 22))) {
        store_job_clear(j);
        return SM_ENOMEM;
    }
    return SM_OK;
}

void store_job_clear(store_job *job)
{
    free(job->training_plan_arn);
    free(job->request);
    free(job->scenario);
    free(job->events);
    free(job->summary);
    job->training_plan_arn = job->request = job->scenario = job->events = job->summary = NULL;
}

static void bind_state(sqlite3_stmt *st, const store_state *s)
{
    store_bind_text(st, ":status", s->status);
    store_bind_text(st, ":secondary", s->secondary);
    store_bind_text(st, ":warm_pool", s->warm_pool ? s->warm_pool : "");
    store_bind_int(st, ":last_modified", s->last_modified_ms);
    store_bind_int(st, ":end", s->end_ms);
    store_bind_int(st, ":next", s->next_change_ms);
    if (s->summary) store_bind_text(st, ":summary", s->summary); /* unbound: NULL */
}

/* The id of scenario text `text`, added to the scenarios table when new. */
static int scenario_id_of(const char *text, int64_t *id)
{
    sqlite3_stmt *st = store_stmt(SQL_SCENARIO_ID);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":text", text);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return SM_OK;
    if (rc != SQLITE_DONE || !(st = store_stmt(SQL_SCENARIO_ADD))) return SM_ESTORE;
    store_bind_text(st, ":text", text);
    if (store_exec_stmt(st) != SM_OK) return SM_ESTORE;
    *id = sqlite3_last_insert_rowid(store_db());
    return SM_OK;
}

static int put_request(int64_t id, const char *request)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_REQUEST_PUT);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    store_bind_text(st, ":request", request);
    return store_exec_stmt(st);
}

int store_job_insert(store_job *j, char existing_arn[STORE_ARN_MAX])
{
    int rc = store_name_taken(SQL_JOB_ARN_BY_NAME, j->region, j->name, existing_arn);
    if (rc != SM_OK) return rc;
    int64_t scenario_id;
    if (scenario_id_of(j->scenario ? j->scenario : "{}", &scenario_id) != SM_OK) return SM_ESTORE;
    sqlite3_stmt *st = store_stmt(SQL_JOB_INSERT);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", j->region);
    store_bind_text(st, ":name", j->name);
    store_bind_text(st, ":arn", j->arn);
    store_bind_int(st, ":created", j->created_ms);
    store_bind_text(st, ":scenario_name", j->scenario_name);
    store_bind_int(st, ":max_runtime", j->max_runtime_s);
    store_bind_int(st, ":max_wait", j->max_wait_s);
    store_bind_int(st, ":keep_alive", j->keep_alive_s);
    store_bind_int(st, ":spot", j->spot);
    store_bind_int(st, ":max_retry", j->max_retry);
    store_bind_int(st, ":scenario_id", scenario_id);
    store_bind_text(st, ":events", j->events ? j->events : "[]");
    if (j->training_plan_arn && j->training_plan_arn[0])
        store_bind_text(st, ":training_plan_arn", j->training_plan_arn);
    else
        sqlite3_bind_null(st, sqlite3_bind_parameter_index(st, ":training_plan_arn"));
    store_state s = {j->status, j->secondary,      j->warm_pool, j->last_modified_ms,
                     j->end_ms, j->next_change_ms, j->summary};
    bind_state(st, &s);
    /* A job starts at a random revision, not 0: a deleted job's id can be given again, and a
     * view rendered for the old job must never match the new one (views.c). */
    uint64_t rev;
    sqlite3_randomness(sizeof rev, &rev);
    store_bind_int(st, ":rev", (int64_t)(rev >> 2));
    if (store_exec_stmt(st) != SM_OK) return SM_ESTORE;
    j->id = sqlite3_last_insert_rowid(store_db());
    j->rev = (int64_t)(rev >> 2);
    return put_request(j->id, j->request ? j->request : "{}");
}

static int get_one(sqlite3_stmt *st, store_job *out)
{
    int rc = store_step_row(st);
    if (rc != SM_OK) return rc;
    rc = row_to_job(st, out, 1);
    sqlite3_reset(st);
    return rc;
}

int store_job_get(const char *region, const char *name, store_job *out)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_GET);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name);
    return get_one(st, out);
}

/* arn:PARTITION:sagemaker:REGION:ACCOUNT:training-job/NAME names its region and job, which
 * the (region, name) index finds; the whole ARN must still match. */
int store_job_get_by_arn(const char *arn, store_job *out)
{
    char region[STORE_REGION_MAX];
    const char *p = arn;
    for (int colons = 0; colons < 3 && p; colons++)
        if ((p = strchr(p, ':'))) p++;
    const char *end = p ? strchr(p, ':') : NULL;
    const char *name = strstr(arn, ":training-job/");
    if (!p || !end || !name || (size_t)(end - p) >= sizeof region) return SM_ENOTFOUND;
    memcpy(region, p, (size_t)(end - p));
    region[end - p] = 0;
    sqlite3_stmt *st = store_stmt(SQL_JOB_GET_BY_ARN);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name + strlen(":training-job/"));
    store_bind_text(st, ":arn", arn);
    return get_one(st, out);
}

int store_job_update(int64_t id, const char *events, const char *request, const store_state *s)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_UPDATE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    store_bind_text(st, ":events", events);
    bind_state(st, s);
    if (store_exec_stmt(st) != SM_OK) return SM_ESTORE;
    if (request && put_request(id, request) != SM_OK) return SM_ESTORE;
    if (!(st = store_stmt(SQL_VIEW_DROP))) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    return store_exec_stmt(st);
}

int store_job_set_state(int64_t id, const store_state *s)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_SET_STATE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    bind_state(st, s);
    return store_exec_stmt(st);
}

int store_job_delete(int64_t id)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_DELETE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    return store_exec_stmt(st);
}

int store_due_any(int64_t now_ms)
{
    return store_floor_probe(&store_jobs_floor, SQL_DUE_ANY, now_ms);
}

/* Step st to its end (or until fn returns non-zero), handing each row to fn as a store_job
 * (whole when with_text; the job's strings are freed after fn returns). Resets st. Returns the
 * number of rows visited, or a negative code. */
static int each_row(sqlite3_stmt *st, int with_text, store_job_fn fn, void *arg)
{
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_job j;
        int r = row_to_job(st, &j, with_text);
        if (r != SM_OK) {
            sqlite3_reset(st);
            return r;
        }
        r = fn(&j, arg);
        store_job_clear(&j);
        n++;
        if (r) break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : SM_ESTORE;
}

int store_due_each(int64_t now_ms, store_job_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_DUE_EACH);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":now", now_ms);
    return each_row(st, 1, fn, arg);
}

int store_each_warm_pool(const char *region, const char *status, int64_t exclude_id,
                         store_job_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_WARM_POOL_EACH);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":status", status);
    store_bind_int(st, ":exclude", exclude_id);
    return each_row(st, 1, fn, arg);
}

int store_list(const char *region, store_sort sort, int descending, const store_cursor *after,
               int limit, store_job_fn fn, void *arg)
{
    int which = (int)sort * 2 + (descending ? 1 : 0);
    sqlite3_stmt *st =
        store_stmt((store_sql)((after && after->valid ? SQL_LIST_AFTER : SQL_LIST_FIRST) + which));
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_int(st, ":n", limit);
    if (after && after->valid) {
        store_bind_text(st, ":key", after->key);
        store_bind_int(st, ":created", after->created_ms);
        store_bind_int(st, ":id", after->id);
    }
    return each_row(st, 0, fn, arg);
}

int store_all(int limit, store_job_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_ALL_JOBS);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":n", limit);
    return each_row(st, 0, fn, arg);
}

int64_t store_job_count(void)
{
    sqlite3_stmt *st = store_stmt(SQL_JOB_COUNT);
    if (!st) return SM_ESTORE;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : SM_ESTORE;
    sqlite3_reset(st);
    return n;
}

int store_reset(void)
{
    if (store_tuning_reset() != SM_OK) return SM_ESTORE;
    /* children first: with them gone, deleting a job finds nothing to cascade to */
    static const store_sql order[] = {SQL_RESET_TAGS, SQL_RESET_VIEWS, SQL_RESET_REQUESTS,
                                      SQL_RESET_JOBS, SQL_RESET_SCENARIOS};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (store_exec_stmt(store_stmt(order[i])) != SM_OK) return SM_ESTORE;
    return SM_OK;
}
