/*
 * text.h: every text that comes in is valid UTF-8 without NUL, and every text that goes out to
 * a log, the journal or a JSON document is too, whatever bytes a client sent.
 *
 * Input checks (the gate, the admin API, fixtures): text_json_check() refuses a JSON text that
 * is not UTF-8, holds a NUL byte, or a "\u0000" escape inside a string (cJSON keeps strings as
 * C strings, so it would silently cut "a\u0000b" to "a"); text_tree_check() refuses a decoded
 * document (awsQuery forms, CBOR) whose names or strings are not UTF-8.
 *
 * Output: text_escape() writes a value for a text log line (control characters, backslash,
 * invalid bytes escaped, so a value can neither end the line nor drive a terminal);
 * text_json_string() writes a JSON string literal that is valid UTF-8 and free of raw control
 * characters (C0, DEL, C1, U+2028/2029 as \u escapes, invalid bytes as U+FFFD);
 * text_utf8_dup() copies bytes with invalid sequences replaced by U+FFFD.
 *
 * Pure: no I/O, no globals. UTF-8 is RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF.
 */
#ifndef SM_TEXT_H
#define SM_TEXT_H

#include "strbuf.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s[0..n) (1 to 4), or 0 when s[0] starts none. */
int text_utf8_len(const unsigned char *s, size_t n);
/* Offset of the first byte of s[0..n) that is not valid UTF-8, or n when all of it is. */
size_t text_utf8_invalid_at(const char *s, size_t n);

/* A JSON text s[0..n): SM_OK, or SM_EINVAL with the end of a sentence in why ("is not valid
 * UTF-8 (byte 0xff at offset 27)", "holds a NUL byte (offset 3)", "holds the escape \u0000
 * (offset 9): ...") for invalid UTF-8, a NUL byte, or a \u0000 escape inside a string. *at
 * (may be NULL) gets the offset. */
int text_json_check(const char *s, size_t n, size_t *at, char *why, size_t whylen);
/* Every object member name and string of v is valid UTF-8: SM_OK, else SM_EINVAL with the
 * member path in why. */
int text_tree_check(const cJSON *v, char *why, size_t whylen);

/* Flags of text_escape. */
#define TEXT_ESC_SPACE 1 /* also escape ' ' (a value in a key=value text line) */

/* Append s (NUL-terminated, may be NULL: "-") escaped for a text log line, at most max bytes
 * of it (then "..."): \n \r \t \\ as such, other C0, DEL, C1 controls and invalid bytes as
 * \xNN (C1 as \u0080..\u009f). */
void text_escape(strbuf *b, const char *s, size_t max, unsigned flags);
/* Append s as a JSON string literal (quotes included), at most max bytes of s (then "..."). */
void text_json_string(strbuf *b, const char *s, size_t max);
/* A malloc'd NUL-terminated copy of s[0..n) with each invalid byte replaced by U+FFFD and NUL
 * bytes by U+FFFD; *changed (may be NULL) set when anything was replaced. NULL when out of
 * memory. */
char *text_utf8_dup(const char *s, size_t n, int *changed);
/* Replace, in place, each byte of s that is not valid UTF-8 by '?'. */
void text_utf8_scrub(char *s);

#endif
