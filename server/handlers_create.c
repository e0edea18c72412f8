/*
 * handlers_create.c: CreateTrainingJob: the cross-field rules, then the job's birth in one
 * BEGIN IMMEDIATE transaction (create.c does both; this file only speaks HTTP's side).
 */
#include "create.h"
#include "errors.h"
#include "ops.h"
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
    int rc = store_begin();
    if (rc == SM_OK) rc = create_job(r->input, &o, arn, &e);
    if (rc == SM_OK) rc = store_commit();
    if (rc != SM_OK) {
        store_rollback();
        if (e.code) return reply_error(r, e.code, "%s", e.message);
        return reply_error(r, "InternalFailure",
                           "The request processing has failed because of an unknown error, "
                           "exception or failure.");
    }
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddStringToObject(out, "TrainingJobArn", arn);
    return reply_json(r, out);
}
