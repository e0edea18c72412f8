/*
 * metrics.c: a training job's CloudWatch metrics and their statistics (see metrics.h).
 *
 * Must not: read a clock, do I/O, keep mutable global state (worker threads share it), or
 * leave an allocation unchecked. The same inputs always give the same points.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "metrics.h"
#include "errors.h"

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * (int64_t)HOUR_MS)

void mx_series_free(mx_series *s)
{
    if (!s) return;
    free(s->p);
    memset(s, 0, sizeof *s);
}

static int push(mx_series *s, int64_t t_ms, double v)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 32;
        mx_point *p = realloc(s->p, (size_t)cap * sizeof *p);
        if (!p) return SM_ENOMEM;
        s->p = p;
        s->cap = cap;
    }
    mx_point *p = &s->p[s->n++];
    memset(p, 0, sizeof *p); /* padding too: series are compared with memcmp */
    p->t_ms = t_ms;
    p->v = v;
    return SM_OK;
}

static int64_t floor_to(int64_t t, int64_t unit)
{
    int64_t q = t / unit;
    if (t % unit != 0 && t < 0) q--;
    return q * unit;
}

/* ---- algorithm metrics ------------------------------------------------------------------- */

/* group 1 of a match reads whole as a finite number (what SageMaker would publish) */
static int number_of(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

struct mx_scanner {
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

void mx_scanner_free(mx_scanner *sc)
{
    if (!sc) return;
    pcre2_match_context_free(sc->mc);
    pcre2_match_data_free(sc->md);
    pcre2_code_free(sc->re);
    free(sc);
}

int mx_scanner_new(const char *regex, mx_scanner **out)
{
    *out = NULL;
    if (!regex) return SM_EINVAL;
    int err;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (!re) return err == PCRE2_ERROR_HEAP_FAILED ? SM_ENOMEM : SM_EINVAL;
    mx_scanner *sc = calloc(1, sizeof *sc);
    if (sc) {
        sc->re = re;
        sc->md = pcre2_match_data_create(2, NULL);
        sc->mc = pcre2_match_context_create(NULL);
    }
    if (!sc || !sc->md || !sc->mc) {
        if (!sc) pcre2_code_free(re);
        mx_scanner_free(sc);
        return SM_ENOMEM;
    }
    /* the log engine's limits: a pathological regex stays bounded */
    pcre2_set_match_limit(sc->mc, 100000);
    pcre2_set_depth_limit(sc->mc, 10000);
    pcre2_set_heap_limit(sc->mc, 4096);
    *out = sc;
    return SM_OK;
}

int mx_scanner_run(mx_scanner *sc, const jl_stream *s, int from, mx_series *out)
{
    int rc = SM_OK;
    for (int i = from < 0 ? 0 : from; s && rc == SM_OK && i < s->nevents; i++) {
        const char *msg = s->events[i].message;
        int m = pcre2_match(sc->re, (PCRE2_SPTR)msg, strlen(msg), 0, 0, sc->md, sc->mc);
        if (m == PCRE2_ERROR_NOMEMORY) rc = SM_ENOMEM;
        if (m < 2) continue; /* no match, no group 1, or a limit: the same every time */
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
        double v;
        if (ov[2] == PCRE2_UNSET || !number_of(msg + ov[2], ov[3] - ov[2], &v)) continue;
        rc = push(out, floor_to(s->events[i].timestamp_ms, 1000), v);
        if (rc == SM_OK) out->p[out->n - 1].ev = i;
    }
    return rc;
}

int mx_scan(const jl_stream *s, const char *regex, mx_series *out)
{
    if (!s || !regex) return SM_OK;
    mx_scanner *sc;
    int rc = mx_scanner_new(regex, &sc);
    if (rc == SM_OK) rc = mx_scanner_run(sc, s, 0, out);
    mx_scanner_free(sc);
    return rc;
}

/* ---- instance metrics -------------------------------------------------------------------- */

static const char *const kind_names[MX_NKINDS] = {"CPUUtilization", "MemoryUtilization",
                                                  "DiskUtilization", "GPUUtilization",
                                                  "GPUMemoryUtilization"};

const char *mx_kind_name(mx_kind k)
{
    return k >= 0 && k < MX_NKINDS ? kind_names[k] : NULL;
}

int mx_kind_of(const char *name)
{
    for (int k = 0; name && k < MX_NKINDS; k++)
        if (strcmp(kind_names[k], name) == 0) return k;
    return -1;
}

/* "ml.p3.8xlarge" -> family "p3", size "8xlarge". */
static void split_type(const char *type, char *family, size_t flen, const char **size)
{
    const char *t = type ? type : "";
    if (strncmp(t, "ml.", 3) == 0) t += 3;
    const char *dot = strchr(t, '.');
    size_t n = dot ? (size_t)(dot - t) : strlen(t);
    if (n >= flen) n = flen - 1;
    memcpy(family, t, n);
    family[n] = 0;
    *size = dot ? dot + 1 : "";
}

static int vcpus_of(const char *size)
{
    if (strcmp(size, "metal") == 0) return 96;
    if (strcmp(size, "xlarge") == 0) return 4;
    if (strcmp(size, "large") == 0 || strcmp(size, "medium") == 0) return 2;
    char *end;
    long n = strtol(size, &end, 10);
    if (end != size && strcmp(end, "xlarge") == 0 && n > 0 && n <= 64) return (int)n * 4;
    return 4;
}

/* Known GPU counts; other sizes of a GPU family follow its pattern below. */
static const struct {
    const char *type;
    int gpus;
} gpu_table[] = {
    {"p2.8xlarge", 8},     {"p2.16xlarge", 16},    {"p3.8xlarge", 4},     {"p3.16xlarge", 8},
    {"p3dn.24xlarge", 8},  {"g4dn.12xlarge", 4},   {"g4dn.metal", 8},     {"g5.12xlarge", 4},
    {"g5.24xlarge", 4},    {"g5.48xlarge", 8},     {"g6.12xlarge", 4},    {"g6.24xlarge", 4},
    {"g6.48xlarge", 8},    {"g6e.12xlarge", 4},    {"g6e.24xlarge", 4},   {"g6e.48xlarge", 8},
    {"trn1.32xlarge", 16}, {"trn1n.32xlarge", 16}, {"trn2.48xlarge", 16},
};

static int gpu_family(const char *family)
{
    return (family[0] == 'p' && family[1] >= '2' && family[1] <= '9') ||
           (family[0] == 'g' && family[1] >= '3' && family[1] <= '9') ||
           strncmp(family, "trn", 3) == 0;
}

void mx_instance_shape(const char *instance_type, int *vcpus, int *gpus)
{
    char family[32];
    const char *size;
    split_type(instance_type, family, sizeof family, &size);
    *vcpus = vcpus_of(size);
    *gpus = 0;
    if (!gpu_family(family)) return;
    const char *t =
        instance_type && strncmp(instance_type, "ml.", 3) == 0 ? instance_type + 3 : instance_type;
    for (size_t i = 0; t && i < sizeof gpu_table / sizeof gpu_table[0]; i++)
        if (strcmp(gpu_table[i].type, t) == 0) {
            *gpus = gpu_table[i].gpus;
            return;
        }
    int big = strcmp(size, "24xlarge") == 0 || strcmp(size, "48xlarge") == 0 ||
              strcmp(size, "metal") == 0;
    if (family[0] == 'p')
        *gpus = big ? 8 : 1;
    else if (family[0] == 't')
        *gpus = big || strcmp(size, "32xlarge") == 0 ? 16 : 1;
    else
        *gpus = big ? 8 : strcmp(size, "12xlarge") == 0 ? 4 : 1;
}

int mx_kind_applies(mx_kind k, const char *instance_type)
{
    if (k < 0 || k >= MX_NKINDS) return 0;
    if (k != MX_GPU && k != MX_GPU_MEMORY) return 1;
    int vcpus, gpus;
    mx_instance_shape(instance_type, &vcpus, &gpus);
    return gpus > 0;
}

#define FNV_OFFSET 1469598103934665603u
#define FNV_PRIME 1099511628211u

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return (h ^ 0xff) * FNV_PRIME; /* a separator, so "ab"+"c" differs from "a"+"bc" */
}

/* A number in [0, 1) for (job, host, kind, minute). */
static double noise(uint64_t seed, int64_t minute)
{
    uint64_t h = jl_mix64(seed ^ ((uint64_t)minute * 0x9E3779B97F4A7C15u));
    return (double)(h >> 11) / 9007199254740992.0;
}

static int running(lc_secondary s)
{
    return s == LC_S_DOWNLOADING || s == LC_S_DOWNLOADING_TRAINING_IMAGE || s == LC_S_TRAINING ||
           s == LC_S_UPLOADING;
}

/* Three decimals, as an agent's percentages look. */
static double round3(double v)
{
    return floor(v * 1000.0 + 0.5) / 1000.0;
}

/* The value of kind k at time t of a run that started at run_start; `phase` is the status
 * then, phase_start when that status began, dl_ms the time the run spent downloading. */
static double value_at(mx_kind k, int vcpus, int gpus, uint64_t seed, uint64_t base_seed, int64_t t,
                       int64_t run_start, lc_secondary phase, int64_t phase_start, int64_t dl_ms)
{
    double u = noise(seed, floor_to(t, MINUTE_MS) / MINUTE_MS);
    double base = noise(base_seed, 0); /* per host: how full its disk starts */
    double in_phase_min = (double)(t - phase_start) / MINUTE_MS;
    double in_run_min = (double)(t - run_start) / MINUTE_MS;
    int training = phase == LC_S_TRAINING;
    int uploading = phase == LC_S_UPLOADING;
    double per = 0;
    switch (k) {
    case MX_CPU:
        per = training ? (gpus ? 18 + 17 * u : 62 + 30 * u) : uploading ? 4 + 8 * u : 10 + 18 * u;
        return round3(per * vcpus);
    case MX_MEMORY: {
        double ramp = training ? fmin(1.0, in_phase_min / 5.0) : 0;
        double v = training ? 22 + 38 * ramp + 6 * u : uploading ? 24 + 5 * u : 6 + 6 * u;
        return round3(v);
    }
    case MX_DISK: {
        double dl_min = (double)dl_ms / MINUTE_MS;
        double filled = phase == LC_S_DOWNLOADING ? fmin(18.0, 2 + 4 * in_phase_min)
                                                  : fmin(18.0, 2 + 4 * dl_min);
        double grown = phase == LC_S_DOWNLOADING ? 0 : fmin(20.0, 0.15 * (in_run_min - dl_min));
        return round3(fmin(99.0, 3 + 4 * base + filled + (grown > 0 ? grown : 0) + 0.2 * u));
    }
    case MX_GPU:
        per = training ? 72 + 26 * u : 0;
        return round3(per * gpus);
    case MX_GPU_MEMORY: {
        double ramp = training ? fmin(1.0, in_phase_min / 3.0) : 0;
        per = training ? 30 + 45 * ramp + 8 * u : 0;
        return round3(per * gpus);
    }
    default:
        return 0;
    }
}

int mx_instance_points(const char *job, int host, const char *instance_type, const lc_view *v,
                       int64_t now_ms, mx_kind k, mx_series *out)
{
    if (!job || !v || !mx_kind_applies(k, instance_type) || host < 1) return SM_OK;
    int vcpus, gpus;
    mx_instance_shape(instance_type, &vcpus, &gpus);
    char hostname[24];
    snprintf(hostname, sizeof hostname, "algo-%d", host);
    uint64_t seed = fnv(fnv(fnv(FNV_OFFSET, job), hostname), kind_names[k]);
    uint64_t base_seed = fnv(fnv(FNV_OFFSET, job), hostname);
    for (int i = 0; i < v->ntrans; i++) {
        if (!running(v->trans[i].status)) continue;
        /* the run: trans[i..j] running, ending when trans[j] ends (or now) */
        int j = i;
        while (j + 1 < v->ntrans && running(v->trans[j + 1].status))
            j++;
        int64_t start = floor_to(v->trans[i].start_ms, 1000);
        int64_t end = v->trans[j].end_ms < 0 ? now_ms + 1 : v->trans[j].end_ms;
        int64_t dl_ms = 0;
        for (int m = i; m <= j; m++)
            if (v->trans[m].status == LC_S_DOWNLOADING && v->trans[m].end_ms >= 0)
                dl_ms += v->trans[m].end_ms - v->trans[m].start_ms;
        int cur = i;
        for (int64_t t = start; t < end && t <= now_ms; t += MINUTE_MS) {
            while (cur < j && v->trans[cur + 1].start_ms <= t)
                cur++;
            double val = value_at(k, vcpus, gpus, seed, base_seed, t, start, v->trans[cur].status,
                                  v->trans[cur].start_ms, dl_ms);
            if (push(out, t, val) != SM_OK) return SM_ENOMEM;
        }
        i = j;
    }
    return SM_OK;
}

/* ---- statistics ---------------------------------------------------------------------------- */

void mx_buckets_free(mx_buckets *b)
{
    if (!b) return;
    free(b->b);
    free(b->values);
    memset(b, 0, sizeof *b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int mx_aggregate(const mx_point *p, int n, int64_t start_ms, int64_t end_ms, int64_t period_ms,
                 mx_buckets *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 0 || period_ms <= 0 || end_ms <= start_ms) return SM_OK;
    out->values = malloc((size_t)n * sizeof *out->values);
    out->b = malloc((size_t)n * sizeof *out->b);
    if (!out->values || !out->b) {
        mx_buckets_free(out);
        return SM_ENOMEM;
    }
    int nv = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].t_ms < start_ms || p[i].t_ms >= end_ms) continue;
        int64_t t = start_ms + (p[i].t_ms - start_ms) / period_ms * period_ms;
        mx_bucket *b = out->n ? &out->b[out->n - 1] : NULL;
        if (!b || b->t_ms != t) {
            b = &out->b[out->n++];
            *b = (mx_bucket){.t_ms = t, .min = p[i].v, .max = p[i].v};
            b->values = out->values + nv; /* the buffer never moves */
        }
        b->n++;
        b->sum += p[i].v;
        if (p[i].v < b->min) b->min = p[i].v;
        if (p[i].v > b->max) b->max = p[i].v;
        out->values[nv++] = p[i].v;
    }
    for (int i = 0; i < out->n; i++)
        qsort((double *)out->b[i].values, (size_t)out->b[i].n, sizeof(double), cmp_double);
    return SM_OK;
}

/* "p99", "p99.9", "p0.01", "p100": the percentile in *p; 0 when not one. */
static int percentile_of(const char *stat, double *p)
{
    if (!stat || stat[0] != 'p') return 0;
    const char *s = stat + 1;
    int digits = 0, decimals = -1;
    double v = 0, scale = 1;
    for (; *s; s++) {
        if (*s == '.' && decimals < 0 && digits > 0) {
            decimals = 0;
            continue;
        }
        if (*s < '0' || *s > '9') return 0;
        if (decimals >= 0) {
            if (++decimals > 2) return 0;
            scale /= 10;
            v += (*s - '0') * scale;
        } else {
            if (++digits > 3) return 0;
            v = v * 10 + (*s - '0');
        }
    }
    if (digits == 0 || decimals == 0 || v > 100) return 0;
    *p = v;
    return 1;
}

int mx_stat_valid(const char *stat)
{
    double p;
    static const char *const names[] = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};
    for (size_t i = 0; stat && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(stat, names[i]) == 0) return 1;
    return percentile_of(stat, &p);
}

int mx_stat(const mx_bucket *b, const char *stat, double *out)
{
    double p;
    if (!b || !stat || b->n <= 0) return 0;
    if (strcmp(stat, "SampleCount") == 0)
        *out = b->n;
    else if (strcmp(stat, "Average") == 0)
        *out = b->sum / b->n;
    else if (strcmp(stat, "Sum") == 0)
        *out = b->sum;
    else if (strcmp(stat, "Minimum") == 0)
        *out = b->min;
    else if (strcmp(stat, "Maximum") == 0)
        *out = b->max;
    else if (percentile_of(stat, &p)) {
        /* nearest rank: the smallest value with at least p % of the values at or below it */
        int rank = (int)ceil(p / 100.0 * b->n - 1e-9);
        *out = b->values[rank < 1 ? 0 : rank - 1];
    } else {
        return 0;
    }
    return 1;
}

int64_t mx_round_start(int64_t start_ms, int64_t now_ms, int64_t period_s)
{
    if (period_s > 0 && period_s < 60) return floor_to(start_ms, period_s * 1000);
    int64_t age = now_ms - start_ms;
    int64_t unit = age < 15 * DAY_MS ? MINUTE_MS : age < 63 * DAY_MS ? 5 * MINUTE_MS : HOUR_MS;
    return floor_to(start_ms, unit);
}

int mx_period_retained(int64_t start_ms, int64_t now_ms, int64_t period_s)
{
    int64_t age = now_ms - start_ms;
    if (age > 63 * DAY_MS && period_s % 3600) return 0;
    if (age > 15 * DAY_MS && period_s % 300) return 0;
    if (age > 3 * (int64_t)HOUR_MS && period_s % 60) return 0;
    return 1;
}

int mx_period_valid(int64_t period_s)
{
    return period_s == 1 || period_s == 5 || period_s == 10 || period_s == 20 || period_s == 30 ||
           (period_s > 0 && period_s % 60 == 0);
}
