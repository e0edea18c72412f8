/*
 * errors.c: the one way a module writes why it refused something (see errors.h).
 */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

int err_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SM_EINVAL;
}
