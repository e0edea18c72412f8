/*
 * admin.c: the admin API (see admin.h).
 *
 *   GET  /_sagemock/health   {"status":"ok","version":...}
 *   GET  /_sagemock/clock    {"now": epoch seconds, "rate": r, "paused": bool}
 *   POST /_sagemock/clock    any of {"set": epoch seconds, "advance": seconds, "rate": r},
 *                            applied in that order, all or nothing; answers the new clock
 *   POST /_sagemock/reset    removes every job and tag, drops faults and run-time fixtures,
 *                            loads the start-up fixtures again and restores the start-up
 *                            clock rate (time itself never goes back)
 *   GET  /_sagemock/scenarios  every scenario (built-in and from fixtures), rules, default
 *   POST /_sagemock/fixtures   load a fixture document (the body), whole or not at all
 *   GET|POST|DELETE /_sagemock/faults   list, add (one fault, or {"faults": [...]}), clear
 *   GET  /_sagemock/jobs     every job of every region with its scenario (?limit=N, <= 10000)
 *   GET  /_sagemock/jobs/describe?region=R&name=N   the Describe body of one job (of any
 *                            region; region defaults to --region) at the simulated now
 *   GET  /_sagemock/jobs/logs?region=R&name=N   that job's CloudWatch log streams and events at
 *                            the simulated now
 *   GET  /_sagemock/tuning-jobs   every hyperparameter tuning job with its children (?limit=N,
 *                            <= 1000), at the simulated now (tuning_admin.c)
 *   GET  /_sagemock/jobs/metrics?region=R&name=N   that job's CloudWatch metrics (algorithm
 *                            and per-host instance series) at the simulated now
 *   GET  /_sagemock/ui       the dashboard: one static page (server/ui/index.html, embedded)
 *   GET  /_sagemock/requests the request journal, newest first: ?service=, ?operation=, ?job=,
 * ?status= (a code, or 4 / 5 for a class), ?since= (epoch seconds), ?limit=
 *
 * With --admin-token every endpoint but health needs the token (auth_admin_check): 401
 * otherwise. GET /_sagemock/ui also takes it as ?token= (ui_gate), so a browser can open it.
 *
 * Cross-site use (site_gate): the API is open on purpose, so a web page of another origin must
 * not drive it. A request whose Host is not the server's own (a loopback name or address,
 * --host, the address the connection came in on, a --admin-hosts name) is refused 403, which
 * stops DNS rebinding; a request that changes state (not GET or HEAD) from a browser page of
 * another origin (its Origin is not http(s)://<Host> nor a --admin-hosts name) is refused 403,
 * which stops cross-site POSTs, no-cors ones included. --admin-hosts '*' turns both off.
 * Health is exempt: container health checks send their own Host, and it changes nothing.
 *
 * Bodies: larger than --max-body is 413 before anything is read or loaded; JSON bodies must be
 * valid UTF-8 without NUL (text.c) and hold nothing after the value.
 */
#include "admin.h"
#include "auth.h"
#include "boot.h"
#include "clock.h"
#include "cloudwatch.h"
#include "config.h"
#include "describe.h"
#include "errors.h"
#include "faults.h"
#include "fixtures.h"
#include "jobs.h"
#include "journal.h"
#include "registry.h"
#include "reply.h"
#include "sigv4.h"
#include "store.h"
#include "text.h"
#include "training_log.h"
#include "tuning_job.h"

#include <arpa/inet.h>
#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t clock_change = PTHREAD_MUTEX_INITIALIZER;

/* Give freed memory back to the system after a large table is dropped (faults, a reset):
 * glibc keeps it in the heap otherwise, and RSS would stay at its high-water mark. */
static void give_back_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* The body as a JSON value: valid UTF-8, no NUL or \u0000, nothing after the value. NULL (with
 * why) otherwise; the caller owns the result. */
static cJSON *body_json(const sm_req *r, char *why, size_t whylen)
{
    if (!r->body_len) {
        snprintf(why, whylen, "the body is empty");
        return NULL;
    }
    char bad[160];
    if (text_json_check(r->body, r->body_len, NULL, bad, sizeof bad) != SM_OK) {
        snprintf(why, whylen, "the body %s", bad);
        return NULL;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(r->body, r->body_len + 1, &end, 1);
    if (!v) snprintf(why, whylen, "the body is not valid JSON (or has text after the value)");
    return v;
}

static cJSON *clock_json(const sm_clock *c, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToObject(o, "now", reply_time(now_ms)) ||
        !cJSON_AddNumberToObject(o, "rate", c->rate) ||
        !cJSON_AddBoolToObject(o, "paused", c->rate == 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int health(sm_req *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddStringToObject(o, "version", SAGEMOCK_VERSION);
    }
    return reply_admin(r, 200, o);
}

static int number_member(const cJSON *in, const char *name, double *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
    *present = v != NULL;
    if (!v) return SM_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return SM_EINVAL;
    *out = v->valuedouble;
    return SM_OK;
}

static int clock_change_req(sm_req *r)
{
    char why[200];
    cJSON *in = body_json(r, why, sizeof why);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return reply_admin_error(r, 400,
                                 "expected a JSON object with any of \"set\" (epoch seconds), "
                                 "\"advance\" (seconds) and \"rate\" (0 pauses)%s%s",
                                 in ? "" : ": ", in ? "" : why);
    }
    double set = 0, adv = 0, rate = 0;
    int has_set, has_adv, has_rate;
    const cJSON *m;
    cJSON_ArrayForEach(m, in)
    {
        if (strcmp(m->string, "set") && strcmp(m->string, "advance") && strcmp(m->string, "rate")) {
            reply_admin_error(r, 400, "unknown member \"%s\": expected set, advance or rate",
                              m->string);
            cJSON_Delete(in);
            return SM_ERR;
        }
    }
    int bad = number_member(in, "set", &set, &has_set) |
              number_member(in, "advance", &adv, &has_adv) |
              number_member(in, "rate", &rate, &has_rate);
    cJSON_Delete(in);
    if (bad) return reply_admin_error(r, 400, "set, advance and rate must be numbers");
    if (!has_set && !has_adv && !has_rate)
        return reply_admin_error(r, 400, "give at least one of set, advance and rate");

    pthread_mutex_lock(&clock_change);
    sm_clock c = clock_global_get();
    int64_t now = clock_now(r->wall_ms);
    const char *err = NULL;
    /* Past CLOCK_MAX_MS (9999-12-31T23:59:59Z) no client can parse a timestamp. */
    const char *beyond = "the simulated clock cannot go past 9999-12-31T23:59:59Z "
                         "(253402300799), the latest time AWS clients can parse";
    if (has_set && !(set * 1000.0 <= (double)CLOCK_MAX_MS))
        err = beyond;
    else if (has_set && clock_set(&c, r->wall_ms, (int64_t)llround(set * 1000.0)) != SM_OK)
        err = "set must be an epoch time (seconds) not earlier than the clock's now: the clock "
              "never goes back";
    else if (has_adv && adv < 0)
        err = "advance must be a number of seconds >= 0";
    else if (has_adv && (!(adv * 1000.0 <= (double)CLOCK_MAX_MS) ||
                         clock_advance(&c, r->wall_ms, (int64_t)llround(adv * 1000.0)) != SM_OK))
        err = beyond;
    else if (has_rate && clock_set_rate(&c, r->wall_ms, rate) != SM_OK)
        err = "rate must be from 0 (paused) to 1000000";
    if (!err && boot_clock_save(&c) != SM_OK) err = "cannot persist the clock";
    if (!err) clock_global_put(&c);
    now = clock_now(r->wall_ms);
    pthread_mutex_unlock(&clock_change);
    if (err) return reply_admin_error(r, 400, "%s (now is %.3f)", err, (double)now / 1000.0);
    return reply_admin(r, 200, clock_json(&c, now));
}

static int reset(sm_req *r)
{
    char why[2048];
    int64_t now = clock_now(r->wall_ms);
    if (fx_reset(now, why, sizeof why) != SM_OK)
        return reply_admin_error(r, 500, "reset failed: %s", why);
    journal_clear();
    give_back_memory();
    pthread_mutex_lock(&clock_change);
    sm_clock c = clock_global_get();
    if (clock_set_rate(&c, r->wall_ms, cfg.clock_rate) == SM_OK && boot_clock_save(&c) == SM_OK)
        clock_global_put(&c);
    pthread_mutex_unlock(&clock_change);
    cJSON *o = cJSON_CreateObject();
    if (o) cJSON_AddStringToObject(o, "status", "ok");
    return reply_admin(r, 200, o);
}

/* The raw (still percent-encoded) value of query parameter `name` in r->query ("k=v&..."), and
 * its length in *len; NULL when absent. */
static const char *query_raw(const sm_req *r, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (const char *p = r->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            *len = l - n - 1;
            return p + n + 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* The value of query parameter `name` in r->query, or NULL when absent. Admin values are plain
 * numbers and names, so a value with an escape reads as "" (and is refused by the caller).
 * Valid until this thread's next call. */
static const char *query_arg(const sm_req *r, const char *name)
{
    static __thread char value[256];
    size_t v;
    const char *p = query_raw(r, name, &v);
    if (!p) return NULL;
    if (v >= sizeof value || memchr(p, '%', v)) return "";
    memcpy(value, p, v);
    value[v] = 0;
    return value;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Query parameter `name` percent-decoded into out; 0 when absent, too long or malformed. */
static int query_decoded(const sm_req *r, const char *name, char *out, size_t outlen)
{
    size_t len, o = 0;
    const char *p = query_raw(r, name, &len);
    if (!p) return 0;
    for (size_t i = 0; i < len; i++) {
        if (o + 1 >= outlen) return 0;
        int hi = 0, lo = 0;
        if (p[i] == '%' &&
            (i + 2 >= len || (hi = hex_digit(p[i + 1])) < 0 || (lo = hex_digit(p[i + 2])) < 0))
            return 0;
        out[o++] = p[i] == '%' ? (char)(hi * 16 + lo) : p[i];
        if (p[i] == '%') i += 2;
    }
    out[o] = 0;
    return 1;
}

static int requests(sm_req *r)
{
    journal_query q = {NULL, NULL, NULL, 0, -1, 100};
    const char *v;
    /* As large as query_arg's values: an over-long one matches nothing. */
    char svc[256], op[256], job[256];
    /* query_arg's buffer is reused by the next call: copy each value out. */
    if ((v = query_arg(r, "service"))) {
        snprintf(svc, sizeof svc, "%s", v);
        q.service = svc;
    }
    if ((v = query_arg(r, "operation"))) {
        snprintf(op, sizeof op, "%s", v);
        q.operation = op;
    }
    if ((v = query_arg(r, "job"))) {
        snprintf(job, sizeof job, "%s", v);
        q.job = job;
    }
    if ((v = query_arg(r, "status"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end || !((n >= 4 && n <= 5) || (n >= 100 && n <= 599)))
            return reply_admin_error(r, 400,
                                     "status must be an HTTP status, or 4 or 5 for a class");
        q.status = (int)n;
    }
    if ((v = query_arg(r, "since"))) {
        char *end;
        double t = strtod(v, &end);
        if (end == v || *end || !(t >= 0))
            return reply_admin_error(r, 400, "since must be epoch seconds");
        q.since_wall_ms = (int64_t)(t * 1000.0);
    }
    if ((v = query_arg(r, "limit"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < 1 || n > 100000)
            return reply_admin_error(r, 400, "limit must be 1 to 100000");
        q.limit = (int)n;
    }
    cJSON *o = journal_query_json(&q);
    return o ? reply_admin(r, 200, o) : reply_admin_error(r, 500, "out of memory");
}

extern const char ui_index_html[];

/* GET /_sagemock/jobs/describe?region=R&name=N: the DescribeTrainingJob body of any job of any
 * region at the simulated now (for the dashboard), built as the API's Describe builds it. */
/* The job that ?region=R&name=N names (region defaults to --region), loaded whole; replies and
 * returns SM_ERR when there is none. */
static int job_of_query(sm_req *r, store_job *job)
{
    char region[STORE_REGION_MAX], name[STORE_NAME_MAX];
    const char *v = query_arg(r, "region");
    if (v && strlen(v) >= sizeof region) return reply_admin_error(r, 404, "no such job");
    snprintf(region, sizeof region, "%.*s", (int)sizeof region - 1, v ? v : cfg.region);
    if (!(v = query_arg(r, "name")) || !*v)
        return reply_admin_error(r, 400, "give the job's name: ?name=N (and ?region=R)");
    if (strlen(v) >= sizeof name) return reply_admin_error(r, 404, "no such job");
    snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, v);
    if (tuning_advance_due(clock_now(r->wall_ms)) < 0) /* a tuning job's children, now */
        return reply_admin_error(r, 500, "cannot bring the tuning jobs up to date");
    int rc = store_job_get(region, name, job);
    if (rc == SM_ENOTFOUND)
        return reply_admin_error(r, 404, "no training job %s in region %s", name, region);
    if (rc != SM_OK) return reply_admin_error(r, 500, "cannot read the job: %s", store_errmsg());
    return SM_OK;
}

/* GET /_sagemock/jobs/describe?region=R&name=N: the DescribeTrainingJob body of any job of any
 * region at the simulated now (for the dashboard), built as the API's Describe builds it. */
static int job_describe(sm_req *r)
{
    store_job job;
    if (job_of_query(r, &job) != SM_OK) return SM_ERR;
    jobs_ctx *c = jobs_ctx_new();
    cJSON *out = c && jobs_eval(&job, clock_now(r->wall_ms), c) == SM_OK
                     ? describe_job(&job, &c->view, c->reused_by)
                     : NULL;
    jobs_ctx_free(c);
    if (!out) reply_admin_error(r, 500, "cannot describe the job %s", job.name);
    store_job_clear(&job);
    return out ? reply_admin(r, 200, out) : SM_ERR;
}

/* GET /_sagemock/jobs/logs?region=R&name=N: the job's CloudWatch log at the simulated now,
 * {"streams": [{"name", "created", "events": [{"timestamp", "message"}]}]}, as GetLogEvents
 * would page through it (times in epoch milliseconds, like CloudWatch Logs). */
static int job_logs(sm_req *r)
{
    store_job job;
    if (job_of_query(r, &job) != SM_OK) return SM_ERR;
    jl_log log;
    int rc = training_log(&job, clock_now(r->wall_ms), &log);
    store_job_clear(&job);
    if (rc != SM_OK) return reply_admin_error(r, 500, "cannot build the job's log");
    cJSON *out = cJSON_CreateObject(), *streams = cJSON_AddArrayToObject(out, "streams");
    int ok = out && streams;
    for (int i = 0; ok && i < log.nstreams; i++) {
        const jl_stream *s = &log.streams[i];
        cJSON *o = cJSON_CreateObject(), *events = NULL;
        ok = o && cJSON_AddItemToArray(streams, o) && cJSON_AddStringToObject(o, "name", s->name) &&
             cJSON_AddNumberToObject(o, "created", (double)s->created_ms) &&
             (events = cJSON_AddArrayToObject(o, "events"));
        for (int k = 0; ok && k < s->nevents; k++) {
            cJSON *e = cJSON_CreateObject();
            ok = e && cJSON_AddItemToArray(events, e) &&
                 cJSON_AddNumberToObject(e, "timestamp", (double)s->events[k].timestamp_ms) &&
                 cJSON_AddStringToObject(e, "message", s->events[k].message);
        }
    }
    jl_free(&log);
    if (!ok) {
        cJSON_Delete(out);
        return reply_admin_error(r, 500, "out of memory");
    }
    return reply_admin(r, 200, out);
}

/* GET /_sagemock/jobs/metrics?region=R&name=N: the job's CloudWatch metric series at the
 * simulated now, as GetMetricStatistics reads them (cloudwatch.h), for the dashboard's plots. */
static int job_metrics(sm_req *r)
{
    store_job job;
    if (job_of_query(r, &job) != SM_OK) return SM_ERR;
    cJSON *out = cw_job_metrics_json(&job, clock_now(r->wall_ms));
    store_job_clear(&job);
    if (!out) return reply_admin_error(r, 500, "cannot compute the job's metrics");
    return reply_admin(r, 200, out);
}

static int ui(sm_req *r)
{
    return reply_raw(r, 200, "text/html; charset=utf-8", ui_index_html, strlen(ui_index_html));
}

static int scenarios(sm_req *r)
{
    return reply_admin(r, 200, reg_to_json());
}

static int fixtures_load(sm_req *r)
{
    char why[4096];
    cJSON *summary = NULL;
    if (!r->body_len) return reply_admin_error(r, 400, "the body must be a fixture document");
    int rc = fx_load_text(r->body, r->body_len, "request body", clock_now(r->wall_ms), &summary,
                          why, sizeof why);
    give_back_memory(); /* a large document's parse is freed by now */
    if (rc != SM_OK) return reply_admin_error(r, 400, "%s", why);
    return reply_admin(r, 200, summary);
}

static int faults_list(sm_req *r)
{
    cJSON *o = cJSON_CreateObject(), *a = fault_to_json();
    if (!o || !a || !cJSON_AddItemToObject(o, "faults", a)) {
        cJSON_Delete(a);
        cJSON_Delete(o);
        return reply_admin_error(r, 500, "out of memory");
    }
    return reply_admin(r, 200, o);
}

static int faults_add(sm_req *r)
{
    char why[512];
    cJSON *in = body_json(r, why, sizeof why);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "faults");
    cJSON *one = NULL, *norm = cJSON_CreateArray();
    int rc = cJSON_IsObject(in) && norm ? SM_OK : SM_EINVAL;
    if (rc != SM_OK && in)
        snprintf(why, sizeof why, "the body must be a fault object or {\"faults\": [...]}");
    int adding = list ? cJSON_GetArraySize(list) : 1;
    if (rc == SM_OK && fault_count() + adding > FAULT_MAX) {
        rc = SM_EINVAL;
        snprintf(why, sizeof why,
                 "at most %d faults: %d are set, this adds %d (DELETE /_sagemock/faults clears "
                 "them)",
                 FAULT_MAX, fault_count(), adding);
    }
    if (rc == SM_OK && list) {
        int i = 0;
        const cJSON *f, *items = cJSON_IsArray(list) ? list : NULL;
        if (!items) rc = SM_EINVAL, snprintf(why, sizeof why, "faults: must be an array");
        cJSON_ArrayForEach(f, items)
        {
            char w[400];
            if (rc != SM_OK) break;
            if ((rc = fault_parse(f, &one, w, sizeof w)) == SM_OK)
                cJSON_AddItemToArray(norm, one);
            else
                snprintf(why, sizeof why, "faults[%d].%s", i, w);
            i++;
        }
    } else if (rc == SM_OK) {
        if ((rc = fault_parse(in, &one, why, sizeof why)) == SM_OK) cJSON_AddItemToArray(norm, one);
    }
    cJSON_Delete(in);
    if (rc != SM_OK) {
        cJSON_Delete(norm);
        give_back_memory(); /* a refused body of 6 MiB parsed to ~80 MB */
        return reply_admin_error(r, 400, "%s", why);
    }
    rc = fault_add_all(norm);
    cJSON_Delete(norm);
    if (rc != SM_OK)
        return reply_admin_error(r, rc == SM_ENOMEM ? 500 : 400,
                                 rc == SM_ENOMEM ? "out of memory"
                                                 : "at most %d faults (DELETE /_sagemock/faults "
                                                   "clears them)",
                                 FAULT_MAX);
    return faults_list(r);
}

static int faults_clear(sm_req *r)
{
    fault_clear();
    give_back_memory();
    return faults_list(r);
}

static int job_row(store_job *j, void *arg)
{
    cJSON *o = cJSON_CreateObject();
    int ok =
        o && cJSON_AddStringToObject(o, "name", j->name) &&
        cJSON_AddStringToObject(o, "arn", j->arn) &&
        cJSON_AddStringToObject(o, "region", j->region) &&
        cJSON_AddStringToObject(o, "scenario", j->scenario_name) &&
        cJSON_AddStringToObject(o, "status", j->status) &&
        cJSON_AddStringToObject(o, "secondaryStatus", j->secondary) &&
        cJSON_AddItemToObject(o, "creationTime", reply_time(j->created_ms)) &&
        cJSON_AddItemToObject(o, "lastModifiedTime", reply_time(j->last_modified_ms)) &&
        (j->end_ms < 0 || cJSON_AddItemToObject(o, "trainingEndTime", reply_time(j->end_ms))) &&
        (!j->warm_pool[0] || cJSON_AddStringToObject(o, "warmPoolStatus", j->warm_pool)) &&
        cJSON_AddItemToArray(arg, o);
    if (!ok) cJSON_Delete(o);
    return !ok;
}

static int jobs_list(sm_req *r)
{
    long limit = 1000;
    const char *q = query_arg(r, "limit");
    if (q) {
        char *end;
        limit = strtol(q, &end, 10);
        if (end == q || *end) limit = 0;
    }
    if (limit < 1 || limit > 10000) return reply_admin_error(r, 400, "limit must be 1 to 10000");
    if (tuning_advance_due(clock_now(r->wall_ms)) < 0 ||
        jobs_advance_due(clock_now(r->wall_ms)) < 0)
        return reply_admin_error(r, 500, "cannot bring the jobs up to date: %s", store_errmsg());
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
    if (!o || !a || store_all((int)limit, job_row, a) < 0 || !cJSON_AddItemToObject(o, "jobs", a)) {
        cJSON_Delete(a);
        cJSON_Delete(o);
        return reply_admin_error(r, 500, "cannot list the jobs");
    }
    return reply_admin(r, 200, o);
}

typedef struct route {
    const char *path, *method;
    int (*fn)(sm_req *r);
} route;

static int clock_get(sm_req *r)
{
    sm_clock c = clock_global_get();
    return reply_admin(r, 200, clock_json(&c, clock_now(r->wall_ms)));
}

static const route routes[] = {
    {"/_sagemock/clock", "GET", clock_get},
    {"/_sagemock/clock", "POST", clock_change_req},
    {"/_sagemock/faults", "DELETE", faults_clear},
    {"/_sagemock/faults", "GET", faults_list},
    {"/_sagemock/faults", "POST", faults_add},
    {"/_sagemock/fixtures", "POST", fixtures_load},
    {"/_sagemock/health", "GET", health},
    {"/_sagemock/jobs", "GET", jobs_list},
    {"/_sagemock/jobs/describe", "GET", job_describe},
    {"/_sagemock/jobs/logs", "GET", job_logs},
    {"/_sagemock/jobs/metrics", "GET", job_metrics},
    {"/_sagemock/requests", "GET", requests},
    {"/_sagemock/reset", "POST", reset},
    {"/_sagemock/scenarios", "GET", scenarios},
    {"/_sagemock/tuning-jobs", "GET", tuning_admin_jobs},
    {"/_sagemock/ui", "GET", ui},
};

static int path_is(const sm_req *r, size_t n, const char *path)
{
    return n == strlen(path) && strncmp(r->path, path, n) == 0;
}

/* The dashboard's page under --admin-token. A browser opening a link sends no header, so GET
 * /_sagemock/ui also takes the token as ?token= (the query is never logged); the page then
 * sends it as X-Sagemock-Admin-Token on every fetch. Replies 401 itself when refused. */
static int ui_gate(sm_req *r)
{
    char given[512];
    if (!cfg.admin_token) return SM_OK;
    if (query_decoded(r, "token", given, sizeof given))
        return sigv4_equal(given, cfg.admin_token)
                   ? SM_OK
                   : reply_admin_error(r, 401, "the admin token is not valid");
    if (r->authorization || (r->header && r->header(r->transport, "X-Sagemock-Admin-Token")))
        return auth_admin_check(r);
    return reply_admin_error(r, 401,
                             "the dashboard needs the admin token: open "
                             "/_sagemock/ui?token=<token>");
}

/* The host part of a Host header or an origin's authority, lower-cased, without the port or
 * the brackets of an IPv6 address. 0 when it does not fit or is malformed. */
static int host_part(const char *h, size_t len, char *out, size_t outlen)
{
    size_t n;
    if (len && h[0] == '[') {
        const char *close = memchr(h, ']', len);
        if (!close) return 0;
        h++;
        n = (size_t)(close - h);
    } else {
        const char *colon = memchr(h, ':', len);
        n = colon ? (size_t)(colon - h) : len;
    }
    if (n == 0 || n >= outlen) return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)h[i]);
    out[n] = 0;
    if (out[n - 1] == '.') out[n - 1] = 0; /* "localhost." is localhost */
    return out[0] != 0;
}

/* Whether `host` is one of --admin-hosts. */
static int listed_host(const char *host)
{
    for (const char *p = cfg.admin_hosts; p && *p;) {
        size_t n = strcspn(p, ",");
        char h[256];
        if (host_part(p, n, h, sizeof h) && strcmp(h, host) == 0) return 1;
        p += n;
        if (*p) p++;
    }
    return 0;
}

/* Whether `host` (from the Host header) names this server: a loopback name or address,
 * --host, the address the connection came in on, or a --admin-hosts name. A DNS-rebinding
 * page reaches the server under the attacker's own name, so it is none of these. */
static int own_host(const sm_req *r, const char *host)
{
    unsigned char a[16];
    if (strcmp(host, "localhost") == 0 ||
        (strlen(host) > 10 && strcmp(host + strlen(host) - 10, ".localhost") == 0))
        return 1;
    if (inet_pton(AF_INET, host, a) == 1 && a[0] == 127) return 1;
    if (strcmp(host, "::1") == 0) return 1;
    if (strcasecmp(host, cfg.host) == 0) return 1;
    const char *local = r->header ? r->header(r->transport, REQ_LOCAL_ADDRESS) : NULL;
    if (local && strcasecmp(host, local) == 0) return 1;
    return listed_host(host);
}

static const char *request_header(const sm_req *r, const char *name)
{
    return r->header ? r->header(r->transport, name) : NULL;
}

/* Refuses (403) a request of another site: see the top of this file. */
static int site_gate(sm_req *r)
{
    if (cfg.admin_hosts && strcmp(cfg.admin_hosts, "*") == 0) return SM_OK;
    const char *h = request_header(r, "Host");
    char host[256];
    /* Without a Host (HTTP/1.0 tools) no browser sent it. */
    if (h && (!host_part(h, strlen(h), host, sizeof host) || !own_host(r, host)))
        return reply_admin_error(r, 403,
                                 "the admin API answers only to this server's own names "
                                 "(loopback, --host, its address), not Host '%.200s'; start "
                                 "sagemock with --admin-hosts NAME to allow another name",
                                 h);
    const char *origin = request_header(r, "Origin");
    if (!origin || strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) return SM_OK;
    const char *sep = strstr(origin, "://");
    int same = sep && h && strcasecmp(sep + 3, h) == 0 &&
               ((size_t)(sep - origin) == 4 || (size_t)(sep - origin) == 5) &&
               (strncasecmp(origin, "http", 4) == 0 || strncasecmp(origin, "https", 5) == 0);
    char ohost[256];
    if (same ||
        (sep && host_part(sep + 3, strlen(sep + 3), ohost, sizeof ohost) && listed_host(ohost)))
        return SM_OK;
    return reply_admin_error(r, 403,
                             "the admin API does not take %s requests from web pages of another "
                             "origin (Origin '%.200s'); start sagemock with --admin-hosts NAME "
                             "to allow that origin's host",
                             r->method, origin);
}

void admin_dispatch(sm_req *r)
{
    size_t n = strcspn(r->path, "?");
    int path_known = 0;
    r->operation = r->path;
    if (!path_is(r, n, "/_sagemock/health") && site_gate(r) != SM_OK) return;
    /* Health stays open under --admin-token: container health checks and `sagemock
     * healthcheck` carry no token. The dashboard's page has its own gate. */
    if (path_is(r, n, "/_sagemock/ui") && strcmp(r->method, "GET") == 0) {
        if (ui_gate(r) != SM_OK) return;
    } else if (!path_is(r, n, "/_sagemock/health") && auth_admin_check(r) != SM_OK) {
        return;
    }
    if (r->body_too_large) {
        reply_admin_error(r, 413,
                          "the body is larger than --max-body (%zu bytes); nothing was "
                          "done",
                          cfg.max_body);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!path_is(r, n, routes[i].path)) continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) == 0) {
            routes[i].fn(r);
            return;
        }
    }
    if (path_known)
        reply_admin_error(r, 405, "method %s is not allowed on %s", r->method, r->path);
    else
        reply_admin_error(r, 404, "no admin endpoint %s", r->path);
}
