/*
 * auth.h: who may call sagemock: SigV4 for the AWS APIs (--auth sigv4) and a bearer
 * token for the admin API (--admin-token).
 *
 * The credentials are loaded once at start-up (auth_init, from cfg_parse) and are read-only
 * afterwards, so the worker threads share them without locks. Secrets are never logged or
 * printed, not even in start-up errors; access key ids may be.
 */
#ifndef SM_AUTH_H
#define SM_AUTH_H

#include "req.h"

#include <stddef.h>

/* Loads the credentials: the file at `path` (may be NULL) in the AWS shared-credentials format,
 * plus SAGEMOCK_ACCESS_KEY_ID / SAGEMOCK_SECRET_ACCESS_KEY / SAGEMOCK_SESSION_TOKEN. On failure
 * writes the reason to why and returns SM_EINVAL (or SM_ENOMEM). At least one key is needed. */
int auth_init(const char *path, char *why, size_t whylen);
/* Number of access keys loaded. */
size_t auth_key_count(void);
/* Forgets (and wipes) every credential. */
void auth_free(void);

/* The gate's hook for every AWS API: with --auth sigv4, verifies the request's signature
 * (spec §6) on the wall clock and sets r->region to the verified scope's region. With --auth
 * none, sets r->region to the region of the Authorization header's credential when it has one,
 * and refuses a malformed or repeated credential as sigv4 would. Returns SM_OK (r->region ""
 * when there is no credential: the caller uses --region), or replies the AWS error
 * (reply_error) and returns SM_ERR; the caller then just returns. */
int auth_check(sm_req *r);

/* The admin API's guard: when --admin-token is set, the request must carry
 * `Authorization: Bearer <token>` or `X-Sagemock-Admin-Token: <token>`; otherwise replies 401
 * {"error": ...} and returns SM_ERR. Without --admin-token: SM_OK. */
int auth_admin_check(sm_req *r);

#endif
