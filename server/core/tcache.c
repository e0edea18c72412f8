/*
 * tcache.c: per-thread objects (see tcache.h).
 */
#include "tcache.h"

#include <stdlib.h>

void *tcache_get(tcache *c)
{
    if (!atomic_load_explicit(&c->ready, memory_order_acquire)) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&lock);
        if (!atomic_load_explicit(&c->ready, memory_order_relaxed) &&
            pthread_key_create(&c->key, c->free_fn) == 0)
            atomic_store_explicit(&c->ready, 1, memory_order_release);
        pthread_mutex_unlock(&lock);
        if (!atomic_load_explicit(&c->ready, memory_order_acquire)) return NULL;
    }
    void *p = pthread_getspecific(c->key);
    if (p) return p;
    if ((p = calloc(1, c->size)) && pthread_setspecific(c->key, p) != 0) {
        free(p);
        p = NULL;
    }
    return p;
}
