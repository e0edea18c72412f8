/*
 * token.c: NextToken encoding (see token.h).
 *
 * Wire form: base64url(payload) "." base64url(first 16 bytes of HMAC-SHA256(secret, payload)).
 * Comparison of MACs is constant-time.
 */
#include "token.h"
#include "errors.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define MAC_LEN 16

static unsigned char secret[64];
static size_t secret_len;

void tok_set_secret(const unsigned char *s, size_t len)
{
    if (len > sizeof secret) len = sizeof secret;
    memcpy(secret, s, len);
    secret_len = len;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = b64[v & 63];
    }
    out[o] = 0;
    return o;
}

/* Returns the decoded length, or -1 on a character outside the alphabet or a bad length. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    if (n % 4 == 1) return -1;
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64, in[i]);
        if (!in[i] || !p) return -1;
        v = (v << 6) | (unsigned)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == outlen) return -1;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    if (v & ((1u << bits) - 1)) return -1; /* canonical only: unused bits must be zero */
    return (long)o;
}

static int mac(const char *payload, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    if (!secret_len) return SM_EINVAL;
    return HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)payload, n, out,
                &len) &&
                   len == 32
               ? SM_OK
               : SM_EINVAL;
}

int tok_encode(const char *payload, char *out, size_t outlen)
{
    size_t n = strlen(payload);
    unsigned char m[32];
    if (n > TOKEN_PAYLOAD_MAX || outlen < (n + 2) / 3 * 4 + 1 + 24 + 1 || mac(payload, n, m))
        return SM_EINVAL;
    size_t o = b64_encode((const unsigned char *)payload, n, out);
    out[o++] = '.';
    b64_encode(m, MAC_LEN, out + o);
    return SM_OK;
}

int tok_decode(const char *token, char *out, size_t outlen)
{
    const char *dot = strchr(token, '.');
    if (!dot || strlen(token) > TOKEN_MAX) return SM_EINVAL;
    unsigned char given[MAC_LEN + 2], want[32];
    long n = b64_decode(token, (size_t)(dot - token), (unsigned char *)out, outlen - 1);
    if (n < 0 || b64_decode(dot + 1, strlen(dot + 1), given, sizeof given) != MAC_LEN)
        return SM_EINVAL;
    out[n] = 0;
    if (strlen(out) != (size_t)n || mac(out, (size_t)n, want) ||
        CRYPTO_memcmp(given, want, MAC_LEN) != 0) {
        out[0] = 0;
        return SM_EINVAL;
    }
    return SM_OK;
}
