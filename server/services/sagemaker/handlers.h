/*
 * handlers.h: the SageMaker training-job handlers (handlers_*.c), one per operation of the
 * table in service.c. Each decodes r->input (already validated by the gate), calls the store
 * and the engine, and replies with reply_json()/reply_error().
 */
#ifndef SM_SAGEMAKER_HANDLERS_H
#define SM_SAGEMAKER_HANDLERS_H

#include "req.h"

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
