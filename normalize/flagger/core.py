"""The flagger: every signal on every sentence, combined into one confidence.

:class:`Signals` runs the signal families (one module each: :mod:`.foreign`, :mod:`.oov`,
:mod:`.structure`, :mod:`.fluency`) and returns features and reasons; :class:`Flagger` adds the
:mod:`.combiner` and is what the pipeline uses. Everything is loaded once, in ``__init__``
(langdetect's profiles and the spelling-correction index on first use, or by
:meth:`Flagger.preload`).

The sentences of a document are scored together: every token is looked up once
(:class:`_TokenInfo`), and the fluency features and the word counts of all sentences come from
a few numpy operations over the document's tokens (each costs microseconds whatever its size,
so per sentence they would cost more than they save); the rest runs sentence by sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..model import Reason
from .combiner import Combiner
from .fluency import FluencyModel, Scored, Scoring
from .foreign import ForeignSignal
from .oov import RARE_FREQ, OovSignal
from .oov import features as oov_features
from .structure import StructureSignal, unmatched_marks
from .text import Sentence, kind_of, words_of

if TYPE_CHECKING:
    from ..rules import RuleSet

FLUENCY_FILE = "fluency.npz"
#: the model file's former format, still read when a rules directory has only that
LEGACY_FLUENCY_FILE = "fluency.json.gz"
_IMPLIED_BY_FOREIGN = frozenset({"oov", "fluency", "mt-style"})
WEIGHTS_FILE = "weights.json"
#: the combiner's contributions to a sentence's logit, most negative first (Combiner.contributions)
Blame = list[tuple[float, str]]
# which words explain a feature that pulled a sentence's confidence down (Signals.explain)
_FAMILY = {"lm_logprob": "fluency", "lm_gain": "fluency", "lm_low_share": "fluency",
           "mt_logprob": "mt-style", "mt_gain": "mt-style", "oov_share": "rare-words",
           "oov_any": "rare-words", "rare_share": "rare-words", "cap_unknown_share": "rare-words",
           "known_share": "rare-words", "log_words": "length"}


@dataclass(slots=True)
class SentenceScore:
    """The flagger's verdict on one span: ``confidence`` is P(the sentence is fine), in [0, 1]."""

    start: int
    end: int
    confidence: float
    reasons: list[Reason] = field(default_factory=list)


def model_dir(rules: RuleSet) -> Path:
    """``rules.root / "flagger"``; a rules directory without one uses the packaged model."""
    d = Path(rules.root) / "flagger"
    if (d / FLUENCY_FILE).exists() or (d / LEGACY_FLUENCY_FILE).exists():
        return d
    from ..rules import default_rules_dir

    return default_rules_dir() / "flagger"


def fluency_file(directory: Path) -> Path:
    """The fluency model file of a model directory (``fluency.npz``, else the former JSON)."""
    path = directory / FLUENCY_FILE
    return path if path.exists() or not (directory / LEGACY_FLUENCY_FILE).exists() else directory / LEGACY_FLUENCY_FILE


_LOG_WORDS = [math.log1p(n) for n in range(200)]

# what _TokenInfo packs into an int for a token: its code for the fluency models (offset to be
# positive) in the low bits, then flags
_CODE_OFFSET = 1 << 23
_CODE_MASK = (1 << 24) - 1
_FLAG_SHIFT = 24
_WORD, _UPPER, _LONG, _KEPT, _UNKNOWN, _RARE = 1, 2, 4, 8, 16, 32  # _KEPT: not a word of a known name
_BOS, _EOS = "\0<s>", "\0</s>"  # no token has two characters of which one is \0
_PAD = (_EOS, _BOS, _BOS)


def _count_table() -> tuple[np.ndarray, frozenset[int], frozenset[int]]:
    """What a token with each combination of flags counts for: words not in a name, of these
    the lowercase ones, and of those the known ones (the foreign gate); then capitalised
    unknown words, unknown lowercase words, and rare lowercase words, all three of two letters or
    more (OovSignal.measure: a capitalised first word does not count, see Signals._batch)."""
    table = np.zeros((6, 64), dtype=np.int8)
    for f in range(64):
        word = f & _WORD and f & _KEPT
        lower, long, unknown = not f & _UPPER, f & _LONG, f & _UNKNOWN
        table[:, f] = [bool(word), bool(word and lower), bool(word and lower and not unknown),
                       bool(word and long and not lower and unknown), bool(word and long and lower and unknown),
                       bool(word and long and lower and f & _RARE)]
    return table, frozenset(np.flatnonzero(table[3]).tolist()), frozenset(np.flatnonzero(table[4]).tolist())


_COUNTS, _CAP_UNKNOWN, _OOV = _count_table()


class _TokenInfo(dict):
    """token -> an int: its code for the fluency models, and for a word the flags of the oov and
    foreign counts (capitalised, two letters or more, not in ``skip``, unknown, rare); filled on
    first sight (up to a size). One per set of name words (``skip``)."""

    def __init__(self, fluency: FluencyModel, oov: OovSignal, skip: frozenset[str]) -> None:
        super().__init__()
        self.fluency, self.oov, self.skip = fluency, oov, skip
        self[_BOS] = fluency.bos + _CODE_OFFSET
        self[_EOS] = fluency.eos + _CODE_OFFSET

    def __missing__(self, tok: str) -> int:
        kind = kind_of(tok)
        got = self.fluency.code(tok, kind) + _CODE_OFFSET
        if kind == "w":
            low = tok.lower().replace("’", "'")
            f = self.oov.freq(low)
            flags = (_WORD | (_UPPER if tok[0].isupper() else 0) | (_LONG if len(tok) >= 2 else 0)
                     | (0 if low in self.skip else _KEPT) | (0 if f else _UNKNOWN) | (_RARE if 0 < f < RARE_FREQ else 0))
            got |= flags << _FLAG_SHIFT
        if len(self) < 100_000:
            self[tok] = got
        return got


def _log_words(n: int) -> float:
    return _LOG_WORDS[n] if n < 200 else math.log1p(n)


class Signals:
    """Features and reasons of sentences, before combining (the scripts fit on these)."""

    def __init__(self, rules: RuleSet, fluency: FluencyModel | None = None) -> None:
        english = rules.english
        self.abbreviations: list[str] = list(rules.words.get("abbreviations", []))
        self.fluency = fluency or FluencyModel.load(fluency_file(model_dir(rules)))
        self.oov = OovSignal(english.frequency, getattr(english, "dictionary", None))
        self.foreign = ForeignSignal()
        self.structure = StructureSignal()
        self._skip_cache: dict[frozenset[str], frozenset[str]] = {}
        self._infos: dict[frozenset[str], _TokenInfo] = {}

    def skip_words(self, names: frozenset[str]) -> frozenset[str]:
        """Lowercase words of gazetteer names: never out of vocabulary, never foreign."""
        got = self._skip_cache.get(names)
        if got is None:
            got = frozenset(w.lower().replace("’", "'") for n in names for w in words_of(n))
            if len(self._skip_cache) > 8:
                self._skip_cache.clear()
            self._skip_cache[names] = got
        return got

    def sentence(self, sent: Sentence, skip: frozenset[str] = frozenset(), unmatched: str | None = None,
                 detail: Callable[[dict[str, float]], bool] | bool = True,
                 blame: Callable[[dict[str, float]], Blame | None] | None = None,
                 ) -> tuple[dict[str, float], list[Reason]]:
        """Features and reasons of one sentence.

        The features are always computed; the costly reasons (spelling suggestions, the fluency
        quotes) only when ``detail`` is true, or returns true for the features. Without them
        the list holds the cheap reasons only (foreign, structure). With ``detail``, a sentence
        left without a reason gets one from :meth:`explain` when ``blame`` gives the features'
        contributions (the flagger does so for sentences it flags)."""
        want = detail if isinstance(detail, bool) else (lambda _, f: detail(f))
        return self._batch([sent], skip, [unmatched], want, blame)[0]

    def spans(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset(),
              detail: Callable[[int, dict[str, float]], bool] | bool = True,
              blame: Callable[[dict[str, float]], Blame | None] | None = None,
              ) -> list[tuple[dict[str, float], list[Reason]]]:
        """Features and reasons of each span of ``text``. ``detail``: whether span ``i`` with
        these features gets its costly reasons too; ``blame``: see :meth:`sentence`."""
        skip = self.skip_words(names) if names else frozenset()
        # quotes and brackets are balanced per paragraph (line): a quote may run over sentences
        by_line: dict[int, list[tuple[int, str]]] = {}
        marks: list[str | None] = []
        for s, e in spans:
            ls = text.rfind("\n", 0, s) + 1
            found = by_line.get(ls)
            if found is None:
                le = text.find("\n", e)
                line = text[ls : le if le >= 0 else len(text)]
                found = by_line[ls] = [(ls + at, m) for at, m in unmatched_marks(line)]
            marks.append(next((m for at, m in found if s <= at < e), None) if found else None)
        return self._batch([Sentence.of(text[s:e]) for s, e in spans], skip, marks, detail, blame)

    def _token_info(self, skip: frozenset[str]) -> _TokenInfo:
        got = self._infos.get(skip)
        if got is None:
            if len(self._infos) >= 4:
                self._infos.clear()
            got = self._infos[skip] = _TokenInfo(self.fluency, self.oov, skip)
        return got

    def _batch(self, sents: list[Sentence], skip: frozenset[str], marks: list[str | None],
               detail: Callable[[int, dict[str, float]], bool] | bool,
               blame: Callable[[dict[str, float]], Blame | None] | None,
               ) -> list[tuple[dict[str, float], list[Reason]]]:
        """Features and reasons of the sentences of one document (``marks``: each one's
        unbalanced quote or bracket). Every token of every sentence is looked up once
        (:class:`_TokenInfo`), in one sequence: the fluency features and the word counts of all
        sentences come from array operations over it; the rest is sentence by sentence."""
        if not sents:
            return []
        info = self._token_info(skip)
        # <s> <s>, then each sentence's tokens and </s> <s> <s> (the sequence FluencyModel.score reads)
        flat = [_BOS, _BOS]
        bounds: list[int] = []
        for s in sents:
            bounds.append(len(flat) - 2)
            flat += s.toks
            bounds.append(len(flat) - 1)
            flat += _PAD
        packed = np.fromiter(map(info.__getitem__, flat), dtype=np.int64, count=len(flat))
        fluency, scored = self.fluency.score((packed & _CODE_MASK) - _CODE_OFFSET, bounds)
        # per sentence, the word counts of the oov and foreign signals: sums over its tokens (from
        # flat[bounds[2 i] + 2], its first token, to flat[bounds[2 i + 1]], its end mark, which
        # counts nothing, like the <s> <s> after it)
        ends = np.array(bounds) + 2
        ends[1::2] -= 1
        counts = np.add.reduceat(np.take(_COUNTS, packed >> _FLAG_SHIFT, axis=1), ends, axis=1, dtype=np.int64)
        counts = counts[:, ::2].tolist()
        foreign, structure = self.foreign.from_counts, self.structure.features
        out: list[tuple[dict[str, float], list[Reason]]] = []
        for i, (sent, f_fluency, n, n_lower, known_lower, cap_unknown, n_oov, rare) in enumerate(
                zip(sents, fluency, *counts)):
            words = sent.words
            if cap_unknown and info[words[0]] >> _FLAG_SHIFT in _CAP_UNKNOWN:
                cap_unknown -= 1  # the first word is capitalised anyway
            f_foreign, r_foreign = foreign(sent, n, n_lower, known_lower)
            f_struct, r_struct = structure(sent, marks[i])
            feats = {"log_words": _log_words(len(words)), **f_foreign,
                     **oov_features(len(words), n_oov, cap_unknown, rare), **f_struct, **f_fluency}
            if not (detail if isinstance(detail, bool) else detail(i, feats)):
                out.append((feats, [*r_foreign, *r_struct]))
                continue
            scored_i = Scoring(scored, i)
            oov = [w for w in words if info[w] >> _FLAG_SHIFT in _OOV] if n_oov else ()
            reasons = [*r_foreign, *self.oov.reasons(oov), *r_struct, *self.fluency.reasons(sent, scored_i, feats)]
            if feats["foreign"]:  # unknown words and odd phrasing are what "untranslated" means
                reasons = [r for r in reasons if r.code not in _IMPLIED_BY_FOREIGN]
            if not reasons and blame is not None:
                contributions = blame(feats)
                if contributions is not None:
                    reasons = [self.explain(sent, feats, contributions, skip, None, scored_i)]
            out.append((feats, reasons))
        return out

    def explain(self, sent: Sentence | str, feats: dict[str, float], blame: Blame,
                skip: frozenset[str] = frozenset(), freqs: list[int] | None = None,
                scored: Scored | Scoring | Callable[[], Scored] | None = None) -> Reason:
        """Why a sentence with no reason of its own scored low: words for its worst features.

        ``blame`` is the combiner's contributions, most negative first. The first feature that
        pulled the confidence down and has words for it gives the reason; several weak ones
        together give "low-confidence". ``skip``: words of known names; ``freqs`` and ``scored``
        (what :meth:`sentence` measured, or a function that gives it) save measuring again.
        """
        if isinstance(sent, str):
            sent = Sentence.of(sent)
        for contribution, name in blame:
            if contribution > -0.15:
                break
            family = _FAMILY.get(name)
            if family in ("fluency", "mt-style"):
                return self.fluency.explain(sent, family, scored() if callable(scored) else scored)
            if family == "rare-words":
                freqs = self.oov.frequencies(sent) if freqs is None else freqs
                words = [w for i, (w, low, f) in enumerate(zip(sent.words, sent.lows, freqs))
                         if len(w) > 1 and low not in skip and f < RARE_FREQ and (i > 0 or not f)]
                if words:
                    shown = ", ".join(f"\u201c{w}\u201d" for w in dict.fromkeys(words[:4]))
                    return Reason("rare-words", f"Rare or unknown words for English news: {shown}; "
                                  "a garbled name or a mistranslated term?")
            if family == "length" and feats.get("log_words", 0.0) > math.log1p(30):
                return Reason("length", f"A long sentence ({len(sent.words)} words): machine "
                              "translation goes wrong more often in long sentences.")
        return Reason("low-confidence", "Several weak signals together (word choice, phrasing, "
                      "length) make this sentence look like a poor translation; none is decisive.")

    def sentence_text(self, text: str, names: frozenset[str] = frozenset()
                      ) -> tuple[dict[str, float], list[Reason]]:
        """Features and reasons of ``text`` taken as one sentence."""
        return self.spans(text, [(0, len(text))], names)[0]


class Flagger:
    """Scores sentences: lower confidence = more likely a bad translation.

    >>> from normalize.rules import RuleSet
    >>> f = Flagger(RuleSet.load())
    >>> [r.code for r in f.score("To study.", [(0, 9)])[0].reasons]
    ['fragment']
    """

    def __init__(self, rules: RuleSet) -> None:
        self.signals = Signals(rules)
        self.combiner = Combiner.load(model_dir(rules) / WEIGHTS_FILE)

    def preload(self) -> None:
        """Load what is otherwise loaded on first use (langdetect's profiles, the spelling
        correction index), so that forked workers share it and no document pays for it."""
        self.signals.foreign.preload()
        self.signals.oov.corrections()

    @property
    def threshold(self) -> float:
        """The default threshold: a sentence with confidence below it is flagged."""
        return self.combiner.threshold

    def score(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset(),
              explain_at: float | None = None, report: Collection[int] = ()) -> list[SentenceScore]:
        """One score per span, in two steps: the features of every sentence (cheap), then the
        reasons of the sentences a reviewer will see: those whose confidence is at most
        ``explain_at`` (default: :attr:`threshold`) and the spans listed in ``report``. The
        others get no reasons. A sentence at most ``explain_at`` always has a reason: if no
        signal fired on its own, the features that pulled its confidence down are put into
        words (:meth:`Signals.explain`)."""
        comb = self.combiner
        at = self.threshold if explain_at is None else explain_at
        report = set(report)
        confs: list[float] = []

        def detail(i: int, feats: dict[str, float]) -> bool:
            confs.append(comb.confidence(feats))
            return confs[-1] <= at or i in report

        def blame(feats: dict[str, float]) -> Blame | None:
            conf = confs[-1]
            return comb.contributions(feats) if conf <= at and conf < 1.0 else None

        out = []
        for (s, e), (_, reasons), conf in zip(spans, self.signals.spans(text, spans, names, detail, blame), confs):
            out.append(SentenceScore(s, e, conf, reasons))
        return out
