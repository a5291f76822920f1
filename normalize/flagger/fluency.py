"""Fluency: how natural a sentence is as English, by two small class-based trigram models.

Both are built by ``scripts/build_fluency.py`` from the MLQE-PE train split (CC0) and shipped as
``rules/flagger/fluency.npz`` (integer arrays; see :func:`write_data`):

- ``english``: the ``pe`` side (human post-edits): fluent English;
- ``bad_mt``: the ``mt`` side of the sentences rated bad (DA < 50): faulty machine translation.

Frequent words are their own tokens; every other word falls into a class by shape and suffix
(``<Cap>``, ``<ACR>``, ``<num>``, ``<~ing>``...), which keeps the models small and lets them
judge news text full of names they never saw. Smoothing is interpolated Kneser-Ney, stored in
backoff form (ARPA-style: log10 probabilities and backoff weights), trigrams seen once pruned.

Loaded, both models live in sorted numpy arrays of n-gram codes (:class:`FluencyModel`), and
all tokens of a document are scored at once (:meth:`FluencyModel.score`), with the same
floating-point operations as a lookup in dicts would do, so the same numbers.

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
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import add
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..model import Reason
from .text import Sentence, kind_of

BOS, EOS = "<s>", "</s>"
# lowercase suffix classes for rare words, longest first
_SUFFIXES = ("ation", "tion", "sion", "ment", "ness", "ship", "ity", "ism", "ist", "ing", "ous",
             "ive", "able", "ible", "ful", "less", "ical", "ic", "al", "ed", "ly", "er", "est",
             "ize", "ise", "ate", "an", "s")
_PUNCT = {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', '"': '"', "‘": "'", "’": "'", "'": "'",
          "–": "-", "—": "-", "-": "-", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";",
          "(": "(", ")": ")", "[": "(", "]": ")", "%": "%", "$": "$", "€": "$", "£": "$", "/": "/",
          "…": "."}


#: the classes of the suffixes by length, longest first. Of two suffixes of one word the
#: longer comes first in _SUFFIXES, so the first suffix there that fits is the longest that fits
_SUFFIX_CLASS = [(n, {s: "<~" + s + ">" for s in _SUFFIXES if len(s) == n})
                 for n in sorted({len(s) for s in _SUFFIXES}, reverse=True)]


def word_class(word: str) -> str:
    """The class of a word that is not in the model's vocabulary."""
    if word[:1].isupper():
        return "<ACR>" if len(word) > 1 and word.isupper() else "<Cap>"
    if "-" in word:
        return "<hyph>"
    for n, classes in _SUFFIX_CLASS:  # the longest suffix with more than two letters before it
        if len(word) > n + 2:
            got = classes.get(word[-n:])
            if got is not None:
                return got
    return "<w>"


def _raw_pieces(t: str) -> tuple[str, ...]:
    """What :func:`raw_tokens` makes of one token."""
    k = kind_of(t)
    if k == "w":
        if t.endswith(("'s", "’s")) and len(t) > 2:
            return t[:-2], "'s"
        return (t.replace("’", "'"),)
    if k == "n":
        return ("<year>" if len(t) == 4 and t[:2] in ("19", "20") else "<num>",)
    return (_PUNCT.get(t, "<p>"),)


def raw_tokens(sent: Sentence) -> list[str]:
    """The token stream the model sees, before vocabulary lookup (words keep their case)."""
    return [p for t in sent.toks for p in _raw_pieces(t)]


#: the data of one model in a model file: what :func:`build` makes of it
_TABLES = {"tri": 4, "bi": 3, "bow2": 3}
_MODELS = ("english", "bad_mt")
#: a key above every n-gram code ends each table, so a search never runs off its end
_SENTINEL = np.iinfo(np.int64).max
_FEATURES = ("lm_logprob", "lm_gain", "lm_low_share", "mt_logprob", "mt_gain", "mt_style")


class _Table:
    """Sorted n-gram codes (int64, ending in a sentinel) and their values: a float64 array per model."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: np.ndarray, values: list[np.ndarray]) -> None:
        self.keys = np.append(keys, _SENTINEL)
        self.values = [np.append(v, 0.0) for v in values]

    def find(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position, found) of each code."""
        at = self.keys.searchsorted(codes)
        return at, self.keys[at] == codes


def _codes(rows: np.ndarray, V: int) -> np.ndarray:
    """The n-gram code of each row's ids ((u * V + v) * V + w for a trigram)."""
    out = rows[:, 0].astype(np.int64)
    for j in range(1, rows.shape[1]):
        out = out * V + rows[:, j]
    return out


def _sorted_table(data: object, width: int, V: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(sorted codes, log10 values) of one stored table; rows are ids then the scaled value."""
    rows = np.asarray(data)
    if rows.ndim == 1:
        rows = rows.reshape(-1, width)
    keys = _codes(rows[:, :-1], V)
    values = rows[:, -1] / scale
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():  # build() writes them sorted, once each
        # the value of a code listed twice is its last one, as when the rows are read into a dict
        keys, last = np.unique(keys[::-1], return_index=True)
        values = values[::-1][last]
    return keys, values


class _Model:
    """One model's tables in backoff form, as sorted arrays (used while loading)."""

    def __init__(self, data: dict, V: int, scale: float) -> None:
        self.V = V
        self.uni = np.asarray(data["uni"]) / scale
        self.bow1 = np.asarray(data["bow1"]) / scale
        self.tri = _sorted_table(data["tri"], 4, V, scale)
        self.bi = _sorted_table(data["bi"], 3, V, scale)
        self.bow2 = _sorted_table(data["bow2"], 3, V, scale)

    @staticmethod
    def _get(table: tuple[np.ndarray, np.ndarray], codes: np.ndarray, missing: np.ndarray | float
             ) -> np.ndarray:
        keys, values = table
        if not len(keys):
            return np.broadcast_to(np.asarray(missing, dtype=np.float64), codes.shape).copy()
        at = np.minimum(keys.searchsorted(codes), len(keys) - 1)
        return np.where(keys[at] == codes, values[at], missing)

    def bigram(self, codes: np.ndarray) -> np.ndarray:
        """log10 p(w | v) of bigram codes ``v * V + w``, backing off to the unigram."""
        v, w = np.divmod(codes, self.V)
        return self._get(self.bi, codes, self.bow1[v] + self.uni[w])

    def backoff(self, codes: np.ndarray) -> np.ndarray:
        """log10 p(w | u v) of trigram codes ``(u * V + v) * V + w`` by backing off (for the
        trigrams this model does not list)."""
        c, w = np.divmod(codes, self.V)
        return self._get(self.bow2, c, 0.0) + self.bigram((c % self.V) * self.V + w)


def _merged(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
            fill_a: Callable[[np.ndarray], np.ndarray | float],
            fill_b: Callable[[np.ndarray], np.ndarray | float]) -> _Table:
    """One table for two models, every entry complete: a side the model lacks holds
    ``fill(codes)`` (that model's backed-off value)."""
    keys = np.union1d(a[0], b[0])
    cols = []
    for (k, v), fill in ((a, fill_a), (b, fill_b)):
        cols.append(_Model._get((k, v), keys, fill(keys)))
    return _Table(keys, cols)


class _Trigrams:
    """Both models' trigrams and the backoff weights of their contexts, in one sorted table.

    A trigram u v w has the code ``(u * V + v) * (V + 1) + w``; each context u v also has an
    entry of its own, ``w = V``, right after its trigrams. So the position where a trigram's
    code is found, or would be, is always in its context's run when the context is listed, and
    ``ctx_bow[m][position]`` holds that context's backoff weight under model ``m`` (0.0 when the
    model has none): one search serves the trigram and the weight."""

    __slots__ = ("ctx_bow", "keys", "radix", "values")

    def __init__(self, tri: _Table, bow2: _Table, V: int) -> None:
        self.radix = W = np.int64(V + 1)
        tri_keys, bow_keys = tri.keys[:-1], bow2.keys[:-1]
        ctx, w = np.divmod(tri_keys, V)
        codes = ctx * W + w
        contexts = np.union1d(ctx, bow_keys)
        keys = np.union1d(codes, contexts * W + V)
        at = keys.searchsorted(codes)
        self.values = []
        for col in tri.values:
            v = np.zeros(len(keys) + 1)
            v[at] = col[:-1]
            self.values.append(v)
        # each position's context, and that context's weight
        of = contexts.searchsorted(keys // W)
        found, has = bow2.find(contexts)
        self.ctx_bow = [np.append(np.where(has, col[found], 0.0)[of], 0.0) for col in bow2.values]
        self.keys = np.append(keys, _SENTINEL)

    def find(self, ctx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, trigram found, position of the context's weight: the sentinel's, whose
        weights are 0.0, when the context is not listed)."""
        code = ctx * self.radix + w
        at = self.keys.searchsorted(code)
        got = self.keys[at]
        return at, got == code, np.where(got // self.radix == ctx, at, len(self.keys) - 1)


class Scored(NamedTuple):
    """A sentence as the models saw it: token ids, and log10 p of each token (and the end
    mark) under the English and the bad-MT model."""

    ids: list[int]
    lps: list[float]
    mps: list[float]


class _Cache(dict):
    """key -> ``fn(key)``, computed on first sight and kept (up to ``size`` keys)."""

    def __init__(self, fn: Callable[[str], object], size: int) -> None:
        super().__init__()
        self.fn, self.size = fn, size

    def __missing__(self, key: str) -> object:
        got = self.fn(key)
        if len(self) < self.size:
            self[key] = got
        return got


class Batch:
    """The scored tokens of several sentences (see :meth:`FluencyModel.score`)."""

    __slots__ = ("bounds", "gain", "ids", "lp", "mp", "style")

    def __init__(self, ids: np.ndarray, lp: np.ndarray, mp: np.ndarray, bounds: list[int],
                 gain: np.ndarray) -> None:
        #: sentence i is ids[bounds[2 i] : bounds[2 i + 1]], the last its end mark
        self.ids, self.lp, self.mp, self.bounds = ids, lp, mp, bounds
        self.gain = gain  # log10 p under english less under the english unigrams
        self.style: np.ndarray | None = None  # log10 p under english less under bad MT (when asked)

    def scored(self, i: int) -> Scored:
        """Sentence ``i`` as :meth:`FluencyModel.measure` gives it."""
        a, b = self.bounds[2 * i], self.bounds[2 * i + 1]
        return Scored(self.ids[a : b - 1].tolist(), self.lp[a:b].tolist(), self.mp[a:b].tolist())


class Scoring(NamedTuple):
    """Sentence ``i`` of a :class:`Batch`: what the reasons read, without a :class:`Scored`."""

    batch: Batch
    i: int

    @property
    def n_ids(self) -> int:
        return self.batch.bounds[2 * self.i + 1] - self.batch.bounds[2 * self.i] - 1

    def values(self, code: str) -> list[float]:
        """Per token (and the end mark): the context gain ("fluency": log10 p less the unigram's)
        or the english-vs-bad-MT log ratio ("mt-style")."""
        batch = self.batch
        a, b = batch.bounds[2 * self.i], batch.bounds[2 * self.i + 1]
        if code == "fluency":
            return batch.gain[a:b].tolist()
        if batch.style is None:
            batch.style = batch.lp - batch.mp
        return batch.style[a:b].tolist()


class FluencyModel:
    """The loaded models; :meth:`measure` gives the features, :meth:`reasons` the reasons that fire.

    Both models live in three merged tables (trigrams, bigrams, trigram-context backoff weights)
    of sorted int64 n-gram codes with a float64 column per model; a side a model lacks holds
    that model's backed-off value, so a trigram found needs no other lookup. All tokens of all
    sentences of a document are looked up at once (:meth:`measure_all`).
    """

    def __init__(self, data: dict) -> None:
        self.vocab: list[str] = list(data["vocab"])
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        V = self.V = len(self.vocab)
        self._V = np.int64(V)
        scale = float(data["scale"])
        self.bos = self.ids[BOS]
        self.eos = self.ids[EOS]
        self.fire_gain: float = float(data.get("fire_gain", -1.0))
        self.fire_mt_style: float = float(data.get("fire_mt_style", -1.0))
        self.fire_min_tokens: int = int(data.get("fire_min_tokens", 6))
        self._unknown = self.ids["<w>"]
        self._poss = self.ids.get("'s", self._unknown)
        self._num, self._year = self.ids["<num>"], self.ids["<year>"]
        self._other_punct = self.ids["<p>"]
        self._punct = {k: self.ids.get(v, self._other_punct) for k, v in _PUNCT.items()}
        # token -> its code for the models: the id, or ~id for a possessive ("Russia's" is the id
        # of "Russia", then that of "'s")
        self._codes = _Cache(self._code_of, 200_000)
        self._raw = _Cache(_raw_pieces, 50_000)
        en, mt = _Model(data["english"], V, scale), _Model(data["bad_mt"], V, scale)
        self._uni = [en.uni, mt.uni]
        self._bow1 = [en.bow1, mt.bow1]
        self._uni_list: list[float] = en.uni.tolist()
        self._bi = _merged(en.bi, mt.bi, en.bigram, mt.bigram)
        self._tri = _Trigrams(_merged(en.tri, mt.tri, en.backoff, mt.backoff),
                              _merged(en.bow2, mt.bow2, lambda _: 0.0, lambda _: 0.0), V)

    @classmethod
    def load(cls, path: Path) -> FluencyModel:
        return cls(read_data(path))

    # -- tokens ------------------------------------------------------------------------------
    def token_id(self, tok: str) -> int:
        """The id of a word: its own if the vocabulary has it, else its class's."""
        i = self.ids.get(tok.lower())
        if i is None:
            i = self.ids.get(word_class(tok), self._unknown)
        return i

    def _code_of(self, t: str, kind: str | None = None) -> int:
        kind = kind or kind_of(t)
        if kind == "w":
            if t.endswith(("'s", "’s")) and len(t) > 2:
                return ~self.token_id(t[:-2])
            return self.token_id(t)
        if kind == "n":
            return self._year if len(t) == 4 and t[:2] in ("19", "20") else self._num
        return self._punct.get(t, self._other_punct)

    def token_ids(self, sent: Sentence) -> list[int]:
        """Token ids of the sentence: the same stream as :func:`raw_tokens`, through a cache."""
        out: list[int] = []
        for c in map(self._codes.__getitem__, sent.toks):
            if c >= 0:
                out.append(c)
            else:
                out += (~c, self._poss)
        return out

    def _raw_tokens(self, sent: Sentence) -> list[str]:
        """:func:`raw_tokens`, through a cache."""
        return list(chain.from_iterable(map(self._raw.__getitem__, sent.toks)))

    # -- scoring -----------------------------------------------------------------------------
    def measure_all(self, sents: Sequence[Sentence]) -> tuple[list[dict[str, float]], Batch]:
        """The features of each sentence, and the scored tokens of all (for :meth:`reasons`):
        every token of every sentence looked up at once (see :meth:`score`)."""
        if not sents:
            return [], Batch(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), [], np.zeros(0))
        code = self._codes.__getitem__
        bos, eos = self.bos, self.eos
        seq = [bos, bos]
        bounds: list[int] = []
        pad = (eos, bos, bos)
        for s in sents:
            bounds.append(len(seq) - 2)
            seq += map(code, s.toks)
            bounds.append(len(seq) - 1)
            seq += pad
        return self.score(np.array(seq, dtype=np.int64), bounds)

    def code(self, tok: str, kind: str | None = None) -> int:
        """The token's code in the sequences :meth:`score` reads: its id, or ``~id`` of its word
        for a possessive ("Russia's": the ids of "Russia" and "'s"). Not cached; ``kind``: the
        token's :func:`.text.kind_of`, when known."""
        return self._code_of(tok, kind)

    def score(self, seq: np.ndarray, bounds: list[int]) -> tuple[list[dict[str, float]], Batch]:
        """The features of the sentences of a sequence of codes (:meth:`code`): ``<s> <s>``,
        then each sentence's codes followed by ``</s> <s> <s>``. Position ``p >= 2`` is scored
        from ``seq[p - 2 : p + 1]`` (u v w); sentence ``i`` is ``[bounds[2 i], bounds[2 i + 1])``
        in score positions (``p - 2``): its ids and its end mark. The ``<s> <s>`` between are
        scored too, and their sums thrown away. In as few array operations as can be: each
        costs microseconds whatever its size."""
        V = self._V
        arr = seq
        if arr.min() < 0:  # a possessive (~id) is two ids: its word's, then that of "'s"
            neg = arr < 0
            before = np.concatenate(([0], neg.cumsum()))  # possessives before each position
            at = neg.nonzero()[0]
            arr = np.repeat(np.where(neg, ~arr, arr), neg + 1)
            arr[at + before[at] + 1] = self._poss
            # a bound x (score position) moves by the possessives up to seq[x + 1], the <s> before a
            # sentence or its end mark
            bounds = (np.array(bounds) + before[np.array(bounds) + 1]).tolist()
        w, v = arr[2:], arr[1:-1]
        tri, bi = self._tri, self._bi
        t_at, t_hit, c_at = tri.find(arr[:-2] * V + v, w)
        b_at, b_hit = bi.find(v * V + w)
        # per position: log10 p under english and bad MT (the float operations of a lookup in
        # dicts), under the english unigrams, and whether the context made it much less likely
        cols = np.empty((4, len(w)))
        for m in (0, 1):
            uni = self._uni[m][w]
            bigram = np.where(b_hit, bi.values[m][b_at], self._bow1[m][v] + uni)
            np.add(bigram, tri.ctx_bow[m][c_at], out=cols[m])
            np.copyto(cols[m], tri.values[m][t_at], where=t_hit)
            if not m:
                cols[2] = uni
        lp, mp, up = cols[0], cols[1], cols[2]
        gain = lp - up
        np.less(gain, -0.5, out=cols[3])
        sums = np.add.reduceat(cols, bounds, axis=1)[:, ::2].tolist()
        feats = []
        for total, mt_total, uni_total, low, a, b in zip(*sums, bounds[::2], bounds[1::2]):
            n = b - a
            feats.append({"lm_logprob": total / n, "lm_gain": (total - uni_total) / n, "lm_low_share": low / n,
                          "mt_logprob": mt_total / n, "mt_gain": (mt_total - uni_total) / n,
                          "mt_style": (total - mt_total) / n})  # log10 P(english) / P(bad MT), per token
        return feats, Batch(w, lp, mp, bounds, gain)

    def measure(self, sent: Sentence) -> tuple[dict[str, float], Scored]:
        """Features, and the scored tokens (for :meth:`reasons`)."""
        feats, batch = self.measure_all([sent])
        return feats[0], batch.scored(0)

    def reasons(self, sent: Sentence, scored: Scored | Scoring | Callable[[], Scored], feats: dict[str, float]
                ) -> list[Reason]:
        """The reasons that fire on their own, each quoting the sentence's worst stretch.
        ``scored``: what :meth:`measure` gave (or a function that gives it when needed), or the
        sentence in a batch."""
        gain, style = feats["lm_gain"] < self.fire_gain, feats["mt_style"] < self.fire_mt_style
        if not (gain or style):
            return []
        if callable(scored):
            scored = scored()
        if (scored.n_ids if isinstance(scored, Scoring) else len(scored.ids)) < self.fire_min_tokens:
            return []
        toks = self._raw_tokens(sent)
        return [self._reason(code, toks, self._values(code, scored))
                for code, fires in (("fluency", gain), ("mt-style", style)) if fires]

    def explain(self, sent: Sentence, code: str, scored: Scored | Scoring | None = None) -> Reason:
        """The "fluency" or "mt-style" reason of the sentence, quoting its worst stretch.

        :meth:`reasons` gives it when the signal alone passes its fire threshold; the flagger
        also asks for it when these features are what made a sentence's confidence low.
        """
        if scored is None:
            scored = self.measure(sent)[1]
        return self._reason(code, self._raw_tokens(sent), self._values(code, scored))

    def _values(self, code: str, scored: Scored | Scoring) -> list[float]:
        if isinstance(scored, Scoring):
            return scored.values(code)
        ids, lps, mts = scored
        if code == "fluency":
            uni = self._uni_list
            return [a - uni[i] for a, i in zip(lps, [*ids, self.eos])]
        return [a - b for a, b in zip(lps, mts)]

    @staticmethod
    def _reason(code: str, toks: list[str], values: list[float]) -> Reason:
        if code == "fluency":
            return Reason("fluency", _fluency_message(toks, values))
        return Reason(
            "mt-style",
            "Phrasing typical of faulty machine translation: this sentence is closer to "
            "translations that reviewers rejected than to edited English "
            f"(most around \u201c{_shown(toks, _worst_window(values))}\u201d).",
        )


# -- the model file -----------------------------------------------------------------------------
def read_data(path: Path) -> dict:
    """The models' data from a model file: ``.npz`` (what scripts/build_fluency.py writes: the
    tables as integer arrays, the rest as JSON in ``meta``) or ``.json.gz`` (the former format,
    :func:`build`'s dict as JSON)."""
    path = Path(path)
    if path.name.endswith(".json.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    with np.load(path, allow_pickle=False) as z:
        data = json.loads(z["meta"].tobytes().decode("utf-8"))
        for m in _MODELS:
            data[m] = {k: z[f"{m}.{k}"] for k in ("uni", "bow1", *_TABLES)}
    return data


def _compact(values: object, width: int = 1) -> np.ndarray:
    """Integers as the smallest of int16 / int32 / int64 that holds them; a table (``width``
    columns) stored column by column, which compresses best."""
    a = np.asarray(values, dtype=np.int64)
    if width > 1:
        a = a.reshape(-1, width)
    for t in (np.int16, np.int32):
        info = np.iinfo(t)
        if not a.size or (a.min() >= info.min and a.max() <= info.max):
            a = a.astype(t)
            break
    return np.asfortranarray(a) if width > 1 else a


def write_data(data: dict, path: Path) -> None:
    """Write the models' data (:func:`build`'s dict, or what :func:`read_data` gives) to an
    ``.npz`` file, byte for byte the same for the same data (fixed zip timestamps)."""
    meta = {k: v for k, v in data.items() if k not in _MODELS}
    arrays = {"meta": np.frombuffer(json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
                                    .encode("utf-8"), dtype=np.uint8)}
    for m in _MODELS:
        arrays[f"{m}.uni"] = _compact(data[m]["uni"])
        arrays[f"{m}.bow1"] = _compact(data[m]["bow1"])
        for k, width in _TABLES.items():
            arrays[f"{m}.{k}"] = _compact(data[m][k], width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    tmp.replace(path)


def _worst_window(values: list[float]) -> int:
    """Index of the token ending the three-token window with the lowest sum (not the end mark);
    the first such token on a tie."""
    v = values[:-1]
    if not v:
        return 0
    # (v[i] + v[i - 1]) + v[i - 2], a missing neighbour counting 0.0
    sums = list(map(add, map(add, v, [0.0, *v[:-1]]), [0.0, 0.0, *v[:-2]]))
    return sums.index(min(sums))


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
