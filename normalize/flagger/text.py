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
# that is not a space is one punctuation token. No groups: findall returns the tokens, and a
# token's kind is that of its first character (see kind_of).
_TOKEN = re.compile(
    r"[^\W\d_]+(?:['’\-][^\W\d_]+)*"  # a word: letters (stdlib re is faster than regex here)
    r"|\d+(?:[.,:/]\d+)*"  # a number
    r"|[^\s\w]|_"  # one punctuation mark
)
# the same tokens for ASCII text (most sentences): plain ranges are cheaper to test than the
# Unicode categories. The marks are every ASCII character but letters, digits and what \s
# matches in a str pattern (tab to carriage return, \x1c-\x1f and the space).
_TOKEN_ASCII = re.compile(
    r"[A-Za-z]+(?:['\-][A-Za-z]+)*"
    r"|[0-9]+(?:[.,:/][0-9]+)*"
    r"|[^A-Za-z0-9\t\n\x0b\x0c\r\x1c-\x1f ]"
)

#: Opening quotes and brackets: a capital after one of these is not "mid-sentence".
OPENERS = frozenset("“\"‘'«([{„‚")


def kind_of(tok: str) -> str:
    """The kind of a token: "w" word, "n" number, "p" punctuation. ``\\d`` in a str pattern is
    a Unicode decimal digit (``str.isdecimal``) and ``\\w`` is ``str.isalnum`` or "_", so a
    word starts with an alphanumeric character that is not a decimal digit ("²" included)."""
    c = tok[:1]
    if c.isdecimal():
        return "n"
    return "w" if c.isalnum() else "p"


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, in order."""
    return (_TOKEN_ASCII if text.isascii() else _TOKEN).findall(text)


def words_of(text: str) -> list[str]:
    """The words of ``text``, in order."""
    if text.isascii():
        return [t for t in _TOKEN_ASCII.findall(text) if t[0].isalpha()]
    return [t for t in _TOKEN.findall(text) if t[0].isalnum() and not t[0].isdecimal()]


@dataclass(slots=True)
class Sentence:
    """One span of the document, tokenized: parallel lists, cheap to build and to read."""

    text: str
    toks: list[str]  # every token, in order
    words: list[str]  # the words, in order
    lows: list[str]  # the words, lowercased, apostrophes as "'"

    @property
    def kinds(self) -> str:
        """One letter a token: "w" word, "n" number, "p" punctuation (see :func:`kind_of`)."""
        return "".join(map(kind_of, self.toks))

    @classmethod
    def of(cls, text: str) -> Sentence:
        if text.isascii():
            toks = _TOKEN_ASCII.findall(text)
            words = [t for t in toks if t[0].isalpha()]
            # one lower() for all the words: they hold no space
            lows = " ".join(words).lower().split(" ") if words else []
        else:
            toks = _TOKEN.findall(text)
            words = [t for t in toks if t[0].isalnum() and not t[0].isdecimal()]
            # a space is neither cased nor case-ignorable: lowercasing the joined words is
            # lowercasing each (final sigma included)
            lows = " ".join(words).lower().replace("’", "'").split(" ") if words else []
        return cls(text, toks, words, lows)
