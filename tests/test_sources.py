"""Inputs read through fsspec (normalize.sources): ``normalize run URL OUT``.

A URL input must give exactly what its directory gives: the same plan, the same outputs byte
for byte, the same re-runs. ``file://`` URLs run through fsspec's own code path on real files
(the local engine's workers and Dask's processes can all read them); ``memory://`` is a
filesystem with no local path at all, read in one process.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

pytest.importorskip("fsspec")

from test_incremental import cli, outputs, summary

from normalize import runner
from normalize.rules import RuleSet
from normalize.sources import UrlInputs, is_url, mtime_ns


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Files at the top and in nested folders, a big .jsonl and a big .jsonl.gz (cut into chunks
    with --chunk-mb 0.001), a small .jsonl.gz, a file that is not an input and an earlier run's
    _normalize folder."""
    inp = tmp_path / "in"
    (inp / "b" / "deep").mkdir(parents=True)
    (inp / "a").mkdir()
    (inp / "_normalize").mkdir()
    (inp / "z.txt").write_text("NATO ,  the Alliance said so.\n", encoding="utf-8")
    (inp / "a" / "one.txt").write_text("Andrej Doubt met the press .\n", encoding="utf-8")
    (inp / "b" / "deep" / "two.txt").write_text("Keep reading: more news\nThe summit ended.\n", encoding="utf-8")
    lines = [json.dumps({"id": i, "text": f"Report {i}: NATO ,  the Alliance met in Vilnius."}) for i in range(60)]
    (inp / "b" / "big.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gzip.open(inp / "a" / "small.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "The minister ’s visit ."}) + "\n")
    with gzip.open(inp / "a" / "dump.jsonl.gz", "wt", encoding="utf-8") as fh:  # (in chunks too)
        for i in range(80):
            fh.write(json.dumps({"id": i, "text": f"Item {i}: Andrej Doubt met the press ,  said {i * 7919}."}) + "\n")
    (inp / "a" / "notes.md").write_text("not an input", encoding="utf-8")
    (inp / "_normalize" / "old.txt").write_text("an earlier run's file: never read", encoding="utf-8")
    return inp


def url_of(path: Path) -> str:
    return path.resolve().as_uri()


def same(out: Path, inp: str) -> dict[str, bytes]:
    """outputs(), with the input as the report names it replaced (it is a path or a URL)."""
    got = outputs(out)
    got["_normalize/report.html"] = got["_normalize/report.html"].replace(inp.encode(), b"IN")
    return got


def test_urls_are_told_from_paths():
    assert is_url("s3://bucket/news") and is_url("file:///data/in") and is_url("gcs://b/x")
    assert not is_url("/data/in") and not is_url("corpus_in") and not is_url("C:\\data") and not is_url("a:b")


def test_a_url_is_walked_in_the_order_of_its_directory(tree):
    assert list(UrlInputs(url_of(tree)).walk(runner.META_DIR)) == list(runner.discover(tree))
    assert [rel for rel, _, _ in runner.discover(tree)] == [
        "z.txt", "a/dump.jsonl.gz", "a/one.txt", "a/small.jsonl.gz", "b/big.jsonl", "b/deep/two.txt"]


def test_a_file_url_gives_the_bytes_of_its_directory(tree, tmp_path):
    by_path, by_url = tmp_path / "by_path", tmp_path / "by_url"
    args = ("-q", "--jobs", "2", "--chunk-mb", "0.001")
    assert cli("run", str(tree), str(by_path), *args).returncode == 0
    r = cli("run", url_of(tree), str(by_url), *args)
    assert r.returncode == 0, r.stderr.decode()
    s = summary(by_url)
    assert s["input"] == url_of(tree)
    assert s["units"]["total"] == summary(by_path)["units"]["total"] > 10  # the big .jsonl and .jsonl.gz in chunks
    manifest = [json.loads(line) for line in (by_url / "_normalize" / "manifest.jsonl").open()]
    assert next(m for m in manifest if m["file"] == "a/dump.jsonl.gz")["written"] == 80
    assert same(by_url, url_of(tree)) == same(by_path, str(tree))


def test_a_url_rerun_reuses_what_is_unchanged_and_redoes_what_changed(tree, tmp_path):
    out = tmp_path / "out"
    assert cli("run", url_of(tree), str(out), "-q", "--jobs", "2").returncode == 0
    first = outputs(out)
    assert cli("run", url_of(tree), str(out), "-q").returncode == 0
    assert summary(out)["units"] == {"total": 6, "done": 0, "reused": 6}
    assert outputs(out) == first
    (tree / "a" / "one.txt").write_text("Gypsy Nausėda spoke .\n", encoding="utf-8")
    assert cli("run", url_of(tree), str(out), "-q").returncode == 0
    assert summary(out)["units"] == {"total": 6, "done": 1, "reused": 5}
    assert (out / "a" / "one.txt").read_text(encoding="utf-8") == "Gitanas Nausėda spoke.\n"


def test_the_dask_engine_reads_a_url_input(tree, tmp_path):
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert cli("run", str(tree), str(local), "-q", "--jobs", "2", "--chunk-mb", "0.001").returncode == 0
    r = cli("run", url_of(tree), str(dask), "-q", "--jobs", "2", "--engine", "dask", "--chunk-mb", "0.001")
    assert r.returncode == 0, r.stderr.decode()
    assert summary(dask)["timings"]["engine"] == "dask"
    assert same(dask, url_of(tree)) == same(local, str(tree))


def test_a_filesystem_with_no_local_path_gives_the_same_outputs(tree, tmp_path):
    import fsspec

    mem = fsspec.filesystem("memory")
    root = f"/normalize-test-{tmp_path.name}"
    for p in sorted(tree.rglob("*")):
        if p.is_file():
            mem.pipe(f"{root}/{p.relative_to(tree).as_posix()}", p.read_bytes())
    try:
        opts = {"jobs": 1, "quiet": True, "chunk_bytes": 1024}
        a = runner.run(tree, tmp_path / "a", runner.RunOptions(rules=RuleSet.load(), **opts))
        b = runner.run(f"memory://{root}", tmp_path / "b", runner.RunOptions(rules=RuleSet.load(), **opts))
        assert a.exit_code == b.exit_code == 0
        assert same(tmp_path / "b", f"memory://{root}") == same(tmp_path / "a", str(tree))
        again = runner.run(f"memory://{root}", tmp_path / "b", runner.RunOptions(rules=RuleSet.load(), **opts))
        assert again.summary["units"]["reused"] == again.summary["units"]["total"]
    finally:
        mem.rm(root, recursive=True)


@pytest.mark.parametrize(("url", "message"), [
    ("nosuchprotocol://bucket/in", "Protocol not known: nosuchprotocol"),
    ("memory://normalize-test-not-there", "is not a folder that can be listed"),
])
def test_a_url_that_cannot_be_read_is_a_usage_error(tmp_path, url, message):
    r = cli("run", url, str(tmp_path / "out"))
    assert r.returncode == 2
    assert message in r.stderr.decode()
    assert not (tmp_path / "out").exists()


def test_out_may_not_be_inside_a_file_url_input(tree):
    r = cli("run", url_of(tree), str(tree / "b" / "out"))
    assert r.returncode == 2 and "OUT may not be IN or inside it" in r.stderr.decode()


def test_modification_times_are_read_as_each_filesystem_gives_them():
    when = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
    ns = int(when.timestamp()) * 1_000_000_000
    assert mtime_ns({"mtime": when.timestamp()}) == ns  # local: seconds
    assert mtime_ns({"LastModified": when}) == ns  # S3: a datetime
    assert mtime_ns({"updated": "2026-12-01T12:00:00Z"}) == ns  # GCS: ISO text
    assert mtime_ns({"created": when.replace(tzinfo=None)}) == ns  # memory: naive, UTC
    assert mtime_ns({"size": 3}) == 0 and mtime_ns({"updated": "yesterday"}) == 0


class _VersionedMemory:
    """A ``memory://`` filesystem that gives each file an ETag (the MD5 of its bytes), as S3
    does: the version a re-run's plan compares instead of downloading the file."""

    protocol = "versionedmem"

    @classmethod
    def make(cls):
        import hashlib

        from fsspec.implementations.memory import MemoryFileSystem

        class VersionedMemory(MemoryFileSystem):
            protocol = cls.protocol
            store: dict = {}  # noqa: RUF012 (fsspec's own layout: a class-wide store)
            pseudo_dirs: list = [""]  # noqa: RUF012

            @classmethod
            def _strip_protocol(cls, path):
                return MemoryFileSystem._strip_protocol(path.removeprefix(f"{cls.protocol}://"))

            def _tagged(self, info):
                if info.get("type") == "file":
                    info = {**info, "ETag": hashlib.md5(self.cat_file(info["name"])).hexdigest()}
                return info

            def info(self, path, **kwargs):
                return self._tagged(super().info(path, **kwargs))

            def ls(self, path, detail=True, **kwargs):
                got = super().ls(path, detail=detail, **kwargs)
                return [self._tagged(i) for i in got] if detail else got

        return VersionedMemory


@pytest.mark.parametrize("kind", ["file", "versioned"])
def test_a_url_input_is_downloaded_only_when_its_hash_decides_something(tree, tmp_path, monkeypatch, kind):
    """Behind a URL as in a directory: a first run's plan reads no file it need not cut into
    chunks (the worker hashes what it reads), and a re-run reads no file that still has the
    identity its records give, read off the folder's listing: the size, times and inode of a
    ``file://`` file, the version (ETag) of an object in a store. New content is seen (and a
    file whose filesystem gives neither, ``memory://``, is hashed on every run, as tested above)."""
    import fsspec

    monkeypatch.setattr(runner, "RACY_NS", -10**18)  # (as if every file had changed long before)
    if kind == "file":
        url = url_of(tree)

        def write(rel: str, data: bytes) -> None:
            (tree / rel).write_bytes(data)
    else:
        cls = _VersionedMemory.make()
        fsspec.register_implementation(cls.protocol, cls, clobber=True)
        mem = fsspec.filesystem(cls.protocol)
        url = f"{cls.protocol}:///tree"
        for p in sorted(tree.rglob("*")):
            if p.is_file():
                mem.pipe(f"/tree/{p.relative_to(tree).as_posix()}", p.read_bytes())

        def write(rel: str, data: bytes) -> None:
            mem.pipe(f"/tree/{rel}", data)
    opened: list[str] = []
    real = UrlInputs.open

    def counted(self, rel):
        opened.append(rel)
        return real(self, rel)

    monkeypatch.setattr(UrlInputs, "open", counted)
    out = tmp_path / "out"
    opts = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    first = runner.run(url, out, opts)
    assert first.summary["units"]["total"] == 6
    assert sorted(opened) == sorted(rel for rel, _, _ in runner.discover(tree))  # each by its worker alone
    opened.clear()
    again = runner.run(url, out, opts)
    assert again.summary["units"] == {"total": 6, "done": 0, "reused": 6} and opened == []
    write("a/one.txt", b"Gypsy Nauseda spoke .\n")
    again = runner.run(url, out, opts)
    assert again.summary["units"] == {"total": 6, "done": 1, "reused": 5}
    assert opened == ["a/one.txt", "a/one.txt"]  # (the plan hashes it, then its worker cleans it)
    opened.clear()
    assert runner.run(url, out, opts).summary["units"]["done"] == 0 and opened == []
    # cut into chunks: the plan reads a big file to find them, and then not again
    chunked = runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False, chunk_bytes=1024)
    runner.run(url, out, chunked)
    opened.clear()
    again = runner.run(url, out, chunked)
    assert again.summary["units"]["done"] == 0 and again.summary["units"]["total"] > 6 and opened == []
    runner.run(url, tmp_path / "fresh", chunked)
    assert outputs(out) == outputs(tmp_path / "fresh")  # (the manifest's hashes too)
