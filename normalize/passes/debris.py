"""debris: page furniture that is not the article: credits, captions, trailers, bios, prefixes.

Every kind is described in rules/debris.yaml; this module knows how each kind is shaped
(a line, a bullet run, a header and its list, a prefix, a bio line, a drop cap, a broken
editorial note) and turns matches into edits. Removed text stays in the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import regex

from .. import kernel
from ..literals import anchored, fold, prefixes
from ..model import Edit, PassResult
from ..rules import PATTERN_TIMEOUT, RuleIssue, RuleSet, TimedPattern, compile_pattern, line_of, risky_pattern
from .base import DocContext, Pass, PatternGate, iter_lines, line_breaks, non_overlapping

FILE = "debris.yaml"
_PLACEHOLDER = regex.compile(r"<<(\w+)>>")
_FLAGS = {"m": regex.MULTILINE, "i": regex.IGNORECASE, "s": regex.DOTALL}
_WORD = regex.compile(r"[\w’'-]+")
# what surrounds a bio line's fragments: the characters of regex's \s (none is above U+3000)
# and punctuation before them, whitespace and quotes after them
_SPACES = "".join(regex.findall(r"\s", "".join(map(chr, range(0x3001)))))
_BIO_LEAD = _SPACES + ".,;:“”\"'«»„-"
_BIO_TAIL = _SPACES + "“”\"'«»"


def bio_body(line: str) -> str:
    """``line`` without the punctuation and spaces before its first fragment and the spaces
    and quotes after its last."""
    return line.lstrip(_BIO_LEAD).rstrip(_BIO_TAIL)


_K: Any = kernel.compiled or kernel
_FRAGMENT = regex.compile(r"[^.!?]+[.!?]")
_CLOSERS = "”’\"')]»"
_CAPS = frozenset("BCDEFGHJKLMNOPQRSTUVWXYZ")  # a drop cap: a capital but A and I
# the ASCII characters of _WORD (regex's \w there is [A-Za-z0-9_]): their least_runs in a
# fragment are at most its words (exactly its words in ASCII text), counted without the regex
_ASCII_WORD: Any = (kernel.compiled or kernel).CharSet(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'-")
_FRAGMENT_END: Any = (kernel.compiled or kernel).CharSet(".!?")
_BIO_LEAD_SET: Any = (kernel.compiled or kernel).CharSet(_BIO_LEAD)
_BIO_TAIL_SET: Any = (kernel.compiled or kernel).CharSet(_BIO_TAIL)


class LineHeads:
    """The line starts of a text (0, and every place after a "\n", as iter_lines cuts lines)
    where a line begins with what a stdlib ``re`` pattern matches, found in one scan: the
    pattern is looked for behind each "\n" (a literal the scan jumps to) and at 0, not tried at
    every character as a multiline "^" would be."""

    def __init__(self, head: str) -> None:
        self.first = re.compile(head)
        self.rest = re.compile(f"\n(?={head})")

    def starts(self, text: str) -> list[int]:
        got = [m.end() for m in self.rest.finditer(text)]
        if self.first.match(text):
            got.insert(0, 0)
        return got


# the lines whose head (after spaces and tabs) _dropcaps looks at: a capital but A and I, then
# "." or a space (the blanks are possessive: the head is the line with all of them stripped)
_DROPCAP_HEAD = LineHeads(r"[ \t]*+[BCDEFGHJKLMNOPQRSTUVWXYZ][. ]")


@dataclass
class _LineRule:
    id: str
    kind: str
    pattern: TimedPattern
    caption: str = ""
    line: int = 0


class _Starts:
    """What every match of a pattern begins with (:func:`normalize.literals.prefixes`), looked up
    by the text's two characters where a match would begin. ``known`` False: anything."""

    def __init__(self, pattern: str, flags: int) -> None:
        got = prefixes(pattern, flags)
        self.known = got is not None
        self.ignore = self.blanks = False
        self.by2: dict[str, tuple[str, ...]] = {}
        self.singles: frozenset[str] = frozenset()
        if got is not None:
            strings, self.ignore, self.blanks = got
            by2: dict[str, list[str]] = {}
            for x in strings:
                if len(x) >= 2:
                    by2.setdefault(x[:2], []).append(x)
            self.by2 = {k: tuple(v) for k, v in by2.items()}
            self.singles = frozenset(x for x in strings if len(x) == 1)

    def at(self, text: str, i: int) -> bool:
        """Whether a match may begin at ``i`` (after any spaces and tabs, when the pattern
        begins with them)."""
        if self.blanks:
            while i < len(text) and text[i] in " \t":
                i += 1
        got = self.by2.get(text[i : i + 2])
        return (got is not None and text.startswith(got, i)) or text[i : i + 1] in self.singles


@dataclass
class DebrisRules:
    lines: list[_LineRule] = field(default_factory=list)
    bullet: TimedPattern | None = None
    bullet_credit: TimedPattern | None = None
    bullet_max_items: int = 5
    bullet_max_words: int = 14
    trailers: list[dict[str, Any]] = field(default_factory=list)
    prefixes: list[dict[str, Any]] = field(default_factory=list)
    bios: list[dict[str, Any]] = field(default_factory=list)
    bio_words: frozenset[str] = frozenset()
    dropcap_min_frequency: int = 200000
    joins: list[dict[str, Any]] = field(default_factory=list)
    examples: list[tuple[str, int, str, Any, bool]] = field(default_factory=list)


def _expand(pattern: str, words: dict[str, list[str]], file: str, line: int,
            issues: list[RuleIssue]) -> str:
    def sub(m: regex.Match[str]) -> str:
        name = m.group(1)
        if name not in words:
            issues.append(RuleIssue(file, line, f"unknown word list <<{name}>> "
                                                f"(expected rules/words/{name}.txt)"))
            return "(?!)"
        items = sorted(words[name], key=lambda w: (-len(w), w))
        return "(?:" + "|".join(regex.escape(w) for w in items) + ")" if items else "(?!)"

    return _PLACEHOLDER.sub(sub, pattern)


def _compile(item: dict[str, Any], key: str, rules: RuleSet, issues: list[RuleIssue],
             section: str, extra_flags: int = 0) -> TimedPattern | None:
    file = rules.rel(FILE)
    ln = line_of(item)
    if key not in item:
        issues.append(RuleIssue(file, ln, f"{section}: missing {key!r}"))
        return None
    flags = extra_flags
    for ch in str(item.get("flags") or ""):
        if ch not in _FLAGS:
            issues.append(RuleIssue(file, ln, f"{section}: unknown flag {ch!r}"))
        flags |= _FLAGS.get(ch, 0)
    source = _expand(str(item[key]), rules.words, file, ln, issues)
    risk = risky_pattern(str(item[key]))
    if risk:
        issues.append(RuleIssue(file, ln, f"{section}: rule {item.get('id', '?')!r}: {risk}", "warning"))
    try:
        return compile_pattern(source, flags, origin=f"{file}:{ln} {item.get('id', section)!r}")
    except (regex.error, RecursionError, OverflowError) as exc:
        issues.append(RuleIssue(file, ln, f"{section}: rule {item.get('id', '?')!r}: bad pattern: {exc}"))
        return None


def load_rules(rules: RuleSet, issues: list[RuleIssue]) -> DebrisRules:
    data = rules.debris or {}
    file = rules.rel(FILE)
    out = DebrisRules()
    known = {"lines", "bullet_credits", "trailers", "prefixes", "bios", "dropcaps", "joins", "__line__"}
    for key in data:
        if key not in known:
            issues.append(RuleIssue(file, line_of(data.get(key), 1), f"unknown section {key!r}"))

    def items(section: str) -> list[dict[str, Any]]:
        value = data.get(section) or []
        if not isinstance(value, list):
            issues.append(RuleIssue(file, line_of(value), f"{section}: expected a list"))
            return []
        good = []
        seen: set[str] = set()
        for it in value:
            if not isinstance(it, dict) or "id" not in it:
                issues.append(RuleIssue(file, line_of(it), f"{section}: each rule needs an id"))
                continue
            if it["id"] in seen:
                issues.append(RuleIssue(file, line_of(it), f"{section}: duplicate id {it['id']!r}"))
                continue
            seen.add(it["id"])
            good.append(it)
        return good

    def examples(section: str, it: dict[str, Any], rid: str) -> None:
        for ex in it.get("examples") or []:
            out.examples.append((section, line_of(it), rid, ex, True))
        for ex in it.get("keep") or []:
            out.examples.append((section, line_of(it), rid, ex, False))

    for it in items("lines"):
        pat = _compile(it, "pattern", rules, issues, "lines")
        if pat is None:
            continue
        caption = str(it.get("caption") or "")
        if caption not in ("", "below-at-start"):
            issues.append(RuleIssue(file, line_of(it), f"lines: unknown caption mode {caption!r}"))
        full = compile_pattern(rf"^(?:{pat.pattern})$", pat.flags | regex.MULTILINE, origin=pat.origin)
        out.lines.append(_LineRule(it["id"], str(it.get("kind", "debris")), full, caption, line_of(it)))
        examples("lines", it, it["id"])

    bc = data.get("bullet_credits")
    if isinstance(bc, dict):
        out.bullet = _compile(bc, "bullet", rules, issues, "bullet_credits")
        out.bullet_credit = _compile(bc, "credit", rules, issues, "bullet_credits")
        out.bullet_max_items = int(bc.get("max_items", 5))
        out.bullet_max_words = int(bc.get("max_words", 14))
        examples("bullet_credits", bc, "bullet-credits")

    for it in items("trailers"):
        pat = _compile(it, "header", rules, issues, "trailers")
        if pat is not None:
            out.trailers.append({**it, "header": pat})
            examples("trailers", it, it["id"])

    for it in items("prefixes"):
        pat = _compile(it, "pattern", rules, issues, "prefixes")
        if pat is not None:  # anchored at \A: tried at the start only (search would try everywhere)
            out.prefixes.append({**it, "pattern": pat, "_anchored": anchored(pat.regex.pattern, pat.regex.flags)})
            examples("prefixes", it, it["id"])

    out.bio_words = frozenset(w.lower() for w in rules.words.get("bio_nouns", []))
    for it in items("bios"):
        out.bios.append(it)
        examples("bios", it, it["id"])

    dc = data.get("dropcaps")
    if isinstance(dc, dict):
        out.dropcap_min_frequency = int(dc.get("min_frequency", 200000))
        examples("dropcaps", dc, "dropcap")

    for it in items("joins"):
        pat = _compile(it, "pattern", rules, issues, "joins")
        gaps = it.get("gaps")
        if pat is None:
            continue
        if not isinstance(gaps, dict) or not all(g in pat.groupindex for g in gaps if g != "__line__"):
            issues.append(RuleIssue(file, line_of(it), "joins: `gaps` must name groups of the pattern"))
            continue
        out.joins.append({**it, "pattern": pat, "gaps": {k: v for k, v in gaps.items() if k != "__line__"}})
        examples("joins", it, it["id"])
    return out


def _skip_break(text: str, pos: int) -> int:
    if text.startswith("\r\n", pos):
        return pos + 2
    if pos < len(text) and text[pos] == "\n":
        return pos + 1
    return pos


def removal_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span that removes lines ``[start, end)`` cleanly: with their line break and the
    blank lines after them; at the end of the document, with the line breaks before them."""
    n = len(text)
    e = _skip_break(text, end)
    while e < n:
        j = e
        while j < n and text[j] in " \t\u00a0":
            j += 1
        k = _skip_break(text, j)
        if k == j:
            break
        e = k
    if e < n or start == 0:
        return start, e
    # the block runs to the end: take the line break (and blank lines) before it instead,
    # keeping one final line break if the document had one
    s = start
    if text[s - 1] != "\n":
        return start, n
    s -= 1
    if s > 0 and text[s - 1] == "\r":
        s -= 1
    while s > 0:
        prev_nl = text.rfind("\n", 0, s)
        if prev_nl < 0 or text[prev_nl + 1 : s].strip(" \t\u00a0\r"):
            break
        s = prev_nl - 1 if prev_nl > 0 and text[prev_nl - 1] == "\r" else prev_nl
    if text.endswith("\n"):
        s = _skip_break(text, s)
    return s, n


def _words(line: str) -> int:
    return len(_WORD.findall(line))


class DebrisPass(Pass):
    name = "debris"
    description = "remove captions, credits, trailers, author bios, metadata prefixes and drop caps"

    def __init__(self, rules: RuleSet) -> None:
        super().__init__(rules)
        self.r = load_rules(rules, [])
        self.timeout = PATTERN_TIMEOUT
        # each line rule is tried only at the line starts that begin with what every match of it
        # begins with (by their first two characters)
        self._starts = [_Starts(x.pattern.regex.pattern, x.pattern.regex.flags) for x in self.r.lines]
        # each curator pattern runs only on the documents that hold what every match of it holds
        r = self.r
        self.gate = PatternGate([
            *((("line", i), x.pattern.regex.pattern, x.pattern.regex.flags) for i, x in enumerate(r.lines)),
            *([(("bullet", 0), r.bullet.regex.pattern, r.bullet.regex.flags)] if r.bullet is not None else []),
            *((("trailer", i), x["header"].regex.pattern, x["header"].regex.flags) for i, x in enumerate(r.trailers)),
            *((("prefix", i), x["pattern"].regex.pattern, x["pattern"].regex.flags) for i, x in enumerate(r.prefixes)),
            *((("join", i), x["pattern"].regex.pattern, x["pattern"].regex.flags) for i, x in enumerate(r.joins)),
        ])

    # -- validation -----------------------------------------------------------------------
    @classmethod
    def validate(cls, rules: RuleSet) -> list[RuleIssue]:
        issues: list[RuleIssue] = []
        r = load_rules(rules, issues)
        if any(i.level == "error" for i in issues):
            return issues
        p = cls(rules)
        file = rules.rel(FILE)
        for section, ln, rid, ex, positive in r.examples:
            if section in ("dropcaps", "joins") and positive:
                if not (isinstance(ex, list) and len(ex) == 2):
                    issues.append(RuleIssue(file, ln, f"{section}: examples are [input, expected]"))
                    continue
                got = p.apply_section(section, ex[0])
                if got != ex[1]:
                    issues.append(RuleIssue(file, ln, f"{section}: {rid!r}: example {ex[0]!r} "
                                                      f"gives {got!r}, expected {ex[1]!r}"))
                continue
            got = p.apply_section(section, str(ex), rule_id=rid)
            if positive and got == ex:
                issues.append(RuleIssue(file, ln, f"{section}: {rid!r}: example {ex!r} is not removed"))
            if not positive and got != ex:
                issues.append(RuleIssue(file, ln, f"{section}: {rid!r}: changes {ex!r}, listed under keep"))
        return issues

    def apply_section(self, section: str, text: str, rule_id: str | None = None) -> str:
        """Apply one section (or one rule of it) to a text: used to verify examples."""
        edits = self._edits(text, {section}, rule_id)
        out, pos = [], 0
        for e in non_overlapping(edits):
            out.append(text[pos : e.start])
            out.append(e.after)
            pos = e.end
        out.append(text[pos:])
        return "".join(out)

    # -- running --------------------------------------------------------------------------
    def run(self, text: str, ctx: DocContext) -> PassResult:
        metadata: dict[str, Any] = {}
        edits = self._edits(text, None, None, metadata)
        return PassResult(edits=non_overlapping(edits), metadata=metadata)

    def _edits(self, text: str, sections: set[str] | None, rule_id: str | None,
               metadata: dict[str, Any] | None = None) -> list[Edit]:
        def want(s: str) -> bool:
            return sections is None or s in sections

        edits: list[Edit] = []
        active = self.gate.keys_for(text)
        cut: list[list[tuple[int, int, str]]] = []

        def lines() -> list[tuple[int, int, str]]:  # the text's lines, cut when a section needs them
            if not cut:
                cut.append(list(iter_lines(text)) if text else [])
            return cut[0]

        if want("prefixes"):
            edits += self._prefixes(text, rule_id, metadata if metadata is not None else {}, active)
        if want("lines"):
            edits += self._lines(text, lines, rule_id, active)
        if want("bullet_credits") and ("bullet", 0) in active:
            edits += self._bullets(text, lines())
        if want("trailers"):
            edits += self._trailers(text, lines, rule_id, active)
        if want("bios"):
            edits += self._bios(text, rule_id)
        if want("dropcaps"):
            edits += self._dropcaps(text)
        if want("joins"):
            edits += self._joins(text, rule_id, active)
        return edits

    def _remove(self, text: str, start: int, end: int, rule: str, confidence: float = 0.95) -> Edit:
        s, e = removal_span(text, start, end)
        return Edit(s, e, "", rule=rule, action="remove", confidence=confidence)

    def _prefixes(self, text: str, rule_id: str | None, metadata: dict[str, Any], active: set) -> list[Edit]:
        out = []
        for i, it in enumerate(self.r.prefixes):
            if (rule_id and it["id"] != rule_id) or ("prefix", i) not in active:
                continue
            pat = it["pattern"]
            if not it.get("_anchored"):
                m = pat.search(text, timeout=self.timeout)
                if m and m.end() > m.start():
                    metadata.update({k: v for k, v in m.groupdict().items() if v is not None})
                    out.append(Edit(m.start(), m.end(), "", rule=it["id"], action="remove", confidence=0.95))
                continue
            # a prefix at the start of the text, repeated ("date 2021-12-01 date 2021-12-01 ..."):
            # all of it at once, as the rounds would remove it one at a time, so that a long
            # repetition cannot outlast the pipeline's rounds (and clean(clean(x)) == clean(x))
            at = 0
            while at < len(text):
                m = pat.match(text[at:] if at else text, timeout=self.timeout)
                if not m or m.end() <= m.start():
                    break
                metadata.update({k: v for k, v in m.groupdict().items() if v is not None})
                out.append(Edit(at + m.start(), at + m.end(), "", rule=it["id"], action="remove", confidence=0.95))
                at += m.end()
        return out

    def _lines(self, text: str, cut: Any, rule_id: str | None, active: set) -> list[Edit]:
        out: list[Edit] = []
        found = self.line_matches(text, rule_id, active, lambda: [s for s, _, _ in cut()])
        if not found:
            return out
        lines = cut()
        first_content = next((i for i, (_, _, ln) in enumerate(lines) if ln.strip()), None)
        for rule, m in found:
            start, end = m.start(), m.end()
            if end > start and text[end - 1] == "\r":
                end -= 1
            if rule.caption == "below-at-start" and first_content is not None \
                    and lines[first_content][0] == start:
                nxt = first_content + 1
                if nxt < len(lines):
                    _cs, ce, cap = lines[nxt]
                    stripped = cap.strip()
                    if stripped and _words(stripped) <= 12 and stripped[-1] not in ".!?:;," \
                            and nxt + 1 < len(lines) and lines[nxt + 1][2].strip():
                        end = ce
            out.append(self._remove(text, start, end, rule.id))
        return out

    def line_matches(self, text: str, rule_id: str | None = None, active: set | None = None,
                     starts: Any = None) -> list[tuple[_LineRule, regex.Match[str]]]:
        """The matches of the line rules (of the one named ``rule_id``), rule by rule in order,
        each rule's in text order: what each rule's own ``finditer`` gives. A line rule is
        ``^(?:...)$`` in multiline mode, so its matches start at line starts: each rule whose
        gate the text passes (``active``: :class:`PatternGate` keys, computed when not given)
        is tried at each line start (``starts``: a function giving them, computed when not
        given) past its last match that begins with what every match of it begins with
        (:class:`_Starts`)."""
        rules = self.r.lines
        if active is None:
            active = self.gate.keys_for(text)
        idx = [i for i in range(len(rules)) if ("line", i) in active and (rule_id is None or rules[i].id == rule_id)]
        if not idx:
            return []
        at_starts = starts() if starts is not None else [0, *(b + 1 for b in line_breaks(text))]
        found: list[tuple[_LineRule, regex.Match[str]]] = []
        folded: str | None = None
        for i in idx:
            match = rules[i].pattern.match
            begins = self._starts[i]
            hay = text
            if begins.known and begins.ignore:
                hay = folded = fold(text) if folded is None else folded
            last = 0
            for at in at_starts:
                if at < last or (begins.known and not begins.at(hay, at)):
                    continue
                m = match(text, at, timeout=self.timeout)
                if m is not None:
                    found.append((rules[i], m))
                    last = m.end()
        return found

    def _bullets(self, text: str, lines: list[tuple[int, int, str]]) -> list[Edit]:
        if self.r.bullet is None or self.r.bullet_credit is None:
            return []
        out = []
        i = 0
        n = len(lines)
        while i < n:
            if not self.r.bullet.match(lines[i][2]):
                i += 1
                continue
            items = [i]
            j = i + 1
            while j < n:
                if not lines[j][2].strip():
                    j += 1
                    continue
                if self.r.bullet.match(lines[j][2]):
                    items.append(j)
                    j += 1
                    continue
                break
            bodies = [self.r.bullet.sub("", lines[k][2], count=1).strip() for k in items]
            if len(items) <= self.r.bullet_max_items \
                    and all(_words(b) <= self.r.bullet_max_words for b in bodies) \
                    and any(self.r.bullet_credit.search(b) for b in bodies):
                out.append(self._remove(text, lines[items[0]][0], lines[items[-1]][1], "bullet-credits"))
            i = items[-1] + 1
        return out

    def _trailers(self, text: str, cut: Any, rule_id: str | None, active: set) -> list[Edit]:
        out = []
        for k, it in enumerate(self.r.trailers):
            if (rule_id and it["id"] != rule_id) or ("trailer", k) not in active:
                continue
            lines = cut()
            max_lines, max_words = int(it.get("max_lines", 12)), int(it.get("max_words", 30))
            for i, (s, _e, line) in enumerate(lines):
                if not it["header"].fullmatch(line, timeout=self.timeout):
                    continue
                last = i
                count = 0
                for j in range(i + 1, len(lines)):
                    body = lines[j][2].strip()
                    if not body:
                        continue
                    if count >= max_lines or _words(body) > max_words or body.rstrip(_CLOSERS).endswith("."):
                        break
                    last = j
                    count += 1
                out.append(self._remove(text, s, lines[last][1], it["id"], 0.9))
        return out

    def _bios(self, text: str, rule_id: str | None) -> list[Edit]:
        out = []
        for it in self.r.bios:
            if rule_id and it["id"] != rule_id:
                continue
            min_frag = int(it.get("min_fragments", 3))
            min_bio = int(it.get("min_bio_words", 2))
            max_words = int(it.get("max_words_per_fragment", 5))
            # the lines with at least min_frag ends of fragments (. ! ?) whose first fragment has
            # at most max_words words (at least as many as counted in one pass): in the kernel
            found = _K.bio_lines(text, _BIO_LEAD_SET, _BIO_TAIL_SET, _FRAGMENT_END, _ASCII_WORD, min_frag, max_words)
            for k in range(0, len(found), 2):
                s, e = found[k], found[k + 1]
                body = bio_body(text[s:e])
                # every fragment must be short and capitalised: looked at one by one, so that a
                # line of ordinary sentences is set aside at its first
                frags: list[str] = []
                bio = 0
                ok = True
                for m in _FRAGMENT.finditer(body):
                    f = m.group()
                    frags.append(f)
                    words = _WORD.findall(f)
                    if not words or len(words) > max_words or not words[0][0].isupper():
                        ok = False
                        break
                    tail1 = words[-1].lower()
                    tail2 = " ".join(words[-2:]).lower()
                    if tail1 in self.r.bio_words or tail2 in self.r.bio_words:
                        bio += 1
                if not ok or len(frags) < min_frag or "".join(frags).strip() != body.strip():
                    continue
                if bio >= min_bio:
                    out.append(self._remove(text, s, e, it["id"], 0.9))
        return out

    _DOT_CAP = regex.compile(r"[ \t]*(?P<cap>[B-HJ-Z])\.(?P<word>[A-Z][a-z]+)\b")
    _SPLIT_CAP = regex.compile(r"[ \t]*(?P<cap>[B-HJ-Z]) (?P<rest>[a-z]+)\b")

    def _dropcaps(self, text: str) -> list[Edit]:
        out = []
        english = self.rules.english
        minf = self.r.dropcap_min_frequency
        # the lines whose head (the line without its leading spaces and tabs) is a capital but A
        # and I, then "." or a space: what both patterns begin with
        for s in _DROPCAP_HEAD.starts(text):
            nl = text.find("\n", s)
            line = text[s:] if nl < 0 else text[s : nl - 1 if nl > s and text[nl - 1] == "\r" else nl]
            m = self._DOT_CAP.match(line)
            if m and english.frequency(m["word"]) >= minf:
                out.append(Edit(s + m.start("cap"), s + m.start("word"), "", rule="dropcap",
                                action="remove", confidence=0.9))
                continue
            m = self._SPLIT_CAP.match(line)
            if m and english.frequency(m["cap"] + m["rest"]) >= minf:
                out.append(Edit(s + m.end("cap"), s + m.start("rest"), "", rule="dropcap",
                                confidence=0.9))
        return out

    def _joins(self, text: str, rule_id: str | None, active: set) -> list[Edit]:
        out = []
        for k, it in enumerate(self.r.joins):
            if (rule_id and it["id"] != rule_id) or ("join", k) not in active:
                continue
            for m in it["pattern"].finditer(text, timeout=self.timeout):
                for group, repl in it["gaps"].items():
                    if m.start(group) >= 0 and text[m.start(group) : m.end(group)] != repl:
                        out.append(Edit(m.start(group), m.end(group), str(repl), rule=it["id"],
                                        confidence=0.9))
        return out
