"""gazetteer: names and terms through the curated gazetteer in rules/gazetteer/.

Rewrites what the gazetteer is sure of (listed variants and garbles whose guard holds, casing
of known names, foreign acronyms beside their English expansion, garbles anchored on a known
name part, near-miss spellings with a matching given name) and suggests what it is not
(calques, inconsistent spellings, acronyms that disagree with their expansion, candidates
that only the context supports). A rule never fires where its guard fails.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import ahocorasick
import regex
from rapidfuzz.distance import Levenshtein

from .. import kernel
from ..gazetteer import Entry, Form, Gazetteer, Guard, translit_key
from ..model import Edit, Note, PassResult
from ..rules import RuleIssue, RuleSet
from .base import DocContext, Pass, SpanIndex, line_breaks

_K: Any = kernel.compiled or kernel

_ACRONYM = regex.compile(
    r"(?P<phrase>\p{Lu}[\p{L}’'-]*(?:[ \t]+(?:(?:of|the|and|for|on|de|du|des)[ \t]+)*\p{Lu}[\p{L}’'-]*)*)"
    r"[ \t]+\((?P<acr>[A-Za-z]{2,8})\)")
_FUNCTION = {"of", "the", "and", "for", "on", "de", "du", "des"}
# what every _ACRONYM match ends with (stdlib re: a fast scan for the "(")
_ACRONYM_HINT = re.compile(r"[ \t]\([A-Za-z]{2,8}\)")
# what an _ACRONYM phrase cannot hold: searched backwards from a hint, it bounds the phrase
_NOT_PHRASE = regex.compile(r"[^\p{L}’'\- \t]", regex.REVERSE)
#: frequency (pyspellchecker) above which a capitalised word counts as a common English word
_COMMON = 1000
#: a near-miss candidate: a word this long at least, rarer than this
_NEAR_MIN, _NEAR_FREQ = 5, 100
#: a word whose spellings are compared across the document: this long at least
_GROUP_MIN = 4
#: how far a sentence window reaches on each side of a match, at most
_SENTENCE_REACH = 1000


def _acronym_matches(text: str) -> Iterator[regex.Match[str]]:
    """What ``_ACRONYM.finditer(text)`` gives, found from the hints: a match ends with its hint
    and starts after the last character before it that no phrase holds, so each hint's match is
    the leftmost one in that stretch (the whole text is not scanned for capitalised words)."""
    last = 0
    for h in _ACRONYM_HINT.finditer(text):
        stop = _NOT_PHRASE.search(text, last, h.start())
        m = _ACRONYM.search(text, stop.end() if stop else last, h.end())
        if m is not None:
            yield m
        last = h.end()


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _bounded(text: str, s: int, e: int) -> bool:
    return (s == 0 or not text[s - 1].isalnum()) and (e >= len(text) or not text[e].isalnum())


@lru_cache(maxsize=4096)
def _guard_pattern(words: tuple[str, ...]) -> regex.Pattern[str]:
    alts = "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))
    return regex.compile(rf"(?<![\p{{L}}\p{{N}}])(?:{alts})(?![\p{{L}}\p{{N}}])", regex.IGNORECASE)


_LETTER_OR_NUMBER = regex.compile(r"[\p{L}\p{N}]")
#: the characters beyond ASCII that match an ASCII letter case-insensitively and that
#: str.lower() leaves alone (U+212A KELVIN SIGN lowers to "k" already)
_FOLD_TO_ASCII = {0x130: "i", 0x17F: "s"}


@lru_cache(maxsize=1 << 14)
def _ascii_lowered(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The words lowercased when all of them are ASCII (None otherwise)."""
    return tuple(w.lower() for w in words) if all(w.isascii() for w in words) else None


def _fold(lowered: str) -> str:
    """``lowered`` (:func:`_lower`'s) as an ASCII word matches it case-insensitively: the same
    length, with the two letters that fold to ASCII but do not lower to it made ASCII."""
    if lowered.isascii() or ("\u0130" not in lowered and "\u017f" not in lowered):
        return lowered
    return lowered.translate(_FOLD_TO_ASCII)


def _word_char(c: str) -> bool:
    return c.isalnum() if c.isascii() else _LETTER_OR_NUMBER.match(c) is not None


def _holds_word(text: str, folded: str, words: tuple[str, ...], s: int, e: int) -> bool:
    """Whether ``text[s:e]`` holds one of ``words`` (any case) with no letter or digit on
    either side inside ``[s, e)``: what ``_guard_pattern(words)`` finds in that stretch, without
    compiling a pattern per guard. ``folded`` is :func:`_fold` of :func:`_lower` of ``text``."""
    low = _ascii_lowered(words)
    if low is None:  # a word beyond ASCII: the pattern's own case folding decides
        return _guard_pattern(words).search(text[s:e]) is not None
    for w in low:
        i = folded.find(w, s, e)
        while i >= 0:
            j = i + len(w)
            if (i == s or not _word_char(text[i - 1])) and (j == e or not _word_char(text[j])):
                return True
            i = folded.find(w, i + 1, e)
    return False


class GazetteerPass(Pass):
    name = "gazetteer"
    description = "repair literally translated names, stray transliterations and mistranslated terms"

    def __init__(self, rules: RuleSet) -> None:
        super().__init__(rules)
        self.g = load(rules, [])
        self.titles = frozenset(w.lower() for w in rules.words.get("titles", []))
        self.english = rules.english
        self._cache: dict[tuple, object] = {}
        self._breaks: list[int] = []
        self._breaks_of: str | None = None
        self._folded = ""  # the text being run, lowered and folded (_fold)
        g = self.g
        # the forms and protected phrases, found where a run of letters and digits of the text is
        # one's first run (a bounded match starts at such a run and its first run is that run);
        # the few that do not begin with a letter or digit go through an Aho-Corasick automaton
        # one index: forms (payload: their ids), then protected phrases (payload: None)
        self._index = _Index([*((key, tuple(ids)) for key, ids in _grouped(g.forms).items()),
                              *((p.lower(), None) for p in g.protected)], self.english.frequency)
        self.scanner = _K.NameScanner(self.describe, self._tables())
        self._near_cache: dict[str, list[tuple[float, int, str]]] = {}
        # per key's forms (the index's payload): the texts of its canonical forms, which leave
        # a match that is exactly one of them as it is (the first thing _known_form checks)
        self._canonical: dict[tuple[int, ...], frozenset[str]] = {}

    def describe(self, word: str) -> tuple[int, str | None]:
        """What the rules beyond the list see in a capitalised word (kernel.NameScanner)."""
        g = self.g
        low = word.lower()
        bits = (kernel.GIVEN if low in g.by_given else 0) | (kernel.SURNAME if low in g.by_surname else 0)
        f = self.english.frequency(word)
        if len(word) >= _NEAR_MIN and f < _NEAR_FREQ and word not in g.names and g.neighbours(word):
            bits |= kernel.NEAR
        key = None
        if len(word) >= _GROUP_MIN and f < _COMMON:
            bits |= kernel.GROUP
            key = translit_key(word)
        if len(word) >= 3 and word[-1] == "s" and all(c.isupper() for c in word[:-1]) and word[:-1] in g.by_acronym:
            bits |= kernel.PLURAL
        return bits, key

    def _tables(self) -> Any:
        """The data :meth:`describe` reads, for the compiled scanner (None: pure Python)."""
        if _K is kernel:
            return None
        g = self.g
        freq = getattr(self.english, "dictionary", None)
        if freq is None or (not getattr(self.english, "lowercase", False) and any(w != w.lower() for w in freq)):
            return None
        return _K.NameTables(
            (w for w in g.by_given if " " not in w), (w for w in g.by_surname if " " not in w), g.names, freq,
            g.surname_neighbours, g.by_acronym, _NEAR_MIN, _NEAR_FREQ, _GROUP_MIN, _COMMON)

    @classmethod
    def validate(cls, rules: RuleSet) -> list[RuleIssue]:
        issues: list[RuleIssue] = []
        load(rules, issues)
        if "titles" not in rules.words and rules.gazetteer:
            issues.append(RuleIssue(rules.rel("words/titles.txt"), 0, "missing word list of titles"))
        return issues

    # -- helpers ----------------------------------------------------------------------------
    def _paragraph(self, text: str, s: int, e: int) -> tuple[int, int]:
        if self._breaks_of is not text:  # the line breaks of the text, found once per run
            self._breaks = line_breaks(text)
            self._breaks_of = text
        breaks = self._breaks
        i = bisect_left(breaks, s)  # the paragraph: from the break before s to the one at or after e
        ps = breaks[i - 1] + 1 if i > 0 else 0
        j = bisect_left(breaks, e)
        return ps, breaks[j] if j < len(breaks) else len(text)

    def _window(self, text: str, s: int, e: int, window: str) -> tuple[int, int]:
        """Where the guard's window around ``[s, e)`` starts and ends."""
        if window == "document":
            return 0, len(text)
        ps, pe = self._paragraph(text, s, e)
        if window == "paragraph":
            return ps, pe
        # sentence: the stretch between sentence ends around the match (looked for at most
        # _SENTENCE_REACH characters away, so a page-long "sentence" is not scanned per match)
        ps, pe = max(ps, s - _SENTENCE_REACH), min(pe, e + _SENTENCE_REACH)
        left = max(text.rfind(". ", ps, s), text.rfind("? ", ps, s), text.rfind("! ", ps, s))
        right_candidates = [i for i in (text.find(". ", e, pe), text.find("? ", e, pe), text.find("! ", e, pe)) if i >= 0]
        return (left + 2 if left >= 0 else ps), (min(right_candidates) + 1 if right_candidates else pe)

    def _holds(self, text: str, words: tuple[str, ...], s: int, e: int) -> bool:
        """Whether ``text[s:e]`` holds one of ``words`` as a whole word, in any case."""
        return _holds_word(text, self._folded, words, s, e)

    def _guard_ok(self, text: str, s: int, e: int, guard: Guard | None) -> bool:
        if guard is None:
            return True
        if guard.window == "sentence":
            return self._holds(text, guard.any, *self._window(text, s, e, guard.window))
        # a paragraph or document window is the same for every match in it: search it once
        ps, pe = self._window(text, s, e, guard.window)
        key = ("guard", guard.any, ps, pe)
        if key not in self._cache:
            self._cache[key] = self._holds(text, guard.any, ps, pe)
        return bool(self._cache[key])

    def _never(self, text: str, lowered: str, s: int, e: int, entry: Entry) -> bool:
        if not entry.never:
            return False
        ps, pe = self._paragraph(text, s, e)
        for phrase in entry.never:
            p = phrase.lower()
            i = lowered.find(p, max(ps, s - len(p)), min(pe, e + len(p)))
            while i >= 0 and i <= s:
                if i + len(p) >= e:
                    return True
                i = lowered.find(p, i + 1, min(pe, e + len(p)))
        return False

    def _context_score(self, text: str, s: int, e: int, entry: Entry) -> int:
        words = entry.context_words()
        if not words:
            return 0
        ps, pe = self._paragraph(text, s, e)
        key = ("context", tuple(words), ps, pe)
        if key not in self._cache:
            self._cache[key] = sum(1 for w in set(words) if self._holds(text, (w,), ps, pe))
        return int(self._cache[key])  # type: ignore[call-overload]

    def _common(self, word: str) -> bool:
        return self.english.frequency(word) >= _COMMON

    # -- the pass -------------------------------------------------------------------------
    def run(self, text: str, ctx: DocContext) -> PassResult:
        g = self.g
        if g.automaton is None or not text:
            return PassResult()
        lowered = _lower(text)
        self._folded = _fold(lowered)
        found = self._index.find(text, lowered)
        protected = sorted({(s, e) for s, e, ids in found if ids is None})
        edits: list[Edit] = []
        notes: list[Note] = []
        known: list[tuple[int, int]] = []
        # interval indexes and per-run caches keep a long document linear (no token x match scans)
        self._cache = {}
        self._breaks_of = None
        protected_index = SpanIndex(protected)
        canonical = self._canonical
        for s, e, ids in _leftmost_longest([m for m in found if m[2] is not None]):
            known.append((s, e))
            texts = canonical.get(ids)
            if texts is None:
                texts = canonical[ids] = frozenset(g.forms[i].text for i in ids if g.forms[i].kind == "canonical")
            if text[s:e] in texts or protected_index.overlaps(s, e):
                continue
            self._known_form(text, lowered, s, e, ids, edits)
        pairs, near, groups, plurals = self.scanner.scan(text)
        if pairs or near or groups:
            taken = SpanIndex(known + protected)
            self._anchored(text, pairs, taken, edits)
            self._near_misses(text, near, taken, edits)
            self._consistency(text, groups, taken, edits)
        if "(" in text and _ACRONYM_HINT.search(text):
            self._acronyms(text, edits, notes, protected_index)
        if plurals:
            self._acronym_plurals(text, plurals, edits, protected_index)
        self._cache, self._breaks, self._breaks_of, self._folded = {}, [], None, ""
        return PassResult(edits=_sorted_unique(edits), notes=notes)

    def _known_form(self, text: str, lowered: str, s: int, e: int, ids: tuple[int, ...],
                    edits: list[Edit]) -> None:
        g = self.g
        surface = text[s:e]
        forms = [g.forms[i] for i in ids]
        exact = [f for f in forms if f.text == surface]
        if any(f.kind == "canonical" for f in exact):
            return
        for f in exact:
            entry = g.entries[f.entry]
            if f.kind in ("variant", "garble"):
                if not self._guard_ok(text, s, e, f.guard or entry.guard) or self._never(text, lowered, s, e, entry):
                    continue
                why = (f"a spelling of {entry.name}" if f.kind == "variant"
                       else f"a literal translation of the name {entry.name}" + (f" ({f.lang})" if f.lang else ""))
                edits.append(Edit(s, e, entry.name, rule=f.kind, confidence=0.95 if f.kind == "variant" else 0.9,
                                  reason=f"{surface!r} is {why}"))
                return
            if f.kind == "foreign-acronym" and entry.acronym:
                key = ("expansion", entry.name)
                if key not in self._cache:
                    self._cache[key] = self._holds(text, (entry.name,), 0, len(text))
                expansion = self._cache[key]
                if expansion:
                    edits.append(Edit(s, e, entry.acronym, rule="foreign-acronym", confidence=0.9,
                                      reason=f"{surface} is {entry.acronym} ({entry.name}) in another language"))
                else:
                    edits.append(Edit(s, e, entry.acronym, rule="foreign-acronym", action="suggest", confidence=0.5,
                                      reason=f"{surface} may be {entry.acronym} ({entry.name}) in another language"))
                return
        # calques: the first letter's case is the sentence's business
        for f in forms:
            if f.kind == "calque" and surface[1:] == f.text[1:]:
                entry = g.entries[f.entry]
                guard = f.guard or Guard(tuple(x for x in (entry.name, entry.acronym) if x), "document")
                if self._guard_ok(text, s, e, guard) and f.suggest and not self._never(text, lowered, s, e, entry):
                    sug = f.suggest[0].upper() + f.suggest[1:] if surface[0].isupper() else f.suggest
                    edits.append(Edit(s, e, sug, rule="calque", action="suggest", confidence=0.4,
                                      reason=f"{surface!r} looks like a literal translation; "
                                             f"for {entry.name} English news writes {sug!r}"))
                return
        # casing of known names: only when the text has capitals but not all of them
        for f in forms:
            if f.kind == "canonical" and surface.lower() == f.text.lower() and surface != f.text \
                    and any(c.isupper() for c in surface) and not surface.isupper() and " " in f.text:
                edits.append(Edit(s, e, f.text, rule="casing", confidence=0.95,
                                  reason=f"{f.text} is written with these capitals"))
                return

    # -- beyond the list ------------------------------------------------------------------
    # the kernel's NameScanner gives the candidates: pairs of capitalised words one space apart,
    # rare words near a known surname, words spelt two ways; every condition is checked here

    def _anchored(self, text: str, pairs: list[int], taken: SpanIndex, edits: list[Edit]) -> None:
        g = self.g
        for i in range(0, len(pairs), 4):
            s1, e1, s2, e2 = pairs[i : i + 4]
            a, b = text[s1:e1], text[s2:e2]
            # a known given name + a capitalised common word: "Andrej Doubt"
            if not taken.overlaps(s2, e2) and a.lower() in g.by_given and self._common(b) and b not in g.names \
                    and b.lower() not in self.titles:
                cands = sorted(set(g.by_given[a.lower()]))
                self._resolve(text, s1, e2, cands, b.lower(), "surname", edits)
            # a capitalised common word + a known surname: "Gypsy Nausėda"
            elif not taken.overlaps(s1, e1) and b.lower() in g.by_surname and self._common(a) \
                    and a not in g.names and a.lower() not in self.titles and a.lower() not in g.by_given:
                cands = sorted(set(g.by_surname[b.lower()]))
                self._resolve(text, s1, e1, cands, a.lower(), "given", edits)

    def _resolve(self, text: str, s: int, e: int, cands: list[int], word: str, part: str,
                 edits: list[Edit]) -> None:
        g = self.g
        entries = [g.entries[i] for i in cands if g.entries[i].type == "person"]
        literal = [en for en in entries if word in (en.literal_surname if part == "surname" else en.literal_given)]
        scored = sorted(((self._context_score(text, s, e, en), en) for en in entries), key=lambda x: -x[0])
        surface = text[s:e]

        def target(en: Entry) -> str:
            if part == "surname":
                return en.name
            return en.given or en.name.split()[0]

        best_other = max((sc for sc, en in scored if en not in literal), default=0)
        if len(literal) == 1 and self._context_score(text, s, e, literal[0]) >= best_other:
            en = literal[0]
            edits.append(Edit(s, e, target(en), rule="anchored-garble", confidence=0.85,
                              reason=f"{surface!r} reads as a literal translation of {en.name}"))
        elif scored and scored[0][0] >= 2 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            en = scored[0][1]
            edits.append(Edit(s, e, target(en), rule="anchored-garble", action="suggest", confidence=0.45,
                              reason=f"{surface!r} may be {en.name}: the context mentions "
                                     f"{', '.join(w for w in en.context_words()[:3])}"))

    def _near(self, word: str) -> list[tuple[float, int, str]]:
        """(similarity, entry, surname) of the known surnames a rare word may misspell (cached)."""
        got = self._near_cache.get(word)
        if got is None:
            g = self.g
            key = translit_key(word)
            got = []
            for i in sorted(g.neighbours(word)):
                en = g.entries[i]
                sur = (en.surname or "").split()[-1] if en.surname else ""
                if not sur or sur == word:
                    continue
                sim = Levenshtein.normalized_similarity(key, translit_key(sur))
                if sim >= 0.8:
                    got.append((sim, i, sur))
            if len(self._near_cache) >= 50_000:
                self._near_cache.clear()
            self._near_cache[word] = got
        return got

    def _near_misses(self, text: str, near: list[int], taken: SpanIndex, edits: list[Edit]) -> None:
        g = self.g
        for i in range(0, len(near), 4):
            s, e, ps, pe = near[i : i + 4]
            word = text[s:e]
            if taken.overlaps(s, e) or len(word) < _NEAR_MIN or word in g.names \
                    or self.english.frequency(word) >= _NEAR_FREQ:
                continue
            cands = [(sim, g.entries[j], sur) for sim, j, sur in self._near(word)]
            if not cands:
                continue
            prev = text[ps:pe] if ps >= 0 else None
            given_ok = [c for c in cands if prev is not None and text[pe:s] == " " and c[1].given
                        and prev in (c[1].given, *c[1].given.split())]
            if len(given_ok) == 1:
                _, en, sur = given_ok[0]
                edits.append(Edit(s, e, sur, rule="near-miss", confidence=0.8,
                                  reason=f"{word!r} is a misspelling of {en.name}"))
                continue
            ctx = [(self._context_score(text, s, e, c[1]), c) for c in cands]
            ctx = [x for x in ctx if x[0] >= 2]
            if len(ctx) == 1:
                _, (_, en, sur) = ctx[0]
                edits.append(Edit(s, e, sur, rule="near-miss", action="suggest", confidence=0.45,
                                  reason=f"{word!r} may be {en.name}"))

    def _consistency(self, text: str, groups: list[int], taken: SpanIndex, edits: list[Edit]) -> None:
        by_key: dict[int, list[tuple[int, int, str]]] = {}
        for i in range(0, len(groups), 3):
            s, e, key = groups[i : i + 3]
            if not taken.overlaps(s, e):
                by_key.setdefault(key, []).append((s, e, text[s:e]))
        for occ in by_key.values():
            forms: dict[str, int] = {}
            for t in occ:
                forms[t[2]] = forms.get(t[2], 0) + 1
            if len(forms) < 2:
                continue
            known = [f for f in forms if f in self.g.names]
            preferred = known[0] if len(known) == 1 else max(forms, key=lambda f: (forms[f], -occ.index(
                next(t for t in occ if t[2] == f))))
            others = " and ".join(sorted(forms))
            for t in occ:
                if t[2] != preferred:
                    edits.append(Edit(t[0], t[1], preferred, rule="inconsistent-spelling", action="suggest",
                                      confidence=0.4, reason=f"one name is written {others} in this article"))

    def _acronyms(self, text: str, edits: list[Edit], notes: list[Note], protected: SpanIndex) -> None:
        g = self.g
        fixed = SpanIndex((e.start, e.end) for e in edits if e.action != "suggest")
        for m in _acronym_matches(text):
            acr = m["acr"]
            words = m["phrase"].split()
            ps, pe = m.span("phrase")
            if fixed.overlaps(ps, pe):
                continue
            phrase_entry = None
            start_word = 0
            for k in range(len(words)):  # longest suffix of the phrase that names an entry
                cand = " ".join(words[k:])
                if cand.lower() in g.by_name_lower:
                    phrase_entry, start_word = g.entries[g.by_name_lower[cand.lower()]], k
                    break
            acr_entry = g.entries[g.by_acronym[acr]] if acr in g.by_acronym else None
            if phrase_entry is not None and (phrase_entry.acronym or "").lower() == acr.lower():
                continue
            if _initials_match(words, acr):
                continue
            if phrase_entry is None and acr_entry is None:
                continue
            if phrase_entry is not None and acr_entry is phrase_entry:
                continue
            span_s = ps + len(" ".join(words[:start_word])) + (1 if start_word else 0) if phrase_entry else ps
            if protected.overlaps(span_s, m.end()):  # a curator (or a reviewer) said this is right
                continue
            if acr_entry is not None:
                message = f"“{acr}” stands for {acr_entry.name}, but the text before it says “{text[span_s:pe]}”"
            else:
                message = f"“{text[span_s:pe]}” is not abbreviated “{acr}”"
            suggestion = phrase_entry.acronym if phrase_entry is not None and phrase_entry.acronym else (
                acr_entry.name if acr_entry is not None and phrase_entry is None else None)
            notes.append(Note(span_s, m.end(), "acronym-mismatch", message, suggestion, confidence=0.35))

    def _acronym_plurals(self, text: str, plurals: list[int], edits: list[Edit], protected: SpanIndex) -> None:
        """"NATOs have": an organisation's acronym with a bare "s" is a foreign genitive (German
        "NATOs", Swedish "Natos") that the MT carried over; suggest the English possessive."""
        g = self.g
        apostrophe = "\u2019" if text.count("\u2019") >= text.count("'") else "'"
        for i in range(0, len(plurals), 2):
            s, e = plurals[i], plurals[i + 1]
            word = text[s:e]
            acr = word[:-1]
            if acr not in g.by_acronym or word in g.by_acronym or word in g.names or protected.overlaps(s, e):
                continue
            edits.append(Edit(s, e, f"{acr}{apostrophe}s", rule="acronym-genitive", action="suggest",
                              confidence=0.45, reason=f"“{word}” is not English: {acr} "
                              f"({g.entries[g.by_acronym[acr]].name}) takes no plural; a possessive "
                              f"(“{acr}{apostrophe}s”) or the name alone was probably meant"))


def _grouped(forms: list[Form]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for i, f in enumerate(forms):
        grouped.setdefault(f.text.lower(), []).append(i)
    return grouped


_RUN = regex.compile(r"[^\W_]+", regex.V0)


def _anchor(key: str, frequency: Any) -> tuple[str, int]:
    """The run of letters and digits of a key to look it up by, and where it starts in the key:
    its rarest run in English (the longest, then the first, of equally rare ones), so that
    "the coalition" is looked up at "coalition", not at every "the". ("", 0): no run."""
    runs = [(m.group(), m.start()) for m in _RUN.finditer(key) if all(c.isalnum() for c in m.group())]
    if not runs:
        return "", 0
    return min(runs, key=lambda r: (frequency(r[0]), -len(r[0]), r[1]))


class _Index:
    """Lowercase keys found in a text where they stand alone (no letter or digit on either side).

    What one Aho-Corasick pass over the lowercased text gives, filtered by those bounds, found
    more cheaply: in a bounded occurrence of a key, each run of letters and digits of the key
    is a whole run of the text; so the kernel (:class:`normalize.kernel.Words`) finds the runs
    of the text that are some key's anchor (:func:`_anchor`), and only there are keys compared.
    Keys without a letter or digit use an automaton."""

    def __init__(self, items: Any, frequency: Any) -> None:
        self.by_run: dict[str, list[tuple[str, int, Any]]] = {}
        odd: list[tuple[str, Any]] = []
        for key, payload in items:
            if not key:
                continue
            run, at = _anchor(key, frequency)
            if run:
                self.by_run.setdefault(run, []).append((key, at, payload))
            else:
                odd.append((key, payload))
        self.words = _K.Words(keys=self.by_run)
        self.odd: Any = None
        if odd:
            self.odd = ahocorasick.Automaton()
            for key, payload in odd:
                self.odd.add_word(key, (key, payload))
            self.odd.make_automaton()

    def find(self, text: str, lowered: str) -> list[Any]:
        """(start, end, payload) of every bounded occurrence, sorted by (start, longest first)."""
        found: list[Any] = self.words.found(text, lowered)
        if self.odd is not None:
            odd = len(found)
            for end, (key, payload) in self.odd.iter(lowered):
                s = end - len(key) + 1
                if _bounded(text, s, end + 1):
                    found.append((s, end + 1, payload))
            if len(found) > odd:
                found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        return found


def _leftmost_longest(found: list[Any]) -> list[Any]:
    """Of matches sorted by (start, longest first), the leftmost-longest that do not overlap."""
    out, last = [], 0
    for m in found:
        if m[0] >= last:
            out.append(m)
            last = m[1]
    return out


def _initials_match(words: list[str], acr: str) -> bool:
    """Does the acronym abbreviate the last few words of the phrase (function words optional)?"""
    target = acr.lower()
    for k in range(len(words)):
        tail = words[k:]
        strict = "".join(w[0] for w in tail if w.lower() not in _FUNCTION).lower()
        loose = "".join(w[0] for w in tail).lower()
        if target in (strict, loose):
            return True
    return False


def _sorted_unique(edits: list[Edit]) -> list[Edit]:
    if not edits:
        return edits
    fixes = sorted((e for e in edits if e.action != "suggest"), key=lambda e: (e.start, e.end))
    out: list[Edit] = []
    last = -1
    for e in fixes:
        if e.start >= last:
            out.append(e)
            last = e.end
    taken = SpanIndex((f.start, f.end) for f in out)
    sugg = [e for e in edits if e.action == "suggest" and not taken.overlaps(e.start, e.end)]
    return out + sugg


def load(rules: RuleSet, issues: list[RuleIssue]) -> Gazetteer:
    """The rule set's gazetteer, built once and kept on the rule set."""
    cached = rules.__dict__.get("_gazetteer")
    if cached is None:
        found: list[RuleIssue] = []
        cached = (Gazetteer.from_rules(rules, found), found)
        rules.__dict__["_gazetteer"] = cached
    issues.extend(cached[1])
    return cached[0]


__all__ = ["Form", "GazetteerPass"]
