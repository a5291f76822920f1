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

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Flagger, SentenceScore, Signals

__all__ = ["Flagger", "SentenceScore", "Signals"]


def __getattr__(name: str) -> Any:
    """The flagger's classes, imported on first use (the models, the kernel and numpy are heavy;
    the runner reads only :mod:`.files` when a re-run has nothing to do)."""
    if name in __all__:
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
