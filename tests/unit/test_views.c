/*
 * test_views.c: stored views (store/views.c) on a real in-memory store: a view is served only
 * within the interval it holds for; a change of the job's events or request drops it; a view
 * rendered before such a change, or for a deleted job whose id was given again, is never
 * stored; another build's views are dropped at start-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "store.h"

static int64_t add_job(const char *name)
{
    store_job j = {0};
    snprintf(j.region, sizeof j.region, "us-east-1");
    snprintf(j.name, sizeof j.name, "%s", name);
    snprintf(j.arn, sizeof j.arn, "arn:aws:sagemaker:us-east-1:123456789012:training-job/%s", name);
    snprintf(j.scenario_name, sizeof j.scenario_name, "success");
    snprintf(j.status, sizeof j.status, "InProgress");
    snprintf(j.secondary, sizeof j.secondary, "Starting");
    j.request = "{\"TrainingJobName\":\"x\"}";
    j.scenario = "{\"name\":\"success\"}";
    j.events = "[]";
    j.end_ms = j.next_change_ms = -1;
    char taken[STORE_ARN_MAX];
    assert_int_equal(store_begin(), SM_OK);
    assert_int_equal(store_job_insert(&j, taken), SM_OK);
    assert_int_equal(store_commit(), SM_OK);
    return j.id;
}

static store_job get_job(const char *name)
{
    store_job j;
    assert_int_equal(store_job_get("us-east-1", name, &j), SM_OK);
    return j;
}

/* The view of `name` at now: its body (to free), or NULL when there is none. */
static char *view_at(const char *name, int64_t now)
{
    char *body = NULL;
    int rc = store_view_get("us-east-1", name, now, &body);
    assert_true(rc == SM_OK || rc == SM_ENOTFOUND);
    return rc == SM_OK ? body : NULL;
}

static void update(int64_t id, const char *events)
{
    store_state st = {"InProgress", "Stopping", "", 5, -1, -1, NULL};
    assert_int_equal(store_begin(), SM_OK);
    assert_int_equal(store_job_update(id, events, NULL, &st), SM_OK);
    assert_int_equal(store_commit(), SM_OK);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(store_open(":memory:"), SM_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close();
    return 0;
}

static void test_a_view_holds_for_its_interval_only(void **state)
{
    (void)state;
    add_job("a");
    store_job j = get_job("a");
    store_view_put(j.id, j.rev, 1000, 5000, "{\"v\":1}");
    store_views_flush();
    char *b = view_at("a", 1000);
    assert_non_null(b);
    assert_string_equal(b, "{\"v\":1}");
    free(b);
    assert_null(view_at("a", 999));  /* before it was rendered */
    assert_null(view_at("a", 5000)); /* the job changed then */
    b = view_at("A", 4999);          /* names are found case-insensitively, as jobs are */
    assert_non_null(b);
    free(b);
    store_view_put(j.id, j.rev, 6000, -1, "{\"v\":2}"); /* -1: holds for ever */
    store_views_flush();
    b = view_at("a", 1000000000000LL);
    assert_string_equal(b, "{\"v\":2}");
    free(b);
    store_job_clear(&j);
}

static void test_a_change_drops_the_view_and_stale_ones_are_not_stored(void **state)
{
    (void)state;
    int64_t id = add_job("b");
    store_job j = get_job("b");
    store_view_put(j.id, j.rev, 0, -1, "{\"before\":1}");
    store_views_flush();
    char *b = view_at("b", 10);
    assert_non_null(b);
    free(b);
    update(id, "[{\"kind\":\"stop\",\"at\":5,\"value\":0}]");
    assert_null(view_at("b", 10)); /* dropped with the change */
    /* rendered from the row as it was before the change: never stored */
    store_view_put(j.id, j.rev, 0, -1, "{\"before\":1}");
    store_views_flush();
    assert_null(view_at("b", 10));
    store_job after = get_job("b");
    assert_int_equal(after.rev, j.rev + 1);
    store_view_put(after.id, after.rev, 0, -1, "{\"after\":1}");
    store_views_flush();
    b = view_at("b", 10);
    assert_string_equal(b, "{\"after\":1}");
    free(b);
    store_job_clear(&j);
    store_job_clear(&after);
}

static void test_a_view_of_a_deleted_job_never_reaches_a_new_job_with_its_id(void **state)
{
    (void)state;
    add_job("c");
    store_job old = get_job("c");
    assert_int_equal(store_begin(), SM_OK);
    assert_int_equal(store_job_delete(old.id), SM_OK);
    assert_int_equal(store_commit(), SM_OK);
    int64_t id = add_job("c"); /* the newest row deleted: SQLite gives its id again */
    assert_int_equal(id, old.id);
    store_view_put(old.id, old.rev, 0, -1, "{\"old\":1}");
    store_views_flush();
    assert_null(view_at("c", 10));
    store_job_clear(&old);
}

static void test_another_builds_views_are_dropped(void **state)
{
    (void)state;
    assert_int_equal(store_views_epoch("build-1"), SM_OK);
    add_job("d");
    store_job j = get_job("d");
    store_view_put(j.id, j.rev, 0, -1, "{\"d\":1}");
    store_views_flush();
    assert_int_equal(store_views_epoch("build-1"), SM_OK); /* the same build: kept */
    char *b = view_at("d", 1);
    assert_non_null(b);
    free(b);
    assert_int_equal(store_views_epoch("build-2"), SM_OK);
    assert_null(view_at("d", 1));
    store_job_clear(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_view_holds_for_its_interval_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_change_drops_the_view_and_stale_ones_are_not_stored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_view_of_a_deleted_job_never_reaches_a_new_job_with_its_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_builds_views_are_dropped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
