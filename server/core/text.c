/*
 * text.c: UTF-8 checks and escaping for what comes in and what is logged (see text.h).
 */
#include "text.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int text_utf8_len(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing past U+10FFFF */
    } else
        return 0;
    if ((size_t)len > n || s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

size_t text_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int k = text_utf8_len(u + i, n - i);
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

int text_json_check(const char *s, size_t n, size_t *at, char *why, size_t whylen)
{
    const unsigned char *u = (const unsigned char *)s;
    int in_string = 0;
    size_t bad = n;
    const char *what = NULL;
    for (size_t i = 0; i < n && !what; i++) {
        unsigned char c = u[i];
        if (c == 0) {
            bad = i, what = "a NUL byte";
        } else if (c >= 0x80) {
            int k = text_utf8_len(u + i, n - i);
            if (!k)
                bad = i, what = "invalid UTF-8";
            else
                i += (size_t)k - 1;
        } else if (c == '"') {
            in_string = !in_string;
        } else if (c == '\\' && in_string && i + 1 < n) {
            if (u[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
                bad = i, what = "\\u0000";
            i++; /* the escaped character never opens or closes a string */
        }
    }
    if (!what) return SM_OK;
    if (at) *at = bad;
    if (what[0] == 'i')
        snprintf(why, whylen, "is not valid UTF-8 (byte 0x%02x at offset %zu)", u[bad], bad);
    else if (what[0] == 'a')
        snprintf(why, whylen, "holds a NUL byte (offset %zu)", bad);
    else
        snprintf(why, whylen,
                 "holds the escape \\u0000 (offset %zu): strings must not contain NUL "
                 "characters",
                 bad);
    return SM_EINVAL;
}

static int tree_check(const cJSON *v, strbuf *path, int depth)
{
    if (depth > 200) return SM_OK; /* decoders bound their depth far below this */
    if (v->string && text_utf8_invalid_at(v->string, strlen(v->string)) != strlen(v->string))
        return SM_EINVAL;
    if (cJSON_IsString(v) && v->valuestring &&
        text_utf8_invalid_at(v->valuestring, strlen(v->valuestring)) != strlen(v->valuestring))
        return SM_EINVAL;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        size_t mark = path->len;
        if (c->string && text_utf8_invalid_at(c->string, strlen(c->string)) == strlen(c->string))
            sb_printf(path, "%s%s", path->len ? "." : "", c->string);
        else if (!c->string)
            sb_printf(path, "[%d]", i);
        int rc = tree_check(c, path, depth + 1);
        if (rc != SM_OK) return rc;
        path->len = mark;
        if (path->p) path->p[mark] = 0;
    }
    return SM_OK;
}

int text_tree_check(const cJSON *v, char *why, size_t whylen)
{
    strbuf path = {0};
    int rc = v ? tree_check(v, &path, 0) : SM_OK;
    if (rc != SM_OK)
        snprintf(why, whylen, "The value at '%s' is not valid UTF-8.",
                 path.p && *path.p ? path.p : "(top)");
    free(path.p);
    return rc;
}

static const char hexdig[] = "0123456789abcdef";

static void put_hex_escape(strbuf *b, const char *prefix, unsigned v, int digits)
{
    char e[12];
    size_t k = strlen(prefix);
    memcpy(e, prefix, k);
    for (int d = digits - 1; d >= 0; d--)
        e[k++] = hexdig[(v >> (4 * d)) & 15];
    sb_putn(b, e, k);
}

void text_escape(strbuf *b, const char *s, size_t max, unsigned flags)
{
    if (!s) {
        sb_putc(b, '-');
        return;
    }
    if (!*s) {
        sb_puts(b, "\"\"");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        if (i >= max) {
            sb_puts(b, "...");
            return;
        }
        unsigned char c = u[i];
        if (c >= 0x80) {
            int k = text_utf8_len(u + i, n - i);
            if (!k) {
                put_hex_escape(b, "\\x", c, 2);
                i++;
            } else if (k == 2 && c == 0xC2 && u[i + 1] < 0xA0) {
                put_hex_escape(b, "\\u", u[i + 1], 4); /* a C1 control */
                i += 2;
            } else {
                sb_putn(b, s + i, (size_t)k);
                i += (size_t)k;
            }
            continue;
        }
        i++;
        if (c == '\n')
            sb_puts(b, "\\n");
        else if (c == '\r')
            sb_puts(b, "\\r");
        else if (c == '\t')
            sb_puts(b, "\\t");
        else if (c == '\\')
            sb_puts(b, "\\\\");
        else if (c < 0x20 || c == 0x7F || (c == ' ' && (flags & TEXT_ESC_SPACE)))
            put_hex_escape(b, "\\x", c, 2);
        else
            sb_putc(b, (char)c);
    }
}

void text_json_string(strbuf *b, const char *s, size_t max)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)u), i = 0;
    sb_putc(b, '"');
    while (i < n) {
        if (i >= max) {
            sb_puts(b, "...");
            break;
        }
        unsigned char c = u[i];
        if (c >= 0x80) {
            int k = text_utf8_len(u + i, n - i);
            if (!k) {
                sb_puts(b, "\\ufffd");
                i++;
            } else if (k == 2 && c == 0xC2 && u[i + 1] < 0xA0) {
                put_hex_escape(b, "\\u", u[i + 1], 4);
                i += 2;
            } else if (k == 3 && c == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] | 1) == 0xA9) {
                put_hex_escape(b, "\\u", 0x2000u + (u[i + 2] - 0x80u), 4); /* U+2028, U+2029 */
                i += 3;
            } else {
                sb_putn(b, (const char *)u + i, (size_t)k);
                i += (size_t)k;
            }
            continue;
        }
        i++;
        if (c == '"')
            sb_puts(b, "\\\"");
        else if (c == '\\')
            sb_puts(b, "\\\\");
        else if (c == '\n')
            sb_puts(b, "\\n");
        else if (c == '\r')
            sb_puts(b, "\\r");
        else if (c == '\t')
            sb_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7F)
            put_hex_escape(b, "\\u", c, 4);
        else
            sb_putc(b, (char)c);
    }
    sb_putc(b, '"');
}

char *text_utf8_dup(const char *s, size_t n, int *changed)
{
    const unsigned char *u = (const unsigned char *)s;
    if (changed) *changed = 0;
    size_t first = s ? text_utf8_invalid_at(s, n) : n;
    if (s && first == n && !memchr(s, 0, n)) {
        char *copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, s, n);
            copy[n] = 0;
        }
        return copy;
    }
    strbuf b = {0};
    for (size_t i = 0; i < n;) {
        int k = u[i] ? text_utf8_len(u + i, n - i) : 0;
        if (!k) {
            sb_puts(&b, "\xEF\xBF\xBD");
            if (changed) *changed = 1;
            i++;
        } else {
            sb_putn(&b, s + i, (size_t)k);
            i += (size_t)k;
        }
    }
    return sb_take(&b);
}

void text_utf8_scrub(char *s)
{
    if (!s) return;
    unsigned char *u = (unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        int k = text_utf8_len(u + i, n - i);
        if (!k) {
            u[i++] = '?';
        } else {
            i += (size_t)k;
        }
    }
}
