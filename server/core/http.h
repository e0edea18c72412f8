/*
 * http.h: the HTTP transport; the only file that knows libmicrohttpd.
 *
 * It gathers each request (body capped at cfg.max_body), fills an sm_req, hands it to the
 * admin API (paths under /_sagemock/) or to the SageMaker gate, and sends the reply with the
 * headers every response carries (x-amzn-RequestId, Date, Content-Type). A reply the gate
 * marked with an injected latency (sm_req.delay_ms) is held without holding a worker: the
 * connection is suspended and a timer thread resumes it when the latency is over.
 */
#ifndef SM_HTTP_H
#define SM_HTTP_H

/* Start listening on cfg.host:cfg.port with a thread pool; *bound_port receives the port. */
int http_start(int *bound_port);
/* Stop: replies held for an injected latency are sent at once (a stop never waits them out),
 * then the daemon stops after the requests in flight. */
void http_stop(void);

#endif
