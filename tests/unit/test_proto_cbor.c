/*
 * test_proto_cbor.c: unit tests of the smithy-rpc-v2-cbor codec (server/core/proto_cbor.c),
 * against the CloudWatch model sagemock embeds.
 *
 * Request bodies are written byte by byte as botocore's and the JS SDK's serializers write
 * them (definite lengths, tag 1 over integer or float seconds), plus the forms other encoders
 * may use (indefinite lengths, chunked strings) and hostile ones (announced sizes larger than
 * the body, deep nesting, trailing bytes, invalid UTF-8). Replies are read back with libcbor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cbor.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "proto_cbor.h"
#include "validate.h"

extern const char cloudwatch_model_json[];
static sm_model *cw;

static int setup(void **state)
{
    (void)state;
    char err[256];
    cw = model_load(cloudwatch_model_json, err, sizeof err);
    return cw ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    model_free(cw);
    return 0;
}

/* ---- writing CBOR by hand ---- */

typedef struct buf {
    unsigned char b[4096];
    size_t n;
} buf;

static void put(buf *o, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        o->b[o->n++] = (unsigned char)va_arg(ap, int);
    va_end(ap);
}

static void head(buf *o, int major, uint64_t v)
{
    if (v < 24) {
        put(o, 1, major << 5 | (int)v);
    } else if (v < 256) {
        put(o, 2, major << 5 | 24, (int)v);
    } else if (v < 65536) {
        put(o, 3, major << 5 | 25, (int)(v >> 8), (int)(v & 255));
    } else {
        put(o, 1, major << 5 | 26);
        for (int s = 24; s >= 0; s -= 8)
            put(o, 1, (int)(v >> s & 255));
    }
}

static void text(buf *o, const char *s)
{
    head(o, 3, strlen(s));
    memcpy(o->b + o->n, s, strlen(s));
    o->n += strlen(s);
}

static void f64(buf *o, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put(o, 1, 0xFB);
    for (int s = 56; s >= 0; s -= 8)
        put(o, 1, (int)(u >> s & 255));
}

static cJSON *decode_ok(const char *shape, const buf *in)
{
    cJSON *out = NULL;
    char err[256] = "";
    int rc = rpcv2_decode(cw, shape, (const char *)in->b, in->n, &out, err, sizeof err);
    if (rc != SM_OK) fail_msg("decode failed: %d %s", rc, err);
    assert_non_null(out);
    return out;
}

static void decode_refused(const buf *in, const char *why_part)
{
    cJSON *out = NULL;
    char err[256] = "";
    int rc = rpcv2_decode(cw, "GetMetricStatisticsInput", (const char *)in->b, in->n, &out, err,
                          sizeof err);
    assert_int_equal(rc, SM_EINVAL);
    assert_null(out);
    if (!strstr(err, why_part)) fail_msg("reason '%s' lacks '%s'", err, why_part);
}

static void expect_json(cJSON *got, const char *want_text)
{
    char *w = strdup(want_text);
    for (char *p = w; *p; p++)
        if (*p == '\'') *p = '"';
    cJSON *want = cJSON_Parse(w);
    free(w);
    assert_non_null(want);
    if (!cJSON_Compare(got, want, 1)) {
        char *g = cJSON_PrintUnformatted(got);
        fail_msg("got %s, want %s", g, want_text);
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
}

/* ---- decoding ---- */

/* What botocore 1.43's RpcV2CBORSerializer writes for get_metric_statistics(...). */
static void botocore_gms(buf *o)
{
    head(o, 5, 7);
    text(o, "Namespace");
    text(o, "/aws/sagemaker/TrainingJobs");
    text(o, "MetricName");
    text(o, "train:loss");
    text(o, "Dimensions");
    head(o, 4, 1);
    head(o, 5, 2);
    text(o, "Name");
    text(o, "TrainingJobName");
    text(o, "Value");
    text(o, "job-1");
    text(o, "StartTime");
    put(o, 1, 0xC1); /* tag 1 */
    head(o, 0, 1700000000);
    text(o, "EndTime");
    put(o, 1, 0xC1);
    f64(o, 1700000060.5);
    text(o, "Period");
    head(o, 0, 60);
    text(o, "Statistics");
    head(o, 4, 2);
    text(o, "Average");
    text(o, "Maximum");
}

static void test_a_botocore_request_decodes_as_awsjson_would_carry_it(void **state)
{
    (void)state;
    buf in = {0};
    botocore_gms(&in);
    cJSON *out = decode_ok("GetMetricStatisticsInput", &in);
    char *msg = NULL;
    assert_int_equal(val_input(cw, "GetMetricStatisticsInput", out, &msg), VAL_OK);
    expect_json(out, "{'Namespace': '/aws/sagemaker/TrainingJobs', 'MetricName': 'train:loss',"
                     " 'Dimensions': [{'Name': 'TrainingJobName', 'Value': 'job-1'}],"
                     " 'StartTime': 1700000000, 'EndTime': 1700000060.5, 'Period': 60,"
                     " 'Statistics': ['Average', 'Maximum']}");
}

static void test_unknown_and_null_members_are_left_out(void **state)
{
    (void)state;
    buf in = {0};
    head(&in, 5, 4);
    text(&in, "MetricName");
    put(&in, 1, 0xF6); /* null */
    text(&in, "NotAMember");
    head(&in, 4, 1);
    head(&in, 4, 1);
    head(&in, 0, 1);
    text(&in, "Namespace");
    text(&in, "ns");
    text(&in, "Statistics");
    head(&in, 4, 2);
    put(&in, 1, 0xF6);
    text(&in, "Sum");
    expect_json(decode_ok("GetMetricStatisticsInput", &in),
                "{'Namespace': 'ns', 'Statistics': ['Sum']}");
}

static void test_indefinite_lengths_and_chunked_strings_decode(void **state)
{
    (void)state;
    buf in = {0};
    put(&in, 1, 0xBF); /* indefinite map */
    text(&in, "Namespace");
    put(&in, 1, 0x7F); /* indefinite text: "a" "bc" */
    text(&in, "a");
    text(&in, "bc");
    put(&in, 1, 0xFF);
    text(&in, "Statistics");
    put(&in, 1, 0x9F); /* indefinite array */
    text(&in, "Sum");
    put(&in, 1, 0xFF);
    text(&in, "Period");
    put(&in, 3, 0xF9, 0x53, 0x80); /* half float 60.0 */
    put(&in, 1, 0xFF);
    expect_json(decode_ok("GetMetricStatisticsInput", &in),
                "{'Namespace': 'abc', 'Statistics': ['Sum'], 'Period': 60}");
}

static void test_wrong_types_stay_for_the_validation_to_report(void **state)
{
    (void)state;
    buf in = {0};
    head(&in, 5, 3);
    text(&in, "Period");
    text(&in, "60");
    text(&in, "Dimensions");
    head(&in, 5, 0); /* a map where a list belongs */
    text(&in, "StartTime");
    put(&in, 1, 0xC2); /* tag 2 (a bignum) is no timestamp */
    head(&in, 2, 1);
    put(&in, 1, 1);
    cJSON *out = decode_ok("GetMetricStatisticsInput", &in);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(out, "Period")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(out, "Dimensions")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(out, "StartTime")));
    char *msg = NULL;
    assert_int_equal(val_input(cw, "GetMetricStatisticsInput", out, &msg), VAL_SERIALIZATION);
    free(msg);
    cJSON_Delete(out);
}

static void test_an_empty_body_is_an_empty_input(void **state)
{
    (void)state;
    buf in = {0};
    expect_json(decode_ok("ListMetricsInput", &in), "{}");
    head(&in, 5, 0);
    expect_json(decode_ok("ListMetricsInput", &in), "{}");
}

static void test_malformed_and_hostile_bodies_are_refused(void **state)
{
    (void)state;
    buf in = {0};
    head(&in, 4, 0); /* an array */
    decode_refused(&in, "must be a map");
    in.n = 0;
    botocore_gms(&in);
    in.n -= 3; /* truncated */
    decode_refused(&in, "ends in the middle");
    in.n = 0;
    head(&in, 5, 0);
    head(&in, 5, 0); /* two items */
    decode_refused(&in, "more than one");
    in.n = 0;
    put(&in, 9, 0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF); /* 2^64-1 items */
    decode_refused(&in, "announces more");
    in.n = 0;
    put(&in, 5, 0xBA, 0x10, 0x00, 0x00, 0x00); /* a map of 2^28 entries */
    decode_refused(&in, "announces more");
    in.n = 0;
    for (int i = 0; i < 100; i++)
        head(&in, 4, 1);
    head(&in, 0, 1);
    decode_refused(&in, "too deeply");
    in.n = 0;
    head(&in, 5, 1);
    text(&in, "Namespace");
    put(&in, 3, 0x62, 0xC3, 0x28); /* invalid UTF-8 */
    decode_refused(&in, "UTF-8");
    in.n = 0;
    head(&in, 5, 1);
    text(&in, "Namespace");
    put(&in, 3, 0x62, 'a', 0); /* a NUL */
    decode_refused(&in, "UTF-8");
    in.n = 0;
    head(&in, 5, 1);
    head(&in, 0, 1); /* an integer key */
    text(&in, "x");
    decode_refused(&in, "key");
    in.n = 0;
    put(&in, 1, 0xFF);
    decode_refused(&in, "break");
    in.n = 0;
    put(&in, 1, 0x1C); /* a reserved additional info */
    decode_refused(&in, "not well-formed");
}

/* ---- encoding ---- */

static cbor_item_t *decode_reply(const unsigned char *b, size_t n)
{
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(b, n, &res);
    assert_non_null(it);
    assert_int_equal(res.read, n);
    return it;
}

static cbor_item_t *member(const cbor_item_t *map, const char *key)
{
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (cbor_string_length(p[i].key) == strlen(key) &&
            memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0)
            return p[i].value;
    return NULL;
}

static void test_output_follows_the_shape_with_tagged_timestamps(void **state)
{
    (void)state;
    const char *json =
        "{\"Label\": \"train:loss\", \"Extra\": 1, \"Datapoints\": [{\"Timestamp\": 1700000000,"
        " \"SampleCount\": 2, \"Average\": 0.5, \"Unit\": \"None\", \"Sum\": null,"
        " \"ExtendedStatistics\": {\"p99\": 0.75}}, {\"Timestamp\": 1700000060.25}]}";
    cJSON *out = cJSON_Parse(json);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(out, "Datapoints"), 1),
                              "Timestamp", cJSON_CreateRaw("1700000060.25"));
    unsigned char *b = NULL;
    size_t n = 0;
    assert_int_equal(rpcv2_encode(cw, "GetMetricStatisticsOutput", out, &b, &n), SM_OK);
    cJSON_Delete(out);
    cbor_item_t *root = decode_reply(b, n);
    assert_true(cbor_isa_map(root) && cbor_map_is_definite(root));
    assert_int_equal(cbor_map_size(root), 2); /* Extra left out */
    cbor_item_t *dps = member(root, "Datapoints");
    assert_true(cbor_isa_array(dps) && cbor_array_size(dps) == 2);
    cbor_item_t *d0 = cbor_array_get(dps, 0), *d1 = cbor_array_get(dps, 1);
    cbor_item_t *ts = member(d0, "Timestamp");
    assert_true(cbor_isa_tag(ts) && cbor_tag_value(ts) == 1);
    cbor_item_t *secs = cbor_tag_item(ts);
    assert_true(cbor_isa_uint(secs) && cbor_get_int(secs) == 1700000000);
    cbor_decref(&secs);
    cbor_item_t *count = member(d0, "SampleCount"); /* a double shape: a float, even when whole */
    assert_true(cbor_is_float(count) && cbor_float_get_width(count) == CBOR_FLOAT_64);
    assert_true(cbor_float_get_float8(count) == 2.0);
    assert_null(member(d0, "Sum"));
    cbor_item_t *ext = member(d0, "ExtendedStatistics");
    assert_true(cbor_isa_map(ext) && cbor_float_get_float8(member(ext, "p99")) == 0.75);
    ts = member(d1, "Timestamp");
    secs = cbor_tag_item(ts);
    assert_true(cbor_is_float(secs) && cbor_float_get_float8(secs) == 1700000060.25);
    cbor_decref(&secs);
    cbor_decref(&d0);
    cbor_decref(&d1);
    cbor_decref(&root);
    free(b);
}

static void test_the_output_reads_back_through_the_decoder_of_the_same_shape(void **state)
{
    (void)state;
    const char *json = "{\"Metrics\": [{\"Namespace\": \"n\", \"MetricName\": \"m\","
                       " \"Dimensions\": [{\"Name\": \"Host\", \"Value\": \"j/algo-1\"}]}],"
                       " \"NextToken\": \"t\", \"OwningAccounts\": [\"123456789012\"]}";
    cJSON *out = cJSON_Parse(json);
    unsigned char *b = NULL;
    size_t n = 0;
    assert_int_equal(rpcv2_encode(cw, "ListMetricsOutput", out, &b, &n), SM_OK);
    cJSON *back = NULL;
    char err[128];
    assert_int_equal(rpcv2_decode(cw, "ListMetricsOutput", (char *)b, n, &back, err, sizeof err),
                     SM_OK);
    assert_true(cJSON_Compare(out, back, 1));
    cJSON_Delete(back);
    cJSON_Delete(out);
    free(b);
}

static void test_no_output_is_an_empty_map_and_errors_carry_type_and_message(void **state)
{
    (void)state;
    unsigned char *b = NULL;
    size_t n = 0;
    assert_int_equal(rpcv2_encode(cw, NULL, NULL, &b, &n), SM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(b[0], 0xA0);
    free(b);
    assert_int_equal(rpcv2_encode_error("com.amazonaws.cloudwatch#InvalidParameterValueException",
                                        "bad <value>", &b, &n),
                     SM_OK);
    cbor_item_t *root = decode_reply(b, n);
    cbor_item_t *t = member(root, "__type"), *m = member(root, "message");
    assert_true(cbor_isa_string(t) && cbor_isa_string(m));
    assert_memory_equal(cbor_string_handle(m), "bad <value>", 11);
    cbor_decref(&root);
    free(b);
}

static void test_paths_name_the_service_and_operation(void **state)
{
    (void)state;
    char svc[64], op[64];
    assert_true(rpcv2_path("/service/GraniteServiceVersion20100801/operation/ListMetrics", svc,
                           sizeof svc, op, sizeof op));
    assert_string_equal(svc, "GraniteServiceVersion20100801");
    assert_string_equal(op, "ListMetrics");
    assert_true(rpcv2_path("/base/service/S/operation/Op", svc, sizeof svc, op, sizeof op));
    assert_string_equal(svc, "S");
    assert_false(rpcv2_path("/service/S/operation/", svc, sizeof svc, op, sizeof op));
    assert_false(rpcv2_path("/service//operation/Op", svc, sizeof svc, op, sizeof op));
    assert_false(rpcv2_path("/service/S/operation/Op/x", svc, sizeof svc, op, sizeof op));
    assert_false(rpcv2_path("/services/S/operation/Op", svc, sizeof svc, op, sizeof op));
    assert_false(rpcv2_path("/", svc, sizeof svc, op, sizeof op));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_botocore_request_decodes_as_awsjson_would_carry_it),
        cmocka_unit_test(test_unknown_and_null_members_are_left_out),
        cmocka_unit_test(test_indefinite_lengths_and_chunked_strings_decode),
        cmocka_unit_test(test_wrong_types_stay_for_the_validation_to_report),
        cmocka_unit_test(test_an_empty_body_is_an_empty_input),
        cmocka_unit_test(test_malformed_and_hostile_bodies_are_refused),
        cmocka_unit_test(test_output_follows_the_shape_with_tagged_timestamps),
        cmocka_unit_test(test_the_output_reads_back_through_the_decoder_of_the_same_shape),
        cmocka_unit_test(test_no_output_is_an_empty_map_and_errors_carry_type_and_message),
        cmocka_unit_test(test_paths_name_the_service_and_operation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
