"""What the dashboard (GET /_sagemock/ui, issue 8) needs from the admin API, without a browser:
the page itself (self-contained: nothing loaded from elsewhere), the Describe body of any job
of any region (GET /_sagemock/jobs/describe), and the page under --admin-token (?token=).

The page's behaviour is tested in a real browser by tests/e2e/browser/ (node --test).

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_dashboard_api.py
"""

import http.client
import json
import re
import urllib.parse

import pytest

from helpers import describe_raw, job_request, unique_name

TOKEN = "ui/tok+en 7%"


def test_the_page_is_one_self_contained_html_file(server):
    status, _, raw = server.admin("GET", "/_sagemock/ui")
    assert status == 200
    page = raw.decode("utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<title>sagemock dashboard</title>" in page
    # No build step, no CDN: nothing is loaded from a URL, not even a favicon.
    assert not re.search(r"<script[^>]*\bsrc=", page, re.I)
    assert not re.search(r"<link[^>]*rel=\"stylesheet\"", page, re.I)
    assert not re.search(r"(src|href)=\"(https?:)?//", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert '<link rel="icon" href="data:,">' in page


def test_describe_any_job_of_any_region_as_the_api_does(server):
    server.pause()
    try:
        east, west = unique_name("ui-e"), unique_name("ui-w")
        sm_east, sm_west = server.client(), server.client(region="us-west-2")
        sm_east.create_training_job(**job_request(east))
        sm_west.create_training_job(**job_request(west, StoppingCondition={"MaxRuntimeInSeconds": 60}))
        server.advance(5)
        for client, name, region in ((sm_east, east, "us-east-1"), (sm_west, west, "us-west-2")):
            status, out, _ = server.admin("GET", f"/_sagemock/jobs/describe?region={region}&name={name}")
            assert status == 200
            assert out == describe_raw(client, name)
            assert out["SecondaryStatus"] == "Training"
        # The region defaults to --region (us-east-1).
        status, out, _ = server.admin("GET", f"/_sagemock/jobs/describe?name={east}")
        assert status == 200 and out["TrainingJobName"] == east
        # A job lives in its region only.
        status, out, _ = server.admin("GET", f"/_sagemock/jobs/describe?region=us-east-1&name={west}")
        assert status == 404 and west in out["error"] and "us-east-1" in out["error"]
    finally:
        server.set_rate(1)


@pytest.mark.parametrize("query, status", [("", 400), ("?name=", 400), ("?region=us-east-1", 400),
                                           ("?name=never-created", 404),
                                           ("?name=never-created&region=eu-west-3", 404)])
def test_describe_refusals(server, query, status):
    code, out, raw = server.admin("GET", "/_sagemock/jobs/describe" + query)
    assert code == status, raw
    assert isinstance(out["error"], str) and out["error"]


def test_describe_takes_only_get(server):
    assert server.admin("POST", "/_sagemock/jobs/describe?name=x", {})[0] == 405


def test_under_an_admin_token_the_page_takes_it_in_its_query(make_server):
    srv = make_server("--admin-token", TOKEN)
    q = urllib.parse.quote(TOKEN, safe="")
    status, out, _ = srv.admin("GET", "/_sagemock/ui")
    assert status == 401 and "/_sagemock/ui?token=" in out["error"]
    assert srv.admin("GET", "/_sagemock/ui?token=wrong")[0] == 401
    assert srv.admin("GET", "/_sagemock/ui?token=" + q[:-3])[0] == 401, "a prefix is not the token"
    assert srv.admin("GET", "/_sagemock/ui?token=%zz")[0] == 401, "a malformed escape"
    status, _, raw = srv.admin("GET", f"/_sagemock/ui?token={q}")
    assert status == 200 and b"sagemock dashboard" in raw
    # Only the page takes ?token=: the endpoints it reads want the header.
    assert srv.admin("GET", f"/_sagemock/jobs?token={q}")[0] == 401
    assert srv.admin("GET", f"/_sagemock/jobs/describe?name=x&token={q}")[0] == 401
    # The token never reaches the log (the access log writes the path, never the query).
    assert TOKEN not in srv.stderr_text(tail=10**7) and q not in srv.stderr_text(tail=10**7)


def test_the_page_also_takes_the_header(make_server):
    srv = make_server("--admin-token", TOKEN)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        for headers, want in (({"X-Sagemock-Admin-Token": TOKEN}, 200),
                              ({"Authorization": f"Bearer {TOKEN}"}, 200),
                              ({"X-Sagemock-Admin-Token": "wrong"}, 401)):
            conn.request("GET", "/_sagemock/ui", headers=headers)
            r = conn.getresponse()
            r.read()
            assert r.status == want, headers
        conn.request("GET", "/_sagemock/jobs/describe?name=never-created",
                     headers={"X-Sagemock-Admin-Token": TOKEN})
        r = conn.getresponse()
        assert r.status == 404 and "never-created" in json.loads(r.read())["error"]
    finally:
        conn.close()


def test_without_a_token_configured_a_token_in_the_query_is_ignored(server):
    assert server.admin("GET", "/_sagemock/ui?token=anything")[0] == 200
