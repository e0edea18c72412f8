/*
 * jsonutil.c: the shared cJSON getters (see jsonutil.h).
 */
#include "jsonutil.h"
#include "strbuf.h"
#include "tcache.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *json_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double json_number(const cJSON *o, const char *name, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const cJSON *json_object(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *json_array(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsArray(v) ? v : NULL;
}

int json_true(const cJSON *o, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

void json_put_string(strbuf *b, const char *s)
{
    sb_putc(b, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 32 && c != '"' && c != '\\') continue;
        sb_putn(b, run, (size_t)(s - run));
        run = s + 1;
        char esc[8] = {'\\', 0};
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            snprintf(esc + 1, sizeof esc - 1, "u%04x", c);
        }
        sb_puts(b, esc);
    }
    sb_putn(b, run, (size_t)(s - run));
    sb_putc(b, '"');
}

/* cJSON's compare_double: equal within DBL_EPSILON of the larger magnitude. */
static int close_enough(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= m * DBL_EPSILON;
}

/* The text cJSON 1.7.15 prints for number d (print_number): null for NaN and infinities, else
 * %1.15g unless that does not read back as d, then %1.17g. (An integer below 10^15 prints as
 * its digits either way: that case skips printf.) */
static int format_number(double d, char out[32])
{
    if (isnan(d) || isinf(d)) return snprintf(out, 32, "null");
    if (d != 0 && fabs(d) < 1e15 && d == (double)(int64_t)d)
        return snprintf(out, 32, "%lld", (long long)d);
    int n = snprintf(out, 32, "%1.15g", d);
    if (!close_enough(strtod(out, NULL), d)) n = snprintf(out, 32, "%1.17g", d);
    return n;
}

/* Formatting a double costs more than the rest of writing it: each thread remembers the
 * texts of the numbers it wrote last (a direct-mapped table on the number's bits), as a reply
 * of many datapoints writes the same values again and again. */
#define NUMBER_MEMO 1024
typedef struct number_memo {
    uint64_t bits;
    unsigned char len; /* 0: empty */
    char text[31];
} number_memo;
static tcache memos = TCACHE(NUMBER_MEMO * sizeof(number_memo), free);

void json_put_number(strbuf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    number_memo *memo = tcache_get(&memos);
    number_memo *e = memo ? &memo[(bits * 0x9e3779b97f4a7c15u) >> 54] : NULL;
    if (e && e->len && e->bits == bits) {
        sb_putn(b, e->text, e->len);
        return;
    }
    char text[32];
    int n = format_number(d, text);
    if (e && n > 0 && n < (int)sizeof e->text) {
        e->bits = bits;
        e->len = (unsigned char)n;
        memcpy(e->text, text, (size_t)n);
    }
    sb_putn(b, text, (size_t)n);
}
