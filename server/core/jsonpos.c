/*
 * jsonpos.c: positions of values in JSON text (see jsonpos.h).
 *
 * The scanner assumes text that cJSON already accepted; on anything odd it stops and returns
 * the best position found so far, never reading past len.
 */
#include "jsonpos.h"

#include <stdlib.h>
#include <string.h>

void jpos_line_col(const char *text, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && text[i]; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col; /* count code points, not UTF-8 continuation bytes */
        }
    }
}

typedef struct scan {
    const char *s;
    size_t len, i;
} scan;

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* What ends a number or a literal (true, false, null). */
static int ends_literal(char ch)
{
    return !ch || ch == ',' || ch == ']' || ch == '}' || is_ws(ch);
}

static void ws(scan *c)
{
    while (c->i < c->len && is_ws(c->s[c->i]))
        c->i++;
}

/* Skip a string starting at the opening quote; returns 0 on success. */
static int skip_string(scan *c)
{
    /* locals: the loop runs over most of a fixture document's bytes */
    const char *s = c->s;
    size_t i = c->i, len = c->len;
    if (i >= len || s[i] != '"') return -1;
    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            c->i = i + 1;
            return 0;
        }
    }
    c->i = i;
    return -1;
}

static int skip_value(scan *c, int depth)
{
    ws(c);
    if (c->i >= c->len || depth > JPOS_MAX_DEPTH) return -1;
    char ch = c->s[c->i];
    if (ch == '"') return skip_string(c);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->i++;
        ws(c);
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            return 0;
        }
        for (;;) {
            if (ch == '{') {
                ws(c);
                if (skip_string(c)) return -1;
                ws(c);
                if (c->i >= c->len || c->s[c->i] != ':') return -1;
                c->i++;
            }
            if (skip_value(c, depth + 1)) return -1;
            ws(c);
            if (c->i >= c->len) return -1;
            if (c->s[c->i] == ',') {
                c->i++;
                continue;
            }
            if (c->s[c->i] != close) return -1;
            c->i++;
            return 0;
        }
    }
    while (c->i < c->len && !ends_literal(c->s[c->i]))
        c->i++;
    return 0;
}

/* Compare the string at c->i (a key, quotes included) with key[0..n). */
static int key_is(const scan *c, size_t start, size_t end, const char *key, size_t n)
{
    /* Keys in fixtures are plain; escaped keys simply never match. */
    return end - start == n + 2 && memcmp(c->s + start + 1, key, n) == 0;
}

size_t jpos_find(const char *text, size_t len, const char *path)
{
    scan c = {text, len, 0};
    ws(&c);
    size_t best = c.i;
    const char *p = path;
    for (int depth = 0; *p && depth < JPOS_MAX_DEPTH; depth++) {
        if (*p == '.') p++;
        ws(&c);
        if (c.i >= len) return best;
        if (*p == '[') {
            long want = strtol(p + 1, NULL, 10);
            const char *close = strchr(p, ']');
            if (!close || c.s[c.i] != '[') return best;
            p = close + 1;
            c.i++;
            for (long k = 0;; k++) {
                ws(&c);
                if (c.i >= len || c.s[c.i] == ']') return best;
                if (k == want) break;
                if (skip_value(&c, depth)) return best;
                ws(&c);
                if (c.i < len && c.s[c.i] == ',') c.i++;
            }
        } else {
            size_t n = strcspn(p, ".[");
            if (c.s[c.i] != '{') return best;
            c.i++;
            for (;;) {
                ws(&c);
                if (c.i >= len || c.s[c.i] != '"') return best;
                size_t start = c.i;
                if (skip_string(&c)) return best;
                size_t end = c.i;
                ws(&c);
                if (c.i >= len || c.s[c.i] != ':') return best;
                c.i++;
                ws(&c);
                if (key_is(&c, start, end, p, n)) break;
                if (skip_value(&c, depth)) return best;
                ws(&c);
                if (c.i < len && c.s[c.i] == ',') c.i++;
            }
            p += n;
        }
        ws(&c);
        best = c.i;
    }
    return best;
}

size_t jpos_skip(const char *text, size_t len, size_t at)
{
    scan c = {text, len, at};
    return skip_value(&c, 0) == 0 && c.i > at ? c.i : 0;
}
