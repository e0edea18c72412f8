/*
 * views.c: rendered bodies of jobs, kept with the data so that a read which would render the
 * same bytes again serves them instead (see store.h, "Views").
 *
 * A view is the body a job showed at simulated time from_ms, valid until until_ms (NULL:
 * for ever). Readers never write: store_view_put() queues the body and one writer thread
 * stores the queue in a single transaction a few milliseconds later, so that rendering on a
 * read costs the reader no write lock and many views share one commit. A queued view is
 * stored only if the job's revision is still the one it was rendered from; store_job_update
 * drops the views of the job it changes, in its own transaction. The queue is bounded: when
 * it is full a view is simply not kept (the next read renders it again). Views belong to the
 * build that rendered them (store_views_epoch): another build may render other bytes.
 *
 * The writer prepares its statements itself rather than through store_stmt(): it runs on its
 * own schedule, and the test builds' fault injection counts store_stmt() calls to fail the Nth
 * one of a request.
 */
#include "conn.h"
#include "store.h"
#include "errors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 1024
#define QUEUE_BYTES (2u << 20) /* bodies held at most, in bytes (RSS) */
#define BATCH_DELAY_MS 5       /* how long the writer lets a batch gather */

typedef struct pending {
    int64_t job_id, rev, from_ms, until_ms;
    char *body;
} pending;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER; /* a batch was written */
static uint64_t q_seq, done_seq; /* views queued, and queued before the last batch written */
static pending *queue;
static int q_len;
static size_t q_bytes;
static int stopping, started;
static pthread_t writer;
/* The number of the build whose views the store serves (store_views_epoch): views of an
 * earlier build stay in the table, unseen, until a rendering replaces them or a reset. */
static _Atomic int64_t epoch;

static const char sql_put[] = "INSERT OR REPLACE INTO job_views(job_id, epoch, from_ms, until_ms, "
                              "body) SELECT :id, :epoch, :from, NULLIF(:until,-1), :body "
                              "WHERE EXISTS(SELECT 1 FROM jobs WHERE id = :id AND rev = :rev)";

int store_view_get(const char *region, const char *name, int64_t now_ms, char **body)
{
    *body = NULL;
    sqlite3_stmt *st = store_stmt(SQL_VIEW_GET);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name);
    store_bind_int(st, ":epoch", epoch);
    int rc = sqlite3_step(st), out = SM_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        int64_t from = sqlite3_column_int64(st, 0), until = sqlite3_column_int64(st, 1);
        if (from <= now_ms && (until < 0 || now_ms < until))
            out = (*body = store_dup_col(st, 2)) ? SM_OK : SM_ENOMEM;
    } else if (rc != SQLITE_DONE) {
        out = SM_ESTORE;
    }
    sqlite3_reset(st);
    return out;
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i) sqlite3_bind_int64(st, i, v);
}

/* Store one batch in one transaction; a batch that cannot be stored is dropped. */
static void write_batch(sqlite3 *db, sqlite3_stmt *put, pending *b, int n)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        int ok = 1;
        for (int i = 0; ok && i < n; i++) {
            sqlite3_reset(put);
            bind_named_int(put, ":id", b[i].job_id);
            bind_named_int(put, ":rev", b[i].rev);
            bind_named_int(put, ":epoch", epoch);
            bind_named_int(put, ":from", b[i].from_ms);
            bind_named_int(put, ":until", b[i].until_ms);
            sqlite3_bind_text(put, sqlite3_bind_parameter_index(put, ":body"), b[i].body, -1,
                              SQLITE_STATIC);
            ok = sqlite3_step(put) == SQLITE_DONE;
        }
        sqlite3_reset(put);
        sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    }
    for (int i = 0; i < n; i++)
        free(b[i].body);
}

static void *writer_main(void *arg)
{
    (void)arg;
    sqlite3 *db = store_db();
    sqlite3_stmt *put = NULL;
    if (db) sqlite3_prepare_v2(db, sql_put, -1, &put, NULL);
    pending *batch = malloc(QUEUE_MAX * sizeof *batch);
    pthread_mutex_lock(&q_lock);
    for (;;) {
        while (!stopping && q_len == 0)
            pthread_cond_wait(&q_cond, &q_lock);
        if (q_len == 0) break; /* stopping, nothing left */
        if (!stopping) {       /* let the batch gather */
            pthread_mutex_unlock(&q_lock);
            nanosleep(&(struct timespec){0, BATCH_DELAY_MS * 1000000L}, NULL);
            pthread_mutex_lock(&q_lock);
        }
        int n = q_len;
        uint64_t seq = q_seq;
        if (batch) memcpy(batch, queue, (size_t)n * sizeof *batch);
        q_len = 0;
        q_bytes = 0;
        pthread_mutex_unlock(&q_lock);
        if (batch && put) {
            write_batch(db, put, batch, n);
        } else {
            for (int i = 0; batch && i < n; i++)
                free(batch[i].body);
        }
        pthread_mutex_lock(&q_lock);
        done_seq = seq;
        pthread_cond_broadcast(&done_cond);
    }
    done_seq = q_seq;
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&q_lock);
    free(batch);
    sqlite3_finalize(put);
    return NULL;
}

void store_view_put(int64_t job_id, int64_t rev, int64_t from_ms, int64_t until_ms,
                    const char *body)
{
    size_t len = strlen(body);
    pthread_mutex_lock(&q_lock);
    if (!started && !stopping) {
        queue = malloc(QUEUE_MAX * sizeof *queue);
        started = queue && pthread_create(&writer, NULL, writer_main, NULL) == 0 ? 1 : -1;
    }
    char *copy = started == 1 && !stopping && q_len < QUEUE_MAX && q_bytes + len <= QUEUE_BYTES
                     ? malloc(len + 1)
                     : NULL;
    if (copy) {
        memcpy(copy, body, len + 1);
        queue[q_len++] = (pending){job_id, rev, from_ms, until_ms, copy};
        q_bytes += len;
        q_seq++;
        pthread_cond_signal(&q_cond);
    }
    pthread_mutex_unlock(&q_lock);
}

void store_views_flush(void)
{
    pthread_mutex_lock(&q_lock);
    uint64_t target = q_seq;
    pthread_cond_signal(&q_cond);
    while (started == 1 && done_seq < target)
        pthread_cond_wait(&done_cond, &q_lock);
    pthread_mutex_unlock(&q_lock);
}

void store_views_stop(void)
{
    pthread_mutex_lock(&q_lock);
    stopping = 1;
    int was = started;
    pthread_cond_signal(&q_cond);
    pthread_mutex_unlock(&q_lock);
    if (was == 1) pthread_join(writer, NULL);
    pthread_mutex_lock(&q_lock);
    free(queue);
    queue = NULL;
    started = stopping = 0; /* a store opened again starts another writer */
    pthread_mutex_unlock(&q_lock);
}

/* meta "views_epoch" holds "N build": a build other than the one recorded takes number N + 1,
 * so that start-up never has to delete the views of the last build (200 MB for 100,000 jobs). */
int store_views_epoch(const char *build)
{
    char have[160];
    long long n = 0;
    int used = 0;
    int rc = store_meta_get("views_epoch", have, sizeof have);
    if (rc != SM_OK && rc != SM_ENOTFOUND) return rc;
    if (rc == SM_OK && sscanf(have, "%lld %n", &n, &used) == 1 && used > 0 &&
        strcmp(have + used, build) == 0) {
        epoch = n;
        return SM_OK;
    }
    char next[160];
    snprintf(next, sizeof next, "%lld %.120s", n + 1, build);
    if (store_meta_put("views_epoch", next) != SM_OK) return SM_ESTORE;
    epoch = n + 1;
    return SM_OK;
}
