/*
 * tuning_spec.c: a CreateHyperParameterTuningJob request: its cross-field rules, the defaults
 * the service fills in, the tuning engine's configuration, a child's CreateTrainingJob request,
 * and the scenario field "objective" (see tuning_job.h).
 *
 * Callers have already checked every single-member constraint of the model (val_input). The
 * rules below come from the model's shape documentation unless marked (inferred); their texts
 * are ours, naming the members involved, except two the service is known to send (marked
 * "service text").
 */
#include "tuning_job.h"
#include "arn.h"
#include "config.h"
#include "errors.h"
#include "joblog.h"
#include "jsonutil.h"
#include "registry.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HYPERBAND_RESOURCE 20000 /* "The maximum value is 20,000 epochs." */
#define MAX_RANGES_PER_JOB 30        /* ParameterRanges: the sum over the three lists */

static cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

#define VERR(...) create_err(e, "ValidationException", __VA_ARGS__)

void tuning_arn(const char *region, const char *name, char *out, size_t outlen)
{
    int n =
        (int)arn_format(out, outlen, region, "sagemaker", region, "hyper-parameter-tuning-job/");
    for (size_t i = 0; n > 0 && (size_t)n + 1 < outlen && name[i]; i++)
        out[n++] = cfg.arn_lower ? (char)tolower((unsigned char)name[i]) : name[i];
    if (n > 0 && (size_t)n < outlen) out[n] = 0;
}

const char *tuning_status_name(tn_status s)
{
    static const char *const names[] = {"InProgress", "Completed", "Failed", "Stopping", "Stopped"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "InProgress";
}

/* ---- numbers in strings ---------------------------------------------------------------------- */

static int parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s)) return 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_integer(const char *s, double *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s)) return 0;
    long long v = strtoll(s, &end, 10);
    if (*end || v < -(1LL << 53) || v > (1LL << 53)) return 0;
    *out = (double)v;
    return 1;
}

/* ---- ranges ------------------------------------------------------------------------------------
 */

static tn_scale scale_named(const char *s)
{
    if (!s || !strcmp(s, "Auto")) return TN_AUTO;
    if (!strcmp(s, "Linear")) return TN_LINEAR;
    if (!strcmp(s, "Logarithmic")) return TN_LOG;
    return TN_REVERSE_LOG;
}

static const char *const kind_list[] = {"IntegerParameterRanges", "ContinuousParameterRanges",
                                        "CategoricalParameterRanges"};
static const char *const kind_one[] = {"IntegerParameterRange", "ContinuousParameterRange",
                                       "CategoricalParameterRange"};

static int find_range(const tn_def *d, const char *name)
{
    for (int j = 0; j < d->nranges; j++)
        if (!strcmp(d->ranges[j].name, name)) return j;
    return -1;
}

/* One numeric range: its bounds and scale. */
static int numeric_range(create_error *e, tn_range *r, const cJSON *o)
{
    const char *what = kind_one[r->kind];
    const char *lo = json_string(o, "MinValue"), *hi = json_string(o, "MaxValue");
    int integer = r->kind == TN_INTEGER;
    int (*parse)(const char *, double *) = integer ? parse_integer : parse_double;
    if (!parse(lo, &r->min))
        return VERR("%s %s: MinValue '%s' is not %s.", what, r->name, lo ? lo : "",
                    integer ? "an integer" : "a number");
    if (!parse(hi, &r->max))
        return VERR("%s %s: MaxValue '%s' is not %s.", what, r->name, hi ? hi : "",
                    integer ? "an integer" : "a number");
    /* (inferred) a range of one value is refused (aws/amazon-sagemaker-feedback#195) */
    if (!(r->min < r->max))
        return VERR("%s %s: MinValue (%s) must be less than MaxValue (%s).", what, r->name, lo, hi);
    r->scale = scale_named(json_string(o, "ScalingType"));
    if (r->scale == TN_LOG && !(r->min > 0))
        return VERR("%s %s: Logarithmic scaling works only for ranges that have only values "
                    "greater than 0; MinValue is %s.",
                    what, r->name, lo);
    if (r->scale == TN_REVERSE_LOG && integer)
        return VERR("%s %s: ReverseLogarithmic scaling is supported only for "
                    "ContinuousParameterRanges.",
                    what, r->name);
    if (r->scale == TN_REVERSE_LOG && !(r->min >= 0 && r->max < 1))
        return VERR("%s %s: ReverseLogarithmic scaling works only for ranges that are entirely "
                    "within 0 <= x < 1.0.",
                    what, r->name);
    return SM_OK;
}

/* (inferred) Autotune: an AutoParameter becomes a range around its ValueHint. The texts live in
 * the request, so the bounds are kept in a small per-definition table of strings. */
static int auto_range(create_error *e, tn_def *d, const cJSON *o)
{
    const char *name = json_string(o, "Name"), *hint = json_string(o, "ValueHint");
    if (!name || find_range(d, name) >= 0) return SM_OK; /* an explicit range wins */
    if (d->nranges == TN_MAX_RANGES)
        return VERR("The total number of hyperparameters in ParameterRanges must not exceed %d.",
                    MAX_RANGES_PER_JOB);
    tn_range *r = &d->ranges[d->nranges++];
    memset(r, 0, sizeof *r);
    r->name = name;
    double v;
    if (parse_integer(hint, &v) && v >= 1) {
        r->kind = TN_INTEGER;
        r->min = floor(v / 2) < 1 ? 1 : floor(v / 2);
        r->max = v * 2;
    } else if (parse_double(hint, &v) && v > 0) {
        r->kind = TN_CONTINUOUS;
        r->min = v / 10;
        r->max = v * 10;
        r->scale = TN_LOG;
    } else {
        r->kind = TN_CATEGORICAL;
        r->nvalues = 1;
        r->values[0] = hint ? hint : "";
    }
    return SM_OK;
}

/* The ranges of a definition into d. e NULL: no messages (a stored request). */
static int parse_ranges(create_error *e, const cJSON *ranges, const cJSON *statics, tn_def *d)
{
    memset(d, 0, sizeof *d);
    for (int k = 0; k < 3; k++) {
        const cJSON *o;
        cJSON_ArrayForEach(o, member(ranges, kind_list[k]))
        {
            const char *name = json_string(o, "Name");
            if (!name) continue;
            if (find_range(d, name) >= 0)
                return VERR("The hyperparameter %s is specified more than once in the parameter "
                            "ranges.",
                            name);
            if (member(statics, name) && strcmp(name, TUNING_OBJECTIVE_HP) != 0)
                return VERR("The hyperparameter %s cannot be both static (StaticHyperParameters) "
                            "and tunable (ParameterRanges).",
                            name);
            if (d->nranges == TN_MAX_RANGES)
                return VERR("The total number of hyperparameters in ParameterRanges must not "
                            "exceed %d.",
                            MAX_RANGES_PER_JOB);
            tn_range *r = &d->ranges[d->nranges++];
            memset(r, 0, sizeof *r);
            r->kind = (tn_kind)k;
            r->name = name;
            if (k != TN_CATEGORICAL) {
                if (numeric_range(e, r, o) != SM_OK) return SM_EINVAL;
                continue;
            }
            const cJSON *v;
            cJSON_ArrayForEach(v, member(o, "Values"))
            {
                if (!cJSON_IsString(v) || r->nvalues == TN_MAX_VALUES) continue;
                for (int i = 0; i < r->nvalues; i++)
                    if (!strcmp(r->values[i], v->valuestring))
                        return VERR("CategoricalParameterRange %s: the value '%s' is listed more "
                                    "than once.",
                                    name, v->valuestring);
                r->values[r->nvalues++] = v->valuestring;
            }
            if (r->nvalues == 0)
                return VERR("CategoricalParameterRange %s: Values must not be empty.", name);
        }
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, member(ranges, "AutoParameters"))
    {
        if (auto_range(e, d, o) != SM_OK) return SM_EINVAL;
    }
    return SM_OK;
}

/* ---- the objective surface (scenario field "objective") ---------------------------------------
 */

int tuning_objective_from_json(const cJSON *in, tn_surface *out, const char **metric, char *err,
                               size_t errlen)
{
    static const char *const names[] = {"metric", "best", "worst", "width", "noise", "optimum"};
    tn_surface_default(out);
    if (metric) *metric = NULL;
    if (err && errlen) err[0] = 0;
    if (!in) return SM_OK;
#define OERR(...) (err && errlen ? snprintf(err, errlen, __VA_ARGS__) : 0, SM_EINVAL)
    if (!cJSON_IsObject(in))
        return OERR("objective: must be an object {\"metric\", \"best\", \"worst\", \"width\", "
                    "\"noise\", \"optimum\"}");
    const cJSON *m;
    cJSON_ArrayForEach(m, in)
    {
        int known = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            known |= !strcmp(m->string, names[i]);
        if (!known) return OERR("objective.%.64s: unknown field", m->string);
        for (const cJSON *o = m->next; o; o = o->next)
            if (!strcmp(o->string, m->string))
                return OERR("objective.%.64s: duplicate field", m->string);
    }
    const cJSON *v = member(in, "metric");
    if (v && (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 255))
        return OERR("objective.metric: must be a metric name of 1 to 255 characters");
    if (v && metric) *metric = v->valuestring;
    static const char *const nums[] = {"best", "worst", "width", "noise"};
    for (int i = 0; i < 4; i++) {
        v = member(in, nums[i]);
        if (!v) continue;
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return OERR("objective.%s: must be a number", nums[i]);
        double d = v->valuedouble;
        if (i == 2 && !(d > 0 && d <= 10))
            return OERR("objective.width: must be a number greater than 0 and at most 10");
        if (i == 3 && !(d >= 0 && d <= 1)) return OERR("objective.noise: must be from 0 to 1");
        if (i == 0) out->has_best = 1, out->best = d;
        if (i == 1) out->has_worst = 1, out->worst = d;
        if (i == 2) out->width = d;
        if (i == 3) out->noise = d;
    }
    v = member(in, "optimum");
    if (v && !cJSON_IsObject(v))
        return OERR("objective.optimum: must be an object of hyperparameter name -> value");
    cJSON_ArrayForEach(m, v)
    {
        if (out->nopt == TN_MAX_RANGES)
            return OERR("objective.optimum: at most %d hyperparameters", TN_MAX_RANGES);
        if (!*m->string || strlen(m->string) >= TN_SURFACE_NAME_MAX)
            return OERR("objective.optimum: hyperparameter names have 1 to 256 characters");
        char text[TN_SURFACE_NAME_MAX];
        if (cJSON_IsString(m) && strlen(m->valuestring) < sizeof text)
            snprintf(text, sizeof text, "%s", m->valuestring);
        else if (cJSON_IsNumber(m) && isfinite(m->valuedouble))
            jl_format_number(m->valuedouble, text, sizeof text);
        else
            return OERR("objective.optimum.%.64s: must be a string or a number of up to 256 "
                        "characters",
                        m->string);
        snprintf(out->opt_name[out->nopt], TN_SURFACE_NAME_MAX, "%s", m->string);
        snprintf(out->opt_value[out->nopt++], TN_SURFACE_NAME_MAX, "%s", text);
    }
#undef OERR
    return SM_OK;
}

/* ---- the request -------------------------------------------------------------------------------
 */

static const char *const epoch_keys[] = {"epochs", "numepochs", "n-epochs", "n_epochs",
                                         "num_epochs"};

/* Hyperband's MaxResource from the static hyperparameters (documented keys), or -1. */
static int inferred_max_resource(const cJSON *statics)
{
    for (size_t i = 0; i < sizeof epoch_keys / sizeof epoch_keys[0]; i++) {
        const char *v = json_string(statics, epoch_keys[i]);
        double d;
        /* SDK values are JSON-encoded: "\"10\"" as well as "10" */
        char buf[64];
        if (v && *v == '"' && strlen(v) < sizeof buf) {
            snprintf(buf, sizeof buf, "%s", v + 1);
            char *q = strchr(buf, '"');
            if (q) *q = 0;
            v = buf;
        }
        if (parse_integer(v, &d) && d >= 1) return d > 1e9 ? 1000000000 : (int)d;
    }
    return -1;
}

static const cJSON *definition_ranges(const cJSON *req, const cJSON *def, int multi)
{
    return multi ? member(def, "HyperParameterRanges")
                 : member(member(req, "HyperParameterTuningJobConfig"), "ParameterRanges");
}

static const cJSON *definition_objective(const cJSON *req, const cJSON *def, int multi)
{
    return multi ? member(def, "TuningObjective")
                 : member(member(req, "HyperParameterTuningJobConfig"),
                          "HyperParameterTuningJobObjective");
}

static uint64_t name_seed(const char *name)
{
    uint64_t h = 1469598103934665603u;
    for (; name && *name; name++)
        h = (h ^ (unsigned char)tolower((unsigned char)*name)) * 1099511628211u;
    return h;
}

/* The warm start parents' points, as coordinates of this job's definitions. */
static void build_prior(const cJSON *extra, tuning_spec *s)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, member(extra, "prior"))
    {
        if (s->nprior == TN_MAX_CHILDREN) break;
        const char *dn = json_string(o, "definition");
        const cJSON *hp = member(o, "hp"), *value = member(o, "value");
        int def = -1;
        for (int d = 0; d < s->cfg.ndefs; d++)
            if (!s->multi || (dn && !strcmp(dn, s->def_name[d]))) def = d;
        if (def < 0 || !cJSON_IsNumber(value)) continue;
        tn_obs *ob = &s->prior[s->nprior];
        memset(ob, 0, sizeof *ob);
        int ok = 1;
        for (int j = 0; ok && j < s->defs[def].nranges; j++) {
            const tn_range *r = &s->defs[def].ranges[j];
            ok = tn_coord(r, json_string(hp, r->name), &ob->p.x[j]) == SM_OK;
        }
        if (!ok) continue;
        ob->def = def;
        ob->value = value->valuedouble;
        s->nprior++;
    }
}

int tuning_spec_build(const cJSON *req, const cJSON *extra, const char *name, int64_t created_ms,
                      int64_t stop_ms, tuning_spec *s)
{
    memset(s, 0, sizeof *s);
    const cJSON *conf = member(req, "HyperParameterTuningJobConfig");
    const cJSON *multi = member(req, "TrainingJobDefinitions");
    s->multi = multi != NULL;
    int n = 0;
    if (multi) {
        const cJSON *d;
        cJSON_ArrayForEach(d, multi)
        {
            if (n < TN_MAX_DEFS) s->def_json[n++] = d;
        }
    } else if (member(req, "TrainingJobDefinition")) {
        s->def_json[n++] = member(req, "TrainingJobDefinition");
    }
    if (n == 0 || !conf) return SM_EINVAL;
    tn_config *c = &s->cfg;
    c->ndefs = n;
    c->defs = s->defs;
    for (int d = 0; d < n; d++) {
        const cJSON *dj = s->def_json[d];
        if (parse_ranges(NULL, definition_ranges(req, dj, s->multi),
                         member(dj, "StaticHyperParameters"), &s->defs[d]) != SM_OK)
            return SM_EINVAL;
        const cJSON *obj = definition_objective(req, dj, s->multi);
        s->metric[d] = json_string(obj, "MetricName");
        s->def_name[d] =
            s->multi && json_string(dj, "DefinitionName") ? json_string(dj, "DefinitionName") : "";
        if (d == 0) s->objective_type = json_string(obj, "Type");
        if (!s->metric[d]) return SM_EINVAL;
    }
    if (!s->objective_type) s->objective_type = "Maximize";
    const char *strategy = json_string(conf, "Strategy");
    c->strategy = !strategy                        ? TN_BAYESIAN
                  : !strcmp(strategy, "Random")    ? TN_RANDOM
                  : !strcmp(strategy, "Grid")      ? TN_GRID
                  : !strcmp(strategy, "Hyperband") ? TN_HYPERBAND
                                                   : TN_BAYESIAN;
    c->maximize = strcmp(s->objective_type, "Minimize") != 0;
    const cJSON *lim = member(conf, "ResourceLimits");
    c->max_jobs = (int)json_number(lim, "MaxNumberOfTrainingJobs", 1);
    c->max_parallel = (int)json_number(lim, "MaxParallelTrainingJobs", 1);
    double rt = json_number(lim, "MaxRuntimeInSeconds", -1);
    c->max_runtime_ms = rt > 0 ? (int64_t)(rt * 1000) : -1;
    c->created_ms = created_ms;
    c->stop_ms = stop_ms;
    const char *es = json_string(conf, "TrainingJobEarlyStoppingType");
    c->early_stopping = es && !strcmp(es, "Auto");
    const cJSON *cc = member(conf, "TuningJobCompletionCriteria");
    const cJSON *target = member(cc, "TargetObjectiveMetricValue");
    c->has_target = cJSON_IsNumber(target);
    c->target = c->has_target ? target->valuedouble : 0;
    c->not_improving = (int)json_number(member(cc, "BestObjectiveNotImproving"),
                                        "MaxNumberOfTrainingJobsNotImproving", 0);
    const char *conv = json_string(member(cc, "ConvergenceDetected"), "CompleteOnConvergence");
    c->complete_on_convergence = conv && !strcmp(conv, "Enabled");
    const cJSON *hb = member(member(conf, "StrategyConfig"), "HyperbandStrategyConfig");
    c->hb_min = (int)json_number(hb, "MinResource", 1);
    c->hb_max = (int)json_number(hb, "MaxResource", -1);
    if (c->hb_max < 0)
        c->hb_max = inferred_max_resource(member(s->def_json[0], "StaticHyperParameters"));
    if (c->hb_max < 1) c->hb_max = 1;
    const cJSON *seed = member(conf, "RandomSeed");
    c->seed = cJSON_IsNumber(seed) ? (uint64_t)seed->valuedouble * 0x9E3779B97F4A7C15u + 1
                                   : name_seed(name);
    build_prior(extra, s);
    c->nprior = s->nprior;
    c->prior = s->prior;
    return SM_OK;
}

/* ---- the cross-field rules ---------------------------------------------------------------------
 */

static int metric_defined(const cJSON *def, const char *metric)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, member(member(def, "AlgorithmSpecification"), "MetricDefinitions"))
    {
        const char *n = json_string(m, "Name");
        if (n && metric && !strcmp(n, metric)) return 1;
    }
    return 0;
}

static int check_resources(create_error *e, const cJSON *def, const char *where)
{
    const cJSON *rc = member(def, "ResourceConfig");
    const cJSON *hrc = member(def, "HyperParameterTuningResourceConfig");
    if (!rc == !hrc)
        return VERR("%s: exactly one of ResourceConfig and HyperParameterTuningResourceConfig must "
                    "be specified.",
                    where);
    if (hrc) {
        int single = member(hrc, "InstanceType") || member(hrc, "InstanceCount") ||
                     member(hrc, "VolumeSizeInGB");
        int configs = member(hrc, "InstanceConfigs") != NULL;
        if (single == configs ||
            (single && !(member(hrc, "InstanceType") && member(hrc, "InstanceCount"))))
            return VERR("%s.HyperParameterTuningResourceConfig: specify either InstanceConfigs, "
                        "or InstanceType and InstanceCount (and VolumeSizeInGB), but not both.",
                        where);
    }
    return SM_OK;
}

/* Sets *max_resource for Hyperband. */
static int check_definition(create_error *e, const cJSON *req, const cJSON *def, int multi,
                            const char *where, const char *strategy, tn_def *d, int *max_resource)
{
    const cJSON *statics = member(def, "StaticHyperParameters");
    const cJSON *ranges = definition_ranges(req, def, multi);
    const cJSON *obj = definition_objective(req, def, multi);
    if (multi) {
        if (!json_string(def, "DefinitionName"))
            return VERR("%s: DefinitionName must be specified when TrainingJobDefinitions is "
                        "used.",
                        where);
        if (!obj)
            return VERR("%s: TuningObjective must be specified when TrainingJobDefinitions is "
                        "used.",
                        where);
        if (!ranges)
            return VERR("%s: HyperParameterRanges must be specified when TrainingJobDefinitions "
                        "is used.",
                        where);
    } else {
        if (!obj)
            return VERR("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective must be "
                        "specified when TrainingJobDefinition is used.");
        if (!ranges)
            return VERR("HyperParameterTuningJobConfig.ParameterRanges must be specified when "
                        "TrainingJobDefinition is used.");
    }
    if (parse_ranges(e, ranges, statics, d) != SM_OK) return SM_EINVAL;
    if (d->nranges == 0)
        return VERR("%s: the parameter ranges must hold at least one hyperparameter to tune.",
                    where);
    /* (inferred) a child's HyperParameters must fit the training job's map (at most 100) */
    int total = d->nranges + 1;
    const cJSON *h;
    cJSON_ArrayForEach(h, statics)
    {
        if (strcmp(h->string, TUNING_OBJECTIVE_HP) != 0) total++;
    }
    if (total > 100)
        return VERR("%s: the static and tuned hyperparameters and _tuning_objective_metric make "
                    "%d hyperparameters; a training job can have at most 100.",
                    where, total);
    const cJSON *alg = member(def, "AlgorithmSpecification");
    if (!member(alg, "AlgorithmName") == !member(alg, "TrainingImage"))
        return VERR("%s: exactly one of AlgorithmSpecification.AlgorithmName and "
                    "AlgorithmSpecification.TrainingImage must be specified.",
                    where);
    /* service text (SageMaker Python SDK issues #3932, examples #1207) */
    if (member(alg, "TrainingImage") && !metric_defined(def, json_string(obj, "MetricName")))
        return VERR("A metric is required for this hyperparameter tuning job objective. Provide a "
                    "metric in the metric definitions.");
    if (check_resources(e, def, where) != SM_OK) return SM_EINVAL;
    if (!strcmp(strategy, "Grid")) {
        for (int j = 0; j < d->nranges; j++)
            if (d->ranges[j].kind != TN_CATEGORICAL)
                return VERR("The Grid strategy supports only categorical parameters: %s is in "
                            "%s.",
                            d->ranges[j].name, kind_list[d->ranges[j].kind]);
        if (tn_grid_size(d) < 0)
            return create_err(e, "ResourceLimitExceeded",
                              "%s: the categorical ranges have more than %d combinations.", where,
                              TN_MAX_CHILDREN);
    }
    if (!strcmp(strategy, "Hyperband")) {
        const cJSON *hb =
            member(member(member(req, "HyperParameterTuningJobConfig"), "StrategyConfig"),
                   "HyperbandStrategyConfig");
        int mx = member(hb, "MaxResource") ? (int)json_number(hb, "MaxResource", 1)
                                           : inferred_max_resource(statics);
        if (mx < 1)
            return VERR("HyperbandStrategyConfig.MaxResource must be specified, or "
                        "StaticHyperParameters must hold one of epochs, numepochs, n-epochs, "
                        "n_epochs and num_epochs.");
        if (mx > MAX_HYPERBAND_RESOURCE)
            return VERR("HyperbandStrategyConfig.MaxResource (%d) must be at most %d epochs.", mx,
                        MAX_HYPERBAND_RESOURCE);
        int mn = (int)json_number(hb, "MinResource", 1);
        if (mn > mx)
            return VERR("HyperbandStrategyConfig.MinResource (%d) must be less than or equal to "
                        "MaxResource (%d).",
                        mn, mx);
        if (!*max_resource) *max_resource = mx;
    }
    return SM_OK;
}

static int same_member(const cJSON *a, const cJSON *b, const char *name)
{
    const cJSON *x = member(a, name), *y = member(b, name);
    return (!x && !y) || (x && y && cJSON_Compare(x, y, 1));
}

/* What the job takes from its warm start parents: their best jobs (OverallBestTrainingJob) and
 * their evaluated points (the Bayesian prior). */
static int check_warm_start(create_error *e, const cJSON *in, const char *region, int64_t now_ms,
                            cJSON *extra)
{
    const cJSON *ws = member(in, "WarmStartConfig");
    if (!ws) return SM_OK;
    const char *type = json_string(ws, "WarmStartType");
    int identical = type && !strcmp(type, "IdenticalDataAndAlgorithm");
    cJSON *parents = cJSON_AddArrayToObject(extra, "parents");
    cJSON *prior = cJSON_AddArrayToObject(extra, "prior");
    if (!parents || !prior) return create_err(e, "InternalFailure", "%s", "out of memory");
    tuning_spec *mine = calloc(1, sizeof *mine);
    if (!mine || tuning_spec_build(in, NULL, "", 0, -1, mine) != SM_OK) {
        free(mine);
        return VERR("The tuning job's definitions could not be read.");
    }
    int rc = SM_OK;
    const cJSON *p;
    cJSON_ArrayForEach(p, member(ws, "ParentHyperParameterTuningJobs"))
    {
        const char *pname = json_string(p, "HyperParameterTuningJobName");
        if (!pname) continue;
        tuning_state st;
        int r = tuning_state_load(region, pname, now_ms, TUNING_VIEWS_BEST, 1, &st);
        if (r == SM_ENOTFOUND) {
            rc = VERR("The parent hyperparameter tuning job %s does not exist.", pname);
            break;
        }
        if (r != SM_OK) {
            rc = create_err(
                e, "InternalFailure", "%s",
                "The request processing has failed because of an unknown error, exception "
                "or failure.");
            break;
        }
        const tuning_spec *ps = st.spec;
        const char *status = tuning_status_name(st.view.status);
        if (st.view.status != TN_COMPLETED && st.view.status != TN_STOPPED) {
            rc = VERR("The parent hyperparameter tuning job %s is %s: a parent must be Completed "
                      "or Stopped.",
                      pname, status);
        } else if (strcmp(ps->metric[0], mine->metric[0]) != 0 ||
                   strcmp(ps->objective_type, mine->objective_type) != 0) {
            rc = VERR("The objective metric of the tuning job (%s, %s) must be the same as that of "
                      "its parent %s (%s, %s).",
                      mine->metric[0], mine->objective_type, pname, ps->metric[0],
                      ps->objective_type);
        } else if (identical) {
            const cJSON *a = mine->def_json[0], *b = ps->def_json[0];
            const cJSON *aa = member(a, "AlgorithmSpecification"),
                        *ba = member(b, "AlgorithmSpecification");
            int same_alg =
                same_member(aa, ba, "TrainingImage") && same_member(aa, ba, "AlgorithmName");
            int same_data = same_member(a, b, "InputDataConfig");
            if (!same_alg || !same_data)
                rc = VERR("WarmStartType IdenticalDataAndAlgorithm needs the same training image "
                          "or algorithm and the same input data as the parent %s.",
                          pname);
        }
        if (rc == SM_OK) {
            cJSON *po = cJSON_CreateObject();
            cJSON_AddItemToArray(parents, po);
            cJSON_AddStringToObject(po, "name", st.row.name);
            if (st.view.best >= 0) {
                cJSON *b = tuning_child_summary(&st, st.view.best);
                if (b) cJSON_AddItemToObject(po, "best", b);
            }
            for (int i = 0; i < st.n; i++) {
                if (st.children[i].obj != TN_OBJ_SUCCEEDED) continue;
                cJSON *o = cJSON_CreateObject();
                cJSON *hp = cJSON_Parse(st.info[i].row.tuned);
                if (!o || !hp) {
                    cJSON_Delete(o);
                    cJSON_Delete(hp);
                    continue;
                }
                cJSON_AddStringToObject(o, "definition", st.info[i].row.definition);
                cJSON_AddItemToObject(o, "hp", hp);
                cJSON_AddNumberToObject(o, "value", st.children[i].obj_value);
                cJSON_AddItemToArray(prior, o);
            }
        }
        tuning_state_free(&st);
        if (rc != SM_OK) break;
    }
    free(mine);
    return rc;
}

/* Add `name` = item to o unless present. */
static void fill(cJSON *o, const char *name, cJSON *item)
{
    if (!o || member(o, name)) {
        cJSON_Delete(item);
        return;
    }
    cJSON_AddItemToObject(o, name, item);
}

/* The values the service fills in, as Describe shows them. The SageMaker Python SDK reads
 * TrainingJobEarlyStoppingType, all three ParameterRanges lists, MaxNumberOfTrainingJobs and
 * StaticHyperParameters[_tuning_objective_metric] (HyperparameterTuner.attach). */
static void fill_defaults(cJSON *in, int grid_size)
{
    cJSON *conf = member(in, "HyperParameterTuningJobConfig");
    fill(conf, "TrainingJobEarlyStoppingType", cJSON_CreateString("Off"));
    if (grid_size > 0)
        fill(member(conf, "ResourceLimits"), "MaxNumberOfTrainingJobs",
             cJSON_CreateNumber(grid_size));
    cJSON *defs[TN_MAX_DEFS];
    int n = 0, multi = member(in, "TrainingJobDefinitions") != NULL;
    if (multi) {
        cJSON *d;
        cJSON_ArrayForEach(d, member(in, "TrainingJobDefinitions"))
        {
            if (n < TN_MAX_DEFS) defs[n++] = d;
        }
    } else {
        defs[n++] = member(in, "TrainingJobDefinition");
    }
    for (int i = 0; i < n; i++) {
        cJSON *d = defs[i];
        cJSON *ranges = multi ? member(d, "HyperParameterRanges") : member(conf, "ParameterRanges");
        for (int k = 0; k < 3; k++)
            fill(ranges, kind_list[k], cJSON_CreateArray());
        const cJSON *obj = definition_objective(in, d, multi);
        fill(d, "StaticHyperParameters", cJSON_CreateObject());
        cJSON *statics = member(d, "StaticHyperParameters");
        const char *metric = json_string(obj, "MetricName");
        if (metric) {
            if (member(statics, TUNING_OBJECTIVE_HP))
                cJSON_ReplaceItemInObjectCaseSensitive(statics, TUNING_OBJECTIVE_HP,
                                                       cJSON_CreateString(metric));
            else
                cJSON_AddStringToObject(statics, TUNING_OBJECTIVE_HP, metric);
        }
        /* (inferred) Describe shows a ResourceConfig for a HyperParameterTuningResourceConfig
         * (what the SageMaker Python SDK sends): HyperparameterTuner.attach reads it. */
        const cJSON *hrc = member(d, "HyperParameterTuningResourceConfig");
        if (hrc && !member(d, "ResourceConfig")) {
            const cJSON *first = cJSON_GetArrayItem(member(hrc, "InstanceConfigs"), 0);
            const cJSON *src = first ? first : hrc;
            cJSON *rc = cJSON_CreateObject();
            static const char *const keys[] = {"InstanceType", "InstanceCount", "VolumeSizeInGB"};
            for (int k = 0; rc && k < 3; k++)
                if (member(src, keys[k]))
                    cJSON_AddItemToObject(rc, keys[k], cJSON_Duplicate(member(src, keys[k]), 1));
            if (rc && member(hrc, "VolumeKmsKeyId"))
                cJSON_AddItemToObject(rc, "VolumeKmsKeyId",
                                      cJSON_Duplicate(member(hrc, "VolumeKmsKeyId"), 1));
            fill(d, "ResourceConfig", rc);
        }
        fill(d, "EnableNetworkIsolation", cJSON_CreateFalse());
        fill(d, "EnableInterContainerTrafficEncryption", cJSON_CreateFalse());
        fill(d, "EnableManagedSpotTraining", cJSON_CreateFalse());
    }
}

static cJSON *child_request_for(const tuning_spec *s, const cJSON *req, const cJSON *extra, int def,
                                const char *name, const char *arn);

/* The training-job rules (create.c) on a child of each definition, and the scenario tag. */
static int check_children(create_error *e, const cJSON *in, const cJSON *extra)
{
    tuning_spec *s = calloc(1, sizeof *s);
    if (!s) return create_err(e, "InternalFailure", "%s", "out of memory");
    int rc = tuning_spec_build(in, extra, "x", 0, -1, s) == SM_OK
                 ? SM_OK
                 : VERR("The training job definitions could not be read.");
    for (int d = 0; rc == SM_OK && d < s->cfg.ndefs; d++) {
        cJSON *child = child_request_for(s, in, extra, d, "x", "x");
        if (!child) {
            rc = create_err(e, "InternalFailure", "%s", "out of memory");
            break;
        }
        rc = create_check(child, e);
        const cJSON *t;
        cJSON_ArrayForEach(t, member(child, "Tags"))
        {
            const char *k = json_string(t, "Key"), *v = json_string(t, "Value");
            char *known = NULL;
            if (rc == SM_OK && k && v && !strcmp(k, REG_SCENARIO_TAG) &&
                !(known = reg_scenario_json(v)))
                rc = VERR("The tag %s names the scenario '%s', which sagemock does not know. "
                          "GET /_sagemock/scenarios lists the known ones.",
                          REG_SCENARIO_TAG, v);
            free(known);
        }
        cJSON_Delete(child);
    }
    free(s);
    return rc;
}

int tuning_check(cJSON *in, const char *region, int64_t now_ms, cJSON **extra_out, create_error *e)
{
    *extra_out = NULL;
    const cJSON *one = member(in, "TrainingJobDefinition");
    const cJSON *many = member(in, "TrainingJobDefinitions");
    const cJSON *conf = member(in, "HyperParameterTuningJobConfig");
    const char *strategy = json_string(conf, "Strategy");
    if (!strategy) strategy = "Bayesian";
    if (!one == !many)
        return VERR("Exactly one of TrainingJobDefinition and TrainingJobDefinitions must be "
                    "specified.");
    if (many &&
        (member(conf, "HyperParameterTuningJobObjective") || member(conf, "ParameterRanges")))
        return VERR("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective and "
                    "ParameterRanges must not be specified when TrainingJobDefinitions is used: "
                    "each definition has its TuningObjective and HyperParameterRanges.");
    /* Tag keys: as CreateTrainingJob. */
    const cJSON *t;
    cJSON_ArrayForEach(t, member(in, "Tags"))
    {
        const char *k = json_string(t, "Key");
        if (k && strncmp(k, "aws:", 4) == 0)
            return VERR("Tag keys starting with 'aws:' are reserved for system use: '%s'.", k);
    }
    const char *es = json_string(conf, "TrainingJobEarlyStoppingType");
    if (!strcmp(strategy, "Hyperband") && es && !strcmp(es, "Auto"))
        return VERR("TrainingJobEarlyStoppingType must be Off when Strategy is Hyperband: "
                    "Hyperband has its own early stopping.");
    if (member(member(conf, "StrategyConfig"), "HyperbandStrategyConfig") &&
        strcmp(strategy, "Hyperband") != 0)
        return VERR("StrategyConfig.HyperbandStrategyConfig can be specified only when Strategy "
                    "is Hyperband.");

    tn_def *d = calloc(1, sizeof *d);
    if (!d) return create_err(e, "InternalFailure", "%s", "out of memory");
    const cJSON *defs[TN_MAX_DEFS];
    int n = 0;
    if (many) {
        const cJSON *x;
        cJSON_ArrayForEach(x, many)
        {
            if (n < TN_MAX_DEFS) defs[n++] = x;
        }
    } else {
        defs[n++] = one;
    }
    int rc = SM_OK, grid_total = 0, max_resource = 0;
    double combinations = 0;
    const char *type0 = NULL;
    for (int i = 0; rc == SM_OK && i < n; i++) {
        char where[96];
        if (many)
            snprintf(where, sizeof where, "TrainingJobDefinitions[%d]", i);
        else
            snprintf(where, sizeof where, "TrainingJobDefinition");
        rc = check_definition(e, in, defs[i], many != NULL, where, strategy, d, &max_resource);
        if (rc != SM_OK) break;
        const char *type = json_string(definition_objective(in, defs[i], many != NULL), "Type");
        if (!type0) type0 = type;
        if (type && type0 && strcmp(type, type0) != 0)
            rc = VERR("Every TrainingJobDefinitions[].TuningObjective.Type must be the same.");
        for (int k = 0; rc == SM_OK && many && k < i; k++) {
            const char *a = json_string(defs[i], "DefinitionName"),
                       *b = json_string(defs[k], "DefinitionName");
            if (a && b && !strcmp(a, b))
                rc = VERR("DefinitionName %s is used by more than one training job definition.", a);
        }
        if (!strcmp(strategy, "Grid")) grid_total += tn_grid_size(d);
        combinations += tn_combinations(d);
    }
    free(d);
    if (rc != SM_OK) return rc;
    if (grid_total > TN_MAX_CHILDREN)
        return create_err(
            e, "ResourceLimitExceeded",
            "The categorical ranges have %d combinations; a tuning job can launch at most "
            "%d training jobs.",
            grid_total, TN_MAX_CHILDREN);

    const cJSON *lim = member(conf, "ResourceLimits");
    const cJSON *maxn = member(lim, "MaxNumberOfTrainingJobs");
    int max_jobs = maxn ? (int)maxn->valuedouble : 0;
    int parallel = (int)json_number(lim, "MaxParallelTrainingJobs", 1);
    if (!strcmp(strategy, "Grid")) {
        if (maxn && max_jobs != grid_total)
            return VERR("For the Grid strategy, ResourceLimits.MaxNumberOfTrainingJobs (%d) must "
                        "equal the number of distinct combinations of the categorical ranges "
                        "(%d).",
                        max_jobs, grid_total);
        max_jobs = grid_total;
    } else if (!maxn) { /* (inferred) */
        return VERR("ResourceLimits.MaxNumberOfTrainingJobs must be specified unless Strategy is "
                    "Grid.");
    }
    if (max_jobs > TN_MAX_CHILDREN) /* (inferred) limits */
        return create_err(
            e, "ResourceLimitExceeded",
            "ResourceLimits.MaxNumberOfTrainingJobs (%d) exceeds the limit of %d training "
            "jobs per hyperparameter tuning job.",
            max_jobs, TN_MAX_CHILDREN);
    if (parallel > TN_MAX_PARALLEL)
        return create_err(e, "ResourceLimitExceeded",
                          "ResourceLimits.MaxParallelTrainingJobs (%d) exceeds the limit of %d "
                          "concurrent training jobs per hyperparameter tuning job.",
                          parallel, TN_MAX_PARALLEL);
    /* service text (aws/amazon-sagemaker-operator-for-k8s#123) */
    if (strcmp(strategy, "Grid") != 0 && combinations < max_jobs)
        return VERR("You don't have enough combinations of hyperparameter ranges. The total "
                    "number of hyperparameter combinations for the provided ranges [%.1f] must be "
                    "equal or greater than the value of MaxNumberOfJobs, [%d]. Provide additional "
                    "ranges.",
                    combinations, max_jobs);

    fill_defaults(in, !strcmp(strategy, "Grid") ? grid_total : 0);
    cJSON *extra = cJSON_CreateObject();
    if (!extra) return create_err(e, "InternalFailure", "%s", "out of memory");
    cJSON *tags = cJSON_Duplicate(member(in, "Tags"), 1);
    cJSON_AddItemToObject(extra, "tags", tags ? tags : cJSON_CreateArray());
    if ((rc = check_children(e, in, extra)) != SM_OK ||
        (rc = check_warm_start(e, in, region, now_ms, extra)) != SM_OK) {
        cJSON_Delete(extra);
        return rc;
    }
    *extra_out = extra;
    return SM_OK;
}

/* A child of definition def with every tuned hyperparameter at its range's first value. */
static cJSON *child_request_for(const tuning_spec *s, const cJSON *req, const cJSON *extra, int def,
                                const char *name, const char *arn)
{
    cJSON *tuned = cJSON_CreateObject();
    for (int j = 0; tuned && j < s->defs[def].nranges; j++) {
        char text[300];
        tn_value_text(&s->defs[def].ranges[j], 0, text, sizeof text);
        cJSON_AddStringToObject(tuned, s->defs[def].ranges[j].name, text);
    }
    cJSON *c = tuned ? tuning_child_request(s, req, extra, def, name, arn, tuned) : NULL;
    cJSON_Delete(tuned);
    return c;
}

/* ---- a child's request -------------------------------------------------------------------------
 */

static void copy_member(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *v = member(from, name);
    if (v) cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

/* A regex for a metric the algorithm defines itself (AlgorithmName): "<name>=(value)". */
static void add_metric_definition(cJSON *alg, const char *metric)
{
    cJSON *defs = member(alg, "MetricDefinitions");
    if (!defs) defs = cJSON_AddArrayToObject(alg, "MetricDefinitions");
    char re[600];
    size_t k = 0;
    for (const char *p = metric; *p && k + 3 < sizeof re - 24; p++) {
        if (strchr("\\^$.|?*+()[]{}", *p)) re[k++] = '\\';
        re[k++] = *p;
    }
    snprintf(re + k, sizeof re - k, "=([-+0-9.eE]+)");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "Name", metric);
    cJSON_AddStringToObject(d, "Regex", re);
    cJSON_AddItemToArray(defs, d);
}

cJSON *tuning_child_request(const tuning_spec *s, const cJSON *req, const cJSON *extra, int def,
                            const char *child_name, const char *tuning_arn, const cJSON *tuned)
{
    (void)req;
    const cJSON *dj = s->def_json[def];
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    cJSON_AddStringToObject(c, "TrainingJobName", child_name);
    cJSON_AddStringToObject(c, "TuningJobArn", tuning_arn);
    cJSON *hp = cJSON_Duplicate(member(dj, "StaticHyperParameters"), 1);
    if (!hp) hp = cJSON_CreateObject();
    const cJSON *v;
    cJSON_ArrayForEach(v, tuned)
    {
        if (member(hp, v->string))
            cJSON_ReplaceItemInObjectCaseSensitive(hp, v->string, cJSON_Duplicate(v, 1));
        else
            cJSON_AddItemToObject(hp, v->string, cJSON_Duplicate(v, 1));
    }
    cJSON_AddItemToObject(c, "HyperParameters", hp);
    cJSON *alg = cJSON_Duplicate(member(dj, "AlgorithmSpecification"), 1);
    if (alg && !metric_defined(dj, s->metric[def])) add_metric_definition(alg, s->metric[def]);
    if (alg) cJSON_AddItemToObject(c, "AlgorithmSpecification", alg);
    copy_member(c, dj, "RoleArn");
    copy_member(c, dj, "InputDataConfig");
    copy_member(c, dj, "OutputDataConfig");
    const cJSON *rc = member(dj, "ResourceConfig");
    const cJSON *hrc = member(dj, "HyperParameterTuningResourceConfig");
    cJSON *res = rc ? cJSON_Duplicate(rc, 1) : cJSON_CreateObject();
    if (res) cJSON_DeleteItemFromObjectCaseSensitive(res, "KeepAlivePeriodInSeconds");
    if (!rc && hrc && res) {
        const cJSON *first = cJSON_GetArrayItem(member(hrc, "InstanceConfigs"), 0);
        const cJSON *src = first ? first : hrc; /* (inferred) Prioritized: the first config */
        copy_member(res, src, "InstanceType");
        copy_member(res, src, "InstanceCount");
        copy_member(res, src, "VolumeSizeInGB");
        copy_member(res, hrc, "VolumeKmsKeyId");
    }
    if (res) cJSON_AddItemToObject(c, "ResourceConfig", res);
    copy_member(c, dj, "VpcConfig");
    copy_member(c, dj, "StoppingCondition");
    copy_member(c, dj, "EnableNetworkIsolation");
    copy_member(c, dj, "EnableInterContainerTrafficEncryption");
    copy_member(c, dj, "EnableManagedSpotTraining");
    copy_member(c, dj, "CheckpointConfig");
    copy_member(c, dj, "RetryStrategy");
    copy_member(c, dj, "Environment");
    const cJSON *tags = member(extra, "tags");
    if (cJSON_GetArraySize(tags) > 0) cJSON_AddItemToObject(c, "Tags", cJSON_Duplicate(tags, 1));
    return c;
}
