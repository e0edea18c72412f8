/*
 * faults.h: API-level failures injected on purpose, for testing SDK retry code.
 *
 * A fault matches a service ("sagemaker" unless it says, "*" for any), an operation of it ("*"
 * for any) and optionally a job-name glob (the request's subject), and either
 * answers with an error (ThrottlingException 400 "Rate exceeded", InternalFailure 500,
 * ServiceUnavailable 503) a number of times or with a probability, or adds latency, or both.
 * Faults are checked by the gate after routing and before validation, as a real front end
 * throttles before it looks at the body. Probabilities draw from a seeded generator, so a
 * run is repeatable.
 */
#ifndef SM_FAULTS_H
#define SM_FAULTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The most faults the table holds (an admin POST or a fixture past it is refused), and the
 * most latency one request gets, whatever number of faults match it. */
#define FAULT_MAX 1000
#define FAULT_MAX_LATENCY_MS 60000

/* Parse one fault object; 0 or SM_EINVAL with "field: reason" in err. *out gets a
 * normalised copy (caller owns). */
int fault_parse(const cJSON *in, cJSON **out, char *err, size_t errlen);
/* Add normalised faults (takes ownership of the array's items): all of them, or none and
 * SM_EINVAL when the table would hold more than FAULT_MAX. */
int fault_add_all(cJSON *faults);
/* Faults in the table. */
int fault_count(void);
void fault_clear(void);
/* The faults with their remaining counts and hits; caller owns. */
cJSON *fault_to_json(void);

/* For a request: the error code of the first matching error fault that fires (its count
 * spent), or NULL; *delay_ms (may be NULL) gets the latency to add before the reply: the sum of
 * every matching fault's, at most FAULT_MAX_LATENCY_MS. Never sleeps. */
const char *fault_check(const char *service, const char *operation, const char *job_name,
                        int *delay_ms);
/* The message that goes with a fault's error code. */
const char *fault_message(const char *code);

#endif
