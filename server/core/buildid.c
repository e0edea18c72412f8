/*
 * buildid.c: what identifies this build of sagemock (see buildid.h).
 */
#define _GNU_SOURCE
#include "buildid.h"
#include "config.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char id[96];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The GNU build-id note of the program itself (the first object dl_iterate_phdr reports). */
static int from_note(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *n;
            const unsigned char *desc = name + ((n->n_namesz + 3) & ~3u);
            if (desc + n->n_descsz > end) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
                size_t k = (size_t)snprintf(id, sizeof id, "%s-", SAGEMOCK_VERSION);
                for (unsigned j = 0; j < n->n_descsz && k + 3 <= sizeof id; j++, k += 2)
                    snprintf(id + k, sizeof id - k, "%02x", desc[j]);
                return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    return 1; /* the program comes first: stop after it */
}

static void find(void)
{
    dl_iterate_phdr(from_note, NULL);
    if (!id[0]) snprintf(id, sizeof id, "%s %s %s", SAGEMOCK_VERSION, __DATE__, __TIME__);
}

const char *build_id(void)
{
    pthread_once(&once, find);
    return id;
}
