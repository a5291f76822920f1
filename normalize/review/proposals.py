"""Gazetteer changes proposed by reviewers' decisions, written for a curator to read.

``normalize apply`` turns decisions into proposals in the gazetteer's own YAML format
(docs/gazetteer.md), in one file (default RULES/gazetteer/review-proposals.yaml) that is rewritten
by every apply, from all decisions that count (conflicts left out). Proposals are made from the
decision records alone (the sentence, the change, the reasons and where they point), so they
stay when a later run no longer raises the flags that prompted them. Every item carries comments saying who decided
what, when, in which file, on which sentence. A run with that rules directory uses the proposals
at once; a curator moves what is right into the curated files (the proposals that are then
listed there are left out of the next apply's file) and runs ``normalize rules check``.

Name corrections (an accepted suggestion or a typed correction)
    The change is widened to whole words and a shared leading article is dropped ("The
    Coalition" -> "The Alliance" becomes "Coalition" -> "Alliance"). A typed correction counts
    as a name correction when the corrected words are capitalised, or name a gazetteer entry, or
    replace text a gazetteer rule flagged; other corrections (grammar, meaning) only change the
    text. Then:

    * the corrected text is an entry's name: the wrong form is added to that entry
      (``- extends: NAME`` with ``variants``, or ``garbles`` for literal translations: reasons
      calque and anchored-garble);
    * the corrected text is the surname of exactly one person and the sentence has that
      person's given name before it: the same, with the full names;
    * otherwise a new entry is proposed, named by the corrected text (type person for
      near-miss, anchored-garble and inconsistent-spelling, else term).

    A wrong form that was a calque keeps the calque's context guard; one that is common English
    gets a guard made of the sentence's other capitalised words. A wrong form that the gazetteer
    already lists (as a variant, garble or foreign acronym) is not proposed again: the reason is
    printed instead.

False alarms on a gazetteer rule, and reverted gazetteer rewrites
    * calque, variant, garble: a ``never`` phrase on the entry (``- extends: NAME``): the matched
      text with up to two words on each side, within the sentence;
    * near-miss, inconsistent-spelling, foreign-acronym, casing: the matched name is made a
      protected phrase (``protected:``);
    * anchored-garble: the two words (anchor and garble) become a protected phrase;
    * acronym-mismatch, acronym-genitive: a protected phrase too.
    False alarms on the sentence flagger's reasons (fluency, fragment, ...) are kept in
    decisions.jsonl only: the flagger has no exception list.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..gazetteer import COMMON_FREQ, Gazetteer
from ..rules import RuleIssue, RuleSet, load_yaml
from .run import Change

PROPOSALS_NAME = "review-proposals.yaml"
MARKER = "# normalize review proposals"

#: reason codes of the gazetteer pass (docs/gazetteer.md); the others come from the sentence flagger
GAZETTEER_CODES = {"variant", "garble", "casing", "calque", "near-miss", "anchored-garble", "inconsistent-spelling",
                   "foreign-acronym", "acronym-mismatch", "acronym-genitive"}
#: rules about the grammar around an acronym: an accepted suggestion is not a name correction
ACRONYM_GRAMMAR = {"acronym-mismatch", "acronym-genitive"}
LITERAL_CODES = {"calque", "anchored-garble"}
PERSON_CODES = {"near-miss", "anchored-garble", "inconsistent-spelling"}
_ARTICLES = {"the", "a", "an"}
_WORD = re.compile(r"[\w’'-]+")


@dataclass
class Provenance:
    action: str
    reviewer: str
    time: str
    where: str
    flag: str
    sentence: str
    detail: str = ""

    def comments(self, indent: str) -> list[str]:
        out = [f"{indent}# {self.action} by {_c(self.reviewer)}, {_c(self.time)}, {_c(self.where)}, flag {self.flag}"]
        if self.detail:
            out.append(f"{indent}#   {_c(self.detail)}")
        out.append(f"{indent}#   sentence: {_c(self.sentence, 200)}")
        return out


@dataclass
class FormItem:
    text: str
    kind: str  # variants | garbles
    guard: dict[str, Any] | None = None
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class NeverItem:
    phrase: str
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class EntryProposal:
    name: str
    new: bool
    type: str = "term"
    given: str | None = None
    surname: str | None = None
    forms: dict[str, FormItem] = field(default_factory=dict)
    never: dict[str, NeverItem] = field(default_factory=dict)
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class ProtectedItem:
    phrase: str
    code: str
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class Proposals:
    entries: dict[str, EntryProposal] = field(default_factory=dict)
    protected: dict[str, ProtectedItem] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was not proposed, and why

    def __len__(self) -> int:
        return sum(len(e.forms) + len(e.never) for e in self.entries.values()) + len(self.protected)


# -- helpers ---------------------------------------------------------------------------------
def _c(text: str, limit: int = 160) -> str:
    """Text made safe for a one-line YAML comment."""
    out = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in str(text))
    out = re.sub(r" {2,}", " ", out).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def q(text: str) -> str:
    """A YAML double-quoted scalar for any text."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or 0x7F <= o < 0xA0 or ch in "\u2028\u2029\ufeff" or 0xD800 <= o < 0xE000 \
                or unicodedata.category(ch) == "Cn":
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _wordch(ch: str) -> bool:
    return ch.isalnum() or ch in "-’'"


def _widen(text: str, s: int, e: int, lo: int, hi: int) -> tuple[int, int]:
    """[s, e) grown to whole words, inside [lo, hi)."""
    if s < e:
        while s > lo and _wordch(text[s - 1]) and _wordch(text[s]):
            s -= 1
        while e < hi and _wordch(text[e]) and _wordch(text[e - 1]):
            e += 1
    else:  # an insertion: the word(s) around it
        while s > lo and _wordch(text[s - 1]):
            s -= 1
        while e < hi and _wordch(text[e]):
            e += 1
    return s, e


def _neighbour(text: str, s: int, e: int, lo: int, hi: int, side: int) -> tuple[int, int] | None:
    """The capitalised word right before (side -1) or after (side 1) [s, e), one space away."""
    if side < 0:
        m = [x for x in _WORD.finditer(text, lo, s)][-1:]
        ok = m and m[0].end() == s - 1 and text[s - 1] == " "
    else:
        m = [x for x in _WORD.finditer(text, e, hi)][:1]
        ok = m and m[0].start() == e + 1 and text[e] == " "
    if not ok or not m[0].group()[:1].isupper():
        return None
    return m[0].start(), m[0].end()


def _with_context(text: str, s: int, e: int, lo: int, hi: int, words: int = 2) -> str:
    """text[s:e] with up to ``words`` words on each side, within [lo, hi)."""
    left = [m for m in _WORD.finditer(text, lo, s)][-words:]
    right = [m for m in _WORD.finditer(text, e, hi)][:words]
    a = left[0].start() if left else s
    b = right[-1].end() if right else e
    return text[a:b].strip()


def _is_common(text: str, english: Any) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    return bool(words) and all(english.frequency(w) >= COMMON_FREQ for w in words)


def _guard_from_sentence(sentence: str, before: str, english: Any) -> dict[str, Any] | None:
    skip = set(before.split())
    words: list[str] = []
    for m in re.finditer(r"\b[A-Z][\w’'-]+", sentence):
        w = m.group()
        if m.start() == 0 or w in skip or w in words or english.frequency(w) >= COMMON_FREQ:
            continue
        words.append(w)
    return {"any": words[:4], "window": "paragraph"} if words else None


class _Index:
    """Lookups into the gazetteer the proposals extend (the proposals file itself left out)."""

    def __init__(self, g: Gazetteer, english: Any) -> None:
        self.g = g
        self.english = english
        self.by_name = {e.name: i for i, e in enumerate(g.entries)}
        self.forms: dict[str, list[Any]] = {}
        for f in g.forms:
            self.forms.setdefault(f.text.lower(), []).append(f)
        self.protected = {p.lower() for p in g.protected}

    def listed(self, text: str) -> Any:
        """The variant, garble or foreign acronym with exactly this text, if any."""
        return next((f for f in self.forms.get(text.lower(), [])
                     if f.text == text and f.kind in ("variant", "garble", "foreign-acronym")), None)

    def calques(self, text: str) -> list[Any]:
        return [f for f in self.forms.get(text.lower(), []) if f.kind == "calque" and f.text[1:] == text[1:]]


# -- building ------------------------------------------------------------------------------------
class Builder:
    """Proposals from decision records alone (their sentence, change and reasons), so that they
    survive a new run in which the flags that prompted them are gone (because they worked)."""

    def __init__(self, g: Gazetteer, english: Any) -> None:
        self.ix = _Index(g, english)
        self.p = Proposals()

    def _prov(self, d: dict[str, Any], detail: str = "") -> Provenance:
        where = str(d.get("file")) + (f":{d['line']}" if isinstance(d.get("line"), int) else "")
        return Provenance(str(d.get("action")), str(d.get("reviewer")), str(d.get("time", "")), where,
                          str(d.get("flag")), str(d.get("text", "")), detail)

    def _entry(self, name: str, new: bool, etype: str = "term") -> EntryProposal:
        ep = self.p.entries.get(name)
        if ep is None:
            ep = self.p.entries[name] = EntryProposal(name, new, etype)
        return ep

    def add(self, d: dict[str, Any]) -> None:
        """What decision ``d`` proposes (nothing for most corrections and the flagger's reasons)."""
        sentence, offset = d.get("text"), d.get("start")
        if not isinstance(sentence, str) or not isinstance(offset, int):
            return
        action = d.get("action")
        reasons = [r for r in d.get("reasons") or [] if isinstance(r, dict)] if isinstance(d.get("reasons"), list) else []
        if action in ("accept", "correct"):
            change = Change.from_json(d.get("change"))
            if change is None:
                return
            s, e = change.start - offset, change.end - offset
            if not (0 <= s <= e <= len(sentence)) or sentence[s:e] != change.before:
                self.p.notes.append(f"decision {d.get('id')}: its change is not inside its sentence; nothing proposed")
                return
            code = d.get("code") if action == "accept" else None
            if action == "accept" and code not in GAZETTEER_CODES - ACRONYM_GRAMMAR:
                return  # the flagger's suggestions and the acronym grammar rules are not names
            if action == "correct":  # a correction of text a gazetteer rule pointed at
                for r in reasons:
                    span = _span(r, offset, len(sentence))
                    if r.get("code") in GAZETTEER_CODES and span and span[0] <= e and s <= span[1]:
                        code = str(r["code"])
                        break
                if code in ACRONYM_GRAMMAR:
                    return  # grammar around an acronym, not a name
            self.correction(d, sentence, s, e, change.after, code)
        elif action == "false-alarm":
            for r in reasons:
                code = r.get("code")
                if code not in GAZETTEER_CODES:
                    continue
                span = _span(r, offset, len(sentence))
                if span is None:
                    self.p.notes.append(f"{code}: the text the rule matched was not found in the sentence "
                                        f"(flag {d.get('flag')}); nothing proposed")
                    continue
                self.exception(d, str(code), sentence, span[0], span[1])
        elif action == "revert":
            rule, _, name = str(d.get("edit_rule", "")).partition("/")
            ctx, change = d.get("context"), Change.from_json(d.get("change"))
            if "gazetteer" not in rule or name not in GAZETTEER_CODES or change is None or not isinstance(ctx, dict) \
                    or not isinstance(ctx.get("text"), str) or not isinstance(ctx.get("start"), int):
                return
            text, s = ctx["text"], change.start - ctx["start"]
            if not (0 <= s <= s + len(change.before) <= len(text)) or text[s : s + len(change.before)] != change.before:
                return
            # the input's words put back where the rewrite was: what the next run will see
            text = text[:s] + change.after + text[s + len(change.before) :]
            self.exception(d, name, text, s, s + len(change.after))

    # a name correction ----------------------------------------------------------------------------
    def correction(self, d: dict[str, Any], sentence: str, s0: int, e0: int, new: str, code: str | None) -> None:
        s, e = _widen(sentence, s0, e0, 0, len(sentence))
        before = sentence[s:e]
        after = sentence[s:s0] + new + sentence[e0:e]
        calques = self.ix.calques(before.strip())  # before the article goes: "the Coalition"
        bw, aw = before.split(), after.split()
        if len(bw) > 1 and len(aw) > 1 and bw[0] == aw[0] and bw[0].lower() in _ARTICLES:
            before, after = " ".join(bw[1:]), " ".join(aw[1:])
        before, after = before.strip(), after.strip()
        calques = calques or self.ix.calques(before)
        if not before or not after or before == after:
            return
        if d.get("action") == "correct" and code is None:
            name_like = all(w[:1].isupper() or w[:1].isdigit() for w in after.split()) and len(after.split()) <= 6
            if not (name_like or after in self.ix.by_name):
                return  # an ordinary correction: the text changes, the gazetteer does not
        target = after if after in self.ix.by_name else None
        if target is None and len(after.split()) == 1:
            # a name part: with the word beside it ("Gypsy" + "Nausėda", "Alexander" + "Khrushko")
            # the correction may name an entry; the variant is then the whole wrong name
            for side in (-1, 1):
                nb = _neighbour(sentence, s, e, 0, len(sentence), side)
                if nb is None:
                    continue
                word = sentence[nb[0] : nb[1]]
                full = f"{word} {after}" if side < 0 else f"{after} {word}"
                if full in self.ix.by_name:
                    target, before = full, (f"{word} {before}" if side < 0 else f"{before} {word}")
                    break
        detail = f"{before!r} -> {target or after!r}" + (f" ({code})" if code else " (typed)")
        listed = self.ix.listed(before)
        if listed is not None:
            owner = self.ix.g.entries[listed.entry].name
            self.p.notes.append(f"{before!r} is already a {listed.kind} of {owner!r} "
                                f"({listed.file}:{listed.line}); not proposed again ({detail}, flag {d.get('flag')})")
            return
        kind = "garbles" if code in LITERAL_CODES else "variants"
        guard = None
        if calques:
            f0 = calques[0]
            if f0.guard is not None:
                guard = {"any": list(f0.guard.any), "window": f0.guard.window}
            else:
                en = self.ix.g.entries[f0.entry]
                guard = {"any": [x for x in (en.name, en.acronym) if x], "window": "document"}
        elif _is_common(before, self.ix.english):
            guard = _guard_from_sentence(sentence, before, self.ix.english)
        if target is not None:
            ep = self._entry(target, new=False)
        else:
            etype = "person" if code in PERSON_CODES else "term"
            ep = self._entry(after, new=True, etype=etype)
            if etype == "person":
                parts = after.split()
                ep.surname = parts[-1]
                ep.given = " ".join(parts[:-1]) or None
        item = ep.forms.get(before)
        if item is None:
            item = ep.forms[before] = FormItem(before, kind, guard)
        item.provenance.append(self._prov(d, detail))

    # an exception: the rule was wrong here -----------------------------------------------------------
    def exception(self, d: dict[str, Any], code: str, text: str, s: int, e: int) -> None:
        """The rule ``code`` matched ``text[s:e]`` (``text``: the sentence, or the line) and was wrong."""
        surface = text[s:e]
        prov = self._prov(d, f"{code} on {surface!r}")
        if code in ("calque", "variant", "garble"):
            forms = self.ix.calques(surface) if code == "calque" else \
                [f for f in self.ix.forms.get(surface.lower(), []) if f.text == surface and f.kind == code]
            if forms:
                phrase = _with_context(text, s, e, 0, len(text))
                for name in dict.fromkeys(self.ix.g.entries[f.entry].name for f in forms):
                    if phrase.lower() in (x.lower() for x in self.ix.g.entries[self.ix.by_name[name]].never):
                        self.p.notes.append(f"{phrase!r} is already a never phrase of {name!r}")
                        continue
                    ep = self._entry(name, new=False)
                    item = ep.never.get(phrase)
                    if item is None:
                        item = ep.never[phrase] = NeverItem(phrase)
                    item.provenance.append(prov)
                return
        ws, we = _widen(text, s, e, 0, len(text))
        if code == "anchored-garble" and len(text[ws:we].split()) == 1:
            # the anchor is the known name part beside the garble
            nb = _neighbour(text, ws, we, 0, len(text), 1) or _neighbour(text, ws, we, 0, len(text), -1)
            if nb is not None:
                ws, we = min(ws, nb[0]), max(we, nb[1])
        phrase = text[ws:we].strip()
        if not phrase:
            return
        if phrase.lower() in self.ix.protected:
            self.p.notes.append(f"{phrase!r} is already protected (flag {d.get('flag')})")
            return
        item = self.p.protected.get(phrase)
        if item is None:
            item = self.p.protected[phrase] = ProtectedItem(phrase, code)
        item.provenance.append(prov)


def _span(reason: dict[str, Any], offset: int, length: int) -> tuple[int, int] | None:
    """A reason's ``span`` (document offsets, as the server recorded it) inside the sentence."""
    span = reason.get("span")
    if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)):
        return None
    s, e = span[0] - offset, span[1] - offset
    return (s, e) if 0 <= s <= e <= length else None


# -- writing --------------------------------------------------------------------------------------
def render(p: Proposals, header: list[str]) -> str:
    lines = [MARKER, *[f"# {_c(h, 200)}" for h in header], ""]
    entries = sorted(p.entries.values(), key=lambda e: (not e.new, e.name))
    lines.append("entries:" if entries else "entries: []")
    for ep in entries:
        provs = [pv for f in ep.forms.values() for pv in f.provenance] + \
                [pv for n in ep.never.values() for pv in n.provenance]
        if ep.new:
            lines.append("  # proposed new entry")
            lines.append(f"  - name: {q(ep.name)}")
            lines.append(f"    type: {ep.type}")
            if ep.given:
                lines.append(f"    given: {q(ep.given)}")
            if ep.surname:
                lines.append(f"    surname: {q(ep.surname)}")
        else:
            lines.append(f"  - extends: {q(ep.name)}")
        for kind in ("variants", "garbles"):
            items = sorted((f for f in ep.forms.values() if f.kind == kind), key=lambda f: f.text)
            if not items:
                continue
            lines.append(f"    {kind}:")
            for f in items:
                for pv in f.provenance:
                    lines.extend(pv.comments("      "))
                if f.guard:
                    anys = ", ".join(q(w) for w in f.guard["any"])
                    lines.append(f"      - {{text: {q(f.text)}, context: {{any: [{anys}], window: {f.guard['window']}}}}}")
                else:
                    lines.append(f"      - {q(f.text)}")
        if ep.never:
            lines.append("    never:")
            for n in sorted(ep.never.values(), key=lambda n: n.phrase):
                for pv in n.provenance:
                    lines.extend(pv.comments("      "))
                lines.append(f"      - {q(n.phrase)}")
        reviewers = sorted({pv.reviewer for pv in provs})
        lines.append(f"    note: {q('proposed by review (' + ', '.join(reviewers) + ')')}")
    lines.append("")
    items = sorted(p.protected.values(), key=lambda x: x.phrase)
    lines.append("protected:" if items else "protected: []")
    for it in items:
        for pv in it.provenance:
            lines.extend(pv.comments("  "))
        lines.append(f"  - {q(it.phrase)}")
    return "\n".join(lines) + "\n"


def base_rules(rules: RuleSet, proposals_path: Path) -> RuleSet:
    """The rule set without the proposals file (when it lies in the rules' gazetteer folder)."""
    gaz = dict(rules.gazetteer)
    try:
        if proposals_path.resolve().parent == (rules.root / "gazetteer").resolve():
            gaz.pop(proposals_path.name, None)
    except OSError:
        pass
    base = dataclasses.replace(rules, gazetteer=gaz, issues=[])
    base.__dict__["english"] = rules.english
    return base


def validate(text: str, base: RuleSet, name: str, scratch: Path) -> list[RuleIssue]:
    """Issues the proposals would raise in ``rules check`` (with the curated gazetteer)."""
    issues: list[RuleIssue] = []
    scratch.write_text(text, encoding="utf-8")
    data = load_yaml(scratch, base.root, issues)
    if data is None:
        return issues or [RuleIssue(name, 1, "empty proposals file")]
    rs = dataclasses.replace(base, gazetteer={**base.gazetteer, name: data}, issues=[])
    rs.__dict__["english"] = base.english
    Gazetteer.from_rules(rs, issues)
    return [i for i in issues if i.file.endswith(name) or i.level == "error"]
