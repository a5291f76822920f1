"""The runner's results, one *record* per unit of work, kept in append-only logs.

A record is a unit's header (its file, input hash, run key, chunk, counts, timings, and the
byte lengths of the rest) as one JSON line, then its body: *sections* of bytes, one after the
other, which the writer gives and gets back as they are (the runner's: the unit's lines of
documents.jsonl, edits.jsonl, flags.jsonl, flags.csv and errors.jsonl, so that assembling the
run's outputs copies them without reading them). Each writing process appends its records to a log of its own,
``OUT/_normalize/parts/<run>.<writer>.log`` (``run``: a sequence number, one higher for every
run). So a run creates one file per worker, not one per input file: on the filesystems batch
runs write to, creating a file costs far more than appending to one (0.05-1 ms on this
project's test machine, several milliseconds on network filesystems).

A record is appended with one write and is only taken as written when all the bytes its header
announces are there: a process killed mid-write leaves a short tail that readers skip. The
newest complete record of a unit wins (later run, then later in the log). :meth:`PartLogs.compact`
drops the records nothing needs any more once a run has assembled its outputs.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import re
import secrets
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .io import atomic_write, umask, write_all, write_pieces

#: ``<run>.<writer>.log``: the run's sequence number, then a token unique to the writing process
_LOG_NAME = re.compile(r"^(\d{6,})\.([0-9a-z]+)\.log$")
#: the logs of several runs are folded into one when they hold more dead bytes than live ones
#: (records other records superseded), or when there are more than this many
MAX_LOGS = 16
#: bytes read at a time while indexing a log
_SCAN_BLOCK = 1 << 16
#: the marks of a row of the index: it has an identity; :meth:`PartLogs.keep` marked it
_HAS_STAT, _LIVE = 1, 2
#: what the index's 64-bit arrays hold
_INT64 = range(-(2**63), 2**63)
#: the marks with _LIVE cleared (bytes.translate)
_UNMARK_LIVE = bytes(m & ~_LIVE for m in range(256))
#: 1 for a row that stays when only the marked ones do, or when all do (bytes.translate)
_KEEP_MARKED, _KEEP_ALL = bytes(1 if m & _LIVE else 0 for m in range(256)), bytes([1]) * 256


@dataclass(slots=True)
class Record:
    """Where a unit's newest complete record is, and what the plan compares it with."""

    log: str
    run: int
    offset: int
    size: int  # bytes of the whole record, header line included
    sha256: str
    key: str
    chunks: int
    start: int
    #: what the input file looked like when it was hashed (:func:`identity_key` of its size,
    #: times and inode, and of the chunk size it was cut with when that mattered), or None: the
    #: plan trusts the hash of a file that still looks so
    stat: int | None = None
    #: where the unit ends (-1: at the end of its file) and the line it begins on, as its header
    #: gives them, or None (a record of an earlier version): the plan takes the chunks of a file
    #: it trusts from its records
    span: tuple[int, int] | None = None

    def current(self, sha256: str, key: str, chunks: int, start: int) -> bool:
        return (self.sha256, self.key, self.chunks, self.start) == (sha256, key, chunks, start)


def identity_key(identity: Sequence[int]) -> int:
    """A small key of a file's identity (size, mtime_ns, ctime_ns, inode, and for a file whose
    cutting into chunks depended on it, the chunk size): the index keeps this instead of the
    numbers (a 64-bit hash: two identities share one with odds of 2**-64)."""
    return hash(tuple(identity))


def encode(header: dict[str, Any], sections: Sequence[bytes | bytearray]) -> bytes:
    """A record: ``header`` (after the sections' total and byte lengths; the runner's begins with
    the fields the index needs, see :func:`head_fields`), then the ``sections``."""
    return b"".join(encode_pieces(header, sections))


def encode_pieces(header: dict[str, Any], sections: Sequence[bytes | bytearray]) -> list[bytes | bytearray]:
    """:func:`encode`'s record as its pieces (the header line, then the sections as they are),
    for :meth:`Appender.append` to write without joining them: a big unit's record is then
    held once, not twice."""
    sizes = [len(b) for b in sections]
    head = json.dumps(["h", {"bytes": sum(sizes), "sections": sizes, **header}], ensure_ascii=False)
    return [head.encode("utf-8", "backslashreplace") + b"\n", *sections]


#: the head of a header as :func:`encode` writes the runner's: the fields the index needs
_HEAD = re.compile(rb'\["h", \{"bytes": (\d+), "sections": \[[\d, ]*\], "file": "((?:[^"\\\n]|\\.)*)", '
                   rb'"sha256": "([^"\\\n]*)", "key": "([^"\\\n]*)", "chunk": (\d+), "chunks": (\d+), "start": (\d+)'
                   rb'(?:, "stat": (?:null|\[(-?\d+), (-?\d+), (-?\d+), (\d+)(?:, (\d+))?\]))?'
                   rb'(?:, "end": (-?\d+), "first_line": (-?\d+))?[,}]')


def head_fields(buf: Any, start: int, end: int) -> tuple[int, str, str, str, int, int, int, list[int] | None,
                                                          tuple[int, int] | None]:
    """(body bytes, file, sha256, key, chunk, chunks, start, stat, span) of the header line
    ``buf[start:end]`` (``stat``: the input's identity when it was hashed, or None; ``span``:
    the unit's end and first line, or None).
    Read off its head when it has the layout :func:`encode` gives (a third of the time of
    parsing the whole header, which a re-run does for every unit), else parsed as JSON.
    Raises ValueError, TypeError or KeyError for what is not a header."""
    m = _HEAD.match(buf, start, end)
    if m is not None:
        n, file, sha, key, chunk, chunks, first, size, mtime, ctime, ino, cut, stop, line = m.groups()
        name = json.loads(b'"' + file + b'"') if b"\\" in file else file.decode("utf-8")
        stat = None if size is None else [int(size), int(mtime), int(ctime), int(ino)]
        if cut is not None and stat is not None:
            stat.append(int(cut))
        span = None if stop is None else (int(stop), int(line))
        return int(n), name, sha.decode(), key.decode(), int(chunk), int(chunks), int(first), stat, span
    kind, h = json.loads(buf[start:end])
    if kind != "h" or not all(type(h[k]) is int for k in ("bytes", "chunk", "chunks", "start")) \
            or not all(type(h[k]) is str for k in ("file", "sha256", "key")):
        raise ValueError("not a record header")
    stat = h.get("stat")
    if stat is not None and not (isinstance(stat, list) and len(stat) in (4, 5) and all(type(x) is int for x in stat)):
        stat = None  # (not an identity this version wrote: the file is hashed)
    span = (h["end"], h["first_line"]) if type(h.get("end")) is int and type(h.get("first_line")) is int else None
    return h["bytes"], h["file"], h["sha256"], h["key"], h["chunk"], h["chunks"], h["start"], stat, span


def _zeroed(typecode: str, nbytes: int) -> array:
    """An array of ``nbytes`` bytes of zeros, made without a bytes object of them first."""
    itemsize = array(typecode).itemsize
    if nbytes % itemsize:
        raise ValueError("not a whole number of items")
    return array(typecode, bytes(itemsize)) * (nbytes // itemsize)


def _log_name(run: int) -> str:
    """The name of a new log of run ``run``."""
    return f"{run:06d}.{secrets.token_hex(6)}.log"


def _log_order(name: str) -> tuple[int, str]:
    """(run, writer) of a log's name: the order in which records supersede one another."""
    m = _LOG_NAME.match(name)
    assert m is not None, name
    return int(m[1]), m[2]


class PartLogs:
    """The records in a parts directory, indexed by unit ``(file, chunk)``: its newest complete
    record, as a :class:`Record` from :meth:`get`.

    The index is packed: a row of arrays a unit (log, offset, size, hash as 32 bytes, run key,
    chunks, start, identity, marks), found by the file's name (chunk 0) or by (file, chunk)
    (the other chunks of a big .jsonl), about 200 bytes of memory a unit, most of it the name and
    the dictionary's slot; a dict of :class:`Record` objects took 450 (a million files: 450 MB).
    Where a chunk ends and the line it begins on are kept in a dictionary of the rows that have
    them (chunks of big files, few), not in two more arrays (16 MB a million units)."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        #: every log's (size, mtime_ns, ctime_ns, inode) when it was indexed
        self.idents: dict[str, tuple[int, int, int, int]] = {}
        #: the index differs from the file it was restored from (logs were indexed since)
        self.dirty = True
        self.last_run = 0
        self._open: dict[str, BinaryIO] = {}  # the logs read from so far
        self._rows: dict[str, int] = {}  # file -> the row of its chunk 0 (a whole file's unit)
        self._chunk_rows: dict[tuple[str, int], int] = {}  # (file, chunk) -> row, for chunk > 0
        self._logs: list[str] = []  # the log of a row: its index here
        self._runs: list[int] = []  # the run of each of those logs
        self._keys: list[str] = []  # the run key of a row: its index here
        self._key_index: dict[str, int] = {}
        self._log = array("I")
        self._offset = array("q")
        self._size = array("q")
        self._sha = bytearray()  # 32 bytes a row
        self._odd_sha: dict[int, str] = {}  # rows whose hash is not 64 lowercase hex digits
        self._key = array("I")
        self._chunks = array("q")
        self._start = array("q")
        self._stat = array("q")  # identity_key(), where _marks has _HAS_STAT
        self._spans: dict[int, tuple[int, int]] = {}  # row -> (end, first line), of chunks only
        self._marks = bytearray()  # _HAS_STAT, _LIVE
        try:
            names = sorted((n for n in os.listdir(directory) if _LOG_NAME.match(n)), key=_log_order)
        except OSError:
            names = []
        for name in names:
            self._scan(name)

    # -- kept across the work phase ---------------------------------------------------------
    _ARRAYS = ("_log", "_offset", "_size", "_key", "_chunks", "_start", "_stat")
    _PLAIN = ("idents", "last_run", "_rows", "_logs", "_runs", "_keys", "_key_index", "_odd_sha", "_spans")
    _VERSION = 5  # of what save() writes

    @property
    def sizes(self) -> dict[str, int]:
        """Every log's size in bytes when it was indexed."""
        return {name: ident[0] for name, ident in self.idents.items()}

    def save(self, path: str) -> None:
        """Write the index to ``path``, atomically: its dictionaries and lists marshalled (only
        this version of normalize reads them back, :meth:`restore`), then the bytes of its
        arrays as they are in memory, written from there (a copy of them all would double the
        memory a million units take, about 100 MB, while it is written). The runner saves it
        before it forks its workers (they need not inherit it, and assembly need not index the
        logs again after them) and after assembling (so that the next run's plan need not
        index them either)."""
        state: dict[str, Any] = {name: getattr(self, name) for name in self._PLAIN}
        state["_chunk_rows"] = [[rel, chunk, row] for (rel, chunk), row in self._chunk_rows.items()]
        raw = {name: getattr(self, name) for name in (*self._ARRAYS, "_sha", "_marks")}
        state["raw"] = [(name, getattr(a, "typecode", "B"), memoryview(a).nbytes) for name, a in raw.items()]
        state["dir"], state["version"] = self.dir, self._VERSION
        atomic_write(Path(path), [marshal.dumps(state), *(memoryview(a).cast("B") for a in raw.values())])
        self.dirty = False

    @classmethod
    def restore(cls, directory: str, path: str, *, live: bool = True) -> PartLogs:
        """The index :meth:`save` wrote to ``path``, with the logs written since indexed too: the
        same index as ``PartLogs(directory)`` would build. The directory is indexed anew when
        the saved index is missing, unreadable or not of it, when a log it indexed is gone or
        is not the file it indexed (size, modification and change times, inode), or when a
        new log would not come after those (the order in which records supersede one another).
        ``live`` False: no record is marked live yet (see :meth:`keep`), as for a new plan."""
        try:
            with open(path, "rb") as fh:
                state = marshal.load(fh)
                if not isinstance(state, dict) or state.get("dir") != directory or state.get("version") != cls._VERSION:
                    return cls(directory)
                self = cls.__new__(cls)
                for name in cls._PLAIN:
                    setattr(self, name, state[name])
                self._chunk_rows = {(rel, chunk): row for rel, chunk, row in state["_chunk_rows"]}
                if [name for name, _, _ in state["raw"]] != [*cls._ARRAYS, "_sha", "_marks"]:
                    raise ValueError("not the arrays of an index")
                for name, code, nbytes in state["raw"]:  # read into their arrays, not through a copy
                    got = bytearray(nbytes) if name in ("_sha", "_marks") else _zeroed(code, nbytes)
                    if fh.readinto(memoryview(got).cast("B")) != nbytes:
                        raise ValueError("a torn index")
                    setattr(self, name, got)
                if fh.read(1):
                    raise ValueError("more than an index")
            rows = len(self._marks)
            if any(len(getattr(self, name)) != rows for name in cls._ARRAYS) or len(self._sha) != 32 * rows:
                return cls(directory)
            self.dir, self._open, self.dirty = directory, {}, False
            names = [n for n in os.listdir(directory) if _LOG_NAME.match(n)]
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            return cls(directory)
        for name, ident in self.idents.items():
            try:
                st = os.stat(os.path.join(directory, name))
            except OSError:
                return cls(directory)
            if (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) != tuple(ident):
                return cls(directory)
        if not live:
            self._marks = bytearray(self._marks.translate(_UNMARK_LIVE))
        new = sorted((n for n in names if n not in self.idents), key=_log_order)
        if new and self.idents and _log_order(new[0]) < max(map(_log_order, self.idents)):
            return cls(directory)
        for name in new:
            self._scan(name)
        return self

    def _put(self, log: int, file: str, chunk: int, offset: int, size: int, sha: str, key: str, chunks: int,
             start: int, stat: int | None, span: tuple[int, int] | None = None) -> None:
        """Index a record (a later one of the same unit takes its row)."""
        k = self._key_index.get(key)
        if k is None:
            k = self._key_index[key] = len(self._keys)
            self._keys.append(key)
        packed = None
        if len(sha) == 64:
            with contextlib.suppress(ValueError):
                packed = bytes.fromhex(sha)
            if packed is not None and packed.hex() != sha:  # (upper case, spaces: kept as they are)
                packed = None
        ident, marks = (0, 0) if stat is None else (stat, _HAS_STAT)
        row = self._row(file, chunk)
        if row is None:  # a new unit: a row appended
            row = len(self._log)
            self._log.append(log)
            self._offset.append(offset)
            self._size.append(size)
            self._key.append(k)
            self._chunks.append(chunks)
            self._start.append(start)
            self._stat.append(ident)
            self._marks.append(marks)
            self._sha += packed or bytes(32)
            if chunk == 0:
                self._rows[file] = row
            else:
                self._chunk_rows[(file, chunk)] = row
        else:
            self._log[row], self._offset[row], self._size[row], self._key[row] = log, offset, size, k
            self._chunks[row], self._start[row], self._stat[row], self._marks[row] = chunks, start, ident, marks
            self._sha[32 * row : 32 * row + 32] = packed or bytes(32)
        if span is not None:
            self._spans[row] = span
        elif self._spans:
            self._spans.pop(row, None)
        if packed is None:
            self._odd_sha[row] = sha
        elif self._odd_sha:
            self._odd_sha.pop(row, None)

    def _row(self, rel: str, chunk: int) -> int | None:
        return self._rows.get(rel) if chunk == 0 else self._chunk_rows.get((rel, chunk))

    def _record(self, row: int) -> Record:
        at = self._log[row]
        log = self._logs[at]
        sha = self._odd_sha.get(row)
        if sha is None:
            sha = self._sha[32 * row : 32 * row + 32].hex()
        return Record(log, self._runs[at], self._offset[row], self._size[row], sha, self._keys[self._key[row]],
                      self._chunks[row], self._start[row], self._stat[row] if self._marks[row] & _HAS_STAT else None,
                      self._spans.get(row) if self._spans else None)

    def _scan(self, name: str) -> None:
        run = _log_order(name)[0]
        self.last_run = max(self.last_run, run)
        try:
            fh = open(os.path.join(self.dir, name), "rb")  # noqa: SIM115
        except OSError:
            return
        with fh:
            st = os.fstat(fh.fileno())
            size = st.st_size
            self.idents[name] = (size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            self.dirty = True
            if not size:
                return
            log = len(self._logs)
            self._logs.append(name)
            self._runs.append(run)
            # read a block at a time, from each header to the next: the bodies in between are
            # skipped (a log mapped into memory counted in the process's resident size)
            fd, buf, base, offset = fh.fileno(), b"", 0, 0
            while offset < size:
                at = offset - base
                nl = buf.find(b"\n", at)
                if nl < 0:
                    buf, base, at = os.pread(fd, _SCAN_BLOCK, offset), offset, 0
                    nl = buf.find(b"\n")
                    while nl < 0 and base + len(buf) < size:  # a header longer than a block
                        more = os.pread(fd, _SCAN_BLOCK, base + len(buf))
                        if not more:
                            break
                        buf += more
                        nl = buf.find(b"\n", len(buf) - len(more))
                    if nl < 0:
                        return  # a torn tail (a writer killed mid-write): nothing after it
                try:
                    n, file, sha, key, chunk, chunks, start, ident, span = head_fields(buf, at, nl + 1)
                except (ValueError, TypeError, KeyError):
                    return
                end = base + nl + 1 + n
                if n < 0 or end > size or start not in _INT64 or chunks not in _INT64:
                    return  # (what the index's 64-bit arrays cannot hold is not a record either)
                if span is not None and not (span[0] in _INT64 and span[1] in _INT64):
                    span = None
                self._put(log, file, chunk, offset, end - offset, sha, key, chunks, start,
                          None if ident is None else identity_key(ident), span)
                offset = end

    @property
    def next_run(self) -> int:
        """The sequence number of the next run's logs."""
        return self.last_run + 1

    def get(self, rel: str, chunk: int) -> Record | None:
        row = self._row(rel, chunk)
        return None if row is None else self._record(row)

    def __len__(self) -> int:
        return len(self._log)

    def units(self) -> Iterator[tuple[str, int]]:
        """Every unit that has a record."""
        return (unit for unit, _ in self._all_rows())

    def _all_rows(self) -> Iterator[tuple[tuple[str, int], int]]:
        yield from (((rel, 0), row) for rel, row in self._rows.items())
        yield from self._chunk_rows.items()

    def keep(self, rel: str, chunk: int) -> None:
        """Mark the record of a unit of this run's plan (if there is one) live: the records
        left unmarked are those of inputs that are gone (see :meth:`compact`)."""
        row = self._row(rel, chunk)
        if row is not None:
            self._marks[row] |= _LIVE

    def vouch(self, rel: str, chunk: int, stat: int, span: tuple[int, int] | None = None) -> None:
        """Give the record of a unit the identity key ``stat`` (and ``span``, for a chunk) in
        the index alone, not in its log: the plan read the unit's file with that identity and
        found the hash the record has, so the next plan can trust it as if the record said so.
        (The index is a cache: rebuilt from the logs, it forgets this, and the file is hashed
        once more.)"""
        row = self._row(rel, chunk)
        if row is None or (self._marks[row] & _HAS_STAT and self._stat[row] == stat
                           and (span is None or self._spans.get(row) == span)):
            return  # (nothing new: the index is not written again for it)
        self._stat[row] = stat
        self._marks[row] |= _HAS_STAT
        if span is not None:
            self._spans[row] = span
        self.dirty = True

    def gone(self) -> Iterator[tuple[str, int]]:
        """The units whose records :meth:`keep` did not mark."""
        marks = self._marks
        return (u for u, row in self._all_rows() if not marks[row] & _LIVE)

    def raw(self, rec: Record) -> bytes:
        """A record's bytes, header line included."""
        fh = self._file(rec.log)
        fh.seek(rec.offset)
        return fh.read(rec.size)

    def spans(self, rec: Record) -> tuple[dict[str, Any], list[tuple[int, int]]]:
        """A record's header, and where each of its sections is in its log: (offset, bytes),
        for :meth:`blocks` (a big record is then never held whole)."""
        fh = self._file(rec.log)
        fh.seek(rec.offset)
        head = fh.readline()
        header = json.loads(head)[1]
        spans, at = [], rec.offset + len(head)
        for n in header["sections"]:
            spans.append((at, n))
            at += n
        return header, spans

    def blocks(self, rec: Record, offset: int, size: int) -> Iterator[bytes]:
        """The ``size`` bytes at ``offset`` in a record's log, a block of at most 1 MiB at a time."""
        fh = self._file(rec.log)
        fh.seek(offset)
        while size > 0:
            block = fh.read(min(size, 1 << 20))
            if not block:
                raise ValueError(f"{rec.log}: a record ends before its sections do")
            size -= len(block)
            yield block

    def _file(self, log: str) -> BinaryIO:
        fh = self._open.get(log)
        if fh is None:
            fh = self._open[log] = open(os.path.join(self.dir, log), "rb")  # noqa: SIM115
        return fh

    def read(self, rec: Record) -> tuple[dict[str, Any], list[memoryview]]:
        """A record's header and its body's sections, as they were given to :func:`encode`: views
        of the record read once (a big unit's record is held once, not copied twice more)."""
        raw = self.raw(rec)
        nl = raw.index(b"\n")
        header = json.loads(raw[:nl])[1]
        view, sections, at = memoryview(raw), [], nl + 1
        for n in header["sections"]:
            sections.append(view[at : at + n])
            at += n
        return header, sections

    def close(self) -> None:
        """Close the logs :meth:`read` opened."""
        for fh in self._open.values():
            fh.close()
        self._open.clear()

    def compact(self, *, prune: bool = False) -> bool:
        """Drop what no unit needs: logs without a live record are removed, and the live
        records are copied into one new log when dead bytes outweigh them or the logs are too
        many. ``prune``: only the records :meth:`keep` marked stay (default: all of them, but
        the later chunks' of units no plan has any more, whose pieces the runner removes).
        True when the index no longer describes the logs: the records were copied, or records
        it holds were dropped (``prune``). It still does when logs were only removed: none of
        its rows is in them."""
        marks, logs, sizes = self._marks, self._logs, self._size
        # the rows that stay: all of them, or (prune) the marked ones; never a later chunk of
        # no unit of the plan (a file now cut into fewer chunks, or gone: only its first
        # chunk's record is kept to report it)
        keep = marks.translate(_KEEP_MARKED if prune else _KEEP_ALL)
        stale_chunks = [row for row in self._chunk_rows.values() if not marks[row] & _LIVE]
        for row in stale_chunks:
            keep[row] = 0
        live = [row for row in range(len(self._log)) if keep[row]]
        log_sizes = self.sizes
        live_bytes: dict[str, int] = dict.fromkeys(log_sizes, 0)
        for row in live:
            live_bytes[logs[self._log[row]]] += sizes[row]
        used = [n for n in log_sizes if live_bytes[n]]
        dead = sum(log_sizes[n] - live_bytes[n] for n in used)
        dropped = (prune or bool(stale_chunks)) and any(not keep[row] and live_bytes[logs[self._log[row]]]
                                                        for row in range(len(self._log)))
        rewritten = dropped or dead > sum(live_bytes.values()) or len(used) > MAX_LOGS
        orphaned = 0 in keep  # rows of records about to go
        if rewritten:
            order = [_log_order(n) for n in logs]
            live.sort(key=lambda row: (order[self._log[row]], self._offset[row]))
            try:  # (copied a record at a time: the logs can hold gigabytes)
                atomic_write(Path(self.dir, _log_name(self.next_run)), (self.raw(self._record(row)) for row in live))
            finally:
                self.close()
            used = []
        for name in [n for n in log_sizes if n not in used]:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.dir, name))
            del self.idents[name]  # (rows point at logs by position: _logs keeps it)
            self.dirty = True
        return rewritten or orphaned


class Appender:
    """A process's log of one run: each record appended at its end (one ``writev`` of its
    pieces where the system has it), the file closed after it (so that another machine sharing
    the directory sees the record once the task is done). A record cut short (the process
    killed while it wrote) is not taken: its header tells how long it should be."""

    def __init__(self, directory: str, run: int) -> None:
        self.directory = directory
        self.path = os.path.join(directory, _log_name(run))
        self.lock = threading.Lock()  # (a Dask worker may run tasks in threads)
        os.makedirs(directory, exist_ok=True)

    def append(self, record: bytes | Sequence[bytes | bytearray] | Iterator[bytes | bytearray]) -> None:
        """Append a record: :func:`encode`'s bytes, :func:`encode_pieces`' pieces (one
        ``writev``), or its bytes in blocks as they are read (a write each)."""
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666 & ~umask())
            try:
                end = os.fstat(fd).st_size
                try:
                    if isinstance(record, (bytes, list, tuple)):
                        write_pieces(fd, [record] if isinstance(record, bytes) else record)
                    else:
                        for block in record:
                            write_all(fd, block)
                except BaseException:  # (a full disk, say) no part of it may precede the next record
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, end)
                    raise
            finally:
                os.close(fd)
