/*
 * gate.c: the one path every AWS API request takes (see gate.h).
 *
 * Routing, by protocol:
 *   - awsJson (1.0 and 1.1): `X-Amz-Target: <prefix>.<Operation>`; the prefix names the
 *     service ("SageMaker", "Logs_20140328"), the content type must be the one it speaks;
 *   - awsQuery: a POST form body `Action=<Operation>&Version=<date>`; the service is the one
 *     named by the SigV4 credential scope when it speaks awsQuery, else the one of Version;
 *   - smithy-rpc-v2-cbor: `POST /service/<prefix>/operation/<Operation>` with the header
 *     `smithy-protocol: rpc-v2-cbor`; the prefix names the service as for awsJson;
 *   - anything else (a REST call such as S3's GET /bucket/key) is not served, and says so in
 *     the REST-XML error shape those clients read.
 * Then, in Coral's order: body size, decoding (JSON or form), SigV4 with the service's signing
 * name, injected faults, validation against the service's model, region, and the handler,
 * inside one store transaction when the operation writes. Nothing here knows a service by
 * name: everything comes from the service descriptors (service.h).
 *
 * Must not: reply twice without reason (reply_* replace an earlier reply), let a handler run
 * before every shared check passed, or leave a transaction open.
 */
#include "gate.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "errors.h"
#include "faults.h"
#include "group.h"
#include "jsonutil.h"
#include "log.h"
#include "proto_cbor.h"
#include "proto_query.h"
#include "reply.h"
#include "service.h"
#include "batch.h"
#include "store.h"
#include "text.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "Credential=AKID/date/REGION/SERVICE/aws4_request": the part `which` (2 region, 3 service)
 * of the credential scope, when it looks like one; signatures themselves are checked by
 * auth.c. */
static int scope_part(const char *auth, int which, char *out, size_t outlen)
{
    const char *c = auth ? strstr(auth, "Credential=") : NULL;
    if (!c) return 0;
    c += strlen("Credential=");
    for (int slash = 0; slash < which; slash++) {
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

/* The media type of a Content-Type header is `type` (parameters after ';' ignored). */
static int media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static int json_protocol_of(const char *ct)
{
    if (media_is(ct, "application/x-amz-json-1.1")) return PROTO_JSON_1_1;
    if (media_is(ct, "application/x-amz-json-1.0")) return PROTO_JSON_1_0;
    return 0;
}

/* The names of the services served, for messages: "SageMaker, CloudWatch Logs, STS and IAM". */
static void served_list(char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < sm_nservices && n < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%s",
                              i == 0                  ? ""
                              : i == sm_nservices - 1 ? " and "
                                                      : ", ",
                              sm_services[i]->title);
}

/* Coral answers a non-POST or a foreign content type with a bare 404. */
static void coral_not_found(sm_req *r)
{
    static const char not_found[] = "<UnknownOperationException/>";
    reply_raw(r, 404, "application/xml", not_found, sizeof not_found - 1);
    r->error_code = "UnknownOperationException";
}

/* The operation `opname` of `svc`, routed; else the error, in code `code`, that names what the
 * client asked for: `asked` describes the service it named (when svc is NULL), `how` ends the
 * message about an operation the service does not have ("" or " (X-Amz-Target '...')"). */
static int route_to(sm_req *r, const sm_service *svc, const char *opname, const char *code,
                    const char *asked, const char *how)
{
    if (!svc) {
        char served[160];
        served_list(served, sizeof served);
        return reply_error(r, code, "sagemock does not serve %s; it serves %s.", asked, served);
    }
    r->service = svc;
    r->op = service_operation(svc, opname);
    if (!r->op)
        return reply_error(r, code, "sagemock does not serve the %s operation %s%s.", svc->title,
                           opname, how);
    r->operation = r->op->name;
    return SM_OK;
}

/* awsJson: X-Amz-Target. Returns SM_OK when routed, else has replied. */
static int route_json(sm_req *r)
{
    snprintf(r->target, sizeof r->target, "%s", r->target_header);
    r->operation = r->target;
    int proto = json_protocol_of(r->content_type);
    r->protocol = proto ? proto : PROTO_JSON_1_1;
    const char *dot = strrchr(r->target_header, '.');
    const sm_service *svc =
        dot ? service_by_target_prefix(r->target_header, (size_t)(dot - r->target_header)) : NULL;
    if (strcmp(r->method, "POST") != 0 || !proto || (svc && !(svc->protocols & proto))) {
        coral_not_found(r);
        return SM_ERR;
    }
    char asked[192], how[160];
    snprintf(asked, sizeof asked, "the service of X-Amz-Target '%s'", r->target_header);
    snprintf(how, sizeof how, " (X-Amz-Target '%s')", r->target_header);
    return route_to(r, svc, dot ? dot + 1 : "", "UnknownOperationException", asked, how);
}

/* awsQuery: Action and Version in a form body. */
static int route_query(sm_req *r)
{
    r->protocol = PROTO_QUERY;
    char action[96], version[32], signing[32];
    if (query_action(r->body, r->body_len, action, sizeof action, version, sizeof version) !=
        SM_OK) {
        snprintf(r->target, sizeof r->target, "(malformed form body)");
        r->operation = r->target;
        return reply_error(r, "MalformedQueryString",
                           "The request body is not a well-formed form (application/"
                           "x-www-form-urlencoded).");
    }
    snprintf(r->target, sizeof r->target, "%s", action[0] ? action : "(no Action)");
    r->operation = r->target;
    const sm_service *svc = NULL;
    if (scope_part(r->authorization, 3, signing, sizeof signing))
        svc = service_by_signing_name(signing, strlen(signing));
    if (!svc || !(svc->protocols & PROTO_QUERY)) svc = service_by_query_version(version);
    if (svc && !action[0]) {
        r->service = svc;
        return reply_error(r, "MissingAction", "The request must contain the parameter Action.");
    }
    char asked[192];
    snprintf(asked, sizeof asked, "the service of Action=%s&Version=%s",
             action[0] ? action : "(none)", version[0] ? version : "(none)");
    return route_to(r, svc, action, "InvalidAction", asked, "");
}

/* smithy-rpc-v2-cbor: the service and operation are in the path. */
static int is_cbor_request(const sm_req *r)
{
    char svc[128], op[128];
    const char *proto = r->header ? r->header(r->transport, "smithy-protocol") : NULL;
    return proto && strcmp(proto, RPCV2_PROTOCOL) == 0 &&
           rpcv2_path(r->path, svc, sizeof svc, op, sizeof op);
}

static int route_cbor(sm_req *r)
{
    char prefix[128], op[128];
    rpcv2_path(r->path, prefix, sizeof prefix, op, sizeof op);
    snprintf(r->target, sizeof r->target, "%.63s.%.63s", prefix, op);
    r->operation = r->target;
    r->protocol = PROTO_CBOR;
    const sm_service *svc = service_by_target_prefix(prefix, strlen(prefix));
    if (svc && (svc->protocols & PROTO_CBOR)) r->service = svc; /* its error conventions */
    /* A non-POST or a body of another media type: 404 as on the awsJson path, but in CBOR,
     * which is what the client reads (inferred). */
    if (strcmp(r->method, "POST") != 0 ||
        (r->body_len && !media_is(r->content_type, CBOR_CONTENT_TYPE))) {
        reply_error(r, "UnknownOperationException",
                    "smithy-rpc-v2-cbor requests are POST with Content-Type %s.",
                    CBOR_CONTENT_TYPE);
        r->status = 404;
        return SM_ERR;
    }
    if (svc && !(svc->protocols & PROTO_CBOR)) {
        coral_not_found(r);
        return SM_ERR;
    }
    char asked[192];
    snprintf(asked, sizeof asked, "the service %s of this smithy-rpc-v2-cbor request", prefix);
    return route_to(r, svc, op, "UnknownOperationException", asked, " (smithy-rpc-v2-cbor)");
}

/* Neither awsJson nor awsQuery: most likely S3 (REST), which sagemock leaves to an S3
 * emulator. Answered in the REST-XML error shape, so clients show the code and message. */
static void not_served(sm_req *r)
{
    snprintf(r->target, sizeof r->target, "%s %s", r->method, r->path);
    r->operation = r->target;
    if (strcmp(r->method, "POST") == 0 && json_protocol_of(r->content_type)) {
        r->protocol = json_protocol_of(r->content_type);
        reply_error(r, "UnknownOperationException",
                    "Unknown operation: the request has no X-Amz-Target header.");
        return;
    }
    char served[160];
    served_list(served, sizeof served);
    reply_rest_error(r, 501, "NotImplemented",
                     "sagemock serves %s, not this request (%s %s): S3 and other REST APIs are "
                     "not served. Point AWS_ENDPOINT_URL_S3 (or that service's own endpoint "
                     "variable) at an emulator of that service.",
                     served, r->method, r->path);
}

/* A store call that failed because another writer (a large fixture load, a reset) held the
 * store past its busy timeout is a temporary failure of the service, which every SDK retries
 * (spec §1.6): ServiceUnavailable, logged, instead of a silent InternalFailure. */
static void busy_reply(sm_req *r)
{
    log_msg(LOG_WARN,
            "req=%s %s: the store stayed busy (another write held it): "
            "ServiceUnavailable",
            r->request_id, r->operation);
    reply_error(r, "ServiceUnavailable", "%s", fault_message("ServiceUnavailable"));
}

/* The reply of a write whose transaction failed: busy (another writer held the store past its
 * timeout) or broken. */
static void write_failed(sm_req *r, int busy)
{
    if (busy)
        busy_reply(r);
    else
        reply_internal(r);
}

/* What runs in the transaction: the write step of a group commit's operation, else the
 * handler. */
static void write_step(sm_req *r)
{
    if (r->write)
        r->write(r);
    else
        r->op->handler(r);
}

void gate_write(sm_req *r)
{
    int rc = store_begin();
    if (rc != SM_OK) {
        write_failed(r, store_last_busy());
        return;
    }
    write_step(r);
    if (r->error_code) {
        store_rollback();
    } else if ((rc = store_commit()) != SM_OK) {
        int busy = store_last_busy();
        store_rollback();
        write_failed(r, busy);
    }
}

void gate_write_group(sm_req **rs, int n)
{
    int broken = store_begin() != SM_OK;
    int busy = broken && store_last_busy();
    for (int i = 0; i < n && !broken; i++) {
        sm_req *r = rs[i];
        if (store_savepoint() != SM_OK) {
            broken = 1;
            break;
        }
        write_step(r);
        if (!r->reply_body && r->status == 0)
            reply_error(r, "InternalFailure", "The request produced no reply.");
        /* A refused request undoes its own writes; when that fails, or when SQLite rolled
         * the whole transaction back (I/O errors do), nothing of the group may stand. */
        broken = (r->error_code ? store_rollback_to() : store_release()) != SM_OK;
    }
    if (!broken && store_commit() != SM_OK) {
        broken = 1;
        busy = store_last_busy();
    }
    if (!broken) return;
    store_rollback();
    log_msg(LOG_WARN, "a group of %d writes failed (%s): every one is answered an error", n,
            busy ? "the store stayed busy" : store_errmsg());
    for (int i = 0; i < n; i++)
        write_failed(rs[i], busy);
}

/* The handler: a read as it is; a write inside its transaction; a group commit's first step
 * outside it, its write then done at once when no commit is in progress, else queued for the
 * next group commit when the transport can wait for it (group.c), else written at once. */
static void run_handler(sm_req *r)
{
    if ((r->op->flags & (OP_WRITE | OP_GROUP)) == (OP_WRITE | OP_GROUP)) {
        r->op->handler(r);
        if (r->status || !r->write) return; /* it answered */
        if (r->can_wait && group_claim()) { /* no commit in progress: at once, by this worker */
            gate_write(r);
            group_release();
        } else if (r->can_wait && group_accepting()) {
            r->group = 1; /* the transport hands it to group_submit() */
        } else {
            gate_write(r);
        }
        return;
    }
    if (!(r->op->flags & OP_WRITE)) {
        r->op->handler(r); /* a read may bring due jobs up to date: it writes too */
        if (r->error_code && !strcmp(r->error_code, "InternalFailure") && store_last_busy())
            busy_reply(r);
        return;
    }
    gate_write(r);
}

void gate_dispatch(sm_req *r)
{
    r->now_ms = clock_now(r->wall_ms); /* the request's one simulated timestamp */
    r->protocol = PROTO_JSON_1_1;
    int routed = r->target_header ? route_json(r)
                 : strcmp(r->method, "POST") == 0 &&
                         media_is(r->content_type, "application/x-www-form-urlencoded")
                     ? route_query(r)
                 : is_cbor_request(r) ? route_cbor(r)
                                      : (not_served(r), SM_ERR);
    if (routed != SM_OK) return;

    const sm_service *svc = r->service;
    if (r->body_too_large) {
        reply_error(r, "RequestEntityTooLargeException",
                    "Request body is larger than the limit of %zu bytes.", cfg.max_body);
        return;
    }
    const char *in_shape = model_input_shape(service_model(svc), r->operation);
    if (r->protocol == PROTO_QUERY) {
        char why[256];
        int rc = query_decode(service_model(svc), in_shape, r->body, r->body_len, &r->input, why,
                              sizeof why);
        if (rc != SM_OK) {
            if (rc == SM_ENOMEM)
                reply_internal(r);
            else
                reply_error(r, "MalformedQueryString", "%s", why);
            return;
        }
        if (text_tree_check(r->input, why, sizeof why) != SM_OK) {
            reply_error(r, svc->validation_code ? svc->validation_code : "ValidationException",
                        "%s", why);
            return;
        }
    } else if (r->protocol == PROTO_CBOR) {
        char why[256];
        int rc = rpcv2_decode(service_model(svc), in_shape, r->body, r->body_len, &r->input, why,
                              sizeof why);
        if (rc != SM_OK) {
            if (rc == SM_ENOMEM)
                reply_internal(r);
            else
                reply_error(r, "SerializationException", "%s", why);
            return;
        }
    } else {
        /* Valid UTF-8 without NUL (cJSON would cut "a\u0000b" to "a"), then one JSON object
         * and nothing after it but white space (the body is NUL-terminated: len + 1). */
        char why[160];
        if (text_json_check(r->body, r->body_len, NULL, why, sizeof why) != SM_OK) {
            reply_error(r, "SerializationException", "The request body %s.", why);
            return;
        }
        const char *end = NULL;
        r->input = r->body_len ? cJSON_ParseWithLengthOpts(r->body, r->body_len + 1, &end, 1)
                               : cJSON_CreateObject();
        if (!cJSON_IsObject(r->input)) {
            reply_error(r, "SerializationException",
                        r->input ? "The request body must be a JSON object."
                                 : "The request body is not valid JSON.");
            return;
        }
    }
    /* Authentication comes after the target and the body, as in Coral (spec §6.3), and before
     * everything that is the service's own behaviour (faults, validation, handlers). */
    if (auth_check(r) != SM_OK) return;
    r->job_name = svc->subject ? svc->subject(r->input) : NULL;
    const char *fault = fault_check(svc->id, r->operation, r->job_name, &r->delay_ms);
    if (fault) {
        reply_error(r, fault, "%s", fault_message(fault));
        return;
    }

    char *message = NULL;
    int rc = in_shape ? val_input(service_model(svc), in_shape, r->input, &message) : VAL_OK;
    if (rc != VAL_OK) {
        const char *invalid = svc->validation_code ? svc->validation_code : "ValidationException";
        if (rc == VAL_SERIALIZATION)
            /* awsQuery has no serialization errors: every value arrives as text */
            reply_error(r, r->protocol == PROTO_QUERY ? invalid : "SerializationException", "%s",
                        message);
        else if (rc == VAL_VALIDATION)
            reply_error(r, invalid, "%s", message);
        else
            reply_error(r, "InternalFailure", "Out of memory while validating the request.");
        free(message);
        return;
    }

    if (!r->region[0]) /* auth_check set the region of the (verified) credential scope */
        snprintf(r->region, sizeof r->region, "%s", cfg.region);
    run_handler(r);
}
