"""The runner's part logs: one append-only log per writing process and run, in which the newest
complete record of a unit wins, a torn tail is never read, and compaction keeps what is live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalize import partlog
from normalize.partlog import MAX_LOGS, Appender, PartLogs, encode, head_fields

ROOT = Path(__file__).resolve().parent.parent


def record(rel: str, chunk: int = 0, sha: str = "s", lines: tuple[str, ...] = ()) -> bytes:
    """A record whose body is two sections: ``lines``, and the file's name."""
    header = {"file": rel, "sha256": sha, "key": "k", "chunk": chunk, "chunks": 1, "start": 0,
              "seen": 1, "written": 1, "timings": {}}
    return encode(header, ["".join(f"{ln}\n" for ln in lines).encode(), rel.encode()])


def body(logs: PartLogs, rel: str, chunk: int = 0) -> list[str]:
    """The lines of a unit's record (after checking its second section)."""
    try:
        lines, name = logs.read(logs.get(rel, chunk))[1]
        assert name == rel.encode()
        return bytes(lines).decode().split("\n")[:-1]
    finally:
        logs.close()


def line(kind: str, obj: object) -> str:
    return json.dumps([kind, obj], ensure_ascii=False)


units = st.tuples(st.sampled_from(["a.txt", "b/c.txt", "é ü.jsonl"]), st.integers(0, 2))
#: what a body line can hold: anything but a newline (JSON escapes it), including the line
#: breaks that str.splitlines also cuts at (U+2028, U+0085, ...)
line_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")
texts = st.lists(st.text(line_chars, max_size=20), max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(units, texts), min_size=1, max_size=8), st.data())
def test_a_log_cut_anywhere_gives_the_newest_whole_record_of_each_unit(tmp_path_factory, recs, data):
    d = tmp_path_factory.mktemp("parts")
    blobs = [record(rel, chunk, lines=tuple(line("d", x) for x in ln)) for (rel, chunk), ln in recs]
    whole = b"".join(blobs)
    cut = data.draw(st.integers(0, len(whole)), label="cut")
    (d / "000001.abc.log").write_bytes(whole[:cut])
    block = data.draw(st.sampled_from([partlog._SCAN_BLOCK, 1, 7, 100]), label="read block")
    with patch.object(partlog, "_SCAN_BLOCK", block):  # headers cut across the blocks read
        logs = PartLogs(str(d))
    expected: dict[tuple[str, int], list[str]] = {}
    at = 0
    for ((rel, chunk), ln), blob in zip(recs, blobs):
        at += len(blob)
        if at <= cut:  # only records whose every byte was written
            expected[(rel, chunk)] = [line("d", x) for x in ln]
    assert set(logs.units()) == set(expected) and len(logs) == len(expected)
    for (rel, chunk), lines in expected.items():
        assert body(logs, rel, chunk) == lines


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=()), min_size=1),  # (lone surrogates too)
       st.text(alphabet="0123456789abcdef:changed", max_size=80), st.text(max_size=24),
       st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 10**12),
       st.lists(st.binary(max_size=30), max_size=5),
       st.none() | st.tuples(*[st.integers(-2**63, 2**63 - 1)] * 3, st.integers(0, 2**64 - 1)).map(list)
       | st.tuples(*[st.integers(-2**63, 2**63 - 1)] * 3, *[st.integers(0, 2**64 - 1)] * 2).map(list),
       st.none() | st.tuples(st.integers(-1, 10**12), st.integers(1, 10**9)))
def test_the_index_reads_a_header_as_json_does(rel, sha, key, chunk, chunks, start, sections, stat, span):
    """The scan reads the fields it needs off a header's head, not parsing the rest: the same
    values as parsing it as JSON, whatever the file's name holds (quotes, backslashes, line
    separators, lone surrogates written as escapes). The identity has a fifth number (the chunk
    size) for a file whose chunks depended on it, and a chunk's header says where it ends and
    the line it begins on."""
    header = {"file": rel, "sha256": sha, "key": key, "chunk": chunk, "chunks": chunks, "start": start, "stat": stat}
    if span is not None:
        header.update(end=span[0], first_line=span[1])
    header |= {"seen": 1, "written": 1, "tally": {"edits": [["a", "b", "c", 1]]}, "timings": {}}
    blob = encode(header, sections)
    nl = blob.index(b"\n")
    h = json.loads(blob[:nl])[1]
    got = (h["end"], h["first_line"]) if "end" in h else None
    assert head_fields(blob, 0, nl + 1) == (h["bytes"], h["file"], h["sha256"], h["key"], h["chunk"],
                                            h["chunks"], h["start"], h["stat"], got) and got == span
    assert h["bytes"] == len(blob) - nl - 1


def test_a_header_of_another_layout_is_read_as_json():
    line = json.dumps(["h", {"file": "a.txt", "sha256": "s", "key": "k", "chunk": 0, "chunks": 1,
                             "start": 0, "bytes": 3}]).encode() + b"\n"
    assert head_fields(line, 0, len(line)) == (3, "a.txt", "s", "k", 0, 1, 0, None, None)
    # (a header without the input's identity, as those of earlier versions: None, so the file is hashed)
    odd = json.dumps(["h", {"file": "a.txt", "sha256": "s", "key": "k", "chunk": 0, "chunks": 1,
                            "start": 0, "bytes": 3, "stat": [1, True, 3, 4]}]).encode() + b"\n"
    assert head_fields(odd, 0, len(odd))[-2] is None


def test_sections_come_back_byte_for_byte(tmp_path):
    # JSON leaves U+2028, U+2029, U+0085 and FS/GS/RS (escaped below 0x20 only) as they are
    text = "a\u2028b\u2029c\x85d\x1ce\x0bf\rg"
    Appender(str(tmp_path), 1).append(record("a.txt", lines=(line("f", {"text": text}),)))
    assert body(PartLogs(str(tmp_path)), "a.txt") == [line("f", {"text": text})]


def test_a_later_run_wins_and_compaction_keeps_only_what_is_live(tmp_path):
    d = str(tmp_path)
    big, small = tuple(f'["f", {{"n": {k}}}]' for k in range(50)), ('["d", {"n": 2}]',)
    first = Appender(d, 1)
    for i in range(10):
        first.append(record(f"{i}.txt", sha="old", lines=big))
    second = Appender(d, 2)
    for i in range(5):  # five of the ten inputs changed, and lost their flags
        second.append(record(f"{i}.txt", sha="new", lines=small))
    logs = PartLogs(d)
    assert logs.next_run == 3
    assert [logs.get(f"{i}.txt", 0).sha256 for i in range(10)] == ["new"] * 5 + ["old"] * 5
    logs.compact()  # dead bytes (5 big records) do not outweigh live ones (5 big, 5 small)
    assert len(os.listdir(d)) == 2
    third = Appender(d, 3)
    third.append(record("5.txt", sha="new", lines=small))  # now 6 dead big records, 4 live ones
    logs = PartLogs(d)
    logs.compact()  # the live records are copied into one log, the others removed
    assert len(os.listdir(d)) == 1
    again = PartLogs(d)
    assert {u: (again.get(*u).sha256, body(again, *u)) for u in again.units()} == \
        {(f"{i}.txt", 0): ("new", list(small)) if i < 6 else ("old", list(big)) for i in range(10)}
    again.keep("0.txt", 0)  # the others' inputs are gone, and were pruned
    again.compact(prune=True)
    assert set(PartLogs(d).units()) == {("0.txt", 0)}


def test_logs_holding_no_live_record_are_removed_and_many_are_folded(tmp_path):
    d = str(tmp_path)
    Appender(d, 1).append(record("a.txt", sha="old"))
    Appender(d, 2).append(record("a.txt", sha="new"))
    PartLogs(d).compact()
    assert [n.split(".")[0] for n in os.listdir(d)] == ["000002"]  # the first log held nothing live
    for run in range(3, 3 + MAX_LOGS + 1):
        Appender(d, run).append(record(f"{run}.txt"))
    PartLogs(d).compact()
    assert len(os.listdir(d)) == 1 and len(PartLogs(d)) == MAX_LOGS + 2


def test_a_run_writes_one_log_per_worker_not_a_file_per_input(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(30):
        (inp / f"{i:02d}.txt").write_text(f"Report {i}: NATO ,  the Alliance met.\n", encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "normalize", "run", str(inp), str(out), "-q", "--jobs", "2"],
                       cwd=ROOT, capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    logs = sorted((out / "_normalize" / "parts").iterdir())
    assert 1 <= len(logs) <= 2 and all(p.suffix == ".log" for p in logs)
    assert len(PartLogs(str(out / "_normalize" / "parts"))) == 30


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.txt", "b/c.jsonl", "é ü.txt"]), st.integers(0, 3),
                          st.sampled_from(["a" * 64, "0123456789abcdef" * 4, "AB" * 32, "", "changed:" + "f" * 64,
                                           "0" * 63 + "g", "s"]),
                          st.sampled_from(["k1", "k2"]), st.integers(1, 4), st.integers(0, 10**12),
                          st.none() | st.tuples(st.integers(0, 10**12), st.integers(-10**18, 10**19),
                                                st.integers(-10**18, 10**19), st.integers(0, 2**64 - 1)).map(list)
                          | st.tuples(st.integers(0, 10**12), st.integers(0, 10**19), st.integers(0, 10**19),
                                      st.integers(0, 2**64 - 1), st.integers(1, 2**40)).map(list),
                          st.none() | st.tuples(st.integers(-1, 10**12), st.integers(1, 10**9))),
                min_size=1, max_size=12),
       st.integers(1, 3))
def test_the_packed_index_gives_back_what_the_headers_say(tmp_path_factory, recs, logs_n):
    """The index keeps a unit's newest record as a row of arrays (its hash as 32 bytes, when it
    is 64 lowercase hex digits): what it gives back is what the header said, for any hash
    string, run key, chunk, identity (with the chunk size or without) and span, whichever log
    and run the record is in; saved and restored, the same."""
    from normalize.partlog import identity_key

    d = str(tmp_path_factory.mktemp("parts"))
    expected = {}
    writers = [Appender(d, run) for run in range(1, logs_n + 1)]  # (one log a run)
    for i, (rel, chunk, sha, key, chunks, start, stat, span) in enumerate(recs):
        header = {"file": rel, "sha256": sha, "key": key, "chunk": chunk, "chunks": chunks, "start": start, "stat": stat}
        if span is not None:  # (where the runner writes them: after the identity)
            header.update(end=span[0], first_line=span[1])
        header |= {"seen": 1, "written": 1, "timings": {}}
        writers[i % logs_n].append(encode(header, [b"x" * i]))
    for i, (rel, chunk, sha, key, chunks, start, stat, span) in enumerate(recs):  # the later run wins
        run = 1 + i % logs_n
        if (rel, chunk) not in expected or run >= expected[(rel, chunk)][0]:
            expected[(rel, chunk)] = (run, sha, key, chunks, start, None if stat is None else identity_key(stat), span, i)
    logs = PartLogs(d)
    logs.save(str(d) + ".index")
    for got in (logs, PartLogs.restore(d, str(d) + ".index")):
        assert sorted(got.units()) == sorted(expected) and len(got) == len(expected)
        for (rel, chunk), (run, sha, key, chunks, start, stat, span, i) in expected.items():
            rec = got.get(rel, chunk)
            assert (rec.run, rec.sha256, rec.key, rec.chunks, rec.start, rec.stat, rec.span) == (
                run, sha, key, chunks, start, stat, span)
            assert got.read(rec)[1] == [b"x" * i]
        got.close()
        assert got.get("nothing.txt", 0) is None


@pytest.mark.parametrize("field, value", [("start", 10**30), ("chunks", 2**63), ("chunks", "1"), ("file", 7),
                                          ("start", True)])
def test_a_header_the_index_cannot_hold_ends_the_log_there(tmp_path, field, value):
    """A header whose numbers do not fit the index's 64-bit arrays, or whose fields have the
    wrong types (a log edited by hand), is taken as the end of its log, as a torn record is: the
    records before it stay, and no row of the index is left half written."""
    d = str(tmp_path)
    log = Appender(d, 1)
    log.append(record("a.txt", lines=(line("d", 1),)))
    header = {"file": "b.txt", "sha256": "s", "key": "k", "chunk": 0, "chunks": 1, "start": 0, "seen": 1,
              "written": 1, "timings": {}}
    header[field] = value
    log.append(encode(header, [b"x"]))
    log.append(record("c.txt"))
    logs = PartLogs(d)
    assert list(logs.units()) == [("a.txt", 0)] and len(logs) == 1
    assert body(logs, "a.txt") == [line("d", 1)]


def _state(logs: PartLogs) -> dict:
    return {k: v for k, v in vars(logs).items() if k not in ("_open", "dirty")}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.txt", "b/c.jsonl", "é ü.txt", "d.txt"]), st.integers(0, 2),
                          st.sampled_from(["a" * 64, "AB" * 32, "s"]), st.sampled_from(["k1", "k2"])),
                min_size=1, max_size=12),
       st.integers(0, 12), st.lists(st.sampled_from(["a.txt", "b/c.jsonl", "é ü.txt", "d.txt"]), max_size=4),
       st.integers(1, 2))
def test_an_index_kept_across_the_work_is_the_one_indexing_again_gives(tmp_path_factory, recs, split, kept, writers):
    """The runner keeps the plan's index in a file while its workers run (PartLogs.save) and
    adds the logs they wrote to it (PartLogs.restore): the same index, marks of live records
    included, as indexing the whole directory again. When a log it had indexed changed, or a
    new log would not come after them, the directory is indexed again."""
    d = str(tmp_path_factory.mktemp("parts"))
    saved = os.path.join(d, "..", "index.tmp")

    def write(batch, run: int) -> None:
        apps = [Appender(d, run) for _ in range(writers)]
        for i, (rel, chunk, sha, key) in enumerate(batch):
            header = {"file": rel, "sha256": sha, "key": key, "chunk": chunk, "chunks": 1, "start": 0,
                      "seen": 1, "written": 1, "timings": {}}
            apps[i % writers].append(encode(header, [f"{run} {i}".encode()]))

    def marked(logs: PartLogs) -> PartLogs:
        for rel in kept:
            logs.keep(rel, 0)
        return logs

    write(recs[:split], 1)
    write(recs[split:][::2], 2)
    plan = marked(PartLogs(d))
    plan.save(saved)
    write(recs[split:], plan.next_run)  # the workers' logs
    assert _state(marked(PartLogs.restore(d, saved))) == _state(marked(PartLogs(d)))

    # an indexed log that changed since, or a saved index of another directory: indexed again
    some = sorted(n for n in os.listdir(d) if n.endswith(".log"))[0]
    with open(os.path.join(d, some), "ab") as fh:
        fh.write(record("late.txt"))
    assert _state(PartLogs.restore(d, saved)) == _state(PartLogs(d))
    PartLogs(d).save(saved)
    with open(os.path.join(d, "000000.early.log"), "wb") as fh:  # (a run before them all)
        fh.write(record("a.txt", sha="early"))
    assert _state(PartLogs.restore(d, saved)) == _state(PartLogs(d))
    other = str(tmp_path_factory.mktemp("other"))
    assert _state(PartLogs.restore(other, saved)) == _state(PartLogs(other))
    assert _state(PartLogs.restore(d, os.path.join(d, "missing"))) == _state(PartLogs(d))
    # kept for the next run's plan: the same index, no record marked live yet
    marked(PartLogs(d)).save(saved)
    assert _state(PartLogs.restore(d, saved, live=False)) == _state(PartLogs(d))


def _records(logs: PartLogs) -> dict:
    """What an index says: every unit's record, and the logs it indexed."""
    return {"units": {u: logs.get(*u) for u in logs.units()}, "sizes": logs.sizes, "idents": logs.idents,
            "next_run": logs.next_run}


def test_a_kept_index_is_not_taken_for_a_log_rewritten_in_place_with_its_size_and_time(tmp_path):
    """A log overwritten in place by as many bytes, its modification time put back, is still
    not the file the kept index read: its change time moved, which no program can set back."""
    d, saved = str(tmp_path / "parts"), str(tmp_path / "index")
    Appender(d, 1).append(record("a.txt", sha="1" * 64))
    PartLogs(d).save(saved)
    (log,) = Path(d).iterdir()
    before = log.stat()
    log.write_bytes(log.read_bytes().replace(b"1" * 64, b"2" * 64))
    os.utime(log, ns=(before.st_atime_ns, before.st_mtime_ns))
    while log.stat().st_ctime_ns == before.st_ctime_ns:  # (within one tick of a coarse clock)
        time.sleep(0.005)
        os.utime(log, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = log.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    got = PartLogs.restore(d, saved)
    assert got.get("a.txt", 0).sha256 == "2" * 64 and got.dirty
    assert _records(got) == _records(PartLogs(d))


def test_an_index_saved_in_another_version_or_torn_is_not_taken(tmp_path):
    """Whatever is wrong with a kept index (cut short, even by one byte of its arrays, with
    bytes after its end, of another version, its arrays not the ones expected, not one at
    all), the logs are indexed anew."""
    d, saved = str(tmp_path / "parts"), str(tmp_path / "index")
    Appender(d, 1).append(record("a.txt"))
    PartLogs(d).save(saved)
    data = Path(saved).read_bytes()
    for bad in (data[: len(data) // 2], data[:-1], data + b"\0", b"", b"not marshal", data.replace(b"version", b"versioN"),
                data.replace(b"_marks", b"_marx")):
        Path(saved).write_bytes(bad)
        got = PartLogs.restore(d, saved)
        assert got.dirty and _records(got) == _records(PartLogs(d))


def test_compaction_says_when_the_index_no_longer_describes_the_logs(tmp_path):
    """Removing logs whose every record a later one superseded leaves the index true (no row
    points into them): kept, it restores to what indexing again gives. Copying the live
    records into a new log moves them, and compact says so (the runner then drops the kept
    index)."""
    d, saved = str(tmp_path), str(tmp_path / "index")
    Appender(d, 1).append(record("a.txt", sha="old"))
    second = Appender(d, 2)
    second.append(record("a.txt", sha="new"))
    second.append(record("b.txt"))
    logs = PartLogs(d)
    assert logs.compact() is False and len(list(Path(d).glob("*.log"))) == 1
    logs.save(saved)
    got = PartLogs.restore(d, saved)
    assert not got.dirty and _records(got) == _records(PartLogs(d))
    assert got.get("a.txt", 0).sha256 == "new"
    for run in range(3, 3 + MAX_LOGS):  # more logs than compaction lets stand: copied into one
        Appender(d, run).append(record(f"{run}.txt"))
    logs = PartLogs.restore(d, saved)
    assert logs.compact() is True and len(list(Path(d).glob("*.log"))) == 1
    # pruning: a gone unit's record alone in its log goes with the log, and its row is stale
    Appender(d, 30).append(record("gone.txt"))
    logs = PartLogs(d)
    for unit in logs.units():
        if unit != ("gone.txt", 0):
            logs.keep(*unit)
    assert logs.compact(prune=True) is True
    assert PartLogs(d).get("gone.txt", 0) is None


def test_a_record_whose_writing_fails_leaves_nothing_before_the_next(tmp_path):
    """A record written in blocks (a big unit's, read back from its temporary files) that fails
    midway (a full disk) is cut off the log again: a Dask worker goes on appending to the same
    log, and a torn record in the middle would be read with the next record's bytes as its own."""
    from normalize.partlog import encode_pieces

    d = str(tmp_path)
    log = Appender(d, 1)
    log.append(record("a.txt", lines=(line("d", 1),)))
    size = os.path.getsize(log.path)
    head, *_ = encode_pieces({"file": "big.jsonl", "sha256": "s", "key": "k", "chunk": 0, "chunks": 1,
                             "start": 0, "seen": 1, "written": 1, "timings": {}}, [b"x" * 5000, b"y"])

    def blocks():
        yield head
        yield b"x" * 2000
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        log.append(blocks())
    assert os.path.getsize(log.path) == size
    log.append(record("c.txt", lines=(line("e", 2),)))
    logs = PartLogs(d)
    assert sorted(logs.units()) == [("a.txt", 0), ("c.txt", 0)]
    assert body(logs, "c.txt") == [line("e", 2)]
