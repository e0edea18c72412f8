/*
 * training_log.c: a stored job -> the log engine's input -> its log (see training_log.h).
 *
 * The timeline is the plan with the job's events evaluated after the job's last change (its
 * last plan mark, or a stop plus the stop delay), so it holds the whole history; the engine
 * then leaves out everything later than now. Hosts are algo-1..algo-N over the instance
 * groups in order (SageMaker numbers hosts across groups the same way).
 */
#include "training_log.h"
#include "describe.h"
#include "errors.h"
#include "jobs.h"
#include "jsonutil.h"
#include "metrics.h"
#include "scenario.h"
#include "tuning_job.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t training_final_metric_ms(const lc_view *v)
{
    int64_t at = -1;
    for (int i = v->ntrans - 1; i >= 0 && at < 0; i--)
        if (v->trans[i].status == LC_S_TRAINING) at = v->trans[i].end_ms;
    if (v->training_end_ms < 0 || at < 0) return -1;
    return (at - 1) / 1000 * 1000;
}

/* The job's context evaluated over its whole timeline; NULL when out of memory or damaged. */
static jobs_ctx *timeline(const store_job *job, int *rc)
{
    jobs_ctx *c = jobs_ctx_new();
    *rc = c ? jobs_eval(job, job->created_ms, c) : SM_ENOMEM;
    if (*rc != SM_OK) {
        jobs_ctx_free(c);
        return NULL;
    }
    lc_eval(&c->plan, c->ev, c->nev, jobs_settled_ms(c), &c->view);
    return c;
}

int64_t training_log_start(const store_job *job, int64_t now_ms)
{
    int rc;
    jobs_ctx *c = timeline(job, &rc);
    int64_t start = -1;
    for (int i = 0; c && i < c->view.ntrans && start < 0; i++) {
        lc_secondary s = c->view.trans[i].status;
        if (s == LC_S_DOWNLOADING || s == LC_S_TRAINING) start = c->view.trans[i].start_ms;
    }
    jobs_ctx_free(c);
    return start >= 0 && start <= now_ms ? start : -1;
}

static void add_hosts(jl_job *j, const cJSON *resources, char names[][16])
{
    const cJSON *groups = json_array(resources, "InstanceGroups"), *g;
    int count = (int)json_number(resources, "InstanceCount", 1);
    if (groups) {
        count = 0;
        cJSON_ArrayForEach(g, groups)
        {
            count += (int)json_number(g, "InstanceCount", 0);
        }
    }
    if (count < 1) count = 1;
    for (int i = 0; i < count && i < JL_MAX_HOSTS; i++) {
        snprintf(names[i], 16, "algo-%d", i + 1);
        j->hosts[j->nhosts++] = names[i];
    }
    j->instance_type = json_string(resources, "InstanceType");
    if (!j->instance_type && groups)
        j->instance_type = json_string(cJSON_GetArrayItem(groups, 0), "InstanceType");
}

int training_log(const store_job *job, int64_t now_ms, jl_log *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    jobs_ctx *c = timeline(job, &rc);
    if (!c) return rc;
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    cJSON *scn = cJSON_Parse(job->scenario ? job->scenario : "");
    scn_extras *x = calloc(1, sizeof *x);
    jl_job *j = calloc(1, sizeof *j);
    char(*hosts)[16] = calloc(JL_MAX_HOSTS, 16);
    char *hp = NULL, artifacts[1200];
    rc = req && scn && x && j && hosts ? SM_OK : SM_ENOMEM;
    if (rc == SM_OK && scn_extras_from_json(scn, x, NULL, 0) != SM_OK) rc = SM_EINVAL;
    if (rc == SM_OK) {
        const cJSON *alg = json_object(req, "AlgorithmSpecification");
        j->name = job->name;
        j->timeline = &c->view;
        add_hosts(j, json_object(req, "ResourceConfig"), hosts);
        j->image = json_string(alg, "TrainingImage");
        if (!j->image) j->image = json_string(alg, "AlgorithmName");
        const cJSON *hpo = json_object(req, "HyperParameters");
        hp = hpo ? cJSON_PrintUnformatted(hpo) : NULL;
        j->hyperparameters = hp;
        j->epochs = 0; /* jl_epochs(hyperparameters) */
        const cJSON *ch;
        cJSON_ArrayForEach(ch, json_array(req, "InputDataConfig"))
        {
            if (j->nchannels == JL_MAX_CHANNELS) break;
            j->channel_name[j->nchannels] = json_string(ch, "ChannelName");
            j->channel_uri[j->nchannels] =
                json_string(json_object(json_object(ch, "DataSource"), "S3DataSource"), "S3Uri");
            if (j->channel_name[j->nchannels]) j->nchannels++;
        }
        describe_artifacts_uri(req, job->name, artifacts, sizeof artifacts);
        j->output_uri = artifacts;
        const cJSON *md;
        cJSON_ArrayForEach(md, json_array(alg, "MetricDefinitions"))
        {
            const char *name = json_string(md, "Name"), *regex = json_string(md, "Regex");
            if (!name || !regex || j->nmetrics == JL_MAX_METRICS) continue;
            jl_metric *m = &j->metrics[j->nmetrics++];
            m->name = name;
            m->regex = regex;
            if (!scn_extras_metric(x, name, &m->final))
                m->final = jl_default_metric(job->name, name);
        }
        j->final_metric_ms = training_final_metric_ms(&c->view);
        const lc_scenario *sc = &c->plan.scenario;
        for (int i = 0; i < sc->nsteps; i++)
            if (sc->steps[i].status == LC_S_TRAINING) j->training_ms += sc->steps[i].duration_ms;
        j->failure_reason = sc->fail_step >= 0 ? sc->failure_reason : NULL;
        j->planned_failure_ms = -1;
        for (int i = 0; i < c->plan.nmarks; i++)
            if (c->plan.marks[i].kind == LC_MARK_END && c->plan.marks[i].primary == LC_FAILED)
                j->planned_failure_ms = c->plan.marks[i].at_ms;
        for (int i = 0; i < x->nlog_lines && j->ntemplates < JL_MAX_TEMPLATES; i++)
            j->templates[j->ntemplates++] = (jl_template){x->log_when[i], x->log_text[i]};
        rc = jl_build(j, now_ms, out);
    }
    free(hp);
    free(hosts);
    free(j);
    free(x);
    cJSON_Delete(scn);
    cJSON_Delete(req);
    jobs_ctx_free(c);
    return rc;
}

int training_last_metrics(const store_job *job, int max, int *found, double *value, int64_t *at_ms)
{
    jl_log log;
    int rc = training_log(job, INT64_MAX / 4, &log);
    if (rc != SM_OK) return rc;
    cJSON *req = cJSON_Parse(job->request ? job->request : "");
    const cJSON *md;
    int n = 0;
    /* The same scan CloudWatch's algorithm metrics make (engine/metrics.c): the last point. */
    cJSON_ArrayForEach(md,
                       json_array(json_object(req, "AlgorithmSpecification"), "MetricDefinitions"))
    {
        if (n == max || rc == SM_ENOMEM) break;
        mx_series series = {0};
        const char *regex = json_string(md, "Regex");
        int sc = regex ? mx_scan(log.nstreams ? &log.streams[0] : NULL, regex, &series) : SM_OK;
        if (sc == SM_ENOMEM) rc = sc;
        found[n] = series.n > 0;
        if (found[n]) {
            value[n] = series.p[series.n - 1].v;
            at_ms[n] = series.p[series.n - 1].t_ms;
        }
        mx_series_free(&series);
        n++;
    }
    cJSON_Delete(req);
    jl_free(&log);
    return rc == SM_ENOMEM ? rc : n;
}

int training_jobs_up_to_date(int64_t now_ms)
{
    return tuning_advance_due(now_ms) < 0 ? SM_ESTORE : SM_OK;
}
