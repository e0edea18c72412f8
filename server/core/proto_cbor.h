/*
 * proto_cbor.h: the smithy-rpc-v2-cbor protocol (CloudWatch's first choice), both ways, with
 * libcbor doing the CBOR.
 *
 * Requests are `POST /service/<service>/operation/<Operation>` with `smithy-protocol:
 * rpc-v2-cbor` and a CBOR body (application/cbor). rpcv2_decode() turns the body into the same
 * cJSON input an awsJson request would give, typed by the operation's input shape: a
 * structure is a map with text keys (members the shape lacks are ignored, null members are
 * absent), lists are arrays (null elements dropped), maps are maps with text keys; integers
 * and longs become JSON numbers, floats and doubles likewise (NaN and the infinities as the
 * strings "NaN", "Infinity", "-Infinity", as awsJson carries them), booleans true/false,
 * timestamps (tag 1 over an integer or a float of epoch seconds; an untagged number is
 * accepted) epoch-second numbers, blobs (byte strings) base64 text. A value of another CBOR
 * type than its shape wants is kept with its own JSON type (a containers as an empty one), so
 * the model validation reports it (SerializationException). An empty body is an empty input.
 *
 * Before libcbor builds anything, the body is walked once with its streaming decoder: it must
 * be exactly one well-formed data item, nested at most RPCV2_MAX_DEPTH deep, whose arrays and
 * maps do not announce more elements than bytes remain (so a 5-byte body cannot make libcbor
 * allocate gigabytes), with text strings of valid UTF-8 without NUL.
 *
 * Replies: rpcv2_encode() renders a handler's cJSON output by the operation's output shape as
 * a CBOR map (definite lengths; members in the model's order; JSON null, absent members and
 * members the shape lacks are left out), integers as CBOR integers, doubles as 64-bit floats,
 * timestamps as tag 1 over integer epoch seconds (a float when there is a fraction), blobs as
 * byte strings. rpcv2_encode_error() renders {"__type": <type>, "message": <message>}.
 * Responses carry `smithy-protocol: rpc-v2-cbor` and Content-Type application/cbor (reply.c).
 */
#ifndef SM_PROTO_CBOR_H
#define SM_PROTO_CBOR_H

#include "model.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define CBOR_CONTENT_TYPE "application/cbor"
#define RPCV2_PROTOCOL "rpc-v2-cbor" /* the smithy-protocol header's value */
#define RPCV2_MAX_DEPTH 64

/* Decode a CBOR body into a new cJSON object shaped by input shape `shape` of `m` (NULL: an
 * operation without input, which takes an empty map). Returns 0 with *out (caller owns),
 * SM_EINVAL with the reason in err (not CBOR, not one map, too deep...), or SM_ENOMEM. */
int rpcv2_decode(const sm_model *m, const char *shape, const char *body, size_t len, cJSON **out,
                 char *err, size_t errlen);

/* The CBOR body of output `out` (may be NULL: an empty map) by output shape `shape` of `m`
 * (NULL: an empty map). Returns 0 with a malloc'd *buf of *len bytes, or SM_ENOMEM. */
int rpcv2_encode(const sm_model *m, const char *shape, const cJSON *out, unsigned char **buf,
                 size_t *len);

/* The CBOR error body {"__type": type, "message": message}. 0 or SM_ENOMEM. */
int rpcv2_encode_error(const char *type, const char *message, unsigned char **buf, size_t *len);

/* Whether `path` is "/service/<service>/operation/<Operation>" (after any base path): the
 * service in svc (svclen bytes) and the operation in op, both copied; 0 when not. */
int rpcv2_path(const char *path, char *svc, size_t svclen, char *op, size_t oplen);

#endif
