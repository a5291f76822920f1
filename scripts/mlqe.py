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
