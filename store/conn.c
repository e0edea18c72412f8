/*
 * conn.c: opening the database, its schema and migrations, and one connection per thread.
 *
 * Invariants:
 * - A connection is used only by the thread that opened it; a registry lets store_close()
 *   close them all once the workers have stopped.
 * - Every connection has WAL (file databases), synchronous=NORMAL, foreign keys on and a busy
 *   timeout, so concurrent BEGIN IMMEDIATE transactions wait instead of failing.
 * - ":memory:" maps to SQLite's memdb VFS under a per-process name, so that all threads share
 *   one in-memory database; the first connection (the main thread's) keeps it alive.
 * - The schema version lives in PRAGMA user_version; migrations run in order, each in its own
 *   transaction, and never rewrite a released one.
 *
 * Built with -DSAGEMOCK_FAULT_HOOKS (tests only), store_stmt() can be made to fail on purpose
 * (see "Fault injection" below); without it nothing of that is compiled.
 */
#include "conn.h"
#include "store.h"
#include "errors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST_COLS                                                                                  \
    "jobs.id, region, name, arn, created_ms, scenario_name, max_runtime_s, max_wait_s, "           \
    "keep_alive_s, spot, max_retry, status, secondary, COALESCE(warm_pool,''), "                   \
    "last_modified_ms, COALESCE(end_ms,-1), COALESCE(next_change_ms,-1), training_plan_arn, rev, " \
    "jobs.summary"
#define FROM_REGION " FROM jobs WHERE region = :region"
/* A whole job: its row, its request and its scenario (row_to_job's with_text columns). */
#define JOB_TEXTS                                                                                  \
    ", job_requests.request, scenarios.text, events FROM jobs "                                    \
    "JOIN job_requests ON job_requests.job_id = jobs.id "                                          \
    "JOIN scenarios ON scenarios.id = jobs.scenario_id "
#define TUNING_COLS                                                                                \
    "id, region, name, arn, created_ms, strategy, request, extra, events, summary, status, "       \
    "last_modified_ms, COALESCE(end_ms,-1), COALESCE(next_change_ms,-1)"

/* The statement table: one row per SQL text, indexed by store_sql. */
static const char *const sql_text[SQL__COUNT] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_JOB_INSERT] =
        "INSERT INTO jobs(region, name, arn, created_ms, scenario_name, max_runtime_s, "
        "max_wait_s, keep_alive_s, spot, max_retry, scenario_id, events, status, "
        "secondary, warm_pool, last_modified_ms, end_ms, next_change_ms, training_plan_arn, rev, "
        "summary) "
        "VALUES(:region, :name, :arn, :created, :scenario_name, :max_runtime, :max_wait, "
        ":keep_alive, :spot, :max_retry, :scenario_id, :events, :status, :secondary, "
        "NULLIF(:warm_pool,''), :last_modified, NULLIF(:end,-1), NULLIF(:next,-1), "
        ":training_plan_arn, :rev, :summary)",
    [SQL_JOB_REQUEST_PUT] = "INSERT OR REPLACE INTO job_requests(job_id, request) "
                            "VALUES(:id, :request)",
    [SQL_SCENARIO_ID] = "SELECT id FROM scenarios WHERE text = :text",
    [SQL_SCENARIO_ADD] = "INSERT INTO scenarios(text) VALUES(:text)",
    [SQL_JOB_ARN_BY_NAME] = "SELECT arn FROM jobs WHERE region = :region AND name = :name "
                            "COLLATE NOCASE",
    [SQL_JOB_GET] =
        "SELECT " LIST_COLS JOB_TEXTS "WHERE region = :region AND name = :name COLLATE NOCASE",
    [SQL_JOB_GET_BY_ARN] = "SELECT " LIST_COLS JOB_TEXTS
                           "WHERE region = :region AND name = :name COLLATE NOCASE AND arn = :arn",
    /* A change of events or request changes what the job shows: rev counts them, and the
     * rendered views of the job are dropped (views.c). */
    [SQL_JOB_UPDATE] = "UPDATE jobs SET events = :events, rev = rev + 1, status = :status, "
                       "secondary = :secondary, warm_pool = NULLIF(:warm_pool,''), "
                       "last_modified_ms = :last_modified, end_ms = NULLIF(:end,-1), "
                       "next_change_ms = NULLIF(:next,-1), summary = :summary WHERE id = :id",
    [SQL_JOB_SET_STATE] = "UPDATE jobs SET status = :status, secondary = :secondary, "
                          "warm_pool = NULLIF(:warm_pool,''), last_modified_ms = :last_modified, "
                          "end_ms = NULLIF(:end,-1), next_change_ms = NULLIF(:next,-1), "
                          "summary = :summary WHERE id = :id",
    [SQL_VIEW_DROP] = "DELETE FROM job_views WHERE job_id = :id",
    [SQL_VIEW_GET] = "SELECT job_views.from_ms, COALESCE(job_views.until_ms,-1), job_views.body "
                     "FROM jobs JOIN job_views ON job_views.job_id = jobs.id "
                     "WHERE jobs.region = :region AND jobs.name = :name COLLATE NOCASE "
                     "AND job_views.epoch = :epoch",
    [SQL_JOB_DELETE] = "DELETE FROM jobs WHERE id = :id",
    [SQL_DUE_ANY] = "SELECT next_change_ms FROM jobs WHERE next_change_ms IS NOT NULL "
                    "ORDER BY next_change_ms LIMIT 1",
    [SQL_DUE_EACH] = "SELECT " LIST_COLS ", NULL, scenarios.text, events FROM jobs "
                     "JOIN scenarios ON scenarios.id = jobs.scenario_id "
                     "WHERE next_change_ms <= :now ORDER BY next_change_ms",
    /* ListTrainingJobs: keyset paging, one row per (sort, order). */
    [SQL_LIST_FIRST + 0] = "SELECT " LIST_COLS FROM_REGION " ORDER BY created_ms, id LIMIT :n",
    [SQL_LIST_FIRST + 1] =
        "SELECT " LIST_COLS FROM_REGION " ORDER BY created_ms DESC, id DESC LIMIT :n",
    [SQL_LIST_FIRST + 2] = "SELECT " LIST_COLS FROM_REGION " ORDER BY name, id LIMIT :n",
    [SQL_LIST_FIRST + 3] = "SELECT " LIST_COLS FROM_REGION " ORDER BY name DESC, id DESC LIMIT :n",
    [SQL_LIST_FIRST + 4] =
        "SELECT " LIST_COLS FROM_REGION " ORDER BY status, created_ms, id LIMIT :n",
    [SQL_LIST_FIRST + 5] =
        "SELECT " LIST_COLS FROM_REGION " ORDER BY status DESC, created_ms DESC, id DESC LIMIT :n",
    [SQL_LIST_AFTER + 0] = "SELECT " LIST_COLS FROM_REGION
                           " AND (created_ms, id) > (:created, :id) ORDER BY created_ms, id "
                           "LIMIT :n",
    [SQL_LIST_AFTER + 1] = "SELECT " LIST_COLS FROM_REGION
                           " AND (created_ms, id) < (:created, :id) ORDER BY created_ms DESC, "
                           "id DESC LIMIT :n",
    [SQL_LIST_AFTER + 2] =
        "SELECT " LIST_COLS FROM_REGION " AND (name, id) > (:key, :id) ORDER BY name, id LIMIT :n",
    [SQL_LIST_AFTER + 3] = "SELECT " LIST_COLS FROM_REGION
                           " AND (name, id) < (:key, :id) ORDER BY name DESC, id DESC LIMIT :n",
    [SQL_LIST_AFTER + 4] =
        "SELECT " LIST_COLS FROM_REGION " AND (status, created_ms, id) > (:key, :created, :id) "
        "ORDER BY status, created_ms, id LIMIT :n",
    [SQL_LIST_AFTER + 5] =
        "SELECT " LIST_COLS FROM_REGION " AND (status, created_ms, id) < (:key, :created, :id) "
        "ORDER BY status DESC, created_ms DESC, id DESC LIMIT :n",
    [SQL_TAG_PUT] = "INSERT INTO tags(job_id, key, value, pos) VALUES(:owner, :key, :value, "
                    "(SELECT COALESCE(MAX(pos), 0) + 1 FROM tags WHERE job_id = :owner)) "
                    "ON CONFLICT(job_id, key) DO UPDATE SET value = excluded.value",
    [SQL_TAG_DELETE] = "DELETE FROM tags WHERE job_id = :owner AND key = :key",
    [SQL_TAG_EACH] = "SELECT pos, key, value FROM tags WHERE job_id = :owner AND pos > :after "
                     "ORDER BY pos LIMIT :n",
    [SQL_META_GET] = "SELECT value FROM meta WHERE key = :key",
    [SQL_META_PUT] = "INSERT INTO meta(key, value) VALUES(:key, :value) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [SQL_RESET_TAGS] = "DELETE FROM tags",
    [SQL_RESET_VIEWS] = "DELETE FROM job_views",
    [SQL_RESET_REQUESTS] = "DELETE FROM job_requests",
    [SQL_RESET_JOBS] = "DELETE FROM jobs",
    [SQL_RESET_SCENARIOS] = "DELETE FROM scenarios",
    [SQL_JOB_COUNT] = "SELECT COUNT(*) FROM jobs",
    [SQL_ALL_JOBS] = "SELECT " LIST_COLS " FROM jobs ORDER BY created_ms DESC, id DESC LIMIT :n",
    [SQL_WARM_POOL_EACH] = "SELECT " LIST_COLS JOB_TEXTS
                           "WHERE region = :region AND warm_pool = :status AND jobs.id != :exclude "
                           "ORDER BY end_ms, jobs.id",
    /* Hyperparameter tuning jobs (tuning.c): TUNING_COLS are read by row_to_tuning. */
    [SQL_TUNING_INSERT] =
        "INSERT INTO tuning_jobs(region, name, arn, created_ms, strategy, request, extra, events, "
        "summary, status, last_modified_ms, end_ms, next_change_ms) VALUES(:region, :name, :arn, "
        ":created, :strategy, :request, :extra, :events, :summary, :status, :last_modified, "
        "NULLIF(:end,-1), NULLIF(:next,-1))",
    [SQL_TUNING_ARN_BY_NAME] = "SELECT arn FROM tuning_jobs WHERE region = :region AND name = "
                               ":name COLLATE NOCASE",
    [SQL_TUNING_GET] = "SELECT " TUNING_COLS " FROM tuning_jobs WHERE region = :region AND "
                       "name = :name COLLATE NOCASE",
    [SQL_TUNING_GET_BY_ARN] = "SELECT " TUNING_COLS " FROM tuning_jobs WHERE arn = :arn",
    [SQL_TUNING_GET_BY_ID] = "SELECT " TUNING_COLS " FROM tuning_jobs WHERE id = :id",
    [SQL_TUNING_UPDATE] = "UPDATE tuning_jobs SET events = :events, summary = :summary, status = "
                          ":status, last_modified_ms = :last_modified, end_ms = NULLIF(:end,-1), "
                          "next_change_ms = NULLIF(:next,-1) WHERE id = :id",
    [SQL_TUNING_DELETE] = "DELETE FROM tuning_jobs WHERE id = :id",
    [SQL_TUNING_DUE_ANY] =
        "SELECT next_change_ms FROM tuning_jobs WHERE next_change_ms IS NOT NULL "
        "ORDER BY next_change_ms LIMIT 1",
    [SQL_TUNING_DUE_IDS] = "SELECT id FROM tuning_jobs WHERE next_change_ms <= :now "
                           "ORDER BY next_change_ms, id",
    [SQL_TUNING_REGION_IDS] = "SELECT id FROM tuning_jobs WHERE region = :region ORDER BY id "
                              "LIMIT :n",
    [SQL_TUNING_ALL_IDS] = "SELECT id FROM tuning_jobs ORDER BY created_ms DESC, id DESC LIMIT :n",
    [SQL_TUNING_CHILD_INSERT] =
        "INSERT INTO tuning_children(tuning_id, idx, name, created_ms, definition, tuned) "
        "VALUES(:tuning, :idx, :name, :created, :definition, :tuned)",
    [SQL_TUNING_CHILDREN] = "SELECT idx, name, created_ms, definition, tuned, outcome, "
                            "outcome_key FROM tuning_children WHERE tuning_id = :tuning "
                            "ORDER BY idx",
    [SQL_TUNING_CHILD_CACHE] = "UPDATE tuning_children SET outcome = :outcome, outcome_key = :key "
                               "WHERE tuning_id = :tuning AND idx = :idx",
    [SQL_TUNING_TAG_PUT] =
        "INSERT INTO tuning_tags(tuning_id, key, value, pos) VALUES(:owner, :key, :value, "
        "(SELECT COALESCE(MAX(pos), 0) + 1 FROM tuning_tags WHERE tuning_id = :owner)) "
        "ON CONFLICT(tuning_id, key) DO UPDATE SET value = excluded.value",
    [SQL_TUNING_TAG_DELETE] = "DELETE FROM tuning_tags WHERE tuning_id = :owner AND key = :key",
    [SQL_TUNING_TAG_EACH] = "SELECT pos, key, value FROM tuning_tags WHERE tuning_id = :owner "
                            "AND pos > :after ORDER BY pos LIMIT :n",
    [SQL_TUNING_RESET] = "DELETE FROM tuning_jobs",
    [SQL_TUNING_TOUCH] = "UPDATE tuning_jobs SET next_change_ms = :now WHERE arn = :arn AND "
                         "next_change_ms > :now",
};

/* Migrations: migration[i] brings the schema from version i to i + 1. Append only. */
static const char *const migration[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE jobs("
    " id INTEGER PRIMARY KEY,"
    " region TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " arn TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " scenario_name TEXT NOT NULL,"
    " max_runtime_s INTEGER NOT NULL,"
    " max_wait_s INTEGER NOT NULL,"
    " keep_alive_s INTEGER NOT NULL,"
    " spot INTEGER NOT NULL,"
    " max_retry INTEGER NOT NULL,"
    " request TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " events TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " secondary TEXT NOT NULL,"
    " warm_pool TEXT,"
    " last_modified_ms INTEGER NOT NULL,"
    " end_ms INTEGER,"
    " next_change_ms INTEGER);"
    "CREATE UNIQUE INDEX jobs_by_name ON jobs(region, name COLLATE NOCASE);"
    "CREATE UNIQUE INDEX jobs_by_arn ON jobs(arn);"
    "CREATE INDEX jobs_by_creation ON jobs(region, created_ms, id);"
    "CREATE INDEX jobs_by_sort_name ON jobs(region, name, id);"
    "CREATE INDEX jobs_by_status ON jobs(region, status, created_ms, id);"
    "CREATE INDEX jobs_due ON jobs(next_change_ms) WHERE next_change_ms IS NOT NULL;"
    "CREATE TABLE tags("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " pos INTEGER NOT NULL,"
    " PRIMARY KEY(job_id, key)) WITHOUT ROWID;"
    "CREATE INDEX tags_by_pos ON tags(job_id, pos);",
    /* 2: hyperparameter tuning jobs, the training jobs they launched, their tags. */
    "CREATE TABLE tuning_jobs("
    " id INTEGER PRIMARY KEY,"
    " region TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " arn TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " strategy TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " extra TEXT NOT NULL,"
    " events TEXT NOT NULL,"
    " summary TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " last_modified_ms INTEGER NOT NULL,"
    " end_ms INTEGER,"
    " next_change_ms INTEGER);"
    "CREATE UNIQUE INDEX tuning_by_name ON tuning_jobs(region, name COLLATE NOCASE);"
    "CREATE UNIQUE INDEX tuning_by_arn ON tuning_jobs(arn);"
    "CREATE INDEX tuning_due ON tuning_jobs(next_change_ms) WHERE next_change_ms IS NOT NULL;"
    "CREATE TABLE tuning_children("
    " tuning_id INTEGER NOT NULL REFERENCES tuning_jobs(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " definition TEXT NOT NULL,"
    " tuned TEXT NOT NULL,"
    " outcome TEXT,"
    " outcome_key TEXT,"
    " PRIMARY KEY(tuning_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE tuning_tags("
    " tuning_id INTEGER NOT NULL REFERENCES tuning_jobs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " pos INTEGER NOT NULL,"
    " PRIMARY KEY(tuning_id, key)) WITHOUT ROWID;"
    "CREATE INDEX tuning_tags_by_pos ON tuning_tags(tuning_id, pos);",
    /* 3: a training job's ResourceConfig.TrainingPlanArn, which ListTrainingJobs shows and
     * filters on, taken out of the stored requests. */
    "ALTER TABLE jobs ADD COLUMN training_plan_arn TEXT;"
    "UPDATE jobs SET training_plan_arn = json_extract(request, '$.ResourceConfig.TrainingPlanArn')"
    " WHERE instr(request, '\"TrainingPlanArn\"') > 0;",
    /* 4: the big texts out of the row that state updates rewrite (a scenario is stored once
     * for all the jobs that share it; the request in a table of its own), a revision that
     * counts the changes of events and request, the job's TrainingJobSummary as last
     * materialised (NULL: ListTrainingJobs renders it), and the rendered Describe bodies
     * (views.c).
     * The ARN index goes: an ARN names its region and job, which jobs_by_name finds. */
    "CREATE TABLE scenarios(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);"
    "INSERT OR IGNORE INTO scenarios(text) SELECT scenario FROM jobs ORDER BY id;"
    "CREATE TABLE job_requests("
    " job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    " request TEXT NOT NULL);"
    "INSERT INTO job_requests(job_id, request) SELECT id, request FROM jobs;"
    "ALTER TABLE jobs ADD COLUMN scenario_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
    "UPDATE jobs SET scenario_id = (SELECT id FROM scenarios WHERE text = jobs.scenario);"
    "ALTER TABLE jobs DROP COLUMN request;"
    "ALTER TABLE jobs DROP COLUMN scenario;"
    "DROP INDEX jobs_by_arn;"
    "ALTER TABLE jobs ADD COLUMN summary TEXT;"
    "CREATE TABLE job_views("
    " job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
    " epoch INTEGER NOT NULL,"
    " from_ms INTEGER NOT NULL,"
    " until_ms INTEGER,"
    " body TEXT NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof migration / sizeof migration[0]))

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[SQL__COUNT];
#ifdef SAGEMOCK_FAULT_HOOKS
    sqlite3_stmt *fault; /* "SELECT sagemock_fault()": fails when stepped */
#endif
    struct conn *next;
} conn;

static char db_uri[4096];
static int db_is_memory;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static conn *registry;
static __thread conn *this_conn;
static __thread char this_err[512];

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(this_err, sizeof this_err, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return SM_ESTORE;
    }
    return SM_OK;
}

static conn *conn_open(void)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db_uri, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(this_err, sizeof this_err, "cannot open %.200s: %.200s", db_uri,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, 10000);
    const char *pragmas = db_is_memory ? "PRAGMA foreign_keys=ON;"
                                       : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                         "PRAGMA foreign_keys=ON;";
    if (exec_sql(c->db, pragmas) != SM_OK) {
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    c->next = registry;
    registry = c;
    pthread_mutex_unlock(&registry_lock);
    return c;
}

#ifdef SAGEMOCK_FAULT_HOOKS
/*
 * Fault injection (a test hook; tests/e2e/test_store_faults.py). The store_stmt() calls of
 * the process are counted, atomically, and the Nth one fails:
 *
 *   SAGEMOCK_STORE_FAIL_AT=N        the Nth call since start-up fails (0 or unset: none)
 *   SAGEMOCK_STORE_FAIL_MODE=M      prepare (default): store_stmt() returns NULL, as when a
 *                                   prepare fails; step: it returns a statement whose step
 *                                   fails with "injected store fault", as a failing
 *                                   sqlite3_step() does (store_exec_stmt and direct steps)
 *   SAGEMOCK_STORE_FAULT_FILE=PATH  armed at run time: the file holds "GEN N [MODE]"; each
 *                                   time GEN changes, counting restarts and the Nth call from
 *                                   then fails (N 0 disarms). Read on every call.
 *
 * One fault fires per arming; each is reported on stderr as
 * "sagemock: store fault injected: call N (SQL) at MODE".
 */
static atomic_long fault_calls; /* calls since start-up or the last arming */
static atomic_long fault_at;    /* the call that fails; 0: none */
static atomic_int fault_at_step;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static long fault_gen = -1;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_from_env(void)
{
    const char *at = getenv("SAGEMOCK_STORE_FAIL_AT"), *mode = getenv("SAGEMOCK_STORE_FAIL_MODE");
    atomic_store(&fault_at, at ? strtol(at, NULL, 10) : 0);
    atomic_store(&fault_at_step, mode && strcmp(mode, "step") == 0);
}

static void fault_rearm(void)
{
    const char *path = getenv("SAGEMOCK_STORE_FAULT_FILE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    long gen, at;
    char mode[16] = "prepare";
    int n = fscanf(f, "%ld %ld %15s", &gen, &at, mode);
    fclose(f);
    if (n < 2) return;
    pthread_mutex_lock(&fault_lock);
    if (gen != fault_gen) {
        fault_gen = gen;
        atomic_store(&fault_calls, 0);
        atomic_store(&fault_at_step, strcmp(mode, "step") == 0);
        atomic_store(&fault_at, at);
    }
    pthread_mutex_unlock(&fault_lock);
}

/* 0: run `which` normally; 1: fail at prepare; 2: fail at step. */
static int fault_fires(store_sql which)
{
    pthread_once(&fault_once, fault_from_env);
    fault_rearm();
    long n = atomic_fetch_add(&fault_calls, 1) + 1, at = atomic_load(&fault_at);
    if (at <= 0 || n != at) return 0;
    int step = atomic_load(&fault_at_step);
    fprintf(stderr, "sagemock: store fault injected: call %ld (%s) at %s\n", n, sql_text[which],
            step ? "step" : "prepare");
    return step ? 2 : 1;
}

static void fault_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc, (void)argv;
    sqlite3_result_error(ctx, "injected store fault", -1);
}

/* This connection's statement that fails when stepped, reset; NULL when it cannot be made. */
static sqlite3_stmt *fault_stmt(conn *c)
{
    if (!c->fault && (sqlite3_create_function(c->db, "sagemock_fault", 0, SQLITE_UTF8, NULL,
                                              fault_fn, NULL, NULL) != SQLITE_OK ||
                      sqlite3_prepare_v3(c->db, "SELECT sagemock_fault()", -1,
                                         SQLITE_PREPARE_PERSISTENT, &c->fault, NULL) != SQLITE_OK))
        return NULL;
    sqlite3_reset(c->fault);
    return c->fault;
}
#endif

sqlite3 *store_db(void)
{
    if (!this_conn) this_conn = conn_open();
    return this_conn ? this_conn->db : NULL;
}

sqlite3_stmt *store_stmt(store_sql which)
{
    if (!store_db()) return NULL;
#ifdef SAGEMOCK_FAULT_HOOKS
    int fault = fault_fires(which);
    if (fault) {
        snprintf(this_err, sizeof this_err, "injected store fault");
        return fault == 2 ? fault_stmt(this_conn) : NULL;
    }
#endif
    sqlite3_stmt **slot = &this_conn->st[which];
    if (!*slot) {
        if (sqlite3_prepare_v3(this_conn->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, slot,
                               NULL) != SQLITE_OK) {
            snprintf(this_err, sizeof this_err, "%s", sqlite3_errmsg(this_conn->db));
            return NULL;
        }
        return *slot;
    }
    sqlite3_reset(*slot);
    sqlite3_clear_bindings(*slot);
    return *slot;
}

int store_step_row(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return SM_OK;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SM_ENOTFOUND : SM_ESTORE;
}

int store_exec_stmt(sqlite3_stmt *st)
{
    if (!st) return SM_ESTORE;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(this_err, sizeof this_err, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
        sqlite3_reset(st);
        return SM_ESTORE;
    }
    sqlite3_reset(st);
    return SM_OK;
}

/* The index of parameter `name` of st. sqlite3_bind_parameter_index scans the statement's
 * names, and an insert binds twenty of them: each thread remembers the answers for its
 * statements, keyed by the statement and the name's address (the names are literals).
 * Statements live as long as their connection; store_close() ends them all, and a store
 * opened again (tests) starts a new generation, so a statement made at a freed one's address
 * is never taken for it. */
static atomic_uint stmt_generation;

static int param_index(sqlite3_stmt *st, const char *name)
{
    static __thread struct {
        const sqlite3_stmt *st;
        const char *name;
        unsigned gen;
        int i;
    } memo[256];
    unsigned gen = atomic_load_explicit(&stmt_generation, memory_order_relaxed);
    uintptr_t h = ((uintptr_t)st >> 4) * 31 + (uintptr_t)name;
    h = (h ^ (h >> 9) ^ (h >> 17)) & 255;
    if (memo[h].st == st && memo[h].name == name && memo[h].gen == gen) return memo[h].i;
    int i = sqlite3_bind_parameter_index(st, name);
    memo[h].st = st, memo[h].name = name, memo[h].gen = gen, memo[h].i = i;
    return i;
}

int store_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = param_index(st, name);
    return i ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : SQLITE_OK;
}

int store_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = param_index(st, name);
    return i ? sqlite3_bind_int64(st, i, v) : SQLITE_OK;
}

void store_copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t len = s ? strlen((const char *)s) : 0;
    if (len >= n) len = n - 1;
    if (len) memcpy(dst, s, len);
    dst[len] = 0;
}

int store_name_taken(store_sql which, const char *region, const char *name, char *existing_arn)
{
    sqlite3_stmt *st = store_stmt(which);
    if (!st) return SM_ESTORE;
    store_bind_text(st, ":region", region);
    store_bind_text(st, ":name", name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) store_copy_col(existing_arn, STORE_ARN_MAX, st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SM_EEXIST : rc == SQLITE_DONE ? SM_OK : SM_ESTORE;
}

char *store_dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? strdup((const char *)s) : NULL;
}

const char *store_errmsg(void)
{
    return this_err;
}

static int migrate(sqlite3 *db)
{
    if (exec_sql(db, "BEGIN IMMEDIATE") != SM_OK) return SM_ESTORE;
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION) {
        snprintf(this_err, sizeof this_err,
                 "the database has schema version %d, newer than this sagemock knows (%d)", version,
                 SCHEMA_VERSION);
        exec_sql(db, "ROLLBACK");
        return SM_ESTORE;
    }
    for (; version < SCHEMA_VERSION; version++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d", version + 1);
        if (exec_sql(db, migration[version]) != SM_OK || exec_sql(db, bump) != SM_OK) {
            char why[256];
            snprintf(why, sizeof why, "%.200s", this_err);
            exec_sql(db, "ROLLBACK");
            snprintf(this_err, sizeof this_err, "migration to schema %d failed: %.200s",
                     version + 1, why);
            return SM_ESTORE;
        }
    }
    return exec_sql(db, "COMMIT");
}

int store_open(const char *path)
{
    db_is_memory = strcmp(path, ":memory:") == 0;
    if (db_is_memory)
        snprintf(db_uri, sizeof db_uri, "file:/sagemock-%ld-%p?vfs=memdb", (long)getpid(),
                 (void *)&db_uri);
    else {
        /* A URI keeps odd characters in paths literal: percent-encode everything unusual. */
        char *o = db_uri;
        size_t left = sizeof db_uri - 1;
        int n = snprintf(o, left, "file:");
        o += n, left -= (size_t)n;
        for (const unsigned char *p = (const unsigned char *)path; *p && left > 4; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("/._-~", *p)) {
                *o++ = (char)*p, left--;
            } else {
                n = snprintf(o, left, "%%%02X", *p);
                o += n, left -= (size_t)n;
            }
        }
        *o = 0;
    }
    sqlite3 *db = store_db();
    if (!db) return SM_ESTORE;
    return migrate(db);
}

void store_close(void)
{
    store_views_stop(); /* its writer has a connection of its own */
    atomic_fetch_add(&stmt_generation, 1);
    pthread_mutex_lock(&registry_lock);
    /* Close the others first: the memdb database lives while its last connection does. */
    conn *c = registry;
    registry = NULL;
    pthread_mutex_unlock(&registry_lock);
    while (c) {
        conn *next = c->next;
        for (int i = 0; i < SQL__COUNT; i++)
            sqlite3_finalize(c->st[i]);
#ifdef SAGEMOCK_FAULT_HOOKS
        sqlite3_finalize(c->fault);
#endif
        if (!db_is_memory) sqlite3_exec(c->db, "PRAGMA optimize", NULL, NULL, NULL);
        sqlite3_close(c->db);
        free(c);
        c = next;
    }
    this_conn = NULL;
}

/* Due probes (conn.h). */
store_floor store_jobs_floor = {.lock = PTHREAD_MUTEX_INITIALIZER};
store_floor store_tuning_floor = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void floors_forget(void)
{
    store_floor *all[] = {&store_jobs_floor, &store_tuning_floor};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        pthread_mutex_lock(&all[i]->lock);
        all[i]->gen++;
        all[i]->at = 0;
        pthread_mutex_unlock(&all[i]->lock);
    }
}

int store_floor_probe(store_floor *f, store_sql which, int64_t now_ms)
{
    if (now_ms < f->at) return 0;
    sqlite3 *db = store_db();
    /* inside a transaction the table may hold the transaction's own writes: never kept */
    int keep = db && sqlite3_get_autocommit(db);
    pthread_mutex_lock(&f->lock);
    uint64_t gen = f->gen;
    pthread_mutex_unlock(&f->lock);
    sqlite3_stmt *st = store_stmt(which);
    if (!st) return SM_ESTORE;
    int rc = sqlite3_step(st);
    int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SM_ESTORE;
    if (first <= now_ms) return 1;
    pthread_mutex_lock(&f->lock);
    if (keep && gen == f->gen) f->at = first;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

int store_begin(void)
{
    return store_exec_stmt(store_stmt(SQL_BEGIN));
}

int store_commit(void)
{
    int rc = store_exec_stmt(store_stmt(SQL_COMMIT));
    floors_forget(); /* committed or not, what the transaction wrote is unknown */
    return rc;
}

int store_in_tx(int (*fn)(int64_t), int64_t arg)
{
    int n = store_begin();
    if (n == SM_OK) n = fn(arg);
    if (n >= 0 && store_commit() != SM_OK) n = SM_ESTORE;
    if (n < 0) store_rollback();
    return n;
}

void store_rollback(void)
{
    sqlite3 *db = store_db();
    floors_forget();
    if (!db || sqlite3_get_autocommit(db)) return;
    /* A failed ROLLBACK must not leave the connection inside its transaction, holding the
     * write lock: try once more without the prepared statement. */
    if (store_exec_stmt(store_stmt(SQL_ROLLBACK)) != SM_OK || !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}
