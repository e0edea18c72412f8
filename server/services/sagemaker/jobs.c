/*
 * jobs.c: stored job -> plan -> view, events, materialised state and ARNs (see jobs.h).
 */
#include "jobs.h"
#include "describe.h"
#include "arn.h"
#include "config.h"
#include "errors.h"
#include "scenario.h"
#include "tcache.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each thread keeps one context it is done with for the next: a context is ~230 KB (malloc
 * maps and unmaps so large a block each time, and the pages fault in again), and the spare
 * still holds the last scenario it copied, which the next evaluation of that scenario skips
 * (jobs_eval). */
typedef struct spare_ctx {
    jobs_ctx *c;
} spare_ctx;

static void spare_free(void *p)
{
    spare_ctx *s = p;
    if (s) free(s->c);
    free(s);
}

static tcache spares = TCACHE(sizeof(spare_ctx), spare_free);

jobs_ctx *jobs_ctx_new(void)
{
    spare_ctx *s = tcache_get(&spares);
    jobs_ctx *c = s ? s->c : NULL;
    if (c) {
        s->c = NULL;
    } else if ((c = malloc(sizeof *c))) {
        c->scenario_from = NULL;
    }
    /* zero only what is read before it is written: lc_plan_build fills the plan, lc_eval the
     * view but its transitions beyond ntrans */
    if (c) {
        c->nev = 0;
        c->reused_by[0] = 0;
        c->plan.nmarks = 0;
        memset(&c->view, 0, offsetof(lc_view, trans));
        memset(&c->view.training_start_ms, 0,
               sizeof c->view - offsetof(lc_view, training_start_ms));
    }
    return c;
}

void jobs_ctx_free(jobs_ctx *c)
{
    spare_ctx *s = c ? tcache_get(&spares) : NULL;
    if (s && !s->c)
        s->c = c;
    else
        free(c);
}

static const char *const event_names[] = {
    [LC_EV_STOP] = "stop", [LC_EV_KEEP_ALIVE] = "keepAlive", [LC_EV_WARM_REUSED] = "warmReused"};
#define LAST_EVENT LC_EV_WARM_REUSED

/* Events are stored as [{"kind":"stop","at":ms,"value":n}, ...] in the order received;
 * warmReused events also carry "by", the name of the job that took the pool over. */
static int parse_events(const char *text, jobs_ctx *c)
{
    c->nev = 0;
    c->reused_by[0] = 0;
    cJSON *a = cJSON_Parse(text ? text : "[]");
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return SM_EINVAL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "kind");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "at");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        int kind = 0;
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(e, "by");
        for (int i = 1; i <= LAST_EVENT && cJSON_IsString(k); i++)
            if (strcmp(k->valuestring, event_names[i]) == 0) kind = i;
        if (!kind || !cJSON_IsNumber(at) || c->nev == JOBS_MAX_EVENTS) {
            cJSON_Delete(a);
            return SM_EINVAL;
        }
        c->ev[c->nev++] = (lc_event){(lc_event_kind)kind, (int64_t)at->valuedouble,
                                     cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0};
        if (kind == LC_EV_WARM_REUSED && cJSON_IsString(by))
            snprintf(c->reused_by, sizeof c->reused_by, "%s", by->valuestring);
    }
    cJSON_Delete(a);
    return SM_OK;
}

char *jobs_events_json(const jobs_ctx *c)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < c->nev; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "kind", event_names[c->ev[i].kind]) ||
            !cJSON_AddNumberToObject(e, "at", (double)c->ev[i].at_ms) ||
            !cJSON_AddNumberToObject(e, "value", (double)c->ev[i].value) ||
            (c->ev[i].kind == LC_EV_WARM_REUSED &&
             !cJSON_AddStringToObject(e, "by", c->reused_by))) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, e);
    }
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

/*
 * Most jobs share a handful of scenario texts, and parsing one costs far more than evaluating
 * a plan; each thread keeps the last few parsed scenarios, keyed by their exact text. The
 * cache belongs to its thread alone (no locks); an entry is only ever read by copying out.
 */
#define SCENARIO_CACHE 8
typedef struct cached_scenario {
    uint64_t hash;
    char *text; /* owned; NULL when the slot is empty */
    lc_scenario sc;
    uint64_t used;
    uint64_t gen; /* changes each time the slot takes another scenario */
} cached_scenario;
static atomic_uint_fast64_t scenario_gens;
typedef struct scenario_cache {
    cached_scenario e[SCENARIO_CACHE];
    uint64_t clock;
} scenario_cache;

static void cache_free(void *p)
{
    scenario_cache *c = p;
    for (int i = 0; c && i < SCENARIO_CACHE; i++)
        free(c->e[i].text);
    free(c);
}

static tcache scenario_caches = TCACHE(sizeof(scenario_cache), cache_free);

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The cache slot of the parsed scenario of `text` (borrowed until the next call), or NULL. */
static const cached_scenario *scenario_of(const char *text)
{
    scenario_cache *c = tcache_get(&scenario_caches);
    if (!c) return NULL;
    uint64_t h = fnv1a(text);
    cached_scenario *victim = &c->e[0];
    for (int i = 0; i < SCENARIO_CACHE; i++) {
        cached_scenario *e = &c->e[i];
        if (e->text && e->hash == h && strcmp(e->text, text) == 0) {
            e->used = ++c->clock;
            return e;
        }
        if (!e->text || e->used < victim->used) victim = e;
    }
    cJSON *sj = cJSON_Parse(text);
    char err[256];
    char *copy = strdup(text);
    int rc = sj && copy ? scn_from_json(sj, &victim->sc, err, sizeof err) : SM_EINVAL;
    cJSON_Delete(sj);
    free(victim->text);
    victim->text = NULL;
    victim->gen = atomic_fetch_add(&scenario_gens, 1) + 1; /* unique across threads too */
    if (rc != SM_OK) {
        free(copy);
        return NULL;
    }
    victim->text = copy;
    victim->hash = h;
    victim->used = ++c->clock;
    return victim;
}

int jobs_eval(const store_job *job, int64_t now_ms, jobs_ctx *c)
{
    const cached_scenario *e = scenario_of(job->scenario ? job->scenario : "");
    int rc = e ? SM_OK : SM_EINVAL;
    /* The plan keeps a copy of its scenario (18 KB): a context evaluating job after job of
     * the same scenario (a clock advance) copies it once. */
    int same = e && c->scenario_from == e && c->scenario_gen == e->gen;
    const lc_scenario *sc = same ? &c->plan.scenario : e ? &e->sc : NULL;
    lc_params p = {
        .created_ms = job->created_ms,
        .max_runtime_s = job->max_runtime_s,
        .max_wait_s = job->max_wait_s,
        .spot = job->spot,
        .max_retry_attempts = job->max_retry,
        .keep_alive_s = job->keep_alive_s,
    };
    if (rc == SM_OK) rc = lc_plan_build(sc, &p, &c->plan);
    c->scenario_from = rc == SM_OK ? e : NULL;
    c->scenario_gen = rc == SM_OK ? e->gen : 0;
    if (rc == SM_OK) rc = parse_events(job->events, c);
    if (rc != SM_OK) return SM_EINVAL;
    lc_eval(&c->plan, c->ev, c->nev, now_ms, &c->view);
    return SM_OK;
}

int64_t jobs_settled_ms(const jobs_ctx *c)
{
    int64_t t = c->plan.nmarks ? c->plan.marks[c->plan.nmarks - 1].at_ms : 0;
    for (int i = 0; i < c->nev; i++) {
        int64_t e = c->ev[i].at_ms + c->plan.scenario.stop_delay_ms;
        if (e > t) t = e;
    }
    return t + 1;
}

int jobs_add_event(jobs_ctx *c, lc_event_kind kind, int64_t at_ms, int64_t value, int64_t now_ms)
{
    if (c->nev == JOBS_MAX_EVENTS) return SM_EINVAL;
    c->ev[c->nev++] = (lc_event){kind, at_ms, value};
    lc_eval(&c->plan, c->ev, c->nev, now_ms, &c->view);
    return SM_OK;
}

int jobs_add_reuse(jobs_ctx *c, int64_t at_ms, const char *by)
{
    snprintf(c->reused_by, sizeof c->reused_by, "%s", by);
    return jobs_add_event(c, LC_EV_WARM_REUSED, at_ms, 0, at_ms);
}

int jobs_save(const store_job *job, const jobs_ctx *c, const char *request)
{
    char *events = jobs_events_json(c);
    store_state st;
    jobs_state(&c->view, &st);
    char *summary = describe_summary_of(job, &st);
    st.summary = summary;
    int rc = events ? store_job_update(job->id, events, request, &st) : SM_ENOMEM;
    free(events);
    free(summary);
    return rc;
}

void jobs_state(const lc_view *v, store_state *st)
{
    st->status = lc_primary_name(v->primary);
    st->secondary = lc_secondary_name(v->secondary);
    st->warm_pool = v->warm_pool == LC_WP_NONE ? "" : lc_warm_pool_name(v->warm_pool);
    st->last_modified_ms = v->last_modified_ms;
    st->end_ms = v->training_end_ms;
    st->next_change_ms = v->next_change_ms;
    st->summary = NULL;
}

typedef struct advance_arg {
    int64_t now_ms;
    jobs_ctx *c;
    int rc;
} advance_arg;

static int advance_one(store_job *job, void *arg)
{
    advance_arg *a = arg;
    store_state st;
    if (jobs_eval(job, a->now_ms, a->c) != SM_OK) {
        /* A damaged row must not be retried forever: park it where it is. */
        st = (store_state){job->status,           job->secondary, job->warm_pool,
                           job->last_modified_ms, job->end_ms,    -1,
                           job->summary};
        a->rc = store_job_set_state(job->id, &st);
        return a->rc != SM_OK;
    }
    /* The state columns alone: a clock advance past 100,000 jobs must stay well under a
     * second, and the summary would more than double the bytes each row rewrites; the List
     * renders the summary of a row that has none. */
    jobs_state(&a->c->view, &st);
    a->rc = store_job_set_state(job->id, &st);
    return a->rc != SM_OK;
}

int jobs_advance_due_in_tx(int64_t now_ms)
{
    advance_arg a = {now_ms, jobs_ctx_new(), SM_OK};
    if (!a.c) return SM_ENOMEM;
    int n = store_due_each(now_ms, advance_one, &a);
    if (n >= 0 && a.rc != SM_OK) n = a.rc;
    jobs_ctx_free(a.c);
    return n;
}

int jobs_advance_due(int64_t now_ms)
{
    int due = store_due_any(now_ms);
    return due <= 0 ? due : store_in_tx(jobs_advance_due_in_tx, now_ms);
}

void jobs_arn(const char *region, const char *name, char *out, size_t outlen)
{
    int n = (int)arn_format(out, outlen, region, "sagemaker", region, "training-job/");
    for (size_t i = 0; n > 0 && (size_t)n + 1 < outlen && name[i]; i++)
        out[n++] = cfg.arn_lower ? (char)tolower((unsigned char)name[i]) : name[i];
    if (n > 0 && (size_t)n < outlen) out[n] = 0;
}
