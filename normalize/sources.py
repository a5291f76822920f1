"""Inputs read through fsspec: ``normalize run s3://bucket/news OUT`` (any URL whose protocol
the installed fsspec knows; ``file://`` included).

A run's IN may be such a URL; OUT stays a directory (local, or shared with the workers),
because what makes a run safe to kill and resume lives there: the lock, the part logs and the
outputs written under temporary names and renamed. The workers open the inputs themselves, by
URL, with the credentials their own machine has (fsspec's configuration and environment).

What a URL input is given, against a directory: the same plan (every input file, in the same
order as a directory's walk, big ``.jsonl`` files cut into chunks of whole lines, a file read
only when its hash decides something: its identity, see :func:`identity_of`, is read off the
folder's listing), the same outputs. What it is not given: symbolic links, FIFOs and names that are not UTF-8 do
not exist behind a URL; a listing error of a folder is reported as it is for a directory.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import re
from collections.abc import Iterator
from typing import Any

from .io import input_kind

#: a URL: a protocol, then "://"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
#: the read buffer of an input file opened by URL
BLOCK = 1 << 20
#: the info keys filesystems give a modification time under (local, S3, GCS, Azure, memory)
_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "created")
#: the info keys that name an object's version, which its store changes whenever its bytes
#: change (S3's ETag and VersionId, GCS's generation and hashes, Azure's etag)
_VERSION_KEYS = ("ETag", "etag", "VersionId", "version_id", "generation", "md5Hash", "crc32c", "content_md5")


class SourceError(Exception):
    """A URL that cannot be read as a run's input (no fsspec, an unknown protocol, no folder)."""


def is_url(value: object) -> bool:
    """Whether ``value`` is written as a URL (``protocol://...``) rather than a path."""
    return bool(_URL.match(str(value)))


def mtime_ns(info: dict[str, Any]) -> int:
    """The modification time fsspec's ``info`` gives a file, in nanoseconds (0: none given)."""
    for key in _MTIME_KEYS:
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            try:
                value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_dt.UTC)
            return int(value.timestamp() * 1_000_000) * 1000
        if isinstance(value, int | float):
            return int(value * 1_000_000) * 1000
    return 0


def identity_of(info: dict[str, Any]) -> tuple[list[int], int | None] | None:
    """What a later plan compares instead of reading the file again, from fsspec's ``info``,
    and the time in nanoseconds its status last changed, when that is what it rests on (see
    ``runner.identity``): for a local file (``file://``) its size, mtime, ctime and inode, as
    for a directory; for an object in a store, its size, modification time and version (an
    ETag, a generation: the store sets a new one whenever the bytes change). None when the
    filesystem gives neither (``memory://``): such a file is hashed on every run."""
    try:
        size = int(info["size"])
        if info.get("ino") and isinstance(info.get("created"), int | float):
            ctime = int(info["created"] * 1_000_000) * 1000
            return [size, mtime_ns(info), ctime, int(info["ino"])], ctime
        versions = [f"{k}={info[k]}" for k in _VERSION_KEYS if info.get(k) not in (None, "")]
    except (KeyError, TypeError, ValueError):
        return None
    if not versions:
        return None
    digest = hashlib.blake2b("\0".join(versions).encode("utf-8", "backslashreplace"), digest_size=8).digest()
    return [size, mtime_ns(info), int.from_bytes(digest, "little", signed=True), 0], None


class UrlInputs:
    """The input files under a URL, as the runner reads them (see the module's docstring)."""

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs
        except ImportError as exc:
            raise SourceError("an input URL needs fsspec: pip install 'normalize[dask]' (or fsspec), "
                              "and the package of the URL's filesystem (s3fs, gcsfs, ...)") from exc
        try:
            self.fs, root = url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise SourceError(f"cannot read {url!r}: {exc}") from exc
        self.url = url
        self.root = root.rstrip("/") or "/"
        #: the fsspec info of the files of the folder the walk is in (relative path -> info)
        self._listed: dict[str, dict[str, Any]] = {}

    def __str__(self) -> str:
        return self.url

    @property
    def local_root(self) -> str | None:
        """The folder on this machine the URL names (``file://``), else None."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple | list) else (self.fs.protocol,)
        return self.root if "file" in protocols else None

    def is_dir(self) -> bool:
        try:
            return bool(self.fs.isdir(self.root))
        except OSError:
            return False

    def path(self, rel: str) -> str:
        return f"{self.root.rstrip('/')}/{rel}"

    def walk(self, skip_dir: str) -> Iterator[tuple[str, str | None, bool]]:
        """(relative path, problem, warning) of every input file, in a directory walk's order:
        a folder's files by name, then its folders by name (``skip_dir`` folders are not read)."""
        yield from self._walk(self.root, "", skip_dir)

    def _walk(self, folder: str, prefix: str, skip_dir: str) -> Iterator[tuple[str, str | None, bool]]:
        try:
            entries = self.fs.ls(folder, detail=True)
        except OSError as exc:
            yield (prefix or "./"), f"cannot list directory: {exc.strerror or exc}", False
            return
        files: list[tuple[str, str]] = []  # (name, type)
        dirs: list[tuple[str, str]] = []  # (name, full path)
        base = folder.rstrip("/")
        listed: dict[str, dict[str, Any]] = {}
        for entry in entries:
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            full = str(entry["name"]).rstrip("/")
            if not name or full == base:
                continue
            if entry.get("type") == "directory":
                if name != skip_dir:
                    dirs.append((name, full))
            else:
                files.append((name, str(entry.get("type", "file"))))
                listed[prefix + name] = entry
        self._listed = listed  # (the plan asks about each file as it is yielded)
        for name, kind in sorted(set(files)):
            if input_kind(name) is None:
                continue
            rel = prefix + name
            if kind != "file":
                yield rel, "not a regular file (a FIFO, socket or device); not read", False
                continue
            yield rel, None, False
        for name, full in sorted(set(dirs)):
            yield from self._walk(full, prefix + name + "/", skip_dir)

    def state(self, rel: str, *, listed: bool = False) -> tuple[int, int, list[int] | None, int | None]:
        """(size, mtime_ns, identity, ctime_ns) of an input file (see :func:`identity_of`): as
        the walk's listing gave them (``listed``, no request to the store, where the file was
        listed), else as its filesystem reports them now (not from fsspec's listing cache)."""
        info = self._listed.get(rel) if listed else None
        if info is None:
            path = self.path(rel)
            self.fs.invalidate_cache(path)
            info = self.fs.info(path)
        got = identity_of(info)
        return int(info.get("size") or 0), mtime_ns(info), *(got if got is not None else (None, None))

    def open(self, rel: str) -> Any:
        """An input file for reading in binary, buffered (``readline(limit)``, ``seek``)."""
        raw = self.fs.open(self.path(rel), "rb")
        try:
            return io.BufferedReader(raw, BLOCK)
        except BaseException:
            raw.close()
            raise


__all__ = ["SourceError", "UrlInputs", "identity_of", "is_url", "mtime_ns"]
