/*
 * http.c: the libmicrohttpd transport (see http.h).
 *
 * Per connection-request state (struct pending) gathers the body over several callbacks, as in
 * libmicrohttpd's largepost example; the completion callback frees it. Past the body cap the
 * handler answers 413 at once when Content-Length announces it, or stops gathering and answers
 * at the end of a chunked upload. The daemon runs a thread pool on epoll, with a connection
 * timeout, a connection limit and a per-connection memory limit.
 *
 * Injected latency (faults.c, through sm_req.delay_ms) never sleeps in a worker: the request
 * is handled at once, its reply kept in the pending state, the connection suspended
 * (MHD_ALLOW_SUSPEND_RESUME) and put on the delay list; one timer thread resumes each
 * connection when its time comes, and libmicrohttpd calls on_request again, which sends the
 * kept reply. Suspending and resuming happen under delay_lock, and stopping resumes every
 * suspended connection first (libmicrohttpd must not stop with suspended connections).
 *
 * Writes that wait for a group commit (group.c) are held the same way: the gate leaves the
 * request unanswered (sm_req.group), the connection is suspended before the request is queued
 * (so it cannot be resumed first), and the committer resumes it once the transaction holding
 * the write committed, or puts it on the delay list when the reply has an injected latency.
 * Stopping drains the committer's queue before it resumes what is held.
 */
#include "http.h"
#include "admin.h"
#include "clock.h"
#include "config.h"
#include "errors.h"
#include "journal.h"
#include "log.h"
#include "gate.h"
#include "group.h"
#include "reply.h"
#include "service.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_PREFIX "/_sagemock"

static struct MHD_Daemon *daemon_handle;

typedef struct pending {
    char *query; /* the query string rebuilt from MHD's decoded arguments */
    char *body;
    size_t len, cap;
    size_t dropped; /* bytes past the cap, read and thrown away */
    int too_large;
    struct timespec start;
    sm_req *held; /* a reply held for an injected latency, sent when the connection resumes */
} pending;

/* ------------------------------------------------------------------------ held replies */

typedef struct delayed {
    struct timespec due; /* CLOCK_MONOTONIC */
    struct MHD_Connection *conn;
    struct delayed *next;
} delayed;

static pthread_mutex_t delay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t delay_cond;
static delayed *delays; /* sorted by due time */
static int delays_stopping, delay_thread_running;
static int nheld; /* replies held and not yet sent (suspended, or resumed and on their way) */
static pthread_t delay_thread;

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *delay_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&delay_lock);
    while (!delays_stopping) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        while (delays && !ts_before(&now, &delays->due)) {
            delayed *d = delays;
            delays = d->next;
            MHD_resume_connection(d->conn);
            free(d);
        }
        if (delays)
            pthread_cond_timedwait(&delay_cond, &delay_lock, &delays->due);
        else
            pthread_cond_wait(&delay_cond, &delay_lock);
    }
    pthread_mutex_unlock(&delay_lock);
    return NULL;
}

/* Put conn on the delay list, to be resumed in ms milliseconds; under delay_lock. 0, or -1
 * (stopping, out of memory). */
static int delay_add(struct MHD_Connection *conn, int ms)
{
    if (delays_stopping || !delay_thread_running) return -1;
    delayed *d = calloc(1, sizeof *d);
    if (!d) return -1;
    clock_gettime(CLOCK_MONOTONIC, &d->due);
    d->due.tv_sec += ms / 1000;
    d->due.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (d->due.tv_nsec >= 1000000000L) d->due.tv_sec++, d->due.tv_nsec -= 1000000000L;
    d->conn = conn;
    delayed **at = &delays;
    while (*at && !ts_before(&d->due, &(*at)->due))
        at = &(*at)->next;
    d->next = *at;
    *at = d;
    pthread_cond_broadcast(&delay_cond);
    return 0;
}

/* Suspend conn for ms milliseconds (called from its access handler). 0 when suspended, else
 * (stopping, out of memory) the caller sends the reply at once. */
static int hold(struct MHD_Connection *conn, int ms)
{
    pthread_mutex_lock(&delay_lock);
    if (delay_add(conn, ms) != 0) {
        pthread_mutex_unlock(&delay_lock);
        return -1;
    }
    nheld++;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&delay_lock);
    return 0;
}

/* The group of a held write committed (the committer's thread, or the worker when the
 * committer refused it): send its reply, after its injected latency if it has one. */
static void group_done(sm_req *r, void *arg)
{
    struct MHD_Connection *conn = arg;
    pthread_mutex_lock(&delay_lock);
    if (r->delay_ms <= 0 || delay_add(conn, r->delay_ms) != 0) MHD_resume_connection(conn);
    pthread_mutex_unlock(&delay_lock);
}

/* Hold r's connection while its write waits for the next group commit (called from the access
 * handler; r was left unanswered by the gate, and is moved). 0, or -1 when out of memory: the
 * caller then writes at once. */
static int wait_for_group(struct MHD_Connection *conn, pending *p, sm_req *r)
{
    sm_req *held = malloc(sizeof *held);
    if (!held) return -1;
    *held = *r;
    p->held = held;
    pthread_mutex_lock(&delay_lock);
    nheld++;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&delay_lock);
    if (group_submit(held, group_done, conn) != SM_OK) {
        gate_write(held); /* the committer stopped: write now */
        group_done(held, conn);
    }
    return 0;
}

/* A request id needs to be unique, not secret: each thread draws its ids from its own
 * xoshiro256** generator, seeded once from the kernel (a syscall and OpenSSL's fork check per
 * request cost more than the rest of a small request's bookkeeping). */
static __thread uint64_t id_state[4];
static __thread int id_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t id_next(void)
{
    uint64_t *s = id_state, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return r;
}

static void request_id(char out[37])
{
    if (!id_seeded) {
        if (getrandom(id_state, sizeof id_state, 0) != (ssize_t)sizeof id_state) {
            /* Never fails on Linux in practice; fall back to something unique enough. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            id_state[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
            id_state[1] = (uint64_t)(uintptr_t)&id_seeded;
            id_state[2] = (uint64_t)getpid();
            id_state[3] = 0x9e3779b97f4a7c15u;
        }
        id_seeded = 1;
    }
    unsigned char b[16];
    uint64_t hi = id_next(), lo = id_next();
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(hi >> (8 * i));
        b[8 + i] = (unsigned char)(lo >> (8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* a version 4 UUID */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = 0;
}

/* Gather n more bytes of body. Past the cap the bytes are dropped and counted, and the upload
 * is answered 413 when it ends; four caps past it (only a chunked upload gets there: an
 * announced length is answered at once) the
 * connection is closed, since libmicrohttpd 0.9 cannot answer in the middle of an upload and
 * an endless body would otherwise hold its connection forever. */
static int append(pending *p, const char *data, size_t n)
{
    if (p->too_large || p->len + n > cfg.max_body) {
        p->too_large = 1;
        p->dropped += n;
        return p->dropped > 4 * cfg.max_body ? SM_ERR : SM_OK;
    }
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *b = realloc(p->body, cap);
        if (!b) return SM_ENOMEM;
        p->body = b;
        p->cap = cap;
    }
    memcpy(p->body + p->len, data, n);
    p->len += n;
    p->body[p->len] = 0;
    return SM_OK;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, sm_req *r)
{
    size_t len = !r->reply_body ? 0 : r->reply_len ? r->reply_len : strlen(r->reply_body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, r->reply_body ? r->reply_body : (char *)"",
        r->reply_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    r->reply_body = NULL; /* the response owns it now */
    MHD_add_response_header(resp, "x-amzn-RequestId", r->request_id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->reply_type ? r->reply_type : APPLICATION_AMZ_JSON);
    if (r->error_code && reply_is_json_error(r))
        MHD_add_response_header(resp, "x-amzn-ErrorType", r->error_code);
    for (int i = 0; i < r->nreply_headers && i < 2; i++)
        MHD_add_response_header(resp, r->reply_header_name[i], r->reply_header_value[i]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static int local_addr(void *transport, char *out, size_t outlen);

/* sm_req.header: the transport's header lookup for the gate (SigV4 signed headers), and the
 * pseudo-header REQ_LOCAL_ADDRESS for the admin API's Host check. */
static const char *transport_header(void *transport, const char *name)
{
    static __thread char addr[64];
    if (strcmp(name, REQ_LOCAL_ADDRESS) == 0)
        return local_addr(transport, addr, sizeof addr) ? addr : NULL;
    return header(transport, name);
}

/* libmicrohttpd strips the query from the URL and hands its arguments over decoded; rebuild
 * "k=v&k2=v2" with each part percent-encoded again (unreserved characters kept), in the
 * order they came. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    pending *p = cls;
    size_t need = strlen(key) * 3 + (value ? strlen(value) * 3 + 1 : 0) + 2;
    size_t have = p->query ? strlen(p->query) : 0;
    char *q = realloc(p->query, have + need + 1);
    if (!q) return MHD_NO;
    p->query = q;
    char *o = q + have;
    if (have) *o++ = '&';
    for (int part = 0; part < 2; part++) {
        const char *s = part ? value : key;
        if (part && !s) break;
        if (part) *o++ = '=';
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~')
                *o++ = (char)c;
            else
                o += sprintf(o, "%%%02X", c);
        }
    }
    *o = 0;
    return MHD_YES;
}

/* A held reply went out (or its connection closed). */
static void held_done(void)
{
    pthread_mutex_lock(&delay_lock);
    nheld--;
    pthread_cond_broadcast(&delay_cond);
    pthread_mutex_unlock(&delay_lock);
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Send r's reply, then write its access line and journal entry (AWS API calls only). */
static enum MHD_Result finish(struct MHD_Connection *conn, pending *p, sm_req *r, int is_admin)
{
    enum MHD_Result ret = send_reply(conn, r);
    double ms = elapsed_ms(&p->start);
    log_access(r, ms);
    if (!is_admin) {
        journal_entry e = {.wall_ms = r->wall_ms,
                           .sim_ms = r->now_ms,
                           .service = r->service ? r->service->id : NULL,
                           .operation = r->operation ? r->operation : "(unknown)",
                           .job = r->job_name,
                           .region = r->region[0] ? r->region : NULL,
                           .status = r->status,
                           .error_code = r->error_code,
                           .latency_ms = ms,
                           .request_id = r->request_id,
                           .body = r->body,
                           .body_len = r->body_len};
        journal_record(&e);
    }
    req_free(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    (void)cls, (void)version;
    pending *p = *state;
    if (p && p->held) {
        /* Resumed after an injected latency: send the reply kept for it. */
        sm_req *r = p->held;
        p->held = NULL;
        enum MHD_Result ret = finish(conn, p, r, 0);
        free(r);
        held_done();
        return ret;
    }
    if (!p) {
        if (!(p = calloc(1, sizeof *p))) return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &p->start);
        *state = p;
        const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > cfg.max_body) p->too_large = 1;
        if (!p->too_large) return MHD_YES;
        /* Announced too large: answer now instead of reading it all. */
    } else if (*upload_data_size) {
        if (append(p, upload_data, *upload_data_size) != SM_OK) return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    sm_req r = {0};
    r.method = method;
    r.path = url;
    if (!p->query) MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, p);
    r.query = p->query ? p->query : "";
    r.target_header = header(conn, "X-Amz-Target");
    r.content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    r.authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    r.header = transport_header;
    r.transport = conn;
    r.body = p->body;
    r.body_len = p->len;
    r.body_too_large = p->too_large;
    p->body = NULL;
    r.wall_ms = clock_wall_ms();
    request_id(r.request_id);

    int is_admin = strncmp(url, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0 &&
                   (url[strlen(ADMIN_PREFIX)] == '/' || url[strlen(ADMIN_PREFIX)] == 0);
    r.can_wait = !is_admin;
    if (is_admin)
        admin_dispatch(&r);
    else
        gate_dispatch(&r);
    if (r.group) { /* the write waits for the next group commit */
        if (wait_for_group(conn, p, &r) == 0) return MHD_YES;
        gate_write(&r);
    }
    if (!r.reply_body && r.status == 0)
        reply_error(&r, "InternalFailure", "The request produced no reply.");

    if (!is_admin && r.delay_ms > 0) {
        /* The operation has run; its reply waits out the injected latency. */
        sm_req *held = malloc(sizeof *held);
        if (held) {
            *held = r;
            p->held = held;
            if (hold(conn, r.delay_ms) == 0) return MHD_YES;
            p->held = NULL;
            free(held);
        }
    }
    return finish(conn, p, &r, is_admin);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    pending *p = *state;
    if (p) {
        if (p->held) { /* closed before the held reply went out */
            req_free(p->held);
            free(p->held);
            held_done();
        }
        free(p->query);
        free(p->body);
        free(p);
    }
    *state = NULL;
}

int http_start(int *bound_port)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg.port);
    int gai = getaddrinfo(cfg.host, port, &hints, &ai);
    if (gai != 0) {
        log_msg(LOG_ERROR, "cannot resolve --host %s: %s", cfg.host, gai_strerror(gai));
        return SM_ERR;
    }
    group_start(); /* without it every write commits on its own */
    unsigned threads =
        cfg.threads > 0 ? (unsigned)cfg.threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    /* MHD_USE_ITC: stopping wakes every worker, even one whose listen socket is out of its
     * poll set because it holds its share of --conn-limit. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    daemon_handle = MHD_start_daemon(
        flags, (uint16_t)cfg.port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg.conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg.conn_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!daemon_handle) {
        log_msg(LOG_ERROR, "cannot listen on %s:%d", cfg.host, cfg.port);
        group_stop();
        return SM_ERR;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : cfg.port;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&delay_cond, &ca);
    pthread_condattr_destroy(&ca);
    delays_stopping = 0;
    delay_thread_running = pthread_create(&delay_thread, NULL, delay_main, NULL) == 0;
    if (!delay_thread_running)
        log_msg(LOG_WARN, "no timer thread: injected latencies are not applied");
    return SM_OK;
}

void http_stop(void)
{
    if (!daemon_handle) return;
    /* Commit and answer the writes queued for a group commit; later ones write at once. */
    group_stop();
    /* Resume every held reply now (they are sent as they are), and suspend no more. */
    pthread_mutex_lock(&delay_lock);
    delays_stopping = 1;
    while (delays) {
        delayed *d = delays;
        delays = d->next;
        MHD_resume_connection(d->conn);
        free(d);
    }
    pthread_cond_broadcast(&delay_cond);
    /* Give the resumed replies a moment to go out before the daemon closes every connection
     * (at most 2 s: a stop never waits for a client). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    while (nheld > 0 && pthread_cond_timedwait(&delay_cond, &delay_lock, &until) == 0) {
    }
    pthread_mutex_unlock(&delay_lock);
    if (delay_thread_running) pthread_join(delay_thread, NULL);
    delay_thread_running = 0;
    pthread_cond_destroy(&delay_cond);
    MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}

/* The numeric address ("127.0.0.1", "::1") the connection was accepted on; 0 when unknown. */
static int local_addr(void *transport, char *out, size_t outlen)
{
    if (!transport) return 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(transport, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)outlen, NULL, 0, NI_NUMERICHOST) !=
        0)
        return 0;
    /* An IPv4 client of a dual-stack socket: "::ffff:127.0.0.1" is 127.0.0.1. */
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
        memmove(out, out + 7, strlen(out + 7) + 1);
    return 1;
}
