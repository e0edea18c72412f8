"""Resource limits of the transport and of request decoding, through real sockets.

Each limit is configurable and is met with a clear answer or a close, and the server keeps
serving everyone else:

* body cap (--max-body, default 6291456): 413 RequestEntityTooLargeException (awsJson), at
  once when Content-Length announces it, at the end of a chunked upload;
* per-connection memory (64 KiB, fixed): headers that do not fit get 431 and a close;
* connection limit (--conn-limit, default 1024): connections past it wait, unserved, in the
  listen backlog until one of the others goes;
* connection timeout (--conn-timeout, default 60 s): an idle connection is closed;
* a client trickling a request a byte at a time holds one connection, not the server;
  1,000 idle connections do not exhaust it;
* JSON nesting is bounded (cJSON: 1000 levels): deeper bodies are a SerializationException;
* filters and tags take `%`, `_`, `'` and backslashes literally (or the model's pattern
  refuses them, with the service's message).
"""

import json
import resource
import socket
import threading
import time

import pytest

from helpers import JSON_CT, Server, arn_for, job_request, raw_call, unique_name

TARGET = "SageMaker.ListTrainingJobs"


# ------------------------------------------------------------------------------ raw HTTP
def host_port(srv):
    return "127.0.0.1", srv.port


def request_bytes(body=b"{}", target=TARGET, extra=b"", length=True):
    head = (b"POST / HTTP/1.1\r\nHost: sagemock\r\nContent-Type: " + JSON_CT.encode() +
            b"\r\nX-Amz-Target: " + target.encode() + b"\r\n" + extra)
    if length:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


def read_response(s, timeout=5.0):
    """(status, headers dict lower-cased, body) of one response on s; None when the server
    closed (or reset) without answering; raises socket.timeout when nothing came."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            more = s.recv(65536)
            if not more:
                return None
            data += more
    except ConnectionResetError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        more = s.recv(65536)
        if not more:
            break
        body += more
    return status, headers, body


def exchange(srv, data, timeout=5.0):
    with socket.create_connection(host_port(srv), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s, timeout)


def closed_by_peer(s, timeout):
    """Seconds until the server closed s (recv returns b'' or resets), or None."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(4096):
                return time.monotonic() - t0
    except ConnectionResetError:
        return time.monotonic() - t0
    except socket.timeout:
        return None


def quick_request_ok(srv, limit_s=1.0):
    t0 = time.monotonic()
    got = exchange(srv, request_bytes(), timeout=limit_s + 2)
    took = time.monotonic() - t0
    return got is not None and got[0] == 200 and took < limit_s, (got, took)


def assert_too_large(resp, cap):
    assert resp is not None, "closed without an answer"
    status, headers, body = resp
    assert status == 413, (status, body[:300])
    assert headers.get("content-type") == JSON_CT
    assert headers.get("x-amzn-errortype") == "RequestEntityTooLargeException"
    assert json.loads(body) == {
        "__type": "RequestEntityTooLargeException",
        "message": f"Request body is larger than the limit of {cap} bytes."}


# ------------------------------------------------------------------------------ body cap
CAP = 4096


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    from conftest import _start, _stop_and_check
    srv = _start(tmp_path_factory.mktemp("capped"), args=("--max-body", str(CAP)))
    yield srv
    _stop_and_check(srv)


def test_body_at_the_cap_is_accepted(capped):
    body = b"{}" + b" " * (CAP - 2)  # JSON whitespace up to exactly the cap
    status, _, out = exchange(capped, request_bytes(body))
    assert status == 200, out


def test_body_one_byte_over_the_cap_is_413_json(capped):
    assert_too_large(exchange(capped, request_bytes(b"{}" + b" " * (CAP - 1))), CAP)


def test_announced_oversize_body_is_refused_before_it_is_sent(capped):
    """Content-Length past the cap: the 413 comes at once, without reading a byte of body."""
    head = request_bytes(b"", length=False)[:-2] + b"Content-Length: 1000000000\r\n\r\n"
    with socket.create_connection(host_port(capped), timeout=5) as s:
        t0 = time.monotonic()
        s.sendall(head)
        resp = read_response(s, timeout=3)
        took = time.monotonic() - t0
        assert_too_large(resp, CAP)
        assert took < 1.0, f"413 took {took:.2f} s"
        assert resp[1].get("connection", "").lower() == "close"
        assert closed_by_peer(s, 3) is not None, "the connection stays open after the 413"
    assert quick_request_ok(capped)


def chunked(data, size=1024):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def test_chunked_body_over_the_cap_is_413_json_when_it_ends(capped):
    """Without a Content-Length the server cannot know in advance: it stops keeping the body
    past the cap and answers 413 as soon as the upload ends; the same connection then serves
    the next request."""
    head = request_bytes(b"", extra=b"Transfer-Encoding: chunked\r\n", length=False)
    with socket.create_connection(host_port(capped), timeout=5) as s:
        s.sendall(head + chunked(b" " * (CAP * 3)))
        t0 = time.monotonic()
        resp = read_response(s, timeout=3)
        took = time.monotonic() - t0
        assert_too_large(resp, CAP)
        assert took < 1.0, f"413 took {took:.2f} s after the last chunk"
        s.sendall(request_bytes())
        again = read_response(s)
        assert again is not None and again[0] == 200, again


def test_chunked_body_under_the_cap_is_served(capped):
    head = request_bytes(b"", extra=b"Transfer-Encoding: chunked\r\n", length=False)
    status, _, out = exchange(capped, head + chunked(b'{"MaxResults": 5}' + b" " * 2000, 7))
    assert status == 200, out


def test_endless_chunked_upload_is_cut_off_past_the_cap(capped):
    head = request_bytes(b"", extra=b"Transfer-Encoding: chunked\r\n", length=False)
    with socket.create_connection(host_port(capped), timeout=5) as s:
        s.sendall(head)
        part = b"%x\r\n" % 1024 + b" " * 1024 + b"\r\n"
        s.settimeout(0.05)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                return  # closed: acceptable
            try:
                if s.recv(4096) is not None:
                    return  # an answer (or a close) while still uploading
            except socket.timeout:
                pass
            except ConnectionResetError:
                return
        pytest.fail(f"no answer nor close after {CAP * 10} bytes past the cap")


# ------------------------------------------------------------------------------ headers
@pytest.mark.parametrize("what", ["one 70 KiB header", "10000 small headers"])
def test_headers_past_the_connection_memory_limit_get_431_and_a_close(capped, what):
    if what.startswith("one"):
        extra = b"X-Big: " + b"a" * (70 * 1024) + b"\r\n"
    else:
        extra = b"".join(b"X-H%d: v\r\n" % i for i in range(10000))
    with socket.create_connection(host_port(capped), timeout=5) as s:
        try:
            s.sendall(request_bytes(extra=extra))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while still sending: a close is a fine answer too
        resp = read_response(s, timeout=5)
        if resp is not None:
            assert resp[0] == 431, resp
            assert resp[1].get("connection", "").lower() == "close"
            assert closed_by_peer(s, 3) is not None
    assert quick_request_ok(capped)


def test_headers_within_the_limit_are_served(capped):
    status, _, body = exchange(capped, request_bytes(extra=b"X-Pad: " + b"a" * 30000 + b"\r\n"))
    assert status == 200, body


# ------------------------------------------------------------------------------ connections
def test_connections_past_the_limit_wait_until_one_goes(make_server):
    """--conn-limit 4: four connections are served (keep-alive); a fifth waits, unanswered, in
    the listen backlog while they stay; the four keep working; when one closes, the fifth is
    served at once."""
    srv = make_server("--conn-limit", "4", "--conn-timeout", "30", "--threads", "2")
    held = []
    try:
        for _ in range(4):
            s = socket.create_connection(host_port(srv), timeout=5)
            s.sendall(request_bytes())
            assert read_response(s)[0] == 200
            held.append(s)
        extra = socket.create_connection(host_port(srv), timeout=5)
        held.append(extra)
        extra.sendall(request_bytes())
        with pytest.raises(socket.timeout):
            read_response(extra, timeout=1.0)
        for s in held[:4]:
            s.sendall(request_bytes())
            assert read_response(s)[0] == 200, "a connection within the limit stopped working"
        held.pop(0).close()
        t0 = time.monotonic()
        resp = read_response(extra, timeout=5)
        assert resp is not None and resp[0] == 200, resp
        assert time.monotonic() - t0 < 2.0
    finally:
        for s in held:
            s.close()
    assert srv.health()["status"] == "ok"


@pytest.mark.parametrize("limit,held", [(2, 2), (1, 0)],
                         ids=["both slots taken", "conn-limit below threads"])
def test_sigterm_exits_at_once_whatever_the_connection_limit(tmp_path, limit, held):
    srv = Server(tmp_path, args=["--conn-limit", str(limit), "--threads", "2",
                                 "--conn-timeout", "5"])
    srv.start()
    sockets = []
    try:
        for _ in range(held):
            s = socket.create_connection(host_port(srv), timeout=5)
            s.sendall(request_bytes())
            assert read_response(s)[0] == 200
            sockets.append(s)
        t0 = time.monotonic()
        rc = srv.stop(timeout=3)  # None: it had to be killed
        assert rc == 0 and time.monotonic() - t0 < 2, \
            f"SIGTERM: exit status {rc} after {time.monotonic() - t0:.1f} s"
    finally:
        for s in sockets:
            s.close()
        if srv.proc is not None:
            srv.proc.kill()


def test_idle_connection_is_closed_after_the_timeout(make_server):
    srv = make_server("--conn-timeout", "1")
    with socket.create_connection(host_port(srv), timeout=5) as idle, \
            socket.create_connection(host_port(srv), timeout=5) as kept, \
            socket.create_connection(host_port(srv), timeout=5) as partial:
        kept.sendall(request_bytes())
        assert read_response(kept)[0] == 200  # keep-alive, then idle
        partial.sendall(request_bytes()[:40])  # half a request line, then nothing
        for s, what in ((idle, "a silent connection"), (kept, "an idle keep-alive connection"),
                        (partial, "a half-sent request")):
            took = closed_by_peer(s, 6)
            assert took is not None, f"{what} is still open after 6 s with --conn-timeout 1"
            assert took < 4, f"{what} closed after {took:.1f} s"
    assert srv.health()["status"] == "ok"


def test_default_timeout_keeps_an_idle_connection_open_for_a_while(make_server):
    srv = make_server()
    with socket.create_connection(host_port(srv), timeout=5) as s:
        assert closed_by_peer(s, 2.0) is None
        s.sendall(request_bytes())
        assert read_response(s)[0] == 200


def trickle(srv, data, delay, out):
    try:
        with socket.create_connection(host_port(srv), timeout=30) as s:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(delay)
            out.append(read_response(s, timeout=10))
    except OSError as e:
        out.append(e)


def test_slow_clients_do_not_stop_others_from_being_served(make_server):
    """One worker thread; eight clients send their requests a byte every 15 ms (headers and
    body, about 3 s each). Meanwhile every other request is answered at once, and each slow
    request is answered correctly when it is complete."""
    srv = make_server("--threads", "1", "--conn-timeout", "5")
    slow_req = request_bytes(b'{"MaxResults": 7, "SortOrder": "Ascending"}')
    results, threads = [], []
    for _ in range(8):
        t = threading.Thread(target=trickle, args=(srv, slow_req, 0.015, results), daemon=True)
        t.start()
        threads.append(t)
    worst, served = 0.0, 0
    while any(t.is_alive() for t in threads):
        t0 = time.monotonic()
        got = exchange(srv, request_bytes(), timeout=5)
        assert got is not None and got[0] == 200, got
        worst = max(worst, time.monotonic() - t0)
        served += 1
        time.sleep(0.02)
    assert served >= 20
    assert worst < 0.5, f"a request took {worst:.2f} s while slow clients trickled"
    assert len(results) == 8
    for r in results:
        assert not isinstance(r, Exception) and r is not None and r[0] == 200, r


def test_a_thousand_idle_connections_do_not_exhaust_the_server(make_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        if hard != resource.RLIM_INFINITY and hard < 2200:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for 1,000 connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2200, hard))  # the server inherits it
    srv = make_server("--threads", "2")
    idle = []
    try:
        for i in range(1000):
            s = socket.create_connection(host_port(srv), timeout=5)
            if i % 2:
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and never finish
            idle.append(s)
        time.sleep(0.5)
        for _ in range(20):
            ok, detail = quick_request_ok(srv, limit_s=1.0)
            assert ok, f"with 1,000 idle connections open: {detail}"
        sm = srv.client()
        name = unique_name("idle")
        sm.create_training_job(**job_request(name))
        assert sm.describe_training_job(TrainingJobName=name)["TrainingJobName"] == name
        assert all(closed_by_peer(s, 0.01) is None for s in idle[:50]), \
            "idle connections were dropped before the timeout"
    finally:
        for s in idle:
            s.close()
    ok, detail = quick_request_ok(srv)
    assert ok, detail


# ------------------------------------------------------------------------------ JSON bounds
@pytest.mark.parametrize("body", [
    "[" * 100000,
    '{"NameContains": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"A": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}",
], ids=["100k open brackets", "5000 nested arrays", "2000 nested objects"])
def test_nesting_past_the_bound_is_a_serialization_exception(server, body):
    r = raw_call(server.url, "ListTrainingJobs", body)
    assert r.status == 400, r
    assert r.error_code == "SerializationException"
    assert r.message == "The request body is not valid JSON."
    assert server.health()["status"] == "ok"


def test_nesting_within_the_bound_is_decoded_and_type_checked(server):
    deep = "[" * 900 + "]" * 900
    r = raw_call(server.url, "ListTrainingJobs", '{"NameContains": ' + deep + "}")
    assert r.status == 400 and r.error_code == "SerializationException", r
    assert r.message == "Expected a string at 'nameContains', got an array"
    r = raw_call(server.url, "CreateTrainingJob",
                 json.dumps(job_request("nest-1"))[:-1] + ', "HyperParameters": {"a": ' + deep
                 + "}}")
    assert r.status == 400 and r.error_code == "SerializationException", r


def test_a_megabyte_string_is_refused_and_echoed_once(server):
    """The message echoes a value once, and stops listing items past its cap (64 KiB)."""
    r = raw_call(server.url, "DescribeTrainingJob", {"TrainingJobName": "a" * (1 << 20)})
    assert r.status == 400 and r.error_code == "ValidationException", r
    assert r.message.startswith("2 validation errors detected: Value 'aaaa"), r.message[:100]
    assert r.message.endswith("; (further errors omitted)"), r.message[-100:]
    assert len(r.body) < (1 << 20) + 1024
    assert server.health()["status"] == "ok"


@pytest.mark.parametrize("member", ["CreationTimeAfter", "LastModifiedTimeAfter"])
def test_a_time_filter_beyond_int64_milliseconds_is_the_far_future(server, sm, member):
    name = unique_name("far")
    sm.create_training_job(**job_request(name))
    r = raw_call(server.url, "ListTrainingJobs", f'{{"NameContains": "{name}", "{member}": 1e30}}')
    assert r.status == 200, r
    assert r.json["TrainingJobSummaries"] == []


# ------------------------------------------------------------------------------ literal filters
PATTERN = r"[a-zA-Z0-9\-]+"


@pytest.mark.parametrize("needle", ["a%b", "a_b", "a'b", "a\\b", "%", "_", "'", "\\"])
def test_name_contains_with_sql_wildcards_is_refused_by_its_pattern(server, needle):
    r = raw_call(server.url, "ListTrainingJobs", {"NameContains": needle})
    assert r.status == 400 and r.error_code == "ValidationException", r
    assert r.message == (
        f"1 validation error detected: Value '{needle}' at 'nameContains' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {PATTERN}")


def test_name_contains_matches_hyphens_literally(server, sm):
    server.pause()
    try:
        stamp = unique_name("lit")
        names = [f"{stamp}-a-b", f"{stamp}-ab", f"{stamp}-axb"]
        for n in names:
            sm.create_training_job(**job_request(n))
        got = sm.list_training_jobs(NameContains=f"{stamp}-a-b", MaxResults=100)
        assert [s["TrainingJobName"] for s in got["TrainingJobSummaries"]] == [names[0]]
    finally:
        server.set_rate(1)


def test_tag_keys_and_values_with_underscores_are_stored_and_deleted_literally(server, sm):
    name = unique_name("tags-lit")
    sm.create_training_job(**job_request(name, Tags=[{"Key": "a_b", "Value": "x_y"}]))
    arn = arn_for(name)
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "axb", "Value": "_"},
                                       {"Key": "a__", "Value": "a_b=c+d@e"}])
    tags = sm.list_tags(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "a_b", "Value": "x_y"}, {"Key": "axb", "Value": "_"},
                    {"Key": "a__", "Value": "a_b=c+d@e"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a_b"])  # not a pattern: axb stays
    assert [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]] == ["axb", "a__"]


@pytest.mark.parametrize("value", ["100%", "it's", "back\\slash"])
def test_tag_values_outside_the_tag_pattern_are_refused(server, value):
    name = unique_name("tags-pat")
    r = raw_call(server.url, "AddTags", {"ResourceArn": arn_for(name),
                                         "Tags": [{"Key": "k", "Value": value}]})
    assert r.status == 400 and r.error_code == "ValidationException", r
    assert r.message == (
        f"1 validation error detected: Value '{value}' at 'tags.1.member.value' failed to "
        r"satisfy constraint: Member must satisfy regular expression pattern: "
        r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")  # anchored, as the service prints it


def test_free_text_members_keep_percent_underscore_quote_and_backslash(server, sm):
    name = unique_name("free-lit")
    odd = {"p%": "100%", "q_": "_x_", "r'": "it's", "s\\": "C:\\dir\\%_'"}
    sm.create_training_job(**job_request(name, HyperParameters=odd,
                                         Environment={"V1": "%_'\\", "V2": "\\\\"}))
    d = sm.describe_training_job(TrainingJobName=name)
    assert d["HyperParameters"] == odd
    assert d["Environment"] == {"V1": "%_'\\", "V2": "\\\\"}
    found = sm.list_training_jobs(NameContains=name, MaxResults=100)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in found] == [name]


@pytest.mark.parametrize("op,member", [("ListTrainingJobs", {}), ("ListTags", {"ResourceArn": None})])
@pytest.mark.parametrize("token", ["%", "_", "'", "\\", "a%_'\\b", "' OR 1=1 --"])
def test_next_tokens_with_sql_characters_are_invalid_tokens(server, sm, op, member, token):
    body = dict(member, NextToken=token)
    if "ResourceArn" in body:
        name = unique_name("tok-lit")
        sm.create_training_job(**job_request(name))
        body["ResourceArn"] = arn_for(name)
    r = raw_call(server.url, op, body)
    assert r.status == 400 and r.error_code == "ValidationException", r
    assert r.message == "Invalid NextToken."
