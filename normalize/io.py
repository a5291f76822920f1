"""Reading inputs and writing outputs: decoding, JSONL records, atomic writes."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

_UMASK = os.umask(0)
os.umask(_UMASK)

#: Input kinds the batch runner reads, by file name ending.
SUFFIXES = (".txt", ".jsonl", ".jsonl.gz")


#: ``json.dumps(obj, ensure_ascii=False)``, the same text: ``dumps`` with an argument of its own
#: makes a new encoder on every call, and the runner writes a line per document, edit and flag
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class InputError(Exception):
    """A document that cannot be read as text (binary, undecodable, malformed record)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str


_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
]


def decode_bytes(data: bytes) -> Decoded:
    """Decode a text file's bytes: BOMs first, then strict UTF-8, then UTF-16 without a BOM
    (recognised by its NUL bytes), then cp1252 (latin-1 where cp1252 has no character).

    Raises InputError for binary data. The BOM is not part of the decoded text, so offsets
    count from the first character after it.
    """
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(codec), name)
            except UnicodeDecodeError as exc:
                raise InputError(f"starts with a {name} byte order mark but does not decode: {exc}") from None
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:  # (ASCII in UTF-16 is valid UTF-8 too, NULs and all)
            return _checked(text, "utf-8")
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return _checked(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise InputError("binary data (NUL bytes) in a text file")
    try:
        return _checked(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return _checked(data.decode("latin-1"), "latin-1")


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / len(sample[0::2])
    odd_nul = sample[1::2].count(0) / len(sample[1::2])
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


#: control characters no text file has many of (tab, line breaks, form feed and ESC excepted)
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")
#: a file whose first 64 K characters are more than this share control characters is binary
BINARY_CONTROL_SHARE = 0.02


def _checked(text: str, encoding: str) -> Decoded:
    if "\x00" in text:
        raise InputError(f"binary data: NUL characters after decoding as {encoding}")
    sample = text[:65536]
    controls = len(_CONTROL.findall(sample))
    if controls >= 16 and controls > BINARY_CONTROL_SHARE * len(sample):
        raise InputError(f"binary data: {controls} control characters in the first {len(sample)} "
                         f"characters (decoded as {encoding})")
    return Decoded(text, encoding)


def read_text_file(path: Path) -> Decoded:
    return decode_bytes(path.read_bytes())


@dataclass(slots=True)
class Record:
    """One line of a JSONL input: its text field, or the error that stopped it.

    ``raw`` is the line as decoded (without its line break); ``span`` is where the text field's
    JSON value sits in ``raw``, so the cleaned text can replace it and leave every other byte
    of the line (numbers, escapes, key order, spacing) exactly as it was.
    """

    line: int
    text: str | None
    error: str | None = None
    raw: str = ""
    span: tuple[int, int] = (0, 0)
    end: str = ""  # the line break the line had ("\n", "\r\n" or "" on a last line)

    def with_text(self, text: str) -> str:
        """The line with its text field set to ``text`` (the line itself if unchanged)."""
        if text == self.text:
            return self.raw + self.end
        value = _ENCODE(text)
        return self.raw[: self.span[0]] + value + self.raw[self.span[1] :] + self.end


def iter_jsonl(path: Path, text_field: str) -> Iterator[Record]:
    """Yield every non-blank line of a .jsonl or .jsonl.gz file as a Record."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for n, raw_bytes in enumerate(fh, 1):
            rec = parse_jsonl_line(n, raw_bytes, text_field)
            if rec is not None:
                yield rec


class _Number(str):
    """A JSON number or constant, kept as its text (never taken for a string value)."""


def _keep(token: str) -> str:
    return _Number(token)


#: numbers and constants stay as their JSON text: no float rounding, no limit on integer digits
_DECODER = json.JSONDecoder(parse_int=_keep, parse_float=_keep, parse_constant=_keep)
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_WS = " \t\n\r"


def parse_jsonl_line(n: int, raw_bytes: bytes, text_field: str) -> Record | None:
    """Line ``n`` of a JSONL input as a Record (None for a blank line).

    A UTF-8 byte order mark before the first line's object is allowed (and kept)."""
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(n, None, f"line is not UTF-8: {exc}", raw_bytes.decode("utf-8", "replace").rstrip("\r\n"))
    body = raw.rstrip("\r\n")
    end = raw[len(body) :]
    if not body.strip():
        return None
    bom = 1 if n == 1 and body.startswith("\ufeff") else 0
    try:
        obj = _DECODER.decode(body[bom:])
    except RecursionError:
        return Record(n, None, "invalid JSON: nested too deeply", body)
    except ValueError as exc:
        return Record(n, None, f"invalid JSON: {exc}", body)
    if not isinstance(obj, dict):
        return Record(n, None, "a JSON object is expected on each line", body)
    text = obj.get(text_field)
    if not isinstance(text, str) or isinstance(text, _Number):
        return Record(n, None, f"no string field {text_field!r}", body)
    if _SURROGATE.search(text):
        return Record(n, None, f"field {text_field!r} has an unpaired surrogate escape (\\ud800-\\udfff): "
                               "not a character, and not writable as UTF-8", body)
    return Record(n, text, None, body, _value_span(body, bom, text_field), end)


def _value_span(body: str, pos: int, key: str) -> tuple[int, int]:
    """Where the value of the last top-level ``key`` is in ``body``, a valid JSON object."""

    def ws(i: int) -> int:
        while i < len(body) and body[i] in _JSON_WS:
            i += 1
        return i

    i = ws(ws(pos) + 1)  # after "{"
    found = (0, 0)
    while i < len(body) and body[i] != "}":
        name, i = _DECODER.raw_decode(body, i)
        i = ws(ws(i) + 1)  # after ":"
        _value, end = _DECODER.raw_decode(body, i)
        if name == key:
            found = (i, end)  # the last one wins, as in json.loads
        i = ws(end)
        if body[i] == ",":
            i = ws(i + 1)
    return found


def dumps_record(obj: Any) -> str:
    """``obj`` as one line of JSON (no line break): non-ASCII characters as they are."""
    return _ENCODE(obj)


def umask() -> int:
    """The process's umask (read once at import)."""
    return _UMASK


def read_up_to(fd: int, n: int) -> bytes:
    """``n`` bytes from the descriptor ``fd``, fewer only at the end of the file (``os.read``
    may give fewer before it: some filesystems, such as FUSE and network mounts, read short)."""
    data = os.read(fd, n)
    if 0 < len(data) < n:
        parts, got = [data], len(data)
        while got < n and (block := os.read(fd, n - got)):
            parts.append(block)
            got += len(block)
        data = b"".join(parts)
    return data


def write_all(fd: int, data: bytes | bytearray) -> None:
    """Write all of ``data`` to the descriptor ``fd`` (``os.write`` may write only a part)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_pieces(fd: int, pieces: Sequence[bytes | bytearray]) -> None:
    """Write ``pieces`` one after the other to the descriptor ``fd``, with as few system calls
    as the system allows (``os.writev``, which may also write only a part), never joining them."""
    views = [memoryview(p) for p in pieces if len(p)]
    if not hasattr(os, "writev"):  # (Windows)
        for v in views:
            write_all(fd, v)
        return
    while views:
        n = os.writev(fd, views)  # (a record's few pieces: far below the system's IOV_MAX)
        while views and n >= len(views[0]):
            n -= len(views.pop(0))
        if n:
            views[0] = views[0][n:]



#: how a temporary file is made: new (never an existing file or link), closed on exec
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_TEMP_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


class _TempNames:
    """The 8 characters that make a temporary name unique: a counter from a random start,
    drawn again in a forked child (so that workers do not walk the same names). A name that
    exists already is skipped (the file is made with O_EXCL)."""

    def __init__(self) -> None:
        self.reseed()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.n = int.from_bytes(os.urandom(6), "big")

    def next(self) -> str:
        self.n = n = (self.n + 1) % 36**8
        out = []
        for _ in range(8):
            n, d = divmod(n, 36)
            out.append(_TEMP_CHARS[d])
        return "".join(out)


_TEMP_NAMES = _TempNames()


def _new_temp(path: Path | str) -> tuple[int, str]:
    """A new temporary file beside ``path`` (its folder made if missing), open for writing:
    (descriptor, name). The name is ``.NAME.XXXXXXXX.tmp`` (what a new run sweeps); the file
    takes the usual permissions (0666 less the umask: the mode asked for when it is made;
    ``mkstemp`` made 0600 and needed a chmod) and is made with O_EXCL, never over a file."""
    folder, name = os.path.split(os.fspath(path))
    prefix = temp_prefix(name)
    made = False
    for _ in range(1000):
        tmp = os.path.join(folder, f"{prefix}{_TEMP_NAMES.next()}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:  # the folder is made only when it is missing (one system call less)
            if made:
                raise
            os.makedirs(folder or ".", exist_ok=True)
            made = True
    raise FileExistsError(f"no free temporary name beside {path}")


def _publish(fd: int, tmp: str, path: Path | str, data: bytes | None) -> None:
    """Write ``data`` (if given) to the temporary file, close it and rename it to ``path``;
    on any failure, remove it."""
    try:
        try:
            if data is not None:
                write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through, so that readers see either nothing or the whole
    file, never a part: the bytes go to a temporary file beside ``path`` (its folder is made if
    missing), which takes the usual permissions and is renamed to ``path`` when the block ends,
    or is removed if the block raises."""
    fd, tmp = _new_temp(path)
    try:
        fh = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        with fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: Path | str, data: bytes | Iterable[bytes], *, keep_same: bool = False) -> bool:
    """Write a file through :func:`atomic_file`. ``data``: the bytes, or pieces of them written
    one after the other (never all held at once). With ``keep_same`` (``data`` as bytes), a
    regular file (not a link, not hard-linked) that already holds exactly ``data`` with the
    usual permissions is left as it is, modification time included (reading it is cheaper than
    replacing it). Returns whether the file was written."""
    if not isinstance(data, bytes):
        with atomic_file(path) as fh:
            for piece in data:
                fh.write(piece)
        return True
    if keep_same and holds(path, data):
        return False
    # bytes go straight to the descriptor: a file object per output (one for each document of
    # a corpus of .txt files) cost more than the write
    fd, tmp = _new_temp(path)
    _publish(fd, tmp, path, data)
    return True


_HOLDS_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def holds(path: Path | str, data: bytes) -> bool:
    """Whether ``path`` is a regular file of its own (no symbolic link, one hard link) with the
    permissions :func:`atomic_write` gives, holding exactly ``data``."""
    try:
        fd = os.open(path, _HOLDS_FLAGS)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size != len(data) \
                or stat.S_IMODE(st.st_mode) != 0o666 & ~_UMASK:
            return False
        return read_up_to(fd, len(data) + 1) == data  # (one byte more: a file that grew)
    except OSError:
        return False
    finally:
        os.close(fd)


def temp_prefix(name: str) -> str:
    """The prefix of a temporary file beside ``name``: short enough that the temporary name
    stays within the 255-byte limit of a file name however long ``name`` is."""
    while len(name.encode("utf-8", "surrogateescape")) > 200:
        name = name[: len(name) // 2]
    return f".{name}."


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no timestamp or name, so the same content gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def input_kind(name: str) -> str | None:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None
