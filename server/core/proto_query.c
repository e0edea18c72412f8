/*
 * proto_query.c: the awsQuery protocol (see proto_query.h): form bodies in, XML replies out.
 *
 * Decoding. The body is split on '&', each "key=value" percent-decoded ('+' is a space), and
 * the pairs sorted by key (a repeated key: the last one wins). The input shape is then walked,
 * never the keys: every member, list element and map entry is looked up by the key botocore's
 * query serializer would have written for it, so parameters the model does not know are never
 * read. Keys are found by binary search; the keys below a prefix ("Tags.member.") are one
 * contiguous run of the sorted array, which is how list indices are collected. Wire names:
 *   - a structure member: its locationName, else its name, joined by '.';
 *   - a list: "L.member.N" (the list member's locationName instead of "member" when given);
 *     flattened lists (on the list shape or the member reference): "L.N", and when the list
 *     member has a locationName it replaces L's last component, as in botocore;
 *   - a map: "M.entry.N.key" / "M.entry.N.value" ("M.N.key" when flattened; the key and value
 *     references' locationNames replace "key" and "value");
 *   - "L=" (empty) is an empty list, "M=" an empty map; any other value given at a container's
 *     own key, without keys below it, is kept as a string so that validation reports it.
 * A nested structure (list element, map entry) appears only when at least one of its members
 * was decoded. N must be a positive integer in canonical form (no sign, no leading zero, at
 * most 9 digits); elements are ordered by N, gaps closed. Scalars become what an awsJson
 * request would carry: integers and longs as JSON numbers, float/double likewise (finite
 * decimal text only), booleans from "true"/"false" (any case), timestamps from epoch seconds
 * or ISO 8601 (date, optional time, optional fraction, 'Z' or +hh:mm or no zone = UTC) as
 * epoch-second numbers. A value that does not parse as its type stays a string.
 *
 * Encoding. The handler's cJSON output is walked by the output shape: members in the model's
 * order, under their locationName (a flattened list member: its list member's locationName),
 * lists as <member> (or the list member's locationName) elements, flattened lists and maps as
 * repeated elements, maps as <entry><key/><value/></entry>. JSON null, absent members, members
 * the shape lacks and values of the wrong JSON kind (an array for a structure...) are not
 * emitted. Timestamps may be numbers, Raw numbers, numeric strings or ISO 8601 strings and are
 * printed as 2024-12-04T19:20:00Z, with ".123" only when the milliseconds are not zero.
 * Doubles print as the shortest text that reads back exactly (integral values without a
 * fraction or exponent below 1e17; NaN, Infinity, -Infinity); integers as integers; Raw
 * numbers verbatim.
 *
 * Must not: print, exit, keep state between calls, or recurse without a bound: both walks
 * follow only the model, and stop at QUERY_MAX_DEPTH (decoding fails with SM_EINVAL, encoding
 * leaves deeper values out). Every allocation is checked; on failure everything built so far
 * is freed and SM_ENOMEM (or NULL) returned.
 * Invariants: every text that enters the XML but the element names (which come from the
 * model) goes through put_escaped(), so a reply is always well-formed XML 1.0 in UTF-8,
 * whatever bytes the handler or the client supplied; a decoded parameter never contains NUL
 * (a NUL byte or %00 is refused), so cJSON strings hold it whole.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "model.h"
#include "proto_query.h"
#include "strbuf.h"
#include "text.h"

#define QUERY_MAX_DEPTH 32
#define QUERY_MAX_LIST 1000      /* elements (entries) of one list (map) */
#define QUERY_MAX_INDEX_DIGITS 9 /* an index below 10^9 */

/* ---- model access ---- */

static int is_container(enum model_kind k)
{
    return k == MK_STRUCT || k == MK_LIST || k == MK_MAP;
}

/* The shape named by a reference ({"shape": "Name", ...}), or NULL. */
static const cJSON *ref_shape(const sm_model *m, const cJSON *ref)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? model_shape(m, name->valuestring) : NULL;
}

/* A string attribute of a reference or shape ("locationName"), or NULL. */
static const char *attr(const cJSON *holder, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(holder, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Flattened: marked on the shape itself or on the reference that leads to it. */
static int flattened(const cJSON *shape, const cJSON *ref)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(shape, "flattened")) ||
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "flattened"));
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

static int leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at *s (advanced past them) into *v. */
static int digits(const char **s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i])) return 0;
        *v = *v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return 1;
}

/*
 * ISO 8601 in the forms clients send: YYYY-MM-DD, optionally followed by 'T' (or 't', ' ')
 * hh:mm[:ss[.fraction]] and a zone ('Z', +hh:mm, +hhmm, -..., or none: UTC). 1 and the epoch
 * seconds in *out when `s` is one.
 */
static int parse_iso8601(const char *s, double *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
    char frac[16] = "";
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return 0;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi)) return 0;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &sec)) return 0;
            if (*s == '.' || *s == ',') {
                size_t n = 0;
                s++;
                if (!isdigit((unsigned char)*s)) return 0;
                for (; isdigit((unsigned char)*s); s++)
                    if (n < sizeof frac - 1) frac[n++] = *s; /* finer digits are dropped */
                frac[n] = '\0';
            }
        }
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            sign = *s++ == '-' ? -1 : 1;
            if (!digits(&s, 2, &oh)) return 0;
            if (*s == ':') s++;
            if (!digits(&s, 2, &om)) return 0;
        }
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59)
        return 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap(y))) return 0;

    long long t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                  sign * (oh * 3600 + om * 60);
    if (!frac[0]) {
        *out = (double)t;
    } else if (t >= 0) { /* through the text: the double strtod gives for "t.frac" */
        char text[48];
        snprintf(text, sizeof text, "%lld.%s", t, frac);
        *out = strtod(text, NULL);
    } else {
        *out = (double)t + strtod(frac, NULL) / pow(10, (double)strlen(frac));
    }
    return 1;
}

/* A finite decimal number, all of `s` (no hex, no inf/nan, no white space). */
static int parse_number(const char *s, double *out)
{
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s)) return 0;
    char *end;
    double d = strtod(s, &end);
    if (*end || !isfinite(d)) return 0;
    *out = d;
    return 1;
}

/* ---- the form ---- */

struct param {
    const char *key, *val; /* point into form.text */
    size_t pos;            /* place in the body: the later of two equal keys wins */
};

struct form {
    char *text; /* every decoded key and value, NUL-terminated */
    struct param *p;
    size_t n;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decode s[0..n) ('+' is a space) into out, which has room for cap bytes (n always
 * suffice); returns the decoded length, or -1 (a bad escape) / -2 (a NUL byte, sent as such or
 * as %00) with *at the offending offset, or -3 when cap bytes are too few.
 */
static long pct_decode(const char *s, size_t n, char *out, size_t cap, size_t *at)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o == cap) return -3;
        if (s[i] == '%') {
            int h = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                *at = i;
                return -1;
            }
            if (h == 0 && l == 0) {
                *at = i;
                return -2;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (s[i] == '\0') {
            *at = i;
            return -2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

static int form_error(long rc, size_t at, char *err, size_t errlen)
{
    return err_fail(err, errlen, "The request body is not a valid form: %s at offset %zu",
                    rc == -2 ? "a NUL character" : "a bad percent escape", at);
}

static int cmp_param(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static void form_free(struct form *f)
{
    free(f->text);
    free(f->p);
    *f = (struct form){0};
}

/* Split, decode, sort and de-duplicate `body`. On failure nothing is left allocated. */
static int form_parse(const char *body, size_t len, struct form *f, char *err, size_t errlen)
{
    size_t npairs = 1;
    *f = (struct form){0};
    for (size_t i = 0; i < len; i++)
        npairs += body[i] == '&';
    /* each pair needs at most its raw length plus two NULs */
    f->text = malloc(len + 2 * npairs + 1);
    f->p = calloc(npairs, sizeof *f->p);
    if (!f->text || !f->p) {
        form_free(f);
        return SM_ENOMEM;
    }
    char *o = f->text;
    for (size_t start = 0; start <= len;) {
        const char *amp = len > start ? memchr(body + start, '&', len - start) : NULL;
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > start) {
            const char *eq = memchr(body + start, '=', end - start);
            size_t kend = eq ? (size_t)(eq - body) : end;
            size_t at = 0;
            long kn = pct_decode(body + start, kend - start, o, kend - start, &at);
            if (kn < 0) {
                form_free(f);
                return form_error(kn, start + at, err, errlen);
            }
            struct param *p = &f->p[f->n];
            p->key = o;
            o += kn;
            *o++ = '\0';
            long vn = eq ? pct_decode(eq + 1, end - kend - 1, o, end - kend - 1, &at) : 0;
            if (vn < 0) {
                form_free(f);
                return form_error(vn, kend + 1 + at, err, errlen);
            }
            p->val = o;
            o += vn;
            *o++ = '\0';
            p->pos = f->n++;
        }
        start = end + 1;
    }
    if (f->n > 1) qsort(f->p, f->n, sizeof *f->p, cmp_param);
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (i + 1 < f->n && strcmp(f->p[i].key, f->p[i + 1].key) == 0) continue; /* a later one */
        f->p[w++] = f->p[i];
    }
    f->n = w;
    return SM_OK;
}

/* The first parameter whose key is >= `key`. */
static size_t lower_bound(const struct form *f, const char *key)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->p[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *lookup(const struct form *f, const char *key)
{
    size_t i = lower_bound(f, key);
    return i < f->n && strcmp(f->p[i].key, key) == 0 ? f->p[i].val : NULL;
}

/* Is there a key that starts with `prefix`? */
static int any_under(const struct form *f, const char *prefix)
{
    size_t i = lower_bound(f, prefix);
    return i < f->n && strncmp(f->p[i].key, prefix, strlen(prefix)) == 0;
}

/* ---- decoding ---- */

struct dec {
    const sm_model *m;
    const struct form *f;
    char *err;
    size_t errlen;
};

static int dec_node(struct dec *d, strbuf *key, const cJSON *ref, const cJSON *shape, int depth,
                    cJSON **out);

static void key_reset(strbuf *key, size_t mark)
{
    if (key->p && mark <= key->len) {
        key->len = mark;
        key->p[mark] = '\0';
    }
}

/* 1 when some key starts with "<key>.", else 0; SM_ENOMEM. */
static int below(const struct dec *d, strbuf *key)
{
    size_t mark = key->len;
    sb_putc(key, '.');
    int some = !key->oom && any_under(d->f, key->p);
    key_reset(key, mark);
    return key->oom ? SM_ENOMEM : some;
}

/* An optional sign and decimal digits: no fraction, no exponent. */
static int integer_text(const char *v)
{
    v += *v == '-' || *v == '+';
    return *v && strspn(v, "0123456789") == strlen(v);
}

/* A scalar from its text, typed by `k` (NULL only when out of memory). */
static cJSON *dec_scalar(enum model_kind k, const char *v)
{
    double n;
    switch (k) {
    case MK_INTEGER:
    case MK_LONG:
        if (integer_text(v) && parse_number(v, &n)) return cJSON_CreateNumber(n);
        break;
    case MK_DOUBLE:
        if (parse_number(v, &n)) return cJSON_CreateNumber(n);
        break;
    case MK_BOOL:
        if (strcasecmp(v, "true") == 0) return cJSON_CreateTrue();
        if (strcasecmp(v, "false") == 0) return cJSON_CreateFalse();
        break;
    case MK_TIMESTAMP:
        if (parse_number(v, &n) || parse_iso8601(v, &n)) return cJSON_CreateNumber(n);
        break;
    default:
        break;
    }
    return cJSON_CreateString(v);
}

/* Add `item` to `obj` under `name`, replacing an earlier one; frees `item` on failure. */
static int put_member(cJSON *obj, const char *name, cJSON *item)
{
    cJSON_bool ok = cJSON_GetObjectItemCaseSensitive(obj, name)
                        ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
                        : cJSON_AddItemToObject(obj, name, item);
    if (ok) return SM_OK;
    cJSON_Delete(item);
    return SM_ENOMEM;
}

/* Members of a structure; the object is made only when a member is found (or `top`). */
static int dec_struct(struct dec *d, strbuf *key, const cJSON *shape, int depth, int top,
                      cJSON **out)
{
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(shape, "members");
    const cJSON *mem;
    cJSON *obj = top ? cJSON_CreateObject() : NULL;
    if (top && !obj) return SM_ENOMEM;
    if (!top) { /* no key below: skip the members (a recursive shape would never end) */
        int some = below(d, key);
        if (some <= 0) return some;
    }

    cJSON_ArrayForEach(mem, members)
    {
        const char *wire = attr(mem, "locationName");
        if (!wire) wire = mem->string;
        if (top && (strcmp(wire, "Action") == 0 || strcmp(wire, "Version") == 0)) continue;
        size_t mark = key->len;
        if (key->len) sb_putc(key, '.');
        sb_puts(key, wire);
        cJSON *child = NULL;
        int rc =
            key->oom ? SM_ENOMEM : dec_node(d, key, mem, ref_shape(d->m, mem), depth + 1, &child);
        key_reset(key, mark);
        if (rc == SM_OK && child) {
            if (!obj && !(obj = cJSON_CreateObject())) {
                cJSON_Delete(child);
                rc = SM_ENOMEM;
            } else {
                rc = put_member(obj, mem->string, child);
            }
        }
        if (rc != SM_OK) {
            cJSON_Delete(obj);
            return rc;
        }
    }
    *out = obj;
    return SM_OK;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/*
 * The indices N of the keys "<base>.N" and "<base>.N.…", sorted, each once (*idx is malloc'd,
 * possibly NULL when *n is 0). `name` is the parameter named in an error.
 */
static int collect_indices(struct dec *d, strbuf *base, const char *name, long **idx, size_t *n)
{
    size_t mark = base->len, cap = 0;
    *idx = NULL;
    *n = 0;
    sb_putc(base, '.');
    if (base->oom) return SM_ENOMEM;
    size_t plen = base->len;
    int rc = SM_OK;
    for (size_t i = lower_bound(d->f, base->p);
         i < d->f->n && strncmp(d->f->p[i].key, base->p, plen) == 0; i++) {
        const char *s = d->f->p[i].key + plen;
        size_t nd = strspn(s, "0123456789");
        if (nd == 0 || nd > QUERY_MAX_INDEX_DIGITS || s[0] == '0' || (s[nd] && s[nd] != '.')) {
            rc = err_fail(d->err, d->errlen,
                          "Invalid index in parameter '%.200s': not a positive integer",
                          d->f->p[i].key);
            break;
        }
        long v = strtol(s, NULL, 10);
        /* the keys of one index are contiguous in the sorted array */
        if (*n && (*idx)[*n - 1] == v) continue;
        if (*n == QUERY_MAX_LIST) {
            rc = err_fail(d->err, d->errlen, "Parameter '%.200s' has more than %d elements", name,
                          QUERY_MAX_LIST);
            break;
        }
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            long *p = realloc(*idx, ncap * sizeof *p);
            if (!p) {
                rc = SM_ENOMEM;
                break;
            }
            *idx = p;
            cap = ncap;
        }
        (*idx)[(*n)++] = v;
    }
    key_reset(base, mark);
    if (rc != SM_OK) {
        free(*idx);
        *idx = NULL;
        *n = 0;
        return rc;
    }
    if (*n > 1) qsort(*idx, *n, sizeof **idx, cmp_long);
    return SM_OK;
}

/* A list at `key`: its elements, or NULL when none was found. */
static int dec_list(struct dec *d, strbuf *key, const cJSON *ref, const cJSON *shape, int depth,
                    cJSON **out)
{
    const cJSON *mref = cJSON_GetObjectItemCaseSensitive(shape, "member");
    const cJSON *mshape = ref_shape(d->m, mref);
    const char *mname = attr(mref, "locationName");
    strbuf base = {0};

    if (!flattened(shape, ref)) {
        sb_puts(&base, key->p);
        sb_putc(&base, '.');
        sb_puts(&base, mname ? mname : "member");
    } else if (mname) { /* the member's name replaces the list's own last component */
        const char *dot = strrchr(key->p, '.');
        sb_putn(&base, key->p, dot ? (size_t)(dot - key->p) + 1 : 0);
        sb_puts(&base, mname);
    } else {
        sb_puts(&base, key->p);
    }
    if (base.oom) {
        free(base.p);
        return SM_ENOMEM;
    }

    long *idx = NULL;
    size_t n = 0;
    int rc = collect_indices(d, &base, key->p, &idx, &n);
    cJSON *arr = NULL;
    for (size_t i = 0; rc == SM_OK && i < n; i++) {
        size_t mark = base.len;
        sb_printf(&base, ".%ld", idx[i]);
        cJSON *elem = NULL;
        rc = base.oom ? SM_ENOMEM : dec_node(d, &base, mref, mshape, depth + 1, &elem);
        key_reset(&base, mark);
        if (rc != SM_OK || !elem) continue;
        if (!arr && !(arr = cJSON_CreateArray())) {
            cJSON_Delete(elem);
            rc = SM_ENOMEM;
        } else if (!cJSON_AddItemToArray(arr, elem)) {
            cJSON_Delete(elem);
            rc = SM_ENOMEM;
        }
    }
    free(idx);
    free(base.p);
    if (rc != SM_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    *out = arr;
    return SM_OK;
}

/* A map at `key`: its entries (those with a key and a value), or NULL when none was found. */
static int dec_map(struct dec *d, strbuf *key, const cJSON *ref, const cJSON *shape, int depth,
                   cJSON **out)
{
    const cJSON *kref = cJSON_GetObjectItemCaseSensitive(shape, "key");
    const cJSON *vref = cJSON_GetObjectItemCaseSensitive(shape, "value");
    const cJSON *vshape = ref_shape(d->m, vref);
    const char *kname = attr(kref, "locationName"), *vname = attr(vref, "locationName");
    strbuf base = {0};

    sb_puts(&base, key->p);
    if (!flattened(shape, ref)) sb_puts(&base, ".entry");
    if (base.oom) {
        free(base.p);
        return SM_ENOMEM;
    }
    long *idx = NULL;
    size_t n = 0;
    int rc = collect_indices(d, &base, key->p, &idx, &n);
    cJSON *obj = NULL;
    for (size_t i = 0; rc == SM_OK && i < n; i++) {
        size_t mark = base.len;
        sb_printf(&base, ".%ld.%s", idx[i], kname ? kname : "key");
        const char *k = base.oom ? NULL : lookup(d->f, base.p);
        key_reset(&base, mark);
        sb_printf(&base, ".%ld.%s", idx[i], vname ? vname : "value");
        cJSON *val = NULL;
        if (base.oom)
            rc = SM_ENOMEM;
        else if (k)
            rc = dec_node(d, &base, vref, vshape, depth + 1, &val);
        key_reset(&base, mark);
        if (rc != SM_OK || !val) continue;
        if (!obj && !(obj = cJSON_CreateObject())) {
            cJSON_Delete(val);
            rc = SM_ENOMEM;
        } else {
            rc = put_member(obj, k, val);
        }
    }
    free(idx);
    free(base.p);
    if (rc != SM_OK) {
        cJSON_Delete(obj);
        return rc;
    }
    *out = obj;
    return SM_OK;
}

/* The value at `key` of shape `shape` (reached through `ref`); *out stays NULL when absent. */
static int dec_node(struct dec *d, strbuf *key, const cJSON *ref, const cJSON *shape, int depth,
                    cJSON **out)
{
    if (!shape) return SM_OK;
    enum model_kind k = model_kind(shape);
    const char *own = lookup(d->f, key->p);

    if (!is_container(k)) {
        if (!own) return SM_OK;
        return (*out = dec_scalar(k, own)) ? SM_OK : SM_ENOMEM;
    }
    if (depth >= QUERY_MAX_DEPTH) {
        int deeper = below(d, key);
        if (deeper < 0) return deeper;
        if (deeper)
            return err_fail(d->err, d->errlen,
                            "Parameter '%.200s' is nested more than %d levels deep", key->p,
                            QUERY_MAX_DEPTH);
    } else {
        int rc = k == MK_STRUCT ? dec_struct(d, key, shape, depth, 0, out)
                 : k == MK_LIST ? dec_list(d, key, ref, shape, depth, out)
                                : dec_map(d, key, ref, shape, depth, out);
        if (rc != SM_OK || *out) return rc;
    }
    if (!own) return SM_OK;
    if (!*own && k == MK_LIST)
        *out = cJSON_CreateArray();
    else if (!*own && k == MK_MAP)
        *out = cJSON_CreateObject();
    else
        *out = cJSON_CreateString(own); /* the wrong type: validation reports it */
    return *out ? SM_OK : SM_ENOMEM;
}

int query_decode(const sm_model *m, const char *shape, const char *body, size_t len, cJSON **out,
                 char *err, size_t errlen)
{
    struct form f;
    *out = NULL;
    if (err && errlen) err[0] = '\0';
    int rc = form_parse(body ? body : "", body ? len : 0, &f, err, errlen);
    if (rc != SM_OK) return rc;

    const cJSON *s = shape ? model_shape(m, shape) : NULL;
    struct dec d = {m, &f, err, errlen};
    strbuf key = {0};
    sb_putn(&key, "", 0);
    if (key.oom)
        rc = SM_ENOMEM;
    else if (s && model_kind(s) == MK_STRUCT)
        rc = dec_struct(&d, &key, s, 0, 1, out);
    else if (!(*out = cJSON_CreateObject()))
        rc = SM_ENOMEM;
    free(key.p);
    form_free(&f);
    return rc;
}

/* The decoded s[0..n) into dst (cap bytes with the NUL); -1 when it does not fit. */
static int copy_decoded(const char *s, size_t n, char *dst, size_t cap)
{
    size_t at;
    long dn = cap ? pct_decode(s, n, dst, cap - 1, &at) : -3;
    if (dn < 0) return -1;
    dst[dn] = '\0';
    return 0;
}

int query_action(const char *body, size_t len, char *action, size_t alen, char *version,
                 size_t vlen)
{
    char scratch[8];
    size_t at;
    if (action && alen) action[0] = '\0';
    if (version && vlen) version[0] = '\0';
    if (!body) len = 0;
    for (size_t start = 0; start < len;) {
        const char *amp = memchr(body + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - body) : len;
        const char *eq = memchr(body + start, '=', end - start);
        size_t kend = eq ? (size_t)(eq - body) : end;
        size_t vstart = eq ? kend + 1 : end;
        /* the whole body must be well formed, not only the two pairs we read */
        for (size_t i = start; i < end; i++) {
            if (body[i] == '\0') return SM_EINVAL;
            if (body[i] != '%') continue;
            int h = i + 1 < end ? hexval((unsigned char)body[i + 1]) : -1;
            int l = i + 2 < end ? hexval((unsigned char)body[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) return SM_EINVAL;
            i += 2;
        }
        char *dst = NULL;
        size_t cap = 0;
        long kn = pct_decode(body + start, kend - start, scratch, sizeof scratch - 1, &at);
        if (kn >= 0) scratch[kn] = '\0';
        if (kn == 6 && strcmp(scratch, "Action") == 0) {
            dst = action;
            cap = alen;
        } else if (kn == 7 && strcmp(scratch, "Version") == 0) {
            dst = version;
            cap = vlen;
        }
        if (dst && copy_decoded(body + vstart, end - vstart, dst, cap) != 0) return SM_EINVAL;
        start = end + 1;
    }
    return SM_OK;
}

/* ---- XML text ---- */

/* Length of the valid UTF-8 sequence at s that XML 1.0 can hold (0: none). */
static int xml_char(const unsigned char *s)
{
    int len = text_utf8_len(s, 4); /* never reads past the NUL: it is no continuation byte */
    if (len == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE) return 0; /* U+FFFE, U+FFFF */
    return len;
}

#define FFFD "\xEF\xBF\xBD" /* U+FFFD REPLACEMENT CHARACTER */

/* What XML text and attributes cannot hold as is; other control characters become U+FFFD. */
static const char *const entities[0x80] = {
    ['&'] = "&amp;",   ['<'] = "&lt;",  ['>'] = "&gt;",   ['"'] = "&quot;",
    ['\''] = "&apos;", ['\t'] = "&#9;", ['\n'] = "&#10;", ['\r'] = "&#13;",
};

static void put_escaped(strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* bytes at s that need no escaping, not yet copied */
    while (s[run]) {
        const unsigned char *p = s + run;
        const char *rep = NULL;
        int n = 1;
        if (*p < 0x80 && entities[*p]) {
            rep = entities[*p];
        } else if (*p < 0x20 || !(n = xml_char(p))) {
            rep = FFFD; /* for the one byte */
            n = 1;
        }
        if (!rep) {
            run += (size_t)n;
            continue;
        }
        sb_putn(b, (const char *)s, run);
        sb_puts(b, rep);
        s = p + n;
        run = 0;
    }
    sb_putn(b, (const char *)s, run);
}

char *xml_escape(const char *s)
{
    strbuf b = {0};
    sb_putn(&b, "", 0);
    put_escaped(&b, s ? s : "");
    return sb_take(&b);
}

/* ---- encoding ---- */

/* The shortest text that reads back as `d` (integral values without fraction or exponent). */
static void put_double(strbuf *b, double d)
{
    if (isnan(d)) {
        sb_puts(b, "NaN");
    } else if (isinf(d)) {
        sb_puts(b, d > 0 ? "Infinity" : "-Infinity");
    } else if (d == floor(d) && fabs(d) < 1e17) {
        sb_printf(b, "%.0f", d);
    } else {
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d) break;
        }
        sb_puts(b, tmp);
    }
}

static void put_integer(strbuf *b, double d)
{
    if (d == floor(d) && fabs(d) < 9.2e18)
        sb_printf(b, "%lld", (long long)d);
    else
        put_double(b, d); /* a handler's mistake; still a number */
}

/* Epoch seconds as 2024-12-04T19:20:00Z, or ...00.123Z when the milliseconds are not 0. */
static void put_time(strbuf *b, double t)
{
    /* years 0001 to 9999 only; anything else is printed as the number it is */
    if (!(t >= -62135596800.0 && t < 253402300800.0)) {
        put_double(b, t);
        return;
    }
    double whole = floor(t);
    long long secs = (long long)whole;
    long long ms = llround((t - whole) * 1000.0);
    if (ms >= 1000) {
        secs++;
        ms -= 1000;
    }
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long long rem = secs - days * 86400;
    long long y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    sb_printf(b, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", y, mo, d, rem / 3600, rem / 60 % 60,
              rem % 60);
    if (ms) sb_printf(b, ".%03lld", ms);
    sb_putc(b, 'Z');
}

/* A timestamp given as text (Raw number, numeric string, ISO 8601); else the text itself. */
static void put_time_text(strbuf *b, const char *s)
{
    double t;
    if (parse_number(s, &t) || parse_iso8601(s, &t))
        put_time(b, t);
    else
        put_escaped(b, s);
}

/* Can `v` be rendered as a value of kind `k`? (Never null: the callers skip it.) */
static int fits(enum model_kind k, const cJSON *v)
{
    switch (k) {
    case MK_STRUCT:
    case MK_MAP:
        return cJSON_IsObject(v);
    case MK_LIST:
        return cJSON_IsArray(v);
    default:
        return cJSON_IsNumber(v) || cJSON_IsBool(v) ||
               ((cJSON_IsString(v) || cJSON_IsRaw(v)) && v->valuestring);
    }
}

static void enc_scalar(strbuf *b, enum model_kind k, const cJSON *v)
{
    if (cJSON_IsBool(v)) {
        sb_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        if (k == MK_TIMESTAMP)
            put_time(b, v->valuedouble);
        else if (k == MK_BOOL)
            sb_puts(b, v->valuedouble != 0 ? "true" : "false");
        else if (k == MK_INTEGER || k == MK_LONG)
            put_integer(b, v->valuedouble);
        else
            put_double(b, v->valuedouble);
    } else if (k == MK_TIMESTAMP) {
        put_time_text(b, v->valuestring);
    } else {
        put_escaped(b, v->valuestring); /* strings, and Raw numbers verbatim */
    }
}

static void enc_element(const sm_model *m, strbuf *b, const char *name, const cJSON *ref,
                        const cJSON *shape, const cJSON *v, int depth);

static void open_tag(strbuf *b, const char *name)
{
    sb_putc(b, '<');
    sb_puts(b, name);
    sb_putc(b, '>');
}

static void close_tag(strbuf *b, const char *name)
{
    sb_puts(b, "</");
    sb_puts(b, name);
    sb_putc(b, '>');
}

/* The element name of a structure member (botocore's _member_key_name). */
static const char *member_name(const sm_model *m, const cJSON *ref, const char *name)
{
    const cJSON *shape = ref_shape(m, ref);
    if (model_kind(shape) == MK_LIST && flattened(shape, ref)) {
        const char *lm = attr(cJSON_GetObjectItemCaseSensitive(shape, "member"), "locationName");
        if (lm) return lm;
    }
    const char *loc = attr(ref, "locationName");
    return loc ? loc : name;
}

static void enc_members(const sm_model *m, strbuf *b, const cJSON *shape, const cJSON *obj,
                        int depth)
{
    const cJSON *mem;
    cJSON_ArrayForEach(mem, cJSON_GetObjectItemCaseSensitive(shape, "members"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, mem->string);
        if (!v || cJSON_IsNull(v)) continue;
        enc_element(m, b, member_name(m, mem, mem->string), mem, ref_shape(m, mem), v, depth + 1);
    }
}

/* One map entry's key and value elements. */
static void enc_entry(const sm_model *m, strbuf *b, const cJSON *shape, const cJSON *e, int depth)
{
    const cJSON *kref = cJSON_GetObjectItemCaseSensitive(shape, "key");
    const cJSON *vref = cJSON_GetObjectItemCaseSensitive(shape, "value");
    const char *kname = attr(kref, "locationName"), *vname = attr(vref, "locationName");
    kname = kname ? kname : "key";
    open_tag(b, kname);
    put_escaped(b, e->string ? e->string : "");
    close_tag(b, kname);
    enc_element(m, b, vname ? vname : "value", vref, ref_shape(m, vref), e, depth + 1);
}

/* `v` (not null) as element(s) `name` of shape `shape`, reached through `ref`. */
static void enc_element(const sm_model *m, strbuf *b, const char *name, const cJSON *ref,
                        const cJSON *shape, const cJSON *v, int depth)
{
    if (!shape || depth > QUERY_MAX_DEPTH) return;
    enum model_kind k = model_kind(shape);
    const cJSON *e;
    if (!fits(k, v)) return;

    if (k == MK_LIST) {
        const cJSON *mref = cJSON_GetObjectItemCaseSensitive(shape, "member");
        const cJSON *mshape = ref_shape(m, mref);
        const char *mname = attr(mref, "locationName");
        int flat = flattened(shape, ref);
        if (!flat) open_tag(b, name);
        cJSON_ArrayForEach(e, v)
        {
            if (cJSON_IsNull(e)) continue;
            enc_element(m, b, flat ? name : mname ? mname : "member", mref, mshape, e, depth + 1);
        }
        if (!flat) close_tag(b, name);
    } else if (k == MK_MAP) {
        int flat = flattened(shape, ref);
        if (!flat) open_tag(b, name);
        cJSON_ArrayForEach(e, v)
        {
            if (cJSON_IsNull(e)) continue;
            open_tag(b, flat ? name : "entry");
            enc_entry(m, b, shape, e, depth + 1);
            close_tag(b, flat ? name : "entry");
        }
        if (!flat) close_tag(b, name);
    } else {
        open_tag(b, name);
        if (k == MK_STRUCT)
            enc_members(m, b, shape, v, depth);
        else
            enc_scalar(b, k, v);
        close_tag(b, name);
    }
}

char *query_encode(const sm_model *m, const char *op, const cJSON *out, const char *xmlns,
                   const char *request_id)
{
    const char *wrapper = model_result_wrapper(m, op);
    const cJSON *shape = model_shape(m, model_output_shape(m, op));
    strbuf b = {0};

    op = op ? op : "";
    sb_printf(&b, "<%sResponse", op);
    if (xmlns) {
        sb_puts(&b, " xmlns=\"");
        put_escaped(&b, xmlns);
        sb_putc(&b, '"');
    }
    sb_putc(&b, '>');
    if (wrapper) open_tag(&b, wrapper);
    if (shape && model_kind(shape) == MK_STRUCT && cJSON_IsObject(out))
        enc_members(m, &b, shape, out, 0);
    if (wrapper) close_tag(&b, wrapper);
    sb_puts(&b, "<ResponseMetadata><RequestId>");
    put_escaped(&b, request_id ? request_id : "");
    sb_printf(&b, "</RequestId></ResponseMetadata></%sResponse>", op);
    return sb_take(&b);
}

char *query_encode_error(const char *code, const char *message, int sender, const char *xmlns,
                         const char *request_id)
{
    strbuf b = {0};
    sb_puts(&b, "<ErrorResponse");
    if (xmlns) {
        sb_puts(&b, " xmlns=\"");
        put_escaped(&b, xmlns);
        sb_putc(&b, '"');
    }
    sb_puts(&b, "><Error><Type>");
    sb_puts(&b, sender ? "Sender" : "Receiver");
    sb_puts(&b, "</Type><Code>");
    put_escaped(&b, code ? code : "");
    sb_puts(&b, "</Code><Message>");
    put_escaped(&b, message ? message : "");
    sb_puts(&b, "</Message></Error><RequestId>");
    put_escaped(&b, request_id ? request_id : "");
    sb_puts(&b, "</RequestId></ErrorResponse>");
    return sb_take(&b);
}
