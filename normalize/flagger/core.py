"""The flagger: every signal on every sentence, combined into one confidence.

:class:`Signals` runs the signal families (one module each: :mod:`.foreign`, :mod:`.oov`,
:mod:`.structure`, :mod:`.fluency`) and returns features and reasons; :class:`Flagger` adds the
:mod:`.combiner` and is what the pipeline uses. Everything is loaded once, in ``__init__``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Reason
from .combiner import Combiner
from .fluency import FluencyModel
from .foreign import ForeignSignal
from .oov import OovSignal
from .structure import StructureSignal, unmatched_marks
from .text import _TOKEN, Sentence

if TYPE_CHECKING:
    from ..rules import RuleSet

FLUENCY_FILE = "fluency.json.gz"
_IMPLIED_BY_FOREIGN = frozenset({"oov", "fluency", "mt-style"})
WEIGHTS_FILE = "weights.json"


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
    if (d / FLUENCY_FILE).exists():
        return d
    from ..rules import default_rules_dir

    return default_rules_dir() / "flagger"


class Signals:
    """Features and reasons of sentences, before combining (the scripts fit on these)."""

    def __init__(self, rules: RuleSet, fluency: FluencyModel | None = None) -> None:
        english = rules.english
        self.abbreviations: list[str] = list(rules.words.get("abbreviations", []))
        self.fluency = fluency or FluencyModel.load(model_dir(rules) / FLUENCY_FILE)
        self.oov = OovSignal(english.frequency)
        self.foreign = ForeignSignal()
        self.structure = StructureSignal()
        self._skip_cache: dict[frozenset[str], frozenset[str]] = {}

    def skip_words(self, names: frozenset[str]) -> frozenset[str]:
        """Lowercase words of gazetteer names: never out of vocabulary, never foreign."""
        got = self._skip_cache.get(names)
        if got is None:
            got = frozenset(w.lower().replace("’", "'") for n in names
                            for w, _, _ in _TOKEN.findall(n) if w)
            if len(self._skip_cache) > 8:
                self._skip_cache.clear()
            self._skip_cache[names] = got
        return got

    def sentence(self, sent: Sentence, skip: frozenset[str] = frozenset(),
                 unmatched: str | None = None) -> tuple[dict[str, float], list[Reason]]:
        feats: dict[str, float] = {"log_words": math.log1p(len(sent.words))}
        reasons: list[Reason] = []
        freqs = self.oov.frequencies(sent)
        for f, r in (self.foreign.features(sent, freqs, skip), self.oov.features(sent, freqs, skip),
                     self.structure.features(sent, unmatched), self.fluency.features(sent)):
            feats.update(f)
            reasons.extend(r)
        if feats["foreign"]:  # unknown words and odd phrasing are what "untranslated" means
            reasons = [r for r in reasons if r.code not in _IMPLIED_BY_FOREIGN]
        return feats, reasons

    def spans(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset()
              ) -> list[tuple[dict[str, float], list[Reason]]]:
        skip = self.skip_words(names) if names else frozenset()
        # quotes and brackets are balanced per paragraph (line): a quote may run over sentences
        by_line: dict[int, list[tuple[int, str]]] = {}
        out = []
        for s, e in spans:
            ls = text.rfind("\n", 0, s) + 1
            marks = by_line.get(ls)
            if marks is None:
                le = text.find("\n", e)
                line = text[ls : le if le >= 0 else len(text)]
                marks = by_line[ls] = [(ls + at, m) for at, m in unmatched_marks(line)]
            mark = next((m for at, m in marks if s <= at < e), None) if marks else None
            out.append(self.sentence(Sentence.of(text[s:e]), skip, mark))
        return out

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

    @property
    def threshold(self) -> float:
        """The default threshold: a sentence with confidence below it is flagged."""
        return self.combiner.threshold

    def score(self, text: str, spans: list[tuple[int, int]], names: frozenset[str] = frozenset()
              ) -> list[SentenceScore]:
        conf = self.combiner.confidence
        return [SentenceScore(s, e, conf(feats), reasons)
                for (s, e), (feats, reasons) in zip(spans, self.signals.spans(text, spans, names))]
