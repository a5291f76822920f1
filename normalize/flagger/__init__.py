"""The sentence flagger: which sentences of a cleaned article a reviewer should look at.

>>> from normalize.rules import RuleSet
>>> from normalize.flagger import Flagger
>>> flagger = Flagger(RuleSet.load())
>>> [s.confidence < flagger.threshold for s in flagger.score("To study.", [(0, 9)])]
[True]

Signal families, one module each: :mod:`.foreign` (untranslated text), :mod:`.oov` (unknown
words), :mod:`.structure` (fragments, repetitions, unbalanced marks, capitals), :mod:`.fluency`
(a class trigram model of English); :mod:`.combiner` turns their features into a confidence.
"""

from __future__ import annotations

from .core import Flagger, SentenceScore, Signals

__all__ = ["Flagger", "SentenceScore", "Signals"]
