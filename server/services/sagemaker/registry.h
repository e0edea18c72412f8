/*
 * registry.h: the scenarios and rules a process knows, and how a new job's scenario is chosen.
 *
 * Built-in scenarios come from fixtures/builtin-scenarios.json (embedded at build time);
 * fixture files add user scenarios (a name may be redefined, a built-in one may not) and
 * rules. Readers take a shared lock; a fixture load stages everything in a reg_batch and
 * commits it at once, so a request never sees half a fixture document.
 *
 * A job's scenario, first match wins: the tag sagemock:scenario on CreateTrainingJob; the
 * first rule whose match holds (rules in load order); the default scenario.
 */
#ifndef SM_REGISTRY_H
#define SM_REGISTRY_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define REG_SCENARIO_TAG "sagemock:scenario"
#define REG_NAME_MAX 64

/* Set the default scenario's name (checked by reg_check_default once fixtures are in). */
void reg_set_default(const char *name);
/* 0 when the default scenario exists, else SM_ENOTFOUND with a reason in err. */
int reg_check_default(char *err, size_t errlen);
void reg_free(void);
/* Drop every user scenario and rule (built-ins stay). */
void reg_reset(void);

/* Choose the scenario of a new job from its (validated) CreateTrainingJob request. On success
 * name gets the scenario's name and *json a malloc'd copy of its JSON text (the caller owns
 * it). SM_ENOTFOUND with a message in err when the tag names no scenario. */
int reg_choose(const cJSON *request, char name[REG_NAME_MAX], char **json, char *err,
               size_t errlen);
/* A malloc'd copy of the named scenario's JSON text, or NULL. */
char *reg_scenario_json(const char *name);
/* {"defaultScenario":..., "scenarios":[{...,"builtin":bool}], "rules":[...]}; caller owns. */
cJSON *reg_to_json(void);

/* Staging for one fixture document. */
typedef struct reg_batch reg_batch;
reg_batch *reg_batch_new(void);
void reg_batch_free(reg_batch *b);
/* Resolve a scenario name against the batch, then the registry; borrowed JSON object or NULL
 * (valid while the batch lives). */
const cJSON *reg_batch_scenario(reg_batch *b, const char *name);
/* Whether `name` is a built-in scenario. */
int reg_is_builtin(const char *name);
/* Add a scenario (takes ownership of `scenario`, a complete scenario object). */
int reg_batch_add_scenario(reg_batch *b, cJSON *scenario, int builtin);
/* Add a rule (takes ownership of `rule`: {"match": {...}, "scenario": name}). */
int reg_batch_add_rule(reg_batch *b, cJSON *rule);
/* reg_choose as if the batch were already committed (its rules after the registry's). */
int reg_batch_choose(reg_batch *b, const cJSON *request, char name[REG_NAME_MAX], char **json,
                     char *err, size_t errlen);
/* Move the batch's scenarios and rules into the registry (frees the batch). */
void reg_batch_commit(reg_batch *b);

/* Whether `rule` (a {"match": ...} object) matches the request. Exposed for tests. */
int reg_rule_matches(const cJSON *match, const cJSON *request);

#endif
