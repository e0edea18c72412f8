/*
 * test_proto_query.c: unit tests of proto_query.c, the awsQuery codec (form bodies in, XML
 * replies out), against the official IAM, STS and CloudWatch models and one small model of
 * our own for the wire forms those three do not use (maps, flattened lists, locationName,
 * recursion).
 *
 * The official models are read from the source tree at run time (found from __FILE__, so the
 * binary may run from any directory), never copied here: IAM and STS from their service
 * folders, CloudWatch from server/services/cloudwatch/model. Every decoded request is also run
 * through val_input(), which is what the gate does with it: the decoder's promise is "the same
 * input an awsJson request would give". Every exact XML text below is what botocore's query parser
 * reads back as the handler's output (member order is the model's; botocore does not mind).
 * Every test frees what it allocates (the suite runs under ASan). Build with
 * -DSM_TEST_WRAP_ALLOC and link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc to run the
 * allocation-failure test; without them that one test is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "proto_query.h"
#include "validate.h"

/*
 * Allocation-failure injection (as in test_validate.c). cJSON is a shared library, so its
 * allocations are routed through the wrapped malloc with cJSON_InitHooks in that build.
 */
#ifdef SM_TEST_WRAP_ALLOC
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static int alloc_countdown = -1; /* -1: off */
static int alloc_failed;

static int inject(void)
{
    if (alloc_countdown < 0) return 0;
    if (alloc_countdown-- == 0) {
        alloc_failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return inject() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return inject() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return inject() ? NULL : __real_realloc(p, n);
}

static void *hook_malloc(size_t n)
{
    return malloc(n); /* the wrapped one */
}

static void hook_free(void *p)
{
    free(p);
}

static void arm(int n)
{
    alloc_failed = 0;
    alloc_countdown = n;
}

static int disarm(void)
{
    alloc_countdown = -1;
    return alloc_failed;
}
#endif

/* ---- the models ---- */

#define IAM_NS "https://iam.amazonaws.com/doc/2010-05-08/"
#define CW_NS "http://monitoring.amazonaws.com/doc/2010-08-01/"
#define FFFD "\xEF\xBF\xBD"

static sm_model *iam, *sts, *cw, *syn;

/*
 * Our own small awsQuery model: a map, a flattened map with its own key/value names, flattened
 * lists (one whose member has a locationName), a list with a member locationName, a member with
 * a locationName, a recursive structure, and a member named like the protocol's Version.
 */
static const char synthetic_model[] =
    "{'version': '2.0', 'metadata': {'protocol': 'query', 'xmlNamespace': 'urn:test'},"
    " 'operations': {"
    "   'Put': {'name': 'Put', 'input': {'shape': 'Thing'},"
    "           'output': {'shape': 'Thing', 'resultWrapper': 'PutResult'}},"
    "   'Bare': {'name': 'Bare', 'output': {'shape': 'Thing'}},"
    "   'Nothing': {'name': 'Nothing'}},"
    " 'shapes': {"
    "   'Thing': {'type': 'structure', 'members': {"
    "     'Attrs': {'shape': 'AttrMap'}, 'Flat': {'shape': 'FlatMap'},"
    "     'Ids': {'shape': 'FlatList'}, 'Renamed': {'shape': 'RenamedFlatList'},"
    "     'Items': {'shape': 'ItemList'}, 'Wire': {'shape': 'Str', 'locationName': 'wireName'},"
    "     'Node': {'shape': 'Node'}, 'Big': {'shape': 'Long'}, 'Ratio': {'shape': 'Double'},"
    "     'Blob': {'shape': 'Bin'}, 'On': {'shape': 'Bool'}, 'Version': {'shape': 'Str'}}},"
    "   'AttrMap': {'type': 'map', 'key': {'shape': 'Str'}, 'value': {'shape': 'Str'}},"
    "   'FlatMap': {'type': 'map', 'flattened': true,"
    "               'key': {'shape': 'Str', 'locationName': 'Name'},"
    "               'value': {'shape': 'Long', 'locationName': 'Count'}},"
    "   'FlatList': {'type': 'list', 'member': {'shape': 'Str'}, 'flattened': true},"
    "   'RenamedFlatList': {'type': 'list', 'flattened': true,"
    "                       'member': {'shape': 'Str', 'locationName': 'Item'}},"
    "   'ItemList': {'type': 'list', 'member': {'shape': 'Str', 'locationName': 'item'}},"
    "   'Node': {'type': 'structure', 'members': {'Name': {'shape': 'Str'},"
    "            'Child': {'shape': 'Node'}, 'Other': {'shape': 'Node'}}},"
    "   'Str': {'type': 'string'}, 'Long': {'type': 'long'}, 'Double': {'type': 'double'},"
    "   'Bin': {'type': 'blob'}, 'Bool': {'type': 'boolean'}}}";

/* A JSON text written with ' for ". Owned by the caller. */
static char *dq(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'') *p = '"';
    return copy;
}

static cJSON *J(const char *text)
{
    char *copy = dq(text);
    cJSON *j = cJSON_Parse(copy);
    if (!j) fail_msg("test JSON does not parse: %s", copy);
    free(copy);
    return j;
}

/* The file at `rel` from the repository root (the root is where __FILE__ lives, two up). */
static char *slurp(const char *rel)
{
    static const char tail[] = "tests/unit/test_proto_query.c";
    const char *self = __FILE__;
    size_t n = strlen(self), t = strlen(tail);
    int root = n >= t && strcmp(self + n - t, tail) == 0 ? (int)(n - t) : 0;
    char path[4096];
    snprintf(path, sizeof path, "%.*s%s", root, self, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1))) {
            if (fread(text, 1, (size_t)len, f) != (size_t)len) {
                free(text);
                text = NULL;
            } else {
                text[len] = '\0';
            }
        }
    }
    fclose(f);
    return text;
}

static sm_model *load(const char *rel, const char *inline_json)
{
    char err[256];
    char *text = rel ? slurp(rel) : strdup(inline_json);
    if (!text) return NULL;
    if (!rel)
        for (char *p = text; *p; p++)
            if (*p == '\'') *p = '"';
    sm_model *m = model_load(text, err, sizeof err);
    if (!m) fprintf(stderr, "model %s: %s\n", rel ? rel : "(synthetic)", err);
    free(text);
    return m;
}

static int setup(void **state)
{
    (void)state;
    iam = load("server/services/iam/model/iam-service-2.json", NULL);
    sts = load("server/services/sts/model/sts-service-2.json", NULL);
    cw = load("server/services/cloudwatch/model/cloudwatch-service-2.json", NULL);
    syn = load(NULL, synthetic_model);
    return iam && sts && cw && syn ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    model_free(iam);
    model_free(sts);
    model_free(cw);
    model_free(syn);
    return 0;
}

/* ---- helpers ---- */

/* query_decode of `body` must succeed with exactly `want` (JSON with ', member order too);
 * returns the result for further checks (the caller frees it). */
static cJSON *decode_keep(const sm_model *m, const char *shape, const char *body, const char *want)
{
    cJSON *out = (cJSON *)0x1;
    char err[256] = "untouched";
    int rc = query_decode(m, shape, body, strlen(body), &out, err, sizeof err);
    if (rc != SM_OK) fail_msg("query_decode: %d (%s) for %s", rc, err, body);
    assert_non_null(out);
    char *got = cJSON_PrintUnformatted(out);
    cJSON *w = J(want);
    char *exp = cJSON_PrintUnformatted(w);
    assert_non_null(got);
    assert_non_null(exp);
    if (strcmp(got, exp) != 0) fail_msg("decoded\n  %s\nwanted\n  %s", got, exp);
    free(got);
    free(exp);
    cJSON_Delete(w);
    return out;
}

static void expect_decode(const sm_model *m, const char *shape, const char *body, const char *want)
{
    cJSON_Delete(decode_keep(m, shape, body, want));
}

/* query_decode must refuse `body` with SM_EINVAL and a reason starting with `prefix`. */
static void expect_refusal(const sm_model *m, const char *shape, const char *body,
                           const char *prefix)
{
    cJSON *out = (cJSON *)0x1;
    char err[256] = "";
    int rc = query_decode(m, shape, body, strlen(body), &out, err, sizeof err);
    assert_int_equal(rc, SM_EINVAL);
    assert_null(out);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("reason\n  %s\ndoes not start with\n  %s", err, prefix);
}

/* val_input on the decoded request must give `want` (VAL_OK...). */
static void expect_validation(const sm_model *m, const char *shape, const cJSON *in, int want)
{
    char *msg = NULL;
    int rc = val_input(m, shape, in, &msg);
    if (rc != want) fail_msg("val_input: %d (%s), wanted %d", rc, msg ? msg : "", want);
    free(msg);
}

/* query_encode of `out` (consumed) must be exactly `want`. */
static void expect_xml(const sm_model *m, const char *op, cJSON *out, const char *xmlns,
                       const char *want)
{
    char *xml = query_encode(m, op, out, xmlns, "req-1");
    assert_non_null(xml);
    if (strcmp(xml, want) != 0) fail_msg("encoded\n  %s\nwanted\n  %s", xml, want);
    free(xml);
    cJSON_Delete(out);
}

/* The XML of a one-member output of the synthetic Put operation. */
static void expect_put_xml(cJSON *out, const char *members)
{
    char want[2048];
    snprintf(want, sizeof want,
             "<PutResponse xmlns=\"urn:test\"><PutResult>%s</PutResult><ResponseMetadata>"
             "<RequestId>req-1</RequestId></ResponseMetadata></PutResponse>",
             members);
    expect_xml(syn, "Put", out, "urn:test", want);
}

/* ---- query_action ---- */

static void test_action_and_version_are_read_percent_decoded(void **state)
{
    (void)state;
    char a[32], v[16];
    const char *body = "Version=2010-05-08&RoleName=x&Act%69on=Get%52ole";
    assert_int_equal(query_action(body, strlen(body), a, sizeof a, v, sizeof v), SM_OK);
    assert_string_equal(a, "GetRole");
    assert_string_equal(v, "2010-05-08");

    /* only the given length is read */
    assert_int_equal(query_action(body, 17, a, sizeof a, v, sizeof v), SM_OK);
    assert_string_equal(a, "");
    assert_string_equal(v, "2010-05-0");

    /* a repeated key: the last one wins; keys are case-sensitive */
    body = "Action=A&action=B&Action=GetCallerIdentity";
    assert_int_equal(query_action(body, strlen(body), a, sizeof a, v, sizeof v), SM_OK);
    assert_string_equal(a, "GetCallerIdentity");
    assert_string_equal(v, "");
}

static void test_action_refuses_bad_forms_and_long_values(void **state)
{
    (void)state;
    char a[8], v[16];
    static const char *const bad[] = {"Action=Get%2", "Action=GetRole&X=%zz", "Action=%",
                                      "Action=Get%00Role", "Action=GetRoleX"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (query_action(bad[i], strlen(bad[i]), a, sizeof a, v, sizeof v) != SM_EINVAL)
            fail_msg("accepted %s", bad[i]);
    /* exactly the room there is, counted after decoding */
    const char *fits = "Action=G%65tRole";
    assert_int_equal(query_action(fits, strlen(fits), a, sizeof a, v, sizeof v), SM_OK);
    assert_string_equal(a, "GetRole");
    assert_int_equal(query_action("", 0, a, sizeof a, v, sizeof v), SM_OK);
    assert_string_equal(a, "");
}

/* ---- query_decode: the official models ---- */

static void test_get_role_decodes_role_name(void **state)
{
    (void)state;
    cJSON *in = decode_keep(iam, "GetRoleRequest",
                            "Action=GetRole&Version=2010-05-08&RoleName=my%2Brole%3D1",
                            "{'RoleName': 'my+role=1'}");
    expect_validation(iam, "GetRoleRequest", in, VAL_OK);
    cJSON_Delete(in);
    /* '+' is a space: the pattern then refuses it, as the service would */
    in = decode_keep(iam, "GetRoleRequest", "RoleName=my+role&Action=GetRole",
                     "{'RoleName': 'my role'}");
    expect_validation(iam, "GetRoleRequest", in, VAL_VALIDATION);
    cJSON_Delete(in);
    /* only `len` bytes are read: the body need not be a C string */
    cJSON *out = NULL;
    char err[64];
    assert_int_equal(
        query_decode(iam, "GetRoleRequest", "RoleName=abcdef", 12, &out, err, sizeof err), SM_OK);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(out, "RoleName")->valuestring, "abc");
    cJSON_Delete(out);
    /* no RoleName: the validation reports the missing member */
    in = decode_keep(iam, "GetRoleRequest", "Action=GetRole&Version=2010-05-08", "{}");
    expect_validation(iam, "GetRoleRequest", in, VAL_VALIDATION);
    cJSON_Delete(in);
}

static void test_get_caller_identity_has_no_input(void **state)
{
    (void)state;
    expect_decode(sts, "GetCallerIdentityRequest", "Action=GetCallerIdentity&Version=2011-06-15",
                  "{}");
    /* no input shape at all; unknown parameters are ignored */
    expect_decode(sts, NULL, "Action=GetCallerIdentity&Version=2011-06-15&Extra=1", "{}");
    expect_decode(sts, "GetCallerIdentityRequest", "", "{}");
}

static const char gms_body[] =
    "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FEC2"
    "&MetricName=CPUUtilization&Dimensions.member.1.Name=InstanceId"
    "&Dimensions.member.1.Value=i-0123&Dimensions.member.2.Name=Auto+Scaling+Group"
    "&Dimensions.member.2.Value=a%26b%3Dc+%C3%A9&StartTime=2024-01-01T00%3A00%3A00Z"
    "&EndTime=2024-01-01T01%3A00%3A00.500Z&Period=300&Statistics.member.1=Average"
    "&Statistics.member.2=Maximum&Unit=Percent";

static void test_get_metric_statistics_decodes_lists_times_and_integers(void **state)
{
    (void)state;
    cJSON *in = decode_keep(cw, "GetMetricStatisticsInput", gms_body,
                            "{'Dimensions': [{'Name': 'InstanceId', 'Value': 'i-0123'},"
                            "  {'Name': 'Auto Scaling Group', 'Value': 'a&b=c \xC3\xA9'}],"
                            " 'EndTime': 1704070800.5, 'MetricName': 'CPUUtilization',"
                            " 'Namespace': 'AWS/EC2', 'Period': 300, 'StartTime': 1704067200,"
                            " 'Statistics': ['Average', 'Maximum'], 'Unit': 'Percent'}");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(in, "StartTime")));
    expect_validation(cw, "GetMetricStatisticsInput", in, VAL_OK);
    cJSON_Delete(in);
}

static void test_list_elements_are_ordered_by_index(void **state)
{
    (void)state;
    /* sparse and out of order; "10" sorts before "2" as text, not as a number */
    expect_decode(cw, "GetMetricStatisticsInput",
                  "Statistics.member.10=Sum&Statistics.member.2=Average"
                  "&Statistics.member.7=Minimum&Dimensions.member.3.Value=v"
                  "&Dimensions.member.3.Name=n",
                  "{'Dimensions': [{'Name': 'n', 'Value': 'v'}],"
                  " 'Statistics': ['Average', 'Minimum', 'Sum']}");
    /* a repeated key: the last one wins */
    expect_decode(cw, "GetMetricStatisticsInput",
                  "Statistics.member.1=Sum&Period=1&Statistics.member.1=Average&Period=60",
                  "{'Period': 60, 'Statistics': ['Average']}");
}

static void test_empty_value_is_an_empty_list(void **state)
{
    (void)state;
    cJSON *in = decode_keep(cw, "GetMetricStatisticsInput",
                            "Action=GetMetricStatistics&Dimensions=&Statistics=&MetricName=m",
                            "{'Dimensions': [], 'MetricName': 'm', 'Statistics': []}");
    cJSON_Delete(in);
    /* elements win over the empty marker */
    expect_decode(cw, "GetMetricStatisticsInput", "Statistics=&Statistics.member.1=Sum",
                  "{'Statistics': ['Sum']}");
    /* any other value where a list belongs stays a string: a serialization error */
    in = decode_keep(cw, "GetMetricStatisticsInput",
                     "Namespace=n&MetricName=m&StartTime=1&EndTime=2&Period=60&Statistics=Sum",
                     "{'EndTime': 2, 'MetricName': 'm', 'Namespace': 'n', 'Period': 60,"
                     " 'StartTime': 1, 'Statistics': 'Sum'}");
    expect_validation(cw, "GetMetricStatisticsInput", in, VAL_SERIALIZATION);
    cJSON_Delete(in);
}

static void test_nested_lists_and_booleans_decode(void **state)
{
    (void)state;
    cJSON *in = decode_keep(
        cw, "GetMetricDataInput",
        "MetricDataQueries.member.1.Id=q1&MetricDataQueries.member.1.ReturnData=false"
        "&MetricDataQueries.member.1.MetricStat.Metric.Namespace=AWS%2FEC2"
        "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=InstanceId"
        "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=i-1"
        "&MetricDataQueries.member.1.MetricStat.Period=60"
        "&MetricDataQueries.member.1.MetricStat.Stat=Average"
        "&MetricDataQueries.member.2.Id=q2&MetricDataQueries.member.2.Expression=q1*2"
        "&MetricDataQueries.member.2.ReturnData=TRUE"
        "&StartTime=1704067200&EndTime=2024-01-01T02%3A00%3A00%2B01%3A00",
        "{'EndTime': 1704070800,"
        " 'MetricDataQueries': [{'Id': 'q1', 'MetricStat': {'Metric': {"
        "     'Dimensions': [{'Name': 'InstanceId', 'Value': 'i-1'}], 'Namespace': 'AWS/EC2'},"
        "   'Period': 60, 'Stat': 'Average'}, 'ReturnData': false},"
        "  {'Expression': 'q1*2', 'Id': 'q2', 'ReturnData': true}],"
        " 'StartTime': 1704067200}");
    expect_validation(cw, "GetMetricDataInput", in, VAL_OK);
    cJSON_Delete(in);
    /* a boolean that is not one stays a string */
    in = decode_keep(cw, "ListMetricsInput", "IncludeLinkedAccounts=yes",
                     "{'IncludeLinkedAccounts': 'yes'}");
    expect_validation(cw, "ListMetricsInput", in, VAL_SERIALIZATION);
    cJSON_Delete(in);
}

static void test_timestamps_accept_iso8601_and_epoch_seconds(void **state)
{
    (void)state;
    static const struct {
        const char *text; /* already form-encoded */
        const char *want; /* the StartTime member, JSON with ' */
    } cases[] = {
        {"2024-01-01T00:00:00Z", "1704067200"},
        {"2024-01-01T00:00:00.250Z", "1704067200.25"},
        {"2024-01-01T00:00:00.123456Z", "1704067200.123456"},
        {"2024-01-01t00:00:00z", "1704067200"},
        {"2024-01-01T02:00:00%2B02:00", "1704067200"},
        {"2023-12-31T19:30:00-0430", "1704067200"},
        {"2024-01-01T00:00Z", "1704067200"},
        {"2024-01-01T00:00:00", "1704067200"}, /* no zone: UTC */
        {"2024-01-01", "1704067200"},
        {"2024-02-29T12:00:00Z", "1709208000"},
        {"1969-12-31T23:59:59.5Z", "-0.5"},
        {"1704067200", "1704067200"},
        {"1704067200.75", "1704067200.75"},
        {"1.7e9", "1700000000"},
        /* not a time: kept as a string for the validation to report */
        {"2023-02-29T00:00:00Z", "'2023-02-29T00:00:00Z'"},
        {"2024-01-01T24:00:00Z", "'2024-01-01T24:00:00Z'"},
        {"2024-13-01T00:00:00Z", "'2024-13-01T00:00:00Z'"},
        {"2024-01-01T00:00:00.Z", "'2024-01-01T00:00:00.Z'"},
        {"2024-01-01T00:00:00Zjunk", "'2024-01-01T00:00:00Zjunk'"},
        {"yesterday", "'yesterday'"},
        {"", "''"},
        {"nan", "'nan'"},
        {"0x10", "'0x10'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[128], want[128];
        snprintf(body, sizeof body, "StartTime=%s", cases[i].text);
        snprintf(want, sizeof want, "{'StartTime': %s}", cases[i].want);
        expect_decode(cw, "GetMetricStatisticsInput", body, want);
    }
}

static void test_numbers_that_do_not_parse_stay_strings(void **state)
{
    (void)state;
    cJSON *in = decode_keep(cw, "GetMetricStatisticsInput",
                            "Namespace=n&MetricName=m&StartTime=1&EndTime=2&Period=5m",
                            "{'EndTime': 2, 'MetricName': 'm', 'Namespace': 'n',"
                            " 'Period': '5m', 'StartTime': 1}");
    char *msg = NULL;
    assert_int_equal(val_input(cw, "GetMetricStatisticsInput", in, &msg), VAL_SERIALIZATION);
    assert_non_null(strstr(msg, "period"));
    free(msg);
    cJSON_Delete(in);
    expect_decode(cw, "GetMetricStatisticsInput", "Period=1.5", "{'Period': '1.5'}");
    expect_decode(cw, "GetMetricStatisticsInput", "Period=1e3", "{'Period': '1e3'}");
    expect_decode(cw, "GetMetricStatisticsInput", "Period=", "{'Period': ''}");
    expect_decode(cw, "GetMetricStatisticsInput", "Period=-", "{'Period': '-'}");
    expect_decode(cw, "GetMetricStatisticsInput", "Period=%2B60", "{'Period': 60}");
    expect_decode(cw, "GetMetricStatisticsInput", "Period=-60", "{'Period': -60}");
    /* out of the 32-bit range: a number, which the validation refuses as such */
    expect_decode(cw, "GetMetricStatisticsInput", "Period=4294967296", "{'Period': 4294967296}");
}

static void test_bad_forms_are_refused(void **state)
{
    (void)state;
    expect_refusal(iam, "GetRoleRequest", "RoleName=a%2",
                   "The request body is not a valid form: a bad percent escape at offset 10");
    expect_refusal(iam, "GetRoleRequest", "RoleName=%G1",
                   "The request body is not a valid form: a bad percent escape at offset 9");
    expect_refusal(iam, "GetRoleRequest", "Role%4Eame=x&%",
                   "The request body is not a valid form: a bad percent escape at offset 13");
    expect_refusal(iam, "GetRoleRequest", "RoleName=a%00b",
                   "The request body is not a valid form: a NUL character at offset 10");
    /* even in a parameter nobody reads */
    expect_refusal(sts, NULL, "Action=GetCallerIdentity&Junk=%x", "The request body");

    /* a NUL byte as such (the body has a length; it is not a C string) */
    static const char nul[] = "RoleName=a\0b";
    cJSON *out = (cJSON *)0x1;
    char err[128] = "";
    assert_int_equal(
        query_decode(iam, "GetRoleRequest", nul, sizeof nul - 1, &out, err, sizeof err), SM_EINVAL);
    assert_null(out);
    assert_string_equal(err, "The request body is not a valid form: a NUL character at offset 10");
    char a[16], v[16];
    static const char anul[] = "Action=Get\0Role";
    assert_int_equal(query_action(anul, sizeof anul - 1, a, sizeof a, v, sizeof v), SM_EINVAL);
}

static void test_bad_list_indices_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Statistics.member.0=Sum",          "Statistics.member.01=Sum",
        "Statistics.member.x=Sum",          "Statistics.member.=Sum",
        "Statistics.member.-1=Sum",         "Statistics.member.1x=Sum",
        "Statistics.member.1000000000=Sum", "Dimensions.member.0.Name=n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refusal(cw, "GetMetricStatisticsInput", bad[i], "Invalid index in parameter '");
    expect_refusal(cw, "GetMetricStatisticsInput", "Statistics.member.0=Sum",
                   "Invalid index in parameter 'Statistics.member.0': not a positive integer");
    /* keys that are not the list's own are simply unknown */
    expect_decode(cw, "GetMetricStatisticsInput",
                  "Statistics.members.0=Sum&Statistics.0=Sum&Statistics.member=Sum"
                  "&Statistics.member.2.x=Sum&Statistics.member.3=Sum",
                  "{'Statistics': ['Sum']}");
}

/* A body with `n` Statistics elements (caller frees). */
static char *many_elements(int n)
{
    size_t cap = (size_t)n * 32 + 1, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    body[0] = '\0';
    for (int i = n; i >= 1; i--)
        len += (size_t)snprintf(body + len, cap - len, "%sStatistics.member.%d=Sum",
                                i == n ? "" : "&", i);
    return body;
}

static void test_lists_hold_at_most_1000_elements(void **state)
{
    (void)state;
    char *body = many_elements(1000);
    cJSON *out = NULL;
    char err[256];
    assert_int_equal(
        query_decode(cw, "GetMetricStatisticsInput", body, strlen(body), &out, err, sizeof err),
        SM_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "Statistics")), 1000);
    cJSON_Delete(out);
    free(body);

    body = many_elements(1001);
    expect_refusal(cw, "GetMetricStatisticsInput", body,
                   "Parameter 'Statistics' has more than 1000 elements");
    free(body);
}

/* ---- query_decode: the wire forms of our own model ---- */

static void test_maps_decode_entries_and_flattened_pairs(void **state)
{
    (void)state;
    expect_decode(syn, "Thing",
                  "Attrs.entry.2.key=b&Attrs.entry.2.value=2&Attrs.entry.1.key=a"
                  "&Attrs.entry.1.value=1&Attrs.entry.3.key=nokey"
                  "&Flat.1.Name=x&Flat.1.Count=7&Flat.2.Name=x&Flat.2.Count=8",
                  "{'Attrs': {'a': '1', 'b': '2'}, 'Flat': {'x': 8}}");
    expect_decode(syn, "Thing", "Attrs=&Flat=", "{'Attrs': {}, 'Flat': {}}");
    expect_refusal(syn, "Thing", "Attrs.entry.0.key=a", "Invalid index in parameter 'Attrs");
}

static void test_flattened_lists_and_location_names_decode(void **state)
{
    (void)state;
    expect_decode(syn, "Thing",
                  "Ids.2=b&Ids.1=a&Item.1=r1&Renamed.1=ignored&Items.item.1=i1"
                  "&Items.member.1=ignored&wireName=w&Wire=ignored&Big=9007199254740993"
                  "&Ratio=-1.5e-3&Blob=AAEC&On=False",
                  "{'Ids': ['a', 'b'], 'Renamed': ['r1'], 'Items': ['i1'], 'Wire': 'w',"
                  " 'Big': 9007199254740992, 'Ratio': -0.0015, 'Blob': 'AAEC', 'On': false}");
    expect_decode(syn, "Thing", "Ratio=Infinity&Big=12.0", "{'Big': '12.0', 'Ratio': 'Infinity'}");
    /* Action and Version belong to the protocol, never to the input */
    expect_decode(syn, "Thing", "Action=Put&Version=2020-01-01&On=1", "{'On': '1'}");
}

static void test_recursion_is_bounded(void **state)
{
    (void)state;
    char body[512] = "Node.Other.Name=o&Node", want[1024] = "{'Node': {";
    /* Node is level 1: structures down to level 31 are decoded, one at level 32 is refused
     * when keys lie below it */
    for (int i = 0; i < 30; i++) {
        strcat(body, ".Child");
        strcat(want, "'Child': {");
    }
    strcat(body, ".Name=deep");
    strcat(want, "'Name': 'deep'");
    for (int i = 0; i < 30; i++)
        strcat(want, "}");
    strcat(want, ", 'Other': {'Name': 'o'}}}");
    expect_decode(syn, "Thing", body, want);

    strcpy(body, "Node");
    for (int i = 0; i < 31; i++)
        strcat(body, ".Child");
    strcat(body, ".Name=deep");
    expect_refusal(syn, "Thing", body, "Parameter 'Node.Child.Child.");
    /* a recursive shape with nothing below it is not walked (two recursive members: a walk
     * down to the limit would take 2^32 steps) */
    expect_decode(syn, "Thing", "Node.Name=n", "{'Node': {'Name': 'n'}}");
}

/* ---- query_encode ---- */

static cJSON *role_output(void)
{
    cJSON *out = J("{'Role': {'RoleName': 'r', 'Path': '/', 'RoleId': 'AROAEXAMPLE',"
                   " 'Arn': 'arn:aws:iam::123456789012:role/r', 'CreateDate': 1733340000.123,"
                   " 'MaxSessionDuration': 3600, 'PermissionsBoundary': null,"
                   " 'Tags': [{'Key': 'k1', 'Value': 'v1'}, null, {'Key': 'k2', 'Value': ''}],"
                   " 'RoleLastUsed': {'Region': 'us-east-1'}, 'NotInModel': 'x'},"
                   " 'AlsoNotInModel': 1}");
    cJSON *role = cJSON_GetObjectItemCaseSensitive(out, "Role");
    /* a Raw timestamp, as handlers write them to keep the digits they stored */
    assert_non_null(cJSON_AddRawToObject(cJSON_GetObjectItemCaseSensitive(role, "RoleLastUsed"),
                                         "LastUsedDate", "1733340000"));
    assert_non_null(
        cJSON_AddStringToObject(role, "Description", "a<b&c>\"d'e\tf\ng\rh\x01i\xffj\xc3\xa9"));
    return out;
}

static void test_get_role_output_is_rendered_in_model_order(void **state)
{
    (void)state;
    expect_xml(iam, "GetRole", role_output(), IAM_NS,
               "<GetRoleResponse xmlns=\"" IAM_NS "\"><GetRoleResult><Role>"
               "<Arn>arn:aws:iam::123456789012:role/r</Arn>"
               "<CreateDate>2024-12-04T19:20:00.123Z</CreateDate>"
               "<Description>a&lt;b&amp;c&gt;&quot;d&apos;e&#9;f&#10;g&#13;h" FFFD "i" FFFD
               "j\xc3\xa9</Description>"
               "<MaxSessionDuration>3600</MaxSessionDuration><Path>/</Path>"
               "<RoleId>AROAEXAMPLE</RoleId>"
               "<RoleLastUsed><LastUsedDate>2024-12-04T19:20:00Z</LastUsedDate>"
               "<Region>us-east-1</Region></RoleLastUsed><RoleName>r</RoleName>"
               "<Tags><member><Key>k1</Key><Value>v1</Value></member>"
               "<member><Key>k2</Key><Value></Value></member></Tags>"
               "</Role></GetRoleResult><ResponseMetadata><RequestId>req-1</RequestId>"
               "</ResponseMetadata></GetRoleResponse>");
}

static void test_timestamps_render_as_iso8601_utc(void **state)
{
    (void)state;
    static const struct {
        const char *raw; /* a Raw item's text, or NULL to use `num` */
        double num;
        const char *want;
    } cases[] = {
        {NULL, 0, "1970-01-01T00:00:00Z"},
        {NULL, 1733340000.5, "2024-12-04T19:20:00.500Z"},
        {NULL, 1733340000.0004, "2024-12-04T19:20:00Z"},
        {NULL, 1733340000.9996, "2024-12-04T19:20:01Z"}, /* rounded to the millisecond */
        {NULL, 1709208000, "2024-02-29T12:00:00Z"},
        {NULL, -0.5, "1969-12-31T23:59:59.500Z"},
        {NULL, -86400, "1969-12-31T00:00:00Z"},
        {NULL, 253402300799, "9999-12-31T23:59:59Z"},
        {"1733340000.123", 0, "2024-12-04T19:20:00.123Z"},
        {"1733340000.100", 0, "2024-12-04T19:20:00.100Z"},
        {"1733340000", 0, "2024-12-04T19:20:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *out = cJSON_CreateObject();
        assert_non_null(out);
        if (cases[i].raw) assert_non_null(cJSON_AddRawToObject(out, "Label", "l"));
        cJSON *dps = cJSON_AddArrayToObject(out, "Datapoints");
        cJSON *dp = cJSON_CreateObject();
        assert_non_null(dps);
        assert_non_null(dp);
        cJSON_AddItemToArray(dps, dp);
        if (cases[i].raw)
            assert_non_null(cJSON_AddRawToObject(dp, "Timestamp", cases[i].raw));
        else
            assert_non_null(cJSON_AddNumberToObject(dp, "Timestamp", cases[i].num));
        char want[512];
        snprintf(want, sizeof want,
                 "<GetMetricStatisticsResponse xmlns=\"" CW_NS "\"><GetMetricStatisticsResult>"
                 "<Datapoints><member><Timestamp>%s</Timestamp></member></Datapoints>%s"
                 "</GetMetricStatisticsResult><ResponseMetadata><RequestId>req-1</RequestId>"
                 "</ResponseMetadata></GetMetricStatisticsResponse>",
                 cases[i].want, cases[i].raw ? "<Label>l</Label>" : "");
        expect_xml(cw, "GetMetricStatistics", out, CW_NS, want);
    }
    /* strings: ISO 8601 is normalized, anything else is passed on escaped */
    expect_xml(cw, "GetMetricStatistics",
               J("{'Datapoints': [{'Timestamp': '2024-01-01T01:00:00+01:00'},"
                 " {'Timestamp': '1704067200.25'}, {'Timestamp': '<soon>'}]}"),
               CW_NS,
               "<GetMetricStatisticsResponse xmlns=\"" CW_NS "\"><GetMetricStatisticsResult>"
               "<Datapoints><member><Timestamp>2024-01-01T00:00:00Z</Timestamp></member>"
               "<member><Timestamp>2024-01-01T00:00:00.250Z</Timestamp></member>"
               "<member><Timestamp>&lt;soon&gt;</Timestamp></member></Datapoints>"
               "</GetMetricStatisticsResult><ResponseMetadata><RequestId>req-1</RequestId>"
               "</ResponseMetadata></GetMetricStatisticsResponse>");
}

static void test_get_metric_statistics_output_doubles_read_back_exactly(void **state)
{
    (void)state;
    cJSON *out = J("{'Label': 'CPUUtilization', 'Datapoints': [{'Timestamp': 1704067200,"
                   " 'SampleCount': 60, 'Average': 0.1, 'Maximum': 1e-05, 'Minimum': 3.0,"
                   " 'Sum': 12345.678, 'Unit': 'Percent',"
                   " 'ExtendedStatistics': {'p99': 1.5, 'p50': 0.30000000000000004}},"
                   " {'Average': -2.5e300, 'Sum': 1e17, 'Minimum': 123456789012345,"
                   "  'SampleCount': null, 'Maximum': 'oops'}, null]}");
    cJSON *second = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(out, "Datapoints"), 1);
    assert_non_null(cJSON_AddRawToObject(second, "Unit", "Count"));
    expect_xml(cw, "GetMetricStatistics", out, CW_NS,
               "<GetMetricStatisticsResponse xmlns=\"" CW_NS "\"><GetMetricStatisticsResult>"
               "<Datapoints><member><Average>0.1</Average><ExtendedStatistics>"
               "<entry><key>p99</key><value>1.5</value></entry>"
               "<entry><key>p50</key><value>0.30000000000000004</value></entry>"
               "</ExtendedStatistics><Maximum>1e-05</Maximum><Minimum>3</Minimum>"
               "<SampleCount>60</SampleCount><Sum>12345.678</Sum>"
               "<Timestamp>2024-01-01T00:00:00Z</Timestamp><Unit>Percent</Unit></member>"
               "<member><Average>-2.5e+300</Average><Maximum>oops</Maximum>"
               "<Minimum>123456789012345</Minimum><Sum>1e+17</Sum><Unit>Count</Unit></member>"
               "</Datapoints><Label>CPUUtilization</Label></GetMetricStatisticsResult>"
               "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
               "</GetMetricStatisticsResponse>");
}

static void test_empty_and_absent_outputs(void **state)
{
    (void)state;
    /* no output yet: an empty result element */
    expect_xml(sts, "GetCallerIdentity", NULL, "https://sts.amazonaws.com/doc/2011-06-15/",
               "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
               "<GetCallerIdentityResult></GetCallerIdentityResult><ResponseMetadata>"
               "<RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>");
    expect_xml(sts, "GetCallerIdentity",
               J("{'Account': '123456789012', 'Arn': 'arn:aws:iam::123456789012:user/a',"
                 " 'UserId': 'AIDA'}"),
               NULL,
               "<GetCallerIdentityResponse><GetCallerIdentityResult>"
               "<Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/a</Arn>"
               "<UserId>AIDA</UserId></GetCallerIdentityResult><ResponseMetadata>"
               "<RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>");
    /* an empty list is an empty element; values of the wrong kind are left out */
    expect_xml(cw, "GetMetricStatistics", J("{'Datapoints': [], 'Label': {'not': 'a string'}}"),
               CW_NS,
               "<GetMetricStatisticsResponse xmlns=\"" CW_NS "\"><GetMetricStatisticsResult>"
               "<Datapoints></Datapoints></GetMetricStatisticsResult><ResponseMetadata>"
               "<RequestId>req-1</RequestId></ResponseMetadata></GetMetricStatisticsResponse>");
    /* no resultWrapper: the members sit in the response element; no output: nothing */
    expect_xml(syn, "Bare", J("{'Wire': 'w'}"), "urn:test",
               "<BareResponse xmlns=\"urn:test\"><wireName>w</wireName><ResponseMetadata>"
               "<RequestId>req-1</RequestId></ResponseMetadata></BareResponse>");
    expect_xml(syn, "Nothing", J("{'Wire': 'w'}"), "urn:test",
               "<NothingResponse xmlns=\"urn:test\"><ResponseMetadata>"
               "<RequestId>req-1</RequestId></ResponseMetadata></NothingResponse>");
}

static void test_maps_flattened_lists_and_location_names_render(void **state)
{
    (void)state;
    expect_put_xml(J("{'Attrs': {'a': '1', 'b<': '&'}}"),
                   "<Attrs><entry><key>a</key><value>1</value></entry>"
                   "<entry><key>b&lt;</key><value>&amp;</value></entry></Attrs>");
    expect_put_xml(J("{'Flat': {'x': 7, 'y': null}}"),
                   "<Flat><Name>x</Name><Count>7</Count></Flat>");
    expect_put_xml(J("{'Ids': ['a', 'b']}"), "<Ids>a</Ids><Ids>b</Ids>");
    expect_put_xml(J("{'Ids': []}"), "");
    expect_put_xml(J("{'Renamed': ['r1', 'r2']}"), "<Item>r1</Item><Item>r2</Item>");
    expect_put_xml(J("{'Items': ['i1']}"), "<Items><item>i1</item></Items>");
    expect_put_xml(J("{'Wire': 'w', 'Big': 9007199254740992, 'On': true, 'Ratio': 2}"),
                   "<wireName>w</wireName><Big>9007199254740992</Big><Ratio>2</Ratio>"
                   "<On>true</On>");
    cJSON *out = cJSON_CreateObject();
    assert_non_null(cJSON_AddRawToObject(out, "Big", "9223372036854775807"));
    expect_put_xml(out, "<Big>9223372036854775807</Big>");
}

static void test_deep_output_is_cut_at_the_depth_limit(void **state)
{
    (void)state;
    cJSON *out = cJSON_CreateObject(), *node = out;
    assert_non_null(out);
    for (int i = 0; i < 100; i++) {
        cJSON *child = cJSON_AddObjectToObject(node, i ? "Child" : "Node");
        assert_non_null(child);
        assert_non_null(cJSON_AddStringToObject(child, "Name", "n"));
        node = child;
    }
    char *xml = query_encode(syn, "Put", out, "urn:test", "r");
    assert_non_null(xml);
    size_t opened = 0;
    for (const char *p = xml; (p = strstr(p, "<Child>")); p++)
        opened++;
    assert_int_equal(opened, 31); /* Node is level 1; Child levels 2..32 */
    /* and it is balanced */
    size_t closed = 0;
    for (const char *p = xml; (p = strstr(p, "</Child>")); p++)
        closed++;
    assert_int_equal(closed, opened);
    free(xml);
    cJSON_Delete(out);
}

/* ---- errors and escaping ---- */

static void test_error_response_is_the_query_error_document(void **state)
{
    (void)state;
    char *xml = query_encode_error("NoSuchEntity", "The role with name x cannot be found.", 1,
                                   IAM_NS, "req-1");
    assert_non_null(xml);
    assert_string_equal(xml, "<ErrorResponse xmlns=\"" IAM_NS "\"><Error><Type>Sender</Type>"
                             "<Code>NoSuchEntity</Code>"
                             "<Message>The role with name x cannot be found.</Message></Error>"
                             "<RequestId>req-1</RequestId></ErrorResponse>");
    free(xml);
    xml = query_encode_error("ServiceFailure", "a <b> & 'c'\x02", 0, NULL, "r\"1");
    assert_non_null(xml);
    assert_string_equal(xml, "<ErrorResponse><Error><Type>Receiver</Type>"
                             "<Code>ServiceFailure</Code>"
                             "<Message>a &lt;b&gt; &amp; &apos;c&apos;" FFFD "</Message></Error>"
                             "<RequestId>r&quot;1</RequestId></ErrorResponse>");
    free(xml);
}

static void test_xml_escape_replaces_what_xml_cannot_hold(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"<&>\"'", "&lt;&amp;&gt;&quot;&apos;"},
        {"\t\n\r", "&#9;&#10;&#13;"},
        {"a\x01g\x1fh\x7fz", "a" FFFD "g" FFFD "h\x7fz"}, /* DEL is a legal XML char */
        {"caf\xc3\xa9 \xe6\x9d\xb1 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x9d\xb1 \xf0\x9f\x98\x80"},
        {"\xffz", FFFD "z"},              /* not a UTF-8 byte */
        {"\xc3", FFFD},                   /* truncated at the end */
        {"\xe2\x82x", FFFD FFFD "x"},     /* truncated, each byte replaced */
        {"\xc0\x80", FFFD FFFD},          /* overlong NUL */
        {"\xed\xa0\x80", FFFD FFFD FFFD}, /* a surrogate */
        {"\xef\xbf\xbe\xef\xbf\xbf", FFFD FFFD FFFD FFFD FFFD FFFD}, /* U+FFFE, U+FFFF */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},                   /* above U+10FFFF */
        {"\x80", FFFD},                                              /* a lone continuation byte */
        {"\xef\xbf\xbd", "\xef\xbf\xbd"},                            /* U+FFFD itself */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = xml_escape(cases[i].in);
        assert_non_null(got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', wanted '%s'", i, got, cases[i].want);
        free(got);
    }
    char *got = xml_escape(NULL);
    assert_non_null(got);
    assert_string_equal(got, "");
    free(got);
}

/* ---- allocation failures ---- */

static void test_every_allocation_failure_is_reported_and_leaks_nothing(void **state)
{
    (void)state;
#ifdef SM_TEST_WRAP_ALLOC
    cJSON_Hooks hooks = {hook_malloc, hook_free};
    cJSON_InitHooks(&hooks);
    int done = 0, failures = 0;
    for (int n = 0; !done && n < 100000; n++) {
        cJSON *in = NULL;
        char err[128];
        arm(n);
        int rc = query_decode(cw, "GetMetricStatisticsInput", gms_body, strlen(gms_body), &in, err,
                              sizeof err);
        int failed = disarm();
        if (failed) {
            assert_int_equal(rc, SM_ENOMEM);
            assert_null(in);
            failures++;
        } else {
            assert_int_equal(rc, SM_OK);
            done = 1;
        }
        cJSON_Delete(in);
    }
    assert_true(done);
    assert_true(failures > 40); /* the form, the key buffers and every cJSON node */
    cJSON *out = role_output();
    done = failures = 0;
    for (int n = 0; !done && n < 100000; n++) {
        arm(n);
        char *xml = query_encode(iam, "GetRole", out, IAM_NS, "r");
        char *e = xml ? query_encode_error("C", "m", 1, IAM_NS, "r") : NULL;
        char *x = e ? xml_escape("a<b") : NULL;
        int failed = disarm();
        if (!failed) {
            assert_non_null(x);
            done = 1;
        } else {
            assert_null(x);
            failures++;
        }
        free(xml);
        free(e);
        free(x);
    }
    assert_true(done && failures >= 3);
    cJSON_Delete(out);
    cJSON_InitHooks(NULL);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_and_version_are_read_percent_decoded),
        cmocka_unit_test(test_action_refuses_bad_forms_and_long_values),
        cmocka_unit_test(test_get_role_decodes_role_name),
        cmocka_unit_test(test_get_caller_identity_has_no_input),
        cmocka_unit_test(test_get_metric_statistics_decodes_lists_times_and_integers),
        cmocka_unit_test(test_list_elements_are_ordered_by_index),
        cmocka_unit_test(test_empty_value_is_an_empty_list),
        cmocka_unit_test(test_nested_lists_and_booleans_decode),
        cmocka_unit_test(test_timestamps_accept_iso8601_and_epoch_seconds),
        cmocka_unit_test(test_numbers_that_do_not_parse_stay_strings),
        cmocka_unit_test(test_bad_forms_are_refused),
        cmocka_unit_test(test_bad_list_indices_are_refused),
        cmocka_unit_test(test_lists_hold_at_most_1000_elements),
        cmocka_unit_test(test_maps_decode_entries_and_flattened_pairs),
        cmocka_unit_test(test_flattened_lists_and_location_names_decode),
        cmocka_unit_test(test_recursion_is_bounded),
        cmocka_unit_test(test_get_role_output_is_rendered_in_model_order),
        cmocka_unit_test(test_timestamps_render_as_iso8601_utc),
        cmocka_unit_test(test_get_metric_statistics_output_doubles_read_back_exactly),
        cmocka_unit_test(test_empty_and_absent_outputs),
        cmocka_unit_test(test_maps_flattened_lists_and_location_names_render),
        cmocka_unit_test(test_deep_output_is_cut_at_the_depth_limit),
        cmocka_unit_test(test_error_response_is_the_query_error_document),
        cmocka_unit_test(test_xml_escape_replaces_what_xml_cannot_hold),
        cmocka_unit_test(test_every_allocation_failure_is_reported_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
