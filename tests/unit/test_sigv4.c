/*
 * test_sigv4.c: SigV4 verification (server/sigv4.c) and the credentials and gate hooks around
 * it (server/auth.c).
 *
 * Proves, against vectors nobody here computed:
 *   - the AWS documentation's worked example (IAM ListUsers, 20150830, us-east-1): canonical
 *     request, string to sign, signing key and signature 5d672d79...;
 *   - AWS's Signature Version 4 test suite (aws-sig-v4-test-suite, service "service",
 *     20150830T123600Z): header trimming and duplicates, query ordering and encoding, UTF-8,
 *     path normalisation, session tokens;
 *   - requests captured from the real SDKs (DescribeTrainingJob on http://127.0.0.1:8765, secret
 *     wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY): boto3 1.26.27/botocore 1.29.27 (Debian) signed
 *     at a fixed 20261127T055300Z by patching botocore.auth's datetime and capturing the
 *     request in a before-send hook; botocore 1.43.11 (the AWS CLI v1's); botocore with a Date
 *     header instead of X-Amz-Date; @aws-sdk/client-sagemaker 3.967.0 on Node 20 captured with
 *     a custom requestHandler (it signs x-amz-content-sha256 and six more headers); each with
 *     and without a session token;
 * and every refusal of spec §6.3 with its exact code and text, in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "errors.h"
#include "sigv4.h"

#define MAXH 16
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TOKEN                                                                                \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"   \
    "SPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQ"   \
    "DYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+s"   \
    "cqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define BOTO_TOKEN "FwoGZXIvYXdzEXAMPLETOKEN//abc+def="
#define JS_TOKEN "IQoJb3JpZ2luX2VjEXAMPLE/+=="
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct hdr {
    const char *name, *value;
} hdr;

typedef struct vec {
    const char *name, *method, *path, *query, *body;
    hdr h[MAXH]; /* ended by {NULL} */
} vec;

typedef struct key {
    const char *id, *secret, *token;
} key;

static const char *lookup_header(void *ctx, const char *name)
{
    for (const hdr *h = ctx; h->name; h++)
        if (strcasecmp(h->name, name) == 0) return h->value;
    return NULL;
}

static int lookup_key(void *ctx, const char *id, const char **secret, const char **token)
{
    for (const key *k = ctx; k->id; k++)
        if (strcmp(k->id, id) == 0) {
            *secret = k->secret;
            *token = k->token;
            return 1;
        }
    return 0;
}

static const key plain_keys[] = {{"AKIDEXAMPLE", DOC_SECRET, NULL}, {NULL, NULL, NULL}};

static int64_t at(const char *amz_date)
{
    int64_t t = 0;
    assert_int_equal(sigv4_parse_amz_date(amz_date, &t), SM_OK);
    return t * 1000;
}

/* Verify v with headers h (v->h when NULL), keys and now; returns the rc and fills res. */
static int run(const vec *v, const hdr *h, const key *keys, const char *service, int64_t now_ms,
               sigv4_result *res)
{
    sigv4_input in = {
        .method = v->method,
        .path = v->path,
        .query = v->query ? v->query : "",
        .header = lookup_header,
        .header_ctx = (void *)(h ? h : v->h),
        .body = v->body,
        .body_len = v->body ? strlen(v->body) : 0,
        .now_ms = now_ms,
        .service = service,
        .creds = lookup_key,
        .creds_ctx = (void *)keys,
    };
    return sigv4_verify(&in, res);
}

static void expect_ok(const vec *v, const key *keys, const char *service, int64_t now_ms)
{
    sigv4_result res;
    int rc = run(v, NULL, keys, service, now_ms, &res);
    if (rc != SM_OK)
        fail_msg("%s: %s: %s", v->name, res.code ? res.code : "?",
                 res.message ? res.message : "(no message)");
    assert_null(res.code);
    sigv4_result_free(&res);
}

/* ------------------------------------------------------------------ the AWS docs' example */

static void docs_iam_example_gives_the_published_signature(void **state)
{
    (void)state;
    const hdr h[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                     {"Host", "iam.amazonaws.com"},
                     {"X-Amz-Date", "20150830T123600Z"},
                     {NULL, NULL}};
    char *creq = sigv4_canonical_request("GET", "/", "Action=ListUsers&Version=2010-05-08",
                                         "content-type;host;x-amz-date", lookup_header, (void *)h,
                                         EMPTY_SHA);
    assert_string_equal(creq, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                              "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                              "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                              "content-type;host;x-amz-date\n" EMPTY_SHA);
    char *sts =
        sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", creq);
    assert_string_equal(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
                             "20150830/us-east-1/iam/aws4_request\n"
                             "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    unsigned char k[32];
    char hex[65], sig[65];
    assert_int_equal(sigv4_signing_key(DOC_SECRET, "20150830", "us-east-1", "iam", k), SM_OK);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    assert_string_equal(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    assert_int_equal(sigv4_signature(k, sts, sig), SM_OK);
    assert_string_equal(sig, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    free(creq);
    free(sts);

    /* And the whole request passes verification for service "iam". */
    const vec v = {
        "docs-iam",
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        NULL,
        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
         {"Host", "iam.amazonaws.com"},
         {"X-Amz-Date", "20150830T123600Z"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}}};
    expect_ok(&v, plain_keys, "iam", at("20150830T123600Z"));
}

/* ------------------------------------------------------------------ AWS's test suite */

#define SUITE_AUTH(signed, sig)                                                                    \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "            \
    "SignedHeaders=" signed ", Signature=" sig
#define HOST                                                                                       \
    {                                                                                              \
        "Host", "example.amazonaws.com"                                                            \
    }
#define DATE                                                                                       \
    {                                                                                              \
        "X-Amz-Date", "20150830T123600Z"                                                           \
    }
#define VANILLA "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
#define POST_VANILLA "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"

static const vec suite[] = {
    {"get-vanilla",
     "GET",
     "/",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", VANILLA)}}},
    {"get-header-key-duplicate",
     "GET",
     "/",
     "",
     NULL,
     {HOST,
      {"My-Header1", "value2,value2,value1"},
      DATE,
      {"Authorization",
       SUITE_AUTH("host;my-header1;x-amz-date",
                  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")}}},
    {"get-header-value-order",
     "GET",
     "/",
     "",
     NULL,
     {HOST,
      {"My-Header1", "value4,value1,value3,value2"},
      DATE,
      {"Authorization",
       SUITE_AUTH("host;my-header1;x-amz-date",
                  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01")}}},
    {"get-header-value-trim",
     "GET",
     "/",
     "",
     NULL,
     {HOST,
      {"My-Header1", " value1"},
      {"My-Header2", " \"a   b   c\""},
      DATE,
      {"Authorization",
       SUITE_AUTH("host;my-header1;my-header2;x-amz-date",
                  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")}}},
    {"get-unreserved",
     "GET",
     "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     "",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")}}},
    {"get-vanilla-empty-query-key",
     "GET",
     "/",
     "Param1=value1",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb")}}},
    {"get-vanilla-query-order-key",
     "GET",
     "/",
     "Param1=value2&Param1=Value1",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1")}}},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/",
     "Param2=value2&Param1=value1",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")}}},
    {"get-vanilla-query-order-value",
     "GET",
     "/",
     "Param1=value2&Param1=value1",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694")}}},
    {"get-vanilla-query-unreserved",
     "GET",
     "/",
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
     "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197")}}},
    {"get-vanilla-utf8-query",
     "GET",
     "/",
     "\xe1\x88\xb4=bar",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04")}}},
    {"post-header-key-case",
     "POST",
     "/",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", POST_VANILLA)}}},
    {"post-header-key-sort",
     "POST",
     "/",
     "",
     NULL,
     {HOST,
      {"My-Header1", "value1"},
      DATE,
      {"Authorization",
       SUITE_AUTH("host;my-header1;x-amz-date",
                  "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c")}}},
    {"post-header-value-case",
     "POST",
     "/",
     "",
     NULL,
     {HOST,
      {"My-Header1", "VALUE1"},
      DATE,
      {"Authorization",
       SUITE_AUTH("host;my-header1;x-amz-date",
                  "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d")}}},
    {"post-vanilla-query",
     "POST",
     "/",
     "Param1=value1",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11")}}},
    {"get-relative",
     "GET",
     "/example/..",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", VANILLA)}}},
    {"get-relative-relative",
     "GET",
     "/example1/example2/../..",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", VANILLA)}}},
    {"get-slash",
     "GET",
     "//",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", VANILLA)}}},
    {"get-slash-dot-slash",
     "GET",
     "/./",
     "",
     NULL,
     {HOST, DATE, {"Authorization", SUITE_AUTH("host;x-amz-date", VANILLA)}}},
    {"get-slash-pointless-dot",
     "GET",
     "/./example",
     "",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5")}}},
    {"get-slashes",
     "GET",
     "//example//",
     "",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84")}}},
    {"get-space",
     "GET",
     "/example space/",
     "",
     NULL,
     {HOST,
      DATE,
      {"Authorization",
       SUITE_AUTH("host;x-amz-date",
                  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741")}}},
};

static const key suite_token_keys[] = {{"AKIDEXAMPLE", DOC_SECRET, SUITE_TOKEN},
                                       {NULL, NULL, NULL}};
static const vec suite_sts[] = {
    /* The token is signed. */
    {"post-sts-header-before",
     "POST",
     "/",
     "",
     NULL,
     {HOST,
      DATE,
      {"X-Amz-Security-Token", SUITE_TOKEN},
      {"Authorization",
       SUITE_AUTH("host;x-amz-date;x-amz-security-token",
                  "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")}}},
    /* The token is sent but was added after signing: still the right token. */
    {"post-sts-header-after",
     "POST",
     "/",
     "",
     NULL,
     {HOST,
      DATE,
      {"X-Amz-Security-Token", SUITE_TOKEN},
      {"Authorization", SUITE_AUTH("host;x-amz-date", POST_VANILLA)}}},
};

static void aws_test_suite_vectors_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++)
        expect_ok(&suite[i], plain_keys, "service", at("20150830T123600Z"));
    for (size_t i = 0; i < sizeof suite_sts / sizeof suite_sts[0]; i++)
        expect_ok(&suite_sts[i], suite_token_keys, "service", at("20150830T123600Z"));
}

static void aws_test_suite_canonical_forms(void **state)
{
    (void)state;
    static const struct {
        const char *path, *query, *signed_headers, *expected;
        hdr h[4];
    } cases[] = {
        {"/example space/",
         "",
         "host",
         "GET\n/example%20space/\n\nhost:h\n\nhost\n" EMPTY_SHA,
         {{"host", "h"}}},
        {"//example//",
         "",
         "host",
         "GET\n/example/\n\nhost:h\n\nhost\n" EMPTY_SHA,
         {{"host", "h"}}},
        {"/",
         "\xe1\x88\xb4=bar",
         "host",
         "GET\n/\n%E1%88%B4=bar\nhost:h\n\nhost\n" EMPTY_SHA,
         {{"host", "h"}}},
        {"/",
         "Param2=value2&Param1=value1&Param1=Value1",
         "host",
         "GET\n/\nParam1=Value1&Param1=value1&Param2=value2\nhost:h\n\nhost\n" EMPTY_SHA,
         {{"host", "h"}}},
        /* Already-encoded query components are decoded and encoded again, the same. */
        {"/",
         "a=%2Fb%20c&flag",
         "host",
         "GET\n/\na=%2Fb%20c&flag=\nhost:h\n\nhost\n" EMPTY_SHA,
         {{"host", "h"}}},
        {"/",
         "",
         "host;my-header2",
         "GET\n/\n\nhost:h\nmy-header2:\"a b c\"\n\nhost;my-header2\n" EMPTY_SHA,
         {{"host", "h"}, {"My-Header2", "  \"a \t  b   c\"  "}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *c =
            sigv4_canonical_request("GET", cases[i].path, cases[i].query, cases[i].signed_headers,
                                    lookup_header, (void *)cases[i].h, EMPTY_SHA);
        assert_non_null(c);
        assert_string_equal(c, cases[i].expected);
        free(c);
    }
}

/* ------------------------------------------------------------------ the real SDKs */

#define SDK_HOST                                                                                   \
    {                                                                                              \
        "Host", "127.0.0.1:8765"                                                                   \
    }
#define BOTO_BODY "{\"TrainingJobName\": \"job-1\"}"
#define JS_BODY "{\"TrainingJobName\":\"job-1\"}"
#define BOTO_DATE "20261127T055300Z"

static const vec boto3_plain = {
    "boto3 1.26.27 / botocore 1.29.27",
    "POST",
    "/",
    "",
    BOTO_BODY,
    {{"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
     {"Content-Type", "application/x-amz-json-1.1"},
     {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Linux/6.18.44-fc-v782 awscrt/1.0.0.dev0 "
                    "Botocore/1.29.27"},
     SDK_HOST,
     {"X-Amz-Date", BOTO_DATE},
     {"Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/sagemaker/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      "Signature=efda3aa9d68105d8574397522578b6018c1102141984a8f244ada47b5b4e6233"},
     {"amz-sdk-invocation-id", "f4da9da1-7002-4835-9052-86ad71eaad73"},
     {"amz-sdk-request", "attempt=1"},
     {"Content-Length", "28"}}};

static const vec boto3_token = {
    "boto3 1.26.27 with a session token, eu-west-1",
    "POST",
    "/",
    "",
    BOTO_BODY,
    {{"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
     {"Content-Type", "application/x-amz-json-1.1"},
     SDK_HOST,
     {"X-Amz-Security-Token", BOTO_TOKEN},
     {"X-Amz-Date", BOTO_DATE},
     {"Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/sagemaker/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
      "Signature=1f0271694c82a5ef80ab70c8c539a6431863c02e55a96e4e5298cbf27766e35a"},
     {"amz-sdk-invocation-id", "fefa8008-56df-4a17-bf9e-e1d260bb3174"},
     {"amz-sdk-request", "attempt=1"},
     {"Content-Length", "28"}}};

static const vec botocore143_plain = {
    "botocore 1.43.11 (aws-cli 1.45.11)",
    "POST",
    "/",
    "",
    BOTO_BODY,
    {{"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
     {"Content-Type", "application/x-amz-json-1.1"},
     {"User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v782 "
                    "md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/D,N,Z,b,e "
                    "cfg/retry-mode#legacy Botocore/1.43.11"},
     {"X-Amz-Date", "20261127T070021Z"},
     {"Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/sagemaker/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      "Signature=7d937639e091038614c439f3a057d432bab24c722e8ab2d79d49d14f0e6e4049"},
     {"amz-sdk-invocation-id", "983dda3d-dbc6-4d04-be53-ebc7eb38f972"},
     {"amz-sdk-request", "attempt=1"},
     {"Content-Length", "28"},
     SDK_HOST}};

static const vec botocore143_token = {
    "botocore 1.43.11 with a session token, eu-west-1",
    "POST",
    "/",
    "",
    BOTO_BODY,
    {{"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
     {"Content-Type", "application/x-amz-json-1.1"},
     {"X-Amz-Date", "20261127T070022Z"},
     {"X-Amz-Security-Token", BOTO_TOKEN},
     {"Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/sagemaker/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
      "Signature=d46bfa540ebb6a5142d1610e9e17db07ae68083544da8298be197c59840b9185"},
     {"Content-Length", "28"},
     SDK_HOST}};

static const vec botocore_date_header = {
    "botocore 1.29.27 with a Date header, us-west-2",
    "POST",
    "/",
    "",
    BOTO_BODY,
    {{"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
     {"Content-Type", "application/x-amz-json-1.1"},
     {"Date", "Fri, 27 Nov 2026 05:53:00 -0000"},
     {"Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-west-2/sagemaker/aws4_request, "
      "SignedHeaders=content-type;date;host;x-amz-target, "
      "Signature=e75c92a780b1337a8bfe7553946842c04462afd1d202fe85002539d6cf8df7ef"},
     SDK_HOST}};

#define JS_SIGNED                                                                                  \
    "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-"        \
    "sha256;x-amz-date;"

static const vec js_plain = {
    "@aws-sdk/client-sagemaker 3.967.0",
    "POST",
    "/",
    "",
    JS_BODY,
    {{"content-type", "application/x-amz-json-1.1"},
     {"x-amz-target", "SageMaker.DescribeTrainingJob"},
     {"content-length", "27"},
     {"x-amz-user-agent", "aws-sdk-js/3.967.0"},
     {"user-agent", "aws-sdk-js/3.967.0 ua/2.1 os/linux#6.18.44-fc-v782 lang/js "
                    "md/nodejs#20.20.2 api/sagemaker#3.967.0 m/N,E,e"},
     {"host", "127.0.0.1:8765"},
     {"amz-sdk-invocation-id", "557a5c09-dfae-4c93-b664-a49153deb7f6"},
     {"amz-sdk-request", "attempt=1; max=3"},
     {"x-amz-date", "20261127T070024Z"},
     {"x-amz-content-sha256", "bc30cec56dacd8a80e381a62e454eae8e2dfa784b0fe630ed0f44b7b99e32411"},
     {"authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/sagemaker/aws4_request, "
      "SignedHeaders=" JS_SIGNED "x-amz-target;x-amz-user-agent, "
      "Signature=6a46af9b1e535ad39b00b8efb52d8ffe3d43bc20c3978c3756c213506566a4e9"}}};

static const vec js_token = {
    "@aws-sdk/client-sagemaker 3.967.0 with a session token, ap-southeast-2",
    "POST",
    "/",
    "",
    JS_BODY,
    {{"content-type", "application/x-amz-json-1.1"},
     {"x-amz-target", "SageMaker.DescribeTrainingJob"},
     {"content-length", "27"},
     {"x-amz-user-agent", "aws-sdk-js/3.967.0"},
     {"host", "127.0.0.1:8765"},
     {"amz-sdk-invocation-id", "92d6a180-1995-4e3e-a3c5-c34ca36ccf85"},
     {"amz-sdk-request", "attempt=1; max=3"},
     {"x-amz-date", "20261127T070025Z"},
     {"x-amz-security-token", JS_TOKEN},
     {"x-amz-content-sha256", "bc30cec56dacd8a80e381a62e454eae8e2dfa784b0fe630ed0f44b7b99e32411"},
     {"authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/ap-southeast-2/sagemaker/aws4_request, "
      "SignedHeaders=" JS_SIGNED "x-amz-security-token;x-amz-target;x-amz-user-agent, "
      "Signature=432cc33de8a15a39e8ad70b01eecc1be1dd33595fd0eb3fa9c1e6318313c6913"}}};

static const key boto_token_keys[] = {{"AKIDEXAMPLE", DOC_SECRET, BOTO_TOKEN}, {NULL, NULL, NULL}};
static const key js_token_keys[] = {{"AKIDEXAMPLE", DOC_SECRET, JS_TOKEN}, {NULL, NULL, NULL}};

static const char *date_of(const vec *v)
{
    const char *d = lookup_header((void *)v->h, "x-amz-date");
    return d ? d : BOTO_DATE;
}

static void requests_signed_by_the_real_sdks_verify(void **state)
{
    (void)state;
    expect_ok(&boto3_plain, plain_keys, "sagemaker", at(date_of(&boto3_plain)));
    expect_ok(&boto3_token, boto_token_keys, "sagemaker", at(date_of(&boto3_token)));
    expect_ok(&botocore143_plain, plain_keys, "sagemaker", at(date_of(&botocore143_plain)));
    expect_ok(&botocore143_token, boto_token_keys, "sagemaker", at(date_of(&botocore143_token)));
    expect_ok(&botocore_date_header, plain_keys, "sagemaker", at(BOTO_DATE));
    expect_ok(&js_plain, plain_keys, "sagemaker", at(date_of(&js_plain)));
    expect_ok(&js_token, js_token_keys, "sagemaker", at(date_of(&js_token)));
}

/* ------------------------------------------------------------------ refusals */

/* v's headers with `name` replaced by `value` (removed when NULL, added when absent). */
static void with_header(const vec *v, const char *name, const char *value, hdr out[MAXH + 2])
{
    int n = 0, found = 0;
    for (const hdr *h = v->h; h->name; h++) {
        if (strcasecmp(h->name, name) == 0) {
            found = 1;
            if (!value) continue;
            out[n++] = (hdr){h->name, value};
        } else {
            out[n++] = *h;
        }
    }
    if (!found && value) out[n++] = (hdr){name, value};
    out[n] = (hdr){NULL, NULL};
}

static void expect_refusal(const vec *v, const char *name, const char *value, const key *keys,
                           int64_t now_ms, const char *code, const char *message)
{
    hdr h[MAXH + 2];
    with_header(v, name, value, h);
    sigv4_result res;
    int rc = run(v, h, keys, "sagemaker", now_ms, &res);
    if (rc != SM_ERR || !res.code || strcmp(res.code, code) != 0)
        fail_msg("%s=%s: expected %s, got rc %d %s: %s", name, value ? value : "(none)", code, rc,
                 res.code ? res.code : "(accepted)", res.message ? res.message : "");
    assert_string_equal(res.message, message);
    sigv4_result_free(&res);
}

#define BOTO_NOW (at(BOTO_DATE))
#define BOTO_AUTH(cred, signed, sig)                                                               \
    "AWS4-HMAC-SHA256 Credential=" cred ", SignedHeaders=" signed ", Signature=" sig
#define BOTO_SIG "efda3aa9d68105d8574397522578b6018c1102141984a8f244ada47b5b4e6233"
#define BOTO_SIGNED "content-type;host;x-amz-date;x-amz-target"
#define BOTO_CRED "AKIDEXAMPLE/20261127/us-east-1/sagemaker/aws4_request"

static void missing_authorization_is_missing_authentication_token(void **state)
{
    (void)state;
    const char *msg = "Request is missing Authentication Token";
    expect_refusal(&boto3_plain, "Authorization", NULL, plain_keys, BOTO_NOW,
                   "MissingAuthenticationTokenException", msg);
    expect_refusal(&boto3_plain, "Authorization", "Basic dXNlcjpwYXNz", plain_keys, BOTO_NOW,
                   "MissingAuthenticationTokenException", msg);
    expect_refusal(&boto3_plain, "Authorization", "", plain_keys, BOTO_NOW,
                   "MissingAuthenticationTokenException", msg);
}

static void presigned_query_and_header_together_are_refused(void **state)
{
    (void)state;
    vec v = boto3_plain;
    v.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x";
    sigv4_result res;
    assert_int_equal(run(&v, NULL, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "InvalidSignatureException");
    assert_string_equal(res.message, "Found both 'X-Amz-Algorithm' as a query-string param and "
                                     "'Authorization' as HTTP header.");
    sigv4_result_free(&res);
    /* A presigned query alone is not supported: no Authorization header. */
    hdr h[MAXH + 2];
    with_header(&boto3_plain, "Authorization", NULL, h);
    assert_int_equal(run(&v, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "MissingAuthenticationTokenException");
    sigv4_result_free(&res);
}

static void incomplete_authorization_names_every_missing_part(void **state)
{
    (void)state;
    const char *inc = "IncompleteSignatureException";
    expect_refusal(&boto3_plain, "Authorization", "AWS4-HMAC-SHA256", plain_keys, BOTO_NOW, inc,
                   "Authorization header requires 'Credential' parameter. Authorization header "
                   "requires 'Signature' parameter. Authorization header requires "
                   "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256");
    const char *no_sig = "AWS4-HMAC-SHA256 Credential=" BOTO_CRED ", SignedHeaders=" BOTO_SIGNED;
    char want[512];
    snprintf(want, sizeof want,
             "Authorization header requires 'Signature' parameter. Authorization=%s", no_sig);
    expect_refusal(&boto3_plain, "Authorization", no_sig, plain_keys, BOTO_NOW, inc, want);
    const char *empty_sig = BOTO_AUTH(BOTO_CRED, BOTO_SIGNED, "");
    snprintf(want, sizeof want,
             "Authorization header requires 'Signature' parameter. Authorization=%s", empty_sig);
    expect_refusal(&boto3_plain, "Authorization", empty_sig, plain_keys, BOTO_NOW, inc, want);
    expect_refusal(&boto3_plain, "Authorization",
                   "AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders", plain_keys,
                   BOTO_NOW, inc,
                   "'Credential' not a valid key=value pair (missing equal-sign) in "
                   "Authorization header: 'AWS4-HMAC-SHA256 Signature=b,    Credential,    "
                   "SignedHeaders'.");
}

static void missing_date_is_incomplete(void **state)
{
    (void)state;
    hdr h[MAXH + 2];
    with_header(&boto3_plain, "X-Amz-Date", NULL, h);
    sigv4_result res;
    assert_int_equal(run(&boto3_plain, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "IncompleteSignatureException");
    char want[512];
    snprintf(want, sizeof want,
             "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
             "header. Authorization=%s",
             lookup_header((void *)boto3_plain.h, "authorization"));
    assert_string_equal(res.message, want);
    sigv4_result_free(&res);
}

static void malformed_dates_are_incomplete(void **state)
{
    (void)state;
    static const char *const bad[] = {"201",
                                      "20261127T055300",
                                      "20261127 055300Z",
                                      "20261327T055300Z",
                                      "20260229T000000Z",
                                      "20261127T245300Z",
                                      "2026-11-27T05:53:00Z",
                                      "Fri, 27 Nov 2026 05:53:00 GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                 "http://en.wikipedia.org/wiki/ISO_8601",
                 bad[i]);
        expect_refusal(&boto3_plain, "X-Amz-Date", bad[i], plain_keys, BOTO_NOW,
                       "IncompleteSignatureException", want);
    }
    /* A Date header that is not an HTTP date either. */
    hdr h[MAXH + 2];
    with_header(&botocore_date_header, "Date", "yesterday", h);
    sigv4_result res;
    assert_int_equal(run(&botocore_date_header, h, plain_keys, "sagemaker", BOTO_NOW, &res),
                     SM_ERR);
    assert_string_equal(res.message, "Date must be in ISO-8601 'basic format'. Got 'yesterday'. "
                                     "See http://en.wikipedia.org/wiki/ISO_8601");
    sigv4_result_free(&res);
}

static void signatures_expire_after_fifteen_minutes_either_way(void **state)
{
    (void)state;
    int64_t t = BOTO_NOW;
    /* The edges are still good. */
    expect_ok(&boto3_plain, plain_keys, "sagemaker", t + 900 * 1000 + 999);
    expect_ok(&boto3_plain, plain_keys, "sagemaker", t - 900 * 1000);
    expect_refusal(&boto3_plain, "X-Amz-Date", BOTO_DATE, plain_keys, t + 901 * 1000,
                   "InvalidSignatureException",
                   "Signature expired: 20261127T055300Z is now earlier than 20261127T055301Z "
                   "(20261127T060801Z - 15 min.)");
    expect_refusal(&boto3_plain, "X-Amz-Date", BOTO_DATE, plain_keys, t + 86400 * 1000,
                   "InvalidSignatureException",
                   "Signature expired: 20261127T055300Z is now earlier than 20261128T053800Z "
                   "(20261128T055300Z - 15 min.)");
    expect_refusal(&boto3_plain, "X-Amz-Date", BOTO_DATE, plain_keys, t - 901 * 1000,
                   "InvalidSignatureException",
                   "Signature not yet current: 20261127T055300Z is still later than "
                   "20261127T055259Z (20261127T053759Z + 15 min.)");
    /* Expiry is checked before the signature: a wrong key does not matter yet. */
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("NOBODY/20261127/us-east-1/sagemaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
        plain_keys, t + 3600 * 1000, "InvalidSignatureException",
        "Signature expired: 20261127T055300Z is now earlier than 20261127T063800Z "
        "(20261127T065300Z - 15 min.)");
}

static void host_must_be_signed(void **state)
{
    (void)state;
    expect_refusal(&boto3_plain, "Authorization",
                   BOTO_AUTH(BOTO_CRED, "content-type;x-amz-date;x-amz-target", BOTO_SIG),
                   plain_keys, BOTO_NOW, "InvalidSignatureException",
                   "'Host' must be a 'SignedHeader' in the AWS Authorization.");
}

static void only_aws4_hmac_sha256_is_supported(void **state)
{
    (void)state;
    expect_refusal(&boto3_plain, "Authorization",
                   "AWS4-HMAC-SHA25 Credential=" BOTO_CRED ", SignedHeaders=" BOTO_SIGNED
                   ", Signature=" BOTO_SIG,
                   plain_keys, BOTO_NOW, "IncompleteSignatureException",
                   "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for "
                   "now). ");
}

static void credential_needs_five_parts(void **state)
{
    (void)state;
    expect_refusal(&boto3_plain, "Authorization", BOTO_AUTH("a/b/c/d", BOTO_SIGNED, BOTO_SIG),
                   plain_keys, BOTO_NOW, "IncompleteSignatureException",
                   "Credential must have exactly 5 slash-delimited elements, e.g. "
                   "keyid/date/region/service/term, got 'a/b/c/d'");
    expect_refusal(&boto3_plain, "Authorization",
                   BOTO_AUTH(BOTO_CRED "/extra", BOTO_SIGNED, BOTO_SIG), plain_keys, BOTO_NOW,
                   "IncompleteSignatureException",
                   "Credential must have exactly 5 slash-delimited elements, e.g. "
                   "keyid/date/region/service/term, got '" BOTO_CRED "/extra'");
    /* Trailing slashes are ignored. */
    hdr h[MAXH + 2];
    with_header(&boto3_plain, "Authorization", BOTO_AUTH(BOTO_CRED "//", BOTO_SIGNED, BOTO_SIG), h);
    sigv4_result res;
    assert_int_equal(run(&boto3_plain, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_OK);
    sigv4_result_free(&res);
}

static void scope_errors_are_named_together(void **state)
{
    (void)state;
    const char *inv = "InvalidSignatureException";
    expect_refusal(&boto3_plain, "Authorization",
                   BOTO_AUTH("AKIDEXAMPLE/b/US_EAST/dynamodb/e", BOTO_SIGNED, BOTO_SIG), plain_keys,
                   BOTO_NOW, inv,
                   "Credential should be scoped to a valid region, not 'US_EAST'. Credential "
                   "should be scoped to correct service: 'sagemaker'. Credential should be "
                   "scoped with a valid terminator: 'aws4_request', not 'e'. Date in Credential "
                   "scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' "
                   "!= '20261127', from '20261127T055300Z'.");
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("AKIDEXAMPLE/20261127/US-EAST-1/sagemaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
        plain_keys, BOTO_NOW, inv,
        "Credential should be scoped to a valid region, not 'US-EAST-1'. ");
    expect_refusal(&boto3_plain, "Authorization",
                   BOTO_AUTH("AKIDEXAMPLE/20261127//sagemaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
                   plain_keys, BOTO_NOW, inv,
                   "Credential should be scoped to a valid region, not ''. ");
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("AKIDEXAMPLE/20261127/us-east-1/SageMaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
        plain_keys, BOTO_NOW, inv, "Credential should be scoped to correct service: 'sagemaker'. ");
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("AKIDEXAMPLE/20261127/us-east-1/sagemaker/aws4_requesT", BOTO_SIGNED, BOTO_SIG),
        plain_keys, BOTO_NOW, inv,
        "Credential should be scoped with a valid terminator: 'aws4_request', not "
        "'aws4_requesT'. ");
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("AKIDEXAMPLE/20261126/us-east-1/sagemaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
        plain_keys, BOTO_NOW, inv,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
        "date from HTTP: '20261126' != '20261127', from '20261127T055300Z'.");
}

static void unknown_access_key_is_unrecognized(void **state)
{
    (void)state;
    expect_refusal(
        &boto3_plain, "Authorization",
        BOTO_AUTH("AKIDOTHER/20261127/us-east-1/sagemaker/aws4_request", BOTO_SIGNED, BOTO_SIG),
        plain_keys, BOTO_NOW, "UnrecognizedClientException",
        "The security token included in the request is invalid.");
}

#define EXPECTED_CREQ                                                                              \
    "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:127.0.0.1:8765\n"                    \
    "x-amz-date:20261127T055300Z\nx-amz-target:SageMaker.DescribeTrainingJob\n\n"                  \
    "content-type;host;x-amz-date;x-amz-target\n"                                                  \
    "38fdf49d55e9d3884b837cfe874a760f194a3498a977f436824827804e2c2b41"
#define EXPECTED_STS                                                                               \
    "AWS4-HMAC-SHA256\n20261127T055300Z\n20261127/us-east-1/sagemaker/aws4_request\n"              \
    "9f0a013ed6d0743ea49ad95e4ebf3ec92c57e2636bd7cd209a7d1d6baef56c14"
#define MISMATCH                                                                                   \
    "The request signature we calculated does not match the signature you provided. Check "        \
    "your AWS Secret Access Key and signing method. Consult the service documentation for "        \
    "details.\n\nThe Canonical String for this request should have been\n'" EXPECTED_CREQ          \
    "'\n\nThe String-to-Sign should have been\n'" EXPECTED_STS "'\n"

static void wrong_signature_shows_the_expected_canonical_request(void **state)
{
    (void)state;
    const key wrong_secret[] = {{"AKIDEXAMPLE", "not-the-secret", NULL}, {NULL, NULL, NULL}};
    expect_refusal(&boto3_plain, "X-Amz-Date", BOTO_DATE, wrong_secret, BOTO_NOW,
                   "InvalidSignatureException", MISMATCH);
    /* One character off, upper case, too short, too long. */
    static const char *const sigs[] = {
        "efda3aa9d68105d8574397522578b6018c1102141984a8f244ada47b5b4e6234",
        "EFDA3AA9D68105D8574397522578B6018C1102141984A8F244ADA47B5B4E6233",
        "efda3aa9d68105d8574397522578b6018c1102141984a8f244ada47b5b4e623",
        "efda3aa9d68105d8574397522578b6018c1102141984a8f244ada47b5b4e62330"};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        char a[512];
        snprintf(a, sizeof a, "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s",
                 BOTO_CRED, BOTO_SIGNED, sigs[i]);
        expect_refusal(&boto3_plain, "Authorization", a, plain_keys, BOTO_NOW,
                       "InvalidSignatureException", MISMATCH);
    }
    /* A signed header changed in transit. */
    hdr h[MAXH + 2];
    with_header(&boto3_plain, "X-Amz-Target", "SageMaker.StopTrainingJob", h);
    sigv4_result res;
    assert_int_equal(run(&boto3_plain, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "InvalidSignatureException");
    assert_non_null(strstr(res.canonical_request, "x-amz-target:SageMaker.StopTrainingJob\n"));
    sigv4_result_free(&res);
    /* An unsigned header may change (botocore adds amz-sdk-* after signing). */
    with_header(&boto3_plain, "amz-sdk-request", "attempt=2", h);
    assert_int_equal(run(&boto3_plain, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_OK);
    sigv4_result_free(&res);
}

static void the_body_is_part_of_the_signature(void **state)
{
    (void)state;
    sigv4_result res;
    /* botocore: no x-amz-content-sha256, the body's hash is signed. */
    vec v = boto3_plain;
    v.body = "{\"TrainingJobName\": \"job-2\"}";
    assert_int_equal(run(&v, NULL, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "InvalidSignatureException");
    sigv4_result_free(&res);
    /* JS: x-amz-content-sha256 is signed, and must be the body's hash. */
    vec j = js_plain;
    j.body = "{\"TrainingJobName\":\"job-2\"}";
    assert_int_equal(run(&j, NULL, plain_keys, "sagemaker", at(date_of(&j)), &res), SM_ERR);
    assert_string_equal(res.code, "InvalidSignatureException");
    assert_string_equal(res.message, "The provided 'x-amz-content-sha256' header does not match "
                                     "what was computed.");
    sigv4_result_free(&res);
}

static void session_tokens_must_match_the_key(void **state)
{
    (void)state;
    const char *bad = "The security token included in the request is invalid";
    /* Key issued with a token, request without one. */
    expect_refusal(&boto3_plain, "X-Amz-Date", BOTO_DATE, boto_token_keys, BOTO_NOW,
                   "UnrecognizedClientException", bad);
    /* Key without a token, request with one. */
    expect_refusal(&boto3_token, "X-Amz-Date", BOTO_DATE, plain_keys, BOTO_NOW,
                   "UnrecognizedClientException", bad);
    /* A different token (the signature is good: it covers the token that was sent). */
    const key other[] = {{"AKIDEXAMPLE", DOC_SECRET, "another-token"}, {NULL, NULL, NULL}};
    expect_refusal(&boto3_token, "X-Amz-Date", BOTO_DATE, other, BOTO_NOW,
                   "UnrecognizedClientException", bad);
    expect_refusal(&js_token, "x-amz-date", "20261127T070025Z", other, at("20261127T070025Z"),
                   "UnrecognizedClientException", bad);
}

static void dates_and_equality_helpers(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(sigv4_parse_amz_date("20150830T123600Z", &t), SM_OK);
    assert_int_equal(t, 1440938160);
    assert_int_equal(sigv4_parse_amz_date("20240229T235959Z", &t), SM_OK);
    assert_int_equal(t, 1709251199);
    assert_int_equal(sigv4_parse_amz_date("20230229T000000Z", &t), SM_EINVAL);
    assert_int_equal(sigv4_parse_amz_date("20150830T123660Z", &t), SM_EINVAL);
    assert_int_equal(sigv4_parse_amz_date("2015083OT123600Z", &t), SM_EINVAL);
    assert_true(sigv4_equal("token", "token"));
    assert_false(sigv4_equal("token", "token2"));
    assert_false(sigv4_equal("", "x"));
    char hex[65];
    sigv4_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, EMPTY_SHA);
}

/* ------------------------------------------------------------------ credentials file */

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/sagemock-creds-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void clear_env(void)
{
    unsetenv("SAGEMOCK_ACCESS_KEY_ID");
    unsetenv("SAGEMOCK_SECRET_ACCESS_KEY");
    unsetenv("SAGEMOCK_SESSION_TOKEN");
}

static int init_text(const char *text, char *why, size_t whylen)
{
    char *path = write_temp(text);
    int rc = auth_init(path, why, whylen);
    unlink(path);
    return rc;
}

static void credentials_file_in_aws_format_loads(void **state)
{
    (void)state;
    clear_env();
    char why[512] = "";
    int rc = init_text("# test keys\n"
                       "[default]\n"
                       "aws_access_key_id = AKIDEXAMPLE\n"
                       "aws_secret_access_key=" DOC_SECRET "\r\n"
                       "region = us-east-1\n"
                       "\n"
                       "[profile ci]\n"
                       "  aws_access_key_id   =   AKIDCI  \n"
                       "aws_secret_access_key = s3cr3t/+=\n"
                       "aws_session_token = tok\n"
                       "[role-only]\n"
                       "role_arn = arn:aws:iam::123456789012:role/x\n"
                       "; end\n",
                       why, sizeof why);
    if (rc != SM_OK) fail_msg("%s", why);
    assert_int_equal(auth_key_count(), 2);
    auth_free();
    assert_int_equal(auth_key_count(), 0);
}

static void bad_credentials_files_are_refused_without_echoing_secrets(void **state)
{
    (void)state;
    clear_env();
    static const struct {
        const char *text, *reason;
    } cases[] = {
        {"aws_access_key_id = A\n", "line 1: a key before any [section]"},
        {"[a]\naws_access_key_id = A\n", "has no aws_secret_access_key"},
        {"[a]\naws_secret_access_key = TOPSECRET\n", "without aws_access_key_id"},
        {"[a]\njust a line\n", "line 2: expected key = value"},
        {"[a\n", "line 1: expected [section]"},
        {"[a]\naws_access_key_id = A\naws_secret_access_key = TOPSECRET\n[b]\n"
         "aws_access_key_id = A\naws_secret_access_key = OTHERSECRET\n",
         "access key id A is defined twice"},
        {"# nothing\n", "needs at least one access key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[512] = "";
        assert_int_equal(init_text(cases[i].text, why, sizeof why), SM_EINVAL);
        if (!strstr(why, cases[i].reason)) fail_msg("case %zu: %s", i, why);
        assert_null(strstr(why, "TOPSECRET"));
        assert_null(strstr(why, "OTHERSECRET"));
        assert_int_equal(auth_key_count(), 0);
    }
    char why[512];
    assert_int_equal(auth_init("/nonexistent/credentials", why, sizeof why), SM_EINVAL);
    assert_non_null(strstr(why, "cannot open"));
}

static void credentials_from_the_environment(void **state)
{
    (void)state;
    char why[512];
    clear_env();
    setenv("SAGEMOCK_ACCESS_KEY_ID", "AKIDENV", 1);
    assert_int_equal(auth_init(NULL, why, sizeof why), SM_EINVAL);
    assert_non_null(strstr(why, "must be set together"));
    setenv("SAGEMOCK_SECRET_ACCESS_KEY", "envsecret", 1);
    assert_int_equal(auth_init(NULL, why, sizeof why), SM_OK);
    assert_int_equal(auth_key_count(), 1);
    /* The same key in the file and the environment, identical: one key. */
    assert_int_equal(init_text("[e]\naws_access_key_id=AKIDENV\naws_secret_access_key=envsecret\n",
                               why, sizeof why),
                     SM_OK);
    assert_int_equal(auth_key_count(), 1);
    /* ... with another token: ambiguous. */
    setenv("SAGEMOCK_SESSION_TOKEN", "envtoken", 1);
    assert_int_equal(init_text("[e]\naws_access_key_id=AKIDENV\naws_secret_access_key=envsecret\n",
                               why, sizeof why),
                     SM_EINVAL);
    clear_env();
    auth_free();
}

/* ------------------------------------------------------------------ the gate hooks */

static const char *req_header(void *transport, const char *name)
{
    return lookup_header(transport, name);
}

static sm_req request_from(const vec *v, hdr *h, int64_t wall_ms)
{
    sm_req r = {0};
    r.method = v->method;
    r.path = v->path;
    r.query = "";
    r.authorization = lookup_header(h, "authorization");
    r.header = req_header;
    r.transport = h;
    r.body = v->body ? strdup(v->body) : NULL;
    r.body_len = v->body ? strlen(v->body) : 0;
    r.wall_ms = wall_ms;
    r.now_ms = 0; /* the simulated clock plays no part */
    return r;
}

static void auth_check_uses_the_wall_clock_and_replies_aws_errors(void **state)
{
    (void)state;
    char why[512];
    clear_env();
    setenv("SAGEMOCK_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("SAGEMOCK_SECRET_ACCESS_KEY", DOC_SECRET, 1);
    assert_int_equal(auth_init(NULL, why, sizeof why), SM_OK);
    clear_env();

    hdr h[MAXH + 2];
    with_header(&js_plain, "x-amz-date", "20261127T070024Z", h);
    cfg.auth = CFG_AUTH_NONE;
    sm_req r = request_from(&js_plain, h, 0);
    assert_int_equal(auth_check(&r), SM_OK); /* --auth none: anything goes */
    cfg.auth = CFG_AUTH_SIGV4;
    r.wall_ms = at("20261127T070024Z") + 60000;
    r.now_ms = r.wall_ms + 86400000LL * 365;
    assert_int_equal(auth_check(&r), SM_OK);
    assert_null(r.reply_body);

    r.wall_ms = at("20261127T070024Z") + 3600000;
    r.now_ms = at("20261127T070024Z"); /* even when the simulated clock agrees */
    assert_int_equal(auth_check(&r), SM_ERR);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_code, "InvalidSignatureException");
    assert_non_null(strstr(r.reply_body, "\"__type\":\"InvalidSignatureException\""));
    assert_non_null(strstr(r.reply_body, "Signature expired: 20261127T070024Z"));
    req_free(&r);

    with_header(&js_plain, "authorization", NULL, h);
    r = request_from(&js_plain, h, at("20261127T070024Z"));
    assert_int_equal(auth_check(&r), SM_ERR);
    assert_string_equal(r.reply_body, "{\"__type\":\"MissingAuthenticationTokenException\","
                                      "\"message\":\"Request is missing Authentication Token\"}");
    req_free(&r);
    cfg.auth = CFG_AUTH_NONE;
    auth_free();
}

/* The region a request acts on is the verified scope's; a part given twice is refused, so that
 * no reader of the header can take another Credential than the one verified (issue 13). */
static void repeated_parts_are_incomplete_and_the_verified_region_is_handed_back(void **state)
{
    (void)state;
    hdr h[MAXH + 2];
    sigv4_result res;
    assert_int_equal(run(&boto3_plain, boto3_plain.h, plain_keys, "sagemaker", BOTO_NOW, &res),
                     SM_OK);
    assert_string_equal(res.region, "us-east-1");
    sigv4_result_free(&res);

    const char *forged =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/sagemaker/aws4_request, "
        "Credential=" BOTO_CRED ", SignedHeaders=" BOTO_SIGNED ", Signature=" BOTO_SIG;
    with_header(&boto3_plain, "Authorization", forged, h);
    assert_int_equal(run(&boto3_plain, h, plain_keys, "sagemaker", BOTO_NOW, &res), SM_ERR);
    assert_string_equal(res.code, "IncompleteSignatureException");
    assert_non_null(strstr(res.message, "more than one 'Credential' parameter"));
    assert_string_equal(res.region, "");
    sigv4_result_free(&res);
    expect_refusal(&boto3_plain, "Authorization",
                   BOTO_AUTH(BOTO_CRED, BOTO_SIGNED, BOTO_SIG) ", Signature=" BOTO_SIG, plain_keys,
                   BOTO_NOW, "IncompleteSignatureException",
                   "Authorization header has more than one 'Signature' parameter: '" BOTO_AUTH(
                       BOTO_CRED, BOTO_SIGNED, BOTO_SIG) ", Signature=" BOTO_SIG "'.");
    /* Parts are split on white space too, as Coral splits them. */
    expect_refusal(&boto3_plain, "Authorization",
                   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE /20261127/us-east-1/sagemaker/"
                   "aws4_request, SignedHeaders=" BOTO_SIGNED ", Signature=" BOTO_SIG,
                   plain_keys, BOTO_NOW, "IncompleteSignatureException",
                   "'/20261127/us-east-1/sagemaker/aws4_request' not a valid key=value pair "
                   "(missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 "
                   "Credential=AKIDEXAMPLE /20261127/us-east-1/sagemaker/aws4_request, "
                   "SignedHeaders=" BOTO_SIGNED ", Signature=" BOTO_SIG "'.");
}

/* --auth none: the scope's region is read the way sigv4_verify reads it, and a header it
 * would refuse first is refused. */
static void scope_without_verification(void **state)
{
    (void)state;
    sigv4_result res;
    assert_int_equal(sigv4_scope(NULL, &res), SM_OK);
    assert_string_equal(res.region, "");
    assert_int_equal(sigv4_scope("Bearer x", &res), SM_OK);
    assert_string_equal(res.region, "");
    assert_int_equal(sigv4_scope("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x", &res), SM_OK);
    assert_string_equal(res.region, "");
    assert_int_equal(sigv4_scope(" AWS4-HMAC-SHA256 Credential=AK/20200101/eu-north-1/sagemaker/"
                                 "aws4_request/,SignedHeaders=host,Signature=x",
                                 &res),
                     SM_OK);
    assert_string_equal(res.region, "eu-north-1");
    assert_string_equal(res.access_key_id, "AK");
    sigv4_result_free(&res);
    static const struct {
        const char *auth, *code, *text;
    } bad[] = {
        {"AWS4-HMAC-SHA256 Credential=AK/20200101/eu-west-1/sagemaker/aws4_request, "
         "Credential=AK/20200101/us-east-1/sagemaker/aws4_request",
         "IncompleteSignatureException", "more than one 'Credential'"},
        {"AWS4-HMAC-SHA256 Credential=AK/eu-west-1/sagemaker/aws4_request",
         "IncompleteSignatureException", "exactly 5 slash-delimited elements"},
        {"AWS4-HMAC-SHA256 Credential", "IncompleteSignatureException",
         "not a valid key=value pair"},
        {"AWS4-HMAC-SHA256 Credential=AK/20200101/Eu-West-1/sagemaker/aws4_request",
         "InvalidSignatureException", "scoped to a valid region, not 'Eu-West-1'"},
        {"AWS4-HMAC-SHA256 Credential=AK/20200101//sagemaker/aws4_request",
         "InvalidSignatureException", "scoped to a valid region, not ''"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sigv4_scope(bad[i].auth, &res);
        if (rc != SM_ERR || !res.code || strcmp(res.code, bad[i].code) ||
            !strstr(res.message, bad[i].text))
            fail_msg("%s: rc %d %s %s", bad[i].auth, rc, res.code ? res.code : "-",
                     res.message ? res.message : "-");
        assert_string_equal(res.region, "");
        sigv4_result_free(&res);
    }
}

/* auth_check sets the request's region from the verified (or, --auth none, the read) scope. */
static void auth_check_sets_the_region_of_the_scope(void **state)
{
    (void)state;
    char why[512];
    clear_env();
    setenv("SAGEMOCK_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("SAGEMOCK_SECRET_ACCESS_KEY", DOC_SECRET, 1);
    assert_int_equal(auth_init(NULL, why, sizeof why), SM_OK);
    clear_env();
    hdr h[MAXH + 2];
    with_header(&boto3_plain, "x-amz-date", BOTO_DATE, h);
    cfg.auth = CFG_AUTH_SIGV4;
    sm_req r = request_from(&boto3_plain, h, BOTO_NOW);
    assert_int_equal(auth_check(&r), SM_OK);
    assert_string_equal(r.region, "us-east-1");
    req_free(&r);
    cfg.auth = CFG_AUTH_NONE;
    with_header(&boto3_plain, "Authorization",
                "AWS4-HMAC-SHA256 Credential=x/y/ap-south-1/z/w, SignedHeaders=h, Signature=s", h);
    r = request_from(&boto3_plain, h, 0);
    assert_int_equal(auth_check(&r), SM_OK);
    assert_string_equal(r.region, "ap-south-1");
    req_free(&r);
    with_header(&boto3_plain, "Authorization",
                "AWS4-HMAC-SHA256 Credential=x/y/ap-south-1/z/w, Credential=x/y/us-east-1/z/w", h);
    r = request_from(&boto3_plain, h, 0);
    assert_int_equal(auth_check(&r), SM_ERR);
    assert_string_equal(r.error_code, "IncompleteSignatureException");
    assert_string_equal(r.region, "");
    req_free(&r);
    auth_free();
}

static void admin_token_guard(void **state)
{
    (void)state;
    hdr none[] = {{NULL, NULL}}, bearer[] = {{"Authorization", "Bearer s3cret"}, {NULL, NULL}},
        custom[] = {{"X-Sagemock-Admin-Token", "s3cret"}, {NULL, NULL}},
        wrong[] = {{"Authorization", "Bearer s3cre"}, {NULL, NULL}};
    const vec v = {"admin", "GET", "/_sagemock/clock", "", NULL, {{NULL, NULL}}};
    cfg.admin_token = NULL;
    sm_req r = request_from(&v, none, 0);
    assert_int_equal(auth_admin_check(&r), SM_OK);
    cfg.admin_token = "s3cret";
    assert_int_equal(auth_admin_check(&r), SM_ERR);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.reply_body, "\"error\""));
    assert_null(strstr(r.reply_body, "s3cret"));
    req_free(&r);
    r = request_from(&v, bearer, 0);
    assert_int_equal(auth_admin_check(&r), SM_OK);
    r = request_from(&v, custom, 0);
    assert_int_equal(auth_admin_check(&r), SM_OK);
    r = request_from(&v, wrong, 0);
    assert_int_equal(auth_admin_check(&r), SM_ERR);
    assert_int_equal(r.status, 401);
    req_free(&r);
    cfg.admin_token = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(docs_iam_example_gives_the_published_signature),
        cmocka_unit_test(repeated_parts_are_incomplete_and_the_verified_region_is_handed_back),
        cmocka_unit_test(scope_without_verification),
        cmocka_unit_test(auth_check_sets_the_region_of_the_scope),
        cmocka_unit_test(aws_test_suite_vectors_verify),
        cmocka_unit_test(aws_test_suite_canonical_forms),
        cmocka_unit_test(requests_signed_by_the_real_sdks_verify),
        cmocka_unit_test(missing_authorization_is_missing_authentication_token),
        cmocka_unit_test(presigned_query_and_header_together_are_refused),
        cmocka_unit_test(incomplete_authorization_names_every_missing_part),
        cmocka_unit_test(missing_date_is_incomplete),
        cmocka_unit_test(malformed_dates_are_incomplete),
        cmocka_unit_test(signatures_expire_after_fifteen_minutes_either_way),
        cmocka_unit_test(host_must_be_signed),
        cmocka_unit_test(only_aws4_hmac_sha256_is_supported),
        cmocka_unit_test(credential_needs_five_parts),
        cmocka_unit_test(scope_errors_are_named_together),
        cmocka_unit_test(unknown_access_key_is_unrecognized),
        cmocka_unit_test(wrong_signature_shows_the_expected_canonical_request),
        cmocka_unit_test(the_body_is_part_of_the_signature),
        cmocka_unit_test(session_tokens_must_match_the_key),
        cmocka_unit_test(dates_and_equality_helpers),
        cmocka_unit_test(credentials_file_in_aws_format_loads),
        cmocka_unit_test(bad_credentials_files_are_refused_without_echoing_secrets),
        cmocka_unit_test(credentials_from_the_environment),
        cmocka_unit_test(auth_check_uses_the_wall_clock_and_replies_aws_errors),
        cmocka_unit_test(admin_token_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
