"""Fit the flagger's combiner and write rules/flagger/weights.json.

    python scripts/fit_flagger.py            # needs numpy; scikit-learn is not used

Steps (deterministic):
1. Features of every MLQE-PE *train* `mt` sentence. The fluency models are trained on train `pe`
   (which for a good translation is often the `mt` itself) and on train bad `mt`, so the fluency
   features used for fitting are cross-fitted: 5 folds by article (doc_id), each scored by
   models built from the other four. The shipped models (scripts/build_fluency.py) use all of
   train.
2. The fire thresholds of the "fluency" and "mt-style" reasons: the 5th percentile of the
   cross-fitted context gain and the 10th of the English-vs-bad-MT log ratio of good
   (DA >= 50) train sentences, written into rules/flagger/fluency.npz.
3. Logistic regression, label good = DA >= 50, features standardised. A weak L2 penalty (towards
   0) on most coefficients; the rule signals (foreign, fragment, repetition...) fire too rarely
   in MLQE-PE to be estimated alone, so each has a Gaussian prior on its raw coefficient (how
   much one firing lowers the logit of P(good), see PRIORS, sd PRIOR_SD): the data moves it
   only as far as the number of firings supports.
4. The default threshold: scripts/pick_threshold.py, run last: the highest cut at which the
   whole pipeline flags at most 15% of the sentences of the cleaned seed articles in corpus_in/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pick_threshold
from build_fluency import FIRE_KEYS
from build_fluency import OUT as FLUENCY_OUT
from build_fluency import read as read_fluency
from build_fluency import write as write_fluency
from mlqe import PAIRS, ROOT, auroc, fold, is_bad, rows

from normalize.flagger.core import Signals
from normalize.flagger.fluency import FluencyModel, build
from normalize.rules import RuleSet

WEIGHTS_OUT = ROOT / "rules" / "flagger" / "weights.json"
FOLDS = 5
L2 = 1.0  # penalty, in units of the log-likelihood of one sentence x n / 1000
#: the "fluency" / "mt-style" reasons fire below these percentiles of good train sentences
FLUENCY_FIRE_PERCENTILE = 5.0
MT_STYLE_FIRE_PERCENTILE = 10.0

FEATURES = [
    "log_words",
    "known_share", "non_latin", "foreign_letters", "foreign",
    "oov_share", "oov_any", "cap_unknown_share", "rare_share",
    "fragment", "repetition", "unbalanced", "lowercase_start", "midsentence_capital",
    "lm_logprob", "lm_gain", "lm_low_share", "mt_logprob", "mt_gain",
]
#: prior coefficients (per unit of the raw feature, on the logit of P(good)) for signals that
#: fire too rarely in MLQE-PE to be estimated: a firing rule counts as strong evidence.
PRIORS = {
    "foreign": -3.0,
    "fragment": -2.0,
    "repetition": -1.5,
    "unbalanced": -1.0,
    "lowercase_start": -1.0,
    "midsentence_capital": -2.0,
}
#: standard deviation of those priors (logit units)
PRIOR_SD = 0.5


def seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus_in").glob("*.txt"))]


def matrix(feats: list[dict[str, float]]) -> np.ndarray:
    return np.array([[f.get(k, 0.0) for k in FEATURES] for f in feats], dtype=float)


def fit_lr(X: np.ndarray, y: np.ndarray, prior: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton's method for L2-penalised logistic regression (penalty towards ``prior``)."""
    n, d = X.shape
    A = np.hstack([np.ones((n, 1)), X])
    w = np.zeros(d + 1)
    w[1:] = prior
    P = np.diag(np.concatenate([[0.0], lam]))
    p0 = np.concatenate([[0.0], prior])
    for _ in range(100):
        z = A @ w
        p = 1 / (1 + np.exp(-z))
        g = A.T @ (p - y) + P @ (w - p0)
        H = (A * (p * (1 - p))[:, None]).T @ A + P
        step = np.linalg.solve(H, g)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w[1:], float(w[0])


def main() -> None:
    rules = RuleSet.load()
    train = list(rows("train"))
    print(f"train: {len(train)} sentences", file=sys.stderr)

    # 1. cross-fitted features
    feats: list[dict[str, float] | None] = [None] * len(train)
    gains_good: list[float] = []
    style_good: list[float] = []
    for k in range(FOLDS):
        inside = [r for r in train if fold(r["doc_id"], FOLDS) != k]
        model = FluencyModel(build([r["pe"] for r in inside], [r["mt"] for r in inside if is_bad(r)]))
        signals = Signals(rules, fluency=model)
        for i, r in enumerate(train):
            if fold(r["doc_id"], FOLDS) == k:
                feats[i] = signals.sentence_text(r["mt"])[0]
                if not is_bad(r):
                    gains_good.append(feats[i]["lm_gain"])
                    style_good.append(feats[i]["mt_style"])
        print(f"fold {k}: {len(inside)} sentences in its fluency model", file=sys.stderr)
    y = np.array([0.0 if is_bad(r) else 1.0 for r in train])
    X = matrix(feats)  # type: ignore[arg-type]

    # 2. fluency fire threshold
    fl = {k: v for k, v in read_fluency(FLUENCY_OUT).items() if k not in FIRE_KEYS}
    fl["fire_gain"] = round(float(np.percentile(gains_good, FLUENCY_FIRE_PERCENTILE)), 4)
    fl["fire_mt_style"] = round(float(np.percentile(style_good, MT_STYLE_FIRE_PERCENTILE)), 4)
    fl["fire_min_tokens"] = 6
    write_fluency(fl)

    # 3. logistic regression
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Xs = (X - mean) / scale
    # a prior N(m, sd^2) on the raw coefficient b = w / scale is N(m * scale, (sd * scale)^2) on w
    prior = np.array([PRIORS.get(k, 0.0) * scale[i] for i, k in enumerate(FEATURES)])
    lam = np.array([1 / (PRIOR_SD * scale[i]) ** 2 if k in PRIORS else L2 * len(train) / 1000
                    for i, k in enumerate(FEATURES)])
    coef, intercept = fit_lr(Xs, y, prior, lam)
    # article-level cross-validation (folds never split an article): an honest estimate, since
    # dev shares most of its articles with train
    folds = np.array([fold(r["doc_id"], FOLDS) for r in train])
    cv_z = np.zeros(len(train))
    for k in range(FOLDS):
        inside = folds != k
        m_k = X[inside].mean(axis=0)
        s_k = X[inside].std(axis=0)
        s_k[s_k == 0] = 1.0
        pr_k = np.array([PRIORS.get(f, 0.0) * s_k[i] for i, f in enumerate(FEATURES)])
        lam_k = np.array([1 / (PRIOR_SD * s_k[i]) ** 2 if f in PRIORS else L2 * inside.sum() / 1000
                          for i, f in enumerate(FEATURES)])
        c_k, b_k = fit_lr((X[inside] - m_k) / s_k, y[inside], pr_k, lam_k)
        cv_z[~inside] = (X[~inside] - m_k) / s_k @ c_k + b_k
    bad = [bool(v == 0) for v in y]
    cv = {"overall": round(auroc(list(-cv_z), bad), 4)}
    for lp in PAIRS:
        idx = [i for i, r in enumerate(train) if r["lp"] == lp]
        cv[lp] = round(auroc([-cv_z[i] for i in idx], [bad[i] for i in idx]), 4)
    print(f"train, article-level {FOLDS}-fold CV AUROC: {cv}", file=sys.stderr)
    p_train = 1 / (1 + np.exp(-(Xs @ coef + intercept)))
    print(f"train AUROC {auroc(list(-p_train), [bool(v == 0) for v in y]):.3f}", file=sys.stderr)
    for k, c, i in zip(FEATURES, coef, range(len(FEATURES))):
        fired = float(np.mean(X[:, i] != 0))
        one = auroc(list(-X[:, i]), [bool(v == 0) for v in y])
        print(f"  {k:22s} coef {c:+.3f} (raw {c / scale[i]:+.3f})  nonzero {fired:6.1%}  "
              f"single-feature AUROC(low=bad) {one:.3f}", file=sys.stderr)

    # 4. the threshold is chosen afterwards, on the seeds, by scripts/pick_threshold.py
    out = {
        "about": "Flagger combiner: logistic regression, P(good translation | features); label good = "
                 "MLQE-PE DA >= 50; features standardised ((x - mean) / scale). Written by "
                 "scripts/fit_flagger.py; do not edit by hand.",
        "features": FEATURES,
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(intercept, 6),
        "threshold": 0.5,  # provisional: pick_threshold.main() below replaces it
        "fit": {
            "data": "MLQE-PE train (ro, et, ne, si, ru -> en), mt side",
            "sentences": len(train),
            "bad_share": round(float(1 - y.mean()), 4),
            "cv_auroc_by_article": cv,
            "priors": PRIORS,
            "prior_sd": PRIOR_SD,
        },
    }
    WEIGHTS_OUT.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS_OUT.relative_to(ROOT)}", file=sys.stderr)
    pick_threshold.main()


if __name__ == "__main__":
    main()
