/*
 * config.c: command-line flags and their SAGEMOCK_* environment twins.
 *
 * Precedence: flag, then environment variable, then default. Every option is a row of the
 * option table; --help is generated from it, so the two never disagree.
 */
#include "config.h"
#include "auth.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

sm_config cfg = {
    .host = "127.0.0.1",
    .port = 9080,
    .db = "sagemock.db",
    .clock_rate = 1.0,
    .region = "us-east-1",
    .account_id = "123456789012",
    .arn_lower = 1,
    .default_scenario = "success",
    .log_format = LOG_TEXT,
    .log_level = LOG_INFO,
    .threads = 0,
    .max_body = 6u << 20,
    .conn_timeout_s = 60,
    .conn_limit = 1024,
    .journal_size = 1000,
};

typedef int (*setter)(const char *v, const char *from);

static int fail(const char *from, const char *v, const char *why)
{
    fprintf(stderr, "sagemock: %s '%s': %s (see --help)\n", from, v, why);
    return -1;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

static int set_host(const char *v, const char *from)
{
    if (!*v) return fail(from, v, "empty host");
    cfg.host = v;
    return 0;
}

static int set_port(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 0, 65535, &n)) return fail(from, v, "expected a port number 0..65535");
    cfg.port = (int)n;
    return 0;
}

static int set_db(const char *v, const char *from)
{
    if (!*v) return fail(from, v, "expected a file path or :memory:");
    cfg.db = v;
    return 0;
}

static int set_fixtures(const char *v, const char *from)
{
    /* The environment twin holds a colon-separated list. */
    if (strcmp(from, "SAGEMOCK_FIXTURES") == 0) {
        char *copy = strdup(v), *save = NULL;
        if (!copy) return fail(from, v, "out of memory");
        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
            if (set_fixtures(p, "--fixtures")) return -1;
        return 0; /* copy stays: cfg points into it for the life of the process */
    }
    if (cfg.nfixtures == CFG_MAX_FIXTURES) return fail(from, v, "too many fixture paths");
    cfg.fixtures[cfg.nfixtures++] = v;
    return 0;
}

static int set_rate(const char *v, const char *from)
{
    char *end;
    double r = strtod(v, &end);
    if (end == v || *end || !(r >= 0 && r <= 1e6))
        return fail(from, v, "expected a rate from 0 (paused) to 1000000");
    cfg.clock_rate = r;
    cfg.clock_rate_set = 1;
    return 0;
}

static int set_region(const char *v, const char *from)
{
    size_t n = strlen(v);
    if (n == 0 || n > 25 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return fail(from, v, "expected a region such as us-east-1");
    cfg.region = v;
    return 0;
}

static int set_account(const char *v, const char *from)
{
    if (strlen(v) != 12 || strspn(v, "0123456789") != 12)
        return fail(from, v, "expected a 12-digit account id");
    cfg.account_id = v;
    return 0;
}

static int set_arn_case(const char *v, const char *from)
{
    if (strcmp(v, "lower") == 0)
        cfg.arn_lower = 1;
    else if (strcmp(v, "preserve") == 0)
        cfg.arn_lower = 0;
    else
        return fail(from, v, "expected lower or preserve");
    return 0;
}

static int set_default_scenario(const char *v, const char *from)
{
    if (!*v || strlen(v) > 63) return fail(from, v, "expected a scenario name");
    cfg.default_scenario = v;
    return 0;
}

static int set_log_format(const char *v, const char *from)
{
    if (strcmp(v, "text") == 0)
        cfg.log_format = LOG_TEXT;
    else if (strcmp(v, "json") == 0)
        cfg.log_format = LOG_JSON;
    else
        return fail(from, v, "expected text or json");
    return 0;
}

static int set_log_level(const char *v, const char *from)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(v, names[i]) == 0) {
            cfg.log_level = (cfg_log_level)i;
            return 0;
        }
    return fail(from, v, "expected error, warn, info or debug");
}

static int set_threads(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 0, 256, &n)) return fail(from, v, "expected 0 (one per core) to 256");
    cfg.threads = (int)n;
    return 0;
}

static int set_max_body(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 1024, 1L << 30, &n)) return fail(from, v, "expected bytes, 1024 or more");
    cfg.max_body = (size_t)n;
    return 0;
}

static int set_timeout(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 1, 86400, &n)) return fail(from, v, "expected seconds, 1 to 86400");
    cfg.conn_timeout_s = (int)n;
    return 0;
}

static int set_journal_size(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 0, 1000000, &n)) return fail(from, v, "expected 0 (off) to 1000000");
    cfg.journal_size = (int)n;
    return 0;
}

static int set_conn_limit(const char *v, const char *from)
{
    long n;
    if (parse_long(v, 1, 65536, &n)) return fail(from, v, "expected 1 to 65536");
    cfg.conn_limit = (int)n;
    return 0;
}

static int set_auth(const char *v, const char *from)
{
    if (strcmp(v, "none") == 0)
        cfg.auth = CFG_AUTH_NONE;
    else if (strcmp(v, "sigv4") == 0)
        cfg.auth = CFG_AUTH_SIGV4;
    else
        return fail(from, v, "expected none or sigv4");
    return 0;
}

static int set_credentials(const char *v, const char *from)
{
    if (!*v) return fail(from, v, "expected the path of a credentials file");
    cfg.credentials = v;
    return 0;
}

static int set_admin_token(const char *v, const char *from)
{
    if (!*v) {
        fprintf(stderr, "sagemock: %s: the admin token must not be empty (see --help)\n", from);
        return -1; /* never echo the token itself */
    }
    cfg.admin_token = v;
    return 0;
}

static int set_admin_hosts(const char *v, const char *from)
{
    if (!*v ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:,*[]") !=
            strlen(v))
        return fail(from, v, "expected host names separated by commas, or *");
    cfg.admin_hosts = v;
    return 0;
}

typedef struct option {
    const char *flag, *env, *arg, *help;
    setter set;
} option;

static const option options[] = {
    {"--host", "SAGEMOCK_HOST", "ADDR", "address to listen on (default 127.0.0.1)", set_host},
    {"--port", "SAGEMOCK_PORT", "N", "port (default 9080; 0 picks a free one and prints it)",
     set_port},
    {"--db", "SAGEMOCK_DB", "PATH", "SQLite database file, or :memory: (default sagemock.db)",
     set_db},
    {"--fixtures", "SAGEMOCK_FIXTURES", "PATH",
     "fixture file or folder to load at start (repeatable; env: colon-separated)", set_fixtures},
    {"--clock-rate", "SAGEMOCK_CLOCK_RATE", "F",
     "simulated seconds per real second (default 1; 0 starts paused)", set_rate},
    {"--region", "SAGEMOCK_REGION", "NAME",
     "region when a request carries no SigV4 scope (default us-east-1)", set_region},
    {"--account-id", "SAGEMOCK_ACCOUNT_ID", "ID", "account in ARNs (default 123456789012)",
     set_account},
    {"--arn-case", "SAGEMOCK_ARN_CASE", "lower|preserve",
     "job name case inside ARNs (default lower, as SageMaker does)", set_arn_case},
    {"--default-scenario", "SAGEMOCK_DEFAULT_SCENARIO", "NAME",
     "scenario of jobs no tag or rule chooses (default success)", set_default_scenario},
    {"--log-format", "SAGEMOCK_LOG_FORMAT", "text|json", "access log format (default text)",
     set_log_format},
    {"--log-level", "SAGEMOCK_LOG_LEVEL", "LEVEL", "error, warn, info or debug (default info)",
     set_log_level},
    {"--threads", "SAGEMOCK_THREADS", "N", "worker threads (default 0: one per core)", set_threads},
    {"--max-body", "SAGEMOCK_MAX_BODY", "BYTES", "largest request body (default 6291456)",
     set_max_body},
    {"--conn-timeout", "SAGEMOCK_CONN_TIMEOUT", "S", "idle connection timeout (default 60)",
     set_timeout},
    {"--conn-limit", "SAGEMOCK_CONN_LIMIT", "N", "most connections at once (default 1024)",
     set_conn_limit},
    {"--journal-size", "SAGEMOCK_JOURNAL_SIZE", "N",
     "API calls kept in the request journal (default 1000; 0: off)", set_journal_size},
    {"--auth", "SAGEMOCK_AUTH", "none|sigv4",
     "check SigV4 signatures of API calls (default none: any credentials work)", set_auth},
    {"--credentials", "SAGEMOCK_CREDENTIALS", "PATH",
     "keys for --auth sigv4, AWS credentials-file format (or SAGEMOCK_ACCESS_KEY_ID, "
     "SAGEMOCK_SECRET_ACCESS_KEY, SAGEMOCK_SESSION_TOKEN)",
     set_credentials},
    {"--admin-token", "SAGEMOCK_ADMIN_TOKEN", "TOKEN",
     "require this bearer token on the admin API, health excepted (default: open)",
     set_admin_token},
    {"--admin-hosts", "SAGEMOCK_ADMIN_HOSTS", "LIST",
     "more Host names the admin API answers to (comma-separated; * for any Host and Origin); "
     "default: loopback names and addresses, --host, the address connected to",
     set_admin_hosts},
};
#define NOPTIONS ((int)(sizeof options / sizeof options[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: sagemock [options]\n"
               "       sagemock healthcheck [--host ADDR] [--port N]\n"
               "A local emulator of the Amazon SageMaker training-job API, with the CloudWatch\n"
               "Logs, STS and IAM calls a training workflow makes, on one endpoint.\n\noptions:\n");
    for (int i = 0; i < NOPTIONS; i++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "%s %s", options[i].flag, options[i].arg);
        fprintf(f, "  %-30s %s [%s]\n", lhs, options[i].help, options[i].env);
    }
    fprintf(f, "  %-30s %s\n  %-30s %s\n", "--help", "show this help", "--version",
            "print the version");
}

/* After parsing, for a server that will run: load the SigV4 credentials now, so that a bad
 * file stops start-up instead of refusing every request later. */
static int check_auth(void)
{
    if (cfg.admin_token) log_msg(LOG_INFO, "admin API: token required (health stays open)");
    if (cfg.auth != CFG_AUTH_SIGV4) {
        if (cfg.credentials)
            fprintf(stderr, "sagemock: warning: --credentials is ignored without --auth sigv4\n");
        return CFG_RUN;
    }
    char why[1024];
    if (auth_init(cfg.credentials, why, sizeof why) != 0) {
        fprintf(stderr, "sagemock: --auth sigv4: %s\n", why);
        return CFG_EXIT_USAGE;
    }
    log_msg(LOG_INFO, "SigV4 verification on: %zu access key(s)", auth_key_count());
    return CFG_RUN;
}

int cfg_parse(int argc, char **argv)
{
    int mode = CFG_RUN, first = 1;
    if (argc > 1 && strcmp(argv[1], "healthcheck") == 0) {
        mode = CFG_HEALTHCHECK;
        first = 2;
    }
    for (int i = 0; i < NOPTIONS; i++) {
        const char *v = getenv(options[i].env);
        if (v && *v && options[i].set(v, options[i].env)) return CFG_EXIT_USAGE;
    }
    int fixtures_from_env = cfg.nfixtures;
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return CFG_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("sagemock %s\n", SAGEMOCK_VERSION);
            return CFG_EXIT_OK;
        }
        const option *o = NULL;
        const char *val = NULL;
        for (int i = 0; i < NOPTIONS && !o; i++) {
            size_t n = strlen(options[i].flag);
            if (strncmp(arg, options[i].flag, n) == 0 && (arg[n] == 0 || arg[n] == '=')) {
                o = &options[i];
                val = arg[n] == '=' ? arg + n + 1 : NULL;
            }
        }
        if (!o) {
            fprintf(stderr, "sagemock: unknown option '%s' (see --help)\n", arg);
            return CFG_EXIT_USAGE;
        }
        if (!val) {
            if (a + 1 >= argc) {
                fprintf(stderr, "sagemock: %s needs a value (see --help)\n", o->flag);
                return CFG_EXIT_USAGE;
            }
            val = argv[++a];
        }
        /* Fixture paths on the command line replace those of the environment. */
        if (o->set == set_fixtures && fixtures_from_env) {
            cfg.nfixtures = 0;
            fixtures_from_env = 0;
        }
        if (o->set(val, o->flag)) return CFG_EXIT_USAGE;
    }
    return mode == CFG_RUN ? check_auth() : mode;
}
