/*
 * group.c: group commit of writing operations (OP_GROUP, service.h).
 *
 * Every write used to be its own BEGIN IMMEDIATE ... COMMIT: with many clients, the workers
 * took turns on the write lock and each commit wrote its own WAL frames. Here one committer
 * thread takes every request queued since its last commit and runs them through
 * gate_write_group(): one transaction, each handler in its own savepoint, in arrival order (so
 * the outcome is the one of running them one after another), one COMMIT. Then it calls each
 * request's done callback, which answers it (http.c resumes its connection). Requests that
 * arrive while a commit is in progress wait for the next one, so the busier the server, the
 * more writes one commit carries. While writes do not overlap (the committer's last group had
 * one request at most), a write that finds no commit in progress and nothing queued claims the
 * store and is written at once by its own worker (group_claim), as before there was a
 * committer: a lone client pays no hand-over between threads. Writes arriving meanwhile queue
 * for the committer, which starts once the claim is released; once they overlap, every write
 * goes to the committer, until its groups are single requests again.
 *
 * Must not: answer a request before the transaction holding its writes committed (done is
 * called after gate_write_group returns); block a worker (group_submit only queues); lose a
 * queued request when stopping (group_stop lets the committer drain the queue, and
 * group_submit refuses afterwards, so the caller writes at once).
 */
#include "group.h"
#include "errors.h"
#include "gate.h"
#include "log.h"
#include "batch.h"

#include <pthread.h>
#include <stdlib.h>

#define GROUP_MAX 512 /* requests in one transaction at most (bounds a group's latency) */

typedef struct member {
    sm_req *r;
    group_done_fn done;
    void *arg;
    struct member *next;
} member;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static member *head, **tail = &head; /* the queue, in arrival order */
static int running, stopping;
static int busy;   /* a write transaction is in progress: the committer's, or a claim's */
static int last_n; /* requests in the committer's last group: more than one, writes overlap */
static pthread_t committer;

static void *commit_loop(void *arg)
{
    (void)arg;
    static sm_req *rs[GROUP_MAX];
    static member *ms[GROUP_MAX];
    pthread_mutex_lock(&lock);
    for (;;) {
        while ((!head && !stopping) || (head && busy))
            pthread_cond_wait(&wake, &lock);
        if (!head) break; /* stopping, and nothing left */
        busy = 1;
        int n = 0;
        while (head && n < GROUP_MAX) {
            ms[n] = head;
            rs[n++] = head->r;
            head = head->next;
        }
        if (!head) tail = &head;
        last_n = n;
        pthread_mutex_unlock(&lock);
        gate_write_group(rs, n);
        for (int i = 0; i < n; i++) {
            ms[i]->done(ms[i]->r, ms[i]->arg);
            free(ms[i]);
        }
        pthread_mutex_lock(&lock);
        busy = 0;
    }
    pthread_mutex_unlock(&lock);
    store_batch_done();
    return NULL;
}

int group_start(void)
{
    pthread_mutex_lock(&lock);
    stopping = 0;
    running = pthread_create(&committer, NULL, commit_loop, NULL) == 0;
    pthread_mutex_unlock(&lock);
    if (!running) log_msg(LOG_WARN, "no committer thread: every write commits on its own");
    return running ? SM_OK : SM_ERR;
}

void group_stop(void)
{
    pthread_mutex_lock(&lock);
    int was = running;
    stopping = 1;
    running = 0;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    if (was) pthread_join(committer, NULL);
}

int group_accepting(void)
{
    pthread_mutex_lock(&lock);
    int yes = running;
    pthread_mutex_unlock(&lock);
    return yes;
}

int group_claim(void)
{
    pthread_mutex_lock(&lock);
    int claimed = running && !busy && !head && last_n <= 1;
    if (claimed) busy = 1;
    pthread_mutex_unlock(&lock);
    return claimed;
}

void group_release(void)
{
    pthread_mutex_lock(&lock);
    busy = 0;
    if (head) pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

int group_submit(sm_req *r, group_done_fn done, void *arg)
{
    member *m = malloc(sizeof *m);
    if (!m) return SM_ERR;
    *m = (member){r, done, arg, NULL};
    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        free(m);
        return SM_ERR;
    }
    *tail = m;
    tail = &m->next;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return SM_OK;
}
