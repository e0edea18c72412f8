"""A tiny recording HTTP proxy between a real AWS client and sagemock: it forwards every request
and response byte for byte (bodies and headers, only hop-by-hop headers rewritten), and every
SageMaker response (`X-Amz-Target: SageMaker.<Operation>`) that passes through it is recorded as
(operation, status, body) and checked at once by

* the strict decoder (strict_decoder.py: amazonka-like decodability), and
* the conformance checker (../conformance.py: model constraints and response headers).

Problems are kept as strings "strict: Operation: path: problem" / "conformance: ...".
Admin calls (`/_sagemock/...`) are forwarded but not recorded.

Responses of the other services (CloudWatch Logs `Logs_20140328.*`, STS and IAM form bodies) and
of unserved calls (REST requests such as S3's) are routed as sagemock routes them
(ConformanceChecker.route) and checked by the conformance checker against their own model, or
the error shape of their protocol; the strict decoder and the recording file are SageMaker's
only. They count in the report as "<service>:<Operation>" ("unserved:..." when not served).

In Python (the AWS CLI suite): `RecordingProxy(server_url, client="aws-cli").start()`, then
`.url`, `.take()`, `.records`, `.stop()`.

As a process (the JavaScript suite):
    python3 recproxy.py --upstream http://127.0.0.1:PORT [--client NAME] [--record FILE.jsonl]
prints `recproxy: listening on http://127.0.0.1:PORT` and serves until its stdin closes or it
gets SIGTERM. Its own endpoints: `GET /_recproxy/report` (responses seen, counts per
operation, problems) and `POST /_recproxy/take` (the problems since the last take, cleared).
"""

import base64
import collections
import http.client
import json
import os
import signal
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (_HERE, os.path.dirname(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from conformance import ConformanceChecker  # noqa: E402
from strict_decoder import decoder  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length"}


class RecordingProxy:
    def __init__(self, upstream_url, client="?", record_path=None, conformance=True):
        u = urllib.parse.urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port)
        self.client = client
        self.record_path = record_path
        self.decoder = decoder()
        self.conformance = ConformanceChecker() if conformance else None
        self.records = []  # dicts: client, operation, status, body (bytes)
        self.others = []  # the same, for the other services and unserved calls
        self._router = self.conformance or ConformanceChecker()
        self.counts = collections.Counter()  # operation -> responses
        self._violations = []
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.url = None

    # ------------------------------------------------------------------ checks
    def _check(self, operation, status, headers, body):
        problems = []
        _, errs = self.decoder.decode_response(operation, status, body)
        problems += [f"strict: {e}" for e in errs]
        if self.conformance is not None:
            v, _ = self.conformance.check_response(operation, status, headers, body, record=False)
            problems += [f"conformance: {x}" for x in v]
        rec = {"client": self.client, "operation": operation, "status": status, "body": body}
        with self._lock:
            self.records.append(rec)
            self.counts[operation or "?"] += 1
            self._violations.extend(problems)
            if self.record_path:
                with open(self.record_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"client": self.client, "operation": operation,
                                        "status": status,
                                        "body_b64": base64.b64encode(body).decode()}) + "\n")

    def _check_other(self, req_headers, req_body, status, headers, body, path=None):
        """A response of another service (or of an unserved call): conformance only. The path
        routes smithy-rpc-v2-cbor requests (/service/<prefix>/operation/<Op>)."""
        svc, op, proto = self._router.route(req_headers, req_body, path)
        problems = []
        if self.conformance is not None:
            v, _ = self.conformance.check_service_response(svc, op, status, headers, body,
                                                           record=False, protocol=proto)
            problems = [f"conformance: {x}" for x in v]
        key = f"{svc.id if svc else 'unserved'}:{op or '?'}"
        with self._lock:
            self.others.append({"client": self.client, "operation": key, "status": status,
                                "body": body})
            self.counts[key] += 1
            self._violations.extend(problems)

    def take(self):
        """The problems found since the last take (cleared)."""
        with self._lock:
            v, self._violations = self._violations, []
        return v

    def report(self):
        with self._lock:
            return {"responses": len(self.records), "otherResponses": len(self.others),
                    "operations": dict(self.counts),
                    "violations": list(self._violations)}

    # ------------------------------------------------------------------ server
    def start(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # headers and body leave in separate writes: without this, Nagle's algorithm
                # and the client's delayed ACK add ~40 ms to every response
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _upstream(self, body):
                """Send the request upstream on this client connection's own upstream
                connection (kept alive; reopened once if the server had closed it while idle)."""
                while True:
                    conn = getattr(self, "_up", None)
                    reused = conn is not None
                    if conn is None:
                        conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                        conn.connect()
                        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        self._up = conn
                    try:
                        conn.putrequest(self.command, self.path, skip_host=True,
                                        skip_accept_encoding=True)
                        for k, v in self.headers.items():
                            if k.lower() not in HOP_BY_HOP:
                                conn.putheader(k, v)
                        if body or self.command in ("POST", "PUT"):
                            conn.putheader("Content-Length", str(len(body)))
                        conn.endheaders(body)
                        resp = conn.getresponse()
                        rbody = resp.read()
                        if resp.will_close:
                            conn.close()
                            self._up = None
                        return resp.status, resp.reason, resp.msg, rbody
                    except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                        conn.close()
                        self._up = None
                        if not reused:
                            raise

            def finish(self):
                super().finish()
                if getattr(self, "_up", None) is not None:
                    self._up.close()

            def _own(self):
                if self.path.startswith("/_recproxy/report") and self.command == "GET":
                    return proxy.report()
                if self.path.startswith("/_recproxy/take") and self.command == "POST":
                    return {"violations": proxy.take()}
                return {"error": "unknown recproxy endpoint"}

            def _forward(self):
                body = self._read_body()
                if self.path.startswith("/_recproxy/"):
                    out = json.dumps(self._own()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                status, reason, rheaders, rbody = self._upstream(body)
                # check (and record) before answering: once a client holds a response, its
                # problems are already in take()/report()
                target = self.headers.get("X-Amz-Target") or ""
                if self.path.startswith("/_sagemock/"):
                    pass
                elif target.startswith("SageMaker.") or (
                        target and proxy._router.service_by_target(target)[0] is None):
                    op = target.split(".", 1)[1] if target.startswith("SageMaker.") else None
                    proxy._check(op, status, rheaders, rbody)
                else:  # another service (awsJson or awsQuery), or a REST call
                    proxy._check_other(self.headers, body, status, rheaders, rbody, self.path)
                self.send_response_only(status, reason)
                for k, v in rheaders.items():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(rbody)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(rbody)

            do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _forward

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="sagemock's URL")
    ap.add_argument("--client", default="?", help="name of the client, for the records")
    ap.add_argument("--record", help="append every record to this JSONL file")
    args = ap.parse_args(argv)
    proxy = RecordingProxy(args.upstream, client=args.client, record_path=args.record).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin():  # the parent process went away: stop
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"recproxy: listening on {proxy.url}", flush=True)
    done.wait()
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
