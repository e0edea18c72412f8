/*
 * service.c: AWS STS as a service value (core/service.h): GetCallerIdentity, the call the
 * SageMaker Python SDK makes for its default bucket and telemetry.
 *
 * awsQuery, Version 2011-06-15, signing name "sts". The caller is the configured account's
 * user "sagemock" (ARN in the caller's partition, a stable AIDA... user id): sagemock does not
 * keep identities, and every client of one sagemock shares its account.
 */
#include "arn.h"
#include "config.h"
#include "reply.h"
#include "service.h"

#include <stdio.h>

extern const char sts_model_json[];

static int h_get_caller_identity(sm_req *r)
{
    char arn[256], user_id[32];
    arn_format(arn, sizeof arn, r->region, "iam", "", "user/sagemock");
    arn_unique_id(user_id, sizeof user_id, "AIDA", cfg.account_id);
    cJSON *out = cJSON_CreateObject();
    if (!out || !cJSON_AddStringToObject(out, "UserId", user_id) ||
        !cJSON_AddStringToObject(out, "Account", cfg.account_id) ||
        !cJSON_AddStringToObject(out, "Arn", arn)) {
        cJSON_Delete(out);
        return reply_internal(r);
    }
    return reply_json(r, out);
}

static const sm_operation ops[] = {
    {"GetCallerIdentity", h_get_caller_identity, 0},
};

const sm_service svc_sts = {
    .id = "sts",
    .title = "STS",
    .signing_name = "sts",
    .protocols = PROTO_QUERY,
    .query_version = "2011-06-15",
    .validation_code = "ValidationError",
    .model_json = sts_model_json,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
};
