"""Evaluate the flagger on the MLQE-PE *dev* split: a Markdown table per language pair.

    python scripts/eval_flagger.py [--threshold T]

A sentence counts as bad when its DA score is below 50. AUROC is rank-based (ties share their
mean rank; how well confidence orders bad before good); precision and recall are those of
"flagged" (confidence at most the threshold, by default the one in rules/flagger/weights.json)
against "bad". Runs with the base install (no numpy, no scikit-learn).

Then the seed articles (corpus_in/) through the whole pipeline at that threshold: the share of
the cleaned text's sentences flagged, and which must_flag / should_flag texts of the seeds'
expected.json fall in a flagged sentence (a text spanning several sentences counts when one of
them is flagged).

Note: 95% of dev sentences come from Wikipedia articles that also have sentences in train, so
dev rewards topic memory; scripts/fit_flagger.py reports an article-level cross-validated AUROC
on train as well.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlqe import PAIRS, ROOT, auroc, is_bad, rows

from normalize import Normalizer
from normalize.flagger import Flagger
from normalize.rules import RuleSet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=float, default=None)
    args = ap.parse_args()
    flagger = Flagger(RuleSet.load())
    threshold = flagger.threshold if args.threshold is None else args.threshold
    data = list(rows("dev"))
    t0 = time.perf_counter()
    conf = [flagger.score(r["mt"], [(0, len(r["mt"]))])[0].confidence for r in data]
    secs = time.perf_counter() - t0
    words = sum(len(r["mt"].split()) for r in data)

    print(f"Flagger on MLQE-PE dev (bad = DA < 50), threshold {threshold:g}\n")
    print("| pair | sentences | bad share | AUROC | flagged | precision | recall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for lp in (*PAIRS, "all"):
        idx = [i for i, r in enumerate(data) if lp == "all" or r["lp"] == lp]
        bad = [is_bad(data[i]) for i in idx]
        flagged = [conf[i] <= threshold for i in idx]
        tp = sum(1 for f, b in zip(flagged, bad) if f and b)
        prec = tp / sum(flagged) if any(flagged) else float("nan")
        rec = tp / sum(bad) if any(bad) else float("nan")
        name = "**overall**" if lp == "all" else lp
        print(f"| {name} | {len(idx)} | {sum(bad) / len(idx):.1%} | {auroc([-conf[i] for i in idx], bad):.3f} "
              f"| {sum(flagged) / len(idx):.1%} | {prec:.3f} | {rec:.3f} |")
    print(f"\nscored {words} words in {secs:.2f} s ({words / secs:,.0f} words/s, one core, "
          "first pass: caches cold)")
    seeds(threshold)


def seeds(threshold: float) -> None:
    shared = ROOT.parent / "shared" / "seeds" / "expected.json"
    expected_file = shared if shared.exists() else ROOT / "tests" / "data" / "expected.json"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    pipeline = Normalizer(threshold=threshold)
    total = flagged = 0
    lines = []
    for path in sorted((ROOT / "corpus_in").glob("*.txt")):
        res = pipeline.clean(path.read_text(encoding="utf-8"), path=path.name)
        text = res.text
        total += len(pipeline.splitter.spans(text))
        flagged += len(res.flags)
        for key in ("must_flag", "should_flag"):
            for item in expected.get(path.name, {}).get(key, []):
                at = text.find(item)
                caught = at >= 0 and any(f.start < at + len(item) and at < f.end for f in res.flags)
                lines.append(f"| {path.name[:3]} | {key} | {item} | {'yes' if caught else 'no'} |")
    print(f"\nSeed articles, cleaned: {flagged} of {total} sentences flagged ({flagged / total:.1%})\n")
    print("| seed | kind | text | flagged |")
    print("| --- | --- | --- | --- |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
