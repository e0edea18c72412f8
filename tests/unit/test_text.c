/*
 * test_text.c: UTF-8 checks and escaping (server/core/text.c): what the gate, the admin API and
 * fixtures refuse, and how logs and the journal write what a client sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "text.h"

static void utf8_is_rfc3629(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t bad; /* offset of the first invalid byte, or (size_t)-1 */
    } cases[] = {
        {"plain ascii", (size_t)-1},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", (size_t)-1},
        {"\xef\xbf\xbd", (size_t)-1},     /* U+FFFD itself */
        {"\xf4\x8f\xbf\xbf", (size_t)-1}, /* U+10FFFF */
        {"a\xff", 1},                     /* never in UTF-8 */
        {"ab\xc0\xaf", 2},                /* overlong '/' */
        {"\xe0\x80\xaf", 0},              /* overlong, 3 bytes */
        {"\xed\xa0\x80", 0},              /* a surrogate (U+D800) */
        {"\xf4\x90\x80\x80", 0},          /* past U+10FFFF */
        {"x\xc3", 1},                     /* cut short */
        {"\xe2\x82", 0},                  /* cut short */
        {"\xc3\x28", 0},                  /* bad continuation */
        {"ok\x80", 2},                    /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].s);
        size_t want = cases[i].bad == (size_t)-1 ? n : cases[i].bad;
        if (text_utf8_invalid_at(cases[i].s, n) != want)
            fail_msg("case %zu: got %zu, want %zu", i, text_utf8_invalid_at(cases[i].s, n), want);
    }
}

static void json_texts_without_nul_or_bad_bytes(void **state)
{
    (void)state;
    char why[160];
    size_t at = 0;
    const char ok[] = "{\"a\":\"caf\xc3\xa9\",\"b\":\"\\\\u0000 is text\",\"c\":\"\\u0001\"}";
    assert_int_equal(text_json_check(ok, strlen(ok), &at, why, sizeof why), SM_OK);
    const char nul_escape[] = "{\"TrainingJobName\":\"bj-ok\\u0000evil\"}";
    assert_int_equal(text_json_check(nul_escape, strlen(nul_escape), &at, why, sizeof why),
                     SM_EINVAL);
    assert_int_equal(at, 25);
    assert_string_equal(why, "holds the escape \\u0000 (offset 25): strings must not contain NUL "
                             "characters");
    const char key_escape[] = "{\"a\\u0000x\":1}";
    assert_int_equal(text_json_check(key_escape, strlen(key_escape), &at, why, sizeof why),
                     SM_EINVAL);
    const char bad[] = "{\"a\":\"\xff\"}";
    assert_int_equal(text_json_check(bad, strlen(bad), &at, why, sizeof why), SM_EINVAL);
    assert_string_equal(why, "is not valid UTF-8 (byte 0xff at offset 6)");
    const char raw_nul[] = "{\"a\":\"x\0y\"}";
    assert_int_equal(text_json_check(raw_nul, sizeof raw_nul - 1, &at, why, sizeof why), SM_EINVAL);
    assert_string_equal(why, "holds a NUL byte (offset 7)");
    /* A backslash outside a string is cJSON's to refuse; an escaped quote keeps the string
     * open. */
    const char quote[] = "{\"a\":\"\\\"\\u0000\"}";
    assert_int_equal(text_json_check(quote, strlen(quote), &at, why, sizeof why), SM_EINVAL);
}

static void decoded_trees_are_checked(void **state)
{
    (void)state;
    char why[160];
    cJSON *o = cJSON_CreateObject();
    cJSON *tags = cJSON_AddArrayToObject(o, "Tags");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddItemToArray(tags, t);
    cJSON_AddStringToObject(t, "Key", "ok");
    assert_int_equal(text_tree_check(o, why, sizeof why), SM_OK);
    cJSON_AddStringToObject(t, "Value", "a\xff");
    assert_int_equal(text_tree_check(o, why, sizeof why), SM_EINVAL);
    assert_string_equal(why, "The value at 'Tags[0].Value' is not valid UTF-8.");
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bad\xc3", 1);
    assert_int_equal(text_tree_check(o, why, sizeof why), SM_EINVAL);
    cJSON_Delete(o);
}

static char *escaped(const char *s, size_t max, unsigned flags)
{
    strbuf b = {0};
    text_escape(&b, s, max, flags);
    return sb_take(&b);
}

static char *quoted(const char *s, size_t max)
{
    strbuf b = {0};
    text_json_string(&b, s, max);
    return sb_take(&b);
}

static void log_values_cannot_forge_lines_or_drive_terminals(void **state)
{
    (void)state;
    struct {
        const char *in, *text, *json;
    } cases[] = {
        {"x\nFORGED line\r\t", "x\\nFORGED line\\r\\t", "\"x\\nFORGED line\\r\\t\""},
        {"\x1b[31mred\x7f", "\\x1b[31mred\\x7f", "\"\\u001b[31mred\\u007f\""},
        {"c1 \xc2\x9b"
         "2J",
         "c1 \\u009b2J", "\"c1 \\u009b2J\""},
        {"bad \xff byte", "bad \\xff byte", "\"bad \\ufffd byte\""},
        {"back\\slash \"q\"", "back\\\\slash \"q\"", "\"back\\\\slash \\\"q\\\"\""},
        {"ok caf\xc3\xa9", "ok caf\xc3\xa9", "\"ok caf\xc3\xa9\""},
        {"ls\xe2\x80\xa8", "ls\xe2\x80\xa8", "\"ls\\u2028\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = escaped(cases[i].in, 100, 0), *j = quoted(cases[i].in, 100);
        assert_string_equal(t, cases[i].text);
        assert_string_equal(j, cases[i].json);
        free(t);
        free(j);
    }
    char *t = escaped("a b", 100, TEXT_ESC_SPACE);
    assert_string_equal(t, "a\\x20b");
    free(t);
    t = escaped(NULL, 100, 0);
    assert_string_equal(t, "-");
    free(t);
    t = escaped("0123456789", 4, 0);
    assert_string_equal(t, "0123...");
    free(t);
}

static void copies_replace_what_is_not_utf8(void **state)
{
    (void)state;
    int changed = 0;
    char *c = text_utf8_dup("ok\xc3\xa9", 4, &changed);
    assert_string_equal(c, "ok\xc3\xa9");
    assert_false(changed);
    free(c);
    c = text_utf8_dup("a\xff\0b", 4, &changed);
    assert_string_equal(c, "a\xef\xbf\xbd\xef\xbf\xbd"
                           "b");
    assert_true(changed);
    free(c);
    char s[] = "x\xffy\xc3";
    text_utf8_scrub(s);
    assert_string_equal(s, "x?y?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_is_rfc3629),
        cmocka_unit_test(json_texts_without_nul_or_bad_bytes),
        cmocka_unit_test(decoded_trees_are_checked),
        cmocka_unit_test(log_values_cannot_forge_lines_or_drive_terminals),
        cmocka_unit_test(copies_replace_what_is_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
