/*
 * batch.c: savepoints, so that one transaction can carry the writes of several requests (the
 * gate's group commit, server/core/group.c) and still undo one request's writes alone.
 *
 * store_savepoint() opens a savepoint inside the transaction of store_begin(); the request's
 * writes then either stay (store_release) or are undone (store_rollback_to: everything since the
 * savepoint, nothing before it), and COMMIT makes all the kept ones durable at once.
 *
 * The three statements are prepared once per thread, outside conn.c's table (they are the
 * committer's alone); store_batch_done() finalizes this thread's before it ends, so that
 * store_close() can close its connection.
 */
#include "batch.h"
#include "conn.h"
#include "errors.h"

enum { SP_OPEN, SP_RELEASE, SP_UNDO, SP__COUNT };

static const char *const sp_text[SP__COUNT] = {
    [SP_OPEN] = "SAVEPOINT sagemock_member",
    [SP_RELEASE] = "RELEASE sagemock_member",
    [SP_UNDO] = "ROLLBACK TO sagemock_member",
};

static __thread sqlite3_stmt *sp_stmt[SP__COUNT];

static int sp_run(int which)
{
    sqlite3 *db = store_db();
    if (!db) return SM_ESTORE;
    if (!sp_stmt[which] && sqlite3_prepare_v3(db, sp_text[which], -1, SQLITE_PREPARE_PERSISTENT,
                                              &sp_stmt[which], NULL) != SQLITE_OK)
        return SM_ESTORE;
    return store_exec_stmt(sp_stmt[which]);
}

int store_savepoint(void)
{
    return sp_run(SP_OPEN);
}

int store_release(void)
{
    return sp_run(SP_RELEASE);
}

int store_rollback_to(void)
{
    /* ROLLBACK TO keeps the savepoint open: release it too, which then removes nothing. */
    int rc = sp_run(SP_UNDO);
    return rc == SM_OK ? sp_run(SP_RELEASE) : rc;
}

void store_batch_done(void)
{
    for (int i = 0; i < SP__COUNT; i++) {
        sqlite3_finalize(sp_stmt[i]);
        sp_stmt[i] = NULL;
    }
}
