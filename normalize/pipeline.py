"""The pipeline: runs the passes, applies their edits, keeps the audit trail, builds flags.

Passes run in order, in rounds: a round in which any pass changed the text is followed by
another, until a round changes nothing (at most ``max_rounds``). That makes the result a
fixpoint of the passes, which is what makes ``clean(clean(x).text)`` change nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path
from time import perf_counter
from typing import Any

from .model import CleanResult, Edit, EditRecord, Flag, Note, Reason
from .passes import DocContext, Pass, select
from .rules import RuleSet
from .sentences import SentenceSplitter
from .tracked import TrackedText


class PassError(RuntimeError):
    """A pass returned edits the pipeline cannot apply (a bug in the pass, not in the text)."""


class Normalizer:
    """Cleans documents with one loaded rule set. Build once, call :meth:`clean` many times.

    >>> from normalize import Normalizer
    >>> n = Normalizer()
    >>> n.clean("NATO ,  the Alliance").text
    'NATO, the Alliance'
    """

    def __init__(
        self,
        rules: RuleSet | str | Path | None = None,
        *,
        only: Iterable[str] | None = None,
        skip: Iterable[str] | None = None,
        max_rounds: int = 3,
    ) -> None:
        self.rules = rules if isinstance(rules, RuleSet) else RuleSet.load(rules)
        self.rules.require_ok()
        self.passes: list[Pass] = [cls(self.rules) for cls in select(list(only or []), list(skip or []))]
        self.max_rounds = max_rounds
        self.splitter = SentenceSplitter(self.rules.words.get("abbreviations", []))

    def clean(self, text: str, *, path: str | None = None,
              metadata: dict[str, Any] | None = None) -> CleanResult:
        tt = TrackedText(text)
        ctx = DocContext(path=path, metadata=dict(metadata or {}))
        suggestions: dict[tuple, EditRecord] = {}
        notes: dict[tuple, tuple[int, int, Note]] = {}
        timings: dict[str, float] = {}
        for _ in range(self.max_rounds):
            changed = False
            for p in self.passes:
                t0 = perf_counter()
                res = p.run(tt.text, ctx)
                timings[p.name] = timings.get(p.name, 0.0) + perf_counter() - t0
                cur = tt.text
                fixes = _check(p.name, res.edits, len(cur))
                for s in (e for e in fixes if e.action == "suggest"):
                    rec = _suggestion(tt, cur, p.name, s)
                    suggestions.setdefault((rec.pass_name, rec.rule, rec.start, rec.end, rec.after), rec)
                for n in res.notes:
                    os_, oe = tt.to_original(n.start, n.end)
                    notes.setdefault((p.name, n.code, os_, oe, n.suggestion), (os_, oe, n))
                ctx.metadata.update(res.metadata)
                real = [e for e in fixes if e.action != "suggest" and cur[e.start : e.end] != e.after]
                if real:
                    tt.apply(real, p.name)
                    changed = True
            if not changed:
                break
        final = tt.text
        records = sorted(tt.records() + list(suggestions.values()), key=lambda r: r.start)
        flags = self._flags(tt, final, list(suggestions.values()), list(notes.values()))
        return CleanResult(text=final, original=text, edits=records, flags=flags,
                           metadata=ctx.metadata, timings=timings)

    # -- flags ----------------------------------------------------------------------------
    def _flags(self, tt: TrackedText, final: str, suggestions: list[EditRecord],
               notes: list[tuple[int, int, Note]]) -> list[Flag]:
        if not suggestions and not notes:
            return []
        spans = self.splitter.spans(final)
        if not spans:
            return []
        starts = [s for s, _ in spans]
        by_sentence: dict[int, list[tuple[float, Reason]]] = {}

        def attach(ostart: int, oend: int, conf: float, reason: Reason) -> None:
            cs, _ce = tt.to_current(ostart, oend)
            i = max(bisect_right(starts, cs) - 1, 0)
            if cs >= spans[i][1] and i + 1 < len(spans):
                i += 1
            by_sentence.setdefault(i, []).append((conf, reason))

        for s in suggestions:
            attach(s.start, s.end, s.confidence,
                   Reason(s.rule, s.reason or f"{s.pass_name}: {s.rule}", s.after))
        for os_, oe, n in notes:
            attach(os_, oe, n.confidence, Reason(n.code, n.message, n.suggestion))
        flags = []
        for i in sorted(by_sentence):
            s, e = spans[i]
            reasons: list[Reason] = []
            for _, r in by_sentence[i]:
                if r not in reasons:
                    reasons.append(r)
            conf = min(c for c, _ in by_sentence[i])
            flags.append(Flag(start=s, end=e, text=final[s:e], confidence=conf, reasons=reasons))
        return flags


def _check(name: str, edits: list[Edit], length: int) -> list[Edit]:
    """Validate a pass's edits: in bounds, sorted, non-overlapping."""
    last_end = 0
    for e in edits:
        if not (0 <= e.start <= e.end <= length):
            raise PassError(f"pass {name!r} returned an edit out of bounds: {e}")
        if e.action != "suggest":
            if e.start < last_end:
                raise PassError(f"pass {name!r} returned overlapping or unsorted edits at {e.start}")
            last_end = e.end
    return edits


def _suggestion(tt: TrackedText, cur: str, pass_name: str, s: Edit) -> EditRecord:
    os_, oe = tt.to_original(s.start, s.end)
    cs, ce = tt.to_current(os_, oe)
    cs, ce = min(cs, s.start), max(ce, s.end)
    after = cur[cs : s.start] + s.after + cur[s.end : ce]
    return EditRecord(pass_name, s.rule, "suggest", os_, oe, tt.original[os_:oe], after,
                      s.confidence, s.reason)
