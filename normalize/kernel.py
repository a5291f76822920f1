"""The text kernel: what the hot path does to every character, in one place.

Cutting a document into sentences and tokens, looking every token up, and measuring every
sentence for the flagger is most of what normalize does per byte. The kernel does it in one
pass per document and hands the rest of the code (passes, flagger, reasons) only what they need.

It has two implementations with one behaviour:

- :mod:`normalize._kernel`, compiled from ``normalize/_kernel.pyx`` with Cython when the package
  is installed (a C compiler is needed; without one the install goes on without it);
- this module, in pure Python: the reference that defines the behaviour, and the fallback.

:data:`impl` is the compiled one when it is importable (``NORMALIZE_PURE_PYTHON=1`` forces this
one). ``tests/test_kernel.py`` checks on generated and real texts that both give the same
results, value for value (the floating-point features are computed with the same operations in
the same order; the fluency models' log probabilities are integers, so their sums are exact).

Definitions (both implementations):

- a **token** is a word (letters, i.e. ``str.isalnum`` and not ``str.isdecimal``, with inner
  ``'``, ``’`` or ``-`` joining letter runs), a number (decimal digits with inner ``.,:/``), or
  any other character that is not a space (``str.isspace``): exactly what the regular expression
  :data:`TOKEN` finds;
- a **sentence** ends at a line break (``str.splitlines``), and inside a line after a run of
  ``. ! ? …`` and closing quotes or brackets followed by spaces (`` ``, tab, no-break space) and an
  uppercase letter (``str.isupper``) or a digit, optionally behind an opening quote or bracket;
  not after a full stop that ends a known abbreviation or a single letter (an initial).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA

# -- tokens ------------------------------------------------------------------------------------
#: the tokenizer as a regular expression (stdlib ``re``: ``\w`` is ``str.isalnum`` or "_", ``\d``
#: ``str.isdecimal``, ``\s`` ``str.isspace``)
TOKEN = re.compile(
    r"[^\W\d_]+(?:['’\-][^\W\d_]+)*"  # a word
    r"|\d+(?:[.,:/]\d+)*"  # a number
    r"|[^\s\w]|_"  # one punctuation mark
)


def tokens(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every token of ``text[start:end]``, in order."""
    return [m.span() for m in TOKEN.finditer(text, start, len(text) if end is None else end)]


def cap_words(text: str) -> list[int]:
    """Flat [start, end, ...] of the words of ``text`` that begin with an uppercase letter and
    have two characters or more, and touch no letter or digit on either side (a word after a
    digit, "5Russia", is not one)."""
    out: list[int] = []
    n = len(text)
    for m in TOKEN.finditer(text):
        s, e = m.span()
        if e - s >= 2 and text[s].isupper() \
                and (s == 0 or not text[s - 1].isalnum()) and (e == n or not text[e].isalnum()):
            out += (s, e)
    return out


# -- sentences ---------------------------------------------------------------------------------
_ENDS = re.compile(r"[.!?…]+")
_CLOSERS = frozenset("”’\"')]»")
_GAP = frozenset(" \t\u00a0")
_OPENING = frozenset("“\"‘'([«")


class Abbreviations:
    """Lowercase abbreviations: a full stop after one does not end a sentence."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.words = frozenset(w.lower() for w in words)

    def __contains__(self, word: str) -> bool:
        return word in self.words


def _last_word(line: str, lo: int, hi: int) -> str:
    """The run of letters, digits, dots and underscores that ends at ``hi`` (not before ``lo``)."""
    j = hi
    while j > lo and (line[j - 1].isalnum() or line[j - 1] in "._"):
        j -= 1
    return line[j:hi]


def _sentence_end(line: str, j: int) -> int:
    """After a run of sentence-ending marks that ends at ``j``: where the sentence ends (after
    the closing quotes and brackets), or -1 when what follows does not start a sentence."""
    n = len(line)
    k = j
    while k < n and line[k] in _CLOSERS:
        k += 1
    g = k
    while g < n and line[g] in _GAP:
        g += 1
    if g in (k, n):
        return -1
    c = line[g]
    if c in _OPENING:
        if g + 1 == n:
            return -1
        c = line[g + 1]
    return k if c.isupper() or c.isdecimal() else -1


def _emit(line: str, s: int, e: int, offset: int, out: list[tuple[int, int]]) -> None:
    seg = line[s:e]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg) - len(seg.rstrip())
    if e - trail > s + lead:
        out.append((offset + s + lead, offset + e - trail))


def split(text: str, abbreviations: Abbreviations) -> list[tuple[int, int]]:
    """The sentence spans of ``text`` (see the module's definitions), without their spaces."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start = i = 0
        while (m := _ENDS.search(line, i)) is not None:
            a, j = m.span()
            k = _sentence_end(line, j)
            if k < 0:
                i = j
                continue
            i = k
            if line[a] == ".":
                word = _last_word(line, max(start, a - 64), a).lower()
                if word in abbreviations or (len(word) == 1 and word.isalpha()):
                    continue
            _emit(line, start, k, pos, out)
            start = k
        _emit(line, start, len(line), pos, out)
        pos += len(line)
    return out


# -- strings present in a text -------------------------------------------------------------------
class Needles:
    """Which of a list of strings occur in a text, in one pass over it (the cheap gate before a
    pattern that can only match where one of them is). ``present(text)`` is a bit mask: bit
    ``i`` set when ``strings[i]`` occurs in ``text``."""

    def __init__(self, strings: Sequence[str]) -> None:
        if any(not s for s in strings):
            raise ValueError("an empty string is in every text")
        self.strings = list(strings)

    def present(self, text: str) -> int:
        mask = 0
        for i, s in enumerate(self.strings):
            if s in text:
                mask |= 1 << i
        return mask

    def present_folded(self, text: str) -> int:
        """``present(fold(text))`` (:func:`normalize.literals.fold`), for strings that are all
        lowercase ASCII (ValueError otherwise): the compiled kernel folds as it reads, without
        making the folded copy."""
        if not all(s.isascii() and s == s.lower() for s in self.strings):
            raise ValueError("present_folded looks for lowercase ASCII strings only")
        from .literals import fold

        return self.present(fold(text))


class CharSet:
    """A set of characters: :meth:`find` gives where the first of them is in a text."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = frozenset(chars)
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("one character each")
        self._re = re.compile("[" + "".join(sorted(re.escape(c) for c in self.chars)) + "]") if self.chars else None

    def find(self, text: str, start: int = 0, end: int | None = None) -> int:
        """The offset of the first character of the set in ``text[start:end]``, or -1."""
        if self._re is None:
            return -1
        m = self._re.search(text, max(start, 0), len(text) if end is None else max(min(end, len(text)), 0))
        return -1 if m is None else m.start()

    def runs(self, text: str, start: int = 0, end: int | None = None) -> int:
        """How many maximal runs of characters of the set ``text[start:end]`` holds (bounds
        clamped to the text, never counted from its end)."""
        n, inside = 0, False
        for c in text[max(start, 0) : len(text) if end is None else max(min(end, len(text)), 0)]:
            if c in self.chars:
                n += not inside
                inside = True
            else:
                inside = False
        return n

    def least_runs(self, text: str, start: int = 0, end: int | None = None) -> int:
        """A lower bound of the maximal runs that any set holding this one's characters, and no
        other ASCII character, finds in ``text[start:end]`` (bounds as in :meth:`runs`): the
        maximal runs of characters of this set or above ASCII that hold one of this set's. The
        same as :meth:`runs` on ASCII text. (The words of a pattern such as ``[\\w'-]+`` in any
        text, from the set of its ASCII characters.)"""
        n, counted = 0, False
        for c in text[max(start, 0) : len(text) if end is None else max(min(end, len(text)), 0)]:
            if c in self.chars:
                n += not counted
                counted = True
            elif c < "\x80":
                counted = False
        return n


def bio_lines(text: str, lead: CharSet, tail: CharSet, enders: CharSet, words: CharSet, min_enders: int,
              max_words: int) -> list[int]:
    """Flat [start, end, ...] of the lines of ``text`` that may be author bios (the debris pass
    looks at these only). Lines are cut at "\n", a "\r" before it left out (as
    ``normalize.passes.base.iter_lines`` cuts them). A line is kept when it holds a full stop
    and at least ``min_enders`` characters of ``enders``, and its body (the line without the
    characters of ``lead`` at its start and of ``tail`` at its end) has no character of
    ``enders``, or at most ``max_words`` :meth:`CharSet.least_runs` of ``words`` before the
    first."""
    out: list[int] = []
    lead_chars, tail_chars = "".join(lead.chars), "".join(tail.chars)
    pos, n = 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl - 1 if nl > pos and text[nl - 1] == "\r" else nl
        line = text[pos:end]
        if "." in line and sum(line.count(c) for c in enders.chars) >= min_enders:
            body = line.lstrip(lead_chars).rstrip(tail_chars)
            first = enders.find(body)
            if first < 0 or words.least_runs(body, 0, first) <= max_words:
                out += (pos, end)
        if nl < 0:
            break
        pos = nl + 1
    return out


class Words:
    """A set of strings, looked up for every run of letters and digits (``str.isalnum``) of a
    text: :meth:`hits` gives where a run's lowercase form (read from ``lowered``, the text
    lowercased character by character) is one of them.

    With ``keys`` (string -> [(key, offset, payload), ...]: longer keys, each holding its string
    at ``offset``), the strings are the keys' anchors, and :meth:`found` gives the keys that
    occur in ``lowered`` where their anchor is a run found, with no letter or digit of ``text``
    on either side."""

    def __init__(self, strings: Iterable[str] = (), keys: Mapping[str, Sequence[tuple[str, int, Any]]] | None = None) -> None:
        #: string -> [(key, offset, payload, the key's number in the order given), ...]
        self.keys: dict[str, list[tuple[str, int, Any, int]]] = {}
        if keys is not None:
            order = 0
            for run in keys:
                mine = self.keys[run] = []
                for key, offset, payload in keys[run]:
                    if not 0 <= offset <= len(key) - len(run) or key[offset : offset + len(run)] != run:
                        raise ValueError(f"{key!r} does not hold {run!r} at {offset}")
                    mine.append((key, offset, payload, order))
                    order += 1
        self.strings = frozenset(strings if keys is None else keys)

    def hits(self, text: str, lowered: str) -> list[int]:
        """Flat [start, end, ...] of the runs ``text[s:e]`` (maximal: no letter or digit touches
        either end) whose ``lowered[s:e]`` is in the set."""
        if len(lowered) != len(text):
            raise ValueError("lowered must be as long as text")
        out: list[int] = []
        strings = self.strings
        if not strings:
            return out
        for m in _RUNS.finditer(text):
            s, e = m.span()
            if lowered[s:e] in strings:
                out += (s, e)
        return out

    def found(self, text: str, lowered: str) -> list[tuple[int, int, Any]]:
        """(start, end, payload) of each bounded occurrence of a key, sorted by start, longest
        first, then in the order the keys were given."""
        hits = self.hits(text, lowered)
        got: list[tuple[int, int, int, Any]] = []
        n = len(text)
        for i in range(0, len(hits), 2):
            at = hits[i]
            for key, offset, payload, order in self.keys.get(lowered[at : hits[i + 1]], ()):
                s = at - offset
                e = s + len(key)
                if s >= 0 and lowered.startswith(key, s) \
                        and (s == 0 or not text[s - 1].isalnum()) and (e >= n or not text[e].isalnum()):
                    got.append((s, -e, order, payload))
        got.sort(key=lambda g: g[:3])
        return [(s, -ne, payload) for s, ne, _, payload in got]


_RUNS = re.compile(r"[^\W_]+")  # maximal runs of str.isalnum characters

class Corrections:
    """The words one edit away from a word (delete, insert, replace, or swap of two
    neighbours), of a list with their frequencies: a deletion index, built once, so a lookup
    costs a few probes instead of generating every one-edit string.

    The index holds, for every word, the strings made by deleting one of its letters, as sorted
    arrays of their ``hash()`` and the word's number: a few MB where a dict of strings would take
    30. Hashes are only a way in: every candidate is checked by its edit distance, and a word at
    distance 1 always shares a deletion string (or itself) with the word looked up."""

    def __init__(self, words: Sequence[str], freqs: Sequence[int]) -> None:
        self.freq = dict(zip(words, map(int, freqs)))
        self.words = list(self.freq)
        hashes: list[int] = []
        owners: list[int] = []
        for i, w in enumerate(self.words):
            deletions = {w[:k] + w[k + 1 :] for k in range(len(w))}
            hashes += map(hash, deletions)
            owners += [i] * len(deletions)
        keys = np.array(hashes, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._hashes = np.append(keys[order], np.iinfo(np.int64).max)
        self._owners = np.array(owners, dtype=np.int32)[order]

    def near(self, word: str) -> list[tuple[int, str]]:
        """(frequency, word) of the frequent words at edit distance 1, most frequent first."""
        freq, words, owners = self.freq, self.words, self._owners
        deletions = {word[:k] + word[k + 1 :] for k in range(len(word))}
        # word is one of theirs with a letter missing (its hash among theirs), or with a letter
        # too many (a deletion is one of them); one letter replaced or two swapped: a deletion
        # of word among theirs (checked by distance below)
        found = {d for d in deletions if d in freq}
        probes = np.fromiter(map(hash, (word, *deletions)), dtype=np.int64, count=len(deletions) + 1)
        at = self._hashes.searchsorted(probes)
        hit = self._hashes[at] == probes  # the last hash is a sentinel: never past the end
        if hit.any():
            probes = probes[hit]
            for a, b in zip(at[hit].tolist(), self._hashes.searchsorted(probes, "right").tolist()):
                found.update(words[i] for i in owners[a:b].tolist())
        found.discard(word)
        return sorted(((freq[w], w) for w in found if OSA.distance(word, w, score_cutoff=1) <= 1), reverse=True)



# -- names: the capitalised words the gazetteer's rules beyond its list look at --------------------
#: bits of a capitalised word (NameScanner)
GIVEN = 1 << 0  # its lowercase form is a known given name
SURNAME = 1 << 1  # ... a known surname
NEAR = 1 << 2  # a rare word (not a known name) near a known surname: a candidate misspelling
GROUP = 1 << 3  # a rare word: its spellings are compared across the document (one name two ways)
PLURAL = 1 << 4  # an acronym the gazetteer knows with a bare "s" ("NATOs")
NAME_BITS = {"GIVEN": GIVEN, "SURNAME": SURNAME, "NEAR": NEAR, "GROUP": GROUP, "PLURAL": PLURAL}

_TRANSLIT = (("shch", "sc"), ("tsch", "c"), ("sch", "s"), ("kh", "h"), ("zh", "z"), ("ch", "c"),
             ("sh", "s"), ("ts", "c"), ("tz", "c"), ("ck", "k"), ("w", "v"), ("ph", "f"),
             ("yo", "e"), ("ye", "e"), ("iy", "i"), ("yi", "i"),
             ("ij", "i"), ("ii", "i"), ("y", "i"), ("j", "i"), ("ou", "u"))


def translit_ascii(word: str) -> str:
    """:func:`normalize.gazetteer.translit_key` of an ASCII word: its letters, lowercased, with
    the spellings of one sound made one (ae/a, kh/h, w/v, y/i...), doubled letters once."""
    w = "".join(c for c in word.lower() if "a" <= c <= "z")
    w = w.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    for a, b in _TRANSLIT:
        w = w.replace(a, b)
    out: list[str] = []
    for c in w:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _possessive_end(text: str, s: int, e: int) -> int:
    """The end of the word text[s:e] without a possessive 's (words of four letters or more)."""
    if e - s > 3 and text[e - 2] in "'’" and text[e - 1] in "sS":
        return e - 2
    return e


class NameScanner:
    """The capitalised words of a document (:func:`cap_words`, possessives stripped) that the
    gazetteer's rules beyond its list may act on: ``describe(word)`` says what a word is
    (``(bits, translit key or None)``, see the bits above), once per distinct word.

    :meth:`scan` gives four flat lists: pairs of neighbouring words one space apart of which the
    first is a known given name or the second a known surname ``[s1, e1, s2, e2, ...]``; NEAR
    words with the word before them ``[s, e, prev_s, prev_e, ...]`` (-1: none); the GROUP words
    whose translit key another, differently spelt GROUP word of the document shares
    ``[s, e, key, ...]`` (keys are numbers, equal for equal keys); PLURAL words with nothing
    word-like after them ``[s, e, ...]``."""

    def __init__(self, describe: Callable[[str], tuple[int, str | None]], tables: Any = None,
                 max_entries: int = 100_000) -> None:
        self.describe = describe
        self.max_entries = max_entries
        self._seen: dict[str, tuple[int, int]] = {}
        self._keys: dict[str, int] = {}

    def _entry(self, word: str) -> tuple[int, int]:
        got = self._seen.get(word)
        if got is None:
            bits, key = self.describe(word)
            k = -1 if key is None else self._keys.setdefault(key, len(self._keys))
            got = self._seen[word] = (int(bits), k)
        return got

    def scan(self, text: str) -> tuple[list[int], list[int], list[int], list[int]]:
        if len(self._seen) >= self.max_entries:
            self._seen, self._keys = {}, {}
        raw = cap_words(text)
        toks = []  # (start, end without a possessive, bits, key, word, stripped)
        for i in range(0, len(raw), 2):
            s, e = raw[i], raw[i + 1]
            e2 = _possessive_end(text, s, e)
            word = text[s:e2]
            bits, key = self._entry(word)
            toks.append((s, e2, bits, key, word, e2 != e))
        pairs: list[int] = []
        near: list[int] = []
        groups: list[int] = []
        plurals: list[int] = []
        n = len(text)
        forms: dict[int, set[str]] = {}
        for i, (s, e, bits, key, word, stripped) in enumerate(toks):
            if i + 1 < len(toks):
                s2, e2, bits2 = toks[i + 1][:3]
                if (bits & GIVEN or bits2 & SURNAME) and text[e:s2] == " ":
                    pairs += (s, e, s2, e2)
            if bits & NEAR:
                near += (s, e, *(toks[i - 1][:2] if i else (-1, -1)))
            if bits & GROUP:
                forms.setdefault(key, set()).add(word)
            if bits & PLURAL and not stripped and (s == 0 or text[s - 1] not in "_-") \
                    and (e == n or text[e] not in "_-'’"):
                plurals += (s, e)
        for s, e, bits, key, _word, _ in toks:
            if bits & GROUP and len(forms[key]) > 1:
                groups += (s, e, key)
        return pairs, near, groups, plurals


# -- the lexicon: what a token is --------------------------------------------------------------
# bits of a token's entry (Lexicon); normalize/_kernel.pyx has the same (tests/test_kernel.py)
WORD = 1 << 0  # a word (kind "w")
NUMBER = 1 << 1  # a number (kind "n"); neither bit: a punctuation mark
UPPER = 1 << 2  # the first character is uppercase (str.isupper)
LONG = 1 << 3  # two characters or more
KEPT = 1 << 4  # a word that is not a word of a known name (the flagger's "skip" words)
UNKNOWN = 1 << 5  # a word the English word list does not know
RARE = 1 << 6  # a word the list knows, but rarely
LOWER0 = 1 << 7  # the first character is lowercase (str.islower)
UPPER_REST = 1 << 8  # an uppercase character after the first
PLAIN = 1 << 9  # a word of letters only (no ' ’ -)
FUNCTION = 1 << 10  # its lowercase form is a function word (structure.FUNCTION_WORDS)
MIDCAP = 1 << 11  # a capitalised function word that a translation may have kept ("The", "Of")
SUBORDINATOR = 1 << 12  # because, although... (a "Because ..." clause may stand alone)
NO_SUBJECT = 1 << 13  # a verb that starts a sentence without a subject ("Wants ...")
TO = 1 << 14  # the word "to", any case
DOUBLE_OK = 1 << 15  # a word doubled on purpose in good English ("had had")
FOREIGN = 1 << 16  # a word with a letter English words do not carry
OPENER = 1 << 17  # an opening quote or bracket
CLAUSE = 1 << 18  # , ; or :
AZ_FIRST = 1 << 19  # the first character is an ASCII lowercase letter
AZ_LAST = 1 << 20  # the last character is an ASCII lowercase letter
#: a token the oov reason names: a lowercase word of two letters or more, not of a known name,
#: that the word list does not know (bits & OOV_MASK == OOV_WANT)
OOV_MASK = WORD | KEPT | LONG | UNKNOWN | UPPER
OOV_WANT = WORD | KEPT | LONG | UNKNOWN
BITS = {"WORD": WORD, "NUMBER": NUMBER, "UPPER": UPPER, "LONG": LONG, "KEPT": KEPT, "UNKNOWN": UNKNOWN,
        "RARE": RARE, "LOWER0": LOWER0, "UPPER_REST": UPPER_REST, "PLAIN": PLAIN, "FUNCTION": FUNCTION,
        "MIDCAP": MIDCAP, "SUBORDINATOR": SUBORDINATOR, "NO_SUBJECT": NO_SUBJECT, "TO": TO,
        "DOUBLE_OK": DOUBLE_OK, "FOREIGN": FOREIGN, "OPENER": OPENER, "CLAUSE": CLAUSE,
        "AZ_FIRST": AZ_FIRST, "AZ_LAST": AZ_LAST}

#: what ``describe`` says of a token: (bits, fluency code, lowercase form or None, non-Latin
#: characters); the code is the token's id in the fluency models, or ``~id`` of its word for a
#: possessive ("Russia's": the ids of "Russia" and then of "'s")
Description = tuple[int, int, "str | None", int]
#: an entry of the table: the same with the lowercase form numbered (-1: none)
Entry = tuple[int, int, int, int]


class Vocabulary:
    """The tables the compiled lexicon describes ASCII tokens with (see normalize._kernel); the
    pure-Python lexicon asks ``describe`` instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class Lexicon:
    """token -> its entry: ``describe(token)`` is called on first sight; the lowercase forms of
    words are numbered, so equal words compare as equal numbers. At most ``max_entries``
    distinct tokens are kept: past that the table starts afresh (before a document, never
    inside one), which changes nothing but speed."""

    def __init__(self, describe: Callable[[str], Description], max_entries: int = 100_000,
                 vocabulary: Any = None, skip: Iterable[str] = ()) -> None:
        # vocabulary, skip: the tables the compiled lexicon describes ASCII tokens with (the
        # same data ``describe`` reads); here ``describe`` does it all
        self.describe = describe
        self.max_entries = max_entries
        self.entries: dict[str, Entry] = {}
        self.lows: dict[str, int] = {}
        self.low_strings: list[str] = []
        self.kept = self.kept_lows = 0  # the entries (lowercase forms) kept when the table starts afresh

    def _low_id(self, low: str | None) -> int:
        if low is None:
            return -1
        got = self.lows.get(low)
        if got is None:
            got = self.lows[low] = len(self.low_strings)
            self.low_strings.append(low)
        return got

    def __len__(self) -> int:
        return len(self.entries)

    def fresh(self) -> None:
        """Before a document: start afresh when the table is full, back to the seeded entries."""
        if len(self.entries) < self.max_entries:
            return
        kept, kept_lows = (self.kept, self.kept_lows) if 2 * self.kept <= self.max_entries else (0, 0)
        self.entries = dict(itertools.islice(self.entries.items(), kept))
        self.lows = dict(itertools.islice(self.lows.items(), kept_lows))
        del self.low_strings[kept_lows:]

    def seed(self, tokens: Iterable[str]) -> None:
        """Describe ``tokens`` now (the common words, before the first document): they are then
        looked up, never described, inside a document, and a table that starts afresh keeps
        their entries (and any made before them) instead of emptying. At most half of
        ``max_entries`` are seeds, so the table has room for the rest; like the table itself,
        this changes nothing but speed."""
        for tok in list(dict.fromkeys(t for t in tokens if t))[: self.max_entries // 2]:
            self.entry(tok)
        self.kept, self.kept_lows = len(self.entries), len(self.low_strings)

    def entry(self, tok: str) -> Entry:
        got = self.entries.get(tok)
        if got is None:
            bits, code, low, non_latin = self.describe(tok)
            got = self.entries[tok] = (int(bits), int(code), self._low_id(low), int(non_latin))
        return got


# -- the flagger's measurements ------------------------------------------------------------------
#: what the kernel measures of a sentence, in this order (the combiner reads them by name)
FEATURES = ("log_words", "known_share", "non_latin", "foreign_letters", "foreign",
            "oov_share", "oov_any", "cap_unknown_share", "rare_share",
            "fragment", "repetition", "unbalanced", "lowercase_start", "midsentence_capital",
            "lm_logprob", "lm_gain", "lm_low_share", "mt_logprob", "mt_gain", "mt_style")
#: what :meth:`Doc.info` gives of a sentence, in this order
INFO = ("tok_lo", "tok_hi", "words", "fragment", "doubled", "phrase_at", "phrase_size", "mark",
        "lower_start", "midcap", "n_ids", "gain_at", "style_at", "gate", "possessives",
        "gain_lo", "gain_hi", "style_lo", "style_hi", "fires", "n_oov")
#: INFO "fires": the fluency reasons that fire on their own (Scorer's ``fire`` thresholds)
FIRES_FLUENCY, FIRES_MT_STYLE = 1, 2
# (OOV_MASK, OOV_WANT: a token the oov reason names, see above)
#: fragment kinds (INFO "fragment")
FRAGMENT_INFINITIVE, FRAGMENT_SUBORDINATE, FRAGMENT_NO_SUBJECT = 1, 2, 3

_STRIP_END = frozenset("”’\"')]» ")
_ENDERS = frozenset(".!?…")
_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "«": "»"}
_CLOSING = {v: k for k, v in _PAIRS.items()}
_MARKS = re.compile(r'[()\[\]{}“”«»"]')


def unmatched_marks(text: str) -> list[tuple[int, str]]:
    """(offset, mark) of each quote or bracket in ``text`` that has no partner: closers with no
    opener before them, openers never closed, the last straight double quote of an odd count;
    in order of offset."""
    if not _MARKS.search(text):
        return []
    out: list[tuple[int, str]] = []
    open_at: dict[str, list[int]] = {o: [] for o in _PAIRS}
    straight: list[int] = []
    for m in _MARKS.finditer(text):
        ch, at = m.group(), m.start()
        if ch in _PAIRS:
            open_at[ch].append(at)
        elif ch in _CLOSING:
            stack = open_at[_CLOSING[ch]]
            if stack:
                stack.pop()
            else:
                out.append((at, ch))
        else:
            straight.append(at)
    out.extend((at, o) for o, stack in open_at.items() for at in stack)
    if len(straight) % 2:
        out.append((straight[-1], '"'))
    return sorted(out)


class Scorer:
    """The fluency models as integer tables, the combiner's weights, and the foreign gate.

    ``models``: for the english then the bad-MT model, dicts ``uni``, ``bow1`` (one integer per
    vocabulary id), ``tri`` (rows u, v, w, value), ``bi`` (v, w, value) and ``bow2`` (u, v,
    value): log10 probabilities and backoff weights times ``scale``; a row listed twice counts
    with its last value. ``terms``:
    (index into :data:`FEATURES`, weight) in the combiner's order, ``offset`` its constant.
    """

    def __init__(self, models: Sequence[dict[str, Any]], scale: int, bos: int, eos: int, poss: int,
                 terms: Sequence[tuple[int, float]], offset: float, gate_known: float,
                 gate_non_latin: float, gate_min_words: int, fire: tuple[float, float, int] | None = None) -> None:
        if len(models) != 2:
            raise ValueError("two models: english, bad MT")
        self.scale = int(scale)
        self.bos, self.eos, self.poss = bos, eos, poss
        self.uni = [list(map(int, m["uni"])) for m in models]
        self.bow1 = [list(map(int, m["bow1"])) for m in models]
        self.tri = [_rows(m["tri"], 4) for m in models]
        self.bi = [_rows(m["bi"], 3) for m in models]
        self.bow2 = [_rows(m["bow2"], 3) for m in models]
        self.terms = [(int(i), float(w)) for i, w in terms]
        self.offset = float(offset)
        self.gate_known, self.gate_non_latin = float(gate_known), float(gate_non_latin)
        self.gate_min_words = int(gate_min_words)
        #: (lm_gain below, mt_style below, at least this many ids): the fluency reasons fire
        self.fire = (float(fire[0]), float(fire[1]), int(fire[2])) if fire is not None else None

    def logprob(self, m: int, u: int, v: int, w: int) -> int:
        """log10 p(w | u v) under model ``m`` (times scale), by backing off."""
        got = self.tri[m].get((u, v, w))
        if got is not None:
            return got
        bi = self.bi[m].get((v, w))
        if bi is None:
            bi = self.bow1[m][v] + self.uni[m][w]
        return self.bow2[m].get((u, v), 0) + bi

    def logit(self, feats: Sequence[float]) -> float:
        z = self.offset
        for i, w in self.terms:
            z += w * feats[i]
        return z


def _rows(rows: Any, width: int) -> dict[tuple[int, ...], int]:
    """{ids: value} of a table's rows (ids, then the value), the last of a repeated row winning."""
    flat = np.asarray(rows, dtype=np.int64).reshape(-1, width).tolist()
    return {tuple(r[:-1]): r[-1] for r in flat}


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _worst(values: list[int]) -> int:
    """Index of the position ending the three-position window with the lowest sum (a missing
    neighbour counts 0); the first on a tie; 0 for no positions."""
    best, at = 0, 0
    for i in range(len(values)):
        s = values[i] + (values[i - 1] if i >= 1 else 0) + (values[i - 2] if i >= 2 else 0)
        if i == 0 or s < best:
            best, at = s, i
    return at


def _window(words: list[bool], at: int) -> tuple[int, int]:
    """The positions quoted for the stretch that ends at ``at``: the three ending there,
    widened on both sides until a word is among them (or no position is left out)."""
    n = len(words)
    lo, hi = max(0, at - 2), at + 1
    while not any(words[lo:hi]) and (lo > 0 or hi < n):
        lo, hi = max(0, lo - 1), min(n, hi + 1)
    return lo, min(hi, n)


def _phrase(lows: list[int], bits: list[int]) -> tuple[int, int]:
    """(start, size) of the first phrase said twice: three words, all content words, or four
    words with two content words, coming back after the first time ends; (-1, 0) if none."""
    for size, need in ((3, 3), (4, 2)):
        seen: dict[tuple[int, ...], int] = {}
        for i in range(len(lows) - size + 1):
            gram = tuple(lows[i : i + size])
            j = seen.setdefault(gram, i)
            if i >= j + size and sum(1 for b in bits[i : i + size] if not b & FUNCTION) >= need:
                return i, size
    return -1, 0


class Doc:
    """The kernel's measurements of one document: its sentences (spans), the tokens of each
    (start, end, entry), and per sentence the features, the combiner's confidence (with
    ``foreign`` 0: the foreign check needs langdetect, which the caller runs on the sentences
    whose ``gate`` is set) and what the reasons need (:data:`INFO`)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []
        self.toks: list[tuple[int, int, Entry]] = []
        self.confidence: list[float] = []
        self._feats: list[list[float]] = []
        self._info: list[tuple[int, ...]] = []

    def _check(self, i: int, n: int) -> None:
        if not 0 <= i < n:
            raise IndexError(i)

    def features(self, i: int) -> list[float]:
        self._check(i, len(self._feats))
        return list(self._feats[i])

    def info(self, i: int) -> tuple[int, ...]:
        self._check(i, len(self._info))
        return self._info[i]

    def token(self, k: int) -> tuple[int, int, int, int]:
        """(start, end, bits, lowercase id) of token ``k`` (ids compare within one document)."""
        self._check(k, len(self.toks))
        s, e, entry = self.toks[k]
        return s, e, entry[0], entry[2]

    def __len__(self) -> int:
        return len(self.spans)

    def oov(self, i: int) -> list[int]:
        """Flat [start, end, ...] of the tokens of sentence ``i`` the oov reason names."""
        lo, hi = self.info(i)[:2]
        out: list[int] = []
        for s, e, entry in self.toks[lo:hi]:
            if entry[0] & OOV_MASK == OOV_WANT:
                out += (s, e)
        return out

    def texts(self, text: str, k1: int, k2: int) -> list[str]:
        """The texts of tokens ``k1`` to ``k2`` (excluded) of ``text``, the document measured."""
        if not 0 <= k1 <= k2 <= len(self.toks):
            raise IndexError((k1, k2))
        return [text[s:e] for s, e, _ in self.toks[k1:k2]]

    @property
    def gated(self) -> list[int]:
        """The sentences the foreign gate picked (for langdetect)."""
        return [i for i, info in enumerate(self._info) if info[13]]

    def at_most(self, threshold: float) -> list[int]:
        """The sentences whose confidence is at most ``threshold``, in order."""
        return [i for i, c in enumerate(self.confidence) if c <= threshold]


def analyze(text: str, spans: list[tuple[int, int]] | None, lexicon: Lexicon, scorer: Scorer,
            abbreviations: Abbreviations) -> Doc:
    """Measure every sentence of ``text``: ``spans`` if given, else :func:`split`'s."""
    lexicon.fresh()
    doc = Doc()
    doc.spans = list(spans) if spans is not None else split(text, abbreviations)
    for a, b in doc.spans:
        if not 0 <= a <= b <= len(text):
            raise ValueError(f"span ({a}, {b}) out of the text")
    marks_of: dict[int, list[tuple[int, str]]] = {}
    entry = lexicon.entry
    for s, e in doc.spans:
        lo = len(doc.toks)
        for ts, te in tokens(text, s, e):
            doc.toks.append((ts, te, entry(text[ts:te])))
        # the unmatched quotes and brackets of the paragraph ("\n" to "\n") the sentence starts in
        ls = text.rfind("\n", 0, s) + 1
        found = marks_of.get(ls)
        if found is None:
            le = text.find("\n", s)
            found = marks_of[ls] = [(ls + at, m) for at, m in unmatched_marks(text[ls : le if le >= 0 else len(text)])]
        mark = next((ord(m) for at, m in found if s <= at < e), 0)
        feats, info = _measure(text, s, e, doc.toks, lo, mark, scorer)
        doc._feats.append(feats)
        doc._info.append(info)
        doc.confidence.append(sigmoid(scorer.logit(feats)))
    return doc


def _measure(text: str, s: int, e: int, toks: list[tuple[int, int, Entry]], lo: int, mark: int,
             sc: Scorer) -> tuple[list[float], tuple[int, ...]]:
    hi = len(toks)
    words: list[int] = []  # token indexes of the words
    n = n_lower = known_lower = cap_unknown = n_oov = rare = 0
    letters = non_latin = foreign = 0
    clause = False
    for k in range(lo, hi):
        ts, te, (b, _code, _low, nl) = toks[k]
        non_latin += nl
        if b & CLAUSE:
            clause = True
        if not b & WORD:
            continue
        words.append(k)
        letters += te - ts
        if b & FOREIGN:
            foreign += 1
        if b & KEPT:
            n += 1
            if not b & UPPER:
                n_lower += 1
                if not b & UNKNOWN:
                    known_lower += 1
                if b & LONG and b & UNKNOWN:
                    n_oov += 1
                if b & LONG and b & RARE:
                    rare += 1
            elif b & LONG and b & UNKNOWN:
                cap_unknown += 1
    n_words = len(words)
    first = toks[words[0]][2][0] if words else 0
    if first & (WORD | KEPT | UPPER | LONG | UNKNOWN) == WORD | KEPT | UPPER | LONG | UNKNOWN:
        cap_unknown -= 1  # the first word is capitalised anyway
    known_share = known_lower / n_lower if n_lower else 1.0
    non_latin_share = non_latin / (letters or 1)
    foreign_share = foreign / (n or 1)
    gate = (n_lower >= sc.gate_min_words and known_share < sc.gate_known) or (
        n >= sc.gate_min_words and non_latin_share > sc.gate_non_latin)
    per = n_words or 1

    # fragment: the last character but closing marks and spaces ends a statement, and the first words
    fragment = 0
    p = e
    while p > s and text[p - 1] in _STRIP_END:
        p -= 1
    last = text[p - 1] if p > s else ""
    if last in _ENDERS and last != "?" and words:
        second = toks[words[1]][2][0] if n_words > 1 else 0
        if first & TO and 2 <= n_words <= 4 and second & LOWER0:
            fragment = FRAGMENT_INFINITIVE
        elif not first & UPPER:
            pass
        elif first & SUBORDINATOR and not clause:
            fragment = FRAGMENT_SUBORDINATE
        elif first & NO_SUBJECT and n_words >= 2 and last == ".":
            fragment = FRAGMENT_NO_SUBJECT

    # repetition: a word doubled (two words of letters, the same but for case, one after the other)
    doubled = -1
    for k in range(lo, hi - 1):
        b, b2 = toks[k][2][0], toks[k + 1][2][0]
        if b & (WORD | PLAIN | LONG) == WORD | PLAIN | LONG and b2 & (WORD | PLAIN | LONG) == WORD | PLAIN | LONG \
                and toks[k][2][2] == toks[k + 1][2][2] and not b & DOUBLE_OK:
            doubled = k
            break
    phrase_at, phrase_size = -1, 0
    if n_words >= 6:  # a phrase said twice needs two times three words
        phrase_at, phrase_size = _phrase([toks[k][2][2] for k in words], [toks[k][2][0] for k in words])
    repetition = (doubled >= 0) + (phrase_at >= 0)

    # a lowercase first word (after any opening marks)
    lower_start = -1
    k = lo
    while k < hi and toks[k][2][0] & OPENER:
        k += 1
    if k < hi:
        b = toks[k][2][0]
        if b & WORD and b & LOWER0 and not b & UPPER_REST:
            lower_start = k

    # a capitalised function word between lowercase words ("of The alliance")
    midcap, caps = -1, 0
    for k in range(lo + 1, hi - 1):
        if not toks[k][2][0] & MIDCAP:
            continue
        bp, bn = toks[k - 1][2][0], toks[k + 1][2][0]
        if bp & (WORD | AZ_FIRST | AZ_LAST) != WORD | AZ_FIRST | AZ_LAST or bn & (WORD | AZ_FIRST) != WORD | AZ_FIRST \
                or bn & FUNCTION:
            continue
        if not _gap(text, toks[k - 1][1], toks[k][0]) or not _gap(text, toks[k][1], toks[k + 1][0]):
            continue
        caps += 1
        if midcap < 0:
            midcap = k

    # fluency: log10 p of each id and of the end mark under both models, from <s> <s>
    u = v = sc.bos
    total = mt_total = uni_total = low = 0
    gains: list[int] = []
    styles: list[int] = []
    uni0 = sc.uni[0]
    scale = sc.scale

    def step(w: int) -> None:
        nonlocal u, v, total, mt_total, uni_total, low
        lp, mp, up = sc.logprob(0, u, v, w), sc.logprob(1, u, v, w), uni0[w]
        total += lp
        mt_total += mp
        uni_total += up
        if 2 * (lp - up) < -scale:  # a gain below -0.5
            low += 1
        gains.append(lp - up)
        styles.append(lp - mp)
        u, v = v, w

    is_word: list[bool] = []  # per position: a word (not the "'s" of a possessive, not a mark)
    for k in range(lo, hi):
        code = toks[k][2][1]
        word = bool(toks[k][2][0] & WORD)
        if code >= 0:
            step(code)
            is_word.append(word)
        else:
            step(~code)
            step(sc.poss)
            is_word += (word, False)
    n_ids = len(gains)
    step(sc.eos)
    positions = n_ids + 1
    feats = [
        math.log1p(n_words), known_share, non_latin_share, foreign_share, 0.0,
        n_oov / per, float(n_oov > 0), cap_unknown / per, rare / per,
        float(fragment > 0), float(repetition), float(mark > 0), float(lower_start >= 0), float(caps),
        total / scale / positions, (total - uni_total) / scale / positions, low / positions,
        mt_total / scale / positions, (mt_total - uni_total) / scale / positions,
        (total - mt_total) / scale / positions,
    ]
    gain_at, style_at = _worst(gains[:n_ids]), _worst(styles[:n_ids])
    info = (lo, hi, n_words, fragment, doubled, phrase_at, phrase_size, mark, lower_start, midcap, n_ids,
            gain_at, style_at, int(gate), n_ids - (hi - lo), *_window(is_word, gain_at), *_window(is_word, style_at),
            _fires(sc.fire, feats[15], feats[19], n_ids), n_oov)
    return feats, info


def _fires(fire: tuple[float, float, int] | None, gain: float, style: float, n_ids: int) -> int:
    if fire is None or n_ids < fire[2]:
        return 0
    return (FIRES_FLUENCY if gain < fire[0] else 0) | (FIRES_MT_STYLE if style < fire[1] else 0)


def _gap(text: str, a: int, b: int) -> bool:
    """``text[a:b]`` is one or more spaces or no-break spaces."""
    return b > a and all(c in " \u00a0" for c in text[a:b])


# -- which implementation -------------------------------------------------------------------------
def _compiled() -> Any:
    if os.environ.get("NORMALIZE_PURE_PYTHON"):
        return None
    try:
        from . import _kernel
    except ImportError:
        return None
    return _kernel


#: the compiled kernel (normalize._kernel) when it is built and not disabled, else None
compiled = _compiled()


def name() -> str:
    """Which kernel runs: "compiled" or "pure Python"."""
    return "compiled" if compiled is not None else "pure Python"
