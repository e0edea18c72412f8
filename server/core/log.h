/*
 * log.h: one access line per request, and the few messages the process itself prints.
 *
 * Lines go to stderr, as text or JSON (--log-format). Authorization headers, secrets and
 * request bodies are never logged.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include "config.h"
#include "req.h"

void log_access(const sm_req *r, double duration_ms);
void log_msg(cfg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
