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
        """Apply edits given in current-text coordinates (sorted, non-overlapping)."""
        if not edits:
            return
        out: list[_Piece] = []
        queue = list(self._pieces)
        qi = 0
        cur = 0  # current-text offset at which queue[qi] starts
        for ed in edits:
            s, e = ed.start, ed.end
            # 1. pieces that end at or before s stay as they are
            while qi < len(queue) and cur + len(queue[qi].text) <= s:
                cur += len(queue[qi].text)
                out.append(queue[qi])
                qi += 1
            prefix = suffix = ""
            ostart = oend = None
            origins: list[_Origin] = []
            # 2. the piece that contains s
            if qi < len(queue) and cur < s:
                p = queue[qi]
                k = s - cur
                if p.changed:  # an earlier replacement straddles s: absorb it whole
                    prefix = p.text[:k]
                else:
                    out.append(_Piece(p.ostart, p.ostart + k, p.text[:k]))
                    queue[qi] = _Piece(p.ostart + k, p.oend, p.text[k:])
                    cur = s
            # 3. absorb every piece overlapping [s, e) (or an insertion strictly inside a replacement)
            while qi < len(queue):
                p = queue[qi]
                plen = len(p.text)
                inside_insertion = s == e and cur < s < cur + plen
                if not (cur < e or inside_insertion):
                    break
                if ostart is None:
                    ostart = p.ostart
                if p.changed:
                    origins.extend(p.origins or [])
                    if cur + plen > e:
                        suffix = p.text[e - cur :]
                    oend = p.oend
                    cur += plen
                    qi += 1
                elif cur + plen > e:  # unchanged piece extends past e: split it
                    k = e - cur
                    oend = p.ostart + k
                    queue[qi] = _Piece(p.ostart + k, p.oend, p.text[k:])
                    cur = e
                    break
                else:
                    oend = p.oend
                    cur += plen
                    qi += 1
            if ostart is None:  # pure insertion at a piece boundary
                ostart = oend = queue[qi].ostart if qi < len(queue) else len(self.original)
            origins.append(_Origin(pass_name, ed.rule, ed.action, ed.confidence))
            assert oend is not None
            out.append(_Piece(ostart, oend, prefix + ed.after + suffix, origins))
        out.extend(queue[qi:])
        self._pieces = out
        self._text = None
        self._starts = None

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
                )
            )
        return recs


def _unique(items) -> list[str]:  # noqa: ANN001 - small helper
    seen: list[str] = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return seen
