/*
 * gate.h: the gate that every AWS API request passes, whatever its service and protocol.
 *
 * The gate routes the request to a service and an operation (service.h), then checks once
 * what every operation shares, in the order the real services do: method and content type,
 * the target or action, the body size, the body's decoding, the signature, injected faults,
 * the model's constraints. Then it takes the request's one timestamp and region and calls the
 * handler, inside a store transaction when the operation writes. Handlers never check those
 * things again, and never know which protocol the request came in.
 */
#ifndef SM_GATE_H
#define SM_GATE_H

#include "req.h"

/* Run one API request through the gate and its handler; always leaves a reply in r, except
 * when it sets r->group: the write then waits for the next group commit (group.c), and the
 * transport hands r to group_submit(), or to gate_write() when that refuses. */
void gate_dispatch(sm_req *r);

/* The write of r (an OP_WRITE request that passed the gate) in its own transaction. */
void gate_write(sm_req *r);
/* The writes of n such requests in one transaction, in order, each handler in its own
 * savepoint: a refused request undoes its own writes alone; when the transaction fails, every
 * request is answered an error (ServiceUnavailable when the store stayed busy, else
 * InternalFailure), none success. Replies are in each request. */
void gate_write_group(sm_req **rs, int n);

#endif
