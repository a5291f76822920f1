"""The combiner: a logistic regression over the signals' features.

Weights are data, ``rules/flagger/weights.json``, written by ``scripts/fit_flagger.py`` (fitted on
MLQE-PE train, label "good" = DA >= 50). Each feature is standardised with the mean and scale
stored beside its coefficient, so the confidence of a sentence is P(good | features).
"""

from __future__ import annotations

import json
import math
from pathlib import Path


class Combiner:
    def __init__(self, data: dict) -> None:
        self.features: list[str] = list(data["features"])
        self.mean: list[float] = [float(x) for x in data["mean"]]
        self.scale: list[float] = [float(x) or 1.0 for x in data["scale"]]
        self.coef: list[float] = [float(x) for x in data["coef"]]
        self.intercept = float(data["intercept"])
        self.threshold = float(data["threshold"])
        self._terms = list(zip(self.features, self.coef, self.mean, self.scale))
        # the same logit as a plain linear form: one multiply-add per feature in the hot path
        self._linear = [(name, c / s) for name, c, s in zip(self.features, self.coef, self.scale)]
        self._offset = self.intercept - sum(c * m / s for _, c, m, s in self._terms)

    @classmethod
    def load(cls, path: Path) -> Combiner:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def offset(self) -> float:
        """The logit of a sentence whose features are all 0."""
        return self._offset

    def terms(self, names: tuple[str, ...]) -> list[tuple[int, float]]:
        """(index into ``names``, weight) of each feature, in the combiner's order: the linear
        form the kernel computes (a feature ``names`` lacks counts 0, so it is left out)."""
        return [(names.index(n), w) for n, w in self._linear if n in names]

    def terms_table(self) -> list[tuple[str, float, float, float]]:
        """(name, coefficient, mean, scale) of each feature, in order: what
        :meth:`contributions` computes with (the compiled kernel's Reasoner takes them)."""
        return list(self._terms)

    def logit(self, feats: dict[str, float]) -> float:
        # offset + w1 f1 + w2 f2 + ..., added left to right, as the kernel does
        z = self._offset
        for name, w in self._linear:
            z += w * feats.get(name, 0.0)
        return z

    def contributions(self, feats: dict[str, float]) -> list[tuple[float, str]]:
        """Each feature's term of the logit, most negative (most to blame) first."""
        return sorted((c * (feats.get(name, 0.0) - m) / s, name) for name, c, m, s in self._terms)

    def confidence(self, feats: dict[str, float]) -> float:
        z = self.logit(feats)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
