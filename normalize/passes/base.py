"""What every pass shares: the interface and small helpers for building edits."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import regex

from .. import kernel
from ..literals import required
from ..model import Edit, PassResult
from ..rules import RuleIssue, RuleSet, TimedPattern, compile_pattern, line_of, risky_pattern

_K: Any = kernel.compiled or kernel


@dataclass
class DocContext:
    """What a pass may know about the document besides its text."""

    path: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Pass:
    """A small, pure unit: it reads text and returns edits and notes; it never mutates.

    Subclasses set ``name`` and ``description`` and implement :meth:`run`. They compile
    everything they need from the rule set once, in ``__init__``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules

    def run(self, text: str, ctx: DocContext) -> PassResult:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def validate(cls, rules: RuleSet) -> list[RuleIssue]:
        """Check the part of the rules this pass uses; returns issues (never raises)."""
        return []


def minimal_edit(text: str, start: int, end: int, replacement: str, **kw: Any) -> Edit | None:
    """An edit replacing ``text[start:end]`` by ``replacement``, trimmed to what really changes."""
    before = text[start:end]
    if before == replacement:
        return None
    p = 0
    limit = min(len(before), len(replacement))
    while p < limit and before[p] == replacement[p]:
        p += 1
    s = 0
    while s < limit - p and before[-1 - s] == replacement[-1 - s]:
        s += 1
    return Edit(start + p, end - s, replacement[p : len(replacement) - s], **kw)


def non_overlapping(edits: Iterable[Edit]) -> list[Edit]:
    """Sort edits and drop any that overlap an earlier one (a later round picks them up)."""
    out: list[Edit] = []
    last_end = -1
    last_start = -1
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < last_end or (e.start == e.end == last_start and out and out[-1].start == e.start):
            continue
        out.append(e)
        last_end = max(last_end, e.end)
        last_start = e.start
    return out


class SpanIndex:
    """A fixed set of spans ``[start, end)`` that answers "does this span overlap any of them?"
    in O(log n), so a pass can test every token of a long document against every match
    without a quadratic scan."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        self._max_end: list[int] = []
        top = -1
        for _, e in ordered:
            top = max(top, e)
            self._max_end.append(top)

    def __len__(self) -> int:
        return len(self._starts)

    def overlaps(self, start: int, end: int) -> bool:
        """True when ``[start, end)`` shares at least one position with a span of the set."""
        i = bisect_left(self._starts, end)  # spans that start before ``end``
        return i > 0 and self._max_end[i - 1] > start


def line_breaks(text: str) -> list[int]:
    """Where the "\n" characters of ``text`` are, in order."""
    out = []
    i = text.find("\n")
    while i >= 0:
        out.append(i)
        i = text.find("\n", i + 1)
    return out


def iter_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, line) for every line; ``end`` excludes the line break."""
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        if nl == -1:
            if pos < n:
                yield pos, n, text[pos:n]
            return
        end = nl - 1 if nl > pos and text[nl - 1] == "\r" else nl
        yield pos, end, text[pos:end]
        pos = nl + 1


@dataclass
class PatternRule:
    """A curator's regex rule: id, compiled pattern, replacement and examples."""

    id: str
    pattern: TimedPattern
    replace: str = ""
    kind: str = ""
    confidence: float = 1.0
    examples: list[Any] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: strings of which the text must hold one for the rule to match (a cheap gate before the
    #: regex); a string ending in a line break also matches at the end of the text. Empty: always run
    requires: tuple[str, ...] = ()

    def may_match(self, text: str) -> bool:
        """False when the text holds none of :attr:`requires` (so the pattern cannot match)."""
        return not self.requires or any(
            s in text or (s[-1] == "\n" and text.endswith(s[:-1])) for s in self.requires)


class RequiresGate:
    """Which of a list of rules may match a text: :meth:`PatternRule.may_match` for all of them
    in one pass of the kernel over the text (:class:`normalize.kernel.Needles`), instead of one
    substring search per string.

    >>> a = PatternRule("a", compile_pattern(" ,"), requires=(" ,",))
    >>> b = PatternRule("b", compile_pattern("  "), requires=("  ",))
    >>> [r.id for r in RequiresGate([a, b]).rules_for("one ,two")]
    ['a']
    """

    def __init__(self, rules: list[PatternRule]) -> None:
        self.rules = rules
        self.always = 0  # bit i: rule i has no `requires`, so it always runs
        bits: dict[str, int] = {}
        for i, rule in enumerate(rules):
            if not rule.requires:
                self.always |= 1 << i
            for s in rule.requires:
                bits[s] = bits.get(s, 0) | 1 << i
        self._masks = list(bits.values())
        self.needles: Any = _K.Needles(list(bits)) if bits else None

    def rules_for(self, text: str) -> list[PatternRule]:
        """The rules whose gate the text passes, in their order. A ``requires`` string ending in
        a line break also matches at the end of the text: the search runs over text + "\\n"."""
        mask = self.always
        if self.needles is not None:
            mask |= _union(self.needles.present(text + "\n"), self._masks)
        if not mask:
            return []
        return [r for i, r in enumerate(self.rules) if mask >> i & 1]


def _union(found: int, values: list[Any]) -> Any:
    """The union (|) of ``values[i]`` for each bit ``i`` set in ``found``."""
    out = 0
    while found:
        low = found & -found
        out |= values[low.bit_length() - 1]
        found ^= low
    return out


class PatternGate:
    """Which of some patterns may match a text, each read for the strings every match of it
    holds (:func:`normalize.literals.required`), all looked for in one pass of the kernel over
    the text and one over it as :func:`~normalize.literals.fold` gives it, folded as it is read
    (for case-insensitive patterns: ``Needles.present_folded``).
    A pattern that requires nothing readable always passes.

    >>> gate = PatternGate([("credit", "(?:©|Copyright)[ \\t]+\\w+", 0), ("any", ".+", 0)])
    >>> sorted(gate.keys_for("A quiet day."))
    ['any']
    >>> sorted(gate.keys_for("Copyright Reuters"))
    ['any', 'credit']
    """

    def __init__(self, patterns: Iterable[tuple[Hashable, str, int]]) -> None:
        self.always: set[Hashable] = set()
        #: key -> (strings, case-insensitive), for the keys that have them
        self.requires: dict[Hashable, tuple[tuple[str, ...], bool]] = {}
        cs: dict[str, set[Hashable]] = {}
        ci: dict[str, set[Hashable]] = {}
        for key, pattern, flags in patterns:
            req = required(pattern, flags)
            if req is None:
                self.always.add(key)
                continue
            self.requires[key] = req
            strings, ignore = req
            for s in strings:
                (ci if ignore else cs).setdefault(s, set()).add(key)
        self._cs = [frozenset(v) for v in cs.values()]
        self._ci = [frozenset(v) for v in ci.values()]
        self.cs: Any = _K.Needles(list(cs)) if cs else None
        self.ci: Any = _K.Needles(list(ci)) if ci else None

    def keys_for(self, text: str) -> set[Hashable]:
        """The keys whose pattern may match ``text``."""
        keys = set(self.always)
        if self.cs is not None:
            keys.update(*_members(self.cs.present(text), self._cs))
        if self.ci is not None:
            keys.update(*_members(self.ci.present_folded(text), self._ci))
        return keys


def _members(found: int, values: list[frozenset[Hashable]]) -> list[frozenset[Hashable]]:
    out = []
    while found:
        low = found & -found
        out.append(values[low.bit_length() - 1])
        found ^= low
    return out


def load_pattern_rules(
    items: Any, file: str, section: str, issues: list[RuleIssue], flags: int = 0,
    required: tuple[str, ...] = ("id", "pattern"), allowed: tuple[str, ...] = (),
) -> list[PatternRule]:
    """Parse a list of ``{id, pattern, replace, ...}`` mappings, reporting FILE:LINE errors."""
    rules: list[PatternRule] = []
    if items is None:
        return rules
    if not isinstance(items, list):
        issues.append(RuleIssue(file, line_of(items), f"{section}: expected a list of rules"))
        return rules
    known = {"id", "pattern", "replace", "kind", "confidence", "examples", "keep", "why", "requires",
             "__line__", *allowed}
    seen: dict[str, int] = {}
    for item in items:
        ln = line_of(item)
        if not isinstance(item, dict):
            issues.append(RuleIssue(file, ln, f"{section}: each rule must be a mapping"))
            continue
        missing = [k for k in required if k not in item]
        if missing:
            issues.append(RuleIssue(file, ln, f"{section}: rule is missing {', '.join(missing)}"))
            continue
        for key in item:
            if key not in known:
                issues.append(RuleIssue(file, ln, f"{section}: unknown field {key!r}"))
        rid = str(item["id"])
        if rid in seen:
            issues.append(RuleIssue(file, ln, f"{section}: duplicate rule id {rid!r} "
                                              f"(first on line {seen[rid]})"))
            continue
        seen[rid] = ln
        try:
            pat = compile_pattern(str(item["pattern"]), flags, origin=f"{file}:{ln} {rid!r}")
        except (regex.error, RecursionError, OverflowError) as exc:
            issues.append(RuleIssue(file, ln, f"{section}: rule {rid!r}: bad pattern: {exc}"))
            continue
        risk = risky_pattern(str(item["pattern"]))
        if risk:
            issues.append(RuleIssue(file, ln, f"{section}: rule {rid!r}: {risk}", "warning"))
        conf = item.get("confidence", 1.0)
        if not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            issues.append(RuleIssue(file, ln, f"{section}: rule {rid!r}: confidence must be 0..1"))
            conf = 1.0
        requires = item.get("requires") or []
        if not isinstance(requires, list) or not all(isinstance(r, str) and r for r in requires):
            issues.append(RuleIssue(file, ln, f"{section}: rule {rid!r}: requires must be a list of "
                                              "non-empty strings"))
            requires = []
        rules.append(PatternRule(
            id=rid, pattern=pat, replace=str(item.get("replace", "")), kind=str(item.get("kind", "")),
            confidence=float(conf), examples=list(item.get("examples") or []),
            keep=[str(k) for k in item.get("keep") or []], line=ln,
            extra={k: v for k, v in item.items() if k in allowed}, requires=tuple(requires),
        ))
    return rules
