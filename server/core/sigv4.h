/*
 * sigv4.h: AWS Signature Version 4 verification (spec §6), as a pure function.
 *
 * Pure: no I/O, no clock, no globals. The caller passes the request, a header lookup, the wall
 * clock's now and a credentials lookup; sigv4_verify() answers OK or the AWS error code and
 * exact text the real service gives, in the order of spec §6.3. The building blocks
 * (canonical request, string to sign, signing key, signature) are exported for the unit tests,
 * which prove them against AWS's published examples and against requests signed by boto3,
 * botocore and the JavaScript SDK v3.
 *
 * Secrets: the secret access key is only ever an HMAC key here; the derived key is wiped after
 * use. Signatures, session tokens and admin tokens are compared in constant time.
 */
#ifndef SM_SIGV4_H
#define SM_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_WINDOW_S (15 * 60) /* a signature is good 15 minutes either side of now */
#define SIGV4_REGION_MAX 25      /* longest region name accepted in a credential scope */

/* The error codes sigv4_verify() answers with (all HTTP 400 on the real service). */
#define SIGV4_MISSING "MissingAuthenticationTokenException"
#define SIGV4_INCOMPLETE "IncompleteSignatureException"
#define SIGV4_INVALID "InvalidSignatureException"
#define SIGV4_UNRECOGNIZED "UnrecognizedClientException"

/* One request header by lower-case name (the lookup is case-insensitive), or NULL when absent.
 * A header sent several times is one value, its parts joined by ','. */
typedef const char *(*sigv4_header_fn)(void *ctx, const char *name);

/* The secret (and the session token that must come with it, or NULL) of an access key id.
 * Returns 1 when the key is known, 0 otherwise. The strings are borrowed. */
typedef int (*sigv4_creds_fn)(void *ctx, const char *access_key_id, const char **secret,
                              const char **session_token);

typedef struct sigv4_input {
    const char *method;
    const char *path;  /* as sent on the wire, percent-encoding intact */
    const char *query; /* raw query string after '?', "" when none */
    sigv4_header_fn header;
    void *header_ctx;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t now_ms;      /* the WALL clock, never the simulated one */
    const char *service; /* the scope's service, "sagemaker" */
    sigv4_creds_fn creds;
    void *creds_ctx;
} sigv4_input;

typedef struct sigv4_result {
    const char *code; /* NULL when authentic, else one of SIGV4_MISSING... */
    char *message;    /* owned: the exact error text */
    /* Owned, once the signature has been computed (NULL before): what the server expected. */
    char *canonical_request;
    char *string_to_sign;
    char access_key_id[129]; /* once parsed (for the access log; never a secret) */
    /* The region of the credential scope, once verified (sigv4_verify returned SM_OK) or
     * read (sigv4_scope); "" otherwise. The only region a request may act on. */
    char region[SIGV4_REGION_MAX + 1];
} sigv4_result;

/* Verifies one request. Returns SM_OK (res->code NULL, res->region the verified scope's),
 * SM_ERR (refused: res->code and res->message set) or SM_ENOMEM. Always call
 * sigv4_result_free() afterwards. */
int sigv4_verify(const sigv4_input *in, sigv4_result *res);
/* Without verification (--auth none): the region of an Authorization header's credential
 * scope, read as sigv4_verify reads it. SM_OK with res->region ("" when the header is absent,
 * not AWS4-..., or has no Credential); SM_ERR with res->code and res->message when it is
 * malformed as sigv4_verify would refuse it first: a part that is not key=value, a part given
 * twice, a credential without exactly 5 parts (IncompleteSignatureException) or an invalid
 * region (InvalidSignatureException); SM_ENOMEM. Call sigv4_result_free() afterwards. */
int sigv4_scope(const char *authorization, sigv4_result *res);
void sigv4_result_free(sigv4_result *res);

/* The canonical request of spec §6.2 step 1; `signed_headers` is the SignedHeaders value
 * (';'-separated names) and `payload_hash` the hex SHA-256 that ends it. Returns a malloc'd
 * string (the caller frees it) or NULL when out of memory. */
char *sigv4_canonical_request(const char *method, const char *path, const char *query,
                              const char *signed_headers, sigv4_header_fn header, void *ctx,
                              const char *payload_hash);
/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex SHA-256 of the canonical request>"; malloc'd,
 * NULL when out of memory. `scope` is "<yyyymmdd>/<region>/<service>/aws4_request". */
char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request);
/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 * Returns SM_OK or SM_ERR. */
int sigv4_signing_key(const char *secret, const char *date8, const char *region,
                      const char *service, unsigned char key[32]);
/* hex HMAC-SHA256(key, string_to_sign). Returns SM_OK or SM_ERR. */
int sigv4_signature(const unsigned char key[32], const char *string_to_sign, char hex[65]);
/* Lower-case hex SHA-256 of data. */
void sigv4_sha256_hex(const void *data, size_t len, char hex[65]);
/* 1 when a and b are equal, in time that depends on neither (both are hashed first). */
int sigv4_equal(const char *a, const char *b);
/* "YYYYMMDDTHHMMSSZ" -> epoch seconds. Returns SM_OK or SM_EINVAL. */
int sigv4_parse_amz_date(const char *s, int64_t *epoch_s);

#endif
