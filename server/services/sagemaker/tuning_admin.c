/*
 * tuning_admin.c: GET /_sagemock/tuning-jobs (a row of admin.c's table), for the dashboard:
 * every tuning job of every region, newest first, each with its children, at the simulated now.
 *
 *   {"tuningJobs": [{"name", "arn", "region", "status", "strategy", "metric", "objectiveType",
 *     "creationTime", "endTime"?, "lastModifiedTime", "maxJobs", "maxParallel",
 *     "counters": TrainingJobStatusCounters, "objectiveCounters": ObjectiveStatusCounters,
 *     "best"?: name, "failureReason"?, "children": [HyperParameterTrainingJobSummary...]}]}
 *
 * ?limit=N (1 to 1000, default 100) bounds the tuning jobs. Times are epoch seconds.
 */
#include "clock.h"
#include "errors.h"
#include "jsonutil.h"
#include "reply.h"
#include "tuning_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct collect {
    cJSON *list;
    int64_t now_ms;
    int failed;
} collect;

static void copy(cJSON *to, const char *as, const cJSON *from, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
    if (v) cJSON_AddItemToObject(to, as, cJSON_Duplicate(v, 1));
}

static int add_job(store_tuning *t, void *arg)
{
    collect *c = arg;
    tuning_state st;
    int rc = tuning_state_load(t->region, t->name, c->now_ms, TUNING_VIEWS_ALL, 0, &st);
    cJSON *d = rc == SM_OK ? tuning_describe(&st, c->now_ms) : NULL;
    cJSON *o = d ? cJSON_CreateObject() : NULL;
    if (!o) {
        cJSON_Delete(d);
        tuning_state_free(&st);
        c->failed = 1;
        return 1;
    }
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(d, "HyperParameterTuningJobConfig");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(conf, "ResourceLimits");
    cJSON_AddStringToObject(o, "name", st.row.name);
    cJSON_AddStringToObject(o, "arn", st.row.arn);
    cJSON_AddStringToObject(o, "region", st.row.region);
    cJSON_AddStringToObject(o, "status", tuning_status_name(st.view.status));
    cJSON_AddStringToObject(o, "strategy", st.row.strategy);
    cJSON_AddStringToObject(o, "metric", st.spec->metric[0]);
    cJSON_AddStringToObject(o, "objectiveType", st.spec->objective_type);
    copy(o, "creationTime", d, "CreationTime");
    copy(o, "endTime", d, "HyperParameterTuningEndTime");
    copy(o, "lastModifiedTime", d, "LastModifiedTime");
    copy(o, "maxJobs", lim, "MaxNumberOfTrainingJobs");
    copy(o, "maxParallel", lim, "MaxParallelTrainingJobs");
    copy(o, "counters", d, "TrainingJobStatusCounters");
    copy(o, "objectiveCounters", d, "ObjectiveStatusCounters");
    copy(o, "failureReason", d, "FailureReason");
    if (st.view.best >= 0) cJSON_AddStringToObject(o, "best", st.info[st.view.best].row.name);
    cJSON *kids = cJSON_AddArrayToObject(o, "children");
    for (int i = 0; kids && i < st.n; i++) {
        cJSON *s = tuning_child_summary(&st, i);
        if (s) cJSON_AddItemToArray(kids, s);
    }
    cJSON_Delete(d);
    tuning_state_free(&st);
    cJSON_AddItemToArray(c->list, o);
    return 0;
}

int tuning_admin_jobs(sm_req *r)
{
    long limit = 100;
    const char *q = r->query ? strstr(r->query, "limit=") : NULL;
    if (q && (q == r->query || q[-1] == '&')) {
        char *end;
        limit = strtol(q + 6, &end, 10);
        if (end == q + 6 || (*end && *end != '&')) limit = 0;
    }
    if (limit < 1 || limit > 1000) return reply_admin_error(r, 400, "limit must be 1 to 1000");
    int64_t now = clock_now(r->wall_ms);
    if (tuning_advance_due(now) < 0)
        return reply_admin_error(r, 500, "cannot bring the tuning jobs up to date");
    cJSON *out = cJSON_CreateObject();
    collect c = {cJSON_AddArrayToObject(out, "tuningJobs"), now, 0};
    if (!c.list || store_tuning_each(NULL, (int)limit, add_job, &c) < 0 || c.failed) {
        cJSON_Delete(out);
        return reply_admin_error(r, 500, "cannot list the tuning jobs");
    }
    return reply_admin(r, 200, out);
}
