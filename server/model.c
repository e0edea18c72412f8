/*
 * model.c: load the embedded SageMaker service model, index it, compile its patterns.
 *
 * model_load() parses model_service_json (generated into model_data.c by embed.cmake) with
 * cJSON, builds two sorted indexes (shapes, operations) searched by binary search, checks that
 * every shape a member, list, map or operation names exists and has a type we understand, and
 * compiles every `pattern` once with PCRE2.
 *
 * The patterns are Java regular expressions (java.util.regex, as the service's Coral validator
 * uses them). We keep Java's meaning, not PCRE2's:
 *   - whole-value match: compiled with PCRE2_ANCHORED | PCRE2_ENDANCHORED, so "job\n" does not
 *     match `[a-zA-Z0-9]+` (a `^(?:...)$` wrapper would let `$` match before a final newline);
 *   - PCRE2_UTF but *not* PCRE2_UCP: in Java \d \w \s and the POSIX classes are ASCII-only while
 *     \p{L} \p{N} \p{Z} are Unicode. Without UCP PCRE2 behaves the same way (\p{..} is always
 *     Unicode in UTF mode). With UCP, "١٢٣" would satisfy \d{3} in RoleArn; Java refuses it;
 *   - Java's POSIX property classes (\p{Alnum}, \p{Alpha}, ..., and \P{..}) are rewritten as
 *     [:alnum:] inside a bracket class and [[:alnum:]] outside (ASCII without UCP, as in Java);
 *   - `.` outside a class is rewritten as [^\n\r\x{85}\x{2028}\x{2029}]: Java's dot excludes every
 *     line terminator, PCRE2's only \n;
 *   - a nested class ([a[b]], Java's union) has no PCRE2 equivalent and is refused at load.
 * A match that exceeds the match limit (catastrophic backtracking), or a subject that is not
 * valid UTF-8, counts as "does not match".
 *
 * Must not: print, exit, or change anything after model_load() returns; model_load() and
 * model_free() are start-up/shut-down calls, not thread-safe, and must not race with lookups.
 * Invariants after a successful load: every index entry borrows from m_root, which lives until
 * model_free(); every shape with a pattern has a compiled code; lookups and matches touch only
 * read-only data (a pcre2_code and the match context are safe to share between threads; each
 * match allocates its own match data).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "strbuf.h"

#define MODEL_MATCH_LIMIT 1000000u /* backtracking steps per match before we give up */

struct mshape {
    const char *name;   /* borrowed from m_root */
    const cJSON *shape; /* borrowed from m_root */
    pcre2_code *re;     /* owned; NULL when the shape has no pattern */
};

struct mop {
    const char *name;
    const cJSON *op;
};

static cJSON *m_root;
static struct mshape *m_shapes;
static size_t m_nshapes;
static struct mop *m_ops;
static size_t m_nops;
static pcre2_match_context *m_mctx;
static char m_err[512] = "model not loaded";

/* Java's POSIX character classes (US-ASCII only, like PCRE2's POSIX classes without UCP). */
static const struct {
    const char *java;
    const char *posix;
} posix_classes[] = {{"ASCII", "ascii"},   {"Alnum", "alnum"}, {"Alpha", "alpha"},
                     {"Blank", "blank"},   {"Cntrl", "cntrl"}, {"Digit", "digit"},
                     {"Graph", "graph"},   {"Lower", "lower"}, {"Print", "print"},
                     {"Punct", "punct"},   {"Space", "space"}, {"Upper", "upper"},
                     {"XDigit", "xdigit"}, {NULL, NULL}};

static const char *posix_class(const char *name, size_t n)
{
    for (int i = 0; posix_classes[i].java; i++)
        if (strlen(posix_classes[i].java) == n && memcmp(posix_classes[i].java, name, n) == 0)
            return posix_classes[i].posix;
    return NULL;
}

/*
 * Rewrite a Java pattern into PCRE2 syntax with the same meaning (see the file comment).
 * Returns a malloc'd string, or NULL with *why set (allocation failure or unsupported syntax).
 */
static char *rewrite_java(const char *pat, const char **why)
{
    strbuf b = {0};
    int in_class = 0;
    size_t class_first = 0; /* index where a ']' is still literal (right after '[' or '[^') */
    size_t n = strlen(pat);

    sb_putn(&b, "", 0);
    for (size_t i = 0; i < n && !b.oom; i++) {
        char c = pat[i];
        if (c == '\\') {
            if (i + 1 >= n) {
                sb_putn(&b, &c, 1); /* trailing backslash: let PCRE2 report it */
                continue;
            }
            char e = pat[i + 1];
            if (e == 'Q') { /* \Q...\E: copy verbatim, PCRE2 has the same quoting */
                const char *end = strstr(pat + i + 2, "\\E");
                size_t stop = end ? (size_t)(end - pat) + 2 : n;
                sb_putn(&b, pat + i, stop - i);
                i = stop - 1;
                continue;
            }
            if ((e == 'p' || e == 'P') && i + 2 < n && pat[i + 2] == '{') {
                const char *close = strchr(pat + i + 3, '}');
                const char *posix =
                    close ? posix_class(pat + i + 3, (size_t)(close - (pat + i + 3))) : NULL;
                if (posix) {
                    const char *neg = e == 'P' ? "^" : "";
                    if (in_class) {
                        sb_puts(&b, "[:");
                        sb_puts(&b, neg);
                        sb_puts(&b, posix);
                        sb_puts(&b, ":]");
                    } else {
                        sb_puts(&b, "[");
                        sb_puts(&b, neg);
                        sb_puts(&b, "[:");
                        sb_puts(&b, posix);
                        sb_puts(&b, ":]]");
                    }
                    i = (size_t)(close - pat);
                    continue;
                }
            }
            sb_putn(&b, pat + i, 2);
            i++;
            continue;
        }
        if (in_class) {
            if (c == '[') {
                *why = "nested character classes (Java unions) are not supported";
                free(b.p);
                return NULL;
            }
            if (c == ']' && i != class_first) in_class = 0;
            sb_putn(&b, &c, 1);
            continue;
        }
        if (c == '[') {
            in_class = 1;
            sb_putn(&b, &c, 1);
            if (i + 1 < n && pat[i + 1] == '^') {
                sb_putn(&b, "^", 1);
                i++;
            }
            class_first = i + 1;
            continue;
        }
        if (c == '.') {
            sb_puts(&b, "[^\\n\\r\\x{85}\\x{2028}\\x{2029}]");
            continue;
        }
        sb_putn(&b, &c, 1);
    }
    if (b.oom) {
        free(b.p);
        *why = "out of memory";
        return NULL;
    }
    return b.p;
}

/* ---- indexes ---- */

static int cmp_shape(const void *a, const void *b)
{
    return strcmp(((const struct mshape *)a)->name, ((const struct mshape *)b)->name);
}

static int cmp_op(const void *a, const void *b)
{
    return strcmp(((const struct mop *)a)->name, ((const struct mop *)b)->name);
}

static const struct mshape *find_shape(const char *name)
{
    if (!name || !m_shapes) return NULL;
    struct mshape key = {name, NULL, NULL};
    return bsearch(&key, m_shapes, m_nshapes, sizeof *m_shapes, cmp_shape);
}

static const struct mop *find_op(const char *name)
{
    if (!name || !m_ops) return NULL;
    struct mop key = {name, NULL};
    return bsearch(&key, m_ops, m_nops, sizeof *m_ops, cmp_op);
}

/* Record why the load failed, undo everything, return SM_ERR. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m_err, sizeof m_err, fmt, ap);
    va_end(ap);
    model_free();
    return SM_ERR;
}

/* A `{"shape": "Name"}` reference held by `holder` under `key` must name a known shape. */
static const struct mshape *check_ref(const cJSON *holder, const char *key)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(holder, key);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? find_shape(name->valuestring) : NULL;
}

static int check_shape(const struct mshape *s)
{
    static const char *const types[] = {"structure", "list",      "map",     "string",
                                        "integer",   "long",      "boolean", "float",
                                        "double",    "timestamp", "blob",    NULL};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s->shape, "type");
    int known = 0;
    if (cJSON_IsString(type))
        for (int i = 0; types[i]; i++)
            known |= strcmp(type->valuestring, types[i]) == 0;
    if (!known) return fail("shape %s has an unknown type", s->name);
    const char *t = type->valuestring;
    if (strcmp(t, "structure") == 0) {
        const cJSON *members = cJSON_GetObjectItemCaseSensitive(s->shape, "members");
        const cJSON *m;
        if (!cJSON_IsObject(members)) return fail("structure %s has no members object", s->name);
        cJSON_ArrayForEach(m, members)
        {
            if (!check_ref(members, m->string))
                return fail("member %s.%s names an unknown shape", s->name, m->string);
        }
    } else if (strcmp(t, "list") == 0) {
        if (!check_ref(s->shape, "member"))
            return fail("list %s names an unknown member shape", s->name);
    } else if (strcmp(t, "map") == 0) {
        const struct mshape *ks = check_ref(s->shape, "key");
        if (!ks || !check_ref(s->shape, "value"))
            return fail("map %s names an unknown key or value shape", s->name);
        const cJSON *kt = cJSON_GetObjectItemCaseSensitive(ks->shape, "type");
        if (!cJSON_IsString(kt) || strcmp(kt->valuestring, "string") != 0)
            return fail("map %s has a key shape that is not a string", s->name);
    }
    return 0;
}

static int compile_pattern(struct mshape *s)
{
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s->shape, "pattern");
    if (!pat) return 0;
    if (!cJSON_IsString(pat)) return fail("shape %s has a pattern that is not a string", s->name);
    const char *why = NULL;
    char *re = rewrite_java(pat->valuestring, &why);
    if (!re) {
        return fail("pattern of shape %s: %s", s->name, why);
    }
    int err = 0;
    PCRE2_SIZE off = 0;
    s->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off, NULL);
    free(re);
    if (!s->re) {
        PCRE2_UCHAR text[160];
        pcre2_get_error_message(err, text, sizeof text);
        return fail("pattern of shape %s does not compile: %s (offset %zu after rewriting)",
                    s->name, (const char *)text, (size_t)off);
    }
    return 0;
}

int model_load(void)
{
    if (m_root) return SM_OK;
    m_root = cJSON_Parse(model_service_json);
    if (!m_root) return fail("the embedded model is not valid JSON (or out of memory)");
    const cJSON *shapes = cJSON_GetObjectItemCaseSensitive(m_root, "shapes");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(m_root, "operations");
    if (!cJSON_IsObject(shapes) || !cJSON_IsObject(ops))
        return fail("the embedded model has no shapes or operations");

    int ns = cJSON_GetArraySize(shapes), no = cJSON_GetArraySize(ops);
    m_shapes = calloc(ns > 0 ? (size_t)ns : 1, sizeof *m_shapes);
    m_ops = calloc(no > 0 ? (size_t)no : 1, sizeof *m_ops);
    m_mctx = pcre2_match_context_create(NULL);
    if (!m_shapes || !m_ops || !m_mctx) return fail("out of memory");
    pcre2_set_match_limit(m_mctx, MODEL_MATCH_LIMIT);

    const cJSON *it;
    cJSON_ArrayForEach(it, shapes)
    {
        if (!cJSON_IsObject(it)) return fail("shape %s is not an object", it->string);
        m_shapes[m_nshapes].name = it->string;
        m_shapes[m_nshapes].shape = it;
        m_nshapes++;
    }
    cJSON_ArrayForEach(it, ops)
    {
        if (!cJSON_IsObject(it)) return fail("operation %s is not an object", it->string);
        m_ops[m_nops].name = it->string;
        m_ops[m_nops].op = it;
        m_nops++;
    }
    qsort(m_shapes, m_nshapes, sizeof *m_shapes, cmp_shape);
    qsort(m_ops, m_nops, sizeof *m_ops, cmp_op);
    for (size_t i = 1; i < m_nshapes; i++)
        if (strcmp(m_shapes[i - 1].name, m_shapes[i].name) == 0)
            return fail("shape %s is defined twice", m_shapes[i].name);

    for (size_t i = 0; i < m_nshapes; i++) {
        if (check_shape(&m_shapes[i]) != 0 || compile_pattern(&m_shapes[i]) != 0)
            return SM_ERR; /* fail() already freed everything */
    }
    for (size_t i = 0; i < m_nops; i++) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(m_ops[i].op, "input");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(m_ops[i].op, "output");
        if ((in && !check_ref(m_ops[i].op, "input")) || (out && !check_ref(m_ops[i].op, "output")))
            return fail("operation %s names an unknown shape", m_ops[i].name);
    }
    m_err[0] = '\0';
    return SM_OK;
}

const char *model_error(void)
{
    return m_err;
}

void model_free(void)
{
    for (size_t i = 0; m_shapes && i < m_nshapes; i++)
        pcre2_code_free(m_shapes[i].re);
    free(m_shapes);
    free(m_ops);
    pcre2_match_context_free(m_mctx);
    cJSON_Delete(m_root);
    m_shapes = NULL;
    m_ops = NULL;
    m_mctx = NULL;
    m_root = NULL;
    m_nshapes = m_nops = 0;
}

const cJSON *model_shape(const char *name)
{
    const struct mshape *s = find_shape(name);
    return s ? s->shape : NULL;
}

const cJSON *model_operation(const char *op)
{
    const struct mop *o = find_op(op);
    return o ? o->op : NULL;
}

static const char *op_shape(const char *op, const char *which)
{
    const struct mop *o = find_op(op);
    if (!o) return NULL;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o->op, which);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? name->valuestring : NULL;
}

const char *model_input_shape(const char *op)
{
    return op_shape(op, "input");
}

const char *model_output_shape(const char *op)
{
    return op_shape(op, "output");
}

/*
 * 1 when the whole of `s` matches, 0 when it does not (including invalid UTF-8 and a match
 * that hit the backtracking limit), -1 when the shape is unknown or has no pattern, and
 * SM_ENOMEM (-2) when the per-call match data cannot be allocated.
 */
int model_pattern_match(const char *shape_name, const char *s)
{
    const struct mshape *sh = find_shape(shape_name);
    if (!sh || !sh->re) return -1;
    if (!s) return 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return SM_ENOMEM;
    int rc = pcre2_match(sh->re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, m_mctx);
    pcre2_match_data_free(md);
    return rc >= 0 ? 1 : 0;
}
