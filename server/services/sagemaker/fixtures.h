/*
 * fixtures.h: fixture documents: scenarios, rules, seed jobs and faults, from files at start
 * (--fixtures, files or folders) and from the admin API at run time.
 *
 * A document is applied whole or not at all: everything is parsed and checked first (seed
 * requests as CreateTrainingJob would check them), then the seed jobs go in one transaction,
 * then the scenarios, rules and faults are published. A refusal names the source, line,
 * column and reason. Loads and resets are serialised.
 */
#ifndef SM_FIXTURES_H
#define SM_FIXTURES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The built-in scenarios (embedded fixtures/builtin-scenarios.json). */
extern const char builtin_scenarios_json[];

/* Load the built-ins, then every --fixtures path, remembering them for reset; then check the
 * default scenario. 0, or SM_EINVAL with the reason in err. */
int fx_init(int64_t now_ms, char *err, size_t errlen);

/* Apply one document from text. On success *summary (caller owns) counts what was loaded. */
int fx_load_text(const char *text, size_t len, const char *source, int64_t now_ms, cJSON **summary,
                 char *err, size_t errlen);

/* Back to the start-up state: no jobs, the start-up fixtures applied again relative to now,
 * faults and run-time scenarios and rules dropped. */
int fx_reset(int64_t now_ms, char *err, size_t errlen);

#endif
