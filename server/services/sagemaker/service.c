/*
 * service.c: Amazon SageMaker's training-job API as a service value (core/service.h).
 *
 * awsJson 1.1, target prefix "SageMaker". The handlers are in handlers_*.c; the operations
 * that write run inside the gate's transaction; CreateTrainingJob's in a group commit's
 * (OP_GROUP), its job built beforehand, outside the write lock.
 */
#include "handlers.h"
#include "jsonutil.h"
#include "sagemaker.h"
#include "service.h"
#include "tuning_job.h"

#include <string.h>

extern const char sagemaker_model_json[];

/* The job a request is about: TrainingJobName, HyperParameterTuningJobName, else the last part
 * of a ResourceArn. */
static const char *subject(const cJSON *input)
{
    const char *name = json_string(input, "TrainingJobName");
    if (!name) name = json_string(input, "HyperParameterTuningJobName");
    if (name) return name;
    const char *arn = json_string(input, "ResourceArn");
    const char *slash = arn ? strrchr(arn, '/') : NULL;
    return slash ? slash + 1 : NULL;
}

/* The h_tuned_* rows run the training-job handler with the tuning jobs that fell due advanced
 * (tuning_job.h): reads before, writes after. AddTags, ListTags, DeleteTags serve training-job
 * and tuning-job ARNs (handlers_tags.c). */
static const sm_operation ops[] = {
    {"AddTags", h_add_tags, OP_WRITE},
    {"CreateHyperParameterTuningJob", h_create_hyper_parameter_tuning_job, OP_WRITE},
    {"CreateTrainingJob", h_create_training_job, OP_WRITE | OP_GROUP},
    {"DeleteHyperParameterTuningJob", h_delete_hyper_parameter_tuning_job, OP_WRITE},
    {"DeleteTags", h_delete_tags, OP_WRITE},
    {"DeleteTrainingJob", h_tuned_delete_training_job, OP_WRITE},
    {"DescribeHyperParameterTuningJob", h_describe_hyper_parameter_tuning_job, 0},
    {"DescribeTrainingJob", h_tuned_describe_training_job, 0},
    {"ListHyperParameterTuningJobs", h_list_hyper_parameter_tuning_jobs, 0},
    {"ListTags", h_tuned_list_tags, 0},
    {"ListTrainingJobs", h_tuned_list_training_jobs, 0},
    {"ListTrainingJobsForHyperParameterTuningJob",
     h_list_training_jobs_for_hyper_parameter_tuning_job, 0},
    {"StopHyperParameterTuningJob", h_stop_hyper_parameter_tuning_job, OP_WRITE},
    {"StopTrainingJob", h_tuned_stop_training_job, OP_WRITE},
    {"UpdateTrainingJob", h_tuned_update_training_job, OP_WRITE},
};

/* Patterns as SageMaker prints them in its validation messages: the strings of the 2022 model
 * (botocore 1.29), anchors included. Real messages of 2018 and 2023 say "Member must satisfy
 * regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"; the newest model dropped
 * the anchors, the service did not (spec §2.1, §7). Matching is whole-value either way. */
static const char *const printed_patterns[] = {
    "ArnOrName",
    "(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?"
    "([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)$",
    "ExperimentEntityName",
    "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}",
    "HyperParameterTrainingJobDefinitionName",
    "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}",
    "HyperParameterTuningJobName",
    "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}",
    "RoleArn",
    "^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$",
    "S3Uri",
    "^(https|s3)://([^/]+)/?(.*)$",
    "TagKey",
    "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
    "TagValue",
    "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
    "TrainingJobName",
    "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    NULL,
};

const sm_service svc_sagemaker = {
    .id = "sagemaker",
    .title = "SageMaker",
    .signing_name = "sagemaker",
    .protocols = PROTO_JSON_1_1,
    .target_prefix = "SageMaker",
    .model_json = sagemaker_model_json,
    .printed_patterns = printed_patterns,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
    .subject = subject,
};

const sm_model *sagemaker_model(void)
{
    return service_model(&svc_sagemaker);
}
