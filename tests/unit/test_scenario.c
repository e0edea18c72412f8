/*
 * test_scenario.c: unit tests of the scenario JSON codec (server/scenario.c).
 *
 * JSON in these tests is written with single quotes for legibility; json() turns them into
 * double quotes before parsing (no test text needs a real single quote).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "lifecycle.h"
#include "scenario.h"

#define NX(a) ((int)(sizeof(a) / sizeof((a)[0])))

static lc_scenario g_a, g_b;
static lc_plan g_plan;
static char g_text[16384];

/* Single-quoted JSON -> parsed cJSON (NULL if it does not parse). */
static cJSON *json(const char *sq)
{
    size_t n = strlen(sq);
    assert_true(n < sizeof g_text);
    for (size_t i = 0; i <= n; i++)
        g_text[i] = sq[i] == '\'' ? '"' : sq[i];
    return cJSON_Parse(g_text);
}

/* Render `sc` as unformatted text with single quotes, into g_text. */
static const char *render(const lc_scenario *sc)
{
    cJSON *o = NULL;
    assert_int_equal(scn_to_json(sc, &o), SM_OK);
    char *p = cJSON_PrintUnformatted(o);
    assert_non_null(p);
    assert_true(strlen(p) < sizeof g_text);
    for (size_t i = 0; (g_text[i] = p[i] == '"' ? '\'' : p[i]) != '\0'; i++)
        ;
    cJSON_free(p);
    cJSON_Delete(o);
    return g_text;
}

static int parse(const char *sq, lc_scenario *out, char *err, size_t errlen)
{
    cJSON *j = json(sq);
    assert_non_null(j);
    int rc = scn_from_json(j, out, err, errlen);
    cJSON_Delete(j);
    return rc;
}

/* Field by field, every slot and every byte of every string (canonical form: unused slots and
 * string tails are zero on both sides). */
static void expect_same_scenario(const lc_scenario *a, const lc_scenario *b)
{
    assert_memory_equal(a->name, b->name, sizeof a->name);
    assert_int_equal(a->nsteps, b->nsteps);
    for (int i = 0; i < LC_MAX_STEPS; i++) {
        const lc_step *x = &a->steps[i], *y = &b->steps[i];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->duration_ms, y->duration_ms);
        assert_int_equal(x->nmsg, y->nmsg);
        for (int k = 0; k < LC_MAX_MESSAGES; k++) {
            assert_int_equal(x->msg[k].at_ms, y->msg[k].at_ms);
            assert_memory_equal(x->msg[k].text, y->msg[k].text, sizeof x->msg[k].text);
        }
    }
    assert_int_equal(a->stop_delay_ms, b->stop_delay_ms);
    assert_int_equal(a->fail_step, b->fail_step);
    assert_int_equal(a->fail_after_ms, b->fail_after_ms);
    assert_memory_equal(a->failure_reason, b->failure_reason, sizeof a->failure_reason);
    assert_int_equal(a->retryable, b->retryable);
    assert_int_equal(a->failing_attempts, b->failing_attempts);
    assert_int_equal(a->restart_delay_ms, b->restart_delay_ms);
    assert_int_equal(a->interruptions, b->interruptions);
    assert_int_equal(a->interrupt_step, b->interrupt_step);
    assert_int_equal(a->interrupt_after_ms, b->interrupt_after_ms);
    assert_int_equal(a->interrupted_ms, b->interrupted_ms);
    assert_int_equal(a->spot_savings_pct, b->spot_savings_pct);
}

/* ---- the format ----------------------------------------------------------------------- */

static const char SUCCESS_JSON[] =
    "{'name':'success','steps':["
    "{'status':'Starting','durationSeconds':3,'messages':["
    "{'atSeconds':0,'text':'Starting the training job'},"
    "{'atSeconds':1,'text':'Launching requested ML instances'},"
    "{'atSeconds':2,'text':'Preparing the instances for training'}]},"
    "{'status':'Downloading','durationSeconds':2,'messages':["
    "{'atSeconds':0,'text':'Downloading the training image'}]},"
    "{'status':'Training','durationSeconds':3,'messages':["
    "{'atSeconds':0,'text':'Training image download completed. Training in progress.'}]},"
    "{'status':'Uploading','durationSeconds':2,'messages':["
    "{'atSeconds':0,'text':'Uploading generated training model'}]}],"
    "'stopDelaySeconds':2}";

static void test_default_scenario_renders_as_the_documented_json(void **state)
{
    (void)state;
    assert_string_equal(render(lc_scenario_success()), SUCCESS_JSON);
    char err[256];
    assert_int_equal(parse(SUCCESS_JSON, &g_a, err, sizeof err), SM_OK);
    expect_same_scenario(&g_a, lc_scenario_success());
}

/* Canonical texts: parse then render gives the same text back, byte for byte. */
static const char *const canonical[] = {
    SUCCESS_JSON,
    "{'name':'flaky-1.x_y','steps':["
    "{'status':'Pending','durationSeconds':0.001,'messages':[{'atSeconds':0,'text':'Waiting'}]},"
    "{'status':'Starting','durationSeconds':1234.567,'messages':["
    "{'atSeconds':0,'text':'a'},{'atSeconds':0.001,'text':'b'},{'atSeconds':1.5,'text':'c'},"
    "{'atSeconds':1234.566,'text':'d'}]},"
    "{'status':'Training','durationSeconds':1000000000,'messages':[{'atSeconds':0,'text':'t'}]}],"
    "'stopDelaySeconds':0,"
    "'failure':{'stepIndex':2,'afterSeconds':0.25,'reason':'InternalServerError: We "
    "encountered an internal error. Please try again.','retryable':true,'failingAttempts':3,"
    "'restartDelaySeconds':0},"
    "'spot':{'savingsPercent':60,'interruptions':-1,'interruptStepIndex':1,"
    "'interruptAfterSeconds':2,'interruptedSeconds':4.5}}",
    "{'name':'s','steps':[{'status':'Updating','durationSeconds':1,'messages':["
    "{'atSeconds':0,'text':'u'}]}],'stopDelaySeconds':2,'spot':{'savingsPercent':0}}",
    "{'name':'f','steps':[{'status':'Starting','durationSeconds':1,'messages':["
    "{'atSeconds':0,'text':'s'}]}],'stopDelaySeconds':120,'failure':{'stepIndex':0,"
    "'afterSeconds':0,'reason':'CapacityError: Unable to provision requested ML compute "
    "capacity. Please retry using a different ML instance type.','retryable':false,"
    "'failingAttempts':-1,'restartDelaySeconds':2}}",
};

static void test_canonical_json_round_trips_exactly_both_ways(void **state)
{
    (void)state;
    char err[256];
    for (int i = 0; i < NX(canonical); i++) {
        if (parse(canonical[i], &g_a, err, sizeof err) != SM_OK)
            fail_msg("canonical[%d]: %s", i, err);
        assert_string_equal(render(&g_a), canonical[i]);
        assert_int_equal(parse(g_text, &g_b, err, sizeof err), SM_OK);
        expect_same_scenario(&g_a, &g_b);
    }
}

static void test_fractional_seconds_become_exact_milliseconds(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse(canonical[1], &g_a, err, sizeof err), SM_OK);
    assert_int_equal(g_a.steps[0].duration_ms, 1);
    assert_int_equal(g_a.steps[1].duration_ms, 1234567);
    assert_int_equal(g_a.steps[1].msg[1].at_ms, 1);
    assert_int_equal(g_a.steps[1].msg[2].at_ms, 1500);
    assert_int_equal(g_a.steps[2].duration_ms, LC_MAX_DURATION_MS);
    assert_int_equal(g_a.fail_after_ms, 250);
    assert_int_equal(g_a.interrupted_ms, 4500);
    assert_int_equal(g_a.interruptions, -1);
    assert_int_equal(g_a.steps[0].status, LC_S_PENDING);
    /* finer than a millisecond: rounded to the nearest one */
    assert_int_equal(parse("{'name':'r','steps':[{'status':'Training','durationSeconds':1.0004,"
                           "'messages':[{'atSeconds':0,'text':'x'}]}]}",
                           &g_a, err, sizeof err),
                     SM_OK);
    assert_int_equal(g_a.steps[0].duration_ms, 1000);
    assert_int_equal(parse("{'name':'r','steps':[{'status':'Training','durationSeconds':1.0006,"
                           "'messages':[{'atSeconds':0,'text':'x'}]}]}",
                           &g_a, err, sizeof err),
                     SM_OK);
    assert_int_equal(g_a.steps[0].duration_ms, 1001);
    /* 1.005 * 1000 is 1004.999... in binary floating point: still 1005 ms */
    assert_int_equal(parse("{'name':'r','steps':[{'status':'Training','durationSeconds':1.005,"
                           "'messages':[{'atSeconds':0,'text':'x'}]}]}",
                           &g_a, err, sizeof err),
                     SM_OK);
    assert_int_equal(g_a.steps[0].duration_ms, 1005);
}

/* Every millisecond count survives ms -> seconds text -> ms, not only the round ones. */
static void test_every_millisecond_value_survives_the_round_trip(void **state)
{
    (void)state;
    char err[256];
    g_b = *lc_scenario_success();
    g_b.nsteps = 1;
    g_b.steps[0].nmsg = 1;
    for (int64_t ms = 1; ms <= 40000; ms += 1) {
        g_b.steps[0].duration_ms = ms * 997; /* up to ~11 hours, every residue mod 1000 */
        if (parse(render(&g_b), &g_a, err, sizeof err) != SM_OK ||
            g_a.steps[0].duration_ms != g_b.steps[0].duration_ms)
            fail_msg("%lld ms came back as %lld", (long long)g_b.steps[0].duration_ms,
                     (long long)g_a.steps[0].duration_ms);
    }
}

static void test_structs_round_trip_exactly_through_json(void **state)
{
    (void)state;
    static lc_scenario rows[5];
    rows[0] = *lc_scenario_success();
    rows[1] = *lc_scenario_success(); /* failure with every field */
    rows[1].fail_step = 3;
    rows[1].fail_after_ms = 1999;
    snprintf(rows[1].failure_reason, sizeof rows[1].failure_reason, "AlgorithmError: Exit Code: 1");
    rows[1].retryable = 1;
    rows[1].failing_attempts = 7;
    rows[1].restart_delay_ms = 12345;
    rows[2] = *lc_scenario_success(); /* savings only */
    rows[2].spot_savings_pct = 0;
    rows[3] = *lc_scenario_success(); /* interruptions */
    rows[3].interruptions = 2;
    rows[3].interrupt_step = 0;
    rows[3].interrupt_after_ms = 1;
    rows[3].interrupted_ms = 987654321;
    rows[4] = *lc_scenario_success(); /* odd milliseconds everywhere */
    rows[4].steps[0].duration_ms = 2999;
    rows[4].steps[0].msg[1].at_ms = 7;
    rows[4].steps[0].msg[2].at_ms = 2998;
    rows[4].stop_delay_ms = 1;
    char err[256];
    for (int i = 0; i < NX(rows); i++) {
        if (parse(render(&rows[i]), &g_a, err, sizeof err) != SM_OK)
            fail_msg("rows[%d]: %s", i, err);
        expect_same_scenario(&g_a, &rows[i]);
        assert_int_equal(lc_plan_build(&g_a, &(lc_params){.max_runtime_s = 86400}, &g_plan), SM_OK);
    }
}

static void test_omitted_optional_fields_take_their_documented_defaults(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse("{'name':'m','steps':[{'status':'Training','durationSeconds':5,"
                           "'messages':[{'atSeconds':0,'text':'x'}]}]}",
                           &g_a, err, sizeof err),
                     SM_OK);
    assert_int_equal(g_a.stop_delay_ms, SCN_DEFAULT_STOP_DELAY_MS);
    assert_int_equal(g_a.fail_step, -1);
    assert_int_equal(g_a.failing_attempts, -1);
    assert_int_equal(g_a.interruptions, 0);
    assert_int_equal(g_a.spot_savings_pct, SCN_DEFAULT_SAVINGS_PCT);
    assert_int_equal(parse("{'name':'m','steps':[{'status':'Training','durationSeconds':5,"
                           "'messages':[{'atSeconds':0,'text':'x'}]}],"
                           "'failure':{'stepIndex':0,'afterSeconds':1,'reason':'r'},"
                           "'spot':{'interruptions':1,'interruptStepIndex':0,"
                           "'interruptAfterSeconds':2,'interruptedSeconds':3}}",
                           &g_a, err, sizeof err),
                     SM_OK);
    assert_int_equal(g_a.fail_step, 0);
    assert_int_equal(g_a.retryable, 0);
    assert_int_equal(g_a.failing_attempts, -1);
    assert_int_equal(g_a.restart_delay_ms, SCN_DEFAULT_RESTART_DELAY_MS);
    assert_int_equal(g_a.spot_savings_pct, SCN_DEFAULT_SAVINGS_PCT);
    assert_int_equal(g_a.interruptions, 1);
}

/* ---- refusals ------------------------------------------------------------------------- */

/* Two steps: Starting 3 s (messages at 0 and 1 s), Training 2 s. */
#define ST0                                                                                        \
    "{'status':'Starting','durationSeconds':3,'messages':[{'atSeconds':0,'text':'a'},"             \
    "{'atSeconds':1,'text':'b'}]}"
#define ST1 "{'status':'Training','durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"
#define STEPS "[" ST0 "," ST1 "]"
#define WITH(rest) "{'name':'t','steps':" STEPS "," rest "}"
#define STEP1(step) "{'name':'t','steps':[" ST0 "," step "]}"
#define MSGS(m) STEP1("{'status':'Training','durationSeconds':2,'messages':" m "}")
#define FAIL(f) WITH("'failure':{" f "}")
#define SPOT(s) WITH("'spot':{" s "}")

#define E_NAME "must be a string of 1 to 63 characters from [A-Za-z0-9._-]"
#define E_SECS "must be a number of seconds from 0.001 to 1000000000"
#define E_SECS0 "must be a number of seconds from 0 to 1000000000"
#define E_STATUS                                                                                   \
    "must be a step status: Pending, Starting, Downloading, Training, Uploading, Updating, "       \
    "LaunchingMLInstances, PreparingTrainingStack or DownloadingTrainingImage (Interrupted, "      \
    "Restarting, Stopping and the final statuses are entered by the engine)"
#define E_FAILING "must be -1 (every attempt fails) or an integer from 1 to 1000000"

static const struct {
    const char *json;
    const char *err;
} bad[] = {
    /* the object */
    {"[]", "scenario: must be a JSON object"},
    {"'success'", "scenario: must be a JSON object"},
    {"{'steps':" STEPS "}", "name: is required"},
    {"{'name':'t'}", "steps: is required"},
    {WITH("'extra':1"), "extra: unknown field"},
    {WITH("'Name':'t'"), "Name: unknown field"},
    {"{'name':'t','name':'u','steps':" STEPS "}", "name: duplicate field"},
    /* name */
    {"{'name':'','steps':" STEPS "}", "name: " E_NAME},
    {"{'name':'a b','steps':" STEPS "}", "name: " E_NAME},
    {"{'name':'a/b','steps':" STEPS "}", "name: " E_NAME},
    {"{'name':5,'steps':" STEPS "}", "name: " E_NAME},
    /* steps */
    {"{'name':'t','steps':{}}", "steps: must be an array of 1 to 16 steps"},
    {"{'name':'t','steps':[]}", "steps: must be an array of 1 to 16 steps"},
    {STEP1("1"), "steps[1]: must be an object {\"status\", \"durationSeconds\", \"messages\"}"},
    {STEP1("{'durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].status: is required"},
    {STEP1("{'status':'Training','messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: is required"},
    {STEP1("{'status':'Training','durationSeconds':2}"), "steps[1].messages: is required"},
    {STEP1("{'status':'Training','durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}],"
           "'foo':null}"),
     "steps[1].foo: unknown field"},
    {STEP1("{'status':'Interrupted','durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].status: " E_STATUS},
    {STEP1("{'status':'Completed','durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].status: " E_STATUS},
    {STEP1("{'status':'training','durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].status: " E_STATUS},
    {STEP1("{'status':3,'durationSeconds':2,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].status: " E_STATUS},
    {STEP1("{'status':'Training','durationSeconds':0,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: " E_SECS},
    {STEP1("{'status':'Training','durationSeconds':-1,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: " E_SECS},
    {STEP1("{'status':'Training','durationSeconds':'2','messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: " E_SECS},
    {STEP1("{'status':'Training','durationSeconds':1e10,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: " E_SECS},
    {STEP1("{'status':'Training','durationSeconds':1e999,'messages':[{'atSeconds':0,'text':'c'}]}"),
     "steps[1].durationSeconds: " E_SECS},
    {STEP1("{'status':'Training','durationSeconds':0.0004,'messages':[{'atSeconds':0,'text':'c'}]"
           "}"),
     "steps[1].durationSeconds: " E_SECS},
    /* messages */
    {MSGS("[]"), "steps[1].messages: must be an array of 1 to 4 messages"},
    {MSGS("{'atSeconds':0,'text':'c'}"), "steps[1].messages: must be an array of 1 to 4 messages"},
    {MSGS("[{'atSeconds':0,'text':'a'},{'atSeconds':0.1,'text':'b'},{'atSeconds':0.2,'text':'c'},"
          "{'atSeconds':0.3,'text':'d'},{'atSeconds':0.4,'text':'e'}]"),
     "steps[1].messages: must be an array of 1 to 4 messages"},
    {MSGS("['c']"), "steps[1].messages[0]: must be an object {\"atSeconds\": ..., \"text\": ...}"},
    {MSGS("[{'at':0,'text':'c'}]"), "steps[1].messages[0].at: unknown field"},
    {MSGS("[{'text':'c'}]"), "steps[1].messages[0].atSeconds: is required"},
    {MSGS("[{'atSeconds':0}]"), "steps[1].messages[0].text: is required"},
    {MSGS("[{'atSeconds':0.5,'text':'c'}]"),
     "steps[1].messages[0].atSeconds: must be 0: the first message shows when the step begins"},
    {MSGS("[{'atSeconds':0,'text':'c'},{'atSeconds':0,'text':'d'}]"),
     "steps[1].messages[1].atSeconds: must be greater than the previous message's atSeconds"},
    {MSGS("[{'atSeconds':0,'text':'c'},{'atSeconds':2,'text':'d'}]"),
     "steps[1].messages[1].atSeconds: must be less than the step's durationSeconds"},
    {MSGS("[{'atSeconds':0,'text':'c'},{'atSeconds':-1,'text':'d'}]"),
     "steps[1].messages[1].atSeconds: " E_SECS0},
    {MSGS("[{'atSeconds':0,'text':''}]"),
     "steps[1].messages[0].text: must be a string of 1 to 255 bytes"},
    {MSGS("[{'atSeconds':0,'text':false}]"),
     "steps[1].messages[0].text: must be a string of 1 to 255 bytes"},
    /* stopDelaySeconds */
    {WITH("'stopDelaySeconds':-1"), "stopDelaySeconds: " E_SECS0},
    {WITH("'stopDelaySeconds':true"), "stopDelaySeconds: " E_SECS0},
    /* failure */
    {WITH("'failure':[]"), "failure: must be an object"},
    {FAIL("'stepIndex':0,'afterSeconds':1"), "failure.reason: is required"},
    {FAIL("'afterSeconds':1,'reason':'r'"), "failure.stepIndex: is required"},
    {FAIL("'stepIndex':0,'reason':'r'"), "failure.afterSeconds: is required"},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','when':1"), "failure.when: unknown field"},
    {FAIL("'stepIndex':2,'afterSeconds':1,'reason':'r'"),
     "failure.stepIndex: must be an index into steps (an integer from 0 to 1)"},
    {FAIL("'stepIndex':0.5,'afterSeconds':1,'reason':'r'"),
     "failure.stepIndex: must be an index into steps (an integer from 0 to 1)"},
    {FAIL("'stepIndex':'0','afterSeconds':1,'reason':'r'"),
     "failure.stepIndex: must be an index into steps (an integer from 0 to 1)"},
    {FAIL("'stepIndex':0,'afterSeconds':3,'reason':'r'"),
     "failure.afterSeconds: must be less than steps[0].durationSeconds"},
    {FAIL("'stepIndex':0,'afterSeconds':-0.5,'reason':'r'"), "failure.afterSeconds: " E_SECS0},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':''"),
     "failure.reason: must be a string of 1 to 1023 bytes"},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','retryable':1"),
     "failure.retryable: must be true or false"},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','failingAttempts':0"),
     "failure.failingAttempts: " E_FAILING},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','failingAttempts':-2"),
     "failure.failingAttempts: " E_FAILING},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','failingAttempts':1.5"),
     "failure.failingAttempts: " E_FAILING},
    {FAIL("'stepIndex':0,'afterSeconds':1,'reason':'r','restartDelaySeconds':-1"),
     "failure.restartDelaySeconds: " E_SECS0},
    /* spot */
    {WITH("'spot':1"), "spot: must be an object"},
    {SPOT("'savingsPercent':101"), "spot.savingsPercent: must be an integer from 0 to 100"},
    {SPOT("'savingsPercent':50.5"), "spot.savingsPercent: must be an integer from 0 to 100"},
    {SPOT("'savingsPercent':-1"), "spot.savingsPercent: must be an integer from 0 to 100"},
    {SPOT("'savingsPercent':50,'savingsPercent':50"), "spot.savingsPercent: duplicate field"},
    {SPOT("'saving':50"), "spot.saving: unknown field"},
    {SPOT("'interruptions':-2"),
     "spot.interruptions: must be -1 (until MaxWaitTimeInSeconds) or an integer from 0 to "
     "1000000"},
    {SPOT("'interruptions':1"), "spot.interruptStepIndex: is required when interruptions is not 0"},
    {SPOT("'interruptions':1,'interruptStepIndex':0,'interruptAfterSeconds':1"),
     "spot.interruptedSeconds: is required when interruptions is not 0"},
    {SPOT("'interruptStepIndex':0"),
     "spot.interruptStepIndex: is allowed only when interruptions is not 0"},
    {SPOT("'interruptions':0,'interruptedSeconds':1"),
     "spot.interruptedSeconds: is allowed only when interruptions is not 0"},
    {SPOT("'interruptions':1,'interruptStepIndex':-1,'interruptAfterSeconds':1,"
          "'interruptedSeconds':1"),
     "spot.interruptStepIndex: must be an index into steps (an integer from 0 to 1)"},
    {SPOT("'interruptions':1,'interruptStepIndex':1,'interruptAfterSeconds':2,"
          "'interruptedSeconds':1"),
     "spot.interruptAfterSeconds: must be less than steps[1].durationSeconds"},
    {SPOT("'interruptions':1,'interruptStepIndex':1,'interruptAfterSeconds':1,"
          "'interruptedSeconds':-1"),
     "spot.interruptedSeconds: " E_SECS0},
};

static void test_every_kind_of_bad_input_is_refused_with_its_path(void **state)
{
    (void)state;
    char err[512];
    for (int i = 0; i < NX(bad); i++) {
        cJSON *j = json(bad[i].json);
        if (!j) fail_msg("bad[%d] is not JSON: %s", i, g_text);
        int rc = scn_from_json(j, &g_a, err, sizeof err);
        cJSON_Delete(j);
        if (rc != SM_EINVAL || strcmp(err, bad[i].err) != 0)
            fail_msg("bad[%d]: rc %d, \"%s\"\n  want \"%s\"", i, rc, err, bad[i].err);
    }
}

/* Values too long or too many to write inline. */
static void test_oversized_names_texts_and_arrays_are_refused(void **state)
{
    (void)state;
    static char buf[8192];
    char err[256];
    char long_name[65], long_text[257], long_reason[1025];
    memset(long_name, 'n', 64), long_name[64] = '\0';
    memset(long_text, 't', 256), long_text[256] = '\0';
    memset(long_reason, 'r', 1024), long_reason[1024] = '\0';

    snprintf(buf, sizeof buf, "{'name':'%s','steps':" STEPS "}", long_name);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_EINVAL);
    assert_string_equal(err, "name: " E_NAME);
    long_name[63] = '\0'; /* 63 is fine */
    snprintf(buf, sizeof buf, "{'name':'%s','steps':" STEPS "}", long_name);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_OK);

    snprintf(buf, sizeof buf, MSGS("[{'atSeconds':0,'text':'%s'}]"), long_text);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_EINVAL);
    assert_string_equal(err, "steps[1].messages[0].text: must be a string of 1 to 255 bytes");
    long_text[255] = '\0';
    snprintf(buf, sizeof buf, MSGS("[{'atSeconds':0,'text':'%s'}]"), long_text);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_OK);

    snprintf(buf, sizeof buf, FAIL("'stepIndex':0,'afterSeconds':1,'reason':'%s'"), long_reason);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_EINVAL);
    assert_string_equal(err, "failure.reason: must be a string of 1 to 1023 bytes");
    long_reason[1023] = '\0';
    snprintf(buf, sizeof buf, FAIL("'stepIndex':0,'afterSeconds':1,'reason':'%s'"), long_reason);
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_OK);

    /* 16 steps are fine, 17 are not */
    int n = snprintf(buf, sizeof buf, "{'name':'t','steps':[" ST1);
    for (int i = 1; i < LC_MAX_STEPS; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "," ST1);
    snprintf(buf + n, sizeof buf - (size_t)n, "]}");
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_OK);
    assert_int_equal(g_a.nsteps, LC_MAX_STEPS);
    snprintf(buf + n, sizeof buf - (size_t)n, "," ST1 "]}");
    assert_int_equal(parse(buf, &g_a, err, sizeof err), SM_EINVAL);
    assert_string_equal(err, "steps: must be an array of 1 to 16 steps");
}

static void test_error_text_is_truncated_safely_to_the_buffer(void **state)
{
    (void)state;
    char small[12];
    memset(small, 'x', sizeof small);
    assert_int_equal(parse(SPOT("'savingsPercent':101"), &g_a, small, sizeof small), SM_EINVAL);
    assert_string_equal(small, "spot.saving"); /* 11 bytes and the NUL */
    char one[1] = {'x'};
    assert_int_equal(parse("[]", &g_a, one, sizeof one), SM_EINVAL);
    assert_int_equal(one[0], '\0');
    assert_int_equal(parse("[]", &g_a, NULL, 0), SM_EINVAL);
    assert_int_equal(scn_from_json(NULL, &g_a, NULL, 0), SM_EINVAL);
    char err[64];
    assert_int_equal(parse(SUCCESS_JSON, &g_a, err, sizeof err), SM_OK);
    assert_string_equal(err, ""); /* cleared on success */
}

/* Every rule the codec checks matches one the planner checks: what parses, plans. */
static void test_every_parsed_scenario_can_be_planned(void **state)
{
    (void)state;
    char err[256];
    lc_params p = {.created_ms = 0, .max_runtime_s = 86400, .max_wait_s = 86400, .spot = 1};
    for (int i = 0; i < NX(canonical); i++) {
        assert_int_equal(parse(canonical[i], &g_a, err, sizeof err), SM_OK);
        assert_int_equal(lc_plan_build(&g_a, &p, &g_plan), SM_OK);
    }
}

static void test_unrenderable_structs_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int field;
    } rows[] = {{"no steps", 0},           {"17 steps", 1},
                {"unknown status", 2},     {"no message", 3},
                {"5 messages", 4},         {"unterminated name", 5},
                {"unterminated text", 6},  {"fail step out of range", 7},
                {"unterminated reason", 8}};
    for (int i = 0; i < NX(rows); i++) {
        g_a = *lc_scenario_success();
        switch (rows[i].field) {
        case 0:
            g_a.nsteps = 0;
            break;
        case 1:
            g_a.nsteps = LC_MAX_STEPS + 1;
            break;
        case 2:
            g_a.steps[2].status = (lc_secondary)LC_SECONDARY_COUNT;
            break;
        case 3:
            g_a.steps[2].nmsg = 0;
            break;
        case 4:
            g_a.steps[2].nmsg = LC_MAX_MESSAGES + 1;
            break;
        case 5:
            memset(g_a.name, 'x', sizeof g_a.name);
            break;
        case 6:
            memset(g_a.steps[3].msg[0].text, 'x', sizeof g_a.steps[3].msg[0].text);
            break;
        case 7:
            g_a.fail_step = 4;
            break;
        default:
            g_a.fail_step = 1;
            memset(g_a.failure_reason, 'x', sizeof g_a.failure_reason);
            break;
        }
        cJSON *out = (cJSON *)&g_b; /* must be left alone or set to NULL, never to garbage */
        if (scn_to_json(&g_a, &out) != SM_EINVAL) fail_msg("%s: rendered", rows[i].what);
        assert_true(out == NULL || out == (cJSON *)&g_b);
    }
    assert_int_equal(scn_to_json(NULL, &(cJSON *){NULL}), SM_EINVAL);
    assert_int_equal(scn_to_json(lc_scenario_success(), NULL), SM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_scenario_renders_as_the_documented_json),
        cmocka_unit_test(test_canonical_json_round_trips_exactly_both_ways),
        cmocka_unit_test(test_fractional_seconds_become_exact_milliseconds),
        cmocka_unit_test(test_every_millisecond_value_survives_the_round_trip),
        cmocka_unit_test(test_structs_round_trip_exactly_through_json),
        cmocka_unit_test(test_omitted_optional_fields_take_their_documented_defaults),
        cmocka_unit_test(test_every_kind_of_bad_input_is_refused_with_its_path),
        cmocka_unit_test(test_oversized_names_texts_and_arrays_are_refused),
        cmocka_unit_test(test_error_text_is_truncated_safely_to_the_buffer),
        cmocka_unit_test(test_every_parsed_scenario_can_be_planned),
        cmocka_unit_test(test_unrenderable_structs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
