/*
 * journal.c: the request journal ring (see journal.h).
 *
 * Invariants: `ring` holds `capacity` slots; the newest entry is at (next - 1) mod capacity;
 * `count` <= capacity; every string in a slot is owned by the slot and freed when the slot is
 * reused or cleared. One mutex guards it all; recording copies under the lock (a few small
 * allocations), so a query never sees a half-written slot.
 *
 * Everything recorded is valid UTF-8 (text.c): a body or a name that is not (a client's bytes,
 * a binary CBOR body) is kept with each invalid byte replaced by U+FFFD, and the entry says
 * "bodyNotUtf8"; the journal is served as JSON, which must stay parseable.
 */
#include "journal.h"
#include "errors.h"
#include "reply.h"
#include "text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t seq;
    int64_t wall_ms, sim_ms;
    const char *service; /* static (the service table), NULL when none was routed */
    char *operation, *job, *region, *error_code, *request_id, *body;
    int status, truncated, not_utf8;
    double latency_ms;
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot *ring;
static int capacity, next, count;
static uint64_t total;

static void slot_clear(slot *s)
{
    free(s->operation);
    free(s->job);
    free(s->region);
    free(s->error_code);
    free(s->request_id);
    free(s->body);
    memset(s, 0, sizeof *s);
}

int journal_init(int cap)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; ring && i < capacity; i++)
        slot_clear(&ring[i]);
    free(ring);
    ring = NULL;
    capacity = next = count = 0;
    total = 0;
    int rc = SM_OK;
    if (cap > 0) {
        ring = calloc((size_t)cap, sizeof *ring);
        if (ring)
            capacity = cap;
        else
            rc = SM_ENOMEM;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void journal_free(void)
{
    journal_init(0);
}

static char *dup_or_null(const char *s)
{
    return s ? text_utf8_dup(s, strlen(s), NULL) : NULL;
}

void journal_record(const journal_entry *e)
{
    pthread_mutex_lock(&lock);
    if (capacity == 0) {
        pthread_mutex_unlock(&lock);
        return;
    }
    slot *s = &ring[next];
    slot_clear(s);
    size_t n = e->body_len > JOURNAL_BODY_MAX ? JOURNAL_BODY_MAX : e->body_len;
    /* Never cut inside a UTF-8 character: the journal is served as JSON text. */
    if (e->body && e->body_len > n)
        while (n > 0 && ((unsigned char)e->body[n] & 0xC0) == 0x80)
            n--;
    s->seq = ++total;
    s->wall_ms = e->wall_ms;
    s->sim_ms = e->sim_ms;
    s->service = e->service;
    s->operation = dup_or_null(e->operation);
    s->job = dup_or_null(e->job);
    s->region = dup_or_null(e->region);
    s->error_code = dup_or_null(e->error_code);
    s->request_id = dup_or_null(e->request_id);
    s->status = e->status;
    s->latency_ms = e->latency_ms;
    s->truncated = e->body_len > n;
    if (e->body) s->body = text_utf8_dup(e->body, n, &s->not_utf8);
    next = (next + 1) % capacity;
    if (count < capacity) count++;
    pthread_mutex_unlock(&lock);
}

void journal_clear(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < capacity; i++)
        slot_clear(&ring[i]);
    next = count = 0;
    pthread_mutex_unlock(&lock);
}

static int matches(const slot *s, const journal_query *q)
{
    if (q->service && (!s->service || strcmp(q->service, s->service))) return 0;
    if (q->operation && (!s->operation || strcmp(q->operation, s->operation))) return 0;
    if (q->job && (!s->job || strcmp(q->job, s->job))) return 0;
    if (q->status >= 1 && q->status <= 9 && s->status / 100 != q->status) return 0;
    if (q->status >= 100 && s->status != q->status) return 0;
    if (q->since_wall_ms >= 0 && s->wall_ms < q->since_wall_ms) return 0;
    return 1;
}

static cJSON *slot_json(const slot *s)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddNumberToObject(o, "seq", (double)s->seq) &&
             cJSON_AddItemToObject(o, "time", reply_time(s->wall_ms)) &&
             cJSON_AddItemToObject(o, "simulatedTime", reply_time(s->sim_ms)) &&
             (!s->service || cJSON_AddStringToObject(o, "service", s->service)) &&
             cJSON_AddStringToObject(o, "operation", s->operation ? s->operation : "") &&
             (!s->job || cJSON_AddStringToObject(o, "trainingJobName", s->job)) &&
             (!s->region || cJSON_AddStringToObject(o, "region", s->region)) &&
             cJSON_AddNumberToObject(o, "status", s->status) &&
             (!s->error_code || cJSON_AddStringToObject(o, "errorCode", s->error_code)) &&
             cJSON_AddNumberToObject(o, "latencyMs", s->latency_ms) &&
             (!s->request_id || cJSON_AddStringToObject(o, "requestId", s->request_id)) &&
             (!s->body || cJSON_AddStringToObject(o, "body", s->body)) &&
             (!s->truncated || cJSON_AddBoolToObject(o, "bodyTruncated", 1)) &&
             (!s->not_utf8 || cJSON_AddBoolToObject(o, "bodyNotUtf8", 1));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *journal_query_json(const journal_query *q)
{
    cJSON *out = cJSON_CreateObject(), *a = cJSON_CreateArray();
    int ok = out && a;
    pthread_mutex_lock(&lock);
    for (int k = 0, taken = 0; ok && k < count && taken < q->limit; k++) {
        const slot *s = &ring[((next - 1 - k) % capacity + capacity) % capacity];
        if (!matches(s, q)) continue;
        cJSON *e = slot_json(s);
        ok = e && cJSON_AddItemToArray(a, e);
        if (!ok) cJSON_Delete(e);
        taken++;
    }
    uint64_t recorded = total;
    int cap = capacity;
    pthread_mutex_unlock(&lock);
    if (ok) ok = cJSON_AddItemToObject(out, "requests", a) && (a = NULL, 1);
    if (ok)
        ok = cJSON_AddNumberToObject(out, "total", (double)recorded) &&
             cJSON_AddNumberToObject(out, "capacity", cap);
    cJSON_Delete(a);
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
