/*
 * tuning.h: the hyperparameter tuning engine, a pure function.
 *
 * A tuning job's state at simulated time t is a pure function of its configuration (strategy,
 * ranges, limits, criteria, seed), the outcomes of the training jobs it launched (each child's
 * recorded timeline: when it was created and ended, how, and the objective metric series its
 * log prints) and t. tn_eval() replays the tuning job from its creation to t as a discrete
 * event simulation and says either what the caller must do first (create the next child, stop
 * a running one: an action at a time <= t) or, once every action up to t has been taken, what
 * the tuning job looks like at t. The caller (services/sagemaker/tuning_run.c) takes the
 * action, records it in the store and evaluates again, until there is none; then every child
 * that exists by t exists, and every stop the tuning job sent by t was received.
 *
 * Nothing here reads a clock, touches the store, allocates, knows JSON or HTTP. Times are
 * int64 milliseconds of simulated time; -1 means "absent". The rules, and which of them are
 * inferred, are listed at the top of tuning.c.
 */
#ifndef SM_TUNING_H
#define SM_TUNING_H

#include <stddef.h>
#include <stdint.h>

#define TN_MAX_RANGES 30    /* hyperparameters tuned by one definition (the model's list max) */
#define TN_MAX_VALUES 30    /* values of a categorical range (ParameterValues max) */
#define TN_MAX_DEFS 10      /* TrainingJobDefinitions max */
#define TN_MAX_CHILDREN 500 /* training jobs of one tuning job (inferred service limit) */
#define TN_MAX_PARALLEL 100 /* training jobs running at once (inferred service limit) */

typedef enum tn_strategy { TN_RANDOM = 0, TN_BAYESIAN, TN_GRID, TN_HYPERBAND } tn_strategy;
typedef enum tn_kind { TN_INTEGER = 0, TN_CONTINUOUS, TN_CATEGORICAL } tn_kind;
typedef enum tn_scale { TN_AUTO = 0, TN_LINEAR, TN_LOG, TN_REVERSE_LOG } tn_scale;

/* One range of a definition's ParameterRanges. Strings are borrowed. */
typedef struct tn_range {
    tn_kind kind;
    const char *name;
    double min, max; /* Integer, Continuous */
    tn_scale scale;  /* Auto searches linearly (inferred) */
    int nvalues;     /* Categorical */
    const char *values[TN_MAX_VALUES];
} tn_range;

typedef struct tn_def {
    int nranges;
    tn_range ranges[TN_MAX_RANGES];
} tn_def;

/* A point of a definition's search space, one coordinate per range: for Integer and
 * Continuous ranges the scaled position in [0, 1] (0 is MinValue, 1 MaxValue, along the
 * range's scale), for Categorical ranges the index of the value. */
typedef struct tn_point {
    double x[TN_MAX_RANGES];
} tn_point;

/* A point already evaluated elsewhere (a warm start parent's child). */
typedef struct tn_obs {
    int def;
    tn_point p;
    double value;
} tn_obs;

typedef struct tn_config {
    tn_strategy strategy;
    int maximize;           /* objective Type Maximize (else Minimize) */
    int max_jobs;           /* MaxNumberOfTrainingJobs (for Grid: the grid's size) */
    int max_parallel;       /* MaxParallelTrainingJobs */
    int64_t created_ms;     /* CreationTime */
    int64_t max_runtime_ms; /* ResourceLimits.MaxRuntimeInSeconds, -1 none */
    int64_t stop_ms;        /* StopHyperParameterTuningJob received, -1 none */
    int early_stopping;     /* TrainingJobEarlyStoppingType Auto */
    int has_target;         /* TuningJobCompletionCriteria.TargetObjectiveMetricValue */
    double target;
    int not_improving; /* BestObjectiveNotImproving.MaxNumberOf...NotImproving, 0 none */
    int complete_on_convergence;
    int hb_min, hb_max; /* Hyperband MinResource, MaxResource (epochs) */
    uint64_t seed;      /* RandomSeed, else a hash of the job's name */
    int ndefs;
    const tn_def *defs; /* ndefs definitions */
    int nprior;
    const tn_obs *prior; /* warm start: the parents' evaluated points */
} tn_config;

typedef enum tn_end { TN_END_COMPLETED = 0, TN_END_FAILED, TN_END_STOPPED } tn_end;
typedef enum tn_objective { TN_OBJ_PENDING = 0, TN_OBJ_SUCCEEDED, TN_OBJ_FAILED } tn_objective;

/* A child as recorded (its timeline evaluated with the events it received), plus, filled by
 * tn_eval, its objective at t. */
typedef struct tn_child {
    int def;    /* its definition */
    tn_point p; /* its hyperparameters, as coordinates (tn_coord) */
    int64_t created_ms;
    int64_t end_ms;  /* when it reached its final status */
    tn_end status;   /* Completed, Failed, or Stopped (a stop or MaxRuntimeExceeded) */
    int retryable;   /* Failed with an internal (retryable) error */
    int64_t stop_ms; /* the stop it received, -1 none */
    int epochs;      /* epochs it trains (Hyperband, early stopping), 0 unknown */
    int nseries;     /* the objective metric as its log prints it, in time order */
    const int64_t *series_ms;
    const double *series_v;
    int has_final; /* Completed: the objective's final value (FinalMetricDataList) */
    double final_v;
    /* Set by tn_eval for the children launched by t: */
    tn_objective obj;
    double obj_value; /* when obj is TN_OBJ_SUCCEEDED */
} tn_child;

typedef enum tn_status {
    TN_IN_PROGRESS = 0,
    TN_COMPLETED,
    TN_FAILED,
    TN_STOPPING,
    TN_STOPPED
} tn_status;

typedef enum tn_action { TN_ACT_NONE = 0, TN_ACT_CREATE, TN_ACT_STOP } tn_action;

/* Why the tuning job stopped launching children. */
typedef enum tn_halt {
    TN_HALT_NONE = 0,
    TN_HALT_EXHAUSTED, /* MaxNumberOfTrainingJobs launched */
    TN_HALT_TARGET,    /* TargetObjectiveMetricValue reached */
    TN_HALT_NOT_IMPROVING,
    TN_HALT_CONVERGED,
    TN_HALT_RUNTIME,  /* MaxRuntimeInSeconds */
    TN_HALT_FAILURES, /* too many children failed before one succeeded */
    TN_HALT_STOPPED   /* StopHyperParameterTuningJob */
} tn_halt;

typedef struct tn_view {
    /* The first action due at or before t, or TN_ACT_NONE (then the rest is filled). */
    tn_action action;
    int act_child;      /* CREATE: the new child's index (== n); STOP: the child to stop */
    int64_t act_ms;     /* when: the child's CreationTime, or the stop's time */
    int act_def;        /* CREATE: its definition */
    tn_point act_point; /* CREATE: its hyperparameters */

    tn_status status;
    tn_halt halt;
    int64_t halt_ms; /* when it stopped launching, -1 */
    int64_t end_ms;  /* HyperParameterTuningEndTime, -1 */
    int64_t last_modified_ms;
    int64_t next_change_ms; /* the next time anything here changes, -1 never */
    int launched;           /* children created by t */
    int failed_attempts;    /* TN_FAILED: the children that failed */
    /* TrainingJobStatusCounters and ObjectiveStatusCounters at t. */
    int completed, in_progress, retryable_error, non_retryable_error, stopped;
    int obj_succeeded, obj_pending, obj_failed;
    int best;               /* the best child (index), -1 none */
    int not_improving;      /* NumberOfTrainingJobsObjectiveNotImproving */
    int64_t convergence_ms; /* ConvergenceDetectedTime, -1 */
} tn_view;

/* Evaluate the tuning job at t with the n children created so far (children[i] is child i;
 * their obj fields are written). Pure. */
void tn_eval(const tn_config *cfg, tn_child *children, int n, int64_t t, tn_view *out);

/* The definition child k is launched with (round robin, or definition by definition for
 * Grid). */
int tn_def_of(const tn_config *cfg, int k);

/* Grid: the number of combinations of a definition of Categorical ranges only; -1 when it has
 * another kind of range or the product exceeds TN_MAX_CHILDREN. */
int tn_grid_size(const tn_def *d);
/* The number of distinct points of a definition (Integer and Categorical ranges), as a double;
 * INFINITY when a range is Continuous. */
double tn_combinations(const tn_def *d);

/* A coordinate's value as the hyperparameter's text (Integer "%lld", Continuous the shortest
 * of up to 10 significant digits, Categorical the value). */
void tn_value_text(const tn_range *r, double x, char *out, size_t outlen);
/* The coordinate of a hyperparameter's text; 0, or SM_EINVAL when it is not a value of the
 * range (not a number, outside [MinValue, MaxValue], not one of the categories). */
int tn_coord(const tn_range *r, const char *text, double *x);

/*
 * The objective as a response surface over the hyperparameters, so that the best training job
 * is a meaningful one: value = worst + (best - worst) * exp(-d^2 / (2 * width^2)), where d^2
 * is the mean over the tuned hyperparameters of the squared distance between the child's
 * coordinate and the optimum's (Categorical: 0 when equal, else 1), plus a deterministic
 * jitter of +-noise * |best - worst| from a hash of the point. Rounded to 6 decimals.
 */
#define TN_SURFACE_NAME_MAX 257
typedef struct tn_surface {
    int has_best, has_worst;
    double best, worst; /* defaults: Maximize 0.95 / 0.5, Minimize 0.05 / 1.0 */
    double width;       /* default 0.35 */
    double noise;       /* default 0 */
    int nopt;           /* the optimum's hyperparameters; the others at a hashed point */
    char opt_name[TN_MAX_RANGES][TN_SURFACE_NAME_MAX];
    char opt_value[TN_MAX_RANGES][TN_SURFACE_NAME_MAX];
} tn_surface;

void tn_surface_default(tn_surface *s);
/* The objective of point p of definition d; s NULL: the defaults. */
double tn_surface_value(const tn_surface *s, const tn_def *d, const tn_point *p, int maximize);

/* The median stopping rule and Hyperband, exposed for tests: 1 when a child reporting `v` at
 * epoch `e` is worse than the median of `peer_avg` (n values). */
int tn_worse_than_median(int maximize, double v, const double *peer_avg, int n);

#endif
