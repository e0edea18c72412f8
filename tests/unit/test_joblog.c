/*
 * test_joblog.c: unit tests of the training-job log (server/engine/joblog.c).
 *
 * Jobs are planned with the lifecycle engine and evaluated long after their end, as the
 * caller does; every time below is an offset in milliseconds from CreationTime (C0). The
 * default scenario: Starting 0-3000, Downloading 3000-5000, Training 5000-8000, Uploading
 * 8000-10000, Completed at 10000; so FinalMetricDataList is stamped 7000.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "joblog.h"
#include "lifecycle.h"

#define C0 1700000000000LL
#define AFTER (C0 + 1000000000LL) /* long after any job here ended */
#define NX(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char R_ALGORITHM[] =
    "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"ValueError: could not "
    "convert string to float: 'n/a'\"\nCommand \"/usr/local/bin/python3.9 train.py --epochs "
    "10\", exit code: 1";
static const char R_CLIENT[] =
    "ClientError: Data download failed:Failed to download data. 403 Forbidden (403): Forbidden";
static const char R_CAPACITY[] = "CapacityError: Unable to provision requested ML compute "
                                 "capacity. Please retry using a different ML instance type.";
static const char R_INTERNAL[] =
    "InternalServerError: We encountered an internal error. Please try again.";

/* Plans, views, jobs and logs are large: they live here, not on the stack. */
static lc_plan g_plan;
static lc_view g_view;
static lc_scenario g_sc;
static jl_job g_job;
static jl_log g_log, g_log2;

/* ---- helpers -------------------------------------------------------------------------- */

static lc_params params(void)
{
    return (lc_params){.created_ms = C0, .max_runtime_s = 86400, .max_wait_s = -1};
}

static lc_scenario *scenario(void)
{
    g_sc = *lc_scenario_success();
    return &g_sc;
}

static void failing(lc_scenario *sc, int step, int64_t after, const char *reason)
{
    sc->fail_step = step;
    sc->fail_after_ms = after;
    sc->failing_attempts = -1;
    snprintf(sc->failure_reason, sizeof sc->failure_reason, "%s", reason);
}

/* Plan `sc` with `p` and evaluate it long after its end, as the caller does. */
static const lc_view *timeline(const lc_scenario *sc, const lc_params *p, const lc_event *ev,
                               int nev)
{
    assert_int_equal(lc_plan_build(sc, p, &g_plan), SM_OK);
    lc_eval(&g_plan, ev, nev, AFTER, &g_view);
    return &g_view;
}

/* FinalMetricDataList's timestamp as Describe stamps it: the last whole second before the
 * last Training entry ended. */
static int64_t final_metric_ms(const lc_view *v)
{
    for (int i = v->ntrans - 1; i >= 0; i--)
        if (v->trans[i].status == LC_S_TRAINING) return (v->trans[i].end_ms - 1) / 1000 * 1000;
    return -1;
}

/* A one-host job over `v`: two channels, one metric, 10 epochs, Training planned 3 s. */
static jl_job *job_on(const lc_view *v)
{
    memset(&g_job, 0, sizeof g_job);
    g_job.name = "jl-test";
    g_job.timeline = v;
    g_job.nhosts = 1;
    g_job.hosts[0] = "algo-1";
    g_job.instance_type = "ml.m5.xlarge";
    g_job.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1";
    g_job.hyperparameters = "{\"lr\":\"0.1\"}";
    g_job.epochs = 0;
    g_job.nchannels = 2;
    g_job.channel_name[0] = "train";
    g_job.channel_uri[0] = "s3://bucket/data/train";
    g_job.channel_name[1] = "validation";
    g_job.channel_uri[1] = "s3://bucket/data/validation";
    g_job.output_uri = "s3://bucket/out/jl-test/output/model.tar.gz";
    g_job.nmetrics = 1;
    g_job.metrics[0] = (jl_metric){"validation:accuracy", "validation:accuracy=([0-9\\.]+)", 0.875};
    g_job.final_metric_ms = final_metric_ms(v);
    g_job.training_ms = 3000;
    return &g_job;
}

static jl_job *success_job(void)
{
    lc_params p = params();
    return job_on(timeline(lc_scenario_success(), &p, NULL, 0));
}

static void build(const jl_job *j, int64_t now, jl_log *log)
{
    assert_int_equal(jl_build(j, now, log), SM_OK);
}

static int has(const jl_event *e, const char *needle)
{
    return strstr(e->message, needle) != NULL;
}

/* Index of the first event from `from` on whose message holds `needle`, or -1. */
static int find(const jl_stream *s, int from, const char *needle)
{
    for (int i = from; i < s->nevents; i++)
        if (has(&s->events[i], needle)) return i;
    return -1;
}

static int count(const jl_stream *s, const char *needle)
{
    int n = 0;
    for (int i = 0; i < s->nevents; i++)
        n += has(&s->events[i], needle);
    return n;
}

static int valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int k = *u < 0x80 ? 1 : (*u & 0xE0) == 0xC0 ? 2 : (*u & 0xF0) == 0xE0 ? 3 : 4;
        if (*u >= 0xF5 || (*u >= 0x80 && *u < 0xC2)) return 0;
        for (int i = 1; i < k; i++)
            if ((u[i] & 0xC0) != 0x80) return 0;
        if ((*u == 0xE0 && u[1] < 0xA0) || (*u == 0xED && u[1] > 0x9F) ||
            (*u == 0xF0 && u[1] < 0x90) || (*u == 0xF4 && u[1] > 0x8F))
            return 0;
        u += k;
    }
    return 1;
}

/* What holds of every log (joblog.c's invariants). */
static void expect_well_formed(const jl_log *log, int64_t now)
{
    for (int s = 0; s < log->nstreams; s++) {
        const jl_stream *st = &log->streams[s];
        assert_true(st->created_ms <= now);
        for (int i = 0; i < st->nevents; i++) {
            const jl_event *e = &st->events[i];
            size_t n = strlen(e->message);
            if (e->timestamp_ms < st->created_ms || e->timestamp_ms > e->ingestion_ms ||
                e->ingestion_ms > now || n < 1 || n > JL_MAX_LINE || strchr(e->message, '\n') ||
                !valid_utf8(e->message))
                fail_msg("%s event %d at %lld/%lld (now %lld) bad: \"%s\"", st->name, i,
                         (long long)e->timestamp_ms, (long long)e->ingestion_ms, (long long)now,
                         e->message);
            if (i > 0 && (e->timestamp_ms < st->events[i - 1].timestamp_ms ||
                          e->ingestion_ms < st->events[i - 1].ingestion_ms))
                fail_msg("%s event %d out of order", st->name, i);
        }
    }
}

static void expect_same_event(const jl_event *a, const jl_event *b)
{
    assert_int_equal(a->timestamp_ms, b->timestamp_ms);
    assert_int_equal(a->ingestion_ms, b->ingestion_ms);
    assert_string_equal(a->message, b->message);
}

/* Each stream of `a` is a prefix of the same stream of `b`. */
static void expect_prefix(const jl_log *a, const jl_log *b)
{
    assert_true(a->nstreams == 0 || a->nstreams == b->nstreams);
    for (int s = 0; s < a->nstreams; s++) {
        assert_string_equal(a->streams[s].name, b->streams[s].name);
        assert_int_equal(a->streams[s].created_ms, b->streams[s].created_ms);
        assert_true(a->streams[s].nevents <= b->streams[s].nevents);
        for (int i = 0; i < a->streams[s].nevents; i++)
            expect_same_event(&a->streams[s].events[i], &b->streams[s].events[i]);
    }
}

/* Group 1 of `re` in `msg` into out; 1 when it matched with group 1 set. */
static int capture(const char *re, const char *msg, char *out, size_t outlen)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!code) return 0; /* a regex SageMaker would refuse too */
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    assert_non_null(md);
    int rc = pcre2_match(code, (PCRE2_SPTR)msg, strlen(msg), 0, 0, md, NULL);
    int ok = 0;
    if (rc > 1) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t n = ov[3] - ov[2];
        if (ov[2] != PCRE2_UNSET && n < outlen) {
            memcpy(out, msg + ov[2], n);
            out[n] = '\0';
            ok = 1;
        }
    }
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return ok;
}

static const jl_stream *only_stream(const jl_log *log)
{
    assert_int_equal(log->nstreams, 1);
    return &log->streams[0];
}

/* ---- the success path ------------------------------------------------------------------- */

static void test_stream_is_named_after_the_host_and_created_at_the_first_container_start(void **s)
{
    (void)s;
    jl_job *j = success_job();
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    char want[160];
    snprintf(want, sizeof want, "jl-test/algo-1-%lld", (long long)((C0 + 3000) / 1000));
    assert_string_equal(st->name, want);
    assert_int_equal(st->created_ms, C0 + 3000);
    assert_int_equal(st->events[0].timestamp_ms, C0 + 3000);
    expect_well_formed(&g_log, AFTER);
    jl_free(&g_log);

    /* not yet created: no stream; just created: a stream, its first line not yet ingested */
    build(j, C0 + 2999, &g_log);
    assert_int_equal(g_log.nstreams, 0);
    build(j, C0 + 3000, &g_log);
    assert_int_equal(only_stream(&g_log)->nevents, 0);
    jl_free(&g_log);
}

static void test_success_tells_download_startup_epochs_upload_and_success_in_order(void **s)
{
    (void)s;
    build(success_job(), AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    static const struct {
        const char *text;
        int64_t at;
    } story[] = {
        {"Downloading input data for channel train from s3://bucket/data/train", 3000},
        {"Downloading input data for channel validation from s3://bucket/data/validation", 3000},
        {"sagemaker-training-toolkit INFO     Training container started: image "
         "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1, host algo-1 of 1, instance type "
         "ml.m5.xlarge",
         5000},
        {"Hyperparameters: {\"lr\":\"0.1\"}", 5000},
        {"Input channels: train, validation", 5000},
        {"Invoking user script", 5000},
        {"Epoch 1/10", 5200},
        {"Epoch 10/10", 7000},
        {"Training complete.", 8000},
        {"Uploading model artifacts to s3://bucket/out/jl-test/output/model.tar.gz", 8000},
        {"sagemaker-training-toolkit INFO     Reporting training SUCCESS", 10000},
    };
    int at = 0;
    for (int i = 0; i < NX(story); i++) {
        at = find(st, at, story[i].text);
        if (at < 0) fail_msg("missing or out of order: \"%s\"", story[i].text);
        assert_int_equal(st->events[at].timestamp_ms, C0 + story[i].at);
    }
    assert_int_equal(at, st->nevents - 1); /* SUCCESS is the last line */
    assert_non_null(strstr(st->events[find(st, 0, "Training container")].message,
                           "2023-11-14 22:13:25,000 sagemaker-training-toolkit"));
    jl_free(&g_log);
}

static void test_epoch_count_comes_from_the_hyperparameters(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->hyperparameters = "{\"batch\":\"32\",\"epochs\":\"7\"}";
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    assert_int_equal(count(st, "Epoch "), 7);
    int at = 0;
    for (int k = 1; k <= 7; k++) {
        char want[32];
        snprintf(want, sizeof want, "Epoch %d/7", k);
        at = find(st, at, want);
        assert_true(at >= 0);
        /* epoch k of 7 over 5000..7000 */
        assert_int_equal(st->events[at].timestamp_ms, C0 + 5000 + k * 2000 / 7);
    }
    jl_free(&g_log);

    j->epochs = 3; /* set by the caller: wins */
    build(j, AFTER, &g_log);
    assert_int_equal(count(only_stream(&g_log), "Epoch "), 3);
    jl_free(&g_log);
}

static void test_epochs_reads_the_first_known_hyperparameter_that_is_an_integer(void **s)
{
    (void)s;
    static const struct {
        const char *hp;
        int want;
    } rows[] = {
        {NULL, 10},
        {"{}", 10},
        {"{\"epochs\":\"7\"}", 7},
        {"{\"epochs\":12}", 12},
        {"{\"epochs\":\" 5 \"}", 5},
        {"{\"epochs\":\"5.0\"}", 10},
        {"{\"epochs\":\"x\",\"num_epochs\":\"3\"}", 3},
        {"{\"max_epochs\":\"4\",\"epochs\":\"6\"}", 6},
        {"{\"n_epochs\":\"2\",\"lr\":\"0.1\"}", 2},
        {"{\"num_round\":\"50\"}", 50},
        {"{\"num_train_epochs\":\"3\",\"epoch\":\"9\"}", 9},
        {"{\"epochs\":\"0\"}", 1},
        {"{\"epochs\":\"-3\"}", 1},
        {"{\"epochs\":\"99999999999999999999\"}", JL_MAX_EPOCHS},
        {"{\"nested\":{\"epochs\":\"3\"},\"a\":[1,{\"epochs\":2}],\"epoch\":\"4\"}", 4},
        {"{\"s\":\"a\\\"b}\",\"epochs\":\"8\"}", 8},
        {"{\"epochs\":", 10},
        {"{\"epochs\":\"3\"", 3},
        {"[\"epochs\",3]", 10},
        {"not json", 10},
    };
    for (int i = 0; i < NX(rows); i++)
        if (jl_epochs(rows[i].hp) != rows[i].want)
            fail_msg("%s: %d, want %d", rows[i].hp ? rows[i].hp : "NULL", jl_epochs(rows[i].hp),
                     rows[i].want);
}

static void test_last_epoch_prints_the_final_value_at_the_final_metric_time(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->metrics[0].final = 0.876543210987; /* more digits than the earlier epochs print */
    assert_int_equal(j->final_metric_ms, C0 + 7000);
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    const char *re = j->metrics[0].regex;
    char got[64];
    int last = -1, n = 0;
    double prev = -1;
    for (int i = 0; i < st->nevents; i++) {
        if (!capture(re, st->events[i].message, got, sizeof got)) continue;
        double v = strtod(got, NULL);
        assert_true(v > prev); /* accuracy-like: climbs to its final value */
        prev = v;
        last = i;
        n++;
    }
    assert_int_equal(n, 10);
    assert_string_equal(st->events[last].message, "validation:accuracy=0.876543210987");
    assert_int_equal(st->events[last].timestamp_ms, j->final_metric_ms);
    assert_true(strtod(got, NULL) == j->metrics[0].final);
    jl_free(&g_log);
}

static void test_loss_like_metrics_fall_to_their_final_value(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->metrics[0] = (jl_metric){"train:Loss", "train:loss=([0-9\\.]+)", 0.125};
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    char got[64];
    double prev = 1e9;
    int n = 0;
    for (int i = 0; i < st->nevents; i++) {
        if (!capture(j->metrics[0].regex, st->events[i].message, got, sizeof got)) continue;
        assert_true(strtod(got, NULL) < prev);
        prev = strtod(got, NULL);
        n++;
    }
    assert_int_equal(n, 10);
    assert_true(prev == 0.125);
    jl_free(&g_log);
}

/* ---- metric regexes ------------------------------------------------------------------- */

static void test_common_metric_regexes_round_trip_through_the_printed_lines(void **s)
{
    (void)s;
    static const struct {
        const char *regex;
        const char *last_line; /* the line of the last epoch, final 0.8125; NULL: no line */
    } rows[] = {
        {"train:loss=([0-9\\.]+)", "train:loss=0.8125"},
        {"validation:accuracy=([0-9\\.]+)", "validation:accuracy=0.8125"},
        {"Validation-accuracy=([0-9\\.]+)", "Validation-accuracy=0.8125"},
        {"loss: ([0-9\\.]+)", "loss: 0.8125"},
        {".*\\[1\\]#011validation-rmse:([0-9\\.]+)", "[1]#011validation-rmse:0.8125"},
        {"Test accuracy: ([0-9\\.]+)%", "Test accuracy: 0.8125%"},
        {"'eval_loss': ([0-9\\.e\\-]+)", "'eval_loss': 0.8125"},
        {"val_acc=(.*?);", "val_acc=0.8125;"},
        {"\\s*loss\\s*=\\s*([0-9\\.]+)", "loss=0.8125"},
        {"^loss\\s+is\\s([0-9.]+)\\.?$", "loss is 0.8125"},
        {"(?<acc>[0-9.]+) accuracy", "0.8125 accuracy"},
        {"epoch_loss \\(avg\\) ?= ([0-9.]+) \\+/\\- 0", "epoch_loss (avg)= 0.8125 +/- 0"},
        {"f1.+score=([0-9\\.]+)", "f1.score=0.8125"}, /* '.' printed as itself */
        /* other regex syntax outside the group: no line */
        {"loss=([0-9\\.]+)\\d", NULL},
        {"[Ll]oss=([0-9\\.]+)", NULL},
        {"(?:train|val)_loss=([0-9\\.]+)", NULL},
        {"loss=([0-9\\.]+), acc=([0-9\\.]+)", NULL},
        {"loss=[0-9]+", NULL},
        {"loss=([0-9\\.]+", NULL}, /* does not compile */
        {"loss{2}=([0-9\\.]+)", NULL},
        /* derived, but the value never matches the group: verified, not printed */
        {"loss=([0-9]+)$", NULL},
    };
    for (int i = 0; i < NX(rows); i++) {
        jl_job *j = success_job();
        j->metrics[0] = (jl_metric){"m", rows[i].regex, 0.8125};
        j->hyperparameters = "{\"epochs\":\"4\"}";
        build(j, AFTER, &g_log);
        const jl_stream *st = only_stream(&g_log);
        expect_well_formed(&g_log, AFTER);
        int n = 0, last = -1;
        char got[64] = "";
        for (int e = 0; e < st->nevents; e++) {
            char v[64];
            if (!has(&st->events[e], "Epoch ") && !has(&st->events[e], "sagemaker-training") &&
                capture(rows[i].regex, st->events[e].message, v, sizeof v)) {
                n++;
                last = e;
                strcpy(got, v);
            }
        }
        if (!rows[i].last_line) {
            /* the metric prints nothing: 2 download, 4 start-up, 4 epoch lines, 3 at the end */
            if (st->nevents != 2 + 4 + 4 + 3)
                fail_msg("%s: %d events, want no metric line", rows[i].regex, st->nevents);
            jl_free(&g_log);
            continue;
        }
        if (n != 4) fail_msg("%s: %d metric lines, want 4", rows[i].regex, n);
        assert_string_equal(st->events[last].message, rows[i].last_line);
        assert_string_equal(got, "0.8125");
        assert_int_equal(st->events[last].timestamp_ms, C0 + 7000);
        jl_free(&g_log);
    }
}

static void test_a_value_the_regex_cannot_capture_is_not_printed_but_a_template_shows_it(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->hyperparameters = "{\"epochs\":\"2\"}";
    j->nmetrics = 2;
    j->metrics[0] = (jl_metric){"gain", "gain=([0-9\\.]+)", -0.5};  /* negative: no match */
    j->metrics[1] = (jl_metric){"iou", "iou\\d=([0-9\\.]+)", 0.25}; /* \d: no line */
    j->ntemplates = 1;
    j->templates[0] = (jl_template){JL_AT_EPOCH, "gain {metric:gain} iou {metric:iou}"};
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    assert_int_equal(count(st, "gain="), 0);
    assert_int_equal(count(st, "iou"), 2); /* the template's lines only */
    int last = find(st, find(st, 0, "Epoch 2/2"), "gain ");
    assert_string_equal(st->events[last].message, "gain -0.5 iou 0.25");
    assert_int_equal(st->events[last].timestamp_ms, C0 + 7000);
    jl_free(&g_log);
}

/* ---- time ----------------------------------------------------------------------------- */

static void test_nothing_appears_before_now_and_earlier_logs_are_prefixes_of_later_ones(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->nhosts = 2;
    j->hosts[1] = "algo-2";
    j->nmetrics = 2;
    j->metrics[1] = (jl_metric){"train:loss", "train:loss=([0-9\\.]+)", 0.05};
    build(j, AFTER, &g_log2);
    expect_well_formed(&g_log2, AFTER);
    for (int64_t t = -1000; t <= 12000; t += 137) {
        build(j, C0 + t, &g_log);
        expect_well_formed(&g_log, C0 + t);
        expect_prefix(&g_log, &g_log2);
        for (int st = 0; st < g_log.nstreams; st++) {
            /* and nothing that is due and ingested by now is missing */
            const jl_stream *full = &g_log2.streams[st];
            int n = g_log.streams[st].nevents;
            assert_true(n == full->nevents || full->events[n].ingestion_ms > C0 + t);
        }
        jl_free(&g_log);
    }
    jl_free(&g_log2);
}

static void test_two_builds_of_the_same_job_are_equal(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->nhosts = 3;
    j->hosts[1] = "algo-2";
    j->hosts[2] = "algo-3";
    build(j, AFTER, &g_log);
    build(j, AFTER, &g_log2);
    expect_prefix(&g_log, &g_log2);
    expect_prefix(&g_log2, &g_log);
    jl_free(&g_log);
    jl_free(&g_log2);
}

/* ---- failures, stops, interruptions, retries -------------------------------------------- */

static void test_algorithm_error_ends_in_a_traceback_whose_last_lines_are_the_reason(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    failing(sc, 2, 2000, R_ALGORITHM); /* Training fails at 7000 */
    lc_params p = params();
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    expect_well_formed(&g_log, AFTER);

    /* epoch k at 5000 + 200k (planned 3 s, last at 7000): the ones before the failure */
    assert_int_equal(count(st, "Epoch "), 9);
    assert_int_equal(count(st, "Training complete."), 0);
    int tb = find(st, 0, "Traceback (most recent call last):");
    assert_true(tb > find(st, 0, "Epoch 9/10"));
    assert_int_equal(st->events[tb].timestamp_ms, C0 + 7000);
    const jl_event *end = &st->events[st->nevents - 1];
    assert_non_null(strstr(end->message, "sagemaker-training-toolkit ERROR    Reporting training "
                                         "FAILURE"));
    /* the lines before it, joined, are the reason less "AlgorithmError: " */
    const char *want = R_ALGORITHM + strlen("AlgorithmError: ");
    char joined[2048] = "";
    int first = st->nevents - 5; /* the reason has four lines */
    for (int i = first; i < st->nevents - 1; i++) {
        if (i > first) strcat(joined, "\n");
        strcat(joined, st->events[i].message);
        assert_int_equal(st->events[i].timestamp_ms, C0 + 7000);
    }
    assert_string_equal(joined, want);
    assert_string_equal(st->events[first].message, "ExecuteUserScriptError:");
    jl_free(&g_log);
}

/* A job whose plan ends in a failure prints the metrics' final values at its last epoch before
 * the failure (what FinalMetricDataList then reads), and a stop that comes later changes none
 * of the lines printed before it. */
static void test_planned_failure_prints_the_final_values_at_the_last_epoch_before_it(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    failing(sc, 2, 2000, R_ALGORITHM); /* Training fails at 7000: epochs 1..9 print */
    lc_params p = params();
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    j->planned_failure_ms = C0 + 7000;
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    int e9 = find(st, 0, "Epoch 9/10");
    assert_true(e9 >= 0);
    assert_string_equal(st->events[e9 + 1].message, "validation:accuracy=0.875");
    assert_int_equal(count(st, "validation:accuracy=0.875"), 1);
    /* without the planned failure the same epoch prints the curve, not the final value */
    j->planned_failure_ms = -1;
    build(j, AFTER, &g_log2);
    assert_int_equal(count(&g_log2.streams[0], "validation:accuracy=0.875"), 0);
    jl_free(&g_log2);

    /* stopped after epoch 5 (at 6000): the log up to the stop is the failing job's (a stop
     * requested at 5050 reaches the container, Stopping, half the stop delay later: 6050) */
    const lc_event stop = {LC_EV_STOP, C0 + 5050, 0};
    j = job_on(timeline(sc, &p, &stop, 1));
    j->planned_failure_ms = C0 + 7000;
    build(j, AFTER, &g_log2);
    const jl_stream *stopped = only_stream(&g_log2);
    int sig = find(stopped, 0, "Received SIGTERM");
    assert_true(sig > 0);
    for (int i = 0; i < sig; i++)
        expect_same_event(&stopped->events[i], &st->events[i]);
    jl_free(&g_log2);
    jl_free(&g_log);
}

static void test_client_error_while_downloading_prints_the_reason_and_never_trains(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    failing(sc, 1, 1000, R_CLIENT); /* Downloading fails at 4000 */
    lc_params p = params();
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    assert_int_equal(j->final_metric_ms, -1);
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    assert_int_equal(st->created_ms, C0 + 3000);
    assert_int_equal(st->nevents, 3);
    assert_true(has(&st->events[0], "Downloading input data for channel train"));
    assert_string_equal(st->events[2].message, R_CLIENT);
    assert_int_equal(st->events[2].timestamp_ms, C0 + 4000);
    assert_int_equal(count(st, "Traceback"), 0);
    assert_int_equal(count(st, "Epoch"), 0);
    jl_free(&g_log);
}

static void test_job_that_never_leaves_starting_has_no_stream(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    failing(sc, 0, 2500, R_CAPACITY);
    lc_params p = params();
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    build(j, AFTER, &g_log);
    assert_int_equal(g_log.nstreams, 0);

    /* stopped while Starting */
    const lc_event stop = {LC_EV_STOP, C0 + 1000, 0};
    j = job_on(timeline(lc_scenario_success(), &p, &stop, 1));
    build(j, AFTER, &g_log);
    assert_int_equal(g_log.nstreams, 0);
    jl_free(&g_log);
}

static void test_stop_during_training_prints_sigterm_and_keeps_the_epochs_printed_before(void **s)
{
    (void)s;
    lc_params p = params();
    build(success_job(), AFTER, &g_log2); /* the same job, never stopped */
    /* requested at 5500; the container gets SIGTERM when Stopping begins, half the stop delay
     * later (6500) */
    const lc_event stop = {LC_EV_STOP, C0 + 5500, 0};
    jl_job *j = job_on(timeline(lc_scenario_success(), &p, &stop, 1));
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    expect_well_formed(&g_log, AFTER);
    const jl_event *end = &st->events[st->nevents - 1];
    assert_string_equal(end->message, "Received SIGTERM: stopping the training job");
    assert_int_equal(end->timestamp_ms, C0 + 6500);
    assert_int_equal(count(st, "Epoch "), 7); /* 5200, 5400, ... 6400 */
    assert_int_equal(count(st, "Training complete."), 0);
    /* everything before the stop is what the unstopped job printed */
    for (int i = 0; i < st->nevents - 1; i++)
        expect_same_event(&st->events[i], &g_log2.streams[0].events[i]);
    jl_free(&g_log);
    jl_free(&g_log2);

    /* stopped while Uploading: the container is still running */
    const lc_event late = {LC_EV_STOP, C0 + 9000, 0};
    j = job_on(timeline(lc_scenario_success(), &p, &late, 1));
    build(j, AFTER, &g_log);
    st = only_stream(&g_log);
    assert_true(find(st, 0, "Received SIGTERM") > find(st, 0, "Uploading model artifacts"));
    assert_int_equal(count(st, "Reporting training"), 0);
    jl_free(&g_log);
}

static void test_spot_interruption_then_the_new_attempt_follows_in_the_same_stream(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    sc->interruptions = 1;
    sc->interrupt_step = 2;
    sc->interrupt_after_ms = 1500; /* Interrupted 6500-8500, Starting 8500-11500, ... */
    sc->interrupted_ms = 2000;
    lc_params p = params();
    p.spot = 1;
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    assert_int_equal(j->final_metric_ms, C0 + 16000); /* Training 13500-16500 */
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    expect_well_formed(&g_log, AFTER);
    int notice = find(st, 0, "Spot instance interruption notice received");
    assert_true(notice > find(st, 0, "Epoch 7/10"));
    assert_int_equal(find(st, 0, "Epoch 8/10"), find(st, notice, "Epoch 8/10"));
    assert_int_equal(st->events[notice].timestamp_ms, C0 + 6500);
    int again = find(st, notice, "Downloading input data for channel train");
    assert_int_equal(st->events[again].timestamp_ms, C0 + 11500);
    int start2 = find(st, notice, "Training container started");
    assert_int_equal(st->events[start2].timestamp_ms, C0 + 13500);
    assert_int_equal(count(st, "Training container started"), 2);
    assert_int_equal(count(st, "Epoch 10/10"), 1);
    assert_int_equal(st->events[find(st, start2, "Epoch 10/10")].timestamp_ms, C0 + 16000);
    assert_true(has(&st->events[st->nevents - 1], "Reporting training SUCCESS"));
    jl_free(&g_log);
}

static void test_retried_failure_prints_the_reason_and_the_attempt_that_follows(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    failing(sc, 2, 1000, R_INTERNAL); /* Training fails at 6000 */
    sc->retryable = 1;
    sc->failing_attempts = 1;
    sc->restart_delay_ms = 2000; /* Restarting 6000-8000, Starting 8000-11000, ... */
    lc_params p = params();
    p.max_retry_attempts = 1;
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    j->failure_reason = "InternalServerError: the retried attempt's reason";
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    int r = find(st, 0, "Restarting the training job (attempt 2)");
    assert_true(r > 0);
    assert_string_equal(st->events[r - 1].message, j->failure_reason);
    assert_int_equal(st->events[r].timestamp_ms, C0 + 6000);
    assert_int_equal(count(st, "Traceback"), 0);
    assert_true(find(st, r, "Training container started") > r);
    assert_true(has(&st->events[st->nevents - 1], "Reporting training SUCCESS"));
    jl_free(&g_log);

    /* without a reason from the caller: the generic InternalServerError */
    j->failure_reason = NULL;
    build(j, AFTER, &g_log);
    st = only_stream(&g_log);
    r = find(st, 0, "Restarting the training job (attempt 2)");
    assert_string_equal(st->events[r - 1].message, R_INTERNAL);
    jl_free(&g_log);

    /* every attempt fails: the last one ends in a traceback with the whole reason */
    sc = scenario();
    failing(sc, 2, 1000, R_INTERNAL);
    sc->retryable = 1;
    sc->restart_delay_ms = 2000;
    j = job_on(timeline(sc, &p, NULL, 0));
    build(j, AFTER, &g_log);
    st = only_stream(&g_log);
    assert_int_equal(count(st, "Restarting the training job (attempt"), 1);
    assert_int_equal(count(st, "Traceback"), 1);
    assert_string_equal(st->events[st->nevents - 2].message, R_INTERNAL);
    jl_free(&g_log);
}

/* ---- hosts, templates, limits ----------------------------------------------------------- */

static void test_every_host_prints_its_own_stream_with_the_same_metric_lines(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->nhosts = 3;
    j->hosts[1] = "algo-2";
    j->hosts[2] = "algo-3";
    build(j, AFTER, &g_log);
    assert_int_equal(g_log.nstreams, 3);
    for (int h = 0; h < 3; h++) {
        const jl_stream *st = &g_log.streams[h];
        char want[160];
        snprintf(want, sizeof want, "jl-test/algo-%d-%lld", h + 1, (long long)((C0 + 3000) / 1000));
        assert_string_equal(st->name, want);
        snprintf(want, sizeof want, "host algo-%d of 3,", h + 1);
        assert_int_equal(count(st, want), 1);
        assert_int_equal(st->nevents, g_log.streams[0].nevents);
        for (int i = 0; i < st->nevents; i++) {
            assert_int_equal(st->events[i].timestamp_ms, g_log.streams[0].events[i].timestamp_ms);
            if (!has(&st->events[i], "Training container started"))
                assert_string_equal(st->events[i].message, g_log.streams[0].events[i].message);
        }
    }
    expect_well_formed(&g_log, AFTER);
    jl_free(&g_log);
}

static void test_templates_print_at_their_moment_with_placeholders_filled(void **s)
{
    (void)s;
    jl_job *j = success_job();
    j->hyperparameters = "{\"epochs\":\"2\"}";
    j->metrics[0] = (jl_metric){"acc", "acc=([0-9\\.]+)", 0.75};
    j->ntemplates = 4;
    j->templates[0] = (jl_template){JL_AT_START, "start {job} on {host}\nsecond line"};
    j->templates[1] = (jl_template){JL_AT_EPOCH, "e{epoch}/{epochs} {metric:acc} {nope} "
                                                 "{metric:none} {{job}} {"};
    j->templates[2] = (jl_template){JL_AT_END, "end {epoch} {metric:acc}"};
    j->templates[3] = (jl_template){JL_AT_FAILURE, "failed after {epoch}"};
    build(j, AFTER, &g_log);
    const jl_stream *st = only_stream(&g_log);
    int a = find(st, 0, "start jl-test on algo-1");
    assert_string_equal(st->events[a].message, "start jl-test on algo-1");
    assert_string_equal(st->events[a + 1].message, "second line");
    assert_int_equal(st->events[a].timestamp_ms, C0 + 5000);
    int e2 = find(st, 0, "e2/2 ");
    assert_string_equal(st->events[e2].message, "e2/2 0.75 {nope} {metric:none} {jl-test} {");
    assert_int_equal(st->events[e2].timestamp_ms, C0 + 7000);
    int end = find(st, 0, "end ");
    assert_string_equal(st->events[end].message, "end 2 0.75");
    assert_int_equal(st->events[end].timestamp_ms, C0 + 8000);
    assert_int_equal(count(st, "failed after"), 0);
    jl_free(&g_log);

    lc_scenario *sc = scenario();
    failing(sc, 2, 2000, R_ALGORITHM);
    lc_params p = params();
    j->timeline = timeline(sc, &p, NULL, 0);
    build(j, AFTER, &g_log);
    st = only_stream(&g_log);
    int f = find(st, 0, "failed after");
    assert_string_equal(st->events[f].message, "failed after 1"); /* epoch 2 was due at 7000 */
    assert_int_equal(f + 1, find(st, 0, "Traceback"));
    jl_free(&g_log);
}

static void test_long_or_invalid_text_becomes_short_valid_utf8_lines(void **s)
{
    (void)s;
    lc_scenario *sc = scenario();
    static const char head[] = "AlgorithmError: bad \xff\xfe byte \xed\xa0\x80 surrogate \xc3";
    char reason[LC_TEXT_MAX];
    memset(reason, 'x', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    memcpy(reason, head, sizeof head - 1);
    failing(sc, 2, 2000, reason);
    lc_params p = params();
    jl_job *j = job_on(timeline(sc, &p, NULL, 0));
    static char big[5000];
    memset(big, 'h', sizeof big - 1);
    for (size_t i = 6; i + 3 < sizeof big; i += 7) /* 3-byte characters all along */
        memcpy(big + i, "\xe2\x82\xac", 3);
    memcpy(big, "{\"k\":\"", 6);
    j->hyperparameters = big;
    j->ntemplates = 1;
    j->templates[0] = (jl_template){JL_AT_FAILURE, big};
    build(j, AFTER, &g_log);
    expect_well_formed(&g_log, AFTER);
    const jl_stream *st = only_stream(&g_log);
    int hp = find(st, 0, "Hyperparameters: ");
    size_t n = strlen(st->events[hp].message); /* cut at a character boundary, then "..." */
    assert_true(n >= JL_MAX_LINE - 3 && n <= JL_MAX_LINE);
    assert_string_equal(st->events[hp].message + n - 3, "...");
    int fail = find(st, hp + 1, "{\"k\":\""); /* the JL_AT_FAILURE template */
    assert_true(fail > hp && strlen(st->events[fail].message) <= JL_MAX_LINE);
    static const char want[] =
        "bad \xef\xbf\xbd\xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
        "surrogate \xef\xbf\xbdxxx";
    const char *last = st->events[st->nevents - 2].message; /* the reason, before FAILURE */
    assert_true(strncmp(last, want, sizeof want - 1) == 0);
    assert_true(strlen(last) <= JL_MAX_LINE);
    jl_free(&g_log);
}

static void test_event_budget_cuts_each_stream_with_a_notice(void **s)
{
    (void)s;
    static char names[JL_MAX_METRICS][16], regexes[JL_MAX_METRICS][32];
    static char hosts[JL_MAX_HOSTS][16];
    jl_job *j = success_job();
    j->epochs = JL_MAX_EPOCHS;
    j->nmetrics = JL_MAX_METRICS;
    for (int m = 0; m < JL_MAX_METRICS; m++) {
        snprintf(names[m], sizeof names[m], "m%d", m);
        snprintf(regexes[m], sizeof regexes[m], "m%d=([0-9\\.]+)", m);
        j->metrics[m] = (jl_metric){names[m], regexes[m], 0.5};
    }
    j->nhosts = JL_MAX_HOSTS;
    for (int h = 0; h < JL_MAX_HOSTS; h++) {
        snprintf(hosts[h], sizeof hosts[h], "algo-%d", h + 1);
        j->hosts[h] = hosts[h];
    }
    build(j, AFTER, &g_log);
    expect_well_formed(&g_log, AFTER);
    int total = 0;
    for (int h = 0; h < g_log.nstreams; h++) {
        const jl_stream *st = &g_log.streams[h];
        assert_int_equal(st->nevents, JL_MAX_EVENTS / JL_MAX_HOSTS);
        assert_true(has(&st->events[st->nevents - 1], "[sagemock] log truncated"));
        total += st->nevents;
    }
    assert_true(total <= JL_MAX_EVENTS);
    build(j, C0 + 5100, &g_log2); /* cut by now before the budget: a prefix still */
    expect_prefix(&g_log2, &g_log);
    jl_free(&g_log2);
    jl_free(&g_log);

    j->nhosts = 1; /* one host: 1000 epochs x 41 lines fit */
    build(j, AFTER, &g_log);
    assert_int_equal(count(only_stream(&g_log), "Epoch "), JL_MAX_EPOCHS);
    assert_int_equal(count(only_stream(&g_log), "log truncated"), 0);
    jl_free(&g_log);
}

static void test_bad_input_is_refused_and_leaves_an_empty_log(void **s)
{
    (void)s;
    static char long_host[200];
    memset(long_host, 'h', sizeof long_host - 1);
    assert_int_equal(jl_build(NULL, AFTER, &g_log), SM_EINVAL);
    assert_int_equal(jl_build(success_job(), AFTER, NULL), SM_EINVAL);
    static const struct {
        const char *name;
        int field;
    } rows[] = {{"no name", 0},       {"no timeline", 1}, {"65 hosts", 2},     {"NULL host", 3},
                {"long host", 4},     {"metrics -1", 5},  {"NULL metric", 6},  {"bad when", 7},
                {"NULL template", 8}, {"channels 21", 9}, {"NULL channel", 10}};
    for (int i = 0; i < NX(rows); i++) {
        jl_job *j = success_job();
        switch (rows[i].field) {
        case 0:
            j->name = NULL;
            break;
        case 1:
            j->timeline = NULL;
            break;
        case 2:
            j->nhosts = JL_MAX_HOSTS + 1;
            break;
        case 3:
            j->nhosts = 2;
            break;
        case 4:
            j->hosts[0] = long_host;
            break;
        case 5:
            j->nmetrics = -1;
            break;
        case 6:
            j->metrics[0].name = NULL;
            break;
        case 7:
            j->ntemplates = 1;
            j->templates[0] = (jl_template){(jl_when)0, "x"};
            break;
        case 8:
            j->ntemplates = 1;
            j->templates[0] = (jl_template){JL_AT_END, NULL};
            break;
        case 9:
            j->nchannels = JL_MAX_CHANNELS + 1;
            break;
        case 10:
            j->channel_name[1] = NULL;
            break;
        }
        g_log.nstreams = 7; /* garbage from before: overwritten */
        if (jl_build(j, AFTER, &g_log) != SM_EINVAL) fail_msg("%s: accepted", rows[i].name);
        assert_int_equal(g_log.nstreams, 0);
    }
    jl_free(&g_log);
    jl_free(NULL);
}

/* ---- numbers shared with Describe -------------------------------------------------------- */

static void test_default_metric_is_the_fnv_of_job_and_metric_in_six_decimals(void **s)
{
    (void)s;
    static const char *const pairs[][2] = {
        {"job", "loss"}, {"my-training-job-1", "validation:accuracy"}, {"", ""}, {"a", "b/c"}};
    for (int i = 0; i < NX(pairs); i++) {
        uint64_t h = 1469598103934665603u;
        for (const char *p = pairs[i][0]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211u;
        h = (h ^ '/') * 1099511628211u;
        for (const char *p = pairs[i][1]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211u;
        double v = jl_default_metric(pairs[i][0], pairs[i][1]);
        assert_true(v == (double)(50000 + h % 1000000) / 1e6);
        assert_true(v >= 0.05 && v < 1.05);
        char buf[40];
        jl_format_number(v, buf, sizeof buf);
        assert_true(strlen(strchr(buf, '.') ? strchr(buf, '.') + 1 : "") <= 6);
    }
    assert_true(jl_default_metric("job", "loss") == jl_default_metric("job", "loss"));
    assert_true(jl_default_metric("job", "loss") != jl_default_metric("job", "acc"));
}

static void test_format_number_is_the_shortest_text_that_reads_back(void **s)
{
    (void)s;
    static const struct {
        double v;
        const char *want;
    } rows[] = {
        {0.1, "0.1"},   {0.875, "0.875"},  {1.0 / 3, "0.33333333333333331"},
        {-0.5, "-0.5"}, {1e-7, "1e-07"},   {123456789.125, "123456789.125"},
        {0.0, "0"},     {1e300, "1e+300"}, {0.1 + 0.2, "0.30000000000000004"},
    };
    for (int i = 0; i < NX(rows); i++) {
        char buf[40];
        int n = jl_format_number(rows[i].v, buf, sizeof buf);
        assert_string_equal(buf, rows[i].want);
        assert_int_equal(n, (int)strlen(rows[i].want));
        assert_true(strtod(buf, NULL) == rows[i].v);
    }
    char small[4];
    assert_int_equal(jl_format_number(0.875, small, sizeof small), 5);
    assert_string_equal(small, "0.8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_stream_is_named_after_the_host_and_created_at_the_first_container_start),
        cmocka_unit_test(test_success_tells_download_startup_epochs_upload_and_success_in_order),
        cmocka_unit_test(test_epoch_count_comes_from_the_hyperparameters),
        cmocka_unit_test(test_epochs_reads_the_first_known_hyperparameter_that_is_an_integer),
        cmocka_unit_test(test_last_epoch_prints_the_final_value_at_the_final_metric_time),
        cmocka_unit_test(test_loss_like_metrics_fall_to_their_final_value),
        cmocka_unit_test(test_common_metric_regexes_round_trip_through_the_printed_lines),
        cmocka_unit_test(
            test_a_value_the_regex_cannot_capture_is_not_printed_but_a_template_shows_it),
        cmocka_unit_test(
            test_nothing_appears_before_now_and_earlier_logs_are_prefixes_of_later_ones),
        cmocka_unit_test(test_two_builds_of_the_same_job_are_equal),
        cmocka_unit_test(test_algorithm_error_ends_in_a_traceback_whose_last_lines_are_the_reason),
        cmocka_unit_test(test_planned_failure_prints_the_final_values_at_the_last_epoch_before_it),
        cmocka_unit_test(test_client_error_while_downloading_prints_the_reason_and_never_trains),
        cmocka_unit_test(test_job_that_never_leaves_starting_has_no_stream),
        cmocka_unit_test(
            test_stop_during_training_prints_sigterm_and_keeps_the_epochs_printed_before),
        cmocka_unit_test(test_spot_interruption_then_the_new_attempt_follows_in_the_same_stream),
        cmocka_unit_test(test_retried_failure_prints_the_reason_and_the_attempt_that_follows),
        cmocka_unit_test(test_every_host_prints_its_own_stream_with_the_same_metric_lines),
        cmocka_unit_test(test_templates_print_at_their_moment_with_placeholders_filled),
        cmocka_unit_test(test_long_or_invalid_text_becomes_short_valid_utf8_lines),
        cmocka_unit_test(test_event_budget_cuts_each_stream_with_a_notice),
        cmocka_unit_test(test_bad_input_is_refused_and_leaves_an_empty_log),
        cmocka_unit_test(test_default_metric_is_the_fnv_of_job_and_metric_in_six_decimals),
        cmocka_unit_test(test_format_number_is_the_shortest_text_that_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
