/*
 * service.h: an AWS service is a value.
 *
 * In the manner of nginx's module descriptor, each service sagemock serves is one const
 * sm_service in its own folder (server/services/<name>/service.c): its names, the protocols it
 * speaks, its embedded model and its operation table. The gate (gate.c) routes a request to a
 * service and an operation, decodes the body with the protocol's codec into one cJSON input,
 * and runs what every call shares (SigV4 with the service's signing name, faults, validation
 * against the service's model, the write transaction, the journal); replies are encoded back
 * in the request's protocol (reply.c). Handlers never know the protocol.
 *
 * Adding a service: a folder with its model (model/, with its attribution), a service.c that
 * defines the descriptor and the handlers, one line in services.c, one sagemock_embed() line
 * in CMakeLists.txt for the model. Adding an operation: a row in the service's table and a
 * handler.
 */
#ifndef SM_SERVICE_H
#define SM_SERVICE_H

#include "model.h"
#include "req.h"

#include <cjson/cJSON.h>

/* Protocols (a bit set: a service may speak several, as CloudWatch does). */
enum {
    PROTO_JSON_1_0 = 1, /* awsJson 1.0: X-Amz-Target, application/x-amz-json-1.0 */
    PROTO_JSON_1_1 = 2, /* awsJson 1.1: X-Amz-Target, application/x-amz-json-1.1 */
    PROTO_QUERY = 4,    /* awsQuery: form body Action=...&Version=..., XML replies */
    PROTO_CBOR = 8      /* smithy-rpc-v2-cbor: POST /service/<Target>/operation/<Op> */
};

typedef int (*op_handler)(sm_req *r);

typedef struct sm_operation {
    const char *name; /* "DescribeTrainingJob" */
    op_handler handler;
    int flags;
} sm_operation;

/* The gate runs the handler inside one store transaction (BEGIN IMMEDIATE) and commits when it
 * succeeds, rolls back when it replied an error. */
#define OP_WRITE 1
/* With OP_WRITE: group commit (group.c), in two steps. The handler runs first, in the worker
 * and outside any transaction: it checks the request and builds what it will write (kept in
 * r->op_state), then names the function that writes it (r->write), or answers (an error). The
 * writes of requests that arrive while a commit is in progress share the next transaction,
 * each in its own savepoint (a refused one undoes its own writes alone), in arrival order, and
 * are all answered once it committed. r->write runs on the committer's thread and replies as
 * a handler does. What needs no store belongs in the first step, so that the write lock is
 * held for the writes alone. */
#define OP_GROUP 2

typedef struct sm_service {
    const char *id;            /* "sagemaker": faults, journal, configuration name it */
    const char *title;         /* "Amazon SageMaker": for messages */
    const char *signing_name;  /* SigV4 credential scope service: "sagemaker", "logs" */
    int protocols;             /* PROTO_* bits */
    const char *target_prefix; /* awsJson / CBOR target prefix ("SageMaker"), or NULL */
    const char *query_version; /* awsQuery Version ("2011-06-15"), or NULL */
    /* The code a constraint failure answers with: NULL for "ValidationException" (SageMaker);
     * CloudWatch Logs says "InvalidParameterException", IAM and STS "ValidationError". */
    const char *validation_code;
    const char *model_json; /* the embedded model text (embed.cmake) */
    /* Patterns as the service prints them in validation messages where the model writes them
     * otherwise (anchors): {shape, text, ..., NULL}; NULL when none. See model.h. */
    const char *const *printed_patterns;
    const sm_operation *ops; /* sorted by name (strcmp) */
    int nops;
    /* The resource a request is about (a job name), for faults, the journal and the access
     * log; NULL when none. May be NULL. */
    const char *(*subject)(const cJSON *input);
} sm_service;

/* Every service sagemock serves (services.c), and their models once loaded. */
extern const sm_service *const sm_services[];
extern const int sm_nservices;

/* Load every service's model; 0, or SM_ERR with the reason in err. */
int services_load(char *err, size_t errlen);
void services_free(void);
const sm_model *service_model(const sm_service *s);

/* Lookups (NULL when unknown). */
const sm_service *service_by_id(const char *id);
const sm_service *service_by_target_prefix(const char *prefix, size_t len);
const sm_service *service_by_signing_name(const char *name, size_t len);
const sm_service *service_by_query_version(const char *version);
const sm_operation *service_operation(const sm_service *s, const char *name);

#endif
