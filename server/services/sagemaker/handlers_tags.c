/*
 * handlers_tags.c: AddTags, ListTags, DeleteTags on training-job ARNs.
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

/* Find the job of the request's ResourceArn; replies when there is none. */
static int job_or_reply(sm_req *r, store_job *job)
{
    int rc = store_job_get_by_arn(json_string(r->input, "ResourceArn"), job);
    if (rc == SM_OK && strcmp(job->region, r->region) != 0) { /* another region's job */
        store_job_clear(job);
        rc = SM_ENOTFOUND;
    }
    if (rc == SM_ENOTFOUND) return reply_error(r, "ValidationException", "Resource does not exist");
    if (rc != SM_OK) return reply_internal(r);
    store_job_clear(job); /* only the id is needed */
    return SM_OK;
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
    store_job job;
    if (job_or_reply(r, &job)) return SM_ERR;
    int rc = SM_OK, count = 0;
    cJSON_ArrayForEach(t, tags)
    {
        if (rc == SM_OK) rc = store_tag_put(job.id, json_string(t, "Key"), json_string(t, "Value"));
    }
    if (rc == SM_OK && store_tag_each(job.id, 0, MAX_TAGS_PER_RESOURCE + 1, count_tag, &count) < 0)
        rc = SM_ESTORE;
    if (rc == SM_OK && count > MAX_TAGS_PER_RESOURCE)
        return reply_error(r, "ResourceLimitExceeded",
                           "Resource %s would have %d tags; a resource can have at most %d.",
                           job.arn, count, MAX_TAGS_PER_RESOURCE);
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
    store_job job;
    if (job_or_reply(r, &job)) return SM_ERR;
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(r->input, "MaxResults");
    tag_page p = {.want = cJSON_IsNumber(mr) ? (int)mr->valuedouble : DEFAULT_TAG_PAGE};
    if (p.want > 1000) p.want = 1000;
    int64_t after = 0;
    const char *token = json_string(r->input, "NextToken");
    if (token && *token) {
        char payload[TOKEN_PAYLOAD_MAX];
        int64_t id = -1;
        if (tok_decode(token, payload, sizeof payload) != SM_OK ||
            sscanf(payload, "T|%" SCNd64 "|%" SCNd64, &id, &after) != 2 || id != job.id)
            return reply_error(r, "ValidationException", "Invalid NextToken.");
    }
    cJSON *out = cJSON_CreateObject();
    p.tags = cJSON_CreateArray();
    int n = out && p.tags ? store_tag_each(job.id, after, p.want + 1, on_tag, &p) : SM_ENOMEM;
    if (n < 0 || p.oom || !cJSON_AddItemToObject(out, "Tags", p.tags)) {
        cJSON_Delete(p.tags);
        cJSON_Delete(out);
        return reply_internal(r);
    }
    if (p.seen > p.want) {
        char payload[64], tok[TOKEN_MAX];
        snprintf(payload, sizeof payload, "T|%" PRId64 "|%" PRId64, job.id, p.last_pos);
        if (tok_encode(payload, tok, sizeof tok) == SM_OK)
            cJSON_AddStringToObject(out, "NextToken", tok);
    }
    return reply_json(r, out);
}

int h_delete_tags(sm_req *r)
{
    store_job job;
    if (job_or_reply(r, &job)) return SM_ERR;
    int rc = SM_OK;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(r->input, "TagKeys"))
    {
        if (rc == SM_OK && cJSON_IsString(k)) rc = store_tag_delete(job.id, k->valuestring);
    }
    if (rc != SM_OK) return reply_internal(r);
    return reply_json(r, cJSON_CreateObject());
}
