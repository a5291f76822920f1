"""The seed articles: what ../shared/seeds/expected.json says cleaning must achieve.

The expectations are read from the shared contract when it is beside the checkout, and from
the copy in tests/data/ otherwise, so a clone on its own still runs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import normalize

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus_in"
_shared = ROOT.parent / "shared" / "seeds" / "expected.json"
EXPECTED_FILE = _shared if _shared.exists() else ROOT / "tests" / "data" / "expected.json"
EXPECTED = {k: v for k, v in json.loads(EXPECTED_FILE.read_text(encoding="utf-8")).items()
            if k.endswith(".txt")}


@pytest.fixture(scope="module")
def cleaned() -> dict[str, normalize.CleanResult]:
    return {name: normalize.clean((SEEDS / name).read_text(encoding="utf-8")) for name in EXPECTED}


def _cases(key: str) -> list:
    return [pytest.param(name, item, id=f"{name[:3]}-{str(item)[:40]}")
            for name, exp in EXPECTED.items() for item in exp.get(key, [])]


@pytest.mark.parametrize("name,text", _cases("must_remove"))
def test_must_remove(cleaned, name, text):
    res = cleaned[name]
    assert text not in res.text, "debris survived cleaning"
    removed = [e for e in res.edits if e.action in ("remove", "fix") and text in e.before]
    assert removed, "the removed text is not in the audit trail"


@pytest.mark.parametrize("name,pieces", _cases("must_join"))
def test_must_join(cleaned, name, pieces):
    lines = cleaned[name].text.splitlines()
    assert any(all(p in line for p in pieces) and
               [line.index(p) for p in pieces] == sorted(line.index(p) for p in pieces)
               for line in lines), f"{pieces} are not joined on one line in order"


@pytest.mark.parametrize("name,text", _cases("must_keep"))
def test_must_keep(cleaned, name, text):
    assert text in cleaned[name].text


@pytest.mark.parametrize("name,fix", _cases("must_fix"))
def test_must_fix(cleaned, name, fix):
    res = cleaned[name]
    assert fix["before"] not in res.text
    assert fix["after"] in res.text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_audit_trail_replays_and_is_idempotent(cleaned, name):
    res = cleaned[name]
    assert normalize.replay(res.original, res.edits) == res.text
    assert normalize.clean(res.text).text == res.text


@pytest.mark.parametrize("name,text", _cases("must_flag"))
def test_must_flag(cleaned, name, text):
    flags = cleaned[name].flags
    hits = [f for f in flags if text in f.text]
    assert hits, f"no flagged sentence contains {text!r}"
    assert any(r.suggestion or r.message for f in hits for r in f.reasons)


def test_flagged_share_of_the_seeds_is_at_most_15_percent(cleaned):
    from normalize.rules import RuleSet
    from normalize.sentences import SentenceSplitter

    split = SentenceSplitter(RuleSet.load().words.get("abbreviations", []))
    sentences = sum(len(split.spans(res.text)) for res in cleaned.values())
    flags = sum(len(res.flags) for res in cleaned.values())
    assert flags <= 0.15 * sentences, f"{flags} of {sentences} sentences flagged"
