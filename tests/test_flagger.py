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


# -- the fast paths give what the plain ones give -------------------------------------------------
_REFERENCE_TOKEN = __import__("re").compile(
    r"([^\W\d_]+(?:['’\-][^\W\d_]+)*)|(\d+(?:[.,:/]\d+)*)|([^\s\w]|_)")


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
       | st.text(alphabet="abcAB12 .,'’-_Σσς²\u00a0\x1c\n", max_size=40))
def test_tokens_are_those_of_the_grouped_pattern(text: str) -> None:
    """One findall without groups (an ASCII pattern for ASCII text), kinds from the first
    character, and one lower() for all the words give what the pattern with a group per kind
    gives, word by word."""
    from normalize.flagger.text import Sentence

    found = _REFERENCE_TOKEN.findall(text)
    sent = Sentence.of(text)
    assert sent.toks == [w or n or p for w, n, p in found]
    assert sent.kinds == "".join("w" if w else "n" if n else "p" for w, n, _ in found)
    assert sent.words == [w for w, _, _ in found if w]
    assert sent.lows == [w.lower().replace("’", "'") for w, _, _ in found if w]


def test_document_batch_equals_sentence_by_sentence(flagger: Flagger) -> None:
    """Signals.spans scores all sentences of a document at once; each sentence alone gives the
    same features and reasons (possessives, names, an empty span, a non-English sentence)."""
    from normalize.flagger.text import Sentence

    text = ("NATO's summit in Vilnius ended on Tuesday. The the ministers agreed to meet again in "
            "1999 and 2024. To study.\n“Yes,” he said, Russia’s army's men went home.\n\n"
            "Guvernul numește un prefect în fiecare județ pentru a fi reprezentantul său local. x")
    spans = [(0, 42), (43, 109), (110, 119), (120, 172), (172, 172), (174, len(text) - 2), (len(text) - 1, len(text))]
    names = frozenset({"Vilnius", "NATO"})
    signals = flagger.signals
    batch = signals.spans(text, spans, names)
    skip = signals.skip_words(names)
    for (s, e), (feats, reasons) in zip(spans, batch):
        alone = signals.spans(text[s:e], [(0, e - s)], names)[0]
        assert alone[0] == feats and alone[1] == reasons, text[s:e]
        one = signals.sentence(Sentence.of(text[s:e]), skip)
        assert one[0] == feats


def test_model_file_round_trip(tmp_path: Path, rules: RuleSet) -> None:
    """fluency.npz: written byte for byte the same; the model built from it and from the same
    data as lists (build()'s form) score alike."""
    from normalize.flagger.core import Signals
    from normalize.flagger.fluency import FluencyModel, read_data, write_data

    path = ROOT / "rules" / "flagger" / "fluency.npz"
    data = read_data(path)
    write_data(data, tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()
    lists = {k: ({t: v.ravel().tolist() for t, v in d.items()} if k in ("english", "bad_mt") else d)
             for k, d in data.items()}
    text = "The talks ended on Monday. Russia's army went went home in 1999 .\n"
    spans = [(0, 26), (27, len(text) - 1), (0, 0)]
    by_lists = Signals(rules, fluency=FluencyModel(lists)).spans(text, spans)
    by_arrays = Signals(rules, fluency=FluencyModel(data)).spans(text, spans)
    assert by_lists == by_arrays
    assert by_arrays[1][0]["lm_logprob"] < 0


def test_sparse_langdetect_profiles_are_langdetects() -> None:
    """The sparse profiles hold langdetect's own rows, and the detector (the compiled n-grams and
    random walks when the kernel is built, else numpy) answers as langdetect's own: the same
    languages with the same probabilities, bit for bit, on texts of every kind: MLQE-PE source
    and machine-translated sentences in five languages and scripts (when ../shared/data is beside
    the checkout), mixed and odd texts."""
    import gzip

    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    from normalize.flagger import profiles
    from normalize.flagger.profiles import SparseDetector, load_factory

    dense = DetectorFactory()
    dense.load_profile(PROFILES_DIRECTORY)
    dense.set_seed(0)
    sparse, detector = load_factory(seed=0, n_trial=3)
    assert detector is SparseDetector
    assert sparse.langlist == dense.langlist
    assert set(sparse.word_lang_prob_map) == set(dense.word_lang_prob_map)
    assert all(sparse.word_lang_prob_map[k] == row for k, row in dense.word_lang_prob_map.items())
    texts = ["Der Minister sagte am Montag, dass die Gespräche fortgesetzt werden.",
             "Ministrul a declarat luni că discuțiile vor continua săptămâna viitoare.",
             "The talks will go on next week, the minister said on Monday.",
             "", "   ", "ABC DEF", "東京は日本の首都です。", "Ελληνικά κείμενα εδώ", "https://x.org mail@x.org",
             "Vi\u1ec7t Nam", "a", "ПРЕЗИДЕНТ СКАЗАЛ", "NATO, EU  and   UN."]
    data = ROOT.parent / "shared" / "data" / "mlqe-pe"
    for path in sorted(data.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for k, line in enumerate(fh):
                if k % 100 == 0:
                    row = json.loads(line)
                    texts += [row["src"], row["mt"]]
    if data.is_dir():  # the calibration data beside the checkout (CI has it; a bare clone may not)
        assert len(texts) > 500

    def answer(factory, cls, text):
        det = cls(factory)
        det.n_trial = 3
        det.append(text)
        try:
            return [(r.lang, float(r.prob)) for r in det.get_probabilities()]
        except Exception as e:  # no n-gram it knows
            return str(e)

    for text in texts:
        assert answer(sparse, detector, text) == answer(dense, type(dense.create()), text), text
    if profiles._COMPILED is not None:  # and the numpy path answers alike too
        saved, profiles._COMPILED = profiles._COMPILED, None
        try:
            for text in texts[:60]:
                assert answer(sparse, detector, text) == answer(dense, type(dense.create()), text), text
        finally:
            profiles._COMPILED = saved
    if profiles._COMPILED is None:
        assert not sparse.word_lang_prob_map.compact()  # nothing to compact into
        return
    # compacted (the dict's entries dropped, read through the compiled index): the same map
    # and the same answers
    probe = ["a", "th", "the", "zzq", "東京", "\u0441\u043a", 7]
    before = {g: (g in sparse.word_lang_prob_map, sparse.word_lang_prob_map[g] if g in dense.word_lang_prob_map
                  else None) for g in probe}
    assert sparse.word_lang_prob_map.compact()
    compact = sparse.word_lang_prob_map
    assert dict.__len__(compact) == 0 and len(compact) == len(dense.word_lang_prob_map)
    assert set(compact) == set(dense.word_lang_prob_map)
    assert all(compact[k] == row for k, row in dense.word_lang_prob_map.items())
    assert before == {g: (g in compact, compact[g] if g in dense.word_lang_prob_map else None) for g in probe}
    with pytest.raises(KeyError):
        compact["zzq"]
    for text in texts[::5]:
        assert answer(sparse, detector, text) == answer(dense, type(dense.create()), text), text


def test_corrections_are_the_frequent_words_one_edit_away() -> None:
    """The hashed deletion index finds exactly the frequent words at edit distance 1."""
    from rapidfuzz.distance import OSA

    from normalize.flagger.oov import Corrections

    dictionary = {"nation": 900, "notion": 800, "ration": 700, "station": 600, "nations": 2000,
                  "anti": 600, "ant": 5000, "tan": 550, "rare": 10, "a": 9000, "nto": 600}
    corrections = Corrections(dictionary)
    for word in ("nation", "natoin", "naton", "nationz", "xation", "nto", "tna", "ant", "zzzz", ""):
        expected = sorted(((f, w) for w, f in dictionary.items() if f >= 500 and len(w) >= 2 and w != word
                           and OSA.distance(word, w) == 1), reverse=True)
        assert corrections.near(word) == expected, word
