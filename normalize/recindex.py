"""Where each output file's records are in documents.jsonl, edits.jsonl and flags.jsonl.

A run assembles those three files a unit at a time, so the records of one output file are one
stretch of bytes in each. ``OUT/_normalize/.by-file.tsv`` says where: one line per stretch,

    "<file, as a JSON string>" TAB docs start TAB docs end TAB edits start TAB edits end TAB flags start TAB flags end

and a last line, a JSON object, with the sizes of the three files as the run left them, the
number of flags, and the digest of the plan they were assembled from. The review app and
``normalize apply``, which hold a few files of a run that may have millions, read those
stretches instead of parsing every record (:class:`normalize.review.run.RunView`); a report
made again later takes the run's flag counts from summary.json while the index holds
(:func:`normalize.report.counted_by_the_run`).

The index is a cache of what the record files say, never the only copy of anything:
:meth:`RecordIndex.load` gives ``None`` unless OUT/_normalize/.assembled (which a run removes
before it changes its outputs and writes when they are complete) names the plan the index was
made for, documents.jsonl and flags.jsonl have the sizes the index gives and edits.jsonl is no
shorter (``apply`` only adds its records after the run's own); readers then parse the files
whole. Nothing in it depends on the clock: the same run writes the same index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, BinaryIO

INDEX_FILE = ".by-file.tsv"
#: the file in OUT/_normalize that holds the digest of the plan the outputs were assembled from
ASSEMBLED = ".assembled"
#: the record files the index covers, in the order of their columns
INDEXED = ("documents.jsonl", "edits.jsonl", "flags.jsonl")
VERSION = 1
#: bytes at the end of the index read to find its trailer (one JSON line of a few hundred bytes)
_TAIL = 4096

Ranges = tuple[int, int, int, int, int, int]


def _key(rel: str) -> str:
    return json.dumps(rel, ensure_ascii=False)


class IndexWriter:
    """Builds the index while the run writes the record files (new files, in the order of
    :data:`INDEXED`): call :meth:`start` before a file's first unit is written, :meth:`wrote`
    with the bytes each unit adds to each record file, :meth:`end` after the file's last unit,
    and :meth:`finish` once every file is written. (It counts the bytes itself: asking the
    files where they are costs a system call each time.)"""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.at = [0] * len(INDEXED)
        self._open: tuple[str, list[int]] | None = None
        self.flags = 0

    def start(self, rel: str) -> None:
        self._open = (rel, list(self.at))

    def wrote(self, sizes: Sequence[int]) -> None:
        """A unit added ``sizes`` bytes to the record files."""
        at = self.at
        for i, n in enumerate(sizes):
            at[i] += n

    def end(self, flags: int) -> None:
        """The file begun by :meth:`start` is written; it has ``flags`` flags."""
        if self._open is None:
            return
        rel, starts = self._open
        self._open = None
        self.flags += flags
        d, e, f = self.at
        line = f"{_key(rel)}\t{starts[0]}\t{d}\t{starts[1]}\t{e}\t{starts[2]}\t{f}\n"
        self.out.write(line.encode("utf-8", "backslashreplace"))

    def finish(self, assembled: str) -> None:
        """The trailer: the sizes of the record files, the count of flags, and ``assembled``,
        the digest of the plan they are assembled from."""
        trailer = {"version": VERSION, "assembled": assembled, "sizes": dict(zip(INDEXED, self.at, strict=True)),
                   "flags": self.flags}
        self.out.write((json.dumps(trailer, sort_keys=True) + "\n").encode("utf-8"))


class RecordIndex:
    """A run's index, read back (see the module's description)."""

    def __init__(self, ranges: dict[str, list[Ranges]], flags: int) -> None:
        #: output file -> its stretches, in the order of the record files
        self.ranges = ranges
        #: the flags of the whole run
        self.flags = flags

    @classmethod
    def load(cls, meta: Path, files: Collection[str] | None = None) -> RecordIndex | None:
        """The index of the run in ``meta`` (only its lines of ``files`` when given), or None
        when there is none or it does not describe the record files there now. The file is
        read a line at a time (a million files' index is tens of MB)."""
        try:
            with open(meta / INDEX_FILE, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                fh.seek(max(0, size - _TAIL))
                tail = fh.read()
                if not tail.endswith(b"\n"):
                    return None
                last = tail[: -1].rsplit(b"\n", 1)[-1]
                trailer = json.loads(last)
                if not (isinstance(trailer, dict) and trailer.get("version") == VERSION and _current(meta, trailer)):
                    return None
                wanted = None if files is None else {_key(rel).encode("utf-8", "backslashreplace") for rel in files}
                if wanted is not None and not wanted:  # (asked only whether it holds)
                    return cls({}, int(trailer["flags"]))
                body_end = size - len(last) - 1
                ranges: dict[str, list[Ranges]] = {}
                fh.seek(0)
                read = 0
                for line in fh:
                    read += len(line)
                    if read > body_end:
                        break
                    key, _, rest = line.partition(b"\t")
                    if wanted is not None and key not in wanted:
                        continue
                    cols = tuple(int(x) for x in rest.split(b"\t"))
                    if len(cols) != 6:
                        return None
                    ranges.setdefault(json.loads(key), []).append(cols)  # type: ignore[arg-type]
            return cls(ranges, int(trailer["flags"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _current(meta: Path, trailer: dict[str, Any]) -> bool:
    try:
        if (meta / ASSEMBLED).read_text(encoding="ascii") != trailer["assembled"]:
            return False
    except (OSError, UnicodeDecodeError):
        return False
    sizes = trailer["sizes"]
    for name in INDEXED:
        try:
            size = os.stat(meta / name).st_size
        except OSError:
            return False
        # apply keeps the run's lines of edits.jsonl as they are and adds its own after them
        if size < sizes[name] if name == "edits.jsonl" else size != sizes[name]:
            return False
    return True


def read_stretches(path: Path, stretches: list[tuple[int, int]]) -> list[list[bytes]]:
    """The non-blank lines of ``path`` in each ``(start, end)`` stretch, without their line
    breaks, a list for each stretch. ValueError when a stretch does not start and end at a
    line's edge."""
    out: list[list[bytes]] = []
    if not stretches:
        return out
    with open(path, "rb") as fh:
        for start, end in stretches:
            if end <= start:
                out.append([])
                continue
            fh.seek(start - 1 if start else 0)
            data = fh.read(end - start + (1 if start else 0))
            if start:
                if data[:1] != b"\n":
                    raise ValueError(f"{path}: the index does not match it at byte {start}")
                data = data[1:]
            if len(data) != end - start or not data.endswith(b"\n"):
                raise ValueError(f"{path}: the index does not match it at byte {end}")
            out.append([line for line in data.split(b"\n")[:-1] if line.strip()])
    return out


__all__ = ["ASSEMBLED", "INDEXED", "INDEX_FILE", "IndexWriter", "RecordIndex", "read_stretches"]
