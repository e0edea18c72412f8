/*
 * tcache.h: one object per thread, made on first use and freed when its thread exits.
 *
 * The caches that spare a worker repeated work (parsed scenarios, rendered logs, formatted
 * numbers, match data...) are per thread: only their thread ever touches them, so they need
 * no lock. Each is a static tcache naming the object's size (zeroed when made) and the
 * function that frees one thread's object and what it owns.
 */
#ifndef SM_TCACHE_H
#define SM_TCACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct tcache {
    size_t size;
    void (*free_fn)(void *);
    pthread_key_t key; /* made on first use */
    atomic_int ready;
} tcache;

#define TCACHE(size_, free_fn_)                                                                    \
    {                                                                                              \
        .size = (size_), .free_fn = (free_fn_)                                                     \
    }

/* This thread's object, or NULL when it cannot be made (out of memory). */
void *tcache_get(tcache *c);

#endif
