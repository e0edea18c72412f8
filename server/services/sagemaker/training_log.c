/*
 * training_log.c: a stored job -> the log engine's input -> its log (see training_log.h).
 *
 * The timeline is the plan with the job's events evaluated after the job's last change (its
 * last plan mark, or a stop plus the stop delay), so it holds the whole history; the engine
 * then leaves out everything later than now. Hosts are algo-1..algo-N over the instance
 * groups in order (SageMaker numbers hosts across groups the same way).
 *
 * A log at an earlier now is a prefix of the log at a later now (joblog.h), so the hot reads
 * (GetLogEvents, GetMetricStatistics, DescribeLogStreams) share one whole log per job version:
 * each thread keeps the last few whole logs it built, keyed by the exact inputs (the row's
 * identity, request, scenario and events), and cuts the view at now from it. The cache belongs
 * to its thread alone (no locks) and is freed when the thread exits.
 */
#include "training_log.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "metrics.h"
#include "scenario.h"
#include "tcache.h"
#include "tuning_job.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t training_final_metric_ms(const lc_view *v)
{
    int64_t at = -1;
    for (int i = v->ntrans - 1; i >= 0 && at < 0; i--)
        if (v->trans[i].status == LC_S_TRAINING) at = v->trans[i].end_ms;
    if (v->training_end_ms < 0 || at < 0) return -1;
    return (at - 1) / 1000 * 1000;
}

/* The job's context evaluated over its whole timeline; NULL when out of memory or damaged. */
static jobs_ctx *timeline(const store_job *job, int *rc)
{
    jobs_ctx *c = jobs_ctx_new();
    *rc = c ? jobs_eval(job, job->created_ms, c) : SM_ENOMEM;
    if (*rc != SM_OK) {
        jobs_ctx_free(c);
        return NULL;
    }
    lc_eval(&c->plan, c->ev, c->nev, jobs_settled_ms(c), &c->view);
    return c;
}

int64_t training_log_start(const store_job *job, int64_t now_ms)
{
    int rc;
    jobs_ctx *c = timeline(job, &rc);
    int64_t start = -1;
    for (int i = 0; c && i < c->view.ntrans && start < 0; i++) {
        lc_secondary s = c->view.trans[i].status;
        if (s == LC_S_DOWNLOADING || s == LC_S_TRAINING) start = c->view.trans[i].start_ms;
    }
    jobs_ctx_free(c);
    return start >= 0 && start <= now_ms ? start : -1;
}

static void add_hosts(jl_job *j, const cJSON *resources, char names[][16])
{
    const cJSON *groups = json_array(resources, "InstanceGroups"), *g;
    int count = (int)json_number(resources, "InstanceCount", 1);
    if (groups) {
        count = 0;
        cJSON_ArrayForEach(g, groups)
        {
            count += (int)json_number(g, "InstanceCount", 0);
        }
    }
    if (count < 1) count = 1;
    for (int i = 0; i < count && i < JL_MAX_HOSTS; i++) {
        snprintf(names[i], 16, "algo-%d", i + 1);
        j->hosts[j->nhosts++] = names[i];
    }
    j->instance_type = json_string(resources, "InstanceType");
    if (!j->instance_type && groups)
        j->instance_type = json_string(cJSON_GetArrayItem(groups, 0), "InstanceType");
}

int training_log(const store_job *job, int64_t now_ms, jl_log *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    jobs_ctx *c = timeline(job, &rc);
    if (!c) return rc;
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    cJSON *scn = cJSON_Parse(job->scenario ? job->scenario : "");
    scn_extras *x = calloc(1, sizeof *x);
    jl_job *j = calloc(1, sizeof *j);
    char(*hosts)[16] = calloc(JL_MAX_HOSTS, 16);
    char *hp = NULL, artifacts[1200];
    rc = req && scn && x && j && hosts ? SM_OK : SM_ENOMEM;
    if (rc == SM_OK && scn_extras_from_json(scn, x, NULL, 0) != SM_OK) rc = SM_EINVAL;
    if (rc == SM_OK) {
        const cJSON *alg = json_object(req, "AlgorithmSpecification");
        j->name = job->name;
        j->timeline = &c->view;
        add_hosts(j, json_object(req, "ResourceConfig"), hosts);
        j->image = json_string(alg, "TrainingImage");
        if (!j->image) j->image = json_string(alg, "AlgorithmName");
        const cJSON *hpo = json_object(req, "HyperParameters");
        hp = hpo ? cJSON_PrintUnformatted(hpo) : NULL;
        j->hyperparameters = hp;
        j->epochs = 0; /* jl_epochs(hyperparameters) */
        const cJSON *ch;
        cJSON_ArrayForEach(ch, json_array(req, "InputDataConfig"))
        {
            if (j->nchannels == JL_MAX_CHANNELS) break;
            j->channel_name[j->nchannels] = json_string(ch, "ChannelName");
            j->channel_uri[j->nchannels] =
                json_string(json_object(json_object(ch, "DataSource"), "S3DataSource"), "S3Uri");
            if (j->channel_name[j->nchannels]) j->nchannels++;
        }
        describe_artifacts_uri(req, job->name, artifacts, sizeof artifacts);
        j->output_uri = artifacts;
        const cJSON *md;
        cJSON_ArrayForEach(md, json_array(alg, "MetricDefinitions"))
        {
            const char *name = json_string(md, "Name"), *regex = json_string(md, "Regex");
            if (!name || !regex || j->nmetrics == JL_MAX_METRICS) continue;
            jl_metric *m = &j->metrics[j->nmetrics++];
            m->name = name;
            m->regex = regex;
            if (!scn_extras_metric(x, name, &m->final))
                m->final = jl_default_metric(job->name, name);
        }
        j->final_metric_ms = training_final_metric_ms(&c->view);
        const lc_scenario *sc = &c->plan.scenario;
        for (int i = 0; i < sc->nsteps; i++)
            if (sc->steps[i].status == LC_S_TRAINING) j->training_ms += sc->steps[i].duration_ms;
        j->failure_reason = sc->fail_step >= 0 ? sc->failure_reason : NULL;
        j->planned_failure_ms = -1;
        for (int i = 0; i < c->plan.nmarks; i++)
            if (c->plan.marks[i].kind == LC_MARK_END && c->plan.marks[i].primary == LC_FAILED)
                j->planned_failure_ms = c->plan.marks[i].at_ms;
        for (int i = 0; i < x->nlog_lines && j->ntemplates < JL_MAX_TEMPLATES; i++)
            j->templates[j->ntemplates++] = (jl_template){x->log_when[i], x->log_text[i]};
        rc = jl_build(j, now_ms, out);
    }
    free(hp);
    free(hosts);
    free(j);
    free(x);
    cJSON_Delete(scn);
    cJSON_Delete(req);
    jobs_ctx_free(c);
    return rc;
}

/* ---- the per-thread cache of whole logs ------------------------------------------------------ */

#define LOG_FAR_MS (INT64_MAX / 4) /* "after everything": the whole log */
#define LOG_CACHE_ENTRIES 8
#define LOG_CACHE_BYTES (4u << 20) /* logs kept between requests, per thread */

typedef struct cached_log {
    int used; /* 0: an empty slot */
    uint64_t gen, last_use;
    int64_t id, created_ms;
    char region[STORE_REGION_MAX]; /* the job's identity ... */
    char name[STORE_NAME_MAX];
    char *request, *scenario, *events; /* ... and its inputs (owned copies) */
    size_t bytes;
    jl_log log; /* the whole log */
} cached_log;

typedef struct log_cache {
    cached_log e[LOG_CACHE_ENTRIES];
    uint64_t clock, gen;
} log_cache;

static void entry_clear(cached_log *e)
{
    free(e->request);
    free(e->scenario);
    free(e->events);
    jl_free(&e->log);
    memset(e, 0, sizeof *e);
}

static void logs_free(void *p)
{
    log_cache *c = p;
    for (int i = 0; c && i < LOG_CACHE_ENTRIES; i++)
        entry_clear(&c->e[i]);
    free(c);
}

static tcache log_caches = TCACHE(sizeof(log_cache), logs_free);

static int same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int entry_is(const cached_log *e, const store_job *job)
{
    return e->used && e->id == job->id && e->created_ms == job->created_ms &&
           strcmp(e->name, job->name) == 0 && strcmp(e->region, job->region) == 0 &&
           same_text(e->events, job->events) && same_text(e->request, job->request) &&
           same_text(e->scenario, job->scenario);
}

static size_t log_bytes(const jl_log *log)
{
    size_t n = 0;
    for (int i = 0; i < log->nstreams; i++) {
        const jl_stream *s = &log->streams[i];
        n += (size_t)s->nevents * sizeof *s->events;
        if (s->nevents) {
            const char *last = s->events[s->nevents - 1].message;
            n += (size_t)(last - s->text) + strlen(last) + 1;
        }
    }
    return n;
}

/* The cached whole log of `job`, built when missing. NULL with *rc when it cannot be built. */
static const cached_log *whole_log(const store_job *job, int *rc)
{
    *rc = SM_OK;
    log_cache *c = tcache_get(&log_caches);
    if (!c) {
        *rc = SM_ENOMEM;
        return NULL;
    }
    cached_log *victim = &c->e[0];
    size_t total = 0;
    for (int i = 0; i < LOG_CACHE_ENTRIES; i++) {
        cached_log *e = &c->e[i];
        if (entry_is(e, job)) {
            e->last_use = ++c->clock;
            return e;
        }
        total += e->bytes;
        if (!e->used || (victim->used && e->last_use < victim->last_use)) victim = e;
    }
    entry_clear(victim);
    *rc = training_log(job, LOG_FAR_MS, &victim->log);
    if (*rc != SM_OK) return NULL;
    victim->request = strdup(job->request ? job->request : "");
    victim->scenario = strdup(job->scenario ? job->scenario : "");
    victim->events = strdup(job->events ? job->events : "");
    if (!victim->request || !victim->scenario || !victim->events) {
        entry_clear(victim);
        *rc = SM_ENOMEM;
        return NULL;
    }
    victim->used = 1;
    victim->gen = ++c->gen;
    victim->last_use = ++c->clock;
    victim->id = job->id;
    victim->created_ms = job->created_ms;
    snprintf(victim->region, sizeof victim->region, "%s", job->region);
    snprintf(victim->name, sizeof victim->name, "%s", job->name);
    victim->bytes = log_bytes(&victim->log);
    /* Keep the thread's logs under the budget: the oldest others go first (the new one stays
     * until the next call whatever its size, as the caller borrows it). */
    total += victim->bytes;
    while (total > LOG_CACHE_BYTES) {
        cached_log *old = NULL;
        for (int i = 0; i < LOG_CACHE_ENTRIES; i++) {
            cached_log *e = &c->e[i];
            if (e->used && e != victim && (!old || e->last_use < old->last_use)) old = e;
        }
        if (!old) break;
        total -= old->bytes;
        entry_clear(old);
    }
    return victim;
}

/* The number of events of s ingested by now (ingestion times never decrease in a stream). */
static int visible(const jl_stream *s, int64_t now_ms)
{
    int lo = 0, hi = s->nevents;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->events[mid].ingestion_ms <= now_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int training_log_shared(const store_job *job, int64_t now_ms, jl_log *out, uint64_t *gen)
{
    memset(out, 0, offsetof(jl_log, streams));
    if (gen) *gen = 0;
    int rc;
    const cached_log *e = whole_log(job, &rc);
    if (!e) return rc;
    if (gen) *gen = e->gen;
    for (int i = 0; i < e->log.nstreams; i++) {
        const jl_stream *s = &e->log.streams[i];
        if (s->created_ms > now_ms) break; /* every stream starts at the first container start */
        jl_stream *o = &out->streams[out->nstreams++];
        memcpy(o->name, s->name, sizeof o->name);
        o->created_ms = s->created_ms;
        o->events = s->events;
        o->text = s->text;
        o->nevents = visible(s, now_ms);
    }
    return SM_OK;
}

int training_last_metrics(const store_job *job, int max, int *found, double *value, int64_t *at_ms)
{
    jl_log log;
    int rc = training_log_shared(job, LOG_FAR_MS, &log, NULL);
    if (rc != SM_OK) return rc;
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    const cJSON *md;
    int n = 0;
    /* The same scan CloudWatch's algorithm metrics make (engine/metrics.c): the last point. */
    cJSON_ArrayForEach(md,
                       json_array(json_object(req, "AlgorithmSpecification"), "MetricDefinitions"))
    {
        if (n == max || rc == SM_ENOMEM) break;
        mx_series series = {0};
        const char *regex = json_string(md, "Regex");
        int sc = regex ? mx_scan(log.nstreams ? &log.streams[0] : NULL, regex, &series) : SM_OK;
        if (sc == SM_ENOMEM) rc = sc;
        found[n] = series.n > 0;
        if (found[n]) {
            value[n] = series.p[series.n - 1].v;
            at_ms[n] = series.p[series.n - 1].t_ms;
        }
        mx_series_free(&series);
        n++;
    }
    cJSON_Delete(req);
    return rc == SM_ENOMEM ? rc : n;
}

int training_jobs_up_to_date(int64_t now_ms)
{
    return tuning_advance_due(now_ms) < 0 ? SM_ESTORE : SM_OK;
}
