/*
 * tuning.c: the hyperparameter tuning jobs: their rows, their children (the training jobs they
 * launched, in launch order, with a cache of each child's outcome), their tags.
 *
 * Like jobs.c it never interprets the JSON text it stores. A tuning job row holds the tuning
 * engine's inputs (the normalised request, the warm start parents' results, the stop request)
 * and the materialised state that ListHyperParameterTuningJobs sorts and filters on (status,
 * last-modified and end times, the counters as JSON), with next_change_ms under a partial index
 * for the due probe. Deleting a tuning job deletes its children rows and tags (ON DELETE
 * CASCADE), never the training jobs themselves.
 */
#include "conn.h"
#include "store.h"
#include "errors.h"

#include <pthread.h>

#include <stdlib.h>
#include <string.h>

/* Columns 0..13 of the TUNING_COLS list (conn.c). */
static int row_to_tuning(sqlite3_stmt *st, store_tuning *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    store_copy_col(t->region, sizeof t->region, st, 1);
    store_copy_col(t->name, sizeof t->name, st, 2);
    store_copy_col(t->arn, sizeof t->arn, st, 3);
    t->created_ms = sqlite3_column_int64(st, 4);
    store_copy_col(t->strategy, sizeof t->strategy, st, 5);
    store_copy_col(t->status, sizeof t->status, st, 10);
    t->last_modified_ms = sqlite3_column_int64(st, 11);
    t->end_ms = sqlite3_column_int64(st, 12);
    t->next_change_ms = sqlite3_column_int64(st, 13);
    if (!(t->request = store_dup_col(st, 6)) || !(t->extra = store_dup_col(st, 7)) ||
        !(t->events = store_dup_col(st, 8)) || !(t->summary = store_dup_col(st, 9))) {
        store_tuning_clear(t);
        return SM_ENOMEM;
    }
    return SM_OK;
}

void store_tuning_clear(store_tuning *t)
{
    free(t->request);
    free(t->extra);
    free(t->events);
    free(t->summary);
    t->request = t->extra = t->events = t->summary = NULL;
}

int store_tuning_insert(store_tuning *t, char existing_arn[STORE_ARN_MAX])
{
    int rc = store_name_taken(SQL_TUNING_ARN_BY_NAME, t->region, t->name, existing_arn);
    if (rc != SM_OK) return rc;
    sqlite3_stmt *st = store_stmt(SQL_TUNING_INSERT);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", t->region);
    store_bind_text(st, ":name", t->name);
    store_bind_text(st, ":arn", t->arn);
    store_bind_int(st, ":created", t->created_ms);
    store_bind_text(st, ":strategy", t->strategy);
    store_bind_text(st, ":request", t->request);
    store_bind_text(st, ":extra", t->extra ? t->extra : "{}");
    store_bind_text(st, ":events", t->events ? t->events : "[]");
    store_bind_text(st, ":summary", t->summary ? t->summary : "{}");
    store_bind_text(st, ":status", t->status);
    store_bind_int(st, ":last_modified", t->last_modified_ms);
    store_bind_int(st, ":end", t->end_ms);
    store_bind_int(st, ":next", t->next_change_ms);
    if (store_exec_stmt(st) != SM_OK) return SM_ESTORE;
    t->id = sqlite3_last_insert_rowid(store_db());
    return SM_OK;
}

static int get_one(sqlite3_stmt *st, store_tuning *out)
{
    memset(out, 0, sizeof *out); /* store_tuning_clear is safe after any result */
    int rc = store_step_row(st);
    if (rc != SM_OK) return rc;
    rc = row_to_tuning(st, out);
    sqlite3_reset(st);
    return rc;
}

int store_tuning_get(const char *region, const char *name, store_tuning *out)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_GET);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name);
    return get_one(st, out);
}

int store_tuning_get_by_arn(const char *arn, store_tuning *out)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_GET_BY_ARN);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":arn", arn);
    return get_one(st, out);
}

int store_tuning_update(int64_t id, const char *events, const char *summary, const char *status,
                        int64_t last_modified_ms, int64_t end_ms, int64_t next_change_ms)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_UPDATE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    store_bind_text(st, ":events", events);
    store_bind_text(st, ":summary", summary);
    store_bind_text(st, ":status", status);
    store_bind_int(st, ":last_modified", last_modified_ms);
    store_bind_int(st, ":end", end_ms);
    store_bind_int(st, ":next", next_change_ms);
    return store_exec_stmt(st);
}

int store_tuning_delete(int64_t id)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_DELETE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":id", id);
    return store_exec_stmt(st);
}

int store_tuning_due_any(int64_t now_ms)
{
    return store_floor_probe(&store_tuning_floor, SQL_TUNING_DUE_ANY, now_ms);
}

/* Ids first, then each row fetched whole: the callback may write to the table (and run the
 * statements this walk would otherwise hold open). */
static int each_id(sqlite3_stmt *st, store_tuning_fn fn, void *arg)
{
    int64_t *ids = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            int64_t *more = realloc(ids, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *ids);
            if (!more) {
                sqlite3_reset(st);
                free(ids);
                return SM_ENOMEM;
            }
            ids = more;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return SM_ESTORE;
    }
    int visited = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *one = store_stmt(SQL_TUNING_GET_BY_ID);
        if (!one) {
            free(ids);
            return SM_ESTORE;
        }
        store_bind_int(one, ":id", ids[i]);
        store_tuning t;
        int r = get_one(one, &t);
        if (r == SM_ENOTFOUND) continue;
        if (r != SM_OK) {
            free(ids);
            return r;
        }
        r = fn(&t, arg);
        store_tuning_clear(&t);
        visited++;
        if (r) break;
    }
    free(ids);
    return visited;
}

int store_tuning_due_each(int64_t now_ms, store_tuning_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_DUE_IDS);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":now", now_ms);
    return each_id(st, fn, arg);
}

int store_tuning_each(const char *region, int limit, store_tuning_fn fn, void *arg)
{
    sqlite3_stmt *st = store_stmt(region ? SQL_TUNING_REGION_IDS : SQL_TUNING_ALL_IDS);
    if (!st) return SM_ESTORE;
    if (region) store_bind_text(st, ":region", region);
    store_bind_int(st, ":n", limit);
    return each_id(st, fn, arg);
}

int store_tuning_child_insert(int64_t tuning_id, const store_tuning_child *c)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_CHILD_INSERT);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":tuning", tuning_id);
    store_bind_int(st, ":idx", c->idx);
    store_bind_text(st, ":name", c->name);
    store_bind_int(st, ":created", c->created_ms);
    store_bind_text(st, ":definition", c->definition);
    store_bind_text(st, ":tuned", c->tuned);
    return store_exec_stmt(st);
}

int store_tuning_children(int64_t tuning_id, int (*fn)(store_tuning_child *c, void *arg), void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_CHILDREN);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":tuning", tuning_id);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_tuning_child c;
        memset(&c, 0, sizeof c);
        c.idx = sqlite3_column_int(st, 0);
        store_copy_col(c.name, sizeof c.name, st, 1);
        c.created_ms = sqlite3_column_int64(st, 2);
        store_copy_col(c.definition, sizeof c.definition, st, 3);
        c.tuned = store_dup_col(st, 4);
        c.outcome = store_dup_col(st, 5);
        c.outcome_key = store_dup_col(st, 6);
        int r = c.tuned ? fn(&c, arg) : SM_ENOMEM;
        free(c.tuned);
        free(c.outcome);
        free(c.outcome_key);
        n++;
        if (r) {
            sqlite3_reset(st);
            return r < 0 ? r : n;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? n : SM_ESTORE;
}

int store_tuning_child_cache(int64_t tuning_id, int idx, const char *outcome, const char *key)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_CHILD_CACHE);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":tuning", tuning_id);
    store_bind_int(st, ":idx", idx);
    store_bind_text(st, ":outcome", outcome);
    store_bind_text(st, ":key", key);
    return store_exec_stmt(st);
}

int store_tuning_tag_put(int64_t tuning_id, const char *key, const char *value)
{
    return store_tags_put(SQL_TUNING_TAG_PUT, tuning_id, key, value);
}

int store_tuning_tag_delete(int64_t tuning_id, const char *key)
{
    return store_tags_delete(SQL_TUNING_TAG_DELETE, tuning_id, key);
}

int store_tuning_tag_each(int64_t tuning_id, int64_t after_pos, int limit,
                          int (*fn)(int64_t pos, const char *key, const char *value, void *arg),
                          void *arg)
{
    return store_tags_each(SQL_TUNING_TAG_EACH, tuning_id, after_pos, limit, fn, arg);
}

int store_tuning_touch(const char *arn, int64_t now_ms)
{
    sqlite3_stmt *st = store_stmt(SQL_TUNING_TOUCH);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":arn", arn);
    store_bind_int(st, ":now", now_ms);
    return store_exec_stmt(st);
}

int store_tuning_reset(void)
{
    /* Children rows and tags go with their tuning job (ON DELETE CASCADE). */
    return store_exec_stmt(store_stmt(SQL_TUNING_RESET));
}

int store_tuning_stamp(const char *region, const char *name, store_stamp *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(SQL_TUNING_ARN_BY_NAME);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* The pager's data version is brought up to date as a read transaction begins: read it
         * while the statement holds one, so that it names the data the row came from. */
        sqlite3 *db = sqlite3_db_handle(st);
        unsigned int version = 0;
        if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK)
            rc = SQLITE_ERROR;
        out->db = db;
        out->data_version = version;
        out->changes = sqlite3_total_changes64(db);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SM_OK : rc == SQLITE_DONE ? SM_ENOTFOUND : SM_ESTORE;
}
