"""Tokens of one sentence, computed once and shared by every signal.

A sentence is cut into words (letters, with inner apostrophes and hyphens), numbers and single
punctuation marks. Signals read these lists; none of them runs its own tokenizer in the hot
path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# words: letters, inner ' ’ - joining letter runs ("don't", "de-escalate"; "F-16" is
# the word "F", "-" and the number "16"); numbers: digits with inner separators; anything else
# that is not a space is one punctuation token.
_TOKEN = re.compile(
    r"([^\W\d_]+(?:['’\-][^\W\d_]+)*)"  # a word: letters (stdlib re is faster than regex here)
    r"|(\d+(?:[.,:/]\d+)*)"  # a number
    r"|([^\s\w]|_)"  # one punctuation mark
)

#: Opening quotes and brackets: a capital after one of these is not "mid-sentence".
OPENERS = frozenset("“\"‘'«([{„‚")


@dataclass(slots=True)
class Sentence:
    """One span of the document, tokenized: parallel lists, cheap to build and to read."""

    text: str
    toks: list[str]  # every token, in order
    kinds: str  # one letter a token: "w" word, "n" number, "p" punctuation
    words: list[str]  # the words, in order
    lows: list[str]  # the words, lowercased, apostrophes as "'"

    @classmethod
    def of(cls, text: str) -> Sentence:
        found = _TOKEN.findall(text)
        words = [w for w, _, _ in found if w]
        return cls(
            text,
            [w or n or p for w, n, p in found],
            "".join(["w" if w else "n" if n else "p" for w, n, _ in found]),
            words,
            [w.lower().replace("’", "'") for w in words],
        )
