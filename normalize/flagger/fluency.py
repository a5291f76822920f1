"""Fluency: how natural a sentence is as English, by two small class-based trigram models.

Both are built by ``scripts/build_fluency.py`` from the MLQE-PE train split (CC0) and shipped as
``rules/flagger/fluency.json.gz``:

- ``english``: the ``pe`` side (human post-edits): fluent English;
- ``bad_mt``: the ``mt`` side of the sentences rated bad (DA < 50): faulty machine translation.

Frequent words are their own tokens; every other word falls into a class by shape and suffix
(``<Cap>``, ``<ACR>``, ``<num>``, ``<~ing>``...), which keeps the models small and lets them
judge news text full of names they never saw. Smoothing is interpolated Kneser-Ney, stored in
backoff form (ARPA-style: log10 probabilities and backoff weights), trigrams seen once pruned.

Two reasons:

- ``fluency`` fires when the words follow each other much less naturally than the words alone
  would suggest (context gain far below that of fluent English); it quotes the least natural
  three-word stretch;
- ``mt-style`` fires when the sentence is much more likely under the bad-MT model than under
  the English one: phrasing typical of rejected machine translation.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ..model import Reason
from .text import Sentence

BOS, EOS = "<s>", "</s>"
# lowercase suffix classes for rare words, longest first
_SUFFIXES = ("ation", "tion", "sion", "ment", "ness", "ship", "ity", "ism", "ist", "ing", "ous",
             "ive", "able", "ible", "ful", "less", "ical", "ic", "al", "ed", "ly", "er", "est",
             "ize", "ise", "ate", "an", "s")
_PUNCT = {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', '"': '"', "‘": "'", "’": "'", "'": "'",
          "–": "-", "—": "-", "-": "-", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";",
          "(": "(", ")": ")", "[": "(", "]": ")", "%": "%", "$": "$", "€": "$", "£": "$", "/": "/",
          "…": "."}


def word_class(word: str) -> str:
    """The class of a word that is not in the model's vocabulary."""
    if word[:1].isupper():
        return "<ACR>" if len(word) > 1 and word.isupper() else "<Cap>"
    if "-" in word:
        return "<hyph>"
    for s in _SUFFIXES:
        if word.endswith(s) and len(word) > len(s) + 2:
            return "<~" + s + ">"
    return "<w>"


def raw_tokens(sent: Sentence) -> list[str]:
    """The token stream the model sees, before vocabulary lookup (words keep their case)."""
    out: list[str] = []
    for t, k in zip(sent.toks, sent.kinds):
        if k == "w":
            if t.endswith(("'s", "’s")) and len(t) > 2:
                out.append(t[:-2])
                out.append("'s")
            else:
                out.append(t.replace("’", "'"))
        elif k == "n":
            out.append("<year>" if len(t) == 4 and t[:2] in ("19", "20") else "<num>")
        else:
            out.append(_PUNCT.get(t, "<p>"))
    return out


_NONE2 = (None, None)
_ZERO2 = (0.0, 0.0)


def _merge(a: dict[int, float], b: dict[int, float], missing: float | None
           ) -> dict[int, tuple[float | None, float | None]]:
    """One table for two models: key -> (value in a, value in b), ``missing`` where absent."""
    out = {k: (v, b.get(k, missing)) for k, v in a.items()}
    for k, v in b.items():
        if k not in out:
            out[k] = (missing, v)
    return out


class _Trigrams:
    """One model's tables in backoff form, keyed by integer n-gram codes."""

    def __init__(self, data: dict, V: int, scale: float) -> None:
        q = scale
        self.V = V
        self.uni = [x / q for x in data["uni"]]
        self.bow1 = [x / q for x in data["bow1"]]
        bi = data["bi"]
        self.bi = {bi[i] * V + bi[i + 1]: bi[i + 2] / q for i in range(0, len(bi), 3)}
        b2 = data["bow2"]
        self.bow2 = {b2[i] * V + b2[i + 1]: b2[i + 2] / q for i in range(0, len(b2), 3)}
        tri = data["tri"]
        self.tri = {(tri[i] * V + tri[i + 1]) * V + tri[i + 2]: tri[i + 3] / q
                    for i in range(0, len(tri), 4)}

    def bigram(self, key: int) -> float:
        """log10 p(w | v) of the bigram code ``v * V + w``, backing off to the unigram."""
        lp = self.bi.get(key)
        return lp if lp is not None else self.bow1[key // self.V] + self.uni[key % self.V]

    def backoff(self, key: int) -> float:
        """log10 p(w | u v) of the trigram code ``(u * V + v) * V + w`` by backing off (for a
        trigram this model does not list)."""
        V = self.V
        c, w = divmod(key, V)
        return self.bow2.get(c, 0.0) + self.bigram((c % V) * V + w)

    def logprobs(self, ids: list[int], bos: int, eos: int) -> list[float]:
        """log10 p(w | two before) for each id and for the end of the sentence."""
        V, tri, bi, bow2, bow1, uni = self.V, self.tri, self.bi, self.bow2, self.bow1, self.uni
        u = v = bos
        lps: list[float] = []
        for w in (*ids, eos):
            lp = tri.get((u * V + v) * V + w)
            if lp is None:
                lp2 = bi.get(v * V + w)
                if lp2 is None:
                    lp2 = bow1[v] + uni[w]
                lp = bow2.get(u * V + v, 0.0) + lp2
            lps.append(lp)
            u, v = v, w
        return lps


class Scored(NamedTuple):
    """A sentence as the models saw it: token ids, and log10 p of each token (and the end
    mark) under the English and the bad-MT model."""

    ids: list[int]
    lps: list[float]
    mps: list[float]


class FluencyModel:
    """The loaded models; :meth:`features` gives the features and the reasons that fire."""

    def __init__(self, data: dict) -> None:
        self.vocab: list[str] = data["vocab"]
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        V = len(self.vocab)
        scale = float(data["scale"])
        self.english = _Trigrams(data["english"], V, scale)
        self.bad_mt = _Trigrams(data["bad_mt"], V, scale)
        self.bos = self.ids[BOS]
        self.eos = self.ids[EOS]
        self.fire_gain: float = float(data.get("fire_gain", -1.0))
        self.fire_mt_style: float = float(data.get("fire_mt_style", -1.0))
        self.fire_min_tokens: int = int(data.get("fire_min_tokens", 6))
        self._cls: dict[str, int] = {}
        self._tok_ids: dict[str, tuple[int, ...]] = {}
        self._poss = self.ids.get("'s", self.ids["<w>"])
        self._num, self._year = self.ids["<num>"], self.ids["<year>"]
        self._other_punct = self.ids["<p>"]
        self._punct = {k: self.ids.get(v, self._other_punct) for k, v in _PUNCT.items()}
        # one table for both models, every entry complete: a side the model lacks holds that
        # model's backed-off value, so a hit needs one lookup and a miss two
        en, mt = self.english, self.bad_mt
        self._bi = {k: (en.bigram(k) if a is None else a, mt.bigram(k) if b is None else b)
                    for k, (a, b) in _merge(en.bi, mt.bi, None).items()}
        self._bow2 = _merge(en.bow2, mt.bow2, 0.0)
        self._tri = {k: (en.backoff(k) if a is None else a, mt.backoff(k) if b is None else b)
                     for k, (a, b) in _merge(en.tri, mt.tri, None).items()}

    @classmethod
    def load(cls, path: Path) -> FluencyModel:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls(json.load(f))

    def token_id(self, tok: str) -> int:
        i = self._cls.get(tok)
        if i is None:
            low = tok.lower()
            i = self.ids.get(low)
            if i is None:
                i = self.ids.get(word_class(tok), self.ids["<w>"])
            if len(self._cls) < 200_000:
                self._cls[tok] = i
        return i

    def token_ids(self, sent: Sentence) -> list[int]:
        """Token ids of the sentence: the same stream as :func:`raw_tokens`, through a cache
        from token to its ids (a possessive word gives two)."""
        cache = self._tok_ids
        out: list[int] = []
        extend = out.extend
        for t, k in zip(sent.toks, sent.kinds):
            got = cache.get(t)
            if got is None:
                got = self._ids_of(t, k)
                if len(cache) < 200_000:
                    cache[t] = got
            extend(got)
        return out

    def _ids_of(self, t: str, kind: str) -> tuple[int, ...]:
        if kind == "w":
            if t.endswith(("'s", "’s")) and len(t) > 2:
                return self.token_id(t[:-2]), self._poss
            return (self.token_id(t),)
        if kind == "n":
            return (self._year if len(t) == 4 and t[:2] in ("19", "20") else self._num,)
        return (self._punct.get(t, self._other_punct),)

    def _totals(self, ids: list[int], lps: list[float], mps: list[float]) -> tuple[float, float, float, int]:
        """Sums over the sentence (and its end) of log10 p under each model, of the unigram
        log10 p, and the count of tokens whose context makes them much less likely.

        The hot path: both models are read through merged tables (one lookup serves both).
        ``lps`` and ``mps`` receive each token's log10 p under the two models (for the quotes)."""
        V = self.english.V
        tri, bi, bow2 = self._tri.get, self._bi.get, self._bow2.get
        e_bow1, e_uni = self.english.bow1, self.english.uni
        m_bow1, m_uni = self.bad_mt.bow1, self.bad_mt.uni
        u = v = self.bos
        t_en = t_mt = t_uni = 0.0
        low = 0
        ids.append(self.eos)
        for w in ids:
            c = u * V + v
            got = tri(c * V + w)
            if got is None:
                b = bi(v * V + w)
                w_lp, w_mp = bow2(c, _ZERO2)
                if b is None:
                    lp = e_bow1[v] + e_uni[w] + w_lp
                    mp = m_bow1[v] + m_uni[w] + w_mp
                else:
                    lp = b[0] + w_lp
                    mp = b[1] + w_mp
            else:
                lp, mp = got
            up = e_uni[w]
            lps.append(lp)
            mps.append(mp)
            t_en += lp
            t_mt += mp
            t_uni += up
            if lp - up < -0.5:
                low += 1
            u, v = v, w
        ids.pop()
        return t_en, t_mt, t_uni, low

    def measure(self, sent: Sentence) -> tuple[dict[str, float], Scored]:
        """Features, and the scored tokens (for :meth:`reasons`)."""
        ids = self.token_ids(sent)
        lps: list[float] = []
        mps: list[float] = []
        total, mt_total, uni_total, low = self._totals(ids, lps, mps)
        n = len(ids) + 1
        feats = {"lm_logprob": total / n, "lm_gain": (total - uni_total) / n, "lm_low_share": low / n,
                 "mt_logprob": mt_total / n, "mt_gain": (mt_total - uni_total) / n,
                 "mt_style": (total - mt_total) / n}  # log10 P(english) / P(bad MT), per token
        return feats, Scored(ids, lps, mps)

    def reasons(self, sent: Sentence, scored: Scored, feats: dict[str, float]) -> list[Reason]:
        """The reasons that fire on their own, each quoting the sentence's worst stretch."""
        reasons: list[Reason] = []
        if len(scored.ids) >= self.fire_min_tokens:
            if feats["lm_gain"] < self.fire_gain:
                reasons.append(self.explain(sent, "fluency", scored))
            if feats["mt_style"] < self.fire_mt_style:
                reasons.append(self.explain(sent, "mt-style", scored))
        return reasons

    def explain(self, sent: Sentence, code: str, scored: Scored | None = None) -> Reason:
        """The "fluency" or "mt-style" reason of the sentence, quoting its worst stretch.

        :meth:`features` gives it when the signal alone passes its fire threshold; the flagger
        also asks for it when these features are what made a sentence's confidence low.
        """
        if scored is None:
            scored = self.measure(sent)[1]
        ids, lps, mts = scored
        toks = raw_tokens(sent)
        if code == "fluency":
            uni = self.english.uni
            gains = [a - uni[i] for a, i in zip(lps, [*ids, self.eos])]
            return Reason("fluency", _fluency_message(toks, gains))
        at = _worst_window([a - b for a, b in zip(lps, mts)])
        return Reason(
            "mt-style",
            "Phrasing typical of faulty machine translation: this sentence is closer to "
            "translations that reviewers rejected than to edited English "
            f"(most around \u201c{_shown(toks, at)}\u201d).",
        )


def _worst_window(values: list[float]) -> int:
    """Index of the token ending the three-token window with the lowest sum (not the end mark)."""
    best, at = math.inf, 0
    for i in range(len(values) - 1):
        g = values[i] + (values[i - 1] if i >= 1 else 0.0) + (values[i - 2] if i >= 2 else 0.0)
        if g < best:
            best, at = g, i
    return at


def _shown(toks: list[str], at: int) -> str:
    """The three tokens ending at ``at``, widened to take in a word if they are all marks."""
    lo, hi = max(0, at - 2), at + 1
    while not any(t[:1].isalnum() for t in toks[lo:hi]) and (lo > 0 or hi < len(toks)):
        lo, hi = max(0, lo - 1), min(len(toks), hi + 1)
    words = toks[lo:hi]
    return " ".join(w for w in words if not w.startswith("<")) or " ".join(words)


def _fluency_message(toks: list[str], gains: list[float]) -> str:
    return ("Reads unnaturally for English: its word sequence is unusual for fluent text "
            f"(least natural around \u201c{_shown(toks, _worst_window(gains))}\u201d).")


# -- building (scripts/build_fluency.py) ------------------------------------------------------
def build(english: Iterable[str], bad_mt: Iterable[str], *, vocab_size: int = 6000,
          min_tri: int = 2, scale: int = 1000) -> dict:
    """Build the models' data (deterministic): a vocabulary from ``english``, two trigram tables."""
    en_streams = [raw_tokens(Sentence.of(s)) for s in english]
    mt_streams = [raw_tokens(Sentence.of(s)) for s in bad_mt]
    counts = Counter(t.lower() for st in en_streams for t in st if not t.startswith("<"))
    ranked = sorted((w for w, c in counts.items() if c >= 3), key=lambda w: (-counts[w], w))
    classes = sorted({"<Cap>", "<ACR>", "<hyph>", "<w>", "<num>", "<year>", "<p>"}
                     | {"<~" + s + ">" for s in _SUFFIXES})
    vocab = [BOS, EOS, *classes, *ranked[:vocab_size]]
    ids = {w: i for i, w in enumerate(vocab)}

    def tid(t: str) -> int:
        if t.startswith("<"):
            return ids[t]
        i = ids.get(t.lower())
        return i if i is not None else ids.get(word_class(t), ids["<w>"])

    def seqs(streams: list[list[str]]) -> list[list[int]]:
        return [[0, 0, *(tid(t) for t in st), 1] for st in streams]

    return {
        "about": "class-based trigram LMs (interpolated Kneser-Ney, backoff form, log10 x scale) "
                 "built from MLQE-PE train (CC0): english = post-edits, bad_mt = MT rated DA < 50; "
                 "see scripts/build_fluency.py",
        "scale": scale,
        "vocab": vocab,
        "english": _kneser_ney(seqs(en_streams), len(vocab), min_tri, scale),
        "bad_mt": _kneser_ney(seqs(mt_streams), len(vocab), min_tri, scale),
    }


def _kneser_ney(sequences: list[list[int]], V: int, min_tri: int, scale: int) -> dict:
    c3: Counter[tuple[int, int, int]] = Counter()
    for seq in sequences:
        for i in range(2, len(seq)):
            c3[(seq[i - 2], seq[i - 1], seq[i])] += 1

    # Kneser-Ney statistics
    ctx3: Counter[tuple[int, int]] = Counter()  # c(u v .)
    n_follow3: Counter[tuple[int, int]] = Counter()  # N1+(u v .)
    cont2: Counter[tuple[int, int]] = Counter()  # N1+(. v w)
    for (u, v, w), c in c3.items():
        ctx3[(u, v)] += c
        n_follow3[(u, v)] += 1
        cont2[(v, w)] += 1
    ctx2: Counter[int] = Counter()  # N1+(. v .)
    n_follow2: Counter[int] = Counter()  # N1+(v .) among continuation bigrams
    cont1: Counter[int] = Counter()  # N1+(. w)
    for (v, w), c in cont2.items():
        ctx2[v] += c
        n_follow2[v] += 1
        cont1[w] += 1

    def discount(counter: Counter) -> float:
        cc = Counter(c for c in counter.values() if c <= 2)
        n1, n2 = cc[1], cc[2]
        return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5

    d3, d2 = discount(c3), discount(cont2)
    total1 = sum(cont1.values())
    floor = 0.5 / total1
    p1 = [(cont1.get(i, 0) + 0.5) / (total1 + 0.5 * V) for i in range(V)]
    p1[0] = floor  # <s> is never predicted

    def p2(v: int, w: int) -> float:
        n = ctx2.get(v, 0)
        if not n:
            return p1[w]
        return (max(cont2.get((v, w), 0) - d2, 0) / n) + d2 * n_follow2[v] / n * p1[w]

    def p3(u: int, v: int, w: int) -> float:
        n = ctx3.get((u, v), 0)
        if not n:
            return p2(v, w)
        return (max(c3.get((u, v, w), 0) - d3, 0) / n) + d3 * n_follow3[(u, v)] / n * p2(v, w)

    lg = math.log10
    kept3 = sorted(k for k, c in c3.items() if c >= min_tri)
    tri_lp = {k: p3(*k) for k in kept3}
    bi_lp = {k: p2(*k) for k in sorted(cont2)}
    # backoff weights so that each conditional distribution still sums to one
    mass3: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (u, v, w), p in tri_lp.items():
        m = mass3[(u, v)]
        m[0] += p
        m[1] += bi_lp.get((v, w), p2(v, w))
    bow2 = {k: (1 - a) / (1 - b) for k, (a, b) in mass3.items() if b < 1}
    mass2: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (v, w), p in bi_lp.items():
        m = mass2[v]
        m[0] += p
        m[1] += p1[w]
    bow1 = [0.0] * V
    for v, (a, b) in mass2.items():
        if b < 1 and a < 1:
            bow1[v] = lg((1 - a) / (1 - b))

    def q(x: float) -> int:
        return round(x * scale)

    return {
        "uni": [q(lg(p)) for p in p1],
        "bow1": [q(b) for b in bow1],
        "bi": [x for (v, w), p in bi_lp.items() for x in (v, w, q(lg(p)))],
        "bow2": [x for (u, v), b in sorted(bow2.items()) if b > 0 for x in (u, v, q(lg(b)))],
        "tri": [x for (u, v, w), p in tri_lp.items() for x in (u, v, w, q(lg(p)))],
    }
