/*
 * reply.h: every response body of sagemock is written here.
 *
 * Handlers reply with cJSON and never know the protocol: reply_json() and reply_error()
 * encode in the protocol the request came in (r->protocol): awsJson 1.0/1.1 bodies, or awsQuery
 * XML (proto_query.h) shaped by the operation's output shape. reply_error() is the one
 * function that writes an AWS error, with the status that code has on the real service: the
 * service model's error shapes say it (IAM's NoSuchEntity: 404), else a short table (500/503
 * for simulated internal failures, 413), else 400. Helpers that have already replied return
 * SM_ERR and their callers just return.
 */
#ifndef SM_REPLY_H
#define SM_REPLY_H

#include "req.h"

#define APPLICATION_AMZ_JSON "application/x-amz-json-1.1"
#define APPLICATION_AMZ_JSON_1_0 "application/x-amz-json-1.0"
#define INTERNAL_FAILURE_TEXT                                                                      \
    "The request processing has failed because of an unknown error, exception or failure."

/* Takes ownership of `out` (frees it). Status 200. Returns SM_OK, or SM_ENOMEM (then it has
 * replied InternalFailure). */
int reply_json(sm_req *r, cJSON *out);
/* The same for an output already printed as JSON text (taken over: freed): sent as is to JSON
 * protocols, re-encoded for the others. */
int reply_json_text(sm_req *r, char *text);
/* Writes the error, replacing any reply already set. Returns SM_ERR so that handlers can
 * `return reply_error(...)`. */
int reply_error(sm_req *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* InternalFailure with the service's generic text (a store or allocation failure). */
int reply_internal(sm_req *r);
/* An error in the REST-XML shape (<Error><Code/><Message/><RequestId/></Error>), for requests
 * that no served protocol recognises. */
int reply_rest_error(sm_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether r's reply is an awsJson error (which carries x-amzn-ErrorType). */
int reply_is_json_error(const sm_req *r);
/* An admin API reply: any JSON, any status; takes ownership of `out`. */
int reply_admin(sm_req *r, int status, cJSON *out);
int reply_admin_error(sm_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A raw body with a content type (copied). */
int reply_raw(sm_req *r, int status, const char *type, const char *body, size_t len);

/* Timestamps on the wire: epoch seconds with a millisecond fraction, as a JSON number;
 * reply_time_text writes the number's text for a time ms >= 0. */
cJSON *reply_time(int64_t ms);
void reply_time_text(int64_t ms, char out[32]);

#endif
