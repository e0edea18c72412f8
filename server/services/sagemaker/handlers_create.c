/*
 * handlers_create.c: CreateTrainingJob: the cross-field rules, then the job's birth inside the
 * gate's transaction (create.c does both; this file only turns results into replies).
 */
#include "create.h"
#include "errors.h"
#include "handlers.h"
#include "reply.h"

int h_create_training_job(sm_req *r)
{
    create_error e = {0};
    if (create_check(r->input, &e) != SM_OK) return reply_error(r, e.code, "%s", e.message);
    create_opts o = {.region = r->region,
                     .created_ms = r->now_ms,
                     .now_ms = r->now_ms,
                     .scenario_name = NULL,
                     .scenario_json = NULL,
                     .stop_at_ms = -1};
    char arn[STORE_ARN_MAX];
    if (create_job(r->input, &o, arn, &e) != SM_OK)
        return e.code ? reply_error(r, e.code, "%s", e.message) : reply_internal(r);
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddStringToObject(out, "TrainingJobArn", arn);
    return reply_json(r, out);
}
