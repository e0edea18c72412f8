/*
 * ops.h: the operation table and the gate that every SageMaker API request passes.
 *
 * The gate checks once what every operation shares, in the order the real service does:
 * method and content type, the X-Amz-Target, the body size, the JSON, the model's constraints.
 * Then it takes the request's one timestamp and region and calls the handler. Handlers never
 * check those things again.
 */
#ifndef SM_OPS_H
#define SM_OPS_H

#include "req.h"

typedef int (*op_handler)(sm_req *r);

typedef struct op_entry {
    const char *target; /* "SageMaker.DescribeTrainingJob" */
    op_handler handler;
    int flags;
} op_entry;

#define OP_WRITE 1 /* mutates the store */

/* Look an X-Amz-Target up in the sorted table (binary search); NULL when unknown. */
const op_entry *ops_lookup(const char *target);
/* Run one API request through the gate and its handler; always leaves a reply in r. */
void ops_dispatch(sm_req *r);

/* The handlers (handlers_*.c). */
int h_add_tags(sm_req *r);
int h_create_training_job(sm_req *r);
int h_delete_tags(sm_req *r);
int h_delete_training_job(sm_req *r);
int h_describe_training_job(sm_req *r);
int h_list_tags(sm_req *r);
int h_list_training_jobs(sm_req *r);
int h_stop_training_job(sm_req *r);
int h_update_training_job(sm_req *r);

#endif
