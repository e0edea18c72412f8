/*
 * ceiling.c: the ceiling server of the benchmark (tests/bench/README.md).
 *
 * A libmicrohttpd daemon started with the same flags and options as sagemock's transport
 * (server/http.c: internal polling thread, epoll, a thread pool of one thread per core, the
 * same connection timeout, connection limit, per-connection memory limit and listen backlog)
 * that reads each request body the way sagemock does and answers every request with one fixed
 * body, the size of a DescribeTrainingJob response, and sagemock's response headers. No
 * parsing, no store, no JSON: it is the most this stack can do on this machine.
 *
 *   sagemock_ceiling [--port N] [--body-size BYTES] [--threads N]
 *
 * Listens on 127.0.0.1 (as sagemock's default --host). Prints
 * "ceiling: listening on http://127.0.0.1:PORT" when ready (--port 0 picks a free
 * port); stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Response *fixed;

/* Per request: the body is gathered as sagemock gathers it (into a growing buffer). */
typedef struct pending {
    char *body;
    size_t len, cap;
} pending;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version;
    pending *p = *state;
    if (!p) {
        if (!(p = calloc(1, sizeof *p))) return MHD_NO;
        *state = p;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (p->len + n + 1 > p->cap) {
            size_t cap = p->cap ? p->cap : 4096;
            while (cap < p->len + n + 1)
                cap *= 2;
            char *b = realloc(p->body, cap);
            if (!b) return MHD_NO;
            p->body = b;
            p->cap = cap;
        }
        memcpy(p->body + p->len, upload_data, n);
        p->len += n;
        p->body[p->len] = 0;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, fixed);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    pending *p = *state;
    if (p) {
        free(p->body);
        free(p);
    }
    *state = NULL;
}

int main(int argc, char **argv)
{
    long port = 0, body_size = 3000, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(argv[i], "--port") == 0)
            port = strtol(v, NULL, 10), i++;
        else if (v && strcmp(argv[i], "--body-size") == 0)
            body_size = strtol(v, NULL, 10), i++;
        else if (v && strcmp(argv[i], "--threads") == 0)
            threads = strtol(v, NULL, 10), i++;
        else {
            fprintf(stderr, "usage: %s [--port N] [--body-size BYTES] [--threads N]\n", argv[0]);
            return 2;
        }
    }
    if (port < 0 || port > 65535 || body_size < 2 || body_size > (1L << 24) || threads < 0) {
        fprintf(stderr, "ceiling: bad arguments\n");
        return 2;
    }
    if (threads == 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;

    /* A JSON object of exactly body_size bytes: {"x":"aaaa...."} */
    char *body = malloc((size_t)body_size);
    if (!body) return 1;
    memset(body, 'a', (size_t)body_size);
    memcpy(body, "{\"x\":\"", 6);
    body[body_size - 2] = '"';
    body[body_size - 1] = '}';
    fixed = MHD_create_response_from_buffer((size_t)body_size, body, MHD_RESPMEM_MUST_FREE);
    if (!fixed) return 1;
    MHD_add_response_header(fixed, "x-amzn-RequestId", "00000000-0000-4000-8000-000000000000");
    MHD_add_response_header(fixed, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-amz-json-1.1");

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The flags and options of server/http.c http_start(), with its defaults
     * (--conn-timeout 60, --conn-limit 1024). */
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ceiling: cannot listen on port %ld\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("ceiling: listening on http://127.0.0.1:%u\n", info ? info->port : (unsigned)port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(fixed);
    return 0;
}
