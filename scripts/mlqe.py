"""Reading the MLQE-PE calibration data (train and dev splits only) for the flagger scripts."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ("ro-en", "et-en", "ne-en", "si-en", "ru-en")
SPLITS = ("train", "dev")  # the test split is kept back for independent evaluation


def data_dir() -> Path:
    env = os.environ.get("MLQE_DIR")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "data" / "mlqe-pe"


def rows(split: str, pairs: tuple[str, ...] = PAIRS) -> Iterator[dict]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    for lp in pairs:
        with gzip.open(data_dir() / f"{lp}.{split}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def fold(doc_id: str, k: int) -> int:
    """A stable fold number for a Wikipedia article (folds never split an article)."""
    return zlib.crc32(doc_id.encode("utf-8")) % k


def is_bad(row: dict) -> bool:
    return row["da_mean"] < 50


def auroc(score_bad: list[float], bad: list[bool]) -> float:
    """P(a random bad sentence scores above a random good one), ties counted half."""
    order = sorted(range(len(score_bad)), key=lambda i: score_bad[i])
    ranks = [0.0] * len(order)
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and score_bad[order[j]] == score_bad[order[i]]:
            j += 1
        for k in range(i, j):
            ranks[order[k]] = (i + j + 1) / 2  # mean of 1-based ranks i+1 .. j
        i = j
    pos = sum(bad)
    neg = len(bad) - pos
    if not pos or not neg:
        return float("nan")
    return (sum(r for r, b in zip(ranks, bad) if b) - pos * (pos + 1) / 2) / (pos * neg)
