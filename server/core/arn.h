/*
 * arn.h: Amazon Resource Names, for every service: arn:<partition>:<service>:<region>:
 * <account>:<resource>, with the partition of the region and the configured account.
 */
#ifndef SM_ARN_H
#define SM_ARN_H

#include <stddef.h>

/* "aws", "aws-cn", "aws-us-gov", "aws-iso" or "aws-iso-b", from the region's prefix. */
const char *arn_partition(const char *region);

/* Write the ARN of `resource` (copied as is) into out; region "" for global services (IAM).
 * The partition comes from `partition_region` (for a global service, the caller's region).
 * Returns the length written (cut to outlen - 1). */
size_t arn_format(char *out, size_t outlen, const char *partition_region, const char *service,
                  const char *region, const char *resource);

/* A deterministic AWS-style unique id: `prefix` ("AIDA", "AROA") then 17 characters of
 * [A-Z2-7] derived from `seed`, as IAM's ids look. out needs prefix length + 18 bytes. */
void arn_unique_id(char *out, size_t outlen, const char *prefix, const char *seed);

#endif
