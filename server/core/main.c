/*
 * main.c: the sagemock process: configuration, start-up, signals, shutdown; and the
 * `sagemock healthcheck` subcommand used by container health checks (no curl needed).
 *
 * Start-up order: flags, the service model, the store (schema migrated), the clock and token
 * secret restored, then the HTTP daemon. SIGTERM or SIGINT stop the daemon (in-flight
 * requests finish), then the store is closed, so the database is never left half-written.
 */
#include "boot.h"
#include "config.h"
#include "errors.h"
#include "fixtures.h"
#include "registry.h"
#include "http.h"
#include "buildid.h"
#include "journal.h"
#include "log.h"
#include "service.h"
#include "store.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* GET /_sagemock/health on cfg.host:cfg.port; 0 when it answers 200. */
static int healthcheck(void)
{
    const char *host = cfg.host;
    if (strcmp(host, "0.0.0.0") == 0) host = "127.0.0.1";
    if (strcmp(host, "::") == 0) host = "::1";
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg.port);
    if (getaddrinfo(host, port, &hints, &ai) != 0) return 1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    struct timeval tv = {2, 0};
    int ok = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            static const char req[] = "GET /_sagemock/health HTTP/1.0\r\nHost: sagemock\r\n\r\n";
            char buf[64] = {0};
            if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1) &&
                read(fd, buf, sizeof buf - 1) > 12)
                ok = strncmp(buf + 8, " 200", 4) == 0;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    if (!ok) fprintf(stderr, "sagemock healthcheck: %s:%d is not healthy\n", host, cfg.port);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int mode = cfg_parse(argc, argv);
    if (mode == CFG_EXIT_OK) return 0;
    if (mode == CFG_EXIT_USAGE) return 2;
    if (mode == CFG_HEALTHCHECK) return healthcheck();

    char err[512];
    if (services_load(err, sizeof err) != SM_OK) {
        log_msg(LOG_ERROR, "%s", err);
        return 1;
    }
    if (store_open(cfg.db) != SM_OK) {
        log_msg(LOG_ERROR, "cannot open the database %s: %s", cfg.db, store_errmsg());
        return 1;
    }
    if (boot_clock_init() != SM_OK || boot_secret_init() != SM_OK ||
        store_views_epoch(build_id()) != SM_OK) {
        log_msg(LOG_ERROR, "cannot restore the clock, token secret or views from %s: %s", cfg.db,
                store_errmsg());
        store_close();
        return 1;
    }

    if (journal_init(cfg.journal_size) != SM_OK) {
        log_msg(LOG_ERROR, "cannot allocate a request journal of %d entries", cfg.journal_size);
        store_close();
        return 1;
    }
    reg_set_default(cfg.default_scenario);
    char why[2048];
    if (fx_init(clock_now(clock_wall_ms()), why, sizeof why) != SM_OK) {
        log_msg(LOG_ERROR, "fixtures refused: %s", why);
        store_close();
        return 2;
    }

    /* Block the stop signals before the daemon's threads start, so they inherit the mask and
     * only sigwait() below ever sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int port = 0;
    if (http_start(&port) != SM_OK) {
        store_close();
        return 1;
    }
    printf("sagemock: listening on http://%s%s%s:%d\n", strchr(cfg.host, ':') ? "[" : "", cfg.host,
           strchr(cfg.host, ':') ? "]" : "", port);
    fflush(stdout);
    log_msg(LOG_INFO, "sagemock %s ready: database %s, %lld jobs, region %s, account %s",
            SAGEMOCK_VERSION, cfg.db, (long long)store_job_count(), cfg.region, cfg.account_id);

    int sig = 0;
    sigwait(&stop, &sig);
    log_msg(LOG_INFO, "%s received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_stop();
    store_close();
    services_free();
    reg_free();
    journal_free();
    return 0;
}
