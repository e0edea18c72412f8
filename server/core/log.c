/*
 * log.c: access lines and process messages (see log.h).
 *
 * Every value a client chose (an operation or target, a job name, a path, an access key id in
 * a message) is escaped before it is written (text.c): in text lines control characters,
 * backslashes and invalid UTF-8 become \n, \\, \xNN..., and a job name's spaces too, so a
 * value can neither start a forged line nor drive the terminal; JSON lines are valid UTF-8
 * with every control character as a \u escape. One line is one fputs, so lines of concurrent
 * requests never interleave.
 */
#include "log.h"
#include "strbuf.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The longest a client-chosen value gets in a line (a 6 MB job name is cut). */
#define VALUE_MAX 512

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

static void emit(strbuf *b)
{
    sb_putc(b, '\n');
    char *s = sb_take(b);
    if (s) fputs(s, stderr);
    free(s);
}

/* ,"name":"value" of a JSON line */
static void json_field(strbuf *b, const char *name, const char *value)
{
    sb_printf(b, ",\"%s\":", name);
    text_json_string(b, value, VALUE_MAX);
}

void log_access(const sm_req *r, double ms)
{
    if (cfg.log_level < LOG_INFO) return;
    char t[40];
    stamp(t, sizeof t);
    const char *op = r->operation ? r->operation : r->path;
    strbuf b = {0};
    if (cfg.log_format == LOG_JSON) {
        sb_printf(&b, "{\"time\":\"%s\",\"level\":\"info\"", t);
        json_field(&b, "request_id", r->request_id);
        json_field(&b, "method", r->method);
        json_field(&b, "operation", op);
        sb_printf(&b, ",\"status\":%d", r->status);
        if (r->error_code) json_field(&b, "error", r->error_code);
        if (r->job_name) json_field(&b, "job", r->job_name);
        sb_printf(&b, ",\"ms\":%.3f}", ms);
        emit(&b);
        return;
    }
    sb_printf(&b, "%s info req=%s ", t, r->request_id);
    text_escape(&b, r->method, VALUE_MAX, TEXT_ESC_SPACE);
    sb_putc(&b, ' ');
    text_escape(&b, op, VALUE_MAX, 0);
    sb_printf(&b, " status=%d error=", r->status);
    text_escape(&b, r->error_code, VALUE_MAX, TEXT_ESC_SPACE);
    sb_puts(&b, " job=");
    text_escape(&b, r->job_name, VALUE_MAX, TEXT_ESC_SPACE);
    sb_printf(&b, " ms=%.2f", ms);
    emit(&b);
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
    strbuf b = {0};
    if (cfg.log_format == LOG_JSON) {
        sb_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\"", t, level_names[level]);
        json_field(&b, "message", msg);
        sb_putc(&b, '}');
    } else {
        sb_printf(&b, "%s %s ", t, level_names[level]);
        text_escape(&b, msg, sizeof msg, 0);
    }
    emit(&b);
}
