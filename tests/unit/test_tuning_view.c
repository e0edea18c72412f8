/*
 * test_tuning_view.c: the kept DescribeHyperParameterTuningJob bodies (tuning_view.c) and the
 * store's stamp they are kept with (store_tuning_stamp): a body is served only under the same
 * stamp, for the same region and name, within its interval; the stamp changes when another
 * connection commits and when this one writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "store.h"
#include "tuning_job.h"

static void expect_body(const char *region, const char *name, const store_stamp *s, int64_t now,
                        const char *want)
{
    char *got = tuning_view_get(region, name, s, now);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_a_body_is_served_only_under_its_stamp_within_its_interval(void **state)
{
    (void)state;
    int here;
    store_stamp s = {&here, 7, 3};
    tuning_view_put("us-east-1", "hpo", &s, 1000, 2000, "{\"a\":1}");
    expect_body("us-east-1", "hpo", &s, 1000, "{\"a\":1}");
    expect_body("us-east-1", "hpo", &s, 1999, "{\"a\":1}");
    expect_body("us-east-1", "hpo", &s, 2000, NULL); /* its next change */
    expect_body("us-east-1", "hpo", &s, 999, NULL);
    store_stamp other = s;
    other.data_version = 8; /* another connection committed */
    expect_body("us-east-1", "hpo", &other, 1500, NULL);
    other = s;
    other.changes = 4; /* this connection wrote */
    expect_body("us-east-1", "hpo", &other, 1500, NULL);
    other = s;
    other.db = &other; /* another connection */
    expect_body("us-east-1", "hpo", &other, 1500, NULL);
    expect_body("us-east-1", "hpo2", &s, 1500, NULL);
    expect_body("us-west-2", "hpo", &s, 1500, NULL);
    expect_body("us-east-1", "HPO", &s, 1500, NULL);                /* kept per name as asked */
    tuning_view_put("us-east-1", "hpo", &s, 3000, -1, "{\"a\":2}"); /* replaces, for ever */
    expect_body("us-east-1", "hpo", &s, 2500, NULL);
    expect_body("us-east-1", "hpo", &s, INT64_MAX / 2, "{\"a\":2}");
}

static void test_many_names_never_get_each_others_bodies(void **state)
{
    (void)state;
    int here;
    store_stamp s = {&here, 1, 1};
    char name[32], body[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "t%d", i);
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        tuning_view_put("us-east-1", name, &s, 0, -1, body);
        expect_body("us-east-1", name, &s, 5, body); /* the newest is always kept */
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "t%d", i);
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        char *got = tuning_view_get("us-east-1", name, &s, 5);
        if (got) assert_string_equal(got, body); /* or replaced: never another's */
        free(got);
    }
}

static int add_tuning(const char *name)
{
    store_tuning t = {0};
    snprintf(t.region, sizeof t.region, "us-east-1");
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.arn, sizeof t.arn,
             "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/%s", name);
    snprintf(t.strategy, sizeof t.strategy, "Random");
    snprintf(t.status, sizeof t.status, "InProgress");
    t.request = "{}";
    t.end_ms = t.next_change_ms = -1;
    char taken[STORE_ARN_MAX];
    if (store_begin() != SM_OK) return SM_ESTORE;
    int rc = store_tuning_insert(&t, taken);
    if (rc == SM_OK) return store_commit();
    store_rollback();
    return rc;
}

static void *add_elsewhere(void *arg)
{
    intptr_t rc = add_tuning(arg); /* this thread's own connection */
    return (void *)rc;
}

static int stamps_equal(const store_stamp *a, const store_stamp *b)
{
    return a->db == b->db && a->data_version == b->data_version && a->changes == b->changes;
}

static void test_the_stamp_changes_with_every_commit_and_write(void **state)
{
    (void)state;
    assert_int_equal(store_open(":memory:"), SM_OK);
    assert_int_equal(add_tuning("hpo"), SM_OK);
    store_stamp a, b;
    assert_int_equal(store_tuning_stamp("us-east-1", "hpo", &a), SM_OK);
    assert_int_equal(store_tuning_stamp("us-east-1", "HPO", &b), SM_OK); /* names: any case */
    assert_true(stamps_equal(&a, &b));                                   /* nothing changed */
    assert_int_equal(store_tuning_stamp("us-east-1", "nope", &b), SM_ENOTFOUND);
    assert_int_equal(store_tuning_stamp("us-west-2", "hpo", &b), SM_ENOTFOUND);

    pthread_t t;
    void *rc;
    assert_int_equal(pthread_create(&t, NULL, add_elsewhere, "other"), 0);
    assert_int_equal(pthread_join(t, &rc), 0);
    assert_int_equal((intptr_t)rc, SM_OK);
    assert_int_equal(store_tuning_stamp("us-east-1", "hpo", &b), SM_OK);
    assert_true(a.db == b.db && a.data_version != b.data_version); /* another connection */

    a = b;
    store_tuning got;
    assert_int_equal(store_tuning_get("us-east-1", "hpo", &got), SM_OK);
    assert_int_equal(store_tuning_update(got.id, "[]", "{}", "Completed", 5, 5, -1), SM_OK);
    store_tuning_clear(&got);
    assert_int_equal(store_tuning_stamp("us-east-1", "hpo", &b), SM_OK);
    assert_false(stamps_equal(&a, &b)); /* this connection wrote */
    store_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_body_is_served_only_under_its_stamp_within_its_interval),
        cmocka_unit_test(test_many_names_never_get_each_others_bodies),
        cmocka_unit_test(test_the_stamp_changes_with_every_commit_and_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
