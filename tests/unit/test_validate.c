/*
 * test_validate.c: unit tests of model.c (embedded model, pattern compilation and matching)
 * and validate.c (request validation with Coral's wording, response checks).
 *
 * Every exact message below is either a real SageMaker message (spec §2.1, "Errors with their
 * real texts"), printed against the pattern strings of the embedded model, or our documented
 * choice (validate.c's opening comment). The tests must not depend on anything but the embedded
 * model: no network, no files, no global state besides the model loaded once by the group
 * setup. JSON literals are written with single quotes and turned into JSON by J() (none of the
 * values needs an apostrophe). Every test frees what it allocates (the suite runs under ASan).
 * Build with -DSM_TEST_WRAP_ALLOC and link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * to run the allocation-failure test; without them that one test is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "validate.h"

/* The SageMaker model under test (the tests load and free it themselves). */
extern const char sagemaker_model_json[];
static sm_model *M;
static char m_err[512] = "model not loaded";

static int load_model(void)
{
    if (M) return SM_OK;
    M = model_load(sagemaker_model_json, m_err, sizeof m_err);
    return M ? SM_OK : SM_ERR;
}

static void free_model(void)
{
    model_free(M);
    M = NULL;
}

/*
 * Allocation-failure injection. Built with -DSM_TEST_WRAP_ALLOC and linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, the calls that model.c, validate.c and this
 * file make go through these wrappers (cJSON and PCRE2 are shared libraries and are not
 * affected). When armed, exactly the n-th allocation fails.
 */
#ifdef SM_TEST_WRAP_ALLOC
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static int alloc_countdown = -1; /* -1: off */
static int alloc_failed;

static int inject(void)
{
    if (alloc_countdown < 0) return 0;
    if (alloc_countdown-- == 0) {
        alloc_failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return inject() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return inject() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return inject() ? NULL : __real_realloc(p, n);
}

static void arm(int n)
{
    alloc_failed = 0;
    alloc_countdown = n;
}

static int disarm(void)
{
    alloc_countdown = -1;
    return alloc_failed;
}
#endif

/* ---- helpers ---- */

/* Parse a JSON text written with ' for ". The result is owned by the caller. */
static cJSON *J(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'') *p = '"';
    cJSON *j = cJSON_Parse(copy);
    if (!j) fail_msg("test JSON does not parse: %s", copy);
    free(copy);
    return j;
}

static const char *pattern_of(const char *shape)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(model_shape(M, shape), "pattern");
    assert_true(cJSON_IsString(p));
    return p->valuestring;
}

/* val_input on `j` (consumed) must return `want_rc` and exactly `want` (NULL: no message). */
static void expect_json(const char *shape, cJSON *j, int want_rc, const char *want)
{
    char *msg = (char *)0x1;
    int rc = val_input(M, shape, j, &msg);
    if (want) {
        assert_non_null(msg);
        assert_string_equal(msg, want);
    } else if (msg) {
        fail_msg("unexpected message: %s", msg);
    }
    assert_int_equal(rc, want_rc);
    free(msg);
    cJSON_Delete(j);
}

static void expect_input(const char *shape, const char *json, int want_rc, const char *want)
{
    expect_json(shape, J(json), want_rc, want);
}

/* The message must start with `prefix`; returns nothing, frees everything. */
static void expect_prefix(const char *shape, cJSON *j, int want_rc, const char *prefix)
{
    char *msg = NULL;
    int rc = val_input(M, shape, j, &msg);
    assert_int_equal(rc, want_rc);
    assert_non_null(msg);
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        fail_msg("message\n  %s\ndoes not start with\n  %s", msg, prefix);
    free(msg);
    cJSON_Delete(j);
}

static void expect_output(const char *shape, cJSON *j, int want_rc, const char *want)
{
    char *problem = (char *)0x1;
    int rc = val_output(M, shape, j, &problem);
    if (want) {
        assert_non_null(problem);
        assert_string_equal(problem, want);
    } else if (problem) {
        fail_msg("unexpected problem: %s", problem);
    }
    assert_int_equal(rc, want_rc);
    free(problem);
    cJSON_Delete(j);
}

static char *repeat(const char *unit, int n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * (size_t)n + 1);
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        memcpy(s + u * (size_t)i, unit, u);
    s[u * (size_t)n] = '\0';
    return s;
}

/* The smallest valid CreateTrainingJob request of the newest model. */
static cJSON *minimal_create(void)
{
    return J("{'TrainingJobName': 'job-1',"
             " 'RoleArn': 'arn:aws:iam::123456789012:role/SageMakerRole',"
             " 'OutputDataConfig': {'S3OutputPath': 's3://bucket/output'}}");
}

/* minimal_create() plus member `name` = `json`. */
static cJSON *create_with(const char *name, const char *json)
{
    cJSON *req = minimal_create();
    cJSON_DeleteItemFromObjectCaseSensitive(req, name);
    assert_true(cJSON_AddItemToObject(req, name, J(json)));
    return req;
}

/* A realistic request modelled on spec Appendix D (the XGBoost job), with more options. */
static const char *full_create =
    "{'TrainingJobName': 'sagemaker-xgboost-2025-05-16-18-10-50-386',"
    " 'HyperParameters': {'early_stopping_rounds': '10', 'eta': '0.2', 'max_depth': '5',"
    "   'num_round': '100', 'objective': 'reg:squarederror', 'subsample': '0.8'},"
    " 'AlgorithmSpecification': {"
    "   'TrainingImage': '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1',"
    "   'TrainingInputMode': 'File',"
    "   'MetricDefinitions': [{'Name': 'train:rmse',"
    "                          'Regex': '.*#011train-rmse:([-+]?[0-9]*[.]?[0-9]+).*'}],"
    "   'EnableSageMakerMetricsTimeSeries': false},"
    " 'RoleArn': 'arn:aws:iam::084375569056:role/service-role/"
    "AmazonSageMaker-ExecutionRole-20250513T204281',"
    " 'InputDataConfig': [{'ChannelName': 'train',"
    "   'DataSource': {'S3DataSource': {'S3DataType': 'S3Prefix',"
    "     'S3Uri': 's3://sagemaker-us-east-1-084375569056/abalone_train.libsvm',"
    "     'S3DataDistributionType': 'FullyReplicated'}},"
    "   'ContentType': 'text/libsvm', 'CompressionType': 'None', 'RecordWrapperType': 'None',"
    "   'InputMode': 'File', 'ShuffleConfig': {'Seed': 1234567890123}}],"
    " 'OutputDataConfig': {'S3OutputPath': 's3://sagemaker-us-east-1-084375569056/output',"
    "   'KmsKeyId': '', 'CompressionType': 'GZIP'},"
    " 'ResourceConfig': {'InstanceType': 'ml.m5.large', 'InstanceCount': 1,"
    "   'VolumeSizeInGB': 30, 'KeepAlivePeriodInSeconds': 600},"
    " 'VpcConfig': {'SecurityGroupIds': ['sg-0123456789abcdef0'],"
    "   'Subnets': ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210']},"
    " 'StoppingCondition': {'MaxRuntimeInSeconds': 86400, 'MaxWaitTimeInSeconds': 90000},"
    " 'Tags': [{'Key': 'project', 'Value': 'abalone'},"
    "          {'Key': 'sagemock:scenario', 'Value': 'success'}],"
    " 'EnableNetworkIsolation': false, 'EnableInterContainerTrafficEncryption': false,"
    " 'EnableManagedSpotTraining': true,"
    " 'CheckpointConfig': {'S3Uri': 's3://bucket/checkpoints', 'LocalPath': "
    "'/opt/ml/checkpoints/'},"
    " 'DebugHookConfig': {'S3OutputPath': 's3://sagemaker-us-east-1-084375569056/output',"
    "   'CollectionConfigurations': []},"
    " 'ProfilerConfig': {'S3OutputPath': 's3://sagemaker-us-east-1-084375569056/output',"
    "   'ProfilingIntervalInMilliseconds': 500, 'DisableProfiler': false},"
    " 'ProfilerRuleConfigurations': [{'RuleConfigurationName': 'ProfilerReport-1747419050',"
    "   'RuleEvaluatorImage': '915447279597.dkr.ecr.us-east-1.amazonaws.com/"
    "sagemaker-debugger-rules:latest',"
    "   'RuleParameters': {'rule_to_invoke': 'ProfilerReport'}}],"
    " 'Environment': {'AWS_REGION': 'us-east-1', 'MY_FLAG': '1'},"
    " 'RetryStrategy': {'MaximumRetryAttempts': 2},"
    " 'ExperimentConfig': {'ExperimentName': 'abalone', 'TrialName': 'trial-1'}}";

/* The completed job of spec Appendix D, as DescribeTrainingJob returns it. */
static const char *describe_body =
    "{'TrainingJobName': 'sagemaker-xgboost-2025-05-16-18-10-50-386',"
    " 'TrainingJobArn': 'arn:aws:sagemaker:us-east-1:084375569056:training-job/"
    "sagemaker-xgboost-2025-05-16-18-10-50-386',"
    " 'ModelArtifacts': {'S3ModelArtifacts': 's3://sagemaker-us-east-1-084375569056/output/"
    "sagemaker-xgboost-2025-05-16-18-10-50-386/output/model.tar.gz'},"
    " 'TrainingJobStatus': 'Completed', 'SecondaryStatus': 'Completed',"
    " 'HyperParameters': {'early_stopping_rounds': '10', 'eta': '0.2'},"
    " 'AlgorithmSpecification': {"
    "   'TrainingImage': '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1',"
    "   'TrainingInputMode': 'File',"
    "   'MetricDefinitions': [{'Name': 'train:rmse', 'Regex': '.*train-rmse:([0-9.]+).*'}],"
    "   'EnableSageMakerMetricsTimeSeries': false},"
    " 'RoleArn': 'arn:aws:iam::084375569056:role/service-role/"
    "AmazonSageMaker-ExecutionRole-20250513T204281',"
    " 'InputDataConfig': [{'ChannelName': 'train',"
    "   'DataSource': {'S3DataSource': {'S3DataType': 'S3Prefix',"
    "     'S3Uri': 's3://sagemaker-us-east-1-084375569056/abalone_train.libsvm',"
    "     'S3DataDistributionType': 'FullyReplicated'}},"
    "   'CompressionType': 'None', 'RecordWrapperType': 'None'}],"
    " 'OutputDataConfig': {'KmsKeyId': '', 'S3OutputPath': "
    "'s3://sagemaker-us-east-1-084375569056/output', 'CompressionType': 'GZIP'},"
    " 'ResourceConfig': {'InstanceType': 'ml.m5.large', 'InstanceCount': 1, 'VolumeSizeInGB': 30},"
    " 'StoppingCondition': {'MaxRuntimeInSeconds': 86400},"
    " 'CreationTime': 1747419050.603, 'TrainingStartTime': 1747419092.239,"
    " 'TrainingEndTime': 1747419217.265, 'LastModifiedTime': 1747419217.53,"
    " 'SecondaryStatusTransitions': ["
    "   {'Status': 'Starting', 'StartTime': 1747419050.603, 'EndTime': 1747419092.239,"
    "    'StatusMessage': 'Preparing the instances for training'},"
    "   {'Status': 'Downloading', 'StartTime': 1747419092.239, 'EndTime': 1747419193.943,"
    "    'StatusMessage': 'Downloading the training image'},"
    "   {'Status': 'Completed', 'StartTime': 1747419217.265, 'EndTime': 1747419217.265,"
    "    'StatusMessage': 'Training job completed'}],"
    " 'FinalMetricDataList': [{'MetricName': 'train:rmse', 'Value': 1.1987600326538086,"
    "   'Timestamp': 1747419200.0}],"
    " 'EnableNetworkIsolation': false, 'EnableInterContainerTrafficEncryption': false,"
    " 'EnableManagedSpotTraining': false, 'TrainingTimeInSeconds': 125,"
    " 'BillableTimeInSeconds': 125,"
    " 'DebugHookConfig': {'S3OutputPath': 's3://sagemaker-us-east-1-084375569056/output',"
    "   'CollectionConfigurations': []},"
    " 'ProfilerConfig': {'S3OutputPath': 's3://sagemaker-us-east-1-084375569056/output',"
    "   'ProfilingIntervalInMilliseconds': 500, 'DisableProfiler': false},"
    " 'ProfilingStatus': 'Enabled'}";

static int setup(void **state)
{
    (void)state;
    if (load_model() != SM_OK) {
        fprintf(stderr, "model_load: %s\n", m_err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free_model();
    return 0;
}

/* ---- model.c ---- */

static void test_model_indexes_operations_and_shapes(void **state)
{
    (void)state;
    assert_string_equal(m_err, "");
    assert_non_null(model_operation(M, "CreateTrainingJob"));
    assert_null(model_operation(M, "CreateEndpoint"));
    assert_string_equal(model_input_shape(M, "CreateTrainingJob"), "CreateTrainingJobRequest");
    assert_string_equal(model_output_shape(M, "DescribeTrainingJob"),
                        "DescribeTrainingJobResponse");
    assert_null(model_output_shape(M, "StopTrainingJob"));
    assert_null(model_output_shape(M, "DeleteTrainingJob"));
    assert_null(model_input_shape(M, "NoSuchOperation"));
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(model_shape(M, "Tag"), "type")->valuestring, "structure");
    assert_null(model_shape(M, "NoSuchShape"));
    assert_null(model_shape(M, NULL));
    assert_int_equal(model_pattern_match(M, "NoSuchShape", "x"), -1);
    assert_int_equal(model_pattern_match(M, "TrainingInputMode", "File"),
                     -1); /* enum, no pattern */
    /* a second load is a no-op */
    assert_int_equal(load_model(), SM_OK);
}

static void test_every_model_pattern_compiles(void **state)
{
    (void)state;
    cJSON *root = cJSON_Parse(sagemaker_model_json);
    assert_non_null(root);
    const cJSON *shape;
    int with_pattern = 0;
    cJSON_ArrayForEach(shape, cJSON_GetObjectItemCaseSensitive(root, "shapes"))
    {
        if (!cJSON_GetObjectItemCaseSensitive(shape, "pattern")) continue;
        with_pattern++;
        int r = model_pattern_match(M, shape->string, "x");
        if (r != 0 && r != 1) fail_msg("shape %s: pattern not compiled (%d)", shape->string, r);
    }
    assert_true(with_pattern >= 50); /* 52 in the model of 2026-08 */
    cJSON_Delete(root);
}

static void test_patterns_match_the_whole_value(void **state)
{
    (void)state;
    char *max = repeat("a", 63), *over = repeat("a", 64);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "job-1"), 1);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "a--b"), 1);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", max), 1);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", over), 0);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "job_1"),
                     0); /* not a prefix match */
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "job-"), 0);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "-job"), 0);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "job\n"), 0); /* no $-before-\n */
    assert_int_equal(model_pattern_match(M, "TrainingJobName", ""), 0);
    assert_int_equal(model_pattern_match(M, "S3Uri", "s3://bucket/key"), 1);
    assert_int_equal(model_pattern_match(M, "S3Uri", "http://bucket/key"), 0);
    free(max);
    free(over);
}

static void test_algorithm_name_lookbehind(void **state)
{
    (void)state;
    assert_int_equal(model_pattern_match(M, "ArnOrName", "my-algo"), 1);
    assert_int_equal(model_pattern_match(M, "ArnOrName", "my-algo-"), 0);
    assert_int_equal(model_pattern_match(M, "ArnOrName",
                                         "arn:aws:sagemaker:us-east-1:123456789012:"
                                         "algorithm/my-algo"),
                     1);
    assert_int_equal(model_pattern_match(M, "ArnOrName",
                                         "arn:aws:sagemaker:us-east-1:123456789012:"
                                         "algorithm/my-algo-"),
                     0);
    assert_int_equal(model_pattern_match(M, "ArnOrName", "-algo"), 0);
}

static void test_tag_patterns_are_unicode(void **state)
{
    (void)state;
    /* \p{L} letters, \p{Z} separators (incl. U+3000), \p{N} numbers (Arabic-Indic three) */
    assert_int_equal(model_pattern_match(M, "TagValue", "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac"), 1);
    assert_int_equal(model_pattern_match(M, "TagValue", "\xd9\xa3\xe3\x80\x80x"), 1);
    assert_int_equal(model_pattern_match(M, "TagKey", "sagemock:scenario"), 1);
    assert_int_equal(model_pattern_match(M, "TagValue", ""), 1);
    assert_int_equal(model_pattern_match(M, "TagValue", "\xf0\x9f\x98\x80"), 0); /* emoji: So */
    assert_int_equal(model_pattern_match(M, "TagValue", "a\tb"), 0);             /* tab: Cc */
    assert_int_equal(model_pattern_match(M, "TagValue", "a#b"), 0);
    assert_int_equal(model_pattern_match(M, "TagValue", "\xff"), 0); /* invalid UTF-8: no match */
}

static void test_java_posix_class_is_rewritten_and_ascii(void **state)
{
    (void)state;
    /* arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:function:.* */
    const char *shape = "TrainingRepositoryCredentialsProviderArn";
    assert_int_equal(
        model_pattern_match(M, shape, "arn:aws:lambda:us-east-1:123456789012:function:auth"), 1);
    assert_int_equal(
        model_pattern_match(M, shape, "arn:aws:lambda:us_east_1:123456789012:function:auth"), 0);
    /* Java's \p{Alnum} is US-ASCII: a non-ASCII letter is refused */
    assert_int_equal(
        model_pattern_match(M, shape, "arn:aws:lambda:\xc3\xbcs-east-1:123456789012:function:a"),
        0);
}

static void test_java_ascii_digits_and_dot(void **state)
{
    (void)state;
    /* \d is [0-9] in Java: Arabic-Indic digits do not make an account id */
    assert_int_equal(model_pattern_match(M, "RoleArn", "arn:aws:iam::123456789012:role/x"), 1);
    assert_int_equal(model_pattern_match(M, "RoleArn",
                                         "arn:aws:iam::\xd9\xa1\xd9\xa2\xd9\xa3"
                                         "456789012:role/x"),
                     0);
    /* Java's '.' excludes every line terminator; [\S\s] does not */
    assert_int_equal(model_pattern_match(M, "HyperParameterValue", "a b"), 1);
    assert_int_equal(model_pattern_match(M, "HyperParameterValue", "a\nb"), 0);
    assert_int_equal(model_pattern_match(M, "HyperParameterValue", "a\rb"), 0);
    assert_int_equal(model_pattern_match(M, "HyperParameterValue",
                                         "a\xe2\x80\xa8"
                                         "b"),
                     0);
    assert_int_equal(model_pattern_match(M, "HyperParameterValue",
                                         "a\xc2\x85"
                                         "b"),
                     0);
    assert_int_equal(model_pattern_match(M, "TrainingEnvironmentValue", "a\nb"), 1);
}

/* ---- val_input: messages ---- */

static void test_real_message_pattern_of_training_job_name(void **state)
{
    (void)state;
    char want[512];
    /* the newest model drops the anchors the 2018 message printed */
    assert_string_equal(pattern_of("TrainingJobName"), "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
    snprintf(want, sizeof want,
             "1 validation error detected: Value "
             "'health_and_personal_care_inter_title-2018-09-06-05-57-49-470' at "
             "'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
             "expression pattern: %s",
             pattern_of("TrainingJobName"));
    expect_input("CreateTrainingJobRequest",
                 "{'TrainingJobName': "
                 "'health_and_personal_care_inter_title-2018-09-06-05-57-49-470',"
                 " 'RoleArn': 'arn:aws:iam::123456789012:role/SageMakerRole',"
                 " 'OutputDataConfig': {'S3OutputPath': 's3://bucket/output'}}",
                 VAL_VALIDATION, want);
}

/* The service prints the 2022 model's strings, anchors included (real messages of 2018 and
 * 2023); a service gives them to its model at start-up (model_set_printed_patterns). Only the
 * anchors may differ from the model's pattern, and matching does not change. */
static void test_printed_patterns_keep_the_anchors_the_service_prints(void **state)
{
    (void)state;
    char err[256];
    sm_model *m = model_load(sagemaker_model_json, err, sizeof err);
    assert_non_null(m);
    static const char *const printed[] = {"TrainingJobName", "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
                                          "S3Uri", "^(https|s3)://([^/]+)/?(.*)$", NULL};
    assert_int_equal(model_set_printed_patterns(m, printed, err, sizeof err), SM_OK);
    cJSON *j = J("{'TrainingJobName': 'bad_name', 'RoleArn': "
                 "'arn:aws:iam::123456789012:role/SageMakerRole', 'OutputDataConfig': "
                 "{'S3OutputPath': 'ftp://bucket/output'}}");
    char *msg = NULL;
    assert_int_equal(val_input(m, "CreateTrainingJobRequest", j, &msg), VAL_VALIDATION);
    assert_string_equal(msg, "2 validation errors detected: Value 'ftp://bucket/output' at "
                             "'outputDataConfig.s3OutputPath' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: "
                             "^(https|s3)://([^/]+)/?(.*)$; Value 'bad_name' at "
                             "'trainingJobName' failed to satisfy constraint: Member must "
                             "satisfy regular expression pattern: "
                             "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
    free(msg);
    cJSON_Delete(j);
    assert_int_equal(model_pattern_match(m, "TrainingJobName", "good-name"), 1);
    assert_int_equal(model_pattern_match(m, "TrainingJobName", "bad_name"), 0);

    static const char *const not_anchors[] = {"TrainingJobName", "^[a-z]+$", NULL};
    assert_int_equal(model_set_printed_patterns(m, not_anchors, err, sizeof err), SM_EINVAL);
    assert_non_null(strstr(err, "more than its anchors"));
    static const char *const no_shape[] = {"NoSuchShape", "^x$", NULL};
    assert_int_equal(model_set_printed_patterns(m, no_shape, err, sizeof err), SM_EINVAL);
    model_free(m);
}

static void test_real_message_two_errors_pattern_then_length(void **state)
{
    (void)state;
    char *name = repeat("a", 64);
    char want[1024];
    snprintf(want, sizeof want,
             "2 validation errors detected: Value '%s' at 'trainingJobName' failed to satisfy "
             "constraint: Member must satisfy regular expression pattern: %s; Value '%s' at "
             "'trainingJobName' failed to satisfy constraint: Member must have length less than "
             "or equal to 63",
             name, pattern_of("TrainingJobName"), name);
    cJSON *req = J("{}");
    cJSON_AddStringToObject(req, "TrainingJobName", name);
    expect_json("DescribeTrainingJobRequest", req, VAL_VALIDATION, want);
    free(name);
}

static void test_real_message_empty_resource_arn(void **state)
{
    (void)state;
    assert_string_equal(pattern_of("ResourceArn"),
                        "arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+");
    expect_input("ListTagsInput", "{'ResourceArn': ''}", VAL_VALIDATION,
                 "1 validation error detected: Value '' at 'resourceArn' failed to satisfy "
                 "constraint: Member must satisfy regular expression pattern: "
                 "arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+");
}

static void test_required_nested_member_is_null(void **state)
{
    (void)state;
    const char *want = "1 validation error detected: Value null at "
                       "'algorithmSpecification.trainingInputMode' failed to satisfy constraint: "
                       "Member must not be null";
    expect_json("CreateTrainingJobRequest",
                create_with("AlgorithmSpecification", "{'TrainingImage': 'img'}"), VAL_VALIDATION,
                want);
    /* JSON null is the same as absent */
    expect_json("CreateTrainingJobRequest",
                create_with("AlgorithmSpecification", "{'TrainingInputMode': null}"),
                VAL_VALIDATION, want);
}

static void test_required_members_plural_in_model_order(void **state)
{
    (void)state;
    expect_input("CreateTrainingJobRequest", "{'RoleArn': null}", VAL_VALIDATION,
                 "3 validation errors detected: "
                 "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not "
                 "be null; "
                 "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
                 "Value null at 'trainingJobName' failed to satisfy constraint: Member must not "
                 "be null");
}

static void test_string_length_min(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof want,
             "2 validation errors detected: Value 'arn:aws:iam::1:r' at 'roleArn' failed to "
             "satisfy constraint: Member must satisfy regular expression pattern: %s; Value "
             "'arn:aws:iam::1:r' at 'roleArn' failed to satisfy constraint: Member must have "
             "length greater than or equal to 20",
             pattern_of("RoleArn"));
    expect_json("CreateTrainingJobRequest", create_with("RoleArn", "'arn:aws:iam::1:r'"),
                VAL_VALIDATION, want);
    expect_input("ListTagsInput",
                 "{'ResourceArn': 'arn:aws:sagemaker:us-east-1:123456789012:training-job/j',"
                 " 'NextToken': ''}",
                 VAL_OK, NULL);
}

static void test_numeric_ranges(void **state)
{
    (void)state;
    expect_input("ListTagsInput",
                 "{'ResourceArn': 'arn:aws:sagemaker:us-east-1:123456789012:training-job/j',"
                 " 'MaxResults': 10}",
                 VAL_VALIDATION,
                 "1 validation error detected: Value '10' at 'maxResults' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 50");
    expect_input("ListTrainingJobsRequest", "{'MaxResults': 101}", VAL_VALIDATION,
                 "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
                 "constraint: Member must have value less than or equal to 100");
    expect_input("ListTrainingJobsRequest", "{'MaxResults': 100}", VAL_OK, NULL);
    expect_json("CreateTrainingJobRequest",
                create_with("StoppingCondition",
                            "{'MaxRuntimeInSeconds': 0, 'MaxPendingTimeInSeconds': 7199}"),
                VAL_VALIDATION,
                "2 validation errors detected: Value '7199' at "
                "'stoppingCondition.maxPendingTimeInSeconds' failed to satisfy constraint: "
                "Member must have value greater than or equal to 7200; Value '0' at "
                "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member "
                "must have value greater than or equal to 1");
}

static void test_enum_set_in_model_order(void **state)
{
    (void)state;
    expect_json("CreateTrainingJobRequest",
                create_with("AlgorithmSpecification", "{'TrainingInputMode': 'Stream'}"),
                VAL_VALIDATION,
                "1 validation error detected: Value 'Stream' at "
                "'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member "
                "must satisfy enum value set: [Pipe, File, FastFile]");
    expect_input("ListTrainingJobsRequest", "{'SortBy': 'name', 'SortOrder': 'Descending'}",
                 VAL_VALIDATION,
                 "1 validation error detected: Value 'name' at 'sortBy' failed to satisfy "
                 "constraint: Member must satisfy enum value set: [Name, CreationTime, Status]");
}

static void test_long_enum_set_is_printed_whole(void **state)
{
    (void)state;
    char *msg = NULL;
    cJSON *req = create_with("ResourceConfig", "{'InstanceType': 'ml.t9.medium'}");
    assert_int_equal(val_input(M, "CreateTrainingJobRequest", req, &msg), VAL_VALIDATION);
    const char *prefix = "1 validation error detected: Value 'ml.t9.medium' at "
                         "'resourceConfig.instanceType' failed to satisfy constraint: Member "
                         "must satisfy enum value set: [ml.m4.xlarge, ml.m4.2xlarge, ";
    assert_memory_equal(msg, prefix, strlen(prefix));
    assert_int_equal(msg[strlen(msg) - 1], ']');
    assert_non_null(strstr(msg, ", ml.m5.large, "));
    free(msg);
    cJSON_Delete(req);
}

static void test_list_element_paths(void **state)
{
    (void)state;
    char want[1024];
    snprintf(want, sizeof want,
             "2 validation errors detected: Value null at 'tags.1.member.value' failed to "
             "satisfy constraint: Member must not be null; Value 'bad#key' at "
             "'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular "
             "expression pattern: %s",
             pattern_of("TagKey"));
    expect_json("CreateTrainingJobRequest",
                create_with("Tags", "[{'Key': 'ok'}, {'Key': 'bad#key', 'Value': 'v'}]"),
                VAL_VALIDATION, want);
    /* deeper: inputDataConfig.1.member.dataSource.s3DataSource.s3DataType */
    expect_json("CreateTrainingJobRequest",
                create_with("InputDataConfig",
                            "[{'ChannelName': 'train', 'DataSource': {'S3DataSource': "
                            "{'S3DataType': 'Folder', 'S3Uri': 's3://b/k'}}}]"),
                VAL_VALIDATION,
                "1 validation error detected: Value 'Folder' at "
                "'inputDataConfig.1.member.dataSource.s3DataSource.s3DataType' failed to "
                "satisfy constraint: Member must satisfy enum value set: [ManifestFile, "
                "S3Prefix, AugmentedManifestFile, Converse]");
    /* a null structure element */
    expect_json("CreateTrainingJobRequest", create_with("Tags", "[null]"), VAL_VALIDATION,
                "1 validation error detected: Value null at 'tags.1.member' failed to satisfy "
                "constraint: Member must not be null");
}

static void test_list_of_strings_element_constraint(void **state)
{
    (void)state;
    char *longid = repeat("s", 33);
    char want[1024], json[256];
    snprintf(want, sizeof want,
             "1 validation error detected: Value '[subnet-1, %s]' at 'vpcConfig.subnets' failed "
             "to satisfy constraint: Member must satisfy constraint: [Member must have length "
             "less than or equal to 32, Member must have length greater than or equal to 0, "
             "Member must satisfy regular expression pattern: %s]",
             longid, pattern_of("SubnetId"));
    snprintf(json, sizeof json, "{'SecurityGroupIds': ['sg-1'], 'Subnets': ['subnet-1', '%s']}",
             longid);
    expect_json("CreateTrainingJobRequest", create_with("VpcConfig", json), VAL_VALIDATION, want);

    /* a null element adds "Member must not be null" */
    snprintf(want, sizeof want,
             "1 validation error detected: Value '[sg-1, null]' at 'vpcConfig.securityGroupIds' "
             "failed to satisfy constraint: Member must satisfy constraint: [Member must have "
             "length less than or equal to 32, Member must have length greater than or equal to "
             "0, Member must satisfy regular expression pattern: %s, Member must not be null]",
             pattern_of("SecurityGroupId"));
    expect_json("CreateTrainingJobRequest",
                create_with("VpcConfig", "{'SecurityGroupIds': ['sg-1', null], 'Subnets': ['s']}"),
                VAL_VALIDATION, want);
    free(longid);
}

static void test_list_and_map_sizes(void **state)
{
    (void)state;
    expect_json("CreateTrainingJobRequest", create_with("InputDataConfig", "[]"), VAL_VALIDATION,
                "1 validation error detected: Value '[]' at 'inputDataConfig' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1");
    expect_json("CreateTrainingJobRequest",
                create_with("VpcConfig", "{'SecurityGroupIds': ['a', 'b', 'c', 'd', 'e', 'f'],"
                                         " 'Subnets': ['s']}"),
                VAL_VALIDATION,
                "1 validation error detected: Value '[a, b, c, d, e, f]' at "
                "'vpcConfig.securityGroupIds' failed to satisfy constraint: Member must have "
                "length less than or equal to 5");
    /* a list of structures prints its elements Java-style, known members in model order */
    expect_json("CreateTrainingJobRequest",
                create_with("ResourceConfig", "{'InstanceGroups': ["
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
                                              "'InstanceGroupName': 'g1', 'Unknown': 1},"
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
                                              "'InstanceGroupName': 'g2'},"
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
                                              "'InstanceGroupName': 'g3'},"
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
                                              "'InstanceGroupName': 'g4'},"
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
                                              "'InstanceGroupName': 'g5'},"
                                              "{'InstanceType': 'ml.m5.large', 'InstanceCount': 2, "
                                              "'InstanceGroupName': 'g6'}]}"),
                VAL_VALIDATION,
                "1 validation error detected: Value '["
                "{InstanceCount=1, InstanceGroupName=g1, InstanceType=ml.m5.large}, "
                "{InstanceCount=1, InstanceGroupName=g2, InstanceType=ml.m5.large}, "
                "{InstanceCount=1, InstanceGroupName=g3, InstanceType=ml.m5.large}, "
                "{InstanceCount=1, InstanceGroupName=g4, InstanceType=ml.m5.large}, "
                "{InstanceCount=1, InstanceGroupName=g5, InstanceType=ml.m5.large}, "
                "{InstanceCount=2, InstanceGroupName=g6, InstanceType=ml.m5.large}]' at "
                "'resourceConfig.instanceGroups' failed to satisfy constraint: Member must have "
                "length less than or equal to 5");
}

static void test_map_keys_and_values(void **state)
{
    (void)state;
    char want[4096];
    snprintf(want, sizeof want,
             "1 validation error detected: Value '{GOOD=x, 1BAD=y}' at 'environment' failed to "
             "satisfy constraint: Map keys must satisfy constraint: [Member must have length "
             "less than or equal to 512, Member must have length greater than or equal to 0, "
             "Member must satisfy regular expression pattern: %s]",
             pattern_of("TrainingEnvironmentKey"));
    expect_json("CreateTrainingJobRequest",
                create_with("Environment", "{'GOOD': 'x', '1BAD': 'y'}"), VAL_VALIDATION, want);

    char *big = repeat("v", 2501);
    cJSON *hp = J("{'eta': '0.2'}");
    cJSON_AddStringToObject(hp, "big", big);
    cJSON *req = minimal_create();
    cJSON_AddItemToObject(req, "HyperParameters", hp);
    snprintf(want, sizeof want,
             "1 validation error detected: Value '{eta=0.2, big=%s}' at 'hyperParameters' failed "
             "to satisfy constraint: Map value must satisfy constraint: [Member must have length "
             "less than or equal to 2500, Member must have length greater than or equal to 0, "
             "Member must satisfy regular expression pattern: %s]",
             big, pattern_of("HyperParameterValue"));
    expect_json("CreateTrainingJobRequest", req, VAL_VALIDATION, want);
    free(big);

    /* keys and values at once, and a null value; map size */
    snprintf(want, sizeof want,
             "2 validation errors detected: Value '{1BAD=null}' at 'environment' failed to "
             "satisfy constraint: Map keys must satisfy constraint: [Member must have length "
             "less than or equal to 512, Member must have length greater than or equal to 0, "
             "Member must satisfy regular expression pattern: %s]; Value '{1BAD=null}' at "
             "'environment' failed to satisfy constraint: Map value must satisfy constraint: "
             "[Member must have length less than or equal to 512, Member must have length "
             "greater than or equal to 0, Member must satisfy regular expression pattern: %s, "
             "Member must not be null]",
             pattern_of("TrainingEnvironmentKey"), pattern_of("TrainingEnvironmentValue"));
    expect_json("CreateTrainingJobRequest", create_with("Environment", "{'1BAD': null}"),
                VAL_VALIDATION, want);

    cJSON *env = J("{}");
    for (int i = 0; i < 101; i++) {
        char k[16];
        snprintf(k, sizeof k, "K%d", i);
        cJSON_AddStringToObject(env, k, "v");
    }
    req = minimal_create();
    cJSON_AddItemToObject(req, "Environment", env);
    expect_prefix("CreateTrainingJobRequest", req, VAL_VALIDATION,
                  "1 validation error detected: Value '{K0=v, K1=v, ");
}

static void test_length_counts_code_points(void **state)
{
    (void)state;
    char *ok = repeat("\xc3\xa9", 256), *over = repeat("\xc3\xa9", 257); /* é = 2 bytes */
    char want[2048];
    cJSON *req = create_with("Tags", "[]");
    cJSON *tag = J("{'Key': 'k'}");
    cJSON_AddStringToObject(tag, "Value", ok);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(req, "Tags"), tag);
    expect_json("CreateTrainingJobRequest", req, VAL_OK, NULL);

    req = create_with("Tags", "[]");
    tag = J("{'Key': 'k'}");
    cJSON_AddStringToObject(tag, "Value", over);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(req, "Tags"), tag);
    snprintf(want, sizeof want,
             "1 validation error detected: Value '%s' at 'tags.1.member.value' failed to satisfy "
             "constraint: Member must have length less than or equal to 256",
             over);
    expect_json("CreateTrainingJobRequest", req, VAL_VALIDATION, want);
    free(ok);
    free(over);
}

static void test_unknown_members_are_ignored(void **state)
{
    (void)state;
    expect_input("DescribeTrainingJobRequest",
                 "{'TrainingJobName': 'job-1', 'Bogus': {'deep': [1, 2, {'x': null}]},"
                 " 'trainingJobName': 5}",
                 VAL_OK, NULL);
}

static void test_full_create_request_passes(void **state)
{
    (void)state;
    expect_input("CreateTrainingJobRequest", full_create, VAL_OK, NULL);
    expect_json("CreateTrainingJobRequest", minimal_create(), VAL_OK, NULL);
    expect_input("AddTagsInput",
                 "{'ResourceArn': 'arn:aws:sagemaker:us-east-1:123456789012:training-job/j',"
                 " 'Tags': [{'Key': 'team', 'Value': 'ml'}]}",
                 VAL_OK, NULL);
    expect_input("DeleteTagsInput",
                 "{'ResourceArn': 'arn:aws:sagemaker:us-east-1:123456789012:training-job/j',"
                 " 'TagKeys': ['team']}",
                 VAL_OK, NULL);
    expect_input("ListTrainingJobsRequest", "{}", VAL_OK, NULL);
}

/* ---- val_input: serialization ---- */

static void test_wrong_json_types_are_serialization_errors(void **state)
{
    (void)state;
    expect_input("DescribeTrainingJobRequest", "{'TrainingJobName': 5}", VAL_SERIALIZATION,
                 "Expected a string at 'trainingJobName', got a number");
    expect_json("CreateTrainingJobRequest", create_with("VpcConfig", "'vpc-1'"), VAL_SERIALIZATION,
                "Expected an object at 'vpcConfig', got a string");
    expect_json("CreateTrainingJobRequest",
                create_with("VpcConfig", "{'SecurityGroupIds': {}, 'Subnets': ['s']}"),
                VAL_SERIALIZATION,
                "Expected an array at 'vpcConfig.securityGroupIds', got an "
                "object");
    expect_json("CreateTrainingJobRequest",
                create_with("VpcConfig", "{'SecurityGroupIds': ['sg'], 'Subnets': ['s', 7]}"),
                VAL_SERIALIZATION,
                "Expected a string at 'vpcConfig.subnets.2.member', got a "
                "number");
    expect_json("CreateTrainingJobRequest",
                create_with("ResourceConfig", "{'VolumeSizeInGB': 1.5}"), VAL_SERIALIZATION,
                "Expected an integer at 'resourceConfig.volumeSizeInGB', got a fractional number");
    expect_json("CreateTrainingJobRequest",
                create_with("ResourceConfig", "{'VolumeSizeInGB': 4294967296}"), VAL_SERIALIZATION,
                "Expected an integer at 'resourceConfig.volumeSizeInGB', got a number out of the "
                "32-bit integer range");
    expect_json("CreateTrainingJobRequest",
                create_with("ResourceConfig", "{'VolumeSizeInGB': 30.0}"), VAL_OK, NULL);
    expect_json("CreateTrainingJobRequest", create_with("EnableNetworkIsolation", "'true'"),
                VAL_SERIALIZATION, "Expected a boolean at 'enableNetworkIsolation', got a string");
    expect_json("CreateTrainingJobRequest", create_with("HyperParameters", "{'eta': 0.2}"),
                VAL_SERIALIZATION, "Expected a string at 'hyperParameters.eta', got a number");
    expect_json("CreateTrainingJobRequest",
                create_with("InputDataConfig",
                            "[{'ChannelName': 'c', 'DataSource': {'S3DataSource':"
                            " {'S3DataType': 'S3Prefix', 'S3Uri': 's3://b/k'}},"
                            " 'ShuffleConfig': {'Seed': 1e300}}]"),
                VAL_SERIALIZATION,
                "Expected an integer at 'inputDataConfig.1.member.shuffleConfig.seed', got a "
                "number out of the 64-bit integer range");
    /* a type error anywhere wins over the validation errors found before it in walk order */
    expect_input("CreateTrainingJobRequest",
                 "{'OutputDataConfig': {'S3OutputPath': 'bad'}, 'RoleArn': 'x',"
                 " 'TrainingJobName': true}",
                 VAL_SERIALIZATION, "Expected a string at 'trainingJobName', got a boolean");
}

static void test_body_must_be_an_object(void **state)
{
    (void)state;
    char *msg = (char *)0x1;
    expect_input("ListTrainingJobsRequest", "[]", VAL_SERIALIZATION,
                 "Expected a JSON object as the request body, got an array");
    expect_input("ListTrainingJobsRequest", "'x'", VAL_SERIALIZATION,
                 "Expected a JSON object as the request body, got a string");
    assert_int_equal(val_input(M, "ListTrainingJobsRequest", NULL, &msg), VAL_SERIALIZATION);
    assert_string_equal(msg, "Expected a JSON object as the request body, got nothing");
    free(msg);
    /* programmer errors */
    cJSON *j = J("{}");
    assert_int_equal(val_input(M, "NoSuchShape", j, &msg), SM_EINVAL);
    assert_null(msg);
    assert_int_equal(val_input(M, "TrainingJobName", j, &msg), SM_EINVAL); /* not a structure */
    assert_int_equal(val_input(M, "ListTrainingJobsRequest", j, NULL), SM_EINVAL);
    cJSON_Delete(j);
}

static void test_invalid_utf8_is_a_serialization_error(void **state)
{
    (void)state;
    cJSON *req = J("{}");
    cJSON_AddStringToObject(req, "TrainingJobName", "job\xff");
    expect_json("DescribeTrainingJobRequest", req, VAL_SERIALIZATION,
                "Invalid UTF-8 in the string at 'trainingJobName'");
    req = J("{}");
    cJSON_AddStringToObject(req, "TrainingJobName", "\xed\xa0\x80"); /* a UTF-16 surrogate */
    expect_json("DescribeTrainingJobRequest", req, VAL_SERIALIZATION,
                "Invalid UTF-8 in the string at 'trainingJobName'");
}

static void test_timestamps_accept_numbers_and_numeric_strings(void **state)
{
    (void)state;
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': 1672574400}", VAL_OK, NULL);
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': 1672574400.5}", VAL_OK, NULL);
    expect_input("ListTrainingJobsRequest", "{'CreationTimeBefore': '1672574400.5'}", VAL_OK, NULL);
    expect_input("ListTrainingJobsRequest", "{'LastModifiedTimeAfter': 1.6725744E9}", VAL_OK, NULL);
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': '2023-01-01T00:00:00Z'}",
                 VAL_SERIALIZATION,
                 "Expected a timestamp (epoch seconds as a number or numeric string) at "
                 "'creationTimeAfter', got a string that is not a number");
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': 'nan'}", VAL_SERIALIZATION,
                 "Expected a timestamp (epoch seconds as a number or numeric string) at "
                 "'creationTimeAfter', got a string that is not a number");
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': ''}", VAL_SERIALIZATION,
                 "Expected a timestamp (epoch seconds as a number or numeric string) at "
                 "'creationTimeAfter', got a string that is not a number");
    expect_input("ListTrainingJobsRequest", "{'CreationTimeAfter': true}", VAL_SERIALIZATION,
                 "Expected a timestamp (epoch seconds as a number or numeric string) at "
                 "'creationTimeAfter', got a boolean");
}

static void test_huge_message_is_capped(void **state)
{
    (void)state;
    /* 40 tags (the list may hold 50) whose 2000-character keys fail pattern and length: 80
     * items of ~2 KiB each, more than the ~64 KiB we print */
    char *key = repeat("#", 2000);
    cJSON *tags = cJSON_CreateArray();
    assert_non_null(tags);
    for (int i = 0; i < 40; i++) {
        cJSON *t = J("{'Value': 'v'}");
        cJSON_AddStringToObject(t, "Key", key);
        cJSON_AddItemToArray(tags, t);
    }
    cJSON *req = minimal_create();
    cJSON_AddItemToObject(req, "Tags", tags);
    char *msg = NULL;
    assert_int_equal(val_input(M, "CreateTrainingJobRequest", req, &msg), VAL_VALIDATION);
    assert_memory_equal(msg, "80 validation errors detected: ", 31);
    int printed = 0;
    for (const char *p = msg; (p = strstr(p, "failed to satisfy constraint")); p++)
        printed++;
    assert_true(printed > 2 && printed < 80);
    assert_true(strlen(msg) < 65536 + 2 * 2100);
    const char *tail = "; (further errors omitted)";
    assert_string_equal(msg + strlen(msg) - strlen(tail), tail);
    free(msg);
    free(key);
    cJSON_Delete(req);
}

/* ---- thread safety ---- */

static void *validate_many(void *arg)
{
    const char *want = arg;
    for (int i = 0; i < 200; i++) {
        cJSON *req = J("{'TrainingJobName': 'bad_name', 'Tags': [{'Key': '\\u00e9t\\u00e9',"
                       " 'Value': 'caf\\u00e9'}], 'RoleArn': 'x'}");
        char *msg = NULL;
        int rc = val_input(M, "CreateTrainingJobRequest", req, &msg);
        int ok = rc == VAL_VALIDATION && msg && strcmp(msg, want) == 0;
        free(msg);
        cJSON_Delete(req);
        if (!ok) return (void *)1;
    }
    return NULL;
}

static void test_concurrent_validation(void **state)
{
    (void)state;
    char want[1024];
    char *msg = NULL;
    cJSON *req = J("{'TrainingJobName': 'bad_name', 'Tags': [{'Key': '\\u00e9t\\u00e9',"
                   " 'Value': 'caf\\u00e9'}], 'RoleArn': 'x'}");
    assert_int_equal(val_input(M, "CreateTrainingJobRequest", req, &msg), VAL_VALIDATION);
    cJSON_Delete(req);
    snprintf(want, sizeof want,
             "4 validation errors detected: Value null at 'outputDataConfig' failed to satisfy "
             "constraint: Member must not be null; Value 'x' at 'roleArn' failed to satisfy "
             "constraint: Member must satisfy regular expression pattern: %s; Value 'x' at "
             "'roleArn' failed to satisfy constraint: Member must have length greater than or "
             "equal to 20; Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: %s",
             pattern_of("RoleArn"), pattern_of("TrainingJobName"));
    assert_string_equal(msg, want);
    free(msg);

    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, validate_many, want), 0);
    for (int i = 0; i < 4; i++) {
        void *res = (void *)1;
        assert_int_equal(pthread_join(t[i], &res), 0);
        assert_null(res);
    }
}

/* ---- val_output ---- */

static void test_output_good_describe_passes(void **state)
{
    (void)state;
    expect_output("DescribeTrainingJobResponse", J(describe_body), 0, NULL);
    expect_output("CreateTrainingJobResponse",
                  J("{'TrainingJobArn': 'arn:aws:sagemaker:us-east-1:123456789012:"
                    "training-job/job-1'}"),
                  0, NULL);
    expect_output("ListTrainingJobsResponse", J("{'TrainingJobSummaries': []}"), 0, NULL);
    expect_output("AddTagsOutput", J("{'Tags': [{'Key': 'k', 'Value': 'v'}]}"), 0, NULL);
}

/* Replace (json != NULL) or remove (json == NULL) one member of the Describe body; val_output
 * must then report exactly `want`. */
static void expect_describe_problem(const char *member, const char *json, const char *want)
{
    cJSON *body = J(describe_body);
    cJSON_DeleteItemFromObjectCaseSensitive(body, member);
    if (json) assert_true(cJSON_AddItemToObject(body, member, J(json)));
    expect_output("DescribeTrainingJobResponse", body, 1, want);
}

static void test_output_problems(void **state)
{
    (void)state;
    expect_describe_problem("ModelArtifacts", NULL,
                            "ModelArtifacts: the required member is missing");
    expect_describe_problem("AlgorithmSpecification", "{'TrainingImage': 'img'}",
                            "AlgorithmSpecification.TrainingInputMode: the required member is "
                            "missing");
    expect_describe_problem("FailureReason", "null",
                            "FailureReason: null is not allowed (omit the member instead)");
    expect_describe_problem("SecondaryStatus", "'Bogus'",
                            "SecondaryStatus: 'Bogus' is not a value of the enum SecondaryStatus");
    expect_describe_problem("Foo", "1", "Foo: member not in the model");
    expect_describe_problem("SecondaryStatusTransitions",
                            "[{'Status': 'Starting', 'StartTime': 1}, {'Status': 'Training',"
                            " 'StartTime': 2, 'Detail': 'x'}]",
                            "SecondaryStatusTransitions[1].Detail: member not in the model");
    expect_describe_problem("SecondaryStatusTransitions", "[{'Status': 'Starting'}]",
                            "SecondaryStatusTransitions[0].StartTime: the required member is "
                            "missing");
    expect_describe_problem("CreationTime", "'2025-05-16T11:10:50.603Z'",
                            "CreationTime: expected a timestamp (epoch seconds as a JSON number), "
                            "got a string");
    expect_describe_problem("CreationTime", "'1747419050.603'",
                            "CreationTime: expected a timestamp (epoch seconds as a JSON number), "
                            "got a string");
    expect_describe_problem("TrainingTimeInSeconds", "125.5",
                            "TrainingTimeInSeconds: expected an integer, got a fractional number");
    expect_describe_problem("HyperParameters", "{'eta': null}",
                            "HyperParameters.eta: null is not allowed");
    expect_describe_problem("FinalMetricDataList", "[null]",
                            "FinalMetricDataList[0]: null is not allowed");
    expect_describe_problem("EnableNetworkIsolation", "'false'",
                            "EnableNetworkIsolation: expected a boolean, got a string");
    expect_output("DescribeTrainingJobResponse", J("[]"), 1,
                  "(root): expected an object, got an array");
}

/* ---- allocation failures ---- */

static void test_allocation_failures_are_reported(void **state)
{
    (void)state;
#ifndef SM_TEST_WRAP_ALLOC
    skip();
#else
    const char *bad = "{'TrainingJobName': 'bad_name', 'RoleArn': 'x',"
                      " 'Environment': {'1BAD': 'v', 'OK': null},"
                      " 'VpcConfig': {'SecurityGroupIds': ['#'], 'Subnets': []},"
                      " 'Tags': [{'Key': '#', 'Value': '#'}, null]}";
    char *want = NULL;
    cJSON *req = J(bad);
    assert_int_equal(val_input(M, "CreateTrainingJobRequest", req, &want), VAL_VALIDATION);
    int n;
    for (n = 0;; n++) {
        char *msg = NULL;
        arm(n);
        int rc = val_input(M, "CreateTrainingJobRequest", req, &msg);
        if (!disarm()) {
            assert_int_equal(rc, VAL_VALIDATION);
            assert_string_equal(msg, want);
            free(msg);
            break;
        }
        assert_int_equal(rc, SM_ENOMEM);
        assert_null(msg);
    }
    assert_true(n > 5);
    free(want);
    cJSON_Delete(req);

    req = J("{'TrainingJobName': 5}");
    for (n = 0;; n++) {
        char *msg = NULL;
        arm(n);
        int rc = val_input(M, "DescribeTrainingJobRequest", req, &msg);
        if (!disarm()) {
            assert_int_equal(rc, VAL_SERIALIZATION);
            free(msg);
            break;
        }
        assert_int_equal(rc, SM_ENOMEM);
        assert_null(msg);
    }
    cJSON_Delete(req);

    req = J(describe_body);
    cJSON_AddNumberToObject(req, "Unknown", 1);
    for (n = 0;; n++) {
        char *problem = NULL;
        arm(n);
        int rc = val_output(M, "DescribeTrainingJobResponse", req, &problem);
        if (!disarm()) {
            assert_int_equal(rc, 1);
            assert_string_equal(problem, "Unknown: member not in the model");
            free(problem);
            break;
        }
        assert_int_equal(rc, SM_ENOMEM);
        assert_null(problem);
    }
    cJSON_Delete(req);

    /* model_load undoes everything when an allocation fails, and can be retried */
    free_model();
    for (n = 0;; n++) {
        arm(n);
        int rc = load_model();
        if (!disarm()) {
            assert_int_equal(rc, SM_OK);
            break;
        }
        assert_int_equal(rc, SM_ERR);
        assert_null(model_shape(M, "Tag"));
        assert_true(strlen(m_err) > 0);
    }
    assert_true(n > 3);
    assert_int_equal(model_pattern_match(M, "TrainingJobName", "job-1"), 1);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_indexes_operations_and_shapes),
        cmocka_unit_test(test_every_model_pattern_compiles),
        cmocka_unit_test(test_patterns_match_the_whole_value),
        cmocka_unit_test(test_algorithm_name_lookbehind),
        cmocka_unit_test(test_tag_patterns_are_unicode),
        cmocka_unit_test(test_java_posix_class_is_rewritten_and_ascii),
        cmocka_unit_test(test_java_ascii_digits_and_dot),
        cmocka_unit_test(test_real_message_pattern_of_training_job_name),
        cmocka_unit_test(test_printed_patterns_keep_the_anchors_the_service_prints),
        cmocka_unit_test(test_real_message_two_errors_pattern_then_length),
        cmocka_unit_test(test_real_message_empty_resource_arn),
        cmocka_unit_test(test_required_nested_member_is_null),
        cmocka_unit_test(test_required_members_plural_in_model_order),
        cmocka_unit_test(test_string_length_min),
        cmocka_unit_test(test_numeric_ranges),
        cmocka_unit_test(test_enum_set_in_model_order),
        cmocka_unit_test(test_long_enum_set_is_printed_whole),
        cmocka_unit_test(test_list_element_paths),
        cmocka_unit_test(test_list_of_strings_element_constraint),
        cmocka_unit_test(test_list_and_map_sizes),
        cmocka_unit_test(test_map_keys_and_values),
        cmocka_unit_test(test_length_counts_code_points),
        cmocka_unit_test(test_unknown_members_are_ignored),
        cmocka_unit_test(test_full_create_request_passes),
        cmocka_unit_test(test_wrong_json_types_are_serialization_errors),
        cmocka_unit_test(test_body_must_be_an_object),
        cmocka_unit_test(test_invalid_utf8_is_a_serialization_error),
        cmocka_unit_test(test_timestamps_accept_numbers_and_numeric_strings),
        cmocka_unit_test(test_huge_message_is_capped),
        cmocka_unit_test(test_concurrent_validation),
        cmocka_unit_test(test_output_good_describe_passes),
        cmocka_unit_test(test_output_problems),
        cmocka_unit_test(test_allocation_failures_are_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
