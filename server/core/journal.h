/*
 * journal.h: the request journal: every AWS API call of every service, kept in a bounded ring,
 * so a test can assert what its code asked ("StopTrainingJob was called once for job X",
 * "GetLogEvents was read for the job's stream").
 *
 * An entry holds the wall and simulated times, service, operation (or, when none was routed,
 * the target, action or method and path the client sent), job name, region, HTTP status,
 * error code, latency, request id and the request body (cut at JOURNAL_BODY_MAX bytes; bytes
 * that are not UTF-8 replaced by U+FFFD, the entry then marked "bodyNotUtf8").
 * Headers are never recorded, so no Authorization header or signature ever is. Thread-safe.
 */
#ifndef SM_JOURNAL_H
#define SM_JOURNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_BODY_MAX 4096

typedef struct journal_entry {
    int64_t wall_ms, sim_ms;
    const char *service;   /* static (the service table), or NULL */
    const char *operation; /* copied */
    const char *job;       /* may be NULL */
    const char *region;
    int status;
    const char *error_code; /* may be NULL */
    double latency_ms;
    const char *request_id;
    const char *body;
    size_t body_len;
} journal_entry;

/* Size the ring (entries); 0 disables the journal. Call before serving. */
int journal_init(int capacity);
void journal_free(void);
/* Copy an entry in (the strings are copied; the body is cut at JOURNAL_BODY_MAX). */
void journal_record(const journal_entry *e);
void journal_clear(void);

typedef struct journal_query {
    const char *service;   /* NULL: any */
    const char *operation; /* NULL: any */
    const char *job;       /* NULL: any (exact name) */
    int status;            /* 0: any; 4 or 5: that class (4xx, 5xx); else exact */
    int64_t since_wall_ms; /* -1: none; entries at or after it */
    int limit;             /* most entries returned, newest first */
} journal_query;

/* {"requests": [...newest first...], "total": recorded since start, "capacity": n}; caller
 * owns. */
cJSON *journal_query_json(const journal_query *q);

#endif
