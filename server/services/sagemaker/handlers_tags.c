/*
 * handlers_tags.c: AddTags, ListTags, DeleteTags on training-job and tuning-job ARNs.
 *
 * The ARN must match a job exactly (the real service is case-sensitive here: a mis-cased ARN
 * gets "Resource does not exist"). Keys keep the order in which they were first added.
 */
#include "errors.h"
#include "handlers.h"
#include "jsonutil.h"
#include "reply.h"
#include "token.h"
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_TAG_PAGE 50
#define MAX_TAGS_PER_RESOURCE 50

/* What a tag belongs to: a training job or a tuning job, each with its own tag table. The
 * operations are the same on both; only the store's functions and the token's kind differ. */
typedef struct tag_store {
    const char *token_kind; /* the NextToken payload's prefix: "T" or "TT" */
    int (*put)(int64_t id, const char *key, const char *value);
    int (*del)(int64_t id, const char *key);
    int (*each)(int64_t id, int64_t after_pos, int limit,
                int (*fn)(int64_t pos, const char *key, const char *value, void *arg), void *arg);
} tag_store;

static const tag_store job_tags = {"T", store_tag_put, store_tag_delete, store_tag_each};
static const tag_store tuning_tags = {"TT", store_tuning_tag_put, store_tuning_tag_delete,
                                      store_tuning_tag_each};

typedef struct tag_resource {
    const tag_store *store;
    int64_t id;
    char arn[STORE_ARN_MAX];
} tag_resource;

#define TUNING_ARN_PART ":hyper-parameter-tuning-job/"

/* Find the training or tuning job of the request's ResourceArn in the request's region;
 * replies when there is none. */
static int resource_or_reply(sm_req *r, tag_resource *res)
{
    const char *arn = json_string(r->input, "ResourceArn");
    int rc;
    if (arn && strstr(arn, TUNING_ARN_PART)) {
        store_tuning t;
        rc = store_tuning_get_by_arn(arn, &t);
        if (rc == SM_OK) {
            if (strcmp(t.region, r->region) != 0) rc = SM_ENOTFOUND;
            *res = (tag_resource){&tuning_tags, t.id, ""};
            snprintf(res->arn, sizeof res->arn, "%s", t.arn);
        }
        store_tuning_clear(&t);
    } else {
        store_job job;
        rc = store_job_get_by_arn(arn, &job);
        if (rc == SM_OK) { /* another region's job does not exist for this caller */
            if (strcmp(job.region, r->region) != 0) rc = SM_ENOTFOUND;
            *res = (tag_resource){&job_tags, job.id, ""};
            snprintf(res->arn, sizeof res->arn, "%s", job.arn);
            store_job_clear(&job);
        }
    }
    if (rc == SM_ENOTFOUND) return reply_error(r, "ValidationException", "Resource does not exist");
    return rc == SM_OK ? SM_OK : reply_internal(r);
}

static int count_tag(int64_t pos, const char *k, const char *v, void *arg)
{
    (void)pos, (void)k, (void)v;
    ++*(int *)arg;
    return 0;
}

int h_add_tags(sm_req *r)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r->input, "Tags"), *t;
    cJSON_ArrayForEach(t, tags)
    {
        const char *k = json_string(t, "Key");
        if (k && strncmp(k, "aws:", 4) == 0)
            return reply_error(r, "ValidationException",
                               "Tag keys starting with 'aws:' are reserved for system use: '%s'.",
                               k);
    }
    tag_resource res;
    if (resource_or_reply(r, &res)) return SM_ERR;
    int rc = SM_OK, count = 0;
    cJSON_ArrayForEach(t, tags)
    {
        if (rc == SM_OK)
            rc = res.store->put(res.id, json_string(t, "Key"), json_string(t, "Value"));
    }
    if (rc == SM_OK && res.store->each(res.id, 0, MAX_TAGS_PER_RESOURCE + 1, count_tag, &count) < 0)
        rc = SM_ESTORE;
    if (rc == SM_OK && count > MAX_TAGS_PER_RESOURCE)
        return reply_error(r, "ResourceLimitExceeded",
                           "Resource %s would have %d tags; a resource can have at most %d.",
                           res.arn, count, MAX_TAGS_PER_RESOURCE);
    if (rc != SM_OK) return reply_internal(r);
    cJSON *out = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(tags, 1);
    if (!out || !copy || !cJSON_AddItemToObject(out, "Tags", copy)) {
        cJSON_Delete(copy);
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

typedef struct tag_page {
    cJSON *tags;
    int want, seen, oom;
    int64_t last_pos;
} tag_page;

static int on_tag(int64_t pos, const char *k, const char *v, void *arg)
{
    tag_page *p = arg;
    if (++p->seen > p->want) return 1;
    p->last_pos = pos;
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddStringToObject(t, "Key", k) || !cJSON_AddStringToObject(t, "Value", v) ||
        !cJSON_AddItemToArray(p->tags, t)) {
        cJSON_Delete(t);
        p->oom = 1;
        return 1;
    }
    return 0;
}

int h_list_tags(sm_req *r)
{
    tag_resource res;
    if (resource_or_reply(r, &res)) return SM_ERR;
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(r->input, "MaxResults");
    tag_page p = {.want = cJSON_IsNumber(mr) ? (int)mr->valuedouble : DEFAULT_TAG_PAGE};
    if (p.want > 1000) p.want = 1000;
    int64_t after = 0;
    const char *token = json_string(r->input, "NextToken");
    if (token && *token) {
        char payload[TOKEN_PAYLOAD_MAX], kind[4];
        int64_t id = -1;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "%3[^|]|%" SCNd64 "|%" SCNd64, kind, &id, &after) != 3 ||
            strcmp(kind, res.store->token_kind) != 0 || id != res.id)
            return reply_error(r, "ValidationException", "Invalid NextToken.");
    }
    cJSON *out = cJSON_CreateObject();
    p.tags = cJSON_CreateArray();
    int n = out && p.tags ? res.store->each(res.id, after, p.want + 1, on_tag, &p) : SM_ENOMEM;
    if (n < 0 || p.oom || !cJSON_AddItemToObject(out, "Tags", p.tags)) {
        cJSON_Delete(p.tags);
        cJSON_Delete(out);
        return reply_internal(r);
    }
    if (p.seen > p.want) {
        char payload[64], tok[TOKEN_MAX];
        snprintf(payload, sizeof payload, "%s|%" PRId64 "|%" PRId64, res.store->token_kind, res.id,
                 p.last_pos);
        if (tok_encode(payload, tok, sizeof tok) == SM_OK)
            cJSON_AddStringToObject(out, "NextToken", tok);
    }
    return reply_json(r, out);
}

int h_delete_tags(sm_req *r)
{
    tag_resource res;
    if (resource_or_reply(r, &res)) return SM_ERR;
    int rc = SM_OK;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(r->input, "TagKeys"))
    {
        if (rc == SM_OK && cJSON_IsString(k)) rc = res.store->del(res.id, k->valuestring);
    }
    if (rc != SM_OK) return reply_internal(r);
    return reply_json(r, cJSON_CreateObject());
}
