"""What does flagging cost? The whole pipeline with and without the sentence flagger, over the
same documents on one core, alternating runs, each with a freshly built pipeline; prints the throughput of each and their ratio.

    python bench/flagging_cost.py [--reps 3] [--docs 1500]

Target (issue #4): with flagging on, at least half the throughput without it (ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import documents

from normalize import Normalizer
from normalize.rules import RuleSet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--docs", type=int, default=1500)
    args = ap.parse_args()
    docs = documents()[: args.docs]
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    words = sum(len(d.split()) for d in docs)
    rules = RuleSet.load()
    settings = {"without flagging": {"flagger": False}, "with flagging": {}}
    times: dict[str, list[float]] = {k: [] for k in settings}
    for _ in range(args.reps):
        for name, kw in settings.items():
            # a fresh pipeline each run (built outside the timing): caches start cold, as in a real run
            n = Normalizer(rules, **kw)
            n.preload()  # models load once per worker, before its first document
            t0 = time.perf_counter()
            for d in docs:
                n.clean(d)
            times[name].append(time.perf_counter() - t0)
    print(f"{len(docs)} documents, {mb:.2f} MB, {words:,} words; median of {args.reps} alternating runs, one core")
    print("| pipeline | seconds | words/s | MB/s |")
    print("| --- | ---: | ---: | ---: |")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, s in med.items():
        print(f"| {name} | {s:.2f} | {words / s:,.0f} | {mb / s:.2f} |")
    ratio = med["without flagging"] / med["with flagging"]
    print(f"\nthroughput with flagging / without: {ratio:.2f} (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
