/*
 * test_jsonutil.c: the JSON text writers (server/core/jsonutil.c) print exactly what cJSON
 * prints for the same string or number: bodies written as text must equal the bodies a cJSON
 * tree gave before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "strbuf.h"

static void same_number(double d)
{
    cJSON *n = cJSON_CreateNumber(d);
    char *want = cJSON_PrintUnformatted(n);
    strbuf b = {0};
    json_put_number(&b, d);
    json_put_number(&b, d); /* the second time from the thread's memo */
    char *got = sb_take(&b);
    char twice[128];
    snprintf(twice, sizeof twice, "%s%s", want, want);
    if (strcmp(got, twice) != 0)
        fail_msg("%.17g: cJSON prints %s, json_put_number %s", d, want, got);
    free(got);
    free(want);
    cJSON_Delete(n);
}

static void test_numbers_print_as_cjson_prints_them(void **state)
{
    (void)state;
    const double fixed[] = {0.0,
                            -0.0,
                            1,
                            -1,
                            0.1,
                            0.2,
                            1.0 / 3,
                            2.0 / 3,
                            1e-300,
                            5e-324,
                            1e300,
                            DBL_MAX,
                            -DBL_MAX,
                            DBL_MIN,
                            INT_MAX,
                            INT_MIN,
                            (double)INT_MAX + 1,
                            (double)INT_MIN - 1,
                            2147483647.5,
                            1e15,
                            1e16,
                            1e17,
                            123456789012345678.0,
                            0.30000000000000004,
                            1.7976931348623157e308,
                            NAN,
                            INFINITY,
                            -INFINITY,
                            1796419680.123,
                            0.412345678901234,
                            99.99999999999999};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same_number(fixed[i]);
    uint64_t x = 0x243f6a8885a308d3u; /* random bit patterns, and random decimals */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        same_number(d);
        same_number((double)(x % 2000001) / 1000.0 - 1000.0);
        same_number((double)(int64_t)(x >> 20) / (double)(1 + x % 97));
    }
}

static void test_strings_print_as_cjson_prints_them(void **state)
{
    (void)state;
    const char *s[] = {"",
                       "plain",
                       "quote\" backslash\\ slash/",
                       "\b\f\n\r\t",
                       "\x01\x1f\x7f",
                       "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",
                       "\xff\xfe invalid"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        cJSON *n = cJSON_CreateString(s[i]);
        char *want = cJSON_PrintUnformatted(n);
        strbuf b = {0};
        json_put_string(&b, s[i]);
        char *got = sb_take(&b);
        assert_string_equal(got, want);
        free(got);
        free(want);
        cJSON_Delete(n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_print_as_cjson_prints_them),
        cmocka_unit_test(test_strings_print_as_cjson_prints_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
