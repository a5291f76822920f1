"""The reviewer report: one self-contained HTML page over a finished run.

:func:`write_report` reads OUT/_normalize/ (summary.json, documents.jsonl, flags.jsonl,
edits.jsonl, errors.jsonl) and the cleaned documents, and writes OUT/_normalize/report.html
atomically. The page has no outside dependency: CSS and JS are inline, nothing is loaded
from the network (a Content-Security-Policy meta tag forbids it), and it opens from disk.

What the page shows
    * the run's counts: documents, edits (by pass and by action), flags by reason;
    * every flagged sentence, highlighted inside its paragraph of the *cleaned* text, with
      its reasons in plain words, the suggestions, its confidence, and the automatic edits
      made near it;
    * for each document, the full list of its edits (collapsed);
    * filters, in vanilla JS: by reason, by document, and a confidence slider.

Context of a flag
    Flags carry offsets into the cleaned document. For a .txt input the cleaned document is
    OUT/<file>; for a .jsonl/.jsonl.gz input it is the text field (summary.json's
    ``config.text_field``) of the cleaned record: records are written in the order of
    documents.jsonl, so the k-th document of a file in documents.jsonl is the k-th record of
    its output file. When the flag's text is not found at its offsets, it is searched for in
    the document; when there is no document to read, the flag's own text is shown alone.
    The paragraph is the run of text between blank lines around the flag, or the flag's line
    when the document puts one paragraph on each line (see :func:`_paragraph_separators`),
    cut to a window of about ``CONTEXT_CHARS`` characters on each side when it is longer.
    Flags of the same paragraph share it: it is shown once with each flagged sentence
    highlighted and numbered, followed by each flag's reasons.

Edits near a flag (exact, not guessed)
    Edits carry offsets into the *input*. The applied edits of a document (fix, remove) never
    overlap in input coordinates and replaying them reproduces the output exactly (see
    :func:`normalize.model.replay`), so walking them in input order and summing how much each
    one grew or shrank the text gives each edit's position in the cleaned text. That is
    checked against the cleaned text (each edit's ``after`` must be found where it lands);
    if the check fails, nearby edits fall back to those whose ``after`` text occurs in the
    paragraph. An edit is "near" a flag when its cleaned position touches the flag's
    paragraph; the nearest ones are listed under it, lettered a, b, c..., their replacement
    text underlined in the paragraph and each removal marked with a small scissors sign.
    Suggestions (action "suggest") are not applied: they already are the flag's reasons, and
    they are listed with the document's edits.

Large runs
    Everything is streamed from the JSONL files, which are in the run's document order;
    only the documents shown are held and read (those with flags within the caps, and the
    first ones whose documents.jsonl row counts edits but no flag). The
    page renders at most ``MAX_FLAGS``
    flags in all and ``MAX_FLAGS_PER_DOC`` per document, at most ``MAX_EDITS_PER_DOC`` edits
    in a document's edit list and ``MAX_QUIET_DOCS`` documents that have edits but no flag;
    long texts are clipped. The page says so whenever something was left out; the counts at
    the top are always over the whole run, and flags.jsonl / flags.csv hold everything.
    Flags are kept in the order of flags.jsonl (the run's file order). 5,000 flags make a
    page of about 3 MB, written in well under a second.

The output is deterministic: the same run files give the same bytes (no timestamps).
"""

from __future__ import annotations

import gzip
import html
import json
import mmap
import os
import re
import sys
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from .io import atomic_write
from .recindex import RecordIndex
from .review.run import (
    META_DIR,
    PREREVIEW_MANIFEST,
    DocKey,
    Keyed,
    RecordDigests,
    iter_jsonl,
    output_path,
    prereview_files,
    prereview_manifest,
    prereview_source,
)

REPORT_NAME = "report.html"

MAX_FLAGS = 5000
MAX_FLAGS_PER_DOC = 500
MAX_EDITS_PER_DOC = 300
MAX_QUIET_DOCS = 2000
MAX_ERRORS = 200
NEAR_EDITS = 6  # edits listed under one flag
CONTEXT_CHARS = 320  # window on each side of a flag inside a long paragraph
LONG_FLAG = 1400  # a flag longer than this shows its beginning and end only
CLIP = 240  # before/after strings in edit lists

_ACTION_WORD = {"fix": "fixed", "remove": "removed", "suggest": "suggested"}

_BLANK_SEP = re.compile(r"\n[ \t\r\f\v]*\n\s*")  # paragraphs separated by blank lines
_LINE_SEP = re.compile(r"\n\s*")  # one paragraph a line

# -- reading the run --------------------------------------------------------------------------
def _key(obj: dict[str, Any]) -> DocKey:
    line = obj.get("line")
    return str(obj.get("file", "")), line if isinstance(line, int) else None


def _num(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if out == out else default  # NaN


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class _Doc(Keyed):
    key: DocKey
    info: dict[str, Any]
    ordinal: int | None = None  # position among the documents of its file (JSONL records)
    flags: list[dict[str, Any]] = field(default_factory=list)
    flags_total: int = 0
    edits: list[dict[str, Any]] | None = None  # None: edits not kept for this document
    edits_total: int = 0
    edits_dropped: bool = False
    text: str | None = None


@dataclass
class _Run:
    out_dir: Path
    summary: dict[str, Any]
    docs: dict[DocKey, _Doc]
    flags_total: int = 0
    flags_rendered: int = 0
    flags_by_reason: Counter[str] = field(default_factory=Counter)
    reason_example: dict[str, str] = field(default_factory=dict)
    flagged_docs: int = 0
    edits_total: int = 0
    edits_by_pass: Counter[str] = field(default_factory=Counter)
    edits_by_action: Counter[str] = field(default_factory=Counter)
    edits_by_rule: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0
    quiet_docs_total: int = 0
    docs_total: int = 0  # documents.jsonl's documents
    review_edits: int = 0  # review records in edits.jsonl (normalize apply)


def _examples(path: Path, codes: list[str]) -> dict[str, str]:
    """The first message of each reason code in ``codes`` among the flags of flags.jsonl, found
    by searching for the code as the run writes it (``"code": "..."``) and read off the lines
    found."""
    found: dict[str, str] = {}
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return found
    with fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return found
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for code in codes:
                needle = b'"code": ' + json.dumps(code, ensure_ascii=False).encode("utf-8")
                at = 0
                while (i := mm.find(needle, at)) >= 0:
                    lo = mm.rfind(b"\n", 0, i) + 1
                    hi = mm.find(b"\n", i)
                    hi = len(mm) if hi < 0 else hi
                    at = hi + 1
                    try:
                        obj = json.loads(mm[lo:hi].decode("utf-8", errors="replace"))
                    except (ValueError, RecursionError):
                        continue
                    reasons = obj.get("reasons") if isinstance(obj, dict) else None
                    message = next((r["message"] for r in reasons if isinstance(r, dict) and str(r.get("code", "?")) == code
                                    and r.get("message")), None) if isinstance(reasons, list) else None
                    if message:
                        found[code] = str(message)
                        break
    return found


def _load(out_dir: Path, max_flags: int, max_flags_per_doc: int, known: dict[str, Any] | None = None) -> _Run:
    meta = out_dir / META_DIR
    try:
        summary = json.loads((meta / "summary.json").read_text(encoding="utf-8"))
        if not isinstance(summary, dict):
            summary = {}
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        summary = {}

    # Only the documents the page shows are held (a run can have millions): the three files are
    # read one after the other, each in the run's document order, in which a document's lines
    # are together. 1. flags: counted in full, kept up to the caps
    shown: dict[DocKey, list[dict[str, Any]]] = {}
    flags_of: Counter[DocKey] = Counter()  # (of the documents in ``shown``)
    run = _Run(out_dir, summary, {})
    last: DocKey | None = None
    stopped = False  # (known counts) flags.jsonl read only as far as the flags shown
    for f in iter_jsonl(meta / "flags.jsonl"):
        if known is not None and (run.flags_rendered >= max_flags or max_flags_per_doc <= 0):
            stopped = True
            break
        key = _key(f)
        reasons = f.get("reasons") if isinstance(f.get("reasons"), list) else []
        reasons = [r for r in reasons if isinstance(r, dict)]
        f["reasons"] = reasons
        run.flags_total += 1
        if key != last and key not in shown:
            run.flagged_docs += 1
        last = key
        for r in reasons:
            code = str(r.get("code", "?"))
            run.flags_by_reason[code] += 1
            if code not in run.reason_example and r.get("message"):
                run.reason_example[code] = str(r["message"])
        if key in shown:
            flags_of[key] += 1
            if len(shown[key]) < max_flags_per_doc and run.flags_rendered < max_flags:
                shown[key].append(f)
                run.flags_rendered += 1
        elif run.flags_rendered < max_flags and max_flags_per_doc > 0:
            shown[key] = [f]
            flags_of[key] = 1
            run.flags_rendered += 1

    # 2. documents: those with flags shown, and the first ones with edits but no flag
    docs = run.docs
    file, ordinal, last = None, 0, None  # (ordinal: a document's position among those of its file)
    if known is not None:
        run.flagged_docs = 0
    for info in iter_jsonl(meta / "documents.jsonl"):
        key = _key(info)
        if key[0] != file:
            file, ordinal = key[0], 0
        elif key == last:
            continue
        last = key
        run.docs_total += 1
        if known is not None:  # (its flags are counted here, not in flags.jsonl)
            run.flagged_docs += _int(info.get("flags")) > 0
            if key in flags_of:
                flags_of[key] = max(flags_of[key], _int(info.get("flags")))
        if key in shown:
            docs[key] = _Doc(key, info, ordinal=ordinal)
        elif _int(info.get("edits")) > 0 and not _int(info.get("flags")):
            run.quiet_docs_total += 1
            if run.quiet_docs_total <= MAX_QUIET_DOCS:
                docs[key] = _Doc(key, info, ordinal=ordinal, edits=[])
        ordinal += 1
    for key, flags in shown.items():
        doc = docs.get(key)
        if doc is None:  # (flags of a document documents.jsonl does not list)
            doc = docs[key] = _Doc(key, {"file": key[0], **({"line": key[1]} if key[1] else {})})
        doc.flags = flags
        doc.flags_total = flags_of[key]
    del shown, flags_of
    if known is not None:
        run.flags_total = known["total"]
        run.flags_by_reason = Counter(known["by_reason"])
        missing = [c for c in sorted(run.flags_by_reason) if c not in run.reason_example]
        if stopped and missing:  # (not among the flags read: their first message is further on)
            run.reason_example.update(_examples(meta / "flags.jsonl", missing))

    # 3. edits: counted in full; kept for documents shown with flags (all of them: the offsets
    # need every applied edit) and, up to a cap, for those shown for their edits
    for e in iter_jsonl(meta / "edits.jsonl"):
        if e.get("action") == "review":  # a reviewer's change, written by apply after the run
            run.review_edits += 1
            continue
        run.edits_total += 1
        run.edits_by_pass[str(e.get("pass", "?"))] += 1
        run.edits_by_action[str(e.get("action", "?"))] += 1
        run.edits_by_rule[f"{e.get('pass', '?')}/{e.get('rule', '?')}"] += 1
        doc = docs.get(_key(e))
        if doc is None:
            continue
        doc.edits_total += 1
        if doc.edits is None:
            doc.edits = []
        if doc.flags or len(doc.edits) < MAX_EDITS_PER_DOC:
            doc.edits.append(e)
        else:
            doc.edits_dropped = True

    for err in iter_jsonl(meta / "errors.jsonl"):
        run.errors_total += 1
        if len(run.errors) < MAX_ERRORS:
            run.errors.append(err)

    _read_texts(run)
    return run


def _prereview(out_dir: Path) -> Callable[[str, Path], Path]:
    """Where to read output file ``rel`` (at ``path``) as the run wrote it: its pre-review copy
    when ``normalize apply`` changed it since (the flags' offsets are into the text before
    review), else the output itself."""
    if not (out_dir / META_DIR / PREREVIEW_MANIFEST).is_file():
        return lambda rel, path: path
    manifest = prereview_manifest(out_dir, RecordDigests.of_run(out_dir, prereview_files(out_dir)))
    return lambda rel, path: prereview_source(out_dir, rel, manifest) or path


def _read_texts(run: _Run) -> None:
    """Load the cleaned text of every document that has flags to show, as the run wrote it."""
    text_field = str((run.summary.get("config") or {}).get("text_field") or "text")
    source = _prereview(run.out_dir)
    wanted: dict[str, dict[int, _Doc]] = {}
    for doc in run.docs.values():
        if not doc.flags:
            continue
        path = output_path(run.out_dir, doc.file)
        if path is None:
            continue
        if doc.file.endswith((".jsonl", ".jsonl.gz")):
            if doc.ordinal is not None:
                wanted.setdefault(doc.file, {})[doc.ordinal] = doc
            continue
        try:
            doc.text = source(doc.file, path).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            doc.text = None
    for rel, by_ordinal in wanted.items():
        path = output_path(run.out_dir, rel)
        if path is None:
            continue
        last = max(by_ordinal)
        try:
            opener = gzip.open if rel.endswith(".gz") else open
            with opener(source(rel, path), "rb") as fh:
                n = 0
                for raw in fh:
                    if not raw.strip():
                        continue
                    doc = by_ordinal.get(n)
                    if doc is not None:
                        try:
                            obj = json.loads(raw.decode("utf-8", errors="replace"))
                            value = obj.get(text_field) if isinstance(obj, dict) else None
                        except (ValueError, RecursionError):  # e.g. an integer of 5,000 digits
                            value = None
                        doc.text = value if isinstance(value, str) else None
                    n += 1
                    if n > last:
                        break
        except (OSError, EOFError, gzip.BadGzipFile):
            continue


# -- placing flags and edits in the cleaned text ------------------------------------------------
def _locate(text: str | None, flag: dict[str, Any]) -> tuple[int, int] | None:
    ftext = flag.get("text") if isinstance(flag.get("text"), str) else ""
    s, e = _int(flag.get("start"), -1), _int(flag.get("end"), -1)
    if text is None:
        return None
    if 0 <= s <= e <= len(text) and (not ftext or text[s:e] == ftext):
        return s, e
    if ftext:
        # nearest occurrence of the flag's text to its recorded start
        best = None
        i = text.find(ftext)
        while i >= 0:
            if best is None or abs(i - s) < abs(best - s):
                best = i
            if i > s:
                break
            i = text.find(ftext, i + 1)
        if best is not None:
            return best, best + len(ftext)
    return None


def _edit_positions(doc: _Doc) -> dict[int, tuple[int, int]] | None:
    """Cleaned-text span of each applied edit of ``doc`` (by index in doc.edits), or None
    when the edits do not replay onto the cleaned text."""
    if doc.edits is None or doc.edits_dropped:
        return None
    applied = [(i, e) for i, e in enumerate(doc.edits) if e.get("action") != "suggest"]
    applied.sort(key=lambda ie: (_int(ie[1].get("start")), ie[0]))
    out: dict[int, tuple[int, int]] = {}
    delta = 0
    last_end = 0
    text = doc.text
    for i, e in applied:
        s, en = _int(e.get("start")), _int(e.get("end"))
        after = e.get("after") if isinstance(e.get("after"), str) else ""
        if s < last_end or en < s:
            return None
        cs = s + delta
        ce = cs + len(after)
        if text is not None and text[cs:ce] != after:
            return None
        out[i] = (cs, ce)
        delta += len(after) - (en - s)
        last_end = en
    if text is not None and doc.info.get("chars_out") is not None \
            and _int(doc.info.get("chars_out"), -1) != len(text):
        return None
    return out


def _paragraph_separators(text: str) -> re.Pattern[str]:
    """How this document marks paragraphs: by blank lines, or one paragraph a line.

    Blank lines win when the document has them and its other line breaks are few, or its
    lines are short (hard-wrapped text); otherwise every line break ends a paragraph.
    """
    blanks = len(_BLANK_SEP.findall(text))
    if not blanks:
        return _LINE_SEP
    lone = text.count("\n") - sum(m.group().count("\n") for m in _BLANK_SEP.finditer(text))
    if lone <= 2 * blanks:
        return _BLANK_SEP
    lengths = sorted(len(line) for line in text.split("\n") if line.strip())
    return _BLANK_SEP if lengths and lengths[len(lengths) // 2] < 90 else _LINE_SEP


def _paragraph(text: str, seps: tuple[list[int], list[int]], s: int, e: int) -> tuple[int, int]:
    starts, ends = seps
    i = bisect_right(ends, s) - 1
    pstart = ends[i] if i >= 0 else 0
    j = bisect_left(starts, e)  # the first separator that begins at or after the flag's end
    pend = starts[j] if j < len(starts) else len(text)
    return pstart, max(pend, e)


def _snap_left(text: str, pos: int, lo: int) -> int:
    if pos <= lo:
        return lo
    k = text.find(" ", pos, pos + 40)
    return k + 1 if k >= 0 else pos


def _snap_right(text: str, pos: int, hi: int) -> int:
    if pos >= hi:
        return hi
    k = text.rfind(" ", pos - 40, pos)
    return k if k >= 0 else pos


# -- HTML helpers ---------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _clip(s: str, limit: int = CLIP) -> str:
    if len(s) <= limit:
        return s
    half = limit // 2
    return s[:half] + " … " + s[-half:]


_WS = {" ": "␣", "\t": "⇥", "\n": "↵", "\r": "␍", "\u00a0": "⍽"}


def _show(s: Any, all_ws: bool = False) -> str:
    """An edit's before/after text as escaped HTML, with invisible characters made visible:
    line breaks always, spaces at the ends, and every space when ``all_ws`` (an edit that
    changes only whitespace)."""
    s = s if isinstance(s, str) else ""
    if s == "":
        return '<span class="nil">nothing</span>'
    s = _clip(s)
    if all_ws or not s.strip():
        return "".join(f'<span class="ws">{_e(_WS[c])}</span>' if c in _WS else _e(c) for c in s)
    core = s.strip()
    i = s.index(core[0])
    lead, tail = s[:i], s[i + len(core):]
    return ("".join(f'<span class="ws">{_e(_WS.get(c, c))}</span>' for c in lead)
            + _e(core).replace("\n", '<span class="ws">↵</span>')
            + "".join(f'<span class="ws">{_e(_WS.get(c, c))}</span>' for c in tail))


def _label(code: str) -> str:
    words = re.sub(r"[-_./]+", " ", code).strip()
    return (words[:1].upper() + words[1:]) if words else code


def _conf_class(c: float) -> tuple[str, str]:
    if c < 0.34:
        return "lo", "likely wrong"
    if c < 0.67:
        return "mid", "uncertain"
    return "hi", "probably fine"


def _json_script(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' at all."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# -- rendering ------------------------------------------------------------------------------
@dataclass
class _Placed:
    """A flag placed in its document: cleaned-text span, paragraph and display windows."""

    flag: dict[str, Any]
    fid: int  # page-wide id
    num: int  # number within its document
    loc: tuple[int, int] | None
    para: tuple[int, int]
    windows: list[tuple[int, int]]


def _windows(text: str, fs: int, fe: int, pstart: int, pend: int) -> list[tuple[int, int]]:
    """The parts of the paragraph [pstart, pend) to show around the flag [fs, fe)."""
    if fe - fs > LONG_FLAG:
        half = LONG_FLAG // 2
        return [(pstart if fs - pstart <= 80 else fs, fs + half),
                (fe - half, pend if pend - fe <= 80 else fe)]
    a = pstart if fs - pstart <= CONTEXT_CHARS else _snap_left(text, fs - CONTEXT_CHARS, pstart)
    b = pend if pend - fe <= CONTEXT_CHARS else _snap_right(text, fe + CONTEXT_CHARS, pend)
    return [(a, b)]


def _merge(ranges: list[tuple[int, int]], slack: int = 40) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + slack:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _render_context(text: str, ranges: list[tuple[int, int]], para: tuple[int, int],
                    spans: list[tuple[int, int, int, int]],
                    marks: list[tuple[int, int, int, dict[str, Any]]], numbered: bool) -> str:
    """Escaped text of ``ranges`` with flagged spans in <mark> and nearby edits shown.

    ``spans`` are (start, end, flag id, flag number); ``marks`` are (cleaned start, cleaned
    end, number, edit): a non-empty one is underlined, an empty one (a removal) gets a small
    marker where the text was taken out.
    """
    parts: list[str] = []
    if ranges and ranges[0][0] > para[0]:
        parts.append('<span class="gap">… </span>')
    for ri, (a, b) in enumerate(ranges):
        if ri:
            parts.append('<span class="gap"> […] </span>')
        bounds = {a, b}
        for cs, ce, *_ in [*spans, *marks]:
            for p in (cs, ce):
                if a <= p <= b:
                    bounds.add(p)
        points: dict[int, list[str]] = {}
        for cs, ce, n, ed in marks:
            if cs == ce and a <= cs <= b:
                title = (f"edit {_letter(n)}, {ed.get('pass', '')}/{ed.get('rule', '')}: removed "
                         f"“{_clip(str(ed.get('before', '')), 120)}”").replace("\n", "↵")
                points.setdefault(cs, []).append(
                    f'<span class="cut" title="{_e(title)}">✂<sup>{_letter(n)}</sup></span>')
        if numbered:
            for fs, _fe, fid, num in spans:
                if a <= fs < b:
                    points.setdefault(fs, []).append(f'<sup class="fn" data-f="{fid}">{num}</sup>')
        pts = sorted(bounds)
        for x, y in pairwise(pts):
            parts.extend(points.pop(x, []))
            seg = _e(text[x:y])
            fids = [str(fid) for fs, fe, fid, _ in spans if fs <= x and y <= fe]
            nums = [_letter(n) for cs, ce, n, _ in marks if cs <= x and y <= ce and cs < ce]
            if nums:
                seg = f'<span class="ed" title="edit {", ".join(nums)}">{seg}</span>'
            if fids:
                seg = f'<mark class="hl" data-f="{" ".join(fids)}">{seg}</mark>'
            parts.append(seg)
        for x in sorted(points):
            parts.extend(points[x])
    if ranges and ranges[-1][1] < para[1]:
        parts.append('<span class="gap"> …</span>')
    return "".join(parts)


def _letter(k: int) -> str:
    """Edits near a paragraph are lettered (a, b, ... z, aa, ab ...); flags are numbered."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(97 + r) + out
    return out


def _render_edit_row(e: dict[str, Any], num: str | None = None) -> str:
    action = str(e.get("action", ""))
    tag = {"suggest": "suggested, not applied", "remove": "removed", "fix": "fixed"}.get(action, action)
    n = f'<span class="num">{num}</span>' if num is not None else ""
    conf = e.get("confidence")
    conf_s = f" · {_num(conf):.2f}" if conf is not None else ""
    reason = f'<div class="why">{_e(e["reason"])}</div>' if e.get("reason") else ""
    before = e.get("before") if isinstance(e.get("before"), str) else ""
    after = e.get("after") if isinstance(e.get("after"), str) else ""
    ws = before != after and before.split() == after.split()
    return (
        f'<li class="edit act-{_e(action)}">{n}<span class="ba"><del>{_show(before, ws)}</del>'
        f'<span class="arrow" aria-label="becomes">→</span><ins>{_show(after, ws)}</ins></span>'
        f'<span class="rule">{_e(e.get("pass", "?"))}/{_e(e.get("rule", "?"))} · {_e(tag)}{conf_s}</span>'
        f"{reason}</li>"
    )


def _render_flag_card(p: _Placed, doc_id: int, reason_index: dict[str, int], numbered: bool) -> str:
    flag = p.flag
    conf = _num(flag.get("confidence"), 0.0)
    ccls, cword = _conf_class(conf)
    codes = [str(r.get("code", "?")) for r in flag["reasons"]]
    ridx = " ".join(str(reason_index[c]) for c in dict.fromkeys(codes))
    reasons_html = []
    for r in flag["reasons"]:
        code = str(r.get("code", "?"))
        msg = r.get("message")
        sugg = r.get("suggestion")
        sugg_html = (f'<div class="sugg">Suggestion: <q>{_e(sugg)}</q></div>'
                     if isinstance(sugg, str) and sugg else "")
        reasons_html.append(
            f'<li><span class="tag" title="{_e(code)}">{_e(_label(code))}</span>'
            f'<span class="msg">{_e(msg) if msg else ""}</span>{sugg_html}</li>')
    where = f"characters {p.loc[0]}–{p.loc[1]}" if p.loc is not None else "position unknown"
    fno = f'<span class="fno">{p.num}</span>' if numbered else ""
    return (
        f'<article class="flag c-{ccls}" id="flag-{p.fid}" data-doc="{doc_id}" '
        f'data-conf="{conf:.4f}" data-reasons="{ridx}">'
        f'<div class="fhead">{fno}<span class="conf c-{ccls}" title="confidence: lower means more '
        f'likely wrong"><b>{conf:.2f}</b> {cword}</span><span class="where">{_e(where)}</span></div>'
        f'<ul class="reasons">{"".join(reasons_html)}</ul></article>'
    )


def _render_doc_flags(doc: _Doc, doc_id: int, first_fid: int, reason_index: dict[str, int]) -> str:
    """The flags of one document, grouped by paragraph: each paragraph once, its flagged
    sentences highlighted, then each flag's reasons, then the automatic edits near it."""
    text = doc.text
    seps: tuple[list[int], list[int]] = ([], [])
    positions = None
    if text is not None:
        ms = list(_paragraph_separators(text).finditer(text))
        seps = ([m.start() for m in ms], [m.end() for m in ms])
        positions = _edit_positions(doc)
    placed: list[_Placed] = []
    for k, f in enumerate(doc.flags):
        loc = _locate(text, f)
        if loc is None or text is None:
            ftext = f.get("text") if isinstance(f.get("text"), str) else ""
            placed.append(_Placed(f, first_fid + k, 0, None, (0, len(ftext)), [(0, len(ftext))]))
            continue
        para = _paragraph(text, seps, *loc)
        placed.append(_Placed(f, first_fid + k, 0, loc, para, _windows(text, *loc, *para)))
    placed.sort(key=lambda p: (p.loc is None, p.loc or (0, 0), p.fid))
    # group flags whose paragraphs overlap; a flag without a position stands alone
    groups: list[list[_Placed]] = []
    for p in placed:
        if p.loc is not None and groups and groups[-1][0].loc is not None \
                and p.para[0] < max(q.para[1] for q in groups[-1]):
            groups[-1].append(p)
        else:
            groups.append([p])
    num = 0
    for g in groups:
        for p in g:
            num += 1
            p.num = num

    out = []
    for g in groups:
        numbered = len(g) > 1
        cards = "".join(_render_flag_card(p, doc_id, reason_index, numbered) for p in g)
        if g[0].loc is None:
            ftext = g[0].flag.get("text") if isinstance(g[0].flag.get("text"), str) else ""
            ctx = _render_context(ftext, [(0, len(ftext))], (0, len(ftext)),
                                  [(0, len(ftext), g[0].fid, g[0].num)], [], False)
            note = ('<p class="note">The cleaned document could not be read; the flagged sentence '
                    "is shown alone.</p>")
            out.append(f'<div class="para" data-doc="{doc_id}"><p class="ctx">{ctx}</p>{note}'
                       f'<div class="flags">{cards}</div></div>')
            continue
        assert text is not None
        pstart, pend = g[0].para[0], max(p.para[1] for p in g)
        ranges = _merge([w for p in g for w in p.windows if w[0] < w[1]])
        spans = [(p.loc[0], p.loc[1], p.fid, p.num) for p in g if p.loc is not None]
        near: list[tuple[int, dict[str, Any], tuple[int, int] | None]] = []
        if doc.edits:
            if positions is not None:
                for i, e in enumerate(doc.edits):
                    pos = positions.get(i)
                    if pos is not None and pos[1] >= pstart - 1 and pos[0] <= pend + 1:
                        near.append((i, e, pos))
            else:
                para = text[pstart:pend]
                for i, e in enumerate(doc.edits):
                    after = e.get("after")
                    if e.get("action") != "suggest" and isinstance(after, str) \
                            and len(after.strip()) >= 3 and after in para:
                        near.append((i, e, None))

        def distance(t: tuple[int, dict[str, Any], tuple[int, int] | None],
                     spans: list[tuple[int, int, int, int]] = spans) -> int:
            if t[2] is None:
                return 0
            return min(max(0, s - t[2][1], t[2][0] - e) for s, e, _f, _n in spans)

        limit = NEAR_EDITS * (2 if len(g) > 1 else 1)
        more = max(0, len(near) - limit)
        near = sorted(sorted(near, key=distance)[:limit], key=lambda t: (t[2][0] if t[2] else 0, t[0]))
        marks = [(pos[0], pos[1], k, e) for k, (_i, e, pos) in enumerate(near) if pos is not None]
        ctx = _render_context(text, ranges, (pstart, pend), spans, marks, len(g) > 1)
        edits_html = ""
        if near:
            rows = "".join(_render_edit_row(e, _letter(k)) for k, (_i, e, _p) in enumerate(near))
            extra = (f'<p class="note">and {more} more near here (see the document\'s edit list)</p>'
                     if more else "")
            edits_html = (f'<div class="near"><h4>Automatic edits nearby<span class="hint">'
                          f'dotted underline: changed text · ✂ removed text</span></h4>'
                          f'<ol class="edits">{rows}</ol>{extra}</div>')
        out.append(f'<div class="para" data-doc="{doc_id}"><p class="ctx">{ctx}</p>'
                   f'<div class="flags">{cards}</div>{edits_html}</div>')
    return "".join(out)


def _render_doc_edits(doc: _Doc) -> str:
    if not doc.edits_total:
        return ""
    rows = "".join(_render_edit_row(e) for e in (doc.edits or [])[:MAX_EDITS_PER_DOC])
    shown = min(len(doc.edits or []), MAX_EDITS_PER_DOC)
    more = ""
    if doc.edits_total > shown:
        more = (f'<p class="note">Showing {shown} of {doc.edits_total} edits; all are in '
                f"_normalize/edits.jsonl.</p>")
    return (f'<details class="alledits"><summary>All edits in this document '
            f'({doc.edits_total})</summary><ul class="edits">{rows}</ul>{more}</details>')


def _bars(items: list[tuple[str, str, int]], total: int, clickable: bool) -> str:
    if not items:
        return '<p class="muted">None in this run.</p>'
    top = max(n for _, _, n in items) or 1
    rows = []
    for key, label, n in items:
        width = max(2, round(100 * n / top))
        name = (f'<button type="button" class="link" data-set-reason="{_e(key)}">{label}</button>'
                if clickable else label)
        rows.append(f'<tr><th scope="row">{name}</th><td class="n">{n}</td>'
                    f'<td class="bar"><span style="width:{width}%"></span></td></tr>')
    return f'<table class="bars">{"".join(rows)}</table>'


def _render(run: _Run) -> str:
    s = run.summary
    docs_s = s.get("documents") or {}
    reasons = sorted(run.flags_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    reason_index = {code: i for i, (code, _) in enumerate(reasons)}
    for doc in run.docs.values():  # codes seen only in rendered flags (always counted above)
        for f in doc.flags:
            for r in f["reasons"]:
                reason_index.setdefault(str(r.get("code", "?")), len(reason_index))

    flagged = [d for d in run.docs.values() if d.flags]
    quiet = [d for d in run.docs.values() if not d.flags]
    unshown_flagged = run.flagged_docs - len(flagged)
    doc_ids: dict[DocKey, int] = {}
    index_docs = []
    for d in flagged + quiet:
        doc_ids[d.key] = len(index_docs)
        index_docs.append({"id": len(index_docs), "name": d.label, "flags": d.flags_total,
                           "edits": d.edits_total})

    # -- summary
    n_docs = _int(docs_s.get("written"), run.docs_total)
    n_seen = _int(docs_s.get("seen"), n_docs)
    n_failed = _int(docs_s.get("failed"), 0)
    cards = [
        ("Documents", f"{n_docs}", f"of {n_seen} read" + (f", {n_failed} failed" if n_failed else "")),
        ("Flags", f"{run.flags_total}", f"in {run.flagged_docs} document{'s' if run.flagged_docs != 1 else ''}"),
        ("Edits", f"{run.edits_total}",
         ", ".join(f"{n} {_ACTION_WORD.get(a, a)}" for a, n in sorted(run.edits_by_action.items()))
         or "none"),
        ("Errors", f"{run.errors_total}", "documents not processed" if run.errors_total else "none"),
    ]
    cards_html = "".join(
        f'<div class="card{" bad" if title == "Errors" and run.errors_total else ""}">'
        f'<div class="k">{_e(title)}</div><div class="v" data-count="{_e(title.lower())}">{_e(v)}</div>'
        f'<div class="sub">{_e(sub)}</div></div>' for title, v, sub in cards)
    reason_items = [(code, f'<span title="{_e(code)}">{_e(_label(code))}</span>'
                     + (f'<span class="ex">e.g. {_e(_clip(run.reason_example[code], 140))}</span>'
                        if code in run.reason_example else ""), n) for code, n in reasons]
    pass_items = [(p, _e(p), n) for p, n in sorted(run.edits_by_pass.items(), key=lambda kv: (-kv[1], kv[0]))]
    rule_rows = "".join(f'<tr><th scope="row">{_e(r)}</th><td class="n">{n}</td></tr>'
                        for r, n in sorted(run.edits_by_rule.items(), key=lambda kv: (-kv[1], kv[0])))
    rules_html = (f'<details class="rules"><summary>Edits by rule ({len(run.edits_by_rule)} rules)</summary>'
                  f'<table class="plain">{rule_rows}</table></details>') if run.edits_by_rule else ""

    # -- truncation notes
    notes = []
    if run.flags_rendered < run.flags_total:
        notes.append(f"This page shows {run.flags_rendered} of {run.flags_total} flags (at most "
                     f"{MAX_FLAGS_PER_DOC} per document and {MAX_FLAGS} in all); "
                     f"_normalize/flags.jsonl and flags.csv hold every flag.")
    if unshown_flagged:
        notes.append(f"{unshown_flagged} flagged document{'s are' if unshown_flagged != 1 else ' is'} "
                     f"not shown here.")
    if run.quiet_docs_total > len(quiet):
        notes.append(f"Only {len(quiet)} of the {run.quiet_docs_total} documents with edits but no "
                     f"flag are listed.")
    notes_html = ('<div class="trunc" role="note" id="truncated">'
                  + "".join(f"<p>{_e(n)}</p>" for n in notes) + "</div>") if notes else ""
    if run.review_edits:
        n = run.review_edits
        notes_html += (f'<div class="trunc" role="note" id="reviewed"><p>{n} review edit{"s were" if n != 1 else " was"} '
                       "applied after this run (normalize apply; action review in _normalize/edits.jsonl). "
                       "This page shows the documents as the run wrote them, before review, which is what the "
                       "flags and automatic edits refer to.</p></div>")

    # -- documents
    doc_sections = []
    flag_id = 0
    for d in flagged:
        did = doc_ids[d.key]
        flags_html = _render_doc_flags(d, did, flag_id, reason_index)
        flag_id += len(d.flags)
        more = ""
        if d.flags_total > len(d.flags):
            more = (f'<p class="trunc">Showing {len(d.flags)} of {d.flags_total} flags of this '
                    f"document.</p>")
        enc = d.info.get("encoding")
        meta_bits = [f"{d.flags_total} flag{'s' if d.flags_total != 1 else ''}",
                     f"{d.edits_total} edit{'s' if d.edits_total != 1 else ''}"]
        if enc:
            meta_bits.append(str(enc))
        doc_sections.append(
            f'<section class="doc" data-doc="{did}" data-flags="{d.flags_total}">'
            f'<header><h3>{_e(d.label)}</h3><span class="meta">{_e(" · ".join(meta_bits))}</span></header>'
            f'{flags_html}{more}{_render_doc_edits(d)}</section>')
    quiet_rows = []
    for d in quiet:
        did = doc_ids[d.key]
        quiet_rows.append(
            f'<section class="doc quiet" data-doc="{did}" data-flags="0">'
            f'<header><h3>{_e(d.label)}</h3><span class="meta">no flags · {d.edits_total} '
            f'edit{"s" if d.edits_total != 1 else ""}</span></header>{_render_doc_edits(d)}</section>')

    if run.flags_total == 0:
        empty = ('<div class="empty" id="empty-run"><h2>No flags in this run</h2><p>No sentence was '
                 'flagged for review.' + (f" The {run.edits_total} automatic edits are listed per "
                                          "document below." if run.edits_total else "") + "</p></div>")
    else:
        empty = ""

    errors_html = ""
    if run.errors:
        rows = "".join(
            f'<tr><td>{_e(err.get("file", ""))}{", line " + _e(err["line"]) if err.get("line") else ""}</td>'
            f'<td>{_e(err.get("error", ""))}</td><td>{_e(_clip(str(err.get("message", "")), 300))}</td></tr>'
            for err in run.errors)
        more = (f'<p class="trunc">Showing {len(run.errors)} of {run.errors_total} errors; see '
                f"_normalize/errors.jsonl.</p>") if run.errors_total > len(run.errors) else ""
        errors_html = (f'<section class="errors panel"><h2>Documents that could not be processed</h2>'
                       f'<table class="plain"><thead><tr><th>Document</th><th>Kind</th><th>Message</th>'
                       f'</tr></thead><tbody>{rows}</tbody></table>{more}</section>')

    data = {
        "flagsTotal": run.flags_total,
        "flagsShown": run.flags_rendered,
        "reasons": [{"i": i, "code": c, "label": _label(c), "count": run.flags_by_reason.get(c, 0)}
                    for c, i in sorted(reason_index.items(), key=lambda kv: kv[1])],
        "docs": index_docs,
    }
    tool = s.get("tool") or {}
    rules = s.get("rules") or {}
    sub = " · ".join(x for x in [
        f"output {s['output']}" if s.get("output") else f"output {run.out_dir}",
        f"input {s['input']}" if s.get("input") else "",
        f"{tool.get('name', 'normalize')} {tool.get('version', '')}".strip(),
        f"rules {rules.get('version')}" if rules.get("version") else "",
    ] if x)

    controls = ""
    dis = "" if run.flags_rendered else " disabled"
    if run.flags_total or index_docs:
        controls = f"""<div class="toolbar" role="search">
<label>Reason <select id="f-reason"{dis}><option value="">All reasons</option></select></label>
<label>Document <select id="f-doc"><option value="">All documents</option></select></label>
<label class="slider" title="show flags whose confidence is at most this">Confidence ≤
<output id="f-conf-out" for="f-conf">1.00</output>
<input type="range" id="f-conf" min="0" max="1" step="0.05" value="1"{dis}></label>
<button type="button" id="f-reset">Reset</button>
<span id="f-count" class="count" aria-live="polite">{run.flags_rendered} flag{'s' if run.flags_rendered != 1 else ''} shown</span>
</div>"""

    body = f"""<header class="top"><h1>Review of a normalize run</h1><p class="sub">{_e(sub)}</p></header>
<main>
<section class="summary" aria-label="Summary">
<div class="cards">{cards_html}</div>
<div class="cols">
<div class="panel"><h2>Flags by reason</h2>{_bars(reason_items, run.flags_total, True)}</div>
<div class="panel"><h2>Edits by pass</h2>{_bars(pass_items, run.edits_total, False)}{rules_html}</div>
</div>
</section>
{errors_html}
{notes_html}
{controls}
{empty}
<div id="docs">
{"".join(doc_sections)}
<p class="empty-filter" id="no-match" hidden>No flags match these filters.</p>
{('<h2 class="quiet-h" id="quiet-h">Documents with edits but no flags</h2>' + "".join(quiet_rows)) if quiet_rows else ""}
</div>
<footer><p>Confidence runs from 0 to 1; lower means the sentence is more likely wrong. Offsets
count Unicode characters in the cleaned text. Every flag is in _normalize/flags.jsonl and
flags.csv, every edit in _normalize/edits.jsonl.</p></footer>
</main>"""

    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>normalize review: {run.flags_total} flags, {run.edits_total} edits</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        f'<script type="application/json" id="report-data">{_json_script(data)}</script>\n'
        f"<script>{_JS}</script>\n</body></html>\n"
    )


def render_report(out_dir: Path | str, *, max_flags: int = MAX_FLAGS,
                  max_flags_per_doc: int = MAX_FLAGS_PER_DOC, known: dict[str, Any] | None = None) -> str:
    """The report's HTML for the run in ``out_dir`` (without writing it).

    ``known``: the run's flag counts, ``{"total": N, "by_reason": {code: n}}``, from the process
    that has just written flags.jsonl and counted them (``normalize run``). flags.jsonl is then
    read only as far as the flags the page shows (and searched for the first message of each
    other reason). Without it, the counts in summary.json are used when they are those of
    flags.jsonl as it is (see :func:`counted_by_the_run`), else every flag is read and counted.
    The page is the same either way."""
    out_dir = Path(out_dir)
    if known is None:
        known = counted_by_the_run(out_dir)
    return _render(_load(out_dir, max_flags, max_flags_per_doc, known))


def counted_by_the_run(out_dir: Path) -> dict[str, Any] | None:
    """The flag counts of summary.json (``{"total": N, "by_reason": {code: n}}``) when they
    count flags.jsonl as it is: the run's record index holds for the record files there (it
    names the plan .assembled names, and their sizes; see :mod:`normalize.recindex`) and counts
    as many flags. None otherwise (a run was stopped, a file was changed, no index)."""
    meta = out_dir / META_DIR
    index = RecordIndex.load(meta, files=())
    if index is None:
        return None
    try:
        flags = json.loads((meta / "summary.json").read_text(encoding="utf-8")).get("flags")
    except (OSError, ValueError, AttributeError):
        return None
    if not (isinstance(flags, dict) and flags.get("total") == index.flags and isinstance(flags.get("by_reason"), dict)):
        return None
    return {"total": flags["total"], "by_reason": flags["by_reason"]}


def write_report(out_dir: Path | str, *, max_flags: int = MAX_FLAGS,
                 max_flags_per_doc: int = MAX_FLAGS_PER_DOC, known: dict[str, Any] | None = None) -> Path:
    """Write OUT/_normalize/report.html for the finished run in ``out_dir``; return its path
    (``known``: see :func:`render_report`)."""
    out_dir = Path(out_dir)
    meta = out_dir / META_DIR
    if not meta.is_dir():
        raise FileNotFoundError(f"{meta}: no run here (the {META_DIR}/ folder is missing)")
    page = render_report(out_dir, max_flags=max_flags, max_flags_per_doc=max_flags_per_doc, known=known)
    path = meta / REPORT_NAME
    atomic_write(path, page.encode("utf-8"))
    return path


_CSS = """
:root{--bg:#f6f5f2;--fg:#1f2328;--muted:#646b73;--card:#fff;--line:#e3e1dc;--accent:#2f6f8f;
--mark:#fdeaa9;--mark-strong:#f8d66a;--mark-line:#c99a00;--ins:#e3f4e6;--ins-fg:#1d6b32;--del:#fbe7e6;
--del-fg:#9b2c2c;
--lo:#b42318;--mid:#b7791f;--hi:#4a7a52;--chip:#eef3f6;--shadow:0 1px 2px rgba(0,0,0,.05)}
@media (prefers-color-scheme: dark){:root{--bg:#16181b;--fg:#e6e4df;--muted:#9aa1a9;--card:#1f2226;
--line:#30343a;--accent:#7fb6d3;--mark:#5a4a12;--mark-strong:#7a6418;--mark-line:#c9a227;--ins:#173222;
--ins-fg:#8fd3a0;
--del:#3a1d1d;--del-fg:#f0a3a3;--chip:#263038;--lo:#f07a6e;--mid:#e0b15a;--hi:#8cc196}}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",
"Noto Sans","DejaVu Sans",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main,.top{max-width:1080px;margin:0 auto;padding:0 24px}
.top{padding-top:28px;padding-bottom:8px}
h1{font-size:22px;font-weight:600;margin:0 0 2px;letter-spacing:-.01em}
h2{font-size:15px;font-weight:600;margin:0 0 10px}
h3{font-size:15px;font-weight:600;margin:0;word-break:break-all}
h4{font-size:12px;font-weight:600;margin:10px 0 4px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
.sub{color:var(--muted);margin:0;font-size:13px;word-break:break-all}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:16px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px;
box-shadow:var(--shadow)}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:26px;font-weight:600;line-height:1.25}
.card .sub{font-size:12.5px}
.card.bad .v{color:var(--lo)}
.cols{display:grid;grid-template-columns:3fr 2fr;gap:12px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;
box-shadow:var(--shadow)}
table{border-collapse:collapse;width:100%}
.bars th{text-align:left;font-weight:500;padding:5px 8px 5px 0;vertical-align:top}
.bars td{padding:5px 0;vertical-align:top}
.bars td.n{text-align:right;padding-right:10px;font-variant-numeric:tabular-nums;width:3.5em}
.bars td.bar{width:32%}
.bars td.bar span{display:block;height:8px;margin-top:7px;border-radius:4px;background:var(--accent);
opacity:.55}
.bars .ex{display:block;font-size:12.5px;color:var(--muted);font-weight:400}
button.link{all:unset;cursor:pointer;color:inherit}
button.link:hover,button.link:focus-visible{color:var(--accent);text-decoration:underline}
.plain th,.plain td{text-align:left;padding:4px 8px;border-top:1px solid var(--line);font-size:13px;
vertical-align:top}
.plain td.n{text-align:right;font-variant-numeric:tabular-nums}
details.rules{margin-top:10px;font-size:13px}
summary{cursor:pointer;color:var(--accent)}
.toolbar{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;
margin:18px 0 12px;padding:10px 14px;background:var(--card);border:1px solid var(--line);
border-radius:10px;
box-shadow:0 2px 6px rgba(0,0,0,.06);font-size:13.5px}
.toolbar label{display:flex;gap:6px;align-items:center;color:var(--muted);white-space:nowrap}
.toolbar select{max-width:180px;font:inherit;color:var(--fg);background:var(--bg);
border:1px solid var(--line);border-radius:6px;padding:3px 6px}
.toolbar output{color:var(--fg);font-variant-numeric:tabular-nums;min-width:2.6em}
.toolbar input[type=range]{accent-color:var(--accent);width:100px}
.toolbar button{font:inherit;background:none;border:1px solid var(--line);border-radius:6px;
padding:3px 10px;color:var(--fg);cursor:pointer}
.toolbar .count{margin-left:auto;color:var(--muted)}
.trunc{background:#fff7e0;border:1px solid #f0d58a;color:#6b4e00;border-radius:8px;padding:8px 12px;
font-size:13.5px;margin:12px 0}
.trunc p{margin:2px 0}
@media (prefers-color-scheme: dark){.trunc{background:#3a3012;border-color:#6b5a1f;color:#f3dd9b}}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:10px;padding:28px;
text-align:center;margin:16px 0}
.empty h2{font-size:17px}.empty p{color:var(--muted);margin:0}
.empty-filter{color:var(--muted);text-align:center;padding:24px}
.doc{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:14px 0;
padding:4px 18px 12px;box-shadow:var(--shadow)}
.doc>header{display:flex;gap:12px;align-items:baseline;justify-content:space-between;padding:10px 0 6px;
border-bottom:1px solid var(--line)}
.doc .meta{color:var(--muted);font-size:12.5px;white-space:nowrap}
.doc.quiet{padding-bottom:8px}
.quiet-h{margin-top:28px;color:var(--muted)}
.para{padding:12px 0 10px;border-top:1px solid var(--line)}
.doc>header+.para{border-top:0}
.flag{border-left:3px solid var(--hi);padding:1px 0 1px 12px;margin:8px 0}
.flag.c-lo{border-left-color:var(--lo)}.flag.c-mid{border-left-color:var(--mid)}
.fhead{display:flex;gap:10px;align-items:baseline;font-size:12.5px;color:var(--muted)}
.fno,sup.fn{display:inline-block;min-width:1.45em;text-align:center;border-radius:999px;
background:var(--mark-line);
color:#fff;font:600 10.5px/1.5 system-ui,sans-serif;padding:0 4px}
sup.fn{vertical-align:super;margin:0 2px 0 1px;font-size:9.5px;line-height:1.35}
.conf b{font-variant-numeric:tabular-nums}
.conf.c-lo{color:var(--lo)}.conf.c-mid{color:var(--mid)}.conf.c-hi{color:var(--hi)}
.ctx{margin:2px 0 6px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:15.5px;line-height:1.7;
font-family:Charter,"Iowan Old Style",Georgia,"DejaVu Serif",serif}
mark.hl{background:var(--mark);color:inherit;box-shadow:inset 0 -2px 0 var(--mark-line);
border-radius:2px;padding:1px 0;
transition:background .15s}
mark.hl.focus{background:var(--mark-strong)}
mark.hl.off{background:none;box-shadow:none}
sup.fn.off{opacity:.35}
.ed{text-decoration:underline dotted var(--ins-fg) 2px;text-underline-offset:4px}
.cut{color:var(--del-fg);font-size:12px;font-family:system-ui,sans-serif;padding:0 1px;cursor:help}
.cut sup,.num{font-size:10px}
.gap{color:var(--muted)}
.reasons{list-style:none;margin:0;padding:0}
.reasons li{margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline}
.tag{background:var(--chip);color:var(--accent);border-radius:999px;padding:1px 9px;font-size:12.5px;
font-weight:600;white-space:nowrap}
.msg{flex:1 1 300px}
.sugg{flex-basis:100%;padding-left:2px;font-size:14px}
.sugg q{background:var(--ins);color:var(--ins-fg);padding:0 4px;border-radius:3px;quotes:none}
.near{margin:8px 0 0 15px}
.hint{font-weight:400;text-transform:none;letter-spacing:0;margin-left:10px;opacity:.8}
.edits{list-style:none;margin:0;padding:0;font-size:13.5px}
.edit{display:flex;flex-wrap:wrap;gap:2px 10px;align-items:baseline;padding:3px 0;
border-top:1px dashed var(--line)}
.edit:first-child{border-top:0}
.edit .num{color:var(--muted);min-width:1.2em}
.ba{flex:1 1 360px;overflow-wrap:anywhere}
del{background:var(--del);color:var(--del-fg);text-decoration:line-through;
text-decoration-color:rgba(155,44,44,.35);padding:0 3px;border-radius:3px}
ins{background:var(--ins);color:var(--ins-fg);text-decoration:none;padding:0 3px;border-radius:3px}
.arrow{color:var(--muted);margin:0 6px}
.ws,.nil{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;opacity:.75}
.nil{font-style:italic;font-family:inherit}
.rule{color:var(--muted);font-size:12px;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.why{flex-basis:100%;color:var(--muted);font-size:12.5px}
.note{color:var(--muted);font-size:12.5px;margin:4px 0}
details.alledits{margin-top:8px;font-size:13.5px}
details.alledits .edits{margin-top:6px}
.errors{margin-top:12px}
footer{color:var(--muted);font-size:12.5px;margin:28px 0 40px;border-top:1px solid var(--line);
padding-top:12px}
[hidden]{display:none!important}
@media (max-width:760px){.cards{grid-template-columns:repeat(2,1fr)}.cols{grid-template-columns:1fr}}
@media print{.toolbar{display:none}.doc,.panel,.card{box-shadow:none}}
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var reasonSel = document.getElementById("f-reason");
  var docSel = document.getElementById("f-doc");
  var conf = document.getElementById("f-conf");
  if (!reasonSel || !docSel || !conf) return;
  var confOut = document.getElementById("f-conf-out");
  var count = document.getElementById("f-count");
  var noMatch = document.getElementById("no-match");
  var quietH = document.getElementById("quiet-h");
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  data.reasons.forEach(function (r) {
    if (r.count > 0) reasonSel.add(new Option(r.label + " (" + r.count + ")", String(r.i)));
  });
  data.docs.forEach(function (d) {
    var extra = d.flags ? " (" + d.flags + " flag" + (d.flags === 1 ? "" : "s") + ")" : "";
    docSel.add(new Option(d.name + extra, String(d.id)));
  });
  var flags = all("article.flag");
  var byId = {};
  flags.forEach(function (f) {
    f._r = f.getAttribute("data-reasons").split(" ");
    f._c = parseFloat(f.getAttribute("data-conf"));
    f._d = f.getAttribute("data-doc");
    byId[f.id.slice(5)] = f;
  });
  var paras = all("div.para").map(function (p) {
    return {el: p, flags: all("article.flag", p), marks: all("mark.hl, sup.fn", p)};
  });
  var docs = all("section.doc");
  function apply() {
    var r = reasonSel.value, d = docSel.value, c = parseFloat(conf.value);
    confOut.textContent = c.toFixed(2);
    var filtering = r !== "" || c < 1;
    var visible = {}, shown = 0;
    flags.forEach(function (f) {
      var ok = (r === "" || f._r.indexOf(r) >= 0) && f._c <= c + 1e-9 && (d === "" || f._d === d);
      f.hidden = !ok;
      if (ok) { shown++; visible[f._d] = true; }
    });
    paras.forEach(function (p) {
      p.el.hidden = !p.flags.some(function (f) { return !f.hidden; });
      p.marks.forEach(function (m) {
        var on = m.getAttribute("data-f").split(" ").some(function (id) { return byId[id] && !byId[id].hidden; });
        m.classList.toggle("off", !on);
      });
    });
    var quietShown = 0;
    docs.forEach(function (s) {
      var id = s.getAttribute("data-doc");
      var isQuiet = s.getAttribute("data-flags") === "0";
      var show = (d === "" || id === d) && (isQuiet ? !filtering : !!visible[id]);
      s.hidden = !show;
      if (show && isQuiet) quietShown++;
    });
    if (quietH) quietH.hidden = quietShown === 0;
    count.textContent = shown + " of " + data.flagsShown + " flag" + (data.flagsShown === 1 ? "" : "s") + " shown";
    if (noMatch) noMatch.hidden = !(data.flagsShown > 0 && shown === 0 && quietShown === 0);
  }
  reasonSel.addEventListener("change", apply);
  docSel.addEventListener("change", apply);
  conf.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", function () {
    reasonSel.value = ""; docSel.value = ""; conf.value = "1"; apply();
  });
  all("[data-set-reason]").forEach(function (b) {
    b.addEventListener("click", function () {
      var code = b.getAttribute("data-set-reason");
      data.reasons.forEach(function (x) { if (x.code === code) reasonSel.value = String(x.i); });
      apply();
      reasonSel.scrollIntoView({block: "nearest"});
    });
  });
  // pointing at a flag's card brings out its sentence in the paragraph
  paras.forEach(function (p) {
    p.flags.forEach(function (f) {
      var id = f.id.slice(5);
      var mine = p.marks.filter(function (m) { return m.getAttribute("data-f").split(" ").indexOf(id) >= 0; });
      f.addEventListener("mouseenter", function () { mine.forEach(function (m) { m.classList.add("focus"); }); });
      f.addEventListener("mouseleave", function () { mine.forEach(function (m) { m.classList.remove("focus"); }); });
    });
  });
  apply();
})();
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m normalize.report OUT", file=sys.stderr)
        return 2
    try:
        print(write_report(Path(args[0])))
    except FileNotFoundError as exc:
        print(f"normalize: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
