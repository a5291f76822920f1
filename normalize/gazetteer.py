"""The gazetteer: curated names and terms from rules/gazetteer/*.yaml, validated and indexed.

Format: docs/gazetteer.md. Every surface form (variants, garbles, foreign acronyms, calques,
canonical names for casing) goes into one Aho-Corasick automaton, so matching costs the same
for 100 entries as for 10,000. Name parts are indexed for the rules that go beyond the list
(anchored garbles, near-miss spellings), with a deletion index so that finding spelling
neighbours does not scan the gazetteer either.

An entry may be extended from another file (``- extends: NAME`` with ``variants``, ``garbles``,
``foreign_acronyms``, ``calques``, ``never`` and ``note``): ``normalize apply`` writes reviewers'
proposals that way, without touching the curated files. Extensions are applied after every
file is loaded, so file order does not matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ahocorasick

from .rules import RuleIssue, RuleSet, line_of

TYPES = {"person", "organisation", "place", "term"}
WINDOWS = {"sentence", "paragraph", "document"}
ENTRY_FIELDS = {"name", "type", "given", "surname", "nationality", "country", "roles", "variants",
                "garbles", "literal", "acronym", "foreign_acronyms", "calques", "context", "never",
                "note", "__line__"}
#: fields an ``extends:`` item may add to an entry defined elsewhere
EXTEND_FIELDS = {"extends", "variants", "garbles", "foreign_acronyms", "calques", "never", "note", "__line__"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
#: English words so common that a form made only of them needs a context guard.
COMMON_FREQ = 20000


@dataclass(frozen=True)
class Guard:
    any: tuple[str, ...] = ()
    window: str = "paragraph"


@dataclass
class Form:
    text: str
    kind: str  # variant | garble | canonical | foreign-acronym | calque
    entry: int
    guard: Guard | None = None
    suggest: str | None = None
    lang: str | None = None
    file: str = ""
    line: int = 0


@dataclass
class Entry:
    name: str
    type: str
    file: str
    line: int
    given: str | None = None
    surname: str | None = None
    nationality: str | None = None
    country: str | None = None
    roles: list[dict[str, Any]] = field(default_factory=list)
    acronym: str | None = None
    literal_given: dict[str, str] = field(default_factory=dict)  # lower word -> lang
    literal_surname: dict[str, str] = field(default_factory=dict)
    guard: Guard | None = None
    never: tuple[str, ...] = ()

    def context_words(self) -> list[str]:
        words = [w for w in (self.nationality, self.country) if w]
        for r in self.roles:
            for k in ("title", "of"):
                if r.get(k):
                    words.append(str(r[k]))
        return words


@lru_cache(maxsize=1 << 16)
def translit_key(word: str) -> str:
    """A spelling key under which common romanisations of one name coincide.

    Yermakov/Ermakov, Zelenskyy/Zelensky, Baerbock/Bärbock, Iohannis/Johannis share a key.
    (Cached: a pure function of the word, asked again for every capitalised word.)
    """
    w = unicodedata.normalize("NFKD", word.lower())
    w = "".join(c for c in w if not unicodedata.combining(c) and c.isalpha())
    w = w.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    for a, b in (("shch", "sc"), ("tsch", "c"), ("sch", "s"), ("kh", "h"), ("zh", "z"), ("ch", "c"),
                 ("sh", "s"), ("ts", "c"), ("tz", "c"), ("ck", "k"), ("w", "v"), ("ph", "f"),
                 ("yo", "e"), ("ye", "e"), ("iy", "i"), ("yi", "i"),
                 ("ij", "i"), ("ii", "i"), ("y", "i"), ("j", "i"), ("ou", "u")):
        w = w.replace(a, b)
    out = []
    for c in w:  # doubled letters count once
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def deletions(key: str) -> set[str]:
    return {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}


@dataclass
class Gazetteer:
    entries: list[Entry] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    automaton: Any = None
    protected_automaton: Any = None
    by_given: dict[str, list[int]] = field(default_factory=dict)  # lower given name -> entries
    by_surname: dict[str, list[int]] = field(default_factory=dict)  # lower surname -> entries
    surname_neighbours: dict[str, set[int]] = field(default_factory=dict)  # deletion key -> entries
    by_acronym: dict[str, int] = field(default_factory=dict)
    by_name_lower: dict[str, int] = field(default_factory=dict)
    names: frozenset[str] = frozenset()

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_rules(cls, rules: RuleSet, issues: list[RuleIssue] | None = None) -> Gazetteer:
        issues = issues if issues is not None else []
        g = cls()
        english = rules.english if rules.gazetteer else None
        form_owner: dict[tuple[str, bool], tuple[str, str, int]] = {}
        name_seen: dict[str, tuple[str, int]] = {}
        extensions: list[tuple[dict[str, Any], str]] = []
        for fname, data in sorted(rules.gazetteer.items()):
            file = rules.rel(f"gazetteer/{fname}")
            if not isinstance(data, dict):
                issues.append(RuleIssue(file, 1, "expected a mapping with `entries:` or `protected:`"))
                continue
            for key in data:
                if key not in ("entries", "protected", "__line__"):
                    issues.append(RuleIssue(file, line_of(data), f"unknown top-level key {key!r}"))
            protected = data.get("protected") or []
            if not isinstance(protected, list):
                issues.append(RuleIssue(file, line_of(data), "protected: expected a list of phrases"))
                protected = []
            for p in protected:
                if isinstance(p, str) and p.strip():
                    g.protected.append(p)
                else:
                    issues.append(RuleIssue(file, line_of(data), "protected: each item is a phrase"))
            entries = data.get("entries") or []
            if not isinstance(entries, list):
                issues.append(RuleIssue(file, line_of(data), "entries: expected a list"))
                continue
            for raw in entries:
                if isinstance(raw, dict) and "extends" in raw:
                    extensions.append((raw, file))
                else:
                    g._load_entry(raw, file, issues, form_owner, name_seen, english)
        for raw, file in extensions:
            g._extend_entry(raw, file, issues, form_owner, english)
        g._build()
        return g

    def _load_entry(self, raw: Any, file: str, issues: list[RuleIssue],
                    form_owner: dict[tuple[str, bool], tuple[str, str, int]],
                    name_seen: dict[str, tuple[str, int]], english: Any) -> None:
        ln = line_of(raw)
        if not isinstance(raw, dict):
            issues.append(RuleIssue(file, ln, "an entry must be a mapping"))
            return
        for key in raw:
            if key not in ENTRY_FIELDS:
                issues.append(RuleIssue(file, ln, f"unknown field {key!r}"))
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            issues.append(RuleIssue(file, ln, "entry has no `name`"))
            return
        if name in name_seen:
            f0, l0 = name_seen[name]
            issues.append(RuleIssue(file, ln, f"duplicate entry {name!r} (first at {f0}:{l0})"))
            return
        name_seen[name] = (file, ln)
        etype = raw.get("type")
        if not isinstance(etype, str) or etype not in TYPES:
            issues.append(RuleIssue(file, ln, f"{name!r}: type must be one of {', '.join(sorted(TYPES))}"))
            return
        for key in ("never", "roles"):
            if not isinstance(raw.get(key) or [], list):
                issues.append(RuleIssue(file, ln, f"{name!r}: {key} must be a list"))
                return
        if not all(isinstance(x, str) for x in raw.get("never") or []):
            issues.append(RuleIssue(file, ln, f"{name!r}: never must be a list of phrases"))
            return
        idx = len(self.entries)
        entry = Entry(name=name, type=etype, file=file, line=ln,
                      given=_opt_str(raw, "given", file, ln, issues),
                      surname=_opt_str(raw, "surname", file, ln, issues),
                      nationality=_opt_str(raw, "nationality", file, ln, issues),
                      country=_opt_str(raw, "country", file, ln, issues),
                      acronym=_opt_str(raw, "acronym", file, ln, issues),
                      guard=_guard(raw.get("context"), file, ln, issues, name),
                      never=tuple(str(x) for x in raw.get("never") or []))
        for role in raw.get("roles") or []:
            if not isinstance(role, dict) or not role.get("title"):
                issues.append(RuleIssue(file, line_of(role, ln), f"{name!r}: a role needs a title"))
                continue
            for k in ("from", "to"):
                if k in role and not _DATE.match(str(role[k])):
                    issues.append(RuleIssue(file, line_of(role, ln),
                                            f"{name!r}: role {k!r} must be YYYY or YYYY-MM-DD, not {role[k]!r}"))
            entry.roles.append(role)
        literal = raw.get("literal") or {}
        if not isinstance(literal, dict):
            issues.append(RuleIssue(file, ln, f"{name!r}: literal must be a mapping (given, surname)"))
            literal = {}
        for part, target in (("given", entry.literal_given), ("surname", entry.literal_surname)):
            items = literal.get(part) or []
            if not isinstance(items, list):
                issues.append(RuleIssue(file, line_of(literal, ln), f"{name!r}: literal {part} must be a list"))
                items = []
            for item in items:
                if isinstance(item, dict) and item.get("word"):
                    target[str(item["word"]).lower()] = str(item.get("lang", ""))
                elif isinstance(item, str):
                    target[item.lower()] = ""
                else:
                    issues.append(RuleIssue(file, line_of(item, ln), f"{name!r}: literal {part}: {{word, lang, via}}"))
        self.entries.append(entry)
        self._add_forms(idx, raw, file, ln, issues, form_owner, english)
        self.forms.append(Form(name, "canonical", idx, file=file, line=ln))

    def _add_forms(self, idx: int, raw: dict[str, Any], file: str, ln: int, issues: list[RuleIssue],
                   form_owner: dict[tuple[str, bool], tuple[str, str, int]], english: Any) -> None:
        """The surface forms of ``raw`` (variants, garbles, foreign acronyms, calques) for entry ``idx``.

        A calque is only ever a suggestion, so a variant or garble may share its text with a calque
        (of this entry or another): the variant is rewritten, and the calque no longer fires there.
        """
        entry = self.entries[idx]
        name = entry.name

        def add(item: Any, kind: str) -> None:
            if isinstance(item, str):
                text, guard, suggest, lang, iln = item, None, None, None, ln
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                text, iln = item["text"], line_of(item, ln)
                guard = _guard(item.get("context"), file, iln, issues, name)
                suggest = item.get("suggest")
                lang = item.get("lang")
                if not isinstance(suggest, (str, type(None))) or not isinstance(lang, (str, type(None))):
                    issues.append(RuleIssue(file, iln, f"{name!r}: {kind}: suggest and lang must be text"))
                    return
            else:
                issues.append(RuleIssue(file, line_of(item, ln), f"{name!r}: {kind}: a string or {{text: ...}}"))
                return
            text = text.strip()
            if not text:
                return
            if text == name and kind in ("variant", "garble"):
                issues.append(RuleIssue(file, iln, f"{name!r}: {kind} {text!r} is the canonical name itself",
                                        "warning"))
                return
            key = (text, kind == "calque")  # calques and rewrites are owned separately
            owner = form_owner.get(key)
            if owner and owner[0] != name and kind != "calque":
                issues.append(RuleIssue(file, iln, f"{kind} {text!r} points at {name!r} and at {owner[0]!r} "
                                                   f"({owner[1]}:{owner[2]})"))
                return
            if owner and owner[0] == name:
                issues.append(RuleIssue(file, iln, f"{name!r}: {text!r} listed twice", "warning"))
                return
            form_owner[key] = (name, file, iln)
            if kind in ("variant", "garble") and guard is None and entry.guard is None and english is not None \
                    and _is_common_phrase(text, english):
                issues.append(RuleIssue(file, iln, f"{name!r}: {kind} {text!r} is common English and has no "
                                                   "context guard", "warning"))
            self.forms.append(Form(text, kind, idx, guard, suggest, lang, file, iln))

        for kind, key in (("variant", "variants"), ("garble", "garbles"),
                          ("foreign-acronym", "foreign_acronyms"), ("calque", "calques")):
            value = raw.get(key) or []
            if not isinstance(value, list):
                issues.append(RuleIssue(file, ln, f"{name!r}: {key} must be a list"))
                continue
            for item in value:
                if kind == "calque" and not (isinstance(item, dict) and item.get("suggest")):
                    issues.append(RuleIssue(file, line_of(item, ln), f"{name!r}: a calque needs text and suggest"))
                    continue
                add(item, kind)

    def _extend_entry(self, raw: dict[str, Any], file: str, issues: list[RuleIssue],
                      form_owner: dict[tuple[str, bool], tuple[str, str, int]], english: Any) -> None:
        """``- extends: NAME``: more forms and ``never`` phrases for an entry defined in any file."""
        ln = line_of(raw)
        target = raw.get("extends")
        allowed = ", ".join(sorted(EXTEND_FIELDS - {"extends", "__line__"}))
        for key in raw:
            if key not in EXTEND_FIELDS:
                issues.append(RuleIssue(file, ln, f"extends {target!r}: field {key!r} cannot be extended "
                                                  f"(only {allowed})"))
        if not isinstance(target, str) or not target.strip():
            issues.append(RuleIssue(file, ln, "extends: the name of an entry is expected"))
            return
        idx = next((i for i, e in enumerate(self.entries) if e.name == target), None)
        if idx is None:
            issues.append(RuleIssue(file, ln, f"extends {target!r}: no entry has this name"))
            return
        entry = self.entries[idx]
        never = raw.get("never") or []
        if not isinstance(never, list) or not all(isinstance(x, str) and x.strip() for x in never):
            issues.append(RuleIssue(file, ln, f"extends {target!r}: never must be a list of phrases"))
        else:
            entry.never = entry.never + tuple(x for x in never if x not in entry.never)
        self._add_forms(idx, raw, file, ln, issues, form_owner, english)

    def _build(self) -> None:
        a = ahocorasick.Automaton()
        grouped: dict[str, list[int]] = {}
        for i, f in enumerate(self.forms):
            grouped.setdefault(f.text.lower(), []).append(i)
        for key, ids in grouped.items():
            a.add_word(key, (len(key), tuple(ids)))
        if grouped:
            a.make_automaton()
        self.automaton = a if grouped else None
        if self.protected:
            p = ahocorasick.Automaton()
            for phrase in self.protected:
                p.add_word(phrase.lower(), len(phrase))
            p.make_automaton()
            self.protected_automaton = p
        names: set[str] = set()
        for i, e in enumerate(self.entries):
            self.by_name_lower[e.name.lower()] = i
            names.update(e.name.split())
            if e.acronym:
                self.by_acronym[e.acronym] = i
            if e.type != "person":
                continue
            if e.given:
                self.by_given.setdefault(e.given.lower(), []).append(i)
            if e.surname:
                self.by_surname.setdefault(e.surname.split()[-1].lower(), []).append(i)
                for d in deletions(translit_key(e.surname)):
                    self.surname_neighbours.setdefault(d, set()).add(i)
        for f in self.forms:  # given names and surnames of variants count too ("Andrej Duda")
            e = self.entries[f.entry]
            if f.kind in ("canonical", "variant"):
                names.update(f.text.split())
            if e.type == "person" and f.kind == "variant" and e.surname:
                parts = f.text.split()
                if len(parts) >= 2 and parts[-1] == e.surname.split()[-1]:
                    self.by_given.setdefault(" ".join(parts[:-1]).lower(), []).append(f.entry)
                elif len(parts) >= 2 and e.given and parts[0] == e.given.split()[0]:
                    self.by_surname.setdefault(parts[-1].lower(), []).append(f.entry)
        self.names = frozenset(n for n in names if n[:1].isupper())

    def neighbours(self, word: str) -> set[int]:
        out: set[int] = set()
        get = self.surname_neighbours.get
        for d in deletions(translit_key(word)):
            found = get(d)
            if found:
                out |= found
        return out


def _opt_str(raw: dict[str, Any], key: str, file: str, ln: int, issues: list[RuleIssue]) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        issues.append(RuleIssue(file, ln, f"{raw.get('name')!r}: {key} must be text"))
        return None
    return v


def _guard(value: Any, file: str, ln: int, issues: list[RuleIssue], name: str) -> Guard | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = {"any": value}
    words = value.get("any") if isinstance(value, dict) else None
    if not isinstance(words, list) or not words or not all(isinstance(w, (str, int, float)) for w in words):
        issues.append(RuleIssue(file, line_of(value, ln), f"{name!r}: context needs `any: [words]`"))
        return None
    window = str(value.get("window", "paragraph"))
    if window not in WINDOWS:
        issues.append(RuleIssue(file, line_of(value, ln), f"{name!r}: context window must be one of "
                                                          f"{', '.join(sorted(WINDOWS))}"))
        window = "paragraph"
    return Guard(tuple(str(w) for w in value["any"]), window)


def _is_common_phrase(text: str, english: Any) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    return bool(words) and all(english.frequency(w) >= COMMON_FREQ for w in words)
