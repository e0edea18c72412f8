/*
 * tuning_run.c: a stored tuning job -> the tuning engine's input -> actions and views (see
 * tuning_job.h).
 *
 * A child's outcome (when it ended and how, the objective series its log prints, its final
 * objective) is computed from its training job exactly as Describe and the log show it: the
 * lifecycle plan with the child's events evaluated after its end, and the log engine's lines
 * for the first host, scanned with the objective's MetricDefinitions regex (group 1, read whole
 * as a finite number: SageMaker's rule). It depends only on the child's row, so it is cached in
 * the tuning_children row, keyed by the child's events: a new stop recomputes it.
 *
 * Advancing a tuning job: evaluate the engine at now; while it asks for an action due by now,
 * take it (create the child with create_job(), as CreateTrainingJob would, at the engine's
 * time; or record a stop event on the child, as StopTrainingJob would) and evaluate again;
 * then store the materialised state and next_change_ms.
 */
#include "tuning_job.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "metrics.h"
#include "registry.h"
#include "reply.h"
#include "scenario.h"
#include "tcache.h"
#include "training_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* ---- a child's outcome ----------------------------------------------------------------------- */

typedef struct outcome {
    int64_t end, stop;
    tn_end status;
    int retryable, epochs, has_final;
    double final;
    int n;
    int64_t *ms;
    double *v;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->ms);
    free(o->v);
    o->ms = NULL;
    o->v = NULL;
    o->n = 0;
}

static const char *metric_regex(const cJSON *req, const char *metric)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, member(member(req, "AlgorithmSpecification"), "MetricDefinitions"))
    {
        const char *n = json_string(m, "Name");
        if (n && metric && !strcmp(n, metric)) return json_string(m, "Regex");
    }
    return NULL;
}

static int push_point(outcome *o, int *cap, int64_t ms, double v)
{
    if (o->n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        int64_t *a = realloc(o->ms, (size_t)c * sizeof *a);
        if (!a) return SM_ENOMEM;
        o->ms = a;
        double *b = realloc(o->v, (size_t)c * sizeof *b);
        if (!b) return SM_ENOMEM;
        o->v = b;
        *cap = c;
    }
    o->ms[o->n] = ms;
    o->v[o->n++] = v;
    return SM_OK;
}

/* The objective series of the log's first stream: CloudWatch's scan (engine/metrics.h), each
 * point at its line's exact time (an early stop lands 1 ms after the epoch's line). */
static int scan_series(const jl_log *log, const char *regex, outcome *o)
{
    if (!regex || log->nstreams == 0) return SM_OK;
    const jl_stream *s = &log->streams[0];
    mx_series pts = {0};
    int rc = mx_scan(s, regex, &pts), cap = 0;
    if (rc == SM_EINVAL) rc = SM_OK; /* a regex SageMaker would refuse: no series */
    for (int i = 0; rc == SM_OK && i < pts.n; i++)
        rc = push_point(o, &cap, s->events[pts.p[i].ev].timestamp_ms, pts.p[i].v);
    mx_series_free(&pts);
    return rc;
}

static int outcome_compute(const store_job *job, const char *metric, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->stop = -1;
    jobs_ctx *c = jobs_ctx_new();
    if (!c) return SM_ENOMEM;
    int rc = jobs_eval(job, job->created_ms, c);
    if (rc != SM_OK) {
        jobs_ctx_free(c);
        return rc;
    }
    int64_t settled = jobs_settled_ms(c);
    lc_eval(&c->plan, c->ev, c->nev, settled, &c->view);
    const lc_view *v = &c->view;
    o->end = v->last_modified_ms > job->created_ms ? v->last_modified_ms : settled;
    o->status = v->primary == LC_COMPLETED ? TN_END_COMPLETED
                : v->primary == LC_FAILED  ? TN_END_FAILED
                                           : TN_END_STOPPED;
    o->retryable = o->status == TN_END_FAILED &&
                   (c->plan.scenario.retryable ||
                    (v->failure_reason && !strncmp(v->failure_reason, "InternalServerError", 19)));
    for (int i = 0; i < c->nev; i++)
        if (c->ev[i].kind == LC_EV_STOP && (o->stop < 0 || c->ev[i].at_ms < o->stop))
            o->stop = c->ev[i].at_ms;
    jobs_ctx_free(c);

    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    cJSON *scn = cJSON_Parse(job->scenario ? job->scenario : "");
    scn_extras *x = calloc(1, sizeof *x);
    rc = req && scn && x ? SM_OK : SM_ENOMEM;
    if (rc == SM_OK) {
        const cJSON *hp = member(req, "HyperParameters");
        char *hps = hp ? cJSON_PrintUnformatted(hp) : NULL;
        o->epochs = jl_epochs(hps);
        free(hps);
        if (o->status == TN_END_COMPLETED && metric_regex(req, metric)) {
            o->has_final = 1;
            if (scn_extras_from_json(scn, x, NULL, 0) != SM_OK ||
                !scn_extras_metric(x, metric, &o->final))
                o->final = jl_default_metric(job->name, metric);
        }
        jl_log log;
        rc = training_log(job, settled + 10000, &log);
        if (rc == SM_OK) {
            rc = scan_series(&log, metric_regex(req, metric), o);
            jl_free(&log);
        }
    }
    free(x);
    cJSON_Delete(scn);
    cJSON_Delete(req);
    if (rc != SM_OK) outcome_free(o);
    return rc;
}

static char *outcome_json(const outcome *o)
{
    cJSON *j = cJSON_CreateObject(), *ms = cJSON_CreateArray(), *v = cJSON_CreateArray();
    char *text = NULL;
    if (j && ms && v) {
        cJSON_AddNumberToObject(j, "end", (double)o->end);
        cJSON_AddNumberToObject(j, "stop", (double)o->stop);
        cJSON_AddNumberToObject(j, "status", o->status);
        cJSON_AddBoolToObject(j, "retryable", o->retryable);
        cJSON_AddNumberToObject(j, "epochs", o->epochs);
        if (o->has_final) cJSON_AddNumberToObject(j, "final", o->final);
        for (int i = 0; i < o->n; i++) {
            cJSON_AddItemToArray(ms, cJSON_CreateNumber((double)o->ms[i]));
            cJSON_AddItemToArray(v, cJSON_CreateNumber(o->v[i]));
        }
        cJSON_AddItemToObject(j, "ms", ms);
        cJSON_AddItemToObject(j, "v", v);
        ms = v = NULL;
        text = cJSON_PrintUnformatted(j);
    }
    cJSON_Delete(ms);
    cJSON_Delete(v);
    cJSON_Delete(j);
    return text;
}

static int outcome_parse(const char *text, outcome *o)
{
    memset(o, 0, sizeof *o);
    cJSON *j = cJSON_Parse(text ? text : "");
    const cJSON *ms = member(j, "ms"), *v = member(j, "v"), *f = member(j, "final");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(ms) || !cJSON_IsArray(v) ||
        cJSON_GetArraySize(ms) != cJSON_GetArraySize(v)) {
        cJSON_Delete(j);
        return SM_EINVAL;
    }
    o->end = (int64_t)json_number(j, "end", 0);
    o->stop = (int64_t)json_number(j, "stop", -1);
    o->status = (tn_end)(int)json_number(j, "status", TN_END_FAILED);
    o->retryable = json_true(j, "retryable");
    o->epochs = (int)json_number(j, "epochs", 0);
    o->has_final = cJSON_IsNumber(f);
    o->final = o->has_final ? f->valuedouble : 0;
    int cap = 0, rc = SM_OK;
    for (const cJSON *a = ms->child, *b = v->child; rc == SM_OK && a && b; a = a->next, b = b->next)
        rc = push_point(o, &cap, (int64_t)a->valuedouble, b->valuedouble);
    cJSON_Delete(j);
    if (rc != SM_OK) outcome_free(o);
    return rc;
}

/*
 * Reading a tuning job reads every child's cached outcome: each thread keeps the outcomes it
 * parsed, keyed by their exact text (sets of OUTCOME_WAYS, the least recently used replaced),
 * and hands out copies. The table belongs to its thread alone and is freed when it exits.
 */
#define OUTCOME_SLOTS 1024
#define OUTCOME_WAYS 4

typedef struct parsed_outcome {
    uint64_t hash, used;
    char *text; /* owned; NULL: an empty slot */
    outcome o;
} parsed_outcome;

typedef struct outcome_table {
    parsed_outcome e[OUTCOME_SLOTS];
    uint64_t clock;
} outcome_table;

static void outcomes_free(void *p)
{
    outcome_table *t = p;
    for (int i = 0; t && i < OUTCOME_SLOTS; i++) {
        free(t->e[i].text);
        outcome_free(&t->e[i].o);
    }
    free(t);
}

static tcache outcome_tables = TCACHE(sizeof(outcome_table), outcomes_free);

static int outcome_copy(const outcome *from, outcome *to)
{
    *to = *from;
    to->ms = NULL;
    to->v = NULL;
    if (from->n == 0) return SM_OK;
    to->ms = malloc((size_t)from->n * sizeof *to->ms);
    to->v = malloc((size_t)from->n * sizeof *to->v);
    if (!to->ms || !to->v) {
        outcome_free(to);
        return SM_ENOMEM;
    }
    memcpy(to->ms, from->ms, (size_t)from->n * sizeof *to->ms);
    memcpy(to->v, from->v, (size_t)from->n * sizeof *to->v);
    return SM_OK;
}

/* outcome_parse through this thread's table. */
static int outcome_parse_cached(const char *text, outcome *o)
{
    if (!text) return outcome_parse(text, o);
    outcome_table *t = tcache_get(&outcome_tables);
    if (!t) return outcome_parse(text, o);
    uint64_t h = 1469598103934665603u;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    parsed_outcome *set = &t->e[h % (OUTCOME_SLOTS / OUTCOME_WAYS) * OUTCOME_WAYS];
    parsed_outcome *e = &set[0];
    for (int i = 0; i < OUTCOME_WAYS; i++) {
        if (set[i].text && set[i].hash == h && strcmp(set[i].text, text) == 0) {
            set[i].used = ++t->clock;
            return outcome_copy(&set[i].o, o);
        }
        if (!set[i].text || (e->text && set[i].used < e->used)) e = &set[i];
    }
    int rc = outcome_parse(text, o);
    if (rc != SM_OK) return rc;
    free(e->text);
    outcome_free(&e->o);
    e->text = NULL;
    if (outcome_copy(o, &e->o) == SM_OK && (e->text = strdup(text)) != NULL) {
        e->hash = h;
        e->used = ++t->clock;
    } else
        outcome_free(&e->o);
    return SM_OK;
}

/* ---- the state ---------------------------------------------------------------------------------
 */

void tuning_state_free(tuning_state *st)
{
    for (int i = 0; i < st->n; i++) {
        free(st->series_ms ? st->series_ms[i] : NULL);
        free(st->series_v ? st->series_v[i] : NULL);
        if (st->info) {
            free(st->info[i].row.tuned);
            free(st->info[i].row.outcome);
            free(st->info[i].row.outcome_key);
            store_job_clear(&st->info[i].job);
            free(st->info[i].failure_reason);
        }
    }
    free(st->series_ms);
    free(st->series_v);
    free(st->children);
    free(st->info);
    free(st->spec);
    cJSON_Delete(st->req);
    cJSON_Delete(st->extra);
    cJSON_Delete(st->events);
    store_tuning_clear(&st->row);
    memset(st, 0, sizeof *st);
}

static int grow(tuning_state *st, int want)
{
    if (want <= TN_MAX_CHILDREN && st->children) return SM_OK;
    st->children = calloc(TN_MAX_CHILDREN + 1, sizeof *st->children);
    st->info = calloc(TN_MAX_CHILDREN + 1, sizeof *st->info);
    st->series_ms = calloc(TN_MAX_CHILDREN + 1, sizeof *st->series_ms);
    st->series_v = calloc(TN_MAX_CHILDREN + 1, sizeof *st->series_v);
    return st->children && st->info && st->series_ms && st->series_v ? SM_OK : SM_ENOMEM;
}

static int64_t stop_requested(const cJSON *events)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        const char *k = json_string(e, "kind");
        if (k && !strcmp(k, "stop")) return (int64_t)json_number(e, "at", -1);
    }
    return -1;
}

static int def_index(const tuning_spec *s, const char *name)
{
    for (int d = 0; d < s->cfg.ndefs; d++)
        if (!strcmp(s->def_name[d], name ? name : "")) return d;
    return 0;
}

/* Fill child i's engine input from its outcome (taking the series over). */
static void set_child(tuning_state *st, int i, outcome *o)
{
    tn_child *c = &st->children[i];
    tuning_child_info *in = &st->info[i];
    const tuning_spec *s = st->spec;
    c->def = def_index(s, in->row.definition);
    memset(&c->p, 0, sizeof c->p);
    cJSON *tuned = cJSON_Parse(in->row.tuned ? in->row.tuned : "{}");
    const tn_def *d = &s->defs[c->def];
    for (int j = 0; j < d->nranges; j++)
        if (tn_coord(&d->ranges[j], json_string(tuned, d->ranges[j].name), &c->p.x[j]) != SM_OK)
            c->p.x[j] = 0;
    cJSON_Delete(tuned);
    c->created_ms = in->row.created_ms;
    c->end_ms = o->end;
    c->status = o->status;
    c->retryable = o->retryable;
    c->stop_ms = o->stop;
    c->epochs = o->epochs;
    free(st->series_ms[i]);
    free(st->series_v[i]);
    st->series_ms[i] = o->ms;
    st->series_v[i] = o->v;
    c->nseries = o->n;
    c->series_ms = o->ms;
    c->series_v = o->v;
    c->has_final = o->has_final;
    c->final_v = o->final;
    o->ms = NULL;
    o->v = NULL;
    o->n = 0;
}

/* Child i's outcome: the cache when it was computed from the child's current events, else
 * computed (and the cache rewritten when `write`). */
static int load_outcome(tuning_state *st, int i, int write)
{
    tuning_child_info *in = &st->info[i];
    const char *metric = st->spec->metric[def_index(st->spec, in->row.definition)];
    outcome o;
    int rc;
    if (in->exists && in->row.outcome && in->row.outcome_key && in->job.events &&
        !strcmp(in->row.outcome_key, in->job.events) &&
        outcome_parse_cached(in->row.outcome, &o) == SM_OK) {
        set_child(st, i, &o);
        return SM_OK;
    }
    if (!in->exists) {
        /* The training job was deleted (only possible once it ended): its last outcome. */
        if (in->row.outcome && outcome_parse(in->row.outcome, &o) == SM_OK) {
            set_child(st, i, &o);
            return SM_OK;
        }
        memset(&o, 0, sizeof o);
        o.end = in->row.created_ms;
        o.stop = -1;
        o.status = TN_END_FAILED;
        set_child(st, i, &o);
        return SM_OK;
    }
    if ((rc = outcome_compute(&in->job, metric, &o)) != SM_OK) return rc;
    char *text = write ? outcome_json(&o) : NULL;
    if (write && text) {
        rc = store_tuning_child_cache(st->row.id, in->row.idx, text, in->job.events);
        free(in->row.outcome);
        free(in->row.outcome_key);
        in->row.outcome = text;
        in->row.outcome_key = strdup(in->job.events);
    } else {
        free(text);
    }
    set_child(st, i, &o);
    return rc;
}

/* What the handlers show of child i's lifecycle view at now (its job already loaded). */
static int load_view(tuning_state *st, int i, int64_t now_ms)
{
    tuning_child_info *in = &st->info[i];
    if (!in->exists || in->has_view) return SM_OK;
    jobs_ctx *c = jobs_ctx_new();
    int rc;
    if (!c) return SM_ENOMEM;
    rc = jobs_eval(&in->job, now_ms, c);
    if (rc == SM_OK) {
        /* The view's strings belong to the plan: copy what is shown. */
        in->has_view = 1;
        in->primary = c->view.primary;
        in->training_start_ms = c->view.training_start_ms;
        in->training_end_ms = c->view.training_end_ms;
        in->view_next_ms = c->view.next_change_ms;
        free(in->failure_reason);
        in->failure_reason = c->view.failure_reason ? strdup(c->view.failure_reason) : NULL;
        if (c->view.failure_reason && !in->failure_reason) rc = SM_ENOMEM;
    }
    jobs_ctx_free(c);
    return rc;
}

/* Load child i's training job (whole) and, when with_view, its lifecycle view at now. */
static int load_job(tuning_state *st, int i, int64_t now_ms, int with_view)
{
    tuning_child_info *in = &st->info[i];
    store_job_clear(&in->job);
    in->has_view = 0;
    int rc = store_job_get(st->row.region, in->row.name, &in->job);
    in->exists = rc == SM_OK;
    if (rc == SM_ENOTFOUND) return SM_OK;
    if (rc != SM_OK || !with_view) return rc;
    return load_view(st, i, now_ms);
}

typedef struct collect {
    tuning_state *st;
    int rc;
} collect;

static int on_child(store_tuning_child *c, void *arg)
{
    collect *k = arg;
    tuning_state *st = k->st;
    if (st->n >= TN_MAX_CHILDREN) return 1;
    tuning_child_info *in = &st->info[st->n];
    in->row = *c;
    in->row.tuned = c->tuned ? strdup(c->tuned) : NULL;
    in->row.outcome = c->outcome ? strdup(c->outcome) : NULL;
    in->row.outcome_key = c->outcome_key ? strdup(c->outcome_key) : NULL;
    st->n++;
    if (!in->row.tuned) {
        k->rc = SM_ENOMEM;
        return 1;
    }
    return 0;
}

/* Open the state of row t (taken over by st): parse, build the spec, load the children. */
static int state_open(tuning_state *st, store_tuning *t, int64_t now_ms, int with_views, int write)
{
    memset(st, 0, sizeof *st);
    st->row = *t;
    memset(t, 0, sizeof *t); /* its strings now belong to st */
    st->req = cJSON_Parse(st->row.request ? st->row.request : "");
    st->extra = cJSON_Parse(st->row.extra ? st->row.extra : "{}");
    st->events = cJSON_Parse(st->row.events ? st->row.events : "[]");
    st->spec = calloc(1, sizeof *st->spec);
    if (!st->req || !st->extra || !st->events || !st->spec || grow(st, 0) != SM_OK)
        return SM_ENOMEM;
    if (tuning_spec_build(st->req, st->extra, st->row.name, st->row.created_ms,
                          stop_requested(st->events), st->spec) != SM_OK)
        return SM_EINVAL;
    collect k = {st, SM_OK};
    int n = store_tuning_children(st->row.id, on_child, &k);
    if (n < 0) return n;
    if (k.rc != SM_OK) return k.rc;
    for (int i = 0; i < st->n; i++) {
        int rc = load_job(st, i, now_ms, with_views);
        if (rc == SM_OK) rc = load_outcome(st, i, write);
        if (rc != SM_OK) return rc;
    }
    return SM_OK;
}

/* ---- actions ------------------------------------------------------------------------------------
 */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* The 8 hex digits of a child's name: a hash of the tuning job, the child and the attempt (a
 * name someone already took gets the next attempt). */
static uint32_t child_hash(const char *arn, int64_t created_ms, int k, int attempt)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = arn; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = mix64(h ^ mix64((uint64_t)created_ms ^ mix64((uint64_t)k << 8 | (uint64_t)attempt)));
    return (uint32_t)(h >> 32);
}

/* The chosen scenario with the objective's value for this child (see tuning_job.h). */
static char *child_scenario(const tuning_state *st, const cJSON *child_req, int def,
                            const tn_point *p, char name[REG_NAME_MAX])
{
    char *text = NULL, why[512];
    if (reg_choose(child_req, name, &text, why, sizeof why) != SM_OK) {
        /* The scenario the tag named is gone (a fixture reset): the rules and the default. */
        cJSON *copy = cJSON_Duplicate(child_req, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "Tags");
        int rc = copy ? reg_choose(copy, name, &text, why, sizeof why) : SM_ENOMEM;
        cJSON_Delete(copy);
        if (rc != SM_OK) return NULL;
    }
    cJSON *scn = cJSON_Parse(text);
    free(text);
    if (!scn) return NULL;
    const char *metric = st->spec->metric[def];
    cJSON *metrics = member(scn, "metrics");
    if (!metrics || !member(metrics, metric)) {
        tn_surface surf;
        const char *only = NULL;
        if (tuning_objective_from_json(member(scn, "objective"), &surf, &only, NULL, 0) != SM_OK ||
            (only && strcmp(only, metric) != 0))
            tn_surface_default(&surf);
        double v = tn_surface_value(&surf, &st->spec->defs[def], p, st->spec->cfg.maximize);
        if (!metrics) metrics = cJSON_AddObjectToObject(scn, "metrics");
        if (metrics && cJSON_GetArraySize(metrics) < SCN_MAX_METRICS)
            cJSON_AddNumberToObject(metrics, metric, v);
    }
    text = cJSON_PrintUnformatted(scn);
    cJSON_Delete(scn);
    return text;
}

static int create_child(tuning_state *st, const tn_view *v, int64_t now_ms)
{
    const tuning_spec *s = st->spec;
    int k = v->act_child, def = v->act_def;
    if (k != st->n || k >= TN_MAX_CHILDREN) return SM_EINVAL;
    const tn_def *d = &s->defs[def];
    cJSON *tuned = cJSON_CreateObject();
    for (int j = 0; tuned && j < d->nranges; j++) {
        char text[300];
        tn_value_text(&d->ranges[j], v->act_point.x[j], text, sizeof text);
        cJSON_AddStringToObject(tuned, d->ranges[j].name, text);
    }
    /* The point as the child's hyperparameters read back (what the surface is evaluated on). */
    tn_point p;
    memset(&p, 0, sizeof p);
    for (int j = 0; tuned && j < d->nranges; j++)
        if (tn_coord(&d->ranges[j], json_string(tuned, d->ranges[j].name), &p.x[j]) != SM_OK)
            p.x[j] = v->act_point.x[j];
    char *tuned_text = tuned ? cJSON_PrintUnformatted(tuned) : NULL;
    int rc = tuned_text ? SM_EEXIST : SM_ENOMEM;
    char name[STORE_NAME_MAX], arn[STORE_ARN_MAX];
    for (int attempt = 0; rc == SM_EEXIST && attempt < 8; attempt++) {
        snprintf(name, sizeof name, "%.32s-%03d-%08x", st->row.name, (k + 1) % 1000,
                 (unsigned)child_hash(st->row.arn, st->row.created_ms, k, attempt));
        cJSON *req = tuning_child_request(s, st->req, st->extra, def, name, st->row.arn, tuned);
        char scenario_name[REG_NAME_MAX];
        char *scenario = req ? child_scenario(st, req, def, &p, scenario_name) : NULL;
        if (!scenario) {
            rc = SM_ENOMEM;
        } else {
            create_opts o = {.region = st->row.region,
                             .created_ms = v->act_ms,
                             .now_ms = now_ms,
                             .scenario_name = scenario_name,
                             .scenario_json = scenario,
                             .stop_at_ms = -1};
            create_error e = {0};
            rc = create_job(req, &o, arn, &e);
        }
        free(scenario);
        cJSON_Delete(req);
    }
    cJSON_Delete(tuned);
    if (rc != SM_OK) {
        free(tuned_text);
        return rc;
    }
    store_tuning_child row = {.idx = k, .created_ms = v->act_ms, .tuned = tuned_text};
    snprintf(row.name, sizeof row.name, "%s", name);
    snprintf(row.definition, sizeof row.definition, "%s", s->def_name[def]);
    rc = store_tuning_child_insert(st->row.id, &row);
    if (rc != SM_OK) {
        free(tuned_text);
        return rc;
    }
    tuning_child_info *in = &st->info[st->n++];
    memset(in, 0, sizeof *in);
    in->row = row; /* takes tuned_text */
    rc = load_job(st, k, now_ms, 0);
    return rc == SM_OK ? load_outcome(st, k, 1) : rc;
}

static int stop_child(tuning_state *st, const tn_view *v, int64_t now_ms)
{
    int i = v->act_child;
    tuning_child_info *in = &st->info[i];
    if (!in->exists) return SM_EINVAL;
    jobs_ctx *c = jobs_ctx_new();
    int rc = c ? jobs_eval(&in->job, now_ms, c) : SM_ENOMEM;
    if (rc == SM_OK) rc = jobs_add_event(c, LC_EV_STOP, v->act_ms, 0, now_ms);
    if (rc == SM_OK) rc = jobs_save(&in->job, c, NULL);
    jobs_ctx_free(c);
    if (rc == SM_OK) rc = load_job(st, i, now_ms, 0);
    return rc == SM_OK ? load_outcome(st, i, 1) : rc;
}

/* Evaluate; with apply, take every action due by now first. SM_ESTATE when an action is due
 * and apply is 0. */
static int state_eval(tuning_state *st, int64_t now_ms, int apply)
{
    for (int guard = 0; guard < 4 * TN_MAX_CHILDREN + 16; guard++) {
        tn_eval(&st->spec->cfg, st->children, st->n, now_ms, &st->view);
        if (st->view.action == TN_ACT_NONE) return SM_OK;
        if (!apply) return SM_ESTATE;
        int rc = st->view.action == TN_ACT_CREATE ? create_child(st, &st->view, now_ms)
                                                  : stop_child(st, &st->view, now_ms);
        if (rc != SM_OK) return rc;
    }
    return SM_EINVAL;
}

/* ---- materialised state -------------------------------------------------------------------- */

static cJSON *status_counters(const tn_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "Completed", v->completed);
    cJSON_AddNumberToObject(o, "InProgress", v->in_progress);
    cJSON_AddNumberToObject(o, "RetryableError", v->retryable_error);
    cJSON_AddNumberToObject(o, "NonRetryableError", v->non_retryable_error);
    cJSON_AddNumberToObject(o, "Stopped", v->stopped);
    return o;
}

static cJSON *objective_counters(const tn_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "Succeeded", v->obj_succeeded);
    cJSON_AddNumberToObject(o, "Pending", v->obj_pending);
    cJSON_AddNumberToObject(o, "Failed", v->obj_failed);
    return o;
}

static int materialise(tuning_state *st)
{
    const tn_view *v = &st->view;
    cJSON *sum = cJSON_CreateObject();
    if (!sum) return SM_ENOMEM;
    cJSON_AddItemToObject(sum, "TrainingJobStatusCounters", status_counters(v));
    cJSON_AddItemToObject(sum, "ObjectiveStatusCounters", objective_counters(v));
    char *text = cJSON_PrintUnformatted(sum);
    cJSON_Delete(sum);
    if (!text) return SM_ENOMEM;
    const char *status = tuning_status_name(v->status);
    int rc = store_tuning_update(st->row.id, st->row.events, text, status, v->last_modified_ms,
                                 v->end_ms, v->next_change_ms);
    if (rc == SM_OK) {
        free(st->row.summary);
        st->row.summary = text;
        snprintf(st->row.status, sizeof st->row.status, "%s", status);
        st->row.last_modified_ms = v->last_modified_ms;
        st->row.end_ms = v->end_ms;
        st->row.next_change_ms = v->next_change_ms;
    } else {
        free(text);
    }
    return rc;
}

int tuning_advance(store_tuning *t, int64_t now_ms)
{
    tuning_state st;
    int rc = state_open(&st, t, now_ms, 0, 1);
    if (rc == SM_OK) rc = state_eval(&st, now_ms, 1);
    if (rc == SM_OK) rc = materialise(&st);
    tuning_state_free(&st);
    return rc;
}

typedef struct advance_arg {
    int64_t now_ms;
    int rc;
} advance_arg;

static int advance_one(store_tuning *t, void *arg)
{
    advance_arg *a = arg;
    a->rc = tuning_advance(t, a->now_ms);
    if (a->rc == SM_EINVAL) {
        /* A damaged row must not be retried forever: park it as it is. */
        a->rc =
            store_tuning_update(t->id, t->events ? t->events : "[]", t->summary ? t->summary : "{}",
                                t->status, t->last_modified_ms, t->end_ms, -1);
    }
    return a->rc != SM_OK;
}

int tuning_advance_due_in_tx(int64_t now_ms)
{
    advance_arg a = {now_ms, SM_OK};
    int n = store_tuning_due_each(now_ms, advance_one, &a);
    return n >= 0 && a.rc != SM_OK ? a.rc : n;
}

int tuning_advance_due(int64_t now_ms)
{
    int due = store_tuning_due_any(now_ms);
    return due <= 0 ? due : store_in_tx(tuning_advance_due_in_tx, now_ms);
}

int tuning_state_load(const char *region, const char *name, int64_t now_ms, int with_children,
                      int in_tx, tuning_state *st)
{
    memset(st, 0, sizeof *st);
    for (int attempt = 0; attempt < 2; attempt++) {
        store_tuning t;
        int rc = store_tuning_get(region, name, &t);
        if (rc != SM_OK) return rc;
        rc = state_open(st, &t, now_ms, with_children == TUNING_VIEWS_ALL, 0);
        if (rc == SM_OK) rc = state_eval(st, now_ms, 0);
        if (rc == SM_OK && with_children == TUNING_VIEWS_BEST && st->view.best >= 0)
            rc = load_view(st, st->view.best, now_ms);
        if (rc != SM_ESTATE) return rc;
        /* Not advanced yet (an input changed since its due time was set): advance it. */
        store_tuning_clear(&t);
        int64_t id = st->row.id;
        tuning_state_free(st);
        if (attempt > 0) return SM_EINVAL;
        if (!in_tx && (rc = store_begin()) != SM_OK) return rc;
        rc = store_tuning_get(region, name, &t);
        if (rc == SM_OK && t.id == id) rc = tuning_advance(&t, now_ms);
        store_tuning_clear(&t);
        if (!in_tx) {
            if (rc == SM_OK && store_commit() != SM_OK) rc = SM_ESTORE;
            if (rc != SM_OK) store_rollback();
        }
        if (rc != SM_OK) return rc;
    }
    return SM_EINVAL;
}

/* ---- views --------------------------------------------------------------------------------- */

cJSON *tuning_child_summary(const tuning_state *st, int i)
{
    const tuning_child_info *in = &st->info[i];
    const tn_child *c = &st->children[i];
    const tuning_spec *s = st->spec;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char arn[STORE_ARN_MAX];
    jobs_arn(st->row.region, in->row.name, arn, sizeof arn);
    if (s->multi) cJSON_AddStringToObject(o, "TrainingJobDefinitionName", in->row.definition);
    cJSON_AddStringToObject(o, "TrainingJobName", in->row.name);
    cJSON_AddStringToObject(o, "TrainingJobArn", in->exists ? in->job.arn : arn);
    cJSON_AddStringToObject(o, "TuningJobName", st->row.name);
    cJSON_AddItemToObject(o, "CreationTime", reply_time(in->row.created_ms));
    const char *status;
    if (in->exists && in->has_view) {
        if (in->training_start_ms >= 0)
            cJSON_AddItemToObject(o, "TrainingStartTime", reply_time(in->training_start_ms));
        if (in->training_end_ms >= 0)
            cJSON_AddItemToObject(o, "TrainingEndTime", reply_time(in->training_end_ms));
        status = lc_primary_name(in->primary);
        cJSON_AddStringToObject(o, "TrainingJobStatus", status);
        if (in->failure_reason) cJSON_AddStringToObject(o, "FailureReason", in->failure_reason);
    } else {
        status = c->status == TN_END_COMPLETED ? "Completed"
                 : c->status == TN_END_FAILED  ? "Failed"
                                               : "Stopped";
        cJSON_AddItemToObject(o, "TrainingEndTime", reply_time(c->end_ms));
        cJSON_AddStringToObject(o, "TrainingJobStatus", status);
    }
    cJSON *tuned = cJSON_Parse(in->row.tuned ? in->row.tuned : "{}");
    cJSON_AddItemToObject(o, "TunedHyperParameters", tuned ? tuned : cJSON_CreateObject());
    if (c->obj == TN_OBJ_SUCCEEDED) {
        cJSON *m = cJSON_AddObjectToObject(o, "FinalHyperParameterTuningJobObjectiveMetric");
        cJSON_AddStringToObject(m, "Type", s->objective_type);
        cJSON_AddStringToObject(m, "MetricName", s->metric[c->def]);
        cJSON_AddNumberToObject(m, "Value", c->obj_value);
    }
    cJSON_AddStringToObject(o, "ObjectiveStatus",
                            c->obj == TN_OBJ_SUCCEEDED ? "Succeeded"
                            : c->obj == TN_OBJ_FAILED  ? "Failed"
                                                       : "Pending");
    return o;
}

static void add_copy(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *v = member(from, name);
    if (v) cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

/* (documented) OverallBestTrainingJob: with WarmStartType IdenticalDataAndAlgorithm, the best of
 * this job's best and its parents' best jobs. */
static cJSON *overall_best(const tuning_state *st)
{
    const char *type = json_string(member(st->req, "WarmStartConfig"), "WarmStartType");
    if (!type || strcmp(type, "IdenticalDataAndAlgorithm") != 0) return NULL;
    int maximize = st->spec->cfg.maximize;
    cJSON *best = st->view.best >= 0 ? tuning_child_summary(st, st->view.best) : NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, member(st->extra, "parents"))
    {
        const cJSON *pb = member(p, "best");
        const cJSON *pv =
            member(member(pb, "FinalHyperParameterTuningJobObjectiveMetric"), "Value");
        const cJSON *bv =
            member(member(best, "FinalHyperParameterTuningJobObjectiveMetric"), "Value");
        if (!cJSON_IsNumber(pv)) continue;
        if (!best || !cJSON_IsNumber(bv) ||
            (maximize ? pv->valuedouble > bv->valuedouble : pv->valuedouble < bv->valuedouble)) {
            cJSON_Delete(best);
            best = cJSON_Duplicate(pb, 1);
        }
    }
    return best;
}

cJSON *tuning_describe(const tuning_state *st, int64_t now_ms)
{
    const tn_view *v = &st->view;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "HyperParameterTuningJobName", st->row.name);
    cJSON_AddStringToObject(o, "HyperParameterTuningJobArn", st->row.arn);
    add_copy(o, st->req, "HyperParameterTuningJobConfig");
    add_copy(o, st->req, "TrainingJobDefinition");
    add_copy(o, st->req, "TrainingJobDefinitions");
    add_copy(o, st->req, "WarmStartConfig");
    cJSON_AddStringToObject(o, "HyperParameterTuningJobStatus", tuning_status_name(v->status));
    cJSON_AddItemToObject(o, "CreationTime", reply_time(st->row.created_ms));
    if (v->end_ms >= 0)
        cJSON_AddItemToObject(o, "HyperParameterTuningEndTime", reply_time(v->end_ms));
    cJSON_AddItemToObject(o, "LastModifiedTime", reply_time(v->last_modified_ms));
    cJSON_AddItemToObject(o, "TrainingJobStatusCounters", status_counters(v));
    cJSON_AddItemToObject(o, "ObjectiveStatusCounters", objective_counters(v));
    if (v->best >= 0)
        cJSON_AddItemToObject(o, "BestTrainingJob", tuning_child_summary(st, v->best));
    cJSON *overall = overall_best(st);
    if (overall) cJSON_AddItemToObject(o, "OverallBestTrainingJob", overall);
    if (v->status == TN_FAILED) {
        char reason[256];
        snprintf(reason, sizeof reason,
                 "No training job succeeded after %d attempts. Please take a look at the training "
                 "job failures to get more details.",
                 v->failed_attempts);
        cJSON_AddStringToObject(o, "FailureReason", reason);
    }
    cJSON *cd = cJSON_AddObjectToObject(o, "TuningJobCompletionDetails");
    cJSON_AddNumberToObject(cd, "NumberOfTrainingJobsObjectiveNotImproving", v->not_improving);
    if (v->convergence_ms >= 0)
        cJSON_AddItemToObject(cd, "ConvergenceDetectedTime", reply_time(v->convergence_ms));
    int64_t until = v->end_ms >= 0 ? v->end_ms : now_ms;
    cJSON *cr = cJSON_AddObjectToObject(o, "ConsumedResources");
    cJSON_AddNumberToObject(
        cr, "RuntimeInSeconds",
        (double)((until > st->row.created_ms ? until - st->row.created_ms : 0) / 1000));
    add_copy(o, st->req, "Autotune");
    return o;
}

int64_t tuning_valid_until(const tuning_state *st, int64_t now_ms)
{
    const tn_view *v = &st->view;
    int64_t u = v->next_change_ms;
#define EARLIER(t) (u = u < 0 || (t) < u ? (t) : u)
    if (v->best >= 0 && st->info[v->best].exists && st->info[v->best].has_view &&
        st->info[v->best].view_next_ms >= 0)
        EARLIER(st->info[v->best].view_next_ms);
    if (v->end_ms < 0) { /* ConsumedResources counts the whole seconds up to now */
        int64_t created = st->row.created_ms;
        EARLIER(now_ms < created ? created + 1000
                                 : created + ((now_ms - created) / 1000 + 1) * 1000);
    }
#undef EARLIER
    return u;
}

cJSON *tuning_summary(const store_tuning *t)
{
    cJSON *req = cJSON_Parse(t->request ? t->request : "");
    cJSON *sum = cJSON_Parse(t->summary ? t->summary : "{}");
    cJSON *o = cJSON_CreateObject();
    const cJSON *conf = member(req, "HyperParameterTuningJobConfig");
    if (o) {
        cJSON_AddStringToObject(o, "HyperParameterTuningJobName", t->name);
        cJSON_AddStringToObject(o, "HyperParameterTuningJobArn", t->arn);
        cJSON_AddStringToObject(o, "HyperParameterTuningJobStatus", t->status);
        const char *strategy = json_string(conf, "Strategy");
        cJSON_AddStringToObject(o, "Strategy", strategy ? strategy : "Bayesian");
        cJSON_AddItemToObject(o, "CreationTime", reply_time(t->created_ms));
        if (t->end_ms >= 0)
            cJSON_AddItemToObject(o, "HyperParameterTuningEndTime", reply_time(t->end_ms));
        cJSON_AddItemToObject(o, "LastModifiedTime", reply_time(t->last_modified_ms));
        const cJSON *tc = member(sum, "TrainingJobStatusCounters");
        const cJSON *oc = member(sum, "ObjectiveStatusCounters");
        cJSON_AddItemToObject(o, "TrainingJobStatusCounters",
                              tc ? cJSON_Duplicate(tc, 1) : cJSON_CreateObject());
        cJSON_AddItemToObject(o, "ObjectiveStatusCounters",
                              oc ? cJSON_Duplicate(oc, 1) : cJSON_CreateObject());
        add_copy(o, conf, "ResourceLimits");
    }
    cJSON_Delete(req);
    cJSON_Delete(sum);
    return o;
}

int tuning_touch_child(const char *region, const char *child_name, int64_t now_ms)
{
    store_job job;
    int rc = store_job_get(region, child_name, &job);
    if (rc == SM_ENOTFOUND) return SM_OK;
    if (rc != SM_OK) return rc;
    cJSON *req = cJSON_Parse(job.request ? job.request : "");
    const char *arn = json_string(req, "TuningJobArn");
    if (arn) rc = store_tuning_touch(arn, now_ms);
    cJSON_Delete(req);
    store_job_clear(&job);
    return rc;
}
