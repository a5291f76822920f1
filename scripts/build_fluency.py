"""Build the flagger's fluency models, rules/flagger/fluency.npz.

Source: the MLQE-PE *train* split, all five language pairs (CC0 1.0): the `pe` (human post-edit)
side for the English model, the `mt` side of sentences rated DA < 50 for the bad-MT model.
Run from the repository root:

    python scripts/build_fluency.py [--vocab-size 6000]

The build is deterministic (the same data gives the same bytes); the fire thresholds of the
"fluency" and "mt-style" reasons are set by scripts/fit_flagger.py (they need held-out scores)
and kept in the same file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlqe import ROOT, is_bad, rows

from normalize.flagger.fluency import build, read_data, write_data

OUT = ROOT / "rules" / "flagger" / "fluency.npz"
#: the former format (JSON), read for its fire thresholds when there is no OUT yet
LEGACY = ROOT / "rules" / "flagger" / "fluency.json.gz"
FIRE_KEYS = ("fire_gain", "fire_mt_style", "fire_min_tokens")


def read(path: Path = OUT) -> dict:
    return read_data(path)


def write(data: dict, path: Path = OUT) -> None:
    write_data(data, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab-size", type=int, default=6000)
    args = ap.parse_args()
    old = {}
    for path in (OUT, LEGACY):
        if path.exists():
            old = read(path)
            break
    train = list(rows("train"))
    data = build([r["pe"] for r in train], [r["mt"] for r in train if is_bad(r)],
                 vocab_size=args.vocab_size)
    for key in FIRE_KEYS:  # keep the calibrated fire thresholds
        if key in old:
            data[key] = old[key]
    write(data)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB, "
          f"{len(data['vocab'])} tokens; english: {len(data['english']['bi']) // 3} bigrams, "
          f"{len(data['english']['tri']) // 4} trigrams; bad_mt: {len(data['bad_mt']['bi']) // 3} "
          f"bigrams, {len(data['bad_mt']['tri']) // 4} trigrams)")


if __name__ == "__main__":
    main()
