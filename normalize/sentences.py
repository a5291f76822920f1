"""Sentence spans: where a flag starts and ends.

A line break always ends a sentence (articles are scraped one paragraph a line); inside a
line, a full stop, question or exclamation mark ends one when a capital, digit or opening
quote follows, unless the word before it is a known abbreviation or an initial.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

_END = regex.compile(r"[.!?…]+[”’\"')\]»]*(?=[ \t\u00a0]+[“\"‘'(\[«]?[\p{Lu}\d])")


def _last_word(line: str, lo: int, hi: int) -> str:
    """The run of word characters and dots that ends at ``hi`` (not before ``lo``)."""
    j = hi
    while j > lo and (line[j - 1].isalnum() or line[j - 1] in "._"):
        j -= 1
    return line[j:hi]


class SentenceSplitter:
    def __init__(self, abbreviations: Iterable[str] = ()) -> None:
        self.abbreviations = frozenset(a.lower() for a in abbreviations)

    def spans(self, text: str) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        pos = 0
        for line in text.splitlines(keepends=True):
            self._line(line, pos, out)
            pos += len(line)
        return out

    def _line(self, line: str, offset: int, out: list[tuple[int, int]]) -> None:
        start = 0
        for m in _END.finditer(line):
            if m.group().startswith("."):
                word = _last_word(line, max(start, m.start() - 64), m.start()).lower()
                if word in self.abbreviations or (len(word) == 1 and word.isalpha()):
                    continue
            self._emit(line, start, m.end(), offset, out)
            start = m.end()
        self._emit(line, start, len(line), offset, out)

    @staticmethod
    def _emit(line: str, s: int, e: int, offset: int, out: list[tuple[int, int]]) -> None:
        seg = line[s:e]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if e - trail > s + lead:
            out.append((offset + s + lead, offset + e - trail))
