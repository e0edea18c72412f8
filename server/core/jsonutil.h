/*
 * jsonutil.h: the few cJSON getters every module needs, in one place.
 *
 * All borrow: the results live as long as the object they came from. A member of the wrong
 * JSON type reads as absent.
 */
#ifndef SM_JSONUTIL_H
#define SM_JSONUTIL_H

#include <cjson/cJSON.h>

/* o.name when it is a string, else NULL. */
const char *json_string(const cJSON *o, const char *name);
/* o.name when it is a number, else `dflt`. */
double json_number(const cJSON *o, const char *name, double dflt);
/* o.name when it is an object (or array, for json_array), else NULL. */
const cJSON *json_object(const cJSON *o, const char *name);
const cJSON *json_array(const cJSON *o, const char *name);
/* o.name is JSON true. */
int json_true(const cJSON *o, const char *name);

/* Append s as a JSON string, escaped byte for byte as cJSON prints it (for bodies written as
 * text that must equal what a cJSON tree would print). */
struct strbuf;
void json_put_string(struct strbuf *b, const char *s);
/* Append d as cJSON prints a number (null when not finite). */
void json_put_number(struct strbuf *b, double d);

#endif
