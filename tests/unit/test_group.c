/*
 * test_group.c: the group commit's transaction (gate_write_group, server/core/gate.c; the
 * savepoints of store/batch.c) on a real store: a refused member undoes its own writes alone
 * and the others stand; a group whose COMMIT fails answers every member an error, success
 * included, and keeps none of their writes; a member that answers nothing gets InternalFailure;
 * the store is usable again after a failed group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "conn.h"
#include "errors.h"
#include "gate.h"
#include "reply.h"
#include "service.h"
#include "store.h"

/* Write steps: each writes the meta key named by its request's target, then answers. */
static int put(sm_req *r)
{
    return store_meta_put(r->target, "written");
}

static int write_ok(sm_req *r)
{
    if (put(r) != SM_OK) return reply_internal(r);
    return reply_json(r, cJSON_CreateObject());
}

static int write_refused(sm_req *r)
{
    put(r);
    return reply_error(r, "ResourceInUse", "taken");
}

static int write_silent(sm_req *r)
{
    put(r);
    return SM_OK;
}

/* Leaves a tag of a job that does not exist, with foreign keys checked at COMMIT: the COMMIT
 * then fails (FOREIGN KEY constraint failed), as any COMMIT of the store may (disk full). */
static int write_breaks_commit(sm_req *r)
{
    put(r);
    sqlite3_exec(store_db(), "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL);
    if (store_tag_put(987654321, "k", "v") != SM_OK) return reply_internal(r);
    return reply_json(r, cJSON_CreateObject());
}

static void member(sm_req *r, const char *key, int (*write)(sm_req *))
{
    memset(r, 0, sizeof *r);
    r->protocol = PROTO_JSON_1_1;
    snprintf(r->target, sizeof r->target, "%s", key);
    r->operation = r->target;
    snprintf(r->request_id, sizeof r->request_id, "req-%s", key);
    r->write = write;
}

static int written(const char *key)
{
    char v[32];
    return store_meta_get(key, v, sizeof v) == SM_OK;
}

static void run(sm_req *m, int n)
{
    sm_req *rs[8];
    for (int i = 0; i < n; i++)
        rs[i] = &m[i];
    gate_write_group(rs, n);
}

static void done(sm_req *m, int n)
{
    for (int i = 0; i < n; i++)
        req_free(&m[i]);
}

static void refused_member_undoes_its_own_writes_alone(void **state)
{
    (void)state;
    sm_req m[3];
    member(&m[0], "g1-a", write_ok);
    member(&m[1], "g1-b", write_refused);
    member(&m[2], "g1-c", write_ok);
    run(m, 3);
    assert_int_equal(m[0].status, 200);
    assert_null(m[0].error_code);
    assert_int_equal(m[1].status, 400);
    assert_string_equal(m[1].error_code, "ResourceInUse");
    assert_int_equal(m[2].status, 200);
    assert_true(written("g1-a"));
    assert_false(written("g1-b"));
    assert_true(written("g1-c"));
    done(m, 3);
}

static void failed_commit_answers_every_member_an_error(void **state)
{
    (void)state;
    sm_req m[4];
    member(&m[0], "g2-a", write_ok);
    member(&m[1], "g2-b", write_refused);
    member(&m[2], "g2-c", write_breaks_commit);
    member(&m[3], "g2-d", write_ok);
    run(m, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(m[i].status, 500);
        assert_string_equal(m[i].error_code, "InternalFailure");
        assert_non_null(strstr(m[i].reply_body, "InternalFailure"));
    }
    assert_false(written("g2-a"));
    assert_false(written("g2-c"));
    assert_false(written("g2-d"));
    assert_true(sqlite3_get_autocommit(store_db())); /* no transaction left open */
    done(m, 4);

    /* The next group commits as usual. */
    member(&m[0], "g3-a", write_ok);
    run(m, 1);
    assert_int_equal(m[0].status, 200);
    assert_true(written("g3-a"));
    done(m, 1);
}

static void member_without_answer_gets_internal_failure(void **state)
{
    (void)state;
    sm_req m[2];
    member(&m[0], "g4-a", write_silent);
    member(&m[1], "g4-b", write_ok);
    run(m, 2);
    assert_int_equal(m[0].status, 500);
    assert_string_equal(m[0].error_code, "InternalFailure");
    assert_false(written("g4-a"));
    assert_int_equal(m[1].status, 200);
    assert_true(written("g4-b"));
    done(m, 2);
}

static void one_member_group_is_a_plain_write(void **state)
{
    (void)state;
    sm_req m[1];
    member(&m[0], "g5-a", write_refused);
    run(m, 1);
    assert_string_equal(m[0].error_code, "ResourceInUse");
    assert_false(written("g5-a"));
    done(m, 1);
    member(&m[0], "g5-b", write_ok);
    gate_write(&m[0]); /* the write at once, as when the committer does not run */
    assert_int_equal(m[0].status, 200);
    assert_true(written("g5-b"));
    done(m, 1);
}

static int setup(void **state)
{
    (void)state;
    return store_open(":memory:") == SM_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_batch_done();
    store_close();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_member_undoes_its_own_writes_alone),
        cmocka_unit_test(failed_commit_answers_every_member_an_error),
        cmocka_unit_test(member_without_answer_gets_internal_failure),
        cmocka_unit_test(one_member_group_is_a_plain_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
