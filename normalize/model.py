"""The document model: edits, notes, flags and the result of cleaning one document.

Offsets are Unicode code points. A pass sees the text as it stands after the passes before
it and returns :class:`Edit` and :class:`Note` objects whose offsets refer to *that* text;
the pipeline (:mod:`normalize.pipeline`) maps them back to the original input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

#: the passes by name, in the order the pipeline runs them (normalize.passes.PASSES, checked there;
#: here so that the command line can check names without importing every pass)
PASS_NAMES: tuple[str, ...] = ("encoding", "debris", "punctuation", "gazetteer")

Action = Literal["fix", "remove", "suggest"]


@dataclass(frozen=True, slots=True)
class Edit:
    """One change proposed by a pass.

    ``start``/``end`` delimit the replaced span, ``after`` is its replacement. ``action`` is
    "fix" (text repaired), "remove" (debris deleted, ``after`` is usually "") or "suggest"
    (text left alone; ``after`` is a proposal for a reviewer). ``reason`` explains a
    suggestion in words a reviewer understands.
    """

    start: int
    end: int
    after: str
    rule: str
    action: Action = "fix"
    confidence: float = 1.0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """Something a pass noticed but did not change: becomes a reason on a sentence flag."""

    start: int
    end: int
    code: str
    message: str
    suggestion: str | None = None
    confidence: float = 0.5


@dataclass(slots=True)
class PassResult:
    edits: list[Edit] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EditRecord:
    """An applied (or suggested) edit as it appears in edits.jsonl: offsets into the input."""

    pass_name: str
    rule: str
    action: str
    start: int
    end: int
    before: str
    after: str
    confidence: float
    reason: str | None = None

    def to_json(self, file: str | None = None, line: int | None = None) -> dict[str, Any]:
        out = _located(file, line)
        out.update(
            {
                "pass": self.pass_name,
                "rule": self.rule,
                "action": self.action,
                "start": self.start,
                "end": self.end,
                "before": self.before,
                "after": self.after,
                "confidence": round(self.confidence, 4),
            }
        )
        if self.reason:
            out["reason"] = self.reason
        return out


def _located(file: str | None, line: int | None) -> dict[str, Any]:
    """The head of a JSON record: its file and its line in that file, where they are given."""
    out: dict[str, Any] = {}
    if file is not None:
        out["file"] = file
    if line is not None:
        out["line"] = line
    return out


class Reason(NamedTuple):
    """Why a sentence is flagged: a code, a message in words, a suggestion (or None).
    Immutable and hashable (a named tuple: cheap to make, as the flagger makes many)."""

    code: str
    message: str
    suggestion: str | None = None


@dataclass(slots=True)
class Flag:
    """A sentence of the cleaned text that a reviewer should look at."""

    start: int
    end: int
    text: str
    confidence: float
    reasons: list[Reason] = field(default_factory=list)

    def to_json(self, file: str | None = None, line: int | None = None) -> dict[str, Any]:
        out = _located(file, line)
        out.update(
            {
                "start": self.start,
                "end": self.end,
                "text": self.text,
                "confidence": round(self.confidence, 4),
                "reasons": [{"code": r.code, "message": r.message, "suggestion": r.suggestion} for r in self.reasons],
            }
        )
        return out


@dataclass(slots=True)
class CleanResult:
    """What :func:`normalize.clean` returns."""

    text: str
    original: str
    edits: list[EditRecord]
    flags: list[Flag]
    metadata: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.text != self.original


def replay(original: str, edits: list[EditRecord] | list[dict[str, Any]]) -> str:
    """Apply recorded edits (records or edits.jsonl dicts) to the input; suggestions are skipped,
    and so are a reviewer's edits (action "review", whose offsets are into the cleaned text).

    This is the audit trail's invariant: ``replay(input, edits) == output`` of the run.
    """
    rows = [e if isinstance(e, dict) else e.to_json() for e in edits]
    rows = [r for r in rows if r["action"] not in ("suggest", "review")]
    parts: list[str] = []
    pos = 0
    for r in rows:  # recorded in input order; insertions keep their recorded order
        if r["start"] < pos:
            raise ValueError(f"overlapping edits at {r['start']}")
        if original[r["start"] : r["end"]] != r["before"]:
            raise ValueError(f"edit at {r['start']} does not match the input")
        parts.append(original[pos : r["start"]])
        parts.append(r["after"])
        pos = r["end"]
    parts.append(original[pos:])
    return "".join(parts)
