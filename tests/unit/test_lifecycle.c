/*
 * test_lifecycle.c: unit tests of the lifecycle engine (server/lifecycle.c).
 *
 * Every time below is an offset in milliseconds from the job's CreationTime (C0). The
 * expected values come from the spec (spec/sagemaker-training-jobs.md §3) and from the
 * default scenario's data (3 s Starting, 2 s Downloading, 3 s Training, 2 s Uploading).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "lifecycle.h"

#define C0 1700000000000LL
#define NOEND (-1LL)
#define ABSENT (-1LL)

static const char M_START[] = "Starting the training job";
static const char M_LAUNCH[] = "Launching requested ML instances";
static const char M_PREP[] = "Preparing the instances for training";
static const char M_DOWNLOAD[] = "Downloading the training image";
static const char M_TRAINING[] = "Training image download completed. Training in progress.";
static const char M_UPLOAD[] = "Uploading generated training model";
static const char M_COMPLETED[] = "Training job completed";
static const char M_FAILED[] = "Training job failed";
static const char M_STOPPING[] = "Stopping the training job";
static const char M_STOPPED[] = "Training job stopped";
static const char M_RUNTIME[] = "Training job runtime exceeded MaxRuntimeInSeconds provided";
static const char M_WAIT[] = "Training job wait time exceeded MaxWaitTimeInSeconds provided";
static const char M_INTERRUPTED[] = "Training job interrupted: spot capacity was reclaimed";
static const char M_RESTARTING[] = "Restarting the training job";
static const char R_INTERNAL[] = "InternalServerError: We encountered an internal error. Please "
                                 "try again.";

/* Plans and views are large: they live here, not on the stack. */
static lc_plan g_plan;
static lc_view g_v, g_w, g_x;
static lc_scenario g_sc;

/* ---- helpers -------------------------------------------------------------------------- */

static lc_params params(void)
{
    return (lc_params){.created_ms = C0, .max_runtime_s = 86400, .max_wait_s = -1};
}

static const lc_plan *build(const lc_scenario *sc, const lc_params *p)
{
    int rc = lc_plan_build(sc, p, &g_plan);
    assert_int_equal(rc, SM_OK);
    return &g_plan;
}

static const lc_view *at(const lc_plan *pl, const lc_event *ev, int nev, int64_t off, lc_view *v)
{
    lc_eval(pl, ev, nev, C0 + off, v);
    return v;
}

static const char *sname(lc_secondary s)
{
    const char *n = lc_secondary_name(s);
    return n ? n : "?";
}

/* An expected SecondaryStatusTransitions entry (offsets from C0). */
typedef struct xt {
    lc_secondary st;
    int64_t start, end;
    const char *msg;
} xt;

static void expect_trans(const lc_view *v, const xt *x, int n)
{
    if (v->ntrans != n) fail_msg("ntrans %d, want %d", v->ntrans, n);
    for (int i = 0; i < n; i++) {
        const lc_transition *t = &v->trans[i];
        int64_t end = x[i].end < 0 ? -1 : C0 + x[i].end;
        if (t->status != x[i].st || t->start_ms != C0 + x[i].start || t->end_ms != end ||
            !t->message || strcmp(t->message, x[i].msg) != 0)
            fail_msg("entry %d: %s %lld..%lld \"%s\", want %s %lld..%lld \"%s\"", i,
                     sname(t->status), (long long)(t->start_ms - C0),
                     (long long)(t->end_ms < 0 ? -1 : t->end_ms - C0),
                     t->message ? t->message : "(null)", sname(x[i].st), (long long)x[i].start,
                     (long long)x[i].end, x[i].msg);
    }
}

#define NX(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Offsets of an optional time: -1 stays -1. */
static int64_t off(int64_t ms)
{
    return ms < 0 ? -1 : ms - C0;
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Everything a client can see (not next_change_ms; the retained seconds of an Available pool
 * grow with t by design and are left out too). */
static int same_view(const lc_view *a, const lc_view *b)
{
    if (a->primary != b->primary || a->secondary != b->secondary || a->ntrans != b->ntrans ||
        a->training_start_ms != b->training_start_ms || a->training_end_ms != b->training_end_ms ||
        a->training_time_s != b->training_time_s || a->billable_time_s != b->billable_time_s ||
        a->last_modified_ms != b->last_modified_ms ||
        !str_eq(a->failure_reason, b->failure_reason) || a->warm_pool != b->warm_pool)
        return 0;
    if (a->warm_pool != LC_WP_AVAILABLE && a->warm_pool_retained_s != b->warm_pool_retained_s)
        return 0;
    for (int i = 0; i < a->ntrans; i++)
        if (a->trans[i].status != b->trans[i].status ||
            a->trans[i].start_ms != b->trans[i].start_ms ||
            a->trans[i].end_ms != b->trans[i].end_ms ||
            !str_eq(a->trans[i].message, b->trans[i].message))
            return 0;
    return 1;
}

static int primary_rank(lc_primary p)
{
    return p == LC_IN_PROGRESS ? 0 : p == LC_STOPPING ? 1 : 2;
}

/* `b` (later) never moves back from `a` (earlier): the list only grows, entries that had
 * ended stay equal, the then-current one keeps its status and start. */
static void expect_forward(const lc_view *a, const lc_view *b)
{
    assert_true(primary_rank(b->primary) >= primary_rank(a->primary));
    assert_true(b->ntrans >= a->ntrans);
    assert_true(b->last_modified_ms >= a->last_modified_ms);
    for (int i = 0; i < a->ntrans; i++) {
        const lc_transition *x = &a->trans[i], *y = &b->trans[i];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->start_ms, y->start_ms);
        if (x->end_ms >= 0) {
            assert_int_equal(x->end_ms, y->end_ms);
            assert_string_equal(x->message, y->message);
        }
    }
    if (a->training_start_ms >= 0) assert_int_equal(a->training_start_ms, b->training_start_ms);
    if (a->training_end_ms >= 0) assert_int_equal(a->training_end_ms, b->training_end_ms);
}

/* Scenarios used by several tests (built into g_sc). */
static const lc_scenario *with_failure(int step, int64_t after, int retryable, int failing)
{
    g_sc = *lc_scenario_success();
    g_sc.fail_step = step;
    g_sc.fail_after_ms = after;
    snprintf(g_sc.failure_reason, sizeof g_sc.failure_reason, "%s", R_INTERNAL);
    g_sc.retryable = retryable;
    g_sc.failing_attempts = failing;
    g_sc.restart_delay_ms = 2000;
    return &g_sc;
}

static const lc_scenario *with_interruptions(int n, int step, int64_t after, int64_t down)
{
    g_sc = *lc_scenario_success();
    g_sc.interruptions = n;
    g_sc.interrupt_step = step;
    g_sc.interrupt_after_ms = after;
    g_sc.interrupted_ms = down;
    return &g_sc;
}

/* A scenario whose first step is a long Pending/Starting (for deadlines before training). */
static const lc_scenario *with_first_step(lc_secondary st, int64_t ms, const char *msg)
{
    g_sc = *lc_scenario_success();
    memmove(&g_sc.steps[1], &g_sc.steps[0], sizeof g_sc.steps[0] * (size_t)g_sc.nsteps);
    g_sc.nsteps++;
    memset(&g_sc.steps[0], 0, sizeof g_sc.steps[0]);
    g_sc.steps[0].status = st;
    g_sc.steps[0].duration_ms = ms;
    g_sc.steps[0].nmsg = 1;
    snprintf(g_sc.steps[0].msg[0].text, sizeof g_sc.steps[0].msg[0].text, "%s", msg);
    return &g_sc;
}

/* ---- names and the default scenario --------------------------------------------------- */

static void test_status_names_round_trip_and_unknown_names_are_refused(void **state)
{
    (void)state;
    for (int p = 0; p < LC_PRIMARY_COUNT; p++)
        assert_int_equal(lc_primary_from_name(lc_primary_name((lc_primary)p)), p);
    for (int s = 0; s < LC_SECONDARY_COUNT; s++)
        assert_int_equal(lc_secondary_from_name(lc_secondary_name((lc_secondary)s)), s);
    for (int w = 0; w < LC_WP_COUNT; w++)
        assert_int_equal(lc_warm_pool_from_name(lc_warm_pool_name((lc_warm_pool)w)), w);
    assert_string_equal(lc_primary_name(LC_IN_PROGRESS), "InProgress");
    assert_string_equal(lc_secondary_name(LC_S_MAX_WAIT_TIME_EXCEEDED), "MaxWaitTimeExceeded");
    assert_string_equal(lc_secondary_name(LC_S_PENDING), "Pending");
    assert_string_equal(lc_warm_pool_name(LC_WP_IN_USE), "InUse");
    assert_null(lc_warm_pool_name(LC_WP_NONE));
    assert_null(lc_secondary_name(LC_SECONDARY_COUNT));
    assert_int_equal(lc_secondary_from_name("training"), -1); /* case-sensitive */
    assert_int_equal(lc_primary_from_name(NULL), -1);
    assert_int_equal(lc_warm_pool_from_name("None"), -1);
}

static void test_default_scenario_takes_ten_seconds_and_shows_every_step_for_a_second(void **s)
{
    (void)s;
    const lc_scenario *sc = lc_scenario_success();
    static const lc_secondary want[] = {LC_S_STARTING, LC_S_DOWNLOADING, LC_S_TRAINING,
                                        LC_S_UPLOADING};
    int64_t total = 0;
    assert_string_equal(sc->name, "success");
    assert_int_equal(sc->nsteps, NX(want));
    for (int i = 0; i < sc->nsteps; i++) {
        assert_int_equal(sc->steps[i].status, want[i]);
        assert_true(sc->steps[i].duration_ms >= 1000);
        total += sc->steps[i].duration_ms;
    }
    assert_int_equal(total, 10000);
    /* Today's texts (spec §3.2, Appendix D): one message while Downloading, one while Training
     * (2019-2022 jobs said "Downloading input data", then two Training messages). */
    assert_int_equal(sc->steps[1].nmsg, 1);
    assert_string_equal(sc->steps[1].msg[0].text, "Downloading the training image");
    assert_int_equal(sc->steps[2].nmsg, 1);
    assert_string_equal(sc->steps[2].msg[0].text, M_TRAINING);
    assert_int_equal(sc->stop_delay_ms, 2000);
    assert_int_equal(sc->fail_step, -1);
    assert_int_equal(sc->interruptions, 0);
}

/* ---- the success path ----------------------------------------------------------------- */

static void test_success_path_shows_each_step_and_message_at_its_time(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        lc_primary p;
        lc_secondary s;
        int ntrans;
        const char *msg;
        int64_t last_modified, next;
    } rows[] = {
        {0, LC_IN_PROGRESS, LC_S_STARTING, 1, M_START, 0, 1000},
        {999, LC_IN_PROGRESS, LC_S_STARTING, 1, M_START, 0, 1000},
        {1000, LC_IN_PROGRESS, LC_S_STARTING, 1, M_LAUNCH, 1000, 2000},
        {1999, LC_IN_PROGRESS, LC_S_STARTING, 1, M_LAUNCH, 1000, 2000},
        {2000, LC_IN_PROGRESS, LC_S_STARTING, 1, M_PREP, 2000, 3000},
        {2999, LC_IN_PROGRESS, LC_S_STARTING, 1, M_PREP, 2000, 3000},
        {3000, LC_IN_PROGRESS, LC_S_DOWNLOADING, 2, M_DOWNLOAD, 3000, 5000},
        {4999, LC_IN_PROGRESS, LC_S_DOWNLOADING, 2, M_DOWNLOAD, 3000, 5000},
        {5000, LC_IN_PROGRESS, LC_S_TRAINING, 3, M_TRAINING, 5000, 8000},
        {7999, LC_IN_PROGRESS, LC_S_TRAINING, 3, M_TRAINING, 5000, 8000},
        {8000, LC_IN_PROGRESS, LC_S_UPLOADING, 4, M_UPLOAD, 8000, 10000},
        {9999, LC_IN_PROGRESS, LC_S_UPLOADING, 4, M_UPLOAD, 8000, 10000},
        {10000, LC_COMPLETED, LC_S_COMPLETED, 5, M_COMPLETED, 10000, -1},
        {86400000, LC_COMPLETED, LC_S_COMPLETED, 5, M_COMPLETED, 10000, -1},
    };
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    for (int i = 0; i < NX(rows); i++) {
        const lc_view *v = at(pl, NULL, 0, rows[i].t, &g_v);
        if (v->primary != rows[i].p || v->secondary != rows[i].s || v->ntrans != rows[i].ntrans ||
            strcmp(v->trans[v->ntrans - 1].message, rows[i].msg) != 0 ||
            off(v->last_modified_ms) != rows[i].last_modified ||
            off(v->next_change_ms) != rows[i].next)
            fail_msg("t=%lld: %s/%s n=%d \"%s\" lm=%lld next=%lld", (long long)rows[i].t,
                     lc_primary_name(v->primary), sname(v->secondary), v->ntrans,
                     v->trans[v->ntrans - 1].message, (long long)off(v->last_modified_ms),
                     (long long)off(v->next_change_ms));
    }
}

static void test_status_message_changes_in_place_without_a_new_entry(void **state)
{
    (void)state;
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    static const xt at999[] = {{LC_S_STARTING, 0, NOEND, M_START}};
    static const xt at2500[] = {{LC_S_STARTING, 0, NOEND, M_PREP}};
    static const xt at6500[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                                {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                                {LC_S_TRAINING, 5000, NOEND, M_TRAINING}};
    expect_trans(at(pl, NULL, 0, 999, &g_v), at999, NX(at999));
    expect_trans(at(pl, NULL, 0, 2500, &g_v), at2500, NX(at2500));
    expect_trans(at(pl, NULL, 0, 6500, &g_v), at6500, NX(at6500));
}

static void test_completed_job_has_chained_end_times_and_equal_terminal_start_and_end(void **s)
{
    (void)s;
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    static const xt want[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                              {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                              {LC_S_TRAINING, 5000, 8000, M_TRAINING},
                              {LC_S_UPLOADING, 8000, 10000, M_UPLOAD},
                              {LC_S_COMPLETED, 10000, 10000, M_COMPLETED}};
    const lc_view *v = at(pl, NULL, 0, 3600000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->trans[0].start_ms, C0); /* first StartTime == CreationTime */
    for (int i = 0; i + 1 < v->ntrans; i++)
        assert_int_equal(v->trans[i].end_ms, v->trans[i + 1].start_ms);
    assert_int_equal(v->training_start_ms, v->trans[1].start_ms); /* == Starting.EndTime */
    assert_int_equal(v->training_end_ms, v->trans[4].start_ms);
    assert_int_equal(v->last_modified_ms, v->training_end_ms);
    assert_int_equal(v->training_time_s, 7);
    assert_int_equal(v->billable_time_s, 7); /* on-demand: billable == training */
    assert_null(v->failure_reason);
    assert_int_equal(v->warm_pool, LC_WP_NONE);
    assert_int_equal(v->next_change_ms, -1);
}

/* Spec §3.4: which fields are present in each phase. */
static void test_fields_are_present_per_phase_as_the_spec_table_says(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        int64_t ts, te, tt, bt;
    } rows[] = {
        {0, ABSENT, ABSENT, ABSENT, ABSENT},    /* Starting */
        {2999, ABSENT, ABSENT, ABSENT, ABSENT}, /* Starting */
        {3000, 3000, ABSENT, ABSENT, ABSENT},   /* Downloading */
        {5500, 3000, ABSENT, ABSENT, ABSENT},   /* Training */
        {9999, 3000, ABSENT, ABSENT, ABSENT},   /* Uploading */
        {10000, 3000, 10000, 7, 7},             /* Completed */
    };
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    for (int i = 0; i < NX(rows); i++) {
        const lc_view *v = at(pl, NULL, 0, rows[i].t, &g_v);
        if (off(v->training_start_ms) != rows[i].ts || off(v->training_end_ms) != rows[i].te ||
            v->training_time_s != rows[i].tt || v->billable_time_s != rows[i].bt ||
            v->failure_reason != NULL || v->ntrans < 1)
            fail_msg("t=%lld: ts=%lld te=%lld tt=%lld bt=%lld", (long long)rows[i].t,
                     (long long)off(v->training_start_ms), (long long)off(v->training_end_ms),
                     (long long)v->training_time_s, (long long)v->billable_time_s);
    }
}

static void test_a_time_before_creation_reads_as_creation(void **state)
{
    (void)state;
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    at(pl, NULL, 0, 0, &g_v);
    at(pl, NULL, 0, -5000, &g_w);
    assert_true(same_view(&g_v, &g_w));
    assert_int_equal(g_w.next_change_ms, C0 + 1000);
}

/* ---- StopTrainingJob ------------------------------------------------------------------ */

/* A stop at S: TrainingJobStatus Stopping at once while SecondaryStatus still names the step
 * in progress (a real Describe right after StopTrainingJob, spec §2.4); the step's entry ends
 * and Stopping begins half the stop delay later; Stopped at S + the stop delay. */
static void test_stop_in_each_phase_keeps_the_step_then_stopping_then_stopped(void **state)
{
    (void)state;
    static const xt starting[] = {{LC_S_STARTING, 0, 2500, M_LAUNCH},
                                  {LC_S_STOPPING, 2500, 3500, M_STOPPING},
                                  {LC_S_STOPPED, 3500, 3500, M_STOPPED}};
    static const xt downloading[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                                     {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                                     {LC_S_STOPPING, 5000, 6000, M_STOPPING},
                                     {LC_S_STOPPED, 6000, 6000, M_STOPPED}};
    static const xt training[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                                  {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                                  {LC_S_TRAINING, 5000, 7500, M_TRAINING},
                                  {LC_S_STOPPING, 7500, 8500, M_STOPPING},
                                  {LC_S_STOPPED, 8500, 8500, M_STOPPED}};
    static const xt uploading[] = {
        {LC_S_STARTING, 0, 3000, M_PREP},          {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
        {LC_S_TRAINING, 5000, 8000, M_TRAINING},   {LC_S_UPLOADING, 8000, 10000, M_UPLOAD},
        {LC_S_STOPPING, 10000, 11000, M_STOPPING}, {LC_S_STOPPED, 11000, 11000, M_STOPPED}};
    /* A stop exactly when a step begins keeps what was visible then (the step, which no longer
     * moves on: Downloading does not turn into Training while the job stops). */
    static const xt boundary[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                                  {LC_S_DOWNLOADING, 3000, 4000, M_DOWNLOAD},
                                  {LC_S_STOPPING, 4000, 5000, M_STOPPING},
                                  {LC_S_STOPPED, 5000, 5000, M_STOPPED}};
    static const struct {
        const char *phase;
        int64_t stop;
        lc_secondary step;
        const char *msg;
        const xt *want;
        int n;
        int64_t ts, tt;
    } rows[] = {
        {"Starting", 1500, LC_S_STARTING, M_LAUNCH, starting, NX(starting), ABSENT, ABSENT},
        {"Downloading", 4000, LC_S_DOWNLOADING, M_DOWNLOAD, downloading, NX(downloading), 3000, 3},
        {"Training", 6500, LC_S_TRAINING, M_TRAINING, training, NX(training), 3000, 6},
        {"Uploading", 9000, LC_S_UPLOADING, M_UPLOAD, uploading, NX(uploading), 3000, 8},
        {"boundary", 3000, LC_S_DOWNLOADING, M_DOWNLOAD, boundary, NX(boundary), 3000, 2},
    };
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    for (int i = 0; i < NX(rows); i++) {
        int64_t s = rows[i].stop;
        lc_event ev = {LC_EV_STOP, C0 + s, 0};
        print_message("stop during %s\n", rows[i].phase);
        /* before the stop: as if there were none */
        assert_true(same_view(at(pl, &ev, 1, s - 1, &g_v), at(pl, NULL, 0, s - 1, &g_w)));
        assert_int_equal(g_v.next_change_ms, C0 + s);
        /* from the stop: TrainingJobStatus Stopping; the step's entry, open, as it was */
        for (int64_t t = s; t <= s + 999; t += 999) {
            const lc_view *v = at(pl, &ev, 1, t, &g_v);
            assert_int_equal(v->primary, LC_STOPPING);
            assert_int_equal(v->secondary, rows[i].step);
            assert_int_equal(v->trans[v->ntrans - 1].status, rows[i].step);
            assert_int_equal(v->trans[v->ntrans - 1].end_ms, -1);
            assert_string_equal(v->trans[v->ntrans - 1].message, rows[i].msg);
            assert_int_equal(v->last_modified_ms, C0 + s);
            assert_int_equal(v->training_end_ms, -1);
            assert_int_equal(v->training_time_s, -1);
            assert_int_equal(v->next_change_ms, C0 + s + 1000);
        }
        /* half the stop delay later: SecondaryStatus Stopping */
        const lc_view *v = at(pl, &ev, 1, s + 1000, &g_v);
        assert_int_equal(v->primary, LC_STOPPING);
        assert_int_equal(v->secondary, LC_S_STOPPING);
        assert_string_equal(v->trans[v->ntrans - 1].message, M_STOPPING);
        assert_int_equal(v->last_modified_ms, C0 + s + 1000);
        assert_int_equal(v->next_change_ms, C0 + s + 2000);
        v = at(pl, &ev, 1, s + 1999, &g_v);
        assert_int_equal(v->primary, LC_STOPPING);
        /* then Stopped */
        v = at(pl, &ev, 1, s + 2000, &g_v);
        assert_int_equal(v->primary, LC_STOPPED);
        assert_int_equal(v->secondary, LC_S_STOPPED);
        expect_trans(v, rows[i].want, rows[i].n);
        assert_int_equal(off(v->training_start_ms), rows[i].ts);
        assert_int_equal(v->training_end_ms, C0 + s + 2000);
        assert_int_equal(v->training_time_s, rows[i].tt);
        assert_int_equal(v->billable_time_s, rows[i].tt);
        assert_null(v->failure_reason);
        assert_int_equal(v->next_change_ms, -1);
    }
}

static void test_stop_when_ended_or_already_stopping_or_before_creation_is_ignored(void **s)
{
    (void)s;
    lc_params p = params();
    const lc_plan *pl = build(lc_scenario_success(), &p);
    const lc_event late[] = {{LC_EV_STOP, C0 + 10000, 0}, {LC_EV_STOP, C0 + 50000, 0}};
    assert_true(same_view(at(pl, late, 2, 60000, &g_v), at(pl, NULL, 0, 60000, &g_w)));
    assert_int_equal(g_v.primary, LC_COMPLETED);

    const lc_event early[] = {{LC_EV_STOP, C0 - 5, 0}};
    assert_true(same_view(at(pl, early, 1, 60000, &g_v), &g_w));

    const lc_event twice[] = {{LC_EV_STOP, C0 + 4000, 0}, {LC_EV_STOP, C0 + 5000, 0}};
    const lc_event once[] = {{LC_EV_STOP, C0 + 4000, 0}};
    for (int64_t t = 3000; t <= 8000; t += 500)
        assert_true(same_view(at(pl, twice, 2, t, &g_v), at(pl, once, 1, t, &g_w)));
}

/* ---- MaxRuntimeInSeconds -------------------------------------------------------------- */

static void test_max_runtime_counts_from_training_start_and_cuts_the_running_step(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_runtime_s = 4; /* TrainingStartTime 3000 + 4 s = 7000, during Training */
    const lc_plan *pl = build(lc_scenario_success(), &p);
    static const xt want[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                              {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                              {LC_S_TRAINING, 5000, 7000, M_TRAINING},
                              {LC_S_STOPPING, 7000, 9000, M_STOPPING},
                              {LC_S_MAX_RUNTIME_EXCEEDED, 9000, 9000, M_RUNTIME}};
    const lc_view *v = at(pl, NULL, 0, 6999, &g_v);
    assert_int_equal(v->primary, LC_IN_PROGRESS);
    assert_int_equal(v->next_change_ms, C0 + 7000);
    v = at(pl, NULL, 0, 7000, &g_v);
    assert_int_equal(v->primary, LC_STOPPING);
    assert_int_equal(v->secondary, LC_S_STOPPING);
    v = at(pl, NULL, 0, 9000, &g_v);
    assert_int_equal(v->primary, LC_STOPPED);
    assert_int_equal(v->secondary, LC_S_MAX_RUNTIME_EXCEEDED);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->training_time_s, 6);
    assert_null(v->failure_reason);
}

/* Time in Pending and Starting does not count (spec §3.2.5: measured from
 * TrainingStartTime): a limit shorter than the 3 s Starting still lets training start. */
static void test_max_runtime_does_not_count_pending_or_starting(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_runtime_s = 1; /* 3000 + 1 s: cut during Downloading, not during Starting */
    const lc_plan *pl = build(lc_scenario_success(), &p);
    static const xt want[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                              {LC_S_DOWNLOADING, 3000, 4000, M_DOWNLOAD},
                              {LC_S_STOPPING, 4000, 6000, M_STOPPING},
                              {LC_S_MAX_RUNTIME_EXCEEDED, 6000, 6000, M_RUNTIME}};
    assert_int_equal(at(pl, NULL, 0, 3999, &g_v)->secondary, LC_S_DOWNLOADING);
    expect_trans(at(pl, NULL, 0, 6000, &g_v), want, NX(want));
    assert_int_equal(g_v.training_time_s, 3);

    /* Pending 5 s + Starting 3 s, then 2 s of Downloading: the limit is reached exactly as
     * Downloading ends, so the job never enters Training (no zero-length entry). */
    p.max_runtime_s = 2;
    pl = build(with_first_step(LC_S_PENDING, 5000, "Waiting for capacity"), &p);
    const lc_view *v = at(pl, NULL, 0, 7999, &g_v);
    assert_int_equal(v->primary, LC_IN_PROGRESS);
    assert_int_equal(v->secondary, LC_S_STARTING);
    v = at(pl, NULL, 0, 60000, &g_v);
    assert_int_equal(v->secondary, LC_S_MAX_RUNTIME_EXCEEDED);
    assert_int_equal(off(v->training_start_ms), 8000); /* end of the first Starting */
    assert_int_equal(v->trans[2].status, LC_S_DOWNLOADING);
    assert_int_equal(off(v->trans[2].end_ms), 10000);
    assert_int_equal(v->trans[3].status, LC_S_STOPPING);
    assert_int_equal(off(v->trans[3].start_ms), 10000);
}

/* A job that never starts training (here: every attempt fails while Starting, and retries
 * are many) is measured from CreationTime. */
static void test_max_runtime_counts_from_creation_when_training_never_starts(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_runtime_s = 9;
    p.max_retry_attempts = 30;
    const lc_plan *pl = build(with_failure(0, 1500, 1, -1), &p);
    static const xt want[] = {
        {LC_S_STARTING, 0, 1500, M_LAUNCH},
        {LC_S_RESTARTING, 1500, 3500, M_RESTARTING},
        {LC_S_STARTING, 3500, 5000, M_LAUNCH},
        {LC_S_RESTARTING, 5000, 7000, M_RESTARTING},
        {LC_S_STARTING, 7000, 8500, M_LAUNCH},
        {LC_S_RESTARTING, 8500, 9000, M_RESTARTING},
        {LC_S_STOPPING, 9000, 11000, M_STOPPING},
        {LC_S_MAX_RUNTIME_EXCEEDED, 11000, 11000, M_RUNTIME},
    };
    const lc_view *v = at(pl, NULL, 0, 11000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->primary, LC_STOPPED);
    assert_int_equal(v->training_start_ms, -1);
    assert_int_equal(v->training_time_s, -1);
    assert_int_equal(v->billable_time_s, -1);
    assert_null(v->failure_reason);
    assert_int_equal(off(v->training_end_ms), 11000);

    /* without the limit the same job fails after its 31st attempt */
    p.max_runtime_s = 86400;
    v = at(build(with_failure(0, 1500, 1, -1), &p), NULL, 0, 3600000, &g_v);
    assert_int_equal(v->primary, LC_FAILED);
    assert_int_equal(v->ntrans, 31 * 2);
    assert_int_equal(off(v->training_end_ms), 31 * 1500 + 30 * 2000);
}

static void test_earliest_of_stop_and_max_runtime_wins(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_runtime_s = 4; /* cut at 7000 */
    const lc_plan *pl = build(lc_scenario_success(), &p);
    const lc_event stop_first[] = {{LC_EV_STOP, C0 + 6000, 0}};
    assert_int_equal(at(pl, stop_first, 1, 60000, &g_v)->secondary, LC_S_STOPPED);
    /* Stopping begins half the stop delay after the stop, Stopped the stop delay after it */
    assert_int_equal(off(g_v.trans[3].start_ms), 7000);
    assert_int_equal(off(g_v.training_end_ms), 8000);
    const lc_event stop_during_stopping[] = {{LC_EV_STOP, C0 + 8000, 0}};
    assert_true(
        same_view(at(pl, stop_during_stopping, 1, 60000, &g_v), at(pl, NULL, 0, 60000, &g_w)));
    assert_int_equal(g_v.secondary, LC_S_MAX_RUNTIME_EXCEEDED);
}

/* ---- RetryStrategy -------------------------------------------------------------------- */

static void test_internal_failure_is_retried_then_fails_when_retries_run_out(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_retry_attempts = 2;
    const lc_plan *pl = build(with_failure(2, 1000, 1, -1), &p);
    static const xt want[] = {
        {LC_S_STARTING, 0, 3000, M_PREP},          {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
        {LC_S_TRAINING, 5000, 6000, M_TRAINING},   {LC_S_RESTARTING, 6000, 8000, M_RESTARTING},
        {LC_S_STARTING, 8000, 11000, M_PREP},      {LC_S_DOWNLOADING, 11000, 13000, M_DOWNLOAD},
        {LC_S_TRAINING, 13000, 14000, M_TRAINING}, {LC_S_RESTARTING, 14000, 16000, M_RESTARTING},
        {LC_S_STARTING, 16000, 19000, M_PREP},     {LC_S_DOWNLOADING, 19000, 21000, M_DOWNLOAD},
        {LC_S_TRAINING, 21000, 22000, M_TRAINING}, {LC_S_FAILED, 22000, 22000, M_FAILED},
    };
    const lc_view *v = at(pl, NULL, 0, 6000, &g_v);
    assert_int_equal(v->primary, LC_IN_PROGRESS);
    assert_int_equal(v->secondary, LC_S_RESTARTING);
    assert_null(v->failure_reason);
    v = at(pl, NULL, 0, 8000, &g_v); /* retried: SecondaryStatus back to Starting */
    assert_int_equal(v->secondary, LC_S_STARTING);
    assert_string_equal(v->trans[v->ntrans - 1].message, M_START);
    assert_int_equal(off(v->training_start_ms), 3000); /* the first attempt's counts */
    v = at(pl, NULL, 0, 22000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->primary, LC_FAILED);
    assert_string_equal(v->failure_reason, R_INTERNAL);
    assert_int_equal(off(v->training_start_ms), 3000);
    assert_int_equal(off(v->training_end_ms), 22000);
    assert_int_equal(v->training_time_s, 19);
    assert_int_equal(v->next_change_ms, -1);
}

static void test_failure_that_happens_once_is_retried_and_the_job_completes(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_retry_attempts = 1;
    const lc_plan *pl = build(with_failure(2, 1000, 1, 1), &p);
    static const xt want[] = {
        {LC_S_STARTING, 0, 3000, M_PREP},
        {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
        {LC_S_TRAINING, 5000, 6000, M_TRAINING},
        {LC_S_RESTARTING, 6000, 8000, M_RESTARTING},
        {LC_S_STARTING, 8000, 11000, M_PREP},
        {LC_S_DOWNLOADING, 11000, 13000, M_DOWNLOAD},
        {LC_S_TRAINING, 13000, 16000, M_TRAINING},
        {LC_S_UPLOADING, 16000, 18000, M_UPLOAD},
        {LC_S_COMPLETED, 18000, 18000, M_COMPLETED},
    };
    const lc_view *v = at(pl, NULL, 0, 18000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->primary, LC_COMPLETED);
    assert_null(v->failure_reason);
    assert_int_equal(v->training_time_s, 15);
}

static void test_failure_without_retry_strategy_or_not_retryable_fails_at_once(void **s)
{
    (void)s;
    static const xt want[] = {{LC_S_STARTING, 0, 3000, M_PREP},
                              {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
                              {LC_S_TRAINING, 5000, 6000, M_TRAINING},
                              {LC_S_FAILED, 6000, 6000, M_FAILED}};
    static const struct {
        int retries, retryable;
    } rows[] = {{0, 1}, {3, 0}};
    for (int i = 0; i < NX(rows); i++) {
        lc_params p = params();
        p.max_retry_attempts = rows[i].retries;
        const lc_plan *pl = build(with_failure(2, 1000, rows[i].retryable, -1), &p);
        const lc_view *v = at(pl, NULL, 0, 60000, &g_v);
        expect_trans(v, want, NX(want));
        assert_int_equal(v->primary, LC_FAILED);
        assert_string_equal(v->failure_reason, R_INTERNAL);
        assert_int_equal(v->training_time_s, 3);
        assert_int_equal(v->billable_time_s, 3);
    }
}

static void test_failure_before_training_start_has_no_training_times(void **s)
{
    (void)s;
    lc_params p = params();
    const lc_plan *pl = build(with_failure(0, 1500, 0, -1), &p);
    static const xt want[] = {{LC_S_STARTING, 0, 1500, M_LAUNCH},
                              {LC_S_FAILED, 1500, 1500, M_FAILED}};
    const lc_view *v = at(pl, NULL, 0, 1499, &g_v);
    assert_null(v->failure_reason); /* FailureReason only once Failed */
    v = at(pl, NULL, 0, 1500, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->training_start_ms, -1);
    assert_int_equal(off(v->training_end_ms), 1500); /* real failed jobs have one */
    assert_int_equal(v->training_time_s, -1);
    assert_int_equal(v->billable_time_s, -1);
    assert_non_null(v->failure_reason);
}

static void test_max_runtime_counts_running_time_of_all_attempts_together(void **s)
{
    (void)s;
    lc_params p = params();
    p.max_retry_attempts = 5;
    /* Each attempt runs 3 s (Downloading 2 + Training 1) before it fails; Restarting and
     * Starting do not count. 9 s of running end 1 s into the third attempt's Training, at
     * 22000 (attempts start at 0, 8000, 16000). */
    p.max_runtime_s = 9;
    const lc_plan *pl = build(with_failure(2, 1000, 1, -1), &p);
    const lc_view *v = at(pl, NULL, 0, 60000, &g_v);
    assert_int_equal(v->secondary, LC_S_MAX_RUNTIME_EXCEEDED);
    assert_int_equal(v->ntrans, 13);
    assert_int_equal(v->trans[10].status, LC_S_TRAINING);
    assert_int_equal(off(v->trans[10].end_ms), 22000);
    assert_int_equal(v->trans[11].status, LC_S_STOPPING);
    assert_int_equal(off(v->training_end_ms), 24000);
}

/* ---- spot ----------------------------------------------------------------------------- */

static void test_spot_interruption_enters_interrupted_then_starts_again(void **s)
{
    (void)s;
    lc_params p = params();
    p.spot = 1;
    p.max_wait_s = 3600;
    const lc_plan *pl = build(with_interruptions(1, 2, 1000, 2000), &p);
    static const xt want[] = {
        {LC_S_STARTING, 0, 3000, M_PREP},
        {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
        {LC_S_TRAINING, 5000, 6000, M_TRAINING},
        {LC_S_INTERRUPTED, 6000, 8000, M_INTERRUPTED},
        {LC_S_STARTING, 8000, 11000, M_PREP},
        {LC_S_DOWNLOADING, 11000, 13000, M_DOWNLOAD},
        {LC_S_TRAINING, 13000, 16000, M_TRAINING},
        {LC_S_UPLOADING, 16000, 18000, M_UPLOAD},
        {LC_S_COMPLETED, 18000, 18000, M_COMPLETED},
    };
    const lc_view *v = at(pl, NULL, 0, 7000, &g_v);
    assert_int_equal(v->primary, LC_IN_PROGRESS);
    assert_int_equal(v->secondary, LC_S_INTERRUPTED);
    v = at(pl, NULL, 0, 9000, &g_v); /* Starting again, with its messages */
    assert_string_equal(v->trans[4].message, M_LAUNCH);
    v = at(pl, NULL, 0, 18000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->training_time_s, 15);
    /* billed: 2 + 1 + 2 + 3 + 2 = 10 s in Downloading/Training/Uploading, 50% saved */
    assert_int_equal(v->billable_time_s, 5);
    assert_true(v->billable_time_s < v->training_time_s);
}

static void test_interruptions_do_not_happen_to_on_demand_jobs(void **s)
{
    (void)s;
    lc_params p = params();
    const lc_plan *pl = build(with_interruptions(1, 2, 1000, 2000), &p);
    at(pl, NULL, 0, 60000, &g_v);
    pl = build(lc_scenario_success(), &p);
    assert_true(same_view(&g_v, at(pl, NULL, 0, 60000, &g_w)));
}

static void test_endless_interruptions_end_at_max_wait_time(void **s)
{
    (void)s;
    lc_params p = params();
    p.spot = 1;
    p.max_wait_s = 20;
    p.max_runtime_s = 3600;
    const lc_plan *pl = build(with_interruptions(-1, 2, 1000, 2000), &p);
    static const xt want[] = {
        {LC_S_STARTING, 0, 3000, M_PREP},
        {LC_S_DOWNLOADING, 3000, 5000, M_DOWNLOAD},
        {LC_S_TRAINING, 5000, 6000, M_TRAINING},
        {LC_S_INTERRUPTED, 6000, 8000, M_INTERRUPTED},
        {LC_S_STARTING, 8000, 11000, M_PREP},
        {LC_S_DOWNLOADING, 11000, 13000, M_DOWNLOAD},
        {LC_S_TRAINING, 13000, 14000, M_TRAINING},
        {LC_S_INTERRUPTED, 14000, 16000, M_INTERRUPTED},
        {LC_S_STARTING, 16000, 19000, M_PREP},
        {LC_S_DOWNLOADING, 19000, 20000, M_DOWNLOAD},
        {LC_S_STOPPING, 20000, 22000, M_STOPPING},
        {LC_S_MAX_WAIT_TIME_EXCEEDED, 22000, 22000, M_WAIT},
    };
    const lc_view *v = at(pl, NULL, 0, 20000, &g_v);
    assert_int_equal(v->primary, LC_STOPPING);
    v = at(pl, NULL, 0, 22000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->primary, LC_STOPPED);
    assert_int_equal(v->training_time_s, 19);
    /* billed 2 + 1 + 2 + 1 + 1 = 7 s, half of it: 3.5, rounded up */
    assert_int_equal(v->billable_time_s, 4);
}

/* Spec §3.2.6, "never launched": Starting, then Stopping, then MaxWaitTimeExceeded. */
static void test_spot_job_that_never_launches_ends_with_max_wait_time_exceeded(void **s)
{
    (void)s;
    static const xt want[] = {{LC_S_STARTING, 0, 10000, M_START},
                              {LC_S_STOPPING, 10000, 12000, M_STOPPING},
                              {LC_S_MAX_WAIT_TIME_EXCEEDED, 12000, 12000, M_WAIT}};
    lc_params p = params();
    p.spot = 1;
    p.max_wait_s = 10;
    p.max_runtime_s = 10;
    /* Training would start at 103 s: MaxWait (10 s from creation) comes first. */
    const lc_plan *pl = build(with_first_step(LC_S_STARTING, 100000, M_START), &p);
    const lc_view *v = at(pl, NULL, 0, 12000, &g_v);
    expect_trans(v, want, NX(want));
    assert_int_equal(v->primary, LC_STOPPED);
    assert_int_equal(v->training_start_ms, -1);
    assert_int_equal(v->billable_time_s, -1);

    /* A plan that never trains: both limits run from creation and fall on the same instant;
     * MaxWait wins the tie. */
    g_sc.nsteps = 1;
    v = at(build(&g_sc, &p), NULL, 0, 12000, &g_v);
    expect_trans(v, want, NX(want));
}

static void test_spot_billable_time_is_smaller_than_training_time(void **s)
{
    (void)s;
    static const struct {
        int pct;
        int64_t bt;
    } rows[] = {{50, 4}, {0, 7}, {90, 1}, {100, 1}};
    for (int i = 0; i < NX(rows); i++) {
        lc_params p = params();
        p.spot = 1;
        p.max_wait_s = 3600;
        g_sc = *lc_scenario_success();
        g_sc.spot_savings_pct = rows[i].pct;
        const lc_view *v = at(build(&g_sc, &p), NULL, 0, 10000, &g_v);
        assert_int_equal(v->training_time_s, 7);
        assert_int_equal(v->billable_time_s, rows[i].bt);
    }
}

/* ---- warm pool ------------------------------------------------------------------------ */

static void test_warm_pool_in_use_then_available_then_terminated_at_keep_alive(void **s)
{
    (void)s;
    static const struct {
        int64_t t;
        lc_warm_pool wp;
        int64_t retained, next;
    } rows[] = {
        {0, LC_WP_IN_USE, -1, 1000},         {9999, LC_WP_IN_USE, -1, 10000},
        {10000, LC_WP_AVAILABLE, 0, 70000},  {15500, LC_WP_AVAILABLE, 5, 70000},
        {69999, LC_WP_AVAILABLE, 59, 70000}, {70000, LC_WP_TERMINATED, 60, -1},
        {999999, LC_WP_TERMINATED, 60, -1},
    };
    lc_params p = params();
    p.keep_alive_s = 60;
    const lc_plan *pl = build(lc_scenario_success(), &p);
    for (int i = 0; i < NX(rows); i++) {
        const lc_view *v = at(pl, NULL, 0, rows[i].t, &g_v);
        if (v->warm_pool != rows[i].wp || v->warm_pool_retained_s != rows[i].retained ||
            off(v->next_change_ms) != rows[i].next)
            fail_msg("t=%lld: %d retained=%lld next=%lld", (long long)rows[i].t, v->warm_pool,
                     (long long)v->warm_pool_retained_s, (long long)off(v->next_change_ms));
        if (rows[i].t >= 10000)
            assert_int_equal(v->last_modified_ms, C0 + 10000); /* the pool is not the job */
    }
}

static void test_keep_alive_update_moves_or_ends_the_warm_pool(void **s)
{
    (void)s;
    static const struct {
        const char *what;
        int64_t at, value;
        int64_t expiry; /* offset at which the pool is Terminated */
        int64_t retained;
    } rows[] = {
        {"0 while Available terminates at once", 20000, 0, 20000, 10},
        {"120 while Available counts from the update", 20000, 120, 140000, 130},
        {"30 while running replaces the period", 5000, 30, 40000, 30},
        {"0 while running: terminated at the end", 5000, 0, 10000, 0},
        {"after termination: ignored", 80000, 600, 70000, 60},
    };
    lc_params p = params();
    p.keep_alive_s = 60;
    const lc_plan *pl = build(lc_scenario_success(), &p);
    for (int i = 0; i < NX(rows); i++) {
        lc_event ev = {LC_EV_KEEP_ALIVE, C0 + rows[i].at, rows[i].value};
        int64_t x = rows[i].expiry;
        print_message("%s\n", rows[i].what);
        if (x > 10000) {
            assert_int_equal(at(pl, &ev, 1, x - 1, &g_v)->warm_pool, LC_WP_AVAILABLE);
            assert_int_equal(off(g_v.next_change_ms), x);
        }
        const lc_view *v = at(pl, &ev, 1, x, &g_v);
        assert_int_equal(v->warm_pool, LC_WP_TERMINATED);
        assert_int_equal(v->warm_pool_retained_s, rows[i].retained);
        assert_int_equal(v->next_change_ms, -1);
        assert_int_equal(v->primary, LC_COMPLETED);
    }
}

/* A Failed or Stopped job keeps no pool: Terminated when it ends, nothing retained. */
static void test_failed_and_stopped_jobs_keep_no_warm_pool(void **s)
{
    (void)s;
    lc_params p = params();
    p.keep_alive_s = 60;
    const lc_plan *pl = build(with_failure(2, 1000, 0, -1), &p);
    assert_int_equal(at(pl, NULL, 0, 5999, &g_v)->warm_pool, LC_WP_IN_USE);
    assert_int_equal(at(pl, NULL, 0, 6000, &g_v)->warm_pool, LC_WP_TERMINATED);
    assert_int_equal(g_v.warm_pool_retained_s, 0);
    assert_int_equal(g_v.next_change_ms, -1);
    assert_int_equal(at(pl, NULL, 0, 600000, &g_v)->warm_pool, LC_WP_TERMINATED);

    pl = build(lc_scenario_success(), &p);
    lc_event stop = {LC_EV_STOP, C0 + 4000, 0};
    assert_int_equal(at(pl, &stop, 1, 5000, &g_v)->warm_pool, LC_WP_IN_USE); /* Stopping */
    assert_int_equal(at(pl, &stop, 1, 6000, &g_v)->warm_pool, LC_WP_TERMINATED);
    assert_int_equal(g_v.warm_pool_retained_s, 0);
    assert_int_equal(g_v.next_change_ms, -1);

    p.max_runtime_s = 4;
    pl = build(lc_scenario_success(), &p);
    assert_int_equal(at(pl, NULL, 0, 9000, &g_v)->warm_pool, LC_WP_TERMINATED);

    p = params(); /* no KeepAlivePeriodInSeconds: never a pool */
    pl = build(lc_scenario_success(), &p);
    assert_int_equal(at(pl, NULL, 0, 0, &g_v)->warm_pool, LC_WP_NONE);
    assert_int_equal(at(pl, NULL, 0, 10000, &g_v)->warm_pool, LC_WP_NONE);
}

/* ---- next_change_ms and monotonicity, over many jobs ---------------------------------- */

enum {
    J_SUCCESS,
    J_STOP,
    J_KEEP,
    J_KEEP_ZERO,
    J_RUNTIME,
    J_RETRIES,
    J_ONCE,
    J_FAIL_STARTING,
    J_SPOT_ONCE,
    J_SPOT_ENDLESS,
    J_STOP_RESTARTING,
    J_SPOT_KEEP,
    J_COUNT
};

/* Build job `j` into g_plan; its events into ev (returns how many). */
static int job(int j, lc_event *ev)
{
    lc_params p = params();
    const lc_scenario *sc = lc_scenario_success();
    int nev = 0;
    switch (j) {
    case J_STOP:
        ev[nev++] = (lc_event){LC_EV_STOP, C0 + 6500, 0};
        break;
    case J_KEEP:
        p.keep_alive_s = 60;
        break;
    case J_KEEP_ZERO:
        p.keep_alive_s = 60;
        ev[nev++] = (lc_event){LC_EV_KEEP_ALIVE, C0 + 20000, 0};
        break;
    case J_RUNTIME:
        p.max_runtime_s = 4;
        break;
    case J_RETRIES:
        p.max_retry_attempts = 2;
        sc = with_failure(2, 1000, 1, -1);
        break;
    case J_ONCE:
        p.max_retry_attempts = 1;
        sc = with_failure(2, 1000, 1, 1);
        break;
    case J_FAIL_STARTING:
        sc = with_failure(0, 1500, 0, -1);
        break;
    case J_SPOT_ONCE:
        p.spot = 1;
        p.max_wait_s = 3600;
        sc = with_interruptions(1, 2, 1000, 2000);
        break;
    case J_SPOT_ENDLESS:
        p.spot = 1;
        p.max_wait_s = 20;
        sc = with_interruptions(-1, 2, 1000, 2000);
        break;
    case J_STOP_RESTARTING:
        p.max_retry_attempts = 2;
        sc = with_failure(2, 1000, 1, -1);
        ev[nev++] = (lc_event){LC_EV_STOP, C0 + 7000, 0};
        break;
    case J_SPOT_KEEP:
        p.spot = 1;
        p.max_wait_s = 3600;
        p.keep_alive_s = 30;
        sc = with_interruptions(1, 1, 500, 1000);
        ev[nev++] = (lc_event){LC_EV_KEEP_ALIVE, C0 + 25000, 100};
        break;
    default:
        break;
    }
    build(sc, &p);
    return nev;
}

static void test_next_change_is_exactly_when_the_view_next_changes(void **s)
{
    (void)s;
    for (int j = 0; j < J_COUNT; j++) {
        lc_event ev[4];
        int nev = job(j, ev);
        int64_t t = 0;
        int steps = 0;
        for (;; steps++) {
            assert_true(steps < 1000);
            const lc_view *v = at(&g_plan, ev, nev, t, &g_v);
            assert_int_equal(v->trans[v->ntrans - 1].status, v->secondary);
            if (v->next_change_ms < 0) {
                /* never changes again */
                assert_true(v->primary != LC_IN_PROGRESS && v->primary != LC_STOPPING);
                assert_true(same_view(v, at(&g_plan, ev, nev, t + 1, &g_w)));
                assert_true(same_view(v, at(&g_plan, ev, nev, t + 400000000000LL, &g_w)));
                assert_int_equal(g_w.next_change_ms, -1);
                break;
            }
            int64_t n = v->next_change_ms - C0;
            if (n <= t)
                fail_msg("job %d: next_change %lld not after t=%lld", j, (long long)n,
                         (long long)t);
            /* unchanged until then, changed at it */
            if (!same_view(v, at(&g_plan, ev, nev, n - 1, &g_w)) ||
                !same_view(v, at(&g_plan, ev, nev, t + (n - t) / 2, &g_w)))
                fail_msg("job %d: view changed between t=%lld and next_change %lld", j,
                         (long long)t, (long long)n);
            assert_int_equal(g_w.next_change_ms, v->next_change_ms);
            if (same_view(v, at(&g_plan, ev, nev, n, &g_w)))
                fail_msg("job %d: nothing changed at next_change %lld", j, (long long)n);
            expect_forward(v, &g_w);
            t = n;
        }
        assert_true(steps >= 2);
    }
}

static void test_a_job_never_moves_backwards(void **s)
{
    (void)s;
    for (int j = 0; j < J_COUNT; j++) {
        lc_event ev[4];
        int nev = job(j, ev);
        at(&g_plan, ev, nev, -1, &g_x);
        for (int64_t t = 0; t <= 200000; t += 137) {
            at(&g_plan, ev, nev, t, &g_v);
            expect_forward(&g_x, &g_v);
            g_x = g_v;
        }
        assert_int_not_equal(g_x.primary, LC_IN_PROGRESS);
    }
}

/* ---- bounds and malformed input ------------------------------------------------------- */

/* One 1 ms step, interrupted at once and down for 0 ms, forever: infinite marks at one
 * instant, so only the bounds stop generation. */
static void test_pathological_scenario_is_truncated_within_the_bounds(void **s)
{
    (void)s;
    g_sc = *lc_scenario_success();
    g_sc.nsteps = 1;
    g_sc.steps[0].duration_ms = 1;
    g_sc.steps[0].nmsg = 1;
    g_sc.interruptions = -1;
    g_sc.interrupt_step = 0;
    g_sc.interrupt_after_ms = 0;
    g_sc.interrupted_ms = 0;
    lc_params p = params();
    p.spot = 1;
    p.max_wait_s = 60;
    const lc_plan *pl = build(&g_sc, &p);
    assert_true(pl->nmarks <= LC_MAX_MARKS);
    const lc_view *v = at(pl, NULL, 0, 3600000, &g_v);
    assert_int_equal(v->ntrans, LC_MAX_TRANSITIONS);
    assert_int_equal(v->secondary, LC_S_MAX_WAIT_TIME_EXCEEDED);
    assert_int_equal(v->trans[v->ntrans - 1].status, LC_S_MAX_WAIT_TIME_EXCEEDED);
    assert_int_equal(v->trans[v->ntrans - 2].status, LC_S_STOPPING);
    assert_int_equal(off(v->trans[v->ntrans - 2].start_ms), 60000);
    assert_int_equal(off(v->training_end_ms), 62000);
    lc_event stop = {LC_EV_STOP, C0 + 1000, 0};
    v = at(pl, &stop, 1, 3600000, &g_v);
    assert_true(v->ntrans <= LC_MAX_TRANSITIONS);
    assert_int_equal(v->secondary, LC_S_STOPPED);
    assert_int_equal(v->trans[v->ntrans - 1].status, LC_S_STOPPED);

    /* no deadline at all: the job stays in its last step */
    p.max_wait_s = -1;
    p.max_runtime_s = -1;
    pl = build(&g_sc, &p);
    v = at(pl, NULL, 0, 3600000, &g_v);
    assert_true(v->ntrans <= LC_MAX_TRANSITIONS);
    assert_int_equal(v->primary, LC_IN_PROGRESS);
    assert_int_equal(v->next_change_ms, -1);

    /* many messages: the mark bound is reached first */
    g_sc = *lc_scenario_success();
    for (int i = 0; i < LC_MAX_STEPS; i++) {
        g_sc.steps[i] = lc_scenario_success()->steps[0];
        g_sc.steps[i].nmsg = LC_MAX_MESSAGES;
        g_sc.steps[i].msg[3] = (lc_message){2500, "more"};
    }
    g_sc.nsteps = LC_MAX_STEPS;
    g_sc.interruptions = -1;
    g_sc.interrupt_step = LC_MAX_STEPS - 1;
    g_sc.interrupt_after_ms = 2999;
    p = params();
    p.spot = 1;
    p.max_wait_s = 86400;
    pl = build(&g_sc, &p);
    assert_int_equal(pl->nmarks, LC_MAX_MARKS);
    v = at(pl, NULL, 0, 86400000 + 2000, &g_v);
    assert_int_equal(v->secondary, LC_S_MAX_WAIT_TIME_EXCEEDED);
    assert_true(v->ntrans < LC_MAX_TRANSITIONS);
}

static void bad_no_steps(lc_scenario *s)
{
    s->nsteps = 0;
}
static void bad_too_many_steps(lc_scenario *s)
{
    s->nsteps = LC_MAX_STEPS + 1;
}
static void bad_step_status(lc_scenario *s)
{
    s->steps[1].status = LC_S_COMPLETED;
}
static void bad_step_interrupted(lc_scenario *s)
{
    s->steps[1].status = LC_S_INTERRUPTED;
}
static void bad_status_value(lc_scenario *s)
{
    s->steps[1].status = (lc_secondary)99;
}
static void bad_zero_duration(lc_scenario *s)
{
    s->steps[1].duration_ms = 0;
}
static void bad_huge_duration(lc_scenario *s)
{
    s->steps[1].duration_ms = LC_MAX_DURATION_MS + 1;
}
static void bad_no_message(lc_scenario *s)
{
    s->steps[1].nmsg = 0;
}
static void bad_too_many_messages(lc_scenario *s)
{
    s->steps[1].nmsg = LC_MAX_MESSAGES + 1;
}
static void bad_first_message_late(lc_scenario *s)
{
    s->steps[1].msg[0].at_ms = 1;
}
static void bad_messages_unordered(lc_scenario *s)
{
    s->steps[0].msg[2].at_ms = 1000;
}
static void bad_message_after_end(lc_scenario *s)
{
    s->steps[0].msg[2].at_ms = 3000;
}
static void bad_empty_message(lc_scenario *s)
{
    s->steps[0].msg[1].text[0] = '\0';
}
static void bad_unterminated_message(lc_scenario *s)
{
    memset(s->steps[0].msg[1].text, 'x', sizeof s->steps[0].msg[1].text);
}
static void bad_unterminated_name(lc_scenario *s)
{
    memset(s->name, 'x', sizeof s->name);
}
static void bad_stop_delay(lc_scenario *s)
{
    s->stop_delay_ms = -1;
}
static void bad_fail_step(lc_scenario *s)
{
    s->fail_step = 4, s->failure_reason[0] = 'x';
}
static void bad_fail_step_low(lc_scenario *s)
{
    s->fail_step = -2;
}
static void bad_fail_after(lc_scenario *s)
{
    s->fail_step = 1, s->fail_after_ms = 2000, s->failure_reason[0] = 'x';
}
static void bad_fail_no_reason(lc_scenario *s)
{
    s->fail_step = 1;
}
static void bad_failing_zero(lc_scenario *s)
{
    s->fail_step = 1, s->failure_reason[0] = 'x', s->failing_attempts = 0;
}
static void bad_restart_delay(lc_scenario *s)
{
    s->fail_step = 1, s->failure_reason[0] = 'x', s->restart_delay_ms = -5;
}
static void bad_interruptions(lc_scenario *s)
{
    s->interruptions = -2;
}
static void bad_interrupt_step(lc_scenario *s)
{
    s->interruptions = 1, s->interrupt_step = 4;
}
static void bad_interrupt_after(lc_scenario *s)
{
    s->interruptions = 1, s->interrupt_step = 0, s->interrupt_after_ms = 3000;
}
static void bad_interrupted(lc_scenario *s)
{
    s->interruptions = 1, s->interrupted_ms = -1;
}
static void bad_savings(lc_scenario *s)
{
    s->spot_savings_pct = 101;
}

static void test_malformed_scenarios_are_refused_by_the_planner(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        void (*spoil)(lc_scenario *);
    } rows[] = {
#define ROW(f) {#f, f}
        ROW(bad_no_steps),
        ROW(bad_too_many_steps),
        ROW(bad_step_status),
        ROW(bad_step_interrupted),
        ROW(bad_status_value),
        ROW(bad_zero_duration),
        ROW(bad_huge_duration),
        ROW(bad_no_message),
        ROW(bad_too_many_messages),
        ROW(bad_first_message_late),
        ROW(bad_messages_unordered),
        ROW(bad_message_after_end),
        ROW(bad_empty_message),
        ROW(bad_unterminated_message),
        ROW(bad_unterminated_name),
        ROW(bad_stop_delay),
        ROW(bad_fail_step),
        ROW(bad_fail_step_low),
        ROW(bad_fail_after),
        ROW(bad_fail_no_reason),
        ROW(bad_failing_zero),
        ROW(bad_restart_delay),
        ROW(bad_interruptions),
        ROW(bad_interrupt_step),
        ROW(bad_interrupt_after),
        ROW(bad_interrupted),
        ROW(bad_savings),
#undef ROW
    };
    lc_params p = params();
    for (int i = 0; i < NX(rows); i++) {
        g_sc = *lc_scenario_success();
        rows[i].spoil(&g_sc);
        if (lc_plan_build(&g_sc, &p, &g_plan) != SM_EINVAL) fail_msg("%s: accepted", rows[i].name);
    }
    /* the unspoilt scenario, and bad parameters */
    assert_int_equal(lc_plan_build(lc_scenario_success(), &p, &g_plan), SM_OK);
    p.max_retry_attempts = -1;
    assert_int_equal(lc_plan_build(lc_scenario_success(), &p, &g_plan), SM_EINVAL);
    p = params();
    p.keep_alive_s = -1;
    assert_int_equal(lc_plan_build(lc_scenario_success(), &p, &g_plan), SM_EINVAL);
    assert_int_equal(lc_plan_build(NULL, &p, &g_plan), SM_EINVAL);
}

static void test_plan_can_be_rebuilt_from_its_own_scenario(void **state)
{
    (void)state;
    lc_params p = params();
    build(lc_scenario_success(), &p);
    at(&g_plan, NULL, 0, 60000, &g_w);
    p.keep_alive_s = 0;
    assert_int_equal(lc_plan_build(&g_plan.scenario, &p, &g_plan), SM_OK);
    assert_true(same_view(at(&g_plan, NULL, 0, 60000, &g_v), &g_w));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_round_trip_and_unknown_names_are_refused),
        cmocka_unit_test(test_default_scenario_takes_ten_seconds_and_shows_every_step_for_a_second),
        cmocka_unit_test(test_success_path_shows_each_step_and_message_at_its_time),
        cmocka_unit_test(test_status_message_changes_in_place_without_a_new_entry),
        cmocka_unit_test(test_completed_job_has_chained_end_times_and_equal_terminal_start_and_end),
        cmocka_unit_test(test_fields_are_present_per_phase_as_the_spec_table_says),
        cmocka_unit_test(test_a_time_before_creation_reads_as_creation),
        cmocka_unit_test(test_stop_in_each_phase_keeps_the_step_then_stopping_then_stopped),
        cmocka_unit_test(test_stop_when_ended_or_already_stopping_or_before_creation_is_ignored),
        cmocka_unit_test(test_max_runtime_counts_from_training_start_and_cuts_the_running_step),
        cmocka_unit_test(test_max_runtime_does_not_count_pending_or_starting),
        cmocka_unit_test(test_max_runtime_counts_from_creation_when_training_never_starts),
        cmocka_unit_test(test_earliest_of_stop_and_max_runtime_wins),
        cmocka_unit_test(test_internal_failure_is_retried_then_fails_when_retries_run_out),
        cmocka_unit_test(test_failure_that_happens_once_is_retried_and_the_job_completes),
        cmocka_unit_test(test_failure_without_retry_strategy_or_not_retryable_fails_at_once),
        cmocka_unit_test(test_failure_before_training_start_has_no_training_times),
        cmocka_unit_test(test_max_runtime_counts_running_time_of_all_attempts_together),
        cmocka_unit_test(test_spot_interruption_enters_interrupted_then_starts_again),
        cmocka_unit_test(test_interruptions_do_not_happen_to_on_demand_jobs),
        cmocka_unit_test(test_endless_interruptions_end_at_max_wait_time),
        cmocka_unit_test(test_spot_job_that_never_launches_ends_with_max_wait_time_exceeded),
        cmocka_unit_test(test_spot_billable_time_is_smaller_than_training_time),
        cmocka_unit_test(test_warm_pool_in_use_then_available_then_terminated_at_keep_alive),
        cmocka_unit_test(test_keep_alive_update_moves_or_ends_the_warm_pool),
        cmocka_unit_test(test_failed_and_stopped_jobs_keep_no_warm_pool),
        cmocka_unit_test(test_next_change_is_exactly_when_the_view_next_changes),
        cmocka_unit_test(test_a_job_never_moves_backwards),
        cmocka_unit_test(test_pathological_scenario_is_truncated_within_the_bounds),
        cmocka_unit_test(test_malformed_scenarios_are_refused_by_the_planner),
        cmocka_unit_test(test_plan_can_be_rebuilt_from_its_own_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
