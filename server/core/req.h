/*
 * req.h: the per-request context, shared by the transport, the gate, the handlers and the
 * admin API.
 *
 * Ownership: the context owns the body, the parsed input and the reply; http.c frees it all
 * when the response is queued (req_free). Handlers borrow the input and hand the output over
 * with reply_json()/reply_error(); they never free either.
 */
#ifndef SM_REQ_H
#define SM_REQ_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* sm_req.header's name for the address the connection was accepted on ("127.0.0.1", "::1"),
 * NULL when unknown; no real header name starts with ':'. */
#define REQ_LOCAL_ADDRESS ":local-address"

typedef struct sm_req {
    /* What arrived (filled by http.c). */
    const char *method;
    const char *path;
    const char *query;         /* raw query string after '?', or "" */
    const char *target_header; /* X-Amz-Target, or NULL */
    const char *content_type;  /* Content-Type, or NULL */
    const char *authorization;
    /* Any request header by name, case-insensitive (NULL when absent), through the transport's
     * opaque handle: set by http.c; the SigV4 check reads every signed header with it. The
     * pseudo-header REQ_LOCAL_ADDRESS is the numeric address the connection came in on. */
    const char *(*header)(void *transport, const char *name);
    void *transport;
    char *body; /* NUL-terminated; owned */
    size_t body_len;
    int body_too_large;

    /* Set once per request by the gate. */
    int64_t wall_ms;
    int64_t now_ms; /* simulated time: the only "now" a handler may use */
    char request_id[37];
    char region[32];
    const struct sm_service *service; /* the service routed to, or NULL */
    const struct sm_operation *op;    /* the operation routed to, or NULL */
    int protocol;                     /* PROTO_* (service.h) the reply is encoded in */
    const char *operation;            /* "DescribeTrainingJob" once routed, else the target */
    char target[128];                 /* what the client asked for, kept for the journal */
    cJSON *input;                     /* decoded body (any protocol); owned */

    /* The reply (filled through reply.c). */
    int status;
    char *reply_body; /* owned */
    size_t reply_len; /* its length when binary (CBOR); 0: a NUL-terminated text */
    const char *reply_type;
    /* Extra response headers set by reply.c (smithy-protocol, x-amzn-query-error). */
    int nreply_headers;
    const char *reply_header_name[2];
    char reply_header_value[2][160];
    const char *error_code; /* NULL on success */
    int delay_ms;           /* injected latency: http.c holds the reply this long (faults.c) */
    const char *job_name;   /* the request's subject (a job name), borrowed from input */

    /* Group commit (OP_GROUP, service.h; group.c). The handler of such an operation names in
     * `write` the step that writes (run in the transaction), and keeps what it built for it in
     * op_state, which req_free releases with op_state_free. can_wait is set by a transport that
     * can hold the connection while the write waits for the next group commit (http.c); the
     * gate then sets `group` instead of writing, and the transport hands the request to
     * group_submit(). */
    int (*write)(struct sm_req *r);
    void *op_state;
    void (*op_state_free)(void *state);
    int can_wait;
    int group;
} sm_req;

void req_free(sm_req *r);

#endif
