/*
 * faults.c: injected failures (see faults.h).
 *
 * A normalised fault is {"id", "operation", "jobName"?, "error"?, "count"?, "probability",
 * "latencyMs", "hits"}; "count" is what is left (absent: unlimited). The table is a cJSON
 * array under one mutex, of at most FAULT_MAX faults; fault_check holds it only to match and
 * count. Nothing here sleeps: fault_check answers the latency to add (the sum of the matching
 * faults', at most FAULT_MAX_LATENCY_MS) and the transport holds the reply that long without
 * holding a worker (http.c).
 */
#include "faults.h"
#include "errors.h"
#include "service.h"

#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cJSON *table;
static int nfaults;
static int next_id = 1;
static uint64_t rng = 0x9E3779B97F4A7C15u;

static const struct {
    const char *code, *message;
} errors_known[] = {
    {"ThrottlingException", "Rate exceeded"},
    {"InternalFailure",
     "The request processing has failed because of an unknown error, exception or failure."},
    {"ServiceUnavailable", "The service is unavailable. Please try again later."},
};
#define NERRORS ((int)(sizeof errors_known / sizeof errors_known[0]))

const char *fault_message(const char *code)
{
    for (int i = 0; i < NERRORS; i++)
        if (!strcmp(errors_known[i].code, code)) return errors_known[i].message;
    return "";
}

static double next_uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int fault_parse(const cJSON *in, cJSON **out, char *err, size_t errlen)
{
    static const char *const fields[] = {"service", "operation",   "jobName",  "error",
                                         "count",   "probability", "latencyMs"};
    *out = NULL;
    if (!cJSON_IsObject(in)) return err_fail(err, errlen, "%s", "a fault must be a JSON object");
    const cJSON *m;
    cJSON_ArrayForEach(m, in)
    {
        size_t i = 0;
        while (i < 7 && strcmp(m->string, fields[i]))
            i++;
        if (i == 7)
            return err_fail(
                err, errlen,
                "%s: unknown field (expected service, operation, jobName, error, count, "
                "probability, latencyMs)",
                m->string);
    }
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(in, "service");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(in, "operation");
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(in, "jobName");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(in, "error");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(in, "count");
    const cJSON *prob = cJSON_GetObjectItemCaseSensitive(in, "probability");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(in, "latencyMs");
    if (svc && !cJSON_IsString(svc))
        return err_fail(err, errlen, "%s", "service: must be a string such as \"logs\", or \"*\"");
    const char *sid = svc ? svc->valuestring : "sagemaker";
    const sm_service *service = service_by_id(sid);
    if (strcmp(sid, "*") && !service) {
        char ids[128];
        size_t n = 0;
        for (int i = 0; i < sm_nservices; i++)
            n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%s", i ? ", " : "",
                                  sm_services[i]->id);
        return err_fail(err, errlen,
                        "service: '%s' is not a service sagemock serves (%s, or \"*\")", sid, ids);
    }
    if (!cJSON_IsString(op))
        return err_fail(err, errlen, "%s",
                        "operation: required: an operation name such as DescribeTrainingJob, or "
                        "\"*\"");
    if (strcmp(op->valuestring, "*") &&
        (!service ? 1 : !service_operation(service, op->valuestring)))
        return err_fail(err, errlen, "operation: '%s' is not an operation sagemock serves%s%s",
                        op->valuestring,
                        service ? " for " : " (name a service to name an operation)",
                        service ? service->id : "");
    if (job && (!cJSON_IsString(job) || !*job->valuestring))
        return err_fail(err, errlen, "%s", "jobName: must be a non-empty glob such as \"flaky-*\"");
    int e = -1;
    for (int i = 0; error && i < NERRORS; i++)
        if (cJSON_IsString(error) && !strcmp(error->valuestring, errors_known[i].code)) e = i;
    if (error && e < 0)
        return err_fail(
            err, errlen, "%s",
            "error: must be ThrottlingException, InternalFailure or ServiceUnavailable");
    if (count && (!cJSON_IsNumber(count) || count->valuedouble < 1 ||
                  count->valuedouble != floor(count->valuedouble) || count->valuedouble > 1e9))
        return err_fail(err, errlen, "%s", "count: must be a whole number >= 1");
    if (prob && (!cJSON_IsNumber(prob) || !(prob->valuedouble > 0 && prob->valuedouble <= 1)))
        return err_fail(err, errlen, "%s", "probability: must be a number in (0, 1]");
    if (lat && (!cJSON_IsNumber(lat) ||
                !(lat->valuedouble >= 0 && lat->valuedouble <= FAULT_MAX_LATENCY_MS)))
        return err_fail(err, errlen, "latencyMs: must be a number from 0 to %d",
                        FAULT_MAX_LATENCY_MS);
    if (!error && !lat)
        return err_fail(err, errlen, "%s", "a fault needs an error, a latencyMs, or both");
    if (!error && (count || prob))
        return err_fail(err, errlen, "%s", "count and probability go with an error");
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "service", sid) &&
             cJSON_AddStringToObject(o, "operation", op->valuestring) &&
             (!job || cJSON_AddStringToObject(o, "jobName", job->valuestring)) &&
             (!error || cJSON_AddStringToObject(o, "error", errors_known[e].code)) &&
             (!count || cJSON_AddNumberToObject(o, "count", count->valuedouble)) &&
             cJSON_AddNumberToObject(o, "probability", prob ? prob->valuedouble : 1.0) &&
             cJSON_AddNumberToObject(o, "latencyMs", lat ? lat->valuedouble : 0) &&
             cJSON_AddNumberToObject(o, "hits", 0);
    if (!ok) {
        cJSON_Delete(o);
        return SM_ENOMEM;
    }
    *out = o;
    return SM_OK;
}

int fault_add_all(cJSON *faults)
{
    int n = cJSON_GetArraySize(faults);
    pthread_mutex_lock(&lock);
    if (nfaults + n > FAULT_MAX) {
        pthread_mutex_unlock(&lock);
        return SM_EINVAL;
    }
    if (!table && !(table = cJSON_CreateArray())) {
        pthread_mutex_unlock(&lock);
        return SM_ENOMEM;
    }
    cJSON *f;
    while (faults->child && (f = cJSON_DetachItemViaPointer(faults, faults->child))) {
        cJSON_AddNumberToObject(f, "id", next_id++);
        cJSON_AddItemToArray(table, f);
        nfaults++;
    }
    pthread_mutex_unlock(&lock);
    return SM_OK;
}

int fault_count(void)
{
    pthread_mutex_lock(&lock);
    int n = nfaults;
    pthread_mutex_unlock(&lock);
    return n;
}

void fault_clear(void)
{
    pthread_mutex_lock(&lock);
    cJSON_Delete(table);
    table = NULL;
    nfaults = 0;
    rng = 0x9E3779B97F4A7C15u; /* a reset run repeats the same draws */
    pthread_mutex_unlock(&lock);
}

cJSON *fault_to_json(void)
{
    pthread_mutex_lock(&lock);
    cJSON *a = table ? cJSON_Duplicate(table, 1) : cJSON_CreateArray();
    pthread_mutex_unlock(&lock);
    return a;
}

static double num(const cJSON *f, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

const char *fault_check(const char *service, const char *operation, const char *job_name,
                        int *delay_ms)
{
    double latency = 0;
    const char *code = NULL;
    pthread_mutex_lock(&lock);
    cJSON *f;
    cJSON_ArrayForEach(f, table)
    {
        const char *svc = cJSON_GetObjectItemCaseSensitive(f, "service")->valuestring;
        const char *op = cJSON_GetObjectItemCaseSensitive(f, "operation")->valuestring;
        const cJSON *glob = cJSON_GetObjectItemCaseSensitive(f, "jobName");
        if (strcmp(svc, "*") && strcmp(svc, service)) continue;
        if (strcmp(op, "*") && strcmp(op, operation)) continue;
        if (glob && !(job_name && fnmatch(glob->valuestring, job_name, 0) == 0)) continue;
        latency += num(f, "latencyMs");
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(f, "error");
        if (!error || code) continue;
        cJSON *count = cJSON_GetObjectItemCaseSensitive(f, "count");
        if (count && count->valuedouble < 1) continue; /* spent */
        if (num(f, "probability") < 1 && next_uniform() >= num(f, "probability")) continue;
        if (count) cJSON_SetNumberValue(count, count->valuedouble - 1);
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "hits"), num(f, "hits") + 1);
        code = error->valuestring; /* static: one of errors_known */
        for (int i = 0; i < NERRORS; i++)
            if (!strcmp(code, errors_known[i].code)) code = errors_known[i].code;
    }
    pthread_mutex_unlock(&lock);
    /* One cap for the sum: five faults of 20 s add up to 60 s, not 100. */
    if (latency > FAULT_MAX_LATENCY_MS) latency = FAULT_MAX_LATENCY_MS;
    if (delay_ms) *delay_ms = latency > 0 ? (int)ceil(latency) : 0;
    return code;
}
