"""The sentence flagger: golden cases (tests/data/flagger_cases.yaml), determinism, properties,
and the default threshold's promise on the seed articles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalize.flagger import Flagger, SentenceScore
from normalize.rules import RuleSet
from normalize.sentences import SentenceSplitter

ROOT = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((ROOT / "tests" / "data" / "flagger_cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


@pytest.fixture(scope="module")
def flagger(rules: RuleSet) -> Flagger:
    return Flagger(rules)


def _one(flagger: Flagger, text: str, names: frozenset[str] = frozenset()) -> SentenceScore:
    (score,) = flagger.score(text, [(0, len(text))], names, report=[0])  # reasons even when not low
    return score


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_golden(flagger: Flagger, case: dict) -> None:
    score = _one(flagger, case["text"], frozenset(case.get("names", [])))
    codes = [r.code for r in score.reasons]
    for code in case.get("present", []):
        assert code in codes, f"{code} missing ({case['why']}); got {codes}"
    for code in case.get("absent", []):
        assert code not in codes, f"{code} should not fire ({case['why']}); got {score.reasons}"
    if "suggestion" in case:
        first = next(r for r in score.reasons if r.code == case["present"][0])
        assert first.suggestion == case["suggestion"]
    assert all(r.message for r in score.reasons)


def test_flagged_cases(flagger: Flagger) -> None:
    """A fragment, a calque capital and an untranslated sentence fall below the default threshold."""
    for text in ("To study.", "Guvernul numește un prefect în fiecare județ pentru a fi reprezentantul său local.",
                 "Ministers met in Riga to discuss the security on the eastern flank of The alliance."):
        assert _one(flagger, text).confidence < flagger.threshold, text


def test_every_span_scored_in_order(flagger: Flagger) -> None:
    text = "NATO met in Riga.\nTo study. The the talks went on.\n\n“Yes,” he said."
    spans = [(0, 17), (18, 27), (28, 49), (51, len(text))]
    scores = flagger.score(text, spans)
    assert [(s.start, s.end) for s in scores] == spans
    assert flagger.score(text, []) == []


def test_deterministic(rules: RuleSet, flagger: Flagger) -> None:
    text = (ROOT / "corpus_in" / "004_bfe528cf5832c864.txt").read_text(encoding="utf-8")
    text += "\nGuvernul numește un prefect în fiecare județ pentru a fi reprezentantul său local.\n"
    spans = SentenceSplitter(rules.words.get("abbreviations", [])).spans(text)
    first = flagger.score(text, spans)
    assert flagger.score(text, spans) == first  # same instance, caches warm
    assert Flagger(rules).score(text, spans) == first  # a fresh instance


def test_weights_file(rules: RuleSet, flagger: Flagger) -> None:
    data = json.loads((ROOT / "rules" / "flagger" / "weights.json").read_text(encoding="utf-8"))
    assert 0 < data["threshold"] < 1
    assert len(data["features"]) == len(data["coef"]) == len(data["mean"]) == len(data["scale"])
    feats, _ = flagger.signals.sentence_text("The talks ended on Monday.")
    assert set(data["features"]) <= set(feats), "weights.json names a feature no signal produces"


def test_threshold_flags_at_most_15_percent_of_seeds(rules: RuleSet, flagger: Flagger) -> None:
    split = SentenceSplitter(rules.words.get("abbreviations", []))
    total = flagged = 0
    for path in sorted((ROOT / "corpus_in").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        scores = flagger.score(text, split.spans(text))
        total += len(scores)
        flagged += sum(s.confidence < flagger.threshold for s in scores)
    assert total and flagged / total <= 0.15


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), data=st.data())
def test_never_raises_and_confidence_in_range(flagger: Flagger, rules: RuleSet, text: str, data) -> None:
    spans = SentenceSplitter(rules.words.get("abbreviations", [])).spans(text)
    # and some arbitrary spans, even empty or overlapping ones
    n = len(text)
    extra = data.draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=3))
    spans += [(min(a, b), max(a, b)) for a, b in extra]
    names = frozenset(data.draw(st.lists(st.text(max_size=12), max_size=3)))
    scores = flagger.score(text, spans, names)
    assert len(scores) == len(spans)
    for s in scores:
        assert 0.0 <= s.confidence <= 1.0 and not math.isnan(s.confidence)
        assert all(r.code and r.message for r in s.reasons)
