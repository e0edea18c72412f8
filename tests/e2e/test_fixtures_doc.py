"""docs/FIXTURES.md says what the server does:

* each built-in scenario's transition list in the doc is the verified one
  (scenario_plans.PLANS, walked against the server by test_scenarios.py);
* every JSON example that is a whole document loads (and validates against the schema);
* the boto3 examples marked `<!-- example-test -->` pass against a real server.
"""

import json
import re
import types

import botocore.endpoint
import pytest

import scenario_plans as P
from helpers import REPO

DOC = (REPO / "docs" / "FIXTURES.md").read_text()
LINE_RE = re.compile(r"^\s*\+([0-9.]+) s\s+(\w+)\s+(\w+) — (.*)$")


def plan_blocks():
    out = {}
    for m in re.finditer(r"<!-- plan: (\S+) -->\n```text\n(.*?)```", DOC, re.S):
        assert m.group(1) not in out, f"plan {m.group(1)} shown twice"
        out[m.group(1)] = m.group(2).splitlines()
    return out


def test_every_plan_is_in_the_doc_exactly_as_verified():
    blocks = plan_blocks()
    assert sorted(blocks) == sorted(P.PLANS)
    for key, lines in blocks.items():
        got = []
        for line in lines:
            m = LINE_RE.match(line)
            assert m, f"{key}: cannot read {line!r}"
            got.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
        want = [(float(at), P.primary_of(st), st, msg) for at, st, msg in P.PLANS[key]["changes"]]
        assert got == want, key


def test_every_builtin_scenario_has_a_section():
    for name in P.BUILTIN_SCENARIOS:
        assert f"\n### `{name}`\n" in DOC, name
        assert f"<!-- plan: {name} -->" in DOC, name


def json_documents():
    docs = []
    for block in re.findall(r"```json\n(.*?)```", DOC, re.S):
        try:
            docs.append(json.loads(block))
        except ValueError:
            assert "..." in block, f"a JSON example that is not JSON:\n{block}"
    return docs


def test_the_json_examples_of_the_doc_load_in_order(make_server):
    srv = make_server()
    docs = json_documents()
    assert len(docs) >= 4
    for d in docs:
        d.pop("$schema", None)
        status, body, raw = srv.admin("POST", "/_sagemock/fixtures", d)
        assert status == 200, f"{raw!r}\n{json.dumps(d)[:300]}"


def test_the_json_examples_validate_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "fixtures" / "sagemock-fixtures.schema.json").read_text())
    v = jsonschema.Draft202012Validator(schema)
    for d in json_documents():
        assert [e.message for e in v.iter_errors(d)] == []


def test_the_boto3_examples_of_the_doc_pass(make_server, monkeypatch):
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda s: None))
    srv = make_server()
    blocks = re.findall(r"<!-- example-test -->\n```python\n(.*?)```", DOC, re.S)
    assert len(blocks) == 2
    namespace = {}
    for code in blocks:
        exec(compile(code.replace("http://127.0.0.1:9080", srv.url), "FIXTURES.md", "exec"),
             namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert len(tests) == 3
    for t in tests:
        t()
