/*
 * handlers_list.c: ListTrainingJobs.
 *
 * As on the real service, a page is the next MaxResults jobs in sort order, and the filters
 * are applied to that page afterwards: "the MaxResults number of training jobs are first
 * retrieved ignoring the StatusEquals parameter and then they are filtered" (model doc; moto's
 * maintainers confirmed it against AWS). Pages may therefore be short, or empty with a
 * NextToken; paginators keep going while a NextToken is present.
 *
 * Default order: CreationTime, newest first, when neither SortBy nor SortOrder is given (what
 * the real service does, though a member doc says Ascending); SortOrder alone keeps
 * CreationTime; SortBy alone is Ascending, the documented default.
 */
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "handlers.h"
#include "reply.h"
#include "token.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_RESULTS 10

typedef struct filters {
    const char *name_contains;
    const char *status;
    const char *warm_pool;
    const char *training_plan; /* TrainingPlanArnEquals: exact */
    int64_t created_after, created_before, modified_after, modified_before; /* -1: none */
} filters;

typedef struct page {
    const filters *f;
    int64_t now_ms;
    int want;       /* MaxResults */
    int seen;       /* rows visited */
    store_job last; /* the last row of the page (for the NextToken) */
    strbuf out;     /* the reply, written as text */
    int nsummaries;
    jobs_ctx *ctx; /* for jobs whose warm pool needs the whole job; allocated when first needed */
    int oom;
} page;

static int64_t time_member(const cJSON *in, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
    double s = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsString(v) ? atof(v->valuestring) : -1;
    if (!(s >= 0)) return -1;       /* absent, negative or NaN: no filter */
    if (s > 1e15) return INT64_MAX; /* past any representable time: the far future */
    return (int64_t)(s * 1000.0 + 0.5);
}

static const char *str_member(const cJSON *in, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return n == 0;
}

static int passes(const filters *f, const store_job *j)
{
    if (f->name_contains && !contains_nocase(j->name, f->name_contains)) return 0;
    if (f->status && strcmp(f->status, j->status) != 0) return 0;
    if (f->warm_pool && strcmp(f->warm_pool, j->warm_pool) != 0) return 0;
    if (f->training_plan &&
        !(j->training_plan_arn && strcmp(f->training_plan, j->training_plan_arn) == 0))
        return 0;
    if (f->created_after >= 0 && !(j->created_ms > f->created_after)) return 0;
    if (f->created_before >= 0 && !(j->created_ms < f->created_before)) return 0;
    if (f->modified_after >= 0 && !(j->last_modified_ms > f->modified_after)) return 0;
    if (f->modified_before >= 0 && !(j->last_modified_ms < f->modified_before)) return 0;
    return 1;
}

/* A summary's WarmPoolStatus carries ResourceRetainedBillableTimeInSeconds and ReusedByJob as
 * in Describe, which the materialised columns do not hold: a pool that is Available, Reused
 * or Terminated needs the whole job (rare rows; the rest of a page never loads its job). */
static int warm_pool_needs_job(const store_job *j)
{
    return j->warm_pool[0] && strcmp(j->warm_pool, "InUse") != 0;
}

/* The job of row j evaluated at now, in p->ctx; NULL on failure. */
static const lc_view *job_view(page *p, const store_job *j)
{
    if (!p->ctx && !(p->ctx = jobs_ctx_new())) return NULL;
    store_job full;
    if (store_job_get_by_arn(j->arn, &full) != SM_OK) return NULL;
    int rc = jobs_eval(&full, p->now_ms, p->ctx);
    store_job_clear(&full);
    return rc == SM_OK ? &p->ctx->view : NULL;
}

static int on_row(store_job *j, void *arg)
{
    page *p = arg;
    if (++p->seen > p->want) return 1; /* the probe row: there is a next page */
    p->last = *j;
    p->last.training_plan_arn = NULL; /* owned by the row, freed after this call */
    if (passes(p->f, j)) {
        const lc_view *v = NULL;
        if (warm_pool_needs_job(j) && (v = job_view(p, j)) == NULL) {
            p->oom = 1; /* the store or an allocation failed: InternalFailure */
            return 1;
        }
        if (p->nsummaries++) sb_putc(&p->out, ',');
        if (!v && j->summary) /* materialised with the state */
            sb_puts(&p->out, j->summary);
        else
            describe_summary_text(&p->out, j, v, v ? p->ctx->reused_by : NULL);
    }
    return 0;
}

static const char *const sort_names[] = {"CreationTime", "Name", "Status"};

/* Token payload: L|region|sort|desc|created_ms|id|key */
static int token_out(const sm_req *r, store_sort sort, int desc, const store_job *last, char *out,
                     size_t outlen)
{
    char payload[TOKEN_PAYLOAD_MAX];
    const char *key = sort == STORE_SORT_NAME     ? last->name
                      : sort == STORE_SORT_STATUS ? last->status
                                                  : "";
    snprintf(payload, sizeof payload, "L|%s|%d|%d|%" PRId64 "|%" PRId64 "|%s", r->region, (int)sort,
             desc, last->created_ms, last->id, key);
    return tok_encode(payload, out, outlen);
}

static int token_in(const sm_req *r, const char *token, store_sort sort, int desc,
                    store_cursor *cur)
{
    char payload[TOKEN_PAYLOAD_MAX], region[40];
    int tsort, tdesc, n = 0;
    if (tok_decode(token, payload, sizeof payload) != SM_OK) return SM_EINVAL;
    if (sscanf(payload, "L|%39[^|]|%d|%d|%" SCNd64 "|%" SCNd64 "|%n", region, &tsort, &tdesc,
               &cur->created_ms, &cur->id, &n) != 5 ||
        n == 0 || strcmp(region, r->region) != 0 || tsort != (int)sort || tdesc != desc)
        return SM_EINVAL;
    snprintf(cur->key, sizeof cur->key, "%s", payload + n);
    cur->valid = 1;
    return SM_OK;
}

int h_list_training_jobs(sm_req *r)
{
    const cJSON *in = r->input;
    const char *sort_by = str_member(in, "SortBy"), *order = str_member(in, "SortOrder");
    store_sort sort = STORE_SORT_CREATION;
    for (int i = 0; sort_by && i < 3; i++)
        if (strcmp(sort_by, sort_names[i]) == 0) sort = (store_sort)i;
    int desc = order ? strcmp(order, "Descending") == 0 : !sort_by;
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(in, "MaxResults");
    int want = cJSON_IsNumber(mr) ? (int)mr->valuedouble : DEFAULT_MAX_RESULTS;

    store_cursor cur = {0};
    const char *token = str_member(in, "NextToken");
    if (token && *token && token_in(r, token, sort, desc, &cur) != SM_OK)
        return reply_error(r, "ValidationException", "Invalid NextToken.");

    if (jobs_advance_due(r->now_ms) < 0)
        return reply_error(r, "InternalFailure",
                           "The request processing has failed because of an unknown error, "
                           "exception or failure.");
    filters f = {.name_contains = str_member(in, "NameContains"),
                 .status = str_member(in, "StatusEquals"),
                 .warm_pool = str_member(in, "WarmPoolStatusEquals"),
                 .training_plan = str_member(in, "TrainingPlanArnEquals"),
                 .created_after = time_member(in, "CreationTimeAfter"),
                 .created_before = time_member(in, "CreationTimeBefore"),
                 .modified_after = time_member(in, "LastModifiedTimeAfter"),
                 .modified_before = time_member(in, "LastModifiedTimeBefore")};
    page p = {.f = &f, .now_ms = r->now_ms, .want = want};
    sb_puts(&p.out, "{\"TrainingJobSummaries\":[");
    int n = store_list(r->region, sort, desc, &cur, want + 1, on_row, &p);
    jobs_ctx_free(p.ctx);
    sb_putc(&p.out, ']');
    if (p.seen > want) {
        char tok[TOKEN_MAX];
        if (token_out(r, sort, desc, &p.last, tok, sizeof tok) == SM_OK) {
            sb_puts(&p.out, ",\"NextToken\":");
            json_put_string(&p.out, tok);
        }
    }
    sb_putc(&p.out, '}');
    char *text = sb_take(&p.out);
    if (n < 0 || p.oom || !text) {
        free(text);
        return reply_error(r, "InternalFailure",
                           "The request processing has failed because of an unknown error, "
                           "exception or failure.");
    }
    return reply_json_text(r, text);
}
