/*
 * services.c: the services sagemock serves, and their models (see service.h).
 *
 * The list is the only place that names every service. Models are loaded once at start-up and
 * read-only afterwards; lookups are linear over a handful of services, and binary over each
 * service's sorted operation table.
 */
#include "service.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

extern const sm_service svc_sagemaker, svc_logs, svc_cloudwatch, svc_sts, svc_iam;

const sm_service *const sm_services[] = {&svc_sagemaker, &svc_logs, &svc_cloudwatch, &svc_sts,
                                         &svc_iam};
const int sm_nservices = (int)(sizeof sm_services / sizeof sm_services[0]);

static sm_model *models[sizeof sm_services / sizeof sm_services[0]];

static int index_of(const sm_service *s)
{
    for (int i = 0; i < sm_nservices; i++)
        if (sm_services[i] == s) return i;
    return -1;
}

int services_load(char *err, size_t errlen)
{
    for (int i = 0; i < sm_nservices; i++) {
        const sm_service *s = sm_services[i];
        char why[512];
        for (int k = 1; k < s->nops; k++)
            if (strcmp(s->ops[k - 1].name, s->ops[k].name) >= 0) {
                snprintf(err, errlen, "%s: the operation table is not sorted at %s", s->id,
                         s->ops[k].name);
                services_free();
                return SM_ERR;
            }
        if (models[i]) continue;
        if (!(models[i] = model_load(s->model_json, why, sizeof why)) ||
            model_set_printed_patterns(models[i], s->printed_patterns, why, sizeof why) != SM_OK) {
            snprintf(err, errlen, "the %s model does not load: %s", s->id, why);
            services_free();
            return SM_ERR;
        }
        for (int k = 0; k < s->nops; k++)
            if (!model_operation(models[i], s->ops[k].name)) {
                snprintf(err, errlen, "%s: operation %s is not in its model", s->id,
                         s->ops[k].name);
                services_free();
                return SM_ERR;
            }
    }
    return SM_OK;
}

void services_free(void)
{
    for (int i = 0; i < sm_nservices; i++) {
        model_free(models[i]);
        models[i] = NULL;
    }
}

const sm_model *service_model(const sm_service *s)
{
    int i = index_of(s);
    return i < 0 ? NULL : models[i];
}

const sm_service *service_by_id(const char *id)
{
    for (int i = 0; id && i < sm_nservices; i++)
        if (strcmp(sm_services[i]->id, id) == 0) return sm_services[i];
    return NULL;
}

static int same(const char *name, const char *s, size_t len)
{
    return name && strlen(name) == len && memcmp(name, s, len) == 0;
}

const sm_service *service_by_target_prefix(const char *prefix, size_t len)
{
    for (int i = 0; i < sm_nservices; i++)
        if (same(sm_services[i]->target_prefix, prefix, len)) return sm_services[i];
    return NULL;
}

const sm_service *service_by_signing_name(const char *name, size_t len)
{
    for (int i = 0; i < sm_nservices; i++)
        if (same(sm_services[i]->signing_name, name, len)) return sm_services[i];
    return NULL;
}

const sm_service *service_by_query_version(const char *version)
{
    for (int i = 0; version && i < sm_nservices; i++)
        if ((sm_services[i]->protocols & PROTO_QUERY) && sm_services[i]->query_version &&
            strcmp(sm_services[i]->query_version, version) == 0)
            return sm_services[i];
    return NULL;
}

const sm_operation *service_operation(const sm_service *s, const char *name)
{
    int lo = 0, hi = s ? s->nops - 1 : -1;
    while (name && lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(name, s->ops[mid].name);
        if (c == 0) return &s->ops[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}
