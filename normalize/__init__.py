"""normalize: clean and normalize machine-translated news articles, with an audit trail.

>>> import normalize
>>> result = normalize.clean("We call on Russia to de-escalate “, stated Stoltenberg.")
>>> result.text
'We call on Russia to de-escalate”, stated Stoltenberg.'
>>> [(e.pass_name, e.rule, e.before, e.after) for e in result.edits]
[('punctuation', 'misdirected-closing-quote', ' “', '”')]
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import CleanResult, EditRecord, Flag, Reason, replay
from .rules import RulesError, RuleSet

if TYPE_CHECKING:
    from .pipeline import Normalizer

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # the pipeline (every pass, its libraries) is imported on first use: a command that does
    # not clean anything, such as a re-run with nothing new, starts without it
    if name == "Normalizer":
        from .pipeline import Normalizer

        return Normalizer
    raise AttributeError(f"module 'normalize' has no attribute {name!r}")


@lru_cache(maxsize=4)
def _default(rules: str | None, only: tuple[str, ...], skip: tuple[str, ...], flagger: bool,
             threshold: float | None) -> Normalizer:
    from .pipeline import Normalizer

    return Normalizer(rules, only=only, skip=skip, flagger=flagger, threshold=threshold)


def clean(text: str, *, rules: str | Path | None = None, only: list[str] | None = None,
          skip: list[str] | None = None, metadata: dict[str, Any] | None = None,
          flagger: bool = True, threshold: float | None = None) -> CleanResult:
    """Clean one document's text. Returns the cleaned text, its edits, flags and metadata.

    ``threshold``: sentences whose confidence is at most this are flagged (default: the fitted
    one; 1.0 flags every sentence with its confidence). ``flagger=False`` flags only the passes'
    suggestions and notes. The rule set is loaded once and cached; for many documents with
    custom settings build a :class:`Normalizer` and call its ``clean`` method.
    """
    n = _default(str(rules) if rules is not None else None, tuple(only or ()), tuple(skip or ()),
                 flagger, threshold)
    return n.clean(text, metadata=metadata)


__all__ = ["CleanResult", "EditRecord", "Flag", "Normalizer", "Reason", "RuleSet", "RulesError",
           "__version__", "clean", "replay"]
