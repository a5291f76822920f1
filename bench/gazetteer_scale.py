"""Does the gazetteer's cost grow with its size? Time the gazetteer pass over the same corpus
with a 100-entry and a 10,000-entry gazetteer, alternating runs, and print the ratio.

    python bench/gazetteer_scale.py [--reps 5] [--docs 400]

The corpus is the seed articles plus the MT side of ../shared/data (grouped into articles
by doc_id) when it is beside the checkout. The synthetic entries are people with made-up
names, variants and garbles, shaped like the real ones (rules/gazetteer/people.yaml); the
100-entry gazetteer is a subset of the 10,000-entry one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from normalize.passes.base import DocContext
from normalize.passes.gazetteer import GazetteerPass
from normalize.rules import RuleSet

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "mlqe-pe"


def corpus(limit: int) -> list[str]:
    docs = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus_in").glob("*.txt"))]
    groups: dict[str, list[str]] = {}
    for path in sorted(DATA.glob("*.train.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                groups.setdefault(row["lp"] + row["doc_id"], []).append(row["mt"])
    docs += [" ".join(v) for _, v in sorted(groups.items())]
    return docs[:limit]


def synthetic_entries(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    syll = ["ka", "lo", "mir", "sen", "dra", "vik", "no", "tes", "ba", "rus", "el", "zan", "po", "gi"]
    words = ["Doubt", "Rabbit", "Stone", "Field", "Baker", "Mountain", "River", "Wolf", "Gypsy"]
    out = []
    for i in range(n):
        given = "".join(rng.choice(syll) for _ in range(2)).capitalize()
        surname = "".join(rng.choice(syll) for _ in range(3)).capitalize() + f"{i:05d}"[:0]
        surname = surname + "".join(rng.choice("aeiou") for _ in range(2)) + str(i)
        out.append({
            "name": f"{given} {surname}", "type": "person", "given": given, "surname": surname,
            "nationality": "Testish", "country": "Testland",
            "roles": [{"title": "Minister", "of": "Testland", "from": "2015"}],
            "variants": [f"{given} {surname}y", f"{given[0]}. {surname}"],
            "garbles": [{"text": f"{given} {rng.choice(words)}{i}", "lang": "es"}],
        })
    return out


def build_rules(tmp: Path, n: int) -> RuleSet:
    root = tmp / f"rules_{n}"
    shutil.copytree(ROOT / "rules", root, ignore=shutil.ignore_patterns("gazetteer", "flagger"))
    (root / "gazetteer").mkdir()
    (root / "gazetteer" / "people.yaml").write_text(yaml.safe_dump({"entries": synthetic_entries(n)}))
    rules = RuleSet.load(root)
    rules.require_ok()
    return rules


def time_pass(p: GazetteerPass, docs: list[str]) -> float:
    ctx = DocContext()
    t0 = time.perf_counter()
    for d in docs:
        p.run(d, ctx)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--docs", type=int, default=400)
    args = ap.parse_args()
    docs = corpus(args.docs)
    chars = sum(map(len, docs))
    with tempfile.TemporaryDirectory() as tmp:
        small, large = (GazetteerPass(build_rules(Path(tmp), n)) for n in (100, 10_000))
    times: dict[str, list[float]] = {"100": [], "10000": []}
    for _ in range(args.reps):  # alternate, so machine noise hits both alike
        times["100"].append(time_pass(small, docs))
        times["10000"].append(time_pass(large, docs))
    best = {k: min(v) for k, v in times.items()}
    print(f"corpus: {len(docs)} documents, {chars / 1e6:.2f} M characters; {args.reps} alternating runs")
    print("| gazetteer | best s | median s | MB/s |")
    print("|---|---|---|---|")
    for k in ("100", "10000"):
        print(f"| {int(k):,} entries | {best[k]:.3f} | {statistics.median(times[k]):.3f} | "
              f"{chars / 1e6 / best[k]:.2f} |")
    print(f"ratio 10,000 / 100 entries: {best['10000'] / best['100']:.2f}x (goal: at most 1.2x)")


if __name__ == "__main__":
    main()
