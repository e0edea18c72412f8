/*
 * service.c: AWS IAM as a service value (core/service.h): GetRole, the call the SageMaker
 * Python SDK makes when it is given a role name instead of an ARN.
 *
 * awsQuery, Version 2010-05-08, signing name "iam", a global service (ARNs without a region).
 * A role's details are derived from its name alone (ids, creation date), so they are the same
 * on every call and every run; names a fixture declares missing are NoSuchEntity (404), with
 * IAM's text.
 */
#include "arn.h"
#include "config.h"
#include "errors.h"
#include "iam.h"
#include "jsonutil.h"
#include "reply.h"
#include "service.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern const char iam_model_json[];

#define MAX_MISSING 1000

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static cJSON *missing; /* array of globs */

int iam_fixture_check(const cJSON *iam, char *path, size_t pathlen, char *why, size_t whylen)
{
    if (!iam) return SM_OK;
    if (!cJSON_IsObject(iam)) {
        snprintf(path, pathlen, "iam");
        snprintf(why, whylen, "must be an object {\"missingRoles\": [...]}");
        return SM_EINVAL;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, iam)
    {
        if (strcmp(m->string, "missingRoles") != 0) {
            snprintf(path, pathlen, "iam.%s", m->string);
            snprintf(why, whylen, "unknown field (expected missingRoles)");
            return SM_EINVAL;
        }
    }
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(iam, "missingRoles");
    if (!cJSON_IsArray(roles) || cJSON_GetArraySize(roles) > MAX_MISSING) {
        snprintf(path, pathlen, "iam.missingRoles");
        snprintf(why, whylen, "must be an array of at most %d role names or globs", MAX_MISSING);
        return SM_EINVAL;
    }
    int i = 0;
    cJSON_ArrayForEach(m, roles)
    {
        if (!cJSON_IsString(m) || !*m->valuestring || strlen(m->valuestring) > 128) {
            snprintf(path, pathlen, "iam.missingRoles[%d]", i);
            snprintf(why, whylen, "must be a role name or glob of 1 to 128 characters");
            return SM_EINVAL;
        }
        i++;
    }
    return SM_OK;
}

int iam_fixture_apply(const cJSON *iam)
{
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(iam, "missingRoles"), *m;
    if (!roles) return SM_OK;
    pthread_rwlock_wrlock(&lock);
    int rc = SM_OK;
    if (!missing && !(missing = cJSON_CreateArray())) rc = SM_ENOMEM;
    cJSON_ArrayForEach(m, roles)
    {
        if (rc == SM_OK && cJSON_GetArraySize(missing) < MAX_MISSING &&
            !cJSON_AddItemToArray(missing, cJSON_CreateString(m->valuestring)))
            rc = SM_ENOMEM;
    }
    pthread_rwlock_unlock(&lock);
    return rc;
}

void iam_reset(void)
{
    pthread_rwlock_wrlock(&lock);
    cJSON_Delete(missing);
    missing = NULL;
    pthread_rwlock_unlock(&lock);
}

cJSON *iam_to_json(void)
{
    pthread_rwlock_rdlock(&lock);
    cJSON *a = missing ? cJSON_Duplicate(missing, 1) : cJSON_CreateArray();
    pthread_rwlock_unlock(&lock);
    return a;
}

static int is_missing(const char *name)
{
    int found = 0;
    const cJSON *g;
    pthread_rwlock_rdlock(&lock);
    cJSON_ArrayForEach(g, missing)
    {
        if (!found && fnmatch(g->valuestring, name, 0) == 0) found = 1;
    }
    pthread_rwlock_unlock(&lock);
    return found;
}

/* The trust policy every role reports: SageMaker may assume it. URL-encoded, as IAM sends
 * policy documents. */
static const char trust_policy[] =
    "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22"
    "%2C%22Principal%22%3A%7B%22Service%22%3A%22sagemaker.amazonaws.com%22%7D%2C%22Action%22"
    "%3A%22sts%3AAssumeRole%22%7D%5D%7D";

static int h_get_role(sm_req *r)
{
    const char *name = json_string(r->input, "RoleName");
    if (!name || is_missing(name))
        return reply_error(r, "NoSuchEntity", "The role with name %s cannot be found.",
                           name ? name : "");
    char arn[256], resource[160], id[32];
    snprintf(resource, sizeof resource, "role/%s", name);
    arn_format(arn, sizeof arn, r->region, "iam", "", resource);
    arn_unique_id(id, sizeof id, "AROA", name);
    /* A creation date in 2024 derived from the name: stable across calls and runs. */
    uint64_t h = 1469598103934665603u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    int64_t created_ms = (1704067200LL + (int64_t)(h % (365u * 86400u))) * 1000;

    cJSON *out = cJSON_CreateObject(), *role = cJSON_CreateObject();
    if (!out || !role || !cJSON_AddItemToObject(out, "Role", role)) {
        cJSON_Delete(role);
        cJSON_Delete(out);
        return reply_internal(r);
    }
    int ok = cJSON_AddStringToObject(role, "Path", "/") &&
             cJSON_AddStringToObject(role, "RoleName", name) &&
             cJSON_AddStringToObject(role, "RoleId", id) &&
             cJSON_AddStringToObject(role, "Arn", arn) &&
             cJSON_AddItemToObject(role, "CreateDate", reply_time(created_ms)) &&
             cJSON_AddStringToObject(role, "AssumeRolePolicyDocument", trust_policy) &&
             cJSON_AddNumberToObject(role, "MaxSessionDuration", 3600) &&
             cJSON_AddItemToObject(role, "RoleLastUsed", cJSON_CreateObject());
    if (!ok) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

static const sm_operation ops[] = {
    {"GetRole", h_get_role, 0},
};

static const char *subject(const cJSON *input)
{
    return json_string(input, "RoleName");
}

const sm_service svc_iam = {
    .id = "iam",
    .title = "IAM",
    .signing_name = "iam",
    .protocols = PROTO_QUERY,
    .query_version = "2010-05-08",
    .validation_code = "ValidationError",
    .model_json = iam_model_json,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
    .subject = subject,
};
