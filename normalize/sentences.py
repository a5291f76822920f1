"""Sentence spans: where a flag starts and ends.

A line break always ends a sentence (articles are scraped one paragraph a line); inside a
line, a full stop, question or exclamation mark ends one when a capital, digit or opening
quote follows, unless the word before it is a known abbreviation or an initial. The kernel
(:func:`normalize.kernel.split`) does the cutting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import kernel

_K: Any = kernel.compiled or kernel


class SentenceSplitter:
    def __init__(self, abbreviations: Iterable[str] = ()) -> None:
        self._abbreviations = _K.Abbreviations(abbreviations)
        self.abbreviations: frozenset[str] = self._abbreviations.words

    def spans(self, text: str) -> list[tuple[int, int]]:
        return _K.split(text, self._abbreviations)
