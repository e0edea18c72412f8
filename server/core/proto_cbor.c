/*
 * proto_cbor.c: the smithy-rpc-v2-cbor protocol (see proto_cbor.h), on libcbor.
 *
 * Decoding is two passes over the body: check() walks it with libcbor's streaming decoder and
 * refuses anything libcbor should not be asked to build (see the header), then cbor_load()
 * builds the item tree and to_json() walks the input shape over it, never the data: only
 * members the model knows are read, so recursion is bounded by the model (and by
 * RPCV2_MAX_DEPTH). Encoding walks the output shape over the handler's cJSON into a libcbor
 * item tree, serialised once with cbor_serialize_alloc().
 *
 * Must not: print, exit, keep state between calls, recurse without a bound, leave an
 * allocation unchecked, or let a libcbor item leak (every item built is owned by exactly one
 * parent or freed with cbor_decref).
 */
#include "proto_cbor.h"
#include "errors.h"

#include <cbor.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STRUCT, K_LIST, K_MAP, K_STRING, K_BLOB, K_INTEGER, K_BOOL, K_DOUBLE, K_TIMESTAMP };

/* model_kind() (one reading of shape types for every walker), with blobs apart: CBOR carries
 * them as byte strings. */
static enum kind shape_kind(const cJSON *shape)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(shape, "type");
    if (cJSON_IsString(t) && strcmp(t->valuestring, "blob") == 0) return K_BLOB;
    switch (model_kind(shape)) {
    case MK_STRUCT:
        return K_STRUCT;
    case MK_LIST:
        return K_LIST;
    case MK_MAP:
        return K_MAP;
    case MK_INTEGER:
    case MK_LONG:
        return K_INTEGER;
    case MK_BOOL:
        return K_BOOL;
    case MK_DOUBLE:
        return K_DOUBLE;
    case MK_TIMESTAMP:
        return K_TIMESTAMP;
    default:
        return K_STRING;
    }
}

static const cJSON *ref_shape(const sm_model *m, const cJSON *ref)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? model_shape(m, name->valuestring) : NULL;
}

/* ---- UTF-8 ---- */

static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = c >= 0xC2 && c < 0xE0    ? 2
                   : c >= 0xE0 && c < 0xF0  ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (k == 0 || i + k > n) return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

/* ---- the first pass: is this one sane data item? ---- */

typedef struct scan {
    int64_t open[RPCV2_MAX_DEPTH]; /* items still due in each open container; -1 indefinite */
    int depth;
    int items;        /* top-level items completed */
    size_t remaining; /* bytes from the current header on */
    const char *why;  /* set when refused */
} scan;

static void item_done(scan *s)
{
    while (s->depth > 0) {
        int64_t *top = &s->open[s->depth - 1];
        if (*top < 0 || --*top > 0) return;
        s->depth--; /* the container is complete: an item of its parent */
    }
    s->items++;
}

static void open_container(scan *s, int64_t items)
{
    if (s->why) return;
    if (items == 0) {
        item_done(s);
        return;
    }
    if (s->depth == RPCV2_MAX_DEPTH) {
        s->why = "the CBOR body is nested too deeply";
        return;
    }
    s->open[s->depth++] = items;
}

static void on_scalar(void *ctx)
{
    item_done(ctx);
}
static void on_u8(void *ctx, uint8_t v)
{
    (void)v;
    item_done(ctx);
}
static void on_u16(void *ctx, uint16_t v)
{
    (void)v;
    item_done(ctx);
}
static void on_u32(void *ctx, uint32_t v)
{
    (void)v;
    item_done(ctx);
}
static void on_u64(void *ctx, uint64_t v)
{
    (void)v;
    item_done(ctx);
}
static void on_f4(void *ctx, float v)
{
    (void)v;
    item_done(ctx);
}
static void on_f8(void *ctx, double v)
{
    (void)v;
    item_done(ctx);
}
static void on_bool(void *ctx, bool v)
{
    (void)v;
    item_done(ctx);
}
static void on_bytes(void *ctx, cbor_data d, size_t n)
{
    (void)d;
    (void)n;
    item_done(ctx);
}
static void on_text(void *ctx, cbor_data d, size_t n)
{
    scan *s = ctx;
    if (!utf8_ok(d, n) && !s->why) s->why = "a CBOR text string is not valid UTF-8 (or holds NUL)";
    item_done(s);
}
static void on_indefinite(void *ctx)
{
    open_container(ctx, -1);
}
static void on_array(void *ctx, size_t n)
{
    scan *s = ctx;
    if (n > s->remaining && !s->why)
        s->why = "a CBOR array announces more items than the body holds";
    open_container(s, n > s->remaining ? 0 : (int64_t)n);
}
static void on_map(void *ctx, size_t n)
{
    scan *s = ctx;
    if ((n > s->remaining / 2) && !s->why)
        s->why = "a CBOR map announces more entries than the body holds";
    /* refused above, and never n * 2 of a huge n: it overflows */
    open_container(s, n > s->remaining / 2 ? 0 : (int64_t)n * 2);
}
static void on_tag(void *ctx, uint64_t tag)
{
    (void)tag;
    open_container(ctx, 1);
}
static void on_break(void *ctx)
{
    scan *s = ctx;
    if (s->depth == 0 || s->open[s->depth - 1] >= 0) {
        if (!s->why) s->why = "a CBOR break code outside an indefinite-length item";
        return;
    }
    s->depth--;
    item_done(s);
}

static int check(const unsigned char *b, size_t len, char *err, size_t errlen)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = on_u8;
    cb.uint16 = on_u16;
    cb.uint32 = on_u32;
    cb.uint64 = on_u64;
    cb.negint8 = on_u8;
    cb.negint16 = on_u16;
    cb.negint32 = on_u32;
    cb.negint64 = on_u64;
    cb.byte_string = on_bytes;
    cb.byte_string_start = on_indefinite;
    cb.string = on_text;
    cb.string_start = on_indefinite;
    cb.array_start = on_array;
    cb.indef_array_start = on_indefinite;
    cb.map_start = on_map;
    cb.indef_map_start = on_indefinite;
    cb.tag = on_tag;
    cb.float2 = on_f4;
    cb.float4 = on_f4;
    cb.float8 = on_f8;
    cb.undefined = on_scalar;
    cb.null = on_scalar;
    cb.boolean = on_bool;
    cb.indef_break = on_break;
    scan s = {.depth = 0};
    size_t off = 0;
    while (off < len && !s.why) {
        if (s.items > 0)
            return err_fail(err, errlen, "the body holds more than one CBOR data item");
        s.remaining = len - off;
        struct cbor_decoder_result r = cbor_stream_decode(b + off, len - off, &cb, &s);
        if (r.status == CBOR_DECODER_NEDATA)
            return err_fail(err, errlen, "the CBOR body ends in the middle of a data item");
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return err_fail(err, errlen, "the body is not well-formed CBOR (byte %zu)", off);
        off += r.read;
    }
    if (s.why) return err_fail(err, errlen, "%s", s.why);
    if (s.items != 1 || s.depth != 0)
        return err_fail(err, errlen, "the CBOR body ends in the middle of a data item");
    return SM_OK;
}

/* ---- CBOR items to cJSON ---- */

/* The bytes of a text or byte string (definite or chunked) as a malloc'd, NUL-terminated
 * copy; NULL when out of memory. */
static char *string_copy(const cbor_item_t *it, size_t *len)
{
    int text = cbor_isa_string(it);
    int definite = text ? cbor_string_is_definite(it) : cbor_bytestring_is_definite(it);
    size_t n = 0;
    if (definite) {
        n = text ? cbor_string_length(it) : cbor_bytestring_length(it);
    } else {
        size_t k = text ? cbor_string_chunk_count(it) : cbor_bytestring_chunk_count(it);
        cbor_item_t **ch = text ? cbor_string_chunks_handle(it) : cbor_bytestring_chunks_handle(it);
        for (size_t i = 0; i < k; i++)
            n += text ? cbor_string_length(ch[i]) : cbor_bytestring_length(ch[i]);
    }
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (definite) {
        if (n) memcpy(s, text ? cbor_string_handle(it) : cbor_bytestring_handle(it), n);
    } else {
        size_t k = text ? cbor_string_chunk_count(it) : cbor_bytestring_chunk_count(it), at = 0;
        cbor_item_t **ch = text ? cbor_string_chunks_handle(it) : cbor_bytestring_chunks_handle(it);
        for (size_t i = 0; i < k; i++) {
            size_t c = text ? cbor_string_length(ch[i]) : cbor_bytestring_length(ch[i]);
            if (c)
                memcpy(s + at, text ? cbor_string_handle(ch[i]) : cbor_bytestring_handle(ch[i]), c);
            at += c;
        }
    }
    s[n] = 0;
    *len = n;
    return s;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const unsigned char *d, size_t n)
{
    char *o = malloc((n + 2) / 3 * 4 + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *p++ = B64[v >> 18 & 63];
        *p++ = B64[v >> 12 & 63];
        *p++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *p = 0;
    return o;
}

/* A simple value (false, true, null, undefined), not a float: libcbor asserts when its control
 * accessors meet a float. */
static int is_ctrl(const cbor_item_t *it)
{
    return cbor_isa_float_ctrl(it) && cbor_float_ctrl_is_ctrl(it);
}

static int is_bool(const cbor_item_t *it)
{
    return is_ctrl(it) && cbor_is_bool(it);
}

/* The number an integer or float item holds; 0 when it is neither. */
static int number_of(const cbor_item_t *it, double *out)
{
    if (cbor_isa_uint(it)) {
        *out = (double)cbor_get_int(it);
    } else if (cbor_isa_negint(it)) {
        *out = -1.0 - (double)cbor_get_int(it);
    } else if (cbor_isa_float_ctrl(it) && !cbor_float_ctrl_is_ctrl(it)) {
        *out = cbor_float_get_float(it);
    } else {
        return 0;
    }
    return 1;
}

static cJSON *number_json(double v)
{
    if (isnan(v)) return cJSON_CreateString("NaN");
    if (isinf(v)) return cJSON_CreateString(v > 0 ? "Infinity" : "-Infinity");
    return cJSON_CreateNumber(v);
}

/* An item whose CBOR type is not what its shape wants, with its own JSON type (containers
 * empty), for the validation to report. */
static cJSON *mismatch(const cbor_item_t *it)
{
    double v;
    size_t n;
    if (number_of(it, &v)) return number_json(v);
    if (is_bool(it)) return cJSON_CreateBool(cbor_get_bool(it));
    if (cbor_isa_array(it)) return cJSON_CreateArray();
    if (cbor_isa_map(it)) return cJSON_CreateObject();
    if (cbor_isa_string(it) || cbor_isa_bytestring(it)) {
        char *s = string_copy(it, &n);
        cJSON *o = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return o;
    }
    return cJSON_CreateObject(); /* a tag where none belongs */
}

static int is_nullish(const cbor_item_t *it)
{
    return is_ctrl(it) && (cbor_is_null(it) || cbor_is_undef(it));
}

/* *out: the value of `it` for shape `shape`, or NULL when it is null (absent). */
static int to_json(const sm_model *m, const cJSON *shape, const cbor_item_t *it, int depth,
                   cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (is_nullish(it)) return SM_OK;
    if (depth > RPCV2_MAX_DEPTH) return err_fail(err, errlen, "the CBOR body is nested too deeply");
    enum kind k = shape ? shape_kind(shape) : K_STRUCT;
    double num;
    size_t n;
    switch (k) {
    case K_STRUCT:
    case K_MAP: {
        if (!cbor_isa_map(it)) break;
        cJSON *o = cJSON_CreateObject();
        if (!o) return SM_ENOMEM;
        const cJSON *members = shape ? cJSON_GetObjectItemCaseSensitive(shape, "members") : NULL;
        const cJSON *value_shape =
            k == K_MAP ? ref_shape(m, cJSON_GetObjectItemCaseSensitive(shape, "value")) : NULL;
        struct cbor_pair *pairs = cbor_map_handle(it);
        size_t np = cbor_map_size(it);
        for (size_t i = 0; i < np; i++) {
            if (!cbor_isa_string(pairs[i].key)) {
                cJSON_Delete(o);
                return err_fail(err, errlen, "a CBOR map key is not a text string");
            }
            char *key = string_copy(pairs[i].key, &n);
            if (!key) {
                cJSON_Delete(o);
                return SM_ENOMEM;
            }
            const cJSON *sub = NULL;
            int known = 1;
            if (k == K_MAP) {
                sub = value_shape;
            } else {
                const cJSON *ref = cJSON_GetObjectItemCaseSensitive(members, key);
                known = ref != NULL;
                sub = known ? ref_shape(m, ref) : NULL;
            }
            cJSON *v = NULL;
            int rc =
                known && sub ? to_json(m, sub, pairs[i].value, depth + 1, &v, err, errlen) : SM_OK;
            if (rc == SM_OK && v) {
                cJSON_DeleteItemFromObjectCaseSensitive(o, key); /* a repeated key: the last */
                if (!cJSON_AddItemToObject(o, key, v)) {
                    cJSON_Delete(v);
                    rc = SM_ENOMEM;
                }
            }
            free(key);
            if (rc != SM_OK) {
                cJSON_Delete(o);
                return rc;
            }
        }
        *out = o;
        return SM_OK;
    }
    case K_LIST: {
        if (!cbor_isa_array(it)) break;
        cJSON *a = cJSON_CreateArray();
        if (!a) return SM_ENOMEM;
        const cJSON *member = ref_shape(m, cJSON_GetObjectItemCaseSensitive(shape, "member"));
        cbor_item_t **items = cbor_array_handle(it);
        size_t ni = cbor_array_size(it);
        for (size_t i = 0; i < ni; i++) {
            cJSON *v = NULL;
            int rc = member ? to_json(m, member, items[i], depth + 1, &v, err, errlen) : SM_OK;
            if (rc == SM_OK && v && !cJSON_AddItemToArray(a, v)) {
                cJSON_Delete(v);
                rc = SM_ENOMEM;
            }
            if (rc != SM_OK) {
                cJSON_Delete(a);
                return rc;
            }
        }
        *out = a;
        return SM_OK;
    }
    case K_STRING:
        if (!cbor_isa_string(it)) break;
        {
            char *s = string_copy(it, &n);
            *out = s ? cJSON_CreateString(s) : NULL;
            free(s);
            return *out ? SM_OK : SM_ENOMEM;
        }
    case K_BLOB:
        if (!cbor_isa_bytestring(it)) break;
        {
            char *s = string_copy(it, &n), *b = s ? base64((unsigned char *)s, n) : NULL;
            *out = b ? cJSON_CreateString(b) : NULL;
            free(s);
            free(b);
            return *out ? SM_OK : SM_ENOMEM;
        }
    case K_INTEGER:
    case K_DOUBLE:
        if (!number_of(it, &num)) break;
        *out = number_json(num);
        return *out ? SM_OK : SM_ENOMEM;
    case K_BOOL:
        if (!is_bool(it)) break;
        *out = cJSON_CreateBool(cbor_get_bool(it));
        return *out ? SM_OK : SM_ENOMEM;
    case K_TIMESTAMP: {
        const cbor_item_t *v = it;
        cbor_item_t *inner = NULL;
        if (cbor_isa_tag(it)) {
            if (cbor_tag_value(it) != 1) break;
            v = inner = cbor_tag_item(it); /* a new reference */
        }
        int ok = number_of(v, &num) && isfinite(num);
        if (inner) cbor_decref(&inner);
        if (!ok) break;
        *out = cJSON_CreateNumber(num);
        return *out ? SM_OK : SM_ENOMEM;
    }
    }
    *out = mismatch(it);
    return *out ? SM_OK : SM_ENOMEM;
}

int rpcv2_decode(const sm_model *m, const char *shape, const char *body, size_t len, cJSON **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (len == 0) {
        *out = cJSON_CreateObject();
        return *out ? SM_OK : SM_ENOMEM;
    }
    const unsigned char *b = (const unsigned char *)body;
    int rc = check(b, len, err, errlen);
    if (rc != SM_OK) return rc;
    struct cbor_load_result res;
    cbor_item_t *root = cbor_load(b, len, &res);
    if (!root) {
        return res.error.code == CBOR_ERR_MEMERROR
                   ? SM_ENOMEM
                   : err_fail(err, errlen, "the body is not well-formed CBOR (byte %zu)",
                              res.error.position);
    }
    if (!cbor_isa_map(root)) {
        cbor_decref(&root);
        return err_fail(err, errlen,
                        "the CBOR body must be a map (the operation's input structure)");
    }
    const cJSON *in = shape ? model_shape(m, shape) : NULL;
    if (in) {
        rc = to_json(m, in, root, 0, out, err, errlen);
    } else { /* no input shape: an empty map, nothing read */
        *out = cJSON_CreateObject();
        rc = *out ? SM_OK : SM_ENOMEM;
    }
    cbor_decref(&root);
    if (rc == SM_OK && !*out) *out = cJSON_CreateObject();
    if (rc == SM_OK && !*out) rc = SM_ENOMEM;
    if (rc != SM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- cJSON to CBOR items ---- */

static cbor_item_t *int_item(double v)
{
    if (v >= 0) return cbor_build_uint64((uint64_t)v);
    return cbor_build_negint64((uint64_t)(-1.0 - v));
}

static int integral(double v)
{
    return isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0;
}

/* A JSON number (or Raw number, or numeric text) as a double; 0 when none. */
static int json_number(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 1;
    }
    if ((cJSON_IsRaw(v) || cJSON_IsString(v)) && v->valuestring) {
        const char *s = v->valuestring;
        if (strcmp(s, "NaN") == 0)
            *out = NAN;
        else if (strcmp(s, "Infinity") == 0)
            *out = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            *out = -INFINITY;
        else {
            char *end;
            *out = strtod(s, &end);
            return end != s && *end == 0;
        }
        return 1;
    }
    return 0;
}

/* The value of a base64 character (standard or URL alphabet), or -1 ('=' and others). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static cbor_item_t *blob_item(const char *s)
{
    size_t n = strlen(s), o = 0;
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    if (!buf) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = b64_value((unsigned char)s[i]);
        if (c < 0) continue; /* '=' and anything else: skipped */
        acc = acc << 6 | (uint32_t)c;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    cbor_item_t *it = cbor_build_bytestring(buf, o);
    free(buf);
    return it;
}

/* *out: the CBOR item of `v` by shape (NULL: left out). 0 or SM_ENOMEM. */
static int from_json(const sm_model *m, const cJSON *shape, const cJSON *v, int depth,
                     cbor_item_t **out)
{
    *out = NULL;
    if (!v || cJSON_IsNull(v) || depth > RPCV2_MAX_DEPTH) return SM_OK;
    enum kind k = shape ? shape_kind(shape) : K_STRUCT;
    double num;
    switch (k) {
    case K_STRUCT:
    case K_MAP: {
        if (!cJSON_IsObject(v)) return SM_OK;
        /* The entries, in the model's member order (a map: the object's order). */
        const cJSON *members =
            k == K_STRUCT && shape ? cJSON_GetObjectItemCaseSensitive(shape, "members") : NULL;
        const cJSON *value_shape =
            k == K_MAP ? ref_shape(m, cJSON_GetObjectItemCaseSensitive(shape, "value")) : NULL;
        int cap = cJSON_GetArraySize(k == K_MAP ? v : members), n = 0;
        struct cbor_pair *pairs = cap ? calloc((size_t)cap, sizeof *pairs) : NULL;
        if (cap && !pairs) return SM_ENOMEM;
        int rc = SM_OK;
        const cJSON *e, *walked = k == K_MAP ? v : members;
        cJSON_ArrayForEach(e, walked)
        {
            if (n == cap) break;
            const cJSON *val = k == K_MAP ? e : cJSON_GetObjectItemCaseSensitive(v, e->string);
            const cJSON *sub = k == K_MAP ? value_shape : ref_shape(m, e);
            cbor_item_t *item = NULL;
            if (!val || !sub) continue;
            rc = from_json(m, sub, val, depth + 1, &item);
            if (rc != SM_OK) break;
            if (!item) continue;
            pairs[n].key = cbor_build_string(e->string);
            pairs[n].value = item;
            if (!pairs[n].key) {
                cbor_decref(&item);
                rc = SM_ENOMEM;
                break;
            }
            n++;
        }
        cbor_item_t *map = rc == SM_OK ? cbor_new_definite_map((size_t)n) : NULL;
        for (int i = 0; i < n; i++) {
            if (map && !cbor_map_add(map, (struct cbor_pair){pairs[i].key, pairs[i].value}))
                cbor_decref(&map);
            cbor_decref(&pairs[i].key); /* the map holds its own references */
            cbor_decref(&pairs[i].value);
        }
        free(pairs);
        if (rc == SM_OK && !map) rc = SM_ENOMEM;
        *out = map;
        return rc;
    }
    case K_LIST: {
        if (!cJSON_IsArray(v)) return SM_OK;
        const cJSON *member = ref_shape(m, cJSON_GetObjectItemCaseSensitive(shape, "member"));
        cbor_item_t *a = cbor_new_definite_array((size_t)cJSON_GetArraySize(v));
        if (!a) return SM_ENOMEM;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            cbor_item_t *item = NULL;
            int rc = from_json(m, member, e, depth + 1, &item);
            if (rc == SM_OK && item && !cbor_array_push(a, item)) rc = SM_ENOMEM;
            if (item) cbor_decref(&item);
            if (rc != SM_OK) {
                cbor_decref(&a);
                return rc;
            }
        }
        *out = a;
        return SM_OK;
    }
    case K_STRING:
        if (cJSON_IsString(v)) {
            *out = cbor_build_string(v->valuestring);
        } else if (json_number(v, &num)) {
            char buf[40];
            snprintf(buf, sizeof buf, "%.17g", num);
            *out = cbor_build_string(buf);
        } else {
            return SM_OK;
        }
        return *out ? SM_OK : SM_ENOMEM;
    case K_BLOB:
        if (!cJSON_IsString(v)) return SM_OK;
        *out = blob_item(v->valuestring);
        return *out ? SM_OK : SM_ENOMEM;
    case K_INTEGER:
        if (!json_number(v, &num)) return SM_OK;
        *out = integral(num) ? int_item(num) : cbor_build_float8(num);
        return *out ? SM_OK : SM_ENOMEM;
    case K_DOUBLE:
        if (!json_number(v, &num)) return SM_OK;
        *out = cbor_build_float8(num);
        return *out ? SM_OK : SM_ENOMEM;
    case K_BOOL:
        if (!cJSON_IsBool(v)) return SM_OK;
        *out = cbor_build_bool(cJSON_IsTrue(v));
        return *out ? SM_OK : SM_ENOMEM;
    case K_TIMESTAMP: {
        if (!json_number(v, &num) || !isfinite(num)) return SM_OK;
        cbor_item_t *inner = integral(num) ? int_item(num) : cbor_build_float8(num);
        if (!inner) return SM_ENOMEM;
        *out = cbor_build_tag(1, inner);
        cbor_decref(&inner);
        return *out ? SM_OK : SM_ENOMEM;
    }
    }
    return SM_OK;
}

static int serialize(cbor_item_t *root, unsigned char **buf, size_t *len)
{
    unsigned char *b = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(root, &b, &cap);
    cbor_decref(&root);
    if (n == 0) {
        free(b);
        return SM_ENOMEM;
    }
    *buf = b;
    *len = n;
    return SM_OK;
}

int rpcv2_encode(const sm_model *m, const char *shape, const cJSON *out, unsigned char **buf,
                 size_t *len)
{
    *buf = NULL;
    *len = 0;
    const cJSON *s = shape ? model_shape(m, shape) : NULL;
    cbor_item_t *root = NULL;
    if (s && out) {
        int rc = from_json(m, s, out, 0, &root);
        if (rc != SM_OK) return rc;
    }
    if (!root && !(root = cbor_new_definite_map(0))) return SM_ENOMEM;
    return serialize(root, buf, len);
}

int rpcv2_encode_error(const char *type, const char *message, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    cbor_item_t *map = cbor_new_definite_map(2);
    cbor_item_t *k1 = cbor_build_string("__type"), *v1 = cbor_build_string(type ? type : "");
    cbor_item_t *k2 = cbor_build_string("message"), *v2 = cbor_build_string(message ? message : "");
    int ok = map && k1 && v1 && k2 && v2 && cbor_map_add(map, (struct cbor_pair){k1, v1}) &&
             cbor_map_add(map, (struct cbor_pair){k2, v2});
    cbor_item_t *items[] = {k1, v1, k2, v2};
    for (size_t i = 0; i < 4; i++)
        if (items[i]) cbor_decref(&items[i]);
    if (!ok) {
        if (map) cbor_decref(&map);
        return SM_ENOMEM;
    }
    return serialize(map, buf, len);
}

int rpcv2_path(const char *path, char *svc, size_t svclen, char *op, size_t oplen)
{
    static const char S[] = "/service/", O[] = "/operation/";
    const char *p = path ? strstr(path, S) : NULL, *last = NULL;
    for (; p; p = strstr(p + 1, S))
        last = p;
    if (!last) return 0;
    const char *name = last + sizeof S - 1, *slash = strchr(name, '/');
    if (!slash || slash == name || strncmp(slash, O, sizeof O - 1) != 0) return 0;
    const char *o = slash + sizeof O - 1;
    size_t sn = (size_t)(slash - name), on = strcspn(o, "/?");
    if (on == 0 || o[on] != 0 || sn >= svclen || on >= oplen) return 0;
    memcpy(svc, name, sn);
    svc[sn] = 0;
    memcpy(op, o, on);
    op[on] = 0;
    return 1;
}
