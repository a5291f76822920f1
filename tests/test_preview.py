"""``normalize run IN OUT --dry-run``: what a run would do, and why, with nothing written.

Each case sets up IN and OUT, asks the dry run (through the real entry point), checks what it
says against what the run then does, and checks that OUT did not change by a byte or a time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus_in"
SEEDS = sorted(p.name for p in CORPUS.glob("*.txt"))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "normalize", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def dry(inp: Path, out: Path, *args: str) -> tuple[list[tuple[str, str]], str]:
    """(word, file) of each line the dry run prints on stdout, and its stderr."""
    got = cli("run", str(inp), str(out), "--dry-run", *args)
    assert got.returncode == 0, got.stderr
    return [tuple(line.split("\t")) for line in got.stdout.splitlines()], got.stderr


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under OUT (hidden ones too) with its bytes and mtime."""
    if not out.exists():
        return {}
    return {p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(out.rglob("*")) if p.is_file()}


def done(out: Path) -> int:
    return json.loads((out / "_normalize" / "summary.json").read_text())["units"]["done"]


@pytest.fixture
def inp(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    shutil.copytree(CORPUS, inp, ignore=shutil.ignore_patterns("README*"))
    return inp


def test_before_the_first_run_every_file_is_new_and_out_is_not_created(inp, tmp_path):
    out = tmp_path / "out"
    lines, err = dry(inp, out)
    assert lines == [("new", name) for name in SEEDS]
    assert "dry run, nothing written: 5 of 5 files to clean (5 new)" in err
    assert not out.exists()


def test_it_says_why_each_file_would_be_cleaned_and_the_run_then_cleans_exactly_those(inp, tmp_path):
    """A changed input, a deleted output, a new input and a vanished one, each with its word;
    a FIFO is a file the run would fail without reading. OUT is left as it was, to the mtime."""
    out = tmp_path / "out"
    assert cli("run", str(inp), str(out), "-q").returncode == 0
    with (inp / SEEDS[1]).open("a", encoding="utf-8") as fh:
        fh.write("One more sentence.\n")
    (out / SEEDS[2]).unlink()
    (inp / "sub").mkdir()
    (inp / "sub" / "new.txt").write_text("NATO ,  the Alliance said so.\n", encoding="utf-8")
    (inp / SEEDS[4]).unlink()
    os.mkfifo(inp / "pipe.txt")
    before = snapshot(out)
    lines, err = dry(inp, out)
    # the files to clean in the order the run plans them, then those it would fail, then the gone
    assert lines == [("changed", SEEDS[1]), ("missing", SEEDS[2]), ("new", "sub/new.txt"), ("fails", "pipe.txt"),
                     ("gone", SEEDS[4])]
    assert "pipe.txt: not a regular file" in err
    assert "3 of 6 files to clean (1 changed, 1 missing, 1 new)" in err and "2 reused" in err
    assert "1 would fail unread" in err and "1 output(s) have no input any more" in err
    assert snapshot(out) == before
    os.unlink(inp / "pipe.txt")
    assert cli("run", str(inp), str(out), "-q").returncode == 0
    assert done(out) == 3
    assert dry(inp, out)[0] == [("gone", SEEDS[4])]
    assert dry(inp, out, "--prune")[1].count("--prune would remove them") == 1


def test_changed_settings_and_rules_are_named_with_their_old_and_new_values(inp, tmp_path):
    out = tmp_path / "out"
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    assert cli("run", str(inp), str(out), "-q", "--rules", str(rules)).returncode == 0
    lines, err = dry(inp, out, "--rules", str(rules), "--threshold", "0.6", "--skip", "debris")
    assert lines == [("settings", name) for name in SEEDS]
    assert "since the last run: skip: (none) -> debris; threshold: " in err and " -> 0.6" in err
    with (rules / "punctuation.yaml").open("a", encoding="utf-8") as fh:
        fh.write("# a curator's note\n")
    lines, err = dry(inp, out, "--rules", str(rules), "--skip", "debris")
    assert lines == [("rules+settings", name) for name in SEEDS]
    assert "since the last run: rules: " in err
    # without the last run's summary, what changed cannot be told apart
    (out / "_normalize" / "summary.json").unlink()
    assert dry(inp, out, "--rules", str(rules))[0] == [("other-run", name) for name in SEEDS]
    assert dry(inp, out, "--rules", str(rules), "--force", "-q")[0] == [("forced", name) for name in SEEDS]


def test_a_file_in_chunks_cut_otherwise_or_left_unfinished(tmp_path):
    """Another --chunk-mb cuts a big .jsonl otherwise ("cut"); a chunk whose record is torn (a
    run killed as it wrote it) leaves the file "incomplete"."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    rows = [json.dumps({"id": i, "text": f"Sentence {i} ,  with NATO and the Coalition."}) for i in range(300)]
    (inp / "big.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert cli("run", str(inp), str(out), "-q", "--jobs", "1", "--chunk-mb", "0.004").returncode == 0
    assert dry(inp, out, "--chunk-mb", "0.004")[0] == []
    lines, err = dry(inp, out, "--chunk-mb", "0.006")
    assert lines == [("cut", "big.jsonl")] and "1 of them in 4 chunks" in err
    logs = sorted((out / "_normalize" / "parts").glob("*.log"))
    assert len(logs) == 1
    with logs[0].open("r+b") as fh:  # the last record written loses its last byte
        fh.truncate(os.path.getsize(logs[0]) - 1)
    assert dry(inp, out, "--chunk-mb", "0.004")[0] == [("incomplete", "big.jsonl")]


def test_broken_rules_are_found_when_there_is_work_as_a_run_finds_them(inp, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "debris.yaml").write_text("patterns: [\n", encoding="utf-8")
    got = cli("run", str(inp), str(tmp_path / "out"), "--dry-run", "--rules", str(rules))
    assert got.returncode == 2 and "debris.yaml:" in got.stderr
    assert not (tmp_path / "out").exists()


def test_a_rules_directory_that_does_not_exist_is_a_usage_error_as_in_a_run(inp, tmp_path):
    got = cli("run", str(inp), str(tmp_path / "out"), "--dry-run", "--rules", str(tmp_path / "nowhere"))
    assert got.returncode == 2 and "rules directory does not exist" in got.stderr
