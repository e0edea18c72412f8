/*
 * service.c: Amazon SageMaker's training-job API as a service value (core/service.h).
 *
 * awsJson 1.1, target prefix "SageMaker". The handlers are in handlers_*.c; the operations
 * that write run inside the gate's transaction.
 */
#include "handlers.h"
#include "jsonutil.h"
#include "sagemaker.h"
#include "service.h"

#include <string.h>

extern const char sagemaker_model_json[];

/* The job a request is about: TrainingJobName, else the last part of a ResourceArn. */
static const char *subject(const cJSON *input)
{
    const char *name = json_string(input, "TrainingJobName");
    if (name) return name;
    const char *arn = json_string(input, "ResourceArn");
    const char *slash = arn ? strrchr(arn, '/') : NULL;
    return slash ? slash + 1 : NULL;
}

static const sm_operation ops[] = {
    {"AddTags", h_add_tags, OP_WRITE},
    {"CreateTrainingJob", h_create_training_job, OP_WRITE},
    {"DeleteTags", h_delete_tags, OP_WRITE},
    {"DeleteTrainingJob", h_delete_training_job, OP_WRITE},
    {"DescribeTrainingJob", h_describe_training_job, 0},
    {"ListTags", h_list_tags, 0},
    {"ListTrainingJobs", h_list_training_jobs, 0},
    {"StopTrainingJob", h_stop_training_job, OP_WRITE},
    {"UpdateTrainingJob", h_update_training_job, OP_WRITE},
};

const sm_service svc_sagemaker = {
    .id = "sagemaker",
    .title = "SageMaker",
    .signing_name = "sagemaker",
    .protocols = PROTO_JSON_1_1,
    .target_prefix = "SageMaker",
    .model_json = sagemaker_model_json,
    .ops = ops,
    .nops = (int)(sizeof ops / sizeof ops[0]),
    .subject = subject,
};

const sm_model *sagemaker_model(void)
{
    return service_model(&svc_sagemaker);
}
