/*
 * boot.c: restoring the clock and the token secret (see boot.h).
 */
#include "boot.h"
#include "config.h"
#include "errors.h"
#include "token.h"
#include "store.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define CLOCK_KEY "clock"
#define SECRET_KEY "token_secret"

int boot_clock_save(const sm_clock *c)
{
    char v[128];
    snprintf(v, sizeof v, "%" PRId64 " %" PRId64 " %.17g %" PRId64, c->anchor_sim_ms,
             c->anchor_wall_ms, c->rate, c->floor_ms);
    return store_meta_put(CLOCK_KEY, v);
}

int boot_clock_init(void)
{
    int64_t wall = clock_wall_ms();
    sm_clock c = {wall, wall, cfg.clock_rate, wall};
    char v[128];
    int rc = store_meta_get(CLOCK_KEY, v, sizeof v);
    if (rc == SM_OK) {
        sm_clock saved;
        if (sscanf(v, "%" SCNd64 " %" SCNd64 " %lf %" SCNd64, &saved.anchor_sim_ms,
                   &saved.anchor_wall_ms, &saved.rate, &saved.floor_ms) == 4 &&
            saved.rate >= 0 && saved.rate <= CLOCK_MAX_RATE) {
            c = saved;
            /* The time a restart took passes at the saved rate; the rate itself is kept
             * unless --clock-rate says otherwise. */
            if (cfg.clock_rate_set) clock_set_rate(&c, wall, cfg.clock_rate);
        }
    } else if (rc != SM_ENOTFOUND) {
        return rc;
    }
    c.floor_ms = clock_at(&c, wall) > c.floor_ms ? clock_at(&c, wall) : c.floor_ms;
    clock_global_init(&c);
    return boot_clock_save(&c);
}

int boot_secret_init(void)
{
    char hex[129];
    unsigned char secret[32];
    int rc = store_meta_get(SECRET_KEY, hex, sizeof hex);
    if (rc != SM_OK && rc != SM_ENOTFOUND) return rc; /* unreadable: never replace it */
    if (rc == SM_OK && strlen(hex) == 64) {
        for (int i = 0; i < 32; i++) {
            unsigned b;
            if (sscanf(hex + 2 * i, "%2x", &b) != 1) return SM_EINVAL;
            secret[i] = (unsigned char)b;
        }
    } else {
        if (RAND_bytes(secret, sizeof secret) != 1) return SM_ERR;
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", secret[i]);
        if (store_meta_put(SECRET_KEY, hex) != SM_OK) return SM_ESTORE;
    }
    tok_set_secret(secret, sizeof secret);
    return SM_OK;
}
