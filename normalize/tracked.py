"""A piece table that applies edits while remembering where every character came from.

The text is a sequence of pieces. An unchanged piece is a slice of the original input; a
changed piece is replacement text standing for an original span (empty for insertions).
Applying a later edit that touches an earlier replacement merges the two, so the recorded
edits never overlap in input coordinates and replaying them reproduces the output exactly.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from .model import Edit, EditRecord


@dataclass(slots=True)
class _Origin:
    pass_name: str
    rule: str
    action: str
    confidence: float
    reason: str | None = None


@dataclass(slots=True)
class _Piece:
    ostart: int
    oend: int
    text: str
    origins: list[_Origin] | None = None  # None: an unchanged slice of the original

    @property
    def changed(self) -> bool:
        return self.origins is not None


@dataclass(slots=True)
class TrackedText:
    original: str
    _pieces: list[_Piece] = field(default_factory=list)
    _text: str | None = None
    _starts: list[int] | None = None

    def __post_init__(self) -> None:
        if not self._pieces:
            self._pieces = [_Piece(0, len(self.original), self.original)] if self.original else []
        self._text = self.original

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(p.text for p in self._pieces)
        return self._text

    def _current_starts(self) -> list[int]:
        if self._starts is None:
            starts, cur = [], 0
            for p in self._pieces:
                starts.append(cur)
                cur += len(p.text)
            self._starts = starts
        return self._starts

    # -- applying -------------------------------------------------------------------------
    def apply(self, edits: list[Edit], pass_name: str) -> None:
        """Apply edits given in current-text coordinates (sorted, non-overlapping).

        Edits are first grouped with the earlier replacements they touch; each group becomes
        one piece whose input span covers all of them.
        """
        if not edits:
            return
        old = self.text
        pieces = self._pieces
        starts = self._current_starts()
        out: list[_Piece] = []
        i = 0  # next piece to look at
        off = 0  # how much of pieces[i] (an unchanged piece) is already emitted

        def emit_rest_of(i: int, off: int) -> None:
            p = pieces[i]
            out.append(p if off == 0 else _Piece(p.ostart + off, p.oend, p.text[off:]))

        for lo, hi, group in self._groups(edits, pieces, starts):
            # pieces wholly before the group stay as they are
            while i < len(pieces) and starts[i] + len(pieces[i].text) <= lo:
                emit_rest_of(i, off)
                i, off = i + 1, 0
            if i < len(pieces) and not pieces[i].changed and starts[i] + off < lo:
                k = lo - starts[i]
                p = pieces[i]
                out.append(_Piece(p.ostart + off, p.ostart + k, p.text[off:k]))
                off = k
            if i < len(pieces):
                p = pieces[i]
                ostart = p.ostart if p.changed else p.ostart + (lo - starts[i])
            else:
                ostart = len(self.original)
            oend = ostart
            origins: list[_Origin] = []
            # pieces inside the group are absorbed into it
            while i < len(pieces) and starts[i] + off < hi:
                p = pieces[i]
                end = starts[i] + len(p.text)
                if p.changed:
                    origins.extend(p.origins or [])
                    oend = p.oend
                elif end > hi:
                    off = hi - starts[i]
                    oend = p.ostart + off
                    break
                else:
                    oend = p.oend
                i, off = i + 1, 0
            parts, pos = [], lo
            for ed in group:
                parts += [old[pos : ed.start], ed.after]
                pos = ed.end
                origins.append(_Origin(pass_name, ed.rule, ed.action, ed.confidence, ed.reason))
            parts.append(old[pos:hi])
            out.append(_Piece(ostart, oend, "".join(parts), origins))
        while i < len(pieces):
            emit_rest_of(i, off)
            i, off = i + 1, 0
        self._pieces = out
        self._text = None
        self._starts = None

    @staticmethod
    def _groups(edits: list[Edit], pieces: list[_Piece],
                starts: list[int]) -> list[tuple[int, int, list[Edit]]]:
        """Widen each edit over the replacements it overlaps and merge what then overlaps."""
        groups: list[list] = []
        for ed in edits:
            lo, hi = ed.start, ed.end
            k = max(bisect_right(starts, lo) - 1, 0)
            while k < len(pieces):
                c0 = starts[k]
                if c0 > lo and c0 >= hi:
                    break
                c1 = c0 + len(pieces[k].text)
                if (pieces[k].changed and c0 < hi and c1 > lo) or (pieces[k].changed and c0 < lo < c1):
                    lo, hi = min(lo, c0), max(hi, c1)
                k += 1
            if groups and lo < groups[-1][1]:
                groups[-1][1] = max(groups[-1][1], hi)
                groups[-1][2].append(ed)
            else:
                groups.append([lo, hi, [ed]])
        return [(g[0], g[1], g[2]) for g in groups]

    # -- mapping --------------------------------------------------------------------------
    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a current-text span to the smallest input span that produced it."""
        pieces = self._pieces
        if not pieces:
            return 0, 0
        starts = self._current_starts()
        i = max(bisect_right(starts, start) - 1, 0)
        p = pieces[i]
        ostart = p.ostart if p.changed else p.ostart + (start - starts[i])
        if end <= start:
            if p.changed and starts[i] < start:  # a point inside a replacement widens to it
                return p.ostart, p.oend
            return ostart, ostart
        j = max(bisect_left(starts, end) - 1, 0)
        q = pieces[j]
        oend = q.oend if q.changed else q.ostart + (end - starts[j])
        return ostart, max(oend, ostart)

    def to_current(self, ostart: int, oend: int) -> tuple[int, int]:
        """Map an input span to the current text (a span touching a replacement widens to it)."""
        pieces = self._pieces
        if not pieces:
            return 0, 0
        starts = self._current_starts()
        ostarts = [p.ostart for p in pieces]
        i = max(bisect_right(ostarts, ostart) - 1, 0)
        p = pieces[i]
        if p.changed:
            cstart = starts[i] if ostart < p.oend else starts[i] + len(p.text)
        else:
            cstart = starts[i] + min(ostart - p.ostart, len(p.text))
        if oend <= ostart:
            return cstart, cstart
        j = max(bisect_left(ostarts, oend) - 1, 0)
        q = pieces[j]
        cend = starts[j] + (len(q.text) if q.changed else min(oend - q.ostart, len(q.text)))
        return cstart, max(cend, cstart)

    # -- the audit trail ------------------------------------------------------------------
    def records(self) -> list[EditRecord]:
        recs: list[EditRecord] = []
        for p in self._pieces:
            if not p.changed:
                continue
            before = self.original[p.ostart : p.oend]
            if before == p.text:
                continue  # a later edit restored the original
            origins = p.origins or []
            passes = _unique(o.pass_name for o in origins)
            rules = _unique(o.rule for o in origins)
            actions = _unique(o.action for o in origins)
            action = actions[0] if len(actions) == 1 else "fix"
            recs.append(
                EditRecord(
                    pass_name="+".join(passes),
                    rule="+".join(rules),
                    action=action,
                    start=p.ostart,
                    end=p.oend,
                    before=before,
                    after=p.text,
                    confidence=min(o.confidence for o in origins),
                    reason="; ".join(_unique(o.reason for o in origins if o.reason)) or None,
                )
            )
        return recs


def _unique(items) -> list[str]:
    seen: list[str] = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return seen
