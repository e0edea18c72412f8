/*
 * proto_query.h: the awsQuery protocol (STS, IAM, CloudWatch's older clients), both ways.
 *
 * Requests are `application/x-www-form-urlencoded` bodies, `Action=GetRole&Version=2010-05-08&
 * RoleName=x`. query_decode() turns the parameters into the same cJSON input an awsJson request
 * would give, typed by the operation's input shape: structures by "A.B", lists as
 * "L.member.N" (or "L.N" for members marked "flattened"; N from 1), maps as
 * "M.entry.N.key"/"M.entry.N.value" (or the locationName the model gives), integers and longs
 * as JSON numbers, booleans as true/false, timestamps as epoch-second numbers (ISO 8601 or
 * epoch seconds accepted), strings as they are. A value that does not parse as its type is
 * kept as a string, so the model validation reports it (SerializationException).
 *
 * Replies are XML: query_encode() renders a handler's cJSON output by the operation's output
 * shape inside <OpResponse xmlns=...><OpResult>...</OpResult><ResponseMetadata><RequestId>
 * (wrapper from the model's resultWrapper), lists as <member> elements, maps as <entry><key>
 * <value>, timestamps as ISO 8601 UTC with milliseconds, booleans as true/false; every text is
 * escaped (& < > " ' and control characters as numeric references; characters XML 1.0 cannot
 * hold are replaced by U+FFFD). query_encode_error() renders
 * <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/>.
 */
#ifndef SM_PROTO_QUERY_H
#define SM_PROTO_QUERY_H

#include "model.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define QUERY_CONTENT_TYPE "text/xml"

/* The Action and Version parameters of a form body (percent-decoded, copied). Either is ""
 * when absent. Returns 0, or SM_EINVAL when the body is not a well-formed form (bad percent
 * escape) or a value does not fit. */
int query_action(const char *body, size_t len, char *action, size_t alen, char *version,
                 size_t vlen);

/* Decode a form body into a new cJSON object shaped by input shape `shape` of `m` (shape may be
 * NULL: an operation without input; then only Action/Version may appear). Action and Version
 * are not copied into the result; parameters the shape does not know are ignored. Returns 0
 * with *out (caller owns), SM_EINVAL with a reason in err (malformed form, an index that is not
 * a positive integer, more than 1000 list elements), or SM_ENOMEM. */
int query_decode(const sm_model *m, const char *shape, const char *body, size_t len, cJSON **out,
                 char *err, size_t errlen);

/* The XML reply of operation `op` of `m` for output `out` (may be NULL: empty result).
 * `xmlns` is the model's xmlNamespace. Returns a malloc'd NUL-terminated text, or NULL when out
 * of memory. */
char *query_encode(const sm_model *m, const char *op, const cJSON *out, const char *xmlns,
                   const char *request_id);

/* The XML error body. sender: 1 for <Type>Sender</Type>, 0 for Receiver. xmlns may be NULL
 * (then the element carries none). Returns a malloc'd text or NULL. */
char *query_encode_error(const char *code, const char *message, int sender, const char *xmlns,
                         const char *request_id);

/* Escape `s` for XML text and attribute content into a malloc'd string (NULL when out of
 * memory); invalid UTF-8 bytes become U+FFFD. */
char *xml_escape(const char *s);

#endif
