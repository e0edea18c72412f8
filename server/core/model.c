/*
 * model.c: load an embedded AWS service model, index it, compile its patterns.
 *
 * model_load() parses one service's model JSON (embedded by embed.cmake) with cJSON, builds
 * two sorted indexes (shapes, operations) searched by binary search, checks that
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
 *   - Java's \uXXXX (exactly four hex digits) becomes \x{XXXX};
 *   - a nested class ([a[b]], Java's union) has no PCRE2 equivalent and is refused at load.
 * A match that exceeds the match limit (catastrophic backtracking), or a subject that is not
 * valid UTF-8, counts as "does not match".
 *
 * Must not: print, exit, or change anything after model_load() returns; model_load() and
 * model_free() are start-up/shut-down calls, not thread-safe, and must not race with lookups.
 * Invariants after a successful load: every index entry borrows from the model's root, which lives
 * until model_free(); every shape with a pattern has a compiled code; lookups and matches touch
 * only read-only data (a pcre2_code and the match context are safe to share between threads; each
 * match allocates its own match data).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "strbuf.h"
#include "tcache.h"

#define MODEL_MATCH_LIMIT 1000000u /* backtracking steps per match before we give up */

struct mshape {
    const char *name;   /* borrowed from the model root */
    const cJSON *shape; /* borrowed from the model root */
    pcre2_code *re;     /* owned; NULL when the shape has no pattern */
    atomic_int jit;     /* re has been through the JIT compiler (see model_pattern_match) */
};

struct mop {
    const char *name;
    const cJSON *op;
};

struct sm_model {
    cJSON *root;
    struct mshape *shapes;
    size_t nshapes;
    struct mop *ops;
    size_t nops;
    pcre2_match_context *mctx;
    unsigned long serial; /* model_serial() */
};

static atomic_ulong models_loaded;

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
            if (e == 'u' && i + 5 < n && strspn(pat + i + 2, "0123456789abcdefABCDEF") >= 4) {
                /* Java's \uXXXX: exactly four hex digits (STS's "\u10000" is U+1000 then "0") */
                sb_puts(&b, "\\x{");
                sb_putn(&b, pat + i + 2, 4);
                sb_puts(&b, "}");
                i += 5;
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

static const struct mshape *find_shape(const sm_model *m, const char *name)
{
    if (!name || !m || !m->shapes) return NULL;
    struct mshape key = {.name = name};
    return bsearch(&key, m->shapes, m->nshapes, sizeof *m->shapes, cmp_shape);
}

static const struct mop *find_op(const sm_model *m, const char *name)
{
    if (!name || !m || !m->ops) return NULL;
    struct mop key = {name, NULL};
    return bsearch(&key, m->ops, m->nops, sizeof *m->ops, cmp_op);
}

/* The load in progress: the model being built and where to say why it failed. */
struct load {
    sm_model *m;
    char *err;
    size_t errlen;
};

/* Record why the load failed, return SM_ERR (model_load frees the half-built model). */
__attribute__((format(printf, 2, 3))) static int fail(struct load *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (l->errlen) vsnprintf(l->err, l->errlen, fmt, ap);
    va_end(ap);
    return SM_ERR;
}

/* A `{"shape": "Name"}` reference held by `holder` under `key` must name a known shape. */
static const struct mshape *check_ref(const sm_model *m, const cJSON *holder, const char *key)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(holder, key);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? find_shape(m, name->valuestring) : NULL;
}

static int check_shape(struct load *l, const struct mshape *s)
{
    static const char *const types[] = {"structure", "list",      "map",     "string",
                                        "integer",   "long",      "boolean", "float",
                                        "double",    "timestamp", "blob",    NULL};
    const sm_model *m = l->m;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s->shape, "type");
    int known = 0;
    if (cJSON_IsString(type))
        for (int i = 0; types[i]; i++)
            known |= strcmp(type->valuestring, types[i]) == 0;
    if (!known) return fail(l, "shape %s has an unknown type", s->name);
    const char *t = type->valuestring;
    if (strcmp(t, "structure") == 0) {
        const cJSON *members = cJSON_GetObjectItemCaseSensitive(s->shape, "members");
        const cJSON *mem;
        if (!cJSON_IsObject(members)) return fail(l, "structure %s has no members object", s->name);
        cJSON_ArrayForEach(mem, members)
        {
            if (!check_ref(m, members, mem->string))
                return fail(l, "member %s.%s names an unknown shape", s->name, mem->string);
        }
    } else if (strcmp(t, "list") == 0) {
        if (!check_ref(m, s->shape, "member"))
            return fail(l, "list %s names an unknown member shape", s->name);
    } else if (strcmp(t, "map") == 0) {
        const struct mshape *ks = check_ref(m, s->shape, "key");
        if (!ks || !check_ref(m, s->shape, "value"))
            return fail(l, "map %s names an unknown key or value shape", s->name);
        const cJSON *kt = cJSON_GetObjectItemCaseSensitive(ks->shape, "type");
        if (!cJSON_IsString(kt) || strcmp(kt->valuestring, "string") != 0)
            return fail(l, "map %s has a key shape that is not a string", s->name);
    }
    return 0;
}

static int compile_pattern(struct load *l, struct mshape *s)
{
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s->shape, "pattern");
    if (!pat) return 0;
    if (!cJSON_IsString(pat))
        return fail(l, "shape %s has a pattern that is not a string", s->name);
    const char *why = NULL;
    char *re = rewrite_java(pat->valuestring, &why);
    if (!re) return fail(l, "pattern of shape %s: %s", s->name, why);
    int err = 0;
    PCRE2_SIZE off = 0;
    s->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off, NULL);
    free(re);
    if (!s->re) {
        PCRE2_UCHAR text[160];
        pcre2_get_error_message(err, text, sizeof text);
        return fail(l, "pattern of shape %s does not compile: %s (offset %zu after rewriting)",
                    s->name, (const char *)text, (size_t)off);
    }
    return 0;
}

static int load_into(struct load *l, const char *json)
{
    sm_model *m = l->m;
    m->root = cJSON_Parse(json);
    if (!m->root) return fail(l, "the embedded model is not valid JSON (or out of memory)");
    const cJSON *shapes = cJSON_GetObjectItemCaseSensitive(m->root, "shapes");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(m->root, "operations");
    if (!cJSON_IsObject(shapes) || !cJSON_IsObject(ops))
        return fail(l, "the embedded model has no shapes or operations");

    int ns = cJSON_GetArraySize(shapes), no = cJSON_GetArraySize(ops);
    m->shapes = calloc(ns > 0 ? (size_t)ns : 1, sizeof *m->shapes);
    m->ops = calloc(no > 0 ? (size_t)no : 1, sizeof *m->ops);
    m->mctx = pcre2_match_context_create(NULL);
    if (!m->shapes || !m->ops || !m->mctx) return fail(l, "out of memory");
    pcre2_set_match_limit(m->mctx, MODEL_MATCH_LIMIT);

    const cJSON *it;
    cJSON_ArrayForEach(it, shapes)
    {
        if (!cJSON_IsObject(it)) return fail(l, "shape %s is not an object", it->string);
        m->shapes[m->nshapes].name = it->string;
        m->shapes[m->nshapes].shape = it;
        m->nshapes++;
    }
    cJSON_ArrayForEach(it, ops)
    {
        if (!cJSON_IsObject(it)) return fail(l, "operation %s is not an object", it->string);
        m->ops[m->nops].name = it->string;
        m->ops[m->nops].op = it;
        m->nops++;
    }
    qsort(m->shapes, m->nshapes, sizeof *m->shapes, cmp_shape);
    qsort(m->ops, m->nops, sizeof *m->ops, cmp_op);
    for (size_t i = 1; i < m->nshapes; i++)
        if (strcmp(m->shapes[i - 1].name, m->shapes[i].name) == 0)
            return fail(l, "shape %s is defined twice", m->shapes[i].name);

    for (size_t i = 0; i < m->nshapes; i++) {
        if (check_shape(l, &m->shapes[i]) != 0 || compile_pattern(l, &m->shapes[i]) != 0)
            return SM_ERR;
    }
    for (size_t i = 0; i < m->nops; i++) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(m->ops[i].op, "input");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(m->ops[i].op, "output");
        if ((in && !check_ref(m, m->ops[i].op, "input")) ||
            (out && !check_ref(m, m->ops[i].op, "output")))
            return fail(l, "operation %s names an unknown shape", m->ops[i].name);
    }
    return SM_OK;
}

sm_model *model_load(const char *json, char *err, size_t errlen)
{
    struct load l = {calloc(1, sizeof(sm_model)), err, errlen};
    if (!l.m) {
        fail(&l, "out of memory");
        return NULL;
    }
    if (load_into(&l, json) != SM_OK) {
        model_free(l.m);
        return NULL;
    }
    if (errlen) err[0] = '\0';
    l.m->serial = atomic_fetch_add(&models_loaded, 1) + 1;
    return l.m;
}

unsigned long model_serial(const sm_model *m)
{
    return m->serial;
}

void model_free(sm_model *m)
{
    if (!m) return;
    for (size_t i = 0; m->shapes && i < m->nshapes; i++)
        pcre2_code_free(m->shapes[i].re);
    free(m->shapes);
    free(m->ops);
    pcre2_match_context_free(m->mctx);
    cJSON_Delete(m->root);
    free(m);
}

const cJSON *model_metadata(const sm_model *m, const char *key)
{
    const cJSON *md = m ? cJSON_GetObjectItemCaseSensitive(m->root, "metadata") : NULL;
    return cJSON_GetObjectItemCaseSensitive(md, key);
}

const cJSON *model_shape(const sm_model *m, const char *name)
{
    const struct mshape *s = find_shape(m, name);
    return s ? s->shape : NULL;
}

const cJSON *model_operation(const sm_model *m, const char *op)
{
    const struct mop *o = find_op(m, op);
    return o ? o->op : NULL;
}

static const char *op_shape(const sm_model *m, const char *op, const char *which)
{
    const struct mop *o = find_op(m, op);
    if (!o) return NULL;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o->op, which);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ref, "shape");
    return cJSON_IsString(name) ? name->valuestring : NULL;
}

const char *model_input_shape(const sm_model *m, const char *op)
{
    return op_shape(m, op, "input");
}

const char *model_output_shape(const sm_model *m, const char *op)
{
    return op_shape(m, op, "output");
}

const char *model_result_wrapper(const sm_model *m, const char *op)
{
    const struct mop *o = find_op(m, op);
    const cJSON *out = o ? cJSON_GetObjectItemCaseSensitive(o->op, "output") : NULL;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(out, "resultWrapper");
    return cJSON_IsString(w) ? w->valuestring : NULL;
}

/* The error shape whose wire code is `code`, or NULL. Error shapes are structures marked
 * "exception"; the wire code is error.code when given (IAM's NoSuchEntityException says
 * "NoSuchEntity"), else the shape's name. */
static const cJSON *error_shape(const sm_model *m, const char *code)
{
    for (size_t i = 0; m && code && i < m->nshapes; i++) {
        const cJSON *s = m->shapes[i].shape;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "exception"))) continue;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "error");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const char *wire = cJSON_IsString(c) ? c->valuestring : m->shapes[i].name;
        if (strcmp(wire, code) == 0) return s;
    }
    return NULL;
}

int model_error_status(const sm_model *m, const char *code, int *sender)
{
    const cJSON *s = error_shape(m, code);
    if (!s) return 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "error");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "httpStatusCode");
    if (sender) *sender = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "senderFault"));
    return cJSON_IsNumber(st) ? st->valueint : 400;
}

const char *model_error_message_member(const sm_model *m, const char *code)
{
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(error_shape(m, code), "members");
    if (cJSON_GetObjectItemCaseSensitive(members, "Message")) return "Message";
    if (cJSON_GetObjectItemCaseSensitive(members, "message")) return "message";
    return NULL;
}

enum model_kind model_kind(const cJSON *shape)
{
    static const struct {
        const char *name;
        enum model_kind kind;
    } kinds[] = {{"structure", MK_STRUCT}, {"list", MK_LIST},          {"map", MK_MAP},
                 {"string", MK_STRING},    {"blob", MK_STRING},        {"integer", MK_INTEGER},
                 {"long", MK_LONG},        {"boolean", MK_BOOL},       {"float", MK_DOUBLE},
                 {"double", MK_DOUBLE},    {"timestamp", MK_TIMESTAMP}};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(shape, "type");
    if (cJSON_IsString(t))
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strcmp(t->valuestring, kinds[i].name) == 0) return kinds[i].kind;
    return MK_STRING; /* model_load() refuses unknown types; never reached */
}

int model_set_printed_patterns(sm_model *m, const char *const *pairs, char *err, size_t errlen)
{
    for (int i = 0; pairs && pairs[i]; i += 2) {
        const char *name = pairs[i], *text = pairs[i + 1];
        const struct mshape *sh = find_shape(m, name);
        const cJSON *pat = sh ? cJSON_GetObjectItemCaseSensitive(sh->shape, "pattern") : NULL;
        if (!text || !cJSON_IsString(pat)) {
            snprintf(err, errlen, "printed pattern of %s: no such shape with a pattern", name);
            return SM_EINVAL;
        }
        const char *core = text + (text[0] == '^');
        size_t n = strlen(core);
        if (n > 0 && core[n - 1] == '$' && (n < 2 || core[n - 2] != '\\')) n--;
        if (strlen(pat->valuestring) != n || strncmp(core, pat->valuestring, n) != 0) {
            snprintf(err, errlen,
                     "printed pattern of %s differs from the model's in more than its anchors",
                     name);
            return SM_EINVAL;
        }
        cJSON *shape = (cJSON *)sh->shape; /* the model's own tree, not yet shared */
        cJSON_DeleteItemFromObjectCaseSensitive(shape, MODEL_PRINTED_PATTERN);
        if (!cJSON_AddStringToObject(shape, MODEL_PRINTED_PATTERN, text)) {
            snprintf(err, errlen, "out of memory");
            return SM_EINVAL;
        }
    }
    return SM_OK;
}

/* Each thread's match data, kept between matches (it holds a single pair). */
typedef struct match_data {
    pcre2_match_data *md;
} match_data;

static void match_data_free(void *p)
{
    match_data *m = p;
    if (m) pcre2_match_data_free(m->md);
    free(m);
}

static tcache match_datas = TCACHE(sizeof(match_data), match_data_free);

static pcre2_match_data *thread_match_data(void)
{
    match_data *m = tcache_get(&match_datas);
    if (m && !m->md) m->md = pcre2_match_data_create(1, NULL);
    return m ? m->md : NULL;
}

/*
 * 1 when the whole of `s` matches, 0 when it does not (including invalid UTF-8 and a match
 * that hit the backtracking limit), -1 when the shape is unknown or has no pattern, and
 * SM_ENOMEM (-2) when the per-call match data cannot be allocated.
 */
int model_pattern_match(const sm_model *m, const char *shape_name, const char *s)
{
    struct mshape *sh = (struct mshape *)find_shape(m, shape_name);
    if (!sh || !sh->re) return -1;
    if (!s) return 0;
    /* A pattern is JIT-compiled the first time it is used (most of a model's hundreds never
     * are: compiling them all would slow the start), once, under a lock; a thread matches
     * only after it has seen the flag set, so it never sees a half-compiled pattern. */
    if (!atomic_load_explicit(&sh->jit, memory_order_acquire)) {
        static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&jit_lock);
        if (!atomic_load_explicit(&sh->jit, memory_order_relaxed)) {
            pcre2_jit_compile(sh->re, PCRE2_JIT_COMPLETE); /* failing: the interpreter runs */
            atomic_store_explicit(&sh->jit, 1, memory_order_release);
        }
        pthread_mutex_unlock(&jit_lock);
    }
    pcre2_match_data *md = thread_match_data();
    if (!md) return SM_ENOMEM;
    size_t len = strlen(s);
    int rc = pcre2_match(sh->re, (PCRE2_SPTR)s, len, 0, 0, md, m->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the JIT's stack is small: ask the interpreter */
        rc = pcre2_match(sh->re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, md, m->mctx);
    return rc >= 0 ? 1 : 0;
}
