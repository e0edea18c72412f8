/*
 * sagemaker.h: the SageMaker service value (service.c) and its model, for the parts of the
 * service that read the model directly (Describe's member order, seed-job validation).
 */
#ifndef SM_SAGEMAKER_H
#define SM_SAGEMAKER_H

#include "service.h"

extern const sm_service svc_sagemaker;

/* The SageMaker model, loaded at start-up (services_load). */
const sm_model *sagemaker_model(void);

#endif
