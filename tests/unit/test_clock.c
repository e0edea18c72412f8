/*
 * test_clock.c: the simulated clock (server/clock.c): the formula, pause, advance, set,
 * rate changes, and the rule that it never goes backwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "errors.h"

static const int64_t T0 = INT64_C(1700000000000); /* sim anchor */
static const int64_t W0 = INT64_C(1800000000000); /* wall anchor */

static void rate_one_follows_the_wall_clock(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_at(&c, W0), T0);
    assert_int_equal(clock_at(&c, W0 + 1234), T0 + 1234);
}

static void rate_sixty_runs_a_minute_per_second(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 60.0, T0};
    assert_int_equal(clock_at(&c, W0 + 1000), T0 + 60000);
    assert_int_equal(clock_at(&c, W0 + 500), T0 + 30000);
}

static void rate_zero_pauses(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_set_rate(&c, W0 + 5000, 0.0), SM_OK);
    assert_int_equal(clock_at(&c, W0 + 5000), T0 + 5000);
    assert_int_equal(clock_at(&c, W0 + 3600000), T0 + 5000);
}

static void advance_moves_forward_and_keeps_the_rate(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 0.0, T0};
    assert_int_equal(clock_advance(&c, W0 + 100, 90000), SM_OK);
    assert_int_equal(clock_at(&c, W0 + 100), T0 + 90000);
    assert_int_equal(clock_at(&c, W0 + 99999), T0 + 90000); /* still paused */
    assert_true(c.rate == 0.0);
}

static void advance_refuses_negative(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0}, before = c;
    assert_int_equal(clock_advance(&c, W0, -1), SM_EINVAL);
    assert_memory_equal(&c, &before, sizeof c);
}

static void set_goes_forward_only(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_set(&c, W0 + 1000, T0 + 500), SM_EINVAL); /* now is T0+1000 */
    assert_int_equal(clock_set(&c, W0 + 1000, T0 + 1000), SM_OK);    /* equal is allowed */
    assert_int_equal(clock_set(&c, W0 + 1000, T0 + 86400000), SM_OK);
    assert_int_equal(clock_at(&c, W0 + 1000), T0 + 86400000);
    assert_int_equal(clock_at(&c, W0 + 2000), T0 + 86401000);
}

static void rate_change_reanchors_without_a_jump(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_set_rate(&c, W0 + 10000, 10.0), SM_OK);
    assert_int_equal(clock_at(&c, W0 + 10000), T0 + 10000);
    assert_int_equal(clock_at(&c, W0 + 11000), T0 + 20000);
}

static void rate_refuses_negative_nan_and_huge(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    double zero = 0.0;
    assert_int_equal(clock_set_rate(&c, W0, -1.0), SM_EINVAL);
    assert_int_equal(clock_set_rate(&c, W0, zero / zero), SM_EINVAL);
    assert_int_equal(clock_set_rate(&c, W0, CLOCK_MAX_RATE * 2), SM_EINVAL);
    assert_true(c.rate == 1.0);
}

static void wall_clock_stepping_back_does_not_move_sim_back(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_at(&c, W0 - 5000), T0);
}

static void global_now_is_monotonic(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    clock_global_init(&c);
    int64_t a = clock_now(W0 + 5000);
    int64_t b = clock_now(W0 + 1000); /* wall went back */
    assert_int_equal(a, T0 + 5000);
    assert_true(b >= a);
}

/* The clock ends at 9999-12-31T23:59:59Z (issue 13): set and advance refuse to go past it, a
 * fast rate runs into it and stays, and no product of rate and elapsed time overflows. */
static void the_clock_ends_at_the_last_second_clients_can_parse(void **state)
{
    (void)state;
    sm_clock c = {T0, W0, 1.0, T0};
    assert_int_equal(clock_set(&c, W0, CLOCK_MAX_MS + 1), SM_EINVAL);
    assert_int_equal(clock_advance(&c, W0, CLOCK_MAX_MS - T0 + 1), SM_EINVAL);
    assert_int_equal(clock_advance(&c, W0, INT64_C(1) << 50), SM_EINVAL);
    assert_int_equal(clock_advance(&c, W0, INT64_MAX), SM_EINVAL);
    assert_int_equal(clock_at(&c, W0), T0); /* nothing changed */
    assert_int_equal(clock_advance(&c, W0, CLOCK_MAX_MS - T0 - 1000), SM_OK);
    assert_int_equal(clock_at(&c, W0), CLOCK_MAX_MS - 1000);
    assert_int_equal(clock_at(&c, W0 + 5000), CLOCK_MAX_MS); /* stops there */
    assert_int_equal(clock_advance(&c, W0, 1001), SM_EINVAL);
    assert_int_equal(clock_set(&c, W0, CLOCK_MAX_MS), SM_OK);
    assert_int_equal(clock_advance(&c, W0, 0), SM_OK);

    sm_clock fast = {T0, W0, CLOCK_MAX_RATE, T0};
    assert_int_equal(clock_at(&fast, W0 + INT64_C(86400000) * 365 * 300), CLOCK_MAX_MS);
    assert_int_equal(clock_at(&fast, INT64_MAX), CLOCK_MAX_MS);
    sm_clock odd = {T0, INT64_MIN, CLOCK_MAX_RATE, T0}; /* a corrupt anchor */
    assert_int_equal(clock_at(&odd, INT64_MAX), CLOCK_MAX_MS);
    /* A clock saved past the end by an older version resumes at the end. */
    sm_clock saved = {INT64_C(1) << 62, W0, 1.0, INT64_C(1) << 62};
    clock_global_init(&saved);
    assert_int_equal(clock_now(W0 + 1000), CLOCK_MAX_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_one_follows_the_wall_clock),
        cmocka_unit_test(rate_sixty_runs_a_minute_per_second),
        cmocka_unit_test(rate_zero_pauses),
        cmocka_unit_test(advance_moves_forward_and_keeps_the_rate),
        cmocka_unit_test(advance_refuses_negative),
        cmocka_unit_test(set_goes_forward_only),
        cmocka_unit_test(rate_change_reanchors_without_a_jump),
        cmocka_unit_test(rate_refuses_negative_nan_and_huge),
        cmocka_unit_test(wall_clock_stepping_back_does_not_move_sim_back),
        cmocka_unit_test(the_clock_ends_at_the_last_second_clients_can_parse),
        cmocka_unit_test(global_now_is_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
