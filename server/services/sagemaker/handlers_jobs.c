/*
 * handlers_jobs.c: DescribeTrainingJob, StopTrainingJob, UpdateTrainingJob, DeleteTrainingJob.
 *
 * Each reads the job, evaluates its plan at the request's one timestamp, and (for the
 * mutating ones) records an event and the new materialised state inside the gate's
 * transaction, so a concurrent request never sees half of it.
 */
#include "create.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "handlers.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#define NOT_FOUND "Requested resource not found."

static const char *job_name(const sm_req *r)
{
    const char *name = json_string(r->input, "TrainingJobName");
    return name ? name : "";
}

/* Load the job named in the request and evaluate it at now. Replies itself on failure. */
static int load_or_reply(sm_req *r, store_job *job, jobs_ctx **c, const char *nf_code)
{
    int rc = store_job_get(r->region, job_name(r), job);
    if (rc == SM_ENOTFOUND) return reply_error(r, nf_code, NOT_FOUND);
    if (rc != SM_OK) return reply_internal(r);
    *c = jobs_ctx_new();
    if (!*c || jobs_eval(job, r->now_ms, *c) != SM_OK) {
        store_job_clear(job);
        jobs_ctx_free(*c);
        *c = NULL;
        return reply_internal(r);
    }
    return SM_OK;
}

static void release(store_job *job, jobs_ctx *c)
{
    store_job_clear(job);
    jobs_ctx_free(c);
}

/* A job's body changes only at the times its view says, or when an update drops its stored
 * views: a body rendered once is served from the store until then (store.h, "Views"). */
int h_describe_training_job(sm_req *r)
{
    char *body;
    int rc = store_view_get(r->region, job_name(r), r->now_ms, &body);
    if (rc == SM_OK) return reply_json_text(r, body);
    if (rc != SM_ENOTFOUND) return reply_internal(r);
    store_job job;
    jobs_ctx *c;
    if (load_or_reply(r, &job, &c, "ValidationException")) return SM_ERR;
    int64_t until = -1;
    cJSON *out = describe_job_until(&job, &c->view, c->reused_by, &until);
    body = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    if (body) store_view_put(job.id, job.rev, c->view.at_ms, until, body);
    release(&job, c);
    return body ? reply_json_text(r, body) : reply_internal(r);
}

int h_stop_training_job(sm_req *r)
{
    store_job job;
    jobs_ctx *c;
    if (load_or_reply(r, &job, &c, "ValidationException")) return SM_ERR;
    int rc = SM_OK;
    if (c->view.primary != LC_IN_PROGRESS) {
        reply_error(r, "ValidationException",
                    "The request was rejected because the training job is in status %s.",
                    lc_primary_name(c->view.primary));
        rc = SM_ESTATE;
    } else if ((rc = jobs_add_event(c, LC_EV_STOP, r->now_ms, 0, r->now_ms)) == SM_OK) {
        rc = jobs_save(&job, c, NULL);
    }
    release(&job, c);
    if (rc == SM_ESTATE) return SM_ERR;
    return rc == SM_OK ? reply_json(r, cJSON_CreateObject()) : reply_internal(r);
}

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* The warm-pool rules of UpdateTrainingJob (spec §2.5, from a controller built against the
 * real service). Replies and returns SM_ERR when the update is refused. */
static int check_keep_alive(sm_req *r, const store_job *job, const lc_view *v)
{
    if (job->keep_alive_s <= 0)
        return reply_error(r, "ValidationException",
                           "The warm pool of training job %s cannot be updated: the job was "
                           "created without ResourceConfig.KeepAlivePeriodInSeconds.",
                           job->name);
    if (v->primary != LC_COMPLETED)
        return reply_error(r, "ValidationException",
                           "The warm pool of training job %s can be updated only after the job "
                           "has completed; it is in status %s.",
                           job->name, lc_primary_name(v->primary));
    if (v->warm_pool != LC_WP_AVAILABLE && v->warm_pool != LC_WP_IN_USE)
        return reply_error(r, "ValidationException",
                           "The warm pool of training job %s is %s and cannot be updated.",
                           job->name,
                           v->warm_pool == LC_WP_NONE ? "gone" : lc_warm_pool_name(v->warm_pool));
    return SM_OK;
}

/* Apply the update's members to the stored request; SM_ERR when refused (replied). */
static int apply_update(sm_req *r, const store_job *job, jobs_ctx *c, cJSON *req)
{
    cJSON *in = r->input;
    cJSON *pc = member(in, "ProfilerConfig"), *rules = member(in, "ProfilerRuleConfigurations");
    if ((pc || rules) && c->view.primary != LC_IN_PROGRESS)
        return reply_error(r, "ValidationException",
                           "The profiler configuration of training job %s can be updated only "
                           "while the job is InProgress; it is in status %s.",
                           job->name, lc_primary_name(c->view.primary));
    /* "You can update the remote debugging configuration when the SecondaryStatus of the job
     * is Downloading or Training" (model doc of UpdateTrainingJobRequest.RemoteDebugConfig). */
    const cJSON *rd = member(in, "RemoteDebugConfig");
    if (rd && !(c->view.primary == LC_IN_PROGRESS &&
                (c->view.secondary == LC_S_DOWNLOADING || c->view.secondary == LC_S_TRAINING)))
        return reply_error(r, "ValidationException",
                           "The remote debug configuration of training job %s can be updated "
                           "only while its SecondaryStatus is Downloading or Training; it is "
                           "%s (status %s).",
                           job->name, lc_secondary_name(c->view.secondary),
                           lc_primary_name(c->view.primary));
    const cJSON *keep = member(member(in, "ResourceConfig"), "KeepAlivePeriodInSeconds");
    if (keep && check_keep_alive(r, job, &c->view)) return SM_ERR;

    int ok = 1;
    if (pc) {
        cJSON *cur = member(req, "ProfilerConfig");
        if (!cur) ok &= cJSON_AddItemToObject(req, "ProfilerConfig", cur = cJSON_CreateObject());
        const cJSON *m;
        cJSON_ArrayForEach(m, pc)
        {
            cJSON *copy = cJSON_Duplicate(m, 1);
            ok &= copy && (member(cur, m->string)
                               ? cJSON_ReplaceItemInObjectCaseSensitive(cur, m->string, copy)
                               : cJSON_AddItemToObject(cur, m->string, copy));
        }
    }
    if (rules) {
        cJSON *cur = member(req, "ProfilerRuleConfigurations");
        if (!cur)
            ok &=
                cJSON_AddItemToObject(req, "ProfilerRuleConfigurations", cur = cJSON_CreateArray());
        const cJSON *rule;
        cJSON_ArrayForEach(rule, rules)
        {
            cJSON *copy = cJSON_Duplicate(rule, 1);
            ok &= copy && cJSON_AddItemToArray(cur, copy);
        }
    }
    if (pc || rules) ok &= create_fill_profiler(req) == SM_OK;
    if (rd) {
        cJSON *copy = cJSON_Duplicate(rd, 1);
        ok &= copy && (member(req, "RemoteDebugConfig")
                           ? cJSON_ReplaceItemInObjectCaseSensitive(req, "RemoteDebugConfig", copy)
                           : cJSON_AddItemToObject(req, "RemoteDebugConfig", copy));
    }
    if (keep) {
        cJSON *rc = member(req, "ResourceConfig");
        cJSON *n = cJSON_CreateNumber(keep->valuedouble);
        ok &= n && rc && cJSON_ReplaceItemInObjectCaseSensitive(rc, "KeepAlivePeriodInSeconds", n);
        ok &= jobs_add_event(c, LC_EV_KEEP_ALIVE, r->now_ms, (int64_t)keep->valuedouble,
                             r->now_ms) == SM_OK;
    }
    return ok ? SM_OK : reply_internal(r);
}

int h_update_training_job(sm_req *r)
{
    cJSON *in = r->input;
    if (!member(in, "ProfilerConfig") && !member(in, "ProfilerRuleConfigurations") &&
        !member(in, "ResourceConfig") && !member(in, "RemoteDebugConfig"))
        return reply_error(r, "ValidationException",
                           "Invalid UpdateTrainingJobRequest, the request cannot be empty");
    store_job job;
    jobs_ctx *c;
    if (load_or_reply(r, &job, &c, "ValidationException")) return SM_ERR;
    cJSON *req = cJSON_Parse(job.request);
    int rc = req ? apply_update(r, &job, c, req) : reply_internal(r);
    char *text = rc == SM_OK ? cJSON_PrintUnformatted(req) : NULL;
    if (rc == SM_OK) rc = text ? jobs_save(&job, c, text) : SM_ENOMEM;
    free(text);
    cJSON_Delete(req);
    cJSON *out = NULL;
    if (rc == SM_OK && (out = cJSON_CreateObject()))
        cJSON_AddStringToObject(out, "TrainingJobArn", job.arn);
    release(&job, c);
    if (rc == SM_ERR) return SM_ERR; /* refused: already replied */
    return rc == SM_OK ? reply_json(r, out) : reply_internal(r);
}

int h_delete_training_job(sm_req *r)
{
    store_job job;
    jobs_ctx *c;
    if (load_or_reply(r, &job, &c, "ResourceNotFound")) return SM_ERR;
    const lc_view *v = &c->view;
    int rc = SM_OK;
    if (v->primary != LC_COMPLETED && v->primary != LC_FAILED && v->primary != LC_STOPPED) {
        reply_error(r, "ResourceInUse",
                    "Training job %s cannot be deleted while it is in status %s. Only training "
                    "jobs in a terminal state (Completed, Failed or Stopped) can be deleted.",
                    job.name, lc_primary_name(v->primary));
        rc = SM_ESTATE;
    } else if (v->warm_pool == LC_WP_AVAILABLE) {
        reply_error(r, "ResourceInUse",
                    "Training job %s cannot be deleted while it retains an Available warm pool. "
                    "Set ResourceConfig.KeepAlivePeriodInSeconds to 0 with UpdateTrainingJob "
                    "first.",
                    job.name);
        rc = SM_ESTATE;
    } else {
        rc = store_job_delete(job.id);
    }
    release(&job, c);
    if (rc == SM_ESTATE) return SM_ERR;
    return rc == SM_OK ? reply_json(r, cJSON_CreateObject()) : reply_internal(r);
}
