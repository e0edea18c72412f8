/*
 * model.h: an official AWS service model, embedded in the binary at build time.
 *
 * Each service (service.h) carries its own model. model_load() parses the embedded JSON once at
 * start-up and compiles every pattern of the shapes it holds (Java regular expressions,
 * rewritten for PCRE2 and anchored to the whole value). After that a model is read-only and
 * shared by every thread without locks. Shape names are only unique within one model, so every
 * lookup names its model.
 */
#ifndef SM_MODEL_H
#define SM_MODEL_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct sm_model sm_model;

/* Parse and index `json`; NULL with the reason in err when it does not load. */
sm_model *model_load(const char *json, char *err, size_t errlen);
void model_free(sm_model *m);
/* A number no other model loaded by this process has (1, 2, ...): what a cache of results
 * computed from a model keys on, since a freed model's addresses may be reused. */
unsigned long model_serial(const sm_model *m);

/* metadata.<key> ("protocol", "targetPrefix", "xmlNamespace"...), or NULL. Borrowed. */
const cJSON *model_metadata(const sm_model *m, const char *key);
/* The shape object ({"type": ..., "members": ...}) named `name`, or NULL. Borrowed. */
const cJSON *model_shape(const sm_model *m, const char *name);
/* The operation object named `op` ("CreateTrainingJob"), or NULL. Borrowed. */
const cJSON *model_operation(const sm_model *m, const char *op);
/* Input/output shape names of an operation, or NULL (no input / output). */
const char *model_input_shape(const sm_model *m, const char *op);
const char *model_output_shape(const sm_model *m, const char *op);
/* The awsQuery result element of an operation ("GetRoleResult"), or NULL. */
const char *model_result_wrapper(const sm_model *m, const char *op);
/* The HTTP status of the modeled error whose wire code is `code` (IAM's "NoSuchEntity": 404),
 * and whether it is the caller's fault; 0 when the model does not know the code. */
int model_error_status(const sm_model *m, const char *code, int *sender);
/* How the modeled error whose wire code is `code` names its message member: "Message" (the
 * SageMaker errors) or "message" (CloudWatch Logs); NULL when the code is not modeled or its
 * shape has neither. */
const char *model_error_message_member(const sm_model *m, const char *code);

/* What a shape holds, for the walkers (validation, the protocol codecs). "blob" reads as a
 * string, "float" as a double. */
enum model_kind {
    MK_STRUCT,
    MK_LIST,
    MK_MAP,
    MK_STRING,
    MK_INTEGER,
    MK_LONG,
    MK_BOOL,
    MK_DOUBLE,
    MK_TIMESTAMP
};
enum model_kind model_kind(const cJSON *shape);

/* The key under which a shape's pattern as the service prints it is kept (see
 * model_set_printed_patterns); validation messages print it instead of "pattern". */
#define MODEL_PRINTED_PATTERN "x-sagemock-printedPattern"

/* At start-up, before the model is shared: `pairs` ({shape, text, shape, text, ..., NULL},
 * static strings) give patterns as the service prints them in its validation messages where
 * the published model writes them differently. Only anchors may differ: `text` less a leading
 * '^' and a trailing '$' must be the model's pattern (matching is unchanged: it is always
 * whole-value). 0, or SM_EINVAL with the reason in err. */
int model_set_printed_patterns(sm_model *m, const char *const *pairs, char *err, size_t errlen);

/* Whole-value match of `s` against the pattern of shape `shape_name` (1 match, 0 no, -1 no
 * pattern). */
int model_pattern_match(const sm_model *m, const char *shape_name, const char *s);

#endif
