/*
 * config.h: the settings of one sagemock process, from flags and their SAGEMOCK_* twins.
 *
 * cfg_parse() fills the one global `cfg` before anything starts; after that it is read-only.
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <stddef.h>

#define CFG_MAX_FIXTURES 32

typedef enum { LOG_TEXT = 0, LOG_JSON = 1 } cfg_log_format;
typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } cfg_log_level;
typedef enum { CFG_AUTH_NONE = 0, CFG_AUTH_SIGV4 = 1 } cfg_auth;

typedef struct sm_config {
    const char *host;
    int port;
    const char *db;
    const char *fixtures[CFG_MAX_FIXTURES];
    int nfixtures;
    double clock_rate;
    int clock_rate_set; /* given on the command line or in the environment */
    const char *region;
    const char *account_id;
    int arn_lower;
    const char
        *default_scenario; /* lower-case the job name inside ARNs, as the real service does */
    cfg_log_format log_format;
    cfg_log_level log_level;
    int threads;
    size_t max_body;
    int conn_timeout_s;
    int conn_limit;
    int journal_size;        /* API calls kept in the request journal; 0 turns it off */
    cfg_auth auth;           /* --auth: none (default) or sigv4 */
    const char *credentials; /* --credentials: AWS shared-credentials file, or NULL */
    const char *admin_token; /* --admin-token: guards the admin API (not health), or NULL */
    /* --admin-hosts: more Host names the admin API answers to, whose origins may change state
     * ("a,b"; "*": any Host and any Origin), or NULL: loopback, --host and the address the
     * connection came in on only. */
    const char *admin_hosts;
} sm_config;

extern sm_config cfg;

/* What main() should do after parsing. */
enum { CFG_RUN = 0, CFG_EXIT_OK = 1, CFG_EXIT_USAGE = 2, CFG_HEALTHCHECK = 3 };

/* Parse argv and the environment into cfg. Prints help, version or a usage error itself. */
int cfg_parse(int argc, char **argv);

#define SAGEMOCK_VERSION "0.1.0"

#endif
