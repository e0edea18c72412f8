/*
 * batch.h: savepoints inside the store's transaction, for the gate's group commit (batch.c).
 *
 * Between store_begin() and store_commit(), each member of a group opens a savepoint, writes,
 * then keeps its writes (store_release) or undoes them alone (store_rollback_to). Savepoints do
 * not nest here: one is open at a time. All return 0 or SM_ESTORE.
 */
#ifndef SM_STORE_BATCH_H
#define SM_STORE_BATCH_H

int store_savepoint(void);
int store_release(void);
int store_rollback_to(void); /* undo since store_savepoint(), and close the savepoint */
/* Finalize this thread's savepoint statements (before the thread ends). */
void store_batch_done(void);

/* Remove every job, tag and tuning job in one transaction of its own, as store_reset() does,
 * but emptying the tables whole where it can (clear.c). 0 or a negative code. */
int store_clear_jobs(void);

#endif
