"""Reviewers' decisions: OUT/_normalize/decisions.jsonl, append-only.

Each decision is one JSON line, written at once (one ``write`` on a file opened for appending,
then flush and fsync, under a lock), so a closed tab or a killed server loses nothing and
several servers can share one run. Nothing is ever rewritten: a reviewer who changes their
mind adds a new decision, and ``clear`` withdraws the last one.

A decision's fields: ``id`` (sha1 of the rest, 16 hex digits), ``time`` (ISO 8601, UTC),
``reviewer``, ``action`` (``accept`` | ``correct`` | ``false-alarm`` | ``revert`` | ``clear``),
``flag`` (the flag's id, see :mod:`.run`) with the flag's ``file``, ``line``, ``start``, ``end``
and ``text`` for provenance, and by action: ``reason``, ``code`` and ``suggestion`` (accept),
``corrected`` (correct: the whole corrected sentence), ``codes`` (false-alarm: the flag's reason
codes), ``edit`` (revert, and clear of a revert: the edit's id), ``change`` (accept, correct,
revert: ``{start, end, before, after}`` in the cleaned document before review), ``note``.

What counts
    Decisions are grouped by target: a flag (accept, correct, false-alarm, clear) or an
    automatic edit (revert, clear with ``edit``). Per target, the latest decision of each
    reviewer counts (``clear`` leaves none). Decisions agree when they lead to the same result:
    the same change to the text (an accepted suggestion and a typed correction that say the same
    thing agree), or both false alarm. Reviewers who disagree make a conflict: it is shown in
    the review app and ``apply`` skips the target and reports it; nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .run import META_DIR, iter_jsonl

DECISIONS = "decisions.jsonl"
ACTIONS = ("accept", "correct", "false-alarm", "revert", "clear")

try:  # POSIX: serialise appends between processes too
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decision_id(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "id"}
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha1(data).hexdigest()[:16]


def target_of(d: dict[str, Any]) -> str | None:
    """``edit:<id>`` for a revert (or the clear of one), ``flag:<id>`` otherwise."""
    action = d.get("action")
    if action == "revert" or (action == "clear" and isinstance(d.get("edit"), str)):
        return f"edit:{d['edit']}" if isinstance(d.get("edit"), str) else None
    return f"flag:{d['flag']}" if isinstance(d.get("flag"), str) else None


def outcome_of(d: dict[str, Any]) -> tuple[Any, ...]:
    """What a decision does: decisions with equal outcomes agree."""
    action = d.get("action")
    if action in ("accept", "correct"):
        c = d.get("change") or {}
        return ("change", c.get("start"), c.get("end"), c.get("after"))
    return (str(action),)


class DecisionStore:
    """Appends decisions to OUT/_normalize/decisions.jsonl and reads them back."""

    def __init__(self, out_dir: Path | str) -> None:
        self.meta = Path(out_dir) / META_DIR
        self.path = self.meta / DECISIONS
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write one decision (adds ``time`` and ``id``); returns it as written."""
        rec = dict(record)
        rec.setdefault("time", now_iso())
        rec.pop("id", None)
        rec = {"id": decision_id(rec), **rec}
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
        if self.meta.is_symlink() or not self.meta.is_dir():
            raise OSError(f"{self.meta}: not the run's folder")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        with self._lock:
            fd = os.open(self.path, flags, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size:  # a line cut short by a crash must not swallow this one
                    with open(self.path, "rb") as fh:
                        fh.seek(size - 1)
                        if fh.read(1) != b"\n":
                            line = b"\n" + line
                os.write(fd, line)
                os.fsync(fd)
            finally:
                if fcntl is not None:
                    with contextlib.suppress(OSError):
                        fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        return rec

    def load(self) -> list[dict[str, Any]]:
        """Every decision in the order written (malformed lines are skipped)."""
        return [d for d in iter_jsonl(self.path) if d.get("action") in ACTIONS and isinstance(d.get("reviewer"), str)]


@dataclass
class TargetState:
    """The decisions on one flag or edit that count."""

    key: str
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)  # reviewer -> their latest decision
    history: int = 0  # decisions written on this target, clears included
    seq: dict[str, int] = field(default_factory=dict)  # reviewer -> place of their latest decision in the file

    @property
    def active(self) -> dict[str, dict[str, Any]]:
        return {r: d for r, d in self.latest.items() if d.get("action") != "clear"}

    @property
    def outcomes(self) -> dict[tuple[Any, ...], list[str]]:
        out: dict[tuple[Any, ...], list[str]] = {}
        for reviewer, d in sorted(self.active.items()):
            out.setdefault(outcome_of(d), []).append(reviewer)
        return out

    @property
    def conflict(self) -> bool:
        return len(self.outcomes) > 1

    @property
    def decision(self) -> dict[str, Any] | None:
        """The decision to apply: the latest of the agreeing ones (by time, then by place in the
        file: two decisions can share a millisecond); None on a conflict or when none."""
        active = self.active
        if not active or self.conflict:
            return None
        return max(active.items(), key=lambda rd: (str(rd[1].get("time", "")), self.seq.get(rd[0], -1)))[1]


def effective(decisions: Iterable[dict[str, Any]]) -> dict[str, TargetState]:
    """Group decisions by target; the latest per reviewer counts (file order breaks ties)."""
    states: dict[str, TargetState] = {}
    for i, d in enumerate(decisions):
        key = target_of(d)
        if key is None:
            continue
        st = states.setdefault(key, TargetState(key))
        st.history += 1
        st.latest[d["reviewer"]] = d
        st.seq[d["reviewer"]] = i
    return states
