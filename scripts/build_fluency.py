"""Build the flagger's fluency models, rules/flagger/fluency.json.gz.

Source: the MLQE-PE *train* split, all five language pairs (CC0 1.0): the `pe` (human post-edit)
side for the English model, the `mt` side of sentences rated DA < 50 for the bad-MT model.
Run from the repository root:

    python scripts/build_fluency.py [--vocab-size 6000]

The build is deterministic; the fire thresholds of the "fluency" and "mt-style" reasons are set
by scripts/fit_flagger.py (they need held-out scores) and kept in the same file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlqe import ROOT, is_bad, rows

from normalize.flagger.fluency import build

OUT = ROOT / "rules" / "flagger" / "fluency.json.gz"
FIRE_KEYS = ("fire_gain", "fire_mt_style", "fire_min_tokens")


def write(data: dict, path: Path = OUT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
        g.write(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab-size", type=int, default=6000)
    args = ap.parse_args()
    old = {}
    if OUT.exists():
        with gzip.open(OUT, "rt", encoding="utf-8") as f:
            old = json.load(f)
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
