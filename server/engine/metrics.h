/*
 * metrics.h: a training job's CloudWatch metrics (namespace /aws/sagemaker/TrainingJobs), as
 * pure functions of what the job generates, and the statistics CloudWatch computes over them.
 *
 * Algorithm metrics are read off the job's log, as SageMaker does: each MetricDefinitions
 * regex is searched in every event of the first host's stream (algo-1) and its group 1, when
 * it reads whole as a finite number, is a datapoint at the event's second. So the series is
 * exactly what the log prints (the log engine, joblog.h, is the one place values are made),
 * its last value is the job's FinalMetricDataList value, and nothing later than the log's
 * now exists. Only algo-1 counts (inferred: every host prints the same lines; Describe's
 * FinalMetricDataList reads the same stream).
 *
 * Instance metrics (CPUUtilization, MemoryUtilization, DiskUtilization, and GPUUtilization,
 * GPUMemoryUtilization on GPU instance types) have one datapoint a minute per host while its
 * container runs (Downloading, Training, Uploading of each attempt), from the run's first
 * second on, up to now. Values follow the phase (low CPU while downloading, busy while
 * training, quiet while uploading; memory ramps up in training; disk fills while
 * downloading), with a little noise from a hash of the job, host, metric and minute: plausible
 * and deterministic. As on SageMaker, CPUUtilization and the GPU metrics are the sums over the
 * instance's cores / GPUs (0-100 % each: up to 400 % on 4 vCPUs); memory and disk are 0-100 %.
 *
 * Nothing here reads a clock, touches the store, allocates without checking, or keeps
 * mutable global state.
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include "joblog.h"
#include "lifecycle.h"

#include <stddef.h>
#include <stdint.h>

#define MX_NAMESPACE "/aws/sagemaker/TrainingJobs"

typedef struct mx_point {
    int64_t t_ms; /* whole seconds, in milliseconds */
    double v;
    int ev; /* algorithm metrics: the index of the log event it was read from */
} mx_point;

/* A growing list of points (free with mx_series_free). */
typedef struct mx_series {
    mx_point *p;
    int n, cap;
} mx_series;

void mx_series_free(mx_series *s);

/* The datapoints `regex` captures in stream s (NULL: none), appended to out in time order.
 * 0, SM_ENOMEM, or SM_EINVAL when the regex does not compile (then no points: a definition
 * SageMaker would have refused). */
int mx_scan(const jl_stream *s, const char *regex, mx_series *out);

/* The same scan, with the regex compiled once for several runs (the tuning engine's objective
 * series and CloudWatch's cached series read the log through it). */
typedef struct mx_scanner mx_scanner;
/* 0 with *out (free with mx_scanner_free), SM_EINVAL when the regex does not compile, or
 * SM_ENOMEM. */
int mx_scanner_new(const char *regex, mx_scanner **out);
/* Append the datapoints of events [from, s->nevents) of s to out. 0 or SM_ENOMEM. */
int mx_scanner_run(mx_scanner *sc, const jl_stream *s, int from, mx_series *out);
void mx_scanner_free(mx_scanner *sc);

/* ---- instance metrics ---------------------------------------------------------------- */

typedef enum mx_kind { MX_CPU = 0, MX_MEMORY, MX_DISK, MX_GPU, MX_GPU_MEMORY, MX_NKINDS } mx_kind;

/* "CPUUtilization", ... */
const char *mx_kind_name(mx_kind k);
/* The kind named `name`, or -1. */
int mx_kind_of(const char *name);

/* vCPUs and GPUs of an instance type ("ml.p3.8xlarge": 32 and 4); unknown sizes get a
 * plausible count from the size name, non-GPU families 0 GPUs. */
void mx_instance_shape(const char *instance_type, int *vcpus, int *gpus);

/* Whether kind k exists on an instance type (the GPU metrics only on GPU instances). */
int mx_kind_applies(mx_kind k, const char *instance_type);

/* The points of instance metric k of host `host` (1-based: algo-<host>) of job `job`, whose
 * timeline at now is v (lc_eval at now_ms), appended to out. 0 or SM_ENOMEM. */
int mx_instance_points(const char *job, int host, const char *instance_type, const lc_view *v,
                       int64_t now_ms, mx_kind k, mx_series *out);

/* ---- statistics ------------------------------------------------------------------------ */

/* One period's aggregate; `values` points into the caller's sorted copy (ascending). */
typedef struct mx_bucket {
    int64_t t_ms; /* the period's start */
    int n;
    double sum, min, max;
    const double *values;
} mx_bucket;

typedef struct mx_buckets {
    mx_bucket *b;
    int n;
    double *values; /* owned: every value, sorted within each bucket */
} mx_buckets;

/* Aggregate points (sorted by time) with start_ms <= t < end_ms into periods of period_ms from
 * start_ms: one bucket per period holding at least one point, in time order. 0 or SM_ENOMEM. */
int mx_aggregate(const mx_point *p, int n, int64_t start_ms, int64_t end_ms, int64_t period_ms,
                 mx_buckets *out);
void mx_buckets_free(mx_buckets *b);

/* The statistics CloudWatch names: "SampleCount", "Average", "Sum", "Minimum", "Maximum", or
 * a percentile "pNN" / "pNN.NN" (0 <= NN <= 100, at most two decimals). Returns 1 and the value
 * in *out, 0 when `stat` is not one of those. Percentiles are nearest-rank over the period's
 * values (p0 the minimum, p100 the maximum); CloudWatch's own are approximations of the same. */
int mx_stat(const mx_bucket *b, const char *stat, double *out);
/* Whether `stat` is a statistic mx_stat computes (without a bucket). */
int mx_stat_valid(const char *stat);

/* Where CloudWatch starts the periods of a query whose StartTime is start_ms at now_ms: on a
 * multiple of the period when it is under a minute, else the minute (start less than 15 days
 * ago), 5 minutes (up to 63 days) or the hour (older) at or before it. */
int64_t mx_round_start(int64_t start_ms, int64_t now_ms, int64_t period_s);

/* Whether data of `period_s` exists for a query starting at start_ms (CloudWatch keeps
 * sub-minute data 3 hours, minute data 15 days, 5-minute data 63 days, hourly data 455 days;
 * a query of an older start with a finer period gets no datapoints). */
int mx_period_retained(int64_t start_ms, int64_t now_ms, int64_t period_s);

/* Valid periods: 1, 5, 10, 20, 30, 60 and multiples of 60. */
int mx_period_valid(int64_t period_s);

#endif
