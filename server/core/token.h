/*
 * token.h: opaque, tamper-evident NextToken strings for ListTrainingJobs and ListTags.
 *
 * A token carries a small payload (the keyset position, and what it was made for) and an
 * HMAC-SHA256 over it with a secret kept in the store, so tokens survive restarts and a token
 * that was altered, truncated, or made for another query is refused. Pure apart from the
 * secret set once at start-up.
 */
#ifndef SM_TOKEN_H
#define SM_TOKEN_H

#include <stddef.h>

#define TOKEN_MAX 1024
#define TOKEN_PAYLOAD_MAX 512

/* Set the process-wide secret (any length >= 16 bytes). */
void tok_set_secret(const unsigned char *secret, size_t len);

/* Encode `payload` (text) into out (NUL-terminated). 0, or SM_EINVAL when too long. */
int tok_encode(const char *payload, char *out, size_t outlen);
/* Decode and verify; 0 with the payload in out, or SM_EINVAL for any bad token. */
int tok_decode(const char *token, char *out, size_t outlen);

#endif
