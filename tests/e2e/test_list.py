"""ListTrainingJobs over 250 jobs created one simulated second apart (clock paused): paging,
every sort order, every filter, and the real service's filters-after-paging semantics."""

import pytest
from botocore.exceptions import ClientError

from conformance import CHECKER
from helpers import describe_raw, error_of, job_request, ms

N = 250
STOPPED_AT_CREATION = {i for i in range(N) if i % 25 == 7} | {248}
TERMINAL = {"Completed", "Failed", "Stopped"}


def job_name(i):
    """Names sort in a different order than creation; every tenth one contains 'Blue'."""
    return f"lst-{(i * 97) % N:03d}-{'Blue' if i % 10 == 3 else 'job'}"


def expected_status(i):
    age = (N - 1) - i  # seconds between the creation of job i and the final clock
    if i in STOPPED_AT_CREATION:
        return ("Stopped", "Stopped") if age >= 2 else ("Stopping", "Stopping")
    if age >= 10:
        return ("Completed", "Completed")
    return ("InProgress", {0: "Starting", 1: "Starting", 2: "Starting", 3: "Downloading",
                           4: "Downloading", 5: "Training", 6: "Training", 7: "Training",
                           8: "Uploading", 9: "Uploading"}[age])


@pytest.fixture(scope="module")
def jobs(server, sm):
    server.pause()
    t0 = int(server.now()) + 10
    server.set_clock(t0)
    for i in range(N):
        if i:
            server.advance(1)
        sm.create_training_job(**job_request(job_name(i)))
        if i in STOPPED_AT_CREATION:
            sm.stop_training_job(TrainingJobName=job_name(i))
    assert ms(server.now()) == (t0 + N - 1) * 1000
    return {"t0": t0, "index": {job_name(i): i for i in range(N)}}


def raw_pages(sm, max_pages=400, **params):
    """Call ListTrainingJobs page after page (boto3), returning the raw bodies."""
    pages = []
    token = None
    while True:
        kw = dict(params)
        if token:
            kw["NextToken"] = token
        sm.list_training_jobs(**kw)
        body = CHECKER.raw_body(sm)
        pages.append(body)
        token = body.get("NextToken")
        if not token:
            return pages
        assert len(pages) < max_pages, "NextToken never ends"


def names(summaries):
    return [s["TrainingJobName"] for s in summaries]


def flatten(pages):
    return [s for p in pages for s in p["TrainingJobSummaries"]]


def ground_truth(sm, **sort):
    """Every job in the given order (no filter), in pages of 100."""
    summaries = flatten(raw_pages(sm, MaxResults=100, **sort))
    assert len(summaries) == N
    return summaries


def chunks(seq, n):
    return [seq[i:i + n] for i in range(0, len(seq), n)]


# ---------------------------------------------------------------------------------- paging
def test_default_order_is_creation_time_descending_in_pages_of_10(sm, jobs):
    pages = raw_pages(sm)
    sizes = [len(p["TrainingJobSummaries"]) for p in pages]
    assert sizes[:25] == [10] * 25 and not any(sizes[25:]), sizes
    all_ = flatten(pages)
    assert names(all_) == [job_name(i) for i in reversed(range(N))]
    assert [ms(s["CreationTime"]) for s in all_] == [(jobs["t0"] + i) * 1000 for i in reversed(range(N))]
    assert "NextToken" not in pages[-1]
    for p in pages[:24]:
        assert isinstance(p["NextToken"], str) and p["NextToken"]


def test_one_call_without_arguments_returns_the_10_newest_and_a_token(sm, jobs):
    out = sm.list_training_jobs()
    assert names(out["TrainingJobSummaries"]) == [job_name(i) for i in range(N - 1, N - 11, -1)]
    assert out["NextToken"]


@pytest.mark.parametrize("max_results", [1, 7, 100])
def test_max_results_sizes_the_pages(sm, jobs, max_results):
    out = sm.list_training_jobs(MaxResults=max_results)
    assert len(out["TrainingJobSummaries"]) == max_results
    assert out["NextToken"]


def test_boto3_paginator_returns_every_job_once_in_order(sm, jobs):
    result = sm.get_paginator("list_training_jobs").paginate().build_full_result()
    assert names(result["TrainingJobSummaries"]) == [job_name(i) for i in reversed(range(N))]
    assert "NextToken" not in result


def test_boto3_paginator_page_size(sm, jobs):
    pages = list(sm.get_paginator("list_training_jobs").paginate(PaginationConfig={"PageSize": 37}))
    sizes = [len(p["TrainingJobSummaries"]) for p in pages]
    assert sizes[:7] == [37] * 6 + [28] and not any(sizes[7:]), sizes
    assert names(s for p in pages for s in p["TrainingJobSummaries"]) == \
        [job_name(i) for i in reversed(range(N))]


def test_boto3_paginator_max_items_and_resume(sm, jobs):
    pag = sm.get_paginator("list_training_jobs")
    first = pag.paginate(PaginationConfig={"MaxItems": 15, "PageSize": 10}).build_full_result()
    assert names(first["TrainingJobSummaries"]) == [job_name(i) for i in range(N - 1, N - 16, -1)]
    rest = pag.paginate(PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 50}
                        ).build_full_result()
    assert names(rest["TrainingJobSummaries"]) == [job_name(i) for i in range(N - 16, -1, -1)]


def test_invalid_next_token(sm, jobs):
    for token in ["garbage", "AAAA", "x" * 600]:
        with pytest.raises(ClientError) as e:
            sm.list_training_jobs(NextToken=token)
        assert error_of(e) == ("ValidationException", "Invalid NextToken.", 400), token


# ---------------------------------------------------------------------------------- summaries
def test_summaries_carry_status_secondary_status_and_end_time_only_when_terminal(sm, jobs):
    for s in ground_truth(sm):
        i = jobs["index"][s["TrainingJobName"]]
        primary, secondary = expected_status(i)
        assert s["TrainingJobStatus"] == primary, s
        assert s["SecondaryStatus"] == secondary, s
        assert s["TrainingJobArn"] == \
            f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{s['TrainingJobName'].lower()}"
        assert ms(s["CreationTime"]) == (jobs["t0"] + i) * 1000
        assert "LastModifiedTime" in s
        assert ("TrainingEndTime" in s) == (primary in TERMINAL), s
        assert "WarmPoolStatus" not in s


@pytest.mark.parametrize("i", [0, 7, 100, 241, 245, 248, 249])
def test_summary_agrees_with_describe(sm, jobs, i):
    by_name = {s["TrainingJobName"]: s for s in ground_truth(sm)}
    s = by_name[job_name(i)]
    d = describe_raw(sm, job_name(i))
    for k in ("TrainingJobName", "TrainingJobArn", "CreationTime", "LastModifiedTime",
              "TrainingJobStatus", "SecondaryStatus", "TrainingEndTime"):
        assert s.get(k) == d.get(k), k


# ---------------------------------------------------------------------------------- sorting
@pytest.mark.parametrize("params,key,reverse", [
    ({"SortBy": "Name", "SortOrder": "Ascending"}, "TrainingJobName", False),
    ({"SortBy": "Name", "SortOrder": "Descending"}, "TrainingJobName", True),
    ({"SortBy": "Name"}, "TrainingJobName", False),
    ({"SortBy": "CreationTime", "SortOrder": "Ascending"}, "CreationTime", False),
    ({"SortBy": "CreationTime", "SortOrder": "Descending"}, "CreationTime", True),
    ({"SortBy": "CreationTime"}, "CreationTime", False),
    ({"SortOrder": "Ascending"}, "CreationTime", False),
    ({"SortOrder": "Descending"}, "CreationTime", True),
], ids=lambda v: str(v))
def test_sort_orders(sm, jobs, params, key, reverse):
    got = flatten(raw_pages(sm, MaxResults=100, **params))
    assert len(got) == N
    values = [s[key] for s in got]
    assert values == sorted(values, reverse=reverse)
    assert len(set(values)) == N


@pytest.mark.parametrize("order", ["Ascending", "Descending"])
def test_sort_by_status(sm, jobs, order):
    got = flatten(raw_pages(sm, MaxResults=100, SortBy="Status", SortOrder=order))
    assert sorted(names(got)) == sorted(job_name(i) for i in range(N))
    statuses = [s["TrainingJobStatus"] for s in got]
    groups = [st for k, st in enumerate(statuses) if k == 0 or statuses[k - 1] != st]
    assert len(groups) == len(set(groups)), f"statuses are not grouped: {groups}"
    assert groups == sorted(groups, reverse=order == "Descending"), groups
    assert set(groups) == {"Completed", "InProgress", "Stopped", "Stopping"}


# ---------------------------------------------------------------------------------- filters
def matches(s, f):
    if "NameContains" in f and f["NameContains"].lower() not in s["TrainingJobName"].lower():
        return False
    if "StatusEquals" in f and s["TrainingJobStatus"] != f["StatusEquals"]:
        return False
    if "CreationTimeAfter" in f and not s["CreationTime"] > f["CreationTimeAfter"]:
        return False
    if "CreationTimeBefore" in f and not s["CreationTime"] < f["CreationTimeBefore"]:
        return False
    if "LastModifiedTimeAfter" in f and not s["LastModifiedTime"] > f["LastModifiedTimeAfter"]:
        return False
    if "LastModifiedTimeBefore" in f and not s["LastModifiedTime"] < f["LastModifiedTimeBefore"]:
        return False
    if "WarmPoolStatusEquals" in f and s.get("WarmPoolStatus", {}).get("Status") != f["WarmPoolStatusEquals"]:
        return False
    return True


def filters(jobs, spec):
    """Turn offsets from t0 into absolute (whole-second) times."""
    t0 = jobs["t0"]
    return {k: (t0 + v if k.endswith(("After", "Before")) else v) for k, v in spec.items()}


FILTERS = [
    ({"StatusEquals": "InProgress"}, {}),
    ({"StatusEquals": "Stopped"}, {"SortBy": "Name", "SortOrder": "Ascending"}),
    ({"StatusEquals": "Stopping"}, {}),
    ({"StatusEquals": "Completed"}, {"SortBy": "CreationTime", "SortOrder": "Ascending"}),
    ({"StatusEquals": "Failed"}, {}),
    ({"NameContains": "bLUE"}, {}),
    ({"NameContains": "lst-1"}, {"SortBy": "Name", "SortOrder": "Descending"}),
    ({"CreationTimeAfter": 200}, {}),
    ({"CreationTimeBefore": 50}, {}),
    ({"CreationTimeAfter": 100, "CreationTimeBefore": 120}, {"SortBy": "Status", "SortOrder": "Ascending"}),
    ({"LastModifiedTimeAfter": 200}, {}),
    ({"LastModifiedTimeBefore": 100}, {"SortOrder": "Ascending"}),
    ({"LastModifiedTimeAfter": 230, "StatusEquals": "Completed", "NameContains": "job"}, {}),
]


@pytest.mark.parametrize("max_results", [10, 23])
@pytest.mark.parametrize("spec,sort", FILTERS, ids=[str(f) + str(s) for f, s in FILTERS])
def test_filters_apply_after_paging(sm, jobs, spec, sort, max_results):
    """Each page takes the next MaxResults jobs in sort order, then drops those failing the
    filters: pages may be short or empty while NextToken is present."""
    f = filters(jobs, spec)
    truth = ground_truth(sm, **sort)
    expected_pages = [[s for s in chunk if matches(s, f)] for chunk in chunks(truth, max_results)]
    pages = raw_pages(sm, MaxResults=max_results, **sort, **f)
    got_pages = [p["TrainingJobSummaries"] for p in pages]
    assert len(got_pages) >= len(expected_pages), "the filter shortened the paging"
    assert [names(p) for p in got_pages[:len(expected_pages)]] == [names(p) for p in expected_pages]
    assert not any(got_pages[len(expected_pages):]), "extra pages must be empty"
    for p in pages[:len(expected_pages) - 1]:
        assert p.get("NextToken"), "every page but the last has a token"


@pytest.mark.parametrize("spec,sort", FILTERS, ids=[str(f) + str(s) for f, s in FILTERS])
def test_paginator_concatenation_is_exactly_the_filtered_set(sm, jobs, spec, sort):
    f = filters(jobs, spec)
    truth = ground_truth(sm, **sort)
    expected = [s["TrainingJobName"] for s in truth if matches(s, f)]
    result = sm.get_paginator("list_training_jobs").paginate(**sort, **f).build_full_result()
    assert names(result["TrainingJobSummaries"]) == expected


def test_filter_results_are_what_the_jobs_say(sm, jobs):
    """Cross-check the filters against the known history (not only against the server's list)."""
    t0 = jobs["t0"]
    pag = sm.get_paginator("list_training_jobs")

    def full(**kw):
        return set(names(pag.paginate(**kw).build_full_result()["TrainingJobSummaries"]))

    assert full(StatusEquals="InProgress") == \
        {job_name(i) for i in range(N) if expected_status(i)[0] == "InProgress"}
    assert full(StatusEquals="Stopping") == {job_name(248)}
    assert full(NameContains="BLUE") == {job_name(i) for i in range(N) if i % 10 == 3}
    assert full(CreationTimeAfter=t0 + 200) == {job_name(i) for i in range(201, N)}, "strictly after"
    assert full(CreationTimeBefore=t0 + 50) == {job_name(i) for i in range(0, 50)}, "strictly before"
    assert full(CreationTimeAfter=t0 + 10, CreationTimeBefore=t0 + 12) == {job_name(11)}


def test_fractional_time_filters_are_accepted_raw(server, jobs):
    """JS SDK v3 sends fractional epoch seconds."""
    t0 = jobs["t0"]
    seen = []
    token = None
    while True:
        body = {"CreationTimeAfter": t0 + 199.5, "CreationTimeBefore": t0 + 205.25, "MaxResults": 100}
        if token:
            body["NextToken"] = token
        r = server.raw("ListTrainingJobs", body)
        assert r.status == 200, r
        seen += names(r.json["TrainingJobSummaries"])
        token = r.json.get("NextToken")
        if not token:
            break
    assert set(seen) == {job_name(i) for i in range(200, 206)}


def test_warm_pool_filter_matches_nothing_but_still_pages(sm, jobs):
    pages = raw_pages(sm, MaxResults=50, WarmPoolStatusEquals="Available")
    assert all(p["TrainingJobSummaries"] == [] for p in pages)
    assert len(pages) >= 5
    assert all(p.get("NextToken") for p in pages[:4])


# ---------------------------------------------------------------------------------- training plans
PLAN = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/"


def test_training_plan_arn_in_summaries_and_the_filter(make_server):
    """TrainingPlanArnEquals and TrainingJobSummary.TrainingPlanArn (model 2024-12): a job's
    ResourceConfig.TrainingPlanArn shows in its summary, and the filter keeps only the jobs of
    that plan (after paging, like the other filters). boto3 1.26 predates both: raw calls."""
    srv = make_server()
    plans = {"tp-a": PLAN + "plan-a", "tp-b": PLAN + "plan-b", "tp-none": None}
    for name, plan in plans.items():
        req = job_request(name)
        if plan:
            req["ResourceConfig"]["TrainingPlanArn"] = plan
        r = srv.raw("CreateTrainingJob", req)
        assert r.status == 200, r

    def listed(**filters):
        r = srv.raw("ListTrainingJobs", dict(filters, MaxResults=100))
        assert r.status == 200, r
        return {s["TrainingJobName"]: s.get("TrainingPlanArn") for s in
                r.json["TrainingJobSummaries"]}

    assert listed() == plans
    assert listed(TrainingPlanArnEquals=PLAN + "plan-a") == {"tp-a": PLAN + "plan-a"}
    assert listed(TrainingPlanArnEquals=PLAN + "plan-c") == {}
    assert describe_raw(srv.client(), "tp-b")["ResourceConfig"]["TrainingPlanArn"] == \
        PLAN + "plan-b"
    srv.restart()
    assert listed(TrainingPlanArnEquals=PLAN + "plan-b") == {"tp-b": PLAN + "plan-b"}
