/*
 * test_journal.c: the request journal ring (server/journal.c): bounds, newest first, filters,
 * body cut, clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

static void record(int i, const char *op, const char *job, int status)
{
    char body[64], rid[40];
    snprintf(body, sizeof body, "{\"n\":%d}", i);
    snprintf(rid, sizeof rid, "req-%d", i);
    journal_entry e = {.wall_ms = 1000 * i,
                       .sim_ms = 2000 * i,
                       .operation = op,
                       .job = job,
                       .region = "us-east-1",
                       .status = status,
                       .error_code = status >= 400 ? "ValidationException" : NULL,
                       .latency_ms = 0.5,
                       .request_id = rid,
                       .body = body,
                       .body_len = strlen(body)};
    journal_record(&e);
}

static cJSON *query(const char *op, const char *job, int status, int64_t since, int limit)
{
    journal_query q = {
        .operation = op, .job = job, .status = status, .since_wall_ms = since, .limit = limit};
    return journal_query_json(&q);
}

static int count(cJSON *o)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "requests"));
}

static int seq_at(cJSON *o, int i)
{
    cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "requests"), i);
    return (int)cJSON_GetObjectItemCaseSensitive(e, "seq")->valuedouble;
}

static void ring_keeps_only_the_newest_entries(void **state)
{
    (void)state;
    journal_init(5);
    for (int i = 1; i <= 12; i++)
        record(i, "DescribeTrainingJob", "j", 200);
    cJSON *o = query(NULL, NULL, 0, -1, 100);
    assert_int_equal(count(o), 5);
    assert_int_equal(seq_at(o, 0), 12); /* newest first */
    assert_int_equal(seq_at(o, 4), 8);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(o, "total")->valuedouble, 12);
    cJSON_Delete(o);
    journal_free();
}

static void filters_by_operation_job_status_and_time(void **state)
{
    (void)state;
    journal_init(100);
    record(1, "CreateTrainingJob", "a", 200);
    record(2, "StopTrainingJob", "a", 200);
    record(3, "StopTrainingJob", "b", 400);
    record(4, "DescribeTrainingJob", "a", 200);
    record(5, "StopTrainingJob", "a", 500);
    cJSON *o = query("StopTrainingJob", "a", 0, -1, 100);
    assert_int_equal(count(o), 2);
    cJSON_Delete(o);
    o = query(NULL, NULL, 4, -1, 100);
    assert_int_equal(count(o), 1);
    assert_int_equal(seq_at(o, 0), 3);
    cJSON_Delete(o);
    o = query(NULL, NULL, 500, -1, 100);
    assert_int_equal(count(o), 1);
    cJSON_Delete(o);
    o = query(NULL, NULL, 0, 4000, 100); /* wall time >= 4 s */
    assert_int_equal(count(o), 2);
    cJSON_Delete(o);
    o = query(NULL, NULL, 0, -1, 2);
    assert_int_equal(count(o), 2);
    assert_int_equal(seq_at(o, 0), 5);
    cJSON_Delete(o);
    journal_free();
}

static void body_is_cut_at_the_bound(void **state)
{
    (void)state;
    journal_init(2);
    static char big[JOURNAL_BODY_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    journal_entry e = {
        .operation = "CreateTrainingJob", .status = 200, .body = big, .body_len = sizeof big - 1};
    journal_record(&e);
    cJSON *o = query(NULL, NULL, 0, -1, 10);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "requests"), 0);
    assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(first, "body")->valuestring),
                     JOURNAL_BODY_MAX);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "bodyTruncated")));
    cJSON_Delete(o);
    journal_free();
}

/* What a client sent that is not UTF-8 (a body, a target, a job name) is journaled with
 * U+FFFD in place of each bad byte, so the journal is always JSON of valid UTF-8. */
static void bytes_that_are_not_utf8_are_replaced(void **state)
{
    (void)state;
    journal_init(4);
    static const char body[] = "{\"TrainingJobName\":\"a\xff"
                               "b\"}";
    journal_entry e = {.operation = "Sage\xff"
                                    "Maker.X",
                       .job = "j\xc3",
                       .region = "us-east-1",
                       .status = 400,
                       .request_id = "r",
                       .body = body,
                       .body_len = sizeof body - 1};
    journal_record(&e);
    cJSON *o = query(NULL, NULL, 0, -1, 10);
    char *text = cJSON_PrintUnformatted(o);
    assert_non_null(strstr(text, "\"body\":\"{\\\"TrainingJobName\\\":\\\"a\xef\xbf\xbd"));
    assert_non_null(strstr(text, "\"bodyNotUtf8\":true"));
    assert_non_null(strstr(text, "\"operation\":\"Sage\xef\xbf\xbd"
                                 "Maker.X\""));
    assert_non_null(strstr(text, "\"trainingJobName\":\"j\xef\xbf\xbd\""));
    free(text);
    cJSON_Delete(o);
    journal_init(0);
}

static void clear_empties_it_and_zero_capacity_disables_it(void **state)
{
    (void)state;
    journal_init(3);
    record(1, "ListTrainingJobs", NULL, 200);
    journal_clear();
    cJSON *o = query(NULL, NULL, 0, -1, 10);
    assert_int_equal(count(o), 0);
    cJSON_Delete(o);
    journal_init(0);
    record(2, "ListTrainingJobs", NULL, 200);
    o = query(NULL, NULL, 0, -1, 10);
    assert_int_equal(count(o), 0);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_keeps_only_the_newest_entries),
        cmocka_unit_test(filters_by_operation_job_status_and_time),
        cmocka_unit_test(body_is_cut_at_the_bound),
        cmocka_unit_test(clear_empties_it_and_zero_capacity_disables_it),
        cmocka_unit_test(bytes_that_are_not_utf8_are_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
