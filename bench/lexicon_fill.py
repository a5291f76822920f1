"""What a flagger lexicon that fills costs: the corpus cleaned over and over by one Normalizer
whose lexicons are capped lower than the 100,000 entries they hold in production.

    python bench/lexicon_fill.py [--caps 100000,60000,50000] [--passes 5] [--reps 3] [--compare CHECKOUT ...]

The bench corpus brings about 30,000 tokens beyond the lexicon's 40,000 seeded words, so at the
production cap the table never fills; a corpus of millions of diverse articles fills it again
and again. Lowering the cap (and with it the seeds, at most half of it) over the same documents
makes it fill here. Each measurement is a fresh process: it builds the pipeline, then cleans
the corpus ``--passes`` times; the first pass is cold (every token new), the others are warm,
and the figure is the median of the warm passes. With ``--compare``, each cap is measured for
every checkout in turn (alternating, ``--reps`` times), so the figures are side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(cap: int, passes: int, docs: int | None) -> None:
    """In a fresh process: the warm passes' times, and how often the first lexicon started afresh."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import corpus as bench_corpus

    import normalize.flagger.core as core
    from normalize import Normalizer

    made = []
    real = core.K.Lexicon

    def capped(describe, max_entries, *args):  # type: ignore[no-untyped-def]
        lexicon = real(describe, cap, *args)
        made.append(lexicon)
        return lexicon

    core.K.Lexicon = capped  # (Signals.lexicon builds every lexicon through this name)
    texts = bench_corpus.documents()[:docs]
    n = Normalizer()
    n.preload()
    seeds = len(made[0]) if made else 0
    times, sizes = [], []
    for _ in range(passes):
        t0 = time.perf_counter()
        for text in texts:
            n.clean(text)
            sizes.append(len(made[0]))
        times.append(time.perf_counter() - t0)
    restarts = sum(b < a for a, b in itertools.pairwise(sizes))
    print(json.dumps({"times": times, "restarts": restarts, "seeds": seeds, "module": core.__file__}))


def measure(code: Path, cap: int, passes: int, docs: int | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(cap), "--passes", str(passes)]
    if docs:
        cmd += ["--docs", str(docs)]
    got = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, check=True)
    out = json.loads(got.stdout.strip().splitlines()[-1])
    if not out["module"].startswith(str(code)):
        raise SystemExit(f"measured {out['module']}, not the checkout {code}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--caps", default="100000,60000,50000", help="comma-separated lexicon caps; the first is the reference")
    ap.add_argument("--passes", type=int, default=5, help="passes over the corpus in each process (the first is cold)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--docs", type=int, default=None, help="the first N documents of the corpus (default: all)")
    ap.add_argument("--compare", type=Path, action="append", default=[], help="another checkout of normalize")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.passes < 2:
        ap.error("--passes must be at least 2 (the first pass is cold)")
    if args.child is not None:
        child(args.child, args.passes, args.docs)
        return
    caps = [int(c) for c in args.caps.split(",") if c]
    codes = [ROOT, *[c.resolve() for c in args.compare]]
    warm: dict[tuple[int, Path], list[float]] = {}
    info: dict[tuple[int, Path], dict] = {}
    for cap in caps:
        for _ in range(args.reps):
            for code in codes:
                out = measure(code, cap, args.passes, args.docs)
                warm.setdefault((cap, code), []).extend(out["times"][1:])
                info[(cap, code)] = out
                print(f"  cap {cap:,} {code}: passes {[round(t, 3) for t in out['times']]}, "
                      f"{out['restarts']} fresh starts, {out['seeds']:,} seeded entries", flush=True)
    print("\n| cap | code | fresh starts | warm pass (median) | range | vs the first cap |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for cap in caps:
        for code in codes:
            times = warm[(cap, code)]
            ref = statistics.median(warm[(caps[0], code)])
            print(f"| {cap:,} | {code} | {info[(cap, code)]['restarts']} | {statistics.median(times):.3f} s "
                  f"| {min(times):.3f}-{max(times):.3f} s | {statistics.median(times) / ref - 1:+.0%} |")


if __name__ == "__main__":
    main()
