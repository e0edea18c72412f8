/*
 * test_tuning.c: unit tests of the tuning engine (server/engine/tuning.c).
 *
 * A small world stands in for the store and the lifecycle: a child created at C trains its
 * epochs between C + 3 s and C + 8 s and completes at C + 10 s; a stop at S ends it at S + 1 s
 * (Stopped) and keeps the epochs printed before S + 0.5 s, as the lifecycle and log engines do
 * with a 1 s stop delay. The harness takes the engine's actions exactly as tuning_run.c does
 * (create the child, record the stop) and evaluates again, so every test drives the engine
 * through its public function only. Times are offsets in milliseconds from T0.
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
#include "tuning.h"

#define T0 1700000000000LL
#define S(x) ((int64_t)((x)*1000))
#define EPOCHS 5
#define RUN_MS 10000
#define STOP_DELAY 1000

typedef double (*value_fn)(const tn_def *d, const tn_point *p, int k, int *fails);

typedef struct world {
    tn_config cfg;
    tn_def def;
    tn_child ch[TN_MAX_CHILDREN];
    int64_t ms[TN_MAX_CHILDREN][EPOCHS];
    double v[TN_MAX_CHILDREN][EPOCHS];
    double final[TN_MAX_CHILDREN];
    int n;
    value_fn value;
    int creates, stops;
    int64_t stagger_ms; /* child k runs RUN_MS + k * stagger_ms */
    int64_t created_at[TN_MAX_CHILDREN];
} world;

static double surface_value(const tn_def *d, const tn_point *p, int k, int *fails)
{
    (void)k;
    *fails = 0;
    return tn_surface_value(NULL, d, p, 1);
}

static void child_outcome(world *w, int k, int64_t stop)
{
    tn_child *c = &w->ch[k];
    int64_t created = c->created_ms;
    int fails = 0;
    double f = w->value(&w->def, &c->p, k, &fails);
    w->final[k] = f;
    c->stop_ms = stop;
    c->epochs = EPOCHS;
    c->nseries = 0;
    c->series_ms = w->ms[k];
    c->series_v = w->v[k];
    int64_t cut = stop >= 0 ? stop + STOP_DELAY / 2 : INT64_MAX;
    for (int e = 1; e <= EPOCHS; e++) {
        int64_t at = created + 3000 + e * 5000 / EPOCHS;
        if (fails && e > 2) break;
        if (at >= cut) break;
        double x = 1.0 - (double)e / EPOCHS;
        w->ms[k][c->nseries] = at;
        w->v[k][c->nseries++] = f + (f * 0.5 - f) * x * x;
    }
    if (fails) {
        c->status = TN_END_FAILED;
        c->end_ms = created + 6000;
        c->has_final = 0;
        c->retryable = fails == 2;
        c->nseries = 0;
    } else if (stop >= 0 && stop < created + RUN_MS + k * w->stagger_ms) {
        c->status = TN_END_STOPPED;
        c->end_ms = stop + STOP_DELAY;
        c->has_final = 0;
    } else {
        c->status = TN_END_COMPLETED;
        c->end_ms = created + RUN_MS + k * w->stagger_ms;
        c->has_final = 1;
        c->final_v = f;
    }
}

static void world_init(world *w, tn_strategy strategy, int max_jobs, int parallel)
{
    memset(w, 0, sizeof *w);
    w->def.nranges = 2;
    w->def.ranges[0] =
        (tn_range){.kind = TN_CONTINUOUS, .name = "lr", .min = 0.0001, .max = 0.1, .scale = TN_LOG};
    w->def.ranges[1] = (tn_range){.kind = TN_INTEGER, .name = "layers", .min = 1, .max = 16};
    w->cfg.strategy = strategy;
    w->cfg.maximize = 1;
    w->cfg.max_jobs = max_jobs;
    w->cfg.max_parallel = parallel;
    w->cfg.created_ms = T0;
    w->cfg.max_runtime_ms = -1;
    w->cfg.stop_ms = -1;
    w->cfg.hb_min = 1;
    w->cfg.hb_max = EPOCHS;
    w->cfg.seed = 42;
    w->cfg.ndefs = 1;
    w->cfg.defs = &w->def;
    w->value = surface_value;
}

/* Evaluate at t, taking every action due (as tuning_run.c does). */
static void run(world *w, int64_t t, tn_view *v)
{
    for (int guard = 0; guard < 10000; guard++) {
        tn_eval(&w->cfg, w->ch, w->n, t, v);
        if (v->action == TN_ACT_CREATE) {
            assert_int_equal(v->act_child, w->n);
            assert_true(v->act_ms <= t);
            tn_child *c = &w->ch[w->n];
            memset(c, 0, sizeof *c);
            c->def = v->act_def;
            c->p = v->act_point;
            c->created_ms = v->act_ms;
            w->created_at[w->n] = v->act_ms;
            child_outcome(w, w->n, -1);
            w->n++;
            w->creates++;
        } else if (v->action == TN_ACT_STOP) {
            assert_true(v->act_ms <= t);
            child_outcome(w, v->act_child, v->act_ms);
            w->stops++;
        } else {
            return;
        }
    }
    fail_msg("the engine kept asking for actions");
}

static int running_at(const world *w, int64_t t)
{
    int n = 0;
    for (int i = 0; i < w->n; i++)
        if (w->ch[i].created_ms <= t && w->ch[i].end_ms > t) n++;
    return n;
}

/* ---- scheduling ---------------------------------------------------------------------------- */

static void test_children_fill_the_parallel_slots_up_to_the_maximum(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 5, 2);
    tn_view v;
    run(&w, T0, &v);
    assert_int_equal(w.n, 2);
    assert_int_equal(v.status, TN_IN_PROGRESS);
    assert_int_equal(v.in_progress, 2);
    assert_int_equal(v.obj_pending, 2);
    assert_int_equal(v.next_change_ms, T0 + RUN_MS); /* the first two end */
    run(&w, T0 + S(100), &v);
    assert_int_equal(w.n, 5);
    int64_t expect[] = {0, 0, 10000, 10000, 20000};
    for (int i = 0; i < 5; i++)
        assert_int_equal(w.ch[i].created_ms, T0 + expect[i]);
    for (int64_t t = T0; t < T0 + S(40); t += 500)
        assert_true(running_at(&w, t) <= 2);
    assert_int_equal(v.status, TN_COMPLETED);
    assert_int_equal(v.end_ms, T0 + S(30));
    assert_int_equal(v.completed, 5);
    assert_int_equal(v.obj_succeeded, 5);
    assert_int_equal(v.next_change_ms, -1);
    assert_int_equal(v.halt, TN_HALT_EXHAUSTED);
    /* The best child has the highest objective. */
    for (int i = 0; i < 5; i++)
        assert_true(w.final[v.best] >= w.final[i]);
    assert_int_equal(w.ch[v.best].obj, TN_OBJ_SUCCEEDED);
    assert_true(w.ch[v.best].obj_value == w.final[v.best]);
}

static void test_a_later_read_sees_a_prefix_of_the_same_history(void **state)
{
    (void)state;
    static world a, b;
    world_init(&a, TN_BAYESIAN, 12, 3);
    world_init(&b, TN_BAYESIAN, 12, 3);
    tn_view va, vb;
    /* a: read every second; b: read once at the end. Same children, same points. */
    for (int64_t t = T0; t <= T0 + S(60); t += 1000)
        run(&a, t, &va);
    run(&b, T0 + S(60), &vb);
    assert_int_equal(a.n, b.n);
    for (int i = 0; i < a.n; i++) {
        assert_int_equal(a.ch[i].created_ms, b.ch[i].created_ms);
        assert_memory_equal(&a.ch[i].p, &b.ch[i].p, sizeof a.ch[i].p);
    }
    assert_int_equal(va.status, vb.status);
    assert_int_equal(va.best, vb.best);
}

static void test_next_change_is_when_the_view_changes(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 4, 2);
    tn_view v, before;
    run(&w, T0 + 1, &v);
    int64_t next = v.next_change_ms;
    assert_true(next > T0 + 1);
    run(&w, next - 1, &before);
    assert_int_equal(before.completed, v.completed);
    assert_int_equal(w.n, 2);
    run(&w, next, &v);
    assert_true(v.completed > before.completed);
    assert_int_equal(w.n, 4);
}

/* ---- strategies ------------------------------------------------------------------------------ */

static void test_random_is_deterministic_distinct_and_inside_the_ranges(void **state)
{
    (void)state;
    static world a, b;
    world_init(&a, TN_RANDOM, 30, 5);
    world_init(&b, TN_RANDOM, 30, 5);
    tn_view v;
    run(&a, T0 + S(1000), &v);
    run(&b, T0 + S(1000), &v);
    assert_int_equal(a.n, 30);
    for (int i = 0; i < a.n; i++) {
        assert_memory_equal(&a.ch[i].p, &b.ch[i].p, sizeof a.ch[i].p);
        char lr[64], layers[64];
        tn_value_text(&a.def.ranges[0], a.ch[i].p.x[0], lr, sizeof lr);
        tn_value_text(&a.def.ranges[1], a.ch[i].p.x[1], layers, sizeof layers);
        double x = atof(lr);
        assert_true(x >= 0.0001 && x <= 0.1);
        int l = atoi(layers);
        assert_true(l >= 1 && l <= 16);
        for (int j = 0; j < i; j++)
            assert_true(memcmp(&a.ch[i].p, &a.ch[j].p, sizeof a.ch[i].p) != 0);
    }
    /* Another seed, other points. */
    world_init(&b, TN_RANDOM, 30, 5);
    b.cfg.seed = 43;
    run(&b, T0 + S(1000), &v);
    assert_true(memcmp(&a.ch[0].p, &b.ch[0].p, sizeof a.ch[0].p) != 0);
}

static void test_logarithmic_scaling_spreads_over_the_decades(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 60, 10);
    tn_view v;
    run(&w, T0 + S(1000), &v);
    int decade[3] = {0};
    for (int i = 0; i < w.n; i++) {
        char lr[64];
        tn_value_text(&w.def.ranges[0], w.ch[i].p.x[0], lr, sizeof lr);
        double x = atof(lr);
        decade[x < 0.001 ? 0 : x < 0.01 ? 1 : 2]++;
    }
    for (int k = 0; k < 3; k++)
        assert_true(decade[k] >= 10); /* about 20 each; linear would put ~54 in the last */
}

static void test_grid_launches_every_combination_once_in_order(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_GRID, 0, 4);
    w.def.nranges = 2;
    w.def.ranges[0] =
        (tn_range){.kind = TN_CATEGORICAL, .name = "opt", .nvalues = 2, .values = {"sgd", "adam"}};
    w.def.ranges[1] = (tn_range){
        .kind = TN_CATEGORICAL, .name = "act", .nvalues = 3, .values = {"relu", "tanh", "gelu"}};
    assert_int_equal(tn_grid_size(&w.def), 6);
    w.cfg.max_jobs = tn_grid_size(&w.def);
    tn_view v;
    run(&w, T0 + S(1000), &v);
    assert_int_equal(w.n, 6);
    const char *expect[6][2] = {{"sgd", "relu"},  {"sgd", "tanh"},  {"sgd", "gelu"},
                                {"adam", "relu"}, {"adam", "tanh"}, {"adam", "gelu"}};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 2; j++) {
            char text[32];
            tn_value_text(&w.def.ranges[j], w.ch[i].p.x[j], text, sizeof text);
            assert_string_equal(text, expect[i][j]);
        }
    assert_int_equal(v.status, TN_COMPLETED);
}

static double best_of(world *w)
{
    double b = -INFINITY;
    for (int i = 0; i < w->n; i++)
        if (w->final[i] > b) b = w->final[i];
    return b;
}

static void test_bayesian_finds_a_better_objective_than_random(void **state)
{
    (void)state;
    static world r, b;
    double rsum = 0, bsum = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        world_init(&r, TN_RANDOM, 20, 1);
        world_init(&b, TN_BAYESIAN, 20, 1);
        r.cfg.seed = b.cfg.seed = seed;
        tn_view v;
        run(&r, T0 + S(10000), &v);
        run(&b, T0 + S(10000), &v);
        assert_int_equal(b.n, 20);
        rsum += best_of(&r);
        bsum += best_of(&b);
    }
    print_message("mean best over 8 seeds: Random %.4f, Bayesian %.4f\n", rsum / 8, bsum / 8);
    assert_true(bsum > rsum);
    assert_true(bsum / 8 > 0.93); /* the default surface peaks at 0.95 */
}

/* ---- early stopping and Hyperband ------------------------------------------------------------ */

/* Children alternate good and bad: a bad one reports values far below the others. */
static double alternating(const tn_def *d, const tn_point *p, int k, int *fails)
{
    (void)d, (void)p;
    *fails = 0;
    return k % 2 ? 0.3 : 0.9;
}

static void test_auto_early_stopping_stops_the_weak_children(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 12, 4);
    w.cfg.early_stopping = 1;
    w.value = alternating;
    tn_view v;
    run(&w, T0 + S(500), &v);
    assert_int_equal(v.status, TN_COMPLETED);
    int stopped_bad = 0, stopped_good = 0;
    for (int i = 0; i < w.n; i++) {
        if (w.ch[i].status != TN_END_STOPPED) continue;
        if (i % 2)
            stopped_bad++;
        else
            stopped_good++;
        /* The stop lands 1 ms after an epoch's line: that line stays. */
        int kept = 0;
        for (int k = 0; k < w.ch[i].nseries; k++)
            kept |= w.ch[i].series_ms[k] == w.ch[i].stop_ms - 1;
        assert_true(kept);
        /* A stopped child's objective is the last value it printed. */
        assert_int_equal(w.ch[i].obj, TN_OBJ_SUCCEEDED);
        assert_true(w.ch[i].obj_value == w.ch[i].series_v[w.ch[i].nseries - 1]);
    }
    assert_int_equal(stopped_good, 0);
    assert_true(stopped_bad >= 3);
    assert_int_equal(v.stopped, stopped_bad);
    assert_int_equal(v.completed + v.stopped, 12);
}

static void test_without_early_stopping_nothing_is_stopped(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 12, 4);
    w.value = alternating;
    tn_view v;
    run(&w, T0 + S(500), &v);
    assert_int_equal(w.stops, 0);
    assert_int_equal(v.completed, 12);
}

static void test_hyperband_stops_at_max_resource_and_at_the_rungs(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_HYPERBAND, 9, 3);
    w.cfg.hb_min = 1;
    w.cfg.hb_max = 3; /* the children train 5 epochs: every survivor stops at epoch 3 */
    w.value = alternating;
    tn_view v;
    run(&w, T0 + S(500), &v);
    assert_int_equal(v.completed, 0);
    assert_int_equal(v.stopped, 9);
    for (int i = 0; i < w.n; i++)
        assert_true(w.ch[i].nseries <= 3);
    /* Some weak children were cut at rung 1 (epoch 1), before reaching MaxResource. */
    int cut_early = 0;
    for (int i = 0; i < w.n; i++)
        if (w.ch[i].nseries == 1) cut_early++;
    assert_true(cut_early >= 1);
}

/* ---- completion criteria, failures, stop, runtime ------------------------------------------- */

static void test_target_objective_completes_and_stops_the_running_children(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 20, 3);
    w.value = alternating;
    w.stagger_ms = 1000;
    w.cfg.has_target = 1;
    w.cfg.target = 0.85;
    tn_view v;
    run(&w, T0 + S(500), &v);
    /* Child 0 (0.9) completes at 10 s: children 1 and 2, still running, are stopped then. */
    assert_int_equal(v.halt, TN_HALT_TARGET);
    assert_int_equal(v.halt_ms, T0 + RUN_MS);
    assert_int_equal(w.n, 3);
    assert_int_equal(v.status, TN_COMPLETED);
    assert_int_equal(v.end_ms, T0 + RUN_MS + STOP_DELAY);
    assert_int_equal(v.stopped, 2);
    assert_int_equal(w.ch[1].stop_ms, T0 + RUN_MS);
}

static void test_best_objective_not_improving_completes(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 30, 1);
    w.value = alternating; /* 0.9, then never better */
    w.cfg.not_improving = 3;
    tn_view v;
    run(&w, T0 + S(1000), &v);
    assert_int_equal(v.halt, TN_HALT_NOT_IMPROVING);
    assert_int_equal(w.n, 4);
    assert_int_equal(v.not_improving, 3);
    assert_int_equal(v.status, TN_COMPLETED);
}

static void test_convergence_is_detected_and_may_complete_the_job(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 30, 1);
    w.value = alternating;
    tn_view v;
    run(&w, T0 + S(1000), &v);
    assert_int_equal(v.halt, TN_HALT_EXHAUSTED);
    assert_int_equal(v.convergence_ms, T0 + 10 * RUN_MS); /* at the 10th objective */
    world_init(&w, TN_RANDOM, 30, 1);
    w.value = alternating;
    w.cfg.complete_on_convergence = 1;
    run(&w, T0 + S(1000), &v);
    assert_int_equal(v.halt, TN_HALT_CONVERGED);
    assert_int_equal(w.n, 10);
}

static double failing(const tn_def *d, const tn_point *p, int k, int *fails)
{
    (void)d, (void)p, (void)k;
    *fails = 1;
    return 0;
}

static void test_the_job_fails_when_five_children_fail_before_one_succeeds(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 20, 1);
    w.value = failing;
    tn_view v;
    run(&w, T0 + S(500), &v);
    assert_int_equal(v.halt, TN_HALT_FAILURES);
    assert_int_equal(v.status, TN_FAILED);
    assert_int_equal(v.failed_attempts, 5);
    assert_int_equal(v.non_retryable_error, w.n);
    assert_int_equal(w.n, 5);
    assert_int_equal(v.obj_failed, w.n);
    /* With fewer than 5 children, all of them. */
    world_init(&w, TN_RANDOM, 2, 1);
    w.value = failing;
    run(&w, T0 + S(500), &v);
    assert_int_equal(v.status, TN_FAILED);
    assert_int_equal(v.failed_attempts, 2);
}

static void test_stop_stops_the_running_children_then_the_job(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 10, 3);
    w.cfg.stop_ms = T0 + S(4);
    tn_view v;
    run(&w, T0 + S(4), &v);
    assert_int_equal(v.status, TN_STOPPING);
    assert_int_equal(w.stops, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(w.ch[i].stop_ms, T0 + S(4));
    run(&w, T0 + S(4) + STOP_DELAY, &v);
    assert_int_equal(v.status, TN_STOPPED);
    assert_int_equal(v.end_ms, T0 + S(4) + STOP_DELAY);
    assert_int_equal(v.stopped, 3);
    assert_int_equal(w.n, 3); /* nothing launched after the stop */
}

static void test_a_stop_at_creation_time_follows_the_first_launches(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 10, 2);
    w.cfg.stop_ms = T0; /* StopHyperParameterTuningJob in the same millisecond as Create */
    tn_view v;
    run(&w, T0, &v);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.stops, 2);
    assert_int_equal(v.status, TN_STOPPING);
    run(&w, T0 + STOP_DELAY, &v);
    assert_int_equal(v.status, TN_STOPPED);
    assert_int_equal(v.stopped, 2);
}

static void test_max_runtime_stops_launching_and_completes(void **state)
{
    (void)state;
    static world w;
    world_init(&w, TN_RANDOM, 10, 2);
    w.cfg.max_runtime_ms = S(15);
    tn_view v;
    run(&w, T0 + S(100), &v);
    assert_int_equal(v.halt, TN_HALT_RUNTIME);
    assert_int_equal(w.n, 4);
    assert_int_equal(v.completed, 2);
    assert_int_equal(v.stopped, 2);
    assert_int_equal(v.status, TN_COMPLETED);
    assert_int_equal(v.end_ms, T0 + S(15) + STOP_DELAY);
}

static void test_warm_start_points_feed_the_bayesian_search(void **state)
{
    (void)state;
    static world a, b;
    world_init(&a, TN_BAYESIAN, 3, 3);
    world_init(&b, TN_BAYESIAN, 3, 3);
    static tn_obs prior[4];
    for (int i = 0; i < 4; i++) {
        prior[i].def = 0;
        prior[i].p.x[0] = 0.2 * i + 0.1;
        prior[i].p.x[1] = 0.5;
        prior[i].value = 0.5 + 0.1 * i;
    }
    b.cfg.prior = prior;
    b.cfg.nprior = 4;
    tn_view v;
    run(&a, T0, &v);
    run(&b, T0, &v);
    /* Without a prior the first children are random; with one the surrogate chooses. */
    assert_true(memcmp(&a.ch[0].p, &b.ch[0].p, sizeof a.ch[0].p) != 0);
}

/* ---- values, coordinates, the surface -------------------------------------------------------- */

static void test_values_and_coordinates_round_trip(void **state)
{
    (void)state;
    tn_range lin = {.kind = TN_CONTINUOUS, .name = "a", .min = 0, .max = 10};
    tn_range lg = {.kind = TN_INTEGER, .name = "b", .min = 1, .max = 1000, .scale = TN_LOG};
    tn_range rev = {
        .kind = TN_CONTINUOUS, .name = "c", .min = 0.9, .max = 0.999, .scale = TN_REVERSE_LOG};
    tn_range cat = {.kind = TN_CATEGORICAL, .name = "d", .nvalues = 2, .values = {"x", "y"}};
    char t[64];
    double x;
    tn_value_text(&lin, 0.25, t, sizeof t);
    assert_string_equal(t, "2.5");
    assert_int_equal(tn_coord(&lin, "2.5", &x), SM_OK);
    assert_true(fabs(x - 0.25) < 1e-12);
    tn_value_text(&lg, 0.5, t, sizeof t);
    assert_string_equal(t, "32"); /* sqrt(1000) = 31.6 */
    tn_value_text(&rev, 0.5, t, sizeof t);
    assert_true(fabs(atof(t) - (1 - sqrt(0.1 * 0.001))) < 1e-6);
    tn_value_text(&cat, 1.0, t, sizeof t);
    assert_string_equal(t, "y");
    assert_int_equal(tn_coord(&cat, "y", &x), SM_OK);
    assert_true(x == 1.0);
    assert_int_equal(tn_coord(&cat, "z", &x), SM_EINVAL);
    assert_int_equal(tn_coord(&lin, "11", &x), SM_EINVAL);
    assert_int_equal(tn_coord(&lg, "2.5", &x), SM_EINVAL);
    assert_int_equal(tn_coord(&lin, "abc", &x), SM_EINVAL);
    tn_def d = {.nranges = 2, .ranges = {lin, cat}};
    assert_true(isinf(tn_combinations(&d)));
    tn_def e = {.nranges = 2, .ranges = {lg, cat}};
    assert_true(tn_combinations(&e) == 2000);
    assert_int_equal(tn_grid_size(&e), -1);
}

static void test_the_surface_peaks_at_its_optimum(void **state)
{
    (void)state;
    tn_def d = {.nranges = 2};
    d.ranges[0] = (tn_range){.kind = TN_CONTINUOUS, .name = "lr", .min = 0, .max = 1};
    d.ranges[1] =
        (tn_range){.kind = TN_CATEGORICAL, .name = "opt", .nvalues = 2, .values = {"sgd", "adam"}};
    tn_surface s;
    tn_surface_default(&s);
    s.has_best = s.has_worst = 1;
    s.best = 0.1;
    s.worst = 2.0;
    s.nopt = 2;
    snprintf(s.opt_name[0], sizeof s.opt_name[0], "lr");
    snprintf(s.opt_value[0], sizeof s.opt_value[0], "0.3");
    snprintf(s.opt_name[1], sizeof s.opt_name[1], "opt");
    snprintf(s.opt_value[1], sizeof s.opt_value[1], "adam");
    tn_point at = {.x = {0.3, 1}}, near = {.x = {0.35, 1}}, other = {.x = {0.3, 0}};
    assert_true(tn_surface_value(&s, &d, &at, 0) == 0.1);
    double vn = tn_surface_value(&s, &d, &near, 0), vo = tn_surface_value(&s, &d, &other, 0);
    assert_true(vn > 0.1 && vn < vo && vo < 2.0);
    /* Noise stays within its bound and is the same for the same point. */
    s.noise = 0.05;
    double n1 = tn_surface_value(&s, &d, &near, 0), n2 = tn_surface_value(&s, &d, &near, 0);
    assert_true(n1 == n2);
    assert_true(fabs(n1 - vn) <= 0.05 * 1.9 + 1e-6);
    /* Defaults: Maximize from 0.5 to 0.95, values rounded to 6 decimals. */
    double v = tn_surface_value(NULL, &d, &near, 1);
    assert_true(v >= 0.5 && v <= 0.95);
    assert_true(fabs(v * 1e6 - round(v * 1e6)) < 1e-6);
}

static void test_the_median_rule(void **state)
{
    (void)state;
    double peers[] = {0.5, 0.7, 0.6};
    assert_true(tn_worse_than_median(1, 0.55, peers, 3));
    assert_false(tn_worse_than_median(1, 0.65, peers, 3));
    assert_true(tn_worse_than_median(0, 0.65, peers, 3));
    double even[] = {1, 2, 3, 4};
    assert_false(tn_worse_than_median(1, 2.5, even, 4));
    assert_true(tn_worse_than_median(1, 2.4, even, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_children_fill_the_parallel_slots_up_to_the_maximum),
        cmocka_unit_test(test_a_later_read_sees_a_prefix_of_the_same_history),
        cmocka_unit_test(test_next_change_is_when_the_view_changes),
        cmocka_unit_test(test_random_is_deterministic_distinct_and_inside_the_ranges),
        cmocka_unit_test(test_logarithmic_scaling_spreads_over_the_decades),
        cmocka_unit_test(test_grid_launches_every_combination_once_in_order),
        cmocka_unit_test(test_bayesian_finds_a_better_objective_than_random),
        cmocka_unit_test(test_auto_early_stopping_stops_the_weak_children),
        cmocka_unit_test(test_without_early_stopping_nothing_is_stopped),
        cmocka_unit_test(test_hyperband_stops_at_max_resource_and_at_the_rungs),
        cmocka_unit_test(test_target_objective_completes_and_stops_the_running_children),
        cmocka_unit_test(test_best_objective_not_improving_completes),
        cmocka_unit_test(test_convergence_is_detected_and_may_complete_the_job),
        cmocka_unit_test(test_the_job_fails_when_five_children_fail_before_one_succeeds),
        cmocka_unit_test(test_stop_stops_the_running_children_then_the_job),
        cmocka_unit_test(test_a_stop_at_creation_time_follows_the_first_launches),
        cmocka_unit_test(test_max_runtime_stops_launching_and_completes),
        cmocka_unit_test(test_warm_start_points_feed_the_bayesian_search),
        cmocka_unit_test(test_values_and_coordinates_round_trip),
        cmocka_unit_test(test_the_surface_peaks_at_its_optimum),
        cmocka_unit_test(test_the_median_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
