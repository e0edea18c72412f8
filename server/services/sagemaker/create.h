/*
 * create.h: creating a training job (CreateTrainingJob and fixture seed jobs); see create.c.
 */
#ifndef SM_CREATE_H
#define SM_CREATE_H

#include "store.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct create_error {
    const char *code; /* "ValidationException", "ResourceInUse"... */
    char message[2048];
} create_error;

/* Fill e (when given) with an error code and its message; returns SM_EINVAL. */
__attribute__((format(printf, 3, 4))) int create_err(create_error *e, const char *code,
                                                     const char *fmt, ...);

/* The cross-field rules of a request that passed val_input. 0, or SM_EINVAL with e filled. */
int create_check(const cJSON *in, create_error *e);

/* The profiler defaults the service fills in, on Create and after UpdateTrainingJob: a
 * ProfilerConfig that does not disable profiling gets ProfilingIntervalInMilliseconds 500 (real
 * describes of SDK-made jobs that sent only S3OutputPath; the model's documented default), each
 * ProfilerRuleConfigurations entry VolumeSizeInGB 0 (the same describes). Members present are
 * kept. 0 or SM_ENOMEM. */
int create_fill_profiler(cJSON *req);

/* The Available warm pools of the store, indexed by what a takeover must match: for the seed
 * jobs of one fixture document, created in one transaction at one now, so that seeding n jobs
 * reads the pools once instead of scanning all of them for each job. */
typedef struct create_pools create_pools;
create_pools *create_pools_new(void); /* NULL when out of memory */
void create_pools_free(create_pools *p);

typedef struct create_opts {
    const char *region;
    int64_t created_ms; /* CreationTime */
    int64_t now_ms;     /* the request's now (>= created_ms) */
    /* Force this scenario (seed jobs): its name and JSON text; NULL: tag, rules, default. */
    const char *scenario_name, *scenario_json;
    int64_t stop_at_ms; /* seed jobs: a StopTrainingJob at this time; -1 none */
    /* Seed jobs of one batch (one transaction, one now_ms): the pool index; NULL for an API
     * call (the store's pools are scanned). */
    create_pools *pools;
} create_opts;

/*
 * A job in two steps, so that CreateTrainingJob holds the write lock for its writes alone:
 * create_build() fills the request's defaults, chooses the scenario and computes the first
 * state, outside any transaction (it reads no store); create_insert() stores the row and its
 * tags and takes a warm pool over, inside the caller's transaction. `in` (a request that passed
 * val_input and create_check) is modified (defaults filled, Tags detached) and must outlive the
 * row. create_build: 0 (*out owned by the caller: create_row_free), SM_EINVAL (e filled: an
 * unknown scenario) or another negative code. create_insert: as create_job below, with the
 * same o.
 */
typedef struct create_row create_row;
int create_build(cJSON *in, const create_opts *o, create_row **out, create_error *e);
int create_insert(create_row *row, const create_opts *o, char arn[STORE_ARN_MAX], create_error *e);
void create_row_free(create_row *row);

/*
 * Create the job inside the caller's transaction (create_build, then create_insert). `in` (a
 * request that passed val_input and create_check) is modified: defaults filled, Tags detached. On
 * success arn holds the ARN. Returns 0; SM_EEXIST (ResourceInUse in e) when the name is taken;
 * SM_EINVAL (e filled) for an unknown scenario; other negative codes for store or allocation
 * failures.
 */
int create_job(cJSON *in, const create_opts *o, char arn[STORE_ARN_MAX], create_error *e);

#endif
