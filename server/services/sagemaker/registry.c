/*
 * registry.c: scenarios, rules and the choice of a job's scenario (see registry.h).
 *
 * Invariants: every scenario held here was accepted by scn_from_json; every rule names a
 * scenario held here; the default scenario exists. The lists are replaced only under the
 * write lock.
 */
#include "registry.h"
#include "errors.h"
#include "scenario.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    cJSON *scenario; /* owned */
    char *text;      /* its JSON text, owned */
    int builtin;
} entry;

typedef struct list {
    entry *e;
    int n, cap;
    cJSON *rules; /* array, owned */
} list;

struct reg_batch {
    list l;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static list reg;
static char default_name[REG_NAME_MAX] = "success";

static const char *name_of(const cJSON *sc)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(sc, "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

static entry *find(list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(name_of(l->e[i].scenario), name) == 0) return &l->e[i];
    return NULL;
}

static void list_clear(list *l, int keep_builtin)
{
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        if (keep_builtin && l->e[i].builtin) {
            l->e[k++] = l->e[i];
            continue;
        }
        cJSON_Delete(l->e[i].scenario);
        free(l->e[i].text);
    }
    l->n = k;
    if (!keep_builtin) {
        free(l->e);
        l->e = NULL;
        l->cap = 0;
    }
    cJSON_Delete(l->rules);
    l->rules = NULL;
}

static int list_put(list *l, cJSON *sc, int builtin)
{
    char *text = cJSON_PrintUnformatted(sc);
    if (!text) {
        cJSON_Delete(sc);
        return SM_ENOMEM;
    }
    entry *old = find(l, name_of(sc));
    if (old) {
        cJSON_Delete(old->scenario);
        free(old->text);
        *old = (entry){sc, text, builtin};
        return SM_OK;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        entry *e = realloc(l->e, (size_t)cap * sizeof *e);
        if (!e) {
            free(text);
            cJSON_Delete(sc);
            return SM_ENOMEM;
        }
        l->e = e;
        l->cap = cap;
    }
    l->e[l->n++] = (entry){sc, text, builtin};
    return SM_OK;
}

void reg_free(void)
{
    pthread_rwlock_wrlock(&lock);
    list_clear(&reg, 0);
    pthread_rwlock_unlock(&lock);
}

void reg_reset(void)
{
    pthread_rwlock_wrlock(&lock);
    list_clear(&reg, 1);
    pthread_rwlock_unlock(&lock);
}

int reg_is_builtin(const char *name)
{
    pthread_rwlock_rdlock(&lock);
    entry *e = find(&reg, name);
    int b = e && e->builtin;
    pthread_rwlock_unlock(&lock);
    return b;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Every key of `want` (an object of globs) must match the same key of the request's map or
 * tag list. */
static int map_matches(const cJSON *want, const cJSON *map, int tag_list)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, want)
    {
        const char *have = NULL;
        if (tag_list) {
            const cJSON *t;
            cJSON_ArrayForEach(t, map)
            {
                const cJSON *k = member(t, "Key"), *v = member(t, "Value");
                if (cJSON_IsString(k) && cJSON_IsString(v) && !strcmp(k->valuestring, w->string))
                    have = v->valuestring;
            }
        } else {
            const cJSON *v = member(map, w->string);
            have = cJSON_IsString(v) ? v->valuestring : NULL;
        }
        if (!have || !cJSON_IsString(w) || fnmatch(w->valuestring, have, 0) != 0) return 0;
    }
    return 1;
}

int reg_rule_matches(const cJSON *match, const cJSON *request)
{
    const cJSON *name = member(match, "name"), *type = member(match, "instanceType");
    const cJSON *rn = member(request, "TrainingJobName");
    if (name && !(cJSON_IsString(rn) && fnmatch(name->valuestring, rn->valuestring, 0) == 0))
        return 0;
    if (type) {
        const cJSON *it = member(member(request, "ResourceConfig"), "InstanceType");
        int hit = cJSON_IsString(it) && fnmatch(type->valuestring, it->valuestring, 0) == 0;
        const cJSON *g;
        cJSON_ArrayForEach(g, member(member(request, "ResourceConfig"), "InstanceGroups"))
        {
            it = member(g, "InstanceType");
            hit |= cJSON_IsString(it) && fnmatch(type->valuestring, it->valuestring, 0) == 0;
        }
        if (!hit) return 0;
    }
    if (member(match, "hyperParameters") &&
        !map_matches(member(match, "hyperParameters"), member(request, "HyperParameters"), 0))
        return 0;
    if (member(match, "tags") && !map_matches(member(match, "tags"), member(request, "Tags"), 1))
        return 0;
    return 1;
}

static const char *tag_scenario(const cJSON *request)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, member(request, "Tags"))
    {
        const cJSON *k = member(t, "Key"), *v = member(t, "Value");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, REG_SCENARIO_TAG) && cJSON_IsString(v))
            return v->valuestring;
    }
    return NULL;
}

/* The scenario for a request, looking in `extra` (a batch, may be NULL) before the registry
 * for names, and at the registry's rules before the batch's. Caller holds the read lock. */
static int choose(list *extra, const cJSON *request, char name[REG_NAME_MAX], char **json,
                  char *err, size_t errlen)
{
    const char *want = tag_scenario(request);
    entry *e = NULL;
    if (want && !(e = extra ? find(extra, want) : NULL) && !(e = find(&reg, want))) {
        snprintf(err, errlen,
                 "The tag %s names the scenario '%s', which sagemock does not know. "
                 "GET /_sagemock/scenarios lists the known ones.",
                 REG_SCENARIO_TAG, want);
        return SM_ENOTFOUND;
    }
    const cJSON *lists[2] = {reg.rules, extra ? extra->rules : NULL};
    for (int l = 0; l < 2 && !e; l++) {
        const cJSON *rule;
        cJSON_ArrayForEach(rule, lists[l])
        {
            if (!reg_rule_matches(member(rule, "match"), request)) continue;
            const char *sc = member(rule, "scenario")->valuestring;
            if (!(e = extra ? find(extra, sc) : NULL)) e = find(&reg, sc);
            break;
        }
    }
    if (!e && !(e = extra ? find(extra, default_name) : NULL)) e = find(&reg, default_name);
    if (!e) {
        snprintf(err, errlen, "the default scenario '%s' does not exist", default_name);
        return SM_ENOTFOUND;
    }
    snprintf(name, REG_NAME_MAX, "%s", name_of(e->scenario));
    *json = strdup(e->text);
    return *json ? SM_OK : SM_ENOMEM;
}

int reg_choose(const cJSON *request, char name[REG_NAME_MAX], char **json, char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&lock);
    int rc = choose(NULL, request, name, json, err, errlen);
    pthread_rwlock_unlock(&lock);
    return rc;
}

int reg_batch_choose(reg_batch *b, const cJSON *request, char name[REG_NAME_MAX], char **json,
                     char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&lock);
    int rc = choose(&b->l, request, name, json, err, errlen);
    pthread_rwlock_unlock(&lock);
    return rc;
}

char *reg_scenario_json(const char *name)
{
    pthread_rwlock_rdlock(&lock);
    entry *e = find(&reg, name);
    char *s = e ? strdup(e->text) : NULL;
    pthread_rwlock_unlock(&lock);
    return s;
}

cJSON *reg_to_json(void)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
    pthread_rwlock_rdlock(&lock);
    cJSON *rules = reg.rules ? cJSON_Duplicate(reg.rules, 1) : cJSON_CreateArray();
    int ok = o && a && rules && cJSON_AddStringToObject(o, "defaultScenario", default_name);
    for (int i = 0; ok && i < reg.n; i++) {
        cJSON *s = cJSON_Duplicate(reg.e[i].scenario, 1);
        ok = s && cJSON_AddBoolToObject(s, "builtin", reg.e[i].builtin) &&
             cJSON_AddItemToArray(a, s);
        if (!ok) cJSON_Delete(s);
    }
    pthread_rwlock_unlock(&lock);
    if (ok) ok = cJSON_AddItemToObject(o, "scenarios", a) && (a = NULL, 1);
    if (ok) ok = cJSON_AddItemToObject(o, "rules", rules) && (rules = NULL, 1);
    cJSON_Delete(a);
    cJSON_Delete(rules);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

reg_batch *reg_batch_new(void)
{
    reg_batch *b = calloc(1, sizeof *b);
    if (b && !(b->l.rules = cJSON_CreateArray())) {
        free(b);
        return NULL;
    }
    return b;
}

void reg_batch_free(reg_batch *b)
{
    if (!b) return;
    list_clear(&b->l, 0);
    free(b);
}

const cJSON *reg_batch_scenario(reg_batch *b, const char *name)
{
    entry *e = find(&b->l, name);
    if (e) return e->scenario;
    pthread_rwlock_rdlock(&lock);
    e = find(&reg, name);
    pthread_rwlock_unlock(&lock);
    /* Registry entries are only replaced under the write lock, which a loader never takes
     * while it still uses its batch (fixture loads are serialised by fixtures.c). */
    return e ? e->scenario : NULL;
}

int reg_batch_add_scenario(reg_batch *b, cJSON *scenario, int builtin)
{
    return list_put(&b->l, scenario, builtin);
}

int reg_batch_add_rule(reg_batch *b, cJSON *rule)
{
    return cJSON_AddItemToArray(b->l.rules, rule) ? SM_OK : SM_ENOMEM;
}

void reg_batch_commit(reg_batch *b)
{
    pthread_rwlock_wrlock(&lock);
    for (int i = 0; i < b->l.n; i++) {
        if (list_put(&reg, b->l.e[i].scenario, b->l.e[i].builtin) != SM_OK) continue;
        free(b->l.e[i].text);
    }
    b->l.n = 0;
    if (!reg.rules) reg.rules = cJSON_CreateArray();
    cJSON *r;
    while (reg.rules && (r = cJSON_DetachItemViaPointer(b->l.rules, b->l.rules->child)))
        cJSON_AddItemToArray(reg.rules, r);
    pthread_rwlock_unlock(&lock);
    reg_batch_free(b);
}

void reg_set_default(const char *name)
{
    pthread_rwlock_wrlock(&lock);
    snprintf(default_name, sizeof default_name, "%s", name);
    pthread_rwlock_unlock(&lock);
}

int reg_check_default(char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&lock);
    int ok = find(&reg, default_name) != NULL;
    if (!ok)
        snprintf(err, errlen, "the default scenario '%s' is neither built in nor in a fixture file",
                 default_name);
    pthread_rwlock_unlock(&lock);
    return ok ? SM_OK : SM_ENOTFOUND;
}
