/*
 * service.c: Amazon CloudWatch (metrics) as a service value (core/service.h): the metrics of
 * SageMaker training jobs, namespace /aws/sagemaker/TrainingJobs, through GetMetricStatistics,
 * GetMetricData and ListMetrics.
 *
 * Every protocol CloudWatch's model lists, one behaviour: smithy-rpc-v2-cbor (the model's
 * first choice), awsJson 1.0 (target prefix GraniteServiceVersion20100801) and awsQuery
 * (Version 2010-08-01); signing name "monitoring". The model is awsQueryCompatible: awsJson and
 * CBOR errors carry the awsQuery code in x-amzn-query-error (reply.c).
 *
 * Nothing is stored: the metrics are computed from the training jobs of the caller's region at
 * the request's simulated now (engine/metrics.h):
 *   - algorithm metrics: each MetricDefinitions name, dimension TrainingJobName=<job>, unit
 *     None, one datapoint per value its regex captures in the job's log (algo-1's stream, at
 *     the line's second), so the series is the one the log prints and its last value is the
 *     job's FinalMetricDataList value;
 *   - instance metrics: CPUUtilization, MemoryUtilization, DiskUtilization (and
 *     GPUUtilization, GPUMemoryUtilization on GPU instance types), dimension
 *     Host=<job>/algo-<n>, unit Percent, a datapoint a minute while the host's container runs.
 *
 * CloudWatch's rules, as documented: Period is 1, 5, 10, 20, 30, 60 or a multiple of 60;
 * StartTime is inclusive and rounded down (to the period under a minute; else to the minute,
 * 5 minutes or the hour by its age), EndTime exclusive; a query starting more than 3 hours
 * (15, 63 days) ago with a period that is not a multiple of 60 (300, 3600) seconds gets no
 * datapoints; GetMetricStatistics returns at most 1,440 datapoints, needs the metric's exact
 * dimensions, and a Unit other than the metric's gives no datapoints; ListMetrics lists
 * metrics with a datapoint in the past two weeks (three hours with RecentlyActive=PT3H), 500 a
 * page. Percentiles are nearest-rank over a period's values. Texts the service's documentation
 * does not give are marked "inferred".
 */
#include "cloudwatch.h"
#include "config.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "metrics.h"
#include "reply.h"
#include "service.h"
#include "store.h"
#include "tcache.h"
#include "strbuf.h"
#include "token.h"
#include "training_log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char cloudwatch_model_json[];

#define DIM_JOB "TrainingJobName"
#define DIM_HOST "Host"
#define UNIT_ALGORITHM "None"
#define UNIT_INSTANCE "Percent"
#define GMS_MAX_POINTS 1440
#define GMD_MAX_QUERIES 500
#define GMD_DEFAULT_MAX 100800
#define LIST_PAGE 500
#define DAY_MS (86400 * (int64_t)1000)
#define LISTED_MS (14 * DAY_MS)              /* ListMetrics: data in the past two weeks */
#define RECENT_MS (3 * 3600 * (int64_t)1000) /* RecentlyActive=PT3H */
#define ALGORITHM (-1)                       /* cw_metric.kind of an algorithm metric */

/* ------------------------------------------------------------------------ a job's metrics */

typedef struct cw_metric {
    char name[256];
    int kind; /* ALGORITHM, or an mx_kind */
    int host; /* instance metrics: 1-based */
    char dim_value[STORE_NAME_MAX + 24];
    mx_series pts;
} cw_metric;

typedef struct cw_set {
    cw_metric *v;
    int n, cap;
} cw_set;

static void set_free(cw_set *s)
{
    for (int i = 0; i < s->n; i++)
        mx_series_free(&s->v[i].pts);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static const char *dim_name(const cw_metric *m)
{
    return m->kind == ALGORITHM ? DIM_JOB : DIM_HOST;
}

static const char *unit_of(const cw_metric *m)
{
    return m->kind == ALGORITHM ? UNIT_ALGORITHM : UNIT_INSTANCE;
}

static cw_metric *add_metric(cw_set *s, const char *name, int kind, int host, const char *job)
{
    for (int i = 0; kind == ALGORITHM && i < s->n; i++) /* a repeated definition name */
        if (s->v[i].kind == ALGORITHM && strcmp(s->v[i].name, name) == 0) return &s->v[i];
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        cw_metric *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return NULL;
        s->v = v;
        s->cap = cap;
    }
    cw_metric *m = &s->v[s->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->kind = kind;
    m->host = host;
    if (kind == ALGORITHM)
        snprintf(m->dim_value, sizeof m->dim_value, "%s", job);
    else
        snprintf(m->dim_value, sizeof m->dim_value, "%s/algo-%d", job, host);
    return m;
}

static int by_time(const void *a, const void *b)
{
    const mx_point *x = a, *y = b;
    return x->t_ms < y->t_ms ? -1 : x->t_ms > y->t_ms;
}

/* The hosts of a job and their instance types: algo-1.. over the instance groups in order, as
 * the log engine numbers them (training_log.c). */
typedef struct job_hosts {
    int n;
    const char *type[JL_MAX_HOSTS];
} job_hosts;

static void hosts_of(const cJSON *req, job_hosts *h)
{
    const cJSON *rc = json_object(req, "ResourceConfig"), *g;
    const cJSON *groups = json_array(rc, "InstanceGroups");
    h->n = 0;
    if (groups && cJSON_GetArraySize(groups) > 0) {
        cJSON_ArrayForEach(g, groups)
        {
            int count = (int)json_number(g, "InstanceCount", 0);
            for (int i = 0; i < count && h->n < JL_MAX_HOSTS; i++)
                h->type[h->n++] = json_string(g, "InstanceType");
        }
    } else {
        int count = (int)json_number(rc, "InstanceCount", 1);
        for (int i = 0; i < count && h->n < JL_MAX_HOSTS; i++)
            h->type[h->n++] = json_string(rc, "InstanceType");
    }
    if (h->n == 0) h->type[h->n++] = json_string(rc, "InstanceType");
}

/*
 * An algorithm metric's series is read off the job's whole log (training_log_shared), which
 * every view of that version of the job shares: each thread keeps the series it scanned, keyed
 * by the whole log and the regex, and takes the points of the events visible at now (a log at
 * an earlier now is a prefix of a later one). Events visible later are scanned when asked for.
 */
typedef struct cached_series {
    uint64_t gen; /* the whole log (0: an empty slot) */
    char *regex;
    mx_scanner *sc; /* NULL: the regex does not compile (no points) */
    int scanned;    /* events of the stream scanned */
    mx_series pts;
    uint64_t last_use;
} cached_series;

#define SERIES_SLOTS 16

typedef struct series_cache {
    cached_series e[SERIES_SLOTS];
    uint64_t clock;
} series_cache;

static void series_clear(cached_series *e)
{
    free(e->regex);
    mx_scanner_free(e->sc);
    mx_series_free(&e->pts);
    memset(e, 0, sizeof *e);
}

static void series_free(void *p)
{
    series_cache *c = p;
    for (int i = 0; c && i < SERIES_SLOTS; i++)
        series_clear(&c->e[i]);
    free(c);
}

static tcache series_caches = TCACHE(sizeof(series_cache), series_free);

/* Append to out the points `regex` captures in stream s (NULL: none), the first events of the
 * stream `gen` names. 0 or SM_ENOMEM. */
static int scan_cached(uint64_t gen, const jl_stream *s, const char *regex, mx_series *out)
{
    if (!s) return SM_OK;
    series_cache *c = tcache_get(&series_caches);
    if (!c) return SM_ENOMEM;
    cached_series *e = NULL, *victim = &c->e[0];
    for (int i = 0; i < SERIES_SLOTS && !e; i++) {
        cached_series *x = &c->e[i];
        if (x->gen == gen && strcmp(x->regex, regex) == 0) e = x;
        if (!x->gen || (victim->gen && x->last_use < victim->last_use)) victim = x;
    }
    if (!e) {
        e = victim;
        series_clear(e);
        if (!(e->regex = strdup(regex))) return SM_ENOMEM;
        int rc = mx_scanner_new(regex, &e->sc);
        if (rc == SM_ENOMEM) {
            series_clear(e);
            return rc;
        }
        e->gen = gen;
    }
    e->last_use = ++c->clock;
    if (e->sc && e->scanned < s->nevents) {
        if (mx_scanner_run(e->sc, s, e->scanned, &e->pts) != SM_OK) {
            series_clear(e);
            return SM_ENOMEM;
        }
        e->scanned = s->nevents;
    }
    for (int i = 0; i < e->pts.n && e->pts.p[i].ev < s->nevents; i++) {
        if (out->n == out->cap) {
            int cap = out->cap ? out->cap * 2 : 32;
            mx_point *p = realloc(out->p, (size_t)cap * sizeof *p);
            if (!p) return SM_ENOMEM;
            out->p = p;
            out->cap = cap;
        }
        out->p[out->n++] = e->pts.p[i];
    }
    return SM_OK;
}

/* Which metrics of a job a request reads: one by name and dimension (name NULL: every one). */
typedef struct cw_want {
    const char *name;
    int kind; /* ALGORITHM, or an mx_kind */
    int host; /* instance metrics: 1-based */
} cw_want;

static int wanted(const cw_want *w, const char *name, int kind, int host)
{
    return !w || !w->name ||
           (w->kind == kind && strcmp(w->name, name) == 0 &&
            (kind == ALGORITHM || w->host == host));
}

/* The metrics of `job` at now (with or without points) that `w` asks for (NULL: every one),
 * algorithm metrics first. 0, SM_ENOMEM, or SM_EINVAL for a damaged row. */
static int job_metrics(const store_job *job, int64_t now, const cw_want *w, cw_set *out)
{
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    if (!req) return SM_EINVAL;
    int rc = SM_OK, repeated = 0;
    const cJSON *defs = json_array(json_object(req, "AlgorithmSpecification"), "MetricDefinitions"),
                *d;
    int any = 0;
    cJSON_ArrayForEach(d, defs)
    {
        const char *name = json_string(d, "Name");
        any |= name && json_string(d, "Regex") && wanted(w, name, ALGORITHM, 0);
    }
    if (any) {
        jl_log log;
        uint64_t gen;
        rc = training_log_shared(job, now, &log, &gen);
        if (rc == SM_OK) {
            const jl_stream *s = log.nstreams ? &log.streams[0] : NULL;
            cJSON_ArrayForEach(d, defs)
            {
                const char *name = json_string(d, "Name"), *regex = json_string(d, "Regex");
                if (!name || !regex || !wanted(w, name, ALGORITHM, 0)) continue;
                int before = out->n;
                cw_metric *m = add_metric(out, name, ALGORITHM, 0, job->name);
                if (!m) {
                    rc = SM_ENOMEM;
                    break;
                }
                repeated |= out->n == before;
                if (scan_cached(gen, s, regex, &m->pts) == SM_ENOMEM) {
                    rc = SM_ENOMEM;
                    break;
                }
            }
        }
    }
    for (int i = 0; rc == SM_OK && repeated && i < out->n; i++)
        if (out->v[i].kind == ALGORITHM && out->v[i].pts.n > 1)
            qsort(out->v[i].pts.p, (size_t)out->v[i].pts.n, sizeof(mx_point), by_time);
    int instances = !w || !w->name || w->kind != ALGORITHM;
    jobs_ctx *c = rc == SM_OK && instances ? jobs_ctx_new() : NULL;
    if (rc == SM_OK && instances && !c) rc = SM_ENOMEM;
    if (rc == SM_OK && c) rc = jobs_eval(job, now, c);
    if (rc == SM_OK && c) {
        job_hosts h;
        hosts_of(req, &h);
        for (int host = 1; rc == SM_OK && host <= h.n; host++)
            for (int k = 0; rc == SM_OK && k < MX_NKINDS; k++) {
                if (!mx_kind_applies((mx_kind)k, h.type[host - 1])) continue;
                if (!wanted(w, mx_kind_name((mx_kind)k), k, host)) continue;
                cw_metric *m = add_metric(out, mx_kind_name((mx_kind)k), k, host, job->name);
                rc = m ? mx_instance_points(job->name, host, h.type[host - 1], &c->view, now,
                                            (mx_kind)k, &m->pts)
                       : SM_ENOMEM;
            }
    }
    jobs_ctx_free(c);
    cJSON_Delete(req);
    return rc;
}

/* The metrics a request reads, each computed once per request. */
typedef struct job_cache {
    struct {
        char name[STORE_NAME_MAX]; /* the job */
        char metric[256];
        int kind, host;
        int found;
        cw_set set;
    } * v;
    int n, cap;
    int64_t now;
} job_cache;

static void cache_free(job_cache *c)
{
    for (int i = 0; i < c->n; i++)
        set_free(&c->v[i].set);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* The metric `w` of job `name` of the region (*set NULL when there is no such job). */
static int cache_get(job_cache *c, const char *region, const char *name, const cw_want *w,
                     const cw_set **set)
{
    *set = NULL;
    if (strlen(name) >= STORE_NAME_MAX || strlen(w->name) >= sizeof c->v->metric) return SM_OK;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0 && strcmp(c->v[i].metric, w->name) == 0 &&
            c->v[i].kind == w->kind && c->v[i].host == w->host) {
            *set = c->v[i].found ? &c->v[i].set : NULL;
            return SM_OK;
        }
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 4;
        void *v = realloc(c->v, (size_t)cap * sizeof *c->v);
        if (!v) return SM_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    memset(&c->v[c->n], 0, sizeof c->v[c->n]);
    snprintf(c->v[c->n].name, sizeof c->v[c->n].name, "%s", name);
    snprintf(c->v[c->n].metric, sizeof c->v[c->n].metric, "%s", w->name);
    c->v[c->n].kind = w->kind;
    c->v[c->n].host = w->host;
    store_job job;
    int rc = store_job_get(region, name, &job);
    if (rc == SM_ENOTFOUND) {
        c->n++;
        return SM_OK;
    }
    if (rc != SM_OK) return rc;
    rc = job_metrics(&job, c->now, w, &c->v[c->n].set);
    store_job_clear(&job);
    if (rc != SM_OK) {
        set_free(&c->v[c->n].set);
        return rc;
    }
    c->v[c->n].found = 1;
    *set = &c->v[c->n++].set;
    return SM_OK;
}

/* The metric a query names (Namespace, MetricName, exactly its Dimensions), or NULL when no
 * such metric exists. */
static int find_metric(job_cache *c, const char *region, const char *ns, const char *name,
                       const cJSON *dims, const cw_metric **out)
{
    *out = NULL;
    if (!ns || !name || strcmp(ns, MX_NAMESPACE) != 0 || cJSON_GetArraySize(dims) != 1)
        return SM_OK;
    const cJSON *d = cJSON_GetArrayItem(dims, 0);
    const char *dn = json_string(d, "Name"), *dv = json_string(d, "Value");
    if (!dn || !dv) return SM_OK;
    char job[STORE_NAME_MAX];
    int host = 0;
    if (strcmp(dn, DIM_JOB) == 0) {
        if (strlen(dv) >= sizeof job) return SM_OK;
        snprintf(job, sizeof job, "%s", dv);
    } else if (strcmp(dn, DIM_HOST) == 0) {
        const char *slash = strrchr(dv, '/');
        char tail;
        if (!slash || (size_t)(slash - dv) >= sizeof job ||
            sscanf(slash, "/algo-%d%c", &host, &tail) != 1 || host < 1)
            return SM_OK;
        memcpy(job, dv, (size_t)(slash - dv));
        job[slash - dv] = 0;
    } else {
        return SM_OK;
    }
    cw_want w = {name, host ? mx_kind_of(name) : ALGORITHM, host};
    if (host && w.kind < 0) return SM_OK; /* no instance metric of that name */
    const cw_set *set;
    int rc = cache_get(c, region, job, &w, &set);
    for (int i = 0; rc == SM_OK && set && i < set->n; i++) {
        const cw_metric *m = &set->v[i];
        if (strcmp(m->name, name) == 0 && strcmp(dim_name(m), dn) == 0 &&
            strcmp(m->dim_value, dv) == 0) {
            *out = m;
            break;
        }
    }
    return rc;
}

/* ------------------------------------------------------------------------------ helpers */

/* A timestamp member (epoch seconds: a number, or a numeric string) in milliseconds. */
static int time_ms(const cJSON *in, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
    double s;
    if (cJSON_IsNumber(v)) {
        s = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        char *end;
        s = strtod(v->valuestring, &end);
        if (end == v->valuestring || *end) return 0;
    } else {
        return 0;
    }
    if (!isfinite(s) || fabs(s) > 1e14) return 0;
    *out = llround(s * 1000.0);
    return 1;
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* A hash of the request without its NextToken: a token is only good for the query it came
 * from. 0 when out of memory (then no token matches). */
static uint64_t query_hash(const cJSON *input)
{
    cJSON *copy = cJSON_Duplicate(input, 1);
    if (!copy) return 0;
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "NextToken");
    char *text = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    uint64_t h = text ? fnv64(text) : 0;
    free(text);
    return h;
}

/* Aggregate a metric's points for a query; `pts` NULL gives no buckets. */
static int buckets_for(const mx_series *pts, int64_t start, int64_t end, int64_t period_s,
                       int64_t now, mx_buckets *out)
{
    memset(out, 0, sizeof *out);
    if (!pts || !mx_period_retained(start, now, period_s)) return SM_OK;
    return mx_aggregate(pts->p, pts->n, mx_round_start(start, now, period_s), end, period_s * 1000,
                        out);
}

/* ----------------------------------------------------------------------- GetMetricStatistics */

static const char *const basic_stats[] = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};

static int h_get_metric_statistics(sm_req *r)
{
    if (training_jobs_up_to_date(r->now_ms) != SM_OK) return reply_internal(r);
    const cJSON *in = r->input;
    int64_t start, end;
    int64_t period = (int64_t)json_number(in, "Period", 0);
    const cJSON *stats = json_array(in, "Statistics"), *ext = json_array(in, "ExtendedStatistics");
    const char *unit = json_string(in, "Unit"), *name = json_string(in, "MetricName");
    if (!time_ms(in, "StartTime", &start) || !time_ms(in, "EndTime", &end))
        return reply_error(
            r, "InvalidParameterValue",
            "The parameters StartTime and EndTime must be timestamps."); /* inferred */
    if (!mx_period_valid(period))
        return reply_error(r, "InvalidParameterValue",
                           "The parameter Period must be 1, 5, 10, 20, 30, 60 or a multiple of "
                           "60."); /* inferred */
    if (!stats && !ext)
        return reply_error(r, "MissingParameter",
                           "At least one of the parameters Statistics and ExtendedStatistics "
                           "must be specified."); /* inferred */
    if (stats && ext)
        return reply_error(r, "InvalidParameterCombination",
                           "The parameters Statistics and ExtendedStatistics are mutually "
                           "exclusive."); /* inferred */
    const cJSON *e;
    cJSON_ArrayForEach(e, ext)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] != 'p' || !mx_stat_valid(e->valuestring))
            return reply_error(r, "InvalidParameterValue",
                               "The value %s for parameter ExtendedStatistics is not supported: "
                               "sagemock computes percentiles, p0.0 to p100.", /* inferred */
                               cJSON_IsString(e) ? e->valuestring : "(not a string)");
    }
    if (start >= end)
        return reply_error(
            r, "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime."); /* inferred */
    int64_t first = mx_round_start(start, r->now_ms, period);
    int64_t want = (end - first + period * 1000 - 1) / (period * 1000);
    if (want > GMS_MAX_POINTS)
        return reply_error(r, "InvalidParameterCombination",
                           "You have requested up to %" PRId64 " datapoints, which exceeds the "
                           "limit of %d. You may reduce the datapoints requested by increasing "
                           "Period, or decreasing the time range.",
                           want, GMS_MAX_POINTS);

    job_cache cache = {.now = r->now_ms};
    const cw_metric *m = NULL;
    int rc = find_metric(&cache, r->region, json_string(in, "Namespace"), name,
                         json_array(in, "Dimensions"), &m);
    if (rc != SM_OK) {
        cache_free(&cache);
        return reply_internal(r);
    }
    if (m && unit && strcmp(unit, unit_of(m)) != 0) m = NULL;
    mx_buckets b;
    rc = buckets_for(m ? &m->pts : NULL, start, end, period, r->now_ms, &b);
    /* Written as text (the bytes a cJSON tree would print): a day of minutes is 1,440
     * datapoints, and their numbers are most of the work. */
    strbuf out = {0};
    char t[32];
    sb_puts(&out, "{\"Datapoints\":[");
    for (int i = 0; rc == SM_OK && i < b.n; i++) {
        reply_time_text(b.b[i].t_ms, t);
        sb_puts(&out, i ? ",{\"Timestamp\":" : "{\"Timestamp\":");
        sb_puts(&out, t);
        for (size_t k = 0; k < sizeof basic_stats / sizeof basic_stats[0]; k++) {
            int asked = 0;
            cJSON_ArrayForEach(e, stats)
            {
                asked |= cJSON_IsString(e) && strcmp(e->valuestring, basic_stats[k]) == 0;
            }
            double v;
            if (asked && mx_stat(&b.b[i], basic_stats[k], &v)) {
                sb_putc(&out, ',');
                json_put_string(&out, basic_stats[k]);
                sb_putc(&out, ':');
                json_put_number(&out, v);
            }
        }
        sb_puts(&out, ",\"Unit\":");
        json_put_string(&out, unit_of(m));
        if (ext) {
            sb_puts(&out, ",\"ExtendedStatistics\":{");
            int none_yet = 1;
            cJSON_ArrayForEach(e, ext)
            {
                double v;
                int seen = 0; /* a statistic asked twice is printed once */
                for (const cJSON *f = ext->child; f != e && !seen; f = f->next)
                    seen = strcmp(f->valuestring, e->valuestring) == 0 &&
                           mx_stat(&b.b[i], f->valuestring, &v);
                if (!seen && mx_stat(&b.b[i], e->valuestring, &v)) {
                    if (!none_yet) sb_putc(&out, ',');
                    none_yet = 0;
                    json_put_string(&out, e->valuestring);
                    sb_putc(&out, ':');
                    json_put_number(&out, v);
                }
            }
            sb_putc(&out, '}');
        }
        sb_putc(&out, '}');
    }
    sb_puts(&out, "],\"Label\":");
    json_put_string(&out, name ? name : "");
    sb_putc(&out, '}');
    mx_buckets_free(&b);
    cache_free(&cache);
    char *text = sb_take(&out);
    if (rc != SM_OK || !text) {
        free(text);
        return reply_internal(r);
    }
    return reply_json_text(r, text);
}

/* --------------------------------------------------------------------------- GetMetricData */

/* One MetricStat query's result: its datapoints in scan order. */
typedef struct gmd_result {
    const cJSON *q;
    const char *label;
    int n;
    int64_t *t;
    double *v;
} gmd_result;

static int valid_id(const char *id)
{
    if (!id || !(id[0] >= 'a' && id[0] <= 'z')) return 0;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    return 1;
}

/* Check every query; replies and returns SM_ERR when one is refused. */
static int check_queries(sm_req *r, const cJSON *queries)
{
    int n = cJSON_GetArraySize(queries), i = 0;
    if (n == 0)
        return reply_error(
            r, "InvalidParameterValue",
            "The parameter MetricDataQueries must contain at least one query."); /* inferred */
    if (n > GMD_MAX_QUERIES)
        return reply_error(r, "InvalidParameterValue",
                           "The collection MetricDataQueries must not have a size greater than "
                           "%d.", /* inferred */
                           GMD_MAX_QUERIES);
    const cJSON *q;
    cJSON_ArrayForEach(q, queries)
    {
        i++;
        const char *id = json_string(q, "Id");
        if (!valid_id(id))
            return reply_error(r, "InvalidParameterValue",
                               "The value %s for parameter MetricDataQueries.member.%d.Id is not "
                               "valid: an Id starts with a lowercase letter and holds only "
                               "letters, numbers and underscores.", /* inferred */
                               id ? id : "(none)", i);
        const cJSON *o;
        int k = 0;
        cJSON_ArrayForEach(o, queries)
        {
            if (++k >= i) break;
            const char *other = json_string(o, "Id");
            if (other && strcmp(other, id) == 0)
                return reply_error(r, "InvalidParameterValue",
                                   "The value %s for parameter MetricDataQueries.member.%d.Id is "
                                   "not unique.", /* inferred */
                                   id, i);
        }
        const cJSON *stat = json_object(q, "MetricStat");
        const char *expr = json_string(q, "Expression");
        if ((stat != NULL) == (expr != NULL))
            return reply_error(r, "InvalidParameterCombination",
                               "Exactly one of MetricStat and Expression must be specified in "
                               "MetricDataQueries.member.%d.", /* inferred */
                               i);
        if (expr)
            return reply_error(r, "InvalidParameterValue",
                               "The value %s for parameter MetricDataQueries.member.%d.Expression "
                               "is not supported: sagemock evaluates MetricStat queries, not "
                               "metric math or Metrics Insights expressions.",
                               expr, i);
        int64_t period = (int64_t)json_number(stat, "Period", 0);
        if (!mx_period_valid(period))
            return reply_error(r, "InvalidParameterValue",
                               "The parameter MetricDataQueries.member.%d.MetricStat.Period must "
                               "be 1, 5, 10, 20, 30, 60 or a multiple of 60.", /* inferred */
                               i);
        const char *s = json_string(stat, "Stat");
        if (!mx_stat_valid(s))
            return reply_error(
                r, "InvalidParameterValue",
                "The value %s for parameter MetricDataQueries.member.%d.MetricStat."
                "Stat is not supported: sagemock computes SampleCount, Average, "
                "Sum, Minimum, Maximum and percentiles (p0.0 to p100).", /* inferred */
                s ? s : "(none)", i);
    }
    return SM_OK;
}

static void results_free(gmd_result *res, int n)
{
    for (int i = 0; res && i < n; i++) {
        free(res[i].t);
        free(res[i].v);
    }
    free(res);
}

static int run_query(sm_req *r, job_cache *cache, const cJSON *q, int64_t start, int64_t end,
                     int descending, gmd_result *res)
{
    const cJSON *stat = json_object(q, "MetricStat"), *metric = json_object(stat, "Metric");
    const char *unit = json_string(stat, "Unit"), *s = json_string(stat, "Stat");
    int64_t period = (int64_t)json_number(stat, "Period", 60);
    res->q = q;
    res->label = json_string(q, "Label");
    if (!res->label) res->label = json_string(metric, "MetricName");
    if (!res->label) res->label = json_string(q, "Id");
    const cw_metric *m = NULL;
    int rc = find_metric(cache, r->region, json_string(metric, "Namespace"),
                         json_string(metric, "MetricName"), json_array(metric, "Dimensions"), &m);
    if (rc != SM_OK) return rc;
    if (m && unit && strcmp(unit, unit_of(m)) != 0) m = NULL;
    mx_buckets b;
    rc = buckets_for(m ? &m->pts : NULL, start, end, period, cache->now, &b);
    if (rc != SM_OK) return rc;
    if (b.n) {
        res->t = malloc((size_t)b.n * sizeof *res->t);
        res->v = malloc((size_t)b.n * sizeof *res->v);
        if (!res->t || !res->v) rc = SM_ENOMEM;
    }
    for (int i = 0; rc == SM_OK && i < b.n; i++) {
        const mx_bucket *k = &b.b[descending ? b.n - 1 - i : i];
        double v;
        if (!mx_stat(k, s, &v)) continue;
        res->t[res->n] = k->t_ms;
        res->v[res->n++] = v;
    }
    mx_buckets_free(&b);
    return rc;
}

static int h_get_metric_data(sm_req *r)
{
    if (training_jobs_up_to_date(r->now_ms) != SM_OK) return reply_internal(r);
    const cJSON *in = r->input, *queries = json_array(in, "MetricDataQueries"), *q;
    int64_t start, end;
    if (!time_ms(in, "StartTime", &start) || !time_ms(in, "EndTime", &end))
        return reply_error(
            r, "InvalidParameterValue",
            "The parameters StartTime and EndTime must be timestamps."); /* inferred */
    if (check_queries(r, queries) != SM_OK) return SM_ERR;
    if (start >= end)
        return reply_error(
            r, "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime."); /* inferred */
    double maxdp = json_number(in, "MaxDatapoints", GMD_DEFAULT_MAX);
    if (maxdp < 1)
        return reply_error(r, "InvalidParameterValue",
                           "The parameter MaxDatapoints must be greater than 0."); /* inferred */
    const char *scan = json_string(in, "ScanBy");
    int descending = !scan || strcmp(scan, "TimestampAscending") != 0;
    /* The token: the first page's now (later pages show the data as it was then) and the
     * number of datapoints already returned. */
    const char *token = json_string(in, "NextToken");
    uint64_t hash = query_hash(in);
    int64_t now = r->now_ms, offset = 0;
    if (token) {
        char payload[TOKEN_PAYLOAD_MAX];
        uint64_t h = 0;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "cw:gmd:%" SCNd64 ":%" SCNd64 ":%" SCNx64, &now, &offset, &h) != 3 ||
            h != hash || offset < 0 || now > r->now_ms)
            return reply_error(r, "InvalidNextToken",
                               "The specified NextToken is not valid."); /* inferred */
    }
    int nq = cJSON_GetArraySize(queries), nres = 0;
    gmd_result *res = calloc((size_t)nq, sizeof *res);
    job_cache cache = {.now = now};
    int rc = res ? SM_OK : SM_ENOMEM;
    cJSON_ArrayForEach(q, queries)
    {
        if (rc != SM_OK) break;
        const cJSON *rd = cJSON_GetObjectItemCaseSensitive(q, "ReturnData");
        if (cJSON_IsFalse(rd)) continue;
        rc = run_query(r, &cache, q, start, end, descending, &res[nres++]);
    }
    cache_free(&cache);
    cJSON *out = rc == SM_OK ? cJSON_CreateObject() : NULL;
    cJSON *results = out ? cJSON_AddArrayToObject(out, "MetricDataResults") : NULL;
    int ok = out && results;
    int64_t budget = (int64_t)maxdp, skip = offset, given = 0, total = 0;
    for (int i = 0; ok && i < nres; i++) {
        gmd_result *x = &res[i];
        total += x->n;
        int64_t from = skip < x->n ? skip : x->n;
        skip -= from;
        int64_t take = x->n - from < budget ? x->n - from : budget;
        budget -= take;
        given += take;
        cJSON *o = cJSON_CreateObject(), *ts = NULL, *vs = NULL;
        ok = o && cJSON_AddItemToArray(results, o) &&
             cJSON_AddStringToObject(o, "Id", json_string(x->q, "Id")) &&
             cJSON_AddStringToObject(o, "Label", x->label ? x->label : "") &&
             (ts = cJSON_AddArrayToObject(o, "Timestamps")) &&
             (vs = cJSON_AddArrayToObject(o, "Values")) &&
             cJSON_AddStringToObject(o, "StatusCode",
                                     from + take < x->n ? "PartialData" : "Complete");
        for (int64_t k = from; ok && k < from + take; k++)
            ok = cJSON_AddItemToArray(ts, reply_time(x->t[k])) &&
                 cJSON_AddItemToArray(vs, cJSON_CreateNumber(x->v[k]));
    }
    ok = ok && cJSON_AddArrayToObject(out, "Messages");
    if (ok && offset + given < total) {
        char payload[TOKEN_PAYLOAD_MAX], next[TOKEN_MAX];
        snprintf(payload, sizeof payload, "cw:gmd:%" PRId64 ":%" PRId64 ":%" PRIx64, now,
                 offset + given, hash);
        ok = tok_encode(payload, next, sizeof next) == SM_OK &&
             cJSON_AddStringToObject(out, "NextToken", next);
    }
    results_free(res, nres);
    if (!ok) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

/* ----------------------------------------------------------------------------- ListMetrics */

/* A metric as ListMetrics shows it, with its sort key. */
typedef struct listed {
    char key[STORE_NAME_MAX + 300]; /* "<name>\n<dimension name>\n<dimension value>" */
    const char *dim;
    char value[STORE_NAME_MAX + 24];
} listed;

typedef struct list_ctx {
    const char *region;
    int64_t now, since;
    const char *name;
    const cJSON *filters;
    listed *v;
    int n, cap, rc;
    store_cursor cur; /* the last job visited */
} list_ctx;

static int filters_match(const cJSON *filters, const char *dim, const char *value)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        const char *fn = json_string(f, "Name"), *fv = json_string(f, "Value");
        if (!fn || strcmp(fn, dim) != 0 || (fv && strcmp(fv, value) != 0)) return 0;
    }
    return 1;
}

static int collect_job(list_ctx *l, const store_job *job)
{
    cw_set set = {0};
    int rc = job_metrics(job, l->now, NULL, &set);
    if (rc == SM_EINVAL) rc = SM_OK; /* a damaged row lists nothing */
    for (int i = 0; rc == SM_OK && i < set.n; i++) {
        const cw_metric *m = &set.v[i];
        if (m->pts.n == 0 || m->pts.p[m->pts.n - 1].t_ms < l->since) continue;
        if (l->name && strcmp(l->name, m->name) != 0) continue;
        if (!filters_match(l->filters, dim_name(m), m->dim_value)) continue;
        if (l->n == l->cap) {
            int cap = l->cap ? l->cap * 2 : 64;
            listed *v = realloc(l->v, (size_t)cap * sizeof *v);
            if (!v) {
                rc = SM_ENOMEM;
                break;
            }
            l->v = v;
            l->cap = cap;
        }
        listed *o = &l->v[l->n++];
        o->dim = dim_name(m);
        snprintf(o->value, sizeof o->value, "%s", m->dim_value);
        snprintf(o->key, sizeof o->key, "%s\n%s\n%s", m->name, o->dim, o->value);
    }
    set_free(&set);
    return rc;
}

/* store_list's callback: rows come without their request; load each whole. */
static int list_row(store_job *row, void *arg)
{
    list_ctx *l = arg;
    l->cur.valid = 1;
    snprintf(l->cur.key, sizeof l->cur.key, "%s", row->name);
    l->cur.id = row->id;
    l->cur.created_ms = row->created_ms;
    store_job full;
    int rc = store_job_get(l->region, row->name, &full);
    if (rc == SM_ENOTFOUND) return 0;
    if (rc == SM_OK) {
        rc = collect_job(l, &full);
        store_job_clear(&full);
    }
    l->rc = rc;
    return rc != SM_OK;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->key, ((const listed *)b)->key);
}

/* The job a dimension filter names (TrainingJobName=X or Host=X/algo-N), when one does. */
static int filtered_job(const cJSON *filters, char job[STORE_NAME_MAX])
{
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        const char *fn = json_string(f, "Name"), *fv = json_string(f, "Value");
        if (!fn || !fv) continue;
        const char *end = strcmp(fn, DIM_JOB) == 0    ? fv + strlen(fv)
                          : strcmp(fn, DIM_HOST) == 0 ? strrchr(fv, '/')
                                                      : NULL;
        if (!end || (size_t)(end - fv) >= STORE_NAME_MAX) continue;
        memcpy(job, fv, (size_t)(end - fv));
        job[end - fv] = 0;
        return 1;
    }
    return 0;
}

static int h_list_metrics(sm_req *r)
{
    if (training_jobs_up_to_date(r->now_ms) != SM_OK) return reply_internal(r);
    const cJSON *in = r->input;
    const char *ns = json_string(in, "Namespace"), *owner = json_string(in, "OwningAccount");
    const char *recent = json_string(in, "RecentlyActive"), *token = json_string(in, "NextToken");
    int linked = json_true(in, "IncludeLinkedAccounts");
    uint64_t hash = query_hash(in);
    char after[sizeof((listed *)0)->key] = "";
    if (token) {
        char payload[TOKEN_PAYLOAD_MAX];
        uint64_t h = 0;
        int n = 0;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "cw:lm:%" SCNx64 ":%n", &h, &n) != 1 || n == 0 || h != hash)
            return reply_error(r, "InvalidParameterValue",
                               "The value for parameter NextToken is not valid."); /* inferred */
        snprintf(after, sizeof after, "%s", payload + n);
    }
    list_ctx l = {.region = r->region,
                  .now = r->now_ms,
                  .since = r->now_ms - (recent ? RECENT_MS : LISTED_MS),
                  .name = json_string(in, "MetricName"),
                  .filters = json_array(in, "Dimensions")};
    int rc = SM_OK;
    int wanted =
        (!ns || strcmp(ns, MX_NAMESPACE) == 0) && (!owner || strcmp(owner, cfg.account_id) == 0);
    char job[STORE_NAME_MAX];
    if (wanted && filtered_job(l.filters, job)) {
        store_job full;
        rc = store_job_get(r->region, job, &full);
        if (rc == SM_OK) {
            rc = collect_job(&l, &full);
            store_job_clear(&full);
        } else if (rc == SM_ENOTFOUND) {
            rc = SM_OK;
        }
    } else if (wanted) {
        for (;;) { /* every job of the region, 200 rows at a time, in name order */
            int n = store_list(r->region, STORE_SORT_NAME, 0, &l.cur, 200, list_row, &l);
            if (n < 0) rc = n;
            if (n < 0 || l.rc != SM_OK || n < 200) break;
        }
        if (rc == SM_OK) rc = l.rc;
    }
    if (rc != SM_OK) {
        free(l.v);
        return reply_internal(r);
    }
    if (l.n > 1) qsort(l.v, (size_t)l.n, sizeof *l.v, by_key);
    cJSON *out = cJSON_CreateObject(), *metrics = cJSON_AddArrayToObject(out, "Metrics");
    cJSON *owners = linked ? cJSON_CreateArray() : NULL;
    int ok = out && metrics && (!linked || owners), emitted = 0;
    const listed *last = NULL;
    for (int i = 0; ok && i < l.n; i++) {
        const listed *m = &l.v[i];
        if (after[0] && strcmp(m->key, after) <= 0) continue;
        if (emitted == LIST_PAGE) {
            char payload[TOKEN_PAYLOAD_MAX], next[TOKEN_MAX];
            snprintf(payload, sizeof payload, "cw:lm:%" PRIx64 ":%s", hash, last->key);
            ok = tok_encode(payload, next, sizeof next) == SM_OK &&
                 cJSON_AddStringToObject(out, "NextToken", next);
            break;
        }
        const char *name = m->key; /* up to the first newline */
        size_t nlen = strcspn(name, "\n");
        char mname[256];
        snprintf(mname, sizeof mname, "%.*s", (int)nlen, name);
        cJSON *o = cJSON_CreateObject(), *dims = NULL, *d = cJSON_CreateObject();
        ok = o && d && cJSON_AddItemToArray(metrics, o) &&
             cJSON_AddStringToObject(o, "Namespace", MX_NAMESPACE) &&
             cJSON_AddStringToObject(o, "MetricName", mname) &&
             (dims = cJSON_AddArrayToObject(o, "Dimensions")) && cJSON_AddItemToArray(dims, d) &&
             cJSON_AddStringToObject(d, "Name", m->dim) &&
             cJSON_AddStringToObject(d, "Value", m->value) &&
             (!linked || cJSON_AddItemToArray(owners, cJSON_CreateString(cfg.account_id)));
        if (!ok && d && !cJSON_GetArraySize(dims)) cJSON_Delete(d);
        emitted++;
        last = m;
    }
    if (ok && linked) {
        ok = cJSON_AddItemToObject(out, "OwningAccounts", owners);
        if (ok) owners = NULL;
    }
    cJSON_Delete(owners);
    free(l.v);
    if (!ok) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

/* ------------------------------------------------------------------------- the dashboard */

cJSON *cw_job_metrics_json(const store_job *job, int64_t now_ms)
{
    cw_set set = {0};
    if (job_metrics(job, now_ms, NULL, &set) != SM_OK) {
        set_free(&set);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject(), *list = NULL;
    int ok = out && cJSON_AddStringToObject(out, "namespace", MX_NAMESPACE) &&
             (list = cJSON_AddArrayToObject(out, "metrics"));
    for (int i = 0; ok && i < set.n; i++) {
        const cw_metric *m = &set.v[i];
        if (m->pts.n == 0) continue;
        cJSON *o = cJSON_CreateObject(), *dim = NULL, *pts = NULL;
        ok = o && cJSON_AddItemToArray(list, o) && cJSON_AddStringToObject(o, "name", m->name) &&
             cJSON_AddStringToObject(o, "unit", unit_of(m)) &&
             cJSON_AddStringToObject(o, "kind", m->kind == ALGORITHM ? "algorithm" : "instance") &&
             (dim = cJSON_AddObjectToObject(o, "dimension")) &&
             cJSON_AddStringToObject(dim, "name", dim_name(m)) &&
             cJSON_AddStringToObject(dim, "value", m->dim_value) &&
             (pts = cJSON_AddArrayToObject(o, "points"));
        for (int k = 0; ok && k < m->pts.n; k++) {
            cJSON *p = cJSON_CreateArray();
            ok = p && cJSON_AddItemToArray(pts, p) &&
                 cJSON_AddItemToArray(p, cJSON_CreateNumber((double)m->pts.p[k].t_ms)) &&
                 cJSON_AddItemToArray(p, cJSON_CreateNumber(m->pts.p[k].v));
        }
    }
    set_free(&set);
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* ---------------------------------------------------------------------------- the service */

/* The job a request is about, for faults and the journal: the value of its first
 * TrainingJobName (else Host) dimension. */
static const char *subject(const cJSON *input)
{
    const cJSON *dims = json_array(input, "Dimensions");
    if (!dims) {
        const cJSON *q = cJSON_GetArrayItem(json_array(input, "MetricDataQueries"), 0);
        dims = json_array(json_object(json_object(q, "MetricStat"), "Metric"), "Dimensions");
    }
    const char *host = NULL;
    const cJSON *d;
    cJSON_ArrayForEach(d, dims)
    {
        const char *n = json_string(d, "Name");
        if (n && strcmp(n, DIM_JOB) == 0 && json_string(d, "Value")) return json_string(d, "Value");
        if (n && strcmp(n, DIM_HOST) == 0 && !host) host = json_string(d, "Value");
    }
    return host;
}

static const sm_operation ops[] = {
    {"GetMetricData", h_get_metric_data, 0},
    {"GetMetricStatistics", h_get_metric_statistics, 0},
    {"ListMetrics", h_list_metrics, 0},
};

const sm_service svc_cloudwatch = {
    .id = "cloudwatch",
    .title = "CloudWatch",
    .signing_name = "monitoring",
    .protocols = PROTO_CBOR | PROTO_JSON_1_0 | PROTO_QUERY,
    .target_prefix = "GraniteServiceVersion20100801",
    .query_version = "2010-08-01",
    .validation_code = "InvalidParameterValue",
    .model_json = cloudwatch_model_json,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
    .subject = subject,
};
