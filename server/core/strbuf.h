/*
 * strbuf.h: a growable NUL-terminated text, for the modules that build messages and
 * canonical strings piece by piece (validate.c, model.c, sigv4.c).
 *
 * An allocation failure sets `oom` and makes every later append a no-op, so callers check
 * once at the end. The text is owned by the buffer until sb_take hands it over.
 */
#ifndef SM_STRBUF_H
#define SM_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct strbuf {
    char *p; /* NULL until the first append */
    size_t len, cap;
    int oom;
} strbuf;

void sb_putn(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
void sb_vprintf(strbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the text over (the caller frees it; "" when nothing was appended); NULL when an
 * allocation failed. The buffer is empty afterwards. */
char *sb_take(strbuf *b);

#endif
