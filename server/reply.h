/*
 * reply.h: every response body of sagemock is written here.
 *
 * reply_error() is the one function that writes an AWS error: {"__type": code, "message":
 * text} with the status that code has on the real service (400 for client errors, so no SDK
 * retries them; 500/503 only for simulated internal failures). Helpers that have already
 * replied return SM_ERR and their callers just return.
 */
#ifndef SM_REPLY_H
#define SM_REPLY_H

#include "req.h"

#define APPLICATION_AMZ_JSON "application/x-amz-json-1.1"

/* Takes ownership of `out` (frees it). Status 200. Returns SM_OK, or SM_ENOMEM (then it has
 * replied InternalFailure). */
int reply_json(sm_req *r, cJSON *out);
/* Writes the error, replacing any reply already set. Returns SM_ERR so that handlers can
 * `return reply_error(...)`. */
int reply_error(sm_req *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An admin API reply: any JSON, any status; takes ownership of `out`. */
int reply_admin(sm_req *r, int status, cJSON *out);
int reply_admin_error(sm_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A raw body with a content type (copied). */
int reply_raw(sm_req *r, int status, const char *type, const char *body, size_t len);

/* Timestamps on the wire: epoch seconds with a millisecond fraction, as a JSON number. */
cJSON *reply_time(int64_t ms);

#endif
