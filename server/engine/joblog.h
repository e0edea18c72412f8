/*
 * joblog.h: what a training job's containers print to CloudWatch Logs, as a pure function of
 * the job and the simulated now.
 *
 * The log is derived from the job's whole timeline (the lifecycle view evaluated after the
 * job's end, events included), its request (hosts, hyperparameters, channels, metric
 * definitions) and its scenario (final metric values, custom lines). Nothing here reads a
 * clock, touches the store or does I/O: the same inputs give the same events, byte for byte,
 * so a job's log agrees with its Describe and, later, with its metric series. Events later
 * than `now` are never produced.
 *
 * Streams: one per host, "<job>/<host>-<epoch seconds of the host's first container start>",
 * created at that time. A host's container starts when the job first enters Downloading or
 * Training (whichever comes first) after Starting; a job that never gets there has no stream.
 * Later attempts (spot interruption, retry) append to the same stream (inferred: the SageMaker
 * Python SDK lists a job's streams only until it has one per instance, so lines of a new
 * attempt are only seen when they follow in the same stream).
 *
 * Metric lines: for each epoch and each metric definition whose regex is of the common shape
 * (literal text, one capture group, literal text) a line the regex matches, capturing the
 * value; the last epoch's values are the job's FinalMetricDataList values, printed at the
 * FinalMetricDataList timestamp. Every line is checked with PCRE2 before it is printed: a
 * metric whose regex has another shape, or that would not capture the value (a negative one
 * for "([0-9\.]+)"), prints no line and shows only through a JL_AT_EPOCH template holding
 * {metric:<Name>}. joblog.c lists every line the log holds and the rules in full.
 */
#ifndef SM_JOBLOG_H
#define SM_JOBLOG_H

#include "lifecycle.h"

#include <stddef.h>
#include <stdint.h>

#define JL_MAX_HOSTS 64     /* streams per job (hosts beyond it print nothing) */
#define JL_MAX_METRICS 40   /* metric definitions per job (as SageMaker allows) */
#define JL_MAX_CHANNELS 20  /* input channels */
#define JL_MAX_TEMPLATES 16 /* custom line templates of a scenario */
#define JL_MAX_EPOCHS 1000
#define JL_MAX_LINE 1024       /* bytes in one message; a longer line is cut and ends "..." */
#define JL_MAX_EVENTS 50000    /* events of a job, shared evenly by its streams (see joblog.c) */
#define JL_MAX_BYTES (8 << 20) /* message bytes of a job, shared likewise */
#define JL_MAX_REGEX 1024      /* a longer metric regex gets no derived line */

typedef struct jl_metric {
    const char *name;  /* MetricDefinitions[].Name */
    const char *regex; /* MetricDefinitions[].Regex */
    double final;      /* the FinalMetricDataList value */
} jl_metric;

/* A line template of a scenario: printed at a point of the job's story. */
typedef enum jl_when {
    JL_AT_START = 1, /* when the container starts (each attempt) */
    JL_AT_EPOCH,     /* after each epoch's metric lines; {epoch} {epochs} {metric:<Name>} */
    JL_AT_END,       /* when training ends successfully */
    JL_AT_FAILURE    /* when the attempt fails, before the traceback */
} jl_when;

typedef struct jl_template {
    jl_when when;
    const char *text; /* may hold {job}, {host}, {epoch}, {epochs}, {metric:<Name>} */
} jl_template;

typedef struct jl_job {
    const char *name;                /* TrainingJobName */
    const lc_view *timeline;         /* lc_eval of the job after its end (events included) */
    int nhosts;                      /* hosts, in stream order */
    const char *hosts[JL_MAX_HOSTS]; /* "algo-1", ... (instance groups: their host names) */
    const char *instance_type;       /* "ml.m5.xlarge" */
    const char *image;               /* TrainingImage or AlgorithmName, for the start-up lines */
    int epochs;                      /* jl_epochs(hyperparameters); <= 0 means exactly that */
    const char *hyperparameters;     /* the HyperParameters object as compact JSON text, or NULL */
    int nchannels;
    const char *channel_name[JL_MAX_CHANNELS];
    const char *channel_uri[JL_MAX_CHANNELS]; /* S3Uri, or NULL */
    const char *output_uri;                   /* where the model artifacts go */
    int nmetrics;
    jl_metric metrics[JL_MAX_METRICS];
    int64_t final_metric_ms; /* FinalMetricDataList timestamp, -1 when the job has none */
    /* The planned length of an attempt's Training (the sum of duration_ms of the scenario's
     * Training steps), or 0 when unknown. An attempt cut short (failure, stop, interruption)
     * spreads its epochs over this, so the epochs printed before a stop are the same ones the
     * job printed before the stop arrived. Unknown: taken from an attempt whose Training ran
     * to the end, else twice the time the cut attempt trained. */
    int64_t training_ms;
    /* The scenario's failure reason (what an attempt that fails and is retried prints: the
     * view has a FailureReason only once the job Failed), or NULL: the view's, else a generic
     * InternalServerError text. */
    const char *failure_reason;
    /* When the plan (events aside) has the job's last attempt fail, that time, else -1: the
     * last epoch printed before it prints the metrics' final values, so FinalMetricDataList
     * (read from the log) shows what the scenario says for a failing job too. Known from
     * creation on, so the log stays a prefix of itself whatever stop comes later. */
    int64_t planned_failure_ms;
    int ntemplates;
    jl_template templates[JL_MAX_TEMPLATES];
} jl_job;

/* One log event. `message` is owned by the jl_log that holds it (it points into its stream's
 * `text`): 1..JL_MAX_LINE bytes of valid UTF-8, without NUL or newline. */
typedef struct jl_event {
    int64_t timestamp_ms;
    int64_t ingestion_ms; /* when CloudWatch took it in: a little after timestamp, never
                             decreasing within a stream; an event appears once ingested */
    char *message;
} jl_event;

typedef struct jl_stream {
    char name[160];     /* "<job>/algo-1-1733340000" */
    int64_t created_ms; /* the host's first container start */
    int nevents;
    jl_event *events; /* sorted by timestamp, then by the order printed */
    char *text;       /* the one block holding every message of the stream (owned) */
} jl_stream;

typedef struct jl_log {
    int nstreams; /* streams that exist at `now` (created_ms <= now) */
    jl_stream streams[JL_MAX_HOSTS];
} jl_log;

/* The job's log as it stands at `now`: every stream created by then with its events whose
 * timestamp and ingestion time are <= now. `out` is overwritten (not freed first); the caller
 * owns it and frees it with jl_free(). A log at an earlier now is, stream by stream, a prefix
 * of the log at a later now. 0, SM_ENOMEM (out is then freed and empty) or SM_EINVAL (bad
 * input: NULL or out-of-range members; out is then empty). */
int jl_build(const jl_job *job, int64_t now_ms, jl_log *out);
/* Free what jl_build() put in `log` and leave it empty (safe on an empty log). */
void jl_free(jl_log *log);

/* The number of epochs a job prints: the first of the hyperparameters "epochs", "num_epochs",
 * "n_epochs", "epoch", "num_round", "num_train_epochs", "max_epochs" that parses as an integer,
 * bounded to [1, JL_MAX_EPOCHS]; else 10. `hyperparameters` is the HyperParameters object as
 * JSON text (or NULL). */
int jl_epochs(const char *hyperparameters);

/* The value of a metric nobody gave one, in [0.05, 1.05), six decimals: the same job and
 * metric always give the same (FNV-1a of both names). Shared with Describe's
 * FinalMetricDataList so the log and Describe agree. */
double jl_default_metric(const char *job, const char *metric);

/* splitmix64's finalizer: spreads the low-entropy high bits of a hash (FNV's). Shared with
 * metrics.c's noise. */
uint64_t jl_mix64(uint64_t x);

/* Write `value` as the shortest decimal text that reads back as the same double (%.15g, else
 * %.17g). Returns the length. */
int jl_format_number(double value, char *out, size_t outlen);

#endif
