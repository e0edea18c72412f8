/*
 * describe.c: the Describe body and the List summary of a job (see describe.h).
 */
#include "describe.h"
#include "model.h"
#include "sagemaker.h"
#include "errors.h"
#include "jsonutil.h"
#include "reply.h"
#include "scenario.h"
#include "tcache.h"
#include "training_log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void describe_artifacts_uri(const cJSON *request, const char *name, char *out, size_t outlen)
{
    const cJSON *odc = cJSON_GetObjectItemCaseSensitive(request, "OutputDataConfig");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(odc, "S3OutputPath");
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(odc, "CompressionType");
    const char *p = cJSON_IsString(path) ? path->valuestring : "s3://sagemaker-output";
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    int uncompressed = cJSON_IsString(comp) && strcmp(comp->valuestring, "NONE") == 0;
    snprintf(out, outlen, "%.*s/%s/output/%s", (int)n, p, name,
             uncompressed ? "model" : "model.tar.gz");
}

static cJSON *transitions(const lc_view *v)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < v->ntrans; i++) {
        const lc_transition *t = &v->trans[i];
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "Status", lc_secondary_name(t->status)) ||
            !cJSON_AddItemToObject(e, "StartTime", reply_time(t->start_ms)) ||
            (t->end_ms >= 0 && !cJSON_AddItemToObject(e, "EndTime", reply_time(t->end_ms))) ||
            !cJSON_AddStringToObject(e, "StatusMessage", t->message ? t->message : "")) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

static int profiling_enabled(const cJSON *request)
{
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(request, "ProfilerConfig");
    return pc && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pc, "DisableProfiler"));
}

/* What the computed members need from the request and the scenario, taken before members
 * are moved out of the request. */
typedef struct derived {
    char artifacts[1200];
    int profiling;
    const char *reused_by;
    const cJSON *req;         /* borrowed; members the computed ones need are read before moves */
    cJSON *metric_defs;       /* AlgorithmSpecification.MetricDefinitions (a copy), or NULL */
    cJSON *debug_rules;       /* DebugRuleConfigurations (a copy), or NULL */
    cJSON *profiler_rules;    /* ProfilerRuleConfigurations (a copy), or NULL */
    const scn_extras *extras; /* borrowed from the thread's cache (extras_of) */
} derived;

/*
 * The extras of a scenario (metric values, rule results), parsed once per thread for the last
 * few scenario texts: jobs share a handful of scenarios, and parsing one costs more than the
 * rest of a Describe. Entries are only read, until the thread exits.
 */
#define EXTRAS_CACHE 4
typedef struct cached_extras {
    uint64_t hash;
    char *text; /* owned; NULL when the slot is empty */
    scn_extras x;
} cached_extras;
typedef struct extras_cache {
    cached_extras e[EXTRAS_CACHE];
    unsigned next; /* the slot replaced next */
} extras_cache;
static const scn_extras no_extras;

static void extras_free(void *p)
{
    extras_cache *c = p;
    for (int i = 0; c && i < EXTRAS_CACHE; i++)
        free(c->e[i].text);
    free(c);
}

static tcache extras_caches = TCACHE(sizeof(extras_cache), extras_free);

/* The extras of scenario text `text`; all empty when it does not parse. */
static const scn_extras *extras_of(const char *text)
{
    extras_cache *c = tcache_get(&extras_caches);
    if (!c) return &no_extras;
    uint64_t h = 1469598103934665603u;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    for (int i = 0; i < EXTRAS_CACHE; i++)
        if (c->e[i].text && c->e[i].hash == h && strcmp(c->e[i].text, text) == 0) return &c->e[i].x;
    cached_extras *e = &c->e[c->next++ % EXTRAS_CACHE];
    free(e->text);
    e->text = NULL;
    cJSON *sc = cJSON_Parse(text);
    int ok = scn_extras_from_json(sc, &e->x, NULL, 0) == SM_OK;
    cJSON_Delete(sc);
    if (!ok || !(e->text = strdup(text))) return &no_extras;
    e->hash = h;
    return &e->x;
}

/* FinalMetricDataList: once the job has ended after training, one entry per MetricDefinition,
 * as the job's log last printed it. A Completed job printed the scenario's final values
 * (training_final_metric_ms: the last whole second before training last stopped, so strictly
 * before TrainingEndTime); a job cut short (Failed, Stopped) printed fewer epochs: its list
 * holds the last value each metric's regex captured, at that line's time, and leaves out the
 * metrics never printed, as the service reads them from the log. */
static cJSON *final_metrics(const store_job *job, const lc_view *v, const derived *d)
{
    int64_t at = training_final_metric_ms(v);
    if (at < 0 || cJSON_GetArraySize(d->metric_defs) == 0) return NULL;
    int found[SCN_MAX_METRICS], n = 0;
    double last[SCN_MAX_METRICS];
    int64_t last_ms[SCN_MAX_METRICS];
    if (v->primary != LC_COMPLETED &&
        (n = training_last_metrics(job, SCN_MAX_METRICS, found, last, last_ms)) < 0)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    const cJSON *m;
    int i = -1;
    cJSON_ArrayForEach(m, d->metric_defs)
    {
        i++;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "Name");
        if (!a || !cJSON_IsString(name)) continue;
        double value;
        if (v->primary != LC_COMPLETED) {
            if (i >= n || !found[i]) continue;
            value = last[i];
            at = last_ms[i];
        } else if (!scn_extras_metric(d->extras, name->valuestring, &value)) {
            value = jl_default_metric(job->name, name->valuestring);
        }
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "MetricName", name->valuestring) ||
            !cJSON_AddNumberToObject(e, "Value", value) ||
            !cJSON_AddItemToObject(e, "Timestamp", reply_time(at)) || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
    }
    if (cJSON_GetArraySize(a) == 0) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

/* How long rule evaluations go on after the job ended (inferred: a real ProfilerReport still
 * read InProgress on a Completed job, and Stopping after a failure; the real duration is
 * minutes, and unknown). */
#define RULE_EVALUATION_MS 5000

/* RuleEvaluationJobArn: the rule evaluation is a processing job named after the training job
 * cut to 26 characters, the whole rule name lower-cased, and 8 hex digits, as in the real
 * "finetune-distilbert-base-c-profilerreport-1645210204-dfdabd65" (job
 * finetune-distilbert-base-cased-2022-02-18-18-49-27, rule ProfilerReport-1645210204). The
 * digits are ours (a hash of the job's ARN and the rule name); characters a processing-job
 * name cannot hold become '-', and a rule name too long for the 63 characters of a name is
 * cut (inferred). */
static void rule_job_arn(const store_job *job, const char *rule, char *arn, size_t arnlen)
{
    char proc[64];
    uint64_t h = 1469598103934665603u;
    for (const char *p = job->arn; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = (h ^ '/') * 1099511628211u;
    for (const char *p = rule; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    int n = snprintf(proc, sizeof proc, "%.26s-", job->name);
    int room = (int)sizeof proc - 1 - n - 9; /* "-" + 8 digits */
    snprintf(proc + n, sizeof proc - (size_t)n, "%.*s-%08x", room, rule,
             (unsigned)(h & 0xffffffffu));
    for (char *p = proc; *p; p++)
        *p = (*p >= 'A' && *p <= 'Z')                               ? (char)(*p - 'A' + 'a')
             : (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p
                                                                    : '-';
    const char *colon = strstr(job->arn, ":training-job/");
    snprintf(arn, arnlen, "%.*s:processing-job/%s", colon ? (int)(colon - job->arn) : 0, job->arn,
             proc);
}

/* Debugger and profiler rule evaluations: InProgress while the job runs, Stopping while it
 * stops; once it has ended, RULE_EVALUATION_MS more of InProgress (Completed) or Stopping
 * (Failed, Stopped), then the scenario's result (NoIssuesFound unless it says otherwise) for
 * a Completed job, Stopped otherwise. */
static cJSON *rule_statuses(const store_job *job, const lc_view *v, const cJSON *rules,
                            const derived *d)
{
    if (cJSON_GetArraySize(rules) == 0) return NULL;
    cJSON *a = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "RuleConfigurationName");
        if (!a || !cJSON_IsString(name)) continue;
        const char *status = v->primary == LC_STOPPING ? "Stopping" : "InProgress";
        const char *details = NULL;
        int64_t modified = v->training_start_ms >= 0 ? v->training_start_ms : job->created_ms;
        if (v->training_end_ms >= 0) {
            int64_t done = v->training_end_ms + RULE_EVALUATION_MS;
            int completed = v->primary == LC_COMPLETED;
            modified = v->at_ms < done ? v->training_end_ms : done;
            if (v->at_ms < done)
                status = completed ? "InProgress" : "Stopping";
            else
                status =
                    completed ? scn_extras_rule_result(d->extras, name->valuestring) : "Stopped";
            if (!strcmp(status, "IssuesFound"))
                details = "RuleEvaluationConditionMet: Evaluation of the rule met its condition.";
        }
        char arn[512];
        rule_job_arn(job, name->valuestring, arn, sizeof arn);
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "RuleConfigurationName", name->valuestring) ||
            !cJSON_AddStringToObject(e, "RuleEvaluationJobArn", arn) ||
            !cJSON_AddStringToObject(e, "RuleEvaluationStatus", status) ||
            (details && !cJSON_AddStringToObject(e, "StatusDetails", details)) ||
            !cJSON_AddItemToObject(e, "LastModifiedTime", reply_time(modified)) ||
            !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* WarmPoolStatus of view v, the same in Describe and in List summaries; NULL when none. */
static cJSON *warm_pool_status(const lc_view *v, const char *reused_by)
{
    if (v->warm_pool == LC_WP_NONE) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "Status", lc_warm_pool_name(v->warm_pool)) ||
        (v->warm_pool_retained_s >= 0 &&
         !cJSON_AddNumberToObject(o, "ResourceRetainedBillableTimeInSeconds",
                                  (double)v->warm_pool_retained_s)) ||
        (v->warm_pool == LC_WP_REUSED && reused_by && reused_by[0] &&
         !cJSON_AddStringToObject(o, "ReusedByJob", reused_by))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The members the service computes, by name; NULL when absent in this state. */
static cJSON *computed(const char *m, const store_job *job, const lc_view *v, const derived *d)
{
    if (!strcmp(m, "TrainingJobName")) return cJSON_CreateString(job->name);
    if (!strcmp(m, "TrainingJobArn")) return cJSON_CreateString(job->arn);
    if (!strcmp(m, "ModelArtifacts")) {
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddStringToObject(o, "S3ModelArtifacts", d->artifacts)) {
            cJSON_Delete(o);
            return NULL;
        }
        return o;
    }
    if (!strcmp(m, "TrainingJobStatus")) return cJSON_CreateString(lc_primary_name(v->primary));
    if (!strcmp(m, "SecondaryStatus")) return cJSON_CreateString(lc_secondary_name(v->secondary));
    if (!strcmp(m, "FailureReason"))
        return v->failure_reason ? cJSON_CreateString(v->failure_reason) : NULL;
    if (!strcmp(m, "WarmPoolStatus")) return warm_pool_status(v, d->reused_by);
    if (!strcmp(m, "CreationTime")) return reply_time(job->created_ms);
    if (!strcmp(m, "TrainingStartTime"))
        return v->training_start_ms >= 0 ? reply_time(v->training_start_ms) : NULL;
    if (!strcmp(m, "TrainingEndTime"))
        return v->training_end_ms >= 0 ? reply_time(v->training_end_ms) : NULL;
    if (!strcmp(m, "LastModifiedTime")) return reply_time(v->last_modified_ms);
    if (!strcmp(m, "SecondaryStatusTransitions")) return transitions(v);
    if (!strcmp(m, "TrainingTimeInSeconds"))
        return v->training_time_s >= 0 ? cJSON_CreateNumber((double)v->training_time_s) : NULL;
    if (!strcmp(m, "BillableTimeInSeconds"))
        return v->billable_time_s >= 0 ? cJSON_CreateNumber((double)v->billable_time_s) : NULL;
    if (!strcmp(m, "FinalMetricDataList")) return final_metrics(job, v, d);
    if (!strcmp(m, "DebugRuleEvaluationStatuses")) return rule_statuses(job, v, d->debug_rules, d);
    if (!strcmp(m, "ProfilerRuleEvaluationStatuses"))
        return rule_statuses(job, v, d->profiler_rules, d);
    if (!strcmp(m, "ProfilingStatus"))
        return cJSON_CreateString(d->profiling ? "Enabled" : "Disabled");
    return NULL;
}

/* Members the service computes even when the request happens to carry a member of that name. */
static int is_computed(const char *m)
{
    static const char *const names[] = {"TrainingJobName",
                                        "TrainingJobArn",
                                        "ModelArtifacts",
                                        "TrainingJobStatus",
                                        "SecondaryStatus",
                                        "FailureReason",
                                        "WarmPoolStatus",
                                        "CreationTime",
                                        "TrainingStartTime",
                                        "TrainingEndTime",
                                        "LastModifiedTime",
                                        "SecondaryStatusTransitions",
                                        "TrainingTimeInSeconds",
                                        "BillableTimeInSeconds",
                                        "ProfilingStatus",
                                        "FinalMetricDataList",
                                        "DebugRuleEvaluationStatuses",
                                        "ProfilerRuleEvaluationStatuses"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(m, names[i])) return 1;
    return 0;
}

static int is_required(const cJSON *shape, const char *m)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(shape, "required"))
    {
        if (cJSON_IsString(r) && !strcmp(r->valuestring, m)) return 1;
    }
    return 0;
}

/* The order in which the real service sends the members (botocore's model keeps it; the
 * trimmed newest model is sorted by name). Members not listed follow in model order. */
static const char *const wire_order[] = {"TrainingJobName",
                                         "TrainingJobArn",
                                         "TuningJobArn",
                                         "LabelingJobArn",
                                         "AutoMLJobArn",
                                         "ModelArtifacts",
                                         "TrainingJobStatus",
                                         "SecondaryStatus",
                                         "FailureReason",
                                         "HyperParameters",
                                         "AlgorithmSpecification",
                                         "RoleArn",
                                         "InputDataConfig",
                                         "OutputDataConfig",
                                         "ResourceConfig",
                                         "WarmPoolStatus",
                                         "VpcConfig",
                                         "StoppingCondition",
                                         "CreationTime",
                                         "TrainingStartTime",
                                         "TrainingEndTime",
                                         "LastModifiedTime",
                                         "SecondaryStatusTransitions",
                                         "FinalMetricDataList",
                                         "EnableNetworkIsolation",
                                         "EnableInterContainerTrafficEncryption",
                                         "EnableManagedSpotTraining",
                                         "CheckpointConfig",
                                         "TrainingTimeInSeconds",
                                         "BillableTimeInSeconds",
                                         "DebugHookConfig",
                                         "ExperimentConfig",
                                         "DebugRuleConfigurations",
                                         "TensorBoardOutputConfig",
                                         "DebugRuleEvaluationStatuses",
                                         "ProfilerConfig",
                                         "ProfilerRuleConfigurations",
                                         "ProfilerRuleEvaluationStatuses",
                                         "ProfilingStatus",
                                         "RetryStrategy",
                                         "Environment"};
#define NWIRE ((int)(sizeof wire_order / sizeof wire_order[0]))

static int in_wire_order(const char *m)
{
    for (int i = 0; i < NWIRE; i++)
        if (!strcmp(wire_order[i], m)) return 1;
    return 0;
}

/* The members of the Describe output shape in the order they are sent, with what each needs,
 * worked out once from the model: the loops below otherwise look every name up in the
 * shape's ~70 members, the wire order and the computed list on every request. */
typedef struct out_member {
    const char *name; /* borrowed from the model */
    int computed, required;
} out_member;
static out_member *out_plan;
static int out_n;
static pthread_once_t out_once = PTHREAD_ONCE_INIT;

static void out_plan_init(void)
{
    const cJSON *shape = model_shape(sagemaker_model(),
                                     model_output_shape(sagemaker_model(), "DescribeTrainingJob"));
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(shape, "members");
    int n = cJSON_GetArraySize(members);
    out_member *p = n > 0 ? calloc((size_t)n, sizeof *p) : NULL;
    if (!p) return;
    int k = 0;
    for (int i = 0; i < NWIRE; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(members, wire_order[i]);
        if (m)
            p[k++] = (out_member){m->string, is_computed(m->string), is_required(shape, m->string)};
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, members)
    {
        if (!in_wire_order(m->string) && k < n)
            p[k++] = (out_member){m->string, is_computed(m->string), is_required(shape, m->string)};
    }
    out_plan = p;
    out_n = k;
}

/* Move member m (computed, or taken from the request) into out. 0, or -1 when a required
 * member could not be built (allocation failure). */
static int emit(cJSON *out, const out_member *om, const store_job *job, const lc_view *v,
                const derived *d, cJSON *req)
{
    cJSON *val = om->computed ? computed(om->name, job, v, d)
                              : cJSON_DetachItemFromObjectCaseSensitive(req, om->name);
    if (val) return cJSON_AddItemToObject(out, om->name, val) ? 0 : -1;
    return om->required ? -1 : 0;
}

/* The simulated time until which the body of view v stays the same: the view's next change,
 * the next whole second of an Available warm pool's retained time, the end of the rule
 * evaluations; -1 when it never changes. */
static int64_t valid_until(const lc_view *v, const derived *d)
{
    int64_t u = v->next_change_ms;
#define EARLIER(t) (u = u < 0 || (t) < u ? (t) : u)
    if (v->warm_pool == LC_WP_AVAILABLE)
        EARLIER(v->training_end_ms + (v->warm_pool_retained_s + 1) * 1000);
    int64_t rules_done = v->training_end_ms + RULE_EVALUATION_MS;
    if ((cJSON_GetArraySize(d->debug_rules) > 0 || cJSON_GetArraySize(d->profiler_rules) > 0) &&
        v->training_end_ms >= 0 && v->at_ms < rules_done)
        EARLIER(rules_done);
#undef EARLIER
    return u;
}

cJSON *describe_job(const store_job *job, const lc_view *v, const char *reused_by)
{
    return describe_job_until(job, v, reused_by, NULL);
}

cJSON *describe_job_until(const store_job *job, const lc_view *v, const char *reused_by,
                          int64_t *until_ms)
{
    const cJSON *shape = model_shape(sagemaker_model(),
                                     model_output_shape(sagemaker_model(), "DescribeTrainingJob"));
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(shape, "members");
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    cJSON *out = cJSON_CreateObject();
    int bad = !members || !cJSON_IsObject(req) || !out;
    derived *d = bad ? NULL : calloc(1, sizeof *d);
    bad = bad || !d;
    if (!bad) {
        d->profiling = profiling_enabled(req);
        d->reused_by = reused_by;
        describe_artifacts_uri(req, job->name, d->artifacts, sizeof d->artifacts);
        d->metric_defs =
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(req, "AlgorithmSpecification"),
                                "MetricDefinitions"),
                            1);
        d->debug_rules =
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req, "DebugRuleConfigurations"), 1);
        d->profiler_rules =
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req, "ProfilerRuleConfigurations"), 1);
        d->extras = extras_of(job->scenario ? job->scenario : "{}");
    }
    pthread_once(&out_once, out_plan_init);
    bad = bad || !out_plan;
    for (int i = 0; !bad && i < out_n; i++)
        bad = emit(out, &out_plan[i], job, v, d, req);
    if (!bad && until_ms) *until_ms = valid_until(v, d);
    cJSON_Delete(req);
    if (d) {
        cJSON_Delete(d->metric_defs);
        cJSON_Delete(d->debug_rules);
        cJSON_Delete(d->profiler_rules);
        free(d);
    }
    if (bad) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

void describe_summary_text(strbuf *b, const store_job *job, const lc_view *v, const char *reused_by)
{
    char t[32];
    sb_puts(b, "{\"TrainingJobName\":");
    json_put_string(b, job->name);
    sb_puts(b, ",\"TrainingJobArn\":");
    json_put_string(b, job->arn);
    reply_time_text(job->created_ms, t);
    sb_puts(b, ",\"CreationTime\":");
    sb_puts(b, t);
    if (job->end_ms >= 0) {
        reply_time_text(job->end_ms, t);
        sb_puts(b, ",\"TrainingEndTime\":");
        sb_puts(b, t);
    }
    reply_time_text(job->last_modified_ms, t);
    sb_puts(b, ",\"LastModifiedTime\":");
    sb_puts(b, t);
    sb_puts(b, ",\"TrainingJobStatus\":");
    json_put_string(b, job->status);
    sb_puts(b, ",\"SecondaryStatus\":");
    json_put_string(b, job->secondary);
    if (job->training_plan_arn) {
        sb_puts(b, ",\"TrainingPlanArn\":");
        json_put_string(b, job->training_plan_arn);
    }
    if (v ? v->warm_pool != LC_WP_NONE : job->warm_pool[0] != 0) {
        sb_puts(b, ",\"WarmPoolStatus\":{\"Status\":");
        json_put_string(b, v ? lc_warm_pool_name(v->warm_pool) : job->warm_pool);
        if (v && v->warm_pool_retained_s >= 0)
            sb_printf(b, ",\"ResourceRetainedBillableTimeInSeconds\":%lld",
                      (long long)v->warm_pool_retained_s);
        if (v && v->warm_pool == LC_WP_REUSED && reused_by && reused_by[0]) {
            sb_puts(b, ",\"ReusedByJob\":");
            json_put_string(b, reused_by);
        }
        sb_putc(b, '}');
    }
    sb_putc(b, '}');
}

char *describe_summary_of(const store_job *job, const store_state *st)
{
    if (st->warm_pool && st->warm_pool[0] && strcmp(st->warm_pool, "InUse") != 0)
        return NULL; /* Available, Reused, Terminated: their times come from the view */
    store_job at = *job;
    snprintf(at.status, sizeof at.status, "%s", st->status);
    snprintf(at.secondary, sizeof at.secondary, "%s", st->secondary);
    snprintf(at.warm_pool, sizeof at.warm_pool, "%s", st->warm_pool ? st->warm_pool : "");
    at.last_modified_ms = st->last_modified_ms;
    at.end_ms = st->end_ms;
    strbuf b = {0};
    describe_summary_text(&b, &at, NULL, NULL);
    return sb_take(&b);
}
