/*
 * arn.c: ARNs and IAM-style unique ids (see arn.h).
 */
#include "arn.h"
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *arn_partition(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0) return "aws-cn";
    if (strncmp(region, "us-gov-", 7) == 0) return "aws-us-gov";
    if (strncmp(region, "us-isob-", 8) == 0) return "aws-iso-b";
    if (strncmp(region, "us-iso-", 7) == 0) return "aws-iso";
    return "aws";
}

size_t arn_format(char *out, size_t outlen, const char *partition_region, const char *service,
                  const char *region, const char *resource)
{
    int n = snprintf(out, outlen, "arn:%s:%s:%s:%s:%s", arn_partition(partition_region), service,
                     region, cfg.account_id, resource);
    if (n < 0) return 0;
    return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

void arn_unique_id(char *out, size_t outlen, const char *prefix, const char *seed)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint64_t h = 1469598103934665603u; /* FNV-1a, stirred per character */
    for (const char *p = seed; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    size_t n = (size_t)snprintf(out, outlen, "%s", prefix);
    for (int i = 0; i < 17 && n + 1 < outlen; i++) {
        h = (h ^ (uint64_t)i) * 1099511628211u;
        out[n++] = alphabet[(h >> 27) & 31];
    }
    if (n < outlen) out[n] = 0;
}
