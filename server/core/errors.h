/*
 * errors.h: the one vocabulary of return codes for every module of sagemock.
 *
 * Functions return 0 on success or one of these negative codes; they never exit() and never
 * print: a refusal's reason goes into the caller's buffer (err_fail). Whoever finally answers the
 * client turns a code into an AWS error (reply.c).
 */
#ifndef SM_ERRORS_H
#define SM_ERRORS_H

#define SM_OK 0
#define SM_ERR -1       /* generic failure (already reported where it happened) */
#define SM_ENOMEM -2    /* allocation failed */
#define SM_ENOTFOUND -3 /* no such job / tag / row */
#define SM_EEXIST -4    /* unique key already taken */
#define SM_ESTORE -5    /* SQLite said no */
#define SM_EINVAL -6    /* caller passed something malformed */
#define SM_ESTATE -7    /* the job is not in a state that allows this */

#include <stddef.h>

/* Write why into err (errlen bytes; nothing when err is NULL) and return SM_EINVAL. */
__attribute__((format(printf, 3, 4))) int err_fail(char *err, size_t errlen, const char *fmt, ...);

#endif
