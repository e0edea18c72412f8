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

int store_tag_put(int64_t job_id, const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(SQL_TAG_PUT);
    if (!st) return SM_ESTORE;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":job"), job_id);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":key"), key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":value"), value, -1, SQLITE_STATIC);
    return store_exec_stmt(st);
}

int store_tag_delete(int64_t job_id, const char *key)
{
    sqlite3_stmt *st = store_stmt(SQL_TAG_DELETE);
    if (!st) return SM_ESTORE;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":job"), job_id);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":key"), key, -1, SQLITE_STATIC);
    return store_exec_stmt(st);
}

int store_tag_each(int64_t job_id, int64_t after_pos, int limit,
                   int (*fn)(int64_t pos, const char *key, const char *value, void *arg), void *arg)
{
    sqlite3_stmt *st = store_stmt(SQL_TAG_EACH);
    if (!st) return SM_ESTORE;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":job"), job_id);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":after"), after_pos);
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":n"), limit);
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

int store_meta_get(const char *key, char *out, size_t outlen)
{
    sqlite3_stmt *st = store_stmt(SQL_META_GET);
    if (!st) return SM_ESTORE;
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":key"), key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t n = v ? strlen(v) : 0;
        if (n >= outlen) n = outlen - 1;
        if (n) memcpy(out, v, n);
        out[n] = 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SM_OK : rc == SQLITE_DONE ? SM_ENOTFOUND : SM_ESTORE;
}

int store_meta_put(const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(SQL_META_PUT);
    if (!st) return SM_ESTORE;
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":key"), key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":value"), value, -1, SQLITE_STATIC);
    return store_exec_stmt(st);
}

int store_last_busy(void)
{
    sqlite3 *db = store_db();
    return db && (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY;
}
