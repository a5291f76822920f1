"""The pipeline's flags: the sentence flagger and the passes' suggestions, on one sentence list.

A sentence is flagged when its confidence is at most the threshold, or when a pass left a
suggestion or note on it; every flag says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from normalize import Normalizer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "corpus_in").glob("*.txt"))
#: reason codes that come from the passes (rules of the gazetteer pass), not from the flagger
PASS_CODES = {"variant", "garble", "foreign-acronym", "calque", "anchored-garble", "near-miss",
              "inconsistent-spelling", "acronym-mismatch", "acronym-genitive"}


@pytest.fixture(scope="module")
def default() -> Normalizer:
    return Normalizer()


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in SEEDS}


def test_every_flag_says_why(default, texts):
    for name, text in texts.items():
        for f in default.clean(text).flags:
            assert f.reasons, f"{name}: flag without a reason: {f.text!r}"
            assert all(r.message for r in f.reasons)
            assert 0.0 <= f.confidence <= 1.0


def test_flags_are_at_most_the_threshold_unless_a_pass_suggested(default, texts):
    for text in texts.values():
        for f in default.clean(text).flags:
            codes = {r.code for r in f.reasons}
            assert f.confidence <= default.threshold or codes & PASS_CODES, (f.text, codes)


def test_flags_point_into_the_cleaned_text(default, texts):
    for text in texts.values():
        res = default.clean(text)
        for f in res.flags:
            assert res.text[f.start : f.end] == f.text


def test_threshold_one_reports_every_sentence(texts):
    everything = Normalizer(threshold=1.0)
    text = texts[SEEDS[0].name]
    res = everything.clean(text)
    spans = everything.splitter.spans(res.text)
    assert [(f.start, f.end) for f in res.flags] == spans
    # the good ones carry no invented reason
    assert any(not f.reasons and f.confidence > 0.8 for f in res.flags)


def test_threshold_zero_keeps_only_the_passes_suggestions(texts):
    strict = Normalizer(threshold=0.0)
    off = Normalizer(flagger=False)
    for text in texts.values():
        got = strict.clean(text).flags
        assert [(f.start, f.end) for f in got] == [(f.start, f.end) for f in off.clean(text).flags]
        assert all({r.code for r in f.reasons} & PASS_CODES for f in got)


def test_a_lower_threshold_flags_a_subset(texts):
    low, high = Normalizer(threshold=0.45), Normalizer(threshold=0.6)
    for text in texts.values():
        a = {(f.start, f.end) for f in low.clean(text).flags}
        b = {(f.start, f.end) for f in high.clean(text).flags}
        assert a <= b


def test_confidence_is_the_lower_of_flagger_and_suggestion(default):
    res = default.clean("Denmark wants to send four F-16 bombers to Lithuania.")
    (flag,) = res.flags
    assert "calque" in {r.code for r in flag.reasons}
    assert flag.confidence <= 0.4


def test_flagging_is_deterministic(texts):
    a, b = Normalizer(), Normalizer()
    for text in texts.values():
        assert [f.to_json() for f in a.clean(text).flags] == [f.to_json() for f in b.clean(text).flags]


def test_a_reasonless_low_score_is_put_into_words(default):
    # a sentence below the threshold on the model's features alone still gets a reason
    res = Normalizer(threshold=0.9).clean("It comes after he has vowed a tougher response to it.")
    for f in res.flags:
        assert f.reasons and f.reasons[0].message


def test_bad_threshold_is_refused():
    with pytest.raises(ValueError):
        Normalizer(threshold=1.5)
