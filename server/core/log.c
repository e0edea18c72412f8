/*
 * log.c: access lines and process messages (see log.h).
 *
 * Every value a client chose (an operation or target, a job name, a path, an access key id in
 * a message) is escaped before it is written (text.c): in text lines control characters,
 * backslashes and invalid UTF-8 become \n, \\, \xNN..., and a job name's spaces too, so a
 * value can neither start a forged line nor drive the terminal; JSON lines are valid UTF-8
 * with every control character as a \u escape. One line is one write(2), so lines of concurrent
 * requests never interleave.
 */
#include "log.h"
#include "strbuf.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The longest a client-chosen value gets in a line (a 6 MB job name is cut). */
#define VALUE_MAX 512

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The time now as 2006-01-02T15:04:05.000Z; each thread keeps the text of its last second
 * (gmtime_r and strftime cost more than the rest of an access line). */
static void stamp(char *out, size_t n)
{
    static __thread time_t last_sec = -1;
    static __thread char last[24]; /* "2006-01-02T15:04:05" */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != last_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        if (!strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%S", &tm)) last[0] = 0;
        last_sec = ts.tv_sec;
    }
    int ms = (int)(ts.tv_nsec / 1000000);
    snprintf(out, n, "%s.%c%c%cZ", last, '0' + ms / 100, '0' + ms / 10 % 10, '0' + ms % 10);
}

/* One line, one write(2): lines of concurrent threads never interleave (stderr is unbuffered,
 * and a line is far below the size a write to a pipe keeps whole). */
static void emit(strbuf *b)
{
    sb_putc(b, '\n');
    if (!b->oom && b->p) {
        for (size_t off = 0; off < b->len;) {
            ssize_t k = write(STDERR_FILENO, b->p + off, b->len - off);
            if (k <= 0) break;
            off += (size_t)k;
        }
    }
    free(b->p);
    *b = (strbuf){0};
}

/* ms with two decimals, as "%.2f" would print it (rounded half up; ms >= 0). */
static void put_ms(strbuf *b, double ms)
{
    char d[32];
    long long hundredths = (long long)(ms * 100.0 + 0.5);
    int n = snprintf(d, sizeof d, "%lld.%02lld", hundredths / 100, hundredths % 100);
    sb_putn(b, d, (size_t)n);
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
    sb_puts(&b, t);
    sb_puts(&b, " info req=");
    sb_puts(&b, r->request_id);
    sb_putc(&b, ' ');
    text_escape(&b, r->method, VALUE_MAX, TEXT_ESC_SPACE);
    sb_putc(&b, ' ');
    text_escape(&b, op, VALUE_MAX, 0);
    char st[16] = " status=000";
    int code = r->status >= 0 && r->status <= 999 ? r->status : 0;
    st[8] = (char)('0' + code / 100), st[9] = (char)('0' + code / 10 % 10);
    st[10] = (char)('0' + code % 10);
    sb_puts(&b, st);
    sb_puts(&b, " error=");
    text_escape(&b, r->error_code, VALUE_MAX, TEXT_ESC_SPACE);
    sb_puts(&b, " job=");
    text_escape(&b, r->job_name, VALUE_MAX, TEXT_ESC_SPACE);
    sb_puts(&b, " ms=");
    put_ms(&b, ms);
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
