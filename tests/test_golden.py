"""Golden cases: tests/golden/*.yaml hold input, expected output and why, one case each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import normalize

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mini_rules(tmp_path_factory) -> Path:
    """The shipped rules with tests/data/mini_gazetteer in place of the gazetteer."""
    root = tmp_path_factory.mktemp("mini") / "rules"
    shutil.copytree(ROOT / "rules", root, ignore=shutil.ignore_patterns("gazetteer"))
    shutil.copytree(Path(__file__).parent / "data" / "mini_gazetteer", root / "gazetteer")
    return root


def _load() -> list:
    params = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}/{case['name']}"))
    return params


@pytest.mark.parametrize("case", _load())
def test_golden(case, mini_rules):
    rules = mini_rules if case.get("rules") == "mini" else None
    # the passes' own flags; the sentence flagger has its cases in tests/data/flagger_cases.yaml
    res = normalize.clean(case["input"], only=case.get("passes"), rules=rules, flagger=False)
    assert res.text == case["expected"], case["why"]
    # the audit trail reproduces the output, and a second run changes nothing
    assert normalize.replay(case["input"], res.edits) == res.text
    assert normalize.clean(res.text, only=case.get("passes"), rules=rules, flagger=False).text == res.text
    codes = {r.code for f in res.flags for r in f.reasons}
    for code in case.get("flags") or []:
        assert code in codes, f"expected a {code!r} flag; got {sorted(codes)}"
    if case.get("no_flags"):
        assert not res.flags, [(f.text, [r.code for r in f.reasons]) for f in res.flags]
    for key, value in (case.get("metadata") or {}).items():
        assert res.metadata.get(key) == value
