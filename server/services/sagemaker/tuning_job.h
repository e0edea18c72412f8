/*
 * tuning_job.h: hyperparameter tuning jobs between the handlers, the store and the tuning engine
 * (engine/tuning.h).
 *
 * tuning_spec.c reads a CreateHyperParameterTuningJob request: the cross-field rules, the
 * defaults the service fills in, the engine's configuration, the request of a child training
 * job, and the scenario field "objective" (the response surface of the objective metric).
 * tuning_run.c runs the engine over a stored tuning job: it creates the children and sends the
 * stops the engine asks for, caches each child's outcome, and materialises the tuning job's
 * state. tuning_handlers.c holds the operations.
 *
 * Children are created lazily, by the same "advance due" mechanism ListTrainingJobs uses for
 * training jobs: a tuning job's row holds next_change_ms, the next time the engine will act
 * (launch a child, stop one, end); every read of a tuning job and every SageMaker training-job
 * operation first advances the tuning jobs that fell due (tuning_advance_due: one indexed
 * probe when none is), so no read shows a state older than the clock.
 */
#ifndef SM_TUNING_GLUE_H
#define SM_TUNING_GLUE_H

#include "create.h"
#include "lifecycle.h"
#include "req.h"
#include "store.h"
#include "tuning.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define TUNING_OBJECTIVE_HP "_tuning_objective_metric"

/* What the engine and the handlers need from one request (the normalised one, as stored).
 * Strings and the definitions' JSON are borrowed from the request and extra it was built from. */
typedef struct tuning_spec {
    tn_config cfg;
    tn_def defs[TN_MAX_DEFS];
    const cJSON *def_json[TN_MAX_DEFS]; /* each TrainingJobDefinition */
    const char *def_name[TN_MAX_DEFS];  /* DefinitionName, or "" */
    const char *metric[TN_MAX_DEFS];    /* the objective metric of each definition */
    const char *objective_type;         /* "Maximize" or "Minimize" */
    int multi;                          /* TrainingJobDefinitions (else TrainingJobDefinition) */
    int nprior;
    tn_obs prior[TN_MAX_CHILDREN]; /* warm start parents' evaluated points */
} tuning_spec;

/* Check the cross-field rules of a request that passed val_input and normalise it in place
 * (defaults filled; Tags left where they are). 0, or SM_EINVAL with e filled. Warm start
 * parents are looked up in `region` (inside the caller's transaction); on success *extra
 * (caller owns) holds what the job takes from them and its creation tags. */
int tuning_check(cJSON *in, const char *region, int64_t now_ms, cJSON **extra, create_error *e);

/* The engine's view of a normalised request. 0, or SM_EINVAL (a damaged row). */
int tuning_spec_build(const cJSON *req, const cJSON *extra, const char *name, int64_t created_ms,
                      int64_t stop_ms, tuning_spec *out);

/* The CreateTrainingJob request of a child (caller owns). */
cJSON *tuning_child_request(const tuning_spec *s, const cJSON *req, const cJSON *extra, int def,
                            const char *child_name, const char *tuning_arn, const cJSON *tuned);

/* The scenario field "objective" (see docs/FIXTURES.md): parse and check it. `in` may be NULL
 * (0: the defaults). 0, or SM_EINVAL with "objective...: reason" in err. */
int tuning_objective_from_json(const cJSON *in, tn_surface *out, const char **metric, char *err,
                               size_t errlen);

/* The ARN of a tuning job. */
void tuning_arn(const char *region, const char *name, char *out, size_t outlen);

/* The HyperParameterTuningJobStatus name. */
const char *tuning_status_name(tn_status s);

/* ---- tuning_run.c ---------------------------------------------------------------------------- */

/* One child as the handlers show it. */
typedef struct tuning_child_info {
    store_tuning_child row; /* tuned, outcome owned here */
    int exists;             /* its training job still exists */
    store_job job;          /* loaded whole when it exists */
    int has_view;           /* what the handlers show of its lifecycle view at now: */
    lc_primary primary;
    int64_t training_start_ms, training_end_ms; /* -1 absent */
    int64_t view_next_ms;                       /* when that view changes next, -1 never */
    char *failure_reason;                       /* NULL absent */
} tuning_child_info;

/* A tuning job evaluated at now: its spec, children and the engine's view. */
typedef struct tuning_state {
    store_tuning row;
    cJSON *req, *extra, *events;
    tuning_spec *spec;
    int n;
    tn_child *children;      /* n */
    tuning_child_info *info; /* n */
    int64_t **series_ms;     /* n arrays */
    double **series_v;
    tn_view view;
} tuning_state;

/* Bring every tuning job that fell due up to now: create its children, send its stops,
 * materialise its state. Runs its own transaction when something is due. Returns the number of
 * tuning jobs advanced or a negative code. */
int tuning_advance_due(int64_t now_ms);
/* The same inside the caller's transaction. */
int tuning_advance_due_in_tx(int64_t now_ms);
/* Advance one tuning job (inside the caller's transaction). */
int tuning_advance(store_tuning *t, int64_t now_ms);

/* Which children's lifecycle views tuning_state_load computes (has_view): none, every child's,
 * or only the best one's (all Describe shows). */
#define TUNING_VIEWS_NONE 0
#define TUNING_VIEWS_ALL 1
#define TUNING_VIEWS_BEST 2

/* Load tuning job `name` of `region` and evaluate it at now, with the children's views
 * with_children names (TUNING_VIEWS_*). When the job has an action due (it was not advanced), it is
 * advanced first, inside the caller's transaction when in_tx, else in its own. SM_ENOTFOUND, SM_OK,
 * or a negative code. Free with tuning_state_free (also after a failure). */
int tuning_state_load(const char *region, const char *name, int64_t now_ms, int with_children,
                      int in_tx, tuning_state *st);
void tuning_state_free(tuning_state *st);

/* The Describe body, a List summary, and a child's HyperParameterTrainingJobSummary. */
cJSON *tuning_describe(const tuning_state *st, int64_t now_ms);
cJSON *tuning_summary(const store_tuning *t);
cJSON *tuning_child_summary(const tuning_state *st, int i);
/* The simulated time until which tuning_describe(st, t) renders the same body for every t from
 * now_ms on, as long as the store does not change (the engine's next change, the best child's
 * view's, the next whole second of ConsumedResources while it runs); -1: for ever. */
int64_t tuning_valid_until(const tuning_state *st, int64_t now_ms);

/* A training job of a tuning job received a stop: have the tuning job re-evaluated. */
int tuning_touch_child(const char *region, const char *child_name, int64_t now_ms);

/* ---- tuning_view.c: rendered Describe bodies, per thread ----------------------------------
 * A body rendered at from_ms, valid until until_ms (-1: for ever) while the store stays at
 * stamp (store_tuning_stamp), is served again for the same region and name. */

/* The kept body of (region, name) at now_ms under stamp (caller owns), or NULL. */
char *tuning_view_get(const char *region, const char *name, const store_stamp *stamp,
                      int64_t now_ms);
/* Keep a copy of body (a failure to keep it is not an error). */
void tuning_view_put(const char *region, const char *name, const store_stamp *stamp,
                     int64_t from_ms, int64_t until_ms, const char *body);

/* ---- tuning_handlers.c: the operations (rows of service.c's table) ----------------------------
 */

int h_create_hyper_parameter_tuning_job(sm_req *r);
int h_describe_hyper_parameter_tuning_job(sm_req *r);
int h_list_hyper_parameter_tuning_jobs(sm_req *r);
int h_stop_hyper_parameter_tuning_job(sm_req *r);
int h_delete_hyper_parameter_tuning_job(sm_req *r);
int h_list_training_jobs_for_hyper_parameter_tuning_job(sm_req *r);
/* ListTags (handlers_tags.c serves both kinds of ARN) after the tuning jobs that fell due. */
int h_tuned_list_tags(sm_req *r);
/* The training-job operations with tuning_advance_due: reads before, writes after they succeeded
 * (handlers_jobs.c, handlers_list.c). */
int h_tuned_describe_training_job(sm_req *r);
int h_tuned_list_training_jobs(sm_req *r);
int h_tuned_stop_training_job(sm_req *r);
int h_tuned_update_training_job(sm_req *r);
int h_tuned_delete_training_job(sm_req *r);

/* GET /_sagemock/tuning-jobs (tuning_admin.c; a row of admin.c's table). */
int tuning_admin_jobs(sm_req *r);

#endif
