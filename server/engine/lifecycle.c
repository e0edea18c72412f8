/*
 * lifecycle.c: the training-job lifecycle engine: what a job looks like at simulated time t.
 *
 * lc_plan_build() expands a scenario with the job's CreateTrainingJob parameters into a plan:
 * an ordered list of marks (a status entry begins, a status message changes, the job ends),
 * with absolute times. The plan already holds every cut that depends only on the request
 * (spot interruptions, failures and retries, MaxRuntimeInSeconds, MaxWaitTimeInSeconds).
 * lc_eval() applies the events the job received (StopTrainingJob, UpdateTrainingJob's
 * KeepAlivePeriodInSeconds) and reads the view at t.
 *
 * This file must not read a clock, allocate, do I/O, or know JSON or HTTP.
 *
 * Invariants:
 *   - Marks are in non-decreasing time order; the first is an ENTER at CreationTime.
 *   - A mark is visible at t iff its time <= t. The view at t is a function of the visible
 *     marks (and, for the warm pool, of t), so a job never moves backwards: a later t only
 *     adds marks. Events only cut the plan after their own time, never before it.
 *   - Exactly one END mark, and it is the last one, unless the plan was truncated (see
 *     "Bounds" below); nothing follows an END.
 *   - A plan never holds more than LC_MAX_MARKS marks nor more than LC_MAX_TRANSITIONS entries
 *     (ENTER + END marks), even after lc_eval adds the three marks of a stop (two of them
 *     entries).
 *
 * The state machine, as "primary: secondary" (TrainingJobStatus: SecondaryStatus). Every arrow
 * is a mark of the plan; its letter names the rule and the function that places it (below).
 *
 *  InProgress
 *  +-------------------------------------------------------------------------------------+
 *  |  [Pending] --> Starting --> Downloading --> Training --> Uploading                  |
 *  |                 ^  ^      (the scenario's steps, in order; each may be cut short)   |
 *  |                 |  |                                                                |
 *  |                 |  +--(b)-- Interrupted <--(b)-- any step, spot capacity reclaimed  |
 *  |                 +-----(c)-- Restarting  <--(c)-- any step, retryable failure        |
 *  +-----+-------------------------------+-----------------------------------+-----------+
 *        | (d) failure, no               | (e) StopTrainingJob               | (a) the last
 *        |     retry left                | (f) MaxRuntime / MaxWait deadline |     step ends
 *        v                               v                                   v
 *   Failed: Failed                Stopping: Stopping                  Completed: Completed
 *                                        | (g) stop_delay_ms later
 *                                        v
 *                  Stopped: Stopped | MaxRuntimeExceeded | MaxWaitTimeExceeded
 *
 *  (a) the last step ends                     -> Completed              gen_attempts()
 *  (b) spot capacity reclaimed (spot only)    -> Interrupted, then the
 *                                                first Starting step    gen_attempts()
 *  (c) retryable failure with retries left    -> Restarting, then the
 *                                                first Starting step    gen_attempts()
 *  (d) failure, no retry left                 -> Failed                 gen_attempts()
 *  (e) StopTrainingJob at S while InProgress  -> TrainingJobStatus Stopping at S; the
 *                                                step keeps its entry until
 *                                                S + stop_delay_ms / 2, then
 *                                                Stopping               seq_init()   (lc_eval)
 *  (f) the earliest deadline, while InProgress -> Stopping at it        plan_cut()
 *  (g) stop_delay_ms after S or the deadline  -> Stopped after (e); MaxRuntimeExceeded or
 *                                                MaxWaitTimeExceeded after (f)
 *                                                                       seq_init(), plan_cut()
 *  gen_attempts() and plan_cut() run in lc_plan_build(); seq_init() in lc_eval().
 *  Warm pool (keep_alive_s > 0), view_warm_pool() in lc_eval(): InUse until the job ends;
 *  after Completed, Available until the keep-alive expires, then Terminated; after Failed or
 *  Stopped, Terminated at once.
 *
 * What is true in each state (of the view):
 *   InProgress  TrainingEndTime, TrainingTimeInSeconds, BillableTimeInSeconds, FailureReason
 *               absent. TrainingStartTime present iff a training-phase entry (Downloading,
 *               DownloadingTrainingImage, Training, Uploading) has begun; the first one counts,
 *               through interruptions and retries. The last entry has no EndTime.
 *   Stopping    as InProgress; the last entry, without EndTime, is the step the job was in
 *               (after a stop, for the first half of the stop delay), else Stopping.
 *   Completed,  every entry has an EndTime; the last entry's EndTime == StartTime ==
 *   Failed,     TrainingEndTime == LastModifiedTime. Training/BillableTimeInSeconds present iff
 *   Stopped     TrainingStartTime is. FailureReason present iff Failed. Nothing but the warm
 *               pool changes any more.
 *
 * Bounds: a pathological scenario (say, endless spot interruptions and no deadline) would
 * need unbounded marks. Generation stops once it would leave no room for the two marks of a
 * cut; the job then stays in its last step until a deadline or a stop cuts it (or forever).
 */
#include "lifecycle.h"

#include <stddef.h>
#include <string.h>

#include "errors.h"

/* ---- names ---------------------------------------------------------------------------- */

static const char *const primary_names[LC_PRIMARY_COUNT] = {
    [LC_IN_PROGRESS] = "InProgress", [LC_COMPLETED] = "Completed", [LC_FAILED] = "Failed",
    [LC_STOPPING] = "Stopping",      [LC_STOPPED] = "Stopped",     [LC_DELETING] = "Deleting",
};

static const char *const secondary_names[LC_SECONDARY_COUNT] = {
    [LC_S_STARTING] = "Starting",
    [LC_S_LAUNCHING_ML_INSTANCES] = "LaunchingMLInstances",
    [LC_S_PREPARING_TRAINING_STACK] = "PreparingTrainingStack",
    [LC_S_DOWNLOADING] = "Downloading",
    [LC_S_DOWNLOADING_TRAINING_IMAGE] = "DownloadingTrainingImage",
    [LC_S_TRAINING] = "Training",
    [LC_S_UPLOADING] = "Uploading",
    [LC_S_STOPPING] = "Stopping",
    [LC_S_STOPPED] = "Stopped",
    [LC_S_MAX_RUNTIME_EXCEEDED] = "MaxRuntimeExceeded",
    [LC_S_COMPLETED] = "Completed",
    [LC_S_FAILED] = "Failed",
    [LC_S_INTERRUPTED] = "Interrupted",
    [LC_S_MAX_WAIT_TIME_EXCEEDED] = "MaxWaitTimeExceeded",
    [LC_S_UPDATING] = "Updating",
    [LC_S_RESTARTING] = "Restarting",
    [LC_S_PENDING] = "Pending",
};

static const char *const warm_pool_names[LC_WP_COUNT] = {
    [LC_WP_AVAILABLE] = "Available",
    [LC_WP_TERMINATED] = "Terminated",
    [LC_WP_REUSED] = "Reused",
    [LC_WP_IN_USE] = "InUse",
};

const char *lc_primary_name(lc_primary p)
{
    return (unsigned)p < LC_PRIMARY_COUNT ? primary_names[p] : NULL;
}

const char *lc_secondary_name(lc_secondary s)
{
    return (unsigned)s < LC_SECONDARY_COUNT ? secondary_names[s] : NULL;
}

const char *lc_warm_pool_name(lc_warm_pool w)
{
    return w >= 0 && w < LC_WP_COUNT ? warm_pool_names[w] : NULL;
}

static int index_of(const char *const *names, int n, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0) return i;
    return -1;
}

int lc_primary_from_name(const char *name)
{
    return index_of(primary_names, LC_PRIMARY_COUNT, name);
}

int lc_secondary_from_name(const char *name)
{
    return index_of(secondary_names, LC_SECONDARY_COUNT, name);
}

int lc_warm_pool_from_name(const char *name)
{
    return index_of(warm_pool_names, LC_WP_COUNT, name);
}

/* ---- messages of the statuses the engine itself enters ------------------------------- */

/* Seen in real jobs (spec §3.2). */
static const char MSG_COMPLETED[] = "Training job completed";
static const char MSG_FAILED[] = "Training job failed";
static const char MSG_STOPPING[] = "Stopping the training job";
static const char MSG_STOPPED[] = "Training job stopped";
/* (inferred) No real text has been found for these (spec §3.2); these are our own. */
static const char MSG_MAX_RUNTIME[] = "Training job runtime exceeded MaxRuntimeInSeconds provided";
static const char MSG_MAX_WAIT[] = "Training job wait time exceeded MaxWaitTimeInSeconds provided";
static const char MSG_INTERRUPTED[] = "Training job interrupted: spot capacity was reclaimed";
static const char MSG_RESTARTING[] = "Restarting the training job";

/* ---- the default scenario ------------------------------------------------------------- */

/* About ten seconds end to end; every InProgress step is visible for at least a second, so a
 * client polling every second sees each one. Texts are today's real ones (spec §3.2, Appendix
 * D: a 2025 job); 2019-2022 jobs said "Downloading input data" while Downloading and began
 * Training with "Downloading the training image". */
static const lc_scenario success_scenario = {
    .name = "success",
    .nsteps = 4,
    .steps =
        {
            {LC_S_STARTING,
             3000,
             3,
             {{0, "Starting the training job"},
              {1000, "Launching requested ML instances"},
              {2000, "Preparing the instances for training"}}},
            {LC_S_DOWNLOADING, 2000, 1, {{0, "Downloading the training image"}}},
            {LC_S_TRAINING,
             3000,
             1,
             {{0, "Training image download completed. Training in progress."}}},
            {LC_S_UPLOADING, 2000, 1, {{0, "Uploading generated training model"}}},
        },
    .stop_delay_ms = 2000,
    .fail_step = -1,
    .failing_attempts = -1,
    .spot_savings_pct = 50,
};

const lc_scenario *lc_scenario_success(void)
{
    return &success_scenario;
}

/* ---- small helpers -------------------------------------------------------------------- */

#define NEVER INT64_MAX

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static int64_t s_to_ms(int64_t s)
{
    if (s > INT64_MAX / 1000) return INT64_MAX;
    if (s < INT64_MIN / 1000) return INT64_MIN;
    return s * 1000;
}

/* ceil(ms / 1000) for ms >= 0, at least 1. */
static int64_t ceil_s_min1(int64_t ms)
{
    int64_t s = ms / 1000 + (ms % 1000 != 0);
    return s < 1 ? 1 : s;
}

/* The statuses of the training phase: the first one begins TrainingStartTime, and time spent
 * in them is what spot billing counts. */
static int is_training_phase(lc_secondary s)
{
    return s == LC_S_DOWNLOADING || s == LC_S_DOWNLOADING_TRAINING_IMAGE || s == LC_S_TRAINING ||
           s == LC_S_UPLOADING;
}

/* Statuses a scenario step may hold: the InProgress ones, except Interrupted and Restarting,
 * which the engine enters itself (spot interruptions, retries). */
int lc_is_step_status(lc_secondary s)
{
    switch (s) {
    case LC_S_PENDING:
    case LC_S_STARTING:
    case LC_S_LAUNCHING_ML_INSTANCES:
    case LC_S_PREPARING_TRAINING_STACK:
    case LC_S_DOWNLOADING:
    case LC_S_DOWNLOADING_TRAINING_IMAGE:
    case LC_S_TRAINING:
    case LC_S_UPLOADING:
    case LC_S_UPDATING:
        return 1;
    default:
        return 0;
    }
}

static int text_ok(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    return n > 0 && n < size;
}

static int duration_ok(int64_t ms, int64_t min)
{
    return ms >= min && ms <= LC_MAX_DURATION_MS;
}

/* 1 when the scenario can be planned. The codec (scenario.c) checks the same rules with
 * JSON paths in its messages; keep them in step. */
static int scenario_ok(const lc_scenario *sc)
{
    if (strnlen(sc->name, sizeof sc->name) >= sizeof sc->name) return 0;
    if (sc->nsteps < 1 || sc->nsteps > LC_MAX_STEPS) return 0;
    for (int i = 0; i < sc->nsteps; i++) {
        const lc_step *st = &sc->steps[i];
        if (!lc_is_step_status(st->status) || !duration_ok(st->duration_ms, 1)) return 0;
        if (st->nmsg < 1 || st->nmsg > LC_MAX_MESSAGES || st->msg[0].at_ms != 0) return 0;
        for (int k = 0; k < st->nmsg; k++) {
            if (!text_ok(st->msg[k].text, sizeof st->msg[k].text)) return 0;
            if (k > 0 && st->msg[k].at_ms <= st->msg[k - 1].at_ms) return 0;
            if (st->msg[k].at_ms >= st->duration_ms) return 0;
        }
    }
    if (!duration_ok(sc->stop_delay_ms, 0)) return 0;
    if (sc->fail_step < -1 || sc->fail_step >= sc->nsteps) return 0;
    if (sc->fail_step >= 0) {
        if (sc->fail_after_ms < 0 || sc->fail_after_ms >= sc->steps[sc->fail_step].duration_ms)
            return 0;
        if (!text_ok(sc->failure_reason, sizeof sc->failure_reason)) return 0;
        if (sc->retryable != 0 && sc->retryable != 1) return 0;
        if (sc->failing_attempts < -1 || sc->failing_attempts == 0) return 0;
        if (!duration_ok(sc->restart_delay_ms, 0)) return 0;
    }
    if (sc->interruptions < -1) return 0;
    if (sc->interruptions != 0) {
        if (sc->interrupt_step < 0 || sc->interrupt_step >= sc->nsteps) return 0;
        if (sc->interrupt_after_ms < 0 ||
            sc->interrupt_after_ms >= sc->steps[sc->interrupt_step].duration_ms)
            return 0;
        if (!duration_ok(sc->interrupted_ms, 0)) return 0;
    }
    return sc->spot_savings_pct >= 0 && sc->spot_savings_pct <= 100;
}

/* ---- plan generation ------------------------------------------------------------------ */

/* Generation state. Once the earliest deadline is known, marks after it are not generated
 * (plan_cut drops any generated before it was known); this also bounds endless loops. */
typedef struct gen {
    lc_plan *p;
    int ntrans;        /* ENTER + END marks so far */
    int done;          /* generation stopped (deadline passed, or no room left) */
    int64_t ts;        /* the first training-phase ENTER, -1 until there is one */
    int64_t max_wait;  /* created + MaxWaitTimeInSeconds (spot only), or NEVER */
    int64_t max_rt_ms; /* MaxRuntimeInSeconds in ms, or NEVER (no limit) */
    int64_t run_ms;    /* running time (training phases) up to the last mark */
} gen;

/*
 * The MaxRuntime deadline (spec §3.2.5, inferred): MaxRuntimeInSeconds of running, where
 * running is time in the training phases (Downloading, Training, Uploading) from the first
 * TrainingStartTime on, across retries and interruptions. Time spent in Pending, Starting,
 * Interrupted and Restarting does not count: for spot jobs MaxWaitTimeInSeconds is "the time
 * spent waiting for Spot capacity plus the amount of time the job can run" (API reference),
 * so waiting must not use up MaxRuntime. A job that never starts training is cut at
 * CreationTime + MaxRuntime. While the last mark is not a running one the deadline is unknown
 * (NEVER); `final` says generation is over.
 */
static int64_t gen_runtime_deadline(const gen *g, int final)
{
    if (g->max_rt_ms == NEVER) return NEVER;
    if (g->ts < 0) return final ? sat_add(g->p->params.created_ms, g->max_rt_ms) : NEVER;
    const lc_plan *p = g->p;
    if (p->nmarks == 0) return NEVER;
    const lc_mark *last = &p->marks[p->nmarks - 1];
    if (last->kind == LC_MARK_END || !last->billed) return NEVER;
    return sat_add(last->at_ms, g->max_rt_ms - g->run_ms);
}

static void push_mark(lc_plan *p, int64_t at, lc_mark_kind kind, lc_primary primary,
                      lc_secondary status, int billed, const char *message)
{
    lc_mark *m = &p->marks[p->nmarks++];
    m->at_ms = at;
    m->kind = kind;
    m->primary = primary;
    m->status = status;
    m->billed = billed;
    m->message = message;
}

/* Append an InProgress mark unless generation is over. Keeps room for the two marks of a
 * cut (plan_cut here, or a stop in lc_eval). Returns 1 when the mark was added. */
static int gen_emit(gen *g, int64_t at, lc_mark_kind kind, lc_primary primary, lc_secondary status,
                    const char *message)
{
    if (g->done) return 0;
    int64_t deadline = gen_runtime_deadline(g, 0);
    if (g->max_wait < deadline) deadline = g->max_wait;
    if (at >= deadline || g->p->nmarks >= LC_MAX_MARKS - 2 ||
        (kind != LC_MARK_MESSAGE && g->ntrans >= LC_MAX_TRANSITIONS - 2)) {
        g->done = 1;
        return 0;
    }
    if (g->p->nmarks > 0) {
        const lc_mark *last = &g->p->marks[g->p->nmarks - 1];
        if (last->billed && last->kind != LC_MARK_END)
            g->run_ms = sat_add(g->run_ms, at - last->at_ms);
    }
    push_mark(g->p, at, kind, primary, status, is_training_phase(status), message);
    if (kind != LC_MARK_MESSAGE) g->ntrans++;
    if (kind == LC_MARK_ENTER && g->ts < 0 && is_training_phase(status)) g->ts = at;
    return 1;
}

/* Where an attempt starts again after an interruption or a retry: the first Starting step
 * (a Pending step before it is not repeated), or the first step. */
static int resume_step(const lc_scenario *sc)
{
    for (int i = 0; i < sc->nsteps; i++)
        if (sc->steps[i].status == LC_S_STARTING) return i;
    return 0;
}

enum run_end { RUN_DONE, RUN_INTERRUPTED, RUN_FAILED };

/* One pass over the steps from `first`, from time *t. Within a step, an interruption and a
 * failure at the same offset: the interruption wins. */
static enum run_end gen_run(gen *g, int first, int interrupting, int failing, int64_t *t)
{
    const lc_scenario *sc = &g->p->scenario;
    for (int i = first; i < sc->nsteps && !g->done; i++) {
        const lc_step *st = &sc->steps[i];
        int64_t cut = st->duration_ms;
        enum run_end how = RUN_DONE;
        if (interrupting && i == sc->interrupt_step) {
            cut = sc->interrupt_after_ms;
            how = RUN_INTERRUPTED;
        }
        if (failing && i == sc->fail_step && sc->fail_after_ms < cut) {
            cut = sc->fail_after_ms;
            how = RUN_FAILED;
        }
        gen_emit(g, *t, LC_MARK_ENTER, LC_IN_PROGRESS, st->status, st->msg[0].text);
        for (int k = 1; k < st->nmsg && st->msg[k].at_ms < cut; k++)
            gen_emit(g, sat_add(*t, st->msg[k].at_ms), LC_MARK_MESSAGE, LC_IN_PROGRESS, st->status,
                     st->msg[k].text);
        *t = sat_add(*t, cut);
        if (how != RUN_DONE) return how;
    }
    return RUN_DONE;
}

/* Rules (a)-(d): attempts, spot interruptions, retries, until the job completes or fails or
 * generation stops. MaximumRetryAttempts counts retries, so a job runs at most 1 + that many
 * attempts; an interruption resumes the same attempt. */
static void gen_attempts(gen *g)
{
    const lc_scenario *sc = &g->p->scenario;
    const lc_params *pa = &g->p->params;
    int64_t t = pa->created_ms;
    int attempt = 1;
    int interruptions_left = pa->spot ? sc->interruptions : 0; /* -1: endless */
    int first = 0;

    while (!g->done) {
        int failing =
            sc->fail_step >= 0 && (sc->failing_attempts < 0 || attempt <= sc->failing_attempts);
        enum run_end how = gen_run(g, first, interruptions_left != 0, failing, &t);
        if (how == RUN_DONE) {
            gen_emit(g, t, LC_MARK_END, LC_COMPLETED, LC_S_COMPLETED, MSG_COMPLETED);
            return;
        }
        if (how == RUN_INTERRUPTED) {
            gen_emit(g, t, LC_MARK_ENTER, LC_IN_PROGRESS, LC_S_INTERRUPTED, MSG_INTERRUPTED);
            t = sat_add(t, sc->interrupted_ms);
            if (interruptions_left > 0) interruptions_left--;
        } else if (sc->retryable && attempt - 1 < pa->max_retry_attempts) {
            gen_emit(g, t, LC_MARK_ENTER, LC_IN_PROGRESS, LC_S_RESTARTING, MSG_RESTARTING);
            t = sat_add(t, sc->restart_delay_ms);
            attempt++;
        } else {
            gen_emit(g, t, LC_MARK_END, LC_FAILED, LC_S_FAILED, MSG_FAILED);
            return;
        }
        first = resume_step(sc);
    }
}

/* Number of plan marks visible at t (their time <= t). */
static int marks_upto(const lc_plan *plan, int64_t t)
{
    int lo = 0, hi = plan->nmarks;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (plan->marks[mid].at_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Rule (f): if the job is still InProgress at the earliest deadline D, its step ends there
 * (generation never makes a mark at or after D, so no zero-length entry appears), then
 * Stopping for stop_delay_ms, then MaxRuntimeExceeded / MaxWaitTimeExceeded (primary
 * Stopped). When both deadlines are the same instant, MaxWaitTimeExceeded wins (the spot
 * "never launched" sequence, spec §3.2.6). */
static void plan_cut(gen *g)
{
    lc_plan *p = g->p;
    int64_t d_rt = gen_runtime_deadline(g, 1);
    int64_t d = g->max_wait <= d_rt ? g->max_wait : d_rt;
    if (d == NEVER) return;
    int k = marks_upto(p, d);
    if (k == 0 || p->marks[k - 1].kind == LC_MARK_END) return; /* k == 0: D before creation */
    p->nmarks = k;
    int wait = d == g->max_wait;
    push_mark(p, d, LC_MARK_ENTER, LC_STOPPING, LC_S_STOPPING, 0, MSG_STOPPING);
    push_mark(p, sat_add(d, p->scenario.stop_delay_ms), LC_MARK_END, LC_STOPPED,
              wait ? LC_S_MAX_WAIT_TIME_EXCEEDED : LC_S_MAX_RUNTIME_EXCEEDED, 0,
              wait ? MSG_MAX_WAIT : MSG_MAX_RUNTIME);
}

int lc_plan_build(const lc_scenario *sc, const lc_params *p, lc_plan *out)
{
    if (!sc || !p || !out || !scenario_ok(sc) || p->max_retry_attempts < 0 || p->keep_alive_s < 0)
        return SM_EINVAL;
    if (sc != &out->scenario) memmove(&out->scenario, sc, sizeof *sc);
    out->params = *p;
    out->nmarks = 0;

    gen g = {.p = out, .ts = -1, .max_wait = NEVER, .max_rt_ms = NEVER};
    /* A negative MaxRuntimeInSeconds means no limit (the request always has one: the caller
     * passes 86400 when it was omitted). */
    if (p->max_runtime_s >= 0) g.max_rt_ms = s_to_ms(p->max_runtime_s);
    if (p->spot && p->max_wait_s >= 0) g.max_wait = sat_add(p->created_ms, s_to_ms(p->max_wait_s));
    gen_attempts(&g);
    plan_cut(&g);
    return SM_OK;
}

/* ---- evaluation ----------------------------------------------------------------------- */

/* The plan's marks as cut by a stop: base[0..nbase) then up to three marks of our own. */
typedef struct seq {
    const lc_mark *base;
    int nbase;
    lc_mark extra[3];
    int nextra;
} seq;

static int seq_len(const seq *s)
{
    return s->nbase + s->nextra;
}

static const lc_mark *seq_get(const seq *s, int i)
{
    return i < s->nbase ? &s->base[i] : &s->extra[i - s->nbase];
}

/* Rule (e). A stop at S counts when the plan is InProgress at S (a stop before creation, or
 * when the job is already Stopping or ended, changes nothing). The earliest such stop wins;
 * the plan is InProgress over one interval, so later stops fall outside it. Everything
 * visible at S stays. TrainingJobStatus turns Stopping at S, while SecondaryStatus still
 * names the step in progress, as a real Describe right after StopTrainingJob shows (spec
 * §2.4, ACK test data): the service acknowledges the stop before the job's own workflow
 * moves. (inferred) The step's entry ends, and Stopping begins, half the stop delay later;
 * Stopped follows at S + stop delay. The deadlines (plan_cut) have no such lag: the workflow
 * stops the job itself. */
static void seq_init(seq *s, const lc_plan *plan, const lc_event *ev, int nev)
{
    s->base = plan->marks;
    s->nbase = plan->nmarks;
    s->nextra = 0;
    int64_t stop = NEVER;
    for (int i = 0; i < nev; i++) {
        if (ev[i].kind != LC_EV_STOP || ev[i].at_ms >= stop) continue;
        int k = marks_upto(plan, ev[i].at_ms);
        if (k > 0 && plan->marks[k - 1].primary == LC_IN_PROGRESS) stop = ev[i].at_ms;
    }
    if (stop == NEVER) return;
    s->nbase = marks_upto(plan, stop);
    const lc_mark *cur = &plan->marks[s->nbase - 1]; /* nbase > 0: InProgress at the stop */
    s->extra[0] = (lc_mark){.at_ms = stop,
                            .kind = LC_MARK_PRIMARY,
                            .primary = LC_STOPPING,
                            .status = cur->status,
                            .message = cur->message};
    s->extra[1] = (lc_mark){.at_ms = sat_add(stop, plan->scenario.stop_delay_ms / 2),
                            .kind = LC_MARK_ENTER,
                            .primary = LC_STOPPING,
                            .status = LC_S_STOPPING,
                            .message = MSG_STOPPING};
    s->extra[2] = (lc_mark){.at_ms = sat_add(stop, plan->scenario.stop_delay_ms),
                            .kind = LC_MARK_END,
                            .primary = LC_STOPPED,
                            .status = LC_S_STOPPED,
                            .message = MSG_STOPPED};
    s->nextra = 3;
}

/* When the warm pool of a job that completed at `end` expires. The keep-alive is measured
 * from TrainingEndTime. An UpdateTrainingJob at A with KeepAlivePeriodInSeconds v, while the
 * pool is not yet terminated (A < expiry), moves the expiry to max(A, end) + v: before the
 * job ends, the new period simply replaces the old one; after, it starts at the update. So v
 * = 0 terminates an Available pool at A. An update at or after the expiry changes nothing. */
static int64_t warm_pool_expiry(const lc_plan *plan, const lc_event *ev, int nev, int64_t end)
{
    int64_t x = sat_add(end, s_to_ms(plan->params.keep_alive_s));
    for (int i = 0; i < nev; i++) {
        if (ev[i].kind != LC_EV_KEEP_ALIVE || ev[i].at_ms >= x) continue;
        int64_t from = ev[i].at_ms > end ? ev[i].at_ms : end;
        x = sat_add(from, s_to_ms(ev[i].value > 0 ? ev[i].value : 0));
    }
    return x;
}

/* When a later job took the Available pool over (the first LC_EV_WARM_REUSED at or after
 * `end` and before the expiry x), or -1. */
static int64_t warm_pool_reused_at(const lc_event *ev, int nev, int64_t end, int64_t x)
{
    for (int i = 0; i < nev; i++)
        if (ev[i].kind == LC_EV_WARM_REUSED && ev[i].at_ms >= end && ev[i].at_ms < x)
            return ev[i].at_ms;
    return -1;
}

/* The warm pool at t (spec §3.2.8): InUse while the job runs; after Completed, Available until
 * the keep-alive expires (Terminated) or a matching job takes it over (Reused), whichever
 * comes first; ResourceRetainedBillableTimeInSeconds counts the Available time. A Failed or
 * Stopped job keeps no pool: Terminated when it ends, with no retained time (inferred: "the
 * warm pool will be terminated automatically if the training job has not completed
 * successfully", a controller built against the service, spec §2.5). */
static void view_warm_pool(const lc_plan *plan, const lc_event *ev, int nev, int64_t t, lc_view *v)
{
    v->warm_pool = LC_WP_NONE;
    v->warm_pool_retained_s = -1;
    if (plan->params.keep_alive_s <= 0) return;
    if (v->training_end_ms < 0) {
        v->warm_pool = LC_WP_IN_USE;
        return;
    }
    if (v->primary != LC_COMPLETED) { /* Failed, Stopped */
        v->warm_pool = LC_WP_TERMINATED;
        v->warm_pool_retained_s = 0;
        return;
    }
    int64_t end = v->training_end_ms;
    int64_t x = warm_pool_expiry(plan, ev, nev, end);
    int64_t reused = warm_pool_reused_at(ev, nev, end, x);
    int64_t until = reused >= 0 ? reused : x;
    if (t < until) {
        v->warm_pool = LC_WP_AVAILABLE;
        v->warm_pool_retained_s = (t - end) / 1000;
        if (v->next_change_ms < 0 || until < v->next_change_ms) v->next_change_ms = until;
    } else {
        v->warm_pool = reused >= 0 ? LC_WP_REUSED : LC_WP_TERMINATED;
        v->warm_pool_retained_s = (until - end) / 1000;
    }
}

/* Append a SecondaryStatusTransitions entry, ending the current one at its start. */
static void view_enter(lc_view *v, const lc_mark *m)
{
    if (v->ntrans > 0 && v->trans[v->ntrans - 1].end_ms < 0)
        v->trans[v->ntrans - 1].end_ms = m->at_ms;
    if (v->ntrans >= LC_MAX_TRANSITIONS)
        return; /* cannot happen: the plan keeps within the bound */
    lc_transition *tr = &v->trans[v->ntrans++];
    tr->status = m->status;
    tr->start_ms = m->at_ms;
    tr->end_ms = m->kind == LC_MARK_END ? m->at_ms : -1;
    tr->message = m->message;
}

/* Training/BillableTimeInSeconds of an ended job that had started training. On-demand:
 * billable == training. Spot: ceil(ms in training-phase steps * (100 - savings%) / 100), at
 * least 1 (the time billed is part of the training time, so billable <= training). */
static void view_times(const seq *s, const lc_plan *plan, lc_view *v)
{
    if (v->training_end_ms < 0 || v->training_start_ms < 0) return;
    v->training_time_s = ceil_s_min1(v->training_end_ms - v->training_start_ms);
    if (!plan->params.spot) {
        v->billable_time_s = v->training_time_s;
        return;
    }
    int64_t billed = 0;
    for (int i = 0; i + 1 < seq_len(s); i++)
        if (seq_get(s, i)->billed) billed += seq_get(s, i + 1)->at_ms - seq_get(s, i)->at_ms;
    int64_t pct = 100 - plan->scenario.spot_savings_pct;
    /* billed < ~1e15 ms (bounded marks and durations): no overflow in billed * pct */
    v->billable_time_s = ceil_s_min1((billed * pct + 99) / 100);
}

void lc_eval(const lc_plan *plan, const lc_event *ev, int nev, int64_t t, lc_view *out)
{
    seq s;
    seq_init(&s, plan, ev, nev);
    int n = seq_len(&s);
    if (n > 0 && t < seq_get(&s, 0)->at_ms)
        t = seq_get(&s, 0)->at_ms; /* before CreationTime: read as at CreationTime */

    out->primary = LC_IN_PROGRESS;
    out->secondary = LC_S_STARTING;
    out->ntrans = 0;
    out->training_start_ms = -1;
    out->training_end_ms = -1;
    out->training_time_s = -1;
    out->billable_time_s = -1;
    out->last_modified_ms = plan->params.created_ms;
    out->failure_reason = NULL;
    out->next_change_ms = -1;
    out->at_ms = t;

    int i = 0;
    for (; i < n && seq_get(&s, i)->at_ms <= t; i++) {
        const lc_mark *m = seq_get(&s, i);
        out->primary = m->primary;
        out->last_modified_ms = m->at_ms;
        if (m->kind == LC_MARK_PRIMARY) continue; /* the entry and SecondaryStatus stay */
        if (m->kind == LC_MARK_MESSAGE) {
            if (out->ntrans > 0) out->trans[out->ntrans - 1].message = m->message;
        } else {
            view_enter(out, m);
        }
        out->secondary = m->status;
        if (m->kind == LC_MARK_ENTER && out->training_start_ms < 0 && is_training_phase(m->status))
            out->training_start_ms = m->at_ms;
        if (m->kind == LC_MARK_END) {
            out->training_end_ms = m->at_ms;
            if (m->primary == LC_FAILED) out->failure_reason = plan->scenario.failure_reason;
        }
    }
    if (i < n) out->next_change_ms = seq_get(&s, i)->at_ms;
    view_times(&s, plan, out);
    view_warm_pool(plan, ev, nev, t, out);
}
