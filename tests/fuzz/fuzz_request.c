/*
 * fuzz_request.c: a libFuzzer target on the request path: the gate, JSON decoding, model
 * validation and every handler (gate_dispatch), on an in-memory store, without HTTP.
 *
 * An input is  TARGET ['\t' AUTHORIZATION] '\n' BODY : the X-Amz-Target header (and, after a
 * tab, an Authorization header, whose SigV4 scope picks the region), then the body, as
 * tests/fuzz/corpus/ holds them. Without a newline the whole input is the target.
 *
 * The store lives across inputs, so that Describe, Stop, Update, Delete and the tag calls find
 * jobs: a few seed jobs are created at start and again every RESET_EVERY inputs, when the
 * store is emptied. Each input is one request at a simulated wall time STEP_MS after the
 * previous one, so that jobs move through their statuses while the fuzzer runs. The reply is
 * freed after every input (req_free), so LeakSanitizer sees any leak of a request's path.
 *
 * Besides the sanitizers, every reply is checked: a status, and for awsJson replies a JSON
 * object without a null anywhere, with "__type" and "message" strings on errors (abort()
 * otherwise, so the fuzzer keeps the input).
 *
 * It must not touch the network or the file system beyond the in-memory store.
 */
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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int has_null(const cJSON *v)
{
    if (cJSON_IsNull(v)) return 1;
    for (const cJSON *c = v->child; c; c = c->next)
        if (has_null(c)) return 1;
    return 0;
}

static void check_reply(const sm_req *r, const char *target)
{
    const char *why = NULL;
    cJSON *out = NULL;
    if (r->status < 200 || r->status > 599 || !r->reply_body)
        why = "no status or no body";
    else if (r->reply_type && strcmp(r->reply_type, APPLICATION_AMZ_JSON) == 0) {
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

/* Run one request; the caller owns body (handed to the request, freed by req_free). */
static int dispatch(const char *target, const char *authorization, char *body, size_t len)
{
    sm_req r = {0};
    r.method = "POST";
    r.path = "/";
    r.query = "";
    r.target_header = target;
    r.content_type = APPLICATION_AMZ_JSON;
    r.authorization = authorization;
    r.body = body;
    r.body_len = len;
    r.wall_ms = (wall_ms += STEP_MS);
    snprintf(r.request_id, sizeof r.request_id, "00000000-0000-4000-8000-%012lu", inputs % 1000000);
    gate_dispatch(&r);
    int status = r.status;
    check_reply(&r, target);
    req_free(&r);
    return status;
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
    char *tab = strchr(target, '\t');
    if (tab) *tab++ = 0;

    /* As http.c hands it over: NULL when empty, else malloc'd and NUL-terminated. */
    size_t len = nl ? size - head - 1 : 0;
    char *body = NULL;
    if (len) {
        if (!(body = malloc(len + 1))) return 0;
        memcpy(body, nl + 1, len);
        body[len] = 0;
    }
    dispatch(target, tab, body, len);
    return 0;
}
