"""Out-of-vocabulary words: lowercase words the English word list does not know.

Capitalised words (likely names), numbers, single letters and gazetteer names are skipped.
A hyphenated word is fine when each part is known. A correction is offered only when
one clear candidate is found among pyspellchecker's frequent words (one at edit distance 1, or
one far more frequent than the rest); it is looked up for the unknown words of the sentences a
reviewer will see, through a deletion index built once, and cached.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from typing import Any

from .. import kernel
from ..model import Reason
from ..rules import frequent_items
from .text import Sentence

_K: Any = kernel.compiled or kernel

MAX_REASONS = 3
#: a candidate is "clear" when it is this many times more frequent than the next one
CLEAR_RATIO = 20
#: lowercase particles of names, never out of vocabulary
NAME_PARTICLES = frozenset({"von", "der", "van", "den", "de", "del", "della", "di", "da", "du", "le",
                            "la", "al", "el", "bin", "ibn", "ter", "ten", "dos", "das", "zu"})
#: prefixes English glues to any word ("cyberattacks", "pre-deployed", "high-tech" is not one)
PREFIXES = ("anti", "co", "counter", "cyber", "de", "ex", "geo", "hyper", "inter", "micro", "mid",
            "multi", "neo", "non", "over", "post", "pre", "pro", "re", "self", "semi", "sub",
            "super", "trans", "ultra", "un", "under")
#: a word the list knows but this rarely (pyspellchecker counts) is "rare"
RARE_FREQ = 100


#: the oov reason's wording, with a suggestion and without (the compiled kernel words it from these too)
OOV_SUGGESTED = "\u201c{}\u201d is not an English word (not in the dictionary); did you mean \u201c{}\u201d?"
OOV_PLAIN = "\u201c{}\u201d is not an English word (not in the dictionary): a misspelling or an untranslated word?"

#: only words at least this frequent are offered as corrections: a rare word is no clear fix
SUGGEST_MIN_FREQ = 500


def Corrections(dictionary: dict[str, int], min_freq: int = SUGGEST_MIN_FREQ) -> Any:
    """Frequent words one edit away from a word: the kernel's index (:class:`normalize.kernel.Corrections`)
    over the words of ``dictionary`` at least ``min_freq`` frequent, 2 to 31 letters long."""
    freq = {w: f for w, f in frequent_items(dictionary, min_freq) if 2 <= len(w) <= 31}
    return _K.Corrections(list(freq), list(freq.values()))


# British -> American endings: centre, colour, organise(d), analyse, defence, travelled
BRITISH = (("tres", "ters"), ("tre", "ter"), ("our", "or"), ("ours", "ors"), ("oured", "ored"),
            ("ouring", "oring"), ("ise", "ize"), ("ised", "ized"), ("ises", "izes"), ("ising", "izing"),
            ("isation", "ization"), ("isations", "izations"), ("yse", "yze"), ("ysed", "yzed"),
            ("ence", "ense"), ("ences", "enses"), ("lled", "led"), ("lling", "ling"), ("ller", "ler"),
            ("llers", "lers"), ("ogue", "og"), ("ogues", "ogs"), ("mme", "m"), ("mmes", "ms"))


_GB_ENDINGS = tuple(gb for gb, _ in BRITISH)


def _us_spellings(low: str) -> list[str]:
    out = ([low[: -len(gb)] + us for gb, us in BRITISH if low.endswith(gb) and len(low) > len(gb) + 2]
           if low.endswith(_GB_ENDINGS) else [])
    if "our" in low:  # favourite, colourful
        out.append(low.replace("our", "or"))
    if "ae" in low or "oe" in low:
        out.append(low.replace("ae", "e").replace("oe", "e"))
    return out


class OovSignal:
    def __init__(self, frequency: Callable[[str], int], dictionary: dict[str, int] | None = None) -> None:
        """``dictionary``: the word list behind ``frequency`` (lowercase word -> frequency, so
        that ``frequency(w) == dictionary.get(w.lower(), 0)``): read first when measuring words,
        and searched for spelling suggestions (pyspellchecker's list is loaded for these when it
        is not given; pass the one the rules already hold)."""
        self.frequency = frequency
        self._dictionary: dict[str, int] | None = dictionary
        # what frequency() reads, when known (a word's frequency, if positive, is what freq() gives)
        self._words = dictionary if dictionary and min(dictionary.values()) > 0 else None
        self._corrections: Any = None
        self._suggestions: dict[str, str | None] = {}
        self._known: dict[str, int] = {}

    @property
    def words(self) -> dict[str, int] | None:
        """The word list behind :meth:`freq`, when every frequency in it is positive (else None)."""
        return self._words

    def freq(self, low: str) -> int:
        """Frequency of a lowercase word (0 = unknown, cached). Possessives count as their word,
        hyphenated words as their rarest part, British spellings as American ones (the word list
        is American), a word with a common prefix ("cyberattacks", "pre-deployed") as the rest;
        name particles ("von der Leyen") are known."""
        f = self._words.get(low) if self._words is not None else None  # a word of the list: its own
        if f is not None:
            return f
        f = self._known.get(low)
        if f is None:
            f = self.frequency(low) or (RARE_FREQ if low in NAME_PARTICLES else 0)
            if not f and low.endswith("'s"):
                f = self.freq(low[:-2])
            if not f and "-" in low:
                parts = [p for p in low.split("-") if p and p not in PREFIXES]
                f = min((self.freq(p) for p in parts), default=0) if parts else 0
            if not f:
                f = max((self.frequency(v) for v in _us_spellings(low)), default=0)
            if not f and low.startswith(PREFIXES):
                for p in PREFIXES:
                    if low.startswith(p) and len(low) - len(p) >= 3:
                        f = self.frequency(low[len(p):])
                        if f:
                            break
            if len(self._known) < 100_000:
                self._known[low] = f
        return f

    def corrections(self) -> Any:
        """The correction index (built on first use, or by :meth:`preload`)."""
        if self._corrections is None:
            if self._dictionary is None:
                self._dictionary = self._spelling_dictionary()
            self._corrections = Corrections(self._dictionary)
        return self._corrections

    def suggestion(self, word: str) -> str | None:
        """The one clear correction of an unknown lowercase word, or None (cached)."""
        if word in self._suggestions:
            return self._suggestions[word]
        best: str | None = None
        if "-" not in word and 4 <= len(word) <= 30:
            cands = self.corrections().near(word)
            if len(cands) == 1 or (len(cands) > 1 and cands[0][0] >= CLEAR_RATIO * cands[1][0]):
                best = cands[0][1]
        if len(self._suggestions) < 50_000:
            self._suggestions[word] = best
        return best

    def frequencies(self, sent: Sentence) -> list[int]:
        """English frequency of each word of the sentence (0 = unknown)."""
        return self._frequencies(sent.lows)

    def _frequencies(self, lows: list[str]) -> list[int]:
        if self._words is not None:  # a word of the list is its own frequency: only the others need freq()
            out = list(map(self._words.get, lows, repeat(-1)))
            if -1 in out:
                out = list(map(self._known.get, lows, out))
        else:
            out = list(map(self._known.get, lows, repeat(-1)))
        if -1 in out:
            out = [f if f >= 0 else self.freq(low) for f, low in zip(out, lows)]
        return out

    @staticmethod
    def _spelling_dictionary() -> dict[str, int]:
        from spellchecker import SpellChecker

        return SpellChecker(distance=1).word_frequency.dictionary

    def reasons(self, oov: list[str]) -> list[Reason]:
        """One reason per unknown word (at most MAX_REASONS), with a spelling suggestion where
        one is clear: a dictionary search, so only for sentences a reviewer will see."""
        reasons: list[Reason] = []
        seen: set[str] = set()
        for w in oov:
            if w in seen or len(reasons) >= MAX_REASONS:
                continue
            seen.add(w)
            sug = self.suggestion(w.lower().replace("’", "'"))
            reasons.append(Reason("oov", OOV_SUGGESTED.format(w, sug) if sug else OOV_PLAIN.format(w), sug))
        return reasons
