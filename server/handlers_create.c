/*
 * handlers_create.c: CreateTrainingJob: the cross-field rules the model cannot express, the
 * defaults the service fills in, and the job's birth (plan, first state, row, tags).
 *
 * The gate has already checked every single-member constraint of the model. The texts of the
 * cross-field errors are ours (the spec found no real ones); they name the members involved.
 */
#include "clock.h"
#include "config.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "ops.h"
#include "reply.h"
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_RUNTIME_S 86400
#define MAX_MAX_RUNTIME_S 2419200

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int64_t int_member(const cJSON *o, const char *name, int64_t dflt)
{
    const cJSON *v = member(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *v = member(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int null_error(sm_req *r, const char *path)
{
    return reply_error(r, "ValidationException",
                       "1 validation error detected: Value null at '%s' failed to satisfy "
                       "constraint: Member must not be null",
                       path);
}

static int check_algorithm(sm_req *r, const cJSON *in)
{
    const cJSON *as = member(in, "AlgorithmSpecification");
    if (!as)
        return member(in, "ServerlessJobConfig") ? SM_OK : null_error(r, "algorithmSpecification");
    if (!member(as, "AlgorithmName") == !member(as, "TrainingImage"))
        return reply_error(r, "ValidationException",
                           "Exactly one of AlgorithmSpecification.AlgorithmName and "
                           "AlgorithmSpecification.TrainingImage must be specified.");
    return SM_OK;
}

static int check_resources(sm_req *r, const cJSON *in)
{
    const cJSON *rc = member(in, "ResourceConfig");
    if (!rc) return member(in, "ServerlessJobConfig") ? SM_OK : null_error(r, "resourceConfig");
    int single = member(rc, "InstanceType") || member(rc, "InstanceCount");
    int groups = member(rc, "InstanceGroups") != NULL;
    if (single == groups ||
        (single && !(member(rc, "InstanceType") && member(rc, "InstanceCount"))))
        return reply_error(r, "ValidationException",
                           "ResourceConfig must specify either InstanceType and InstanceCount, "
                           "or InstanceGroups, but not both.");
    return SM_OK;
}

static int check_stopping(sm_req *r, const cJSON *in)
{
    const cJSON *sc = member(in, "StoppingCondition");
    int64_t runtime = int_member(sc, "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S);
    int64_t wait = int_member(sc, "MaxWaitTimeInSeconds", -1);
    int spot = cJSON_IsTrue(member(in, "EnableManagedSpotTraining"));
    if (runtime > MAX_MAX_RUNTIME_S)
        return reply_error(r, "ValidationException",
                           "1 validation error detected: Value '%lld' at "
                           "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
                           "constraint: Member must have value less than or equal to %d",
                           (long long)runtime, MAX_MAX_RUNTIME_S);
    if (spot && wait < 0)
        return reply_error(r, "ValidationException",
                           "StoppingCondition.MaxWaitTimeInSeconds must be specified when "
                           "EnableManagedSpotTraining is true.");
    if (!spot && wait >= 0)
        return reply_error(r, "ValidationException",
                           "StoppingCondition.MaxWaitTimeInSeconds can be specified only when "
                           "EnableManagedSpotTraining is true.");
    if (spot && wait < runtime)
        return reply_error(r, "ValidationException",
                           "StoppingCondition.MaxWaitTimeInSeconds (%lld) must be greater than "
                           "or equal to StoppingCondition.MaxRuntimeInSeconds (%lld).",
                           (long long)wait, (long long)runtime);
    return SM_OK;
}

static int check_channels(sm_req *r, const cJSON *in)
{
    const cJSON *channels = member(in, "InputDataConfig"), *ch;
    const char *job_mode = str_member(member(in, "AlgorithmSpecification"), "TrainingInputMode");
    int i = 0;
    cJSON_ArrayForEach(ch, channels)
    {
        i++;
        const char *name = str_member(ch, "ChannelName");
        const cJSON *other;
        int j = 0;
        cJSON_ArrayForEach(other, channels)
        {
            if (++j < i && name && str_member(other, "ChannelName") &&
                strcmp(name, str_member(other, "ChannelName")) == 0)
                return reply_error(r, "ValidationException",
                                   "Channel names must be unique: '%s' appears more than once "
                                   "in InputDataConfig.",
                                   name);
        }
        const cJSON *ds = member(ch, "DataSource");
        int sources = !!member(ds, "S3DataSource") + !!member(ds, "FileSystemDataSource") +
                      !!member(ds, "DatasetSource");
        if (sources != 1)
            return reply_error(r, "ValidationException",
                               "InputDataConfig channel '%s': DataSource must specify exactly "
                               "one of S3DataSource, FileSystemDataSource and DatasetSource.",
                               name ? name : "");
        const char *type = str_member(member(ds, "S3DataSource"), "S3DataType");
        const char *mode = str_member(ch, "InputMode");
        if (!mode) mode = job_mode;
        if (type && strcmp(type, "AugmentedManifestFile") == 0 && mode && strcmp(mode, "Pipe") != 0)
            return reply_error(r, "ValidationException",
                               "InputDataConfig channel '%s': AugmentedManifestFile can be used "
                               "only when the channel's input mode is Pipe.",
                               name ? name : "");
    }
    return SM_OK;
}

static int check_tags(sm_req *r, const cJSON *tags)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        const char *k = str_member(t, "Key");
        if (k && strncmp(k, "aws:", 4) == 0)
            return reply_error(r, "ValidationException",
                               "Tag keys starting with 'aws:' are reserved for system use: '%s'.",
                               k);
    }
    return SM_OK;
}

/* Adds `name` = item to o unless present; false only when allocation failed. */
static int fill(cJSON *o, const char *name, cJSON *item)
{
    if (!o || member(o, name)) {
        cJSON_Delete(item);
        return 1;
    }
    return item && cJSON_AddItemToObject(o, name, item);
}

/* The values the service fills in, as Describe shows them (spec §2.1). */
static int fill_defaults(cJSON *in)
{
    int ok = 1;
    cJSON *ch;
    cJSON_ArrayForEach(ch, member(in, "InputDataConfig"))
    {
        ok &= fill(ch, "CompressionType", cJSON_CreateString("None"));
        ok &= fill(ch, "RecordWrapperType", cJSON_CreateString("None"));
    }
    cJSON *odc = member(in, "OutputDataConfig");
    ok &= fill(odc, "KmsKeyId", cJSON_CreateString(""));
    ok &= fill(odc, "CompressionType", cJSON_CreateString("GZIP"));
    ok &= fill(member(in, "AlgorithmSpecification"), "EnableSageMakerMetricsTimeSeries",
               cJSON_CreateFalse());
    ok &= fill(in, "StoppingCondition", cJSON_CreateObject());
    ok &= fill(member(in, "StoppingCondition"), "MaxRuntimeInSeconds",
               cJSON_CreateNumber(DEFAULT_MAX_RUNTIME_S));
    ok &= fill(in, "EnableNetworkIsolation", cJSON_CreateFalse());
    ok &= fill(in, "EnableInterContainerTrafficEncryption", cJSON_CreateFalse());
    ok &= fill(in, "EnableManagedSpotTraining", cJSON_CreateFalse());
    return ok ? SM_OK : SM_ENOMEM;
}

static int insert_job(sm_req *r, store_job *job, const cJSON *tags)
{
    char existing[STORE_ARN_MAX];
    if (store_begin() != SM_OK) return SM_ESTORE;
    int rc = store_job_insert(job, existing);
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        if (rc != SM_OK) break;
        rc = store_tag_put(job->id, str_member(t, "Key"), str_member(t, "Value"));
    }
    if (rc == SM_OK) rc = store_commit();
    if (rc != SM_OK) store_rollback();
    if (rc == SM_EEXIST)
        reply_error(r, "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a "
                    "training job with this name already exists (%s)",
                    existing);
    return rc;
}

int h_create_training_job(sm_req *r)
{
    cJSON *in = r->input;
    if (check_algorithm(r, in) || check_resources(r, in) || check_stopping(r, in) ||
        check_channels(r, in) || check_tags(r, member(in, "Tags")))
        return SM_ERR;
    if (fill_defaults(in) != SM_OK)
        return reply_error(r, "InternalFailure", "Out of memory while creating the job.");

    cJSON *tags = cJSON_DetachItemFromObjectCaseSensitive(in, "Tags");
    const cJSON *sc = member(in, "StoppingCondition");
    store_job job = {0};
    snprintf(job.region, sizeof job.region, "%s", r->region);
    snprintf(job.name, sizeof job.name, "%s", str_member(in, "TrainingJobName"));
    jobs_arn(job.region, job.name, job.arn, sizeof job.arn);
    job.created_ms = r->now_ms;
    job.max_runtime_s = int_member(sc, "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S);
    job.max_wait_s = int_member(sc, "MaxWaitTimeInSeconds", -1);
    job.spot = cJSON_IsTrue(member(in, "EnableManagedSpotTraining"));
    job.max_retry = (int)int_member(member(in, "RetryStrategy"), "MaximumRetryAttempts", 0);
    job.keep_alive_s = int_member(member(in, "ResourceConfig"), "KeepAlivePeriodInSeconds", 0);

    const lc_scenario *scenario = lc_scenario_success();
    snprintf(job.scenario_name, sizeof job.scenario_name, "%s", scenario->name);
    cJSON *scj = NULL;
    jobs_ctx *c = jobs_ctx_new();
    int rc = c && scn_to_json(scenario, &scj) == SM_OK ? SM_OK : SM_ENOMEM;
    job.scenario = scj ? cJSON_PrintUnformatted(scj) : NULL;
    job.request = cJSON_PrintUnformatted(in);
    job.events = strdup("[]");
    if (rc == SM_OK && (!job.scenario || !job.request || !job.events)) rc = SM_ENOMEM;
    if (rc == SM_OK) rc = jobs_eval(&job, r->now_ms, c);
    if (rc == SM_OK) {
        store_state st;
        jobs_state(&c->view, &st);
        snprintf(job.status, sizeof job.status, "%s", st.status);
        snprintf(job.secondary, sizeof job.secondary, "%s", st.secondary);
        snprintf(job.warm_pool, sizeof job.warm_pool, "%s", st.warm_pool);
        job.last_modified_ms = st.last_modified_ms;
        job.end_ms = st.end_ms;
        job.next_change_ms = st.next_change_ms;
        rc = insert_job(r, &job, tags);
    }
    cJSON_Delete(scj);
    cJSON_Delete(tags);
    jobs_ctx_free(c);
    store_job_clear(&job);
    if (rc == SM_EEXIST) return SM_ERR;
    if (rc != SM_OK)
        return reply_error(r, "InternalFailure",
                           "The request processing has failed because of an unknown error, "
                           "exception or failure.");
    cJSON *out = cJSON_CreateObject();
    if (out) cJSON_AddStringToObject(out, "TrainingJobArn", job.arn);
    return reply_json(r, out);
}
