/*
 * admin.h: the admin API under /_sagemock/ (JSON in and out): health, clock, reset.
 *
 * It is not part of SageMaker and no SageMaker operation uses its prefix. Errors are
 * {"error": text} with 400 (bad input), 404 (unknown path) or 405 (wrong method).
 */
#ifndef SM_ADMIN_H
#define SM_ADMIN_H

#include "req.h"

void admin_dispatch(sm_req *r);

#endif
