/*
 * joblog.c: what a training job's containers print to CloudWatch Logs
 * (/aws/sagemaker/TrainingJobs), as a pure function of the job and the simulated now.
 *
 * The story is read off the job's SecondaryStatusTransitions, evaluated after the job's end
 * (so the timeline is complete, a stop included). Each host replays it into its own stream;
 * every host prints the same lines (host names aside), so a multi-host job is cheap to reason
 * about. What each transition prints, at its start unless said otherwise:
 *
 *   Downloading   "Downloading input data for channel <c> from <S3Uri>", per channel
 *   Training      start-up lines, the scenario's JL_AT_START templates, then the epochs:
 *                   <time> sagemaker-training-toolkit INFO     Training container started:
 *                       image <image>, host <host> of <N>, instance type <type>
 *                   <time> sagemaker-training-toolkit INFO     Hyperparameters: <JSON>
 *                   <time> sagemaker-training-toolkit INFO     Input channels: train, test
 *                   <JL_AT_START templates>
 *                   <time> sagemaker-training-toolkit INFO     Invoking user script
 *                 each epoch k of E, at its time: "Epoch k/E", one line per metric, the
 *                 JL_AT_EPOCH templates. When Training runs to its end, at that end:
 *                 "Training complete." and the JL_AT_END templates.
 *   Uploading     "Uploading model artifacts to <output_uri>"
 *   Completed     <time> sagemaker-training-toolkit INFO     Reporting training SUCCESS
 *   Failed        JL_AT_FAILURE templates; after Training, a Python traceback whose last
 *                 lines are the FailureReason (less a leading "AlgorithmError: "), then
 *                 <time> sagemaker-training-toolkit ERROR    Reporting training FAILURE;
 *                 after another phase (say a ClientError in Downloading), the reason alone
 *   Restarting    JL_AT_FAILURE templates, the reason, "Restarting the training job (attempt n)"
 *   Interrupted   "Spot instance interruption notice received: saving a checkpoint and shutting
 *                 down"
 *   Stopping      "Received SIGTERM: stopping the training job"
 * The last four print only while a container runs (the attempt reached Downloading or
 * Training and has not ended): a job that fails or is stopped while Starting prints nothing.
 * A reason, a template or any other text holding newlines prints one event per line.
 *
 * Epochs. A run of consecutive Training entries is one attempt's training, from S to its end
 * T. Epoch k (1-based) of E is printed at S + k * (L - S) / E, where L, the last epoch's time,
 * is FinalMetricDataList's timestamp (final_metric_ms) when it lies in (S, T), else the last
 * whole second before T when that is after S, else T - 1. When the attempt is cut short
 * (Training is followed by Failed, Stopping, Interrupted, Restarting...), T is the planned end
 * S + training_ms instead (jl_job.training_ms; see joblog.h when unknown), and only epochs
 * before the cut print. Metric values follow value_text(): a curve reaching the metric's
 * `final` exactly at the last epoch, from a start derived from the job and metric names.
 *
 * Metric lines. A SageMaker metric regex is searched in each line and its group 1 parsed
 * (inferred: the documented MetricDefinitions behaviour). derive_line() turns the regex into
 * the text before and after its first capturing group: anchors ^ $ dropped, \. \: \[ and any
 * other escaped punctuation unescaped, \s a space, \t a tab, an unescaped '.' a literal dot,
 * an atom quantified by * or ? dropped, by + kept once. Any other regex syntax outside the
 * group (classes, alternation, \d, a second group...) and the metric gets no derived line.
 * Each line is then verified with PCRE2: the regex must match it with group 1 equal to the
 * printed number, else the line is not printed (say the value is negative and the group is
 * ([0-9\.]+)). A metric without a line shows only through a JL_AT_EPOCH template holding
 * {metric:<Name>}.
 *
 * Budgets. At most JL_MAX_EVENTS events and JL_MAX_BYTES message bytes per job, shared
 * evenly by its streams: a stream that reaches its share ends with one "[sagemock] log
 * truncated" event. Epochs are bounded by JL_MAX_EPOCHS, hosts by JL_MAX_HOSTS, lines by
 * JL_MAX_LINE (cut at a character boundary, ending "..."), a PCRE2 match by its match, depth
 * and heap limits. Building a log is linear in the events it holds.
 *
 * This file must not read a clock, do I/O, print, exit, keep mutable global state (many
 * worker threads call it), or leave an allocation unchecked.
 *
 * Invariants:
 *   - The same job and now give the same log, byte for byte; nothing is random.
 *   - Events are generated in time order, stream by stream, and never reordered: a
 *     stream's timestamps never decrease and are >= its created_ms.
 *   - ingestion_ms = timestamp + 100..900 ms (a hash of the stream name and the event's
 *     index), raised to the previous event's ingestion_ms: it never decreases either. An event
 *     appears once ingested: timestamp <= ingestion_ms <= now. So the stream at an earlier
 *     now is a prefix of the stream at a later now (the budgets depend on the host count, not
 *     on now, and cut the same prefix).
 *   - Every message is 1..JL_MAX_LINE bytes of valid UTF-8 without NUL or newline (invalid
 *     input bytes print as U+FFFD).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "joblog.h"

#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define FNV_OFFSET 1469598103934665603u
#define FNV_PRIME 1099511628211u

/* The toolkit's log prefix: Python logging's "%(asctime)s %(name)-12s %(levelname)-8s". */
#define TK_INFO "sagemaker-training-toolkit INFO     "
#define TK_ERROR "sagemaker-training-toolkit ERROR    "

static const char GENERIC_REASON[] =
    "InternalServerError: We encountered an internal error. Please try again.";
static const char ALGORITHM_ERROR[] = "AlgorithmError: ";
static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* The toolkit's frames above a user script that failed. */
static const char *const traceback[] = {
    "Traceback (most recent call last):",
    "  File \"/usr/local/lib/python3.9/site-packages/sagemaker_training/trainer.py\", line 88, "
    "in train",
    "    entrypoint()",
    "  File \"/usr/local/lib/python3.9/site-packages/sagemaker_training/entry_point.py\", line "
    "100, in run",
    "    return runner.get(runner_type, user_entry_point, args, env_vars, extra_opts).run(",
    "  File \"/usr/local/lib/python3.9/site-packages/sagemaker_training/process.py\", line 289, "
    "in run",
    "    raise error_class(",
};

/* ---- hashing and numbers ---------------------------------------------------------------- */

static uint64_t fnv_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

/* FNV-1a of "<a>/<b>". */
static uint64_t fnv_pair(const char *a, const char *b)
{
    uint64_t h = fnv_str(FNV_OFFSET, a);
    h = (h ^ (unsigned char)'/') * FNV_PRIME;
    return fnv_str(h, b);
}

uint64_t jl_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

double jl_default_metric(const char *job, const char *metric)
{
    uint64_t h = fnv_pair(job ? job : "", metric ? metric : "");
    return (double)(50000 + h % 1000000) / 1e6;
}

int jl_format_number(double value, char *out, size_t outlen)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.15g", value);
    if (strtod(buf, NULL) != value) n = snprintf(buf, sizeof buf, "%.17g", value);
    if (out && outlen > 0) {
        size_t k = (size_t)n < outlen ? (size_t)n : outlen - 1;
        memcpy(out, buf, k);
        out[k] = '\0';
    }
    return n;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* "2024-12-04 19:20:00,123" (UTC), as Python logging's asctime. Days to a civil date:
 * H. Hinnant's days_from_civil, inverted. */
static void format_time(int64_t ms, char *out, size_t outlen)
{
    int64_t s = floor_div(ms, 1000), days = floor_div(s, 86400);
    int64_t sod = s - days * 86400, z = days + 719468;
    int64_t era = floor_div(z, 146097), doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, outlen, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld,%03lld", (long long)y,
             (long long)m, (long long)d, (long long)(sod / 3600), (long long)(sod / 60 % 60),
             (long long)(sod % 60), (long long)(ms - s * 1000));
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid (NUL,
 * overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return c != 0;
    if (c < 0xC2 || c > 0xF4) return 0;
    size_t k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < k) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < k; i++)
        if (!is_cont(s[i])) return 0;
    return k;
}

static int utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

/* ---- a stream under construction ------------------------------------------------------- */

/* Events are appended in time order; messages go into one growing block, NUL-separated, and
 * get their pointers in sb_finish() (the block moves while it grows). */
typedef struct sb {
    jl_event *ev;
    int nev, cap;
    char *text;
    size_t tlen, tcap;
    int64_t now, last_ts, last_ing;
    uint64_t seed; /* FNV-1a of the stream name: ingestion delays */
    int max_events;
    size_t max_bytes;
    int stop; /* nothing more goes in: past now, budget spent, or out of memory */
    int rc;
} sb;

#define TRUNCATED_ROOM 128 /* bytes kept for the truncation notice */

static int sb_reserve(sb *b, size_t n)
{
    if (b->nev == b->cap) {
        int ncap = b->cap ? b->cap * 2 : 64;
        jl_event *e = realloc(b->ev, sizeof *e * (size_t)ncap);
        if (!e) return SM_ENOMEM;
        b->ev = e;
        b->cap = ncap;
    }
    if (b->tlen + n + 1 > b->tcap) {
        size_t ncap = b->tcap ? b->tcap : 4096;
        while (ncap < b->tlen + n + 1)
            ncap *= 2;
        char *t = realloc(b->text, ncap);
        if (!t) return SM_ENOMEM;
        b->text = t;
        b->tcap = ncap;
    }
    return SM_OK;
}

/* Append one event: `msg` is 1..JL_MAX_LINE bytes of valid UTF-8 without newline. */
static void sb_push(sb *b, int64_t ts, const char *msg, size_t n)
{
    char notice[TRUNCATED_ROOM];
    if (b->stop) return;
    if (ts < b->last_ts) ts = b->last_ts;
    if (ts > b->now) {
        b->stop = 1;
        return;
    }
    int last = b->nev + 1 >= b->max_events || b->tlen + n + 1 + TRUNCATED_ROOM > b->max_bytes;
    if (last) {
        int k = snprintf(notice, sizeof notice,
                         "[sagemock] log truncated: a stream of this job keeps at most %d events",
                         b->max_events);
        msg = notice;
        n = (size_t)k;
    }
    uint64_t x = jl_mix64(b->seed + (uint64_t)b->nev * 0x9E3779B97F4A7C15u);
    int64_t ing = sat_add(ts, 100 + (int64_t)(x % 801));
    if (ing < b->last_ing) ing = b->last_ing;
    if (ing > b->now) {
        b->stop = 1;
        return;
    }
    if (sb_reserve(b, n) != SM_OK) {
        b->rc = SM_ENOMEM;
        b->stop = 1;
        return;
    }
    memcpy(b->text + b->tlen, msg, n);
    b->text[b->tlen + n] = '\0';
    b->tlen += n + 1;
    b->ev[b->nev++] = (jl_event){.timestamp_ms = ts, .ingestion_ms = ing, .message = NULL};
    b->last_ts = ts;
    b->last_ing = ing;
    if (last) b->stop = 1;
}

/* Hand the events over to `st` (which then owns them) and point messages into the block. */
static void sb_finish(sb *b, jl_stream *st)
{
    st->nevents = b->nev;
    st->events = b->ev;
    st->text = b->text;
    char *p = b->text;
    for (int i = 0; i < b->nev; i++) {
        b->ev[i].message = p;
        p += strlen(p) + 1;
    }
    b->ev = NULL;
    b->text = NULL;
}

static void sb_discard(sb *b)
{
    free(b->ev);
    free(b->text);
    b->ev = NULL;
    b->text = NULL;
}

/* ---- composing lines ---------------------------------------------------------------------- */

/* A line being composed: bytes are copied as valid UTF-8 (invalid ones become U+FFFD), a
 * newline ends the line (an event) and begins the next, past JL_MAX_LINE the line is cut. */
typedef struct line {
    sb *b;
    int64_t ts;
    size_t len;
    int cut;
    char buf[JL_MAX_LINE];
} line;

static void ln_begin(line *l, sb *b, int64_t ts)
{
    l->b = b;
    l->ts = ts;
    l->len = 0;
    l->cut = 0;
}

/* Push the line composed so far (an empty line is no event: CloudWatch refuses them). */
static void ln_flush(line *l)
{
    if (l->cut) {
        size_t n = l->len;
        while (n > JL_MAX_LINE - 3) {
            n--;
            while (n > 0 && is_cont((unsigned char)l->buf[n]))
                n--;
        }
        memcpy(l->buf + n, "...", 3);
        l->len = n + 3;
    }
    if (l->len > 0) sb_push(l->b, l->ts, l->buf, l->len);
    l->len = 0;
    l->cut = 0;
}

static void ln_bytes(line *l, const char *s, size_t n)
{
    if (l->cut) return;
    if (l->len + n > JL_MAX_LINE) {
        l->cut = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void ln_put(line *l, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n && !l->b->stop;) {
        unsigned char c = u[i];
        if (c == '\n') {
            ln_flush(l);
            i++;
        } else if (c == '\r' && (i + 1 == n || u[i + 1] == '\n')) {
            i++;
        } else {
            size_t k = utf8_len(u + i, n - i);
            if (k == 0) {
                ln_bytes(l, REPLACEMENT, 3);
                i++;
            } else {
                ln_bytes(l, s + i, k);
                i += k;
            }
        }
    }
}

static void ln_str(line *l, const char *s)
{
    ln_put(l, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void ln_fmt(line *l, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    ln_put(l, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Begin a toolkit line: "<time> sagemaker-training-toolkit INFO     ". */
static void ln_toolkit(line *l, const char *level)
{
    char t[128]; /* format_time() writes 24 bytes for any time sagemock sees; 108 at most */
    format_time(l->ts, t, sizeof t);
    ln_str(l, t);
    ln_str(l, " ");
    ln_str(l, level);
}

/* One text, one event per line of it. */
static void say(sb *b, int64_t ts, const char *text)
{
    line l;
    ln_begin(&l, b, ts);
    ln_str(&l, text);
    ln_flush(&l);
}

static void say_toolkit(sb *b, int64_t ts, const char *level, const char *text)
{
    line l;
    ln_begin(&l, b, ts);
    ln_toolkit(&l, level);
    ln_str(&l, text);
    ln_flush(&l);
}

/* ---- jl_epochs: a small reader of the HyperParameters object ---------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Read the JSON string at p (at its '"') into out (cap bytes, NUL-terminated; *over is set
 * when it did not fit). Escapes other than \uXXXX are decoded; \uXXXX becomes '?', which no
 * key or integer holds. Returns the byte after the closing quote, NULL when malformed. */
static const char *read_string(const char *p, char *out, size_t cap, int *over)
{
    size_t n = 0;
    *over = 0;
    for (p++; *p != '"'; p++) {
        char c = *p;
        if (c == '\0') return NULL;
        if (c == '\\') {
            p++;
            switch (*p) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u':
                if (strnlen(p + 1, 4) < 4) return NULL;
                p += 4;
                c = '?';
                break;
            case '\0':
                return NULL;
            default:
                c = *p;
                break;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
        else
            *over = 1;
    }
    out[n] = '\0';
    return p + 1;
}

/* Skip one JSON value that is not a string: a scalar up to its delimiter, or a whole object
 * or array (strings inside skipped). Returns the byte after it, NULL when malformed. */
static const char *skip_value(const char *p)
{
    char tmp[2];
    int over, depth = 0;
    for (;;) {
        char c = *p;
        if (c == '\0') return NULL;
        if (c == '"') {
            p = read_string(p, tmp, sizeof tmp, &over);
            if (!p || depth == 0) return p;
            continue;
        }
        if (depth == 0 && strchr(",}] \t\r\n", c)) return p; /* a scalar ends */
        if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return p + 1;
        }
        p++;
    }
}

/* "  12 " -> 12, bounded to [1, JL_MAX_EPOCHS]; 0 when it is not an integer. */
static int parse_epochs(const char *s, int *out)
{
    while (*s == ' ')
        s++;
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (*s < '0' || *s > '9') return 0;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v <= JL_MAX_EPOCHS) v = v * 10 + (*s - '0');
    while (*s == ' ')
        s++;
    if (*s != '\0') return 0;
    if (neg || v < 1) v = 1;
    *out = v > JL_MAX_EPOCHS ? JL_MAX_EPOCHS : (int)v;
    return 1;
}

static const char *const epoch_keys[] = {"epochs",    "num_epochs",       "n_epochs",  "epoch",
                                         "num_round", "num_train_epochs", "max_epochs"};
#define NKEYS ((int)(sizeof epoch_keys / sizeof epoch_keys[0]))

int jl_epochs(const char *hyperparameters)
{
    int best = 10, rank = NKEYS;
    if (!hyperparameters) return best;
    const char *p = skip_ws(hyperparameters);
    if (*p != '{') return best;
    p = skip_ws(p + 1);
    while (*p == '"') {
        char key[32], val[64];
        int kover, vover = 0;
        p = read_string(p, key, sizeof key, &kover);
        if (!p) break;
        p = skip_ws(p);
        if (*p != ':') break;
        p = skip_ws(p + 1);
        if (*p == '"') {
            p = read_string(p, val, sizeof val, &vover);
        } else {
            const char *v0 = p;
            p = skip_value(p);
            size_t n = p ? (size_t)(p - v0) : 0;
            vover = n >= sizeof val;
            memcpy(val, v0, vover ? 0 : n);
            val[vover ? 0 : n] = '\0';
        }
        if (!p) break;
        for (int k = 0; k < rank && !kover && !vover; k++) {
            int e;
            if (strcmp(key, epoch_keys[k]) == 0 && parse_epochs(val, &e)) {
                best = e;
                rank = k;
            }
        }
        p = skip_ws(p);
        if (*p != ',') break;
        p = skip_ws(p + 1);
    }
    return best;
}

/* ---- metric lines from regexes ---------------------------------------------------------- */

/* The literal text of re[*pos..) up to the first capturing group (prefix) or the end
 * (suffix), into out. 1 when it is literal text in the sense of the file comment (*pos then
 * at the '(' or the end), 0 when it holds other regex syntax. */
static int literal_part(const char *re, size_t n, size_t *pos, int prefix, char *out,
                        size_t *outlen)
{
    size_t i = *pos, len = 0;
    while (i < n) {
        unsigned char c = (unsigned char)re[i], atom;
        if (c == '(') {
            if (!prefix) return 0;
            break;
        }
        if (c == '$') {
            if (prefix || i + 1 != n) return 0;
            i++;
            break;
        }
        if (c == '\\') {
            unsigned char e = i + 1 < n ? (unsigned char)re[i + 1] : 0;
            if (e == 's')
                atom = ' ';
            else if (e == 't')
                atom = '\t';
            else if (e >= 0x20 && e < 0x7F && !(e >= '0' && e <= '9') &&
                     !((e | 0x20) >= 'a' && (e | 0x20) <= 'z'))
                atom = e;
            else
                return 0;
            i += 2;
        } else if (c >= 0x80) {
            /* a byte of a multibyte character: literal, never quantified (derive_line checks
             * that the bytes form valid UTF-8) */
            if (i + 1 < n && strchr("*+?{", re[i + 1])) return 0;
            if (len >= JL_MAX_LINE) return 0;
            out[len++] = (char)c;
            i++;
            continue;
        } else if (c < 0x20 || c == 0x7F || strchr("^|?*+)[{", c)) {
            return 0;
        } else {
            atom = c; /* '.' included: a literal dot matches itself */
            i++;
        }
        int times = 1;
        if (i < n && (re[i] == '*' || re[i] == '?' || re[i] == '+')) {
            times = re[i] == '+'; /* x+ once; x* and x? not at all */
            i++;
            if (i < n && (re[i] == '?' || re[i] == '+')) i++; /* lazy or possessive */
        } else if (i < n && re[i] == '{') {
            return 0;
        }
        if (times) {
            if (len >= JL_MAX_LINE) return 0;
            out[len++] = (char)atom;
        }
    }
    *pos = i;
    *outlen = len;
    return 1;
}

/* The ')' closing the capturing group opened at re[open], in *close; 0 when the group is
 * not a capturing one or is not closed. */
static int group_end(const char *re, size_t n, size_t open, size_t *close)
{
    size_t i = open + 1;
    if (i < n && re[i] == '?') { /* only named groups capture: (?<n> (?P<n> (?'n' */
        int named = (i + 2 < n && re[i + 1] == '<' && re[i + 2] != '=' && re[i + 2] != '!') ||
                    (i + 2 < n && re[i + 1] == 'P' && re[i + 2] == '<') ||
                    (i + 1 < n && re[i + 1] == '\'');
        if (!named) return 0;
    }
    for (int depth = 1; i < n; i++) {
        if (re[i] == '\\') {
            i++;
        } else if (re[i] == '[') {
            i++;
            if (i < n && re[i] == '^') i++;
            if (i < n && re[i] == ']') i++;
            for (; i < n && re[i] != ']'; i++)
                if (re[i] == '\\') i++;
        } else if (re[i] == '(') {
            depth++;
        } else if (re[i] == ')' && --depth == 0) {
            *close = i;
            return 1;
        }
    }
    return 0;
}

/* Split `re` into the literal text before and after its first capturing group. */
static int derive_line(const char *re, char *pre, size_t *npre, char *suf, size_t *nsuf)
{
    size_t n = strnlen(re, JL_MAX_REGEX + 1), i = 0, close;
    if (n > JL_MAX_REGEX) return 0;
    if (n > 0 && re[0] == '^') i = 1;
    if (!literal_part(re, n, &i, 1, pre, npre) || i >= n || !group_end(re, n, i, &close)) return 0;
    i = close + 1;
    if (i < n && strchr("*+?{", re[i])) return 0;
    if (!literal_part(re, n, &i, 0, suf, nsuf)) return 0;
    return utf8_valid(pre, *npre) && utf8_valid(suf, *nsuf);
}

/* ---- the job's shared state ---------------------------------------------------------------- */

typedef struct metric_rt {
    const jl_metric *m;
    double start;     /* the value before the first epoch */
    pcre2_code *code; /* the compiled regex, NULL when the metric has no derived line */
    size_t npre, nsuf;
    char pre[JL_MAX_LINE], suf[JL_MAX_LINE];
} metric_rt;

/* What every host's stream shares; built once per jl_build(), never global. */
typedef struct ctx {
    const jl_job *job;
    const lc_view *v;
    int64_t now;
    int epochs;
    int nmetrics;
    int64_t normal_ms; /* the last Training that ran to its end: its length, or -1 */
    int final_epoch;   /* an epoch cut short by the planned failure that prints `final`, or 0 */
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    unsigned char *verdict; /* [epochs][nmetrics]: 0 unknown, 1 the line verifies, 2 not */
    metric_rt mt[JL_MAX_METRICS];
} ctx;

static int ci_contains(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && (s[i] | 0x20) == w[i])
            i++;
        if (i == n) return 1;
    }
    return 0;
}

/* Where a metric starts: loss-like ones above their final value, the others below it. */
static double start_value(const char *job, const jl_metric *m)
{
    double f = m->final;
    uint64_t h = jl_mix64(fnv_pair(job, m->name) ^ 0x243F6A8885A308D3u);
    double u = (double)(h >> 11) / 9007199254740992.0; /* [0, 1) */
    double mag = fabs(f) > 1e-3 ? fabs(f) : 0.1;
    int lossy = ci_contains(m->name, "loss") || ci_contains(m->name, "error") ||
                ci_contains(m->name, "rmse");
    double s = lossy ? f + mag * (0.5 + 2.0 * u) : f - mag * (0.2 + 0.6 * u);
    return isfinite(s) ? s : f;
}

/* The value at epoch k of E (k == 0: the start) as printed, into out (VALUE_MAX bytes):
 * final + (start - final) * (1 - k/E)^2 in six significant digits, and at the last epoch
 * exactly `final` (jl_format_number: it reads back as the same double). Returns the length. */
#define VALUE_MAX 40
static size_t value_text(const ctx *c, const metric_rt *r, int k, char *out)
{
    double f = r->m->final;
    int epochs = c->epochs;
    if (k >= epochs || k == c->final_epoch || !isfinite(f))
        return (size_t)jl_format_number(f, out, VALUE_MAX);
    double x = 1.0 - (double)k / epochs;
    return (size_t)snprintf(out, VALUE_MAX, "%.6g", f + (r->start - f) * x * x);
}

static int metric_init(ctx *c, int j)
{
    metric_rt *r = &c->mt[j];
    r->m = &c->job->metrics[j];
    r->start = start_value(c->job->name, r->m);
    if (!r->m->regex || !derive_line(r->m->regex, r->pre, &r->npre, r->suf, &r->nsuf)) return SM_OK;
    int err;
    PCRE2_SIZE off;
    r->code = pcre2_compile((PCRE2_SPTR)r->m->regex, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!r->code) return err == PCRE2_ERROR_HEAP_FAILED ? SM_ENOMEM : SM_OK;
    return SM_OK;
}

/* 1 when the metric's regex finds `num` as group 1 of the line, 0 when not, SM_ENOMEM. */
static int verify(const ctx *c, const metric_rt *r, const char *ln, size_t n, const char *num,
                  size_t nn)
{
    int rc = pcre2_match(r->code, (PCRE2_SPTR)ln, n, 0, 0, c->md, c->mctx);
    if (rc == PCRE2_ERROR_NOMEMORY) return SM_ENOMEM;
    if (rc < 0) return 0; /* no match, or a match limit: deterministic either way */
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    return ov[2] != PCRE2_UNSET && ov[3] - ov[2] == nn && memcmp(ln + ov[2], num, nn) == 0;
}

/* The last of the run of Training entries that begins at trans[i]. */
static int block_last(const lc_view *v, int i)
{
    while (i + 1 < v->ntrans && v->trans[i + 1].status == LC_S_TRAINING)
        i++;
    return i;
}

/* Statuses that end a running attempt before its steps are done. */
static int is_cut(lc_secondary s)
{
    return s == LC_S_FAILED || s == LC_S_STOPPING || s == LC_S_STOPPED || s == LC_S_INTERRUPTED ||
           s == LC_S_RESTARTING || s == LC_S_MAX_RUNTIME_EXCEEDED ||
           s == LC_S_MAX_WAIT_TIME_EXCEEDED;
}

/* Training ran to its end: a status other than a cut follows it. */
static int block_normal(const lc_view *v, int last)
{
    return last + 1 < v->ntrans && !is_cut(v->trans[last + 1].status);
}

static int64_t last_normal_ms(const lc_view *v)
{
    int64_t d = -1;
    for (int i = 0; i < v->ntrans; i++) {
        if (v->trans[i].status != LC_S_TRAINING) continue;
        int j = block_last(v, i);
        if (block_normal(v, j)) d = v->trans[j].end_ms - v->trans[i].start_ms;
        i = j;
    }
    return d;
}

static void ctx_free(ctx *c)
{
    for (int j = 0; j < c->nmetrics; j++)
        pcre2_code_free(c->mt[j].code);
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mctx);
    free(c->verdict);
    free(c);
}

static int ctx_new(const jl_job *job, int64_t now, ctx **out)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return SM_ENOMEM;
    c->job = job;
    c->v = job->timeline;
    c->now = now;
    c->epochs = job->epochs <= 0              ? jl_epochs(job->hyperparameters)
                : job->epochs > JL_MAX_EPOCHS ? JL_MAX_EPOCHS
                                              : job->epochs;
    c->normal_ms = last_normal_ms(c->v);
    int rc = SM_ENOMEM;
    c->mctx = pcre2_match_context_create(NULL);
    c->md = pcre2_match_data_create(2, NULL);
    if (job->nmetrics > 0) c->verdict = calloc((size_t)c->epochs * (size_t)job->nmetrics, 1);
    if (c->mctx && c->md && (job->nmetrics == 0 || c->verdict)) {
        pcre2_set_match_limit(c->mctx, 100000);
        pcre2_set_depth_limit(c->mctx, 10000);
        pcre2_set_heap_limit(c->mctx, 4096); /* KiB */
        rc = SM_OK;
    }
    for (; rc == SM_OK && c->nmetrics < job->nmetrics; c->nmetrics++)
        rc = metric_init(c, c->nmetrics);
    if (rc != SM_OK) {
        ctx_free(c);
        return rc;
    }
    *out = c;
    return SM_OK;
}

/* ---- the story of one host --------------------------------------------------------------- */

/* Where the placeholders of a template take their values. */
typedef struct scope {
    const char *host;
    int epoch;
} scope;

static const metric_rt *metric_named(const ctx *c, const char *name, size_t n)
{
    for (int j = 0; j < c->nmetrics; j++)
        if (strlen(c->mt[j].m->name) == n && memcmp(c->mt[j].m->name, name, n) == 0)
            return &c->mt[j];
    return NULL;
}

/* Put the value of placeholder name[0..n) in the line; 0 when it is not one we know. */
static int placeholder(const ctx *c, const scope *sc, line *l, const char *name, size_t n)
{
    char num[VALUE_MAX];
    if (n == 3 && memcmp(name, "job", 3) == 0) {
        ln_str(l, c->job->name);
    } else if (n == 4 && memcmp(name, "host", 4) == 0) {
        ln_str(l, sc->host);
    } else if (n == 5 && memcmp(name, "epoch", 5) == 0) {
        ln_fmt(l, "%d", sc->epoch);
    } else if (n == 6 && memcmp(name, "epochs", 6) == 0) {
        ln_fmt(l, "%d", c->epochs);
    } else if (n > 7 && memcmp(name, "metric:", 7) == 0) {
        const metric_rt *r = metric_named(c, name + 7, n - 7);
        if (!r) return 0;
        ln_put(l, num, value_text(c, r, sc->epoch, num));
    } else {
        return 0;
    }
    return 1;
}

#define PLACEHOLDER_MAX 300 /* "metric:" and a 255-byte name, with room */

static void templates(const ctx *c, sb *b, int64_t ts, jl_when when, const scope *sc)
{
    for (int i = 0; i < c->job->ntemplates && !b->stop; i++) {
        if (c->job->templates[i].when != when) continue;
        const char *s = c->job->templates[i].text;
        size_t n = strlen(s), at = 0;
        line l;
        ln_begin(&l, b, ts);
        while (at < n && !b->stop) {
            const char *open = memchr(s + at, '{', n - at);
            if (!open) {
                ln_put(&l, s + at, n - at);
                break;
            }
            size_t o = (size_t)(open - s), span = n - o - 1;
            ln_put(&l, s + at, o - at);
            const char *end =
                memchr(open + 1, '}', span < PLACEHOLDER_MAX ? span : PLACEHOLDER_MAX);
            if (end && placeholder(c, sc, &l, open + 1, (size_t)(end - open - 1))) {
                at = (size_t)(end - s) + 1;
            } else {
                ln_put(&l, "{", 1);
                at = o + 1;
            }
        }
        ln_flush(&l);
    }
}

static void download_lines(const ctx *c, sb *b, int64_t ts)
{
    for (int i = 0; i < c->job->nchannels && !b->stop; i++) {
        line l;
        ln_begin(&l, b, ts);
        ln_str(&l, "Downloading input data for channel ");
        ln_str(&l, c->job->channel_name[i]);
        if (c->job->channel_uri[i]) {
            ln_str(&l, " from ");
            ln_str(&l, c->job->channel_uri[i]);
        }
        ln_flush(&l);
    }
}

static void startup_lines(const ctx *c, sb *b, int64_t ts, const char *host)
{
    const jl_job *j = c->job;
    line l;
    ln_begin(&l, b, ts);
    ln_toolkit(&l, TK_INFO);
    ln_str(&l, "Training container started: image ");
    ln_str(&l, j->image ? j->image : "(none)");
    ln_str(&l, ", host ");
    ln_str(&l, host);
    ln_fmt(&l, " of %d, instance type ", j->nhosts);
    ln_str(&l, j->instance_type ? j->instance_type : "(none)");
    ln_flush(&l);
    ln_toolkit(&l, TK_INFO);
    ln_str(&l, "Hyperparameters: ");
    ln_str(&l, j->hyperparameters ? j->hyperparameters : "{}");
    ln_flush(&l);
    ln_toolkit(&l, TK_INFO);
    ln_str(&l, "Input channels: ");
    for (int i = 0; i < j->nchannels; i++) {
        if (i > 0) ln_str(&l, ", ");
        ln_str(&l, j->channel_name[i]);
    }
    if (j->nchannels == 0) ln_str(&l, "none");
    ln_flush(&l);
    scope sc = {host, 0};
    templates(c, b, ts, JL_AT_START, &sc);
    say_toolkit(b, ts, TK_INFO, "Invoking user script");
}

/* "Epoch k/E", the metric lines, the JL_AT_EPOCH templates. */
static void epoch_lines(ctx *c, sb *b, int64_t ts, const char *host, int k)
{
    char ln[JL_MAX_LINE + VALUE_MAX], num[VALUE_MAX];
    int n = snprintf(ln, sizeof ln, "Epoch %d/%d", k, c->epochs);
    sb_push(b, ts, ln, (size_t)n);
    for (int j = 0; j < c->nmetrics && !b->stop; j++) {
        const metric_rt *r = &c->mt[j];
        if (!r->code) continue;
        size_t nn = value_text(c, r, k, num);
        size_t len = r->npre + nn + r->nsuf;
        if (len > JL_MAX_LINE) continue; /* no line holds it: the metric is not printed */
        /* The verdict is kept per epoch; an epoch printing the final value early (final_epoch)
         * prints another number than its cached verdict was made for: verified afresh. */
        unsigned char fresh = 0;
        unsigned char *vd = k == c->final_epoch && k < c->epochs
                                ? &fresh
                                : &c->verdict[(size_t)(k - 1) * (size_t)c->nmetrics + (size_t)j];
        memcpy(ln, r->pre, r->npre);
        memcpy(ln + r->npre, num, nn);
        memcpy(ln + r->npre + nn, r->suf, r->nsuf);
        if (*vd == 0) {
            int ok = verify(c, r, ln, len, num, nn);
            if (ok < 0) {
                b->rc = ok;
                b->stop = 1;
                return;
            }
            *vd = ok ? 1 : 2;
        }
        if (*vd == 1) sb_push(b, ts, ln, len);
    }
    scope sc = {host, k};
    templates(c, b, ts, JL_AT_EPOCH, &sc);
}

/* Bound on the time the epochs of one attempt span: k * span cannot overflow (the lifecycle
 * bounds every step to LC_MAX_DURATION_MS, so this only guards against a foreign view). */
#define SPAN_MAX (INT64_MAX / (JL_MAX_EPOCHS + 1))

/* When the last epoch prints, for training that starts at s and (would) end at end. */
static int64_t last_epoch_at(int64_t s, int64_t end)
{
    if (end <= s) return s;
    int64_t whole = floor_div(end - 1, 1000) * 1000;
    return whole > s ? whole : end - 1;
}

/* The Training run trans[i..last]: start-up, epochs, and when it ran to its end the end
 * lines. Returns the number of epochs printed. */
static int training(ctx *c, sb *b, const char *host, int i, int last)
{
    const lc_view *v = c->v;
    int64_t s = v->trans[i].start_ms, end = v->trans[last].end_ms, at;
    int normal = block_normal(v, last);
    startup_lines(c, b, s, host);
    if (normal) {
        int64_t fm = c->job->final_metric_ms;
        at = fm > s && fm < end ? fm : last_epoch_at(s, end);
    } else {
        int64_t plan = c->job->training_ms > 0 ? c->job->training_ms
                       : c->normal_ms > 0      ? c->normal_ms
                       : end > s               ? 2 * (end - s)
                                               : -1;
        if (plan < 0) return 0;
        if (plan > LC_MAX_DURATION_MS) plan = LC_MAX_DURATION_MS;
        at = last_epoch_at(s, s + plan);
        if (end < 0) end = INT64_MAX; /* still training (a timeline read before the end) */
    }
    if (at - s > SPAN_MAX) at = s + SPAN_MAX;
    /* The planned failure of the last attempt: its last epoch before the failure prints the
     * final values (jl_job.planned_failure_ms). */
    int64_t fail = c->job->planned_failure_ms;
    c->final_epoch = 0;
    for (int k = 1; !normal && fail > s && k <= c->epochs; k++)
        if (s + (int64_t)k * (at - s) / c->epochs < fail) c->final_epoch = k;
    int done = 0;
    for (int k = 1; k <= c->epochs && !b->stop; k++) {
        int64_t t = s + (int64_t)k * (at - s) / c->epochs;
        if (!normal && t >= end) break;
        epoch_lines(c, b, t, host, k);
        done = k;
    }
    if (normal) {
        say(b, end, "Training complete.");
        scope sc = {host, c->epochs};
        templates(c, b, end, JL_AT_END, &sc);
    }
    return done;
}

/* An attempt that was running failed at ts, after status `phase`. */
static void failure_lines(const ctx *c, sb *b, int64_t ts, const char *host, lc_secondary phase,
                          int restarting, int attempt, int epochs_done)
{
    const char *view_reason = c->v->failure_reason, *job_reason = c->job->failure_reason;
    const char *reason = restarting ? (job_reason ? job_reason : view_reason)
                                    : (view_reason ? view_reason : job_reason);
    if (!reason || !*reason) reason = GENERIC_REASON;
    scope sc = {host, epochs_done};
    templates(c, b, ts, JL_AT_FAILURE, &sc);
    if (!restarting && phase == LC_S_TRAINING) {
        for (size_t i = 0; i < sizeof traceback / sizeof traceback[0]; i++)
            say(b, ts, traceback[i]);
        size_t np = sizeof ALGORITHM_ERROR - 1;
        say(b, ts, strncmp(reason, ALGORITHM_ERROR, np) == 0 ? reason + np : reason);
        say_toolkit(b, ts, TK_ERROR, "Reporting training FAILURE");
        return;
    }
    say(b, ts, reason);
    if (restarting) {
        line l;
        ln_begin(&l, b, ts);
        ln_fmt(&l, "Restarting the training job (attempt %d)", attempt);
        ln_flush(&l);
    }
}

/* Replay the timeline into one host's stream. */
static void host_story(ctx *c, sb *b, const char *host)
{
    const lc_view *v = c->v;
    int running = 0, attempt = 1, epochs_done = 0;
    lc_secondary prev = LC_S_STARTING;
    for (int i = 0; i < v->ntrans && !b->stop; i++) {
        const lc_transition *t = &v->trans[i];
        int64_t ts = t->start_ms;
        if (ts > c->now) break;
        switch (t->status) {
        case LC_S_DOWNLOADING:
            running = 1;
            download_lines(c, b, ts);
            break;
        case LC_S_TRAINING: {
            int last = block_last(v, i);
            running = 1;
            epochs_done = training(c, b, host, i, last);
            i = last;
            break;
        }
        case LC_S_UPLOADING: {
            line l;
            running = 1;
            ln_begin(&l, b, ts);
            ln_str(&l, "Uploading model artifacts to ");
            ln_str(&l, c->job->output_uri ? c->job->output_uri : "(none)");
            ln_flush(&l);
            break;
        }
        case LC_S_COMPLETED:
            if (running) say_toolkit(b, ts, TK_INFO, "Reporting training SUCCESS");
            running = 0;
            break;
        case LC_S_FAILED:
        case LC_S_RESTARTING:
            if (t->status == LC_S_RESTARTING) attempt++;
            if (running)
                failure_lines(c, b, ts, host, prev, t->status == LC_S_RESTARTING, attempt,
                              epochs_done);
            running = 0;
            epochs_done = 0;
            break;
        case LC_S_INTERRUPTED:
            if (running)
                say(b, ts,
                    "Spot instance interruption notice received: saving a checkpoint and "
                    "shutting down");
            running = 0;
            epochs_done = 0;
            break;
        case LC_S_STOPPING:
            if (running) say(b, ts, "Received SIGTERM: stopping the training job");
            running = 0;
            break;
        default:
            break;
        }
        prev = v->trans[i].status;
    }
}

/* ---- the log -------------------------------------------------------------------------------- */

/* The first container start: the first Downloading or Training entry, or -1. */
static int64_t first_container_start(const lc_view *v)
{
    for (int i = 0; i < v->ntrans; i++)
        if (v->trans[i].status == LC_S_DOWNLOADING || v->trans[i].status == LC_S_TRAINING)
            return v->trans[i].start_ms;
    return -1;
}

static int job_ok(const jl_job *j)
{
    if (!j || !j->name || !j->timeline || j->timeline->ntrans < 0 ||
        j->timeline->ntrans > LC_MAX_TRANSITIONS)
        return 0;
    if (j->nhosts < 0 || j->nhosts > JL_MAX_HOSTS || j->nchannels < 0 ||
        j->nchannels > JL_MAX_CHANNELS || j->nmetrics < 0 || j->nmetrics > JL_MAX_METRICS ||
        j->ntemplates < 0 || j->ntemplates > JL_MAX_TEMPLATES)
        return 0;
    size_t room = sizeof((jl_stream *)0)->name - 22; /* '/', '-', seconds, NUL */
    size_t nname = strnlen(j->name, room);
    for (int i = 0; i < j->nhosts; i++)
        if (!j->hosts[i] || nname + strnlen(j->hosts[i], room) >= room) return 0;
    for (int i = 0; i < j->nchannels; i++)
        if (!j->channel_name[i]) return 0;
    for (int i = 0; i < j->nmetrics; i++)
        if (!j->metrics[i].name) return 0;
    for (int i = 0; i < j->ntemplates; i++)
        if (!j->templates[i].text || j->templates[i].when < JL_AT_START ||
            j->templates[i].when > JL_AT_FAILURE)
            return 0;
    return 1;
}

int jl_build(const jl_job *job, int64_t now_ms, jl_log *out)
{
    if (!out) return SM_EINVAL;
    memset(out, 0, sizeof *out);
    if (!job_ok(job)) return SM_EINVAL;
    int64_t created = first_container_start(job->timeline);
    if (created < 0 || created > now_ms || job->nhosts == 0) return SM_OK;

    ctx *c;
    int rc = ctx_new(job, now_ms, &c);
    if (rc != SM_OK) return rc;
    for (int h = 0; h < job->nhosts && rc == SM_OK; h++) {
        jl_stream *st = &out->streams[h];
        snprintf(st->name, sizeof st->name, "%s/%s-%lld", job->name, job->hosts[h],
                 (long long)floor_div(created, 1000));
        st->created_ms = created;
        sb b = {.now = now_ms,
                .last_ts = created,
                .last_ing = created,
                .seed = fnv_str(FNV_OFFSET, st->name),
                .max_events = JL_MAX_EVENTS / job->nhosts,
                .max_bytes = (size_t)JL_MAX_BYTES / (size_t)job->nhosts};
        host_story(c, &b, job->hosts[h]);
        rc = b.rc;
        if (rc != SM_OK) {
            sb_discard(&b);
            break;
        }
        sb_finish(&b, st);
        out->nstreams++;
    }
    ctx_free(c);
    if (rc != SM_OK) jl_free(out);
    return rc;
}

void jl_free(jl_log *log)
{
    if (!log) return;
    for (int i = 0; i < log->nstreams; i++) {
        free(log->streams[i].events);
        free(log->streams[i].text);
    }
    memset(log, 0, sizeof *log);
}
