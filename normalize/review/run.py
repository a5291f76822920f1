"""A finished run as the reviewer sees it: documents, flags, edits, and where each one is.

:class:`RunView` reads OUT/_normalize/ (summary.json, documents.jsonl, flags.jsonl, edits.jsonl)
and the cleaned documents *as they were before review*: once ``normalize apply`` has changed a
file, its pre-review copy in OUT/_normalize/pre-review/ is read instead (see :mod:`.apply`), so
the offsets in flags.jsonl stay valid however often decisions are applied.

Identities
    A flag's id is the first 16 hex digits of the SHA-1 of the JSON array
    ``[file, line, start, end, text]`` (``line`` is null for .txt documents; compact JSON,
    UTF-8, non-ASCII kept). An edit's id is made the same way from
    ``[file, line, pass, rule, action, start, end, before, after]``. Both depend only on what the
    run wrote, so they are the same for every reviewer and every server started on the run.

Positions
    Flags carry offsets into the cleaned document; applied edits (fix, remove) carry offsets
    into the input. Walking a document's applied edits in input order and summing how much each
    grew or shrank the text gives each edit's span in the cleaned text; every span is checked
    (the edit's ``after`` must be found there), and an edit whose span cannot be checked cannot be
    reverted. A suggestion (an edit with action ``suggest``, or a reason that quotes its text)
    is placed the same way, inside its flag's sentence; see :func:`locate_reason`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..recindex import INDEXED, RecordIndex, read_stretches

META_DIR = "_normalize"
PREREVIEW_DIR = "pre-review"
PREREVIEW_MANIFEST = "pre-review.json"
#: characters of context shown on each side of a flag inside a long paragraph
CONTEXT_CHARS = 600
#: edits listed under one flag
NEAR_EDITS = 8

#: a document of a run: the output file (relative to OUT) and, for a JSONL file, its record's line
DocKey = tuple[str, "int | None"]


class Keyed:
    """What a document known by its :data:`DocKey` (``key``) says of where it is."""

    key: DocKey

    @property
    def file(self) -> str:
        return self.key[0]

    @property
    def line(self) -> int | None:
        return self.key[1]

    @property
    def label(self) -> str:
        return self.file if self.line is None else f"{self.file}, line {self.line}"


def _sha(parts: list[Any]) -> str:
    data = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha1(data).hexdigest()[:16]


def flag_id(file: str, line: int | None, start: int, end: int, text: str) -> str:
    """The stable id of a flag: sha1 of ``[file, line, start, end, text]`` (16 hex digits)."""
    return _sha([file, line, start, end, text])


def edit_id(rec: dict[str, Any]) -> str:
    """The stable id of an edits.jsonl record."""
    return _sha([rec.get("file"), rec.get("line"), rec.get("pass"), rec.get("rule"), rec.get("action"),
                 rec.get("start"), rec.get("end"), rec.get("before"), rec.get("after")])


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file; a missing file is empty, a malformed line is skipped."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):  # malformed, or beyond the JSON parser's limits
                continue
            if isinstance(obj, dict):
                yield obj


def _key(obj: dict[str, Any]) -> DocKey:
    line = obj.get("line")
    return str(obj.get("file", "")), line if isinstance(line, int) and not isinstance(line, bool) else None


def _int(value: Any, default: int = -1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def sha256_file(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def safe_rel(rel: str) -> bool:
    """A document path from the run's files that stays inside OUT and outside OUT/_normalize."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/"):
        return False
    parts = rel.split("/")
    return all(p not in ("", ".", "..") for p in parts) and parts[0] != META_DIR


def output_path(out_dir: Path, rel: str) -> Path | None:
    """OUT/rel, or None when rel would leave OUT or point into the run's own folder."""
    if not safe_rel(rel):
        return None
    root = out_dir.resolve()
    try:
        path = (out_dir / rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if root not in path.parents or (root / META_DIR) in path.parents:
        return None
    return path


def prereview_manifest(out_dir: Path, digests: dict[str, str]) -> dict[str, Any]:
    """The entries of OUT/_normalize/pre-review.json that still hold.

    The file is ``{"files": {rel: {"pre": sha256, "out": [sha256, ...], "run": digest}}}``:
    ``pre`` is the hash of the copy in pre-review/ (the file as the run wrote it), ``out`` the
    hashes of what apply has written to OUT/rel, ``run`` the digest of the run's records of the
    file (see :attr:`RunView.digests`). An entry holds while OUT/rel is one of those and the run's
    records are the same: once a new ``normalize run`` redoes the file, its copy is ignored.
    """
    path = out_dir / META_DIR / PREREVIEW_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    files = data.get("files") if isinstance(data, dict) else None
    valid: dict[str, Any] = {}
    for rel, entry in (files or {}).items() if isinstance(files, dict) else ():
        if not (isinstance(entry, dict) and isinstance(entry.get("pre"), str) and isinstance(entry.get("out"), list)
                and entry.get("run") == digests.get(rel)):
            continue
        out = output_path(out_dir, rel)
        copy = out_dir / META_DIR / PREREVIEW_DIR / rel
        if out is None or not copy.is_file():
            continue
        if sha256_file(out) in (entry["pre"], *entry["out"]) and sha256_file(copy) == entry["pre"]:
            valid[rel] = {"pre": entry["pre"], "out": [x for x in entry["out"] if isinstance(x, str)],
                          "run": entry["run"]}
    return {"files": valid}


def prereview_files(out_dir: Path) -> set[str]:
    """The files OUT/_normalize/pre-review.json lists (valid entries or not)."""
    try:
        data = json.loads((out_dir / META_DIR / PREREVIEW_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    return {rel for rel in files if isinstance(rel, str)} if isinstance(files, dict) else set()


def prereview_source(out_dir: Path, rel: str, manifest: dict[str, Any]) -> Path | None:
    """Where the pre-review bytes of output file ``rel`` are: its copy in OUT/_normalize/pre-review/
    when review changed it (``manifest``: from :func:`prereview_manifest`), else the output itself."""
    if rel in manifest["files"] and safe_rel(rel):
        copy = out_dir / META_DIR / PREREVIEW_DIR / rel
        if copy.is_file():
            return copy
    return output_path(out_dir, rel)


def read_records(data: bytes, gz: bool) -> list[bytes]:
    """The non-blank lines of a JSONL output (each without its line break)."""
    if gz:
        data = gzip.decompress(data)
    return [ln for ln in data.split(b"\n") if ln.strip()]


# -- the model -----------------------------------------------------------------------------------
@dataclass
class Change:
    """A change to a cleaned document: ``text[start:end]`` (== before) becomes ``after``."""

    start: int
    end: int
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, obj: Any) -> Change | None:
        if not isinstance(obj, dict):
            return None
        s, e = _int(obj.get("start")), _int(obj.get("end"))
        b, a = obj.get("before"), obj.get("after")
        if s < 0 or e < s or not isinstance(b, str) or not isinstance(a, str):
            return None
        return cls(s, e, b, a)


@dataclass
class EditView:
    id: str
    rec: dict[str, Any]
    cstart: int | None = None  # span of ``after`` in the cleaned text (applied edits only)
    cend: int | None = None

    @property
    def action(self) -> str:
        return str(self.rec.get("action", ""))

    @property
    def before(self) -> str:
        v = self.rec.get("before")
        return v if isinstance(v, str) else ""

    @property
    def after(self) -> str:
        v = self.rec.get("after")
        return v if isinstance(v, str) else ""

    @property
    def revertable(self) -> bool:
        return self.cstart is not None and self.action in ("fix", "remove")

    def revert_change(self) -> Change | None:
        if not self.revertable or self.cstart is None or self.cend is None:
            return None
        return Change(self.cstart, self.cend, self.after, self.before)


@dataclass
class Doc(Keyed):
    key: DocKey
    info: dict[str, Any]
    ordinal: int  # position among the documents of its file (= record in a JSONL output)
    text: str | None = None
    edits: list[EditView] = field(default_factory=list)
    flags: list[FlagView] = field(default_factory=list)
    applied: list[tuple[int, int, int]] | None = None  # (start, end, len(after)) of applied edits
    _paras: list[tuple[int, int]] | None = None

    def paragraph(self, s: int, e: int) -> tuple[int, int]:
        """The paragraph around [s, e): between blank lines when the document has them and few
        other line breaks, else the line."""
        text = self.text or ""
        if self._paras is None:
            blank = list(re.finditer(r"\n[ \t\r\f\v]*\n\s*", text))
            lone = text.count("\n") - sum(m.group().count("\n") for m in blank)
            sep = blank if blank and lone <= 2 * len(blank) else list(re.finditer(r"\n\s*", text))
            paras, pos = [], 0
            for m in sep:
                paras.append((pos, m.start()))
                pos = m.end()
            paras.append((pos, len(text)))
            self._paras = paras
        starts = [p[0] for p in self._paras]
        i = max(bisect_right(starts, s) - 1, 0)
        j = max(bisect_right(starts, max(e - 1, s)) - 1, i)
        return self._paras[i][0], max(self._paras[j][1], e)


@dataclass
class FlagView:
    id: str
    doc: Doc
    rec: dict[str, Any]
    start: int
    end: int
    text: str
    located: bool  # the flag's text is at start:end of the document we have
    reasons: list[dict[str, Any]]
    changes: list[Change | None] = field(default_factory=list)  # one per reason: what "accept" does

    @property
    def confidence(self) -> float:
        v = self.rec.get("confidence")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

    def correction(self, corrected: str) -> Change | None:
        """The change that turns the flagged sentence into ``corrected`` (common ends trimmed)."""
        if not self.located or corrected == self.text:
            return None
        a, b = self.text, corrected
        p = 0
        while p < min(len(a), len(b)) and a[p] == b[p]:
            p += 1
        q = 0
        while q < min(len(a), len(b)) - p and a[-1 - q] == b[-1 - q]:
            q += 1

        def word(ch: str) -> bool:
            return ch.isalnum() or ch in "'’-"

        def at(t: str, i: int) -> bool:
            return 0 <= i < len(t) and word(t[i])

        # whole words: "NATOs" -> "NATO countries", not "" -> " countrie"
        while p > 0 and word(a[p - 1]) and (at(a, p) or at(b, p)):
            p -= 1
        while q > 0 and word(a[len(a) - q]) and (at(a, len(a) - q - 1) or at(b, len(b) - q - 1)):
            q -= 1
        return Change(self.start + p, self.end - q, a[p : len(a) - q], b[p : len(b) - q])

    def near_edits(self) -> list[EditView]:
        """Applied edits that touch the flag's paragraph, nearest first."""
        if not self.located:
            return []
        ps, pe = self.doc.paragraph(self.start, self.end)
        near = [e for e in self.doc.edits if e.cstart is not None and e.cend is not None
                and e.cstart <= pe and e.cend >= ps]
        near.sort(key=lambda e: (0 if e.cend >= self.start and e.cstart <= self.end else 1,
                                 min(abs(e.cstart - self.start), abs(e.cend - self.end))))
        return sorted(near[:NEAR_EDITS], key=lambda e: (e.cstart or 0, e.cend or 0))


class RecordDigests:
    """Per output file, a digest of the run's records of it: its documents.jsonl, edits.jsonl
    (review records left out) and flags.jsonl lines, noted in that order. It tells whether the
    pre-review copies (:func:`prereview_manifest`) still belong to the run now in OUT."""

    def __init__(self) -> None:
        self._hashes: dict[str, Any] = {}

    def note(self, rec: dict[str, Any]) -> None:
        h = self._hashes.get(rel := str(rec.get("file", "")))
        if h is None:
            h = self._hashes[rel] = hashlib.sha1()
        h.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode("utf-8"))

    def digests(self) -> dict[str, str]:
        return {rel: h.hexdigest() for rel, h in self._hashes.items()}

    @classmethod
    def of_run(cls, out_dir: Path, files: Collection[str] | None = None) -> dict[str, str]:
        """The digests of the run in ``out_dir``, read from its record files alone (of
        ``files`` only, when given: from where the run's index says their records are)."""
        got = cls()
        meta = out_dir / META_DIR
        indexed = None if files is None else held_records(meta, files)
        for name in ("documents.jsonl", "edits.jsonl", "flags.jsonl"):
            for rec in iter_jsonl(meta / name) if indexed is None else indexed[0][name]:
                if (name != "edits.jsonl" or rec.get("action") != "review") and (
                        files is None or str(rec.get("file", "")) in files):
                    got.note(rec)
        return got.digests()


def first_flagged_files(meta: Path, max_flags: int) -> set[str]:
    """The output files that hold the first ``max_flags`` flags of flags.jsonl (it is read only
    that far)."""
    files: set[str] = set()
    if max_flags <= 0:
        return files
    for n, rec in enumerate(iter_jsonl(meta / "flags.jsonl"), 1):
        files.add(str(rec.get("file", "")))
        if n >= max_flags:
            break
    return files


def held_records(meta: Path, files: Collection[str]) -> tuple[dict[str, list[dict[str, Any]]], int] | None:
    """The records of ``files`` in documents.jsonl, edits.jsonl and flags.jsonl, each file's
    in the order they are there, read where the run's index (:mod:`normalize.recindex`) says
    they are; with the flags of the whole run. None when there is no index that holds for the
    record files now, or what it points at is not the records of those files (then the files
    are to be read whole)."""
    index = RecordIndex.load(meta, files)
    if index is None:
        return None
    out: dict[str, list[dict[str, Any]]] = {}
    for col, name in enumerate(INDEXED):
        stretches = sorted((r[2 * col], r[2 * col + 1], rel) for rel, rs in index.ranges.items() for r in rs)
        try:
            read = read_stretches(meta / name, [(s, e) for s, e, _ in stretches])
        except (OSError, ValueError):
            return None
        got: list[dict[str, Any]] = []
        out[name] = got
        for (_, _, rel), lines in zip(stretches, read, strict=True):
            for raw in lines:
                try:
                    obj = json.loads(raw.decode("utf-8", errors="replace"))
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict):
                    if str(obj.get("file", "")) != rel:
                        return None
                    got.append(obj)
    return out, index.flags


class RunView:
    """Everything the review app and ``apply`` need from one finished run.

    ``files``: only these output files' documents, edits and flags are held (their digests are
    the same as in a whole view). ``max_flags``: only the first ``max_flags`` flags are held, with
    the files they are in (``files`` defaults to those). A view of a million documents is then as
    small as the part of it that is shown or applied: its records are read where the run's index
    says they are (:func:`held_records`), which also counts :attr:`flags_in_run`; without an
    index that holds, every record is read to find them, and flags.jsonl to its end to count."""

    def __init__(self, out_dir: Path | str, files: Collection[str] | None = None,
                 max_flags: int | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.meta = self.out_dir / META_DIR
        if not (self.meta / "summary.json").is_file():
            raise FileNotFoundError(f"{self.out_dir}: not a finished run ({META_DIR}/summary.json is missing)")
        try:
            summary = json.loads((self.meta / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(f"{self.meta / 'summary.json'}: cannot read: {exc}") from None
        self.summary: dict[str, Any] = summary if isinstance(summary, dict) else {}
        self.text_field = str((self.summary.get("config") or {}).get("text_field") or "text")
        self.docs: dict[DocKey, Doc] = {}
        self.flags: dict[str, FlagView] = {}
        self.edits: dict[str, tuple[Doc, EditView]] = {}
        #: per output file, a digest of the run's records of it (see :class:`RecordDigests`)
        self.digests: dict[str, str] = {}
        #: the flags of the whole run, held or not
        self.flags_in_run = 0
        if files is None and max_flags is not None:
            files = first_flagged_files(self.meta, max_flags)
        wanted = None if files is None else frozenset(files)

        def held(rec: dict[str, Any]) -> bool:
            return wanted is None or str(rec.get("file", "")) in wanted

        hashes = RecordDigests()
        note = hashes.note
        indexed = None if wanted is None else held_records(self.meta, wanted)
        if indexed is not None:
            self.flags_in_run = indexed[1]

        def records(name: str) -> Iterable[dict[str, Any]]:
            return iter_jsonl(self.meta / name) if indexed is None else indexed[0][name]

        per_file: dict[str, int] = {}
        for info in records("documents.jsonl"):
            if not held(info):
                continue
            note(info)
            key = _key(info)
            if key in self.docs:
                continue
            self.docs[key] = Doc(key, info, ordinal=per_file.get(key[0], 0))
            per_file[key[0]] = per_file.get(key[0], 0) + 1
        for rec in records("edits.jsonl"):
            if rec.get("action") == "review" or not held(rec):
                continue
            note(rec)
            doc = self.docs.get(_key(rec))
            if doc is None:
                continue
            ev = EditView(edit_id(rec), rec)
            doc.edits.append(ev)
            self.edits[ev.id] = (doc, ev)
        flags = []
        for rec in records("flags.jsonl"):
            if indexed is None:
                self.flags_in_run += 1
            if held(rec):
                note(rec)
                if max_flags is None or len(flags) < max_flags:
                    flags.append(rec)
        self.digests = hashes.digests()
        self.manifest = prereview_manifest(self.out_dir, self.digests)
        self._read_texts()
        for doc in self.docs.values():
            self._place_edits(doc)
        for rec in flags:
            self._add_flag(rec)

    @property
    def rules_dir(self) -> str | None:
        d = (self.summary.get("rules") or {}).get("dir")
        return d if isinstance(d, str) and d else None

    # -- loading ---------------------------------------------------------------------------
    def _read_texts(self) -> None:
        by_file: dict[str, dict[int, Doc]] = {}
        for doc in self.docs.values():
            by_file.setdefault(doc.file, {})[doc.ordinal] = doc
        for rel, by_ordinal in by_file.items():
            path = prereview_source(self.out_dir, rel, self.manifest)
            if path is None:
                continue
            try:
                data = path.read_bytes()
                if rel.endswith((".jsonl", ".jsonl.gz")):
                    for n, raw in enumerate(read_records(data, rel.endswith(".gz"))):
                        doc = by_ordinal.get(n)
                        if doc is None:
                            continue
                        try:
                            obj = json.loads(raw.decode("utf-8"))
                        except (UnicodeDecodeError, ValueError):
                            continue
                        value = obj.get(self.text_field) if isinstance(obj, dict) else None
                        doc.text = value if isinstance(value, str) else None
                elif 0 in by_ordinal:
                    by_ordinal[0].text = data.decode("utf-8")
            except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile):
                continue

    @staticmethod
    def _place_edits(doc: Doc) -> None:
        applied = [e for e in doc.edits if e.action not in ("suggest", "review")]
        applied.sort(key=lambda e: _int(e.rec.get("start"), 0))
        delta, last_end = 0, 0
        placed: list[tuple[EditView, int, int]] = []
        for e in applied:
            s, en = _int(e.rec.get("start")), _int(e.rec.get("end"))
            if s < last_end or en < s:
                return  # the edits do not replay: nothing can be placed for certain
            cs = s + delta
            placed.append((e, cs, cs + len(e.after)))
            delta += len(e.after) - (en - s)
            last_end = en
        text = doc.text
        if text is None:
            return
        for e, cs, ce in placed:
            if text[cs:ce] == e.after:
                e.cstart, e.cend = cs, ce
        doc.applied = [(_int(e.rec.get("start")), _int(e.rec.get("end")), len(e.after)) for e in applied]

    def to_cleaned(self, doc: Doc, start: int, end: int) -> tuple[int, int] | None:
        """Map an input span that no applied edit touches to the cleaned text."""
        if doc.applied is None:
            return None
        delta = 0
        for s, e, n in doc.applied:
            if e <= start:  # before the span (an insertion at its start too)
                delta += n - (e - s)
            elif s < end and start < e:
                return None
            elif s >= end:
                break
        return start + delta, end + delta

    def _add_flag(self, rec: dict[str, Any]) -> None:
        key = _key(rec)
        doc = self.docs.get(key)
        if doc is None:
            doc = self.docs[key] = Doc(key, {"file": key[0]}, ordinal=-1)
        text = rec.get("text") if isinstance(rec.get("text"), str) else ""
        s, e = _int(rec.get("start")), _int(rec.get("end"))
        fid = flag_id(key[0], key[1], s, e, text)
        if fid in self.flags:
            return
        located = doc.text is not None and 0 <= s <= e <= len(doc.text) and doc.text[s:e] == text
        reasons = [r for r in rec.get("reasons") or [] if isinstance(r, dict)] \
            if isinstance(rec.get("reasons"), list) else []
        flag = FlagView(fid, doc, rec, s, e, text, located, reasons)
        flag.changes = [locate_reason(self, flag, r) if located else None for r in reasons]
        doc.flags.append(flag)
        self.flags[fid] = flag

    @staticmethod
    def line_context(doc: Doc, s: int, e: int, limit: int = 300) -> dict[str, Any]:
        """The line around [s, e) of the document (at most ``limit`` characters each side)."""
        text = doc.text or ""
        lo = max(text.rfind("\n", 0, s) + 1, s - limit)
        hi = text.find("\n", e)
        hi = min(len(text) if hi < 0 else hi, e + limit)
        return {"start": lo, "text": text[lo:hi]}

    # -- context for the page --------------------------------------------------------------
    def context(self, flag: FlagView) -> dict[str, Any]:
        """The flag's paragraph (clipped to a window around the flag), with offsets relative to it."""
        doc = flag.doc
        if not flag.located or doc.text is None:
            return {"text": flag.text, "start": 0, "end": len(flag.text), "offset": None,
                    "clippedLeft": False, "clippedRight": False}
        text = doc.text
        ps, pe = doc.paragraph(flag.start, flag.end)
        lo, hi = max(ps, flag.start - CONTEXT_CHARS), min(pe, flag.end + CONTEXT_CHARS)
        if lo > ps:
            k = text.find(" ", lo, flag.start)
            lo = k + 1 if k >= 0 else lo
        if hi < pe:
            k = text.rfind(" ", flag.end, hi)
            hi = k if k >= 0 else hi
        return {"text": text[lo:hi], "start": flag.start - lo, "end": flag.end - lo, "offset": lo,
                "clippedLeft": lo > ps, "clippedRight": hi < pe}


# -- where a reason's suggestion goes ---------------------------------------------------------------
_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"|(?<![A-Za-z])'([^']+)'(?![A-Za-z])")


def _word_spans(hay: str, needle: str) -> list[int]:
    """Start offsets of ``needle`` in ``hay`` where it is not part of a longer word."""
    out: list[int] = []
    if not needle:
        return out
    i = hay.find(needle)
    while i >= 0:
        before_ok = i == 0 or not (hay[i - 1].isalnum() and needle[0].isalnum())
        j = i + len(needle)
        after_ok = j >= len(hay) or not (hay[j].isalnum() and needle[-1].isalnum())
        if before_ok and after_ok:
            out.append(i)
        i = hay.find(needle, i + 1)
    return out


def locate_reason(view: RunView, flag: FlagView, reason: dict[str, Any]) -> Change | None:
    """Where accepting ``reason``'s suggestion changes the document, or None when it cannot be
    placed for certain (the reviewer can still type a correction).

    1. A suggestion recorded in edits.jsonl (same rule code and suggested text): its input span
       mapped to the cleaned text, or else its ``before`` text found once inside the sentence.
    2. Otherwise the text the reason's message quotes (“...”), found once inside the sentence
       (a longer quote that contains it, such as the words around it, settles which occurrence);
       for acronym-mismatch, the acronym in brackets when the suggestion is an acronym.
    """
    sug = reason.get("suggestion")
    code = reason.get("code")
    if not isinstance(sug, str) or not flag.located:
        return None
    doc, s0, text = flag.doc, flag.start, flag.text
    for e in doc.edits:
        if e.action != "suggest" or e.rec.get("rule") != code or e.after != sug or not e.before:
            continue
        span = view.to_cleaned(doc, _int(e.rec.get("start")), _int(e.rec.get("end")))
        if span and flag.start <= span[0] <= span[1] <= flag.end and doc.text is not None \
                and doc.text[span[0] : span[1]] == e.before:
            return Change(span[0], span[1], e.before, sug)
        hits = _word_spans(text, e.before)
        if len(hits) == 1:
            return Change(s0 + hits[0], s0 + hits[0] + len(e.before), e.before, sug)
    quotes = _quotes(reason)
    if not quotes:
        return None
    if code == "acronym-mismatch":
        found = _acronym_parts(text, quotes)
        if found is None:
            return None
        acr, k, phrase_at = found
        if re.fullmatch(r"[A-Z][A-Za-z]{1,9}", sug):
            return Change(s0 + k + 1, s0 + k + 1 + len(acr), acr, sug)
        if phrase_at is not None:
            i, phrase = phrase_at
            return Change(s0 + i, s0 + i + len(phrase), phrase, sug)
        return None
    span = _quoted_span(text, quotes)
    return Change(s0 + span[0], s0 + span[1], text[span[0] : span[1]], sug) if span else None


def _quotes(reason: dict[str, Any]) -> list[str]:
    message = reason.get("message") if isinstance(reason.get("message"), str) else ""
    return [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(message)]


def _acronym_parts(text: str, quotes: list[str]) -> tuple[str, int, tuple[int, str] | None] | None:
    """acronym-mismatch: the acronym in brackets, where its "(" is, and the phrase before it."""
    acr = next((q for q in quotes if re.fullmatch(r"[A-Za-z]{2,8}", q) and f"({q})" in text), None)
    if acr is None:
        return None
    k = text.rfind(f"({acr})")
    phrase = next((q for q in quotes if q != acr), None)
    i = text.rfind(phrase, 0, k) if phrase else -1
    return acr, k, ((i, phrase) if phrase and i >= 0 else None)


def _quoted_span(text: str, quotes: list[str]) -> tuple[int, int] | None:
    """The first quoted text, found once in the sentence (a longer quote around it settles which)."""
    target = quotes[0]
    for wider in quotes[1:]:
        inner = _word_spans(wider, target)
        outer = _word_spans(text, wider)
        if inner and len(outer) == 1:
            i = outer[0] + inner[0]
            return i, i + len(target)
    hits = _word_spans(text, target)
    return (hits[0], hits[0] + len(target)) if len(hits) == 1 else None


def locate_match(view: RunView, flag: FlagView, index: int) -> tuple[int, int] | None:
    """The span of the document that reason ``index`` of ``flag`` is about (with or without a
    suggestion): where its suggestion would go, else the text its message quotes."""
    if not flag.located or not 0 <= index < len(flag.reasons):
        return None
    change = flag.changes[index] if index < len(flag.changes) else None
    if change is not None:
        return change.start, change.end
    reason = flag.reasons[index]
    code = reason.get("code")
    for e in flag.doc.edits:  # a suggestion recorded for this rule in this sentence
        if e.action == "suggest" and e.rec.get("rule") == code and e.before:
            span = view.to_cleaned(flag.doc, _int(e.rec.get("start")), _int(e.rec.get("end")))
            if span and flag.start <= span[0] <= span[1] <= flag.end:
                return span
    quotes = _quotes(reason)
    if not quotes:
        return None
    if code == "acronym-mismatch":
        found = _acronym_parts(flag.text, quotes)
        if found is None:
            return None
        acr, k, phrase_at = found
        i = phrase_at[0] if phrase_at else k
        return flag.start + i, flag.start + k + len(acr) + 2
    span = _quoted_span(flag.text, quotes)
    return (flag.start + span[0], flag.start + span[1]) if span else None
