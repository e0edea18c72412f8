/*
 * sigv4.c: AWS Signature Version 4 verification (see sigv4.h).
 *
 * Pure: no I/O, no clock reads, no globals; everything arrives through sigv4_input. The checks
 * run in the order Coral services use (spec §6.3), each refusal with the real code and text:
 *
 *   1. a presigned query ('X-Amz-Algorithm') and an Authorization header together  -> Invalid
 *   2. no Authorization, or not "AWS4-..."                                          -> Missing
 *   3. a part that is not key=value, or a part given twice; Credential, Signature,
 *      SignedHeaders, and a X-Amz-Date or Date header present (all missing ones in one
 *      message)                                                                     -> Incomplete
 *   4. the date in ISO-8601 basic format (or an HTTP date in Date)                  -> Incomplete
 *   5. the date within 15 minutes of the wall clock, either way                     -> Invalid
 *   6. 'host' among the signed headers                                              -> Invalid
 *   7. the algorithm is AWS4-HMAC-SHA256                                            -> Incomplete
 *   8. the credential has exactly 5 '/'-separated parts (trailing '/' ignored)      -> Incomplete
 *   9. region, service, terminator and date of the scope (all in one message)       -> Invalid
 *  10. the access key id is known                                                   -> Unrecognized
 *  11. the signature matches (the message shows the expected canonical request and
 *      string to sign, as AWS does)                                                 -> Invalid
 *  12. x-amz-content-sha256, when sent, is the SHA-256 of the body                  -> Invalid
 *  13. the session token is the one the key was issued with (none if it has none)   -> Unrecognized
 *
 * The canonical request follows botocore and the JS SDK for every service but S3: the path
 * with dot segments and repeated slashes removed, URI-encoded once more; the query's pairs
 * decoded, re-encoded and sorted; each signed header's value trimmed with inner runs of
 * whitespace collapsed; the payload hash from x-amz-content-sha256 when sent, else SHA-256 of
 * the body. Presigned (query-string) requests are not supported: SageMaker's clients never
 * send them, so one without an Authorization header is "missing authentication".
 *
 * The header's parts are separated by commas and white space, as Coral splits them (spec
 * §6.1: a space inside the credential makes its tail "not a valid key=value pair"). A part
 * given twice is refused (our text: AWS's is not known), so that no reader of the header can
 * take another Credential than the one verified; the verified scope is handed back
 * (sigv4_result.region), and it is the only region a request may act on.
 *
 * Only 'host' must be signed (step 6), as on AWS: X-Amz-Target need not be. A Coral service
 * accepts a request whose other x-amz-* headers are unsigned (S3 alone refuses them,
 * "HeadersNotSigned"), and clients rely on it: botocore, the CLI and the JS SDK sign
 * x-amz-target, tools such as awscurl sign only host and x-amz-date.
 */
#include "sigv4.h"
#include "strbuf.h"
#include "errors.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ string builder */

/* ------------------------------------------------------------------------ encoding */

static const char hexdig[] = "0123456789ABCDEF";

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static void put_encoded_byte(strbuf *b, unsigned char c)
{
    if (unreserved(c)) {
        sb_putc(b, (char)c);
        return;
    }
    char e[3] = {'%', hexdig[c >> 4], hexdig[c & 15]};
    sb_putn(b, e, 3);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* URI-encode s[0..n) as-is (every byte but the unreserved ones). */
static void put_encoded(strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_encoded_byte(b, (unsigned char)s[i]);
}

/* Decode %XX escapes of a query component, then URI-encode the result. */
static void put_reencoded(strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        put_encoded_byte(b, c);
    }
}

static void tohex(const unsigned char *d, size_t n, char *out)
{
    static const char lower[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = lower[d[i] >> 4];
        out[2 * i + 1] = lower[d[i] & 15];
    }
    out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data ? data : (const void *)"", len, md);
    tohex(md, sizeof md, hex);
}

int sigv4_equal(const char *a, const char *b)
{
    unsigned char ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)a, strlen(a), ha);
    SHA256((const unsigned char *)b, strlen(b), hb);
    return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

/* ------------------------------------------------------------------------ canonical request */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Path: RFC 3986 dot segments removed and repeated slashes collapsed (botocore's
 * remove_dot_segments), each segment URI-encoded. */
static void canonical_uri(strbuf *b, const char *path)
{
    size_t len = path ? strlen(path) : 0, nseg = 1, k = 0;
    if (len == 0) {
        sb_putc(b, '/');
        return;
    }
    for (size_t i = 0; i < len; i++)
        nseg += path[i] == '/';
    struct span {
        const char *p;
        size_t n;
    } *seg = malloc(nseg * sizeof *seg);
    if (!seg) {
        b->oom = 1;
        return;
    }
    for (const char *p = path;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (k) k--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            seg[k].p = p;
            seg[k++].n = n;
        }
        if (!e) break;
        p = e + 1;
    }
    size_t before = b->len;
    if (path[0] == '/') sb_putc(b, '/');
    for (size_t i = 0; i < k; i++) {
        if (i) sb_putc(b, '/');
        put_encoded(b, seg[i].p, seg[i].n);
    }
    if (path[len - 1] == '/' && k) sb_putc(b, '/');
    if (b->len == before) sb_putc(b, '/');
    free(seg);
}

typedef struct qpair {
    char *k, *v;
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *reencoded(const char *s, size_t n)
{
    strbuf t = {0};
    put_reencoded(&t, s, n);
    return sb_take(&t);
}

/* Query: pairs decoded and encoded again, sorted by key then value, joined by '&'. */
static void canonical_query(strbuf *b, const char *query)
{
    if (!query || !*query) return;
    size_t np = 1, k = 0;
    for (const char *p = query; *p; p++)
        np += *p == '&';
    qpair *pairs = calloc(np, sizeof *pairs);
    if (!pairs) {
        b->oom = 1;
        return;
    }
    for (const char *p = query;;) {
        size_t n = strcspn(p, "&");
        if (n) {
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            pairs[k].k = reencoded(p, kn);
            pairs[k].v = eq ? reencoded(eq + 1, n - kn - 1) : strdup("");
            if (!pairs[k].k || !pairs[k].v) b->oom = 1;
            k++;
        }
        if (!p[n]) break;
        p += n + 1;
    }
    if (!b->oom) {
        qsort(pairs, k, sizeof *pairs, qpair_cmp);
        for (size_t i = 0; i < k; i++) {
            if (i) sb_putc(b, '&');
            sb_puts(b, pairs[i].k);
            sb_putc(b, '=');
            sb_puts(b, pairs[i].v);
        }
    }
    for (size_t i = 0; i < k; i++) {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
}

/* A header value with leading and trailing whitespace removed and inner runs collapsed. */
static void put_trimmed(strbuf *b, const char *v)
{
    int pending = 0, started = 0;
    for (; v && *v; v++) {
        if (is_space(*v)) {
            pending = started;
            continue;
        }
        if (pending) sb_putc(b, ' ');
        pending = 0;
        started = 1;
        sb_putc(b, *v);
    }
}

static void put_lower(strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        sb_putc(b, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
}

char *sigv4_canonical_request(const char *method, const char *path, const char *query,
                              const char *signed_headers, sigv4_header_fn header, void *ctx,
                              const char *payload_hash)
{
    strbuf b = {0}, name = {0};
    sb_puts(&b, method);
    sb_putc(&b, '\n');
    canonical_uri(&b, path);
    sb_putc(&b, '\n');
    canonical_query(&b, query);
    sb_putc(&b, '\n');
    for (const char *p = signed_headers; p && *p;) {
        size_t n = strcspn(p, ";");
        name.len = 0;
        put_lower(&name, p, n);
        if (name.oom) b.oom = 1;
        if (!b.oom && name.p) {
            sb_puts(&b, name.p);
            sb_putc(&b, ':');
            put_trimmed(&b, header(ctx, name.p));
            sb_putc(&b, '\n');
        }
        p += n;
        if (*p) p++;
    }
    free(name.p);
    sb_putc(&b, '\n');
    if (signed_headers) put_lower(&b, signed_headers, strlen(signed_headers));
    sb_putc(&b, '\n');
    sb_puts(&b, payload_hash);
    return sb_take(&b);
}

char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request)
{
    char hash[65];
    sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash);
    strbuf b = {0};
    sb_puts(&b, SIGV4_ALGORITHM "\n");
    sb_puts(&b, amz_date);
    sb_putc(&b, '\n');
    sb_puts(&b, scope);
    sb_putc(&b, '\n');
    sb_puts(&b, hash);
    return sb_take(&b);
}

static int hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &n) &&
                   n == 32
               ? SM_OK
               : SM_ERR;
}

int sigv4_signing_key(const char *secret, const char *date8, const char *region,
                      const char *service, unsigned char key[32])
{
    size_t sl = strlen(secret);
    unsigned char *k0 = malloc(sl + 4), a[32], b[32];
    if (!k0) return SM_ERR;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl);
    int rc = hmac(k0, sl + 4, date8, a) == SM_OK && hmac(a, 32, region, b) == SM_OK &&
                     hmac(b, 32, service, a) == SM_OK && hmac(a, 32, SIGV4_TERMINATOR, key) == SM_OK
                 ? SM_OK
                 : SM_ERR;
    OPENSSL_cleanse(k0, sl + 4);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    free(k0);
    return rc;
}

int sigv4_signature(const unsigned char key[32], const char *string_to_sign, char hex[65])
{
    unsigned char md[32];
    if (hmac(key, 32, string_to_sign, md) != SM_OK) return SM_ERR;
    tohex(md, sizeof md, hex);
    return SM_OK;
}

/* ------------------------------------------------------------------------ dates */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* epoch seconds -> "YYYYMMDDTHHMMSSZ" */
static void format_amz_date(int64_t t, char out[17])
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400, s = t - z * 86400;
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d%02u%02uT%02d%02d%02dZ", (int)(y % 10000), m, d, (int)(s / 3600),
             (int)(s / 60 % 60), (int)(s % 60));
    memcpy(out, tmp, 16);
    out[16] = 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

static int civil_ok(int y, int mo, int d, int h, int mi, int s)
{
    return mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) && h < 24 && mi < 60 &&
           s < 60 && h >= 0 && mi >= 0 && s >= 0;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int sigv4_parse_amz_date(const char *s, int64_t *epoch_s)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return SM_EINVAL;
    int y = digits(s, 4), mo = digits(s + 4, 2), d = digits(s + 6, 2), h = digits(s + 9, 2),
        mi = digits(s + 11, 2), sec = digits(s + 13, 2);
    if (y < 0 || !civil_ok(y, mo, d, h, mi, sec)) return SM_EINVAL;
    *epoch_s = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    return SM_OK;
}

/* An HTTP date in the Date header, "Sun, 06 Nov 1994 08:49:37 GMT" (botocore writes the zone
 * as "-0000"), -> epoch seconds. */
static int parse_http_date(const char *s, int64_t *epoch_s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4] = {0}, zone[6] = {0};
    int d, y, h, mi, sec, used = 0;
    const char *comma = strchr(s, ',');
    if (comma) s = comma + 1;
    if (sscanf(s, " %2d %3s %4d %2d:%2d:%2d %5s%n", &d, mon, &y, &h, &mi, &sec, zone, &used) != 7 ||
        s[used] != 0 ||
        (strcmp(zone, "GMT") && strcmp(zone, "UTC") && strcmp(zone, "+0000") &&
         strcmp(zone, "-0000")))
        return SM_EINVAL;
    const char *m = strstr(months, mon);
    if (!m || strlen(mon) != 3 || (m - months) % 3) return SM_EINVAL;
    int mo = (int)(m - months) / 3 + 1;
    if (y < 1970 || !civil_ok(y, mo, d, h, mi, sec)) return SM_EINVAL;
    *epoch_s = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    return SM_OK;
}

/* ------------------------------------------------------------------------ verification */

#define MSG_MISSING "Request is missing Authentication Token"
#define MSG_BOTH                                                                                   \
    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
#define MSG_HOST "'Host' must be a 'SignedHeader' in the AWS Authorization."
#define MSG_UNKNOWN_KEY "The security token included in the request is invalid."
#define MSG_BAD_TOKEN "The security token included in the request is invalid"
#define MSG_PAYLOAD "The provided 'x-amz-content-sha256' header does not match what was computed."
#define MSG_SIGNATURE                                                                              \
    "The request signature we calculated does not match the signature you provided. Check "        \
    "your AWS Secret Access Key and signing method. Consult the service documentation for "        \
    "details.\n\nThe Canonical String for this request should have been\n'%s'\n\nThe "             \
    "String-to-Sign should have been\n'%s'\n"

static int refuse(sigv4_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(sigv4_result *res, const char *code, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    free(res->message);
    res->message = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (res->message) vsnprintf(res->message, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (!res->message) return SM_ENOMEM;
    res->code = code;
    return SM_ERR;
}

/* The parts of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
typedef struct auth_parts {
    char *buf; /* owned: the header after the algorithm, cut into the pieces below */
    char algorithm[64];
    const char *credential, *signed_headers, *signature;
    const char *not_kv;    /* the first part without '=' */
    const char *duplicate; /* the name of the first part given twice */
} auth_parts;

static int parse_authorization(const char *auth, auth_parts *ap)
{
    while (is_space(*auth))
        auth++;
    size_t an = 0;
    while (auth[an] && !is_space(auth[an]))
        an++;
    snprintf(ap->algorithm, sizeof ap->algorithm, "%.*s", (int)an, auth);
    if (!(ap->buf = strdup(auth + an))) return SM_ENOMEM;
    static const char *const names[] = {"Credential", "SignedHeaders", "Signature"};
    for (char *save = NULL, *part = strtok_r(ap->buf, ", \t\r\n\v\f", &save); part;
         part = strtok_r(NULL, ", \t\r\n\v\f", &save)) {
        char *eq = strchr(part, '=');
        if (!eq) {
            if (!ap->not_kv) ap->not_kv = part;
            continue;
        }
        *eq = 0;
        const char **slot[] = {&ap->credential, &ap->signed_headers, &ap->signature};
        for (int i = 0; i < 3; i++) {
            if (strcmp(part, names[i]) != 0) continue;
            if (*slot[i] && !ap->duplicate) ap->duplicate = names[i];
            *slot[i] = eq + 1;
        }
    }
    return SM_OK;
}

/* Whether the raw query has a parameter named `name`. */
static int query_has(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len >= n && strncmp(p, name, n) == 0 && (len == n || p[n] == '=')) return 1;
        p += len;
        if (*p) p++;
    }
    return 0;
}

static int header_listed(const char *signed_headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = signed_headers; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && strncasecmp(p, name, n) == 0) return 1;
        p += len;
        if (*p) p++;
    }
    return 0;
}

static int region_ok(const char *r)
{
    size_t n = strlen(r);
    return n >= 1 && n <= SIGV4_REGION_MAX &&
           strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Steps 3 and 4: the parts and the date. Fills amz_date and t. */
static int check_parts(const sigv4_input *in, const char *auth, const auth_parts *ap,
                       sigv4_result *res, char amz_date[17], int64_t *t)
{
    if (ap->not_kv)
        return refuse(res, SIGV4_INCOMPLETE,
                      "'%s' not a valid key=value pair (missing equal-sign) in Authorization "
                      "header: '%s'.",
                      ap->not_kv, auth);
    if (ap->duplicate)
        return refuse(res, SIGV4_INCOMPLETE,
                      "Authorization header has more than one '%s' parameter: '%s'.", ap->duplicate,
                      auth);
    const char *xdate = in->header(in->header_ctx, "x-amz-date");
    const char *date = in->header(in->header_ctx, "date");
    if (!ap->credential || !*ap->credential || !ap->signature || !*ap->signature ||
        !ap->signed_headers || !*ap->signed_headers || !(xdate || date))
        return refuse(res, SIGV4_INCOMPLETE, "%s%s%s%sAuthorization=%s",
                      ap->credential && *ap->credential
                          ? ""
                          : "Authorization header requires 'Credential' parameter. ",
                      ap->signature && *ap->signature
                          ? ""
                          : "Authorization header requires 'Signature' parameter. ",
                      ap->signed_headers && *ap->signed_headers
                          ? ""
                          : "Authorization header requires 'SignedHeaders' parameter. ",
                      xdate || date ? ""
                                    : "Authorization header requires existence of either a "
                                      "'X-Amz-Date' or a 'Date' header. ",
                      auth);
    int ok = xdate ? sigv4_parse_amz_date(xdate, t)
                   : (parse_http_date(date, t) == SM_OK ? SM_OK : sigv4_parse_amz_date(date, t));
    if (ok != SM_OK)
        return refuse(res, SIGV4_INCOMPLETE,
                      "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                      "http://en.wikipedia.org/wiki/ISO_8601",
                      xdate ? xdate : date);
    format_amz_date(*t, amz_date);
    return SM_OK;
}

/* Step 8: the credential's five parts (a trailing '/' ignored), pointers into cred, which it
 * cuts. */
static int split_credential(const auth_parts *ap, char *cred, sigv4_result *res, char *part[5])
{
    size_t n = strlen(cred);
    while (n && cred[n - 1] == '/')
        cred[--n] = 0;
    int count = 1;
    for (size_t i = 0; i < n; i++)
        count += cred[i] == '/';
    if (count != 5)
        return refuse(res, SIGV4_INCOMPLETE,
                      "Credential must have exactly 5 slash-delimited elements, e.g. "
                      "keyid/date/region/service/term, got '%s'",
                      ap->credential);
    part[0] = cred;
    for (int i = 1; i < 5; i++) {
        part[i] = strchr(part[i - 1], '/');
        *part[i]++ = 0;
    }
    return SM_OK;
}

#define MSG_REGION "Credential should be scoped to a valid region, not '%.100s'. "

/* Steps 5 to 9: the time window, host, algorithm, credential and scope. Fills the scope
 * pieces (pointers into cred, which it cuts). */
static int check_scope(const sigv4_input *in, const auth_parts *ap, char *cred,
                       const char *amz_date, int64_t t, sigv4_result *res, char *part[5])
{
    int64_t now = in->now_ms / 1000;
    char a[17], b[17];
    if (t < now - SIGV4_WINDOW_S) {
        format_amz_date(now - SIGV4_WINDOW_S, a);
        format_amz_date(now, b);
        return refuse(res, SIGV4_INVALID,
                      "Signature expired: %s is now earlier than %s (%s - 15 min.)", amz_date, a,
                      b);
    }
    if (t > now + SIGV4_WINDOW_S) {
        format_amz_date(now + SIGV4_WINDOW_S, a);
        format_amz_date(now, b);
        return refuse(res, SIGV4_INVALID,
                      "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                      amz_date, a, b);
    }
    if (!header_listed(ap->signed_headers, "host")) return refuse(res, SIGV4_INVALID, MSG_HOST);
    if (strcmp(ap->algorithm, SIGV4_ALGORITHM) != 0)
        return refuse(res, SIGV4_INCOMPLETE,
                      "Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ",
                      ap->algorithm);

    int rc = split_credential(ap, cred, res, part);
    if (rc != SM_OK) return rc;
    int bad_region = !region_ok(part[2]), bad_service = strcmp(part[3], in->service) != 0,
        bad_term = strcmp(part[4], SIGV4_TERMINATOR) != 0,
        bad_date = strlen(part[1]) != 8 || strncmp(part[1], amz_date, 8) != 0;
    if (bad_region || bad_service || bad_term || bad_date) {
        char region[200] = "", service[200] = "", term[200] = "", date[200];
        if (bad_region) snprintf(region, sizeof region, MSG_REGION, part[2]);
        if (bad_service)
            snprintf(service, sizeof service,
                     "Credential should be scoped to correct service: '%.100s'. ", in->service);
        if (bad_term)
            snprintf(term, sizeof term,
                     "Credential should be scoped with a valid terminator: '" SIGV4_TERMINATOR
                     "', not '%.100s'. ",
                     part[4]);
        if (bad_date)
            snprintf(date, sizeof date,
                     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                     "date from HTTP: '%.40s' != '%.8s', from '%s'.",
                     part[1], amz_date, amz_date);
        else
            date[0] = 0;
        return refuse(res, SIGV4_INVALID, "%s%s%s%s", region, service, term, date);
    }
    return SM_OK;
}

/* Steps 11 to 13, once the key is known. */
static int check_signature(const sigv4_input *in, const auth_parts *ap, char *const part[5],
                           const char *amz_date, const char *secret, const char *token,
                           sigv4_result *res)
{
    char body_hash[65], expected[65], scope[256];
    sigv4_sha256_hex(in->body, in->body_len, body_hash);
    /* The clients that send x-amz-content-sha256 sign its value as the payload hash. */
    const char *content_sha = in->header(in->header_ctx, "x-amz-content-sha256");
    res->canonical_request =
        sigv4_canonical_request(in->method, in->path, in->query, ap->signed_headers, in->header,
                                in->header_ctx, content_sha ? content_sha : body_hash);
    if (!res->canonical_request) return SM_ENOMEM;
    snprintf(scope, sizeof scope, "%s/%s/%s/%s", part[1], part[2], part[3], part[4]);
    res->string_to_sign = sigv4_string_to_sign(amz_date, scope, res->canonical_request);
    if (!res->string_to_sign) return SM_ENOMEM;
    unsigned char key[32];
    int rc = sigv4_signing_key(secret, part[1], part[2], part[3], key);
    if (rc == SM_OK) rc = sigv4_signature(key, res->string_to_sign, expected);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != SM_OK) return SM_ENOMEM;

    if (strlen(ap->signature) != 64 || CRYPTO_memcmp(expected, ap->signature, 64) != 0)
        return refuse(res, SIGV4_INVALID, MSG_SIGNATURE, res->canonical_request,
                      res->string_to_sign);
    if (content_sha && strcmp(content_sha, body_hash) != 0)
        return refuse(res, SIGV4_INVALID, MSG_PAYLOAD);
    const char *sent_token = in->header(in->header_ctx, "x-amz-security-token");
    if ((token || sent_token) && !(token && sent_token && sigv4_equal(token, sent_token)))
        return refuse(res, SIGV4_UNRECOGNIZED, MSG_BAD_TOKEN);
    return SM_OK;
}

int sigv4_verify(const sigv4_input *in, sigv4_result *res)
{
    memset(res, 0, sizeof *res);
    const char *auth = in->header(in->header_ctx, "authorization");
    if (auth && query_has(in->query, "X-Amz-Algorithm"))
        return refuse(res, SIGV4_INVALID, MSG_BOTH);
    while (auth && is_space(*auth))
        auth++;
    if (!auth || strncmp(auth, "AWS4-", 5) != 0) return refuse(res, SIGV4_MISSING, MSG_MISSING);

    auth_parts ap = {0};
    char amz_date[17], *cred = NULL, *part[5] = {0};
    int64_t t = 0;
    int rc = parse_authorization(auth, &ap);
    if (rc == SM_OK) rc = check_parts(in, auth, &ap, res, amz_date, &t);
    if (rc == SM_OK) rc = (cred = strdup(ap.credential)) ? SM_OK : SM_ENOMEM;
    if (rc == SM_OK) rc = check_scope(in, &ap, cred, amz_date, t, res, part);
    if (rc == SM_OK) {
        const char *secret = NULL, *token = NULL;
        snprintf(res->access_key_id, sizeof res->access_key_id, "%s", part[0]);
        if (!in->creds(in->creds_ctx, part[0], &secret, &token) || !secret)
            rc = refuse(res, SIGV4_UNRECOGNIZED, MSG_UNKNOWN_KEY);
        else
            rc = check_signature(in, &ap, part, amz_date, secret, token, res);
    }
    if (rc == SM_OK) snprintf(res->region, sizeof res->region, "%s", part[2]);
    free(cred);
    free(ap.buf);
    return rc;
}

int sigv4_scope(const char *auth, sigv4_result *res)
{
    memset(res, 0, sizeof *res);
    while (auth && is_space(*auth))
        auth++;
    if (!auth || strncmp(auth, "AWS4-", 5) != 0) return SM_OK;
    auth_parts ap = {0};
    char *cred = NULL, *part[5] = {0};
    int rc = parse_authorization(auth, &ap);
    if (rc == SM_OK && ap.not_kv)
        rc = refuse(res, SIGV4_INCOMPLETE,
                    "'%s' not a valid key=value pair (missing equal-sign) in Authorization "
                    "header: '%s'.",
                    ap.not_kv, auth);
    else if (rc == SM_OK && ap.duplicate)
        rc = refuse(res, SIGV4_INCOMPLETE,
                    "Authorization header has more than one '%s' parameter: '%s'.", ap.duplicate,
                    auth);
    if (rc == SM_OK && ap.credential) {
        rc = (cred = strdup(ap.credential)) ? split_credential(&ap, cred, res, part) : SM_ENOMEM;
        if (rc == SM_OK && !region_ok(part[2]))
            rc = refuse(res, SIGV4_INVALID, MSG_REGION, part[2]);
        if (rc == SM_OK) {
            snprintf(res->region, sizeof res->region, "%s", part[2]);
            snprintf(res->access_key_id, sizeof res->access_key_id, "%s", part[0]);
        }
    }
    free(cred);
    free(ap.buf);
    return rc;
}

void sigv4_result_free(sigv4_result *res)
{
    free(res->message);
    free(res->canonical_request);
    free(res->string_to_sign);
    res->message = res->canonical_request = res->string_to_sign = NULL;
}
