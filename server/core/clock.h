/*
 * clock.h: the simulated clock.
 *
 *   now = anchor_sim + (wall - anchor_wall) * rate
 *
 * The functions on sm_clock are pure: the caller passes the wall time it read (once per
 * request). The clock never goes backwards: every change re-anchors at the current simulated
 * time, set() refuses a target in the past, and clock_now() never returns less than it
 * returned before. The global clock is shared by every thread behind a mutex.
 */
#ifndef SM_CLOCK_H
#define SM_CLOCK_H

#include <stdint.h>

typedef struct sm_clock {
    int64_t anchor_sim_ms;
    int64_t anchor_wall_ms;
    double rate;
    int64_t floor_ms; /* the latest time handed out; now never goes below it */
} sm_clock;

#define CLOCK_MAX_RATE 1e6
/* The latest simulated time: 9999-12-31T23:59:59Z, the last second AWS clients can parse
 * (Python's datetime stops at year 9999). The clock stops there; set and advance refuse to go
 * past it. */
#define CLOCK_MAX_MS INT64_C(253402300799000)

/* Simulated time at wall time `wall_ms` (pure; ignores floor_ms), at most CLOCK_MAX_MS. */
int64_t clock_at(const sm_clock *c, int64_t wall_ms);
/* Re-anchor at wall_ms, then change. 0, or SM_EINVAL for a bad argument (nothing changes). */
int clock_advance(sm_clock *c, int64_t wall_ms, int64_t delta_ms); /* 0 <= now+delta <= max */
int clock_set(sm_clock *c, int64_t wall_ms, int64_t target_ms);    /* now <= target <= max */
int clock_set_rate(sm_clock *c, int64_t wall_ms, double rate);     /* 0 <= rate <= max */

/* Real time in milliseconds since the epoch (the only function here that reads a clock). */
int64_t clock_wall_ms(void);

/* The process-wide clock. */
void clock_global_init(const sm_clock *c);
sm_clock clock_global_get(void);
void clock_global_put(const sm_clock *c);
/* Simulated now at wall_ms, never less than any value returned before. */
int64_t clock_now(int64_t wall_ms);

#endif
