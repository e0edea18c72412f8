/*
 * create.c: the birth of a training job, shared by CreateTrainingJob and the seed jobs of
 * fixture files: the cross-field rules the model cannot express, the defaults the service
 * fills in, the choice of its scenario, its first state, its row and tags, and the warm pool
 * it may take over.
 *
 * Callers have already checked every single-member constraint of the model (val_input). The
 * texts of the cross-field errors are ours (the spec found no real ones), except where marked
 * "the real text"; they name the members involved. Nothing here knows HTTP; errors come back
 * in a create_error.
 */
#include "clock.h"
#include "config.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "create.h"
#include "registry.h"
#include "scenario.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_RUNTIME_S 86400
#define MAX_MAX_RUNTIME_S 2419200

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int64_t int_member(const cJSON *o, const char *name, int64_t dflt)
{
    const cJSON *v = member(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *v = member(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int create_err(create_error *e, const char *code, const char *fmt, ...)
{
    if (!e) return SM_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return SM_EINVAL;
}

static int null_error(create_error *r, const char *path)
{
    return create_err(r, "ValidationException",
                      "1 validation error detected: Value null at '%s' failed to satisfy "
                      "constraint: Member must not be null",
                      path);
}

static int check_algorithm(create_error *r, const cJSON *in)
{
    const cJSON *as = member(in, "AlgorithmSpecification");
    if (!as)
        return member(in, "ServerlessJobConfig") ? SM_OK : null_error(r, "algorithmSpecification");
    if (!member(as, "AlgorithmName") == !member(as, "TrainingImage"))
        return create_err(r, "ValidationException",
                          "Exactly one of AlgorithmSpecification.AlgorithmName and "
                          "AlgorithmSpecification.TrainingImage must be specified.");
    return SM_OK;
}

static int check_resources(create_error *r, const cJSON *in)
{
    const cJSON *rc = member(in, "ResourceConfig");
    if (!rc) return member(in, "ServerlessJobConfig") ? SM_OK : null_error(r, "resourceConfig");
    int single = member(rc, "InstanceType") || member(rc, "InstanceCount");
    int groups = member(rc, "InstanceGroups") != NULL;
    if (single == groups ||
        (single && !(member(rc, "InstanceType") && member(rc, "InstanceCount"))))
        return create_err(r, "ValidationException",
                          "ResourceConfig must specify either InstanceType and InstanceCount, "
                          "or InstanceGroups, but not both.");
    return SM_OK;
}

static int check_stopping(create_error *r, const cJSON *in)
{
    const cJSON *sc = member(in, "StoppingCondition");
    int64_t runtime = int_member(sc, "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S);
    int64_t wait = int_member(sc, "MaxWaitTimeInSeconds", -1);
    int spot = cJSON_IsTrue(member(in, "EnableManagedSpotTraining"));
    if (runtime > MAX_MAX_RUNTIME_S)
        return create_err(r, "ValidationException",
                          "1 validation error detected: Value '%lld' at "
                          "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
                          "constraint: Member must have value less than or equal to %d",
                          (long long)runtime, MAX_MAX_RUNTIME_S);
    if (spot && wait < 0)
        return create_err(r, "ValidationException",
                          "StoppingCondition.MaxWaitTimeInSeconds must be specified when "
                          "EnableManagedSpotTraining is true.");
    if (!spot && wait >= 0) /* the real text (issue 15, item 5) */
        return create_err(r, "ValidationException",
                          "Invalid MaxWaitTimeInSeconds. It is only supported when "
                          "EnableManagedSpotTraining is set to true");
    if (spot && wait < runtime)
        return create_err(r, "ValidationException",
                          "StoppingCondition.MaxWaitTimeInSeconds (%lld) must be greater than "
                          "or equal to StoppingCondition.MaxRuntimeInSeconds (%lld).",
                          (long long)wait, (long long)runtime);
    return SM_OK;
}

static int check_channels(create_error *r, const cJSON *in)
{
    const cJSON *channels = member(in, "InputDataConfig"), *ch;
    const char *job_mode = str_member(member(in, "AlgorithmSpecification"), "TrainingInputMode");
    int i = 0;
    cJSON_ArrayForEach(ch, channels)
    {
        i++;
        const char *name = str_member(ch, "ChannelName");
        const cJSON *other;
        int j = 0;
        cJSON_ArrayForEach(other, channels)
        {
            if (++j < i && name && str_member(other, "ChannelName") &&
                strcmp(name, str_member(other, "ChannelName")) == 0)
                return create_err(r, "ValidationException",
                                  "Channel names must be unique: '%s' appears more than once "
                                  "in InputDataConfig.",
                                  name);
        }
        const cJSON *ds = member(ch, "DataSource");
        int sources = !!member(ds, "S3DataSource") + !!member(ds, "FileSystemDataSource") +
                      !!member(ds, "DatasetSource");
        if (sources != 1)
            return create_err(r, "ValidationException",
                              "InputDataConfig channel '%s': DataSource must specify exactly "
                              "one of S3DataSource, FileSystemDataSource and DatasetSource.",
                              name ? name : "");
        const char *type = str_member(member(ds, "S3DataSource"), "S3DataType");
        const char *mode = str_member(ch, "InputMode");
        if (!mode) mode = job_mode;
        if (type && strcmp(type, "AugmentedManifestFile") == 0 && mode && strcmp(mode, "Pipe") != 0)
            return create_err(r, "ValidationException",
                              "InputDataConfig channel '%s': AugmentedManifestFile can be used "
                              "only when the channel's input mode is Pipe.",
                              name ? name : "");
    }
    return SM_OK;
}

static int check_tags(create_error *r, const cJSON *tags)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        const char *k = str_member(t, "Key");
        if (k && strncmp(k, "aws:", 4) == 0)
            return create_err(r, "ValidationException",
                              "Tag keys starting with 'aws:' are reserved for system use: '%s'.",
                              k);
    }
    return SM_OK;
}

/* Adds `name` = item to o unless present; false only when allocation failed. */
static int fill(cJSON *o, const char *name, cJSON *item)
{
    if (!o || member(o, name)) {
        cJSON_Delete(item);
        return 1;
    }
    return item && cJSON_AddItemToObject(o, name, item);
}

int create_fill_profiler(cJSON *req)
{
    int ok = 1;
    cJSON *pc = member(req, "ProfilerConfig");
    if (pc && !cJSON_IsTrue(member(pc, "DisableProfiler")))
        ok &= fill(pc, "ProfilingIntervalInMilliseconds", cJSON_CreateNumber(500));
    cJSON *rule;
    cJSON_ArrayForEach(rule, member(req, "ProfilerRuleConfigurations"))
    {
        ok &= fill(rule, "VolumeSizeInGB", cJSON_CreateNumber(0));
    }
    return ok ? SM_OK : SM_ENOMEM;
}

/* The values the service fills in, as Describe shows them (spec §2.1). */
static int fill_defaults(cJSON *in)
{
    int ok = 1;
    cJSON *ch;
    cJSON_ArrayForEach(ch, member(in, "InputDataConfig"))
    {
        ok &= fill(ch, "CompressionType", cJSON_CreateString("None"));
        ok &= fill(ch, "RecordWrapperType", cJSON_CreateString("None"));
    }
    cJSON *odc = member(in, "OutputDataConfig");
    ok &= fill(odc, "KmsKeyId", cJSON_CreateString(""));
    ok &= fill(odc, "CompressionType", cJSON_CreateString("GZIP"));
    ok &= fill(member(in, "AlgorithmSpecification"), "EnableSageMakerMetricsTimeSeries",
               cJSON_CreateFalse());
    ok &= fill(in, "StoppingCondition", cJSON_CreateObject());
    ok &= fill(member(in, "StoppingCondition"), "MaxRuntimeInSeconds",
               cJSON_CreateNumber(DEFAULT_MAX_RUNTIME_S));
    ok &= fill(in, "EnableNetworkIsolation", cJSON_CreateFalse());
    ok &= fill(in, "EnableInterContainerTrafficEncryption", cJSON_CreateFalse());
    ok &= fill(in, "EnableManagedSpotTraining", cJSON_CreateFalse());
    ok &= create_fill_profiler(in) == SM_OK;
    return ok ? SM_OK : SM_ENOMEM;
}

int create_check(const cJSON *in, create_error *e)
{
    if (check_algorithm(e, in) || check_resources(e, in) || check_stopping(e, in) ||
        check_channels(e, in) || check_tags(e, member(in, "Tags")))
        return SM_EINVAL;
    return SM_OK;
}

/* Warm-pool reuse (spec §3.2.8; the matching rule is inferred from the AWS warm-pool docs): a
 * new job that asks for a warm pool takes over an Available pool of the same region whose job
 * had the same role, instances, volume, network and encryption settings. */
static int same_member(const cJSON *a, const cJSON *b, const char *name)
{
    const cJSON *x = member(a, name), *y = member(b, name);
    if (!x || !y) return !x && !y;
    return cJSON_Compare(x, y, 1);
}

static const char *const pool_top[] = {"RoleArn", "VpcConfig", "EnableNetworkIsolation",
                                       "EnableInterContainerTrafficEncryption"};
static const char *const pool_resources[] = {"InstanceType", "InstanceCount", "VolumeSizeInGB",
                                             "VolumeKmsKeyId", "InstanceGroups"};

static int pool_matches(const cJSON *mine, const cJSON *theirs)
{
    for (size_t i = 0; i < sizeof pool_top / sizeof pool_top[0]; i++)
        if (!same_member(mine, theirs, pool_top[i])) return 0;
    for (size_t i = 0; i < sizeof pool_resources / sizeof pool_resources[0]; i++)
        if (!same_member(member(mine, "ResourceConfig"), member(theirs, "ResourceConfig"),
                         pool_resources[i]))
            return 0;
    return 1;
}

typedef struct reuse {
    const cJSON *request;
    const char *name;
    int64_t now_ms;
    int done, rc;
} reuse;

static int try_reuse(store_job *job, void *arg)
{
    reuse *u = arg;
    cJSON *theirs = cJSON_Parse(job->request);
    int match = theirs && pool_matches(u->request, theirs);
    cJSON_Delete(theirs);
    if (!match) return 0;
    jobs_ctx *c = jobs_ctx_new();
    if (!c || jobs_eval(job, u->now_ms, c) != SM_OK || c->view.warm_pool != LC_WP_AVAILABLE) {
        jobs_ctx_free(c);
        return 0;
    }
    u->rc = jobs_add_reuse(c, u->now_ms, u->name);
    if (u->rc == SM_OK) u->rc = jobs_save(job, c, NULL);
    jobs_ctx_free(c);
    u->done = u->rc == SM_OK;
    return 1;
}

/* ---- the pool index of a seed batch ---------------------------------------------------- */

/* A canonical text of a JSON value: object members sorted by name, numbers as %.17g, strings
 * with their length, so that equal texts mean cJSON_Compare(…, 1) equal values. */
static void canonical(strbuf *b, const cJSON *v, int depth)
{
    if (!v || depth > 32) {
        sb_putc(b, '~');
    } else if (cJSON_IsString(v)) {
        sb_printf(b, "s%zu:", strlen(v->valuestring));
        sb_puts(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        sb_printf(b, "n%.17g", v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        sb_putc(b, '[');
        for (const cJSON *c = v->child; c; c = c->next)
            canonical(b, c, depth + 1), sb_putc(b, ',');
        sb_putc(b, ']');
    } else if (cJSON_IsObject(v)) {
        int n = cJSON_GetArraySize(v), k = 0;
        const cJSON **m = n ? malloc((size_t)n * sizeof *m) : NULL;
        if (n && !m) {
            b->oom = 1;
            return;
        }
        for (const cJSON *c = v->child; c; c = c->next)
            m[k++] = c;
        for (int i = 1; i < n; i++) /* insertion sort: a handful of members */
            for (int j = i; j > 0 && strcmp(m[j - 1]->string, m[j]->string) > 0; j--) {
                const cJSON *t = m[j];
                m[j] = m[j - 1];
                m[j - 1] = t;
            }
        sb_putc(b, '{');
        for (int i = 0; i < n; i++) {
            sb_printf(b, "s%zu:", strlen(m[i]->string));
            sb_puts(b, m[i]->string);
            canonical(b, m[i], depth + 1);
            sb_putc(b, ',');
        }
        sb_putc(b, '}');
        free(m);
    } else {
        sb_puts(b, cJSON_IsTrue(v) ? "t" : cJSON_IsFalse(v) ? "f" : "z");
    }
}

/* The key two requests share exactly when pool_matches() says they match, in their region. */
static char *pool_key(const char *region, const cJSON *req)
{
    strbuf b = {0};
    sb_puts(&b, region);
    sb_putc(&b, '/');
    for (size_t i = 0; i < sizeof pool_top / sizeof pool_top[0]; i++)
        canonical(&b, member(req, pool_top[i]), 0), sb_putc(&b, ';');
    for (size_t i = 0; i < sizeof pool_resources / sizeof pool_resources[0]; i++)
        canonical(&b, member(member(req, "ResourceConfig"), pool_resources[i]), 0),
            sb_putc(&b, ';');
    return sb_take(&b);
}

typedef struct pool_entry {
    int64_t end_ms, id;
    char name[STORE_NAME_MAX];
} pool_entry;

typedef struct pool_group {
    char *key;
    pool_entry *e; /* by (end_ms, id), as the store's scan orders them */
    size_t n, cap;
} pool_group;

struct create_pools {
    pool_group *g;
    size_t ng, gcap;
    size_t *slot; /* open addressing: group index + 1; 0 empty */
    size_t nslot;
    char **regions; /* regions whose pools were read */
    size_t nregions;
    int failed;
};

create_pools *create_pools_new(void)
{
    return calloc(1, sizeof(create_pools));
}

void create_pools_free(create_pools *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->ng; i++) {
        free(p->g[i].key);
        free(p->g[i].e);
    }
    for (size_t i = 0; i < p->nregions; i++)
        free(p->regions[i]);
    free(p->g);
    free(p->slot);
    free(p->regions);
    free(p);
}

static size_t key_hash(const char *k)
{
    uint64_t h = 1469598103934665603u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211u;
    return (size_t)h;
}

/* The group of key (taken over when created, freed otherwise); NULL when out of memory. */
static pool_group *pool_group_of(create_pools *p, char *key)
{
    if (2 * (p->ng + 1) > p->nslot) {
        size_t n = p->nslot ? 2 * p->nslot : 64;
        size_t *slot = calloc(n, sizeof *slot);
        if (!slot) return free(key), NULL;
        for (size_t i = 0; i < p->ng; i++) {
            size_t h = key_hash(p->g[i].key) & (n - 1);
            while (slot[h])
                h = (h + 1) & (n - 1);
            slot[h] = i + 1;
        }
        free(p->slot);
        p->slot = slot;
        p->nslot = n;
    }
    size_t h = key_hash(key) & (p->nslot - 1);
    for (; p->slot[h]; h = (h + 1) & (p->nslot - 1))
        if (strcmp(p->g[p->slot[h] - 1].key, key) == 0) {
            free(key);
            return &p->g[p->slot[h] - 1];
        }
    if (p->ng == p->gcap) {
        size_t cap = p->gcap ? 2 * p->gcap : 16;
        pool_group *g = realloc(p->g, cap * sizeof *g);
        if (!g) return free(key), NULL;
        p->g = g;
        p->gcap = cap;
    }
    p->g[p->ng] = (pool_group){key, NULL, 0, 0};
    p->slot[h] = ++p->ng;
    return &p->g[p->ng - 1];
}

/* Add a pool, keeping the group in (end_ms, id) order. */
static int pool_add(create_pools *p, const char *region, const cJSON *req, int64_t end_ms,
                    int64_t id, const char *name)
{
    char *key = pool_key(region, req);
    pool_group *g = key ? pool_group_of(p, key) : NULL;
    if (!g) return SM_ENOMEM;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 4;
        pool_entry *e = realloc(g->e, cap * sizeof *e);
        if (!e) return SM_ENOMEM;
        g->e = e;
        g->cap = cap;
    }
    size_t at = g->n;
    while (at > 0 && (g->e[at - 1].end_ms > end_ms ||
                      (g->e[at - 1].end_ms == end_ms && g->e[at - 1].id > id)))
        at--;
    memmove(g->e + at + 1, g->e + at, (g->n - at) * sizeof *g->e);
    g->e[at].end_ms = end_ms;
    g->e[at].id = id;
    snprintf(g->e[at].name, sizeof g->e[at].name, "%s", name);
    g->n++;
    return SM_OK;
}

typedef struct pool_read {
    create_pools *p;
    int rc;
} pool_read;

static int read_pool(store_job *job, void *arg)
{
    pool_read *pr = arg;
    cJSON *req = cJSON_Parse(job->request);
    pr->rc = req ? pool_add(pr->p, job->region, req, job->end_ms, job->id, job->name) : SM_ENOMEM;
    cJSON_Delete(req);
    return pr->rc != SM_OK;
}

/* Read the region's Available pools once. */
static int pools_load(create_pools *p, const char *region)
{
    for (size_t i = 0; i < p->nregions; i++)
        if (strcmp(p->regions[i], region) == 0) return SM_OK;
    char **r = realloc(p->regions, (p->nregions + 1) * sizeof *r);
    if (!r) return SM_ENOMEM;
    p->regions = r;
    if (!(r[p->nregions] = strdup(region))) return SM_ENOMEM;
    p->nregions++;
    pool_read pr = {p, SM_OK};
    int n = store_each_warm_pool(region, "Available", -1, read_pool, &pr);
    return n < 0 ? n : pr.rc;
}

static int pools_loaded(const create_pools *p, const char *region)
{
    for (size_t i = 0; i < p->nregions; i++)
        if (strcmp(p->regions[i], region) == 0) return 1;
    return 0;
}

/* The batch's takeover: the first pool of the request's group that is still Available, in the
 * order the store's scan would have offered it. */
static int pools_take(create_pools *p, const char *region, const cJSON *in, reuse *u)
{
    int rc = pools_load(p, region);
    char *key = rc == SM_OK ? pool_key(region, in) : NULL;
    if (rc == SM_OK && !key) rc = SM_ENOMEM;
    pool_group *g = key ? pool_group_of(p, key) : NULL;
    if (key && !g) rc = SM_ENOMEM;
    while (rc == SM_OK && g->n && !u->done) {
        pool_entry e = g->e[0];
        memmove(g->e, g->e + 1, (g->n - 1) * sizeof *g->e); /* taken, or no longer Available */
        g->n--;
        store_job job;
        rc = store_job_get(region, e.name, &job);
        if (rc == SM_ENOTFOUND) {
            rc = SM_OK;
            continue;
        }
        if (rc != SM_OK) break;
        if (job.id == e.id && strcmp(job.warm_pool, "Available") == 0) try_reuse(&job, u);
        store_job_clear(&job);
        rc = u->rc;
    }
    return rc;
}

static void fill_state(store_job *job, const lc_view *v)
{
    store_state st;
    jobs_state(v, &st);
    snprintf(job->status, sizeof job->status, "%s", st.status);
    snprintf(job->secondary, sizeof job->secondary, "%s", st.secondary);
    snprintf(job->warm_pool, sizeof job->warm_pool, "%s", st.warm_pool);
    job->last_modified_ms = st.last_modified_ms;
    job->end_ms = st.end_ms;
    job->next_change_ms = st.next_change_ms;
    free(job->summary);
    job->summary = describe_summary_of(job, &st);
}

static int internal(create_error *e)
{
    return create_err(e, "InternalFailure",
                      "The request processing has failed because of an unknown error, exception or "
                      "failure.");
}

/* A job built from its request, not yet stored. */
struct create_row {
    store_job job;
    cJSON *tags;     /* detached from the request; owned */
    const cJSON *in; /* the request (defaults filled), borrowed: a takeover matches on it */
};

void create_row_free(create_row *row)
{
    if (!row) return;
    cJSON_Delete(row->tags);
    store_job_clear(&row->job);
    free(row);
}

int create_build(cJSON *in, const create_opts *o, create_row **out, create_error *e)
{
    *out = NULL;
    if (fill_defaults(in) != SM_OK) return internal(e), SM_ENOMEM;
    char scenario_name[REG_NAME_MAX], reason[512];
    char *scenario = NULL;
    int rc;
    if (o->scenario_name) {
        snprintf(scenario_name, sizeof scenario_name, "%s", o->scenario_name);
        scenario = strdup(o->scenario_json);
        rc = scenario ? SM_OK : SM_ENOMEM;
    } else {
        rc = reg_choose(in, scenario_name, &scenario, reason, sizeof reason);
    }
    if (rc != SM_OK)
        return rc == SM_ENOMEM ? internal(e) : create_err(e, "ValidationException", "%s", reason);
    create_row *row = calloc(1, sizeof *row);
    if (!row) {
        free(scenario);
        return internal(e), SM_ENOMEM;
    }
    store_job *job = &row->job;
    row->in = in;
    row->tags = cJSON_DetachItemFromObjectCaseSensitive(in, "Tags");
    const cJSON *sc = member(in, "StoppingCondition");
    snprintf(job->region, sizeof job->region, "%s", o->region);
    snprintf(job->name, sizeof job->name, "%s", str_member(in, "TrainingJobName"));
    jobs_arn(job->region, job->name, job->arn, sizeof job->arn);
    job->created_ms = o->created_ms;
    job->max_runtime_s = int_member(sc, "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S);
    job->max_wait_s = int_member(sc, "MaxWaitTimeInSeconds", -1);
    job->spot = cJSON_IsTrue(member(in, "EnableManagedSpotTraining"));
    job->max_retry = (int)int_member(member(in, "RetryStrategy"), "MaximumRetryAttempts", 0);
    job->keep_alive_s = int_member(member(in, "ResourceConfig"), "KeepAlivePeriodInSeconds", 0);
    snprintf(job->scenario_name, sizeof job->scenario_name, "%s", scenario_name);
    job->scenario = scenario;
    job->request = cJSON_PrintUnformatted(in);
    job->events = strdup("[]");
    const char *plan = str_member(member(in, "ResourceConfig"), "TrainingPlanArn");
    job->training_plan_arn = plan ? strdup(plan) : NULL;

    jobs_ctx *c = jobs_ctx_new();
    rc = c && job->request && job->events && (!plan || job->training_plan_arn) ? SM_OK : SM_ENOMEM;
    if (rc == SM_OK) rc = jobs_eval(job, o->now_ms, c);
    if (rc == SM_OK && o->stop_at_ms >= 0) {
        lc_view at_stop;
        lc_eval(&c->plan, c->ev, c->nev, o->stop_at_ms, &at_stop);
        if (at_stop.primary == LC_IN_PROGRESS)
            rc = jobs_add_event(c, LC_EV_STOP, o->stop_at_ms, 0, o->now_ms);
        if (rc == SM_OK) {
            free(job->events);
            job->events = jobs_events_json(c);
            if (!job->events) rc = SM_ENOMEM;
        }
    }
    if (rc == SM_OK) fill_state(job, &c->view);
    jobs_ctx_free(c);
    if (rc != SM_OK) {
        create_row_free(row);
        return internal(e), rc;
    }
    *out = row;
    return SM_OK;
}

int create_insert(create_row *row, const create_opts *o, char arn[STORE_ARN_MAX], create_error *e)
{
    store_job *job = &row->job;
    const cJSON *in = row->in;
    char existing[STORE_ARN_MAX];
    int rc = store_job_insert(job, existing);
    if (rc == SM_EEXIST)
        create_err(e, "ResourceInUse",
                   "Training job names must be unique within an AWS account and region, and a "
                   "training job with this name already exists (%s)",
                   existing);
    const cJSON *t;
    cJSON_ArrayForEach(t, row->tags)
    {
        if (rc != SM_OK) break;
        rc = store_tag_put(job->id, str_member(t, "Key"), str_member(t, "Value"));
    }
    if (rc == SM_OK && job->keep_alive_s > 0 && o->stop_at_ms < 0 && o->created_ms == o->now_ms) {
        reuse u = {in, job->name, o->now_ms, 0, SM_OK};
        rc = jobs_advance_due_in_tx(o->now_ms);
        if (rc >= 0 && o->pools)
            rc = pools_take(o->pools, job->region, in, &u);
        else if (rc >= 0)
            rc = store_each_warm_pool(job->region, "Available", job->id, try_reuse, &u);
        if (rc >= 0) rc = u.rc;
    }
    /* A seed that is itself an Available pool (created earlier, kept alive) can be taken over
     * by the next ones. */
    if (rc == SM_OK && o->pools && strcmp(job->warm_pool, "Available") == 0 &&
        pools_loaded(o->pools, job->region))
        rc = pool_add(o->pools, job->region, in, job->end_ms, job->id, job->name);
    if (rc == SM_OK)
        snprintf(arn, STORE_ARN_MAX, "%s", job->arn);
    else if (rc != SM_EEXIST)
        internal(e);
    return rc;
}

int create_job(cJSON *in, const create_opts *o, char arn[STORE_ARN_MAX], create_error *e)
{
    create_row *row;
    int rc = create_build(in, o, &row, e);
    if (rc == SM_OK) rc = create_insert(row, o, arn, e);
    create_row_free(row);
    return rc;
}
