/*
 * log.c: access lines and process messages (see log.h).
 */
#include "log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void stamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s) fprintf(stderr, "%s\n", s);
    free(s);
    cJSON_Delete(o);
}

void log_access(const sm_req *r, double ms)
{
    if (cfg.log_level < LOG_INFO) return;
    char t[40];
    stamp(t, sizeof t);
    const char *op = r->operation ? r->operation : r->path;
    if (cfg.log_format == LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        if (!o) return;
        cJSON_AddStringToObject(o, "time", t);
        cJSON_AddStringToObject(o, "level", "info");
        cJSON_AddStringToObject(o, "request_id", r->request_id);
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddStringToObject(o, "operation", op);
        cJSON_AddNumberToObject(o, "status", r->status);
        if (r->error_code) cJSON_AddStringToObject(o, "error", r->error_code);
        if (r->job_name) cJSON_AddStringToObject(o, "job", r->job_name);
        cJSON_AddNumberToObject(o, "ms", ms);
        emit_json(o);
        return;
    }
    fprintf(stderr, "%s info req=%s %s %s status=%d error=%s job=%s ms=%.2f\n", t, r->request_id,
            r->method, op, r->status, r->error_code ? r->error_code : "-",
            r->job_name ? r->job_name : "-", ms);
}

void log_msg(cfg_log_level level, const char *fmt, ...)
{
    if (level > cfg.log_level) return;
    char t[40], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    stamp(t, sizeof t);
    if (cfg.log_format == LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        if (!o) return;
        cJSON_AddStringToObject(o, "time", t);
        cJSON_AddStringToObject(o, "level", level_names[level]);
        cJSON_AddStringToObject(o, "message", msg);
        emit_json(o);
        return;
    }
    fprintf(stderr, "%s %s %s\n", t, level_names[level], msg);
}
