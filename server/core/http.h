/*
 * http.h: the HTTP transport; the only file that knows libmicrohttpd.
 *
 * It gathers each request (body capped at cfg.max_body), fills an sm_req, hands it to the
 * admin API (paths under /_sagemock/) or to the SageMaker gate, and sends the reply with the
 * headers every response carries (x-amzn-RequestId, Date, Content-Type).
 */
#ifndef SM_HTTP_H
#define SM_HTTP_H

/* Start listening on cfg.host:cfg.port with a thread pool; *bound_port receives the port. */
int http_start(int *bound_port);
void http_stop(void);

#endif
