"""Fluency: how natural a sentence is as English, by two small class-based trigram models.

Both are built by ``scripts/build_fluency.py`` from the MLQE-PE train split (CC0) and shipped as
``rules/flagger/fluency.npz`` (integer arrays; see :func:`write_data`):

- ``english``: the ``pe`` side (human post-edits): fluent English;
- ``bad_mt``: the ``mt`` side of the sentences rated bad (DA < 50): faulty machine translation.

Frequent words are their own tokens; every other word falls into a class by shape and suffix
(``<Cap>``, ``<ACR>``, ``<num>``, ``<~ing>``...), which keeps the models small and lets them
judge news text full of names they never saw. Smoothing is interpolated Kneser-Ney, stored in
backoff form (ARPA-style: log10 probabilities and backoff weights), trigrams seen once pruned.

Loaded, the tables go to the kernel (:mod:`normalize.kernel`), which scores every token of a
document in one pass, in the models' integer units, so the sums are exact.

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
from collections.abc import Iterable, Sequence
from pathlib import Path

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
_FEATURES = ("lm_logprob", "lm_gain", "lm_low_share", "mt_logprob", "mt_gain", "mt_style")


class FluencyModel:
    """The loaded models: token codes, the tables the kernel scores with (:meth:`tables`), and
    the reasons' messages.

    The kernel (:mod:`normalize.kernel`) scores every token of every sentence of a document in
    one pass, in the models' own integer units (log10 times ``scale``), so sums are exact."""

    def __init__(self, data: dict) -> None:
        self.vocab: list[str] = list(data["vocab"])
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self.V = len(self.vocab)
        self.scale = int(data["scale"])
        self.bos = self.ids[BOS]
        self.eos = self.ids[EOS]
        self.fire_gain: float = float(data.get("fire_gain", -1.0))
        self.fire_mt_style: float = float(data.get("fire_mt_style", -1.0))
        self.fire_min_tokens: int = int(data.get("fire_min_tokens", 6))
        self._unknown = self.ids["<w>"]
        self.poss = self.ids.get("'s", self._unknown)
        self._num, self._year = self.ids["<num>"], self.ids["<year>"]
        self._other_punct = self.ids["<p>"]
        self._punct = {k: self.ids.get(v, self._other_punct) for k, v in _PUNCT.items()}
        #: punctuation mark -> its id (others: "<p>")
        self.punct = dict(self._punct)
        self._data = {m: data[m] for m in _MODELS}

    @classmethod
    def load(cls, path: Path) -> FluencyModel:
        return cls(read_data(path))

    def tables(self) -> list[dict[str, np.ndarray]]:
        """Both models' tables for :class:`normalize.kernel.Scorer`: ``uni`` and ``bow1`` (one
        value per id), ``tri`` (rows u, v, w, value), ``bi`` (v, w, value), ``bow2`` (u, v,
        value); a row listed twice counts with its last value."""
        out = []
        for m in _MODELS:
            d = self._data[m]
            t = {"uni": np.asarray(d["uni"], dtype=np.int64), "bow1": np.asarray(d["bow1"], dtype=np.int64)}
            for k, width in _TABLES.items():
                t[k] = np.asarray(d[k], dtype=np.int64).reshape(-1, width)
            out.append(t)
        return out

    # -- tokens ------------------------------------------------------------------------------
    def token_id(self, tok: str) -> int:
        """The id of a word: its own if the vocabulary has it, else its class's."""
        i = self.ids.get(tok.lower())
        if i is None:
            i = self.ids.get(word_class(tok), self._unknown)
        return i

    def code(self, t: str, kind: str | None = None) -> int:
        """The token's code for the kernel: its id, or ``~id`` of its word for a possessive
        ("Russia's": the ids of "Russia" and "'s"). ``kind``: the token's
        :func:`.text.kind_of`, when known."""
        kind = kind or kind_of(t)
        if kind == "w":
            if t.endswith(("'s", "’s")) and len(t) > 2:
                return ~self.token_id(t[:-2])
            return self.token_id(t)
        if kind == "n":
            return self._year if len(t) == 4 and t[:2] in ("19", "20") else self._num
        return self._punct.get(t, self._other_punct)

    # -- reasons -----------------------------------------------------------------------------
    @staticmethod
    def reason(code: str, quoted: Sequence[str]) -> Reason:
        """The "fluency" or "mt-style" reason of a sentence, quoting its worst stretch:
        ``quoted``, the raw tokens (:func:`raw_tokens`) the kernel picked (its worst three,
        widened to take in a word)."""
        shown = " ".join([w for w in quoted if w[0] != "<"]) or " ".join(quoted)
        return Reason(code, (_FLUENCY if code == "fluency" else _MT_STYLE).format(shown))


#: the reasons' wording (the compiled kernel words them from these too)
_FLUENCY = ("Reads unnaturally for English: its word sequence is unusual for fluent text "
            "(least natural around \u201c{}\u201d).")
_MT_STYLE = ("Phrasing typical of faulty machine translation: this sentence is closer to "
             "translations that reviewers rejected than to edited English (most around \u201c{}\u201d).")


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
