/*
 * meta.c: tags of jobs and the settings kept with the data (the meta table).
 *
 * Tags keep the order in which their keys were first added: AddTags overwrites a value in
 * place, so ListTags answers in a stable order and pages by position.
 */
#include "conn.h"
#include "store.h"
#include "errors.h"

#include <string.h>

/* Tags of an owner (a training job, a tuning job), through that owner's statements: put,
 * delete and each bind the owner's id as :owner. */
int store_tags_put(store_sql which, int64_t owner, const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(which);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":owner", owner);
    store_bind_text(st, ":key", key);
    store_bind_text(st, ":value", value);
    return store_exec_stmt(st);
}

int store_tags_delete(store_sql which, int64_t owner, const char *key)
{
    sqlite3_stmt *st = store_stmt(which);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":owner", owner);
    store_bind_text(st, ":key", key);
    return store_exec_stmt(st);
}

int store_tags_each(store_sql which, int64_t owner, int64_t after_pos, int limit,
                    int (*fn)(int64_t pos, const char *key, const char *value, void *arg),
                    void *arg)
{
    sqlite3_stmt *st = store_stmt(which);
    if (!st) return SM_ESTORE;
    store_bind_int(st, ":owner", owner);
    store_bind_int(st, ":after", after_pos);
    store_bind_int(st, ":n", limit);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2), arg))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : SM_ESTORE;
}

int store_tag_put(int64_t job_id, const char *key, const char *value)
{
    return store_tags_put(SQL_TAG_PUT, job_id, key, value);
}

int store_tag_delete(int64_t job_id, const char *key)
{
    return store_tags_delete(SQL_TAG_DELETE, job_id, key);
}

int store_tag_each(int64_t job_id, int64_t after_pos, int limit,
                   int (*fn)(int64_t pos, const char *key, const char *value, void *arg), void *arg)
{
    return store_tags_each(SQL_TAG_EACH, job_id, after_pos, limit, fn, arg);
}

int store_meta_get(const char *key, char *out, size_t outlen)
{
    sqlite3_stmt *st = store_stmt(SQL_META_GET);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":key", key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) store_copy_col(out, outlen, st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SM_OK : rc == SQLITE_DONE ? SM_ENOTFOUND : SM_ESTORE;
}

int store_meta_put(const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(SQL_META_PUT);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":key", key);
    store_bind_text(st, ":value", value);
    return store_exec_stmt(st);
}

int store_last_busy(void)
{
    sqlite3 *db = store_db();
    return db && (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY;
}
