/*
 * fixtures.c: loading fixture documents (see fixtures.h for the contract; docs/FIXTURES.md
 * for the format).
 *
 *   {"$schema": ..., "description": ...,
 *    "scenarios": [{"name": ..., "extends": "<scenario>", ...scenario fields...}],
 *    "rules":     [{"match": {"name": glob, "instanceType": glob,
 *                             "hyperParameters": {key: glob}, "tags": {key: glob}},
 *                   "scenario": name}],
 *    "jobs":      [{"request": {CreateTrainingJob request}, "scenario": name,
 *                   "region": name, "createdSecondsAgo": s, "stoppedAfterSeconds": s}],
 *    "faults":    [{"service": ..., "operation": ..., "jobName": glob, "error": ...,
 *                   "count": n, "probability": p, "latencyMs": ms}],
 *    "iam":       {"missingRoles": [glob, ...]}}
 *
 * "extends" copies a scenario and overrides its fields; the "failure" and "spot" objects are
 * merged member by member, every other field replaced. Seed jobs whose name already exists in
 * their region are left as they are (so a persistent database is not seeded twice).
 */
#include "fixtures.h"
#include "config.h"
#include "create.h"
#include "errors.h"
#include "faults.h"
#include "iam.h"
#include "jsonpos.h"
#include "log.h"
#include "model.h"
#include "sagemaker.h"
#include "registry.h"
#include "scenario.h"
#include "validate.h"
#include "batch.h"
#include "store.h"
#include "text.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES (64u << 20)
#define FX_MAX_RULES 1000     /* rules in the registry, all fixtures together */
#define FX_MAX_SCENARIOS 1000 /* scenarios besides the built-in ones */

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* The start-up documents, kept for reset. */
typedef struct doc {
    char *source, *text;
    size_t len;
    int builtin;
} doc;
static doc *startup;
static int nstartup;

/* One document being loaded. */
typedef struct load {
    const char *text, *source;
    size_t len;
    char *err;
    size_t errlen;
    int builtin;
    int64_t now_ms;
} load;

__attribute__((format(printf, 3, 4))) static int refuse(const load *l, const char *path,
                                                        const char *fmt, ...)
{
    int line, col;
    jpos_line_col(l->text, jpos_find(l->text, l->len, path), &line, &col);
    int n = snprintf(l->err, l->errlen, "%s:%d:%d: %s%s", l->source, line, col, path,
                     *path ? ": " : "");
    if (n >= 0 && (size_t)n < l->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return SM_EINVAL;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Refuse members of o that are not in names. */
static int only(const load *l, const cJSON *o, const char *path, const char *const *names, int n)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        int i = 0;
        while (i < n && strcmp(m->string, names[i]))
            i++;
        if (i == n) {
            char p[256];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", m->string);
            char known[256] = "";
            for (int k = 0; k < n; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                         names[k]);
            return refuse(l, p, "unknown field (expected %s)", known);
        }
    }
    return SM_OK;
}

static int array_of_objects(const load *l, const cJSON *a, const char *path)
{
    if (!cJSON_IsArray(a)) return refuse(l, path, "must be an array");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        char p[64];
        snprintf(p, sizeof p, "%s[%d]", path, i++);
        if (!cJSON_IsObject(e)) return refuse(l, p, "must be an object");
    }
    return SM_OK;
}

/* ---- scenarios --------------------------------------------------------------------- */

static cJSON *merged_scenario(const cJSON *base, const cJSON *user)
{
    cJSON *out = base ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();
    if (!out) return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(out, "description");
    const cJSON *m;
    cJSON_ArrayForEach(m, user)
    {
        if (!strcmp(m->string, "extends")) continue;
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(out, m->string);
        if (cur && cJSON_IsObject(cur) && cJSON_IsObject(m) &&
            (!strcmp(m->string, "failure") || !strcmp(m->string, "spot") ||
             !strcmp(m->string, "metrics") || !strcmp(m->string, "ruleResults"))) {
            const cJSON *f;
            cJSON_ArrayForEach(f, m)
            {
                cJSON *copy = cJSON_Duplicate(f, 1);
                if (!copy) goto oom;
                if (cJSON_GetObjectItemCaseSensitive(cur, f->string))
                    cJSON_ReplaceItemInObjectCaseSensitive(cur, f->string, copy);
                else
                    cJSON_AddItemToObject(cur, f->string, copy);
            }
            continue;
        }
        cJSON *copy = cJSON_Duplicate(m, 1);
        if (!copy) goto oom;
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(out, m->string, copy);
        else
            cJSON_AddItemToObject(out, m->string, copy);
    }
    return out;
oom:
    cJSON_Delete(out);
    return NULL;
}

static int load_scenarios(const load *l, const cJSON *a, reg_batch *b)
{
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, a)
    {
        char p[64];
        snprintf(p, sizeof p, "scenarios[%d]", i++);
        const cJSON *name = member(s, "name"), *ext = member(s, "extends");
        if (!cJSON_IsString(name)) return refuse(l, p, "a scenario needs a \"name\"");
        if (!l->builtin && reg_is_builtin(name->valuestring))
            return refuse(l, p,
                          "'%s' is a built-in scenario and cannot be redefined; give yours "
                          "another name (\"extends\": \"%s\" starts from it)",
                          name->valuestring, name->valuestring);
        for (int k = 0; k < i - 1; k++) {
            const cJSON *other = member(cJSON_GetArrayItem(a, k), "name");
            if (cJSON_IsString(other) && !strcmp(other->valuestring, name->valuestring))
                return refuse(l, p, "scenario '%s' is defined twice in this document",
                              name->valuestring);
        }
        const cJSON *base = NULL;
        if (ext) {
            if (!cJSON_IsString(ext) || !(base = reg_batch_scenario(b, ext->valuestring))) {
                char pe[80];
                snprintf(pe, sizeof pe, "%s.extends", p);
                return refuse(l, pe, "no scenario named '%s' (built in, or earlier in a fixture)",
                              cJSON_IsString(ext) ? ext->valuestring : "?");
            }
        }
        cJSON *full = merged_scenario(base, s);
        if (!full) return refuse(l, p, "out of memory");
        lc_scenario *sc = malloc(sizeof *sc);
        char why[512];
        int rc = sc ? scn_from_json(full, sc, why, sizeof why) : SM_ENOMEM;
        free(sc);
        if (rc != SM_OK) {
            cJSON_Delete(full);
            /* Point at the field when the user's object has it, else at the scenario. */
            char pf[600];
            snprintf(pf, sizeof pf, "%s.%.*s", p, (int)strcspn(why, ":"), why);
            const char *colon = strchr(why, ':');
            return refuse(l, jpos_find(l->text, l->len, pf) ? pf : p, "%s",
                          colon && jpos_find(l->text, l->len, pf) ? colon + 2 : why);
        }
        if (reg_batch_add_scenario(b, full, l->builtin) != SM_OK)
            return refuse(l, p, "out of memory");
    }
    return SM_OK;
}

/* ---- rules ------------------------------------------------------------------------- */

static int glob_map(const load *l, const cJSON *m, const char *path)
{
    if (!cJSON_IsObject(m)) return refuse(l, path, "must be an object of key -> glob");
    const cJSON *v;
    cJSON_ArrayForEach(v, m)
    {
        char p[300];
        snprintf(p, sizeof p, "%s.%s", path, v->string);
        if (!cJSON_IsString(v)) return refuse(l, p, "must be a string (a glob such as \"1*\")");
    }
    return SM_OK;
}

static int load_rules(const load *l, const cJSON *a, reg_batch *b)
{
    static const char *const rule_fields[] = {"match", "scenario", "description"};
    static const char *const match_fields[] = {"name", "instanceType", "hyperParameters", "tags"};
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, a)
    {
        char p[64], pm[80];
        snprintf(p, sizeof p, "rules[%d]", i++);
        snprintf(pm, sizeof pm, "%s.match", p);
        if (only(l, r, p, rule_fields, 3)) return SM_EINVAL;
        const cJSON *match = member(r, "match"), *sc = member(r, "scenario");
        if (!cJSON_IsObject(match))
            return refuse(l, p, "a rule needs a \"match\" object (an empty one matches every job)");
        if (only(l, match, pm, match_fields, 4)) return SM_EINVAL;
        for (int k = 0; k < 2; k++) {
            const cJSON *g = member(match, match_fields[k]);
            char pg[128];
            snprintf(pg, sizeof pg, "%s.%s", pm, match_fields[k]);
            if (g && !cJSON_IsString(g)) return refuse(l, pg, "must be a string (a glob)");
        }
        char ph[128], pt[128];
        snprintf(ph, sizeof ph, "%s.hyperParameters", pm);
        snprintf(pt, sizeof pt, "%s.tags", pm);
        if (member(match, "hyperParameters") && glob_map(l, member(match, "hyperParameters"), ph))
            return SM_EINVAL;
        if (member(match, "tags") && glob_map(l, member(match, "tags"), pt)) return SM_EINVAL;
        char ps[80];
        snprintf(ps, sizeof ps, "%s.scenario", p);
        if (!cJSON_IsString(sc) || !reg_batch_scenario(b, sc->valuestring))
            return refuse(l, cJSON_IsString(sc) ? ps : p, "no scenario named '%s'",
                          cJSON_IsString(sc) ? sc->valuestring : "(missing \"scenario\")");
        cJSON *copy = cJSON_Duplicate(r, 1);
        if (!copy || reg_batch_add_rule(b, copy) != SM_OK) {
            cJSON_Delete(copy);
            return refuse(l, p, "out of memory");
        }
    }
    return SM_OK;
}

/* ---- seed jobs --------------------------------------------------------------------- */

/* One seed job, checked: its request (the document's own object, modified by create_job), its
 * region, scenario and times. */
typedef struct seed {
    cJSON *request; /* borrowed */
    char region[32];
    char scenario_name[REG_NAME_MAX];
    char *scenario_json; /* owned when scenario_owned, else the document's scenario_texts' */
    int scenario_owned;
    int64_t created_ms, stop_at_ms;
} seed;

/* The text of each scenario the seeds of a document name, printed once rather than per seed. */
typedef struct scenario_texts {
    struct {
        const cJSON *scenario;
        char *text;
    } * e;
    size_t n;
} scenario_texts;

/* The printed text of scenario sc (borrowed from t), NULL when out of memory. */
static char *scenario_text(scenario_texts *t, const cJSON *sc)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].scenario == sc) return t->e[i].text;
    void *more = realloc(t->e, (t->n + 1) * sizeof *t->e);
    if (!more) return NULL;
    t->e = more;
    char *text = cJSON_PrintUnformatted(sc);
    if (!text) return NULL;
    t->e[t->n].scenario = sc;
    t->e[t->n++].text = text;
    return text;
}

static void scenario_texts_free(scenario_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].text);
    free(t->e);
}

static int seconds_field(const load *l, const cJSON *j, const char *p, const char *name,
                         double *out)
{
    const cJSON *v = member(j, name);
    if (!v) return SM_OK;
    char pf[96];
    snprintf(pf, sizeof pf, "%s.%s", p, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e10))
        return refuse(l, pf, "must be a number of seconds >= 0");
    *out = v->valuedouble;
    return SM_OK;
}

/*
 * Seed requests that val_input passed, kept so that the next seeds are not walked through the
 * model again: a document's seeds are mostly copies of a few requests with other names. A
 * request equal to a kept one, member by member in the same order, but for TrainingJobName,
 * passes val_input exactly when its name does (val_member_ok). Anything else is validated in
 * full, so refusals keep their messages.
 */
#define VALID_KEPT 4
typedef struct valid_seeds {
    cJSON *kept[VALID_KEPT]; /* owned copies */
    int next;
} valid_seeds;

/* a and b equal, strictly (same members in the same order); at the top (skip) their
 * TrainingJobName members are not compared. */
static int same_json(const cJSON *a, const cJSON *b, int skip)
{
    if ((a->type & 0xff) != (b->type & 0xff)) return 0;
    if (cJSON_IsString(a)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsNumber(a)) return a->valuedouble == b->valuedouble && a->valueint == b->valueint;
    if (!cJSON_IsArray(a) && !cJSON_IsObject(a)) return 1;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0) return 0;
        if (skip && strcmp(x->string, "TrainingJobName") == 0) {
            if (!cJSON_IsString(x) || !cJSON_IsString(y)) return 0;
            continue;
        }
        if (!same_json(x, y, 0)) return 0;
    }
    return !x && !y;
}

static int validate_seed(valid_seeds *v, const cJSON *req, char **msg)
{
    const sm_model *m = sagemaker_model();
    const char *shape = model_input_shape(m, "CreateTrainingJob");
    for (int i = 0; i < VALID_KEPT; i++)
        if (v->kept[i] && same_json(v->kept[i], req, 1) &&
            val_member_ok(m, shape, "TrainingJobName", member(req, "TrainingJobName")))
            return VAL_OK;
    int rc = val_input(m, shape, req, msg);
    if (rc == VAL_OK) {
        cJSON *copy = cJSON_Duplicate(req, 1);
        if (copy) {
            cJSON_Delete(v->kept[v->next]);
            v->kept[v->next] = copy;
            v->next = (v->next + 1) % VALID_KEPT;
        }
    }
    return rc;
}

static void valid_seeds_free(valid_seeds *v)
{
    for (int i = 0; i < VALID_KEPT; i++)
        cJSON_Delete(v->kept[i]);
}

static int check_seed(const load *l, cJSON *j, const char *p, reg_batch *b, scenario_texts *texts,
                      valid_seeds *valid, seed *s)
{
    static const char *const fields[] = {
        "request", "scenario", "region", "createdSecondsAgo", "stoppedAfterSeconds", "description"};
    if (only(l, j, p, fields, 6)) return SM_EINVAL;
    cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request");
    const cJSON *sc = member(j, "scenario"), *rg = member(j, "region");
    char pr[80];
    snprintf(pr, sizeof pr, "%s.request", p);
    if (!cJSON_IsObject(req))
        return refuse(l, p, "a seed job needs a \"request\": a CreateTrainingJob request");
    char *msg = NULL;
    int rc = validate_seed(valid, req, &msg);
    if (rc != VAL_OK) {
        rc = refuse(l, pr, "%s: %s",
                    rc == VAL_SERIALIZATION ? "SerializationException" : "ValidationException",
                    msg ? msg : "out of memory");
        free(msg);
        return rc;
    }
    create_error e = {0};
    if (create_check(req, &e) != SM_OK) return refuse(l, pr, "%s: %s", e.code, e.message);
    snprintf(s->region, sizeof s->region, "%s", cfg.region);
    if (rg) {
        size_t n = cJSON_IsString(rg) ? strlen(rg->valuestring) : 0;
        char pg[80];
        snprintf(pg, sizeof pg, "%s.region", p);
        if (n == 0 || n > 25 ||
            strspn(rg->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
            return refuse(l, pg, "must be a region name such as us-west-2");
        snprintf(s->region, sizeof s->region, "%s", rg->valuestring);
    }
    double ago = 0, stop = -1;
    if (seconds_field(l, j, p, "createdSecondsAgo", &ago) ||
        seconds_field(l, j, p, "stoppedAfterSeconds", &stop))
        return SM_EINVAL;
    if (stop > ago) {
        char ps[96];
        snprintf(ps, sizeof ps, "%s.stoppedAfterSeconds", p);
        return refuse(l, ps, "the stop must not be in the future: at most createdSecondsAgo (%g)",
                      ago);
    }
    s->created_ms = l->now_ms - (int64_t)llround(ago * 1000.0);
    s->stop_at_ms = stop >= 0 ? s->created_ms + (int64_t)llround(stop * 1000.0) : -1;
    char why[512];
    if (sc) {
        const cJSON *found = cJSON_IsString(sc) ? reg_batch_scenario(b, sc->valuestring) : NULL;
        char ps[80];
        snprintf(ps, sizeof ps, "%s.scenario", p);
        if (!found)
            return refuse(l, ps, "no scenario named '%s'",
                          cJSON_IsString(sc) ? sc->valuestring : "?");
        snprintf(s->scenario_name, sizeof s->scenario_name, "%s", sc->valuestring);
        s->scenario_json = scenario_text(texts, found);
        rc = s->scenario_json ? SM_OK : SM_ENOMEM;
    } else {
        rc = reg_batch_choose(b, req, s->scenario_name, &s->scenario_json, why, sizeof why);
        s->scenario_owned = 1;
        if (rc == SM_ENOTFOUND) return refuse(l, pr, "%s", why);
    }
    if (rc != SM_OK) return refuse(l, p, "out of memory");
    s->request = req;
    return SM_OK;
}

/* The names seeded so far ("region/lower-cased name": names are unique per region, ignoring
 * case), an open-addressing set, so that a document of 100k seeds is checked in linear time. */
typedef struct name_set {
    char **slot;
    size_t cap, n;
} name_set;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* 1 when added, 0 when already there, SM_ENOMEM. */
static int name_add(name_set *set, const char *region, const char *name)
{
    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 1024;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot) return SM_ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slot[i]) continue;
            size_t h = (size_t)fnv(set->slot[i]) & (cap - 1);
            while (slot[h])
                h = (h + 1) & (cap - 1);
            slot[h] = set->slot[i];
        }
        free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    size_t rn = strlen(region), nn = strlen(name);
    char *key = malloc(rn + nn + 2);
    if (!key) return SM_ENOMEM;
    memcpy(key, region, rn);
    key[rn] = '/';
    for (size_t i = 0; i <= nn; i++)
        key[rn + 1 + i] = (char)tolower((unsigned char)name[i]);
    size_t h = (size_t)fnv(key) & (set->cap - 1);
    for (; set->slot[h]; h = (h + 1) & (set->cap - 1))
        if (strcmp(set->slot[h], key) == 0) {
            free(key);
            return 0;
        }
    set->slot[h] = key;
    set->n++;
    return 1;
}

static void name_set_free(name_set *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slot[i]);
    free(set->slot);
}

/* The seed jobs of a document: as offsets of the jobs array's elements in the text when the
 * document was split (split_doc), so that each is parsed, checked, created and freed in turn
 * and memory stays proportional to one job; else the "jobs" array of the parsed document. */
typedef struct span {
    size_t off, len;
} span;

typedef struct job_list {
    span *e; /* NULL: use `array` */
    size_t n;
    cJSON *array; /* borrowed from the document (the fallback) */
} job_list;

/* Set while fx_init holds one transaction around every start-up document, so that a refused
 * document leaves none of the seed jobs of the documents before it. */
static int in_startup_tx;

/* Check and create every seed job, one by one, inside the caller's transaction. */
static int load_jobs(const load *l, const job_list *jobs, reg_batch *b, int *nseeds, int *inserted)
{
    name_set names = {0};
    scenario_texts texts = {0};
    valid_seeds valid = {{0}, 0};
    create_pools *pools = create_pools_new();
    int rc = pools ? SM_OK : refuse(l, "jobs", "out of memory");
    size_t n = jobs->e ? jobs->n : (size_t)cJSON_GetArraySize(jobs->array);
    cJSON *next = jobs->e ? NULL : jobs->array->child;
    *nseeds = *inserted = 0;
    for (size_t i = 0; rc == SM_OK && i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "jobs[%zu]", i);
        cJSON *j = next, *parsed = NULL;
        if (jobs->e) {
            const char *end = NULL;
            j = parsed =
                cJSON_ParseWithLengthOpts(l->text + jobs->e[i].off, jobs->e[i].len, &end, 0);
            if (!j || end != l->text + jobs->e[i].off + jobs->e[i].len) {
                int line, col;
                size_t off = end && !j ? (size_t)(end - l->text) : jobs->e[i].off;
                jpos_line_col(l->text, off, &line, &col);
                snprintf(l->err, l->errlen, "%s:%d:%d: not valid JSON", l->source, line, col);
                cJSON_Delete(parsed);
                rc = SM_EINVAL;
                break;
            }
        } else {
            next = next->next;
        }
        seed s = {0};
        rc = check_seed(l, j, p, b, &texts, &valid, &s);
        if (rc == SM_OK) {
            const char *name = member(s.request, "TrainingJobName")->valuestring;
            int added = name_add(&names, s.region, name);
            if (added == 0) {
                char pn[96];
                snprintf(pn, sizeof pn, "%s.request.TrainingJobName", p);
                rc = refuse(l, pn, "job '%s' is seeded twice in this document", name);
            } else if (added < 0) {
                rc = refuse(l, p, "out of memory");
            }
        }
        if (rc == SM_OK) {
            create_opts o = {.region = s.region,
                             .created_ms = s.created_ms,
                             .now_ms = l->now_ms,
                             .scenario_name = s.scenario_name,
                             .scenario_json = s.scenario_json,
                             .stop_at_ms = s.stop_at_ms,
                             .pools = pools};
            char arn[STORE_ARN_MAX];
            create_error e = {0};
            rc = create_job(s.request, &o, arn, &e);
            if (rc == SM_EEXIST)
                rc = SM_OK; /* already there: left as it is */
            else if (rc == SM_OK)
                ++*inserted;
            else
                refuse(l, p, "%s: %s", e.code ? e.code : "InternalFailure", e.message);
            if (rc == SM_OK) ++*nseeds;
        }
        if (s.scenario_owned) free(s.scenario_json);
        cJSON_Delete(parsed);
    }
    scenario_texts_free(&texts);
    valid_seeds_free(&valid);
    create_pools_free(pools);
    name_set_free(&names);
    if (rc != SM_OK && !l->err[0])
        refuse(l, "jobs", "the store refused the seed jobs: %s", store_errmsg());
    return rc;
}

/* ---- documents --------------------------------------------------------------------- */

static int load_faults(const load *l, const cJSON *a, cJSON **out)
{
    cJSON *faults = cJSON_CreateArray();
    int i = 0;
    const cJSON *f;
    if (faults && fault_count() + cJSON_GetArraySize(a) > FAULT_MAX) {
        cJSON_Delete(faults);
        return refuse(l, "faults",
                      "at most %d faults in all: %d are set, this document adds %d "
                      "(DELETE /_sagemock/faults or a reset clears them)",
                      FAULT_MAX, fault_count(), cJSON_GetArraySize(a));
    }
    cJSON_ArrayForEach(f, a)
    {
        char p[64], why[300];
        snprintf(p, sizeof p, "faults[%d]", i++);
        cJSON *norm = NULL;
        if (!faults || fault_parse(f, &norm, why, sizeof why) != SM_OK) {
            cJSON_Delete(faults);
            return refuse(l, p, "%s", faults ? why : "out of memory");
        }
        cJSON_AddItemToArray(faults, norm);
    }
    *out = faults;
    return SM_OK;
}

/* Rules and user scenarios are capped, as faults are: a document that would bring them past
 * FX_MAX_RULES / FX_MAX_SCENARIOS is refused (a reset drops them). */
static int check_caps(const load *l, const cJSON *d)
{
    if (l->builtin) return SM_OK;
    cJSON *reg = reg_to_json();
    if (!reg) return refuse(l, "", "out of memory");
    int rules = cJSON_GetArraySize(member(reg, "rules")) + cJSON_GetArraySize(member(d, "rules"));
    int scenarios = 0;
    const cJSON *s, *t;
    cJSON_ArrayForEach(s, member(reg, "scenarios")) scenarios +=
        !cJSON_IsTrue(member(s, "builtin"));
    cJSON_ArrayForEach(s, member(d, "scenarios"))
    {
        const cJSON *name = member(s, "name");
        int known = 0;
        cJSON_ArrayForEach(t, member(reg, "scenarios"))
        {
            const cJSON *other = member(t, "name");
            if (cJSON_IsString(name) && cJSON_IsString(other) &&
                strcmp(name->valuestring, other->valuestring) == 0)
                known = 1;
        }
        scenarios += !known;
    }
    cJSON_Delete(reg);
    if (rules > FX_MAX_RULES)
        return refuse(l, "rules",
                      "at most %d rules in all: this document would bring them to %d (a reset "
                      "drops the rules of fixtures loaded at run time)",
                      FX_MAX_RULES, rules);
    if (scenarios > FX_MAX_SCENARIOS)
        return refuse(l, "scenarios",
                      "at most %d scenarios besides the built-in ones: this document would "
                      "bring them to %d (a reset drops those of fixtures loaded at run time)",
                      FX_MAX_SCENARIOS, scenarios);
    return SM_OK;
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
        i++;
    return i;
}

/*
 * The document's top level, member by member: *d gets every member but the "jobs" array,
 * whose elements are only located (jobs->e), so that 100k seed jobs are never one cJSON tree.
 * SM_EINVAL when the text is anything this split does not understand (escaped member names, a
 * second "jobs", a syntax error...): the caller then parses the whole text as before, which
 * also gives cJSON's position of a syntax error. SM_ENOMEM.
 */
static int split_doc(const load *l, cJSON **d, job_list *jobs)
{
    const char *t = l->text;
    size_t len = l->len, i = skip_ws(t, len, 0);
    if (i >= len || t[i] != '{' || !(*d = cJSON_CreateObject())) return SM_EINVAL;
    i = skip_ws(t, len, i + 1);
    int first = 1, rc = SM_OK;
    while (rc == SM_OK) {
        if (i < len && t[i] == '}' && first) break;
        if (i >= len || t[i] != '"') {
            rc = SM_EINVAL;
            break;
        }
        const char *close = memchr(t + i + 1, '"', len - i - 1);
        if (!close || memchr(t + i + 1, '\\', (size_t)(close - t) - i - 1)) {
            rc = SM_EINVAL;
            break;
        }
        size_t klen = (size_t)(close - t) - i - 1;
        char key[64];
        if (klen >= sizeof key) {
            rc = SM_EINVAL;
            break;
        }
        memcpy(key, t + i + 1, klen);
        key[klen] = 0;
        i = skip_ws(t, len, (size_t)(close - t) + 1);
        if (i >= len || t[i] != ':') {
            rc = SM_EINVAL;
            break;
        }
        i = skip_ws(t, len, i + 1);
        int seeds =
            strcmp(key, "jobs") == 0 && i < len && t[i] == '[' && !jobs->e && !member(*d, "jobs");
        /* The seeds' array is only scanned element by element (once: it is most of the text). */
        size_t end = seeds ? len : jpos_skip(t, len, i);
        if (!end) {
            rc = SM_EINVAL;
            break;
        }
        if (seeds) {
            size_t cap = 0, k = skip_ws(t, len, i + 1);
            jobs->e = malloc(sizeof *jobs->e); /* non-NULL even for [] */
            if (!jobs->e) rc = SM_ENOMEM;
            cap = 1;
            while (rc == SM_OK && k < len && t[k] != ']') {
                size_t e = jpos_skip(t, len, k);
                if (!e) {
                    rc = SM_EINVAL;
                    break;
                }
                if (jobs->n == cap) {
                    span *more = realloc(jobs->e, 2 * cap * sizeof *more);
                    if (!more) {
                        rc = SM_ENOMEM;
                        break;
                    }
                    jobs->e = more;
                    cap *= 2;
                }
                jobs->e[jobs->n++] = (span){k, e - k};
                k = skip_ws(t, len, e);
                if (k < len && t[k] == ',') {
                    k = skip_ws(t, len, k + 1);
                    if (k < len && t[k] == ']') rc = SM_EINVAL; /* [1,] */
                } else if (k >= len || t[k] != ']') {
                    rc = SM_EINVAL;
                }
            }
            if (rc == SM_OK && k >= len) rc = SM_EINVAL; /* no ']' */
            end = k + 1;
            /* "jobs" itself stays out of *d; only() and the checks see it through `jobs`. */
        } else if (strcmp(key, "jobs") == 0 && jobs->e) {
            rc = SM_EINVAL; /* a second "jobs" */
        } else {
            const char *pend = NULL;
            cJSON *v = cJSON_ParseWithLengthOpts(t + i, end - i, &pend, 0);
            if (!v || pend != t + end) {
                cJSON_Delete(v);
                rc = SM_EINVAL;
                break;
            }
            if (!cJSON_AddItemToObject(*d, key, v)) {
                cJSON_Delete(v);
                rc = SM_ENOMEM;
            }
        }
        first = 0;
        i = skip_ws(t, len, end);
        if (i < len && t[i] == ',') {
            i = skip_ws(t, len, i + 1);
            continue;
        }
        if (i >= len || t[i] != '}') rc = rc == SM_OK ? SM_EINVAL : rc;
        break;
    }
    if (rc == SM_OK && skip_ws(t, len, i + 1) != len) rc = SM_EINVAL;
    if (rc != SM_OK) {
        cJSON_Delete(*d);
        *d = NULL;
        free(jobs->e);
        *jobs = (job_list){0};
    }
    return rc;
}

static int apply(const load *l, cJSON **summary)
{
    static const char *const top[] = {"$schema", "description", "scenarios", "rules",
                                      "jobs",    "faults",      "iam"};
    /* Every text is valid UTF-8 without NUL: a fixture's strings end up in API replies. */
    size_t bad_at;
    char bad[160];
    if (text_json_check(l->text, l->len, &bad_at, bad, sizeof bad) != SM_OK) {
        int line, col;
        jpos_line_col(l->text, bad_at, &line, &col);
        snprintf(l->err, l->errlen, "%s:%d:%d: the document %s", l->source, line, col, bad);
        return SM_EINVAL;
    }
    cJSON *d = NULL;
    job_list jobs = {0};
    int rc = split_doc(l, &d, &jobs);
    if (rc == SM_ENOMEM) return refuse(l, "", "out of memory");
    if (rc != SM_OK) {
        const char *end = NULL;
        /* len + 1 takes in the NUL every document text ends with: cJSON then refuses anything
         * but white space after the value. */
        d = cJSON_ParseWithLengthOpts(l->text, l->len + 1, &end, 1);
        if (!d) {
            int line, col;
            size_t off = end && end >= l->text ? (size_t)(end - l->text) : 0;
            jpos_line_col(l->text, off, &line, &col);
            snprintf(l->err, l->errlen, "%s:%d:%d: not valid JSON", l->source, line, col);
            return SM_EINVAL;
        }
        if (cJSON_IsArray(member(d, "jobs"))) jobs.array = (cJSON *)member(d, "jobs");
    }
    reg_batch *b = reg_batch_new();
    int nseeds = 0, inserted = 0, in_tx = 0;
    cJSON *faults = NULL;
    rc = b ? SM_OK : refuse(l, "", "out of memory");
    if (rc == SM_OK && !cJSON_IsObject(d))
        rc = refuse(l, "", "a fixture document is a JSON object");
    if (rc == SM_OK) rc = only(l, d, "", top, 7);
    for (int k = 2; rc == SM_OK && k < 6; k++) {
        if (k == 4 && jobs.e) {
            for (size_t i = 0; rc == SM_OK && i < jobs.n; i++) {
                char p[64];
                snprintf(p, sizeof p, "jobs[%zu]", i);
                if (l->text[jobs.e[i].off] != '{') rc = refuse(l, p, "must be an object");
            }
        } else if (member(d, top[k])) {
            rc = array_of_objects(l, member(d, top[k]), top[k]);
        }
    }
    if (rc == SM_OK) rc = load_scenarios(l, member(d, "scenarios"), b);
    if (rc == SM_OK) rc = load_rules(l, member(d, "rules"), b);
    if (rc == SM_OK) rc = check_caps(l, d);
    if (rc == SM_OK && (jobs.e ? jobs.n > 0 : cJSON_GetArraySize(jobs.array) > 0)) {
        if (!in_startup_tx && (rc = store_begin()) != SM_OK)
            refuse(l, "jobs", "the store refused a transaction: %s", store_errmsg());
        in_tx = rc == SM_OK && !in_startup_tx;
        if (rc == SM_OK) rc = load_jobs(l, &jobs, b, &nseeds, &inserted);
    }
    if (rc == SM_OK) rc = load_faults(l, member(d, "faults"), &faults);
    if (rc == SM_OK) {
        char path[64], why[256];
        if (iam_fixture_check(member(d, "iam"), path, sizeof path, why, sizeof why) != SM_OK)
            rc = refuse(l, path, "%s", why);
    }
    if (in_tx) {
        if (rc == SM_OK && store_commit() != SM_OK)
            rc = refuse(l, "jobs", "the store refused the seed jobs: %s", store_errmsg());
        if (rc != SM_OK) store_rollback();
    }
    if (rc == SM_OK) {
        int nsc = cJSON_GetArraySize(member(d, "scenarios"));
        int nrules = cJSON_GetArraySize(member(d, "rules"));
        int nfaults = cJSON_GetArraySize(faults);
        reg_batch_commit(b);
        b = NULL;
        if (fault_add_all(faults) != SM_OK)
            log_msg(LOG_WARN, "%s: its faults were not added: the table is full", l->source);
        iam_fixture_apply(member(d, "iam"));
        if (summary && (*summary = cJSON_CreateObject())) {
            cJSON_AddNumberToObject(*summary, "scenarios", nsc);
            cJSON_AddNumberToObject(*summary, "rules", nrules);
            cJSON_AddNumberToObject(*summary, "jobs", inserted);
            cJSON_AddNumberToObject(*summary, "jobsAlreadyPresent", nseeds - inserted);
            cJSON_AddNumberToObject(*summary, "faults", nfaults);
            if (member(d, "iam"))
                cJSON_AddNumberToObject(
                    *summary, "missingRoles",
                    cJSON_GetArraySize(member(member(d, "iam"), "missingRoles")));
        }
    }
    reg_batch_free(b);
    cJSON_Delete(faults);
    cJSON_Delete(d);
    free(jobs.e);
    return rc;
}

static int apply_doc(const doc *dc, int64_t now_ms, cJSON **summary, char *err, size_t errlen)
{
    load l = {dc->text, dc->source, dc->len, err, errlen, dc->builtin, now_ms};
    err[0] = 0;
    return apply(&l, summary);
}

int fx_load_text(const char *text, size_t len, const char *source, int64_t now_ms, cJSON **summary,
                 char *err, size_t errlen)
{
    doc dc = {(char *)source, (char *)text, len, 0};
    pthread_mutex_lock(&load_lock);
    int rc = apply_doc(&dc, now_ms, summary, err, errlen);
    pthread_mutex_unlock(&load_lock);
    return rc;
}

static int remember(const char *source, char *text, size_t len, int builtin)
{
    doc *d = realloc(startup, (size_t)(nstartup + 1) * sizeof *d);
    if (!d) return SM_ENOMEM;
    startup = d;
    startup[nstartup] = (doc){strdup(source), text, len, builtin};
    if (!startup[nstartup].source) return SM_ENOMEM;
    nstartup++;
    return SM_OK;
}

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return SM_EINVAL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *more = cap >= MAX_FILE_BYTES ? NULL : realloc(buf, cap * 2);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large (over %u MiB) or out of memory", path,
                 MAX_FILE_BYTES >> 20);
        return SM_EINVAL;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return SM_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The documents of a path: the file itself, or a folder's *.json files in name order. */
static int load_path(const char *path, int64_t now_ms, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SM_EINVAL;
    }
    char **files = NULL;
    int n = 0, rc = SM_OK;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
            size_t k = strlen(de->d_name);
            if (de->d_name[0] == '.' || k < 5 || strcmp(de->d_name + k - 5, ".json")) continue;
            char **more = realloc(files, (size_t)(n + 1) * sizeof *files);
            size_t plen = strlen(path) + k + 2;
            if (!more || !(more[n] = malloc(plen))) {
                files = more ? more : files;
                rc = SM_ENOMEM;
                break;
            }
            files = more;
            snprintf(files[n++], plen, "%s/%s", path, de->d_name);
        }
        if (dir)
            closedir(dir);
        else
            rc = SM_EINVAL, snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (files) qsort(files, (size_t)n, sizeof *files, by_name);
    } else {
        files = malloc(sizeof *files);
        if (files && (files[0] = strdup(path)))
            n = 1;
        else
            rc = SM_ENOMEM;
    }
    for (int i = 0; rc == SM_OK && i < n; i++) {
        char *text;
        size_t len;
        rc = read_file(files[i], &text, &len, err, errlen);
        if (rc != SM_OK) break;
        doc dc = {files[i], text, len, 0};
        cJSON *summary = NULL;
        rc = apply_doc(&dc, now_ms, &summary, err, errlen);
        if (rc == SM_OK) {
            char *s = summary ? cJSON_PrintUnformatted(summary) : NULL;
            log_msg(LOG_INFO, "fixtures %s loaded: %s", files[i], s ? s : "");
            free(s);
            rc = remember(files[i], text, len, 0);
        } else {
            free(text);
        }
        cJSON_Delete(summary);
    }
    if (rc == SM_ENOMEM && !err[0]) snprintf(err, errlen, "%s: out of memory", path);
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc;
}

int fx_init(int64_t now_ms, char *err, size_t errlen)
{
    pthread_mutex_lock(&load_lock);
    size_t len = strlen(builtin_scenarios_json);
    doc dc = {"builtin-scenarios.json", (char *)builtin_scenarios_json, len, 1};
    int rc = apply_doc(&dc, now_ms, NULL, err, errlen);
    if (rc == SM_OK) {
        char *copy = strdup(builtin_scenarios_json);
        rc = copy ? remember(dc.source, copy, len, 1) : SM_ENOMEM;
    }
    if (rc == SM_OK && (rc = store_begin()) != SM_OK)
        snprintf(err, errlen, "the store refused a transaction: %s", store_errmsg());
    in_startup_tx = rc == SM_OK;
    for (int i = 0; rc == SM_OK && i < cfg.nfixtures; i++)
        rc = load_path(cfg.fixtures[i], now_ms, err, errlen);
    if (rc == SM_OK) rc = reg_check_default(err, errlen);
    if (in_startup_tx) {
        if (rc == SM_OK && store_commit() != SM_OK) {
            rc = SM_ESTORE;
            snprintf(err, errlen, "the store refused the seed jobs: %s", store_errmsg());
        }
        if (rc != SM_OK) store_rollback();
        in_startup_tx = 0;
    }
    pthread_mutex_unlock(&load_lock);
    return rc;
}

int fx_reset(int64_t now_ms, char *err, size_t errlen)
{
    pthread_mutex_lock(&load_lock);
    int rc = store_clear_jobs();
    if (rc != SM_OK) {
        snprintf(err, errlen, "the store refused the reset: %s", store_errmsg());
    } else {
        reg_reset();
        fault_clear();
        iam_reset();
    }
    for (int i = 0; rc == SM_OK && i < nstartup; i++)
        if (!startup[i].builtin) rc = apply_doc(&startup[i], now_ms, NULL, err, errlen);
    pthread_mutex_unlock(&load_lock);
    return rc;
}
