/*
 * validate.h: generic validation of requests (and responses) against the service model.
 *
 * One walk over the model's input shape produces every error the way Coral words them:
 *   "2 validation errors detected: Value 'x' at 'trainingJobName' failed to satisfy
 *    constraint: Member must satisfy regular expression pattern: ...; Value ..."
 * Wrong JSON types are not validation errors but serialization errors, as on the real service.
 * Only the cross-field rules live by their handlers; nothing here knows an operation by name.
 */
#ifndef SM_VALIDATE_H
#define SM_VALIDATE_H

#include <cjson/cJSON.h>

#include "model.h"

enum {
    VAL_OK = 0,
    VAL_SERIALIZATION = 1, /* a member has the wrong JSON type: SerializationException */
    VAL_VALIDATION = 2     /* constraints failed: ValidationException */
};

/*
 * Validate `input` (a JSON object) against shape `shape_name` of model `m`. Returns VAL_OK, or
 * VAL_SERIALIZATION / VAL_VALIDATION with *message set to a malloc'd text the caller frees.
 * Returns SM_ENOMEM on allocation failure. Unknown members are ignored, as Coral does.
 * Timestamps accept JSON numbers (integer or fractional) and numeric strings.
 */
int val_input(const sm_model *m, const char *shape_name, const cJSON *input, char **message);

/* Whether `value`, as member `member` of shape `shape_name`, passes val_input's checks of that
 * member (1), or not, or memory ran out (0: val_input of the whole input then says why). A
 * request equal to one val_input passed, but for the value of one member, passes val_input
 * exactly when its value of that member passes here: the walk checks members one by one. */
int val_member_ok(const sm_model *m, const char *shape_name, const char *member,
                  const cJSON *value);

/*
 * Check a response body against an output shape with amazonka's strictness: every required
 * member present at every depth, no null, right JSON types, enum values in the model, no
 * member the model lacks. Returns 0, or 1 with *problem set (malloc'd: "path: problem").
 */
int val_output(const sm_model *m, const char *shape_name, const cJSON *output, char **problem);

#endif
