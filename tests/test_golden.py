"""Golden cases: tests/golden/*.yaml hold input, expected output and why, one case each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import normalize

GOLDEN = Path(__file__).parent / "golden"


def _load() -> list:
    params = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}/{case['name']}"))
    return params


@pytest.mark.parametrize("case", _load())
def test_golden(case):
    res = normalize.clean(case["input"], only=case.get("passes"))
    assert res.text == case["expected"], case["why"]
    # the audit trail reproduces the output, and a second run changes nothing
    assert normalize.replay(case["input"], res.edits) == res.text
    assert normalize.clean(res.text, only=case.get("passes")).text == res.text
    for key, value in (case.get("metadata") or {}).items():
        assert res.metadata.get(key) == value
