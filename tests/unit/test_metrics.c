/*
 * test_metrics.c: unit tests of a training job's CloudWatch metrics (server/engine/metrics.c):
 * algorithm metrics read off a log stream by regex, instance metrics over a timeline, and
 * CloudWatch's statistics, periods and start rounding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "joblog.h"
#include "lifecycle.h"
#include "metrics.h"

#define T0 1700000000000LL
#define MIN 60000LL
#define DAY (86400 * 1000LL)

/* ---- algorithm metrics ---- */

static void test_a_regex_reads_its_values_off_the_stream_at_the_lines_second(void **state)
{
    (void)state;
    char m0[] = "Epoch 1/3", m1[] = "train:loss=1.5", m2[] = "train:loss=n/a",
         m3[] = "validation:train:loss=0.9", m4[] = "train:loss=0.25 and train:loss=7",
         m5[] = "train:loss=1..2";
    jl_event ev[] = {{T0 + 100, T0 + 300, m0},   {T0 + 999, T0 + 1200, m1},
                     {T0 + 1500, T0 + 1700, m2}, {T0 + 2000, T0 + 2100, m3},
                     {T0 + 3001, T0 + 3100, m4}, {T0 + 4000, T0 + 4100, m5}};
    jl_stream s = {.nevents = 6, .events = ev};
    mx_series out = {0};
    assert_int_equal(mx_scan(&s, "train:loss=([0-9\\.]+)", &out), SM_OK);
    /* the regex is searched, as SageMaker does: "validation:train:loss=" matches too; the
     * first match of a line counts; "n/a" and "1..2" (not a number) publish nothing */
    assert_int_equal(out.n, 3);
    assert_true(out.p[0].t_ms == T0 && out.p[0].v == 1.5);
    assert_true(out.p[1].t_ms == T0 + 2000 && out.p[1].v == 0.9);
    assert_true(out.p[2].t_ms == T0 + 3000 && out.p[2].v == 0.25);
    mx_series_free(&out);
    char big[] = "rate=1e400 rate=2";
    jl_event one = {T0, T0, big};
    jl_stream s1 = {.nevents = 1, .events = &one};
    assert_int_equal(mx_scan(&s1, "rate=(\\S+)", &out), SM_OK); /* not finite: nothing */
    assert_int_equal(out.n, 0);
    assert_int_equal(mx_scan(&s, "no group here", &out), SM_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(mx_scan(&s, "train:loss=([0-9", &out), SM_EINVAL);
    assert_int_equal(mx_scan(NULL, "x=(\\d)", &out), SM_OK);
    assert_int_equal(out.n, 0);
    mx_series_free(&out);
}

/* ---- instance metrics ---- */

static void test_instance_types_have_their_cores_and_gpus(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        int vcpus, gpus;
    } cases[] = {
        {"ml.m5.xlarge", 4, 0},        {"ml.c5.large", 2, 0},      {"ml.m5.24xlarge", 96, 0},
        {"ml.p3.2xlarge", 8, 1},       {"ml.p3.8xlarge", 32, 4},   {"ml.p3.16xlarge", 64, 8},
        {"ml.p4d.24xlarge", 96, 8},    {"ml.p5.48xlarge", 192, 8}, {"ml.g4dn.xlarge", 4, 1},
        {"ml.g5.12xlarge", 48, 4},     {"ml.g5.48xlarge", 192, 8}, {"ml.trn1.2xlarge", 8, 1},
        {"ml.trn1.32xlarge", 128, 16}, {"ml.t3.medium", 2, 0},     {NULL, 4, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int v, g;
        mx_instance_shape(cases[i].type, &v, &g);
        if (v != cases[i].vcpus || g != cases[i].gpus)
            fail_msg("%s: %d vCPUs %d GPUs", cases[i].type ? cases[i].type : "(null)", v, g);
    }
    assert_false(mx_kind_applies(MX_GPU, "ml.m5.xlarge"));
    assert_true(mx_kind_applies(MX_GPU_MEMORY, "ml.g5.xlarge"));
    assert_true(mx_kind_applies(MX_CPU, "ml.m5.xlarge"));
    assert_int_equal(mx_kind_of("DiskUtilization"), MX_DISK);
    assert_int_equal(mx_kind_of("Disk"), -1);
}

static lc_view g_view;

/* Starting 0-3 s, Downloading 3-65 s, Training 65 s-10 min, Uploading to 10:10, Completed. */
static const lc_view *timeline(int64_t training_end)
{
    memset(&g_view, 0, sizeof g_view);
    lc_transition t[] = {{LC_S_STARTING, T0, T0 + 3000, NULL},
                         {LC_S_DOWNLOADING, T0 + 3000, T0 + 65000, NULL},
                         {LC_S_TRAINING, T0 + 65000, training_end, NULL},
                         {LC_S_UPLOADING, training_end, training_end + 10000, NULL},
                         {LC_S_COMPLETED, training_end + 10000, -1, NULL}};
    g_view.ntrans = 5;
    memcpy(g_view.trans, t, sizeof t);
    return &g_view;
}

static void test_instance_points_come_each_minute_while_the_container_runs(void **state)
{
    (void)state;
    const lc_view *v = timeline(T0 + 10 * MIN);
    mx_series cpu = {0}, again = {0}, gpu = {0}, disk = {0};
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", v, T0 + DAY, MX_CPU, &cpu),
                     SM_OK);
    /* from 3 s to 10:10: 3 s, 1:03, ..., 10:03 */
    assert_int_equal(cpu.n, 11);
    for (int i = 0; i < cpu.n; i++)
        assert_true(cpu.p[i].t_ms == T0 + 3000 + i * MIN);
    /* downloading: light; training: busy (4 vCPUs: up to 400 %); uploading: quiet */
    assert_true(cpu.p[0].v >= 40 && cpu.p[0].v < 112);
    for (int i = 2; i < 10; i++)
        assert_true(cpu.p[i].v >= 248 && cpu.p[i].v <= 368);
    assert_true(cpu.p[10].v < 48);
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", v, T0 + DAY, MX_CPU, &again),
                     SM_OK);
    assert_memory_equal(cpu.p, again.p, (size_t)cpu.n * sizeof *cpu.p);
    mx_series_free(&again);
    assert_int_equal(mx_instance_points("job", 2, "ml.m5.xlarge", v, T0 + DAY, MX_CPU, &again),
                     SM_OK);
    assert_int_equal(again.n, cpu.n);
    assert_true(memcmp(cpu.p, again.p, (size_t)cpu.n * sizeof *cpu.p) != 0); /* its own noise */
    /* no GPU on an m5; a p3.8xlarge's 4 GPUs are busy only while training */
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", v, T0 + DAY, MX_GPU, &gpu),
                     SM_OK);
    assert_int_equal(gpu.n, 0);
    assert_int_equal(mx_instance_points("job", 1, "ml.p3.8xlarge", v, T0 + DAY, MX_GPU, &gpu),
                     SM_OK);
    assert_true(gpu.p[0].v == 0 && gpu.p[5].v >= 288 && gpu.p[5].v <= 392);
    /* the disk fills while downloading, then grows slowly; within 0-100 % */
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", v, T0 + DAY, MX_DISK, &disk),
                     SM_OK);
    for (int i = 1; i < disk.n; i++)
        assert_true(disk.p[i].v + 0.3 >= disk.p[i - 1].v && disk.p[i].v <= 100);
    mx_series_free(&cpu);
    mx_series_free(&again);
    mx_series_free(&gpu);
    mx_series_free(&disk);
}

static void test_nothing_later_than_now_and_a_running_step_counts_to_now(void **state)
{
    (void)state;
    const lc_view *v = timeline(T0 + 10 * MIN);
    mx_series s = {0};
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", v, T0 + 3 * MIN, MX_MEMORY, &s),
                     SM_OK);
    assert_int_equal(s.n, 3); /* 0:03, 1:03, 2:03 */
    mx_series_free(&s);
    /* Training still running at 5:00: its end is unknown (-1) */
    lc_view *w = (lc_view *)timeline(-1);
    w->ntrans = 3;
    assert_int_equal(mx_instance_points("job", 1, "ml.m5.xlarge", w, T0 + 5 * MIN, MX_MEMORY, &s),
                     SM_OK);
    assert_int_equal(s.n, 5);
    assert_true(s.p[4].v > s.p[1].v); /* memory ramps up while training */
    mx_series_free(&s);
}

/* ---- statistics ---- */

static void test_periods_aggregate_with_every_statistic(void **state)
{
    (void)state;
    mx_point p[] = {{T0, 4, 0},         {T0 + 10000, 1, 0},  {T0 + 20000, 3, 0},
                    {T0 + 30000, 2, 0}, {T0 + 70000, 10, 0}, {T0 + 200000, 99, 0}};
    mx_buckets b;
    assert_int_equal(mx_aggregate(p, 6, T0, T0 + 120000, 60000, &b), SM_OK);
    assert_int_equal(b.n, 2); /* the point at 200 s is past the end */
    double v;
    assert_true(b.b[0].t_ms == T0 && b.b[1].t_ms == T0 + 60000);
    assert_true(mx_stat(&b.b[0], "SampleCount", &v) && v == 4);
    assert_true(mx_stat(&b.b[0], "Sum", &v) && v == 10);
    assert_true(mx_stat(&b.b[0], "Average", &v) && v == 2.5);
    assert_true(mx_stat(&b.b[0], "Minimum", &v) && v == 1);
    assert_true(mx_stat(&b.b[0], "Maximum", &v) && v == 4);
    assert_true(mx_stat(&b.b[0], "p50", &v) && v == 2);
    assert_true(mx_stat(&b.b[0], "p75", &v) && v == 3);
    assert_true(mx_stat(&b.b[0], "p75.01", &v) && v == 4);
    assert_true(mx_stat(&b.b[0], "p0", &v) && v == 1);
    assert_true(mx_stat(&b.b[0], "p100", &v) && v == 4);
    assert_true(mx_stat(&b.b[1], "p99.9", &v) && v == 10);
    assert_false(mx_stat(&b.b[0], "avg", &v));
    mx_buckets_free(&b);
    /* a start between points: periods count from it */
    assert_int_equal(mx_aggregate(p, 6, T0 + 15000, T0 + 300000, 60000, &b), SM_OK);
    assert_int_equal(b.n, 2);
    assert_true(b.b[0].t_ms == T0 + 15000 && b.b[0].n == 3); /* 20 s, 30 s, 70 s */
    assert_true(b.b[1].t_ms == T0 + 195000 && b.b[1].n == 1);
    mx_buckets_free(&b);
    assert_int_equal(mx_aggregate(p, 0, T0, T0 + 1, 1000, &b), SM_OK);
    assert_int_equal(b.n, 0);
}

static void test_statistic_names_and_percentiles(void **state)
{
    (void)state;
    const char *ok[] = {"SampleCount", "Average", "Sum",    "Minimum", "Maximum", "p0",
                        "p99",         "p99.9",   "p99.99", "p100",    "p0.1"};
    const char *bad[] = {"average", "p",     "p101", "p99.999", "p-1", "p.5",
                         "p5.",     "p1000", "tm99", "",        NULL};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!mx_stat_valid(ok[i])) fail_msg("%s should be valid", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (mx_stat_valid(bad[i])) fail_msg("%s should be invalid", bad[i]);
}

static void test_periods_starts_and_retention_follow_cloudwatch(void **state)
{
    (void)state;
    int64_t now = T0 + 100 * DAY;
    for (int64_t p = 1; p <= 3600; p++) {
        int want = p == 1 || p == 5 || p == 10 || p == 20 || p == 30 || p % 60 == 0;
        assert_int_equal(mx_period_valid(p), want);
    }
    assert_false(mx_period_valid(0));
    assert_false(mx_period_valid(-60));
    int64_t start = now - DAY + 12345; /* ...:00:12.345 past some minute */
    assert_int_equal(mx_round_start(start, now, 5), start - 2345);
    assert_int_equal(mx_round_start(start, now, 60) % MIN, 0);
    assert_true(mx_round_start(start, now, 60) <= start &&
                mx_round_start(start, now, 60) > start - MIN);
    assert_int_equal(mx_round_start(now - 20 * DAY + 7 * MIN, now, 300) % (5 * MIN), 0);
    assert_int_equal(mx_round_start(now - 70 * DAY + 7 * MIN, now, 3600) % (60 * MIN), 0);
    assert_true(mx_period_retained(now - 2 * 3600 * 1000LL, now, 1));
    assert_false(mx_period_retained(now - 4 * 3600 * 1000LL, now, 1));
    assert_true(mx_period_retained(now - 4 * 3600 * 1000LL, now, 60));
    assert_false(mx_period_retained(now - 16 * DAY, now, 60));
    assert_true(mx_period_retained(now - 16 * DAY, now, 300));
    assert_false(mx_period_retained(now - 64 * DAY, now, 300));
    assert_true(mx_period_retained(now - 64 * DAY, now, 3600));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_regex_reads_its_values_off_the_stream_at_the_lines_second),
        cmocka_unit_test(test_instance_types_have_their_cores_and_gpus),
        cmocka_unit_test(test_instance_points_come_each_minute_while_the_container_runs),
        cmocka_unit_test(test_nothing_later_than_now_and_a_running_step_counts_to_now),
        cmocka_unit_test(test_periods_aggregate_with_every_statistic),
        cmocka_unit_test(test_statistic_names_and_percentiles),
        cmocka_unit_test(test_periods_starts_and_retention_follow_cloudwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
