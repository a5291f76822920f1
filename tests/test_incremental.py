"""Incremental, resumable and distributed runs (the runner's plan / work / assemble steps).

Outputs are compared byte for byte, except summary.json (timings and reuse counts) and the
runner's own bookkeeping: the parts/ folder (its headers carry timings), the index of its logs
(.parts-index, which names them) and the .assembled marker (the digest of the plan the outputs
were assembled from).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus_in"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "normalize", *args], cwd=ROOT, capture_output=True, timeout=600)


def outputs(out: Path) -> dict[str, bytes]:
    """Every file of a run that must be reproducible, by relative path."""
    got = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and rel not in ("_normalize/summary.json", "_normalize/.assembled", "_normalize/.parts-index") \
                and not rel.startswith("_normalize/parts/"):
            data = p.read_bytes()
            if rel == "_normalize/report.html":  # it names the output folder
                data = data.replace(str(out).encode(), b"OUT")
            if rel == "_normalize/.by-file.tsv":  # it names the plan, as .assembled does
                *lines, trailer, _ = data.split(b"\n")
                data = b"\n".join([*lines, json.dumps({**json.loads(trailer), "assembled": "..."}).encode()])
            got[rel] = data
    return got


def summary(out: Path) -> dict:
    return json.loads((out / "_normalize" / "summary.json").read_text())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The seeds, a nested folder, and a .jsonl with a malformed line."""
    inp = tmp_path / "in"
    shutil.copytree(CORPUS, inp, ignore=shutil.ignore_patterns("README*"))
    (inp / "sub").mkdir()
    (inp / "sub" / "a.txt").write_text("NATO ,  the Alliance said so.\n", encoding="utf-8")
    lines = [json.dumps({"id": i, "text": f"Report {i}: NATO ,  the Alliance met."}) for i in range(5)]
    lines.insert(2, "{not json")
    (inp / "sub" / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return inp


def test_rerun_reuses_everything_and_changes_no_byte(corpus, tmp_path):
    out = tmp_path / "out"
    assert cli("run", str(corpus), str(out), "-q", "--jobs", "2").returncode == 1  # the bad JSONL line
    first = outputs(out)
    s1 = summary(out)
    assert s1["units"] == {"total": 7, "done": 7, "reused": 0}
    assert cli("run", str(corpus), str(out), "-q", "--jobs", "2").returncode == 1
    assert outputs(out) == first
    s2 = summary(out)
    assert s2["units"] == {"total": 7, "done": 0, "reused": 7}
    for k in ("documents", "edits", "flags", "errors", "files"):
        assert s2[k] == s1[k]
    # the timings: building the pipeline is a part of the first run's work, a re-run builds none
    assert 0 < s1["timings"]["load_seconds"] < s1["timings"]["work_seconds"]
    assert s2["timings"]["load_seconds"] == s2["timings"]["work_seconds"] == 0
    manifest = [json.loads(x) for x in (out / "_normalize" / "manifest.jsonl").read_text().splitlines()]
    assert [m["file"] for m in manifest][-2:] == ["sub/a.txt", "sub/b.jsonl"]
    assert all(m["seen"] == m["written"] + m["failed"] for m in manifest)
    assert next(m for m in manifest if m["file"] == "sub/b.jsonl")["failed"] == 1


def test_a_rerun_with_nothing_new_neither_reads_the_rules_nor_rewrites_an_output(corpus, tmp_path):
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    out = tmp_path / "out"
    run(corpus, out, RunOptions(rules=RuleSet.load(), jobs=1, quiet=True))
    meta = out / "_normalize"
    stamps = {p: p.stat().st_mtime_ns for p in meta.iterdir() if p.name != "summary.json"}

    def must_not_load(root):
        raise AssertionError("the rules were read although no document needed cleaning")

    time.sleep(0.05)
    got = run(corpus, out, RunOptions(rules=RuleSet.shell(), load_rules=must_not_load, jobs=1, quiet=True))
    assert got.summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    # a changed input needs the rules again, and the outputs are assembled anew
    (corpus / "sub" / "a.txt").write_text("Andrej Doubt spoke.\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="rules were read"):
        run(corpus, out, RunOptions(rules=RuleSet.shell(), load_rules=must_not_load, jobs=1, quiet=True))
    assert not (meta / ".assembled").exists()  # removed before any output could change
    got = run(corpus, out, RunOptions(rules=RuleSet.shell(), jobs=1, quiet=True))
    assert got.summary["units"] == {"total": 7, "done": 1, "reused": 6}
    assert "Andrzej Duda" in (meta / "edits.jsonl").read_text(encoding="utf-8")


def test_a_moved_out_and_in_are_reused_and_the_summary_and_report_name_where_they_are_now(corpus, tmp_path):
    """OUT and IN moved (to a bigger disk, say) are reused as they are, nothing is cleaned
    again; summary.json and report.html used to keep naming the old places."""
    old_out = tmp_path / "old-out"
    assert cli("run", str(corpus), str(old_out), "-q").returncode == 1  # (the bad JSONL line)
    new_in, new_out = tmp_path / "moved" / "in", tmp_path / "moved" / "out"
    new_in.parent.mkdir()
    corpus.rename(new_in)
    old_out.rename(new_out)
    assert cli("run", str(new_in), str(new_out), "-q").returncode == 1
    s = summary(new_out)
    assert s["units"] == {"total": 7, "done": 0, "reused": 7}
    assert (s["input"], s["output"]) == (str(new_in), str(new_out))
    report = (new_out / "_normalize" / "report.html").read_text(encoding="utf-8")
    assert f"output {new_out}" in report and str(old_out) not in report and str(corpus) not in report
    fresh = tmp_path / "fresh"
    cli("run", str(new_in), str(fresh), "-q")
    assert outputs(new_out) == outputs(fresh)
    # once they say so, a re-run writes no report again
    stamp = (new_out / "_normalize" / "report.html").stat().st_mtime_ns
    time.sleep(0.05)
    assert cli("run", str(new_in), str(new_out), "-q").returncode == 1
    assert (new_out / "_normalize" / "report.html").stat().st_mtime_ns == stamp


def test_a_rerun_with_nothing_new_imports_no_model_no_kernel_and_counts_no_cores(corpus, tmp_path):
    """What a run with nothing to do never needs, it never imports: the flagger and its models,
    the kernel, numpy, ftfy, the YAML and regex modules the rules are read with, and loky (which
    counts the cores the workers would use: 60 ms of a 0.6 s re-run); its summary says no
    worker was started."""
    heavy = ("loky", "numpy", "ftfy", "normalize.flagger.core", "normalize._kernel", "normalize.pipeline", "yaml",
             "regex")
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: print(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
            "from normalize.cli import main\n"
            f"sys.argv = ['normalize', 'run', {str(corpus)!r}, {str(tmp_path / 'out')!r}, '-q']\n"
            "main()\n")
    first = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.stdout.strip() == str(sorted(heavy)), first.stderr
    again = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.stdout.strip() == "[]", again.stderr
    assert summary(tmp_path / "out")["timings"]["jobs"] == 0


def test_a_rerun_takes_the_index_of_the_part_logs_it_kept_instead_of_reading_them(corpus, tmp_path, monkeypatch):
    """After assembling, a run keeps its index of the part logs (OUT/_normalize/.parts-index);
    the next plan reads it instead of every record's header, as long as every log it indexed
    is still the file it read (size, times, inode). The same units are reused either way."""
    from normalize.partlog import PartLogs
    from normalize.rules import RuleSet
    from normalize.runner import PARTS_INDEX, RunOptions, run

    out = tmp_path / "out"
    options = RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    run(corpus, out, options)
    assert (out / "_normalize" / PARTS_INDEX).is_file()
    scanned = _spy(monkeypatch, PartLogs, "_scan", lambda _self, name: name)
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert scanned == []
    # a log that is not the file the index read (here: a torn record appended to it) is read again
    (log,) = (out / "_normalize" / "parts").glob("*.log")
    with open(log, "ab") as fh:
        fh.write(b'[99, {"file": "sub/a.txt"')
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert log.name in scanned
    # a changed input is redone, and the next plan again reads no log
    (corpus / "sub" / "a.txt").write_text("Andrej Doubt spoke.\n", encoding="utf-8")
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 1, "reused": 6}
    scanned.clear()
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert scanned == []
    # without the kept index (deleted), the logs are read, and the index is kept again
    (out / "_normalize" / PARTS_INDEX).unlink()
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert scanned and (out / "_normalize" / PARTS_INDEX).is_file()
    # a run that cannot keep it (a full disk, say) ends as it would have, without it
    saves: list[str] = []
    real_save = PartLogs.save

    def full_disk(self, path):
        saves.append(path)
        if len(saves) > 1:  # (the plan's save, before the work, goes through)
            raise OSError(28, "No space left on device")
        return real_save(self, path)

    monkeypatch.setattr(PartLogs, "save", full_disk)
    (corpus / "sub" / "a.txt").write_text("Andrej Doubt spoke again.\n", encoding="utf-8")
    got = run(corpus, out, options)
    assert got.summary["units"] == {"total": 7, "done": 1, "reused": 6} and got.exit_code == 1  # (the bad line)
    assert len(saves) == 2 and not (out / "_normalize" / PARTS_INDEX).exists()
    assert (out / "_normalize" / ".assembled").is_file()


def test_the_plan_sees_an_output_where_isfile_sees_one(tmp_path, monkeypatch):
    """The plan asks whether OUT holds each output from one listing of its folder
    (runner._OutputFiles), and answers as os.path.isfile: links followed, a folder or a FIFO is
    not a file, a missing folder holds nothing; also for a folder listed file by file (more
    entries than LISTED_AT_MOST)."""
    from normalize import runner

    root = tmp_path / "out"
    (root / "d" / "deep").mkdir(parents=True)
    for rel in ("a.txt", "d/b.txt", "d/deep/c.txt"):
        (root / rel).write_text("x")
    (root / "link").symlink_to("a.txt")
    (root / "d" / "to_dir").symlink_to("deep")
    (root / "dangling").symlink_to("missing.txt")
    os.mkfifo(root / "fifo")
    asked = ["a.txt", "b.txt", "link", "dangling", "fifo", "d", "d/b.txt", "d/x.txt", "d/to_dir", "d/deep/c.txt",
             "d/to_dir/c.txt", "a.txt", "none/x.txt", "a.txt/x", "d/b.txt"]
    for limit in (runner.LISTED_AT_MOST, 1):
        monkeypatch.setattr(runner, "LISTED_AT_MOST", limit)
        files = runner._OutputFiles(str(root))
        assert [files.has(rel) for rel in asked] == [os.path.isfile(root / rel) for rel in asked]


def _spy(monkeypatch, owner, name: str, note=lambda *args: args) -> list:
    """What ``note`` makes of the arguments of every call of ``owner.name`` from now on, in order."""
    real, calls = getattr(owner, name), []

    def spied(*args):
        calls.append(note(*args))
        return real(*args)

    monkeypatch.setattr(owner, name, spied)
    return calls


def _count_hashing(monkeypatch, root: Path) -> list[str]:
    """The inputs the plan hashes from now on (relative paths, in order)."""
    from normalize import runner

    return _spy(monkeypatch, runner, "file_state", lambda path: Path(path).relative_to(root).as_posix())


def _inputs(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_new_file_is_hashed_by_the_worker_alone(corpus, tmp_path, monkeypatch):
    """A first run has no record to compare a file with, so the plan does not read it: the
    worker hashes the bytes it cleans, and the manifest holds every file's hash all the same.
    A file changed a moment before it was read (here: all of them) gets no identity in its
    record, so the next plan hashes it to see whether it changed."""
    import hashlib

    from normalize.partlog import PartLogs
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    hashed = _count_hashing(monkeypatch, corpus)
    out = tmp_path / "out"
    options = RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    run(corpus, out, options)
    assert hashed == []
    manifest = [json.loads(x) for x in (out / "_normalize" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(m["file"] for m in manifest) == _inputs(corpus)
    for m in manifest:
        assert m["sha256"] == hashlib.sha256((corpus / m["file"]).read_bytes()).hexdigest()
    logs = PartLogs(str(out / "_normalize" / "parts"))
    assert len(logs) == 7 and all(logs.get(*u).stat is None for u in logs.units())
    got = run(corpus, out, options)
    assert got.summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert sorted(hashed) == _inputs(corpus)


def test_an_input_that_looks_as_it_did_is_not_read_again(corpus, tmp_path, monkeypatch):
    """A record keeps the identity (size, mtime, ctime, inode) its input had when the worker
    read it; the next plan takes the recorded hash for a file that still has that identity
    instead of reading it. New content changes the ctime, even when the size and mtime are put
    back; --checksum hashes every file all the same."""
    from normalize import runner
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    # as if every file had last changed long before it was read (see runner.RACY_NS)
    monkeypatch.setattr(runner, "RACY_NS", -10**18)
    out = tmp_path / "out"
    options = RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    first = run(corpus, out, options)
    hashed = _count_hashing(monkeypatch, corpus)
    got = run(corpus, out, options)
    assert got.summary["units"] == {"total": 7, "done": 0, "reused": 7} and hashed == []
    assert got.summary["documents"] == first.summary["documents"]
    a = corpus / "sub" / "a.txt"
    before = a.stat()
    a.write_text("NATO ,  the Alliance said no.\n", encoding="utf-8")  # (as long as before)
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (a.stat().st_size, a.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    got = run(corpus, out, options)
    assert got.summary["units"] == {"total": 7, "done": 1, "reused": 6} and hashed == ["sub/a.txt"]
    assert (out / "sub" / "a.txt").read_text(encoding="utf-8") == "NATO, the Alliance said no.\n"
    hashed.clear()
    got = run(corpus, out, RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False, checksum=True))
    assert got.summary["units"] == {"total": 7, "done": 0, "reused": 7} and sorted(hashed) == _inputs(corpus)


def test_a_file_in_chunks_that_looks_as_it_did_is_not_read_again(tmp_path, monkeypatch):
    """The plan hashes a file done in chunks (each worker reads a part of it) and notes its
    identity; every chunk's record keeps it, with the chunk size and where the chunk lies. The
    next plan then takes the hash and the chunks from the records without reading the file, as
    it does for a file done whole. New content, or another --chunk-mb, has the file read and cut
    again: the outputs are a fresh run's, byte for byte. --checksum reads it all the same."""
    from normalize import runner
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    monkeypatch.setattr(runner, "RACY_NS", -10**18)  # (as if every file had changed long before)
    monkeypatch.setattr(runner, "PLAN_POOL_AT", 10**9)  # (the reads in this process, where the spy sees them)
    read = _spy(monkeypatch, runner, "chunk_bounds_of", lambda _fh, chunk_bytes: chunk_bytes)
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [json.dumps({"id": i, "text": f"Sentence {i} ,  with NATO and the Coalition."}) for i in range(300)]
    (inp / "big.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (inp / "big.jsonl.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0))
    (inp / "small.txt").write_text("NATO ,  the Alliance\n", encoding="utf-8")
    out = tmp_path / "out"

    def options(kb: float, **kw) -> RunOptions:
        return RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False, chunk_bytes=int(kb * 1024), **kw)

    def fresh(kb: float) -> dict[str, bytes]:
        where = tmp_path / f"fresh{kb}"
        shutil.rmtree(where, ignore_errors=True)
        run(inp, where, options(kb))
        return outputs(where)

    first = run(inp, out, options(4))
    units = first.summary["units"]["total"]
    assert units > 10 and read == [4096, 4096]
    read.clear()
    got = run(inp, out, options(4))
    assert got.summary["units"] == {"total": units, "done": 0, "reused": units} and read == []
    # another chunk size: both files are read and cut again (the .gz's bytes depend on it)
    got = run(inp, out, options(6))
    assert read == [6144, 6144] and got.summary["units"]["reused"] == 1
    assert outputs(out) == fresh(6)
    read.clear()
    got = run(inp, out, options(6))
    assert got.summary["units"]["done"] == 0 and read == []
    # new content in the .jsonl alone
    with (inp / "big.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": 300, "text": "One more ,  line."}) + "\n")
    got = run(inp, out, options(6))
    assert read == [6144] and outputs(out) == fresh(6)
    read.clear()
    got = run(inp, out, options(6, checksum=True))
    assert got.summary["units"]["done"] == 0 and read == [6144, 6144]


def test_a_file_the_plan_hashes_and_finds_as_recorded_is_not_read_again(corpus, tmp_path, monkeypatch):
    """A file read a moment after it changed gets no identity in its record (see
    runner.RACY_NS), and a record of an earlier version may have none: the plan hashes such a
    file. When it finds the recorded hash, with the file standing still as it read it, the index
    of the part logs vouches for the identity the file had, and the next plan trusts it: each
    file is read once more, not on every run. Changed content is still seen."""
    from normalize import runner
    from normalize.partlog import PartLogs
    from normalize.rules import RuleSet
    from normalize.runner import PARTS_INDEX, RunOptions, run

    out = tmp_path / "out"
    options = RunOptions(rules=RuleSet.load(), jobs=1, quiet=True, flagger=False)
    run(corpus, out, options)  # (the files were written a moment before: no identity recorded)
    parts = str(out / "_normalize" / "parts")
    assert all(PartLogs(parts).get(*u).stat is None for u in PartLogs(parts).units())
    monkeypatch.setattr(runner, "RACY_NS", -10**18)  # (as if they had changed long before)
    hashed = _count_hashing(monkeypatch, corpus)
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7}
    assert sorted(hashed) == _inputs(corpus)
    index = PartLogs.restore(parts, str(out / "_normalize" / PARTS_INDEX))
    assert all(index.get(*u).stat is not None for u in index.units())
    hashed.clear()
    assert run(corpus, out, options).summary["units"] == {"total": 7, "done": 0, "reused": 7} and hashed == []
    a = corpus / "sub" / "a.txt"
    before = a.stat()
    a.write_text("NATO ,  the Alliance said no.\n", encoding="utf-8")  # (as long as before)
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    got = run(corpus, out, options)
    assert got.summary["units"] == {"total": 7, "done": 1, "reused": 6} and hashed == ["sub/a.txt"]


def test_checksum_on_the_command_line_and_in_the_config(corpus, tmp_path):
    out = tmp_path / "out"
    cli("run", str(corpus), str(out), "-q", "--no-flagger")
    assert cli("run", str(corpus), str(out), "-q", "--no-flagger", "--checksum").returncode == 1  # (the bad line)
    assert summary(out)["units"] == {"total": 7, "done": 0, "reused": 7}
    cfg = tmp_path / "normalize.toml"
    cfg.write_text("checksum = true\nflagger = false\n", encoding="utf-8")
    assert cli("run", str(corpus), str(out), "-q", "--config", str(cfg)).returncode == 1
    assert summary(out)["units"] == {"total": 7, "done": 0, "reused": 7}
    cfg.write_text('checksum = "yes"\n', encoding="utf-8")
    bad = cli("run", str(corpus), str(out), "-q", "--config", str(cfg))
    assert bad.returncode == 2 and b"checksum" in bad.stderr


def test_a_changed_input_is_redone_and_the_result_equals_a_fresh_run(corpus, tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    cli("run", str(corpus), str(out), "-q")
    (corpus / "sub" / "a.txt").write_text("Andrej Doubt spoke ,  briefly.\n", encoding="utf-8")
    cli("run", str(corpus), str(out), "-q")
    assert summary(out)["units"] == {"total": 7, "done": 1, "reused": 6}
    cli("run", str(corpus), str(fresh), "-q")
    assert outputs(out) == outputs(fresh)


def test_changed_rules_config_or_force_redo_everything(corpus, tmp_path):
    out = tmp_path / "out"
    cli("run", str(corpus), str(out), "-q")
    cli("run", str(corpus), str(out), "-q", "--threshold", "0.3")
    assert summary(out)["units"]["reused"] == 0
    cli("run", str(corpus), str(out), "-q", "--threshold", "0.3", "--force")
    assert summary(out)["units"]["reused"] == 0
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    with open(rules / "words" / "abbreviations.txt", "a", encoding="utf-8") as fh:
        fh.write("\nzzyzx\n")
    cli("run", str(corpus), str(out), "-q", "--threshold", "0.3", "--rules", str(rules))
    assert summary(out)["units"]["reused"] == 0
    cli("run", str(corpus), str(out), "-q", "--threshold", "0.3", "--rules", str(rules))
    assert summary(out)["units"]["reused"] == 7


def test_a_redone_output_with_the_same_bytes_is_left_as_it_was(corpus, tmp_path):
    """A forced run (or new rules that change nothing in a file) does not replace an output
    that already holds exactly its bytes: its modification time stays, as make-style tools
    downstream expect; a changed one, or one that is a link, is replaced."""
    out = tmp_path / "out"
    cli("run", str(corpus), str(out), "-q")
    a, seed = out / "sub" / "a.txt", out / "000_ec6e41eaaa5eef1a.txt"
    before = {p: p.stat().st_mtime_ns for p in (a, seed)}
    a.write_text("someone edited this output\n", encoding="utf-8")
    os.utime(a, ns=(before[a], before[a]))
    elsewhere = tmp_path / "elsewhere.txt"
    shutil.copy(seed, elsewhere)
    seed.unlink()
    seed.symlink_to(elsewhere)  # an output that is now a link to a file with the same bytes
    time.sleep(0.05)
    assert cli("run", str(corpus), str(out), "-q", "--force").returncode == 1
    assert summary(out)["units"]["reused"] == 0
    assert a.read_text(encoding="utf-8") == "NATO, the Alliance said so.\n" and a.stat().st_mtime_ns > before[a]
    assert not seed.is_symlink() and seed.read_bytes() == elsewhere.read_bytes()
    untouched = [p for p in out.rglob("*.txt") if p not in (a, seed) and "_normalize" not in p.parts]
    stamps = {p: p.stat().st_mtime_ns for p in untouched}
    assert cli("run", str(corpus), str(out), "-q", "--force").returncode == 1
    assert {p: p.stat().st_mtime_ns for p in untouched} == stamps and stamps


def test_two_runs_never_write_one_out_at_once(corpus, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    assert cli("run", str(corpus), str(out), "-q").returncode == 1
    with open(out / "_normalize" / ".lock", "w") as held:  # as a run in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        r = cli("run", str(corpus), str(out), "-q", "--force")
        assert r.returncode == 2 and b"another normalize run is writing to" in r.stderr
    assert cli("run", str(corpus), str(out), "-q", "--force").returncode == 1  # released: runs again


def test_outputs_of_vanished_inputs_are_reported_then_pruned(corpus, tmp_path):
    out = tmp_path / "out"
    cli("run", str(corpus), str(out), "-q")
    (corpus / "sub" / "a.txt").unlink()
    r = cli("run", str(corpus), str(out))
    assert b"have no input any more" in r.stderr
    s = summary(out)
    assert s["stale"] == {"outputs": ["sub/a.txt"], "removed": []}
    assert (out / "sub" / "a.txt").exists()
    assert "sub/a.txt" not in (out / "_normalize" / "documents.jsonl").read_text()
    cli("run", str(corpus), str(out), "-q", "--prune")
    assert summary(out)["stale"] == {"outputs": ["sub/a.txt"], "removed": ["sub/a.txt"]}
    assert not (out / "sub" / "a.txt").exists()
    cli("run", str(corpus), str(out), "-q")
    assert summary(out)["stale"] == {"outputs": [], "removed": []}


def test_a_big_jsonl_in_chunks_gives_the_same_bytes(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [json.dumps({"id": i, "text": f"Sentence {i} ,  with NATO and the Coalition.", "x": [i, 1.5]})
            for i in range(400)]
    rows[37] = "{broken"
    (inp / "big.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (inp / "big.jsonl.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    cli("run", str(inp), str(whole), "-q", "--jobs", "1")
    cli("run", str(inp), str(chunked), "-q", "--jobs", "2", "--chunk-mb", "0.004")
    manifest = {m["file"]: m for m in map(json.loads, (chunked / "_normalize" / "manifest.jsonl").open())}
    assert summary(chunked)["units"]["total"] > 10  # both were split
    assert outputs(chunked) == outputs(whole) | {"big.jsonl.gz": outputs(chunked)["big.jsonl.gz"]}
    # a .jsonl.gz in chunks: the same lines, each chunk's a gzip member of its own (one after
    # the other, which every gzip reader reads as one stream)
    gz = (chunked / "big.jsonl.gz").read_bytes()
    assert gzip.decompress(gz) == gzip.decompress((whole / "big.jsonl.gz").read_bytes())
    assert gz.count(b"\x1f\x8b\x08") > 5 and manifest["big.jsonl.gz"]["written"] == 399
    errors = [json.loads(x) for x in (chunked / "_normalize" / "errors.jsonl").read_text().splitlines()]
    assert [(e["file"], e["line"]) for e in errors] == [("big.jsonl", 38), ("big.jsonl.gz", 38)]
    assert not list(chunked.rglob("*.gzi"))  # (the seek points, once the work is done)


def test_a_file_cut_into_fewer_chunks_leaves_no_piece_of_the_others(tmp_path):
    """A big .jsonl that shrinks is cut into fewer chunks: the pieces and records of the chunks
    it no longer has go (they stayed in parts/ for good). A file that is gone keeps its first
    chunk's record and its output, so that runs report it until --prune removes them."""
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [json.dumps({"id": i, "text": f"Sentence {i} ,  with NATO and the Coalition."}) for i in range(400)]
    (inp / "big.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (inp / "other.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"

    def pieces(name: str) -> int:
        from normalize.runner import Unit

        digest = Unit(name).part_name.split("/")[1].split(".")[0]
        return len(list((out / "_normalize" / "parts").rglob(f"{digest}.*.out")))

    cli("run", str(inp), str(out), "-q", "--chunk-mb", "0.004")
    assert pieces("big.jsonl") == pieces("other.jsonl") > 6
    (inp / "big.jsonl").write_text("\n".join(rows[:100]) + "\n", encoding="utf-8")
    cli("run", str(inp), str(out), "-q", "--chunk-mb", "0.004")
    assert 1 < pieces("big.jsonl") < 4
    fresh = tmp_path / "fresh"
    cli("run", str(inp), str(fresh), "-q", "--chunk-mb", "0.004")
    assert outputs(out) == outputs(fresh)
    (inp / "other.jsonl").unlink()
    r = cli("run", str(inp), str(out), "-q", "--chunk-mb", "0.004")
    assert summary(out)["stale"]["outputs"] == ["other.jsonl"] and pieces("other.jsonl") == 1
    cli("run", str(inp), str(out), "-q", "--chunk-mb", "0.004")
    assert summary(out)["stale"]["outputs"] == ["other.jsonl"]  # (reported again)
    r = cli("run", str(inp), str(out), "-q", "--chunk-mb", "0.004", "--prune")
    assert r.returncode == 0 and summary(out)["stale"]["removed"] == ["other.jsonl"]
    assert pieces("other.jsonl") == 0 and not (out / "other.jsonl").exists()


def test_a_big_units_audit_lines_go_through_temporary_files_and_its_record_is_copied_in_blocks(
        corpus, tmp_path, monkeypatch):
    """A unit's lines of the audit trail past a megabyte per section go on in an anonymous
    temporary file (a chunk of a big JSONL makes tens of megabytes of flags: its worker's peak
    was 270 MB), and assembly copies a record over 4 MB a block at a time. With both limits
    made tiny, every path is taken and the bytes are those of a run that takes neither."""
    import tempfile

    from normalize import runner
    from normalize.rules import RuleSet

    ref = tmp_path / "ref"
    cli("run", str(corpus), str(ref), "-q", "--jobs", "1")
    spilled, blocks = [], []
    real_file, real_blocks = tempfile.TemporaryFile, runner.PartLogs.blocks

    def temporary_file(*args, **kwargs):
        spilled.append(kwargs.get("dir"))
        return real_file(*args, **kwargs)

    def counted_blocks(self, rec, offset, size):
        blocks.append(size)
        return real_blocks(self, rec, offset, size)

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    monkeypatch.setattr(runner.PartLogs, "blocks", counted_blocks)
    monkeypatch.setattr(runner, "SPILL_BYTES", 200)
    monkeypatch.setattr(runner, "BIG_RECORD", 1000)
    out = tmp_path / "out"
    runner.run(corpus, out, runner.RunOptions(rules=RuleSet.load(), jobs=1, quiet=True))
    assert len(spilled) > 5 and set(spilled) == {str((out / "_normalize" / "parts").resolve())}
    assert len(blocks) > 5
    assert outputs(out) == outputs(ref)
    assert not [p for p in (out / "_normalize" / "parts").iterdir() if p.is_file() and not p.name.endswith(".log")]


def _news_gz(path: Path, n: int = 300) -> bytes:
    seeds = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    data = "".join(json.dumps({"id": i, "text": f"Copy {i}. " + seeds[i % len(seeds)][: 200 + 11 * i]}) + "\n"
                   for i in range(n)).encode()
    path.write_bytes(gzip.compress(data))
    return data


def test_a_big_jsonl_gz_is_cut_into_chunks_that_workers_do_side_by_side(tmp_path):
    """A big .jsonl.gz (news dumps come so) is many tasks, not one: the plan reads it once,
    finds chunks of whole lines in what it decompresses to and, when they are to be done, the
    seek points each worker starts from (indexed_gzip). The lines, the audit trail and the
    errors are those of the file done whole, with either engine; a re-run reuses every chunk,
    and a changed file is done again."""
    inp = tmp_path / "in"
    inp.mkdir()
    data = _news_gz(inp / "news.jsonl.gz")
    whole, local, dask = tmp_path / "whole", tmp_path / "local", tmp_path / "dask"
    assert cli("run", str(inp), str(whole), "-q").returncode == 0
    assert summary(whole)["units"]["total"] == 1
    assert cli("run", str(inp), str(local), "-q", "--jobs", "2", "--chunk-mb", "0.02").returncode == 0
    chunks = summary(local)["units"]["total"]
    assert chunks > 10
    assert gzip.decompress((local / "news.jsonl.gz").read_bytes()) == gzip.decompress(
        (whole / "news.jsonl.gz").read_bytes()) != data
    assert outputs(local) == outputs(whole) | {"news.jsonl.gz": outputs(local)["news.jsonl.gz"]}
    pytest.importorskip("distributed")
    assert cli("run", str(inp), str(dask), "-q", "--jobs", "2", "--chunk-mb", "0.02", "--engine", "dask").returncode == 0
    assert outputs(dask) == outputs(local)
    assert cli("run", str(inp), str(local), "-q", "--jobs", "2", "--chunk-mb", "0.02").returncode == 0
    assert summary(local)["units"] == {"total": chunks, "done": 0, "reused": chunks}
    _news_gz(inp / "news.jsonl.gz", n=301)
    assert cli("run", str(inp), str(local), "-q", "--jobs", "2", "--chunk-mb", "0.02").returncode == 0
    assert summary(local)["units"]["reused"] == 0 and summary(local)["documents"]["written"] == 301
    assert not [p for p in local.rglob("*") if p.suffix in (".gzi", ".tmp")]


def _big_inputs(inp: Path) -> None:
    """Three .jsonl.gz and two .jsonl files, each cut into chunks at --chunk-mb 0.02, and a small one."""
    inp.mkdir()
    for i in range(3):
        _news_gz(inp / f"news{i}.jsonl.gz", n=300 + i)
    for i in range(2):
        (inp / f"plain{i}.jsonl").write_bytes(gzip.decompress((inp / f"news{i}.jsonl.gz").read_bytes()))
    (inp / "small.txt").write_text("NATO ,  the Alliance said so.\n", encoding="utf-8")


def _plan(inp: Path, out: Path, **kw) -> tuple[list, dict[str, bytes]]:
    """The units of a first run's plan, and the seek points it built, by name."""
    from normalize.partlog import PartLogs
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, plan

    parts = out / "_normalize" / "parts"
    parts.mkdir(parents=True)
    options = RunOptions(rules=RuleSet.shell(), jobs=2, chunk_bytes=int(0.02 * 1024 * 1024), **kw)
    units = list(plan(inp, PartLogs(str(parts)), out, options, "key"))
    return units, {p.name: p.read_bytes() for p in parts.rglob("*.gzi")}


def test_big_files_the_plan_reads_are_read_side_by_side_in_a_pool(tmp_path, monkeypatch):
    """A first run over a folder of big dumps: the plan hashes each and finds its chunks (and
    builds a .jsonl.gz's seek points) in a pool of worker processes, while the walk goes on;
    the units, in the walk's order, and the seek points are those of reading one file after
    another in the main process."""
    import multiprocessing

    from normalize import runner

    inp = tmp_path / "in"
    _big_inputs(inp)
    seen = tmp_path / "seen"
    seen.mkdir()
    open_input = runner.open_input

    def noted(path, *args):  # (a forked worker of the pool runs this too)
        (seen / f"{os.getpid()}-{os.path.basename(path)}").touch()
        return open_input(path, *args)

    monkeypatch.setattr(runner, "open_input", noted)
    side_by_side = _plan(inp, tmp_path / "a")
    readers = {name.split("-")[0] for name in os.listdir(seen)}
    assert len(os.listdir(seen)) == 5 and str(os.getpid()) not in readers
    assert not multiprocessing.active_children()  # (the pool ended with the plan)
    for name in os.listdir(seen):
        os.unlink(seen / name)
    monkeypatch.setattr(runner, "PLAN_POOL_AT", 100)
    one_by_one = _plan(inp, tmp_path / "b")
    assert {name.split("-")[0] for name in os.listdir(seen)} == {str(os.getpid())}
    assert side_by_side == one_by_one
    units = side_by_side[0]
    assert [u.rel for u in units if u.chunk == 0] == sorted(p.name for p in inp.iterdir())
    assert len(units) > 30 and len(side_by_side[1]) == 3


def test_seek_points_built_beside_the_read_of_a_file_that_proves_one_unit_are_removed(tmp_path):
    """A first run builds a .jsonl.gz's seek points beside the plan's read of it (its chunks are
    to be done whatever its hash): when the read finds it decompresses to a single chunk (its
    lines barely compress), they are not needed, and not left in parts/."""
    import base64
    import random

    inp = tmp_path / "in"
    inp.mkdir()
    rnd = random.Random(5)
    lines = [json.dumps({"id": i, "text": base64.b64encode(rnd.randbytes(600)).decode()}) for i in range(12)]
    (inp / "noise.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    _news_gz(inp / "news.jsonl.gz")
    units, gzi = _plan(inp, tmp_path / "out")
    assert [(u.rel, u.chunks) for u in units if u.chunk == 0] == [("news.jsonl.gz", len(units) - 1),
                                                                  ("noise.jsonl.gz", 1)]
    assert len(gzi) == 1 and len(units) > 5


def test_a_big_file_the_pool_cannot_read_is_a_problem_of_its_own_and_a_stopped_plan_ends_the_pool(
        tmp_path, monkeypatch):
    import multiprocessing

    from normalize import runner

    inp = tmp_path / "in"
    _big_inputs(inp)
    open_input = runner.open_input

    def refusing(path, *args):
        if str(path).endswith("news1.jsonl.gz"):
            raise PermissionError(13, "Permission denied")
        return open_input(path, *args)

    monkeypatch.setattr(runner, "open_input", refusing)
    units, gzi = _plan(inp, tmp_path / "a")
    assert [u.problem for u in units if u.rel == "news1.jsonl.gz"] == ["cannot read: Permission denied"]
    assert len(gzi) == 2
    # a plan stopped before its end (Ctrl-C in the run) ends the pool's workers at once
    from normalize.partlog import PartLogs
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, plan

    (tmp_path / "b" / "_normalize" / "parts").mkdir(parents=True)
    planning = plan(inp, PartLogs(str(tmp_path / "b" / "_normalize" / "parts")), tmp_path / "b",
                    RunOptions(rules=RuleSet.shell(), jobs=2, chunk_bytes=int(0.02 * 1024 * 1024)), "key")
    next(planning)
    planning.close()
    for _ in range(100):  # (killed, then reaped)
        if not multiprocessing.active_children():
            break
        time.sleep(0.05)
    assert not multiprocessing.active_children()


def test_a_truncated_jsonl_gz_fails_as_a_whole_in_chunks_too(tmp_path):
    """A damaged .jsonl.gz is not cut into chunks (whose workers would each write what they
    could decompress): it fails as a whole, as it does when it is one unit."""
    inp = tmp_path / "in"
    inp.mkdir()
    _news_gz(inp / "news.jsonl.gz")
    gz = (inp / "news.jsonl.gz").read_bytes()
    (inp / "news.jsonl.gz").write_bytes(gz[: len(gz) * 3 // 4])
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    assert cli("run", str(inp), str(whole), "-q").returncode == 1
    assert cli("run", str(inp), str(chunked), "-q", "--chunk-mb", "0.02").returncode == 1
    got, want = outputs(chunked), outputs(whole)
    row = [json.loads(got.pop("_normalize/manifest.jsonl")), json.loads(want.pop("_normalize/manifest.jsonl"))]
    assert got == want
    assert row[0] | {"sha256": ""} == row[1]  # (the plan hashed the file it read: the worker could not)
    errors = [json.loads(x) for x in (chunked / "_normalize" / "errors.jsonl").read_text().splitlines()]
    assert [e["message"].split(":")[0] for e in errors] == ["corrupt or truncated gzip data"]
    assert not (chunked / "news.jsonl.gz").exists()
    # (its seek points, begun beside the plan's read of it, could not be built: none is left)
    assert not [p for p in chunked.rglob("*") if p.suffix in (".gzi", ".tmp")]


def test_killed_runs_resume_to_the_same_bytes_and_never_show_a_partial_file(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    seeds = sorted(CORPUS.glob("*.txt"))
    for i in range(40):
        src = seeds[i % len(seeds)]
        (inp / f"{i:03d}.txt").write_text(f"Copy {i}.\n" + src.read_text(encoding="utf-8"), encoding="utf-8")
    ref = tmp_path / "ref"
    assert cli("run", str(inp), str(ref), "-q", "--jobs", "2").returncode == 0
    expected = outputs(ref)
    out = tmp_path / "out"
    for delay in (1.5, 2.5, 3.5):
        proc = subprocess.Popen([sys.executable, "-m", "normalize", "run", str(inp), str(out), "-q", "--jobs", "2"],
                                cwd=ROOT, start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for rel, data in outputs(out).items():
            # a temporary file may be left by a kill (swept by the next run); a finished name
            # only ever holds a whole file
            if not rel.startswith("_normalize/") and not Path(rel).name.endswith(".tmp"):
                assert data == expected[rel], f"{rel} is partial after a kill at {delay}s"
    assert cli("run", str(inp), str(out), "-q", "--jobs", "2").returncode == 0
    assert outputs(out) == expected
    assert not [p for p in out.rglob("*.tmp")], "temporary files were left behind"


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (its workers), from Linux's /proc."""
    got: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        got += [int(c) for c in (task / "children").read_text().split()]
    return got


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs still (a zombie waiting to be reaped has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def slow_corpus(tmp_path: Path) -> Path:
    """Enough small files that a run with two workers is still working a second after it starts."""
    inp = tmp_path / "in"
    inp.mkdir()
    seeds = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    for i in range(1500):
        (inp / f"{i:04d}.txt").write_text(f"Copy {i}.\n" + seeds[i % len(seeds)][:1500], encoding="utf-8")
    return inp


def _started(inp: Path, out: Path) -> tuple[subprocess.Popen, list[int]]:
    """`normalize run --jobs 2` in a session of its own, once its workers have written a part."""
    proc = subprocess.Popen([sys.executable, "-m", "normalize", "run", str(inp), str(out), "--jobs", "2"],
                            cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    parts = out / "_normalize" / "parts"
    while not (parts.is_dir() and any(p.stat().st_size for p in parts.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
        time.sleep(0.01)
    workers = _children(proc.pid)
    assert len(workers) == 2, workers
    return proc, workers


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers in Linux's /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "Ctrl-C", "Ctrl-C twice"])
def test_a_run_stopped_by_a_signal_leaves_no_worker_behind_and_the_next_run_finishes_it(slow_corpus, tmp_path, how):
    """The main process killed alone (`kill -9 PID`, the system's out-of-memory killer): its
    workers end with it, instead of waiting for work forever while holding OUT's lock, and the
    next run finishes the job. SIGTERM (`kill PID`, `timeout`, a batch scheduler) and Ctrl-C
    (SIGINT to the whole process group, as a terminal sends it; twice, too) end the run as an
    error does, without waiting for the tasks in hand: exit 143 or 130, a word on how to go on,
    no temporary file left."""
    ref = tmp_path / "ref"
    assert cli("run", str(slow_corpus), str(ref), "-q", "--jobs", "2").returncode == 0
    out = tmp_path / "out"
    proc, workers = _started(slow_corpus, out)
    if how.startswith("Ctrl-C"):
        os.killpg(proc.pid, signal.SIGINT)
        if how == "Ctrl-C twice":  # (the second came while the run stopped; it used to hang there)
            time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, getattr(signal, how))
    try:
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "a worker outlived the run"
    finally:
        for pid in filter(_alive, workers):  # (a failing test leaves no process behind)
            os.kill(pid, signal.SIGKILL)
    err = proc.stderr.read()
    if how == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == (143 if how == "SIGTERM" else 130), err.decode()
        assert b"run the same command again to finish" in err and b"Traceback" not in err, err.decode()
        assert not list((out / "_normalize").glob("*.tmp")), "the plan's temporary files were left"
    r = cli("run", str(slow_corpus), str(out), "-q", "--jobs", "2")
    assert r.returncode == 0, r.stderr.decode()  # (not "another normalize run is writing to ...")
    assert summary(out)["units"]["reused"] > 0
    assert outputs(out) == outputs(ref)


def _dying(monkeypatch, victim: str, once: Path | None) -> None:
    """Make a local worker die (as the system's out-of-memory killer would end it) while it
    writes ``victim``'s output, halfway through the bytes: every time, or the first time only
    (``once``: a marker file). Workers are forked, so they inherit the patched ``work``."""
    from normalize import io as nio
    from normalize import runner

    real = runner.work

    def work(spec, unit):
        if unit.rel == victim:
            try:
                first = once is None or os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                first = False
            if first:
                fd, _tmp = nio._new_temp(os.path.join(spec.out_dir, unit.rel))
                os.write(fd, b"half of the clean")
                os._exit(137)
        return real(spec, unit)

    monkeypatch.setattr(runner, "work", work)


def _temporaries(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.tmp"))


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    seeds = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    for i in range(120):
        (inp / ("sub" if i % 3 else "") / f"{i:03d}.txt").write_text(
            f"Copy {i}.\n" + seeds[i % len(seeds)][:800], encoding="utf-8")
    return inp


def test_a_worker_the_system_kills_is_replaced_and_its_files_done_again(small_corpus, tmp_path, monkeypatch):
    """A worker killed mid-write (the out-of-memory killer) breaks the pool: the units then in
    flight are done again in a fresh pool, so the run ends as an uninterrupted one would, exit 0,
    the same bytes, and the half-written temporary file the worker left is not left in OUT."""
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    ref = tmp_path / "ref"
    assert cli("run", str(small_corpus), str(ref), "-q", "--jobs", "2").returncode == 0
    _dying(monkeypatch, "sub/040.txt", once=tmp_path / "died-once")
    out = tmp_path / "out"
    res = run(small_corpus, out, RunOptions(rules=RuleSet.load(), jobs=2, quiet=True))
    assert (tmp_path / "died-once").exists(), "the worker did not die"
    assert res.exit_code == 0 and res.summary["documents"]["failed"] == 0
    assert _temporaries(out) == []
    assert outputs(out) == outputs(ref)


def test_a_file_that_kills_its_worker_every_time_fails_alone_and_the_rest_is_written(small_corpus, tmp_path,
                                                                                      monkeypatch):
    """A file whose cleaning kills its worker each time it is tried gets one more chance, alone
    in a fresh pool, then is reported as failed (exit 1, a line in errors.jsonl); every other
    file is written, no temporary file is left, and the next run does that file."""
    from normalize.rules import RuleSet
    from normalize.runner import RunOptions, run

    ref = tmp_path / "ref"
    assert cli("run", str(small_corpus), str(ref), "-q", "--jobs", "2").returncode == 0
    _dying(monkeypatch, "sub/040.txt", once=None)
    out = tmp_path / "out"
    res = run(small_corpus, out, RunOptions(rules=RuleSet.load(), jobs=2, quiet=True))
    assert res.exit_code == 1
    assert res.summary["documents"] == {"seen": 120, "written": 119, "failed": 1}
    errors = [json.loads(line) for line in (out / "_normalize" / "errors.jsonl").read_text().splitlines()]
    assert [(e["file"], e["error"]) for e in errors] == [("sub/040.txt", "internal")]
    assert "worker process died" in errors[0]["message"]
    assert _temporaries(out) == [] and not (out / "sub" / "040.txt").exists()
    monkeypatch.undo()
    r = cli("run", str(small_corpus), str(out), "-q", "--jobs", "2")
    assert r.returncode == 0, r.stderr.decode()
    assert summary(out)["units"] == {"total": 120, "done": 1, "reused": 119}
    assert outputs(out) == outputs(ref)


@contextlib.contextmanager
def _small_disk(tmp_path: Path) -> Iterator[Path]:
    """A file system of 2 MB (tmpfs), made larger on leaving; needs root, else the test skips."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.parametrize("limit", ["a full disk", "a file size limit"])
def test_a_run_the_system_refuses_to_write_stops_with_a_word_and_the_next_run_finishes_it(slow_corpus, tmp_path,
                                                                                          limit):
    """A full disk (ENOSPC) or a file grown past the process's size limit (EFBIG, `ulimit -f`)
    stops the run: no traceback, one line naming the error and how to go on, exit 74
    (sysexits.h's EX_IOERR), not 1, which says the run finished with failed documents; once
    there is room, the same command finishes the job, byte for byte."""
    import resource

    ref = tmp_path / "ref"
    assert cli("run", str(slow_corpus), str(ref), "-q", "--jobs", "2").returncode == 0
    with contextlib.ExitStack() as stack:
        if limit == "a full disk":
            mnt = stack.enter_context(_small_disk(tmp_path))
            out, preexec, want = mnt / "out", None, b"No space left on device (ENOSPC)"
        else:
            out, want = tmp_path / "out", b"File too large (EFBIG)"

            def preexec() -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        r = subprocess.run([sys.executable, "-m", "normalize", "run", str(slow_corpus), str(out), "--jobs", "2"],
                           cwd=ROOT, capture_output=True, timeout=300, preexec_fn=preexec)
        assert r.returncode == 74, r.stderr.decode()[-3000:]
        assert want in r.stderr and b"run the same command again to finish" in r.stderr, r.stderr.decode()
        assert b"Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr.decode()
        if limit == "a full disk":
            subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        r = cli("run", str(slow_corpus), str(out), "-q", "--jobs", "2")
        assert r.returncode == 0, r.stderr.decode()
        assert outputs(out) == outputs(ref)


def test_dask_engine_gives_the_same_bytes_as_the_local_engine(corpus, tmp_path):
    pytest.importorskip("distributed")
    local, dask = tmp_path / "local", tmp_path / "dask"
    cli("run", str(corpus), str(local), "-q", "--jobs", "2")
    r = cli("run", str(corpus), str(dask), "-q", "--jobs", "2", "--engine", "dask", "--chunk-mb", "0.001")
    assert r.returncode == 1, r.stderr.decode()[-2000:]
    assert summary(dask)["timings"]["engine"] == "dask"
    assert outputs(dask) == outputs(local)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 300_000), max_size=1500), st.integers(1, 128))
def test_tasks_hold_every_unit_once_and_shrink_as_the_run_nears_its_end(sizes, workers):
    """Tasks take the plan's units in order, each once; a task holds at most BATCH_UNITS units
    and BATCH_BYTES of input (a larger unit goes alone), and at most a quarter of a worker's
    share of what is left, so there are at least as many tasks as workers (while there are as
    many units) and the last tasks are small."""
    from normalize.runner import BATCH_BYTES, BATCH_UNITS, task_bounds

    tasks = list(task_bounds(sizes, workers))
    assert [i for a, b in tasks for i in range(a, b)] == list(range(len(sizes)))
    for a, b in tasks:
        assert 1 <= b - a <= max(1, min(BATCH_UNITS, (len(sizes) - a) // (4 * workers)))
        assert b - a == 1 or sum(sizes[a:b]) <= BATCH_BYTES
        # cut only where the next unit would not fit
        if b < len(sizes) and b - a < max(1, min(BATCH_UNITS, (len(sizes) - a) // (4 * workers))):
            assert sum(sizes[a : b + 1]) > BATCH_BYTES
    assert len(tasks) >= min(workers, len(sizes))


def _finish(tasks: list[int], workers: int) -> int:
    """When the last worker is done: each takes the next task as it comes free (a unit, a tick)."""
    import heapq

    free = [0] * workers
    for n in tasks:
        heapq.heappush(free, heapq.heappop(free) + n)
    return max(free)


@pytest.mark.parametrize("units,workers", [(3636, 64), (3636, 2), (14544, 2), (500, 16), (100_000, 96)])
def test_with_many_workers_every_worker_gets_work_and_all_finish_together(units, workers):
    """3,636 small files on 64 cores: tasks of a fixed 128 units would be 29, so 35 workers would
    get none and the run would take 128 units' time where 57 would do (2.2x); guided tasks finish
    within a few units of the ideal, for few or many workers."""
    from normalize.runner import BATCH_UNITS, task_bounds

    tasks = [b - a for a, b in task_bounds([1000] * units, workers)]
    ideal = -(-units // workers)
    assert _finish(tasks, workers) <= ideal + 4
    fixed = [min(BATCH_UNITS, units - k) for k in range(0, units, BATCH_UNITS)]
    if (units, workers) == (3636, 64):
        assert len(fixed) == 29 and _finish(fixed, workers) == 128 and ideal == 57


def test_the_dask_engine_sends_small_files_in_batches(tmp_path):
    """One task per small file spends more on the scheduler than on the file (3,636 files:
    27.5 s against 4.1 s with the local engine); a task holds a batch of units, as the local
    engine's do. Counted on the scheduler, for two full tasks' worth of files and six more: as many tasks as batches, every file
    written, the same bytes as the local engine."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    from normalize.rules import RuleSet
    from normalize.runner import BATCH_UNITS, RunOptions, run, task_bounds

    inp = tmp_path / "in"
    inp.mkdir()
    files = 2 * BATCH_UNITS + 6  # two full batches and a short one
    for i in range(files):
        (inp / f"{i:03d}.txt").write_text(f"Report {i}: NATO ,  the Alliance met.\n", encoding="utf-8")

    class Tasks(SchedulerPlugin):
        def __init__(self) -> None:
            self.keys: set[str] = set()

        def transition(self, key, start, finish, *args, **kwargs) -> None:
            if finish == "memory":
                self.keys.add(str(key))

    tasks = Tasks()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        cluster.scheduler.add_plugin(tasks)
        res = run(inp, tmp_path / "dask", RunOptions(rules=RuleSet.load(), engine="dask",
                                                       scheduler=cluster.scheduler_address, quiet=True))
    assert res.exit_code == 0 and res.summary["documents"]["written"] == files
    batches = [k for k in tasks.keys if k.startswith("work_batch")]
    # one worker thread: tasks of 65, 49, 37, ... units (a quarter of what is left), down to 1
    expected = len(list(task_bounds([100] * files, 1)))
    assert 10 < len(batches) == expected == len(tasks.keys) < files, tasks.keys
    cli("run", str(inp), str(tmp_path / "local"), "-q", "--jobs", "2")
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


def test_on_a_cluster_the_plan_reads_big_files_on_its_workers(tmp_path, monkeypatch):
    """With --engine dask --scheduler, the big files the plan must read (hashed and cut, their
    seek points built) are read by the cluster's workers, not by the process that starts the
    run: counted on the scheduler, and the main process opens none of them. The bytes are the
    local engine's."""
    pytest.importorskip("distributed")
    import threading

    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    from normalize import runner
    from normalize.rules import RuleSet

    inp = tmp_path / "in"
    _big_inputs(inp)
    opened: list[str] = []
    open_input = runner.open_input

    def noted(path, *args):
        if threading.current_thread() is threading.main_thread():
            opened.append(os.path.basename(path))
        return open_input(path, *args)

    class Tasks(SchedulerPlugin):
        def __init__(self) -> None:
            self.keys: list[str] = []

        def transition(self, key, start, finish, *args, **kwargs) -> None:
            if finish == "memory":
                self.keys.append(str(key))

    monkeypatch.setattr(runner, "open_input", noted)
    tasks = Tasks()
    options = {"chunk_bytes": int(0.02 * 1024 * 1024), "flagger": False, "quiet": True}
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        cluster.scheduler.add_plugin(tasks)
        res = runner.run(inp, tmp_path / "dask", runner.RunOptions(
            rules=RuleSet.load(), engine="dask", scheduler=cluster.scheduler_address, **options))
    assert res.exit_code == 0
    # each big file read, and each .jsonl.gz's seek points built, by a task of the cluster's
    assert len([k for k in tasks.keys if k.startswith("_on_worker")]) == 5 + 3
    assert opened == []  # (the plan, in the main thread, opened none; the cleaning ran on the cluster)
    local = tmp_path / "local"
    runner.run(inp, local, runner.RunOptions(rules=RuleSet.load(), jobs=2, **options))
    assert outputs(tmp_path / "dask") == outputs(local)


def test_a_dask_worker_with_several_threads_cleans_one_unit_at_a_time(tmp_path, monkeypatch):
    """`dask worker` starts as many threads as cores unless told `--nthreads 1`; they would run
    units side by side on the process's one pipeline (its kernel tables, its part log). A
    process runs one unit at a time whatever its threads, and the bytes are the local engine's."""
    pytest.importorskip("distributed")
    import threading

    from distributed import LocalCluster

    from normalize import runner
    from normalize.rules import RuleSet

    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(60):
        (inp / f"{i:03d}.txt").write_text(f"Report {i}: NATO ,  the Alliance met in Vilnius.\n", encoding="utf-8")
    real, lock, running, most = runner.work, threading.Lock(), [0], [0]

    def work(spec, unit):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.005)  # long enough for another thread to come in, were it let
            return real(spec, unit)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(runner, "work", work)
    with LocalCluster(n_workers=1, threads_per_worker=4, processes=False, dashboard_address=None) as cluster:
        res = runner.run(inp, tmp_path / "dask", runner.RunOptions(
            rules=RuleSet.load(), engine="dask", scheduler=cluster.scheduler_address, quiet=True))
    assert res.exit_code == 0 and res.summary["documents"]["written"] == 60
    assert most[0] == 1
    cli("run", str(inp), str(tmp_path / "local"), "-q", "--jobs", "2")
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


def test_a_lost_dask_worker_changes_nothing_in_the_result(slow_corpus, tmp_path):
    """A cluster loses a worker in the middle of a run (a node preempted, the process killed):
    the scheduler gives its tasks to the others and its nanny starts a new one. The run ends
    with exit 0, the local engine's bytes, and no temporary file of the lost worker in OUT."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    local = tmp_path / "local"
    assert cli("run", str(slow_corpus), str(local), "-q", "--jobs", "2").returncode == 0
    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        before = client.run(os.getpid)
        proc = subprocess.Popen([sys.executable, "-m", "normalize", "run", str(slow_corpus), str(out), "-q",
                                 "--engine", "dask", "--scheduler", cluster.scheduler_address],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        parts, deadline = out / "_normalize" / "parts", time.monotonic() + 120
        while not (parts.is_dir() and any(p.stat().st_size > 20_000 for p in parts.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a worker was lost"
            time.sleep(0.01)
        os.kill(next(iter(before.values())), signal.SIGKILL)
        # what it leaves when the kill comes while it writes (here, whenever the kill comes)
        (out / ".1499.txt.lost0000.tmp").write_bytes(b"half of the clean")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert set(client.run(os.getpid).values()) != set(before.values())  # (the nanny started another)
    assert summary(out)["documents"]["failed"] == 0
    assert _temporaries(out) == []
    assert outputs(out) == outputs(local)


@pytest.mark.parametrize("address", ["notanaddress", "tcp://127.0.0.1", "http://127.0.0.1:8786"])
def test_a_scheduler_address_dask_cannot_read_is_a_usage_error(corpus, tmp_path, address):
    pytest.importorskip("distributed")
    r = cli("run", str(corpus), str(tmp_path / "o"), "--engine", "dask", "--scheduler", address)
    assert r.returncode == 2, r.stderr.decode()
    assert r.stderr.decode().startswith(f"normalize: error: --scheduler {address}: ")
    assert b"Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_a_scheduler_nobody_answers_at_is_named_in_one_line(corpus, tmp_path):
    """(It used to be reported as a failed write, exit 74, after 30 s.)"""
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run([sys.executable, "-m", "normalize", "run", str(corpus), str(tmp_path / "o"), "--engine", "dask",
                        "--scheduler", f"tcp://127.0.0.1:{port}"], cwd=ROOT, capture_output=True, timeout=120,
                       env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.startswith(f"normalize: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: ")
    assert "Traceback" not in err and not [p for p in (tmp_path / "o").rglob("*") if p.is_file() and p.suffix == ".txt"]


def test_a_run_on_a_scheduler_without_workers_says_it_waits_and_goes_on_when_one_joins(corpus, tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        proc = subprocess.Popen([sys.executable, "-m", "normalize", "run", str(corpus), str(tmp_path / "dask"),
                                 "--engine", "dask", "--scheduler", address],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stderr.readline().decode()
        assert first == (f"normalize: waiting for a worker to join the Dask scheduler at {address} "
                         f"(start one with `dask worker {address} --nthreads 1`)\n")
        assert proc.poll() is None
        cluster.scale(1)
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err.decode()  # (the corpus holds a malformed JSONL line)
    cli("run", str(corpus), str(tmp_path / "local"), "-q", "--jobs", "2")
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


def test_scheduler_without_dask_engine_is_a_usage_error(corpus, tmp_path):
    r = cli("run", str(corpus), str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1")
    assert r.returncode == 2 and not (tmp_path / "o").exists()


def test_a_new_run_sweeps_what_a_killed_assembly_left(tmp_path):
    """Assembly writes each of OUT/_normalize's files under a temporary name and renames it at
    the end, and the plan's index waits in a file while the workers run; a run killed in between
    leaves those names, and the next run removes them (never a finished file)."""
    from normalize.recindex import INDEX_FILE
    from normalize.runner import _OLD_PARTS_INDEX, PARTS_INDEX, SECTIONS, _sweep_temporaries

    meta = tmp_path / "_normalize"
    meta.mkdir()
    left = [f".{name}.tmp" for name in (*SECTIONS, "manifest.jsonl", INDEX_FILE)]
    left += [".plan.tmp", ".todo.tmp", _OLD_PARTS_INDEX, f".{PARTS_INDEX}.0a1b2c3d.tmp"]
    for name in [*left, "flags.jsonl", INDEX_FILE, PARTS_INDEX]:
        (meta / name).write_text("x")
    assert _sweep_temporaries(tmp_path) == len(left)
    # (the index of the part logs is kept from one run to the next; PartLogs.restore checks it)
    assert sorted(p.name for p in meta.iterdir()) == sorted(["flags.jsonl", INDEX_FILE, PARTS_INDEX])
