/*
 * tuning_view.c: the DescribeHyperParameterTuningJob bodies each thread rendered, served again
 * while they still hold (see tuning_job.h).
 *
 * A tuning job's body is a function of the store (the tuning job, its children's rows and
 * training jobs) and of the simulated now. A body is kept with the store's stamp it was read
 * under (store_tuning_stamp: taken before the reads, so a change during them makes the stamp
 * stale, never the body) and the interval of now over which it renders the same bytes
 * (tuning_valid_until). It is served when the stamp is the same, which is only so when no
 * connection changed anything in the store since, and now lies in that interval.
 *
 * The table belongs to its thread (sets of VIEW_WAYS, the least recently used replaced) and is
 * freed when the thread exits. It holds copies; callers get copies.
 */
#include "tuning_job.h"
#include "tcache.h"

#include <stdlib.h>
#include <string.h>

#define VIEW_SLOTS 64
#define VIEW_WAYS 4

typedef struct kept_view {
    uint64_t hash, used;
    char *key; /* "region\nname", owned; NULL: an empty slot */
    store_stamp stamp;
    int64_t from_ms, until_ms;
    char *body; /* owned */
    size_t len;
} kept_view;

typedef struct view_table {
    kept_view e[VIEW_SLOTS];
    uint64_t clock;
} view_table;

static void views_free(void *p)
{
    view_table *t = p;
    for (int i = 0; t && i < VIEW_SLOTS; i++) {
        free(t->e[i].key);
        free(t->e[i].body);
    }
    free(t);
}

static tcache view_tables = TCACHE(sizeof(view_table), views_free);

static uint64_t key_hash(const char *region, const char *name)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = region; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = (h ^ '\n') * 1099511628211u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return h;
}

static int key_is(const kept_view *v, uint64_t h, const char *region, const char *name)
{
    if (!v->key || v->hash != h) return 0;
    size_t n = strlen(region);
    return strncmp(v->key, region, n) == 0 && v->key[n] == '\n' &&
           strcmp(v->key + n + 1, name) == 0;
}

static kept_view *set_of(view_table *t, uint64_t h)
{
    return &t->e[h % (VIEW_SLOTS / VIEW_WAYS) * VIEW_WAYS];
}

char *tuning_view_get(const char *region, const char *name, const store_stamp *stamp,
                      int64_t now_ms)
{
    view_table *t = tcache_get(&view_tables);
    if (!t) return NULL;
    uint64_t h = key_hash(region, name);
    kept_view *set = set_of(t, h);
    for (int i = 0; i < VIEW_WAYS; i++) {
        kept_view *v = &set[i];
        if (!key_is(v, h, region, name)) continue;
        if (v->stamp.db != stamp->db || v->stamp.data_version != stamp->data_version ||
            v->stamp.changes != stamp->changes || now_ms < v->from_ms ||
            (v->until_ms >= 0 && now_ms >= v->until_ms))
            return NULL;
        char *copy = malloc(v->len + 1);
        if (!copy) return NULL;
        memcpy(copy, v->body, v->len + 1);
        v->used = ++t->clock;
        return copy;
    }
    return NULL;
}

void tuning_view_put(const char *region, const char *name, const store_stamp *stamp,
                     int64_t from_ms, int64_t until_ms, const char *body)
{
    view_table *t = tcache_get(&view_tables);
    if (!t) return;
    uint64_t h = key_hash(region, name);
    kept_view *set = set_of(t, h), *e = &set[0];
    for (int i = 0; i < VIEW_WAYS; i++) {
        if (key_is(&set[i], h, region, name)) {
            e = &set[i];
            break;
        }
        if (!set[i].key || (e->key && set[i].used < e->used)) e = &set[i];
    }
    size_t rl = strlen(region), nl = strlen(name), len = strlen(body);
    char *key = e->key && key_is(e, h, region, name) ? e->key : malloc(rl + nl + 2);
    char *copy = malloc(len + 1);
    if (!key || !copy) {
        if (key != e->key) free(key);
        free(copy);
        return;
    }
    if (key != e->key) {
        memcpy(key, region, rl);
        key[rl] = '\n';
        memcpy(key + rl + 1, name, nl + 1);
        free(e->key);
    }
    memcpy(copy, body, len + 1);
    free(e->body);
    *e = (kept_view){h, ++t->clock, key, *stamp, from_ms, until_ms, copy, len};
}
