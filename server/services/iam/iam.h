/*
 * iam.h: the IAM roles sagemock knows about. Every role name exists (in the configured
 * account) unless a fixture declares it missing ("iam": {"missingRoles": [glob, ...]}), so
 * tests of code that resolves role names can take both paths.
 */
#ifndef SM_IAM_H
#define SM_IAM_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Check a fixture's "iam" object: 0, or SM_EINVAL with the JSON path of the fault ("iam.
 * missingRoles[2]") and the reason. */
int iam_fixture_check(const cJSON *iam, char *path, size_t pathlen, char *why, size_t whylen);
/* Add its missing-role globs (after the whole document was checked). */
int iam_fixture_apply(const cJSON *iam);
/* Forget every missing-role glob (admin reset). */
void iam_reset(void);
/* The globs as a JSON array (caller owns). */
cJSON *iam_to_json(void);

#endif
