/*
 * model.h: the official SageMaker service model, embedded in the binary at build time.
 *
 * model_load() parses the embedded JSON once at start-up and compiles every pattern of the
 * shapes it holds (Java regular expressions, rewritten for PCRE2 and anchored to the whole
 * value). After that the model is read-only and shared by every thread without locks.
 */
#ifndef SM_MODEL_H
#define SM_MODEL_H

#include <cjson/cJSON.h>

int model_load(void); /* 0 or SM_ERR (prints nothing; model_error() says why) */
const char *model_error(void);
void model_free(void);

/* The raw embedded service-2.json text (NUL-terminated). */
extern const char model_service_json[];

/* The shape object ({"type": ..., "members": ...}) named `name`, or NULL. Borrowed. */
const cJSON *model_shape(const char *name);
/* The operation object named `op` ("CreateTrainingJob"), or NULL. Borrowed. */
const cJSON *model_operation(const char *op);
/* Input/output shape names of an operation, or NULL (no output). */
const char *model_input_shape(const char *op);
const char *model_output_shape(const char *op);

/* Whole-value match of `s` against the pattern of shape `shape_name` (1 match, 0 no, -1 no
 * pattern). */
int model_pattern_match(const char *shape_name, const char *s);

#endif
