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
from typing import TYPE_CHECKING, Any

from .model import CleanResult, Edit, EditRecord, Flag, Note, Reason
from .passes import DocContext, Pass, select
from .passes.gazetteer import load as _load_gazetteer
from .rules import RuleSet
from .sentences import SentenceSplitter
from .tracked import TrackedText

if TYPE_CHECKING:
    from .flagger import Flagger

#: the threshold when the flagger is off (only the passes' suggestions and notes are flagged)
DEFAULT_THRESHOLD = 0.57


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
        flagger: bool = True,
        threshold: float | None = None,
    ) -> None:
        self.rules = rules if isinstance(rules, RuleSet) else RuleSet.load(rules)
        self.rules.require_ok()
        self.passes: list[Pass] = [cls(self.rules) for cls in select(list(only or []), list(skip or []))]
        self.max_rounds = max_rounds
        self.splitter = SentenceSplitter(self.rules.words.get("abbreviations", []))
        self.flagger: Flagger | None = None
        self.names: frozenset[str] = frozenset()
        if flagger:
            from .flagger import Flagger

            self.flagger = Flagger(self.rules)
            if self.rules.gazetteer:
                self.names = _load_gazetteer(self.rules, []).names
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
        #: a sentence whose confidence is at most this is flagged (1.0: every sentence)
        self.threshold: float = threshold if threshold is not None else (
            self.flagger.threshold if self.flagger else DEFAULT_THRESHOLD)

    def preload(self) -> None:
        """Load now what the flagger would load on first use. The batch runner calls this
        before it forks its workers, so they share the loaded models."""
        if self.flagger is not None:
            self.flagger.preload(self.names)

    def clean(self, text: str, *, path: str | None = None,
              metadata: dict[str, Any] | None = None) -> CleanResult:
        tt = TrackedText(text)
        ctx = DocContext(path=path, metadata=dict(metadata or {}))
        suggestions: dict[tuple, EditRecord] = {}
        notes: dict[tuple, tuple[int, int, Note]] = {}
        timings: dict[str, float] = {}
        # the text each pass last ran on and left as it was: the same pass on the same text
        # returns the same result (passes are pure), so it is not run again
        settled: dict[str, str] = {}
        for _ in range(self.max_rounds):
            changed = False
            for p in self.passes:
                if settled.get(p.name) is tt.text:
                    continue
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
                else:
                    settled[p.name] = cur
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
        """One flag per sentence that needs a reviewer.

        A sentence is flagged when a pass left a suggestion or a note on it (a suggestion is
        always shown: "sure or say so"), or when its confidence is at most the threshold. Its
        confidence is the lowest of the flagger's score and the passes' suggestion confidences.
        Only the flagged sentences get their reasons put into words.
        """
        flagger = self.flagger
        if not suggestions and not notes and (flagger is None or not final.strip()):
            return []
        measured = flagger.measure(final, self.names) if flagger is not None else None
        spans = measured.spans if measured is not None else self.splitter.spans(final)
        if not spans:
            return []
        by_sentence: dict[int, list[tuple[float, Reason]]] = {}
        if suggestions or notes:
            starts = [s for s, _ in spans]

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
        if measured is None:
            chosen = sorted(by_sentence)
        else:
            chosen = sorted({*measured.at_most(self.threshold), *by_sentence})
            explain_at = min(self.threshold, flagger.threshold)
        flags = []
        # the sentences only the flagger flags (their reasons never repeat): worded at once
        alone = [i for i in chosen if i not in by_sentence]
        worded = iter(flagger.reasons_of(measured, alone, explain_at, self.names) if alone else ())  # type: ignore[union-attr,arg-type]
        for i in chosen:
            s, e = spans[i]
            found = by_sentence.get(i)
            if found is None:
                flags.append(Flag(s, e, final[s:e], measured.confidence[i], next(worded)))  # type: ignore[union-attr]
                continue
            conf = min(c for c, _ in found)
            reasons: list[Reason] = [r for _, r in found]
            if measured is not None:
                conf = min(conf, measured.confidence[i])
                reasons.extend(flagger.reasons(measured, i, explain_at, True, self.names))  # type: ignore[union-attr]
            unique: list[Reason] = []
            for r in reasons:
                if r not in unique:
                    unique.append(r)
            flags.append(Flag(start=s, end=e, text=final[s:e], confidence=conf, reasons=unique))
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
