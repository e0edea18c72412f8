/*
 * auth.c: credentials, the SigV4 gate hook and the admin token (see auth.h).
 *
 * The credentials file is in the AWS shared-credentials format, so the file a test suite
 * writes for its SDK can be given to sagemock as is:
 *
 *   [default]                                  # one section per access key; names are free
 *   aws_access_key_id = AKIDEXAMPLE
 *   aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
 *   aws_session_token = ...                    # optional: then requests must carry it
 *
 * Lines starting with '#' or ';' are comments; other keys (region, output...) are ignored; a
 * section with neither key is skipped, one with only one of them is an error. The environment
 * adds one more key (SAGEMOCK_ACCESS_KEY_ID, SAGEMOCK_SECRET_ACCESS_KEY, optional
 * SAGEMOCK_SESSION_TOKEN). An access key id given twice with different secrets or tokens is an
 * error. The list never changes after start-up.
 *
 * Never logged or printed: secrets, session tokens, the admin token, Authorization headers.
 */
#include "auth.h"
#include "config.h"
#include "errors.h"
#include "log.h"
#include "reply.h"
#include "service.h"
#include "sigv4.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILE (1L << 20)
#define ENV_KEY "SAGEMOCK_ACCESS_KEY_ID"
#define ENV_SECRET "SAGEMOCK_SECRET_ACCESS_KEY"
#define ENV_TOKEN "SAGEMOCK_SESSION_TOKEN"

typedef struct cred {
    char *key, *secret, *token; /* token NULL: the key takes no session token */
} cred;

static cred *creds;
static size_t ncreds;

static void wipe_free(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void auth_free(void)
{
    for (size_t i = 0; i < ncreds; i++) {
        free(creds[i].key);
        wipe_free(creds[i].secret);
        wipe_free(creds[i].token);
    }
    free(creds);
    creds = NULL;
    ncreds = 0;
}

size_t auth_key_count(void)
{
    return ncreds;
}

static const cred *find(const char *key)
{
    for (size_t i = 0; i < ncreds; i++)
        if (strcmp(creds[i].key, key) == 0) return &creds[i];
    return NULL;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Adds one key (copies the strings). `where` names the source for errors. */
static int add(const char *key, const char *secret, const char *token, const char *where, char *why,
               size_t whylen)
{
    if (!*key) return err_fail(why, whylen, "%s: empty aws_access_key_id", where);
    if (!*secret) return err_fail(why, whylen, "%s: empty secret access key", where);
    if (token && !*token) token = NULL;
    const cred *old = find(key);
    if (old) {
        if (strcmp(old->secret, secret) == 0 && same(old->token, token)) return SM_OK;
        return err_fail(why, whylen,
                        "%s: access key id %s is defined twice, with different secrets or tokens",
                        where, key);
    }
    cred *grown = realloc(creds, (ncreds + 1) * sizeof *creds);
    if (!grown) return err_fail(why, whylen, "out of memory"), SM_ENOMEM;
    creds = grown;
    cred *c = &creds[ncreds];
    c->key = strdup(key);
    c->secret = strdup(secret);
    c->token = token ? strdup(token) : NULL;
    if (!c->key || !c->secret || (token && !c->token)) {
        free(c->key);
        wipe_free(c->secret);
        wipe_free(c->token);
        return err_fail(why, whylen, "out of memory"), SM_ENOMEM;
    }
    ncreds++;
    return SM_OK;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

typedef struct section {
    char name[128];
    int line;
    char *key, *secret, *token; /* borrowed from the file's text */
} section;

static int section_end(const section *s, const char *path, char *why, size_t whylen)
{
    char where[1200];
    if (!s->line) return SM_OK;
    snprintf(where, sizeof where, "%s: [%s] (line %d)", path, s->name, s->line);
    if (!s->key && !s->secret) return SM_OK; /* a profile without keys (role, region...) */
    if (!s->key)
        return err_fail(why, whylen, "%s: aws_secret_access_key without aws_access_key_id", where);
    if (!s->secret)
        return err_fail(why, whylen, "%s: aws_access_key_id %s has no aws_secret_access_key", where,
                        s->key);
    return add(s->key, s->secret, s->token, where, why, whylen);
}

/* Parses the text of a credentials file (modified in place). */
static int parse_file(char *text, const char *path, char *why, size_t whylen)
{
    section s = {0};
    int lineno = 0, rc = SM_OK;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#' || *l == ';') continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (!end || *trim(end + 1))
                return err_fail(why, whylen, "%s: line %d: expected [section]", path, lineno);
            if ((rc = section_end(&s, path, why, whylen)) != SM_OK) return rc;
            memset(&s, 0, sizeof s);
            *end = 0;
            snprintf(s.name, sizeof s.name, "%s", trim(l + 1));
            s.line = lineno;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) return err_fail(why, whylen, "%s: line %d: expected key = value", path, lineno);
        if (!s.line)
            return err_fail(why, whylen, "%s: line %d: a key before any [section]", path, lineno);
        *eq = 0;
        char *k = trim(l), *v = trim(eq + 1);
        if (strcasecmp(k, "aws_access_key_id") == 0)
            s.key = v;
        else if (strcasecmp(k, "aws_secret_access_key") == 0)
            s.secret = v;
        else if (strcasecmp(k, "aws_session_token") == 0 ||
                 strcasecmp(k, "aws_security_token") == 0)
            s.token = v;
    }
    return section_end(&s, path, why, whylen);
}

static int load_file(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return err_fail(why, whylen, "%s: cannot open the credentials file", path);
    char *text = malloc(MAX_FILE + 1);
    size_t n = text ? fread(text, 1, MAX_FILE + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    int rc;
    if (!text) {
        err_fail(why, whylen, "out of memory");
        rc = SM_ENOMEM;
    } else if (err)
        rc = err_fail(why, whylen, "%s: cannot read the credentials file", path);
    else if (n > (size_t)MAX_FILE)
        rc = err_fail(why, whylen, "%s: larger than %ld bytes", path, MAX_FILE);
    else {
        text[n] = 0;
        rc = strlen(text) != n ? err_fail(why, whylen, "%s: contains a NUL byte", path)
                               : parse_file(text, path, why, whylen);
    }
    if (text) OPENSSL_cleanse(text, n);
    free(text);
    return rc;
}

int auth_init(const char *path, char *why, size_t whylen)
{
    auth_free();
    int rc = path ? load_file(path, why, whylen) : SM_OK;
    const char *key = getenv(ENV_KEY), *secret = getenv(ENV_SECRET), *token = getenv(ENV_TOKEN);
    key = key && *key ? key : NULL;
    secret = secret && *secret ? secret : NULL;
    if (rc == SM_OK && (key || secret || (token && *token))) {
        if (!key || !secret)
            rc = err_fail(why, whylen, "%s and %s must be set together (%s only with them)",
                          ENV_KEY, ENV_SECRET, ENV_TOKEN);
        else
            rc = add(key, secret, token, "the environment", why, whylen);
    }
    if (rc == SM_OK && ncreds == 0)
        rc = err_fail(why, whylen,
                      "--auth sigv4 needs at least one access key: --credentials FILE (AWS "
                      "credentials format) or %s and %s",
                      ENV_KEY, ENV_SECRET);
    if (rc != SM_OK) auth_free();
    return rc;
}

/* ------------------------------------------------------------------------ the gate hook */

static int lookup(void *ctx, const char *key, const char **secret, const char **token)
{
    (void)ctx;
    const cred *c = find(key);
    if (!c) return 0;
    *secret = c->secret;
    *token = c->token;
    return 1;
}

static const char *no_header(void *ctx, const char *name)
{
    (void)ctx, (void)name;
    return NULL;
}

/* The transport hands over the decoded path; the clients signed it percent-encoded (and then
 * encoded it once more), so encode it back the way they sent it. '/' stays. */
static char *wire_path(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-_.~/", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return out;
}

/* awsQuery services (STS, IAM) answer refused signatures with their own codes, status 403
 * (status from reply.c's table): the awsJson names mean nothing to their clients. */
static const char *query_code(const char *code)
{
    static const struct {
        const char *json, *query;
    } codes[] = {{SIGV4_MISSING, "MissingAuthenticationToken"},
                 {SIGV4_INCOMPLETE, "IncompleteSignature"},
                 {SIGV4_INVALID, "SignatureDoesNotMatch"},
                 {SIGV4_UNRECOGNIZED, "InvalidClientTokenId"}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i].json) == 0) return codes[i].query;
    return code;
}

/* Refused: the AWS error in the request's protocol. */
static int refused(sm_req *r, const sigv4_result *res)
{
    /* The message may echo the client's own session token (in the canonical request) back
     * to it, as AWS does; it is never logged. */
    log_msg(LOG_DEBUG, "req=%s SigV4 refused: %s (access key %s)", r->request_id, res->code,
            res->access_key_id[0] ? res->access_key_id : "-");
    return reply_error(r, r->protocol == PROTO_QUERY ? query_code(res->code) : res->code, "%s",
                       res->message);
}

int auth_check(sm_req *r)
{
    sigv4_result res = {0};
    int rc;
    if (cfg.auth != CFG_AUTH_SIGV4) {
        /* Nothing is verified, but the region still comes from a well-formed credential
         * only: a malformed or repeated one is refused as --auth sigv4 would refuse it. */
        rc = sigv4_scope(r->authorization, &res);
        if (rc == SM_OK) snprintf(r->region, sizeof r->region, "%s", res.region);
        if (rc == SM_ERR && res.code) refused(r, &res);
        if (rc == SM_ENOMEM) reply_error(r, "InternalFailure", "Out of memory.");
        sigv4_result_free(&res);
        return rc == SM_OK ? SM_OK : SM_ERR;
    }
    char *path = wire_path(r->path ? r->path : "/");
    sigv4_input in = {
        .method = r->method,
        .path = path,
        .query = r->query ? r->query : "",
        .header = r->header ? r->header : no_header,
        .header_ctx = r->transport,
        .body = r->body,
        .body_len = r->body_len,
        .now_ms = r->wall_ms, /* the wall clock: the simulated one never decides expiry */
        .service = r->service ? r->service->signing_name : "sagemaker",
        .creds = lookup,
    };
    rc = path ? sigv4_verify(&in, &res) : SM_ENOMEM;
    free(path);
    if (rc == SM_OK) {
        /* The region is the verified scope's, never one read elsewhere in the header. */
        snprintf(r->region, sizeof r->region, "%s", res.region);
        sigv4_result_free(&res);
        return SM_OK;
    }
    if (rc == SM_ERR && res.code) {
        refused(r, &res);
    } else {
        reply_error(r, "InternalFailure", "Out of memory while verifying the signature.");
    }
    sigv4_result_free(&res);
    return SM_ERR;
}

/* ------------------------------------------------------------------------ the admin token */

static const char *request_header(const sm_req *r, const char *name)
{
    return r->header ? r->header(r->transport, name) : NULL;
}

int auth_admin_check(sm_req *r)
{
    if (!cfg.admin_token) return SM_OK;
    const char *auth = r->authorization, *given = request_header(r, "X-Sagemock-Admin-Token");
    if (!given && auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        given = auth + 7;
        while (*given == ' ')
            given++;
    }
    if (given && sigv4_equal(given, cfg.admin_token)) return SM_OK;
    return reply_admin_error(r, 401,
                             given ? "the admin token is not valid"
                                   : "the admin API needs a token: send 'Authorization: Bearer "
                                     "<token>' or 'X-Sagemock-Admin-Token: <token>'");
}
