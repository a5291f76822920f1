"""Batch runs: mirror IN to OUT, clean every document, write the audit trail and summary.

A run has three steps:

1. **Plan** (main process): walk IN in a fixed order; for every input file compute its content
   hash and decide whether its previous result can be reused: it can when a *record* of it
   in the part logs of OUT/_normalize/parts/ (:mod:`normalize.partlog`) has the same input
   hash and the same *run key* (tool version, rules version and configuration) and its output
   is still there. A plain .jsonl
   file larger than ``chunk_bytes`` is split into chunks at line boundaries, so one big file
   is not one task. The plan is spooled to a file, so memory stays flat however big IN is.
2. **Work** (an engine: ``local`` worker processes, or ``dask`` on a cluster): each unit of
   work cleans its documents, writes its cleaned output atomically, then appends its record
   (the documents' rows, edits, flags and errors) to its process's log. A unit with a whole
   record is done; a run killed at any moment leaves only whole files behind (and at most a
   torn last record, which is never read), and the next run redoes exactly the units without
   a record.
3. **Assemble** (main process): concatenate the records in plan order into edits.jsonl,
   flags.jsonl, flags.csv, documents.jsonl, errors.jsonl and manifest.jsonl, join the chunks
   of split files, write summary.json and report.html. Every byte of these depends only on
   the inputs, the rules, the configuration and the version: a resumed run, a re-run and a run
   on another engine or with another number of workers give the same files (summary.json's
   timings and reuse counts aside).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import hashlib
import io
import itertools
import json
import marshal
import math
import operator
import os
import re
import shutil
import stat
import sys
import threading
import time
import traceback
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import __version__
from .io import (
    InputError,
    atomic_file,
    atomic_write,
    decode_bytes,
    dumps_record,
    input_kind,
    parse_jsonl_line,
    read_up_to,
    umask,
)
from .model import Flag
from .partlog import Appender, PartLogs, Record, encode_pieces, identity_key
from .recindex import ASSEMBLED, INDEX_FILE, INDEXED, IndexWriter
from .rules import RulesError, RuleSet, RuleTimeout
from .sources import SourceError, UrlInputs, is_url

if TYPE_CHECKING:  # imported when a worker starts cleaning (a re-run may need neither)
    from concurrent.futures import Future

    from .pipeline import Normalizer

META_DIR = "_normalize"
PARTS_DIR = "parts"
#: the index of the part logs, kept from one run to the next (see PartLogs.save): the plan
#: reads it instead of indexing every log again when the logs are the files it indexed
PARTS_INDEX = ".parts-index"
#: its name before it was kept between runs (a leftover the sweep removes)
_OLD_PARTS_INDEX = ".parts-index.tmp"
#: plain .jsonl files larger than this are split into chunks of about this size
CHUNK_BYTES = 8 * 1024 * 1024
#: a document (a .txt file, or one line of a .jsonl) larger than this many bytes is not cleaned:
#: it fails with a "too-large" line in errors.jsonl. Cleaning takes about 5-10 s per MB, and
#: no article is this long; a file this big is a dump or a mistake (see README, "Bad input").
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
_HASH_BLOCK = 1 << 20


class UsageError(Exception):
    """A problem with the command line or configuration: nothing is written (exit 2)."""


@dataclass
class RunOptions:
    #: the rules; a :meth:`RuleSet.shell` is loaded (with ``load_rules``) only if a unit needs work
    rules: RuleSet
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    jobs: int = 0
    text_field: str = "text"
    quiet: bool = False
    threshold: float | None = None
    flagger: bool = True
    force: bool = False
    prune: bool = False
    #: hash every input, even one that looks as it did when its record was written
    checksum: bool = False
    engine: str = "local"
    scheduler: str | None = None
    chunk_bytes: int = CHUNK_BYTES
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    #: loads a rules directory (default :meth:`RuleSet.load`, and :class:`RulesError` on errors)
    load_rules: Callable[[Path], RuleSet] | None = None

    def loaded_rules(self) -> RuleSet:
        """The rules, loaded and validated now if they were a shell."""
        if not self.rules.loaded:
            rules = (self.load_rules or RuleSet.load)(self.rules.root)
            if rules.errors:
                raise RulesError(rules.errors)
            if rules.version != self.rules.version:
                raise RuntimeError(f"the rules in {rules.root} changed during the run")
            self.rules = rules
        return self.rules

    def config(self) -> dict[str, Any]:
        """What changes the output (and so the run key); not how the run is executed."""
        cfg: dict[str, Any] = {"only": self.only, "skip": self.skip, "text_field": self.text_field,
                               "threshold": self.threshold, "flagger": self.flagger}
        if self.max_document_bytes != MAX_DOCUMENT_BYTES:
            cfg["max_document_bytes"] = self.max_document_bytes
        return cfg


@dataclass
class RunResult:
    summary: dict[str, Any]
    exit_code: int


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One task: a whole input file, or one chunk (a byte range of whole lines) of a big .jsonl.

    ``problem`` set means the file is not read (e.g. a link out of IN) and is reported: as a
    failed document, or as a warning when ``warning`` is true (a link to a directory inside IN,
    whose files are read at their own place).
    ``size`` and ``mtime_ns`` are the file's when it was hashed: a worker that finds them
    changed knows the file changed since (see :func:`work`). ``sha256`` is empty for a file
    the plan did not hash (there was nothing to compare it with): the worker hashes what it reads.
    ``identity`` is the :func:`identity` the plan saw as it hashed a file done in chunks (whose
    workers each read a part of it), and ``cut`` the chunk size its cutting depended on (0 when
    it did not): the records keep both, so that the next plan need not read the file again.
    """

    rel: str
    sha256: str = ""
    chunk: int = 0
    chunks: int = 1
    start: int = 0
    end: int | None = None
    first_line: int = 1
    problem: str | None = None
    warning: bool = False
    reuse: bool = False
    size: int = -1
    mtime_ns: int = 0
    identity: list[int] | None = None
    cut: int = 0

    @property
    def part_name(self) -> str:
        digest = hashlib.sha1(self.rel.encode("utf-8", "surrogateescape")).hexdigest()
        return f"{digest[:2]}/{digest}.{self.chunk}.part"


#: a unit's fields, in order (how the plan's spool holds it)
_unit_fields = operator.attrgetter(*(f.name for f in fields(Unit)))
#: what of a unit its outputs depend on (the plan digest's line of it)
_plan_fields = operator.attrgetter("rel", "sha256", "chunk", "chunks", "start", "end", "first_line", "problem",
                                   "warning")


#: where a run's inputs are: a directory, or a URL read through fsspec (normalize.sources)
Inputs = Path | UrlInputs


def inputs_of(where: str | Path) -> Inputs:
    """IN as the runner reads it: a URL (``protocol://...``) through fsspec, else a directory."""
    if isinstance(where, str) and is_url(where):
        try:
            return UrlInputs(where)
        except SourceError as exc:
            raise UsageError(str(exc)) from exc
    return Path(where)


def check_paths(in_dir: Inputs, out_dir: Path) -> None:
    if isinstance(in_dir, UrlInputs):
        if not in_dir.is_dir():
            raise UsageError(f"input {in_dir.url!r} is not a folder that can be listed")
        local = in_dir.local_root
    elif not in_dir.is_dir():
        if in_dir.exists():
            raise UsageError(f"input {str(in_dir)!r} is not a directory: IN is the folder that holds the files "
                             "(for one document, normalize fix FILE)")
        raise UsageError(f"input directory {str(in_dir)!r} does not exist")
    else:
        local = str(in_dir)
    rout = out_dir.resolve()
    rin = Path(local).resolve() if local is not None else None
    if rin is not None and (rout == rin or rin in rout.parents):
        raise UsageError("OUT may not be IN or inside it: the input is never modified")
    if rin is not None and rout in rin.parents:
        raise UsageError("IN may not be inside OUT: outputs could overwrite inputs")
    if (out_dir / META_DIR).is_symlink():
        raise UsageError(f"{out_dir / META_DIR} is a symbolic link: the run writes only inside OUT")


def printable_rel(rel: str) -> str:
    """A relative path as it is recorded: bytes that are not UTF-8 (kept by Python as lone
    surrogates) are shown as ``\\xNN``."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def discover(in_dir: Path) -> Iterator[tuple[str, str | None, bool]]:
    """Yield (relative path, problem, warning) for every input file, in a fixed order.

    Symbolic links are never followed out of IN, and a link to a directory is never followed
    at all (so a link loop cannot trap the walk); each is reported, a link to a directory inside
    IN as a warning only (``warning`` true: its files are read at their own place). Also
    reported, not read: a name that is not valid UTF-8, an input name that is not a regular
    file (a FIFO would block the run), a directory that cannot be listed. Directories named ``_normalize`` (the
    audit trail of an earlier run) are not read.
    """
    root = in_dir.resolve()
    # (walked with os.scandir, whose entries say which are regular files without a system call
    # per file; directories depth first in name order, as os.walk visits them)
    todo = [(str(in_dir), "")]
    while todo:
        dirpath, prefix = todo.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:  # not listed: say so, do not skip it silently
            yield printable_rel(prefix[:-1] or ".") + "/", f"cannot list directory: {exc.strerror or exc}", False
            continue
        subdirs, names = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                names.append((entry, False))
            elif entry.is_symlink():  # a link to a directory: reported, never followed
                names.append((entry, True))
            elif entry.name != META_DIR:
                subdirs.append(entry.name)
        todo.extend((os.path.join(dirpath, d), f"{prefix}{d}/") for d in reversed(subdirs))
        # (paths as strings from here: pathlib's parsing cost more than the rest of a file's
        # planning, hashing included)
        for entry, dir_link in names:
            name, full = entry.name, entry.path
            rel = prefix + name
            if dir_link:
                problem, inside = _link_check(Path(full), root, directory=True)
                yield printable_rel(rel) + "/", problem, inside
                continue
            if input_kind(name) is None:
                continue
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                yield printable_rel(rel), "file name is not valid UTF-8; not read (rename the file)", False
                continue
            try:
                if entry.is_symlink():
                    problem = _link_problem(Path(full), root, directory=False)
                    if problem:
                        yield rel, problem, False
                        continue
                    regular = stat.S_ISREG(os.stat(full).st_mode)
                else:
                    regular = entry.is_file(follow_symlinks=False)
            except OSError as exc:
                yield rel, f"cannot read: {exc.strerror or exc}", False
                continue
            if not regular:
                yield rel, "not a regular file (a FIFO, socket or device); not read", False
                continue
            yield rel, None, False


def other_files(in_dir: Inputs, at_most: int = 100_000) -> Counter[str]:
    """The files under a local IN that are not inputs, counted by suffix (``""`` for none;
    ``_normalize`` folders and links to directories not entered, as :func:`discover`), over at
    most ``at_most`` files: what the CLI names when a run finds no input at all."""
    found: Counter[str] = Counter()
    if isinstance(in_dir, UrlInputs):
        return found
    seen = 0
    for _dirpath, dirnames, filenames in os.walk(in_dir):
        dirnames[:] = sorted(d for d in dirnames if d != META_DIR)
        for name in filenames:
            if input_kind(name) is None:
                found[os.path.splitext(name)[1]] += 1
            seen += 1
            if seen >= at_most:
                return found
    return found


def _link_problem(path: Path, root: Path, *, directory: bool) -> str | None:
    return _link_check(path, root, directory=directory)[0]


def _link_check(path: Path, root: Path, *, directory: bool) -> tuple[str | None, bool]:
    """Why the symbolic link ``path`` is not followed (None: it is), and whether it points inside
    IN (``root``), where whatever it points to is read anyway."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symbolic link is broken or loops; not followed", False
    if target != root and root not in target.parents:
        return "symbolic link points outside the input directory; not followed", False
    if directory:
        if target == root or target in path.parents:
            return "symbolic link to a directory that contains it (a loop); not followed", True
        return ("symbolic link to a directory; not followed (the files it points to are read "
                f"under {target.relative_to(root).as_posix()}/)"), True
    return None, True


#: the layout of a unit's record (:class:`_Part`); records of another layout are redone
RECORD_FORMAT = 2


def run_key(options: RunOptions, threshold: float | None) -> str:
    """What a part's result depends on besides its input: version, record layout, rules,
    configuration."""
    data = {"tool": __version__, "record": RECORD_FORMAT, "rules": options.rules.version,
            "config": {**options.config(), "threshold": threshold}}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


#: flags to open a file for reading in binary (without blocking: a FIFO put in place of a file)
_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_READ_NONBLOCK = _READ | getattr(os, "O_NONBLOCK", 0)


def _open_regular(path: Path | str, flags: int = 0) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` opened for reading without blocking (so a FIFO put in place of a
    file cannot hang the run), and its status; what is not a regular file is refused."""
    fd = os.open(path, _READ_NONBLOCK | flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, socket or device); not read")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


class _Input:
    """A local input opened for reading: its descriptor, its status when it was opened, and
    ``read`` with plain system calls (a small file is one ``read``; no buffered file object is
    made for it). ``file()`` gives a buffered reader on the same descriptor for reading lines.
    Reading a regular file is not changed by O_NONBLOCK (which keeps a FIFO from hanging the
    open), so the descriptor is read as it is opened."""

    __slots__ = ("_file", "fd", "st")

    def __init__(self, fd: int, st: os.stat_result) -> None:
        self.fd, self.st, self._file = fd, st, None

    def __enter__(self) -> _Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd < 0:
            return
        if self._file is not None:
            self._file.close()
        fd, self.fd = self.fd, -1
        os.close(fd)

    def fileno(self) -> int:
        return self.fd

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes, fewer only at the end of the file."""
        return read_up_to(self.fd, n)

    def file(self) -> io.BufferedReader:
        """A buffered reader of the descriptor (closed with this input, the descriptor after it)."""
        if self._file is None:
            self._file = io.BufferedReader(io.FileIO(self.fd, "rb", closefd=False))
        return self._file


def open_input(path: Path | str, flags: int = 0) -> _Input:
    """Open an input file for reading in binary, refusing what is not a regular file (``flags``:
    more ``os.open`` flags)."""
    return _Input(*_open_regular(path, flags))


def file_sha256(path: Path) -> str:
    return file_state(path)[0]


def file_state(path: Path | str) -> tuple[str, int, int, list[int] | None]:
    """(sha256, size, mtime_ns, identity) of a file, the size and time taken as it is opened (a
    worker that finds them changed knows the file changed since); the :func:`identity` it had
    as it was read, if it stood still meanwhile, else None.

    Read with plain system calls (the planner hashes every input of every run: a buffered file
    object per file cost more than the hashing of a news article)."""
    h = hashlib.sha256()
    read_at = time.time_ns()
    fd, st = _open_regular(path)
    try:
        while True:
            block = os.read(fd, _HASH_BLOCK)
            h.update(block)
            if len(block) < _HASH_BLOCK:  # (a regular file reads short only at its end)
                break
        after = os.fstat(fd)
    finally:
        os.close(fd)
    return h.hexdigest(), st.st_size, st.st_mtime_ns, _steady_identity(st, after, read_at)


def _steady_identity(before: os.stat_result, after: os.stat_result, read_at_ns: int) -> list[int] | None:
    """The :func:`identity` of a file read from ``read_at_ns`` on, if its size and times did
    not change while it was read (``before``, ``after``), else None."""
    return None if _moved(before, after) else identity(before, read_at_ns)


def _moved(before: os.stat_result, after: os.stat_result) -> bool:
    """Whether a file's size or times differ between two of its statuses."""
    return (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (before.st_size, before.st_mtime_ns, before.st_ctime_ns)


def _chunk_bounds(path: Path | str, chunk_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first line) of chunks of whole lines, each about ``chunk_bytes`` long."""
    with open(path, "rb") as fh:
        return chunk_bounds_of(fh, chunk_bytes)


def chunk_bounds_of(fh: Any, chunk_bytes: int) -> list[tuple[int, int, int]]:
    """:func:`_chunk_bounds` of a file open for reading in binary, read from where it is."""
    bounds = []
    start, line, pos = 0, 1, 0
    lines_in_chunk = 0
    while block := fh.read(_HASH_BLOCK):
        at = 0
        while True:
            cut = start + chunk_bytes
            if cut >= pos + len(block):
                lines_in_chunk += block.count(b"\n", at)
                break
            nl = block.find(b"\n", max(at, cut - pos))
            if nl < 0:
                lines_in_chunk += block.count(b"\n", at)
                break
            lines_in_chunk += block.count(b"\n", at, nl + 1)
            end = pos + nl + 1
            bounds.append((start, end, line))
            line += lines_in_chunk
            lines_in_chunk = 0
            start, at = end, nl + 1
        pos += len(block)
    if pos > start or not bounds:
        bounds.append((start, pos, line))
    return bounds


#: the bounds of an input done in one unit: from its start to its end, from line 1
WHOLE: list[tuple[int, int, int]] = [(0, -1, 1)]

#: a ``.jsonl.gz`` whose compressed size is over a chunk's size divided by this is cut into
#: chunks too (news JSONL compresses about 4 to 1): each chunk is one task, which seeks to where
#: it begins through the file's seek-point index (see :func:`_export_gz_index`)
GZ_RATIO = 4


def _gz_split(rel: str, size: int, chunk_bytes: int) -> bool:
    """Whether an input of ``size`` bytes is a ``.jsonl.gz`` big enough to cut into chunks."""
    return rel.endswith(".jsonl.gz") and size * GZ_RATIO > chunk_bytes


def _gz_bounds(reader: _HashingReader, chunk_bytes: int) -> list[tuple[int, int, int]]:
    """:func:`chunk_bounds_of` the lines a ``.jsonl.gz`` decompresses to (offsets into them),
    read through ``reader``, which hashes the file's bytes; the file is then read to its end, so
    the hash is the whole file's. Several gzip members one after the other (as chunked outputs
    are) read as one stream. One chunk, or a damaged or truncated file: the whole file as one
    unit (its worker says what is wrong with it)."""
    try:
        with gzip.GzipFile(filename="", mode="rb", fileobj=reader) as gz:
            bounds = chunk_bounds_of(gz, chunk_bytes)
    except (EOFError, gzip.BadGzipFile, zlib.error):
        bounds = []
    while reader.read(_HASH_BLOCK):  # (what the gzip reader left unread)
        pass
    return bounds if len(bounds) > 1 else WHOLE


def _export_gz_index(in_dir: Inputs, rel: str, chunk_bytes: int, out_dir: Path) -> None:
    """The seek points of a ``.jsonl.gz`` whose chunks are to be done (indexed_gzip's index,
    a point every half chunk), so that each worker starts near its chunk instead of
    decompressing the file from its start."""
    import indexed_gzip

    opened = in_dir.open(rel) if isinstance(in_dir, UrlInputs) else open(os.path.join(in_dir, rel), "rb")  # noqa: SIM115
    with opened as raw, indexed_gzip.IndexedGzipFile(fileobj=raw, spacing=max(chunk_bytes // 2, 1 << 16)) as fh, \
            atomic_file(_gz_index_path(out_dir, rel)) as dst:
        fh.build_full_index()
        fh.export_index(fileobj=dst)


def _gz_index_path(out_dir: Path | str, rel: str) -> str:
    """Where the seek-point index of a ``.jsonl.gz`` cut into chunks waits for its workers
    (beside its pieces; removed when the work ends)."""
    return os.path.join(out_dir, META_DIR, PARTS_DIR, Unit(rel).part_name[: -len(".0.part")] + ".gzi")


#: an input's identity is recorded only if its status last changed this long before the worker
#: began to read it: a file changed within one tick of its filesystem's clock after it was read
#: could otherwise look unchanged (2 s is the coarsest tick in common use, FAT's)
RACY_NS = 3_000_000_000


def identity(st: os.stat_result, read_at_ns: int) -> list[int] | None:
    """What the next plan compares instead of hashing the file again: its size, mtime, ctime
    and inode (a change of content changes the ctime, which no program can set), or None when
    the ctime is too close to ``read_at_ns`` (see :data:`RACY_NS`) or means something else (on
    Windows, the creation time)."""
    if os.name == "nt" or _racy(st.st_ctime_ns, read_at_ns):
        return None
    return _identity_of(st)


def _racy(ctime_ns: int, read_at_ns: int) -> bool:
    """Whether a status changed at ``ctime_ns`` is too close to a reading begun at
    ``read_at_ns`` for an identity to be trusted (see :data:`RACY_NS`)."""
    return ctime_ns >= read_at_ns - RACY_NS


def _identity_of(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class _State(NamedTuple):
    """What the plan knows of an input file (see :func:`_input_state`)."""

    sha256: str
    size: int
    mtime_ns: int
    bounds: list[tuple[int, int, int]]
    identity: list[int] | None = None
    cut: int = 0
    #: the plan read the file now (its identity, if any, is the one it had as it was hashed)
    fresh: bool = False


class _Read(NamedTuple):
    """A big input the plan has to read to learn its :class:`_State` (:func:`_read_state`):
    hash it, finding its chunks as it goes. ``listed``: a URL input's (size, mtime_ns,
    identity) as the walk's listing gave them."""

    rel: str
    chunk_bytes: int
    listed: tuple[int, int, list[int] | None] | None = None


def _input_state(in_dir: Inputs, rel: str, chunk_bytes: int, known: Record | None = None, *,
                 compare: bool = True, trust: bool = True, logs: PartLogs | None = None) -> _State | _Read:
    """(sha256, size, mtime_ns, chunk bounds, identity, cut) of an input file, or the
    :class:`_Read` that gives them for a file that is to be read through (a file to cut into
    chunks, or behind a URL: the plan does those reads side by side); a plain ``.jsonl``
    larger than ``chunk_bytes`` is cut into chunks of whole lines, and so is a ``.jsonl.gz`` that
    decompresses to more (see :data:`GZ_RATIO`; its bounds are offsets into what it
    decompresses to). Any other file is one unit. A file is read once, hashed as its chunks are
    found (a file behind a URL may be a download).

    A local file is not read when its hash is not needed (sha256 ""): when it has no record
    ``known`` or nothing is to be ``compare``d with one (a forced run), if it is one unit; or
    when ``trust`` allows taking the records' hash (and, for a file done in chunks, the chunks
    its records in ``logs`` give) for a file whose :func:`identity` is the one recorded, with the
    same chunk size where that decided the chunks (``cut``)."""
    if isinstance(in_dir, UrlInputs):
        return _url_state(in_dir, rel, chunk_bytes, known, compare=compare, trust=trust, logs=logs)
    path = os.path.join(in_dir, rel)
    st: os.stat_result | None = None
    if known is None or not compare or (trust and known.stat is not None):
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, socket or device); not read")
        cut = _cut(rel, st.st_size, chunk_bytes)
        if known is None or not compare:
            if not cut:  # one unit: the worker hashes it
                return _State("", st.st_size, st.st_mtime_ns, WHOLE)
        else:
            got = _trusted(rel, known, _identity_of(st), cut, st.st_size, st.st_mtime_ns, logs)
            if got is not None:
                return got
    if not rel.endswith((".jsonl", ".jsonl.gz")) or not _cut(rel, (st or os.stat(path)).st_size, chunk_bytes):
        sha, size, mtime_ns, ident = file_state(path)  # one unit
        return _State(sha, size, mtime_ns, WHOLE, ident, fresh=True)
    return _Read(rel, chunk_bytes)


def _read_state(in_dir: Inputs, read: _Read) -> _State:
    """The state of the input ``read`` names, from reading it through once (see :func:`_input_state`)."""
    if isinstance(in_dir, UrlInputs):
        return _read_url_state(in_dir, read)
    rel, chunk_bytes = read.rel, read.chunk_bytes
    h = hashlib.sha256()
    read_at = time.time_ns()
    with open_input(os.path.join(in_dir, rel)) as raw:
        st = raw.st
        cut = _cut(rel, st.st_size, chunk_bytes)  # (as it is opened: it may have changed since)
        bounds = _read_through(_HashingReader(raw.file(), h), rel, chunk_bytes, cut=bool(cut))
        after = os.fstat(raw.fd)
    # the identity the workers of its chunks record, if the file stood still while it was hashed
    return _State(h.hexdigest(), st.st_size, st.st_mtime_ns, bounds, _steady_identity(st, after, read_at), cut,
                  fresh=True)


def _url_state(in_dir: UrlInputs, rel: str, chunk_bytes: int, known: Record | None, *,
               compare: bool, trust: bool, logs: PartLogs | None) -> _State | _Read:
    """:func:`_input_state` of a file behind a URL, whose identity (where its filesystem gives
    one, see :func:`normalize.sources.identity_of`) is read off the walk's listing: a file that
    still has the identity its records give is not downloaded, nor is one that is a unit of its
    own and has nothing to be compared with (its worker hashes what it reads)."""
    size, mtime_ns, ident, _ctime = in_dir.state(rel, listed=True)
    cut = _cut(rel, size, chunk_bytes)
    if known is None or not compare:
        if not cut:
            return _State("", size, mtime_ns, WHOLE, ident)
    elif trust and ident is not None and known.stat is not None:
        got = _trusted(rel, known, ident, cut, size, mtime_ns, logs)
        if got is not None:
            return got
    return _Read(rel, chunk_bytes, (size, mtime_ns, ident))


def _read_url_state(in_dir: UrlInputs, read: _Read) -> _State:
    """:func:`_read_state` of a file behind a URL (a download)."""
    rel, chunk_bytes = read.rel, read.chunk_bytes
    assert read.listed is not None
    size, mtime_ns, ident = read.listed
    cut = _cut(rel, size, chunk_bytes)
    h = hashlib.sha256()
    read_at = time.time_ns()
    with in_dir.open(rel) as fh:
        bounds = _read_through(_HashingReader(fh, h), rel, chunk_bytes, cut=bool(cut))
    after = in_dir.state(rel)
    # the identity its records keep, if the file stood still while it was hashed
    if after[:3] != (size, mtime_ns, ident) or (after[3] is not None and _racy(after[3], read_at)):
        ident = None
    return _State(h.hexdigest(), after[0], after[1], bounds, ident, cut, fresh=True)


def _read_through(reader: _HashingReader, rel: str, chunk_bytes: int, *, cut: bool) -> list[tuple[int, int, int]]:
    """Read an input to its end through ``reader`` (which hashes it), once, finding its chunks
    as it goes when it is to be ``cut`` (lines of a ``.jsonl``, or of what a ``.jsonl.gz``
    decompresses to); else it is one unit."""
    bounds = WHOLE
    if cut:
        bounds = chunk_bounds_of(reader, chunk_bytes) if rel.endswith(".jsonl") else _gz_bounds(reader, chunk_bytes)
    while reader.read(_HASH_BLOCK):
        pass
    return bounds


def _cut(rel: str, size: int, chunk_bytes: int) -> int:
    """``chunk_bytes`` when it decides how an input of ``size`` bytes is cut (a ``.jsonl``
    larger, a ``.jsonl.gz`` big enough, see :func:`_gz_split`), else 0: then it is part of the
    identity the file's records keep, and another ``--chunk-mb`` has the file read again."""
    return chunk_bytes if (rel.endswith(".jsonl") and size > chunk_bytes) or _gz_split(rel, size, chunk_bytes) else 0


def _trusted(rel: str, known: Record, ident: list[int], cut: int, size: int, mtime_ns: int,
             logs: PartLogs | None) -> _State | None:
    """The state the records of a file give (its hash, and its chunks, see
    :func:`_recorded_bounds`), when ``ident`` (with ``cut``) is the identity they keep; else None."""
    if identity_key([*ident, cut] if cut else ident) != known.stat:
        return None
    bounds = WHOLE if known.chunks == 1 else _recorded_bounds(logs, rel, known)
    return None if bounds is None else _State(known.sha256, size, mtime_ns, bounds, ident, cut)


def _recorded_bounds(logs: PartLogs | None, rel: str, known: Record) -> list[tuple[int, int, int]] | None:
    """The chunks of a file done in chunks as its records give them (``known``: chunk 0's), or
    None unless every chunk has a record of the same hash, run key, chunk count and identity
    that says where it lies."""
    bounds = []
    for i in range(known.chunks):
        rec = known if i == 0 else logs.get(rel, i) if logs is not None else None
        if rec is None or rec.span is None or (rec.sha256, rec.key, rec.chunks, rec.stat) != (
                known.sha256, known.key, known.chunks, known.stat):
            return None
        bounds.append((rec.start, *rec.span))
    return bounds


class _OutputFiles:
    """Whether OUT holds a file at a relative path (``os.path.isfile``), answered from one
    ``os.scandir`` of its folder: the plan asks about the files of one folder after another
    (:func:`discover` yields a folder's files together), and a stat per file cost a re-run
    more than its own reading of the folders. A folder that cannot be listed, or that holds
    more than :data:`LISTED_AT_MOST` files, is asked file by file."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.folder: str | None = None
        self.names: set[str] | None = None

    def has(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        if folder != self.folder:
            self.folder, self.names = folder, self._list(folder)
        if self.names is None:
            return os.path.isfile(os.path.join(self.root, rel))
        return name in self.names

    def _list(self, folder: str) -> set[str] | None:
        names: set[str] = set()
        try:
            with os.scandir(os.path.join(self.root, folder)) as it:
                for entry in it:
                    if len(names) >= LISTED_AT_MOST:
                        return None
                    try:
                        if entry.is_file():  # (follows a link, as isfile does)
                            names.add(entry.name)
                    except OSError:
                        return None
        except (FileNotFoundError, NotADirectoryError):
            return names
        except OSError:
            return None
        return names


#: the most files of an OUT folder that the plan holds the names of (see _OutputFiles)
LISTED_AT_MOST = 200_000


#: how many files the plan looks ahead of the one it yields, for big files to read side by side
PLAN_AHEAD = 4096
#: how many reads of big files wait before the plan starts a pool to read them side by side
#: (one is read in the main process: a pool would cost more than it saves)
PLAN_POOL_AT = 2


def plan(in_dir: Inputs, logs: PartLogs, out_dir: Path, options: RunOptions, key: str, *,
         dry: bool = False) -> Iterator[Unit]:
    """Every unit of the run, in a fixed order, each marked ``reuse`` when its record in
    ``logs`` is current; the records of the units are marked live in ``logs``
    (:meth:`PartLogs.keep`). ``dry``: for a preview, which writes nothing (no seek points of a
    ``.jsonl.gz`` to be cut, no identity vouched for).

    The files the plan must read through (a big file to cut, with no current record it can
    trust; a file behind a URL to hash) are read side by side while the walk goes on, up to
    :data:`PLAN_AHEAD` files ahead (:class:`_PlanReads`); the units still come in the walk's order."""
    local = not isinstance(in_dir, UrlInputs)
    listing = discover(in_dir) if local else in_dir.walk(META_DIR)
    trust = not options.checksum
    outputs = _OutputFiles(str(out_dir))
    reads = _PlanReads(in_dir, out_dir, options)
    #: the files planned while a read before them is waited for: (file, its record, its state,
    #: or the read that gives it, or the unit of a file not to be read)
    ahead: deque[tuple[str, Record | None, Any]] = deque()
    try:
        for rel, problem, warning in listing:
            logs.keep(rel, 0)
            known = got = None
            if problem:
                got = Unit(rel, problem=problem, warning=warning)
            else:
                known = logs.get(rel, 0)
                # (the hash is needed only to compare with a record that could be current)
                compare = not options.force and (known is None or known.key == key)
                try:
                    got = _input_state(in_dir, rel, options.chunk_bytes, known, compare=compare, trust=trust, logs=logs)
                except (InputError, OSError) as exc:
                    got = Unit(rel, problem=_unreadable(exc))
                else:
                    if type(got) is _Read:
                        # (a .jsonl.gz with nothing to compare: its chunks are to be done, so its
                        # seek points are built at once, beside the read)
                        got = reads.want(got, not dry and rel.endswith(".jsonl.gz") and (known is None or not compare))
            if ahead or type(got) is _Pending:
                ahead.append((rel, known, got))
                while ahead and (len(ahead) > PLAN_AHEAD or reads.ready(ahead[0][2])):
                    yield from _planned(*ahead.popleft(), reads, logs, outputs, options, key, dry)
            elif type(got) is Unit:
                yield got
            else:  # (most files: this loop runs for each of millions, so without a detour)
                yield from _units(rel, known, got, reads, logs, outputs, options, key, dry)
        while ahead:
            yield from _planned(*ahead.popleft(), reads, logs, outputs, options, key, dry)
        reads.finish()
    finally:
        reads.close()


def _unreadable(exc: Exception) -> str:
    """The problem of a file the plan could not read."""
    if isinstance(exc, InputError):
        return str(exc)
    return f"cannot read: {getattr(exc, 'strerror', None) or exc}"


def _planned(rel: str, known: Record | None, got: Unit | _State | _Pending, reads: _PlanReads, logs: PartLogs,
             outputs: _OutputFiles, options: RunOptions, key: str, dry: bool) -> list[Unit]:
    """The units of a file the plan looked ahead of (see :func:`plan`), once its read is done."""
    if type(got) is Unit:
        return [got]
    try:
        state = reads.result(got) if type(got) is _Pending else got
    except (InputError, OSError) as exc:
        return [Unit(rel, problem=_unreadable(exc))]
    return _units(rel, known, state, reads, logs, outputs, options, key, dry)


def _units(rel: str, known: Record | None, state: _State, reads: _PlanReads, logs: PartLogs,
           outputs: _OutputFiles, options: RunOptions, key: str, dry: bool) -> list[Unit]:
    """The units of one file of the plan, from its ``state`` (its ``known`` record's chunk 0)."""
    sha, size, mtime_ns, bounds, ident, cut, fresh = state
    n = len(bounds)
    for i in range(1, n):
        logs.keep(rel, i)
    # reused when every chunk's record is current and the output is there
    reuse = not options.force and bool(sha) and all(
        (rec := known if i == 0 else logs.get(rel, i)) is not None and rec.current(sha, key, n, s)
        for i, (s, _e, _fl) in enumerate(bounds)) and outputs.has(rel)
    if reuse and fresh and ident is not None and not dry:
        # hashed now, with the identity it had meanwhile, and found as recorded: the index
        # vouches for that identity, so the next plan need not read the file again (its
        # records got none when it was read: it had changed a moment before, say)
        vouched = identity_key([*ident, cut] if cut else ident)
        for i, (_s, e, fl) in enumerate(bounds):
            logs.vouch(rel, i, vouched, (e, fl) if n > 1 else None)
    if n > 1 and not reuse and rel.endswith(".gz") and not dry:
        reads.export(rel)
    units = []
    for i, (s, e, fl) in enumerate(bounds):
        units.append(Unit(rel, sha, i, n, s, None if e < 0 else e, fl, reuse=reuse, size=size, mtime_ns=mtime_ns,
                          identity=ident, cut=cut))
    return units


class _Pending:
    """A :class:`_Read` the plan waits for: ``future`` once it is handed to the pool.
    ``export``: the seek points of the ``.jsonl.gz`` are to be built side by side with the read
    (:meth:`_PlanReads.want`)."""

    __slots__ = ("export", "future", "read")

    def __init__(self, read: _Read, export: bool) -> None:
        self.read: _Read = read
        self.export = export
        self.future: Future[_State] | None = None


class _PlanReads:
    """The plan's reads of big inputs: hashing a file as its chunks are found, then building
    the seek points of a ``.jsonl.gz`` whose chunks are to be done. A file the plan reads
    alone is read in the main process; once two wait, they go to a pool of ``--jobs`` (worker
    processes for files on disk, threads for downloads; with ``--engine dask --scheduler``, the
    cluster: :class:`_ClusterPool`), so that a first run over a folder of big dumps reads them
    on every core, not one after the other on one, before any worker starts. A worker of the
    local pool lets go of the run's lock and ends with the main process, as the run's workers
    do (:func:`_worker_start`)."""

    def __init__(self, in_dir: Inputs, out_dir: Path, options: RunOptions) -> None:
        # (OUT as a cluster's workers see it too, where the seek points are written)
        self.in_dir, self.out_dir, self.options = in_dir, out_dir.resolve(), options
        self.pool: Any = None
        self.waiting: list[_Pending] = []  # not yet handed to the pool (there is none yet)
        self.running: set[Future[Any]] = set()  # what was handed to it and is not done
        self.exports: list[Future[None]] = []
        #: seek points built side by side with the read of their file, not yet known to be needed
        self.early: dict[str, Future[None]] = {}

    def want(self, read: _Read, export: bool = False) -> _Pending:
        """The read of a file, to be waited for. ``export``: it is a ``.jsonl.gz`` whose chunks
        are to be done whatever its hash (it has no record to compare it with, or the run is
        forced), so the seek points are built at the same time, not after the read: a first
        run over one big dump then waits for the longer of the two, not for both."""
        job = _Pending(read, export)
        if self.pool is None:
            self.waiting.append(job)
            if sum(1 + w.export for w in self.waiting) < PLAN_POOL_AT:
                return job
            self._start()
        for waiting in (self.waiting or [job]):
            waiting.future = self._submit(_read_state, self.in_dir, waiting.read)
            if waiting.export:
                rel = waiting.read.rel
                self.early[rel] = self._submit(_export_gz_index, self.in_dir, rel, self.options.chunk_bytes,
                                               self.out_dir)
        self.waiting.clear()
        return job

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut = self.pool.submit(fn, *args)
        self.running.add(fut)
        fut.add_done_callback(self.running.discard)  # (a million downloads are not held on to)
        return fut

    @staticmethod
    def ready(got: Unit | _State | _Pending) -> bool:
        """Whether the plan can go on with a file without waiting for a read."""
        return type(got) is not _Pending or (got.future is not None and got.future.done())

    def result(self, got: _Pending) -> _State:
        if got.future is None:  # read alone: here
            with contextlib.suppress(ValueError):
                self.waiting.remove(got)
            return _read_state(self.in_dir, got.read)
        return got.future.result()

    def export(self, rel: str) -> None:
        """Build the seek points of a ``.jsonl.gz`` to be done in chunks (:func:`_export_gz_index`),
        unless they are being built already."""
        early = self.early.pop(rel, None)
        if early is not None:
            self.exports.append(early)
            return
        args = (self.in_dir, rel, self.options.chunk_bytes, self.out_dir)
        if self.pool is None:
            _export_gz_index(*args)
        else:
            self.exports.append(self._submit(_export_gz_index, *args))

    def finish(self) -> None:
        """Wait for the seek points being built (the first failure is raised), and remove those
        built side by side with a read that then found the file one unit (damaged, or smaller
        decompressed than its size let think)."""
        for fut in self.exports:
            fut.result()
        for rel, fut in self.early.items():
            with contextlib.suppress(Exception):
                fut.result()
            with contextlib.suppress(OSError):
                os.unlink(_gz_index_path(self.out_dir, rel))
        self.early.clear()

    def _start(self) -> None:
        if self.options.engine == "dask" and self.options.scheduler:
            where = self.in_dir.url if isinstance(self.in_dir, UrlInputs) else str(self.in_dir.resolve())
            self.pool = _ClusterPool(self.options.scheduler, where)
            return
        jobs = self.options.jobs or usable_cores()
        if isinstance(self.in_dir, UrlInputs):
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(jobs, thread_name_prefix="normalize-plan")
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        self.pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_start)

    def close(self) -> None:
        """End the pool: at once if the plan did not finish (stopped, or failed)."""
        pool, self.pool = self.pool, None
        if pool is None:
            return
        stopped = bool(self.running)
        if stopped and hasattr(pool, "_processes"):  # (a process pool: threads and a cluster cannot be killed)
            _kill_workers(pool)
        pool.shutdown(wait=not stopped, cancel_futures=True)


# -- the work -------------------------------------------------------------------------------
_STATE: dict[str, Any] = {}
#: the URL inputs this process has opened (a run's IN: one, in practice)
_URL_INPUTS: dict[str, UrlInputs] = {}


@dataclass
class WorkSpec:
    """What a worker needs, picklable for any engine: paths, settings, the expected versions."""

    in_dir: str
    out_dir: str
    rules_dir: str
    rules_version: str
    only: list[str]
    skip: list[str]
    text_field: str
    threshold: float | None
    flagger: bool
    key: str
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    #: the sequence number of this run's part logs (not part of what the pipeline is built from)
    run: int = field(default=1, compare=False)


def usable_cores() -> int:
    """How many CPUs this process may use: the machine's, narrowed by its CPU affinity (taskset,
    Slurm, numactl) and by a container's CPU quota (cgroups v1 and v2: docker --cpus, Kubernetes
    limits), as loky (joblib's process pool) counts them. The default of ``--jobs``: a worker
    for a core the process may not use would only add memory and contention."""
    from loky import cpu_count  # imported here: only a run without --jobs asks

    return cpu_count()


def normalizer_for(spec: WorkSpec, rules: RuleSet | None = None) -> Normalizer:
    """The worker's pipeline, built once per worker process and spec."""
    if _STATE.get("spec") != spec:
        rules = rules or RuleSet.load(spec.rules_dir)
        if rules.version != spec.rules_version:
            raise RuntimeError(f"the rules in {spec.rules_dir} changed during the run "
                               f"({rules.version} != {spec.rules_version})")
        from .pipeline import Normalizer

        n = Normalizer(rules, only=spec.only, skip=spec.skip, flagger=spec.flagger, threshold=spec.threshold)
        n.preload()
        _STATE.update(spec=spec, normalizer=n)
        release_memory()
    return _STATE["normalizer"]


def release_memory() -> None:
    """Give the system back the memory that loading freed (the word lists and profiles are
    parsed from JSON, then held in compiled tables): glibc keeps freed memory for reuse, so
    without this every forked worker starts with it resident. Nothing where there is no glibc."""
    import ctypes
    import gc

    gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class OutputError(Exception):
    """An output path that would leave OUT (through a symbolic link inside OUT)."""


def work(spec: WorkSpec, unit: Unit) -> dict[str, Any]:
    """Do one unit: clean its documents, write its output and then its part. Returns counts.

    The part records the SHA-256 of the bytes the worker actually read (the plan hashes a file
    only to compare it with its record), and the file's identity when nothing suggests it could
    have changed since (see :func:`identity`). If the file changed after the plan hashed it, or
    its size or times changed while it was read, the output is made from what was read, the
    part says so (and an errors.jsonl line of kind ``changed`` reports it), and a later run
    redoes the file unless it still holds exactly those bytes."""
    in_dir, out_dir = _worker_inputs(spec.in_dir), Path(spec.out_dir)
    log = _appender(spec)
    t0 = time.perf_counter()
    part = _Part(unit, spec.key, spill_dir=log.directory)
    if unit.problem and unit.warning:  # nothing is lost: not a document, not a failure
        part.error({"file": unit.rel, "error": "skipped", "failed": 0, "message": unit.problem})
    elif unit.problem:
        part.seen = 1
        part.error({"file": unit.rel, "error": "skipped", "failed": 1, "message": unit.problem})
    else:
        try:
            normalizer = normalizer_for(spec)
            if input_kind(unit.rel) == ".txt":
                _work_txt(normalizer, spec, in_dir, out_dir, unit, part)
            else:
                _work_jsonl(normalizer, spec, in_dir, out_dir, unit, part)
        except Exception as exc:
            # a unit's output is written only at its end, so none of its documents were written
            part.fail(_error(unit.rel, part.line, exc, gz=unit.rel.endswith(".gz")))
        part.check_read()
    part.timings["unit_seconds"] = time.perf_counter() - t0
    try:
        log.append(part.record())
    finally:
        part.close()
    return {"rel": unit.rel, "chunk": unit.chunk, "seen": part.seen, "written": part.written}


#: the sections of a unit's record: its lines of these outputs, in document order
SECTIONS = ("documents.jsonl", "edits.jsonl", "flags.jsonl", "flags.csv", "errors.jsonl")
assert SECTIONS[: len(INDEXED)] == INDEXED  # (the record index counts the bytes of the first three)


def _json_line(obj: Any) -> str:
    return dumps_record(obj) + "\n"


#: a section of a unit's record past this many bytes goes on in a temporary file
SPILL_BYTES = 1 << 20
#: a record larger than this is copied into the run's outputs a block at a time (see _assemble)
BIG_RECORD = 4 << 20


class _Section:
    """A section of a unit's record, its lines added as they come (encoded): in memory while
    small, in an anonymous temporary file in ``spill_dir`` past :data:`SPILL_BYTES` (a chunk of
    a big JSONL makes tens of megabytes of flags), so that a worker's memory does not grow with
    the size of its unit."""

    __slots__ = ("buf", "file", "size", "spill_dir")

    def __init__(self, spill_dir: str | None) -> None:
        self.buf, self.file, self.size, self.spill_dir = bytearray(), None, 0, spill_dir

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.file is not None:
            self.file.write(data)
            return
        self.buf += data
        if len(self.buf) > SPILL_BYTES and self.spill_dir is not None:
            import tempfile

            self.file = tempfile.TemporaryFile(dir=self.spill_dir)  # noqa: SIM115 (closed by close())
            self.file.write(self.buf)
            self.buf = bytearray()

    def __len__(self) -> int:
        return self.size

    def blocks(self) -> Iterator[bytes | bytearray]:
        if self.file is None:
            yield self.buf
            return
        self.file.seek(0)
        while block := self.file.read(_HASH_BLOCK):
            yield block

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class _Part:
    """The record of one unit: a header, then its lines of each of the run's :data:`SECTIONS`
    (documents.jsonl, edits.jsonl, flags.jsonl, flags.csv, errors.jsonl) as they will be
    written there. The header's ``tally`` counts what they hold (characters, edits by pass,
    rule and action, flags by reason), so that assembling the run's outputs copies each
    section as it is, without reading it (only errors are read).

    Every error row has ``failed``: how many of the unit's documents it accounts for (1 for a
    document, all those not yet accounted for when the whole file fails, 0 for a warning)."""

    def __init__(self, unit: Unit, key: str, spill_dir: str | None = None) -> None:
        self.unit = unit
        self.key = key
        self.spill_dir = spill_dir
        # each section's lines, encoded as they come (see _Section): a unit of many documents (a
        # chunk of a big JSONL) holds them neither as lists of strings, joined, encoded and joined
        # again into the record, nor in memory at all past a megabyte
        self.out: dict[str, _Section] = {"errors.jsonl": _Section(spill_dir)}
        self.seen = 0
        self.written = 0
        self.failed_recorded = 0
        self.line: int | None = None  # the JSONL line being read
        self.encoding: str | None = None
        self.timings: dict[str, float] = {}
        self.sha256 = unit.sha256
        self.read_sha: str | None = None  # of the bytes read, once the whole unit was read
        self.read_stat: tuple[int, int] | None = None  # (size, mtime_ns) after reading
        self.read_identity: list[int] | None = None  # (see identity()) after reading
        self.moved = False  # the file's size or times changed while it was read
        self.stat: list[int] | None = None  # the identity the record gives the next plan
        self._drop_documents()

    def _drop_documents(self) -> None:
        """Forget the documents' lines and their tally (the errors stay)."""
        for name, section in self.out.items():
            if name != "errors.jsonl":
                section.close()
        self.out = {name: _Section(self.spill_dir) for name in SECTIONS} | {"errors.jsonl": self.out["errors.jsonl"]}
        self.chars = [0, 0]
        self.edits: Counter[tuple[str, str, str]] = Counter()
        self.reasons: Counter[str] = Counter()
        self.flags = 0

    def document(self, info: dict[str, Any], edits: list[dict[str, Any]], flags: list[Flag], line: int | None) -> None:
        """A cleaned document's lines: its row, edits and flags (and their CSV rows)."""
        self.out["documents.jsonl"].add(_json_line(info).encode("utf-8", "backslashreplace"))
        self.chars[0] += info["chars_in"]
        self.chars[1] += info["chars_out"]
        add = self.out["edits.jsonl"].add
        for e in edits:
            add(_json_line(e).encode("utf-8", "backslashreplace"))
            self.edits[(e["pass"], e["rule"], e["action"])] += 1
        add, add_row, file = self.out["flags.jsonl"].add, self.out["flags.csv"].add, info["file"]
        for f in flags:
            jline, row = flag_lines(f, file, line)
            add(jline.encode("utf-8", "backslashreplace"))
            add_row(row.encode("utf-8", "backslashreplace"))
            self.reasons.update([r.code for r in f.reasons])
        self.flags += len(flags)

    def error(self, row: dict[str, Any]) -> None:
        row.setdefault("failed", 1)
        self.failed_recorded += row["failed"]
        self.out["errors.jsonl"].add(_json_line(row).encode("utf-8", "backslashreplace"))

    def fail(self, row: dict[str, Any]) -> None:
        cleaned = self.written
        self._drop_documents()
        self.seen = max(self.seen, 1)
        self.written = 0
        row["failed"] = max(self.seen - self.failed_recorded, 0)
        if cleaned:
            row["message"] += f" ({cleaned} document(s) of this file were cleaned before it; none is written)"
        self.error(row)

    def check_read(self) -> None:
        """Compare what the worker read with what the plan hashed (see :func:`work`)."""
        u = self.unit
        if self.read_sha is None:
            return
        if u.chunks == 1:
            changed = (bool(u.sha256) and self.read_sha != u.sha256) or self.moved  # ("": the plan did not hash it)
            self.sha256 = self.read_sha
            self.stat = None if self.moved else self.read_identity  # (moved: the next run hashes it)
        else:
            changed = self.read_stat != (u.size, u.mtime_ns)
            if changed:
                self.sha256 = "changed:" + self.read_sha
            else:  # (the plan hashed the whole file; a change since then changes its ctime)
                self.stat = u.identity
        if self.stat is not None and u.cut:
            self.stat = [*self.stat, u.cut]
        if changed:
            self.error({"file": u.rel, "error": "changed", "failed": 0,
                        "message": "the file changed while the run was reading it: its output is made from the "
                                   f"bytes that were read (sha256 {self.read_sha[:16]}…), which the manifest "
                                   "records, and a later run redoes the file unless it still holds them"})

    def record(self) -> list[bytes | bytearray] | Iterator[bytes | bytearray]:
        """The record, as the pieces :meth:`Appender.append` writes one after the other: a list
        of buffers, or blocks read back from the sections that went to temporary files."""
        u = self.unit
        header: dict[str, Any] = {"file": u.rel, "sha256": self.sha256, "key": self.key, "chunk": u.chunk,
                                  "chunks": u.chunks, "start": u.start, "stat": self.stat}
        if u.chunks > 1:  # where the chunk lies, for a plan that trusts the file's identity
            header.update(end=-1 if u.end is None else u.end, first_line=u.first_line)
        header |= {"seen": self.seen, "written": self.written,
                   "tally": {"chars": self.chars, "flags": self.flags,
                             "edits": [[*k, n] for k, n in sorted(self.edits.items())],
                             "reasons": dict(sorted(self.reasons.items()))},
                   "timings": {k: round(v, 6) for k, v in sorted(self.timings.items())}}
        sections = [self.out[name] for name in SECTIONS]
        head, *_ = encode_pieces(header, sections)
        if all(section.file is None for section in sections):
            return [head, *(section.buf for section in sections)]
        return itertools.chain([head], *(section.blocks() for section in sections))

    def close(self) -> None:
        """Let go of the sections' temporary files."""
        for section in self.out.values():
            section.close()


def _appender(spec: WorkSpec) -> Appender:
    """This process's part log for the run (made on its first record). A new run also forgets
    which folders of OUT were checked (a long-lived Dask worker sees many runs)."""
    where = (spec.out_dir, spec.run)
    if _STATE.get("log") != where:
        _STATE.update(log=where, appender=Appender(os.path.join(spec.out_dir, META_DIR, PARTS_DIR), spec.run))
        _CHECKED_DIRS.clear()
    return _STATE["appender"]


def _error(rel: str, line: int | None, exc: BaseException, *, gz: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {"file": rel}
    if line is not None:
        row["line"] = line
    if isinstance(exc, InputError):
        row.update(error="input", message=str(exc))
    elif isinstance(exc, RuleTimeout):
        row.update(error="rule-timeout", message=str(exc))
    elif isinstance(exc, OutputError):
        row.update(error="output", message=str(exc))
    elif gz and isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        row.update(error="input", message=f"corrupt or truncated gzip data: {exc}")
    elif isinstance(exc, OSError):
        row.update(error="io", message=f"{type(exc).__name__}: {exc.strerror or exc}")
    else:
        tb = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(tb[0].filename).name}:{tb[0].lineno}" if tb else ""
        row.update(error="internal", message=f"{type(exc).__name__}: {exc}{where}")
    row["failed"] = 1
    return row


def _too_large(rel: str, line: int | None, size: int, limit: int) -> dict[str, Any]:
    row: dict[str, Any] = {"file": rel}
    if line is not None:
        row["line"] = line
    what = "line" if line is not None else "file"
    row.update(error="too-large", failed=1,
               message=f"the {what} is {size} bytes, more than the {limit} bytes a document may have; "
                       "it was not cleaned and nothing was written for it (split it into documents)")
    return row


def _clean(normalizer: Normalizer, rel: str, line: int | None, text: str, encoding: str | None,
           part: _Part) -> str:
    res = normalizer.clean(text, path=rel)
    for name, secs in res.timings.items():
        part.timings[name] = part.timings.get(name, 0.0) + secs
    info: dict[str, Any] = {"file": rel}
    if line is not None:
        info["line"] = line
    if encoding:
        info["encoding"] = encoding
    info.update(chars_in=len(text), chars_out=len(res.text), edits=len(res.edits),
                flags=len(res.flags), metadata=res.metadata)
    part.document(info, [e.to_json(rel, line) for e in res.edits], res.flags, line)
    part.written += 1
    return res.text


def _worker_inputs(where: str) -> Inputs:
    """The run's IN in a worker (a URL's filesystem is made once per process)."""
    if not is_url(where):
        return Path(where)
    got = _URL_INPUTS.get(where)
    if got is None:
        got = _URL_INPUTS[where] = UrlInputs(where)
    return got


def _opened_stat(in_dir: Inputs, fh: Any) -> os.stat_result | None:
    """The status of a local input just opened, before it is read (None behind a URL)."""
    if isinstance(in_dir, UrlInputs):
        return None
    return fh.st if isinstance(fh, _Input) else os.fstat(fh.fileno())


def _read_stat(in_dir: Inputs, unit: Unit, fh: Any, part: _Part, read_at_ns: int,
               before: os.stat_result | None) -> None:
    """Note in ``part`` the unit's input's size, mtime and :func:`identity` after reading it
    (from ``fh``, a local file; the reading began at ``read_at_ns``, when its status was
    ``before``), and whether they changed while it was read."""
    if isinstance(in_dir, UrlInputs):  # the identity the plan listed, if the file still has it
        size, mtime, ident, ctime = in_dir.state(unit.rel)
        part.read_stat = (size, mtime)
        if ident is not None and ident == unit.identity and (ctime is None or not _racy(ctime, read_at_ns)):
            part.read_identity = ident
        return
    st = os.fstat(fh.fileno())
    part.read_stat, part.read_identity = (st.st_size, st.st_mtime_ns), identity(st, read_at_ns)
    if before is not None:
        part.moved = _moved(before, st)


def _open_unit(in_dir: Inputs, unit: Unit) -> Any:
    """The unit's input, opened; a link is checked again (it may have changed since the plan)."""
    if isinstance(in_dir, UrlInputs):
        return in_dir.open(unit.rel)
    path = os.path.join(in_dir, unit.rel)
    if _NOFOLLOW:  # opened as it is, unless it is a symbolic link (one system call for most files)
        try:
            return open_input(path, _NOFOLLOW)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK):
                raise
    if os.path.islink(path):
        problem = _link_problem(Path(path), in_dir.resolve(), directory=False)
        if problem:
            raise InputError(problem)
    return open_input(path)


#: os.open refuses a symbolic link with this flag (ELOOP; EMLINK on FreeBSD); 0 where unknown
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


#: (OUT, folder) pairs this process has checked (no symbolic link on the way) and made
_CHECKED_DIRS: set[tuple[str, str]] = set()


def _output_path(out_dir: Path, rel: str) -> Path | str:
    """OUT/rel with its folders made, never through a symbolic link inside OUT."""
    folder, name = os.path.split(rel)
    if (str(out_dir), folder) in _CHECKED_DIRS and name not in ("", ".", ".."):
        return os.path.join(out_dir, rel)
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or any(p in ("..", ".") for p in parts):
        raise OutputError(f"output path {rel!r} is not a plain relative path; nothing written")
    cur = out_dir
    for name in parts[:-1]:
        cur = cur / name
        if cur.is_symlink():
            raise OutputError(f"{cur.relative_to(out_dir).as_posix()} in OUT is a symbolic link; nothing is "
                              "written through it (remove it)")
        if not cur.exists():
            break
    target = out_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if len(_CHECKED_DIRS) < 100_000:
        _CHECKED_DIRS.add((str(out_dir), folder))
    return target


def _work_txt(normalizer: Normalizer, spec: WorkSpec, in_dir: Inputs, out_dir: Path, unit: Unit,
              part: _Part) -> None:
    part.seen = 1
    limit = spec.max_document_bytes
    read_at = time.time_ns()
    with _open_unit(in_dir, unit) as fh:
        before = _opened_stat(in_dir, fh)
        # read(n) makes a buffer of n bytes first: ask for what the file holds (one byte more
        # to see it grew), not for the limit, which would be an 8 MiB buffer for every file
        want = limit + 1 if before is None else min(limit + 1, before.st_size + 1)
        data = fh.read(want)
        if len(data) == want <= limit:  # it grew since: read on, to the limit
            data += fh.read(limit + 1 - want)
        h = hashlib.sha256(data)
        size = len(data)
        if size > limit:  # not cleaned, but hashed to its end all the same (for the manifest)
            while block := fh.read(_HASH_BLOCK):
                h.update(block)
                size += len(block)
        _read_stat(in_dir, unit, fh, part, read_at, before)
    part.read_sha = h.hexdigest()
    if size > limit:
        part.error(_too_large(unit.rel, None, size, limit))
        return
    decoded = decode_bytes(data)
    text = _clean(normalizer, unit.rel, None, decoded.text, decoded.encoding, part)
    # an output left as it was (a forced run, new rules that change nothing here) is not rewritten
    atomic_write(_output_path(out_dir, unit.rel), text.encode("utf-8"), keep_same=True)


class _HashingReader:
    """A binary file seen through ``read``, hashing every byte read (for gzip's reader)."""

    mode = "rb"

    def __init__(self, fh: Any, h: Any) -> None:
        self.fh, self.h = fh, h

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.h.update(data)
        return data


def _jsonl_lines(in_dir: Inputs, unit: Unit, limit: int, part: _Part,
                 in_out_dir: str = "") -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, bytes, size) of every line of the unit; bytes is None for a line longer
    than ``limit``, which is skipped without being held in memory. (``in_out_dir``: OUT, where
    the seek points of a chunked ``.jsonl.gz`` are.)"""
    h = hashlib.sha256()
    read_at = time.time_ns()
    with _open_unit(in_dir, unit) as raw_fh:
        before = _opened_stat(in_dir, raw_fh)
        buffered = raw_fh.file() if isinstance(raw_fh, _Input) else raw_fh
        if unit.rel.endswith(".gz") and unit.chunks > 1:  # a chunk: from the seek point before it
            import indexed_gzip

            fh: Any = indexed_gzip.IndexedGzipFile(fileobj=buffered, auto_build=False,
                                                   index_file=_gz_index_path(in_out_dir, unit.rel))
            fh.seek(unit.start)
            hashed = False
        elif unit.rel.endswith(".gz"):
            fh = gzip.GzipFile(filename="", mode="rb", fileobj=_HashingReader(buffered, h))
            hashed = True
        else:
            fh = buffered
            fh.seek(unit.start)
            hashed = False
        remaining = None if unit.end is None else unit.end - unit.start
        n = unit.first_line
        while remaining is None or remaining > 0:
            part.line = n  # the line being read or cleaned, for an error that stops the file
            raw = fh.readline(limit + 1)
            if not raw:
                break
            size = len(raw)
            long_line = size > limit and not raw.endswith(b"\n")
            if not hashed:
                h.update(raw)
            while long_line:  # skip the rest of the line, a block at a time
                more = fh.readline(_HASH_BLOCK)
                if not more:
                    break
                size += len(more)
                if not hashed:
                    h.update(more)
                if more.endswith(b"\n"):
                    break
            if remaining is not None:
                remaining -= size
            yield n, (None if long_line else raw), size
            n += 1
        if unit.rel.endswith(".gz"):
            fh.close()
        _read_stat(in_dir, unit, raw_fh, part, read_at, before)
    part.read_sha = h.hexdigest()


def _work_jsonl(normalizer: Normalizer, spec: WorkSpec, in_dir: Inputs, out_dir: Path, unit: Unit,
                part: _Part) -> None:
    # the cleaned lines go to a temporary file, not to memory: a big file stays cheap
    target = _output_path(out_dir, unit.rel) if unit.chunks == 1 else _piece_path(out_dir, unit)
    limit = spec.max_document_bytes
    with atomic_file(target) as raw_out:
        sink: Any = (gzip.GzipFile(filename="", mode="wb", fileobj=raw_out, mtime=0)
                     if unit.rel.endswith(".gz") else raw_out)
        for n, raw, size in _jsonl_lines(in_dir, unit, limit, part, spec.out_dir):
            if raw is None:
                part.seen += 1
                part.error(_too_large(unit.rel, n, size, limit))
                continue
            rec = parse_jsonl_line(n, raw, spec.text_field)
            if rec is None:
                continue
            part.seen += 1
            if rec.text is None:
                part.error({"file": unit.rel, "line": rec.line, "error": "input", "failed": 1,
                            "message": rec.error, "raw": rec.raw[:10000]})
                continue
            try:
                text = _clean(normalizer, unit.rel, rec.line, rec.text, None, part)
            except Exception as exc:
                part.error(_error(unit.rel, rec.line, exc))
                continue
            sink.write(rec.with_text(text).encode("utf-8"))
        part.line = None
        if sink is not raw_out:
            sink.close()


def _piece_path(out_dir: Path, unit: Unit) -> Path:
    return out_dir / META_DIR / PARTS_DIR / (unit.part_name[: -len(".part")] + ".out")


# -- engines --------------------------------------------------------------------------------
#: one unit at a time in a process: a Dask worker started with several threads (``dask worker``
#: without ``--nthreads 1``) would otherwise run units side by side on the process's one
#: pipeline, whose kernel tables and part log are not made to be shared
_ONE_AT_A_TIME = threading.Lock()


def work_batch(spec: WorkSpec, units: list[Unit]) -> int:
    """:func:`work` on several units in one task (small files cost little each, so one task
    apiece would spend more on handing them out than on cleaning them), one unit at a time in
    this process. Returns how many: the parts on disk are the results, so nothing else need
    travel back."""
    for u in units:
        with _ONE_AT_A_TIME:
            work(spec, u)
    return len(units)


def work_range(spec: WorkSpec, todo_file: str, start: int, end: int) -> int:
    """:func:`work_batch` on the units the plan's todo file holds from byte ``start`` to
    ``end``: the local engine's task. The worker reads its units there itself, so the main
    process, which feeds every worker, neither reads nor pickles them (see :class:`_Spool`)."""
    with open(todo_file, "rb") as fh:
        fh.seek(start)
        return work_batch(spec, _read_units(fh.read(end - start)))


def _read_units(data: bytes) -> list[Unit]:
    """The units of the spool records in ``data`` (each a 4-byte length and a marshalled unit)."""
    out: list[Unit] = []
    pos, end = 0, len(data)
    while pos < end:
        size = int.from_bytes(data[pos : pos + 4], "little")
        out.append(Unit(*marshal.loads(data[pos + 4 : pos + 4 + size])))
        pos += 4 + size
    if pos != end:
        raise ValueError("a plan record cut short")
    return out


#: a task holds consecutive units up to this many, or this many input bytes (at 32 units, the
#: main process spent 0.35 s of CPU handing out and collecting the 455 tasks of 14,544 small
#: files, CPU that two workers on two cores lose; at 128, 0.18 s)
BATCH_UNITS = 128
BATCH_BYTES = 256 * 1024


def batch_units(remaining: int, workers: int) -> int:
    """How many units the next task holds when ``remaining`` units are left for ``workers``:
    :data:`BATCH_UNITS` while there are many, then fewer as the run nears its end (a share of
    what is left, "guided" scheduling), so that the workers finish together instead of one
    idling while another ends a full batch."""
    return max(1, min(BATCH_UNITS, remaining // (4 * max(workers, 1))))


def task_bounds(sizes: Sequence[int], workers: int) -> Iterator[tuple[int, int]]:
    """The tasks over units of these input ``sizes``, in order, as index ranges ``[a, b)``: each
    of :func:`batch_units` units, or fewer where they would hold more than :data:`BATCH_BYTES`
    of input (a larger unit goes alone)."""
    total, a = len(sizes), 0
    while a < total:
        want, b, size = batch_units(total - a, workers), a + 1, sizes[a]
        while b < total and b - a < want and size + sizes[b] <= BATCH_BYTES:
            size += sizes[b]
            b += 1
        yield a, b
        a = b


def _worker_start() -> None:
    """In each local worker process as it starts. It lets go of the run's lock (a forked worker
    inherits the descriptor, and a worker that outlived the main process would keep the next
    run out). It ends when the main process ends, however that ends: killed, by the system or
    by ``kill``, the main process could not stop it, and it would wait for work forever. Ctrl-C
    is the main process's to handle (a stopped run ends its workers itself, see
    :func:`_kill_workers`), and SIGTERM ends it at once."""
    import multiprocessing
    import signal

    fd = _STATE.pop("lock_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # (the lock holds while the main process keeps its own descriptor)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), name="normalize-orphan-watch", daemon=True).start()


def _kill_workers(executor: Any) -> None:
    """Ends a process pool's workers at once (Python 3.14's ``terminate_workers``, else each
    process the pool holds)."""
    terminate = getattr(executor, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()


def _end_with(parent: Any) -> None:
    parent.join()  # returns when the main process is gone (its end of a pipe closed)
    os._exit(1)


def _local(spec: WorkSpec, spool: _Spool, jobs: int, rules: RuleSet) -> Iterator[int]:
    """Does the units ``spool`` has still to do in ``jobs`` worker processes; yields how many
    units each task finished."""
    if jobs == 1:
        normalizer_for(spec, rules)
        for bounds in task_bounds(spool.todo_bytes, 1):  # a task's units at a time: memory stays flat
            for u in spool.todo_units(*bounds):
                work(spec, u)
                yield 1
        return
    import gc
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    normalizer_for(spec, rules)  # built here: forked workers inherit the loaded models
    gc.freeze()  # keep the collector from touching (and so copying) the shared objects
    ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    # A worker the system kills (out of memory, say) breaks the pool: every unit then in flight
    # is run again, alone in a fresh pool; one that kills its worker alone gets no part, which
    # the assembly reports as a failed file. The run goes on either way.
    todo_file = str(spool.todo_path)
    todo = task_bounds(spool.todo_bytes, jobs)
    suspects: deque[Unit] = deque()
    retried: set[tuple[str, int]] = set()
    try:
        while True:
            # a task's units: a range of the todo file, or a suspect (a list of one unit)
            inflight: dict[Future[int], tuple[int, int] | list[Unit]] = {}
            executor = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_start)
            broken = False
            try:
                while not broken:
                    alone = any(isinstance(t, list) for t in inflight.values())  # a suspect runs alone
                    while not alone and len(inflight) < 2 * jobs:
                        if suspects:
                            if inflight:
                                break
                            unit = suspects.popleft()
                            inflight[executor.submit(work_batch, spec, [unit])] = [unit]
                            alone = True
                            continue
                        bounds = next(todo, None)
                        if bounds is None:
                            break
                        start, end = spool.todo_span(*bounds)
                        inflight[executor.submit(work_range, spec, todo_file, start, end)] = bounds
                    if not inflight:
                        return
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        try:
                            finished = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        del inflight[fut]
                        yield finished
            except BaseException:
                # stopped (Ctrl-C, SIGTERM, a full disk): the workers go now, not after the tasks
                # in hand (a run may be killed at any moment; the next run finishes the job)
                _kill_workers(executor)
                raise
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
            for task in inflight.values():  # the pool broke: these get one more chance, each alone
                for u in task if isinstance(task, list) else spool.todo_units(*task):
                    key = (u.rel, u.chunk)
                    if key not in retried:
                        retried.add(key)
                        suspects.append(u)
    finally:
        gc.unfreeze()


_NEEDS_DASK = "--engine dask needs dask.distributed: pip install 'normalize[dask]'"


def check_scheduler(address: str) -> None:
    """A usage error unless ``address`` is a Dask scheduler's address (``tcp://HOST:PORT``, or
    another scheme distributed knows), checked before the run plans anything."""
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:
        raise UsageError(_NEEDS_DASK) from None
    try:
        scheme, loc = parse_address(address)
        get_backend(scheme)  # (a scheme distributed does not speak: http://, say)
        if scheme in ("tcp", "tls"):
            parse_host_port(loc)
    except ValueError as exc:
        raise UsageError(f"--scheduler {address}: {exc} (a scheduler's address is tcp://HOST:8786)") from None


def _dask_client(scheduler: str) -> Any:
    """A Dask client of the scheduler at ``scheduler`` (a usage error when nothing answers there)."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(_NEEDS_DASK) from None
    try:
        return Client(scheduler)
    except Exception as exc:  # (a TimeoutError when nothing answers there)
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; is it running "
                         "(`dask scheduler`), and is the address the one it printed?") from None


class _ClusterPool:
    """The plan's pool on a Dask cluster (``--engine dask --scheduler``): its big reads run on
    the cluster's workers, near the data, not on the machine that starts the run (for dumps in
    a bucket, that machine would download every big file to hash and cut it). ``submit`` gives
    a :class:`concurrent.futures.Future`; the cluster lets go of each result once it is passed
    on. A task names IN as the workers see it (a URL, or the absolute path of a shared
    filesystem), as the work's tasks do."""

    def __init__(self, scheduler: str, where: str) -> None:
        self.client = _dask_client(scheduler)
        self.where = where
        self.futures: set[Any] = set()

    def submit(self, fn: Callable[..., Any], _in_dir: Inputs, *args: Any) -> Future[Any]:
        from concurrent.futures import Future

        task = self.client.submit(_on_worker, fn, self.where, *args, pure=False)
        self.futures.add(task)
        got: Future[Any] = Future()

        def passed_on(task: Any) -> None:
            self.futures.discard(task)
            if got.set_running_or_notify_cancel():
                try:
                    got.set_result(task.result())
                except BaseException as exc:
                    got.set_exception(exc)
            task.release()

        task.add_done_callback(passed_on)
        return got

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures and self.futures:
            self.client.cancel(list(self.futures))
        self.client.close()


def _on_worker(fn: Callable[..., Any], where: str, *args: Any) -> Any:
    """A plan's read (:func:`_read_state`, :func:`_export_gz_index`) on a Dask worker, IN named by ``where``."""
    return fn(_worker_inputs(where), *args)


def _dask(spec: WorkSpec, spool: _Spool, jobs: int, scheduler: str | None, quiet: bool = True) -> Iterator[int]:
    """Does the units ``spool`` has still to do on a Dask cluster; yields how many units each
    task finished."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError(_NEEDS_DASK) from None
    cluster = None
    if scheduler:
        client = _dask_client(scheduler)
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        threads = sum(client.nthreads().values())
        if not threads:  # the tasks would wait, and the run with them, without a word
            if not quiet:
                print(f"normalize: waiting for a worker to join the Dask scheduler at {scheduler} "
                      f"(start one with `dask worker {scheduler} --nthreads 1`)", file=sys.stderr, flush=True)
            client.wait_for_workers(1)
            threads = sum(client.nthreads().values())
        window = max(4, 4 * threads)  # tasks in flight: memory stays flat
        pending = as_completed()
        # a task holds a batch of units, as the local engine's do: one task per small file
        # would spend more on the scheduler's round trips than on cleaning the file
        it = task_bounds(spool.todo_bytes, threads)
        for bounds in it:
            pending.add(client.submit(work_batch, spec, spool.todo_units(*bounds), pure=False))
            if pending.count() >= window:
                break
        for fut in pending:
            yield fut.result()
            fut.release()
            nxt = next(it, None)
            if nxt is not None:
                pending.add(client.submit(work_batch, spec, spool.todo_units(*nxt), pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- assembling -------------------------------------------------------------------------------
FLAG_CSV_FIELDS = ["file", "line", "start", "end", "confidence", "reasons", "messages",
                   "suggestions", "text"]


def csv_safe(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would execute (leading = + - @, tab or CR)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_JSON_STR = json.encoder.encode_basestring  # a str as JSON writes it when ensure_ascii is off (dumps_record)


def _csv_cell(value: Any) -> str:
    """A cell of flags.csv as csv.writer (excel dialect, minimal quoting) writes it, after
    :func:`csv_safe`; ``value`` a str, an int or a float."""
    if type(value) is not str:
        return str(value)
    if value[:1] in _FORMULA:
        value = "'" + value
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def _json_reason(r: Any) -> str | None:
    """A reason's JSON object as the shared encoder writes it (None: not of the usual types)."""
    code, message, suggestion = r
    if type(code) is not str or type(message) is not str:
        return None
    if suggestion is None:
        return f'{{"code": {_JSON_STR(code)}, "message": {_JSON_STR(message)}, "suggestion": null}}'
    if type(suggestion) is not str:
        return None
    return f'{{"code": {_JSON_STR(code)}, "message": {_JSON_STR(message)}, "suggestion": {_JSON_STR(suggestion)}}}'


def flag_lines(flag: Flag, file: str, line: int | None = None) -> tuple[str, str]:
    """The flag's line of flags.jsonl and its row of flags.csv, as :func:`_json_line` of
    ``flag.to_json(file, line)`` and ``csv.writer`` of :func:`flag_csv_row` of it write them,
    made without the dictionaries (a run writes several flags per document; tests compare the
    two ways on generated flags). Values of other types than the pipeline makes go the
    general way."""
    conf = round(flag.confidence, 4)
    reasons = flag.reasons
    start, end, text = flag.start, flag.end, flag.text
    objects = list(map(_json_reason, reasons))
    if None in objects or type(file) is not str or not (line is None or type(line) is int) \
            or type(start) is not int or type(end) is not int or type(text) is not str \
            or not (type(conf) is int or (type(conf) is float and math.isfinite(conf))):
        d = flag.to_json(file, line)
        buf = io.StringIO()
        csv.writer(buf).writerow(flag_csv_row(d))
        return _json_line(d), buf.getvalue()
    enc = _JSON_STR
    at = "" if line is None else f', "line": {line!r}'
    jline = (f'{{"file": {enc(file)}{at}, "start": {start!r}, "end": {end!r}, "text": {enc(text)}, '
             f'"confidence": {conf!r}, "reasons": [{", ".join(objects)}]}}\n')
    cell = _csv_cell
    row = (f'{cell(file)},{"" if line is None else line},{start},{end},{conf!r},'
           f'{cell("; ".join([r.code for r in reasons]))},{cell("; ".join([r.message for r in reasons]))},'
           f'{cell("; ".join([r.suggestion for r in reasons if r.suggestion]))},{cell(text)}\r\n')
    return jline, row


_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what csv_safe neutralises at the start of a cell


def flag_csv_row(flag: dict[str, Any]) -> list[Any]:
    reasons = flag["reasons"]
    return [csv_safe(v) for v in (
        flag["file"], flag.get("line", ""), flag["start"], flag["end"], flag["confidence"],
        "; ".join(r["code"] for r in reasons), "; ".join(r["message"] for r in reasons),
        "; ".join(r["suggestion"] for r in reasons if r.get("suggestion")), flag["text"],
    )]


class _Sink:
    """An output file of the run, written under a temporary name and renamed at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.fh = open(self.tmp, "wb")  # noqa: SIM115

    def write(self, text: str) -> None:
        # (a lone surrogate, which no input can produce, would be written as its JSON escape)
        self.fh.write(text.encode("utf-8", "backslashreplace"))

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)


class _Spool:
    """The plan in a temporary file, a unit's fields at a time (marshalled: this process alone
    reads it back, and JSON cost a re-run more than hashing its inputs): replayed for
    assembly. The units still to do are also written to a second file, which the work reads:
    a local worker reads its task's units there itself, given where they lie (:meth:`todo_span`),
    so the main process neither reads nor pickles them."""

    def __init__(self, meta: Path) -> None:
        self.path = meta / ".plan.tmp"
        self.todo_path = meta / ".todo.tmp"
        self.fh = open(self.path, "w+b")  # noqa: SIM115
        self.todo_fh = open(self.todo_path, "w+b")  # noqa: SIM115
        self.count = 0
        #: where each unit still to do starts in the todo file, then where the file ends
        self.todo_at = array("q", [0])
        #: each unit's input bytes (a chunk's, or the file's), for sizing tasks
        self.todo_bytes = array("q")

    def add(self, unit: Unit) -> None:
        data = marshal.dumps(_unit_fields(unit))
        record = len(data).to_bytes(4, "little") + data
        self.fh.write(record)
        self.count += 1
        if not unit.reuse:
            self.todo_fh.write(record)
            self.todo_at.append(self.todo_at[-1] + len(record))
            self.todo_bytes.append((unit.end - unit.start) if unit.end is not None else max(unit.size, 0))

    def flush(self) -> None:
        self.fh.flush()
        self.todo_fh.flush()

    def todo_span(self, a: int, b: int) -> tuple[int, int]:
        """Where units ``a`` to ``b`` (excluded) of those still to do lie in the todo file."""
        return self.todo_at[a], self.todo_at[b]

    def todo_units(self, a: int, b: int) -> list[Unit]:
        """Units ``a`` to ``b`` (excluded) of those still to do."""
        start, end = self.todo_span(a, b)
        self.todo_fh.flush()
        self.todo_fh.seek(start)
        data = self.todo_fh.read(end - start)
        self.todo_fh.seek(0, os.SEEK_END)
        return _read_units(data)

    def __iter__(self) -> Iterator[Unit]:
        self.fh.flush()
        with open(self.path, "rb") as fh:
            while head := fh.read(4):
                yield Unit(*marshal.loads(fh.read(int.from_bytes(head, "little"))))

    def close(self) -> None:
        for fh, path in ((self.fh, self.path), (self.todo_fh, self.todo_path)):
            fh.close()
            with contextlib.suppress(OSError):
                path.unlink()


_TMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def _temporary(name: str) -> bool:
    """A file name only a write in progress, or the work in progress, has (never a finished
    output's): a temporary file, or the seek points of a ``.jsonl.gz`` being done in chunks."""
    return bool(_TMP_NAME.match(name)) or (name.startswith(".") and name.endswith(".jsonl.tmp")) \
        or name.endswith(".gzi") \
        or name in (".flags.csv.tmp", ".plan.tmp", ".todo.tmp", _OLD_PARTS_INDEX, f".{INDEX_FILE}.tmp")


def _sweep_temporaries(out_dir: Path) -> int:
    """Remove temporary files a killed run left behind (never a finished output)."""
    removed = 0
    for dirpath, _dirnames, filenames in os.walk(out_dir):
        for name in filenames:
            if _temporary(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
    return removed


def _sweep_folders(out_dir: Path, folders: Iterable[str]) -> int:
    """Remove the temporary files in these folders of OUT (not their subfolders): after the
    work, those of a worker that died while writing (the system killed it, a Dask worker was
    lost), whose unit another worker then did again. Only the folders this run wrote into are
    read, so a run that did a few files does not list all of OUT."""
    removed = 0
    for folder in folders:
        with contextlib.suppress(OSError), os.scandir(os.path.join(out_dir, folder)) as entries:
            for entry in entries:
                if _temporary(entry.name) and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
    return removed


def run(in_dir: Path | str, out_dir: Path | str, options: RunOptions) -> RunResult:
    """Clean every input under ``in_dir`` (a directory, or a URL fsspec can read) into ``out_dir``."""
    inputs, out_dir = inputs_of(in_dir), Path(out_dir)
    check_paths(inputs, out_dir)
    if options.engine not in ("local", "dask"):
        raise UsageError(f"unknown engine {options.engine!r} (engines: local, dask)")
    if options.engine == "dask" and options.scheduler:
        check_scheduler(options.scheduler)
    t0 = time.perf_counter()
    meta = out_dir / META_DIR
    parts = meta / PARTS_DIR
    if not parts.is_dir():  # nothing to reuse: the rules will be needed, so check them first
        options.loaded_rules()
    meta.mkdir(parents=True, exist_ok=True)
    with _only_run(meta):
        return _run(inputs, out_dir, options, t0, meta, parts)


#: the file a run holds an exclusive lock on, so that two runs never write one OUT at once
LOCK_FILE = ".lock"


@contextlib.contextmanager
def _only_run(meta: Path) -> Iterator[None]:
    """Hold OUT/_normalize/.lock for the run (where the system has ``flock``; released when
    the process ends, however it ends). A second run on the same OUT is a usage error."""
    try:
        import fcntl
    except ImportError:  # (Windows: no lock)
        yield
        return
    fd = os.open(meta / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666 & ~umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another normalize run is writing to {meta.parent} (it holds {meta / LOCK_FILE}); "
                             "wait for it to end") from None
        _STATE["lock_fd"] = fd  # a worker lets go of its inherited copy (_worker_start)
        yield
    finally:
        _STATE.pop("lock_fd", None)
        os.close(fd)


def _run(in_dir: Inputs, out_dir: Path, options: RunOptions, t0: float, meta: Path, parts: Path) -> RunResult:
    _sweep_temporaries(out_dir)
    threshold = effective_threshold(options)
    key = run_key(options, threshold)

    # 1. plan
    spool = _Spool(meta)
    todo = reused = 0
    digest = hashlib.sha256(f"{key}\n".encode())
    logs = PartLogs.restore(str(parts), str(meta / PARTS_INDEX), live=False)
    planning = _PlanProgress(options.quiet, t0)
    try:
        for unit in plan(in_dir, logs, out_dir, options, key):
            spool.add(unit)
            digest.update(_plan_line(unit))
            if unit.reuse:
                reused += 1
            else:
                todo += 1
            if not unit.chunk:
                planning.file()
        planning.close()
        t_plan = time.perf_counter() - t0
        assembled = meta / ASSEMBLED
        if not todo and _read_text(assembled) == digest.hexdigest() and (meta / "summary.json").is_file():
            # every result is current and was assembled from exactly these parts: the outputs stand
            # (no worker is started: 0 jobs, and loky, which counts the cores, is not imported)
            return _reassembled(in_dir, meta, logs, options, reused, 0, t0, t_plan, digest.hexdigest())
        jobs = options.jobs or usable_cores()
        with contextlib.suppress(OSError):
            assembled.unlink()  # the outputs are about to change
        run_seq = logs.next_run
        # the workers need not inherit the index, nor assembly build it again: it waits in a file
        logs.save(str(meta / PARTS_INDEX))
        del logs

        # 2. work
        where = in_dir.url if isinstance(in_dir, UrlInputs) else str(in_dir.resolve())
        spec = WorkSpec(where, str(out_dir.resolve()), str(options.rules.root),
                        options.rules.version, list(options.only), list(options.skip), options.text_field,
                        options.threshold, options.flagger, key, options.max_document_bytes, run_seq)
        progress = _progress(options.quiet, todo)
        t_load = 0.0
        if todo:
            t1 = time.perf_counter()
            rules = options.loaded_rules()
            spool.flush()
            if options.engine == "dask":
                results = _dask(spec, spool, jobs, options.scheduler, options.quiet)
            else:
                normalizer_for(spec, rules)  # (timed apart: what every run pays once, before its workers start)
                t_load = time.perf_counter() - t1
                results = _local(spec, spool, min(jobs, todo), rules)
            for finished in results:
                if progress is not None:
                    progress.update(finished)
        if progress is not None:
            progress.close()
        t_work = time.perf_counter() - t0 - t_plan

        # 3. assemble
        summary = _assemble(spool, in_dir, out_dir, options, threshold, key, run_seq)
    finally:
        planning.close()
        spool.close()
    assembled_from = summary.pop("_digest")
    summary["units"] = {"total": todo + reused, "done": todo, "reused": reused}
    summary["timings"] = {"wall_seconds": round(time.perf_counter() - t0, 3), "plan_seconds": round(t_plan, 3),
                          "work_seconds": round(t_work, 3), "load_seconds": round(t_load, 3), "jobs": jobs,
                          "engine": options.engine,
                          "pass_cpu_seconds": summary.pop("_pass_seconds")}
    _write_summary(meta, summary)
    _report(meta, summary, assembled_from)
    return RunResult(summary, 1 if summary["documents"]["failed"] else 0)


def _report(meta: Path, summary: dict[str, Any], assembled_from: str) -> None:
    """report.html from the summary just written, then the .assembled mark (the outputs stand)."""
    try:
        from .report import write_report

        write_report(meta.parent, known=summary["flags"])  # (counted as flags.jsonl was written)
    except Exception as exc:  # the report is a view of the run: its failure must not lose the run
        summary["report_error"] = f"{type(exc).__name__}: {exc}"
        _write_summary(meta, summary)
        print(f"normalize: warning: report.html was not written: {summary['report_error']}", file=sys.stderr)
    else:
        atomic_write(meta / ASSEMBLED, assembled_from.encode())


# ASSEMBLED (.assembled): the digest of the plan whose parts the outputs in OUT/_normalize were
# assembled from; written after the report, removed before the outputs change (so a killed run
# never leaves it stale). The record index (.by-file.tsv) holds only while it names the same plan.


def _write_summary(meta: Path, summary: dict[str, Any]) -> None:
    atomic_write(meta / "summary.json", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())


def _plan_line(unit: Unit, sha256: str | None = None) -> bytes:
    """What of a unit its outputs depend on (not ``reuse`` or the file's mtime), NUL-separated
    (no path or message holds a NUL); ``sha256``: the file's hash, if not the unit's."""
    fields = _plan_fields(unit)
    if sha256 is not None:
        fields = (fields[0], sha256, *fields[2:])
    return "\0".join(map(str, fields)).encode("utf-8", "surrogateescape") + b"\n"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _reassembled(in_dir: Inputs, meta: Path, logs: PartLogs, options: RunOptions, reused: int, jobs: int,
                 t0: float, t_plan: float, assembled_from: str) -> RunResult:
    """A run with nothing to do: the previous summary, with this run's units, timings and stale
    outputs (which a run that found nothing new can still have to report, or ``--prune``). If
    IN, OUT or the rules directory were moved since, the summary and the report say where they
    are now (they named the old places: the results themselves do not depend on them)."""
    summary = json.loads((meta / "summary.json").read_text(encoding="utf-8"))
    summary["stale"] = _stale(meta.parent, logs, prune=options.prune)  # (the plan marked the live records)
    places = {"input": str(in_dir), "output": str(meta.parent)}
    moved = any(summary.get(k) != v for k, v in places.items()) \
        or summary.get("rules", {}).get("dir") != str(options.rules.root)
    if moved:
        summary.update(places)
        summary["rules"] = {**summary.get("rules", {}), "dir": str(options.rules.root)}
    summary["units"] = {"total": reused, "done": 0, "reused": reused}
    summary["timings"] = {"wall_seconds": round(time.perf_counter() - t0, 3), "plan_seconds": round(t_plan, 3),
                          "work_seconds": 0.0, "load_seconds": 0.0, "jobs": jobs, "engine": options.engine,
                          "pass_cpu_seconds": summary.get("timings", {}).get("pass_cpu_seconds", {})}
    if moved:  # the report shows the places too: as after any assembly, it is written after the
        # summary, with .assembled away meanwhile (a run killed in between writes both again)
        (meta / ASSEMBLED).unlink()
        summary.pop("report_error", None)
    _write_summary(meta, summary)
    if moved:
        _report(meta, summary, assembled_from)
    return RunResult(summary, 1 if summary["documents"]["failed"] else 0)


def effective_threshold(options: RunOptions) -> float | None:
    """The flag threshold the run uses (without loading the flagger's models)."""
    if options.threshold is not None or not options.flagger:
        return options.threshold
    from .flagger.files import WEIGHTS_FILE, model_dir

    return float(json.loads((model_dir(options.rules) / WEIGHTS_FILE).read_text(encoding="utf-8"))["threshold"])


def _assemble(spool: _Spool, in_dir: Inputs, out_dir: Path, options: RunOptions, threshold: float | None,
              key: str, run: int) -> dict[str, Any]:
    """The run's outputs in OUT/_normalize from the records of the plan's units (``run``: the
    sequence number of this run's logs, which hold the records of the units it did)."""
    meta = out_dir / META_DIR
    # the plan's index, with the logs of this run's workers added
    logs = PartLogs.restore(str(meta / PARTS_DIR), str(meta / PARTS_INDEX))
    sinks = {name: _Sink(meta / name) for name in (*SECTIONS, "manifest.jsonl")}
    index_sink = _Sink(meta / INDEX_FILE)  # (committed after the files it describes)
    index = IndexWriter(index_sink.fh)
    csv_head = io.StringIO()
    csv.writer(csv_head).writerow(FLAG_CSV_FIELDS)
    sinks["flags.csv"].write(csv_head.getvalue())
    copied = [sinks[name].fh for name in SECTIONS if name != "errors.jsonl"]
    counts: Counter[str] = Counter()
    by: dict[str, Counter[str]] = {k: Counter() for k in ("pass", "rule", "action", "reason", "error")}
    pass_seconds: Counter[str] = Counter()
    # the plan's digest as the next plan will compute it: with the hashes the workers found
    # for the files this plan did not hash
    digest = hashlib.sha256(f"{key}\n".encode())
    files_failed = 0
    file_acc: dict[str, Any] | None = None
    written_in: set[str] = set()  # the folders of OUT this run's workers wrote into

    def close_file(acc: dict[str, Any] | None) -> None:
        nonlocal files_failed
        if acc is None:
            return
        index.end(acc["flags"])
        counts["files_seen"] += 1
        if acc["failed"] or acc["errors"]:
            files_failed += 1
        row = {"file": acc["file"], "sha256": acc["sha256"], "key": key,
               "seen": acc["seen"], "written": acc["written"], "failed": acc["failed"]}
        sinks["manifest.jsonl"].write(_json_line(row))
        if acc["chunks"] > 1:
            _join_pieces(out_dir, acc["units"])

    for unit in spool:
        logs.keep(unit.rel, unit.chunk)
        if file_acc is None or file_acc["file"] != unit.rel:
            close_file(file_acc)
            index.start(unit.rel)
            file_acc = {"file": unit.rel, "sha256": unit.sha256, "chunks": unit.chunks, "seen": 0,
                        "written": 0, "failed": 0, "errors": 0, "flags": 0, "units": []}
        file_acc["units"].append(unit)
        if not unit.reuse:
            written_in.add(os.path.dirname(unit.rel))
            if unit.chunks > 1:  # (its piece, and a .jsonl.gz's seek points)
                written_in.add(os.path.dirname(os.path.join(META_DIR, PARTS_DIR, unit.part_name)))
        rec = _result(logs, unit, key, run)
        if rec is None or unit.sha256:
            digest.update(_plan_line(unit))
        if rec is None:  # a worker died before writing it: the unit's documents failed
            row = {"file": unit.rel, "error": "internal", "failed": 1,
                   "message": "no result for this file: its worker process died (killed by the system, out of "
                              "memory?) or the run was interrupted; the next run tries it again"}
            sinks["errors.jsonl"].write(_json_line(row))
            by["error"]["internal"] += 1
            file_acc["seen"] += 1
            file_acc["failed"] += 1
            file_acc["errors"] += 1
            counts["documents_seen"] += 1  # (failed: seen, not written)
            continue
        if rec.size <= BIG_RECORD:  # (read at once: one system call, as most are small)
            header, sections = logs.read(rec)
            body: list[Iterable[bytes | memoryview]] = [[section] for section in sections]
        else:  # copied a block at a time, never held whole
            header, spans = logs.spans(rec)
            body = [logs.blocks(rec, at, n) for at, n in spans]
        if not unit.sha256:
            digest.update(_plan_line(unit, header["sha256"]))
        seen, written = header["seen"], header["written"]
        if header.get("sha256") != unit.sha256:  # the file changed while it was read
            file_acc["sha256"] = header.get("sha256")
        file_acc["seen"] += seen
        file_acc["written"] += written
        file_acc["failed"] += seen - written
        pass_seconds.update({k: v for k, v in header["timings"].items() if k != "unit_seconds"})
        tally = header["tally"]
        counts["chars_in"] += tally["chars"][0]
        counts["chars_out"] += tally["chars"][1]
        counts["flags"] += tally["flags"]
        file_acc["flags"] += tally["flags"]
        for pass_, rule, action, n in tally["edits"]:
            by["pass"][pass_] += n
            by["rule"][f"{pass_}/{rule}"] += n
            by["action"][action] += n
        by["reason"].update(tally["reasons"])
        *as_they_are, errors = body  # (SECTIONS ends with errors.jsonl)
        for fh, section in zip(copied, as_they_are, strict=True):  # (the header counted what they hold)
            for block in section:
                fh.write(block)
        index.wrote(header["sections"][: len(INDEXED)])
        for line in b"".join(errors).decode("utf-8").split("\n")[:-1]:
            obj = json.loads(line)
            if obj.get("error") == "changed" and header.get("sha256") == unit.sha256:
                continue  # a reused result whose input now holds exactly the bytes read
            sinks["errors.jsonl"].fh.write(line.encode("utf-8", "backslashreplace") + b"\n")
            by["error"][obj["error"]] += 1
            file_acc["errors"] += 1
        counts["documents_seen"] += seen
        counts["documents_written"] += written
    close_file(file_acc)
    logs.close()
    if written_in:
        _sweep_folders(out_dir, sorted(written_in))
    index.finish(digest.hexdigest())  # (valid once .assembled holds the same digest)
    for sink in (*sinks.values(), index_sink):
        sink.commit()
    stale = _stale(out_dir, logs, prune=options.prune)

    return {
        "tool": {"name": "normalize", "version": __version__},
        "rules": {"dir": str(options.rules.root), "version": options.rules.version},
        "config": {**options.config(), "threshold": threshold},
        "run_key": key,
        "input": str(in_dir),
        "output": str(out_dir),
        "files": {"seen": counts["files_seen"], "with_errors": files_failed},
        "documents": {"seen": counts["documents_seen"], "written": counts["documents_written"],
                      "failed": counts["documents_seen"] - counts["documents_written"]},
        "characters": {"input": counts["chars_in"], "output": counts["chars_out"]},
        "edits": {"total": sum(by["action"].values()), "by_action": dict(sorted(by["action"].items())),
                  "by_pass": dict(sorted(by["pass"].items())), "by_rule": dict(sorted(by["rule"].items()))},
        "flags": {"total": counts["flags"], "by_reason": dict(sorted(by["reason"].items()))},
        "errors": {"total": sum(by["error"].values()), "by_kind": dict(sorted(by["error"].items()))},
        "stale": stale,
        "_pass_seconds": {k: round(v, 4) for k, v in sorted(pass_seconds.items())},
        "_digest": digest.hexdigest(),
    }


def _result(logs: PartLogs, unit: Unit, key: str, run: int) -> Record | None:
    """The record a unit's results are assembled from: for a unit this run did, the one it
    wrote (run ``run``); for a reused one, its current record. None: there is none."""
    rec = logs.get(unit.rel, unit.chunk)
    if rec is None:
        return None
    ok = rec.current(unit.sha256, key, unit.chunks, unit.start) if unit.reuse else rec.run == run
    return rec if ok else None


def _join_pieces(out_dir: Path, units: list[Unit]) -> None:
    """The output of a file cleaned in chunks: its pieces, in order, as one file."""
    with atomic_file(_output_path(out_dir, units[0].rel)) as dst:
        for u in units:
            piece = _piece_path(out_dir, u)
            if piece.exists():
                with open(piece, "rb") as src:
                    shutil.copyfileobj(src, dst, _HASH_BLOCK)


def _stale(out_dir: Path, logs: PartLogs, *, prune: bool) -> dict[str, Any]:
    """Outputs of inputs that are gone (their records in ``logs`` were not marked live by the
    plan: :meth:`PartLogs.keep`): reported, and removed with ``prune``. The logs are then
    compacted (:meth:`PartLogs.compact`): the records of pruned units go, those of gone ones
    not pruned stay (so the next run reports them too), except the later chunks' (of a file now
    cut into fewer chunks, or gone), which go with their pieces."""
    gone_units = list(logs.gone())
    gone = sorted({rel for rel, chunk in gone_units if chunk == 0})
    removed = []
    for rel, chunk in gone_units:  # (the pieces of later chunks go with their records, see compact)
        if prune or chunk > 0:
            with contextlib.suppress(OSError):
                _piece_path(out_dir, Unit(rel, chunk=chunk)).unlink()
    if prune:
        root = out_dir.resolve()
        for rel in gone:
            target = (out_dir / rel).resolve()
            if root in target.parents and META_DIR not in target.relative_to(root).parts[:1]:
                with contextlib.suppress(OSError):
                    target.unlink()
                    removed.append(rel)
    index = out_dir / META_DIR / PARTS_INDEX
    if logs.compact(prune=prune):  # the records moved: the next plan indexes the logs again
        with contextlib.suppress(OSError):
            index.unlink()
    elif logs.dirty:  # kept for the next plan, which does without it if it cannot be written
        try:
            logs.save(str(index))
        except OSError:
            with contextlib.suppress(OSError):
                index.unlink()
    return {"outputs": gone, "removed": sorted(removed)}


#: a plan that has taken this long (seconds) shows on a terminal how many files it went through
PLAN_PROGRESS_AFTER = 1.0


class _PlanProgress:
    """The count of files planned, on a terminal (not with ``--quiet``), once the run has taken
    :data:`PLAN_PROGRESS_AFTER` seconds: a first run over millions of files lists and stats them
    all, a re-run hashes the big files that changed, and neither should leave the operator
    before a silent terminal. (tqdm is imported only then: a quick re-run does without it.)"""

    def __init__(self, quiet: bool, t0: float) -> None:
        self.on = not quiet and sys.stderr.isatty()
        self.t0 = t0
        self.files = 0
        self.bar: Any = None

    def file(self) -> None:
        self.files += 1
        if not self.on:
            return
        if self.bar is None:
            if time.perf_counter() - self.t0 < PLAN_PROGRESS_AFTER:
                return
            from tqdm import tqdm

            self.bar = tqdm(desc="planning", unit=" files", initial=self.files, dynamic_ncols=True)
        elif not self.files & 63:  # (tqdm's update costs a microsecond; a million files are planned)
            self.bar.update(self.files - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.files - self.bar.n)
            self.bar.close()
            self.bar = None


def _progress(quiet: bool, total: int) -> Any:
    if quiet or not sys.stderr.isatty() or not total:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="normalize", dynamic_ncols=True)

