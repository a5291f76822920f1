"""langdetect, held compactly, with the same answers.

langdetect's ``DetectorFactory`` holds a list of 55 floats (one per language) for each of its
87,000 n-grams, about 45 MB of Python objects, although an n-gram occurs in two languages on
average. :func:`load_factory` builds the same factory with a :class:`SparseProfiles` map instead
(about a third of that): an n-gram's nonzero probabilities packed in a ``bytes``, unpacked into
the list langdetect expects when it asks for one, from the profile files it ships, in the order
it reads them (tests/test_flagger.py checks the rows against langdetect's own).

:class:`SparseDetector` is langdetect's ``Detector`` with the language probabilities in a numpy
array: the same floating-point operations, element by element, so the same probabilities.
:func:`load_factory` checks that on a few texts and falls back to langdetect's own ``Detector``
if they ever differ (a changed langdetect).
"""

from __future__ import annotations

import json
import os
import re
import struct
from typing import Any

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.utils.ngram import NGram

from .. import kernel

_COMPILED = kernel.compiled
_SPACES = re.compile(" {2,}")

# (language index, probability) of one nonzero entry of an n-gram's row
_ENTRY = struct.Struct("<Hd")
_CHECK_TEXTS = (
    "Guvernul numește un prefect în fiecare județ pentru a fi reprezentantul său local.",
    "Der Minister sagte am Montag, dass die Gespräche fortgesetzt werden.",
    "Президент заявил, что переговоры продолжатся на следующей неделе.",
    "The talks went on for hours, and the ministers agreed to meet again.",
    "Lisaks sellele kohtusid ministrid eile Tallinnas.",
    "नेपालको राजधानी काठमाडौं हो।",
    "ශ්‍රී ලංකාවේ අගනුවර කොළඹ වේ.",
)


class SparseProfiles(dict):
    """n-gram -> packed (language index, probability) pairs; ``self[ngram]`` gives the full
    row (a list of ``size`` floats, zero where the n-gram does not occur), as langdetect's own
    map holds it. Membership tests are a plain dict's. :meth:`array` gives the row as a numpy
    array, keeping the most recent ones (frequent n-grams come back text after text).

    :meth:`compact` (with the compiled kernel) drops the dict's own entries once the compiled
    index holds them all: the map then reads through the index, with the same answers."""

    __slots__ = ("_arrays", "_compact", "_index", "size")

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self._arrays: dict[str, np.ndarray] = {}
        self._index: Any = None
        self._compact = False

    def ngram_index(self) -> Any:
        """The compiled kernel's index of these n-grams (built on first use)."""
        if self._index is None:
            ngrams = list(self)
            get = dict.__getitem__
            rows = [get(self, g) for g in ngrams]  # packed "<Hd" entries, read by the kernel
            self._index = _COMPILED.NgramIndex(ngrams, NGram.normalize, rows, self.size)
        return self._index

    def compact(self) -> bool:
        """Hold the profiles in the compiled index alone (about 10 MB less per process); False,
        and nothing changed, without the compiled kernel."""
        if _COMPILED is None:
            return False
        if not self._compact:
            self.ngram_index()
            self._arrays.clear()
            dict.clear(self)
            self._compact = True
        return True

    def _pairs(self, ngram: str) -> Any:
        if self._compact:
            i = self._index.lookup(ngram) if isinstance(ngram, str) else -1
            if i < 0:
                raise KeyError(ngram)
            return self._index.row(i)
        return _ENTRY.iter_unpack(dict.__getitem__(self, ngram))

    def __getitem__(self, ngram: str) -> list[float]:
        row = [0.0] * self.size
        for j, p in self._pairs(ngram):
            row[j] = p
        return row

    def __contains__(self, ngram: object) -> bool:
        if self._compact:
            return isinstance(ngram, str) and self._index.lookup(ngram) >= 0
        return dict.__contains__(self, ngram)

    def __iter__(self) -> Any:
        return iter(self._index.ngrams()) if self._compact else dict.__iter__(self)

    def __len__(self) -> int:
        return len(self._index) if self._compact else dict.__len__(self)

    def keys(self) -> Any:  # type: ignore[override]
        return list(self) if self._compact else dict.keys(self)

    def array(self, ngram: str) -> np.ndarray:
        got = self._arrays.get(ngram)
        if got is None:
            if len(self._arrays) >= 5_000:
                self._arrays.clear()
            got = self._arrays[ngram] = np.array(self[ngram], dtype=np.float64)
        return got


class SparseDetector(Detector):
    def append(self, text: str) -> None:
        """langdetect's append: the same text, its runs of spaces made one by a pattern rather than
        character by character (with the compiled kernel)."""
        if _COMPILED is None:
            super().append(text)
            return
        text = self.URL_RE.sub(" ", text)
        text = self.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)[: self.max_text_length]
        self.text += _SPACES.sub(" ", text)

    """langdetect's Detector over :class:`SparseProfiles`, with the language probabilities in
    a numpy array: an update multiplies the whole array at once (the same multiplications,
    element by element, as langdetect's loop; the normalising sum is still added up left to
    right). With the compiled kernel, the text's n-grams are found and the random walks run there
    (:class:`normalize._kernel.NgramIndex`: the same n-grams, the same draws from the detector's
    generator, the same operations; tests/test_flagger.py checks the answers against
    langdetect's own on a thousand texts)."""

    def _detect_block(self) -> None:
        if _COMPILED is None or self.verbose or self.prior_map is not None:
            super()._detect_block()
            return
        self.random.seed(self.seed)
        n = len(self.langlist)
        got = self.word_lang_prob_map.ngram_index().detect(  # cleaning, n-grams, random walks: compiled
            self.text, self.random, self.alpha, self.ALPHA_WIDTH, self.n_trial, self.ITERATION_LIMIT,
            self.CONV_THRESHOLD, float(self.BASE_FREQ), [1.0 / n] * n)
        if got is None:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        self.langprob = got

    def _init_probability(self) -> np.ndarray:  # type: ignore[override]
        return np.array(super()._init_probability(), dtype=np.float64)

    def _update_lang_prob(self, prob: np.ndarray, word: str | None, alpha: float) -> bool:  # type: ignore[override]
        if word is None or word not in self.word_lang_prob_map:
            return False
        row = self.word_lang_prob_map.array(word)
        prob *= alpha / self.BASE_FREQ + (row if len(row) == len(prob) else row[: len(prob)])  # prob[i] *= weight + row[i]
        return True

    def _normalize_prob(self, prob: np.ndarray) -> float:  # type: ignore[override]
        prob /= sum(prob.tolist())
        return max(0.0, float(prob.max()))


def _sparse_profiles(directory: str) -> tuple[list[str], SparseProfiles]:
    """langdetect's languages and n-gram probabilities, as ``DetectorFactory.load_profile``
    reads them from ``directory``: the profiles in ``os.listdir`` order, an n-gram's probability
    in a language its count over the language's count of n-grams of that length (n-grams
    longer than three are listed, with no probability)."""
    names = os.listdir(directory)
    size = len(names)
    langs: list[str] = []
    packed: dict[str, bytes] = {}
    get, pack = packed.get, _ENTRY.pack
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        lang, n_words, index = data["name"], data["n_words"], len(langs)
        if lang in langs:
            raise ValueError(f"duplicate language profile {lang}")
        for ngram, count in data["freq"].items():
            got = get(ngram, b"")
            if 1 <= len(ngram) <= 3 and count:
                got += pack(index, count / n_words[len(ngram) - 1])
            packed[ngram] = got
        langs.append(lang)
    profiles = SparseProfiles(size)
    dict.update(profiles, packed)
    return langs, profiles


def _answers(factory: DetectorFactory, detector: type[Detector], n_trial: int) -> list[Any]:
    out: list[Any] = []
    for text in _CHECK_TEXTS:
        det = detector(factory)
        det.n_trial = n_trial
        det.append(text)
        try:
            out.append([(r.lang, float(r.prob)) for r in det.get_probabilities()])
        except LangDetectException as e:  # no n-gram it knows
            out.append(str(e))
    return out


def load_factory(seed: int = 0, n_trial: int = 7) -> tuple[DetectorFactory, type[Detector]]:
    """A seeded factory of langdetect's profiles and the detector class to use with it
    (``detector(factory)``): :class:`SparseDetector` over sparse profiles when it answers as
    langdetect's own ``Detector`` does on the check texts, else langdetect's own, unchanged."""
    factory = DetectorFactory()
    try:
        factory.langlist, factory.word_lang_prob_map = _sparse_profiles(PROFILES_DIRECTORY)
        factory.set_seed(seed)
        if _answers(factory, SparseDetector, n_trial) == _answers(factory, Detector, n_trial):
            return factory, SparseDetector
        return factory, Detector
    except Exception:  # any surprise: langdetect's own loading and detector
        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        factory.set_seed(seed)
        return factory, Detector
