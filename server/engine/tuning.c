/*
 * tuning.c: the hyperparameter tuning engine (see tuning.h), in the manner of lifecycle.c: a
 * pure function of a tuning job's configuration, its children's recorded outcomes and t.
 *
 * The replay. tn_eval() walks the tuning job's events in time order from CreationTime to t:
 *
 *   at CreationTime            min(MaxParallel, MaxNumber) children are launched
 *   a child ends               its slot frees and the next child is launched at that moment
 *                              (while the job still launches and MaxNumber is not reached);
 *                              its objective is known from then on (criteria are checked)
 *   a child reports an epoch   early stopping (Auto) or Hyperband may decide to stop it
 *   MaxRuntimeInSeconds,       the job stops launching and stops its running children
 *   StopHyperParameterTuningJob
 *
 * Events at the same millisecond are taken in this order: children ending (and the criteria
 * their objectives meet), epoch reports, MaxRuntimeInSeconds and the stop request, launches,
 * stops; a stop request at CreationTime itself comes after the first launches (it was sent
 * after the request that created the job).
 *
 * Each event is a function of the recorded outcomes of children created before it, so a child
 * that does not exist yet is only needed at its own launch: the replay then returns the action
 * "create child k at T with this point" (T <= t), and the caller creates it and evaluates
 * again. A stop the job decides at time S <= t is returned the same way ("stop child i at S"),
 * so that the child's own timeline (Describe, List, its log) shows it; a decision later than t
 * only sets next_change_ms. The replay never goes past an action it did not see recorded, so
 * its input is always the truth.
 *
 * Rules. Documented by the service (API reference and developer guide):
 *   - at most MaxParallelTrainingJobs children run at once, at most MaxNumberOfTrainingJobs in
 *     all; Grid launches every combination of its Categorical ranges, once;
 *   - early stopping (Auto): after each epoch, a child whose objective is worse than the median
 *     of the running averages of the other children's objective up to the same epoch stops;
 *   - Hyperband stops a child that reaches MaxResource epochs;
 *   - BestObjectiveNotImproving: the job completes once MaxNumberOfTrainingJobsNotImproving
 *     children in a row failed to improve the best objective by 1% or more;
 *     TargetObjectiveMetricValue: the job completes once a child reaches it;
 *   - StopHyperParameterTuningJob stops the job and its running children;
 *   - "No training job succeeded after N attempts" (the service's FailureReason).
 * Inferred (not documented), each marked where it is coded:
 *   - a child is launched the moment a slot frees (the service takes a few seconds);
 *   - the job fails when min(MaxNumberOfTrainingJobs, 5) children have Failed before any
 *     child produced an objective, or when every child ended without one; it then stops its
 *     running children;
 *   - reaching a completion criterion, or MaxRuntimeInSeconds, stops the running children and
 *     the job is Completed once they have stopped (Failed if no child produced an objective);
 *     a stopped job is Stopping until its children have stopped, then Stopped;
 *   - a stopped child's objective is the last value its log printed; a Completed child's is
 *     its final value; a Failed child has none;
 *   - the early-stopping rule needs at least 3 other children at that epoch and never stops a
 *     child at its last epoch; a stop lands 1 ms after the epoch's line, so the line stays;
 *   - Hyperband is asynchronous successive halving with eta 3: at the rungs MinResource * 3^k
 *     (below MaxResource) a child continues when it is within the best third of the children
 *     that reached the rung (ties: the earlier child), once at least 3 have;
 *   - convergence is detected at the k-th objective (k >= 10) when the best of the last 5 does
 *     not improve on the best before them by 1%;
 *   - Random draws each coordinate from a splitmix64 stream of (seed, child, range), redrawing
 *     (up to 20 times) a point some earlier child of the definition already has;
 *   - Bayesian is a deterministic surrogate search: the first 3 children of a definition (with
 *     warm start parents' points counted) are Random; each later one is the best of 64
 *     candidates (48 uniform, 16 around the best point so far) by the score
 *     mu + 0.5 * dmin, where mu is the Gaussian-kernel (width 0.2) weighted mean of the
 *     normalised objectives known when it is launched and dmin the distance to the nearest
 *     point tried (exploration);
 *   - Auto scaling searches linearly.
 *
 * This file must not read a clock, do I/O, allocate or keep mutable global state.
 */
#include "tuning.h"
#include "errors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_LIMIT 5   /* (inferred) failures before a first success that fail the job */
#define ES_MIN_PEERS 3 /* (inferred) early stopping needs this many other children */
#define HB_ETA 3       /* (inferred) Hyperband's reduction factor */
#define BAYES_INIT 3   /* (inferred) Random points before the surrogate is used */
#define BAYES_CANDIDATES 64
#define BAYES_UNIFORM 48
#define BAYES_KERNEL 0.2
#define BAYES_EXPLORE 0.5
#define RANDOM_TRIES 20
#define CONVERGENCE_MIN 10 /* (inferred) */
#define CONVERGENCE_LAST 5 /* (inferred) */

/* ---- hashing ------------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double unit(uint64_t h)
{
    return (double)(h >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* A uniform number in [0, 1) for (seed, stream, a, b). */
static double draw(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    return unit(mix64(seed ^ mix64(stream ^ mix64(a * 0x100000001B3u ^ mix64(b)))));
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* ---- ranges and coordinates ----------------------------------------------------------------- */

static tn_scale scale_of(const tn_range *r)
{
    return r->scale == TN_AUTO ? TN_LINEAR : r->scale; /* (inferred) Auto: linear */
}

static double clamp01(double x)
{
    return !(x > 0) ? 0 : x > 1 ? 1 : x;
}

static int categories(const tn_range *r)
{
    return r->nvalues > 0 ? r->nvalues : 1;
}

static int category(const tn_range *r, double x)
{
    int k = (int)floor(x);
    return k < 0 ? 0 : k >= categories(r) ? categories(r) - 1 : k;
}

/* The value at coordinate x of a numeric range. */
static double value_of(const tn_range *r, double x)
{
    x = clamp01(x);
    double v;
    switch (scale_of(r)) {
    case TN_LOG:
        v = exp(log(r->min) + x * (log(r->max) - log(r->min)));
        break;
    case TN_REVERSE_LOG:
        v = 1.0 - exp(log1p(-r->min) + x * (log1p(-r->max) - log1p(-r->min)));
        break;
    default:
        v = r->min + x * (r->max - r->min);
    }
    if (r->kind == TN_INTEGER) v = floor(v + 0.5);
    return v < r->min ? r->min : v > r->max ? r->max : v;
}

/* The coordinate of value v of a numeric range. */
static double coord_of(const tn_range *r, double v)
{
    if (!(r->max > r->min)) return 0;
    double x;
    switch (scale_of(r)) {
    case TN_LOG:
        x = (log(v) - log(r->min)) / (log(r->max) - log(r->min));
        break;
    case TN_REVERSE_LOG:
        x = (log1p(-v) - log1p(-r->min)) / (log1p(-r->max) - log1p(-r->min));
        break;
    default:
        x = (v - r->min) / (r->max - r->min);
    }
    return clamp01(x);
}

void tn_value_text(const tn_range *r, double x, char *out, size_t outlen)
{
    if (r->kind == TN_CATEGORICAL) {
        snprintf(out, outlen, "%s", r->nvalues > 0 ? r->values[category(r, x)] : "");
        return;
    }
    double v = value_of(r, x);
    if (r->kind == TN_INTEGER) {
        snprintf(out, outlen, "%lld", (long long)v);
        return;
    }
    /* The shortest of up to 10 significant digits that stays inside the range. */
    for (int digits = 4; digits <= 10; digits++) {
        snprintf(out, outlen, "%.*g", digits, v);
        double back = strtod(out, NULL);
        if (back >= r->min && back <= r->max && fabs(back - v) <= fabs(v) * 1e-9 + 1e-300) return;
    }
    snprintf(out, outlen, "%.10g", v);
}

int tn_coord(const tn_range *r, const char *text, double *x)
{
    if (!text) return SM_EINVAL;
    if (r->kind == TN_CATEGORICAL) {
        for (int i = 0; i < r->nvalues; i++)
            if (strcmp(r->values[i], text) == 0) {
                *x = i;
                return SM_OK;
            }
        return SM_EINVAL;
    }
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v)) return SM_EINVAL;
    if (r->kind == TN_INTEGER && v != floor(v)) return SM_EINVAL;
    double slack = (r->max - r->min) * 1e-9;
    if (v < r->min - slack || v > r->max + slack) return SM_EINVAL;
    *x = coord_of(r, v < r->min ? r->min : v > r->max ? r->max : v);
    return SM_OK;
}

/* Whether two points of definition d are the same hyperparameters. */
static int same_point(const tn_def *d, const tn_point *a, const tn_point *b)
{
    for (int j = 0; j < d->nranges; j++) {
        const tn_range *r = &d->ranges[j];
        if (r->kind == TN_CATEGORICAL) {
            if (category(r, a->x[j]) != category(r, b->x[j])) return 0;
        } else if (value_of(r, a->x[j]) != value_of(r, b->x[j])) {
            return 0;
        }
    }
    return 1;
}

/* Mean squared distance between two points (Categorical: 0 or 1 per range). */
static double dist2(const tn_def *d, const tn_point *a, const tn_point *b)
{
    if (d->nranges == 0) return 0;
    double s = 0;
    for (int j = 0; j < d->nranges; j++) {
        const tn_range *r = &d->ranges[j];
        double delta = r->kind == TN_CATEGORICAL
                           ? (category(r, a->x[j]) != category(r, b->x[j]) ? 1.0 : 0.0)
                           : a->x[j] - b->x[j];
        s += delta * delta;
    }
    return s / d->nranges;
}

int tn_grid_size(const tn_def *d)
{
    long long n = 1;
    for (int j = 0; j < d->nranges; j++) {
        if (d->ranges[j].kind != TN_CATEGORICAL || d->ranges[j].nvalues < 1) return -1;
        n *= d->ranges[j].nvalues;
        if (n > TN_MAX_CHILDREN) return -1;
    }
    return d->nranges > 0 ? (int)n : -1;
}

double tn_combinations(const tn_def *d)
{
    double n = 1;
    for (int j = 0; j < d->nranges; j++) {
        const tn_range *r = &d->ranges[j];
        if (r->kind == TN_CONTINUOUS) return INFINITY;
        n *= r->kind == TN_INTEGER ? r->max - r->min + 1 : categories(r);
    }
    return n;
}

/* ---- the objective surface ------------------------------------------------------------------ */

void tn_surface_default(tn_surface *s)
{
    memset(s, 0, sizeof *s);
    s->width = 0.35;
}

double tn_surface_value(const tn_surface *s, const tn_def *d, const tn_point *p, int maximize)
{
    tn_surface dflt;
    if (!s) {
        tn_surface_default(&dflt);
        s = &dflt;
    }
    double best = s->has_best ? s->best : maximize ? 0.95 : 0.05;
    double worst = s->has_worst ? s->worst : maximize ? 0.5 : 1.0;
    double width = s->width > 0 ? s->width : 0.35;
    tn_point opt = {0};
    for (int j = 0; j < d->nranges; j++) {
        const tn_range *r = &d->ranges[j];
        double h = unit(mix64(fnv(r->name) ^ 0x5DEECE66Du));
        opt.x[j] = r->kind == TN_CATEGORICAL ? floor(h * categories(r)) : 0.2 + 0.6 * h;
        for (int k = 0; k < s->nopt; k++)
            if (strcmp(s->opt_name[k], r->name) == 0) {
                double x;
                if (tn_coord(r, s->opt_value[k], &x) == SM_OK) opt.x[j] = x;
            }
    }
    double v = worst + (best - worst) * exp(-dist2(d, p, &opt) / (2 * width * width));
    if (s->noise > 0) {
        uint64_t h = 0x243F6A8885A308D3u;
        for (int j = 0; j < d->nranges; j++)
            h = mix64(h ^ (uint64_t)(int64_t)llround(p->x[j] * 1e9));
        v += s->noise * fabs(best - worst) * (2 * unit(h) - 1);
    }
    double r = round(v * 1e6) / 1e6;
    return isfinite(r) ? r : v;
}

/* ---- comparisons ---------------------------------------------------------------------------- */

static int better(int maximize, double a, double b)
{
    return maximize ? a > b : a < b;
}

/* Whether v improves on ref by 1% or more (of |ref|). */
static int improves(int maximize, double v, double ref)
{
    double m = 0.01 * fabs(ref);
    return maximize ? v > ref && v >= ref + m : v < ref && v <= ref - m;
}

static void sort_doubles(double *a, int n)
{
    for (int i = 1; i < n; i++) {
        double x = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
}

int tn_worse_than_median(int maximize, double v, const double *peer_avg, int n)
{
    double a[TN_MAX_CHILDREN];
    if (n <= 0) return 0;
    if (n > TN_MAX_CHILDREN) n = TN_MAX_CHILDREN;
    memcpy(a, peer_avg, (size_t)n * sizeof *a);
    sort_doubles(a, n);
    double m = n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    return maximize ? v < m : v > m;
}

/* ---- the replay ----------------------------------------------------------------------------- */

typedef struct sim {
    const tn_config *cfg;
    tn_child *ch;
    int n;
    int64_t t;
    int launched, running, parallel, max_jobs;
    int reports; /* epoch reports matter (early stopping or Hyperband) */
    unsigned char ended[TN_MAX_CHILDREN], has_obj[TN_MAX_CHILDREN];
    int next_report[TN_MAX_CHILDREN];
    int64_t pending[TN_MAX_CHILDREN]; /* a stop decided for the child, -1 */
    double obj[TN_MAX_CHILDREN];
    int successes, failures;
    int best;
    int have_ref, not_improving;
    double ref;
    int nvals;
    double vals[TN_MAX_CHILDREN]; /* objectives in the order they became known */
    int64_t convergence_ms;
    tn_halt halt;
    int64_t halt_ms, last_change, last_end;
    int stop_seen;
} sim;

int tn_def_of(const tn_config *cfg, int k)
{
    if (cfg->ndefs <= 1) return 0;
    if (cfg->strategy == TN_GRID) {
        for (int d = 0; d < cfg->ndefs; d++) {
            int size = tn_grid_size(&cfg->defs[d]);
            if (size < 0 || k < size) return d;
            k -= size;
        }
        return cfg->ndefs - 1;
    }
    return k % cfg->ndefs;
}

/* The index of child k among the children of its definition (Grid). */
static int grid_index(const tn_config *cfg, int k)
{
    if (cfg->ndefs <= 1) return k;
    for (int d = 0; d < cfg->ndefs; d++) {
        int size = tn_grid_size(&cfg->defs[d]);
        if (size < 0 || k < size) return k;
        k -= size;
    }
    return k;
}

static void grid_point(const tn_def *d, int idx, tn_point *p)
{
    for (int j = d->nranges - 1; j >= 0; j--) {
        int nv = categories(&d->ranges[j]);
        p->x[j] = idx % nv;
        idx /= nv;
    }
}

static void uniform_point(const tn_config *cfg, const tn_def *d, uint64_t stream, uint64_t a,
                          tn_point *p)
{
    for (int j = 0; j < d->nranges; j++) {
        const tn_range *r = &d->ranges[j];
        double u = draw(cfg->seed, stream, a, (uint64_t)j);
        p->x[j] = r->kind == TN_CATEGORICAL ? floor(u * categories(r)) : u;
    }
}

/* Whether p is the point of a child of definition def among the first n, or of a prior. */
static int taken(const sim *s, int def, const tn_point *p)
{
    const tn_def *d = &s->cfg->defs[def];
    for (int i = 0; i < s->n && i < s->launched; i++)
        if (s->ch[i].def == def && same_point(d, &s->ch[i].p, p)) return 1;
    return 0;
}

/* (inferred) Random: a fresh point per child, redrawn when an earlier child has it. */
static void random_point(const sim *s, int def, int k, tn_point *p)
{
    const tn_def *d = &s->cfg->defs[def];
    for (int a = 0; a < RANDOM_TRIES; a++) {
        uniform_point(s->cfg, d, 0x52414E44u + (uint64_t)a, (uint64_t)k, p);
        if (!taken(s, def, p)) return;
    }
}

/* (inferred) Bayesian: see the file comment. */
static void bayesian_point(const sim *s, int def, int k, tn_point *p)
{
    const tn_config *cfg = s->cfg;
    const tn_def *d = &cfg->defs[def];
    static const int cap = TN_MAX_CHILDREN + 64;
    const tn_point *pts[TN_MAX_CHILDREN + 64];
    double ys[TN_MAX_CHILDREN + 64];
    int n = 0;
    for (int i = 0; i < s->launched && n < cap; i++)
        if (s->ch[i].def == def && s->has_obj[i]) {
            pts[n] = &s->ch[i].p;
            ys[n++] = cfg->maximize ? s->obj[i] : -s->obj[i];
        }
    for (int i = 0; i < cfg->nprior && n < cap; i++)
        if (cfg->prior[i].def == def && isfinite(cfg->prior[i].value)) {
            pts[n] = &cfg->prior[i].p;
            ys[n++] = cfg->maximize ? cfg->prior[i].value : -cfg->prior[i].value;
        }
    if (n < BAYES_INIT || d->nranges == 0) {
        random_point(s, def, k, p);
        return;
    }
    double lo = ys[0], hi = ys[0];
    int bi = 0;
    for (int i = 1; i < n; i++) {
        if (ys[i] < lo) lo = ys[i];
        if (ys[i] > hi) hi = ys[i], bi = i;
    }
    double best_score = -INFINITY;
    tn_point c;
    for (int cand = 0; cand < BAYES_CANDIDATES; cand++) {
        if (cand < BAYES_UNIFORM) {
            uniform_point(cfg, d, 0x42415945u, (uint64_t)k * 1000 + (uint64_t)cand, &c);
        } else {
            for (int j = 0; j < d->nranges; j++) {
                const tn_range *r = &d->ranges[j];
                double u =
                    draw(cfg->seed, 0x4C4F43u, (uint64_t)k * 1000 + (uint64_t)cand, (uint64_t)j);
                if (r->kind == TN_CATEGORICAL)
                    c.x[j] = u < 0.25 ? floor(u * 4 * categories(r)) : pts[bi]->x[j];
                else
                    c.x[j] = clamp01(pts[bi]->x[j] + 0.15 * (2 * u - 1));
            }
        }
        int dup = taken(s, def, &c);
        double wsum = 0, mu = 0, dmin = INFINITY;
        for (int i = 0; i < n; i++) {
            double q = dist2(d, &c, pts[i]);
            double w = exp(-q / (2 * BAYES_KERNEL * BAYES_KERNEL)) + 1e-12;
            double yn = hi > lo ? (ys[i] - lo) / (hi - lo) : 0.5;
            wsum += w;
            mu += w * yn;
            if (sqrt(q) < dmin) dmin = sqrt(q);
            if (q == 0) dup = 1;
        }
        double score = mu / wsum + BAYES_EXPLORE * dmin - (dup ? 10.0 : 0.0);
        if (score > best_score) {
            best_score = score;
            *p = c;
        }
    }
}

static void choose_point(const sim *s, int k, int def, tn_point *p)
{
    memset(p, 0, sizeof *p);
    const tn_config *cfg = s->cfg;
    switch (cfg->strategy) {
    case TN_GRID:
        grid_point(&cfg->defs[def], grid_index(cfg, k), p);
        break;
    case TN_BAYESIAN:
        bayesian_point(s, def, k, p);
        break;
    default: /* Random, Hyperband */
        random_point(s, def, k, p);
    }
}

/* A child's objective once it has ended (see the file comment). */
static int objective_of(const tn_child *c, double *v)
{
    if (c->status == TN_END_FAILED) return 0;
    if (c->status == TN_END_COMPLETED && c->has_final && isfinite(c->final_v)) {
        *v = c->final_v;
        return 1;
    }
    for (int i = c->nseries - 1; i >= 0; i--)
        if (c->series_ms[i] <= c->end_ms && isfinite(c->series_v[i])) {
            *v = c->series_v[i];
            return 1;
        }
    return 0;
}

/* Whether a stop at ms would change child i (it runs then and has no earlier stop). */
static int needs_stop(const sim *s, int i, int64_t ms)
{
    const tn_child *c = &s->ch[i];
    return !s->ended[i] && c->end_ms > ms && (c->stop_ms < 0 || c->stop_ms > ms);
}

static void halt(sim *s, tn_halt why, int64_t at)
{
    if (s->halt != TN_HALT_NONE && !(why == TN_HALT_STOPPED && s->halt != TN_HALT_STOPPED)) return;
    if (s->halt == TN_HALT_NONE) s->halt_ms = at;
    s->halt = why;
    if (at > s->last_change) s->last_change = at;
    for (int i = 0; i < s->launched; i++)
        if (needs_stop(s, i, at) && (s->pending[i] < 0 || s->pending[i] > at)) s->pending[i] = at;
}

static void child_ended(sim *s, int i, int64_t at)
{
    const tn_config *cfg = s->cfg;
    s->ended[i] = 1;
    s->running--;
    s->pending[i] = -1;
    if (at > s->last_change) s->last_change = at;
    if (at > s->last_end) s->last_end = at;
    if (s->ch[i].status == TN_END_FAILED) s->failures++;
    double v;
    if (!objective_of(&s->ch[i], &v)) return;
    s->has_obj[i] = 1;
    s->obj[i] = v;
    s->successes++;
    if (s->best < 0 || better(cfg->maximize, v, s->obj[s->best])) s->best = i;
    if (!s->have_ref || improves(cfg->maximize, v, s->ref)) {
        s->have_ref = 1;
        s->ref = v;
        s->not_improving = 0;
    } else {
        s->not_improving++;
        if (better(cfg->maximize, v, s->ref)) s->ref = v; /* a small gain moves the bar */
    }
    if (s->nvals < TN_MAX_CHILDREN) s->vals[s->nvals++] = v;
    /* (inferred) convergence: the last few did not improve on the ones before by 1% */
    if (s->convergence_ms < 0 && s->nvals >= CONVERGENCE_MIN) {
        int split = s->nvals - CONVERGENCE_LAST;
        double before = s->vals[0], recent = s->vals[split];
        for (int k = 1; k < split; k++)
            if (better(cfg->maximize, s->vals[k], before)) before = s->vals[k];
        for (int k = split + 1; k < s->nvals; k++)
            if (better(cfg->maximize, s->vals[k], recent)) recent = s->vals[k];
        if (!improves(cfg->maximize, recent, before)) s->convergence_ms = at;
    }
}

static int is_rung(int hb_min, int e)
{
    long long r = hb_min > 0 ? hb_min : 1;
    while (r < e)
        r *= HB_ETA;
    return r == e;
}

/* Child i printed its objective's point p (epoch p + 1) at time at: early stopping and
 * Hyperband decide whether it continues. */
static void report(sim *s, int i, int p, int64_t at)
{
    const tn_config *cfg = s->cfg;
    const tn_child *c = &s->ch[i];
    if ((c->stop_ms >= 0 && c->stop_ms <= at) || s->pending[i] >= 0) return;
    int e = p + 1;
    int epochs = c->epochs > c->nseries ? c->epochs : c->nseries;
    double v = c->series_v[p];
    int stop = 0;
    double peer[TN_MAX_CHILDREN];
    int np = 0, better_peers = 0;
    for (int j = 0; j < s->launched; j++) {
        const tn_child *o = &s->ch[j];
        if (j == i || o->nseries < e || o->series_ms[e - 1] > at) continue;
        if (cfg->early_stopping) {
            double sum = 0;
            for (int k = 0; k < e; k++)
                sum += o->series_v[k];
            peer[np] = sum / e;
        }
        if (better(cfg->maximize, o->series_v[e - 1], v) || (o->series_v[e - 1] == v && j < i))
            better_peers++;
        np++;
    }
    if (cfg->early_stopping && e < epochs && np >= ES_MIN_PEERS) /* (inferred) minimum peers */
        stop = tn_worse_than_median(cfg->maximize, v, peer, np);
    if (cfg->strategy == TN_HYPERBAND) {
        if (e >= cfg->hb_max && epochs > cfg->hb_max) {
            stop = 1; /* MaxResource reached */
        } else if (e < cfg->hb_max && e < epochs && is_rung(cfg->hb_min, e) && np + 1 >= HB_ETA) {
            int keep = (np + 1 + HB_ETA - 1) / HB_ETA; /* (inferred) the best third continues */
            if (better_peers + 1 > keep) stop = 1;
        }
    }
    if (stop && needs_stop(s, i, at + 1)) s->pending[i] = at + 1;
}

/* The earliest event after the ones processed, or -1. */
static int64_t next_event(const sim *s)
{
    int64_t t = -1;
#define CONSIDER(x)                                                                                \
    do {                                                                                           \
        int64_t x_ = (x);                                                                          \
        if (x_ >= 0 && (t < 0 || x_ < t)) t = x_;                                                  \
    } while (0)
    for (int i = 0; i < s->launched; i++) {
        if (s->ended[i]) continue;
        const tn_child *c = &s->ch[i];
        CONSIDER(c->end_ms);
        CONSIDER(s->pending[i]);
        if (s->reports && s->next_report[i] < c->nseries) CONSIDER(c->series_ms[s->next_report[i]]);
    }
    if (s->halt == TN_HALT_NONE && s->cfg->max_runtime_ms >= 0)
        CONSIDER(s->cfg->created_ms + s->cfg->max_runtime_ms);
    if (!s->stop_seen) CONSIDER(s->cfg->stop_ms);
#undef CONSIDER
    return t;
}

/* StopHyperParameterTuningJob, once its time is reached. */
static void user_stop(sim *s, int64_t at)
{
    const tn_config *cfg = s->cfg;
    if (cfg->stop_ms < 0 || cfg->stop_ms > at || s->stop_seen) return;
    s->stop_seen = 1;
    /* A stop after the job ended changes nothing (the API refuses it then). */
    if (!((s->halt != TN_HALT_NONE || s->launched >= s->max_jobs) && s->running == 0))
        halt(s, TN_HALT_STOPPED, at);
}

/* Process everything that happens at `at`; returns 1 with the action in out when one is due. */
static int step(sim *s, int64_t at, tn_view *out)
{
    const tn_config *cfg = s->cfg;
    /* 1. Children that end now. */
    for (int i = 0; i < s->launched; i++)
        if (!s->ended[i] && s->ch[i].end_ms <= at) child_ended(s, i, at);
    if (s->halt == TN_HALT_NONE) {
        if (s->best >= 0 && cfg->has_target && !better(cfg->maximize, cfg->target, s->obj[s->best]))
            halt(s, TN_HALT_TARGET, at);
        else if (cfg->not_improving > 0 && s->not_improving >= cfg->not_improving)
            halt(s, TN_HALT_NOT_IMPROVING, at);
        else if (cfg->complete_on_convergence && s->convergence_ms >= 0)
            halt(s, TN_HALT_CONVERGED, at);
        else if (s->successes == 0 && s->failures > 0 &&
                 s->failures >= (s->max_jobs < FAIL_LIMIT ? s->max_jobs : FAIL_LIMIT))
            halt(s, TN_HALT_FAILURES, at); /* (inferred) the limit */
    }
    /* 2. Epoch reports now. */
    for (int i = 0; s->reports && i < s->launched; i++) {
        const tn_child *c = &s->ch[i];
        while (!s->ended[i] && s->next_report[i] < c->nseries &&
               c->series_ms[s->next_report[i]] <= at) {
            report(s, i, s->next_report[i], at);
            s->next_report[i]++;
        }
    }
    /* 3. Deadlines and the stop request. */
    if (s->halt == TN_HALT_NONE && cfg->max_runtime_ms >= 0 &&
        cfg->created_ms + cfg->max_runtime_ms <= at)
        halt(s, TN_HALT_RUNTIME, at);
    /* A stop at CreationTime arrived after the request that launched the first children. */
    if (at > cfg->created_ms) user_stop(s, at);
    /* 4. Launches into the free slots. */
    while (s->halt == TN_HALT_NONE && s->launched < s->max_jobs && s->running < s->parallel) {
        int k = s->launched;
        if (k >= s->n) {
            out->action = TN_ACT_CREATE;
            out->act_child = k;
            out->act_ms = at;
            out->act_def = tn_def_of(cfg, k);
            choose_point(s, k, out->act_def, &out->act_point);
            return 1;
        }
        s->launched++;
        s->running++;
        s->pending[k] = -1;
        if (s->ch[k].created_ms > s->last_change) s->last_change = s->ch[k].created_ms;
    }
    if (at == cfg->created_ms) user_stop(s, at);
    /* 5. Stops due now. */
    for (int i = 0; i < s->launched; i++) {
        if (s->pending[i] < 0 || s->pending[i] > at) continue;
        if (needs_stop(s, i, s->pending[i])) {
            out->action = TN_ACT_STOP;
            out->act_child = i;
            out->act_ms = s->pending[i];
            return 1;
        }
        s->pending[i] = -1;
    }
    return 0;
}

static void fill_view(sim *s, tn_view *out)
{
    const tn_config *cfg = s->cfg;
    out->launched = s->launched;
    for (int i = 0; i < s->launched; i++) {
        tn_child *c = &s->ch[i];
        c->obj = TN_OBJ_PENDING;
        if (!s->ended[i]) {
            out->in_progress++;
            out->obj_pending++;
            continue;
        }
        if (c->status == TN_END_COMPLETED)
            out->completed++;
        else if (c->status == TN_END_STOPPED)
            out->stopped++;
        else if (c->retryable)
            out->retryable_error++;
        else
            out->non_retryable_error++;
        c->obj = s->has_obj[i] ? TN_OBJ_SUCCEEDED : TN_OBJ_FAILED;
        c->obj_value = s->has_obj[i] ? s->obj[i] : 0;
        if (s->has_obj[i])
            out->obj_succeeded++;
        else
            out->obj_failed++;
    }
    out->best = s->best;
    out->not_improving = s->not_improving;
    out->convergence_ms = s->convergence_ms;
    out->halt = s->halt;
    out->halt_ms = s->halt_ms;
    int done = (s->halt != TN_HALT_NONE || s->launched >= s->max_jobs) && s->running == 0;
    int64_t end = s->last_end > s->halt_ms ? s->last_end : s->halt_ms;
    if (end < cfg->created_ms) end = cfg->created_ms;
    if (s->halt == TN_HALT_STOPPED) {
        out->status = done ? TN_STOPPED : TN_STOPPING;
    } else if (done) {
        out->status = s->halt == TN_HALT_FAILURES || s->successes == 0 ? TN_FAILED : TN_COMPLETED;
        if (s->halt == TN_HALT_NONE) out->halt = TN_HALT_EXHAUSTED;
        out->failed_attempts = s->halt == TN_HALT_FAILURES ? s->failures : s->launched;
    } else {
        out->status = TN_IN_PROGRESS;
    }
    out->end_ms = done ? end : -1;
    out->last_modified_ms = s->last_change > cfg->created_ms ? s->last_change : cfg->created_ms;
    if (done) out->next_change_ms = -1;
}

void tn_eval(const tn_config *cfg, tn_child *children, int n, int64_t t, tn_view *out)
{
    static const tn_view empty = {.act_child = -1,
                                  .act_ms = -1,
                                  .halt_ms = -1,
                                  .end_ms = -1,
                                  .next_change_ms = -1,
                                  .best = -1,
                                  .convergence_ms = -1};
    *out = empty;
    sim local;
    memset(&local, 0, sizeof local);
    sim *s = &local;
    s->cfg = cfg;
    s->ch = children;
    s->n = n < TN_MAX_CHILDREN ? n : TN_MAX_CHILDREN;
    s->t = t < cfg->created_ms ? cfg->created_ms : t;
    s->max_jobs = cfg->max_jobs < TN_MAX_CHILDREN ? cfg->max_jobs : TN_MAX_CHILDREN;
    if (s->max_jobs < 1) s->max_jobs = 1;
    s->parallel = cfg->max_parallel < s->max_jobs ? cfg->max_parallel : s->max_jobs;
    if (s->parallel < 1) s->parallel = 1;
    s->reports = cfg->early_stopping || cfg->strategy == TN_HYPERBAND;
    s->best = -1;
    s->convergence_ms = -1;
    s->halt_ms = -1;
    s->last_change = cfg->created_ms;
    s->last_end = -1;
    for (int i = 0; i < TN_MAX_CHILDREN; i++)
        s->pending[i] = -1;
    for (int i = 0; i < n; i++)
        children[i].obj = TN_OBJ_PENDING;

    /* Every step consumes the events at its time, so the times strictly increase; the bound
     * only guards against a malformed input (an end before its child's creation...). */
    int64_t at = cfg->created_ms;
    for (long guard = 0; guard < 10L * 1000 * 1000; guard++) {
        if (step(s, at, out)) return;
        int64_t next = next_event(s);
        if (next < 0) break;
        if (next > s->t) {
            out->next_change_ms = next;
            break;
        }
        at = next > at ? next : at + 1;
    }
    fill_view(s, out);
}
