"""The admin API under /_sagemock/: health, the simulated clock, reset."""

import time

import pytest
from botocore.exceptions import ClientError

from helpers import describe_raw, error_of, job_request, ms, unique_name


def assert_bad_request(server, method, path, body):
    status, parsed, raw = server.admin(method, path, body)
    assert status == 400, f"{body!r} -> {status} {raw[:300]!r}"
    assert isinstance(parsed, dict), f"error body is not a JSON object: {raw[:300]!r}"
    assert any(isinstance(v, str) and v for v in parsed.values()), f"no message in {parsed!r}"


def test_health(server):
    h = server.health()
    assert h["status"] == "ok"
    assert isinstance(h["version"], str) and h["version"]


def test_clock_starts_at_wall_time_and_rate_one(make_server):
    srv = make_server()
    c = srv.clock()
    assert c["rate"] == 1
    assert abs(c["now"] - time.time()) < 5
    time.sleep(0.3)
    assert 0.2 < srv.now() - c["now"] < 2


def test_clock_rate_flag(make_server):
    srv = make_server("--clock-rate", "5")
    c = srv.clock()
    assert c["rate"] == 5
    time.sleep(0.4)
    assert 1.5 < srv.now() - c["now"] < 4


def test_rate_zero_pauses_the_clock(server):
    state = server.pause()
    assert state["rate"] == 0
    a = server.now()
    time.sleep(0.3)
    assert server.now() == a
    server.set_rate(1)


def test_advance_moves_the_clock_exactly_and_returns_the_new_state(server):
    server.pause()
    a = server.now()
    state = server.advance(100)
    assert ms(state["now"]) == ms(a) + 100_000
    assert state["rate"] == 0
    assert ms(server.now()) == ms(a) + 100_000
    state = server.advance(0.25)
    assert ms(state["now"]) == ms(a) + 100_250
    server.set_rate(1)


def test_set_forward(server):
    server.pause()
    target = int(server.now()) + 86400
    state = server.set_clock(target)
    assert ms(state["now"]) == target * 1000
    assert ms(server.now()) == target * 1000
    server.set_rate(1)


def test_set_backwards_is_refused_and_changes_nothing(server):
    server.pause()
    before = server.now()
    assert_bad_request(server, "POST", "/_sagemock/clock", {"set": before - 3600})
    assert server.now() == before
    server.set_rate(1)


def test_negative_rate_is_refused(server):
    before = server.clock()["rate"]
    assert_bad_request(server, "POST", "/_sagemock/clock", {"rate": -1})
    assert server.clock()["rate"] == before


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", {"advance": "ten"}, {"rate": "fast"},
                                  {"set": "tomorrow"}])
def test_malformed_clock_requests_are_refused(server, body):
    assert_bad_request(server, "POST", "/_sagemock/clock", body)


def test_negative_advance_is_refused(server):
    """The clock never goes back (DESIGN), whichever way it is asked."""
    assert_bad_request(server, "POST", "/_sagemock/clock", {"advance": -10})


def test_rate_speeds_the_clock_up(server):
    server.set_rate(20)
    a = server.now()
    time.sleep(0.5)
    b = server.now()
    server.set_rate(1)
    assert 6 < b - a < 20


def test_rate_change_keeps_the_current_time(server):
    server.set_rate(1)
    a = server.now()
    state = server.set_rate(50)
    assert abs(state["now"] - a) < 1, "changing the rate must not jump the clock"
    state = server.pause()
    b = state["now"]
    time.sleep(0.2)
    assert server.now() == b
    server.set_rate(1)


def test_advancing_the_clock_drives_the_jobs(server):
    sm = server.client()
    server.pause()
    name = unique_name("adm")
    sm.create_training_job(**job_request(name))
    server.advance(10)
    assert describe_raw(sm, name)["TrainingJobStatus"] == "Completed"
    server.set_rate(1)


def test_reset_removes_every_job_and_frees_the_names(make_server):
    srv = make_server()
    sm = srv.client()
    west = srv.client(region="us-west-2")
    names = [unique_name("reset") for _ in range(3)]
    for n in names:
        sm.create_training_job(**job_request(n, Tags=[{"Key": "k", "Value": "v"}]))
    west.create_training_job(**job_request(names[0]))
    arn = sm.describe_training_job(TrainingJobName=names[0])["TrainingJobArn"]
    srv.reset()
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []
    assert west.list_training_jobs()["TrainingJobSummaries"] == []
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName=names[1])
    assert error_of(e) == ("ValidationException", "Requested resource not found.", 400)
    with pytest.raises(ClientError) as e:
        sm.list_tags(ResourceArn=arn)
    assert error_of(e)[0] == "ValidationException"
    for n in names:
        sm.create_training_job(**job_request(n))
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    assert srv.health()["status"] == "ok"
