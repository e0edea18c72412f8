/*
 * service.c: Amazon CloudWatch Logs as a service value (core/service.h), serving the log group
 * SageMaker training jobs write to: /aws/sagemaker/TrainingJobs.
 *
 * awsJson 1.1, target prefix "Logs_20140328", signing name "logs". Nothing is stored: every
 * stream and event is computed from the training jobs of the caller's region at the request's
 * simulated now (services/sagemaker/training_log.h, engine/joblog.h), so the logs always agree
 * with Describe and never show an event later than the clock.
 *
 * Paging follows the service:
 *   - GetLogEvents: tokens "f/<56 digits>" and "b/<56 digits>" hold a position in the stream
 *     (streams only grow at their end, so a position stays valid as the clock moves); at the
 *     end of a stream the forward token given is the one returned; without a token the newest
 *     `limit` events come back unless startFromHead; startTime inclusive, endTime exclusive.
 *   - DescribeLogStreams, FilterLogEvents, DescribeLogGroups: opaque signed tokens (token.h)
 *     holding the position after the last item returned.
 * Choices where the service's behaviour is not documented are marked "inferred".
 */
#include "arn.h"
#include "errors.h"
#include "jsonutil.h"
#include "reply.h"
#include "service.h"
#include "store.h"
#include "strbuf.h"
#include "tcache.h"
#include "token.h"
#include "training_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char logs_model_json[];

#define GROUP "/aws/sagemaker/TrainingJobs"
#define GROUP_NOT_FOUND "The specified log group does not exist."
#define STREAM_NOT_FOUND "The specified log stream does not exist."
#define BAD_TOKEN "The specified nextToken is invalid."
#define MAX_EVENTS_DEFAULT 10000
#define MAX_REPLY_BYTES (1024 * 1024) /* GetLogEvents / FilterLogEvents: 1 MB of events */

/* ------------------------------------------------------------------ the group and streams */

/* The group the request names (logGroupName or logGroupIdentifier: a name or an ARN). Replies
 * and returns SM_ERR when it is not the training-job group or names are mixed. */
static int check_group(sm_req *r)
{
    if (training_jobs_up_to_date(r->now_ms) != SM_OK) return reply_internal(r);
    const char *name = json_string(r->input, "logGroupName");
    const char *id = json_string(r->input, "logGroupIdentifier");
    if (name && id)
        return reply_error(r, "InvalidParameterException",
                           "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
    if (!name && !id)
        return reply_error(r, "InvalidParameterException",
                           "Either logGroupName or logGroupIdentifier must be specified.");
    if (id && strncmp(id, "arn:", 4) == 0) {
        /* arn:<partition>:logs:<region>:<account>:log-group:<name>[:*] */
        const char *lg = strstr(id, ":log-group:");
        char want[256];
        arn_format(want, sizeof want, r->region, "logs", r->region, "log-group:" GROUP);
        size_t n = strlen(want);
        if (!lg || strncmp(id, want, n) != 0 || (id[n] && strcmp(id + n, ":*") != 0))
            return reply_error(r, "ResourceNotFoundException", GROUP_NOT_FOUND);
        return SM_OK;
    }
    if (strcmp(name ? name : id, GROUP) != 0)
        return reply_error(r, "ResourceNotFoundException", GROUP_NOT_FOUND);
    return SM_OK;
}

/* Jobs of the region whose names start with `prefix`, in name order; fn gets each loaded
 * whole. Returns SM_OK or a store error. */
typedef int (*job_fn)(store_job *job, void *arg);

struct scan {
    const char *region, *prefix;
    job_fn fn;
    void *arg;
    store_cursor cur;
    int done, rc;
};

static int scan_row(store_job *row, void *arg)
{
    struct scan *s = arg;
    s->cur.valid = 1;
    snprintf(s->cur.key, sizeof s->cur.key, "%s", row->name);
    s->cur.id = row->id;
    s->cur.created_ms = row->created_ms;
    if (strncmp(row->name, s->prefix, strlen(s->prefix)) != 0) {
        s->done = 1;
        return 1;
    }
    store_job full;
    int rc = store_job_get(s->region, row->name, &full);
    if (rc == SM_ENOTFOUND) return 0; /* deleted meanwhile */
    if (rc != SM_OK) {
        s->rc = rc;
        return 1;
    }
    rc = s->fn(&full, s->arg);
    store_job_clear(&full);
    if (rc) s->done = 1;
    return rc;
}

static int each_job(const char *region, const char *prefix, job_fn fn, void *arg)
{
    struct scan s = {.region = region, .prefix = prefix, .fn = fn, .arg = arg};
    if (*prefix) { /* start at the first name >= prefix */
        s.cur.valid = 1;
        snprintf(s.cur.key, sizeof s.cur.key, "%s", prefix);
        s.cur.id = 0;
    }
    while (!s.done && s.rc == SM_OK) {
        int n = store_list(region, STORE_SORT_NAME, 0, &s.cur, 200, scan_row, &s);
        if (n < 0) return n;
        if (n < 200) break;
    }
    return s.rc;
}

/* One stream as DescribeLogStreams shows it. */
typedef struct stream_info {
    char name[160];
    int64_t created_ms, first_ms, last_ms, last_ingest_ms;
    int64_t bytes;
} stream_info;

typedef struct stream_set {
    int64_t now_ms;
    const char *prefix; /* stream-name prefix */
    int one_job;        /* the streams of one job: its log is borrowed (training_log_shared) */
    stream_info *v;
    int n, cap, oom, damaged;
} stream_set;

static int collect_streams(store_job *job, void *arg)
{
    stream_set *set = arg;
    if (training_log_start(job, set->now_ms) < 0) return 0;
    jl_log log;
    int rc = set->one_job ? training_log_shared(job, set->now_ms, &log, NULL)
                          : training_log(job, set->now_ms, &log);
    if (rc != SM_OK) {
        set->oom |= rc == SM_ENOMEM;
        set->damaged |= rc != SM_ENOMEM;
        return rc == SM_ENOMEM;
    }
    for (int i = 0; i < log.nstreams; i++) {
        const jl_stream *s = &log.streams[i];
        if (strncmp(s->name, set->prefix, strlen(set->prefix)) != 0) continue;
        if (set->n == set->cap) {
            int cap = set->cap ? set->cap * 2 : 16;
            stream_info *grown = realloc(set->v, (size_t)cap * sizeof *grown);
            if (!grown) {
                set->oom = 1;
                break;
            }
            set->v = grown;
            set->cap = cap;
        }
        stream_info *o = &set->v[set->n++];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", s->name);
        o->created_ms = s->created_ms;
        o->first_ms = o->last_ms = o->last_ingest_ms = -1;
        if (s->nevents) {
            o->first_ms = s->events[0].timestamp_ms;
            o->last_ms = s->events[s->nevents - 1].timestamp_ms;
        }
        for (int k = 0; k < s->nevents; k++) {
            o->bytes += (int64_t)strlen(s->events[k].message) + 26;
            if (s->events[k].ingestion_ms > o->last_ingest_ms)
                o->last_ingest_ms = s->events[k].ingestion_ms;
        }
    }
    if (!set->one_job) jl_free(&log);
    return set->oom;
}

/* The job a stream name belongs to: "<job>/<host>-<epoch>" (job names hold no '/'). */
static int stream_job(const char *stream, char job[STORE_NAME_MAX])
{
    const char *slash = strchr(stream, '/');
    size_t n = slash ? (size_t)(slash - stream) : 0;
    if (n == 0 || n >= STORE_NAME_MAX) return 0;
    memcpy(job, stream, n);
    job[n] = 0;
    return 1;
}

/* Every stream of the region at now whose name starts with `prefix`. */
static int streams_with_prefix(sm_req *r, const char *prefix, stream_set *set)
{
    set->now_ms = r->now_ms;
    set->prefix = prefix;
    char job[STORE_NAME_MAX];
    if (strchr(prefix, '/')) { /* one job's streams: a direct lookup */
        if (!stream_job(prefix, job)) return SM_OK;
        set->one_job = 1;
        store_job full;
        int rc = store_job_get(r->region, job, &full);
        if (rc == SM_ENOTFOUND) return SM_OK;
        if (rc != SM_OK) return rc;
        collect_streams(&full, set);
        store_job_clear(&full);
    } else {
        int rc = each_job(r->region, prefix, collect_streams, set);
        if (rc != SM_OK) return rc;
    }
    return set->oom ? SM_ENOMEM : set->damaged ? SM_EINVAL : SM_OK;
}

/* ------------------------------------------------------------------------ DescribeLogGroups */

struct first_stream {
    int64_t now_ms, created_ms, bytes;
};

/* Whether any job of the region has a stream yet: the group exists from its first stream on
 * (inferred: a new account has no group until a container logs). */
static int find_first(store_job *job, void *arg)
{
    struct first_stream *f = arg;
    int64_t t = training_log_start(job, f->now_ms);
    if (t >= 0 && (f->created_ms < 0 || t < f->created_ms)) f->created_ms = t;
    return 0;
}

static int group_state(sm_req *r, struct first_stream *f)
{
    f->now_ms = r->now_ms;
    f->created_ms = -1;
    f->bytes = 0;
    return each_job(r->region, "", find_first, f);
}

static int h_describe_log_groups(sm_req *r)
{
    if (training_jobs_up_to_date(r->now_ms) != SM_OK) return reply_internal(r);
    const char *prefix = json_string(r->input, "logGroupNamePrefix");
    const char *pattern = json_string(r->input, "logGroupNamePattern");
    if (prefix && pattern)
        return reply_error(r, "InvalidParameterException",
                           "LogGroup name prefix and LogGroup name pattern are mutually "
                           "exclusive parameters.");
    const char *token = json_string(r->input, "nextToken");
    char payload[TOKEN_PAYLOAD_MAX];
    if (token && (tok_decode(token, payload, sizeof payload) != SM_OK ||
                  strcmp(payload, "logs:groups:end") != 0))
        return reply_error(r, "InvalidParameterException", BAD_TOKEN);
    int want = !token;
    if (want && prefix && strncmp(GROUP, prefix, strlen(prefix)) != 0) want = 0;
    if (want && pattern && *pattern && !strstr(GROUP, pattern)) want = 0;
    const cJSON *ids = json_array(r->input, "logGroupIdentifiers"), *id;
    if (want && ids) {
        int named = 0;
        cJSON_ArrayForEach(id, ids)
        {
            named |= cJSON_IsString(id) && (strcmp(id->valuestring, GROUP) == 0 ||
                                            strstr(id->valuestring, ":log-group:" GROUP));
        }
        want = named;
    }
    const char *cls = json_string(r->input, "logGroupClass");
    if (want && cls && strcmp(cls, "STANDARD") != 0) want = 0;
    struct first_stream f = {0};
    if (want && group_state(r, &f) != SM_OK) return reply_internal(r);
    cJSON *out = cJSON_CreateObject(), *groups = cJSON_AddArrayToObject(out, "logGroups");
    if (!out || !groups) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    if (want && f.created_ms >= 0) {
        char arn[300], arn_star[310];
        arn_format(arn, sizeof arn, r->region, "logs", r->region, "log-group:" GROUP);
        snprintf(arn_star, sizeof arn_star, "%s:*", arn);
        cJSON *g = cJSON_CreateObject();
        int ok = g && cJSON_AddItemToArray(groups, g) &&
                 cJSON_AddStringToObject(g, "logGroupName", GROUP) &&
                 cJSON_AddNumberToObject(g, "creationTime", (double)f.created_ms) &&
                 cJSON_AddNumberToObject(g, "metricFilterCount", 0) &&
                 cJSON_AddStringToObject(g, "arn", arn_star) &&
                 cJSON_AddNumberToObject(g, "storedBytes", 0) &&
                 cJSON_AddStringToObject(g, "logGroupClass", "STANDARD") &&
                 cJSON_AddStringToObject(g, "logGroupArn", arn);
        if (!ok) {
            cJSON_Delete(out);
            return reply_internal(r);
        }
    }
    return reply_json(r, out);
}

/* ----------------------------------------------------------------------- DescribeLogStreams */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const stream_info *)a)->name, ((const stream_info *)b)->name);
}

static int by_last_event(const void *a, const void *b)
{
    const stream_info *x = a, *y = b;
    if (x->last_ms != y->last_ms) return x->last_ms < y->last_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Whether stream s comes after the token's position in the listing's order. */
static int after_position(const stream_info *s, int by_time, int desc, int64_t pos_ms,
                          const char *pos_name)
{
    int c = by_time && s->last_ms != pos_ms ? (s->last_ms < pos_ms ? -1 : 1)
                                            : strcmp(s->name, pos_name);
    return desc ? c < 0 : c > 0;
}

static int h_describe_log_streams(sm_req *r)
{
    if (check_group(r) != SM_OK) return SM_ERR;
    const char *prefix = json_string(r->input, "logStreamNamePrefix");
    const char *order = json_string(r->input, "orderBy");
    int by_time = order && strcmp(order, "LastEventTime") == 0;
    int desc = json_true(r->input, "descending");
    int limit = (int)json_number(r->input, "limit", 50);
    if (by_time && prefix)
        return reply_error(r, "InvalidParameterException",
                           "Cannot order by LastEventTime with a logStreamNamePrefix.");
    const char *token = json_string(r->input, "nextToken");
    char payload[TOKEN_PAYLOAD_MAX], pos_name[200] = "";
    int64_t pos_ms = 0;
    if (token) {
        char kind[16];
        int n = 0;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "logs:streams:%15[^:]:%" SCNd64 ":%n", kind, &pos_ms, &n) != 2 ||
            strcmp(kind, by_time ? "time" : "name") != 0 || n == 0)
            return reply_error(r, "InvalidParameterException", BAD_TOKEN);
        snprintf(pos_name, sizeof pos_name, "%s", payload + n);
    }
    stream_set set = {0};
    int rc = streams_with_prefix(r, prefix ? prefix : "", &set);
    if (rc != SM_OK) {
        free(set.v);
        return reply_internal(r);
    }
    if (set.n > 1) qsort(set.v, (size_t)set.n, sizeof *set.v, by_time ? by_last_event : by_name);
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "logStreams");
    int ok = out && list, emitted = 0, more = 0;
    const stream_info *last = NULL;
    for (int k = 0; ok && k < set.n; k++) {
        const stream_info *s = &set.v[desc ? set.n - 1 - k : k];
        if (token && !after_position(s, by_time, desc, pos_ms, pos_name)) continue;
        if (emitted == limit) {
            more = 1;
            break;
        }
        char arn[400], res[300];
        snprintf(res, sizeof res, "log-group:%s:log-stream:%s", GROUP, s->name);
        arn_format(arn, sizeof arn, r->region, "logs", r->region, res);
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(list, o) &&
             cJSON_AddStringToObject(o, "logStreamName", s->name) &&
             cJSON_AddNumberToObject(o, "creationTime", (double)s->created_ms) &&
             (s->first_ms < 0 ||
              (cJSON_AddNumberToObject(o, "firstEventTimestamp", (double)s->first_ms) &&
               cJSON_AddNumberToObject(o, "lastEventTimestamp", (double)s->last_ms) &&
               cJSON_AddNumberToObject(o, "lastIngestionTime", (double)s->last_ingest_ms))) &&
             cJSON_AddStringToObject(o, "arn", arn) && cJSON_AddNumberToObject(o, "storedBytes", 0);
        emitted++;
        last = s;
    }
    if (ok && more && last) {
        char next[TOKEN_MAX];
        snprintf(payload, sizeof payload, "logs:streams:%s:%" PRId64 ":%s",
                 by_time ? "time" : "name", by_time ? last->last_ms : 0, last->name);
        ok = tok_encode(payload, next, sizeof next) == SM_OK &&
             cJSON_AddStringToObject(out, "nextToken", next);
    }
    free(set.v);
    if (!ok) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

/* ---------------------------------------------------------------------------- GetLogEvents */

#define POS_DIGITS 56

static void position_token(char *out, size_t outlen, char dir, int pos)
{
    snprintf(out, outlen, "%c/%0*d", dir, POS_DIGITS, pos);
}

/* "f/<56 digits>" or "b/<56 digits>": 0 with *dir and *pos, or SM_EINVAL. */
static int parse_position(const char *t, char *dir, int *pos)
{
    if (strlen(t) != POS_DIGITS + 2 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/')
        return SM_EINVAL;
    long long v = 0;
    for (int i = 2; t[i]; i++) {
        if (t[i] < '0' || t[i] > '9') return SM_EINVAL;
        if (v < 100000000)
            v = v * 10 + (t[i] - '0');
        else
            return SM_EINVAL;
    }
    *dir = t[0];
    *pos = (int)v;
    return SM_OK;
}

static cJSON *event_json(const jl_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddNumberToObject(o, "timestamp", (double)e->timestamp_ms) &&
        cJSON_AddStringToObject(o, "message", e->message) &&
        cJSON_AddNumberToObject(o, "ingestionTime", (double)e->ingestion_ms))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* The log of the job a stream belongs to (borrowed: training_log_shared), with the name of the
 * whole log it was cut from; replies when the stream does not exist. */
static int stream_or_reply(sm_req *r, const char *stream, jl_log *log, const jl_stream **out,
                           int *index, uint64_t *gen)
{
    char job[STORE_NAME_MAX];
    log->nstreams = 0;
    if (!stream_job(stream, job))
        return reply_error(r, "ResourceNotFoundException", STREAM_NOT_FOUND);
    store_job full;
    int rc = store_job_get(r->region, job, &full);
    if (rc == SM_ENOTFOUND) return reply_error(r, "ResourceNotFoundException", STREAM_NOT_FOUND);
    if (rc != SM_OK) return reply_internal(r);
    rc = training_log_shared(&full, r->now_ms, log, gen);
    store_job_clear(&full);
    if (rc != SM_OK) return reply_internal(r);
    for (int i = 0; i < log->nstreams; i++)
        if (strcmp(log->streams[i].name, stream) == 0) {
            *out = &log->streams[i];
            *index = i;
            return SM_OK;
        }
    return reply_error(r, "ResourceNotFoundException", STREAM_NOT_FOUND);
}

/*
 * GetLogEvents answers with JSON text written here rather than a cJSON tree (a page is up to
 * 10,000 events). Each event's object is the text cJSON prints for it, byte for byte, and a
 * stream's events are rendered once per whole log (training_log_shared's gen): each thread
 * keeps the last few renderings, so a page is one copy of a slice of them.
 */
/* One stream's events rendered: event i is text[off[i] .. off[i+1]), "{...}," (with its comma),
 * and its message is len[i] bytes. */
typedef struct rendered {
    uint64_t gen; /* 0: an empty slot */
    int stream, n;
    uint64_t last_use;
    size_t *off;
    int *len;
    strbuf text;
} rendered;

#define RENDER_SLOTS 4
#define RENDER_BYTES (4u << 20) /* renderings kept between requests, per thread */

typedef struct render_cache {
    rendered e[RENDER_SLOTS];
    uint64_t clock;
} render_cache;

static void rendered_clear(rendered *e)
{
    free(e->off);
    free(e->len);
    free(e->text.p);
    memset(e, 0, sizeof *e);
}

static void render_free(void *p)
{
    render_cache *c = p;
    for (int i = 0; c && i < RENDER_SLOTS; i++)
        rendered_clear(&c->e[i]);
    free(c);
}

static tcache render_caches = TCACHE(sizeof(render_cache), render_free);

/* The rendering of the first n events of stream s (index `stream` of the whole log `gen`): a
 * rendering of the whole log's stream serves every n up to its own. NULL when out of memory. */
static const rendered *render(uint64_t gen, int stream, const jl_stream *s)
{
    render_cache *c = tcache_get(&render_caches);
    if (!c) return NULL;
    rendered *victim = &c->e[0];
    for (int i = 0; i < RENDER_SLOTS; i++) {
        rendered *e = &c->e[i];
        if (e->gen == gen && e->stream == stream && e->n >= s->nevents) {
            e->last_use = ++c->clock;
            return e;
        }
        if (!e->gen || (victim->gen && e->last_use < victim->last_use)) victim = e;
    }
    /* A rendering too large to keep is dropped when the next one is made. */
    for (int i = 0; i < RENDER_SLOTS; i++)
        if (c->e[i].gen && c->e[i].text.cap > RENDER_BYTES) rendered_clear(&c->e[i]);
    rendered_clear(victim);
    rendered *e = victim;
    e->off = malloc(((size_t)s->nevents + 1) * sizeof *e->off);
    e->len = malloc(((size_t)s->nevents + 1) * sizeof *e->len);
    if (!e->off || !e->len) {
        rendered_clear(e);
        return NULL;
    }
    for (int i = 0; i < s->nevents; i++) {
        const jl_event *ev = &s->events[i];
        e->off[i] = e->text.len;
        e->len[i] = (int)strlen(ev->message);
        sb_puts(&e->text, "{\"timestamp\":");
        json_put_number(&e->text, (double)ev->timestamp_ms);
        sb_puts(&e->text, ",\"message\":");
        json_put_string(&e->text, ev->message);
        sb_puts(&e->text, ",\"ingestionTime\":");
        json_put_number(&e->text, (double)ev->ingestion_ms);
        sb_puts(&e->text, "},");
    }
    e->off[s->nevents] = e->text.len;
    if (e->text.oom) {
        rendered_clear(e);
        return NULL;
    }
    e->gen = gen;
    e->stream = stream;
    e->n = s->nevents;
    e->last_use = ++c->clock;
    return e;
}

static int h_get_log_events(sm_req *r)
{
    if (check_group(r) != SM_OK) return SM_ERR;
    const char *token = json_string(r->input, "nextToken");
    char dir = 0;
    int pos = 0;
    if (token && parse_position(token, &dir, &pos) != SM_OK)
        return reply_error(r, "InvalidParameterException", BAD_TOKEN);
    jl_log log;
    const jl_stream *s = NULL;
    int index = 0;
    uint64_t gen = 0;
    if (stream_or_reply(r, json_string(r->input, "logStreamName"), &log, &s, &index, &gen) != SM_OK)
        return SM_ERR;
    const rendered *ev = render(gen, index, s);
    if (!ev) return reply_internal(r);
    int64_t start = (int64_t)json_number(r->input, "startTime", -1);
    int64_t end = (int64_t)json_number(r->input, "endTime", -1);
    int limit = (int)json_number(r->input, "limit", MAX_EVENTS_DEFAULT);
    /* The window [lo, hi) of events with start <= timestamp < end. */
    int lo = 0, hi = s->nevents;
    while (lo < hi && start >= 0 && s->events[lo].timestamp_ms < start)
        lo++;
    while (hi > lo && end >= 0 && s->events[hi - 1].timestamp_ms >= end)
        hi--;
    int a, b; /* the events returned: [a, b) */
    if (dir == 'f') {
        a = pos < lo ? lo : pos > hi ? hi : pos;
        b = a + limit < hi ? a + limit : hi;
    } else if (dir == 'b') {
        b = pos > hi ? hi : pos < lo ? lo : pos;
        a = b - limit > lo ? b - limit : lo;
    } else if (json_true(r->input, "startFromHead")) {
        a = lo;
        b = lo + limit < hi ? lo + limit : hi;
    } else {
        b = hi;
        a = hi - limit > lo ? hi - limit : lo;
    }
    size_t bytes = 0;
    int first = a, last = a;
    /* The 1 MB cap keeps the events nearest the direction's start. */
    if (dir == 'b' || (!dir && !json_true(r->input, "startFromHead"))) {
        first = b;
        while (first > a && bytes + (size_t)ev->len[first - 1] + 26 <= MAX_REPLY_BYTES)
            bytes += (size_t)ev->len[--first] + 26;
        last = b;
    } else {
        while (last < b && bytes + (size_t)ev->len[last] + 26 <= MAX_REPLY_BYTES)
            bytes += (size_t)ev->len[last++] + 26;
    }
    char fwd[POS_DIGITS + 3], back[POS_DIGITS + 3];
    if (first == last && token) { /* nothing new: the same token back */
        snprintf(dir == 'f' ? fwd : back, sizeof fwd, "%s", token);
        position_token(dir == 'f' ? back : fwd, sizeof fwd, dir == 'f' ? 'b' : 'f', pos);
    } else {
        position_token(fwd, sizeof fwd, 'f', last);
        position_token(back, sizeof back, 'b', first);
    }
    /* {"events":[...],"nextForwardToken":"...","nextBackwardToken":"..."}, as cJSON prints it */
    size_t slice = ev->off[last] - ev->off[first];
    strbuf out = {0};
    sb_puts(&out, "{\"events\":[");
    if (slice) sb_putn(&out, ev->text.p + ev->off[first], slice - 1); /* less the last comma */
    sb_puts(&out, "],\"nextForwardToken\":");
    json_put_string(&out, fwd);
    sb_puts(&out, ",\"nextBackwardToken\":");
    json_put_string(&out, back);
    sb_putc(&out, '}');
    char *text = sb_take(&out);
    if (!text) return reply_internal(r);
    return reply_json_text(r, text) == SM_OK ? SM_OK : SM_ERR;
}

/* ------------------------------------------------------------------------- FilterLogEvents */

/*
 * Filter patterns for unstructured log events, as CloudWatch Logs reads them: terms separated
 * by spaces must all occur (case-sensitive); "a quoted phrase" is one term; ?term makes the
 * ?-terms alternatives (any of them); -term excludes events holding it; an empty pattern
 * matches everything. JSON ({ $.x = ... }) and space-delimited ([a, b]) patterns are refused
 * with InvalidParameterException, since log lines here are text.
 */
#define MAX_TERMS 32

typedef struct pattern {
    int n;
    char kind[MAX_TERMS]; /* '+' required, '?' alternative, '-' excluded */
    char *term[MAX_TERMS];
    char *buf;
} pattern;

static int pattern_parse(const char *p, pattern *out, const char **why)
{
    memset(out, 0, sizeof *out);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '{' || *p == '[') {
        *why = "sagemock serves term, \"quoted phrase\", ?term and -term filter patterns; JSON "
               "and space-delimited patterns are not supported.";
        return SM_EINVAL;
    }
    out->buf = malloc(strlen(p) + 1);
    if (!out->buf) return SM_ENOMEM;
    char *o = out->buf;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        if (out->n == MAX_TERMS) {
            *why = "The filter pattern has too many terms.";
            return SM_EINVAL;
        }
        char kind = '+';
        if (*p == '?' || *p == '-') kind = *p++;
        char *start = o;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                *o++ = *p++;
            }
            if (*p != '"') {
                *why = "Invalid filter pattern: a quoted phrase is not closed.";
                return SM_EINVAL;
            }
            p++;
        } else {
            while (*p && *p != ' ' && *p != '\t')
                *o++ = *p++;
        }
        *o++ = 0;
        if (!*start) continue;
        out->kind[out->n] = kind;
        out->term[out->n++] = start;
    }
    return SM_OK;
}

static int pattern_match(const pattern *pt, const char *msg)
{
    int alternatives = 0, any = 0;
    for (int i = 0; i < pt->n; i++) {
        int has = strstr(msg, pt->term[i]) != NULL;
        if (pt->kind[i] == '+' && !has) return 0;
        if (pt->kind[i] == '-' && has) return 0;
        if (pt->kind[i] == '?') {
            alternatives = 1;
            any |= has;
        }
    }
    return !alternatives || any;
}

/* One candidate event of the merge over streams. */
typedef struct cursor_ev {
    int stream, index;
} cursor_ev;

static int h_filter_log_events(sm_req *r)
{
    if (check_group(r) != SM_OK) return SM_ERR;
    const cJSON *names = json_array(r->input, "logStreamNames");
    const char *prefix = json_string(r->input, "logStreamNamePrefix");
    if (names && prefix)
        return reply_error(r, "InvalidParameterException",
                           "logStreamNames and logStreamNamePrefix are mutually exclusive "
                           "parameters.");
    pattern pt;
    const char *why = NULL;
    int rc = pattern_parse(
        json_string(r->input, "filterPattern") ? json_string(r->input, "filterPattern") : "", &pt,
        &why);
    if (rc != SM_OK) {
        free(pt.buf);
        return rc == SM_ENOMEM ? reply_internal(r)
                               : reply_error(r, "InvalidParameterException", "%s", why);
    }
    /* The token: the (timestamp, stream name, index) of the next event to return. */
    const char *token = json_string(r->input, "nextToken");
    char payload[TOKEN_PAYLOAD_MAX], tok_stream[200] = "";
    int64_t tok_ms = -1;
    int tok_index = 0;
    if (token) {
        int n = 0;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "logs:filter:%" SCNd64 ":%d:%n", &tok_ms, &tok_index, &n) != 2 ||
            n == 0) {
            free(pt.buf);
            return reply_error(r, "InvalidParameterException", BAD_TOKEN);
        }
        snprintf(tok_stream, sizeof tok_stream, "%s", payload + n);
    }
    /* The streams searched, and their logs (one job's log holds all its streams). */
    stream_set set = {0};
    rc = streams_with_prefix(r, prefix ? prefix : "", &set);
    int nlogs = 0;
    jl_log *logs = NULL;
    const jl_stream **streams = NULL;
    int nstreams = 0;
    if (rc == SM_OK && set.n) {
        logs = calloc((size_t)set.n, sizeof *logs);
        streams = calloc((size_t)set.n, sizeof *streams);
        if (!logs || !streams) rc = SM_ENOMEM;
    }
    if (set.n > 1) qsort(set.v, (size_t)set.n, sizeof *set.v, by_name);
    char cur_job[STORE_NAME_MAX] = "";
    for (int k = 0; rc == SM_OK && k < set.n; k++) {
        if (names) {
            int listed = 0;
            const cJSON *nm;
            cJSON_ArrayForEach(nm, names)
            {
                listed |= cJSON_IsString(nm) && strcmp(nm->valuestring, set.v[k].name) == 0;
            }
            if (!listed) continue;
        }
        char job[STORE_NAME_MAX];
        stream_job(set.v[k].name, job);
        if (strcmp(job, cur_job) != 0) { /* streams come grouped by job (sorted by name) */
            store_job full;
            rc = store_job_get(r->region, job, &full);
            if (rc == SM_ENOTFOUND) {
                rc = SM_OK;
                continue;
            }
            if (rc == SM_OK) rc = training_log(&full, r->now_ms, &logs[nlogs]);
            if (rc == SM_OK) nlogs++;
            store_job_clear(&full);
            snprintf(cur_job, sizeof cur_job, "%s", job);
        }
        for (int i = 0; rc == SM_OK && nlogs && i < logs[nlogs - 1].nstreams; i++)
            if (strcmp(logs[nlogs - 1].streams[i].name, set.v[k].name) == 0)
                streams[nstreams++] = &logs[nlogs - 1].streams[i];
    }
    /* Names given must exist (inferred from GetLogEvents: ResourceNotFoundException). */
    if (rc == SM_OK && names && nstreams < cJSON_GetArraySize(names)) {
        const cJSON *nm;
        cJSON_ArrayForEach(nm, names)
        {
            int found = 0;
            for (int i = 0; i < nstreams; i++)
                found |= strcmp(streams[i]->name, nm->valuestring) == 0;
            if (!found) rc = SM_ENOTFOUND;
        }
    }
    int64_t start = (int64_t)json_number(r->input, "startTime", -1);
    int64_t end = (int64_t)json_number(r->input, "endTime", -1);
    int limit = (int)json_number(r->input, "limit", MAX_EVENTS_DEFAULT);
    cJSON *out = rc == SM_OK ? cJSON_CreateObject() : NULL;
    cJSON *events = out ? cJSON_AddArrayToObject(out, "events") : NULL;
    int ok = rc == SM_OK && out && events;
    /* Merge by (timestamp, stream name, index): each stream's position starts at the token. */
    int *at = ok && nstreams ? calloc((size_t)nstreams, sizeof *at) : NULL;
    if (nstreams && !at) ok = 0;
    for (int i = 0; ok && i < nstreams; i++) {
        const jl_stream *s = streams[i];
        while (at[i] < s->nevents &&
               ((start >= 0 && s->events[at[i]].timestamp_ms < start) ||
                (token && (s->events[at[i]].timestamp_ms < tok_ms ||
                           (s->events[at[i]].timestamp_ms == tok_ms &&
                            (strcmp(s->name, tok_stream) < 0 ||
                             (strcmp(s->name, tok_stream) == 0 && at[i] < tok_index)))))))
            at[i]++;
    }
    int emitted = 0, more = 0;
    size_t bytes = 0;
    while (ok) {
        int best = -1;
        for (int i = 0; i < nstreams; i++) {
            if (at[i] >= streams[i]->nevents) continue;
            if (end >= 0 && streams[i]->events[at[i]].timestamp_ms >= end) continue;
            if (best < 0 || streams[i]->events[at[i]].timestamp_ms <
                                streams[best]->events[at[best]].timestamp_ms)
                best = i; /* streams are in name order: ties keep the first name */
        }
        if (best < 0) break;
        const jl_stream *s = streams[best];
        const jl_event *e = &s->events[at[best]];
        if (!pattern_match(&pt, e->message)) {
            at[best]++;
            continue;
        }
        size_t sz = strlen(e->message) + 26;
        if (emitted == limit || bytes + sz > MAX_REPLY_BYTES) {
            char next[TOKEN_MAX];
            snprintf(payload, sizeof payload, "logs:filter:%" PRId64 ":%d:%s", e->timestamp_ms,
                     at[best], s->name);
            ok = tok_encode(payload, next, sizeof next) == SM_OK &&
                 cJSON_AddStringToObject(out, "nextToken", next);
            more = 1;
            break;
        }
        cJSON *o = event_json(e);
        char id[64];
        /* eventId: 56 digits, unique in the group: the timestamp, then the stream's place
         * and the event's (inferred form). */
        snprintf(id, sizeof id, "%020" PRId64 "%018d%018d", e->timestamp_ms, best, at[best]);
        ok = o && cJSON_AddItemToArray(events, o) &&
             cJSON_AddStringToObject(o, "logStreamName", s->name) &&
             cJSON_AddStringToObject(o, "eventId", id);
        if (!o) break;
        emitted++;
        bytes += sz;
        at[best]++;
    }
    cJSON *searched = ok ? cJSON_AddArrayToObject(out, "searchedLogStreams") : NULL;
    for (int i = 0; ok && searched && i < nstreams; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(searched, o) &&
             cJSON_AddStringToObject(o, "logStreamName", streams[i]->name) &&
             cJSON_AddBoolToObject(o, "searchedCompletely", !more);
    }
    free(at);
    for (int i = 0; i < nlogs; i++)
        jl_free(&logs[i]);
    free(logs);
    free(streams);
    free(set.v);
    free(pt.buf);
    if (rc == SM_ENOTFOUND) return reply_error(r, "ResourceNotFoundException", STREAM_NOT_FOUND);
    if (rc != SM_OK || !ok) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

/* ---------------------------------------------------------------------------- the service */

/* The job a request is about, for faults and the journal: the job of the stream named. */
static const char *subject(const cJSON *input)
{
    return json_string(input, "logStreamName");
}

static const sm_operation ops[] = {
    {"DescribeLogGroups", h_describe_log_groups, 0},
    {"DescribeLogStreams", h_describe_log_streams, 0},
    {"FilterLogEvents", h_filter_log_events, 0},
    {"GetLogEvents", h_get_log_events, 0},
};

const sm_service svc_logs = {
    .id = "logs",
    .title = "CloudWatch Logs",
    .signing_name = "logs",
    .protocols = PROTO_JSON_1_1,
    .target_prefix = "Logs_20140328",
    .validation_code = "InvalidParameterException",
    .model_json = logs_model_json,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
    .subject = subject,
};
