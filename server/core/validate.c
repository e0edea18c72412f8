/*
 * validate.c: validate requests, and check responses, by walking the embedded service model.
 *
 * One generic walk over a shape and a JSON value. Nothing here knows an operation or a member
 * by name; the only data is the model (model.h). Two modes:
 *
 * val_input (Coral's behaviour, the real service's wording):
 *   - a member whose JSON type is wrong stops the walk: SerializationException, with our own
 *     text "Expected a string at 'trainingJobName', got a number" (the service sends none);
 *   - otherwise every constraint failure becomes one item
 *       Value '<v>' at '<path>' failed to satisfy constraint: <rule>
 *     and the message is "1 validation error detected: " / "N validation errors detected: "
 *     followed by the items joined by "; ";
 *   - walk order: members in model order, depth first; for one member: null, pattern, length,
 *     enum, range (the real 64-character-name example prints "pattern; length");
 *   - paths: lowerCamelCase member names joined by '.', list elements as
 *     "<list>.<1-based index>.member" (tags.1.member.key), map values as "<map>.<key>";
 *   - a list (map) whose *scalar* elements (keys, values) fail gets one item at the list's (map's)
 *     path whose rule lists every constraint of the element shape, as other Coral services do
 *     (Lambda, ACM, DynamoDB, IoT):
 *       Member must satisfy constraint: [<rules>]      (list elements)
 *       Map keys must satisfy constraint: [<rules>]    (map keys)
 *       Map value must satisfy constraint: [<rules>]   (map values)
 *     <rules> are, when the shape has them: length max, length min, value max, value min,
 *     pattern, enum, joined by ", "; "Member must not be null" is appended when an element is
 *     null. Elements that are structures, lists or maps are walked with their own paths instead;
 *   - JSON null is the same as an absent member; unknown members are ignored, never walked;
 *   - timestamps accept numbers (integer or fractional) and numeric strings;
 *   - values are printed as Java would: strings as is, integral numbers without a fraction,
 *     true/false, null, lists "[a, b]", maps and structures "{k=v, k2=v2}" (structures print
 *     their known members in model order).
 * val_output (amazonka's strictness): required members present at every depth, no JSON null
 *   anywhere, right JSON types (timestamps must be numbers), enum values from the model, no
 *   member the model lacks. The first problem stops the walk: "Path.To[0].Member: problem".
 *
 * Must not: keep any state between calls (everything lives in a struct walk on the caller's
 * stack), print, or recurse without a bound: the walk stops at VAL_MAX_DEPTH levels and only
 * follows the model, so unknown members are never descended into. Every allocation is checked;
 * on failure the functions return SM_ENOMEM and leave *message / *problem NULL.
 * Invariants: a message text is capped near VAL_TEXT_CAP bytes (items past the cap are counted
 * but not printed); strings are checked to be valid UTF-8 before lengths (in code points) and
 * patterns are evaluated.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "validate.h"
#include "strbuf.h"
#include "text.h"

#define VAL_MAX_DEPTH 32
#define VAL_TEXT_CAP 65536

/* Failed (or present) constraints of one value, as a bit set. */
enum {
    F_PATTERN = 1,
    F_LENMAX = 2,
    F_LENMIN = 4,
    F_ENUM = 8,
    F_VALMAX = 16,
    F_VALMIN = 32,
};

/* ---- the walk's state ---- */

struct walk {
    const sm_model *m; /* the service model the shapes belong to */
    int output;        /* 0: val_input rules; 1: val_output rules */
    strbuf path;       /* current path, always NUL-terminated */
    strbuf items;      /* validation items joined by "; " (input mode) */
    int nitems;        /* items found, printed or not */
    int truncated;     /* some items were not printed (VAL_TEXT_CAP) */
    strbuf fatal;      /* serialization message (input) or problem (output) */
    int stop;          /* fatal is set: the walk unwinds */
};

static int oom(const struct walk *w)
{
    return w->path.oom || w->items.oom || w->fatal.oom;
}

/* Should the walk unwind (a fatal message, or an allocation failure)? */
static int stopped(const struct walk *w)
{
    return w->stop || oom(w);
}

static size_t path_mark(const struct walk *w)
{
    return w->path.len;
}

static void path_reset(struct walk *w, size_t mark)
{
    if (w->path.p && mark <= w->path.len) {
        w->path.len = mark;
        w->path.p[mark] = '\0';
    }
}

/* Append a member: "trainingJobName" (input, lowerCamelCase) or "TrainingJobName" (output). */
static size_t path_member(struct walk *w, const char *name)
{
    size_t mark = path_mark(w);
    if (w->path.len) sb_putn(&w->path, ".", 1);
    if (!w->output && name[0] >= 'A' && name[0] <= 'Z') {
        char first = (char)(name[0] - 'A' + 'a');
        sb_putn(&w->path, &first, 1);
        sb_puts(&w->path, name + 1);
    } else {
        sb_puts(&w->path, name);
    }
    return mark;
}

/* Append a list index: ".3.member" (input, 1-based, Coral) or "[2]" (output, 0-based). */
static size_t path_index(struct walk *w, int i)
{
    size_t mark = path_mark(w);
    if (w->output)
        sb_printf(&w->path, "[%d]", i);
    else
        sb_printf(&w->path, "%s%d.member", w->path.len ? "." : "", i + 1);
    return mark;
}

static size_t path_key(struct walk *w, const char *key)
{
    size_t mark = path_mark(w);
    if (w->path.len) sb_putn(&w->path, ".", 1);
    sb_puts(&w->path, key);
    return mark;
}

/* Stop the walk with a message. In output mode it is prefixed by "path: ". */
__attribute__((format(printf, 2, 3))) static int fatal(struct walk *w, const char *fmt, ...)
{
    va_list ap;
    if (w->stop) return 1;
    if (w->output) sb_printf(&w->fatal, "%s: ", w->path.len ? w->path.p : "(root)");
    va_start(ap, fmt);
    sb_vprintf(&w->fatal, fmt, ap);
    va_end(ap);
    w->stop = 1;
    return 1;
}

/* ---- model access ---- */

/* The shape name in holder[key].shape ("member", "key", "value", or a member name). */
static const char *ref_name(const cJSON *holder, const char *key)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(holder, key);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? name->valuestring : NULL;
}

static int is_required(const cJSON *shape, const char *member)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(shape, "required");
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
    {
        if (cJSON_IsString(r) && strcmp(r->valuestring, member) == 0) return 1;
    }
    return 0;
}

static int is_scalar(enum model_kind k)
{
    return k != MK_STRUCT && k != MK_LIST && k != MK_MAP;
}

/* ---- UTF-8 ---- */

/* Number of code points of `s`, or -1 when `s` is not valid UTF-8 (overlong, surrogate...). */
static long utf8_count(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    long n = 0;
    /* 4: a sequence never reads past the NUL, which is no continuation byte */
    for (int len; *s; s += len, n++)
        if (!(len = text_utf8_len(s, 4))) return -1;
    return n;
}

/* ---- printing values the way the Java service does ---- */

static void put_number(strbuf *b, double d)
{
    if (isnan(d)) {
        sb_puts(b, "NaN");
    } else if (isinf(d)) {
        sb_puts(b, d > 0 ? "Infinity" : "-Infinity");
    } else if (d == floor(d) && fabs(d) < 9.2e18) {
        sb_printf(b, "%lld", (long long)d);
    } else {
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back the same */
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d) break;
        }
        sb_puts(b, tmp);
    }
}

/* Render `v` (of shape `sname`, or NULL when unknown) as Java's toString would, bounded. */
static void render(const sm_model *m, strbuf *b, const char *sname, const cJSON *v, int depth)
{
    const cJSON *shape = sname ? model_shape(m, sname) : NULL;
    const cJSON *e;
    int first = 1;

    if (depth > VAL_MAX_DEPTH) {
        sb_puts(b, "...");
    } else if (!v || cJSON_IsNull(v)) {
        sb_puts(b, "null");
    } else if (cJSON_IsString(v)) {
        sb_puts(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        put_number(b, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        sb_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        const char *elem = shape && model_kind(shape) == MK_LIST ? ref_name(shape, "member") : NULL;
        sb_putn(b, "[", 1);
        cJSON_ArrayForEach(e, v)
        {
            if (!first) sb_puts(b, ", ");
            first = 0;
            render(m, b, elem, e, depth + 1);
        }
        sb_putn(b, "]", 1);
    } else if (cJSON_IsObject(v)) {
        enum model_kind k = shape ? model_kind(shape) : MK_MAP;
        const cJSON *members =
            k == MK_STRUCT ? cJSON_GetObjectItemCaseSensitive(shape, "members") : NULL;
        const char *vname = k == MK_MAP && shape ? ref_name(shape, "value") : NULL;
        sb_putn(b, "{", 1);
        if (members) { /* a structure prints its known members, in model order */
            const cJSON *mem;
            cJSON_ArrayForEach(mem, members)
            {
                const cJSON *child = cJSON_GetObjectItemCaseSensitive(v, mem->string);
                if (!child || cJSON_IsNull(child)) continue;
                if (!first) sb_puts(b, ", ");
                first = 0;
                sb_printf(b, "%s=", mem->string);
                render(m, b, ref_name(members, mem->string), child, depth + 1);
            }
        } else {
            cJSON_ArrayForEach(e, v)
            {
                if (!first) sb_puts(b, ", ");
                first = 0;
                sb_printf(b, "%s=", e->string ? e->string : "");
                render(m, b, vname, e, depth + 1);
            }
        }
        sb_putn(b, "}", 1);
    }
}

/* ---- validation items (input mode) ---- */

/*
 * Start one item "Value '<v>' at '<path>' failed to satisfy constraint: " (or "Value null at").
 * Returns 1 when the caller should append the rule text, 0 when the item is only counted.
 */
static int item_begin(struct walk *w, const char *sname, const cJSON *v)
{
    w->nitems++;
    if (w->items.len >= VAL_TEXT_CAP) {
        w->truncated = 1;
        return 0;
    }
    if (w->nitems > 1) sb_puts(&w->items, "; ");
    if (!v || cJSON_IsNull(v)) {
        sb_puts(&w->items, "Value null");
    } else {
        sb_puts(&w->items, "Value '");
        render(w->m, &w->items, sname, v, 0);
        sb_putn(&w->items, "'", 1);
    }
    sb_printf(&w->items, " at '%s' failed to satisfy constraint: ", w->path.p);
    return 1;
}

static int shape_int(const cJSON *shape, const char *key, double *out)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(shape, key);
    if (!cJSON_IsNumber(n)) return 0;
    *out = n->valuedouble;
    return 1;
}

/* The text of one rule of `shape` (one F_ flag). */
static void rule_text(strbuf *b, const cJSON *shape, int flag)
{
    double n = 0;
    const cJSON *e;
    int first = 1;

    switch (flag) {
    case F_PATTERN: {
        /* as the service prints it (anchors included, model_set_printed_patterns), else as
         * the model writes it */
        const cJSON *printed = cJSON_GetObjectItemCaseSensitive(shape, MODEL_PRINTED_PATTERN);
        sb_printf(b, "Member must satisfy regular expression pattern: %s",
                  cJSON_IsString(printed)
                      ? printed->valuestring
                      : cJSON_GetObjectItemCaseSensitive(shape, "pattern")->valuestring);
        break;
    }
    case F_LENMAX:
    case F_LENMIN:
        shape_int(shape, flag == F_LENMAX ? "max" : "min", &n);
        sb_printf(b, "Member must have length %s than or equal to ",
                  flag == F_LENMAX ? "less" : "greater");
        put_number(b, n);
        break;
    case F_VALMAX:
    case F_VALMIN:
        shape_int(shape, flag == F_VALMAX ? "max" : "min", &n);
        sb_printf(b, "Member must have value %s than or equal to ",
                  flag == F_VALMAX ? "less" : "greater");
        put_number(b, n);
        break;
    case F_ENUM:
        sb_puts(b, "Member must satisfy enum value set: [");
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(shape, "enum"))
        {
            if (!first) sb_puts(b, ", ");
            first = 0;
            sb_puts(b, cJSON_IsString(e) ? e->valuestring : "");
        }
        sb_putn(b, "]", 1);
        break;
    }
}

/* The constraints `shape` has (whether or not a value fails them). */
static int constraints_of(const cJSON *shape, enum model_kind k)
{
    int f = 0;
    double n;
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(shape, "pattern"))) f |= F_PATTERN;
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(shape, "enum"))) f |= F_ENUM;
    if (k == MK_STRING || k == MK_LIST || k == MK_MAP) {
        f |= shape_int(shape, "max", &n) ? F_LENMAX : 0;
        f |= shape_int(shape, "min", &n) ? F_LENMIN : 0;
    } else if (k == MK_INTEGER || k == MK_LONG || k == MK_DOUBLE) {
        f |= shape_int(shape, "max", &n) ? F_VALMAX : 0;
        f |= shape_int(shape, "min", &n) ? F_VALMIN : 0;
    }
    return f;
}

static int in_enum(const cJSON *shape, const char *s)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(shape, "enum"))
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0) return 1;
    }
    return 0;
}

/*
 * The failed constraints of a string are a function of its shape and its text alone, and
 * requests repeat texts (role ARNs, images, S3 URIs; a fixture's 100k seed jobs differ in
 * little but their names): each thread keeps the last results, direct-mapped by (model,
 * shape, text), for texts up to MEMO_TEXT bytes. Nothing else is cached: a miss computes.
 */
#define MEMO_SLOTS 128
#define MEMO_TEXT 120
typedef struct memo {
    unsigned long serial; /* model_serial(); 0: empty */
    const cJSON *shape;
    int fails;
    unsigned char len;
    char text[MEMO_TEXT];
} memo;
static __thread memo memos[MEMO_SLOTS];

static memo *memo_slot(const cJSON *shape, const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)(uintptr_t)shape;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return &memos[(h ^ (h >> 29)) % MEMO_SLOTS];
}

static int string_failures_computed(const sm_model *m, const char *sname, const cJSON *shape,
                                    const char *s);

/* Failed constraints of a string (already known to be valid UTF-8); -1 on allocation failure. */
static int string_failures(const sm_model *m, const char *sname, const cJSON *shape, const char *s)
{
    size_t len = strlen(s);
    if (len >= MEMO_TEXT) return string_failures_computed(m, sname, shape, s);
    memo *e = memo_slot(shape, s, len);
    unsigned long serial = model_serial(m);
    if (e->serial == serial && e->shape == shape && e->len == len && memcmp(e->text, s, len) == 0)
        return e->fails;
    int f = string_failures_computed(m, sname, shape, s);
    if (f >= 0) {
        e->serial = serial;
        e->shape = shape;
        e->fails = f;
        e->len = (unsigned char)len;
        memcpy(e->text, s, len);
    }
    return f;
}

static int string_failures_computed(const sm_model *m, const char *sname, const cJSON *shape,
                                    const char *s)
{
    int f = 0, have = constraints_of(shape, MK_STRING);
    double n;
    if (have & F_PATTERN) {
        int r = model_pattern_match(m, sname, s);
        if (r == SM_ENOMEM) return -1;
        if (r == 0) f |= F_PATTERN;
    }
    long len = utf8_count(s);
    if (shape_int(shape, "max", &n) && (double)len > n) f |= F_LENMAX;
    if (shape_int(shape, "min", &n) && (double)len < n) f |= F_LENMIN;
    if ((have & F_ENUM) && !in_enum(shape, s)) f |= F_ENUM;
    return f;
}

/* Failed constraints of a value whose JSON type is already right; -1 on allocation failure. */
static int failures(const sm_model *m, const char *sname, const cJSON *shape, enum model_kind k,
                    const cJSON *v)
{
    double n;
    int f = 0;
    switch (k) {
    case MK_STRING:
        return string_failures(m, sname, shape, v->valuestring);
    case MK_LIST:
    case MK_MAP: {
        int count = cJSON_GetArraySize(v);
        if (shape_int(shape, "max", &n) && (double)count > n) f |= F_LENMAX;
        if (shape_int(shape, "min", &n) && (double)count < n) f |= F_LENMIN;
        return f;
    }
    case MK_INTEGER:
    case MK_LONG:
    case MK_DOUBLE:
        if (shape_int(shape, "max", &n) && v->valuedouble > n) f |= F_VALMAX;
        if (shape_int(shape, "min", &n) && v->valuedouble < n) f |= F_VALMIN;
        return f;
    default:
        return 0;
    }
}

/* One item per failed rule, in the order null (done by the caller), pattern, length, enum,
 * range. */
static void emit_rules(struct walk *w, const char *sname, const cJSON *shape, const cJSON *v,
                       int fails)
{
    static const int order[] = {F_PATTERN, F_LENMAX, F_LENMIN, F_ENUM, F_VALMAX, F_VALMIN};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if ((fails & order[i]) && item_begin(w, sname, v)) rule_text(&w->items, shape, order[i]);
}

/* One item at the collection's path listing every constraint of the element shape. */
static void emit_bracket(struct walk *w, const char *coll_name, const cJSON *coll,
                         const char *prefix, const cJSON *elem_shape, enum model_kind ek,
                         int had_null)
{
    static const int order[] = {F_LENMAX, F_LENMIN, F_VALMAX, F_VALMIN, F_PATTERN, F_ENUM};
    int have = constraints_of(elem_shape, ek), first = 1;
    if (!item_begin(w, coll_name, coll)) return;
    sb_puts(&w->items, prefix);
    sb_putn(&w->items, "[", 1);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(have & order[i])) continue;
        if (!first) sb_puts(&w->items, ", ");
        first = 0;
        rule_text(&w->items, elem_shape, order[i]);
    }
    if (had_null)
        sb_puts(&w->items, first ? "Member must not be null" : ", Member must not be null");
    sb_putn(&w->items, "]", 1);
}

/* ---- JSON types ---- */

static const char *json_kind(const cJSON *v)
{
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsNull(v)) return "null";
    return "an unknown value";
}

static const char *expected(enum model_kind k, int output)
{
    switch (k) {
    case MK_STRUCT:
    case MK_MAP:
        return "an object";
    case MK_LIST:
        return "an array";
    case MK_STRING:
        return "a string";
    case MK_INTEGER:
    case MK_LONG:
        return "an integer";
    case MK_BOOL:
        return "a boolean";
    case MK_DOUBLE:
        return "a number";
    case MK_TIMESTAMP:
        return output ? "a timestamp (epoch seconds as a JSON number)"
                      : "a timestamp (epoch seconds as a number or numeric string)";
    }
    return "a value";
}

static int type_error(struct walk *w, enum model_kind k, const char *got)
{
    if (w->output) return fatal(w, "expected %s, got %s", expected(k, 1), got);
    if (!w->path.len) return fatal(w, "Expected a JSON object as the request body, got %s", got);
    return fatal(w, "Expected %s at '%s', got %s", expected(k, 0), w->path.p, got);
}

/* A numeric string as a timestamp: decimal digits, sign, point, exponent; finite. */
static int numeric_string(const char *s)
{
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s)) return 0;
    char *end;
    double d = strtod(s, &end);
    return *end == '\0' && isfinite(d);
}

/* Is `v` (not null) of the JSON type shape kind `k` needs? Sets the fatal message if not. */
static int check_type(struct walk *w, enum model_kind k, const cJSON *v)
{
    int ok = 0;
    const char *got = json_kind(v);
    switch (k) {
    case MK_STRUCT:
    case MK_MAP:
        ok = cJSON_IsObject(v);
        break;
    case MK_LIST:
        ok = cJSON_IsArray(v);
        break;
    case MK_STRING:
        ok = cJSON_IsString(v);
        break;
    case MK_BOOL:
        ok = cJSON_IsBool(v);
        break;
    case MK_INTEGER:
    case MK_LONG:
        ok = cJSON_IsNumber(v);
        if (ok) {
            double d = v->valuedouble;
            double lo = k == MK_INTEGER ? (double)INT32_MIN : -9223372036854775808.0;
            double hi = k == MK_INTEGER ? (double)INT32_MAX : 9223372036854775807.0;
            if (!isfinite(d) || d < lo || d > hi || (k == MK_LONG && d >= 9223372036854775808.0)) {
                ok = 0;
                got = k == MK_INTEGER ? "a number out of the 32-bit integer range"
                                      : "a number out of the 64-bit integer range";
            } else if (d != floor(d)) {
                ok = 0;
                got = "a fractional number";
            }
        }
        break;
    case MK_DOUBLE:
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (cJSON_IsNumber(v) && !ok) got = "a number that is not finite";
        break;
    case MK_TIMESTAMP:
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (cJSON_IsNumber(v) && !ok) got = "a number that is not finite";
        if (!w->output && cJSON_IsString(v)) {
            ok = numeric_string(v->valuestring);
            got = "a string that is not a number";
        }
        break;
    }
    if (!ok) return type_error(w, k, got);
    if (k == MK_STRING && utf8_count(v->valuestring) < 0)
        return w->output ? fatal(w, "the string is not valid UTF-8")
                         : fatal(w, "Invalid UTF-8 in the string at '%s'", w->path.p);
    return 0;
}

/* ---- the walk ---- */

static int walk(struct walk *w, const char *sname, const cJSON *v, int depth);

/* A scalar member of a structure (type already checked). */
static int check_scalar(struct walk *w, const char *sname, const cJSON *shape, enum model_kind k,
                        const cJSON *v)
{
    if (w->output) {
        if (k == MK_STRING && (constraints_of(shape, k) & F_ENUM) &&
            !in_enum(shape, v->valuestring))
            return fatal(w, "'%s' is not a value of the enum %s", v->valuestring, sname);
        return 0;
    }
    int f = failures(w->m, sname, shape, k, v);
    if (f < 0) {
        w->items.oom = 1;
        return 1;
    }
    emit_rules(w, sname, shape, v, f);
    return stopped(w);
}

/*
 * The elements (list) or values (map) of a collection. Scalars are type-checked and their
 * failures folded into one bracket item by the caller (*bad, *had_null); structures, lists and
 * maps are walked with their own paths.
 */
static int walk_element(struct walk *w, const char *ename, const cJSON *eshape, const cJSON *e,
                        int depth, int *bad, int *had_null)
{
    enum model_kind ek = model_kind(eshape);
    if (cJSON_IsNull(e)) {
        if (w->output) return fatal(w, "null is not allowed");
        if (is_scalar(ek)) {
            *had_null = 1;
        } else if (item_begin(w, ename, NULL)) {
            sb_puts(&w->items, "Member must not be null");
        }
        return stopped(w);
    }
    if (!is_scalar(ek)) return walk(w, ename, e, depth + 1);
    if (check_type(w, ek, e)) return 1;
    if (w->output) return check_scalar(w, ename, eshape, ek, e);
    int f = failures(w->m, ename, eshape, ek, e);
    if (f < 0) {
        w->items.oom = 1;
        return 1;
    }
    if (f) *bad = 1;
    return 0;
}

static int walk_struct(struct walk *w, const cJSON *shape, const cJSON *v, int depth)
{
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(shape, "members");
    const cJSON *m;

    cJSON_ArrayForEach(m, members)
    {
        const cJSON *child = cJSON_GetObjectItemCaseSensitive(v, m->string);
        /* an absent optional member needs neither its path nor its shape */
        if (!child && !is_required(shape, m->string)) continue;
        size_t mark = path_member(w, m->string);
        if (!child || cJSON_IsNull(child)) {
            if (w->output && child)
                fatal(w, "null is not allowed (omit the member instead)");
            else if (w->output && is_required(shape, m->string))
                fatal(w, "the required member is missing");
            else if (!w->output && is_required(shape, m->string) && item_begin(w, NULL, NULL))
                sb_puts(&w->items, "Member must not be null");
        } else {
            const cJSON *ref = cJSON_GetObjectItemCaseSensitive(m, "shape"); /* members[name] */
            walk(w, cJSON_IsString(ref) ? ref->valuestring : NULL, child, depth + 1);
        }
        path_reset(w, mark);
        if (stopped(w)) return 1;
    }
    if (w->output) {
        cJSON_ArrayForEach(m, v)
        {
            if (!cJSON_GetObjectItemCaseSensitive(members, m->string)) {
                path_member(w, m->string ? m->string : "");
                return fatal(w, "member not in the model");
            }
        }
    }
    return 0;
}

static int walk_list(struct walk *w, const char *sname, const cJSON *shape, const cJSON *v,
                     int depth)
{
    const char *ename = ref_name(shape, "member");
    const cJSON *eshape = model_shape(w->m, ename);
    const cJSON *e;
    int i = 0, bad = 0, had_null = 0;

    if (!w->output) emit_rules(w, sname, shape, v, failures(w->m, sname, shape, MK_LIST, v));
    cJSON_ArrayForEach(e, v)
    {
        size_t mark = path_index(w, i++);
        walk_element(w, ename, eshape, e, depth, &bad, &had_null);
        path_reset(w, mark);
        if (stopped(w)) return 1;
    }
    if (bad || had_null)
        emit_bracket(w, sname, v, "Member must satisfy constraint: ", eshape, model_kind(eshape),
                     had_null);
    return stopped(w);
}

static int walk_map(struct walk *w, const char *sname, const cJSON *shape, const cJSON *v,
                    int depth)
{
    const char *kname = ref_name(shape, "key"), *vname = ref_name(shape, "value");
    const cJSON *kshape = model_shape(w->m, kname), *vshape = model_shape(w->m, vname);
    const cJSON *e;
    int kbad = 0, vbad = 0, had_null = 0;

    if (!w->output) emit_rules(w, sname, shape, v, failures(w->m, sname, shape, MK_MAP, v));
    cJSON_ArrayForEach(e, v)
    {
        const char *key = e->string ? e->string : "";
        size_t mark = path_key(w, key);
        if (utf8_count(key) < 0) {
            if (w->output)
                fatal(w, "the key is not valid UTF-8");
            else
                fatal(w, "Invalid UTF-8 in a key of the map at '%.*s'", (int)mark, w->path.p);
        } else if (w->output) {
            if ((constraints_of(kshape, MK_STRING) & F_ENUM) && !in_enum(kshape, key))
                fatal(w, "the key is not a value of the enum %s", kname);
        } else {
            int f = string_failures(w->m, kname, kshape, key);
            if (f < 0)
                w->items.oom = 1;
            else if (f)
                kbad = 1;
        }
        if (!stopped(w)) walk_element(w, vname, vshape, e, depth, &vbad, &had_null);
        path_reset(w, mark);
        if (stopped(w)) return 1;
    }
    if (kbad) emit_bracket(w, sname, v, "Map keys must satisfy constraint: ", kshape, MK_STRING, 0);
    if (vbad || had_null)
        emit_bracket(w, sname, v, "Map value must satisfy constraint: ", vshape, model_kind(vshape),
                     had_null);
    return stopped(w);
}

/* Walk value `v` (present, not null) of shape `sname`. Returns 1 when the walk must unwind. */
static int walk(struct walk *w, const char *sname, const cJSON *v, int depth)
{
    const cJSON *shape = model_shape(w->m, sname);
    if (!shape) return fatal(w, "the model has no shape %s", sname ? sname : "(null)");
    if (depth > VAL_MAX_DEPTH)
        return w->output
                   ? fatal(w, "nested deeper than %d levels", VAL_MAX_DEPTH)
                   : fatal(w, "Nested deeper than %d levels at '%s'", VAL_MAX_DEPTH, w->path.p);
    enum model_kind k = model_kind(shape);
    if (check_type(w, k, v)) return 1;
    switch (k) {
    case MK_STRUCT:
        return walk_struct(w, shape, v, depth);
    case MK_LIST:
        return walk_list(w, sname, shape, v, depth);
    case MK_MAP:
        return walk_map(w, sname, shape, v, depth);
    default:
        return check_scalar(w, sname, shape, k, v);
    }
}

static void walk_free(struct walk *w)
{
    free(w->path.p);
    free(w->items.p);
    free(w->fatal.p);
}

/* Run the walk from the top; the shape must be a structure. Returns 0, SM_EINVAL or SM_ENOMEM. */
static int walk_top(struct walk *w, const char *shape_name, const cJSON *v)
{
    const cJSON *shape = model_shape(w->m, shape_name);
    if (!shape || model_kind(shape) != MK_STRUCT) return SM_EINVAL;
    sb_putn(&w->path, "", 0); /* path.p is never NULL from here on */
    if (!v || !cJSON_IsObject(v))
        type_error(w, MK_STRUCT, json_kind(v));
    else
        walk(w, shape_name, v, 0);
    return oom(w) ? SM_ENOMEM : 0;
}

int val_input(const sm_model *m, const char *shape_name, const cJSON *input, char **message)
{
    struct walk w = {0};
    w.m = m;
    strbuf out = {0};
    int rc;

    if (!message) return SM_EINVAL;
    *message = NULL;
    rc = walk_top(&w, shape_name, input);
    if (rc == 0 && w.stop) {
        *message = w.fatal.p;
        w.fatal.p = NULL;
        rc = VAL_SERIALIZATION;
    } else if (rc == 0 && w.nitems) {
        sb_printf(&out, "%d validation error%s detected: ", w.nitems, w.nitems == 1 ? "" : "s");
        sb_puts(&out, w.items.p);
        if (w.truncated) sb_puts(&out, "; (further errors omitted)");
        if (out.oom) {
            free(out.p);
            rc = SM_ENOMEM;
        } else {
            *message = out.p;
            rc = VAL_VALIDATION;
        }
    }
    walk_free(&w);
    return rc;
}

int val_member_ok(const sm_model *m, const char *shape_name, const char *member, const cJSON *value)
{
    const cJSON *shape = model_shape(m, shape_name);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(shape, "members"), member);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    if (!cJSON_IsString(name) || !value || cJSON_IsNull(value)) return 0;
    struct walk w = {0};
    w.m = m;
    sb_putn(&w.path, "", 0);
    path_member(&w, member);
    walk(&w, name->valuestring, value, 1);
    int ok = !w.stop && w.nitems == 0 && !oom(&w);
    walk_free(&w);
    return ok;
}

int val_output(const sm_model *m, const char *shape_name, const cJSON *output, char **problem)
{
    struct walk w = {0};
    w.m = m;
    int rc;

    if (!problem) return SM_EINVAL;
    *problem = NULL;
    w.output = 1;
    rc = walk_top(&w, shape_name, output);
    if (rc == 0 && w.stop) {
        *problem = w.fatal.p;
        w.fatal.p = NULL;
        rc = 1;
    }
    walk_free(&w);
    return rc;
}
