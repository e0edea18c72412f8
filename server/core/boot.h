/*
 * boot.h: the state a process restores at start-up and an admin reset restores again: the
 * simulated clock (persisted in the store) and the NextToken secret.
 */
#ifndef SM_BOOT_H
#define SM_BOOT_H

#include "clock.h"

/* Restore the clock from the store (or anchor it at the wall clock), applying --clock-rate
 * when it was given. */
int boot_clock_init(void);
/* Persist the clock (after an admin change). */
int boot_clock_save(const sm_clock *c);
/* Load (or create and keep) the secret that signs NextTokens. */
int boot_secret_init(void);

#endif
