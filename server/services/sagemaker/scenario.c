/*
 * scenario.c: the JSON form of a lifecycle scenario, both ways (format in scenario.h).
 *
 * It only converts and checks: it must not plan, evaluate, or print. Every value it accepts
 * is one lc_plan_build accepts (the rules mirror scenario_ok() in lifecycle.c), and every
 * error names the JSON path of the value at fault. Lookups are case-sensitive; fields are
 * matched by walking each object once, so unknown and duplicate fields are refused.
 */
#include "scenario.h"

#include <stdarg.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "tuning_job.h"

#define MAX_SECONDS (LC_MAX_DURATION_MS / 1000) /* 1e9 s, exactly representable */
#define MAX_COUNT 1000000                       /* failingAttempts, interruptions */
#define PATH_MAX_LEN 96

/* ---- errors and paths ----------------------------------------------------------------- */

typedef struct perr {
    char *buf;
    size_t len;
} perr;

__attribute__((format(printf, 3, 4))) static int fail(const perr *e, const char *path,
                                                      const char *fmt, ...)
{
    if (e->buf && e->len > 0) {
        int n = snprintf(e->buf, e->len, "%s: ", path);
        if (n >= 0 && (size_t)n < e->len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return SM_EINVAL;
}

/* "<path>.<key>", or "<key>" at the root; "<path>[<i>]". Real paths are far shorter than
 * PATH_MAX_LEN (the deepest is "steps[15].messages[3].atSeconds"); a longer one is cut. */
static void join(char *out, const char *path, const char *key)
{
    if (snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

static void index_path(char *out, const char *path, int i)
{
    if (snprintf(out, PATH_MAX_LEN, "%s[%d]", path, i) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

/*
 * Match the members of object `o` at `path` against `names` (n of them): found[i] gets the
 * member called names[i], or NULL. Refuses a member not in `names` and one given twice.
 */
static int fields(const perr *e, const cJSON *o, const char *path, const char *const *names, int n,
                  const cJSON **found)
{
    for (int i = 0; i < n; i++)
        found[i] = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        char p[PATH_MAX_LEN];
        join(p, path, m->string ? m->string : "");
        int i = 0;
        while (i < n && strcmp(names[i], m->string ? m->string : "") != 0)
            i++;
        if (i == n) return fail(e, p, "unknown field");
        if (found[i]) return fail(e, p, "duplicate field");
        found[i] = m;
    }
    return SM_OK;
}

/* ---- values --------------------------------------------------------------------------- */

/* Seconds in [min_ms, LC_MAX_DURATION_MS] milliseconds, rounded to the nearest millisecond. */
static int get_ms(const perr *e, const cJSON *v, const char *path, int64_t min_ms, int64_t *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    /* the comparisons are false for NaN; the upper bound also refuses an overflowed 1e999 */
    if (!(d >= 0.0 && d <= (double)MAX_SECONDS) || (int64_t)(d * 1000.0 + 0.5) < min_ms)
        return fail(e, path, "must be a number of seconds from %s to %lld",
                    min_ms > 0 ? "0.001" : "0", (long long)MAX_SECONDS);
    *out = (int64_t)(d * 1000.0 + 0.5);
    return SM_OK;
}

/* An integer in [lo, hi]; `what` completes "must be ...". */
static int get_int(const perr *e, const cJSON *v, const char *path, int lo, int hi,
                   const char *what, int *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : (double)lo - 1.0;
    if (!(d >= lo && d <= hi) || d != (double)(int)d) return fail(e, path, "must be %s", what);
    *out = (int)d;
    return SM_OK;
}

/* A string of 1 to size-1 bytes, copied into out[size]. */
static int get_text(const perr *e, const cJSON *v, const char *path, char *out, size_t size)
{
    size_t n = cJSON_IsString(v) && v->valuestring ? strlen(v->valuestring) : 0;
    if (n == 0 || n >= size) return fail(e, path, "must be a string of 1 to %zu bytes", size - 1);
    memcpy(out, v->valuestring, n + 1);
    return SM_OK;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int get_name(const perr *e, const cJSON *v, char *out, size_t size)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i])) n = 0;
    if (n == 0 || n >= size)
        return fail(e, "name", "must be a string of 1 to %zu characters from [A-Za-z0-9._-]",
                    size - 1);
    memcpy(out, s, n + 1);
    return SM_OK;
}

static int get_status(const perr *e, const cJSON *v, const char *path, lc_secondary *out)
{
    int s = cJSON_IsString(v) ? lc_secondary_from_name(v->valuestring) : -1;
    if (s >= 0 && lc_is_step_status((lc_secondary)s)) {
        *out = (lc_secondary)s;
        return SM_OK;
    }
    return fail(e, path,
                "must be a step status: Pending, Starting, Downloading, Training, Uploading, "
                "Updating, LaunchingMLInstances, PreparingTrainingStack or "
                "DownloadingTrainingImage (Interrupted, Restarting, Stopping and the final "
                "statuses are entered by the engine)");
}

/* ---- parsing -------------------------------------------------------------------------- */

static int parse_message(const perr *e, const cJSON *m, const char *path, const lc_step *st, int k,
                         lc_message *out)
{
    static const char *const names[] = {"atSeconds", "text"};
    const cJSON *f[2];
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(m))
        return fail(e, path, "must be an object {\"atSeconds\": ..., \"text\": ...}");
    int rc = fields(e, m, path, names, 2, f);
    for (int i = 0; rc == SM_OK && i < 2; i++)
        if (!f[i]) {
            join(p, path, names[i]);
            rc = fail(e, p, "is required");
        }
    if (rc != SM_OK) return rc;
    join(p, path, "atSeconds");
    if ((rc = get_ms(e, f[0], p, 0, &out->at_ms)) != SM_OK) return rc;
    if (k == 0 && out->at_ms != 0)
        return fail(e, p, "must be 0: the first message shows when the step begins");
    if (k > 0 && out->at_ms <= st->msg[k - 1].at_ms)
        return fail(e, p, "must be greater than the previous message's atSeconds");
    if (out->at_ms >= st->duration_ms)
        return fail(e, p, "must be less than the step's durationSeconds");
    join(p, path, "text");
    return get_text(e, f[1], p, out->text, sizeof out->text);
}

static int parse_step(const perr *e, const cJSON *s, const char *path, lc_step *out)
{
    static const char *const names[] = {"status", "durationSeconds", "messages"};
    const cJSON *f[3];
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(s))
        return fail(e, path, "must be an object {\"status\", \"durationSeconds\", \"messages\"}");
    int rc = fields(e, s, path, names, 3, f);
    for (int i = 0; rc == SM_OK && i < 3; i++)
        if (!f[i]) {
            join(p, path, names[i]);
            rc = fail(e, p, "is required");
        }
    if (rc != SM_OK) return rc;
    join(p, path, "status");
    if ((rc = get_status(e, f[0], p, &out->status)) != SM_OK) return rc;
    join(p, path, "durationSeconds");
    if ((rc = get_ms(e, f[1], p, 1, &out->duration_ms)) != SM_OK) return rc;
    join(p, path, "messages");
    int n = cJSON_IsArray(f[2]) ? cJSON_GetArraySize(f[2]) : 0;
    if (n < 1 || n > LC_MAX_MESSAGES)
        return fail(e, p, "must be an array of 1 to %d messages", LC_MAX_MESSAGES);
    const cJSON *m;
    out->nmsg = 0;
    cJSON_ArrayForEach(m, f[2])
    {
        char mp[PATH_MAX_LEN];
        index_path(mp, p, out->nmsg);
        if ((rc = parse_message(e, m, mp, out, out->nmsg, &out->msg[out->nmsg])) != SM_OK)
            return rc;
        out->nmsg++;
    }
    return SM_OK;
}

static int parse_steps(const perr *e, const cJSON *a, lc_scenario *out)
{
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (n < 1 || n > LC_MAX_STEPS)
        return fail(e, "steps", "must be an array of 1 to %d steps", LC_MAX_STEPS);
    const cJSON *s;
    out->nsteps = 0;
    cJSON_ArrayForEach(s, a)
    {
        char p[PATH_MAX_LEN];
        index_path(p, "steps", out->nsteps);
        int rc = parse_step(e, s, p, &out->steps[out->nsteps]);
        if (rc != SM_OK) return rc;
        out->nsteps++;
    }
    return SM_OK;
}

/* "<path>: must be an index into steps (0 to N)" and the offset within that step. */
static int get_step_point(const perr *e, const cJSON *idx, const cJSON *after, const char *ipath,
                          const char *apath, const lc_scenario *sc, int *step, int64_t *after_ms)
{
    char what[64];
    snprintf(what, sizeof what, "an index into steps (an integer from 0 to %d)", sc->nsteps - 1);
    int rc = get_int(e, idx, ipath, 0, sc->nsteps - 1, what, step);
    if (rc == SM_OK) rc = get_ms(e, after, apath, 0, after_ms);
    if (rc == SM_OK && *after_ms >= sc->steps[*step].duration_ms)
        rc = fail(e, apath, "must be less than steps[%d].durationSeconds", *step);
    return rc;
}

static int parse_failure(const perr *e, const cJSON *o, lc_scenario *out)
{
    static const char *const names[] = {"stepIndex", "afterSeconds",    "reason",
                                        "retryable", "failingAttempts", "restartDelaySeconds"};
    const cJSON *f[6];
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(o)) return fail(e, "failure", "must be an object");
    int rc = fields(e, o, "failure", names, 6, f);
    for (int i = 0; rc == SM_OK && i < 3; i++)
        if (!f[i]) {
            join(p, "failure", names[i]);
            rc = fail(e, p, "is required");
        }
    if (rc != SM_OK) return rc;
    rc = get_step_point(e, f[0], f[1], "failure.stepIndex", "failure.afterSeconds", out,
                        &out->fail_step, &out->fail_after_ms);
    if (rc == SM_OK)
        rc = get_text(e, f[2], "failure.reason", out->failure_reason, sizeof out->failure_reason);
    if (rc != SM_OK) return rc;
    if (f[3] && !cJSON_IsBool(f[3])) return fail(e, "failure.retryable", "must be true or false");
    out->retryable = f[3] ? cJSON_IsTrue(f[3]) : 0;
    out->failing_attempts = -1;
    if (f[4]) {
        rc = get_int(e, f[4], "failure.failingAttempts", -1, MAX_COUNT,
                     "-1 (every attempt fails) or an integer from 1 to 1000000",
                     &out->failing_attempts);
        if (rc == SM_OK && out->failing_attempts == 0)
            rc = fail(e, "failure.failingAttempts",
                      "must be -1 (every attempt fails) or an integer from 1 to 1000000");
    }
    out->restart_delay_ms = SCN_DEFAULT_RESTART_DELAY_MS;
    if (rc == SM_OK && f[5])
        rc = get_ms(e, f[5], "failure.restartDelaySeconds", 0, &out->restart_delay_ms);
    return rc;
}

static int parse_spot(const perr *e, const cJSON *o, lc_scenario *out)
{
    static const char *const names[] = {"savingsPercent", "interruptions", "interruptStepIndex",
                                        "interruptAfterSeconds", "interruptedSeconds"};
    const cJSON *f[5];
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(o)) return fail(e, "spot", "must be an object");
    int rc = fields(e, o, "spot", names, 5, f);
    if (rc == SM_OK && f[0])
        rc = get_int(e, f[0], "spot.savingsPercent", 0, 100, "an integer from 0 to 100",
                     &out->spot_savings_pct);
    if (rc == SM_OK && f[1])
        rc = get_int(e, f[1], "spot.interruptions", -1, MAX_COUNT,
                     "-1 (until MaxWaitTimeInSeconds) or an integer from 0 to 1000000",
                     &out->interruptions);
    for (int i = 2; rc == SM_OK && i < 5; i++) {
        join(p, "spot", names[i]);
        if (out->interruptions == 0 && f[i])
            rc = fail(e, p, "is allowed only when interruptions is not 0");
        else if (out->interruptions != 0 && !f[i])
            rc = fail(e, p, "is required when interruptions is not 0");
    }
    if (rc != SM_OK || out->interruptions == 0) return rc;
    rc = get_step_point(e, f[2], f[3], "spot.interruptStepIndex", "spot.interruptAfterSeconds", out,
                        &out->interrupt_step, &out->interrupt_after_ms);
    if (rc == SM_OK) rc = get_ms(e, f[4], "spot.interruptedSeconds", 0, &out->interrupted_ms);
    return rc;
}

int scn_from_json(const cJSON *in, lc_scenario *out, char *err, size_t errlen)
{
    static const char *const names[] = {"name",     "steps",    "stopDelaySeconds", "failure",
                                        "spot",     "metrics",  "ruleResults",      "description",
                                        "logLines", "objective"};
    const perr e = {err, errlen};
    const cJSON *f[10];
    if (err && errlen > 0) err[0] = '\0';
    if (!out) return SM_EINVAL;
    if (!cJSON_IsObject(in)) return fail(&e, "scenario", "must be a JSON object");
    memset(out, 0, sizeof *out);
    out->stop_delay_ms = SCN_DEFAULT_STOP_DELAY_MS;
    out->fail_step = -1;
    out->failing_attempts = -1;
    out->spot_savings_pct = SCN_DEFAULT_SAVINGS_PCT;

    int rc = fields(&e, in, "", names, 10, f);
    if (rc == SM_OK && !f[0]) rc = fail(&e, "name", "is required");
    if (rc == SM_OK && !f[1]) rc = fail(&e, "steps", "is required");
    if (rc == SM_OK) rc = get_name(&e, f[0], out->name, sizeof out->name);
    if (rc == SM_OK) rc = parse_steps(&e, f[1], out);
    if (rc == SM_OK && f[2]) rc = get_ms(&e, f[2], "stopDelaySeconds", 0, &out->stop_delay_ms);
    if (rc == SM_OK && f[3]) rc = parse_failure(&e, f[3], out);
    if (rc == SM_OK && f[4]) rc = parse_spot(&e, f[4], out);
    scn_extras extras;
    if (rc == SM_OK) rc = scn_extras_from_json(in, &extras, err, errlen);
    /* "objective": the tuning objective's response surface (tuning_job.h) */
    tn_surface surface;
    if (rc == SM_OK && f[9]) rc = tuning_objective_from_json(f[9], &surface, NULL, err, errlen);
    return rc;
}

static const char *const rule_results[] = {"NoIssuesFound", "IssuesFound", "Error"};

/* "logLines": [{"at": "start" | "epoch" | "end" | "failure", "text": "..."}]: lines the job's
 * containers print at those points of its story (engine/joblog.h, jl_template). */
static int parse_log_lines(const perr *e, const cJSON *a, scn_extras *out)
{
    static const char *const whens[] = {"start", "epoch", "end", "failure"};
    static const int codes[] = {JL_AT_START, JL_AT_EPOCH, JL_AT_END, JL_AT_FAILURE};
    if (!a) return SM_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > SCN_MAX_LOG_LINES)
        return fail(e, "logLines", "must be an array of at most %d {\"at\", \"text\"} objects",
                    SCN_MAX_LOG_LINES);
    const cJSON *l;
    cJSON_ArrayForEach(l, a)
    {
        char path[64];
        snprintf(path, sizeof path, "logLines[%d]", out->nlog_lines);
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(l, "at");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(l, "text");
        if (!cJSON_IsObject(l) || cJSON_GetArraySize(l) != 2 || !at || !text)
            return fail(e, path, "must be an object with exactly \"at\" and \"text\"");
        int k = 0;
        while (k < 4 && !(cJSON_IsString(at) && strcmp(at->valuestring, whens[k]) == 0))
            k++;
        if (k == 4) return fail(e, path, "at: must be start, epoch, end or failure");
        if (!cJSON_IsString(text) || !*text->valuestring ||
            strlen(text->valuestring) >= sizeof out->log_text[0] || strchr(text->valuestring, '\n'))
            return fail(e, path, "text: must be one line of 1 to %zu bytes",
                        sizeof out->log_text[0] - 1);
        out->log_when[out->nlog_lines] = codes[k];
        snprintf(out->log_text[out->nlog_lines++], sizeof out->log_text[0], "%s",
                 text->valuestring);
    }
    return SM_OK;
}

int scn_extras_from_json(const cJSON *in, scn_extras *out, char *err, size_t errlen)
{
    const perr e = {err, errlen};
    memset(out, 0, sizeof *out);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(in, "description");
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(in, "metrics");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(in, "ruleResults");
    if (d && get_text(&e, d, "description", out->description, sizeof out->description))
        return SM_EINVAL;
    if (metrics && !cJSON_IsObject(metrics))
        return fail(&e, "metrics", "must be an object of metric name -> number");
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics)
    {
        char path[300];
        join(path, "metrics", m->string);
        if (out->nmetrics == SCN_MAX_METRICS)
            return fail(&e, "metrics", "at most %d metrics", SCN_MAX_METRICS);
        if (!*m->string || strlen(m->string) >= sizeof out->metric_name[0])
            return fail(&e, path, "metric names have 1 to 255 characters");
        if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble))
            return fail(&e, path, "must be a number");
        snprintf(out->metric_name[out->nmetrics], sizeof out->metric_name[0], "%s", m->string);
        out->metric_value[out->nmetrics++] = m->valuedouble;
    }
    if (parse_log_lines(&e, cJSON_GetObjectItemCaseSensitive(in, "logLines"), out) != SM_OK)
        return SM_EINVAL;
    if (rules && !cJSON_IsObject(rules))
        return fail(&e, "ruleResults",
                    "must be an object of rule configuration name -> NoIssuesFound, "
                    "IssuesFound or Error");
    cJSON_ArrayForEach(m, rules)
    {
        char path[300];
        join(path, "ruleResults", m->string);
        if (out->nrules == SCN_MAX_RULES)
            return fail(&e, "ruleResults", "at most %d rules", SCN_MAX_RULES);
        if (!*m->string || strlen(m->string) >= sizeof out->rule_name[0])
            return fail(&e, path, "rule names have 1 to 256 characters");
        int k = 0;
        while (k < 3 && !(cJSON_IsString(m) && strcmp(m->valuestring, rule_results[k]) == 0))
            k++;
        if (k == 3) return fail(&e, path, "must be NoIssuesFound, IssuesFound or Error");
        snprintf(out->rule_name[out->nrules], sizeof out->rule_name[0], "%s", m->string);
        out->rule_result[out->nrules++] = rule_results[k];
    }
    return SM_OK;
}

const char *scn_extras_rule_result(const scn_extras *x, const char *rule)
{
    for (int i = 0; i < x->nrules; i++)
        if (strcmp(x->rule_name[i], rule) == 0) return x->rule_result[i];
    return "NoIssuesFound";
}

int scn_extras_metric(const scn_extras *x, const char *metric, double *value)
{
    for (int i = 0; i < x->nmetrics; i++)
        if (strcmp(x->metric_name[i], metric) == 0) {
            *value = x->metric_value[i];
            return 1;
        }
    return 0;
}

/* ---- rendering ------------------------------------------------------------------------ */

static int terminated(const char *s, size_t size)
{
    return strnlen(s, size) < size;
}

/* What scn_to_json needs to render without reading out of bounds. */
static int renderable(const lc_scenario *sc)
{
    if (!terminated(sc->name, sizeof sc->name) || sc->nsteps < 1 || sc->nsteps > LC_MAX_STEPS)
        return 0;
    for (int i = 0; i < sc->nsteps; i++) {
        const lc_step *st = &sc->steps[i];
        if (!lc_secondary_name(st->status) || st->nmsg < 1 || st->nmsg > LC_MAX_MESSAGES) return 0;
        for (int k = 0; k < st->nmsg; k++)
            if (!terminated(st->msg[k].text, sizeof st->msg[k].text)) return 0;
    }
    if (sc->fail_step >= sc->nsteps ||
        (sc->fail_step >= 0 && !terminated(sc->failure_reason, sizeof sc->failure_reason)))
        return 0;
    return 1;
}

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

static int add_number(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) ? SM_OK : SM_ENOMEM;
}

static cJSON *render_step(const lc_step *st)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *msgs = cJSON_CreateArray();
    int ok = s && msgs && cJSON_AddStringToObject(s, "status", lc_secondary_name(st->status)) &&
             add_number(s, "durationSeconds", seconds(st->duration_ms)) == SM_OK &&
             cJSON_AddItemToObject(s, "messages", msgs);
    if (!ok) {
        cJSON_Delete(msgs);
        cJSON_Delete(s);
        return NULL;
    }
    for (int k = 0; k < st->nmsg; k++) {
        cJSON *m = cJSON_CreateObject();
        if (m && !cJSON_AddItemToArray(msgs, m)) {
            cJSON_Delete(m);
            m = NULL;
        }
        /* from here m, if any, belongs to msgs, which belongs to s */
        if (!m || add_number(m, "atSeconds", seconds(st->msg[k].at_ms)) != SM_OK ||
            !cJSON_AddStringToObject(m, "text", st->msg[k].text)) {
            cJSON_Delete(s);
            return NULL;
        }
    }
    return s;
}

static int render_failure(const lc_scenario *sc, cJSON *o)
{
    cJSON *f = cJSON_AddObjectToObject(o, "failure");
    if (!f || add_number(f, "stepIndex", sc->fail_step) != SM_OK ||
        add_number(f, "afterSeconds", seconds(sc->fail_after_ms)) != SM_OK ||
        !cJSON_AddStringToObject(f, "reason", sc->failure_reason) ||
        !cJSON_AddBoolToObject(f, "retryable", sc->retryable) ||
        add_number(f, "failingAttempts", sc->failing_attempts) != SM_OK ||
        add_number(f, "restartDelaySeconds", seconds(sc->restart_delay_ms)) != SM_OK)
        return SM_ENOMEM;
    return SM_OK;
}

static int render_spot(const lc_scenario *sc, cJSON *o)
{
    cJSON *s = cJSON_AddObjectToObject(o, "spot");
    if (!s || add_number(s, "savingsPercent", sc->spot_savings_pct) != SM_OK) return SM_ENOMEM;
    if (sc->interruptions == 0) return SM_OK;
    if (add_number(s, "interruptions", sc->interruptions) != SM_OK ||
        add_number(s, "interruptStepIndex", sc->interrupt_step) != SM_OK ||
        add_number(s, "interruptAfterSeconds", seconds(sc->interrupt_after_ms)) != SM_OK ||
        add_number(s, "interruptedSeconds", seconds(sc->interrupted_ms)) != SM_OK)
        return SM_ENOMEM;
    return SM_OK;
}

int scn_to_json(const lc_scenario *sc, cJSON **out)
{
    if (!sc || !out || !renderable(sc)) return SM_EINVAL;
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *steps = cJSON_CreateArray();
    int rc = o && steps && cJSON_AddStringToObject(o, "name", sc->name) &&
                     cJSON_AddItemToObject(o, "steps", steps)
                 ? SM_OK
                 : SM_ENOMEM;
    if (rc != SM_OK) cJSON_Delete(steps); /* not yet owned by o */
    for (int i = 0; rc == SM_OK && i < sc->nsteps; i++) {
        cJSON *s = render_step(&sc->steps[i]);
        if (!s || !cJSON_AddItemToArray(steps, s)) {
            cJSON_Delete(s);
            rc = SM_ENOMEM;
        }
    }
    if (rc == SM_OK) rc = add_number(o, "stopDelaySeconds", seconds(sc->stop_delay_ms));
    if (rc == SM_OK && sc->fail_step >= 0) rc = render_failure(sc, o);
    if (rc == SM_OK && (sc->interruptions != 0 || sc->spot_savings_pct != SCN_DEFAULT_SAVINGS_PCT))
        rc = render_spot(sc, o);
    if (rc != SM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return SM_OK;
}
