"""Choose the flagger's default threshold and write it into rules/flagger/weights.json.

    python scripts/pick_threshold.py          # pure Python; scripts/fit_flagger.py runs it last

The rule: the highest cut (three decimals) at which the whole pipeline, run on the seed articles
in corpus_in/ (typical news text), flags at most 15% of the sentences of the cleaned text. A
sentence is flagged when its confidence is at most the threshold, or when a pass left a
suggestion on it (those are always flagged, so they count against the 15% at any threshold).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlqe import ROOT

from normalize import Normalizer

MAX_FLAGGED = 0.15
WEIGHTS = ROOT / "rules" / "flagger" / "weights.json"


def seed_confidences() -> tuple[list[float], int, int]:
    """Confidences of the sentences the flagger alone would flag at some cut, how many sentences
    the passes flag whatever the cut, and how many sentences there are."""
    everything = Normalizer(threshold=1.0)
    none = Normalizer(threshold=0.0)
    confs: list[float] = []
    always = total = 0
    for path in sorted((ROOT / "corpus_in").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        res = everything.clean(text, path=path.name)
        total += len(everything.splitter.spans(res.text))
        forced = {(f.start, f.end) for f in none.clean(text, path=path.name).flags}
        always += len(forced)
        confs += [f.confidence for f in res.flags if (f.start, f.end) not in forced]
    return sorted(confs), always, total


def pick(confs: list[float], always: int, total: int) -> float:
    best = 0.0
    for k in range(1, 1000):
        t = k / 1000
        if always + sum(c <= t for c in confs) <= MAX_FLAGGED * total:
            best = t
    return best


def main() -> None:
    confs, always, total = seed_confidences()
    threshold = pick(confs, always, total)
    flagged = always + sum(c <= threshold for c in confs)
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    data["threshold"] = threshold
    data["fit"].update({
        "threshold_rule": f"highest cut (0.001 steps) at which the pipeline flags <= {MAX_FLAGGED:.0%} "
                          "of the cleaned seed articles' sentences (scripts/pick_threshold.py)",
        "seed_sentences": total,
        "seed_flagged_share": round(flagged / total, 4),
    })
    WEIGHTS.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"seeds: {total} sentences, {always} flagged by the passes; threshold {threshold}: "
          f"{flagged} flagged ({flagged / total:.1%})")


if __name__ == "__main__":
    main()
