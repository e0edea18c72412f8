/*
 * reply.c: response bodies, AWS errors and wire timestamps (see reply.h).
 */
#include "reply.h"
#include "errors.h"
#include "proto_cbor.h"
#include "proto_query.h"
#include "service.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void req_free(sm_req *r)
{
    free(r->body);
    cJSON_Delete(r->input);
    free(r->reply_body);
    if (r->op_state_free) r->op_state_free(r->op_state);
    r->body = NULL;
    r->input = NULL;
    r->reply_body = NULL;
    r->op_state = NULL;
    r->op_state_free = NULL;
}

/* The status each error code has on the real service (spec §1.5). Unlisted codes: 400. */
static const struct {
    const char *code;
    int status;
} error_status[] = {
    {"InternalFailure", 500},
    {"ServiceUnavailable", 503},
    {"RequestEntityTooLargeException", 413},
    /* awsQuery's signature refusals (auth.c) */
    {"MissingAuthenticationToken", 403},
    {"SignatureDoesNotMatch", 403},
    {"InvalidClientTokenId", 403},
};

static int status_of(const sm_req *r, const char *code, int *sender)
{
    *sender = 1;
    int st = r->service ? model_error_status(service_model(r->service), code, sender) : 0;
    if (st) return st;
    for (size_t i = 0; i < sizeof error_status / sizeof error_status[0]; i++)
        if (strcmp(error_status[i].code, code) == 0) {
            *sender = error_status[i].status < 500;
            return error_status[i].status;
        }
    return 400;
}

static void set_body(sm_req *r, int status, const char *type, char *body)
{
    free(r->reply_body);
    r->reply_body = body;
    r->reply_len = 0;
    r->nreply_headers = 0;
    r->status = status;
    r->reply_type = type;
}

static void add_header(sm_req *r, const char *name, const char *value)
{
    if (r->nreply_headers >= 2) return;
    r->reply_header_name[r->nreply_headers] = name;
    snprintf(r->reply_header_value[r->nreply_headers], sizeof r->reply_header_value[0], "%s",
             value);
    r->nreply_headers++;
}

/* The awsQueryCompatible error header: `x-amzn-query-error: Code;Sender` (or Receiver). */
static void add_query_error(sm_req *r, const char *code, int sender)
{
    char q[160];
    snprintf(q, sizeof q, "%s;%s", code, sender ? "Sender" : "Receiver");
    add_header(r, "x-amzn-query-error", q);
}

/* A smithy-rpc-v2-cbor body (binary: its length is kept) with the protocol's header. */
static void set_cbor_body(sm_req *r, int status, unsigned char *body, size_t len)
{
    set_body(r, status, CBOR_CONTENT_TYPE, (char *)body);
    r->reply_len = len;
    add_header(r, "smithy-protocol", RPCV2_PROTOCOL);
}

/* An awsQueryCompatible service (CloudWatch) answers awsJson and CBOR errors with the error
 * shape's id as __type ("com.amazonaws.cloudwatch#InvalidParameterValueException") and the
 * awsQuery code in `x-amzn-query-error: InvalidParameterValue;Sender`, which clients turn back
 * into the code. The shape is the one whose error code is `code` among the operation's
 * errors, else "<code>Exception" or "<code>" when that shape has the code; other codes keep
 * their name. Writes the __type into out; 0 when the service is not query-compatible. */
static int query_compatible_type(const sm_req *r, const char *code, char *out, size_t outlen)
{
    const sm_model *m = r->service ? service_model(r->service) : NULL;
    if (!m || !model_metadata(m, "awsQueryCompatible")) return 0;
    char names[3][160];
    int nnames = 0;
    const cJSON *op = r->op ? model_operation(m, r->op->name) : NULL, *e;
    const cJSON *errors = op ? cJSON_GetObjectItemCaseSensitive(op, "errors") : NULL;
    cJSON_ArrayForEach(e, errors)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "shape");
        if (nnames < 1 && cJSON_IsString(name)) {
            const cJSON *err =
                cJSON_GetObjectItemCaseSensitive(model_shape(m, name->valuestring), "error");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
            if (cJSON_IsString(c) && strcmp(c->valuestring, code) == 0)
                snprintf(names[nnames++], sizeof names[0], "%s", name->valuestring);
        }
    }
    snprintf(names[nnames++], sizeof names[0], "%sException", code);
    snprintf(names[nnames++], sizeof names[0], "%s", code);
    const char *shape = NULL;
    for (int i = 0; i < nnames && !shape; i++) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(model_shape(m, names[i]), "error");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
        if (cJSON_IsString(c) && strcmp(c->valuestring, code) == 0) shape = names[i];
    }
    if (!shape) {
        snprintf(out, outlen, "%s", code);
        return 1;
    }
    /* the Smithy namespace: com.amazonaws.<serviceId, lower case, without spaces> */
    const cJSON *sid = model_metadata(m, "serviceId");
    char ns[64] = "";
    size_t n = 0;
    for (const char *c = cJSON_IsString(sid) ? sid->valuestring : ""; *c && n + 1 < sizeof ns; c++)
        if (*c != ' ') ns[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    ns[n] = 0;
    return snprintf(out, outlen, "com.amazonaws.%s#%s", ns, shape) < (int)outlen;
}

/* Used when even an error body cannot be allocated: a static text, copied if possible. */
static const char oom_body[] =
    "{\"__type\":\"InternalFailure\",\"message\":\"" INTERNAL_FAILURE_TEXT "\"}";

static void reply_oom(sm_req *r)
{
    set_body(r, 500, APPLICATION_AMZ_JSON, strdup(oom_body));
    r->error_code = "InternalFailure";
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap);

static const char *json_type(const sm_req *r)
{
    return r->protocol == PROTO_JSON_1_0 ? APPLICATION_AMZ_JSON_1_0 : APPLICATION_AMZ_JSON;
}

static const char *xmlns_of(const sm_req *r)
{
    const cJSON *ns = r->service ? model_metadata(service_model(r->service), "xmlNamespace") : NULL;
    return cJSON_IsString(ns) ? ns->valuestring : NULL;
}

int reply_json(sm_req *r, cJSON *out)
{
    char *text = NULL;
    if (r->protocol == PROTO_CBOR && r->service) {
        unsigned char *buf = NULL;
        size_t len = 0;
        const sm_model *m = service_model(r->service);
        int rc = rpcv2_encode(m, model_output_shape(m, r->operation), out, &buf, &len);
        cJSON_Delete(out);
        if (rc != SM_OK) {
            reply_oom(r);
            return SM_ENOMEM;
        }
        set_cbor_body(r, 200, buf, len);
        r->error_code = NULL;
        return SM_OK;
    }
    if (r->protocol == PROTO_QUERY && r->service)
        text = out ? query_encode(service_model(r->service), r->operation, out, xmlns_of(r),
                                  r->request_id)
                   : NULL;
    else if (r->service && r->operation &&
             !model_output_shape(service_model(r->service), r->operation))
        text = strdup(""); /* no output shape (StopTrainingJob): "an HTTP 200 response with an
                            * empty HTTP body" (API reference); an empty output structure
                            * (DeleteTags) still answers {} */
    else
        text = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    if (!text) {
        reply_oom(r);
        return SM_ENOMEM;
    }
    set_body(r, 200, r->protocol == PROTO_QUERY ? QUERY_CONTENT_TYPE : json_type(r), text);
    r->error_code = NULL;
    return SM_OK;
}

int reply_json_text(sm_req *r, char *text)
{
    if (r->protocol == PROTO_JSON_1_0 || r->protocol == PROTO_JSON_1_1) {
        set_body(r, 200, json_type(r), text);
        r->error_code = NULL;
        return SM_OK;
    }
    cJSON *out = cJSON_Parse(text); /* other protocols encode from the tree */
    free(text);
    if (!out) {
        reply_oom(r);
        return SM_ENOMEM;
    }
    return reply_json(r, out);
}

int reply_is_json_error(const sm_req *r)
{
    return r->error_code && r->reply_type &&
           (strcmp(r->reply_type, APPLICATION_AMZ_JSON) == 0 ||
            strcmp(r->reply_type, APPLICATION_AMZ_JSON_1_0) == 0);
}

int reply_internal(sm_req *r)
{
    return reply_error(r, "InternalFailure", "%s", INTERNAL_FAILURE_TEXT);
}

int reply_rest_error(sm_req *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    char *m = msg ? xml_escape(msg) : NULL;
    free(msg);
    size_t n = m ? strlen(m) + strlen(code) + 160 : 0;
    char *text = m ? malloc(n) : NULL;
    if (text)
        snprintf(text, n,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s"
                 "</Message><RequestId>%s</RequestId></Error>",
                 code, m, r->request_id);
    free(m);
    if (!text) {
        reply_oom(r);
        return SM_ERR;
    }
    set_body(r, status, "application/xml", text);
    r->error_code = code;
    return SM_ERR;
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    text_utf8_scrub(s); /* messages echo client bytes (a target, a path): keep them UTF-8 */
    return s;
}

int reply_error(sm_req *r, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    int sender = 1, status = status_of(r, code, &sender);
    char *text = NULL;
    char type[256];
    int compatible =
        r->protocol != PROTO_QUERY && query_compatible_type(r, code, type, sizeof type);
    if (!compatible) snprintf(type, sizeof type, "%s", code);
    if (msg && r->protocol == PROTO_CBOR) {
        unsigned char *buf = NULL;
        size_t len = 0;
        int rc = rpcv2_encode_error(type, msg, &buf, &len);
        free(msg);
        if (rc != SM_OK) {
            reply_oom(r);
            return SM_ERR;
        }
        set_cbor_body(r, status, buf, len);
        r->error_code = code;
        if (compatible) add_query_error(r, code, sender);
        return SM_ERR;
    }
    if (msg && r->protocol == PROTO_QUERY) {
        text = query_encode_error(code, msg, sender, xmlns_of(r), r->request_id);
    } else if (msg) {
        /* A modeled error whose shape names its member "Message" (SageMaker's ResourceInUse,
         * ResourceNotFound, ResourceLimitExceeded) carries the text under that name too:
         * botocore, the JS SDK and amazonka read "message" first, the Go SDK v2 reads only the
         * modeled "Message" (spec §1.4). Unmodeled codes and CloudWatch Logs' errors (member
         * "message") keep the one key. */
        const char *mm =
            r->service ? model_error_message_member(service_model(r->service), code) : NULL;
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "__type", type) &&
            cJSON_AddStringToObject(o, "message", msg) &&
            (!mm || strcmp(mm, "Message") != 0 || cJSON_AddStringToObject(o, "Message", msg)))
            text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    free(msg);
    if (!text) {
        reply_oom(r);
        return SM_ERR;
    }
    set_body(r, status, r->protocol == PROTO_QUERY ? QUERY_CONTENT_TYPE : json_type(r), text);
    r->error_code = code;
    if (compatible) add_query_error(r, code, sender);
    return SM_ERR;
}

int reply_admin(sm_req *r, int status, cJSON *out)
{
    char *text = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    if (!text) {
        reply_oom(r);
        return SM_ENOMEM;
    }
    set_body(r, status, "application/json", text);
    r->error_code = status >= 400 ? "AdminError" : NULL;
    return status >= 400 ? SM_ERR : SM_OK;
}

int reply_admin_error(sm_req *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (!msg || !o || !cJSON_AddStringToObject(o, "error", msg)) {
        free(msg);
        cJSON_Delete(o);
        reply_oom(r);
        return SM_ERR;
    }
    free(msg);
    reply_admin(r, status, o);
    return SM_ERR;
}

int reply_raw(sm_req *r, int status, const char *type, const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        reply_oom(r);
        return SM_ENOMEM;
    }
    memcpy(copy, body, len);
    copy[len] = 0;
    set_body(r, status, type, copy);
    return SM_OK;
}

void reply_time_text(int64_t ms, char out[32])
{
    /* The text cJSON would print for ms / 1000.0 (an integer, or up to three decimals with
     * trailing zeros dropped), without its printf("%1.15g") + sscanf round trip per number. */
    int64_t s = ms / 1000;
    int frac = (int)(ms % 1000), n = 0;
    char digits[24];
    uint64_t u = (uint64_t)s;
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < (int)sizeof digits);
    int k = 0;
    while (n)
        out[k++] = digits[--n];
    if (frac) {
        out[k++] = '.';
        out[k++] = (char)('0' + frac / 100);
        out[k++] = (char)('0' + frac / 10 % 10);
        out[k++] = (char)('0' + frac % 10);
        while (out[k - 1] == '0')
            k--;
    }
    out[k] = 0;
}

cJSON *reply_time(int64_t ms)
{
    if (ms < 0) return cJSON_CreateNumber((double)ms / 1000.0);
    char buf[32];
    reply_time_text(ms, buf);
    return cJSON_CreateRaw(buf);
}
