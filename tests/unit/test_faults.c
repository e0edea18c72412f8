/*
 * test_faults.c: injected faults (server/core/faults.c): one cap for the latency of all the
 * faults that match a request, a capped table, and no sleeping in fault_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "faults.h"

static cJSON *fault(const char *json)
{
    cJSON *in = cJSON_Parse(json), *out = NULL;
    char why[400];
    assert_non_null(in);
    assert_int_equal(fault_parse(in, &out, why, sizeof why), SM_OK);
    cJSON_Delete(in);
    return out;
}

static void add(const char *json, int times)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < times; i++)
        cJSON_AddItemToArray(a, fault(json));
    assert_int_equal(fault_add_all(a), SM_OK);
    cJSON_Delete(a);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Five faults of 20 s on one operation: 60 s in all, not 100; and fault_check answers at once
 * (it used to sleep the sum in the calling worker). */
static void latencies_add_up_to_one_cap_without_sleeping(void **state)
{
    (void)state;
    fault_clear();
    add("{\"operation\":\"DescribeTrainingJob\",\"latencyMs\":20000}", 5);
    int delay = -1;
    double t0 = now_ms();
    assert_null(fault_check("sagemaker", "DescribeTrainingJob", "job", &delay));
    assert_true(now_ms() - t0 < 100);
    assert_int_equal(delay, FAULT_MAX_LATENCY_MS);
    assert_null(fault_check("sagemaker", "ListTrainingJobs", NULL, &delay));
    assert_int_equal(delay, 0);
    fault_clear();
    add("{\"operation\":\"*\",\"latencyMs\":1500.2}", 2);
    assert_null(fault_check("sagemaker", "ListTrainingJobs", NULL, &delay));
    assert_int_equal(delay, 3001);
    fault_clear();
}

static void latency_and_error_come_together(void **state)
{
    (void)state;
    fault_clear();
    add("{\"operation\":\"*\",\"latencyMs\":250,\"error\":\"ThrottlingException\",\"count\":1}", 1);
    int delay = 0;
    assert_string_equal(fault_check("sagemaker", "StopTrainingJob", "j", &delay),
                        "ThrottlingException");
    assert_int_equal(delay, 250);
    assert_null(fault_check("sagemaker", "StopTrainingJob", "j", &delay)); /* count spent */
    assert_int_equal(delay, 250);
    fault_clear();
}

/* The table holds FAULT_MAX faults; a batch that would pass it adds nothing. */
static void the_table_is_capped_all_or_nothing(void **state)
{
    (void)state;
    fault_clear();
    add("{\"operation\":\"*\",\"error\":\"InternalFailure\"}", FAULT_MAX - 1);
    assert_int_equal(fault_count(), FAULT_MAX - 1);
    cJSON *two = cJSON_CreateArray();
    cJSON_AddItemToArray(two, fault("{\"operation\":\"*\",\"latencyMs\":1}"));
    cJSON_AddItemToArray(two, fault("{\"operation\":\"*\",\"latencyMs\":1}"));
    assert_int_equal(fault_add_all(two), SM_EINVAL);
    assert_int_equal(cJSON_GetArraySize(two), 2); /* still the caller's */
    assert_int_equal(fault_count(), FAULT_MAX - 1);
    cJSON_Delete(two);
    add("{\"operation\":\"*\",\"latencyMs\":1}", 1);
    assert_int_equal(fault_count(), FAULT_MAX);
    fault_clear();
    assert_int_equal(fault_count(), 0);
    cJSON *list = fault_to_json();
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
}

static void a_latency_past_the_cap_is_refused(void **state)
{
    (void)state;
    cJSON *in = cJSON_Parse("{\"operation\":\"*\",\"latencyMs\":60001}"), *out = NULL;
    char why[400];
    assert_int_equal(fault_parse(in, &out, why, sizeof why), SM_EINVAL);
    assert_non_null(strstr(why, "0 to 60000"));
    assert_null(out);
    cJSON_Delete(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latencies_add_up_to_one_cap_without_sleeping),
        cmocka_unit_test(latency_and_error_come_together),
        cmocka_unit_test(the_table_is_capped_all_or_nothing),
        cmocka_unit_test(a_latency_past_the_cap_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
