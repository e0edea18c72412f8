/*
 * tuning_handlers.c: CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob,
 * ListHyperParameterTuningJobs, StopHyperParameterTuningJob, DeleteHyperParameterTuningJob,
 * ListTrainingJobsForHyperParameterTuningJob; AddTags, ListTags and DeleteTags on tuning-job ARNs;
 * and the training-job operations wrapped so that the reads first advance the tuning jobs that
 * fell due (tuning_job.h: no read shows a state older than the clock), and the writes after
 * they succeeded.
 *
 * Errors the service is known to send keep its texts; the others are ours and name the members.
 * A missing tuning job is ResourceNotFound (the error shape the model gives these operations).
 */
#include "errors.h"
#include "handlers.h"
#include "jobs.h"
#include "jsonutil.h"
#include "reply.h"
#include "token.h"
#include "tuning_job.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_RESULTS 10

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *job_name(const sm_req *r)
{
    const char *n = json_string(r->input, "HyperParameterTuningJobName");
    return n ? n : "";
}

static int not_found(sm_req *r)
{
    return reply_error(r, "ResourceNotFound",
                       "Amazon SageMaker can't find a tuning job with name %s", job_name(r));
}

static int advance(sm_req *r, int in_tx)
{
    int rc = in_tx ? tuning_advance_due_in_tx(r->now_ms) : tuning_advance_due(r->now_ms);
    return rc < 0 ? reply_internal(r) : SM_OK;
}

/* ---- CreateHyperParameterTuningJob ------------------------------------------------------------
 */

int h_create_hyper_parameter_tuning_job(sm_req *r)
{
    if (advance(r, 1)) return SM_ERR; /* warm start parents at now */
    create_error e = {0};
    cJSON *extra = NULL;
    if (tuning_check(r->input, r->region, r->now_ms, &extra, &e) != SM_OK)
        return e.code ? reply_error(r, e.code, "%s", e.message) : reply_internal(r);
    cJSON *tags = cJSON_DetachItemFromObjectCaseSensitive(r->input, "Tags");
    store_tuning t = {0};
    snprintf(t.region, sizeof t.region, "%s", r->region);
    snprintf(t.name, sizeof t.name, "%s", job_name(r));
    tuning_arn(t.region, t.name, t.arn, sizeof t.arn);
    t.created_ms = r->now_ms;
    const char *strategy =
        json_string(member(r->input, "HyperParameterTuningJobConfig"), "Strategy");
    snprintf(t.strategy, sizeof t.strategy, "%s", strategy ? strategy : "Bayesian");
    t.request = cJSON_PrintUnformatted(r->input);
    t.extra = cJSON_PrintUnformatted(extra);
    t.events = strdup("[]");
    t.summary = strdup("{}");
    snprintf(t.status, sizeof t.status, "InProgress");
    t.last_modified_ms = r->now_ms;
    t.end_ms = -1;
    t.next_change_ms = r->now_ms;
    cJSON_Delete(extra);
    char existing[STORE_ARN_MAX], arn[STORE_ARN_MAX];
    snprintf(arn, sizeof arn, "%s", t.arn);
    int rc = t.request && t.extra && t.events && t.summary ? store_tuning_insert(&t, existing)
                                                           : SM_ENOMEM;
    int64_t id = t.id;
    store_tuning_clear(&t);
    if (rc == SM_EEXIST) {
        cJSON_Delete(tags);
        return reply_error(r, "ResourceInUse",
                           "Hyperparameter tuning job names must be unique within an AWS account "
                           "and region, and a hyperparameter tuning job with this name already "
                           "exists (%s)",
                           existing);
    }
    const cJSON *tag;
    cJSON_ArrayForEach(tag, tags)
    {
        if (rc == SM_OK)
            rc = store_tuning_tag_put(id, json_string(tag, "Key"), json_string(tag, "Value"));
    }
    cJSON_Delete(tags);
    if (rc == SM_OK) rc = store_tuning_get(r->region, job_name(r), &t);
    if (rc == SM_OK) rc = tuning_advance(&t, r->now_ms); /* the first children, now */
    store_tuning_clear(&t);
    if (rc != SM_OK) return reply_internal(r);
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddStringToObject(out, "HyperParameterTuningJobArn", arn);
    return reply_json(r, out);
}

/* ---- DescribeHyperParameterTuningJob ----------------------------------------------------------
 */

/* The body changes only at the times the engine and the best child's view say, or when the
 * store changes: a body rendered once is served from this thread's table until then
 * (tuning_view.c). */
int h_describe_hyper_parameter_tuning_job(sm_req *r)
{
    if (advance(r, 0)) return SM_ERR;
    store_stamp stamp;
    int rc = store_tuning_stamp(r->region, job_name(r), &stamp);
    if (rc == SM_ENOTFOUND) return not_found(r);
    if (rc != SM_OK) return reply_internal(r);
    char *body = tuning_view_get(r->region, job_name(r), &stamp, r->now_ms);
    if (body) return reply_json_text(r, body);
    tuning_state st;
    rc = tuning_state_load(r->region, job_name(r), r->now_ms, TUNING_VIEWS_BEST, 0, &st);
    cJSON *out = rc == SM_OK ? tuning_describe(&st, r->now_ms) : NULL;
    int64_t until = out ? tuning_valid_until(&st, r->now_ms) : -1;
    tuning_state_free(&st);
    if (rc == SM_ENOTFOUND) return not_found(r);
    body = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    if (!body) return reply_internal(r);
    tuning_view_put(r->region, job_name(r), &stamp, r->now_ms, until, body);
    return reply_json_text(r, body);
}

/* ---- ListHyperParameterTuningJobs ---------------------------------------------------------------
 */

static int64_t time_member(const cJSON *in, const char *name)
{
    const cJSON *v = member(in, name);
    double s = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsString(v) ? atof(v->valuestring) : -1;
    if (!(s >= 0)) return -1;
    if (s > 1e15) return INT64_MAX;
    return (int64_t)(s * 1000.0 + 0.5);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

typedef struct row_list {
    store_tuning *rows;
    int n, cap, oom;
} row_list;

static int collect_row(store_tuning *t, void *arg)
{
    row_list *l = arg;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        store_tuning *more = realloc(l->rows, (size_t)cap * sizeof *more);
        if (!more) {
            l->oom = 1;
            return 1;
        }
        l->rows = more;
        l->cap = cap;
    }
    l->rows[l->n++] = *t;
    memset(t, 0, sizeof *t); /* taken over */
    return 0;
}

typedef struct sort_ctx {
    int by, desc;
} sort_ctx;

static __thread sort_ctx tl_sort;

static int cmp_rows(const void *a, const void *b)
{
    const store_tuning *x = a, *y = b;
    int c;
    if (tl_sort.by == 1)
        c = strcmp(x->status, y->status);
    else if (tl_sort.by == 2)
        c = (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
    else
        c = strcmp(x->name, y->name);
    if (!c) c = (x->id > y->id) - (x->id < y->id);
    return tl_sort.desc ? -c : c;
}

/* Offset tokens: "<kind>|<scope>|<sort>|<desc>|<offset>", HMAC-signed (token.c). */
static int token_offset(sm_req *r, const char *kind, const char *scope, int sort, int desc,
                        int *offset)
{
    const char *token = json_string(r->input, "NextToken");
    *offset = 0;
    if (!token || !*token) return SM_OK;
    char payload[TOKEN_PAYLOAD_MAX], want[TOKEN_PAYLOAD_MAX];
    snprintf(want, sizeof want, "%s|%s|%d|%d|", kind, scope, sort, desc);
    if (tok_decode(token, payload, sizeof payload) != SM_OK ||
        strncmp(payload, want, strlen(want)) != 0 ||
        sscanf(payload + strlen(want), "%d", offset) != 1 || *offset < 0)
        return reply_error(r, "ValidationException", "Invalid NextToken.");
    return SM_OK;
}

static void token_add(cJSON *out, const char *kind, const char *scope, int sort, int desc,
                      int offset)
{
    char payload[TOKEN_PAYLOAD_MAX], tok[TOKEN_MAX];
    snprintf(payload, sizeof payload, "%s|%s|%d|%d|%d", kind, scope, sort, desc, offset);
    if (tok_encode(payload, tok, sizeof tok) == SM_OK)
        cJSON_AddStringToObject(out, "NextToken", tok);
}

static int sort_index(const char *by, const char *const *names, int n, int dflt)
{
    for (int i = 0; by && i < n; i++)
        if (!strcmp(by, names[i])) return i;
    return dflt;
}

int h_list_hyper_parameter_tuning_jobs(sm_req *r)
{
    if (advance(r, 0)) return SM_ERR;
    const cJSON *in = r->input;
    static const char *const sorts[] = {"Name", "Status", "CreationTime"};
    /* The model's documented defaults: Name, Ascending. (inferred) the filters apply before
     * the page is cut (the documentation says nothing either way). */
    int sort = sort_index(json_string(in, "SortBy"), sorts, 3, 0);
    const char *order = json_string(in, "SortOrder");
    int desc = order && !strcmp(order, "Descending");
    int want = (int)json_number(in, "MaxResults", DEFAULT_MAX_RESULTS), offset;
    if (token_offset(r, "H", r->region, sort, desc, &offset)) return SM_ERR;
    row_list l = {0};
    int n = store_tuning_each(r->region, 1 << 20, collect_row, &l);
    if (n < 0 || l.oom) {
        for (int i = 0; i < l.n; i++)
            store_tuning_clear(&l.rows[i]);
        free(l.rows);
        return reply_internal(r);
    }
    const char *name = json_string(in, "NameContains"), *status = json_string(in, "StatusEquals");
    int64_t ca = time_member(in, "CreationTimeAfter"), cb = time_member(in, "CreationTimeBefore");
    int64_t ma = time_member(in, "LastModifiedTimeAfter"),
            mb = time_member(in, "LastModifiedTimeBefore");
    int k = 0;
    for (int i = 0; i < l.n; i++) {
        store_tuning *t = &l.rows[i];
        int pass = (!name || contains_nocase(t->name, name)) &&
                   (!status || !strcmp(status, t->status)) && (ca < 0 || t->created_ms > ca) &&
                   (cb < 0 || t->created_ms < cb) && (ma < 0 || t->last_modified_ms > ma) &&
                   (mb < 0 || t->last_modified_ms < mb);
        if (pass)
            l.rows[k++] = *t;
        else
            store_tuning_clear(t);
    }
    l.n = k;
    tl_sort = (sort_ctx){sort, desc};
    if (l.n > 1) qsort(l.rows, (size_t)l.n, sizeof *l.rows, cmp_rows);
    cJSON *out = cJSON_CreateObject(),
          *a = cJSON_AddArrayToObject(out, "HyperParameterTuningJobSummaries");
    for (int i = offset; a && i < l.n && i < offset + want; i++) {
        cJSON *s = tuning_summary(&l.rows[i]);
        if (s) cJSON_AddItemToArray(a, s);
    }
    if (out && offset + want < l.n) token_add(out, "H", r->region, sort, desc, offset + want);
    for (int i = 0; i < l.n; i++)
        store_tuning_clear(&l.rows[i]);
    free(l.rows);
    return a ? reply_json(r, out) : (cJSON_Delete(out), reply_internal(r));
}

/* ---- StopHyperParameterTuningJob, DeleteHyperParameterTuningJob -------------------------------
 */

int h_stop_hyper_parameter_tuning_job(sm_req *r)
{
    if (advance(r, 1)) return SM_ERR;
    store_tuning t;
    int rc = store_tuning_get(r->region, job_name(r), &t);
    if (rc == SM_ENOTFOUND) return not_found(r);
    if (rc != SM_OK) return reply_internal(r);
    if (strcmp(t.status, "InProgress") != 0) {
        reply_error(r, "ValidationException",
                    "The request was rejected because the hyperparameter tuning job is in status "
                    "%s.",
                    t.status);
        store_tuning_clear(&t);
        return SM_ERR;
    }
    char events[96];
    snprintf(events, sizeof events, "[{\"kind\":\"stop\",\"at\":%" PRId64 "}]", r->now_ms);
    rc = store_tuning_update(t.id, events, t.summary, t.status, t.last_modified_ms, t.end_ms,
                             r->now_ms);
    store_tuning_clear(&t);
    if (rc == SM_OK) rc = store_tuning_get(r->region, job_name(r), &t);
    if (rc == SM_OK) rc = tuning_advance(&t, r->now_ms); /* stops the running children now */
    store_tuning_clear(&t);
    return rc == SM_OK ? reply_json(r, cJSON_CreateObject()) : reply_internal(r);
}

int h_delete_hyper_parameter_tuning_job(sm_req *r)
{
    if (advance(r, 1)) return SM_ERR;
    store_tuning t;
    int rc = store_tuning_get(r->region, job_name(r), &t);
    if (rc == SM_ENOTFOUND) return not_found(r);
    if (rc != SM_OK) return reply_internal(r);
    /* (inferred) only a tuning job that ended can be deleted, as for training jobs */
    if (strcmp(t.status, "Completed") && strcmp(t.status, "Failed") &&
        strcmp(t.status, "Stopped")) {
        reply_error(r, "ValidationException",
                    "Hyperparameter tuning job %s cannot be deleted while it is in status %s. Only "
                    "tuning jobs in a terminal state (Completed, Failed or Stopped) can be "
                    "deleted; stop it first.",
                    t.name, t.status);
        store_tuning_clear(&t);
        return SM_ERR;
    }
    rc = store_tuning_delete(t.id); /* its training jobs stay */
    store_tuning_clear(&t);
    return rc == SM_OK ? reply_json(r, cJSON_CreateObject()) : reply_internal(r);
}

/* ---- ListTrainingJobsForHyperParameterTuningJob -----------------------------------------------
 */

typedef struct child_row {
    cJSON *summary;
    const char *name, *status;
    int64_t created_ms;
    int has_obj;
    double obj;
    int idx;
} child_row;

static int cmp_children(const void *a, const void *b)
{
    const child_row *x = a, *y = b;
    int c;
    if (tl_sort.by == 1)
        c = (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
    else if (tl_sort.by == 2)
        c = strcmp(x->status, y->status);
    else if (tl_sort.by == 3)
        c = (x->obj > y->obj) - (x->obj < y->obj);
    else
        c = strcmp(x->name, y->name);
    if (!c) c = (x->idx > y->idx) - (x->idx < y->idx);
    return tl_sort.desc ? -c : c;
}

int h_list_training_jobs_for_hyper_parameter_tuning_job(sm_req *r)
{
    if (advance(r, 0)) return SM_ERR;
    const cJSON *in = r->input;
    static const char *const sorts[] = {"Name", "CreationTime", "Status",
                                        "FinalObjectiveMetricValue"};
    int sort = sort_index(json_string(in, "SortBy"), sorts, 4, 0);
    const char *order = json_string(in, "SortOrder");
    int desc = order && !strcmp(order, "Descending");
    int want = (int)json_number(in, "MaxResults", DEFAULT_MAX_RESULTS), offset;
    const char *status = json_string(in, "StatusEquals");
    char scope[STORE_NAME_MAX + 40];
    snprintf(scope, sizeof scope, "%s/%s/%s", r->region, job_name(r), status ? status : "");
    for (char *p = scope; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (token_offset(r, "C", scope, sort, desc, &offset)) return SM_ERR;
    tuning_state st;
    int rc = tuning_state_load(r->region, job_name(r), r->now_ms, TUNING_VIEWS_ALL, 0, &st);
    if (rc != SM_OK) {
        tuning_state_free(&st);
        return rc == SM_ENOTFOUND ? not_found(r) : reply_internal(r);
    }
    child_row *rows = calloc((size_t)st.n + 1, sizeof *rows);
    int n = 0;
    for (int i = 0; rows && i < st.n; i++) {
        if (!st.info[i].exists) continue; /* its training job was deleted */
        cJSON *s = tuning_child_summary(&st, i);
        if (!s) continue;
        const char *cs = json_string(s, "TrainingJobStatus");
        int has_obj = st.children[i].obj == TN_OBJ_SUCCEEDED;
        /* "any training jobs that did not return an objective metric are not listed" */
        if ((status && strcmp(status, cs ? cs : "")) || (sort == 3 && !has_obj)) {
            cJSON_Delete(s);
            continue;
        }
        rows[n++] = (child_row){s,
                                json_string(s, "TrainingJobName"),
                                cs ? cs : "",
                                st.info[i].row.created_ms,
                                has_obj,
                                st.children[i].obj_value,
                                i};
    }
    tl_sort = (sort_ctx){sort, desc};
    if (n > 1) qsort(rows, (size_t)n, sizeof *rows, cmp_children);
    cJSON *out = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(out, "TrainingJobSummaries");
    for (int i = 0; i < n; i++) {
        if (a && i >= offset && i < offset + want)
            cJSON_AddItemToArray(a, rows[i].summary);
        else
            cJSON_Delete(rows[i].summary);
    }
    if (out && offset + want < n) token_add(out, "C", scope, sort, desc, offset + want);
    free(rows);
    tuning_state_free(&st);
    return rows && a ? reply_json(r, out) : (cJSON_Delete(out), reply_internal(r));
}

/* ---- tags on tuning-job ARNs --------------------------------------------------------------------
 */

int h_tuned_list_tags(sm_req *r)
{
    return advance(r, 0) ? SM_ERR : h_list_tags(r);
}

/* ---- the training-job operations, after the tuning jobs that fell due ------------------------ */

int h_tuned_describe_training_job(sm_req *r)
{
    return advance(r, 0) ? SM_ERR : h_describe_training_job(r);
}

int h_tuned_list_training_jobs(sm_req *r)
{
    return advance(r, 0) ? SM_ERR : h_list_training_jobs(r);
}

/* The writes advance the tuning jobs after they succeeded (inside the gate's transaction), so a
 * refused request runs the statements it always ran. */
static int then_advance(sm_req *r, int rc)
{
    if (r->error_code) return rc;
    return tuning_advance_due_in_tx(r->now_ms) < 0 ? reply_internal(r) : rc;
}

int h_tuned_stop_training_job(sm_req *r)
{
    int rc = h_stop_training_job(r);
    /* A child stopped by hand ends earlier: its tuning job is due now (its slot frees sooner). */
    const char *name = json_string(r->input, "TrainingJobName");
    if (!r->error_code && tuning_touch_child(r->region, name ? name : "", r->now_ms) != SM_OK)
        return reply_internal(r);
    return then_advance(r, rc);
}

int h_tuned_update_training_job(sm_req *r)
{
    return then_advance(r, h_update_training_job(r));
}

int h_tuned_delete_training_job(sm_req *r)
{
    return then_advance(r, h_delete_training_job(r));
}
