/*
 * fuzz_request.c: a libFuzzer target on the request path: the gate, every protocol's decoding
 * (awsJson, the awsQuery form parser, smithy-rpc-v2-cbor), model validation and every handler
 * (gate_dispatch), and the admin API (admin_dispatch: fixtures, faults, clock, journal, jobs),
 * on an in-memory store, without HTTP.
 *
 * An input is  HEAD ['\t' AUTHORIZATION ['\t' HOST ['\t' ORIGIN]]] '\n' BODY, as
 * tests/fuzz/corpus/ holds them; without a newline the whole input is the head. HEAD is
 *   - "SageMaker.DescribeTrainingJob" (anything else not below): an awsJson call with that
 *     X-Amz-Target (Logs_20140328.GetLogEvents, GraniteServiceVersion20100801.ListMetrics...);
 *   - "@query": an awsQuery call, BODY the form (Action=...&Version=...); the service comes
 *     from Version or from the SigV4 scope of AUTHORIZATION;
 *   - "@cbor /service/<Service>/operation/<Op>": a smithy-rpc-v2-cbor call, BODY the CBOR;
 *   - "GET /_sagemock/requests?limit=5" (any method, a path under /_sagemock): an admin call,
 *     with the Host and Origin headers given after the tabs (none: no such header).
 * AUTHORIZATION picks the region through its SigV4 scope (--auth none: read, not verified).
 *
 * The store lives across inputs, so that Describe, Stop, Update, Delete and the tag calls find
 * jobs: a few seed jobs are created at start and again every RESET_EVERY inputs, when the
 * store is emptied. Each input is one request at a simulated wall time STEP_MS after the
 * previous one, so that jobs move through their statuses while the fuzzer runs. The reply is
 * freed after every input (req_free), so LeakSanitizer sees any leak of a request's path.
 *
 * Besides the sanitizers, every reply is checked: a status; text replies (JSON, XML, HTML) of
 * valid UTF-8; admin replies JSON objects; awsJson replies a JSON object without a null
 * anywhere (or no body at all for an operation without output), with "__type" and "message"
 * strings on errors (abort() otherwise, so the fuzzer keeps the input).
 *
 * It must not touch the network or the file system beyond the in-memory store.
 */
#include "admin.h"
#include "boot.h"
#include "clock.h"
#include "config.h"
#include "errors.h"
#include "fixtures.h"
#include "service.h"
#include "gate.h"
#include "registry.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESET_EVERY 2000
#define STEP_MS 40
#define TARGET_MAX 512

/* Seed jobs, created through the API itself: one plain, one with a warm pool (for
 * UpdateTrainingJob), one spot job with retries; names the corpus refers to. */
static const char *const seed_jobs[] = {
    "{\"TrainingJobName\":\"fuzz-job\",\"AlgorithmSpecification\":{\"TrainingImage\":"
    "\"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1\","
    "\"TrainingInputMode\":\"File\"},\"RoleArn\":\"arn:aws:iam::123456789012:role/"
    "SageMakerRole\",\"OutputDataConfig\":{\"S3OutputPath\":\"s3://bucket/out/\"},"
    "\"ResourceConfig\":{\"InstanceType\":\"ml.m5.large\",\"InstanceCount\":1,"
    "\"VolumeSizeInGB\":30},\"StoppingCondition\":{\"MaxRuntimeInSeconds\":3600},"
    "\"Tags\":[{\"Key\":\"team\",\"Value\":\"fuzz\"}]}",
    "{\"TrainingJobName\":\"fuzz-warm\",\"AlgorithmSpecification\":{\"TrainingImage\":"
    "\"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1\","
    "\"TrainingInputMode\":\"File\"},\"RoleArn\":\"arn:aws:iam::123456789012:role/"
    "SageMakerRole\",\"OutputDataConfig\":{\"S3OutputPath\":\"s3://bucket/out/\"},"
    "\"ResourceConfig\":{\"InstanceType\":\"ml.m5.large\",\"InstanceCount\":1,"
    "\"VolumeSizeInGB\":30,\"KeepAlivePeriodInSeconds\":600},\"StoppingCondition\":"
    "{\"MaxRuntimeInSeconds\":3600}}",
    "{\"TrainingJobName\":\"fuzz-spot\",\"AlgorithmSpecification\":{\"TrainingImage\":"
    "\"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1\","
    "\"TrainingInputMode\":\"File\"},\"RoleArn\":\"arn:aws:iam::123456789012:role/"
    "SageMakerRole\",\"OutputDataConfig\":{\"S3OutputPath\":\"s3://bucket/out/\"},"
    "\"ResourceConfig\":{\"InstanceType\":\"ml.m5.large\",\"InstanceCount\":1,"
    "\"VolumeSizeInGB\":30},\"StoppingCondition\":{\"MaxRuntimeInSeconds\":3600,"
    "\"MaxWaitTimeInSeconds\":7200},\"EnableManagedSpotTraining\":true,"
    "\"RetryStrategy\":{\"MaximumRetryAttempts\":2}}",
};

static int64_t wall_ms;
static unsigned long inputs;

/* The headers of one request, for sm_req.header. */
typedef struct headers {
    const char *target, *authorization, *content_type, *host, *origin, *smithy;
} headers;

static const char *header_of(void *transport, const char *name)
{
    const headers *h = transport;
    if (!h) return NULL;
    if (!strcasecmp(name, "X-Amz-Target")) return h->target;
    if (!strcasecmp(name, "Authorization")) return h->authorization;
    if (!strcasecmp(name, "Content-Type")) return h->content_type;
    if (!strcasecmp(name, "Host")) return h->host;
    if (!strcasecmp(name, "Origin")) return h->origin;
    if (!strcasecmp(name, "smithy-protocol")) return h->smithy;
    return NULL;
}

static int has_null(const cJSON *v)
{
    if (cJSON_IsNull(v)) return 1;
    for (const cJSON *c = v->child; c; c = c->next)
        if (has_null(c)) return 1;
    return 0;
}

/* Every text reply is valid UTF-8 (text.c): a client's bytes never come back raw. */
static int text_reply(const sm_req *r)
{
    return r->reply_type && (strstr(r->reply_type, "json") || strstr(r->reply_type, "xml") ||
                             strstr(r->reply_type, "text/"));
}

static void check_reply(const sm_req *r, const char *target)
{
    const char *why = NULL;
    cJSON *out = NULL;
    size_t len = !r->reply_body ? 0 : r->reply_len ? r->reply_len : strlen(r->reply_body);
    if (r->status < 200 || r->status > 599 || !r->reply_body)
        why = "no status or no body";
    else if (text_reply(r) && text_utf8_invalid_at(r->reply_body, len) != len)
        why = "the reply is not valid UTF-8";
    else if (r->reply_type && strcmp(r->reply_type, "application/json") == 0 &&
             !cJSON_IsObject(out = cJSON_ParseWithLength(r->reply_body, len)))
        why = "the admin reply is not a JSON object";
    else if (r->reply_type && strcmp(r->reply_type, APPLICATION_AMZ_JSON) == 0 &&
             !(r->status == 200 && len == 0)) { /* an operation without output: no body */
        out = cJSON_Parse(r->reply_body);
        if (!cJSON_IsObject(out))
            why = "the body is not a JSON object";
        else if (has_null(out))
            why = "the body holds a null";
        else if (r->status != 200 &&
                 (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "__type")) ||
                  !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "message"))))
            why = "an error without __type and message";
    }
    cJSON_Delete(out);
    if (why) {
        fprintf(stderr, "fuzz_request: %s (target '%s', status %d): %.500s\n", why, target,
                r->status, r->reply_body ? r->reply_body : "(none)");
        abort();
    }
}

/* Run one request (see the top of this file for HEAD); the caller owns body (handed to the
 * request, freed by req_free). */
static int dispatch_with(const char *head, const char *authorization, const char *host,
                         const char *origin, char *body, size_t len)
{
    sm_req r = {0};
    headers h = {.authorization = authorization, .host = host, .origin = origin};
    char method[16] = "POST", path[TARGET_MAX] = "/";
    int admin = 0;
    const char *space = strchr(head, ' ');
    if (strcmp(head, "@query") == 0) {
        h.content_type = "application/x-www-form-urlencoded";
    } else if (strncmp(head, "@cbor ", 6) == 0) {
        snprintf(path, sizeof path, "%s", head + 6);
        h.content_type = "application/cbor";
        h.smithy = "rpc-v2-cbor";
    } else if (space && space - head < (long)sizeof method && space[1] == '/') {
        snprintf(method, sizeof method, "%.*s", (int)(space - head), head);
        snprintf(path, sizeof path, "%s", space + 1);
        admin = strncmp(path, "/_sagemock", 10) == 0;
        h.content_type = "application/json";
    } else {
        h.target = head;
        h.content_type = APPLICATION_AMZ_JSON;
    }
    /* As http.c hands them over: the path without its query, the query apart. */
    char *q = strchr(path, '?');
    if (q) *q++ = 0;
    r.method = method;
    r.path = path;
    r.query = q ? q : "";
    r.target_header = h.target;
    r.content_type = h.content_type;
    r.authorization = authorization;
    r.header = header_of;
    r.body = body;
    r.body_len = len;
    r.body_too_large = len > cfg.max_body;
    r.wall_ms = (wall_ms += STEP_MS);
    snprintf(r.request_id, sizeof r.request_id, "00000000-0000-4000-8000-%012lu", inputs % 1000000);
    r.transport = &h; /* no connection: no REQ_LOCAL_ADDRESS */
    if (admin)
        admin_dispatch(&r);
    else
        gate_dispatch(&r);
    int status = r.status;
    check_reply(&r, head);
    req_free(&r);
    return status;
}

static int dispatch(const char *target, const char *authorization, char *body, size_t len)
{
    return dispatch_with(target, authorization, NULL, NULL, body, len);
}

static void seed(void)
{
    char err[512];
    if (fx_reset(clock_now(wall_ms), err, sizeof err) != SM_OK) {
        fprintf(stderr, "fuzz_request: reset failed: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < sizeof seed_jobs / sizeof seed_jobs[0]; i++) {
        char *body = strdup(seed_jobs[i]);
        if (!body || dispatch("SageMaker.CreateTrainingJob", NULL, body, strlen(body)) != 200) {
            fprintf(stderr, "fuzz_request: seed job %zu refused\n", i);
            abort();
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cfg.db = ":memory:";
    cfg.log_level = LOG_ERROR;
    char err[2048];
    if (services_load(err, sizeof err) != SM_OK || store_open(cfg.db) != SM_OK ||
        boot_clock_init() != SM_OK || boot_secret_init() != SM_OK) {
        fprintf(stderr, "fuzz_request: start-up failed: %s %s\n", err, store_errmsg());
        abort();
    }
    reg_set_default(cfg.default_scenario);
    wall_ms = clock_wall_ms();
    if (fx_init(clock_now(wall_ms), err, sizeof err) != SM_OK) {
        fprintf(stderr, "fuzz_request: fixtures refused: %s\n", err);
        abort();
    }
    seed();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (++inputs % RESET_EVERY == 0) seed();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - data) : size;
    if (head >= TARGET_MAX) return 0; /* the transport's header limits stop these */
    char target[TARGET_MAX];
    memcpy(target, data, head);
    target[head] = 0;
    if (strlen(target) != head) return 0; /* a header never holds a NUL */
    char *fields[4] = {target, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        char *tab = strchr(fields[i - 1], '\t');
        if (!tab) break;
        *tab = 0;
        fields[i] = tab + 1;
    }

    /* As http.c hands it over: NULL when empty, else malloc'd and NUL-terminated. */
    size_t len = nl ? size - head - 1 : 0;
    char *body = NULL;
    if (len) {
        if (!(body = malloc(len + 1))) return 0;
        memcpy(body, nl + 1, len);
        body[len] = 0;
    }
    dispatch_with(fields[0], fields[1], fields[2], fields[3], body, len);
    return 0;
}
