/*
 * test_token.c: NextToken encoding (server/token.c): round trip, and refusal of every kind of
 * altered, truncated, foreign or malformed token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "errors.h"
#include "token.h"

static const unsigned char secret[32] = "0123456789abcdef0123456789abcde";

static int setup(void **state)
{
    (void)state;
    tok_set_secret(secret, sizeof secret);
    return 0;
}

static void round_trip_gives_the_payload_back(void **state)
{
    (void)state;
    const char *payloads[] = {"L|us-east-1|0|1|1700000000123|42|", "T|7|3", "x",
                              "L|eu-west-1|1|0|5|6|my-job-name"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char tok[TOKEN_MAX], out[TOKEN_PAYLOAD_MAX];
        assert_int_equal(tok_encode(payloads[i], tok, sizeof tok), SM_OK);
        assert_int_equal(tok_decode(tok, out, sizeof out), SM_OK);
        assert_string_equal(out, payloads[i]);
    }
}

static void token_is_opaque_url_safe_text(void **state)
{
    (void)state;
    char tok[TOKEN_MAX];
    assert_int_equal(tok_encode("L|us-east-1|0|1|1700000000123|42|", tok, sizeof tok), SM_OK);
    assert_null(strstr(tok, "us-east-1"));
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        strlen(tok));
}

static void every_altered_character_is_refused(void **state)
{
    (void)state;
    char tok[TOKEN_MAX], out[TOKEN_PAYLOAD_MAX];
    assert_int_equal(tok_encode("T|7|3", tok, sizeof tok), SM_OK);
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        char bad[TOKEN_MAX];
        strcpy(bad, tok);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(tok_decode(bad, out, sizeof out), SM_EINVAL);
    }
}

static void truncated_and_malformed_tokens_are_refused(void **state)
{
    (void)state;
    char tok[TOKEN_MAX], out[TOKEN_PAYLOAD_MAX];
    assert_int_equal(tok_encode("L|us-east-1|0|1|1|2|", tok, sizeof tok), SM_OK);
    const char *bad[] = {"", ".", "abc", "abc.", ".abc", "not a token", "a.b.c", "%%%%.%%%%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tok_decode(bad[i], out, sizeof out), SM_EINVAL);
    tok[strlen(tok) - 1] = 0;
    assert_int_equal(tok_decode(tok, out, sizeof out), SM_EINVAL);
}

static void token_from_another_secret_is_refused(void **state)
{
    (void)state;
    char tok[TOKEN_MAX], out[TOKEN_PAYLOAD_MAX];
    assert_int_equal(tok_encode("T|7|3", tok, sizeof tok), SM_OK);
    static const unsigned char other[32] = "another secret of thirty-two by";
    tok_set_secret(other, sizeof other);
    assert_int_equal(tok_decode(tok, out, sizeof out), SM_EINVAL);
    tok_set_secret(secret, sizeof secret);
    assert_int_equal(tok_decode(tok, out, sizeof out), SM_OK);
}

static void oversized_payload_is_refused(void **state)
{
    (void)state;
    char big[TOKEN_PAYLOAD_MAX + 2], tok[TOKEN_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(tok_encode(big, tok, sizeof tok), SM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_gives_the_payload_back),
        cmocka_unit_test(token_is_opaque_url_safe_text),
        cmocka_unit_test(every_altered_character_is_refused),
        cmocka_unit_test(truncated_and_malformed_tokens_are_refused),
        cmocka_unit_test(token_from_another_secret_is_refused),
        cmocka_unit_test(oversized_payload_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
