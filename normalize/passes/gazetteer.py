"""gazetteer: names and terms through the curated gazetteer in rules/gazetteer/.

Rewrites what the gazetteer is sure of (listed variants and garbles whose guard holds, casing
of known names, foreign acronyms beside their English expansion, garbles anchored on a known
name part, near-miss spellings with a matching given name) and suggests what it is not
(calques, inconsistent spellings, acronyms that disagree with their expansion, candidates
that only the context supports). A rule never fires where its guard fails.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from itertools import pairwise

import regex
from rapidfuzz.distance import Levenshtein

from ..gazetteer import Entry, Form, Gazetteer, Guard, translit_key
from ..model import Edit, Note, PassResult
from ..rules import RuleIssue, RuleSet
from .base import DocContext, Pass, SpanIndex

_CAP_TOKEN = regex.compile(r"(?<![\p{L}\p{N}’'-])\p{Lu}[\p{L}’'-]*\p{L}(?![\p{L}\p{N}])")
_ACRONYM = regex.compile(
    r"(?P<phrase>\p{Lu}[\p{L}’'-]*(?:[ \t]+(?:(?:of|the|and|for|on|de|du|des)[ \t]+)*\p{Lu}[\p{L}’'-]*)*)"
    r"[ \t]+\((?P<acr>[A-Za-z]{2,8})\)")
_FUNCTION = {"of", "the", "and", "for", "on", "de", "du", "des"}
#: frequency (pyspellchecker) above which a capitalised word counts as a common English word
_COMMON = 1000
#: how far a sentence window reaches on each side of a match, at most
_SENTENCE_REACH = 1000


_ACRONYM_S = regex.compile(r"(?<![\w\-])(\p{Lu}{2,})s(?![\w\-'’])")


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

    @classmethod
    def validate(cls, rules: RuleSet) -> list[RuleIssue]:
        issues: list[RuleIssue] = []
        load(rules, issues)
        if "titles" not in rules.words and rules.gazetteer:
            issues.append(RuleIssue(rules.rel("words/titles.txt"), 0, "missing word list of titles"))
        return issues

    # -- helpers ----------------------------------------------------------------------------
    def _paragraph(self, text: str, s: int, e: int) -> tuple[int, int]:
        breaks = self._breaks if self._breaks_of is text else None
        if breaks is None:  # outside run(): scan
            ps = text.rfind("\n", 0, s) + 1
            pe = text.find("\n", e)
            return ps, len(text) if pe < 0 else pe
        i = bisect_left(breaks, s)  # the line breaks of the text, found once per run
        ps = breaks[i - 1] + 1 if i > 0 else 0
        j = bisect_left(breaks, e)
        return ps, breaks[j] if j < len(breaks) else len(text)

    def _window(self, text: str, s: int, e: int, window: str) -> str:
        if window == "document":
            return text
        ps, pe = self._paragraph(text, s, e)
        if window == "paragraph":
            return text[ps:pe]
        # sentence: the stretch between sentence ends around the match (looked for at most
        # _SENTENCE_REACH characters away, so a page-long "sentence" is not scanned per match)
        ps, pe = max(ps, s - _SENTENCE_REACH), min(pe, e + _SENTENCE_REACH)
        left = max(text.rfind(". ", ps, s), text.rfind("? ", ps, s), text.rfind("! ", ps, s))
        right_candidates = [i for i in (text.find(". ", e, pe), text.find("? ", e, pe), text.find("! ", e, pe)) if i >= 0]
        return text[(left + 2 if left >= 0 else ps) : (min(right_candidates) + 1 if right_candidates else pe)]

    def _guard_ok(self, text: str, s: int, e: int, guard: Guard | None) -> bool:
        if guard is None:
            return True
        if guard.window == "sentence":
            return bool(_guard_pattern(guard.any).search(self._window(text, s, e, guard.window)))
        # a paragraph or document window is the same for every match in it: search it once
        ps, pe = (0, len(text)) if guard.window == "document" else self._paragraph(text, s, e)
        key = ("guard", guard.any, ps, pe)
        if key not in self._cache:
            self._cache[key] = bool(_guard_pattern(guard.any).search(text, ps, pe))
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
            self._cache[key] = sum(1 for w in set(words) if _guard_pattern((w,)).search(text, ps, pe))
        return int(self._cache[key])  # type: ignore[call-overload]

    def _common(self, word: str) -> bool:
        return self.english.frequency(word) >= _COMMON

    # -- the pass -------------------------------------------------------------------------
    def run(self, text: str, ctx: DocContext) -> PassResult:
        g = self.g
        if g.automaton is None or not text:
            return PassResult()
        lowered = _lower(text)
        protected = self._protected(text, lowered)
        edits: list[Edit] = []
        notes: list[Note] = []
        known: list[tuple[int, int]] = []
        # interval indexes and per-run caches keep a long document linear (no token x match scans)
        self._cache = {}
        self._breaks = [m.start() for m in regex.finditer("\n", text)]
        self._breaks_of = text
        protected_index = SpanIndex(protected)
        for s, e, ids in self._matches(text, lowered):
            known.append((s, e))
            if protected_index.overlaps(s, e):
                continue
            self._known_form(text, lowered, s, e, ids, edits)
        tokens = [_strip_possessive(m.start(), m.end(), m.group()) for m in _CAP_TOKEN.finditer(text)]
        taken = SpanIndex(known + protected)
        free = [t for t in tokens if not taken.overlaps(t[0], t[1])]
        self._anchored(text, tokens, free, edits)
        self._near_misses(text, tokens, free, edits)
        self._consistency(text, free, edits)
        self._acronyms(text, edits, notes, protected_index)
        self._acronym_plurals(text, edits, protected_index)
        self._cache, self._breaks, self._breaks_of = {}, [], None
        return PassResult(edits=_sorted_unique(edits), notes=notes)

    def _protected(self, text: str, lowered: str) -> list[tuple[int, int]]:
        if self.g.protected_automaton is None:
            return []
        out = []
        for end, length in self.g.protected_automaton.iter(lowered):
            s = end - length + 1
            if _bounded(text, s, end + 1):
                out.append((s, end + 1))
        return out

    def _matches(self, text: str, lowered: str) -> list[tuple[int, int, tuple[int, ...]]]:
        found = []
        for end, (length, ids) in self.g.automaton.iter(lowered):
            s, e = end - length + 1, end + 1
            if _bounded(text, s, e):
                found.append((s, e, ids))
        found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        out, last = [], 0
        for m in found:  # leftmost-longest, non-overlapping
            if m[0] >= last:
                out.append(m)
                last = m[1]
        return out

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
                    self._cache[key] = bool(_guard_pattern((entry.name,)).search(text))
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
    def _pairs(self, text: str, tokens: list[tuple[int, int, str]]) -> Iterator[tuple[tuple, tuple]]:
        for a, b in pairwise(tokens):
            if text[a[1] : b[0]] == " ":
                yield a, b

    def _anchored(self, text: str, tokens: list, free: list, edits: list[Edit]) -> None:
        g = self.g
        free_set = set(free)
        for a, b in self._pairs(text, tokens):
            # a known given name + a capitalised common word: "Andrej Doubt"
            if b in free_set and a[2].lower() in g.by_given and self._common(b[2]) and b[2] not in g.names \
                    and b[2].lower() not in self.titles:
                cands = sorted(set(g.by_given[a[2].lower()]))
                self._resolve(text, a[0], b[1], cands, b[2].lower(), "surname", edits)
            # a capitalised common word + a known surname: "Gypsy Nausėda"
            elif a in free_set and b[2].lower() in g.by_surname and self._common(a[2]) \
                    and a[2] not in g.names and a[2].lower() not in self.titles and a[2].lower() not in g.by_given:
                cands = sorted(set(g.by_surname[b[2].lower()]))
                self._resolve(text, a[0], a[1], cands, a[2].lower(), "given", edits)

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

    def _near_misses(self, text: str, tokens: list, free: list, edits: list[Edit]) -> None:
        g = self.g
        prev = {t: tokens[i - 1] for i, t in enumerate(tokens) if i > 0}
        for t in free:
            word = t[2]
            if len(word) < 5 or word in g.names or self.english.frequency(word) >= 100:
                continue
            key = translit_key(word)
            cands = []
            for i in sorted(g.neighbours(word)):
                en = g.entries[i]
                sur = (en.surname or "").split()[-1] if en.surname else ""
                if not sur or sur == word:
                    continue
                sim = Levenshtein.normalized_similarity(key, translit_key(sur))
                if sim >= 0.8:
                    cands.append((sim, en, sur))
            if not cands:
                continue
            p = prev.get(t)
            given_ok = [c for c in cands if p and text[p[1] : t[0]] == " " and c[1].given
                        and p[2] in (c[1].given, *c[1].given.split())]
            if len(given_ok) == 1:
                _, en, sur = given_ok[0]
                edits.append(Edit(t[0], t[1], sur, rule="near-miss", confidence=0.8,
                                  reason=f"{word!r} is a misspelling of {en.name}"))
                continue
            ctx = [(self._context_score(text, t[0], t[1], c[1]), c) for c in cands]
            ctx = [x for x in ctx if x[0] >= 2]
            if len(ctx) == 1:
                _, (_, en, sur) = ctx[0]
                edits.append(Edit(t[0], t[1], sur, rule="near-miss", action="suggest", confidence=0.45,
                                  reason=f"{word!r} may be {en.name}"))

    def _consistency(self, text: str, free: list, edits: list[Edit]) -> None:
        groups: dict[str, list[tuple[int, int, str]]] = {}
        for t in free:
            if len(t[2]) >= 4 and self.english.frequency(t[2]) < _COMMON:
                groups.setdefault(translit_key(t[2]), []).append(t)
        for occ in groups.values():
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
        for m in _ACRONYM.finditer(text):
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

    def _acronym_plurals(self, text: str, edits: list[Edit], protected: SpanIndex) -> None:
        """"NATOs have": an organisation's acronym with a bare "s" is a foreign genitive (German
        "NATOs", Swedish "Natos") that the MT carried over; suggest the English possessive."""
        g = self.g
        apostrophe = "\u2019" if text.count("\u2019") >= text.count("'") else "'"
        for m in _ACRONYM_S.finditer(text):
            acr = m.group(1)
            if acr not in g.by_acronym or m.group() in g.by_acronym or m.group() in g.names \
                    or protected.overlaps(m.start(), m.end()):
                continue
            edits.append(Edit(m.start(), m.end(), f"{acr}{apostrophe}s", rule="acronym-genitive", action="suggest",
                              confidence=0.45, reason=f"“{m.group()}” is not English: {acr} "
                              f"({g.entries[g.by_acronym[acr]].name}) takes no plural; a possessive "
                              f"(“{acr}{apostrophe}s”) or the name alone was probably meant"))


def _strip_possessive(s: int, e: int, word: str) -> tuple[int, int, str]:
    if len(word) > 3 and word[-2] in "'’" and word[-1] in "sS":
        return s, e - 2, word[:-2]
    return s, e, word


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
