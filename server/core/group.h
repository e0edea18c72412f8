/*
 * group.h: group commit of writing operations (OP_GROUP, service.h); see group.c.
 */
#ifndef SM_GROUP_H
#define SM_GROUP_H

#include "req.h"

/* Called on the committer's thread once r's group committed (or failed): r holds its reply. */
typedef void (*group_done_fn)(sm_req *r, void *arg);

/* Start the committer thread. 0, or SM_ERR (writes then run at once, one transaction each). */
int group_start(void);
/* Commit and answer what is queued, then stop the committer; group_submit refuses afterwards. */
void group_stop(void);
/* Whether the committer takes requests now (a later group_submit may still refuse). */
int group_accepting(void);
/* Claim the store for a write at once (1), when the committer runs, no commit is in progress
 * or queued and writes have not been overlapping; group_release() after it. 0: queue the
 * write instead. */
int group_claim(void);
void group_release(void);
/* Queue r, which passed the gate (group set), for the next group commit; done(r, arg) follows
 * on the committer's thread. The caller must not touch r until then. 0, or SM_ERR when the
 * committer is not running (then the caller writes at once: gate_write). */
int group_submit(sm_req *r, group_done_fn done, void *arg);

#endif
