/*
 * handlers_create.c: CreateTrainingJob, a group commit's operation (OP_GROUP, service.h): the
 * handler checks the cross-field rules and builds the job outside any transaction; its write
 * step stores it, in the group commit's transaction (create.c does the work; this file only
 * turns results into replies).
 */
#include "create.h"
#include "errors.h"
#include "handlers.h"
#include "reply.h"

static create_opts opts_of(const sm_req *r)
{
    return (create_opts){.region = r->region,
                         .created_ms = r->now_ms,
                         .now_ms = r->now_ms,
                         .scenario_name = NULL,
                         .scenario_json = NULL,
                         .stop_at_ms = -1};
}

static void row_free(void *row)
{
    create_row_free(row);
}

/* The write step: the row, its tags and a warm-pool takeover, inside the transaction. */
static int insert_job(sm_req *r)
{
    create_error e = {0};
    create_opts o = opts_of(r);
    char arn[STORE_ARN_MAX];
    if (create_insert(r->op_state, &o, arn, &e) != SM_OK)
        return e.code ? reply_error(r, e.code, "%s", e.message) : reply_internal(r);
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddStringToObject(out, "TrainingJobArn", arn);
    return reply_json(r, out);
}

int h_create_training_job(sm_req *r)
{
    create_error e = {0};
    if (create_check(r->input, &e) != SM_OK) return reply_error(r, e.code, "%s", e.message);
    create_opts o = opts_of(r);
    create_row *row;
    if (create_build(r->input, &o, &row, &e) != SM_OK)
        return e.code ? reply_error(r, e.code, "%s", e.message) : reply_internal(r);
    r->op_state = row;
    r->op_state_free = row_free;
    r->write = insert_job;
    return SM_OK;
}
