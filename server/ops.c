/*
 * ops.c: the operation table and the gate (see ops.h).
 *
 * The table is sorted by target, static and const; adding an operation is one row here plus
 * one handler. Each operation's input shape comes from the embedded service model.
 */
#include "ops.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "errors.h"
#include "faults.h"
#include "model.h"
#include "reply.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TARGET_PREFIX "SageMaker."

static const op_entry op_table[] = {
    {"SageMaker.AddTags", h_add_tags, OP_WRITE},
    {"SageMaker.CreateTrainingJob", h_create_training_job, OP_WRITE},
    {"SageMaker.DeleteTags", h_delete_tags, OP_WRITE},
    {"SageMaker.DeleteTrainingJob", h_delete_training_job, OP_WRITE},
    {"SageMaker.DescribeTrainingJob", h_describe_training_job, 0},
    {"SageMaker.ListTags", h_list_tags, 0},
    {"SageMaker.ListTrainingJobs", h_list_training_jobs, 0},
    {"SageMaker.StopTrainingJob", h_stop_training_job, OP_WRITE},
    {"SageMaker.UpdateTrainingJob", h_update_training_job, OP_WRITE},
};
#define NOPS ((int)(sizeof op_table / sizeof op_table[0]))

const op_entry *ops_lookup(const char *target)
{
    int lo = 0, hi = NOPS - 1;
    while (target && lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(target, op_table[mid].target);
        if (c == 0) return &op_table[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The region of the SigV4 credential scope ("Credential=AKID/date/REGION/service/term"), when
 * it looks like a region; signatures themselves are not verified here. */
static int region_from_auth(const char *auth, char *out, size_t outlen)
{
    const char *c = auth ? strstr(auth, "Credential=") : NULL;
    if (!c) return 0;
    c += strlen("Credential=");
    for (int slash = 0; slash < 2; slash++) {
        c = strpbrk(c, "/,");
        if (!c || *c != '/') return 0;
        c++;
    }
    size_t n = strcspn(c, "/, ");
    if (n == 0 || n >= outlen || c[n] != '/' ||
        strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
        return 0;
    memcpy(out, c, n);
    out[n] = 0;
    return 1;
}

static int content_type_ok(const char *ct)
{
    if (!ct) return 0;
    size_t n = strlen(APPLICATION_AMZ_JSON);
    return strncasecmp(ct, APPLICATION_AMZ_JSON, n) == 0 && (ct[n] == 0 || ct[n] == ';');
}

static const char *member_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void ops_dispatch(sm_req *r)
{
    r->now_ms = clock_now(r->wall_ms); /* the request's one simulated timestamp */
    static const char not_found[] = "<UnknownOperationException/>";
    /* Coral answers a non-POST or a foreign content type with a bare 404. */
    if (strcmp(r->method, "POST") != 0 || !content_type_ok(r->content_type)) {
        reply_raw(r, 404, "application/xml", not_found, sizeof not_found - 1);
        r->error_code = "UnknownOperationException";
        return;
    }
    const op_entry *op = ops_lookup(r->target);
    if (!op) {
        reply_error(r, "UnknownOperationException", "Unknown operation '%s'.",
                    r->target ? r->target : "(no X-Amz-Target header)");
        return;
    }
    r->operation = op->target + strlen(TARGET_PREFIX);
    if (r->body_too_large) {
        reply_error(r, "RequestEntityTooLargeException",
                    "Request body is larger than the limit of %zu bytes.", cfg.max_body);
        return;
    }
    const char *end = NULL;
    r->input = r->body_len ? cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, 0)
                           : cJSON_CreateObject();
    if (!cJSON_IsObject(r->input)) {
        reply_error(r, "SerializationException",
                    r->input ? "The request body must be a JSON object."
                             : "The request body is not valid JSON.");
        return;
    }
    /* Authentication comes after the target and the JSON, as in Coral (spec §6.3), and before
     * everything that is the service's own behaviour (faults, validation, handlers). */
    if (auth_check(r) != SM_OK) return;
    r->job_name = member_string(r->input, "TrainingJobName");
    const char *arn = member_string(r->input, "ResourceArn");
    const char *slash = arn ? strrchr(arn, '/') : NULL;
    const char *fault = fault_check(r->operation, r->job_name ? r->job_name
                                                  : slash     ? slash + 1
                                                              : NULL);
    if (fault) {
        reply_error(r, fault, "%s", fault_message(fault));
        return;
    }

    char *message = NULL;
    int rc = val_input(model_input_shape(r->operation), r->input, &message);
    if (rc != VAL_OK) {
        if (rc == VAL_SERIALIZATION)
            reply_error(r, "SerializationException", "%s", message);
        else if (rc == VAL_VALIDATION)
            reply_error(r, "ValidationException", "%s", message);
        else
            reply_error(r, "InternalFailure", "Out of memory while validating the request.");
        free(message);
        return;
    }

    if (!region_from_auth(r->authorization, r->region, sizeof r->region))
        snprintf(r->region, sizeof r->region, "%s", cfg.region);
    op->handler(r);
}
