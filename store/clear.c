/*
 * clear.c: emptying the store of its jobs at once, for a reset (store_clear_jobs, batch.h).
 *
 * store_reset() deletes the jobs row by row: with foreign keys on, SQLite cannot truncate a
 * table other tables reference, so 100k jobs cost a second (every row out of the table and its
 * indexes, every page rewritten). Here the same store_reset() runs with foreign keys off for
 * the transaction, so each of its DELETEs empties its table whole (SQLite frees the pages
 * without visiting rows). It deletes children before parents, so the result is the same,
 * provided it names every table that references a job: PRAGMA foreign_key_check must find no
 * row pointing at one that is gone before it commits; else it rolls back and runs store_reset()
 * again with foreign keys on (as on any failure), which cascades. Only the speed differs.
 *
 * Must not: leave foreign keys off on the connection, or commit a store with dangling rows.
 */
#include "batch.h"
#include "conn.h"
#include "errors.h"
#include "store.h"

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? SM_OK : SM_ESTORE;
}

/* 1 when no row references a row that is gone, 0 when one does, negative on error. */
static int references_intact(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        return SM_ESTORE;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 1 : rc == SQLITE_ROW ? 0 : SM_ESTORE;
}

/* The fast way; SM_EINVAL when it would leave dangling rows, or another failure (nothing
 * changed then). */
static int clear_whole(sqlite3 *db)
{
    if (exec(db, "PRAGMA foreign_keys = OFF") != SM_OK) return SM_ESTORE;
    int rc = store_begin();
    if (rc == SM_OK) rc = store_reset();
    if (rc == SM_OK) {
        int intact = references_intact(db);
        rc = intact == 1 ? SM_OK : intact == 0 ? SM_EINVAL : SM_ESTORE;
    }
    if (rc == SM_OK) rc = store_commit();
    if (rc != SM_OK) store_rollback();
    if (exec(db, "PRAGMA foreign_keys = ON") != SM_OK && rc == SM_OK) rc = SM_ESTORE;
    return rc;
}

int store_clear_jobs(void)
{
    sqlite3 *db = store_db();
    if (!db) return SM_ESTORE;
    if (sqlite3_get_autocommit(db) && clear_whole(db) == SM_OK) return SM_OK;
    /* The slow way, row by row with foreign keys on (which also reports a failure). */
    int rc = store_begin();
    if (rc == SM_OK) rc = store_reset();
    if (rc == SM_OK) rc = store_commit();
    if (rc != SM_OK) store_rollback();
    return rc;
}
