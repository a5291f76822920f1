"""The benchmark scripts the README quotes still run (their timings are not checked here: these
machines are shared and noisy; the figures come from full runs, see the README)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_tool_comparison_prints_a_row_per_tool_it_ran_and_says_which_it_skipped():
    only = "normalize,ftfy.fix_text,monofixer (bifixer)"
    # (three documents: the seed articles are there even without ../shared/data)
    got = subprocess.run([sys.executable, "bench/compare_tools.py", "--docs", "3", "--reps", "1", "--only", only],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line for line in got.stdout.splitlines() if line.startswith("| ")}
    assert set(rows) >= {"tool", "normalize", "ftfy.fix_text"}
    ratio = float(rows["ftfy.fix_text"].rstrip(" |").rsplit("|", 1)[1])
    assert ratio > 0
    assert "normalize: " in got.stdout and "kept 3" in got.stdout
    if importlib.util.find_spec("bifixer") is None:
        assert "monofixer (bifixer): skipped" in got.stdout
        assert "monofixer (bifixer)" not in rows
    else:
        assert "monofixer (bifixer)" in rows


def test_the_lexicon_fill_bench_makes_the_lexicon_start_afresh_below_its_cap():
    """bench/lexicon_fill.py caps the flagger's lexicons: at 100,000 entries the seeds' first
    20 documents never fill them, at 200 they start afresh again and again; a row a cap."""
    got = subprocess.run([sys.executable, "bench/lexicon_fill.py", "--docs", "20", "--caps", "100000,200",
                          "--passes", "2", "--reps", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    rows = [line.split(" | ") for line in got.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r[0].lstrip("| ") for r in rows] == ["cap", "100,000", "200"]
    assert int(rows[1][2]) == 0 and int(rows[2][2]) > 0
    assert rows[1][5].rstrip(" |") == "+0%"


def test_the_dask_bench_runs_both_engines_and_finds_the_same_bytes():
    """bench/dask_engine.py over 300 documents (several tasks of each engine): a row an engine,
    and the two runs' outputs compared byte for byte."""
    pytest.importorskip("distributed")
    got = subprocess.run([sys.executable, "bench/dask_engine.py", "--docs", "300", "--reps", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    # (300 documents where ../shared/data is beside the checkout, else the five seed articles)
    assert re.match(r"(300|5) files", got.stdout), got.stdout
    rows = [line.split(" | ")[0].lstrip("| ") for line in got.stdout.splitlines() if line.startswith("| ")]
    assert rows == ["engine", "---", "local", "dask"]
    assert got.stdout.rstrip().endswith("the same output bytes: yes")


def test_the_plan_reads_bench_compares_the_two_plans_and_finds_the_same_units():
    """bench/plan_reads.py over small dumps cut into small chunks, by path and by URL: a row a
    plan, and the units and seek points of the two compared."""
    for extra in ([], ["--url"]):
        got = subprocess.run([sys.executable, "bench/plan_reads.py", "--copies", "1", "--gz", "2", "--plain", "1",
                              "--chunk-mb", "0.05", "--reps", "1", *extra], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        assert got.returncode == 0, got.stderr
        rows = [line.split(" | ")[0].lstrip("| ") for line in got.stdout.splitlines() if line.startswith("| ")]
        assert rows == ["plan", "---", "one after another", "side by side"]
        assert got.stdout.rstrip().endswith("the same units and seek points: yes")
