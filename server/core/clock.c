/*
 * clock.c: the simulated clock (see clock.h for the formula and its invariants).
 */
#include "clock.h"
#include "errors.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

int64_t clock_at(const sm_clock *c, int64_t wall_ms)
{
    /* In doubles, so that no rate and no span overflows; the result is capped before it is
     * converted back. */
    double elapsed = ((double)wall_ms - (double)c->anchor_wall_ms) * c->rate;
    if (!(elapsed > 0)) elapsed = 0; /* a wall clock stepped back must not move us back */
    double t = (double)c->anchor_sim_ms + elapsed;
    if (c->anchor_sim_ms >= CLOCK_MAX_MS || t >= (double)CLOCK_MAX_MS) return CLOCK_MAX_MS;
    return c->anchor_sim_ms + (int64_t)llround(elapsed);
}

static int64_t now_of(const sm_clock *c, int64_t wall_ms)
{
    int64_t t = clock_at(c, wall_ms);
    return t < c->floor_ms ? c->floor_ms : t;
}

static void reanchor(sm_clock *c, int64_t wall_ms, int64_t sim_ms)
{
    c->anchor_sim_ms = sim_ms;
    c->anchor_wall_ms = wall_ms;
    if (c->floor_ms < sim_ms) c->floor_ms = sim_ms;
}

int clock_advance(sm_clock *c, int64_t wall_ms, int64_t delta_ms)
{
    int64_t now = now_of(c, wall_ms);
    if (delta_ms < 0 || delta_ms > CLOCK_MAX_MS - now) return SM_EINVAL;
    reanchor(c, wall_ms, now + delta_ms);
    return SM_OK;
}

int clock_set(sm_clock *c, int64_t wall_ms, int64_t target_ms)
{
    if (target_ms < now_of(c, wall_ms) || target_ms > CLOCK_MAX_MS) return SM_EINVAL;
    reanchor(c, wall_ms, target_ms);
    return SM_OK;
}

int clock_set_rate(sm_clock *c, int64_t wall_ms, double rate)
{
    if (!(rate >= 0 && rate <= CLOCK_MAX_RATE)) return SM_EINVAL; /* also refuses NaN */
    reanchor(c, wall_ms, now_of(c, wall_ms));
    c->rate = rate;
    return SM_OK;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static sm_clock global = {0, 0, 1.0, 0};

void clock_global_init(const sm_clock *c)
{
    pthread_mutex_lock(&global_lock);
    global = *c;
    /* A clock saved past the bound (by an older sagemock) resumes at the bound. */
    if (global.anchor_sim_ms > CLOCK_MAX_MS) global.anchor_sim_ms = CLOCK_MAX_MS;
    if (global.floor_ms > CLOCK_MAX_MS) global.floor_ms = CLOCK_MAX_MS;
    pthread_mutex_unlock(&global_lock);
}

sm_clock clock_global_get(void)
{
    pthread_mutex_lock(&global_lock);
    sm_clock c = global;
    pthread_mutex_unlock(&global_lock);
    return c;
}

void clock_global_put(const sm_clock *c)
{
    pthread_mutex_lock(&global_lock);
    int64_t floor = global.floor_ms;
    global = *c;
    if (global.floor_ms < floor) global.floor_ms = floor;
    pthread_mutex_unlock(&global_lock);
}

int64_t clock_now(int64_t wall_ms)
{
    pthread_mutex_lock(&global_lock);
    int64_t t = now_of(&global, wall_ms);
    global.floor_ms = t;
    pthread_mutex_unlock(&global_lock);
    return t;
}
